/* `paved runs`, `paved logs`, `paved cancel`, `paved replay`: clients of
 * /api/v1/runs and /api/v1/deliveries/{id}/replay. Printing only; the
 * daemon decides everything. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "cli/cli.h"
#include "paved/error.h"

/* Options every one of these commands takes. */
struct runs_opts {
    const char *ro_url;
    const char *ro_config;
    int ro_json;
    int ro_follow;
    long ro_limit;
    const char *ro_repo, *ro_sha, *ro_state;
    const char *ro_args[2]; /* positional */
    int ro_nargs;
};

static int
runs_parse(struct runs_opts *o, int argc, char **argv, const char *cmd,
           const char *usage, int want_args, int allow_filters)
{
    char *end;
    int i;

    memset(o, 0, sizeof(*o));
    o->ro_limit = 50;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--json") == 0) {
            o->ro_json = 1;
        } else if (strcmp(a, "--follow") == 0 || strcmp(a, "-f") == 0) {
            o->ro_follow = 1;
        } else if (strcmp(a, "--url") == 0 && i + 1 < argc) {
            o->ro_url = argv[++i];
        } else if (strcmp(a, "--config") == 0 && i + 1 < argc) {
            o->ro_config = argv[++i];
        } else if (allow_filters && strcmp(a, "--limit") == 0 && i + 1 < argc) {
            o->ro_limit = strtol(argv[++i], &end, 10);
            if (*end != '\0' || o->ro_limit < 1 || o->ro_limit > 1000)
                goto usage;
        } else if (allow_filters && strcmp(a, "--repo") == 0 && i + 1 < argc) {
            o->ro_repo = argv[++i];
        } else if (allow_filters && strcmp(a, "--sha") == 0 && i + 1 < argc) {
            o->ro_sha = argv[++i];
        } else if (allow_filters && strcmp(a, "--state") == 0 && i + 1 < argc) {
            o->ro_state = argv[++i];
        } else if (a[0] != '-' && o->ro_nargs < 2) {
            o->ro_args[o->ro_nargs++] = a;
        } else {
            fprintf(stderr, "paved %s: unknown argument \"%s\"\n", cmd, a);
            goto usage;
        }
    }
    if (o->ro_nargs < want_args)
        goto usage;
    return 0;
usage:
    fprintf(stderr, "usage: paved %s\n", usage);
    return PAVED_EXIT_USAGE;
}

/* GET or POST base+path; *doc is the parsed JSON when the answer is JSON.
 * Prints the error and returns PAVED_EXIT_FAIL on anything but 2xx. */
static int
runs_call(struct paved_buf *body, json_t **doc, const struct runs_opts *o,
          const char *method, const char *path)
{
    char base[1024], full[4096];
    json_error_t jerr;
    long status = 0;

    if (doc != NULL)
        *doc = NULL;
    if (cli_base_url(base, sizeof(base), o->ro_url, o->ro_config) < 0 ||
        (snprintf(full, sizeof(full), "%s%s", base, path), 0) ||
        cli_request(body, &status, method, full) < 0) {
        fprintf(stderr, "paved: %s\n", paved_error_last());
        return PAVED_EXIT_FAIL;
    }
    if (status < 200 || status > 299) {
        json_t *err =
            json_loadb(body->b_ptr ? body->b_ptr : "", body->b_len, 0, &jerr);
        const char *msg = json_string_value(json_object_get(err, "error"));
        fprintf(stderr, "paved: %s %s: HTTP %ld: %s\n", method, path, status,
                msg ? msg : (body->b_ptr ? body->b_ptr : ""));
        json_decref(err);
        return PAVED_EXIT_FAIL;
    }
    if (doc != NULL && (*doc = json_loadb(body->b_ptr ? body->b_ptr : "",
                                          body->b_len, 0, &jerr)) == NULL) {
        fprintf(stderr, "paved: %s: the answer is not JSON: %s\n", path,
                jerr.text);
        return PAVED_EXIT_FAIL;
    }
    return PAVED_EXIT_OK;
}

/* A run id on the command line: digits only (it goes into a URL). */
static int
runs_id_ok(const char *s, const char *cmd)
{
    const char *p;

    for (p = s; *p >= '0' && *p <= '9'; p++)
        ;
    if (p == s || *p != '\0' || p - s > 18) {
        fprintf(stderr, "paved %s: \"%s\" is not a run id (a number)\n", cmd,
                s);
        return 0;
    }
    return 1;
}

