/* Unit tests for artifacts (include/paved/artifact.h). Directory
 * artifacts on real trees in a temp dir: the digest is the same for two
 * copies of a tree and after mtimes change, differs after a content,
 * mode, link or layout change, ignores .git; the copy keeps modes, mtimes
 * and relative symlinks; escaping symlinks (absolute, "..", through
 * another link) and FIFOs are refused and leave nothing behind; an
 * existing target is reused untouched. Images without podman: name
 * checks, a missing tool, and a stand-in "podman" script on PATH that
 * records its argv and environment and writes the --iidfile or
 * --digestfile, to check the argv vectors, the containers.conf written,
 * the output kept, failures, a timeout and the storage options. Real
 * podman, buildah and a registry: tests/integration/images.test.js. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "paved/artifact.h"
#include "paved/buf.h"
#include "paved/error.h"

struct fx {
    char root[PATH_MAX]; /* temp dir holding everything */
    char art[PATH_MAX];  /* the artifacts dir */
};

static void pathf(char *out, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
pathf(char *out, size_t len, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(out, len, fmt, ap);
    va_end(ap);
    assert_true(n > 0 && (size_t)n < len);
}

static void
put(const char *dir, const char *rel, const char *text, mode_t mode)
{
    char p[PATH_MAX];
    FILE *fp;

    pathf(p, sizeof(p), "%s/%s", dir, rel);
    fp = fopen(p, "w");
    assert_non_null(fp);
    assert_int_equal(fputs(text, fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
    assert_int_equal(chmod(p, mode), 0);
}

static void
mkd(const char *dir, const char *rel, mode_t mode)
{
    char p[PATH_MAX];

    pathf(p, sizeof(p), "%s/%s", dir, rel);
    assert_int_equal(mkdir(p, 0755), 0);
    assert_int_equal(chmod(p, mode), 0);
}

static void
lnk(const char *dir, const char *rel, const char *target)
{
    char p[PATH_MAX];

    pathf(p, sizeof(p), "%s/%s", dir, rel);
    assert_int_equal(symlink(target, p), 0);
}

static void
set_mtime(const char *dir, const char *rel, time_t t, long nsec)
{
    struct timespec ts[2] = {{t, nsec}, {t, nsec}};
    char p[PATH_MAX];

    pathf(p, sizeof(p), "%s/%s", dir, rel);
    assert_int_equal(utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW), 0);
}

/* A built checkout: an executable, sources, an empty directory, a
 * read-only one, relative symlinks, and a .git that is left out. */
static void
make_tree(const char *dir, time_t t)
{
    assert_int_equal(mkdir(dir, 0755), 0);
    mkd(dir, "bin", 0755);
    put(dir, "bin/app", "#!/bin/sh\necho hello\n", 0755);
    put(dir, "Makefile", "run: bin/app\n\t./bin/app\n", 0644);
    mkd(dir, "src", 0755);
    put(dir, "src/main.c", "int main(void) { return 0; }\n", 0600);
    mkd(dir, "empty", 0750);
    mkd(dir, "ro", 0755);
    put(dir, "ro/data", "read only\n", 0444);
    lnk(dir, "app", "bin/app");
    lnk(dir, "bin/make", "../Makefile");
    lnk(dir, "dangling", "not-built-yet");
    mkd(dir, ".git", 0755);
    put(dir, ".git/HEAD", "ref: refs/heads/main\n", 0644);
    mkd(dir, "src/.git", 0755); /* a submodule's, at any depth */
    put(dir, "src/.git/config", "x\n", 0644);
    assert_int_equal(chmod(dir, 0755), 0);
    set_mtime(dir, "bin/app", t, 123456789);
    set_mtime(dir, "Makefile", t + 1, 0);
    set_mtime(dir, "src/main.c", t + 2, 0);
    set_mtime(dir, "ro/data", t + 3, 0);
    set_mtime(dir, "app", t + 4, 0);
    set_mtime(dir, "ro", t + 5, 0);
    set_mtime(dir, "bin", t + 6, 0);
    set_mtime(dir, "empty", t + 7, 0);
    /* last: it is a directory written into above */
    {
        char p[PATH_MAX];
        pathf(p, sizeof(p), "%s/ro", dir);
        assert_int_equal(chmod(p, 0555), 0);
    }
}

static int
fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    memcpy(f->root, "/tmp/paved-test-artifact-XXXXXX",
           sizeof("/tmp/paved-test-artifact-XXXXXX"));
    assert_non_null(mkdtemp(f->root));
    pathf(f->art, sizeof(f->art), "%s/artifacts", f->root);
    *state = f;
    return 0;
}

static int
fx_teardown(void **state)
{
    struct fx *f = *state;
    char cmd[PATH_MAX + 64];

    /* read-only directories were copied: make them writable first */
    pathf(cmd, sizeof(cmd), "chmod -R u+rwx '%s' && rm -rf '%s'", f->root,
          f->root);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static char *
digest_of(const char *dir)
{
    char *d = NULL;

    if (paved_artifact_dir_digest(&d, dir) < 0)
        fail_msg("digest %s: %s", dir, paved_error_last());
    assert_non_null(d);
    return d;
}

/* Entries of dir whose name starts with prefix */
static int
count_prefixed(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    if (d == NULL)
        return 0;
    while ((de = readdir(d)) != NULL)
        if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
            n++;
    closedir(d);
    return n;
}

static void
test_digest_stable(void **state)
{
    struct fx *f = *state;
    char a[PATH_MAX], b[PATH_MAX];
    char *da, *db, *dc;
    size_t i;

    pathf(a, sizeof(a), "%s/a", f->root);
    pathf(b, sizeof(b), "%s/b", f->root);
    make_tree(a, 1700000000);
    make_tree(b, 1600000000); /* other mtimes */
    da = digest_of(a);
    db = digest_of(b);
    assert_string_equal(da, db);
    assert_int_equal(strlen(da), PAVED_ARTIFACT_DIGEST_LEN);
    assert_memory_equal(da, "sha256:", 7);
    for (i = 7; i < strlen(da); i++)
        assert_non_null(strchr("0123456789abcdef", da[i]));
    /* touching a file changes nothing */
    set_mtime(a, "Makefile", 1234, 5);
    dc = digest_of(a);
    assert_string_equal(da, dc);
    free(da);
    free(db);
    free(dc);
}

/* Each change on a fresh copy of the tree gives another digest. */
static void
test_digest_changes(void **state)
{
    static const char *const changes[] = {
        "content", "mode", "link", "newdir", "newfile", "rename", "rootmode",
    };
    struct fx *f = *state;
    char base[PATH_MAX], d[PATH_MAX], p[PATH_MAX];
    char *db, *dd, *seen[8];
    size_t i, j;

    pathf(base, sizeof(base), "%s/base", f->root);
    make_tree(base, 1700000000);
    db = digest_of(base);
    for (i = 0; i < sizeof(changes) / sizeof(changes[0]); i++) {
        pathf(d, sizeof(d), "%s/t%zu", f->root, i);
        make_tree(d, 1700000000);
        if (strcmp(changes[i], "content") == 0)
            put(d, "Makefile", "run: bin/app\n\t./bin/app --v2\n", 0644);
        else if (strcmp(changes[i], "mode") == 0) {
            pathf(p, sizeof(p), "%s/src/main.c", d);
            assert_int_equal(chmod(p, 0644), 0);
        } else if (strcmp(changes[i], "link") == 0) {
            pathf(p, sizeof(p), "%s/app", d);
            assert_int_equal(unlink(p), 0);
            lnk(d, "app", "./bin/app");
        } else if (strcmp(changes[i], "newdir") == 0)
            mkd(d, "empty/more", 0755);
        else if (strcmp(changes[i], "newfile") == 0)
            put(d, "empty/x", "", 0644);
        else if (strcmp(changes[i], "rename") == 0) {
            char q[PATH_MAX];
            pathf(p, sizeof(p), "%s/src/main.c", d);
            pathf(q, sizeof(q), "%s/src/main2.c", d);
            assert_int_equal(rename(p, q), 0);
        } else if (strcmp(changes[i], "rootmode") == 0)
            assert_int_equal(chmod(d, 0700), 0);
        dd = digest_of(d);
        if (strcmp(dd, db) == 0)
            fail_msg("change \"%s\" kept the digest", changes[i]);
        for (j = 0; j < i; j++)
            assert_string_not_equal(dd, seen[j]);
        seen[i] = dd;
    }
    /* .git is not part of it */
    put(base, ".git/HEAD", "ref: refs/heads/other\n", 0644);
    put(base, ".git/index", "new\n", 0644);
    dd = digest_of(base);
    assert_string_equal(dd, db);
    free(dd);
    for (j = 0; j < i; j++)
        free(seen[j]);
    free(db);
}

static void
test_build_copy(void **state)
{
    struct fx *f = *state;
    char src[PATH_MAX], p[PATH_MAX], q[PATH_MAX], want[PATH_MAX];
    char *path = NULL, *digest = NULL, *d2 = NULL;
    struct stat st, sst;
    ssize_t n;

    pathf(src, sizeof(src), "%s/src", f->root);
    make_tree(src, 1700000000);
    if (paved_artifact_dir_build(&path, &digest, src, f->art) < 0)
        fail_msg("build: %s", paved_error_last());
    pathf(want, sizeof(want), "%s/sha256-%s", f->art, digest + 7);
    assert_string_equal(path, want);
    /* the copy names itself */
    d2 = digest_of(path);
    assert_string_equal(d2, digest);

    pathf(p, sizeof(p), "%s/bin/app", path);
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0755);
    assert_int_equal(st.st_mtim.tv_sec, 1700000000);
    assert_int_equal(st.st_mtim.tv_nsec, 123456789);
    pathf(p, sizeof(p), "%s/src/main.c", path);
    assert_int_equal(lstat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(st.st_mtim.tv_sec, 1700000002);
    pathf(p, sizeof(p), "%s/ro", path);
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0555);
    assert_int_equal(st.st_mtim.tv_sec, 1700000005);
    pathf(p, sizeof(p), "%s/ro/data", path);
    assert_int_equal(lstat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0444);
    assert_int_equal(st.st_size, 10);
    pathf(p, sizeof(p), "%s/empty", path);
    assert_int_equal(lstat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0750);
    assert_int_equal(st.st_mtim.tv_sec, 1700000007);
    pathf(p, sizeof(p), "%s/bin", path);
    assert_int_equal(lstat(p, &st), 0);
    assert_int_equal(st.st_mtim.tv_sec, 1700000006);
    assert_int_equal(lstat(path, &st), 0);
    assert_int_equal(lstat(src, &sst), 0);
    assert_int_equal(st.st_mode & 07777, 0755);
    assert_int_equal(st.st_mtim.tv_sec, sst.st_mtim.tv_sec);

    /* symlinks stay symlinks, with their own mtime */
    pathf(p, sizeof(p), "%s/app", path);
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_int_equal(st.st_mtim.tv_sec, 1700000004);
    n = readlink(p, q, sizeof(q) - 1);
    assert_int_equal(n, 7);
    q[n] = '\0';
    assert_string_equal(q, "bin/app");
    pathf(p, sizeof(p), "%s/bin/make", path);
    n = readlink(p, q, sizeof(q) - 1);
    assert_int_equal(n, 11);
    q[n] = '\0';
    assert_string_equal(q, "../Makefile");
    pathf(p, sizeof(p), "%s/dangling", path);
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISLNK(st.st_mode));

    /* no .git, no temp */
    pathf(p, sizeof(p), "%s/.git", path);
    assert_int_equal(lstat(p, &st), -1);
    pathf(p, sizeof(p), "%s/src/.git", path);
    assert_int_equal(lstat(p, &st), -1);
    assert_int_equal(count_prefixed(f->art, ".tmp"), 0);
    assert_int_equal(count_prefixed(f->art, "sha256-"), 1);
    free(path);
    free(digest);
    free(d2);
}

