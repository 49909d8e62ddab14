/* The store against a real SQLite file: group commit, duplicates, failure
 * when the database is full, reopening, and the read side. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "paved/error.h"
#include "paved/store.h"

struct result {
    int r_done;
    int r_result;
    int64_t r_seq;
    size_t r_batch;
};

static void
on_done(const struct paved_store_done *done, void *arg)
{
    struct result *r = arg;

    r->r_done++;
    r->r_result = done->sd_result;
    r->r_seq = done->sd_seq;
    r->r_batch = done->sd_batch;
}

static char *
tmpdir(void)
{
    char tmpl[] = "/tmp/paved-store-XXXXXX";
    char *d = mkdtemp(tmpl);

    assert_non_null(d);
    return strdup(d);
}

static void
rmdir_all(const char *dir)
{
    char cmd[512];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static struct paved_delivery *
delivery(const char *id, size_t payload_len)
{
    struct paved_delivery *d = calloc(1, sizeof(*d));

    assert_non_null(d);
    d->dl_forge = strdup("github");
    d->dl_id = strdup(id);
    d->dl_event = strdup("push");
    d->dl_kind = strdup("push");
    d->dl_status = strdup("queued");
    d->dl_received_ms = 1764219662123LL;
    d->dl_event_json = strdup("{\"forge\":\"github\",\"kind\":\"push\"}");
    d->dl_payload = malloc(payload_len + 1);
    assert_non_null(d->dl_payload);
    memset(d->dl_payload, 'x', payload_len);
    d->dl_payload[0] = '{';
    d->dl_payload_len = payload_len;
    return d;
}

/* Wait for the writer and run callbacks until `want` results arrived. */
static void
wait_done(paved_store *st, struct result *r, size_t n, int want)
{
    struct pollfd pfd;
    int total, i, rounds = 0;

    for (;;) {
        total = 0;
        for (i = 0; i < (int)n; i++)
            total += r[i].r_done;
        if (total >= want)
            return;
        pfd.fd = paved_store_notify_fd(st);
        pfd.events = POLLIN;
        assert_true(poll(&pfd, 1, 10000) > 0);
        paved_store_complete(st);
        assert_true(++rounds < 100000);
    }
}

static paved_store *
open_store(const char *dir, size_t max_size)
{
    struct paved_store_opts so = {"sqlite", dir, max_size, 0};
    paved_store *st = NULL;

    if (paved_store_open(&st, &so) < 0)
        fail_msg("open: %s", paved_error_last());
    return st;
}

static void
test_commit_and_duplicate(void **state)
{
    char *dir = tmpdir();
    paved_store *st = open_store(dir, 0);
    struct result r[3];
    struct paved_delivery *got = NULL;
    int64_t count = 0;

    (void)state;
    memset(r, 0, sizeof(r));
    assert_int_equal(paved_store_submit(st, delivery("a", 100), on_done, &r[0]),
                     0);
    assert_int_equal(paved_store_submit(st, delivery("b", 100), on_done, &r[1]),
                     0);
    /* the same id again, possibly in the same batch: stored once */
    assert_int_equal(paved_store_submit(st, delivery("a", 100), on_done, &r[2]),
                     0);
    wait_done(st, r, 3, 3);
    assert_int_equal(r[0].r_result, 0);
    assert_int_equal(r[1].r_result, 0);
    assert_int_equal(r[2].r_result, PAVED_EEXISTS);
    assert_int_equal(r[2].r_seq, r[0].r_seq);
    assert_true(r[1].r_seq > r[0].r_seq);
    assert_int_equal(paved_store_delivery_count(&count, st), 0);
    assert_int_equal(count, 2);
    assert_int_equal(paved_store_pending(st), 0);

    assert_int_equal(paved_store_delivery_get(&got, st, "b", 1), 0);
    assert_string_equal(got->dl_id, "b");
    assert_string_equal(got->dl_forge, "github");
    assert_int_equal(got->dl_payload_len, 100);
    assert_int_equal(got->dl_received_ms, 1764219662123LL);
    paved_delivery_free(got);
    assert_int_equal(paved_store_delivery_get(&got, st, "nope", 0),
                     PAVED_ENOTFOUND);
    assert_null(got);

    paved_store_close(st);
    rmdir_all(dir);
    free(dir);
}

static void
test_group_commit_batches(void **state)
{
    enum { N = 300 };
    char *dir = tmpdir();
    paved_store *st = open_store(dir, 0);
    struct result *r = calloc(N, sizeof(*r));
    char id[32];
    size_t max_batch = 0;
    int i;

    (void)state;
    for (i = 0; i < N; i++) {
        snprintf(id, sizeof(id), "id-%d", i);
        assert_int_equal(
            paved_store_submit(st, delivery(id, 7000), on_done, &r[i]), 0);
    }
    wait_done(st, r, N, N);
    for (i = 0; i < N; i++) {
        assert_int_equal(r[i].r_result, 0);
        if (r[i].r_batch > max_batch)
            max_batch = r[i].r_batch;
        if (i > 0) /* seq follows submission order */
            assert_true(r[i].r_seq > r[i - 1].r_seq);
    }
    /* 300 submitted at once cannot all have waited for their own fsync */
    assert_true(max_batch > 1);
    free(r);
    paved_store_close(st);
    rmdir_all(dir);
    free(dir);
}

