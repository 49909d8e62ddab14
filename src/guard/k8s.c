/* Kubernetes manifest rules: probes that cannot restart a container
 * while it starts (the outage this module exists for: a liveness probe
 * that killed a pod during a long database migration), resources, pinned
 * images, a non-root and read-only container, no host access, and, over
 * the whole set of manifests, a default-deny NetworkPolicy, a
 * PodDisruptionBudget per replicated workload, HPAs and Services that
 * point at something. Objects are checked as each file is added; what
 * the set-wide rules need is copied out, so no tree outlives its file.
 * Reads only the bytes it is given: no cluster, no network, no output. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard/guard_int.h"
#include "paved/error.h"

#define K8S_STARTUP_ANNOTATION "paved.dev/startup-seconds"
#define K8S_STARTUP_DEFAULT 60
#define K8S_SECONDS_MAX 100000000LL /* clamps probe fields: no overflow */
#define K8S_LABELS_TEXT 160         /* "app=web,tier=api" in messages */
#define K8S_MAX_ROUNDS 50           /* broken documents read past in one file */

static const struct paved_rule k8s_rules[] = {
    {"k8s.yaml-syntax", PAVED_SEV_HIGH,
     "manifests are valid YAML without aliases, merge keys or a key twice, "
     "so that what is checked is what Kubernetes applies"},
    {"k8s.too-large", PAVED_SEV_MEDIUM,
     "a manifest stays within what the checker reads (1 MiB a file, 10,000 "
     "values a document, 64 levels of nesting)"},
    {"k8s.readiness-probe", PAVED_SEV_MEDIUM,
     "every container of a long-running workload has a readinessProbe"},
    {"k8s.liveness-startup", PAVED_SEV_HIGH,
     "a livenessProbe cannot restart a container while it starts: a "
     "startupProbe, or initialDelaySeconds + failureThreshold x "
     "periodSeconds, covers the startup budget (paved.dev/startup-seconds, "
     "default 60)"},
    {"k8s.liveness-readiness", PAVED_SEV_MEDIUM,
     "a livenessProbe does not check the readinessProbe's endpoint with "
     "settings as aggressive (a slow dependency would restart the pod)"},
    {"k8s.resources", PAVED_SEV_MEDIUM,
     "every container sets resources.requests cpu and memory and "
     "resources.limits memory"},
    {"k8s.image-pinned", PAVED_SEV_HIGH,
     "every image names a version tag other than latest, or a digest"},
    {"k8s.image-digest", PAVED_SEV_HIGH,
     "production manifests pin every image by digest (@sha256:...)"},
    {"k8s.run-as-non-root", PAVED_SEV_HIGH,
     "containers run with securityContext.runAsNonRoot: true and not as "
     "user 0"},
    {"k8s.privilege-escalation", PAVED_SEV_HIGH,
     "containers set securityContext.allowPrivilegeEscalation: false"},
    {"k8s.read-only-root-fs", PAVED_SEV_MEDIUM,
     "containers set securityContext.readOnlyRootFilesystem: true"},
    {"k8s.privileged", PAVED_SEV_CRITICAL, "no container is privileged"},
    {"k8s.host-namespace", PAVED_SEV_HIGH,
     "pods do not share the node's network, PID or IPC namespace "
     "(hostNetwork, hostPID, hostIPC)"},
    {"k8s.host-path", PAVED_SEV_HIGH, "pods mount no hostPath volume"},
    {"k8s.network-policy", PAVED_SEV_MEDIUM,
     "a namespace with workloads has a default-deny ingress NetworkPolicy"},
    {"k8s.pdb", PAVED_SEV_MEDIUM,
     "a workload with more than one replica has a PodDisruptionBudget that "
     "selects its pods"},
    {"k8s.hpa-replicas", PAVED_SEV_MEDIUM,
     "a HorizontalPodAutoscaler sets maxReplicas, and minReplicas <= "
     "maxReplicas"},
    {"k8s.hpa-target", PAVED_SEV_LOW,
     "a HorizontalPodAutoscaler's scaleTargetRef names a workload of the "
     "manifests"},
    {"k8s.service-selector", PAVED_SEV_LOW,
     "a Service's selector matches the pod labels of some workload"},
    {"k8s.cronjob-limits", PAVED_SEV_MEDIUM,
     "a CronJob sets concurrencyPolicy, startingDeadlineSeconds, and "
     "activeDeadlineSeconds and backoffLimit in jobTemplate.spec"},
};

const struct paved_rule *
guard_k8s_rules(size_t *n)
{
    *n = sizeof(k8s_rules) / sizeof(k8s_rules[0]);
    return k8s_rules;
}

/* ---- what the set-wide rules keep of each object ----------------------- */

struct k8s_kv {
    char *kv_key, *kv_value;
};

struct k8s_labels {
    struct k8s_kv *lb_items;
    size_t lb_n;
};

struct k8s_expr {
    char *ex_key, *ex_op;
    char **ex_values;
    size_t ex_n;
};

struct k8s_workload {
    char *w_path, *w_kind, *w_name, *w_ns;
    unsigned w_line;          /* kind: */
    unsigned w_replicas_line; /* replicas:, or kind: */
    long long w_replicas;     /* 0: not a replicated kind */
    struct k8s_labels w_labels;
};

struct k8s_pdb {
    char *pd_ns, *pd_path;
    bool pd_none; /* selects no pod */
    struct k8s_labels pd_match;
    struct k8s_expr *pd_exprs;
    size_t pd_nexprs;
};

struct k8s_service {
    char *sv_path, *sv_name, *sv_ns;
    unsigned sv_line;
    struct k8s_labels sv_selector;
};

struct k8s_deny {
    char *dn_ns, *dn_path;
};

struct k8s_hpa {
    char *hp_path, *hp_name, *hp_ns, *hp_kind, *hp_target;
    unsigned hp_line;
    long long hp_min;
};

struct guard_k8s {
    struct guard_k8s_opts k_opts;
    size_t k_count;
    bool k_probes;
    bool k_long_running; /* a workload that runs until stopped */
    struct k8s_workload *k_wl;
    size_t k_nwl, k_capwl;
    struct k8s_pdb *k_pdb;
    size_t k_npdb, k_cappdb;
    struct k8s_service *k_svc;
    size_t k_nsvc, k_capsvc;
    struct k8s_hpa *k_hpa;
    size_t k_nhpa, k_caphpa;
    struct k8s_deny *k_deny; /* default-deny ingress policies */
    size_t k_ndeny, k_capdeny;
};

/* One object being checked. */
struct k8s_obj {
    guard_k8s *o_k;
    struct paved_findings *o_fs;
    const char *o_path;
    const struct ydoc *o_doc;
    const char *o_api, *o_kind, *o_name, *o_ns;
    unsigned o_line; /* the kind: line, for what is missing */
};

/* ---- small helpers ------------------------------------------------------ */

static int
k8s_nomem(void)
{
    return paved_error_set(PAVED_ENOMEM, "out of memory");
}

/* Room for one more element in *v (n used, *cap allocated). */
static int
k8s_grow(void *vp, size_t n, size_t *cap, size_t size)
{
    void **v = vp;
    void *p;
    size_t c;

    if (n < *cap)
        return 0;
    c = *cap ? *cap * 2 : 8;
    if ((p = realloc(*v, c * size)) == NULL)
        return k8s_nomem();
    *v = p;
    *cap = c;
    return 0;
}

static char *
k8s_strdup(const char *s)
{
    return strdup(s != NULL ? s : "");
}

static unsigned
k8s_key_line(const struct ydoc *map, const char *key, unsigned dflt)
{
    const struct ydoc *k = guard_ydoc_key(map, key);

    return k != NULL ? k->yd_line : dflt;
}

/* A value that is there: not missing and not an explicit null. */
static const struct ydoc *
k8s_get(const struct ydoc *map, const char *key)
{
    const struct ydoc *v = guard_ydoc_get(map, key);

    return v != NULL && !(v->yd_type == YD_SCALAR && v->yd_null) ? v : NULL;
}

static bool
k8s_is_true(const struct ydoc *d)
{
    bool b;

    return guard_ydoc_bool(d, &b) == 1 && b;
}

