/* The delivery faces: `paved promote`, `rollback`, `approve`, and
 * `paved step KIND`, which is what the built-in delivery steps run
 * (`uses: deploy`, `canary`, `smoke`, `promote`, `build-image`,
 * `push-image`). A step reads its parameters from the environment the
 * scheduler gives it (PAVED_WITH_<NAME>, PAVED_SHA, PAVED_TAG...), never
 * from command text. Each opens the store and the environments itself;
 * the decisions are in src/delivery/rollout.c. */
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "paved/buf.h"
#include "paved/config.h"
#include "paved/environment.h"
#include "paved/error.h"
#include "paved/rollout.h"
#include "paved/store.h"

extern char **environ;

#define DEPLOY_SUMMARY_MAX (256 * 1024)

struct dctx {
    struct paved_config *dc_cf;
    paved_store *dc_store;
    paved_environment_set *dc_envs;
    struct paved_rollout dc_ro;
    struct paved_buf dc_summary;
    char dc_actor[256];
};

static void
deploy_fail(const char *cmd)
{
    fprintf(stderr, "paved %s: %s\n", cmd, paved_error_last());
}

static int
dctx_open(struct dctx *c, const char *cmd, const char *config)
{
    struct paved_pipeline_diags diags = PAVED_PIPELINE_DIAGS_INIT;
    struct stat sb;
    char why[1024];
    size_t i;

    memset(c, 0, sizeof(*c));
    paved_buf_init(&c->dc_summary, DEPLOY_SUMMARY_MAX);
    if (paved_config_load(&c->dc_cf, config, environ) < 0) {
        deploy_fail(cmd);
        return -1;
    }
    if (cli_store_missing(why, sizeof(why), c->dc_cf) != NULL) {
        fprintf(stderr, "paved %s: %s\n", cmd, why);
        return -1;
    }
    /* no environments directory: no environment (an artifact step needs
     * none; a deploy then says which one is missing and where) */
    if (stat(c->dc_cf->cf_environments_dir, &sb) < 0 && errno == ENOENT) {
        if (paved_environment_set_new(&c->dc_envs) < 0) {
            deploy_fail(cmd);
            return -1;
        }
    } else if (paved_environment_load_dir(&c->dc_envs, &diags,
                                          c->dc_cf->cf_environments_dir) < 0) {
        for (i = 0; i < diags.dl_n; i++) {
            char *line;
            if (paved_pipeline_diag_format(&line, &diags.dl_items[i]) < 0)
                continue;
            fprintf(stderr, "%s\n", line);
            free(line);
        }
        fprintf(stderr, "paved %s: environments_dir %s: %s\n", cmd,
                c->dc_cf->cf_environments_dir, paved_error_last());
        paved_pipeline_diags_dispose(&diags);
        return -1;
    }
    paved_pipeline_diags_dispose(&diags);
    if (cli_store_open(&c->dc_store, c->dc_cf) < 0) {
        deploy_fail(cmd);
        return -1;
    }
    c->dc_ro.ro_store = c->dc_store;
    c->dc_ro.ro_envs = c->dc_envs;
    c->dc_ro.ro_data_dir = c->dc_cf->cf_data_dir;
    c->dc_ro.ro_out = stdout;
    c->dc_ro.ro_summary = &c->dc_summary;
    c->dc_ro.ro_actor = c->dc_actor;
    return 0;
}

static void
dctx_close(struct dctx *c)
{
    paved_store_close(c->dc_store);
    paved_environment_set_free(c->dc_envs);
    paved_config_free(c->dc_cf);
    paved_buf_dispose(&c->dc_summary);
}

/* Who is at the keyboard: PAVED_ACTOR, else the login. */
static void
deploy_cli_actor(char *out, size_t len)
{
    const char *who = getenv("PAVED_ACTOR");
    struct passwd *pw;

    if (who == NULL || who[0] == '\0')
        who = getenv("USER");
    if ((who == NULL || who[0] == '\0') && (pw = getpwuid(getuid())) != NULL)
        who = pw->pw_name;
    snprintf(out, len, "%s (cli)", who != NULL && who[0] != '\0' ? who : "?");
}

