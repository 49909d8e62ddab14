/* Unit tests for the exec deploy driver with REAL commands: /bin/sh
 * scripts given as argument vectors append each argument they receive to
 * a log, so the tests see exactly what arrived: placeholders filled in
 * inside their own argument, never re-split, spaces, quotes and $ intact;
 * the PAVED_* variables; the phases in order and the state after each.
 * Also a failing command (exit status and output in the error, all of the
 * output in progress), a timeout that kills the command and what it
 * started, a missing program, a dry run that runs nothing, and route
 * without exec.shift. */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "paved/driver.h"
#include "paved/environment.h"
#include "paved/error.h"

struct fx {
    char f_dir[64];    /* temporary directory */
    char f_state[128]; /* the driver's state directory */
    char f_log[128];   /* what the commands append to */
    paved_environment *f_env;
    paved_driver *f_drv;
    char *f_prog; /* progress text */
    size_t f_proglen;
    FILE *f_progress;
};

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    snprintf(f->f_dir, sizeof(f->f_dir), "/tmp/paved-exec-XXXXXX");
    assert_non_null(mkdtemp(f->f_dir));
    snprintf(f->f_state, sizeof(f->f_state), "%s/env", f->f_dir);
    snprintf(f->f_log, sizeof(f->f_log), "%s/log", f->f_dir);
    f->f_progress = open_memstream(&f->f_prog, &f->f_proglen);
    assert_non_null(f->f_progress);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;

    paved_driver_close(f->f_drv);
    paved_environment_free(f->f_env);
    fclose(f->f_progress);
    free(f->f_prog);
    nftw(f->f_dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* The environment from YAML where LOG stands for the log's path. */
static void
open_env(struct fx *f, const char *yaml, bool dry_run)
{
    char text[4096], *p;
    const char *q = yaml;
    struct paved_driver_opts o;
    size_t n = 0;
    int error;

    while ((p = strstr(q, "LOG")) != NULL) {
        n += (size_t)snprintf(text + n, sizeof(text) - n, "%.*s%s",
                              (int)(p - q), q, f->f_log);
        q = p + 3;
    }
    snprintf(text + n, sizeof(text) - n, "%s", q);
    error = paved_environment_parse(&f->f_env, NULL, "staging.yaml", text,
                                    strlen(text));
    if (error < 0)
        fail_msg("environment: %s", paved_error_last());
    memset(&o, 0, sizeof(o));
    o.do_env = f->f_env;
    o.do_state_dir = f->f_state;
    o.do_progress = f->f_progress;
    o.do_dry_run = dry_run;
    error = paved_driver_open(&f->f_drv, &o);
    if (error < 0)
        fail_msg("open: %s", paved_error_last());
}

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

static void
assert_log(struct fx *f, const char *want)
{
    char *got = slurp(f->f_log);

    assert_string_equal(got, want);
    free(got);
}

static const char *
progress(struct fx *f)
{
    fflush(f->f_progress);
    return f->f_prog;
}

/* Each phase logs its name and every argument in brackets, one a line;
 * shift also the PAVED_* variables it got. */
#define PHASE(name, args)                                                      \
    "  " name ": [/bin/sh, -c, 'printf \"" name "[%s]\\n\" \"$@\" >> "         \
    "\"$0\"', LOG, " args "]\n"

static const char env_full[] =
    "name: staging\n"
    "driver: exec\n"
    "exec:\n" PHASE("deploy", "'{{service}}', '{{version}}', "
                              "'a={{artifact}}', '{{environment}}', "
                              "'{{version}}/{{service}}'")
        PHASE("shift",
              "'{{weight}}', '{{version}}'") "  promote: [/bin/sh, -c, 'printf "
                                             "\"promote[%s]\\n\" "
                                             "\"$PAVED_VERSION\" "
                                             "\"$PAVED_WEIGHT\" "
                                             "\"$PAVED_STABLE_VERSION\" "
                                             ">> \"$0\"', LOG]\n" PHASE(
                                                 "rollback",
                                                 "'{{version}}'") "canary:\n"
                                                                  "  weights: "
                                                                  "[10, 100]\n";

/* A version whose label and artifact hold what a shell would split or
 * expand: the commands must receive them byte for byte. */
static const struct paved_version v1 = {
    .v_service = "checkout",
    .v_version = "v1.0.0",
    .v_sha = "0123abc0123abc0123abc0123abc0123abc0123",
    .v_kind = "directory",
    .v_artifact = "/data/artifacts/sha256-aa",
    .v_digest = "sha256:aa",
};
static const struct paved_version v2 = {
    .v_service = "checkout",
    .v_version = "v2 \"quoted\" 'single' $HOME `id` *",
    .v_sha = NULL,
    .v_kind = "directory",
    .v_artifact = "/dir with spaces/it's here;rm -rf x",
    .v_digest = "sha256:bb",
};

static void
test_phases_and_arguments(void **state)
{
    struct fx *f = *state;
    struct paved_driver_state ds;

    open_env(f, env_full, false);
    /* a first deploy: start, route(100), promote */
    assert_int_equal(paved_driver_start(f->f_drv, &v1), 0);
    assert_int_equal(paved_driver_route(f->f_drv, "checkout", 100), 0);
    assert_int_equal(paved_driver_promote(f->f_drv, "checkout"), 0);
    /* a canary that is rolled back */
    assert_int_equal(paved_driver_start(f->f_drv, &v2), 0);
    assert_int_equal(paved_driver_route(f->f_drv, "checkout", 10), 0);
    assert_int_equal(paved_driver_state(&ds, f->f_drv, "checkout"), 0);
    assert_string_equal(ds.ds_stable_version, "v1.0.0");
    assert_string_equal(ds.ds_candidate_version, v2.v_version);
    assert_string_equal(ds.ds_candidate_artifact, v2.v_artifact);
    assert_int_equal(ds.ds_weight, 10);
    paved_driver_state_dispose(&ds);
    assert_int_equal(paved_driver_abort(f->f_drv, "checkout"), 0);
    assert_log(f, "deploy[checkout]\n"
                  "deploy[v1.0.0]\n"
                  "deploy[a=/data/artifacts/sha256-aa]\n"
                  "deploy[staging]\n"
                  "deploy[v1.0.0/checkout]\n"
                  "shift[100]\n"
                  "shift[v1.0.0]\n"
                  "promote[v1.0.0]\n"
                  "promote[100]\n"
                  "promote[]\n"
                  "deploy[checkout]\n"
                  "deploy[v2 \"quoted\" 'single' $HOME `id` *]\n"
                  "deploy[a=/dir with spaces/it's here;rm -rf x]\n"
                  "deploy[staging]\n"
                  "deploy[v2 \"quoted\" 'single' $HOME `id` */checkout]\n"
                  "shift[10]\n"
                  "shift[v2 \"quoted\" 'single' $HOME `id` *]\n"
                  "rollback[v2 \"quoted\" 'single' $HOME `id` *]\n");
    assert_int_equal(paved_driver_state(&ds, f->f_drv, "checkout"), 0);
    assert_string_equal(ds.ds_stable_version, "v1.0.0");
    assert_null(ds.ds_candidate_version);
    assert_int_equal(ds.ds_weight, 0);
    paved_driver_state_dispose(&ds);
    /* the transcript quotes what a shell would split */
    assert_non_null(strstr(progress(f), "+ /bin/sh -c 'printf \"deploy[%s]\\n"
                                        "\" \"$@\" >> \"$0\"' "));
    assert_non_null(strstr(progress(f), " checkout 'v2 \"quoted\" "
                                        "'\\''single'\\'' $HOME `id` *' "));
    /* nothing left to roll back */
    assert_int_equal(paved_driver_abort(f->f_drv, "checkout"), 0);
    assert_non_null(strstr(progress(f), "nothing to roll back"));
}

/* The promote command sees the version it promotes and the stable one
 * it replaces in its environment. */
static void
test_variables(void **state)
{
    struct fx *f = *state;
    char *log;

    open_env(f, env_full, false);
    assert_int_equal(paved_driver_start(f->f_drv, &v1), 0);
    assert_int_equal(paved_driver_route(f->f_drv, "checkout", 100), 0);
    assert_int_equal(paved_driver_promote(f->f_drv, "checkout"), 0);
    assert_int_equal(paved_driver_start(f->f_drv, &v2), 0);
    assert_int_equal(paved_driver_route(f->f_drv, "checkout", 100), 0);
    assert_int_equal(paved_driver_promote(f->f_drv, "checkout"), 0);
    log = slurp(f->f_log);
    assert_non_null(strstr(log, "promote[v2 \"quoted\" 'single' $HOME `id` "
                                "*]\npromote[100]\npromote[v1.0.0]\n"));
    free(log);
}

/* A candidate left by an earlier attempt is rolled back before the new
 * one is deployed. */
static void
test_leftover_candidate(void **state)
{
    struct fx *f = *state;
    struct paved_version v3 = v1;

    open_env(f, env_full, false);
    v3.v_version = "v3";
    assert_int_equal(paved_driver_start(f->f_drv, &v1), 0);
    assert_int_equal(paved_driver_start(f->f_drv, &v3), 0);
    assert_log(f, "deploy[checkout]\ndeploy[v1.0.0]\n"
                  "deploy[a=/data/artifacts/sha256-aa]\n"
                  "deploy[staging]\ndeploy[v1.0.0/checkout]\n"
                  "rollback[v1.0.0]\n"
                  "deploy[checkout]\ndeploy[v3]\n"
                  "deploy[a=/data/artifacts/sha256-aa]\n"
                  "deploy[staging]\ndeploy[v3/checkout]\n");
}

static void
test_failure(void **state)
{
    struct fx *f = *state;
    struct paved_driver_state ds;
    const char *msg;

    open_env(f,
             "name: staging\ndriver: exec\nexec:\n"
             "  deploy: [/bin/sh, -c, 'echo first line; echo out-text; "
             "echo \"err text\" >&2; exit 3']\n"
             "  rollback: [/bin/true]\n",
             false);
    assert_int_equal(paved_driver_start(f->f_drv, &v1), PAVED_ERROR);
    msg = paved_error_last();
    assert_non_null(strstr(msg, "exec deploy: `/bin/sh -c "));
    assert_non_null(strstr(msg, "` exit status 3: err text"));
    assert_non_null(strstr(progress(f), "  stdout| first line\n"
                                        "  stdout| out-text\n"
                                        "  stderr| err text\n"));
    /* the half-done deploy is known: abort rolls it back */
    assert_int_equal(paved_driver_state(&ds, f->f_drv, "checkout"), 0);
    assert_string_equal(ds.ds_candidate_version, "v1.0.0");
    paved_driver_state_dispose(&ds);
    assert_int_equal(paved_driver_abort(f->f_drv, "checkout"), 0);
    assert_int_equal(paved_driver_state(&ds, f->f_drv, "checkout"), 0);
    assert_null(ds.ds_candidate_version);
    paved_driver_state_dispose(&ds);
}

/* Only stdout when stderr is empty; a signal is named as one. */
static void
test_failure_stdout_signal(void **state)
{
    struct fx *f = *state;

    open_env(f,
             "name: staging\ndriver: exec\nexec:\n"
             "  deploy: [/bin/sh, -c, 'echo only stdout; exit 1']\n"
             "  rollback: [/bin/sh, -c, 'kill -TERM $$']\n",
             false);
    assert_int_equal(paved_driver_start(f->f_drv, &v1), PAVED_ERROR);
    assert_non_null(strstr(paved_error_last(), "exit status 1: only stdout"));
    assert_int_equal(paved_driver_abort(f->f_drv, "checkout"), PAVED_ERROR);
    assert_non_null(strstr(paved_error_last(), "exec rollback: `/bin/sh -c "
                                               "'kill -TERM $$'` killed by "
                                               "signal 15: no output"));
}

static bool
process_gone(pid_t pid)
{
    char path[64], *st, *p;
    bool gone;

    /* a killed orphan may linger as a zombie where nothing reaps */
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (access(path, F_OK) < 0)
        return true;
    st = slurp(path);
    p = strrchr(st, ')');
    gone = p != NULL && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
    free(st);
    return gone;
}

static void
test_timeout(void **state)
{
    struct fx *f = *state;
    struct timespec t0, t1;
    char *pids;
    long parent, child;
    int i;

    /* the script starts a background sleep that holds the pipes too */
    open_env(f,
             "name: staging\ndriver: exec\nexec:\n"
             "  deploy: [/bin/sh, -c, 'sleep 30 & echo $$ $! > \"$0\"; "
             "echo started; wait', LOG]\n"
             "  rollback: [/bin/true]\n"
             "  timeout: 1s\n",
             false);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(paved_driver_start(f->f_drv, &v1), PAVED_ERROR);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_non_null(strstr(paved_error_last(),
                           "` timed out after 1s and was killed: started"));
    assert_true(t1.tv_sec - t0.tv_sec < 10);
    pids = slurp(f->f_log);
    assert_int_equal(sscanf(pids, "%ld %ld", &parent, &child), 2);
    free(pids);
    /* the whole process group is killed, the background sleep too */
    for (i = 0; i < 50 && !process_gone((pid_t)child); i++)
        usleep(20000);
    assert_true(process_gone((pid_t)parent));
    assert_true(process_gone((pid_t)child));
}

static void
test_missing_program(void **state)
{
    struct fx *f = *state;

    open_env(f,
             "name: staging\ndriver: exec\nexec:\n"
             "  deploy: [/nonexistent/deploy.sh, '{{version}}']\n"
             "  rollback: [paved-no-such-program-here]\n",
             false);
    assert_int_equal(paved_driver_start(f->f_drv, &v1), PAVED_EUNAVAILABLE);
    assert_string_equal(paved_error_last(),
                        "exec deploy: /nonexistent/deploy.sh not found: no "
                        "such executable");
    assert_int_equal(paved_driver_abort(f->f_drv, "checkout"),
                     PAVED_EUNAVAILABLE);
    assert_string_equal(paved_error_last(),
                        "exec rollback: paved-no-such-program-here not "
                        "found: no such executable in PATH");
}

/* Without exec.shift only route(100) can be done (at promote). */
static void
test_no_shift(void **state)
{
    struct fx *f = *state;
    struct paved_driver_state ds;

    open_env(f,
             "name: staging\ndriver: exec\nexec:\n"
             "  deploy: [/bin/true]\n"
             "  rollback: [/bin/true]\n",
             false);
    assert_int_equal(paved_driver_route(f->f_drv, "checkout", 100),
                     PAVED_EINVAL); /* no candidate yet */
    assert_int_equal(paved_driver_start(f->f_drv, &v1), 0);
    assert_int_equal(paved_driver_route(f->f_drv, "checkout", 25),
                     PAVED_EUSAGE);
    assert_non_null(strstr(paved_error_last(), "exec.shift is not set"));
    assert_int_equal(paved_driver_route(f->f_drv, "checkout", 100), 0);
    assert_int_equal(paved_driver_promote(f->f_drv, "checkout"), 0);
    assert_int_equal(paved_driver_state(&ds, f->f_drv, "checkout"), 0);
    assert_string_equal(ds.ds_stable_version, "v1.0.0");
    paved_driver_state_dispose(&ds);
    assert_non_null(strstr(progress(f), "no exec.promote: v1.0.0 is stable "
                                        "now"));
}

static void
test_dry_run(void **state)
{
    struct fx *f = *state;
    bool changed = true;

    open_env(f, env_full, true);
    assert_int_equal(paved_driver_start(f->f_drv, &v2), 0);
    assert_int_equal(paved_driver_route(f->f_drv, "checkout", 10), 0);
    assert_int_equal(paved_driver_abort(f->f_drv, "checkout"), 0);
    assert_int_equal(paved_driver_reconcile(f->f_drv, &changed), 0);
    assert_false(changed);
    assert_int_equal(access(f->f_log, F_OK), -1); /* nothing ran */
    assert_non_null(strstr(progress(f), "+ /bin/sh -c 'printf \"shift[%s]"
                                        "\\n\" \"$@\" >> \"$0\"' "));
    assert_non_null(strstr(progress(f), " 10 'v2 \"quoted\" '\\''single'"
                                        "\\'' $HOME `id` *'\n"));
    assert_non_null(strstr(progress(f), "nothing to check"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_phases_and_arguments, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_variables, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leftover_candidate, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failure_stdout_signal, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_program, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_shift, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dry_run, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
