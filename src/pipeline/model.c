/* The pipeline model: walks the YAML tree of one pipeline file, checks
 * every key and value, and builds struct paved_pipeline. A problem is a
 * diagnostic with file:line:column and a hint, and the walk goes on, so
 * that one lint run shows them all. Never runs, resolves or fetches
 * anything; `uses:` kinds are only names checked against a table. */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "paved/buf.h"
#include "paved/config.h"
#include "paved/error.h"
#include "pipeline/pipeline_int.h"

/* Built-in step kinds (`uses:`) and the `with:` parameters each takes;
 * the executor (src/sched/builtin.c) runs them. */
static const char *const pl_kinds[] = {"guardrails", "scan",    "build-image",
                                       "push-image", "deploy",  "canary",
                                       "smoke",      "promote", NULL};
static const char *const with_guardrails[] = {"fail_on", "production"};
static const char *const with_scan[] = {"image",    "path",           "report",
                                        "severity", "ignore_unfixed", "trivy"};
static const char *const with_build_image[] = {
    "format", "path", "start", "dockerfile", "image", "tool", "service"};
static const char *const with_push_image[] = {"tool", "tls_verify", "service"};
static const char *const with_rollout[] = {"environment", "service"};

static const char *const top_keys[] = {
    "name",        "on",         "repos",         "env",   "secrets",
    "concurrency", "extensible", "protected_env", "steps",
};
static const char *const on_keys[] = {"push", "tag", "pull_request"};
static const char *const push_keys[] = {"branches", "paths"};
static const char *const tag_keys[] = {"patterns", "paths"};
static const char *const pr_keys[] = {"branches", "actions", "paths"};
static const char *const conc_keys[] = {"mode", "max_queued", "group"};
static const char *const step_keys[] = {
    "name",    "run",     "uses", "needs",         "if",
    "timeout", "retries", "env",  "allow_failure", "with",
};
static const char *const pr_actions[] = {
    "opened",   "synchronize",      "reopened",         "closed",
    "edited",   "ready_for_review", "labeled",          "unlabeled",
    "assigned", "unassigned",       "review_requested", "converted_to_draft",
};
static const char *const group_vars[] = {
    "repo", "ref", "branch", "tag", "event", "pr_number", "pipeline",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- small helpers ---------------------------------------------------- */

static const char *
pl_kind(const struct ynode *n)
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

bool
pl_name_ok(const char *s)
{
    size_t i;

    if (!islower((unsigned char)s[0]) && !isdigit((unsigned char)s[0]))
        return false;
    for (i = 1; s[i] != '\0'; i++)
        if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) &&
            s[i] != '-' && s[i] != '_')
            return false;
    return i <= 64;
}

bool
pl_env_name_ok(const char *s)
{
    size_t i;

    if (!isalpha((unsigned char)s[0]) && s[0] != '_')
        return false;
    for (i = 1; s[i] != '\0'; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_')
            return false;
    return i <= 128;
}

const struct ynode *
pl_map_get(const struct ynode *map, const char *key)
{
    size_t i;

    if (map == NULL || map->yn_type != YN_MAP)
        return NULL;
    for (i = 0; i + 1 < map->yn_n; i += 2)
        if (map->yn_items[i]->yn_type == YN_SCALAR &&
            strcmp(map->yn_items[i]->yn_value, key) == 0)
            return map->yn_items[i + 1];
    return NULL;
}

/* Duplicate keys of any mapping; unknown ones when known != NULL. */
size_t
pl_check_keys(struct pl_ctx *cx, const struct ynode *map,
              const char *const *known, size_t nknown, const char *where)
{
    const struct ynode *k;
    const char *guess;
    size_t i, j, bad = 0;
    char shown[64];
    bool found;

    if (map->yn_n / 2 > PL_MAX_LIST) {
        pl_diag_at(cx, map, "%s: more than %d keys", where, PL_MAX_LIST);
        return 1;
    }
    for (i = 0; i + 1 < map->yn_n; i += 2) {
        k = map->yn_items[i];
        if (k->yn_type == YN_BAD) {
            bad++;
            continue;
        }
        if (k->yn_type != YN_SCALAR) {
            pl_diag_at(cx, k, "%s: keys must be plain names, not %s", where,
                       pl_kind(k));
            bad++;
            continue;
        }
        for (j = 0; j < i; j += 2) {
            if (map->yn_items[j]->yn_type == YN_SCALAR &&
                strcmp(map->yn_items[j]->yn_value, k->yn_value) == 0)
                break;
        }
        if (j < i) {
            pl_diag_at(cx, k, "duplicate key %s (first on line %u; keep one)",
                       paved_text_show(shown, sizeof(shown), k->yn_value),
                       map->yn_items[j]->yn_line);
            bad++;
            continue;
        }
        if (known == NULL)
            continue;
        for (j = 0, found = false; j < nknown && !found; j++)
            found = strcmp(known[j], k->yn_value) == 0;
        if (found)
            continue;
        bad++;
        if ((guess = paved_text_suggest(k->yn_value, known, nknown)) != NULL)
            pl_diag_at(cx, k, "unknown key %s in %s (did you mean \"%s\"?)",
                       paved_text_show(shown, sizeof(shown), k->yn_value),
                       where, guess);
        else
            pl_diag_at(cx, k,
                       "unknown key %s in %s (see docs/pipelines.md for "
                       "the keys)",
                       paved_text_show(shown, sizeof(shown), k->yn_value),
                       where);
    }
    return bad;
}

/* A scalar that is not null; otherwise a diagnostic (unless the node was
 * already reported) and false. */
static bool
want_string(struct pl_ctx *cx, const struct ynode *n, const char *what)
{
    if (n->yn_type == YN_BAD)
        return false;
    if (n->yn_type != YN_SCALAR) {
        pl_diag_at(cx, n, "%s: expected a string, got %s", what, pl_kind(n));
        return false;
    }
    if (n->yn_null) {
        pl_diag_at(cx, n, "%s: needs a value", what);
        return false;
    }
    return true;
}

static bool
want_map(struct pl_ctx *cx, const struct ynode *n, const char *what)
{
    if (n->yn_type == YN_BAD)
        return false;
    if (n->yn_type != YN_MAP) {
        pl_diag_at(cx, n, "%s: expected a mapping of \"key: value\", got %s",
                   what, pl_kind(n));
        return false;
    }
    return true;
}

static char *
pl_strdup(struct pl_ctx *cx, const char *s)
{
    char *d;

    if ((d = strdup(s)) == NULL)
        cx->c_fatal = PAVED_ENOMEM;
    return d;
}

/* Appends to a char* array; false (and c_fatal) when out of memory. */
static bool
pl_push(struct pl_ctx *cx, char ***items, size_t *n, const char *s)
{
    char **p, *d;

    if ((d = pl_strdup(cx, s)) == NULL)
        return false;
    if ((p = realloc(*items, (*n + 1) * sizeof(*p))) == NULL) {
        free(d);
        cx->c_fatal = PAVED_ENOMEM;
        return false;
    }
    p[(*n)++] = d;
    *items = p;
    return true;
}

/* The items of a list (or one scalar standing for a list of one); each is
 * a string. Returns the scalar nodes via cb-free iteration: callers index
 * into n->yn_items themselves when n is a list. */
static bool
want_list(struct pl_ctx *cx, const struct ynode *n, const char *what)
{
    if (n->yn_type == YN_BAD)
        return false;
    if (n->yn_type == YN_MAP) {
        pl_diag_at(cx, n, "%s: expected a list, got a mapping", what);
        return false;
    }
    if (n->yn_type == YN_SCALAR && n->yn_null) {
        pl_diag_at(cx, n, "%s: needs at least one item (or remove the key)",
                   what);
        return false;
    }
    if (n->yn_type == YN_SEQ && n->yn_n == 0) {
        pl_diag_at(cx, n, "%s: empty list (remove the key, or add an item)",
                   what);
        return false;
    }
    if (n->yn_type == YN_SEQ && n->yn_n > PL_MAX_LIST) {
        pl_diag_at(cx, n, "%s: more than %d items", what, PL_MAX_LIST);
        return false;
    }
    return true;
}

static size_t
list_len(const struct ynode *n)
{
    return n->yn_type == YN_SEQ ? n->yn_n : 1;
}

static const struct ynode *
list_item(const struct ynode *n, size_t i)
{
    return n->yn_type == YN_SEQ ? n->yn_items[i] : n;
}

static void
parse_globs(struct pl_ctx *cx, struct pl_globs *g, const struct ynode *n,
            const char *what)
{
    const struct ynode *it;
    char why[160], shown[64];
    const char *p;
    size_t i;

    g->g_set = true;
    if (!want_list(cx, n, what))
        return;
    for (i = 0; i < list_len(n); i++) {
        it = list_item(n, i);
        if (!want_string(cx, it, what))
            continue;
        p = it->yn_value[0] == '!' ? it->yn_value + 1 : it->yn_value;
        if (paved_pipeline_glob_check(p, why, sizeof(why)) < 0) {
            pl_diag_at(cx, it, "%s: bad pattern %s: %s", what,
                       paved_text_show(shown, sizeof(shown), it->yn_value),
                       why);
            continue;
        }
        if (!pl_push(cx, &g->g_items, &g->g_n, it->yn_value))
            return;
    }
}

/* ---- env -------------------------------------------------------------- */

static void
kv_free(struct paved_pipeline_kv *kv, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        free(kv[i].kv_key);
        free(kv[i].kv_value);
    }
    free(kv);
}

