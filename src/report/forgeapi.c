/* The forges' commit-status APIs as plain data: building the request for
 * GitHub, Gitea/Forgejo and GitLab, and reading an answer (verdict, retry
 * hints, the forge's message). Pure: never opens a socket, never reads a
 * clock, never logs, and never puts a token anywhere but its header. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "paved/buf.h"
#include "paved/error.h"
#include "paved/forgeapi.h"
#include "paved/text.h"

#include "report/forgeapi_int.h"

/* caps on what we build: far above any real value, low enough that a bad
 * row cannot make a huge request */
#define FA_REPO_MAX 1024
#define FA_SEGMENT_MAX 255
#define FA_CONTEXT_MAX 255 /* characters; GitLab's limit for name */
#define FA_URL_MAX 2048
#define FA_TOKEN_MAX 4096
#define FA_BODY_MAX 65536
/* an error body larger than this is not parsed for its message */
#define FA_ANSWER_JSON_MAX (256 * 1024)
/* GitHub: "wait at least one minute" after a secondary rate limit */
#define FA_SECONDARY_WAIT_MS 60000
/* no hint from a forge holds the outbox longer than a day: a broken or
 * hostile header must not park updates for ever */
#define FA_HINT_MAX_MS (24LL * 3600 * 1000)

static const char fa_ellipsis[] = "\xe2\x80\xa6";    /* U+2026 */
static const char fa_replacement[] = "\xef\xbf\xbd"; /* U+FFFD */

/*
 * UTF-8
 */

/* ASCII only, whatever the locale says */
static int
fa_is_alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z');
}

/* One output character for the input at s[0..n): *in input bytes become
 * *outlen bytes at *out (the input itself, U+FFFD, or a space). */
static void
fa_unit(const unsigned char *s, size_t n, int flatten, size_t *in,
        const char **out, size_t *outlen)
{
    size_t len = paved_utf8_decode(s, n, NULL);

    if (len == 0) {
        *in = 1;
        *out = fa_replacement;
        *outlen = 3;
    } else if (flatten && len == 1 && (s[0] < 0x20 || s[0] == 0x7f)) {
        *in = 1;
        *out = " ";
        *outlen = 1;
    } else {
        *in = len;
        *out = (const char *)s;
        *outlen = len;
    }
}

/* Appends s[0..n) cut to the limits (see paved_forgeapi_cut()). Two
 * passes: the first finds whether a cut is needed and where, so that the
 * output never has to be taken back. */
static int
fa_cut_into(struct paved_buf *b, const char *s, size_t n, size_t max_chars,
            size_t max_bytes, int flatten)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i, in, outlen, chars = 0, bytes = 0, stop = n;
    size_t keep_chars, keep_bytes, room_chars, room_bytes;
    const char *out;
    int cut = 0, marker, error;

    room_chars = max_chars != 0 ? max_chars : SIZE_MAX;
    room_bytes = max_bytes != 0 ? max_bytes : SIZE_MAX;
    /* room for "…" only when the limits can hold it at all */
    marker = room_chars >= 1 && room_bytes >= sizeof(fa_ellipsis) - 1;
    keep_chars = marker ? room_chars - 1 : room_chars;
    keep_bytes = marker ? room_bytes - (sizeof(fa_ellipsis) - 1) : room_bytes;
    for (i = 0; i < n; i += in) {
        fa_unit(u + i, n - i, flatten, &in, &out, &outlen);
        if (chars + 1 > room_chars || bytes + outlen > room_bytes) {
            cut = 1;
            break;
        }
        chars++;
        bytes += outlen;
    }
    if (cut) {
        /* the longest prefix that leaves room for the marker */
        chars = bytes = 0;
        for (i = 0; i < n; i += in) {
            fa_unit(u + i, n - i, flatten, &in, &out, &outlen);
            if (chars + 1 > keep_chars || bytes + outlen > keep_bytes)
                break;
            chars++;
            bytes += outlen;
        }
        stop = i;
    }
    for (i = 0; i < stop; i += in) {
        fa_unit(u + i, stop - i, flatten, &in, &out, &outlen);
        if ((error = paved_buf_put(b, out, outlen)) < 0)
            return error;
    }
    if (cut && marker)
        return paved_buf_put(b, fa_ellipsis, sizeof(fa_ellipsis) - 1);
    return 0;
}

char *
paved_forgeapi_cut(const char *s, size_t max_chars, size_t max_bytes,
                   int flatten)
{
    struct paved_buf b = PAVED_BUF_INIT(SIZE_MAX / 2);

    if (s == NULL)
        s = "";
    if (fa_cut_into(&b, s, strlen(s), max_chars, max_bytes, flatten) < 0) {
        paved_buf_dispose(&b);
        return NULL;
    }
    return paved_buf_detach(&b, NULL);
}

