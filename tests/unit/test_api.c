/* The REST read side over a real SQLite store: shapes, paging, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "paved/api.h"
#include "paved/error.h"
#include "paved/store.h"

struct fixture {
    char f_dir[64];
    paved_store *f_store;
};

static void
on_done(const struct paved_store_done *done, void *arg)
{
    int *left = arg;

    assert_int_equal(done->sd_result, 0);
    (*left)--;
}

static void
add(paved_store *st, const char *id, const char *kind)
{
    struct paved_delivery *d = calloc(1, sizeof(*d));
    struct pollfd pfd;
    int left = 1;

    d->dl_forge = strdup("github");
    d->dl_id = strdup(id);
    d->dl_event = strdup(kind);
    d->dl_kind = strdup(kind);
    d->dl_status = strdup("queued");
    d->dl_received_ms = 1764219662123LL;
    d->dl_event_json = strdup("{\"forge\":\"github\",\"repo\":\"o/r\"}");
    d->dl_payload = (unsigned char *)strdup("{\"zen\":\"keep it simple\"}");
    d->dl_payload_len = strlen((char *)d->dl_payload);
    assert_int_equal(paved_store_submit(st, d, on_done, &left), 0);
    while (left > 0) {
        pfd.fd = paved_store_notify_fd(st);
        pfd.events = POLLIN;
        assert_true(poll(&pfd, 1, 10000) > 0);
        paved_store_complete(st);
    }
}

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct paved_store_opts so = {"sqlite", NULL, 0, 0};

    snprintf(f->f_dir, sizeof(f->f_dir), "/tmp/paved-api-XXXXXX");
    assert_non_null(mkdtemp(f->f_dir));
    so.so_data_dir = f->f_dir;
    assert_int_equal(paved_store_open(&f->f_store, &so), 0);
    add(f->f_store, "first", "push");
    add(f->f_store, "second", "pull_request");
    add(f->f_store, "third", "tag");
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[128];

    paved_store_close(f->f_store);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->f_dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static json_t *
call(struct fixture *f, int want_status, const char *method, const char *path,
     const char *query)
{
    struct paved_buf b = PAVED_BUF_INIT(1 << 20);
    json_error_t jerr;
    struct paved_api_ctx ctx = {f->f_store, NULL, ".", NULL, NULL};
    const char *ctype = NULL;
    json_t *doc;
    int status = 0;

    assert_int_equal(
        paved_api_handle(&b, &status, &ctype, &ctx, method, path, query), 0);
    assert_string_equal(ctype, "application/json");
    assert_int_equal(status, want_status);
    doc = json_loadb(b.b_ptr, b.b_len, 0, &jerr);
    if (doc == NULL)
        fail_msg("not JSON: %s: %s", jerr.text, b.b_ptr);
    paved_buf_dispose(&b);
    return doc;
}

static void
test_list_newest_first(void **state)
{
    json_t *doc = call(*state, 200, "GET", "/api/v1/deliveries", "limit=2");
    json_t *list = json_object_get(doc, "deliveries");

    assert_int_equal(json_array_size(list), 2);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(list, 0), "id")),
        "third");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(list, 1), "kind")),
        "pull_request");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(list, 0), "received_at")),
                        "2025-11-27T05:01:02.123Z");
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_array_get(list, 0), "normalized"), "repo")),
        "o/r");
    /* the list leaves payloads out */
    assert_null(json_object_get(json_array_get(list, 0), "payload"));
    json_decref(doc);
}

static void
test_detail_has_payload(void **state)
{
    json_t *doc = call(*state, 200, "GET", "/api/v1/deliveries/second", NULL);

    assert_string_equal(json_string_value(json_object_get(doc, "id")),
                        "second");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(doc, "payload"), "zen")),
                        "keep it simple");
    json_decref(doc);
    doc = call(*state, 200, "GET", "/api/v1/deliveries/%231", NULL);
    assert_string_equal(json_string_value(json_object_get(doc, "id")), "first");
    json_decref(doc);
}

static void
test_errors(void **state)
{
    struct paved_buf b = PAVED_BUF_INIT(1024);
    struct fixture *f = *state;
    struct paved_api_ctx ctx = {f->f_store, NULL, ".", NULL, NULL};
    const char *ctype = NULL;
    int status = 0;
    json_t *doc;

    doc = call(*state, 404, "GET", "/api/v1/deliveries/missing", NULL);
    assert_non_null(
        strstr(json_string_value(json_object_get(doc, "error")), "missing"));
    json_decref(doc);
    json_decref(call(*state, 400, "GET", "/api/v1/deliveries", "limit=0"));
    json_decref(call(*state, 400, "GET", "/api/v1/deliveries", "limit=abc"));
    json_decref(call(*state, 400, "GET", "/api/v1/deliveries", "before=-1"));
    json_decref(call(*state, 400, "GET", "/api/v1/deliveries/%23x", NULL));
    json_decref(call(*state, 405, "POST", "/api/v1/deliveries", NULL));
    json_decref(call(*state, 404, "GET", "/api/v1/nothing", NULL));
    json_decref(call(*state, 404, "GET", "/api/v1/deliveries/a/b", NULL));
    assert_int_equal(
        paved_api_handle(&b, &status, &ctype, &ctx, "GET", "/metrics", NULL),
        PAVED_ENOTFOUND);
    paved_buf_dispose(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_newest_first),
        cmocka_unit_test(test_detail_has_payload),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
