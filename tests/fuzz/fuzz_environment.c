/* Fuzz target: any bytes as an environment file, and what follows a line
 * "#---" as a second one. paved_environment_parse must return an
 * environment or diagnostics, never crash, leak, hang or read past len;
 * environments that load go into one set (duplicate names, port clashes)
 * and every view of them is read. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "paved/environment.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t
fuzz_use(const paved_environment *env)
{
    const struct paved_env_analysis *an;
    const struct paved_env_canary *cn;
    const struct paved_env_smoke *sm;
    const struct paved_env_exec *ex;
    size_t n, i, sum = 0;

    sum += strlen(paved_environment_name(env));
    sum += strlen(paved_env_driver_name(paved_environment_driver(env)));
    if (paved_environment_from(env) != NULL)
        sum += strlen(paved_environment_from(env));
    if (paved_environment_local(env) != NULL)
        sum += strlen(paved_environment_local(env)->lo_listen);
    if (paved_environment_kubernetes(env) != NULL)
        sum += strlen(paved_environment_kubernetes(env)->k8_namespace);
    if ((ex = paved_environment_exec(env)) != NULL)
        for (i = 0; i < ex->ex_deploy.av_argc; i++)
            sum += strlen(ex->ex_deploy.av_argv[i]);
    if ((cn = paved_environment_canary(env)) != NULL)
        for (i = 0; i < cn->cn_nweights; i++)
            sum += cn->cn_weights[i];
    if ((an = paved_environment_analysis(env)) != NULL)
        for (i = 0; i < an->an_nqueries; i++)
            sum += strlen(an->an_queries[i].q_query);
    sm = paved_environment_smoke(env, &n);
    for (i = 0; i < n; i++)
        sum += strlen(sm[i].sm_url);
    return sum;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct paved_pipeline_diags dl = PAVED_PIPELINE_DIAGS_INIT;
    paved_environment_set *set = NULL;
    paved_environment *a = NULL, *b = NULL;
    volatile size_t sink = 0;
    size_t alen = size, i;
    uint8_t *copy;

    /* an exact-size copy so ASan sees any read past the end */
    if ((copy = malloc(size ? size : 1)) == NULL)
        return 0;
    if (size > 0)
        memcpy(copy, data, size);
    for (i = 0; i + 5 <= size; i++) {
        if (memcmp(copy + i, "\n#---", 5) == 0) {
            alen = i + 1;
            break;
        }
    }
    if (paved_environment_parse(&a, &dl, "a.yaml", copy, alen) == 0)
        sink += fuzz_use(a);
    if (alen < size && paved_environment_parse(&b, &dl, "b.yaml", copy + alen,
                                               size - alen) == 0)
        sink += fuzz_use(b);
    if (paved_environment_set_new(&set) == 0) {
        if (a != NULL)
            (void)paved_environment_set_add(set, a, &dl); /* owns a now */
        if (b != NULL)
            (void)paved_environment_set_add(set, b, &dl);
        a = b = NULL;
        for (i = 0; i < paved_environment_set_count(set); i++)
            sink += fuzz_use(paved_environment_set_get(set, i));
        (void)paved_environment_set_find(set, "production");
    }
    (void)sink;
    paved_environment_set_free(set);
    paved_environment_free(a);
    paved_environment_free(b);
    paved_pipeline_diags_dispose(&dl);
    free(copy);
    return 0;
}