/* Number of code points in s, or (size_t)-1 when s is not strict UTF-8 or
 * holds a control character. */
static size_t
fa_text_chars(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s), i, len, chars = 0;

    for (i = 0; i < n; i += len) {
        if ((len = paved_utf8_decode(u + i, n - i, NULL)) == 0 ||
            (len == 1 && (u[i] < 0x20 || u[i] == 0x7f)))
            return (size_t)-1;
        chars++;
    }
    return chars;
}

/*
 * Requests
 */

void
paved_http_request_dispose(struct paved_http_request *r)
{
    size_t i;

    if (r == NULL)
        return;
    free(r->hr_method);
    free(r->hr_url);
    if (r->hr_headers != NULL) {
        for (i = 0; i < r->hr_nheaders; i++) {
            /* one of them carries the token */
            if (r->hr_headers[i] != NULL) {
                explicit_bzero(r->hr_headers[i], strlen(r->hr_headers[i]));
                free(r->hr_headers[i]);
            }
        }
        free(r->hr_headers);
    }
    free(r->hr_body);
    memset(r, 0, sizeof(*r));
}

/* The characters a repository path segment may hold on every forge (and
 * a GitLab namespace or project path): letters, digits, '.', '_', '-'. */
static int
fa_segment_ok(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || n > FA_SEGMENT_MAX)
        return 0;
    /* "." and ".." would walk the API path */
    if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (!fa_is_alnum(c) && c != '.' && c != '_' && c != '-')
            return 0;
    }
    return 1;
}

/* GitHub and Gitea: exactly "owner/name". GitLab: "group/project" with
 * any number of subgroups, or a numeric project id. */
int
forgeapi_repo_check(const char *repo, enum paved_forge_kind kind, size_t *slash)
{
    size_t n, start, i, segs = 0;

    if (repo == NULL || (n = strlen(repo)) == 0 || n > FA_REPO_MAX)
        return 0;
    if (kind == PAVED_FORGEAPI_GITLAB && strspn(repo, "0123456789") == n)
        return 1;
    *slash = 0;
    for (start = 0, i = 0; i <= n; i++) {
        if (i < n && repo[i] != '/')
            continue;
        if (!fa_segment_ok(repo + start, i - start))
            return 0;
        if (segs == 0)
            *slash = i;
        segs++;
        start = i + 1;
    }
    if (kind == PAVED_FORGEAPI_GITLAB)
        return segs >= 2;
    return segs == 2;
}

/* 40 (SHA-1) or 64 (SHA-256) hex digits */
int
forgeapi_sha_check(const char *sha)
{
    size_t n;

    if (sha == NULL)
        return 0;
    n = strlen(sha);
    return (n == 40 || n == 64) && strspn(sha, "0123456789abcdefABCDEF") == n;
}

/* http(s)://, printable ASCII or UTF-8, no spaces or controls */
static int
fa_url_ok(const char *url)
{
    size_t n = strlen(url), i, len;
    const unsigned char *u = (const unsigned char *)url;

    if (n > FA_URL_MAX || (strncasecmp(url, "https://", 8) != 0 &&
                           strncasecmp(url, "http://", 7) != 0))
        return 0;
    for (i = 0; i < n; i += len)
        if ((len = paved_utf8_decode(u + i, n - i, NULL)) == 0 ||
            (len == 1 && (u[i] <= 0x20 || u[i] == 0x7f)))
            return 0;
    return 1;
}

/* Percent-encodes everything but RFC 3986's unreserved characters, so a
 * GitLab path becomes one segment ("group%2Fproject"). */
int
forgeapi_put_encoded(struct paved_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i;
    int error;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[3];

        if (fa_is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            error = paved_buf_putc(b, (char)c);
        } else {
            esc[0] = '%';
            esc[1] = hex[c >> 4];
            esc[2] = hex[c & 15];
            error = paved_buf_put(b, esc, 3);
        }
        if (error < 0)
            return error;
    }
    return 0;
}

/* The API root without trailing slashes, plus the forge's prefix unless
 * the configured URL already ends with it ("https://gitea.example/api/v1"
 * and "https://gitea.example" give the same requests). */
static int
fa_put_base(struct paved_buf *b, const char *api, const char *prefix)
{
    size_t n = strlen(api), plen = prefix != NULL ? strlen(prefix) : 0;
    int error;

    while (n > 0 && api[n - 1] == '/')
        n--;
    if ((error = paved_buf_put(b, api, n)) < 0)
        return error;
    if (plen == 0 || (n >= plen && strncmp(api + n - plen, prefix, plen) == 0))
        return 0;
    return paved_buf_puts(b, prefix);
}

