/* Directory artifacts: a content-addressed copy of a built checkout that
 * the local driver runs versions from (include/paved/artifact.h). The tree
 * is read twice: once to name it (the digest), once to copy it into a
 * temporary directory beside the target while hashing what is written;
 * the two must agree, and only then is the copy renamed into place. All
 * file access goes through directory descriptors with O_NOFOLLOW, so a
 * symlink swapped in while we walk is never followed. Never follows a
 * symlink, never writes outside artifacts_dir, never records anything. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "paved/artifact.h"
#include "paved/crypto.h"
#include "paved/error.h"
#include "paved/fs.h"

#define DIR_FORMAT "paved-dir-v1"
#define DIR_MAX_DEPTH 128
#define DIR_MAX_HOPS 40 /* symlinks followed to resolve one target */
#define DIR_COPY_BUF (128 * 1024)

struct dir_entry {
    char *de_path; /* relative to the root, no leading "./" */
    char de_type;  /* 'd', 'f', 'l' */
    unsigned de_mode;
    unsigned long long de_size;
    unsigned char de_hash[32]; /* content or link target; zero for 'd' */
};

struct dir_walk {
    int dw_root;            /* the source root, for resolving symlinks */
    bool dw_copy;           /* write into the destination too */
    char dw_path[PATH_MAX]; /* relative path of the entry being visited */
    struct dir_entry *dw_ents;
    size_t dw_n, dw_cap;
    EVP_MD_CTX *dw_md;
    unsigned char *dw_buf; /* DIR_COPY_BUF bytes */
};

static void
dir_walk_dispose(struct dir_walk *w)
{
    size_t i;

    for (i = 0; i < w->dw_n; i++)
        free(w->dw_ents[i].de_path);
    free(w->dw_ents);
    EVP_MD_CTX_free(w->dw_md);
    free(w->dw_buf);
    if (w->dw_root >= 0)
        close(w->dw_root);
    memset(w, 0, sizeof(*w));
    w->dw_root = -1;
}

