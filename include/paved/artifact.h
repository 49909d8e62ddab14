#ifndef PAVED_ARTIFACT_H
#define PAVED_ARTIFACT_H
/* Building and pushing the artifact of a commit (docs/delivery.md#artifacts):
 *
 *   directory  a content-addressed copy <artifacts_dir>/sha256-<hex>/ of a
 *              built checkout, the local driver's kind
 *   image      an OCI image built with podman or buildah and pushed to a
 *              registry; recorded as "registry/repo@sha256:<hex>"
 *
 * The caller records the result (paved_store_artifact_put). This module
 * never reads or writes the store, never runs a shell (tools run as argv
 * vectors through fork and execve) and never follows a symlink out of the
 * tree it copies. */
#include <stdbool.h>
#include <stdio.h>

#include "paved/buf.h"

/* "sha256:" and 64 lowercase hex digits */
#define PAVED_ARTIFACT_DIGEST_LEN 71

/* ---- directory artifacts ------------------------------------------------
 * The digest is SHA-256 over a canonical listing of the tree: every entry
 * sorted by its relative path (bytewise), with its type (file, directory,
 * symlink), permission bits (mode & 0777; 0 for symlinks), size, and the
 * SHA-256 of its content (a symlink's: its target text). Owners, mtimes
 * and set-id bits are not part of it: the same tree built twice has the
 * same digest. Entries named ".git" (at any depth) are left out. A symlink
 * is kept as a symlink when its target is relative and stays inside the
 * tree, also through other symlinks; an absolute or escaping target, a
 * device, FIFO or socket fails with PAVED_EINVAL naming the path. */

/* The digest of src_dir as paved_artifact_dir_build() would record it,
 * without copying: "sha256:<hex>" (free()). */
int paved_artifact_dir_digest(char **digest_out, const char *src_dir);

/* Copies src_dir into <artifacts_dir>/sha256-<hex>/ (artifacts_dir is
 * created when missing) keeping permission bits and mtimes (so that
 * `make run` in the copy does not rebuild). The copy is written into a
 * temporary directory inside artifacts_dir, synced, and renamed into
 * place; when the target exists already, nothing is written and the
 * existing one is used (same digest, same content). The digest is that of
 * the bytes written, checked against a first read-only pass: a tree that
 * changes while it is copied fails (PAVED_ERROR) and leaves nothing.
 * path_out: the absolute path of the target; digest_out: "sha256:<hex>";
 * both free(); either may be NULL. */
int paved_artifact_dir_build(char **path_out, char **digest_out,
                             const char *src_dir, const char *artifacts_dir);

/* ---- images ---------------------------------------------------------------
 * podman (the default) or buildah, run as a child process with the
 * caller's environment, stdin /dev/null, stdout and stderr read through
 * one pipe. The child stays in the caller's process group, so that a step
 * cancelled by paved takes its build with it.
 *
 * On this machine podman and buildah need the runc runtime (crun is not
 * installed) and ulimits no higher than those the OCI runtime inherits
 * (rootful podman asks for nofile=1048576 and nproc=1048576, and runc
 * fails with "error setting rlimit type 7" or "type 6"): when the
 * environment has no CONTAINERS_CONF and io_containers_conf is set, that
 * file is (re)written with
 *
 *     [containers]
 *     default_ulimits = ["nofile=1024:1024", "nproc=N:N"]
 *     [engine]
 *     runtime = "runc"
 *
 * (N: the smaller of kernel.pid_max, to which podman lowers its own
 * limit, and the caller's hard RLIMIT_NPROC) and given to the child only,
 * as CONTAINERS_CONF. */
struct paved_image_opts {
    const char *io_tool; /* "podman" (NULL) or "buildah", or a path whose
                            last component is one of them */
    const char *io_containers_conf; /* e.g. <data_dir>/containers/
                                       containers.conf; NULL: none */
    /* Storage: NULL uses the tool's own (overlay as root here). "vfs"
     * where overlay cannot mount (some containers); a store holds one
     * driver, so give another driver its own io_storage_root. */
    const char *io_storage_driver; /* --storage-driver */
    const char *io_storage_root;   /* --root DIR --runroot DIR/run */
    char *const *io_env;           /* the child's environment, "K=V",
                                      NULL-ended; NULL: environ. PATH in it
                                      is where the tool is looked up. */
    FILE *io_echo;                 /* the tool's output as it arrives (a
                                      step log); NULL: not shown */
    struct paved_buf *io_output;   /* the tool's output kept up to b_max,
                                      the rest dropped; NULL: not kept */
    unsigned io_timeout_ms;        /* 0: none; else SIGTERM, SIGKILL 5 s
                                      later, and PAVED_ERROR */
};

/* PAVED_EINVAL unless name is an image name a tool can take: a repository
 * path of [a-z0-9._-] components with an optional registry host
 * (host[:port]/) and an optional :tag, no digest, not starting with '-'.
 * With require_registry, the first component must be a host (it holds a
 * '.' or ':' or is "localhost"): a push never goes to docker.io by
 * default. */
int paved_image_name_check(const char *name, bool require_registry);

/* `<tool> build --file DOCKERFILE --tag NAME --iidfile F CONTEXT`.
 * dockerfile NULL: CONTEXT/Dockerfile; a relative path is taken from the
 * caller's working directory, as podman does. id_out: the image ID, 64
 * hex digits (free()).
 * PAVED_EUNAVAILABLE "podman not found: install podman (scripts/deps.sh
 * test)" when the tool is not on PATH; PAVED_ENOTFOUND for a missing
 * context or Dockerfile; PAVED_EINVAL for a bad name; PAVED_ERROR when the
 * tool fails (the message has its exit status and last output line). */
int paved_image_build(char **id_out, const struct paved_image_opts *o,
                      const char *context_dir, const char *dockerfile,
                      const char *name);

/* `<tool> push [--tls-verify=false] --digestfile F NAME docker://NAME`.
 * tls_verify false for a plain-http registry (a loopback one in tests).
 * ref_out: "registry/repo@sha256:<hex>" (the tag dropped: the digest is
 * the reference recorded); digest_out "sha256:<hex>", may be NULL; both
 * free(). Errors as paved_image_build(); PAVED_EINVAL for a name without
 * a registry host. */
int paved_image_push(char **ref_out, char **digest_out,
                     const struct paved_image_opts *o, const char *name,
                     bool tls_verify);

#endif
