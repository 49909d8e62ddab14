/* Unit tests for src/core/jscan.c: what is valid JSON and what is not
 * (each case also checked against jansson, which the scanner mirrors),
 * the "byte N: ..." messages, path extraction (nesting, absence, duplicate
 * keys, arrays, escapes), the readers, duplicate refusal, and every real
 * forge payload we keep. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <jansson.h>

#include "paved/error.h"
#include "paved/jscan.h"

struct jcase {
    const char *doc;
    size_t len; /* 0: strlen(doc) */
};

#define J(s)                                                                   \
    {                                                                          \
        (s), sizeof(s) - 1                                                     \
    }

/* Every one is an object document that jansson accepts too. */
static const struct jcase valid[] = {
    J("{}"),
    J(" \t\r\n{ } \n"),
    J("{\"a\":[]}"),
    J("{\"a\":{}}"),
    J("{\"\":1}"),
    J("{\"a\":[1,-0,0,0.5e-3,1E+2,-1.25,10e-2,0e0,1e00001]}"),
    J("{\"a\":\"\\u00e9\\ud83d\\ude00\\/\\b\\f\\n\\r\\t\\\"\\\\\"}"),
    J("{\"a\":\"\\uD83D\\uDE00 \\uFFFF \\u0001\"}"),
    J("{\"a\":\"\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf "
      "\xef\xbf\xbf \xed\x9f\xbf \xee\x80\x80\"}"),
    J("{\"a\":\"\x7f\"}"),
    J("{\"a\":1e-400,\"b\":-1e-99999999999999999999,\"c\":0e99999}"),
    J("{\"a\":0.000000000000000000000000000000000000000000001e350}"),
    J("{\"a\":-9223372036854775808,\"b\":9223372036854775807}"),
    J("{\"a\":1.7976931348623157e308,\"b\":-1.7976931348623158e308}"),
    J("{\"a\":1.797693134862315807937289714053e308}"),
    J("{\"a\":17976931348623157e292,\"b\":0.17976931348623157e309}"),
    J("{\"a\":true,\"b\":false,\"c\":null,\"d\":[true,false,null]}"),
    J("{ \"a\" : [ 1 , { \"b\" : \"c\" } ] , \"d\" : 2 }"),
    J("{\"a\":1,\"a\":2}"),
    J("{\"\xc3\xa9\":\"\\\"\"}"),
    J("{\"a\":\"\"}"),
};

