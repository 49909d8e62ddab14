#ifndef PAVED_FORGEAPI_H
#define PAVED_FORGEAPI_H
/* What the reporter sends to each forge, as plain data: the HTTP requests
 * for commit statuses (GitHub, Gitea/Forgejo, GitLab) and GitHub check
 * runs, and how to read a forge's answer (rate limits, retry hints, the
 * error message). Pure functions: this module never opens a socket, never
 * reads a clock (callers pass `now`) and never logs; the reporter
 * (src/report/) does the I/O. Tokens are copied into the request's headers
 * and nowhere else. */
#include <stddef.h>
#include <stdint.h>

enum paved_forge_kind {
    PAVED_FORGEAPI_GITHUB = 0,
    PAVED_FORGEAPI_GITEA,
    PAVED_FORGEAPI_GITLAB
};

/* paved's states, mapped per forge (GitLab: running, failed, canceled). */
enum paved_status_state {
    PAVED_STATUS_PENDING = 0,
    PAVED_STATUS_RUNNING, /* GitHub and Gitea: pending */
    PAVED_STATUS_SUCCESS,
    PAVED_STATUS_FAILURE,
    PAVED_STATUS_ERROR,
    PAVED_STATUS_CANCELLED /* GitHub and Gitea: error; GitLab: canceled */
};

/* One commit status to report. Borrowed strings. */
struct paved_status {
    const char *ps_repo;    /* "owner/name" (GitLab: the project path) */
    const char *ps_sha;     /* 40 hex */
    const char *ps_context; /* "paved/service" */
    enum paved_status_state ps_state;
    const char *ps_description; /* any length: cut to the forge's limit */
    const char *ps_target_url;  /* NULL or "" for none */
};

/* Where and how to reach a forge's API. Borrowed strings. */
struct paved_forge_endpoint {
    enum paved_forge_kind fe_kind;
    const char *fe_api_url; /* https://api.github.com, https://gitea.example
                               (…/api/v1 is added), https://gitlab.example
                               (…/api/v4 is added); no trailing slash
                               needed */
    const char *fe_token;   /* GitHub: "token X"; Gitea: "token X";
                               GitLab: PRIVATE-TOKEN: X */
};

/* An HTTP request to send. Owned strings; paved_http_request_dispose()
 * frees them. hr_headers are complete "Name: value" lines. */
struct paved_http_request {
    char *hr_method; /* "POST", "PATCH" */
    char *hr_url;
    char **hr_headers;
    size_t hr_nheaders;
    char *hr_body; /* compact JSON */
    size_t hr_body_len;
};
void paved_http_request_dispose(struct paved_http_request *r);

/* The commit-status request for the endpoint's forge. GitHub's is exactly
 * what the real API takes: POST {api}/repos/{owner}/{repo}/statuses/{sha}
 * with Accept: application/vnd.github.v3+json, Authorization: token …,
 * Content-Type: application/json; charset=utf-8 and a compact body
 * {"state","target_url","description","context"} (target_url omitted when
 * empty); the description cut to 140 characters (UTF-8 safe, "…" marks a
 * cut). PAVED_EINVAL for a malformed repo or sha. */
/* Also: every forge gets "User-Agent: paved" (GitHub requires one; it is
 * the 4th header). Gitea: POST {api}/api/v1/repos/{owner}/{repo}/statuses/
 * {sha}, Authorization: token …, body as GitHub's (description up to
 * PAVED_FORGEAPI_DESC_MAX). GitLab: POST {api}/api/v4/projects/{path with
 * '/' as %2F, or a numeric id}/statuses/{sha}, PRIVATE-TOKEN: …, body
 * {"state","name","target_url","description"} with name = the context.
 * The description is made one line (controls become spaces) and left out
 * when empty. Repository segments are letters, digits, '.', '_', '-'
 * ("." and ".." refused) and are percent-encoded anyway; the sha is 40 or
 * 64 hex digits, sent in lower case. PAVED_EAUTH when the endpoint has no
 * token; PAVED_EINVAL for a token that cannot go into a header, an API or
 * target URL that is not http(s), a context that is empty, not one line
 * of UTF-8 or over 255 characters. On error *out is zeroed (disposing it
 * is harmless). */
int paved_forgeapi_status(struct paved_http_request *out,
                          const struct paved_forge_endpoint *ep,
                          const struct paved_status *st);