static void
test_build_reuses(void **state)
{
    struct fx *f = *state;
    char a[PATH_MAX], b[PATH_MAX], marker[PATH_MAX];
    char *p1 = NULL, *d1 = NULL, *p2 = NULL, *d2 = NULL;
    struct stat st;

    pathf(a, sizeof(a), "%s/a", f->root);
    pathf(b, sizeof(b), "%s/b", f->root);
    make_tree(a, 1700000000);
    make_tree(b, 1500000000);
    assert_int_equal(paved_artifact_dir_build(&p1, &d1, a, f->art), 0);
    /* something only the existing copy has: it must not be replaced */
    pathf(marker, sizeof(marker), "%s/empty", p1);
    assert_int_equal(chmod(marker, 0755), 0);
    put(p1, "empty/marker", "kept\n", 0644);
    assert_int_equal(paved_artifact_dir_build(&p2, &d2, b, f->art), 0);
    assert_string_equal(p1, p2);
    assert_string_equal(d1, d2);
    pathf(marker, sizeof(marker), "%s/empty/marker", p2);
    assert_int_equal(stat(marker, &st), 0);
    /* the first copy's mtimes stay (those of a, not b) */
    pathf(marker, sizeof(marker), "%s/Makefile", p2);
    assert_int_equal(stat(marker, &st), 0);
    assert_int_equal(st.st_mtim.tv_sec, 1700000001);
    assert_int_equal(count_prefixed(f->art, ".tmp"), 0);
    assert_int_equal(count_prefixed(f->art, "sha256-"), 1);
    /* NULL outputs are allowed */
    assert_int_equal(paved_artifact_dir_build(NULL, NULL, a, f->art), 0);
    free(p1);
    free(d1);
    free(p2);
    free(d2);
}