/* Not valid JSON (or not an object at the top): refused. */
static const struct jcase invalid[] = {
    J(""),
    J(" \n\t"),
    J("[]"),
    J("[1,2]"),
    J("\"a\""),
    J("1"),
    J("null"),
    J("{"),
    J("{\"a\""),
    J("{\"a\"}"),
    J("{\"a\":}"),
    J("{\"a\" 1}"),
    J("{\"a\":1,}"),
    J("{,}"),
    J("{\"a\":1 \"b\":2}"),
    J("{\"a\":[1,]}"),
    J("{\"a\":[1 2]}"),
    J("{\"a\":[,1]}"),
    J("{\"a\":[}"),
    J("{\"a\":{]}"),
    J("{\"a\":1}}"),
    J("{\"a\":1} x"),
    J("{\"a\":1}{}"),
    J("{a:1}"),
    J("{'a':1}"),
    J("{1:1}"),
    J("{\"a\":01}"),
    J("{\"a\":-01}"),
    J("{\"a\":00}"),
    J("{\"a\":+1}"),
    J("{\"a\":.5}"),
    J("{\"a\":1.}"),
    J("{\"a\":1.e5}"),
    J("{\"a\":1e}"),
    J("{\"a\":1e+}"),
    J("{\"a\":-}"),
    J("{\"a\":--1}"),
    J("{\"a\":1.5.3}"),
    J("{\"a\":0x10}"),
    J("{\"a\":Infinity}"),
    J("{\"a\":NaN}"),
    J("{\"a\":9223372036854775808}"),
    J("{\"a\":-9223372036854775809}"),
    J("{\"a\":100000000000000000000}"),
    J("{\"a\":1e309}"),
    J("{\"a\":-1e400}"),
    J("{\"a\":1.8e308}"),
    J("{\"a\":1.7976931348623159e308}"),
    J("{\"a\":1.7976931348623158079372897140530342e308}"),
    J("{\"a\":1e99999999999999999999999}"),
    J("{\"a\":tru}"),
    J("{\"a\":truex}"),
    J("{\"a\":True}"),
    J("{\"a\":nul}"),
    J("{\"a\":fals}"),
    J("{\"a\":\"\x01\"}"),
    J("{\"a\":\"\x1f\"}"),
    J("{\"a\":\"line\nbreak\"}"),
    J("{\"a\":\"tab\there\"}"),
    J("{\"a\":\"\\u0000\"}"),
    J("{\"\\u0000\":1}"),
    J("{\"a\":\"\\ud800\"}"),
    J("{\"a\":\"\\udc00\"}"),
    J("{\"a\":\"\\ude00\\ud83d\"}"),
    J("{\"a\":\"\\ud800\\u0041\"}"),
    J("{\"a\":\"\\ud800\\ud800\"}"),
    J("{\"a\":\"\\ud800x\"}"),
    J("{\"a\":\"\\ud800\\n\"}"),
    J("{\"a\":\"\\x\"}"),
    J("{\"a\":\"\\U0041\"}"),
    J("{\"a\":\"\\u12\"}"),
    J("{\"a\":\"\\u12g4\"}"),
    J("{\"a\":\"\\"),
    J("{\"a\":\"abc"),
    J("{\"a\":\"\xc0\xaf\"}"),
    J("{\"a\":\"\xc1\xbf\"}"),
    J("{\"a\":\"\xe0\x80\xaf\"}"),
    J("{\"a\":\"\xe0\x9f\xbf\"}"),
    J("{\"a\":\"\xf0\x80\x80\xaf\"}"),
    J("{\"a\":\"\xf0\x8f\xbf\xbf\"}"),
    J("{\"a\":\"\xed\xa0\x80\"}"),
    J("{\"a\":\"\xed\xbf\xbf\"}"),
    J("{\"a\":\"\xf4\x90\x80\x80\"}"),
    J("{\"a\":\"\xf5\x80\x80\x80\"}"),
    J("{\"a\":\"\xff\"}"),
    J("{\"a\":\"\x80\"}"),
    J("{\"a\":\"\xc3\"}"),
    J("{\"a\":\"\xe2\x82\"}"),
    J("{\"a\":\"\xc3\x28\"}"),
    J("{\"a\":\"\xc3"),
    J("\xef\xbb\xbf{}"),
    J("{\"a\":1\xc3\xa9}"),
    J("{\"a\":\f1}"),
    J("{\"a\":\v1}"),
    J("{\"a\":1}\0"),
    J("\0{}"),
    J("{\"a\":\"\0\"}"),
};

static void
expect_valid(const char *doc, size_t len)
{
    json_error_t jerr;
    json_t *root;

    if (paved_jscan((const unsigned char *)doc, len, NULL, 0) != 0)
        fail_msg("refused %.*s: %s", (int)len, doc, paved_error_last());
    root = json_loadb(doc, len, 0, &jerr);
    if (root == NULL || !json_is_object(root))
        fail_msg("jansson refuses %.*s", (int)len, doc);
    json_decref(root);
}

static void
expect_invalid(const char *doc, size_t len)
{
    json_error_t jerr;
    json_t *root;
    const char *msg;

    if (paved_jscan((const unsigned char *)doc, len, NULL, 0) != PAVED_EINVAL)
        fail_msg("accepted %.*s", (int)len, doc);
    msg = paved_error_last();
    if (strncmp(msg, "byte ", 5) != 0)
        fail_msg("message \"%s\" for %.*s", msg, (int)len, doc);
    root = json_loadb(doc, len, 0, &jerr);
    if (root != NULL && json_is_object(root))
        fail_msg("jansson accepts %.*s", (int)len, doc);
    json_decref(root);
}

