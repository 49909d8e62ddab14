/* Unit tests for src/report/checkrun.c: the exact GitHub check-run
 * requests (create and update, byte for byte), every state mapping, the
 * title, summary and text cuts (with multibyte and invalid UTF-8 at the
 * limits), annotations in batches of 50 and their checks, the 1 MiB body
 * cap, refused inputs, and the "id" of GitHub's answers. Bodies are also
 * validated against the request schemas of checks/create and
 * checks/update in GitHub's own OpenAPI description (npm @octokit/openapi,
 * installed by tests/integration/run.sh); that test is skipped, saying
 * so, when the package is not installed. Never touches the network. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "paved/buf.h"
#include "paved/error.h"
#include "paved/forgeapi.h"
#include "paved/jscan.h"

#define API "https://api.github.com"
#define TOKEN "ghs_16C7e42F292c6912E7710c838347Ae178B4a"
#define SHA "ce587453ced02b1526dfb4cb910479d431683101"
#define NOTE PAVED_FORGEAPI_CHECK_CUT_NOTE
#define BODY_MAX (1024 * 1024 - 1)

#define OPENAPI                                                                \
    "tests/integration/node_modules/@octokit/openapi/generated/"               \
    "api.github.com.json"

/* the request-body schemas, when the OpenAPI package is installed */
struct schemas {
    json_t *s_create;
    json_t *s_update;
};

static const struct paved_forge_endpoint github = {PAVED_FORGEAPI_GITHUB, API,
                                                   TOKEN};

/* a run in the middle of its life; tests change what they look at */
static struct paved_check_run
run(void)
{
    struct paved_check_run cr;

    memset(&cr, 0, sizeof(cr));
    cr.cr_repo = "octo-org/hello.world";
    cr.cr_sha = SHA;
    cr.cr_name = "paved/service";
    cr.cr_state = PAVED_STATUS_RUNNING;
    cr.cr_title = "build running";
    return cr;
}

static json_t *
body_json(const struct paved_http_request *r)
{
    json_error_t err;
    json_t *j;

    assert_non_null(r->hr_body);
    assert_int_equal(strlen(r->hr_body), r->hr_body_len);
    j = json_loadb(r->hr_body, r->hr_body_len, JSON_REJECT_DUPLICATES, &err);
    if (j == NULL)
        fail_msg("body is not JSON: %s", err.text);
    return j;
}

/* output.<key> of a built body, a malloc'd copy, NULL when absent */
static char *
output_string(const struct paved_http_request *r, const char *key)
{
    json_t *root = body_json(r), *v;
    char *s = NULL;

    v = json_object_get(json_object_get(root, "output"), key);
    if (v != NULL) {
        assert_true(json_is_string(v));
        s = strdup(json_string_value(v));
        assert_non_null(s);
    }
    json_decref(root);
    return s;
}

static char *
repeat(const char *unit, size_t times)
{
    size_t n = strlen(unit), i;
    char *s = malloc(n * times + 1);

    assert_non_null(s);
    for (i = 0; i < times; i++)
        memcpy(s + i * n, unit, n);
    s[n * times] = '\0';
    return s;
}

static int
ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);

    return n >= t && memcmp(s + n - t, tail, t) == 0;
}

static long
utf8_chars(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    long n = 0;

    if (!paved_jscan_valid_utf8(s, strlen(s)))
        return -1;
    for (; *u != '\0'; u++)
        if ((*u & 0xc0) != 0x80)
            n++;
    return n;
}

static void
assert_zeroed(const struct paved_http_request *r)
{
    assert_null(r->hr_method);
    assert_null(r->hr_url);
    assert_null(r->hr_headers);
    assert_int_equal(r->hr_nheaders, 0);
    assert_null(r->hr_body);
    assert_int_equal(r->hr_body_len, 0);
}

/*
 * A small checker for the OpenAPI 3.0 subset these two schemas use (the
 * same rules as tests/integration/lib/forge.js validateSchema(), strict
 * about properties a schema does not name).
 */

static void
schema_fail(struct paved_buf *errs, const char *at, const char *what)
{
    (void)paved_buf_printf(errs, "%s: %s\n", at, what);
}

static int
schema_type_ok(const char *want, json_t *v)
{
    if (strcmp(want, "string") == 0)
        return json_is_string(v);
    if (strcmp(want, "integer") == 0)
        return json_is_integer(v);
    if (strcmp(want, "number") == 0)
        return json_is_number(v);
    if (strcmp(want, "object") == 0)
        return json_is_object(v);
    if (strcmp(want, "array") == 0)
        return json_is_array(v);
    if (strcmp(want, "boolean") == 0)
        return json_is_boolean(v);
    return 0;
}

static void
schema_check(json_t *s, json_t *v, const char *at, struct paved_buf *errs)
{
    json_t *type, *sub, *props, *item, *x;
    const char *key;
    char path[256];
    size_t i, ok;

    if (!json_is_object(s))
        return;
    if ((sub = json_object_get(s, "anyOf")) != NULL) {
        ok = 0;
        json_array_foreach(sub, i, x)
        {
            struct paved_buf e = PAVED_BUF_INIT(1 << 20);

            schema_check(x, v, at, &e);
            ok += e.b_len == 0;
            paved_buf_dispose(&e);
        }
        if (ok == 0)
            schema_fail(errs, at, "matches none of the anyOf subschemas");
    }
    if (json_is_null(v)) {
        if (json_is_true(json_object_get(s, "nullable")))
            return;
        if (json_object_get(s, "type") != NULL) {
            schema_fail(errs, at, "null is not allowed");
            return;
        }
    }
    type = json_object_get(s, "type");
    if (json_is_string(type) && !schema_type_ok(json_string_value(type), v)) {
        schema_fail(errs, at, "wrong type");
        return;
    }
    if ((sub = json_object_get(s, "enum")) != NULL) {
        ok = 0;
        json_array_foreach(sub, i, x) ok += json_equal(x, v);
        if (ok == 0)
            schema_fail(errs, at, "not one of the enum");
    }
    if (json_is_string(v) && json_is_integer(json_object_get(s, "maxLength")) &&
        utf8_chars(json_string_value(v)) >
            json_integer_value(json_object_get(s, "maxLength")))
        schema_fail(errs, at, "longer than maxLength");
    if (json_is_array(v) && json_is_integer(json_object_get(s, "maxItems")) &&
        (json_int_t)json_array_size(v) >
            json_integer_value(json_object_get(s, "maxItems")))
        schema_fail(errs, at, "more than maxItems");
    if (json_is_object(v)) {
        json_array_foreach(json_object_get(s, "required"), i, x)
        {
            if (json_object_get(v, json_string_value(x)) == NULL) {
                snprintf(path, sizeof(path), "required \"%s\" missing",
                         json_string_value(x));
                schema_fail(errs, at, path);
            }
        }
        props = json_object_get(s, "properties");
        json_object_foreach(v, key, item)
        {
            snprintf(path, sizeof(path), "%s.%s", at, key);
            if ((sub = json_object_get(props, key)) != NULL)
                schema_check(sub, item, path, errs);
            else if (json_is_false(
                         json_object_get(s, "additionalProperties")) ||
                     (props != NULL &&
                      json_object_get(s, "additionalProperties") == NULL))
                schema_fail(errs, path, "not in the schema");
        }
    }
    if (json_is_array(v) && (sub = json_object_get(s, "items")) != NULL) {
        json_array_foreach(v, i, item)
        {
            snprintf(path, sizeof(path), "%s[%zu]", at, i);
            schema_check(sub, item, path, errs);
        }
    }
}

