/* Fuzz target for src/guard/policy.c: a repository's .paved/policy.yaml is
 * untrusted input to `paved check` and the guardrails step. Any bytes must
 * give a policy (problems become policy.* findings, never an error other
 * than out of memory), every finding must be one line under a policy.*
 * rule, and applying the policy to a list of findings must keep the
 * policy's own findings and never grow the list. abort() otherwise. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard/guard_int.h"
#include "paved/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_fail(const char *what)
{
    fprintf(stderr, "fuzz_policy: %s\n", what);
    abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const rules[] = {"k8s.host-path", "docker.user-root",
                                        "secrets.aws-access-key",
                                        "k8s.read-only-root-fs", "k8s.pdb"};
    struct paved_findings fs = {0};
    struct guard_policy *p = NULL;
    size_t i, before, own = 0;
    int rc;

    rc = guard_policy_parse(&p, &fs, ".paved/policy.yaml", (const char *)data,
                            size, "2026-11-27");
    if (rc == PAVED_ENOMEM)
        goto out;
    if (rc != 0 || p == NULL)
        fuzz_fail("a policy that does not parse must be findings, not an "
                  "error");
    for (i = 0; i < fs.fs_n; i++) {
        if (strncmp(fs.fs_items[i].f_rule, "policy.", 7) != 0)
            fuzz_fail("a finding about the policy under another rule");
        if (strchr(fs.fs_items[i].f_message, '\n') != NULL)
            fuzz_fail("a message of more than one line");
    }
    own = fs.fs_n;
    for (i = 0; i < sizeof(rules) / sizeof(*rules); i++)
        if (guard_report(&fs, rules[i], i % 2 ? "deploy/a.yaml" : "Dockerfile",
                         (unsigned)i + 1, 0, "finding %zu", i) < 0)
            goto out;
    before = fs.fs_n;
    (void)guard_policy_apply(p, &fs);
    if (fs.fs_n > before || fs.fs_n < own)
        fuzz_fail("apply grew the list or dropped the policy's findings");
    for (i = 0; i < own; i++)
        if (strncmp(fs.fs_items[i].f_rule, "policy.", 7) != 0)
            fuzz_fail("apply dropped a finding about the policy");
    (void)guard_policy_fail_on(p);
out:
    guard_policy_free(p);
    paved_findings_dispose(&fs);
    return 0;
}