static void
test_valid(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
        expect_valid(valid[i].doc, valid[i].len);
}

static void
test_invalid(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
        expect_invalid(invalid[i].doc, invalid[i].len);
}

/* jansson skips one NUL byte right after a number or literal; we do not */
static void
test_nul_after_token(void **state)
{
    static const char doc[] = "{\"a\":1\0,\"b\":true\0}";
    json_error_t jerr;
    json_t *root;

    (void)state;
    root = json_loadb(doc, sizeof(doc) - 1, 0, &jerr);
    assert_non_null(root); /* the artefact: if this fails, jansson changed */
    json_decref(root);
    assert_int_equal(
        paved_jscan((const unsigned char *)doc, sizeof(doc) - 1, NULL, 0),
        PAVED_EINVAL);
    assert_string_equal(paved_error_last(), "byte 6: expected ',' or '}'");
}

/* {"a": then n arrays, inner, n closing, } */
static char *
nested(size_t n, const char *inner, size_t *len)
{
    size_t il = strlen(inner), i, o = 0;
    char *s = malloc(2 * n + il + 8);

    assert_non_null(s);
    memcpy(s, "{\"a\":", 5);
    o = 5;
    for (i = 0; i < n; i++)
        s[o++] = '[';
    memcpy(s + o, inner, il);
    o += il;
    for (i = 0; i < n; i++)
        s[o++] = ']';
    s[o++] = '}';
    s[o] = '\0';
    *len = o;
    return s;
}

static void
test_depth(void **state)
{
    size_t len;
    char *s;

    (void)state;
    /* the root object is level 1, the innermost empty array 2048 */
    s = nested(2047, "", &len);
    expect_valid(s, len);
    free(s);
    s = nested(2048, "", &len);
    expect_invalid(s, len);
    assert_string_equal(paved_error_last(),
                        "byte 2052: nested deeper than 2048 levels");
    free(s);
    /* a scalar counts as a level too */
    s = nested(2046, "1", &len);
    expect_valid(s, len);
    free(s);
    s = nested(2047, "1", &len);
    expect_invalid(s, len);
    free(s);
    /* deep but unterminated: no recursion, just an error */
    s = nested(100000, "", &len);
    s[100000 + 5] = '\0';
    expect_invalid(s, 100000 + 5);
    free(s);
}

static void
expect_message(const char *doc, const char *msg)
{
    assert_int_equal(
        paved_jscan((const unsigned char *)doc, strlen(doc), NULL, 0),
        PAVED_EINVAL);
    assert_string_equal(paved_error_last(), msg);
}

static void
test_messages(void **state)
{
    (void)state;
    expect_message("", "byte 0: empty document");
    expect_message("  [1]", "byte 2: top level is not an object");
    expect_message("{\"a\":\"abc", "byte 5: unterminated string");
    expect_message("{\"a\":01}", "byte 5: leading zero in number");
    expect_message("{\"a\":1e400}", "byte 5: real number overflow");
    expect_message("{\"a\":9223372036854775808}",
                   "byte 5: integer out of range");
    expect_message("{\"a\":\"x\\ud800\"}",
                   "byte 7: high surrogate without a low one");
    expect_message("{\"a\":\"x\\udc00\"}", "byte 7: lone low surrogate");
    expect_message("{\"a\":\"\\u0000\"}", "byte 6: \\u0000 is not allowed");
    expect_message("{\"a\":\"\\q\"}", "byte 6: invalid escape");
    expect_message("{\"a\":\"\x01\"}", "byte 6: control character in string");
    expect_message("{\"a\":\"\xc0\xaf\"}", "byte 6: invalid UTF-8");
    expect_message("{\"a\":1} x", "byte 8: trailing characters after the "
                                  "top-level object");
    expect_message("{\"a\" 1}", "byte 5: expected ':'");
    expect_message("{\"a\":1,}", "byte 7: expected a string key");
    expect_message("{\"a\":[1}", "byte 7: expected ',' or ']'");
    expect_message("{\"a\":tru}", "byte 5: invalid literal");
    expect_message("{\"a\":", "byte 5: unexpected end of input");
    expect_message("{\"a\":?}",
                   "byte 5: unexpected character, expected a value");
}