/* the body of r against GitHub's schema for its operation */
static void
assert_schema_valid(const struct schemas *sc,
                    const struct paved_http_request *r)
{
    struct paved_buf errs = PAVED_BUF_INIT(1 << 20);
    json_t *body;

    if (sc == NULL || sc->s_create == NULL)
        return;
    body = body_json(r);
    schema_check(strcmp(r->hr_method, "POST") == 0 ? sc->s_create
                                                   : sc->s_update,
                 body, "body", &errs);
    json_decref(body);
    if (errs.b_len > 0)
        fail_msg("%s %s is not what GitHub takes:\n%s", r->hr_method, r->hr_url,
                 errs.b_ptr);
    paved_buf_dispose(&errs);
}

static json_t *
openapi_schema(const unsigned char *doc, size_t len, const char *path,
               const char *method)
{
    char fpath[256];
    struct paved_jscan_field f = {.jf_path = fpath};
    json_t *s;

    snprintf(fpath, sizeof(fpath),
             "paths.%s.%s.requestBody.content.application/json.schema", path,
             method);
    assert_int_equal(paved_jscan(doc, len, &f, 1), 0);
    assert_int_equal(f.jf_type, PAVED_JSON_OBJECT);
    s = json_loadb((const char *)f.jf_start, f.jf_len, 0, NULL);
    assert_non_null(s);
    return s;
}

static int
setup(void **state)
{
    const char *src = getenv("PAVED_SOURCE_DIR");
    struct schemas *sc = calloc(1, sizeof(*sc));
    unsigned char *doc;
    char path[4096];
    long size;
    FILE *fp;

    if (sc == NULL)
        return -1;
    *state = sc;
    snprintf(path, sizeof(path), "%s/%s", src != NULL ? src : ".", OPENAPI);
    if ((fp = fopen(path, "rb")) == NULL)
        return 0; /* test_openapi_schemas says it skipped */
    fseek(fp, 0, SEEK_END);
    size = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    doc = malloc((size_t)size + 1);
    if (doc == NULL || fread(doc, 1, (size_t)size, fp) != (size_t)size) {
        fclose(fp);
        free(doc);
        return -1;
    }
    fclose(fp);
    /* one pass over 13 MB for each, no tree of the whole description */
    sc->s_create = openapi_schema(doc, (size_t)size,
                                  "/repos/{owner}/{repo}/check-runs", "post");
    sc->s_update = openapi_schema(
        doc, (size_t)size, "/repos/{owner}/{repo}/check-runs/{check_run_id}",
        "patch");
    free(doc);
    return 0;
}

static int
teardown(void **state)
{
    struct schemas *sc = *state;

    if (sc != NULL) {
        json_decref(sc->s_create);
        json_decref(sc->s_update);
        free(sc);
    }
    return 0;
}

/*
 * Requests
 */

static void
test_create_exact(void **state)
{
    static const char *const headers[] = {
        "Accept: application/vnd.github+json",
        "Authorization: token " TOKEN,
        "Content-Type: application/json; charset=utf-8",
        "User-Agent: paved",
        "X-GitHub-Api-Version: 2022-11-28",
    };
    struct paved_check_run cr = run();
    struct paved_http_request r;
    size_t nsent = 99, i;

    cr.cr_sha = "CE587453CED02B1526DFB4CB910479D431683101"; /* sent lower */
    cr.cr_title = "build and test running";
    cr.cr_summary = "| step | state |\n| --- | --- |\n| build | running |";
    cr.cr_details_url = "https://paved.example/runs/42";
    cr.cr_external_id = "42";
    assert_int_equal(paved_forgeapi_check_run(&r, &nsent, &github, &cr), 0);
    assert_int_equal(nsent, 0);
    assert_string_equal(r.hr_method, "POST");
    assert_string_equal(r.hr_url, "https://api.github.com/repos/octo-org/"
                                  "hello.world/check-runs");
    assert_int_equal(r.hr_nheaders, 5);
    for (i = 0; i < 5; i++)
        assert_string_equal(r.hr_headers[i], headers[i]);
    assert_string_equal(
        r.hr_body,
        "{\"name\":\"paved/service\",\"head_sha\":\"" SHA "\","
        "\"details_url\":\"https://paved.example/runs/42\","
        "\"external_id\":\"42\",\"status\":\"in_progress\","
        "\"output\":{\"title\":\"build and test running\","
        "\"summary\":\"| step | state |\\n| --- | --- |\\n| build | running "
        "|\"}}");
    assert_int_equal(r.hr_body_len, strlen(r.hr_body));
    assert_schema_valid(*state, &r);
    paved_http_request_dispose(&r);
    assert_zeroed(&r);

    /* the least a create can be: no URL, id, summary (the title stands
     * in), text or annotations */
    cr = run();
    cr.cr_state = PAVED_STATUS_PENDING;
    cr.cr_details_url = "";
    cr.cr_external_id = "";
    assert_int_equal(paved_forgeapi_check_run(&r, &nsent, &github, &cr), 0);
    assert_string_equal(r.hr_body,
                        "{\"name\":\"paved/service\",\"head_sha\":\"" SHA
                        "\",\"status\":\"queued\",\"output\":{"
                        "\"title\":\"build running\",\"summary\":"
                        "\"build running\"}}");
    assert_schema_valid(*state, &r);
    paved_http_request_dispose(&r);
}

static void
test_update_exact(void **state)
{
    struct paved_check_run cr = run();
    struct paved_http_request r;
    size_t nsent = 0;

    cr.cr_id = 4;
    cr.cr_state = PAVED_STATUS_FAILURE;
    cr.cr_title = "test failed";
    cr.cr_summary = "| step | state |\n|---|---|\n| test | failure |";
    cr.cr_text = "```\nFAIL: x\n```";
    cr.cr_details_url = "https://paved.example/runs/42";
    cr.cr_external_id = "42";
    cr.cr_annotations =
        "[{\"path\":\"src/a.c\",\"start_line\":3,\"end_line\":3,"
        "\"annotation_level\":\"failure\",\"message\":\"boom\","
        "\"title\":\"cc\",\"start_column\":5,\"end_column\":9,"
        "\"raw_details\":\"not sent\"},"
        "{\"message\":\"m\",\"annotation_level\":\"warning\",\"end_line\":7,"
        "\"start_line\":2,\"path\":\"b.py\",\"start_column\":1}]";
    assert_int_equal(paved_forgeapi_check_run(&r, &nsent, &github, &cr), 0);
    assert_int_equal(nsent, 2);
    assert_string_equal(r.hr_method, "PATCH");
    assert_string_equal(r.hr_url, "https://api.github.com/repos/octo-org/"
                                  "hello.world/check-runs/4");
    assert_int_equal(r.hr_nheaders, 5);
    assert_string_equal(r.hr_headers[1], "Authorization: token " TOKEN);
    /* no head_sha; GitHub's key order in the annotations; columns only on
     * one line; raw_details is not paved's to send */
    assert_string_equal(
        r.hr_body,
        "{\"name\":\"paved/service\","
        "\"details_url\":\"https://paved.example/runs/42\","
        "\"external_id\":\"42\",\"status\":\"completed\","
        "\"conclusion\":\"failure\",\"output\":{\"title\":\"test failed\","
        "\"summary\":\"| step | state |\\n|---|---|\\n| test | failure |\","
        "\"text\":\"```\\nFAIL: x\\n```\",\"annotations\":["
        "{\"path\":\"src/a.c\",\"start_line\":3,\"end_line\":3,"
        "\"annotation_level\":\"failure\",\"message\":\"boom\","
        "\"title\":\"cc\",\"start_column\":5,\"end_column\":9},"
        "{\"path\":\"b.py\",\"start_line\":2,\"end_line\":7,"
        "\"annotation_level\":\"warning\",\"message\":\"m\"}]}}");
    assert_schema_valid(*state, &r);
    paved_http_request_dispose(&r);

    /* a big id, and a 64-digit SHA-256 commit (head_sha only on POST) */
    cr = run();
    cr.cr_id = INT64_MAX;
    cr.cr_state = PAVED_STATUS_SUCCESS;
    cr.cr_sha = SHA "0123456789abcdef01234567";
    assert_int_equal(paved_forgeapi_check_run(&r, &nsent, &github, &cr), 0);
    assert_int_equal(nsent, 0);
    assert_string_equal(r.hr_url, "https://api.github.com/repos/octo-org/"
                                  "hello.world/check-runs/9223372036854775807");
    assert_string_equal(r.hr_body,
                        "{\"name\":\"paved/service\",\"status\":\"completed\","
                        "\"conclusion\":\"success\",\"output\":{\"title\":"
                        "\"build running\",\"summary\":\"build running\"}}");
    paved_http_request_dispose(&r);
}