static int
deploy_usage(const char *cmd)
{
    if (strcmp(cmd, "promote") == 0)
        fprintf(stderr,
                "usage: paved promote SERVICE --env=ENV [--version=V] "
                "[--reason=TEXT] [--config=FILE]\n"
                "  finishes the rollout in flight in ENV (100%%, smoke "
                "checks, then stable);\n"
                "  with --version, deploys that version (which must have "
                "passed the\n"
                "  environment's from:) at once and promotes it\n");
    else if (strcmp(cmd, "rollback") == 0)
        fprintf(stderr,
                "usage: paved rollback SERVICE --env=ENV [--reason=TEXT] "
                "[--config=FILE]\n"
                "  a version in flight goes back to stable; else stable "
                "goes back to\n"
                "  the version promoted before it\n");
    else
        fprintf(stderr, "usage: paved approve RUN [--reason=TEXT] "
                        "[--config=FILE]\n"
                        "  lets a run waiting at a protected environment "
                        "deploy\n");
    return PAVED_EXIT_USAGE;
}

/* The newest artifact recorded under a version label, from the audit
 * log: `paved promote --version=v1.2.0`. */
static int
deploy_find_version(struct paved_artifact **out, struct dctx *c,
                    const char *env, const char *service, const char *version)
{
    struct paved_deploy_filter f;
    struct paved_deploy_rec **list = NULL;
    size_t n = 0, i;
    int error;

    *out = NULL;
    memset(&f, 0, sizeof(f));
    f.df_service = service;
    f.df_limit = 1000;
    if ((error = paved_store_deploy_list(&list, &n, c->dc_store, &f)) < 0)
        return error;
    error = paved_error_set(PAVED_ENOTFOUND,
                            "no version %s of %s was ever deployed (paved "
                            "history %s lists them)",
                            version, service, service);
    for (i = 0; i < n; i++) {
        const struct paved_deploy_rec *r = list[i];
        if (r->dr_version == NULL || strcmp(r->dr_version, version) != 0 ||
            r->dr_repo == NULL || r->dr_sha == NULL)
            continue;
        error =
            paved_rollout_artifact(out, &c->dc_ro, env, r->dr_repo, r->dr_sha);
        break;
    }
    paved_deploy_list_free(list, n);
    return error;
}

int
paved_cli_promote(int argc, char **argv)
{
    const char *env = NULL, *version = NULL, *reason = NULL, *config = NULL;
    const char *service = NULL;
    struct paved_artifact *a = NULL;
    struct dctx c;
    int i, r, rc = PAVED_EXIT_FAIL;

    for (i = 1; i < argc; i++) {
        if ((r = cli_opt(&env, argc, argv, &i, "--env")) != 0 ||
            (r = cli_opt(&version, argc, argv, &i, "--version")) != 0 ||
            (r = cli_opt(&reason, argc, argv, &i, "--reason")) != 0 ||
            (r = cli_opt(&config, argc, argv, &i, "--config")) != 0) {
            if (r < 0)
                return deploy_usage("promote");
        } else if (argv[i][0] != '-' && service == NULL)
            service = argv[i];
        else
            return deploy_usage("promote");
    }
    if (service == NULL || env == NULL)
        return deploy_usage("promote");
    if (dctx_open(&c, "promote", config) < 0) {
        dctx_close(&c);
        return PAVED_EXIT_FAIL;
    }
    deploy_cli_actor(c.dc_actor, sizeof(c.dc_actor));
    if (version != NULL) {
        struct paved_rollout_target t;
        if (deploy_find_version(&a, &c, env, service, version) < 0)
            goto fail;
        memset(&t, 0, sizeof(t));
        t.rt_env = env;
        t.rt_service = service;
        t.rt_version = version;
        t.rt_artifact = a;
        t.rt_reason = reason != NULL ? reason : "paved promote --version";
        if (paved_rollout_deploy(&c.dc_ro, &t, false) < 0)
            goto fail;
    }
    if (paved_rollout_promote(&c.dc_ro, env, service,
                              reason != NULL ? reason : "paved promote") < 0)
        goto fail;
    rc = PAVED_EXIT_OK;
    goto out;
fail:
    deploy_fail("promote");
out:
    paved_artifact_free(a);
    dctx_close(&c);
    return rc;
}

