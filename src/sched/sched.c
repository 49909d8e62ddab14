/* The scheduler's lifecycle and its run queue: which queued run may start
 * now (global and per-repository limits, one running run per concurrency
 * group), what a new run supersedes, cancel, and the end of a run. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "paved/error.h"
#include "sched/sched_int.h"

int64_t
sched_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *
sched_path(const char *dir, const char *a, const char *b)
{
    size_t len = strlen(dir) + strlen(a) + (b ? strlen(b) : 0) + 3;
    char *p = malloc(len);

    if (p == NULL)
        return NULL;
    if (b != NULL)
        snprintf(p, len, "%s/%s/%s", dir, a, b);
    else
        snprintf(p, len, "%s/%s", dir, a);
    return p;
}

static void
sched_count_runs(paved_sched *s)
{
    struct sched_run *r;
    double queued = 0, running = 0;

    if (s->s_metrics == NULL)
        return;
    TAILQ_FOREACH(r, &s->s_runs, r_link)
    {
        if (r->r_phase == SCHED_WAIT)
            queued++;
        else
            running++;
    }
    paved_metrics_set(s->s_metrics, "paved_runs_queued",
                      "Runs waiting for a slot", "", queued);
    paved_metrics_set(s->s_metrics, "paved_runs_running",
                      "Runs checking out or running steps", "", running);
}

void
sched_run_save(struct sched_run *r)
{
    paved_sched *s = r->r_sched;

    if (paved_store_run_save(s->s_store, r->r_rec) < 0)
        paved_log_kv(s->s_log, PAVED_LOG_ERROR, "cannot save run", "error",
                     paved_error_last(), NULL);
}

void
sched_step_save(struct sched_step *st)
{
    paved_sched *s = st->ss_run->r_sched;

    if (sched_report_step(st))
        return;
    if (paved_store_step_save(s->s_store, &st->ss_rec) < 0)
        paved_log_kv(s->s_log, PAVED_LOG_ERROR, "cannot save step", "error",
                     paved_error_last(), NULL);
}

struct sched_run *
sched_find(paved_sched *s, int64_t id)
{
    struct sched_run *r;

    TAILQ_FOREACH(r, &s->s_runs, r_link)
    if (r->r_rec->ru_id == id)
        return r;
    return NULL;
}

void
sched_run_free(struct sched_run *r)
{
    size_t i;

    if (r == NULL)
        return;
    for (i = 0; i < r->r_nsteps; i++) {
        struct sched_step *st = &r->r_steps[i];
        if (st->ss_retry != NULL)
            event_free(st->ss_retry);
        free(st->ss_needs);
        paved_step_rec_dispose(&st->ss_rec);
    }
    free(r->r_steps);
    for (i = 0; i < r->r_nsecrets; i++) {
        if (r->r_secret_values != NULL && r->r_secret_values[i] != NULL) {
            explicit_bzero(r->r_secret_values[i],
                           strlen(r->r_secret_values[i]));
            free(r->r_secret_values[i]);
        }
    }
    free(r->r_secret_values);
    free(r->r_secret_names); /* the strings are the pipeline's */
    paved_mask_free(r->r_mask);
    paved_pipeline_free(r->r_merged);
    paved_event_dispose(&r->r_ev);
    paved_run_free(r->r_rec);
    free(r->r_cancel_why);
    free(r->r_workspace);
    free(r->r_rundir);
    free(r);
}

/* Removing a workspace is disk work: the pool does it. */
struct sched_rm {
    char *rm_root;
    char *rm_path;
};

static void
sched_rm_work(void *arg)
{
    struct sched_rm *rm = arg;

    (void)paved_workspace_remove(rm->rm_root, rm->rm_path);
}

static void
sched_rm_done(void *arg)
{
    struct sched_rm *rm = arg;

    free(rm->rm_root);
    free(rm->rm_path);
    free(rm);
}

void
sched_remove_later(paved_sched *s, const char *path)
{
    struct sched_rm *rm;

    if ((rm = calloc(1, sizeof(*rm))) == NULL)
        return;
    rm->rm_root = strdup(s->s_work_dir);
    rm->rm_path = strdup(path);
    if (rm->rm_root == NULL || rm->rm_path == NULL ||
        paved_pool_submit(s->s_pool, sched_rm_work, sched_rm_done, rm) < 0)
        sched_rm_done(rm);
}

