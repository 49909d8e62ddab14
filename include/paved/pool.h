#ifndef PAVED_POOL_H
#define PAVED_POOL_H
/* A small thread pool for blocking work (libgit2 fetches and checkouts,
 * removing trees) whose completions run on the libevent loop thread, so
 * that the loop never waits on disk or network and the code that owns a
 * job's results never needs a lock. Workers are woken by a condition
 * variable; the loop is woken through an eventfd registered on its base.
 * Never runs a work function on the loop thread, never runs a done
 * callback on a worker, and keeps no global state. */

struct event_base;
typedef struct paved_pool paved_pool; /* body in src/core/pool.c */

typedef void (*paved_pool_fn)(void *arg);

/* nthreads 0 means 2 (at most 64). The base is borrowed and must outlive
 * the pool. Call on the loop thread (or before the loop runs). Workers
 * block every signal: signals reach the loop thread, and a SIGPIPE from a
 * socket write in a work function only fails that write. */
int paved_pool_new(paved_pool **out, struct event_base *base,
                   unsigned nthreads);

/* Runs work(arg) on a worker thread, then done(arg) on the loop thread.
 * Work starts in submission order (FIFO); with more than one thread done
 * callbacks run in completion order. done may be NULL. arg is the
 * caller's: the pool never frees it. Returns PAVED_EINVAL for a NULL
 * work, PAVED_EUNAVAILABLE once paved_pool_free() has begun (also from a
 * done callback run by it), PAVED_ENOMEM. On error nothing runs. */
int paved_pool_submit(paved_pool *p, paved_pool_fn work, paved_pool_fn done,
                      void *arg);

/* Jobs submitted and not yet completed on the loop (queued, running, or
 * waiting for their done callback). */
unsigned paved_pool_pending(paved_pool *p);

/* Shuts down: stops accepting work, lets the workers finish everything
 * already queued (this may block as long as the slowest job), joins them,
 * then runs every done callback not yet run, in completion order, on the
 * calling thread, which must be the loop thread (or the loop must not be
 * running). So every accepted job gets exactly one done call, and a done
 * callback can always free its arg. Safe to call from inside a done
 * callback of this pool (the rest of that dispatch is skipped). NULL is a
 * no-op. */
void paved_pool_free(paved_pool *p);

#endif
