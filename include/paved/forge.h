#ifndef PAVED_FORGE_H
#define PAVED_FORGE_H
/* Forge adapters: GitHub, Gitea/Forgejo and GitLab webhook deliveries.
 * Checks the signature or token, decodes the body and normalizes it into a
 * struct paved_event. Knows nothing of HTTP servers, storage or pipelines:
 * the caller hands in headers and body bytes, so the same code runs in the
 * daemon, the unit tests and the fuzzers. */
#include <stddef.h>
#include <stdint.h>
#include "paved/event.h"

typedef struct paved_forge_keys paved_forge_keys; /* body in src/forge/ */

/* Secrets are borrowed for the lifetime of the config. Several secrets per
 * forge are accepted at once (rotation); the result says which matched. */
struct paved_forge_config {
    const char *const *fc_github_secrets;
    size_t fc_n_github_secrets;
    int fc_github_allow_sha1; /* accept legacy X-Hub-Signature only */
    const char *const *fc_gitea_secrets;
    size_t fc_n_gitea_secrets;
    const char *const *fc_gitlab_tokens; /* X-Gitlab-Token */
    size_t fc_n_gitlab_tokens;
    /* Standard Webhooks signing secrets ("whsec_<base64>"); when any is set,
     * a GitLab delivery must carry a valid webhook-signature. */
    const char *const *fc_gitlab_signing_secrets;
    size_t fc_n_gitlab_signing_secrets;
    int64_t fc_gitlab_tolerance; /* seconds either side of now; 0 = 300 */
    /* Optional, borrowed: HMAC keys prepared from the secrets above by
     * paved_forge_keys_new(); NULL computes each MAC from the secret
     * string (slower: OpenSSL fetches and keys HMAC on every call). */
    const paved_forge_keys *fc_keys;
};

/* Prepare an HMAC key for every GitHub (SHA-256), Gitea and GitLab
 * signing secret of cfg, once, when the configuration is loaded; then set
 * cfg->fc_keys to the result. It copies the key material, so cfg's
 * strings need not outlive it, but it is only used while cfg still lists
 * the same number of secrets of each kind (make a new one when they
 * change). A GitLab signing secret that is not valid whsec_<base64> gets
 * no key and is reported per delivery as before. *out: free with
 * paved_forge_keys_free(), after the last delivery that used it. */
int paved_forge_keys_new(paved_forge_keys **out,
                         const struct paved_forge_config *cfg);
void paved_forge_keys_free(paved_forge_keys *keys); /* NULL is a no-op */

/* Case-insensitive header lookup supplied by the caller; NULL if absent. */
typedef const char *(*paved_forge_header_fn)(void *ctx, const char *name);

struct paved_forge_request {
    paved_forge_header_fn fr_header;
    void *fr_header_ctx;
    const unsigned char *fr_body; /* raw request body, as received */
    size_t fr_body_len;
    int64_t fr_now; /* unix seconds, for signature timestamp windows */
};

struct paved_forge_result {
    struct paved_event fr_event; /* owned; dispose with the result */
    /* the JSON document: the body itself, or decoded from payload= */
    unsigned char *fr_payload;
    size_t fr_payload_len;
    int fr_secret_index; /* which configured secret or token matched */
    int fr_sha1;         /* matched through the legacy SHA-1 header */
};

/* Verify and normalize one delivery. Errors, each with a message that says
 * what was wrong (never a secret):
 *   PAVED_EUNSUPPORTED  content type not JSON or form-encoded   -> 415
 *   PAVED_EAUTH         signature/token missing, malformed, wrong -> 401
 *   PAVED_EINVAL        event/delivery header missing, bad body  -> 400
 * On success *out owns its memory: paved_forge_result_dispose(). */
int paved_forge_process(struct paved_forge_result *out, enum paved_forge forge,
                        const struct paved_forge_config *cfg,
                        const struct paved_forge_request *req);
void paved_forge_result_dispose(struct paved_forge_result *res);

/* --- pieces, public for unit tests and fuzz targets --- */

/* "sha256=<64 hex>" (or "sha1=<40 hex>") into raw bytes; PAVED_EAUTH if
 * malformed. *outlen is 32 or 20. */
int paved_forge_parse_hub_signature(unsigned char *out, size_t *outlen,
                                    const char *header, const char *algo);
/* application/x-www-form-urlencoded: the decoded value of `key`.
 * PAVED_ENOTFOUND if absent, PAVED_EINVAL if badly encoded.
 * *out is malloc'd, NUL-terminated, owned by the caller. */
int paved_forge_form_value(unsigned char **out, size_t *outlen,
                           const unsigned char *body, size_t len,
                           const char *key);
/* Normalize a JSON payload for a given forge event name (the value of
 * X-GitHub-Event, X-Gitea-Event or X-Gitlab-Event). Unknown events give
 * kind PAVED_EVENT_OTHER. PAVED_EINVAL when the JSON is not an object or
 * a field that the event needs is missing or of the wrong type. */
int paved_forge_normalize(struct paved_event *out, enum paved_forge forge,
                          const char *event_name, const unsigned char *json,
                          size_t len);

#endif
