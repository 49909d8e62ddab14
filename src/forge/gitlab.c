/* GitLab deliveries: the shared X-Gitlab-Token, optionally Standard
 * Webhooks signatures (webhook-id/-timestamp/-signature), and the
 * normalizer for GitLab's own payload shape. Never stores or logs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "forge/forge_int.h"
#include "paved/crypto.h"
#include "paved/error.h"

#define GITLAB_DEFAULT_TOLERANCE 300

static int
gitlab_check_token(struct paved_forge_result *res,
                   const struct paved_forge_config *cfg,
                   const struct paved_forge_request *req)
{
    const char *token;
    size_t i;
    int index = -1, eq;

    if ((token = forge_header(req, "X-Gitlab-Token")) == NULL)
        return paved_error_set(PAVED_EAUTH, "missing X-Gitlab-Token header");
    /* paved_ct_streq hashes both sides: time depends neither on where
     * they differ nor on the token's length; every token is tried */
    for (i = 0; i < cfg->fc_n_gitlab_tokens; i++) {
        const char *t = cfg->fc_gitlab_tokens[i];

        if (t == NULL || t[0] == '\0')
            continue;
        eq = paved_ct_streq(token, t);
        if (eq && index < 0)
            index = (int)i;
    }
    if (index < 0)
        return paved_error_set(PAVED_EAUTH,
                               "X-Gitlab-Token does not match any configured "
                               "token");
    res->fr_secret_index = index;
    return 0;
}

