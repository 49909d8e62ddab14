/* GitHub check runs as plain data: the create (POST) and update (PATCH)
 * requests with their output and annotations cut to GitHub's limits, the
 * check of one annotation line, and the "id" of GitHub's answer. Pure:
 * never opens a socket, never reads a clock, never logs, and never puts
 * the token anywhere but its header. The body is built with jansson, so
 * it is always JSON and always valid UTF-8. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "paved/buf.h"
#include "paved/error.h"
#include "paved/forgeapi.h"
#include "paved/jscan.h"

#include "report/forgeapi_int.h"

#define CR_DUMP_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER)
/* "The whole body stays under 1 MiB" (forgeapi.h): GitHub documents no
 * byte limit for this endpoint, and a megabyte is far past any useful
 * check run while small enough for every proxy on the way. */
#define CR_BODY_MAX (1024 * 1024 - 1)
/* GitHub: an annotation's message "maximum size is 64 KB"; one byte under
 * 64 KiB is within either reading of "KB" */
#define CR_MESSAGE_MAX 65535
#define CR_ANNOTATION_TITLE_MAX 255 /* characters, GitHub's words */
/* a path in a repository; git itself has no limit, PATH_MAX is plenty */
#define CR_PATH_MAX 4096
/* GitHub stores lines and columns as 32-bit integers */
#define CR_LINE_MAX 2147483647LL
#define CR_EXTERNAL_ID_MAX 255 /* characters; paved's run ids are digits */
#define CR_URL_MAX (2048 + 1024 + 64)
/* GitHub's check-run answer echoes the output; bound what we scan */
#define CR_ANSWER_MAX (16 * 1024 * 1024)
/* ',"annotations":[' and ']' around the carried annotations */
#define CR_ANNOTATIONS_OVERHEAD (sizeof(",\"annotations\":[]") - 1)

static const char cr_cut_note[] = PAVED_FORGEAPI_CHECK_CUT_NOTE;

/* status, and conclusion (NULL while the run is not over) */
static int
cr_state(enum paved_status_state st, const char **status,
         const char **conclusion)
{
    *conclusion = NULL;
    switch (st) {
    case PAVED_STATUS_PENDING:
        *status = "queued";
        return 0;
    case PAVED_STATUS_RUNNING:
        *status = "in_progress";
        return 0;
    case PAVED_STATUS_SUCCESS:
        *conclusion = "success";
        break;
    case PAVED_STATUS_FAILURE:
    case PAVED_STATUS_ERROR: /* GitHub's "action_required" asks a person to
                                act in the App; paved's error is a failure
                                to run, which the output explains */
        *conclusion = "failure";
        break;
    case PAVED_STATUS_CANCELLED:
        *conclusion = "cancelled";
        break;
    default:
        return -1;
    }
    *status = "completed";
    return 0;
}

/* A title for a run whose description is empty: GitHub requires
 * output.title, and a blank one tells the reader nothing. */
static const char *
cr_default_title(enum paved_status_state st)
{
    switch (st) {
    case PAVED_STATUS_PENDING:
        return "queued";
    case PAVED_STATUS_RUNNING:
        return "running";
    case PAVED_STATUS_SUCCESS:
        return "success";
    case PAVED_STATUS_FAILURE:
        return "failure";
    case PAVED_STATUS_ERROR:
        return "error";
    default:
        return "cancelled";
    }
}

/* 1 when s is one line of UTF-8 of 1 to max characters: cutting it to
 * that changes nothing. */
static int
cr_one_line(const char *s, size_t max)
{
    char *c;
    int ok;

    if (s == NULL || s[0] == '\0')
        return 0;
    if ((c = paved_forgeapi_cut(s, max, 0, 1)) == NULL)
        return -1;
    ok = strcmp(c, s) == 0;
    free(c);
    return ok;
}

/* s as valid UTF-8 of at most PAVED_FORGEAPI_CHECK_TEXT_MAX bytes; when it
 * had to be cut, it ends with "…" and the note. Texts are Markdown, so
 * line breaks stay. NULL when out of memory. */