/* Each of these links leaves the tree; the build refuses it by name. */
static void
test_refuses_escaping_links(void **state)
{
    static const struct {
        const char *name, *link, *target, *why;
    } cases[] = {
        {"absolute", "etc", "/etc/passwd", "an absolute target"},
        {"parent", "up", "../outside", "a target that leaves the tree"},
        {"deep", "bin/up", "../../x", "a target that leaves the tree"},
        {"dotdot", "bin/x", "../src/../../x", "a target that leaves the tree"},
        /* "s" is the root itself: "s/.." is its parent, whatever the
         * spelling says */
        {"through", "esc", "self/..", "a target that leaves the tree"},
        /* bin/c2 -> ".." alone stays inside; "bin/c2/.." is the parent
         * of the root */
        {"chain", "c1", "bin/c2/..", "a target that leaves the tree"},
        {"chainabs", "a0", "bin/d2",
         "a symlink on its way with an absolute "
         "target"},
        {"loop", "l1", "l2/x", "too many levels of symlinks"},
    };
    struct fx *f = *state;
    char src[PATH_MAX], msg[1024];
    char *path = (char *)"x", *digest = (char *)"x";
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pathf(src, sizeof(src), "%s/%s", f->root, cases[i].name);
        make_tree(src, 1700000000);
        if (strcmp(cases[i].name, "through") == 0)
            lnk(src, "self", ".");
        if (strcmp(cases[i].name, "chain") == 0)
            lnk(src, "bin/c2", "..");
        if (strcmp(cases[i].name, "chainabs") == 0)
            lnk(src, "bin/d2", "/usr");
        if (strcmp(cases[i].name, "loop") == 0)
            lnk(src, "l2", "l1");
        lnk(src, cases[i].link, cases[i].target);
        assert_int_equal(paved_artifact_dir_build(&path, &digest, src, f->art),
                         PAVED_EINVAL);
        assert_null(path);
        assert_null(digest);
        snprintf(msg, sizeof(msg),
                 "symlink %s -> %s points outside the tree "
                 "(%s)",
                 cases[i].link, cases[i].target, cases[i].why);
        if (strstr(paved_error_last(), msg) == NULL &&
            strcmp(cases[i].name, "loop") != 0)
            fail_msg("%s: got \"%s\"", cases[i].name, paved_error_last());
        if (strcmp(cases[i].name, "loop") == 0)
            assert_non_null(strstr(paved_error_last(), "too many levels"));
        assert_int_equal(paved_artifact_dir_digest(&digest, src), PAVED_EINVAL);
        assert_null(digest);
        path = digest = (char *)"x";
    }
    assert_int_equal(count_prefixed(f->art, ".tmp"), 0);
    assert_int_equal(count_prefixed(f->art, "sha256-"), 0);
}

