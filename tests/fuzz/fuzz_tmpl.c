/* Fuzz target for src/scaffold/tmpl.c. The input is a variable value, a
 * NUL byte, then a template (without a NUL, the whole input is both).
 * abort() when
 *   - parsing or rendering fails without a "fuzz.tmpl:" message or with an
 *     unexpected code, or succeeds with a length that is not the string's;
 *   - a template without "{{" does not render RAW as itself;
 *   - in YAML, "key: {{v}}" and "[{{v}}]" do not read back through libyaml
 *     as exactly the value (a plain scalar also must not look like a bool,
 *     null or number), or a UTF-8 value is refused, or a value that is not
 *     UTF-8 (jansson is the judge) is accepted;
 *   - in JSON, {"k": "{{v}}"} does not read back through jansson as the
 *     value. Never writes anywhere. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <yaml.h>

#include "paved/error.h"
#include "paved/tmpl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NAME "fuzz.tmpl"

static void
fuzz_fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_tmpl: %s: %s (last error: %s)\n", what, detail,
            paved_error_last());
    abort();
}

static void
fuzz_check_error(int error)
{
    if (error != PAVED_EINVAL && error != PAVED_ETOOBIG)
        fuzz_fail("unexpected code", paved_error_name(error));
    if (strncmp(paved_error_last(), FUZZ_NAME ":", strlen(FUZZ_NAME) + 1) != 0)
        fuzz_fail("message does not start with the template name", "");
}

/* Renders src (a C string) with vars; NULL and the code when it fails. */
static char *
fuzz_render(const char *src, size_t srclen, const struct paved_tmpl_var *v,
            size_t n, enum paved_tmpl_escape esc, int *code)
{
    paved_tmpl *t = NULL;
    char *out = NULL;
    size_t len = 0;

    *code = paved_tmpl_parse(&t, FUZZ_NAME, src, srclen);
    if (*code < 0) {
        if (t != NULL)
            fuzz_fail("parse failed but gave a template", "");
        fuzz_check_error(*code);
        return NULL;
    }
    *code = paved_tmpl_render(&out, &len, t, v, n, esc);
    paved_tmpl_free(t);
    if (*code < 0) {
        if (out != NULL)
            fuzz_fail("render failed but gave output", "");
        fuzz_check_error(*code);
        return NULL;
    }
    if (out == NULL || strlen(out) != len)
        fuzz_fail("output length", "");
    return out;
}

static void
fuzz_plain_is_string(const char *v)
{
    static const char *const words[] = {
        "y",  "Y",    "yes",  "Yes",  "YES",   "n",     "N",     "no", "No",
        "NO", "true", "True", "TRUE", "false", "False", "FALSE", "on", "On",
        "ON", "off",  "Off",  "OFF",  "null",  "Null",  "NULL",  "~",  ""};
    size_t i;

    for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strcmp(v, words[i]) == 0)
            fuzz_fail("plain scalar is a bool or null", v);
    if (strchr("0123456789+-.", v[0]) != NULL)
        fuzz_fail("plain scalar may be a number", v);
}

/* The scalar at position want (0-based) of the YAML document doc. */
static void
fuzz_yaml_back(const char *doc, int want, const char *value)
{
    yaml_parser_t y;
    yaml_event_t ev;
    int seen = 0, done = 0, found = 0;

    yaml_parser_initialize(&y);
    yaml_parser_set_input_string(&y, (const unsigned char *)doc, strlen(doc));
    while (!done) {
        if (!yaml_parser_parse(&y, &ev))
            fuzz_fail("libyaml rejects the output", doc);
        if (ev.type == YAML_SCALAR_EVENT && seen++ == want) {
            if (ev.data.scalar.length != strlen(value) ||
                memcmp(ev.data.scalar.value, value, strlen(value)) != 0)
                fuzz_fail("YAML reads back another value", doc);
            if (ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
                fuzz_plain_is_string(value);
            found = 1;
        }
        done = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&y);
    if (!found || seen != want + 1)
        fuzz_fail("YAML has another shape", doc);
}

static void
fuzz_round_trip(const char *value)
{
    struct paved_tmpl_var v[1] = {{"v", value}};
    json_t *s = json_string(value), *j, *k;
    bool utf8 = s != NULL;
    json_error_t jerr;
    char *out;
    int code;

    json_decref(s);
    out = fuzz_render("key: {{v}}\n", 11, v, 1, PAVED_TMPL_YAML, &code);
    if (utf8 != (out != NULL))
        fuzz_fail(utf8 ? "UTF-8 value refused" : "non-UTF-8 value accepted",
                  value);
    if (out == NULL)
        return;
    fuzz_yaml_back(out, 1, value);
    free(out);
    if ((out = fuzz_render("[{{v}}]", 7, v, 1, PAVED_TMPL_YAML, &code)) == NULL)
        fuzz_fail("flow render", value);
    fuzz_yaml_back(out, 0, value);
    free(out);
    if ((out = fuzz_render("{\"k\": \"{{v}}\"}", 14, v, 1, PAVED_TMPL_JSON,
                           &code)) == NULL)
        fuzz_fail("JSON render", value);
    if ((j = json_loads(out, 0, &jerr)) == NULL)
        fuzz_fail("jansson rejects the output", out);
    k = json_object_get(j, "k");
    if (k == NULL || strcmp(json_string_value(k), value) != 0)
        fuzz_fail("JSON reads back another value", out);
    json_decref(j);
    free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum paved_tmpl_escape modes[] = {
        PAVED_TMPL_RAW, PAVED_TMPL_YAML, PAVED_TMPL_JSON};
    const uint8_t *nul = memchr(data, 0, size);
    size_t vlen = nul != NULL ? (size_t)(nul - data) : size, tlen, i;
    const char *tsrc;
    char *value, *out;
    int code;

    if ((value = malloc(vlen + 1)) == NULL)
        abort();
    memcpy(value, data, vlen);
    value[vlen] = '\0';
    tsrc = nul != NULL ? (const char *)nul + 1 : (const char *)data;
    tlen = nul != NULL ? size - vlen - 1 : size;
    {
        struct paved_tmpl_var vars[] = {
            {"name", "checkout"}, {"flag", "true"},  {"off", NULL},
            {"empty", ""},        {"v", value},      {"service.name", "svc"},
            {"db", "false"},      {"queue", "true"},
        };

        for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
            out = fuzz_render(tsrc, tlen, vars, sizeof(vars) / sizeof(vars[0]),
                              modes[i], &code);
            if (out != NULL && modes[i] == PAVED_TMPL_RAW &&
                memmem(tsrc, tlen, "{{", 2) == NULL &&
                (strlen(out) != tlen || memcmp(out, tsrc, tlen) != 0))
                fuzz_fail("text without tags changed", out);
            free(out);
        }
    }
    fuzz_round_trip(value);
    free(value);
    return 0;
}
