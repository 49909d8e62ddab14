#ifndef PAVED_FORGE_TEST_H
#define PAVED_FORGE_TEST_H
/* What the forge tests share: a request's headers (a small table of
 * borrowed strings and the lookup function struct paved_forge_request
 * wants) and reading a payload file. Test-only; static so that each test
 * file gets its own copy. Include after cmocka.h. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#define HDRS_MAX 16

struct hdrs {
    const char *name[HDRS_MAX];
    const char *value[HDRS_MAX];
    size_t n;
};

/* case-insensitive, as HTTP header names are */
__attribute__((unused)) static const char *
hdr_get(void *ctx, const char *name)
{
    struct hdrs *h = ctx;
    size_t i;

    for (i = 0; i < h->n; i++)
        if (strcasecmp(h->name[i], name) == 0)
            return h->value[i];
    return NULL;
}

/* Set, replace, or with value NULL remove a header. */
__attribute__((unused)) static void
hdr_set(struct hdrs *h, const char *name, const char *value)
{
    size_t i;

    for (i = 0; i < h->n; i++) {
        if (strcasecmp(h->name[i], name) == 0) {
            if (value != NULL) {
                h->value[i] = value;
            } else {
                h->n--;
                h->name[i] = h->name[h->n];
                h->value[i] = h->value[h->n];
            }
            return;
        }
    }
    if (value != NULL && h->n < HDRS_MAX) {
        h->name[h->n] = name;
        h->value[h->n++] = value;
    }
}

/* The bytes of dir/rel, NUL-terminated, where dir is the environment
 * variable `env` (ctest sets PAVED_SOURCE_DIR and PAVED_SHARED_DIR) or
 * `fallback`. Fails the test when the file cannot be read. */
__attribute__((unused)) static unsigned char *
forge_test_load(const char *env, const char *fallback, const char *rel,
                size_t *len)
{
    const char *dir = getenv(env);
    char path[4096];
    unsigned char *buf;
    long size;
    FILE *fp;

    snprintf(path, sizeof(path), "%s/%s", dir != NULL ? dir : fallback, rel);
    if ((fp = fopen(path, "rb")) == NULL)
        fail_msg("cannot open %s (set %s)", path, env);
    fseek(fp, 0, SEEK_END);
    size = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    buf = malloc((size_t)size + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)size, fp), (size_t)size);
    fclose(fp);
    buf[size] = '\0';
    *len = (size_t)size;
    return buf;
}

#endif
