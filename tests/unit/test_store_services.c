/* The service catalog against a real SQLite file: add is durable when it
 * returns and refuses a taken name, reads come back in name order, a
 * template upgrade is recorded, everything survives a reopen and a second
 * store on the same file (the CLI beside a running daemon), a version 4
 * database is upgraded with its data kept, and the run reads the catalog's
 * views make pick the right rows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "paved/error.h"
#include "paved/store.h"

struct fixture {
    char f_dir[64];
    paved_store *f_st;
    struct paved_store_plan *f_plan;
    int f_done;
};

static paved_store *
open_store(const char *dir)
{
    struct paved_store_opts so;
    paved_store *st = NULL;

    memset(&so, 0, sizeof(so));
    so.so_spec = "sqlite";
    so.so_data_dir = dir;
    if (paved_store_open(&st, &so) < 0)
        fail_msg("open: %s", paved_error_last());
    return st;
}

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    snprintf(f->f_dir, sizeof(f->f_dir), "/tmp/paved-svc-XXXXXX");
    assert_non_null(mkdtemp(f->f_dir));
    f->f_st = open_store(f->f_dir);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[128];

    paved_store_plan_free(f->f_plan);
    paved_store_close(f->f_st);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->f_dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static struct paved_service
svc(const char *name, const char *type, const char *lang)
{
    struct paved_service s;

    memset(&s, 0, sizeof(s));
    s.sv_name = (char *)name;
    s.sv_type = (char *)type;
    s.sv_lang = (char *)lang;
    s.sv_owner = (char *)"payments";
    s.sv_repo = (char *)"acme/checkout";
    s.sv_url = (char *)"/srv/git/checkout.git";
    s.sv_db = 1;
    s.sv_template_version = 1;
    return s;
}

static int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
test_add_get_list(void **state)
{
    struct fixture *f = *state;
    struct paved_service a = svc("orders", "worker", "python");
    struct paved_service b = svc("checkout", "api", "go");
    struct paved_service *got = NULL, **list = NULL;
    int64_t before = now_ms();
    size_t n = 0;

    a.sv_owner = NULL; /* optional fields stay NULL */
    a.sv_repo = NULL;
    a.sv_db = 0;
    a.sv_queue = 1;
    a.sv_created_ms = 1764219662000LL; /* given: kept */
    assert_int_equal(paved_store_service_add(f->f_st, &a), 0);
    assert_int_equal(paved_store_service_add(f->f_st, &b), 0);

    /* durable and readable on the reader connection at once */
    assert_int_equal(paved_store_service_get(&got, f->f_st, "checkout"), 0);
    assert_string_equal(got->sv_name, "checkout");
    assert_string_equal(got->sv_type, "api");
    assert_string_equal(got->sv_lang, "go");
    assert_string_equal(got->sv_owner, "payments");
    assert_string_equal(got->sv_repo, "acme/checkout");
    assert_string_equal(got->sv_url, "/srv/git/checkout.git");
    assert_int_equal(got->sv_db, 1);
    assert_int_equal(got->sv_queue, 0);
    assert_int_equal(got->sv_template_version, 1);
    /* 0 means now */
    assert_true(got->sv_created_ms >= before);
    assert_true(got->sv_created_ms <= now_ms());
    assert_int_equal(got->sv_updated_ms, got->sv_created_ms);
    paved_service_free(got);

    assert_int_equal(paved_store_service_list(&list, &n, f->f_st), 0);
    assert_int_equal(n, 2);
    assert_string_equal(list[0]->sv_name, "checkout"); /* by name */
    assert_string_equal(list[1]->sv_name, "orders");
    assert_null(list[1]->sv_owner);
    assert_null(list[1]->sv_repo);
    assert_int_equal(list[1]->sv_queue, 1);
    assert_int_equal(list[1]->sv_created_ms, 1764219662000LL);
    paved_service_list_free(list, n);

    assert_int_equal(paved_store_service_get(&got, f->f_st, "nope"),
                     PAVED_ENOTFOUND);
    assert_null(got);
    assert_non_null(strstr(paved_error_last(), "nope"));
}

static void
test_empty_list(void **state)
{
    struct fixture *f = *state;
    struct paved_service **list = NULL;
    size_t n = 7;

    assert_int_equal(paved_store_service_list(&list, &n, f->f_st), 0);
    assert_int_equal(n, 0);
    paved_service_list_free(list, n);
}

