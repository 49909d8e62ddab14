#ifndef PAVED_MASK_H
#define PAVED_MASK_H
/* Secret masking of byte streams (step output), before anything is written.
 * A paved_mask is the compiled set of secret variants: immutable once made,
 * so one mask may serve every stream of a run (and several threads). Each
 * stream keeps its own carry in a struct paved_mask_stream, so that a
 * secret split across two reads of a pipe is still masked.
 * Pure: no I/O, no logging; never copies a secret anywhere but its own
 * memory (cleansed on free). */
#include <stddef.h>

#include "paved/buf.h"

typedef struct paved_mask paved_mask; /* body in src/exec/mask.c */

/* What replaces every occurrence of a secret variant. */
#define PAVED_MASK_TEXT "***"

/* Compiles secrets[0..n) (NULL entries are skipped). A value of at least
 * min_len bytes is hidden as
 *   - its raw bytes, and the value without trailing "\n"/"\r\n";
 *   - standard base64 (with and without '=' padding, also wrapped at 76
 *     columns as base64(1) prints it, and of the value plus "\n" as
 *     `echo "$S" | base64` prints it);
 *   - percent-encoding as encodeURIComponent does it (upper and lower case
 *     hex), when that differs from the raw bytes;
 *   - for a multi-line value, each of its lines ("\n", "\r\n") of at least
 *     min_len bytes, raw.
 * Shorter values are not masked: they would garble unrelated text. Their
 * count goes to *n_short (may be NULL) so the caller can warn. min_len 0 is
 * taken as 1 (an empty value never matches). With no maskable value the
 * mask is a cheap pass-through. *out is owned by the caller. */
int paved_mask_new(paved_mask **out, const char *const *secrets, size_t n,
                   size_t min_len, size_t *n_short);
void paved_mask_free(paved_mask *m); /* NULL is a no-op */
/* Distinct variants compiled (0: pass-through). */
size_t paved_mask_variants(const paved_mask *m);
/* Length of the longest variant: a stream's carry stays below it. */
size_t paved_mask_longest(const paved_mask *m);

/* One stream's state. Plain struct so it can be embedded; touch it only
 * through the functions below. */
struct paved_mask_stream {
    const paved_mask *ms_mask; /* borrowed; NULL: pass-through */
    unsigned char *ms_carry;   /* input not yet decided; 2 * longest bytes,
                                  allocated on first use, never grown */
    size_t ms_len;             /* bytes in ms_carry */
    int ms_failed;             /* an append failed: the stream is unusable */
};

/* m may be NULL (no masking). The mask must outlive the stream. */
void paved_mask_stream_init(struct paved_mask_stream *st, const paved_mask *m);
/* Frees the carry (cleansed: it may hold part of a secret). NULL is a
 * no-op. */
void paved_mask_stream_dispose(struct paved_mask_stream *st);
/* Feeds len bytes (any bytes, NULs included) and appends to out what is
 * now safe to emit, every occurrence of a variant replaced by
 * PAVED_MASK_TEXT. Where variants overlap at a position the longest wins;
 * scanning goes left to right and resumes after a match. Bytes that may
 * still start a variant are kept back (fewer than paved_mask_longest()).
 * PAVED_ENOMEM or PAVED_ETOOBIG (out's cap): out may then hold part of the
 * output and the stream refuses further feeds. */
int paved_mask_feed(struct paved_mask_stream *st, const void *data, size_t len,
                    struct paved_buf *out);
/* End of stream: appends the carry, masked. The stream may be fed again
 * afterwards as a new stream. */
int paved_mask_flush(struct paved_mask_stream *st, struct paved_buf *out);
/* Masks a whole text at once (feed + flush on a temporary stream). */
int paved_mask_apply(const paved_mask *m, const void *data, size_t len,
                     struct paved_buf *out);

#endif