static bool
kv_set(struct pl_ctx *cx, struct paved_pipeline_kv **kv, size_t *n,
       const char *key, const char *value)
{
    struct paved_pipeline_kv *p;
    char *v;
    size_t i;

    if ((v = pl_strdup(cx, value)) == NULL)
        return false;
    for (i = 0; i < *n; i++) {
        if (strcmp((*kv)[i].kv_key, key) == 0) {
            free((*kv)[i].kv_value);
            (*kv)[i].kv_value = v;
            return true;
        }
    }
    if ((p = realloc(*kv, (*n + 1) * sizeof(*p))) == NULL) {
        free(v);
        cx->c_fatal = PAVED_ENOMEM;
        return false;
    }
    *kv = p;
    p[*n].kv_value = v;
    if ((p[*n].kv_key = pl_strdup(cx, key)) == NULL) {
        free(v);
        return false;
    }
    (*n)++;
    return true;
}

void
pl_parse_env(struct pl_ctx *cx, struct paved_pipeline_kv **kv, size_t *n,
             const struct ynode *map, const char *what,
             const struct pl_globs *protect)
{
    const struct ynode *k, *v;
    char shown[64];
    size_t i;

    if (!want_map(cx, map, what))
        return;
    pl_check_keys(cx, map, NULL, 0, what);
    for (i = 0; i + 1 < map->yn_n; i += 2) {
        k = map->yn_items[i];
        v = map->yn_items[i + 1];
        if (k->yn_type != YN_SCALAR || pl_map_get(map, k->yn_value) != v)
            continue; /* reported: not a name, or a duplicate */
        if (!pl_env_name_ok(k->yn_value)) {
            pl_diag_at(cx, k,
                       "%s: %s is not a variable name (letters, digits "
                       "and _, not starting with a digit)",
                       what,
                       paved_text_show(shown, sizeof(shown), k->yn_value));
            continue;
        }
        if (strncmp(k->yn_value, "PAVED_", 6) == 0) {
            pl_diag_at(cx, k,
                       "%s: %s is reserved (paved sets PAVED_* variables "
                       "for every step)",
                       what,
                       paved_text_show(shown, sizeof(shown), k->yn_value));
            continue;
        }
        if (protect != NULL && pl_globs_match(protect, k->yn_value)) {
            pl_diag_at(cx, k,
                       "%s: %s is protected by the platform pipeline "
                       "(its protected_env; ask the platform team to "
                       "change it)",
                       what,
                       paved_text_show(shown, sizeof(shown), k->yn_value));
            continue;
        }
        if (v->yn_type == YN_BAD)
            continue;
        if (v->yn_type != YN_SCALAR) {
            pl_diag_at(cx, v, "%s: %s: expected a string, got %s", what,
                       k->yn_value, pl_kind(v));
            continue;
        }
        if (!kv_set(cx, kv, n, k->yn_value, v->yn_null ? "" : v->yn_value))
            return;
    }
}

/* ---- triggers --------------------------------------------------------- */

