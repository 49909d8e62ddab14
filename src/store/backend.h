#ifndef PAVED_STORE_BACKEND_H
#define PAVED_STORE_BACKEND_H
/* The table of functions a store backend provides (fluent-bit's plugin
 * idea). store.c owns threads and queues; a backend owns one connection
 * and its SQL. A connection is used by one thread at a time. */
#include "paved/store.h"

struct store_backend {
    const char *sb_name;
    /* writer != 0: create or migrate the schema and apply write limits */
    int (*sb_open)(void **out, const struct paved_store_opts *opts, int writer);
    void (*sb_close)(void *conn);
    int (*sb_begin)(void *conn);
    /* Sets d->dl_seq. PAVED_EEXISTS (with dl_seq of the stored one) when
     * (forge, id) is already there; any other error spoils the batch. */
    int (*sb_insert_delivery)(void *conn, struct paved_delivery *d);
    int (*sb_commit)(void *conn);
    /* A write of about one delivery's size, removed again, in a
     * transaction of its own: can the store take a delivery now? */
    int (*sb_probe)(void *conn);
    void (*sb_rollback)(void *conn);
    int (*sb_delivery_list)(struct paved_delivery ***out, size_t *n, void *conn,
                            size_t limit, int64_t before_seq, int with_payload);
    int (*sb_delivery_get)(struct paved_delivery **out, void *conn,
                           const char *id, int with_payload);
    int (*sb_delivery_count)(int64_t *out, void *conn);
    /* Inside a transaction begun by sb_begin (writer only). */
    int (*sb_plan)(void *conn, struct paved_store_plan *plan);
    int (*sb_run_save)(void *conn, const struct paved_run *r);
    int (*sb_step_save)(void *conn, const struct paved_step_rec *s);
    int (*sb_delivery_unplanned)(struct paved_delivery ***out, size_t *n,
                                 void *conn, size_t limit, int64_t after_seq);
    int (*sb_run_list)(struct paved_run ***out, size_t *n, void *conn,
                       const struct paved_run_filter *f);
    int (*sb_run_get)(struct paved_run **out, void *conn, int64_t id);
    /* outbox; put/update/retry inside a writer transaction */
    int (*sb_outbox_put)(void *conn, const struct paved_outbox_item *it);
    int (*sb_outbox_update)(void *conn, const struct paved_outbox_item *it);
    int (*sb_outbox_retry)(void *conn, int64_t id);
    /* due_ms >= 0: pending rows due then, of forge `key` (NULL: any);
     * due_ms < 0: rows with status `key` (NULL: any) */
    int (*sb_outbox_list)(struct paved_outbox_item ***out, size_t *n,
                          void *conn, const char *status, int64_t due_ms,
                          size_t limit);
    int (*sb_outbox_get)(struct paved_outbox_item **out, void *conn,
                         int64_t id);
    /* the service catalog; add and set_template inside a writer
     * transaction. PAVED_EEXISTS / PAVED_ENOTFOUND leave the transaction
     * usable (nothing was written). */
    int (*sb_service_add)(void *conn, const struct paved_service *s);
    int (*sb_service_set_template)(void *conn, const char *name, int version,
                                   int64_t now_ms);
    int (*sb_service_get)(struct paved_service **out, void *conn,
                          const char *name);
    int (*sb_service_list)(struct paved_service ***out, size_t *n, void *conn);
    int (*sb_run_latest)(struct paved_run **out, void *conn, const char *repo,
                         const char *env, int success_only);
    int (*sb_run_counts)(int64_t *runs, int64_t *failures, void *conn,
                         int64_t since_ms);
    /* delivery (issue 7): put and add inside a writer transaction; put
     * sets a->ar_id, add sets r->dr_id */
    int (*sb_artifact_put)(void *conn, struct paved_artifact *a);
    int (*sb_artifact_get)(struct paved_artifact **out, void *conn,
                           const char *repo, const char *sha);
    int (*sb_deploy_add)(void *conn, struct paved_deploy_rec *r);
    int (*sb_deploy_list)(struct paved_deploy_rec ***out, size_t *n, void *conn,
                          const struct paved_deploy_filter *f);
};

extern const struct store_backend store_backend_sqlite;

/* service.c: a deep copy (the writer's job owns it) */
int store_service_copy(struct paved_service **out,
                       const struct paved_service *src);
/* delivery.c: deep copies, and the checks a record passes before it is
 * queued (PAVED_EINVAL with the reason) */
int store_artifact_copy(struct paved_artifact **out,
                        const struct paved_artifact *src);
int store_deploy_copy(struct paved_deploy_rec **out,
                      const struct paved_deploy_rec *src);
int store_artifact_check(const struct paved_artifact *a);
int store_deploy_check(const struct paved_deploy_rec *r);

#endif
