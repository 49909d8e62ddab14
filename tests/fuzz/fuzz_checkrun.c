/* Fuzz target: paved_forgeapi_check_run() with the input as cr_annotations
 * and, separately, as title, summary and text; paved_forgeapi_annotation_ok()
 * and paved_forgeapi_answer_id() on the same bytes. Every request must be
 * built, or refused cleanly (PAVED_EINVAL, only for annotations that are
 * not a JSON array); every built body must parse with jansson and keep
 * GitHub's limits (1 MiB, 50 annotations of GitHub's shape, title one line
 * of 255 characters, summary and text 65535 bytes ending with the note
 * when cut), and walking the annotations request by request must send
 * each exactly once. Never touches the network.
 *
 * Input: byte 0 picks the state (and create or update), byte 1 the first
 * annotation to send; the rest, up to a NUL, is the text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "paved/error.h"
#include "paved/forgeapi.h"
#include "paved/jscan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BODY_MAX (1024 * 1024 - 1)

static const struct paved_forge_endpoint fuzz_ep = {
    PAVED_FORGEAPI_GITHUB, "https://api.github.com", "ghs_fuzz"};

static size_t
fuzz_chars(const char *s)
{
    size_t n = 0;

    for (; *s != '\0'; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

static int
fuzz_line(json_t *v, json_int_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 1 ||
        json_integer_value(v) > 2147483647LL)
        return 0;
    *out = json_integer_value(v);
    return 1;
}

/* one carried annotation: GitHub's shape, paved's cuts */
static void
fuzz_check_annotation(json_t *a)
{
    static const char *const keys[] = {
        "path",    "start_line", "end_line",     "annotation_level",
        "message", "title",      "start_column", "end_column"};
    json_t *v, *lvl = json_object_get(a, "annotation_level");
    json_int_t sl, el, c;
    const char *key;
    size_t i;

    json_object_foreach(a, key, v)
    {
        for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
            if (strcmp(key, keys[i]) == 0)
                break;
        if (i == sizeof(keys) / sizeof(keys[0]) || json_is_null(v))
            abort();
    }
    if (!json_is_string(json_object_get(a, "path")) ||
        json_string_length(json_object_get(a, "path")) == 0 ||
        !fuzz_line(json_object_get(a, "start_line"), &sl) ||
        !fuzz_line(json_object_get(a, "end_line"), &el) || el < sl ||
        !json_is_string(lvl) ||
        (strcmp(json_string_value(lvl), "notice") != 0 &&
         strcmp(json_string_value(lvl), "warning") != 0 &&
         strcmp(json_string_value(lvl), "failure") != 0))
        abort();
    v = json_object_get(a, "message");
    if (!json_is_string(v) || json_string_length(v) == 0 ||
        json_string_length(v) > 65535)
        abort();
    v = json_object_get(a, "title");
    if (v != NULL && (!json_is_string(v) || json_string_length(v) == 0 ||
                      fuzz_chars(json_string_value(v)) > 255))
        abort();
    for (i = 6; i < 8; i++) {
        v = json_object_get(a, keys[i]);
        if (v != NULL && (sl != el || !fuzz_line(v, &c)))
            abort();
    }
}

/* A built request: parses, within the limits; returns the body. */
static json_t *
fuzz_check_request(const struct paved_http_request *r, int update, size_t nsent)
{
    json_t *root, *out, *list, *t, *a;
    size_t i;

    if (r->hr_body == NULL || r->hr_body_len != strlen(r->hr_body) ||
        r->hr_body_len > BODY_MAX || r->hr_nheaders != 5 ||
        strcmp(r->hr_method, update ? "PATCH" : "POST") != 0)
        abort();
    if ((root = json_loadb(r->hr_body, r->hr_body_len, JSON_REJECT_DUPLICATES,
                           NULL)) == NULL)
        abort();
    if ((json_object_get(root, "head_sha") != NULL) == update)
        abort();
    out = json_object_get(root, "output");
    t = json_object_get(out, "title");
    if (!json_is_string(t) || json_string_length(t) == 0 ||
        fuzz_chars(json_string_value(t)) > PAVED_FORGEAPI_CHECK_TITLE_MAX)
        abort();
    for (i = 0; i < json_string_length(t); i++)
        if ((unsigned char)json_string_value(t)[i] < 0x20 ||
            json_string_value(t)[i] == 0x7f)
            abort();
    if (!json_is_string(json_object_get(out, "summary")) ||
        json_string_length(json_object_get(out, "summary")) >
            PAVED_FORGEAPI_CHECK_TEXT_MAX)
        abort();
    t = json_object_get(out, "text");
    if (t != NULL && (!json_is_string(t) ||
                      json_string_length(t) > PAVED_FORGEAPI_CHECK_TEXT_MAX))
        abort();
    list = json_object_get(out, "annotations");
    if (list != NULL) {
        if (!json_is_array(list) || json_array_size(list) == 0 ||
            json_array_size(list) > PAVED_FORGEAPI_ANNOTATIONS_PER_REQUEST ||
            json_array_size(list) > nsent)
            abort();
        json_array_foreach(list, i, a) fuzz_check_annotation(a);
    }
    return root;
}

