#ifndef PAVED_CRYPTO_H
#define PAVED_CRYPTO_H
/* Small wrappers over OpenSSL for what paved signs and checks: HMAC,
 * constant-time comparison, hex and base64. Never logs key material. */
#include <stddef.h>

/* HMAC-SHA256 (algo "sha256") or HMAC-SHA1 ("sha1") of msg under key.
 * out must hold 32 bytes; *outlen is set. */
int paved_hmac(unsigned char *out, size_t *outlen, const char *algo,
               const void *key, size_t keylen, const void *msg, size_t len);
/* An HMAC key prepared once, when the configuration is loaded, and kept by
 * the caller: OpenSSL 3's one-shot HMAC() fetches the algorithm from the
 * provider and hashes the key pads on every call, which costs more than
 * the MAC of a small message. Immutable once made, so one key may serve
 * several threads. Holds a copy of the key material (cleansed on free). */
typedef struct paved_hmac_key paved_hmac_key;

/* algo "sha256" or "sha1" as for paved_hmac(); PAVED_EINVAL for others.
 * *out is owned by the caller: paved_hmac_key_free(). */
int paved_hmac_key_new(paved_hmac_key **out, const char *algo, const void *key,
                       size_t keylen);
void paved_hmac_key_free(paved_hmac_key *k); /* NULL is a no-op */
/* The same bytes as paved_hmac() with the key's algorithm and key. */
int paved_hmac_key_mac(unsigned char *out, size_t *outlen,
                       const paved_hmac_key *k, const void *msg, size_t len);
/* 1 when equal, 0 otherwise; time depends only on the lengths. */
int paved_ct_equal(const void *a, size_t alen, const void *b, size_t blen);
/* Equal strings, compared via their SHA-256 so that time does not depend on
 * where they differ or on the secret's length. */
int paved_ct_streq(const char *a, const char *b);
/* Lower-case hex of len bytes into out (2*len+1 bytes). */
void paved_hex_encode(char *out, const unsigned char *in, size_t len);
/* PAVED_EINVAL unless hex is exactly 2*outlen hex digits (any case). */
int paved_hex_decode(unsigned char *out, size_t outlen, const char *hex,
                     size_t hexlen);
/* Standard base64 with padding. *out is malloc'd, caller frees. */
int paved_base64_encode(char **out, const unsigned char *in, size_t len);
int paved_base64_decode(unsigned char **out, size_t *outlen, const char *in,
                        size_t len);

#endif
