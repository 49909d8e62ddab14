/* GitHub deliveries: X-Hub-Signature-256 over the raw body, and the
 * normalizer for GitHub-shaped payloads (Gitea and Forgejo send the same
 * shape, so gitea.c reuses it). Never stores or logs anything. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forge/forge_int.h"
#include "paved/crypto.h"
#include "paved/error.h"

/* Compares the MAC under every usable secret, without stopping at the
 * first match, so the time taken does not say which one matched.
 * *index is the first match or -1. */
static int
github_match(int *index, const struct paved_forge_config *cfg, const char *algo,
             const unsigned char *want, size_t wantlen,
             const unsigned char *body, size_t len)
{
    unsigned char mac[FORGE_MAC_MAX];
    size_t i, maclen;
    int error, eq;

    *index = -1;
    for (i = 0; i < cfg->fc_n_github_secrets; i++) {
        const char *s = cfg->fc_github_secrets[i];
        const paved_hmac_key *k = NULL;

        if (s == NULL || s[0] == '\0')
            continue;
        /* prepared keys are SHA-256 only: legacy SHA-1 stays one-shot */
        if (cfg->fc_keys != NULL && strcmp(algo, "sha256") == 0)
            k = forge_key(cfg->fc_keys->fk_github, cfg->fc_keys->fk_n_github,
                          cfg->fc_n_github_secrets, i);
        if (k != NULL)
            error = paved_hmac_key_mac(mac, &maclen, k, body, len);
        else
            error = paved_hmac(mac, &maclen, algo, s, strlen(s), body, len);
        if (error < 0)
            return error;
        eq = paved_ct_equal(mac, maclen, want, wantlen);
        if (eq && *index < 0)
            *index = (int)i;
    }
    return 0;
}

static int
github_has_secret(const struct paved_forge_config *cfg)
{
    size_t i;

    for (i = 0; i < cfg->fc_n_github_secrets; i++)
        if (cfg->fc_github_secrets[i] != NULL &&
            cfg->fc_github_secrets[i][0] != '\0')
            return 1;
    return 0;
}

static int
github_verify(struct paved_forge_result *res,
              const struct paved_forge_config *cfg,
              const struct paved_forge_request *req)
{
    unsigned char want[FORGE_MAC_MAX];
    const char *sig, *hdr = "X-Hub-Signature-256", *algo = "sha256";
    size_t wantlen;
    int error, index;

    if (!github_has_secret(cfg))
        return paved_error_set(PAVED_EAUTH,
                               "no GitHub webhook secret configured: set "
                               "PAVED_GITHUB_SECRET");
    if ((sig = forge_header(req, hdr)) == NULL) {
        /* the legacy SHA-1 header counts only when the SHA-256 one is
         * absent and the operator opted in */
        if (!cfg->fc_github_allow_sha1 ||
            (sig = forge_header(req, "X-Hub-Signature")) == NULL)
            return paved_error_set(PAVED_EAUTH,
                                   "missing X-Hub-Signature-256 header");
        hdr = "X-Hub-Signature";
        algo = "sha1";
    }
    if ((error = paved_forge_parse_hub_signature(want, &wantlen, sig, algo)) <
            0 ||
        (error = github_match(&index, cfg, algo, want, wantlen, req->fr_body,
                              req->fr_body_len)) < 0)
        return error;
    if (index < 0)
        return paved_error_set(PAVED_EAUTH,
                               "%s does not match the body under any "
                               "configured secret",
                               hdr);
    res->fr_secret_index = index;
    res->fr_sha1 = strcmp(algo, "sha1") == 0;
    return 0;
}

