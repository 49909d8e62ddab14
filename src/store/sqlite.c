/* SQLite backend: WAL with synchronous=FULL, so a COMMIT that returned is
 * on disk. The writer connection owns the schema; readers open the same
 * file read-only and see committed data while the writer works. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "paved/error.h"
#include "store/backend.h"
#include "store/sqlite_int.h"

#define SQLITE_SCHEMA_VERSION 6

/* Each step of the schema's history, applied in order inside one
 * transaction; user_version records how far a database has come. */
static const char *const sqlite_migrations[SQLITE_SCHEMA_VERSION] = {
    "CREATE TABLE deliveries ("
    "  seq INTEGER PRIMARY KEY,"
    "  forge TEXT NOT NULL,"
    "  delivery_id TEXT NOT NULL,"
    "  event TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  received_ms INTEGER NOT NULL,"
    "  event_json TEXT NOT NULL,"
    "  payload BLOB NOT NULL,"
    "  UNIQUE (forge, delivery_id));"
    "CREATE TABLE probe (x BLOB);",
    /* 2: runs and steps; a delivery remembers that it was planned */
    "ALTER TABLE deliveries ADD COLUMN planned INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX deliveries_unplanned ON deliveries (seq)"
    "  WHERE planned = 0;"
    "CREATE TABLE runs ("
    "  id INTEGER PRIMARY KEY,"
    "  delivery_seq INTEGER NOT NULL,"
    "  pipeline TEXT NOT NULL,"
    "  repo TEXT NOT NULL,"
    "  ref TEXT,"
    "  sha TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  env TEXT,"
    "  grp TEXT NOT NULL,"
    "  state TEXT NOT NULL,"
    "  reason TEXT,"
    "  attempt INTEGER NOT NULL,"
    "  requeue_of INTEGER NOT NULL DEFAULT 0,"
    "  created_ms INTEGER NOT NULL,"
    "  started_ms INTEGER NOT NULL DEFAULT 0,"
    "  finished_ms INTEGER NOT NULL DEFAULT 0,"
    "  event_json TEXT NOT NULL);"
    "CREATE INDEX runs_key ON runs (repo, sha, pipeline);"
    "CREATE INDEX runs_delivery ON runs (delivery_seq);"
    "CREATE INDEX runs_active ON runs (id)"
    "  WHERE state IN ('queued', 'running');"
    "CREATE TABLE steps ("
    "  run_id INTEGER NOT NULL,"
    "  idx INTEGER NOT NULL,"
    "  name TEXT NOT NULL,"
    "  state TEXT NOT NULL,"
    "  exit_code INTEGER NOT NULL,"
    "  attempts INTEGER NOT NULL,"
    "  started_ms INTEGER NOT NULL,"
    "  finished_ms INTEGER NOT NULL,"
    "  reason TEXT,"
    "  needs TEXT,"
    "  pid INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (run_id, idx)) WITHOUT ROWID;",
    /* 3: the outbox of forge statuses */
    "CREATE TABLE outbox ("
    "  id INTEGER PRIMARY KEY,"
    "  forge TEXT NOT NULL,"
    "  repo TEXT NOT NULL,"
    "  sha TEXT NOT NULL,"
    "  context TEXT NOT NULL,"
    "  state TEXT NOT NULL,"
    "  description TEXT,"
    "  target_url TEXT,"
    "  run_id INTEGER NOT NULL DEFAULT 0,"
    "  version INTEGER NOT NULL DEFAULT 1,"
    "  sent_version INTEGER NOT NULL DEFAULT 0,"
    "  status TEXT NOT NULL DEFAULT 'pending',"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_ms INTEGER NOT NULL DEFAULT 0,"
    "  updated_ms INTEGER NOT NULL,"
    "  last_error TEXT,"
    "  UNIQUE (forge, repo, sha, context));"
    "CREATE INDEX outbox_due ON outbox (next_ms) WHERE status = 'pending';",
    /* 4: GitHub check runs: their id on the forge, output, annotations */
    "ALTER TABLE outbox ADD COLUMN summary TEXT;"
    "ALTER TABLE outbox ADD COLUMN text TEXT;"
    "ALTER TABLE outbox ADD COLUMN annotations TEXT;"
    "ALTER TABLE outbox ADD COLUMN check_run_id INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE outbox ADD COLUMN check_run_of INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE outbox ADD COLUMN annotations_sent INTEGER NOT NULL"
    "  DEFAULT 0;",
    /* 5: the service catalog. Its views' run reads use runs_key and the
     * rowid, not indexes of their own: every page counts against
     * store_max_size. */
    "CREATE TABLE services ("
    "  name TEXT PRIMARY KEY,"
    "  type TEXT NOT NULL,"
    "  lang TEXT NOT NULL,"
    "  owner TEXT,"
    "  repo TEXT,"
    "  url TEXT,"
    "  db INTEGER NOT NULL DEFAULT 0,"
    "  queue INTEGER NOT NULL DEFAULT 0,"
    "  template_version INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  updated_ms INTEGER NOT NULL) WITHOUT ROWID;",
    /* 6: progressive delivery. The artifact each commit built (a rebuild
     * replaces it in place) and the audit log, which only grows: its
     * indexes serve `paved history` and the API (service, env, newest
     * first) and the release tag's question "did this sha pass staging"
     * (sha, env). IF NOT EXISTS: an older database that somebody took a
     * later table away from (the upgrade tests do) still migrates. */
    "CREATE TABLE IF NOT EXISTS artifacts ("
    "  id INTEGER PRIMARY KEY,"
    "  repo TEXT NOT NULL,"
    "  sha TEXT NOT NULL,"
    "  service TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  ref TEXT NOT NULL,"
    "  digest TEXT NOT NULL,"
    "  start TEXT,"
    "  run_id INTEGER NOT NULL DEFAULT 0,"
    "  created_ms INTEGER NOT NULL,"
    "  UNIQUE (repo, sha));"
    "CREATE TABLE IF NOT EXISTS deployments ("
    "  id INTEGER PRIMARY KEY,"
    "  service TEXT NOT NULL,"
    "  env TEXT NOT NULL,"
    "  action TEXT NOT NULL,"
    "  result TEXT NOT NULL,"
    "  version TEXT,"
    "  sha TEXT,"
    "  repo TEXT,"
    "  artifact TEXT,"
    "  digest TEXT,"
    "  actor TEXT,"
    "  reason TEXT,"
    "  detail TEXT,"
    "  run_id INTEGER NOT NULL DEFAULT 0,"
    "  created_ms INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS deployments_service"
    "  ON deployments (service, env, id);"
    "CREATE INDEX IF NOT EXISTS deployments_sha ON deployments (sha, env);",
};

