#ifndef PAVED_SCAFFOLD_INT_H
#define PAVED_SCAFFOLD_INT_H
/* Shared inside src/scaffold/ only. */
#include <stddef.h>

/* A DNS-1035 label: [a-z]([-a-z0-9]*[a-z0-9])?, at most 63. */
int scaffold_label_ok(const char *v);
/* The whole file (a link is refused), NUL-terminated, at most max bytes:
 * PAVED_ENOTFOUND, PAVED_ETOOBIG, PAVED_ERROR. */
int scaffold_read_file(char **out, size_t *len, const char *path, size_t max);

#endif
