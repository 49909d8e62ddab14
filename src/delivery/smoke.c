/* Smoke checks: the HTTP requests behind an environment's `smoke` list,
 * made with blocking libcurl easy handles (one per attempt), and their
 * verdicts. Runs on the worker pool, never on the event loop. Never
 * follows a redirect, never keeps more than the body cap, never deploys
 * or rolls back: the delivery steps decide what a failure means. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "paved/clock.h"
#include "paved/error.h"
#include "paved/smoke.h"

/* What one attempt saw. */
struct attempt {
    struct paved_buf at_body;
    bool at_truncated; /* the body went past the cap: we stopped reading */
    long at_status;
    CURLcode at_rc;
    long at_errno;
    char at_err[CURL_ERROR_SIZE];
};

static size_t
smoke_write(char *data, size_t size, size_t nmemb, void *arg)
{
    struct attempt *at = arg;
    size_t len = size * nmemb;
    size_t room = at->at_body.b_max - at->at_body.b_len;

    if (len > room) {
        /* keep what fits, then end the transfer: what we have is judged */
        if (paved_buf_put(&at->at_body, data, room) < 0)
            return 0;
        at->at_truncated = true;
        return 0;
    }
    if (paved_buf_put(&at->at_body, data, len) < 0)
        return 0;
    return len;
}

static int
smoke_attempt(struct attempt *at, const char *url, unsigned timeout)
{
    CURL *c;

    if ((c = curl_easy_init()) == NULL)
        return paved_error_set(PAVED_ERROR, "curl_easy_init failed");
    at->at_err[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, smoke_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, at);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, at->at_err);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout * 1000L);
    /* the deployed version answers itself: a redirect is its answer */
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "paved-smoke");
    /* each attempt on a new connection: a retry must reach the service
     * again, not a connection a failing one left behind */
    curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
    at->at_rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &at->at_status);
    curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &at->at_errno);
    curl_easy_cleanup(c);
    return 0;
}

/* Why the attempt failed, into msg; true when it passed. */
static bool
smoke_judge(const struct attempt *at, const struct paved_env_smoke *sm,
            char *msg, size_t len)
{
    switch (at->at_rc) {
    case CURLE_OK:
        break;
    case CURLE_WRITE_ERROR:
        if (at->at_truncated)
            break; /* our own cap: judge what was read */
        snprintf(msg, len, "out of memory reading the body");
        return false;
    case CURLE_OPERATION_TIMEDOUT:
        snprintf(msg, len, "timed out after %us", sm->sm_timeout);
        return false;
    case CURLE_COULDNT_CONNECT:
        if (at->at_errno == ECONNREFUSED)
            snprintf(msg, len, "connection refused");
        else
            snprintf(msg, len, "cannot connect: %s",
                     at->at_err[0] != '\0' ? at->at_err
                                           : curl_easy_strerror(at->at_rc));
        return false;
    case CURLE_COULDNT_RESOLVE_HOST:
        snprintf(msg, len, "cannot resolve the host");
        return false;
    default:
        snprintf(msg, len, "%s",
                 at->at_err[0] != '\0' ? at->at_err
                                       : curl_easy_strerror(at->at_rc));
        return false;
    }
    if (at->at_status != (long)sm->sm_status) {
        snprintf(msg, len, "expected %u, got %ld%s", sm->sm_status,
                 at->at_status,
                 at->at_status >= 300 && at->at_status < 400
                     ? " (redirects are not followed)"
                     : "");
        return false;
    }
    if (sm->sm_body_contains != NULL && sm->sm_body_contains[0] != '\0' &&
        (at->at_body.b_ptr == NULL ||
         memmem(at->at_body.b_ptr, at->at_body.b_len, sm->sm_body_contains,
                strlen(sm->sm_body_contains)) == NULL)) {
        if (at->at_truncated)
            snprintf(msg, len,
                     "body does not contain \"%s\" in its first %zu "
                     "bytes",
                     sm->sm_body_contains, at->at_body.b_max);
        else
            snprintf(msg, len, "body does not contain \"%s\"",
                     sm->sm_body_contains);
        return false;
    }
    snprintf(msg, len, "ok");
    return true;
}

/* Up to 1 + retries attempts at url, with the backoff between them; the
 * verdict into res and its one-line message into line. */
