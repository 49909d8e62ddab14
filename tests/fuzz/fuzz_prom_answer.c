/* Fuzz target for src/delivery/analysis_eval.c: Prometheus's
 * /api/v1/query answers and the placeholder filler. abort() when
 *   - parsing returns a code other than 0 or PAVED_EINVAL, or fails
 *     without saying why in aa_error;
 *   - a VALUE answer is not from exactly one series (or a scalar), or an
 *     ERROR answer has an empty reason;
 *   - filling the input (as a query template) succeeds with a result that
 *     still holds "{{", or with a refused value let through. Never writes
 *     anywhere, never opens a socket. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "paved/analysis.h"
#include "paved/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_fail(const char *what)
{
    fprintf(stderr, "fuzz_prom_answer: %s (last error: %s)\n", what,
            paved_error_last());
    abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct paved_analysis_answer a;
    struct paved_analysis_params p;
    char *text, *out = NULL;
    int rc;

    memset(&a, 0, sizeof(a));
    rc = paved_analysis_parse(&a, (const char *)data, size);
    if (rc != 0 && rc != PAVED_EINVAL)
        fuzz_fail("unexpected error code");
    if ((rc != 0 || a.aa_kind == PAVED_ANSWER_ERROR) && a.aa_error[0] == '\0')
        fuzz_fail("an error without a reason");
    if (rc == 0 && a.aa_kind == PAVED_ANSWER_MANY && a.aa_nseries < 2)
        fuzz_fail("MANY with fewer than two series");

    /* the same bytes as a query template */
    if ((text = malloc(size + 1)) == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    memset(&p, 0, sizeof(p));
    p.ap_service = "checkout";
    p.ap_environment = "production";
    p.ap_version = "v1.2.3";
    p.ap_stable = "v1.2.2";
    p.ap_interval = 30;
    if (strlen(text) == size &&
        paved_analysis_fill(&out, text, &p, "v1.2.3") == 0) {
        if (out == NULL)
            fuzz_fail("filled without a result");
        if (strstr(out, "{{") != NULL)
            fuzz_fail("a placeholder left in a filled query");
    }
    free(out);
    /* a value that could break out of a label string is always refused */
    if (size > 0 && memchr(data, '"', size) != NULL && strlen(text) == size &&
        paved_analysis_check_value("version", text) == 0)
        fuzz_fail("a value with a quote was accepted");
    free(text);
    return 0;
}