#define NF(a) (sizeof(a) / sizeof((a)[0]))

static int
scan(const char *doc, struct paved_jscan_field *f, size_t n)
{
    return paved_jscan((const unsigned char *)doc, strlen(doc), f, n);
}

static void
assert_span(const struct paved_jscan_field *f, enum paved_json_type type,
            const char *text)
{
    if (f->jf_type != type)
        fail_msg("%s: type %d, want %d", f->jf_path, f->jf_type, type);
    if (text == NULL) {
        assert_null(f->jf_start);
        assert_int_equal(f->jf_len, 0);
        return;
    }
    assert_non_null(f->jf_start);
    if (f->jf_len != strlen(text) || memcmp(f->jf_start, text, f->jf_len))
        fail_msg("%s: span \"%.*s\", want \"%s\"", f->jf_path, (int)f->jf_len,
                 (const char *)f->jf_start, text);
}

static void
test_paths(void **state)
{
    static const char doc[] =
        " {\"ref\":\"refs/heads/main\",\"n\":-12,\"ok\":true,\"no\":false,"
        "\"nil\":null,\"repository\":{\"full_name\":\"o/r\",\"id\":7,"
        "\"owner\":{\"login\":\"me\",\"x\":[1]},\"topics\":[\"a\"]},"
        "\"sender\":{}} ";
    struct paved_jscan_field f[] = {
        {.jf_path = "ref"},
        {.jf_path = "n"},
        {.jf_path = "ok"},
        {.jf_path = "no"},
        {.jf_path = "nil"},
        {.jf_path = "repository.full_name"},
        {.jf_path = "repository.owner.login"},
        {.jf_path = "repository.owner"},
        {.jf_path = "repository.topics"},
        {.jf_path = "repository.missing"},
        {.jf_path = "missing"},
        {.jf_path = "ref.x"},
        {.jf_path = "sender"},
        {.jf_path = "sender.login"},
        {.jf_path = ""},
        {.jf_path = "repository.id"},
        {.jf_path = "repository.owner.x.0"},
    };

    (void)state;
    assert_int_equal(scan(doc, f, NF(f)), 0);
    assert_span(&f[0], PAVED_JSON_STRING, "refs/heads/main");
    assert_int_equal(f[0].jf_escaped, 0);
    assert_span(&f[1], PAVED_JSON_NUMBER, "-12");
    assert_span(&f[2], PAVED_JSON_TRUE, "true");
    assert_span(&f[3], PAVED_JSON_FALSE, "false");
    assert_span(&f[4], PAVED_JSON_NULL, "null");
    assert_span(&f[5], PAVED_JSON_STRING, "o/r");
    assert_span(&f[6], PAVED_JSON_STRING, "me");
    assert_span(&f[7], PAVED_JSON_OBJECT, "{\"login\":\"me\",\"x\":[1]}");
    assert_span(&f[8], PAVED_JSON_ARRAY, "[\"a\"]");
    assert_span(&f[9], PAVED_JSON_ABSENT, NULL);
    assert_span(&f[10], PAVED_JSON_ABSENT, NULL);
    assert_span(&f[11], PAVED_JSON_ABSENT, NULL);
    assert_span(&f[12], PAVED_JSON_OBJECT, "{}");
    assert_span(&f[13], PAVED_JSON_ABSENT, NULL);
    /* the root: from its '{' to its '}', without the blanks around */
    assert_int_equal(f[14].jf_type, PAVED_JSON_OBJECT);
    assert_ptr_equal(f[14].jf_start, (const unsigned char *)doc + 1);
    assert_int_equal(f[14].jf_len, strlen(doc) - 2);
    assert_span(&f[15], PAVED_JSON_NUMBER, "7");
    assert_span(&f[16], PAVED_JSON_ABSENT, NULL); /* no array indexes */
}