static void
test_duplicate_refused(void **state)
{
    struct fixture *f = *state;
    struct paved_service a = svc("checkout", "api", "go");
    struct paved_service b = svc("checkout", "cron", "typescript");
    struct paved_service *got = NULL;

    assert_int_equal(paved_store_service_add(f->f_st, &a), 0);
    assert_int_equal(paved_store_service_add(f->f_st, &b), PAVED_EEXISTS);
    assert_non_null(strstr(paved_error_last(), "\"checkout\""));
    /* the first one is untouched */
    assert_int_equal(paved_store_service_get(&got, f->f_st, "checkout"), 0);
    assert_string_equal(got->sv_type, "api");
    assert_string_equal(got->sv_lang, "go");
    paved_service_free(got);
    /* and the writer goes on working after the refusal */
    b.sv_name = (char *)"billing";
    assert_int_equal(paved_store_service_add(f->f_st, &b), 0);
}

static void
test_invalid(void **state)
{
    struct fixture *f = *state;
    struct paved_service a = svc("", "api", "go");
    struct paved_service **list = NULL;
    size_t n = 0;

    assert_int_equal(paved_store_service_add(f->f_st, &a), PAVED_EINVAL);
    a.sv_name = (char *)"x";
    a.sv_lang = NULL;
    assert_int_equal(paved_store_service_add(f->f_st, &a), PAVED_EINVAL);
    assert_int_equal(paved_store_service_list(&list, &n, f->f_st), 0);
    assert_int_equal(n, 0);
    paved_service_list_free(list, n);
}

static void
test_set_template(void **state)
{
    struct fixture *f = *state;
    struct paved_service a = svc("checkout", "api", "go");
    struct paved_service *got = NULL;

    a.sv_created_ms = a.sv_updated_ms = 1000;
    assert_int_equal(paved_store_service_add(f->f_st, &a), 0);
    assert_int_equal(paved_store_service_set_template(f->f_st, "checkout", 3),
                     0);
    assert_int_equal(paved_store_service_get(&got, f->f_st, "checkout"), 0);
    assert_int_equal(got->sv_template_version, 3);
    assert_int_equal(got->sv_created_ms, 1000);
    assert_true(got->sv_updated_ms > 1000); /* the upgrade's time */
    paved_service_free(got);
    assert_int_equal(paved_store_service_set_template(f->f_st, "missing", 3),
                     PAVED_ENOTFOUND);
    assert_non_null(strstr(paved_error_last(), "missing"));
}

static void
test_reopen_persists(void **state)
{
    struct fixture *f = *state;
    struct paved_service a = svc("checkout", "api", "go");
    struct paved_service *got = NULL;

    assert_int_equal(paved_store_service_add(f->f_st, &a), 0);
    assert_int_equal(paved_store_service_set_template(f->f_st, "checkout", 2),
                     0);
    paved_store_close(f->f_st);
    f->f_st = open_store(f->f_dir);
    assert_int_equal(paved_store_service_get(&got, f->f_st, "checkout"), 0);
    assert_string_equal(got->sv_owner, "payments");
    assert_int_equal(got->sv_template_version, 2);
    paved_service_free(got);
}

/* The CLI opens the store while the daemon has it open: its add is seen
 * by the daemon's reader, and a name taken through either is taken. */
static void
test_second_store(void **state)
{
    struct fixture *f = *state;
    struct paved_service a = svc("checkout", "api", "go");
    struct paved_service *got = NULL;
    paved_store *cli = open_store(f->f_dir);

    assert_int_equal(paved_store_service_add(cli, &a), 0);
    assert_int_equal(paved_store_service_get(&got, f->f_st, "checkout"), 0);
    assert_string_equal(got->sv_lang, "go");
    paved_service_free(got);
    assert_int_equal(paved_store_service_add(f->f_st, &a), PAVED_EEXISTS);
    paved_store_close(cli);
}

/* ---- runs, for status and platform ------------------------------------ */

static void
on_plan(struct paved_store_plan *plan, void *arg)
{
    struct fixture *f = arg;

    paved_store_plan_free(f->f_plan);
    f->f_plan = plan;
    f->f_done++;
}

