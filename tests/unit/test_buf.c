/* Capped buffers and the last-error slot. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "paved/buf.h"
#include "paved/error.h"

static void
test_put_and_terminate(void **state)
{
    struct paved_buf b = PAVED_BUF_INIT(1024);
    char *s;
    size_t len;

    (void)state;
    assert_int_equal(paved_buf_puts(&b, "hello"), 0);
    assert_int_equal(paved_buf_putc(&b, ' '), 0);
    assert_int_equal(paved_buf_printf(&b, "%d-%s", 42, "x"), 0);
    assert_string_equal(b.b_ptr, "hello 42-x");
    assert_int_equal(b.b_len, 10);
    paved_buf_clear(&b);
    assert_int_equal(b.b_len, 0);
    assert_string_equal(b.b_ptr, "");
    assert_int_equal(paved_buf_put(&b, "ab\0cd", 5), 0);
    assert_int_equal(b.b_len, 5);
    assert_int_equal(b.b_ptr[5], '\0');
    s = paved_buf_detach(&b, &len);
    assert_int_equal(len, 5);
    assert_memory_equal(s, "ab\0cd", 5);
    assert_null(b.b_ptr);
    free(s);
    s = paved_buf_detach(&b, &len); /* empty gives "" */
    assert_string_equal(s, "");
    assert_int_equal(len, 0);
    free(s);
    paved_buf_dispose(&b);
    paved_buf_dispose(NULL);
}

static void
test_cap_is_hard(void **state)
{
    struct paved_buf b = PAVED_BUF_INIT(8);

    (void)state;
    assert_int_equal(paved_buf_puts(&b, "12345678"), 0);
    /* one more byte is refused and the contents stay as they were */
    assert_int_equal(paved_buf_putc(&b, '9'), PAVED_ETOOBIG);
    assert_string_equal(b.b_ptr, "12345678");
    assert_int_equal(paved_buf_printf(&b, "%s", "x"), PAVED_ETOOBIG);
    assert_int_equal(b.b_len, 8);
    /* a huge length must not wrap around */
    assert_int_equal(paved_buf_put(&b, "x", SIZE_MAX), PAVED_ETOOBIG);
    assert_non_null(strstr(paved_error_last(), "cap"));
    paved_buf_dispose(&b);
}

static void
test_grows_past_initial(void **state)
{
    struct paved_buf b;
    int i;

    (void)state;
    paved_buf_init(&b, 1 << 20);
    for (i = 0; i < 10000; i++)
        assert_int_equal(paved_buf_putc(&b, (char)('a' + i % 26)), 0);
    assert_int_equal(b.b_len, 10000);
    assert_int_equal(b.b_ptr[9999], 'a' + 9999 % 26);
    assert_true(b.b_cap > b.b_len);
    paved_buf_dispose(&b);
}

static void
test_json_string(void **state)
{
    struct paved_buf b = PAVED_BUF_INIT(256);

    (void)state;
    assert_int_equal(
        paved_buf_put_json_string(&b, "a\"b\\c\nd\te\x01\x1f\b\f \xc3\xa9"), 0);
    assert_string_equal(b.b_ptr,
                        "\"a\\\"b\\\\c\\nd\\te\\u0001\\u001F\\b\\f \xc3\xa9\"");
    paved_buf_dispose(&b);
}

static void *
error_thread(void *arg)
{
    (void)arg;
    paved_error_set(PAVED_EINVAL, "from the other thread");
    return NULL;
}

static void
test_error_is_per_thread(void **state)
{
    pthread_t t;

    (void)state;
    assert_int_equal(paved_error_set(PAVED_EAUTH, "bad %s", "signature"),
                     PAVED_EAUTH);
    assert_string_equal(paved_error_last(), "bad signature");
    assert_int_equal(pthread_create(&t, NULL, error_thread, NULL), 0);
    pthread_join(t, NULL);
    assert_string_equal(paved_error_last(), "bad signature");
    paved_error_clear();
    assert_string_equal(paved_error_last(), "no error message");
    assert_string_equal(paved_error_name(PAVED_EUNAVAILABLE), "EUNAVAILABLE");
    assert_string_equal(paved_error_name(-999), "ERROR");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_and_terminate),
        cmocka_unit_test(test_cap_is_hard),
        cmocka_unit_test(test_grows_past_initial),
        cmocka_unit_test(test_json_string),
        cmocka_unit_test(test_error_is_per_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
