#ifndef PAVED_STORE_H
#define PAVED_STORE_H
/* Durable storage of deliveries (and, later, runs, steps, outbox, catalog).
 * One writer thread group-commits: many submitted deliveries share one
 * transaction and one fsync, and their callbacks run on the caller's thread
 * only after the commit is durable. Never parses payloads; no SQL leaves
 * src/store/. Backends (SQLite, PostgreSQL) sit behind one table of
 * functions in src/store/backend.h. */
#include <stddef.h>
#include <stdint.h>

typedef struct paved_store paved_store; /* body in src/store/store.c */

/* One stored webhook delivery. Strings are malloc'd and owned by the
 * struct; paved_delivery_free() frees them and the struct. */
struct paved_delivery {
    int64_t dl_seq;            /* assigned by the store, increasing */
    char *dl_forge;            /* "github" */
    char *dl_id;               /* the forge's delivery id */
    char *dl_event;            /* the forge's event name */
    char *dl_kind;             /* normalized kind: "push", "tag", ... */
    char *dl_status;           /* "queued" or "ignored" */
    int64_t dl_received_ms;    /* unix milliseconds */
    char *dl_event_json;       /* normalized event (paved_event_to_json) */
    unsigned char *dl_payload; /* the JSON payload as received */
    size_t dl_payload_len;
};

void paved_delivery_free(struct paved_delivery *d); /* NULL is a no-op */

struct paved_store_opts {
    const char *so_spec;     /* "sqlite" (default) or "postgres://..." */
    const char *so_data_dir; /* where the SQLite file lives */
    size_t so_max_size;      /* cap on the database size; 0 = none */
    unsigned so_batch;       /* most deliveries per commit; 0 = 512 */
};

int paved_store_open(paved_store **out, const struct paved_store_opts *opts);
/* Stops the writer after it has committed everything submitted; callbacks
 * still pending are not run. NULL is a no-op. */
void paved_store_close(paved_store *st);

/* Called on the thread that runs paved_store_complete(), after the batch
 * that carried the request committed (result 0), found the delivery id
 * already stored (PAVED_EEXISTS) or failed (PAVED_EUNAVAILABLE, with the
 * reason in `msg`). `commit_secs` is the batch's commit time. */
struct paved_store_done {
    int sd_result;
    int64_t sd_seq; /* seq of the stored delivery, or the earlier one */
    double sd_commit_secs;
    size_t sd_batch; /* deliveries in that commit */
    const char *sd_msg;
};
typedef void (*paved_store_cb)(const struct paved_store_done *done, void *arg);

/* Queue a delivery for the next commit. Ownership of d moves to the store
 * (also on error). Returns PAVED_EUNAVAILABLE when the writer has stopped. */
int paved_store_submit(paved_store *st, struct paved_delivery *d,
                       paved_store_cb cb, void *arg);
/* Queue a write probe (BEGIN IMMEDIATE; COMMIT): /readyz. */
int paved_store_probe(paved_store *st, paved_store_cb cb, void *arg);
/* A descriptor that becomes readable when callbacks are ready; register it
 * with the event loop and call paved_store_complete() when it fires. */
int paved_store_notify_fd(const paved_store *st);
/* Run the callbacks of every finished batch on this thread. */
void paved_store_complete(paved_store *st);
/* Deliveries submitted and not yet committed. */
size_t paved_store_pending(paved_store *st);

/* Read side (a separate read connection; WAL lets it run beside the
 * writer). The list is newest first; *out is an array of *n deliveries,
 * freed with paved_delivery_list_free(). before_seq = 0: from the newest.
 * with_payload = 0 leaves dl_payload NULL. */
int paved_store_delivery_list(struct paved_delivery ***out, size_t *n,
                              paved_store *st, size_t limit, int64_t before_seq,
                              int with_payload);
void paved_delivery_list_free(struct paved_delivery **list, size_t n);
/* By the forge's delivery id, or by "#<seq>"; PAVED_ENOTFOUND. */
int paved_store_delivery_get(struct paved_delivery **out, paved_store *st,
                             const char *id, int with_payload);
/* Count of stored deliveries (all, for /metrics and tests). */
int paved_store_delivery_count(int64_t *out, paved_store *st);

#endif