static void
test_states(void **state)
{
    static const struct {
        enum paved_status_state st;
        const char *status, *conclusion, *title;
    } want[] = {
        {PAVED_STATUS_PENDING, "queued", NULL, "queued"},
        {PAVED_STATUS_RUNNING, "in_progress", NULL, "running"},
        {PAVED_STATUS_SUCCESS, "completed", "success", "success"},
        {PAVED_STATUS_FAILURE, "completed", "failure", "failure"},
        {PAVED_STATUS_ERROR, "completed", "failure", "error"},
        {PAVED_STATUS_CANCELLED, "completed", "cancelled", "cancelled"},
    };
    struct paved_check_run cr = run();
    struct paved_http_request r;
    json_t *root, *c;
    size_t i, nsent;
    int id;

    for (id = 0; id <= 1; id++) {
        for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
            cr.cr_state = want[i].st;
            cr.cr_id = id ? 77 : 0;
            /* no description: the state names the run */
            cr.cr_title = id ? "" : NULL;
            assert_int_equal(paved_forgeapi_check_run(&r, &nsent, &github, &cr),
                             0);
            root = body_json(&r);
            assert_string_equal(
                json_string_value(json_object_get(root, "status")),
                want[i].status);
            c = json_object_get(root, "conclusion");
            if (want[i].conclusion == NULL)
                assert_null(c);
            else
                assert_string_equal(json_string_value(c), want[i].conclusion);
            assert_string_equal(json_string_value(json_object_get(
                                    json_object_get(root, "output"), "title")),
                                want[i].title);
            assert_int_equal(json_object_get(root, "head_sha") != NULL, !id);
            json_decref(root);
            assert_schema_valid(*state, &r);
            paved_http_request_dispose(&r);
        }
    }
    /* a skipped pipeline: success with the reason */
    cr = run();
    cr.cr_state = PAVED_STATUS_SUCCESS;
    cr.cr_title = "skipped: no file matches paths";
    assert_int_equal(paved_forgeapi_check_run(&r, &nsent, &github, &cr), 0);
    assert_non_null(strstr(r.hr_body, "\"status\":\"completed\","
                                      "\"conclusion\":\"success\",\"output\":"
                                      "{\"title\":\"skipped: no file matches "
                                      "paths\""));
    paved_http_request_dispose(&r);
    /* a state that does not exist */
    cr.cr_state = (enum paved_status_state)6;
    assert_int_equal(paved_forgeapi_check_run(&r, &nsent, &github, &cr),
                     PAVED_EINVAL);
    assert_zeroed(&r);
    cr.cr_state = (enum paved_status_state) - 1;
    assert_int_equal(paved_forgeapi_check_run(&r, &nsent, &github, &cr),
                     PAVED_EINVAL);
}

static void
test_title(void **state)
{
    struct paved_check_run cr = run();
    struct paved_http_request r;
    char *long_title, *t, *s, *want;
    size_t nsent;

    /* one line: controls become spaces; the summary (NULL) is the title */
    cr.cr_title = "build\nfailed:\texit 2\r";
    assert_int_equal(paved_forgeapi_check_run(&r, &nsent, &github, &cr), 0);
    t = output_string(&r, "title");
    s = output_string(&r, "summary");
    assert_string_equal(t, "build failed: exit 2 ");
    assert_string_equal(s, "build failed: exit 2 ");
    free(t);
    free(s);
    paved_http_request_dispose(&r);

    /* 300 three-byte characters: 254 kept, then "…" */
    long_title = repeat("\xe2\x82\xac", 300); /* € */
    cr.cr_title = long_title;
    cr.cr_summary = "";
    assert_int_equal(paved_forgeapi_check_run(&r, &nsent, &github, &cr), 0);
    t = output_string(&r, "title");
    assert_int_equal(utf8_chars(t), PAVED_FORGEAPI_CHECK_TITLE_MAX);
    want = repeat("\xe2\x82\xac", 254);
    assert_int_equal(strncmp(t, want, strlen(want)), 0);
    assert_true(ends_with(t, "\xe2\x80\xa6"));
    s = output_string(&r, "summary");
    assert_string_equal(s, ""); /* "" is a summary, not "none" */
    assert_schema_valid(*state, &r);
    free(t);
    free(s);
    free(want);
    free(long_title);
    paved_http_request_dispose(&r);

    /* exactly 255 characters: untouched */
    long_title = repeat("x", 255);
    cr.cr_title = long_title;
    assert_int_equal(paved_forgeapi_check_run(&r, &nsent, &github, &cr), 0);
    t = output_string(&r, "title");
    assert_string_equal(t, long_title);
    free(t);
    free(long_title);
    paved_http_request_dispose(&r);

    /* invalid UTF-8 becomes U+FFFD, never a body jansson refuses */
    cr.cr_title = "bad \xff\xfe byte";
    assert_int_equal(paved_forgeapi_check_run(&r, &nsent, &github, &cr), 0);
    t = output_string(&r, "title");
    assert_string_equal(t, "bad \xef\xbf\xbd\xef\xbf\xbd byte");
    free(t);
    paved_http_request_dispose(&r);
}

/* text built with summary and text set to s: both cut the same way */
static void
check_cut(const void *state, const char *s, const char *want)
{
    struct paved_check_run cr = run();
    struct paved_http_request r;
    char *sum, *text;
    size_t nsent;

    cr.cr_state = PAVED_STATUS_FAILURE;
    cr.cr_summary = s;
    cr.cr_text = s;
    assert_int_equal(paved_forgeapi_check_run(&r, &nsent, &github, &cr), 0);
    sum = output_string(&r, "summary");
    text = output_string(&r, "text");
    assert_non_null(sum);
    assert_non_null(text);
    assert_string_equal(sum, text);
    assert_true(paved_jscan_valid_utf8(text, strlen(text)));
    assert_true(strlen(text) <= PAVED_FORGEAPI_CHECK_TEXT_MAX);
    if (want != NULL)
        assert_string_equal(text, want);
    assert_schema_valid(state, &r);
    free(sum);
    free(text);
    paved_http_request_dispose(&r);
}

