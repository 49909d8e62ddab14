#ifndef PAVED_GUARD_INT_H
#define PAVED_GUARD_INT_H
/* The guardrails' insides, shared by their files:
 *   finding.c  findings, severities, the rule catalog (all tables below)
 *   ydoc.c     YAML documents as trees with line numbers (manifests, policy)
 *   k8s.c      Kubernetes manifest rules
 *   docker.c   Dockerfile rules
 *   secrets.c  secrets in text (files, added diff lines)
 *   trivy.c    Trivy JSON reports (public face: paved/trivy.h)
 *   policy.c   the repository's policy file: severities and exceptions
 *   tree.c     walking a checkout or a diff and running the above
 * Nothing here prints, logs or touches the network. */
#include <stdbool.h>
#include <stddef.h>

#include "paved/guardrails.h"

/* ---- ydoc.c ------------------------------------------------------------ */

enum ydoc_type { YD_SCALAR = 0, YD_MAP, YD_SEQ };

struct ydoc {
    enum ydoc_type yd_type;
    unsigned yd_line, yd_col; /* 1-based; lines as editors count ('\n') */
    bool yd_null;             /* a plain ~, null or empty scalar */
    bool yd_plain;            /* a plain (unquoted) scalar: 8080, true */
    char *yd_value;           /* scalars: NUL-terminated */
    size_t yd_len;
    struct ydoc **yd_items; /* maps: key, value, key, value ...; seqs */
    size_t yd_n;            /* items (a map has yd_n / 2 pairs) */
};

/* Caps on what guard_ydoc_load reads: the whole input, the values of one
 * document (memory is linear in the input: aliases are refused) and the
 * nesting of collections. */
#define GUARD_YDOC_MAX_BYTES (1024 * 1024)
#define GUARD_YDOC_MAX_NODES 10000 /* per document */
#define GUARD_YDOC_MAX_DEPTH 64

/* Every document of a (multi-document) YAML text; empty documents are
 * skipped. Refused, as syntax errors, because a reader that resolved
 * them differently from Kubernetes could be fooled: aliases (*name; a
 * manifest does not need them and they can blow up), merge keys (<<), a
 * key twice in one mapping, a NUL in a value. On a syntax error:
 * PAVED_EINVAL, *err_line (1-based) and a message in paved_error_last()
 * that says what to fix; over a cap: PAVED_ETOOBIG, the same way, with
 * *err_line 0 when the input itself is over GUARD_YDOC_MAX_BYTES. *docs
 * then holds the documents before the broken one (free them).
 * *docs: guard_ydoc_free_all(). */
int guard_ydoc_load(struct ydoc ***docs, size_t *ndocs, unsigned *err_line,
                    const char *data, size_t len);
void guard_ydoc_free(struct ydoc *d); /* NULL: no-op */
void guard_ydoc_free_all(struct ydoc **docs, size_t n);
/* A map's value for key, or NULL (also when d is not a map). */
const struct ydoc *guard_ydoc_get(const struct ydoc *map, const char *key);
/* The key node itself (for the line of `key:`), or NULL. */
const struct ydoc *guard_ydoc_key(const struct ydoc *map, const char *key);
/* The scalar's text, or NULL when d is NULL, not a scalar or null. */
const char *guard_ydoc_str(const struct ydoc *d);
/* A scalar that is a whole number (plain or quoted): 1 and *out; else 0.
 * Plain scalars are read as Kubernetes' YAML 1.1 reader does: 010 is
 * octal, 0x1f hex, 0b101 binary, 1_000 a thousand. */
int guard_ydoc_int(const struct ydoc *d, long long *out);
/* A plain YAML 1.1 boolean as Kubernetes reads it (true, false, yes, no,
 * on, off, y, n in their usual cases): 1 and *out; else 0 (a quoted
 * "true" is a string, which the API server refuses for a bool). */
int guard_ydoc_bool(const struct ydoc *d, bool *out);
/* A path of keys: guard_ydoc_at(d, "spec", "template", "spec", NULL). */
const struct ydoc *guard_ydoc_at(const struct ydoc *d, ...);

/* ---- rule tables, one per checker (finding.c joins them) -------------- */
const struct paved_rule *guard_k8s_rules(size_t *n);
const struct paved_rule *guard_docker_rules(size_t *n);
const struct paved_rule *guard_secrets_rules(size_t *n);
const struct paved_rule *guard_trivy_rules(size_t *n);
const struct paved_rule *guard_policy_rules(size_t *n);
const struct paved_rule *guard_tree_rules(size_t *n);

/* Adds a finding under rule id with the catalog's default severity
 * (policy.c adjusts it later). */
