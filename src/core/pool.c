/* The blocking-work pool: N pthreads take jobs from a FIFO, run them, and
 * move them to a done list; an eventfd tells the loop, which runs the done
 * callbacks. One mutex guards both lists; it is never held while a work or
 * done function runs, so those may call paved_pool_submit() freely.
 * Never touches libevent from a worker: workers only write(2) the
 * eventfd. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/queue.h>
#include <unistd.h>

#include <event2/event.h>

#include "paved/error.h"
#include "paved/pool.h"

#define POOL_DEFAULT_THREADS 2
#define POOL_MAX_THREADS 64

struct pool_job {
    paved_pool_fn pj_work;
    paved_pool_fn pj_done;
    void *pj_arg;
    STAILQ_ENTRY(pool_job) pj_link;
};
STAILQ_HEAD(pool_jobs, pool_job);

struct paved_pool {
    struct event_base *p_base;
    struct event *p_ev; /* EV_READ|EV_PERSIST on p_efd */
    int p_efd;
    pthread_mutex_t p_mu;
    pthread_cond_t p_cond;    /* work queued, or stopping */
    struct pool_jobs p_queue; /* waiting for a worker */
    struct pool_jobs p_done;  /* worked, waiting for the loop */
    unsigned p_pending;       /* accepted, done not yet run */
    bool p_stopping;          /* free has begun: refuse submissions */
    bool *p_dispatch_freed;   /* set by free when called from dispatch */
    pthread_t p_threads[POOL_MAX_THREADS];
    unsigned p_nthreads; /* started */
    bool p_mu_ok, p_cond_ok;
};

static void
pool_wake(paved_pool *p)
{
    uint64_t one = 1;

    /* EAGAIN means the counter is saturated: the loop is already due to
     * wake, so there is nothing to add */
    while (write(p->p_efd, &one, sizeof(one)) < 0 && errno == EINTR)
        ;
}

static void *
pool_worker(void *arg)
{
    paved_pool *p = arg;
    struct pool_job *j;

    pthread_mutex_lock(&p->p_mu);
    for (;;) {
        while (STAILQ_EMPTY(&p->p_queue) && !p->p_stopping)
            pthread_cond_wait(&p->p_cond, &p->p_mu);
        /* stopping still drains the queue: every accepted job runs */
        if ((j = STAILQ_FIRST(&p->p_queue)) == NULL)
            break;
        STAILQ_REMOVE_HEAD(&p->p_queue, pj_link);
        pthread_mutex_unlock(&p->p_mu);

        j->pj_work(j->pj_arg);

        pthread_mutex_lock(&p->p_mu);
        STAILQ_INSERT_TAIL(&p->p_done, j, pj_link);
        pool_wake(p);
    }
    pthread_mutex_unlock(&p->p_mu);
    return NULL;
}

/* Runs done callbacks one at a time, taking each from the list under the
 * lock, so that a callback that frees the pool (which then runs the rest
 * itself) leaves nothing behind for this loop to touch. */
static void
pool_run_done(paved_pool *p, bool *freed)
{
    struct pool_job *j;

    for (;;) {
        pthread_mutex_lock(&p->p_mu);
        if ((j = STAILQ_FIRST(&p->p_done)) != NULL)
            STAILQ_REMOVE_HEAD(&p->p_done, pj_link);
        pthread_mutex_unlock(&p->p_mu);
        if (j == NULL)
            return;
        if (j->pj_done != NULL)
            j->pj_done(j->pj_arg);
        free(j);
        if (freed != NULL && *freed)
            return; /* p is gone */
        pthread_mutex_lock(&p->p_mu);
        p->p_pending--;
        pthread_mutex_unlock(&p->p_mu);
    }
}

static void
pool_event_cb(evutil_socket_t fd, short what, void *arg)
{
    paved_pool *p = arg;
    uint64_t n;
    bool freed = false;

    (void)what;
    /* read before draining: a job finished after the drain writes again */
    while (read(fd, &n, sizeof(n)) < 0 && errno == EINTR)
        ;
    /* libevent refuses a reentrant loop on one base, so this never nests */
    p->p_dispatch_freed = &freed;
    pool_run_done(p, &freed);
    if (!freed)
        p->p_dispatch_freed = NULL;
}