static char *
cr_cut_text(const char *s)
{
    size_t n = strlen(s), keep = PAVED_FORGEAPI_CHECK_TEXT_MAX;
    char *full, *cut;

    /* every input byte gives at least one output byte, so a longer input
     * is cut for sure; a shorter one only when bad bytes (which become
     * 3-byte U+FFFD) make it grow past the limit */
    if (n <= keep) {
        if ((full = paved_forgeapi_cut(s, 0, 0, 0)) == NULL ||
            strlen(full) <= keep)
            return full;
        free(full);
    }
    keep -= sizeof(cr_cut_note) - 1;
    if ((cut = paved_forgeapi_cut(s, 0, keep, 0)) == NULL)
        return NULL;
    n = strlen(cut);
    if ((full = realloc(cut, n + sizeof(cr_cut_note))) == NULL) {
        free(cut);
        return NULL;
    }
    memcpy(full + n, cr_cut_note, sizeof(cr_cut_note));
    return full;
}

/* "key": a copy of s; -1 when out of memory (s is valid UTF-8) */
static int
cr_set_string(json_t *obj, const char *key, const char *s)
{
    return json_object_set_new(obj, key, json_string(s));
}

/* As cr_set_string(), s malloc'd (NULL: out of memory) and freed here. */
static int
cr_set_owned(json_t *obj, const char *key, char *s)
{
    int rc;

    if (s == NULL)
        return -1;
    rc = cr_set_string(obj, key, s);
    free(s);
    return rc;
}

static void
cr_why(char *why, size_t whylen, const char *msg)
{
    if (why != NULL && whylen > 0)
        snprintf(why, whylen, "%s", msg);
}

/* An optional member: 1 and *v when it holds a value, 0 when it is absent
 * or null (a step that writes "title": null means no title). */
static int
cr_optional(json_t **v, json_t *obj, const char *key)
{
    *v = json_object_get(obj, key);
    return *v != NULL && !json_is_null(*v);
}

/* A line or column: an integer from 1 to CR_LINE_MAX */
static int
cr_position(json_int_t *out, json_t *v)
{
    if (!json_is_integer(v) || json_integer_value(v) < 1 ||
        json_integer_value(v) > CR_LINE_MAX)
        return 0;
    *out = json_integer_value(v);
    return 1;
}

