/* Progressive delivery's records against a real SQLite file: an artifact
 * per (repo, sha) that a rebuild replaces in place, the audit log that
 * only grows and is read newest first through every filter, the checks a
 * record passes before it is written, reopen and a second store on the
 * same file, a version 5 database upgraded to 6 with its data kept, and
 * `paved history` printing it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "cli/cli.h"
#include "paved/error.h"
#include "paved/store.h"

#define SHA_A "0123456789abcdef0123456789abcdef01234567"
#define SHA_B "89abcdef0123456789abcdef0123456789abcdef"
#define DIGEST_A                                                               \
    "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define DIGEST_B                                                               \
    "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

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
    snprintf(f->f_dir, sizeof(f->f_dir), "/tmp/paved-dlv-XXXXXX");
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

static int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct paved_artifact
artifact(const char *sha, const char *digest)
{
    struct paved_artifact a;

    memset(&a, 0, sizeof(a));
    a.ar_repo = (char *)"acme/checkout";
    a.ar_sha = (char *)sha;
    a.ar_service = (char *)"checkout";
    a.ar_kind = (char *)"image";
    a.ar_ref = (char *)"127.0.0.1:5000/checkout@sha256:aaaa";
    a.ar_digest = (char *)digest;
    a.ar_run_id = 7;
    return a;
}

static struct paved_deploy_rec
rec(const char *service, const char *env, const char *action,
    const char *result)
{
    struct paved_deploy_rec r;

    memset(&r, 0, sizeof(r));
    r.dr_service = (char *)service;
    r.dr_env = (char *)env;
    r.dr_action = (char *)action;
    r.dr_result = (char *)result;
    return r;
}

/* ---- artifacts ---------------------------------------------------------- */

static void
test_artifact_put_get(void **state)
{
    struct fixture *f = *state;
    struct paved_artifact a = artifact(SHA_A, DIGEST_A);
    struct paved_artifact b = artifact(SHA_B, DIGEST_B);
    struct paved_artifact *got = NULL;
    int64_t before = now_ms();

    assert_int_equal(paved_store_artifact_put(f->f_st, &a), 0);
    assert_true(a.ar_id > 0);
    assert_true(a.ar_created_ms >= before); /* 0 means now */
    assert_true(a.ar_created_ms <= now_ms());
    b.ar_kind = (char *)"directory";
    b.ar_ref = (char *)"/var/lib/paved/artifacts/sha256-bbbb";
    b.ar_start = (char *)"make run";
    b.ar_created_ms = 1764219662000LL; /* given: kept */
    assert_int_equal(paved_store_artifact_put(f->f_st, &b), 0);
    assert_true(b.ar_id > a.ar_id);

    assert_int_equal(
        paved_store_artifact_get(&got, f->f_st, "acme/checkout", SHA_A), 0);
    assert_int_equal(got->ar_id, a.ar_id);
    assert_string_equal(got->ar_repo, "acme/checkout");
    assert_string_equal(got->ar_sha, SHA_A);
    assert_string_equal(got->ar_service, "checkout");
    assert_string_equal(got->ar_kind, "image");
    assert_string_equal(got->ar_ref, "127.0.0.1:5000/checkout@sha256:aaaa");
    assert_string_equal(got->ar_digest, DIGEST_A);
    assert_null(got->ar_start);
    assert_int_equal(got->ar_run_id, 7);
    assert_int_equal(got->ar_created_ms, a.ar_created_ms);
    paved_artifact_free(got);

    assert_int_equal(
        paved_store_artifact_get(&got, f->f_st, "acme/checkout", SHA_B), 0);
    assert_string_equal(got->ar_kind, "directory");
    assert_string_equal(got->ar_start, "make run");
    assert_int_equal(got->ar_created_ms, 1764219662000LL);
    paved_artifact_free(got);

    /* same sha in another repo is another artifact */
    assert_int_equal(
        paved_store_artifact_get(&got, f->f_st, "acme/other", SHA_A),
        PAVED_ENOTFOUND);
    assert_null(got);
    assert_non_null(strstr(paved_error_last(), "acme/other"));
}

