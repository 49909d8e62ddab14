/* `paved history SERVICE [--env ENV] [--limit N] [--json]`: a service's
 * audit log (deploys, canary steps, smoke results, promotions, rollbacks,
 * approvals), newest first, read from the platform's store. Printing
 * only: it never writes a row. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include "cli/cli.h"
#include "paved/config.h"
#include "paved/error.h"
#include "paved/store.h"

extern char **environ;

#define HISTORY_DEFAULT_LIMIT 20
#define HISTORY_MAX_LIMIT 1000

struct history_opts {
    const char *ho_service;
    const char *ho_env;
    const char *ho_config;
    long ho_limit;
    int ho_json;
};

static int
history_usage(void)
{
    fprintf(stderr, "usage: paved history SERVICE [--env ENV] [--limit N] "
                    "[--json] [--config FILE]\n");
    return PAVED_EXIT_USAGE;
}

static int
history_parse(struct history_opts *o, int argc, char **argv)
{
    const char *limit = NULL;
    char *end;
    int i, rc;

    memset(o, 0, sizeof(*o));
    o->ho_limit = HISTORY_DEFAULT_LIMIT;
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            o->ho_json = 1;
            continue;
        }
        if ((rc = cli_opt(&o->ho_env, argc, argv, &i, "--env")) == 0 &&
            (rc = cli_opt(&limit, argc, argv, &i, "--limit")) == 0)
            rc = cli_opt(&o->ho_config, argc, argv, &i, "--config");
        if (rc == 1)
            continue;
        if (rc < 0) {
            fprintf(stderr, "paved history: %s needs a value\n", argv[i]);
            return history_usage();
        }
        if (argv[i][0] != '-' && o->ho_service == NULL) {
            o->ho_service = argv[i];
            continue;
        }
        fprintf(stderr, "paved history: unknown argument \"%s\"\n", argv[i]);
        return history_usage();
    }
    if (o->ho_service == NULL || o->ho_service[0] == '\0') {
        fprintf(stderr, "paved history: which service?\n");
        return history_usage();
    }
    if (o->ho_env != NULL && o->ho_env[0] == '\0') {
        fprintf(stderr, "paved history: --env needs an environment name\n");
        return history_usage();
    }
    if (limit != NULL) {
        errno = 0;
        o->ho_limit = strtol(limit, &end, 10);
        if (errno != 0 || end == limit || *end != '\0' || o->ho_limit < 1 ||
            o->ho_limit > HISTORY_MAX_LIMIT) {
            fprintf(stderr,
                    "paved history: --limit must be a number from 1 to "
                    "%d, not \"%s\"\n",
                    HISTORY_MAX_LIMIT, limit);
            return history_usage();
        }
    }
    return 0;
}

static int
history_open(paved_store **st, const struct paved_config *cf)
{
    char why[1024];

    *st = NULL;
    if (cli_store_missing(why, sizeof(why), cf) != NULL) {
        fprintf(stderr, "paved history: %s\n", why);
        return PAVED_EXIT_FAIL;
    }
    if (cli_store_open(st, cf) < 0) {
        fprintf(stderr, "paved history: cannot read the store: %s\n",
                paved_error_last());
        return PAVED_EXIT_FAIL;
    }
    return PAVED_EXIT_OK;
}

static int
history_set_str(json_t *obj, const char *key, const char *v)
{
    return json_object_set_new(obj, key,
                               v != NULL ? json_string(v) : json_null());
}

/* RFC 3339 UTC with milliseconds, as the API writes times */
static void
history_rfc3339(char *out, size_t len, int64_t ms)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&secs, &tm);
    snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(ms % 1000));
}