static void
test_text_cut(void **state)
{
    size_t notelen = strlen(NOTE), keep;
    char *s, *want;

    /* exactly the limit: untouched; one byte more: cut to exactly the
     * limit, "…" where the text stops, then the note */
    s = repeat("a", 65535);
    check_cut(*state, s, s);
    free(s);
    s = repeat("a", 65536);
    keep = 65535 - notelen - 3;
    want = malloc(65536);
    assert_non_null(want);
    memset(want, 'a', keep);
    memcpy(want + keep, "\xe2\x80\xa6" NOTE, 3 + notelen + 1);
    assert_int_equal(strlen(want), 65535);
    check_cut(*state, s, want);
    free(s);
    free(want);

    /* two-byte characters: the cut never splits one, so the result is
     * one byte short of the limit when the parity says so */
    s = repeat("\xc3\xa9", 40000); /* é, 80000 bytes */
    keep = 65535 - notelen - 3;
    keep -= keep % 2;
    want = malloc(65536);
    assert_non_null(want);
    memcpy(want, s, keep);
    memcpy(want + keep, "\xe2\x80\xa6" NOTE, 3 + notelen + 1);
    check_cut(*state, s, want);
    assert_true(strlen(want) >= 65534);
    free(s);
    free(want);

    /* four-byte characters (emoji) */
    s = repeat("\xf0\x9f\x9a\x80", 20000);
    keep = 65535 - notelen - 3;
    keep -= keep % 4;
    want = malloc(65536);
    assert_non_null(want);
    memcpy(want, s, keep);
    memcpy(want + keep, "\xe2\x80\xa6" NOTE, 3 + notelen + 1);
    check_cut(*state, s, want);
    free(s);
    free(want);

    /* bad bytes become three-byte U+FFFD: 21845 of them fill the limit
     * exactly, 21846 are cut although the input is far shorter */
    s = repeat("\xff", 21845);
    want = repeat("\xef\xbf\xbd", 21845);
    check_cut(*state, s, want);
    free(s);
    free(want);
    s = repeat("\xff", 21846);
    keep = (65535 - notelen - 3) / 3;
    want = malloc(65536);
    assert_non_null(want);
    for (size_t i = 0; i < keep; i++)
        memcpy(want + 3 * i, "\xef\xbf\xbd", 3);
    memcpy(want + 3 * keep, "\xe2\x80\xa6" NOTE, 3 + notelen + 1);
    check_cut(*state, s, want);
    free(s);
    free(want);

    /* a log with line breaks keeps them (it is Markdown, not a title) */
    check_cut(*state, "line 1\nline 2\r\n\ttabbed",
              "line 1\nline 2\r\n\ttabbed");
    /* a huge text costs no huge copy and still ends with the note */
    s = repeat("0123456789abcdef", 1 << 16); /* 1 MiB */
    check_cut(*state, s, NULL);
    free(s);
}

/* one valid annotation per index: path "f<i>.c", line i + 1 */
static char *
annotations(size_t n)
{
    struct paved_buf b = PAVED_BUF_INIT(SIZE_MAX / 2);
    size_t i;

    assert_int_equal(paved_buf_putc(&b, '['), 0);
    for (i = 0; i < n; i++)
        assert_int_equal(
            paved_buf_printf(&b,
                             "%s{\"path\":\"f%zu.c\",\"start_line\":%zu,"
                             "\"end_line\":%zu,\"annotation_level\":\"%s\","
                             "\"message\":\"m%zu\"}",
                             i ? "," : "", i, i + 1, i + 1,
                             i % 3 == 0   ? "notice"
                             : i % 3 == 1 ? "warning"
                                          : "failure",
                             i),
            0);
    assert_int_equal(paved_buf_putc(&b, ']'), 0);
    return paved_buf_detach(&b, NULL);
}

/* the paths of the annotations r carries, as "f1.c,f2.c" */
static char *
carried(const struct paved_http_request *r)
{
    struct paved_buf b = PAVED_BUF_INIT(SIZE_MAX / 2);
    json_t *root = body_json(r), *list, *a;
    size_t i;

    list = json_object_get(json_object_get(root, "output"), "annotations");
    if (list != NULL) {
        assert_true(json_array_size(list) >= 1);
        assert_true(json_array_size(list) <= 50);
    }
    json_array_foreach(list, i, a)
    {
        if (i > 0)
            assert_int_equal(paved_buf_putc(&b, ','), 0);
        assert_int_equal(
            paved_buf_puts(&b, json_string_value(json_object_get(a, "path"))),
            0);
    }
    json_decref(root);
    return paved_buf_detach(&b, NULL);
}

static void
test_annotations_batches(void **state)
{
    struct paved_check_run cr = run();
    struct paved_http_request r;
    char *all = annotations(120), *got;
    json_t *root, *list;
    size_t nsent, i, from = 0, calls = 0;
    const size_t want[] = {50, 50, 20, 0};

    cr.cr_state = PAVED_STATUS_FAILURE;
    cr.cr_annotations = all;
    for (calls = 0; calls < 4; calls++) {
        cr.cr_annotations_from = from;
        cr.cr_id = calls == 0 ? 0 : 5; /* create, then PATCHes */
        assert_int_equal(paved_forgeapi_check_run(&r, &nsent, &github, &cr), 0);
        assert_int_equal(nsent, want[calls]);
        root = body_json(&r);
        list = json_object_get(json_object_get(root, "output"), "annotations");
        if (nsent == 0) {
            assert_null(list);
        } else {
            assert_int_equal(json_array_size(list), nsent);
            for (i = 0; i < nsent; i++) {
                json_t *a = json_array_get(list, i);
                char p[32];

                snprintf(p, sizeof(p), "f%zu.c", from + i);
                assert_string_equal(
                    json_string_value(json_object_get(a, "path")), p);
                assert_true(json_is_integer(json_object_get(a, "start_line")));
                assert_int_equal(
                    json_integer_value(json_object_get(a, "start_line")),
                    from + i + 1);
            }
        }
        /* every request repeats the state and the output's title and
         * summary */
        assert_string_equal(json_string_value(json_object_get(root, "status")),
                            "completed");
        assert_string_equal(
            json_string_value(json_object_get(root, "conclusion")), "failure");
        assert_non_null(
            json_object_get(json_object_get(root, "output"), "summary"));
        json_decref(root);
        assert_schema_valid(*state, &r);
        paved_http_request_dispose(&r);
        from += nsent;
    }
    assert_int_equal(from, 120);
    /* past the end: nothing left */
    cr.cr_annotations_from = 1000;
    assert_int_equal(paved_forgeapi_check_run(&r, &nsent, &github, &cr), 0);
    assert_int_equal(nsent, 0);
    got = carried(&r);
    assert_string_equal(got, "");
    free(got);
    paved_http_request_dispose(&r);
    /* "[]" carries nothing either */
    cr.cr_annotations = " [ ] ";
    cr.cr_annotations_from = 0;
    assert_int_equal(paved_forgeapi_check_run(&r, &nsent, &github, &cr), 0);
    assert_int_equal(nsent, 0);
    assert_null(strstr(r.hr_body, "annotations"));
    paved_http_request_dispose(&r);
    free(all);
}

