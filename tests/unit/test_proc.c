/* Step processes: real /bin/sh children on a real libevent loop. Exit
 * codes, both streams with their prefixes, the exact environment, the
 * working directory, timeouts and cancellation that leave no process of
 * the group behind, secrets masked across reads, injection through
 * environment values, the log cap, and start-up errors. No assertion
 * depends on how long anything takes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "paved/error.h"
#include "paved/mask.h"
#include "paved/proc.h"

struct fx {
    char dir[64];
    char script[128];
    char log[128];
    struct event_base *base;
    paved_procs *ps;
    struct event *watchdog;
};

struct done {
    int called;
    struct paved_proc_result r;
};

static char *const default_env[] = {"PATH=/usr/bin:/bin", NULL};

/* Only against a hang (a test that never ends): not a timing check. */
static void
watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    fprintf(stderr, "test_proc: watchdog: a step never finished\n");
    abort();
}

static int
setup(void **state)
{
    struct timeval tv = {120, 0};
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/paved-proc-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->script, sizeof(f->script), "%s/step.sh", f->dir);
    snprintf(f->log, sizeof(f->log), "%s/step.log", f->dir);
    assert_non_null(f->base = event_base_new());
    assert_int_equal(paved_procs_new(&f->ps, f->base), 0);
    assert_non_null(f->watchdog = evtimer_new(f->base, watchdog_cb, NULL));
    evtimer_add(f->watchdog, &tv);
    *state = f;
    return 0;
}

static int
rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;

    paved_procs_free(f->ps);
    event_free(f->watchdog);
    event_base_free(f->base);
    nftw(f->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void
done_cb(const struct paved_proc_result *r, void *arg)
{
    struct done *d = arg;

    d->called++;
    d->r = *r;
}

static void
spec_init(struct paved_proc_spec *s, struct fx *f, const char *script)
{
    memset(s, 0, sizeof(*s));
    s->ps_script = script;
    s->ps_script_path = f->script;
    s->ps_cwd = f->dir;
    s->ps_env = default_env;
    s->ps_log_path = f->log;
}

static void
loop_until(struct fx *f, const int *flag)
{
    while (!*flag)
        assert_true(event_base_loop(f->base, EVLOOP_ONCE) >= 0);
}

static void
run_spec(struct fx *f, const struct paved_proc_spec *s, struct done *d)
{
    size_t live = paved_procs_live(f->ps);
    paved_proc *p = NULL;

    memset(d, 0, sizeof(*d));
    assert_int_equal(paved_proc_start(&p, f->ps, s, done_cb, d), 0);
    assert_non_null(p);
    assert_int_equal(paved_procs_live(f->ps), live + 1);
    loop_until(f, &d->called);
    assert_int_equal(d->called, 1);
    assert_int_equal(paved_procs_live(f->ps), live);
}

static void
run(struct fx *f, const char *script, struct done *d)
{
    struct paved_proc_spec s;

    spec_init(&s, f, script);
    run_spec(f, &s, d);
}

static char *
slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *buf;
    long n;

    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    assert_non_null(buf = malloc((size_t)n + 1));
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    buf[n] = '\0';
    fclose(fp);
    if (len != NULL)
        *len = (size_t)n;
    return buf;
}

/* Line i of the log (0-based) without its timestamp, checked to be
 * "YYYY-MM-DDTHH:MM:SS.mmmZ "; NULL past the end. Caller frees. */
static char *
log_line(const char *log, size_t i)
{
    const char *p = log, *nl;
    size_t k, len;
    char *out;

    for (k = 0; k < i; k++) {
        if ((p = strchr(p, '\n')) == NULL)
            return NULL;
        p++;
    }
    if (*p == '\0')
        return NULL;
    nl = strchr(p, '\n');
    assert_non_null(nl); /* every line ends with a newline */
    len = (size_t)(nl - p);
    assert_true(len >= 25);
    for (k = 0; k < 24; k++) {
        const char *pat = "dddd-dd-ddTdd:dd:dd.dddZ";

        if (pat[k] == 'd')
            assert_true(p[k] >= '0' && p[k] <= '9');
        else
            assert_int_equal(p[k], pat[k]);
    }
    assert_int_equal(p[24], ' ');
    assert_non_null(out = strndup(p + 25, len - 25));
    return out;
}

