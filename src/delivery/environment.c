/* Environment definitions: walks the YAML tree of one file of
 * config/environments/, checks every key and value, applies the defaults
 * and builds struct paved_environment. A problem is a diagnostic with
 * file:line:column and a hint, and the walk goes on, so that one lint run
 * shows them all. Reuses the pipeline loader's YAML tree, diagnostics and
 * key checks (src/pipeline/pipeline_int.h) rather than a third walker.
 * Never deploys, runs, resolves or fetches anything. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delivery/delivery_int.h"
#include "paved/config.h"
#include "paved/error.h"
#include "paved/text.h"
#include "pipeline/pipeline_int.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define ENV_DEFAULT_INTERVAL 60
#define ENV_MAX_INTERVAL 86400
#define ENV_DEFAULT_EXEC_TIMEOUT 300
#define ENV_MAX_EXEC_TIMEOUT 3600
#define ENV_DEFAULT_QUERY_TIMEOUT 10
#define ENV_MAX_QUERY_TIMEOUT 300
#define ENV_DEFAULT_SMOKE_TIMEOUT 5
#define ENV_MAX_SMOKE_TIMEOUT 300
#define ENV_DEFAULT_SMOKE_RETRIES 2
#define ENV_MAX_SMOKE_RETRIES 10
#define ENV_DEFAULT_FAILURES 1
#define ENV_MAX_FAILURES 100
#define ENV_MAX_SAMPLES 1000000000u
#define ENV_DEFAULT_TOLERANCE 10.0
#define ENV_MAX_TOLERANCE 1000.0
#define ENV_MAX_NAME 63

static const char *const top_keys[] = {
    "name",     "driver", "local",    "kubernetes", "exec",
    "approval", "canary", "analysis", "smoke",      "from",
};
static const char *const local_keys[] = {"listen", "upstream_port"};
static const char *const k8s_keys[] = {"context", "namespace", "strategy",
                                       "kubectl"};
static const char *const exec_keys[] = {"deploy", "shift", "promote",
                                        "rollback", "timeout"};
static const char *const canary_keys[] = {"weights", "interval"};
static const char *const analysis_keys[] = {
    "prometheus",  "queries",      "failures_to_abort",
    "min_samples", "sample_query", "timeout",
};
static const char *const query_keys[] = {"name", "query",   "max",
                                         "min",  "compare", "tolerance"};
static const char *const smoke_keys[] = {"name",          "url",     "status",
                                         "body_contains", "timeout", "retries"};

static const char *const drivers[] = {"local", "kubernetes", "exec"};
static const char *const strategies[] = {"replicas", "ingress-canary"};
static const char *const approvals[] = {"required", "none"};

/* What {{placeholders}} each kind of text may hold; the delivery steps
 * fill them in, each inside its own argument or query. */
static const char *const ph_exec[] = {
    "service", "environment",    "version",         "artifact", "digest",
    "sha",     "stable_version", "stable_artifact", "weight" /* last */};
static const char *const ph_query[] = {"service", "environment", "version",
                                       "interval"};
static const char *const ph_url[] = {"service", "environment", "version"};

static const char *const shells[] = {"sh",  "bash", "dash",   "zsh",
                                     "ksh", "ash",  "busybox"};

/* ---- small helpers ---------------------------------------------------- */

static const char *
env_kind(const struct ynode *n)
{
    switch (n->yn_type) {
    case YN_MAP:
        return "a mapping";
    case YN_SEQ:
        return "a list";
    default:
        return "a value";
    }
}

static char *
env_strdup(struct pl_ctx *cx, const char *s)
{
    char *d;

    if ((d = strdup(s)) == NULL)
        cx->c_fatal = PAVED_ENOMEM;
    return d;
}

/* [a-z][a-z0-9-]*, at most ENV_MAX_NAME bytes, not ending with '-'. */
static bool
env_name_ok(const char *s)
{
    size_t i;

    if (!islower((unsigned char)s[0]))
        return false;
    for (i = 1; s[i] != '\0'; i++)
        if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) &&
            s[i] != '-')
            return false;
    return i <= ENV_MAX_NAME && s[i - 1] != '-';
}

/* Duplicate keys via the pipeline helper, then unknown keys with a hint
 * that points at this module's reference. */
static void
env_check_keys(struct pl_ctx *cx, const struct ynode *map,
               const char *const *known, size_t nknown, const char *where)
{
    const struct ynode *k;
    const char *guess;
    char shown[64];
    size_t i, j;

    if (pl_check_keys(cx, map, NULL, 0, where) > 0 &&
        map->yn_n / 2 > PL_MAX_LIST)
        return;
    for (i = 0; i + 1 < map->yn_n; i += 2) {
        k = map->yn_items[i];
        if (k->yn_type != YN_SCALAR ||
            pl_map_get(map, k->yn_value) != map->yn_items[i + 1])
            continue; /* reported: not a name, or a duplicate */
        for (j = 0; j < nknown; j++)
            if (strcmp(known[j], k->yn_value) == 0)
                break;
        if (j < nknown)
            continue;
        paved_text_show(shown, sizeof(shown), k->yn_value);
        if ((guess = paved_text_suggest(k->yn_value, known, nknown)) != NULL)
            pl_diag_at(cx, k, "unknown key %s in %s (did you mean \"%s\"?)",
                       shown, where, guess);
        else
            pl_diag_at(cx, k,
                       "unknown key %s in %s (see docs/delivery.md for "
                       "the keys)",
                       shown, where);
    }
}

static bool
want_map(struct pl_ctx *cx, const struct ynode *n, const char *what)
{
    if (n->yn_type == YN_BAD)
        return false;
    if (n->yn_type != YN_MAP) {
        pl_diag_at(cx, n, "%s: expected a mapping of \"key: value\", got %s",
                   what, env_kind(n));
        return false;
    }
    return true;
}

