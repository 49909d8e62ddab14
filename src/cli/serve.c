/* `paved serve`: wire config, log, store, metrics and the HTTP server to
 * one event loop, and take them down in order on SIGTERM/SIGINT. Signals
 * are handled inside the loop (libevent's evsignal), never in a handler. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "cli/cli.h"
#include "paved/config.h"
#include "paved/environment.h"
#include "paved/error.h"
#include "paved/log.h"
#include "paved/metrics.h"
#include "paved/pipeline.h"
#include "paved/sched.h"
#include "paved/reporter.h"
#include "paved/server.h"
#include "paved/workspace.h"
#include "paved/rollout.h"
#include "paved/store.h"

extern char **environ;

#define SERVE_DRAIN_SECS 10.0

struct serve {
    struct event_base *sv_base;
    paved_server *sv_server;
    paved_log *sv_log;
    struct event *sv_drain;
    double sv_stop_at;
};

static double
serve_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
serve_flush_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    paved_log_flush(arg);
}

/* Every 10 ms after a stop signal: leave once no request waits for the
 * store, so that every delivery acknowledged is also answered. */
static void
serve_drain_cb(evutil_socket_t fd, short what, void *arg)
{
    struct serve *sv = arg;

    (void)fd;
    (void)what;
    if (paved_server_inflight(sv->sv_server) == 0 ||
        serve_now() > sv->sv_stop_at)
        event_base_loopbreak(sv->sv_base);
}

static void
serve_signal_cb(evutil_socket_t sig, short what, void *arg)
{
    struct serve *sv = arg;
    struct timeval tick = {0, 10000};

    (void)what;
    if (sv->sv_drain != NULL) /* second signal: leave now */
        event_base_loopbreak(sv->sv_base);
    paved_log_kv(sv->sv_log, PAVED_LOG_INFO, "stopping", "signal",
                 sig == SIGTERM ? "TERM" : "INT", NULL);
    paved_server_stop_accepting(sv->sv_server);
    sv->sv_stop_at = serve_now() + SERVE_DRAIN_SECS;
    sv->sv_drain = event_new(sv->sv_base, -1, EV_PERSIST, serve_drain_cb, sv);
    if (sv->sv_drain == NULL || event_add(sv->sv_drain, &tick) < 0)
        event_base_loopbreak(sv->sv_base);
}

/* A daemon that would plan runs from a broken pipeline must not start:
 * every error is logged with its FILE:LINE:COL, then serve exits 1. A
 * missing directory is only a warning (nothing to plan yet). */
static int
serve_load_pipelines(paved_pipeline_set **out, paved_log *lg,
                     const struct paved_config *cf)
{
    struct paved_pipeline_diags diags = PAVED_PIPELINE_DIAGS_INIT;
    paved_pipeline_set *set = NULL;
    struct stat sb;
    char n[32], *line;
    size_t i;
    int error;

    if (stat(cf->cf_pipelines_dir, &sb) < 0 && errno == ENOENT) {
        paved_log_kv(lg, PAVED_LOG_WARN, "no pipelines: nothing will run",
                     "pipelines_dir", cf->cf_pipelines_dir, "fix",
                     "set PAVED_PIPELINES_DIR", NULL);
        return 0;
    }
    error = paved_pipeline_load_dir(&set, &diags, cf->cf_pipelines_dir);
    if (error < 0) {
        for (i = 0; i < diags.dl_n; i++) {
            if (paved_pipeline_diag_format(&line, &diags.dl_items[i]) < 0)
                continue;
            paved_log_kv(lg, PAVED_LOG_ERROR, "invalid pipeline", "error", line,
                         NULL);
            free(line);
        }
        if (diags.dl_n == 0)
            paved_log_kv(lg, PAVED_LOG_ERROR, "invalid pipeline", "error",
                         paved_error_last(), NULL);
        paved_log_kv(lg, PAVED_LOG_ERROR, "cannot start", "fix",
                     "correct the pipelines (paved lint shows every error)",
                     NULL);
    } else {
        snprintf(n, sizeof(n), "%zu", paved_pipeline_set_count(set));
        paved_log_kv(lg, PAVED_LOG_INFO, "pipelines loaded", "count", n,
                     "pipelines_dir", cf->cf_pipelines_dir, NULL);
    }
    *out = set;
    paved_pipeline_diags_dispose(&diags);
    return error;
}

