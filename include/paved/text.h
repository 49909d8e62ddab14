#ifndef PAVED_TEXT_H
#define PAVED_TEXT_H
/* Small helpers for the words of error messages: how to show a value that
 * came from outside, and which known name a typo probably meant. Used by
 * every parser that reports line:column errors (config, pipelines). */
#include <stddef.h>
#include <stdint.h>

/* v quoted, control bytes replaced by '?', cut after 40 bytes with "...",
 * so that hostile input cannot forge lines or flood a message. Returns
 * dst (n bytes; "" if n < 8). */
const char *paved_text_show(char *dst, size_t n, const char *v);
/* The candidate closest to name (case-insensitive edit distance) if it is
 * close enough to be a typo: at most a third of name's length, at least
 * 2. NULL otherwise. NULL candidates are skipped. */
const char *paved_text_suggest(const char *name, const char *const *cands,
                               size_t ncands);

/* The strict UTF-8 sequence at s[0..n): its length (1-4), with *cp (may
 * be NULL) its code point; 0 when it is not one (an overlong form, a
 * surrogate, past U+10FFFF, cut short by n) or n is 0. The one decoder
 * of every module that cleans or cuts text. */
size_t paved_utf8_decode(const void *s, size_t n, uint32_t *cp);

#endif
