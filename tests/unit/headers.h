#ifndef PAVED_TEST_HEADERS_H
#define PAVED_TEST_HEADERS_H
/* A request's headers for forge tests: a small table of borrowed strings
 * and the lookup function struct paved_forge_request wants. Test-only;
 * static so that each test file gets its own copy. */
#include <stddef.h>
#include <strings.h>

#define HDRS_MAX 16

struct hdrs {
    const char *name[HDRS_MAX];
    const char *value[HDRS_MAX];
    size_t n;
};

/* case-insensitive, as HTTP header names are */
static const char *
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
static void
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

#endif