int
forge_github_process(struct paved_forge_result *res,
                     const struct paved_forge_config *cfg,
                     const struct paved_forge_request *req)
{
    enum forge_body type;
    const char *event, *delivery;
    unsigned char *payload = NULL;
    size_t payload_len = 0;
    int error;

    /* 415, then 401, then 400: a caller without the secret learns nothing
     * about what else is wrong with its request */
    if ((error = forge_content_type(&type, forge_header(req, "Content-Type"))) <
            0 ||
        (error = github_verify(res, cfg, req)) < 0 ||
        (error = forge_header_value(&event, req, "X-GitHub-Event",
                                    FORGE_EVENT_NAME_MAX, 0)) < 0 ||
        (error = forge_header_value(&delivery, req, "X-GitHub-Delivery",
                                    FORGE_DELIVERY_MAX, 0)) < 0)
        return error;
    /* the signature covered the raw bytes; only now decode them */
    if ((error = forge_body_payload(&payload, &payload_len, type, req->fr_body,
                                    req->fr_body_len)) < 0)
        return error;
    return forge_finish(res, PAVED_FORGE_GITHUB, event, delivery, payload,
                        payload_len);
}

/* --- normalization of GitHub-shaped payloads --- */

/* Every field any GitHub-shaped event reads, found in the one scan that
 * validates the payload. */
enum github_path {
    GH_REPOSITORY = 0,
    GH_REPOSITORY_FULL_NAME,
    GH_REPOSITORY_CLONE_URL,
    GH_SENDER,
    GH_SENDER_LOGIN,
    GH_PUSHER,
    GH_PUSHER_LOGIN,
    GH_REF,
    GH_REF_TYPE,
    GH_BEFORE,
    GH_AFTER,
    GH_SHA,
    GH_DELETED,
    GH_ACTION,
    GH_NUMBER,
    GH_PULL_REQUEST,
    GH_PR_TITLE,
    GH_PR_HEAD,
    GH_PR_HEAD_REF,
    GH_PR_HEAD_SHA,
    GH_PR_BASE,
    GH_PR_BASE_REF,
    GH_PR_BASE_SHA,
    GH_RELEASE,
    GH_RELEASE_TAG_NAME,
    GH__COUNT
};

static const char *const github_paths[GH__COUNT] = {
    [GH_REPOSITORY] = "repository",
    [GH_REPOSITORY_FULL_NAME] = "repository.full_name",
    [GH_REPOSITORY_CLONE_URL] = "repository.clone_url",
    [GH_SENDER] = "sender",
    [GH_SENDER_LOGIN] = "sender.login",
    [GH_PUSHER] = "pusher",
    [GH_PUSHER_LOGIN] = "pusher.login",
    [GH_REF] = "ref",
    [GH_REF_TYPE] = "ref_type",
    [GH_BEFORE] = "before",
    [GH_AFTER] = "after",
    [GH_SHA] = "sha",
    [GH_DELETED] = "deleted",
    [GH_ACTION] = "action",
    [GH_NUMBER] = "number",
    [GH_PULL_REQUEST] = "pull_request",
    [GH_PR_TITLE] = "pull_request.title",
    [GH_PR_HEAD] = "pull_request.head",
    [GH_PR_HEAD_REF] = "pull_request.head.ref",
    [GH_PR_HEAD_SHA] = "pull_request.head.sha",
    [GH_PR_BASE] = "pull_request.base",
    [GH_PR_BASE_REF] = "pull_request.base.ref",
    [GH_PR_BASE_SHA] = "pull_request.base.sha",
    [GH_RELEASE] = "release",
    [GH_RELEASE_TAG_NAME] = "release.tag_name",
};

/* repository.full_name, repository.clone_url, sender.login */
static int
github_common(struct paved_event *ev, const struct paved_jscan_field *f,
              enum forge_need need, const char *ctx)
{
    enum forge_need opt = need == FJ_LAX ? FJ_LAX : FJ_OPTIONAL;
    int repo, sender, pusher, error;

