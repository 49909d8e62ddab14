/* Delivery records (issue 7): artifacts and audit log lines. Frees, deep
 * copies for the writer's jobs, and the checks a record passes before it
 * is queued. Plain data: no storage and no SQL here. */
#include <stdlib.h>
#include <string.h>

#include "paved/error.h"
#include "paved/store.h"
#include "store/backend.h"

void
paved_artifact_free(struct paved_artifact *a)
{
    if (a == NULL)
        return;
    free(a->ar_repo);
    free(a->ar_sha);
    free(a->ar_service);
    free(a->ar_kind);
    free(a->ar_ref);
    free(a->ar_digest);
    free(a->ar_start);
    free(a);
}

void
paved_deploy_rec_free(struct paved_deploy_rec *r)
{
    if (r == NULL)
        return;
    free(r->dr_service);
    free(r->dr_env);
    free(r->dr_action);
    free(r->dr_result);
    free(r->dr_version);
    free(r->dr_sha);
    free(r->dr_repo);
    free(r->dr_artifact);
    free(r->dr_digest);
    free(r->dr_actor);
    free(r->dr_reason);
    free(r->dr_detail);
    free(r);
}

void
paved_deploy_list_free(struct paved_deploy_rec **list, size_t n)
{
    size_t i;

    if (list == NULL)
        return;
    for (i = 0; i < n; i++)
        paved_deploy_rec_free(list[i]);
    free(list);
}

#define DUP(f)                                                                 \
    do {                                                                       \
        c->f = src->f != NULL ? strdup(src->f) : NULL;                         \
        failed |= src->f != NULL && c->f == NULL;                              \
    } while (0)

int
store_artifact_copy(struct paved_artifact **out,
                    const struct paved_artifact *src)
{
    struct paved_artifact *c;
    int failed = 0;

    *out = NULL;
    if ((c = calloc(1, sizeof(*c))) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    *c = *src;
    DUP(ar_repo);
    DUP(ar_sha);
    DUP(ar_service);
    DUP(ar_kind);
    DUP(ar_ref);
    DUP(ar_digest);
    DUP(ar_start);
    if (failed) {
        paved_artifact_free(c);
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    }
    *out = c;
    return 0;
}

int
store_deploy_copy(struct paved_deploy_rec **out,
                  const struct paved_deploy_rec *src)
{
    struct paved_deploy_rec *c;
    int failed = 0;

    *out = NULL;
    if ((c = calloc(1, sizeof(*c))) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    *c = *src;
    DUP(dr_service);
    DUP(dr_env);
    DUP(dr_action);
    DUP(dr_result);
    DUP(dr_version);
    DUP(dr_sha);
    DUP(dr_repo);
    DUP(dr_artifact);
    DUP(dr_digest);
    DUP(dr_actor);
    DUP(dr_reason);
    DUP(dr_detail);
    if (failed) {
        paved_deploy_rec_free(c);
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    }
    *out = c;
    return 0;
}

#undef DUP

static int
delivery_empty(const char *s)
{
    return s == NULL || s[0] == '\0';
}

static int
delivery_one_of(const char *s, const char *const *words)
{
    size_t i;

    for (i = 0; words[i] != NULL; i++)
        if (strcmp(s, words[i]) == 0)
            return 1;
    return 0;
}

/* lower-case hex of min..max characters */
static int
delivery_hex(const char *s, size_t min, size_t max)
{
    size_t n = strspn(s, "0123456789abcdef");

    return s[n] == '\0' && n >= min && n <= max;
}

int
store_artifact_check(const struct paved_artifact *a)
{
    static const char *const kinds[] = {"image", "directory", NULL};

    if (delivery_empty(a->ar_repo) || delivery_empty(a->ar_sha) ||
        delivery_empty(a->ar_service) || delivery_empty(a->ar_kind) ||
        delivery_empty(a->ar_ref) || delivery_empty(a->ar_digest))
        return paved_error_set(PAVED_EINVAL,
                               "an artifact needs a repo, a sha, a service, "
                               "a kind, a ref and a digest");
    /* the sha is what a release tag looks the artifact up by: a commit id,
     * SHA-1 or SHA-256, never an abbreviation that could match twice */
    if (!delivery_hex(a->ar_sha, 40, 40) && !delivery_hex(a->ar_sha, 64, 64))
        return paved_error_set(PAVED_EINVAL,
                               "artifact sha \"%s\" is not a full commit id "
                               "(40 or 64 lower-case hex digits)",
                               a->ar_sha);
    if (!delivery_one_of(a->ar_kind, kinds))
        return paved_error_set(PAVED_EINVAL,
                               "artifact kind \"%s\" is not image or "
                               "directory",
                               a->ar_kind);
    if (strncmp(a->ar_digest, "sha256:", 7) != 0 ||
        !delivery_hex(a->ar_digest + 7, 64, 64))
        return paved_error_set(PAVED_EINVAL,
                               "artifact digest \"%s\" is not "
                               "sha256:<64 hex digits>",
                               a->ar_digest);
    return 0;
}

int
store_deploy_check(const struct paved_deploy_rec *r)
{
    static const char *const actions[] = {
        "deploy", "canary", "smoke", "promote", "rollback", "approve", NULL};
    static const char *const results[] = {"ok", "failed", "started", "waiting",
                                          NULL};

    if (delivery_empty(r->dr_service) || delivery_empty(r->dr_env) ||
        delivery_empty(r->dr_action) || delivery_empty(r->dr_result))
        return paved_error_set(PAVED_EINVAL,
                               "an audit log line needs a service, an "
                               "environment, an action and a result");
    if (!delivery_one_of(r->dr_action, actions))
        return paved_error_set(PAVED_EINVAL,
                               "deploy action \"%s\" is not one of deploy "
                               "canary smoke promote rollback approve",
                               r->dr_action);
    if (!delivery_one_of(r->dr_result, results))
        return paved_error_set(PAVED_EINVAL,
                               "deploy result \"%s\" is not one of ok failed "
                               "started waiting",
                               r->dr_result);
    return 0;
}