static void
test_refuses_special_and_bad_dirs(void **state)
{
    struct fx *f = *state;
    char src[PATH_MAX], p[PATH_MAX], inside[PATH_MAX];
    char *path = NULL, *digest = NULL;

    pathf(src, sizeof(src), "%s/fifo", f->root);
    make_tree(src, 1700000000);
    pathf(p, sizeof(p), "%s/src/pipe", src);
    assert_int_equal(mkfifo(p, 0644), 0);
    assert_int_equal(paved_artifact_dir_build(&path, &digest, src, f->art),
                     PAVED_EINVAL);
    assert_non_null(strstr(paved_error_last(), "src/pipe is not a file"));
    assert_int_equal(unlink(p), 0);

    /* the artifacts directory inside the source would copy itself */
    pathf(inside, sizeof(inside), "%s/empty/artifacts", src);
    assert_int_equal(paved_artifact_dir_build(&path, &digest, src, inside),
                     PAVED_EINVAL);
    assert_non_null(strstr(paved_error_last(), "is inside the source"));

    pathf(p, sizeof(p), "%s/nope", f->root);
    assert_int_equal(paved_artifact_dir_build(&path, &digest, p, f->art),
                     PAVED_ENOTFOUND);
    assert_int_equal(paved_artifact_dir_digest(&digest, p), PAVED_ENOTFOUND);
    assert_int_equal(paved_artifact_dir_build(&path, &digest, NULL, f->art),
                     PAVED_EINVAL);
    assert_null(path);
    assert_null(digest);
}

