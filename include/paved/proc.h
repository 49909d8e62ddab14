#ifndef PAVED_PROC_H
#define PAVED_PROC_H
/* Step processes supervised on the libevent loop: `/bin/sh -e SCRIPT` in
 * its own process group with exactly the environment given, stdout and
 * stderr read through non-blocking pipes, masked and written to a log
 * file a timestamped line at a time; timeouts and cancellation signal the
 * whole group (SIGTERM, SIGKILL after a grace period). A step is finished
 * when its shell has been reaped and both pipes are at EOF (tmux's job
 * rule); whatever is left in its group is then killed.
 * Never reaps a pid it did not start, never blocks the loop (the log and
 * script writes are small writes to the page cache), never interprets
 * event text: the caller puts it into the environment only. */
#include <stddef.h>

#include "paved/mask.h"

struct event_base;

/* One per event loop: owns the SIGCHLD handling (libevent allows signal
 * events on one base at a time). */
typedef struct paved_procs paved_procs; /* body in src/exec/proc.c */
typedef struct paved_proc paved_proc;

/* base is borrowed and must outlive ps. */
int paved_procs_new(paved_procs **out, struct event_base *base);
/* Kills (SIGKILL to the group) and reaps every live process, without
 * callbacks; blocks only for that reaping. NULL is a no-op. May be called
 * from a paved_proc_cb. */
void paved_procs_free(paved_procs *ps);
/* Processes started whose callback has not run yet. */
size_t paved_procs_live(const paved_procs *ps);

struct paved_proc_spec {
    /* Written to ps_script_path (mode 0700, replaced if it exists) and run
     * as `/bin/sh -e ps_script_path`. */
    const char *ps_script;
    const char *ps_script_path;
    const char *ps_cwd;        /* working directory; must exist */
    char *const *ps_env;       /* the complete environment, "K=V", NULL-ended;
                                  nothing of the daemon's is inherited; NULL:
                                  empty */
    const char *ps_log_path;   /* opened O_APPEND|O_CREAT, mode 0600 */
    const paved_mask *ps_mask; /* may be NULL; borrowed, must outlive the
                                  proc; each stream keeps its own carry */
    unsigned ps_timeout_ms;    /* 0: none */
    unsigned ps_grace_ms;      /* SIGTERM to the group, SIGKILL after this;
                                  0: 5000. Also how long output is still read
                                  after the shell exited, when a process that
                                  left the group holds the pipes open. */
    size_t ps_log_max;         /* cap on log bytes written; 0: 64 MiB; beyond
                                  it one line says it was truncated (paved's
                                  own lines are still written) */
};

/* The log has one line per line of output:
 *     2026-11-27T07:01:02.345Z out hello
 * (UTC, milliseconds; "out" or "err"), a final partial line is written at
 * EOF, and a line longer than 16 KiB is cut into several. Secrets are
 * masked on the raw stream before lines are split. paved's own lines use
 * the tag "paved", e.g.
 *     2026-11-27T07:01:04.345Z paved step timed out after 2s: SIGTERM to
 *     process group, SIGKILL after 5s
 * (one line), and likewise when cancelled, when SIGKILL followed, when the
 * log was truncated, and when output was left unread after the shell
 * exited. */
#define PAVED_PROC_LINE_MAX 16384

struct paved_proc_result {
    int pr_exit;         /* exit status, or -1 when killed by a signal
                            (or when the status was lost: pr_signal 0) */
    int pr_signal;       /* the signal, or 0 */
    int pr_timed_out;    /* killed because ps_timeout_ms passed */
    int pr_cancelled;    /* paved_proc_cancel() was called (whether or not
                            the shell had ended by itself already) */
    long long pr_ms;     /* wall time, start to callback */
    size_t pr_log_bytes; /* bytes this process appended to the log */
    int pr_log_error;    /* the log could not be written fully (disk full,
                            out of memory): some output is missing */
};

/* r is valid during the call only. */
typedef void (*paved_proc_cb)(const struct paved_proc_result *r, void *arg);

/* Starts the process (posix_spawn: own process group, stdin /dev/null,
 * stdout and stderr to pipes, default signal dispositions, empty signal
 * mask, no other descriptors). cb runs exactly once, on the loop, after
 * the shell has exited and both pipes are at EOF; the proc is freed by the
 * library just before, so the caller must drop its pointer when cb runs.
 * When the shell exits, anything left in its process group is SIGKILLed.
 * Errors before the child exists: a negative PAVED_E* with a message, and
 * cb is never called. *out (may be NULL) is valid until cb. */
int paved_proc_start(paved_proc **out, paved_procs *ps,
                     const struct paved_proc_spec *spec, paved_proc_cb cb,
                     void *arg);
/* SIGTERM to the group now (and a line in the log), SIGKILL after the
 * grace period; cb later with pr_cancelled = 1. Idempotent; NULL is a
 * no-op. */
void paved_proc_cancel(paved_proc *p);
/* The shell's pid, which is also its process group id. */
int paved_proc_pid(const paved_proc *p);

/* Appends one "<time> paved <text>" line to a step log (for notes the
 * caller writes before or after the process, such as a warning about
 * secrets too short to mask); text must not hold a secret. A blocking
 * open/write/close: small, to the page cache. */
int paved_proc_log_note(const char *log_path, const char *text);

#endif