static int
smoke_attempts(struct paved_smoke_result *res, const struct paved_env_smoke *sm,
               const char *url, unsigned backoff, size_t body_max, char *line,
               size_t len)
{
    struct attempt at;
    char msg[768];
    unsigned i, wait = backoff;
    int error = 0;

    memset(&at, 0, sizeof(at));
    paved_buf_init(&at.at_body, body_max);
    for (i = 0; i <= sm->sm_retries; i++) {
        if (i > 0) {
            paved_sleep_ms(wait);
            wait = wait > PAVED_SMOKE_BACKOFF_MAX_MS / 2
                       ? PAVED_SMOKE_BACKOFF_MAX_MS
                       : wait * 2;
        }
        paved_buf_clear(&at.at_body);
        at.at_truncated = false;
        at.at_status = 0;
        at.at_errno = 0;
        if ((error = smoke_attempt(&at, url, sm->sm_timeout)) < 0)
            goto out;
        res->sr_attempts = i + 1;
        res->sr_status = at.at_status;
        if ((res->sr_pass = smoke_judge(&at, sm, msg, sizeof(msg))))
            break;
    }
    if (res->sr_attempts <= 1)
        snprintf(line, len, "%s", msg);
    else if (!res->sr_pass && at.at_rc == CURLE_OPERATION_TIMEDOUT)
        snprintf(line, len, "%s (%u attempts)", msg, res->sr_attempts);
    else
        snprintf(line, len, "%s after %u attempts", msg, res->sr_attempts);
out:
    paved_buf_dispose(&at.at_body);
    return error;
}

static int
smoke_check(struct paved_smoke_result *res, const struct paved_env_smoke *def,
            const struct paved_smoke_var *vars, size_t nvars, unsigned backoff,
            size_t body_max)
{
    struct paved_env_smoke sm = *def;
    char line[1024], *url = NULL;
    uint64_t start = paved_clock_ms();
    int error;

    /* the loader sets the documented default; 0 would mean no limit */
    if (sm.sm_timeout == 0)
        sm.sm_timeout = PAVED_SMOKE_TIMEOUT;
    if ((res->sr_name = strdup(sm.sm_name)) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    if ((error = paved_smoke_fill_url(&url, sm.sm_url, vars, nvars)) < 0) {
        if (error != PAVED_EINVAL)
            goto out;
        /* the check cannot be made: a verdict, not an error */
        snprintf(line, sizeof(line), "%s", paved_error_last());
        error = 0;
    } else if ((error = smoke_attempts(res, &sm, url, backoff, body_max, line,
                                       sizeof(line))) < 0) {
        goto out;
    }
    res->sr_elapsed_ms = (unsigned long)(paved_clock_ms() - start);
    if ((res->sr_message = strdup(line)) == NULL)
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
out:
    free(url);
    return error;
}

int
paved_smoke_run(struct paved_smoke_report *out,
                const struct paved_env_smoke *checks, size_t n,
                const struct paved_smoke_var *vars, size_t nvars,
                const struct paved_smoke_opts *opts)
{
    unsigned backoff = PAVED_SMOKE_BACKOFF_MS;
    size_t body_max = PAVED_SMOKE_BODY_MAX, i;
    int error = 0;

    memset(out, 0, sizeof(*out));
    if (opts != NULL && opts->so_backoff_ms > 0)
        backoff = opts->so_backoff_ms;
    if (opts != NULL && opts->so_body_max > 0)
        body_max = opts->so_body_max;
    out->rp_pass = true;
    if (n == 0)
        return 0;
    if ((out->rp_results = calloc(n, sizeof(*out->rp_results))) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    for (i = 0; i < n; i++) {
        out->rp_n = i + 1;
        error = smoke_check(&out->rp_results[i], &checks[i], vars, nvars,
                            backoff, body_max);
        if (error < 0)
            goto out;
        if (!out->rp_results[i].sr_pass)
            out->rp_pass = false;
    }
out:
    if (error < 0)
        paved_smoke_report_dispose(out);
    return error;
}

void
paved_smoke_report_dispose(struct paved_smoke_report *r)
{
    size_t i;

    if (r == NULL)
        return;
    for (i = 0; i < r->rp_n; i++) {
        free(r->rp_results[i].sr_name);
        free(r->rp_results[i].sr_message);
    }
    free(r->rp_results);
    memset(r, 0, sizeof(*r));
}

static bool
smoke_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
           c == '~';
}

int
paved_smoke_fill_url(char **out, const char *url,
                     const struct paved_smoke_var *vars, size_t nvars)
{
    struct paved_buf b = PAVED_BUF_INIT(4 * PAVED_ENV_MAX_TEXT);
    const char *p = url, *open, *close, *v;
    size_t i, nlen;
    int error = 0;

    *out = NULL;
    while ((open = strstr(p, "{{")) != NULL) {
        if ((error = paved_buf_put(&b, p, (size_t)(open - p))) < 0)
            goto out;
        if ((close = strstr(open + 2, "}}")) == NULL) {
            error = paved_error_set(PAVED_EINVAL,
                                    "\"{{\" is not closed in the URL");
            goto out;
        }
        nlen = (size_t)(close - open - 2);
        v = NULL;
        for (i = 0; i < nvars; i++)
            if (strlen(vars[i].sv_name) == nlen &&
                memcmp(vars[i].sv_name, open + 2, nlen) == 0) {
                v = vars[i].sv_value;
                break;
            }
        if (v == NULL) {
            error = paved_error_set(PAVED_EINVAL, "no value for {{%.*s}}",
                                    (int)(nlen > 64 ? 64 : nlen), open + 2);
            goto out;
        }
        for (; *v != '\0' && error == 0; v++)
            error = smoke_unreserved((unsigned char)*v)
                        ? paved_buf_putc(&b, *v)
                        : paved_buf_printf(&b, "%%%02X", (unsigned char)*v);
        if (error < 0)
            goto out;
        p = close + 2;
    }
    if ((error = paved_buf_puts(&b, p)) < 0)
        goto out;
    *out = paved_buf_detach(&b, NULL);
    if (*out == NULL)
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
out:
    if (error == PAVED_ETOOBIG)
        error = paved_error_set(PAVED_EINVAL, "the filled URL is too long");
    paved_buf_dispose(&b);
    return error;
}

/* Text in a table cell: one line, nothing Markdown would act on. */
static int
smoke_md_text(struct paved_buf *out, const char *s)
{
    int error = 0;

    for (; *s != '\0' && error == 0; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f)
            error = paved_buf_putc(out, ' ');
        else if (strchr("\\|`*_[]<>#!&~", c) != NULL)
            error = paved_buf_printf(out, "\\%c", c);
        else
            error = paved_buf_putc(out, (char)c);
    }
    return error;
}

