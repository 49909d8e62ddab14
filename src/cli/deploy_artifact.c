/* `uses: build-image` and `uses: push-image`: the artifact of the commit
 * a run checked out, built by src/delivery/artifact.c and recorded in the
 * store per (repo, sha), so that a release tag later deploys exactly what
 * was built and tested (docs/delivery.md#artifacts). Parameters come from
 * the step's environment (PAVED_WITH_*), never from command text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "paved/artifact.h"
#include "paved/error.h"
#include "paved/rollout.h"
#include "paved/store.h"

extern char **environ;

static const char *
art_env(const char *name, const char *def)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : def;
}

static void
art_image_opts(struct paved_image_opts *o, char *conf, size_t len,
               const struct paved_rollout *ro)
{
    memset(o, 0, sizeof(*o));
    o->io_tool = art_env("PAVED_WITH_TOOL", NULL);
    snprintf(conf, len, "%s/containers/containers.conf", ro->ro_data_dir);
    o->io_containers_conf = conf;
    o->io_storage_driver = art_env("PAVED_IMAGE_STORAGE_DRIVER", NULL);
    o->io_storage_root = art_env("PAVED_IMAGE_STORAGE_ROOT", NULL);
    o->io_env = environ;
    o->io_echo = stdout;
}

/* with: tls_verify: false for a plain-http registry on loopback */
static bool
art_tls_verify(void)
{
    const char *v = art_env("PAVED_WITH_TLS_VERIFY", "true");
    return !(strcmp(v, "false") == 0 || strcmp(v, "no") == 0 ||
             strcmp(v, "0") == 0);
}

static int
art_build_directory(struct paved_rollout *ro, const char *service,
                    const char *repo, const char *sha)
{
    struct paved_artifact a;
    char dir[4096], *path = NULL, *digest = NULL;
    int error;

    if ((size_t)snprintf(dir, sizeof(dir), "%s/artifacts", ro->ro_data_dir) >=
        sizeof(dir))
        return paved_error_set(PAVED_EINVAL, "data_dir is too long");
    if ((error = paved_artifact_dir_build(
             &path, &digest, art_env("PAVED_WITH_PATH", "."), dir)) < 0)
        return error;
    memset(&a, 0, sizeof(a));
    a.ar_repo = (char *)repo;
    a.ar_sha = (char *)sha;
    a.ar_service = (char *)service;
    a.ar_kind = "directory";
    a.ar_ref = path;
    a.ar_digest = digest;
    a.ar_start = (char *)art_env("PAVED_WITH_START", "make run");
    a.ar_run_id = ro->ro_run_id;
    if ((error = paved_store_artifact_put(ro->ro_store, &a)) == 0)
        printf("artifact of %s at %.12s: %s (%s)\n", service, sha, path,
               digest);
    free(path);
    free(digest);
    return error;
}

static int
art_build_image(struct paved_rollout *ro, const char *service, const char *repo,
                const char *sha)
{
    struct paved_image_opts o;
    struct paved_artifact a;
    const char *image = art_env("PAVED_WITH_IMAGE", NULL);
    char name[1024], conf[4096], digest[80], *id = NULL;
    int error;

    if (image == NULL) {
        const char *registry = art_env("REGISTRY", NULL);
        if (registry == NULL)
            return paved_error_set(
                PAVED_EINVAL,
                "which image? set with: image (registry/name:tag), or the "
                "pipeline's env REGISTRY");
        snprintf(name, sizeof(name), "%s/%s:sha-%.7s", registry, service, sha);
        image = name;
    }
    art_image_opts(&o, conf, sizeof(conf), ro);
    if ((error = paved_image_build(&id, &o, art_env("PAVED_WITH_PATH", "."),
                                   art_env("PAVED_WITH_DOCKERFILE", NULL),
                                   image)) < 0)
        return error;
    /* not pushed yet: the reference is the tag, the digest the image ID;
     * push-image replaces both with the registry's */
    snprintf(digest, sizeof(digest), "sha256:%s", id);
    memset(&a, 0, sizeof(a));
    a.ar_repo = (char *)repo;
    a.ar_sha = (char *)sha;
    a.ar_service = (char *)service;
    a.ar_kind = "image";
    a.ar_ref = (char *)image;
    a.ar_digest = digest;
    a.ar_run_id = ro->ro_run_id;
    if ((error = paved_store_artifact_put(ro->ro_store, &a)) == 0)
        printf("image of %s at %.12s: %s (image ID %s)\n", service, sha, image,
               id);
    free(id);
    return error;
}

static int
art_push_image(struct paved_rollout *ro, const char *repo, const char *sha)
{
    struct paved_artifact *a = NULL;
    struct paved_image_opts o;
    char conf[4096], *ref = NULL, *digest = NULL;
    int error;

    if ((error = paved_store_artifact_get(&a, ro->ro_store, repo, sha)) < 0) {
        if (error == PAVED_ENOTFOUND)
            paved_error_set(error,
                            "no image was built for %.12s: push-image needs "
                            "a build-image step (format: image) before it",
                            sha);
        return error;
    }
    if (strcmp(a->ar_kind, "image") != 0) {
        error = paved_error_set(PAVED_EINVAL,
                                "the artifact of %.12s is a %s, not an image: "
                                "there is nothing to push (the local driver "
                                "runs directories where they are)",
                                sha, a->ar_kind);
        goto out;
    }
    if (strchr(a->ar_ref, '@') != NULL) {
        printf("already pushed: %s\n", a->ar_ref);
        goto out;
    }
    art_image_opts(&o, conf, sizeof(conf), ro);
    if ((error = paved_image_push(&ref, &digest, &o, a->ar_ref,
                                  art_tls_verify())) < 0)
        goto out;
    free(a->ar_ref);
    free(a->ar_digest);
    a->ar_ref = ref;
    a->ar_digest = digest;
    ref = digest = NULL;
    a->ar_run_id = ro->ro_run_id;
    a->ar_created_ms = 0;
    if ((error = paved_store_artifact_put(ro->ro_store, a)) == 0)
        printf("pushed: %s\n", a->ar_ref);
out:
    free(ref);
    free(digest);
    paved_artifact_free(a);
    return error;
}

int
paved_cli_step_artifact(struct paved_rollout *ro, const char *kind,
                        const char *service, const char *repo, const char *sha)
{
    const char *format = art_env("PAVED_WITH_FORMAT", "image");

    if (strcmp(kind, "push-image") == 0)
        return art_push_image(ro, repo, sha);
    if (strcmp(format, "directory") == 0)
        return art_build_directory(ro, service, repo, sha);
    if (strcmp(format, "image") == 0)
        return art_build_image(ro, service, repo, sha);
    return paved_error_set(PAVED_EINVAL,
                           "with: format \"%s\": give image (podman or "
                           "buildah) or directory (the local driver's)",
                           format);
}