int
paved_cli_rollback(int argc, char **argv)
{
    const char *env = NULL, *reason = NULL, *config = NULL, *service = NULL;
    struct dctx c;
    int i, r, rc = PAVED_EXIT_FAIL;

    for (i = 1; i < argc; i++) {
        if ((r = cli_opt(&env, argc, argv, &i, "--env")) != 0 ||
            (r = cli_opt(&reason, argc, argv, &i, "--reason")) != 0 ||
            (r = cli_opt(&config, argc, argv, &i, "--config")) != 0) {
            if (r < 0)
                return deploy_usage("rollback");
        } else if (argv[i][0] != '-' && service == NULL)
            service = argv[i];
        else
            return deploy_usage("rollback");
    }
    if (service == NULL || env == NULL)
        return deploy_usage("rollback");
    if (dctx_open(&c, "rollback", config) < 0) {
        dctx_close(&c);
        return PAVED_EXIT_FAIL;
    }
    deploy_cli_actor(c.dc_actor, sizeof(c.dc_actor));
    if (paved_rollout_rollback(&c.dc_ro, env, service,
                               reason != NULL ? reason : "paved rollback") < 0)
        deploy_fail("rollback");
    else
        rc = PAVED_EXIT_OK;
    dctx_close(&c);
    return rc;
}

int
paved_cli_approve(int argc, char **argv)
{
    const char *reason = NULL, *config = NULL, *run = NULL;
    struct dctx c;
    long long id;
    char *end;
    int i, r, rc = PAVED_EXIT_FAIL;

    for (i = 1; i < argc; i++) {
        if ((r = cli_opt(&reason, argc, argv, &i, "--reason")) != 0 ||
            (r = cli_opt(&config, argc, argv, &i, "--config")) != 0) {
            if (r < 0)
                return deploy_usage("approve");
        } else if (argv[i][0] != '-' && run == NULL)
            run = argv[i];
        else
            return deploy_usage("approve");
    }
    if (run == NULL)
        return deploy_usage("approve");
    id = strtoll(run, &end, 10);
    if (*end != '\0' || id <= 0) {
        fprintf(stderr, "paved approve: \"%s\" is not a run number\n", run);
        return PAVED_EXIT_USAGE;
    }
    if (dctx_open(&c, "approve", config) < 0) {
        dctx_close(&c);
        return PAVED_EXIT_FAIL;
    }
    deploy_cli_actor(c.dc_actor, sizeof(c.dc_actor));
    if (paved_rollout_approve(&c.dc_ro, id, reason) < 0)
        deploy_fail("approve");
    else
        rc = PAVED_EXIT_OK;
    dctx_close(&c);
    return rc;
}

/* ---- built-in steps ---------------------------------------------------- */

