#ifndef PAVED_PIPELINE_H
#define PAVED_PIPELINE_H
/* Pipeline definitions: the YAML model of the files in pipelines/ and of a
 * repository's .paved.yaml, validation that reports every error with
 * file:line:column, `if` expressions, and trigger matching against a
 * normalized event. Plain data and pure functions: this module never runs,
 * forks, fetches or resolves a secret; the scheduler and executor do, with
 * what it hands them. The reference for users is docs/pipelines.md. */
#include <stdbool.h>
#include <stddef.h>

#include "paved/event.h"

typedef struct paved_pipeline paved_pipeline;           /* src/pipeline/ */
typedef struct paved_pipeline_set paved_pipeline_set;   /* several, by name */
typedef struct paved_pipeline_repo paved_pipeline_repo; /* a .paved.yaml */
typedef struct paved_pipeline_expr paved_pipeline_expr; /* a parsed `if` */

/* ---- diagnostics -------------------------------------------------------
 * Loading never stops at the first problem: every error of a file goes
 * into a list, sorted by file, line, column. dg_line/dg_column are 1-based;
 * 0 when the problem is the file itself (missing, unreadable). The
 * message carries its hint in parentheses: `step "test" needs unknown step
 * "biuld" (did you mean "build"?)`. */
struct paved_pipeline_diag {
    char *dg_file;
    unsigned dg_line;
    unsigned dg_column;
    char *dg_message;
};

struct paved_pipeline_diags {
    struct paved_pipeline_diag *dl_items;
    size_t dl_n;
    size_t dl_cap;
};

#define PAVED_PIPELINE_DIAGS_INIT                                              \
    {                                                                          \
        NULL, 0, 0                                                             \
    }

/* Frees the items and empties the list; NULL is a no-op. */
void paved_pipeline_diags_dispose(struct paved_pipeline_diags *dl);
/* "FILE:LINE:COL: message" (or "FILE: message" for line 0); *out: free() */
int paved_pipeline_diag_format(char **out,
                               const struct paved_pipeline_diag *dg);

/* ---- the model (read-only views; the pipeline owns every pointer) ---- */
struct paved_pipeline_kv {
    char *kv_key;
    char *kv_value;
};

enum paved_pipeline_concurrency {
    PAVED_CONCURRENCY_CANCEL = 0, /* a newer run cancels the older (default) */
    PAVED_CONCURRENCY_QUEUE       /* runs wait their turn, at most max_queued */
};

struct paved_step {
    char *st_name;   /* unique, [a-z0-9][a-z0-9_-]* */
    char *st_run;    /* script text, or NULL when st_uses is set */
    char *st_uses;   /* built-in step kind ("guardrails", "scan"), or NULL
                        when st_run is set */
    char **st_needs; /* names of steps that must finish first */
    size_t st_nneeds;
    char *st_if;         /* the expression's text; NULL = always */
    unsigned st_timeout; /* seconds; default 1800 (30m) */
    unsigned st_retries; /* 0..10, default 0 */
    struct paved_pipeline_kv *st_env;
    size_t st_nenv;
    struct paved_pipeline_kv *st_with; /* uses: parameters, by name */
    size_t st_nwith;
    bool st_allow_failure; /* a failure does not fail the run or skip
                              its dependents */
    bool st_from_repo;     /* added by a .paved.yaml: gets no secrets */
    const char *st_file;   /* where it was defined, for messages */
    unsigned st_line, st_column;
};

/* PAVED_EINVAL when there is any error: every one is appended to diags
 * (which may be NULL), and paved_error_last() holds the first one plus how
 * many more. PAVED_ENOMEM, PAVED_ENOTFOUND (load: no such file). name
 * stands for the file in messages; data need not be NUL-terminated.
 * *out is owned by the caller: paved_pipeline_free(). */
int paved_pipeline_parse(paved_pipeline **out,
                         struct paved_pipeline_diags *diags, const char *name,
                         const void *data, size_t len);
int paved_pipeline_load(paved_pipeline **out,
                        struct paved_pipeline_diags *diags, const char *path);
void paved_pipeline_free(paved_pipeline *pl); /* NULL is a no-op */

const char *paved_pipeline_name(const paved_pipeline *pl);
const char *paved_pipeline_file(const paved_pipeline *pl);
size_t paved_pipeline_nsteps(const paved_pipeline *pl);
/* Steps in file order (platform steps, then .paved.yaml steps); NULL past
 * the end. */
const struct paved_step *paved_pipeline_step(const paved_pipeline *pl,
                                             size_t i);
/* The index of a step by name, or -1. */
long paved_pipeline_step_index(const paved_pipeline *pl, const char *name);
/* Pipeline env in file order, with a .paved.yaml's values merged in. */
const struct paved_pipeline_kv *paved_pipeline_env(const paved_pipeline *pl,
                                                   size_t *n);
/* Secret names; the values are the daemon's to resolve, never the repo's. */
char *const *paved_pipeline_secrets(const paved_pipeline *pl, size_t *n);
enum paved_pipeline_concurrency
paved_pipeline_concurrency(const paved_pipeline *pl, unsigned *max_queued);
/* The concurrency group of a run for ev: the `group` template with {repo}
 * {ref} {branch} {tag} {event} {pr_number} {pipeline} filled in; the
 * default template is "{repo}/{ref}/{pipeline}". *out: free(). */