static void
parse_trigger(struct pl_ctx *cx, struct pl_trigger *t, const struct ynode *n,
              const char *name, const char *const *keys, size_t nkeys)
{
    const struct ynode *v, *it;
    char what[64], shown[64];
    const char *guess;
    size_t i, j;
    bool ok;

    t->t_on = true;
    if (n->yn_type == YN_SCALAR && n->yn_null)
        return; /* "push:" alone: every branch */
    snprintf(what, sizeof(what), "on.%s", name);
    if (!want_map(cx, n, what))
        return;
    pl_check_keys(cx, n, keys, nkeys, what);
    if ((v = pl_map_get(n, keys[0])) != NULL) {
        snprintf(what, sizeof(what), "on.%s.%s", name, keys[0]);
        parse_globs(cx, &t->t_refs, v, what);
    }
    if ((v = pl_map_get(n, "paths")) != NULL) {
        snprintf(what, sizeof(what), "on.%s.paths", name);
        parse_globs(cx, &t->t_paths, v, what);
    }
    if ((v = pl_map_get(n, "actions")) == NULL)
        return;
    t->t_actions.g_set = true;
    if (!want_list(cx, v, "on.pull_request.actions"))
        return;
    for (i = 0; i < list_len(v); i++) {
        it = list_item(v, i);
        if (!want_string(cx, it, "on.pull_request.actions"))
            continue;
        for (j = 0, ok = false; j < NELEM(pr_actions) && !ok; j++)
            ok = strcmp(pr_actions[j], it->yn_value) == 0;
        if (!ok) {
            guess =
                paved_text_suggest(it->yn_value, pr_actions, NELEM(pr_actions));
            pl_diag_at(cx, it,
                       "on.pull_request.actions: unknown action %s "
                       "(%s%s%s)",
                       paved_text_show(shown, sizeof(shown), it->yn_value),
                       guess ? "did you mean \""
                             : "use opened, synchronize, "
                               "reopened, closed, ...",
                       guess ? guess : "", guess ? "\"?" : "");
            continue;
        }
        if (!pl_push(cx, &t->t_actions.g_items, &t->t_actions.g_n,
                     it->yn_value))
            return;
    }
}

static void
parse_on(struct pl_ctx *cx, paved_pipeline *pl, const struct ynode *n)
{
    const struct ynode *v;

    if (!want_map(cx, n, "on"))
        return;
    pl_check_keys(cx, n, on_keys, NELEM(on_keys), "on");
    if ((v = pl_map_get(n, "push")) != NULL)
        parse_trigger(cx, &pl->pl_push, v, "push", push_keys, NELEM(push_keys));
    if ((v = pl_map_get(n, "tag")) != NULL)
        parse_trigger(cx, &pl->pl_tag, v, "tag", tag_keys, NELEM(tag_keys));
    if ((v = pl_map_get(n, "pull_request")) != NULL)
        parse_trigger(cx, &pl->pl_pr, v, "pull_request", pr_keys,
                      NELEM(pr_keys));
    if (n->yn_n == 0)
        pl_diag_at(cx, n, "on: no triggers (add push, tag or pull_request)");
}

/* ---- concurrency ------------------------------------------------------ */

static void
check_group(struct pl_ctx *cx, const struct ynode *n)
{
    const char *p = n->yn_value, *close, *guess;
    char var[32];
    size_t len, i;
    bool ok;

    while ((p = strchr(p, '{')) != NULL) {
        if ((close = strchr(p, '}')) == NULL) {
            pl_diag_at(cx, n, "concurrency.group: \"{\" is not closed");
            return;
        }
        len = (size_t)(close - p - 1);
        snprintf(var, sizeof(var), "%.*s", (int)(len < 31 ? len : 31), p + 1);
        for (i = 0, ok = false; i < NELEM(group_vars) && !ok; i++)
            ok = len < 31 && strcmp(group_vars[i], var) == 0;
        if (!ok) {
            guess = paved_text_suggest(var, group_vars, NELEM(group_vars));
            pl_diag_at(cx, n,
                       "concurrency.group: unknown placeholder {%s} (%s%s%s)",
                       var,
                       guess ? "did you mean {"
                             : "use {repo}, {ref}, "
                               "{branch}, {tag}, "
                               "{event}, {pr_number} or "
                               "{pipeline}",
                       guess ? guess : "", guess ? "}?" : "");
        }
        p = close + 1;
    }
}

static void
parse_concurrency(struct pl_ctx *cx, paved_pipeline *pl, const struct ynode *n)
{
    const struct ynode *mode = n, *mq, *group;
    char *end;
    long v;

    if (n->yn_type == YN_MAP) {
        pl_check_keys(cx, n, conc_keys, NELEM(conc_keys), "concurrency");
        mode = pl_map_get(n, "mode");
    } else if (n->yn_type != YN_SCALAR) {
        if (n->yn_type != YN_BAD)
            pl_diag_at(cx, n,
                       "concurrency: expected cancel, queue or a mapping, "
                       "got %s",
                       pl_kind(n));
        return;
    }
    if (mode != NULL && want_string(cx, mode, "concurrency.mode")) {
        if (strcmp(mode->yn_value, "queue") == 0)
            pl->pl_conc = PAVED_CONCURRENCY_QUEUE;
        else if (strcmp(mode->yn_value, "cancel") != 0)
            pl_diag_at(cx, mode,
                       "concurrency: unknown mode \"%.40s\" (use cancel: a "
                       "newer run cancels the older, or queue: runs wait "
                       "their turn)",
                       mode->yn_value);
    }
    if (n->yn_type != YN_MAP)
        return;
    if ((mq = pl_map_get(n, "max_queued")) != NULL &&
        want_string(cx, mq, "concurrency.max_queued")) {
        v = strtol(mq->yn_value, &end, 10);
        if (*end != '\0' || end == mq->yn_value || v < 1 || v > PL_MAX_QUEUED)
            pl_diag_at(cx, mq,
                       "concurrency.max_queued: expected a whole number "
                       "from 1 to %d",
                       PL_MAX_QUEUED);
        else if (pl->pl_conc != PAVED_CONCURRENCY_QUEUE)
            pl_diag_at(cx, mq,
                       "concurrency.max_queued only applies to mode: "
                       "queue (cancel never keeps runs waiting)");
        else
            pl->pl_max_queued = (unsigned)v;
    }
    if ((group = pl_map_get(n, "group")) != NULL &&
        want_string(cx, group, "concurrency.group")) {
        check_group(cx, group);
        free(pl->pl_group);
        pl->pl_group = pl_strdup(cx, group->yn_value);
    }
}

/* ---- steps ------------------------------------------------------------ */

