/* Unit tests for the blocking-work pool: every job's work runs on a worker
 * and its done on the loop thread, exactly once; FIFO with one thread;
 * free finishes queued work and runs pending done callbacks; submissions
 * after shutdown are refused; a done callback may free the pool. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "paved/error.h"
#include "paved/pool.h"

#define MANY 2000

struct counter {
    struct event_base *base;
    paved_pool *pool;
    pthread_t loop_thread;
    pthread_mutex_t mu;
    unsigned worked;       /* under mu */
    unsigned done;         /* loop thread only */
    unsigned wrong_thread; /* done off the loop or work on it */
    unsigned target;       /* break the loop at this many */
    unsigned order[MANY];  /* done order (one thread: FIFO) */
    unsigned norder;
    bool free_in_done; /* the done of job 0 frees the pool */
    int resubmit;      /* result of a submit from inside free */
};

struct job {
    struct counter *c;
    unsigned id;
    unsigned sleep_us;
};

static void
job_work(void *arg)
{
    struct job *j = arg;

    if (pthread_equal(pthread_self(), j->c->loop_thread))
        j->c->wrong_thread++; /* racy only when already wrong */
    if (j->sleep_us > 0)
        usleep(j->sleep_us);
    pthread_mutex_lock(&j->c->mu);
    j->c->worked++;
    pthread_mutex_unlock(&j->c->mu);
}

static void
job_done(void *arg)
{
    struct job *j = arg;
    struct counter *c = j->c;

    if (!pthread_equal(pthread_self(), c->loop_thread))
        c->wrong_thread++;
    if (c->norder < MANY)
        c->order[c->norder++] = j->id;
    c->done++;
    if (c->free_in_done && j->id == 0) {
        paved_pool_free(c->pool);
        c->pool = NULL;
    }
    if (c->target > 0 && c->done == c->target)
        event_base_loopbreak(c->base);
}

static struct job *
jobs_new(struct counter *c, unsigned n, unsigned sleep_us)
{
    struct job *jobs = calloc(n, sizeof(*jobs));
    unsigned i;

    assert_non_null(jobs);
    for (i = 0; i < n; i++) {
        jobs[i].c = c;
        jobs[i].id = i;
        jobs[i].sleep_us = sleep_us;
    }
    return jobs;
}

static void
counter_init(struct counter *c)
{
    memset(c, 0, sizeof(*c));
    c->base = event_base_new();
    assert_non_null(c->base);
    c->loop_thread = pthread_self();
    pthread_mutex_init(&c->mu, NULL);
}

static void
counter_dispose(struct counter *c)
{
    paved_pool_free(c->pool);
    event_base_free(c->base);
    pthread_mutex_destroy(&c->mu);
}

/* A timer that fails the test instead of hanging it. */
static void
watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopbreak(arg);
}

static void
run_loop(struct counter *c)
{
    struct timeval tv = {10, 0};
    struct event *wd = evtimer_new(c->base, watchdog_cb, c->base);

    assert_non_null(wd);
    evtimer_add(wd, &tv);
    event_base_dispatch(c->base);
    event_free(wd);
}

static void
test_many(void **state)
{
    struct counter c;
    struct job *jobs;
    unsigned i;

    (void)state;
    counter_init(&c);
    jobs = jobs_new(&c, MANY, 0);
    assert_int_equal(paved_pool_new(&c.pool, c.base, 4), 0);
    c.target = MANY;
    for (i = 0; i < MANY; i++)
        assert_int_equal(
            paved_pool_submit(c.pool, job_work, job_done, &jobs[i]), 0);
    run_loop(&c);
    assert_int_equal(c.done, MANY);
    assert_int_equal(c.worked, MANY);
    assert_int_equal(c.wrong_thread, 0);
    assert_int_equal(paved_pool_pending(c.pool), 0);
    counter_dispose(&c);
    free(jobs);
}

static void
test_fifo_one_thread(void **state)
{
    struct counter c;
    struct job *jobs;
    unsigned i;

    (void)state;
    counter_init(&c);
    jobs = jobs_new(&c, 200, 0);
    assert_int_equal(paved_pool_new(&c.pool, c.base, 1), 0);
    c.target = 200;
    for (i = 0; i < 200; i++)
        assert_int_equal(
            paved_pool_submit(c.pool, job_work, job_done, &jobs[i]), 0);
    run_loop(&c);
    assert_int_equal(c.norder, 200);
    for (i = 0; i < 200; i++)
        assert_int_equal(c.order[i], i);
    counter_dispose(&c);
    free(jobs);
}

/* Work that takes time really runs in parallel on the workers, not on the
 * loop: 8 jobs of 100 ms on 4 threads take about 200 ms, not 800. */
