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
    int dl_planned;            /* 1 once the scheduler planned it */
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

/* ---- runs and steps ----------------------------------------------------
 * A run is one pipeline executed for one delivery; its steps are rows of
 * their own. The scheduler owns the state machine and keeps the live
 * state in memory; the store is its durable journal. Writes go through
 * the writer thread like deliveries do (group commit, the loop never
 * waits); reads use the reader connection. */
enum paved_run_state {
    PAVED_RUN_QUEUED = 0,
    PAVED_RUN_RUNNING,
    PAVED_RUN_SUCCESS,
    PAVED_RUN_FAILURE,
    PAVED_RUN_CANCELLED,
    PAVED_RUN_ERROR,
    PAVED_RUN_SKIPPED, /* steps only */
    PAVED_RUN__COUNT
};

const char *paved_run_state_name(enum paved_run_state s);
int paved_run_state_from_name(enum paved_run_state *out, const char *name);
/* success, failure, cancelled, error, skipped */
int paved_run_state_final(enum paved_run_state s);

/* Strings malloc'd and owned by the struct (NULL when absent). */
struct paved_step_rec {
    int64_t sr_run;
    unsigned sr_index; /* position in the run, from 0 */
    char *sr_name;
    enum paved_run_state sr_state;
    int sr_exit;          /* last exit status; -1 none or signalled */
    unsigned sr_attempts; /* how many times it was started */
    int64_t sr_started_ms, sr_finished_ms; /* 0 = not yet */
    char *sr_reason;                       /* why it ended this way */
    char *sr_needs;                        /* JSON array of names */
    int sr_pid; /* process group of the running attempt, 0 none */
};

struct paved_run {
    int64_t ru_id;           /* assigned by the store */
    int64_t ru_delivery_seq; /* the delivery it was planned from */
    char *ru_delivery_id;    /* the forge's id (reads only) */
    char *ru_pipeline;
    char *ru_repo;
    char *ru_ref;
    char *ru_sha;
    char *ru_kind; /* "push", "tag", "pull_request" */
    char *ru_env;  /* "staging", "production" or NULL */
    char *ru_group;
    enum paved_run_state ru_state;
    char *ru_reason;
    unsigned ru_attempt;   /* 1, or 2 when requeued after a crash */
    int64_t ru_dup_of;     /* plan: set when an existing run covers it */
    int64_t ru_requeue_of; /* the interrupted run this one replaces */
    int64_t ru_created_ms, ru_started_ms, ru_finished_ms;
    char *ru_event_json;             /* the normalized event */
    struct paved_step_rec *ru_steps; /* run_get only */
    size_t ru_nsteps;
};

void paved_run_free(struct paved_run *r); /* NULL is a no-op */
void paved_run_list_free(struct paved_run **list, size_t n);
void paved_step_rec_dispose(struct paved_step_rec *s);
/* Deep copies (with_steps: the steps too); *out / *dst owned by the
 * caller. */
int paved_run_copy(struct paved_run **out, const struct paved_run *r,
                   int with_steps);
int paved_step_rec_copy(struct paved_step_rec *dst,
                        const struct paved_step_rec *src);

/* A plan: the runs one delivery produced, written in one transaction
 * together with the delivery's "planned" mark, so that a delivery is
 * planned exactly once however often paved crashes around it.
 *
 * pp_delivery_seq > 0 and !pp_force: PAVED_EEXISTS when the delivery is
 * planned already (nothing is written). Unless pp_force, a run whose
 * repo, sha and pipeline match an existing run with the same
 * environment (or any environment, for a run without one: a push run
 * does everything a pull request run does) is not inserted: ru_dup_of
 * names the existing run and ru_id stays 0. pp_updates are saved in the
 * same transaction (an interrupted run marked error with the run that
 * replaces it). Ownership of the whole struct moves to the store; the
 * callback gets it back and must free it with paved_store_plan_free(). */
