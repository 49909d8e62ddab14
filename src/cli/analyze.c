/* `paved analyze ENV --service S --version V [--stable V0]`: one canary
 * analysis of an environment now, against its Prometheus, printed as text,
 * JSON or the check run's Markdown. Exit 0 continue, 1 abort, 2 nothing
 * was evaluated (usage, unknown environment, refused value). Only
 * argument parsing and printing live here: src/delivery/analysis*.c
 * judges. Never deploys or rolls back; it blocks while Prometheus answers
 * (the CLI may). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "cli/cli.h"
#include "paved/analysis.h"
#include "paved/config.h"
#include "paved/environment.h"
#include "paved/error.h"

extern char **environ;

static void
analyze_usage(FILE *fp)
{
    fprintf(fp,
            "usage: paved analyze ENV --service S --version V [--stable V0]\n"
            "         [--interval 30s] [--environments DIR] "
            "[--prometheus URL]\n"
            "         [--config FILE] [--json | --markdown]\n"
            "  one canary analysis of ENV's checks now (docs/delivery.md"
            "#canary-analysis);\n"
            "  --interval defaults to the canary interval, --prometheus to "
            "the analysis's.\n"
            "  exit 0 continue, 1 abort, 2 nothing evaluated\n");
}

static void
analyze_text(const char *env, const struct paved_analysis_params *p,
             const struct paved_analysis_verdict *v)
{
    char a[32], b[32];
    size_t i;

    printf("analysis of %s %s in %s: %s\n", p->ap_service, p->ap_version, env,
           paved_analysis_decision_name(v->av_decision));
    if (v->av_sample_query != NULL) {
        if (v->av_has_samples)
            snprintf(a, sizeof(a), "%.6g", v->av_samples);
        else
            snprintf(a, sizeof(a), "unknown");
        printf("  samples: %s (min_samples %u)\n", a, v->av_min_samples);
    }
    for (i = 0; i < v->av_nchecks; i++) {
        const struct paved_analysis_check *ck = &v->av_checks[i];
        if (ck->ck_has_value)
            snprintf(a, sizeof(a), "%.6g", ck->ck_value);
        else
            snprintf(a, sizeof(a), "none");
        if (ck->ck_has_stable)
            snprintf(b, sizeof(b), ", stable %.6g", ck->ck_stable);
        else
            b[0] = '\0';
        printf("  %s: %s, value %s%s (%s): %s\n", ck->ck_name,
               paved_analysis_result_name(ck->ck_result), a, b,
               ck->ck_threshold != NULL ? ck->ck_threshold : "",
               ck->ck_reason != NULL ? ck->ck_reason : "");
    }
    printf("%s: %s\n", paved_analysis_decision_name(v->av_decision),
           v->av_reason != NULL ? v->av_reason : "");
}

int
paved_cli_analyze(int argc, char **argv)
{
    const char *envname = NULL, *service = NULL, *version = NULL;
    const char *stable = NULL, *interval = NULL, *dir = NULL;
    const char *prometheus = NULL, *config = NULL, *val;
    struct paved_pipeline_diags diags = {0};
    struct paved_config *cf = NULL;
    paved_environment_set *set = NULL;
    const paved_environment *env;
    const struct paved_env_analysis *an;
    const struct paved_env_canary *cn;
    struct paved_env_analysis copy;
    struct paved_analysis_params p = {0};
    struct paved_analysis_verdict *v = NULL;
    struct paved_buf md = PAVED_BUF_INIT(4 * 1024 * 1024);
    int json = 0, markdown = 0, rc = PAVED_EXIT_USAGE, r, i;
    size_t d;
    char *line;

    for (i = 1; i < argc; i++) { /* argv[0] is "analyze" */
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
            continue;
        }
        if (strcmp(argv[i], "--markdown") == 0) {
            markdown = 1;
            continue;
        }
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            analyze_usage(stdout);
            return PAVED_EXIT_OK;
        }
#define OPT(name, var)                                                         \
    if ((r = cli_opt(&val, argc, argv, &i, name)) != 0) {                      \
        if (r < 0) {                                                           \
            fprintf(stderr, "paved analyze: %s needs a value\n", name);        \
            goto out;                                                          \
        }                                                                      \
        var = val;                                                             \
        continue;                                                              \
    }
        OPT("--service", service)
        OPT("--version", version)
        OPT("--stable", stable)
        OPT("--interval", interval)
        OPT("--environments", dir)
        OPT("--prometheus", prometheus)
        OPT("--config", config)
