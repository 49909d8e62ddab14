/* SQLite backend, runs and steps: the plan transaction (dedup and the
 * delivery's "planned" mark together), state saves, and the reads the
 * API and crash recovery need. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "paved/buf.h"
#include "paved/error.h"
#include "store/sqlite_int.h"

static void
sq_bind_text_or_null(sqlite3_stmt *st, int col, const char *s)
{
    if (s != NULL)
        sqlite3_bind_text(st, col, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, col);
}

/* the id of an existing run this one duplicates, or 0 */
static int
sq_run_dup(int64_t *out, struct sqlite_conn *sc, const struct paved_run *r)
{
    sqlite3_stmt *st = sc->sc_run_dup;
    int rc, error = 0;

    *out = 0;
    sqlite3_bind_text(st, 1, r->ru_repo, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, r->ru_sha, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, r->ru_pipeline, -1, SQLITE_STATIC);
    sq_bind_text_or_null(st, 4, r->ru_env);
    sq_bind_text_or_null(st, 5, r->ru_env);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    else if (rc != SQLITE_DONE)
        error = sq_fail(sc->sc_db, "find duplicate run");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return error;
}

static int
sq_run_insert(struct sqlite_conn *sc, struct paved_run *r)
{
    sqlite3_stmt *st = sc->sc_run_insert;
    int error;

    sqlite3_bind_int64(st, 1, r->ru_delivery_seq);
    sqlite3_bind_text(st, 2, r->ru_pipeline, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, r->ru_repo, -1, SQLITE_STATIC);
    sq_bind_text_or_null(st, 4, r->ru_ref);
    sqlite3_bind_text(st, 5, r->ru_sha, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, r->ru_kind, -1, SQLITE_STATIC);
    sq_bind_text_or_null(st, 7, r->ru_env);
    sqlite3_bind_text(st, 8, r->ru_group, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, paved_run_state_name(r->ru_state), -1,
                      SQLITE_STATIC);
    sq_bind_text_or_null(st, 10, r->ru_reason);
    sqlite3_bind_int(st, 11, (int)r->ru_attempt);
    sqlite3_bind_int64(st, 12, r->ru_requeue_of);
    sqlite3_bind_int64(st, 13, r->ru_created_ms);
    sqlite3_bind_int64(st, 14, r->ru_started_ms);
    sqlite3_bind_int64(st, 15, r->ru_finished_ms);
    sqlite3_bind_text(st, 16, r->ru_event_json, -1, SQLITE_STATIC);
    error = sq_step_done(st, sc->sc_db, "insert run");
    sqlite3_clear_bindings(st);
    if (error == 0)
        r->ru_id = sqlite3_last_insert_rowid(sc->sc_db);
    return error;
}

static int
sq_delivery_planned(int *planned, struct sqlite_conn *sc, int64_t seq)
{
    sqlite3_stmt *st = NULL;
    int rc, error = 0;

    if (sqlite3_prepare_v2(sc->sc_db,
                           "SELECT planned FROM deliveries WHERE seq = ?", -1,
                           &st, NULL) != SQLITE_OK)
        return sq_fail(sc->sc_db, "read delivery");
    sqlite3_bind_int64(st, 1, seq);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *planned = sqlite3_column_int(st, 0);
    else if (rc == SQLITE_DONE)
        error = paved_error_set(PAVED_ENOTFOUND, "no delivery #%lld",
                                (long long)seq);
    else
        error = sq_fail(sc->sc_db, "read delivery");
    sqlite3_finalize(st);
    return error;
}

