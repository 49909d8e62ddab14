/* The kubernetes deploy driver: kubectl against the environment's context
 * and namespace. It renders its own manifests (JSON, which kubectl reads
 * as YAML) and pipes them to `kubectl apply -f -`; traffic is split either
 * by the replica ratio of a stable and a canary Deployment behind one
 * Service (strategy replicas) or by ingress-nginx's canary-weight
 * annotation on a canary Ingress (strategy ingress-canary). Runs images
 * only. Never talks to the API server itself, never runs a shell, never
 * decides anything: the rollout logic does (docs/delivery.md#kubernetes). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "delivery/driver_int.h"
#include "paved/error.h"

#define K8S_REPLICAS 4 /* total pods of a service unless the state says */
#define K8S_MAX_REPLICAS 1000
#define K8S_WAIT "--timeout=300s" /* rollout status */
/* the runner's own limit: after kubectl's, so that kubectl's message wins */
#define K8S_CMD_TIMEOUT 330
#define K8S_PORT 8080 /* the container listens on $PORT */
#define K8S_UID 65532 /* runAsNonRoot needs a numeric user */
#define K8S_MAX_ARGS 24
#define K8S_CANARY "-canary"  /* suffix of the canary objects */
#define K8S_NAME_MAX (63 - 7) /* a Service name is a DNS-1035 label */
#define K8S_WEIGHT_ANN "nginx.ingress.kubernetes.io/canary-weight"

static const struct paved_env_kubernetes *
k8s_conf(paved_driver *d)
{
    return paved_environment_kubernetes(d->d_env);
}

static bool
k8s_ingress(paved_driver *d)
{
    return k8s_conf(d)->k8_strategy == PAVED_ENV_K8S_INGRESS_CANARY;
}

static const char *
k8s_str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));

    return s != NULL ? s : "";
}

/* Runs `kubectl --context C -n NS ARGS...` (a NULL ends ARGS). */
static int
k8s_run(paved_driver *d, const char *input, char **out, ...)
{
    const struct paved_env_kubernetes *k = k8s_conf(d);
    char *argv[K8S_MAX_ARGS + 1], what[64];
    struct driver_cmd c;
    const char *a;
    size_t n = 0;
    va_list ap;

    argv[n++] = k->k8_kubectl;
    argv[n++] = (char *)"--context"; /* the runner never writes argv */
    argv[n++] = k->k8_context;
    argv[n++] = (char *)"-n";
    argv[n++] = k->k8_namespace;
    va_start(ap, out);
    while ((a = va_arg(ap, const char *)) != NULL && n < K8S_MAX_ARGS)
        argv[n++] = (char *)a;
    va_end(ap);
    argv[n] = NULL;
    snprintf(what, sizeof(what), "kubectl %s", argv[5]);
    c = (struct driver_cmd){.dc_what = what,
                            .dc_argv = argv,
                            .dc_input = input,
                            .dc_timeout = K8S_CMD_TIMEOUT};
    return driver_cmd_run(d, &c, out);
}

/* The names of a service's objects; PAVED_EINVAL when the canary's would
 * not be a valid Service name. */
static int
k8s_names(char *canary, size_t size, const char *service)
{
    if (strlen(service) > K8S_NAME_MAX || service[0] < 'a' || service[0] > 'z')
        return paved_error_set(PAVED_EINVAL,
                               "kubernetes: service name \"%s\" must start "
                               "with a letter and have at most %d "
                               "characters (\"%s" K8S_CANARY
                               "\" names a Service)",
                               service, K8S_NAME_MAX, service);
    snprintf(canary, size, "%s" K8S_CANARY, service);
    return 0;
}

static long
k8s_replicas(const json_t *st)
{
    json_int_t n = json_integer_value(json_object_get(st, "replicas"));

    return n >= 1 && n <= K8S_MAX_REPLICAS ? (long)n : K8S_REPLICAS;
}

/* ---- manifests ------------------------------------------------------
 * Objects are built in a fixed key order, so that the text is stable
 * (tests/fixtures/delivery/) and reads like a hand-written manifest. */

