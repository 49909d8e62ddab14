#ifndef PAVED_WORKSPACE_H
#define PAVED_WORKSPACE_H
/* A run's workspace with libgit2: one bare mirror per repository under the
 * data directory, fetched on demand with only the refs a run needs, and a
 * working tree of exactly one commit per run that borrows the mirror's
 * objects (like `git clone --shared`), removed by policy afterwards.
 * Every function here blocks on disk or network: call them from pool
 * workers (paved/pool.h), never from the event loop. They are safe to call
 * from several threads at once, also for the same repository: fetches into
 * one mirror are serialized with flock(2) on <mirror>.lock (so also across
 * processes sharing a data directory). Never runs a hook, a filter driver
 * or anything else from a repository, never writes a credential to disk
 * and never prints one in a message. */
#include <stddef.h>

/* Borrowed strings; both may be NULL. */
struct paved_workspace_cred {
    const char *wc_token;   /* HTTPS basic auth: user "x-access-token",
                               password the token (GitHub style) */
    const char *wc_ssh_key; /* private key file for ssh:// and scp-like
                               URLs (user from the URL, else "git") */
};

/* libgit2's global state. Its init is reference counted: call
 * paved_workspace_global_init() once in main before the first worker
 * starts and paved_workspace_global_shutdown() once after the last one
 * has stopped. The functions below also take and drop a reference of
 * their own, so they are correct without it, only slower (each call
 * would set libgit2 up and tear it down again). */
int paved_workspace_global_init(void);
void paved_workspace_global_shutdown(void);

/* Makes sure <mirrors_dir>/<name>.git is a bare repository holding commit
 * `sha` (40 hex digits; 64 is recognised as SHA-256 and refused with
 * PAVED_EUNSUPPORTED, which this libgit2 cannot read). <name> is repo
 * ("owner/name") with every byte but [A-Za-z0-9_.-] written as %XX, and a
 * leading '.' too, so it is one path component that can never leave
 * mirrors_dir. mirrors_dir is created (one level) when missing.
 *
 * When the commit is already there nothing touches the network or takes
 * the lock (the warm path, on the event-to-first-step latency path).
 * Otherwise, under the mirror's lock, it fetches from url (https://,
 * http://, ssh://, user@host:path, git://, file:// or a plain path)
 * only `ref` (a full ref name: refs/heads/main, refs/tags/v1,
 * refs/pull/7/head) into refs/paved/<ref without "refs/">, no tags; if
 * the commit is still missing, the commit itself (libgit2 1.5 can do that
 * only over file:// and plain paths). With ref NULL: the commit itself,
 * then every branch and tag. Over file:// and plain paths libgit2 copies
 * the objects of every ref of the source, though it still writes only
 * the refs asked for. url.<base>.insteadOf is not applied. The token is
 * offered to whatever host url names, when it asks (keep the clone URL
 * template pointing at the forge); ssh host keys are checked against
 * ~/.ssh/known_hosts of the user paved runs as (libgit2 >= 1.5.1).
 *
 * Errors: PAVED_EINVAL for a bad repo, ref or sha; PAVED_ENOTFOUND when
 * the fetches worked but the commit is not among them ("commit abc... is
 * not in https://host/o/r.git (fetched refs/heads/main)");
 * PAVED_EUNAVAILABLE for network, authentication and disk errors, with
 * libgit2's message. URLs in messages have user:password@ replaced by
 * "***@", and the token never appears. On success *mirror_path is the
 * mirror's path (malloc'd, the caller frees); NULL on error. */
int paved_workspace_mirror(char **mirror_path, const char *mirrors_dir,
                           const char *repo, const char *url, const char *ref,
                           const char *sha,
                           const struct paved_workspace_cred *cred);

/* The path paved_workspace_mirror uses for repo's mirror under
 * mirrors_dir (<mirrors_dir>/<name>.git, <name> escaped as above), for
 * readers of a mirror that do not fetch (the platform view reads policy
 * files from them). Unlike the rest of this header it touches neither
 * disk nor network (nor libgit2): safe on the event loop. *out malloc'd,
 * the caller frees; NULL on error: PAVED_EINVAL for an empty mirrors_dir
 * or a repo paved_workspace_mirror refuses (empty, or too long a name),
 * PAVED_ENOMEM. */
int paved_workspace_mirror_path(char **out, const char *mirrors_dir,
                                const char *repo);

/* Pushes refspecs ("refs/heads/main:refs/heads/main"; never forced: no
 * '+') from the repository at repo_path to url, with the same credentials
 * and message hygiene as paved_workspace_mirror. A ref the server refuses
 * (not a fast-forward, a hook said no) is PAVED_EEXISTS or PAVED_ERROR
 * with the server's reason; network and authentication errors are
 * PAVED_EUNAVAILABLE. */
int paved_workspace_push(const char *repo_path, const char *url,
                         const char *const *refspecs, size_t n,
                         const struct paved_workspace_cred *cred);

/* The commit sha names: itself, or the commit an annotated tag points at
 * (GitHub sends a tag object's SHA as a tag push's "after"). commit gets
 * 40 hex digits and a NUL. PAVED_ENOTFOUND, PAVED_EINVAL (not a commit or
 * a tag of one). */
int paved_workspace_peel(char commit[41], const char *mirror_path,
                         const char *sha);

/* Creates dest (its parent must exist, dest must not: PAVED_EEXISTS) as a
 * git working tree of exactly `sha`: a new repository whose
 * .git/objects/info/alternates points at the mirror's objects (no object
 * is copied), HEAD detached at sha, the tree checked out with
 * GIT_CHECKOUT_FORCE and the index written, so that `git rev-parse HEAD`
 * prints sha and `git status` is clean. The mirror must not be pruned
 * while the workspace exists. Submodules are not checked out.
 * PAVED_ENOTFOUND when the mirror lacks the commit. On failure dest is
 * removed again. */
int paved_workspace_checkout(const char *mirror_path, const char *sha,
                             const char *dest);

/* rm -rf dest: symlinks are removed, never followed; directories a step
 * made read-only are made writable first; nothing on another file system
 * (a mount point inside dest) is touched, and that is an error. dest must
 * lie strictly below root once its parent's symlinks are resolved (dest
 * itself may be a symlink: the link is removed): PAVED_EINVAL otherwise.
 * 0 when dest does not exist. PAVED_EUNAVAILABLE, naming the path, when
 * something cannot be removed. */
int paved_workspace_remove(const char *root, const char *dest);

#endif