static bool
k8s_is_false(const struct ydoc *d)
{
    bool b;

    return guard_ydoc_bool(d, &b) == 1 && !b;
}

static bool
k8s_seq_empty(const struct ydoc *d)
{
    return d == NULL || (d->yd_type == YD_SEQ && d->yd_n == 0);
}

/* Can two objects meet in one namespace? Both name theirs: the same.
 * One does not: it goes wherever it is applied, which is where the files
 * beside it go (a kustomize base, a directory applied with -n), so it
 * meets the objects of its own directory. */
static bool
k8s_ns_compat(const char *ns_a, const char *path_a, const char *ns_b,
              const char *path_b)
{
    const char *sa, *sb;

    if (ns_a[0] != '\0' && ns_b[0] != '\0')
        return strcmp(ns_a, ns_b) == 0;
    sa = strrchr(path_a, '/');
    sb = strrchr(path_b, '/');
    if (sa == NULL || sb == NULL)
        return sa == sb;
    return sa - path_a == sb - path_b &&
           strncmp(path_a, path_b, (size_t)(sa - path_a)) == 0;
}

/* Is group (apiVersion before '/', "" for the core group) one of the
 * space-separated groups? A CRD may reuse a kind name (Knative's
 * Service): only the built-in groups are read as Kubernetes kinds. */
static bool
k8s_group_ok(const char *api, const char *groups)
{
    const char *slash = strchr(api, '/'), *g = groups, *e;
    size_t n = slash != NULL ? (size_t)(slash - api) : 0;

    for (;;) {
        e = strchr(g, ' ');
        if ((size_t)((e != NULL ? e : g + strlen(g)) - g) == n &&
            strncmp(g, api, n) == 0)
            return true;
        if (e == NULL)
            return false;
        g = e + 1;
    }
}

static void
k8s_labels_dispose(struct k8s_labels *lb)
{
    size_t i;

    for (i = 0; i < lb->lb_n; i++) {
        free(lb->lb_items[i].kv_key);
        free(lb->lb_items[i].kv_value);
    }
    free(lb->lb_items);
    memset(lb, 0, sizeof(*lb));
}

/* A map of label: value (pod labels, matchLabels, a Service selector). */
static int
k8s_labels_copy(struct k8s_labels *lb, const struct ydoc *map)
{
    size_t i;

    memset(lb, 0, sizeof(*lb));
    if (map == NULL || map->yd_type != YD_MAP || map->yd_n < 2)
        return 0;
    if ((lb->lb_items = calloc(map->yd_n / 2, sizeof(*lb->lb_items))) == NULL)
        return k8s_nomem();
    for (i = 0; i + 1 < map->yd_n; i += 2) {
        const char *k = guard_ydoc_str(map->yd_items[i]);
        const struct ydoc *v = map->yd_items[i + 1];
        struct k8s_kv *kv = &lb->lb_items[lb->lb_n];
        if (k == NULL || v->yd_type != YD_SCALAR)
            continue;
        if ((kv->kv_key = strdup(k)) == NULL ||
            (kv->kv_value = k8s_strdup(guard_ydoc_str(v))) == NULL) {
            free(kv->kv_key);
            kv->kv_key = NULL;
            k8s_labels_dispose(lb);
            return k8s_nomem();
        }
        lb->lb_n++;
    }
    return 0;
}

/* value NULL: only that the key is there */
static bool
k8s_labels_has(const struct k8s_labels *lb, const char *key, const char *value)
{
    size_t i;

    for (i = 0; i < lb->lb_n; i++)
        if (strcmp(lb->lb_items[i].kv_key, key) == 0)
            return value == NULL ||
                   strcmp(lb->lb_items[i].kv_value, value) == 0;
    return false;
}

/* every label of sel is on pod */
static bool
k8s_labels_subset(const struct k8s_labels *sel, const struct k8s_labels *pod)
{
    size_t i;

    for (i = 0; i < sel->lb_n; i++)
        if (!k8s_labels_has(pod, sel->lb_items[i].kv_key,
                            sel->lb_items[i].kv_value))
            return false;
    return true;
}

static const char *
k8s_labels_text(char *buf, size_t n, const struct k8s_labels *lb)
{
    size_t i, off = 0;
    int w;

    buf[0] = '\0';
    for (i = 0; i < lb->lb_n && off < n; i++) {
        w = snprintf(buf + off, n - off, "%s%s=%s", i ? "," : "",
                     lb->lb_items[i].kv_key, lb->lb_items[i].kv_value);
        if (w < 0)
            break;
        off += (size_t)w;
    }
    return lb->lb_n > 0 ? buf : "no labels";
}

/* ---- images ------------------------------------------------------------ */

