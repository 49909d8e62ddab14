#ifndef PAVED_TRIVY_H
#define PAVED_TRIVY_H
/* Trivy's JSON report (`trivy image --format json`, schema version 2) as
 * plain data, and the vulnerability gate on it: which vulnerabilities fail
 * a run (by severity, optionally only those with a fix), and the report's
 * misconfigurations and secrets as guardrail findings. Reads bytes it is
 * given: never runs Trivy (the scan step does), never prints, and never
 * keeps a secret's Match or Code lines (Trivy prints the secret's
 * neighbourhood there). Every string kept has control characters (C0, DEL,
 * C1) and bidirectional overrides replaced by '?': report text ends up in
 * terminals and pull request annotations. */
#include <stdbool.h>
#include <stddef.h>

#include "paved/guardrails.h"

struct paved_trivy_vuln {
    char *tv_target;    /* Result.Target: "alpine:3.19 (alpine 3.19.1)" */
    char *tv_class;     /* Result.Class: "os-pkgs", "lang-pkgs"; may be NULL */
    char *tv_id;        /* VulnerabilityID: "CVE-2019-18224" */
    char *tv_pkg;       /* PkgName */
    char *tv_installed; /* InstalledVersion, "" when Trivy omits it */
    char *tv_fixed;     /* FixedVersion ("6.0.3.1, 5.2.4.3" is one), NULL
                           when there is none */
    char *tv_title;     /* Title, may be NULL */
    enum paved_severity tv_severity; /* UNKNOWN is info */
};

struct paved_trivy_misconf {
    char *tm_target;     /* the file */
    char *tm_id;         /* "DS-0002" (ID, else AVDID) */
    char *tm_title;      /* Title, else the ID */
    char *tm_message;    /* may be NULL */
    char *tm_resolution; /* may be NULL */
    enum paved_severity tm_severity;
    unsigned tm_line, tm_end_line; /* CauseMetadata.StartLine/EndLine, 0 */
};

struct paved_trivy_secret {
    char *ts_target;
    char *ts_rule;  /* RuleID: "aws-access-key-id" */
    char *ts_title; /* Title, else the RuleID */
    enum paved_severity ts_severity;
    unsigned ts_line, ts_end_line;
    /* Match is never kept: Trivy prints the secret's line there */
};

struct paved_trivy_report {
    char *tr_artifact;      /* ArtifactName, may be NULL */
    char *tr_artifact_type; /* ArtifactType: container_image, repository;
                               may be NULL */
    struct paved_trivy_vuln *tr_vulns;
    size_t tr_nvulns;
    struct paved_trivy_misconf *tr_misconfs; /* Status FAIL (or none) only */
    size_t tr_nmisconfs;
    struct paved_trivy_secret *tr_secrets;
    size_t tr_nsecrets;
    size_t tr_by_severity[5]; /* vulnerabilities per paved_severity */
};

/* PAVED_EINVAL with a message naming what is wrong (not JSON, a key given
 * twice, not a Trivy report: no SchemaVersion 2 or no Results array where
 * one is needed, a field of the wrong type or a severity Trivy does not
 * write, with its place: "Results[0].Vulnerabilities[3].PkgName");
 * PAVED_ETOOBIG past 256 MiB or 1,000,000 entries (Results, vulnerabilities,
 * misconfigurations and secrets together); PAVED_ENOMEM. A report without
 * "Results" (a clean image) is a report with nothing in it. Error messages
 * never quote the report's text, bar a short severity word.
 * *out: paved_trivy_free(). */
int paved_trivy_parse(struct paved_trivy_report **out, const char *json,
                      size_t len);
void paved_trivy_free(struct paved_trivy_report *r); /* NULL: no-op */

struct paved_trivy_gate {
    unsigned tg_severities; /* bit (1u << paved_severity) per severity that
                               fails; default CRITICAL and HIGH */
    bool tg_ignore_unfixed; /* vulnerabilities without FixedVersion pass */
};
#define PAVED_TRIVY_GATE_DEFAULT                                               \
    ((1u << PAVED_SEV_CRITICAL) | (1u << PAVED_SEV_HIGH))
/* "CRITICAL,HIGH" (any case, comma separated, blanks around words allowed;
 * UNKNOWN is info) into a gate mask; PAVED_EINVAL naming the bad word, and
 * *mask is left alone. */
int paved_trivy_gate_parse(unsigned *mask, const char *list);

/* Findings for the gate: one per failing vulnerability (rule
 * trivy.vulnerability, its own severity, message "<pkg> <installed>:
 * <id> (<severity>), fixed in <fixed>: <how to fix>" or "..., no fix yet:
 * <what to do>"), per failed misconfiguration (trivy.misconfiguration, its
 * own severity, at its file and lines) and per secret (trivy.secret, its
 * own severity, at its file and lines, never its text; no f_fingerprint:
 * the report does not hold the secret). path for vulnerabilities:
 * report_path (the report file or the image name), else the report's
 * ArtifactName; line 0. g NULL: the default gate. On PAVED_ENOMEM the
 * findings added so far stay in fs. Returns how many vulnerabilities
 * failed the gate, or an error. */
int paved_trivy_findings(struct paved_findings *fs,
                         const struct paved_trivy_report *r,
                         const struct paved_trivy_gate *g,
                         const char *report_path);

#endif
