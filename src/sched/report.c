/* What the scheduler tells the forge: a run's start and end as outbox
 * rows, written in the same store transaction as the run's state, and
 * "skipped" for pipelines whose filters passed a commit by, so that a
 * required check never waits forever. The reporter sends them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "paved/error.h"
#include "sched/sched_int.h"

static void
report_committed(const struct paved_store_done *done, void *arg)
{
    paved_sched *s = arg;

    if (done->sd_result == 0 && !s->s_stopping)
        paved_reporter_kick(s->s_deps.sd_reporter);
}

/* "<public_url>/api/v1/runs/<id>", or NULL without a public_url */
static char *
report_target(const paved_sched *s, int64_t run)
{
    const char *base = s->s_cf->cf_public_url;
    size_t len;
    char *url;

    if (base == NULL || base[0] == '\0' || run <= 0)
        return NULL;
    len = strlen(base) + 48;
    if ((url = malloc(len)) == NULL)
        return NULL;
    snprintf(url, len, "%s%sapi/v1/runs/%lld", base,
             base[strlen(base) - 1] == '/' ? "" : "/", (long long)run);
    return url;
}

/* Run r's row for one context. Borrowed strings but oi_target_url, which
 * the caller frees. */
static void
report_item(struct paved_outbox_item *it, const struct sched_run *r,
            const char *forge, const char *context, const char *state,
            const char *description)
{
    memset(it, 0, sizeof(*it));
    it->oi_forge = (char *)forge;
    it->oi_repo = r->r_rec->ru_repo;
    it->oi_sha = r->r_rec->ru_sha;
    it->oi_context = (char *)context;
    it->oi_state = (char *)state;
    it->oi_description = (char *)description;
    it->oi_target_url = report_target(r->r_sched, r->r_rec->ru_id);
    it->oi_run = r->r_rec->ru_id;
}

static void
report_context(char *out, size_t len, const char *pipeline)
{
    snprintf(out, len, "paved/%s", pipeline);
}

static void report_row(struct sched_run *r, const char *state,
                       const char *description, bool final);

void
sched_report(struct sched_run *r, const char *state, const char *description)
{
    report_row(r, state, description, false);
}

static void
report_row(struct sched_run *r, const char *state, const char *description,
           bool final)
{
    paved_sched *s = r->r_sched;
    struct paved_outbox_item it;
    const char *forge = paved_forge_name(r->r_ev.ev_forge);
    char context[160];
    int error;

    if (s->s_deps.sd_reporter == NULL ||
        !paved_reporter_configured(s->s_cf, forge) ||
        r->r_rec->ru_repo == NULL || r->r_rec->ru_sha == NULL) {
        sched_run_save(r);
        return;
    }
    report_context(context, sizeof(context), r->r_rec->ru_pipeline);
    report_item(&it, r, forge, context, state, description);
    /* a check run shows more than a state: the steps, what failed, and
     * the annotations the steps wrote */
    if (final && paved_reporter_checks(s->s_cf, forge)) {
        it.oi_summary = sched_output_summary(r);
        it.oi_text = sched_output_text(r);
        it.oi_annotations = sched_output_annotations(r);
    }
    error = paved_store_run_save_report(s->s_store, r->r_rec, &it, 1,
                                        report_committed, s);
    free(it.oi_target_url);
    free(it.oi_summary);
    free(it.oi_text);
    free(it.oi_annotations);
    if (error < 0)
        paved_log_kv(s->s_log, PAVED_LOG_ERROR, "cannot save run", "error",
                     paved_error_last(), NULL);
}

void
sched_report_final(struct sched_run *r)
{
    const struct paved_run *rec = r->r_rec;
    char desc[256];

    switch (rec->ru_state) {
    case PAVED_RUN_SUCCESS:
        if (rec->ru_reason != NULL)
            snprintf(desc, sizeof(desc), "%s", rec->ru_reason);
        else
            snprintf(
                desc, sizeof(desc), "passed in %llds",
                (long long)((rec->ru_finished_ms - rec->ru_started_ms + 999) /
                            1000));
        break;
    case PAVED_RUN_ERROR:
        /* a checkout's or a secret's failure names URLs and local paths:
         * the forge (often public) gets the stage, the run has the rest */
        if (rec->ru_reason != NULL &&
            (strncmp(rec->ru_reason, "checkout failed", 15) == 0 ||
             strncmp(rec->ru_reason, "secrets", 7) == 0)) {
            snprintf(desc, sizeof(desc), "%.*s: details in paved run %lld",
                     (int)strcspn(rec->ru_reason, ":"), rec->ru_reason,
                     (long long)rec->ru_id);
            break;
        }
        /* fall through */
    default:
        snprintf(desc, sizeof(desc), "%s",
                 rec->ru_reason != NULL ? rec->ru_reason
                                        : paved_run_state_name(rec->ru_state));
    }
    report_row(r, paved_run_state_name(rec->ru_state), desc, true);
}