/* Where byte off of a scalar's value is in the file, for `if` errors. */
static void
scalar_pos(const struct pl_ctx *cx, const struct ynode *n, size_t off,
           unsigned *line, unsigned *col)
{
    const char *src = cx->c_src;
    size_t i, j, nl = 0, indent = 0;

    *line = n->yn_line;
    *col = n->yn_col;
    if (src == NULL || n->yn_index >= cx->c_srclen || off > n->yn_len)
        return;
    for (i = 0; i < off; i++)
        nl += n->yn_value[i] == '\n';
    switch (n->yn_style) {
    case YAML_PLAIN_SCALAR_STYLE:
        if (nl == 0)
            *col += (unsigned)off;
        return;
    case YAML_SINGLE_QUOTED_SCALAR_STYLE:
        if (nl != 0)
            return;
        for (i = 0, j = 0; i < off; i++) /* '' in the file is one ' */
            j += n->yn_value[i] == '\'' ? 2 : 1;
        *col += 1 + (unsigned)j;
        return;
    case YAML_DOUBLE_QUOTED_SCALAR_STYLE:
        if (nl != 0)
            return;
        for (i = 0, j = n->yn_index + 1; i < off && j < cx->c_srclen; i++)
            j += src[j] == '\\' ? 2 : 1;
        *col += (unsigned)(j - n->yn_index);
        return;
    default:
        /* | and >: the lines after the indicator, indented alike; each
         * line's text then a newline (|) or a space (>) in the value */
        for (j = n->yn_index; j < cx->c_srclen && src[j] != '\n'; j++)
            ;
        for (j++, i = j; i < cx->c_srclen && src[i] == ' '; i++)
            indent++;
        for (*line += 1; j < cx->c_srclen; (*line)++) {
            size_t len = 0;
            while (j + indent + len < cx->c_srclen &&
                   src[j + indent + len] != '\n')
                len++;
            if (off <= len) {
                *col = (unsigned)(indent + 1 + off);
                return;
            }
            off -= len + 1;
            j += indent + len + 1;
            *col = (unsigned)(indent + 1 + len); /* the end, if it runs out */
        }
        (*line)--;
        return;
    }
}

static void
parse_if(struct pl_ctx *cx, struct pl_step *st, const struct ynode *n)
{
    unsigned line, col;
    size_t off;
    int error;

    if (n->yn_type == YN_BAD)
        return;
    if (n->yn_type != YN_SCALAR || n->yn_null) {
        pl_diag_at(cx, n,
                   "step \"%s\": if: expected an expression such as "
                   "branch == 'main'",
                   st->s_pub.st_name ? st->s_pub.st_name : "?");
        return;
    }
    if ((st->s_pub.st_if = pl_strdup(cx, n->yn_value)) == NULL)
        return;
    error = paved_pipeline_expr_parse(&st->s_if, n->yn_value, &off);
    if (error == PAVED_ENOMEM) {
        cx->c_fatal = error;
    } else if (error < 0) {
        scalar_pos(cx, n, off, &line, &col);
        pl_diag(cx, line, col, "step \"%s\": if: %s",
                st->s_pub.st_name ? st->s_pub.st_name : "?",
                paved_error_last());
    }
}

static void
parse_needs(struct pl_ctx *cx, struct pl_step *st, const struct ynode *n)
{
    const struct ynode *it;
    unsigned *l, *c;
    size_t i, cnt;

    if (!want_list(cx, n, "needs"))
        return;
    cnt = list_len(n);
    if ((l = calloc(cnt, sizeof(*l))) == NULL ||
        (c = calloc(cnt, sizeof(*c))) == NULL) {
        free(l);
        cx->c_fatal = PAVED_ENOMEM;
        return;
    }
    st->s_need_line = l;
    st->s_need_col = c;
    for (i = 0; i < cnt; i++) {
        it = list_item(n, i);
        if (!want_string(cx, it, "needs"))
            continue;
        l[st->s_pub.st_nneeds] = it->yn_line;
        c[st->s_pub.st_nneeds] = it->yn_col;
        if (!pl_push(cx, &st->s_pub.st_needs, &st->s_pub.st_nneeds,
                     it->yn_value))
            return;
    }
}

static void
parse_uses(struct pl_ctx *cx, struct pl_step *st, const struct ynode *v)
{
    const char *guess;
    char shown[64];
    size_t i, nkinds;

    for (nkinds = 0; pl_kinds[nkinds] != NULL; nkinds++)
        ;
    for (i = 0; i < nkinds; i++) {
        if (strcmp(pl_kinds[i], v->yn_value) == 0) {
            st->s_pub.st_uses = pl_strdup(cx, v->yn_value);
            return;
        }
    }
    paved_text_show(shown, sizeof(shown), v->yn_value);
    if ((guess = paved_text_suggest(v->yn_value, pl_kinds, nkinds)) != NULL)
        pl_diag_at(cx, v, "unknown step kind %s (did you mean \"%s\"?)", shown,
                   guess);
    else
        pl_diag_at(cx, v,
                   "unknown step kind %s (built in: guardrails, scan; for "
                   "anything else, run:)",
                   shown);
}

/* `with:` gives a built-in step its parameters: names the kind knows,
 * string values (they reach the step as PAVED_WITH_<NAME>, never as
 * command text). */
static void
parse_with(struct pl_ctx *cx, struct pl_step *st, const struct ynode *v)
{
    const char *name = st->s_pub.st_name ? st->s_pub.st_name : "?";
    const char *const *keys = NULL;
    char what[96], shown[64];
    size_t nkeys = 0, i;

    snprintf(what, sizeof(what), "step \"%.64s\": with", name);
    if (st->s_pub.st_uses == NULL) {
        pl_diag_at(cx, v,
                   "step \"%s\": with: is for built-in steps (uses:); a run: "
                   "step takes env:",
                   name);
        return;
    }
    if (strcmp(st->s_pub.st_uses, "guardrails") == 0) {
        keys = with_guardrails;
        nkeys = NELEM(with_guardrails);
    } else if (strcmp(st->s_pub.st_uses, "scan") == 0) {
        keys = with_scan;
        nkeys = NELEM(with_scan);
    } else if (strcmp(st->s_pub.st_uses, "build-image") == 0) {
        keys = with_build_image;
        nkeys = NELEM(with_build_image);
    } else if (strcmp(st->s_pub.st_uses, "push-image") == 0) {
        keys = with_push_image;
        nkeys = NELEM(with_push_image);
    } else {
        keys = with_rollout; /* deploy canary smoke promote */
        nkeys = NELEM(with_rollout);
    }
    if (!want_map(cx, v, what))
        return;
    /* names first (pl_parse_env reports duplicates and values) */
    for (i = 0; i + 1 < v->yn_n; i += 2) {
        const struct ynode *k = v->yn_items[i];
        const char *guess;
        size_t j;
        if (k->yn_type != YN_SCALAR)
            continue;
        for (j = 0; j < nkeys && strcmp(keys[j], k->yn_value) != 0; j++)
            ;
        if (j < nkeys)
            continue;
        paved_text_show(shown, sizeof(shown), k->yn_value);
        if ((guess = paved_text_suggest(k->yn_value, keys, nkeys)) != NULL)
            pl_diag_at(cx, k, "%s: unknown parameter %s (did you mean \"%s\"?)",
                       what, shown, guess);
        else
            pl_diag_at(cx, k,
                       "%s: unknown parameter %s (%s takes: see "
                       "docs/pipelines.md)",
                       what, shown, st->s_pub.st_uses);
    }
    pl_parse_env(cx, &st->s_pub.st_with, &st->s_pub.st_nwith, v, what, NULL);
}