int guard_report(struct paved_findings *fs, const char *id, const char *path,
                 unsigned line, unsigned end_line, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* ---- k8s.c ------------------------------------------------------------- */
/* Manifests are checked per object as they are added; rules that need
 * the whole set (a default-deny NetworkPolicy, a PodDisruptionBudget for
 * a workload with replicas > 1, an HPA's target, a Service's selector) at
 * guard_k8s_finish, called once after the last add. */
typedef struct guard_k8s guard_k8s;
struct guard_k8s_opts {
    unsigned ko_startup_default; /* seconds when no annotation: 60 */
    bool ko_production;          /* digests required for images */
};
/* o NULL, or a ko_startup_default of 0: the defaults. */
int guard_k8s_new(guard_k8s **out, const struct guard_k8s_opts *o);
/* Is this a manifest? A YAML file whose first document has apiVersion
 * and kind. Cheap: callers use it to classify files. */
bool guard_k8s_looks_like(const char *data, size_t len);
/* One file's documents. A document that does not parse is a finding
 * (k8s.yaml-syntax; k8s.too-large over a cap) at its line, not an error,
 * and the documents after it are still checked; PAVED_ENOMEM only.
 * Documents without apiVersion and kind, and kinds without rules, are
 * skipped; a List's items are checked. */
int guard_k8s_add(guard_k8s *k, struct paved_findings *fs, const char *path,
                  const char *data, size_t len);
int guard_k8s_finish(guard_k8s *k, struct paved_findings *fs);
/* Has any container of any workload a readiness, liveness or startup
 * probe? (a Dockerfile without HEALTHCHECK is fine then) */
bool guard_k8s_has_probes(const guard_k8s *k);
/* The manifests have workloads, and every one runs and exits (Jobs,
 * CronJobs, Pods that do not restart): none runs until stopped. */
bool guard_k8s_batch_only(const guard_k8s *k);
/* How many objects were read (for the summary line). */
size_t guard_k8s_count(const guard_k8s *k);
void guard_k8s_free(guard_k8s *k); /* NULL: no-op */

/* ---- docker.c ---------------------------------------------------------- */
struct guard_docker_facts {
    bool df_healthcheck; /* the final stage has a HEALTHCHECK */
};
/* A Dockerfile (line continuations, comments, parser directives,
 * heredocs skipped). The healthcheck rule is the caller's: it needs the
 * manifests too (docker.healthcheck when neither has one). */
int guard_dockerfile(struct paved_findings *fs, struct guard_docker_facts *df,
                     const char *path, const char *data, size_t len);
bool guard_dockerfile_name(const char *basename); /* Dockerfile, *.Dockerfile,
                                                     Dockerfile.* */

/* ---- secrets.c --------------------------------------------------------- */
/* data is text whose first line is line first_line of path (1 for a whole
 * file; a diff hunk's added lines are passed one run at a time with their
 * line numbers). Binary data (a NUL in the first 8 KiB) is skipped. The
 * message shows a redacted form (first 4 characters, then "…") and
 * f_fingerprint is set; the secret's bytes appear nowhere else. */
int guard_secrets_scan(struct paved_findings *fs, const char *path,
                       const char *data, size_t len, unsigned first_line);
/* Does a variable or key name say it holds a credential (DB_PASSWORD,
 * apiKey, client-secret) rather than point at or describe one
 * (PASSWORD_FILE, secretName, token_url)? Case-insensitive. */
bool guard_secrets_key(const char *name, size_t len);
/* The rule ID of the first secret of a fixed format (AWS access key ID,
 * GitHub or Slack token, Slack webhook, private-key header) in s, or
 * NULL: for checkers that find values in their own syntax (a
 * Dockerfile's ENV). The generic rule needs a name: see above. */
const char *guard_secrets_find(const char *s, size_t len);

/* ---- policy.c ---------------------------------------------------------- */
/* The repository's policy file (.paved/policy.yaml): the failing
 * severity, per-rule severities ("off" drops a rule), and exceptions
 * (rule, path or glob, reason, expiry date). Problems in the file are
 * findings (policy.*) in fs, never errors: a broken policy must not hide
 * what the checks found. today: "YYYY-MM-DD" (UTC), the caller's clock. */
struct guard_policy;
int guard_policy_parse(struct guard_policy **out, struct paved_findings *fs,
                       const char *path, const char *data, size_t len,
                       const char *today);
/* A policy with nothing in it (no file): fail_on high. */
int guard_policy_default(struct guard_policy **out);
/* Severities set, "off" rules and excepted findings removed; returns how
 * many were excepted. Findings about the policy itself are kept. */
size_t guard_policy_apply(const struct guard_policy *p,
                          struct paved_findings *fs);
enum paved_severity guard_policy_fail_on(const struct guard_policy *p);
void guard_policy_free(struct guard_policy *p); /* NULL: no-op */

#endif