static void
sched_workspace_cleanup(struct sched_run *r)
{
    const char *keep = r->r_sched->s_cf->cf_keep_workspaces;

    if (r->r_workspace == NULL || strcmp(keep, "always") == 0 ||
        (strcmp(keep, "failed") == 0 &&
         r->r_rec->ru_state != PAVED_RUN_SUCCESS))
        return;
    sched_remove_later(r->r_sched, r->r_workspace);
}

void
sched_run_finish(struct sched_run *r)
{
    paved_sched *s = r->r_sched;
    char id[32], ms[32], labels[64];

    r->r_phase = SCHED_DONE;
    r->r_rec->ru_finished_ms = sched_now_ms();
    sched_report_final(r);
    snprintf(id, sizeof(id), "%lld", (long long)r->r_rec->ru_id);
    snprintf(
        ms, sizeof(ms), "%lld",
        (long long)(r->r_rec->ru_started_ms > 0
                        ? r->r_rec->ru_finished_ms - r->r_rec->ru_started_ms
                        : 0));
    paved_log_kv(s->s_log,
                 r->r_rec->ru_state == PAVED_RUN_SUCCESS ? PAVED_LOG_INFO
                                                         : PAVED_LOG_WARN,
                 "run finished", "run", id, "pipeline", r->r_rec->ru_pipeline,
                 "repo", r->r_rec->ru_repo, "sha", r->r_rec->ru_sha, "state",
                 paved_run_state_name(r->r_rec->ru_state), "reason",
                 r->r_rec->ru_reason, "ms", ms, NULL);
    if (s->s_metrics != NULL) {
        snprintf(labels, sizeof(labels), "state=\"%s\"",
                 paved_run_state_name(r->r_rec->ru_state));
        paved_metrics_inc(s->s_metrics, "paved_runs_finished_total",
                          "Runs that ended, by state", labels, 1);
    }
    sched_workspace_cleanup(r);
    TAILQ_REMOVE(&s->s_runs, r, r_link);
    s->s_nruns--;
    sched_run_free(r);
    sched_count_runs(s);
    sched_pump_later(s);
}

/* Where a run stands in its queue and group: a run requeued after a
 * crash takes the place of the run it replaces, not a new one, or the
 * older commit would be built (and deployed) after a newer one. */
static int64_t
sched_order(const struct sched_run *r)
{
    return r->r_rec->ru_requeue_of > 0 ? r->r_rec->ru_requeue_of
                                       : r->r_rec->ru_id;
}

/* A newer run in a `cancel` group supersedes every older one; in a
 * `queue` group, waiting runs beyond the bound are dropped oldest first.
 * A running run in a queue group is never touched: a deploy is never
 * cancelled half-way. */
static void
sched_supersede(paved_sched *s, struct sched_run *nr)
{
    struct sched_run *r, *next;
    size_t waiting = 0;
    char why[96];

    snprintf(why, sizeof(why), "superseded by run %lld",
             (long long)nr->r_rec->ru_id);
    if (nr->r_mode == PAVED_CONCURRENCY_CANCEL) {
        /* a requeued run may arrive after a newer one of its group */
        TAILQ_FOREACH(r, &s->s_runs, r_link)
        {
            if (r != nr && sched_order(r) > sched_order(nr) && !r->r_cancel &&
                strcmp(r->r_rec->ru_group, nr->r_rec->ru_group) == 0) {
                snprintf(why, sizeof(why), "superseded by run %lld",
                         (long long)r->r_rec->ru_id);
                sched_run_cancel(nr, why);
                return;
            }
        }
        for (r = TAILQ_FIRST(&s->s_runs); r != NULL; r = next) {
            next = TAILQ_NEXT(r, r_link);
            if (r != nr && sched_order(r) < sched_order(nr) && !r->r_cancel &&
                strcmp(r->r_rec->ru_group, nr->r_rec->ru_group) == 0)
                sched_run_cancel(r, why);
        }
        return;
    }
    TAILQ_FOREACH(r, &s->s_runs, r_link)
    {
        if (r->r_phase == SCHED_WAIT && !r->r_cancel &&
            strcmp(r->r_rec->ru_group, nr->r_rec->ru_group) == 0)
            waiting++;
    }
    for (r = TAILQ_FIRST(&s->s_runs); r != NULL && waiting > nr->r_max_queued;
         r = next) {
        next = TAILQ_NEXT(r, r_link);
        if (r != nr && r->r_phase == SCHED_WAIT && !r->r_cancel &&
            strcmp(r->r_rec->ru_group, nr->r_rec->ru_group) == 0) {
            snprintf(why, sizeof(why),
                     "superseded by run %lld: at most %u may wait",
                     (long long)nr->r_rec->ru_id, nr->r_max_queued);
            sched_run_cancel(r, why);
            waiting--;
        }
    }
}