static void
parse_step_values(struct pl_ctx *cx, struct pl_step *st, const struct ynode *n)
{
    const struct ynode *v;
    const char *name = st->s_pub.st_name ? st->s_pub.st_name : "?";
    char what[96], shown[64];
    unsigned secs;
    char *end;
    long r;
    int b;

    snprintf(what, sizeof(what), "step \"%.64s\": env", name);
    if ((v = pl_map_get(n, "run")) != NULL && want_string(cx, v, "run")) {
        if (strspn(v->yn_value, " \t\r\n") == v->yn_len)
            pl_diag_at(cx, v,
                       "step \"%s\": run: is empty (write the "
                       "commands to run)",
                       name);
        else
            st->s_pub.st_run = pl_strdup(cx, v->yn_value);
    }
    if ((v = pl_map_get(n, "uses")) != NULL && want_string(cx, v, "uses"))
        parse_uses(cx, st, v);
    if ((v = pl_map_get(n, "needs")) != NULL)
        parse_needs(cx, st, v);
    if ((v = pl_map_get(n, "if")) != NULL)
        parse_if(cx, st, v);
    if ((v = pl_map_get(n, "timeout")) != NULL &&
        want_string(cx, v, "timeout")) {
        if (paved_parse_duration(&secs, v->yn_value) < 0)
            pl_diag_at(cx, v, "step \"%s\": timeout: %s", name,
                       paved_error_last());
        else if (secs == 0 || secs > PL_MAX_TIMEOUT)
            pl_diag_at(cx, v,
                       "step \"%s\": timeout: %s is out of range (from 1s "
                       "to 24h)",
                       name,
                       paved_text_show(shown, sizeof(shown), v->yn_value));
        else
            st->s_pub.st_timeout = secs;
    }
    if ((v = pl_map_get(n, "retries")) != NULL &&
        want_string(cx, v, "retries")) {
        r = strtol(v->yn_value, &end, 10);
        if (*end != '\0' || end == v->yn_value || r < 0 || r > PL_MAX_RETRIES)
            pl_diag_at(cx, v,
                       "step \"%s\": retries: expected a whole number from "
                       "0 to %d, got %s",
                       name, PL_MAX_RETRIES,
                       paved_text_show(shown, sizeof(shown), v->yn_value));
        else
            st->s_pub.st_retries = (unsigned)r;
    }
    if ((v = pl_map_get(n, "allow_failure")) != NULL &&
        want_string(cx, v, "allow_failure")) {
        if (paved_parse_bool(&b, v->yn_value) < 0)
            pl_diag_at(cx, v,
                       "step \"%s\": allow_failure: expected true or "
                       "false, got %s",
                       name,
                       paved_text_show(shown, sizeof(shown), v->yn_value));
        else
            st->s_pub.st_allow_failure = b != 0;
    }
    if ((v = pl_map_get(n, "env")) != NULL)
        pl_parse_env(cx, &st->s_pub.st_env, &st->s_pub.st_nenv, v, what, NULL);
    if ((v = pl_map_get(n, "with")) != NULL)
        parse_with(cx, st, v);
}

static void
parse_step(struct pl_ctx *cx, struct pl_step *st, const struct ynode *n,
           size_t idx)
{
    const struct ynode *name, *run, *uses;
    char where[32], shown[64];

    st->s_pub.st_timeout = PL_DEFAULT_TIMEOUT;
    st->s_name_line = n->yn_line;
    st->s_name_col = n->yn_col;
    if (n->yn_type != YN_MAP) {
        if (n->yn_type != YN_BAD)
            pl_diag_at(cx, n,
                       "steps: each step is a mapping with name and run, "
                       "got %s",
                       pl_kind(n));
        return;
    }
    snprintf(where, sizeof(where), "step %zu", idx + 1);
    if ((name = pl_map_get(n, "name")) != NULL) {
        snprintf(where, sizeof(where), "step");
        if (want_string(cx, name, "step name")) {
            st->s_name_line = name->yn_line;
            st->s_name_col = name->yn_col;
            if (!pl_name_ok(name->yn_value))
                pl_diag_at(
                    cx, name,
                    "step name %s is not valid (lowercase letters, "
                    "digits, - and _, starting with a letter or "
                    "digit, at most 64)",
                    paved_text_show(shown, sizeof(shown), name->yn_value));
            else
                st->s_pub.st_name = pl_strdup(cx, name->yn_value);
        }
    } else {
        pl_diag_at(cx, n, "step %zu has no name (add name: build)", idx + 1);
    }
    pl_check_keys(cx, n, step_keys, NELEM(step_keys),
                  st->s_pub.st_name ? "step" : where);
    run = pl_map_get(n, "run");
    uses = pl_map_get(n, "uses");
    if (run != NULL && uses != NULL)
        pl_diag_at(cx, run->yn_line > uses->yn_line ? run : uses,
                   "step \"%s\" has both run and uses (a step is a script "
                   "or a built-in kind: keep one)",
                   st->s_pub.st_name ? st->s_pub.st_name : where);
    else if (run == NULL && uses == NULL)
        pl_diag(cx, st->s_name_line, st->s_name_col,
                "step \"%s\" has neither run nor uses (add run: with the "
                "commands)",
                st->s_pub.st_name ? st->s_pub.st_name : where);
    parse_step_values(cx, st, n);
}

void
pl_parse_steps(struct pl_ctx *cx, paved_pipeline *pl, const struct ynode *seq,
               bool from_repo)
{
    struct pl_step *steps;
    size_t i, base = pl->pl_nsteps;

    if (seq->yn_type == YN_BAD)
        return;
    if (seq->yn_type != YN_SEQ) {
        pl_diag_at(cx, seq, "steps: expected a list of steps, got %s",
                   pl_kind(seq));
        return;
    }
    if (seq->yn_n == 0) {
        pl_diag_at(cx, seq, "steps: is empty (add at least one step)");
        return;
    }
    if (base + seq->yn_n > PL_MAX_STEPS) {
        pl_diag_at(cx, seq, "steps: more than %d steps in one pipeline",
                   PL_MAX_STEPS);
        return;
    }
    steps = realloc(pl->pl_steps, (base + seq->yn_n) * sizeof(*steps));
    if (steps == NULL) {
        cx->c_fatal = PAVED_ENOMEM;
        return;
    }
    pl->pl_steps = steps;
    for (i = 0; i < seq->yn_n && cx->c_fatal == 0; i++) {
        struct pl_step *st = &steps[base + i];
        memset(st, 0, sizeof(*st));
        pl->pl_nsteps++;
        st->s_pub.st_from_repo = from_repo;
        st->s_pub.st_file = from_repo ? pl->pl_repo_file : pl->pl_file;
        parse_step(cx, st, seq->yn_items[i], i);
        st->s_pub.st_line = st->s_name_line;
        st->s_pub.st_column = st->s_name_col;
    }
}