static void
test_siblings_and_arrays(void **state)
{
    struct paved_jscan_field f[] = {
        {.jf_path = "a.b"},
        {.jf_path = "c.d"},
        {.jf_path = "a"},
    };

    (void)state;
    /* a "b" in a sibling or a deeper object is not a.b */
    assert_int_equal(scan("{\"x\":{\"b\":1},\"a\":{\"c\":{\"b\":2}},"
                          "\"c\":{\"e\":{\"d\":3}}}",
                          f, NF(f)),
                     0);
    assert_span(&f[0], PAVED_JSON_ABSENT, NULL);
    assert_span(&f[1], PAVED_JSON_ABSENT, NULL);
    assert_span(&f[2], PAVED_JSON_OBJECT, "{\"c\":{\"b\":2}}");
    /* arrays are not descended, even into objects inside them */
    assert_int_equal(scan("{\"a\":[{\"b\":1}],\"c\":[{\"d\":2}]}", f, NF(f)),
                     0);
    assert_span(&f[0], PAVED_JSON_ABSENT, NULL);
    assert_span(&f[1], PAVED_JSON_ABSENT, NULL);
    assert_span(&f[2], PAVED_JSON_ARRAY, "[{\"b\":1}]");
    /* after leaving a.*, c.d is still found */
    assert_int_equal(
        scan("{\"a\":{\"b\":{\"z\":[1,{}]}},\"c\":{\"d\":\"x\"}}", f, NF(f)),
        0);
    assert_span(&f[0], PAVED_JSON_OBJECT, "{\"z\":[1,{}]}");
    assert_span(&f[1], PAVED_JSON_STRING, "x");
}

static void
test_duplicates_last_wins(void **state)
{
    struct paved_jscan_field f[] = {
        {.jf_path = "a"},
        {.jf_path = "a.b"},
        {.jf_path = "a.c"},
    };

    (void)state;
    assert_int_equal(scan("{\"a\":1,\"a\":\"two\"}", f, NF(f)), 0);
    assert_span(&f[0], PAVED_JSON_STRING, "two");
    assert_span(&f[1], PAVED_JSON_ABSENT, NULL);
    /* the later "a" replaces the whole earlier object, as in jansson */
    assert_int_equal(scan("{\"a\":{\"b\":1},\"a\":{\"c\":2}}", f, NF(f)), 0);
    assert_span(&f[0], PAVED_JSON_OBJECT, "{\"c\":2}");
    assert_span(&f[1], PAVED_JSON_ABSENT, NULL);
    assert_span(&f[2], PAVED_JSON_NUMBER, "2");
    assert_int_equal(scan("{\"a\":{\"b\":1},\"a\":3}", f, NF(f)), 0);
    assert_span(&f[0], PAVED_JSON_NUMBER, "3");
    assert_span(&f[1], PAVED_JSON_ABSENT, NULL);
    assert_int_equal(scan("{\"a\":{\"b\":1,\"b\":null}}", f, NF(f)), 0);
    assert_span(&f[1], PAVED_JSON_NULL, "null");
    /* an escaped spelling of the same key is the same key */
    assert_int_equal(scan("{\"a\":{\"b\":1},\"\\u0061\":{\"b\":2}}", f, NF(f)),
                     0);
    assert_span(&f[1], PAVED_JSON_NUMBER, "2");
}