static void
test_parallel(void **state)
{
    struct counter c;
    struct job *jobs;
    struct timespec t0, t1;
    double ms;
    unsigned i;

    (void)state;
    counter_init(&c);
    jobs = jobs_new(&c, 8, 100000);
    assert_int_equal(paved_pool_new(&c.pool, c.base, 4), 0);
    c.target = 8;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (i = 0; i < 8; i++)
        assert_int_equal(
            paved_pool_submit(c.pool, job_work, job_done, &jobs[i]), 0);
    run_loop(&c);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
         (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    assert_int_equal(c.done, 8);
    assert_true(ms >= 190.0);
    assert_true(ms < 700.0);
    assert_int_equal(c.wrong_thread, 0);
    counter_dispose(&c);
    free(jobs);
}

/* Free without ever running the loop: queued work is finished and every
 * done callback runs (on the freeing thread), exactly once. */
static void
test_free_with_pending(void **state)
{
    struct counter c;
    struct job *jobs;
    unsigned i;

    (void)state;
    counter_init(&c);
    jobs = jobs_new(&c, 50, 2000);
    assert_int_equal(paved_pool_new(&c.pool, c.base, 2), 0);
    for (i = 0; i < 50; i++)
        assert_int_equal(
            paved_pool_submit(c.pool, job_work, job_done, &jobs[i]), 0);
    assert_true(paved_pool_pending(c.pool) > 0);
    paved_pool_free(c.pool);
    c.pool = NULL;
    assert_int_equal(c.worked, 50);
    assert_int_equal(c.done, 50);
    assert_int_equal(c.wrong_thread, 0);
    counter_dispose(&c);
    free(jobs);
}

static void
resubmit_done(void *arg)
{
    struct job *j = arg;

    j->c->resubmit = paved_pool_submit(j->c->pool, job_work, job_done, j);
    j->c->done++;
}

/* A done callback run by free cannot queue more work. */
static void
test_submit_after_shutdown(void **state)
{
    struct counter c;
    struct job *jobs;

    (void)state;
    counter_init(&c);
    jobs = jobs_new(&c, 1, 1000);
    assert_int_equal(paved_pool_new(&c.pool, c.base, 1), 0);
    assert_int_equal(
        paved_pool_submit(c.pool, job_work, resubmit_done, &jobs[0]), 0);
    paved_pool_free(c.pool); /* c.pool stays set for resubmit_done */
    c.pool = NULL;
    assert_int_equal(c.done, 1);
    assert_int_equal(c.worked, 1);
    assert_int_equal(c.resubmit, PAVED_EUNAVAILABLE);
    counter_dispose(&c);
    free(jobs);
}

/* The first done frees the pool from inside the dispatch; the others still
 * run exactly once and the loop survives. */
static void
test_free_in_done(void **state)
{
    struct counter c;
    struct job *jobs;
    unsigned i;

    (void)state;
    counter_init(&c);
    jobs = jobs_new(&c, 20, 0);
    assert_int_equal(paved_pool_new(&c.pool, c.base, 1), 0);
    c.free_in_done = true;
    c.target = 20;
    for (i = 0; i < 20; i++)
        assert_int_equal(
            paved_pool_submit(c.pool, job_work, job_done, &jobs[i]), 0);
    run_loop(&c);
    assert_null(c.pool);
    assert_int_equal(c.done, 20);
    assert_int_equal(c.worked, 20);
    assert_int_equal(c.wrong_thread, 0);
    counter_dispose(&c);
    free(jobs);
}

static void
test_null_and_invalid(void **state)
{
    struct counter c;
    paved_pool *p = (paved_pool *)&c;

    (void)state;
    counter_init(&c);
    paved_pool_free(NULL);
    assert_int_equal(paved_pool_pending(NULL), 0);
    assert_int_equal(paved_pool_new(&p, NULL, 1), PAVED_EINVAL);
    assert_null(p);
    assert_int_equal(paved_pool_new(&p, c.base, 1000), PAVED_EINVAL);
    assert_int_equal(paved_pool_new(&c.pool, c.base, 0), 0);
    assert_int_equal(paved_pool_submit(c.pool, NULL, job_done, NULL),
                     PAVED_EINVAL);
    assert_int_equal(paved_pool_pending(c.pool), 0);
    counter_dispose(&c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many),
        cmocka_unit_test(test_fifo_one_thread),
        cmocka_unit_test(test_parallel),
        cmocka_unit_test(test_free_with_pending),
        cmocka_unit_test(test_submit_after_shutdown),
        cmocka_unit_test(test_free_in_done),
        cmocka_unit_test(test_null_and_invalid),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