/* A list of 1..max items. */
static bool
want_seq(struct pl_ctx *cx, const struct ynode *n, const char *what, size_t max)
{
    if (n->yn_type == YN_BAD)
        return false;
    if (n->yn_type != YN_SEQ) {
        pl_diag_at(cx, n, "%s: expected a list, got %s", what, env_kind(n));
        return false;
    }
    if (n->yn_n == 0) {
        pl_diag_at(cx, n, "%s: empty list (remove the key, or add an item)",
                   what);
        return false;
    }
    if (n->yn_n > max) {
        pl_diag_at(cx, n, "%s: %zu items; at most %zu are allowed", what,
                   n->yn_n, max);
        return false;
    }
    return true;
}

/* A non-null scalar of at most PAVED_ENV_MAX_TEXT bytes. */
static bool
want_string(struct pl_ctx *cx, const struct ynode *n, const char *what)
{
    if (n->yn_type == YN_BAD)
        return false;
    if (n->yn_type != YN_SCALAR) {
        pl_diag_at(cx, n, "%s: expected a string, got %s", what, env_kind(n));
        return false;
    }
    if (n->yn_null || n->yn_len == 0) {
        pl_diag_at(cx, n, "%s: needs a value", what);
        return false;
    }
    if (n->yn_len > PAVED_ENV_MAX_TEXT) {
        pl_diag_at(cx, n, "%s: longer than %d bytes", what, PAVED_ENV_MAX_TEXT);
        return false;
    }
    return true;
}

/* A required key: its node, or a diagnostic at the mapping. */
static const struct ynode *
need_key(struct pl_ctx *cx, const struct ynode *map, const char *key,
         const char *where, const char *hint)
{
    const struct ynode *v;

    if ((v = pl_map_get(map, key)) == NULL)
        pl_diag_at(cx, map, "%s: missing key \"%s\" (%s)", where, key, hint);
    return v;
}

/* One of names, with a did-you-mean; -1 when not. */
static int
want_enum(struct pl_ctx *cx, const struct ynode *n, const char *what,
          const char *const *names, size_t nnames)
{
    const char *guess;
    char shown[64];
    size_t i;

    if (!want_string(cx, n, what))
        return -1;
    for (i = 0; i < nnames; i++)
        if (strcmp(names[i], n->yn_value) == 0)
            return (int)i;
    paved_text_show(shown, sizeof(shown), n->yn_value);
    guess = paved_text_suggest(n->yn_value, names, nnames);
    if (guess != NULL)
        pl_diag_at(cx, n, "%s: unknown value %s (did you mean \"%s\"?)", what,
                   shown, guess);
    else if (nnames == 2)
        pl_diag_at(cx, n, "%s: unknown value %s (use %s or %s)", what, shown,
                   names[0], names[1]);
    else
        pl_diag_at(cx, n, "%s: unknown value %s (use %s, %s or %s)", what,
                   shown, names[0], names[1], names[2]);
    return -1;
}

/* A whole number in [min, max]. */
static bool
want_uint(struct pl_ctx *cx, const struct ynode *n, const char *what,
          unsigned long min, unsigned long max, unsigned *out)
{
    unsigned long v;
    char shown[64], *end;

    if (!want_string(cx, n, what))
        return false;
    if (!isdigit((unsigned char)n->yn_value[0]) ||
        strspn(n->yn_value, "0123456789") != n->yn_len) {
        pl_diag_at(cx, n, "%s: %s is not a whole number", what,
                   paved_text_show(shown, sizeof(shown), n->yn_value));
        return false;
    }
    errno = 0;
    v = strtoul(n->yn_value, &end, 10);
    if (errno != 0 || v < min || v > max) {
        pl_diag_at(cx, n, "%s: %s is out of range (%lu to %lu)", what,
                   paved_text_show(shown, sizeof(shown), n->yn_value), min,
                   max);
        return false;
    }
    *out = (unsigned)v;
    return true;
}

/* A duration (10s, 5m, 1h30m) in [min, max] seconds. */
static bool
want_duration(struct pl_ctx *cx, const struct ynode *n, const char *what,
              unsigned min, unsigned max, unsigned *out)
{
    unsigned secs;

    if (!want_string(cx, n, what))
        return false;
    if (paved_parse_duration(&secs, n->yn_value) < 0) {
        pl_diag_at(cx, n, "%s: %s", what, paved_error_last());
        return false;
    }
    if (secs < min || secs > max) {
        pl_diag_at(cx, n, "%s: %us is out of range (%us to %us)", what, secs,
                   min, max);
        return false;
    }
    *out = secs;
    return true;
}

/* A finite decimal number: 0.05, 1e3, -2. */
static bool
want_number(struct pl_ctx *cx, const struct ynode *n, const char *what,
            double *out)
{
    char shown[64], *end;
    double v;

    if (!want_string(cx, n, what))
        return false;
    errno = 0;
    v = strtod(n->yn_value, &end);
    if (end == n->yn_value || *end != '\0' || errno != 0 || !isfinite(v) ||
        isspace((unsigned char)n->yn_value[0])) {
        pl_diag_at(cx, n, "%s: %s is not a number (write 0.05, 500 or 1e3)",
                   what, paved_text_show(shown, sizeof(shown), n->yn_value));
        return false;
    }
    *out = v;
    return true;
}

