/* SQLite backend, the service catalog: one row per service paved made.
 * Writes run inside the writer's transaction; an existing name or a
 * missing service is an answer (PAVED_EEXISTS, PAVED_ENOTFOUND) that
 * writes nothing and leaves the batch usable. Never validates names: the
 * scaffold did that before it rendered anything. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "paved/error.h"
#include "store/sqlite_int.h"

#define SQ_SERVICE_COLUMNS                                                     \
    "name, type, lang, owner, repo, url, db, queue, template_version, "        \
    "created_ms, updated_ms FROM services "

static void
sq_bind_opt(sqlite3_stmt *st, int col, const char *s)
{
    if (s != NULL)
        sqlite3_bind_text(st, col, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, col);
}

int
sqlite_service_add(void *conn, const struct paved_service *s)
{
    struct sqlite_conn *sc = conn;
    sqlite3_stmt *st = NULL;
    int error;

    if (sqlite3_prepare_v2(sc->sc_db,
                           "INSERT INTO services (name, type, lang, owner,"
                           " repo, url, db, queue, template_version,"
                           " created_ms, updated_ms)"
                           " VALUES (?,?,?,?,?,?,?,?,?,?,?)"
                           " ON CONFLICT (name) DO NOTHING",
                           -1, &st, NULL) != SQLITE_OK)
        return sq_fail(sc->sc_db, "add service");
    sqlite3_bind_text(st, 1, s->sv_name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, s->sv_type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, s->sv_lang, -1, SQLITE_STATIC);
    sq_bind_opt(st, 4, s->sv_owner);
    sq_bind_opt(st, 5, s->sv_repo);
    sq_bind_opt(st, 6, s->sv_url);
    sqlite3_bind_int(st, 7, s->sv_db != 0);
    sqlite3_bind_int(st, 8, s->sv_queue != 0);
    sqlite3_bind_int(st, 9, s->sv_template_version);
    sqlite3_bind_int64(st, 10, s->sv_created_ms);
    sqlite3_bind_int64(st, 11, s->sv_updated_ms);
    error = sq_step_done(st, sc->sc_db, "add service");
    sqlite3_finalize(st);
    if (error == 0 && sqlite3_changes(sc->sc_db) == 0)
        error = paved_error_set(PAVED_EEXISTS,
                                "a service named \"%s\" is in the catalog "
                                "already",
                                s->sv_name);
    return error;
}

int
sqlite_service_set_template(void *conn, const char *name, int version,
                            int64_t now_ms)
{
    struct sqlite_conn *sc = conn;
    sqlite3_stmt *st = NULL;
    int error;

    if (sqlite3_prepare_v2(sc->sc_db,
                           "UPDATE services SET template_version = ?,"
                           " updated_ms = ? WHERE name = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return sq_fail(sc->sc_db, "update service");
    sqlite3_bind_int(st, 1, version);
    sqlite3_bind_int64(st, 2, now_ms);
    sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
    error = sq_step_done(st, sc->sc_db, "update service");
    sqlite3_finalize(st);
    if (error == 0 && sqlite3_changes(sc->sc_db) == 0)
        error = paved_error_set(PAVED_ENOTFOUND,
                                "no service \"%s\" in the catalog", name);
    return error;
}

static int
sq_service_row(struct paved_service **out, sqlite3_stmt *st)
{
    struct paved_service *s;
    int failed = 0;

    if ((s = calloc(1, sizeof(*s))) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    s->sv_name = sq_text_or_null(st, 0, &failed);
    s->sv_type = sq_text_or_null(st, 1, &failed);
    s->sv_lang = sq_text_or_null(st, 2, &failed);
    s->sv_owner = sq_text_or_null(st, 3, &failed);
    s->sv_repo = sq_text_or_null(st, 4, &failed);
    s->sv_url = sq_text_or_null(st, 5, &failed);
    s->sv_db = sqlite3_column_int(st, 6);
    s->sv_queue = sqlite3_column_int(st, 7);
    s->sv_template_version = sqlite3_column_int(st, 8);
    s->sv_created_ms = sqlite3_column_int64(st, 9);
    s->sv_updated_ms = sqlite3_column_int64(st, 10);
    if (failed) {
        paved_service_free(s);
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    }
    *out = s;
    return 0;
}

int
sqlite_service_get(struct paved_service **out, void *conn, const char *name)
{
    struct sqlite_conn *sc = conn;
    sqlite3_stmt *st = NULL;
    int rc, error;

    *out = NULL;
    if (sqlite3_prepare_v2(sc->sc_db,
                           "SELECT " SQ_SERVICE_COLUMNS "WHERE name = ?", -1,
                           &st, NULL) != SQLITE_OK)
        return sq_fail(sc->sc_db, "get service");
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        error = sq_service_row(out, st);
    else if (rc == SQLITE_DONE)
        error = paved_error_set(PAVED_ENOTFOUND,
                                "no service \"%s\" in the catalog", name);
    else
        error = sq_fail(sc->sc_db, "get service");
    sqlite3_finalize(st);
    return error;
}

int
sqlite_service_list(struct paved_service ***out, size_t *n, void *conn)
{
    struct sqlite_conn *sc = conn;
    struct paved_service **list = NULL;
    sqlite3_stmt *st = NULL;
    size_t count = 0, cap = 0;
    int rc, error = 0;

    *out = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(sc->sc_db,
                           "SELECT " SQ_SERVICE_COLUMNS "ORDER BY name", -1,
                           &st, NULL) != SQLITE_OK)
        return sq_fail(sc->sc_db, "list services");
    /* the catalog is the platform's services, not an event stream: all
     * of it, in an array that grows */
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (count == cap) {
            size_t ncap = cap > 0 ? cap * 2 : 16;
            void *p = realloc(list, ncap * sizeof(*list));
            if (p == NULL) {
                error = paved_error_set(PAVED_ENOMEM, "out of memory");
                goto out;
            }
            list = p;
            cap = ncap;
        }
        if ((error = sq_service_row(&list[count], st)) < 0)
            goto out;
        count++;
    }
    if (rc != SQLITE_DONE) {
        error = sq_fail(sc->sc_db, "list services");
        goto out;
    }
    *out = list;
    *n = count;
    list = NULL;
out:
    if (list != NULL)
        paved_service_list_free(list, count);
    sqlite3_finalize(st);
    return error;
}