int paved_pipeline_concurrency_group(char **out, const paved_pipeline *pl,
                                     const struct paved_event *ev);
bool paved_pipeline_extensible(const paved_pipeline *pl);

/* ---- trigger matching ------------------------------------------------
 * 1 when pl should run for ev, 0 when not: then *why_not (may be NULL)
 * is a short static reason for "skipped: <reason>". changed_paths NULL
 * means "not known" and passes every paths filter; a non-NULL list of n
 * paths must have one path that passes. Deleted refs, ping, create,
 * release and other events never match. */
int paved_pipeline_match(const paved_pipeline *pl, const struct paved_event *ev,
                         const char *const *changed_paths, size_t n,
                         const char **why_not);
/* "staging" for a push to a branch, "production" for a tag, NULL for a
 * pull request (checks only) and everything else. */
const char *paved_pipeline_environment(const struct paved_event *ev);

/* ---- `if` expressions ------------------------------------------------
 * event, branch, tag, ref, repo, actor, pr_number, action compared with
 * == != =~ (glob) to 'single-quoted' literals; && || ! ( ) true false.
 * Values come from the event only when evaluating: nothing is ever
 * spliced into text and parsed again. parse: PAVED_EINVAL with the
 * message in paved_error_last() and the byte offset in *err_offset. */
int paved_pipeline_expr_parse(paved_pipeline_expr **out, const char *text,
                              size_t *err_offset);
/* 1 true, 0 false. */
int paved_pipeline_expr_eval(const paved_pipeline_expr *ex,
                             const struct paved_event *ev);
void paved_pipeline_expr_free(paved_pipeline_expr *ex);
/* The step's `if` against ev: 1 run it, 0 skip it (no `if`: 1). */
int paved_pipeline_eval_if(const paved_pipeline *pl, size_t step,
                           const struct paved_event *ev);

/* ---- globs -------------------------------------------------------------
 * `*` any run within one path segment, `**` across segments (a whole
 * `**` segment also matches no directory at all), `?` one character but
 * '/', [abc] [a-z] [!a-z] classes, `\` escapes. check: 0, or
 * PAVED_EINVAL and why. */
int paved_pipeline_glob_check(const char *pattern, char *why, size_t whylen);
bool paved_pipeline_glob_match(const char *pattern, const char *s);

/* ---- sets: every pipeline of a directory -----------------------------
 * load_dir reads every *.yaml and *.yml (not hidden files) of dir in
 * sorted order; pipeline names must be unique across files. On any error
 * *out is NULL and diags lists them all. */
int paved_pipeline_set_new(paved_pipeline_set **out);
/* Ownership of pl moves to the set, also on failure (a duplicate name:
 * PAVED_EEXISTS, with a diagnostic naming both places). */
int paved_pipeline_set_add(paved_pipeline_set *set, paved_pipeline *pl,
                           struct paved_pipeline_diags *diags);
int paved_pipeline_load_dir(paved_pipeline_set **out,
                            struct paved_pipeline_diags *diags,
                            const char *dir);
void paved_pipeline_set_free(paved_pipeline_set *set); /* NULL is a no-op */
/* The pipeline files load_dir would read, as sorted paths "dir/name";
 * PAVED_ENOTFOUND or PAVED_EINVAL (message set) when dir cannot be read.
 * *out: paved_pipeline_files_free(). */
int paved_pipeline_list_dir(char ***out, size_t *n, const char *dir);
void paved_pipeline_files_free(char **files, size_t n);
size_t paved_pipeline_set_count(const paved_pipeline_set *set);
const paved_pipeline *paved_pipeline_set_get(const paved_pipeline_set *set,
                                             size_t i);
const paved_pipeline *paved_pipeline_set_find(const paved_pipeline_set *set,
                                              const char *name);

/* ---- the .paved.yaml escape hatch --------------------------------------
 * `pipeline:` selects a platform pipeline by name, `env:` overrides its
 * env except protected names, and `steps:` adds steps only where the
 * platform pipeline says `extensible: true`. parse checks the file on its
 * own; merge checks it against the set and builds a new pipeline: the
 * platform one plus the repository's env and steps. Errors carry the
 * .paved.yaml's file:line:column. Same return conventions as parse. */
int paved_pipeline_repo_parse(paved_pipeline_repo **out,
                              struct paved_pipeline_diags *diags,
                              const char *name, const void *data, size_t len);
int paved_pipeline_repo_load(paved_pipeline_repo **out,
                             struct paved_pipeline_diags *diags,
                             const char *path);
void paved_pipeline_repo_free(paved_pipeline_repo *rf); /* NULL: no-op */
const char *paved_pipeline_repo_selects(const paved_pipeline_repo *rf);
int paved_pipeline_merge(paved_pipeline **out,
                         struct paved_pipeline_diags *diags,
                         const paved_pipeline_set *set,
                         const paved_pipeline_repo *rf);

#endif