int
sq_fail(sqlite3 *db, const char *what)
{
    int rc = db != NULL ? sqlite3_extended_errcode(db) : SQLITE_ERROR;
    int code = PAVED_ERROR;

    if ((rc & 0xff) == SQLITE_FULL || (rc & 0xff) == SQLITE_IOERR ||
        (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_READONLY ||
        (rc & 0xff) == SQLITE_CANTOPEN)
        code = PAVED_EUNAVAILABLE;
    return paved_error_set(code, "sqlite: %s: %s", what,
                           db != NULL ? sqlite3_errmsg(db) : "no handle");
}

static int
sqlite_exec(sqlite3 *db, const char *sql, const char *what)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return sq_fail(db, what);
    return 0;
}

static int
sqlite_migrate(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    int version, error = 0;

    if ((error = sqlite_exec(db, "BEGIN IMMEDIATE", "begin migration")) < 0)
        return error;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) !=
            SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        error = sq_fail(db, "read schema version");
        goto out;
    }
    version = sqlite3_column_int(st, 0);
    if (version > SQLITE_SCHEMA_VERSION) {
        error = paved_error_set(
            PAVED_ERROR,
            "sqlite: database schema %d is newer than this paved (%d): "
            "upgrade paved or use another data_dir",
            version, SQLITE_SCHEMA_VERSION);
        goto out;
    }
    for (; version < SQLITE_SCHEMA_VERSION; version++)
        if ((error = sqlite_exec(db, sqlite_migrations[version],
                                 "migrate schema")) < 0)
            goto out;
    {
        char sql[64];
        snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
                 SQLITE_SCHEMA_VERSION);
        if ((error = sqlite_exec(db, sql, "set schema version")) < 0)
            goto out;
    }
    error = sqlite_exec(db, "COMMIT", "commit migration");