/* ---- the graph: names, needs, cycles ----------------------------------- */

struct graph {
    struct pl_ctx *g_cx;
    paved_pipeline *g_pl;
    long *g_edge;    /* per step, per need: the index, or -1 */
    size_t *g_first; /* index of a step's first edge in g_edge */
    unsigned char *g_color;
    size_t *g_stack;
    size_t g_depth;
};

static const char *
graph_file(const struct pl_step *st)
{
    return st->s_pub.st_file;
}

static void
graph_cycle(struct graph *g, size_t from, size_t need, size_t to)
{
    struct paved_buf b = PAVED_BUF_INIT(2048);
    struct pl_step *st = &g->g_pl->pl_steps[from];
    size_t i, start = 0;

    for (i = 0; i < g->g_depth; i++)
        if (g->g_stack[i] == to)
            start = i;
    for (i = start; i < g->g_depth; i++)
        paved_buf_printf(&b, "%s -> ",
                         g->g_pl->pl_steps[g->g_stack[i]].s_pub.st_name);
    paved_buf_puts(&b, g->g_pl->pl_steps[to].s_pub.st_name);
    pl_diag_in(g->g_cx, graph_file(st), st->s_need_line[need],
               st->s_need_col[need],
               "needs form a cycle: %s (remove one of these needs)",
               b.b_ptr ? b.b_ptr : "?");
    paved_buf_dispose(&b);
}

static void
graph_visit(struct graph *g, size_t u)
{
    struct pl_step *st = &g->g_pl->pl_steps[u];
    size_t k;
    long v;

    g->g_color[u] = 1;
    g->g_stack[g->g_depth++] = u;
    for (k = 0; k < st->s_pub.st_nneeds; k++) {
        if ((v = g->g_edge[g->g_first[u] + k]) < 0)
            continue;
        if (g->g_color[v] == 1)
            graph_cycle(g, u, k, (size_t)v);
        else if (g->g_color[v] == 0)
            graph_visit(g, (size_t)v);
    }
    g->g_depth--;
    g->g_color[u] = 2;
}

static void
graph_names(struct pl_ctx *cx, paved_pipeline *pl)
{
    struct pl_step *a, *b;
    size_t i, j;

    for (i = 0; i < pl->pl_nsteps; i++) {
        b = &pl->pl_steps[i];
        if (b->s_pub.st_name == NULL)
            continue;
        for (j = 0; j < i; j++) {
            a = &pl->pl_steps[j];
            if (a->s_pub.st_name == NULL ||
                strcmp(a->s_pub.st_name, b->s_pub.st_name) != 0)
                continue;
            if (b->s_pub.st_from_repo && !a->s_pub.st_from_repo)
                pl_diag_in(cx, graph_file(b), b->s_name_line, b->s_name_col,
                           "step \"%s\" shadows the platform pipeline's "
                           "step of that name (%s:%u; pick another name)",
                           b->s_pub.st_name, graph_file(a), a->s_name_line);
            else
                pl_diag_in(cx, graph_file(b), b->s_name_line, b->s_name_col,
                           "duplicate step name \"%s\" (first on line %u; "
                           "step names must be unique)",
                           b->s_pub.st_name, a->s_name_line);
            break;
        }
    }
}

void
pl_check_graph(struct pl_ctx *cx, paved_pipeline *pl)
{
    struct graph g;
    const char *guess, **names = NULL;
    struct pl_step *st;
    size_t i, k, j, nedges = 0;
    long v;

    memset(&g, 0, sizeof(g));
    graph_names(cx, pl);
    for (i = 0; i < pl->pl_nsteps; i++)
        nedges += pl->pl_steps[i].s_pub.st_nneeds;
    g.g_cx = cx;
    g.g_pl = pl;
    g.g_edge = calloc(nedges + 1, sizeof(*g.g_edge));
    g.g_first = calloc(pl->pl_nsteps + 1, sizeof(*g.g_first));
    g.g_color = calloc(pl->pl_nsteps + 1, 1);
    g.g_stack = calloc(pl->pl_nsteps + 1, sizeof(*g.g_stack));
    names = calloc(pl->pl_nsteps + 1, sizeof(*names));
    if (g.g_edge == NULL || g.g_first == NULL || g.g_color == NULL ||
        g.g_stack == NULL || names == NULL) {
        cx->c_fatal = PAVED_ENOMEM;
        goto out;
    }
    for (i = 0; i < pl->pl_nsteps; i++)
        names[i] = pl->pl_steps[i].s_pub.st_name;
    for (i = 0, nedges = 0; i < pl->pl_nsteps; i++) {
        st = &pl->pl_steps[i];
        g.g_first[i] = nedges;
        for (k = 0; k < st->s_pub.st_nneeds; k++, nedges++) {
            const char *need = st->s_pub.st_needs[k];
            g.g_edge[nedges] = -1;
            for (j = 0; j < k; j++)
                if (strcmp(st->s_pub.st_needs[j], need) == 0)
                    break;
            if (j < k) {
                pl_diag_in(cx, graph_file(st), st->s_need_line[k],
                           st->s_need_col[k],
                           "step \"%s\" lists \"%s\" twice in needs",
                           names[i] ? names[i] : "?", need);
                continue;
            }
            v = paved_pipeline_step_index(pl, need);
            if (v == (long)i) {
                pl_diag_in(cx, graph_file(st), st->s_need_line[k],
                           st->s_need_col[k],
                           "step \"%s\" needs itself (remove it from "
                           "needs)",
                           need);
                continue;
            }
            if (v >= 0) {
                g.g_edge[nedges] = v;
                continue;
            }
            if ((guess = paved_text_suggest(need, names, pl->pl_nsteps)) !=
                NULL)
                pl_diag_in(cx, graph_file(st), st->s_need_line[k],
                           st->s_need_col[k],
                           "step \"%s\" needs unknown step \"%s\" (did you "
                           "mean \"%s\"?)",
                           names[i] ? names[i] : "?", need, guess);
            else
                pl_diag_in(cx, graph_file(st), st->s_need_line[k],
                           st->s_need_col[k],
                           "step \"%s\" needs unknown step \"%s\" (no step "
                           "has that name)",
                           names[i] ? names[i] : "?", need);
        }
    }
    for (i = 0; i < pl->pl_nsteps; i++)
        if (g.g_color[i] == 0)
            graph_visit(&g, i);
out:
    free(g.g_edge);
    free(g.g_first);
    free(g.g_color);
    free(g.g_stack);
    free(names);
}

