/* The store's writer thread and its two queues (redis's bio idea).
 *
 * The event loop submits jobs; the writer takes everything waiting (up to
 * a batch), runs it in one transaction, commits (one fsync for the lot),
 * then moves the jobs to the done queue and wakes the loop through an
 * eventfd. Callbacks run on the loop thread in paved_store_complete(), so
 * the loop never waits on disk and nothing is answered before it is
 * durable. Catalog and delivery writes (the CLI, the delivery steps) are
 * synchronous: the caller waits on a condition variable until the writer
 * has committed its job. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "paved/error.h"
#include "paved/store.h"
#include "store/backend.h"

enum store_job_kind {
    STORE_JOB_DELIVERY,
    STORE_JOB_PROBE,
    STORE_JOB_PLAN,
    STORE_JOB_RUN,
    STORE_JOB_STEP,
    STORE_JOB_OUTBOX_UPDATE,
    STORE_JOB_OUTBOX_RETRY,
    STORE_JOB_SERVICE_ADD,
    STORE_JOB_SERVICE_TEMPLATE,
    STORE_JOB_ARTIFACT_PUT,
    STORE_JOB_DEPLOY_ADD
};

struct store_job {
    struct store_job *j_next;
    enum store_job_kind j_kind;
    struct paved_delivery *j_delivery;
    struct paved_store_plan *j_plan;
    struct paved_run *j_run;
    struct paved_step_rec *j_step;
    struct paved_outbox_item **j_items; /* run saves: rows to upsert */
    size_t j_nitems;
    struct paved_service *j_service;   /* catalog writes */
    struct paved_artifact *j_artifact; /* delivery writes */
    struct paved_deploy_rec *j_deploy;
    int64_t j_id;
    int j_sync;     /* a caller waits: never goes to the done queue */
    int j_finished; /* sync jobs: set under st_lock once committed */
    paved_store_plan_cb j_plan_cb;
    paved_store_cb j_cb;
    void *j_arg;
    struct paved_store_done j_done;
    char j_msg[256]; /* the writer's error, copied off its thread */
};

struct store_queue {
    struct store_job *q_head;
    struct store_job **q_tail;
};

struct paved_store {
    const struct store_backend *st_be;
    void *st_writer; /* used by the writer thread only */
    void *st_reader; /* used by the loop thread only */
    unsigned st_batch;
    int st_efd;
    pthread_t st_thread;
    int st_started;
    pthread_mutex_t st_lock; /* guards everything below */
    pthread_cond_t st_cond;
    pthread_cond_t st_sync_cond; /* a synchronous job finished */
    struct store_queue st_in;
    struct store_queue st_done;
    size_t st_pending;
    int st_stop;
};

static void
queue_init(struct store_queue *q)
{
    q->q_head = NULL;
    q->q_tail = &q->q_head;
}

static void
queue_push(struct store_queue *q, struct store_job *j)
{
    j->j_next = NULL;
    *q->q_tail = j;
    q->q_tail = &j->j_next;
}

static void
job_free(struct store_job *j)
{
    if (j == NULL)
        return;
    paved_delivery_free(j->j_delivery);
    paved_store_plan_free(j->j_plan);
    paved_run_free(j->j_run);
    paved_step_rec_dispose(j->j_step);
    free(j->j_step);
    paved_outbox_list_free(j->j_items, j->j_nitems);
    paved_service_free(j->j_service);
    paved_artifact_free(j->j_artifact);
    paved_deploy_rec_free(j->j_deploy);
    free(j);
}

static void
job_free_list(struct store_job *j)
{
    while (j != NULL) {
        struct store_job *next = j->j_next;
        job_free(j);
        j = next;
    }
}

void
paved_delivery_free(struct paved_delivery *d)
{
    if (d == NULL)
        return;
    free(d->dl_forge);
    free(d->dl_id);
    free(d->dl_event);
    free(d->dl_kind);
    free(d->dl_status);
    free(d->dl_event_json);
    free(d->dl_payload);
    free(d);
}

void
paved_delivery_list_free(struct paved_delivery **list, size_t n)
{
    size_t i;

    if (list == NULL)
        return;
    for (i = 0; i < n; i++)
        paved_delivery_free(list[i]);
    free(list);
}