/* Environments, and what a killed paved left behind in them: routing to a
 * version that no longer runs, a canary nobody drives. Repaired before
 * any run starts (the requeued run of an interrupted rollout starts it
 * again). A broken environment file stops the start, like a broken
 * pipeline: deploying by half a configuration is worse than not. */
static int
serve_recover_environments(paved_log *lg, const struct paved_config *cf,
                           paved_store *store)
{
    struct paved_pipeline_diags diags = PAVED_PIPELINE_DIAGS_INIT;
    paved_environment_set *set = NULL;
    struct paved_rollout ro;
    struct stat sb;
    bool changed = false;
    char n[32], *line;
    size_t i;
    int error;

    if (stat(cf->cf_environments_dir, &sb) < 0 && errno == ENOENT)
        return 0; /* no delivery configured: nothing to repair */
    if ((error = paved_environment_load_dir(&set, &diags,
                                            cf->cf_environments_dir)) < 0) {
        for (i = 0; i < diags.dl_n; i++) {
            if (paved_pipeline_diag_format(&line, &diags.dl_items[i]) < 0)
                continue;
            paved_log_kv(lg, PAVED_LOG_ERROR, "invalid environment", "error",
                         line, NULL);
            free(line);
        }
        if (diags.dl_n == 0)
            paved_log_kv(lg, PAVED_LOG_ERROR, "invalid environment", "error",
                         paved_error_last(), NULL);
        paved_log_kv(lg, PAVED_LOG_ERROR, "cannot start", "fix",
                     "correct the environments (paved lint --environments "
                     "DIR shows every error)",
                     NULL);
        paved_pipeline_diags_dispose(&diags);
        return error;
    }
    paved_pipeline_diags_dispose(&diags);
    memset(&ro, 0, sizeof(ro));
    ro.ro_store = store;
    ro.ro_envs = set;
    ro.ro_data_dir = cf->cf_data_dir;
    ro.ro_actor = "paved (restart)";
    if ((error = paved_rollout_recover(&ro, &changed)) < 0)
        /* a driver that cannot run (nginx missing) must not keep webhooks
         * out: said loudly, and the delivery steps fail with the reason */
        paved_log_kv(lg, PAVED_LOG_ERROR, "environments not repaired", "error",
                     paved_error_last(), NULL);
    snprintf(n, sizeof(n), "%zu", paved_environment_set_count(set));
    paved_log_kv(lg, PAVED_LOG_INFO, "environments loaded", "count", n,
                 "environments_dir", cf->cf_environments_dir, "repaired",
                 changed ? "yes" : "no", NULL);
    paved_environment_set_free(set);
    return 0;
}

static void
serve_warn_unsigned(paved_log *lg, const struct paved_config *cf)
{
    if (cf->cf_github_secret.sl_n == 0)
        paved_log_kv(lg, PAVED_LOG_WARN,
                     "no GitHub secret: /hooks/github refuses every delivery",
                     "fix", "set PAVED_GITHUB_SECRET", NULL);
    if (cf->cf_gitea_secret.sl_n == 0)
        paved_log_kv(lg, PAVED_LOG_WARN,
                     "no Gitea secret: /hooks/gitea refuses every delivery",
                     "fix", "set PAVED_GITEA_SECRET", NULL);
    if (cf->cf_gitlab_token.sl_n == 0 && cf->cf_gitlab_signing_secret.sl_n == 0)
        paved_log_kv(lg, PAVED_LOG_WARN,
                     "no GitLab token: /hooks/gitlab refuses every delivery",
                     "fix", "set PAVED_GITLAB_TOKEN", NULL);
}

