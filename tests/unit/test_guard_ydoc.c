/* Unit tests for the guardrails' YAML reader: multi-document trees with
 * lines and columns, the accessors (numbers and booleans as Kubernetes
 * reads them), and what it refuses: syntax errors at their line,
 * aliases, merge keys, a key twice, NUL in a value, deep nesting, too
 * many values and too much input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "guard/guard_int.h"
#include "paved/error.h"

static size_t
load_ok(struct ydoc ***docs, const char *text)
{
    unsigned line = 99;
    size_t n = 99;

    if (guard_ydoc_load(docs, &n, &line, text, strlen(text)) != 0)
        fail_msg("load: %s (line %u)", paved_error_last(), line);
    assert_int_equal(line, 0);
    return n;
}

/* Loads text that must fail with code at line; returns how many
 * documents came before, and checks the message names the fix. */
static size_t
load_fail(const char *text, size_t len, int code, unsigned want_line,
          const char *want_msg)
{
    struct ydoc **docs = NULL;
    unsigned line = 99;
    size_t n = 99;

    assert_int_equal(guard_ydoc_load(&docs, &n, &line, text, len), code);
    assert_int_equal(line, want_line);
    if (strstr(paved_error_last(), want_msg) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", paved_error_last(), want_msg);
    guard_ydoc_free_all(docs, n);
    return n;
}

static void
test_multi_document(void **state)
{
    static const char y[] = "# a comment before anything\n"
                            "---\n"
                            "apiVersion: v1\n"
                            "kind: Pod\n"
                            "metadata:\n"
                            "  name: \"web\"\n"
                            "  labels: {app: web, tier: ''}\n"
                            "spec:\n"
                            "  containers:\n"
                            "    - name: api\n"
                            "      args: [a, 'b', ~]\n"
                            "---\n"
                            "---\n"
                            "# only a comment\n"
                            "...\n"
                            "--- plain\n"
                            "---\n"
                            "- 1\n"
                            "- null\n";
    struct ydoc **docs = NULL;
    const struct ydoc *d, *v, *args;
    size_t n;

    (void)state;
    n = load_ok(&docs, y);
    assert_int_equal(n, 3); /* two empty documents skipped */
    d = docs[0];
    assert_int_equal(d->yd_type, YD_MAP);
    assert_int_equal(d->yd_line, 3);
    assert_int_equal(d->yd_col, 1);
    assert_int_equal(d->yd_n, 8);
    assert_string_equal(guard_ydoc_str(guard_ydoc_get(d, "kind")), "Pod");
    assert_int_equal(guard_ydoc_key(d, "kind")->yd_line, 4);
    v = guard_ydoc_at(d, "metadata", "name", NULL);
    assert_string_equal(guard_ydoc_str(v), "web");
    assert_false(v->yd_plain);
    assert_int_equal(v->yd_line, 6);
    assert_int_equal(v->yd_col, 9);
    v = guard_ydoc_at(d, "metadata", "labels", "tier", NULL);
    assert_non_null(v);
    assert_false(v->yd_null); /* '' is an empty string, not null */
    assert_string_equal(guard_ydoc_str(v), "");
    v = guard_ydoc_at(d, "spec", "containers", NULL);
    assert_int_equal(v->yd_type, YD_SEQ);
    assert_int_equal(v->yd_n, 1);
    assert_int_equal(v->yd_items[0]->yd_line, 10);
    assert_int_equal(v->yd_items[0]->yd_col, 7);
    args = guard_ydoc_get(v->yd_items[0], "args");
    assert_int_equal(args->yd_n, 3);
    assert_true(args->yd_items[0]->yd_plain);
    assert_false(args->yd_items[1]->yd_plain);
    assert_true(args->yd_items[2]->yd_null);
    assert_null(guard_ydoc_str(args->yd_items[2]));
    assert_int_equal(args->yd_items[1]->yd_len, 1);
    /* misses */
    assert_null(guard_ydoc_get(d, "nope"));
    assert_null(guard_ydoc_get(args, "kind")); /* not a map */
    assert_null(guard_ydoc_get(NULL, "kind"));
    assert_null(guard_ydoc_at(d, "spec", "nope", "deeper", NULL));
    assert_ptr_equal(guard_ydoc_at(d, NULL), d);
    assert_null(guard_ydoc_str(d)); /* not a scalar */
    assert_null(guard_ydoc_str(NULL));
    /* "--- plain": a scalar document; then a sequence */
    assert_int_equal(docs[1]->yd_type, YD_SCALAR);
    assert_string_equal(docs[1]->yd_value, "plain");
    assert_int_equal(docs[1]->yd_line, 16);
    assert_int_equal(docs[2]->yd_type, YD_SEQ);
    assert_int_equal(docs[2]->yd_line, 18);
    guard_ydoc_free_all(docs, n);

    n = load_ok(&docs, "");
    assert_int_equal(n, 0);
    guard_ydoc_free_all(docs, n);
    n = load_ok(&docs, "# nothing\n---\n...\n");
    assert_int_equal(n, 0);
    guard_ydoc_free_all(docs, n);
    guard_ydoc_free_all(NULL, 0);
    guard_ydoc_free(NULL);
}

static void
test_int(void **state)
{
    static const struct {
        const char *yaml;
        int ok;
        long long want;
    } cases[] = {
        {"v: 10", 1, 10},
        {"v: -5", 1, -5},
        {"v: +7", 1, 7},
        {"v: \"600\"", 1, 600},
        {"v: '010'", 1, 10}, /* quoted: decimal */
        {"v: 010", 1, 8},    /* plain: octal, as go-yaml v2 reads it */
        {"v: 0o17", 1, 15},
        {"v: 0x1F", 1, 31},
        {"v: 0b101", 1, 5},
        {"v: 1_000", 1, 1000},
        {"v: 0", 1, 0},
        {"v: \"1_000\"", 0, 0},
        {"v: 08", 0, 0},
        {"v: 10m", 0, 0},
        {"v: 1.5", 0, 0},
        {"v: ''", 0, 0},
        {"v: \"-\"", 0, 0},
        {"v: 0x", 0, 0},
        {"v: ~", 0, 0},
        {"v: [1]", 0, 0},
        {"v: 99999999999999999999999", 0, 0},
    };
    struct ydoc **docs = NULL;
    long long got;
    size_t i, n;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        got = -4242;
        n = load_ok(&docs, cases[i].yaml);
        assert_int_equal(n, 1);
        if (guard_ydoc_int(guard_ydoc_get(docs[0], "v"), &got) != cases[i].ok)
            fail_msg("case %s: wrong verdict", cases[i].yaml);
        if (cases[i].ok)
            assert_int_equal(got, cases[i].want);
        else
            assert_int_equal(got, -4242);
        guard_ydoc_free_all(docs, n);
    }
    assert_int_equal(guard_ydoc_int(NULL, &got), 0);
}