static void
test_artifact_rebuild_replaces(void **state)
{
    struct fixture *f = *state;
    struct paved_artifact a = artifact(SHA_A, DIGEST_A);
    struct paved_artifact again = artifact(SHA_A, DIGEST_B);
    struct paved_artifact *got = NULL;

    assert_int_equal(paved_store_artifact_put(f->f_st, &a), 0);
    again.ar_ref = (char *)"127.0.0.1:5000/checkout@sha256:bbbb";
    again.ar_run_id = 9;
    again.ar_created_ms = a.ar_created_ms + 5000;
    assert_int_equal(paved_store_artifact_put(f->f_st, &again), 0);
    /* in place: the id stays, the content is the rebuild's */
    assert_int_equal(again.ar_id, a.ar_id);
    assert_int_equal(
        paved_store_artifact_get(&got, f->f_st, "acme/checkout", SHA_A), 0);
    assert_int_equal(got->ar_id, a.ar_id);
    assert_string_equal(got->ar_digest, DIGEST_B);
    assert_string_equal(got->ar_ref, "127.0.0.1:5000/checkout@sha256:bbbb");
    assert_int_equal(got->ar_run_id, 9);
    assert_int_equal(got->ar_created_ms, a.ar_created_ms + 5000);
    paved_artifact_free(got);
}

static void
test_artifact_invalid(void **state)
{
    struct fixture *f = *state;
    struct paved_artifact a = artifact(SHA_A, DIGEST_A);
    struct paved_artifact *got = NULL;

    a.ar_service = NULL;
    assert_int_equal(paved_store_artifact_put(f->f_st, &a), PAVED_EINVAL);
    a.ar_service = (char *)"checkout";
    a.ar_digest = (char *)"";
    assert_int_equal(paved_store_artifact_put(f->f_st, &a), PAVED_EINVAL);
    a.ar_digest = (char *)"sha256:abc"; /* too short */
    assert_int_equal(paved_store_artifact_put(f->f_st, &a), PAVED_EINVAL);
    assert_non_null(strstr(paved_error_last(), "sha256:abc"));
    a.ar_digest = (char *)DIGEST_A;
    a.ar_sha = (char *)"0123abc"; /* an abbreviation */
    assert_int_equal(paved_store_artifact_put(f->f_st, &a), PAVED_EINVAL);
    a.ar_sha = (char *)"0123456789ABCDEF0123456789ABCDEF01234567";
    assert_int_equal(paved_store_artifact_put(f->f_st, &a), PAVED_EINVAL);
    a.ar_sha = (char *)SHA_A;
    a.ar_kind = (char *)"tarball";
    assert_int_equal(paved_store_artifact_put(f->f_st, &a), PAVED_EINVAL);
    assert_non_null(strstr(paved_error_last(), "tarball"));
    assert_int_equal(a.ar_id, 0);
    /* nothing was written; a SHA-256 repository's commit id is fine */
    assert_int_equal(
        paved_store_artifact_get(&got, f->f_st, "acme/checkout", SHA_A),
        PAVED_ENOTFOUND);
    a.ar_kind = (char *)"image";
    a.ar_sha = (char *)"00112233445566778899aabbccddeeff"
                       "00112233445566778899aabbccddeeff";
    assert_int_equal(paved_store_artifact_put(f->f_st, &a), 0);
}

/* ---- the audit log ------------------------------------------------------ */

/* A rollout's history: checkout to staging, then a canary in production
 * that was rolled back, and another service in between. */
