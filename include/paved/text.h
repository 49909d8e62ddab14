#ifndef PAVED_TEXT_H
#define PAVED_TEXT_H
/* Small helpers for the words of error messages: how to show a value that
 * came from outside, and which known name a typo probably meant. Used by
 * every parser that reports line:column errors (config, pipelines). */
#include <stddef.h>

/* v quoted, control bytes replaced by '?', cut after 40 bytes with "...",
 * so that hostile input cannot forge lines or flood a message. Returns
 * dst (n bytes; "" if n < 8). */
const char *paved_text_show(char *dst, size_t n, const char *v);
/* The candidate closest to name (case-insensitive edit distance) if it is
 * close enough to be a typo: at most a third of name's length, at least
 * 2. NULL otherwise. NULL candidates are skipped. */
const char *paved_text_suggest(const char *name, const char *const *cands,
                               size_t ncands);

#endif