static void
test_annotations_invalid(void **state)
{
    struct paved_check_run cr = run();
    struct paved_http_request r;
    struct paved_buf b = PAVED_BUF_INIT(SIZE_MAX / 2);
    char *got, *list;
    size_t nsent, i;

    cr.cr_state = PAVED_STATUS_FAILURE;
    /* 3 good ones among every kind of bad one */
    cr.cr_annotations =
        "[{\"path\":\"good1\",\"start_line\":1,\"end_line\":1,"
        "\"annotation_level\":\"notice\",\"message\":\"m\"},"
        "\"a string\",42,null,[],{},"
        "{\"start_line\":1,\"end_line\":1,\"annotation_level\":\"notice\","
        "\"message\":\"no path\"},"
        "{\"path\":\"\",\"start_line\":1,\"end_line\":1,"
        "\"annotation_level\":\"notice\",\"message\":\"empty path\"},"
        "{\"path\":\"a\\nb\",\"start_line\":1,\"end_line\":1,"
        "\"annotation_level\":\"notice\",\"message\":\"two-line path\"},"
        "{\"path\":\"p\",\"start_line\":\"1\",\"end_line\":1,"
        "\"annotation_level\":\"notice\",\"message\":\"string line\"},"
        "{\"path\":\"p\",\"start_line\":0,\"end_line\":1,"
        "\"annotation_level\":\"notice\",\"message\":\"line 0\"},"
        "{\"path\":\"p\",\"start_line\":1.5,\"end_line\":2,"
        "\"annotation_level\":\"notice\",\"message\":\"real line\"},"
        "{\"path\":\"p\",\"start_line\":5,\"end_line\":4,"
        "\"annotation_level\":\"notice\",\"message\":\"backwards\"},"
        "{\"path\":\"p\",\"start_line\":1,\"end_line\":2147483648,"
        "\"annotation_level\":\"notice\",\"message\":\"past int32\"},"
        "{\"path\":\"p\",\"start_line\":1,\"end_line\":1,"
        "\"annotation_level\":\"error\",\"message\":\"bad level\"},"
        "{\"path\":\"p\",\"start_line\":1,\"end_line\":1,"
        "\"annotation_level\":\"Notice\",\"message\":\"case\"},"
        "{\"path\":\"p\",\"start_line\":1,\"end_line\":1,"
        "\"annotation_level\":\"notice\",\"message\":\"\"},"
        "{\"path\":\"p\",\"start_line\":1,\"end_line\":1,"
        "\"annotation_level\":\"notice\"},"
        "{\"path\":\"p\",\"start_line\":1,\"end_line\":1,"
        "\"annotation_level\":\"notice\",\"message\":\"t\",\"title\":7},"
        "{\"path\":\"p\",\"start_line\":1,\"end_line\":1,"
        "\"annotation_level\":\"notice\",\"message\":\"c\","
        "\"start_column\":\"3\"},"
        "{\"path\":\"p\",\"start_line\":1,\"end_line\":1,"
        "\"annotation_level\":\"notice\",\"message\":\"c\","
        "\"start_column\":9,\"end_column\":3},"
        "{\"path\":\"good2\",\"start_line\":2,\"end_line\":9,"
        "\"annotation_level\":\"warning\",\"message\":\"multi\","
        "\"start_column\":9,\"end_column\":3,\"title\":null},"
        "{\"path\":\"good3\",\"start_line\":2147483647,"
        "\"end_line\":2147483647,\"annotation_level\":\"failure\","
        "\"message\":\"x\",\"title\":\"\",\"start_column\":null,"
        "\"end_column\":4}]";
    assert_int_equal(paved_forgeapi_check_run(&r, &nsent, &github, &cr), 0);
    assert_int_equal(nsent, 23); /* everything: the bad ones are dropped */
    got = carried(&r);
    assert_string_equal(got, "good1,good2,good3");
    free(got);
    /* good2: columns dropped (two lines); good3: an empty title and a
     * null column are none */
    assert_non_null(
        strstr(r.hr_body, "{\"path\":\"good2\",\"start_line\":2,\"end_line\":9,"
                          "\"annotation_level\":\"warning\",\"message\":"
                          "\"multi\"}"));
    assert_non_null(strstr(r.hr_body, "{\"path\":\"good3\",\"start_line\":"
                                      "2147483647,\"end_line\":2147483647,"
                                      "\"annotation_level\":\"failure\","
                                      "\"message\":\"x\",\"end_column\":4}"));
    assert_schema_valid(*state, &r);
    paved_http_request_dispose(&r);

    /* only bad ones: all dropped at once, no "annotations" sent */
    cr.cr_annotations = "[1,2,{\"path\":\"p\"}]";
    assert_int_equal(paved_forgeapi_check_run(&r, &nsent, &github, &cr), 0);
    assert_int_equal(nsent, 3);
    assert_null(strstr(r.hr_body, "annotations"));
    paved_http_request_dispose(&r);

    /* 60 good with a bad one after every tenth: the first request carries
     * 50 good ones, drops the 4 bad ones among them and the one right
     * after the 50th; the next starts at a good one */
    assert_int_equal(paved_buf_putc(&b, '['), 0);
    for (i = 0; i < 60; i++) {
        assert_int_equal(paved_buf_printf(&b,
                                          "%s{\"path\":\"g%zu\",\"start_line\":"
                                          "1,\"end_line\":1,\"annotation_"
                                          "level\":\"notice\",\"message\":"
                                          "\"m\"}",
                                          i ? "," : "", i),
                         0);
        if (i % 10 == 9)
            assert_int_equal(paved_buf_puts(&b, ",\"bad\""), 0);
    }
    assert_int_equal(paved_buf_putc(&b, ']'), 0);
    list = paved_buf_detach(&b, NULL);
    cr.cr_annotations = list;
    assert_int_equal(paved_forgeapi_check_run(&r, &nsent, &github, &cr), 0);
    assert_int_equal(nsent, 55);
    got = carried(&r);
    assert_true(strncmp(got, "g0,g1,", 6) == 0);
    assert_true(ends_with(got, ",g49"));
    free(got);
    paved_http_request_dispose(&r);
    cr.cr_annotations_from = 55;
    assert_int_equal(paved_forgeapi_check_run(&r, &nsent, &github, &cr), 0);
    assert_int_equal(nsent, 11);
    got = carried(&r);
    assert_string_equal(got, "g50,g51,g52,g53,g54,g55,g56,g57,g58,g59");
    free(got);
    paved_http_request_dispose(&r);
    free(list);
}

static void
test_annotations_not_array(void **state)
{
    static const char *const bad[] = {
        "{}",  "5", "\"[]\"",        "null",       "nope",
        "[1,", "",  "[{\"a\":1}] x", "[\"\xff\"]", /* not UTF-8 */
    };
    struct paved_check_run cr = run();
    struct paved_http_request r;
    size_t nsent, i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr.cr_annotations = bad[i];
        nsent = 7;
        memset(&r, 0xa5, sizeof(r));
        if (paved_forgeapi_check_run(&r, &nsent, &github, &cr) != PAVED_EINVAL)
            fail_msg("accepted cr_annotations %s", bad[i]);
        assert_zeroed(&r);
        assert_int_equal(nsent, 0);
        assert_non_null(strstr(paved_error_last(), "not a JSON array"));
    }
}

static void
test_annotation_cuts(void **state)
{
    struct paved_check_run cr = run();
    struct paved_http_request r;
    struct paved_buf b = PAVED_BUF_INIT(SIZE_MAX / 2);
    char *msg = repeat("\xc3\xa9", 40000), *title = repeat("t", 300), *list;
    json_t *root, *a;
    const char *m, *t;
    size_t nsent;

    assert_int_equal(
        paved_buf_printf(&b,
                         "[{\"path\":\"p\",\"start_line\":1,\"end_line\":1,"
                         "\"annotation_level\":\"notice\",\"message\":\"%s\","
                         "\"title\":\"%s\\nsecond line\"}]",
                         msg, title),
        0);
    list = paved_buf_detach(&b, NULL);
    cr.cr_annotations = list;
    assert_int_equal(paved_forgeapi_check_run(&r, &nsent, &github, &cr), 0);
    assert_int_equal(nsent, 1);
    root = body_json(&r);
    a = json_array_get(
        json_object_get(json_object_get(root, "output"), "annotations"), 0);
    m = json_string_value(json_object_get(a, "message"));
    t = json_string_value(json_object_get(a, "title"));
    /* 64 KiB: é never split, "…" marks the cut */
    assert_true(strlen(m) <= 65535);
    assert_true(strlen(m) >= 65532);
    assert_true(ends_with(m, "\xc3\xa9\xe2\x80\xa6"));
    assert_int_equal(utf8_chars(t), 255);
    assert_true(ends_with(t, "t\xe2\x80\xa6"));
    json_decref(root);
    assert_schema_valid(*state, &r);
    paved_http_request_dispose(&r);
    free(list);
    free(msg);
    free(title);
}