struct paved_store_plan {
    int64_t pp_delivery_seq;
    int pp_force;
    struct paved_run **pp_runs;
    size_t pp_nruns;
    struct paved_run **pp_updates;
    size_t pp_nupdates;
    struct paved_outbox_item **pp_items; /* upserted with the plan */
    size_t pp_nitems;
    int pp_result; /* set before the callback: 0, PAVED_EEXISTS, < 0 */
    char pp_msg[256];
};
typedef void (*paved_store_plan_cb)(struct paved_store_plan *plan, void *arg);
void paved_store_plan_free(struct paved_store_plan *plan);
int paved_store_plan(paved_store *st, struct paved_store_plan *plan,
                     paved_store_plan_cb cb, void *arg);
/* Save a run's state, reason, attempt, times and sha (an annotated tag's
 * object resolved to its commit), or one step (inserted or
 * replaced). The record is copied; no callback: the writer applies them in
 * submission order, and the scheduler's memory is the live truth. */
int paved_store_run_save(paved_store *st, const struct paved_run *r);
int paved_store_step_save(paved_store *st, const struct paved_step_rec *s);

/* Deliveries stored with status "queued" and not yet planned, oldest
 * first, seq > after_seq. */
int paved_store_delivery_unplanned(struct paved_delivery ***out, size_t *n,
                                   paved_store *st, size_t limit,
                                   int64_t after_seq);

struct paved_run_filter {
    const char *rf_repo;     /* NULL: any */
    const char *rf_sha;      /* NULL: any; a prefix of 7+ characters */
    int rf_state;            /* enum paved_run_state, or -1 for any */
    int rf_active;           /* only queued and running */
    int64_t rf_delivery_seq; /* 0: any */
    int64_t rf_before_id;    /* 0: from the newest */
    size_t rf_limit;         /* 0: 50 */
    int rf_oldest_first;
};
int paved_store_run_list(struct paved_run ***out, size_t *n, paved_store *st,
                         const struct paved_run_filter *f);
/* With its steps; PAVED_ENOTFOUND. */
int paved_store_run_get(struct paved_run **out, paved_store *st, int64_t id);

/* ---- the outbox: what the forge should show ---------------------------
 * One row per (forge, repo, sha, context): a newer state replaces the
 * older one in place (version + 1) and waits to be sent again, so the
 * newest state wins and intermediate ones coalesce. Rows are written in
 * the same transaction as the run change they report. The reporter sends
 * a row's current content and records the version it sent: the row is
 * `sent` only when nothing newer arrived meanwhile. */
struct paved_outbox_item {
    int64_t oi_id;
    char *oi_forge; /* "github", "gitea", "gitlab" */
    char *oi_repo;
    char *oi_sha;
    char *oi_context; /* "paved/service" */
    char *oi_state;   /* pending running success failure error cancelled */
    char *oi_description;
    char *oi_target_url;
    int64_t oi_run;
    int64_t oi_version;      /* bumped by every change */
    int64_t oi_sent_version; /* the version the forge has */
    char *oi_status;         /* "pending", "sent", "failed" */
    unsigned oi_attempts;    /* sends of the current version */
    int64_t oi_next_ms;      /* not before (unix ms) */
    int64_t oi_updated_ms;
    char *oi_last_error; /* the forge's message, or the network error */
    /* GitHub check runs (paved as an App) show more than a state */
    char *oi_summary;             /* Markdown; NULL: the description */
    char *oi_text;                /* Markdown; NULL: none */
    char *oi_annotations;         /* JSON array in GitHub's annotation shape */
    int64_t oi_check_run_id;      /* the forge's id; 0: not created yet */
    int64_t oi_check_run_of;      /* the run it was created for */
    unsigned oi_annotations_sent; /* of oi_annotations, already sent */
};
void paved_outbox_item_free(struct paved_outbox_item *it); /* NULL: no-op */
void paved_outbox_list_free(struct paved_outbox_item **list, size_t n);

/* paved_store_run_save, plus outbox rows (oi_forge .. oi_run, and
 * oi_summary, oi_text, oi_annotations) upserted in the same transaction.
 * The items are copied. */