static void
expect_line(const char *log, size_t i, const char *want)
{
    char *got = log_line(log, i);

    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static size_t
log_count(const char *log)
{
    size_t n = 0;

    for (; *log != '\0'; log++)
        if (*log == '\n')
            n++;
    return n;
}

static size_t
count_str(const char *hay, const char *needle)
{
    size_t n = 0;

    while ((hay = strstr(hay, needle)) != NULL) {
        n++;
        hay++;
    }
    return n;
}

/* A live process: exists and is not a zombie (killed grandchildren are
 * reparented to init and reaped by it, some time later). */
static int
alive(pid_t pid)
{
    char path[64], buf[512], *rp;
    FILE *fp;
    size_t n;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if ((fp = fopen(path, "r")) == NULL)
        return 0;
    n = fread(buf, 1, sizeof(buf) - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    if ((rp = strrchr(buf, ')')) == NULL || rp[1] != ' ')
        return 0;
    return rp[2] != 'Z' && rp[2] != 'X';
}

/* Live members of process group pgid. */
static int
group_live(pid_t pgid)
{
    char path[300], buf[512], *rp;
    struct dirent *de;
    int count = 0, pg;
    DIR *d;
    FILE *fp;
    size_t n;

    assert_non_null(d = opendir("/proc"));
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
        if ((fp = fopen(path, "r")) == NULL)
            continue;
        n = fread(buf, 1, sizeof(buf) - 1, fp);
        fclose(fp);
        buf[n] = '\0';
        /* pid (comm) state ppid pgrp ... */
        if ((rp = strrchr(buf, ')')) == NULL)
            continue;
        if (sscanf(rp + 2, "%*c %*d %d", &pg) == 1 && pg == pgid &&
            rp[2] != 'Z' && rp[2] != 'X')
            count++;
    }
    closedir(d);
    return count;
}

/* A killed process closes its descriptors (our EOF) a moment before it
 * becomes a zombie: wait for that, with a generous bound against a hang
 * (this is not a timing check). */
static int
wait_gone(pid_t pid, pid_t pgid)
{
    int i;

    for (i = 0; i < 1000; i++) {
        if ((pid <= 0 || !alive(pid)) && (pgid <= 0 || group_live(pgid) == 0))
            return 1;
        usleep(10000);
    }
    return 0;
}

/* The pid printed as "bg <pid>" in the log. */
static pid_t
bg_pid(const char *log)
{
    const char *p = strstr(log, "out bg ");
    long v;

    assert_non_null(p);
    v = strtol(p + 7, NULL, 10);
    assert_true(v > 1);
    return (pid_t)v;
}

static void
test_exit_codes(void **state)
{
    struct fx *f = *state;
    struct done d;
    char *log;

    run(f, "exit 3\n", &d);
    assert_int_equal(d.r.pr_exit, 3);
    assert_int_equal(d.r.pr_signal, 0);
    assert_int_equal(d.r.pr_timed_out, 0);
    assert_int_equal(d.r.pr_cancelled, 0);
    assert_true(d.r.pr_ms >= 0);
    run(f, "true\n", &d);
    assert_int_equal(d.r.pr_exit, 0);
    /* -e: the first failing command ends the script */
    run(f, "echo before\nfalse\necho after\n", &d);
    assert_int_equal(d.r.pr_exit, 1);
    log = slurp(f->log, NULL);
    assert_non_null(strstr(log, "out before\n"));
    assert_null(strstr(log, "after"));
    free(log);
    /* killed by a signal */
    run(f, "kill -USR1 $$\n", &d);
    assert_int_equal(d.r.pr_exit, -1);
    assert_int_equal(d.r.pr_signal, SIGUSR1);
}

static void
test_streams_and_prefixes(void **state)
{
    struct fx *f = *state;
    struct done d;
    size_t len;
    char *log;

    run(f,
        "echo hello\n"
        "echo oops >&2\n"
        "printf 'two\\nlines\\n'\n"
        "printf '\\n'\n"
        "printf 'no newline'\n",
        &d);
    assert_int_equal(d.r.pr_exit, 0);
    log = slurp(f->log, &len);
    assert_int_equal(d.r.pr_log_bytes, len);
    /* the order of lines of one stream is kept; the streams are merged in
     * the order they were read, which the script serialises anyway only
     * per stream, so look for err on its own */
    assert_non_null(strstr(log, " err oops\n"));
    assert_int_equal(log_count(log), 6);
    {
        size_t i, k = 0;
        const char *want[] = {"out hello", "out two", "out lines", "out ",
                              "out no newline"};
        char *line;

        for (i = 0; (line = log_line(log, i)) != NULL; i++) {
            if (strcmp(line, "err oops") != 0) {
                assert_true(k < 5);
                assert_string_equal(line, want[k]);
                k++;
            }
            free(line);
        }
        assert_int_equal(k, 5);
    }
    free(log);
}

static void
test_binary_output(void **state)
{
    struct fx *f = *state;
    struct done d;
    size_t len;
    char *log;

    run(f, "printf 'a\\000b\\n\\377\\001'\n", &d);
    assert_int_equal(d.r.pr_exit, 0);
    log = slurp(f->log, &len);
    /* the bytes are in the file as they were printed */
    assert_int_equal(len, 33 + 32);
    assert_memory_equal(log + 24, " out a\0b\n", 9);
    assert_memory_equal(log + 33 + 24, " out \377\001\n", 8);
    free(log);
}

static void
test_environment_exact(void **state)
{
    struct fx *f = *state;
    char *env[] = {"PATH=/usr/bin:/bin", "FOO=bar baz", "EMPTY=", "MULTI=x y",
                   NULL};
    char pwd[128], *log, *line;
    struct paved_proc_spec s;
    int seen[4] = {0, 0, 0, 0};
    struct done d;
    size_t i, k;

    assert_int_equal(setenv("PAVED_TEST_LEAK", "must-not-be-seen", 1), 0);
    spec_init(&s, f, "env\n");
    s.ps_env = env;
    run_spec(f, &s, &d);
    assert_int_equal(d.r.pr_exit, 0);
    log = slurp(f->log, NULL);
    snprintf(pwd, sizeof(pwd), "out PWD=%s", f->dir);
    for (i = 0; (line = log_line(log, i)) != NULL; i++) {
        int known = 0;

        /* dash exports PWD itself: the only addition allowed */
        if (strcmp(line, pwd) == 0)
            known = 1;
        for (k = 0; k < 4; k++) {
            if (strncmp(line, "out ", 4) == 0 &&
                strcmp(line + 4, env[k]) == 0) {
                seen[k]++;
                known = 1;
            }
        }
        if (!known)
            fail_msg("unexpected environment line: %s", line);
        free(line);
    }
    for (k = 0; k < 4; k++)
        assert_int_equal(seen[k], 1);
    assert_null(strstr(log, "PAVED_TEST_LEAK"));
    free(log);
    unsetenv("PAVED_TEST_LEAK");

    /* no environment at all */
    spec_init(&s, f, "echo \"path=${PATH-unset}\"\n");
    s.ps_env = NULL;
    unlink(f->log);
    run_spec(f, &s, &d);
    log = slurp(f->log, NULL);
    /* dash has a default PATH for lookups but does not export one */
    assert_int_equal(d.r.pr_exit, 0);
    assert_non_null(strstr(log, "out path="));
    free(log);
}

static void
test_cwd(void **state)
{
    struct fx *f = *state;
    struct paved_proc_spec s;
    char sub[128], want[160], *log;
    struct done d;

    snprintf(sub, sizeof(sub), "%s/work dir", f->dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    spec_init(&s, f, "pwd\ntouch made-here\n");
    s.ps_cwd = sub;
    run_spec(f, &s, &d);
    assert_int_equal(d.r.pr_exit, 0);
    log = slurp(f->log, NULL);
    snprintf(want, sizeof(want), "out %s", sub);
    expect_line(log, 0, want);
    free(log);
    snprintf(want, sizeof(want), "%s/made-here", sub);
    assert_int_equal(access(want, F_OK), 0);
}

static void
test_timeout_kills_group(void **state)
{
    struct fx *f = *state;
    struct paved_proc_spec s;
    paved_proc *p = NULL;
    struct done d = {0};
    pid_t pgid, bg;
    char *log;

    spec_init(&s, f,
              "sleep 100 &\n"
              "echo \"bg $!\"\n"
              "sleep 100\n"
              "wait\n");
    s.ps_timeout_ms = 300;
    assert_int_equal(paved_proc_start(&p, f->ps, &s, done_cb, &d), 0);
    pgid = (pid_t)paved_proc_pid(p);
    assert_true(pgid > 1);
    /* its own group */
    assert_int_equal(getpgid(pgid), pgid);
    loop_until(f, &d.called);
    assert_int_equal(d.r.pr_timed_out, 1);
    assert_int_equal(d.r.pr_cancelled, 0);
    assert_int_equal(d.r.pr_exit, -1);
    assert_int_equal(d.r.pr_signal, SIGTERM);
    log = slurp(f->log, NULL);
    assert_non_null(strstr(log, " paved step timed out after 300ms: SIGTERM "
                                "to process group, SIGKILL after 5s\n"));
    bg = bg_pid(log);
    free(log);
    assert_true(wait_gone(bg, pgid));
    /* the shell was reaped by us */
    assert_int_equal(kill(pgid, 0) < 0 && errno == ESRCH, 1);
}

static void
test_sigkill_after_grace(void **state)
{
    struct fx *f = *state;
    struct paved_proc_spec s;
    paved_proc *p = NULL;
    struct done d = {0};
    pid_t pgid, bg;
    char *log;

    /* everything ignores SIGTERM */
    spec_init(&s, f,
              "trap '' TERM\n"
              "sleep 100 &\n"
              "echo \"bg $!\"\n"
              "sleep 100\n");
    s.ps_timeout_ms = 300;
    s.ps_grace_ms = 300;
    assert_int_equal(paved_proc_start(&p, f->ps, &s, done_cb, &d), 0);
    pgid = (pid_t)paved_proc_pid(p);
    loop_until(f, &d.called);
    assert_int_equal(d.r.pr_timed_out, 1);
    assert_int_equal(d.r.pr_signal, SIGKILL);
    log = slurp(f->log, NULL);
    assert_non_null(strstr(log, " paved step timed out after 300ms: SIGTERM "
                                "to process group, SIGKILL after 300ms\n"));
    assert_non_null(strstr(log, " paved step still running 300ms after "
                                "SIGTERM: SIGKILL to process group\n"));
    bg = bg_pid(log);
    free(log);
    assert_true(wait_gone(bg, pgid));
}

static void
test_leftovers_killed_at_exit(void **state)
{
    struct fx *f = *state;
    struct done d;
    char *log;
    pid_t bg;

    /* a background child holds stdout open: it must neither hang the step
     * nor survive it */
    run(f,
        "sleep 100 &\n"
        "echo \"bg $!\"\n"
        "exit 0\n",
        &d);
    assert_int_equal(d.r.pr_exit, 0);
    assert_int_equal(d.r.pr_timed_out, 0);
    log = slurp(f->log, NULL);
    bg = bg_pid(log);
    assert_null(strstr(log, " paved "));
    free(log);
    assert_true(wait_gone(bg, 0));
}

static void
test_escaped_process_does_not_hang(void **state)
{
    struct fx *f = *state;
    struct paved_proc_spec s;
    char script[512], pidfile[128], *pidtext, *log;
    struct done d;
    long pid;

    snprintf(pidfile, sizeof(pidfile), "%s/escaped.pid", f->dir);
    snprintf(script, sizeof(script),
             "setsid sh -c 'echo $$ > \"$0\".tmp; mv \"$0\".tmp \"$0\"; "
             "exec sleep 100' '%s' &\n"
             "while [ ! -s '%s' ]; do sleep 0.05; done\n"
             "echo done\n",
             pidfile, pidfile);
    spec_init(&s, f, script);
    s.ps_grace_ms = 300;
    run_spec(f, &s, &d);
    assert_int_equal(d.r.pr_exit, 0);
    log = slurp(f->log, NULL);
    assert_non_null(strstr(log, " out done\n"));
    assert_non_null(strstr(log, " paved output still held open 300ms after "
                                "the shell exited"));
    free(log);
    /* it left the group on purpose: not ours to kill, but the test's */
    pidtext = slurp(pidfile, NULL);
    pid = strtol(pidtext, NULL, 10);
    free(pidtext);
    assert_true(pid > 1);
    kill((pid_t)pid, SIGKILL);
}

static void
test_cancel(void **state)
{
    struct fx *f = *state;
    struct paved_proc_spec s;
    paved_proc *p = NULL;
    struct done d = {0};
    char *log = NULL;
    pid_t pgid, bg;

    spec_init(&s, f,
              "sleep 100 &\n"
              "echo \"bg $!\"\n"
              "echo started\n"
              "wait\n");
    assert_int_equal(paved_proc_start(&p, f->ps, &s, done_cb, &d), 0);
    pgid = (pid_t)paved_proc_pid(p);
    /* run the loop until the step has shown it is under way */
    for (;;) {
        assert_true(event_base_loop(f->base, EVLOOP_ONCE) >= 0);
        assert_int_equal(d.called, 0);
        log = slurp(f->log, NULL);
        if (strstr(log, " out started\n") != NULL)
            break;
        free(log);
    }
    bg = bg_pid(log);
    free(log);
    paved_proc_cancel(p);
    paved_proc_cancel(p); /* idempotent */
    paved_proc_cancel(NULL);
    loop_until(f, &d.called);
    assert_int_equal(d.called, 1);
    assert_int_equal(d.r.pr_cancelled, 1);
    assert_int_equal(d.r.pr_timed_out, 0);
    assert_int_equal(d.r.pr_signal, SIGTERM);
    log = slurp(f->log, NULL);
    assert_non_null(strstr(log, " paved step cancelled: SIGTERM to process "
                                "group, SIGKILL after 5s\n"));
    /* once: the second cancel wrote nothing */
    assert_ptr_equal(strstr(strstr(log, "cancelled") + 1, "cancelled"), NULL);
    free(log);
    assert_true(wait_gone(bg, pgid));

    /* cancelled at once, before the loop ever ran */
    memset(&d, 0, sizeof(d));
    spec_init(&s, f, "sleep 100\n");
    assert_int_equal(paved_proc_start(&p, f->ps, &s, done_cb, &d), 0);
    paved_proc_cancel(p);
    loop_until(f, &d.called);
    assert_int_equal(d.r.pr_cancelled, 1);
    assert_int_equal(d.r.pr_exit, -1);
}

/* SIGTERM goes to the whole group, so children can clean up; the shell
 * waits for them here, and only SIGKILL (never needed: they all exit)
 * would cut that short. "started" comes once both traps are set. */
static void
test_term_reaches_group(void **state)
{
    struct fx *f = *state;
    struct paved_proc_spec s;
    paved_proc *p = NULL;
    struct done d = {0};
    char *log = NULL;

    spec_init(&s, f,
              "trap 'echo \"main TERM\"; wait; exit 1' TERM\n"
              "(\n"
              "  trap 'echo \"child TERM\"; exit 0' TERM\n"
              "  echo started\n"
              "  sleep 100 &\n"
              "  wait\n"
              ") &\n"
              "wait\n");
    assert_int_equal(paved_proc_start(&p, f->ps, &s, done_cb, &d), 0);
    for (;;) {
        assert_true(event_base_loop(f->base, EVLOOP_ONCE) >= 0);
        log = slurp(f->log, NULL);
        if (strstr(log, " out started\n") != NULL)
            break;
        free(log);
    }
    free(log);
    paved_proc_cancel(p);
    loop_until(f, &d.called);
    assert_int_equal(d.r.pr_cancelled, 1);
    assert_int_equal(d.r.pr_exit, 1);
    log = slurp(f->log, NULL);
    assert_non_null(strstr(log, " out child TERM\n"));
    assert_non_null(strstr(log, " out main TERM\n"));
    assert_null(strstr(log, "SIGKILL to process group\n"));
    free(log);
}

static void
test_secret_masked(void **state)
{
    struct fx *f = *state;
    const char *secrets[] = {"supersecret", "abc"};
    char *env[] = {"PATH=/usr/bin:/bin", "S=supersecret", NULL};
    char log2[160], path2[160], *log;
    struct paved_proc_spec s, s2;
    struct done d = {0}, d2 = {0};
    paved_mask *m = NULL;
    size_t nshort = 0;
    const char *script = "printf 'sup'\n"
                         "sleep 0.2\n"
                         "printf 'ersecret\\n'\n"
                         "printf %s \"$S\" | base64\n"
                         "echo \"$S\" | base64\n"
                         "echo \"tail $S\" >&2\n"
                         "printf 'u=%s' \"$S\"\n"
                         "sleep 0.1\n"
                         "echo ' abc stays'\n";

    assert_int_equal(paved_mask_new(&m, secrets, 2, 6, &nshort), 0);
    assert_int_equal(nshort, 1);
    /* two steps at once share the mask; each stream has its own carry */
    spec_init(&s, f, script);
    s.ps_env = env;
    s.ps_mask = m;
    s2 = s;
    snprintf(log2, sizeof(log2), "%s/second.log", f->dir);
    s2.ps_log_path = log2;
    snprintf(path2, sizeof(path2), "%s/second.sh", f->dir);
    s2.ps_script_path = path2;
    assert_int_equal(paved_proc_start(NULL, f->ps, &s, done_cb, &d), 0);
    assert_int_equal(paved_proc_start(NULL, f->ps, &s2, done_cb, &d2), 0);
    assert_int_equal(paved_procs_live(f->ps), 2);
    loop_until(f, &d.called);
    loop_until(f, &d2.called);
    assert_int_equal(d.r.pr_exit, 0);
    assert_int_equal(d2.r.pr_exit, 0);
    for (int i = 0; i < 2; i++) {
        log = slurp(i == 0 ? f->log : log2, NULL);
        assert_null(strstr(log, "supersecret"));
        assert_null(strstr(log, "ersecret"));
        assert_null(strstr(log, "c3VwZXJzZWNyZXQ"));
        /* the split one, base64 with and without the newline */
        assert_int_equal(count_str(log, " out ***\n"), 3);
        assert_non_null(strstr(log, " err tail ***\n"));
        assert_non_null(strstr(log, " out u=*** abc stays\n"));
        free(log);
    }
    paved_mask_free(m);
}

static void
test_env_values_not_evaluated(void **state)
{
    struct fx *f = *state;
    char *env[] = {"PATH=/usr/bin:/bin", "VAR=$(touch x)",
                   "V2=`touch y`;touch z", "BRANCH=main;touch${IFS}w", NULL};
    char path[160], *log;
    struct paved_proc_spec s;
    struct done d;
    const char *names[] = {"x", "y", "z", "w"};
    size_t i;

    spec_init(&s, f,
              "echo \"$VAR\"\n"
              "echo \"$V2\"\n"
              "echo \"$BRANCH\"\n");
    s.ps_env = env;
    run_spec(f, &s, &d);
    assert_int_equal(d.r.pr_exit, 0);
    log = slurp(f->log, NULL);
    expect_line(log, 0, "out $(touch x)");
    expect_line(log, 1, "out `touch y`;touch z");
    expect_line(log, 2, "out main;touch${IFS}w");
    free(log);
    for (i = 0; i < 4; i++) {
        snprintf(path, sizeof(path), "%s/%s", f->dir, names[i]);
        assert_int_equal(access(path, F_OK), -1);
    }
}

static void
test_log_cap(void **state)
{
    struct fx *f = *state;
    struct paved_proc_spec s;
    struct done d;
    size_t len;
    char *log;

    spec_init(&s, f,
              "i=0\n"
              "while [ $i -lt 2000 ]; do echo \"line $i\"; i=$((i+1)); done\n"
              "echo finished >&2\n");
    s.ps_log_max = 300;
    run_spec(f, &s, &d);
    /* the step ran to its end: its output was drained, not blocked */
    assert_int_equal(d.r.pr_exit, 0);
    log = slurp(f->log, &len);
    assert_int_equal(d.r.pr_log_bytes, len);
    assert_true(len < 300 + 200);
    assert_non_null(strstr(log, " out line 0\n"));
    assert_non_null(strstr(log, " paved log truncated at 300 bytes: "
                                "further output discarded\n"));
    assert_null(strstr(log, "line 1999"));
    assert_null(strstr(log, "finished"));
    free(log);
}

static void
test_long_line_cut(void **state)
{
    struct fx *f = *state;
    struct done d;
    char *log, *line;

    run(f, "head -c 40000 /dev/zero | tr '\\0' a\n", &d);
    assert_int_equal(d.r.pr_exit, 0);
    log = slurp(f->log, NULL);
    assert_int_equal(log_count(log), 3);
    line = log_line(log, 0);
    assert_int_equal(strlen(line), 4 + PAVED_PROC_LINE_MAX);
    free(line);
    line = log_line(log, 1);
    assert_int_equal(strlen(line), 4 + PAVED_PROC_LINE_MAX);
    free(line);
    line = log_line(log, 2);
    assert_int_equal(strlen(line), 4 + 40000 - 2 * PAVED_PROC_LINE_MAX);
    free(line);
    free(log);
}

static void
test_many_at_once(void **state)
{
    struct fx *f = *state;
    struct paved_proc_spec s[6];
    char scripts[6][64], paths[6][128], logs[6][128], want[32], *log;
    struct done d[6];
    int i, all;

    memset(d, 0, sizeof(d));
    for (i = 0; i < 6; i++) {
        snprintf(scripts[i], sizeof(scripts[i]),
                 "echo \"step %d\"\nsleep 0.0%d\nexit %d\n", i, i, i);
        snprintf(paths[i], sizeof(paths[i]), "%s/s%d.sh", f->dir, i);
        snprintf(logs[i], sizeof(logs[i]), "%s/s%d.log", f->dir, i);
        spec_init(&s[i], f, scripts[i]);
        s[i].ps_script_path = paths[i];
        s[i].ps_log_path = logs[i];
        assert_int_equal(paved_proc_start(NULL, f->ps, &s[i], done_cb, &d[i]),
                         0);
    }
    assert_int_equal(paved_procs_live(f->ps), 6);
    do {
        assert_true(event_base_loop(f->base, EVLOOP_ONCE) >= 0);
        for (all = 1, i = 0; i < 6; i++)
            all &= d[i].called;
    } while (!all);
    assert_int_equal(paved_procs_live(f->ps), 0);
    for (i = 0; i < 6; i++) {
        assert_int_equal(d[i].called, 1);
        assert_int_equal(d[i].r.pr_exit, i);
        log = slurp(logs[i], NULL);
        snprintf(want, sizeof(want), "out step %d", i);
        expect_line(log, 0, want);
        free(log);
    }
}

static void
test_no_descriptor_leaks(void **state)
{
    struct fx *f = *state;
    struct paved_proc_spec s;
    struct done d, other = {0};
    int leaked, n = 0;
    char *log, *line, p2[160], l2[160];

    /* a descriptor someone opened without O_CLOEXEC, and another step's
     * pipes open at the same time */
    assert_true((leaked = open("/dev/null", O_RDONLY)) >= 0);
    spec_init(&s, f, "sleep 100\n");
    snprintf(p2, sizeof(p2), "%s/other.sh", f->dir);
    snprintf(l2, sizeof(l2), "%s/other.log", f->dir);
    s.ps_script_path = p2;
    s.ps_log_path = l2;
    assert_int_equal(paved_proc_start(NULL, f->ps, &s, done_cb, &other), 0);
    /* what the step's commands get: ls lists its own table (its one
     * extra descriptor is the directory it reads) */
    run(f, "exec ls -l /proc/self/fd\n", &d);
    assert_int_equal(d.r.pr_exit, 0);
    log = slurp(f->log, NULL);
    for (line = strtok(log, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        char *arrow = strstr(line, " -> ");
        long fd;

        if (arrow == NULL)
            continue; /* "total 0" */
        /* "... 3 -> target": the number before the arrow */
        while (arrow > line && arrow[-1] != ' ')
            arrow--;
        fd = strtol(arrow, NULL, 10);
        assert_int_not_equal(fd, leaked);
        if (fd > 2) {
            assert_non_null(strstr(arrow, " -> /proc/"));
            n++;
        }
    }
    assert_int_equal(n, 1);
    free(log);
    close(leaked);
    /* teardown kills the sleeping one without a callback */
}

static void
test_foreign_children_not_reaped(void **state)
{
    struct fx *f = *state;
    struct done d;
    int status = 0;
    pid_t mine;

    assert_true((mine = fork()) >= 0);
    if (mine == 0)
        _exit(7);
    /* the test's child exits while a step runs: SIGCHLD reaches the
     * loop, and the supervisor must leave that pid alone */
    run(f, "sleep 0.2\necho ok\n", &d);
    assert_int_equal(d.r.pr_exit, 0);
    assert_int_equal(waitpid(mine, &status, 0), mine);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 7);
}

static void
test_sigpipe_default_in_child(void **state)
{
    struct fx *f = *state;
    struct sigaction old, ign;
    struct done d;
    char *log;

    /* a daemon ignores SIGPIPE; its steps must not inherit that */
    memset(&ign, 0, sizeof(ign));
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ign, &old);
    run(f, "yes | head -n 1\n", &d);
    sigaction(SIGPIPE, &old, NULL);
    assert_int_equal(d.r.pr_exit, 0);
    log = slurp(f->log, NULL);
    expect_line(log, 0, "out y");
    assert_null(strstr(log, "Broken pipe"));
    assert_int_equal(log_count(log), 1);
    free(log);
}

static void
test_free_kills_live(void **state)
{
    struct fx *f = *state;
    struct paved_proc_spec s;
    struct done d = {0};
    paved_proc *p = NULL;
    pid_t pid;

    spec_init(&s, f, "sleep 100\n");
    assert_int_equal(paved_proc_start(&p, f->ps, &s, done_cb, &d), 0);
    pid = (pid_t)paved_proc_pid(p);
    assert_int_equal(paved_procs_live(f->ps), 1);
    paved_procs_free(f->ps);
    assert_int_equal(d.called, 0);
    /* killed and reaped: the pid is gone */
    assert_int_equal(kill(pid, 0), -1);
    assert_int_equal(errno, ESRCH);
    assert_true(wait_gone(0, pid));
    assert_int_equal(paved_procs_new(&f->ps, f->base), 0);
    paved_procs_free(NULL);
    assert_int_equal(paved_procs_live(NULL), 0);
}

static int
count_fds(void)
{
    struct dirent *de;
    DIR *d = opendir("/proc/self/fd");
    int n = 0;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static void
test_start_errors(void **state)
{
    struct fx *f = *state;
    struct paved_proc_spec s;
    struct done d = {0};
    paved_proc *p = (paved_proc *)&d;
    char bad[160];
    int fds = count_fds();

    spec_init(&s, f, "echo never\n");
    snprintf(bad, sizeof(bad), "%s/missing", f->dir);
    s.ps_cwd = bad;
    assert_int_equal(paved_proc_start(&p, f->ps, &s, done_cb, &d),
                     PAVED_ENOTFOUND);
    assert_null(p);
    assert_non_null(strstr(paved_error_last(), "missing"));

    spec_init(&s, f, "echo never\n");
    snprintf(bad, sizeof(bad), "%s/missing/step.log", f->dir);
    s.ps_log_path = bad;
    assert_int_equal(paved_proc_start(&p, f->ps, &s, done_cb, &d), PAVED_ERROR);
    assert_non_null(strstr(paved_error_last(), "step.log"));

    spec_init(&s, f, "echo never\n");
    snprintf(bad, sizeof(bad), "%s/missing/step.sh", f->dir);
    s.ps_script_path = bad;
    assert_int_equal(paved_proc_start(&p, f->ps, &s, done_cb, &d), PAVED_ERROR);

    spec_init(&s, f, NULL);
    assert_int_equal(paved_proc_start(&p, f->ps, &s, done_cb, &d),
                     PAVED_EINVAL);
    spec_init(&s, f, "true\n");
    assert_int_equal(paved_proc_start(&p, f->ps, &s, NULL, &d), PAVED_EINVAL);

    /* nothing started, nothing leaked, no callback */
    assert_int_equal(paved_procs_live(f->ps), 0);
    assert_int_equal(count_fds(), fds);
    assert_int_equal(event_base_loop(f->base, EVLOOP_NONBLOCK), 0);
    assert_int_equal(d.called, 0);
}

static void
test_script_file_and_note(void **state)
{
    struct fx *f = *state;
    struct stat st;
    struct done d;
    char *log;

    assert_int_equal(paved_proc_log_note(f->log, "secret FOO is shorter "
                                                 "than 6 bytes:\nnot masked"),
                     0);
    run(f, "echo \"$0\"\n", &d);
    assert_int_equal(stat(f->script, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    log = slurp(f->log, NULL);
    expect_line(log, 0, "paved secret FOO is shorter than 6 bytes: not masked");
    {
        char want[200];

        snprintf(want, sizeof(want), "out %s", f->script);
        expect_line(log, 1, want);
    }
    free(log);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_exit_codes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_streams_and_prefixes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_binary_output, setup, teardown),
        cmocka_unit_test_setup_teardown(test_environment_exact, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cwd, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_kills_group, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sigkill_after_grace, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_leftovers_killed_at_exit, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_escaped_process_does_not_hang,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_term_reaches_group, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_secret_masked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_values_not_evaluated, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_log_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_line_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_descriptor_leaks, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_foreign_children_not_reaped, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sigpipe_default_in_child, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_free_kills_live, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_script_file_and_note, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