static double
store_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
store_run_probes(struct paved_store *st, struct store_job *batch)
{
    struct store_job *j;
    int error;

    for (j = batch; j != NULL; j = j->j_next) {
        if (j->j_kind != STORE_JOB_PROBE)
            continue;
        j->j_msg[0] = '\0';
        j->j_done.sd_result = 0;
        if ((error = st->st_be->sb_probe(st->st_writer)) < 0) {
            j->j_done.sd_result = PAVED_EUNAVAILABLE;
            snprintf(j->j_msg, sizeof(j->j_msg), "%s", paved_error_last());
        }
    }
}

static void
store_fail_batch(struct store_job *batch, int error, double secs, size_t n)
{
    const char *msg = paved_error_last();
    struct store_job *j;

    for (j = batch; j != NULL; j = j->j_next) {
        if (j->j_plan != NULL) {
            /* the inserts were rolled back: no run has an id */
            size_t i;
            for (i = 0; i < j->j_plan->pp_nruns; i++)
                j->j_plan->pp_runs[i]->ru_id = 0;
            j->j_plan->pp_result = PAVED_EUNAVAILABLE;
            snprintf(j->j_plan->pp_msg, sizeof(j->j_plan->pp_msg), "%s", msg);
        }
        j->j_done.sd_result =
            error == PAVED_EUNAVAILABLE ? error : PAVED_EUNAVAILABLE;
        j->j_done.sd_seq = 0;
        j->j_done.sd_commit_secs = secs;
        j->j_done.sd_batch = n;
        snprintf(j->j_msg, sizeof(j->j_msg), "%s", msg);
    }
}

/* One transaction for every delivery in the batch. A failure anywhere
 * fails all of them: none was committed, so each is answered 503 and
 * redelivered. Probes run afterwards, each in its own transaction, so
 * that a probe can never spoil a batch of deliveries. */
static void
store_run_batch(struct paved_store *st, struct store_job *batch, size_t n)
{
    double t0 = store_now();
    struct store_job *j;
    size_t i;
    int error = 0, any = 0;

    for (j = batch; j != NULL; j = j->j_next)
        any |= j->j_kind != STORE_JOB_PROBE;
    if (any && (error = st->st_be->sb_begin(st->st_writer)) < 0)
        goto fail;
    for (j = batch; any && j != NULL; j = j->j_next) {
        j->j_done.sd_result = 0;
        switch (j->j_kind) {
        case STORE_JOB_PROBE:
            continue;
        case STORE_JOB_DELIVERY:
            error = st->st_be->sb_insert_delivery(st->st_writer, j->j_delivery);
            j->j_done.sd_seq = j->j_delivery->dl_seq;
            if (error == PAVED_EEXISTS) {
                j->j_done.sd_result = PAVED_EEXISTS;
                error = 0;
            }
            break;
        case STORE_JOB_PLAN:
            error = st->st_be->sb_plan(st->st_writer, j->j_plan);
            j->j_plan->pp_result = error == PAVED_EEXISTS ? error : 0;
            if (error == PAVED_EEXISTS)
                error = 0;
            else
                for (i = 0; error == 0 && i < j->j_plan->pp_nitems; i++)
                    error = st->st_be->sb_outbox_put(st->st_writer,
                                                     j->j_plan->pp_items[i]);
            break;
        case STORE_JOB_RUN:
            if (j->j_run != NULL)
                error = st->st_be->sb_run_save(st->st_writer, j->j_run);
            for (i = 0; error == 0 && i < j->j_nitems; i++)
                error = st->st_be->sb_outbox_put(st->st_writer, j->j_items[i]);
            break;
        case STORE_JOB_OUTBOX_UPDATE:
            error = st->st_be->sb_outbox_update(st->st_writer, j->j_items[0]);
            break;
        case STORE_JOB_OUTBOX_RETRY:
            error = st->st_be->sb_outbox_retry(st->st_writer, j->j_id);
            break;
        case STORE_JOB_STEP:
            error = st->st_be->sb_step_save(st->st_writer, j->j_step);
            for (i = 0; error == 0 && i < j->j_nitems; i++)
                error = st->st_be->sb_outbox_put(st->st_writer, j->j_items[i]);
            break;
        case STORE_JOB_SERVICE_ADD:
        case STORE_JOB_SERVICE_TEMPLATE:
            error = j->j_kind == STORE_JOB_SERVICE_ADD
                        ? st->st_be->sb_service_add(st->st_writer, j->j_service)
                        : st->st_be->sb_service_set_template(
                              st->st_writer, j->j_service->sv_name,
                              j->j_service->sv_template_version,
                              j->j_service->sv_updated_ms);
            /* a taken or missing name is the caller's answer, written
             * nowhere: the rest of the batch goes on */
            if (error == PAVED_EEXISTS || error == PAVED_ENOTFOUND) {
                j->j_done.sd_result = error;
                snprintf(j->j_msg, sizeof(j->j_msg), "%s", paved_error_last());
                error = 0;
            }
            break;
        case STORE_JOB_ARTIFACT_PUT:
            error = st->st_be->sb_artifact_put(st->st_writer, j->j_artifact);
            break;
        case STORE_JOB_DEPLOY_ADD:
            error = st->st_be->sb_deploy_add(st->st_writer, j->j_deploy);
            break;
        }
        if (error < 0) {
            st->st_be->sb_rollback(st->st_writer);
            goto fail;
        }
    }
    if (any && (error = st->st_be->sb_commit(st->st_writer)) < 0) {
        st->st_be->sb_rollback(st->st_writer);
        goto fail;
    }
    for (j = batch; j != NULL; j = j->j_next) {
        j->j_done.sd_commit_secs = store_now() - t0;
        j->j_done.sd_batch = n;
    }
    store_run_probes(st, batch);
    return;
fail:
    store_fail_batch(batch, error, store_now() - t0, n);
    store_run_probes(st, batch);
}