static void
test_bool(void **state)
{
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes",
                                      "on",   "ON",   "y",    "Y"};
    static const char *const no[] = {"false", "False", "no", "NO",
                                     "off",   "Off",   "n"};
    static const char *const neither[] = {"\"true\"", "'false'", "1",
                                          "tRUE",     "~",       "[]"};
    struct ydoc **docs = NULL;
    char buf[64];
    bool b;
    size_t i, n;

    (void)state;
    for (i = 0; i < sizeof(yes) / sizeof(*yes); i++) {
        snprintf(buf, sizeof(buf), "v: %s", yes[i]);
        n = load_ok(&docs, buf);
        b = false;
        assert_int_equal(guard_ydoc_bool(guard_ydoc_get(docs[0], "v"), &b), 1);
        assert_true(b);
        guard_ydoc_free_all(docs, n);
    }
    for (i = 0; i < sizeof(no) / sizeof(*no); i++) {
        snprintf(buf, sizeof(buf), "v: %s", no[i]);
        n = load_ok(&docs, buf);
        b = true;
        assert_int_equal(guard_ydoc_bool(guard_ydoc_get(docs[0], "v"), &b), 1);
        assert_false(b);
        guard_ydoc_free_all(docs, n);
    }
    for (i = 0; i < sizeof(neither) / sizeof(*neither); i++) {
        snprintf(buf, sizeof(buf), "v: %s", neither[i]);
        n = load_ok(&docs, buf);
        if (guard_ydoc_bool(guard_ydoc_get(docs[0], "v"), &b) != 0)
            fail_msg("%s read as a boolean", neither[i]);
        guard_ydoc_free_all(docs, n);
    }
}

static void
test_syntax_errors(void **state)
{
    static const char two_then_bad[] = "a: 1\n"
                                       "---\n"
                                       "b: 2\n"
                                       "---\n"
                                       "c: 3\n"
                                       "  d: 4\n"
                                       "---\n"
                                       "e: 5\n";
    static const char colon[] = "kind: Pod\n"
                                "metadata:\n"
                                "  annotations:\n"
                                "    note: it fails: here\n";
    static const char tab[] = "spec:\n"
                              "\tcontainers: []\n";
    static const char quote[] = "a: 1\n"
                                "b: \"open\n"
                                "c: 2\n";
    static const char utf8[] = "a: 1\n"
                               "b: \xff\xfe\n";

    (void)state;
    assert_int_equal(load_fail(two_then_bad, strlen(two_then_bad), PAVED_EINVAL,
                               6, "YAML syntax error"),
                     2); /* the two documents before the broken one */
    load_fail(colon, strlen(colon), PAVED_EINVAL, 4, "needs quotes");
    load_fail(tab, strlen(tab), PAVED_EINVAL, 2, "tabs");
    load_fail(quote, strlen(quote), PAVED_EINVAL, 3, "not closed; ");
    load_fail(utf8, sizeof(utf8) - 1, PAVED_EINVAL, 2, "UTF-8");
    load_fail("a: [1, 2\n", 9, PAVED_EINVAL, 1, "YAML syntax error");
    /* a NUL byte in the input is not text */
    load_fail("a: 1\nb: x\0y\n", 12, PAVED_EINVAL, 2, "UTF-8");
}