/* Every {{name}} of text is one of allowed. */
static bool
check_placeholders(struct pl_ctx *cx, const struct ynode *n, const char *what,
                   const char *const *allowed, size_t nallowed)
{
    const char *p = n->yn_value, *open, *close, *guess;
    char name[64], shown[80];
    size_t len, i;

    while ((open = strstr(p, "{{")) != NULL) {
        if ((close = strstr(open + 2, "}}")) == NULL) {
            pl_diag_at(cx, n, "%s: \"{{\" is not closed (write {{%s}})", what,
                       allowed[0]);
            return false;
        }
        len = (size_t)(close - open - 2);
        if (len >= sizeof(name))
            len = sizeof(name) - 1;
        memcpy(name, open + 2, len);
        name[len] = '\0';
        for (i = 0; i < nallowed; i++)
            if (strcmp(allowed[i], name) == 0)
                break;
        if (i == nallowed) {
            /* a name that is plain letters is shown as written; anything
             * else quoted and cut, so a hostile value cannot forge text */
            if (name[0] != '\0' &&
                strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") ==
                    strlen(name))
                snprintf(shown, sizeof(shown), "{{%s}}", name);
            else
                paved_text_show(shown, sizeof(shown), name);
            if ((guess = paved_text_suggest(name, allowed, nallowed)) != NULL)
                pl_diag_at(cx, n,
                           "%s: unknown placeholder %s (did you mean "
                           "{{%s}}?)",
                           what, shown, guess);
            else
                pl_diag_at(cx, n,
                           "%s: unknown placeholder %s (see docs/delivery.md "
                           "for the placeholders)",
                           what, shown);
            return false;
        }
        p = close + 2;
    }
    return true;
}

/* http:// or https://, a host, no spaces or control bytes. */
static bool
check_url(struct pl_ctx *cx, const struct ynode *n, const char *what)
{
    const char *v = n->yn_value, *host;
    char shown[64];
    size_t i;

    if (strncmp(v, "http://", 7) == 0)
        host = v + 7;
    else if (strncmp(v, "https://", 8) == 0)
        host = v + 8;
    else {
        pl_diag_at(cx, n,
                   "%s: %s must start with http:// or https:// (the only "
                   "schemes paved speaks)",
                   what, paved_text_show(shown, sizeof(shown), v));
        return false;
    }
    if (host[0] == '\0' || host[0] == '/' || host[0] == ':') {
        pl_diag_at(cx, n, "%s: %s has no host", what,
                   paved_text_show(shown, sizeof(shown), v));
        return false;
    }
    for (i = 0; v[i] != '\0'; i++) {
        if ((unsigned char)v[i] <= ' ' || v[i] == 0x7f) {
            pl_diag_at(cx, n,
                       "%s: %s contains a space or control character "
                       "(percent-encode it)",
                       what, paved_text_show(shown, sizeof(shown), v));
            return false;
        }
    }
    return true;
}

/* A string key copied into *dst; false when absent or bad. */
static bool
get_string(struct pl_ctx *cx, const struct ynode *map, const char *key,
           const char *what, char **dst)
{
    const struct ynode *v;

    if ((v = pl_map_get(map, key)) == NULL || !want_string(cx, v, what))
        return false;
    free(*dst);
    return (*dst = env_strdup(cx, v->yn_value)) != NULL;
}

static void
argv_clear(struct paved_env_argv *av)
{
    size_t i;

    for (i = 0; i < av->av_argc; i++)
        free(av->av_argv[i]);
    free(av->av_argv);
    av->av_argv = NULL;
    av->av_argc = 0;
}

/* ---- driver settings -------------------------------------------------- */

static void
parse_local(struct pl_ctx *cx, paved_environment *env, const struct ynode *map)
{
    const struct ynode *v;
    unsigned long port;
    const char *colon;
    char *end, shown[64];

    if (!want_map(cx, map, "local"))
        return;
    env_check_keys(cx, map, local_keys, NELEM(local_keys), "local");
    v = need_key(cx, map, "listen", "local",
                 "the address nginx listens on, such as 127.0.0.1:8081");
    if (v != NULL && want_string(cx, v, "local.listen")) {
        colon = strrchr(v->yn_value, ':');
        port = 0;
        if (colon != NULL && colon != v->yn_value &&
            isdigit((unsigned char)colon[1])) {
            errno = 0;
            port = strtoul(colon + 1, &end, 10);
            if (errno != 0 || *end != '\0')
                port = 0;
        }
        if (port == 0 || port > 65535 || strpbrk(v->yn_value, " \t/") ||
            (v->yn_value[0] == '[' && colon[-1] != ']')) {
            pl_diag_at(cx, v,
                       "local.listen: %s is not HOST:PORT (such as "
                       "127.0.0.1:8081 or [::1]:8081)",
                       paved_text_show(shown, sizeof(shown), v->yn_value));
        } else {
            env->en_local.lo_listen = env_strdup(cx, v->yn_value);
            env->en_listen_line = v->yn_line;
            env->en_listen_col = v->yn_col;
        }
    }
    v = need_key(cx, map, "upstream_port", "local",
                 "the first loopback port for the versions, such as 9100");
    if (v != NULL)
        want_uint(cx, v, "local.upstream_port", 1024,
                  65536 - PAVED_ENV_LOCAL_PORTS,
                  &env->en_local.lo_upstream_port);
    if (env->en_local.lo_listen != NULL && env->en_local.lo_upstream_port) {
        colon = strrchr(env->en_local.lo_listen, ':');
        port = strtoul(colon + 1, NULL, 10);
        if (port >= env->en_local.lo_upstream_port &&
            port < env->en_local.lo_upstream_port + PAVED_ENV_LOCAL_PORTS)
            pl_diag_at(cx, v,
                       "local.upstream_port: ports %u to %u include the "
                       "listen port %lu (move one of them)",
                       env->en_local.lo_upstream_port,
                       env->en_local.lo_upstream_port + PAVED_ENV_LOCAL_PORTS -
                           1,
                       port);
    }
}

