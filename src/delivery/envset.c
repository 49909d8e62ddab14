/* A set of environments by name: every file of config/environments/,
 * loaded in sorted order so that messages do not depend on readdir, with
 * the checks that need more than one file (unique names, local
 * environments that would fight over a port). Reads files; never writes,
 * deploys or watches them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delivery/delivery_int.h"
#include "paved/error.h"
#include "pipeline/pipeline_int.h"

struct paved_environment_set {
    paved_environment **es_items;
    size_t es_n;
};

int
paved_environment_set_new(paved_environment_set **out)
{
    if ((*out = calloc(1, sizeof(**out))) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    return 0;
}

void
paved_environment_set_free(paved_environment_set *set)
{
    size_t i;

    if (set == NULL)
        return;
    for (i = 0; i < set->es_n; i++)
        paved_environment_free(set->es_items[i]);
    free(set->es_items);
    free(set);
}

size_t
paved_environment_set_count(const paved_environment_set *set)
{
    return set != NULL ? set->es_n : 0;
}

const paved_environment *
paved_environment_set_get(const paved_environment_set *set, size_t i)
{
    return set != NULL && i < set->es_n ? set->es_items[i] : NULL;
}

const paved_environment *
paved_environment_set_find(const paved_environment_set *set, const char *name)
{
    size_t i;

    for (i = 0; set != NULL && name != NULL && i < set->es_n; i++)
        if (strcmp(set->es_items[i]->en_name, name) == 0)
            return set->es_items[i];
    return NULL;
}

static unsigned
envset_listen_port(const paved_environment *env)
{
    const char *colon = strrchr(env->en_local.lo_listen, ':');

    return colon != NULL ? (unsigned)strtoul(colon + 1, NULL, 10) : 0;
}

static bool
envset_in_range(unsigned port, const paved_environment *env)
{
    unsigned first = env->en_local.lo_upstream_port;

    return port >= first && port < first + PAVED_ENV_LOCAL_PORTS;
}

/* Two local environments on one machine share nginx and loopback: a
 * listen address or a port of one inside the other's range breaks both. */
static const paved_environment *
envset_clash(const paved_environment_set *set, const paved_environment *env)
{
    const paved_environment *o;
    unsigned a, b;
    size_t i;

    if (env->en_driver != PAVED_ENV_DRIVER_LOCAL)
        return NULL;
    a = env->en_local.lo_upstream_port;
    for (i = 0; i < set->es_n; i++) {
        o = set->es_items[i];
        if (o->en_driver != PAVED_ENV_DRIVER_LOCAL)
            continue;
        b = o->en_local.lo_upstream_port;
        if (envset_listen_port(o) == envset_listen_port(env) ||
            envset_in_range(envset_listen_port(o), env) ||
            envset_in_range(envset_listen_port(env), o) ||
            (a < b + PAVED_ENV_LOCAL_PORTS && b < a + PAVED_ENV_LOCAL_PORTS))
            return o;
    }
    return NULL;
}

int
paved_environment_set_add(paved_environment_set *set, paved_environment *env,
                          struct paved_pipeline_diags *diags)
{
    struct paved_pipeline_diags local = PAVED_PIPELINE_DIAGS_INIT;
    const paved_environment *old;
    paved_environment **items;
    struct pl_ctx cx;
    int error;

    memset(&cx, 0, sizeof(cx));
    cx.c_diags = &local;
    cx.c_file = env->en_file;
    if ((old = paved_environment_set_find(set, env->en_name)) != NULL)
        pl_diag(&cx, env->en_name_line, env->en_name_col,
                "environment \"%s\" is already defined in %s:%u:%u "
                "(environment names must be unique)",
                env->en_name, old->en_file, old->en_name_line,
                old->en_name_col);
    else if ((old = envset_clash(set, env)) != NULL)
        pl_diag(&cx, env->en_listen_line, env->en_listen_col,
                "local: listen %s and ports %u-%u clash with environment "
                "\"%s\" (%s:%u:%u: listen %s, ports %u-%u; give each "
                "environment its own)",
                env->en_local.lo_listen, env->en_local.lo_upstream_port,
                env->en_local.lo_upstream_port + PAVED_ENV_LOCAL_PORTS - 1,
                old->en_name, old->en_file, old->en_listen_line,
                old->en_listen_col, old->en_local.lo_listen,
                old->en_local.lo_upstream_port,
                old->en_local.lo_upstream_port + PAVED_ENV_LOCAL_PORTS - 1);
    if (old != NULL) {
        error = cx.c_fatal ? cx.c_fatal : PAVED_EEXISTS;
        if (error == PAVED_EEXISTS)
            pl_diags_fail(&local, 0); /* the message; the code stays */
        else
            paved_error_set(error, "out of memory");
        pl_diags_move(diags, &local);
        paved_environment_free(env);
        return error;
    }
    items = realloc(set->es_items, (set->es_n + 1) * sizeof(*items));
    if (items == NULL) {
        paved_environment_free(env);
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    }
    set->es_items = items;
    items[set->es_n++] = env;
    return 0;
}

/* Every from: names another environment of the set, and following them
 * never comes back (a cycle would let nothing in anywhere). */
static int
envset_check_from(const paved_environment_set *set,
                  struct paved_pipeline_diags *diags)
{
    struct paved_pipeline_diags local = PAVED_PIPELINE_DIAGS_INIT;
    struct pl_ctx cx;
    size_t i, hops;

    memset(&cx, 0, sizeof(cx));
    cx.c_diags = &local;
    for (i = 0; i < set->es_n; i++) {
        const paved_environment *env = set->es_items[i], *at = env;
        cx.c_file = env->en_file;
        if (env->en_from == NULL)
            continue;
        if (paved_environment_set_find(set, env->en_from) == NULL) {
            pl_diag(&cx, env->en_from_line, env->en_from_col,
                    "from: there is no environment \"%s\" (define it in "
                    "its own file, or remove from:)",
                    env->en_from);
            continue;
        }
        for (hops = 0; at != NULL && at->en_from != NULL; hops++) {
            at = paved_environment_set_find(set, at->en_from);
            if (at == env || hops > set->es_n) {
                pl_diag(&cx, env->en_from_line, env->en_from_col,
                        "from: \"%s\" leads back to \"%s\" (a cycle: no "
                        "version could ever enter)",
                        env->en_from, env->en_name);
                break;
            }
        }
    }
    if (cx.c_fatal) {
        pl_diags_move(diags, &local);
        return paved_error_set(cx.c_fatal, "out of memory");
    }
    if (local.dl_n > 0) {
        pl_diags_fail(&local, 0);
        pl_diags_move(diags, &local);
        return PAVED_EINVAL;
    }
    return 0;
}

static int
envset_load_file(void *arg, struct paved_pipeline_diags *diags,
                 const char *path)
{
    paved_environment *env;
    int error;

    if ((error = paved_environment_load(&env, diags, path)) == 0)
        error = paved_environment_set_add(arg, env, diags);
    return error;
}

int
paved_environment_load_dir(paved_environment_set **out,
                           struct paved_pipeline_diags *diags, const char *dir)
{
    paved_environment_set *set = NULL;
    int error;

    *out = NULL;
    /* the same rules for which files count as pipelines_dir has */
    if ((error = paved_environment_set_new(&set)) < 0 ||
        (error = pl_load_dir(diags, dir, envset_load_file, set)) < 0 ||
        (error = envset_check_from(set, diags)) < 0) {
        paved_environment_set_free(set);
        return error;
    }
    *out = set;
    return 0;
}