int
forge_gitlab_signing_key(unsigned char **key, size_t *keylen,
                         const char *secret)
{
    static const char prefix[] = "whsec_";
    size_t n = strlen(secret);

    if (strncmp(secret, prefix, sizeof(prefix) - 1) == 0)
        return paved_base64_decode(key, keylen, secret + sizeof(prefix) - 1,
                                   n - (sizeof(prefix) - 1));
    if ((*key = malloc(n + 1)) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    memcpy(*key, secret, n + 1);
    *keylen = n;
    return 0;
}

static int
gitlab_parse_timestamp(long long *out, const char *s)
{
    size_t i;

    /* at most 15 digits keeps |now - ts| far from overflow */
    for (i = 0; s[i] != '\0'; i++)
        if (i >= 15 || s[i] < '0' || s[i] > '9')
            return paved_error_set(PAVED_EAUTH,
                                   "malformed webhook-timestamp header: want "
                                   "unix seconds");
    if (i == 0)
        return paved_error_set(PAVED_EAUTH, "empty webhook-timestamp header");
    *out = strtoll(s, NULL, 10);
    return 0;
}

/* Does any "v1,<base64>" entry of the space-separated list equal mac? */
static int
gitlab_signature_listed(int *found, const char *list, const unsigned char *mac,
                        size_t maclen)
{
    const char *p = list, *end;
    unsigned char *sig = NULL;
    size_t siglen;
    int error;

    *found = 0;
    while (*p != '\0') {
        while (*p == ' ')
            p++;
        end = p;
        while (*end != '\0' && *end != ' ')
            end++;
        /* other versions (v1a: asymmetric) are not ours to check */
        if (end - p > 3 && strncmp(p, "v1,", 3) == 0) {
            error = paved_base64_decode(&sig, &siglen, p + 3,
                                        (size_t)(end - p - 3));
            if (error == PAVED_ENOMEM)
                return error;
            if (error == 0 && paved_ct_equal(sig, siglen, mac, maclen))
                *found = 1;
            free(sig);
            sig = NULL;
        }
        p = end;
    }
    return 0;
}

static int
gitlab_check_signature(struct paved_forge_result *res,
                       const struct paved_forge_config *cfg,
                       const struct paved_forge_request *req)
{
    const char *id, *ts, *sigs;
    unsigned char *key = NULL, *msg = NULL, mac[FORGE_MAC_MAX];
    size_t i, keylen, idlen, tslen, msglen, maclen;
    long long when = 0, tol, now = (long long)req->fr_now;
    int error = 0, found, index = -1, bad_secret = -1;

    if ((id = forge_header(req, "webhook-id")) == NULL ||
        (ts = forge_header(req, "webhook-timestamp")) == NULL ||
        (sigs = forge_header(req, "webhook-signature")) == NULL) {
        error = paved_error_set(PAVED_EAUTH,
                                "missing webhook-id, webhook-timestamp or "
                                "webhook-signature header (Standard "
                                "Webhooks signing is configured)");
        goto out;
    }
    if ((error = gitlab_parse_timestamp(&when, ts)) < 0)
        goto out;
    tol = cfg->fc_gitlab_tolerance > 0 ? (long long)cfg->fc_gitlab_tolerance
                                       : GITLAB_DEFAULT_TOLERANCE;
    /* replay protection: a captured delivery is only good for a while */
    if (when > now ? when - now > tol : now - when > tol) {
        error = paved_error_set(PAVED_EAUTH,
                                "webhook-timestamp is more than %lld seconds "
                                "from now",
                                tol);
        goto out;
    }
    idlen = strlen(id);
    tslen = strlen(ts);
    if (req->fr_body_len > (size_t)-1 - idlen - tslen - 3) {
        error = paved_error_set(PAVED_ETOOBIG, "body too large");
        goto out;
    }
    msglen = idlen + 1 + tslen + 1 + req->fr_body_len;
    if ((msg = malloc(msglen + 1)) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    memcpy(msg, id, idlen);
    msg[idlen] = '.';
    memcpy(msg + idlen + 1, ts, tslen);
    msg[idlen + 1 + tslen] = '.';
    if (req->fr_body_len > 0)
        memcpy(msg + idlen + tslen + 2, req->fr_body, req->fr_body_len);
    for (i = 0; i < cfg->fc_n_gitlab_signing_secrets; i++) {
        const char *s = cfg->fc_gitlab_signing_secrets[i];
        const paved_hmac_key *k;

        if (s == NULL || s[0] == '\0')
            continue;
        k = cfg->fc_keys == NULL
                ? NULL
                : forge_key(cfg->fc_keys->fk_gitlab, cfg->fc_keys->fk_n_gitlab,
                            cfg->fc_n_gitlab_signing_secrets, i);
        if (k != NULL) {
            if ((error = paved_hmac_key_mac(mac, &maclen, k, msg, msglen)) <
                    0 ||
                (error = gitlab_signature_listed(&found, sigs, mac, maclen)) <
                    0)
                goto out;
            if (found && index < 0)
                index = (int)i;
            continue;
        }
        if ((error = forge_gitlab_signing_key(&key, &keylen, s)) < 0) {
            if (error == PAVED_ENOMEM)
                goto out;
            bad_secret = (int)i; /* a config mistake; say so below */
            error = 0;
            continue;
        }
        error = paved_hmac(mac, &maclen, "sha256", key, keylen, msg, msglen);
        OPENSSL_cleanse(key, keylen);
        free(key);
        key = NULL;
        if (error < 0 ||
            (error = gitlab_signature_listed(&found, sigs, mac, maclen)) < 0)
            goto out;
        if (found && index < 0)
            index = (int)i;
    }
    if (index < 0) {
        if (bad_secret >= 0)
            error = paved_error_set(PAVED_EAUTH,
                                    "webhook-signature does not match; "
                                    "signing secret #%d is not valid "
                                    "whsec_<base64>",
                                    bad_secret + 1);
        else
            error = paved_error_set(PAVED_EAUTH,
                                    "webhook-signature does not match any "
                                    "configured signing secret");
        goto out;
    }
    if (cfg->fc_n_gitlab_tokens == 0)
        res->fr_secret_index = index;
out:
    free(key);
    free(msg);
    return error;
}

int
forge_gitlab_process(struct paved_forge_result *res,
                     const struct paved_forge_config *cfg,
                     const struct paved_forge_request *req)
{
    enum forge_body type;
    const char *event, *delivery, *hdr;
    unsigned char *payload = NULL;
    size_t payload_len = 0;
    int error;

    if ((error = forge_content_type(&type, forge_header(req, "Content-Type"))) <
        0)
        return error;
    if (cfg->fc_n_gitlab_tokens == 0 && cfg->fc_n_gitlab_signing_secrets == 0)
        return paved_error_set(PAVED_EAUTH,
                               "no GitLab webhook token configured: set "
                               "PAVED_GITLAB_TOKEN");
    if ((cfg->fc_n_gitlab_tokens > 0 &&
         (error = gitlab_check_token(res, cfg, req)) < 0) ||
        (cfg->fc_n_gitlab_signing_secrets > 0 &&
         (error = gitlab_check_signature(res, cfg, req)) < 0))
        return error;
    if ((error = forge_header_value(&event, req, "X-Gitlab-Event",
                                    FORGE_EVENT_NAME_MAX, 1)) < 0)
        return error;
    hdr = forge_header(req, "Idempotency-Key") != NULL ? "Idempotency-Key"
          : forge_header(req, "X-Gitlab-Event-UUID") != NULL
              ? "X-Gitlab-Event-UUID"
              : "webhook-id";
    if (forge_header(req, hdr) == NULL)
        return paved_error_set(PAVED_EINVAL,
                               "missing delivery id: none of "
                               "Idempotency-Key, X-Gitlab-Event-UUID, "
                               "webhook-id");
    if ((error = forge_header_value(&delivery, req, hdr, FORGE_DELIVERY_MAX,
                                    0)) < 0 ||
        (error = forge_body_payload(&payload, &payload_len, type, req->fr_body,
                                    req->fr_body_len)) < 0)
        return error;
    return forge_finish(res, PAVED_FORGE_GITLAB, event, delivery, payload,
                        payload_len);
}

/* --- normalization --- */

/* Every field any GitLab event reads, found in the one scan that
 * validates the payload. */
enum gitlab_path {
    GL_PROJECT = 0,
    GL_PROJECT_PATH,
    GL_PROJECT_URL,
    GL_REF,
    GL_BEFORE,
    GL_AFTER,
    GL_CHECKOUT_SHA,
    GL_USER_USERNAME,
    GL_USER,
    GL_USER_NAME,
    GL_ATTRS,
    GL_ATTRS_IID,
    GL_ATTRS_TITLE,
    GL_ATTRS_SOURCE,
    GL_ATTRS_TARGET,
    GL_ATTRS_ACTION,
    GL_ATTRS_OLDREV,
    GL_ATTRS_COMMIT,
    GL_ATTRS_COMMIT_ID,
    GL_TAG,
    GL_ACTION,
    GL_COMMIT,
    GL_COMMIT_ID,
    GL__COUNT
};

static const char *const gitlab_paths[GL__COUNT] = {
    [GL_PROJECT] = "project",
    [GL_PROJECT_PATH] = "project.path_with_namespace",
    [GL_PROJECT_URL] = "project.git_http_url",
    [GL_REF] = "ref",
    [GL_BEFORE] = "before",
    [GL_AFTER] = "after",
    [GL_CHECKOUT_SHA] = "checkout_sha",
    [GL_USER_USERNAME] = "user_username",
    [GL_USER] = "user",
    [GL_USER_NAME] = "user.username",
    [GL_ATTRS] = "object_attributes",
    [GL_ATTRS_IID] = "object_attributes.iid",
    [GL_ATTRS_TITLE] = "object_attributes.title",
    [GL_ATTRS_SOURCE] = "object_attributes.source_branch",
    [GL_ATTRS_TARGET] = "object_attributes.target_branch",
    [GL_ATTRS_ACTION] = "object_attributes.action",
    /* present on an "update" that pushed commits */
    [GL_ATTRS_OLDREV] = "object_attributes.oldrev",
    [GL_ATTRS_COMMIT] = "object_attributes.last_commit",
    [GL_ATTRS_COMMIT_ID] = "object_attributes.last_commit.id",
    [GL_TAG] = "tag",
    [GL_ACTION] = "action",
    [GL_COMMIT] = "commit",
    [GL_COMMIT_ID] = "commit.id",
};

/* project.path_with_namespace and project.git_http_url */
static int
gitlab_project(struct paved_event *ev, const struct paved_jscan_field *f,
               enum forge_need need, const char *ctx)
{
    enum forge_need opt = need == FJ_LAX ? FJ_LAX : FJ_OPTIONAL;
    int project, error;

    if ((error = forge_json_object(&project, &f[GL_PROJECT], need, ctx)) < 0 ||
        !project)
        return error;
    if ((error = forge_json_string(&ev->ev_repo, &f[GL_PROJECT_PATH], need,
                                   ctx)) < 0 ||
        (error = forge_json_string(&ev->ev_clone_url, &f[GL_PROJECT_URL], opt,
                                   ctx)) < 0)
        return error;
    return 0;
}

static int
gitlab_push(struct paved_event *ev, const struct paved_jscan_field *f)
{
    static const char ctx[] = "push payload";
    enum paved_event_kind kind;
    int error;

    if ((error = gitlab_project(ev, f, FJ_REQUIRED, ctx)) < 0 ||
        (error = forge_json_string(&ev->ev_ref, &f[GL_REF], FJ_REQUIRED, ctx)) <
            0 ||
        (error = forge_json_string(&ev->ev_before, &f[GL_BEFORE], FJ_OPTIONAL,
                                   ctx)) < 0 ||
        (error = forge_json_string(&ev->ev_sha, &f[GL_AFTER], FJ_OPTIONAL,
                                   ctx)) < 0 ||
        (error = forge_json_string(&ev->ev_actor, &f[GL_USER_USERNAME],
                                   FJ_OPTIONAL, ctx)) < 0 ||
        (error = forge_split_ref(&kind, ev, ctx)) < 0)
        return error;
    if (ev->ev_sha == NULL &&
        (error = forge_json_string(&ev->ev_sha, &f[GL_CHECKOUT_SHA],
                                   FJ_OPTIONAL, ctx)) < 0)
        return error;
    ev->ev_kind = kind;
    /* GitLab reports a removed branch or tag as a push to all zeros */
    ev->ev_deleted = forge_sha_is_zero(ev->ev_sha);
    return 0;
}

static int
gitlab_merge_request(struct paved_event *ev, const struct paved_jscan_field *f)
{
    static const char ctx[] = "merge request payload";
    int attrs, commit, user, error;
    char ref[64];

    ev->ev_kind = PAVED_EVENT_PULL_REQUEST;
    if ((error = gitlab_project(ev, f, FJ_REQUIRED, ctx)) < 0 ||
        (error = forge_json_object(&user, &f[GL_USER], FJ_OPTIONAL, ctx)) < 0 ||
        (user && (error = forge_json_string(&ev->ev_actor, &f[GL_USER_NAME],
                                            FJ_OPTIONAL, ctx)) < 0) ||
        (error = forge_json_object(&attrs, &f[GL_ATTRS], FJ_REQUIRED, ctx)) <
            0 ||
        (error = forge_json_int(&ev->ev_pr_number, &f[GL_ATTRS_IID],
                                FJ_REQUIRED, ctx)) < 0 ||
        (error = forge_json_string(&ev->ev_pr_title, &f[GL_ATTRS_TITLE],
                                   FJ_OPTIONAL, ctx)) < 0 ||
        (error = forge_json_string(&ev->ev_pr_head, &f[GL_ATTRS_SOURCE],
                                   FJ_REQUIRED, ctx)) < 0 ||
        (error = forge_json_string(&ev->ev_pr_base, &f[GL_ATTRS_TARGET],
                                   FJ_REQUIRED, ctx)) < 0 ||
        (error = forge_json_string(&ev->ev_action, &f[GL_ATTRS_ACTION],
                                   FJ_OPTIONAL, ctx)) < 0 ||
        (error = forge_json_object(&commit, &f[GL_ATTRS_COMMIT], FJ_OPTIONAL,
                                   ctx)) < 0 ||
        (commit &&
         (error = forge_json_string(&ev->ev_sha, &f[GL_ATTRS_COMMIT_ID],
                                    FJ_OPTIONAL, ctx)) < 0) ||
        (error = forge_strdup(&ev->ev_branch, ev->ev_pr_head)) < 0 ||
        (error = forge_pr_action(ev, f[GL_ATTRS_OLDREV].jf_type ==
                                         PAVED_JSON_STRING)) < 0)
        return error;
    /* GitLab keeps every MR head at this ref in the target project */
    snprintf(ref, sizeof(ref), "refs/merge-requests/%lld/head",
             ev->ev_pr_number);
    return forge_strdup(&ev->ev_ref, ref);
}

static int
gitlab_release(struct paved_event *ev, const struct paved_jscan_field *f)
{
    static const char ctx[] = "release payload";
    int commit, error;

    ev->ev_kind = PAVED_EVENT_RELEASE;
    if ((error = gitlab_project(ev, f, FJ_REQUIRED, ctx)) < 0 ||
        (error = forge_json_string(&ev->ev_tag, &f[GL_TAG], FJ_REQUIRED, ctx)) <
            0 ||
        (error = forge_json_string(&ev->ev_action, &f[GL_ACTION], FJ_OPTIONAL,
                                   ctx)) < 0 ||
        (error = forge_json_object(&commit, &f[GL_COMMIT], FJ_OPTIONAL, ctx)) <
            0 ||
        (commit && (error = forge_json_string(&ev->ev_sha, &f[GL_COMMIT_ID],
                                              FJ_OPTIONAL, ctx)) < 0))
        return error;
    return forge_strcat(&ev->ev_ref, "refs/tags/", ev->ev_tag);
}

int
forge_normalize_gitlab(struct paved_event *ev, const char *name,
                       const unsigned char *json, size_t len)
{
    struct paved_jscan_field f[GL__COUNT];
    size_t i;
    int user, error;

    memset(f, 0, sizeof(f));
    for (i = 0; i < GL__COUNT; i++)
        f[i].jf_path = gitlab_paths[i];
    if ((error = forge_json_scan(json, len, f, GL__COUNT)) < 0)
        return error;
    if (strcmp(name, "Push Hook") == 0 || strcmp(name, "Tag Push Hook") == 0)
        return gitlab_push(ev, f);
    if (strcmp(name, "Merge Request Hook") == 0)
        return gitlab_merge_request(ev, f);
    if (strcmp(name, "Release Hook") == 0)
        return gitlab_release(ev, f);
    /* stored and marked ignored: take what is there, demand nothing */
    ev->ev_kind = PAVED_EVENT_OTHER;
    if ((error = gitlab_project(ev, f, FJ_LAX, "payload")) < 0 ||
        (error = forge_json_string(&ev->ev_actor, &f[GL_USER_USERNAME], FJ_LAX,
                                   "payload")) < 0 ||
        (error = forge_json_object(&user, &f[GL_USER], FJ_LAX, "payload")) < 0)
        return error;
    if (ev->ev_actor == NULL && user)
        error = forge_json_string(&ev->ev_actor, &f[GL_USER_NAME], FJ_LAX,
                                  "payload");
    return error;
}