static void
parse_k8s(struct pl_ctx *cx, paved_environment *env, const struct ynode *map)
{
    struct paved_env_kubernetes *k = &env->en_k8s;
    const struct ynode *v;
    char shown[64];
    int i;

    if (!want_map(cx, map, "kubernetes"))
        return;
    env_check_keys(cx, map, k8s_keys, NELEM(k8s_keys), "kubernetes");
    if (need_key(cx, map, "context", "kubernetes",
                 "the kubectl context to deploy with") != NULL)
        get_string(cx, map, "context", "kubernetes.context", &k->k8_context);
    if ((v = pl_map_get(map, "namespace")) != NULL &&
        want_string(cx, v, "kubernetes.namespace")) {
        if (!env_name_ok(v->yn_value) &&
            !isdigit((unsigned char)v->yn_value[0]))
            pl_diag_at(cx, v,
                       "kubernetes.namespace: %s is not a namespace name "
                       "(a-z, 0-9 and -, at most 63)",
                       paved_text_show(shown, sizeof(shown), v->yn_value));
        else
            get_string(cx, map, "namespace", "kubernetes.namespace",
                       &k->k8_namespace);
    }
    if ((v = pl_map_get(map, "strategy")) != NULL &&
        (i = want_enum(cx, v, "kubernetes.strategy", strategies,
                       NELEM(strategies))) >= 0)
        k->k8_strategy = (enum paved_env_k8s_strategy)i;
    get_string(cx, map, "kubectl", "kubernetes.kubectl", &k->k8_kubectl);
}

static bool
is_shell(const char *argv0)
{
    const char *base = strrchr(argv0, '/');
    size_t i;

    base = base != NULL ? base + 1 : argv0;
    for (i = 0; i < NELEM(shells); i++)
        if (strcmp(base, shells[i]) == 0)
            return true;
    return false;
}

static void
parse_argv(struct pl_ctx *cx, struct paved_env_argv *av, const struct ynode *n,
           const char *what, bool weight)
{
    const struct ynode *it;
    size_t i, nph = NELEM(ph_exec) - (weight ? 0 : 1);
    bool script = false, scripted = false;

    if (n->yn_type == YN_SCALAR && !n->yn_null) {
        pl_diag_at(cx, n,
                   "%s: expected a list of arguments such as "
                   "[\"./deploy.sh\", \"{{version}}\"] (a command is never "
                   "a shell string)",
                   what);
        return;
    }
    if (!want_seq(cx, n, what, PAVED_ENV_MAX_ARGS))
        return;
    for (i = 0; i < n->yn_n; i++) {
        it = n->yn_items[i];
        if (it->yn_type == YN_BAD)
            return;
        if (it->yn_type != YN_SCALAR) {
            pl_diag_at(cx, it, "%s: arguments are strings, not %s", what,
                       env_kind(it));
            return;
        }
        if (i == 0 && !want_string(cx, it, what))
            return;
        if (it->yn_len > PAVED_ENV_MAX_TEXT) {
            pl_diag_at(cx, it, "%s: longer than %d bytes", what,
                       PAVED_ENV_MAX_TEXT);
            return;
        }
        if (!check_placeholders(cx, it, what, ph_exec, nph)) {
            if (!weight && strstr(it->yn_value, "{{weight}}") != NULL)
                pl_diag_at(cx, it, "%s: {{weight}} is known only to exec.shift",
                           what);
            return;
        }
        /* the argument after -c is shell text: a value put in there
         * would be parsed by the shell */
        if (script && strstr(it->yn_value, "{{") != NULL) {
            pl_diag_at(cx, it,
                       "%s: a {{placeholder}} inside a shell script is "
                       "refused (read $PAVED_VERSION and friends from the "
                       "environment instead)",
                       what);
            return;
        }
        /* "-c" or a cluster such as "-ec" names the next argument as the
         * script; after it come the script's own arguments ($0, $1...),
         * where a placeholder is a value like any other */
        scripted = scripted || script;
        script = !scripted && i > 0 && is_shell(n->yn_items[0]->yn_value) &&
                 it->yn_value[0] == '-' && it->yn_value[1] != '-' &&
                 strchr(it->yn_value + 1, 'c') != NULL;
    }
    if ((av->av_argv = calloc(n->yn_n + 1, sizeof(char *))) == NULL) {
        cx->c_fatal = PAVED_ENOMEM;
        return;
    }
    for (i = 0; i < n->yn_n; i++) {
        it = n->yn_items[i];
        if ((av->av_argv[i] =
                 env_strdup(cx, it->yn_null ? "" : it->yn_value)) == NULL)
            return; /* av_argc counts what is there to free */
        av->av_argc++;
    }
}

static void
parse_exec(struct pl_ctx *cx, paved_environment *env, const struct ynode *map)
{
    struct paved_env_exec *ex = &env->en_exec;
    const struct ynode *v;

    if (!want_map(cx, map, "exec"))
        return;
    env_check_keys(cx, map, exec_keys, NELEM(exec_keys), "exec");
    if ((v = need_key(cx, map, "deploy", "exec",
                      "the command that starts a version")) != NULL)
        parse_argv(cx, &ex->ex_deploy, v, "exec.deploy", false);
    if ((v = pl_map_get(map, "shift")) != NULL)
        parse_argv(cx, &ex->ex_shift, v, "exec.shift", true);
    if ((v = pl_map_get(map, "promote")) != NULL)
        parse_argv(cx, &ex->ex_promote, v, "exec.promote", false);
    if ((v = need_key(cx, map, "rollback", "exec",
                      "the command that returns to the stable version")) !=
        NULL)
        parse_argv(cx, &ex->ex_rollback, v, "exec.rollback", false);
    if ((v = pl_map_get(map, "timeout")) != NULL)
        want_duration(cx, v, "exec.timeout", 1, ENV_MAX_EXEC_TIMEOUT,
                      &ex->ex_timeout);
}

