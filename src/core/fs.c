/* File-system helpers (include/paved/fs.h). */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "paved/error.h"
#include "paved/fs.h"

int
paved_mkdirs(const char *path, mode_t mode)
{
    char buf[PATH_MAX];
    size_t n = strlen(path), i;

    if (n == 0 || n >= sizeof(buf))
        return paved_error_set(PAVED_EINVAL, "bad directory name \"%.64s\"",
                               path);
    memcpy(buf, path, n + 1);
    for (i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        buf[i] = '\0';
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
            return paved_error_set(PAVED_ERROR, "mkdir %s: %s", buf,
                                   strerror(errno));
        buf[i] = i < n ? '/' : '\0';
    }
    return 0;
}
