/* The golden-path template language: every syntax form, the standalone
 * line rule, each error with its exact NAME:LINE:COL message, escaping per
 * file kind (YAML and JSON output read back with libyaml and jansson), and
 * the size and depth limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <yaml.h>

#include "paved/error.h"
#include "paved/tmpl.h"

static const struct paved_tmpl_var vars[] = {
    {"name", "checkout"},
    {"db", "true"},
    {"queue", NULL},
    {"owner", ""},
    {"off", "false"},
    {"zero", "0"},
    {"service.name", "checkout-svc"},
    {"name", "second"},
};
#define NVARS (sizeof(vars) / sizeof(vars[0]))

/* Renders src with vars; returns the output (free it) or NULL on error. */
static char *
render(const char *src, const struct paved_tmpl_var *v, size_t n,
       enum paved_tmpl_escape esc, int *code)
{
    paved_tmpl *t = NULL;
    char *out = NULL;
    size_t len = 99;
    int error;

    if ((error = paved_tmpl_parse(&t, "t.yaml", src, strlen(src))) == 0) {
        error = paved_tmpl_render(&out, &len, t, v, n, esc);
        if (error == 0)
            assert_int_equal(len, strlen(out));
        else
            assert_null(out);
    } else {
        assert_null(t);
    }
    paved_tmpl_free(t);
    if (code != NULL)
        *code = error;
    return out;
}

static void
expect(const char *src, const char *want)
{
    int code;
    char *out = render(src, vars, NVARS, PAVED_TMPL_RAW, &code);

    if (out == NULL)
        fail_msg("render of \"%s\" failed: %s", src, paved_error_last());
    assert_string_equal(out, want);
    free(out);
}

static void
expect_err(const char *src, int want_code, const char *want_msg)
{
    int code;
    char *out = render(src, vars, NVARS, PAVED_TMPL_RAW, &code);

    assert_null(out);
    assert_int_equal(code, want_code);
    assert_string_equal(paved_error_last(), want_msg);
}

static void
test_variables(void **state)
{
    (void)state;
    expect("", "");
    expect("plain text } { }} {", "plain text } { }} {");
    expect("hello {{name}}!", "hello checkout!"); /* first "name" wins */
    expect("{{ name }}/{{\tname\t}}", "checkout/checkout");
    expect("{{service.name}}", "checkout-svc");
    expect("{{owner}}|{{off}}|{{zero}}", "|false|0");
    expect("{{name}}{{name}}", "checkoutcheckout");
    expect("a\n{{name}}\nb", "a\ncheckout\nb"); /* variables never standalone */
}

static void
test_sections(void **state)
{
    (void)state;
    expect("{{#db}}D{{/db}}{{^db}}N{{/db}}", "D");
    expect("{{#queue}}Q{{/queue}}{{^queue}}noq{{/queue}}", "noq");
    expect("{{#owner}}O{{/owner}}{{^owner}}-{{/owner}}", "-");
    expect("{{#off}}O{{/off}}{{^off}}-{{/off}}", "-");
    expect("{{#zero}}Z{{/zero}}", "Z"); /* only "false" and "" are false */
    expect("{{#name}}{{name}}{{/name}}", "checkout");
    expect("{{#db}}a{{#queue}}b{{/queue}}c{{^queue}}d{{#db}}e{{/db}}{{/queue}}"
           "{{/db}}f",
           "acdef");
    expect("{{# db }}x{{/ db }}", "x");
    expect("{{#queue}}{{#db}}x{{/db}}{{/queue}}y", "y");
}

static void
test_comments_and_literal(void **state)
{
    (void)state;
    expect("a{{! a comment }}b", "ab");
    expect("a{{!multi\nline {{ comment\n}}b", "ab");
    expect("\\{{name}}", "{{name}}");
    expect("summary: \\{{ $labels.instance }} down",
           "summary: {{ $labels.instance }} down");
    expect("a\\b \\{{ \\{{", "a\\b {{ {{");
    expect("\\\\{{name}}", "\\{{name}}");
    expect_err("a\\b {{", PAVED_EINVAL,
               "t.yaml:1:5: unclosed tag \"{{\": end it with \"}}\" on the "
               "same line, or write \\{{ for a literal \"{{\"");
}