/* ---- canary and analysis ---------------------------------------------- */

static void
parse_canary(struct pl_ctx *cx, paved_environment *env, const struct ynode *map)
{
    struct paved_env_canary *cn = &env->en_canary;
    const struct ynode *v, *it;
    unsigned w, prev = 0;
    char what[48];
    size_t i;
    bool ok = true;

    if (!want_map(cx, map, "canary"))
        return;
    env_check_keys(cx, map, canary_keys, NELEM(canary_keys), "canary");
    if ((v = pl_map_get(map, "interval")) != NULL)
        want_duration(cx, v, "canary.interval", 1, ENV_MAX_INTERVAL,
                      &cn->cn_interval);
    if ((v = need_key(cx, map, "weights", "canary",
                      "percentages such as [5, 25, 50, 100]")) == NULL ||
        !want_seq(cx, v, "canary.weights", PAVED_ENV_MAX_WEIGHTS))
        return;
    if ((cn->cn_weights = calloc(v->yn_n, sizeof(unsigned))) == NULL) {
        cx->c_fatal = PAVED_ENOMEM;
        return;
    }
    for (i = 0; i < v->yn_n; i++) {
        it = v->yn_items[i];
        snprintf(what, sizeof(what), "canary.weights[%zu]", i);
        if (!want_uint(cx, it, what, 1, 100, &w)) {
            ok = false;
            continue;
        }
        if (w <= prev) {
            pl_diag_at(cx, it,
                       "%s: %u after %u; weights must increase strictly", what,
                       w, prev);
            ok = false;
        }
        prev = w;
        cn->cn_weights[cn->cn_nweights++] = w;
    }
    if (ok && prev != 100)
        pl_diag_at(cx, v->yn_items[v->yn_n - 1],
                   "canary.weights: the last weight is %u; it must be 100 "
                   "(the canary ends with all traffic)",
                   prev);
    env->en_has_canary = true;
}

static void
parse_tolerance(struct pl_ctx *cx, struct paved_env_query *q,
                const struct ynode *n, const char *what)
{
    struct ynode copy;
    char buf[64];

    /* "10%" or 10: both are percent */
    if (!want_string(cx, n, what))
        return;
    copy = *n;
    if (n->yn_len > 1 && n->yn_len < sizeof(buf) &&
        n->yn_value[n->yn_len - 1] == '%') {
        memcpy(buf, n->yn_value, n->yn_len - 1);
        buf[n->yn_len - 1] = '\0';
        copy.yn_value = buf;
        copy.yn_len = n->yn_len - 1;
    }
    if (!want_number(cx, &copy, what, &q->q_tolerance))
        return;
    if (q->q_tolerance < 0 || q->q_tolerance > ENV_MAX_TOLERANCE)
        pl_diag_at(cx, n, "%s: %g%% is out of range (0%% to %g%%)", what,
                   q->q_tolerance, ENV_MAX_TOLERANCE);
}

static void
parse_query(struct pl_ctx *cx, struct paved_env_query *q,
            const struct ynode *map, size_t idx,
            const struct paved_env_query *prev)
{
    const struct ynode *v, *tol;
    char what[64], w2[80], shown[64];
    size_t j;

    snprintf(what, sizeof(what), "analysis.queries[%zu]", idx);
    if (!want_map(cx, map, what))
        return;
    env_check_keys(cx, map, query_keys, NELEM(query_keys), what);
    q->q_tolerance = ENV_DEFAULT_TOLERANCE;
    snprintf(w2, sizeof(w2), "%s.name", what);
    if ((v = need_key(cx, map, "name", what,
                      "a short name for the check, such as error-rate")) !=
            NULL &&
        want_string(cx, v, w2)) {
        if (!env_name_ok(v->yn_value))
            pl_diag_at(cx, v,
                       "%s: %s is not a name (a-z, 0-9 and -, "
                       "starting with a letter)",
                       w2, paved_text_show(shown, sizeof(shown), v->yn_value));
        for (j = 0; j < idx; j++)
            if (prev[j].q_name != NULL &&
                strcmp(prev[j].q_name, v->yn_value) == 0)
                pl_diag_at(cx, v, "%s: \"%s\" is used twice", w2, v->yn_value);
        q->q_name = env_strdup(cx, v->yn_value);
    }
    snprintf(w2, sizeof(w2), "%s.query", what);
    if ((v = need_key(cx, map, "query", what, "the PromQL to evaluate")) !=
            NULL &&
        want_string(cx, v, w2) &&
        check_placeholders(cx, v, w2, ph_query, NELEM(ph_query)))
        q->q_query = env_strdup(cx, v->yn_value);
    if ((v = pl_map_get(map, "max")) != NULL) {
        snprintf(what, sizeof(what), "analysis.queries[%zu].max", idx);
        q->q_has_max = want_number(cx, v, what, &q->q_max);
    }
    if ((v = pl_map_get(map, "min")) != NULL) {
        snprintf(what, sizeof(what), "analysis.queries[%zu].min", idx);
        q->q_has_min = want_number(cx, v, what, &q->q_min);
    }
    snprintf(what, sizeof(what), "analysis.queries[%zu]", idx);
    if (pl_map_get(map, "max") == NULL && pl_map_get(map, "min") == NULL)
        pl_diag_at(cx, map,
                   "%s: needs a threshold: max, min or both (the values "
                   "that fail the check)",
                   what);
    if (q->q_has_max && q->q_has_min && q->q_min > q->q_max)
        pl_diag_at(cx, pl_map_get(map, "min"),
                   "%s: min %g is above max %g (no value could pass)", what,
                   q->q_min, q->q_max);
    if ((v = pl_map_get(map, "compare")) != NULL) {
        static const char *const cmp[] = {"stable"};
        snprintf(what, sizeof(what), "analysis.queries[%zu].compare", idx);
        if (want_string(cx, v, what) && strcmp(v->yn_value, "stable") != 0)
            pl_diag_at(cx, v,
                       "%s: unknown value %s (the only comparison is "
                       "\"%s\")",
                       what, paved_text_show(shown, sizeof(shown), v->yn_value),
                       cmp[0]);
        else if (v->yn_type == YN_SCALAR)
            q->q_compare_stable = true;
    }
    if ((tol = pl_map_get(map, "tolerance")) != NULL) {
        snprintf(what, sizeof(what), "analysis.queries[%zu].tolerance", idx);
        if (v == NULL)
            pl_diag_at(cx, tol,
                       "%s: only means something with \"compare: "
                       "stable\" (add it, or remove the tolerance)",
                       what);
        else
            parse_tolerance(cx, q, tol, what);
    }
}

