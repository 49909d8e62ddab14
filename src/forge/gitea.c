/* Gitea and Forgejo deliveries: X-Gitea-Signature (or X-Forgejo-Signature)
 * is the hex HMAC-SHA256 of the JSON document itself, which for a
 * form-encoded delivery is the decoded payload= value, not the body.
 * Payloads are GitHub-shaped, so github.c normalizes them. */
#include <stdlib.h>
#include <string.h>

#include "forge/forge_int.h"
#include "paved/crypto.h"
#include "paved/error.h"

static int
gitea_verify(struct paved_forge_result *res,
             const struct paved_forge_config *cfg, const char *sig,
             const unsigned char *payload, size_t len)
{
    unsigned char want[32], mac[FORGE_MAC_MAX];
    size_t i, maclen;
    int error, eq, index = -1, usable = 0;

    if (paved_hex_decode(want, sizeof(want), sig, strlen(sig)) < 0)
        return paved_error_set(PAVED_EAUTH,
                               "malformed X-Gitea-Signature header: want 64 "
                               "hex digits");
    /* every secret is tried, so the time says nothing about which matched */
    for (i = 0; i < cfg->fc_n_gitea_secrets; i++) {
        const char *s = cfg->fc_gitea_secrets[i];
        const paved_hmac_key *k;

        if (s == NULL || s[0] == '\0')
            continue;
        usable = 1;
        k = cfg->fc_keys == NULL
                ? NULL
                : forge_key(cfg->fc_keys->fk_gitea, cfg->fc_keys->fk_n_gitea,
                            cfg->fc_n_gitea_secrets, i);
        if (k != NULL)
            error = paved_hmac_key_mac(mac, &maclen, k, payload, len);
        else
            error =
                paved_hmac(mac, &maclen, "sha256", s, strlen(s), payload, len);
        if (error < 0)
            return error;
        eq = paved_ct_equal(mac, maclen, want, sizeof(want));
        if (eq && index < 0)
            index = (int)i;
    }
    if (!usable)
        return paved_error_set(PAVED_EAUTH,
                               "no Gitea webhook secret configured: set "
                               "PAVED_GITEA_SECRET");
    if (index < 0)
        return paved_error_set(PAVED_EAUTH,
                               "X-Gitea-Signature does not match the payload "
                               "under any configured secret");
    res->fr_secret_index = index;
    return 0;
}

static const char *
gitea_header(const struct paved_forge_request *req, const char *gitea,
             const char *forgejo)
{
    const char *v = forge_header(req, gitea);

    return v != NULL ? v : forge_header(req, forgejo);
}

static int
gitea_has_secret(const struct paved_forge_config *cfg)
{
    size_t i;

    for (i = 0; i < cfg->fc_n_gitea_secrets; i++)
        if (cfg->fc_gitea_secrets[i] != NULL &&
            cfg->fc_gitea_secrets[i][0] != '\0')
            return 1;
    return 0;
}

int
forge_gitea_process(struct paved_forge_result *res,
                    const struct paved_forge_config *cfg,
                    const struct paved_forge_request *req)
{
    enum forge_body type;
    const char *sig, *event, *delivery, *hdr;
    unsigned char *payload = NULL;
    size_t payload_len = 0;
    int error;

    if ((error = forge_content_type(&type, forge_header(req, "Content-Type"))) <
        0)
        goto out;
    if (!gitea_has_secret(cfg)) {
        error = paved_error_set(PAVED_EAUTH,
                                "no Gitea webhook secret configured: set "
                                "PAVED_GITEA_SECRET");
        goto out;
    }
    if ((sig = gitea_header(req, "X-Gitea-Signature", "X-Forgejo-Signature")) ==
        NULL) {
        error =
            paved_error_set(PAVED_EAUTH, "missing X-Gitea-Signature header");
        goto out;
    }
    /* The signed bytes are the decoded payload, so decoding must come
     * first; a body we cannot decode cannot be authenticated, and an
     * unauthenticated caller hears only 401. */
    if ((error = forge_body_payload(&payload, &payload_len, type, req->fr_body,
                                    req->fr_body_len)) < 0) {
        if (error == PAVED_ENOMEM)
            goto out;
        error =
            paved_error_set(PAVED_EAUTH, "cannot verify X-Gitea-Signature: the "
                                         "form-encoded body has no decodable "
                                         "payload= field");
        goto out;
    }
    if ((error = gitea_verify(res, cfg, sig, payload, payload_len)) < 0)
        goto out;
    hdr = forge_header(req, "X-Gitea-Event") != NULL     ? "X-Gitea-Event"
          : forge_header(req, "X-Forgejo-Event") != NULL ? "X-Forgejo-Event"
          : forge_header(req, "X-GitHub-Event") != NULL  ? "X-GitHub-Event"
                                                         : "X-Gitea-Event";
    if ((error =
             forge_header_value(&event, req, hdr, FORGE_EVENT_NAME_MAX, 0)) < 0)
        goto out;
    hdr = forge_header(req, "X-Gitea-Delivery") == NULL &&
                  forge_header(req, "X-Forgejo-Delivery") != NULL
              ? "X-Forgejo-Delivery"
              : "X-Gitea-Delivery";
    if ((error = forge_header_value(&delivery, req, hdr, FORGE_DELIVERY_MAX,
                                    0)) < 0)
        goto out;
    error = forge_finish(res, PAVED_FORGE_GITEA, event, delivery, payload,
                         payload_len);
    payload = NULL; /* owned by res now */
out:
    free(payload);
    return error;
}