static void
test_standalone(void **state)
{
    (void)state;
    expect("a\n{{#db}}\nx\n{{/db}}\nb\n", "a\nx\nb\n");
    expect("a\n  {{#db}}  \nx\n\t{{/db}}\nb\n", "a\nx\nb\n");
    expect("a\r\n{{#db}}\r\nx\r\n{{/db}}\r\nb", "a\r\nx\r\nb");
    expect("a\n{{^db}}\nx\n{{/db}}\nb\n", "a\nb\n");
    expect("{{#db}}\nfirst\n{{/db}}", "first\n");
    expect("a\n{{! note }}\nb\n", "a\nb\n");
    expect("a\n{{! multi\nline }}\nb\n", "a\nb\n");
    /* not alone on the line: text or another tag beside it */
    expect("a {{#db}}\nx{{/db}}\n", "a \nx\n");
    expect("{{#db}}{{/db}}\nb", "\nb");
    expect("{{#db}} x\n{{/db}}", " x\n");
    expect("  {{name}}\n", "  checkout\n");
    /* the line after a standalone tag can hold one too */
    expect("{{#db}}\n{{#zero}}\nz\n{{/zero}}\n{{/db}}\n", "z\n");
}

static void
test_parse_errors(void **state)
{
    (void)state;
    expect_err("ab\n  {{name", PAVED_EINVAL,
               "t.yaml:2:3: unclosed tag \"{{\": end it with \"}}\" on the "
               "same line, or write \\{{ for a literal \"{{\"");
    expect_err("{{name\n}}", PAVED_EINVAL,
               "t.yaml:1:1: unclosed tag \"{{\": end it with \"}}\" on the "
               "same line, or write \\{{ for a literal \"{{\"");
    expect_err("x {{! never", PAVED_EINVAL,
               "t.yaml:1:3: comment never closed: end it with \"}}\"");
    expect_err("x\n{{#db}}\ny\n", PAVED_EINVAL,
               "t.yaml:2:1: section \"db\" is never closed: add {{/db}} "
               "where it ends");
    expect_err("{{#a}}{{#b}}{{/a}}", PAVED_EINVAL,
               "t.yaml:1:13: {{/a}} does not match section \"b\" opened at "
               "1:7: close that one first with {{/b}}");
    expect_err("ok\n {{/a}}", PAVED_EINVAL,
               "t.yaml:2:2: {{/a}} closes no section: remove it or open one "
               "with {{#a}} before it");
    expect_err("{{Name}}", PAVED_EINVAL,
               "t.yaml:1:1: bad name \"Name\": a name is lowercase letters, "
               "digits and '_', starting with a letter, parts joined by '.' "
               "(service.name)");
    expect_err("x {{ $labels.x }}", PAVED_EINVAL,
               "t.yaml:1:3: bad name \"$labels.x\": a name is lowercase "
               "letters, digits and '_', starting with a letter, parts "
               "joined by '.' (service.name)");
    expect_err("{{>partial}}", PAVED_EINVAL,
               "t.yaml:1:1: \"{{>\" is not supported: templates have only "
               "{{name}}, {{#name}}, {{^name}}, {{/name}} and {{! comment}}, "
               "and values are always escaped for the file");
    expect_err("\xe2\x80\x9c\n\n\tab\x01{{{name}}}", PAVED_EINVAL,
               "t.yaml:3:5: \"{{{\" is not supported: templates have only "
               "{{name}}, {{#name}}, {{^name}}, {{/name}} and {{! comment}}, "
               "and values are always escaped for the file");
    /* line numbers stay right past multi-line comments and removed lines */
    expect_err("{{! a\nb }}\n{{#db}}\nx\n  {{/q}}", PAVED_EINVAL,
               "t.yaml:5:3: {{/q}} does not match section \"db\" opened at "
               "3:1: close that one first with {{/db}}");
}