static void
parse_analysis(struct pl_ctx *cx, paved_environment *env,
               const struct ynode *key, const struct ynode *map)
{
    struct paved_env_analysis *an = &env->en_analysis;
    const struct ynode *v;
    size_t i;

    if (!want_map(cx, map, "analysis"))
        return;
    env->en_has_analysis = true;
    if (!env->en_has_canary)
        pl_diag_at(cx, key,
                   "analysis gates the steps of a canary, and this "
                   "environment has none (add canary.weights)");
    env_check_keys(cx, map, analysis_keys, NELEM(analysis_keys), "analysis");
    if ((v = need_key(cx, map, "prometheus", "analysis",
                      "the base URL of Prometheus, such as "
                      "http://127.0.0.1:9090")) != NULL &&
        want_string(cx, v, "analysis.prometheus") &&
        check_url(cx, v, "analysis.prometheus"))
        an->an_prometheus = env_strdup(cx, v->yn_value);
    if ((v = pl_map_get(map, "failures_to_abort")) != NULL)
        want_uint(cx, v, "analysis.failures_to_abort", 1, ENV_MAX_FAILURES,
                  &an->an_failures_to_abort);
    if ((v = pl_map_get(map, "min_samples")) != NULL)
        want_uint(cx, v, "analysis.min_samples", 0, ENV_MAX_SAMPLES,
                  &an->an_min_samples);
    if ((v = pl_map_get(map, "timeout")) != NULL)
        want_duration(cx, v, "analysis.timeout", 1, ENV_MAX_QUERY_TIMEOUT,
                      &an->an_timeout);
    if ((v = pl_map_get(map, "sample_query")) != NULL &&
        want_string(cx, v, "analysis.sample_query") &&
        check_placeholders(cx, v, "analysis.sample_query", ph_query,
                           NELEM(ph_query)))
        an->an_sample_query = env_strdup(cx, v->yn_value);
    if (an->an_min_samples > 0 && pl_map_get(map, "sample_query") == NULL)
        pl_diag_at(cx, pl_map_get(map, "min_samples"),
                   "analysis.min_samples: needs a sample_query (the PromQL "
                   "that counts the canary's requests)");
    if ((v = need_key(cx, map, "queries", "analysis",
                      "the checks, each with a query and a threshold")) ==
            NULL ||
        !want_seq(cx, v, "analysis.queries", PAVED_ENV_MAX_QUERIES))
        return;
    if ((an->an_queries = calloc(v->yn_n, sizeof(*an->an_queries))) == NULL) {
        cx->c_fatal = PAVED_ENOMEM;
        return;
    }
    an->an_nqueries = v->yn_n;
    for (i = 0; i < v->yn_n; i++)
        parse_query(cx, &an->an_queries[i], v->yn_items[i], i, an->an_queries);
}

/* ---- smoke ------------------------------------------------------------ */

static void
parse_smoke(struct pl_ctx *cx, paved_environment *env, const struct ynode *seq)
{
    const struct ynode *map, *v;
    struct paved_env_smoke *sm;
    char what[64], w2[80], shown[64];
    size_t i, j;

    if (!want_seq(cx, seq, "smoke", PAVED_ENV_MAX_SMOKE))
        return;
    if ((env->en_smoke = calloc(seq->yn_n, sizeof(*env->en_smoke))) == NULL) {
        cx->c_fatal = PAVED_ENOMEM;
        return;
    }
    env->en_nsmoke = seq->yn_n;
    for (i = 0; i < seq->yn_n; i++) {
        sm = &env->en_smoke[i];
        sm->sm_status = 200;
        sm->sm_timeout = ENV_DEFAULT_SMOKE_TIMEOUT;
        sm->sm_retries = ENV_DEFAULT_SMOKE_RETRIES;
        map = seq->yn_items[i];
        snprintf(what, sizeof(what), "smoke[%zu]", i);
        if (!want_map(cx, map, what))
            continue;
        env_check_keys(cx, map, smoke_keys, NELEM(smoke_keys), what);
        snprintf(w2, sizeof(w2), "%s.name", what);
        if ((v = need_key(cx, map, "name", what,
                          "a short name for the check, such as home")) !=
                NULL &&
            want_string(cx, v, w2)) {
            if (!env_name_ok(v->yn_value))
                pl_diag_at(cx, v,
                           "%s: %s is not a name (a-z, 0-9 and -, "
                           "starting with a letter)",
                           w2,
                           paved_text_show(shown, sizeof(shown), v->yn_value));
            for (j = 0; j < i; j++)
                if (env->en_smoke[j].sm_name != NULL &&
                    strcmp(env->en_smoke[j].sm_name, v->yn_value) == 0)
                    pl_diag_at(cx, v, "%s: \"%s\" is used twice", w2,
                               v->yn_value);
            sm->sm_name = env_strdup(cx, v->yn_value);
        }
        snprintf(w2, sizeof(w2), "%s.url", what);
        if ((v = need_key(cx, map, "url", what,
                          "the address to request, such as "
                          "http://127.0.0.1:8081/healthz")) != NULL &&
            want_string(cx, v, w2) && check_url(cx, v, w2) &&
            check_placeholders(cx, v, w2, ph_url, NELEM(ph_url)))
            sm->sm_url = env_strdup(cx, v->yn_value);
        snprintf(w2, sizeof(w2), "%s.status", what);
        if ((v = pl_map_get(map, "status")) != NULL)
            want_uint(cx, v, w2, 100, 599, &sm->sm_status);
        snprintf(w2, sizeof(w2), "%s.body_contains", what);
        get_string(cx, map, "body_contains", w2, &sm->sm_body_contains);
        snprintf(w2, sizeof(w2), "%s.timeout", what);
        if ((v = pl_map_get(map, "timeout")) != NULL)
            want_duration(cx, v, w2, 1, ENV_MAX_SMOKE_TIMEOUT, &sm->sm_timeout);
        snprintf(w2, sizeof(w2), "%s.retries", what);
        if ((v = pl_map_get(map, "retries")) != NULL)
            want_uint(cx, v, w2, 0, ENV_MAX_SMOKE_RETRIES, &sm->sm_retries);
    }
}

