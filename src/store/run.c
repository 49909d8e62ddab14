/* Run and step records: state names, copies and frees. Plain data shared
 * by the store, the scheduler and the API. */
#include <stdlib.h>
#include <string.h>

#include "paved/error.h"
#include "paved/store.h"
#include "store/backend.h"

static const char *const run_state_names[PAVED_RUN__COUNT] = {
    "queued", "running", "success", "failure", "cancelled", "error", "skipped",
};

const char *
paved_run_state_name(enum paved_run_state s)
{
    if ((unsigned)s >= PAVED_RUN__COUNT)
        return "unknown";
    return run_state_names[s];
}

int
paved_run_state_from_name(enum paved_run_state *out, const char *name)
{
    unsigned i;

    for (i = 0; i < PAVED_RUN__COUNT; i++) {
        if (strcmp(run_state_names[i], name) == 0) {
            *out = (enum paved_run_state)i;
            return 0;
        }
    }
    return paved_error_set(PAVED_EINVAL,
                           "unknown state \"%s\" (one of queued running "
                           "success failure cancelled error skipped)",
                           name);
}

int
paved_run_state_final(enum paved_run_state s)
{
    return s != PAVED_RUN_QUEUED && s != PAVED_RUN_RUNNING;
}

void
paved_step_rec_dispose(struct paved_step_rec *s)
{
    if (s == NULL)
        return;
    free(s->sr_name);
    free(s->sr_reason);
    free(s->sr_needs);
    memset(s, 0, sizeof(*s));
}

void
paved_run_free(struct paved_run *r)
{
    size_t i;

    if (r == NULL)
        return;
    free(r->ru_delivery_id);
    free(r->ru_pipeline);
    free(r->ru_repo);
    free(r->ru_ref);
    free(r->ru_sha);
    free(r->ru_kind);
    free(r->ru_env);
    free(r->ru_group);
    free(r->ru_reason);
    free(r->ru_event_json);
    for (i = 0; i < r->ru_nsteps; i++)
        paved_step_rec_dispose(&r->ru_steps[i]);
    free(r->ru_steps);
    free(r);
}

void
paved_run_list_free(struct paved_run **list, size_t n)
{
    size_t i;

    if (list == NULL)
        return;
    for (i = 0; i < n; i++)
        paved_run_free(list[i]);
    free(list);
}

/* strdup that keeps NULL and counts failures */
static char *
run_dup(const char *s, int *failed)
{
    char *d;

    if (s == NULL)
        return NULL;
    if ((d = strdup(s)) == NULL)
        *failed = 1;
    return d;
}

int
paved_step_rec_copy(struct paved_step_rec *dst,
                    const struct paved_step_rec *src)
{
    int failed = 0;

    *dst = *src;
    dst->sr_name = run_dup(src->sr_name, &failed);
    dst->sr_reason = run_dup(src->sr_reason, &failed);
    dst->sr_needs = run_dup(src->sr_needs, &failed);
    if (failed) {
        paved_step_rec_dispose(dst);
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    }
    return 0;
}

int
paved_run_copy(struct paved_run **out, const struct paved_run *r,
               int with_steps)
{
    struct paved_run *c;
    int failed = 0;
    size_t i;

    *out = NULL;
    if ((c = calloc(1, sizeof(*c))) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    *c = *r;
    c->ru_steps = NULL;
    c->ru_nsteps = 0;
    c->ru_delivery_id = run_dup(r->ru_delivery_id, &failed);
    c->ru_pipeline = run_dup(r->ru_pipeline, &failed);
    c->ru_repo = run_dup(r->ru_repo, &failed);
    c->ru_ref = run_dup(r->ru_ref, &failed);
    c->ru_sha = run_dup(r->ru_sha, &failed);
    c->ru_kind = run_dup(r->ru_kind, &failed);
    c->ru_env = run_dup(r->ru_env, &failed);
    c->ru_group = run_dup(r->ru_group, &failed);
    c->ru_reason = run_dup(r->ru_reason, &failed);
    c->ru_event_json = run_dup(r->ru_event_json, &failed);
    if (!failed && with_steps && r->ru_nsteps > 0) {
        if ((c->ru_steps = calloc(r->ru_nsteps, sizeof(*c->ru_steps))) == NULL)
            failed = 1;
        for (i = 0; !failed && i < r->ru_nsteps; i++) {
            if (paved_step_rec_copy(&c->ru_steps[i], &r->ru_steps[i]) < 0)
                failed = 1;
            else
                c->ru_nsteps++;
        }
    }
    if (failed) {
        paved_run_free(c);
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    }
    *out = c;
    return 0;
}

void
paved_store_plan_free(struct paved_store_plan *plan)
{
    if (plan == NULL)
        return;
    paved_run_list_free(plan->pp_runs, plan->pp_nruns);
    paved_run_list_free(plan->pp_updates, plan->pp_nupdates);
    paved_outbox_list_free(plan->pp_items, plan->pp_nitems);
    free(plan);
}

void
paved_outbox_item_free(struct paved_outbox_item *it)
{
    if (it == NULL)
        return;
    free(it->oi_forge);
    free(it->oi_repo);
    free(it->oi_sha);
    free(it->oi_context);
    free(it->oi_state);
    free(it->oi_description);
    free(it->oi_target_url);
    free(it->oi_status);
    free(it->oi_last_error);
    free(it->oi_summary);
    free(it->oi_text);
    free(it->oi_annotations);
    free(it);
}

void
paved_outbox_list_free(struct paved_outbox_item **list, size_t n)
{
    size_t i;

    if (list == NULL)
        return;
    for (i = 0; i < n; i++)
        paved_outbox_item_free(list[i]);
    free(list);
}