/* Calls until nothing is left, checking every body; the number of
 * requests. */
static size_t
drain(const void *state, struct paved_check_run *cr, size_t total,
      size_t *max_batch)
{
    struct paved_http_request r;
    size_t nsent, from = 0, calls = 0;

    *max_batch = 0;
    for (;;) {
        cr->cr_annotations_from = from;
        assert_int_equal(paved_forgeapi_check_run(&r, &nsent, &github, cr), 0);
        assert_true(r.hr_body_len <= BODY_MAX);
        assert_true(paved_jscan_valid_utf8(r.hr_body, r.hr_body_len));
        assert_schema_valid(state, &r);
        paved_http_request_dispose(&r);
        if (nsent == 0)
            break;
        if (nsent > *max_batch)
            *max_batch = nsent;
        from += nsent;
        calls++;
        assert_true(calls <= total);
    }
    assert_int_equal(from, total);
    return calls;
}

static void
test_body_limit(void **state)
{
    struct paved_check_run cr = run();
    struct paved_buf b = PAVED_BUF_INIT(SIZE_MAX / 2);
    char *msg, *list, *ctl;
    size_t i, batch, calls;

    /* 50 annotations of 30 000 plain bytes: about 1.5 MB, so they go in
     * two requests by size (not by count), messages untouched */
    msg = repeat("x", 30000);
    assert_int_equal(paved_buf_putc(&b, '['), 0);
    for (i = 0; i < 50; i++)
        assert_int_equal(paved_buf_printf(&b,
                                          "%s{\"path\":\"f\",\"start_line\":1,"
                                          "\"end_line\":1,\"annotation_"
                                          "level\":\"notice\",\"message\":"
                                          "\"%s\"}",
                                          i ? "," : "", msg),
                         0);
    assert_int_equal(paved_buf_putc(&b, ']'), 0);
    list = paved_buf_detach(&b, NULL);
    cr.cr_state = PAVED_STATUS_FAILURE;
    cr.cr_annotations = list;
    calls = drain(*state, &cr, 50, &batch);
    assert_int_equal(calls, 2);
    assert_true(batch >= 30 && batch < 50);
    free(list);
    free(msg);

    /* the worst case: summary and text of control characters (6 bytes
     * each once escaped) and messages of them too. Every request stays
     * under 1 MiB, carries at least one annotation, and all get sent. */
    ctl = repeat("\x01", 65535);
    cr.cr_summary = ctl;
    cr.cr_text = ctl;
    assert_int_equal(paved_buf_putc(&b, '['), 0);
    for (i = 0; i < 3; i++) {
        assert_int_equal(paved_buf_printf(&b,
                                          "%s{\"path\":\"f\",\"start_line\":1,"
                                          "\"end_line\":1,\"annotation_"
                                          "level\":\"notice\",\"message\":\"",
                                          i ? "," : ""),
                         0);
        for (size_t k = 0; k < 65535; k++)
            assert_int_equal(paved_buf_puts(&b, "\\u0001"), 0);
        assert_int_equal(paved_buf_puts(&b, "\"}"), 0);
    }
    assert_int_equal(paved_buf_putc(&b, ']'), 0);
    list = paved_buf_detach(&b, NULL);
    cr.cr_annotations = list;
    calls = drain(*state, &cr, 3, &batch);
    assert_int_equal(calls, 3);
    assert_int_equal(batch, 1);
    free(list);
    free(ctl);
}

static void
test_enterprise(void **state)
{
    struct paved_forge_endpoint ghe = {
        PAVED_FORGEAPI_GITHUB, "https://ghe.example.com/api/v3//", TOKEN};
    struct paved_check_run cr = run();
    struct paved_http_request r;
    size_t nsent;

    assert_int_equal(paved_forgeapi_check_run(&r, &nsent, &ghe, &cr), 0);
    assert_string_equal(r.hr_url, "https://ghe.example.com/api/v3/repos/"
                                  "octo-org/hello.world/check-runs");
    assert_schema_valid(*state, &r);
    paved_http_request_dispose(&r);
    cr.cr_id = 7;
    ghe.fe_api_url = "http://ghe.internal:8080/api/v3";
    assert_int_equal(paved_forgeapi_check_run(&r, &nsent, &ghe, &cr), 0);
    assert_string_equal(r.hr_method, "PATCH");
    assert_string_equal(r.hr_url, "http://ghe.internal:8080/api/v3/repos/"
                                  "octo-org/hello.world/check-runs/7");
    paved_http_request_dispose(&r);
}

/* Looking for a check run a lost create may have made: the exact list
 * request, and which one of GitHub's list is ours. */
static void
test_find(void **state)
{
    struct paved_forge_endpoint ghe = {
        PAVED_FORGEAPI_GITHUB, "https://ghe.example.com/api/v3/", TOKEN};
    struct paved_http_request r;
    static const char list[] =
        "{\"total_count\":4,\"check_runs\":["
        "{\"id\":10,\"name\":\"paved/ci\",\"external_id\":\"7\"},"
        "{\"id\":12,\"name\":\"paved/ci\",\"external_id\":\"7\"},"
        "{\"id\":13,\"name\":\"paved/ci\",\"external_id\":\"8\"},"
        "{\"id\":14,\"name\":\"other\",\"external_id\":\"7\"},"
        "{\"id\":15,\"name\":\"paved/ci\",\"external_id\":null}]}";
    int64_t id = -1;

    (void)state;
    assert_int_equal(paved_forgeapi_check_find(&r, &ghe, "octo-org/hello.world",
                                               "CE587453CED02B1526DFB4CB910479"
                                               "D431683101",
                                               "paved/ci"),
                     0);
    assert_string_equal(r.hr_method, "GET");
    assert_null(r.hr_body);
    assert_string_equal(r.hr_url,
                        "https://ghe.example.com/api/v3/repos/octo-org/"
                        "hello.world/commits/ce587453ced02b1526dfb4cb910479"
                        "d431683101/check-runs?check_name=paved%2Fci"
                        "&filter=all&per_page=100");
    assert_string_equal(r.hr_headers[1], "Authorization: token " TOKEN);
    paved_http_request_dispose(&r);
    assert_int_equal(paved_forgeapi_check_find(&r, &ghe, "../x",
                                               "ce587453ced02b1526dfb4cb910479"
                                               "d431683101",
                                               "paved/ci"),
                     PAVED_EINVAL);

    /* the newest of ours; none for a run that has none */
    assert_int_equal(paved_forgeapi_check_found(&id, list, sizeof(list) - 1,
                                                "paved/ci", "7"),
                     1);
    assert_int_equal(id, 12);
    assert_int_equal(paved_forgeapi_check_found(&id, list, sizeof(list) - 1,
                                                "paved/ci", "9"),
                     0);
    assert_int_equal(id, 0);
    assert_int_equal(paved_forgeapi_check_found(&id, "{\"check_runs\":{}}", 17,
                                                "paved/ci", "7"),
                     PAVED_EINVAL);
    assert_int_equal(
        paved_forgeapi_check_found(&id, "nope", 4, "paved/ci", "7"),
        PAVED_EINVAL);
}

static void
expect_refused(const struct paved_forge_endpoint *ep,
               const struct paved_check_run *cr, int code, const char *why)
{
    struct paved_http_request r;
    size_t nsent = 5;
    int rc;

    memset(&r, 0xa5, sizeof(r));
    rc = paved_forgeapi_check_run(&r, &nsent, ep, cr);
    if (rc != code)
        fail_msg("want %d for \"%s\", got %d (%s)", code, why, rc,
                 paved_error_last());
    assert_zeroed(&r);
    assert_int_equal(nsent, 0);
    if (strstr(paved_error_last(), why) == NULL)
        fail_msg("message \"%s\" does not say \"%s\"", paved_error_last(), why);
    /* a message never shows the token */
    assert_null(strstr(paved_error_last(), TOKEN));
}

