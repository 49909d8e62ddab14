/* Differential fuzz target for src/core/jscan.c against jansson 2.14:
 *   - json_loadb(data, size, 0) gives an object iff paved_jscan() accepts,
 *     and likewise with JSON_REJECT_DUPLICATES and
 *     PAVED_JSCAN_REJECT_DUPLICATES (unless the scanner says ETOOBIG:
 *     more open keys than it tracks);
 *   - for a fixed set of paths, the type found and the value (unescaped
 *     string bytes, integer, real, boolean) agree with json_object_get()
 *     lookups, and an object's span is itself a document both accept.
 * abort() on any disagreement. Never writes anywhere. Two classes are
 * left out on purpose, both documented in jscan.h:
 *   - top-level arrays, which jansson accepts and the scanner refuses by
 *     contract (only "jansson gives an object" is compared);
 *   - a NUL byte right after a number or a literal, which jansson skips
 *     (its lexer ungets the byte that ended the token, and an ungot 0 reads
 *     as "buffer empty"): there the scanner must refuse the input and
 *     accept it with those NULs taken out, which is what jansson parsed. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "paved/error.h"
#include "paved/jscan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz_paths[] = {
    "",
    "ref",
    "after",
    "repository.full_name",
    "pull_request.number",
    "pull_request.head.sha",
    "a",
    "a.b",
    "a.b.c",
    "b",
    ".",
    "\xc3\xa9",
    "a.\xf0\x9f\x98\x80",
};
#define FUZZ_NPATHS (sizeof(fuzz_paths) / sizeof(fuzz_paths[0]))

static void
fuzz_fail(const char *what, const char *path)
{
    fprintf(stderr, "fuzz_jscan: disagreement: %s (path \"%s\"): %s\n", what,
            path != NULL ? path : "", paved_error_last());
    abort();
}

/* json_object_get along a '.'-separated path; NULL when absent */
static json_t *
fuzz_lookup(json_t *root, const char *path)
{
    char key[64];
    const char *dot;
    size_t n;

    if (path[0] == '\0')
        return root;
    for (;;) {
        dot = strchr(path, '.');
        n = dot != NULL ? (size_t)(dot - path) : strlen(path);
        if (n >= sizeof(key) || !json_is_object(root))
            return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        if ((root = json_object_get(root, key)) == NULL || dot == NULL)
            return root;
        path = dot + 1;
    }
}

static enum paved_json_type
fuzz_type(const json_t *v)
{
    if (v == NULL)
        return PAVED_JSON_ABSENT;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return PAVED_JSON_OBJECT;
    case JSON_ARRAY:
        return PAVED_JSON_ARRAY;
    case JSON_STRING:
        return PAVED_JSON_STRING;
    case JSON_INTEGER:
    case JSON_REAL:
        return PAVED_JSON_NUMBER;
    case JSON_TRUE:
        return PAVED_JSON_TRUE;
    case JSON_FALSE:
        return PAVED_JSON_FALSE;
    case JSON_NULL:
    default:
        return PAVED_JSON_NULL;
    }
}

static void
fuzz_compare(const struct paved_jscan_field *f, json_t *v)
{
    const char *path = f->jf_path;
    long long i;
    char *s = NULL;
    size_t len;
    int b;

    if (fuzz_type(v) != f->jf_type)
        fuzz_fail("type", path);
    switch (f->jf_type) {
    case PAVED_JSON_STRING:
        if (paved_jscan_string(&s, &len, f) < 0)
            fuzz_fail("string does not decode", path);
        if (len != json_string_length(v) ||
            memcmp(s, json_string_value(v), len) != 0)
            fuzz_fail("string value", path);
        if (strlen(s) == len && !paved_jscan_streq(f, s))
            fuzz_fail("streq on its own value", path);
        free(s);
        break;
    case PAVED_JSON_NUMBER:
        if (json_is_integer(v)) {
            if (paved_jscan_int(&i, f) < 0 || i != json_integer_value(v))
                fuzz_fail("integer value", path);
        } else {
            char buf[4096];
            double d;

            if (paved_jscan_int(&i, f) == 0)
                fuzz_fail("a real read as an integer", path);
            if (f->jf_len < sizeof(buf)) {
                memcpy(buf, f->jf_start, f->jf_len);
                buf[f->jf_len] = '\0';
                d = strtod(buf, NULL);
                if (memcmp(&d, &(double){json_real_value(v)}, sizeof(d)) != 0 &&
                    !(d == 0 && json_real_value(v) == 0))
                    fuzz_fail("real value", path);
            }
        }
        break;
    case PAVED_JSON_TRUE:
    case PAVED_JSON_FALSE:
        if (paved_jscan_bool(&b, f) < 0 || b != json_is_true(v))
            fuzz_fail("boolean", path);
        break;
    case PAVED_JSON_OBJECT:
        /* the span of an object is a document of its own */
        if (paved_jscan(f->jf_start, f->jf_len, NULL, 0) < 0)
            fuzz_fail("object span does not scan", path);
        if (f->jf_start[0] != '{' || f->jf_start[f->jf_len - 1] != '}')
            fuzz_fail("object span", path);
        break;
    case PAVED_JSON_ARRAY:
        if (f->jf_start[0] != '[' || f->jf_start[f->jf_len - 1] != ']')
            fuzz_fail("array span", path);
        break;
    default:
        break;
    }
}