static void
test_refused(void **state)
{
    static const char alias[] = "base: &res\n"
                                "  cpu: 100m\n"
                                "other:\n"
                                "  resources: *res\n";
    static const char anchor_only[] = "base: &res {cpu: 100m}\n";
    static const char merge[] = "spec:\n"
                                "  <<: {hostNetwork: true}\n";
    static const char dup[] = "spec:\n"
                              "  containers: []\n"
                              "  hostPID: false\n"
                              "  containers: [{name: x}]\n";
    static const char nul[] = "a: \"x\\0y\"\n";
    struct ydoc **docs = NULL;
    size_t n;

    (void)state;
    load_fail(alias, strlen(alias), PAVED_EINVAL, 4, "aliases (*res)");
    n = load_ok(&docs, anchor_only); /* an anchor alone is harmless */
    assert_string_equal(
        guard_ydoc_str(guard_ydoc_at(docs[0], "base", "cpu", NULL)), "100m");
    guard_ydoc_free_all(docs, n);
    load_fail(merge, strlen(merge), PAVED_EINVAL, 2, "merge keys (<<)");
    load_fail(dup, strlen(dup), PAVED_EINVAL, 4,
              "key \"containers\" appears twice in one mapping (first on "
              "line 2): keep one");
    /* the same key in two mappings is fine; "<<" quoted is a plain key */
    n = load_ok(&docs, "a: {x: 1}\nb: {x: 2}\n\"<<\": 3\n");
    guard_ydoc_free_all(docs, n);
    load_fail(nul, strlen(nul), PAVED_EINVAL, 1, "NUL");
}

/* Big mappings are checked for a key twice by sorting: the same answer
 * as the scan of small ones, the first repeat in document order. */
static void
test_big_map_dups(void **state)
{
    char *s = malloc(100 * 16), *p = s;
    size_t i;

    (void)state;
    assert_non_null(s);
    for (i = 0; i < 100; i++) {
        /* k90 repeats k3 (line 91), k70 repeats k5 (line 71), and k95
         * repeats k5 again (line 96) */
        size_t k = i == 90 ? 3 : i == 70 || i == 95 ? 5 : i;
        p += snprintf(p, (size_t)(s + 100 * 16 - p), "k%zu: v\n", k);
    }
    load_fail(s, (size_t)(p - s), PAVED_EINVAL, 71,
              "key \"k5\" appears twice in one mapping (first on line 6)");
    free(s);
}

/* Builds n levels of nested flow sequences: [[[...]]] */
static char *
nested(size_t depth)
{
    char *s = malloc(2 * depth + 8);
    size_t i;

    assert_non_null(s);
    memcpy(s, "a: ", 3);
    for (i = 0; i < depth; i++) {
        s[3 + i] = '[';
        s[3 + depth + i] = ']';
    }
    s[3 + 2 * depth] = '\n';
    s[4 + 2 * depth] = '\0';
    return s;
}