static void
test_refused(void **state)
{
    static const char *const repos[] = {
        NULL,  "",      "octo",  "octo/", "/repo",  "o/r/x",  "../r", "o/..",
        "o/.", "o r/x", "o/r?x", "o/r#",  "o/r%2F", "o\\r/x", "ö/r",
    };
    static const char *const shas[] = {
        NULL, "", "ce58", SHA "0", "ge587453ced02b1526dfb4cb910479d431683101",
    };
    static const char *const names[] = {NULL, "", "paved\nservice", "a\tb",
                                        "bad \xff"};
    struct paved_forge_endpoint ep = github;
    struct paved_check_run cr = run();
    char *long_name = repeat("n", 256), *long_ext = repeat("9", 256);
    size_t i;

    (void)state;
    /* a token is what authenticates: none is EAUTH */
    ep.fe_token = NULL;
    expect_refused(&ep, &cr, PAVED_EAUTH, "no token");
    ep.fe_token = "";
    expect_refused(&ep, &cr, PAVED_EAUTH, "no token");
    ep.fe_token = "ghs_a b";
    expect_refused(&ep, &cr, PAVED_EINVAL, "cannot go into a header");
    ep.fe_token = "ghs_a\r\nX-Evil: 1";
    expect_refused(&ep, &cr, PAVED_EINVAL, "cannot go into a header");
    ep = github;
    ep.fe_kind = PAVED_FORGEAPI_GITEA;
    expect_refused(&ep, &cr, PAVED_EINVAL, "GitHub only");
    ep.fe_kind = PAVED_FORGEAPI_GITLAB;
    expect_refused(&ep, &cr, PAVED_EINVAL, "GitHub only");
    ep = github;
    ep.fe_api_url = "ftp://api.github.com";
    expect_refused(&ep, &cr, PAVED_EINVAL, "not an http(s) URL");
    ep.fe_api_url = NULL;
    expect_refused(&ep, &cr, PAVED_EINVAL, "not an http(s) URL");
    ep.fe_api_url = "https://api.github.com/?x=1";
    expect_refused(&ep, &cr, PAVED_EINVAL, "not an http(s) URL");
    ep = github;

    for (i = 0; i < sizeof(repos) / sizeof(repos[0]); i++) {
        cr = run();
        cr.cr_repo = repos[i];
        expect_refused(&ep, &cr, PAVED_EINVAL, "owner/name");
    }
    for (i = 0; i < sizeof(shas) / sizeof(shas[0]); i++) {
        cr = run();
        cr.cr_sha = shas[i];
        expect_refused(&ep, &cr, PAVED_EINVAL, "hex digits");
    }
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        cr = run();
        cr.cr_name = names[i];
        expect_refused(&ep, &cr, PAVED_EINVAL, "check run name");
    }
    cr = run();
    cr.cr_name = long_name;
    expect_refused(&ep, &cr, PAVED_EINVAL, "check run name");
    cr = run();
    cr.cr_details_url = "javascript:alert(1)";
    expect_refused(&ep, &cr, PAVED_EINVAL, "target_url");
    cr.cr_details_url = "https://paved.example/runs/1 2";
    expect_refused(&ep, &cr, PAVED_EINVAL, "target_url");
    cr = run();
    cr.cr_id = -1;
    expect_refused(&ep, &cr, PAVED_EINVAL, "negative");
    cr = run();
    cr.cr_external_id = "42\n43";
    expect_refused(&ep, &cr, PAVED_EINVAL, "external_id");
    cr.cr_external_id = long_ext;
    expect_refused(&ep, &cr, PAVED_EINVAL, "external_id");
    cr = run();
    expect_refused(NULL, &cr, PAVED_EINVAL, "no request");
    expect_refused(&ep, NULL, PAVED_EINVAL, "no request");
    assert_int_equal(paved_forgeapi_check_run(NULL, NULL, &ep, &cr),
                     PAVED_EINVAL);
    free(long_name);
    free(long_ext);
}

/*
 * Answers and annotation lines
 */

static void
test_answer_id(void **state)
{
    /* GitHub's documented answers, shortened: a created check run (201)
     * and a repository's installation (200); both hold other "id"s
     * deeper down */
    static const char created[] =
        "{\n  \"id\": 4,\n  \"head_sha\": "
        "\"ce587453ced02b1526dfb4cb910479d431683101\",\n  \"node_id\": "
        "\"MDg6Q2hlY2tSdW40\",\n  \"external_id\": \"42\",\n  \"url\": "
        "\"https://api.github.com/repos/github/hello-world/check-runs/4\",\n"
        "  \"status\": \"in_progress\",\n  \"conclusion\": null,\n"
        "  \"started_at\": \"2018-05-04T01:14:52Z\",\n  \"output\": {\n"
        "    \"title\": \"Mighty Readme report\",\n    \"summary\": \"\",\n"
        "    \"annotations_count\": 2\n  },\n  \"name\": \"mighty_readme\",\n"
        "  \"check_suite\": {\"id\": 5},\n  \"app\": {\"id\": 1, \"slug\": "
        "\"octoapp\", \"owner\": {\"login\": \"github\", \"id\": 1}},\n"
        "  \"pull_requests\": [{\"id\": 1934, \"number\": 3956}]\n}\n";
    static const char installation[] =
        "{\"id\":1,\"account\":{\"login\":\"octocat\",\"id\":1},"
        "\"access_tokens_url\":\"https://api.github.com/app/installations/1/"
        "access_tokens\",\"repositories_url\":\"https://api.github.com/"
        "installation/repositories\",\"app_id\":1,\"target_id\":1,"
        "\"target_type\":\"Organization\",\"permissions\":{\"checks\":"
        "\"write\",\"metadata\":\"read\"},\"events\":[\"push\"],"
        "\"created_at\":\"2018-02-09T20:51:14Z\",\"single_file_name\":null}";
    static const char *const garbage[] = {
        "",
        "not json",
        "[1]",
        "{}",
        "null",
        "{\"id\":0}",
        "{\"id\":-3}",
        "{\"id\":1.5}",
        "{\"id\":1.0}",
        "{\"id\":1e3}",
        "{\"id\":\"12\"}",
        "{\"id\":null}",
        "{\"id\":true}",
        "{\"id\":{\"id\":3}}",
        "{\"id\":99999999999999999999}",
        "{\"id\":12",
        "{\"id\":12} trailing",
        "{\"app\":{\"id\":5}}",
        "{\"message\":\"Not Found\",\"documentation_url\":"
        "\"https://docs.github.com/rest\",\"status\":\"404\"}",
    };
    int64_t id;
    size_t i;

    (void)state;
    assert_int_equal(paved_forgeapi_answer_id(&id, created, strlen(created)),
                     0);
    assert_int_equal(id, 4);
    assert_int_equal(
        paved_forgeapi_answer_id(&id, installation, strlen(installation)), 0);
    assert_int_equal(id, 1);
    assert_int_equal(
        paved_forgeapi_answer_id(&id, "{\"id\":9223372036854775807}",
                                 strlen("{\"id\":9223372036854775807}")),
        0);
    assert_int_equal(id, INT64_MAX);
    /* only len bytes are read */
    assert_int_equal(paved_forgeapi_answer_id(&id, "{\"id\":123}xyz", 10), 0);
    assert_int_equal(id, 123);
    /* a repeated key: the last one, as jansson reads it */
    assert_int_equal(paved_forgeapi_answer_id(&id, "{\"id\":1,\"id\":2}", 15),
                     0);
    assert_int_equal(id, 2);
    for (i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
        id = 55;
        if (paved_forgeapi_answer_id(&id, garbage[i], strlen(garbage[i])) !=
            PAVED_EINVAL)
            fail_msg("accepted %s", garbage[i]);
        assert_int_equal(id, 0);
    }
    id = 55;
    assert_int_equal(paved_forgeapi_answer_id(&id, NULL, 5), PAVED_EINVAL);
    assert_int_equal(id, 0);
}

