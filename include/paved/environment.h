#ifndef PAVED_ENVIRONMENT_H
#define PAVED_ENVIRONMENT_H
/* Environment definitions: the YAML model of the files in
 * config/environments/ (staging, production, ...): which driver deploys,
 * whether a person must approve, the canary plan, the metric analysis
 * that gates every canary step, and the smoke tests. Loading validates
 * every key and reports every error with file:line:column and a hint,
 * like the pipeline loader (same diagnostics list). Plain data: this
 * module never deploys, runs a command, queries Prometheus or opens a
 * socket; the delivery steps do, with what it hands them. The reference
 * for users is docs/delivery.md. */
#include <stdbool.h>
#include <stddef.h>

#include "paved/pipeline.h" /* struct paved_pipeline_diags */

typedef struct paved_environment paved_environment;         /* src/delivery/ */
typedef struct paved_environment_set paved_environment_set; /* by name */

/* Limits; docs/delivery.md lists them too. */
#define PAVED_ENV_MAX_WEIGHTS 20 /* canary steps */
#define PAVED_ENV_MAX_QUERIES 20 /* analysis checks */
#define PAVED_ENV_MAX_SMOKE 20   /* smoke checks */
#define PAVED_ENV_MAX_ARGS 64    /* arguments of one exec command */
#define PAVED_ENV_MAX_TEXT 4096  /* bytes of a query, URL or argument */
#define PAVED_ENV_LOCAL_PORTS 10 /* upstream_port .. +9 per environment */

enum paved_env_driver {
    PAVED_ENV_DRIVER_LOCAL = 0, /* processes on loopback behind nginx */
    PAVED_ENV_DRIVER_KUBERNETES,
    PAVED_ENV_DRIVER_EXEC /* the user's commands per phase */
};

enum paved_env_k8s_strategy {
    PAVED_ENV_K8S_REPLICAS = 0,  /* stable and canary Deployments */
    PAVED_ENV_K8S_INGRESS_CANARY /* ingress-nginx canary-weight */
};

/* A command as an argument vector: never joined into a shell string.
 * Arguments may hold {{placeholders}}, each replaced inside its own
 * argument. av_argc 0: not set. */
struct paved_env_argv {
    char **av_argv; /* av_argc items, then NULL */
    size_t av_argc;
};

struct paved_env_local {
    char *lo_listen;           /* nginx listens here: "127.0.0.1:8081" */
    unsigned lo_upstream_port; /* versions take ports from here, at most
                                  PAVED_ENV_LOCAL_PORTS of them */
};

struct paved_env_kubernetes {
    char *k8_context;                        /* kubectl --context; required */
    char *k8_namespace;                      /* default "default" */
    enum paved_env_k8s_strategy k8_strategy; /* default replicas */
    char *k8_kubectl;                        /* program; default "kubectl" */
};

struct paved_env_exec {
    struct paved_env_argv ex_deploy;   /* required */
    struct paved_env_argv ex_shift;    /* required with a canary */
    struct paved_env_argv ex_promote;  /* optional */
    struct paved_env_argv ex_rollback; /* required */
    unsigned ex_timeout;               /* seconds per command; 300 */
};

struct paved_env_canary {
    unsigned *cn_weights; /* percent, strictly increasing, last is 100 */
    size_t cn_nweights;
    unsigned cn_interval; /* seconds between steps; default 60 */
};

struct paved_env_query {
    char *q_name;  /* unique in the analysis, [a-z][a-z0-9-]* */
    char *q_query; /* PromQL text with {{placeholders}} */
    bool q_has_max, q_has_min;
    double q_max, q_min;   /* the value must be <= max and >= min */
    bool q_compare_stable; /* also against the stable version's value */
    double q_tolerance;    /* percent the canary may be worse; 10 */
};