int
sqlite_plan(void *conn, struct paved_store_plan *plan)
{
    struct sqlite_conn *sc = conn;
    sqlite3_stmt *st = NULL;
    int planned = 0, error;
    size_t i;

    if (plan->pp_delivery_seq > 0) {
        if ((error = sq_delivery_planned(&planned, sc, plan->pp_delivery_seq)) <
            0)
            return error == PAVED_ENOTFOUND ? 0 : error;
        if (planned && !plan->pp_force)
            return PAVED_EEXISTS;
    }
    for (i = 0; i < plan->pp_nruns; i++) {
        struct paved_run *r = plan->pp_runs[i];
        r->ru_id = 0;
        r->ru_dup_of = 0;
        if (r->ru_delivery_seq == 0)
            r->ru_delivery_seq = plan->pp_delivery_seq;
        if (!plan->pp_force && (error = sq_run_dup(&r->ru_dup_of, sc, r)) < 0)
            return error;
        if (r->ru_dup_of == 0 && (error = sq_run_insert(sc, r)) < 0)
            return error;
    }
    for (i = 0; i < plan->pp_nupdates; i++)
        if ((error = sqlite_run_save(sc, plan->pp_updates[i])) < 0)
            return error;
    if (plan->pp_delivery_seq > 0 && !planned) {
        if (sqlite3_prepare_v2(sc->sc_db,
                               "UPDATE deliveries SET planned = 1"
                               " WHERE seq = ?",
                               -1, &st, NULL) != SQLITE_OK)
            return sq_fail(sc->sc_db, "mark delivery planned");
        sqlite3_bind_int64(st, 1, plan->pp_delivery_seq);
        error = sq_step_done(st, sc->sc_db, "mark delivery planned");
        sqlite3_finalize(st);
        if (error < 0)
            return error;
    }
    return 0;
}

int
sqlite_run_save(void *conn, const struct paved_run *r)
{
    struct sqlite_conn *sc = conn;
    sqlite3_stmt *st = sc->sc_run_save;
    int error;

    sqlite3_bind_text(st, 1, paved_run_state_name(r->ru_state), -1,
                      SQLITE_STATIC);
    sq_bind_text_or_null(st, 2, r->ru_reason);
    sqlite3_bind_int(st, 3, (int)r->ru_attempt);
    sqlite3_bind_int64(st, 4, r->ru_started_ms);
    sqlite3_bind_int64(st, 5, r->ru_finished_ms);
    sqlite3_bind_text(st, 6, r->ru_sha, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, r->ru_id);
    error = sq_step_done(st, sc->sc_db, "save run");
    sqlite3_clear_bindings(st);
    return error;
}

int
sqlite_step_save(void *conn, const struct paved_step_rec *s)
{
    struct sqlite_conn *sc = conn;
    sqlite3_stmt *st = sc->sc_step_save;
    int error;

    sqlite3_bind_int64(st, 1, s->sr_run);
    sqlite3_bind_int(st, 2, (int)s->sr_index);
    sqlite3_bind_text(st, 3, s->sr_name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, paved_run_state_name(s->sr_state), -1,
                      SQLITE_STATIC);
    sqlite3_bind_int(st, 5, s->sr_exit);
    sqlite3_bind_int(st, 6, (int)s->sr_attempts);
    sqlite3_bind_int64(st, 7, s->sr_started_ms);
    sqlite3_bind_int64(st, 8, s->sr_finished_ms);
    sq_bind_text_or_null(st, 9, s->sr_reason);
    sq_bind_text_or_null(st, 10, s->sr_needs);
    sqlite3_bind_int(st, 11, s->sr_pid);
    error = sq_step_done(st, sc->sc_db, "save step");
    sqlite3_clear_bindings(st);
    return error;
}

