#ifndef PAVED_CLI_H
#define PAVED_CLI_H
/* Command-line faces: argument parsing and printing only. Exit status 0
 * success, 1 failure of the thing asked, 2 usage error. */

int paved_cli_main(int argc, char **argv);
int paved_cli_serve(int argc, char **argv);
int paved_cli_deliveries(int argc, char **argv);
int paved_cli_lint(int argc, char **argv);
int paved_cli_runs(int argc, char **argv);
int paved_cli_logs(int argc, char **argv);
int paved_cli_cancel(int argc, char **argv);
int paved_cli_replay(int argc, char **argv);
int paved_cli_outbox(int argc, char **argv);
int paved_cli_check(int argc, char **argv);
int paved_cli_scan(int argc, char **argv);
int paved_cli_services(int argc, char **argv); /* services.c */
int paved_cli_status(int argc, char **argv);
int paved_cli_platform(int argc, char **argv);
int paved_cli_create_service(int argc, char **argv);
int paved_cli_upgrade_service(int argc, char **argv);
int paved_cli_smoke(int argc, char **argv); /* smoke.c */
int paved_cli_analyze(int argc, char **argv);
int paved_cli_history(int argc, char **argv);  /* history.c */
int paved_cli_image(int argc, char **argv);    /* image.c: image build|push */
int paved_cli_artifact(int argc, char **argv); /* image.c: artifact dir */
int paved_cli_promote(int argc, char **argv);  /* deploy.c */
int paved_cli_rollback(int argc, char **argv);
int paved_cli_approve(int argc, char **argv);
int paved_cli_step(int argc, char **argv);
/* deploy_artifact.c: `uses: build-image` and `push-image` */
struct paved_rollout;
int paved_cli_step_artifact(struct paved_rollout *ro, const char *kind,
                            const char *service, const char *repo,
                            const char *sha);

/* client.c: paved's API over HTTP */
#include <stddef.h>
#include <jansson.h>

#include "paved/buf.h"

#define CLI_MAX_RESPONSE (64 * 1024 * 1024)
/* --url, else PAVED_URL, else the config's listen address */
int cli_base_url(char *out, size_t len, const char *url, const char *config);
/* method "GET" or "POST" (empty body); PAVED_API_TOKEN as bearer token */
int cli_request(struct paved_buf *body, long *status, const char *method,
                const char *url);
/* cli.c: --name VALUE or --name=VALUE at argv[*i]: 1 with *out set (and
 * *i past a separate value), 0 not this option, -1 its value is
 * missing */
int cli_opt(const char **out, int argc, char **argv, int *i, const char *name);
/* cli.c: the platform's store, as create-service, history and the
 * delivery commands open it: missing gives why not (in buf) or NULL;
 * open uses the configuration's store settings */
struct paved_config;
typedef struct paved_store paved_store;
const char *cli_store_missing(char *buf, size_t len,
                              const struct paved_config *cf);
int cli_store_open(paved_store **st, const struct paved_config *cf);
/* a string member or "-" */
const char *cli_str(json_t *obj, const char *key);

#define PAVED_EXIT_OK 0
#define PAVED_EXIT_FAIL 1
#define PAVED_EXIT_USAGE 2

#endif
