#ifndef PAVED_REPORTER_INT_H
#define PAVED_REPORTER_INT_H
/* The reporter's insides, shared by its engine (reporter.c: libcurl multi
 * on the loop, passes over the outbox, verdicts to the store) and its
 * GitHub App part (app.c: installations, tokens, check runs). Nothing
 * outside src/report includes this. */
#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>

#include "paved/buf.h"
#include "paved/forgeapi.h"
#include "paved/ghapp.h"
#include "paved/reporter.h"

#define RP_MAX_ANSWER (64 * 1024)
#define RP_PACE_MAX 80 /* GitHub: content-creating requests a minute */

enum { RP_GITHUB = 0, RP_GITEA, RP_GITLAB, RP__FORGES };

struct rp_forge {
    struct paved_forge_endpoint f_ep;
    bool f_on;
    int64_t f_blocked_until;     /* rate limited: nothing before this */
    int64_t f_sent[RP_PACE_MAX]; /* ring of recent send times */
    unsigned f_sent_next;
};

/* What a request is for. All but RQ_STATUS exist only with an App. */
enum rp_kind {
    RQ_STATUS = 0, /* a commit status */
    RQ_LOOKUP,     /* which installation holds q_it's repository */
    RQ_TOKEN,      /* an installation token for q_inst */
    RQ_FIND,       /* a check run this run may already have */
    RQ_CHECK       /* a check run: create or update */
};

struct rp_req {
    struct rp_req *q_next;
    struct paved_reporter *q_rp;
    CURL *q_easy;
    struct curl_slist *q_hdrs;
    struct paved_http_request q_hr;
    struct paved_outbox_item *q_it; /* the row this request serves */
    int q_forge;
    enum rp_kind q_kind;
    int64_t q_inst;  /* RQ_TOKEN, RQ_CHECK: the installation */
    size_t q_nannot; /* RQ_CHECK: annotations carried */
    bool q_fresh;    /* a create: on a new connection (see rp_launch) */
    struct paved_buf q_head;
    struct paved_buf q_body;
    char q_err[CURL_ERROR_SIZE];
};

/* A row whose verdict is on its way to the store: until that commits,
 * the store still shows it due, and a pass must not send it again. */
struct rp_settle {
    struct rp_settle *t_next;
    struct paved_reporter *t_rp;
    int64_t t_id;
};

/* a row whose run has no check run on GitHub: looked for, may create */
struct rp_searched {
    int64_t s_row, s_run;
};

/* repository -> installation, learnt from GitHub */
struct rp_install {
    char *i_repo;
    int64_t i_id;
};

struct paved_reporter {
    struct paved_reporter_deps rp_deps;
    const struct paved_config *rp_cf;
    struct event_base *rp_base;
    paved_store *rp_store;
    paved_log *rp_log;
    CURLM *rp_multi;
    struct event *rp_curl_timer;
    struct event *rp_pass_ev; /* deferred pass (kick) */
    struct event *rp_poll_ev; /* periodic pass */
    struct rp_req *rp_reqs;   /* in flight */
    struct rp_settle *rp_settling;
    size_t rp_inflight;
    struct rp_forge rp_forges[RP__FORGES];
    unsigned rp_seed; /* jitter */
    /* GitHub App (NULL: GitHub gets commit statuses) */
    paved_ghapp *rp_app;
    int64_t rp_app_inst; /* github_app_installation_id, 0: look up */
    struct rp_install *rp_installs;
    size_t rp_ninstalls;
    struct rp_searched *rp_searched;
    size_t rp_nsearched;
};

/* reporter.c */
int64_t rp_now_ms(void);
/* "pending" .. "cancelled" to the forge API's state; PAVED_EINVAL. */
int rp_state(enum paved_status_state *out, const char *s);
/* Sends q (its q_hr built) on the multi handle; on error q is freed. */
int rp_launch(struct paved_reporter *rp, struct rp_req *q);
struct rp_req *rp_req_new(struct paved_reporter *rp,
                          struct paved_outbox_item *it, int forge,
                          enum rp_kind kind);
void rp_req_free(struct rp_req *q);
/* Record a verdict on q's row: the forge's answer or paved's own. */
void rp_apply(struct paved_reporter *rp, struct rp_req *q,
              enum paved_forge_verdict v, int64_t retry_at_ms, const char *msg,
              long status);
/* The row needs another request for the same version (more annotations). */
void rp_progress(struct paved_reporter *rp, struct rp_req *q);
/* A row paved itself cannot turn into a request: failed, never retried. */
void rp_unsendable(struct paved_reporter *rp, struct paved_outbox_item *it);

/* app.c */
bool rp_app_configured(const struct paved_config *cf);
int rp_app_new(struct paved_reporter *rp);
void rp_app_free(struct paved_reporter *rp);
/* Starts the next request row `it` needs (lookup, token or the check run
 * itself); takes `it`. Returns 0 (also when a request it waits for is
 * already in flight), or an error. */
int rp_app_start(struct paved_reporter *rp, struct paved_outbox_item *it);
/* Judges q's answer (an App request) and records it. */
void rp_app_finish(struct paved_reporter *rp, struct rp_req *q, long status,
                   const struct paved_forge_answer *ans, const char *msg);

#endif
