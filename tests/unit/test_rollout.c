/* Unit tests for the rollout decisions (src/delivery/rollout.c) with REAL
 * parts and no network: a SQLite store in a temporary data_dir, and
 * environments parsed from YAML whose exec driver runs /bin/sh scripts
 * that append "ENV PHASE VERSION ..." to a log, so every action a rollout
 * takes is seen. Each test asserts the exact audit-log rows, the exact
 * driver state and the exact commands: a first deploy, smoke, promote;
 * the artifact a commit may deploy (with and without from:); a canary
 * walking its weights; an approval given from another thread; rollbacks
 * (in flight, to the version before, nothing before); promote with
 * nothing in flight; a bad version label; leftover candidates with and
 * without a stable version; recovery at daemon start. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "paved/buf.h"
#include "paved/driver.h"
#include "paved/environment.h"
#include "paved/error.h"
#include "paved/rollout.h"
#include "paved/store.h"

#define REPO "acme/shop"
#define SHA1 "1111111111111111111111111111111111111111"
#define SHA2 "2222222222222222222222222222222222222222"
#define SHA3 "3333333333333333333333333333333333333333"
#define HEX64(c)                                                               \
    c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c  \
        c c c c c c c c c c c c c c c c c c c c c c c c c c c
#define DIGEST(c) "sha256:" HEX64(c)
#define REF(c) "registry.example/shop@sha256:" HEX64(c)
#define ACTOR "paved (run 7)"

struct fx {
    char f_dir[64];  /* the data_dir */
    char f_log[128]; /* what the exec commands append to */
    paved_store *f_st;
    paved_environment_set *f_envs;
    struct paved_rollout f_ro;
    struct paved_buf f_summary;
    char *f_out; /* progress text */
    size_t f_outlen;
    FILE *f_outfp;
    size_t f_seen; /* audit rows already checked */
};

/* Every phase prints "$0 $*": the environment, the phase, the version and
 * what the phase gets besides; the placeholders are the script's own
 * arguments, never part of its text. */
#define PH(phase, args)                                                        \
    "  " phase ": [/bin/sh, -c, 'printf \"%s\\n\" \"$0 $*\" >> LOG', "         \
    "'{{environment}}', " phase ", '{{version}}'" args "]\n"
#define EXEC_ALL                                                               \
    "driver: exec\n"                                                           \
    "exec:\n" PH("deploy", "") PH("shift", ", '{{weight}}'")                   \
        PH("promote", ", 'stable={{stable_version}}'") PH("rollback", "")

static const char env_staging[] = "name: staging\n" EXEC_ALL "canary:\n"
                                  "  weights: [50, 100]\n"
                                  "  interval: 1s\n";
static const char env_production[] =
    "name: production\n" EXEC_ALL "approval: required\n"
    "from: staging\n";

static paved_store *
open_store(const char *dir)
{
    struct paved_store_opts so;
    paved_store *st = NULL;

    memset(&so, 0, sizeof(so));
    so.so_spec = "sqlite";
    so.so_data_dir = dir;
    if (paved_store_open(&st, &so) < 0)
        fail_msg("store: %s", paved_error_last());
    return st;
}

/* The environment from yaml where LOG stands for the log's path. */
static void
add_env(struct fx *f, const char *name, const char *yaml)
{
    char text[8192], *p;
    const char *q = yaml;
    paved_environment *env = NULL;
    size_t n = 0;

    while ((p = strstr(q, "LOG")) != NULL) {
        n += (size_t)snprintf(text + n, sizeof(text) - n, "%.*s%s",
                              (int)(p - q), q, f->f_log);
        q = p + 3;
    }
    snprintf(text + n, sizeof(text) - n, "%s", q);
    if (paved_environment_parse(&env, NULL, name, text, strlen(text)) < 0)
        fail_msg("%s: %s", name, paved_error_last());
    if (paved_environment_set_add(f->f_envs, env, NULL) < 0)
        fail_msg("%s: %s", name, paved_error_last());
}

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    snprintf(f->f_dir, sizeof(f->f_dir), "/tmp/paved-rollout-XXXXXX");
    assert_non_null(mkdtemp(f->f_dir));
    snprintf(f->f_log, sizeof(f->f_log), "%s/exec.log", f->f_dir);
    f->f_st = open_store(f->f_dir);
    assert_int_equal(paved_environment_set_new(&f->f_envs), 0);
    add_env(f, "staging.yaml", env_staging);
    add_env(f, "production.yaml", env_production);
    f->f_outfp = open_memstream(&f->f_out, &f->f_outlen);
    assert_non_null(f->f_outfp);
    paved_buf_init(&f->f_summary, 64 * 1024);
    f->f_ro.ro_store = f->f_st;
    f->f_ro.ro_envs = f->f_envs;
    f->f_ro.ro_data_dir = f->f_dir;
    f->f_ro.ro_out = f->f_outfp;
    f->f_ro.ro_summary = &f->f_summary;
    f->f_ro.ro_actor = ACTOR;
    f->f_ro.ro_run_id = 7;
    f->f_ro.ro_poll_ms = 20;
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;
    char cmd[128];

    paved_store_close(f->f_st);
    paved_environment_set_free(f->f_envs);
    fclose(f->f_outfp);
    free(f->f_out);
    paved_buf_dispose(&f->f_summary);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->f_dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