static void
runs_short_sha(char *out, const char *sha)
{
    snprintf(out, 13, "%s", sha);
}

int
paved_cli_runs(int argc, char **argv)
{
    struct paved_buf body = PAVED_BUF_INIT(CLI_MAX_RESPONSE);
    struct runs_opts o;
    char path[2048], sha[16];
    json_t *doc = NULL, *list, *r;
    size_t i;
    int rc;
    CURL *c;

    if ((rc = runs_parse(&o, argc, argv, "runs",
                         "runs [--repo OWNER/NAME] [--sha SHA] [--state S] "
                         "[--limit N] [--json] [--url URL]",
                         0, 1)) != 0)
        return rc;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if ((c = curl_easy_init()) == NULL) {
        rc = PAVED_EXIT_FAIL;
        goto out;
    }
    snprintf(path, sizeof(path), "/api/v1/runs?limit=%ld", o.ro_limit);
    /* filters are user text: escaped into the query */
    if (o.ro_repo != NULL) {
        char *e = curl_easy_escape(c, o.ro_repo, 0);
        snprintf(path + strlen(path), sizeof(path) - strlen(path), "&repo=%s",
                 e ? e : "");
        curl_free(e);
    }
    if (o.ro_sha != NULL) {
        char *e = curl_easy_escape(c, o.ro_sha, 0);
        snprintf(path + strlen(path), sizeof(path) - strlen(path), "&sha=%s",
                 e ? e : "");
        curl_free(e);
    }
    if (o.ro_state != NULL) {
        char *e = curl_easy_escape(c, o.ro_state, 0);
        snprintf(path + strlen(path), sizeof(path) - strlen(path), "&state=%s",
                 e ? e : "");
        curl_free(e);
    }
    curl_easy_cleanup(c);
    if ((rc = runs_call(&body, o.ro_json ? NULL : &doc, &o, "GET", path)) != 0)
        goto out;
    if (o.ro_json) {
        fputs(body.b_ptr ? body.b_ptr : "", stdout);
        goto out;
    }
    if (!json_is_array(list = json_object_get(doc, "runs"))) {
        fprintf(stderr, "paved: unexpected answer from %s\n", path);
        rc = PAVED_EXIT_FAIL;
        goto out;
    }
    printf("%-6s %-9s %-16s %-28s %-24s %-12s %-10s %s\n", "RUN", "STATE",
           "PIPELINE", "REPO", "REF", "SHA", "ENV", "CREATED");
    json_array_foreach(list, i, r)
    {
        runs_short_sha(sha, cli_str(r, "sha"));
        printf("%-6lld %-9s %-16s %-28s %-24s %-12s %-10s %s\n",
               (long long)json_integer_value(json_object_get(r, "id")),
               cli_str(r, "state"), cli_str(r, "pipeline"), cli_str(r, "repo"),
               cli_str(r, "ref"), sha, cli_str(r, "environment"),
               cli_str(r, "created_at"));
    }
out:
    json_decref(doc);
    paved_buf_dispose(&body);
    curl_global_cleanup();
    return rc;
}

static int
runs_final(const char *state)
{
    return strcmp(state, "queued") != 0 && strcmp(state, "running") != 0;
}

/* One step's log from *offset on; advances *offset. */
static int
logs_step(const struct runs_opts *o, const char *id, const char *step,
          long long *offset, CURL *c)
{
    struct paved_buf body = PAVED_BUF_INIT(CLI_MAX_RESPONSE);
    char path[1024], *e = curl_easy_escape(c, step, 0);
    int rc;

    snprintf(path, sizeof(path), "/api/v1/runs/%s/log?step=%s&offset=%lld", id,
             e ? e : "", *offset);
    curl_free(e);
    if ((rc = runs_call(&body, NULL, o, "GET", path)) == 0 && body.b_len > 0) {
        fwrite(body.b_ptr, 1, body.b_len, stdout);
        fflush(stdout);
        *offset += (long long)body.b_len;
    }
    paved_buf_dispose(&body);
    return rc;
}

