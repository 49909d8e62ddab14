#ifndef PAVED_SCAFFOLD_H
#define PAVED_SCAFFOLD_H
/* Golden paths: a new service's files rendered from templates/ (shared,
 * then types/<type>, then langs/<lang>; docs/golden-paths.md), written
 * into a directory that did not exist, committed as a git repository;
 * and the three-way merge that upgrades a service to newer templates.
 * Everything is rendered in memory before the first byte is written, so
 * a bad answer or a broken template writes nothing. Never writes outside
 * the target directory, never overwrites a file, never follows a link
 * out of the templates. The catalog is the store's, not this module's. */
#include <stddef.h>

#include "paved/workspace.h"

/* What the person asked for: `paved create-service` flags, and what
 * `.paved/answers.yaml` records. Strings are borrowed. */
struct paved_scaffold_answers {
    const char *sa_name;     /* DNS-1123 label, at most 63 */
    const char *sa_type;     /* api | worker | cron */
    const char *sa_lang;     /* go | python | typescript */
    const char *sa_owner;    /* team: a DNS-1123 label */
    const char *sa_registry; /* host[:port][/path] of the images */
    int sa_db, sa_queue;
    int sa_version; /* template version rendered (0: the templates') */
};

/* The answers as read back from .paved/answers.yaml; strings owned. */
struct paved_scaffold_saved {
    char *ss_name, *ss_type, *ss_lang, *ss_owner, *ss_registry;
    int ss_db, ss_queue;
    int ss_version;
};
void paved_scaffold_saved_dispose(struct paved_scaffold_saved *s);

struct paved_scaffold_file {
    char *sf_path; /* relative, '/'-separated: "k8s/deployment.yaml" */
    char *sf_data;
    size_t sf_len;
    int sf_exec; /* the template was executable */
};

/* A rendered service: its files sorted by path, .paved/answers.yaml
 * included. */
struct paved_scaffold {
    struct paved_scaffold_file *sc_files;
    size_t sc_n;
    int sc_version; /* templates/VERSION */
};
void paved_scaffold_free(struct paved_scaffold *sc); /* NULL is a no-op */

/* PAVED_EINVAL with a message that says what is wrong and what is
 * allowed, for the first bad answer. */
int paved_scaffold_check(const struct paved_scaffold_answers *a);

/* The integer in <templates>/VERSION; PAVED_ENOTFOUND, PAVED_EINVAL. */
int paved_scaffold_version(int *out, const char *templates);

/* Renders the templates for a. Errors: paved_scaffold_check's; a missing
 * layer (PAVED_ENOTFOUND, naming the directory); a template error
 * ("types/api/k8s/deployment.yaml:7:3: ..."); a link or special file in
 * the templates (PAVED_EINVAL). *out is NULL on error. */
int paved_scaffold_render(struct paved_scaffold **out, const char *templates,
                          const struct paved_scaffold_answers *a);

/* Creates dir (its parents as needed; dir itself must not exist:
 * PAVED_EEXISTS) and writes every file. top gets the highest directory
 * it created (dir, or a parent it had to make), for the caller to pass to
 * paved_scaffold_remove if a later step fails. On failure it removes
 * what it created itself, so nothing is left behind, and top is "". */
int paved_scaffold_write(const char *dir, const struct paved_scaffold *sc,
                         char *top, size_t toplen);

/* rm -r of a directory paved_scaffold_write (or a caller) created. */
int paved_scaffold_remove(const char *dir);

/* .paved/answers.yaml: the text written, and its parser (every key
 * checked; errors "answers.yaml:LINE:COL: ..."). */
int paved_scaffold_answers_text(char **out, size_t *len,
                                const struct paved_scaffold_answers *a);
int paved_scaffold_answers_parse(struct paved_scaffold_saved *out,
                                 const char *data, size_t len);

struct paved_scaffold_identity {
    const char *si_name, *si_email; /* the platform's author identity */
};

/* Makes dir (already written) a git repository on branch main with one
 * commit of every file, whose message carries the "Paved-Render: N"
 * trailer upgrade-service looks for. commit gets its 40 hex digits. When
 * remote is not NULL, adds it as "origin" and pushes main to it (a
 * non-fast-forward is refused, never forced). */
int paved_scaffold_commit(char commit[41], const char *dir,
                          const struct paved_scaffold *sc,
                          const struct paved_scaffold_identity *id,
                          const char *remote,
                          const struct paved_workspace_cred *cred);

struct paved_scaffold_upgrade {
    char su_name[64];    /* the service, from its answers */
    int su_from, su_to;  /* template versions */
    int su_uptodate;     /* nothing to do: no branch was made */
    char su_branch[128]; /* "paved/upgrade-3" */
    char su_commit[41];  /* the merge commit, when there was no conflict */
    char **su_conflicts; /* paths left with conflict markers */
    size_t su_nconflicts;
};
void paved_scaffold_upgrade_dispose(struct paved_scaffold_upgrade *u);

/* Re-renders the service in dir (a clean git working tree with
 * .paved/answers.yaml) with the templates, as a new render commit whose
 * parent is the last one, and merges it into a new branch made at HEAD:
 * the team's edits stay, the template's changes come in, and files both
 * changed differently are left with conflict markers, the merge not yet
 * committed (git's usual MERGE_HEAD state). */
int paved_scaffold_upgrade(struct paved_scaffold_upgrade *out, const char *dir,
                           const char *templates,
                           const struct paved_scaffold_identity *id);

#endif
