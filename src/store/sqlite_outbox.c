/* SQLite backend, the outbox: upserts that make the newest state win,
 * the sent-version bookkeeping, and the reads of the reporter and API.
 * Statements are prepared per call: the outbox sees a few writes a run,
 * not thousands a second. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "paved/error.h"
#include "store/sqlite_int.h"

static int64_t
ob_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
ob_bind_text(sqlite3_stmt *st, int col, const char *s)
{
    if (s != NULL)
        sqlite3_bind_text(st, col, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, col);
}

static int
ob_exec(struct sqlite_conn *sc, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);

    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return sq_fail(sc->sc_db, what);
    return 0;
}

int
sqlite_outbox_put(void *conn, const struct paved_outbox_item *it)
{
    struct sqlite_conn *sc = conn;
    sqlite3_stmt *st = NULL;

    /* a newer state for the same commit and context replaces the older
     * one and is sent again from the first attempt */
    if (sqlite3_prepare_v2(
            sc->sc_db,
            "INSERT INTO outbox (forge, repo, sha, context, state,"
            " description, target_url, run_id, updated_ms, summary, text,"
            " annotations)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT (forge, repo, sha, context) DO UPDATE SET"
            " state = excluded.state, description = excluded.description,"
            " target_url = excluded.target_url, run_id = excluded.run_id,"
            " updated_ms = excluded.updated_ms, version = version + 1,"
            " status = 'pending', attempts = 0, next_ms = 0,"
            " last_error = NULL, summary = excluded.summary,"
            " text = excluded.text, annotations = excluded.annotations,"
            /* annotations already on the check run stay counted only
             * when they are the same ones, on the same run's check */
            " annotations_sent = CASE WHEN run_id = excluded.run_id AND"
            " annotations IS excluded.annotations THEN annotations_sent"
            " ELSE 0 END",
            -1, &st, NULL) != SQLITE_OK)
        return sq_fail(sc->sc_db, "outbox put");
    sqlite3_bind_text(st, 1, it->oi_forge, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, it->oi_repo, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, it->oi_sha, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, it->oi_context, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, it->oi_state, -1, SQLITE_STATIC);
    ob_bind_text(st, 6, it->oi_description);
    ob_bind_text(st, 7, it->oi_target_url);
    sqlite3_bind_int64(st, 8, it->oi_run);
    sqlite3_bind_int64(st, 9, ob_now_ms());
    ob_bind_text(st, 10, it->oi_summary);
    ob_bind_text(st, 11, it->oi_text);
    ob_bind_text(st, 12, it->oi_annotations);
    return ob_exec(sc, st, "outbox put");
}

int
sqlite_outbox_update(void *conn, const struct paved_outbox_item *it)
{
    struct sqlite_conn *sc = conn;
    sqlite3_stmt *st = NULL;
    int sent = it->oi_status != NULL && strcmp(it->oi_status, "sent") == 0;
    int error;

    /* what exists on the forge is recorded whatever happened since */
    if (it->oi_check_run_id > 0) {
        if (sqlite3_prepare_v2(
                sc->sc_db,
                "UPDATE outbox SET check_run_id = ?1, check_run_of = ?2,"
                " annotations_sent = CASE WHEN version = ?3 THEN ?4"
                " ELSE annotations_sent END WHERE id = ?5",
                -1, &st, NULL) != SQLITE_OK)
            return sq_fail(sc->sc_db, "outbox check run");
        sqlite3_bind_int64(st, 1, it->oi_check_run_id);
        sqlite3_bind_int64(st, 2, it->oi_check_run_of);
        sqlite3_bind_int64(st, 3, it->oi_sent_version);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)it->oi_annotations_sent);
        sqlite3_bind_int64(st, 5, it->oi_id);
        if ((error = ob_exec(sc, st, "outbox check run")) < 0)
            return error;
        st = NULL;
    }

    /* Only the version that was sent is settled: a change committed while
     * the request was in flight keeps the row pending. */
    if (sqlite3_prepare_v2(sc->sc_db,
                           sent
                               ? "UPDATE outbox SET sent_version = ?1,"
                                 " status = CASE WHEN version = ?1 THEN 'sent'"
                                 " ELSE 'pending' END, last_error = NULL"
                                 " WHERE id = ?2 AND sent_version < ?1"
                               : "UPDATE outbox SET status = ?3, attempts = ?4,"
                                 " next_ms = ?5, last_error = ?6"
                                 " WHERE id = ?2 AND version = ?1",
                           -1, &st, NULL) != SQLITE_OK)
        return sq_fail(sc->sc_db, "outbox update");
    sqlite3_bind_int64(st, 1, it->oi_sent_version);
    sqlite3_bind_int64(st, 2, it->oi_id);
    if (!sent) {
        ob_bind_text(st, 3, it->oi_status);
        sqlite3_bind_int(st, 4, (int)it->oi_attempts);
        sqlite3_bind_int64(st, 5, it->oi_next_ms);
        ob_bind_text(st, 6, it->oi_last_error);
    }
    return ob_exec(sc, st, "outbox update");
}

int
sqlite_outbox_retry(void *conn, int64_t id)
{
    struct sqlite_conn *sc = conn;
    sqlite3_stmt *st = NULL;

    if (sqlite3_prepare_v2(sc->sc_db,
                           "UPDATE outbox SET status = 'pending', attempts = 0,"
                           " next_ms = 0 WHERE id = ? AND status != 'sent'",
                           -1, &st, NULL) != SQLITE_OK)
        return sq_fail(sc->sc_db, "outbox retry");
    sqlite3_bind_int64(st, 1, id);
    return ob_exec(sc, st, "outbox retry");
}

