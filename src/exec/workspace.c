/* Workspaces with libgit2: bare mirrors fetched on demand, per-run working
 * trees that borrow the mirror's objects through alternates, and a careful
 * rm -rf. Blocking by design: the pool runs these, never the loop.
 *
 * Concurrency: readers never lock. git writes objects before refs and
 * publishes packs by rename, so a commit that is visible in the object
 * database is complete; the warm path only opens the mirror and looks.
 * Writers (init and fetch) take flock(LOCK_EX) on <mirror>.lock and look
 * again once they hold it, so two runs that need the same new commit
 * fetch it once. Every call opens its own git_repository: libgit2 objects
 * are never shared between threads. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>

#include "paved/error.h"
#include "paved/workspace.h"

#define WS_NAME_MAX 200 /* escaped repo name; leaves room for ".git.lock" */
#define WS_SHA1_HEX 40
#define WS_SHA256_HEX 64
#define WS_MSG_MAX 400
#define WS_RM_FDS 16
#define WS_RM_AGAIN (-2) /* the fix pass changed a mode: walk again */

/* ---- small helpers --------------------------------------------------- */

static char *
ws_join(const char *a, const char *b, const char *suffix)
{
    size_t la = strlen(a), lb = strlen(b), ls = strlen(suffix);
    char *p;

    while (la > 1 && a[la - 1] == '/')
        la--;
    if ((p = malloc(la + 1 + lb + ls + 1)) == NULL)
        return NULL;
    memcpy(p, a, la);
    p[la] = '/';
    memcpy(p + la + 1, b, lb);
    memcpy(p + la + 1 + lb, suffix, ls + 1);
    return p;
}

static const char *
ws_git_msg(void)
{
    const git_error *e = git_error_last();

    return e != NULL && e->message != NULL ? e->message : "unknown error";
}

/* out = in with every occurrence of needle replaced by "***". */
static void
ws_scrub(char *out, size_t n, const char *in, const char *needle)
{
    size_t len = needle != NULL ? strlen(needle) : 0, o = 0;

    if (n == 0)
        return;
    while (*in != '\0' && o + 1 < n) {
        if (len > 0 && strncmp(in, needle, len) == 0) {
            size_t k = n - 1 - o < 3 ? n - 1 - o : 3;

            memcpy(out + o, "***", k);
            o += k;
            in += len;
            continue;
        }
        out[o++] = *in++;
    }
    out[o] = '\0';
}

/* The user-info part of a URL ("user:pw" in https://user:pw@host/), or an
 * empty span; scp-like URLs (git@host:path) carry no secret there. */
static void
ws_userinfo(const char *url, const char **start, size_t *len)
{
    const char *p = strstr(url, "://"), *end, *at = NULL, *q;

    *start = url;
    *len = 0;
    if (p == NULL)
        return;
    p += 3;
    end = p + strcspn(p, "/?#");
    for (q = p; q < end; q++)
        if (*q == '@')
            at = q;
    if (at != NULL) {
        *start = p;
        *len = (size_t)(at - p);
    }
}

/* url with any user-info replaced by "***", for messages. */
static void
ws_redact_url(char *out, size_t n, const char *url)
{
    const char *ui;
    size_t len;

    ws_userinfo(url, &ui, &len);
    if (len == 0) {
        snprintf(out, n, "%s", url);
        return;
    }
    snprintf(out, n, "%.*s***%s", (int)(ui - url), url, ui + len);
}

/* libgit2's message with the URL's user-info and the token removed. */
static void
ws_safe_git_msg(char *out, size_t n, const char *url,
                const struct paved_workspace_cred *cred)
{
    char tmp[WS_MSG_MAX], ui_buf[256];
    const char *ui;
    size_t len;

    ws_userinfo(url, &ui, &len);
    if (len >= sizeof(ui_buf))
        len = sizeof(ui_buf) - 1;
    memcpy(ui_buf, ui, len);
    ui_buf[len] = '\0';
    ws_scrub(tmp, sizeof(tmp), ws_git_msg(), ui_buf);
    ws_scrub(out, n, tmp, cred != NULL ? cred->wc_token : NULL);
}

/* 40 hex digits into lowercase `out`; 64 is SHA-256, which this libgit2
 * cannot read. */