int paved_store_step_save_report(paved_store *st,
                                 const struct paved_step_rec *s,
                                 const struct paved_outbox_item *items,
                                 size_t n, paved_store_cb cb, void *arg);
int paved_store_run_save_report(paved_store *st, const struct paved_run *r,
                                const struct paved_outbox_item *items, size_t n,
                                paved_store_cb cb, void *arg);
/* After a send of version it->oi_sent_version: oi_status "sent" (stored
 * as sent only when the row's version is still that one), "pending" (a
 * retry: oi_attempts, oi_next_ms, oi_last_error; or, with attempts and
 * next_ms 0, a check run that needs more requests for this version) or
 * "failed". A non-zero oi_check_run_id is recorded whatever the version
 * (it names what exists on the forge), with oi_check_run_of, and
 * oi_annotations_sent when the version is still the one sent. A newer
 * state (an upsert) keeps the count only for the same run and the same
 * annotations. */
int paved_store_outbox_update(paved_store *st,
                              const struct paved_outbox_item *it,
                              paved_store_cb cb, void *arg);
/* A failed (or pending) row is sent again now: PAVED_ENOTFOUND checked by
 * the caller with paved_store_outbox_get first. */
int paved_store_outbox_retry(paved_store *st, int64_t id);
/* Rows of forge (NULL: any) with status pending and next_ms <= now_ms,
 * oldest change first. */
int paved_store_outbox_due(struct paved_outbox_item ***out, size_t *n,
                           paved_store *st, const char *forge, int64_t now_ms,
                           size_t limit);
/* status NULL: any; newest change first. */
int paved_store_outbox_list(struct paved_outbox_item ***out, size_t *n,
                            paved_store *st, const char *status, size_t limit);
int paved_store_outbox_get(struct paved_outbox_item **out, paved_store *st,
                           int64_t id);

/* ---- the service catalog ------------------------------------------------
 * Every service `paved create-service` made. Writes are synchronous: they
 * go through the writer thread like everything else (so they share its
 * transactions and never race it) and the call returns once the row is
 * durable. They block on disk: never call them from the event loop (the
 * CLI does; the daemon only reads). Reads use the reader connection. */
struct paved_service {
    char *sv_name;  /* DNS-1123 label, primary key */
    char *sv_type;  /* api worker cron */
    char *sv_lang;  /* go python typescript */
    char *sv_owner; /* team; NULL: none given */
    char *sv_repo;  /* forge full name "owner/name": matches runs' ru_repo */
    char *sv_url;   /* where the repository lives: the --remote URL or the
                       directory */
    int sv_db, sv_queue;
    int sv_template_version; /* templates/VERSION it was rendered (or last
                                upgraded) with */
    int64_t sv_created_ms, sv_updated_ms; /* 0 on add: now */
};

void paved_service_free(struct paved_service *s); /* NULL is a no-op */
void paved_service_list_free(struct paved_service **list, size_t n);
/* The record is copied. PAVED_EEXISTS when the name is taken (nothing is
 * written), PAVED_EINVAL without a name, type or language,
 * PAVED_EUNAVAILABLE when the store cannot commit. */
int paved_store_service_add(paved_store *st, const struct paved_service *s);
/* PAVED_ENOTFOUND */
int paved_store_service_get(struct paved_service **out, paved_store *st,
                            const char *name);
/* Every service, by name; *out freed with paved_service_list_free(). */
int paved_store_service_list(struct paved_service ***out, size_t *n,
                             paved_store *st);
/* After an upgrade: the template version and sv_updated_ms (now).
 * PAVED_ENOTFOUND. */
int paved_store_service_set_template(paved_store *st, const char *name,
                                     int version);

/* ---- what the catalog's views read about runs --------------------------
 * The newest run of repo in environment env (NULL: runs without one, i.e.
 * pull requests); success_only: the newest that succeeded. Without its
 * steps. PAVED_ENOTFOUND when there is none. */
