#ifndef PAVED_SCHED_INT_H
#define PAVED_SCHED_INT_H
/* The scheduler's insides, shared by its files:
 *   sched.c    lifecycle, the run queue (limits, concurrency groups), cancel
 *   plan.c     deliveries -> runs, crash recovery, replay
 *   run.c      one run: checkout off the loop, the step DAG, processes
 *   stepenv.c  a step's environment, secrets and paths
 * Everything here runs on the loop thread, except the checkout work
 * function, which touches only its own job struct. */
#include <stdbool.h>
#include <sys/queue.h>

#include "paved/event.h"
#include "paved/mask.h"
#include "paved/pool.h"
#include "paved/proc.h"
#include "paved/sched.h"
#include "paved/workspace.h"

/* Secrets shorter than this are not masked (they would garble unrelated
 * text); the run's log says so. */
#define SCHED_MASK_MIN 6

enum sched_phase {
    SCHED_WAIT = 0, /* queued: waiting for limits or its group */
    SCHED_CHECKOUT, /* mirror and checkout on the pool */
    SCHED_STEPS,    /* steps running */
    SCHED_DONE
};

struct sched_run;

struct sched_step {
    struct sched_run *ss_run;
    size_t ss_index;
    const struct paved_step *ss_def; /* owned by the run's pipeline */
    struct paved_step_rec ss_rec;    /* the durable record */
    size_t *ss_needs;                /* indexes of ss_def->st_needs */
    bool ss_if_false;                /* its `if` was false for the event */
    paved_proc *ss_proc;             /* live process, or NULL */
    struct event *ss_retry;          /* backoff timer before a retry */
};

struct sched_run {
    TAILQ_ENTRY(sched_run) r_link; /* s_runs, by id */
    paved_sched *r_sched;
    struct paved_run *r_rec; /* the durable record */
    struct paved_event r_ev;
    const paved_pipeline *r_pl; /* platform pipeline or r_merged */
    paved_pipeline *r_merged;   /* with the repository's .paved.yaml */
    enum paved_pipeline_concurrency r_mode;
    unsigned r_max_queued;
    enum sched_phase r_phase;
    struct sched_step *r_steps;
    size_t r_nsteps;
    size_t r_live; /* steps with a live process */
    bool r_cancel;
    char *r_cancel_why;
    char *r_workspace; /* <data_dir>/work/<id> */
    char *r_rundir;    /* <data_dir>/runs/<id>: scripts and logs */
    char **r_secret_names;
    char **r_secret_values; /* resolved on the pool */
    size_t r_nsecrets;
    paved_mask *r_mask;
    struct sched_checkout *r_job; /* in flight on the pool */
};

TAILQ_HEAD(sched_runs, sched_run);

struct paved_sched {
    struct paved_sched_deps s_deps;
    const struct paved_config *s_cf;
    struct event_base *s_base;
    paved_store *s_store;
    paved_log *s_log;
    paved_metrics *s_metrics;
    paved_pool *s_pool;
    paved_procs *s_procs;
    struct sched_runs s_runs; /* active: queued and running */
    size_t s_nruns;
    struct event *s_plan_ev;  /* deferred planning pass */
    struct event *s_retry_ev; /* planning retry after a store error */
    struct event *s_pump_ev;  /* deferred queue pump */
    int64_t s_cursor;         /* deliveries up to here were read */
    size_t s_plans_inflight;  /* plan ops submitted, not completed */
    bool s_replan;            /* kicked while a pass was in flight */
    bool s_started;           /* recovery done */
    bool s_stopping;
    unsigned s_parallel; /* steps at once per run */
    char *s_work_dir;    /* <data_dir>/work */
    char *s_runs_dir;    /* <data_dir>/runs */
    char *s_git_dir;     /* <data_dir>/git */
    char *s_secrets_dir;
    char *s_exe; /* this paved binary: built-in steps run it */
};