static int
ws_check_sha(char out[WS_SHA1_HEX + 1], const char *sha)
{
    size_t i, n = sha != NULL ? strlen(sha) : 0;

    for (i = 0; i < n; i++)
        if (!isxdigit((unsigned char)sha[i]))
            break;
    if (sha == NULL || i != n || (n != WS_SHA1_HEX && n != WS_SHA256_HEX))
        return paved_error_set(PAVED_EINVAL,
                               "commit id \"%.80s\" is not 40 or 64 "
                               "hexadecimal digits",
                               sha != NULL ? sha : "(null)");
    if (n == WS_SHA256_HEX)
        return paved_error_set(PAVED_EUNSUPPORTED,
                               "commit %s is a SHA-256 id: this build of "
                               "libgit2 (%d.%d) reads SHA-1 repositories only",
                               sha, LIBGIT2_VER_MAJOR, LIBGIT2_VER_MINOR);
    for (i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)sha[i]);
    out[n] = '\0';
    return 0;
}

/* "owner/name" as one safe path component: [A-Za-z0-9_.-] stay (a leading
 * '.' does not, so "." and ".." cannot come out), the rest is %XX. The
 * mapping is one-to-one because '%' itself is escaped. */
static int
ws_safe_name(char *out, size_t n, const char *repo)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i, o = 0;

    if (repo == NULL || repo[0] == '\0')
        return paved_error_set(PAVED_EINVAL, "empty repository name");
    for (i = 0; repo[i] != '\0'; i++) {
        unsigned char c = (unsigned char)repo[i];
        bool keep = (isalnum(c) && c < 0x80) || c == '_' || c == '-' ||
                    (c == '.' && i > 0);

        if (o + (keep ? 1 : 3) >= n || o + 3 > WS_NAME_MAX)
            return paved_error_set(
                PAVED_EINVAL, "repository name too long: \"%.60s...\"", repo);
        if (keep) {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
    return 0;
}

/* ---- libgit2 global state -------------------------------------------- */

int
paved_workspace_global_init(void)
{
    if (git_libgit2_init() < 0)
        return paved_error_set(PAVED_EUNAVAILABLE, "libgit2 init: %s",
                               ws_git_msg());
    return 0;
}

void
paved_workspace_global_shutdown(void)
{
    git_libgit2_shutdown();
}

/* ---- mirror ---------------------------------------------------------- */

struct ws_fetch_ctx {
    const struct paved_workspace_cred *fc_cred;
    unsigned fc_offered; /* GIT_CREDENTIAL_* types already offered */
};

/* Each credential is offered once: libgit2 asks again after a refusal,
 * and answering with the same thing forever would loop. */
static int
ws_cred_cb(git_credential **out, const char *url, const char *user_from_url,
           unsigned int allowed, void *payload)
{
    struct ws_fetch_ctx *fc = payload;
    const struct paved_workspace_cred *cred = fc->fc_cred;
    const char *user = user_from_url != NULL ? user_from_url : "git";
    unsigned type = 0;

    (void)url;
    if ((allowed & GIT_CREDENTIAL_USERNAME) != 0)
        type = GIT_CREDENTIAL_USERNAME;
    else if ((allowed & GIT_CREDENTIAL_SSH_KEY) != 0 && cred != NULL &&
             cred->wc_ssh_key != NULL)
        type = GIT_CREDENTIAL_SSH_KEY;
    else if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) != 0 &&
             cred != NULL && cred->wc_token != NULL)
        type = GIT_CREDENTIAL_USERPASS_PLAINTEXT;
    if (type == 0) {
        git_error_set_str(GIT_ERROR_NET,
                          "authentication required and no credential "
                          "configured (git_token, git_ssh_key)");
        return GIT_EAUTH;
    }
    if ((fc->fc_offered & type) != 0) {
        git_error_set_str(GIT_ERROR_NET,
                          "authentication failed: the configured credential "
                          "was refused");
        return GIT_EAUTH;
    }
    fc->fc_offered |= type;
    switch (type) {
    case GIT_CREDENTIAL_USERNAME:
        return git_credential_username_new(out, user);
    case GIT_CREDENTIAL_SSH_KEY:
        return git_credential_ssh_key_new(out, user, NULL, cred->wc_ssh_key,
                                          NULL);
    default:
        return git_credential_userpass_plaintext_new(out, "x-access-token",
                                                     cred->wc_token);
    }
}

/* 1 when the repository holds the commit (or an annotated tag and the
 * commit it points at), 0 when not, PAVED_EINVAL when the id names
 * something else. */