static void
test_bad_names(void **state)
{
    static const char *const bad[] = {
        "{{}}",     "{{ }}",   "{{#}}",  "{{1a}}",  "{{a-b}}",
        "{{a..b}}", "{{a.}}",  "{{.a}}", "{{a b}}", "{{a.B}}",
        "{{_a}}",   "{{a.1}}", "{{/}}"};
    static const char *const good[] = {"{{a}}", "{{a_1.b2.c_}}", "{{z9}}"};
    struct paved_tmpl_var any[3] = {
        {"a", "1"}, {"a_1.b2.c_", "2"}, {"z9", "3"}};
    paved_tmpl *t;
    size_t i;
    char *out;
    size_t len;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        t = (paved_tmpl *)1;
        assert_int_equal(paved_tmpl_parse(&t, "n", bad[i], strlen(bad[i])),
                         PAVED_EINVAL);
        assert_null(t);
        assert_non_null(strstr(paved_error_last(), "n:1:1: bad name"));
    }
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(paved_tmpl_parse(&t, "n", good[i], strlen(good[i])),
                         0);
        assert_int_equal(
            paved_tmpl_render(&out, &len, t, any, 3, PAVED_TMPL_RAW), 0);
        assert_int_equal(len, 1);
        assert_int_equal(out[0], (char)('1' + i));
        free(out);
        paved_tmpl_free(t);
    }
}

static void
test_nesting_limit(void **state)
{
    char src[1024];
    size_t o = 0;
    int i, code;
    char *out;

    (void)state;
    for (i = 0; i < PAVED_TMPL_MAX_DEPTH; i++)
        o += (size_t)snprintf(src + o, sizeof(src) - o, "{{#db}}");
    o += (size_t)snprintf(src + o, sizeof(src) - o, "deep");
    for (i = 0; i < PAVED_TMPL_MAX_DEPTH; i++)
        o += (size_t)snprintf(src + o, sizeof(src) - o, "{{/db}}");
    out = render(src, vars, NVARS, PAVED_TMPL_RAW, &code);
    assert_non_null(out);
    assert_string_equal(out, "deep");
    free(out);

    o = 0;
    for (i = 0; i <= PAVED_TMPL_MAX_DEPTH; i++)
        o += (size_t)snprintf(src + o, sizeof(src) - o, "{{#db}}\n");
    expect_err(src, PAVED_EINVAL,
               "t.yaml:33:1: sections nested deeper than 32: flatten the "
               "template or split it into files");
}

