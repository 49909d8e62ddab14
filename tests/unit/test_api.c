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

/* ---- the audit log ----------------------------------------------------- */

static int64_t
add_deploy(struct fixture *f, const char *service, const char *env,
           const char *action, const char *result, const char *detail)
{
    struct paved_deploy_rec r;

    memset(&r, 0, sizeof(r));
    r.dr_service = (char *)service;
    r.dr_env = (char *)env;
    r.dr_action = (char *)action;
    r.dr_result = (char *)result;
    r.dr_version = (char *)"v1.2.3";
    r.dr_sha = (char *)"0123456789abcdef0123456789abcdef01234567";
    r.dr_actor = (char *)"paved (run 4)";
    r.dr_reason = (char *)"tag v1.2.3";
    r.dr_detail = (char *)detail;
    r.dr_run_id = strcmp(action, "approve") == 0 ? 0 : 4;
    r.dr_created_ms = 1764219662123LL;
    assert_int_equal(paved_store_deploy_add(f->f_store, &r), 0);
    return r.dr_id;
}

static int64_t
item_id(json_t *list, size_t i)
{
    return (int64_t)json_integer_value(
        json_object_get(json_array_get(list, i), "id"));
}

static void
test_deployments(void **state)
{
    struct fixture *f = *state;
    int64_t a, b, c, d;
    json_t *doc, *list, *e;
    char q[64];

    a = add_deploy(f, "checkout", "staging", "deploy", "ok", NULL);
    b = add_deploy(f, "checkout", "production", "approve", "ok", NULL);
    c = add_deploy(f, "checkout", "production", "canary", "failed",
                   "{\"checks\":[{\"name\":\"error-rate\",\"value\":0.2}]}");
    d = add_deploy(f, "orders", "production", "rollback", "ok", "not json{");

    /* newest first, every field */
    doc = call(f, 200, "GET", "/api/v1/deployments", NULL);
    list = json_object_get(doc, "deployments");
    assert_int_equal(json_array_size(list), 4);
    assert_int_equal(item_id(list, 0), d);
    assert_int_equal(item_id(list, 3), a);
    assert_true(json_is_null(json_object_get(doc, "next_before")));
    e = json_array_get(list, 1);
    assert_string_equal(json_string_value(json_object_get(e, "service")),
                        "checkout");
    assert_string_equal(json_string_value(json_object_get(e, "environment")),
                        "production");
    assert_string_equal(json_string_value(json_object_get(e, "action")),
                        "canary");
    assert_string_equal(json_string_value(json_object_get(e, "result")),
                        "failed");
    assert_string_equal(json_string_value(json_object_get(e, "version")),
                        "v1.2.3");
    assert_string_equal(json_string_value(json_object_get(e, "sha")),
                        "0123456789abcdef0123456789abcdef01234567");
    assert_string_equal(json_string_value(json_object_get(e, "actor")),
                        "paved (run 4)");
    assert_string_equal(json_string_value(json_object_get(e, "reason")),
                        "tag v1.2.3");
    assert_true(json_is_null(json_object_get(e, "repo")));
    assert_true(json_is_null(json_object_get(e, "artifact")));
    assert_true(json_is_null(json_object_get(e, "digest")));
    assert_int_equal(json_integer_value(json_object_get(e, "run_id")), 4);
    assert_string_equal(json_string_value(json_object_get(e, "created_at")),
                        "2025-11-27T05:01:02.123Z");
    /* the detail is JSON, not a string; text that is not JSON is null */
    assert_true(json_is_real(json_object_get(
        json_array_get(json_object_get(json_object_get(e, "detail"), "checks"),
                       0),
        "value")));
    assert_true(
        json_is_null(json_object_get(json_array_get(list, 0), "detail")));
    assert_true(
        json_is_null(json_object_get(json_array_get(list, 3), "detail")));
    assert_true(
        json_is_null(json_object_get(json_array_get(list, 2), "run_id")));
    json_decref(doc);

    /* filters */
    doc = call(f, 200, "GET", "/api/v1/deployments",
               "service=checkout&env=production");
    list = json_object_get(doc, "deployments");
    assert_int_equal(json_array_size(list), 2);
    assert_int_equal(item_id(list, 0), c);
    assert_int_equal(item_id(list, 1), b);
    json_decref(doc);
    doc = call(f, 200, "GET", "/api/v1/deployments",
               "service=checkout&action=deploy");
    list = json_object_get(doc, "deployments");
    assert_int_equal(json_array_size(list), 1);
    assert_int_equal(item_id(list, 0), a);
    json_decref(doc);
    doc = call(f, 200, "GET", "/api/v1/deployments", "service=nobody");
    assert_int_equal(json_array_size(json_object_get(doc, "deployments")), 0);
    assert_true(json_is_null(json_object_get(doc, "next_before")));
    json_decref(doc);

    /* paging: next_before is the id to continue from, null at the end */
    doc = call(f, 200, "GET", "/api/v1/deployments", "limit=3");
    list = json_object_get(doc, "deployments");
    assert_int_equal(json_array_size(list), 3);
    assert_int_equal(item_id(list, 2), b);
    assert_int_equal(json_integer_value(json_object_get(doc, "next_before")),
                     b);
    json_decref(doc);
    snprintf(q, sizeof(q), "limit=3&before=%lld", (long long)b);
    doc = call(f, 200, "GET", "/api/v1/deployments", q);
    list = json_object_get(doc, "deployments");
    assert_int_equal(json_array_size(list), 1);
    assert_int_equal(item_id(list, 0), a);
    assert_true(json_is_null(json_object_get(doc, "next_before")));
    json_decref(doc);
    doc = call(f, 200, "GET", "/api/v1/deployments", "limit=4");
    assert_true(json_is_null(json_object_get(doc, "next_before")));
    json_decref(doc);

    /* bad parameters say what is wrong */
    doc = call(f, 400, "GET", "/api/v1/deployments", "limit=0");
    assert_non_null(
        strstr(json_string_value(json_object_get(doc, "error")), "limit"));
    json_decref(doc);
    doc = call(f, 400, "GET", "/api/v1/deployments", "before=x");
    assert_non_null(
        strstr(json_string_value(json_object_get(doc, "error")), "before"));
    json_decref(doc);
    doc = call(f, 400, "GET", "/api/v1/deployments", "action=explode");
    assert_non_null(
        strstr(json_string_value(json_object_get(doc, "error")), "action"));
    json_decref(doc);
    doc = call(f, 400, "GET", "/api/v1/deployments", "env=Prod");
    assert_non_null(
        strstr(json_string_value(json_object_get(doc, "error")), "env"));
    json_decref(doc);
    doc = call(f, 400, "GET", "/api/v1/deployments", "service=a%20b");
    assert_non_null(
        strstr(json_string_value(json_object_get(doc, "error")), "service"));
    json_decref(doc);
    json_decref(call(f, 400, "GET", "/api/v1/deployments", "service="));
    json_decref(call(f, 405, "POST", "/api/v1/deployments", NULL));
    json_decref(call(f, 404, "GET", "/api/v1/deployments/1", NULL));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_newest_first),
        cmocka_unit_test(test_detail_has_payload),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_deployments),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