static int
ws_has_commit(git_repository *repo, const git_oid *oid, const char *sha)
{
    git_object *obj = NULL, *peeled = NULL;
    git_object_t type;
    int rc;

    if ((rc = git_object_lookup(&obj, repo, oid, GIT_OBJECT_ANY)) < 0)
        return 0;
    type = git_object_type(obj);
    if (type == GIT_OBJECT_COMMIT)
        rc = 1;
    else if (type == GIT_OBJECT_TAG)
        rc = git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT) == 0;
    else
        rc = paved_error_set(PAVED_EINVAL, "%s is a %s, not a commit", sha,
                             git_object_type2string(type));
    git_object_free(peeled);
    git_object_free(obj);
    return rc;
}

/* The lock-free look of the warm path: 1, 0 or an error. */
static int
ws_mirror_has(const char *path, const git_oid *oid, const char *sha)
{
    git_repository *repo = NULL;
    int rc;

    if (git_repository_open_bare(&repo, path) < 0)
        return 0;
    rc = ws_has_commit(repo, oid, sha);
    git_repository_free(repo);
    return rc;
}

static int
ws_fetch(git_repository *repo, const char *url, char **specs, size_t n,
         const struct paved_workspace_cred *cred)
{
    git_remote_create_options ro;
    git_fetch_options fo;
    git_strarray refspecs = {specs, n};
    struct ws_fetch_ctx fc = {cred, 0};
    git_remote *remote = NULL;
    int rc;

    /* Anonymous: the URL (maybe with credentials) is never written to the
     * mirror's config, and a changed clone URL template just works. No
     * url.<base>.insteadOf rewriting: the URL paved computed is the one
     * fetched (and libgit2 1.5 leaks a regex match block per config entry
     * while applying insteadOf). The _init functions, not the macros:
     * those leave fields out, which -Wmissing-field-initializers
     * rejects. */
    if ((rc = git_remote_create_options_init(
             &ro, GIT_REMOTE_CREATE_OPTIONS_VERSION)) < 0 ||
        (rc = git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION)) < 0)
        return rc;
    ro.repository = repo;
    ro.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF |
               GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
    if ((rc = git_remote_create_with_opts(&remote, url, &ro)) < 0)
        return rc;
    fo.callbacks.credentials = ws_cred_cb;
    fo.callbacks.payload = &fc;
    fo.prune = GIT_FETCH_NO_PRUNE;
    fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
    fo.update_fetchhead = 0;
    rc = git_remote_fetch(remote, &refspecs, &fo, NULL);
    git_remote_free(remote);
    return rc;
}

/* ref must be a valid full ref name: it is spliced into a refspec. */
static int
ws_check_ref(const char *ref)
{
    int valid = 0;

    if (strncmp(ref, "refs/", 5) != 0 ||
        git_reference_name_is_valid(&valid, ref) < 0 || !valid)
        return paved_error_set(PAVED_EINVAL,
                               "\"%.120s\" is not a full git ref name "
                               "(refs/heads/..., refs/tags/...)",
                               ref);
    return 0;
}

/* Appends to a fixed message buffer, truncating. */
static void
ws_append(char *buf, size_t n, const char *s)
{
    size_t len = strlen(buf);

    if (len + 1 < n)
        snprintf(buf + len, n - len, "%s", s);
}