/* jansson's NUL artefact: does it explain a disagreement? Only when the
 * scanner accepts the input with every NUL that follows a letter or digit
 * removed. */
static int
fuzz_nul_artefact(const uint8_t *data, size_t size)
{
    unsigned char *copy;
    size_t i, n = 0;
    int found = 0, rc;

    if (memchr(data, 0, size) == NULL || (copy = malloc(size)) == NULL)
        return 0;
    for (i = 0; i < size; i++) {
        if (data[i] == 0 && i > 0 &&
            ((data[i - 1] >= '0' && data[i - 1] <= '9') ||
             (data[i - 1] >= 'a' && data[i - 1] <= 'z') ||
             (data[i - 1] >= 'A' && data[i - 1] <= 'Z'))) {
            found = 1;
            continue;
        }
        copy[n++] = data[i];
    }
    rc = found ? paved_jscan(copy, n, NULL, 0) : -1;
    free(copy);
    return rc == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct paved_jscan_field fields[FUZZ_NPATHS];
    json_error_t jerr;
    json_t *root;
    size_t i;
    int ok, jok, rc;

    memset(fields, 0, sizeof(fields));
    for (i = 0; i < FUZZ_NPATHS; i++)
        fields[i].jf_path = fuzz_paths[i];

    root = json_loadb((const char *)data, size, 0, &jerr);
    jok = root != NULL && json_is_object(root);
    ok = paved_jscan(data, size, fields, FUZZ_NPATHS) == 0;
    if (!ok && jok && fuzz_nul_artefact(data, size)) {
        json_decref(root);
        return 0;
    }
    if (ok != jok) {
        fprintf(stderr, "jansson: %s\n", jok ? "accepts" : jerr.text);
        fuzz_fail(ok ? "scanner accepts, jansson refuses"
                     : "scanner refuses, jansson accepts",
                  NULL);
    }
    if (ok)
        for (i = 0; i < FUZZ_NPATHS; i++)
            fuzz_compare(&fields[i], fuzz_lookup(root, fuzz_paths[i]));
    if (!ok)
        for (i = 0; i < FUZZ_NPATHS; i++)
            if (fields[i].jf_type != PAVED_JSON_ABSENT)
                fuzz_fail("a field filled on error", fuzz_paths[i]);
    json_decref(root);

    /* the same with duplicate keys refused */
    root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    jok = root != NULL && json_is_object(root);
    rc = paved_jscan_ext(data, size, fields, FUZZ_NPATHS,
                         PAVED_JSCAN_REJECT_DUPLICATES);
    if (rc != PAVED_ETOOBIG && (rc == 0) != jok) {
        fprintf(stderr, "jansson: %s\n", jok ? "accepts" : jerr.text);
        fuzz_fail(rc == 0 ? "scanner accepts, jansson refuses (dups)"
                          : "scanner refuses, jansson accepts (dups)",
                  NULL);
    }
    if (rc == 0)
        for (i = 0; i < FUZZ_NPATHS; i++)
            fuzz_compare(&fields[i], fuzz_lookup(root, fuzz_paths[i]));
    json_decref(root);
    return 0;
}