static void
test_size_limits(void **state)
{
    size_t n = PAVED_TMPL_MAX_SIZE, i, len;
    char *src = malloc(n + 2), *out, *big;
    struct paved_tmpl_var bv[1];
    paved_tmpl *t;

    (void)state;
    assert_non_null(src);
    /* exactly 1 MiB of tags and text parses and renders */
    for (i = 0; i + 9 <= n; i += 9)
        memcpy(src + i, "{{name}}\n", 9);
    memset(src + i, 'x', n - i);
    assert_int_equal(paved_tmpl_parse(&t, "big", src, n), 0);
    assert_int_equal(
        paved_tmpl_render(&out, &len, t, vars, NVARS, PAVED_TMPL_RAW), 0);
    /* "checkout" is as long as "{{name}}" */
    assert_int_equal(len, n);
    assert_memory_equal(out, "checkout\ncheckout\n", 18);
    assert_int_equal(out[len - 1], 'x');
    free(out);
    paved_tmpl_free(t);

    /* one byte more is refused */
    src[n] = 'x';
    t = (paved_tmpl *)1;
    assert_int_equal(paved_tmpl_parse(&t, "big", src, n + 1), PAVED_EINVAL);
    assert_null(t);
    assert_string_equal(paved_error_last(),
                        "big:1:1: template is 1048577 bytes, over the 1 MiB "
                        "limit: split it into smaller files");

    /* output past 16 MiB: 17 copies of a 1 MiB value */
    big = malloc(n + 1);
    assert_non_null(big);
    memset(big, 'v', n);
    big[n] = '\0';
    bv[0].tv_name = "v";
    bv[0].tv_value = big;
    assert_int_equal(paved_tmpl_parse(&t, "out",
                                      "{{v}}{{v}}{{v}}{{v}}"
                                      "{{v}}{{v}}{{v}}{{v}}"
                                      "{{v}}{{v}}{{v}}{{v}}"
                                      "{{v}}{{v}}{{v}}{{v}}"
                                      "{{v}}",
                                      85),
                     0);
    out = (char *)1;
    assert_int_equal(paved_tmpl_render(&out, &len, t, bv, 1, PAVED_TMPL_RAW),
                     PAVED_ETOOBIG);
    assert_null(out);
    assert_string_equal(paved_error_last(),
                        "out: rendered output over the 16 MiB limit: split "
                        "the template");
    paved_tmpl_free(t);
    /* 16 copies is exactly the cap and fits */
    assert_int_equal(paved_tmpl_parse(&t, "out",
                                      "{{v}}{{v}}{{v}}{{v}}"
                                      "{{v}}{{v}}{{v}}{{v}}"
                                      "{{v}}{{v}}{{v}}{{v}}"
                                      "{{v}}{{v}}{{v}}{{v}}",
                                      80),
                     0);
    assert_int_equal(paved_tmpl_render(&out, &len, t, bv, 1, PAVED_TMPL_RAW),
                     0);
    assert_int_equal(len, PAVED_TMPL_MAX_OUTPUT);
    free(out);
    paved_tmpl_free(t);
    free(big);
    free(src);
}

static void
test_nul_byte(void **state)
{
    paved_tmpl *t;

    (void)state;
    assert_int_equal(paved_tmpl_parse(&t, "z", "ab\ncd\0e", 7), PAVED_EINVAL);
    assert_null(t);
    assert_string_equal(paved_error_last(),
                        "z:2:3: NUL byte in template: templates are text; "
                        "remove it");
}

static void
test_render_errors(void **state)
{
    struct paved_tmpl_var few[3] = {{"a", "1"}, {"b", NULL}, {"c", "x\xff"}};
    int code;
    char *out;

    (void)state;
    out = render("x\n  {{nmae}}", few, 3, PAVED_TMPL_RAW, &code);
    assert_null(out);
    assert_int_equal(code, PAVED_EINVAL);
    assert_string_equal(paved_error_last(),
                        "t.yaml:2:3: unknown variable \"nmae\" (known: a, b, "
                        "c)");
    /* inside a section that is off today: still an error */
    out = render("{{#b}}\n{{#a}}{{typo}}{{/a}}\n{{/b}}", few, 3, PAVED_TMPL_RAW,
                 &code);
    assert_null(out);
    assert_int_equal(code, PAVED_EINVAL);
    assert_string_equal(paved_error_last(),
                        "t.yaml:2:7: unknown variable \"typo\" (known: a, b, "
                        "c)");
    out = render("{{#nope}}{{/nope}}", NULL, 0, PAVED_TMPL_RAW, &code);
    assert_null(out);
    assert_string_equal(paved_error_last(),
                        "t.yaml:1:1: unknown variable \"nope\" (known: none)");
    /* a NULL value is a false flag, but not text */
    out = render("{{^b}}off{{/b}}", few, 3, PAVED_TMPL_RAW, &code);
    assert_string_equal(out, "off");
    free(out);
    out = render("a {{b}}", few, 3, PAVED_TMPL_RAW, &code);
    assert_null(out);
    assert_string_equal(paved_error_last(),
                        "t.yaml:1:3: variable \"b\" has no value: give it one, "
                        "or use it only inside {{#b}}...{{/b}}");
    /* bytes that are not UTF-8: fine raw, refused in YAML and JSON */
    out = render("{{c}}", few, 3, PAVED_TMPL_RAW, &code);
    assert_string_equal(out, "x\xff");
    free(out);
    out = render("k: {{c}}", few, 3, PAVED_TMPL_YAML, &code);
    assert_null(out);
    assert_int_equal(code, PAVED_EINVAL);
    assert_string_equal(paved_error_last(),
                        "t.yaml:1:4: variable \"c\" is not valid UTF-8, which "
                        "YAML cannot hold: pass UTF-8 text");
    out = render("\"{{c}}\"", few, 3, PAVED_TMPL_JSON, &code);
    assert_null(out);
    assert_string_equal(paved_error_last(),
                        "t.yaml:1:2: variable \"c\" is not valid UTF-8, which "
                        "JSON cannot hold: pass UTF-8 text");
}

