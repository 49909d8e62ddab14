/* Dispatch `paved <command>`, and the option reader the commands share. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "paved/config.h"
#include "paved/error.h"
#include "paved/store.h"

extern char **environ;

int
cli_opt(const char **out, int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);

    if (strncmp(argv[*i], name, n) != 0)
        return 0;
    if (argv[*i][n] == '=') {
        *out = argv[*i] + n + 1;
        return 1;
    }
    if (argv[*i][n] != '\0')
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *out = argv[++*i];
    return 1;
}

/* The platform's store. An SQLite store whose data_dir does not exist is
 * not the platform's: opening it would make a private one under the
 * current directory that nobody reads. NULL when the store is there, else
 * why not (in buf). */
const char *
cli_store_missing(char *buf, size_t len, const struct paved_config *cf)
{
    struct stat sb;

    if (strncmp(cf->cf_store, "postgres", 8) == 0 ||
        (stat(cf->cf_data_dir, &sb) == 0 && S_ISDIR(sb.st_mode)))
        return NULL;
    snprintf(buf, len,
             "no paved store here: data_dir \"%s\" does not exist; run "
             "where the platform's configuration is (--config FILE), or set "
             "PAVED_DATA_DIR or PAVED_STORE to the platform's store",
             cf->cf_data_dir);
    return buf;
}

int
cli_store_open(paved_store **st, const struct paved_config *cf)
{
    struct paved_store_opts so;

    memset(&so, 0, sizeof(so));
    so.so_spec = cf->cf_store;
    so.so_data_dir = cf->cf_data_dir;
    so.so_max_size = cf->cf_store_max_size;
    so.so_batch = cf->cf_store_batch;
    return paved_store_open(st, &so);
}

static void
cli_usage(FILE *fp)
{
    fprintf(fp, "usage: paved <command> [options]\n"
                "\n"
                "commands:\n"
                "  serve [--config FILE] [--log-format text|json]\n"
                "                                 run the daemon\n"
                "  deliveries [--json] [--limit N] [--url URL]\n"
                "                                 list received webhook "
                "deliveries\n"
                "  lint [--json] [--pipelines DIR] [PATH...]\n"
                "                                 check pipeline definitions\n"
                "  smoke ENV [--environments DIR] [--json]\n"
                "                                 run an environment's smoke "
                "checks now\n"
                "  analyze ENV --service S --version V [--stable V0] [--json]\n"
                "                                 judge a canary against "
                "Prometheus now\n"
                "  runs [--repo R] [--sha S] [--state S] [--json]\n"
                "                                 list pipeline runs\n"
                "  logs RUN [STEP] [--follow]     print a run's step logs\n"
                "  cancel RUN                     cancel a queued or running "
                "run\n"
                "  replay DELIVERY                plan a stored delivery "
                "again\n"
                "  outbox [--state S] | retry ID  statuses not yet on the "
                "forge\n"
                "  check [PATH] [--format text|json|sarif] [--base REV]\n"
                "                                 guardrails: manifests, "
                "Dockerfiles, secrets\n"
                "  scan --report FILE | --image IMAGE [--severity S]\n"
                "                                 the vulnerability gate on "
                "a Trivy report\n"
                "  create-service --name=N --type=api|worker|cron "
                "--lang=go|python|typescript\n"
                "      [--db] [--queue] [--owner=T] [--dir=D | --remote=URL] "
                "[--dry-run]\n"
                "                                 a new service from the "
                "golden path\n"
                "  upgrade-service DIR            merge newer templates into "
                "a service\n"
                "  services [--json]              the service catalog and "
                "template versions\n"
                "  status SERVICE [--json]        a service's runs, deployed "
                "versions, health\n"
                "  platform [--json]              services, runs this week, "
                "expiring exceptions\n"
                "  promote SERVICE --env=E [--version=V]\n"
                "                                 finish a rollout, or deploy "
                "a version that passed\n"
                "  rollback SERVICE --env=E       back to the stable (or the "
                "previous) version\n"
                "  approve RUN [--reason=TEXT]    let a run deploy to a "
                "protected environment\n"
                "  history SERVICE [--env=E] [--json]\n"
                "                                 deploys, promotions, "
                "rollbacks and approvals\n"
                "  image build|push ...           build or push an image "
                "(podman, buildah)\n"
                "  artifact dir SRC --into DIR    a content-addressed "
                "directory artifact\n"
                "  config [--config FILE]         print the effective "
                "configuration\n"
                "  version                        print the version\n"
                "\n"
                "Every config key can be set by PAVED_<KEY>; see "
                "docs/configuration.md.\n");
}