/* ---- the whole file --------------------------------------------------- */

static void
env_defaults(paved_environment *env)
{
    env->en_exec.ex_timeout = ENV_DEFAULT_EXEC_TIMEOUT;
    env->en_canary.cn_interval = ENV_DEFAULT_INTERVAL;
    env->en_analysis.an_failures_to_abort = ENV_DEFAULT_FAILURES;
    env->en_analysis.an_timeout = ENV_DEFAULT_QUERY_TIMEOUT;
}

static void
env_parse_root(struct pl_ctx *cx, paved_environment *env,
               const struct ynode *root)
{
    static const char *const sections[] = {"local", "kubernetes", "exec"};
    const struct ynode *v;
    char shown[64];
    size_t i;
    int d;

    if (!want_map(cx, root, "an environment file"))
        return;
    env_check_keys(cx, root, top_keys, NELEM(top_keys), "the environment");
    if ((v = need_key(cx, root, "name", "the environment",
                      "such as name: staging")) != NULL &&
        want_string(cx, v, "name")) {
        if (!env_name_ok(v->yn_value))
            pl_diag_at(cx, v,
                       "name: %s is not an environment name (a-z, 0-9 and "
                       "-, starting with a letter, at most %d)",
                       paved_text_show(shown, sizeof(shown), v->yn_value),
                       ENV_MAX_NAME);
        env->en_name = env_strdup(cx, v->yn_value);
        env->en_name_line = v->yn_line;
        env->en_name_col = v->yn_col;
    }
    d = PAVED_ENV_DRIVER_LOCAL;
    if ((v = pl_map_get(root, "driver")) != NULL &&
        (d = want_enum(cx, v, "driver", drivers, NELEM(drivers))) < 0)
        d = -1;
    if (d >= 0)
        env->en_driver = (enum paved_env_driver)d;
    /* settings of another driver are a mistake, not a spare */
    for (i = 0; i < NELEM(sections); i++) {
        v = pl_map_get(root, sections[i]);
        if (d < 0 || (size_t)d == i) {
            if (d >= 0 && v == NULL)
                pl_diag_at(cx, root,
                           "driver %s needs a \"%s:\" mapping with its "
                           "settings (see docs/delivery.md)",
                           sections[i], sections[i]);
            continue;
        }
        if (v != NULL)
            pl_diag_at(cx, v,
                       "%s: settings of the %s driver, but driver is %s "
                       "(remove them, or change driver)",
                       sections[i], sections[i], drivers[d]);
    }
    if (d == PAVED_ENV_DRIVER_LOCAL && (v = pl_map_get(root, "local")))
        parse_local(cx, env, v);
    if (d == PAVED_ENV_DRIVER_KUBERNETES &&
        (v = pl_map_get(root, "kubernetes")))
        parse_k8s(cx, env, v);
    if (d == PAVED_ENV_DRIVER_EXEC && (v = pl_map_get(root, "exec")))
        parse_exec(cx, env, v);
    if ((v = pl_map_get(root, "approval")) != NULL &&
        (d = want_enum(cx, v, "approval", approvals, NELEM(approvals))) >= 0)
        env->en_approval = d == 0;
    /* only what passed that environment comes here: the name is checked
     * against the set (envset.c), a file alone cannot know the others */
    if ((v = pl_map_get(root, "from")) != NULL && want_string(cx, v, "from")) {
        if (!env_name_ok(v->yn_value))
            pl_diag_at(cx, v,
                       "from: \"%s\" is not an environment name "
                       "([a-z][a-z0-9-]*, at most 63 characters)",
                       v->yn_value);
        else {
            env->en_from = env_strdup(cx, v->yn_value);
            env->en_from_line = v->yn_line;
            env->en_from_col = v->yn_col;
        }
    }
    if ((v = pl_map_get(root, "canary")) != NULL)
        parse_canary(cx, env, v);
    if (env->en_driver == PAVED_ENV_DRIVER_EXEC && env->en_has_canary &&
        env->en_exec.ex_shift.av_argc == 0 &&
        (v = pl_map_get(root, "exec")) != NULL && v->yn_type == YN_MAP &&
        pl_map_get(v, "shift") == NULL)
        pl_diag_at(cx, v,
                   "exec: missing key \"shift\" (a canary needs the "
                   "command that moves traffic; it gets {{weight}})");
    for (i = 0; i + 1 < root->yn_n; i += 2)
        if (root->yn_items[i]->yn_type == YN_SCALAR &&
            strcmp(root->yn_items[i]->yn_value, "analysis") == 0 &&
            pl_map_get(root, "analysis") == root->yn_items[i + 1])
            parse_analysis(cx, env, root->yn_items[i], root->yn_items[i + 1]);
    if ((v = pl_map_get(root, "smoke")) != NULL)
        parse_smoke(cx, env, v);
}