    if ((error = forge_json_object(&repo, &f[GH_REPOSITORY], need, ctx)) < 0 ||
        (repo &&
         ((error = forge_json_string(&ev->ev_repo, &f[GH_REPOSITORY_FULL_NAME],
                                     need, ctx)) < 0 ||
          (error = forge_json_string(
               &ev->ev_clone_url, &f[GH_REPOSITORY_CLONE_URL], opt, ctx)) < 0)))
        return error;
    if ((error = forge_json_object(&sender, &f[GH_SENDER], opt, ctx)) < 0 ||
        (sender && (error = forge_json_string(
                        &ev->ev_actor, &f[GH_SENDER_LOGIN], opt, ctx)) < 0))
        return error;
    /* Gitea's push names the pusher; GitHub's pusher has only a name */
    if (ev->ev_actor == NULL &&
        ((error = forge_json_object(&pusher, &f[GH_PUSHER], FJ_LAX, ctx)) < 0 ||
         (pusher &&
          (error = forge_json_string(&ev->ev_actor, &f[GH_PUSHER_LOGIN], FJ_LAX,
                                     ctx)) < 0)))
        return error;
    return 0;
}

static int
github_push(struct paved_event *ev, const struct paved_jscan_field *f)
{
    static const char ctx[] = "push payload";
    enum paved_event_kind kind;
    int deleted = 0, error;

    if ((error = github_common(ev, f, FJ_REQUIRED, ctx)) < 0 ||
        (error = forge_json_string(&ev->ev_ref, &f[GH_REF], FJ_REQUIRED, ctx)) <
            0 ||
        (error = forge_json_string(&ev->ev_before, &f[GH_BEFORE], FJ_OPTIONAL,
                                   ctx)) < 0 ||
        (error = forge_json_string(&ev->ev_sha, &f[GH_AFTER], FJ_OPTIONAL,
                                   ctx)) < 0 ||
        (error = forge_json_bool(&deleted, &f[GH_DELETED], FJ_OPTIONAL, ctx)) <
            0 ||
        (error = forge_split_ref(&kind, ev, ctx)) < 0)
        return error;
    ev->ev_kind = kind;
    ev->ev_deleted = deleted || forge_sha_is_zero(ev->ev_sha);
    return 0;
}

/* create/delete: "ref" is the short name, ref_type says which namespace */
static int
github_create_delete(struct paved_event *ev, const struct paved_jscan_field *f,
                     int is_delete)
{
    const char *ctx = is_delete ? "delete payload" : "create payload";
    char *ref_type = NULL, *name = NULL;
    int error;

    ev->ev_kind = is_delete ? PAVED_EVENT_DELETE : PAVED_EVENT_CREATE;
    ev->ev_deleted = is_delete != 0;
    if ((error = github_common(ev, f, FJ_REQUIRED, ctx)) < 0 ||
        (error = forge_json_string(&ref_type, &f[GH_REF_TYPE], FJ_REQUIRED,
                                   ctx)) < 0)
        goto out;
    /* GitHub's create also fires for a new repository: no ref then */
    if (strcmp(ref_type, "branch") != 0 && strcmp(ref_type, "tag") != 0)
        goto out;
    if ((error = forge_json_string(&name, &f[GH_REF], FJ_REQUIRED, ctx)) < 0)
        goto out;
    if (strcmp(ref_type, "branch") == 0)
        error = forge_strcat(&ev->ev_ref, "refs/heads/", name);
    else
        error = forge_strcat(&ev->ev_ref, "refs/tags/", name);
    if (error < 0)
        goto out;
    if (strcmp(ref_type, "branch") == 0)
        ev->ev_branch = name;
    else
        ev->ev_tag = name;
    name = NULL;
    /* Gitea's create carries the SHA the new ref points at */
    error = forge_json_string(&ev->ev_sha, &f[GH_SHA], FJ_OPTIONAL, ctx);
out:
    free(ref_type);
    free(name);
    return error;
}

