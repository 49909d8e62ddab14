/* Fuzz target for src/guard/trivy.c: paved_trivy_parse() on any bytes must
 * return a report or a documented error (never crash, never leak), and a
 * report it returns must hold what the header promises:
 *   - the per-severity counts add up to the vulnerabilities;
 *   - required fields are present (fixed is NULL or non-empty);
 *   - no kept string has a control character (they become '?');
 *   - the gate's findings: every vulnerability fails a gate of all
 *     severities, one finding per failing vulnerability, misconfiguration
 *     and secret, each a single line.
 * abort() when one does not hold. Never writes anywhere. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "paved/error.h"
#include "paved/trivy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_fail(const char *what)
{
    fprintf(stderr, "fuzz_trivy: %s\n", what);
    abort();
}

/* non-NULL (unless may_null), and free of C0 controls and DEL */
static void
fuzz_check_str(const char *s, int may_null, const char *what)
{
    const unsigned char *p;

    if (s == NULL) {
        if (!may_null)
            fuzz_fail(what);
        return;
    }
    for (p = (const unsigned char *)s; *p != '\0'; p++)
        if (*p < 0x20 || *p == 0x7f)
            fuzz_fail(what);
}

static void
fuzz_check_report(const struct paved_trivy_report *r)
{
    size_t i, sum = 0;

    fuzz_check_str(r->tr_artifact, 1, "artifact");
    fuzz_check_str(r->tr_artifact_type, 1, "artifact type");
    for (i = 0; i < 5; i++)
        sum += r->tr_by_severity[i];
    if (sum != r->tr_nvulns)
        fuzz_fail("severity counts do not add up");
    for (i = 0; i < r->tr_nvulns; i++) {
        const struct paved_trivy_vuln *v = &r->tr_vulns[i];

        fuzz_check_str(v->tv_target, 0, "vuln target");
        fuzz_check_str(v->tv_class, 1, "vuln class");
        fuzz_check_str(v->tv_id, 0, "vuln id");
        fuzz_check_str(v->tv_pkg, 0, "vuln pkg");
        fuzz_check_str(v->tv_installed, 0, "vuln installed");
        fuzz_check_str(v->tv_fixed, 1, "vuln fixed");
        fuzz_check_str(v->tv_title, 1, "vuln title");
        if (v->tv_id[0] == '\0' || v->tv_pkg[0] == '\0' ||
            (v->tv_fixed != NULL && v->tv_fixed[0] == '\0'))
            fuzz_fail("empty vuln field");
        if ((unsigned)v->tv_severity > PAVED_SEV_CRITICAL)
            fuzz_fail("vuln severity");
    }
    for (i = 0; i < r->tr_nmisconfs; i++) {
        const struct paved_trivy_misconf *m = &r->tr_misconfs[i];

        fuzz_check_str(m->tm_target, 0, "misconf target");
        fuzz_check_str(m->tm_id, 0, "misconf id");
        fuzz_check_str(m->tm_title, 0, "misconf title");
        fuzz_check_str(m->tm_message, 1, "misconf message");
        fuzz_check_str(m->tm_resolution, 1, "misconf resolution");
        if ((unsigned)m->tm_severity > PAVED_SEV_CRITICAL)
            fuzz_fail("misconf severity");
    }
    for (i = 0; i < r->tr_nsecrets; i++) {
        const struct paved_trivy_secret *s = &r->tr_secrets[i];

        fuzz_check_str(s->ts_target, 0, "secret target");
        fuzz_check_str(s->ts_rule, 0, "secret rule");
        fuzz_check_str(s->ts_title, 0, "secret title");
        if ((unsigned)s->ts_severity > PAVED_SEV_CRITICAL)
            fuzz_fail("secret severity");
    }
}

static void
fuzz_check_gate(const struct paved_trivy_report *r,
                const struct paved_trivy_gate *g, int want_all)
{
    struct paved_findings fs = {0};
    size_t i, nvuln = 0;
    int failed;

    failed = paved_trivy_findings(&fs, r, g, "report.json");
    if (failed < 0) {
        if (failed != PAVED_ENOMEM)
            fuzz_fail("findings error");
        paved_findings_dispose(&fs);
        return;
    }
    for (i = 0; i < fs.fs_n; i++) {
        const struct paved_finding *f = &fs.fs_items[i];

        if (strchr(f->f_message, '\n') != NULL ||
            strchr(f->f_message, '\r') != NULL)
            fuzz_fail("finding message is not one line");
        if (f->f_fingerprint != NULL)
            fuzz_fail("a fingerprint without the secret");
        nvuln += strcmp(f->f_rule, "trivy.vulnerability") == 0;
    }
    if ((size_t)failed != nvuln || nvuln > r->tr_nvulns ||
        fs.fs_n != nvuln + r->tr_nmisconfs + r->tr_nsecrets)
        fuzz_fail("finding counts");
    if (want_all && nvuln != r->tr_nvulns)
        fuzz_fail("a gate of every severity let one pass");
    paved_findings_dispose(&fs);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct paved_trivy_gate all = {0x1fu, false};
    const struct paved_trivy_gate fixed = {PAVED_TRIVY_GATE_DEFAULT, true};
    struct paved_trivy_report *r = (void *)1;
    int rc;

    rc = paved_trivy_parse(&r, (const char *)data, size);
    if (rc < 0) {
        if (r != NULL)
            fuzz_fail("a report on error");
        if (rc != PAVED_EINVAL && rc != PAVED_ETOOBIG && rc != PAVED_ENOMEM)
            fuzz_fail("an undocumented error code");
        return 0;
    }
    if (rc != 0 || r == NULL)
        fuzz_fail("no report on success");
    fuzz_check_report(r);
    fuzz_check_gate(r, NULL, 0);
    fuzz_check_gate(r, &all, 1);
    fuzz_check_gate(r, &fixed, 0);
    paved_trivy_free(r);
    return 0;
}
