/* A main() for fuzz targets in ordinary builds: feeds every file named on
 * the command line (or found directly inside a named directory) to
 * LLVMFuzzerTestOneInput once, so the seed corpus runs as a unit test
 * under any compiler and sanitizer. Never mutates inputs: that is
 * libFuzzer's job in -DPAVED_FUZZ=ON builds. */
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
replay_file(const char *path)
{
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0, n;
    FILE *fp;
    int error = 0;

    if ((fp = fopen(path, "rb")) == NULL) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    for (;;) {
        if (len == cap) {
            uint8_t *p;

            cap = cap ? cap * 2 : 4096;
            if ((p = realloc(buf, cap)) == NULL) {
                fprintf(stderr, "replay: out of memory\n");
                error = -1;
                goto out;
            }
            buf = p;
        }
        n = fread(buf + len, 1, cap - len, fp);
        len += n;
        if (n == 0)
            break;
    }
    if (ferror(fp)) {
        fprintf(stderr, "replay: %s: read error\n", path);
        error = -1;
        goto out;
    }
    /* an exact-size copy, so ASan sees reads past the end of the input */
    {
        uint8_t *exact = malloc(len ? len : 1);

        if (exact == NULL) {
            error = -1;
            goto out;
        }
        if (len > 0)
            memcpy(exact, buf, len);
        LLVMFuzzerTestOneInput(exact, len);
        free(exact);
    }
out:
    free(buf);
    fclose(fp);
    return error;
}

static int
replay_path(const char *path, unsigned long *count)
{
    struct dirent *de;
    struct stat st;
    char child[4096];
    DIR *dir;
    int error = 0;

    if (stat(path, &st) < 0) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        if (replay_file(path) < 0)
            return -1;
        (*count)++;
        return 0;
    }
    if ((dir = opendir(path)) == NULL) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(child, sizeof(child), "%s/%s", path, de->d_name);
        if (stat(child, &st) < 0 || !S_ISREG(st.st_mode))
            continue;
        if (replay_file(child) < 0) {
            error = -1;
            break;
        }
        (*count)++;
    }
    closedir(dir);
    return error;
}

int
main(int argc, char **argv)
{
    unsigned long count = 0;
    int i;

    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR|FILE...\n", argv[0]);
        return 1;
    }
    for (i = 1; i < argc; i++)
        if (replay_path(argv[i], &count) < 0)
            return 1;
    printf("replayed %lu inputs\n", count);
    return 0;
}
