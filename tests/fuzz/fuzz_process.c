/* Fuzz target: the whole paved_forge_process() path for all three forges.
 * Input: byte 0 selects the forge (mod 3); byte 1 holds flags (bit 0:
 * allow SHA-1, bit 7: the harness signs the body itself so that mutation
 * reaches the decoders behind the signature check); then "Name: value"
 * header lines up to an empty line; the rest is the body. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "paved/crypto.h"
#include "paved/error.h"
#include "paved/forge.h"

#define MAX_HEADERS 24

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_headers {
    char *name[MAX_HEADERS + 2];
    char *value[MAX_HEADERS + 2];
    size_t n;
};

static const char *
fuzz_header(void *ctx, const char *name)
{
    struct fuzz_headers *h = ctx;
    size_t i;

    for (i = 0; i < h->n; i++)
        if (strcasecmp(h->name[i], name) == 0)
            return h->value[i];
    return NULL;
}

static void
fuzz_add(struct fuzz_headers *h, const char *name, const char *value)
{
    /* prepended, so it wins over a fuzzed header of the same name */
    memmove(h->name + 1, h->name, h->n * sizeof(h->name[0]));
    memmove(h->value + 1, h->value, h->n * sizeof(h->value[0]));
    h->name[0] = strdup(name);
    h->value[0] = strdup(value);
    h->n++;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const secrets[] = {"s3cret", "other"};
    static const char *const signing[] = {
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"};
    struct paved_forge_config cfg;
    struct paved_forge_request req;
    struct paved_forge_result res;
    struct fuzz_headers h;
    unsigned char mac[32];
    char *text = NULL, *line, *end, *colon, hex[65], sig[80];
    size_t i, maclen, hlen;
    int forge, flags;

    if (size < 2)
        return 0;
    forge = data[0] % 3;
    flags = data[1];
    data += 2;
    size -= 2;
    memset(&h, 0, sizeof(h));
    memset(&cfg, 0, sizeof(cfg));
    memset(&req, 0, sizeof(req));

    /* header block: up to "\n\n" */
    end = NULL;
    for (hlen = 0; hlen + 1 < size; hlen++)
        if (data[hlen] == '\n' && data[hlen + 1] == '\n')
            break;
    if (hlen + 1 >= size)
        hlen = size;
    if ((text = malloc(hlen + 1)) == NULL)
        return 0;
    memcpy(text, data, hlen);
    text[hlen] = '\0';
    for (line = text; line != NULL && h.n < MAX_HEADERS; line = end) {
        end = strchr(line, '\n');
        if (end != NULL)
            *end++ = '\0';
        if ((colon = strchr(line, ':')) == NULL)
            continue;
        *colon++ = '\0';
        while (*colon == ' ')
            colon++;
        h.name[h.n] = strdup(line);
        h.value[h.n++] = strdup(colon);
    }
    req.fr_body = hlen + 2 <= size ? data + hlen + 2 : data + size;
    req.fr_body_len = hlen + 2 <= size ? size - hlen - 2 : 0;
    req.fr_now = 1614265330;

    cfg.fc_github_secrets = secrets;
    cfg.fc_n_github_secrets = 2;
    cfg.fc_github_allow_sha1 = flags & 1;
    cfg.fc_gitea_secrets = secrets;
    cfg.fc_n_gitea_secrets = 2;
    cfg.fc_gitlab_tokens = secrets;
    cfg.fc_n_gitlab_tokens = 2;
    if (flags & 2) {
        cfg.fc_gitlab_signing_secrets = signing;
        cfg.fc_n_gitlab_signing_secrets = 1;
    }
    if ((flags & 0x80) && forge != PAVED_FORGE_GITLAB &&
        paved_hmac(mac, &maclen, "sha256", secrets[1], strlen(secrets[1]),
                   req.fr_body, req.fr_body_len) == 0) {
        paved_hex_encode(hex, mac, maclen);
        snprintf(sig, sizeof(sig), "sha256=%s", hex);
        fuzz_add(&h,
                 forge == PAVED_FORGE_GITHUB ? "X-Hub-Signature-256"
                                             : "X-Gitea-Signature",
                 forge == PAVED_FORGE_GITHUB ? sig : hex);
    }
    req.fr_header = fuzz_header;
    req.fr_header_ctx = &h;

    if (paved_forge_process(&res, (enum paved_forge)forge, &cfg, &req) == 0) {
        char *json = NULL;

        if (res.fr_event.ev_delivery == NULL || res.fr_secret_index < 0 ||
            paved_event_to_json(&json, &res.fr_event) < 0)
            abort();
        free(json);
    } else if (res.fr_payload != NULL || res.fr_event.ev_repo != NULL) {
        abort(); /* a refusal keeps nothing */
    }
    paved_forge_result_dispose(&res);
    for (i = 0; i < h.n; i++) {
        free(h.name[i]);
        free(h.value[i]);
    }
    free(text);
    return 0;
}
