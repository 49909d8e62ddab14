/* SQLite backend, progressive delivery: the artifact each commit built
 * (one row per repo and sha, a rebuild replaces it in place) and the audit
 * log of deployments (rows are only ever added). Writes run inside the
 * writer's transaction. Never validates: delivery.c checked the record
 * before it was queued. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "paved/buf.h"
#include "paved/error.h"
#include "store/sqlite_int.h"

#define SQ_ARTIFACT_COLUMNS                                                    \
    "id, repo, sha, service, kind, ref, digest, start, run_id, created_ms "    \
    "FROM artifacts "

#define SQ_DEPLOY_COLUMNS                                                      \
    "id, service, env, action, result, version, sha, repo, artifact, "         \
    "digest, actor, reason, detail, run_id, created_ms FROM deployments "

#define SQ_DEPLOY_MAX_LIMIT 1000

static void
sq_bind_opt(sqlite3_stmt *st, int col, const char *s)
{
    if (s != NULL)
        sqlite3_bind_text(st, col, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, col);
}

int
sqlite_artifact_put(void *conn, struct paved_artifact *a)
{
    struct sqlite_conn *sc = conn;
    sqlite3_stmt *st = NULL;
    int rc, error = 0;

    /* an upsert, not INSERT OR REPLACE: the row keeps its id, so an id
     * somebody saw before a rebuild still names this commit's artifact */
    if (sqlite3_prepare_v2(sc->sc_db,
                           "INSERT INTO artifacts (repo, sha, service, kind,"
                           " ref, digest, start, run_id, created_ms)"
                           " VALUES (?,?,?,?,?,?,?,?,?)"
                           " ON CONFLICT (repo, sha) DO UPDATE SET"
                           " service = excluded.service,"
                           " kind = excluded.kind, ref = excluded.ref,"
                           " digest = excluded.digest,"
                           " start = excluded.start,"
                           " run_id = excluded.run_id,"
                           " created_ms = excluded.created_ms"
                           " RETURNING id",
                           -1, &st, NULL) != SQLITE_OK)
        return sq_fail(sc->sc_db, "put artifact");
    sqlite3_bind_text(st, 1, a->ar_repo, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, a->ar_sha, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, a->ar_service, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, a->ar_kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, a->ar_ref, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, a->ar_digest, -1, SQLITE_STATIC);
    sq_bind_opt(st, 7, a->ar_start);
    sqlite3_bind_int64(st, 8, a->ar_run_id);
    sqlite3_bind_int64(st, 9, a->ar_created_ms);
    if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        a->ar_id = sqlite3_column_int64(st, 0);
        rc = sqlite3_step(st);
    }
    if (rc != SQLITE_DONE)
        error = sq_fail(sc->sc_db, "put artifact");
    sqlite3_finalize(st);
    return error;
}

