/* `paved services`, `paved status SERVICE`, `paved platform`: clients of
 * /api/v1/services and /api/v1/platform. Printing only: the daemon reads
 * the catalog, the runs and the policy files; --json prints its answer
 * as it came. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "cli/cli.h"
#include "paved/error.h"

struct svc_opts {
    const char *so_url;
    const char *so_config;
    int so_json;
    const char *so_arg; /* status: the service */
};

static int
svc_parse(struct svc_opts *o, int argc, char **argv, const char *cmd,
          const char *usage, int want_arg)
{
    int i;

    memset(o, 0, sizeof(*o));
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--json") == 0) {
            o->so_json = 1;
        } else if (strcmp(a, "--url") == 0 && i + 1 < argc) {
            o->so_url = argv[++i];
        } else if (strncmp(a, "--url=", 6) == 0) {
            o->so_url = a + 6;
        } else if (strcmp(a, "--config") == 0 && i + 1 < argc) {
            o->so_config = argv[++i];
        } else if (strncmp(a, "--config=", 9) == 0) {
            o->so_config = a + 9;
        } else if (a[0] != '-' && want_arg && o->so_arg == NULL) {
            o->so_arg = a;
        } else {
            fprintf(stderr, "paved %s: unknown argument \"%s\"\n", cmd, a);
            goto usage;
        }
    }
    if (want_arg && o->so_arg == NULL)
        goto usage;
    return 0;
usage:
    fprintf(stderr, "usage: paved %s\n", usage);
    return PAVED_EXIT_USAGE;
}

/* GET base+path into body and *doc. A 404 is handed back as
 * PAVED_ENOTFOUND with the daemon's message in msg (the caller words it);
 * anything else but 2xx is printed and fails. */
static int
svc_get(struct paved_buf *body, json_t **doc, char *msg, size_t msglen,
        const struct svc_opts *o, const char *path)
{
    char base[1024], full[4096];
    json_error_t jerr;
    long status = 0;

    *doc = NULL;
    if (cli_base_url(base, sizeof(base), o->so_url, o->so_config) < 0 ||
        (snprintf(full, sizeof(full), "%s%s", base, path), 0) ||
        cli_request(body, &status, "GET", full) < 0) {
        fprintf(stderr, "paved: %s\n", paved_error_last());
        return PAVED_EXIT_FAIL;
    }
    *doc = json_loadb(body->b_ptr ? body->b_ptr : "", body->b_len, 0, &jerr);
    if (status < 200 || status > 299) {
        const char *m = json_string_value(json_object_get(*doc, "error"));
        if (status == 404 && m != NULL) {
            snprintf(msg, msglen, "%s", m);
            return PAVED_ENOTFOUND;
        }
        fprintf(stderr, "paved: GET %s: HTTP %ld: %s\n", path, status,
                m ? m : (body->b_ptr ? body->b_ptr : ""));
        return PAVED_EXIT_FAIL;
    }
    if (*doc == NULL) {
        fprintf(stderr, "paved: %s: the answer is not JSON: %s\n", path,
                jerr.text);
        return PAVED_EXIT_FAIL;
    }
    return PAVED_EXIT_OK;
}

/* "2025-11-27T12:03:04.123Z" -> "2025-11-27 12:03" (or "-") */
static const char *
svc_when(char *out, size_t n, json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));

    if (s == NULL || strlen(s) < 16)
        return "-";
    snprintf(out, n, "%.10s %.5s", s, s + 11);
    return out;
}

/* "1", or "1 (behind: 2)" */
static void
svc_template(char *out, size_t n, json_t *s)
{
    json_int_t have =
        json_integer_value(json_object_get(s, "template_version"));
    json_t *cur = json_object_get(s, "current_template_version");

    if (json_is_true(json_object_get(s, "behind")))
        snprintf(out, n, "%lld (behind: %lld)", (long long)have,
                 (long long)json_integer_value(cur));
    else
        snprintf(out, n, "%lld", (long long)have);
}