int
sched_add_run(paved_sched *s, struct paved_run *rec)
{
    const paved_pipeline *pl = NULL;
    struct sched_run *r, *at;
    int error;

    if ((r = calloc(1, sizeof(*r))) == NULL) {
        paved_run_free(rec);
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    }
    r->r_sched = s;
    r->r_rec = rec;
    if (s->s_deps.sd_pipelines != NULL)
        pl = paved_pipeline_set_find(s->s_deps.sd_pipelines, rec->ru_pipeline);
    if ((error = paved_event_from_json(&r->r_ev, rec->ru_event_json,
                                       strlen(rec->ru_event_json))) < 0) {
        rec->ru_state = PAVED_RUN_ERROR;
        rec->ru_reason = strdup("the stored event cannot be read");
    } else if (pl == NULL) {
        char msg[256];
        snprintf(msg, sizeof(msg), "pipeline \"%s\" is no longer defined in %s",
                 rec->ru_pipeline, s->s_cf->cf_pipelines_dir);
        rec->ru_state = PAVED_RUN_ERROR;
        rec->ru_reason = strdup(msg);
    }
    r->r_pl = pl;
    if (pl != NULL)
        r->r_mode = paved_pipeline_concurrency(pl, &r->r_max_queued);
    /* keep s_runs in queue order: recovery adds requeued runs late */
    TAILQ_FOREACH_REVERSE(at, &s->s_runs, sched_runs, r_link)
    {
        if (sched_order(at) < sched_order(r))
            break;
    }
    if (at != NULL)
        TAILQ_INSERT_AFTER(&s->s_runs, at, r, r_link);
    else
        TAILQ_INSERT_HEAD(&s->s_runs, r, r_link);
    s->s_nruns++;
    if (rec->ru_state == PAVED_RUN_ERROR) {
        sched_run_finish(r);
        return 0;
    }
    sched_supersede(s, r);
    sched_count_runs(s);
    sched_pump_later(s);
    return 0;
}

static void
sched_pump_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sched_pump(arg);
}

void
sched_pump_later(paved_sched *s)
{
    event_active(s->s_pump_ev, 0, 0);
}

/* Which waiting runs may start. The running runs (at most max_runs, plus
 * cancelled ones still dying) are collected once, so a pass costs the
 * waiting runs times that small number, however long the queue. */
void
sched_pump(paved_sched *s)
{
    struct sched_run *r, *next, **busy;
    size_t nbusy = 0, cap = s->s_cf->cf_max_runs, i, in_repo;
    bool group_busy;

    if (s->s_stopping || !s->s_started)
        return;
    TAILQ_FOREACH(r, &s->s_runs, r_link)
    cap += r->r_phase != SCHED_WAIT;
    /* at most max_runs start below, so cap never overflows */
    if ((busy = calloc(cap, sizeof(*busy))) == NULL)
        return; /* again at the next state change */
    TAILQ_FOREACH(r, &s->s_runs, r_link)
    {
        if (r->r_phase != SCHED_WAIT)
            busy[nbusy++] = r;
    }
    for (r = TAILQ_FIRST(&s->s_runs); r != NULL; r = next) {
        next = TAILQ_NEXT(r, r_link);
        if (r->r_phase != SCHED_WAIT)
            continue;
        if (nbusy >= s->s_cf->cf_max_runs)
            break;
        in_repo = 0;
        group_busy = false;
        for (i = 0; i < nbusy; i++) {
            in_repo += strcmp(busy[i]->r_rec->ru_repo, r->r_rec->ru_repo) == 0;
            group_busy |=
                strcmp(busy[i]->r_rec->ru_group, r->r_rec->ru_group) == 0;
        }
        if (in_repo >= s->s_cf->cf_max_runs_per_repo || group_busy)
            continue;
        /* may finish (and free) r at once, but never another run */
        if (sched_run_start(r) == 0)
            busy[nbusy++] = r;
    }
    free(busy);
    sched_count_runs(s);
}

int
paved_sched_cancel(paved_sched *s, int64_t run_id, const char *why)
{
    struct sched_run *r = sched_find(s, run_id);
    struct paved_run *rec = NULL;
    int error;

    if (r != NULL) {
        if (r->r_cancel)
            return 0;
        sched_run_cancel(r, why != NULL ? why : "cancelled");
        return 0;
    }
    if ((error = paved_store_run_get(&rec, s->s_store, run_id)) < 0)
        return error;
    error =
        paved_error_set(PAVED_EEXISTS, "run %lld has already finished (%s)",
                        (long long)run_id, paved_run_state_name(rec->ru_state));
    paved_run_free(rec);
    return error;
}