int
paved_pool_new(paved_pool **out, struct event_base *base, unsigned nthreads)
{
    paved_pool *p;
    sigset_t all, old;
    int error = 0, rc = 0;

    *out = NULL;
    if (base == NULL)
        return paved_error_set(PAVED_EINVAL, "pool: no event base");
    if (nthreads == 0)
        nthreads = POOL_DEFAULT_THREADS;
    if (nthreads > POOL_MAX_THREADS)
        return paved_error_set(PAVED_EINVAL, "pool: %u threads (at most %d)",
                               nthreads, POOL_MAX_THREADS);
    if ((p = calloc(1, sizeof(*p))) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    p->p_base = base;
    p->p_efd = -1;
    STAILQ_INIT(&p->p_queue);
    STAILQ_INIT(&p->p_done);
    if ((rc = pthread_mutex_init(&p->p_mu, NULL)) != 0) {
        error = paved_error_set(PAVED_ERROR, "pool: mutex: %s", strerror(rc));
        goto out;
    }
    p->p_mu_ok = true;
    if ((rc = pthread_cond_init(&p->p_cond, NULL)) != 0) {
        error = paved_error_set(PAVED_ERROR, "pool: cond: %s", strerror(rc));
        goto out;
    }
    p->p_cond_ok = true;
    if ((p->p_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
        error =
            paved_error_set(PAVED_ERROR, "pool: eventfd: %s", strerror(errno));
        goto out;
    }
    if ((p->p_ev = event_new(base, p->p_efd, EV_READ | EV_PERSIST,
                             pool_event_cb, p)) == NULL ||
        event_add(p->p_ev, NULL) < 0) {
        error = paved_error_set(PAVED_ENOMEM, "pool: cannot add event");
        goto out;
    }
    /* Workers inherit a full signal mask: signals go to the loop thread,
     * and a SIGPIPE from a socket write in libgit2 stays pending on the
     * worker (the write fails with EPIPE) instead of killing us. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (; p->p_nthreads < nthreads; p->p_nthreads++) {
        rc = pthread_create(&p->p_threads[p->p_nthreads], NULL, pool_worker, p);
        if (rc != 0)
            break;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (p->p_nthreads < nthreads) {
        error = paved_error_set(PAVED_ERROR, "pool: thread: %s", strerror(rc));
        goto out;
    }
    *out = p;
    p = NULL;
out:
    paved_pool_free(p); /* non-NULL only on failure */
    return error;
}

int
paved_pool_submit(paved_pool *p, paved_pool_fn work, paved_pool_fn done,
                  void *arg)
{
    struct pool_job *j;

    if (p == NULL || work == NULL)
        return paved_error_set(PAVED_EINVAL, "pool: no pool or no work");
    if ((j = calloc(1, sizeof(*j))) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    j->pj_work = work;
    j->pj_done = done;
    j->pj_arg = arg;
    pthread_mutex_lock(&p->p_mu);
    if (p->p_stopping) {
        pthread_mutex_unlock(&p->p_mu);
        free(j);
        return paved_error_set(PAVED_EUNAVAILABLE, "pool: shutting down");
    }
    STAILQ_INSERT_TAIL(&p->p_queue, j, pj_link);
    p->p_pending++;
    pthread_cond_signal(&p->p_cond);
    pthread_mutex_unlock(&p->p_mu);
    return 0;
}

unsigned
paved_pool_pending(paved_pool *p)
{
    unsigned n;

    if (p == NULL)
        return 0;
    pthread_mutex_lock(&p->p_mu);
    n = p->p_pending;
    pthread_mutex_unlock(&p->p_mu);
    return n;
}

void
paved_pool_free(paved_pool *p)
{
    unsigned i;

    if (p == NULL)
        return;
    if (p->p_mu_ok) {
        pthread_mutex_lock(&p->p_mu);
        p->p_stopping = true;
        if (p->p_cond_ok)
            pthread_cond_broadcast(&p->p_cond);
        pthread_mutex_unlock(&p->p_mu);
    }
    /* the workers drain the queue before they exit */
    for (i = 0; i < p->p_nthreads; i++)
        pthread_join(p->p_threads[i], NULL);
    if (p->p_dispatch_freed != NULL) {
        /* called from a done callback: tell that dispatch to stop */
        *p->p_dispatch_freed = true;
        p->p_dispatch_freed = NULL;
    }
    if (p->p_ev != NULL)
        event_del(p->p_ev);
    pool_run_done(p, NULL);
    if (p->p_ev != NULL)
        event_free(p->p_ev);
    if (p->p_efd >= 0)
        close(p->p_efd);
    if (p->p_cond_ok)
        pthread_cond_destroy(&p->p_cond);
    if (p->p_mu_ok)
        pthread_mutex_destroy(&p->p_mu);
    free(p);
}