static bool
k8s_image_digest(const char *img)
{
    const char *at = strchr(img, '@');
    size_t i;

    if (at == NULL || strncmp(at + 1, "sha256:", 7) != 0)
        return false;
    for (i = 0; i < 64; i++) {
        char c = at[8 + i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return at[8 + 64] == '\0';
}

/* The tag of "registry:5000/team/app:1.2" is "1.2"; NULL when none. */
static const char *
k8s_image_tag(const char *img, size_t *len)
{
    const char *end = strchr(img, '@'), *slash, *colon = NULL, *p;

    if (end == NULL)
        end = img + strlen(img);
    slash = img;
    for (p = img; p < end; p++)
        if (*p == '/')
            slash = p;
    for (p = slash; p < end; p++)
        if (*p == ':')
            colon = p;
    if (colon == NULL)
        return NULL;
    *len = (size_t)(end - colon - 1);
    return colon + 1;
}

static int
k8s_image(struct k8s_obj *o, const char *cname, const struct ydoc *c)
{
    const struct ydoc *v = k8s_get(c, "image");
    const char *img = guard_ydoc_str(v), *tag;
    size_t tlen = 0;
    bool digest;
    int error;

    if (img == NULL || img[0] == '\0')
        return 0; /* the API server refuses it; nothing to pin */
    digest = k8s_image_digest(img);
    tag = k8s_image_tag(img, &tlen);
    if (!digest && (tag == NULL || tlen == 0) &&
        (error =
             guard_report(o->o_fs, "k8s.image-pinned", o->o_path, v->yd_line, 0,
                          "container \"%.100s\": image \"%.200s\" has no "
                          "tag, which means latest and changes under "
                          "you: pin a version tag (\"%.200s:1.2.3\") or a "
                          "digest (@sha256:...)",
                          cname, img, img)) < 0)
        return error;
    if (!digest && tag != NULL && tlen == 6 && memcmp(tag, "latest", 6) == 0 &&
        (error =
             guard_report(o->o_fs, "k8s.image-pinned", o->o_path, v->yd_line, 0,
                          "container \"%.100s\": image \"%.200s\" uses "
                          "the latest tag, which changes under you: pin a "
                          "version tag or a digest (@sha256:...)",
                          cname, img)) < 0)
        return error;
    if (!digest && o->o_k->k_opts.ko_production &&
        (error =
             guard_report(o->o_fs, "k8s.image-digest", o->o_path, v->yd_line, 0,
                          "container \"%.100s\": image \"%.200s\" is not "
                          "pinned by digest, so production may run other "
                          "bytes than were tested: append the digest "
                          "you tested (image@sha256:<64 hex>)",
                          cname, img)) < 0)
        return error;
    return 0;
}

/* ---- probes ------------------------------------------------------------ */

struct k8s_probe {
    const struct ydoc *p_node; /* the probe's mapping; NULL: none */
    unsigned p_line;           /* its key */
    long long p_initial, p_period, p_failure;
};

static long long
k8s_int_field(const struct ydoc *map, const char *key, long long dflt,
              long long min)
{
    long long v;

    /* missing, not a number, or 0 (which the API defaults like a missing
     * field): the default */
    if (guard_ydoc_int(guard_ydoc_get(map, key), &v) != 1 || v < min)
        return dflt;
    return v > K8S_SECONDS_MAX ? K8S_SECONDS_MAX : v;
}

/* Kubernetes' defaults: initialDelaySeconds 0, periodSeconds 10,
 * failureThreshold 3. */
static void
k8s_probe_read(struct k8s_probe *p, const struct ydoc *c, const char *key)
{
    memset(p, 0, sizeof(*p));
    p->p_node = k8s_get(c, key);
    if (p->p_node == NULL)
        return;
    p->p_line = k8s_key_line(c, key, p->p_node->yd_line);
    p->p_initial = k8s_int_field(p->p_node, "initialDelaySeconds", 0, 0);
    p->p_period = k8s_int_field(p->p_node, "periodSeconds", 10, 1);
    p->p_failure = k8s_int_field(p->p_node, "failureThreshold", 3, 1);
}

/* How long a probe lets a container start before it kills it. */
static long long
k8s_probe_window(const struct k8s_probe *p)
{
    return p->p_initial + p->p_failure * p->p_period;
}

/* A port as a number: a named port is looked up in the container's
 * ports, so that `port: http` and `port: 8080` are the same endpoint. */
static const char *
k8s_port(const struct ydoc *c, const struct ydoc *port)
{
    const char *s = guard_ydoc_str(port);
    const struct ydoc *ports = guard_ydoc_get(c, "ports");
    long long n;
    size_t i;

    if (s == NULL || guard_ydoc_int(port, &n) == 1 || ports == NULL ||
        ports->yd_type != YD_SEQ)
        return s != NULL ? s : "";
    for (i = 0; i < ports->yd_n; i++) {
        const char *name =
            guard_ydoc_str(guard_ydoc_get(ports->yd_items[i], "name"));
        const char *num =
            guard_ydoc_str(guard_ydoc_get(ports->yd_items[i], "containerPort"));
        if (name != NULL && num != NULL && strcmp(name, s) == 0)
            return num;
    }
    return s;
}

static bool
k8s_seq_equal(const struct ydoc *a, const struct ydoc *b)
{
    size_t i;

    if (a == NULL || b == NULL || a->yd_type != YD_SEQ ||
        b->yd_type != YD_SEQ || a->yd_n != b->yd_n)
        return false;
    for (i = 0; i < a->yd_n; i++) {
        const char *x = guard_ydoc_str(a->yd_items[i]);
        const char *y = guard_ydoc_str(b->yd_items[i]);
        if (x == NULL || y == NULL || strcmp(x, y) != 0)
            return false;
    }
    return true;
}

/* Do two probes check the same thing? desc: what, for the message. */
static bool
k8s_probe_same(const struct ydoc *c, const struct ydoc *a, const struct ydoc *b,
               char *desc, size_t n)
{
    const struct ydoc *x, *y;

    if ((x = k8s_get(a, "httpGet")) != NULL &&
        (y = k8s_get(b, "httpGet")) != NULL) {
        const char *px = guard_ydoc_str(guard_ydoc_get(x, "path"));
        const char *py = guard_ydoc_str(guard_ydoc_get(y, "path"));
        const char *ox = k8s_port(c, guard_ydoc_get(x, "port"));
        const char *oy = k8s_port(c, guard_ydoc_get(y, "port"));
        px = px != NULL ? px : "/";
        py = py != NULL ? py : "/";
        snprintf(desc, n, "GET %.100s on port %.20s", px, ox);
        return strcmp(px, py) == 0 && strcmp(ox, oy) == 0;
    }
    if ((x = k8s_get(a, "tcpSocket")) != NULL &&
        (y = k8s_get(b, "tcpSocket")) != NULL) {
        const char *ox = k8s_port(c, guard_ydoc_get(x, "port"));
        const char *oy = k8s_port(c, guard_ydoc_get(y, "port"));
        snprintf(desc, n, "TCP port %.20s", ox);
        return strcmp(ox, oy) == 0;
    }
    if ((x = k8s_get(a, "grpc")) != NULL && (y = k8s_get(b, "grpc")) != NULL) {
        const char *ox = k8s_port(c, guard_ydoc_get(x, "port"));
        const char *oy = k8s_port(c, guard_ydoc_get(y, "port"));
        const char *sx = guard_ydoc_str(guard_ydoc_get(x, "service"));
        const char *sy = guard_ydoc_str(guard_ydoc_get(y, "service"));
        snprintf(desc, n, "gRPC health on port %.20s", ox);
        return strcmp(ox, oy) == 0 &&
               strcmp(sx != NULL ? sx : "", sy != NULL ? sy : "") == 0;
    }
    if ((x = k8s_get(a, "exec")) != NULL && (y = k8s_get(b, "exec")) != NULL) {
        const struct ydoc *cx = guard_ydoc_get(x, "command");
        const char *first = cx != NULL && cx->yd_type == YD_SEQ && cx->yd_n > 0
                                ? guard_ydoc_str(cx->yd_items[cx->yd_n - 1])
                                : NULL;
        snprintf(desc, n, "the command \"%.100s\"", first != NULL ? first : "");
        return k8s_seq_equal(cx, guard_ydoc_get(y, "command"));
    }
    return false;
}

/* The startup budget of a pod: its template's annotation, else the
 * workload's, else the default. A malformed annotation is a finding and
 * the default applies. */
struct k8s_budget {
    long long b_secs;
    const char *b_from; /* for the message */
};

static int
k8s_budget(struct k8s_obj *o, struct k8s_budget *b, const struct ydoc *tmeta)
{
    const struct ydoc *v = NULL, *ann;
    long long secs;

    b->b_secs = o->o_k->k_opts.ko_startup_default;
    b->b_from = "the default; declare yours with the "
                "annotation " K8S_STARTUP_ANNOTATION;
    ann = guard_ydoc_get(tmeta, "annotations");
    if ((v = guard_ydoc_get(ann, K8S_STARTUP_ANNOTATION)) == NULL) {
        ann = guard_ydoc_at(o->o_doc, "metadata", "annotations", NULL);
        v = guard_ydoc_get(ann, K8S_STARTUP_ANNOTATION);
    }
    if (v == NULL)
        return 0;
    if (guard_ydoc_int(v, &secs) != 1 || secs < 0 || secs > K8S_SECONDS_MAX)
        return guard_report(o->o_fs, "k8s.liveness-startup", o->o_path,
                            v->yd_line, 0,
                            "annotation " K8S_STARTUP_ANNOTATION
                            " \"%.40s\" is not a whole number of seconds: "
                            "write the startup budget as \"600\"",
                            guard_ydoc_str(v) != NULL ? guard_ydoc_str(v) : "");
    b->b_secs = secs;
    b->b_from = K8S_STARTUP_ANNOTATION;
    return 0;
}

static int
k8s_probes(struct k8s_obj *o, const char *cname, unsigned cline,
           const struct ydoc *c, bool long_running, const struct k8s_budget *b)
{
    struct k8s_probe ready, live, start;
    long long w, rw;
    char what[160];
    int error;

    k8s_probe_read(&ready, c, "readinessProbe");
    k8s_probe_read(&live, c, "livenessProbe");
    k8s_probe_read(&start, c, "startupProbe");
    if (ready.p_node != NULL || live.p_node != NULL || start.p_node != NULL)
        o->o_k->k_probes = true;
    if (long_running && ready.p_node == NULL &&
        (error =
             guard_report(o->o_fs, "k8s.readiness-probe", o->o_path, cline, 0,
                          "container \"%.100s\" has no readinessProbe, so "
                          "it gets traffic before it can serve and keeps "
                          "it when it cannot: add a readinessProbe on an "
                          "endpoint that says whether it can serve now",
                          cname)) < 0)
        return error;
    /* a startupProbe holds liveness off until it succeeds, and kills the
     * container itself when it runs out: then it must cover the budget */
    if (start.p_node != NULL && (w = k8s_probe_window(&start)) < b->b_secs) {
        long long need =
            (b->b_secs - start.p_initial + start.p_period - 1) / start.p_period;
        if ((error = guard_report(
                 o->o_fs, "k8s.liveness-startup", o->o_path, start.p_line, 0,
                 "container \"%.100s\": startupProbe restarts it after %lld s "
                 "of startup (initialDelaySeconds %lld + failureThreshold "
                 "%lld x periodSeconds %lld) but the startup budget is %lld s "
                 "(%s): raise failureThreshold to %lld",
                 cname, w, start.p_initial, start.p_failure, start.p_period,
                 b->b_secs, b->b_from, need)) < 0)
            return error;
    } else if (start.p_node == NULL && live.p_node != NULL &&
               (w = k8s_probe_window(&live)) < b->b_secs) {
        if ((error = guard_report(
                 o->o_fs, "k8s.liveness-startup", o->o_path, live.p_line, 0,
                 "container \"%.100s\": livenessProbe can restart it after "
                 "%lld s of startup (initialDelaySeconds %lld + "
                 "failureThreshold %lld x periodSeconds %lld) but the startup "
                 "budget is %lld s (%s): add a startupProbe with "
                 "failureThreshold x periodSeconds >= %lld (e.g. "
                 "failureThreshold: %lld, periodSeconds: 10)",
                 cname, w, live.p_initial, live.p_failure, live.p_period,
                 b->b_secs, b->b_from, b->b_secs, (b->b_secs + 9) / 10)) < 0)
            return error;
    }
    if (live.p_node != NULL && ready.p_node != NULL &&
        k8s_probe_same(c, live.p_node, ready.p_node, what, sizeof(what)) &&
        (w = live.p_failure * live.p_period) <=
            (rw = ready.p_failure * ready.p_period) &&
        (error = guard_report(
             o->o_fs, "k8s.liveness-readiness", o->o_path, live.p_line, 0,
             "container \"%.100s\": livenessProbe checks the same endpoint as "
             "readinessProbe (%s) and gives up as fast (%lld s vs %lld s), "
             "so a slow dependency restarts the container instead of taking "
             "it out of service: give liveness an endpoint that checks only "
             "the process, or make it give up later than readiness",
             cname, what, w, rw)) < 0)
        return error;
    return 0;
}

/* ---- one container ----------------------------------------------------- */

static int
k8s_resources(struct k8s_obj *o, const char *cname, unsigned cline,
              const struct ydoc *c)
{
    const struct ydoc *r = k8s_get(c, "resources");
    const struct ydoc *req = k8s_get(r, "requests"),
                      *lim = k8s_get(r, "limits");
    char missing[96];
    size_t off = 0;

    /* a request left out defaults to the limit, so a limit counts */
    missing[0] = '\0';
    if (k8s_get(req, "cpu") == NULL && k8s_get(lim, "cpu") == NULL)
        off += (size_t)snprintf(missing + off, sizeof(missing) - off,
                                "%srequests.cpu", off ? ", " : "");
    if (k8s_get(req, "memory") == NULL && k8s_get(lim, "memory") == NULL)
        off += (size_t)snprintf(missing + off, sizeof(missing) - off,
                                "%srequests.memory", off ? ", " : "");
    if (k8s_get(lim, "memory") == NULL)
        off += (size_t)snprintf(missing + off, sizeof(missing) - off,
                                "%slimits.memory", off ? ", " : "");
    if (off == 0)
        return 0;
    return guard_report(o->o_fs, "k8s.resources", o->o_path, cline, 0,
                        "container \"%.100s\" sets no %s: set "
                        "resources.requests (cpu, memory) so the scheduler "
                        "can place it, and resources.limits.memory so a leak "
                        "cannot starve its node",
                        cname, missing);
}

static int
k8s_security(struct k8s_obj *o, const char *cname, unsigned cline,
             const struct ydoc *c, const struct ydoc *psc)
{
    const struct ydoc *csc = k8s_get(c, "securityContext"), *v, *u;
    long long uid;
    int error;

    /* the container's setting wins over the pod's */
    if ((v = k8s_get(csc, "runAsNonRoot")) == NULL)
        v = k8s_get(psc, "runAsNonRoot");
    if (!k8s_is_true(v) &&
        (error = guard_report(o->o_fs, "k8s.run-as-non-root", o->o_path,
                              v != NULL ? v->yd_line : cline, 0,
                              "container \"%.100s\" may run as root: set "
                              "securityContext.runAsNonRoot: true (pod or "
                              "container) and a non-zero runAsUser if the "
                              "image's USER is root",
                              cname)) < 0)
        return error;
    if ((u = k8s_get(csc, "runAsUser")) == NULL)
        u = k8s_get(psc, "runAsUser");
    if (guard_ydoc_int(u, &uid) == 1 && uid == 0 &&
        (error = guard_report(o->o_fs, "k8s.run-as-non-root", o->o_path,
                              u->yd_line, 0,
                              "container \"%.100s\" runs as user 0 (root): "
                              "set runAsUser to a non-zero UID such as 10001",
                              cname)) < 0)
        return error;
    /* the next three exist only on the container's securityContext: the
     * pod's has no such fields, so they cannot be inherited */
    v = k8s_get(csc, "allowPrivilegeEscalation");
    if (!k8s_is_false(v) &&
        (error = guard_report(o->o_fs, "k8s.privilege-escalation", o->o_path,
                              v != NULL ? v->yd_line : cline, 0,
                              "container \"%.100s\" can gain privileges "
                              "(setuid binaries): set "
                              "securityContext.allowPrivilegeEscalation: "
                              "false",
                              cname)) < 0)
        return error;
    v = k8s_get(csc, "readOnlyRootFilesystem");
    if (!k8s_is_true(v) &&
        (error = guard_report(o->o_fs, "k8s.read-only-root-fs", o->o_path,
                              v != NULL ? v->yd_line : cline, 0,
                              "container \"%.100s\" can write to its image's "
                              "filesystem: set "
                              "securityContext.readOnlyRootFilesystem: true "
                              "and mount an emptyDir where it must write "
                              "(/tmp)",
                              cname)) < 0)
        return error;
    v = k8s_get(csc, "privileged");
    if (k8s_is_true(v) &&
        (error =
             guard_report(o->o_fs, "k8s.privileged", o->o_path, v->yd_line, 0,
                          "container \"%.100s\" is privileged: it has "
                          "every capability and the node's devices; "
                          "remove privileged: true and add only the "
                          "capabilities it needs",
                          cname)) < 0)
        return error;
    return 0;
}

static int
k8s_container(struct k8s_obj *o, const struct ydoc *c, size_t i, bool main,
              bool long_running, const struct ydoc *psc,
              const struct k8s_budget *b)
{
    char fallback[32];
    const char *cname = guard_ydoc_str(guard_ydoc_get(c, "name"));
    unsigned cline = k8s_key_line(c, "name", c->yd_line);
    int error;

    if (c->yd_type != YD_MAP)
        return 0;
    if (cname == NULL) {
        snprintf(fallback, sizeof(fallback), "#%zu", i + 1);
        cname = fallback;
    }
    if ((main &&
         (error = k8s_probes(o, cname, cline, c, long_running, b)) < 0) ||
        (error = k8s_resources(o, cname, cline, c)) < 0 ||
        (error = k8s_image(o, cname, c)) < 0 ||
        (error = k8s_security(o, cname, cline, c, psc)) < 0)
        return error;
    return 0;
}

/* ---- pods and workloads ------------------------------------------------ */

static int
k8s_pod_spec(struct k8s_obj *o, const struct ydoc *ps, bool long_running,
             const struct k8s_budget *b)
{
    static const char *const host[] = {"hostNetwork", "hostPID", "hostIPC"};
    const struct ydoc *psc = k8s_get(ps, "securityContext"), *v;
    size_t i;
    int error;

    for (i = 0; i < sizeof(host) / sizeof(*host); i++) {
        v = k8s_get(ps, host[i]);
        if (k8s_is_true(v) &&
            (error = guard_report(o->o_fs, "k8s.host-namespace", o->o_path,
                                  v->yd_line, 0,
                                  "%s: true shares the node's namespace with "
                                  "the pod, so a compromised container reaches "
                                  "the node: remove it (use a Service or "
                                  "hostPort-free networking instead)",
                                  host[i])) < 0)
            return error;
    }
    if ((v = k8s_get(ps, "volumes")) != NULL && v->yd_type == YD_SEQ) {
        for (i = 0; i < v->yd_n; i++) {
            const struct ydoc *vol = v->yd_items[i];
            const struct ydoc *hp = k8s_get(vol, "hostPath");
            const char *vname = guard_ydoc_str(guard_ydoc_get(vol, "name"));
            const char *hpath = guard_ydoc_str(guard_ydoc_get(hp, "path"));
            if (hp != NULL &&
                (error = guard_report(
                     o->o_fs, "k8s.host-path", o->o_path,
                     k8s_key_line(vol, "hostPath", hp->yd_line), 0,
                     "volume \"%.100s\" mounts the node's %.200s (hostPath), "
                     "which lets the pod read or change the node: use an "
                     "emptyDir, a configMap or secret, or a "
                     "PersistentVolumeClaim",
                     vname != NULL ? vname : "", hpath != NULL ? hpath : "/")) <
                    0)
                return error;
        }
    }
    if ((v = k8s_get(ps, "containers")) != NULL && v->yd_type == YD_SEQ)
        for (i = 0; i < v->yd_n; i++)
            if ((error = k8s_container(o, v->yd_items[i], i, true, long_running,
                                       psc, b)) < 0)
                return error;
    /* init containers run to completion before the pod serves: no
     * probes, but the same resources, image and privileges */
    if ((v = k8s_get(ps, "initContainers")) != NULL && v->yd_type == YD_SEQ)
        for (i = 0; i < v->yd_n; i++)
            if ((error = k8s_container(o, v->yd_items[i], i, false, false, psc,
                                       b)) < 0)
                return error;
    return 0;
}

enum k8s_where { K8S_AT_ROOT, K8S_TEMPLATE, K8S_CRON };

struct k8s_kind {
    const char *kk_kind;
    const char *kk_groups;
    enum k8s_where kk_where;
    bool kk_long;     /* runs until stopped */
    bool kk_replicas; /* spec.replicas */
};

static const struct k8s_kind k8s_workloads[] = {
    {"Deployment", "apps extensions", K8S_TEMPLATE, true, true},
    {"StatefulSet", "apps", K8S_TEMPLATE, true, true},
    {"DaemonSet", "apps extensions", K8S_TEMPLATE, true, false},
    {"ReplicaSet", "apps extensions", K8S_TEMPLATE, true, true},
    {"Job", "batch", K8S_TEMPLATE, false, false},
    {"CronJob", "batch", K8S_CRON, false, false},
    {"Pod", "", K8S_AT_ROOT, true, false},
};

static int
k8s_cronjob(struct k8s_obj *o)
{
    const struct ydoc *spec = guard_ydoc_get(o->o_doc, "spec");
    const struct ydoc *job = guard_ydoc_at(spec, "jobTemplate", "spec", NULL);
    char missing[160];
    size_t off = 0;

    missing[0] = '\0';
    if (k8s_get(spec, "concurrencyPolicy") == NULL)
        off += (size_t)snprintf(missing + off, sizeof(missing) - off,
                                "%sconcurrencyPolicy", off ? ", " : "");
    if (k8s_get(spec, "startingDeadlineSeconds") == NULL)
        off += (size_t)snprintf(missing + off, sizeof(missing) - off,
                                "%sstartingDeadlineSeconds", off ? ", " : "");
    if (k8s_get(job, "activeDeadlineSeconds") == NULL)
        off += (size_t)snprintf(missing + off, sizeof(missing) - off,
                                "%sjobTemplate.spec.activeDeadlineSeconds",
                                off ? ", " : "");
    if (k8s_get(job, "backoffLimit") == NULL)
        off += (size_t)snprintf(missing + off, sizeof(missing) - off,
                                "%sjobTemplate.spec.backoffLimit",
                                off ? ", " : "");
    if (off == 0)
        return 0;
    return guard_report(o->o_fs, "k8s.cronjob-limits", o->o_path, o->o_line, 0,
                        "CronJob \"%.100s\" sets no %s: set concurrencyPolicy "
                        "(Forbid or Replace), startingDeadlineSeconds, "
                        "activeDeadlineSeconds and backoffLimit so that slow "
                        "or failing runs cannot pile up or retry forever",
                        o->o_name, missing);
}

static int
k8s_workload(struct k8s_obj *o, const struct k8s_kind *kk)
{
    const struct ydoc *tmpl, *tmeta, *ps, *v;
    const char *restart;
    struct k8s_workload *w;
    struct k8s_budget b;
    guard_k8s *k = o->o_k;
    bool long_running = kk->kk_long;
    int error;

    if (kk->kk_where == K8S_AT_ROOT)
        tmpl = o->o_doc;
    else if (kk->kk_where == K8S_CRON)
        tmpl = guard_ydoc_at(o->o_doc, "spec", "jobTemplate", "spec",
                             "template", NULL);
    else
        tmpl = guard_ydoc_at(o->o_doc, "spec", "template", NULL);
    tmeta = guard_ydoc_get(tmpl, "metadata");
    ps = guard_ydoc_get(tmpl, "spec");
    /* a bare pod that does not restart is a one-off task */
    restart = guard_ydoc_str(guard_ydoc_get(ps, "restartPolicy"));
    if (kk->kk_where == K8S_AT_ROOT && restart != NULL &&
        strcmp(restart, "Always") != 0)
        long_running = false;
    if ((error = k8s_budget(o, &b, tmeta)) < 0)
        return error;
    if (long_running)
        k->k_long_running = true;
    if (ps != NULL && ps->yd_type == YD_MAP &&
        (error = k8s_pod_spec(o, ps, long_running, &b)) < 0)
        return error;
    if (kk->kk_where == K8S_CRON && (error = k8s_cronjob(o)) < 0)
        return error;

    if ((error = k8s_grow(&k->k_wl, k->k_nwl, &k->k_capwl, sizeof(*w))) < 0)
        return error;
    w = &k->k_wl[k->k_nwl];
    memset(w, 0, sizeof(*w));
    w->w_line = w->w_replicas_line = o->o_line;
    if (kk->kk_replicas) {
        v = guard_ydoc_at(o->o_doc, "spec", "replicas", NULL);
        if (guard_ydoc_int(v, &w->w_replicas) != 1)
            w->w_replicas = 1; /* the API's default */
        else
            w->w_replicas_line = k8s_key_line(guard_ydoc_get(o->o_doc, "spec"),
                                              "replicas", o->o_line);
    }
    if ((w->w_path = strdup(o->o_path)) == NULL ||
        (w->w_kind = strdup(o->o_kind)) == NULL ||
        (w->w_name = strdup(o->o_name)) == NULL ||
        (w->w_ns = strdup(o->o_ns)) == NULL ||
        (error = k8s_labels_copy(&w->w_labels,
                                 guard_ydoc_get(tmeta, "labels"))) < 0) {
        free(w->w_path);
        free(w->w_kind);
        free(w->w_name);
        free(w->w_ns);
        return k8s_nomem();
    }
    k->k_nwl++;
    return 0;
}

/* ---- the other kinds ---------------------------------------------------- */

static void
k8s_pdb_dispose(struct k8s_pdb *p)
{
    size_t i, j;

    free(p->pd_ns);
    free(p->pd_path);
    k8s_labels_dispose(&p->pd_match);
    for (i = 0; i < p->pd_nexprs; i++) {
        free(p->pd_exprs[i].ex_key);
        free(p->pd_exprs[i].ex_op);
        for (j = 0; j < p->pd_exprs[i].ex_n; j++)
            free(p->pd_exprs[i].ex_values[j]);
        free(p->pd_exprs[i].ex_values);
    }
    free(p->pd_exprs);
}

static int
k8s_expr_copy(struct k8s_expr *e, const struct ydoc *d)
{
    const struct ydoc *vals = guard_ydoc_get(d, "values");
    size_t i;

    memset(e, 0, sizeof(*e));
    if ((e->ex_key = k8s_strdup(guard_ydoc_str(guard_ydoc_get(d, "key")))) ==
            NULL ||
        (e->ex_op =
             k8s_strdup(guard_ydoc_str(guard_ydoc_get(d, "operator")))) == NULL)
        return k8s_nomem();
    if (vals == NULL || vals->yd_type != YD_SEQ || vals->yd_n == 0)
        return 0;
    if ((e->ex_values = calloc(vals->yd_n, sizeof(*e->ex_values))) == NULL)
        return k8s_nomem();
    for (i = 0; i < vals->yd_n; i++) {
        if ((e->ex_values[e->ex_n] =
                 k8s_strdup(guard_ydoc_str(vals->yd_items[i]))) == NULL)
            return k8s_nomem();
        e->ex_n++;
    }
    return 0;
}

static int
k8s_pdb(struct k8s_obj *o)
{
    const struct ydoc *sel =
        k8s_get(guard_ydoc_get(o->o_doc, "spec"), "selector");
    const struct ydoc *exprs = k8s_get(sel, "matchExpressions");
    guard_k8s *k = o->o_k;
    struct k8s_pdb *p;
    size_t i;
    int error;

    if ((error = k8s_grow(&k->k_pdb, k->k_npdb, &k->k_cappdb, sizeof(*p))) < 0)
        return error;
    p = &k->k_pdb[k->k_npdb++];
    memset(p, 0, sizeof(*p));
    if ((p->pd_ns = strdup(o->o_ns)) == NULL ||
        (p->pd_path = strdup(o->o_path)) == NULL)
        return k8s_nomem();
    /* no selector selects nothing; an empty one selects every pod in
     * policy/v1 but none in v1beta1 */
    p->pd_none = sel == NULL || sel->yd_type != YD_MAP ||
                 (sel->yd_n == 0 && strcmp(o->o_api, "policy/v1") != 0);
    if ((error = k8s_labels_copy(&p->pd_match, k8s_get(sel, "matchLabels"))) <
        0)
        return error;
    if (exprs == NULL || exprs->yd_type != YD_SEQ || exprs->yd_n == 0)
        return 0;
    if ((p->pd_exprs = calloc(exprs->yd_n, sizeof(*p->pd_exprs))) == NULL)
        return k8s_nomem();
    for (i = 0; i < exprs->yd_n; i++) {
        p->pd_nexprs++; /* counted first: dispose frees a partial one */
        if ((error = k8s_expr_copy(&p->pd_exprs[i], exprs->yd_items[i])) < 0)
            return error;
    }
    return 0;
}

static bool
k8s_pdb_selects(const struct k8s_pdb *p, const struct k8s_labels *pod)
{
    size_t i, j;

    if (p->pd_none || !k8s_labels_subset(&p->pd_match, pod))
        return false;
    for (i = 0; i < p->pd_nexprs; i++) {
        const struct k8s_expr *e = &p->pd_exprs[i];
        bool has = k8s_labels_has(pod, e->ex_key, NULL), in = false;
        for (j = 0; has && j < e->ex_n; j++)
            in = in || k8s_labels_has(pod, e->ex_key, e->ex_values[j]);
        if (strcmp(e->ex_op, "In") == 0             ? !in
            : strcmp(e->ex_op, "NotIn") == 0        ? in
            : strcmp(e->ex_op, "Exists") == 0       ? !has
            : strcmp(e->ex_op, "DoesNotExist") == 0 ? has
                                                    : true)
            return false;
    }
    return true;
}

static int
k8s_service(struct k8s_obj *o)
{
    const struct ydoc *spec = guard_ydoc_get(o->o_doc, "spec");
    const struct ydoc *sel = k8s_get(spec, "selector");
    const char *type = guard_ydoc_str(guard_ydoc_get(spec, "type"));
    guard_k8s *k = o->o_k;
    struct k8s_service *s;
    int error;

    /* no selector: endpoints are managed by hand or ExternalName */
    if (sel == NULL || sel->yd_type != YD_MAP || sel->yd_n == 0 ||
        (type != NULL && strcmp(type, "ExternalName") == 0))
        return 0;
    if ((error = k8s_grow(&k->k_svc, k->k_nsvc, &k->k_capsvc, sizeof(*s))) < 0)
        return error;
    s = &k->k_svc[k->k_nsvc];
    memset(s, 0, sizeof(*s));
    s->sv_line = k8s_key_line(spec, "selector", o->o_line);
    if ((s->sv_path = strdup(o->o_path)) == NULL ||
        (s->sv_name = strdup(o->o_name)) == NULL ||
        (s->sv_ns = strdup(o->o_ns)) == NULL ||
        k8s_labels_copy(&s->sv_selector, sel) < 0) {
        free(s->sv_path);
        free(s->sv_name);
        free(s->sv_ns);
        return k8s_nomem();
    }
    k->k_nsvc++;
    return 0;
}

static int
k8s_hpa(struct k8s_obj *o)
{
    const struct ydoc *spec = guard_ydoc_get(o->o_doc, "spec");
    const struct ydoc *ref = guard_ydoc_get(spec, "scaleTargetRef");
    const struct ydoc *minv = k8s_get(spec, "minReplicas");
    long long min = 1, max;
    guard_k8s *k = o->o_k;
    struct k8s_hpa *h;
    int error;

    if (minv != NULL && guard_ydoc_int(minv, &min) != 1)
        min = 1;
    if (guard_ydoc_int(k8s_get(spec, "maxReplicas"), &max) != 1) {
        if ((error = guard_report(o->o_fs, "k8s.hpa-replicas", o->o_path,
                                  o->o_line, 0,
                                  "HorizontalPodAutoscaler \"%.100s\" sets no "
                                  "maxReplicas: set it to the most replicas "
                                  "the service may cost",
                                  o->o_name)) < 0)
            return error;
    } else if (min > max &&
               (error = guard_report(
                    o->o_fs, "k8s.hpa-replicas", o->o_path,
                    k8s_key_line(spec, "minReplicas", o->o_line), 0,
                    "HorizontalPodAutoscaler \"%.100s\": minReplicas %lld is "
                    "above maxReplicas %lld, which the API refuses: lower "
                    "minReplicas or raise maxReplicas",
                    o->o_name, min, max)) < 0)
        return error;
    if (ref == NULL || ref->yd_type != YD_MAP)
        return 0;
    if ((error = k8s_grow(&k->k_hpa, k->k_nhpa, &k->k_caphpa, sizeof(*h))) < 0)
        return error;
    h = &k->k_hpa[k->k_nhpa];
    memset(h, 0, sizeof(*h));
    h->hp_min = min;
    h->hp_line = k8s_key_line(ref, "name", ref->yd_line);
    if ((h->hp_path = strdup(o->o_path)) == NULL ||
        (h->hp_name = strdup(o->o_name)) == NULL ||
        (h->hp_ns = strdup(o->o_ns)) == NULL ||
        (h->hp_kind =
             k8s_strdup(guard_ydoc_str(guard_ydoc_get(ref, "kind")))) == NULL ||
        (h->hp_target =
             k8s_strdup(guard_ydoc_str(guard_ydoc_get(ref, "name")))) == NULL) {
        free(h->hp_path);
        free(h->hp_name);
        free(h->hp_ns);
        free(h->hp_kind);
        return k8s_nomem();
    }
    k->k_nhpa++;
    return 0;
}

/* A label selector that selects everything: {} or no selector at all. */
static bool
k8s_selector_empty(const struct ydoc *sel)
{
    const struct ydoc *ml;

    if (sel == NULL)
        return true;
    if (sel->yd_type != YD_MAP)
        return false;
    ml = k8s_get(sel, "matchLabels");
    return (ml == NULL || (ml->yd_type == YD_MAP && ml->yd_n == 0)) &&
           k8s_seq_empty(k8s_get(sel, "matchExpressions"));
}

/* podSelector {} (or none), Ingress among policyTypes (Kubernetes
 * assumes Ingress when policyTypes is left out) and no ingress rule. */
static int
k8s_netpol(struct k8s_obj *o)
{
    const struct ydoc *spec = guard_ydoc_get(o->o_doc, "spec");
    const struct ydoc *sel = k8s_get(spec, "podSelector");
    const struct ydoc *types = k8s_get(spec, "policyTypes");
    guard_k8s *k = o->o_k;
    struct k8s_deny *d;
    bool ingress = types == NULL;
    size_t i;
    int error;

    if (!k8s_selector_empty(sel))
        return 0;
    for (i = 0; types != NULL && types->yd_type == YD_SEQ && i < types->yd_n;
         i++) {
        const char *t = guard_ydoc_str(types->yd_items[i]);
        ingress = ingress || (t != NULL && strcmp(t, "Ingress") == 0);
    }
    if (!ingress || !k8s_seq_empty(k8s_get(spec, "ingress")))
        return 0;
    if ((error = k8s_grow(&k->k_deny, k->k_ndeny, &k->k_capdeny,
                          sizeof(*k->k_deny))) < 0)
        return error;
    d = &k->k_deny[k->k_ndeny];
    if ((d->dn_ns = strdup(o->o_ns)) == NULL)
        return k8s_nomem();
    if ((d->dn_path = strdup(o->o_path)) == NULL) {
        free(d->dn_ns);
        return k8s_nomem();
    }
    k->k_ndeny++;
    return 0;
}

/* ---- documents --------------------------------------------------------- */

static int
k8s_object(guard_k8s *k, struct paved_findings *fs, const char *path,
           const struct ydoc *d, bool in_list)
{
    const char *api = guard_ydoc_str(guard_ydoc_get(d, "apiVersion"));
    const char *kind = guard_ydoc_str(guard_ydoc_get(d, "kind"));
    const struct ydoc *meta = guard_ydoc_get(d, "metadata"), *items;
    struct k8s_obj o;
    size_t i, n;
    int error;

    if (d == NULL || d->yd_type != YD_MAP || api == NULL || kind == NULL)
        return 0; /* not Kubernetes: someone else's YAML */
    k->k_count++;
    n = strlen(kind);
    if (!in_list && n >= 4 && strcmp(kind + n - 4, "List") == 0) {
        items = guard_ydoc_get(d, "items");
        for (i = 0;
             items != NULL && items->yd_type == YD_SEQ && i < items->yd_n; i++)
            if ((error = k8s_object(k, fs, path, items->yd_items[i], true)) < 0)
                return error;
        return 0;
    }
    memset(&o, 0, sizeof(o));
    o.o_k = k;
    o.o_fs = fs;
    o.o_path = path;
    o.o_doc = d;
    o.o_api = api;
    o.o_kind = kind;
    o.o_name = guard_ydoc_str(guard_ydoc_get(meta, "name"));
    o.o_ns = guard_ydoc_str(guard_ydoc_get(meta, "namespace"));
    o.o_name = o.o_name != NULL ? o.o_name : "";
    o.o_ns = o.o_ns != NULL ? o.o_ns : "";
    o.o_line = k8s_key_line(d, "kind", d->yd_line);
    for (i = 0; i < sizeof(k8s_workloads) / sizeof(*k8s_workloads); i++)
        if (strcmp(kind, k8s_workloads[i].kk_kind) == 0 &&
            k8s_group_ok(api, k8s_workloads[i].kk_groups))
            return k8s_workload(&o, &k8s_workloads[i]);
    if (strcmp(kind, "Service") == 0 && k8s_group_ok(api, ""))
        return k8s_service(&o);
    if (strcmp(kind, "NetworkPolicy") == 0 &&
        k8s_group_ok(api, "networking.k8s.io extensions"))
        return k8s_netpol(&o);
    if (strcmp(kind, "PodDisruptionBudget") == 0 && k8s_group_ok(api, "policy"))
        return k8s_pdb(&o);
    if (strcmp(kind, "HorizontalPodAutoscaler") == 0 &&
        k8s_group_ok(api, "autoscaling"))
        return k8s_hpa(&o);
    return 0; /* a kind without rules */
}

static void
k8s_shift_lines(struct ydoc *d, unsigned by)
{
    size_t i;

    d->yd_line += by;
    for (i = 0; i < d->yd_n; i++)
        k8s_shift_lines(d->yd_items[i], by);
}

/* The byte offset of the first line after `after` (1-based, counting
 * from line base+1 at data[0]) that starts a document ("---" alone or
 * before a space); len when there is none. *line: its number. */
static size_t
k8s_next_document(const char *data, size_t len, unsigned base, unsigned after,
                  unsigned *line)
{
    size_t i = 0;
    unsigned l = base + 1;

    while (i < len) {
        if (l > after && len - i >= 3 && memcmp(data + i, "---", 3) == 0 &&
            (len - i == 3 || data[i + 3] == ' ' || data[i + 3] == '\t' ||
             data[i + 3] == '\r' || data[i + 3] == '\n')) {
            *line = l;
            return i;
        }
        while (i < len && data[i] != '\n')
            i++;
        i++;
        l++;
    }
    return len;
}

int
guard_k8s_add(guard_k8s *k, struct paved_findings *fs, const char *path,
              const char *data, size_t len)
{
    struct ydoc **docs = NULL;
    size_t ndocs = 0, off = 0, i, next;
    unsigned base = 0, err_line, line = 0, last = 0, rounds;
    int error, loaded;

    /* each round reads the rest of the file again: a bounded number of
     * them keeps a file of many broken documents linear */
    for (rounds = 0; rounds < K8S_MAX_ROUNDS; rounds++) {
        loaded =
            guard_ydoc_load(&docs, &ndocs, &err_line, data + off, len - off);
        if (loaded == PAVED_ENOMEM) {
            error = loaded;
            goto out;
        }
        for (i = 0; i < ndocs; i++) {
            k8s_shift_lines(docs[i], base);
            if ((error = k8s_object(k, fs, path, docs[i], false)) < 0)
                goto out;
        }
        guard_ydoc_free_all(docs, ndocs);
        docs = NULL;
        ndocs = 0;
        if (loaded == 0)
            break;
        if (loaded == PAVED_ETOOBIG && err_line == 0) {
            error = guard_report(fs, "k8s.too-large", path, 0, 0,
                                 "not checked: %s (or exclude it in the "
                                 "policy if it is not yours)",
                                 paved_error_last());
            goto out;
        }
        /* a round that resumed at the "---" line of the last error may
         * meet that error again: once is enough */
        if (base + err_line != last &&
            (error = guard_report(
                 fs,
                 loaded == PAVED_ETOOBIG ? "k8s.too-large" : "k8s.yaml-syntax",
                 path, base + err_line, 0, "%s%s%s",
                 loaded == PAVED_ETOOBIG ? "not checked: " : "",
                 paved_error_last(),
                 memmem(data, len, "{{", 2) != NULL
                     ? " (a Helm or Go template is checked once rendered: "
                       "helm template)"
                     : "")) < 0)
            goto out;
        last = base + err_line;
        /* libyaml cannot resume; the next document can be read alone. It
         * starts at the error's line at the earliest (libyaml may notice
         * a broken document at the next "---") and always after this
         * chunk's first line, so each round moves on. */
        next = k8s_next_document(data + off, len - off, base,
                                 err_line > 2 ? base + err_line - 1 : base + 1,
                                 &line);
        if (off + next >= len)
            break;
        off += next;
        base = line - 1;
    }
    error = 0;
out:
    guard_ydoc_free_all(docs, ndocs);
    return error;
}

/* ---- the whole set ----------------------------------------------------- */

int
guard_k8s_new(guard_k8s **out, const struct guard_k8s_opts *o)
{
    guard_k8s *k;

    if ((k = calloc(1, sizeof(*k))) == NULL)
        return k8s_nomem();
    if (o != NULL)
        k->k_opts = *o;
    if (k->k_opts.ko_startup_default == 0)
        k->k_opts.ko_startup_default = K8S_STARTUP_DEFAULT;
    *out = k;
    return 0;
}

/* Lines of a manifest's first document with content, as text: cheap, and
 * right for a file that is not YAML at all. */
bool
guard_k8s_looks_like(const char *data, size_t len)
{
    bool api = false, kind = false, content = false, json = false;
    size_t i = 0, n, s;

    if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
        i = 3;
    while (i < len && !(api && kind)) {
        const char *l = data + i;
        const char *nl = memchr(l, '\n', len - i);
        n = nl != NULL ? (size_t)(nl - l) : len - i;
        i += n + 1;
        if (n > 0 && l[n - 1] == '\r')
            n--;
        for (s = 0; s < n && (l[s] == ' ' || l[s] == '\t'); s++)
            ;
        if (s == n || l[s] == '#' || l[0] == '%')
            continue;
        if (n >= 3 && (memcmp(l, "---", 3) == 0 || memcmp(l, "...", 3) == 0) &&
            (n == 3 || l[3] == ' ' || l[3] == '\t')) {
            if (content)
                break;
            continue;
        }
        if (!content)
            json = l[s] == '{';
        content = true;
        if (json) {
            api = api || memmem(l, n, "\"apiVersion\"", 12) != NULL;
            kind = kind || memmem(l, n, "\"kind\"", 6) != NULL;
            continue;
        }
        api = api || (n >= 11 && memcmp(l, "apiVersion:", 11) == 0) ||
              (n >= 13 && memcmp(l, "\"apiVersion\":", 13) == 0);
        kind = kind || (n >= 5 && memcmp(l, "kind:", 5) == 0) ||
               (n >= 7 && memcmp(l, "\"kind\":", 7) == 0);
    }
    return api && kind;
}

static struct k8s_workload *
k8s_find_workload(guard_k8s *k, const char *kind, const char *name,
                  const char *ns, const char *path)
{
    size_t i;

    for (i = 0; i < k->k_nwl; i++)
        if (strcmp(k->k_wl[i].w_kind, kind) == 0 &&
            strcmp(k->k_wl[i].w_name, name) == 0 &&
            k8s_ns_compat(k->k_wl[i].w_ns, k->k_wl[i].w_path, ns, path))
            return &k->k_wl[i];
    return NULL;
}

static int
k8s_finish_hpas(guard_k8s *k, struct paved_findings *fs)
{
    struct k8s_workload *w;
    size_t i;
    int error;

    for (i = 0; i < k->k_nhpa; i++) {
        const struct k8s_hpa *h = &k->k_hpa[i];
        if ((w = k8s_find_workload(k, h->hp_kind, h->hp_target, h->hp_ns,
                                   h->hp_path)) != NULL) {
            /* the autoscaler keeps at least minReplicas running */
            if (w->w_replicas > 0 && h->hp_min > w->w_replicas)
                w->w_replicas = h->hp_min;
            continue;
        }
        if ((error =
                 guard_report(fs, "k8s.hpa-target", h->hp_path, h->hp_line, 0,
                              "HorizontalPodAutoscaler \"%.100s\" scales "
                              "%.60s \"%.100s\", which is not in the "
                              "manifests: fix scaleTargetRef (kind and "
                              "name) or add the workload",
                              h->hp_name, h->hp_kind, h->hp_target)) < 0)
            return error;
    }
    return 0;
}

static int
k8s_finish_pdbs(guard_k8s *k, struct paved_findings *fs)
{
    char labels[K8S_LABELS_TEXT];
    size_t i, j;
    int error;

    for (i = 0; i < k->k_nwl; i++) {
        const struct k8s_workload *w = &k->k_wl[i];
        if (w->w_replicas <= 1)
            continue;
        for (j = 0; j < k->k_npdb; j++)
            if (k8s_ns_compat(k->k_pdb[j].pd_ns, k->k_pdb[j].pd_path, w->w_ns,
                              w->w_path) &&
                k8s_pdb_selects(&k->k_pdb[j], &w->w_labels))
                break;
        if (j < k->k_npdb)
            continue;
        if ((error = guard_report(
                 fs, "k8s.pdb", w->w_path, w->w_replicas_line, 0,
                 "%s \"%.100s\" runs %lld replicas but no "
                 "PodDisruptionBudget selects its pods (%s), so a node drain "
                 "may stop them all at once: add a PodDisruptionBudget with "
                 "that selector and maxUnavailable: 1",
                 w->w_kind, w->w_name, w->w_replicas,
                 k8s_labels_text(labels, sizeof(labels), &w->w_labels))) < 0)
            return error;
    }
    return 0;
}

static int
k8s_finish_services(guard_k8s *k, struct paved_findings *fs)
{
    char labels[K8S_LABELS_TEXT];
    size_t i, j;
    int error;

    for (i = 0; i < k->k_nsvc; i++) {
        const struct k8s_service *s = &k->k_svc[i];
        for (j = 0; j < k->k_nwl; j++)
            if (k8s_ns_compat(k->k_wl[j].w_ns, k->k_wl[j].w_path, s->sv_ns,
                              s->sv_path) &&
                k8s_labels_subset(&s->sv_selector, &k->k_wl[j].w_labels))
                break;
        if (j < k->k_nwl)
            continue;
        if ((error = guard_report(
                 fs, "k8s.service-selector", s->sv_path, s->sv_line, 0,
                 "Service \"%.100s\" selects %s but no workload in the "
                 "manifests has pods with those labels, so it has no "
                 "endpoints: fix the selector or the pod template's labels",
                 s->sv_name,
                 k8s_labels_text(labels, sizeof(labels), &s->sv_selector))) < 0)
            return error;
    }
    return 0;
}

static int
k8s_finish_netpol(guard_k8s *k, struct paved_findings *fs)
{
    size_t i, j;
    int error;

    for (i = 0; i < k->k_nwl; i++) {
        const struct k8s_workload *w = &k->k_wl[i];
        /* one finding per namespace (per directory for workloads that
         * name none), at its first workload */
        for (j = 0; j < i; j++)
            if ((w->w_ns[0] != '\0') == (k->k_wl[j].w_ns[0] != '\0') &&
                k8s_ns_compat(k->k_wl[j].w_ns, k->k_wl[j].w_path, w->w_ns,
                              w->w_path))
                break;
        if (j < i)
            continue;
        for (j = 0; j < k->k_ndeny; j++)
            if (k8s_ns_compat(k->k_deny[j].dn_ns, k->k_deny[j].dn_path, w->w_ns,
                              w->w_path))
                break;
        if (j < k->k_ndeny)
            continue;
        if ((error = guard_report(
                 fs, "k8s.network-policy", w->w_path, w->w_line, 0,
                 "no default-deny NetworkPolicy for the namespace of %s "
                 "\"%.100s\"%s%.100s%s, so every pod accepts traffic from "
                 "anywhere: add a NetworkPolicy with podSelector: {} and "
                 "policyTypes: [Ingress] and no ingress rules, then allow "
                 "what each workload needs",
                 w->w_kind, w->w_name, w->w_ns[0] ? " (" : "", w->w_ns,
                 w->w_ns[0] ? ")" : "")) < 0)
            return error;
    }
    return 0;
}

int
guard_k8s_finish(guard_k8s *k, struct paved_findings *fs)
{
    int error;

    if ((error = k8s_finish_hpas(k, fs)) < 0 ||
        (error = k8s_finish_pdbs(k, fs)) < 0 ||
        (error = k8s_finish_services(k, fs)) < 0 ||
        (error = k8s_finish_netpol(k, fs)) < 0)
        return error;
    return 0;
}

bool
guard_k8s_has_probes(const guard_k8s *k)
{
    return k->k_probes;
}

bool
guard_k8s_batch_only(const guard_k8s *k)
{
    return k->k_nwl > 0 && !k->k_long_running;
}

size_t
guard_k8s_count(const guard_k8s *k)
{
    return k->k_count;
}

void
guard_k8s_free(guard_k8s *k)
{
    size_t i;

    if (k == NULL)
        return;
    for (i = 0; i < k->k_nwl; i++) {
        free(k->k_wl[i].w_path);
        free(k->k_wl[i].w_kind);
        free(k->k_wl[i].w_name);
        free(k->k_wl[i].w_ns);
        k8s_labels_dispose(&k->k_wl[i].w_labels);
    }
    for (i = 0; i < k->k_npdb; i++)
        k8s_pdb_dispose(&k->k_pdb[i]);
    for (i = 0; i < k->k_nsvc; i++) {
        free(k->k_svc[i].sv_path);
        free(k->k_svc[i].sv_name);
        free(k->k_svc[i].sv_ns);
        k8s_labels_dispose(&k->k_svc[i].sv_selector);
    }
    for (i = 0; i < k->k_nhpa; i++) {
        free(k->k_hpa[i].hp_path);
        free(k->k_hpa[i].hp_name);
        free(k->k_hpa[i].hp_ns);
        free(k->k_hpa[i].hp_kind);
        free(k->k_hpa[i].hp_target);
    }
    for (i = 0; i < k->k_ndeny; i++) {
        free(k->k_deny[i].dn_ns);
        free(k->k_deny[i].dn_path);
    }
    free(k->k_wl);
    free(k->k_pdb);
    free(k->k_svc);
    free(k->k_hpa);
    free(k->k_deny);
    free(k);
}