struct paved_env_analysis {
    char *an_prometheus; /* base URL, http or https */
    struct paved_env_query *an_queries;
    size_t an_nqueries;
    unsigned an_failures_to_abort; /* failed checks that abort; 1 */
    unsigned an_min_samples;       /* below: "no data"; 0 = no minimum */
    char *an_sample_query;         /* PromQL counting samples, or NULL */
    unsigned an_timeout;           /* seconds per Prometheus query; 10 */
};

struct paved_env_smoke {
    char *sm_name;          /* unique in the environment */
    char *sm_url;           /* http or https, with {{placeholders}} */
    unsigned sm_status;     /* expected HTTP status; 200 */
    char *sm_body_contains; /* text the body must contain, or NULL */
    unsigned sm_timeout;    /* seconds per attempt; 5 */
    unsigned sm_retries;    /* attempts after the first; 2 */
};

/* ---- one environment ---------------------------------------------------
 * PAVED_EINVAL when there is any error: every one is appended to diags
 * (which may be NULL) and paved_error_last() holds the first one plus how
 * many more. PAVED_ENOMEM; PAVED_ENOTFOUND (load: no such file). name
 * stands for the file in messages; data need not be NUL-terminated.
 * *out is owned by the caller: paved_environment_free(). */
int paved_environment_parse(paved_environment **out,
                            struct paved_pipeline_diags *diags,
                            const char *name, const void *data, size_t len);
int paved_environment_load(paved_environment **out,
                           struct paved_pipeline_diags *diags,
                           const char *path);
void paved_environment_free(paved_environment *env); /* NULL is a no-op */

const char *paved_environment_name(const paved_environment *env);
const char *paved_environment_file(const paved_environment *env);
enum paved_env_driver paved_environment_driver(const paved_environment *env);
/* "local", "kubernetes", "exec". */
const char *paved_env_driver_name(enum paved_env_driver d);
/* `approval: required`: a run waits for `paved approve` before deploying. */
bool paved_environment_needs_approval(const paved_environment *env);
/* `from: staging`: only a version that was promoted in that environment
 * (it passed its smoke checks there) may be deployed here; NULL: any. */
const char *paved_environment_from(const paved_environment *env);
/* The settings of the environment's driver; NULL for the other drivers. */
const struct paved_env_local *
paved_environment_local(const paved_environment *env);
const struct paved_env_kubernetes *
paved_environment_kubernetes(const paved_environment *env);
const struct paved_env_exec *
paved_environment_exec(const paved_environment *env);
/* NULL when the environment has no canary (a deploy goes to 100% at once)
 * or no analysis (the canary advances on time and smoke tests alone). */
const struct paved_env_canary *
paved_environment_canary(const paved_environment *env);
const struct paved_env_analysis *
paved_environment_analysis(const paved_environment *env);
/* Smoke checks in file order; *n may be 0. */
const struct paved_env_smoke *
paved_environment_smoke(const paved_environment *env, size_t *n);

/* ---- sets: every environment of a directory --------------------------
 * load_dir reads every *.yaml and *.yml (not hidden files) of dir in
 * sorted order. Names must be unique across files, and two local
 * environments must not share a listen address or upstream ports. On any
 * error *out is NULL and diags lists them all. */
int paved_environment_set_new(paved_environment_set **out);
/* Ownership of env moves to the set, also on failure (PAVED_EEXISTS: a
 * duplicate name or a port clash, with a diagnostic naming both places). */
int paved_environment_set_add(paved_environment_set *set,
                              paved_environment *env,
                              struct paved_pipeline_diags *diags);
int paved_environment_load_dir(paved_environment_set **out,
                               struct paved_pipeline_diags *diags,
                               const char *dir);
void paved_environment_set_free(paved_environment_set *set); /* NULL: no-op */
size_t paved_environment_set_count(const paved_environment_set *set);
const paved_environment *
paved_environment_set_get(const paved_environment_set *set, size_t i);
const paved_environment *
paved_environment_set_find(const paved_environment_set *set, const char *name);

#endif