void
paved_environment_free(paved_environment *env)
{
    size_t i;

    if (env == NULL)
        return;
    free(env->en_name);
    free(env->en_file);
    free(env->en_from);
    free(env->en_local.lo_listen);
    free(env->en_k8s.k8_context);
    free(env->en_k8s.k8_namespace);
    free(env->en_k8s.k8_kubectl);
    argv_clear(&env->en_exec.ex_deploy);
    argv_clear(&env->en_exec.ex_shift);
    argv_clear(&env->en_exec.ex_promote);
    argv_clear(&env->en_exec.ex_rollback);
    free(env->en_canary.cn_weights);
    free(env->en_analysis.an_prometheus);
    free(env->en_analysis.an_sample_query);
    for (i = 0; i < env->en_analysis.an_nqueries; i++) {
        free(env->en_analysis.an_queries[i].q_name);
        free(env->en_analysis.an_queries[i].q_query);
    }
    free(env->en_analysis.an_queries);
    for (i = 0; i < env->en_nsmoke; i++) {
        free(env->en_smoke[i].sm_name);
        free(env->en_smoke[i].sm_url);
        free(env->en_smoke[i].sm_body_contains);
    }
    free(env->en_smoke);
    free(env);
}

static int
env_parse(paved_environment **out, struct pl_ctx *cx, const void *data,
          size_t len)
{
    paved_environment *env = NULL;
    struct ynode *root = NULL;
    size_t before = cx->c_diags->dl_n;
    int error;

    *out = NULL;
    if ((env = calloc(1, sizeof(*env))) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    env_defaults(env);
    if ((error = pl_yaml_load(&root, cx, data, len)) < 0)
        goto out;
    if (root != NULL)
        env_parse_root(cx, env, root);
    if ((env->en_file = env_strdup(cx, cx->c_file)) == NULL)
        goto out;
    if (env->en_driver == PAVED_ENV_DRIVER_KUBERNETES) {
        if (env->en_k8s.k8_namespace == NULL)
            env->en_k8s.k8_namespace = env_strdup(cx, "default");
        if (env->en_k8s.k8_kubectl == NULL)
            env->en_k8s.k8_kubectl = env_strdup(cx, "kubectl");
    }
out:
    pl_ynode_free(root);
    if ((error = pl_ctx_result(cx)) == 0 && cx->c_diags->dl_n == before) {
        *out = env;
        env = NULL;
    }
    paved_environment_free(env);
    return error;
}

int
paved_environment_parse(paved_environment **out,
                        struct paved_pipeline_diags *diags, const char *name,
                        const void *data, size_t len)
{
    struct paved_pipeline_diags local = PAVED_PIPELINE_DIAGS_INIT;
    struct pl_ctx cx;
    int error;

    *out = NULL;
    memset(&cx, 0, sizeof(cx));
    cx.c_diags = &local;
    cx.c_file = name;
    cx.c_src = data;
    cx.c_srclen = len;
    error = env_parse(out, &cx, data, len);
    if (pl_diags_move(diags, &local) < 0 && error == 0) {
        paved_environment_free(*out);
        *out = NULL;
        error = PAVED_ENOMEM;
    }
    return error;
}

int
paved_environment_load(paved_environment **out,
                       struct paved_pipeline_diags *diags, const char *path)
{
    char *data = NULL;
    size_t len = 0;
    int error;

    *out = NULL;
    if ((error = pl_read_file(&data, &len, diags, path)) < 0)
        return error;
    error = paved_environment_parse(out, diags, path, data, len);
    free(data);
    return error;
}

/* ---- accessors -------------------------------------------------------- */

const char *
paved_environment_name(const paved_environment *env)
{
    return env->en_name;
}

const char *
paved_environment_file(const paved_environment *env)
{
    return env->en_file;
}

enum paved_env_driver
paved_environment_driver(const paved_environment *env)
{
    return env->en_driver;
}

const char *
paved_env_driver_name(enum paved_env_driver d)
{
    return (size_t)d < NELEM(drivers) ? drivers[d] : "unknown";
}

const char *
paved_environment_from(const paved_environment *env)
{
    return env->en_from;
}

bool
paved_environment_needs_approval(const paved_environment *env)
{
    return env->en_approval;
}

const struct paved_env_local *
paved_environment_local(const paved_environment *env)
{
    return env->en_driver == PAVED_ENV_DRIVER_LOCAL ? &env->en_local : NULL;
}

const struct paved_env_kubernetes *
paved_environment_kubernetes(const paved_environment *env)
{
    return env->en_driver == PAVED_ENV_DRIVER_KUBERNETES ? &env->en_k8s : NULL;
}

const struct paved_env_exec *
paved_environment_exec(const paved_environment *env)
{
    return env->en_driver == PAVED_ENV_DRIVER_EXEC ? &env->en_exec : NULL;
}

const struct paved_env_canary *
paved_environment_canary(const paved_environment *env)
{
    return env->en_has_canary ? &env->en_canary : NULL;
}

const struct paved_env_analysis *
paved_environment_analysis(const paved_environment *env)
{
    return env->en_has_analysis ? &env->en_analysis : NULL;
}

const struct paved_env_smoke *
paved_environment_smoke(const paved_environment *env, size_t *n)
{
    *n = env->en_nsmoke;
    return env->en_smoke;
}