int
paved_cli_logs(int argc, char **argv)
{
    struct paved_buf body = PAVED_BUF_INIT(CLI_MAX_RESPONSE);
    struct runs_opts o;
    char path[1024];
    json_t *doc = NULL;
    long long offsets[256];
    size_t shown = 0;
    int rc;
    CURL *c = NULL;

    if ((rc = runs_parse(&o, argc, argv, "logs",
                         "logs RUN [STEP] [--follow] [--json] [--url URL]", 1,
                         0)) != 0)
        return rc;
    if (!runs_id_ok(o.ro_args[0], "logs"))
        return PAVED_EXIT_USAGE;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (!o.ro_follow) {
        /* one shot: the whole log, or one step's */
        if ((c = curl_easy_init()) == NULL) {
            rc = PAVED_EXIT_FAIL;
            goto out;
        }
        if (o.ro_nargs == 2) {
            char *e = curl_easy_escape(c, o.ro_args[1], 0);
            snprintf(path, sizeof(path), "/api/v1/runs/%s/log?step=%s",
                     o.ro_args[0], e ? e : "");
            curl_free(e);
        } else {
            snprintf(path, sizeof(path), "/api/v1/runs/%s/log", o.ro_args[0]);
        }
        if ((rc = runs_call(&body, NULL, &o, "GET", path)) != 0)
            goto out;
        if (o.ro_json) {
            json_t *j = json_object();
            json_object_set_new(j, "run",
                                json_integer(strtoll(o.ro_args[0], NULL, 10)));
            json_object_set_new(
                j, "log",
                json_stringn_nocheck(body.b_ptr ? body.b_ptr : "", body.b_len));
            json_dumpf(j, stdout, JSON_COMPACT);
            putchar('\n');
            json_decref(j);
        } else if (body.b_len > 0) {
            fwrite(body.b_ptr, 1, body.b_len, stdout);
        }
        goto out;
    }
    /* --follow: poll the run; print each step's new bytes in step order
     * until the run has ended */
    memset(offsets, 0, sizeof(offsets));
    if ((c = curl_easy_init()) == NULL) {
        rc = PAVED_EXIT_FAIL;
        goto out;
    }
    for (;;) {
        json_t *steps, *st;
        const char *state;
        size_t i;
        int final;

        paved_buf_clear(&body);
        json_decref(doc);
        snprintf(path, sizeof(path), "/api/v1/runs/%s", o.ro_args[0]);
        if ((rc = runs_call(&body, &doc, &o, "GET", path)) != 0)
            goto out;
        state = cli_str(doc, "state");
        final = runs_final(state);
        steps = json_object_get(doc, "steps");
        json_array_foreach(steps, i, st)
        {
            const char *name = cli_str(st, "name");
            if (i >= 256)
                break;
            if (o.ro_nargs == 2 && strcmp(name, o.ro_args[1]) != 0)
                continue;
            if (strcmp(cli_str(st, "state"), "queued") == 0 && !final)
                continue;
            if (i >= shown && o.ro_nargs < 2) {
                printf("==> step %s <==\n", name);
                shown = i + 1;
            }
            if ((rc = logs_step(&o, o.ro_args[0], name, &offsets[i], c)) != 0)
                goto out;
        }
        if (final) {
            fprintf(stderr, "paved: run %s ended: %s\n", o.ro_args[0], state);
            rc =
                strcmp(state, "success") == 0 ? PAVED_EXIT_OK : PAVED_EXIT_FAIL;
            goto out;
        }
        usleep(300 * 1000);
    }
out:
    if (c != NULL)
        curl_easy_cleanup(c);
    json_decref(doc);
    paved_buf_dispose(&body);
    curl_global_cleanup();
    return rc;
}

int
paved_cli_cancel(int argc, char **argv)
{
    struct paved_buf body = PAVED_BUF_INIT(CLI_MAX_RESPONSE);
    struct runs_opts o;
    char path[256];
    int rc;

    if ((rc = runs_parse(&o, argc, argv, "cancel",
                         "cancel RUN [--json] [--url URL]", 1, 0)) != 0)
        return rc;
    if (!runs_id_ok(o.ro_args[0], "cancel"))
        return PAVED_EXIT_USAGE;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    snprintf(path, sizeof(path), "/api/v1/runs/%s/cancel", o.ro_args[0]);
    if ((rc = runs_call(&body, NULL, &o, "POST", path)) == 0) {
        if (o.ro_json)
            fputs(body.b_ptr ? body.b_ptr : "", stdout);
        else
            printf("run %s: cancelling\n", o.ro_args[0]);
    }
    paved_buf_dispose(&body);
    curl_global_cleanup();
    return rc;
}

