/* The real scheduler in-process: a SQLite store in a temp data dir, a real
 * libevent loop driven by the test, pipelines parsed from YAML, and a git
 * repository made with the git CLI and fetched over file://. Deliveries
 * go in through paved_store_submit like ingress puts them; the test then
 * polls the store (the scheduler's durable journal) until the run ends.
 * Covers the step DAG, retries, allow_failure, `if`, cancel (no process
 * survives, also during a retry's backoff and when SIGTERM is ignored),
 * timeouts, superseding and `queue` groups, exactly-once planning across a
 * restart, one run per commit and replay, crash recovery (a leftover step
 * is killed, the run requeued once, the newest commit still runs last),
 * and secrets (masked in logs, missing ones end the run in error).
 * Never mocks: every wait is bounded and fails the test instead of
 * hanging. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "paved/config.h"
#include "paved/error.h"
#include "paved/event.h"
#include "paved/log.h"
#include "paved/pipeline.h"
#include "paved/sched.h"
#include "paved/store.h"
#include "paved/workspace.h"
#include "paved/mask.h"
#include "sched/sched_int.h"

/* Valgrind slows libgit2 and SQLite a lot: waits are generous, and only
 * a failing test ever waits that long. */
#define WAIT_SECS 180
#define SECRET_VALUE "supersecretvalue"
/* base64 of SECRET_VALUE without its padding */
#define SECRET_B64 "c3VwZXJzZWNyZXR2YWx1ZQ"

struct fixture {
    char f_dir[64];
    char f_data[128];  /* data_dir */
    char f_out[128];   /* where steps leave evidence (pipeline env OUT) */
    char f_src[128];   /* <dir>/acme/shop.git, served by file:// */
    char f_sha1[41];   /* first commit on main (not its tip) */
    char f_sha2[41];   /* second commit */
    char f_sha3[41];   /* third commit: the tip of main */
    char f_path[1024]; /* "PATH=..." for the steps */
    char f_home[256];  /* "HOME=..." */
    char *f_env[4];    /* sd_environ */
    struct paved_config *f_cf;
    paved_store *f_st;
    struct event_base *f_base;
    struct event *f_notify; /* the store's completions */
    struct event *f_tick;   /* bounds each EVLOOP_ONCE */
    paved_pipeline_set *f_set;
    paved_log *f_log;
    int f_logfd;
    paved_sched *f_s;
    struct paved_store_plan *f_plan; /* the last plan back (recovery) */
    int f_plans;
    pid_t f_leftover; /* a fake step left by a "crashed" paved */
};

/* One submitted delivery or probe and what the store said. */
struct sub {
    int sb_done;
    int sb_result;
    int64_t sb_seq;
};

/* ---- helpers: shell, files, processes ---------------------------------- */

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Runs a command built from test-controlled paths; a non-zero status
 * fails the test. */
static void
sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    int rc;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    rc = system(cmd);
    if (rc != 0)
        fail_msg("command failed (%d): %s", rc, cmd);
}

static void capture(char *out, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The first line of a command's stdout; the command must succeed. */
static void
capture(char *out, size_t n, const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    FILE *fp;
    size_t len;
    int rc;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    out[0] = '\0';
    fp = popen(cmd, "r");
    assert_non_null(fp);
    len = fread(out, 1, n - 1, fp);
    out[len] = '\0';
    rc = pclose(fp);
    if (rc != 0)
        fail_msg("command failed (%d): %s", rc, cmd);
    out[strcspn(out, "\n")] = '\0';
}

/* The whole file into out (truncated to n - 1); false when it cannot be
 * opened. */
static bool
read_text(char *out, size_t n, const char *path)
{
    FILE *fp = fopen(path, "r");
    size_t len;

    out[0] = '\0';
    if (fp == NULL)
        return false;
    len = fread(out, 1, n - 1, fp);
    out[len] = '\0';
    fclose(fp);
    return true;
}

static void
write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");

    assert_non_null(fp);
    assert_true(fputs(text, fp) >= 0);
    assert_int_equal(fclose(fp), 0);
}