/* 1 when path is a usable file path: 1 to CR_PATH_MAX bytes, one line */
static int
cr_path_ok(json_t *v)
{
    const unsigned char *s;
    size_t n, i;

    if (!json_is_string(v) || (n = json_string_length(v)) == 0 ||
        n > CR_PATH_MAX)
        return 0;
    s = (const unsigned char *)json_string_value(v);
    for (i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

/* One element of cr_annotations as GitHub takes it, in a fresh object
 * (GitHub's key order, message and title cut, columns only on one line,
 * nothing else copied) in *out: 1. 0 when the element is not an
 * annotation (why says what is wrong), PAVED_ENOMEM. */
static int
cr_annotation(json_t **out, json_t *e, char *why, size_t whylen)
{
    static const char *const levels[] = {"notice", "warning", "failure"};
    json_t *a = NULL, *path, *sl, *el, *lvl, *msg, *title = NULL, *sc, *ec;
    json_int_t start, end, scol = 0, ecol = 0;
    int has_title, has_sc, has_ec;
    size_t i;

    *out = NULL;
    if (!json_is_object(e)) {
        cr_why(why, whylen, "not a JSON object");
        return 0;
    }
    path = json_object_get(e, "path");
    sl = json_object_get(e, "start_line");
    el = json_object_get(e, "end_line");
    lvl = json_object_get(e, "annotation_level");
    msg = json_object_get(e, "message");
    if (!cr_path_ok(path)) {
        cr_why(why, whylen,
               "\"path\" must be a string of 1 to 4096 bytes on one line");
        return 0;
    }
    if (!cr_position(&start, sl) || !cr_position(&end, el)) {
        cr_why(why, whylen,
               "\"start_line\" and \"end_line\" must be integers from 1 to "
               "2147483647");
        return 0;
    }
    if (end < start) {
        cr_why(why, whylen, "\"end_line\" is before \"start_line\"");
        return 0;
    }
    for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
        if (json_is_string(lvl) &&
            strcmp(json_string_value(lvl), levels[i]) == 0)
            break;
    if (i == sizeof(levels) / sizeof(levels[0])) {
        cr_why(why, whylen,
               "\"annotation_level\" must be \"notice\", \"warning\" or "
               "\"failure\"");
        return 0;
    }
    if (!json_is_string(msg) || json_string_length(msg) == 0) {
        cr_why(why, whylen, "\"message\" must be a non-empty string");
        return 0;
    }
    if ((has_title = cr_optional(&title, e, "title")) &&
        !json_is_string(title)) {
        cr_why(why, whylen, "\"title\" must be a string");
        return 0;
    }
    has_sc = cr_optional(&sc, e, "start_column");
    has_ec = cr_optional(&ec, e, "end_column");
    if ((has_sc && !cr_position(&scol, sc)) ||
        (has_ec && !cr_position(&ecol, ec))) {
        cr_why(why, whylen,
               "\"start_column\" and \"end_column\" must be integers from 1 "
               "to 2147483647");
        return 0;
    }
    if (has_sc && has_ec && start == end && ecol < scol) {
        cr_why(why, whylen, "\"end_column\" is before \"start_column\"");
        return 0;
    }

    if ((a = json_object()) == NULL || json_object_set(a, "path", path) < 0 ||
        json_object_set_new(a, "start_line", json_integer(start)) < 0 ||
        json_object_set_new(a, "end_line", json_integer(end)) < 0 ||
        json_object_set(a, "annotation_level", lvl) < 0 ||
        cr_set_owned(a, "message",
                     paved_forgeapi_cut(json_string_value(msg), 0,
                                        CR_MESSAGE_MAX, 0)) < 0)
        goto nomem;
    if (has_title) {
        char *t = paved_forgeapi_cut(json_string_value(title),
                                     CR_ANNOTATION_TITLE_MAX, 0, 1);

        if (t == NULL)
            goto nomem;
        /* an empty title is no title */
        if (t[0] != '\0' && cr_set_string(a, "title", t) < 0) {
            free(t);
            goto nomem;
        }
        free(t);
    }
    /* GitHub: "Annotations only support start_column and end_column on
     * the same line. Omit this parameter if start_line and end_line have
     * different values." */
    if (start == end) {
        if ((has_sc &&
             json_object_set_new(a, "start_column", json_integer(scol)) < 0) ||
            (has_ec &&
             json_object_set_new(a, "end_column", json_integer(ecol)) < 0))
            goto nomem;
    }
    *out = a;
    return 1;
nomem:
    json_decref(a);
    return paved_error_set(PAVED_ENOMEM, "out of memory");
}

int
paved_forgeapi_annotation_ok(const char *json, size_t len, char *why,
                             size_t whylen)
{
    json_error_t err;
    json_t *e, *a = NULL;
    int rc;

    cr_why(why, whylen, "");
    if (json == NULL || len == 0) {
        cr_why(why, whylen, "empty");
        return 0;
    }
    /* the same parser and flags as the array in paved_forgeapi_check_run(),
     * so that what passes here is never dropped there */
    if ((e = json_loadb(json, len, JSON_DECODE_ANY, &err)) == NULL) {
        if (why != NULL && whylen > 0)
            snprintf(why, whylen, "not JSON: %s", err.text);
        return 0;
    }
    rc = cr_annotation(&a, e, why, whylen);
    if (rc < 0)
        cr_why(why, whylen, "out of memory");
    json_decref(a);
    json_decref(e);
    return rc == 1;
}

/* Appends cr_annotations[from..] to output while they fit: at most
 * PAVED_FORGEAPI_ANNOTATIONS_PER_REQUEST, the body no longer than
 * CR_BODY_MAX given that it is *used bytes without them. Elements that
 * are not annotations are skipped and counted in *nsent. */
static int
cr_annotations(json_t *output, size_t *nsent, size_t used, json_t *arr,
               size_t from)
{
    json_t *list = NULL, *a = NULL;
    size_t i, n = json_array_size(arr), carried = 0, len, cap;
    int rc, error = 0;

    *nsent = 0;
    if ((list = json_array()) == NULL)
        goto nomem;
    used += CR_ANNOTATIONS_OVERHEAD;
    for (i = from; i < n; i++) {
        if ((rc = cr_annotation(&a, json_array_get(arr, i), NULL, 0)) < 0) {
            error = rc;
            goto out;
        }
        if (rc == 0) {
            (*nsent)++; /* it can never become valid: drop it */
            continue;
        }
        if (carried == PAVED_FORGEAPI_ANNOTATIONS_PER_REQUEST)
            break;
        len = json_dumpb(a, NULL, 0, CR_DUMP_FLAGS) + (carried > 0);
        if (used + len > CR_BODY_MAX) {
            if (carried > 0)
                break; /* it goes first in the next request */
            /* alone and still too large (a summary and text full of
             * escaped control characters): its message gives way, or
             * the run's annotations could never be sent */
            cap = CR_MESSAGE_MAX;
            while (used + len > CR_BODY_MAX) {
                const char *m;

                if ((cap /= 2) < 64) {
                    error = paved_error_set(PAVED_ERROR,
                                            "check run annotation cannot "
                                            "fit in a request");
                    goto out;
                }
                m = json_string_value(
                    json_object_get(json_array_get(arr, i), "message"));
                if (cr_set_owned(a, "message",
                                 paved_forgeapi_cut(m, 0, cap, 0)) < 0)
                    goto nomem;
                len = json_dumpb(a, NULL, 0, CR_DUMP_FLAGS);
            }
        }
        if (json_array_append_new(list, a) < 0) {
            a = NULL;
            goto nomem;
        }
        a = NULL;
        used += len;
        carried++;
        (*nsent)++;
    }
    if (carried > 0 && json_object_set_new(output, "annotations", list) < 0) {
        list = NULL;
        goto nomem;
    }
    if (carried > 0)
        list = NULL;
    goto out;
nomem:
    error = paved_error_set(PAVED_ENOMEM, "out of memory");
out:
    json_decref(a);
    json_decref(list);
    if (error < 0)
        *nsent = 0;
    return error;
}

/* GitHub's headers for the REST API of 2022-11-28, in a fixed order; the
 * token goes into its header and nowhere else. */
static int
cr_headers(struct paved_http_request *r, const char *token)
{
    static const char *const lines[][3] = {
        {"Accept", "application/vnd.github+json", ""},
        {"Authorization", "token ", NULL},
        {"Content-Type", "application/json; charset=utf-8", ""},
        {"User-Agent", "paved", ""},
        {"X-GitHub-Api-Version", "2022-11-28", ""},
    };
    size_t i, n = sizeof(lines) / sizeof(lines[0]);
    int error;

    if ((r->hr_headers = calloc(n, sizeof(*r->hr_headers))) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    for (i = 0; i < n; i++) {
        if ((error = forgeapi_header(
                 &r->hr_headers[i], lines[i][0], lines[i][1],
                 lines[i][2] != NULL ? lines[i][2] : token)) < 0)
            return error;
        r->hr_nheaders = i + 1;
    }
    return 0;
}

/* Everything paved_forgeapi_status() refuses, plus what only a check run
 * has. */
static int
cr_check(const struct paved_forge_endpoint *ep,
         const struct paved_check_run *cr)
{
    struct paved_status st = {cr->cr_repo,  cr->cr_sha, cr->cr_name,
                              cr->cr_state, NULL,       cr->cr_details_url};
    size_t slash;
    int ok, error;

    if (ep->fe_kind != PAVED_FORGEAPI_GITHUB)
        return paved_error_set(PAVED_EINVAL, "check runs exist on GitHub only");
    /* the name is the context: check it first, in a check run's words */
    if ((ok = cr_one_line(cr->cr_name, 255)) < 0)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    if (!ok)
        return paved_error_set(PAVED_EINVAL,
                               "check run name must be one line of UTF-8, "
                               "1 to 255 characters");
    if ((error = forgeapi_status_check(ep, &st)) < 0)
        return error;
    if (!forgeapi_repo_check(cr->cr_repo, PAVED_FORGEAPI_GITHUB, &slash))
        return paved_error_set(PAVED_EINVAL,
                               "repository must be \"owner/name\" of "
                               "letters, digits, '.', '_' and '-'");
    if (!forgeapi_sha_check(cr->cr_sha))
        return paved_error_set(PAVED_EINVAL,
                               "commit sha must be 40 or 64 hex digits");
    if (cr->cr_id < 0)
        return paved_error_set(PAVED_EINVAL, "check run id %lld is negative",
                               (long long)cr->cr_id);
    if (cr->cr_external_id != NULL && cr->cr_external_id[0] != '\0') {
        if ((ok = cr_one_line(cr->cr_external_id, CR_EXTERNAL_ID_MAX)) < 0)
            return paved_error_set(PAVED_ENOMEM, "out of memory");
        if (!ok)
            return paved_error_set(PAVED_EINVAL,
                                   "check run external_id must be one line "
                                   "of UTF-8, at most %d characters",
                                   CR_EXTERNAL_ID_MAX);
    }
    return 0;
}

/* The body without annotations, in the order forgeapi.h gives. */
static int
cr_body(json_t **root_out, json_t **output_out,
        const struct paved_check_run *cr)
{
    json_t *root = NULL, *output = NULL;
    const char *status, *conclusion;
    char sha[65], *title = NULL;
    size_t i, n;
    int error;

    *root_out = *output_out = NULL;
    if (cr_state(cr->cr_state, &status, &conclusion) < 0)
        return paved_error_set(PAVED_EINVAL, "unknown check run state %d",
                               (int)cr->cr_state);
    n = strlen(cr->cr_sha);
    for (i = 0; i < n; i++)
        sha[i] = (char)(cr->cr_sha[i] >= 'A' && cr->cr_sha[i] <= 'F'
                            ? cr->cr_sha[i] + ('a' - 'A')
                            : cr->cr_sha[i]);
    sha[n] = '\0';

    title = paved_forgeapi_cut(cr->cr_title != NULL ? cr->cr_title : "",
                               PAVED_FORGEAPI_CHECK_TITLE_MAX, 0, 1);
    if (title == NULL || (root = json_object()) == NULL ||
        (output = json_object()) == NULL)
        goto nomem;
    if (title[0] == '\0') {
        free(title);
        if ((title = strdup(cr_default_title(cr->cr_state))) == NULL)
            goto nomem;
    }
    if (cr_set_string(root, "name", cr->cr_name) < 0 ||
        (cr->cr_id == 0 && cr_set_string(root, "head_sha", sha) < 0) ||
        (cr->cr_details_url != NULL && cr->cr_details_url[0] != '\0' &&
         cr_set_string(root, "details_url", cr->cr_details_url) < 0) ||
        (cr->cr_external_id != NULL && cr->cr_external_id[0] != '\0' &&
         cr_set_string(root, "external_id", cr->cr_external_id) < 0) ||
        cr_set_string(root, "status", status) < 0 ||
        (conclusion != NULL &&
         cr_set_string(root, "conclusion", conclusion) < 0) ||
        cr_set_string(output, "title", title) < 0 ||
        cr_set_owned(
            output, "summary",
            cr_cut_text(cr->cr_summary != NULL ? cr->cr_summary : title)) < 0 ||
        (cr->cr_text != NULL &&
         cr_set_owned(output, "text", cr_cut_text(cr->cr_text)) < 0) ||
        json_object_set(root, "output", output) < 0)
        goto nomem;
    *root_out = root;
    *output_out = output; /* borrowed: root holds it */
    root = NULL;
    error = 0;
    goto out;
nomem:
    error = paved_error_set(PAVED_ENOMEM, "out of memory");
out:
    free(title);
    json_decref(output);
    json_decref(root);
    return error;
}

int
paved_forgeapi_check_run(struct paved_http_request *out, size_t *nsent,
                         const struct paved_forge_endpoint *ep,
                         const struct paved_check_run *cr)
{
    struct paved_http_request r = {0};
    struct paved_buf url = PAVED_BUF_INIT(CR_URL_MAX);
    json_t *root = NULL, *output, *arr = NULL;
    json_error_t jerr;
    const char *status, *conclusion;
    size_t sent = 0, used, base;
    int error;

    if (out != NULL)
        memset(out, 0, sizeof(*out));
    if (nsent != NULL)
        *nsent = 0;
    if (out == NULL || ep == NULL || cr == NULL) {
        error = paved_error_set(PAVED_EINVAL, "no request, endpoint or run");
        goto out;
    }
    if (cr_state(cr->cr_state, &status, &conclusion) < 0) {
        error = paved_error_set(PAVED_EINVAL, "unknown check run state %d",
                                (int)cr->cr_state);
        goto out;
    }
    if ((error = cr_check(ep, cr)) < 0)
        goto out;
    if (cr->cr_annotations != NULL) {
        arr = json_loads(cr->cr_annotations, JSON_DECODE_ANY, &jerr);
        if (!json_is_array(arr)) {
            error = paved_error_set(PAVED_EINVAL,
                                    "check run annotations are not a JSON "
                                    "array");
            goto out;
        }
    }

    /* the API root without trailing slashes; a GitHub Enterprise Server's
     * is https://HOST/api/v3, configured as such. Repository segments are
     * unreserved characters only: nothing to percent-encode. */
    base = strlen(ep->fe_api_url);
    while (base > 0 && ep->fe_api_url[base - 1] == '/')
        base--;
    if ((error = paved_buf_put(&url, ep->fe_api_url, base)) < 0 ||
        (error = paved_buf_printf(&url, "/repos/%s/check-runs", cr->cr_repo)) <
            0 ||
        (cr->cr_id > 0 &&
         (error = paved_buf_printf(&url, "/%lld", (long long)cr->cr_id)) < 0))
        goto out;

    if ((error = cr_body(&root, &output, cr)) < 0)
        goto out;
    used = json_dumpb(root, NULL, 0, CR_DUMP_FLAGS);
    if (arr != NULL && (error = cr_annotations(output, &sent, used, arr,
                                               cr->cr_annotations_from)) < 0)
        goto out;

    if ((r.hr_method = strdup(cr->cr_id > 0 ? "PATCH" : "POST")) == NULL ||
        (r.hr_body = json_dumps(root, CR_DUMP_FLAGS)) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    r.hr_body_len = strlen(r.hr_body);
    if (r.hr_body_len > CR_BODY_MAX) {
        /* the caps above keep the body far below; never reached */
        error = paved_error_set(PAVED_ERROR,
                                "check run body of %zu bytes is too large",
                                r.hr_body_len);
        goto out;
    }
    if ((r.hr_url = paved_buf_detach(&url, NULL)) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    if ((error = cr_headers(&r, ep->fe_token)) < 0)
        goto out;
    *out = r;
    memset(&r, 0, sizeof(r));
    if (nsent != NULL)
        *nsent = sent;
    error = 0;
out:
    paved_http_request_dispose(&r);
    paved_buf_dispose(&url);
    json_decref(root);
    json_decref(arr);
    return error;
}

int
paved_forgeapi_answer_id(int64_t *id, const char *body, size_t len)
{
    struct paved_jscan_field f = {.jf_path = "id"};
    long long v;

    *id = 0;
    if (body == NULL || len == 0 || len > CR_ANSWER_MAX)
        return paved_error_set(PAVED_EINVAL,
                               "GitHub's answer is empty or over %d bytes",
                               CR_ANSWER_MAX);
    if (paved_jscan((const unsigned char *)body, len, &f, 1) < 0)
        return paved_error_set(PAVED_EINVAL,
                               "GitHub's answer is not a JSON object");
    if (f.jf_type != PAVED_JSON_NUMBER || paved_jscan_int(&v, &f) < 0 || v < 1)
        return paved_error_set(PAVED_EINVAL,
                               "GitHub's answer has no positive integer "
                               "\"id\"");
    *id = (int64_t)v;
    return 0;
}

int
paved_forgeapi_check_find(struct paved_http_request *out,
                          const struct paved_forge_endpoint *ep,
                          const char *repo, const char *sha, const char *name)
{
    struct paved_check_run cr = {0};
    struct paved_http_request r = {0};
    struct paved_buf url = PAVED_BUF_INIT(CR_URL_MAX);
    size_t base, i;
    int error;

    memset(out, 0, sizeof(*out));
    cr.cr_repo = repo;
    cr.cr_sha = sha;
    cr.cr_name = name;
    if ((error = cr_check(ep, &cr)) < 0)
        goto out;
    base = strlen(ep->fe_api_url);
    while (base > 0 && ep->fe_api_url[base - 1] == '/')
        base--;
    if ((error = paved_buf_put(&url, ep->fe_api_url, base)) < 0 ||
        (error = paved_buf_printf(&url, "/repos/%s/commits/", repo)) < 0)
        goto out;
    /* the sha in lower case, as every other request sends it */
    for (i = 0; sha[i] != '\0'; i++)
        if ((error = paved_buf_putc(&url, (char)(sha[i] >= 'A' && sha[i] <= 'F'
                                                     ? sha[i] - 'A' + 'a'
                                                     : sha[i]))) < 0)
            goto out;
    if ((error = paved_buf_puts(&url, "/check-runs?check_name=")) < 0 ||
        (error = forgeapi_put_encoded(&url, name, strlen(name))) < 0 ||
        (error = paved_buf_puts(&url, "&filter=all&per_page=100")) < 0)
        goto out;
    if ((r.hr_method = strdup("GET")) == NULL ||
        (r.hr_url = paved_buf_detach(&url, NULL)) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    if ((error = cr_headers(&r, ep->fe_token)) < 0)
        goto out;
    *out = r;
    memset(&r, 0, sizeof(r));
    error = 0;
out:
    paved_http_request_dispose(&r);
    paved_buf_dispose(&url);
    return error;
}

int
paved_forgeapi_check_found(int64_t *id, const char *body, size_t len,
                           const char *name, const char *external_id)
{
    json_t *root, *runs, *cr;
    size_t i;
    int found = 0;

    *id = 0;
    if (body == NULL || len == 0 || len > CR_ANSWER_MAX ||
        (root = json_loadb(body, len, 0, NULL)) == NULL)
        return paved_error_set(PAVED_EINVAL,
                               "GitHub's list of check runs is not JSON");
    runs = json_object_get(root, "check_runs");
    if (!json_is_array(runs)) {
        json_decref(root);
        return paved_error_set(PAVED_EINVAL,
                               "GitHub's answer has no check_runs list");
    }
    json_array_foreach(runs, i, cr)
    {
        json_t *jid = json_object_get(cr, "id");
        const char *n = json_string_value(json_object_get(cr, "name"));
        const char *ext = json_string_value(json_object_get(cr, "external_id"));
        if (!json_is_integer(jid) || json_integer_value(jid) < 1 || n == NULL ||
            ext == NULL || strcmp(n, name) != 0 ||
            strcmp(ext, external_id) != 0)
            continue;
        if ((int64_t)json_integer_value(jid) > *id) {
            *id = (int64_t)json_integer_value(jid);
            found = 1;
        }
    }
    json_decref(root);
    return found;
}
