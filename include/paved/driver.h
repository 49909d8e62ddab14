#ifndef PAVED_DRIVER_H
#define PAVED_DRIVER_H
/* Deploy drivers: how a version of a service comes to run in an
 * environment and how traffic is split between the stable version and a
 * candidate. One interface, three drivers (docs/delivery.md#drivers):
 *
 *   local       each version runs as processes on loopback behind nginx
 *               with weighted upstreams, changed by a graceful reload;
 *               Prometheus scrapes the versions (file_sd targets file)
 *   kubernetes  kubectl against the configured context: stable and canary
 *               Deployments with a replica ratio, or the ingress-nginx
 *               canary-weight annotation
 *   exec        the user's commands per phase (argv, never a shell line)
 *
 * A driver keeps what it needs to remember (which version is stable,
 * which is the candidate, the weight, ports and pids) in its state
 * directory, written atomically, so that a paved killed at any point and
 * started again finds the truth there. It never decides anything: the
 * rollout logic (src/delivery/rollout.c) decides, and the store's audit
 * log records. A driver never reads the store. */
#include <stdbool.h>
#include <stdio.h>

#include "paved/environment.h"

typedef struct paved_driver paved_driver; /* src/delivery/ */

/* One version of a service. Strings are borrowed by the call. */
struct paved_version {
    const char *v_service;  /* DNS label: "checkout" */
    const char *v_version;  /* label: "v1.2.3", "sha-0123abc" */
    const char *v_sha;      /* commit, or NULL */
    const char *v_kind;     /* "image" or "directory" */
    const char *v_artifact; /* image ref with digest, or directory path */
    const char *v_digest;   /* "sha256:..." */
    const char *v_start;    /* directory: the command to run (sh -c, text
                               of the pipeline's author); NULL: "make run" */
};

/* What runs for a service, as the driver knows it. Strings owned by the
 * struct: paved_driver_state_dispose(). A NULL version: none. */
struct paved_driver_state {
    char *ds_stable_version, *ds_stable_digest, *ds_stable_artifact;
    char *ds_stable_sha;
    char *ds_candidate_version, *ds_candidate_digest, *ds_candidate_artifact;
    char *ds_candidate_sha;
    unsigned ds_weight; /* percent of traffic on the candidate */
};
void paved_driver_state_dispose(struct paved_driver_state *s);

struct paved_driver_opts {
    const paved_environment *do_env; /* borrowed; outlives the driver */
    const char *do_state_dir;        /* created if missing:
                                        <data_dir>/environments/<env> */
    FILE *do_progress; /* one line per action taken; may be NULL */
    /* kubernetes, exec: run commands as printed, not for real (tests and
     * --dry-run): each argv is written to do_progress. The state is still
     * kept as if they had run, so that a sequence of calls can be shown:
     * give a dry run a scratch do_state_dir, never an environment's. */
    bool do_dry_run;
};

/* A version label every driver can carry: 1 to 128 of A-Z a-z 0-9 . - _
 * +. The local driver refuses others (they would reach nginx's
 * configuration); the rollout checks before anything starts. */
int paved_driver_check_version(const char *s); /* 0 or PAVED_EINVAL */

/* PAVED_EINVAL (bad options), PAVED_EUNAVAILABLE (the driver's tool is
 * missing: "nginx not found; install the nginx-light package"). */
int paved_driver_open(paved_driver **out, const struct paved_driver_opts *o);
void paved_driver_close(paved_driver *d); /* NULL is a no-op */

/* The services that have a state file here, sorted by name; free each
 * string and the array. */
int paved_driver_services(char ***out, size_t *n, paved_driver *d);
/* What runs now; PAVED_ENOTFOUND when the service never ran here. */
int paved_driver_state(struct paved_driver_state *out, paved_driver *d,
                       const char *service);

/* Start v as the candidate beside the stable version, with no traffic,
 * and return once it is ready (local: accepts connections on its port;
 * kubernetes: rollout status). A candidate left by an earlier attempt is
 * stopped first. Without a stable version, v is started as the candidate
 * all the same: route(100) and promote make it stable. */
int paved_driver_start(paved_driver *d, const struct paved_version *v);
/* Send weight percent (0-100) of the service's traffic to the candidate
 * and the rest to stable; returns once the routing is in effect (local:
 * nginx answers with the new configuration). */
int paved_driver_route(paved_driver *d, const char *service, unsigned weight);
/* The candidate becomes stable (at 100%), the old stable is stopped. */
int paved_driver_promote(paved_driver *d, const char *service);
/* All traffic back to stable, the candidate stopped. Without a stable
 * version: the candidate is stopped and nothing is routed. */
int paved_driver_abort(paved_driver *d, const char *service);
/* After a crash or restart: every version the state names that no longer
 * runs is dropped from the routing (a dead candidate: traffic back to
 * stable; a dead stable with no candidate: started again from its
 * artifact). *changed tells whether anything was repaired. */
int paved_driver_reconcile(paved_driver *d, bool *changed);

#endif