static void
test_escapes(void **state)
{
    struct paved_jscan_field f[] = {
        {.jf_path = "ref"},      {.jf_path = "a\"b"}, {.jf_path = "s"},
        {.jf_path = "\xc3\xa9"}, {.jf_path = "a\\b"},
    };
    char *s;
    size_t len;

    (void)state;
    assert_int_equal(scan("{\"r\\u0065f\":\"v\",\"a\\\"b\":1,"
                          "\"s\":\"x\\ud83d\\ude00\\u00e9\\n\\\"\\\\\\/\","
                          "\"\\u00E9\":\"\xc3\xa9\",\"a\\\\b\":2}",
                          f, NF(f)),
                     0);
    assert_span(&f[0], PAVED_JSON_STRING, "v");
    assert_span(&f[1], PAVED_JSON_NUMBER, "1");
    assert_int_equal(f[2].jf_type, PAVED_JSON_STRING);
    assert_int_equal(f[2].jf_escaped, 1);
    assert_int_equal(paved_jscan_string(&s, &len, &f[2]), 0);
    assert_int_equal(len, 11);
    assert_memory_equal(s, "x\xf0\x9f\x98\x80\xc3\xa9\n\"\\/", 12);
    free(s);
    assert_span(&f[3], PAVED_JSON_STRING, "\xc3\xa9");
    assert_int_equal(f[3].jf_escaped, 0);
    assert_span(&f[4], PAVED_JSON_NUMBER, "2");
    assert_int_equal(paved_jscan_string(&s, NULL, &f[3]), 0);
    assert_string_equal(s, "\xc3\xa9");
    free(s);
    assert_true(paved_jscan_streq(&f[0], "v"));
    assert_false(paved_jscan_streq(&f[0], "vv"));
    assert_false(paved_jscan_streq(&f[0], ""));
    assert_true(paved_jscan_streq(&f[2], "x\xf0\x9f\x98\x80\xc3\xa9\n\"\\/"));
    assert_false(paved_jscan_streq(&f[2], "x\xf0\x9f\x98\x80\xc3\xa9\n\"\\"));
    assert_false(paved_jscan_streq(&f[1], "1"));
}

static void
test_readers(void **state)
{
    struct paved_jscan_field f[] = {
        {.jf_path = "i"},   {.jf_path = "neg"}, {.jf_path = "real"},
        {.jf_path = "exp"}, {.jf_path = "t"},   {.jf_path = "s"},
        {.jf_path = "min"}, {.jf_path = "max"}, {.jf_path = "none"},
        {.jf_path = "f"},
    };
    struct paved_jscan_field forged = {.jf_path = "forged"};
    long long v;
    char *s;
    int b;

    (void)state;
    assert_int_equal(scan("{\"i\":42,\"neg\":-0,\"real\":1.0,\"exp\":1e3,"
                          "\"t\":true,\"s\":\"str\",\"f\":false,"
                          "\"min\":-9223372036854775808,"
                          "\"max\":9223372036854775807}",
                          f, NF(f)),
                     0);
    assert_int_equal(paved_jscan_int(&v, &f[0]), 0);
    assert_int_equal(v, 42);
    assert_int_equal(paved_jscan_int(&v, &f[1]), 0);
    assert_int_equal(v, 0);
    assert_int_equal(paved_jscan_int(&v, &f[2]), PAVED_EINVAL);
    assert_string_equal(paved_error_last(), "real: not an integer in range");
    assert_int_equal(paved_jscan_int(&v, &f[3]), PAVED_EINVAL);
    assert_int_equal(paved_jscan_int(&v, &f[4]), PAVED_EINVAL);
    assert_int_equal(paved_jscan_int(&v, &f[6]), 0);
    assert_true(v == INT64_MIN);
    assert_int_equal(paved_jscan_int(&v, &f[7]), 0);
    assert_true(v == INT64_MAX);
    assert_int_equal(paved_jscan_int(&v, &f[8]), PAVED_EINVAL);
    assert_int_equal(paved_jscan_bool(&b, &f[4]), 0);
    assert_int_equal(b, 1);
    assert_int_equal(paved_jscan_bool(&b, &f[9]), 0);
    assert_int_equal(b, 0);
    assert_int_equal(paved_jscan_bool(&b, &f[5]), PAVED_EINVAL);
    assert_string_equal(paved_error_last(), "s: not a boolean");
    assert_int_equal(paved_jscan_string(&s, NULL, &f[0]), PAVED_EINVAL);
    assert_null(s);
    assert_string_equal(paved_error_last(), "i: not a string");
    assert_int_equal(paved_jscan_string(&s, NULL, &f[8]), PAVED_EINVAL);
    /* readers check spans that did not come from a scan, too */
    forged.jf_type = PAVED_JSON_STRING;
    forged.jf_start = (const unsigned char *)"a\\u0000b";
    forged.jf_len = 8;
    assert_int_equal(paved_jscan_string(&s, NULL, &forged), PAVED_EINVAL);
    forged.jf_start = (const unsigned char *)"a\\";
    forged.jf_len = 2;
    assert_int_equal(paved_jscan_string(&s, NULL, &forged), PAVED_EINVAL);
    forged.jf_type = PAVED_JSON_NUMBER;
    forged.jf_start = (const unsigned char *)"99999999999999999999";
    forged.jf_len = 20;
    assert_int_equal(paved_jscan_int(&v, &forged), PAVED_EINVAL);
}

