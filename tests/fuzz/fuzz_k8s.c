/* Fuzz target: any bytes as a Kubernetes manifest file. The YAML reader
 * must return documents or an error with a line, never crash, leak, hang
 * or read past len; the checker must turn whatever it reads into
 * findings (at lines inside the input) and finish the set-wide rules,
 * with and without the production rules. The first byte picks the
 * startup budget, so the probe arithmetic sees small and huge ones. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guard/guard_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned
fuzz_lines(const char *s, size_t n)
{
    unsigned lines = 1;
    size_t i;

    for (i = 0; i < n; i++)
        lines += s[i] == '\n';
    return lines;
}

static void
fuzz_walk(const struct ydoc *d, unsigned depth)
{
    long long v;
    bool b;
    size_t i;

    if (d == NULL || depth > GUARD_YDOC_MAX_DEPTH + 1)
        abort(); /* the cap was not kept */
    (void)guard_ydoc_int(d, &v);
    (void)guard_ydoc_bool(d, &b);
    (void)guard_ydoc_str(d);
    (void)guard_ydoc_get(d, "kind");
    (void)guard_ydoc_at(d, "spec", "template", "spec", NULL);
    if (d->yd_type == YD_MAP && d->yd_n % 2 != 0)
        abort();
    for (i = 0; i < d->yd_n; i++)
        fuzz_walk(d->yd_items[i], depth + 1);
}

static void
fuzz_check(const char *s, size_t n, bool production, unsigned budget)
{
    struct paved_findings fs = {0};
    struct guard_k8s_opts o = {budget, production};
    unsigned lines = fuzz_lines(s, n);
    guard_k8s *k = NULL;
    size_t i;

    if (guard_k8s_new(&k, &o) < 0)
        return;
    /* twice: the set-wide rules see objects of several files */
    if (guard_k8s_add(k, &fs, "a.yaml", s, n) == 0 &&
        guard_k8s_add(k, &fs, "b.yaml", s, n) == 0)
        (void)guard_k8s_finish(k, &fs);
    (void)guard_k8s_has_probes(k);
    (void)guard_k8s_count(k);
    for (i = 0; i < fs.fs_n; i++)
        if (fs.fs_items[i].f_line > lines ||
            strchr(fs.fs_items[i].f_message, '\n') != NULL)
            abort(); /* a finding outside the file, or two lines */
    paved_findings_dispose(&fs);
    guard_k8s_free(k);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned budgets[] = {0, 1, 60, 600, 4000000000u};
    struct ydoc **docs = NULL;
    size_t ndocs = 0, i;
    unsigned line;
    char *copy;

    /* an exact-size copy so ASan sees any read past the end */
    if ((copy = malloc(size ? size : 1)) == NULL)
        return 0;
    if (size > 0)
        memcpy(copy, data, size);
    else
        copy[0] = '\0'; /* never read: size is 0 */
    (void)guard_k8s_looks_like(copy, size);
    (void)guard_ydoc_load(&docs, &ndocs, &line, copy, size);
    for (i = 0; i < ndocs; i++)
        fuzz_walk(docs[i], 0);
    guard_ydoc_free_all(docs, ndocs);
    fuzz_check(copy, size, false, budgets[size > 0 ? data[0] % 5 : 0]);
    fuzz_check(copy, size, true, 60);
    free(copy);
    return 0;
}
