/* Unit tests for the kubernetes deploy driver, offline: no API server can
 * run here. Dry runs give the exact kubectl argument vectors of every
 * operation of both strategies and the manifests piped to apply, compared
 * with tests/fixtures/delivery/k8s-*.txt (PAVED_UPDATE_FIXTURES=1 writes
 * them). A stand-in kubectl (a shell script) checks the real path: the
 * manifest arrives on stdin, failures carry kubectl's words, reconcile
 * reads `kubectl get` and repairs. When a real kubectl is installed, the
 * rendered objects go through `kubectl kustomize` and the Deployment
 * through `kubectl set image --local` and `set env --local`; without one
 * those are skipped, saying why. */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "paved/driver.h"
#include "paved/environment.h"
#include "paved/error.h"

#define IMG1                                                                   \
    "registry.local:5000/checkout@sha256:"                                     \
    "1111111111111111111111111111111111111111111111111111111111111111"
#define IMG2                                                                   \
    "registry.local:5000/checkout@sha256:"                                     \
    "2222222222222222222222222222222222222222222222222222222222222222"
#define IMG3                                                                   \
    "registry.local:5000/checkout@sha256:"                                     \
    "3333333333333333333333333333333333333333333333333333333333333333"

static const struct paved_version v1 = {
    .v_service = "checkout",
    .v_version = "v1.0.0",
    .v_sha = "0123abc0123abc0123abc0123abc0123abc0123",
    .v_kind = "image",
    .v_artifact = IMG1,
    .v_digest = "sha256:1111111111111111111111111111111111111111111111111111"
                "111111111111",
};
static const struct paved_version v2 = {
    .v_service = "checkout",
    .v_version = "v1.1.0",
    .v_kind = "image",
    .v_artifact = IMG2,
    .v_digest = "sha256:2222222222222222222222222222222222222222222222222222"
                "222222222222",
};
static const struct paved_version v3 = {
    .v_service = "checkout",
    .v_version = "sha-3333333",
    .v_kind = "image",
    .v_artifact = IMG3,
    .v_digest = "sha256:3333333333333333333333333333333333333333333333333333"
                "333333333333",
};

