/* One run: the checkout on the pool (mirror fetch, worktree of the exact
 * commit, the repository's .paved.yaml, secrets), then the steps as a DAG
 * of supervised processes, retries with backoff, and cancel. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "paved/error.h"
#include "sched/sched_int.h"

/* The pool job: inputs are copies or immutable config/pipeline data, so
 * the worker never reads the run itself. */
struct sched_checkout {
    struct sched_run *co_run;
    char *co_url;
    char *co_repo;
    char *co_ref;
    char *co_sha;
    char *co_base_ref; /* a pull request's base branch and commit, so */
    char *co_base_sha; /* that a step can diff against it; or NULL */
    const char *co_git_dir;
    const char *co_workspace;
    const char *co_secrets_dir;
    char *const *co_secret_names;
    size_t co_nsecrets;
    char *const *co_environ;
    struct paved_workspace_cred co_cred;
    /* results */
    int co_error;
    const char *co_stage; /* what failed, for the run's reason */
    char co_msg[512];
    char *co_mirror;
    char co_commit[41];       /* sha peeled: an annotated tag's commit */
    const char *co_file_name; /* ".paved.yaml" or "paved.yaml" */
    paved_pipeline_repo *co_file;
    struct paved_pipeline_diags co_diags;
    char **co_secret_values;
};

static void
checkout_free(struct sched_checkout *co)
{
    size_t i;

    if (co == NULL)
        return;
    free(co->co_url);
    free(co->co_repo);
    free(co->co_ref);
    free(co->co_sha);
    free(co->co_base_ref);
    free(co->co_base_sha);
    free(co->co_mirror);
    paved_pipeline_repo_free(co->co_file);
    paved_pipeline_diags_dispose(&co->co_diags);
    if (co->co_secret_values != NULL) {
        for (i = 0; i < co->co_nsecrets; i++) {
            if (co->co_secret_values[i] != NULL) {
                explicit_bzero(co->co_secret_values[i],
                               strlen(co->co_secret_values[i]));
                free(co->co_secret_values[i]);
            }
        }
        free(co->co_secret_values);
    }
    free(co);
}

/* The repository's own file: .paved.yaml, or paved.yaml (what golden
 * paths write: a visible file teams find). Both at once is ambiguous. */
static int
checkout_repo_file(struct sched_checkout *co)
{
    static const char *const names[] = {".paved.yaml", "paved.yaml"};
    struct stat sb;
    char *file;
    size_t i;
    int error = 0, found = 0;

    co->co_stage = "invalid .paved.yaml";
    co->co_file_name = names[0];
    for (i = 0; i < 2; i++) {
        if ((file = sched_path(co->co_workspace, names[i], NULL)) == NULL)
            return paved_error_set(PAVED_ENOMEM, "out of memory");
        if (lstat(file, &sb) == 0) {
            if (found) {
                error = paved_error_set(PAVED_EINVAL,
                                        "both .paved.yaml and paved.yaml "
                                        "exist: keep one of them");
            } else {
                co->co_file_name = names[i];
                co->co_stage =
                    i == 0 ? "invalid .paved.yaml" : "invalid paved.yaml";
                error =
                    paved_pipeline_repo_load(&co->co_file, &co->co_diags, file);
            }
            found = 1;
        }
        free(file);
        if (error < 0)
            return error;
    }
    return 0; /* most repositories carry none */
}

static void
checkout_work(void *arg)
{
    struct sched_checkout *co = arg;
    int error;

    co->co_stage = "checkout failed";
    error = paved_workspace_mirror(&co->co_mirror, co->co_git_dir, co->co_repo,
                                   co->co_url, co->co_ref, co->co_sha,
                                   &co->co_cred);
    if (error == 0)
        error = paved_workspace_peel(co->co_commit, co->co_mirror, co->co_sha);
    if (error == 0)
        error = paved_workspace_checkout(co->co_mirror, co->co_commit,
                                         co->co_workspace);
    /* best effort: without the base, guardrails scan the whole tree */
    if (error == 0 && co->co_base_sha != NULL && co->co_base_ref != NULL) {
        char *mirror = NULL;
        (void)paved_workspace_mirror(&mirror, co->co_git_dir, co->co_repo,
                                     co->co_url, co->co_base_ref,
                                     co->co_base_sha, &co->co_cred);
        free(mirror);
    }
    if (error == 0 && co->co_nsecrets > 0) {
        co->co_stage = "secrets";
        error = sched_secrets_resolve(&co->co_secret_values,
                                      co->co_secret_names, co->co_nsecrets,
                                      co->co_environ, co->co_secrets_dir);
    }
    if (error == 0)
        error = checkout_repo_file(co);
    co->co_error = error;
    if (error < 0)
        snprintf(co->co_msg, sizeof(co->co_msg), "%s", paved_error_last());
}

