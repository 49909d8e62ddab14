#ifndef PAVED_DELIVERY_DRIVER_INT_H
#define PAVED_DELIVERY_DRIVER_INT_H
/* Inside the deploy drivers: the table each driver fills (local.c,
 * kubernetes.c, exec.c) and what driver.c gives them all: dispatch, the
 * state file of each service, and progress lines. Not for other modules:
 * they use include/paved/driver.h. */
#include <sys/types.h>

#include <jansson.h>

#include "paved/driver.h"

struct driver_ops {
    const char *do_name; /* "local", "kubernetes", "exec" */
    /* check the tool is there (PAVED_EUNAVAILABLE with what to install) */
    int (*do_open)(paved_driver *d);
    void (*do_close)(paved_driver *d);
    /* As the public functions; st is the service's state as loaded (a
     * JSON object, never NULL: {} when the service never ran here). The
     * driver changes st in place; driver.c saves it after a call that
     * returned 0 and also after a failure (so a half-done step is known). */
    int (*do_start)(paved_driver *d, json_t *st, const struct paved_version *v);
    int (*do_route)(paved_driver *d, json_t *st, const char *service,
                    unsigned weight);
    int (*do_promote)(paved_driver *d, json_t *st, const char *service);
    int (*do_abort)(paved_driver *d, json_t *st, const char *service);
    /* every service: driver.c loads each state file and saves it after */
    int (*do_reconcile)(paved_driver *d, json_t *st, const char *service,
                        bool *changed);
};

struct paved_driver {
    const struct driver_ops *d_ops;
    const paved_environment *d_env;
    char *d_state_dir;
    FILE *d_progress;
    bool d_dry_run;
    void *d_impl; /* the driver's own data; do_open sets, do_close frees */
};

/* The state file of a service: <state_dir>/<service>.json, holding
 *   {"stable": VERSION|null, "candidate": VERSION|null, "weight": N, ...}
 * where VERSION is {"version","sha","kind","artifact","digest","start"}
 * plus whatever the driver adds (local: "port", "pid"). Saved by writing
 * a temporary file, fsync, rename. */
int driver_state_load(json_t **out, paved_driver *d, const char *service);
int driver_state_save(paved_driver *d, const char *service, json_t *st);
/* path written whole or not at all: a temporary file beside it, fsync,
 * rename, fsync of the directory. */
int driver_write_atomic(const char *path, const char *text, mode_t mode);
/* A VERSION object from v (copies the strings). */
json_t *driver_version_json(const struct paved_version *v);
/* A progress line: "driver local (staging): <text>\n" to d_progress. */
void driver_progress(paved_driver *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- commands (exec.c; kubernetes.c uses them too) ---------------------
 * One command as an argument vector, never a shell line. */
struct driver_cmd {
    const char *dc_what;  /* for messages: "exec deploy", "kubectl apply" */
    char *const *dc_argv; /* NULL-terminated; [0] searched in PATH */
    const char *dc_input; /* written to its stdin, or NULL: /dev/null */
    char *const *dc_env;  /* "NAME=value" set on top of paved's own
                             environment, NULL-terminated; or NULL */
    unsigned dc_timeout;  /* seconds; then its process group is killed */
};
/* Writes "+ ARGV" (shell-quoted where needed) to d_progress. With
 * d_dry_run also dc_input after it, runs nothing and returns 0 (*out "").
 * Otherwise runs it and waits: 0 when it exits 0, *out (may be NULL) its
 * stdout, at most 64 KiB. PAVED_EUNAVAILABLE: the program is not there;
 * PAVED_ERROR: it failed, was killed or timed out; the message holds the
 * exit status and the tail of its output, d_progress all of it. */
int driver_cmd_run(paved_driver *d, const struct driver_cmd *c, char **out);
/* prog as execvp finds it ('/' in it: as is) into path: 0 when it is an
 * executable regular file, PAVED_ENOTFOUND otherwise. */
int driver_cmd_find(const char *prog, char *path, size_t size);

extern const struct driver_ops driver_local_ops;
extern const struct driver_ops driver_kubernetes_ops;
extern const struct driver_ops driver_exec_ops;

#endif
