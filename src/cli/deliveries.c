/* `paved deliveries`: a client of GET /api/v1/deliveries. The CLI talks to
 * the daemon's API rather than opening the store, so it works the same
 * against a remote paved or a PostgreSQL-backed one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "cli/cli.h"
#include "paved/buf.h"
#include "paved/error.h"

const char *
cli_str(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s != NULL ? s : "-";
}

static void
cli_print_table(json_t *list)
{
    size_t i;
    json_t *d;

    printf("%-6s %-24s %-7s %-13s %-8s %-32s %-24s %s\n", "SEQ", "RECEIVED",
           "FORGE", "KIND", "STATUS", "REPO", "REF", "DELIVERY");
    json_array_foreach(list, i, d)
    {
        json_t *ev = json_object_get(d, "normalized");
        printf("%-6lld %-24s %-7s %-13s %-8s %-32s %-24s %s\n",
               (long long)json_integer_value(json_object_get(d, "seq")),
               cli_str(d, "received_at"), cli_str(d, "forge"),
               cli_str(d, "kind"), cli_str(d, "status"), cli_str(ev, "repo"),
               cli_str(ev, "ref"), cli_str(d, "id"));
    }
}

int
paved_cli_deliveries(int argc, char **argv)
{
    struct paved_buf body = PAVED_BUF_INIT(CLI_MAX_RESPONSE);
    const char *url = NULL, *config = NULL;
    char base[1024], full[1200];
    json_t *doc = NULL, *list;
    json_error_t jerr;
    long limit = 50, status = 0;
    int json = 0, i, rc = PAVED_EXIT_FAIL;
    char *end;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc) {
            limit = strtol(argv[++i], &end, 10);
            if (*end != '\0' || limit < 1 || limit > 1000) {
                fprintf(stderr, "paved deliveries: --limit takes 1 to "
                                "1000\n");
                return PAVED_EXIT_USAGE;
            }
        } else if (strcmp(argv[i], "--url") == 0 && i + 1 < argc) {
            url = argv[++i];
        } else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            config = argv[++i];
        } else {
            fprintf(stderr,
                    "paved deliveries: unknown argument \"%s\"\n"
                    "usage: paved deliveries [--json] [--limit N] "
                    "[--url URL] [--config FILE]\n",
                    argv[i]);
            return PAVED_EXIT_USAGE;
        }
    }
    if (cli_base_url(base, sizeof(base), url, config) < 0) {
        fprintf(stderr, "paved: %s\n", paved_error_last());
        return PAVED_EXIT_FAIL;
    }
    snprintf(full, sizeof(full), "%s/api/v1/deliveries?limit=%ld", base, limit);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (cli_request(&body, &status, "GET", full) < 0) {
        fprintf(stderr, "paved: %s\n", paved_error_last());
        goto out;
    }
    if (status != 200) {
        fprintf(stderr, "paved: GET %s: HTTP %ld: %s\n", full, status,
                body.b_ptr ? body.b_ptr : "");
        goto out;
    }
    if (json) {
        fputs(body.b_ptr ? body.b_ptr : "", stdout);
        rc = PAVED_EXIT_OK;
        goto out;
    }
    doc = json_loadb(body.b_ptr ? body.b_ptr : "", body.b_len, 0, &jerr);
    if (doc == NULL ||
        !json_is_array(list = json_object_get(doc, "deliveries"))) {
        fprintf(stderr, "paved: unexpected answer from %s\n", full);
        goto out;
    }
    cli_print_table(list);
    rc = PAVED_EXIT_OK;
out:
    json_decref(doc);
    paved_buf_dispose(&body);
    curl_global_cleanup();
    return rc;
}