static void
run_end(struct sched_run *r, enum paved_run_state state, const char *reason)
{
    r->r_rec->ru_state = state;
    if (reason != NULL) {
        free(r->r_rec->ru_reason);
        r->r_rec->ru_reason = strdup(reason);
    }
    sched_run_finish(r);
}

/* The steps of the (possibly merged) pipeline, in file order. */
static int
run_build_steps(struct sched_run *r)
{
    size_t i, j, n = paved_pipeline_nsteps(r->r_pl);

    if (n == 0)
        return 0;
    if ((r->r_steps = calloc(n, sizeof(*r->r_steps))) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    for (i = 0; i < n; i++) {
        struct sched_step *st = &r->r_steps[i];
        const struct paved_step *def = paved_pipeline_step(r->r_pl, i);
        struct paved_buf needs = PAVED_BUF_INIT(64 * 1024);
        int error = 0;

        r->r_nsteps++;
        st->ss_run = r;
        st->ss_index = i;
        st->ss_def = def;
        st->ss_if_false = paved_pipeline_eval_if(r->r_pl, i, &r->r_ev) == 0;
        st->ss_rec.sr_run = r->r_rec->ru_id;
        st->ss_rec.sr_index = (unsigned)i;
        st->ss_rec.sr_state = PAVED_RUN_QUEUED;
        st->ss_rec.sr_exit = -1;
        if ((st->ss_rec.sr_name = strdup(def->st_name)) == NULL)
            return paved_error_set(PAVED_ENOMEM, "out of memory");
        if (def->st_nneeds > 0 &&
            (st->ss_needs = calloc(def->st_nneeds, sizeof(size_t))) == NULL)
            return paved_error_set(PAVED_ENOMEM, "out of memory");
        error = paved_buf_putc(&needs, '[');
        for (j = 0; error == 0 && j < def->st_nneeds; j++) {
            long k = paved_pipeline_step_index(r->r_pl, def->st_needs[j]);
            /* validation guarantees every name exists */
            st->ss_needs[j] = k >= 0 ? (size_t)k : i;
            if (j > 0)
                error = paved_buf_putc(&needs, ',');
            if (error == 0)
                error = paved_buf_put_json_string(&needs, def->st_needs[j]);
        }
        if (error == 0)
            error = paved_buf_putc(&needs, ']');
        if (error < 0) {
            paved_buf_dispose(&needs);
            return error;
        }
        st->ss_rec.sr_needs = paved_buf_detach(&needs, NULL);
        if (st->ss_rec.sr_needs == NULL)
            return paved_error_set(PAVED_ENOMEM, "out of memory");
    }
    return 0;
}

/* Secrets for the mask: only values long enough not to garble text. */
static int
run_build_mask(struct sched_run *r)
{
    const char **vals = NULL;
    size_t i, n = 0;
    int error;

    if (r->r_nsecrets == 0)
        return 0;
    if ((vals = calloc(r->r_nsecrets, sizeof(*vals))) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    for (i = 0; i < r->r_nsecrets; i++) {
        if (strlen(r->r_secret_values[i]) < SCHED_MASK_MIN) {
            char id[32];
            snprintf(id, sizeof(id), "%lld", (long long)r->r_rec->ru_id);
            paved_log_kv(r->r_sched->s_log, PAVED_LOG_WARN,
                         "secret too short to mask in logs", "run", id,
                         "secret", r->r_secret_names[i], "fix",
                         "use a secret of 6 bytes or more", NULL);
        }
        vals[n++] = r->r_secret_values[i];
    }
    error = paved_mask_new(&r->r_mask, (const char *const *)vals, n,
                           SCHED_MASK_MIN, NULL);
    free(vals);
    return error;
}

/* "invalid .paved.yaml: .paved.yaml:3:5: ..." - the repository's own name
 * for the file, not the workspace path it was read from */
static void
checkout_diag_reason(char *msg, size_t len, const char *file,
                     struct paved_pipeline_diags *dl)
{
    char *line = NULL, *name = strdup(file);

    if (dl->dl_n == 0 || name == NULL) {
        free(name);
        snprintf(msg, len, "invalid %s: %s", file, paved_error_last());
        return;
    }
    free(dl->dl_items[0].dg_file);
    dl->dl_items[0].dg_file = name;
    if (paved_pipeline_diag_format(&line, &dl->dl_items[0]) < 0) {
        snprintf(msg, len, "invalid %s", file);
        return;
    }
    snprintf(msg, len, "invalid %s: %s%s", file, line,
             dl->dl_n > 1 ? " (and more: paved lint shows all)" : "");
    free(line);
}

static void
checkout_done(void *arg)
{
    struct sched_checkout *co = arg;
    struct sched_run *r = co->co_run;
    paved_sched *s = r->r_sched;
    char msg[768];
    size_t i;

    r->r_job = NULL;
    if (s->s_stopping) {
        checkout_free(co);
        return;
    }
    if (r->r_cancel) {
        checkout_free(co);
        run_end(r, PAVED_RUN_CANCELLED, r->r_cancel_why);
        return;
    }
    if (co->co_error < 0) {
        if (co->co_diags.dl_n > 0) {
            checkout_diag_reason(msg, sizeof(msg), co->co_file_name,
                                 &co->co_diags);
        } else {
            snprintf(msg, sizeof(msg), "%s: %s", co->co_stage, co->co_msg);
        }
        checkout_free(co);
        run_end(r, PAVED_RUN_ERROR, msg);
        return;
    }
    /* an annotated tag: the run is of the commit it points at */
    if (strcmp(co->co_commit, r->r_rec->ru_sha) != 0) {
        char *sha = strdup(co->co_commit), *evsha = strdup(co->co_commit);
        if (sha == NULL || evsha == NULL) {
            free(sha);
            free(evsha);
            checkout_free(co);
            run_end(r, PAVED_RUN_ERROR, "out of memory");
            return;
        }
        free(r->r_rec->ru_sha);
        r->r_rec->ru_sha = sha;
        free(r->r_ev.ev_sha);
        r->r_ev.ev_sha = evsha;
        sched_run_save(r);
    }
    /* secrets move to the run */
    r->r_secret_values = co->co_secret_values;
    co->co_secret_values = NULL;
    if (co->co_file != NULL) {
        const char *sel = paved_pipeline_repo_selects(co->co_file);
        if (sel != NULL && strcmp(sel, paved_pipeline_name(r->r_pl)) != 0) {
            snprintf(msg, sizeof(msg),
                     "skipped: the repository's %s selects "
                     "pipeline \"%s\"",
                     co->co_file_name, sel);
            checkout_free(co);
            run_end(r, PAVED_RUN_SUCCESS, msg);
            return;
        }
        if (paved_pipeline_merge(&r->r_merged, &co->co_diags,
                                 s->s_deps.sd_pipelines, co->co_file) < 0) {
            checkout_diag_reason(msg, sizeof(msg), co->co_file_name,
                                 &co->co_diags);
            checkout_free(co);
            run_end(r, PAVED_RUN_ERROR, msg);
            return;
        }
        r->r_pl = r->r_merged;
    }
    checkout_free(co);
    if (run_build_steps(r) < 0 || run_build_mask(r) < 0) {
        run_end(r, PAVED_RUN_ERROR, paved_error_last());
        return;
    }
    for (i = 0; i < r->r_nsteps; i++)
        sched_step_save(&r->r_steps[i]);
    {
        char desc[64];
        snprintf(desc, sizeof(desc), "running: %zu step%s", r->r_nsteps,
                 r->r_nsteps == 1 ? "" : "s");
        sched_report(r, "running", desc);
    }
    r->r_phase = SCHED_STEPS;
    sched_steps_pump(r);
}

/* {repo} in the template, or the payload's clone URL */
static int
run_clone_url(char **out, const struct paved_config *cf,
              const struct paved_event *ev)
{
    const char *t = cf->cf_clone_url_template, *at;
    struct paved_buf b = PAVED_BUF_INIT(8192);
    int error = 0;

    *out = NULL;
    if (t == NULL || t[0] == '\0') {
        if (ev->ev_clone_url == NULL || ev->ev_clone_url[0] == '\0')
            return paved_error_set(PAVED_EINVAL,
                                   "the event carries no clone URL (set "
                                   "clone_url_template)");
        if ((*out = strdup(ev->ev_clone_url)) == NULL)
            return paved_error_set(PAVED_ENOMEM, "out of memory");
        return 0;
    }
    while (error == 0 && (at = strstr(t, "{repo}")) != NULL) {
        if ((error = paved_buf_put(&b, t, (size_t)(at - t))) == 0)
            error = paved_buf_puts(&b, ev->ev_repo ? ev->ev_repo : "");
        t = at + 6;
    }
    if (error == 0)
        error = paved_buf_puts(&b, t);
    if (error < 0) {
        paved_buf_dispose(&b);
        return error;
    }
    *out = paved_buf_detach(&b, NULL);
    return *out != NULL ? 0 : paved_error_set(PAVED_ENOMEM, "out of memory");
}

int
sched_run_start(struct sched_run *r)
{
    paved_sched *s = r->r_sched;
    const struct paved_config *cf = s->s_cf;
    struct sched_checkout *co = NULL;
    char id[32], *url = NULL;
    int error;

    snprintf(id, sizeof(id), "%lld", (long long)r->r_rec->ru_id);
    r->r_phase = SCHED_CHECKOUT;
    r->r_rec->ru_state = PAVED_RUN_RUNNING;
    r->r_rec->ru_started_ms = sched_now_ms();
    sched_run_save(r);
    paved_log_kv(s->s_log, PAVED_LOG_INFO, "run started", "run", id, "pipeline",
                 r->r_rec->ru_pipeline, "repo", r->r_rec->ru_repo, "sha",
                 r->r_rec->ru_sha, NULL);
    if ((r->r_workspace = sched_path(s->s_work_dir, id, NULL)) == NULL ||
        (r->r_rundir = sched_path(s->s_runs_dir, id, NULL)) == NULL ||
        (co = calloc(1, sizeof(*co))) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto fail;
    }
    if (mkdir(r->r_rundir, 0700) < 0 && errno != EEXIST) {
        error = paved_error_set(PAVED_EUNAVAILABLE, "create %s: %s",
                                r->r_rundir, strerror(errno));
        goto fail;
    }
    if ((error = run_clone_url(&url, cf, &r->r_ev)) < 0)
        goto fail;
    co->co_run = r;
    co->co_url = url;
    co->co_repo = strdup(r->r_rec->ru_repo);
    co->co_ref = r->r_rec->ru_ref != NULL ? strdup(r->r_rec->ru_ref) : NULL;
    co->co_sha = strdup(r->r_rec->ru_sha);
    if (r->r_ev.ev_kind == PAVED_EVENT_PULL_REQUEST &&
        r->r_ev.ev_before != NULL && r->r_ev.ev_pr_base != NULL) {
        size_t n = strlen(r->r_ev.ev_pr_base) + sizeof("refs/heads/");
        if ((co->co_base_ref = malloc(n)) != NULL)
            snprintf(co->co_base_ref, n, "refs/heads/%s", r->r_ev.ev_pr_base);
        co->co_base_sha = strdup(r->r_ev.ev_before);
    }
    if (co->co_repo == NULL || co->co_sha == NULL ||
        (r->r_rec->ru_ref != NULL && co->co_ref == NULL)) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto fail;
    }
    co->co_git_dir = s->s_git_dir;
    co->co_workspace = r->r_workspace;
    co->co_secrets_dir = s->s_secrets_dir;
    co->co_environ = s->s_deps.sd_environ;
    co->co_cred.wc_token =
        cf->cf_git_token[0] != '\0' ? cf->cf_git_token : NULL;
    co->co_cred.wc_ssh_key =
        cf->cf_git_ssh_key[0] != '\0' ? cf->cf_git_ssh_key : NULL;
    {
        size_t n = 0;
        char *const *names = paved_pipeline_secrets(r->r_pl, &n);
        co->co_secret_names = names;
        co->co_nsecrets = n;
        if (n > 0) {
            if ((r->r_secret_names = calloc(n, sizeof(char *))) == NULL) {
                error = paved_error_set(PAVED_ENOMEM, "out of memory");
                goto fail;
            }
            memcpy(r->r_secret_names, names, n * sizeof(char *));
            r->r_nsecrets = n;
        }
    }
    r->r_job = co;
    if ((error = paved_pool_submit(s->s_pool, checkout_work, checkout_done,
                                   co)) < 0) {
        r->r_job = NULL;
        goto fail;
    }
    return 0;
fail:
    checkout_free(co);
    run_end(r, PAVED_RUN_ERROR, paved_error_last());
    return error;
}

/* ---- steps ------------------------------------------------------------- */

char *
sched_step_file(const struct sched_step *st, const char *ext)
{
    char name[160];

    snprintf(name, sizeof(name), "%zu-%s.%s", st->ss_index, st->ss_def->st_name,
             ext);
    return sched_path(st->ss_run->r_rundir, name, NULL);
}

static void
step_end(struct sched_step *st, enum paved_run_state state, const char *reason)
{
    paved_sched *s = st->ss_run->r_sched;
    char labels[64];

    st->ss_rec.sr_state = state;
    free(st->ss_rec.sr_reason);
    st->ss_rec.sr_reason = reason != NULL ? strdup(reason) : NULL;
    st->ss_rec.sr_finished_ms = sched_now_ms();
    sched_step_save(st);
    if (s->s_metrics != NULL) {
        snprintf(labels, sizeof(labels), "state=\"%s\"",
                 paved_run_state_name(state));
        paved_metrics_inc(s->s_metrics, "paved_steps_finished_total",
                          "Steps that ended, by state", labels, 1);
    }
}

static void step_proc_done(const struct paved_proc_result *res, void *arg);

static int
step_start(struct sched_step *st)
{
    struct sched_run *r = st->ss_run;
    paved_sched *s = r->r_sched;
    struct paved_proc_spec spec;
    char **env = NULL, *script = NULL, *log = NULL;
    int error;

    if ((script = sched_step_file(st, "sh")) == NULL ||
        (log = sched_step_file(st, "log")) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    st->ss_rec.sr_attempts++;
    /* what an earlier attempt wrote for the check run is not this one's:
     * a retried canary must not show the first attempt's verdict too */
    {
        const char *exts[] = {"summary", "annotations"};
        size_t k;
        for (k = 0; k < 2; k++) {
            char *f = sched_step_file(st, exts[k]);
            if (f != NULL)
                (void)unlink(f);
            free(f);
        }
    }
    if (st->ss_rec.sr_attempts > 1) {
        char note[64];
        snprintf(note, sizeof(note), "attempt %u of %u", st->ss_rec.sr_attempts,
                 st->ss_def->st_retries + 1);
        (void)paved_proc_log_note(log, note);
    }
    if ((error = sched_step_env(&env, r, st)) < 0)
        goto out;
    memset(&spec, 0, sizeof(spec));
    if (st->ss_def->st_uses != NULL)
        spec.ps_script = sched_builtin_script(st->ss_def->st_uses);
    else
        spec.ps_script = st->ss_def->st_run;
    if (spec.ps_script == NULL)
        spec.ps_script = "";
    spec.ps_script_path = script;
    spec.ps_cwd = r->r_workspace;
    spec.ps_env = env;
    spec.ps_log_path = log;
    spec.ps_mask = r->r_mask;
    spec.ps_timeout_ms = st->ss_def->st_timeout * 1000u;
    spec.ps_grace_ms = s->s_cf->cf_step_kill_grace > 0
                           ? s->s_cf->cf_step_kill_grace * 1000u
                           : 1;
    if ((error = paved_proc_start(&st->ss_proc, s->s_procs, &spec,
                                  step_proc_done, st)) < 0)
        goto out;
    r->r_live++;
    st->ss_rec.sr_pid = paved_proc_pid(st->ss_proc);
    st->ss_rec.sr_state = PAVED_RUN_RUNNING;
    if (st->ss_rec.sr_started_ms == 0)
        st->ss_rec.sr_started_ms = sched_now_ms();
    sched_step_save(st);
out:
    sched_env_free(env);
    free(script);
    free(log);
    return error;
}

static void
step_retry_cb(evutil_socket_t fd, short what, void *arg)
{
    struct sched_step *st = arg;

    (void)fd;
    (void)what;
    sched_steps_pump(st->ss_run);
}

static void
step_proc_done(const struct paved_proc_result *res, void *arg)
{
    struct sched_step *st = arg;
    struct sched_run *r = st->ss_run;
    paved_sched *s = r->r_sched;
    char why[256];

    st->ss_proc = NULL;
    st->ss_rec.sr_pid = 0;
    r->r_live--;
    st->ss_rec.sr_exit = res->pr_exit;
    if (res->pr_cancelled || r->r_cancel) {
        step_end(st, PAVED_RUN_CANCELLED, r->r_cancel_why);
        sched_steps_pump(r);
        return;
    }
    if (res->pr_exit == 0 && !res->pr_timed_out) {
        step_end(st, PAVED_RUN_SUCCESS, NULL);
        sched_steps_pump(r);
        return;
    }
    if (res->pr_timed_out)
        snprintf(why, sizeof(why), "timed out after %us",
                 st->ss_def->st_timeout);
    else if (res->pr_signal != 0)
        snprintf(why, sizeof(why), "killed by signal %d", res->pr_signal);
    else
        snprintf(why, sizeof(why), "exit status %d", res->pr_exit);
    if (st->ss_rec.sr_attempts <= st->ss_def->st_retries) {
        /* backoff doubles per attempt, capped at five minutes */
        unsigned shift = st->ss_rec.sr_attempts - 1;
        unsigned long long ms =
            (unsigned long long)s->s_cf->cf_retry_backoff * 1000ull
            << (shift > 8 ? 8 : shift);
        struct timeval tv;
        char *log = sched_step_file(st, "log");
        if (ms > 300000)
            ms = 300000;
        tv.tv_sec = (time_t)(ms / 1000);
        tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
        if (log != NULL) {
            char note[384];
            snprintf(note, sizeof(note), "attempt %u: %s; retrying in %llu ms",
                     st->ss_rec.sr_attempts, why, ms);
            (void)paved_proc_log_note(log, note);
        }
        free(log);
        st->ss_rec.sr_state = PAVED_RUN_QUEUED;
        free(st->ss_rec.sr_reason);
        st->ss_rec.sr_reason = strdup(why);
        sched_step_save(st);
        if (st->ss_retry == NULL)
            st->ss_retry = evtimer_new(s->s_base, step_retry_cb, st);
        if (st->ss_retry != NULL && evtimer_add(st->ss_retry, &tv) == 0)
            return;
    }
    step_end(st, PAVED_RUN_FAILURE, why);
    sched_steps_pump(r);
}

/* Does a finished need let its dependents run? */
static bool
step_need_ok(const struct sched_step *ns)
{
    return ns->ss_rec.sr_state == PAVED_RUN_SUCCESS ||
           (ns->ss_rec.sr_state == PAVED_RUN_FAILURE &&
            ns->ss_def->st_allow_failure);
}

static void
run_conclude(struct sched_run *r)
{
    const struct sched_step *bad = NULL;
    enum paved_run_state state = PAVED_RUN_SUCCESS;
    char why[320];
    size_t i;

    if (r->r_cancel) {
        run_end(r, PAVED_RUN_CANCELLED, r->r_cancel_why);
        return;
    }
    for (i = 0; i < r->r_nsteps; i++) {
        const struct sched_step *st = &r->r_steps[i];
        if (st->ss_def->st_allow_failure)
            continue;
        if (st->ss_rec.sr_state == PAVED_RUN_ERROR) {
            state = PAVED_RUN_ERROR;
            bad = st;
            break;
        }
        if (st->ss_rec.sr_state == PAVED_RUN_FAILURE && bad == NULL) {
            state = PAVED_RUN_FAILURE;
            bad = st;
        }
    }
    if (bad != NULL) {
        snprintf(why, sizeof(why), "step \"%s\" %s: %s", bad->ss_def->st_name,
                 state == PAVED_RUN_ERROR ? "could not run" : "failed",
                 bad->ss_rec.sr_reason ? bad->ss_rec.sr_reason : "");
        run_end(r, state, why);
        return;
    }
    run_end(r, PAVED_RUN_SUCCESS, NULL);
}

void
sched_steps_pump(struct sched_run *r)
{
    paved_sched *s = r->r_sched;
    bool changed = true, all_final;
    char why[256];
    size_t i, j;

    if (r->r_phase != SCHED_STEPS || s->s_stopping)
        return;
    while (changed) {
        changed = false;
        for (i = 0; i < r->r_nsteps; i++) {
            struct sched_step *st = &r->r_steps[i];
            const struct sched_step *blocked = NULL;
            bool ready = true;
            if (st->ss_rec.sr_state != PAVED_RUN_QUEUED || r->r_cancel ||
                (st->ss_retry != NULL && evtimer_pending(st->ss_retry, NULL)))
                continue;
            for (j = 0; j < st->ss_def->st_nneeds; j++) {
                const struct sched_step *ns = &r->r_steps[st->ss_needs[j]];
                if (!paved_run_state_final(ns->ss_rec.sr_state)) {
                    ready = false;
                    break;
                }
                if (!step_need_ok(ns) && blocked == NULL)
                    blocked = ns;
            }
            if (!ready)
                continue;
            if (blocked != NULL) {
                snprintf(why, sizeof(why), "needs \"%s\", which ended %s",
                         blocked->ss_def->st_name,
                         paved_run_state_name(blocked->ss_rec.sr_state));
                step_end(st, PAVED_RUN_SKIPPED, why);
                changed = true;
                continue;
            }
            if (st->ss_if_false) {
                snprintf(why, sizeof(why), "if: %s is false",
                         st->ss_def->st_if ? st->ss_def->st_if : "");
                step_end(st, PAVED_RUN_SKIPPED, why);
                changed = true;
                continue;
            }
            if (r->r_live >= s->s_parallel)
                continue;
            if (step_start(st) < 0) {
                step_end(st, PAVED_RUN_ERROR, paved_error_last());
                changed = true;
            }
        }
    }
    all_final = r->r_live == 0;
    for (i = 0; all_final && i < r->r_nsteps; i++)
        all_final = paved_run_state_final(r->r_steps[i].ss_rec.sr_state);
    if (all_final)
        run_conclude(r);
}

void
sched_run_cancel(struct sched_run *r, const char *why)
{
    char id[32];
    size_t i;

    if (r->r_cancel || r->r_phase == SCHED_DONE)
        return;
    r->r_cancel = true;
    free(r->r_cancel_why);
    r->r_cancel_why = strdup(why);
    snprintf(id, sizeof(id), "%lld", (long long)r->r_rec->ru_id);
    paved_log_kv(r->r_sched->s_log, PAVED_LOG_INFO, "cancelling run", "run", id,
                 "reason", why, NULL);
    switch (r->r_phase) {
    case SCHED_WAIT:
        run_end(r, PAVED_RUN_CANCELLED, why);
        return;
    case SCHED_CHECKOUT: /* checkout_done ends it */
        return;
    case SCHED_STEPS:
        break;
    case SCHED_DONE:
        return;
    }
    for (i = 0; i < r->r_nsteps; i++) {
        struct sched_step *st = &r->r_steps[i];
        if (st->ss_proc != NULL) {
            paved_proc_cancel(st->ss_proc);
        } else if (!paved_run_state_final(st->ss_rec.sr_state)) {
            if (st->ss_retry != NULL)
                evtimer_del(st->ss_retry);
            step_end(st, PAVED_RUN_CANCELLED, why);
        }
    }
    if (r->r_live == 0)
        run_conclude(r);
}