#undef OPT
        if (argv[i][0] == '-' || envname != NULL) {
            fprintf(stderr, "paved analyze: unexpected argument %s\n", argv[i]);
            analyze_usage(stderr);
            goto out;
        }
        envname = argv[i];
    }
    if (envname == NULL || service == NULL || version == NULL) {
        analyze_usage(stderr);
        goto out;
    }
    if (json && markdown) {
        fprintf(stderr, "paved analyze: --json or --markdown, not both\n");
        goto out;
    }
    if (dir == NULL) {
        if (paved_config_load(&cf, config, environ) < 0) {
            fprintf(stderr, "paved analyze: %s\n", paved_error_last());
            goto out;
        }
        dir = cf->cf_environments_dir;
    }
    if (paved_environment_load_dir(&set, &diags, dir) < 0) {
        for (d = 0; d < diags.dl_n; d++)
            if (paved_pipeline_diag_format(&line, &diags.dl_items[d]) == 0) {
                fprintf(stderr, "%s\n", line);
                free(line);
            }
        if (diags.dl_n == 0)
            fprintf(stderr, "paved analyze: %s\n", paved_error_last());
        goto out;
    }
    if ((env = paved_environment_set_find(set, envname)) == NULL) {
        fprintf(stderr, "paved analyze: no environment %s in %s\n", envname,
                dir);
        goto out;
    }
    if ((an = paved_environment_analysis(env)) == NULL) {
        fprintf(stderr, "paved analyze: environment %s has no analysis\n",
                envname);
        goto out;
    }
    copy = *an;
    if (prometheus != NULL) {
        if (strncmp(prometheus, "http://", 7) != 0 &&
            strncmp(prometheus, "https://", 8) != 0) {
            fprintf(stderr, "paved analyze: --prometheus must be an http:// "
                            "or https:// URL\n");
            goto out;
        }
        copy.an_prometheus = (char *)prometheus; /* read only */
    }
    cn = paved_environment_canary(env);
    p.ap_interval = cn != NULL ? cn->cn_interval : 60;
    if (interval != NULL &&
        (paved_parse_duration(&p.ap_interval, interval) < 0 ||
         p.ap_interval == 0)) {
        fprintf(stderr, "paved analyze: --interval: not a duration: %s\n",
                interval);
        goto out;
    }
    p.ap_service = service;
    p.ap_environment = envname;
    p.ap_version = version;
    p.ap_stable = stable;
    /* before any thread or handle: libcurl's global state */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "paved analyze: curl_global_init failed\n");
        rc = PAVED_EXIT_USAGE;
        goto out;
    }
    r = paved_analysis_run(&v, &copy, &p);
    curl_global_cleanup();
    if (r < 0) {
        fprintf(stderr, "paved analyze: %s\n", paved_error_last());
        rc = PAVED_EXIT_USAGE; /* 1 is kept for "abort" */
        goto out;
    }
    if (json) {
        json_t *o = paved_analysis_json(v);
        char *s = o != NULL
                      ? json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(15))
                      : NULL;
        if (s == NULL) {
            fprintf(stderr, "paved analyze: out of memory\n");
            json_decref(o);
            rc = PAVED_EXIT_USAGE;
            goto out;
        }
        printf("%s\n", s);
        free(s);
        json_decref(o);
    } else if (markdown) {
        if (paved_analysis_markdown(&md, v) < 0) {
            fprintf(stderr, "paved analyze: %s\n", paved_error_last());
            rc = PAVED_EXIT_USAGE;
            goto out;
        }
        fputs(md.b_ptr, stdout);
    } else {
        analyze_text(envname, &p, v);
    }
    rc = v->av_decision == PAVED_ANALYSIS_CONTINUE ? PAVED_EXIT_OK
                                                   : PAVED_EXIT_FAIL;
out:
    paved_buf_dispose(&md);
    paved_analysis_verdict_free(v);
    paved_environment_set_free(set);
    paved_pipeline_diags_dispose(&diags);
    paved_config_free(cf);
    return rc;
}
