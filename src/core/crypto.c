/* HMAC, constant-time comparison, hex and base64 over OpenSSL's libcrypto.
 * Never logs or puts key material into an error message; decoders say
 * what was malformed, never what was expected. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>

#include "paved/crypto.h"
#include "paved/error.h"

int
paved_hmac(unsigned char *out, size_t *outlen, const char *algo,
           const void *key, size_t keylen, const void *msg, size_t len)
{
    static const unsigned char empty[1] = {0};
    const EVP_MD *md;
    unsigned int n = 0;

    *outlen = 0;
    if (algo != NULL && strcmp(algo, "sha256") == 0)
        md = EVP_sha256();
    else if (algo != NULL && strcmp(algo, "sha1") == 0)
        md = EVP_sha1();
    else
        return paved_error_set(PAVED_EINVAL, "unsupported HMAC algorithm");
    if (keylen > INT32_MAX)
        return paved_error_set(PAVED_EINVAL, "HMAC key too long");
    /* OpenSSL 3 refuses a NULL key even with length 0; an empty key is a
     * valid (if weak) HMAC key, so hand it a real pointer. */
    if (key == NULL || keylen == 0)
        key = empty;
    if (msg == NULL)
        msg = empty;
    if (HMAC(md, key, (int)keylen, msg, len, out, &n) == NULL)
        return paved_error_set(PAVED_ERROR, "HMAC computation failed");
    *outlen = n;
    return 0;
}

/* The fetched HMAC and a context keyed once; each MAC works on a copy. */
struct paved_hmac_key {
    EVP_MAC *hk_mac;
    EVP_MAC_CTX *hk_ctx;
};

int
paved_hmac_key_new(paved_hmac_key **out, const char *algo, const void *key,
                   size_t keylen)
{
    static const unsigned char empty[1] = {0};
    OSSL_PARAM params[2];
    paved_hmac_key *k = NULL;
    const char *digest;
    int error = 0;

    *out = NULL;
    if (algo != NULL && strcmp(algo, "sha256") == 0)
        digest = "SHA256";
    else if (algo != NULL && strcmp(algo, "sha1") == 0)
        digest = "SHA1";
    else
        return paved_error_set(PAVED_EINVAL, "unsupported HMAC algorithm");
    if (keylen > INT32_MAX)
        return paved_error_set(PAVED_EINVAL, "HMAC key too long");
    if (key == NULL || keylen == 0)
        key = empty; /* as in paved_hmac(): an empty key is a key */
    if ((k = calloc(1, sizeof(*k))) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                 (char *)digest, 0);
    params[1] = OSSL_PARAM_construct_end();
    if ((k->hk_mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
        (k->hk_ctx = EVP_MAC_CTX_new(k->hk_mac)) == NULL ||
        !EVP_MAC_init(k->hk_ctx, key, keylen, params)) {
        error = paved_error_set(PAVED_ERROR, "HMAC key setup failed");
        goto out;
    }
    *out = k;
    k = NULL;
out:
    paved_hmac_key_free(k);
    return error;
}

void
paved_hmac_key_free(paved_hmac_key *k)
{
    if (k == NULL)
        return;
    EVP_MAC_CTX_free(k->hk_ctx); /* cleanses the key schedule */
    EVP_MAC_free(k->hk_mac);
    free(k);
}

int
paved_hmac_key_mac(unsigned char *out, size_t *outlen, const paved_hmac_key *k,
                   const void *msg, size_t len)
{
    static const unsigned char empty[1] = {0};
    EVP_MAC_CTX *c;
    size_t n = 0;
    int error = 0;

    *outlen = 0;
    /* a copy of the keyed context: the key stays untouched, so a const
     * key is safe to share */
    if ((c = EVP_MAC_CTX_dup(k->hk_ctx)) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    if (msg == NULL)
        msg = empty;
    if (!EVP_MAC_update(c, msg, len) ||
        !EVP_MAC_final(c, out, &n, EVP_MAX_MD_SIZE))
        error = paved_error_set(PAVED_ERROR, "HMAC computation failed");
    else
        *outlen = n;
    EVP_MAC_CTX_free(c);
    return error;
}

int
paved_ct_equal(const void *a, size_t alen, const void *b, size_t blen)
{
    if (alen != blen)
        return 0;
    if (alen == 0)
        return 1;
    return CRYPTO_memcmp(a, b, alen) == 0;
}

int
paved_ct_streq(const char *a, const char *b)
{
    unsigned char da[EVP_MAX_MD_SIZE], db[EVP_MAX_MD_SIZE];
    unsigned int la = 0, lb = 0;

    if (a == NULL || b == NULL)
        return 0;
    /* Hashing first makes the comparison time independent of both the
     * position of the first difference and the secret's length. */
    if (!EVP_Digest(a, strlen(a), da, &la, EVP_sha256(), NULL) ||
        !EVP_Digest(b, strlen(b), db, &lb, EVP_sha256(), NULL))
        return 0;
    return la == lb && CRYPTO_memcmp(da, db, la) == 0;
}

void
paved_hex_encode(char *out, const unsigned char *in, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0x0f];
    }
    out[2 * len] = '\0';
}