static void
wait_done(struct fixture *f, int want)
{
    struct pollfd pfd;

    while (f->f_done < want) {
        pfd.fd = paved_store_notify_fd(f->f_st);
        pfd.events = POLLIN;
        assert_true(poll(&pfd, 1, 10000) > 0);
        paved_store_complete(f->f_st);
    }
}

/* Inserts one run (no delivery) in state `state`, created at created_ms;
 * returns its id. */
static int64_t
add_run(struct fixture *f, const char *repo, const char *sha, const char *env,
        enum paved_run_state state, int64_t created_ms)
{
    struct paved_store_plan *p = calloc(1, sizeof(*p));
    struct paved_run *r = calloc(1, sizeof(*r));
    int64_t id;

    r->ru_pipeline = strdup("service");
    r->ru_repo = strdup(repo);
    r->ru_ref = strdup(env != NULL && strcmp(env, "production") == 0
                           ? "refs/tags/v1.2.0"
                           : "refs/heads/main");
    r->ru_sha = strdup(sha);
    r->ru_kind = strdup(env != NULL ? "push" : "pull_request");
    r->ru_env = env != NULL ? strdup(env) : NULL;
    r->ru_group = strdup("g");
    r->ru_event_json = strdup("{}");
    r->ru_state = PAVED_RUN_QUEUED;
    r->ru_attempt = 1;
    r->ru_created_ms = created_ms;
    p->pp_force = 1;
    p->pp_runs = calloc(1, sizeof(*p->pp_runs));
    p->pp_runs[p->pp_nruns++] = r;
    assert_int_equal(paved_store_plan(f->f_st, p, on_plan, f), 0);
    wait_done(f, f->f_done + 1);
    assert_int_equal(f->f_plan->pp_result, 0);
    id = f->f_plan->pp_runs[0]->ru_id;
    assert_true(id > 0);
    if (state != PAVED_RUN_QUEUED) {
        struct paved_run *saved = f->f_plan->pp_runs[0];
        saved->ru_id = id;
        saved->ru_state = state;
        saved->ru_finished_ms = created_ms + 1000;
        assert_int_equal(
            paved_store_run_save_report(f->f_st, saved, NULL, 0, NULL, NULL),
            0);
    }
    return id;
}

/* saves have no callback of their own: a plan after them is a barrier */
static void
sync_writer(struct fixture *f)
{
    add_run(f, "other/barrier", "ffff", NULL, PAVED_RUN_QUEUED, 10000);
}

static void
test_run_latest(void **state)
{
    struct fixture *f = *state;
    struct paved_run *r = NULL;
    int64_t ok1, ok2, bad, pr, prod;

    ok1 =
        add_run(f, "acme/checkout", "aaaa", "staging", PAVED_RUN_SUCCESS, 1000);
    ok2 =
        add_run(f, "acme/checkout", "bbbb", "staging", PAVED_RUN_SUCCESS, 2000);
    bad =
        add_run(f, "acme/checkout", "cccc", "staging", PAVED_RUN_FAILURE, 3000);
    pr = add_run(f, "acme/checkout", "dddd", NULL, PAVED_RUN_RUNNING, 4000);
    prod = add_run(f, "acme/checkout", "eeee", "production", PAVED_RUN_SUCCESS,
                   5000);
    add_run(f, "acme/other", "9999", "staging", PAVED_RUN_SUCCESS, 6000);
    sync_writer(f);
    (void)ok1;

    assert_int_equal(
        paved_store_run_latest(&r, f->f_st, "acme/checkout", "staging", 0), 0);
    assert_int_equal(r->ru_id, bad);
    assert_int_equal(r->ru_state, PAVED_RUN_FAILURE);
    assert_string_equal(r->ru_sha, "cccc");
    paved_run_free(r);
    assert_int_equal(
        paved_store_run_latest(&r, f->f_st, "acme/checkout", "staging", 1), 0);
    assert_int_equal(r->ru_id, ok2);
    assert_int_equal(r->ru_finished_ms, 3000);
    paved_run_free(r);
    assert_int_equal(
        paved_store_run_latest(&r, f->f_st, "acme/checkout", NULL, 0), 0);
    assert_int_equal(r->ru_id, pr);
    assert_null(r->ru_env);
    paved_run_free(r);
    assert_int_equal(
        paved_store_run_latest(&r, f->f_st, "acme/checkout", NULL, 1),
        PAVED_ENOTFOUND);
    assert_null(r);
    assert_int_equal(
        paved_store_run_latest(&r, f->f_st, "acme/checkout", "production", 1),
        0);
    assert_int_equal(r->ru_id, prod);
    assert_string_equal(r->ru_ref, "refs/tags/v1.2.0");
    paved_run_free(r);
    assert_int_equal(
        paved_store_run_latest(&r, f->f_st, "acme/none", "staging", 0),
        PAVED_ENOTFOUND);
}