static void *
store_writer_main(void *arg)
{
    struct paved_store *st = arg;
    struct store_job *batch, *last, *j;
    uint64_t one = 1;
    size_t n;

    pthread_mutex_lock(&st->st_lock);
    for (;;) {
        while (st->st_in.q_head == NULL && !st->st_stop)
            pthread_cond_wait(&st->st_cond, &st->st_lock);
        if (st->st_in.q_head == NULL)
            break; /* stopping, and everything submitted is done */
        /* take up to st_batch jobs off the front */
        batch = last = st->st_in.q_head;
        for (n = 1; n < st->st_batch && last->j_next != NULL; n++)
            last = last->j_next;
        st->st_in.q_head = last->j_next;
        if (st->st_in.q_head == NULL)
            st->st_in.q_tail = &st->st_in.q_head;
        last->j_next = NULL;
        pthread_mutex_unlock(&st->st_lock);

        store_run_batch(st, batch, n);

        pthread_mutex_lock(&st->st_lock);
        for (j = batch; j != NULL;) {
            struct store_job *next = j->j_next;
            /* a sync job belongs to its waiting caller from here on */
            if (j->j_sync)
                j->j_finished = 1;
            else
                queue_push(&st->st_done, j);
            j = next;
        }
        st->st_pending -= n;
        pthread_cond_broadcast(&st->st_sync_cond);
        pthread_mutex_unlock(&st->st_lock);
        /* a full eventfd counter cannot happen (2^64 - 1 wakes) */
        while (write(st->st_efd, &one, sizeof(one)) < 0 && errno == EINTR)
            ;
        pthread_mutex_lock(&st->st_lock);
    }
    pthread_mutex_unlock(&st->st_lock);
    return NULL;
}

static int
store_backend_for(const struct store_backend **out, const char *spec)
{
    if (spec == NULL || spec[0] == '\0' || strcmp(spec, "sqlite") == 0) {
        *out = &store_backend_sqlite;
        return 0;
    }
    if (strncmp(spec, "postgres://", 11) == 0 ||
        strncmp(spec, "postgresql://", 13) == 0)
        return paved_error_set(
            PAVED_EUSAGE,
            "store: the PostgreSQL backend is not built yet; it comes with "
            "several instances sharing one queue. Use store: sqlite");
    return paved_error_set(PAVED_EUSAGE,
                           "store: unknown \"%s\" (use sqlite or a "
                           "postgres:// URL)",
                           spec);
}