int paved_store_run_latest(struct paved_run **out, paved_store *st,
                           const char *repo, const char *env, int success_only);
/* Runs created at or after since_ms, and how many of them ended in
 * failure or error. */
int paved_store_run_counts(int64_t *runs, int64_t *failures, paved_store *st,
                           int64_t since_ms);

/* ---- delivery: artifacts, the audit log, approvals ----------------------
 * What progressive delivery (issue 7, docs/delivery.md) keeps. Writes are
 * synchronous through the writer thread, like the catalog's: the delivery
 * steps and the CLI make them, never the event loop. */

/* The artifact a commit built: an image reference with its digest, or for
 * the local driver a content-addressed directory. One per (repo, sha): a
 * rebuild of the same commit replaces it. */
struct paved_artifact {
    int64_t ar_id;
    char *ar_repo;    /* forge full name, as runs' ru_repo */
    char *ar_sha;     /* 40 hex */
    char *ar_service; /* service name (catalog name or the repo's basename) */
    char *ar_kind;    /* "image" or "directory" */
    char *ar_ref;     /* "registry/name@sha256:..." or the directory path */
    char *ar_digest;  /* "sha256:<64 hex>" */
    char *ar_start;   /* directory: the command a version runs; else NULL */
    int64_t ar_run_id;
    int64_t ar_created_ms; /* 0 on put: now */
};

void paved_artifact_free(struct paved_artifact *a); /* NULL is a no-op */
/* Insert or replace by (repo, sha); sets a->ar_id. PAVED_EINVAL without
 * repo, sha, service, kind, ref or digest. */
int paved_store_artifact_put(paved_store *st, struct paved_artifact *a);
/* PAVED_ENOTFOUND */
int paved_store_artifact_get(struct paved_artifact **out, paved_store *st,
                             const char *repo, const char *sha);

/* One line of the audit log: every deploy, canary step, smoke result,
 * promotion, rollback and approval, with who, what, when and why. Rows
 * are only ever added. */
struct paved_deploy_rec {
    int64_t dr_id;
    char *dr_service;      /* required */
    char *dr_env;          /* required */
    char *dr_action;       /* required: deploy canary smoke promote rollback
                              approve */
    char *dr_result;       /* required: ok failed started waiting */
    char *dr_version;      /* "v1.2.3", "sha-0123abc"; NULL for an approval */
    char *dr_sha;          /* commit of the version, or NULL */
    char *dr_repo;         /* or NULL */
    char *dr_artifact;     /* ar_ref, or NULL */
    char *dr_digest;       /* ar_digest, or NULL */
    char *dr_actor;        /* who: "paved (run 12)", a login, $USER */
    char *dr_reason;       /* why, one line; or NULL */
    char *dr_detail;       /* JSON text (an analysis verdict...), or NULL */
    int64_t dr_run_id;     /* 0: not from a run */
    int64_t dr_created_ms; /* 0 on add: now */
};

struct paved_deploy_filter {
    const char *df_service; /* NULL: any */
    const char *df_env;     /* NULL: any */
    const char *df_action;  /* NULL: any */
    const char *df_result;  /* NULL: any */
    const char *df_sha;     /* NULL: any */
    const char *df_digest;  /* NULL: any */
    int64_t df_run_id;      /* 0: any */
    int64_t df_before_id;   /* 0: newest first from the top; else id < */
    size_t df_limit;        /* 0: 50; at most 1000 */
};

void paved_deploy_rec_free(struct paved_deploy_rec *r); /* NULL: no-op */
void paved_deploy_list_free(struct paved_deploy_rec **list, size_t n);
/* Sets r->dr_id (and dr_created_ms when 0). PAVED_EINVAL without service,
 * env, action or result. */
int paved_store_deploy_add(paved_store *st, struct paved_deploy_rec *r);
/* Newest first. */
int paved_store_deploy_list(struct paved_deploy_rec ***out, size_t *n,
                            paved_store *st,
                            const struct paved_deploy_filter *f);

#endif
