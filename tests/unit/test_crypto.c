/* Unit tests for src/core/crypto.c: published HMAC vectors (GitHub's
 * documentation, RFC 4231, RFC 2202), RFC 4648 base64 vectors, and the
 * malformed inputs each decoder must refuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "paved/crypto.h"
#include "paved/error.h"

static void
hmac_hex(char *hex, const char *algo, const char *key, const char *msg)
{
    unsigned char mac[32];
    size_t len = 0;

    assert_int_equal(
        paved_hmac(mac, &len, algo, key, strlen(key), msg, strlen(msg)), 0);
    paved_hex_encode(hex, mac, len);
}

static void
test_hmac_github_vector(void **state)
{
    char hex[65];

    (void)state;
    /* docs.github.com "Validating webhook deliveries" */
    hmac_hex(hex, "sha256", "It's a Secret to Everybody", "Hello, World!");
    assert_string_equal(
        hex,
        "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
}

static void
test_hmac_rfc_vectors(void **state)
{
    char hex[65];

    (void)state;
    /* RFC 4231 test case 2 */
    hmac_hex(hex, "sha256", "Jefe", "what do ya want for nothing?");
    assert_string_equal(
        hex,
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* RFC 2202 test case 2 */
    hmac_hex(hex, "sha1", "Jefe", "what do ya want for nothing?");
    assert_string_equal(hex, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
}

static void
test_hmac_empty_and_bad_algo(void **state)
{
    unsigned char mac[32];
    size_t len = 99;
    char hex[65];

    (void)state;
    /* HMAC-SHA256 with empty key and message, a well-known value */
    assert_int_equal(paved_hmac(mac, &len, "sha256", NULL, 0, NULL, 0), 0);
    assert_int_equal(len, 32);
    paved_hex_encode(hex, mac, len);
    assert_string_equal(
        hex,
        "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
    assert_int_equal(paved_hmac(mac, &len, "md5", "k", 1, "m", 1),
                     PAVED_EINVAL);
    assert_int_equal(len, 0);
}

static void
test_ct_equal(void **state)
{
    (void)state;
    assert_int_equal(paved_ct_equal("abc", 3, "abc", 3), 1);
    assert_int_equal(paved_ct_equal("abc", 3, "abd", 3), 0);
    assert_int_equal(paved_ct_equal("abc", 3, "abcd", 4), 0);
    assert_int_equal(paved_ct_equal("", 0, "", 0), 1);
    assert_int_equal(paved_ct_streq("token", "token"), 1);
    assert_int_equal(paved_ct_streq("token", "tokeN"), 0);
    assert_int_equal(paved_ct_streq("token", "token2"), 0);
    assert_int_equal(paved_ct_streq("", ""), 1);
    assert_int_equal(paved_ct_streq(NULL, "x"), 0);
    assert_int_equal(paved_ct_streq("x", NULL), 0);
}

static void
test_hex(void **state)
{
    unsigned char raw[4] = {0x00, 0x9f, 0xab, 0xff}, out[4];
    char hex[9];

    (void)state;
    paved_hex_encode(hex, raw, sizeof(raw));
    assert_string_equal(hex, "009fabff");
    assert_int_equal(paved_hex_decode(out, 4, "009FabFF", 8), 0);
    assert_memory_equal(out, raw, 4);
    assert_int_equal(paved_hex_decode(out, 4, "009fabf", 7), PAVED_EINVAL);
    assert_int_equal(paved_hex_decode(out, 4, "009fabfff", 9), PAVED_EINVAL);
    assert_int_equal(paved_hex_decode(out, 4, "009fabfg", 8), PAVED_EINVAL);
    assert_int_equal(paved_hex_decode(out, 4, "0x9fabff", 8), PAVED_EINVAL);
    assert_int_equal(paved_hex_decode(out, 4, " 09fabff", 8), PAVED_EINVAL);
}

static const struct {
    const char *plain, *b64;
} b64_vectors[] = {
    /* RFC 4648 section 10 */
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

static void
test_base64_vectors(void **state)
{
    unsigned char *dec;
    size_t i, len;
    char *enc;

    (void)state;
    for (i = 0; i < sizeof(b64_vectors) / sizeof(b64_vectors[0]); i++) {
        const char *p = b64_vectors[i].plain, *b = b64_vectors[i].b64;

        assert_int_equal(
            paved_base64_encode(&enc, (const unsigned char *)p, strlen(p)), 0);
        assert_string_equal(enc, b);
        free(enc);
        assert_int_equal(paved_base64_decode(&dec, &len, b, strlen(b)), 0);
        assert_int_equal(len, strlen(p));
        assert_memory_equal(dec, p, len);
        free(dec);
    }
}

static void
test_base64_binary(void **state)
{
    unsigned char raw[256], *dec;
    size_t i, len;
    char *enc;

    (void)state;
    for (i = 0; i < sizeof(raw); i++)
        raw[i] = (unsigned char)(255 - i);
    assert_int_equal(paved_base64_encode(&enc, raw, sizeof(raw)), 0);
    assert_int_equal(strlen(enc), 344);
    assert_int_equal(paved_base64_decode(&dec, &len, enc, strlen(enc)), 0);
    assert_int_equal(len, sizeof(raw));
    assert_memory_equal(dec, raw, sizeof(raw));
    free(dec);
    free(enc);
}

static void
test_base64_rejects(void **state)
{
    static const char *bad[] = {
        "Zg",       /* no padding */
        "Zg=",      /* short padding */
        "Zm9v\n",   /* whitespace */
        "Zm 9v",    /* whitespace inside */
        "Z===",     /* too much padding */
        "====",     /* only padding */
        "Zg==Zm9v", /* padding in the middle */
        "Zm=v",     /* padding then data */
        "Zm9-",     /* url-safe alphabet */
        "Zh==",     /* non-zero bits under padding */
        "Zm9=",     /* non-zero bits under padding */
    };
    unsigned char *dec = (unsigned char *)"sentinel";
    size_t i, len = 7;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(
            paved_base64_decode(&dec, &len, bad[i], strlen(bad[i])),
            PAVED_EINVAL);
        assert_null(dec);
        assert_int_equal(len, 0);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hmac_github_vector),
        cmocka_unit_test(test_hmac_rfc_vectors),
        cmocka_unit_test(test_hmac_empty_and_bad_algo),
        cmocka_unit_test(test_ct_equal),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_base64_vectors),
        cmocka_unit_test(test_base64_binary),
        cmocka_unit_test(test_base64_rejects),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