static void
test_error_resets_fields(void **state)
{
    struct paved_jscan_field f[] = {{.jf_path = "a"}, {.jf_path = ""}};

    (void)state;
    assert_int_equal(scan("{\"a\":\"x\",\"b\":01}", f, NF(f)), PAVED_EINVAL);
    assert_span(&f[0], PAVED_JSON_ABSENT, NULL);
    assert_span(&f[1], PAVED_JSON_ABSENT, NULL);
    assert_int_equal(paved_jscan(NULL, 0, f, NF(f)), PAVED_EINVAL);
    /* a field set up before is overwritten, not trusted */
    f[0].jf_type = PAVED_JSON_TRUE;
    f[0].jf_matched = 5;
    assert_int_equal(scan("{\"a\":1}", f, NF(f)), 0);
    assert_span(&f[0], PAVED_JSON_NUMBER, "1");
}

static int
scan_dups(const char *doc)
{
    return paved_jscan_ext((const unsigned char *)doc, strlen(doc), NULL, 0,
                           PAVED_JSCAN_REJECT_DUPLICATES);
}

static void
test_reject_duplicates(void **state)
{
    struct {
        char *s;
        size_t n;
    } b;
    size_t i, cap = 20 * 1100 + 64;

    (void)state;
    assert_int_equal(scan_dups("{\"a\":1,\"a\":2}"), PAVED_EINVAL);
    assert_string_equal(paved_error_last(), "byte 7: duplicate key");
    assert_int_equal(scan_dups("{\"a\":1,\"\\u0061\":2}"), PAVED_EINVAL);
    assert_int_equal(scan_dups("{\"x\":{\"k\":1,\"j\":2,\"k\":3}}"),
                     PAVED_EINVAL);
    assert_int_equal(scan_dups("{\"a\":{\"a\":1},\"b\":{\"a\":1},\"c\":[{\"a\":"
                               "1},{\"a\":2}]}"),
                     0);
    assert_int_equal(scan_dups("{\"a\":{\"x\":1},\"x\":2,\"y\":{\"x\":{}}}"),
                     0);
    assert_int_equal(scan_dups("{\"abcdefghijkl\":1,\"abcdefghijkm\":2}"), 0);
    assert_int_equal(scan_dups("{\"abcdefghijkl\":1,\"abcdefgh\\u0069jkl\":2}"),
                     PAVED_EINVAL);
    /* without the flag the same document is fine */
    assert_int_equal(
        paved_jscan((const unsigned char *)"{\"a\":1,\"a\":2}", 13, NULL, 0),
        0);

    /* 1024 keys open at once are tracked, 1025 are too many */
    b.s = malloc(cap);
    assert_non_null(b.s);
    b.n = 0;
    b.s[b.n++] = '{';
    for (i = 0; i < 1024; i++)
        b.n += (size_t)snprintf(b.s + b.n, cap - b.n, "%s\"k%zu\":%zu",
                                i ? "," : "", i, i);
    b.s[b.n++] = '}';
    b.s[b.n] = '\0';
    assert_int_equal(scan_dups(b.s), 0);
    b.n--;
    b.n += (size_t)snprintf(b.s + b.n, cap - b.n, ",\"k1024\":0}");
    assert_int_equal(scan_dups(b.s), PAVED_ETOOBIG);
    /* ... but only while open: many small objects are fine */
    b.n = 0;
    b.s[b.n++] = '{';
    for (i = 0; i < 1000; i++)
        b.n +=
            (size_t)snprintf(b.s + b.n, cap - b.n,
                             "%s\"o%zu\":{\"a\":1,\"b\":2}", i ? "," : "", i);
    b.s[b.n++] = '}';
    b.s[b.n] = '\0';
    assert_int_equal(scan_dups(b.s), 0);
    free(b.s);
}