static void
test_unknown_list_is_capped(void **state)
{
    struct paved_tmpl_var many[200];
    char names[200][16];
    int code, i;
    char *out;

    (void)state;
    for (i = 0; i < 200; i++) {
        snprintf(names[i], sizeof(names[i]), "variable_%d", i);
        many[i].tv_name = names[i];
        many[i].tv_value = "v";
    }
    out = render("{{x}}", many, 200, PAVED_TMPL_RAW, &code);
    assert_null(out);
    assert_true(strlen(paved_error_last()) < 600);
    assert_non_null(strstr(paved_error_last(), "(known: variable_0, "));
    assert_non_null(strstr(paved_error_last(), ", ...)"));
}

/* A plain scalar must not be one that YAML 1.1 or 1.2 resolves to another
 * type: checked here apart from the rule in tmpl.c. */
static void
yaml_plain_is_string(const char *v)
{
    static const char *const words[] = {
        "y",  "Y",    "yes",  "Yes",  "YES",   "n",     "N",     "no", "No",
        "NO", "true", "True", "TRUE", "false", "False", "FALSE", "on", "On",
        "ON", "off",  "Off",  "OFF",  "null",  "Null",  "NULL",  "~",  ""};
    size_t i;
    char *end;

    for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strcmp(v, words[i]) == 0)
            fail_msg("plain %s is not a string in YAML", v);
    if (strchr("0123456789+-.", v[0]) != NULL) {
        (void)strtod(v, &end);
        if (*end == '\0' || strchr(v, ':') != NULL || strchr(v, '_') != NULL)
            fail_msg("plain %s may read as a number", v);
    }
}