int
paved_smoke_markdown(struct paved_buf *out, const struct paved_smoke_report *r)
{
    size_t i, failed = 0;
    int error;

    for (i = 0; i < r->rp_n; i++)
        if (!r->rp_results[i].sr_pass)
            failed++;
    if (r->rp_n == 0)
        error = paved_buf_puts(out, "No smoke checks.\n");
    else if (failed == 0)
        error =
            paved_buf_printf(out, "Smoke checks: all %zu passed.\n", r->rp_n);
    else
        error = paved_buf_printf(out, "Smoke checks: %zu of %zu failed.\n",
                                 failed, r->rp_n);
    if (error < 0 || r->rp_n == 0)
        return error;
    if ((error = paved_buf_puts(out, "\n| check | result | attempts | status "
                                     "| time | message |\n"
                                     "| --- | --- | ---: | ---: | ---: "
                                     "| --- |\n")) < 0)
        return error;
    for (i = 0; i < r->rp_n && error == 0; i++) {
        const struct paved_smoke_result *res = &r->rp_results[i];
        char status[24];

        if (res->sr_status > 0)
            snprintf(status, sizeof(status), "%ld", res->sr_status);
        else
            snprintf(status, sizeof(status), "-");
        if ((error = paved_buf_puts(out, "| ")) < 0 ||
            (error = smoke_md_text(out, res->sr_name)) < 0 ||
            (error = paved_buf_printf(out, " | %s | %u | %s | %lu ms | ",
                                      res->sr_pass ? "pass" : "fail",
                                      res->sr_attempts, status,
                                      res->sr_elapsed_ms)) < 0 ||
            (error = smoke_md_text(out, res->sr_message)) < 0)
            break;
        error = paved_buf_puts(out, " |\n");
    }
    return error;
}