static void
test_caps(void **state)
{
    struct ydoc **docs = NULL;
    char *s, *p;
    size_t n, i, len;

    (void)state;
    /* depth: the root map is level 0, its value level 1, ... */
    s = nested(GUARD_YDOC_MAX_DEPTH);
    n = load_ok(&docs, s);
    assert_int_equal(n, 1);
    guard_ydoc_free_all(docs, n);
    free(s);
    s = nested(GUARD_YDOC_MAX_DEPTH + 1);
    load_fail(s, strlen(s), PAVED_ETOOBIG, 1, "nested more than 64");
    free(s);
    s = nested(100000); /* deep enough to blow a stack if unchecked */
    load_fail(s, strlen(s), PAVED_ETOOBIG, 1, "nested more than 64");
    free(s);

    /* values: a document of 1 + 2 x 4999 = 9999 nodes passes, and two of
     * them in one file too (the cap is per document); 10,001 does not */
    len = 2 * 5000 * 16 + 64;
    s = malloc(len);
    assert_non_null(s);
    p = s;
    for (i = 0; i < 4999; i++)
        p += snprintf(p, (size_t)(s + len - p), "k%zu: v\n", i);
    p += snprintf(p, (size_t)(s + len - p), "---\n");
    for (i = 0; i < 4999; i++)
        p += snprintf(p, (size_t)(s + len - p), "k%zu: v\n", i);
    n = load_ok(&docs, s);
    assert_int_equal(n, 2);
    assert_int_equal(docs[1]->yd_n, 2 * 4999);
    guard_ydoc_free_all(docs, n);
    p = s;
    for (i = 0; i < 5000; i++)
        p += snprintf(p, (size_t)(s + len - p), "k%zu: v\n", i);
    load_fail(s, (size_t)(p - s), PAVED_ETOOBIG, 5000, "more than 10000");
    free(s);

    /* input: exactly the cap is read, one byte more is not */
    len = GUARD_YDOC_MAX_BYTES;
    s = malloc(len + 1);
    assert_non_null(s);
    memset(s, '#', len + 1);
    for (i = 0; i < len; i += 100)
        s[i] = '\n';
    n = 99;
    {
        unsigned line = 99;
        assert_int_equal(guard_ydoc_load(&docs, &n, &line, s, len), 0);
        assert_int_equal(n, 0);
        guard_ydoc_free_all(docs, n);
    }
    load_fail(s, len + 1, PAVED_ETOOBIG, 0, "larger than 1048576 bytes");
    free(s);
}

/* Lines as editors and forges count them ('\n'), though YAML 1.1 (and
 * libyaml, and Kubernetes' reader) also breaks lines at a lone CR, NEL,
 * U+2028 and U+2029. */
static void
test_line_breaks(void **state)
{
    static const char odd[] = "a: 1\rb: 2\r\nc: 3\xc2\x85"
                              "d: 4\ne: 5\xe2\x80\xa8"
                              "f: 6\n";
    static const char crlf[] = "a: 1\r\nb: 2\r\n\r\nc: 3\r\n";
    static const char bad[] = "a: 1\rb: 2\r\nc: d: e\n";
    struct ydoc **docs = NULL;
    size_t n;

    (void)state;
    n = load_ok(&docs, odd);
    assert_int_equal(n, 1);
    assert_int_equal(docs[0]->yd_n, 12); /* six keys: each break counts */
    assert_int_equal(guard_ydoc_key(docs[0], "a")->yd_line, 1);
    assert_int_equal(guard_ydoc_key(docs[0], "b")->yd_line, 1);
    assert_int_equal(guard_ydoc_key(docs[0], "c")->yd_line, 2);
    assert_int_equal(guard_ydoc_key(docs[0], "d")->yd_line, 2);
    assert_int_equal(guard_ydoc_key(docs[0], "e")->yd_line, 3);
    assert_int_equal(guard_ydoc_key(docs[0], "f")->yd_line, 3);
    guard_ydoc_free_all(docs, n);
    n = load_ok(&docs, crlf);
    assert_int_equal(guard_ydoc_key(docs[0], "b")->yd_line, 2);
    assert_int_equal(guard_ydoc_key(docs[0], "c")->yd_line, 4);
    guard_ydoc_free_all(docs, n);
    load_fail(bad, strlen(bad), PAVED_EINVAL, 2, "needs quotes");
    /* an error at the end of the text is on its last line, with or
     * without a final newline (libyaml counts one more) */
    load_fail("a: 1\nb: [\n", 10, PAVED_EINVAL, 2, "YAML syntax error");
    load_fail("a: 1\nb: [", 9, PAVED_EINVAL, 2, "YAML syntax error");
    load_fail("a: 1\rb: [", 9, PAVED_EINVAL, 1, "YAML syntax error");
    load_fail("a: \"x\n\n\n", 8, PAVED_EINVAL, 3, "not closed");
    load_fail("a: \"x\n\n\n", 7, PAVED_EINVAL, 2, "not closed");
}

static void
test_never_reads_past_len(void **state)
{
    /* an exact-size copy without a NUL: valgrind and ASan watch */
    static const char text[] = "kind: Pod\nmetadata: {name: web}\n";
    struct ydoc **docs = NULL;
    unsigned line;
    size_t n, len = strlen(text) - 8;
    char *exact = malloc(len);

    (void)state;
    assert_non_null(exact);
    memcpy(exact, text, len); /* "...{name: " cut */
    assert_int_equal(guard_ydoc_load(&docs, &n, &line, exact, len),
                     PAVED_EINVAL);
    assert_int_equal(n, 0);
    guard_ydoc_free_all(docs, n);
    free(exact);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_multi_document),
        cmocka_unit_test(test_int),
        cmocka_unit_test(test_bool),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_big_map_dups),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_line_breaks),
        cmocka_unit_test(test_never_reads_past_len),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