/* "k: OUT" parsed by libyaml: the scalar's text, which must be a string. */
static char *
yaml_value(const char *doc)
{
    yaml_parser_t y;
    yaml_event_t ev;
    char *val = NULL;
    int scalars = 0, done = 0;

    yaml_parser_initialize(&y);
    yaml_parser_set_input_string(&y, (const unsigned char *)doc, strlen(doc));
    while (!done) {
        if (!yaml_parser_parse(&y, &ev))
            fail_msg("libyaml rejects %s: %s", doc, y.problem);
        if (ev.type == YAML_SCALAR_EVENT && ++scalars == 2) {
            val = strndup((const char *)ev.data.scalar.value,
                          ev.data.scalar.length);
            if (ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
                yaml_plain_is_string(val);
        }
        done = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&y);
    assert_int_equal(scalars, 2);
    return val;
}

static void
test_yaml_escaping(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"checkout", "checkout"},
        {"team-payments", "team-payments"},
        {"/healthz", "/healthz"},
        {"ghcr.io/acme/checkout", "ghcr.io/acme/checkout"},
        {"v1.2.3", "v1.2.3"},
        {"a_b", "a_b"},
        {"", "\"\""},
        {"yes", "\"yes\""},
        {"Yes", "\"Yes\""},
        {"on", "\"on\""},
        {"OFF", "\"OFF\""},
        {"y", "\"y\""},
        {"n", "\"n\""},
        {"no", "\"no\""},
        {"true", "\"true\""},
        {"False", "\"False\""},
        {"null", "\"null\""},
        {"Null", "\"Null\""},
        {"~", "\"~\""},
        {"0123", "\"0123\""},
        {"123", "\"123\""},
        {"1.5", "\"1.5\""},
        {"1e3", "\"1e3\""},
        {"0x1f", "\"0x1f\""},
        {"1:30", "\"1:30\""},
        {".inf", "\".inf\""},
        {"-", "\"-\""},
        {"---", "\"---\""},
        {"-x", "\"-x\""},
        {": x", "\": x\""},
        {"#x", "\"#x\""},
        {"a #b", "\"a #b\""},
        {"a: b", "\"a: b\""},
        {"a b", "\"a b\""},
        {" lead", "\" lead\""},
        {"trail ", "\"trail \""},
        {"*alias", "\"*alias\""},
        {"&anchor", "\"&anchor\""},
        {"!tag", "\"!tag\""},
        {"@x", "\"@x\""},
        {"`x", "\"`x\""},
        {"[a]", "\"[a]\""},
        {"{a}", "\"{a}\""},
        {"a,b", "\"a,b\""},
        {"|", "\"|\""},
        {">", "\">\""},
        {"%x", "\"%x\""},
        {"'q'", "\"'q'\""},
        {"say \"hi\"", "\"say \\\"hi\\\"\""},
        {"back\\slash", "\"back\\\\slash\""},
        {"two\nlines", "\"two\\nlines\""},
        {"crlf\r\n", "\"crlf\\r\\n\""},
        {"tab\there", "\"tab\\there\""},
        {"h\xc3\xa9llo", "\"h\xc3\xa9llo\""},
        {"\xe6\x97\xa5\xe6\x9c\xac", "\"\xe6\x97\xa5\xe6\x9c\xac\""},
        {"emoji \xf0\x9f\x9a\x80", "\"emoji \xf0\x9f\x9a\x80\""},
        {"del\x7f", "\"del\\u007f\""},
        {"nel\xc2\x85", "\"nel\\u0085\""},
        {"ls\xe2\x80\xa8ps\xe2\x80\xa9", "\"ls\\u2028ps\\u2029\""},
        {"bom\xef\xbb\xbf", "\"bom\\ufeff\""},
        {"nc\xef\xbf\xbf", "\"nc\\uffff\""},
        {"\x01\x1b", "\"\\u0001\\u001b\""},
    };
    struct paved_tmpl_var v[1];
    size_t i;
    int code;
    char *out, *back;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        v[0].tv_name = "v";
        v[0].tv_value = cases[i].in;
        out = render("{{v}}", v, 1, PAVED_TMPL_YAML, &code);
        assert_non_null(out);
        if (strcmp(out, cases[i].out) != 0)
            fail_msg("case %zu: got [%s] want [%s]", i, out, cases[i].out);
        free(out);
        out = render("key: {{v}}\n", v, 1, PAVED_TMPL_YAML, &code);
        back = yaml_value(out);
        if (strcmp(back, cases[i].in) != 0)
            fail_msg("case %zu: read back [%s] from [%s]", i, back, out);
        free(back);
        free(out);
    }
}

static void
test_json_escaping(void **state)
{
    static const char *const values[] = {"checkout",
                                         "",
                                         "say \"hi\"",
                                         "a\\b",
                                         "/x/",
                                         "\x01\x02\x1f",
                                         "\b\f\n\r\t",
                                         "h\xc3\xa9 \xf0\x9f\x9a\x80",
                                         "\x7f\xe2\x80\xa8"};
    struct paved_tmpl_var v[1];
    json_error_t jerr;
    json_t *j;
    size_t i;
    int code;
    char *out;

    (void)state;
    v[0].tv_name = "v";
    v[0].tv_value = "\x01\x1f\b\f\n\r\t\"\\/ok";
    out = render("\"{{v}}\"", v, 1, PAVED_TMPL_JSON, &code);
    assert_string_equal(out, "\"\\u0001\\u001f\\b\\f\\n\\r\\t\\\"\\\\/ok\"");
    free(out);
    for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        v[0].tv_value = values[i];
        out = render("{\"k\": \"{{v}}\"}", v, 1, PAVED_TMPL_JSON, &code);
        assert_non_null(out);
        j = json_loads(out, 0, &jerr);
        if (j == NULL)
            fail_msg("jansson rejects %s: %s", out, jerr.text);
        assert_string_equal(json_string_value(json_object_get(j, "k")),
                            values[i]);
        json_decref(j);
        free(out);
    }
    /* JSON never adds quotes of its own; RAW never escapes */
    v[0].tv_value = "a\"b";
    out = render("{{v}}", v, 1, PAVED_TMPL_JSON, &code);
    assert_string_equal(out, "a\\\"b");
    free(out);
    out = render("{{v}}", v, 1, PAVED_TMPL_RAW, &code);
    assert_string_equal(out, "a\"b");
    free(out);
}