/* A forge's answer, read for the reporter's next move. */
enum paved_forge_verdict {
    PAVED_VERDICT_DONE = 0, /* 2xx */
    PAVED_VERDICT_RETRY,    /* network error, 5xx, 408, 429, rate limited */
    PAVED_VERDICT_GIVE_UP   /* a 4xx that retrying cannot fix */
};

struct paved_forge_answer {
    enum paved_forge_verdict fa_verdict;
    int64_t fa_retry_at_ms; /* not before this (Retry-After, rate limit
                               reset, secondary limit: at least 60 s); 0:
                               the caller's own backoff */
    long fa_remaining;      /* X-RateLimit-Remaining, -1 when absent */
    int64_t fa_reset_ms;    /* when the rate-limit window resets (unix
                               ms, from X-RateLimit-Reset or GitLab's
                               RateLimit-Reset), 0 when absent; with
                               fa_remaining 0 after a DONE it tells the
                               reporter to hold this forge's next request
                               until then */
    char fa_message[256];   /* the forge's "message", for API and logs */
};

/* status: the HTTP status (0 for a network error); headers: the response's
 * header lines as received ("Name: value\r\n", any case), may be NULL;
 * body may be NULL. now_ms: the caller's clock (unix ms). */
/* The rules, in order:
 *   - 2xx: DONE.
 *   - GitLab 400 or 409 "Cannot transition status …": DONE (the context
 *     already holds that state; see forgeapi.c).
 *   - 0, anything outside 200..599 (incl. a final 1xx), 5xx, 408, 429:
 *     RETRY; 403 or 429 that is rate limited (X-RateLimit-Remaining: 0,
 *     a Retry-After, or a message about a rate limit, secondary limit or
 *     abuse detection): RETRY.
 *   - every other 3xx and 4xx: GIVE_UP (fa_retry_at_ms 0).
 * For RETRY, fa_retry_at_ms is the latest of: Retry-After (seconds or any
 * HTTP-date form), the rate-limit reset when remaining is 0 (X- or GitLab's
 * un-prefixed RateLimit- headers), and now + 60 s for a rate limit that
 * gave no usable time; hints already past are ignored, and none is later
 * than now + 24 h. Header names match in any case; garbage lines and
 * values are skipped; a repeated header keeps its last value.
 * fa_message: the JSON body's "message" (a string, or compact JSON for
 * GitLab's {"message": {…}}, plus the first GitHub "errors" details), else
 * "error" (+ ": error_description"), else "HTTP 503" ("no answer (network
 * error)" for status 0); one line of UTF-8, cut with "…" to fit. */
void paved_forgeapi_answer(struct paved_forge_answer *out,
                           enum paved_forge_kind kind, long status,
                           const char *headers, size_t headers_len,
                           const char *body, size_t body_len, int64_t now_ms);

/* How many characters (code points) of a description each forge keeps:
 * GitHub refuses more than 140; GitLab is given 255; Gitea has no
 * documented limit, so it gets GitLab's. */
#define PAVED_FORGEAPI_GITHUB_DESC_MAX 140
#define PAVED_FORGEAPI_DESC_MAX 255

/* s as valid UTF-8 of at most max_chars code points and max_bytes bytes
 * (0: no limit of that kind), never split inside a character; when
 * anything was cut the last character is "…" (U+2026, 3 bytes), within
 * the limits. Invalid UTF-8 bytes become U+FFFD and, with flatten set,
 * control characters become spaces (one-line texts). A malloc'd string
 * the caller frees, or NULL when out of memory. Used for status
 * descriptions, and for check-run titles and texts. */
char *paved_forgeapi_cut(const char *s, size_t max_chars, size_t max_bytes,
                         int flatten);

/* ---- GitHub check runs (a GitHub App's installation token) -------------
 *
 * GitHub's limits, honoured by the builder: output.title, .summary and
 * .text at most 65535 bytes each (a cut text ends with a note saying so,
 * never a refusal); at most 50 annotations a request. */
#define PAVED_FORGEAPI_CHECK_TEXT_MAX 65535
#define PAVED_FORGEAPI_CHECK_TITLE_MAX 255 /* characters: one short line */
#define PAVED_FORGEAPI_ANNOTATIONS_PER_REQUEST 50