int
sqlite_delivery_unplanned(struct paved_delivery ***out, size_t *n, void *conn,
                          size_t limit, int64_t after_seq)
{
    struct sqlite_conn *sc = conn;
    struct paved_delivery **list = NULL;
    sqlite3_stmt *st = NULL;
    size_t count = 0;
    int no_payload = 0, error = 0;

    *out = NULL;
    *n = 0;
    if (limit == 0)
        return 0;
    if (sqlite3_prepare_v2(sc->sc_db,
                           "SELECT " SQLITE_COLUMNS "NULL FROM deliveries"
                           " WHERE planned = 0 AND seq > ?"
                           " AND status = 'queued' ORDER BY seq LIMIT ?",
                           -1, &st, NULL) != SQLITE_OK)
        return sq_fail(sc->sc_db, "list unplanned deliveries");
    sqlite3_bind_int64(st, 1, after_seq);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)limit);
    if ((list = calloc(limit, sizeof(*list))) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    if ((error = sq_collect(list, sizeof(*list), &count, limit, st, sc->sc_db,
                            "list unplanned deliveries", sq_delivery_slot,
                            &no_payload)) < 0)
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

#define SQ_RUN_COLUMNS                                                         \
    "r.id, r.delivery_seq, d.delivery_id, r.pipeline, r.repo, r.ref, r.sha, "  \
    "r.kind, r.env, r.grp, r.state, r.reason, r.attempt, r.requeue_of, "       \
    "r.created_ms, r.started_ms, r.finished_ms, r.event_json "                 \
    "FROM runs r LEFT JOIN deliveries d ON d.seq = r.delivery_seq "

static int
sq_run_row(struct paved_run **out, sqlite3_stmt *st)
{
    struct paved_run *r;
    int failed = 0;
    const unsigned char *state;

    if ((r = calloc(1, sizeof(*r))) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    r->ru_id = sqlite3_column_int64(st, 0);
    r->ru_delivery_seq = sqlite3_column_int64(st, 1);
    r->ru_delivery_id = sq_text_or_null(st, 2, &failed);
    r->ru_pipeline = sq_text_or_null(st, 3, &failed);
    r->ru_repo = sq_text_or_null(st, 4, &failed);
    r->ru_ref = sq_text_or_null(st, 5, &failed);
    r->ru_sha = sq_text_or_null(st, 6, &failed);
    r->ru_kind = sq_text_or_null(st, 7, &failed);
    r->ru_env = sq_text_or_null(st, 8, &failed);
    r->ru_group = sq_text_or_null(st, 9, &failed);
    state = sqlite3_column_text(st, 10);
    if (state == NULL ||
        paved_run_state_from_name(&r->ru_state, (const char *)state) < 0)
        r->ru_state = PAVED_RUN_ERROR;
    r->ru_reason = sq_text_or_null(st, 11, &failed);
    r->ru_attempt = (unsigned)sqlite3_column_int(st, 12);
    r->ru_requeue_of = sqlite3_column_int64(st, 13);
    r->ru_created_ms = sqlite3_column_int64(st, 14);
    r->ru_started_ms = sqlite3_column_int64(st, 15);
    r->ru_finished_ms = sqlite3_column_int64(st, 16);
    r->ru_event_json = sq_text_or_null(st, 17, &failed);
    if (failed) {
        paved_run_free(r);
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    }
    *out = r;
    return 0;
}

static int
sq_run_slot(void *slot, sqlite3_stmt *st, void *arg)
{
    (void)arg;
    return sq_run_row(slot, st);
}

int
sqlite_run_list(struct paved_run ***out, size_t *n, void *conn,
                const struct paved_run_filter *f)
{
    struct sqlite_conn *sc = conn;
    struct paved_run **list = NULL;
    struct paved_buf sql = PAVED_BUF_INIT(4096);
    sqlite3_stmt *st = NULL;
    size_t count = 0, limit = f->rf_limit > 0 ? f->rf_limit : 50;
    char sha_like[128];
    int col = 1, error = 0;

    *out = NULL;
    *n = 0;
    if ((error = paved_buf_puts(&sql, "SELECT " SQ_RUN_COLUMNS "WHERE 1")) < 0)
        goto out;
    if (f->rf_repo != NULL &&
        (error = paved_buf_puts(&sql, " AND r.repo = ?")) < 0)
        goto out;
    if (f->rf_sha != NULL &&
        (error = paved_buf_puts(&sql, " AND r.sha LIKE ?")) < 0)
        goto out;
    if (f->rf_state >= 0 &&
        (error = paved_buf_puts(&sql, " AND r.state = ?")) < 0)
        goto out;
    if (f->rf_active &&
        (error =
             paved_buf_puts(&sql, " AND r.state IN ('queued', 'running')")) < 0)
        goto out;
    if (f->rf_delivery_seq > 0 &&
        (error = paved_buf_puts(&sql, " AND r.delivery_seq = ?")) < 0)
        goto out;
    if (f->rf_before_id > 0 &&
        (error = paved_buf_puts(&sql, " AND r.id < ?")) < 0)
        goto out;
    if ((error = paved_buf_puts(&sql, f->rf_oldest_first
                                          ? " ORDER BY r.id LIMIT ?"
                                          : " ORDER BY r.id DESC LIMIT ?")) < 0)
        goto out;
    if (sqlite3_prepare_v2(sc->sc_db, sql.b_ptr, -1, &st, NULL) != SQLITE_OK) {
        error = sq_fail(sc->sc_db, "list runs");
        goto out;
    }
    if (f->rf_repo != NULL)
        sqlite3_bind_text(st, col++, f->rf_repo, -1, SQLITE_STATIC);
    if (f->rf_sha != NULL) {
        /* a hex prefix: LIKE wildcards cannot come from it */
        snprintf(sha_like, sizeof(sha_like), "%s%%", f->rf_sha);
        sqlite3_bind_text(st, col++, sha_like, -1, SQLITE_STATIC);
    }
    if (f->rf_state >= 0)
        sqlite3_bind_text(
            st, col++, paved_run_state_name((enum paved_run_state)f->rf_state),
            -1, SQLITE_STATIC);
    if (f->rf_delivery_seq > 0)
        sqlite3_bind_int64(st, col++, f->rf_delivery_seq);
    if (f->rf_before_id > 0)
        sqlite3_bind_int64(st, col++, f->rf_before_id);
    sqlite3_bind_int64(st, col, (sqlite3_int64)limit);
    if ((list = calloc(limit, sizeof(*list))) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    if ((error = sq_collect(list, sizeof(*list), &count, limit, st, sc->sc_db,
                            "list runs", sq_run_slot, NULL)) < 0)
        goto out;
    *out = list;
    *n = count;
    list = NULL;
out:
    if (list != NULL)
        paved_run_list_free(list, count);
    sqlite3_finalize(st);
    paved_buf_dispose(&sql);
    return error;
}

static int
sq_run_steps(struct paved_run *r, struct sqlite_conn *sc)
{
    sqlite3_stmt *st = NULL;
    int rc, failed = 0, error = 0;
    size_t cap = 0;

    if (sqlite3_prepare_v2(sc->sc_db,
                           "SELECT idx, name, state, exit_code, attempts,"
                           " started_ms, finished_ms, reason, needs, pid"
                           " FROM steps WHERE run_id = ? ORDER BY idx",
                           -1, &st, NULL) != SQLITE_OK)
        return sq_fail(sc->sc_db, "list steps");
    sqlite3_bind_int64(st, 1, r->ru_id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct paved_step_rec *s;
        const unsigned char *state;
        if (r->ru_nsteps == cap) {
            size_t ncap = cap > 0 ? cap * 2 : 8;
            void *p = realloc(r->ru_steps, ncap * sizeof(*r->ru_steps));
            if (p == NULL) {
                error = paved_error_set(PAVED_ENOMEM, "out of memory");
                goto out;
            }
            r->ru_steps = p;
            cap = ncap;
        }
        s = &r->ru_steps[r->ru_nsteps++];
        memset(s, 0, sizeof(*s));
        s->sr_run = r->ru_id;
        s->sr_index = (unsigned)sqlite3_column_int(st, 0);
        s->sr_name = sq_text_or_null(st, 1, &failed);
        state = sqlite3_column_text(st, 2);
        if (state == NULL ||
            paved_run_state_from_name(&s->sr_state, (const char *)state) < 0)
            s->sr_state = PAVED_RUN_ERROR;
        s->sr_exit = sqlite3_column_int(st, 3);
        s->sr_attempts = (unsigned)sqlite3_column_int(st, 4);
        s->sr_started_ms = sqlite3_column_int64(st, 5);
        s->sr_finished_ms = sqlite3_column_int64(st, 6);
        s->sr_reason = sq_text_or_null(st, 7, &failed);
        s->sr_needs = sq_text_or_null(st, 8, &failed);
        s->sr_pid = sqlite3_column_int(st, 9);
        if (failed) {
            error = paved_error_set(PAVED_ENOMEM, "out of memory");
            goto out;
        }
    }
    if (rc != SQLITE_DONE)
        error = sq_fail(sc->sc_db, "list steps");
out:
    sqlite3_finalize(st);
    return error;
}

int
sqlite_run_get(struct paved_run **out, void *conn, int64_t id)
{
    struct sqlite_conn *sc = conn;
    sqlite3_stmt *st = NULL;
    struct paved_run *r = NULL;
    int rc, error = 0;

    *out = NULL;
    if (sqlite3_prepare_v2(sc->sc_db, "SELECT " SQ_RUN_COLUMNS "WHERE r.id = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return sq_fail(sc->sc_db, "get run");
    sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        error = sq_run_row(&r, st);
    else if (rc == SQLITE_DONE)
        error = paved_error_set(PAVED_ENOTFOUND, "no run %lld", (long long)id);
    else
        error = sq_fail(sc->sc_db, "get run");
    sqlite3_finalize(st);
    if (error == 0 && (error = sq_run_steps(r, sc)) == 0) {
        *out = r;
        r = NULL;
    }
    paved_run_free(r);
    return error;
}

int
sqlite_run_latest(struct paved_run **out, void *conn, const char *repo,
                  const char *env, int success_only)
{
    struct sqlite_conn *sc = conn;
    sqlite3_stmt *st = NULL;
    int rc, error = 0;

    *out = NULL;
    /* runs_key (repo, ...) narrows it to the repository's runs */
    if (sqlite3_prepare_v2(sc->sc_db,
                           success_only ? "SELECT " SQ_RUN_COLUMNS
                                          "WHERE r.repo = ? AND r.env IS ?"
                                          " AND r.state = 'success'"
                                          " ORDER BY r.id DESC LIMIT 1"
                                        : "SELECT " SQ_RUN_COLUMNS
                                          "WHERE r.repo = ? AND r.env IS ?"
                                          " ORDER BY r.id DESC LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK)
        return sq_fail(sc->sc_db, "latest run");
    sqlite3_bind_text(st, 1, repo, -1, SQLITE_STATIC);
    sq_bind_text_or_null(st, 2, env);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        error = sq_run_row(out, st);
    else if (rc == SQLITE_DONE)
        error = paved_error_set(PAVED_ENOTFOUND, "no run of %s in %s", repo,
                                env != NULL ? env : "no environment");
    else
        error = sq_fail(sc->sc_db, "latest run");
    sqlite3_finalize(st);
    return error;
}

int
sqlite_run_counts(int64_t *runs, int64_t *failures, void *conn,
                  int64_t since_ms)
{
    struct sqlite_conn *sc = conn;
    sqlite3_stmt *st = NULL;
    int error = 0;

    *runs = *failures = 0;
    /* Runs get their ids in creation order, so the window is a range of
     * rowids: the inner query walks back from the newest run to the first
     * one older than since_ms, and the count reads only the rows after it
     * (no index on created_ms, whose pages would count against
     * store_max_size). A run whose clock went backwards across the
     * boundary can be missed; that is all. */
    if (sqlite3_prepare_v2(sc->sc_db,
                           "SELECT count(*), coalesce(sum(state IN"
                           " ('failure', 'error')), 0) FROM runs"
                           " WHERE id > coalesce((SELECT id FROM runs"
                           " WHERE created_ms < ?1 ORDER BY id DESC"
                           " LIMIT 1), 0) AND created_ms >= ?1",
                           -1, &st, NULL) != SQLITE_OK)
        return sq_fail(sc->sc_db, "count runs");
    sqlite3_bind_int64(st, 1, since_ms);
    if (sqlite3_step(st) == SQLITE_ROW) {
        *runs = sqlite3_column_int64(st, 0);
        *failures = sqlite3_column_int64(st, 1);
    } else {
        error = sq_fail(sc->sc_db, "count runs");
    }
    sqlite3_finalize(st);
    return error;
}