static void
add_history(struct fixture *f, int64_t ids[6])
{
    struct paved_deploy_rec r[6];
    int i;

    r[0] = rec("checkout", "staging", "deploy", "ok");
    r[0].dr_version = (char *)"sha-0123456";
    r[0].dr_sha = (char *)SHA_A;
    r[0].dr_repo = (char *)"acme/checkout";
    r[0].dr_artifact = (char *)"127.0.0.1:5000/checkout@sha256:aaaa";
    r[0].dr_digest = (char *)DIGEST_A;
    r[0].dr_actor = (char *)"paved (run 12)";
    r[0].dr_reason = (char *)"push to main";
    r[0].dr_run_id = 12;
    r[1] = rec("orders", "staging", "deploy", "failed");
    r[1].dr_reason = (char *)"start command exited 1";
    r[2] = rec("checkout", "production", "approve", "ok");
    r[2].dr_actor = (char *)"alice";
    r[3] = rec("checkout", "production", "canary", "started");
    r[3].dr_version = (char *)"v1.2.3";
    r[3].dr_sha = (char *)SHA_A;
    r[3].dr_digest = (char *)DIGEST_A;
    r[3].dr_run_id = 13;
    r[4] = rec("checkout", "production", "canary", "failed");
    r[4].dr_version = (char *)"v1.2.3";
    r[4].dr_sha = (char *)SHA_A;
    r[4].dr_run_id = 13;
    r[4].dr_detail = (char *)"{\"checks\":[{\"name\":\"error-rate\","
                             "\"value\":0.2,\"threshold\":0.01}]}";
    r[5] = rec("checkout", "production", "rollback", "ok");
    r[5].dr_version = (char *)"v1.2.2";
    r[5].dr_reason = (char *)"error-rate 0.2 > 0.01";
    r[5].dr_run_id = 13;
    for (i = 0; i < 6; i++) {
        r[i].dr_created_ms = 1764219662000LL + i * 1000;
        assert_int_equal(paved_store_deploy_add(f->f_st, &r[i]), 0);
        assert_true(r[i].dr_id > 0);
        assert_true(i == 0 || r[i].dr_id > ids[i - 1]);
        ids[i] = r[i].dr_id;
    }
}

static void
assert_ids(struct paved_deploy_rec **list, size_t n, const int64_t *want,
           size_t nwant)
{
    size_t i;

    assert_int_equal(n, nwant);
    for (i = 0; i < n; i++)
        assert_int_equal(list[i]->dr_id, want[i]);
}

static void
test_deploy_add_list(void **state)
{
    struct fixture *f = *state;
    struct paved_deploy_rec **list = NULL;
    int64_t id[6];
    size_t n = 0;

    add_history(f, id);
    /* everything, newest first */
    assert_int_equal(paved_store_deploy_list(&list, &n, f->f_st, NULL), 0);
    {
        const int64_t want[] = {id[5], id[4], id[3], id[2], id[1], id[0]};
        assert_ids(list, n, want, 6);
    }
    /* every field comes back; absent ones stay NULL */
    assert_string_equal(list[5]->dr_service, "checkout");
    assert_string_equal(list[5]->dr_env, "staging");
    assert_string_equal(list[5]->dr_action, "deploy");
    assert_string_equal(list[5]->dr_result, "ok");
    assert_string_equal(list[5]->dr_version, "sha-0123456");
    assert_string_equal(list[5]->dr_sha, SHA_A);
    assert_string_equal(list[5]->dr_repo, "acme/checkout");
    assert_string_equal(list[5]->dr_artifact,
                        "127.0.0.1:5000/checkout@sha256:aaaa");
    assert_string_equal(list[5]->dr_digest, DIGEST_A);
    assert_string_equal(list[5]->dr_actor, "paved (run 12)");
    assert_string_equal(list[5]->dr_reason, "push to main");
    assert_null(list[5]->dr_detail);
    assert_int_equal(list[5]->dr_run_id, 12);
    assert_int_equal(list[5]->dr_created_ms, 1764219662000LL);
    assert_null(list[3]->dr_version); /* the approval */
    assert_null(list[3]->dr_sha);
    assert_string_equal(list[3]->dr_actor, "alice");
    assert_int_equal(list[3]->dr_run_id, 0);
    assert_string_equal(list[1]->dr_detail,
                        "{\"checks\":[{\"name\":\"error-rate\","
                        "\"value\":0.2,\"threshold\":0.01}]}");
    paved_deploy_list_free(list, n);
}

