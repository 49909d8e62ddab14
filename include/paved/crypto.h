#ifndef PAVED_CRYPTO_H
#define PAVED_CRYPTO_H
/* Small wrappers over OpenSSL for what paved signs and checks: HMAC,
 * constant-time comparison, hex and base64. Never logs key material. */
#include <stddef.h>

/* HMAC-SHA256 (algo "sha256") or HMAC-SHA1 ("sha1") of msg under key.
 * out must hold 32 bytes; *outlen is set. */
int paved_hmac(unsigned char *out, size_t *outlen, const char *algo,
               const void *key, size_t keylen, const void *msg, size_t len);
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