/* ---- helpers ------------------------------------------------------------ */

static char *
slurp(const char *path)
{
    FILE *fp = fopen(path, "r");
    char *buf;
    size_t n;

    if (fp == NULL)
        return strdup("");
    buf = calloc(1, 65536);
    assert_non_null(buf);
    n = fread(buf, 1, 65535, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

/* The commands run since the last call, then the log starts afresh. */
static void
assert_log(struct fx *f, const char *want)
{
    char *got = slurp(f->f_log);

    assert_string_equal(got, want);
    free(got);
    assert_true(unlink(f->f_log) == 0 || errno == ENOENT);
}

static const char *
progress(struct fx *f)
{
    fflush(f->f_outfp);
    return f->f_out;
}

/* An artifact for sha with digest and ref made of the hex digit c,
 * recorded in the store; returned as the store reads it back. */
static struct paved_artifact *
artifact(struct fx *f, const char *sha, const char *digest, const char *ref)
{
    struct paved_artifact a, *got = NULL;

    memset(&a, 0, sizeof(a));
    a.ar_repo = REPO;
    a.ar_sha = (char *)sha;
    a.ar_service = "shop";
    a.ar_kind = "image";
    a.ar_ref = (char *)ref;
    a.ar_digest = (char *)digest;
    a.ar_run_id = 3;
    if (paved_store_artifact_put(f->f_st, &a) < 0)
        fail_msg("artifact: %s", paved_error_last());
    assert_int_equal(paved_store_artifact_get(&got, f->f_st, REPO, sha), 0);
    return got;
}

static int
deploy(struct fx *f, const char *env, const char *version,
       const struct paved_artifact *a, bool canary)
{
    struct paved_rollout_target t;

    memset(&t, 0, sizeof(t));
    t.rt_env = env;
    t.rt_service = "shop";
    t.rt_version = version;
    t.rt_artifact = a;
    t.rt_reason = "ship it";
    return paved_rollout_deploy(&f->f_ro, &t, canary);
}

/* One audit row on one line: env action result version, the digest's and
 * sha's first characters, repo, actor, run id and reason. */
static void
row_line(struct paved_buf *b, const struct paved_deploy_rec *r)
{
    (void)paved_buf_printf(
        b, "%s %s %s %s d=%.1s s=%.3s r=%s a=%s #%lld: %s\n", r->dr_env,
        r->dr_action, r->dr_result, r->dr_version ? r->dr_version : "-",
        r->dr_digest != NULL ? r->dr_digest + 7 : "-",
        r->dr_sha != NULL ? r->dr_sha : "-",
        r->dr_repo != NULL ? r->dr_repo : "-", r->dr_actor,
        (long long)r->dr_run_id, r->dr_reason != NULL ? r->dr_reason : "-");
}

static void
rows_of(paved_store *st, struct paved_deploy_rec ***list, size_t *n)
{
    struct paved_deploy_filter all;

    memset(&all, 0, sizeof(all));
    all.df_limit = 1000;
    if (paved_store_deploy_list(list, n, st, &all) < 0)
        fail_msg("deploy_list: %s", paved_error_last());
}

/* The audit rows added since the last call, oldest first. */
static void
assert_rows(struct fx *f, const char *want)
{
    struct paved_buf b = PAVED_BUF_INIT(1024 * 1024);
    struct paved_deploy_rec **list = NULL;
    size_t n = 0, i;

    rows_of(f->f_st, &list, &n);
    assert_true(n >= f->f_seen);
    for (i = n - f->f_seen; i > 0; i--)
        row_line(&b, list[i - 1]);
    assert_string_equal(b.b_ptr != NULL ? b.b_ptr : "", want);
    f->f_seen = n;
    paved_deploy_list_free(list, n);
    paved_buf_dispose(&b);
}

/* What the driver remembers of shop in env, on one line. */
static void
assert_state(struct fx *f, const char *env, const char *want)
{
    struct paved_driver_opts o;
    struct paved_driver_state s;
    paved_driver *d = NULL;
    char dir[256], got[512];
    int error;

    snprintf(dir, sizeof(dir), "%s/environments/%s", f->f_dir, env);
    memset(&o, 0, sizeof(o));
    o.do_env = paved_environment_set_find(f->f_envs, env);
    o.do_state_dir = dir;
    assert_int_equal(paved_driver_open(&d, &o), 0);
    memset(&s, 0, sizeof(s));
    error = paved_driver_state(&s, d, "shop");
    paved_driver_close(d);
    if (error == PAVED_ENOTFOUND) {
        assert_string_equal("never ran", want);
        return;
    }
    assert_int_equal(error, 0);
    snprintf(got, sizeof(got), "stable=%s(%.1s) candidate=%s(%.1s) weight=%u",
             s.ds_stable_version ? s.ds_stable_version : "-",
             s.ds_stable_digest ? s.ds_stable_digest + 7 : "-",
             s.ds_candidate_version ? s.ds_candidate_version : "-",
             s.ds_candidate_digest ? s.ds_candidate_digest + 7 : "-",
             s.ds_weight);
    paved_driver_state_dispose(&s);
    assert_string_equal(got, want);
}

static void
assert_error(int got, int want, const char *contains)
{
    assert_int_equal(got, want);
    if (strstr(paved_error_last(), contains) == NULL)
        fail_msg("error \"%s\" lacks \"%s\"", paved_error_last(), contains);
}

/* v (digest and sha of a) deployed to staging at once and promoted:
 * the stable version for a test that needs one. */
static void
stable_v(struct fx *f, const char *version, const struct paved_artifact *a)
{
    assert_int_equal(deploy(f, "staging", version, a, false), 0);
    assert_int_equal(paved_rollout_promote(&f->f_ro, "staging", "shop", NULL),
                     0);
}

/* ---- tests -------------------------------------------------------------- */

static void
test_first_deploy(void **state)
{
    struct fx *f = *state;
    struct paved_artifact *a1 = artifact(f, SHA1, DIGEST("a"), REF("a"));
    struct paved_deploy_rec **list = NULL;
    size_t n = 0;

    /* canary asked for, but with no stable version there is nothing to
     * compare with: 100% at once */
    assert_int_equal(deploy(f, "staging", "v1", a1, true), 0);
    assert_log(f, "staging deploy v1\n"
                  "staging shift v1 100\n");
    assert_state(f, "staging", "stable=-(-) candidate=v1(a) weight=100");
    assert_rows(f, "staging deploy started v1 d=a s=111 r=acme/shop "
                   "a=paved (run 7) #7: ship it\n"
                   "staging deploy ok v1 d=a s=111 r=acme/shop "
                   "a=paved (run 7) #7: first version here: 100% at once\n");
    /* every field of the first row */
    rows_of(f->f_st, &list, &n);
    assert_int_equal(n, 2);
    assert_string_equal(list[1]->dr_service, "shop");
    assert_string_equal(list[1]->dr_sha, SHA1);
    assert_string_equal(list[1]->dr_artifact, REF("a"));
    assert_string_equal(list[1]->dr_digest, DIGEST("a"));
    assert_null(list[1]->dr_detail);
    assert_true(list[1]->dr_created_ms > 0);
    paved_deploy_list_free(list, n);

    /* no smoke checks defined: they pass, and it is recorded */
    assert_int_equal(paved_rollout_smoke(&f->f_ro, "staging", "shop"), 0);
    assert_log(f, "");
    assert_rows(f, "staging smoke ok v1 d=a s=111 r=- a=paved (run 7) #7: "
                   "every smoke check passed\n");

    assert_int_equal(paved_rollout_promote(&f->f_ro, "staging", "shop", NULL),
                     0);
    assert_log(f, "staging promote v1 stable=\n");
    assert_state(f, "staging", "stable=v1(a) candidate=-(-) weight=0");
    assert_rows(f, "staging promote ok v1 d=a s=111 r=acme/shop "
                   "a=paved (run 7) #7: passed its checks\n");
    assert_non_null(strstr(f->f_summary.b_ptr,
                           "Deployed v1 to staging (first version here: "
                           "100% at once).\n"));
    assert_non_null(strstr(f->f_summary.b_ptr, "Promoted v1: it is the "
                                               "stable version of staging."));
    assert_non_null(strstr(progress(f),
                           "deploying shop v1 (" DIGEST("a") ") to staging\n"));
    paved_artifact_free(a1);
}

static void
test_artifact(void **state)
{
    struct fx *f = *state;
    struct paved_artifact *a1, *got = NULL;

    assert_error(paved_rollout_artifact(&got, &f->f_ro, "staging", REPO, SHA1),
                 PAVED_ENOTFOUND, "no artifact was built for acme/shop");
    assert_null(got);
    assert_error(paved_rollout_artifact(&got, &f->f_ro, "nowhere", REPO, SHA1),
                 PAVED_ENOTFOUND, "no environment \"nowhere\"");

    a1 = artifact(f, SHA1, DIGEST("a"), REF("a"));
    /* without from: the commit's own */
    assert_int_equal(
        paved_rollout_artifact(&got, &f->f_ro, "staging", REPO, SHA1), 0);
    assert_string_equal(got->ar_digest, DIGEST("a"));
    assert_string_equal(got->ar_ref, REF("a"));
    assert_string_equal(got->ar_sha, SHA1);
    paved_artifact_free(got);
    got = NULL;

    /* from: staging, where it was never promoted */
    assert_error(
        paved_rollout_artifact(&got, &f->f_ro, "production", REPO, SHA1),
        PAVED_ENOTFOUND, "never passed staging");
    assert_null(got);
    /* deployed to staging but not promoted there: still refused */
    assert_int_equal(deploy(f, "staging", "v1", a1, false), 0);
    assert_error(
        paved_rollout_artifact(&got, &f->f_ro, "production", REPO, SHA1),
        PAVED_ENOTFOUND, "never passed staging");
    assert_int_equal(paved_rollout_promote(&f->f_ro, "staging", "shop", NULL),
                     0);

    /* a rebuild of the commit replaces its artifact row: staging now
     * gets the new one, production exactly what passed staging */
    paved_artifact_free(artifact(f, SHA1, DIGEST("b"), REF("b")));
    assert_int_equal(
        paved_rollout_artifact(&got, &f->f_ro, "staging", REPO, SHA1), 0);
    assert_string_equal(got->ar_digest, DIGEST("b"));
    assert_string_equal(got->ar_ref, REF("b"));
    paved_artifact_free(got);
    got = NULL;
    assert_int_equal(
        paved_rollout_artifact(&got, &f->f_ro, "production", REPO, SHA1), 0);
    assert_string_equal(got->ar_digest, DIGEST("a"));
    assert_string_equal(got->ar_ref, REF("a"));
    assert_string_equal(got->ar_sha, SHA1);
    assert_string_equal(got->ar_repo, REPO);
    assert_string_equal(got->ar_service, "shop");
    paved_artifact_free(got);
    paved_artifact_free(a1);
}

static void
test_canary_without_analysis(void **state)
{
    struct fx *f = *state;
    struct paved_artifact *a1 = artifact(f, SHA1, DIGEST("a"), REF("a"));
    struct paved_artifact *a2 = artifact(f, SHA2, DIGEST("b"), REF("b"));

    stable_v(f, "v1", a1);
    assert_log(f, "staging deploy v1\nstaging shift v1 100\n"
                  "staging promote v1 stable=\n");
    assert_rows(f, "staging deploy started v1 d=a s=111 r=acme/shop "
                   "a=paved (run 7) #7: ship it\n"
                   "staging deploy ok v1 d=a s=111 r=acme/shop "
                   "a=paved (run 7) #7: first version here: 100% at "
                   "once\n"
                   "staging promote ok v1 d=a s=111 r=acme/shop "
                   "a=paved (run 7) #7: passed its checks\n");

    assert_int_equal(deploy(f, "staging", "v2", a2, true), 0);
    assert_log(f, "staging deploy v2\n"
                  "staging shift v2 50\n"
                  "staging shift v2 100\n");
    assert_state(f, "staging", "stable=v1(a) candidate=v2(b) weight=100");
    assert_rows(f, "staging deploy started v2 d=b s=222 r=acme/shop "
                   "a=paved (run 7) #7: ship it\n"
                   "staging deploy ok v2 d=b s=222 r=acme/shop "
                   "a=paved (run 7) #7: every canary step passed (no "
                   "analysis is defined: advanced on time)\n");
    assert_non_null(strstr(progress(f), "  50%: no analysis defined; "
                                        "advancing on time\n"));
    assert_non_null(strstr(progress(f), "  100%: no analysis defined; "
                                        "advancing on time\n"));

    /* promote stops the old stable: the promote command replaces v1 */
    assert_int_equal(
        paved_rollout_promote(&f->f_ro, "staging", "shop", "by hand"), 0);
    assert_log(f, "staging promote v2 stable=v1\n");
    assert_state(f, "staging", "stable=v2(b) candidate=-(-) weight=0");
    assert_rows(f, "staging promote ok v2 d=b s=222 r=acme/shop "
                   "a=paved (run 7) #7: by hand\n");
    paved_artifact_free(a1);
    paved_artifact_free(a2);
}

/* `paved approve` from elsewhere: its own store on the same data_dir. */
struct approver {
    const char *ap_dir;
    const paved_environment_set *ap_envs;
    int ap_rc;
};

static void *
approver_main(void *arg)
{
    struct approver *ap = arg;
    struct paved_rollout ro;
    paved_store *st = open_store(ap->ap_dir);
    int i;

    memset(&ro, 0, sizeof(ro));
    ro.ro_store = st;
    ro.ro_envs = ap->ap_envs;
    ro.ro_data_dir = ap->ap_dir;
    ro.ro_actor = "alice";
    /* until the run waits: before that, it is "not waiting" */
    ap->ap_rc = PAVED_ENOTFOUND;
    for (i = 0; i < 500 && ap->ap_rc == PAVED_ENOTFOUND; i++) {
        usleep(10000);
        ap->ap_rc = paved_rollout_approve(&ro, 7, "looks good");
    }
    paved_store_close(st);
    return NULL;
}

/* An operator at a terminal: its own store on the same data_dir; rolls
 * back once the canary has reached its first weight. */
struct operator
{
    const char *op_dir, *op_log;
    const paved_environment_set *op_envs;
    int op_rc;
};

static void *
operator_main(void *arg)
{
    struct operator* op = arg;
    struct paved_rollout ro;
    paved_store *st;
    char *log = NULL;
    int i;

    for (i = 0; i < 500; i++) {
        free(log);
        if ((log = slurp(op->op_log)) != NULL &&
            strstr(log, "staging shift v2 50\n") != NULL)
            break;
        usleep(10000);
    }
    free(log);
    st = open_store(op->op_dir);
    memset(&ro, 0, sizeof(ro));
    ro.ro_store = st;
    ro.ro_envs = op->op_envs;
    ro.ro_data_dir = op->op_dir;
    ro.ro_actor = "bob";
    op->op_rc = paved_rollout_rollback(&ro, "staging", "shop", "looks wrong");
    paved_store_close(st);
    return NULL;
}

/* The canary does not hold the lock during its interval: an operator's
 * rollback acts at once, and the canary ends, failed, saying its version
 * is no longer in flight (nothing is shifted after the rollback). */
static void
test_rollback_mid_canary(void **state)
{
    struct fx *f = *state;
    struct paved_artifact *a1 = artifact(f, SHA1, DIGEST("a"), REF("a"));
    struct paved_artifact *a2 = artifact(f, SHA2, DIGEST("b"), REF("b"));
    struct operator op = {f->f_dir, f->f_log, f->f_envs, 1};
    pthread_t th;

    stable_v(f, "v1", a1);
    assert_log(f, "staging deploy v1\nstaging shift v1 100\n"
                  "staging promote v1 stable=\n");
    assert_int_equal(pthread_create(&th, NULL, operator_main, &op), 0);
    assert_error(deploy(f, "staging", "v2", a2, true), PAVED_ERROR,
                 "shop v2 is no longer in flight in staging");
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(op.op_rc, 0);
    assert_log(f, "staging deploy v2\n"
                  "staging shift v2 50\n"
                  "staging rollback v2\n");
    assert_state(f, "staging", "stable=v1(a) candidate=-(-) weight=0");
    paved_artifact_free(a1);
    paved_artifact_free(a2);
}

static void
test_approval(void **state)
{
    struct fx *f = *state;
    struct paved_artifact *a1 = artifact(f, SHA1, DIGEST("a"), REF("a"));
    struct paved_artifact *a2 = artifact(f, SHA2, DIGEST("b"), REF("b"));
    struct approver ap = {f->f_dir, f->f_envs, 1};
    pthread_t th;

    assert_error(paved_rollout_approve(&f->f_ro, 99, NULL), PAVED_ENOTFOUND,
                 "run 99 is not waiting for an approval");
    assert_int_equal(pthread_create(&th, NULL, approver_main, &ap), 0);
    assert_int_equal(deploy(f, "production", "v1", a1, true), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(ap.ap_rc, 0);
    assert_log(f, "production deploy v1\n"
                  "production shift v1 100\n");
    assert_state(f, "production", "stable=-(-) candidate=v1(a) weight=100");
    assert_rows(f, "production deploy waiting v1 d=a s=111 r=acme/shop "
                   "a=paved (run 7) #7: production is protected: waiting "
                   "for `paved approve 7`\n"
                   "production approve ok v1 d=a s=111 r=acme/shop "
                   "a=alice #7: looks good\n"
                   "production deploy started v1 d=a s=111 r=acme/shop "
                   "a=paved (run 7) #7: ship it\n"
                   "production deploy ok v1 d=a s=111 r=acme/shop "
                   "a=paved (run 7) #7: first version here: 100% at once\n");
    assert_non_null(strstr(progress(f), "approved by alice: looks good\n"));

    /* the run waits no more */
    assert_error(paved_rollout_approve(&f->f_ro, 7, NULL), PAVED_ENOTFOUND,
                 "run 7 is not waiting for an approval (its last delivery "
                 "event: deploy)");
    assert_rows(f, "");

    /* from the CLI (no run) the person asking is the approval */
    f->f_ro.ro_run_id = 0;
    f->f_ro.ro_actor = "bob";
    assert_int_equal(deploy(f, "production", "v2", a2, false), 0);
    /* v1, left in flight with no stable version, is kept as the stable
     * one */
    assert_log(f, "production shift v1 100\n"
                  "production promote v1 stable=\n"
                  "production deploy v2\n"
                  "production shift v2 100\n");
    assert_rows(f, "production promote ok v1 d=a s=111 r=acme/shop a=bob "
                   "#0: the only version running, left by an unfinished "
                   "rollout\n"
                   "production deploy started v2 d=b s=222 r=acme/shop "
                   "a=bob #0: ship it\n"
                   "production deploy ok v2 d=b s=222 r=acme/shop a=bob "
                   "#0: no canary: 100% at once\n");
    paved_artifact_free(a1);
    paved_artifact_free(a2);
}

static void
test_rollback_in_flight(void **state)
{
    struct fx *f = *state;
    struct paved_artifact *a1 = artifact(f, SHA1, DIGEST("a"), REF("a"));
    struct paved_artifact *a2 = artifact(f, SHA2, DIGEST("b"), REF("b"));

    stable_v(f, "v1", a1);
    assert_int_equal(deploy(f, "staging", "v2", a2, false), 0);
    assert_log(f, "staging deploy v1\nstaging shift v1 100\n"
                  "staging promote v1 stable=\n"
                  "staging deploy v2\nstaging shift v2 100\n");
    assert_state(f, "staging", "stable=v1(a) candidate=v2(b) weight=100");
    f->f_seen = 5;

    assert_int_equal(
        paved_rollout_rollback(&f->f_ro, "staging", "shop", "too slow"), 0);
    assert_log(f, "staging rollback v2\n");
    assert_state(f, "staging", "stable=v1(a) candidate=-(-) weight=0");
    assert_rows(f, "staging rollback ok v2 d=b s=222 r=- a=paved (run 7) "
                   "#7: too slow\n");
    paved_artifact_free(a1);
    paved_artifact_free(a2);
}

static void
test_rollback_to_previous(void **state)
{
    struct fx *f = *state;
    struct paved_artifact *a1 = artifact(f, SHA1, DIGEST("a"), REF("a"));
    struct paved_artifact *a2 = artifact(f, SHA2, DIGEST("b"), REF("b"));

    stable_v(f, "v1", a1);
    stable_v(f, "v2", a2);
    assert_log(f, "staging deploy v1\nstaging shift v1 100\n"
                  "staging promote v1 stable=\n"
                  "staging deploy v2\nstaging shift v2 100\n"
                  "staging promote v2 stable=v1\n");
    f->f_seen = 6;
    assert_state(f, "staging", "stable=v2(b) candidate=-(-) weight=0");

    /* nothing in flight: v1, promoted before v2, is started again */
    assert_int_equal(
        paved_rollout_rollback(&f->f_ro, "staging", "shop", "broken"), 0);
    assert_log(f, "staging deploy v1\n"
                  "staging shift v1 100\n"
                  "staging promote v1 stable=v2\n");
    assert_state(f, "staging", "stable=v1(a) candidate=-(-) weight=0");
    assert_rows(f, "staging rollback ok v1 d=a s=111 r=acme/shop "
                   "a=paved (run 7) #7: v2 replaced by the version before "
                   "it: broken\n");
    /* a second rollback: nothing was promoted before v1 (v2 is what was
     * rolled back, not an earlier version) */
    assert_error(paved_rollout_rollback(&f->f_ro, "staging", "shop", NULL),
                 PAVED_ENOTFOUND, "no earlier version of shop");
    assert_state(f, "staging", "stable=v1(a) candidate=-(-) weight=0");
    paved_artifact_free(a1);
    paved_artifact_free(a2);
}

static void
test_rollback_nothing(void **state)
{
    struct fx *f = *state;
    struct paved_artifact *a1 = artifact(f, SHA1, DIGEST("a"), REF("a"));

    assert_error(paved_rollout_rollback(&f->f_ro, "staging", "shop", NULL),
                 PAVED_ENOTFOUND, "shop does not run in staging");
    stable_v(f, "v1", a1);
    assert_log(f, "staging deploy v1\nstaging shift v1 100\n"
                  "staging promote v1 stable=\n");
    f->f_seen = 3;
    assert_error(paved_rollout_rollback(&f->f_ro, "staging", "shop", NULL),
                 PAVED_ENOTFOUND,
                 "no earlier version of shop was promoted in staging");
    assert_log(f, "");
    assert_rows(f, "");
    assert_state(f, "staging", "stable=v1(a) candidate=-(-) weight=0");
    paved_artifact_free(a1);
}

static void
test_promote_nothing(void **state)
{
    struct fx *f = *state;
    struct paved_artifact *a1 = artifact(f, SHA1, DIGEST("a"), REF("a"));

    assert_error(paved_rollout_promote(&f->f_ro, "staging", "shop", NULL),
                 PAVED_ENOTFOUND,
                 "nothing to promote: no version of shop is in flight in "
                 "staging (");
    stable_v(f, "v1", a1);
    assert_log(f, "staging deploy v1\nstaging shift v1 100\n"
                  "staging promote v1 stable=\n");
    f->f_seen = 3;
    assert_error(paved_rollout_promote(&f->f_ro, "staging", "shop", NULL),
                 PAVED_ENOTFOUND,
                 "no version of shop is in flight in staging; stable is v1");
    assert_log(f, "");
    assert_rows(f, "");
    paved_artifact_free(a1);
}

static void
test_bad_version(void **state)
{
    struct fx *f = *state;
    struct paved_artifact *a1 = artifact(f, SHA1, DIGEST("a"), REF("a"));

    assert_error(deploy(f, "staging", "v1\"x", a1, false), PAVED_EINVAL,
                 "version \"v1\"x\" cannot be deployed");
    assert_error(deploy(f, "staging", "", a1, false), PAVED_EINVAL,
                 "cannot be deployed");
    /* even where an approval would be waited for: refused first */
    assert_error(deploy(f, "production", "v 1", a1, false), PAVED_EINVAL,
                 "cannot be deployed");
    assert_int_equal(access(f->f_log, F_OK), -1);
    assert_rows(f, "");
    assert_state(f, "staging", "never ran");
    paved_artifact_free(a1);
}

/* A candidate left with no stable version beside it is the only version
 * that serves: the next deploy keeps it as the stable one. */
static void
test_leftover_without_stable(void **state)
{
    struct fx *f = *state;
    struct paved_artifact *a1 = artifact(f, SHA1, DIGEST("a"), REF("a"));
    const struct paved_version v0 = {
        .v_service = "shop",
        .v_version = "v0",
        .v_sha = SHA3,
        .v_kind = "image",
        .v_artifact = REF("c"),
        .v_digest = DIGEST("c"),
    };
    struct paved_driver_opts o;
    paved_driver *d = NULL;
    char dir[256];

    snprintf(dir, sizeof(dir), "%s/environments/staging", f->f_dir);
    memset(&o, 0, sizeof(o));
    o.do_env = paved_environment_set_find(f->f_envs, "staging");
    o.do_state_dir = dir;
    assert_int_equal(paved_driver_open(&d, &o), 0);
    assert_int_equal(paved_driver_start(d, &v0), 0);
    assert_int_equal(paved_driver_route(d, "shop", 100), 0);
    paved_driver_close(d);
    assert_log(f, "staging deploy v0\nstaging shift v0 100\n");

    assert_int_equal(deploy(f, "staging", "v1", a1, false), 0);
    assert_log(f, "staging shift v0 100\n"
                  "staging promote v0 stable=\n"
                  "staging deploy v1\n"
                  "staging shift v1 100\n");
    assert_state(f, "staging", "stable=v0(c) candidate=v1(a) weight=100");
    assert_rows(f, "staging promote ok v0 d=c s=333 r=- a=paved (run 7) #7: "
                   "the only version running, left by an unfinished "
                   "rollout\n"
                   "staging deploy started v1 d=a s=111 r=acme/shop "
                   "a=paved (run 7) #7: ship it\n"
                   "staging deploy ok v1 d=a s=111 r=acme/shop "
                   "a=paved (run 7) #7: no canary: 100% at once\n");
    paved_artifact_free(a1);
}

/* A candidate left beside a stable version: the next deploy rolls it
 * back first. */
static void
test_leftover_beside_stable(void **state)
{
    struct fx *f = *state;
    struct paved_artifact *a1 = artifact(f, SHA1, DIGEST("a"), REF("a"));
    struct paved_artifact *a2 = artifact(f, SHA2, DIGEST("b"), REF("b"));
    struct paved_artifact *a3 = artifact(f, SHA3, DIGEST("c"), REF("c"));

    stable_v(f, "v1", a1);
    assert_int_equal(deploy(f, "staging", "v2", a2, false), 0);
    assert_log(f, "staging deploy v1\nstaging shift v1 100\n"
                  "staging promote v1 stable=\n"
                  "staging deploy v2\nstaging shift v2 100\n");
    f->f_seen = 5;
    assert_int_equal(deploy(f, "staging", "v3", a3, false), 0);
    assert_log(f, "staging rollback v2\n"
                  "staging deploy v3\n"
                  "staging shift v3 100\n");
    assert_state(f, "staging", "stable=v1(a) candidate=v3(c) weight=100");
    assert_rows(f, "staging rollback ok v2 d=b s=222 r=- a=paved (run 7) "
                   "#7: an unfinished rollout was rolled back before a new "
                   "one\n"
                   "staging deploy started v3 d=c s=333 r=acme/shop "
                   "a=paved (run 7) #7: ship it\n"
                   "staging deploy ok v3 d=c s=333 r=acme/shop "
                   "a=paved (run 7) #7: no canary: 100% at once\n");
    paved_artifact_free(a1);
    paved_artifact_free(a2);
    paved_artifact_free(a3);
}

static void
test_recover(void **state)
{
    struct fx *f = *state;
    struct paved_artifact *a1 = artifact(f, SHA1, DIGEST("a"), REF("a"));
    struct paved_artifact *a2 = artifact(f, SHA2, DIGEST("b"), REF("b"));
    bool changed = false;

    stable_v(f, "v1", a1);
    assert_int_equal(deploy(f, "staging", "v2", a2, false), 0);
    assert_log(f, "staging deploy v1\nstaging shift v1 100\n"
                  "staging promote v1 stable=\n"
                  "staging deploy v2\nstaging shift v2 100\n");
    f->f_seen = 5;
    assert_state(f, "staging", "stable=v1(a) candidate=v2(b) weight=100");

    /* paved was killed before the promote step */
    f->f_ro.ro_actor = "paved";
    f->f_ro.ro_run_id = 0;
    assert_int_equal(paved_rollout_recover(&f->f_ro, &changed), 0);
    assert_true(changed);
    assert_log(f, "staging rollback v2\n");
    assert_state(f, "staging", "stable=v1(a) candidate=-(-) weight=0");
    assert_rows(f, "staging rollback ok v2 d=b s=222 r=- a=paved #0: "
                   "paved stopped during the rollout; the interrupted run "
                   "is requeued and starts it again\n");
    assert_state(f, "production", "never ran");

    /* nothing left to do */
    assert_int_equal(paved_rollout_recover(&f->f_ro, &changed), 0);
    assert_false(changed);
    assert_log(f, "");
    assert_rows(f, "");
    paved_artifact_free(a1);
    paved_artifact_free(a2);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_first_deploy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_artifact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_canary_without_analysis, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_approval, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollback_mid_canary, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rollback_in_flight, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rollback_to_previous, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rollback_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_promote_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leftover_without_stable, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_leftover_beside_stable, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_recover, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