static void
test_deploy_filters(void **state)
{
    struct fixture *f = *state;
    struct paved_deploy_filter df;
    struct paved_deploy_rec **list = NULL;
    int64_t id[6];
    size_t n = 0;

    add_history(f, id);
#define LIST(...)                                                              \
    do {                                                                       \
        const int64_t want[] = {__VA_ARGS__};                                  \
        assert_int_equal(paved_store_deploy_list(&list, &n, f->f_st, &df), 0); \
        assert_ids(list, n, want, sizeof(want) / sizeof(want[0]));             \
        paved_deploy_list_free(list, n);                                       \
        list = NULL;                                                           \
    } while (0)

    /* nothing matches */
#define LIST_NONE()                                                            \
    do {                                                                       \
        assert_int_equal(paved_store_deploy_list(&list, &n, f->f_st, &df), 0); \
        assert_int_equal(n, 0);                                                \
        paved_deploy_list_free(list, n);                                       \
        list = NULL;                                                           \
    } while (0)

    memset(&df, 0, sizeof(df));
    df.df_service = "checkout";
    LIST(id[5], id[4], id[3], id[2], id[0]);
    df.df_env = "production";
    LIST(id[5], id[4], id[3], id[2]);
    df.df_action = "canary";
    LIST(id[4], id[3]);
    df.df_result = "failed";
    LIST(id[4]);

    memset(&df, 0, sizeof(df));
    df.df_env = "staging";
    LIST(id[1], id[0]);
    df.df_result = "failed";
    LIST(id[1]);

    memset(&df, 0, sizeof(df));
    df.df_sha = SHA_A; /* did this commit pass staging? */
    df.df_env = "staging";
    df.df_action = "deploy";
    df.df_result = "ok";
    LIST(id[0]);
    df.df_env = "production";
    LIST_NONE();

    memset(&df, 0, sizeof(df));
    df.df_digest = DIGEST_A;
    LIST(id[3], id[0]);
    memset(&df, 0, sizeof(df));
    df.df_run_id = 13;
    LIST(id[5], id[4], id[3]);

    /* paging: limit, then before the last one seen */
    memset(&df, 0, sizeof(df));
    df.df_limit = 2;
    LIST(id[5], id[4]);
    df.df_before_id = id[4];
    LIST(id[3], id[2]);
    df.df_before_id = id[1];
    LIST(id[0]);
    df.df_before_id = id[0];
    LIST_NONE();
    df.df_service = "nobody";
    df.df_before_id = 0;
    LIST_NONE();
#undef LIST
#undef LIST_NONE
}

static void
test_deploy_limit_capped(void **state)
{
    struct fixture *f = *state;
    struct paved_deploy_filter df;
    struct paved_deploy_rec **list = NULL;
    struct paved_deploy_rec r;
    size_t n = 0;
    int i;

    for (i = 0; i < 60; i++) {
        r = rec("checkout", "staging", "smoke", "ok");
        assert_int_equal(paved_store_deploy_add(f->f_st, &r), 0);
    }
    memset(&df, 0, sizeof(df));
    assert_int_equal(paved_store_deploy_list(&list, &n, f->f_st, &df), 0);
    assert_int_equal(n, 50); /* 0: the default */
    paved_deploy_list_free(list, n);
    df.df_limit = (size_t)1 << 40; /* at most 1000: no huge allocation */
    assert_int_equal(paved_store_deploy_list(&list, &n, f->f_st, &df), 0);
    assert_int_equal(n, 60);
    paved_deploy_list_free(list, n);
}