/* ---- the whole file ---------------------------------------------------- */

static void
parse_secrets(struct pl_ctx *cx, paved_pipeline *pl, const struct ynode *n)
{
    const struct ynode *it;
    char shown[64];
    size_t i, j;

    if (!want_list(cx, n, "secrets"))
        return;
    for (i = 0; i < list_len(n); i++) {
        it = list_item(n, i);
        if (!want_string(cx, it, "secrets"))
            continue;
        if (!pl_env_name_ok(it->yn_value) ||
            strncmp(it->yn_value, "PAVED_", 6) == 0) {
            pl_diag_at(cx, it,
                       "secrets: %s is not a usable name (a variable name "
                       "not starting with PAVED_; the value comes from "
                       "paved's secret store)",
                       paved_text_show(shown, sizeof(shown), it->yn_value));
            continue;
        }
        for (j = 0; j < pl->pl_nsecrets; j++)
            if (strcmp(pl->pl_secrets[j], it->yn_value) == 0)
                break;
        if (j < pl->pl_nsecrets) {
            pl_diag_at(cx, it, "secrets: %s is listed twice",
                       paved_text_show(shown, sizeof(shown), it->yn_value));
            continue;
        }
        if (!pl_push(cx, &pl->pl_secrets, &pl->pl_nsecrets, it->yn_value))
            return;
    }
}

static void
parse_top(struct pl_ctx *cx, paved_pipeline *pl, const struct ynode *root)
{
    const struct ynode *v;
    char shown[64];
    int b;

    pl_check_keys(cx, root, top_keys, NELEM(top_keys), "the pipeline");
    if ((v = pl_map_get(root, "name")) == NULL) {
        pl_diag_at(cx, root, "missing \"name\" (add name: service)");
    } else if (want_string(cx, v, "name")) {
        pl->pl_name_line = v->yn_line;
        pl->pl_name_col = v->yn_col;
        if (!pl_name_ok(v->yn_value))
            pl_diag_at(cx, v,
                       "name %s is not valid (lowercase letters, digits, - "
                       "and _, starting with a letter or digit, at most 64)",
                       paved_text_show(shown, sizeof(shown), v->yn_value));
        else
            pl->pl_name = pl_strdup(cx, v->yn_value);
    }
    if ((v = pl_map_get(root, "on")) == NULL)
        pl_diag_at(cx, root,
                   "missing \"on\" (say when it runs: on: {push: "
                   "{branches: [main]}})");
    else
        parse_on(cx, pl, v);
    if ((v = pl_map_get(root, "repos")) != NULL)
        parse_globs(cx, &pl->pl_repos, v, "repos");
    if ((v = pl_map_get(root, "protected_env")) != NULL)
        parse_globs(cx, &pl->pl_protected_env, v, "protected_env");
    if ((v = pl_map_get(root, "env")) != NULL)
        pl_parse_env(cx, &pl->pl_env, &pl->pl_nenv, v, "env", NULL);
    if ((v = pl_map_get(root, "secrets")) != NULL)
        parse_secrets(cx, pl, v);
    if ((v = pl_map_get(root, "concurrency")) != NULL)
        parse_concurrency(cx, pl, v);
    if ((v = pl_map_get(root, "extensible")) != NULL &&
        want_string(cx, v, "extensible")) {
        if (paved_parse_bool(&b, v->yn_value) < 0)
            pl_diag_at(cx, v, "extensible: expected true or false, got %s",
                       paved_text_show(shown, sizeof(shown), v->yn_value));
        else
            pl->pl_extensible = b != 0;
    }
    if ((v = pl_map_get(root, "steps")) == NULL)
        pl_diag_at(cx, root,
                   "missing \"steps\" (add a list of steps with "
                   "name and run)");
    else
        pl_parse_steps(cx, pl, v, false);
}