/* ---- images ------------------------------------------------------------ */

static void
test_image_names(void **state)
{
    static const char *const good[] = {
        "127.0.0.1:5000/paved/hello:v1",
        "localhost/x",
        "registry.example.com/a/b-c_d.e:1.2-rc_1",
        "[::1]:5000/x:y",
        "localhost:5000/team/app__x",
        "localhost/a--b.c_d/e-f",
        "app",
        "app:latest",
    };
    static const char *const bad[] = {
        "",
        "-x",
        "--help",
        "UPPER/x",
        "localhost/Upper",
        "a//b",
        "host.io/x@sha256:0000",
        "host.io:5000/",
        "host.io/x:",
        "host.io/x:-tag",
        "host.io/x y",
        "host.io/x\n",
        "host.io/.x",
        "host.io/x.",
        "host.io/x..y",
        "host.io/x-_y",
        "host.io/x___y",
        "host.io/x-.y",
        "host.io/x_-y",
        "host.io:port/x",
        "/x",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (paved_image_name_check(good[i], false) != 0)
            fail_msg("\"%s\" refused: %s", good[i], paved_error_last());
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (paved_image_name_check(bad[i], false) != PAVED_EINVAL)
            fail_msg("\"%s\" accepted", bad[i]);
    assert_int_equal(paved_image_name_check(NULL, false), PAVED_EINVAL);
    assert_int_equal(paved_image_name_check("app:1", true), PAVED_EINVAL);
    assert_non_null(strstr(paved_error_last(), "names no registry"));
    assert_int_equal(paved_image_name_check("team/app:1", true), PAVED_EINVAL);
    assert_int_equal(paved_image_name_check("localhost/app:1", true), 0);
    assert_int_equal(paved_image_name_check("127.0.0.1:5000/app", true), 0);
}

static void
test_image_tool_missing(void **state)
{
    struct fx *f = *state;
    char *env[] = {"PATH=/nonexistent:/also-not-there", NULL};
    char conf[PATH_MAX];
    struct paved_image_opts o;
    char *id = (char *)"x", *ref = (char *)"x";
    struct stat st;

    memset(&o, 0, sizeof(o));
    o.io_env = env;
    pathf(conf, sizeof(conf), "%s/containers/containers.conf", f->root);
    o.io_containers_conf = conf;
    assert_int_equal(paved_image_build(&id, &o, f->root, NULL, "localhost/x"),
                     PAVED_ENOTFOUND); /* no Dockerfile: checked first */
    put(f->root, "Dockerfile", "FROM scratch\n", 0644);
    assert_int_equal(paved_image_build(&id, &o, f->root, NULL, "localhost/x"),
                     PAVED_EUNAVAILABLE);
    assert_null(id);
    assert_string_equal(paved_error_last(),
                        "podman not found: install podman (scripts/deps.sh "
                        "test)");
    o.io_tool = "buildah";
    assert_int_equal(paved_image_push(&ref, NULL, &o, "localhost/x:1", false),
                     PAVED_EUNAVAILABLE);
    assert_null(ref);
    assert_string_equal(paved_error_last(),
                        "buildah not found: install buildah (scripts/deps.sh "
                        "test)");
    o.io_tool = "docker";
    assert_int_equal(paved_image_push(&ref, NULL, &o, "localhost/x:1", false),
                     PAVED_EINVAL);
    o.io_tool = "/nonexistent/podman";
    assert_int_equal(paved_image_build(&id, &o, f->root, NULL, "localhost/x"),
                     PAVED_EUNAVAILABLE);
    o.io_tool = NULL;
    assert_int_equal(paved_image_build(&id, &o, f->root, NULL, "Bad/Name"),
                     PAVED_EINVAL);
    assert_int_equal(paved_image_build(&id, &o, "/nonexistent", NULL, "x"),
                     PAVED_ENOTFOUND);
    assert_int_equal(paved_image_push(&ref, NULL, &o, "x:1", true),
                     PAVED_EINVAL);
    (void)st;
}

/* A stand-in podman: records argv (one per line) and CONTAINERS_CONF,
 * prints two lines, writes the file given by --iidfile= or --digestfile=
 * (content from FAKE_DIGEST), exits FAKE_EXIT. */
static const char fake_tool[] =
    "#!/bin/sh\n"
    "printf '%s\\n' \"$@\" > \"$FAKE_ARGS\"\n"
    "printf '%s\\n' \"${CONTAINERS_CONF-unset}\" > \"$FAKE_ARGS.conf\"\n"
    "echo 'STEP 1/2: FROM scratch'\n"
    "echo \"${FAKE_SAY:-done}\" >&2\n"
    "for a in \"$@\"; do\n"
    "  case \"$a\" in\n"
    "  --iidfile=*) printf '%s' \"$FAKE_DIGEST\" > \"${a#--iidfile=}\" ;;\n"
    "  --digestfile=*) printf '%s' \"$FAKE_DIGEST\" > "
    "\"${a#--digestfile=}\" ;;\n"
    "  esac\n"
    "done\n"
    "[ -n \"${FAKE_SLEEP:-}\" ] && exec sleep \"$FAKE_SLEEP\"\n"
    "exit \"${FAKE_EXIT:-0}\"\n";

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static char *
slurp(const char *path)
{
    struct paved_buf b = PAVED_BUF_INIT(1 << 20);
    char buf[4096];
    size_t n;
    FILE *fp = fopen(path, "r");

    assert_non_null(fp);
    while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
        assert_int_equal(paved_buf_put(&b, buf, n), 0);
    fclose(fp);
    return paved_buf_detach(&b, NULL);
}

struct fake {
    char bin[PATH_MAX], args[PATH_MAX], conf[PATH_MAX];
    char e_path[PATH_MAX + 8], e_args[PATH_MAX + 16];
    char *env[10];
    size_t nenv;
};

static void
fake_init(struct fake *k, struct fx *f)
{
    memset(k, 0, sizeof(*k));
    pathf(k->bin, sizeof(k->bin), "%s/fakebin", f->root);
    if (mkdir(k->bin, 0755) < 0)
        assert_int_equal(errno, EEXIST);
    put(k->bin, "podman", fake_tool, 0755);
    put(k->bin, "buildah", fake_tool, 0755);
    pathf(k->args, sizeof(k->args), "%s/args", f->root);
    pathf(k->conf, sizeof(k->conf), "%s/data/containers/containers.conf",
          f->root);
    pathf(k->e_path, sizeof(k->e_path), "PATH=%s:/usr/bin:/bin", k->bin);
    pathf(k->e_args, sizeof(k->e_args), "FAKE_ARGS=%s", k->args);
    k->env[k->nenv++] = k->e_path;
    k->env[k->nenv++] = k->e_args;
    k->env[k->nenv] = NULL;
}

static void
fake_env(struct fake *k, char *kv)
{
    k->env[k->nenv++] = kv;
    k->env[k->nenv] = NULL;
}

static void
test_image_build_argv(void **state)
{
    struct fx *f = *state;
    struct paved_buf out = PAVED_BUF_INIT(4096);
    struct paved_image_opts o;
    struct fake k;
    char want[8192], ctx[PATH_MAX], *id = NULL, *text;

    fake_init(&k, f);
    fake_env(&k, "FAKE_DIGEST=sha256:" HEX64 "\n");
    fake_env(&k, "FAKE_SAY=COMMIT localhost/x");
    pathf(ctx, sizeof(ctx), "%s/ctx", f->root);
    assert_int_equal(mkdir(ctx, 0755), 0);
    put(ctx, "Dockerfile", "FROM scratch\n", 0644);
    memset(&o, 0, sizeof(o));
    o.io_env = k.env;
    o.io_containers_conf = k.conf;
    o.io_output = &out;
    if (paved_image_build(&id, &o, ctx, NULL, "localhost/paved/x:v1") < 0)
        fail_msg("build: %s", paved_error_last());
    assert_string_equal(id, HEX64);
    free(id);
    id = NULL;
    pathf(want, sizeof(want),
          "build\n--file\n%s/Dockerfile\n--tag\nlocalhost/paved/x:v1\n"
          "--iidfile=",
          ctx);
    text = slurp(k.args);
    assert_memory_equal(text, want, strlen(want));
    assert_non_null(strstr(text, "/iid\n--\n"));
    assert_non_null(strstr(text, ctx));
    free(text);
    /* the tool's output was kept, both streams */
    assert_string_equal(out.b_ptr, "STEP 1/2: FROM scratch\nCOMMIT "
                                   "localhost/x\n");

    /* containers.conf written, and given to the child only */
    pathf(want, sizeof(want), "%s.conf", k.args);
    text = slurp(want);
    pathf(want, sizeof(want), "%s\n", k.conf);
    assert_string_equal(text, want);
    free(text);
    assert_null(getenv("CONTAINERS_CONF"));
    text = slurp(k.conf);
    assert_non_null(strstr(text, "[containers]\ndefault_ulimits = "
                                 "[\"nofile=1024:1024\""));
    assert_non_null(strstr(text, "\n[engine]\nruntime = \"runc\"\n"));
    free(text);

    /* another Dockerfile, buildah, storage options, bare hex iid */
    k.nenv = 2;
    fake_env(&k, "FAKE_DIGEST=" HEX64);
    o.io_tool = "buildah";
    o.io_storage_driver = "vfs";
    o.io_storage_root = "/var/lib/paved-vfs";
    put(ctx, "Containerfile.alt", "FROM scratch\n", 0644);
    pathf(want, sizeof(want), "%s/Containerfile.alt", ctx);
    if (paved_image_build(&id, &o, ctx, want, "localhost/paved/x:v1") < 0)
        fail_msg("build: %s", paved_error_last());
    assert_string_equal(id, HEX64);
    free(id);
    text = slurp(k.args);
    pathf(want, sizeof(want),
          "--root=/var/lib/paved-vfs\n--runroot=/var/lib/paved-vfs/run\n"
          "--storage-driver\nvfs\nbuild\n--file\n%s/Containerfile.alt\n",
          ctx);
    assert_memory_equal(text, want, strlen(want));
    free(text);
    paved_buf_dispose(&out);
}

static void
test_image_push_argv(void **state)
{
    struct fx *f = *state;
    struct paved_image_opts o;
    struct fake k;
    char want[8192], conf_env[PATH_MAX + 32], *ref = NULL, *digest = NULL;
    char *text;
    struct stat st;

    fake_init(&k, f);
    fake_env(&k, "FAKE_DIGEST=sha256:" HEX64);
    memset(&o, 0, sizeof(o));
    o.io_env = k.env;
    o.io_containers_conf = k.conf;
    if (paved_image_push(&ref, &digest, &o, "127.0.0.1:5000/paved/hello:v1",
                         false) < 0)
        fail_msg("push: %s", paved_error_last());
    assert_string_equal(ref, "127.0.0.1:5000/paved/hello@sha256:" HEX64);
    assert_string_equal(digest, "sha256:" HEX64);
    free(ref);
    free(digest);
    text = slurp(k.args);
    assert_memory_equal(text, "push\n--tls-verify=false\n--digestfile=",
                        strlen("push\n--tls-verify=false\n--digestfile="));
    assert_non_null(strstr(text, "/digest\n--\n127.0.0.1:5000/paved/hello:v1\n"
                                 "docker://127.0.0.1:5000/paved/hello:v1\n"));
    free(text);

    /* TLS verified (no flag), no tag, the caller's CONTAINERS_CONF kept
     * and no file written */
    assert_int_equal(unlink(k.conf), 0);
    pathf(conf_env, sizeof(conf_env), "CONTAINERS_CONF=%s/mine.conf", f->root);
    fake_env(&k, conf_env);
    if (paved_image_push(&ref, NULL, &o, "localhost:5000/hello", true) < 0)
        fail_msg("push: %s", paved_error_last());
    assert_string_equal(ref, "localhost:5000/hello@sha256:" HEX64);
    free(ref);
    text = slurp(k.args);
    assert_memory_equal(text, "push\n--digestfile=", 18);
    free(text);
    assert_int_equal(stat(k.conf, &st), -1);
    pathf(want, sizeof(want), "%s.conf", k.args);
    text = slurp(want);
    pathf(want, sizeof(want), "%s/mine.conf\n", f->root);
    assert_string_equal(text, want);
    free(text);
}

static void
test_image_failures(void **state)
{
    struct fx *f = *state;
    struct paved_image_opts o;
    struct fake k;
    char *ref = (char *)"x", *digest = (char *)"x";
    time_t t0;

    fake_init(&k, f);
    fake_env(&k, "FAKE_DIGEST=sha256:" HEX64);
    fake_env(&k, "FAKE_EXIT=3");
    fake_env(&k, "FAKE_SAY=Error: trying to reuse blob: connection refused");
    memset(&o, 0, sizeof(o));
    o.io_env = k.env;
    assert_int_equal(paved_image_push(&ref, &digest, &o, "localhost/x", false),
                     PAVED_ERROR);
    assert_null(ref);
    assert_null(digest);
    assert_string_equal(paved_error_last(),
                        "podman push failed (exit status 3): Error: trying to "
                        "reuse blob: connection refused");

    /* exit 0 but no usable digest */
    k.nenv = 2;
    fake_env(&k, "FAKE_DIGEST=sha256:1234");
    assert_int_equal(paved_image_push(&ref, &digest, &o, "localhost/x", false),
                     PAVED_ERROR);
    assert_non_null(strstr(paved_error_last(),
                           "podman push wrote \"sha256:1234\" where a sha256 "
                           "digest was expected"));
    k.nenv = 2;
    fake_env(&k, "FAKE_DIGEST=sha256:" HEX64 "0");
    assert_int_equal(paved_image_push(&ref, &digest, &o, "localhost/x", false),
                     PAVED_ERROR);

    /* a tool that hangs is stopped */
    k.nenv = 2;
    fake_env(&k, "FAKE_DIGEST=sha256:" HEX64);
    fake_env(&k, "FAKE_SLEEP=30");
    o.io_timeout_ms = 300;
    t0 = time(NULL);
    assert_int_equal(paved_image_push(&ref, &digest, &o, "localhost/x", false),
                     PAVED_ERROR);
    assert_true(time(NULL) - t0 < 10);
    assert_non_null(
        strstr(paved_error_last(), "podman push timed out after 300 ms"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_digest_stable, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_digest_changes, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_build_copy, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_build_reuses, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_refuses_escaping_links, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_refuses_special_and_bad_dirs,
                                        fx_setup, fx_teardown),
        cmocka_unit_test(test_image_names),
        cmocka_unit_test_setup_teardown(test_image_tool_missing, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_image_build_argv, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_image_push_argv, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_image_failures, fx_setup,
                                        fx_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