int
paved_cli_services(int argc, char **argv)
{
    struct paved_buf body = PAVED_BUF_INIT(CLI_MAX_RESPONSE);
    struct svc_opts o;
    json_t *doc = NULL, *list, *s;
    char when[32], tmpl[64], msg[512];
    size_t i, behind = 0;
    int rc;

    if ((rc = svc_parse(&o, argc, argv, "services",
                        "services [--json] [--url URL] [--config FILE]", 0)) !=
        0)
        return rc;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if ((rc = svc_get(&body, &doc, msg, sizeof(msg), &o, "/api/v1/services")) !=
        0) {
        if (rc == PAVED_ENOTFOUND) {
            fprintf(stderr, "paved: %s\n", msg);
            rc = PAVED_EXIT_FAIL;
        }
        goto out;
    }
    if (o.so_json) {
        fputs(body.b_ptr ? body.b_ptr : "", stdout);
        goto out;
    }
    if (!json_is_array(list = json_object_get(doc, "services"))) {
        fprintf(stderr, "paved: unexpected answer from /api/v1/services\n");
        rc = PAVED_EXIT_FAIL;
        goto out;
    }
    if (json_array_size(list) == 0) {
        printf("no services in the catalog yet (paved create-service makes "
               "one)\n");
        goto out;
    }
    printf("%-24s %-7s %-11s %-14s %-30s %-17s %s\n", "NAME", "TYPE", "LANG",
           "OWNER", "REPO", "CREATED", "TEMPLATE");
    json_array_foreach(list, i, s)
    {
        svc_template(tmpl, sizeof(tmpl), s);
        behind += json_is_true(json_object_get(s, "behind"));
        printf("%-24s %-7s %-11s %-14s %-30s %-17s %s\n", cli_str(s, "name"),
               cli_str(s, "type"), cli_str(s, "lang"), cli_str(s, "owner"),
               cli_str(s, "repo"),
               svc_when(when, sizeof(when), s, "created_at"), tmpl);
    }
    if (json_is_integer(json_object_get(doc, "template_version")))
        printf("\ntemplate version %lld; %zu of %zu service%s behind%s\n",
               (long long)json_integer_value(
                   json_object_get(doc, "template_version")),
               behind, json_array_size(list),
               json_array_size(list) == 1 ? "" : "s",
               behind > 0 ? " (paved upgrade-service DIR brings one up to date)"
                          : "");
    else
        printf("\nthe current template version is unknown (no VERSION in "
               "the daemon's templates_dir)\n");
out:
    json_decref(doc);
    paved_buf_dispose(&body);
    curl_global_cleanup();
    return rc;
}

static void
svc_env_line(json_t *e)
{
    json_t *env = json_object_get(e, "environment");
    json_t *run = json_object_get(e, "latest_run");
    json_t *dep = json_object_get(e, "deployed");
    char when[32], latest[256];

    if (json_is_object(run))
        snprintf(latest, sizeof(latest), "#%lld %s %.7s %s %s",
                 (long long)json_integer_value(json_object_get(run, "id")),
                 cli_str(run, "state"), cli_str(run, "sha"),
                 cli_str(run, "ref"),
                 svc_when(when, sizeof(when), run,
                          json_is_string(json_object_get(run, "finished_at"))
                              ? "finished_at"
                              : "created_at"));
    else
        snprintf(latest, sizeof(latest), "-");
    printf("%-14s %-10s %-14s %s\n",
           json_is_string(env) ? json_string_value(env) : "pull requests",
           json_is_string(json_object_get(e, "health")) ? cli_str(e, "health")
                                                        : "-",
           json_is_object(dep) ? cli_str(dep, "version") : "-", latest);
}

int
paved_cli_status(int argc, char **argv)
{
    struct paved_buf body = PAVED_BUF_INIT(CLI_MAX_RESPONSE);
    struct svc_opts o;
    json_t *doc = NULL, *s, *envs, *e;
    char path[1024], when[32], tmpl[64], msg[512];
    char *esc = NULL;
    size_t i;
    int rc;
    CURL *c;

    if ((rc = svc_parse(&o, argc, argv, "status",
                        "status SERVICE [--json] [--url URL] [--config FILE]",
                        1)) != 0)
        return rc;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    /* the name is user text: escaped into the path */
    if ((c = curl_easy_init()) == NULL ||
        (esc = curl_easy_escape(c, o.so_arg, 0)) == NULL) {
        fprintf(stderr, "paved: out of memory\n");
        rc = PAVED_EXIT_FAIL;
        if (c != NULL)
            curl_easy_cleanup(c);
        goto out;
    }
    snprintf(path, sizeof(path), "/api/v1/services/%s", esc);
    curl_free(esc);
    curl_easy_cleanup(c);
    if ((rc = svc_get(&body, &doc, msg, sizeof(msg), &o, path)) != 0) {
        if (rc == PAVED_ENOTFOUND) {
            fprintf(stderr,
                    "paved status: %s (paved services lists the catalog)\n",
                    msg);
            rc = PAVED_EXIT_FAIL;
        }
        goto out;
    }
    if (o.so_json) {
        fputs(body.b_ptr ? body.b_ptr : "", stdout);
        goto out;
    }
    s = json_object_get(doc, "service");
    svc_template(tmpl, sizeof(tmpl), s);
    printf("%s: %s service in %s, owned by %s\n", cli_str(s, "name"),
           cli_str(s, "type"), cli_str(s, "lang"), cli_str(s, "owner"));
    printf("repository: %s (%s)\n", cli_str(s, "repo"), cli_str(s, "url"));
    printf("created %s; template version %s%s%s\n\n",
           svc_when(when, sizeof(when), s, "created_at"), tmpl,
           json_is_true(json_object_get(s, "db")) ? "; database" : "",
           json_is_true(json_object_get(s, "queue")) ? "; queue" : "");
    printf("%-14s %-10s %-14s %s\n", "ENVIRONMENT", "HEALTH", "DEPLOYED",
           "LATEST RUN");
    envs = json_object_get(doc, "environments");
    json_array_foreach(envs, i, e)
    {
        svc_env_line(e);
    }
    printf("\nhealth comes from the newest run; the deployed version from "
           "the delivery audit log\n(paved history %s), else from the newest "
           "successful run\n",
           cli_str(json_object_get(doc, "service"), "name"));
out:
    json_decref(doc);
    paved_buf_dispose(&body);
    curl_global_cleanup();
    return rc;
}

