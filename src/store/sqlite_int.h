#ifndef PAVED_STORE_SQLITE_INT_H
#define PAVED_STORE_SQLITE_INT_H
/* Shared between the SQLite backend's files (sqlite.c: connection,
 * schema, deliveries; sqlite_runs.c: runs and steps; sqlite_outbox.c:
 * the outbox; sqlite_services.c: the service catalog; sqlite_delivery.c:
 * artifacts and the audit log). Never included outside src/store/. */
#include <sqlite3.h>

#include "store/backend.h"

struct sqlite_conn {
    sqlite3 *sc_db;
    sqlite3_stmt *sc_insert;
    sqlite3_stmt *sc_find;
    sqlite3_stmt *sc_begin;
    sqlite3_stmt *sc_commit;
    sqlite3_stmt *sc_rollback;
    sqlite3_stmt *sc_run_insert;
    sqlite3_stmt *sc_run_save;
    sqlite3_stmt *sc_step_save;
    sqlite3_stmt *sc_run_dup;
};

/* Sets the error message from db's and returns PAVED_EUNAVAILABLE for
 * full, I/O, busy and read-only errors (retryable), else PAVED_ERROR. */
int sq_fail(sqlite3 *db, const char *what);
/* Step a statement that returns no rows, then reset it. */
int sq_step_done(sqlite3_stmt *st, sqlite3 *db, const char *what);
/* strdup of a text column ("" for NULL); NULL only when out of memory. */
char *sq_text(sqlite3_stmt *st, int col);
/* The same, but NULL for a NULL column; out of memory sets *failed. */
char *sq_text_or_null(sqlite3_stmt *st, int col, int *failed);
int sq_delivery_row(struct paved_delivery **out, sqlite3_stmt *st,
                    int with_payload);
/* Reads one row into slot (a pointer in the caller's array). */
typedef int (*sq_row_fn)(void *slot, sqlite3_stmt *st, void *arg);
/* Steps st into list (an array of limit pointers, each elem bytes) until
 * limit rows or the end; *count is how many were filled, also on error
 * (the caller frees them). what names the query in the error. */
int sq_collect(void *list, size_t elem, size_t *count, size_t limit,
               sqlite3_stmt *st, sqlite3 *db, const char *what, sq_row_fn fn,
               void *arg);
/* sq_row_fn for deliveries; arg points to an int: with_payload */
int sq_delivery_slot(void *slot, sqlite3_stmt *st, void *arg);

#define SQLITE_COLUMNS                                                         \
    "seq, forge, delivery_id, event, kind, status, received_ms, event_json, "  \
    "planned, "

/* sqlite_runs.c */
int sqlite_plan(void *conn, struct paved_store_plan *plan);
int sqlite_run_save(void *conn, const struct paved_run *r);
int sqlite_step_save(void *conn, const struct paved_step_rec *s);
int sqlite_delivery_unplanned(struct paved_delivery ***out, size_t *n,
                              void *conn, size_t limit, int64_t after_seq);
int sqlite_run_list(struct paved_run ***out, size_t *n, void *conn,
                    const struct paved_run_filter *f);
int sqlite_run_get(struct paved_run **out, void *conn, int64_t id);

/* sqlite_outbox.c */
int sqlite_outbox_put(void *conn, const struct paved_outbox_item *it);
int sqlite_outbox_update(void *conn, const struct paved_outbox_item *it);
int sqlite_outbox_retry(void *conn, int64_t id);
int sqlite_outbox_list(struct paved_outbox_item ***out, size_t *n, void *conn,
                       const char *status, int64_t due_ms, size_t limit);
int sqlite_outbox_get(struct paved_outbox_item **out, void *conn, int64_t id);

/* sqlite_services.c */
int sqlite_service_add(void *conn, const struct paved_service *s);
int sqlite_service_set_template(void *conn, const char *name, int version,
                                int64_t now_ms);
int sqlite_service_get(struct paved_service **out, void *conn,
                       const char *name);
int sqlite_service_list(struct paved_service ***out, size_t *n, void *conn);
/* sqlite_runs.c, for the catalog's views */
int sqlite_run_latest(struct paved_run **out, void *conn, const char *repo,
                      const char *env, int success_only);
int sqlite_run_counts(int64_t *runs, int64_t *failures, void *conn,
                      int64_t since_ms);

/* sqlite_delivery.c: artifacts and the audit log */
int sqlite_artifact_put(void *conn, struct paved_artifact *a);
int sqlite_artifact_get(struct paved_artifact **out, void *conn,
                        const char *repo, const char *sha);
int sqlite_deploy_add(void *conn, struct paved_deploy_rec *r);
int sqlite_deploy_list(struct paved_deploy_rec ***out, size_t *n, void *conn,
                       const struct paved_deploy_filter *f);

#endif
