#ifndef PAVED_FS_H
#define PAVED_FS_H
/* Small file-system helpers several modules need. Never follows a
 * policy of its own: modes and paths are the caller's. */
#include <sys/types.h>

/* mkdir -p: every missing directory of path is created with mode (an
 * existing one is left as it is). PAVED_EINVAL for an empty or too long
 * path, PAVED_ERROR with the directory and errno's text otherwise. */
int paved_mkdirs(const char *path, mode_t mode);

#endif