int
pl_parse(paved_pipeline **out, struct pl_ctx *cx, const void *data, size_t len)
{
    paved_pipeline *pl = NULL;
    struct ynode *root = NULL;
    size_t before = cx->c_count;
    int error;

    *out = NULL;
    if ((pl = calloc(1, sizeof(*pl))) == NULL ||
        (pl->pl_file = strdup(cx->c_file)) == NULL ||
        (pl->pl_src = malloc(len + 1)) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    if (len > 0)
        memcpy(pl->pl_src, data, len);
    pl->pl_src[len] = '\0';
    pl->pl_srclen = len;
    pl->pl_max_queued = PL_DEFAULT_MAX_QUEUED;
    cx->c_src = pl->pl_src;
    cx->c_srclen = len;
    if ((error = pl_yaml_load(&root, cx, pl->pl_src, len)) < 0)
        goto out;
    if (root != NULL && root->yn_type != YN_MAP) {
        if (root->yn_type != YN_BAD)
            pl_diag_at(cx, root,
                       "expected a mapping with name, on and steps at the "
                       "top, got %s",
                       pl_kind(root));
    } else if (root != NULL) {
        parse_top(cx, pl, root);
        if (cx->c_fatal == 0)
            pl_check_graph(cx, pl);
    }
    if ((error = cx->c_fatal) < 0)
        goto out;
    if (cx->c_count == before && pl->pl_group == NULL &&
        (pl->pl_group = strdup(PL_DEFAULT_GROUP)) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    if (cx->c_count == before) {
        *out = pl;
        pl = NULL;
    }
    error = 0;
out:
    pl_ynode_free(root);
    paved_pipeline_free(pl);
    if (error == PAVED_ENOMEM)
        paved_error_set(PAVED_ENOMEM, "out of memory");
    return error;
}

/* ---- public ------------------------------------------------------------ */

static void
step_dispose(struct pl_step *st)
{
    size_t i;

    free(st->s_pub.st_name);
    free(st->s_pub.st_run);
    free(st->s_pub.st_uses);
    for (i = 0; i < st->s_pub.st_nneeds; i++)
        free(st->s_pub.st_needs[i]);
    free(st->s_pub.st_needs);
    free(st->s_pub.st_if);
    kv_free(st->s_pub.st_env, st->s_pub.st_nenv);
    kv_free(st->s_pub.st_with, st->s_pub.st_nwith);
    paved_pipeline_expr_free(st->s_if);
    free(st->s_need_line);
    free(st->s_need_col);
}

void
paved_pipeline_free(paved_pipeline *pl)
{
    size_t i;

    if (pl == NULL)
        return;
    for (i = 0; i < pl->pl_nsteps; i++)
        step_dispose(&pl->pl_steps[i]);
    free(pl->pl_steps);
    free(pl->pl_name);
    free(pl->pl_file);
    free(pl->pl_repo_file);
    pl_globs_clear(&pl->pl_push.t_refs);
    pl_globs_clear(&pl->pl_push.t_paths);
    pl_globs_clear(&pl->pl_push.t_actions);
    pl_globs_clear(&pl->pl_tag.t_refs);
    pl_globs_clear(&pl->pl_tag.t_paths);
    pl_globs_clear(&pl->pl_tag.t_actions);
    pl_globs_clear(&pl->pl_pr.t_refs);
    pl_globs_clear(&pl->pl_pr.t_paths);
    pl_globs_clear(&pl->pl_pr.t_actions);
    pl_globs_clear(&pl->pl_repos);
    pl_globs_clear(&pl->pl_protected_env);
    kv_free(pl->pl_env, pl->pl_nenv);
    for (i = 0; i < pl->pl_nsecrets; i++)
        free(pl->pl_secrets[i]);
    free(pl->pl_secrets);
    free(pl->pl_group);
    free(pl->pl_src);
    free(pl);
}

int
paved_pipeline_parse(paved_pipeline **out, struct paved_pipeline_diags *diags,
                     const char *name, const void *data, size_t len)
{
    struct paved_pipeline_diags local = PAVED_PIPELINE_DIAGS_INIT;
    struct pl_ctx cx;
    paved_pipeline *pl = NULL;
    int error;

    *out = NULL;
    memset(&cx, 0, sizeof(cx));
    cx.c_diags = &local;
    cx.c_file = name != NULL ? name : "pipeline";
    if ((error = pl_parse(&pl, &cx, data != NULL ? data : "", len)) < 0)
        goto out;
    if (local.dl_n > 0) {
        pl_diags_sort(&local, 0);
        error = pl_diags_fail(&local, 0);
        goto out;
    }
    *out = pl;
    pl = NULL;
out:
    if (pl_diags_move(diags, &local) < 0 && error == 0) {
        error = PAVED_ENOMEM;
        paved_pipeline_free(*out);
        *out = NULL;
    }
    paved_pipeline_free(pl);
    return error;
}

int
paved_pipeline_load(paved_pipeline **out, struct paved_pipeline_diags *diags,
                    const char *path)
{
    size_t len;
    char *data;
    int error;

    *out = NULL;
    if ((error = pl_read_file(&data, &len, diags, path)) < 0)
        return error;
    error = paved_pipeline_parse(out, diags, path, data, len);
    free(data);
    return error;
}

const char *
paved_pipeline_name(const paved_pipeline *pl)
{
    return pl->pl_name;
}

const char *
paved_pipeline_file(const paved_pipeline *pl)
{
    return pl->pl_file;
}

size_t
paved_pipeline_nsteps(const paved_pipeline *pl)
{
    return pl->pl_nsteps;
}

const struct paved_step *
paved_pipeline_step(const paved_pipeline *pl, size_t i)
{
    return i < pl->pl_nsteps ? &pl->pl_steps[i].s_pub : NULL;
}

long
paved_pipeline_step_index(const paved_pipeline *pl, const char *name)
{
    size_t i;

    for (i = 0; i < pl->pl_nsteps; i++)
        if (pl->pl_steps[i].s_pub.st_name != NULL &&
            strcmp(pl->pl_steps[i].s_pub.st_name, name) == 0)
            return (long)i;
    return -1;
}

const struct paved_pipeline_kv *
paved_pipeline_env(const paved_pipeline *pl, size_t *n)
{
    *n = pl->pl_nenv;
    return pl->pl_env;
}

char *const *
paved_pipeline_secrets(const paved_pipeline *pl, size_t *n)
{
    *n = pl->pl_nsecrets;
    return pl->pl_secrets;
}

enum paved_pipeline_concurrency
paved_pipeline_concurrency(const paved_pipeline *pl, unsigned *max_queued)
{
    if (max_queued != NULL)
        *max_queued =
            pl->pl_conc == PAVED_CONCURRENCY_QUEUE ? pl->pl_max_queued : 0;
    return pl->pl_conc;
}

bool
paved_pipeline_extensible(const paved_pipeline *pl)
{
    return pl->pl_extensible;
}

int
paved_pipeline_eval_if(const paved_pipeline *pl, size_t step,
                       const struct paved_event *ev)
{
    if (step >= pl->pl_nsteps)
        return paved_error_set(PAVED_EINVAL, "no step %zu", step);
    return paved_pipeline_expr_eval(pl->pl_steps[step].s_if, ev);
}

int
paved_pipeline_concurrency_group(char **out, const paved_pipeline *pl,
                                 const struct paved_event *ev)
{
    struct paved_buf b = PAVED_BUF_INIT(4096);
    const char *p = pl->pl_group ? pl->pl_group : PL_DEFAULT_GROUP, *close;
    const char *v;
    char num[32], var[32];
    size_t len;
    int error = 0;

    *out = NULL;
    while (error == 0 && *p != '\0') {
        if (*p != '{' || (close = strchr(p, '}')) == NULL) {
            error = paved_buf_putc(&b, *p++);
            continue;
        }
        len = (size_t)(close - p - 1);
        snprintf(var, sizeof(var), "%.*s", (int)(len < 31 ? len : 31), p + 1);
        v = NULL;
        if (strcmp(var, "repo") == 0)
            v = ev->ev_repo;
        else if (strcmp(var, "ref") == 0)
            v = ev->ev_ref;
        else if (strcmp(var, "branch") == 0)
            v = ev->ev_branch;
        else if (strcmp(var, "tag") == 0)
            v = ev->ev_tag;
        else if (strcmp(var, "event") == 0)
            v = paved_event_kind_name(ev->ev_kind);
        else if (strcmp(var, "pipeline") == 0)
            v = pl->pl_name;
        else if (strcmp(var, "pr_number") == 0 && ev->ev_pr_number != 0) {
            snprintf(num, sizeof(num), "%lld", ev->ev_pr_number);
            v = num;
        }
        error = paved_buf_puts(&b, v != NULL ? v : "");
        p = close + 1;
    }
    if (error == 0 && (*out = paved_buf_detach(&b, NULL)) == NULL)
        error = PAVED_ENOMEM;
    paved_buf_dispose(&b);
    if (error < 0)
        return paved_error_set(error, "concurrency group too long or out of "
                                      "memory");
    return 0;
}
