#ifndef PAVED_FORGE_INT_H
#define PAVED_FORGE_INT_H
/* Private to src/forge/: the pieces the three adapters share (content
 * type, headers, body decoding, strict JSON field access). Never included
 * outside src/forge/, never touches HTTP or storage. */
#include <stddef.h>

#include "paved/crypto.h"
#include "paved/event.h"
#include "paved/forge.h"
#include "paved/jscan.h"

enum forge_body {
    FORGE_BODY_JSON = 0,
    FORGE_BODY_FORM /* application/x-www-form-urlencoded, JSON in payload= */
};

/* How a JSON field is read:
 * REQUIRED  absent, null or wrong type is PAVED_EINVAL naming the field;
 *           strings must also be non-empty.
 * OPTIONAL  absent or null leaves the output alone; wrong type is EINVAL.
 * LAX       anything but the right type is silently ignored (events we
 *           only store, whose shape we do not control). */
enum forge_need { FJ_REQUIRED = 0, FJ_OPTIONAL, FJ_LAX };

/* "sha256" HMACs are 32 bytes; the largest we handle */
#define FORGE_MAC_MAX 32
/* cap on event names and delivery ids taken from headers */
#define FORGE_EVENT_NAME_MAX 100
#define FORGE_DELIVERY_MAX 128

/* PAVED_EUNSUPPORTED unless JSON or form-encoded (with parameters). */
int forge_content_type(enum forge_body *out, const char *content_type);
/* The header's value, NULL when absent or empty. */
const char *forge_header(const struct paved_forge_request *req,
                         const char *name);
/* A printable-ASCII header value of 1..max bytes (spaces allowed only when
 * allow_space); PAVED_EINVAL naming the header otherwise or when absent. */
int forge_header_value(const char **out, const struct paved_forge_request *req,
                       const char *name, size_t max, int allow_space);
/* The JSON document of a body: a copy of it, or its decoded payload=.
 * PAVED_EINVAL when the form is malformed or has no payload. */
int forge_body_payload(unsigned char **out, size_t *outlen,
                       enum forge_body type, const unsigned char *body,
                       size_t len);
/* The usual end of a delivery: decode (if not done), normalize, record
 * the delivery id. Takes ownership of payload. */
int forge_finish(struct paved_forge_result *res, enum paved_forge forge,
                 const char *event_name, const char *delivery,
                 unsigned char *payload, size_t payload_len);

/* Prepared keys (paved_forge_keys_new): one per secret, in the order of
 * the config's lists, NULL where a secret is empty or unusable. */
struct paved_forge_keys {
    paved_hmac_key **fk_github; /* SHA-256 */
    size_t fk_n_github;
    paved_hmac_key **fk_gitea;
    size_t fk_n_gitea;
    paved_hmac_key **fk_gitlab; /* decoded Standard Webhooks secrets */
    size_t fk_n_gitlab;
};

/* The prepared key for secret i of a list of n, or NULL (none prepared:
 * compute from the secret string). */
const paved_hmac_key *forge_key(paved_hmac_key *const *keys, size_t nkeys,
                                size_t n, size_t i);
/* The HMAC key of a Standard Webhooks secret: base64 after "whsec_", or
 * the secret's own bytes. *key is malloc'd; cleanse and free it. */
int forge_gitlab_signing_key(unsigned char **key, size_t *keylen,
                             const char *secret);

/* adapters */
int forge_github_process(struct paved_forge_result *res,
                         const struct paved_forge_config *cfg,
                         const struct paved_forge_request *req);
int forge_gitea_process(struct paved_forge_result *res,
                        const struct paved_forge_config *cfg,
                        const struct paved_forge_request *req);
int forge_gitlab_process(struct paved_forge_result *res,
                         const struct paved_forge_config *cfg,
                         const struct paved_forge_request *req);

/* Normalizers: each validates the JSON document (forge_json_scan) and
 * reads its fields in one pass; ev is zeroed, errors leave partial strings
 * in it for the caller to dispose. */
int forge_normalize_github(struct paved_event *ev, const char *event_name,
                           const unsigned char *json, size_t len);
int forge_normalize_gitlab(struct paved_event *ev, const char *event_name,
                           const unsigned char *json, size_t len);

/* Validate a payload (JSON object, no duplicate keys: jansson's
 * JSON_REJECT_DUPLICATES as before) and fill fields. PAVED_EINVAL "payload
 * is not valid JSON: byte N: ..." or "payload is not a JSON object". */
int forge_json_scan(const unsigned char *json, size_t len,
                    struct paved_jscan_field *fields, size_t nfields);
/* Strict access to a scanned field; null counts as absent. ctx ("push
 * payload") names the payload in messages, the field's path the field. */
int forge_json_object(int *present, const struct paved_jscan_field *f,
                      enum forge_need need, const char *ctx);
int forge_json_string(char **out, const struct paved_jscan_field *f,
                      enum forge_need need, const char *ctx);
int forge_json_int(long long *out, const struct paved_jscan_field *f,
                   enum forge_need need, const char *ctx);
int forge_json_bool(int *out, const struct paved_jscan_field *f,
                    enum forge_need need, const char *ctx);
/* *out = prefix + name, malloc'd */
int forge_strcat(char **out, const char *prefix, const char *name);
int forge_strdup(char **out, const char *s);
/* A pull/merge request's action in GitHub's words (opened, synchronize,
 * reopened, closed, edited, ...), whatever the forge called it, so that
 * pipelines, `if:` and the API see one vocabulary. new_commits: GitLab's
 * "update" brought commits (synchronize) rather than edits (edited). */
int forge_pr_action(struct paved_event *ev, int new_commits);
/* Sets ev_branch or ev_tag from a full ref; returns the kind its prefix
 * implies: PUSH for refs/heads/, TAG for refs/tags/, OTHER otherwise. */
int forge_split_ref(enum paved_event_kind *kind, struct paved_event *ev,
                    const char *ctx);
/* A SHA of only zeros: the "after" of a push that deleted its ref. */
int forge_sha_is_zero(const char *sha);

#endif
