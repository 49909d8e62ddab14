/* Fuzz target: paved_forgeapi_answer() on arbitrary response headers and
 * bodies, and paved_forgeapi_status() with the body as description. The
 * verdict must follow the status class whatever the headers say, a retry
 * time must lie within a day, and the message must be one line of valid
 * UTF-8. Never touches the network.
 *
 * Input: byte 0 picks the forge, bytes 1-2 the status (-50..649), byte 3
 * moves the clock; the rest is the header block, then "\n--\n", then the
 * body (no separator: headers only). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "paved/forgeapi.h"
#include "paved/jscan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DAY_MS (24LL * 3600 * 1000)

static void
check_answer(const struct paved_forge_answer *a, enum paved_forge_kind kind,
             long status, int64_t now)
{
    size_t n = strnlen(a->fa_message, sizeof(a->fa_message)), i;

    if (n == 0 || n == sizeof(a->fa_message) ||
        !paved_jscan_valid_utf8(a->fa_message, n))
        abort();
    for (i = 0; i < n; i++)
        if ((unsigned char)a->fa_message[i] < 0x20 || a->fa_message[i] == 0x7f)
            abort();
    if (a->fa_remaining < -1 || a->fa_reset_ms < 0)
        abort();
    switch (a->fa_verdict) {
    case PAVED_VERDICT_DONE:
        if (!(status >= 200 && status <= 299) &&
            !(kind == PAVED_FORGEAPI_GITLAB &&
              (status == 400 || status == 409)))
            abort();
        break;
    case PAVED_VERDICT_RETRY:
        break;
    case PAVED_VERDICT_GIVE_UP:
        if (status < 300 || status > 499 || status == 408 || status == 429)
            abort();
        break;
    default:
        abort();
    }
    /* these never depend on the headers or the body */
    if (status >= 200 && status <= 299 && a->fa_verdict != PAVED_VERDICT_DONE)
        abort();
    if ((status < 200 || status > 599 || status >= 500 || status == 408 ||
         status == 429) &&
        a->fa_verdict != PAVED_VERDICT_RETRY)
        abort();
    if (a->fa_retry_at_ms != 0 &&
        (a->fa_verdict != PAVED_VERDICT_RETRY || a->fa_retry_at_ms <= now ||
         a->fa_retry_at_ms > now + DAY_MS))
        abort();
}

/* the description as sent: valid UTF-8 within the forge's limit */
static void
check_status(enum paved_forge_kind kind, const char *desc)
{
    struct paved_forge_endpoint ep = {kind, "https://forge.example", "t0k"};
    struct paved_status st = {
        "o/r",     "0123456789012345678901234567890123456789",
        "paved/x", PAVED_STATUS_SUCCESS,
        desc,      "https://ci.example/r/1"};
    struct paved_http_request r;
    json_t *root, *d;
    const unsigned char *u;
    size_t chars = 0, max;

    if (paved_forgeapi_status(&r, &ep, &st) < 0)
        abort(); /* nothing about a description is refused */
    root = json_loadb(r.hr_body, r.hr_body_len, 0, NULL);
    if (root == NULL)
        abort();
    d = json_object_get(root, "description");
    if (d != NULL) {
        if (!json_is_string(d))
            abort();
        for (u = (const unsigned char *)json_string_value(d); *u; u++) {
            if (*u < 0x20 || *u == 0x7f)
                abort();
            if ((*u & 0xc0) != 0x80)
                chars++;
        }
        max = kind == PAVED_FORGEAPI_GITHUB ? PAVED_FORGEAPI_GITHUB_DESC_MAX
                                            : PAVED_FORGEAPI_DESC_MAX;
        if (chars == 0 || chars > max)
            abort();
    } else if (desc[0] != '\0') {
        abort();
    }
    json_decref(root);
    paved_http_request_dispose(&r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char sep[] = "\n--\n";
    struct paved_forge_answer a;
    enum paved_forge_kind kind;
    const char *rest, *body = NULL, *hit;
    size_t rlen, hlen, blen = 0;
    long status;
    int64_t now;
    char *desc;

    if (size < 4)
        return 0;
    kind = (enum paved_forge_kind)(data[0] % 3);
    status = (long)((data[1] << 8) | data[2]) % 700 - 50;
    now = 1700000000000LL + (int64_t)data[3] * 3600000LL;
    rest = (const char *)data + 4;
    rlen = size - 4;
    hlen = rlen;
    if ((hit = memmem(rest, rlen, sep, sizeof(sep) - 1)) != NULL) {
        hlen = (size_t)(hit - rest);
        body = hit + sizeof(sep) - 1;
        blen = rlen - hlen - (sizeof(sep) - 1);
    }
    paved_forgeapi_answer(&a, kind, status, rest, hlen, body, blen, now);
    check_answer(&a, kind, status, now);

    if ((desc = malloc(blen + 1)) == NULL)
        return 0;
    if (blen > 0)
        memcpy(desc, body, blen);
    desc[blen] = '\0';
    check_status(kind, desc);
    free(desc);
    return 0;
}