static int
github_pull_request(struct paved_event *ev, const struct paved_jscan_field *f)
{
    static const char ctx[] = "pull_request payload";
    int pr, head, base, error;
    char ref[64];

    ev->ev_kind = PAVED_EVENT_PULL_REQUEST;
    if ((error = github_common(ev, f, FJ_REQUIRED, ctx)) < 0 ||
        (error = forge_json_string(&ev->ev_action, &f[GH_ACTION], FJ_OPTIONAL,
                                   ctx)) < 0 ||
        (error = forge_json_int(&ev->ev_pr_number, &f[GH_NUMBER], FJ_REQUIRED,
                                ctx)) < 0 ||
        (error = forge_json_object(&pr, &f[GH_PULL_REQUEST], FJ_REQUIRED,
                                   ctx)) < 0 ||
        (error = forge_json_string(&ev->ev_pr_title, &f[GH_PR_TITLE],
                                   FJ_OPTIONAL, ctx)) < 0 ||
        (error = forge_json_object(&head, &f[GH_PR_HEAD], FJ_REQUIRED, ctx)) <
            0 ||
        (error = forge_json_object(&base, &f[GH_PR_BASE], FJ_REQUIRED, ctx)) <
            0 ||
        (error = forge_json_string(&ev->ev_pr_head, &f[GH_PR_HEAD_REF],
                                   FJ_REQUIRED, ctx)) < 0 ||
        (error = forge_json_string(&ev->ev_sha, &f[GH_PR_HEAD_SHA], FJ_REQUIRED,
                                   ctx)) < 0 ||
        (error = forge_json_string(&ev->ev_pr_base, &f[GH_PR_BASE_REF],
                                   FJ_REQUIRED, ctx)) < 0 ||
        /* what the pull request is compared against: its base commit */
        (error = forge_json_string(&ev->ev_before, &f[GH_PR_BASE_SHA],
                                   FJ_OPTIONAL, ctx)) < 0 ||
        (error = forge_strdup(&ev->ev_branch, ev->ev_pr_head)) < 0 ||
        /* Gitea's payloads come through here too: "synchronized" */
        (error = forge_pr_action(ev, 1)) < 0)
        return error;
    snprintf(ref, sizeof(ref), "refs/pull/%lld/head", ev->ev_pr_number);
    return forge_strdup(&ev->ev_ref, ref);
}

static int
github_release(struct paved_event *ev, const struct paved_jscan_field *f)
{
    static const char ctx[] = "release payload";
    int rel, error;

    ev->ev_kind = PAVED_EVENT_RELEASE;
    if ((error = github_common(ev, f, FJ_REQUIRED, ctx)) < 0 ||
        (error = forge_json_string(&ev->ev_action, &f[GH_ACTION], FJ_OPTIONAL,
                                   ctx)) < 0 ||
        (error = forge_json_object(&rel, &f[GH_RELEASE], FJ_REQUIRED, ctx)) <
            0 ||
        (error = forge_json_string(&ev->ev_tag, &f[GH_RELEASE_TAG_NAME],
                                   FJ_REQUIRED, ctx)) < 0)
        return error;
    return forge_strcat(&ev->ev_ref, "refs/tags/", ev->ev_tag);
}

int
forge_normalize_github(struct paved_event *ev, const char *name,
                       const unsigned char *json, size_t len)
{
    struct paved_jscan_field f[GH__COUNT];
    size_t i;
    int error;

    memset(f, 0, sizeof(f));
    for (i = 0; i < GH__COUNT; i++)
        f[i].jf_path = github_paths[i];
    if ((error = forge_json_scan(json, len, f, GH__COUNT)) < 0)
        return error;
    if (strcmp(name, "push") == 0)
        return github_push(ev, f);
    if (strcmp(name, "create") == 0)
        return github_create_delete(ev, f, 0);
    if (strcmp(name, "delete") == 0)
        return github_create_delete(ev, f, 1);
    if (strcmp(name, "pull_request") == 0)
        return github_pull_request(ev, f);
    if (strcmp(name, "release") == 0)
        return github_release(ev, f);
    if (strcmp(name, "ping") == 0) {
        /* an organization's hook pings without a repository */
        ev->ev_kind = PAVED_EVENT_PING;
        return github_common(ev, f, FJ_LAX, "ping payload");
    }
    /* stored and marked ignored: take what is there, demand nothing */
    ev->ev_kind = PAVED_EVENT_OTHER;
    if (forge_json_string(&ev->ev_action, &f[GH_ACTION], FJ_LAX, "") < 0)
        return PAVED_ENOMEM;
    return github_common(ev, f, FJ_LAX, "payload");
}
