#ifndef PAVED_PIPELINE_INT_H
#define PAVED_PIPELINE_INT_H
/* Private to src/pipeline/: the YAML node tree the loaders walk, the
 * diagnostics context, and the struct bodies behind the opaque handles of
 * include/paved/pipeline.h. Also read by src/delivery/, whose
 * environment definitions are the same kind of file (the YAML tree with
 * line:col, the diagnostics, the file reader); nothing else includes it.
 * When a third reader appears, the tree and diagnostics move to core. */
#include <stdbool.h>
#include <stddef.h>

#include "paved/pipeline.h"
#include "paved/text.h"

#define PL_MAX_FILE (1024 * 1024) /* a pipeline is a page, not a dump */
#define PL_MAX_DIAGS 100          /* per file; then "too many errors" */
#define PL_MAX_DEPTH 32           /* YAML nesting */
#define PL_MAX_NODES 100000
#define PL_MAX_EXPR 4096        /* bytes of one `if` */
#define PL_MAX_GLOB 1024        /* bytes of one pattern */
#define PL_DEFAULT_TIMEOUT 1800 /* 30m */
#define PL_MAX_TIMEOUT 86400    /* a step that needs a day is a job */
#define PL_MAX_RETRIES 10
#define PL_MAX_STEPS 256
#define PL_MAX_LIST 1000 /* items of a list, keys of a mapping */
#define PL_DEFAULT_MAX_QUEUED 10
#define PL_MAX_QUEUED 1000
#define PL_DEFAULT_GROUP "{repo}/{ref}/{pipeline}"

/* ---- a YAML document as a tree with positions (yaml.c) ---------------
 * Built from libyaml's event API, as src/core/config.c reads its file, so
 * that every node keeps its line:column. Aliases are refused (a bomb of
 * nested aliases costs nothing to write and everything to expand). */
enum ynode_type {
    YN_SCALAR,
    YN_MAP, /* yn_items: key, value, key, value ... */
    YN_SEQ,
    YN_BAD /* an alias or a value already reported: skip silently */
};

struct ynode {
    enum ynode_type yn_type;
    unsigned yn_line, yn_col; /* 1-based */
    size_t yn_index;          /* byte offset of the node's first byte */
    int yn_style;             /* yaml_scalar_style_t of a scalar */
    bool yn_null;             /* ~, null or nothing */
    char *yn_value;           /* scalars: NUL-terminated */
    size_t yn_len;
    struct ynode **yn_items;
    size_t yn_n;
};

/* Where diagnostics of one file go. Loaders keep going after an error;
 * c_fatal is set on out-of-memory, when nothing more can be trusted. */
struct pl_ctx {
    struct paved_pipeline_diags *c_diags;
    const char *c_file;
    const char *c_src; /* the file's bytes, to place `if` errors */
    size_t c_srclen;
    size_t c_count; /* diagnostics of this file so far */
    int c_fatal;    /* 0 or PAVED_ENOMEM */
};

void pl_diag(struct pl_ctx *cx, unsigned line, unsigned col, const char *fmt,
             ...) __attribute__((format(printf, 4, 5)));