static void
test_deploy_invalid(void **state)
{
    struct fixture *f = *state;
    struct paved_deploy_rec r = rec("checkout", "staging", "deploy", "ok");
    struct paved_deploy_rec **list = NULL;
    size_t n = 0;

    r.dr_env = NULL;
    assert_int_equal(paved_store_deploy_add(f->f_st, &r), PAVED_EINVAL);
    r.dr_env = (char *)"staging";
    r.dr_result = (char *)"";
    assert_int_equal(paved_store_deploy_add(f->f_st, &r), PAVED_EINVAL);
    r.dr_result = (char *)"ok";
    r.dr_action = (char *)"explode";
    assert_int_equal(paved_store_deploy_add(f->f_st, &r), PAVED_EINVAL);
    assert_non_null(strstr(paved_error_last(), "explode"));
    r.dr_action = (char *)"promote";
    r.dr_result = (char *)"maybe";
    assert_int_equal(paved_store_deploy_add(f->f_st, &r), PAVED_EINVAL);
    assert_non_null(strstr(paved_error_last(), "maybe"));
    assert_int_equal(r.dr_id, 0);
    assert_int_equal(r.dr_created_ms, 0);
    assert_int_equal(paved_store_deploy_list(&list, &n, f->f_st, NULL), 0);
    assert_int_equal(n, 0);
    paved_deploy_list_free(list, n);
    /* every action and result of the contract is taken */
    {
        static const char *const actions[] = {"deploy",  "canary",   "smoke",
                                              "promote", "rollback", "approve"};
        static const char *const results[] = {"ok", "failed", "started",
                                              "waiting"};
        size_t i;
        for (i = 0; i < 6; i++) {
            r = rec("checkout", "staging", actions[i], results[i % 4]);
            assert_int_equal(paved_store_deploy_add(f->f_st, &r), 0);
        }
    }
    /* the free functions take NULL */
    paved_deploy_rec_free(NULL);
    paved_deploy_list_free(NULL, 3);
    paved_artifact_free(NULL);
}

static void
test_created_now(void **state)
{
    struct fixture *f = *state;
    struct paved_deploy_rec r = rec("checkout", "staging", "deploy", "ok");
    struct paved_deploy_rec **list = NULL;
    int64_t before = now_ms();
    size_t n = 0;

    assert_int_equal(paved_store_deploy_add(f->f_st, &r), 0);
    assert_true(r.dr_created_ms >= before);
    assert_true(r.dr_created_ms <= now_ms());
    assert_int_equal(paved_store_deploy_list(&list, &n, f->f_st, NULL), 0);
    assert_int_equal(n, 1);
    assert_int_equal(list[0]->dr_created_ms, r.dr_created_ms);
    paved_deploy_list_free(list, n);
}

/* Written through one store, read through a reopen and through a second
 * store on the same file (the CLI beside a running daemon). */
static void
test_reopen_and_second_store(void **state)
{
    struct fixture *f = *state;
    struct paved_artifact a = artifact(SHA_A, DIGEST_A);
    struct paved_artifact *got = NULL;
    struct paved_deploy_rec r = rec("checkout", "staging", "deploy", "ok");
    struct paved_deploy_rec **list = NULL;
    paved_store *cli;
    size_t n = 0;

    assert_int_equal(paved_store_artifact_put(f->f_st, &a), 0);
    paved_store_close(f->f_st);
    f->f_st = open_store(f->f_dir);
    assert_int_equal(
        paved_store_artifact_get(&got, f->f_st, "acme/checkout", SHA_A), 0);
    assert_int_equal(got->ar_id, a.ar_id);
    paved_artifact_free(got);

    cli = open_store(f->f_dir);
    r.dr_actor = (char *)"bob";
    assert_int_equal(paved_store_deploy_add(cli, &r), 0);
    assert_int_equal(paved_store_deploy_list(&list, &n, f->f_st, NULL), 0);
    assert_int_equal(n, 1);
    assert_string_equal(list[0]->dr_actor, "bob");
    paved_deploy_list_free(list, n);
    paved_store_close(cli);
}