struct fx {
    char f_dir[64];
    char f_state[128];
    paved_environment *f_env;
    paved_driver *f_drv;
    char *f_prog;
    size_t f_proglen;
    FILE *f_progress;
};

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    snprintf(f->f_dir, sizeof(f->f_dir), "/tmp/paved-k8s-XXXXXX");
    assert_non_null(mkdtemp(f->f_dir));
    snprintf(f->f_state, sizeof(f->f_state), "%s/env", f->f_dir);
    f->f_progress = open_memstream(&f->f_prog, &f->f_proglen);
    assert_non_null(f->f_progress);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;

    paved_driver_close(f->f_drv);
    paved_environment_free(f->f_env);
    fclose(f->f_progress);
    free(f->f_prog);
    nftw(f->f_dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static int
open_env(struct fx *f, const char *strategy, const char *kubectl, bool dry_run)
{
    char text[1024];
    struct paved_driver_opts o;
    int error;

    snprintf(text, sizeof(text),
             "name: production\n"
             "driver: kubernetes\n"
             "kubernetes:\n"
             "  context: prod-cluster\n"
             "  namespace: shop\n"
             "  strategy: %s\n"
             "%s%s%s",
             strategy, kubectl != NULL ? "  kubectl: " : "",
             kubectl != NULL ? kubectl : "", kubectl != NULL ? "\n" : "");
    error = paved_environment_parse(&f->f_env, NULL, "production.yaml", text,
                                    strlen(text));
    if (error < 0)
        fail_msg("environment: %s", paved_error_last());
    memset(&o, 0, sizeof(o));
    o.do_env = f->f_env;
    o.do_state_dir = f->f_state;
    o.do_progress = f->f_progress;
    o.do_dry_run = dry_run;
    return paved_driver_open(&f->f_drv, &o);
}

static const char *
progress(struct fx *f)
{
    fflush(f->f_progress);
    return f->f_prog;
}

/* The transcript without the narrative lines of driver_progress: the
 * commands and the manifests, which are what the fixtures hold. */
static char *
commands(struct fx *f)
{
    const char *p = progress(f), *nl;
    char *out = calloc(1, strlen(p) + 1);
    size_t n = 0;

    assert_non_null(out);
    for (; *p != '\0'; p = nl + 1) {
        nl = strchr(p, '\n');
        if (nl == NULL)
            nl = p + strlen(p) - 1;
        if (strncmp(p, "driver ", 7) != 0) {
            memcpy(out + n, p, (size_t)(nl - p + 1));
            n += (size_t)(nl - p + 1);
        }
    }
    out[n] = '\0';
    return out;
}

static char *
slurp(const char *path)
{
    FILE *fp = fopen(path, "r");
    char *buf;
    size_t n;

    if (fp == NULL)
        return NULL;
    buf = calloc(1, 1 << 20);
    assert_non_null(buf);
    n = fread(buf, 1, (1 << 20) - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

static void
spit(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");

    assert_non_null(fp);
    assert_int_equal(fputs(text, fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
}

/* got against tests/fixtures/delivery/NAME; with PAVED_UPDATE_FIXTURES=1
 * the fixture is written instead. */
static void
assert_fixture(const char *name, const char *got)
{
    const char *src = getenv("PAVED_SOURCE_DIR");
    char path[1024], *want;

    snprintf(path, sizeof(path), "%s/tests/fixtures/delivery/%s",
             src != NULL ? src : ".", name);
    if (getenv("PAVED_UPDATE_FIXTURES") != NULL) {
        spit(path, got);
        return;
    }
    if ((want = slurp(path)) == NULL)
        fail_msg("%s: %s (run with PAVED_SOURCE_DIR set)", path,
                 strerror(errno));
    if (strcmp(want, got) != 0) {
        fprintf(stderr, "---- got (%s)\n%s---- end\n", name, got);
        free(want);
        fail_msg("%s differs from the transcript above", path);
    }
    free(want);
}

/* Every operation once: a first deploy, a canary promoted, a canary
 * rolled back, reconcile. */
static void
walk(struct fx *f)
{
    bool changed = true;

    assert_int_equal(paved_driver_start(f->f_drv, &v1), 0);
    assert_int_equal(paved_driver_route(f->f_drv, "checkout", 100), 0);
    assert_int_equal(paved_driver_promote(f->f_drv, "checkout"), 0);
    assert_int_equal(paved_driver_start(f->f_drv, &v2), 0);
    assert_int_equal(paved_driver_route(f->f_drv, "checkout", 5), 0);
    assert_int_equal(paved_driver_route(f->f_drv, "checkout", 50), 0);
    assert_int_equal(paved_driver_route(f->f_drv, "checkout", 100), 0);
    assert_int_equal(paved_driver_promote(f->f_drv, "checkout"), 0);
    assert_int_equal(paved_driver_start(f->f_drv, &v3), 0);
    assert_int_equal(paved_driver_route(f->f_drv, "checkout", 25), 0);
    assert_int_equal(paved_driver_abort(f->f_drv, "checkout"), 0);
    assert_int_equal(paved_driver_reconcile(f->f_drv, &changed), 0);
    assert_false(changed);
}

static void
test_replicas_transcript(void **state)
{
    struct fx *f = *state;
    struct paved_driver_state ds;
    char *got;

    assert_int_equal(open_env(f, "replicas", NULL, true), 0);
    walk(f);
    got = commands(f);
    assert_fixture("k8s-replicas.txt", got);
    free(got);
    assert_non_null(strstr(progress(f), "checkout: 5% to v1.1.0: 1 of 4 pods "
                                        "(25% of the traffic)"));
    assert_non_null(strstr(progress(f), "checkout: dry run: nothing "
                                        "checked"));
    assert_int_equal(paved_driver_state(&ds, f->f_drv, "checkout"), 0);
    assert_string_equal(ds.ds_stable_version, "v1.1.0");
    assert_string_equal(ds.ds_stable_artifact, IMG2);
    assert_null(ds.ds_candidate_version);
    paved_driver_state_dispose(&ds);
}

static void
test_ingress_transcript(void **state)
{
    struct fx *f = *state;
    char *got;

    assert_int_equal(open_env(f, "ingress-canary", NULL, true), 0);
    walk(f);
    got = commands(f);
    assert_fixture("k8s-ingress-canary.txt", got);
    free(got);
}

static void
test_refusals(void **state)
{
    struct fx *f = *state;
    struct paved_version dir = v1, bad = v1, longname = v1;

    assert_int_equal(open_env(f, "replicas", NULL, true), 0);
    dir.v_kind = "directory";
    dir.v_artifact = "/data/artifacts/sha256-11";
    assert_int_equal(paved_driver_start(f->f_drv, &dir), PAVED_EINVAL);
    assert_string_equal(paved_error_last(),
                        "kubernetes: checkout v1.0.0 is a directory "
                        "artifact, and Kubernetes runs images: build and "
                        "push one (uses: build-image, push-image) for an "
                        "environment with driver kubernetes");
    bad.v_artifact = "--kubeconfig=/etc/x";
    assert_int_equal(paved_driver_start(f->f_drv, &bad), PAVED_EINVAL);
    bad.v_artifact = "img\nkind: Secret";
    assert_int_equal(paved_driver_start(f->f_drv, &bad), PAVED_EINVAL);
    longname.v_service =
        "a-service-name-that-is-far-too-long-for-the-canary-objects";
    assert_int_equal(paved_driver_start(f->f_drv, &longname), PAVED_EINVAL);
    assert_non_null(strstr(paved_error_last(), "at most 56 characters"));
    assert_int_equal(paved_driver_route(f->f_drv, "checkout", 5),
                     PAVED_EINVAL); /* no candidate */
    assert_int_equal(paved_driver_promote(f->f_drv, "checkout"), PAVED_EINVAL);
    assert_string_equal(progress(f), ""); /* nothing was run */
}

static void
test_missing_kubectl(void **state)
{
    struct fx *f = *state;

    assert_int_equal(open_env(f, "replicas", "/nonexistent/kubectl", false),
                     PAVED_EUNAVAILABLE);
    assert_string_equal(paved_error_last(),
                        "kubectl not found: /nonexistent/kubectl is not an "
                        "executable file; install kubectl or set "
                        "kubernetes.kubectl to its path");
    assert_null(f->f_drv);
    paved_environment_free(f->f_env);
    f->f_env = NULL;
    assert_int_equal(open_env(f, "replicas", "paved-no-such-kubectl", false),
                     PAVED_EUNAVAILABLE);
    assert_string_equal(paved_error_last(),
                        "kubectl not found: paved-no-such-kubectl is not an "
                        "executable file in PATH; install kubectl or set "
                        "kubernetes.kubectl to its path");
    paved_environment_free(f->f_env);
    f->f_env = NULL;
    /* a dry run runs nothing, so it needs no kubectl */
    assert_int_equal(open_env(f, "replicas", "/nonexistent/kubectl", true), 0);
    assert_int_equal(paved_driver_start(f->f_drv, &v1), 0);
    assert_non_null(strstr(progress(f), "+ /nonexistent/kubectl --context "
                                        "prod-cluster -n shop apply -f -\n"));
}

/* A stand-in kubectl: logs its arguments, keeps what apply reads, and
 * answers get from files the test writes (absent: NotFound). */
static const char fake_kubectl[] =
    "#!/bin/sh\n"
    "D=$(dirname \"$0\")\n"
    "echo \"$*\" >> \"$D/calls\"\n"
    "case \"$5\" in\n"
    "apply) cat > \"$D/applied.$(wc -l < \"$D/calls\" | tr -d ' ')\" ;;\n"
    "get) f=\"$D/get.${6#deployment/}\"; [ -f \"$f\" ] && cat \"$f\" ;;\n"
    "scale) [ -f \"$D/fail-scale\" ] && { echo 'Error from server "
    "(Forbidden): scale is forbidden' >&2; exit 1; } ;;\n"
    "esac\n"
    "exit 0\n";

static void
fake_setup(struct fx *f, char *kubectl, size_t size)
{
    snprintf(kubectl, size, "%s/kubectl", f->f_dir);
    spit(kubectl, fake_kubectl);
    assert_int_equal(chmod(kubectl, 0755), 0);
}

static void
test_fake_kubectl(void **state)
{
    struct fx *f = *state;
    char kubectl[128], path[192], *calls, *applied;
    struct paved_driver_state ds;
    json_t *list;
    bool changed = false;

    fake_setup(f, kubectl, sizeof(kubectl));
    assert_int_equal(open_env(f, "replicas", kubectl, false), 0);
    assert_int_equal(paved_driver_start(f->f_drv, &v1), 0);
    assert_int_equal(paved_driver_route(f->f_drv, "checkout", 100), 0);
    assert_int_equal(paved_driver_promote(f->f_drv, "checkout"), 0);
    assert_int_equal(paved_driver_start(f->f_drv, &v2), 0);
    snprintf(path, sizeof(path), "%s/calls", f->f_dir);
    calls = slurp(path);
    assert_non_null(calls);
    assert_string_equal(calls, "--context prod-cluster -n shop apply -f -\n"
                               "--context prod-cluster -n shop rollout status "
                               "deployment/checkout-canary --timeout=300s\n"
                               "--context prod-cluster -n shop scale "
                               "deployment/checkout-canary --replicas=4\n"
                               "--context prod-cluster -n shop rollout status "
                               "deployment/checkout-canary --timeout=300s\n"
                               "--context prod-cluster -n shop apply -f -\n"
                               "--context prod-cluster -n shop rollout status "
                               "deployment/checkout --timeout=300s\n"
                               "--context prod-cluster -n shop delete "
                               "deployment/checkout-canary --ignore-not-found\n"
                               "--context prod-cluster -n shop apply -f -\n"
                               "--context prod-cluster -n shop rollout status "
                               "deployment/checkout-canary --timeout=300s\n");
    free(calls);
    /* the manifest went to kubectl's stdin, whole */
    snprintf(path, sizeof(path), "%s/applied.8", f->f_dir);
    applied = slurp(path);
    assert_non_null(applied);
    list = json_loads(applied, 0, NULL);
    free(applied);
    assert_non_null(list);
    assert_string_equal(json_string_value(json_object_get(list, "kind")),
                        "List");
    assert_int_equal(json_array_size(json_object_get(list, "items")), 2);
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(
                json_object_get(
                    json_object_get(
                        json_object_get(
                            json_object_get(
                                json_array_get(json_object_get(list, "items"),
                                               1),
                                "spec"),
                            "template"),
                        "spec"),
                    "containers"),
                0),
            "image")),
        IMG2);
    json_decref(list);

    /* kubectl's own words in the error */
    snprintf(path, sizeof(path), "%s/fail-scale", f->f_dir);
    spit(path, "");
    assert_int_equal(paved_driver_route(f->f_drv, "checkout", 50), PAVED_ERROR);
    assert_non_null(strstr(paved_error_last(), "kubectl scale: `"));
    assert_non_null(strstr(paved_error_last(),
                           " scale deployment/checkout-canary --replicas=2` "
                           "exit status 1: Error from server (Forbidden): "
                           "scale is forbidden"));
    assert_int_equal(unlink(path), 0);

    /* reconcile: the stable is there with a pod not ready, the canary is
     * gone: traffic back to stable, the state forgets it */
    snprintf(path, sizeof(path), "%s/get.checkout", f->f_dir);
    spit(path, "{\"kind\":\"Deployment\",\"spec\":{\"replicas\":4},"
               "\"status\":{\"readyReplicas\":3}}\n");
    assert_int_equal(paved_driver_reconcile(f->f_drv, &changed), 0);
    assert_true(changed);
    assert_non_null(strstr(progress(f), "deployment/checkout: 3 of 4 pods "
                                        "ready"));
    assert_non_null(strstr(progress(f), "the candidate v1.1.0 is gone"));
    assert_int_equal(paved_driver_state(&ds, f->f_drv, "checkout"), 0);
    assert_string_equal(ds.ds_stable_version, "v1.0.0");
    assert_null(ds.ds_candidate_version);
    paved_driver_state_dispose(&ds);
    snprintf(path, sizeof(path), "%s/calls", f->f_dir);
    calls = slurp(path);
    assert_non_null(strstr(calls,
                           "--context prod-cluster -n shop get "
                           "deployment/checkout --ignore-not-found -o json\n"
                           "--context prod-cluster -n shop get "
                           "deployment/checkout-canary --ignore-not-found -o "
                           "json\n"
                           "--context prod-cluster -n shop scale "
                           "deployment/checkout --replicas=4\n"
                           "--context prod-cluster -n shop rollout status "
                           "deployment/checkout --timeout=300s\n"
                           "--context prod-cluster -n shop delete "
                           "deployment/checkout-canary --ignore-not-found\n"));
    free(calls);

    /* the stable gone too: applied again from its artifact */
    snprintf(path, sizeof(path), "%s/get.checkout", f->f_dir);
    assert_int_equal(unlink(path), 0);
    changed = false;
    assert_int_equal(paved_driver_reconcile(f->f_drv, &changed), 0);
    assert_true(changed);
    assert_non_null(strstr(progress(f), "the stable v1.0.0 is gone: applied "
                                        "again"));
}

/* ---- offline validation with a real kubectl -------------------------- */

static bool
have_kubectl(void)
{
    const char *path = getenv("PATH"), *p, *end;
    char buf[1024];

    for (p = path != NULL ? path : "/usr/bin:/bin";; p = end + 1) {
        end = strchr(p, ':');
        snprintf(buf, sizeof(buf), "%.*s/kubectl",
                 (int)(end != NULL ? end - p : (long)strlen(p)), p);
        if (access(buf, X_OK) == 0)
            return true;
        if (end == NULL)
            return false;
    }
}

/* Every object of every manifest the transcript pipes to apply, each in
 * its own file of dir (the last one of a name wins), listed in a
 * kustomization.yaml. Returns how many were written. */
static size_t
write_objects(const char *transcript, const char *dir)
{
    const char *p = transcript, *end;
    char path[512], *text, *kust;
    size_t n = 0, i, klen = 0;
    json_t *list, *item;

    kust = calloc(1, 65536);
    assert_non_null(kust);
    klen += (size_t)snprintf(kust, 65536, "resources:\n");
    while ((p = strstr(p, " apply -f -\n{\n")) != NULL) {
        p += strlen(" apply -f -\n");
        end = strstr(p, "\n}\n");
        assert_non_null(end);
        text = strndup(p, (size_t)(end - p + 2));
        list = json_loads(text, 0, NULL);
        free(text);
        assert_non_null(list);
        json_array_foreach(json_object_get(list, "items"), i, item)
        {
            const char *kind = json_string_value(json_object_get(item, "kind"));
            const char *name = json_string_value(
                json_object_get(json_object_get(item, "metadata"), "name"));

            snprintf(path, sizeof(path), "%s/%s-%s.json", dir, kind, name);
            if (access(path, F_OK) != 0) {
                klen += (size_t)snprintf(kust + klen, 65536 - klen,
                                         "- %s-%s.json\n", kind, name);
                n++;
            }
            assert_int_equal(json_dump_file(item, path, JSON_INDENT(2)), 0);
        }
        json_decref(list);
        p = end;
    }
    snprintf(path, sizeof(path), "%s/kustomization.yaml", dir);
    spit(path, kust);
    free(kust);
    return n;
}

static char *
run(const char *cmd, int *status)
{
    FILE *pp = popen(cmd, "r");
    char *buf = calloc(1, 1 << 20);
    size_t n;

    assert_non_null(pp);
    assert_non_null(buf);
    n = fread(buf, 1, (1 << 20) - 1, pp);
    buf[n] = '\0';
    *status = pclose(pp);
    return buf;
}

static void
kustomize(struct fx *f, const char *strategy, const char *const *want,
          size_t nwant)
{
    char dir[128], cmd[512], *out, *got;
    size_t i;
    int status;

    /* a fresh driver and state for each strategy: the state directory's
     * lock is held by an open driver */
    paved_driver_close(f->f_drv);
    f->f_drv = NULL;
    paved_environment_free(f->f_env);
    f->f_env = NULL;
    fclose(f->f_progress);
    free(f->f_prog);
    f->f_prog = NULL;
    f->f_progress = open_memstream(&f->f_prog, &f->f_proglen);
    assert_non_null(f->f_progress);
    snprintf(f->f_state, sizeof(f->f_state), "%s/env-%s", f->f_dir, strategy);
    assert_int_equal(open_env(f, strategy, NULL, true), 0);
    walk(f);
    snprintf(dir, sizeof(dir), "%s/%s", f->f_dir, strategy);
    assert_int_equal(mkdir(dir, 0700), 0);
    got = commands(f);
    assert_int_equal(write_objects(got, dir), nwant);
    free(got);
    snprintf(cmd, sizeof(cmd), "kubectl kustomize %s 2>&1", dir);
    out = run(cmd, &status);
    if (status != 0)
        fail_msg("%s: %s", cmd, out);
    for (i = 0; i < nwant; i++)
        if (strstr(out, want[i]) == NULL)
            fail_msg("kubectl kustomize: no \"%s\" in\n%s", want[i], out);
    free(out);
}

static void
test_kustomize(void **state)
{
    struct fx *f = *state;
    static const char *const replicas[] = {
        "kind: Service\nmetadata:\n  labels:\n    app: checkout\n  name: "
        "checkout\n",
        "kind: Deployment\nmetadata:\n  annotations:\n    paved.dev/version: "
        "sha-3333333\n  labels:\n    app: checkout\n    track: canary\n  "
        "name: checkout-canary\n",
        "kind: Deployment\nmetadata:\n  annotations:\n    paved.dev/version: "
        "v1.0.0\n  labels:\n    app: checkout\n    track: stable\n  name: "
        "checkout\n",
    };
    static const char *const ingress[] = {
        "kind: Service\n",
        "name: checkout\nspec:\n  ingressClassName: nginx\n",
        "nginx.ingress.kubernetes.io/canary-weight: \"0\"\n",
        "name: checkout-canary\nspec:\n  ports:\n  - name: http\n    port: 80\n"
        "    targetPort: http\n  selector:\n    app: checkout\n    track: "
        "canary\n",
        "kind: Deployment\n",
        "name: checkout-canary\nspec:\n  ingressClassName: nginx\n",
    };

    if (!have_kubectl()) {
        printf("skipped: no kubectl in PATH (the offline checks need one; "
               "the transcripts above are checked without)\n");
        skip();
    }
    kustomize(f, "replicas", replicas, 3);
    kustomize(f, "ingress-canary", ingress, 6);
}

/* What promote runs on the stable Deployment, done locally on the
 * rendered one: the image and PAVED_VERSION change, nothing else needed. */
static void
test_set_image_local(void **state)
{
    struct fx *f = *state;
    char dir[128], cmd[1024], *out, *got;
    json_t *dep, *c, *env;
    size_t i;
    int status;
    bool seen = false;

    if (!have_kubectl()) {
        printf("skipped: no kubectl in PATH\n");
        skip();
    }
    assert_int_equal(open_env(f, "replicas", NULL, true), 0);
    walk(f);
    snprintf(dir, sizeof(dir), "%s/objects", f->f_dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    got = commands(f);
    write_objects(got, dir);
    free(got);
    snprintf(cmd, sizeof(cmd),
             "kubectl set image --local -o json -f %s/Deployment-checkout.json "
             "app=%s | kubectl set env --local -o json -f - -c app "
             "PAVED_VERSION=sha-3333333 2>&1",
             dir, IMG3);
    out = run(cmd, &status);
    if (status != 0)
        fail_msg("%s: %s", cmd, out);
    dep = json_loads(out, 0, NULL);
    if (dep == NULL)
        fail_msg("not JSON: %s", out);
    free(out);
    c = json_array_get(
        json_object_get(
            json_object_get(
                json_object_get(json_object_get(dep, "spec"), "template"),
                "spec"),
            "containers"),
        0);
    assert_string_equal(json_string_value(json_object_get(c, "image")), IMG3);
    json_array_foreach(json_object_get(c, "env"), i, env)
    {
        if (strcmp(json_string_value(json_object_get(env, "name")),
                   "PAVED_VERSION") == 0) {
            assert_string_equal(
                json_string_value(json_object_get(env, "value")),
                "sha-3333333");
            seen = true;
        }
    }
    assert_true(seen);
    json_decref(dep);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_replicas_transcript, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ingress_transcript, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_kubectl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fake_kubectl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kustomize, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_image_local, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
