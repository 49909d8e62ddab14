/* `paved smoke ENV`: run an environment's smoke checks now and print the
 * verdicts as a Markdown table or JSON; an operator's tool and the face
 * the integration tests use. Only argument parsing and printing live
 * here; the checks are src/delivery/smoke.c's. Never deploys or rolls
 * back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "cli/cli.h"
#include "paved/config.h"
#include "paved/environment.h"
#include "paved/error.h"
#include "paved/smoke.h"

extern char **environ;

#define SMOKE_MAX_VARS 8

static void
smoke_usage(FILE *fp)
{
    fprintf(fp, "usage: paved smoke ENV [--environments DIR] [--config FILE] "
                "[--var NAME=VALUE]... [--json]\n"
                "  ENV: an environment's name in DIR (default: the configured "
                "environments_dir),\n"
                "  or the path of one environment file;\n"
                "  --var: a {{placeholder}} of the URLs (service, version; "
                "environment is ENV's name).\n"
                "  Exit 0 when every check passes, 1 when one fails.\n");
}

/* Every problem of the environment files, or the error when none was
 * recorded as a diagnostic (out of memory). */
static void
smoke_print_diags(const struct paved_pipeline_diags *dl)
{
    size_t i;

    if (dl->dl_n == 0)
        fprintf(stderr, "paved smoke: %s\n", paved_error_last());
    for (i = 0; i < dl->dl_n; i++) {
        char *line = NULL;
        if (paved_pipeline_diag_format(&line, &dl->dl_items[i]) == 0)
            fprintf(stderr, "%s\n", line);
        free(line);
    }
}

static int
smoke_print_json(const char *env, const struct paved_smoke_report *r)
{
    json_t *doc, *arr;
    size_t i;
    int error = 0;

    doc = json_pack("{s:s, s:b}", "environment", env, "pass", r->rp_pass);
    arr = json_array();
    if (doc == NULL || arr == NULL || json_object_set(doc, "checks", arr) < 0)
        error = PAVED_ENOMEM;
    for (i = 0; i < r->rp_n && error == 0; i++) {
        const struct paved_smoke_result *s = &r->rp_results[i];
        if (json_array_append_new(
                arr, json_pack("{s:s, s:b, s:I, s:I, s:I, s:s}", "name",
                               s->sr_name, "pass", s->sr_pass, "attempts",
                               (json_int_t)s->sr_attempts, "status",
                               (json_int_t)s->sr_status, "elapsed_ms",
                               (json_int_t)s->sr_elapsed_ms, "message",
                               s->sr_message)) < 0)
            error = PAVED_ENOMEM;
    }
    if (error == 0 && json_dumpf(doc, stdout, JSON_INDENT(2)) < 0)
        error = PAVED_ERROR;
    if (error == 0)
        fputc('\n', stdout);
    json_decref(arr);
    json_decref(doc);
    return error;
}

int
paved_cli_smoke(int argc, char **argv)
{
    struct paved_pipeline_diags diags = PAVED_PIPELINE_DIAGS_INIT;
    struct paved_smoke_report rep = {NULL, 0, false};
    struct paved_smoke_var vars[SMOKE_MAX_VARS + 1];
    struct paved_buf md = PAVED_BUF_INIT(64 * 1024 * 1024);
    struct paved_config *cf = NULL;
    paved_environment_set *set = NULL;
    paved_environment *own = NULL;
    const paved_environment *env;
    const struct paved_env_smoke *checks;
    const char *config = NULL, *dir = NULL, *name = NULL, *v;
    char *names[SMOKE_MAX_VARS];
    size_t nvars = 0, nchecks, i;
    int json = 0, rc = PAVED_EXIT_FAIL, a, got;

    memset(names, 0, sizeof(names));
    for (a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--json") == 0) {
            json = 1;
        } else if ((got = cli_opt(&config, argc, argv, &a, "--config")) != 0 ||
                   (got = cli_opt(&dir, argc, argv, &a, "--environments")) !=
                       0) {
            if (got < 0)
                goto usage;
        } else if ((got = cli_opt(&v, argc, argv, &a, "--var")) != 0) {
            const char *eq = got > 0 ? strchr(v, '=') : NULL;
            if (eq == NULL || eq == v || nvars == SMOKE_MAX_VARS) {
                fprintf(stderr,
                        "paved smoke: --var wants NAME=VALUE (at most "
                        "%d)\n",
                        SMOKE_MAX_VARS);
                goto usage;
            }
            if ((names[nvars] = strndup(v, (size_t)(eq - v))) == NULL) {
                fprintf(stderr, "paved smoke: out of memory\n");
                goto out;
            }
            vars[nvars].sv_name = names[nvars];
            vars[nvars].sv_value = eq + 1;
            nvars++;
        } else if (strcmp(argv[a], "-h") == 0 ||
                   strcmp(argv[a], "--help") == 0) {
            smoke_usage(stdout);
            rc = PAVED_EXIT_OK;
            goto out;
        } else if (argv[a][0] == '-' || name != NULL) {
            fprintf(stderr, "paved smoke: unexpected argument \"%s\"\n",
                    argv[a]);
            goto usage;
        } else {
            name = argv[a];
        }
    }
    if (name == NULL) {
        fprintf(stderr, "paved smoke: which environment?\n");
        goto usage;
    }

    if (strchr(name, '/') != NULL) {
        if (paved_environment_load(&own, &diags, name) < 0) {
            smoke_print_diags(&diags);
            goto out;
        }
        env = own;
    } else {
        if (dir == NULL) {
            if (paved_config_load(&cf, config, environ) < 0) {
                fprintf(stderr, "paved: %s\n", paved_error_last());
                goto out;
            }
            dir = cf->cf_environments_dir;
        }
        if (paved_environment_load_dir(&set, &diags, dir) < 0) {
            smoke_print_diags(&diags);
            goto out;
        }
        if ((env = paved_environment_set_find(set, name)) == NULL) {
            fprintf(stderr, "paved smoke: no environment \"%s\" in %s\n", name,
                    dir);
            goto out;
        }
    }
    /* {{environment}} is known; a --var of the same name comes first */
    vars[nvars].sv_name = "environment";
    vars[nvars].sv_value = paved_environment_name(env);
    checks = paved_environment_smoke(env, &nchecks);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "paved smoke: curl_global_init failed\n");
        goto out;
    }
    if (paved_smoke_run(&rep, checks, nchecks, vars, nvars + 1, NULL) < 0) {
        fprintf(stderr, "paved smoke: %s\n", paved_error_last());
        goto out;
    }
    if (json) {
        if (smoke_print_json(paved_environment_name(env), &rep) < 0) {
            fprintf(stderr, "paved smoke: out of memory\n");
            goto out;
        }
    } else {
        if (paved_smoke_markdown(&md, &rep) < 0) {
            fprintf(stderr, "paved smoke: %s\n", paved_error_last());
            goto out;
        }
        fputs(md.b_ptr, stdout);
    }
    rc = rep.rp_pass ? PAVED_EXIT_OK : PAVED_EXIT_FAIL;
    goto out;
usage:
    smoke_usage(stderr);
    rc = PAVED_EXIT_USAGE;
out:
    paved_smoke_report_dispose(&rep);
    paved_buf_dispose(&md);
    paved_pipeline_diags_dispose(&diags);
    paved_environment_set_free(set);
    paved_environment_free(own);
    paved_config_free(cf);
    for (i = 0; i < nvars; i++)
        free(names[i]);
    return rc;
}
