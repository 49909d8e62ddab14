#ifndef PAVED_SERVER_H
#define PAVED_SERVER_H
/* The HTTP face of the daemon: libevent listener, routes, body and time
 * limits, webhook ingress (verify, hand to the store, answer when durable),
 * health, metrics and the REST API. Never parses forge JSON itself (the
 * forge adapters do) and never waits on disk (the store writer does). */
#include <stddef.h>

#include "paved/config.h"
#include "paved/log.h"
#include "paved/metrics.h"
#include "paved/sched.h"
#include "paved/store.h"

struct event_base;
typedef struct paved_server paved_server;

/* Everything is borrowed and must outlive the server. */
struct paved_server_deps {
    struct event_base *sd_base;
    const struct paved_config *sd_config;
    paved_store *sd_store;
    paved_metrics *sd_metrics;
    paved_log *sd_log;
    struct paved_sched *sd_sched;       /* may be NULL: nothing is planned */
    struct paved_reporter *sd_reporter; /* may be NULL */
};

int paved_server_new(paved_server **out, const struct paved_server_deps *d);
/* Bind cfg->cf_listen; the bound address (port 0 resolved) goes to addr. */
int paved_server_listen(paved_server *srv, char *addr, size_t addrlen);
/* Stop accepting; requests already read are still answered. */
void paved_server_stop_accepting(paved_server *srv);
/* Requests waiting for the store (shutdown waits for these). */
size_t paved_server_inflight(const paved_server *srv);
void paved_server_free(paved_server *srv); /* NULL is a no-op */

#endif