static void
test_escape_for(void **state)
{
    (void)state;
    assert_int_equal(paved_tmpl_escape_for("k8s/deployment.yaml"),
                     PAVED_TMPL_YAML);
    assert_int_equal(paved_tmpl_escape_for("a.yml"), PAVED_TMPL_YAML);
    assert_int_equal(paved_tmpl_escape_for("A.YAML"), PAVED_TMPL_YAML);
    assert_int_equal(paved_tmpl_escape_for("k8s/service.yaml.tmpl"),
                     PAVED_TMPL_YAML);
    assert_int_equal(paved_tmpl_escape_for("observability/dashboard.json"),
                     PAVED_TMPL_JSON);
    assert_int_equal(paved_tmpl_escape_for("x.json.tmpl"), PAVED_TMPL_JSON);
    assert_int_equal(paved_tmpl_escape_for("main.go"), PAVED_TMPL_RAW);
    assert_int_equal(paved_tmpl_escape_for("Makefile"), PAVED_TMPL_RAW);
    assert_int_equal(paved_tmpl_escape_for("Dockerfile.tmpl"), PAVED_TMPL_RAW);
    assert_int_equal(paved_tmpl_escape_for("x.yaml.d/run.sh"), PAVED_TMPL_RAW);
    assert_int_equal(paved_tmpl_escape_for("a.yamlx"), PAVED_TMPL_RAW);
    assert_int_equal(paved_tmpl_escape_for("yaml"), PAVED_TMPL_RAW);
    assert_int_equal(paved_tmpl_escape_for(".tmpl"), PAVED_TMPL_RAW);
    assert_int_equal(paved_tmpl_escape_for(""), PAVED_TMPL_RAW);
    assert_int_equal(paved_tmpl_escape_for(NULL), PAVED_TMPL_RAW);
}

static void
test_reuse_and_free(void **state)
{
    struct paved_tmpl_var a[1] = {{"v", "one"}}, b[1] = {{"v", "two"}};
    char buf[16] = "{{v}}";
    paved_tmpl *t;
    char *o1, *o2;
    size_t len;

    (void)state;
    paved_tmpl_free(NULL);
    /* the template keeps its own copy of the source */
    assert_int_equal(paved_tmpl_parse(&t, "r", buf, strlen(buf)), 0);
    memset(buf, 'X', sizeof(buf) - 1);
    assert_int_equal(paved_tmpl_render(&o1, &len, t, a, 1, PAVED_TMPL_RAW), 0);
    assert_int_equal(paved_tmpl_render(&o2, NULL, t, b, 1, PAVED_TMPL_YAML), 0);
    assert_string_equal(o1, "one");
    assert_string_equal(o2, "two");
    free(o1);
    free(o2);
    paved_tmpl_free(t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_variables),
        cmocka_unit_test(test_sections),
        cmocka_unit_test(test_comments_and_literal),
        cmocka_unit_test(test_standalone),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_bad_names),
        cmocka_unit_test(test_nesting_limit),
        cmocka_unit_test(test_size_limits),
        cmocka_unit_test(test_nul_byte),
        cmocka_unit_test(test_render_errors),
        cmocka_unit_test(test_unknown_list_is_capped),
        cmocka_unit_test(test_yaml_escaping),
        cmocka_unit_test(test_json_escaping),
        cmocka_unit_test(test_escape_for),
        cmocka_unit_test(test_reuse_and_free),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
