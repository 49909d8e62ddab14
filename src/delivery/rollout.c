/* Rollouts (include/paved/rollout.h): deploy, canary, smoke, promote,
 * rollback and approve, each recorded in the audit log. The order of
 * every operation is the same: decide from the driver's state, act
 * through the driver, then record; a failure to record fails the
 * operation, because an unrecorded deploy is one nobody can audit. */
#include <errno.h>
#include <poll.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "paved/analysis.h"
#include "paved/driver.h"
#include "paved/clock.h"
#include "paved/error.h"
#include "paved/rollout.h"
#include "paved/smoke.h"

#define ROLLOUT_POLL_MS 1000u
#define ROLLOUT_SCRAPE_WAIT_MS 60000u
#define ROLLOUT_SCRAPE_POLL_MS 500u

static void ro_say(struct paved_rollout *ro, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
ro_say(struct paved_rollout *ro, const char *fmt, ...)
{
    va_list ap;

    if (ro->ro_out == NULL)
        return;
    va_start(ap, fmt);
    vfprintf(ro->ro_out, fmt, ap);
    va_end(ap);
    fputc('\n', ro->ro_out);
    fflush(ro->ro_out);
}

/* Waits ms, or less when ro_stop_fd becomes readable: 1 then (asked to
 * stop), else 0. */
static int
ro_sleep_ms(struct paved_rollout *ro, unsigned ms)
{
    struct pollfd p;
    int rc;

    if (ro->ro_stop_fd <= 0) {
        paved_sleep_ms(ms);
        return 0;
    }
    p.fd = ro->ro_stop_fd;
    p.events = POLLIN;
    p.revents = 0;
    while ((rc = poll(&p, 1, (int)ms)) < 0 && errno == EINTR)
        ;
    return rc > 0;
}

void
paved_rollout_version_label(char *out, size_t len, const char *sha)
{
    snprintf(out, len, "sha-%.7s", sha != NULL ? sha : "");
}

static const paved_environment *
ro_env(struct paved_rollout *ro, const char *name)
{
    const paved_environment *env =
        ro->ro_envs != NULL ? paved_environment_set_find(ro->ro_envs, name)
                            : NULL;

    if (env == NULL)
        paved_error_set(PAVED_ENOTFOUND,
                        "no environment \"%s\" (define it in a file of "
                        "environments_dir, PAVED_ENVIRONMENTS_DIR; see "
                        "docs/delivery.md)",
                        name != NULL ? name : "");
    return env;
}

static int
ro_driver(paved_driver **out, struct paved_rollout *ro,
          const paved_environment *env)
{
    struct paved_driver_opts o;
    char dir[4096];

    if ((size_t)snprintf(dir, sizeof(dir), "%s/environments/%s",
                         ro->ro_data_dir,
                         paved_environment_name(env)) >= sizeof(dir))
        return paved_error_set(PAVED_EINVAL, "data_dir is too long");
    memset(&o, 0, sizeof(o));
    o.do_env = env;
    o.do_state_dir = dir;
    o.do_progress = ro->ro_out;
    return paved_driver_open(out, &o);
}

/* One audit line. The strings are borrowed. */
struct ro_what {
    const char *w_version, *w_sha, *w_artifact, *w_digest, *w_repo;
};

static int
ro_record(struct paved_rollout *ro, const char *service, const char *env,
          const char *action, const char *result, const struct ro_what *w,
          const char *reason, const char *detail)
{
    struct paved_deploy_rec r;
    int error;

    memset(&r, 0, sizeof(r));
    r.dr_service = (char *)service;
    r.dr_env = (char *)env;
    r.dr_action = (char *)action;
    r.dr_result = (char *)result;
    if (w != NULL) {
        r.dr_version = (char *)w->w_version;
        r.dr_sha = (char *)w->w_sha;
        r.dr_artifact = (char *)w->w_artifact;
        r.dr_digest = (char *)w->w_digest;
        r.dr_repo = (char *)w->w_repo;
    }
    r.dr_actor = (char *)(ro->ro_actor != NULL ? ro->ro_actor : "paved");
    r.dr_reason = (char *)reason;
    r.dr_detail = (char *)detail;
    r.dr_run_id = ro->ro_run_id;
    if ((error = paved_store_deploy_add(ro->ro_store, &r)) < 0)
        return paved_error_set(error,
                               "audit log: %s (nothing was recorded; "
                               "see the store's error above)",
                               paved_error_last());
    return 0;
}

/* What the driver's state says of the candidate or the stable version. */
static void
ro_candidate(struct ro_what *w, const struct paved_driver_state *s)
{
    memset(w, 0, sizeof(*w));
    w->w_version = s->ds_candidate_version;
    w->w_sha = s->ds_candidate_sha;
    w->w_artifact = s->ds_candidate_artifact;
    w->w_digest = s->ds_candidate_digest;
}

static void
ro_stable(struct ro_what *w, const struct paved_driver_state *s)
{
    memset(w, 0, sizeof(*w));
    w->w_version = s->ds_stable_version;
    w->w_sha = s->ds_stable_sha;
    w->w_artifact = s->ds_stable_artifact;
    w->w_digest = s->ds_stable_digest;
}

static int
ro_state(struct paved_driver_state *s, paved_driver *d, const char *service)
{
    int error;

    memset(s, 0, sizeof(*s));
    if ((error = paved_driver_state(s, d, service)) == PAVED_ENOTFOUND) {
        memset(s, 0, sizeof(*s));
        return 0;
    }
    return error;
}

/* The repository of the version with this digest, from the row of its
 * deploy: the driver's state does not keep it, and a promote row without
 * it is one a rollback can never return to (ro_previous needs repo and
 * sha to find the artifact). *out NULL when no row names one; free(). */
static int
ro_repo_of(char **out, struct paved_rollout *ro, const char *service,
           const char *digest)
{
    struct paved_deploy_filter f;
    struct paved_deploy_rec **list = NULL;
    size_t n = 0;
    int error;

    *out = NULL;
    if (digest == NULL)
        return 0;
    memset(&f, 0, sizeof(f));
    f.df_service = service;
    f.df_action = "deploy";
    f.df_result = "started";
    f.df_digest = digest;
    f.df_limit = 1;
    if ((error = paved_store_deploy_list(&list, &n, ro->ro_store, &f)) < 0)
        return error;
    if (n > 0 && list[0]->dr_repo != NULL &&
        (*out = strdup(list[0]->dr_repo)) == NULL)
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
    paved_deploy_list_free(list, n);
    return error;
}

int
paved_rollout_artifact(struct paved_artifact **out, struct paved_rollout *ro,
                       const char *envname, const char *repo, const char *sha)
{
    struct paved_deploy_filter f;
    struct paved_deploy_rec **list = NULL;
    const paved_environment *env;
    struct paved_artifact *a = NULL;
    const char *from;
    size_t n = 0;
    int error;

    *out = NULL;
    if ((env = ro_env(ro, envname)) == NULL)
        return PAVED_ENOTFOUND;
    if ((error = paved_store_artifact_get(&a, ro->ro_store, repo, sha)) < 0) {
        if (error == PAVED_ENOTFOUND)
            paved_error_set(error,
                            "no artifact was built for %s at %.12s (a "
                            "build-image step records it; did that step "
                            "run for this commit?)",
                            repo, sha);
        return error;
    }
    if ((from = paved_environment_from(env)) == NULL) {
        *out = a;
        return 0;
    }
    memset(&f, 0, sizeof(f));
    f.df_service = a->ar_service;
    f.df_env = from;
    f.df_action = "promote";
    f.df_result = "ok";
    f.df_sha = sha;
    f.df_limit = 1;
    if ((error = paved_store_deploy_list(&list, &n, ro->ro_store, &f)) < 0) {
        paved_artifact_free(a);
        return error;
    }
    if (n == 0 || list[0]->dr_digest == NULL || list[0]->dr_artifact == NULL) {
        error = paved_error_set(
            PAVED_ENOTFOUND,
            "refused: %.12s of %s never passed %s (no version built from it "
            "was promoted there), and %s takes only what did; push the "
            "commit to the branch that deploys %s first",
            sha, a->ar_service, from, envname, from);
        paved_deploy_list_free(list, n);
        paved_artifact_free(a);
        return error;
    }
    /* exactly what passed: a later rebuild of the same commit may differ */
    if (strcmp(a->ar_digest, list[0]->dr_digest) != 0) {
        char *ref = strdup(list[0]->dr_artifact);
        char *digest = strdup(list[0]->dr_digest);
        if (ref == NULL || digest == NULL) {
            free(ref);
            free(digest);
            paved_deploy_list_free(list, n);
            paved_artifact_free(a);
            return paved_error_set(PAVED_ENOMEM, "out of memory");
        }
        free(a->ar_ref);
        free(a->ar_digest);
        a->ar_ref = ref;
        a->ar_digest = digest;
    }
    paved_deploy_list_free(list, n);
    *out = a;
    return 0;
}

/* Wait for `paved approve RUN`; the step's timeout ends a wait nobody
 * answers. */
static int
ro_wait_approval(struct paved_rollout *ro, const char *env, const char *service,
                 const struct ro_what *w)
{
    struct paved_deploy_filter f;
    char why[256];
    int error;

    snprintf(why, sizeof(why),
             "%s is protected: waiting for `paved approve %lld`", env,
             (long long)ro->ro_run_id);
    if ((error = ro_record(ro, service, env, "deploy", "waiting", w, why,
                           NULL)) < 0)
        return error;
    ro_say(ro, "%s", why);
    memset(&f, 0, sizeof(f));
    f.df_env = env;
    f.df_action = "approve";
    f.df_run_id = ro->ro_run_id;
    f.df_limit = 1;
    for (;;) {
        struct paved_deploy_rec **list = NULL;
        size_t n = 0;
        if ((error = paved_store_deploy_list(&list, &n, ro->ro_store, &f)) < 0)
            return error;
        if (n > 0) {
            ro_say(ro, "approved by %s%s%s",
                   list[0]->dr_actor != NULL ? list[0]->dr_actor : "?",
                   list[0]->dr_reason != NULL ? ": " : "",
                   list[0]->dr_reason != NULL ? list[0]->dr_reason : "");
            paved_deploy_list_free(list, n);
            return 0;
        }
        paved_deploy_list_free(list, n); /* allocated with no rows too */
        if (ro_sleep_ms(ro,
                        ro->ro_poll_ms != 0 ? ro->ro_poll_ms : ROLLOUT_POLL_MS))
            return paved_error_set(PAVED_ERROR,
                                   "stopped while waiting for an approval; "
                                   "nothing was deployed");
    }
}

/* A candidate nobody is driving any more (its run was interrupted):
 * traffic back to stable before anything else happens. */
static int
ro_clear_candidate(struct paved_rollout *ro, paved_driver *d, const char *env,
                   const char *service, const char *why)
{
    struct paved_driver_state s;
    struct ro_what w;
    char *repo = NULL;
    int error;

    if ((error = ro_state(&s, d, service)) < 0)
        return error;
    if (s.ds_candidate_version == NULL) {
        paved_driver_state_dispose(&s);
        return 0;
    }
    ro_candidate(&w, &s);
    if (s.ds_stable_version == NULL) {
        /* the only version there is: stopping it would take the service
         * down; it serves as the stable one until something replaces it */
        ro_say(ro,
               "%s %s, left in flight with no stable version beside it, "
               "is kept as the stable one: %s",
               service, s.ds_candidate_version, why);
        if ((error = ro_repo_of(&repo, ro, service, w.w_digest)) == 0 &&
            (error = paved_driver_route(d, service, 100)) == 0 &&
            (error = paved_driver_promote(d, service)) == 0) {
            w.w_repo = repo;
            error = ro_record(ro, service, env, "promote", "ok", &w,
                              "the only version running, left by an "
                              "unfinished rollout",
                              NULL);
        }
        free(repo);
        paved_driver_state_dispose(&s);
        return error;
    }
    ro_say(ro, "rolling back %s %s left in flight at %u%%: %s", service,
           s.ds_candidate_version, s.ds_weight, why);
    if ((error = paved_driver_abort(d, service)) == 0)
        error = ro_record(ro, service, env, "rollback", "ok", &w, why, NULL);
    paved_driver_state_dispose(&s);
    return error;
}

static void ro_summary_line(struct paved_rollout *ro, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
ro_summary_line(struct paved_rollout *ro, const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    if (ro->ro_summary == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    (void)paved_buf_printf(ro->ro_summary, "%s\n", line);
}

/* The failed checks of a verdict, one line: "error-rate 0.31 (<= 0.01);
 * p99-latency no data". */
static void
ro_failed_checks(char *out, size_t len, const struct paved_analysis_verdict *v)
{
    size_t i, used = 0;

    out[0] = '\0';
    for (i = 0; i < v->av_nchecks && used < len; i++) {
        const struct paved_analysis_check *ck = &v->av_checks[i];
        int k;
        if (ck->ck_result == PAVED_CHECK_PASS)
            continue;
        if (ck->ck_has_value)
            k = snprintf(out + used, len - used, "%s%s %g (%s: %s)",
                         used > 0 ? "; " : "", ck->ck_name, ck->ck_value,
                         paved_analysis_result_name(ck->ck_result),
                         ck->ck_threshold != NULL ? ck->ck_threshold : "");
        else
            k = snprintf(out + used, len - used, "%s%s %s (%s)",
                         used > 0 ? "; " : "", ck->ck_name,
                         paved_analysis_result_name(ck->ck_result),
                         ck->ck_reason != NULL ? ck->ck_reason : "");
        if (k < 0)
            break;
        used += (size_t)k;
    }
    if (used == 0 && v->av_reason != NULL)
        snprintf(out, len, "%s", v->av_reason);
}

/* Analysis of one canary step, without the driver's lock (it may take
 * seconds). 1 to go on; 0 to roll back, with *why and *detail (free())
 * set; or an error. */
static int
ro_analyse(struct paved_rollout *ro, const paved_environment *env,
           const struct paved_rollout_target *t, const struct ro_what *w,
           const char *stable, unsigned weight, unsigned *failures, char **why,
           char **detail)
{
    const struct paved_env_analysis *an = paved_environment_analysis(env);
    const struct paved_env_canary *cn = paved_environment_canary(env);
    struct paved_analysis_verdict *v = NULL;
    struct paved_analysis_params p;
    char failed[1024], text[1400];
    json_t *js;
    int error;

    *why = *detail = NULL;
    if (an == NULL) {
        ro_say(ro, "  %u%%: no analysis defined; advancing on time", weight);
        return 1;
    }
    memset(&p, 0, sizeof(p));
    p.ap_service = t->rt_service;
    p.ap_environment = t->rt_env;
    p.ap_version = t->rt_version;
    /* at 100% the stable version serves nothing to compare with */
    p.ap_stable = weight < 100 ? stable : NULL;
    p.ap_interval = cn->cn_interval;
    p.ap_failures_before = *failures;
    if ((error = paved_analysis_run(&v, an, &p)) < 0)
        return error;
    *failures = v->av_failures_total;
    if (ro->ro_summary != NULL) {
        (void)paved_buf_printf(ro->ro_summary, "\n#### Canary at %u%%\n\n",
                               weight);
        (void)paved_analysis_markdown(ro->ro_summary, v);
    }
    ro_failed_checks(failed, sizeof(failed), v);
    if ((js = paved_analysis_json(v)) != NULL) {
        *detail = json_dumps(js, JSON_COMPACT);
        json_decref(js);
    }
    if (v->av_decision == PAVED_ANALYSIS_CONTINUE) {
        ro_say(ro, "  %u%%: analysis passed (%s)", weight,
               v->av_reason != NULL ? v->av_reason : "every check passed");
        error = ro_record(ro, t->rt_service, t->rt_env, "canary", "ok", w,
                          v->av_reason, *detail);
        free(*detail);
        *detail = NULL;
        paved_analysis_verdict_free(v);
        return error < 0 ? error : 1;
    }
    paved_analysis_verdict_free(v);
    snprintf(text, sizeof(text), "canary %s failed its analysis at %u%%: %s",
             t->rt_version, weight, failed);
    ro_say(ro, "  %u%%: analysis failed: %s; rolling back", weight, failed);
    if ((*why = strdup(text)) == NULL) {
        free(*detail);
        *detail = NULL;
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    }
    return 0;
}

/* Prometheus must scrape the candidate before its traffic can be judged:
 * a new target is picked up within seconds (file discovery, then the
 * scrape manager's own cycle), and judging before that would see "no
 * data". The local driver labels its targets service, version and env;
 * other drivers' targets are the operator's, not waited for. */
static int
ro_wait_scraped(struct paved_rollout *ro, const paved_environment *env,
                const struct paved_rollout_target *t)
{
    const struct paved_env_analysis *an = paved_environment_analysis(env);
    struct paved_analysis_answer a;
    char q[1024];
    unsigned waited;

    if (an == NULL || paved_environment_driver(env) != PAVED_ENV_DRIVER_LOCAL)
        return 0;
    if (paved_analysis_check_value("service", t->rt_service) < 0 ||
        paved_analysis_check_value("version", t->rt_version) < 0 ||
        paved_analysis_check_value("environment", t->rt_env) < 0)
        return PAVED_EINVAL;
    snprintf(q, sizeof(q), "max(up{service=\"%s\",version=\"%s\",env=\"%s\"})",
             t->rt_service, t->rt_version, t->rt_env);
    for (waited = 0; waited < ROLLOUT_SCRAPE_WAIT_MS;
         waited += ROLLOUT_SCRAPE_POLL_MS) {
        if (paved_analysis_query(&a, an->an_prometheus, q, an->an_timeout) ==
                0 &&
            a.aa_kind == PAVED_ANSWER_VALUE && a.aa_value >= 1) {
            ro_say(ro, "  Prometheus scrapes %s %s", t->rt_service,
                   t->rt_version);
            return 0;
        }
        if (ro_sleep_ms(ro, ROLLOUT_SCRAPE_POLL_MS))
            return paved_error_set(PAVED_ERROR, "stopped (the step was "
                                                "cancelled) before the first "
                                                "canary step");
    }
    return paved_error_set(PAVED_ERROR,
                           "Prometheus at %s does not scrape %s %s after %us "
                           "(%s): is it configured with this environment's "
                           "targets.json (scripts/prometheus-local)?",
                           an->an_prometheus, t->rt_service, t->rt_version,
                           ROLLOUT_SCRAPE_WAIT_MS / 1000, q);
}

/* After an interval without the lock: is the candidate still ours? An
 * operator may have rolled it back or promoted it meanwhile. */
static int
ro_still_ours(paved_driver *d, const struct paved_rollout_target *t)
{
    struct paved_driver_state s;
    int error, ours;

    if ((error = ro_state(&s, d, t->rt_service)) < 0)
        return error;
    ours = s.ds_candidate_version != NULL &&
           strcmp(s.ds_candidate_version, t->rt_version) == 0 &&
           s.ds_candidate_digest != NULL &&
           strcmp(s.ds_candidate_digest, t->rt_artifact->ar_digest) == 0;
    paved_driver_state_dispose(&s);
    if (!ours)
        return paved_error_set(PAVED_ERROR,
                               "%s %s is no longer in flight in %s: it was "
                               "rolled back or promoted meanwhile (paved "
                               "history %s says by whom)",
                               t->rt_service, t->rt_version, t->rt_env,
                               t->rt_service);
    return 0;
}

int
paved_rollout_deploy(struct paved_rollout *ro,
                     const struct paved_rollout_target *t, bool canary)
{
    const struct paved_artifact *a = t->rt_artifact;
    const paved_environment *env;
    const struct paved_env_canary *cn;
    struct paved_driver_state s;
    struct paved_version v;
    paved_driver *d = NULL;
    struct ro_what w;
    unsigned failures = 0;
    size_t i;
    int error;

    memset(&s, 0, sizeof(s));
    if ((env = ro_env(ro, t->rt_env)) == NULL)
        return PAVED_ENOTFOUND;
    if ((error = paved_driver_check_version(t->rt_version)) < 0)
        return error;
    memset(&w, 0, sizeof(w));
    w.w_version = t->rt_version;
    w.w_sha = a->ar_sha;
    w.w_artifact = a->ar_ref;
    w.w_digest = a->ar_digest;
    w.w_repo = a->ar_repo;
    if (paved_environment_needs_approval(env)) {
        if (ro->ro_run_id > 0 &&
            (error = ro_wait_approval(ro, t->rt_env, t->rt_service, &w)) < 0)
            return error;
        /* a person at the CLI asked: that is the approval, recorded as
         * the deploy's actor */
    }
    if ((error = ro_driver(&d, ro, env)) < 0)
        return error;
    {
        bool changed = false;
        if ((error = paved_driver_reconcile(d, &changed)) < 0)
            goto out;
    }
    if ((error = ro_clear_candidate(
             ro, d, t->rt_env, t->rt_service,
             "an unfinished rollout was rolled back before a new one")) < 0 ||
        (error = ro_state(&s, d, t->rt_service)) < 0)
        goto out;
    memset(&v, 0, sizeof(v));
    v.v_service = t->rt_service;
    v.v_version = t->rt_version;
    v.v_sha = a->ar_sha;
    v.v_kind = a->ar_kind;
    v.v_artifact = a->ar_ref;
    v.v_digest = a->ar_digest;
    v.v_start = a->ar_start;
    ro_say(ro, "deploying %s %s (%s) to %s", t->rt_service, t->rt_version,
           a->ar_digest, t->rt_env);
    if ((error = paved_driver_start(d, &v)) < 0) {
        char why[1024];
        snprintf(why, sizeof(why), "%s did not start: %s", t->rt_version,
                 paved_error_last());
        (void)paved_driver_abort(d, t->rt_service);
        (void)ro_record(ro, t->rt_service, t->rt_env, "deploy", "failed", &w,
                        why, NULL);
        error = paved_error_set(error, "%s", why);
        goto out;
    }
    if ((error = ro_record(ro, t->rt_service, t->rt_env, "deploy", "started",
                           &w, t->rt_reason, NULL)) < 0)
        goto out;
    cn = paved_environment_canary(env);
    if (s.ds_stable_version == NULL || !canary || cn == NULL) {
        const char *how = s.ds_stable_version == NULL
                              ? "first version here: 100% at once"
                          : !canary || cn == NULL ? "no canary: 100% at once"
                                                  : "";
        ro_say(ro, "  %s", how);
        if ((error = paved_driver_route(d, t->rt_service, 100)) < 0)
            goto out;
        ro_summary_line(ro, "Deployed %s to %s (%s).", t->rt_version, t->rt_env,
                        how);
        error = ro_record(ro, t->rt_service, t->rt_env, "deploy", "ok", &w, how,
                          NULL);
        goto out;
    }
    ro_summary_line(ro, "### Canary of %s in %s (stable: %s)\n", t->rt_version,
                    t->rt_env, s.ds_stable_version);
    /* the lock is not held while nothing changes: `paved rollback` or
     * `promote` from a terminal act at once, and the next step sees it */
    paved_driver_close(d);
    d = NULL;
    if ((error = ro_wait_scraped(ro, env, t)) < 0) {
        char why[1024];
        snprintf(why, sizeof(why), "%s", paved_error_last());
        if (ro_driver(&d, ro, env) == 0 && ro_still_ours(d, t) == 0 &&
            paved_driver_abort(d, t->rt_service) == 0)
            (void)ro_record(ro, t->rt_service, t->rt_env, "rollback", "ok", &w,
                            why, NULL);
        error = paved_error_set(PAVED_ERROR, "%s", why);
        goto out;
    }
    for (i = 0; i < cn->cn_nweights; i++) {
        unsigned weight = cn->cn_weights[i];
        char *why = NULL, *detail = NULL;
        if ((error = ro_driver(&d, ro, env)) < 0 ||
            (error = ro_still_ours(d, t)) < 0)
            goto out;
        ro_say(ro, "  %u%% of %s's traffic to %s; judging after %us", weight,
               t->rt_service, t->rt_version, cn->cn_interval);
        if ((error = paved_driver_route(d, t->rt_service, weight)) < 0)
            goto out;
        paved_driver_close(d);
        d = NULL;
        if (ro_sleep_ms(ro, cn->cn_interval * 1000u)) {
            /* cancelled: a canary nobody drives must not stay */
            if ((why = strdup("the canary step was stopped (cancelled or "
                              "timed out) at a weight")) == NULL)
                error = paved_error_set(PAVED_ENOMEM, "out of memory");
            else
                error = 0;
        } else if ((error = ro_analyse(ro, env, t, &w, s.ds_stable_version,
                                       weight, &failures, &why, &detail)) < 0)
            goto out;
        if (error == 0) { /* roll back */
            if ((error = ro_driver(&d, ro, env)) == 0 &&
                (error = ro_still_ours(d, t)) == 0 &&
                (error = ro_record(ro, t->rt_service, t->rt_env, "canary",
                                   "failed", &w, why, detail)) == 0 &&
                (error = paved_driver_abort(d, t->rt_service)) == 0 &&
                (error = ro_record(ro, t->rt_service, t->rt_env, "rollback",
                                   "ok", &w, why, detail)) == 0) {
                ro_summary_line(ro, "\n**Rolled back**: %s", why);
                ro_say(ro, "rolled back: every request goes to %s again",
                       s.ds_stable_version);
                error = paved_error_set(PAVED_ERROR, "%s; rolled back to %s",
                                        why, s.ds_stable_version);
            }
            free(why);
            free(detail);
            goto out;
        }
    }
    error = ro_record(ro, t->rt_service, t->rt_env, "deploy", "ok", &w,
                      paved_environment_analysis(env) != NULL
                          ? "every canary step passed its analysis"
                          : "every canary step passed (no analysis is "
                            "defined: advanced on time)",
                      NULL);
    ro_summary_line(ro, "\nEvery step passed: %s serves 100%% of %s.",
                    t->rt_version, t->rt_env);
out:
    paved_driver_state_dispose(&s);
    paved_driver_close(d);
    return error;
}

/* Run the environment's smoke checks; *pass. The report goes to the
 * progress and the summary. */
static int
ro_run_smoke(struct paved_rollout *ro, const paved_environment *env,
             const char *service, const char *version, bool *pass, char *failed,
             size_t flen)
{
    struct paved_smoke_var vars[3];
    struct paved_smoke_report rep;
    const struct paved_env_smoke *checks;
    size_t n, i, used = 0;
    int error;

    *pass = true;
    failed[0] = '\0';
    checks = paved_environment_smoke(env, &n);
    if (n == 0)
        return 0;
    vars[0].sv_name = "service";
    vars[0].sv_value = service;
    vars[1].sv_name = "environment";
    vars[1].sv_value = paved_environment_name(env);
    vars[2].sv_name = "version";
    vars[2].sv_value = version;
    if ((error = paved_smoke_run(&rep, checks, n, vars, 3, NULL)) < 0)
        return error;
    for (i = 0; i < rep.rp_n; i++) {
        const struct paved_smoke_result *r = &rep.rp_results[i];
        ro_say(ro, "  smoke %s: %s", r->sr_name, r->sr_message);
        if (!r->sr_pass && used < flen) {
            int k = snprintf(failed + used, flen - used, "%s%s: %s",
                             used > 0 ? "; " : "", r->sr_name, r->sr_message);
            if (k > 0)
                used += (size_t)k;
        }
    }
    if (ro->ro_summary != NULL) {
        (void)paved_buf_printf(ro->ro_summary, "\n#### Smoke checks of %s\n\n",
                               version);
        (void)paved_smoke_markdown(ro->ro_summary, &rep);
    }
    *pass = rep.rp_pass;
    paved_smoke_report_dispose(&rep);
    return 0;
}

/* Smoke checks for the version in flight (or the stable one); a failure
 * in flight rolls back. *passed for the caller. */
static int
ro_smoke_locked(struct paved_rollout *ro, paved_driver *d,
                const paved_environment *env, const char *service)
{
    const char *envname = paved_environment_name(env);
    struct paved_driver_state s;
    struct ro_what w;
    char failed[1024], why[1200];
    bool pass, inflight;
    int error;

    if ((error = ro_state(&s, d, service)) < 0)
        return error;
    inflight = s.ds_candidate_version != NULL;
    if (inflight)
        ro_candidate(&w, &s);
    else
        ro_stable(&w, &s);
    if (w.w_version == NULL) {
        paved_driver_state_dispose(&s);
        return paved_error_set(PAVED_ENOTFOUND,
                               "%s does not run in %s: nothing to check "
                               "(deploy it first)",
                               service, envname);
    }
    ro_say(ro, "smoke checks of %s %s in %s", service, w.w_version, envname);
    if ((error = ro_run_smoke(ro, env, service, w.w_version, &pass, failed,
                              sizeof(failed))) < 0)
        goto out;
    if (pass) {
        error = ro_record(ro, service, envname, "smoke", "ok", &w,
                          "every smoke check passed", NULL);
        goto out;
    }
    snprintf(why, sizeof(why), "smoke checks of %s failed: %s", w.w_version,
             failed);
    if ((error = ro_record(ro, service, envname, "smoke", "failed", &w, why,
                           NULL)) < 0)
        goto out;
    if (inflight) {
        ro_say(ro, "rolling back %s: %s", w.w_version, failed);
        if ((error = paved_driver_abort(d, service)) < 0 ||
            (error = ro_record(ro, service, envname, "rollback", "ok", &w, why,
                               NULL)) < 0)
            goto out;
        ro_summary_line(ro, "\n**Rolled back**: %s", why);
        error = paved_error_set(
            PAVED_ERROR, "%s; rolled back to %s", why,
            s.ds_stable_version != NULL ? s.ds_stable_version : "nothing");
    } else {
        error = paved_error_set(PAVED_ERROR,
                                "%s (it is the stable version: "
                                "nothing to roll back to here)",
                                why);
    }
out:
    paved_driver_state_dispose(&s);
    return error;
}

int
paved_rollout_smoke(struct paved_rollout *ro, const char *envname,
                    const char *service)
{
    const paved_environment *env;
    paved_driver *d = NULL;
    int error;

    if ((env = ro_env(ro, envname)) == NULL)
        return PAVED_ENOTFOUND;
    if ((error = ro_driver(&d, ro, env)) < 0)
        return error;
    error = ro_smoke_locked(ro, d, env, service);
    paved_driver_close(d);
    return error;
}

/* Did the smoke checks pass for this digest in env since it was last
 * deployed there? */
static int
ro_smoke_passed(bool *out, struct paved_rollout *ro, const char *env,
                const char *service, const char *digest)
{
    struct paved_deploy_filter f;
    struct paved_deploy_rec **list = NULL;
    size_t n = 0, i;
    int error;

    *out = false;
    memset(&f, 0, sizeof(f));
    f.df_service = service;
    f.df_env = env;
    f.df_limit = 20;
    if ((error = paved_store_deploy_list(&list, &n, ro->ro_store, &f)) < 0)
        return error;
    for (i = 0; i < n; i++) {
        const struct paved_deploy_rec *r = list[i];
        if (r->dr_digest == NULL || strcmp(r->dr_digest, digest) != 0)
            continue;
        if (strcmp(r->dr_action, "smoke") == 0) {
            *out = strcmp(r->dr_result, "ok") == 0;
            break;
        }
        if (strcmp(r->dr_action, "deploy") == 0 &&
            strcmp(r->dr_result, "started") == 0)
            break; /* deployed again since: the old result does not count */
    }
    paved_deploy_list_free(list, n);
    return 0;
}

int
paved_rollout_promote(struct paved_rollout *ro, const char *envname,
                      const char *service, const char *reason)
{
    const paved_environment *env;
    struct paved_driver_state s;
    paved_driver *d = NULL;
    struct ro_what w;
    char *repo = NULL;
    size_t nsmoke;
    bool passed = true;
    int error;

    memset(&s, 0, sizeof(s));
    if ((env = ro_env(ro, envname)) == NULL)
        return PAVED_ENOTFOUND;
    if ((error = ro_driver(&d, ro, env)) < 0)
        return error;
    if ((error = ro_state(&s, d, service)) < 0)
        goto out;
    if (s.ds_candidate_version == NULL) {
        error = paved_error_set(
            PAVED_ENOTFOUND,
            "nothing to promote: no version of %s is in flight in %s%s%s "
            "(paved promote %s --env=%s --version=V deploys one)",
            service, envname, s.ds_stable_version != NULL ? "; stable is " : "",
            s.ds_stable_version != NULL ? s.ds_stable_version : "", service,
            envname);
        goto out;
    }
    ro_candidate(&w, &s);
    if (s.ds_weight < 100) {
        ro_say(ro, "%s is at %u%%: all traffic to it first", w.w_version,
               s.ds_weight);
        if ((error = paved_driver_route(d, service, 100)) < 0)
            goto out;
    }
    (void)paved_environment_smoke(env, &nsmoke);
    if (nsmoke > 0 &&
        (error = ro_smoke_passed(&passed, ro, envname, service,
                                 w.w_digest != NULL ? w.w_digest : "")) < 0)
        goto out;
    if (!passed && (error = ro_smoke_locked(ro, d, env, service)) < 0)
        goto out;
    ro_say(ro, "promoting %s %s in %s%s%s", service, w.w_version, envname,
           s.ds_stable_version != NULL ? "; stopping " : "",
           s.ds_stable_version != NULL ? s.ds_stable_version : "");
    if ((error = ro_repo_of(&repo, ro, service, w.w_digest)) < 0 ||
        (error = paved_driver_promote(d, service)) < 0)
        goto out;
    w.w_repo = repo;
    error = ro_record(ro, service, envname, "promote", "ok", &w,
                      reason != NULL ? reason : "passed its checks", NULL);
    ro_summary_line(ro, "\nPromoted %s: it is the stable version of %s.",
                    w.w_version, envname);
out:
    free(repo);
    paved_driver_state_dispose(&s);
    paved_driver_close(d);
    return error;
}

/* The version promoted in env before the current stable one. */
static int
ro_previous(struct paved_deploy_rec **out, struct paved_rollout *ro,
            const char *env, const char *service, const char *digest)
{
    struct paved_deploy_filter f;
    struct paved_deploy_rec **list = NULL;
    size_t n = 0, i, start;
    int error;

    *out = NULL;
    memset(&f, 0, sizeof(f));
    f.df_service = service;
    f.df_env = env;
    f.df_action = "promote";
    f.df_result = "ok";
    f.df_limit = 200;
    if ((error = paved_store_deploy_list(&list, &n, ro->ro_store, &f)) < 0)
        return error;
    /* older than the current stable version's own promotion: after v1,
     * v2 and a rollback to v1, a second rollback has nothing before v1
     * (v2 is what was rolled back, not an earlier version) */
    for (start = 0; digest != NULL && start < n; start++)
        if (list[start]->dr_digest != NULL &&
            strcmp(list[start]->dr_digest, digest) == 0)
            break;
    if (start == n)
        start = 0; /* its promotion is out of reach: any other one */
    for (i = start; i < n; i++)
        if (list[i]->dr_digest != NULL && list[i]->dr_sha != NULL &&
            list[i]->dr_repo != NULL &&
            (digest == NULL || strcmp(list[i]->dr_digest, digest) != 0)) {
            *out = list[i];
            list[i] = NULL;
            break;
        }
    paved_deploy_list_free(list, n);
    if (*out == NULL)
        return paved_error_set(PAVED_ENOTFOUND,
                               "no earlier version of %s was promoted in %s: "
                               "nothing to roll back to",
                               service, env);
    return 0;
}

int
paved_rollout_rollback(struct paved_rollout *ro, const char *envname,
                       const char *service, const char *reason)
{
    const paved_environment *env;
    struct paved_driver_state s;
    struct paved_deploy_rec *prev = NULL;
    struct paved_artifact *a = NULL;
    struct paved_version v;
    paved_driver *d = NULL;
    struct ro_what w;
    char why[1024];
    int error;

    memset(&s, 0, sizeof(s));
    if ((env = ro_env(ro, envname)) == NULL)
        return PAVED_ENOTFOUND;
    if ((error = ro_driver(&d, ro, env)) < 0)
        return error;
    if ((error = ro_state(&s, d, service)) < 0)
        goto out;
    if (s.ds_candidate_version != NULL) {
        ro_candidate(&w, &s);
        snprintf(why, sizeof(why), "%s", reason != NULL ? reason : "asked");
        ro_say(ro, "rolling back %s %s in %s: %s serves everything again",
               service, w.w_version, envname,
               s.ds_stable_version != NULL ? s.ds_stable_version : "nothing");
        if ((error = paved_driver_abort(d, service)) == 0)
            error = ro_record(ro, service, envname, "rollback", "ok", &w, why,
                              NULL);
        goto out;
    }
    if (s.ds_stable_version == NULL) {
        error = paved_error_set(PAVED_ENOTFOUND,
                                "%s does not run in %s: nothing to roll back",
                                service, envname);
        goto out;
    }
    if ((error = ro_previous(&prev, ro, envname, service, s.ds_stable_digest)) <
            0 ||
        (error = paved_store_artifact_get(&a, ro->ro_store, prev->dr_repo,
                                          prev->dr_sha)) < 0)
        goto out;
    memset(&v, 0, sizeof(v));
    v.v_service = service;
    v.v_version = prev->dr_version;
    v.v_sha = prev->dr_sha;
    v.v_kind = a->ar_kind;
    v.v_artifact = prev->dr_artifact;
    v.v_digest = prev->dr_digest;
    v.v_start = a->ar_start;
    memset(&w, 0, sizeof(w));
    w.w_version = prev->dr_version;
    w.w_sha = prev->dr_sha;
    w.w_artifact = prev->dr_artifact;
    w.w_digest = prev->dr_digest;
    w.w_repo = prev->dr_repo;
    snprintf(why, sizeof(why), "%s replaced by the version before it%s%s",
             s.ds_stable_version, reason != NULL ? ": " : "",
             reason != NULL ? reason : "");
    ro_say(ro, "rolling back %s in %s: %s -> %s", service, envname,
           s.ds_stable_version, prev->dr_version);
    if ((error = paved_driver_start(d, &v)) < 0 ||
        (error = paved_driver_route(d, service, 100)) < 0 ||
        (error = paved_driver_promote(d, service)) < 0)
        goto out;
    {
        /* "restored": this row names the version that serves now (the
         * catalog's "deployed" reads it), unlike a canary's rollback,
         * which names the version rolled back */
        json_t *js = json_pack("{s:b,s:s}", "restored", 1, "replaced",
                               s.ds_stable_version);
        char *detail = js != NULL ? json_dumps(js, JSON_COMPACT) : NULL;
        json_decref(js);
        error =
            ro_record(ro, service, envname, "rollback", "ok", &w, why, detail);
        free(detail);
    }
out:
    paved_artifact_free(a);
    paved_deploy_rec_free(prev);
    paved_driver_state_dispose(&s);
    paved_driver_close(d);
    return error;
}

int
paved_rollout_approve(struct paved_rollout *ro, int64_t run_id,
                      const char *reason)
{
    struct paved_deploy_filter f;
    struct paved_deploy_rec **list = NULL;
    const struct paved_deploy_rec *r;
    struct ro_what w;
    size_t n = 0;
    int error;

    memset(&f, 0, sizeof(f));
    f.df_run_id = run_id;
    f.df_limit = 1;
    if ((error = paved_store_deploy_list(&list, &n, ro->ro_store, &f)) < 0)
        return error;
    r = n > 0 ? list[0] : NULL;
    if (r == NULL || strcmp(r->dr_result, "waiting") != 0) {
        error = paved_error_set(
            PAVED_ENOTFOUND, "run %lld is not waiting for an approval%s%s%s",
            (long long)run_id, r != NULL ? " (its last delivery event: " : "",
            r != NULL ? r->dr_action : "", r != NULL ? ")" : "");
        paved_deploy_list_free(list, n);
        return error;
    }
    memset(&w, 0, sizeof(w));
    w.w_version = r->dr_version;
    w.w_sha = r->dr_sha;
    w.w_artifact = r->dr_artifact;
    w.w_digest = r->dr_digest;
    w.w_repo = r->dr_repo;
    {
        int64_t saved = ro->ro_run_id;
        ro->ro_run_id = run_id;
        error = ro_record(ro, r->dr_service, r->dr_env, "approve", "ok", &w,
                          reason, NULL);
        ro->ro_run_id = saved;
    }
    if (error == 0)
        ro_say(ro, "approved: run %lld may deploy %s %s to %s",
               (long long)run_id, r->dr_service,
               r->dr_version != NULL ? r->dr_version : "", r->dr_env);
    paved_deploy_list_free(list, n);
    return error;
}

int
paved_rollout_recover(struct paved_rollout *ro, bool *changed)
{
    size_t i, k;
    int error = 0;

    *changed = false;
    for (i = 0;
         ro->ro_envs != NULL && i < paved_environment_set_count(ro->ro_envs);
         i++) {
        const paved_environment *env =
            paved_environment_set_get(ro->ro_envs, i);
        paved_driver *d = NULL;
        char **names = NULL;
        size_t n = 0;
        bool fixed = false;

        if ((error = ro_driver(&d, ro, env)) < 0)
            break;
        if ((error = paved_driver_reconcile(d, &fixed)) == 0)
            error = paved_driver_services(&names, &n, d);
        *changed = *changed || fixed;
        for (k = 0; error == 0 && k < n; k++) {
            struct paved_driver_state s;
            if ((error = ro_state(&s, d, names[k])) < 0)
                break;
            if (s.ds_candidate_version != NULL) {
                *changed = true;
                error = ro_clear_candidate(
                    ro, d, paved_environment_name(env), names[k],
                    "paved stopped during the rollout; the interrupted run "
                    "is requeued and starts it again");
            }
            paved_driver_state_dispose(&s);
        }
        for (k = 0; k < n; k++)
            free(names[k]);
        free(names);
        paved_driver_close(d);
        if (error < 0)
            break;
    }
    return error;
}