/* ---- schema upgrade ----------------------------------------------------
 * A version 5 database is a version 6 one without the delivery tables:
 * made by taking them away again, with data in it. */
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

/* the schema text of the delivery tables and indexes, in one string */
static char *
delivery_schema(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    char *out = NULL;

    assert_int_equal(
        sqlite3_prepare_v2(db,
                           "SELECT group_concat(sql, ';') FROM"
                           " (SELECT sql FROM sqlite_master WHERE tbl_name IN"
                           " ('artifacts', 'deployments') ORDER BY name)",
                           -1, &st, NULL),
        SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL)
        out = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    assert_non_null(out);
    return out;
}

static void
on_plan(struct paved_store_plan *plan, void *arg)
{
    struct fixture *f = arg;

    paved_store_plan_free(f->f_plan);
    f->f_plan = plan;
    f->f_done++;
}

/* One run, through the writer like the scheduler writes it; its id. */
static int64_t
add_run(struct fixture *f)
{
    struct paved_store_plan *p = calloc(1, sizeof(*p));
    struct paved_run *r = calloc(1, sizeof(*r));
    struct pollfd pfd;

    r->ru_pipeline = strdup("service");
    r->ru_repo = strdup("acme/checkout");
    r->ru_ref = strdup("refs/heads/main");
    r->ru_sha = strdup(SHA_A);
    r->ru_kind = strdup("push");
    r->ru_env = strdup("staging");
    r->ru_group = strdup("g");
    r->ru_event_json = strdup("{}");
    r->ru_state = PAVED_RUN_QUEUED;
    r->ru_attempt = 1;
    r->ru_created_ms = 4242;
    p->pp_force = 1;
    p->pp_runs = calloc(1, sizeof(*p->pp_runs));
    p->pp_runs[p->pp_nruns++] = r;
    assert_int_equal(paved_store_plan(f->f_st, p, on_plan, f), 0);
    while (f->f_done < 1) {
        pfd.fd = paved_store_notify_fd(f->f_st);
        pfd.events = POLLIN;
        assert_true(poll(&pfd, 1, 10000) > 0);
        paved_store_complete(f->f_st);
    }
    assert_int_equal(f->f_plan->pp_result, 0);
    return f->f_plan->pp_runs[0]->ru_id;
}