/* sched.c */
int64_t sched_now_ms(void);
void sched_pump(paved_sched *s);
void sched_pump_later(paved_sched *s);
/* Adds a planned run (ownership of rec moves); cancels what it
 * supersedes in its concurrency group. */
int sched_add_run(paved_sched *s, struct paved_run *rec);
void sched_run_save(struct sched_run *r);
void sched_step_save(struct sched_step *st);
/* The run has ended (r_rec->ru_state is final): save, clean up, free. */
void sched_run_finish(struct sched_run *r);
void sched_run_free(struct sched_run *r);
struct sched_run *sched_find(paved_sched *s, int64_t id);
/* rm -rf a workspace (a path under s_work_dir) on the pool */
void sched_remove_later(paved_sched *s, const char *path);

/* plan.c */
void sched_plan_pass(paved_sched *s);
int sched_recover(paved_sched *s);
/* A run record for (delivery, pipeline, event); NULL with error set. */
struct paved_run *sched_run_record(const paved_pipeline *pl,
                                   const struct paved_event *ev,
                                   const char *event_json, int64_t seq);

/* run.c */
int sched_run_start(struct sched_run *r);
/* "<rundir>/<index>-<name>.<ext>": the step's script (sh), log (log) and
 * annotations (annotations); NULL when out of memory. */
char *sched_step_file(const struct sched_step *st, const char *ext);
void sched_run_cancel(struct sched_run *r, const char *why);
void sched_steps_pump(struct sched_run *r);

/* report.c: outbox rows with the run's state (saves the run too) */
void sched_report(struct sched_run *r, const char *state,
                  const char *description);
void sched_report_final(struct sched_run *r);
/* With report_steps: saves the step with its own context's row and
 * returns 1; 0 when the caller saves it plainly. */
int sched_report_step(struct sched_step *st);
/* a "skipped: why" success for a pipeline that did not match ev, when
 * the skip is the pipeline's own filter */
int sched_report_skip(struct paved_store_plan *plan, const paved_sched *s,
                      const paved_pipeline *pl, const struct paved_event *ev,
                      const char *why);

/* output.c: what a check run shows besides its state (GitHub App) */
/* Markdown: one table row per step (result, attempts, time). */
char *sched_output_summary(const struct sched_run *r);
/* Markdown: the last lines of each failed step's (masked) log; NULL when
 * no step failed. */
char *sched_output_text(const struct sched_run *r);
/* The annotations the steps wrote to $PAVED_ANNOTATIONS, as one JSON
 * array (at most SCHED_ANNOTATIONS_MAX); NULL when there are none. Lines
 * that are not annotations are skipped and said so in the step's log. */
char *sched_output_annotations(const struct sched_run *r);
#define SCHED_ANNOTATIONS_MAX 1000

/* builtin.c: steps with uses: run paved itself */
/* The script of a built-in step kind; NULL for an unknown one. It takes
 * every value from variables (PAVED_EXE, PAVED_WITH_*, the event's), so
 * nothing from an event or a pipeline is ever command text. */
const char *sched_builtin_script(const char *kind);
/* The path of the running binary (/proc/self/exe), malloc'd; NULL when
 * out of memory. */
char *sched_self_exe(void);

/* stepenv.c */
/* A NULL-terminated "K=V" environment for step st; *out: free each and
 * the array (sched_env_free). */
int sched_step_env(char ***out, const struct sched_run *r,
                   const struct sched_step *st);
void sched_env_free(char **env);
/* Resolve each secret name (PAVED_SECRET_<NAME> in the daemon's
 * environment, else the file <secrets_dir>/<NAME>); blocking file reads:
 * called on the pool. PAVED_ENOTFOUND names the first one missing. */
int sched_secrets_resolve(char ***values, char *const *names, size_t n,
                          char *const *environ_, const char *secrets_dir);
/* "<dir>/<a>" or "<dir>/<a>/<b>" into a new string; NULL when out of
 * memory. */
char *sched_path(const char *dir, const char *a, const char *b);

#endif