out:
    sqlite3_finalize(st);
    if (error < 0)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return error;
}

static int
sqlite_prepare(sqlite3 *db, sqlite3_stmt **st, const char *sql)
{
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) !=
        SQLITE_OK)
        return sq_fail(db, "prepare");
    return 0;
}

static void
sqlite_close(void *arg)
{
    struct sqlite_conn *sc = arg;

    if (sc == NULL)
        return;
    sqlite3_finalize(sc->sc_insert);
    sqlite3_finalize(sc->sc_find);
    sqlite3_finalize(sc->sc_begin);
    sqlite3_finalize(sc->sc_commit);
    sqlite3_finalize(sc->sc_rollback);
    sqlite3_finalize(sc->sc_run_insert);
    sqlite3_finalize(sc->sc_run_save);
    sqlite3_finalize(sc->sc_step_save);
    sqlite3_finalize(sc->sc_run_dup);
    sqlite3_close(sc->sc_db);
    free(sc);
}

static int
sqlite_open(void **out, const struct paved_store_opts *opts, int writer)
{
    struct sqlite_conn *sc = NULL;
    char path[PATH_MAX];
    int flags, error = 0;

    *out = NULL;
    if (snprintf(path, sizeof(path), "%s/paved.db", opts->so_data_dir) >=
        (int)sizeof(path))
        return paved_error_set(PAVED_EUSAGE, "data_dir too long");
    if (writer && mkdir(opts->so_data_dir, 0700) < 0 && errno != EEXIST)
        return paved_error_set(PAVED_EUNAVAILABLE,
                               "create data_dir %s: %s (set PAVED_DATA_DIR "
                               "to a writable directory)",
                               opts->so_data_dir, strerror(errno));
    if ((sc = calloc(1, sizeof(*sc))) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    flags = SQLITE_OPEN_NOMUTEX |
            (writer ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                    : SQLITE_OPEN_READONLY);
    if (sqlite3_open_v2(path, &sc->sc_db, flags, NULL) != SQLITE_OK) {
        error = paved_error_set(PAVED_EUNAVAILABLE, "sqlite: open %s: %s", path,
                                sqlite3_errmsg(sc->sc_db));
        goto out;
    }
    sqlite3_busy_timeout(sc->sc_db, 5000);
    if (writer) {
        /* WAL: readers never block the writer and one fsync of the log
         * makes a commit durable; FULL: that fsync happens every commit. */
        if ((error = sqlite_exec(sc->sc_db, "PRAGMA journal_mode=WAL",
                                 "enable WAL")) < 0 ||
            (error = sqlite_exec(sc->sc_db, "PRAGMA synchronous=FULL",
                                 "set synchronous")) < 0 ||
            (error = sqlite_migrate(sc->sc_db)) < 0)
            goto out;
        if (opts->so_max_size > 0) {
            char sql[96];
            long long pages = (long long)(opts->so_max_size / 4096);
            snprintf(sql, sizeof(sql), "PRAGMA max_page_count=%lld",
                     pages > 0 ? pages : 1);
            if ((error = sqlite_exec(sc->sc_db, sql, "cap size")) < 0)
                goto out;
        }
        if ((error = sqlite_prepare(
                 sc->sc_db, &sc->sc_insert,
                 "INSERT INTO deliveries (forge, delivery_id, event, kind,"
                 " status, received_ms, event_json, payload)"
                 " VALUES (?,?,?,?,?,?,?,?)"
                 " ON CONFLICT (forge, delivery_id) DO NOTHING")) < 0 ||
            (error = sqlite_prepare(sc->sc_db, &sc->sc_begin,
                                    "BEGIN IMMEDIATE")) < 0 ||
            (error = sqlite_prepare(sc->sc_db, &sc->sc_commit, "COMMIT")) < 0 ||
            (error = sqlite_prepare(sc->sc_db, &sc->sc_rollback, "ROLLBACK")) <
                0 ||
            (error = sqlite_prepare(
                 sc->sc_db, &sc->sc_run_insert,
                 "INSERT INTO runs (delivery_seq, pipeline, repo, ref, sha,"
                 " kind, env, grp, state, reason, attempt, requeue_of,"
                 " created_ms, started_ms, finished_ms, event_json)"
                 " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")) < 0 ||
            (error = sqlite_prepare(
                 sc->sc_db, &sc->sc_run_save,
                 "UPDATE runs SET state = ?, reason = ?, attempt = ?,"
                 " started_ms = ?, finished_ms = ?, sha = ? WHERE id = ?")) <
                0 ||
            (error = sqlite_prepare(
                 sc->sc_db, &sc->sc_step_save,
                 "INSERT OR REPLACE INTO steps (run_id, idx, name, state,"
                 " exit_code, attempts, started_ms, finished_ms, reason,"
                 " needs, pid) VALUES (?,?,?,?,?,?,?,?,?,?,?)")) < 0 ||
            (error = sqlite_prepare(
                 sc->sc_db, &sc->sc_run_dup,
                 "SELECT id FROM runs WHERE repo = ? AND sha = ? AND"
                 " pipeline = ? AND (env IS ? OR ? IS NULL)"
                 " ORDER BY id LIMIT 1")) < 0)
            goto out;
    }
    if ((error = sqlite_prepare(sc->sc_db, &sc->sc_find,
                                "SELECT seq FROM deliveries"
                                " WHERE forge = ? AND delivery_id = ?")) < 0)
        goto out;
    *out = sc;
    sc = NULL;
out:
    sqlite_close(sc);
    return error;
}

int
sq_step_done(sqlite3_stmt *st, sqlite3 *db, const char *what)
{
    int rc = sqlite3_step(st);

    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return sq_fail(db, what);
    return 0;
}

static int
sqlite_begin(void *arg)
{
    struct sqlite_conn *sc = arg;
    return sq_step_done(sc->sc_begin, sc->sc_db, "begin");
}

static int
sqlite_commit(void *arg)
{
    struct sqlite_conn *sc = arg;
    return sq_step_done(sc->sc_commit, sc->sc_db, "commit");
}

static void
sqlite_rollback(void *arg)
{
    struct sqlite_conn *sc = arg;

    /* after some errors SQLite has already rolled back: that is fine */
    if (!sqlite3_get_autocommit(sc->sc_db))
        (void)sq_step_done(sc->sc_rollback, sc->sc_db, "rollback");
}

/* 16 KiB, about two large pushes: a full database or disk fails here the
 * way the next delivery would (BEGIN; COMMIT alone writes no page). */
static int
sqlite_probe(void *arg)
{
    struct sqlite_conn *sc = arg;
    int error;

    if ((error = sqlite_begin(sc)) < 0)
        return error;
    if ((error = sqlite_exec(sc->sc_db,
                             "INSERT INTO probe VALUES (zeroblob(16384));"
                             "DELETE FROM probe;",
                             "probe write")) < 0 ||
        (error = sqlite_commit(sc)) < 0) {
        sqlite_rollback(sc);
        return error;
    }
    return 0;
}

static int
sqlite_find(int64_t *seq, struct sqlite_conn *sc, const char *forge,
            const char *id)
{
    sqlite3_stmt *st = sc->sc_find;
    int rc, error = PAVED_ENOTFOUND;

    sqlite3_bind_text(st, 1, forge, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *seq = sqlite3_column_int64(st, 0);
        error = 0;
    } else if (rc != SQLITE_DONE) {
        error = sq_fail(sc->sc_db, "find delivery");
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return error;
}

static int
sqlite_insert_delivery(void *arg, struct paved_delivery *d)
{
    struct sqlite_conn *sc = arg;
    sqlite3_stmt *st = sc->sc_insert;
    int error;

    sqlite3_bind_text(st, 1, d->dl_forge, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, d->dl_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, d->dl_event, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, d->dl_kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, d->dl_status, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, d->dl_received_ms);
    sqlite3_bind_text(st, 7, d->dl_event_json, -1, SQLITE_STATIC);
    sqlite3_bind_blob64(
        st, 8, d->dl_payload ? (const void *)d->dl_payload : (const void *)"",
        d->dl_payload_len, SQLITE_STATIC);
    error = sq_step_done(st, sc->sc_db, "insert delivery");
    sqlite3_clear_bindings(st);
    if (error < 0)
        return error;
    if (sqlite3_changes(sc->sc_db) == 0) {
        /* ON CONFLICT DO NOTHING: the id is there already */
        if ((error = sqlite_find(&d->dl_seq, sc, d->dl_forge, d->dl_id)) < 0)
            return error;
        return PAVED_EEXISTS;
    }
    d->dl_seq = sqlite3_last_insert_rowid(sc->sc_db);
    return 0;
}

char *
sq_text(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return strdup(t != NULL ? (const char *)t : "");
}

char *
sq_text_or_null(sqlite3_stmt *st, int col, int *failed)
{
    char *s;

    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return NULL;
    if ((s = sq_text(st, col)) == NULL)
        *failed = 1;
    return s;
}

int
sq_delivery_row(struct paved_delivery **out, sqlite3_stmt *st, int with_payload)
{
    struct paved_delivery *d;

    if ((d = calloc(1, sizeof(*d))) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    d->dl_seq = sqlite3_column_int64(st, 0);
    d->dl_forge = sq_text(st, 1);
    d->dl_id = sq_text(st, 2);
    d->dl_event = sq_text(st, 3);
    d->dl_kind = sq_text(st, 4);
    d->dl_status = sq_text(st, 5);
    d->dl_received_ms = sqlite3_column_int64(st, 6);
    d->dl_event_json = sq_text(st, 7);
    d->dl_planned = sqlite3_column_int(st, 8);
    if (with_payload) {
        const void *p = sqlite3_column_blob(st, 9);
        int n = sqlite3_column_bytes(st, 9);
        if ((d->dl_payload = malloc((size_t)n + 1)) != NULL) {
            if (n > 0)
                memcpy(d->dl_payload, p, (size_t)n);
            d->dl_payload[n] = '\0';
            d->dl_payload_len = (size_t)n;
        }
    }
    if (d->dl_forge == NULL || d->dl_id == NULL || d->dl_event == NULL ||
        d->dl_kind == NULL || d->dl_status == NULL ||
        d->dl_event_json == NULL || (with_payload && d->dl_payload == NULL)) {
        paved_delivery_free(d);
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    }
    *out = d;
    return 0;
}

int
sq_delivery_slot(void *slot, sqlite3_stmt *st, void *arg)
{
    return sq_delivery_row(slot, st, *(const int *)arg);
}

int
sq_collect(void *list, size_t elem, size_t *count, size_t limit,
           sqlite3_stmt *st, sqlite3 *db, const char *what, sq_row_fn fn,
           void *arg)
{
    int rc = SQLITE_DONE, error;

    *count = 0;
    while (*count < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if ((error = fn((char *)list + *count * elem, st, arg)) < 0)
            return error;
        (*count)++;
    }
    if (*count < limit && rc != SQLITE_DONE)
        return sq_fail(db, what);
    return 0;
}

static int
sqlite_delivery_list(struct paved_delivery ***out, size_t *n, void *arg,
                     size_t limit, int64_t before_seq, int with_payload)
{
    struct sqlite_conn *sc = arg;
    struct paved_delivery **list = NULL;
    sqlite3_stmt *st = NULL;
    size_t count = 0;
    int wp = with_payload, error = 0;

    *out = NULL;
    *n = 0;
    if (limit == 0)
        return 0;
    if (sqlite3_prepare_v2(sc->sc_db,
                           with_payload
                               ? "SELECT " SQLITE_COLUMNS "payload FROM "
                                 "deliveries WHERE seq < ? ORDER BY seq DESC "
                                 "LIMIT ?"
                               : "SELECT " SQLITE_COLUMNS "NULL FROM "
                                 "deliveries WHERE seq < ? ORDER BY seq DESC "
                                 "LIMIT ?",
                           -1, &st, NULL) != SQLITE_OK)
        return sq_fail(sc->sc_db, "list deliveries");
    sqlite3_bind_int64(st, 1, before_seq > 0 ? before_seq : INT64_MAX);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)limit);
    if ((list = calloc(limit, sizeof(*list))) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    if ((error = sq_collect(list, sizeof(*list), &count, limit, st, sc->sc_db,
                            "list deliveries", sq_delivery_slot, &wp)) < 0)
        goto out;
    *out = list;
    *n = count;
    list = NULL;
out:
    if (list != NULL)
        paved_delivery_list_free(list, count);
    sqlite3_finalize(st);
    return error;
}

static int
sqlite_delivery_get(struct paved_delivery **out, void *arg, const char *id,
                    int with_payload)
{
    struct sqlite_conn *sc = arg;
    sqlite3_stmt *st = NULL;
    int rc, error = 0;
    int by_seq = id[0] == '#';

    *out = NULL;
    if (sqlite3_prepare_v2(
            sc->sc_db,
            by_seq ? "SELECT " SQLITE_COLUMNS "payload FROM deliveries "
                     "WHERE seq = ?"
                   : "SELECT " SQLITE_COLUMNS "payload FROM deliveries "
                     "WHERE delivery_id = ? ORDER BY seq LIMIT 1",
            -1, &st, NULL) != SQLITE_OK)
        return sq_fail(sc->sc_db, "get delivery");
    if (by_seq) {
        char *end;
        long long seq = strtoll(id + 1, &end, 10);
        if (id[1] == '\0' || *end != '\0' || seq <= 0) {
            error = paved_error_set(PAVED_EINVAL,
                                    "bad delivery sequence \"%s\"", id);
            goto out;
        }
        sqlite3_bind_int64(st, 1, seq);
    } else {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        error = sq_delivery_row(out, st, with_payload);
    else if (rc == SQLITE_DONE)
        error = paved_error_set(PAVED_ENOTFOUND, "no delivery \"%s\"", id);
    else
        error = sq_fail(sc->sc_db, "get delivery");
out:
    sqlite3_finalize(st);
    return error;
}

static int
sqlite_delivery_count(int64_t *out, void *arg)
{
    struct sqlite_conn *sc = arg;
    sqlite3_stmt *st = NULL;
    int error = 0;

    /* Deliveries are never deleted and a rolled-back insert leaves no row,
     * so seqs run 1..n and the newest is the count: an index lookup, where
     * count(*) would read the whole table at every start. Retention will
     * need a count kept in a row instead. */
    if (sqlite3_prepare_v2(sc->sc_db,
                           "SELECT coalesce(max(seq), 0) FROM deliveries", -1,
                           &st, NULL) != SQLITE_OK)
        return sq_fail(sc->sc_db, "count deliveries");
    if (sqlite3_step(st) == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    else
        error = sq_fail(sc->sc_db, "count deliveries");
    sqlite3_finalize(st);
    return error;
}

const struct store_backend store_backend_sqlite = {
    .sb_name = "sqlite",
    .sb_open = sqlite_open,
    .sb_close = sqlite_close,
    .sb_begin = sqlite_begin,
    .sb_insert_delivery = sqlite_insert_delivery,
    .sb_commit = sqlite_commit,
    .sb_probe = sqlite_probe,
    .sb_rollback = sqlite_rollback,
    .sb_delivery_list = sqlite_delivery_list,
    .sb_delivery_get = sqlite_delivery_get,
    .sb_delivery_count = sqlite_delivery_count,
    .sb_plan = sqlite_plan,
    .sb_run_save = sqlite_run_save,
    .sb_step_save = sqlite_step_save,
    .sb_delivery_unplanned = sqlite_delivery_unplanned,
    .sb_run_list = sqlite_run_list,
    .sb_run_get = sqlite_run_get,
    .sb_outbox_put = sqlite_outbox_put,
    .sb_outbox_update = sqlite_outbox_update,
    .sb_outbox_retry = sqlite_outbox_retry,
    .sb_outbox_list = sqlite_outbox_list,
    .sb_outbox_get = sqlite_outbox_get,
    .sb_service_add = sqlite_service_add,
    .sb_service_set_template = sqlite_service_set_template,
    .sb_service_get = sqlite_service_get,
    .sb_service_list = sqlite_service_list,
    .sb_run_latest = sqlite_run_latest,
    .sb_run_counts = sqlite_run_counts,
    .sb_artifact_put = sqlite_artifact_put,
    .sb_artifact_get = sqlite_artifact_get,
    .sb_deploy_add = sqlite_deploy_add,
    .sb_deploy_list = sqlite_deploy_list,
};