int
paved_store_open(paved_store **out, const struct paved_store_opts *opts)
{
    struct paved_store *st = NULL;
    int error;

    *out = NULL;
    if ((st = calloc(1, sizeof(*st))) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    st->st_efd = -1;
    queue_init(&st->st_in);
    queue_init(&st->st_done);
    pthread_mutex_init(&st->st_lock, NULL);
    pthread_cond_init(&st->st_cond, NULL);
    pthread_cond_init(&st->st_sync_cond, NULL);
    st->st_batch = opts->so_batch > 0 ? opts->so_batch : 512;
    if ((error = store_backend_for(&st->st_be, opts->so_spec)) < 0)
        goto out;
    /* the writer first: it creates the file and the schema */
    if ((error = st->st_be->sb_open(&st->st_writer, opts, 1)) < 0 ||
        (error = st->st_be->sb_open(&st->st_reader, opts, 0)) < 0)
        goto out;
    if ((st->st_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
        error = paved_error_set(PAVED_ERROR, "eventfd: %s", strerror(errno));
        goto out;
    }
    if (pthread_create(&st->st_thread, NULL, store_writer_main, st) != 0) {
        error = paved_error_set(PAVED_ERROR, "start store writer thread");
        goto out;
    }
    st->st_started = 1;
    *out = st;
    st = NULL;
out:
    paved_store_close(st);
    return error;
}

void
paved_store_close(paved_store *st)
{
    if (st == NULL)
        return;
    if (st->st_started) {
        pthread_mutex_lock(&st->st_lock);
        st->st_stop = 1;
        pthread_cond_signal(&st->st_cond);
        pthread_mutex_unlock(&st->st_lock);
        pthread_join(st->st_thread, NULL);
    }
    job_free_list(st->st_in.q_head);
    job_free_list(st->st_done.q_head);
    if (st->st_be != NULL) {
        st->st_be->sb_close(st->st_writer);
        st->st_be->sb_close(st->st_reader);
    }
    if (st->st_efd >= 0)
        close(st->st_efd);
    pthread_cond_destroy(&st->st_cond);
    pthread_cond_destroy(&st->st_sync_cond);
    pthread_mutex_destroy(&st->st_lock);
    free(st);
}

static int
store_enqueue(paved_store *st, struct store_job *j)
{
    int stopped;

    pthread_mutex_lock(&st->st_lock);
    stopped = st->st_stop;
    if (!stopped) {
        queue_push(&st->st_in, j);
        st->st_pending++;
        pthread_cond_signal(&st->st_cond);
    }
    pthread_mutex_unlock(&st->st_lock);
    if (stopped) {
        job_free(j);
        return paved_error_set(PAVED_EUNAVAILABLE, "store is closing");
    }
    return 0;
}

static struct store_job *
store_job_new(enum store_job_kind kind, paved_store_cb cb, void *arg)
{
    struct store_job *j = calloc(1, sizeof(*j));

    if (j == NULL)
        return NULL;
    j->j_kind = kind;
    j->j_cb = cb;
    j->j_arg = arg;
    return j;
}

int
paved_store_submit(paved_store *st, struct paved_delivery *d, paved_store_cb cb,
                   void *arg)
{
    struct store_job *j;

    if ((j = store_job_new(STORE_JOB_DELIVERY, cb, arg)) == NULL) {
        paved_delivery_free(d);
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    }
    j->j_delivery = d;
    return store_enqueue(st, j);
}

int
paved_store_probe(paved_store *st, paved_store_cb cb, void *arg)
{
    struct store_job *j;

    if ((j = store_job_new(STORE_JOB_PROBE, cb, arg)) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    return store_enqueue(st, j);
}

int
paved_store_plan(paved_store *st, struct paved_store_plan *plan,
                 paved_store_plan_cb cb, void *arg)
{
    struct store_job *j;

    if ((j = store_job_new(STORE_JOB_PLAN, NULL, arg)) == NULL) {
        paved_store_plan_free(plan);
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    }
    j->j_plan = plan;
    j->j_plan_cb = cb;
    return store_enqueue(st, j);
}

int
paved_store_run_save(paved_store *st, const struct paved_run *r)
{
    struct store_job *j;
    int error;

    if ((j = store_job_new(STORE_JOB_RUN, NULL, NULL)) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    if ((error = paved_run_copy(&j->j_run, r, 0)) < 0) {
        job_free(j);
        return error;
    }
    return store_enqueue(st, j);
}

static int
store_item_copy(struct paved_outbox_item **out,
                const struct paved_outbox_item *src)
{
    struct paved_outbox_item *c = calloc(1, sizeof(*c));
    int failed = 0;

    *out = c;
    if (c == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    *c = *src;
#define DUP(f)                                                                 \
    do {                                                                       \
        c->f = src->f != NULL ? strdup(src->f) : NULL;                         \
        failed |= src->f != NULL && c->f == NULL;                              \
    } while (0)
    DUP(oi_forge);
    DUP(oi_repo);
    DUP(oi_sha);
    DUP(oi_context);
    DUP(oi_state);
    DUP(oi_description);
    DUP(oi_target_url);
    DUP(oi_status);
    DUP(oi_last_error);
    DUP(oi_summary);
    DUP(oi_text);
    DUP(oi_annotations);
#undef DUP
    if (failed)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    return 0;
}

static int
store_job_items(struct store_job *j, const struct paved_outbox_item *items,
                size_t n)
{
    size_t i;
    int error;

    if (n == 0)
        return 0;
    if ((j->j_items = calloc(n, sizeof(*j->j_items))) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    for (i = 0; i < n; i++) {
        j->j_nitems++;
        if ((error = store_item_copy(&j->j_items[i], &items[i])) < 0)
            return error;
    }
    return 0;
}

int
paved_store_run_save_report(paved_store *st, const struct paved_run *r,
                            const struct paved_outbox_item *items, size_t n,
                            paved_store_cb cb, void *arg)
{
    struct store_job *j;
    int error;

    if ((j = store_job_new(STORE_JOB_RUN, cb, arg)) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    if ((r != NULL && (error = paved_run_copy(&j->j_run, r, 0)) < 0) ||
        (error = store_job_items(j, items, n)) < 0) {
        job_free(j);
        return error;
    }
    return store_enqueue(st, j);
}

int
paved_store_outbox_update(paved_store *st, const struct paved_outbox_item *it,
                          paved_store_cb cb, void *arg)
{
    struct store_job *j;
    int error;

    if ((j = store_job_new(STORE_JOB_OUTBOX_UPDATE, cb, arg)) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    if ((error = store_job_items(j, it, 1)) < 0) {
        job_free(j);
        return error;
    }
    return store_enqueue(st, j);
}

int
paved_store_outbox_retry(paved_store *st, int64_t id)
{
    struct store_job *j;

    if ((j = store_job_new(STORE_JOB_OUTBOX_RETRY, NULL, NULL)) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    j->j_id = id;
    return store_enqueue(st, j);
}

int
paved_store_step_save_report(paved_store *st, const struct paved_step_rec *s,
                             const struct paved_outbox_item *items, size_t n,
                             paved_store_cb cb, void *arg)
{
    struct store_job *j;
    int error;

    if ((j = store_job_new(STORE_JOB_STEP, cb, arg)) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    if ((j->j_step = calloc(1, sizeof(*j->j_step))) == NULL ||
        paved_step_rec_copy(j->j_step, s) < 0) {
        job_free(j);
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    }
    if ((error = store_job_items(j, items, n)) < 0) {
        job_free(j);
        return error;
    }
    return store_enqueue(st, j);
}

int
paved_store_step_save(paved_store *st, const struct paved_step_rec *s)
{
    return paved_store_step_save_report(st, s, NULL, 0, NULL, NULL);
}

/* Hands j to the writer and waits until it is committed (or failed). j
 * stays the caller's: what the writer filled in (ids) can be read from it
 * afterwards. */
static int
store_wait_sync(paved_store *st, struct store_job *j)
{
    int error;

    j->j_sync = 1;
    pthread_mutex_lock(&st->st_lock);
    if (st->st_stop) {
        pthread_mutex_unlock(&st->st_lock);
        return paved_error_set(PAVED_EUNAVAILABLE, "store is closing");
    }
    queue_push(&st->st_in, j);
    st->st_pending++;
    pthread_cond_signal(&st->st_cond);
    while (!j->j_finished)
        pthread_cond_wait(&st->st_sync_cond, &st->st_lock);
    pthread_mutex_unlock(&st->st_lock);
    if ((error = j->j_done.sd_result) < 0)
        paved_error_set(error, "%s",
                        j->j_msg[0] != '\0' ? j->j_msg : "store write failed");
    return error;
}

/* store_wait_sync, taking ownership of j. */
static int
store_run_sync(paved_store *st, struct store_job *j)
{
    int error = store_wait_sync(st, j);

    job_free(j);
    return error;
}

static int64_t
store_wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
paved_store_service_add(paved_store *st, const struct paved_service *s)
{
    struct store_job *j;
    int error;

    if (s->sv_name == NULL || s->sv_name[0] == '\0' || s->sv_type == NULL ||
        s->sv_lang == NULL)
        return paved_error_set(PAVED_EINVAL,
                               "a catalog entry needs a name, a type and a "
                               "language");
    if ((j = store_job_new(STORE_JOB_SERVICE_ADD, NULL, NULL)) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    if ((error = store_service_copy(&j->j_service, s)) < 0) {
        job_free(j);
        return error;
    }
    if (j->j_service->sv_created_ms == 0)
        j->j_service->sv_created_ms = store_wall_ms();
    if (j->j_service->sv_updated_ms == 0)
        j->j_service->sv_updated_ms = j->j_service->sv_created_ms;
    return store_run_sync(st, j);
}

int
paved_store_service_set_template(paved_store *st, const char *name, int version)
{
    struct store_job *j;

    if ((j = store_job_new(STORE_JOB_SERVICE_TEMPLATE, NULL, NULL)) == NULL ||
        (j->j_service = calloc(1, sizeof(*j->j_service))) == NULL ||
        (j->j_service->sv_name = strdup(name)) == NULL) {
        job_free(j);
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    }
    j->j_service->sv_template_version = version;
    j->j_service->sv_updated_ms = store_wall_ms();
    return store_run_sync(st, j);
}

int
paved_store_artifact_put(paved_store *st, struct paved_artifact *a)
{
    struct store_job *j;
    int error;

    if ((error = store_artifact_check(a)) < 0)
        return error;
    if ((j = store_job_new(STORE_JOB_ARTIFACT_PUT, NULL, NULL)) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    if ((error = store_artifact_copy(&j->j_artifact, a)) < 0) {
        job_free(j);
        return error;
    }
    if (j->j_artifact->ar_created_ms == 0)
        j->j_artifact->ar_created_ms = store_wall_ms();
    /* the ids exist only once committed: a failed batch rolled them back */
    if ((error = store_wait_sync(st, j)) == 0) {
        a->ar_id = j->j_artifact->ar_id;
        a->ar_created_ms = j->j_artifact->ar_created_ms;
    }
    job_free(j);
    return error;
}

int
paved_store_artifact_get(struct paved_artifact **out, paved_store *st,
                         const char *repo, const char *sha)
{
    *out = NULL;
    if (repo == NULL || sha == NULL)
        return paved_error_set(PAVED_EINVAL, "an artifact is looked up by "
                                             "repo and sha");
    return st->st_be->sb_artifact_get(out, st->st_reader, repo, sha);
}

int
paved_store_deploy_add(paved_store *st, struct paved_deploy_rec *r)
{
    struct store_job *j;
    int error;

    if ((error = store_deploy_check(r)) < 0)
        return error;
    if ((j = store_job_new(STORE_JOB_DEPLOY_ADD, NULL, NULL)) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    if ((error = store_deploy_copy(&j->j_deploy, r)) < 0) {
        job_free(j);
        return error;
    }
    if (j->j_deploy->dr_created_ms == 0)
        j->j_deploy->dr_created_ms = store_wall_ms();
    if ((error = store_wait_sync(st, j)) == 0) {
        r->dr_id = j->j_deploy->dr_id;
        r->dr_created_ms = j->j_deploy->dr_created_ms;
    }
    job_free(j);
    return error;
}

int
paved_store_deploy_list(struct paved_deploy_rec ***out, size_t *n,
                        paved_store *st, const struct paved_deploy_filter *f)
{
    struct paved_deploy_filter all;

    if (f == NULL) {
        memset(&all, 0, sizeof(all));
        f = &all;
    }
    return st->st_be->sb_deploy_list(out, n, st->st_reader, f);
}

int
paved_store_service_get(struct paved_service **out, paved_store *st,
                        const char *name)
{
    return st->st_be->sb_service_get(out, st->st_reader, name);
}

int
paved_store_service_list(struct paved_service ***out, size_t *n,
                         paved_store *st)
{
    return st->st_be->sb_service_list(out, n, st->st_reader);
}

int
paved_store_run_latest(struct paved_run **out, paved_store *st,
                       const char *repo, const char *env, int success_only)
{
    return st->st_be->sb_run_latest(out, st->st_reader, repo, env,
                                    success_only);
}

int
paved_store_run_counts(int64_t *runs, int64_t *failures, paved_store *st,
                       int64_t since_ms)
{
    return st->st_be->sb_run_counts(runs, failures, st->st_reader, since_ms);
}

int
paved_store_notify_fd(const paved_store *st)
{
    return st->st_efd;
}

void
paved_store_complete(paved_store *st)
{
    struct store_job *j, *next;
    uint64_t count;

    while (read(st->st_efd, &count, sizeof(count)) < 0 && errno == EINTR)
        ;
    pthread_mutex_lock(&st->st_lock);
    j = st->st_done.q_head;
    queue_init(&st->st_done);
    pthread_mutex_unlock(&st->st_lock);
    for (; j != NULL; j = next) {
        next = j->j_next;
        j->j_done.sd_msg = j->j_msg[0] != '\0' ? j->j_msg : NULL;
        if (j->j_plan_cb != NULL) {
            struct paved_store_plan *plan = j->j_plan;
            j->j_plan = NULL; /* the callback owns it now */
            j->j_plan_cb(plan, j->j_arg);
        } else if (j->j_cb != NULL) {
            j->j_cb(&j->j_done, j->j_arg);
        }
        job_free(j);
    }
}

size_t
paved_store_pending(paved_store *st)
{
    size_t n;

    pthread_mutex_lock(&st->st_lock);
    n = st->st_pending;
    pthread_mutex_unlock(&st->st_lock);
    return n;
}

int
paved_store_delivery_list(struct paved_delivery ***out, size_t *n,
                          paved_store *st, size_t limit, int64_t before_seq,
                          int with_payload)
{
    return st->st_be->sb_delivery_list(out, n, st->st_reader, limit, before_seq,
                                       with_payload);
}

int
paved_store_delivery_get(struct paved_delivery **out, paved_store *st,
                         const char *id, int with_payload)
{
    return st->st_be->sb_delivery_get(out, st->st_reader, id, with_payload);
}

int
paved_store_delivery_count(int64_t *out, paved_store *st)
{
    return st->st_be->sb_delivery_count(out, st->st_reader);
}

int
paved_store_delivery_unplanned(struct paved_delivery ***out, size_t *n,
                               paved_store *st, size_t limit, int64_t after_seq)
{
    return st->st_be->sb_delivery_unplanned(out, n, st->st_reader, limit,
                                            after_seq);
}

int
paved_store_run_list(struct paved_run ***out, size_t *n, paved_store *st,
                     const struct paved_run_filter *f)
{
    return st->st_be->sb_run_list(out, n, st->st_reader, f);
}

int
paved_store_run_get(struct paved_run **out, paved_store *st, int64_t id)
{
    return st->st_be->sb_run_get(out, st->st_reader, id);
}

int
paved_store_outbox_due(struct paved_outbox_item ***out, size_t *n,
                       paved_store *st, const char *forge, int64_t now_ms,
                       size_t limit)
{
    return st->st_be->sb_outbox_list(out, n, st->st_reader, forge, now_ms,
                                     limit);
}

int
paved_store_outbox_list(struct paved_outbox_item ***out, size_t *n,
                        paved_store *st, const char *status, size_t limit)
{
    return st->st_be->sb_outbox_list(out, n, st->st_reader, status, -1, limit);
}

int
paved_store_outbox_get(struct paved_outbox_item **out, paved_store *st,
                       int64_t id)
{
    return st->st_be->sb_outbox_get(out, st->st_reader, id);
}