static json_t *
k8s_labels(const char *service, const char *track)
{
    if (track == NULL)
        return json_pack("{s:s}", "app", service);
    return json_pack("{s:s,s:s}", "app", service, "track", track);
}

/* A Deployment running version ver (a VERSION object) with the labels
 * app and track. It meets paved's own guardrails (docs/guardrails.md):
 * readiness probe, resources, non-root, read-only root file system. */
static json_t *
k8s_deployment(paved_driver *d, const char *name, const char *service,
               const char *track, long replicas, const json_t *ver)
{
    const char *version = k8s_str(ver, "version");

    return json_pack(
        "{s:s,s:s,s:{s:s,s:o,s:{s:s}},"
        "s:{s:I,s:{s:o},s:{s:{s:o},s:{s:{s:b,s:i,s:i},"
        "s:[{s:s,s:s,s:[{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s}],"
        "s:[{s:s,s:i}],s:{s:{s:s},s:i},"
        "s:{s:{s:s,s:s},s:{s:s}},"
        "s:{s:b,s:b,s:{s:[s]}},s:[{s:s,s:s}]}],"
        "s:[{s:s,s:{}}]}}}}",
        "apiVersion", "apps/v1", "kind", "Deployment", "metadata", "name", name,
        "labels", k8s_labels(service, track), "annotations",
        "paved.dev/version", version, "spec", "replicas", (json_int_t)replicas,
        "selector", "matchLabels", k8s_labels(service, track), "template",
        "metadata", "labels", k8s_labels(service, track), "spec",
        "securityContext", "runAsNonRoot", 1, "runAsUser", K8S_UID,
        "runAsGroup", K8S_UID, "containers", "name", "app", "image",
        k8s_str(ver, "artifact"), "env", "name", "PORT", "value", "8080",
        "name", "PAVED_SERVICE", "value", service, "name", "PAVED_VERSION",
        "value", version, "name", "PAVED_ENV", "value",
        paved_environment_name(d->d_env), "ports", "name", "http",
        "containerPort", K8S_PORT, "readinessProbe", "tcpSocket", "port",
        "http", "periodSeconds", 5, "resources", "requests", "cpu", "50m",
        "memory", "64Mi", "limits", "memory", "256Mi", "securityContext",
        "allowPrivilegeEscalation", 0, "readOnlyRootFilesystem", 1,
        "capabilities", "drop", "ALL", "volumeMounts", "name", "tmp",
        "mountPath", "/tmp", "volumes", "name", "tmp", "emptyDir");
}

/* A Service on port 80 to the pods' port "http"; track NULL selects
 * every pod of the service, stable and canary alike. */
static json_t *
k8s_service(const char *name, const char *service, const char *track)
{
    return json_pack("{s:s,s:s,s:{s:s,s:o},s:{s:o,s:[{s:s,s:i,s:s}]}}",
                     "apiVersion", "v1", "kind", "Service", "metadata", "name",
                     name, "labels", k8s_labels(service, NULL), "spec",
                     "selector", k8s_labels(service, track), "ports", "name",
                     "http", "port", 80, "targetPort", "http");
}

/* An Ingress of class nginx for path / to the Service backend; a canary
 * one carries ingress-nginx's canary annotations with weight 0. */
static json_t *
k8s_ingress_obj(const char *name, const char *service, const char *backend,
                bool canary)
{
    json_t *meta = json_pack("{s:s,s:o}", "name", name, "labels",
                             k8s_labels(service, canary ? "canary" : NULL));

    if (meta != NULL && canary &&
        json_object_set_new(meta, "annotations",
                            json_pack("{s:s,s:s}",
                                      "nginx.ingress.kubernetes.io/canary",
                                      "true", K8S_WEIGHT_ANN, "0")) < 0) {
        json_decref(meta);
        meta = NULL;
    }
    return json_pack("{s:s,s:s,s:o,s:{s:s,s:[{s:{s:[{s:s,s:s,s:{s:{s:s,s:{"
                     "s:s}}}}]}}]}}",
                     "apiVersion", "networking.k8s.io/v1", "kind", "Ingress",
                     "metadata", meta, "spec", "ingressClassName", "nginx",
                     "rules", "http", "paths", "path", "/", "pathType",
                     "Prefix", "backend", "service", "name", backend, "port",
                     "name", "http");
}