static int
hex_nibble(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int
paved_hex_decode(unsigned char *out, size_t outlen, const char *hex,
                 size_t hexlen)
{
    size_t i;
    int hi, lo;

    if (hex == NULL || outlen > SIZE_MAX / 2 || hexlen != 2 * outlen)
        return paved_error_set(PAVED_EINVAL,
                               "hex string of %zu characters, want %zu",
                               hex == NULL ? 0 : hexlen, 2 * outlen);
    for (i = 0; i < outlen; i++) {
        hi = hex_nibble((unsigned char)hex[2 * i]);
        lo = hex_nibble((unsigned char)hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return paved_error_set(PAVED_EINVAL,
                                   "non-hex character at offset %zu",
                                   hi < 0 ? 2 * i : 2 * i + 1);
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

int
paved_base64_encode(char **out, const unsigned char *in, size_t len)
{
    size_t n;
    char *s;

    *out = NULL;
    if (len > (SIZE_MAX / 4 - 1) * 3 || len > INT32_MAX)
        return paved_error_set(PAVED_ETOOBIG, "base64 input too long");
    n = 4 * ((len + 2) / 3);
    if ((s = malloc(n + 1)) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    if (len > 0)
        EVP_EncodeBlock((unsigned char *)s, in, (int)len);
    s[n] = '\0';
    *out = s;
    return 0;
}

static int
b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Our own decoder rather than EVP_DecodeBlock: that one skips whitespace,
 * accepts padding in odd places and does not report the decoded length
 * net of padding. Here the input is exactly RFC 4648 section 4 with
 * padding, nothing else. */
int
paved_base64_decode(unsigned char **out, size_t *outlen, const char *in,
                    size_t len)
{
    unsigned char *buf = NULL;
    size_t i, o = 0, pad = 0;
    uint32_t acc;
    int v, k, error = 0;

    *out = NULL;
    *outlen = 0;
    if (in == NULL || len % 4 != 0) {
        error = paved_error_set(PAVED_EINVAL,
                                "base64 length %zu is not a multiple of 4",
                                in == NULL ? 0 : len);
        goto out;
    }
    if (len > 0 && in[len - 1] == '=')
        pad = (len > 1 && in[len - 2] == '=') ? 2 : 1;
    if ((buf = malloc(len / 4 * 3 + 1)) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < len; i += 4) {
        acc = 0;
        for (k = 0; k < 4; k++) {
            if (i + 4 == len && k >= 4 - (int)pad) {
                acc <<= 6;
                continue;
            }
            if ((v = b64_value((unsigned char)in[i + k])) < 0) {
                error = paved_error_set(PAVED_EINVAL,
                                        "invalid base64 character at "
                                        "offset %zu",
                                        i + k);
                goto out;
            }
            acc = acc << 6 | (uint32_t)v;
        }
        buf[o++] = (unsigned char)(acc >> 16);
        if (i + 4 < len || pad < 2)
            buf[o++] = (unsigned char)(acc >> 8);
        if (i + 4 < len || pad < 1)
            buf[o++] = (unsigned char)acc;
        /* bits under the padding must be zero (canonical encoding) */
        if (i + 4 == len && ((pad == 2 && (acc & 0xffff) != 0) ||
                             (pad == 1 && (acc & 0xff) != 0))) {
            error = paved_error_set(PAVED_EINVAL,
                                    "non-canonical base64 padding bits");
            goto out;
        }
    }
    buf[o] = '\0';
    *out = buf;
    *outlen = o;
    buf = NULL;
out:
    free(buf);
    return error;
}
