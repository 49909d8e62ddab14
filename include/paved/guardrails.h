#ifndef PAVED_GUARDRAILS_H
#define PAVED_GUARDRAILS_H
/* Guardrails: policy checks on Kubernetes manifests, Dockerfiles, text
 * that may hold secrets, and Trivy JSON reports, with every result a
 * finding at file:line under a stable rule ID. The same code is
 * `paved check` on a laptop and the `guardrails` step of a run, so this
 * module never depends on the daemon: no store, no event loop, no
 * network. The checkers read bytes they are given and never print a
 * secret: a finding about one carries a redacted form and a fingerprint. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- severities ------------------------------------------------------- */

enum paved_severity {
    PAVED_SEV_INFO = 0,
    PAVED_SEV_LOW,
    PAVED_SEV_MEDIUM,
    PAVED_SEV_HIGH,
    PAVED_SEV_CRITICAL
};

/* "info" "low" "medium" "high" "critical" */
const char *paved_severity_name(enum paved_severity s);
/* The names above in any case (Trivy writes "CRITICAL"), plus "unknown"
 * as info; PAVED_EINVAL otherwise. */
int paved_severity_parse(enum paved_severity *out, const char *s);

/* ---- findings --------------------------------------------------------- */

struct paved_finding {
    char *f_rule; /* stable ID, "k8s.liveness-startup" */
    enum paved_severity f_severity;
    char *f_path;        /* relative to the checked root, '/' separated */
    unsigned f_line;     /* 1-based; 0: the file as a whole */
    unsigned f_end_line; /* >= f_line; 0 when f_line is 0 */
    char *f_message;     /* one line: what is wrong and how to fix it */
    char *f_fingerprint; /* secrets: "sha256:" + 16 hex of the secret;
                            NULL for other rules */
};

struct paved_findings {
    struct paved_finding *fs_items;
    size_t fs_n, fs_cap;
};

/* Appends a finding; the message is printf-formatted and made one line.
 * end_line 0 means line. PAVED_ENOMEM. */
int paved_findings_add(struct paved_findings *fs, const char *rule,
                       enum paved_severity sev, const char *path, unsigned line,
                       unsigned end_line, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
/* Frees the i-th finding (i < fs_n) and closes the gap, the others'
 * order kept. */
void paved_findings_remove(struct paved_findings *fs, size_t i);
/* Sorts by path, line, rule (a stable, diffable order). */
void paved_findings_sort(struct paved_findings *fs);
/* Frees every finding and empties the list; NULL is a no-op. */
void paved_findings_dispose(struct paved_findings *fs);

/* ---- the rule catalog --------------------------------------------------
 * Every rule any checker can report, with its default severity; the
 * documentation of each is docs/guardrails.md#<id with '.' as '-'>. */
struct paved_rule {
    const char *r_id;
    enum paved_severity r_severity;
    const char *r_summary; /* what it asks for, one line */
};
/* The i-th rule in catalog order (0, 1, ...), NULL past the last. */
const struct paved_rule *paved_guard_rule_at(size_t i);
/* NULL when no rule has that ID. */
const struct paved_rule *paved_guard_rule(const char *id);

/* ---- checking a tree ----------------------------------------------------
 * Walks go_root (symlinks are not followed, .git is skipped), checks every
 * Kubernetes manifest and Dockerfile, scans text for secrets, applies the
 * repository's .paved/policy.yaml. With go_base, secrets are looked for
 * only in the lines the commits since the merge base of go_base and HEAD
 * add (go_root must be a git checkout; when the base is not there, the
 * whole tree is scanned and gr_note says so). */
struct paved_guard_opts {
    const char *go_root;
    const char *go_base;         /* NULL: secrets over the whole tree */
    const char *go_today;        /* "YYYY-MM-DD" UTC, for exception expiry */
    int go_fail_on;              /* -1: the policy's (default high) */
    bool go_production;          /* images must be pinned by digest */
    unsigned go_startup_default; /* 0: 60 s */
};

struct paved_guard_result {
    struct paved_findings gr_findings; /* sorted */
    enum paved_severity gr_fail_on;
    bool gr_failed; /* a finding at or above gr_fail_on */
    size_t gr_files, gr_manifests, gr_dockerfiles, gr_excepted;
    size_t gr_by_severity[5];
    char *gr_note; /* NULL, or what the caller should know */
};

/* PAVED_ENOTFOUND (no such root), PAVED_EINVAL, PAVED_ENOMEM; findings are
 * never errors. *out is zeroed first; dispose it in any case. */
int paved_guard_check(struct paved_guard_result *out,
                      const struct paved_guard_opts *o);
void paved_guard_result_dispose(struct paved_guard_result *r);

enum paved_guard_format {
    PAVED_GUARD_TEXT = 0,   /* "path:line: severity rule: message" + summary */
    PAVED_GUARD_JSON,       /* {"findings": [...], "summary": {...}} */
    PAVED_GUARD_SARIF,      /* SARIF 2.1.0 */
    PAVED_GUARD_ANNOTATIONS /* JSON lines for $PAVED_ANNOTATIONS */
};
/* "text" "json" "sarif" "annotations"; PAVED_EINVAL. */
int paved_guard_format_parse(enum paved_guard_format *out, const char *s);
/* *out: malloc'd NUL-terminated text; version goes into SARIF's tool. */
int paved_guard_render(char **out, const struct paved_guard_result *r,
                       enum paved_guard_format f, const char *version);

/* ---- a policy file's exceptions ----------------------------------------
 * The exceptions of a .paved/policy.yaml read exactly as paved_guard_check
 * reads them, for views that list them (the platform's "exceptions near
 * expiry") without a YAML reader or rules of their own. */
struct paved_policy_exception {
    char *px_rule;    /* a rule ID (see below: maybe not this build's) */
    char *px_path;    /* a path, a glob or a directory ending in '/' */
    char *px_reason;  /* never empty */
    char *px_expires; /* "YYYY-MM-DD", a real calendar day */
    unsigned px_line; /* 1-based: the line of the list item */
};

/* Every complete exception (rule, path, a reason, a valid expires), in
 * file order: what the check applies until its expiry. Expired ones are
 * included: the caller has the clock (the check reports them as
 * policy.exception-expired). Items the check reports as
 * policy.exception-incomplete never apply and are left out. One naming a
 * rule this build does not know is listed (it may be a newer paved's; the
 * check reports it as policy.unknown-rule and does not apply it:
 * paved_guard_rule() tells). A file the check cannot take an exception
 * from at all (not YAML, not one mapping, `exceptions:` not a list):
 * PAVED_EINVAL, or PAVED_ETOOBIG over the YAML reader's caps, with a
 * message that starts "line N: " (unless the whole input is too big); the
 * check reports those as policy.syntax. fail_on and rules are not looked
 * at: a mistake there does not stop exceptions applying. An empty file,
 * or one without exceptions: 0 with *n 0. *out and *n are NULL and 0 on
 * error; free with paved_guard_policy_exceptions_free(*out, *n). */
int paved_guard_policy_exceptions(struct paved_policy_exception **out,
                                  size_t *n, const char *data, size_t len);
/* NULL is a no-op. */
void paved_guard_policy_exceptions_free(struct paved_policy_exception *list,
                                        size_t n);

#endif
