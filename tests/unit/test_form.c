/* Unit tests for paved_forge_form_value(): the
 * application/x-www-form-urlencoded decoding that GitHub and Gitea use to
 * carry JSON in payload=. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "paved/error.h"
#include "paved/forge.h"

static int
value(unsigned char **out, size_t *len, const char *body, const char *key)
{
    return paved_forge_form_value(out, len, (const unsigned char *)body,
                                  strlen(body), key);
}

static void
expect(const char *body, const char *key, const char *want)
{
    unsigned char *out = NULL;
    size_t len = 0;

    assert_int_equal(value(&out, &len, body, key), 0);
    assert_non_null(out);
    assert_int_equal(len, strlen(want));
    assert_string_equal((char *)out, want);
    free(out);
}

static void
expect_error(const char *body, const char *key, int code)
{
    unsigned char *out = (unsigned char *)"sentinel";
    size_t len = 5;

    assert_int_equal(value(&out, &len, body, key), code);
    assert_null(out);
    assert_int_equal(len, 0);
}

static void
test_basic(void **state)
{
    (void)state;
    expect("payload=%7B%22a%22%3A1%7D", "payload", "{\"a\":1}");
    expect("a=1&payload=x&b=2", "payload", "x");
    expect("a=1&b=2", "b", "2");
    expect("payload=hello+world", "payload", "hello world");
    expect("payload=%2B%2b", "payload", "++");
    expect("payload=%4a%4A", "payload", "JJ");
    expect("payload=", "payload", "");
    expect("payload", "payload", "");
    expect("payload=a=b", "payload", "a=b");
    expect("&&payload=x&&", "payload", "x");
    /* keys are decoded before comparison */
    expect("pay%6Coad=x", "payload", "x");
    expect("my+key=v", "my key", "v");
    /* the real GitHub form: JSON with spaces and unicode escapes */
    expect("payload=%7B%22t%22%3A+%22caf%C3%A9%22%7D", "payload",
           "{\"t\": \"caf\xc3\xa9\"}");
}

static void
test_nul_byte(void **state)
{
    unsigned char *out;
    size_t len;

    (void)state;
    assert_int_equal(value(&out, &len, "payload=a%00b", "payload"), 0);
    assert_int_equal(len, 3);
    assert_memory_equal(out, "a\0b", 4);
    free(out);
}

static void
test_not_found(void **state)
{
    (void)state;
    expect_error("", "payload", PAVED_ENOTFOUND);
    expect_error("a=1&b=2", "payload", PAVED_ENOTFOUND);
    expect_error("payloads=1", "payload", PAVED_ENOTFOUND);
    expect_error("xpayload=1", "payload", PAVED_ENOTFOUND);
    expect_error("Payload=1", "payload", PAVED_ENOTFOUND);
    expect_error("=payload", "payload", PAVED_ENOTFOUND);
}

static void
test_bad_escapes(void **state)
{
    (void)state;
    expect_error("payload=%", "payload", PAVED_EINVAL);
    expect_error("payload=%4", "payload", PAVED_EINVAL);
    expect_error("payload=%zz", "payload", PAVED_EINVAL);
    expect_error("payload=%4g", "payload", PAVED_EINVAL);
    expect_error("payload=%g4", "payload", PAVED_EINVAL);
    expect_error("payload=% 41", "payload", PAVED_EINVAL);
    expect_error("payload=%%41", "payload", PAVED_EINVAL);
    /* a bad escape anywhere makes the whole body malformed */
    expect_error("payload=ok&x=%", "payload", PAVED_EINVAL);
    expect_error("x%=1&payload=ok", "payload", PAVED_EINVAL);
    /* and so does a duplicated key */
    expect_error("payload=a&payload=b", "payload", PAVED_EINVAL);
    expect_error("payload=a&pay%6coad=b", "payload", PAVED_EINVAL);
}

static void
test_not_nul_terminated_input(void **state)
{
    /* the body is bytes, not a string: nothing past len is read */
    unsigned char body[] = {'p', '=', '%', '4', '1', '%', '4'};
    unsigned char *out;
    size_t len;

    (void)state;
    assert_int_equal(paved_forge_form_value(&out, &len, body, 5, "p"), 0);
    assert_string_equal((char *)out, "A");
    free(out);
    assert_int_equal(paved_forge_form_value(&out, &len, body, 7, "p"),
                     PAVED_EINVAL);
    /* "%4" cut off by len, even though a hex digit follows in memory */
    assert_int_equal(paved_forge_form_value(&out, &len, body, 4, "p"),
                     PAVED_EINVAL);
    assert_int_equal(paved_forge_form_value(&out, &len, body, 3, "p"),
                     PAVED_EINVAL);
    assert_int_equal(paved_forge_form_value(&out, &len, NULL, 0, "p"),
                     PAVED_ENOTFOUND);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_nul_byte),
        cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_bad_escapes),
        cmocka_unit_test(test_not_nul_terminated_input),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
