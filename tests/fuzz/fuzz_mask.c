/* Fuzz target for src/exec/mask.c: random secrets, a text that splices in
 * their encoded forms (so matches are frequent, not left to luck), fed in
 * random chunks. abort() when
 *   - the chunked output differs from masking the whole text at once, or
 *   - any form of a secret of at least min_len bytes (raw, trimmed of
 *     trailing newlines, base64 padded and not, percent-encoded upper and
 *     lower case, each long enough line), computed here independently,
 *     survives in the output (a slow memmem search).
 * Secrets never contain '*' (nor NUL: they are C strings), so a form can
 * only survive inside unmasked text, never across a "***".
 * Input layout: min_len byte, count byte, per secret a length byte and the
 * bytes, a chunking seed byte, then the text, where 0x01 followed by a
 * selector byte splices in a form of a secret. Never writes anywhere. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "paved/buf.h"
#include "paved/crypto.h"
#include "paved/mask.h"

#define FUZZ_MAX_SECRETS 4
#define FUZZ_MAX_FORMS 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_forms {
    char *ff_form[FUZZ_MAX_FORMS];
    size_t ff_n;
};

static void
fuzz_add(struct fuzz_forms *f, const char *s, size_t len)
{
    char *c;

    if (len == 0 || f->ff_n == FUZZ_MAX_FORMS)
        return;
    if ((c = strndup(s, len)) == NULL)
        abort();
    f->ff_form[f->ff_n++] = c;
}

static void
fuzz_url(struct fuzz_forms *f, const char *s, size_t len, const char *hex)
{
    static const char keep[] = "-_.!~*'()";
    char *enc;
    size_t i, n = 0;

    if ((enc = malloc(3 * len + 1)) == NULL)
        abort();
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9') || memchr(keep, c, sizeof(keep) - 1)) {
            enc[n++] = (char)c;
        } else {
            enc[n++] = '%';
            enc[n++] = hex[c >> 4];
            enc[n++] = hex[c & 15];
        }
    }
    fuzz_add(f, enc, n);
    free(enc);
}

static void
fuzz_whole(struct fuzz_forms *f, const char *s, size_t len)
{
    char *b64;
    size_t n;

    fuzz_add(f, s, len);
    if (paved_base64_encode(&b64, (const unsigned char *)s, len) < 0)
        abort();
    n = strlen(b64);
    fuzz_add(f, b64, n);
    while (n > 0 && b64[n - 1] == '=')
        n--;
    fuzz_add(f, b64, n);
    free(b64);
    fuzz_url(f, s, len, "0123456789ABCDEF");
    fuzz_url(f, s, len, "0123456789abcdef");
}

/* Every form that must never survive, for one secret. */
static void
fuzz_forms_of(struct fuzz_forms *f, const char *s, size_t min_len)
{
    size_t len = strlen(s), t, a, b;

    if (len < min_len)
        return;
    fuzz_whole(f, s, len);
    for (t = len; t > 0 && (s[t - 1] == '\n' || s[t - 1] == '\r'); t--)
        ;
    if (t >= min_len)
        fuzz_whole(f, s, t);
    if (memchr(s, '\n', len) == NULL)
        return;
    for (a = 0; a < len; a = b + 1) {
        for (b = a; b < len && s[b] != '\n'; b++)
            ;
        t = b - a;
        if (t > 0 && s[a + t - 1] == '\r')
            t--;
        if (t >= min_len)
            fuzz_add(f, s + a, t);
    }
}

static int
fuzz_mem_has(const char *hay, size_t hlen, const char *needle)
{
    return memmem(hay, hlen, needle, strlen(needle)) != NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *secrets[FUZZ_MAX_SECRETS] = {NULL};
    struct fuzz_forms all = {{NULL}, 0}, splice = {{NULL}, 0};
    struct paved_buf text = PAVED_BUF_INIT(1u << 22);
    struct paved_buf whole = PAVED_BUF_INIT(1u << 24);
    struct paved_buf chunked = PAVED_BUF_INIT(1u << 24);
    struct paved_mask_stream st;
    paved_mask *m = NULL;
    size_t pos = 0, min_len, nsec, i, len, at, step;
    unsigned seed;

    if (size < 3)
        return 0;
    min_len = 1 + (data[pos++] & 7);
    nsec = data[pos++] % (FUZZ_MAX_SECRETS + 1);
    for (i = 0; i < nsec; i++) {
        size_t j;

        len = pos < size ? data[pos++] % 64 : 0;
        if (len > size - pos)
            len = size - pos;
        if ((secrets[i] = malloc(len + 1)) == NULL)
            abort();
        for (j = 0; j < len; j++) {
            char c = (char)data[pos + j];

            secrets[i][j] = c == '\0' ? 'N' : c == '*' ? '+' : c;
        }
        secrets[i][len] = '\0';
        pos += len;
        fuzz_forms_of(&all, secrets[i], min_len);
        /* short secrets too: splicing them must leave them as they are */
        fuzz_whole(&splice, secrets[i], strlen(secrets[i]));
    }
    seed = pos < size ? data[pos++] : 0;
    while (pos < size) {
        if (data[pos] == 0x01 && pos + 1 < size && splice.ff_n > 0) {
            const char *form = splice.ff_form[data[pos + 1] % splice.ff_n];
            size_t fl = strlen(form);

            /* the high bit splices a prefix: a near miss */
            if (data[pos + 1] & 0x80)
                fl = fl / 2;
            if (paved_buf_put(&text, form, fl) < 0)
                abort();
            pos += 2;
            continue;
        }
        if (paved_buf_putc(&text, (char)data[pos++]) < 0)
            abort();
    }
    if (paved_mask_new(&m, (const char *const *)secrets, nsec, min_len, NULL) <
        0)
        abort();
    if (text.b_len > 0 &&
        paved_mask_apply(m, text.b_ptr, text.b_len, &whole) < 0)
        abort();
    paved_mask_stream_init(&st, m);
    for (at = 0; at < text.b_len; at += step) {
        seed = seed * 1103515245u + 12345u;
        step = 1 + (seed >> 16) % 97;
        if (step > text.b_len - at)
            step = text.b_len - at;
        if (paved_mask_feed(&st, text.b_ptr + at, step, &chunked) < 0)
            abort();
        if (paved_mask_longest(m) > 0 && st.ms_len >= paved_mask_longest(m))
            abort();
    }
    if (paved_mask_flush(&st, &chunked) < 0)
        abort();
    paved_mask_stream_dispose(&st);
    if (chunked.b_len != whole.b_len ||
        (whole.b_len > 0 &&
         memcmp(chunked.b_ptr, whole.b_ptr, whole.b_len) != 0)) {
        fprintf(stderr, "fuzz_mask: chunked output differs\n");
        abort();
    }
    for (i = 0; i < all.ff_n; i++) {
        if (chunked.b_len > 0 &&
            fuzz_mem_has(chunked.b_ptr, chunked.b_len, all.ff_form[i])) {
            fprintf(stderr, "fuzz_mask: form %zu of a secret leaked\n", i);
            abort();
        }
    }
    paved_mask_free(m);
    for (i = 0; i < all.ff_n; i++)
        free(all.ff_form[i]);
    for (i = 0; i < splice.ff_n; i++)
        free(splice.ff_form[i]);
    for (i = 0; i < nsec; i++)
        free(secrets[i]);
    paved_buf_dispose(&text);
    paved_buf_dispose(&whole);
    paved_buf_dispose(&chunked);
    return 0;
}
