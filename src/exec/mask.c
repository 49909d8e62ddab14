/* Secret masking of byte streams. The secret set is compiled once into
 * variants (raw, base64, percent-encoded, lines), bucketed by first byte
 * and, inside a bucket, longest first: so a position is rejected by one
 * table lookup unless some variant starts with its byte, and the first
 * full match found is the longest. A stream keeps back only the bytes that
 * are a proper prefix of some variant, so ordinary output is not delayed.
 * Never does I/O; never puts a secret into an error message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "paved/crypto.h"
#include "paved/error.h"
#include "paved/mask.h"

/* base64(1) wraps its output at this many columns. */
#define MASK_B64_WRAP 76

struct mask_var {
    unsigned char *mv_bytes;
    size_t mv_len;
};

struct paved_mask {
    struct mask_var *m_var; /* by first byte, then longer first */
    size_t m_nvar;
    size_t m_longest;
    size_t m_first[257];      /* bucket of byte c: m_var[m_first[c]..[c + 1]) */
    unsigned char m_has[256]; /* some variant starts with this byte */
};

/* Variants while compiling. */
struct mask_list {
    struct mask_var *ml_var;
    size_t ml_n;
    size_t ml_cap;
};

static void
mask_var_cleanse(struct mask_var *v)
{
    if (v->mv_bytes != NULL) {
        OPENSSL_cleanse(v->mv_bytes, v->mv_len);
        free(v->mv_bytes);
    }
    v->mv_bytes = NULL;
}

/* Takes ownership of bytes (malloc'd, len > 0), also on failure. */
static int
mask_list_take(struct mask_list *l, unsigned char *bytes, size_t len)
{
    struct mask_var *nv;
    size_t cap;

    if (l->ml_n == l->ml_cap) {
        cap = l->ml_cap ? l->ml_cap * 2 : 16;
        if (cap > SIZE_MAX / sizeof(*nv) ||
            (nv = realloc(l->ml_var, cap * sizeof(*nv))) == NULL) {
            OPENSSL_cleanse(bytes, len);
            free(bytes);
            return paved_error_set(PAVED_ENOMEM, "out of memory");
        }
        l->ml_var = nv;
        l->ml_cap = cap;
    }
    l->ml_var[l->ml_n].mv_bytes = bytes;
    l->ml_var[l->ml_n].mv_len = len;
    l->ml_n++;
    return 0;
}