/* The fetches, under the lock, with the repository open. */
static int
ws_mirror_fetch(git_repository *repo, const char *url, const char *ref,
                const char *sha, const git_oid *oid,
                const struct paved_workspace_cred *cred)
{
    char safe_url[WS_MSG_MAX], gmsg[WS_MSG_MAX], fetched[WS_MSG_MAX] = "";
    char spec[PATH_MAX], *specs[2];
    git_oid tip;
    int error;

    ws_redact_url(safe_url, sizeof(safe_url), url);
    if (ref != NULL) {
        /* "+refs/heads/main:refs/paved/heads/main" */
        if ((size_t)snprintf(spec, sizeof(spec), "+%s:refs/paved/%s", ref,
                             ref + 5) >= sizeof(spec))
            return paved_error_set(PAVED_EINVAL, "ref too long: %.80s...", ref);
        specs[0] = spec;
        if (ws_fetch(repo, url, specs, 1, cred) < 0) {
            ws_safe_git_msg(gmsg, sizeof(gmsg), url, cred);
            return paved_error_set(PAVED_EUNAVAILABLE, "fetch %s from %s: %s",
                                   ref, safe_url, gmsg);
        }
        ws_append(fetched, sizeof(fetched), ref);
        /* a ref the remote lacks fetches nothing and is no error */
        if (git_reference_name_to_id(&tip, repo, spec + strlen(ref) + 2) < 0)
            ws_append(fetched, sizeof(fetched), " (no such ref)");
        if ((error = ws_has_commit(repo, oid, sha)) != 0)
            return error < 0 ? error : 0;
        ws_append(fetched, sizeof(fetched), ", ");
    }

    /* the commit itself: libgit2 1.5 refuses this over the network ("cannot
     * fetch a specific object") and servers may refuse ids that are not a
     * ref tip, so a failure here goes into the message and is not fatal */
    snprintf(spec, sizeof(spec), "+%s:refs/paved/commits/%s", sha, sha);
    specs[0] = spec;
    ws_append(fetched, sizeof(fetched), "the commit itself");
    if (ws_fetch(repo, url, specs, 1, cred) < 0) {
        ws_safe_git_msg(gmsg, sizeof(gmsg), url, cred);
        ws_append(fetched, sizeof(fetched), " (");
        ws_append(fetched, sizeof(fetched), gmsg);
        ws_append(fetched, sizeof(fetched), ")");
    }
    if ((error = ws_has_commit(repo, oid, sha)) != 0)
        return error < 0 ? error : 0;

    if (ref == NULL) {
        /* nothing to go by: every branch and tag */
        specs[0] = "+refs/heads/*:refs/paved/heads/*";
        specs[1] = "+refs/tags/*:refs/paved/tags/*";
        if (ws_fetch(repo, url, specs, 2, cred) < 0) {
            ws_safe_git_msg(gmsg, sizeof(gmsg), url, cred);
            return paved_error_set(PAVED_EUNAVAILABLE,
                                   "fetch branches and tags from %s: %s",
                                   safe_url, gmsg);
        }
        ws_append(fetched, sizeof(fetched), ", all branches and tags");
        if ((error = ws_has_commit(repo, oid, sha)) != 0)
            return error < 0 ? error : 0;
    }
    return paved_error_set(PAVED_ENOTFOUND,
                           "commit %s is not in %s (fetched %s)", sha, safe_url,
                           fetched);
}

static int
ws_lock(int *fd_out, const char *path)
{
    int fd;

    *fd_out = -1;
    if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
        return paved_error_set(PAVED_EUNAVAILABLE, "open %s: %s", path,
                               strerror(errno));
    while (flock(fd, LOCK_EX) < 0) {
        if (errno != EINTR) {
            int e = errno;

            close(fd);
            return paved_error_set(PAVED_EUNAVAILABLE, "lock %s: %s", path,
                                   strerror(e));
        }
    }
    *fd_out = fd;
    return 0;
}

/* ---- push -------------------------------------------------------------- */

struct ws_push_ctx {
    struct ws_fetch_ctx pc_fetch; /* first: the credential callback's */
    char pc_refused[WS_MSG_MAX];
};

/* libgit2 reports a refused ref here, not as an error of the push. */
static int
ws_push_ref_cb(const char *ref, const char *status, void *payload)
{
    struct ws_push_ctx *pc = payload;

    if (status != NULL && pc->pc_refused[0] == '\0')
        snprintf(pc->pc_refused, sizeof(pc->pc_refused), "%s: %s", ref, status);
    return 0;
}