int
sched_report_step(struct sched_step *st)
{
    struct sched_run *r = st->ss_run;
    paved_sched *s = r->r_sched;
    const struct paved_step_rec *rec = &st->ss_rec;
    const char *forge = paved_forge_name(r->r_ev.ev_forge);
    struct paved_outbox_item it;
    char context[256], desc[256];
    const char *state;
    int error;

    if (!s->s_cf->cf_report_steps || s->s_deps.sd_reporter == NULL ||
        !paved_reporter_configured(s->s_cf, forge) ||
        rec->sr_state == PAVED_RUN_QUEUED)
        return 0;
    snprintf(context, sizeof(context), "paved/%s/%s", r->r_rec->ru_pipeline,
             rec->sr_name);
    switch (rec->sr_state) {
    case PAVED_RUN_RUNNING:
        state = "running";
        snprintf(desc, sizeof(desc), "running (attempt %u)", rec->sr_attempts);
        break;
    case PAVED_RUN_SKIPPED:
        /* a skipped step must not hold a required check */
        state = "success";
        snprintf(desc, sizeof(desc), "skipped: %s",
                 rec->sr_reason ? rec->sr_reason : "");
        break;
    case PAVED_RUN_SUCCESS:
        state = "success";
        snprintf(desc, sizeof(desc), "passed");
        break;
    default:
        state = paved_run_state_name(rec->sr_state);
        snprintf(desc, sizeof(desc), "%s",
                 rec->sr_reason ? rec->sr_reason : state);
    }
    report_item(&it, r, forge, context, state, desc);
    error = paved_store_step_save_report(s->s_store, rec, &it, 1,
                                         report_committed, s);
    free(it.oi_target_url);
    if (error < 0)
        paved_log_kv(s->s_log, PAVED_LOG_ERROR, "cannot save step", "error",
                     paved_error_last(), NULL);
    return 1;
}

/* Skips worth a status: the pipeline applies to this repository and
 * event kind, and its own filters passed the commit by. */
static int
report_skip_counts(const char *why)
{
    return why != NULL && strncmp(why, "no on.", 6) != 0 &&
           strstr(why, "never run") == NULL &&
           strcmp(why, "repository not in repos") != 0 &&
           strstr(why, "deleted") == NULL && strstr(why, "without") == NULL;
}

int
sched_report_skip(struct paved_store_plan *plan, const paved_sched *s,
                  const paved_pipeline *pl, const struct paved_event *ev,
                  const char *why)
{
    const char *forge = paved_forge_name(ev->ev_forge);
    struct paved_outbox_item *it, **items;
    char context[160], desc[200];

    if (s->s_deps.sd_reporter == NULL ||
        !paved_reporter_configured(s->s_cf, forge) || ev->ev_repo == NULL ||
        ev->ev_sha == NULL || !report_skip_counts(why))
        return 0;
    report_context(context, sizeof(context), paved_pipeline_name(pl));
    snprintf(desc, sizeof(desc), "skipped: %s", why);
    items = realloc(plan->pp_items, (plan->pp_nitems + 1) * sizeof(*items));
    if (items == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    plan->pp_items = items;
    if ((it = calloc(1, sizeof(*it))) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    items[plan->pp_nitems++] = it;
    it->oi_forge = strdup(forge);
    it->oi_repo = strdup(ev->ev_repo);
    it->oi_sha = strdup(ev->ev_sha);
    it->oi_context = strdup(context);
    it->oi_state = strdup("success");
    it->oi_description = strdup(desc);
    if (it->oi_forge == NULL || it->oi_repo == NULL || it->oi_sha == NULL ||
        it->oi_context == NULL || it->oi_state == NULL ||
        it->oi_description == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    return 0;
}