#define OB_COLUMNS                                                             \
    "id, forge, repo, sha, context, state, description, target_url, run_id, "  \
    "version, sent_version, status, attempts, next_ms, updated_ms, "           \
    "last_error, summary, text, annotations, check_run_id, check_run_of, "     \
    "annotations_sent FROM outbox "

static int
ob_row(struct paved_outbox_item **out, sqlite3_stmt *st)
{
    struct paved_outbox_item *it = calloc(1, sizeof(*it));
    int failed = 0;

    if (it == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    it->oi_id = sqlite3_column_int64(st, 0);
    it->oi_forge = sq_text_or_null(st, 1, &failed);
    it->oi_repo = sq_text_or_null(st, 2, &failed);
    it->oi_sha = sq_text_or_null(st, 3, &failed);
    it->oi_context = sq_text_or_null(st, 4, &failed);
    it->oi_state = sq_text_or_null(st, 5, &failed);
    it->oi_description = sq_text_or_null(st, 6, &failed);
    it->oi_target_url = sq_text_or_null(st, 7, &failed);
    it->oi_run = sqlite3_column_int64(st, 8);
    it->oi_version = sqlite3_column_int64(st, 9);
    it->oi_sent_version = sqlite3_column_int64(st, 10);
    it->oi_status = sq_text_or_null(st, 11, &failed);
    it->oi_attempts = (unsigned)sqlite3_column_int(st, 12);
    it->oi_next_ms = sqlite3_column_int64(st, 13);
    it->oi_updated_ms = sqlite3_column_int64(st, 14);
    it->oi_last_error = sq_text_or_null(st, 15, &failed);
    it->oi_summary = sq_text_or_null(st, 16, &failed);
    it->oi_text = sq_text_or_null(st, 17, &failed);
    it->oi_annotations = sq_text_or_null(st, 18, &failed);
    it->oi_check_run_id = sqlite3_column_int64(st, 19);
    it->oi_check_run_of = sqlite3_column_int64(st, 20);
    it->oi_annotations_sent = (unsigned)sqlite3_column_int64(st, 21);
    if (failed || it->oi_forge == NULL || it->oi_status == NULL) {
        paved_outbox_item_free(it);
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    }
    *out = it;
    return 0;
}

static int
ob_row_slot(void *slot, sqlite3_stmt *st, void *arg)
{
    (void)arg;
    return ob_row(slot, st);
}

int
sqlite_outbox_list(struct paved_outbox_item ***out, size_t *n, void *conn,
                   const char *status, int64_t due_ms, size_t limit)
{
    struct sqlite_conn *sc = conn;
    struct paved_outbox_item **list = NULL;
    sqlite3_stmt *st = NULL;
    size_t count = 0;
    int error = 0;
    const char *sql;

    *out = NULL;
    *n = 0;
    if (limit == 0)
        return 0;
    if (due_ms >= 0 && status != NULL)
        sql = "SELECT " OB_COLUMNS "WHERE status = 'pending' AND next_ms <= ?2"
              " AND forge = ?1 ORDER BY updated_ms, id LIMIT ?3";
    else if (due_ms >= 0)
        sql = "SELECT " OB_COLUMNS "WHERE status = 'pending' AND next_ms <= ?2"
              " ORDER BY updated_ms, id LIMIT ?3";
    else if (status != NULL)
        sql = "SELECT " OB_COLUMNS "WHERE status = ?1"
              " ORDER BY updated_ms DESC, id DESC LIMIT ?3";
    else
        sql = "SELECT " OB_COLUMNS "ORDER BY updated_ms DESC, id DESC LIMIT ?3";
    if (sqlite3_prepare_v2(sc->sc_db, sql, -1, &st, NULL) != SQLITE_OK)
        return sq_fail(sc->sc_db, "list outbox");
    if (status != NULL) /* the status, or with due_ms the forge */
        sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
    if (due_ms >= 0)
        sqlite3_bind_int64(st, 2, due_ms);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)limit);
    if ((list = calloc(limit, sizeof(*list))) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    if ((error = sq_collect(list, sizeof(*list), &count, limit, st, sc->sc_db,
                            "list outbox", ob_row_slot, NULL)) < 0)
        goto out;
    *out = list;
    *n = count;
    list = NULL;
out:
    if (list != NULL)
        paved_outbox_list_free(list, count);
    sqlite3_finalize(st);
    return error;
}

int
sqlite_outbox_get(struct paved_outbox_item **out, void *conn, int64_t id)
{
    struct sqlite_conn *sc = conn;
    sqlite3_stmt *st = NULL;
    int rc, error;

    *out = NULL;
    if (sqlite3_prepare_v2(sc->sc_db, "SELECT " OB_COLUMNS "WHERE id = ?", -1,
                           &st, NULL) != SQLITE_OK)
        return sq_fail(sc->sc_db, "get outbox row");
    sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        error = ob_row(out, st);
    else if (rc == SQLITE_DONE)
        error = paved_error_set(PAVED_ENOTFOUND, "no outbox entry %lld",
                                (long long)id);
    else
        error = sq_fail(sc->sc_db, "get outbox row");
    sqlite3_finalize(st);
    return error;
}