void pl_diag_at(struct pl_ctx *cx, const struct ynode *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same for another file than cx's (a merged pipeline's steps). */
void pl_diag_in(struct pl_ctx *cx, const char *file, unsigned line,
                unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Sorts dl's items from index `from` by file, line, column (stable). */
void pl_diags_sort(struct paved_pipeline_diags *dl, size_t from);
/* Moves the items of src to the end of dst (NULL: dropped). */
int pl_diags_move(struct paved_pipeline_diags *dst,
                  struct paved_pipeline_diags *src);
/* The error for the caller: first diagnostic and how many more. */
int pl_diags_fail(const struct paved_pipeline_diags *dl, size_t from);

/* Loads one file of a directory into what the caller collects (a set):
 * 0, PAVED_ENOMEM, or another error already described in diags. */
typedef int (*pl_file_cb)(void *arg, struct paved_pipeline_diags *diags,
                          const char *path);
/* Every definition file of dir (paved_pipeline_list_dir's rules), each
 * given to cb; then every diagnostic is moved to the end of diags.
 * A directory that cannot be listed is one diagnostic and its error; a
 * file that failed makes the result the first diagnostic's error, after
 * all files were tried. Used by pipelines_dir and environments_dir. */
int pl_load_dir(struct paved_pipeline_diags *diags, const char *dir,
                pl_file_cb cb, void *arg);
/* How a parse went: PAVED_ENOMEM if anything could not be allocated, else
 * the first of cx's diagnostics (sorted by position), else 0. */
int pl_ctx_result(struct pl_ctx *cx);

int pl_yaml_load(struct ynode **out, struct pl_ctx *cx, const void *data,
                 size_t len);
void pl_ynode_free(struct ynode *n);
/* Reads a whole file (at most PL_MAX_FILE) for a loader: on failure its
 * diagnostic is added to diags and the error returned with its message
 * set. *out: free(). */
int pl_read_file(char **out, size_t *len, struct paved_pipeline_diags *diags,
                 const char *path);

/* ---- globs (glob.c) ---------------------------------------------------- */
struct pl_globs {
    char **g_items; /* a leading '!' excludes */
    size_t g_n;
    bool g_set; /* the key was present */
};
/* Last pattern that matches decides; a list that starts with an exclusion
 * starts from "matched". */
bool pl_globs_match(const struct pl_globs *g, const char *s);
void pl_globs_clear(struct pl_globs *g);

/* ---- the model (model.c) ----------------------------------------------- */
struct pl_trigger {
    bool t_on;
    struct pl_globs t_refs; /* branches or patterns */
    struct pl_globs t_paths;
    struct pl_globs t_actions; /* pull_request only; plain names */
};

struct pl_step {
    struct paved_step s_pub;
    paved_pipeline_expr *s_if;
    unsigned *s_need_line, *s_need_col;
    unsigned s_name_line, s_name_col;
};

struct paved_pipeline {
    char *pl_name;
    unsigned pl_name_line, pl_name_col;
    char *pl_file;
    char *pl_repo_file; /* the .paved.yaml merged in, or NULL */
    struct pl_trigger pl_push, pl_tag, pl_pr;
    struct pl_globs pl_repos;
    struct paved_pipeline_kv *pl_env;
    size_t pl_nenv;
    char **pl_secrets;
    size_t pl_nsecrets;
    enum paved_pipeline_concurrency pl_conc;
    unsigned pl_max_queued;
    char *pl_group;
    bool pl_extensible;
    struct pl_globs pl_protected_env;
    struct pl_step *pl_steps;
    size_t pl_nsteps;
    char *pl_src; /* the file's bytes: a merge starts from a fresh parse */
    size_t pl_srclen;
};

struct paved_pipeline_repo {
    char *rf_file;
    char *rf_src;
    size_t rf_srclen;
    struct ynode *rf_root;
    const struct ynode *rf_pipeline; /* the `pipeline:` value */
    const struct ynode *rf_env;      /* mapping or NULL */
    const struct ynode *rf_steps;    /* sequence or NULL */
};

/* Builds a pipeline from data; diagnostics into cx. *out is set only
 * when the file had no error. */
int pl_parse(paved_pipeline **out, struct pl_ctx *cx, const void *data,
             size_t len);
/* Reads the `steps:` sequence into pl (from_repo marks them). */
void pl_parse_steps(struct pl_ctx *cx, paved_pipeline *pl,
                    const struct ynode *seq, bool from_repo);
/* Reads an `env:` mapping; protect (may be NULL) lists names a value may
 * not set. Appends or replaces in *kv. */
void pl_parse_env(struct pl_ctx *cx, struct paved_pipeline_kv **kv, size_t *n,
                  const struct ynode *map, const char *what,
                  const struct pl_globs *protect);
/* Step names, needs and cycles, over every step. */
void pl_check_graph(struct pl_ctx *cx, paved_pipeline *pl);
bool pl_name_ok(const char *s);
bool pl_env_name_ok(const char *s);

/* Looks key up in a mapping; duplicates are reported by the walkers. */
const struct ynode *pl_map_get(const struct ynode *map, const char *key);
/* Reports keys of map not in known (with a did-you-mean) and duplicate
 * keys; returns how many problems. */
size_t pl_check_keys(struct pl_ctx *cx, const struct ynode *map,
                     const char *const *known, size_t nknown,
                     const char *where);

#endif