static const char *
step_env(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

/* The service a run deploys: with: service, else the catalog's service of
 * the repository, else the repository's last path element. */
static int
step_service(char *out, size_t len, struct dctx *c, const char *repo)
{
    struct paved_service **list = NULL;
    const char *v = step_env("PAVED_WITH_SERVICE"), *slash;
    size_t n = 0, i;

    if (v != NULL) {
        snprintf(out, len, "%s", v);
        return 0;
    }
    if (paved_store_service_list(&list, &n, c->dc_store) == 0)
        for (i = 0; i < n && v == NULL; i++)
            if (list[i]->sv_repo != NULL &&
                strcmp(list[i]->sv_repo, repo) == 0) {
                snprintf(out, len, "%s", list[i]->sv_name);
                v = out;
            }
    paved_service_list_free(list, n);
    if (v != NULL)
        return 0;
    slash = strrchr(repo, '/');
    snprintf(out, len, "%s", slash != NULL ? slash + 1 : repo);
    return 0;
}

/* The summary goes where the scheduler shows it on the check run. */
static void
step_write_summary(struct dctx *c)
{
    const char *path = step_env("PAVED_SUMMARY");
    FILE *fp;

    if (path == NULL || c->dc_summary.b_len == 0)
        return;
    if ((fp = fopen(path, "a")) == NULL)
        return;
    fwrite(c->dc_summary.b_ptr, 1, c->dc_summary.b_len, fp);
    fclose(fp);
}

static int
step_deploy(struct dctx *c, const char *kind, const char *env,
            const char *service, const char *repo, const char *sha)
{
    struct paved_rollout_target t;
    struct paved_artifact *a = NULL;
    const char *tag = step_env("PAVED_TAG");
    char label[64];
    int error;

    if ((error = paved_rollout_artifact(&a, &c->dc_ro, env, repo, sha)) < 0)
        return error;
    if (tag != NULL)
        snprintf(label, sizeof(label), "%s", tag);
    else
        paved_rollout_version_label(label, sizeof(label), sha);
    memset(&t, 0, sizeof(t));
    t.rt_env = env;
    t.rt_service = service;
    t.rt_version = label;
    t.rt_artifact = a;
    t.rt_reason = tag != NULL ? "release tag" : "push";
    error = paved_rollout_deploy(&c->dc_ro, &t, strcmp(kind, "canary") == 0);
    paved_artifact_free(a);
    return error;
}

int
paved_cli_step(int argc, char **argv)
{
    const char *kind = argc > 1 ? argv[1] : NULL;
    const char *env, *repo, *sha, *run;
    char service[256], msg[1024];
    struct dctx c;
    sigset_t stop;
    int error = 0, stop_fd = -1;

    if (kind == NULL || argc != 2) {
        fprintf(stderr,
                "usage: paved step deploy|canary|smoke|promote|"
                "build-image|push-image\n"
                "  what the built-in delivery steps run; parameters "
                "come from the\n"
                "  environment the scheduler sets (docs/delivery.md)\n");
        return PAVED_EXIT_USAGE;
    }
    /* a step dies with the daemon that started it: the next start rolls
     * back what it left in flight and requeues the run, and a rollout
     * driven by an orphan beside that would interleave with it */
    (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1)
        return PAVED_EXIT_FAIL;
    /* a cancelled step gets SIGTERM (then SIGKILL after step_kill_grace):
     * taken as a stop request, so that a canary rolls back instead of
     * being left at a weight nobody drives */
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    if (sigprocmask(SIG_BLOCK, &stop, NULL) == 0)
        stop_fd = signalfd(-1, &stop, SFD_CLOEXEC);
    repo = step_env("PAVED_REPO");
    sha = step_env("PAVED_SHA");
    run = step_env("PAVED_RUN_ID");
    env = step_env("PAVED_WITH_ENVIRONMENT");
    if (env == NULL)
        env = step_env("PAVED_ENV");
    if (repo == NULL || sha == NULL) {
        fprintf(stderr,
                "paved step %s: PAVED_REPO and PAVED_SHA are not "
                "set: this runs as a pipeline step\n",
                kind);
        return PAVED_EXIT_USAGE;
    }
    if (dctx_open(&c, "step", NULL) < 0) {
        dctx_close(&c);
        return PAVED_EXIT_FAIL;
    }
    c.dc_ro.ro_run_id = run != NULL ? strtoll(run, NULL, 10) : 0;
    c.dc_ro.ro_stop_fd = stop_fd;
    snprintf(c.dc_actor, sizeof(c.dc_actor), "paved (run %s, %s)",
             run != NULL ? run : "?",
             step_env("PAVED_ACTOR") != NULL ? step_env("PAVED_ACTOR")
                                             : "no actor");
    step_service(service, sizeof(service), &c, repo);
    if (strcmp(kind, "build-image") == 0 || strcmp(kind, "push-image") == 0)
        error = paved_cli_step_artifact(&c.dc_ro, kind, service, repo, sha);
    else if (env == NULL) {
        fprintf(stderr,
                "paved step %s: which environment? set with: environment, "
                "or run on a push or tag the pipeline maps to one\n",
                kind);
        dctx_close(&c);
        return PAVED_EXIT_USAGE;
    } else if (strcmp(kind, "deploy") == 0 || strcmp(kind, "canary") == 0)
        error = step_deploy(&c, kind, env, service, repo, sha);
    else if (strcmp(kind, "smoke") == 0)
        error = paved_rollout_smoke(&c.dc_ro, env, service);
    else if (strcmp(kind, "promote") == 0)
        error = paved_rollout_promote(&c.dc_ro, env, service,
                                      "the pipeline's promote step");
    else {
        fprintf(stderr, "paved step: unknown kind \"%s\"\n", kind);
        dctx_close(&c);
        return PAVED_EXIT_USAGE;
    }
    if (error < 0) {
        snprintf(msg, sizeof(msg), "%s", paved_error_last());
        fprintf(stderr, "paved step %s: %s\n", kind, msg);
        (void)paved_buf_printf(&c.dc_summary, "\n**%s failed**: %s\n", kind,
                               msg);
    }
    step_write_summary(&c);
    dctx_close(&c);
    if (stop_fd >= 0)
        close(stop_fd);
    return error < 0 ? PAVED_EXIT_FAIL : PAVED_EXIT_OK;
}
