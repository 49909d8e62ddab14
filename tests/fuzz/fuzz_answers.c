/* Fuzz target for src/scaffold/answers.c, the .paved/answers.yaml parser.
 * abort() when
 *   - parsing fails with a code other than PAVED_EINVAL / PAVED_ETOOBIG /
 *     PAVED_ENOMEM, or without a message naming the file;
 *   - it fails but leaves any answer set;
 *   - it succeeds, yet the answers do not pass paved_scaffold_check, or
 *     writing them back and parsing that text does not give the same
 *     answers. Never writes anywhere. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "paved/error.h"
#include "paved/scaffold.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_fail(const char *what)
{
    fprintf(stderr, "fuzz_answers: %s (last error: %s)\n", what,
            paved_error_last());
    abort();
}

static int
same(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct paved_scaffold_saved s, again;
    struct paved_scaffold_answers a;
    char *text = NULL;
    size_t len;
    int rc;

    rc = paved_scaffold_answers_parse(&s, (const char *)data, size);
    if (rc < 0) {
        if (rc != PAVED_EINVAL && rc != PAVED_ETOOBIG && rc != PAVED_ENOMEM)
            fuzz_fail("unexpected error code");
        if (strstr(paved_error_last(), "answers.yaml") == NULL)
            fuzz_fail("error does not name the file");
        if (s.ss_name != NULL || s.ss_type != NULL || s.ss_lang != NULL ||
            s.ss_owner != NULL || s.ss_registry != NULL)
            fuzz_fail("failed parse left answers behind");
        return 0;
    }
    a.sa_name = s.ss_name;
    a.sa_type = s.ss_type;
    a.sa_lang = s.ss_lang;
    a.sa_owner = s.ss_owner;
    a.sa_registry = s.ss_registry;
    a.sa_db = s.ss_db;
    a.sa_queue = s.ss_queue;
    a.sa_version = s.ss_version;
    if (paved_scaffold_check(&a) < 0)
        fuzz_fail("accepted answers that do not pass the check");
    if (paved_scaffold_answers_text(&text, &len, &a) < 0)
        fuzz_fail("cannot write accepted answers");
    if (paved_scaffold_answers_parse(&again, text, len) < 0)
        fuzz_fail("cannot read back what was written");
    if (!same(s.ss_name, again.ss_name) || !same(s.ss_type, again.ss_type) ||
        !same(s.ss_lang, again.ss_lang) || !same(s.ss_owner, again.ss_owner) ||
        !same(s.ss_registry, again.ss_registry) || s.ss_db != again.ss_db ||
        s.ss_queue != again.ss_queue || s.ss_version != again.ss_version)
        fuzz_fail("round trip changed the answers");
    free(text);
    paved_scaffold_saved_dispose(&again);
    paved_scaffold_saved_dispose(&s);
    return 0;
}