/* annotation_ok agrees with what check_run carries */
static void
check_line(const char *line, int want, const char *why_part)
{
    struct paved_check_run cr = run();
    struct paved_http_request r;
    struct paved_buf b = PAVED_BUF_INIT(SIZE_MAX / 2);
    char why[128] = "unset", *arr;
    size_t nsent;
    int ok;

    ok = paved_forgeapi_annotation_ok(line, strlen(line), why, sizeof(why));
    if (ok != want)
        fail_msg("annotation_ok(%s) = %d (%s)", line, ok, why);
    if (want)
        assert_string_equal(why, "");
    else if (strstr(why, why_part) == NULL)
        fail_msg("why \"%s\" does not say \"%s\"", why, why_part);
    assert_int_equal(paved_forgeapi_annotation_ok(line, strlen(line), NULL, 0),
                     want);
    /* the same element inside cr_annotations (when it parses at all) */
    if (strstr(why, "not JSON") != NULL || strcmp(why, "empty") == 0)
        return;
    assert_int_equal(paved_buf_printf(&b, "[%s]", line), 0);
    arr = paved_buf_detach(&b, NULL);
    cr.cr_annotations = arr;
    assert_int_equal(paved_forgeapi_check_run(&r, &nsent, &github, &cr), 0);
    assert_int_equal(nsent, 1);
    assert_int_equal(strstr(r.hr_body, "\"annotations\":[") != NULL, want);
    paved_http_request_dispose(&r);
    free(arr);
}

static void
test_annotation_ok(void **state)
{
    char why[8];

    (void)state;
    check_line("{\"path\":\"src/main.c\",\"start_line\":10,\"end_line\":12,"
               "\"annotation_level\":\"warning\",\"message\":\"unused\"}\n",
               1, "");
    check_line("{\"path\":\"Dockerfile\",\"start_line\":1,\"end_line\":1,"
               "\"annotation_level\":\"failure\",\"message\":\"runs as root\","
               "\"title\":\"guardrail: user\",\"start_column\":1,"
               "\"end_column\":4,\"raw_details\":\"ignored\"}",
               1, "");
    check_line("{\"path\":\"a\",\"start_line\":1,\"end_line\":1,"
               "\"annotation_level\":\"notice\",\"message\":\"m\","
               "\"title\":null,\"start_column\":null}",
               1, "");
    check_line("[]", 0, "not a JSON object");
    check_line("\"x\"", 0, "not a JSON object");
    check_line("{\"path\":", 0, "not JSON");
    check_line("", 0, "empty");
    check_line("{\"path\":\"p\",\"start_line\":1,\"end_line\":1,"
               "\"annotation_level\":\"notice\",\"message\":\"m\"} {}",
               0, "not JSON");
    check_line("{\"path\":3,\"start_line\":1,\"end_line\":1,"
               "\"annotation_level\":\"notice\",\"message\":\"m\"}",
               0, "\"path\"");
    check_line("{\"path\":\"p\",\"start_line\":-1,\"end_line\":1,"
               "\"annotation_level\":\"notice\",\"message\":\"m\"}",
               0, "\"start_line\"");
    check_line("{\"path\":\"p\",\"start_line\":3,\"end_line\":2,"
               "\"annotation_level\":\"notice\",\"message\":\"m\"}",
               0, "before");
    check_line("{\"path\":\"p\",\"start_line\":1,\"end_line\":1,"
               "\"annotation_level\":\"fatal\",\"message\":\"m\"}",
               0, "\"annotation_level\"");
    check_line("{\"path\":\"p\",\"start_line\":1,\"end_line\":1,"
               "\"annotation_level\":\"notice\",\"message\":[\"m\"]}",
               0, "\"message\"");
    check_line("{\"path\":\"p\",\"start_line\":1,\"end_line\":1,"
               "\"annotation_level\":\"notice\",\"message\":\"m\","
               "\"title\":{}}",
               0, "\"title\"");
    check_line("{\"path\":\"p\",\"start_line\":1,\"end_line\":1,"
               "\"annotation_level\":\"notice\",\"message\":\"m\","
               "\"end_column\":0}",
               0, "\"end_column\"");
    /* a short why buffer is cut, never overrun */
    assert_int_equal(paved_forgeapi_annotation_ok("[]", 2, why, sizeof(why)),
                     0);
    assert_int_equal(strlen(why), sizeof(why) - 1);
    assert_int_equal(paved_forgeapi_annotation_ok(NULL, 0, NULL, 0), 0);
}

static void
test_openapi_schemas(void **state)
{
    struct schemas *sc = *state;
    struct paved_check_run cr = run();
    struct paved_http_request r;
    json_t *bad;
    size_t nsent;

    if (sc->s_create == NULL) {
        print_message("SKIPPED: %s is not installed (tests/integration/"
                      "run.sh installs it); bodies were not checked against "
                      "GitHub's schemas\n",
                      OPENAPI);
        skip();
    }
    /* the checker itself refuses what GitHub refuses */
    assert_int_equal(paved_forgeapi_check_run(&r, &nsent, &github, &cr), 0);
    {
        struct paved_buf errs = PAVED_BUF_INIT(1 << 20);
        json_t *body = body_json(&r);

        json_object_set_new(body, "status", json_string("done"));
        json_object_set_new(body, "conclusion", json_null());
        json_object_set_new(body, "extra", json_true());
        json_object_set_new(json_object_get(body, "output"), "annotations",
                            (bad = json_array()));
        json_array_append_new(
            bad, json_pack("{s:s,s:f}", "path", "p", "start_line", 1.5));
        schema_check(sc->s_create, body, "body", &errs);
        assert_non_null(strstr(errs.b_ptr, "body.status: not one of"));
        assert_non_null(strstr(errs.b_ptr, "body.conclusion: null is not"));
        assert_non_null(strstr(errs.b_ptr, "body.extra: not in the schema"));
        assert_non_null(strstr(errs.b_ptr, "start_line: wrong type"));
        assert_non_null(strstr(errs.b_ptr, "required \"end_line\" missing"));
        json_decref(body);
        paved_buf_clear(&errs);
        /* an update that says completed without a conclusion */
        body = json_pack("{s:s,s:{s:s}}", "status", "completed", "output",
                         "summary", "s");
        schema_check(sc->s_update, body, "body", &errs);
        assert_non_null(strstr(errs.b_ptr, "anyOf"));
        json_decref(body);
        paved_buf_dispose(&errs);
    }
    paved_http_request_dispose(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_openapi_schemas),
        cmocka_unit_test(test_create_exact),
        cmocka_unit_test(test_update_exact),
        cmocka_unit_test(test_states),
        cmocka_unit_test(test_title),
        cmocka_unit_test(test_text_cut),
        cmocka_unit_test(test_annotations_batches),
        cmocka_unit_test(test_annotations_invalid),
        cmocka_unit_test(test_annotations_not_array),
        cmocka_unit_test(test_annotation_cuts),
        cmocka_unit_test(test_body_limit),
        cmocka_unit_test(test_enterprise),
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_answer_id),
        cmocka_unit_test(test_annotation_ok),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