int
paved_cli_replay(int argc, char **argv)
{
    struct paved_buf body = PAVED_BUF_INIT(CLI_MAX_RESPONSE);
    struct runs_opts o;
    char path[1024];
    json_t *doc = NULL, *runs, *id;
    size_t i;
    int rc;
    CURL *c;
    char *e;

    if ((rc = runs_parse(&o, argc, argv, "replay",
                         "replay DELIVERY [--json] [--url URL]", 1, 0)) != 0)
        return rc;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if ((c = curl_easy_init()) == NULL) {
        rc = PAVED_EXIT_FAIL;
        goto out;
    }
    e = curl_easy_escape(c, o.ro_args[0], 0);
    snprintf(path, sizeof(path), "/api/v1/deliveries/%s/replay", e ? e : "");
    curl_free(e);
    curl_easy_cleanup(c);
    if ((rc = runs_call(&body, &doc, &o, "POST", path)) != 0)
        goto out;
    if (o.ro_json) {
        fputs(body.b_ptr ? body.b_ptr : "", stdout);
        goto out;
    }
    runs = json_object_get(doc, "runs");
    if (json_array_size(runs) == 0)
        printf("delivery %s: no pipeline matches it; nothing queued\n",
               o.ro_args[0]);
    json_array_foreach(runs, i, id)
    {
        printf("run %lld queued\n", (long long)json_integer_value(id));
    }
out:
    json_decref(doc);
    paved_buf_dispose(&body);
    curl_global_cleanup();
    return rc;
}

/* `paved outbox [--status S] [--json]`, `paved outbox retry ID` */
int
paved_cli_outbox(int argc, char **argv)
{
    struct paved_buf body = PAVED_BUF_INIT(CLI_MAX_RESPONSE);
    struct runs_opts o;
    char path[256];
    json_t *doc = NULL, *list, *it;
    size_t i;
    int rc;

    if ((rc = runs_parse(&o, argc, argv, "outbox",
                         "outbox [--state pending|failed|sent] [--json] "
                         "[--url URL] | outbox retry ID",
                         0, 1)) != 0)
        return rc;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (o.ro_nargs >= 1) {
        if (strcmp(o.ro_args[0], "retry") != 0 || o.ro_nargs != 2 ||
            !runs_id_ok(o.ro_args[1], "outbox retry")) {
            fprintf(stderr, "usage: paved outbox retry ID\n");
            rc = PAVED_EXIT_USAGE;
            goto out;
        }
        snprintf(path, sizeof(path), "/api/v1/outbox/%s/retry", o.ro_args[1]);
        if ((rc = runs_call(&body, NULL, &o, "POST", path)) == 0) {
            if (o.ro_json)
                fputs(body.b_ptr ? body.b_ptr : "", stdout);
            else
                printf("outbox %s: queued to send again\n", o.ro_args[1]);
        }
        goto out;
    }
    if (o.ro_state != NULL &&
        strspn(o.ro_state, "abcdefghijklmnopqrstuvwxyz") !=
            strlen(o.ro_state)) {
        fprintf(stderr, "paved outbox: --state is pending, failed or sent\n");
        rc = PAVED_EXIT_USAGE;
        goto out;
    }
    snprintf(path, sizeof(path), "/api/v1/outbox?limit=%ld%s%s", o.ro_limit,
             o.ro_state ? "&status=" : "", o.ro_state ? o.ro_state : "");
    if ((rc = runs_call(&body, o.ro_json ? NULL : &doc, &o, "GET", path)) != 0)
        goto out;
    if (o.ro_json) {
        fputs(body.b_ptr ? body.b_ptr : "", stdout);
        goto out;
    }
    list = json_object_get(doc, "outbox");
    printf("%-6s %-8s %-7s %-26s %-12s %-22s %-9s %-4s %s\n", "ID", "STATUS",
           "FORGE", "REPO", "SHA", "CONTEXT", "STATE", "TRY", "LAST ERROR");
    json_array_foreach(list, i, it)
    {
        char sha[16];
        runs_short_sha(sha, cli_str(it, "sha"));
        printf("%-6lld %-8s %-7s %-26s %-12s %-22s %-9s %-4lld %s\n",
               (long long)json_integer_value(json_object_get(it, "id")),
               cli_str(it, "status"), cli_str(it, "forge"), cli_str(it, "repo"),
               sha, cli_str(it, "context"), cli_str(it, "state"),
               (long long)json_integer_value(json_object_get(it, "attempts")),
               cli_str(it, "last_error"));
    }
out:
    json_decref(doc);
    paved_buf_dispose(&body);
    curl_global_cleanup();
    return rc;
}