static bool
exists(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

static void
out_path(char *buf, size_t n, const struct fixture *f, const char *name)
{
    snprintf(buf, n, "%s/%s", f->f_out, name);
}

static bool
out_exists(const struct fixture *f, const char *name)
{
    char path[256];

    out_path(path, sizeof(path), f, name);
    return exists(path);
}

/* A file under OUT, first line only. */
static void
out_line(char *buf, size_t n, const struct fixture *f, const char *name)
{
    char path[256];

    out_path(path, sizeof(path), f, name);
    if (!read_text(buf, n, path))
        fail_msg("%s was not written", path);
    buf[strcspn(buf, "\n")] = '\0';
}

static pid_t
out_pid(const struct fixture *f, const char *name)
{
    char buf[64], *end;
    long v;

    out_line(buf, sizeof(buf), f, name);
    errno = 0;
    v = strtol(buf, &end, 10);
    if (errno != 0 || end == buf || v <= 1)
        fail_msg("%s holds no pid: \"%s\"", name, buf);
    return (pid_t)v;
}

/* Dead: no such process, or a zombie nobody reaps (an orphan's parent is
 * PID 1, which in some containers never calls wait). */
static bool
proc_dead(pid_t pid)
{
    char path[64], buf[512], *p;

    if (kill(pid, 0) < 0 && errno == ESRCH)
        return true;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (!read_text(buf, sizeof(buf), path))
        return true;
    p = strrchr(buf, ')');
    return p != NULL && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

static int64_t
mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the loop ------------------------------------------------------------ */

static void
notify_cb(evutil_socket_t fd, short what, void *arg)
{
    struct fixture *f = arg;

    (void)fd;
    (void)what;
    paved_store_complete(f->f_st);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

typedef bool (*cond_fn)(struct fixture *f, void *arg);

/* Runs the loop until cond holds; false after secs. */
static bool
wait_for(struct fixture *f, cond_fn cond, void *arg, int secs)
{
    int64_t deadline = mono_ms() + (int64_t)secs * 1000;

    while (!cond(f, arg)) {
        if (mono_ms() > deadline)
            return false;
        if (event_base_loop(f->f_base, EVLOOP_ONCE) < 0)
            fail_msg("event_base_loop failed");
    }
    return true;
}

static bool
cond_sub_done(struct fixture *f, void *arg)
{
    (void)f;
    return ((struct sub *)arg)->sb_done;
}

static bool
cond_plans(struct fixture *f, void *arg)
{
    return f->f_plans >= *(int *)arg;
}

static bool
cond_out_file(struct fixture *f, void *arg)
{
    return out_exists(f, arg);
}

static bool
cond_path_gone(struct fixture *f, void *arg)
{
    (void)f;
    return !exists(arg);
}

/* Runs the loop for ms whatever happens (lets a restarted scheduler do
 * whatever it would do). */
static bool
cond_never(struct fixture *f, void *arg)
{
    (void)f;
    return mono_ms() > *(int64_t *)arg;
}

static void
run_loop_for(struct fixture *f, int ms)
{
    int64_t until = mono_ms() + ms;

    assert_true(wait_for(f, cond_never, &until, WAIT_SECS));
}

/* ---- store --------------------------------------------------------------- */

static void
on_stored(const struct paved_store_done *done, void *arg)
{
    struct sub *sb = arg;

    sb->sb_result = done->sd_result;
    sb->sb_seq = done->sd_seq;
    sb->sb_done = 1;
}

static void
on_plan(struct paved_store_plan *plan, void *arg)
{
    struct fixture *f = arg;

    paved_store_plan_free(f->f_plan);
    f->f_plan = plan;
    f->f_plans++;
}

static void
store_up(struct fixture *f)
{
    struct paved_store_opts so;

    memset(&so, 0, sizeof(so));
    so.so_spec = "sqlite";
    so.so_data_dir = f->f_data;
    if (paved_store_open(&f->f_st, &so) < 0)
        fail_msg("store: %s", paved_error_last());
    f->f_notify = event_new(f->f_base, paved_store_notify_fd(f->f_st),
                            EV_READ | EV_PERSIST, notify_cb, f);
    assert_non_null(f->f_notify);
    assert_int_equal(event_add(f->f_notify, NULL), 0);
}

static void
store_down(struct fixture *f)
{
    if (f->f_notify != NULL)
        event_free(f->f_notify);
    f->f_notify = NULL;
    paved_store_close(f->f_st);
    f->f_st = NULL;
}

/* A commit written by the submitted writes before it is visible. */
static void
store_sync(struct fixture *f)
{
    struct sub sb = {0, 0, 0};

    assert_int_equal(paved_store_probe(f->f_st, on_stored, &sb), 0);
    assert_true(wait_for(f, cond_sub_done, &sb, WAIT_SECS));
    assert_int_equal(sb.sb_result, 0);
}

/* A push of sha to main of acme/shop, as the GitHub adapter normalizes
 * it; returns its JSON. */
static char *
push_json(const char *id, const char *sha)
{
    struct paved_event ev;
    char *json = NULL;

    memset(&ev, 0, sizeof(ev));
    ev.ev_forge = PAVED_FORGE_GITHUB;
    ev.ev_kind = PAVED_EVENT_PUSH;
    ev.ev_name = (char *)"push";
    ev.ev_delivery = (char *)id;
    ev.ev_repo = (char *)"acme/shop";
    ev.ev_clone_url = (char *)"https://github.invalid/acme/shop.git";
    ev.ev_ref = (char *)"refs/heads/main";
    ev.ev_branch = (char *)"main";
    ev.ev_sha = (char *)sha;
    ev.ev_actor = (char *)"octocat";
    if (paved_event_to_json(&json, &ev) < 0)
        fail_msg("event json: %s", paved_error_last());
    return json;
}

/* Hands a delivery to the store; sb says when it is durable. */
static void
submit(struct fixture *f, struct sub *sb, const char *id, const char *sha)
{
    struct paved_delivery *d = calloc(1, sizeof(*d));

    assert_non_null(d);
    memset(sb, 0, sizeof(*sb));
    d->dl_forge = strdup("github");
    d->dl_id = strdup(id);
    d->dl_event = strdup("push");
    d->dl_kind = strdup("push");
    d->dl_status = strdup("queued");
    d->dl_received_ms = (int64_t)time(NULL) * 1000;
    d->dl_event_json = push_json(id, sha);
    d->dl_payload = (unsigned char *)strdup("{}");
    d->dl_payload_len = 2;
    assert_non_null(d->dl_forge);
    assert_non_null(d->dl_payload);
    assert_int_equal(paved_store_submit(f->f_st, d, on_stored, sb), 0);
}

static int64_t
stored(struct fixture *f, struct sub *sb)
{
    assert_true(wait_for(f, cond_sub_done, sb, WAIT_SECS));
    assert_int_equal(sb->sb_result, 0);
    assert_true(sb->sb_seq > 0);
    return sb->sb_seq;
}

/* Submit, wait until durable, kick the scheduler (what ingress does). */
static int64_t
push(struct fixture *f, const char *id, const char *sha)
{
    struct sub sb;
    int64_t seq;

    submit(f, &sb, id, sha);
    seq = stored(f, &sb);
    if (f->f_s != NULL)
        paved_sched_kick(f->f_s);
    return seq;
}

/* Runs planned from delivery seq, oldest first; *out freed by the
 * caller with paved_run_list_free. */
static size_t
runs_of(struct fixture *f, int64_t seq, struct paved_run ***out)
{
    struct paved_run_filter flt;
    size_t n = 0;

    memset(&flt, 0, sizeof(flt));
    flt.rf_state = -1;
    flt.rf_delivery_seq = seq;
    flt.rf_oldest_first = 1;
    flt.rf_limit = 100;
    *out = NULL;
    if (paved_store_run_list(out, &n, f->f_st, &flt) < 0)
        fail_msg("run list: %s", paved_error_last());
    return n;
}

static size_t
count_runs(struct fixture *f, int64_t seq)
{
    struct paved_run **list;
    size_t n = runs_of(f, seq, &list);

    paved_run_list_free(list, n);
    return n;
}

struct want_run {
    int64_t wr_seq;
    size_t wr_index;
    int64_t wr_id; /* out */
};

static bool
cond_run_exists(struct fixture *f, void *arg)
{
    struct want_run *w = arg;
    struct paved_run **list;
    size_t n = runs_of(f, w->wr_seq, &list);

    if (n > w->wr_index)
        w->wr_id = list[w->wr_index]->ru_id;
    paved_run_list_free(list, n);
    return n > w->wr_index;
}

/* The id of the index-th run (oldest first) of delivery seq, once it
 * exists. */
static int64_t
wait_run_of(struct fixture *f, int64_t seq, size_t index)
{
    struct want_run w = {seq, index, 0};

    if (!wait_for(f, cond_run_exists, &w, WAIT_SECS))
        fail_msg("no run #%zu for delivery %lld", index, (long long)seq);
    return w.wr_id;
}

static bool
cond_run_final(struct fixture *f, void *arg)
{
    int64_t id = *(int64_t *)arg;
    struct paved_run *r = NULL;
    bool fin;

    if (paved_store_run_get(&r, f->f_st, id) < 0)
        return false;
    fin = paved_run_state_final(r->ru_state);
    paved_run_free(r);
    return fin;
}

/* The run once it has ended, with its steps. */
static struct paved_run *
wait_final(struct fixture *f, int64_t id)
{
    struct paved_run *r = NULL;

    if (!wait_for(f, cond_run_final, &id, WAIT_SECS))
        fail_msg("run %lld did not end within %ds", (long long)id, WAIT_SECS);
    if (paved_store_run_get(&r, f->f_st, id) < 0)
        fail_msg("run get: %s", paved_error_last());
    return r;
}

struct want_step {
    int64_t ws_run;
    const char *ws_name;
    enum paved_run_state ws_state;
};

static const struct paved_step_rec *
step_of(const struct paved_run *r, const char *name)
{
    size_t i;

    for (i = 0; i < r->ru_nsteps; i++)
        if (strcmp(r->ru_steps[i].sr_name, name) == 0)
            return &r->ru_steps[i];
    fail_msg("run %lld has no step \"%s\"", (long long)r->ru_id, name);
    return NULL;
}

static bool
cond_step_state(struct fixture *f, void *arg)
{
    struct want_step *w = arg;
    struct paved_run *r = NULL;
    bool ok = false;
    size_t i;

    if (paved_store_run_get(&r, f->f_st, w->ws_run) < 0)
        return false;
    for (i = 0; i < r->ru_nsteps; i++)
        if (strcmp(r->ru_steps[i].sr_name, w->ws_name) == 0)
            ok = r->ru_steps[i].sr_state == w->ws_state;
    paved_run_free(r);
    return ok;
}

/* Queued again after a failed attempt: waiting for its retry. */
static bool
cond_step_backoff(struct fixture *f, void *arg)
{
    struct want_step *w = arg;
    struct paved_run *r = NULL;
    bool ok = false;
    size_t i;

    if (paved_store_run_get(&r, f->f_st, w->ws_run) < 0)
        return false;
    for (i = 0; i < r->ru_nsteps; i++)
        if (strcmp(r->ru_steps[i].sr_name, w->ws_name) == 0)
            ok = r->ru_steps[i].sr_state == PAVED_RUN_QUEUED &&
                 r->ru_steps[i].sr_attempts >= 1 && r->ru_steps[i].sr_exit == 7;
    paved_run_free(r);
    return ok;
}

static void
assert_contains(const char *hay, const char *needle)
{
    if (hay == NULL || strstr(hay, needle) == NULL)
        fail_msg("\"%s\" does not contain \"%s\"", hay ? hay : "(null)",
                 needle);
}

static void
assert_state(enum paved_run_state got, enum paved_run_state want,
             const char *what, const char *reason)
{
    if (got != want)
        fail_msg("%s: state %s, want %s (reason: %s)", what,
                 paved_run_state_name(got), paved_run_state_name(want),
                 reason ? reason : "none");
}

/* ---- pipelines and the scheduler --------------------------------------- */

/* One pipeline "ci" on pushes to main; OUT and FIRST (the first commit)
 * in its env; top adds top-level keys. */
static void
pipeline(struct fixture *f, const char *top, const char *steps)
{
    struct paved_pipeline_diags diags = PAVED_PIPELINE_DIAGS_INIT;
    paved_pipeline *pl = NULL;
    char yaml[8192];
    int n;

    n = snprintf(yaml, sizeof(yaml),
                 "name: ci\n"
                 "on:\n"
                 "  push: {branches: [main]}\n"
                 "env:\n"
                 "  OUT: \"%s\"\n"
                 "  FIRST: \"%s\"\n"
                 "%s"
                 "steps:\n"
                 "%s",
                 f->f_out, f->f_sha1, top != NULL ? top : "", steps);
    assert_true(n > 0 && (size_t)n < sizeof(yaml));
    if (paved_pipeline_parse(&pl, &diags, "ci.yaml", yaml, (size_t)n) < 0) {
        char *line = NULL;
        if (diags.dl_n > 0)
            (void)paved_pipeline_diag_format(&line, &diags.dl_items[0]);
        fail_msg("pipeline: %s\n%s", line ? line : paved_error_last(), yaml);
    }
    paved_pipeline_diags_dispose(&diags);
    assert_int_equal(paved_pipeline_set_new(&f->f_set), 0);
    assert_int_equal(paved_pipeline_set_add(f->f_set, pl, NULL), 0);
}

static void
sched_up(struct fixture *f)
{
    struct paved_sched_deps deps;

    memset(&deps, 0, sizeof(deps));
    deps.sd_base = f->f_base;
    deps.sd_config = f->f_cf;
    deps.sd_store = f->f_st;
    deps.sd_pipelines = f->f_set;
    deps.sd_log = f->f_log;
    deps.sd_environ = f->f_env;
    if (paved_sched_new(&f->f_s, &deps) < 0)
        fail_msg("sched new: %s", paved_error_last());
    if (paved_sched_start(f->f_s) < 0)
        fail_msg("sched start: %s", paved_error_last());
}

static bool
cond_no_plan_in_flight(struct fixture *f, void *arg)
{
    (void)arg;
    return f->f_s->s_plans_inflight == 0;
}

/* A restart on the same store: a plan still in the store's hands would
 * complete into the freed scheduler on this loop (a daemon's loop never
 * runs again after paved_sched_free; this test's does), so its
 * completions are taken first. */
static void
sched_down(struct fixture *f)
{
    assert_true(wait_for(f, cond_no_plan_in_flight, NULL, WAIT_SECS));
    paved_sched_free(f->f_s);
    f->f_s = NULL;
}

/* ---- fixture ------------------------------------------------------------ */

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    const char *path = getenv("PATH");
    char yaml[1024], file[256];
    int n;

    assert_non_null(f);
    f->f_logfd = -1;
    *state = f;
    snprintf(f->f_dir, sizeof(f->f_dir), "/tmp/paved-sched-XXXXXX");
    assert_non_null(mkdtemp(f->f_dir));
    snprintf(f->f_data, sizeof(f->f_data), "%s/data", f->f_dir);
    snprintf(f->f_out, sizeof(f->f_out), "%s/out", f->f_dir);
    snprintf(f->f_src, sizeof(f->f_src), "%s/acme/shop.git", f->f_dir);
    assert_int_equal(mkdir(f->f_out, 0700), 0);

    /* the repository: two commits on main; runs build the first one,
     * which is not the tip, so only an exact checkout passes */
    sh("git -c init.defaultBranch=main init -q %s", f->f_src);
    snprintf(file, sizeof(file), "%s/app.txt", f->f_src);
    write_text(file, "one\n");
    sh("cd %s && git add app.txt && git commit -q -m first", f->f_src);
    capture(f->f_sha1, sizeof(f->f_sha1), "git -C %s rev-parse HEAD", f->f_src);
    write_text(file, "two\n");
    sh("cd %s && git commit -q -a -m second", f->f_src);
    capture(f->f_sha2, sizeof(f->f_sha2), "git -C %s rev-parse HEAD", f->f_src);
    write_text(file, "three\n");
    sh("cd %s && git commit -q -a -m third", f->f_src);
    capture(f->f_sha3, sizeof(f->f_sha3), "git -C %s rev-parse HEAD", f->f_src);
    assert_int_equal(strlen(f->f_sha1), 40);
    assert_int_equal(strlen(f->f_sha2), 40);
    assert_int_equal(strlen(f->f_sha3), 40);
    assert_string_not_equal(f->f_sha1, f->f_sha2);
    assert_string_not_equal(f->f_sha2, f->f_sha3);

    /* what the daemon's environment would hold: PATH, HOME, a secret */
    snprintf(f->f_path, sizeof(f->f_path), "PATH=%s",
             path != NULL ? path : "/usr/bin:/bin");
    snprintf(f->f_home, sizeof(f->f_home), "HOME=%s", getenv("HOME"));
    f->f_env[0] = f->f_path;
    f->f_env[1] = f->f_home;
    f->f_env[2] = (char *)"PAVED_SECRET_TOKEN=" SECRET_VALUE;
    f->f_env[3] = NULL;

    n = snprintf(yaml, sizeof(yaml),
                 "data_dir: \"%s\"\n"
                 "clone_url_template: \"file://%s/{repo}.git\"\n"
                 "retry_backoff: 1s\n"
                 "step_kill_grace: 1s\n"
                 "keep_workspaces: never\n",
                 f->f_data, f->f_dir);
    assert_true(n > 0 && (size_t)n < sizeof(yaml));
    if (paved_config_parse(&f->f_cf, "test.yaml", yaml, (size_t)n, f->f_env) <
        0)
        fail_msg("config: %s", paved_error_last());
    assert_string_equal(f->f_cf->cf_data_dir, f->f_data);
    assert_int_equal(f->f_cf->cf_retry_backoff, 1);
    assert_int_equal(mkdir(f->f_data, 0700), 0);

    if (getenv("SCHEDTEST_LOG") != NULL) {
        f->f_logfd = dup(2);
        assert_int_equal(
            paved_log_new(&f->f_log, f->f_logfd, 0, PAVED_LOG_DEBUG), 0);
    } else {
        f->f_logfd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        assert_true(f->f_logfd >= 0);
        assert_int_equal(
            paved_log_new(&f->f_log, f->f_logfd, 0, PAVED_LOG_ERROR), 0);
    }
    assert_non_null(f->f_base = event_base_new());
    {
        struct timeval tv = {0, 20 * 1000};
        f->f_tick = event_new(f->f_base, -1, EV_PERSIST, tick_cb, f);
        assert_non_null(f->f_tick);
        assert_int_equal(event_add(f->f_tick, &tv), 0);
    }
    store_up(f);
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[256];
    int status;

    sched_down(f);
    if (f->f_st != NULL)
        store_down(f);
    paved_store_plan_free(f->f_plan);
    if (f->f_leftover > 0) {
        /* recovery did not kill it (that test failed): do not leak it */
        (void)kill(-f->f_leftover, SIGKILL);
        (void)waitpid(f->f_leftover, &status, 0);
    }
    if (f->f_tick != NULL)
        event_free(f->f_tick);
    if (f->f_base != NULL)
        event_base_free(f->f_base);
    paved_pipeline_set_free(f->f_set);
    paved_config_free(f->f_cf);
    paved_log_free(f->f_log);
    if (f->f_logfd >= 0)
        close(f->f_logfd);
    snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s'; rm -rf '%s'", f->f_dir,
             f->f_dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

/* ---- (1) the DAG: build, test fails, after skipped -------------------- */

static void
test_dag_failure_skips_dependents(void **state)
{
    struct fixture *f = *state;
    const struct paved_step_rec *st;
    struct paved_run *r;
    char buf[256], want[256];
    int64_t seq, id;

    pipeline(f, NULL,
             "  - name: build\n"
             "    run: |\n"
             "      git rev-parse HEAD > \"$OUT/head\"\n"
             "      printf '%s %s %s %s\\n' \"$PAVED_SHA\" \"$PAVED_ENV\" "
             "\"$PAVED_BRANCH\" \"$PAVED_REPO\" > \"$OUT/env\"\n"
             "  - name: test\n"
             "    needs: [build]\n"
             "    run: exit 3\n"
             "  - name: after\n"
             "    needs: [test]\n"
             "    run: touch \"$OUT/after\"\n");
    sched_up(f);
    seq = push(f, "d-dag", f->f_sha1);
    id = wait_run_of(f, seq, 0);
    r = wait_final(f, id);

    assert_state(r->ru_state, PAVED_RUN_FAILURE, "run", r->ru_reason);
    assert_contains(r->ru_reason, "\"test\"");
    assert_contains(r->ru_reason, "exit status 3");
    assert_string_equal(r->ru_pipeline, "ci");
    assert_string_equal(r->ru_sha, f->f_sha1);
    assert_string_equal(r->ru_env, "staging");
    assert_int_equal(r->ru_attempt, 1);
    assert_true(r->ru_started_ms > 0);
    assert_true(r->ru_finished_ms >= r->ru_started_ms);
    assert_int_equal(r->ru_nsteps, 3);

    st = step_of(r, "build");
    assert_state(st->sr_state, PAVED_RUN_SUCCESS, "build", st->sr_reason);
    assert_int_equal(st->sr_exit, 0);
    assert_int_equal(st->sr_attempts, 1);
    assert_int_equal(st->sr_pid, 0);
    st = step_of(r, "test");
    assert_state(st->sr_state, PAVED_RUN_FAILURE, "test", st->sr_reason);
    assert_int_equal(st->sr_exit, 3);
    assert_int_equal(st->sr_attempts, 1);
    assert_string_equal(st->sr_needs, "[\"build\"]");
    st = step_of(r, "after");
    assert_state(st->sr_state, PAVED_RUN_SKIPPED, "after", st->sr_reason);
    assert_contains(st->sr_reason, "\"test\"");
    assert_int_equal(st->sr_attempts, 0);

    /* the exact commit, not the tip of main */
    out_line(buf, sizeof(buf), f, "head");
    assert_string_equal(buf, f->f_sha1);
    out_line(buf, sizeof(buf), f, "env");
    snprintf(want, sizeof(want), "%s staging main acme/shop", f->f_sha1);
    assert_string_equal(buf, want);
    assert_false(out_exists(f, "after"));
    assert_int_equal(count_runs(f, seq), 1);
    paved_run_free(r);

    /* logs stay; the checkout goes (keep_workspaces: never) */
    snprintf(buf, sizeof(buf), "%s/runs/%lld/1-test.log", f->f_data,
             (long long)id);
    assert_true(exists(buf));
    snprintf(buf, sizeof(buf), "%s/work/%lld", f->f_data, (long long)id);
    if (!wait_for(f, cond_path_gone, buf, WAIT_SECS))
        fail_msg("workspace %s was not removed", buf);
}

/* ---- (2) retries ----------------------------------------------------------
 */

static void
test_retry_then_success(void **state)
{
    struct fixture *f = *state;
    const struct paved_step_rec *st;
    struct paved_run *r;
    char buf[8192], log[256];
    int64_t seq, id;

    pipeline(f, NULL,
             "  - name: flaky\n"
             "    retries: 2\n"
             "    run: |\n"
             "      n=$(cat \"$OUT/count\" 2>/dev/null || echo 0)\n"
             "      n=$((n + 1))\n"
             "      echo \"$n\" > \"$OUT/count\"\n"
             "      echo \"attempt $PAVED_ATTEMPT\"\n"
             "      test \"$n\" -ge 2\n"
             "  - name: never\n"
             "    retries: 1\n"
             "    allow_failure: true\n"
             "    run: exit 4\n");
    sched_up(f);
    seq = push(f, "d-retry", f->f_sha1);
    id = wait_run_of(f, seq, 0);
    r = wait_final(f, id);

    assert_state(r->ru_state, PAVED_RUN_SUCCESS, "run", r->ru_reason);
    st = step_of(r, "flaky");
    assert_state(st->sr_state, PAVED_RUN_SUCCESS, "flaky", st->sr_reason);
    assert_int_equal(st->sr_attempts, 2);
    assert_int_equal(st->sr_exit, 0);
    out_line(buf, sizeof(buf), f, "count");
    assert_string_equal(buf, "2");
    /* retries: 1 is two attempts in all, then the failure stands */
    st = step_of(r, "never");
    assert_state(st->sr_state, PAVED_RUN_FAILURE, "never", st->sr_reason);
    assert_int_equal(st->sr_attempts, 2);
    assert_int_equal(st->sr_exit, 4);
    assert_contains(st->sr_reason, "exit status 4");
    snprintf(log, sizeof(log), "%s/runs/%lld/0-flaky.log", f->f_data,
             (long long)id);
    assert_true(read_text(buf, sizeof(buf), log));
    assert_contains(buf, "attempt 2 of 3");
    assert_contains(buf, "out attempt 1");
    assert_contains(buf, "out attempt 2");
    paved_run_free(r);
}

/* ---- (3) allow_failure ----------------------------------------------------
 */

static void
test_allow_failure(void **state)
{
    struct fixture *f = *state;
    const struct paved_step_rec *st;
    struct paved_run *r;
    int64_t seq, id;

    pipeline(f, NULL,
             "  - name: lint\n"
             "    allow_failure: true\n"
             "    run: exit 1\n"
             "  - name: deploy\n"
             "    needs: [lint]\n"
             "    run: touch \"$OUT/deployed\"\n");
    sched_up(f);
    seq = push(f, "d-allow", f->f_sha1);
    id = wait_run_of(f, seq, 0);
    r = wait_final(f, id);

    assert_state(r->ru_state, PAVED_RUN_SUCCESS, "run", r->ru_reason);
    st = step_of(r, "lint");
    assert_state(st->sr_state, PAVED_RUN_FAILURE, "lint", st->sr_reason);
    assert_int_equal(st->sr_exit, 1);
    st = step_of(r, "deploy");
    assert_state(st->sr_state, PAVED_RUN_SUCCESS, "deploy", st->sr_reason);
    assert_true(out_exists(f, "deployed"));
    paved_run_free(r);
}

/* ---- (4) if ----------------------------------------------------------------
 */

static void
test_if_false_skips_dependents(void **state)
{
    struct fixture *f = *state;
    const struct paved_step_rec *st;
    struct paved_run *r;
    int64_t seq, id;

    pipeline(f, NULL,
             "  - name: build\n"
             "    run: touch \"$OUT/built\"\n"
             "  - name: only\n"
             "    needs: [build]\n"
             "    if: \"branch == 'nope'\"\n"
             "    run: touch \"$OUT/only\"\n"
             "  - name: later\n"
             "    needs: [only]\n"
             "    run: touch \"$OUT/later\"\n");
    sched_up(f);
    seq = push(f, "d-if", f->f_sha1);
    id = wait_run_of(f, seq, 0);
    r = wait_final(f, id);

    assert_state(r->ru_state, PAVED_RUN_SUCCESS, "run", r->ru_reason);
    st = step_of(r, "build");
    assert_state(st->sr_state, PAVED_RUN_SUCCESS, "build", st->sr_reason);
    st = step_of(r, "only");
    assert_state(st->sr_state, PAVED_RUN_SKIPPED, "only", st->sr_reason);
    assert_contains(st->sr_reason, "branch == 'nope'");
    assert_int_equal(st->sr_attempts, 0);
    st = step_of(r, "later");
    assert_state(st->sr_state, PAVED_RUN_SKIPPED, "later", st->sr_reason);
    assert_contains(st->sr_reason, "\"only\"");
    assert_int_equal(st->sr_attempts, 0);
    assert_true(out_exists(f, "built"));
    assert_false(out_exists(f, "only"));
    assert_false(out_exists(f, "later"));
    paved_run_free(r);
}

/* ---- (5) cancel ------------------------------------------------------------
 */

struct pids {
    pid_t p_a, p_b;
};

static bool
cond_pids_dead(struct fixture *f, void *arg)
{
    struct pids *p = arg;

    (void)f;
    return proc_dead(p->p_a) && proc_dead(p->p_b);
}

static void
test_cancel_kills_processes(void **state)
{
    struct fixture *f = *state;
    const struct paved_step_rec *st;
    struct want_step ws;
    struct paved_run *r;
    struct pids p;
    int64_t seq, id;
    int rc;

    pipeline(f, NULL,
             "  - name: hang\n"
             "    run: |\n"
             "      sleep 30 &\n"
             "      echo $! > \"$OUT/sleep.tmp\"\n"
             "      mv \"$OUT/sleep.tmp\" \"$OUT/sleep.pid\"\n"
             "      echo $$ > \"$OUT/sh.tmp\"\n"
             "      mv \"$OUT/sh.tmp\" \"$OUT/sh.pid\"\n"
             "      wait\n"
             "      touch \"$OUT/finished\"\n"
             "  - name: next\n"
             "    needs: [hang]\n"
             "    run: touch \"$OUT/next\"\n");
    sched_up(f);
    seq = push(f, "d-cancel", f->f_sha1);
    id = wait_run_of(f, seq, 0);
    assert_true(wait_for(f, cond_out_file, "sh.pid", WAIT_SECS));
    ws.ws_run = id;
    ws.ws_name = "hang";
    ws.ws_state = PAVED_RUN_RUNNING;
    assert_true(wait_for(f, cond_step_state, &ws, WAIT_SECS));
    p.p_a = out_pid(f, "sh.pid");
    p.p_b = out_pid(f, "sleep.pid");
    assert_false(proc_dead(p.p_a));
    assert_false(proc_dead(p.p_b));

    rc = paved_sched_cancel(f->f_s, id, "stopped by the test");
    if (rc != 0)
        fail_msg("cancel: %d %s", rc, paved_error_last());
    r = wait_final(f, id);
    assert_state(r->ru_state, PAVED_RUN_CANCELLED, "run", r->ru_reason);
    assert_string_equal(r->ru_reason, "stopped by the test");
    st = step_of(r, "hang");
    assert_state(st->sr_state, PAVED_RUN_CANCELLED, "hang", st->sr_reason);
    assert_int_equal(st->sr_pid, 0);
    st = step_of(r, "next");
    assert_true(st->sr_state == PAVED_RUN_CANCELLED ||
                st->sr_state == PAVED_RUN_SKIPPED);
    assert_int_equal(st->sr_attempts, 0);
    paved_run_free(r);

    /* the shell was reaped by the proc layer: gone for good */
    errno = 0;
    assert_int_equal(kill(p.p_a, 0), -1);
    assert_int_equal(errno, ESRCH);
    /* sleep was killed with its group (an orphan: PID 1 reaps it, or
     * leaves a zombie); allow a moment for the SIGKILL to land */
    if (!wait_for(f, cond_pids_dead, &p, 10))
        fail_msg("sleep (pid %d) survived the cancel", (int)p.p_b);
    assert_false(out_exists(f, "finished"));
    assert_false(out_exists(f, "next"));

    /* cancelling again: it has finished, and the message says how */
    rc = paved_sched_cancel(f->f_s, id, "again");
    assert_int_equal(rc, PAVED_EEXISTS);
    assert_contains(paved_error_last(), "cancelled");
    assert_int_equal(paved_sched_cancel(f->f_s, 999999, NULL), PAVED_ENOTFOUND);
    assert_int_equal(paved_sched_active(f->f_s), 0);
}

/* ---- (6) superseding ------------------------------------------------------
 */

/* The first commit's run hangs in its step; any other commit's passes. */
static const char supersede_steps[] =
    "  - name: work\n"
    "    run: |\n"
    "      if [ \"$PAVED_SHA\" = \"$FIRST\" ]; then\n"
    "        touch \"$OUT/first-started\"\n"
    "        sleep 30\n"
    "      fi\n"
    "      echo \"$PAVED_SHA\" >> \"$OUT/done\"\n";

static void
check_superseded(struct fixture *f, int64_t id1, int64_t id2)
{
    struct paved_run *r1, *r2;
    char want[64], buf[256], path[256];

    r2 = wait_final(f, id2);
    r1 = wait_final(f, id1);
    assert_true(id2 > id1);
    assert_state(r1->ru_state, PAVED_RUN_CANCELLED, "first run", r1->ru_reason);
    snprintf(want, sizeof(want), "superseded by run %lld", (long long)id2);
    assert_string_equal(r1->ru_reason, want);
    assert_string_equal(r1->ru_sha, f->f_sha1);
    assert_state(r2->ru_state, PAVED_RUN_SUCCESS, "second run", r2->ru_reason);
    assert_string_equal(r2->ru_sha, f->f_sha2);
    assert_true(r2->ru_started_ms >= r1->ru_finished_ms);
    /* only the second commit ever got to the end of the script */
    out_path(path, sizeof(path), f, "done");
    assert_true(read_text(buf, sizeof(buf), path));
    snprintf(want, sizeof(want), "%s\n", f->f_sha2);
    assert_string_equal(buf, want);
    paved_run_free(r1);
    paved_run_free(r2);
}

static void
test_supersede_running(void **state)
{
    struct fixture *f = *state;
    struct paved_run *r;
    int64_t seq1, seq2, id1, id2;

    pipeline(f, NULL, supersede_steps);
    sched_up(f);
    seq1 = push(f, "d-old", f->f_sha1);
    id1 = wait_run_of(f, seq1, 0);
    assert_true(wait_for(f, cond_out_file, "first-started", WAIT_SECS));
    seq2 = push(f, "d-new", f->f_sha2);
    id2 = wait_run_of(f, seq2, 0);
    check_superseded(f, id1, id2);
    r = wait_final(f, id1);
    assert_state(step_of(r, "work")->sr_state, PAVED_RUN_CANCELLED, "work",
                 step_of(r, "work")->sr_reason);
    paved_run_free(r);
    assert_int_equal(paved_sched_active(f->f_s), 0);
}

/* Two pushes stored back to back, planned in one pass: the first run is
 * cancelled before or during its checkout. */
static void
test_supersede_quick_succession(void **state)
{
    struct fixture *f = *state;
    struct sub a, b;
    int64_t seq1, seq2, id1, id2;

    pipeline(f, NULL, supersede_steps);
    sched_up(f);
    submit(f, &a, "d-q1", f->f_sha1);
    submit(f, &b, "d-q2", f->f_sha2);
    seq1 = stored(f, &a);
    seq2 = stored(f, &b);
    assert_true(seq2 > seq1);
    paved_sched_kick(f->f_s);
    id1 = wait_run_of(f, seq1, 0);
    id2 = wait_run_of(f, seq2, 0);
    check_superseded(f, id1, id2);
    assert_int_equal(paved_sched_active(f->f_s), 0);
}

/* ---- (7) exactly once across a restart ------------------------------------
 */

static void
test_exactly_once_after_restart(void **state)
{
    struct fixture *f = *state;
    struct paved_delivery *d = NULL, **list = NULL;
    struct paved_run *r;
    size_t n = 0;
    int64_t seq1, seq2, id1, id2;

    pipeline(f, NULL,
             "  - name: work\n"
             "    run: echo \"$PAVED_SHA\" >> \"$OUT/done\"\n");
    sched_up(f);
    seq1 = push(f, "d-once", f->f_sha1);
    id1 = wait_run_of(f, seq1, 0);
    r = wait_final(f, id1);
    assert_state(r->ru_state, PAVED_RUN_SUCCESS, "run", r->ru_reason);
    paved_run_free(r);

    /* a clean stop and a second process on the same data dir */
    sched_down(f);
    store_down(f);
    store_up(f);
    sched_up(f);
    paved_sched_kick(f->f_s);
    run_loop_for(f, 500);
    /* a new delivery after the restart: once its run has ended, any
     * planning the restart would have done has been done */
    seq2 = push(f, "d-after", f->f_sha2);
    id2 = wait_run_of(f, seq2, 0);
    r = wait_final(f, id2);
    assert_state(r->ru_state, PAVED_RUN_SUCCESS, "run", r->ru_reason);
    paved_run_free(r);
    assert_true(id2 > id1);

    assert_int_equal(count_runs(f, seq1), 1);
    assert_int_equal(count_runs(f, seq2), 1);
    assert_int_equal(paved_store_delivery_get(&d, f->f_st, "d-once", 0), 0);
    assert_int_equal(d->dl_planned, 1);
    paved_delivery_free(d);
    assert_int_equal(paved_store_delivery_unplanned(&list, &n, f->f_st, 10, 0),
                     0);
    assert_int_equal(n, 0);
    paved_delivery_list_free(list, n);
    r = NULL;
    assert_int_equal(paved_store_run_get(&r, f->f_st, id1), 0);
    assert_state(r->ru_state, PAVED_RUN_SUCCESS, "first run", r->ru_reason);
    paved_run_free(r);
    assert_int_equal(paved_sched_active(f->f_s), 0);
}

/* ---- (8) crash recovery ------------------------------------------------- */

/* A step process the dead paved left behind: `sh -e <its script>` in a
 * process group of its own, as the proc layer starts them. */
static pid_t
spawn_leftover(struct fixture *f, int64_t run, char *script, size_t len)
{
    posix_spawnattr_t attr;
    char dir[256];
    char *argv[4];
    char *envp[] = {(char *)"PATH=/usr/bin:/bin", NULL};
    pid_t pid;

    snprintf(dir, sizeof(dir), "%s/runs", f->f_data);
    assert_true(mkdir(dir, 0700) == 0 || errno == EEXIST);
    snprintf(dir, sizeof(dir), "%s/runs/%lld", f->f_data, (long long)run);
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_true(snprintf(script, len, "%s/0-work.sh", dir) < (int)len);
    write_text(script, "sleep 60\ntrue\n");
    argv[0] = (char *)"sh";
    argv[1] = (char *)"-e";
    argv[2] = script;
    argv[3] = NULL;
    assert_int_equal(posix_spawnattr_init(&attr), 0);
    assert_int_equal(posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP), 0);
    assert_int_equal(posix_spawnattr_setpgroup(&attr, 0), 0);
    assert_int_equal(posix_spawn(&pid, "/bin/sh", NULL, &attr, argv, envp), 0);
    posix_spawnattr_destroy(&attr);
    return pid;
}

static bool
cond_reaped(struct fixture *f, void *arg)
{
    int *status = arg;
    pid_t got = waitpid(f->f_leftover, status, WNOHANG);

    if (got == f->f_leftover) {
        f->f_leftover = 0;
        return true;
    }
    return false;
}

/* A run as a crashed paved left it in the store: its delivery stored
 * and planned (forced, as recovery plans), the run of `pipeline` in
 * `state` at `attempt`. *seq gets the delivery's seq; returns the run's
 * id. */
static int64_t
insert_run_of(struct fixture *f, const char *pipeline_name, unsigned attempt,
              const char *delivery, const char *sha, enum paved_run_state state,
              int64_t *seq)
{
    struct paved_store_plan *plan;
    struct paved_run *r;
    struct sub sb;
    char group[128];
    int want_plans;

    submit(f, &sb, delivery, sha);
    *seq = stored(f, &sb);
    r = calloc(1, sizeof(*r));
    plan = calloc(1, sizeof(*plan));
    assert_non_null(r);
    assert_non_null(plan);
    /* the default group, "{repo}/{ref}/{pipeline}" */
    snprintf(group, sizeof(group), "acme/shop/refs/heads/main/%s",
             pipeline_name);
    r->ru_delivery_seq = *seq;
    r->ru_pipeline = strdup(pipeline_name);
    r->ru_repo = strdup("acme/shop");
    r->ru_ref = strdup("refs/heads/main");
    r->ru_sha = strdup(sha);
    r->ru_kind = strdup("push");
    r->ru_env = strdup("staging");
    r->ru_group = strdup(group);
    r->ru_event_json = push_json(delivery, sha);
    r->ru_state = PAVED_RUN_QUEUED;
    r->ru_attempt = 1;
    r->ru_created_ms = (int64_t)time(NULL) * 1000;
    plan->pp_delivery_seq = *seq;
    plan->pp_force = 1;
    plan->pp_runs = calloc(1, sizeof(*plan->pp_runs));
    assert_non_null(plan->pp_runs);
    plan->pp_runs[plan->pp_nruns++] = r;
    want_plans = f->f_plans + 1;
    assert_int_equal(paved_store_plan(f->f_st, plan, on_plan, f), 0);
    assert_true(wait_for(f, cond_plans, &want_plans, WAIT_SECS));
    assert_int_equal(f->f_plan->pp_result, 0);
    r = f->f_plan->pp_runs[0];
    assert_true(r->ru_id > 0);
    if (state != PAVED_RUN_QUEUED || attempt != 1) {
        r->ru_state = state;
        r->ru_attempt = attempt;
        if (state != PAVED_RUN_QUEUED)
            r->ru_started_ms = (int64_t)time(NULL) * 1000;
        assert_int_equal(paved_store_run_save(f->f_st, r), 0);
    }
    return r->ru_id;
}

static int64_t
insert_run(struct fixture *f, const char *delivery, const char *sha,
           enum paved_run_state state, int64_t *seq)
{
    return insert_run_of(f, "ci", 1, delivery, sha, state, seq);
}

static void
test_recovery_requeues_interrupted(void **state)
{
    struct fixture *f = *state;
    struct paved_step_rec step;
    struct paved_run *old, *again, **list = NULL;
    const struct paved_step_rec *st;
    char script[256];
    size_t n;
    int64_t seq, old_id, new_id;
    int status = 0;

    /* what a paved killed with -9 left: a planned delivery, its run
     * `running` with a step `running` whose process still lives */
    old_id = insert_run(f, "d-crash", f->f_sha1, PAVED_RUN_RUNNING, &seq);
    f->f_leftover = spawn_leftover(f, old_id, script, sizeof(script));
    memset(&step, 0, sizeof(step));
    step.sr_run = old_id;
    step.sr_index = 0;
    step.sr_name = (char *)"work";
    step.sr_state = PAVED_RUN_RUNNING;
    step.sr_exit = -1;
    step.sr_attempts = 1;
    step.sr_started_ms = (int64_t)time(NULL) * 1000;
    step.sr_needs = (char *)"[]";
    step.sr_pid = (int)f->f_leftover;
    assert_int_equal(paved_store_step_save(f->f_st, &step), 0);
    store_sync(f);

    /* the next process starts */
    pipeline(
        f, NULL,
        "  - name: work\n"
        "    run: echo \"$PAVED_SHA $PAVED_RUN_ID\" > \"$OUT/requeued\"\n");
    sched_up(f);
    old = wait_final(f, old_id);
    assert_state(old->ru_state, PAVED_RUN_ERROR, "old run", old->ru_reason);
    if (old->ru_reason == NULL ||
        strncmp(old->ru_reason, "interrupted", 11) != 0)
        fail_msg("old run reason: %s", old->ru_reason);
    assert_true(old->ru_finished_ms > 0);
    st = step_of(old, "work");
    assert_state(st->sr_state, PAVED_RUN_ERROR, "old step", st->sr_reason);
    assert_int_equal(st->sr_pid, 0);
    paved_run_free(old);

    /* the leftover step was killed with its group */
    if (!wait_for(f, cond_reaped, &status, 30))
        fail_msg("the leftover step (pid %d) was not killed",
                 (int)f->f_leftover);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);

    new_id = wait_run_of(f, seq, 1);
    assert_true(new_id > old_id);
    again = wait_final(f, new_id);
    assert_state(again->ru_state, PAVED_RUN_SUCCESS, "requeued run",
                 again->ru_reason);
    assert_int_equal(again->ru_requeue_of, old_id);
    assert_int_equal(again->ru_attempt, 2);
    assert_string_equal(again->ru_sha, f->f_sha1);
    assert_string_equal(again->ru_pipeline, "ci");
    paved_run_free(again);
    {
        char buf[256], want[256];
        out_line(buf, sizeof(buf), f, "requeued");
        snprintf(want, sizeof(want), "%s %lld", f->f_sha1, (long long)new_id);
        assert_string_equal(buf, want);
    }
    /* nothing more: the delivery was planned by the crashed process */
    run_loop_for(f, 300);
    n = runs_of(f, seq, &list);
    assert_int_equal(n, 2);
    paved_run_list_free(list, n);
    assert_int_equal(paved_sched_active(f->f_s), 0);
}

/* ---- (9) and (10) secrets --------------------------------------------- */

static void
test_secret_masked_in_log(void **state)
{
    struct fixture *f = *state;
    struct paved_run *r;
    char log[256], buf[16384], len[32];
    int64_t seq, id;

    pipeline(f, "secrets: [TOKEN]\n",
             "  - name: show\n"
             "    run: |\n"
             "      echo \"token=$TOKEN\"\n"
             "      printf '%s' \"$TOKEN\" | base64\n"
             "      echo \"err=$TOKEN\" >&2\n"
             "      printf '%s' \"$TOKEN\" | wc -c > \"$OUT/len\"\n"
             "      echo done\n");
    sched_up(f);
    seq = push(f, "d-secret", f->f_sha1);
    id = wait_run_of(f, seq, 0);
    r = wait_final(f, id);
    assert_state(r->ru_state, PAVED_RUN_SUCCESS, "run", r->ru_reason);
    paved_run_free(r);

    /* the step had the value ... */
    out_line(len, sizeof(len), f, "len");
    assert_int_equal(strtol(len, NULL, 10), (long)strlen(SECRET_VALUE));
    /* ... and the log never did */
    snprintf(log, sizeof(log), "%s/runs/%lld/0-show.log", f->f_data,
             (long long)id);
    assert_true(read_text(buf, sizeof(buf), log));
    if (getenv("SCHEDTEST_LOG") != NULL)
        fprintf(stderr, "%s:\n%s", log, buf);
    assert_contains(buf, "out token=***");
    assert_contains(buf, "err err=***");
    assert_contains(buf, "out done");
    if (strstr(buf, SECRET_VALUE) != NULL || strstr(buf, SECRET_B64) != NULL)
        fail_msg("the secret is in the log:\n%s", buf);
    assert_true(strstr(buf, "***") != NULL);
}

static void
test_missing_secret_is_error(void **state)
{
    struct fixture *f = *state;
    struct paved_run *r;
    size_t i;
    int64_t seq, id;

    pipeline(f, "secrets: [TOKEN, MISSING_ONE]\n",
             "  - name: show\n"
             "    run: touch \"$OUT/ran\"\n");
    sched_up(f);
    seq = push(f, "d-nosecret", f->f_sha1);
    id = wait_run_of(f, seq, 0);
    r = wait_final(f, id);
    assert_state(r->ru_state, PAVED_RUN_ERROR, "run", r->ru_reason);
    assert_contains(r->ru_reason, "MISSING_ONE");
    assert_true(strstr(r->ru_reason, SECRET_VALUE) == NULL);
    for (i = 0; i < r->ru_nsteps; i++)
        assert_int_equal(r->ru_steps[i].sr_attempts, 0);
    paved_run_free(r);
    assert_false(out_exists(f, "ran"));
}

/* ---- beyond the brief's list: what the issue also promises ------------- */

/* A graceful stop kills the running step and leaves the run `running`;
 * the next start recovers it like after a crash. */
static void
test_stop_then_restart_recovers(void **state)
{
    struct fixture *f = *state;
    struct paved_run *r, *again;
    pid_t shpid;
    char buf[64], want[64];
    int64_t seq, id, new_id;

    pipeline(f, NULL,
             "  - name: work\n"
             "    run: |\n"
             "      if [ ! -e \"$OUT/once\" ]; then\n"
             "        touch \"$OUT/once\"\n"
             "        echo $$ > \"$OUT/sh.tmp\"\n"
             "        mv \"$OUT/sh.tmp\" \"$OUT/sh.pid\"\n"
             "        sleep 30\n"
             "      fi\n"
             "      echo \"$PAVED_RUN_ID\" > \"$OUT/done\"\n");
    sched_up(f);
    seq = push(f, "d-stop", f->f_sha1);
    id = wait_run_of(f, seq, 0);
    assert_true(wait_for(f, cond_out_file, "sh.pid", WAIT_SECS));
    shpid = out_pid(f, "sh.pid");

    sched_down(f); /* returns once every child is reaped */
    errno = 0;
    assert_int_equal(kill(shpid, 0), -1);
    assert_int_equal(errno, ESRCH);
    store_sync(f);
    r = NULL;
    assert_int_equal(paved_store_run_get(&r, f->f_st, id), 0);
    assert_state(r->ru_state, PAVED_RUN_RUNNING, "stopped run", r->ru_reason);
    paved_run_free(r);

    sched_up(f);
    r = wait_final(f, id);
    assert_state(r->ru_state, PAVED_RUN_ERROR, "stopped run", r->ru_reason);
    assert_contains(r->ru_reason, "interrupted");
    assert_state(step_of(r, "work")->sr_state, PAVED_RUN_ERROR, "work",
                 step_of(r, "work")->sr_reason);
    paved_run_free(r);
    new_id = wait_run_of(f, seq, 1);
    again = wait_final(f, new_id);
    assert_state(again->ru_state, PAVED_RUN_SUCCESS, "requeued run",
                 again->ru_reason);
    assert_int_equal(again->ru_requeue_of, id);
    assert_int_equal(again->ru_attempt, 2);
    paved_run_free(again);
    out_line(buf, sizeof(buf), f, "done");
    snprintf(want, sizeof(want), "%lld", (long long)new_id);
    assert_string_equal(buf, want);
    assert_int_equal(count_runs(f, seq), 2);
}

/* concurrency: queue: the running run is never cancelled; at most
 * max_queued wait, the oldest waiting one is dropped. */
static void
test_queue_mode(void **state)
{
    struct fixture *f = *state;
    struct paved_run *r1, *r2, *r3;
    char path[256], buf[512], want[512];
    int64_t id1, id2, id3;

    pipeline(f, "concurrency: {mode: queue, max_queued: 1}\n",
             "  - name: work\n"
             "    run: |\n"
             "      if [ \"$PAVED_SHA\" = \"$FIRST\" ]; then\n"
             "        touch \"$OUT/first-started\"\n"
             "        while [ ! -e \"$OUT/release\" ]; do sleep 0.05; done\n"
             "      fi\n"
             "      echo \"$PAVED_SHA\" >> \"$OUT/done\"\n");
    sched_up(f);
    id1 = wait_run_of(f, push(f, "d-q1", f->f_sha1), 0);
    assert_true(wait_for(f, cond_out_file, "first-started", WAIT_SECS));
    id2 = wait_run_of(f, push(f, "d-q2", f->f_sha2), 0);
    id3 = wait_run_of(f, push(f, "d-q3", f->f_sha3), 0);

    r2 = wait_final(f, id2);
    assert_state(r2->ru_state, PAVED_RUN_CANCELLED, "second run",
                 r2->ru_reason);
    assert_contains(r2->ru_reason, "superseded by run");
    paved_run_free(r2);
    store_sync(f);
    r1 = NULL;
    assert_int_equal(paved_store_run_get(&r1, f->f_st, id1), 0);
    assert_state(r1->ru_state, PAVED_RUN_RUNNING, "first run", r1->ru_reason);
    paved_run_free(r1);
    r3 = NULL;
    assert_int_equal(paved_store_run_get(&r3, f->f_st, id3), 0);
    assert_state(r3->ru_state, PAVED_RUN_QUEUED, "third run", r3->ru_reason);
    paved_run_free(r3);

    out_path(path, sizeof(path), f, "release");
    write_text(path, "go\n");
    r1 = wait_final(f, id1);
    r3 = wait_final(f, id3);
    assert_state(r1->ru_state, PAVED_RUN_SUCCESS, "first run", r1->ru_reason);
    assert_state(r3->ru_state, PAVED_RUN_SUCCESS, "third run", r3->ru_reason);
    assert_true(r3->ru_started_ms >= r1->ru_finished_ms);
    paved_run_free(r1);
    paved_run_free(r3);
    out_path(path, sizeof(path), f, "done");
    assert_true(read_text(buf, sizeof(buf), path));
    snprintf(want, sizeof(want), "%s\n%s\n", f->f_sha1, f->f_sha3);
    assert_string_equal(buf, want);
}

/* A timeout signals the step's whole process group, children too. */
static void
test_timeout_kills_group(void **state)
{
    struct fixture *f = *state;
    const struct paved_step_rec *st;
    struct paved_run *r;
    struct pids p;
    int64_t id;

    pipeline(f, NULL,
             "  - name: slow\n"
             "    timeout: 1s\n"
             "    run: |\n"
             "      sleep 30 &\n"
             "      echo $! > \"$OUT/child.tmp\"\n"
             "      mv \"$OUT/child.tmp\" \"$OUT/child.pid\"\n"
             "      sleep 30\n"
             "      touch \"$OUT/finished\"\n");
    sched_up(f);
    id = wait_run_of(f, push(f, "d-timeout", f->f_sha1), 0);
    r = wait_final(f, id);
    assert_state(r->ru_state, PAVED_RUN_FAILURE, "run", r->ru_reason);
    st = step_of(r, "slow");
    assert_state(st->sr_state, PAVED_RUN_FAILURE, "slow", st->sr_reason);
    assert_contains(st->sr_reason, "timed out after 1s");
    assert_contains(r->ru_reason, "\"slow\"");
    paved_run_free(r);
    p.p_a = out_pid(f, "child.pid");
    p.p_b = p.p_a;
    if (!wait_for(f, cond_pids_dead, &p, 10))
        fail_msg("the step's child (pid %d) survived the timeout", (int)p.p_a);
    assert_false(out_exists(f, "finished"));
}

static bool
cond_planned(struct fixture *f, void *arg)
{
    struct paved_delivery *d = NULL;
    bool planned;

    if (paved_store_delivery_get(&d, f->f_st, arg, 0) < 0)
        return false;
    planned = d->dl_planned != 0;
    paved_delivery_free(d);
    return planned;
}

struct replayed {
    int rp_done;
    int rp_result;
    size_t rp_n;
    int64_t rp_id;
};

static void
on_replay(int result, const char *msg, const int64_t *runs, size_t n, void *arg)
{
    struct replayed *rp = arg;

    (void)msg;
    rp->rp_done = 1;
    rp->rp_result = result;
    rp->rp_n = n;
    rp->rp_id = n > 0 ? runs[0] : 0;
}

static bool
cond_replayed(struct fixture *f, void *arg)
{
    (void)f;
    return ((struct replayed *)arg)->rp_done;
}

/* A redelivery of the same commit makes no second run; a replay does. */
static void
test_same_commit_once_replay_again(void **state)
{
    struct fixture *f = *state;
    struct replayed rp;
    struct paved_run *r;
    int64_t seq1, seq2, id1;

    pipeline(f, NULL,
             "  - name: work\n"
             "    run: echo \"$PAVED_RUN_ID\" >> \"$OUT/ran\"\n");
    sched_up(f);
    seq1 = push(f, "d-same-1", f->f_sha1);
    id1 = wait_run_of(f, seq1, 0);
    r = wait_final(f, id1);
    assert_state(r->ru_state, PAVED_RUN_SUCCESS, "run", r->ru_reason);
    paved_run_free(r);

    seq2 = push(f, "d-same-2", f->f_sha1);
    assert_true(wait_for(f, cond_planned, "d-same-2", WAIT_SECS));
    assert_int_equal(count_runs(f, seq2), 0);
    assert_int_equal(count_runs(f, seq1), 1);

    memset(&rp, 0, sizeof(rp));
    assert_int_equal(paved_sched_replay(f->f_s, "d-same-2", on_replay, &rp), 0);
    assert_true(wait_for(f, cond_replayed, &rp, WAIT_SECS));
    assert_int_equal(rp.rp_result, 0);
    assert_int_equal(rp.rp_n, 1);
    assert_true(rp.rp_id > id1);
    r = wait_final(f, rp.rp_id);
    assert_state(r->ru_state, PAVED_RUN_SUCCESS, "replayed run", r->ru_reason);
    assert_string_equal(r->ru_sha, f->f_sha1);
    paved_run_free(r);
    assert_int_equal(count_runs(f, seq2), 1);
    assert_int_equal(paved_sched_replay(f->f_s, "no-such", on_replay, &rp),
                     PAVED_ENOTFOUND);
}

/* A commit the repository does not have: error, nothing runs. */
static void
test_unknown_commit_is_error(void **state)
{
    struct fixture *f = *state;
    struct paved_run *r;
    int64_t id;

    pipeline(f, NULL,
             "  - name: work\n"
             "    run: touch \"$OUT/ran\"\n");
    sched_up(f);
    id = wait_run_of(
        f, push(f, "d-nocommit", "0123456789abcdef0123456789abcdef01234567"),
        0);
    r = wait_final(f, id);
    assert_state(r->ru_state, PAVED_RUN_ERROR, "run", r->ru_reason);
    assert_contains(r->ru_reason, "0123456");
    paved_run_free(r);
    assert_false(out_exists(f, "ran"));
    assert_int_equal(paved_sched_active(f->f_s), 0);
}

/* A run interrupted a second time is not requeued again. */
static void
test_recovery_second_interruption(void **state)
{
    struct fixture *f = *state;
    struct paved_run *r;
    int64_t seq, id;

    id = insert_run_of(f, "ci", 2, "d-twice", f->f_sha1, PAVED_RUN_RUNNING,
                       &seq);
    store_sync(f);
    pipeline(f, NULL,
             "  - name: work\n"
             "    run: touch \"$OUT/ran\"\n");
    sched_up(f);
    r = wait_final(f, id);
    assert_state(r->ru_state, PAVED_RUN_ERROR, "run", r->ru_reason);
    assert_contains(r->ru_reason, "interrupted twice");
    paved_run_free(r);
    run_loop_for(f, 500);
    assert_int_equal(count_runs(f, seq), 1);
    assert_false(out_exists(f, "ran"));
    assert_int_equal(paved_sched_active(f->f_s), 0);
}

/* A queued run whose pipeline was removed before the restart: error,
 * naming it; a delivery stored while no scheduler ran is planned once. */
static void
test_recovery_pipeline_gone_and_unplanned(void **state)
{
    struct fixture *f = *state;
    struct paved_run *r;
    struct sub sb;
    int64_t seq_gone, seq_new, id_gone, id_new;

    id_gone = insert_run_of(f, "gone", 1, "d-gone", f->f_sha1, PAVED_RUN_QUEUED,
                            &seq_gone);
    submit(f, &sb, "d-unplanned", f->f_sha2);
    seq_new = stored(f, &sb);
    store_sync(f);
    pipeline(f, NULL,
             "  - name: work\n"
             "    run: echo \"$PAVED_SHA\" >> \"$OUT/ran\"\n");
    sched_up(f);
    r = wait_final(f, id_gone);
    assert_state(r->ru_state, PAVED_RUN_ERROR, "run", r->ru_reason);
    assert_contains(r->ru_reason, "\"gone\"");
    paved_run_free(r);
    id_new = wait_run_of(f, seq_new, 0);
    r = wait_final(f, id_new);
    assert_state(r->ru_state, PAVED_RUN_SUCCESS, "run", r->ru_reason);
    assert_string_equal(r->ru_sha, f->f_sha2);
    paved_run_free(r);
    run_loop_for(f, 300);
    assert_int_equal(count_runs(f, seq_new), 1);
    assert_int_equal(count_runs(f, seq_gone), 1);
}

/* Cancel while a failed step waits for its retry: nothing starts again. */
static void
test_cancel_during_retry_backoff(void **state)
{
    struct fixture *f = *state;
    const struct paved_step_rec *st;
    struct want_step ws;
    struct paved_run *r;
    char buf[64];
    int64_t id;

    pipeline(f, NULL,
             "  - name: flaky\n"
             "    retries: 3\n"
             "    run: |\n"
             "      echo x >> \"$OUT/tries\"\n"
             "      exit 7\n");
    sched_up(f);
    id = wait_run_of(f, push(f, "d-backoff", f->f_sha1), 0);
    /* after the first failure the step is queued again, its timer set */
    ws.ws_run = id;
    ws.ws_name = "flaky";
    ws.ws_state = PAVED_RUN_QUEUED; /* with attempts 1 and exit 7 */
    assert_true(wait_for(f, cond_step_backoff, &ws, WAIT_SECS));
    assert_int_equal(paved_sched_cancel(f->f_s, id, "no more"), 0);
    r = wait_final(f, id);
    assert_state(r->ru_state, PAVED_RUN_CANCELLED, "run", r->ru_reason);
    st = step_of(r, "flaky");
    assert_state(st->sr_state, PAVED_RUN_CANCELLED, "flaky", st->sr_reason);
    assert_int_equal(st->sr_attempts, 1);
    paved_run_free(r);
    /* past the 1 s backoff: the timer did not fire a second attempt */
    run_loop_for(f, 1500);
    out_line(buf, sizeof(buf), f, "tries");
    assert_string_equal(buf, "x");
    assert_int_equal(paved_sched_active(f->f_s), 0);
}

/* A step that ignores SIGTERM gets SIGKILL after step_kill_grace. */
static void
test_cancel_term_ignored(void **state)
{
    struct fixture *f = *state;
    struct paved_run *r;
    struct pids p;
    int64_t id, t0;

    pipeline(f, NULL,
             "  - name: stubborn\n"
             "    run: |\n"
             "      trap '' TERM\n"
             "      sleep 30 &\n"
             "      echo $! > \"$OUT/sleep.tmp\"\n"
             "      mv \"$OUT/sleep.tmp\" \"$OUT/sleep.pid\"\n"
             "      echo $$ > \"$OUT/sh.tmp\"\n"
             "      mv \"$OUT/sh.tmp\" \"$OUT/sh.pid\"\n"
             "      while :; do wait || true; done\n");
    sched_up(f);
    id = wait_run_of(f, push(f, "d-stubborn", f->f_sha1), 0);
    assert_true(wait_for(f, cond_out_file, "sh.pid", WAIT_SECS));
    p.p_a = out_pid(f, "sh.pid");
    p.p_b = out_pid(f, "sleep.pid");
    t0 = mono_ms();
    assert_int_equal(paved_sched_cancel(f->f_s, id, NULL), 0);
    r = wait_final(f, id);
    assert_state(r->ru_state, PAVED_RUN_CANCELLED, "run", r->ru_reason);
    assert_state(step_of(r, "stubborn")->sr_state, PAVED_RUN_CANCELLED,
                 "stubborn", step_of(r, "stubborn")->sr_reason);
    paved_run_free(r);
    /* SIGTERM did nothing: only the SIGKILL a grace period later did */
    assert_true(mono_ms() - t0 >= 900);
    if (!wait_for(f, cond_pids_dead, &p, 10))
        fail_msg("a process of the step survived SIGKILL");
}

/* After recovery: A (interrupted) ended error and was requeued as
 * `again`; B, the newer commit, must succeed and be deployed last. */
static void
check_newest_last(struct fixture *f, int64_t id_a, int64_t id_again,
                  int64_t id_b)
{
    struct paved_run *a, *b, *again;
    char path[256], buf[512], want[128], msg[1024];

    again = wait_final(f, id_again);
    a = wait_final(f, id_a);
    b = wait_final(f, id_b);
    msg[0] = '\0';
    out_path(path, sizeof(path), f, "deployed");
    (void)read_text(buf, sizeof(buf), path);
    snprintf(want, sizeof(want), "%s\n", f->f_sha2);
    if (a->ru_state != PAVED_RUN_ERROR || again->ru_requeue_of != id_a)
        snprintf(msg, sizeof(msg),
                 "interrupted run %lld ended %s, requeued as %lld (of %lld)",
                 (long long)id_a, paved_run_state_name(a->ru_state),
                 (long long)id_again, (long long)again->ru_requeue_of);
    else if (b->ru_state != PAVED_RUN_SUCCESS)
        snprintf(msg, sizeof(msg),
                 "the newer commit's queued run %lld ended %s (%s); the "
                 "requeued older run %lld ended %s",
                 (long long)id_b, paved_run_state_name(b->ru_state),
                 b->ru_reason ? b->ru_reason : "", (long long)id_again,
                 paved_run_state_name(again->ru_state));
    else if (strlen(buf) < strlen(want) ||
             strcmp(buf + strlen(buf) - strlen(want), want) != 0)
        snprintf(msg, sizeof(msg),
                 "the last commit deployed is not the newest one (%.12s); "
                 "deployed in this order:\n%s(requeued run %lld %s, "
                 "queued run %lld %s)",
                 f->f_sha2, buf, (long long)id_again,
                 paved_run_state_name(again->ru_state), (long long)id_b,
                 paved_run_state_name(b->ru_state));
    paved_run_free(a);
    paved_run_free(b);
    paved_run_free(again);
    if (msg[0] != '\0')
        fail_msg("%s", msg);
}

/* A crash left run A (older commit) `running` and run B (newer commit)
 * queued behind it in the same group. The requeued copy of A must not
 * end up deploying the older commit after B, nor cancel B: whatever
 * else happens, the newest commit is the one that runs last. */
static void
test_recovery_order_cancel_mode(void **state)
{
    struct fixture *f = *state;
    int64_t seq_a, seq_b, id_a, id_b;

    id_a = insert_run(f, "d-a", f->f_sha1, PAVED_RUN_RUNNING, &seq_a);
    id_b = insert_run(f, "d-b", f->f_sha2, PAVED_RUN_QUEUED, &seq_b);
    store_sync(f);
    pipeline(f, NULL,
             "  - name: deploy\n"
             "    run: echo \"$PAVED_SHA\" >> \"$OUT/deployed\"\n");
    sched_up(f);
    check_newest_last(f, id_a, wait_run_of(f, seq_a, 1), id_b);
}

/* The same through the public API only: a deploy pipeline (queue) runs
 * the older commit, the newer one waits, paved stops (SIGTERM) and
 * starts again. The newer commit must be the last one deployed. */
static void
test_recovery_order_queue_mode(void **state)
{
    struct fixture *f = *state;
    char path[256];
    int64_t seq_a, seq_b, id_a, id_b;

    pipeline(f, "concurrency: queue\n",
             "  - name: deploy\n"
             "    run: |\n"
             "      if [ \"$PAVED_SHA\" = \"$FIRST\" ]; then\n"
             "        touch \"$OUT/first-started\"\n"
             "        while [ ! -e \"$OUT/release\" ]; do sleep 0.05; done\n"
             "      fi\n"
             "      echo \"$PAVED_SHA\" >> \"$OUT/deployed\"\n");
    sched_up(f);
    seq_a = push(f, "d-a", f->f_sha1);
    id_a = wait_run_of(f, seq_a, 0);
    assert_true(wait_for(f, cond_out_file, "first-started", WAIT_SECS));
    seq_b = push(f, "d-b", f->f_sha2);
    id_b = wait_run_of(f, seq_b, 0);
    sched_down(f);
    store_sync(f);

    out_path(path, sizeof(path), f, "release");
    write_text(path, "go\n");
    sched_up(f);
    check_newest_last(f, id_a, wait_run_of(f, seq_a, 1), id_b);
}

/* sched_output_text() on a run made by hand (no scheduler): what steps
 * wrote to $PAVED_SUMMARY comes first, masked, each cut to 32 KiB on a
 * character boundary; then the failed step's log tail; a FIFO at a
 * summary's name is skipped without blocking. */
static void
test_output_text_summaries(void **state)
{
    char dir[] = "/tmp/paved-output-XXXXXX", path[512], *text, *p;
    const char *secret = "Sk-output-secret-1234";
    struct paved_step defs[3];
    struct sched_step steps[3];
    struct sched_run r;
    paved_mask *mask = NULL;
    size_t i, n;
    FILE *fp;

    (void)state;
    assert_non_null(mkdtemp(dir));
    assert_int_equal(paved_mask_new(&mask, &secret, 1, 6, NULL), 0);
    memset(&r, 0, sizeof(r));
    memset(defs, 0, sizeof(defs));
    memset(steps, 0, sizeof(steps));
    r.r_rundir = dir;
    r.r_mask = mask;
    r.r_steps = steps;
    r.r_nsteps = 3;
    defs[0].st_name = "canary";
    defs[1].st_name = "big";
    defs[2].st_name = "fifo";
    for (i = 0; i < 3; i++) {
        steps[i].ss_run = &r;
        steps[i].ss_index = i;
        steps[i].ss_def = &defs[i];
        steps[i].ss_rec.sr_name = defs[i].st_name;
        steps[i].ss_rec.sr_state = PAVED_RUN_SUCCESS;
    }
    steps[0].ss_rec.sr_state = PAVED_RUN_FAILURE;
    snprintf(path, sizeof(path), "%s/0-canary.summary", dir);
    assert_non_null(fp = fopen(path, "w"));
    fprintf(fp,
            "| check | result |\n| --- | --- |\n| errors | fail |\n"
            "token %s\n",
            secret);
    fclose(fp);
    snprintf(path, sizeof(path), "%s/0-canary.log", dir);
    assert_non_null(fp = fopen(path, "w"));
    fprintf(fp, "2026-11-27T07:01:02.345Z out rolled back\n");
    fclose(fp);
    /* 32768 = 3 * 10922 + 2: the cut falls inside a 3-byte character */
    snprintf(path, sizeof(path), "%s/1-big.summary", dir);
    assert_non_null(fp = fopen(path, "w"));
    for (i = 0; i < 12000; i++)
        fputs("\xe2\x82\xac", fp);
    fclose(fp);
    snprintf(path, sizeof(path), "%s/2-fifo.summary", dir);
    assert_int_equal(mkfifo(path, 0600), 0);

    assert_non_null(text = sched_output_text(&r));
    assert_true(strncmp(text,
                        "### canary\n\n| check | result |\n| --- | --- |\n"
                        "| errors | fail |\ntoken ***\n\n### big\n\n",
                        strlen("### canary\n\n| check | result |\n"
                               "| --- | --- |\n| errors | fail |\n"
                               "token ***\n\n### big\n\n")) == 0);
    assert_null(strstr(text, secret));
    p = strstr(text, "### big\n\n") + strlen("### big\n\n");
    for (n = 0; strncmp(p + n, "\xe2\x82\xac", 3) == 0; n += 3)
        ;
    assert_int_equal(n, 3 * 10922); /* the split character is dropped */
    p += n;
    assert_string_equal(p, "\n\n### canary: the log's last lines\n\n"
                           "`````text\nout rolled back\n`````\n\n");
    assert_null(strstr(text, "### fifo"));
    free(text);
    paved_mask_free(mask);
    snprintf(path, sizeof(path), "rm -rf '%s'", dir);
    assert_int_equal(system(path), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dag_failure_skips_dependents,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_then_success, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_allow_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_if_false_skips_dependents, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cancel_kills_processes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_supersede_running, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_supersede_quick_succession, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_exactly_once_after_restart, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_recovery_requeues_interrupted,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_secret_masked_in_log, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_missing_secret_is_error, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stop_then_restart_recovers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_queue_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_kills_group, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_same_commit_once_replay_again,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_commit_is_error, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cancel_during_retry_backoff, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cancel_term_ignored, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_recovery_second_interruption,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_recovery_pipeline_gone_and_unplanned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recovery_order_cancel_mode, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_recovery_order_queue_mode, setup,
                                        teardown),
        cmocka_unit_test(test_output_text_summaries),
    };
    char home[] = "/tmp/paved-sched-home-XXXXXX";
    char cmd[128];
    int rc;

    /* hermetic git: no user or system config, fixed identities */
    if (mkdtemp(home) == NULL)
        return 1;
    setenv("HOME", home, 1);
    setenv("XDG_CONFIG_HOME", home, 1);
    setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
    setenv("GIT_AUTHOR_NAME", "Paved Test", 1);
    setenv("GIT_AUTHOR_EMAIL", "test@paved.invalid", 1);
    setenv("GIT_COMMITTER_NAME", "Paved Test", 1);
    setenv("GIT_COMMITTER_EMAIL", "test@paved.invalid", 1);
    /* SCHEDTEST_FILTER=test_cancel* runs only the matching tests,
     * SCHEDTEST_SKIP=... all but those */
    if (getenv("SCHEDTEST_FILTER") != NULL)
        cmocka_set_test_filter(getenv("SCHEDTEST_FILTER"));
    if (getenv("SCHEDTEST_SKIP") != NULL)
        cmocka_set_skip_filter(getenv("SCHEDTEST_SKIP"));
    if (paved_workspace_global_init() < 0)
        return 1;
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    paved_workspace_global_shutdown();
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", home);
    if (system(cmd) != 0 && rc == 0)
        rc = 1;
    return rc;
}