int
paved_workspace_push(const char *repo_path, const char *url,
                     const char *const *refspecs, size_t n,
                     const struct paved_workspace_cred *cred)
{
    struct ws_push_ctx pc;
    git_remote_create_options ro;
    git_strarray specs = {(char **)refspecs, n};
    git_repository *repo = NULL;
    git_remote *remote = NULL;
    git_push_options po;
    char gmsg[WS_MSG_MAX], shown[WS_MSG_MAX];
    size_t i;
    int error = 0, rc;

    for (i = 0; i < n; i++)
        if (refspecs[i][0] == '+')
            return paved_error_set(
                PAVED_EINVAL, "paved never force-pushes (%s)", refspecs[i]);
    memset(&pc, 0, sizeof(pc));
    pc.pc_fetch.fc_cred = cred;
    ws_redact_url(shown, sizeof(shown), url);
    git_libgit2_init();
    /* anonymous and without insteadOf, as ws_fetch (libgit2 1.5 leaks
     * while applying insteadOf) */
    if (git_repository_open(&repo, repo_path) < 0 ||
        git_remote_create_options_init(&ro, GIT_REMOTE_CREATE_OPTIONS_VERSION) <
            0 ||
        (ro.repository = repo,
         ro.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF |
                    GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC,
         git_remote_create_with_opts(&remote, url, &ro)) < 0 ||
        git_push_options_init(&po, GIT_PUSH_OPTIONS_VERSION) < 0) {
        ws_safe_git_msg(gmsg, sizeof(gmsg), url, cred);
        error = paved_error_set(PAVED_ERROR, "push to %s: %s", shown, gmsg);
        goto out;
    }
    po.callbacks.credentials = ws_cred_cb;
    po.callbacks.push_update_reference = ws_push_ref_cb;
    po.callbacks.payload = &pc;
    if ((rc = git_remote_push(remote, &specs, &po)) < 0) {
        ws_safe_git_msg(gmsg, sizeof(gmsg), url, cred);
        /* libgit2 finds a non-fast-forward itself, before sending */
        if (rc == GIT_ENONFASTFORWARD || strstr(gmsg, "not present locally"))
            error = paved_error_set(PAVED_EEXISTS,
                                    "push to %s refused: the remote already "
                                    "has other commits there (%s)",
                                    shown, gmsg);
        else
            error = paved_error_set(PAVED_EUNAVAILABLE, "push to %s: %s", shown,
                                    gmsg);
    } else if (pc.pc_refused[0] != '\0') {
        error =
            paved_error_set(strstr(pc.pc_refused, "fast-forward") != NULL ||
                                    strstr(pc.pc_refused, "fetch first") != NULL
                                ? PAVED_EEXISTS
                                : PAVED_ERROR,
                            "push to %s refused: %s", shown, pc.pc_refused);
    }
out:
    git_remote_free(remote);
    git_repository_free(repo);
    git_libgit2_shutdown();
    return error;
}

/* The same two steps paved_workspace_mirror takes to name the mirror,
 * without its other checks, so that readers find what it wrote. */
int
paved_workspace_mirror_path(char **out, const char *mirrors_dir,
                            const char *repo)
{
    char name[WS_NAME_MAX + 8];
    int error;

    *out = NULL;
    if (mirrors_dir == NULL || mirrors_dir[0] == '\0')
        return paved_error_set(PAVED_EINVAL, "mirror of %s: no directory",
                               repo != NULL ? repo : "");
    if ((error = ws_safe_name(name, sizeof(name), repo)) < 0)
        return error;
    if ((*out = ws_join(mirrors_dir, name, ".git")) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    return 0;
}

int
paved_workspace_mirror(char **mirror_path, const char *mirrors_dir,
                       const char *repo, const char *url, const char *ref,
                       const char *sha, const struct paved_workspace_cred *cred)
{
    char name[WS_NAME_MAX + 8], hex[WS_SHA1_HEX + 1];
    char *path = NULL, *lock = NULL;
    git_repository *grepo = NULL;
    git_oid oid;
    int error, lockfd = -1, git_ok = 0;

    *mirror_path = NULL;
    if ((error = ws_check_sha(hex, sha)) < 0 ||
        (error = ws_safe_name(name, sizeof(name), repo)) < 0)
        return error;
    if (mirrors_dir == NULL || mirrors_dir[0] == '\0' || url == NULL ||
        url[0] == '\0')
        return paved_error_set(PAVED_EINVAL, "mirror of %s: no %s", repo,
                               url == NULL || url[0] == '\0' ? "clone URL"
                                                             : "directory");
    if (ref != NULL && (error = ws_check_ref(ref)) < 0)
        return error;
    if ((error = paved_workspace_global_init()) < 0)
        return error;
    git_ok = 1;
    if (git_oid_fromstr(&oid, hex) < 0) {
        error = paved_error_set(PAVED_EINVAL, "bad commit id %s", hex);
        goto out;
    }
    if ((path = ws_join(mirrors_dir, name, ".git")) == NULL ||
        (lock = ws_join(mirrors_dir, name, ".git.lock")) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }

    /* warm: no lock, no network */
    if ((error = ws_mirror_has(path, &oid, hex)) != 0)
        goto out;

    if (mkdir(mirrors_dir, 0700) < 0 && errno != EEXIST) {
        error = paved_error_set(PAVED_EUNAVAILABLE, "create %s: %s",
                                mirrors_dir, strerror(errno));
        goto out;
    }
    if ((error = ws_lock(&lockfd, lock)) < 0)
        goto out;
    /* whoever held the lock may have fetched it for us */
    if (git_repository_open_bare(&grepo, path) < 0) {
        git_repository_init_options io;

        git_repository_init_options_init(&io,
                                         GIT_REPOSITORY_INIT_OPTIONS_VERSION);
        /* also repairs a directory left half-made by a crash */
        io.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKDIR;
        if (git_repository_init_ext(&grepo, path, &io) < 0) {
            error = paved_error_set(PAVED_EUNAVAILABLE, "create mirror %s: %s",
                                    path, ws_git_msg());
            goto out;
        }
    }
    if ((error = ws_has_commit(grepo, &oid, hex)) != 0)
        goto out;
    error = ws_mirror_fetch(grepo, url, ref, hex, &oid, cred);
out:
    git_repository_free(grepo);
    if (lockfd >= 0)
        close(lockfd); /* releases the flock */
    if (git_ok)
        paved_workspace_global_shutdown();
    free(lock);
    if (error < 0) {
        free(path);
        return error;
    }
    *mirror_path = path;
    return 0;
}

/* ---- remove ---------------------------------------------------------- */

/* nftw callbacks take no argument: failures go to the thread's error
 * message, and the errno comes back as the walk's result. */
static int
ws_rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    int rc, e;

    (void)st;
    (void)ftw;
    if (type == FTW_DNR)
        e = EACCES; /* cannot list it: the fix pass may help */
    else if ((rc = type == FTW_DP ? rmdir(path) : unlink(path)) == 0 ||
             errno == ENOENT)
        return 0;
    else
        e = errno;
    paved_error_set(PAVED_EUNAVAILABLE, "remove %s: %s", path, strerror(e));
    return e;
}

