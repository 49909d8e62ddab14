/* Fuzz target: any bytes as a pipeline file, and what follows a line
 * "#---" as a .paved.yaml. paved_pipeline_parse must return a pipeline or
 * diagnostics, never crash, leak, hang or read past len; a pipeline that
 * loads is then matched, its `if`s evaluated and the .paved.yaml merged
 * into it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "paved/event.h"
#include "paved/pipeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_use(const paved_pipeline *pl)
{
    static const char *const paths[] = {"src/a.c", "docs/x/y.md", ""};
    struct paved_event ev;
    const char *why;
    char *group = NULL;
    size_t i;

    memset(&ev, 0, sizeof(ev));
    ev.ev_kind = PAVED_EVENT_PUSH;
    ev.ev_repo = "acme/app";
    ev.ev_branch = "main";
    ev.ev_ref = "refs/heads/main";
    ev.ev_action = "opened";
    ev.ev_pr_base = "main";
    ev.ev_tag = "v1.0";
    for (i = 0; i < paved_pipeline_nsteps(pl); i++)
        (void)paved_pipeline_eval_if(pl, i, &ev);
    (void)paved_pipeline_match(pl, &ev, paths, 3, &why);
    ev.ev_kind = PAVED_EVENT_TAG;
    (void)paved_pipeline_match(pl, &ev, NULL, 0, &why);
    ev.ev_kind = PAVED_EVENT_PULL_REQUEST;
    (void)paved_pipeline_match(pl, &ev, paths, 3, &why);
    if (paved_pipeline_concurrency_group(&group, pl, &ev) == 0)
        free(group);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct paved_pipeline_diags dl = PAVED_PIPELINE_DIAGS_INIT;
    paved_pipeline_set *set = NULL;
    paved_pipeline_repo *rf = NULL;
    paved_pipeline *pl = NULL, *merged = NULL;
    size_t plen = size, i;
    uint8_t *copy;

    /* an exact-size copy so ASan sees any read past the end */
    if ((copy = malloc(size ? size : 1)) == NULL)
        return 0;
    if (size > 0)
        memcpy(copy, data, size);
    for (i = 0; i + 5 <= size; i++) {
        if (memcmp(copy + i, "\n#---", 5) == 0) {
            plen = i + 1;
            break;
        }
    }
    if (paved_pipeline_parse(&pl, &dl, "fuzz.yaml", copy, plen) == 0)
        fuzz_use(pl);
    if (paved_pipeline_set_new(&set) == 0 && pl != NULL) {
        (void)paved_pipeline_set_add(set, pl, &dl); /* owns pl now */
        pl = NULL;
    }
    if (paved_pipeline_repo_parse(&rf, &dl, ".paved.yaml", copy + plen,
                                  size - plen) == 0 &&
        set != NULL && paved_pipeline_merge(&merged, &dl, set, rf) == 0)
        fuzz_use(merged);
    paved_pipeline_free(merged);
    paved_pipeline_repo_free(rf);
    paved_pipeline_set_free(set);
    paved_pipeline_free(pl);
    paved_pipeline_diags_dispose(&dl);
    free(copy);
    return 0;
}
