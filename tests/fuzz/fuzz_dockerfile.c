/* Fuzz target for src/guard/docker.c: any bytes as a Dockerfile. abort()
 * when
 *   - a finding names a rule outside the docker table, or carries
 *     another severity than the table's,
 *   - its path is not the one given, its line is 0 or past the input's
 *     last line, its end line is not its line, it has a fingerprint,
 *   - its message is empty or spans lines,
 *   - a second run over the same bytes gives other findings or facts.
 * The first line is also tried as a file name (guard_dockerfile_name).
 * Never writes anywhere. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard/guard_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_check(const struct paved_findings *fs, const char *text, size_t size)
{
    const struct paved_rule *t;
    size_t i, j, n, lines = 1;

    for (i = 0; i < size; i++)
        lines += text[i] == '\n';
    t = guard_docker_rules(&n);
    for (i = 0; i < fs->fs_n; i++) {
        const struct paved_finding *f = &fs->fs_items[i];

        for (j = 0; j < n && strcmp(t[j].r_id, f->f_rule) != 0; j++)
            ;
        if (j == n || f->f_severity != t[j].r_severity) {
            fprintf(stderr, "fuzz_dockerfile: rule %s\n", f->f_rule);
            abort();
        }
        if (strcmp(f->f_path, "Dockerfile") != 0 || f->f_line == 0 ||
            f->f_line > lines || f->f_end_line != f->f_line ||
            f->f_fingerprint != NULL) {
            fprintf(stderr, "fuzz_dockerfile: %s at %u-%u of %zu lines\n",
                    f->f_rule, f->f_line, f->f_end_line, lines);
            abort();
        }
        if (f->f_message[0] == '\0' || strchr(f->f_message, '\n') != NULL)
            abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct paved_findings a = {0}, b = {0};
    struct guard_docker_facts fa, fb;
    const char *text = (const char *)data;
    char name[64];
    size_t i, nl;

    if (guard_dockerfile(&a, &fa, "Dockerfile", text, size) < 0 ||
        guard_dockerfile(&b, &fb, "Dockerfile", text, size) < 0)
        abort(); /* only ENOMEM may fail, and that is not expected here */
    fuzz_check(&a, text, size);
    if (a.fs_n != b.fs_n || fa.df_healthcheck != fb.df_healthcheck)
        abort();
    for (i = 0; i < a.fs_n; i++)
        if (strcmp(a.fs_items[i].f_rule, b.fs_items[i].f_rule) != 0 ||
            a.fs_items[i].f_line != b.fs_items[i].f_line ||
            strcmp(a.fs_items[i].f_message, b.fs_items[i].f_message) != 0)
            abort();
    paved_findings_dispose(&a);
    paved_findings_dispose(&b);
    for (nl = 0; nl < size && nl + 1 < sizeof(name) && data[nl] != '\n' &&
                 data[nl] != '\0';
         nl++)
        name[nl] = (char)data[nl];
    name[nl] = '\0';
    (void)guard_dockerfile_name(name);
    return 0;
}