size_t
paved_sched_active(const paved_sched *s)
{
    return s->s_nruns;
}

static void
sched_plan_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sched_plan_pass(arg);
}

void
paved_sched_kick(paved_sched *s)
{
    if (s->s_started && !s->s_stopping)
        event_active(s->s_plan_ev, 0, 0);
}

static int
sched_mkdir(const char *path)
{
    if (mkdir(path, 0700) < 0 && errno != EEXIST)
        return paved_error_set(PAVED_EUNAVAILABLE,
                               "create %s: %s (check data_dir)", path,
                               strerror(errno));
    return 0;
}

int
paved_sched_new(paved_sched **out, const struct paved_sched_deps *deps)
{
    const struct paved_config *cf = deps->sd_config;
    paved_sched *s;
    long cores;
    int error = 0;

    *out = NULL;
    if ((s = calloc(1, sizeof(*s))) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    s->s_deps = *deps;
    s->s_cf = cf;
    s->s_base = deps->sd_base;
    s->s_store = deps->sd_store;
    s->s_log = deps->sd_log;
    s->s_metrics = deps->sd_metrics;
    TAILQ_INIT(&s->s_runs);
    cores = sysconf(_SC_NPROCESSORS_ONLN);
    s->s_parallel = cf->cf_step_parallelism > 0
                        ? cf->cf_step_parallelism
                        : (unsigned)(cores > 0 ? cores : 1);
    s->s_work_dir = sched_path(cf->cf_data_dir, "work", NULL);
    s->s_runs_dir = sched_path(cf->cf_data_dir, "runs", NULL);
    s->s_git_dir = sched_path(cf->cf_data_dir, "git", NULL);
    s->s_secrets_dir = cf->cf_secrets_dir[0] != '\0'
                           ? strdup(cf->cf_secrets_dir)
                           : sched_path(cf->cf_data_dir, "secrets", NULL);
    s->s_exe = sched_self_exe();
    if (s->s_work_dir == NULL || s->s_runs_dir == NULL ||
        s->s_git_dir == NULL || s->s_secrets_dir == NULL || s->s_exe == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    if ((error = sched_mkdir(cf->cf_data_dir)) < 0 ||
        (error = sched_mkdir(s->s_work_dir)) < 0 ||
        (error = sched_mkdir(s->s_runs_dir)) < 0 ||
        (error = sched_mkdir(s->s_git_dir)) < 0)
        goto out;
    s->s_plan_ev = event_new(s->s_base, -1, 0, sched_plan_cb, s);
    s->s_retry_ev = evtimer_new(s->s_base, sched_plan_cb, s);
    s->s_pump_ev = event_new(s->s_base, -1, 0, sched_pump_cb, s);
    if (s->s_plan_ev == NULL || s->s_retry_ev == NULL || s->s_pump_ev == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    if ((error = paved_pool_new(&s->s_pool, s->s_base, 2)) < 0 ||
        (error = paved_procs_new(&s->s_procs, s->s_base)) < 0)
        goto out;
    *out = s;
    s = NULL;
out:
    paved_sched_free(s);
    return error;
}

int
paved_sched_start(paved_sched *s)
{
    return sched_recover(s);
}

void
paved_sched_stop(paved_sched *s)
{
    if (s == NULL || s->s_stopping)
        return;
    s->s_stopping = true;
    /* kills and reaps every step; no callbacks: the runs stay `running`
     * in the store and the next start recovers them */
    paved_procs_free(s->s_procs);
    s->s_procs = NULL;
    /* finishes queued work (checkouts, removals); their completions see
     * s_stopping and only clean up */
    paved_pool_free(s->s_pool);
    s->s_pool = NULL;
}

void
paved_sched_free(paved_sched *s)
{
    struct sched_run *r;

    if (s == NULL)
        return;
    paved_sched_stop(s);
    while ((r = TAILQ_FIRST(&s->s_runs)) != NULL) {
        TAILQ_REMOVE(&s->s_runs, r, r_link);
        sched_run_free(r);
    }
    if (s->s_plan_ev != NULL)
        event_free(s->s_plan_ev);
    if (s->s_retry_ev != NULL)
        event_free(s->s_retry_ev);
    if (s->s_pump_ev != NULL)
        event_free(s->s_pump_ev);
    free(s->s_work_dir);
    free(s->s_runs_dir);
    free(s->s_git_dir);
    free(s->s_secrets_dir);
    free(s->s_exe);
    free(s);
}