static int
dir_walk_init(struct dir_walk *w, const char *src, bool copy)
{
    memset(w, 0, sizeof(*w));
    w->dw_copy = copy;
    w->dw_root = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (w->dw_root < 0)
        return paved_error_set(
            errno == ENOENT || errno == ENOTDIR ? PAVED_ENOTFOUND : PAVED_ERROR,
            "open %s: %s", src, strerror(errno));
    if ((w->dw_md = EVP_MD_CTX_new()) == NULL ||
        (w->dw_buf = malloc(DIR_COPY_BUF)) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    return 0;
}

static struct dir_entry *
dir_add(struct dir_walk *w, char type, unsigned mode)
{
    struct dir_entry *e;

    if (w->dw_n == w->dw_cap) {
        size_t cap = w->dw_cap ? w->dw_cap * 2 : 256;
        struct dir_entry *n = realloc(w->dw_ents, cap * sizeof(*n));
        if (n == NULL)
            return NULL;
        w->dw_ents = n;
        w->dw_cap = cap;
    }
    e = &w->dw_ents[w->dw_n];
    memset(e, 0, sizeof(*e));
    if ((e->de_path = strdup(w->dw_path)) == NULL)
        return NULL;
    e->de_type = type;
    e->de_mode = mode;
    w->dw_n++;
    return e;
}

/* Does the relative link target, read from a link in directory `dir`,
 * stay inside the tree? Walked component by component, substituting
 * every symlink met inside the tree by its own target, so that "s/.."
 * with s -> "." is seen to leave it. Components that do not exist are
 * taken as plain names: a dangling link is kept only when even its
 * spelling stays inside. 0, or PAVED_EINVAL with the reason in *why. */
static int
dir_link_inside(const char **why, int root, const char *dir, const char *target)
{
    char cur[PATH_MAX], rest[2 * PATH_MAX], next[2 * PATH_MAX];
    char link[PATH_MAX];
    size_t clen = strlen(dir), hops = 0;
    const char *p;

    if (target[0] == '/') {
        *why = "an absolute target";
        return PAVED_EINVAL;
    }
    if (clen >= sizeof(cur) || strlen(target) >= sizeof(rest)) {
        *why = "a path too long";
        return PAVED_EINVAL;
    }
    memcpy(cur, dir, clen + 1);
    memcpy(rest, target, strlen(target) + 1);
    p = rest;
    while (*p != '\0') {
        const char *end = strchr(p, '/');
        size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
        struct stat st;
        ssize_t ln;

        if (n == 0 || (n == 1 && p[0] == '.')) {
            p += n + (end != NULL);
            continue;
        }
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            char *slash;
            if (clen == 0) {
                *why = "a target that leaves the tree";
                return PAVED_EINVAL;
            }
            slash = strrchr(cur, '/');
            clen = slash != NULL ? (size_t)(slash - cur) : 0;
            cur[clen] = '\0';
            p += n + (end != NULL);
            continue;
        }
        if (clen + 1 + n >= sizeof(cur)) {
            *why = "a path too long";
            return PAVED_EINVAL;
        }
        if (clen > 0)
            cur[clen++] = '/';
        memcpy(cur + clen, p, n);
        cur[clen + n] = '\0';
        p += n + (end != NULL);
        if (fstatat(root, cur, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISLNK(st.st_mode)) {
            /* the link is replaced by its target, read from where the
             * link is; the rest of the path follows it */
            if (++hops > DIR_MAX_HOPS) {
                *why = "too many levels of symlinks";
                return PAVED_EINVAL;
            }
            ln = readlinkat(root, cur, link, sizeof(link) - 1);
            if (ln < 0 || (size_t)ln >= sizeof(link) - 1) {
                *why = "a symlink on its way that cannot be read";
                return PAVED_EINVAL;
            }
            link[ln] = '\0';
            if (link[0] == '/') {
                *why = "a symlink on its way with an absolute target";
                return PAVED_EINVAL;
            }
            if ((size_t)snprintf(next, sizeof(next), "%s/%s", link, p) >=
                sizeof(next)) {
                *why = "a path too long";
                return PAVED_EINVAL;
            }
            memcpy(rest, next, strlen(next) + 1);
            p = rest;
            /* back to the directory holding the link: clen is where
             * its name starts, after the '/' */
            if (clen > 0)
                clen--;
            cur[clen] = '\0';
        } else {
            clen += n;
        }
    }
    return 0;
}

/* The relative path of entry `name` in the directory at dw_path[0..plen] */
static int
dir_path_set(struct dir_walk *w, size_t plen, const char *name)
{
    size_t n = strlen(name);

    if (plen + 1 + n >= sizeof(w->dw_path))
        return paved_error_set(PAVED_EINVAL, "path too long: %.*s/%s",
                               (int)plen, w->dw_path, name);
    if (plen > 0)
        w->dw_path[plen++] = '/';
    memcpy(w->dw_path + plen, name, n + 1);
    return 0;
}

static int
dir_write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static int
dir_file(struct dir_walk *w, int sfd, int dfd, const char *name)
{
    struct dir_entry *e;
    struct stat st;
    struct timespec ts[2];
    unsigned long long size = 0;
    unsigned int hl = 0;
    int in = -1, out = -1, error = 0;

    in = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
    if (in < 0 || fstat(in, &st) < 0) {
        error = paved_error_set(PAVED_ERROR, "read %s: %s", w->dw_path,
                                strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        error =
            paved_error_set(PAVED_ERROR, "%s changed while read", w->dw_path);
        goto out;
    }
    if ((e = dir_add(w, 'f', st.st_mode & 0777)) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    if (w->dw_copy) {
        out =
            openat(dfd, name,
                   O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (out < 0) {
            error = paved_error_set(PAVED_ERROR, "create %s: %s", w->dw_path,
                                    strerror(errno));
            goto out;
        }
    }
    if (EVP_DigestInit_ex(w->dw_md, EVP_sha256(), NULL) != 1) {
        error = paved_error_set(PAVED_ERROR, "sha256: cannot initialize");
        goto out;
    }
    for (;;) {
        ssize_t k = read(in, w->dw_buf, DIR_COPY_BUF);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            error = paved_error_set(PAVED_ERROR, "read %s: %s", w->dw_path,
                                    strerror(errno));
            goto out;
        }
        if (k == 0)
            break;
        size += (unsigned long long)k;
        if (EVP_DigestUpdate(w->dw_md, w->dw_buf, (size_t)k) != 1) {
            error = paved_error_set(PAVED_ERROR, "sha256: update failed");
            goto out;
        }
        if (out >= 0 && dir_write_all(out, w->dw_buf, (size_t)k) < 0) {
            error = paved_error_set(PAVED_ERROR, "write %s: %s", w->dw_path,
                                    strerror(errno));
            goto out;
        }
    }
    if (EVP_DigestFinal_ex(w->dw_md, e->de_hash, &hl) != 1 || hl != 32) {
        error = paved_error_set(PAVED_ERROR, "sha256: final failed");
        goto out;
    }
    e->de_size = size;
    if (out >= 0) {
        /* modes and mtimes as in the source: make (run by the local
         * driver's start command) must find its targets up to date */
        ts[0] = st.st_atim;
        ts[1] = st.st_mtim;
        if (fchmod(out, st.st_mode & 0777) < 0 || futimens(out, ts) < 0) {
            error = paved_error_set(PAVED_ERROR, "set mode and mtime of %s: %s",
                                    w->dw_path, strerror(errno));
            goto out;
        }
    }
out:
    if (in >= 0)
        close(in);
    if (out >= 0 && close(out) < 0 && error == 0)
        error = paved_error_set(PAVED_ERROR, "write %s: %s", w->dw_path,
                                strerror(errno));
    return error;
}

static int
dir_symlink(struct dir_walk *w, int sfd, int dfd, const char *name,
            const struct stat *st, size_t plen)
{
    char target[PATH_MAX];
    struct timespec ts[2];
    struct dir_entry *e;
    const char *why = NULL;
    unsigned int hl = 0;
    ssize_t n;
    int error;

    n = readlinkat(sfd, name, target, sizeof(target) - 1);
    if (n < 0 || (size_t)n >= sizeof(target) - 1)
        return paved_error_set(PAVED_ERROR, "readlink %s: %s", w->dw_path,
                               n < 0 ? strerror(errno) : "target too long");
    target[n] = '\0';
    /* the directory holding the link is dw_path[0..plen] */
    w->dw_path[plen] = '\0';
    (void)dir_link_inside(&why, w->dw_root, w->dw_path, target);
    if ((error = dir_path_set(w, plen, name)) < 0)
        return error;
    if (why != NULL)
        return paved_error_set(
            PAVED_EINVAL,
            "symlink %s -> %s points outside the tree (%s): a directory "
            "artifact keeps only relative links that stay inside; make it "
            "relative or copy the file it points to",
            w->dw_path, target, why);
    if ((e = dir_add(w, 'l', 0)) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    e->de_size = (unsigned long long)n;
    if (EVP_Digest(target, (size_t)n, e->de_hash, &hl, EVP_sha256(), NULL) !=
            1 ||
        hl != 32)
        return paved_error_set(PAVED_ERROR, "sha256 failed");
    if (w->dw_copy) {
        ts[0] = st->st_atim;
        ts[1] = st->st_mtim;
        if (symlinkat(target, dfd, name) < 0 ||
            utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
            return paved_error_set(PAVED_ERROR, "symlink %s: %s", w->dw_path,
                                   strerror(errno));
    }
    return 0;
}

static int
dir_names_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in directory sfd (without ".", ".." and ".git"), sorted so
 * that the copy is made in a stable order; the directory is closed again
 * before descending, so a deep tree holds two descriptors a level. */
static int
dir_names(char ***out, size_t *n, struct dir_walk *w, int sfd)
{
    char **names = NULL, **grown;
    size_t len = 0, cap = 0, i;
    struct dirent *de;
    DIR *d = NULL;
    int fd, error = 0;

    *out = NULL;
    *n = 0;
    if ((fd = dup(sfd)) < 0 || (d = fdopendir(fd)) == NULL) {
        error =
            paved_error_set(PAVED_ERROR, "open %s: %s",
                            w->dw_path[0] ? w->dw_path : ".", strerror(errno));
        if (fd >= 0)
            close(fd);
        return error;
    }
    rewinddir(d);
    for (;;) {
        errno = 0;
        if ((de = readdir(d)) == NULL) {
            if (errno != 0)
                error = paved_error_set(PAVED_ERROR, "read directory %s: %s",
                                        w->dw_path[0] ? w->dw_path : ".",
                                        strerror(errno));
            break;
        }
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
            strcmp(de->d_name, ".git") == 0)
            continue;
        if (len == cap) {
            cap = cap ? cap * 2 : 32;
            if ((grown = realloc(names, cap * sizeof(*names))) == NULL) {
                error = paved_error_set(PAVED_ENOMEM, "out of memory");
                break;
            }
            names = grown;
        }
        if ((names[len] = strdup(de->d_name)) == NULL) {
            error = paved_error_set(PAVED_ENOMEM, "out of memory");
            break;
        }
        len++;
    }
    closedir(d);
    if (error < 0) {
        for (i = 0; i < len; i++)
            free(names[i]);
        free(names);
        return error;
    }
    if (len > 0)
        qsort(names, len, sizeof(*names), dir_names_cmp);
    *out = names;
    *n = len;
    return 0;
}

static int dir_walk(struct dir_walk *w, int sfd, int dfd, size_t plen,
                    unsigned depth);

static int
dir_subdir(struct dir_walk *w, int sfd, int dfd, const char *name,
           const struct stat *st, unsigned depth)
{
    struct timespec ts[2];
    size_t len = strlen(w->dw_path);
    int s2 = -1, d2 = -1, error;

    if (depth >= DIR_MAX_DEPTH)
        return paved_error_set(PAVED_EINVAL, "%s: deeper than %d directories",
                               w->dw_path, DIR_MAX_DEPTH);
    if (dir_add(w, 'd', st->st_mode & 0777) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    s2 = openat(sfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (s2 < 0) {
        error = paved_error_set(PAVED_ERROR, "open %s: %s", w->dw_path,
                                strerror(errno));
        goto out;
    }
    if (w->dw_copy) {
        if (mkdirat(dfd, name, 0700) < 0 ||
            (d2 = openat(dfd, name,
                         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) <
                0) {
            error = paved_error_set(PAVED_ERROR, "mkdir %s: %s", w->dw_path,
                                    strerror(errno));
            goto out;
        }
    }
    if ((error = dir_walk(w, s2, d2, len, depth + 1)) < 0)
        goto out;
    if (d2 >= 0) {
        /* after the contents: a read-only directory is filled first, and
         * writing into it changed its mtime */
        ts[0] = st->st_atim;
        ts[1] = st->st_mtim;
        w->dw_path[len] = '\0';
        if (fchmod(d2, st->st_mode & 0777) < 0 || futimens(d2, ts) < 0) {
            error = paved_error_set(PAVED_ERROR, "set mode and mtime of %s: %s",
                                    w->dw_path, strerror(errno));
            goto out;
        }
    }
out:
    if (s2 >= 0)
        close(s2);
    if (d2 >= 0)
        close(d2);
    return error;
}

static int
dir_walk(struct dir_walk *w, int sfd, int dfd, size_t plen, unsigned depth)
{
    char **names = NULL;
    size_t n = 0, i;
    int error;

    if ((error = dir_names(&names, &n, w, sfd)) < 0)
        return error;
    for (i = 0; i < n && error == 0; i++) {
        struct stat st;

        if ((error = dir_path_set(w, plen, names[i])) < 0)
            break;
        if (fstatat(sfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
            error = paved_error_set(PAVED_ERROR, "stat %s: %s", w->dw_path,
                                    strerror(errno));
            break;
        }
        if (S_ISDIR(st.st_mode))
            error = dir_subdir(w, sfd, dfd, names[i], &st, depth);
        else if (S_ISREG(st.st_mode))
            error = dir_file(w, sfd, dfd, names[i]);
        else if (S_ISLNK(st.st_mode))
            error = dir_symlink(w, sfd, dfd, names[i], &st, plen);
        else
            error = paved_error_set(
                PAVED_EINVAL,
                "%s is not a file, directory or symlink (a device, FIFO or "
                "socket): a directory artifact cannot hold it",
                w->dw_path);
    }
    for (i = 0; i < n; i++)
        free(names[i]);
    free(names);
    w->dw_path[plen] = '\0';
    return error;
}

static int
dir_entry_cmp(const void *a, const void *b)
{
    return strcmp(((const struct dir_entry *)a)->de_path,
                  ((const struct dir_entry *)b)->de_path);
}

/* The canonical listing, hashed: a format line with the root's mode,
 * then per entry (sorted by path) "PATH\0TYPE MODE SIZE HASH\n". A path
 * holds no NUL, so the listing cannot be read two ways. */
static int
dir_digest(char *out, struct dir_walk *w, unsigned root_mode)
{
    unsigned char md[32];
    char line[160], hex[65];
    unsigned int hl = 0;
    size_t i;
    int n;

    qsort(w->dw_ents, w->dw_n, sizeof(*w->dw_ents), dir_entry_cmp);
    n = snprintf(line, sizeof(line), "%s %04o\n", DIR_FORMAT, root_mode);
    if (EVP_DigestInit_ex(w->dw_md, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(w->dw_md, line, (size_t)n) != 1)
        return paved_error_set(PAVED_ERROR, "sha256 failed");
    for (i = 0; i < w->dw_n; i++) {
        const struct dir_entry *e = &w->dw_ents[i];
        if (e->de_type == 'd')
            memcpy(hex, "-", 2);
        else
            paved_hex_encode(hex, e->de_hash, sizeof(e->de_hash));
        n = snprintf(line, sizeof(line), "%c %04o %llu %s\n", e->de_type,
                     e->de_mode, e->de_size, hex);
        if (EVP_DigestUpdate(w->dw_md, e->de_path, strlen(e->de_path) + 1) !=
                1 ||
            EVP_DigestUpdate(w->dw_md, line, (size_t)n) != 1)
            return paved_error_set(PAVED_ERROR, "sha256 failed");
    }
    if (EVP_DigestFinal_ex(w->dw_md, md, &hl) != 1 || hl != sizeof(md))
        return paved_error_set(PAVED_ERROR, "sha256 failed");
    memcpy(out, "sha256:", 7);
    paved_hex_encode(out + 7, md, sizeof(md));
    return 0;
}

/* One pass over src: the digest into out (PAVED_ARTIFACT_DIGEST_LEN + 1
 * bytes); with dfd >= 0 the tree is also written under it. */
static int
dir_pass(char *out, const char *src, int dfd, unsigned *root_mode)
{
    struct dir_walk w;
    struct stat st;
    int error;

    if ((error = dir_walk_init(&w, src, dfd >= 0)) < 0)
        goto out;
    if (fstat(w.dw_root, &st) < 0) {
        error =
            paved_error_set(PAVED_ERROR, "stat %s: %s", src, strerror(errno));
        goto out;
    }
    *root_mode = st.st_mode & 0777;
    if ((error = dir_walk(&w, w.dw_root, dfd, 0, 0)) < 0 ||
        (error = dir_digest(out, &w, *root_mode)) < 0)
        goto out;
    if (dfd >= 0) {
        struct timespec ts[2] = {st.st_atim, st.st_mtim};
        if (fchmod(dfd, *root_mode) < 0 || futimens(dfd, ts) < 0)
            error = paved_error_set(PAVED_ERROR, "set mode of the copy: %s",
                                    strerror(errno));
    }
out:
    dir_walk_dispose(&w);
    return error;
}

int
paved_artifact_dir_digest(char **digest_out, const char *src_dir)
{
    char digest[PAVED_ARTIFACT_DIGEST_LEN + 1];
    unsigned mode;
    int error;

    *digest_out = NULL;
    if (src_dir == NULL)
        return paved_error_set(PAVED_EINVAL, "no source directory");
    if ((error = dir_pass(digest, src_dir, -1, &mode)) < 0)
        return error;
    if ((*digest_out = strdup(digest)) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    return 0;
}

/* nftw callbacks take no argument: removal of a temporary copy, whose
 * directories are first made writable (a read-only one was copied) */
static int
dir_rm_chmod_cb(const char *path, const struct stat *st, int flag,
                struct FTW *ftw)
{
    (void)ftw;
    if (flag == FTW_D && S_ISDIR(st->st_mode))
        (void)chmod(path, 0700);
    return 0;
}

static int
dir_rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    (void)remove(path);
    return 0;
}

static void
dir_rm_tree(const char *path)
{
    (void)nftw(path, dir_rm_chmod_cb, 16, FTW_PHYS);
    (void)nftw(path, dir_rm_cb, 16, FTW_PHYS | FTW_DEPTH);
}

int
paved_artifact_dir_build(char **path_out, char **digest_out,
                         const char *src_dir, const char *artifacts_dir)
{
    char first[PAVED_ARTIFACT_DIGEST_LEN + 1];
    char second[PAVED_ARTIFACT_DIGEST_LEN + 1];
    char src[PATH_MAX], adir[PATH_MAX], target[PATH_MAX], tmp[PATH_MAX];
    unsigned mode = 0;
    struct stat st;
    size_t sl;
    int error, dfd = -1, afd = -1;
    bool made = false;

    if (path_out != NULL)
        *path_out = NULL;
    if (digest_out != NULL)
        *digest_out = NULL;
    if (src_dir == NULL || artifacts_dir == NULL)
        return paved_error_set(PAVED_EINVAL,
                               "a source and an artifacts directory are "
                               "needed");
    if (realpath(src_dir, src) == NULL)
        return paved_error_set(errno == ENOENT ? PAVED_ENOTFOUND : PAVED_ERROR,
                               "%s: %s", src_dir, strerror(errno));
    /* the read-only pass names the artifact; the copy is made only when
     * there is none of that name yet */
    if ((error = dir_pass(first, src, -1, &mode)) < 0)
        return error;
    if ((error = paved_mkdirs(artifacts_dir, 0755)) < 0)
        return error;
    if (realpath(artifacts_dir, adir) == NULL)
        return paved_error_set(PAVED_ERROR, "%s: %s", artifacts_dir,
                               strerror(errno));
    sl = strlen(src);
    if (strncmp(adir, src, sl) == 0 && (adir[sl] == '/' || adir[sl] == '\0'))
        return paved_error_set(PAVED_EINVAL,
                               "the artifacts directory %s is inside the "
                               "source %s",
                               adir, src);
    if ((size_t)snprintf(target, sizeof(target), "%s/sha256-%s", adir,
                         first + 7) >= sizeof(target) ||
        (size_t)snprintf(tmp, sizeof(tmp), "%s/.tmp-%.12s-XXXXXX", adir,
                         first + 7) >= sizeof(tmp))
        return paved_error_set(PAVED_EINVAL, "artifacts directory name too "
                                             "long");
    if (lstat(target, &st) == 0 && S_ISDIR(st.st_mode))
        goto done;

    if (mkdtemp(tmp) == NULL)
        return paved_error_set(PAVED_ERROR, "mkdtemp in %s: %s", adir,
                               strerror(errno));
    made = true;
    if ((dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        error =
            paved_error_set(PAVED_ERROR, "open %s: %s", tmp, strerror(errno));
        goto out;
    }
    if ((error = dir_pass(second, src, dfd, &mode)) < 0)
        goto out;
    if (strcmp(first, second) != 0) {
        error = paved_error_set(PAVED_ERROR,
                                "%s changed while it was copied (%s, then "
                                "%s): nothing was recorded; build again",
                                src, first, second);
        goto out;
    }
    /* one syncfs for the whole copy before it gets its name: the store
     * will point at it */
    if (syncfs(dfd) < 0) {
        error =
            paved_error_set(PAVED_ERROR, "sync %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (rename(tmp, target) < 0) {
        if (errno != EEXIST && errno != ENOTEMPTY) {
            error = paved_error_set(PAVED_ERROR, "rename %s to %s: %s", tmp,
                                    target, strerror(errno));
            goto out;
        }
        /* made by someone else meanwhile: the same content, keep theirs */
        dir_rm_tree(tmp);
    }
    made = false;
    if ((afd = open(adir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0)
        (void)fsync(afd);
done:
    if (path_out != NULL && (*path_out = strdup(target)) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    if (digest_out != NULL && (*digest_out = strdup(first)) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    error = 0;
out:
    if (dfd >= 0)
        close(dfd);
    if (afd >= 0)
        close(afd);
    if (made)
        dir_rm_tree(tmp);
    if (error < 0 && path_out != NULL) {
        free(*path_out);
        *path_out = NULL;
    }
    return error;
}