static void
test_upgrade_from_v5(void **state)
{
    struct fixture *f = *state;
    struct paved_artifact a = artifact(SHA_A, DIGEST_A);
    struct paved_artifact *got = NULL;
    struct paved_deploy_rec r = rec("checkout", "staging", "deploy", "ok");
    struct paved_deploy_rec **list = NULL;
    struct paved_service sv, *svg = NULL;
    struct paved_run *run = NULL;
    char path[128], *fresh, *upgraded;
    sqlite3 *db = NULL;
    size_t n = 0;
    int64_t id;

    memset(&sv, 0, sizeof(sv));
    sv.sv_name = (char *)"checkout";
    sv.sv_type = (char *)"api";
    sv.sv_lang = (char *)"go";
    assert_int_equal(paved_store_service_add(f->f_st, &sv), 0);
    id = add_run(f);
    assert_true(id > 0);
    paved_store_close(f->f_st);
    f->f_st = NULL;

    snprintf(path, sizeof(path), "%s/paved.db", f->f_dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(int_query(db, "PRAGMA user_version"), 6);
    fresh = delivery_schema(db);
    /* dropping a table drops its indexes */
    exec_sql(db, "DROP TABLE artifacts; DROP TABLE deployments;"
                 " PRAGMA user_version = 5;");
    assert_int_equal(int_query(db, "SELECT count(*) FROM sqlite_master"
                                   " WHERE tbl_name IN ('artifacts',"
                                   " 'deployments')"),
                     0);
    sqlite3_close(db);

    f->f_st = open_store(f->f_dir);
    /* the old rows are there and the new tables work */
    assert_int_equal(paved_store_run_get(&run, f->f_st, id), 0);
    assert_string_equal(run->ru_sha, SHA_A);
    paved_run_free(run);
    assert_int_equal(paved_store_service_get(&svg, f->f_st, "checkout"), 0);
    assert_string_equal(svg->sv_lang, "go");
    paved_service_free(svg);
    assert_int_equal(paved_store_artifact_put(f->f_st, &a), 0);
    assert_int_equal(
        paved_store_artifact_get(&got, f->f_st, "acme/checkout", SHA_A), 0);
    paved_artifact_free(got);
    assert_int_equal(paved_store_deploy_add(f->f_st, &r), 0);
    assert_int_equal(paved_store_deploy_list(&list, &n, f->f_st, NULL), 0);
    assert_int_equal(n, 1);
    paved_deploy_list_free(list, n);

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(int_query(db, "PRAGMA user_version"), 6);
    /* the upgrade made exactly what a new database has: tables, the
     * unique (repo, sha) index and the audit log's two indexes */
    upgraded = delivery_schema(db);
    assert_string_equal(upgraded, fresh);
    assert_int_equal(int_query(db, "SELECT count(*) FROM sqlite_master"
                                   " WHERE type = 'index' AND tbl_name IN"
                                   " ('artifacts', 'deployments')"),
                     3);
    /* and `paved history`'s question is answered by its index */
    {
        sqlite3_stmt *st = NULL;
        int found = 0;
        assert_int_equal(
            sqlite3_prepare_v2(db,
                               "EXPLAIN QUERY PLAN SELECT id FROM deployments"
                               " WHERE service = 'a' AND env = 'b'"
                               " ORDER BY id DESC LIMIT 5",
                               -1, &st, NULL),
            SQLITE_OK);
        while (sqlite3_step(st) == SQLITE_ROW)
            found |= strstr((const char *)sqlite3_column_text(st, 3),
                            "deployments_service") != NULL;
        sqlite3_finalize(st);
        assert_true(found);
    }
    free(fresh);
    free(upgraded);
    sqlite3_close(db);
}

/* A database from a newer paved is refused, not damaged. */
static void
test_newer_schema_refused(void **state)
{
    struct fixture *f = *state;
    struct paved_store_opts so;
    paved_store *st = NULL;
    char path[128];
    sqlite3 *db = NULL;

    paved_store_close(f->f_st);
    f->f_st = NULL;
    snprintf(path, sizeof(path), "%s/paved.db", f->f_dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    exec_sql(db, "PRAGMA user_version = 7;");
    sqlite3_close(db);
    memset(&so, 0, sizeof(so));
    so.so_data_dir = f->f_dir;
    assert_true(paved_store_open(&st, &so) < 0);
    assert_null(st);
    assert_non_null(strstr(paved_error_last(), "newer"));
}

/* ---- `paved history` reads it ------------------------------------------
 * paved_cli_history() against the fixture's store: argv in, stdout and the exit
 * status out. */

/* Runs cli_history with PAVED_DATA_DIR=dir; *out is what it printed. */
static int
run_history(char **out, const char *dir, const char *a1, const char *a2,
            const char *a3, const char *a4)
{
    char *argv[8];
    char path[128];
    int argc = 0, saved, fd, rc;
    FILE *fp;
    long len;

    argv[argc++] = (char *)"history";
    if (a1 != NULL)
        argv[argc++] = (char *)a1;
    if (a2 != NULL)
        argv[argc++] = (char *)a2;
    if (a3 != NULL)
        argv[argc++] = (char *)a3;
    if (a4 != NULL)
        argv[argc++] = (char *)a4;
    argv[argc] = NULL;
    setenv("PAVED_DATA_DIR", dir, 1);
    unsetenv("PAVED_STORE"); /* the SQLite file in dir, whatever ctest has */
    snprintf(path, sizeof(path), "%s.out", dir);
    fflush(stdout);
    saved = dup(1);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, 1);
    close(fd);
    rc = paved_cli_history(argc, argv);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    fp = fopen(path, "r");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    len = ftell(fp);
    rewind(fp);
    *out = calloc(1, (size_t)len + 1);
    assert_non_null(*out);
    assert_int_equal(fread(*out, 1, (size_t)len, fp), (size_t)len);
    fclose(fp);
    unlink(path);
    return rc;
}

static void
test_history_cli(void **state)
{
    struct fixture *f = *state;
    char *out = NULL, missing[96];
    json_t *doc;
    int64_t id[6];

    add_history(f, id);

    assert_int_equal(run_history(&out, f->f_dir, "checkout", NULL, NULL, NULL),
                     0);
    /* header, newest first, UTC, "-" for what is absent */
    assert_non_null(strstr(out, "TIME (UTC)"));
    assert_null(strstr(out, "orders"));
    {
        const char *rb = strstr(out, "rollback");
        const char *ap = strstr(out, "approve");
        const char *dp = strstr(out, "2025-11-27 05:01:02  staging");
        assert_non_null(rb);
        assert_non_null(ap);
        assert_non_null(dp);
        assert_true(rb < ap && ap < dp);
    }
    assert_non_null(strstr(out, "2025-11-27 05:01:07  production   rollback  "
                                "ok       v1.2.2         -"));
    assert_non_null(strstr(out, "error-rate 0.2 > 0.01"));
    assert_non_null(strstr(out, "paved (run 12)"));
    free(out);

    assert_int_equal(run_history(&out, f->f_dir, "checkout", "--env=staging",
                                 "--json", NULL),
                     0);
    doc = json_loads(out, 0, NULL);
    assert_non_null(doc);
    assert_int_equal(json_array_size(json_object_get(doc, "deployments")), 1);
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(doc, "deployments"), 0),
            "created_at")),
        "2025-11-27T05:01:02.000Z");
    json_decref(doc);
    free(out);

    assert_int_equal(run_history(&out, f->f_dir, "checkout", "--env",
                                 "production", "--json"),
                     0);
    doc = json_loads(out, 0, NULL);
    assert_non_null(doc);
    assert_int_equal(json_array_size(json_object_get(doc, "deployments")), 4);
    /* the verdict is JSON, not a string */
    assert_true(json_is_object(json_object_get(
        json_array_get(json_object_get(doc, "deployments"), 1), "detail")));
    json_decref(doc);
    free(out);

    assert_int_equal(
        run_history(&out, f->f_dir, "checkout", "--limit", "2", NULL), 0);
    assert_null(strstr(out, "approve"));
    assert_non_null(strstr(out, "--limit"));
    free(out);

    assert_int_equal(run_history(&out, f->f_dir, "nobody", NULL, NULL, NULL),
                     0);
    assert_non_null(strstr(out, "no deployments of nobody"));
    free(out);

    /* usage errors */
    assert_int_equal(run_history(&out, f->f_dir, NULL, NULL, NULL, NULL), 2);
    free(out);
    assert_int_equal(
        run_history(&out, f->f_dir, "checkout", "--limit", "0", NULL), 2);
    free(out);
    assert_int_equal(
        run_history(&out, f->f_dir, "checkout", "--limit", NULL, NULL), 2);
    free(out);
    assert_int_equal(
        run_history(&out, f->f_dir, "checkout", "--bogus", NULL, NULL), 2);
    free(out);
    assert_int_equal(run_history(&out, f->f_dir, "a", "b", NULL, NULL), 2);
    free(out);

    /* no store there: fails, and creates none */
    snprintf(missing, sizeof(missing), "%s/nothing", f->f_dir);
    assert_int_equal(run_history(&out, missing, "checkout", NULL, NULL, NULL),
                     1);
    assert_int_equal(access(missing, F_OK), -1);
    free(out);
    unsetenv("PAVED_DATA_DIR");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_artifact_put_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_artifact_rebuild_replaces, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_artifact_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deploy_add_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deploy_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deploy_limit_capped, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_deploy_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_created_now, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_and_second_store, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_from_v5, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_history_cli, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
