/* Deliveries become runs here, exactly once: the runs a delivery produces
 * and its "planned" mark are written in one store transaction, so a crash
 * before the commit plans it again and a crash after it does not. Also
 * crash recovery (runs left `running`) and replay. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "paved/error.h"
#include "sched/sched_int.h"

#define PLAN_BATCH 64

struct paved_run *
sched_run_record(const paved_pipeline *pl, const struct paved_event *ev,
                 const char *event_json, int64_t seq)
{
    struct paved_run *r;
    const char *env = paved_pipeline_environment(ev);

    if ((r = calloc(1, sizeof(*r))) == NULL) {
        paved_error_set(PAVED_ENOMEM, "out of memory");
        return NULL;
    }
    r->ru_delivery_seq = seq;
    r->ru_state = PAVED_RUN_QUEUED;
    r->ru_attempt = 1;
    r->ru_created_ms = sched_now_ms();
    r->ru_pipeline = strdup(paved_pipeline_name(pl));
    r->ru_repo = strdup(ev->ev_repo != NULL ? ev->ev_repo : "");
    r->ru_ref = ev->ev_ref != NULL ? strdup(ev->ev_ref) : NULL;
    r->ru_sha = strdup(ev->ev_sha != NULL ? ev->ev_sha : "");
    r->ru_kind = strdup(paved_event_kind_name(ev->ev_kind));
    r->ru_env = env != NULL ? strdup(env) : NULL;
    r->ru_event_json = strdup(event_json);
    if (r->ru_pipeline == NULL || r->ru_repo == NULL || r->ru_sha == NULL ||
        r->ru_kind == NULL || r->ru_event_json == NULL ||
        (ev->ev_ref != NULL && r->ru_ref == NULL) ||
        (env != NULL && r->ru_env == NULL) ||
        paved_pipeline_concurrency_group(&r->ru_group, pl, ev) < 0) {
        paved_run_free(r);
        paved_error_set(PAVED_ENOMEM, "out of memory");
        return NULL;
    }
    return r;
}

/* The runs d should produce: one per matching pipeline. */
static int
plan_build(struct paved_store_plan **out, paved_sched *s,
           const struct paved_delivery *d, int force)
{
    const paved_pipeline_set *set = s->s_deps.sd_pipelines;
    struct paved_store_plan *plan;
    struct paved_event ev;
    size_t i, n = set != NULL ? paved_pipeline_set_count(set) : 0;
    int error = 0;

    *out = NULL;
    memset(&ev, 0, sizeof(ev));
    if ((plan = calloc(1, sizeof(*plan))) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    plan->pp_delivery_seq = d->dl_seq;
    plan->pp_force = force;
    if (paved_event_from_json(&ev, d->dl_event_json, strlen(d->dl_event_json)) <
        0) {
        /* stored by this paved, so never expected: plan nothing, loudly */
        paved_log_kv(s->s_log, PAVED_LOG_ERROR,
                     "stored event unreadable: planned no run", "delivery",
                     d->dl_id, "error", paved_error_last(), NULL);
        *out = plan;
        return 0;
    }
    if (n > 0 && (plan->pp_runs = calloc(n, sizeof(*plan->pp_runs))) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < n; i++) {
        const paved_pipeline *pl = paved_pipeline_set_get(set, i);
        const char *why = NULL;
        struct paved_run *r;
        if (paved_pipeline_match(pl, &ev, NULL, 0, &why) != 1) {
            paved_log_kv(s->s_log, PAVED_LOG_DEBUG, "pipeline skipped",
                         "delivery", d->dl_id, "pipeline",
                         paved_pipeline_name(pl), "reason", why, NULL);
            if (!force &&
                (error = sched_report_skip(plan, s, pl, &ev, why)) < 0)
                goto out;
            continue;
        }
        if ((r = sched_run_record(pl, &ev, d->dl_event_json, d->dl_seq)) ==
            NULL) {
            error = PAVED_ENOMEM;
            goto out;
        }
        plan->pp_runs[plan->pp_nruns++] = r;
    }
    *out = plan;
    plan = NULL;
out:
    paved_event_dispose(&ev);
    paved_store_plan_free(plan);
    return error;
}

static void
plan_log_runs(paved_sched *s, const struct paved_store_plan *plan,
              const char *delivery)
{
    char id[32], dup[32];
    size_t i;

    for (i = 0; i < plan->pp_nruns; i++) {
        const struct paved_run *r = plan->pp_runs[i];
        snprintf(id, sizeof(id), "%lld", (long long)r->ru_id);
        snprintf(dup, sizeof(dup), "%lld", (long long)r->ru_dup_of);
        if (r->ru_dup_of > 0)
            paved_log_kv(s->s_log, PAVED_LOG_INFO,
                         "same commit and pipeline: no new run", "delivery",
                         delivery, "pipeline", r->ru_pipeline, "sha", r->ru_sha,
                         "run", dup, NULL);
        else if (r->ru_id > 0)
            paved_log_kv(s->s_log, PAVED_LOG_INFO, "run queued", "run", id,
                         "delivery", delivery, "pipeline", r->ru_pipeline,
                         "repo", r->ru_repo, "sha", r->ru_sha, "env", r->ru_env,
                         NULL);
    }
}

/* Hands the newly inserted runs to the queue; frees the plan. */
static void
plan_adopt(paved_sched *s, struct paved_store_plan *plan)
{
    size_t i;

    for (i = 0; i < plan->pp_nruns; i++) {
        struct paved_run *r = plan->pp_runs[i];
        if (r->ru_id <= 0)
            continue;
        plan->pp_runs[i] = NULL;
        if (sched_add_run(s, r) < 0)
            paved_log_kv(s->s_log, PAVED_LOG_ERROR, "cannot queue run", "error",
                         paved_error_last(), NULL);
    }
    paved_store_plan_free(plan);
}

static void
plan_done(struct paved_store_plan *plan, void *arg)
{
    paved_sched *s = arg;
    char seq[32];

    s->s_plans_inflight--;
    snprintf(seq, sizeof(seq), "#%lld", (long long)plan->pp_delivery_seq);
    if (s->s_stopping) {
        paved_store_plan_free(plan);
        return;
    }
    if (plan->pp_result == PAVED_EEXISTS) {
        /* planned by an earlier process: its runs are in the store */
        paved_store_plan_free(plan);
    } else if (plan->pp_result < 0) {
        struct timeval again = {1, 0};
        paved_log_kv(s->s_log, PAVED_LOG_ERROR,
                     "cannot plan delivery: retrying in 1s", "delivery", seq,
                     "error", plan->pp_msg, NULL);
        /* read it again on the next pass */
        if (plan->pp_delivery_seq - 1 < s->s_cursor)
            s->s_cursor = plan->pp_delivery_seq - 1;
        paved_store_plan_free(plan);
        evtimer_add(s->s_retry_ev, &again);
    } else {
        if (plan->pp_nitems > 0)
            paved_reporter_kick(s->s_deps.sd_reporter);
        plan_log_runs(s, plan, seq);
        plan_adopt(s, plan);
    }
    if (s->s_plans_inflight == 0 && s->s_replan) {
        s->s_replan = false;
        paved_sched_kick(s);
    }
}

void
sched_plan_pass(paved_sched *s)
{
    struct paved_delivery **list = NULL;
    struct paved_store_plan *plan;
    size_t n = 0, i;

    if (s->s_stopping || !s->s_started)
        return;
    if (s->s_plans_inflight > 0) {
        /* what the last pass submitted is not committed yet: reading now
         * would only find it again */
        s->s_replan = true;
        return;
    }
    if (paved_store_delivery_unplanned(&list, &n, s->s_store, PLAN_BATCH,
                                       s->s_cursor) < 0) {
        struct timeval again = {1, 0};
        paved_log_kv(s->s_log, PAVED_LOG_ERROR,
                     "cannot read deliveries to plan: retrying in 1s", "error",
                     paved_error_last(), NULL);
        evtimer_add(s->s_retry_ev, &again);
        return;
    }
    for (i = 0; i < n; i++) {
        s->s_cursor = list[i]->dl_seq;
        if (plan_build(&plan, s, list[i], 0) < 0) {
            paved_log_kv(s->s_log, PAVED_LOG_ERROR, "cannot plan delivery",
                         "delivery", list[i]->dl_id, "error",
                         paved_error_last(), NULL);
            s->s_cursor = list[i]->dl_seq - 1;
            break;
        }
        if (paved_store_plan(s->s_store, plan, plan_done, s) < 0) {
            s->s_cursor = list[i]->dl_seq - 1;
            break;
        }
        s->s_plans_inflight++;
    }
    if (n == PLAN_BATCH)
        s->s_replan = true;
    paved_delivery_list_free(list, n);
}

/* ---- crash recovery ---------------------------------------------------- */

static void
recover_done(struct paved_store_plan *plan, void *arg)
{
    paved_sched *s = arg;
    size_t i;

    s->s_plans_inflight--;
    if (s->s_stopping) {
        paved_store_plan_free(plan);
        return;
    }
    if (plan->pp_result < 0) {
        paved_log_kv(s->s_log, PAVED_LOG_ERROR,
                     "cannot record interrupted runs", "error", plan->pp_msg,
                     NULL);
        paved_store_plan_free(plan);
    } else {
        for (i = 0; i < plan->pp_nupdates; i++) {
            const struct paved_run *u = plan->pp_updates[i];
            char id[32];
            snprintf(id, sizeof(id), "%lld", (long long)u->ru_id);
            paved_log_kv(s->s_log, PAVED_LOG_WARN, "run interrupted", "run", id,
                         "reason", u->ru_reason, NULL);
        }
        plan_adopt(s, plan);
    }
    s->s_started = true;
    paved_sched_kick(s);
    sched_pump_later(s);
}

/* A step the dead process started may still run (kill -9 does not reach
 * its children). Its process group is killed, but only when that pid is
 * still our step: its command line names the step's script, so a reused
 * pid is never touched. */
static void
recover_kill_leftover(paved_sched *s, const struct paved_step_rec *st)
{
    char path[64], script[4096], cmd[8192];
    ssize_t n = 0, got;
    int fd;

    if (st->sr_pid <= 1)
        return;
    snprintf(path, sizeof(path), "/proc/%d/cmdline", st->sr_pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return; /* gone */
    while (n < (ssize_t)sizeof(cmd) - 1 &&
           (got = read(fd, cmd + n, sizeof(cmd) - 1 - (size_t)n)) > 0)
        n += got;
    close(fd);
    cmd[n > 0 ? n : 0] = '\0';
    /* argv is NUL-separated: "sh\0-e\0<script>\0" */
    snprintf(script, sizeof(script), "%s/%lld/%u-%s.sh", s->s_runs_dir,
             (long long)st->sr_run, st->sr_index, st->sr_name);
    if (memmem(cmd, (size_t)(n > 0 ? n : 0), script, strlen(script) + 1) ==
        NULL)
        return;
    if (kill(-(pid_t)st->sr_pid, SIGKILL) == 0) {
        char id[32];
        snprintf(id, sizeof(id), "%d", st->sr_pid);
        paved_log_kv(s->s_log, PAVED_LOG_WARN,
                     "killed a step left running by the previous process",
                     "pgid", id, "step", st->sr_name, NULL);
    }
}

/* An interrupted run: marked error, its unfinished steps too, and (the
 * first time) replaced by a fresh run of the same pipeline and commit.
 * Resuming in place is not attempted: the workspace may be half-written
 * and a step half-done; a new run from a clean checkout is the one state
 * we can reason about. */
static int
recover_one(struct paved_store_plan *plan, paved_sched *s,
            struct paved_run *old)
{
    struct paved_run *full = NULL, *again = NULL;
    char why[160];
    size_t i;
    int error;

    if ((error = paved_store_run_get(&full, s->s_store, old->ru_id)) < 0)
        return error;
    for (i = 0; i < full->ru_nsteps; i++) {
        struct paved_step_rec *st = &full->ru_steps[i];
        if (paved_run_state_final(st->sr_state))
            continue;
        if (st->sr_state == PAVED_RUN_RUNNING)
            recover_kill_leftover(s, st);
        st->sr_pid = 0;
        st->sr_state = st->sr_state == PAVED_RUN_RUNNING ? PAVED_RUN_ERROR
                                                         : PAVED_RUN_SKIPPED;
        free(st->sr_reason);
        st->sr_reason = strdup("paved stopped during the run");
        if (st->sr_finished_ms == 0)
            st->sr_finished_ms = sched_now_ms();
        if ((error = paved_store_step_save(s->s_store, st)) < 0)
            goto out;
    }
    if (old->ru_attempt < 2) {
        if ((error = paved_run_copy(&again, old, 0)) < 0)
            goto out;
        again->ru_id = 0;
        again->ru_state = PAVED_RUN_QUEUED;
        free(again->ru_reason);
        again->ru_reason = NULL;
        again->ru_attempt = old->ru_attempt + 1;
        again->ru_requeue_of = old->ru_id;
        again->ru_created_ms = sched_now_ms();
        again->ru_started_ms = again->ru_finished_ms = 0;
        snprintf(why, sizeof(why),
                 "interrupted: paved stopped during the run; requeued");
        plan->pp_runs[plan->pp_nruns++] = again;
    } else {
        snprintf(why, sizeof(why),
                 "interrupted twice: paved stopped during the run; not "
                 "requeued again (replay the delivery to retry)");
    }
    {
        char id[32], *ws;
        snprintf(id, sizeof(id), "%lld", (long long)old->ru_id);
        if ((ws = sched_path(s->s_work_dir, id, NULL)) != NULL)
            sched_remove_later(s, ws);
        free(ws);
    }
    old->ru_state = PAVED_RUN_ERROR;
    free(old->ru_reason);
    old->ru_reason = strdup(why);
    old->ru_finished_ms = sched_now_ms();
    plan->pp_updates[plan->pp_nupdates++] = old;
out:
    paved_run_free(full);
    return error;
}

int
sched_recover(paved_sched *s)
{
    struct paved_run_filter f;
    struct paved_run **list = NULL;
    struct paved_store_plan *plan = NULL;
    size_t n = 0, i;
    int error;

    memset(&f, 0, sizeof(f));
    f.rf_state = -1;
    f.rf_active = 1;
    f.rf_oldest_first = 1;
    f.rf_limit = 100000;
    if ((error = paved_store_run_list(&list, &n, s->s_store, &f)) < 0)
        return error;
    if ((plan = calloc(1, sizeof(*plan))) == NULL ||
        (n > 0 &&
         ((plan->pp_runs = calloc(n, sizeof(struct paved_run *))) == NULL ||
          (plan->pp_updates = calloc(n, sizeof(struct paved_run *))) ==
              NULL))) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    plan->pp_force = 1;
    for (i = 0; i < n; i++) {
        if (list[i]->ru_state == PAVED_RUN_RUNNING) {
            if ((error = recover_one(plan, s, list[i])) < 0)
                goto out;
            list[i] = NULL; /* now in pp_updates */
        } else if ((error = sched_add_run(s, list[i])) < 0) {
            list[i] = NULL;
            goto out;
        } else {
            list[i] = NULL;
        }
    }
    if (n > 0) {
        char count[32];
        snprintf(count, sizeof(count), "%zu", n);
        paved_log_kv(s->s_log, PAVED_LOG_INFO, "runs recovered", "count", count,
                     NULL);
    }
    s->s_plans_inflight++;
    error = paved_store_plan(s->s_store, plan, recover_done, s);
    plan = NULL;
    if (error < 0)
        s->s_plans_inflight--;
out:
    paved_store_plan_free(plan);
    paved_run_list_free(list, n);
    return error;
}

/* ---- replay ------------------------------------------------------------ */

struct replay {
    paved_sched *rp_s;
    paved_sched_replay_cb rp_cb;
    void *rp_arg;
};

static void
replay_done(struct paved_store_plan *plan, void *arg)
{
    struct replay *rp = arg;
    paved_sched *s = rp->rp_s;
    int64_t ids[64];
    size_t i, n = 0;

    s->s_plans_inflight--;
    if (plan->pp_result < 0) {
        rp->rp_cb(plan->pp_result, plan->pp_msg, NULL, 0, rp->rp_arg);
        paved_store_plan_free(plan);
    } else {
        for (i = 0; i < plan->pp_nruns && n < 64; i++)
            if (plan->pp_runs[i]->ru_id > 0)
                ids[n++] = plan->pp_runs[i]->ru_id;
        plan_log_runs(s, plan, "replay");
        rp->rp_cb(0, NULL, ids, n, rp->rp_arg);
        if (s->s_stopping)
            paved_store_plan_free(plan);
        else
            plan_adopt(s, plan);
    }
    free(rp);
}

int
paved_sched_replay(paved_sched *s, const char *delivery_id,
                   paved_sched_replay_cb cb, void *arg)
{
    struct paved_delivery *d = NULL;
    struct paved_store_plan *plan = NULL;
    struct replay *rp;
    int error;

    if ((error = paved_store_delivery_get(&d, s->s_store, delivery_id, 0)) < 0)
        return error;
    if (strcmp(d->dl_status, "queued") != 0) {
        error = paved_error_set(PAVED_EINVAL,
                                "delivery %s is a %s event, which runs nothing",
                                d->dl_id, d->dl_event);
        goto out;
    }
    if ((error = plan_build(&plan, s, d, 1)) < 0)
        goto out;
    if ((rp = calloc(1, sizeof(*rp))) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    rp->rp_s = s;
    rp->rp_cb = cb;
    rp->rp_arg = arg;
    s->s_plans_inflight++;
    if ((error = paved_store_plan(s->s_store, plan, replay_done, rp)) < 0) {
        s->s_plans_inflight--;
        free(rp);
    }
    plan = NULL;
out:
    paved_store_plan_free(plan);
    paved_delivery_free(d);
    return error;
}