/* The input as cr_annotations, from byte 1's index, then request after
 * request until nothing is left. */
static void
fuzz_annotations(const char *text, enum paved_status_state st, int update,
                 size_t from)
{
    struct paved_check_run cr = {
        "o/r",     "0123456789012345678901234567890123456789",
        "paved/x", st,
        0,         "t",
        NULL,      NULL,
        NULL,      NULL,
        text,      from};
    struct paved_http_request r;
    json_t *arr, *root, *list;
    size_t nsent, n, good, i, steps = 0;
    char *dump;
    int rc;

    cr.cr_id = update ? 9 : 0;
    arr = json_loads(text, JSON_DECODE_ANY, NULL);
    rc = paved_forgeapi_check_run(&r, &nsent, &fuzz_ep, &cr);
    if (!json_is_array(arr)) {
        /* the only refusal there is */
        if (rc != PAVED_EINVAL || nsent != 0 || r.hr_body != NULL)
            abort();
        json_decref(arr);
        return;
    }
    if (rc != 0)
        abort();
    paved_http_request_dispose(&r);
    n = json_array_size(arr);
    for (;;) {
        if (paved_forgeapi_check_run(&r, &nsent, &fuzz_ep, &cr) != 0)
            abort();
        root = fuzz_check_request(&r, update, nsent);
        list = json_object_get(json_object_get(root, "output"), "annotations");
        if (cr.cr_annotations_from >= n) {
            if (nsent != 0 || list != NULL)
                abort();
        } else if (nsent == 0 || nsent > n - cr.cr_annotations_from) {
            abort();
        }
        /* what was carried is what annotation_ok() takes, in order */
        for (good = 0, i = 0; i < nsent; i++) {
            dump = json_dumps(json_array_get(arr, cr.cr_annotations_from + i),
                              JSON_COMPACT | JSON_ENCODE_ANY);
            if (dump == NULL)
                abort();
            if (paved_forgeapi_annotation_ok(dump, strlen(dump), NULL, 0))
                good++;
            free(dump);
        }
        if (good != json_array_size(list))
            abort();
        json_decref(root);
        paved_http_request_dispose(&r);
        if (nsent == 0)
            break;
        cr.cr_annotations_from += nsent;
        if (++steps > n)
            abort(); /* every request moves on */
    }
    json_decref(arr);
}

/* The input as title, summary and text: never refused. */
static void
fuzz_texts(const char *text, enum paved_status_state st, int update)
{
    static const char note[] = PAVED_FORGEAPI_CHECK_CUT_NOTE;
    struct paved_check_run cr = {"o/r",
                                 "0123456789012345678901234567890123456789",
                                 "paved/x",
                                 st,
                                 0,
                                 text,
                                 text,
                                 text,
                                 "https://paved.example/runs/1",
                                 "1",
                                 NULL,
                                 0};
    struct paved_http_request r;
    const char *s;
    json_t *root, *out;
    size_t nsent, len;

    cr.cr_id = update ? 9 : 0;
    if (paved_forgeapi_check_run(&r, &nsent, &fuzz_ep, &cr) != 0 || nsent != 0)
        abort();
    root = fuzz_check_request(&r, update, 0);
    out = json_object_get(root, "output");
    s = json_string_value(json_object_get(out, "text"));
    if (s == NULL ||
        strcmp(s, json_string_value(json_object_get(out, "summary"))) != 0)
        abort();
    len = strlen(s);
    /* an input that fits and is valid UTF-8 goes as it is; anything longer
     * ends with the note */
    if (strlen(text) <= PAVED_FORGEAPI_CHECK_TEXT_MAX &&
        paved_jscan_valid_utf8(text, strlen(text)) && strcmp(s, text) != 0)
        abort();
    if (strlen(text) > PAVED_FORGEAPI_CHECK_TEXT_MAX &&
        (len < sizeof(note) - 1 ||
         strcmp(s + len - (sizeof(note) - 1), note) != 0))
        abort();
    json_decref(root);
    paved_http_request_dispose(&r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum paved_status_state st;
    int update, ok;
    int64_t id;
    char *text;

    if (size < 2)
        return 0;
    st = (enum paved_status_state)(data[0] % 6);
    update = (data[0] / 6) & 1;
    if ((text = malloc(size - 1)) == NULL)
        return 0;
    memcpy(text, data + 2, size - 2);
    text[size - 2] = '\0'; /* a NUL inside ends the text early */

    fuzz_annotations(text, st, update, data[1] % 64);
    fuzz_texts(text, st, update);

    ok = paved_forgeapi_annotation_ok(text, strlen(text), NULL, 0);
    if (ok != 0 && ok != 1)
        abort();
    if (paved_forgeapi_answer_id(&id, (const char *)data + 2, size - 2) == 0 &&
        id < 1)
        abort();
    free(text);
    return 0;
}