static const char *
fa_state_name(enum paved_forge_kind kind, enum paved_status_state st)
{
    if (kind == PAVED_FORGEAPI_GITLAB) {
        switch (st) {
        case PAVED_STATUS_PENDING:
            return "pending";
        case PAVED_STATUS_RUNNING:
            return "running";
        case PAVED_STATUS_SUCCESS:
            return "success";
        case PAVED_STATUS_FAILURE:
        case PAVED_STATUS_ERROR: /* GitLab has no error state */
            return "failed";
        case PAVED_STATUS_CANCELLED:
            return "canceled";
        }
        return NULL;
    }
    /* GitHub and Gitea share the four states (Gitea adds warning, which
     * paved never sends) */
    switch (st) {
    case PAVED_STATUS_PENDING:
    case PAVED_STATUS_RUNNING:
        return "pending";
    case PAVED_STATUS_SUCCESS:
        return "success";
    case PAVED_STATUS_FAILURE:
        return "failure";
    case PAVED_STATUS_ERROR:
    case PAVED_STATUS_CANCELLED:
        return "error";
    }
    return NULL;
}

/* "Name: value" in a fresh string */
int
forgeapi_header(char **out, const char *name, const char *v1, const char *v2)
{
    size_t nl = strlen(name), l1 = strlen(v1), l2 = strlen(v2);
    char *s;

    if ((s = malloc(nl + 2 + l1 + l2 + 1)) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    memcpy(s, name, nl);
    memcpy(s + nl, ": ", 2);
    memcpy(s + nl + 2, v1, l1);
    memcpy(s + nl + 2 + l1, v2, l2 + 1);
    *out = s;
    return 0;
}

/* The headers of one forge, in a fixed order. The token goes into its
 * header and nowhere else. */
static int
fa_headers(struct paved_http_request *r, const struct paved_forge_endpoint *ep)
{
    const char *names[4], *values[4];
    char *auth = NULL;
    size_t i, n, alen;
    int error = 0;

    alen = strlen("token ") + strlen(ep->fe_token) + 1;
    if ((auth = malloc(alen)) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    snprintf(auth, alen, "token %s", ep->fe_token);
    switch (ep->fe_kind) {
    case PAVED_FORGEAPI_GITHUB:
        /* exactly what @octokit/fixtures recorded from api.github.com,
         * plus the User-Agent GitHub requires */
        names[0] = "Accept";
        values[0] = "application/vnd.github.v3+json";
        names[1] = "Authorization";
        values[1] = auth;
        names[2] = "Content-Type";
        values[2] = "application/json; charset=utf-8";
        break;
    case PAVED_FORGEAPI_GITEA:
        names[0] = "Accept";
        values[0] = "application/json";
        names[1] = "Authorization";
        values[1] = auth;
        names[2] = "Content-Type";
        values[2] = "application/json";
        break;
    default:
        names[0] = "Accept";
        values[0] = "application/json";
        names[1] = "PRIVATE-TOKEN";
        values[1] = ep->fe_token;
        names[2] = "Content-Type";
        values[2] = "application/json";
        break;
    }
    names[3] = "User-Agent";
    values[3] = "paved";
    n = 4;
    if ((r->hr_headers = calloc(n, sizeof(*r->hr_headers))) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < n; i++) {
        if ((error = forgeapi_header(&r->hr_headers[i], names[i], values[i],
                                     "")) < 0)
            goto out;
        r->hr_nheaders = i + 1;
    }
out:
    explicit_bzero(auth, alen);
    free(auth);
    return error;
}

/* "key":"value" with a leading comma unless first */
static int
fa_put_member(struct paved_buf *b, const char *key, const char *value,
              int first)
{
    int error;

    if ((!first && (error = paved_buf_putc(b, ',')) < 0) ||
        (error = paved_buf_put_json_string(b, key)) < 0 ||
        (error = paved_buf_putc(b, ':')) < 0)
        return error;
    return paved_buf_put_json_string(b, value);
}

/* The compact body. Key order is GitHub's documented (and recorded)
 * order; GitLab's name stands where the others put context, after the
 * state, as its API reference lists it. */
static int
fa_body(struct paved_buf *b, enum paved_forge_kind kind, const char *state,
        const char *target, const char *desc, const char *context)
{
    int error;

    if ((error = paved_buf_putc(b, '{')) < 0 ||
        (error = fa_put_member(b, "state", state, 1)) < 0)
        return error;
    if (kind == PAVED_FORGEAPI_GITLAB &&
        (error = fa_put_member(b, "name", context, 0)) < 0)
        return error;
    if (target != NULL &&
        (error = fa_put_member(b, "target_url", target, 0)) < 0)
        return error;
    if (desc != NULL && (error = fa_put_member(b, "description", desc, 0)) < 0)
        return error;
    if (kind != PAVED_FORGEAPI_GITLAB &&
        (error = fa_put_member(b, "context", context, 0)) < 0)
        return error;
    return paved_buf_putc(b, '}');
}

/* The endpoint and status fields that do not depend on the repo form. */
int
forgeapi_status_check(const struct paved_forge_endpoint *ep,
                      const struct paved_status *st)
{
    size_t i, n, chars;

    if (ep->fe_kind != PAVED_FORGEAPI_GITHUB &&
        ep->fe_kind != PAVED_FORGEAPI_GITEA &&
        ep->fe_kind != PAVED_FORGEAPI_GITLAB)
        return paved_error_set(PAVED_EINVAL, "unknown forge kind %d",
                               (int)ep->fe_kind);
    if (ep->fe_api_url == NULL || !fa_url_ok(ep->fe_api_url) ||
        strpbrk(ep->fe_api_url, "?#") != NULL)
        return paved_error_set(PAVED_EINVAL,
                               "forge API URL is not an http(s) URL");
    if (ep->fe_token == NULL || ep->fe_token[0] == '\0')
        return paved_error_set(PAVED_EAUTH, "no token for the forge API");
    /* the token goes into a header line: printable ASCII only; the
     * message never shows it */
    n = strlen(ep->fe_token);
    if (n > FA_TOKEN_MAX)
        return paved_error_set(PAVED_EINVAL, "forge token is too long");
    for (i = 0; i < n; i++)
        if ((unsigned char)ep->fe_token[i] <= 0x20 ||
            (unsigned char)ep->fe_token[i] >= 0x7f)
            return paved_error_set(PAVED_EINVAL,
                                   "forge token has a character that cannot "
                                   "go into a header");
    if (fa_state_name(ep->fe_kind, st->ps_state) == NULL)
        return paved_error_set(PAVED_EINVAL, "unknown status state %d",
                               (int)st->ps_state);
    if (st->ps_context == NULL || st->ps_context[0] == '\0')
        return paved_error_set(PAVED_EINVAL, "status has no context");
    chars = fa_text_chars(st->ps_context);
    if (chars == (size_t)-1)
        return paved_error_set(PAVED_EINVAL,
                               "status context is not one line of UTF-8");
    if (chars > FA_CONTEXT_MAX)
        return paved_error_set(PAVED_EINVAL,
                               "status context is longer than %d characters",
                               FA_CONTEXT_MAX);
    if (st->ps_target_url != NULL && st->ps_target_url[0] != '\0' &&
        !fa_url_ok(st->ps_target_url))
        return paved_error_set(PAVED_EINVAL,
                               "status target_url is not an http(s) URL");
    return 0;
}

int
paved_forgeapi_status(struct paved_http_request *out,
                      const struct paved_forge_endpoint *ep,
                      const struct paved_status *st)
{
    struct paved_http_request r = {0};
    struct paved_buf url = PAVED_BUF_INIT(FA_URL_MAX + FA_REPO_MAX * 3 + 256);
    struct paved_buf body = PAVED_BUF_INIT(FA_BODY_MAX);
    struct paved_buf desc = PAVED_BUF_INIT(FA_BODY_MAX);
    const char *target = NULL, *state;
    char sha[65];
    size_t slash = 0, i, n;
    int error;

    memset(out, 0, sizeof(*out));
    if (ep == NULL || st == NULL) {
        error = paved_error_set(PAVED_EINVAL, "no endpoint or status");
        goto out;
    }
    if ((error = forgeapi_status_check(ep, st)) < 0)
        goto out;
    if (!forgeapi_repo_check(st->ps_repo, ep->fe_kind, &slash)) {
        error = paved_error_set(
            PAVED_EINVAL,
            "repository must be %s of letters, digits, '.', "
            "'_' and '-'",
            ep->fe_kind == PAVED_FORGEAPI_GITLAB ? "a project path or id"
                                                 : "\"owner/name\"");
        goto out;
    }
    if (!forgeapi_sha_check(st->ps_sha)) {
        error = paved_error_set(PAVED_EINVAL,
                                "commit sha must be 40 or 64 hex digits");
        goto out;
    }
    n = strlen(st->ps_sha);
    for (i = 0; i < n; i++)
        sha[i] = (char)(st->ps_sha[i] >= 'A' && st->ps_sha[i] <= 'F'
                            ? st->ps_sha[i] + ('a' - 'A')
                            : st->ps_sha[i]);
    sha[n] = '\0';
    state = fa_state_name(ep->fe_kind, st->ps_state);
    if (st->ps_target_url != NULL && st->ps_target_url[0] != '\0')
        target = st->ps_target_url;

    switch (ep->fe_kind) {
    case PAVED_FORGEAPI_GITHUB:
    case PAVED_FORGEAPI_GITEA:
        if ((error = fa_put_base(
                 &url, ep->fe_api_url,
                 ep->fe_kind == PAVED_FORGEAPI_GITEA ? "/api/v1" : NULL)) < 0 ||
            (error = paved_buf_puts(&url, "/repos/")) < 0 ||
            (error = forgeapi_put_encoded(&url, st->ps_repo, slash)) < 0 ||
            (error = paved_buf_putc(&url, '/')) < 0 ||
            (error = forgeapi_put_encoded(&url, st->ps_repo + slash + 1,
                                          strlen(st->ps_repo + slash + 1))) < 0)
            goto nomem;
        break;
    default:
        if ((error = fa_put_base(&url, ep->fe_api_url, "/api/v4")) < 0 ||
            (error = paved_buf_puts(&url, "/projects/")) < 0 ||
            (error = forgeapi_put_encoded(&url, st->ps_repo,
                                          strlen(st->ps_repo))) < 0)
            goto nomem;
        break;
    }
    if ((error = paved_buf_puts(&url, "/statuses/")) < 0 ||
        (error = paved_buf_puts(&url, sha)) < 0)
        goto nomem;

    /* one line, cut to the forge's limit; an empty one is left out */
    if (st->ps_description != NULL && st->ps_description[0] != '\0' &&
        (error =
             fa_cut_into(&desc, st->ps_description, strlen(st->ps_description),
                         ep->fe_kind == PAVED_FORGEAPI_GITHUB
                             ? PAVED_FORGEAPI_GITHUB_DESC_MAX
                             : PAVED_FORGEAPI_DESC_MAX,
                         0, 1)) < 0)
        goto nomem;
    if ((error = fa_body(&body, ep->fe_kind, state, target,
                         desc.b_len > 0 ? desc.b_ptr : NULL, st->ps_context)) <
        0)
        goto nomem;

    if ((r.hr_method = strdup("POST")) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    r.hr_url = paved_buf_detach(&url, NULL);
    r.hr_body = paved_buf_detach(&body, &r.hr_body_len);
    if (r.hr_url == NULL || r.hr_body == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    if ((error = fa_headers(&r, ep)) < 0)
        goto out;
    *out = r;
    memset(&r, 0, sizeof(r));
    error = 0;
    goto out;
nomem:
    /* every cap above is far past what the checks let through */
    error = paved_error_set(error, "cannot build the status request");
out:
    paved_http_request_dispose(&r);
    paved_buf_dispose(&url);
    paved_buf_dispose(&body);
    paved_buf_dispose(&desc);
    return error;
}

/*
 * Answers
 */

struct fa_hints {
    int h_has_retry_after;
    int64_t h_retry_after_ms; /* absolute; 0: unusable */
    long h_remaining;         /* -1: absent */
    int64_t h_reset_ms;       /* absolute; 0: absent */
};

static int64_t
fa_add_sat(int64_t a, int64_t b)
{
    if (b > 0 && a > INT64_MAX - b)
        return INT64_MAX;
    if (b < 0 && a < INT64_MIN - b)
        return INT64_MIN;
    return a + b;
}

/* Digits only, at most 15 of them (so that * 1000 cannot overflow). */
static int
fa_parse_uint(int64_t *out, const char *s, size_t n)
{
    int64_t v = 0;
    size_t i;

    if (n == 0 || n > 15)
        return -1;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil), so that no time zone or locale is involved */
static int64_t
fa_days_from_civil(int64_t y, int64_t m, int64_t d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

struct fa_lex {
    const char *l_s;
    size_t l_n, l_i;
};

static int
fa_lex_num(struct fa_lex *l, size_t min, size_t max, int *out)
{
    size_t k = 0;
    int v = 0;

    while (l->l_i < l->l_n && k < max && l->l_s[l->l_i] >= '0' &&
           l->l_s[l->l_i] <= '9') {
        v = v * 10 + (l->l_s[l->l_i++] - '0');
        k++;
    }
    if (k < min ||
        (l->l_i < l->l_n && l->l_s[l->l_i] >= '0' && l->l_s[l->l_i] <= '9'))
        return -1;
    *out = v;
    return (int)k;
}

static int
fa_lex_char(struct fa_lex *l, char c)
{
    if (l->l_i >= l->l_n || l->l_s[l->l_i] != c)
        return -1;
    l->l_i++;
    return 0;
}

static void
fa_lex_spaces(struct fa_lex *l)
{
    while (l->l_i < l->l_n && l->l_s[l->l_i] == ' ')
        l->l_i++;
}

static int
fa_lex_month(struct fa_lex *l, int *out)
{
    static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
    int m;

    if (l->l_n - l->l_i < 3)
        return -1;
    for (m = 0; m < 12; m++) {
        if (strncasecmp(l->l_s + l->l_i, months + 3 * m, 3) == 0) {
            l->l_i += 3;
            *out = m + 1;
            return 0;
        }
    }
    return -1;
}

static int
fa_lex_time(struct fa_lex *l, int *h, int *mi, int *s)
{
    if (fa_lex_num(l, 2, 2, h) < 0 || fa_lex_char(l, ':') < 0 ||
        fa_lex_num(l, 2, 2, mi) < 0 || fa_lex_char(l, ':') < 0 ||
        fa_lex_num(l, 2, 2, s) < 0)
        return -1;
    return 0;
}

/* An HTTP-date in any of the three forms RFC 9110 section 5.6.7 says a
 * recipient must accept: "Sun, 06 Nov 1994 08:49:37 GMT" (IMF-fixdate),
 * "Sunday, 06-Nov-94 08:49:37 GMT" (RFC 850) and
 * "Sun Nov  6 08:49:37 1994" (asctime). The weekday is not checked. */
static int
fa_parse_http_date(int64_t *out_ms, const char *s, size_t n)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    struct fa_lex l = {s, n, 0};
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, k, leap;

    while (l.l_i < n && ((s[l.l_i] | 0x20) >= 'a' && (s[l.l_i] | 0x20) <= 'z'))
        l.l_i++;
    if (l.l_i == 0)
        return -1;
    if (l.l_i < n && s[l.l_i] == ',') {
        /* IMF-fixdate or RFC 850 */
        l.l_i++;
        fa_lex_spaces(&l);
        if (fa_lex_num(&l, 1, 2, &d) < 0)
            return -1;
        if (fa_lex_char(&l, '-') == 0) {
            if (fa_lex_month(&l, &mo) < 0 || fa_lex_char(&l, '-') < 0)
                return -1;
        } else {
            if (fa_lex_char(&l, ' ') < 0 || fa_lex_month(&l, &mo) < 0 ||
                fa_lex_char(&l, ' ') < 0)
                return -1;
        }
        if ((k = fa_lex_num(&l, 2, 4, &y)) < 0 || k == 3)
            return -1;
        if (k == 2)
            y += y < 70 ? 2000 : 1900; /* RFC 850's two-digit year */
        if (fa_lex_char(&l, ' ') < 0 || fa_lex_time(&l, &h, &mi, &sec) < 0 ||
            fa_lex_char(&l, ' ') < 0 || n - l.l_i != 3 ||
            strncmp(s + l.l_i, "GMT", 3) != 0)
            return -1;
    } else {
        /* asctime: "Sun Nov  6 08:49:37 1994" */
        if (fa_lex_char(&l, ' ') < 0 || fa_lex_month(&l, &mo) < 0 ||
            fa_lex_char(&l, ' ') < 0)
            return -1;
        fa_lex_spaces(&l);
        if (fa_lex_num(&l, 1, 2, &d) < 0 || fa_lex_char(&l, ' ') < 0 ||
            fa_lex_time(&l, &h, &mi, &sec) < 0 || fa_lex_char(&l, ' ') < 0 ||
            fa_lex_num(&l, 4, 4, &y) < 0 || l.l_i != n)
            return -1;
    }
    leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
        (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || sec > 60)
        return -1;
    *out_ms = ((fa_days_from_civil(y, mo, d) * 86400) + h * 3600LL + mi * 60LL +
               sec) *
              1000;
    return 0;
}

/* A rate-limit reset: unix seconds as GitHub and GitLab send them. A
 * value too small to be a date (before 2001) is taken as seconds from now,
 * which is what the IETF RateLimit draft means by it; one too large to be
 * seconds (after year 33658) as milliseconds, which is what
 * @octokit/fixtures' normalized recordings hold. */
static int64_t
fa_reset_ms(int64_t v, int64_t now_ms)
{
    if (v < 1000000000LL)
        return fa_add_sat(now_ms, v * 1000);
    if (v >= 1000000000000LL)
        return v;
    return v * 1000;
}

static int
fa_name_is(const char *name, size_t n, const char *want)
{
    return strlen(want) == n && strncasecmp(name, want, n) == 0;
}

/* Reads the header block: lines split at LF (a CR before it is dropped),
 * "Name: value" with any case in the name and whitespace around the value;
 * lines without a colon (status lines, garbage) are skipped. A repeated
 * header keeps its last value, so that after a 100 Continue or a redirect
 * the final response's headers count. */
static void
fa_read_headers(struct fa_hints *h, const char *hdrs, size_t len,
                int64_t now_ms)
{
    size_t i = 0, end, colon, ns, ne, vs, ve;
    int64_t v;

    h->h_has_retry_after = 0;
    h->h_retry_after_ms = 0;
    h->h_remaining = -1;
    h->h_reset_ms = 0;
    if (hdrs == NULL)
        return;
    while (i < len) {
        const char *nl = memchr(hdrs + i, '\n', len - i);

        end = nl != NULL ? (size_t)(nl - hdrs) : len;
        for (colon = i; colon < end && hdrs[colon] != ':'; colon++)
            ;
        if (colon == end)
            goto next;
        ns = i;
        ne = colon;
        while (ne > ns && (hdrs[ne - 1] == ' ' || hdrs[ne - 1] == '\t'))
            ne--;
        vs = colon + 1;
        ve = end;
        while (vs < ve && (hdrs[vs] == ' ' || hdrs[vs] == '\t'))
            vs++;
        while (ve > vs && (hdrs[ve - 1] == ' ' || hdrs[ve - 1] == '\t' ||
                           hdrs[ve - 1] == '\r'))
            ve--;
        if (fa_name_is(hdrs + ns, ne - ns, "retry-after")) {
            h->h_has_retry_after = 1;
            h->h_retry_after_ms = 0;
            if (fa_parse_uint(&v, hdrs + vs, ve - vs) == 0)
                h->h_retry_after_ms = fa_add_sat(now_ms, v * 1000);
            else if (fa_parse_http_date(&v, hdrs + vs, ve - vs) == 0)
                h->h_retry_after_ms = v;
            else
                h->h_has_retry_after = 0; /* garbage is no hint */
        } else if (fa_name_is(hdrs + ns, ne - ns, "x-ratelimit-remaining") ||
                   fa_name_is(hdrs + ns, ne - ns, "ratelimit-remaining")) {
            h->h_remaining = -1;
            if (fa_parse_uint(&v, hdrs + vs, ve - vs) == 0 && v <= 0x7fffffff)
                h->h_remaining = (long)v;
        } else if (fa_name_is(hdrs + ns, ne - ns, "x-ratelimit-reset") ||
                   fa_name_is(hdrs + ns, ne - ns, "ratelimit-reset")) {
            h->h_reset_ms = 0;
            if (fa_parse_uint(&v, hdrs + vs, ve - vs) == 0)
                h->h_reset_ms = fa_reset_ms(v, now_ms);
        }
    next:
        i = end + 1;
    }
}

/* Appends text to b, up to b's cap. */
static void
fa_msg_put(struct paved_buf *b, const char *s, size_t n)
{
    /* as much as fits: the start of a long message is the useful part
     * (a character split here is cut off later anyway) */
    if (n > b->b_max - b->b_len)
        n = b->b_max - b->b_len;
    if (n > 0)
        (void)paved_buf_put(b, s, n);
}

static void
fa_msg_puts(struct paved_buf *b, const char *s)
{
    fa_msg_put(b, s, strlen(s));
}

/* Any JSON value as text: a string as it is, the rest as compact JSON
 * (GitLab's {"message": {"name": ["is too long"]}}). */
static void
fa_msg_value(struct paved_buf *b, json_t *v)
{
    char *dump;

    if (json_is_string(v)) {
        fa_msg_put(b, json_string_value(v), json_string_length(v));
        return;
    }
    if ((dump = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)) != NULL) {
        fa_msg_puts(b, dump);
        free(dump);
    }
}

/* GitHub's validation details: {"message": "Validation Failed", "errors":
 * [{"resource", "field", "code", "message"}]}; the first few are what a
 * person needs to fix the request. */
static void
fa_msg_errors(struct paved_buf *b, json_t *errors)
{
    size_t i, shown = 0;
    json_t *e, *m, *f, *c;

    if (!json_is_array(errors))
        return;
    json_array_foreach(errors, i, e)
    {
        if (shown == 3)
            break;
        m = json_is_object(e) ? json_object_get(e, "message") : e;
        f = json_is_object(e) ? json_object_get(e, "field") : NULL;
        c = json_is_object(e) ? json_object_get(e, "code") : NULL;
        if (!json_is_string(m) && !(json_is_string(f) && json_is_string(c)))
            continue;
        fa_msg_puts(b, shown == 0 ? ": " : "; ");
        if (json_is_string(m)) {
            fa_msg_value(b, m);
        } else {
            fa_msg_value(b, f);
            fa_msg_puts(b, " ");
            fa_msg_value(b, c);
        }
        shown++;
    }
}

/* The forge's words from a JSON error body: "message" (GitHub, Gitea,
 * GitLab; with GitHub's "errors" details), else GitLab's OAuth-style
 * "error" and "error_description". Leaves b empty when there are none. */
static void
fa_msg_from_body(struct paved_buf *b, const char *body, size_t len)
{
    json_t *root, *m, *e, *d;

    if (body == NULL || len == 0 || len > FA_ANSWER_JSON_MAX)
        return;
    if ((root = json_loadb(body, len, 0, NULL)) == NULL)
        return;
    if (!json_is_object(root))
        goto out;
    m = json_object_get(root, "message");
    if (m != NULL && !json_is_null(m)) {
        fa_msg_value(b, m);
        if (json_is_string(m))
            fa_msg_errors(b, json_object_get(root, "errors"));
        goto out;
    }
    e = json_object_get(root, "error");
    if (e != NULL && !json_is_null(e)) {
        fa_msg_value(b, e);
        d = json_object_get(root, "error_description");
        if (json_is_string(d)) {
            fa_msg_puts(b, ": ");
            fa_msg_value(b, d);
        }
    }
out:
    json_decref(root);
}

/* The message, one line of valid UTF-8 that fits dst. */
static void
fa_message(char *dst, size_t dstsz, long status, const char *body, size_t len)
{
    struct paved_buf raw = PAVED_BUF_INIT(4096);
    struct paved_buf cut = PAVED_BUF_INIT(4096);
    char fallback[64];
    const char *text;
    size_t n;

    fa_msg_from_body(&raw, body, len);
    /* a message of nothing but blanks says nothing */
    if (raw.b_len > 0 && strspn(raw.b_ptr, " \t\r\n") < raw.b_len) {
        text = raw.b_ptr;
        n = raw.b_len;
    } else {
        if (status == 0)
            snprintf(fallback, sizeof(fallback), "no answer (network error)");
        else
            snprintf(fallback, sizeof(fallback), "HTTP %ld", status);
        text = fallback;
        n = strlen(fallback);
    }
    if (fa_cut_into(&cut, text, n, 0, dstsz - 1, 1) == 0 && cut.b_len > 0)
        memcpy(dst, cut.b_ptr, cut.b_len + 1);
    else
        snprintf(dst, dstsz, "HTTP %ld", status);
    paved_buf_dispose(&raw);
    paved_buf_dispose(&cut);
}

static int
fa_contains(const char *hay, const char *needle)
{
    return strcasestr(hay, needle) != NULL;
}

void
paved_forgeapi_answer(struct paved_forge_answer *out,
                      enum paved_forge_kind kind, long status,
                      const char *headers, size_t headers_len, const char *body,
                      size_t body_len, int64_t now_ms)
{
    struct fa_hints h;
    int64_t at = 0, limit;
    int secondary = 0, limited = 0;

    if (out == NULL)
        return;
    memset(out, 0, sizeof(*out));
    fa_read_headers(&h, headers, headers_len, now_ms);
    fa_message(out->fa_message, sizeof(out->fa_message), status, body,
               body_len);
    out->fa_remaining = h.h_remaining;
    out->fa_reset_ms = h.h_reset_ms;

    if (status >= 200 && status <= 299) {
        out->fa_verdict = PAVED_VERDICT_DONE;
        return;
    }
    /* GitLab refuses to set a context to the state it already holds
     * ("Cannot transition status via :run from :running"; 400 in GitLab's
     * own API tests, 409 from some versions and proxies): the commit
     * already shows what we wanted, or a newer in-progress state, and
     * sending it again can never succeed. So the update is DONE, not a
     * failure for a person to look at; fa_message keeps GitLab's words for
     * the debug log. */
    if (kind == PAVED_FORGEAPI_GITLAB && (status == 400 || status == 409) &&
        fa_contains(out->fa_message, "cannot transition status")) {
        out->fa_verdict = PAVED_VERDICT_DONE;
        return;
    }

    /* GitHub's secondary limit says so only in its message ("You have
     * exceeded a secondary rate limit", formerly "abuse detection") */
    if ((status == 403 || status == 429) &&
        (fa_contains(out->fa_message, "secondary rate limit") ||
         fa_contains(out->fa_message, "abuse")))
        secondary = 1;
    if ((status == 403 || status == 429) &&
        (secondary || h.h_remaining == 0 || h.h_has_retry_after ||
         fa_contains(out->fa_message, "rate limit")))
        limited = 1;

    if (status == 0 || status < 200 || status > 599 ||
        (status >= 500 && status <= 599) || status == 408 || status == 429 ||
        limited) {
        /* no answer, a 1xx as final answer or a status outside HTTP: the
         * exchange broke, like a network error */
        out->fa_verdict = PAVED_VERDICT_RETRY;
    } else {
        /* 3xx (we follow no redirects: the URL is wrong) and every other
         * 4xx: the same request will be refused again */
        out->fa_verdict = PAVED_VERDICT_GIVE_UP;
        return;
    }

    /* not before any of the hints; hints already past are no hints */
    if (h.h_has_retry_after && h.h_retry_after_ms > now_ms)
        at = h.h_retry_after_ms;
    if (h.h_remaining == 0 && h.h_reset_ms > now_ms && h.h_reset_ms > at)
        at = h.h_reset_ms;
    /* a rate limit that named no usable time: GitHub says wait at least
     * a minute, and a minute keeps us out of a hot loop on any forge */
    if (limited && at == 0)
        at = fa_add_sat(now_ms, FA_SECONDARY_WAIT_MS);
    limit = fa_add_sat(now_ms, FA_HINT_MAX_MS);
    if (at > limit)
        at = limit;
    out->fa_retry_at_ms = at;
}