static int
cli_config(int argc, char **argv)
{
    struct paved_config *cf = NULL;
    const char *path = NULL;
    char *text = NULL;
    int i;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            path = argv[++i];
        else if (strncmp(argv[i], "--config=", 9) == 0)
            path = argv[i] + 9;
        else {
            fprintf(stderr, "paved config: unknown argument \"%s\"\n", argv[i]);
            return PAVED_EXIT_USAGE;
        }
    }
    if (paved_config_load(&cf, path, environ) < 0) {
        fprintf(stderr, "paved: %s\n", paved_error_last());
        return PAVED_EXIT_FAIL;
    }
    if (paved_config_dump(&text, cf) < 0) {
        fprintf(stderr, "paved: %s\n", paved_error_last());
        paved_config_free(cf);
        return PAVED_EXIT_FAIL;
    }
    fputs(text, stdout);
    free(text);
    paved_config_free(cf);
    return PAVED_EXIT_OK;
}

int
paved_cli_main(int argc, char **argv)
{
    const char *cmd;

    if (argc < 2) {
        cli_usage(stderr);
        return PAVED_EXIT_USAGE;
    }
    cmd = argv[1];
    if (strcmp(cmd, "serve") == 0)
        return paved_cli_serve(argc - 1, argv + 1);
    if (strcmp(cmd, "deliveries") == 0)
        return paved_cli_deliveries(argc - 1, argv + 1);
    if (strcmp(cmd, "lint") == 0)
        return paved_cli_lint(argc - 1, argv + 1);
    if (strcmp(cmd, "smoke") == 0)
        return paved_cli_smoke(argc - 1, argv + 1);
    if (strcmp(cmd, "analyze") == 0)
        return paved_cli_analyze(argc - 1, argv + 1);
    if (strcmp(cmd, "runs") == 0)
        return paved_cli_runs(argc - 1, argv + 1);
    if (strcmp(cmd, "logs") == 0)
        return paved_cli_logs(argc - 1, argv + 1);
    if (strcmp(cmd, "cancel") == 0)
        return paved_cli_cancel(argc - 1, argv + 1);
    if (strcmp(cmd, "replay") == 0)
        return paved_cli_replay(argc - 1, argv + 1);
    if (strcmp(cmd, "outbox") == 0)
        return paved_cli_outbox(argc - 1, argv + 1);
    if (strcmp(cmd, "check") == 0)
        return paved_cli_check(argc - 1, argv + 1);
    if (strcmp(cmd, "scan") == 0)
        return paved_cli_scan(argc - 1, argv + 1);
    if (strcmp(cmd, "create-service") == 0)
        return paved_cli_create_service(argc - 1, argv + 1);
    if (strcmp(cmd, "upgrade-service") == 0)
        return paved_cli_upgrade_service(argc - 1, argv + 1);
    if (strcmp(cmd, "services") == 0)
        return paved_cli_services(argc - 1, argv + 1);
    if (strcmp(cmd, "status") == 0)
        return paved_cli_status(argc - 1, argv + 1);
    if (strcmp(cmd, "platform") == 0)
        return paved_cli_platform(argc - 1, argv + 1);
    if (strcmp(cmd, "promote") == 0)
        return paved_cli_promote(argc - 1, argv + 1);
    if (strcmp(cmd, "rollback") == 0)
        return paved_cli_rollback(argc - 1, argv + 1);
    if (strcmp(cmd, "approve") == 0)
        return paved_cli_approve(argc - 1, argv + 1);
    if (strcmp(cmd, "step") == 0)
        return paved_cli_step(argc - 1, argv + 1);
    if (strcmp(cmd, "history") == 0)
        return paved_cli_history(argc - 1, argv + 1);
    if (strcmp(cmd, "image") == 0)
        return paved_cli_image(argc - 1, argv + 1);
    if (strcmp(cmd, "artifact") == 0)
        return paved_cli_artifact(argc - 1, argv + 1);
    if (strcmp(cmd, "config") == 0)
        return cli_config(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("paved %s\n", PAVED_VERSION);
        return PAVED_EXIT_OK;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 ||
        strcmp(cmd, "-h") == 0) {
        cli_usage(stdout);
        return PAVED_EXIT_OK;
    }
    fprintf(stderr, "paved: unknown command \"%s\"\n\n", cmd);
    cli_usage(stderr);
    return PAVED_EXIT_USAGE;
}