/* Pre-order: give directories u+rwx so that their entries can be listed
 * and removed (a step may leave read-only trees, e.g. Go's module cache).
 * A directory we could not list is fixed and the walk restarts, since
 * nftw does not descend into it this time. */
static int
ws_rm_fix(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)ftw;
    if (type != FTW_D && type != FTW_DNR)
        return 0;
    if ((st->st_mode & S_IRWXU) == S_IRWXU)
        return 0;
    if (chmod(path, (st->st_mode & 07777) | S_IRWXU) < 0)
        return 0; /* the removal pass reports it */
    return type == FTW_DNR ? WS_RM_AGAIN : 0;
}

static int
ws_rmtree(const char *path)
{
    const int flags = FTW_PHYS | FTW_MOUNT;
    struct stat st;
    int rc, rounds = 0;

    if (lstat(path, &st) < 0) {
        if (errno == ENOENT)
            return 0;
        return paved_error_set(PAVED_EUNAVAILABLE, "remove %s: %s", path,
                               strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) {
        if (unlink(path) < 0 && errno != ENOENT)
            return paved_error_set(PAVED_EUNAVAILABLE, "remove %s: %s", path,
                                   strerror(errno));
        return 0;
    }
    rc = nftw(path, ws_rm_entry, WS_RM_FDS, flags | FTW_DEPTH);
    if (rc == EACCES || rc == EPERM) {
        /* rare (root never gets here): fix modes, then once more */
        while ((rc = nftw(path, ws_rm_fix, WS_RM_FDS, flags)) == WS_RM_AGAIN &&
               ++rounds < 10000)
            ;
        rc = nftw(path, ws_rm_entry, WS_RM_FDS, flags | FTW_DEPTH);
    }
    if (rc == 0)
        return 0;
    if (rc == -1)
        return paved_error_set(PAVED_EUNAVAILABLE, "remove %s: %s", path,
                               strerror(errno));
    return PAVED_EUNAVAILABLE; /* ws_rm_entry set the message */
}

int
paved_workspace_remove(const char *root, const char *dest)
{
    char *rroot = NULL, *rparent = NULL, *copy = NULL, *full = NULL;
    const char *base, *parent;
    char *slash;
    size_t len, rlen;
    int error = 0;

    if (root == NULL || dest == NULL || dest[0] == '\0')
        return paved_error_set(PAVED_EINVAL, "remove: no path");
    if ((rroot = realpath(root, NULL)) == NULL) {
        error = paved_error_set(PAVED_EINVAL, "remove %s: root %s: %s", dest,
                                root, strerror(errno));
        goto out;
    }
    if ((copy = strdup(dest)) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    len = strlen(copy);
    while (len > 1 && copy[len - 1] == '/')
        copy[--len] = '\0';
    if ((slash = strrchr(copy, '/')) == NULL) {
        parent = ".";
        base = copy;
    } else {
        *slash = '\0';
        parent = slash == copy ? "/" : copy;
        base = slash + 1;
    }
    if (base[0] == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
        error = paved_error_set(PAVED_EINVAL, "remove %s: not a removable path",
                                dest);
        goto out;
    }
    /* the parent's symlinks are resolved, dest's own last component is
     * not: a symlink there is removed, not followed */
    if ((rparent = realpath(parent, NULL)) == NULL) {
        if (errno == ENOENT || errno == ENOTDIR)
            error = 0; /* nothing there to remove */
        else
            error = paved_error_set(PAVED_EUNAVAILABLE, "remove %s: %s", dest,
                                    strerror(errno));
        goto out;
    }
    if ((full = ws_join(rparent, base, "")) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    rlen = strlen(rroot);
    if (strcmp(rroot, "/") == 0)
        rlen = 0;
    if (strncmp(full, rroot, rlen) != 0 || full[rlen] != '/' ||
        full[rlen + 1] == '\0') {
        error = paved_error_set(
            PAVED_EINVAL, "refusing to remove %s: not under %s", dest, root);
        goto out;
    }
    error = ws_rmtree(full);
out:
    free(rroot);
    free(rparent);
    free(copy);
    free(full);
    return error;
}

/* ---- checkout -------------------------------------------------------- */

/* A working tree's .git with just what git needs: HEAD detached at hex,
 * a config without reflogs, objects/ and refs/. */
static int
ws_init_minimal(const char *dest, const char *hex)
{
    static const char *const dirs[] = {"",
                                       "/.git",
                                       "/.git/objects",
                                       "/.git/refs",
                                       "/.git/refs/heads",
                                       "/.git/refs/tags"};
    static const char config[] = "[core]\n"
                                 "\trepositoryformatversion = 0\n"
                                 "\tfilemode = true\n"
                                 "\tbare = false\n"
                                 "\tlogallrefupdates = false\n";
    char path[PATH_MAX];
    FILE *fp;
    size_t i;

    for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        if (snprintf(path, sizeof(path), "%s%s", dest, dirs[i]) >=
            (int)sizeof(path))
            return paved_error_set(PAVED_EINVAL, "path too long: %s", dest);
        if (mkdir(path, 0755) < 0)
            return paved_error_set(PAVED_EUNAVAILABLE, "create %s: %s", path,
                                   strerror(errno));
    }
    for (i = 0; i < 2; i++) {
        int bad;
        snprintf(path, sizeof(path), "%s/.git/%s", dest,
                 i == 0 ? "HEAD" : "config");
        if ((fp = fopen(path, "wx")) == NULL)
            return paved_error_set(PAVED_EUNAVAILABLE, "write %s: %s", path,
                                   strerror(errno));
        bad = i == 0 ? fprintf(fp, "%s\n", hex) < 0 : fputs(config, fp) < 0;
        if (fclose(fp) != 0 || bad)
            return paved_error_set(PAVED_EUNAVAILABLE, "write %s: %s", path,
                                   strerror(errno));
    }
    return 0;
}

static int
ws_write_alternates(const char *dest, const char *objects)
{
    char *dir = NULL, *file = NULL;
    FILE *fp = NULL;
    int error = 0;

    if ((dir = ws_join(dest, ".git/objects/info", "")) == NULL ||
        (file = ws_join(dir, "alternates", "")) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        error = paved_error_set(PAVED_EUNAVAILABLE, "create %s: %s", dir,
                                strerror(errno));
        goto out;
    }
    if ((fp = fopen(file, "wx")) == NULL || fprintf(fp, "%s\n", objects) < 0 ||
        fclose(fp) != 0) {
        error = paved_error_set(PAVED_EUNAVAILABLE, "write %s: %s", file,
                                strerror(errno));
        fp = NULL;
        goto out;
    }
    fp = NULL;
out:
    if (fp != NULL)
        fclose(fp);
    free(dir);
    free(file);
    return error;
}

int
paved_workspace_peel(char commit[41], const char *mirror_path, const char *sha)
{
    git_repository *repo = NULL;
    git_object *obj = NULL, *peeled = NULL;
    char hex[WS_SHA1_HEX + 1];
    git_oid oid;
    int error, rc;

    if ((error = ws_check_sha(hex, sha)) < 0)
        return error;
    if ((error = paved_workspace_global_init()) < 0)
        return error;
    git_oid_fromstr(&oid, hex);
    if (git_repository_open_bare(&repo, mirror_path) < 0) {
        error = paved_error_set(PAVED_EUNAVAILABLE, "open mirror %s: %s",
                                mirror_path, ws_git_msg());
        goto out;
    }
    if ((rc = git_object_lookup(&obj, repo, &oid, GIT_OBJECT_ANY)) < 0) {
        error = paved_error_set(rc == GIT_ENOTFOUND ? PAVED_ENOTFOUND
                                                    : PAVED_EUNAVAILABLE,
                                "object %s is not in mirror %s: %s", hex,
                                mirror_path, ws_git_msg());
        goto out;
    }
    if (git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT) < 0) {
        error = paved_error_set(PAVED_EINVAL, "%s names no commit: %s", hex,
                                ws_git_msg());
        goto out;
    }
    git_oid_tostr(commit, 41, git_object_id(peeled));
out:
    git_object_free(peeled);
    git_object_free(obj);
    git_repository_free(repo);
    paved_workspace_global_shutdown();
    return error;
}

int
paved_workspace_checkout(const char *mirror_path, const char *sha,
                         const char *dest)
{
    git_repository_init_options io;
    git_checkout_options co;
    git_repository *repo = NULL;
    git_commit *commit = NULL;
    char hex[WS_SHA1_HEX + 1], *real = NULL, *objects = NULL;
    git_oid oid;
    struct stat st;
    int error, git_ok = 0, made = 0, rc;

    if ((error = ws_check_sha(hex, sha)) < 0)
        return error;
    if (mirror_path == NULL || dest == NULL || dest[0] == '\0')
        return paved_error_set(PAVED_EINVAL, "checkout: no mirror or dest");
    if (lstat(dest, &st) == 0)
        return paved_error_set(PAVED_EEXISTS,
                               "checkout into %s: it already exists", dest);
    if (errno != ENOENT)
        return paved_error_set(PAVED_EUNAVAILABLE, "checkout into %s: %s", dest,
                               strerror(errno));
    /* alternates are resolved from the objects directory: absolute */
    if ((real = realpath(mirror_path, NULL)) == NULL)
        return paved_error_set(PAVED_ENOTFOUND, "mirror %s: %s", mirror_path,
                               strerror(errno));
    if ((error = paved_workspace_global_init()) < 0)
        goto out;
    git_ok = 1;
    if ((objects = ws_join(real, "objects", "")) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    git_oid_fromstr(&oid, hex);
    git_repository_init_options_init(&io, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
    git_checkout_options_init(&co, GIT_CHECKOUT_OPTIONS_VERSION);
    (void)io;
    /* the .git by hand: git_repository_init_ext writes a template, a
     * config rewritten four times through lock files and reflogs, about
     * 30 inodes a run that the latency path and the disk pay for */
    made = 1;
    if ((error = ws_init_minimal(dest, hex)) < 0 ||
        (error = ws_write_alternates(dest, objects)) < 0)
        goto out;
    if (git_repository_open_ext(&repo, dest, GIT_REPOSITORY_OPEN_NO_SEARCH,
                                NULL) < 0) {
        error = paved_error_set(PAVED_EUNAVAILABLE, "open %s: %s", dest,
                                ws_git_msg());
        goto out;
    }
    if ((rc = git_commit_lookup(&commit, repo, &oid)) < 0) {
        error = paved_error_set(
            rc == GIT_ENOTFOUND ? PAVED_ENOTFOUND : PAVED_EUNAVAILABLE,
            "commit %s is not in mirror %s: %s", hex, real, ws_git_msg());
        goto out;
    }
    co.checkout_strategy = GIT_CHECKOUT_FORCE;
    if (git_checkout_tree(repo, (const git_object *)commit, &co) < 0) {
        error = paved_error_set(PAVED_EUNAVAILABLE, "checkout %s into %s: %s",
                                hex, dest, ws_git_msg());
        goto out;
    }
out:
    git_commit_free(commit);
    git_repository_free(repo);
    if (git_ok)
        paved_workspace_global_shutdown();
    if (error < 0 && made) {
        char msg[512];

        /* keep the real error: the cleanup's own would overwrite it */
        snprintf(msg, sizeof(msg), "%s", paved_error_last());
        (void)ws_rmtree(dest);
        paved_error_set(error, "%s", msg);
    }
    free(real);
    free(objects);
    return error;
}