int
paved_cli_serve(int argc, char **argv)
{
    double t0 = serve_now();
    struct serve sv;
    struct paved_config *cf = NULL;
    paved_store *store = NULL;
    paved_metrics *metrics = NULL;
    paved_pipeline_set *pipelines = NULL;
    paved_sched *sched = NULL;
    paved_reporter *reporter = NULL;
    struct paved_reporter_deps rd;
    struct paved_sched_deps sd;
    struct paved_store_opts so;
    struct paved_server_deps deps;
    struct event *sig_term = NULL, *sig_int = NULL, *flush = NULL;
    struct timeval flush_every = {0, 200000};
    enum paved_log_level level = PAVED_LOG_INFO;
    const char *path = NULL, *log_format = NULL;
    char addr[128], ms[32], *store_shown = NULL;
    int i, git_ready = 0, curl_ready = 0, rc = PAVED_EXIT_FAIL;

    memset(&sv, 0, sizeof(sv));
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            path = argv[++i];
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            path = argv[i] + 9;
        } else if (strcmp(argv[i], "--log-format") == 0 && i + 1 < argc &&
                   (strcmp(argv[i + 1], "json") == 0 ||
                    strcmp(argv[i + 1], "text") == 0)) {
            log_format = argv[++i];
        } else {
            fprintf(stderr,
                    "paved serve: unknown argument \"%s\"\n"
                    "usage: paved serve [--config FILE] "
                    "[--log-format text|json]\n",
                    argv[i]);
            return PAVED_EXIT_USAGE;
        }
    }
    if (paved_config_load(&cf, path, environ) < 0) {
        fprintf(stderr, "paved: %s\n", paved_error_last());
        return PAVED_EXIT_FAIL;
    }
    (void)paved_log_level_from_name(&level, cf->cf_log_level);
    if (log_format == NULL) /* the flag wins over config and environment */
        log_format = cf->cf_log_format;
    if (paved_log_new(&sv.sv_log, 2, strcmp(log_format, "json") == 0, level) <
        0) {
        fprintf(stderr, "paved: %s\n", paved_error_last());
        goto out;
    }
    signal(SIGPIPE, SIG_IGN);
    serve_warn_unsigned(sv.sv_log, cf);
    if (serve_load_pipelines(&pipelines, sv.sv_log, cf) < 0)
        goto out;

    memset(&so, 0, sizeof(so));
    so.so_spec = cf->cf_store;
    so.so_data_dir = cf->cf_data_dir;
    so.so_max_size = cf->cf_store_max_size;
    so.so_batch = cf->cf_store_batch;
    if (paved_store_open(&store, &so) < 0 || paved_metrics_new(&metrics) < 0) {
        paved_log_kv(sv.sv_log, PAVED_LOG_ERROR, "cannot start", "error",
                     paved_error_last(), NULL);
        goto out;
    }
    if (serve_recover_environments(sv.sv_log, cf, store) < 0)
        goto out;
    if ((sv.sv_base = event_base_new()) == NULL) {
        paved_log_kv(sv.sv_log, PAVED_LOG_ERROR, "cannot start", "error",
                     "event_base_new failed", NULL);
        goto out;
    }
    /* once, before any pool worker: each git call would set libgit2 up and
     * tear it down again otherwise (3.7 ms instead of 0.2 ms warm) */
    if (paved_workspace_global_init() < 0) {
        paved_log_kv(sv.sv_log, PAVED_LOG_ERROR, "cannot start", "error",
                     paved_error_last(), NULL);
        goto out;
    }
    git_ready = 1;
    /* once, before any thread: libcurl's global state is not thread-safe
     * to set up */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        paved_log_kv(sv.sv_log, PAVED_LOG_ERROR, "cannot start", "error",
                     "curl_global_init failed", NULL);
        goto out;
    }
    curl_ready = 1;
    memset(&rd, 0, sizeof(rd));
    rd.rd_base = sv.sv_base;
    rd.rd_config = cf;
    rd.rd_store = store;
    rd.rd_log = sv.sv_log;
    rd.rd_metrics = metrics;
    if (paved_reporter_new(&reporter, &rd) < 0) {
        paved_log_kv(sv.sv_log, PAVED_LOG_ERROR, "cannot start", "error",
                     paved_error_last(), NULL);
        goto out;
    }
    memset(&sd, 0, sizeof(sd));
    sd.sd_reporter = reporter;
    sd.sd_base = sv.sv_base;
    sd.sd_config = cf;
    sd.sd_store = store;
    sd.sd_pipelines = pipelines;
    sd.sd_log = sv.sv_log;
    sd.sd_metrics = metrics;
    sd.sd_environ = environ;
    if (paved_sched_new(&sched, &sd) < 0) {
        paved_log_kv(sv.sv_log, PAVED_LOG_ERROR, "cannot start", "error",
                     paved_error_last(), NULL);
        goto out;
    }
    memset(&deps, 0, sizeof(deps));
    deps.sd_sched = sched;
    deps.sd_reporter = reporter;
    deps.sd_base = sv.sv_base;
    deps.sd_config = cf;
    deps.sd_store = store;
    deps.sd_metrics = metrics;
    deps.sd_log = sv.sv_log;
    if (paved_server_new(&sv.sv_server, &deps) < 0 ||
        paved_server_listen(sv.sv_server, addr, sizeof(addr)) < 0) {
        paved_log_kv(sv.sv_log, PAVED_LOG_ERROR, "cannot start", "error",
                     paved_error_last(), NULL);
        goto out;
    }
    sig_term = evsignal_new(sv.sv_base, SIGTERM, serve_signal_cb, &sv);
    sig_int = evsignal_new(sv.sv_base, SIGINT, serve_signal_cb, &sv);
    flush = event_new(sv.sv_base, -1, EV_PERSIST, serve_flush_cb, sv.sv_log);
    if (sig_term == NULL || sig_int == NULL || flush == NULL ||
        event_add(sig_term, NULL) < 0 || event_add(sig_int, NULL) < 0 ||
        event_add(flush, &flush_every) < 0) {
        paved_log_kv(sv.sv_log, PAVED_LOG_ERROR, "cannot start", "error",
                     "cannot register signals and timers", NULL);
        goto out;
    }
    /* recovery reads the store; planning and steps start on the loop */
    if (paved_sched_start(sched) < 0) {
        paved_log_kv(sv.sv_log, PAVED_LOG_ERROR, "cannot start", "error",
                     paved_error_last(), NULL);
        goto out;
    }
    snprintf(ms, sizeof(ms), "%.1f", (serve_now() - t0) * 1000);
    if (paved_config_redact_url(&store_shown, cf->cf_store) < 0)
        store_shown = NULL;
    paved_log_kv(sv.sv_log, PAVED_LOG_INFO, "ready", "addr", addr, "store",
                 store_shown ? store_shown : "<unprintable>", "data_dir",
                 cf->cf_data_dir, "version", PAVED_VERSION, "startup_ms", ms,
                 NULL);
    free(store_shown);
    if (event_base_dispatch(sv.sv_base) < 0) {
        paved_log_kv(sv.sv_log, PAVED_LOG_ERROR, "event loop failed", NULL);
        goto out;
    }
    rc = PAVED_EXIT_OK;
out:
    if (sv.sv_drain != NULL)
        event_free(sv.sv_drain);
    if (sig_term != NULL)
        event_free(sig_term);
    if (sig_int != NULL)
        event_free(sig_int);
    if (flush != NULL)
        event_free(flush);
    /* steps are killed; their runs are recovered at the next start */
    paved_sched_stop(sched);
    paved_server_free(sv.sv_server);
    paved_sched_free(sched);
    paved_reporter_free(reporter);
    if (curl_ready)
        curl_global_cleanup();
    if (git_ready)
        paved_workspace_global_shutdown();
    paved_store_close(store); /* commits what was submitted, then stops */
    paved_pipeline_set_free(pipelines);
    paved_metrics_free(metrics);
    if (sv.sv_base != NULL)
        event_base_free(sv.sv_base);
    if (rc == PAVED_EXIT_OK && sv.sv_log != NULL)
        paved_log_kv(sv.sv_log, PAVED_LOG_INFO, "stopped", NULL);
    paved_log_free(sv.sv_log);
    paved_config_free(cf);
    return rc;
}