static void
test_survives_reopen(void **state)
{
    char *dir = tmpdir();
    paved_store *st = open_store(dir, 0);
    struct result r[2];
    struct paved_delivery **list = NULL;
    size_t n = 0;

    (void)state;
    memset(r, 0, sizeof(r));
    assert_int_equal(paved_store_submit(st, delivery("x", 10), on_done, &r[0]),
                     0);
    wait_done(st, r, 1, 1);
    paved_store_close(st);

    st = open_store(dir, 0);
    assert_int_equal(paved_store_submit(st, delivery("x", 10), on_done, &r[1]),
                     0);
    wait_done(st, r, 2, 2);
    assert_int_equal(r[1].r_result, PAVED_EEXISTS);
    assert_int_equal(paved_store_delivery_list(&list, &n, st, 10, 0, 0), 0);
    assert_int_equal(n, 1);
    assert_string_equal(list[0]->dl_id, "x");
    assert_null(list[0]->dl_payload);
    paved_delivery_list_free(list, n);
    paved_store_close(st);
    rmdir_all(dir);
    free(dir);
}

static void
test_full_database_fails_batch(void **state)
{
    enum { N = 40 };
    char *dir = tmpdir();
    /* The empty schema takes 19 pages of 4 KiB since version 6 (the
     * delivery tables and their indexes: 5 pages); the cap leaves room for
     * a few of these deliveries and no more. */
    paved_store *st = open_store(dir, 96 * 1024);
    struct result r[N];
    int64_t count = -1;
    char id[32];
    int i, ok = 0, failed = 0;

    (void)state;
    memset(r, 0, sizeof(r));
    for (i = 0; i < N; i++) {
        snprintf(id, sizeof(id), "big-%d", i);
        assert_int_equal(
            paved_store_submit(st, delivery(id, 8000), on_done, &r[i]), 0);
        wait_done(st, r, N, i + 1); /* one batch each */
        if (r[i].r_result == 0)
            ok++;
        else if (r[i].r_result == PAVED_EUNAVAILABLE)
            failed++;
    }
    assert_true(ok > 0);
    assert_true(failed > 0);
    assert_int_equal(ok + failed, N);
    /* readiness tells the truth: a full store is not ready */
    {
        struct result probe;
        memset(&probe, 0, sizeof(probe));
        assert_int_equal(paved_store_probe(st, on_done, &probe), 0);
        wait_done(st, &probe, 1, 1);
        assert_int_equal(probe.r_result, PAVED_EUNAVAILABLE);
    }
    /* exactly the acknowledged ones are stored */
    assert_int_equal(paved_store_delivery_count(&count, st), 0);
    assert_int_equal(count, ok);
    paved_store_close(st);
    rmdir_all(dir);
    free(dir);
}

static void
test_probe_and_list_order(void **state)
{
    char *dir = tmpdir();
    paved_store *st = open_store(dir, 0);
    struct result r[6];
    struct paved_delivery **list = NULL;
    size_t n = 0;
    char id[8];
    int i;

    (void)state;
    memset(r, 0, sizeof(r));
    for (i = 0; i < 5; i++) {
        snprintf(id, sizeof(id), "d%d", i);
        assert_int_equal(
            paved_store_submit(st, delivery(id, 5), on_done, &r[i]), 0);
    }
    assert_int_equal(paved_store_probe(st, on_done, &r[5]), 0);
    wait_done(st, r, 6, 6);
    assert_int_equal(r[5].r_result, 0);
    assert_int_equal(paved_store_delivery_list(&list, &n, st, 2, 0, 0), 0);
    assert_int_equal(n, 2);
    assert_string_equal(list[0]->dl_id, "d4");
    assert_string_equal(list[1]->dl_id, "d3");
    paved_delivery_list_free(list, n);
    /* the page before d3 */
    assert_int_equal(
        paved_store_delivery_list(&list, &n, st, 10, r[3].r_seq, 0), 0);
    assert_int_equal(n, 3);
    assert_string_equal(list[0]->dl_id, "d2");
    paved_delivery_list_free(list, n);
    paved_store_close(st);
    rmdir_all(dir);
    free(dir);
}

static void
test_bad_spec(void **state)
{
    struct paved_store_opts so = {"postgres://x/y", "/tmp", 0, 0};
    struct paved_store_opts bad = {"mysql", "/tmp", 0, 0};
    paved_store *st = NULL;

    (void)state;
    assert_int_equal(paved_store_open(&st, &so), PAVED_EUSAGE);
    assert_null(st);
    assert_int_equal(paved_store_open(&st, &bad), PAVED_EUSAGE);
    assert_non_null(strstr(paved_error_last(), "mysql"));
    paved_store_close(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commit_and_duplicate),
        cmocka_unit_test(test_group_commit_batches),
        cmocka_unit_test(test_survives_reopen),
        cmocka_unit_test(test_full_database_fails_batch),
        cmocka_unit_test(test_probe_and_list_order),
        cmocka_unit_test(test_bad_spec),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