/* One check run to create or update. Borrowed strings. */
struct paved_check_run {
    const char *cr_repo; /* "owner/name" */
    const char *cr_sha;  /* the head SHA, 40 hex */
    const char *cr_name; /* the context, "paved/service" */
    enum paved_status_state cr_state;
    int64_t cr_id;              /* 0: create (POST); else update (PATCH) */
    const char *cr_title;       /* output.title: the description */
    const char *cr_summary;     /* output.summary, Markdown; NULL: title */
    const char *cr_text;        /* output.text, Markdown; NULL: none */
    const char *cr_details_url; /* NULL or "": none */
    const char *cr_external_id; /* paved's run id; NULL or "": none */
    const char *cr_annotations; /* NULL, or a JSON array in paved's form
                                   (see below) */
    size_t cr_annotations_from; /* index of the first one to send */
};

/* The check-run request: POST {api}/repos/{owner}/{repo}/check-runs
 * (cr_id 0) or PATCH {api}/repos/{owner}/{repo}/check-runs/{cr_id}, with
 * Accept: application/vnd.github+json, Authorization: token <fe_token>,
 * Content-Type: application/json; charset=utf-8, User-Agent: paved,
 * X-GitHub-Api-Version: 2022-11-28 and a compact body:
 *   {"name","head_sha" (POST only),"details_url"?,"external_id"?,
 *    "status","conclusion"?,"output":{"title","summary","text"?,
 *    "annotations"?}}
 * status: pending -> "queued", running -> "in_progress", the rest
 * "completed" with conclusion success -> "success", failure and error ->
 * "failure", cancelled -> "cancelled". title: one line, cut to
 * PAVED_FORGEAPI_CHECK_TITLE_MAX characters; summary and text cut to
 * PAVED_FORGEAPI_CHECK_TEXT_MAX bytes, the cut marked by the note
 * PAVED_FORGEAPI_CHECK_CUT_NOTE at its end (within the limit).
 * Annotations: cr_annotations is a JSON array of objects
 *   {"path","start_line","end_line","annotation_level" ("notice",
 *    "warning" or "failure"),"message","title"?,"start_column"?,
 *    "end_column"?}
 * (GitHub's own shape); the request carries those from
 * cr_annotations_from on, at most PAVED_FORGEAPI_ANNOTATIONS_PER_REQUEST,
 * and *nsent says how many (0 when none are left). An element that is
 * not such an object is dropped and counted as sent (it can never
 * become valid); message and title are cut to 64 KiB and 255 characters,
 * columns dropped unless start_line == end_line. The whole body stays
 * under 1 MiB. PAVED_EINVAL as paved_forgeapi_status() (repo, sha, name,
 * URLs, token), and for cr_annotations that is not a JSON array;
 * PAVED_EAUTH without a token; the endpoint must be PAVED_FORGEAPI_GITHUB
 * (else PAVED_EINVAL). On error *out is zeroed and *nsent is 0. */
int paved_forgeapi_check_run(struct paved_http_request *out, size_t *nsent,
                             const struct paved_forge_endpoint *ep,
                             const struct paved_check_run *cr);
#define PAVED_FORGEAPI_CHECK_CUT_NOTE                                          \
    "\n\n_(cut by paved: GitHub keeps 65535 bytes; the rest is in paved)_"

/* Before creating a check run, paved looks for one it may already have
 * created for the same run (a create whose answer was lost to a timeout
 * or a crash reached GitHub all the same): GET {api}/repos/{owner}/{repo}
 * /commits/{sha}/check-runs?check_name=<name>&filter=all&per_page=100
 * with the check-run headers (no body: hr_body NULL). PAVED_EINVAL and
 * PAVED_EAUTH as paved_forgeapi_check_run(). */
int paved_forgeapi_check_find(struct paved_http_request *out,
                              const struct paved_forge_endpoint *ep,
                              const char *repo, const char *sha,
                              const char *name);
/* In GitHub's answer to that list ({"total_count", "check_runs": [...]}),
 * the newest check run (highest id) named name whose external_id is
 * external_id: 1 and *id; 0 (and *id 0) when there is none; PAVED_EINVAL
 * when the answer is not such a list. */
int paved_forgeapi_check_found(int64_t *id, const char *body, size_t len,
                               const char *name, const char *external_id);

/* The "id" of the object GitHub answered (a created check run, a
 * repository's installation): a positive integer. PAVED_EINVAL for
 * anything else (not JSON, no id, not a positive integer). */
int paved_forgeapi_answer_id(int64_t *id, const char *body, size_t len);

/* Is this annotation (a JSON object text) well formed, as above? 1 or 0;
 * why (when not NULL) says what is wrong. Steps' annotation files are
 * checked with this before they reach the outbox. */
int paved_forgeapi_annotation_ok(const char *json, size_t len, char *why,
                                 size_t whylen);

#endif