static void
test_run_counts(void **state)
{
    struct fixture *f = *state;
    int64_t runs = -1, failures = -1;

    assert_int_equal(paved_store_run_counts(&runs, &failures, f->f_st, 0), 0);
    assert_int_equal(runs, 0);
    assert_int_equal(failures, 0);
    add_run(f, "a/b", "1111", "staging", PAVED_RUN_FAILURE, 100); /* old */
    add_run(f, "a/b", "2222", "staging", PAVED_RUN_SUCCESS, 5000);
    add_run(f, "a/b", "3333", "staging", PAVED_RUN_FAILURE, 6000);
    add_run(f, "a/b", "4444", "staging", PAVED_RUN_ERROR, 7000);
    add_run(f, "a/b", "5555", "staging", PAVED_RUN_CANCELLED, 8000);
    add_run(f, "a/b", "6666", NULL, PAVED_RUN_RUNNING, 9000);
    sync_writer(f); /* one more, queued, created at 10000 */
    assert_int_equal(paved_store_run_counts(&runs, &failures, f->f_st, 5000),
                     0);
    assert_int_equal(runs, 6);
    assert_int_equal(failures, 2);
    assert_int_equal(paved_store_run_counts(&runs, &failures, f->f_st, 6500),
                     0);
    assert_int_equal(runs, 4);
    assert_int_equal(failures, 1);
    assert_int_equal(paved_store_run_counts(&runs, &failures, f->f_st, 20000),
                     0);
    assert_int_equal(runs, 0);
    assert_int_equal(paved_store_run_counts(&runs, &failures, f->f_st, 0), 0);
    assert_int_equal(runs, 7);
    assert_int_equal(failures, 3);
}

/* ---- schema upgrade ----------------------------------------------------
 * A version 4 database is a version 5 one without the catalog's table:
 * made by taking it away again, with data in it. */
static void
exec_sql(sqlite3 *db, const char *sql)
{
    char *err = NULL;

    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s: %s", sql, err);
}

static int
int_query(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int v = -1;

    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void
test_upgrade_from_v4(void **state)
{
    struct fixture *f = *state;
    struct paved_service a = svc("checkout", "api", "go");
    struct paved_service *got = NULL;
    struct paved_run *r = NULL;
    char path[128];
    sqlite3 *db = NULL;
    int64_t id;

    id =
        add_run(f, "acme/checkout", "abcd", "staging", PAVED_RUN_SUCCESS, 4242);
    sync_writer(f);
    paved_store_close(f->f_st);
    f->f_st = NULL;

    snprintf(path, sizeof(path), "%s/paved.db", f->f_dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(int_query(db, "PRAGMA user_version"), 6);
    exec_sql(db, "DROP TABLE services; PRAGMA user_version = 4;");
    assert_int_equal(int_query(db, "SELECT count(*) FROM sqlite_master"
                                   " WHERE name = 'services'"),
                     0);
    sqlite3_close(db);

    f->f_st = open_store(f->f_dir);
    /* the old rows are there and the new table works */
    assert_int_equal(paved_store_run_get(&r, f->f_st, id), 0);
    assert_string_equal(r->ru_sha, "abcd");
    assert_int_equal(r->ru_state, PAVED_RUN_SUCCESS);
    paved_run_free(r);
    assert_int_equal(paved_store_service_add(f->f_st, &a), 0);
    assert_int_equal(paved_store_service_get(&got, f->f_st, "checkout"), 0);
    paved_service_free(got);
    assert_int_equal(
        paved_store_run_latest(&r, f->f_st, "acme/checkout", "staging", 1), 0);
    assert_int_equal(r->ru_id, id);
    paved_run_free(r);

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(int_query(db, "PRAGMA user_version"), 6);
    assert_int_equal(int_query(db, "SELECT count(*) FROM sqlite_master"
                                   " WHERE name = 'services'"),
                     1);
    sqlite3_close(db);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_add_get_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_template, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_persists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_latest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_from_v4, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