static int
sq_artifact_row(struct paved_artifact **out, sqlite3_stmt *st)
{
    struct paved_artifact *a;
    int failed = 0;

    if ((a = calloc(1, sizeof(*a))) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    a->ar_id = sqlite3_column_int64(st, 0);
    a->ar_repo = sq_text_or_null(st, 1, &failed);
    a->ar_sha = sq_text_or_null(st, 2, &failed);
    a->ar_service = sq_text_or_null(st, 3, &failed);
    a->ar_kind = sq_text_or_null(st, 4, &failed);
    a->ar_ref = sq_text_or_null(st, 5, &failed);
    a->ar_digest = sq_text_or_null(st, 6, &failed);
    a->ar_start = sq_text_or_null(st, 7, &failed);
    a->ar_run_id = sqlite3_column_int64(st, 8);
    a->ar_created_ms = sqlite3_column_int64(st, 9);
    if (failed) {
        paved_artifact_free(a);
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    }
    *out = a;
    return 0;
}

int
sqlite_artifact_get(struct paved_artifact **out, void *conn, const char *repo,
                    const char *sha)
{
    struct sqlite_conn *sc = conn;
    sqlite3_stmt *st = NULL;
    int rc, error;

    *out = NULL;
    if (sqlite3_prepare_v2(sc->sc_db,
                           "SELECT " SQ_ARTIFACT_COLUMNS
                           "WHERE repo = ? AND sha = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return sq_fail(sc->sc_db, "get artifact");
    sqlite3_bind_text(st, 1, repo, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, sha, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        error = sq_artifact_row(out, st);
    else if (rc == SQLITE_DONE)
        error = paved_error_set(PAVED_ENOTFOUND,
                                "no artifact recorded for %s at %s", repo, sha);
    else
        error = sq_fail(sc->sc_db, "get artifact");
    sqlite3_finalize(st);
    return error;
}

int
sqlite_deploy_add(void *conn, struct paved_deploy_rec *r)
{
    struct sqlite_conn *sc = conn;
    sqlite3_stmt *st = NULL;
    int error;

    if (sqlite3_prepare_v2(sc->sc_db,
                           "INSERT INTO deployments (service, env, action,"
                           " result, version, sha, repo, artifact, digest,"
                           " actor, reason, detail, run_id, created_ms)"
                           " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                           -1, &st, NULL) != SQLITE_OK)
        return sq_fail(sc->sc_db, "add deployment");
    sqlite3_bind_text(st, 1, r->dr_service, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, r->dr_env, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, r->dr_action, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, r->dr_result, -1, SQLITE_STATIC);
    sq_bind_opt(st, 5, r->dr_version);
    sq_bind_opt(st, 6, r->dr_sha);
    sq_bind_opt(st, 7, r->dr_repo);
    sq_bind_opt(st, 8, r->dr_artifact);
    sq_bind_opt(st, 9, r->dr_digest);
    sq_bind_opt(st, 10, r->dr_actor);
    sq_bind_opt(st, 11, r->dr_reason);
    sq_bind_opt(st, 12, r->dr_detail);
    sqlite3_bind_int64(st, 13, r->dr_run_id);
    sqlite3_bind_int64(st, 14, r->dr_created_ms);
    error = sq_step_done(st, sc->sc_db, "add deployment");
    sqlite3_finalize(st);
    if (error == 0)
        r->dr_id = sqlite3_last_insert_rowid(sc->sc_db);
    return error;
}

static int
sq_deploy_slot(void *slot, sqlite3_stmt *st, void *arg)
{
    struct paved_deploy_rec *r;
    int failed = 0;

    (void)arg;
    if ((r = calloc(1, sizeof(*r))) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    r->dr_id = sqlite3_column_int64(st, 0);
    r->dr_service = sq_text_or_null(st, 1, &failed);
    r->dr_env = sq_text_or_null(st, 2, &failed);
    r->dr_action = sq_text_or_null(st, 3, &failed);
    r->dr_result = sq_text_or_null(st, 4, &failed);
    r->dr_version = sq_text_or_null(st, 5, &failed);
    r->dr_sha = sq_text_or_null(st, 6, &failed);
    r->dr_repo = sq_text_or_null(st, 7, &failed);
    r->dr_artifact = sq_text_or_null(st, 8, &failed);
    r->dr_digest = sq_text_or_null(st, 9, &failed);
    r->dr_actor = sq_text_or_null(st, 10, &failed);
    r->dr_reason = sq_text_or_null(st, 11, &failed);
    r->dr_detail = sq_text_or_null(st, 12, &failed);
    r->dr_run_id = sqlite3_column_int64(st, 13);
    r->dr_created_ms = sqlite3_column_int64(st, 14);
    if (failed) {
        paved_deploy_rec_free(r);
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    }
    *(struct paved_deploy_rec **)slot = r;
    return 0;
}

int
sqlite_deploy_list(struct paved_deploy_rec ***out, size_t *n, void *conn,
                   const struct paved_deploy_filter *f)
{
    struct sqlite_conn *sc = conn;
    struct paved_deploy_rec **list = NULL;
    struct paved_buf sql = PAVED_BUF_INIT(4096);
    /* the text filters, in the order their placeholders are bound */
    const char *const texts[] = {f->df_service, f->df_env, f->df_action,
                                 f->df_result,  f->df_sha, f->df_digest};
    static const char *const where[] = {" AND service = ?", " AND env = ?",
                                        " AND action = ?",  " AND result = ?",
                                        " AND sha = ?",     " AND digest = ?"};
    sqlite3_stmt *st = NULL;
    size_t count = 0, limit = f->df_limit > 0 ? f->df_limit : 50, k;
    int col = 1, error = 0;

    *out = NULL;
    *n = 0;
    if (limit > SQ_DEPLOY_MAX_LIMIT)
        limit = SQ_DEPLOY_MAX_LIMIT;
    if ((error = paved_buf_puts(&sql, "SELECT " SQ_DEPLOY_COLUMNS "WHERE 1")) <
        0)
        goto out;
    for (k = 0; k < sizeof(texts) / sizeof(texts[0]); k++)
        if (texts[k] != NULL && (error = paved_buf_puts(&sql, where[k])) < 0)
            goto out;
    if (f->df_run_id > 0 &&
        (error = paved_buf_puts(&sql, " AND run_id = ?")) < 0)
        goto out;
    if (f->df_before_id > 0 &&
        (error = paved_buf_puts(&sql, " AND id < ?")) < 0)
        goto out;
    if ((error = paved_buf_puts(&sql, " ORDER BY id DESC LIMIT ?")) < 0)
        goto out;
    if (sqlite3_prepare_v2(sc->sc_db, sql.b_ptr, -1, &st, NULL) != SQLITE_OK) {
        error = sq_fail(sc->sc_db, "list deployments");
        goto out;
    }
    for (k = 0; k < sizeof(texts) / sizeof(texts[0]); k++)
        if (texts[k] != NULL)
            sqlite3_bind_text(st, col++, texts[k], -1, SQLITE_STATIC);
    if (f->df_run_id > 0)
        sqlite3_bind_int64(st, col++, f->df_run_id);
    if (f->df_before_id > 0)
        sqlite3_bind_int64(st, col++, f->df_before_id);
    sqlite3_bind_int64(st, col, (sqlite3_int64)limit);
    if ((list = calloc(limit, sizeof(*list))) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    if ((error = sq_collect(list, sizeof(*list), &count, limit, st, sc->sc_db,
                            "list deployments", sq_deploy_slot, NULL)) < 0)
        goto out;
    *out = list;
    *n = count;
    list = NULL;
out:
    if (list != NULL)
        paved_deploy_list_free(list, count);
    sqlite3_finalize(st);
    paved_buf_dispose(&sql);
    return error;
}
