/* Fuzz target for src/guard/secrets.c: any bytes as text, where each
 * 0x01 byte becomes Trivy's dummy GitHub token, so that matches are
 * frequent, not left to luck. abort() when
 *   - a finding names a rule outside the secrets table, or carries
 *     another severity than the table's,
 *   - its lines are outside the text, or end before they start,
 *   - its fingerprint is not "sha256:" and 16 lower-case hex digits,
 *   - its message spans lines or lacks the "…" of the redacted form,
 *   - it is about the token (its fingerprint) and its message holds
 *     eight bytes in a row of the token past the first four,
 *   - a token with no letter or digit on either side, in text that is
 *     not binary, has no finding on its line (nor a key block around it),
 *   - the same text numbered from line 1000 (a diff's run) gives other
 *     findings than those from line 1, moved by 999.
 * guard_secrets_find and guard_secrets_key get the same bytes. Never
 * writes anywhere. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard/guard_int.h"

#define FUZZ_TOKEN "ghp_0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define FUZZ_TOKEN_LEN 40
#define FUZZ_TOKEN_FP "sha256:cfba07816b54a551"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
fuzz_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9');
}

static void
fuzz_check(const struct paved_findings *fs, unsigned first, size_t lines)
{
    const struct paved_rule *t;
    size_t i, j, n;

    t = guard_secrets_rules(&n);
    for (i = 0; i < fs->fs_n; i++) {
        const struct paved_finding *f = &fs->fs_items[i];
        const char *fp = f->f_fingerprint;

        for (j = 0; j < n && strcmp(t[j].r_id, f->f_rule) != 0; j++)
            ;
        if (j == n || f->f_severity != t[j].r_severity) {
            fprintf(stderr, "fuzz_secrets: rule %s\n", f->f_rule);
            abort();
        }
        if (f->f_line < first || f->f_end_line < f->f_line ||
            f->f_end_line >= first + lines) {
            fprintf(stderr, "fuzz_secrets: %s at %u-%u, text %u+%zu\n",
                    f->f_rule, f->f_line, f->f_end_line, first, lines);
            abort();
        }
        if (fp == NULL || strlen(fp) != 23 || strncmp(fp, "sha256:", 7) != 0 ||
            strspn(fp + 7, "0123456789abcdef") != 16)
            abort();
        if (strchr(f->f_message, '\n') != NULL ||
            strstr(f->f_message, "\xe2\x80\xa6") == NULL) {
            fprintf(stderr, "fuzz_secrets: message %s\n", f->f_message);
            abort();
        }
        /* a name in the message is the input's text, so only a finding
         * about the token itself is held to the token */
        for (j = 1; strcmp(fp, FUZZ_TOKEN_FP) == 0 && j + 8 <= FUZZ_TOKEN_LEN;
             j++)
            if (memmem(f->f_message, strlen(f->f_message), &FUZZ_TOKEN[j], 8) !=
                NULL) {
                fprintf(stderr, "fuzz_secrets: token in %s\n", f->f_message);
                abort();
            }
    }
}

/* Every free-standing token has a finding on its line. */
static void
fuzz_tokens_found(const struct paved_findings *fs, const char *text, size_t len)
{
    const char *p = text, *hit;
    unsigned line = 1;
    size_t i;

    if (memchr(text, '\0', len < 8192 ? len : 8192) != NULL) {
        if (fs->fs_n != 0)
            abort(); /* binary: skipped */
        return;
    }
    while ((hit = memmem(p, len - (size_t)(p - text), FUZZ_TOKEN,
                         FUZZ_TOKEN_LEN)) != NULL) {
        for (; p < hit; p++)
            line += *p == '\n';
        p = hit + 1;
        if ((hit > text && fuzz_alnum(hit[-1])) ||
            (hit + FUZZ_TOKEN_LEN < text + len &&
             fuzz_alnum(hit[FUZZ_TOKEN_LEN])))
            continue;
        for (i = 0; i < fs->fs_n; i++)
            if (fs->fs_items[i].f_line <= line &&
                line <= fs->fs_items[i].f_end_line)
                break;
        if (i == fs->fs_n) {
            fprintf(stderr, "fuzz_secrets: token on line %u not found\n", line);
            abort();
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct paved_findings a = {0}, b = {0};
    size_t i, len = 0, lines = 1;
    char *text;

    if ((text = malloc(size * FUZZ_TOKEN_LEN + 1)) == NULL)
        abort();
    for (i = 0; i < size; i++) {
        if (data[i] == 0x01) {
            memcpy(text + len, FUZZ_TOKEN, FUZZ_TOKEN_LEN);
            len += FUZZ_TOKEN_LEN;
        } else {
            text[len++] = (char)data[i];
        }
    }
    for (i = 0; i < len; i++)
        lines += text[i] == '\n';
    if (guard_secrets_scan(&a, "f", text, len, 1) < 0 ||
        guard_secrets_scan(&b, "f", text, len, 1000) < 0)
        abort();
    fuzz_check(&a, 1, lines);
    fuzz_check(&b, 1000, lines);
    fuzz_tokens_found(&a, text, len);
    if (a.fs_n != b.fs_n)
        abort();
    for (i = 0; i < a.fs_n; i++)
        if (strcmp(a.fs_items[i].f_rule, b.fs_items[i].f_rule) != 0 ||
            a.fs_items[i].f_line + 999 != b.fs_items[i].f_line ||
            a.fs_items[i].f_end_line + 999 != b.fs_items[i].f_end_line ||
            strcmp(a.fs_items[i].f_fingerprint, b.fs_items[i].f_fingerprint) !=
                0)
            abort();
    paved_findings_dispose(&a);
    paved_findings_dispose(&b);
    (void)guard_secrets_find(text, len);
    (void)guard_secrets_key(text, len < 200 ? len : 200);
    free(text);
    return 0;
}
