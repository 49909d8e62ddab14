/* The reporter as a GitHub App: each GitHub outbox row becomes a check
 * run. Before the first one for a repository paved asks GitHub which
 * installation of the App holds it (or takes github_app_installation_id),
 * exchanges the App's JWT for that installation's token (cached by
 * ghapp.c until it nears expiry), then creates the check run and updates
 * it with the row's later states and, 50 at a time, its annotations.
 * Every one of these is a request of the row that needs it, so its
 * failures land on that row like a status's would. Keys and tokens never
 * reach a log line or a message. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "paved/error.h"
#include "report/reporter_int.h"

#define APP_KEY_MAX (64 * 1024)
#define APP_INSTALLS_MAX 4096 /* repositories remembered */
#define APP_SEARCHED_MAX 4096
#define APP_LIST_MAX (8 * 1024 * 1024) /* a list of check runs with output */

bool
rp_app_configured(const struct paved_config *cf)
{
    return cf->cf_github_app_id[0] != '\0' &&
           (cf->cf_github_app_key[0] != '\0' ||
            cf->cf_github_app_key_file[0] != '\0');
}

static int
app_read_key(char **out, size_t *len, const char *path)
{
    FILE *f;
    char *buf;
    size_t n;
    int error = 0;

    *out = NULL;
    if ((f = fopen(path, "rb")) == NULL)
        return paved_error_set(PAVED_EINVAL,
                               "github_app_key_file %s: %s: give the path "
                               "of the App's private key (.pem)",
                               path, strerror(errno));
    if ((buf = malloc(APP_KEY_MAX + 1)) == NULL) {
        fclose(f);
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    }
    n = fread(buf, 1, APP_KEY_MAX + 1, f);
    if (ferror(f))
        error = paved_error_set(PAVED_EINVAL, "github_app_key_file %s: %s",
                                path, strerror(errno));
    else if (n > APP_KEY_MAX)
        error = paved_error_set(PAVED_EINVAL,
                                "github_app_key_file %s: over %d bytes: not "
                                "a private key",
                                path, APP_KEY_MAX);
    fclose(f);
    if (error < 0) {
        explicit_bzero(buf, n < APP_KEY_MAX ? n : APP_KEY_MAX);
        free(buf);
        return error;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

int
rp_app_new(struct paved_reporter *rp)
{
    const struct paved_config *cf = rp->rp_cf;
    char *pem = NULL;
    size_t len = 0;
    int error;

    if (cf->cf_github_app_key[0] != '\0') {
        error = paved_ghapp_new(&rp->rp_app, cf->cf_github_app_id,
                                cf->cf_github_app_key,
                                strlen(cf->cf_github_app_key));
    } else {
        if ((error = app_read_key(&pem, &len, cf->cf_github_app_key_file)) < 0)
            return error;
        error = paved_ghapp_new(&rp->rp_app, cf->cf_github_app_id, pem, len);
        explicit_bzero(pem, len);
        free(pem);
    }
    if (error < 0) {
        char why[512];
        /* the message is formatted into the same buffer: copy it first */
        snprintf(why, sizeof(why), "%s", paved_error_last());
        return paved_error_set(error, "github app: %s", why);
    }
    /* the config checked it: digits, no more than 18 */
    rp->rp_app_inst = cf->cf_github_app_installation_id[0] != '\0'
                          ? strtoll(cf->cf_github_app_installation_id, NULL, 10)
                          : 0;
    return 0;
}

void
rp_app_free(struct paved_reporter *rp)
{
    size_t i;

    paved_ghapp_free(rp->rp_app);
    rp->rp_app = NULL;
    for (i = 0; i < rp->rp_ninstalls; i++)
        free(rp->rp_installs[i].i_repo);
    free(rp->rp_installs);
    rp->rp_installs = NULL;
    rp->rp_ninstalls = 0;
    free(rp->rp_searched);
    rp->rp_searched = NULL;
    rp->rp_nsearched = 0;
}

/* ---- exactly one check run per run ------------------------------------
 * A create whose answer never came (a timeout, a dropped connection, a
 * crash) may have reached GitHub all the same. So before every create
 * paved looks for a check run of that run (its external_id) and adopts
 * it; the "looked, none" mark is used up by the create it allows, so a
 * retried create looks again. */

/* Was the row's run looked for (and is the mark now taken)? */
static bool
app_searched_take(struct paved_reporter *rp, int64_t row, int64_t run)
{
    size_t i;

    for (i = 0; i < rp->rp_nsearched; i++) {
        if (rp->rp_searched[i].s_row == row &&
            rp->rp_searched[i].s_run == run) {
            rp->rp_searched[i] = rp->rp_searched[--rp->rp_nsearched];
            return true;
        }
    }
    return false;
}

static int
app_searched_put(struct paved_reporter *rp, int64_t row, int64_t run)
{
    struct rp_searched *v;

    /* bounded: past the cap the oldest marks go (their rows look again) */
    if (rp->rp_nsearched >= APP_SEARCHED_MAX) {
        memmove(rp->rp_searched, rp->rp_searched + 1,
                (rp->rp_nsearched - 1) * sizeof(*rp->rp_searched));
        rp->rp_nsearched--;
    }
    v = realloc(rp->rp_searched, (rp->rp_nsearched + 1) * sizeof(*v));
    if (v == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    rp->rp_searched = v;
    v[rp->rp_nsearched].s_row = row;
    v[rp->rp_nsearched].s_run = run;
    rp->rp_nsearched++;
    return 0;
}

/* ---- installations -------------------------------------------------- */

static int64_t
app_install_find(const struct paved_reporter *rp, const char *repo)
{
    size_t i;

    if (rp->rp_app_inst > 0)
        return rp->rp_app_inst;
    for (i = 0; i < rp->rp_ninstalls; i++)
        if (strcmp(rp->rp_installs[i].i_repo, repo) == 0)
            return rp->rp_installs[i].i_id;
    return 0;
}

static int
app_install_put(struct paved_reporter *rp, const char *repo, int64_t id)
{
    struct rp_install *v;
    char *copy;
    size_t i;

    for (i = 0; i < rp->rp_ninstalls; i++) {
        if (strcmp(rp->rp_installs[i].i_repo, repo) == 0) {
            rp->rp_installs[i].i_id = id;
            return 0;
        }
    }
    /* bounded memory, not a cache policy: past the cap all are forgotten,
     * and each costs one GET to learn again */
    if (rp->rp_ninstalls >= APP_INSTALLS_MAX)
        while (rp->rp_ninstalls > 0)
            free(rp->rp_installs[--rp->rp_ninstalls].i_repo);
    if ((copy = strdup(repo)) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    v = realloc(rp->rp_installs, (rp->rp_ninstalls + 1) * sizeof(*v));
    if (v == NULL) {
        free(copy);
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    }
    rp->rp_installs = v;
    v[rp->rp_ninstalls].i_repo = copy;
    v[rp->rp_ninstalls].i_id = id;
    rp->rp_ninstalls++;
    return 0;
}

/* The installation is gone (uninstalled, or reinstalled under a new id):
 * every repository learnt under it is asked about again. */
static void
app_install_forget(struct paved_reporter *rp, int64_t id)
{
    size_t i = 0;

    while (i < rp->rp_ninstalls) {
        if (rp->rp_installs[i].i_id == id) {
            free(rp->rp_installs[i].i_repo);
            rp->rp_installs[i] = rp->rp_installs[--rp->rp_ninstalls];
        } else {
            i++;
        }
    }
}

/* Is a lookup for repo (or an exchange for inst) already in flight? Then
 * the row waits for it instead of asking again. */
static bool
app_waiting(const struct paved_reporter *rp, enum rp_kind kind,
            const char *repo, int64_t inst)
{
    const struct rp_req *q;

    for (q = rp->rp_reqs; q != NULL; q = q->q_next) {
        if (q->q_kind != kind)
            continue;
        if (kind == RQ_LOOKUP && strcmp(q->q_it->oi_repo, repo) == 0)
            return true;
        if (kind == RQ_TOKEN && q->q_inst == inst)
            return true;
    }
    return false;
}

/* ---- requests ------------------------------------------------------- */

static int
app_launch(struct paved_reporter *rp, struct rp_req *q, int built)
{
    if (built < 0) {
        rp_unsendable(rp, q->q_it);
        rp_req_free(q);
        return 0;
    }
    return rp_launch(rp, q);
}

int
rp_app_start(struct paved_reporter *rp, struct paved_outbox_item *it)
{
    const char *api = rp->rp_cf->cf_github_api_url;
    int64_t now_s = rp_now_ms() / 1000, inst;
    struct paved_forge_endpoint ep;
    struct paved_check_run cr;
    const char *token = NULL;
    struct rp_req *q;
    char external[24];
    enum rp_kind kind;

    inst = app_install_find(rp, it->oi_repo);
    if (inst == 0)
        kind = RQ_LOOKUP;
    else if (!paved_ghapp_token_cached(&token, rp->rp_app, inst, now_s))
        kind = RQ_TOKEN;
    else
        kind = RQ_CHECK;
    if (kind != RQ_CHECK && app_waiting(rp, kind, it->oi_repo, inst)) {
        paved_outbox_item_free(it); /* due again once that one answered */
        return 0;
    }
    if ((q = rp_req_new(rp, it, RP_GITHUB, kind)) == NULL) {
        paved_outbox_item_free(it);
        return PAVED_ENOMEM;
    }
    q->q_inst = inst;
    if (kind == RQ_LOOKUP)
        return app_launch(rp, q,
                          paved_ghapp_installation_request(
                              &q->q_hr, rp->rp_app, api, it->oi_repo, now_s));
    if (kind == RQ_TOKEN)
        return app_launch(
            rp, q,
            paved_ghapp_token_request(&q->q_hr, rp->rp_app, api, inst, now_s));

    memset(&ep, 0, sizeof(ep));
    ep.fe_kind = PAVED_FORGEAPI_GITHUB;
    ep.fe_api_url = api;
    ep.fe_token = token;
    memset(&cr, 0, sizeof(cr));
    cr.cr_repo = it->oi_repo;
    cr.cr_sha = it->oi_sha;
    cr.cr_name = it->oi_context;
    /* a check run belongs to one run: a new run of the same pipeline on
     * the same commit (a replay) gets its own */
    if (it->oi_check_run_id > 0 && it->oi_check_run_of == it->oi_run)
        cr.cr_id = it->oi_check_run_id;
    else
        it->oi_annotations_sent = 0;
    /* a create: look for one this run may already have, first */
    if (cr.cr_id == 0 && it->oi_run > 0 &&
        !app_searched_take(rp, it->oi_id, it->oi_run)) {
        q->q_kind = RQ_FIND;
        paved_buf_init(&q->q_body, APP_LIST_MAX);
        return app_launch(rp, q,
                          paved_forgeapi_check_find(&q->q_hr, &ep, it->oi_repo,
                                                    it->oi_sha,
                                                    it->oi_context));
    }
    cr.cr_title = it->oi_description;
    cr.cr_summary = it->oi_summary;
    cr.cr_text = it->oi_text;
    cr.cr_details_url = it->oi_target_url;
    if (it->oi_run > 0) {
        snprintf(external, sizeof(external), "%lld", (long long)it->oi_run);
        cr.cr_external_id = external;
    }
    cr.cr_annotations = it->oi_annotations;
    cr.cr_annotations_from = it->oi_annotations_sent;
    if (rp_state(&cr.cr_state, it->oi_state) < 0)
        return app_launch(rp, q,
                          paved_error_set(PAVED_EINVAL,
                                          "outbox row %lld: unknown state %s",
                                          (long long)it->oi_id, it->oi_state));
    q->q_fresh = cr.cr_id == 0;
    return app_launch(
        rp, q, paved_forgeapi_check_run(&q->q_hr, &q->q_nannot, &ep, &cr));
}

/* ---- answers -------------------------------------------------------- */

static size_t
app_annotations_total(const char *json)
{
    json_t *a;
    size_t n;

    if (json == NULL || (a = json_loads(json, 0, NULL)) == NULL)
        return 0;
    n = json_is_array(a) ? json_array_size(a) : 0;
    json_decref(a);
    return n;
}

static void
app_check_done(struct paved_reporter *rp, struct rp_req *q, long status,
               const char *msg)
{
    struct paved_outbox_item *it = q->q_it;
    int64_t id;

    if (!(it->oi_check_run_id > 0 && it->oi_check_run_of == it->oi_run)) {
        /* created: later states update this one */
        if (paved_forgeapi_answer_id(&id, q->q_body.b_ptr, q->q_body.b_len) <
            0) {
            paved_log_kv(rp->rp_log, PAVED_LOG_ERROR,
                         "GitHub created a check run without saying its id: "
                         "the next state creates another",
                         "repo", it->oi_repo, "context", it->oi_context,
                         "error", paved_error_last(), NULL);
            id = 0;
        }
        it->oi_check_run_id = id;
        it->oi_check_run_of = it->oi_run;
    }
    it->oi_annotations_sent += (unsigned)q->q_nannot;
    if (q->q_nannot > 0 && it->oi_check_run_id > 0 &&
        app_annotations_total(it->oi_annotations) > it->oi_annotations_sent)
        rp_progress(rp, q);
    else
        rp_apply(rp, q, PAVED_VERDICT_DONE, 0, msg, status);
}

void
rp_app_finish(struct paved_reporter *rp, struct rp_req *q, long status,
              const struct paved_forge_answer *ans, const char *msg)
{
    struct paved_outbox_item *it = q->q_it;
    enum paved_forge_verdict v = ans->fa_verdict;
    char why[640];
    int64_t id;

    switch (q->q_kind) {
    case RQ_LOOKUP:
        if (v == PAVED_VERDICT_DONE) {
            if (paved_forgeapi_answer_id(&id, q->q_body.b_ptr,
                                         q->q_body.b_len) == 0 &&
                app_install_put(rp, it->oi_repo, id) == 0) {
                paved_reporter_kick(rp); /* the row is still due */
                return;
            }
            v = PAVED_VERDICT_RETRY;
            snprintf(why, sizeof(why),
                     "GitHub's answer names no installation: %s",
                     paved_error_last());
        } else if (status == 404) {
            snprintf(why, sizeof(why),
                     "the GitHub App is not installed on %s (%s): install "
                     "it there, then paved outbox retry %lld",
                     it->oi_repo, msg, (long long)it->oi_id);
        } else if (status == 401) {
            snprintf(why, sizeof(why),
                     "GitHub refused the App's token (%s): check "
                     "github_app_id and the App's private key",
                     msg);
        } else {
            snprintf(why, sizeof(why), "installation lookup: %s", msg);
        }
        rp_apply(rp, q, v, ans->fa_retry_at_ms, why, status);
        return;
    case RQ_TOKEN:
        if (v == PAVED_VERDICT_DONE) {
            if (paved_ghapp_token_store(rp->rp_app, q->q_inst, q->q_body.b_ptr,
                                        q->q_body.b_len) == 0) {
                paved_reporter_kick(rp);
                return;
            }
            v = PAVED_VERDICT_RETRY;
            snprintf(why, sizeof(why), "installation token: %s",
                     paved_error_last());
        } else if (status == 404 && rp->rp_app_inst == 0) {
            /* uninstalled or reinstalled: ask which installation again */
            app_install_forget(rp, q->q_inst);
            v = PAVED_VERDICT_RETRY;
            snprintf(why, sizeof(why),
                     "installation %lld is gone (%s): looking it up again",
                     (long long)q->q_inst, msg);
        } else if (status == 401) {
            snprintf(why, sizeof(why),
                     "GitHub refused the App's token (%s): check "
                     "github_app_id and the App's private key",
                     msg);
        } else {
            snprintf(why, sizeof(why), "installation token %s: %s",
                     status == 404 ? "(github_app_installation_id)" : "", msg);
        }
        rp_apply(rp, q, v, ans->fa_retry_at_ms, why, status);
        return;
    case RQ_FIND:
        if (v == PAVED_VERDICT_DONE) {
            char external[24];
            int found;
            snprintf(external, sizeof(external), "%lld", (long long)it->oi_run);
            found = paved_forgeapi_check_found(&id, q->q_body.b_ptr,
                                               q->q_body.b_len, it->oi_context,
                                               external);
            if (found == 1) {
                /* created before the answer was lost: update that one */
                it->oi_check_run_id = id;
                it->oi_check_run_of = it->oi_run;
                it->oi_annotations_sent = 0;
                rp_progress(rp, q);
                return;
            }
            if (found == 0 &&
                app_searched_put(rp, it->oi_id, it->oi_run) == 0) {
                paved_reporter_kick(rp);
                return;
            }
            v = PAVED_VERDICT_RETRY;
            snprintf(why, sizeof(why), "looking for an earlier check run: %s",
                     paved_error_last());
        } else {
            snprintf(why, sizeof(why), "looking for an earlier check run: %s",
                     msg);
        }
        rp_apply(rp, q, v, ans->fa_retry_at_ms, why, status);
        return;
    case RQ_CHECK:
        if (v == PAVED_VERDICT_DONE) {
            app_check_done(rp, q, status, msg);
            return;
        }
        /* a token revoked or expired early: exchange again, a few times */
        if (status == 401) {
            paved_ghapp_token_forget(rp->rp_app, q->q_inst);
            if (it->oi_attempts < 3)
                v = PAVED_VERDICT_RETRY;
        }
        rp_apply(rp, q, v, ans->fa_retry_at_ms, msg, status);
        return;
    case RQ_STATUS:
        break;
    }
    rp_apply(rp, q, v, ans->fa_retry_at_ms, msg, status);
}