static unsigned char *
load(const char *path, size_t *len)
{
    unsigned char *buf;
    long size;
    FILE *fp;

    if ((fp = fopen(path, "rb")) == NULL)
        return NULL;
    fseek(fp, 0, SEEK_END);
    size = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    buf = malloc((size_t)size + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)size, fp), (size_t)size);
    fclose(fp);
    *len = (size_t)size;
    return buf;
}

/* every .json in dir scans, and a few paths agree with jansson */
static size_t
scan_dir(const char *base, const char *rel)
{
    static const char *const paths[] = {
        "ref",
        "after",
        "repository.full_name",
        "repository",
        "action",
        "pull_request.number",
        "project.path_with_namespace",
        "object_attributes.iid",
        "sender.login",
        "commits",
    };
    struct paved_jscan_field f[NF(paths)];
    char dir[4096], path[4096 + 260];
    struct dirent *de;
    size_t n = 0, i, len = 0;
    unsigned char *doc;
    DIR *d;

    snprintf(dir, sizeof(dir), "%s/%s", base, rel);
    if ((d = opendir(dir)) == NULL)
        fail_msg("cannot open %s", dir);
    while ((de = readdir(d)) != NULL) {
        json_error_t jerr;
        json_t *root, *v;
        size_t l = strlen(de->d_name);

        if (l < 5 || strcmp(de->d_name + l - 5, ".json") != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        assert_non_null(doc = load(path, &len));
        memset(f, 0, sizeof(f));
        for (i = 0; i < NF(paths); i++)
            f[i].jf_path = paths[i];
        if (paved_jscan_ext(doc, len, f, NF(f),
                            PAVED_JSCAN_REJECT_DUPLICATES) != 0)
            fail_msg("%s: %s", path, paved_error_last());
        assert_non_null(root = json_loadb((const char *)doc, len, 0, &jerr));
        for (i = 0; i < NF(paths); i++) {
            const char *dot = strchr(paths[i], '.');
            char first[64];

            if (dot != NULL) {
                memcpy(first, paths[i], (size_t)(dot - paths[i]));
                first[dot - paths[i]] = '\0';
                v = json_object_get(json_object_get(root, first), dot + 1);
            } else {
                v = json_object_get(root, paths[i]);
            }
            if ((v == NULL) != (f[i].jf_type == PAVED_JSON_ABSENT))
                fail_msg("%s: %s found by one side only", path, paths[i]);
            if (json_is_string(v)) {
                char *s;

                assert_int_equal(paved_jscan_string(&s, NULL, &f[i]), 0);
                assert_string_equal(s, json_string_value(v));
                free(s);
            } else if (json_is_integer(v)) {
                long long x;

                assert_int_equal(paved_jscan_int(&x, &f[i]), 0);
                assert_true(x == json_integer_value(v));
            }
        }
        json_decref(root);
        free(doc);
        n++;
    }
    closedir(d);
    return n;
}

static void
test_real_payloads(void **state)
{
    const char *shared = getenv("PAVED_SHARED_DIR");
    const char *src = getenv("PAVED_SOURCE_DIR");
    size_t n;

    (void)state;
    if (shared == NULL)
        shared = "../shared";
    if (src == NULL)
        src = ".";
    n = scan_dir(shared, "corpus/gitea");
    n += scan_dir(shared, "corpus/gitlab");
    n += scan_dir(src, "tests/fixtures/github");
    n += scan_dir(src, "bench");
    assert_true(n >= 10);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_nul_after_token),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_messages),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_siblings_and_arrays),
        cmocka_unit_test(test_duplicates_last_wins),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_readers),
        cmocka_unit_test(test_error_resets_fields),
        cmocka_unit_test(test_reject_duplicates),
        cmocka_unit_test(test_real_payloads),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
