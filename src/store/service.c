/* Service catalog records: frees and copies. Plain data shared by the
 * store, the scaffold and the API; no storage here. */
#include <stdlib.h>
#include <string.h>

#include "paved/error.h"
#include "paved/store.h"
#include "store/backend.h"

void
paved_service_free(struct paved_service *s)
{
    if (s == NULL)
        return;
    free(s->sv_name);
    free(s->sv_type);
    free(s->sv_lang);
    free(s->sv_owner);
    free(s->sv_repo);
    free(s->sv_url);
    free(s);
}

void
paved_service_list_free(struct paved_service **list, size_t n)
{
    size_t i;

    if (list == NULL)
        return;
    for (i = 0; i < n; i++)
        paved_service_free(list[i]);
    free(list);
}

int
store_service_copy(struct paved_service **out, const struct paved_service *src)
{
    struct paved_service *c;
    int failed = 0;

    *out = NULL;
    if ((c = calloc(1, sizeof(*c))) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    *c = *src;
#define DUP(f)                                                                 \
    do {                                                                       \
        c->f = src->f != NULL ? strdup(src->f) : NULL;                         \
        failed |= src->f != NULL && c->f == NULL;                              \
    } while (0)
    DUP(sv_name);
    DUP(sv_type);
    DUP(sv_lang);
    DUP(sv_owner);
    DUP(sv_repo);
    DUP(sv_url);
#undef DUP
    if (failed) {
        paved_service_free(c);
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    }
    *out = c;
    return 0;
}
