#ifndef PAVED_SCHED_H
#define PAVED_SCHED_H
/* The scheduler: turns stored deliveries into runs (exactly once, one run
 * per matching pipeline), orders each run's steps as a DAG, applies
 * concurrency groups and run limits, retries, cancels superseded runs and
 * recovers after a crash. It runs on the event loop and never blocks it:
 * git work goes to the pool, steps to the process supervisor, writes to
 * the store's writer. It never forks itself and never puts event text into
 * a script: event data reaches steps only as environment values.
 * docs/pipelines.md describes the behaviour users see. */
#include <stddef.h>
#include <stdint.h>

#include "paved/config.h"
#include "paved/log.h"
#include "paved/metrics.h"
#include "paved/pipeline.h"
#include "paved/reporter.h"
#include "paved/store.h"

struct event_base;
typedef struct paved_sched paved_sched;

/* Everything is borrowed and must outlive the scheduler. */
struct paved_sched_deps {
    struct event_base *sd_base;
    const struct paved_config *sd_config;
    paved_store *sd_store;
    const paved_pipeline_set *sd_pipelines; /* NULL: none */
    paved_log *sd_log;
    paved_metrics *sd_metrics;          /* may be NULL */
    char *const *sd_environ;            /* for PATH and PAVED_SECRET_<NAME> */
    struct paved_reporter *sd_reporter; /* may be NULL: nothing reported */
};

int paved_sched_new(paved_sched **out, const struct paved_sched_deps *deps);
/* Crash recovery, then planning of every delivery not yet planned. Runs
 * left `running` by a previous process are marked `error` and requeued
 * once as a new run (a second interruption is not requeued). */
int paved_sched_start(paved_sched *s);
/* A delivery was stored: plan what is new (coalesced; returns at once). */
void paved_sched_kick(paved_sched *s);
/* Cancel a run: 0 when it was queued or running (it ends `cancelled`),
 * PAVED_ENOTFOUND, PAVED_EEXISTS when it has already finished (message
 * names its state). */
int paved_sched_cancel(paved_sched *s, int64_t run_id, const char *why);

/* Plan a stored delivery again, as new runs even when runs exist for its
 * commit. cb gets 0 and the new run ids, or an error and its message. */
typedef void (*paved_sched_replay_cb)(int result, const char *msg,
                                      const int64_t *runs, size_t n, void *arg);
int paved_sched_replay(paved_sched *s, const char *delivery_id,
                       paved_sched_replay_cb cb, void *arg);

/* Runs queued and running now (in memory). */
size_t paved_sched_active(const paved_sched *s);
/* Stop: no new step starts; running steps are killed. Their runs stay
 * `running` in the store and the next start recovers them (the same path
 * as after a crash). Returns once every child is reaped. */
void paved_sched_stop(paved_sched *s);
/* NULL is a no-op. A plan still in the store's hands completes into s on
 * the loop: free s only when the loop will not run again (a daemon's
 * shutdown) or once its plans are done (s_plans_inflight, sched_int.h). */
void paved_sched_free(paved_sched *s);

#endif
