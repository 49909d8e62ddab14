#ifndef PAVED_ROLLOUT_H
#define PAVED_ROLLOUT_H
/* Rollouts: the decisions of progressive delivery. Deploy a commit's
 * artifact into an environment (at once, or as a canary walking the
 * environment's weights with the metric analysis judging every step),
 * check it with the smoke tests, promote it or roll it back, wait for an
 * approval, and record every one of these in the store's audit log with
 * who, what, when and why. The drivers (driver.h) carry the decisions
 * out; this module never touches nginx, kubectl or a process itself.
 *
 * The built-in steps (`uses: deploy`, `canary`, `smoke`, `promote`) and
 * the CLI (`paved promote`, `rollback`, `approve`) call these functions
 * from their own process: each opens the environment's driver, which
 * holds a lock, so two rollouts of one environment never interleave.
 * docs/delivery.md is the reference for users. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "paved/buf.h"
#include "paved/environment.h"
#include "paved/store.h"

struct paved_rollout {
    paved_store *ro_store;
    const paved_environment_set *ro_envs;
    const char *ro_data_dir;      /* state: <data_dir>/environments/<env> */
    FILE *ro_out;                 /* progress, a line per event; or NULL */
    struct paved_buf *ro_summary; /* markdown for the check run; or NULL */
    const char *ro_actor;         /* who: "paved (run 12)", a login */
    int64_t ro_run_id;            /* 0: not from a run (the CLI) */
    unsigned ro_poll_ms;          /* approvals are looked for this often;
                                     0 = 1000 */
    int ro_stop_fd;               /* readable: stop (a signalfd for SIGTERM:
                                     the step was cancelled); 0 or less:
                                     none. A canary stopped so is rolled
                                     back. */
};

/* What to deploy: the artifact a commit built, under a version label. */
struct paved_rollout_target {
    const char *rt_env;
    const char *rt_service;
    const char *rt_version; /* "v1.2.3", "sha-0123abc" */
    const struct paved_artifact *rt_artifact;
    const char *rt_reason; /* why, for the audit log; NULL: none */
};

/* "sha-" and the first 7 characters of sha, in out (at least 12 bytes). */
void paved_rollout_version_label(char *out, size_t len, const char *sha);

/* The artifact a commit may deploy to env. Without `from:` it is the
 * commit's own (paved_store_artifact_get). With `from: E` it is the one
 * that was promoted in E for this commit, and PAVED_ENOTFOUND with a
 * message saying so when there is none: nothing reaches production that
 * did not pass staging. *out: paved_artifact_free(). */
int paved_rollout_artifact(struct paved_artifact **out,
                           struct paved_rollout *ro, const char *env,
                           const char *repo, const char *sha);

/* Deploy t. A protected environment (approval: required) first waits for
 * `paved approve RUN` when ro_run_id is set. A candidate an interrupted
 * rollout left behind is rolled back first. Without a stable version, or
 * when canary is false or the environment has no canary plan, the new
 * version takes 100% at once; else it walks the weights, with the
 * analysis judging each step after the interval, and a failed analysis
 * rolls back by itself (the error says which checks failed, with their
 * values). On success the new version serves 100% while the previous one
 * still runs: smoke and promote finish the rollout. */
int paved_rollout_deploy(struct paved_rollout *ro,
                         const struct paved_rollout_target *t, bool canary);
/* The environment's smoke checks against what it serves now. A failure
 * with a version in flight rolls it back. */
int paved_rollout_smoke(struct paved_rollout *ro, const char *env,
                        const char *service);
/* The version in flight becomes stable: first 100% (if a canary was
 * stopped half-way) and the smoke checks (unless they passed for it
 * already), then the previous version is stopped. PAVED_ENOTFOUND when
 * nothing is in flight. */
int paved_rollout_promote(struct paved_rollout *ro, const char *env,
                          const char *service, const char *reason);
/* A version in flight: back to stable. Else the stable version is
 * replaced by the one promoted before it. */
int paved_rollout_rollback(struct paved_rollout *ro, const char *env,
                           const char *service, const char *reason);
/* `paved approve RUN`: the run must be waiting for an approval. */
int paved_rollout_approve(struct paved_rollout *ro, int64_t run_id,
                          const char *reason);
/* At daemon start: every environment's driver repairs its routing
 * (reconcile), and a rollout a killed paved left in flight is rolled
 * back and recorded; the requeued run starts it again. *changed tells
 * whether anything was done. */
int paved_rollout_recover(struct paved_rollout *ro, bool *changed);

#endif