/* One row in the API's shape (docs/api.md, GET /api/v1/deployments). */
static json_t *
history_json_row(const struct paved_deploy_rec *r)
{
    json_t *o = json_object(), *detail = NULL;
    char when[64];
    int bad = o == NULL;

    if (r->dr_detail != NULL)
        detail = json_loads(r->dr_detail, JSON_DECODE_ANY, NULL);
    history_rfc3339(when, sizeof(when), r->dr_created_ms);
    bad |= json_object_set_new(o, "id", json_integer(r->dr_id)) < 0;
    bad |= history_set_str(o, "service", r->dr_service) < 0;
    bad |= history_set_str(o, "environment", r->dr_env) < 0;
    bad |= history_set_str(o, "action", r->dr_action) < 0;
    bad |= history_set_str(o, "result", r->dr_result) < 0;
    bad |= history_set_str(o, "version", r->dr_version) < 0;
    bad |= history_set_str(o, "sha", r->dr_sha) < 0;
    bad |= history_set_str(o, "repo", r->dr_repo) < 0;
    bad |= history_set_str(o, "artifact", r->dr_artifact) < 0;
    bad |= history_set_str(o, "digest", r->dr_digest) < 0;
    bad |= history_set_str(o, "actor", r->dr_actor) < 0;
    bad |= history_set_str(o, "reason", r->dr_reason) < 0;
    bad |= json_object_set_new(o, "detail",
                               detail != NULL ? detail : json_null()) < 0;
    bad |= json_object_set_new(o, "run_id",
                               r->dr_run_id > 0 ? json_integer(r->dr_run_id)
                                                : json_null()) < 0;
    bad |= history_set_str(o, "created_at", when) < 0;
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int
history_print_json(struct paved_deploy_rec **list, size_t n)
{
    json_t *doc = json_object(), *arr = json_array(), *row;
    char *text = NULL;
    size_t i;
    int rc = PAVED_EXIT_FAIL;

    if (doc == NULL || arr == NULL ||
        json_object_set(doc, "deployments", arr) < 0)
        goto out;
    for (i = 0; i < n; i++)
        if ((row = history_json_row(list[i])) == NULL ||
            json_array_append_new(arr, row) < 0)
            goto out;
    if ((text = json_dumps(doc, JSON_COMPACT)) == NULL)
        goto out;
    printf("%s\n", text);
    rc = PAVED_EXIT_OK;
out:
    if (rc != PAVED_EXIT_OK)
        fprintf(stderr, "paved history: out of memory\n");
    free(text);
    json_decref(arr);
    json_decref(doc);
    return rc;
}

/* A column's text: "-" for none, and never a control character (a reason
 * is free text from a config or a command line; one row is one line). */
static const char *
history_cell(char *out, size_t len, const char *s)
{
    size_t i;

    if (s == NULL || s[0] == '\0')
        return "-";
    snprintf(out, len, "%s", s);
    for (i = 0; out[i] != '\0'; i++)
        if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
            out[i] = ' ';
    return out;
}

static void
history_print_table(struct paved_deploy_rec **list, size_t n,
                    const struct history_opts *o)
{
    char when[32], env[64], action[16], result[16], version[64], actor[64];
    char reason[512];
    size_t i;

    if (n == 0) {
        if (o->ho_env != NULL)
            printf("no deployments of %s in %s recorded\n", o->ho_service,
                   o->ho_env);
        else
            printf("no deployments of %s recorded\n", o->ho_service);
        return;
    }
    printf("%-19s  %-12s %-9s %-8s %-14s %-20s %s\n", "TIME (UTC)", "ENV",
           "ACTION", "RESULT", "VERSION", "ACTOR", "REASON");
    for (i = 0; i < n; i++) {
        const struct paved_deploy_rec *r = list[i];
        time_t secs = (time_t)(r->dr_created_ms / 1000);
        struct tm tm;

        gmtime_r(&secs, &tm);
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
        printf("%-19s  %-12s %-9s %-8s %-14s %-20s %s\n", when,
               history_cell(env, sizeof(env), r->dr_env),
               history_cell(action, sizeof(action), r->dr_action),
               history_cell(result, sizeof(result), r->dr_result),
               history_cell(version, sizeof(version), r->dr_version),
               history_cell(actor, sizeof(actor), r->dr_actor),
               history_cell(reason, sizeof(reason), r->dr_reason));
    }
    if ((long)n == o->ho_limit)
        printf("(the newest %zu; --limit N shows more)\n", n);
}

int
paved_cli_history(int argc, char **argv)
{
    struct history_opts o;
    struct paved_config *cf = NULL;
    struct paved_deploy_filter f;
    struct paved_deploy_rec **list = NULL;
    paved_store *st = NULL;
    size_t n = 0;
    int rc;

    if ((rc = history_parse(&o, argc, argv)) != 0)
        return rc;
    if (paved_config_load(&cf, o.ho_config, environ) < 0) {
        fprintf(stderr, "paved history: %s\n", paved_error_last());
        return PAVED_EXIT_FAIL;
    }
    if ((rc = history_open(&st, cf)) != PAVED_EXIT_OK)
        goto out;
    memset(&f, 0, sizeof(f));
    f.df_service = o.ho_service;
    f.df_env = o.ho_env;
    f.df_limit = (size_t)o.ho_limit;
    if (paved_store_deploy_list(&list, &n, st, &f) < 0) {
        fprintf(stderr, "paved history: cannot read the store: %s\n",
                paved_error_last());
        rc = PAVED_EXIT_FAIL;
        goto out;
    }
    if (o.ho_json)
        rc = history_print_json(list, n);
    else
        history_print_table(list, n, &o);
out:
    paved_deploy_list_free(list, n);
    paved_store_close(st);
    paved_config_free(cf);
    return rc;
}