/* Applies a v1 List of the objects (references stolen; a NULL item means
 * rendering failed). */
static int
k8s_apply(paved_driver *d, json_t **items, size_t n)
{
    json_t *list = NULL, *arr;
    char *text = NULL;
    size_t i;
    int error = 0;

    if ((arr = json_array()) != NULL)
        list = json_pack("{s:s,s:s,s:o}", "apiVersion", "v1", "kind", "List",
                         "items", arr);
    for (i = 0; i < n; i++) {
        if (items[i] == NULL || list == NULL ||
            json_array_append_new(arr, items[i]) < 0)
            error = PAVED_ENOMEM;
        items[i] = NULL;
    }
    if (error == 0 &&
        (text = json_dumps(list, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) == NULL)
        error = PAVED_ENOMEM;
    if (error < 0) {
        error = paved_error_set(PAVED_ENOMEM, "kubernetes: cannot render "
                                              "the manifests");
        goto out;
    }
    error = k8s_run(d, text, NULL, "apply", "-f", "-", NULL);
out:
    free(text);
    json_decref(list);
    return error;
}

static int
k8s_wait(paved_driver *d, const char *name)
{
    char obj[96];

    snprintf(obj, sizeof(obj), "deployment/%s", name);
    return k8s_run(d, NULL, NULL, "rollout", "status", obj, K8S_WAIT, NULL);
}

static int
k8s_scale(paved_driver *d, const char *name, long replicas)
{
    char obj[96], arg[48];

    snprintf(obj, sizeof(obj), "deployment/%s", name);
    snprintf(arg, sizeof(arg), "--replicas=%ld", replicas);
    return k8s_run(d, NULL, NULL, "scale", obj, arg, NULL);
}

/* Every canary object gone; with ingress-canary the Ingress first, so
 * that no request is sent to a canary Service losing its pods. */
static int
k8s_delete_canary(paved_driver *d, const char *canary)
{
    char dep[96], svc[96], ing[96];

    snprintf(dep, sizeof(dep), "deployment/%s", canary);
    if (!k8s_ingress(d))
        return k8s_run(d, NULL, NULL, "delete", dep, "--ignore-not-found",
                       NULL);
    snprintf(svc, sizeof(svc), "service/%s", canary);
    snprintf(ing, sizeof(ing), "ingress/%s", canary);
    return k8s_run(d, NULL, NULL, "delete", ing, svc, dep, "--ignore-not-found",
                   NULL);
}

/* The stable objects for version ver, rendered and applied: the first
 * deploy of a service, or one whose stable Deployment vanished. */
static int
k8s_apply_stable(paved_driver *d, const char *service, const json_t *ver,
                 long replicas)
{
    json_t *items[3];
    size_t n = 0;
    int error;

    items[n++] = k8s_deployment(d, service, service, "stable", replicas, ver);
    items[n++] =
        k8s_service(service, service, k8s_ingress(d) ? "stable" : NULL);
    if (k8s_ingress(d))
        items[n++] = k8s_ingress_obj(service, service, service, false);
    if ((error = k8s_apply(d, items, n)) < 0)
        return error;
    return k8s_wait(d, service);
}

static int
k8s_set(json_t *st, const char *key, json_t *val)
{
    if (val == NULL || json_object_set_new(st, key, val) < 0)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    return 0;
}

/* All traffic to stable and the candidate's objects deleted; the state
 * forgets the candidate once that is done. */
static int
k8s_rollback(paved_driver *d, json_t *st, const char *service,
             const char *canary)
{
    int error;

    if (!k8s_ingress(d) && json_is_object(json_object_get(st, "stable"))) {
        /* stable back to full size before the canary's pods go */
        if ((error = k8s_scale(d, service, k8s_replicas(st))) < 0 ||
            (error = k8s_wait(d, service)) < 0)
            return error;
    }
    if ((error = k8s_delete_canary(d, canary)) < 0)
        return error;
    if ((error = k8s_set(st, "candidate", json_null())) < 0)
        return error;
    return k8s_set(st, "weight", json_integer(0));
}

/* ---- the operations ------------------------------------------------ */

static int
k8s_open(paved_driver *d)
{
    const struct paved_env_kubernetes *k = k8s_conf(d);
    char path[4096];

    if (k == NULL)
        return paved_error_set(PAVED_EINVAL,
                               "environment %s: not a kubernetes environment",
                               paved_environment_name(d->d_env));
    /* a dry run runs nothing: it works where kubectl is not installed */
    if (d->d_dry_run)
        return 0;
    if (driver_cmd_find(k->k8_kubectl, path, sizeof(path)) < 0)
        return paved_error_set(PAVED_EUNAVAILABLE,
                               "kubectl not found: %s is not an executable "
                               "file%s; install kubectl or set "
                               "kubernetes.kubectl to its path",
                               k->k8_kubectl,
                               strchr(k->k8_kubectl, '/') != NULL ? ""
                                                                  : " in PATH");
    return 0;
}

static void
k8s_close(paved_driver *d)
{
    (void)d;
}

/* An image reference goes into a manifest and onto kubectl's command
 * line: nothing that could read as an option or break a line. */
static int
k8s_check_version(const struct paved_version *v)
{
    const char *p;

    if (v->v_kind == NULL || strcmp(v->v_kind, "image") != 0)
        return paved_error_set(PAVED_EINVAL,
                               "kubernetes: %s %s is a %s artifact, and "
                               "Kubernetes runs images: build and push one "
                               "(uses: build-image, push-image) for an "
                               "environment with driver kubernetes",
                               v->v_service, v->v_version,
                               v->v_kind != NULL ? v->v_kind : "(no kind)");
    if (v->v_artifact[0] == '\0' || v->v_artifact[0] == '-')
        goto bad;
    for (p = v->v_artifact; *p != '\0'; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            goto bad;
    return 0;
bad:
    return paved_error_set(PAVED_EINVAL,
                           "kubernetes: \"%s\" is not an image reference",
                           v->v_artifact);
}

static int
k8s_start(paved_driver *d, json_t *st, const struct paved_version *v)
{
    char canary[80];
    json_t *cand, *items[4];
    long total = k8s_replicas(st);
    size_t n = 0;
    int error;

    if ((error = k8s_check_version(v)) < 0 ||
        (error = k8s_names(canary, sizeof(canary), v->v_service)) < 0)
        return error;
    if (json_is_object(json_object_get(st, "candidate"))) {
        driver_progress(d,
                        "%s: the candidate %s of an earlier attempt is "
                        "removed first",
                        v->v_service,
                        k8s_str(json_object_get(st, "candidate"), "version"));
        if ((error = k8s_rollback(d, st, v->v_service, canary)) < 0)
            return error;
    }
    /* written down before anything is applied: an apply that failed
     * half-way is known, and abort deletes what it left */
    if ((cand = driver_version_json(v)) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    if ((error = k8s_set(st, "candidate", cand)) < 0 ||
        (error = k8s_set(st, "weight", json_integer(0))) < 0 ||
        (error = k8s_set(st, "replicas", json_integer(total))) < 0)
        return error;
    driver_progress(d, "%s: starting %s as %s (%s)", v->v_service, v->v_version,
                    canary, v->v_artifact);
    if (k8s_ingress(d)) {
        /* the stable Service selects track stable only: the split is the
         * Ingress's; the canary takes the stable's size, since at 100%
         * it carries all the traffic */
        items[n++] = k8s_service(v->v_service, v->v_service, "stable");
        items[n++] =
            k8s_ingress_obj(v->v_service, v->v_service, v->v_service, false);
        items[n++] =
            k8s_deployment(d, canary, v->v_service, "canary", total, cand);
        items[n++] = k8s_service(canary, v->v_service, "canary");
    } else {
        /* one Service over both tracks: the split is the replica ratio,
         * and the one canary pod takes its share as soon as it is ready */
        items[n++] = k8s_service(v->v_service, v->v_service, NULL);
        items[n++] = k8s_deployment(d, canary, v->v_service, "canary", 1, cand);
    }
    if ((error = k8s_apply(d, items, n)) < 0)
        return error;
    if (k8s_ingress(d)) {
        /* the canary Ingress only once its backend has ready pods */
        items[0] = k8s_ingress_obj(canary, v->v_service, canary, true);
        if ((error = k8s_wait(d, canary)) < 0 ||
            (error = k8s_apply(d, items, 1)) < 0)
            return error;
        return 0;
    }
    return k8s_wait(d, canary);
}

static int
k8s_route(paved_driver *d, json_t *st, const char *service, unsigned weight)
{
    json_t *cand = json_object_get(st, "candidate");
    bool stable = json_is_object(json_object_get(st, "stable"));
    long total = k8s_replicas(st), c;
    char canary[80], ing[96], ann[96];
    int error;

    if ((error = k8s_names(canary, sizeof(canary), service)) < 0)
        return error;
    if (weight > 100)
        return paved_error_set(PAVED_EINVAL, "weight %u: at most 100", weight);
    if (!json_is_object(cand))
        return paved_error_set(PAVED_EINVAL,
                               "%s: no candidate to send traffic to", service);
    if (k8s_ingress(d)) {
        driver_progress(d, "%s: %u%% to %s", service, weight,
                        k8s_str(cand, "version"));
        snprintf(ing, sizeof(ing), "ingress/%s", canary);
        snprintf(ann, sizeof(ann), K8S_WEIGHT_ANN "=%u", weight);
        if ((error = k8s_run(d, NULL, NULL, "annotate", ing, ann, "--overwrite",
                             NULL)) < 0)
            return error;
        return k8s_set(st, "weight", json_integer(weight));
    }
    /* canary pods = ceil(total * weight / 100), the rest stable: the
     * split is as fine as one pod of the total */
    c = (total * (long)weight + 99) / 100;
    if (!stable && c < 1)
        c = 1;
    driver_progress(d, "%s: %u%% to %s: %ld of %ld pods (%ld%% of the traffic)",
                    service, weight, k8s_str(cand, "version"), c, total,
                    stable ? c * 100 / total : 100);
    /* the canary grows before the stable shrinks: the capacity holds */
    if ((error = k8s_scale(d, canary, c)) < 0 ||
        (error = k8s_wait(d, canary)) < 0)
        return error;
    if (stable && (error = k8s_scale(d, service, total - c)) < 0)
        return error;
    return k8s_set(st, "weight", json_integer(weight));
}

static int
k8s_promote(paved_driver *d, json_t *st, const char *service)
{
    json_t *cand = json_object_get(st, "candidate");
    char canary[80], dep[96], img[4200], env[4200], ann[4200];
    const char *version;
    long total = k8s_replicas(st);
    int error;

    if ((error = k8s_names(canary, sizeof(canary), service)) < 0)
        return error;
    if (!json_is_object(cand))
        return paved_error_set(PAVED_EINVAL, "%s: no candidate to promote",
                               service);
    version = k8s_str(cand, "version");
    driver_progress(d, "%s: promoting %s", service, version);
    if (!json_is_object(json_object_get(st, "stable"))) {
        /* the first version of the service here: its stable objects */
        if ((error = k8s_apply_stable(d, service, cand, total)) < 0)
            return error;
    } else {
        snprintf(dep, sizeof(dep), "deployment/%s", service);
        snprintf(img, sizeof(img), "app=%s", k8s_str(cand, "artifact"));
        snprintf(env, sizeof(env), "PAVED_VERSION=%s", version);
        snprintf(ann, sizeof(ann), "paved.dev/version=%s", version);
        if ((error = k8s_run(d, NULL, NULL, "set", "image", dep, img, NULL)) <
                0 ||
            (error = k8s_run(d, NULL, NULL, "set", "env", dep, "-c", "app", env,
                             NULL)) < 0 ||
            (error = k8s_run(d, NULL, NULL, "annotate", dep, ann, "--overwrite",
                             NULL)) < 0)
            return error;
        if (!k8s_ingress(d) && (error = k8s_scale(d, service, total)) < 0)
            return error;
        if ((error = k8s_wait(d, service)) < 0)
            return error;
    }
    if ((error = k8s_delete_canary(d, canary)) < 0)
        return error;
    if ((error = k8s_set(st, "stable", json_incref(cand))) < 0 ||
        (error = k8s_set(st, "candidate", json_null())) < 0)
        return error;
    return k8s_set(st, "weight", json_integer(0));
}

static int
k8s_abort(paved_driver *d, json_t *st, const char *service)
{
    json_t *cand = json_object_get(st, "candidate");
    char canary[80];
    int error;

    if ((error = k8s_names(canary, sizeof(canary), service)) < 0)
        return error;
    if (!json_is_object(cand)) {
        driver_progress(d, "%s: no candidate: nothing to roll back", service);
        return 0;
    }
    driver_progress(d, "%s: rolling back %s", service,
                    k8s_str(cand, "version"));
    return k8s_rollback(d, st, service, canary);
}

/* *found: the Deployment is there; pods not ready are said in progress
 * (Kubernetes itself restarts them). */
static int
k8s_get(paved_driver *d, const char *name, bool *found)
{
    char obj[96], *out = NULL;
    json_t *dep, *status, *spec;
    json_error_t jerr;
    int error;

    *found = false;
    snprintf(obj, sizeof(obj), "deployment/%s", name);
    if ((error = k8s_run(d, NULL, &out, "get", obj, "--ignore-not-found", "-o",
                         "json", NULL)) < 0)
        return error;
    if (out[strspn(out, " \n")] == '\0') {
        free(out);
        return 0; /* --ignore-not-found prints nothing */
    }
    dep = json_loads(out, 0, &jerr);
    free(out);
    if (!json_is_object(dep)) {
        json_decref(dep);
        return paved_error_set(PAVED_ERROR,
                               "kubectl get %s: not a JSON object (%s)", obj,
                               jerr.text);
    }
    *found = true;
    spec = json_object_get(dep, "spec");
    status = json_object_get(dep, "status");
    if (json_integer_value(json_object_get(status, "readyReplicas")) <
        json_integer_value(json_object_get(spec, "replicas")))
        driver_progress(
            d, "%s: %lld of %lld pods ready (Kubernetes restarts them)", obj,
            (long long)json_integer_value(
                json_object_get(status, "readyReplicas")),
            (long long)json_integer_value(json_object_get(spec, "replicas")));
    json_decref(dep);
    return 0;
}

static int
k8s_reconcile(paved_driver *d, json_t *st, const char *service, bool *changed)
{
    json_t *stable = json_object_get(st, "stable");
    json_t *cand = json_object_get(st, "candidate");
    char canary[80];
    bool found;
    int error;

    *changed = false;
    if ((error = k8s_names(canary, sizeof(canary), service)) < 0)
        return error;
    if (d->d_dry_run) {
        driver_progress(d,
                        "%s: dry run: nothing checked (reconcile reads "
                        "the Deployments with kubectl get)",
                        service);
        return 0;
    }
    /* the stable first: a rollback of a vanished candidate scales it */
    if (json_is_object(stable)) {
        if ((error = k8s_get(d, service, &found)) < 0)
            return error;
        if (!found) {
            driver_progress(d, "%s: the stable %s is gone: applied again",
                            service, k8s_str(stable, "version"));
            if ((error = k8s_apply_stable(d, service, stable,
                                          k8s_replicas(st))) < 0)
                return error;
            *changed = true;
        }
    }
    if (json_is_object(cand)) {
        if ((error = k8s_get(d, canary, &found)) < 0)
            return error;
        if (!found) {
            driver_progress(d,
                            "%s: the candidate %s is gone: traffic back "
                            "to stable",
                            service, k8s_str(cand, "version"));
            if ((error = k8s_rollback(d, st, service, canary)) < 0)
                return error;
            *changed = true;
        }
    }
    return 0;
}

const struct driver_ops driver_kubernetes_ops = {
    .do_name = "kubernetes",
    .do_open = k8s_open,
    .do_close = k8s_close,
    .do_start = k8s_start,
    .do_route = k8s_route,
    .do_promote = k8s_promote,
    .do_abort = k8s_abort,
    .do_reconcile = k8s_reconcile,
};