static void
svc_counts(json_t *obj)
{
    const char *k;
    json_t *v;
    int first = 1;

    json_object_foreach(obj, k, v)
    {
        printf("%s%s %lld", first ? "" : ", ", k,
               (long long)json_integer_value(v));
        first = 0;
    }
}

int
paved_cli_platform(int argc, char **argv)
{
    struct paved_buf body = PAVED_BUF_INIT(CLI_MAX_RESPONSE);
    struct svc_opts o;
    json_t *doc = NULL, *svcs, *week, *q, *excs, *x, *skipped;
    char when[32], msg[512];
    size_t i;
    int rc;

    if ((rc = svc_parse(&o, argc, argv, "platform",
                        "platform [--json] [--url URL] [--config FILE]", 0)) !=
        0)
        return rc;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if ((rc = svc_get(&body, &doc, msg, sizeof(msg), &o, "/api/v1/platform")) !=
        0) {
        if (rc == PAVED_ENOTFOUND) {
            fprintf(stderr, "paved: %s\n", msg);
            rc = PAVED_EXIT_FAIL;
        }
        goto out;
    }
    if (o.so_json) {
        fputs(body.b_ptr ? body.b_ptr : "", stdout);
        goto out;
    }
    svcs = json_object_get(doc, "services");
    week = json_object_get(doc, "week");
    printf("services: %lld (",
           (long long)json_integer_value(json_object_get(svcs, "total")));
    svc_counts(json_object_get(svcs, "by_type"));
    printf("; ");
    svc_counts(json_object_get(svcs, "by_lang"));
    printf(")\n");
    printf("runs in the last 7 days: %lld, %lld failed\n",
           (long long)json_integer_value(json_object_get(week, "runs")),
           (long long)json_integer_value(json_object_get(week, "failures")));
    q = json_object_get(doc, "oldest_queued");
    if (json_is_object(q)) {
        json_t *run = json_object_get(q, "run");
        printf("oldest queued: delivery %s", cli_str(q, "delivery"));
        if (json_is_integer(run))
            printf(" (run %lld, %s)", (long long)json_integer_value(run),
                   cli_str(q, "repo"));
        else
            printf(" (not planned yet)");
        printf(", waiting %llds since %s\n",
               (long long)json_integer_value(json_object_get(q, "age_seconds")),
               svc_when(when, sizeof(when), q, "queued_at"));
    } else {
        printf("oldest queued: nothing is waiting\n");
    }
    excs = json_object_get(doc, "exceptions");
    if (json_array_size(excs) == 0) {
        printf("guardrail exceptions: none expired or expiring within %lld "
               "days\n",
               (long long)json_integer_value(
                   json_object_get(doc, "exceptions_window_days")));
    } else {
        printf("\nguardrail exceptions expired or expiring within %lld "
               "days:\n",
               (long long)json_integer_value(
                   json_object_get(doc, "exceptions_window_days")));
        printf("%-20s %-28s %-28s %-11s %-9s %s\n", "SERVICE", "RULE", "PATH",
               "EXPIRES", "DAYS", "REASON");
        json_array_foreach(excs, i, x)
        {
            char days[32];
            json_int_t d = json_integer_value(json_object_get(x, "days_left"));
            if (d < 0)
                snprintf(days, sizeof(days), "expired");
            else
                snprintf(days, sizeof(days), "%lld", (long long)d);
            printf("%-20s %-28s %-28s %-11s %-9s %s\n", cli_str(x, "service"),
                   cli_str(x, "rule"), cli_str(x, "path"),
                   cli_str(x, "expires"), days, cli_str(x, "reason"));
        }
    }
    skipped = json_object_get(doc, "exceptions_skipped");
    if (json_array_size(skipped) > 0)
        printf("(policy files of %zu service%s not read: the daemon's time "
               "budget ran out)\n",
               json_array_size(skipped),
               json_array_size(skipped) == 1 ? "" : "s");
out:
    json_decref(doc);
    paved_buf_dispose(&body);
    curl_global_cleanup();
    return rc;
}