static int
mask_list_add(struct mask_list *l, const void *bytes, size_t len)
{
    unsigned char *copy;

    if (len == 0)
        return 0;
    if ((copy = malloc(len)) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    memcpy(copy, bytes, len);
    return mask_list_take(l, copy, len);
}

/* base64 of v (and of v + "\n" when nl): padded, unpadded, and wrapped as
 * base64(1) prints it. */
static int
mask_add_base64(struct mask_list *l, const unsigned char *v, size_t len, int nl)
{
    unsigned char *in = NULL, *wrapped = NULL;
    char *b64 = NULL;
    size_t n, i, w, inlen = len + (nl ? 1 : 0);
    int error;

    if ((in = malloc(inlen)) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    memcpy(in, v, len);
    if (nl)
        in[len] = '\n';
    if ((error = paved_base64_encode(&b64, in, inlen)) < 0)
        goto out;
    n = strlen(b64);
    if ((error = mask_list_add(l, b64, n)) < 0)
        goto out;
    /* without padding: a prefix of the padded form, so it only counts
     * where the padding was dropped (longest match wins otherwise) */
    i = n;
    while (i > 0 && b64[i - 1] == '=')
        i--;
    if (i != n && (error = mask_list_add(l, b64, i)) < 0)
        goto out;
    if (n > MASK_B64_WRAP) {
        if ((wrapped = malloc(n + n / MASK_B64_WRAP)) == NULL) {
            error = paved_error_set(PAVED_ENOMEM, "out of memory");
            goto out;
        }
        for (i = 0, w = 0; i < n; i++) {
            if (i > 0 && i % MASK_B64_WRAP == 0)
                wrapped[w++] = '\n';
            wrapped[w++] = (unsigned char)b64[i];
        }
        error = mask_list_take(l, wrapped, w);
        wrapped = NULL;
        if (error < 0)
            goto out;
    }
out:
    if (in != NULL) {
        OPENSSL_cleanse(in, inlen);
        free(in);
    }
    if (b64 != NULL) {
        OPENSSL_cleanse(b64, strlen(b64));
        free(b64);
    }
    return error;
}

/* encodeURIComponent keeps these as they are. */
static int
mask_url_unreserved(unsigned char c)
{
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
        (c >= '0' && c <= '9'))
        return 1;
    return c != '\0' && strchr("-_.!~*'()", c) != NULL;
}

static int
mask_add_url(struct mask_list *l, const unsigned char *v, size_t len,
             const char *digits)
{
    unsigned char *enc;
    size_t i, n = 0;
    int changed = 0;

    if (len > SIZE_MAX / 3)
        return paved_error_set(PAVED_ETOOBIG, "secret too long");
    if ((enc = malloc(len * 3)) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    for (i = 0; i < len; i++) {
        if (mask_url_unreserved(v[i])) {
            enc[n++] = v[i];
            continue;
        }
        enc[n++] = '%';
        enc[n++] = (unsigned char)digits[v[i] >> 4];
        enc[n++] = (unsigned char)digits[v[i] & 0xf];
        changed = 1;
    }
    if (!changed) {
        OPENSSL_cleanse(enc, n);
        free(enc);
        return 0;
    }
    return mask_list_take(l, enc, n);
}

/* Everything that hides the whole value v. */
static int
mask_add_encodings(struct mask_list *l, const unsigned char *v, size_t len)
{
    int error;

    if ((error = mask_list_add(l, v, len)) < 0 ||
        (error = mask_add_base64(l, v, len, 0)) < 0 ||
        (error = mask_add_base64(l, v, len, 1)) < 0 ||
        (error = mask_add_url(l, v, len, "0123456789ABCDEF")) < 0 ||
        (error = mask_add_url(l, v, len, "0123456789abcdef")) < 0)
        return error;
    return 0;
}

static int
mask_add_secret(struct mask_list *l, const unsigned char *v, size_t len,
                size_t min_len)
{
    const unsigned char *p, *end, *nl;
    size_t trimmed, line;
    int error;

    if ((error = mask_add_encodings(l, v, len)) < 0)
        return error;
    /* secrets read from files usually end with a newline the step never
     * prints: hide the value without it, in every encoding, too */
    trimmed = len;
    while (trimmed > 0 && (v[trimmed - 1] == '\n' || v[trimmed - 1] == '\r'))
        trimmed--;
    if (trimmed != len && trimmed >= min_len &&
        (error = mask_add_encodings(l, v, trimmed)) < 0)
        return error;
    if (memchr(v, '\n', len) == NULL)
        return 0;
    /* a multi-line value (a key, a certificate) is often printed a line at
     * a time, or with other line endings: hide each long enough line */
    for (p = v, end = v + len; p < end; p = nl + 1) {
        if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
            nl = end;
        line = (size_t)(nl - p);
        if (line > 0 && p[line - 1] == '\r')
            line--;
        if (line >= min_len && (error = mask_list_add(l, p, line)) < 0)
            return error;
    }
    return 0;
}

/* Order: first byte, then longer first, then bytes (to find duplicates). */
static int
mask_var_cmp(const void *a, const void *b)
{
    const struct mask_var *x = a, *y = b;

    if (x->mv_bytes[0] != y->mv_bytes[0])
        return x->mv_bytes[0] < y->mv_bytes[0] ? -1 : 1;
    if (x->mv_len != y->mv_len)
        return x->mv_len > y->mv_len ? -1 : 1;
    return memcmp(x->mv_bytes, y->mv_bytes, x->mv_len);
}

int
paved_mask_new(paved_mask **out, const char *const *secrets, size_t n,
               size_t min_len, size_t *n_short)
{
    struct mask_list l = {NULL, 0, 0};
    paved_mask *m = NULL;
    size_t i, j, len, nshort = 0;
    int error = 0;

    *out = NULL;
    if (n_short != NULL)
        *n_short = 0;
    if (min_len == 0)
        min_len = 1;
    if (n > 0 && secrets == NULL)
        return paved_error_set(PAVED_EINVAL, "mask: no secrets array");
    if ((m = calloc(1, sizeof(*m))) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    for (i = 0; i < n; i++) {
        if (secrets[i] == NULL)
            continue;
        len = strlen(secrets[i]);
        if (len < min_len) {
            nshort++;
            continue;
        }
        if ((error = mask_add_secret(&l, (const unsigned char *)secrets[i], len,
                                     min_len)) < 0)
            goto out;
    }
    if (l.ml_n > 0)
        qsort(l.ml_var, l.ml_n, sizeof(*l.ml_var), mask_var_cmp);
    /* drop duplicates (a value equal to its trimmed form, two secrets
     * with the same value...) */
    for (i = 0, j = 0; i < l.ml_n; i++) {
        if (j > 0 && mask_var_cmp(&l.ml_var[j - 1], &l.ml_var[i]) == 0) {
            mask_var_cleanse(&l.ml_var[i]);
            continue;
        }
        l.ml_var[j++] = l.ml_var[i];
    }
    l.ml_n = j;
    for (i = 0; i < l.ml_n; i++) {
        unsigned char c = l.ml_var[i].mv_bytes[0];

        m->m_has[c] = 1;
        m->m_first[c + 1]++;
        if (l.ml_var[i].mv_len > m->m_longest)
            m->m_longest = l.ml_var[i].mv_len;
    }
    for (i = 1; i < 257; i++)
        m->m_first[i] += m->m_first[i - 1];
    m->m_var = l.ml_var;
    m->m_nvar = l.ml_n;
    l.ml_var = NULL;
    l.ml_n = 0;
    if (n_short != NULL)
        *n_short = nshort;
    *out = m;
    m = NULL;
out:
    for (i = 0; i < l.ml_n; i++)
        mask_var_cleanse(&l.ml_var[i]);
    free(l.ml_var);
    paved_mask_free(m);
    return error;
}

void
paved_mask_free(paved_mask *m)
{
    size_t i;

    if (m == NULL)
        return;
    for (i = 0; i < m->m_nvar; i++)
        mask_var_cleanse(&m->m_var[i]);
    free(m->m_var);
    free(m);
}

size_t
paved_mask_variants(const paved_mask *m)
{
    return m != NULL ? m->m_nvar : 0;
}

size_t
paved_mask_longest(const paved_mask *m)
{
    return m != NULL ? m->m_longest : 0;
}

/* At p (avail bytes, avail > 0, some variant starts with *p): 1 and *mlen
 * for the longest variant found there, 0 for none, -1 when a variant that
 * does not fit yet starts with the available bytes (undecided; only when
 * !final). Buckets are longest first: a longer candidate is always looked
 * at before a shorter full match is accepted. */
static int
mask_match(const paved_mask *m, const unsigned char *p, size_t avail, int final,
           size_t *mlen)
{
    const struct mask_var *v;
    size_t i;

    for (i = m->m_first[p[0]]; i < m->m_first[p[0] + 1]; i++) {
        v = &m->m_var[i];
        if (v->mv_len <= avail) {
            if (memcmp(v->mv_bytes, p, v->mv_len) == 0) {
                *mlen = v->mv_len;
                return 1;
            }
        } else if (!final && memcmp(v->mv_bytes, p, avail) == 0) {
            return -1;
        }
    }
    return 0;
}

/* Decides the positions of buf[from..len) below stop, appending the
 * output; *next is the first position not decided: >= stop, or one that
 * is undecided when !final. A match may end past stop. */
static int
mask_scan(const paved_mask *m, const unsigned char *buf, size_t len,
          size_t from, size_t stop, int final, struct paved_buf *out,
          size_t *next)
{
    size_t pos = from, start = from, mlen = 0;
    int r, error;

    while (pos < stop) {
        if (!m->m_has[buf[pos]]) {
            pos++;
            continue;
        }
        r = mask_match(m, buf + pos, len - pos, final, &mlen);
        if (r < 0)
            break;
        if (r == 0) {
            pos++;
            continue;
        }
        if ((error = paved_buf_put(out, buf + start, pos - start)) < 0 ||
            (error = paved_buf_put(out, PAVED_MASK_TEXT,
                                   sizeof(PAVED_MASK_TEXT) - 1)) < 0)
            return error;
        pos += mlen;
        start = pos;
    }
    if ((error = paved_buf_put(out, buf + start, pos - start)) < 0)
        return error;
    *next = pos;
    return 0;
}

void
paved_mask_stream_init(struct paved_mask_stream *st, const paved_mask *m)
{
    st->ms_mask = m;
    st->ms_carry = NULL;
    st->ms_len = 0;
    st->ms_failed = 0;
}

void
paved_mask_stream_dispose(struct paved_mask_stream *st)
{
    if (st == NULL)
        return;
    if (st->ms_carry != NULL) {
        OPENSSL_cleanse(st->ms_carry, 2 * st->ms_mask->m_longest);
        free(st->ms_carry);
    }
    st->ms_carry = NULL;
    st->ms_len = 0;
}

/* Keeps buf[from..len) (fewer than m_longest bytes) as the carry. */
static void
mask_keep(struct paved_mask_stream *st, const unsigned char *buf, size_t from,
          size_t len)
{
    memmove(st->ms_carry, buf + from, len - from);
    st->ms_len = len - from;
}

static int
mask_feed(struct paved_mask_stream *st, const unsigned char *data, size_t len,
          struct paved_buf *out)
{
    const paved_mask *m = st->ms_mask;
    size_t longest = m->m_longest, next = 0, j;
    int error;

    if (st->ms_carry == NULL && (st->ms_carry = malloc(2 * longest)) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    if (st->ms_len == 0) {
        if ((error = mask_scan(m, data, len, 0, len, 0, out, &next)) < 0)
            return error;
        mask_keep(st, data, next, len);
        return 0;
    }
    if (st->ms_len + len <= 2 * longest) {
        memcpy(st->ms_carry + st->ms_len, data, len);
        st->ms_len += len;
        if ((error = mask_scan(m, st->ms_carry, st->ms_len, 0, st->ms_len, 0,
                               out, &next)) < 0)
            return error;
        mask_keep(st, st->ms_carry, next, st->ms_len);
        return 0;
    }
    /* Long input: decide the carry's positions on carry + the first
     * longest - 1 bytes of data, which covers every variant starting in
     * the carry (so none is undecided there), then go on in data itself
     * without copying it. Here len > longest since carry < longest. */
    j = st->ms_len;
    memcpy(st->ms_carry + j, data, longest - 1);
    if ((error = mask_scan(m, st->ms_carry, j + longest - 1, 0, j, 0, out,
                           &next)) < 0)
        return error;
    if ((error = mask_scan(m, data, len, next - j, len, 0, out, &next)) < 0)
        return error;
    mask_keep(st, data, next, len);
    return 0;
}

int
paved_mask_feed(struct paved_mask_stream *st, const void *data, size_t len,
                struct paved_buf *out)
{
    int error;

    if (st->ms_failed)
        return paved_error_set(PAVED_ERROR, "mask stream failed earlier");
    if (len == 0)
        return 0;
    if (st->ms_mask == NULL || st->ms_mask->m_nvar == 0)
        return paved_buf_put(out, data, len);
    if ((error = mask_feed(st, data, len, out)) < 0)
        st->ms_failed = 1;
    return error;
}

int
paved_mask_flush(struct paved_mask_stream *st, struct paved_buf *out)
{
    size_t next;
    int error;

    if (st->ms_failed)
        return paved_error_set(PAVED_ERROR, "mask stream failed earlier");
    if (st->ms_len == 0)
        return 0;
    if ((error = mask_scan(st->ms_mask, st->ms_carry, st->ms_len, 0, st->ms_len,
                           1, out, &next)) < 0) {
        st->ms_failed = 1;
        return error;
    }
    OPENSSL_cleanse(st->ms_carry, st->ms_len);
    st->ms_len = 0;
    return 0;
}

int
paved_mask_apply(const paved_mask *m, const void *data, size_t len,
                 struct paved_buf *out)
{
    struct paved_mask_stream st;
    int error;

    paved_mask_stream_init(&st, m);
    if ((error = paved_mask_feed(&st, data, len, out)) == 0)
        error = paved_mask_flush(&st, out);
    paved_mask_stream_dispose(&st);
    return error;
}
