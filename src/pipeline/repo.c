/* The .paved.yaml escape hatch: a repository selects a platform pipeline,
 * overrides env values the platform did not protect, and adds steps where
 * the platform pipeline is `extensible: true`. The merge builds a new
 * pipeline from a fresh parse of the platform file, so the platform's
 * copy is never changed. Never grants a repository secrets or triggers:
 * those stay the platform's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "paved/error.h"
#include "pipeline/pipeline_int.h"

static const char *const repo_keys[] = {"pipeline", "env", "steps"};

void
paved_pipeline_repo_free(paved_pipeline_repo *rf)
{
    if (rf == NULL)
        return;
    pl_ynode_free(rf->rf_root);
    free(rf->rf_file);
    free(rf->rf_src);
    free(rf);
}

const char *
paved_pipeline_repo_selects(const paved_pipeline_repo *rf)
{
    return rf->rf_pipeline->yn_value;
}

/* The file on its own: shape, names, values. needs are checked by the
 * merge, when the platform's steps are known. */
static void
repo_check(struct pl_ctx *cx, paved_pipeline_repo *rf)
{
    const struct ynode *root = rf->rf_root, *v;
    paved_pipeline *scratch;
    char shown[64];

    if (root->yn_type != YN_MAP) {
        if (root->yn_type != YN_BAD)
            pl_diag_at(cx, root,
                       "expected a mapping with pipeline (and env, steps) "
                       "at the top");
        return;
    }
    pl_check_keys(cx, root, repo_keys, 3, ".paved.yaml");
    if ((v = pl_map_get(root, "pipeline")) == NULL) {
        pl_diag_at(cx, root,
                   "missing \"pipeline\" (name the platform "
                   "pipeline to use: pipeline: service)");
    } else if (v->yn_type != YN_SCALAR || v->yn_null) {
        if (v->yn_type != YN_BAD)
            pl_diag_at(cx, v,
                       "pipeline: expected the name of a platform "
                       "pipeline");
    } else if (!pl_name_ok(v->yn_value)) {
        pl_diag_at(cx, v, "pipeline: %s is not a pipeline name",
                   paved_text_show(shown, sizeof(shown), v->yn_value));
    } else {
        rf->rf_pipeline = v;
    }
    if ((scratch = calloc(1, sizeof(*scratch))) == NULL) {
        cx->c_fatal = PAVED_ENOMEM;
        return;
    }
    /* the checks are what is wanted here; what they build is dropped */
    scratch->pl_repo_file = rf->rf_file;
    if ((rf->rf_env = pl_map_get(root, "env")) != NULL)
        pl_parse_env(cx, &scratch->pl_env, &scratch->pl_nenv, rf->rf_env, "env",
                     NULL);
    if ((rf->rf_steps = pl_map_get(root, "steps")) != NULL)
        pl_parse_steps(cx, scratch, rf->rf_steps, true);
    scratch->pl_repo_file = NULL; /* borrowed */
    paved_pipeline_free(scratch);
}

int
paved_pipeline_repo_parse(paved_pipeline_repo **out,
                          struct paved_pipeline_diags *diags, const char *name,
                          const void *data, size_t len)
{
    struct paved_pipeline_diags local = PAVED_PIPELINE_DIAGS_INIT;
    paved_pipeline_repo *rf = NULL;
    struct pl_ctx cx;
    int error = 0;

    *out = NULL;
    memset(&cx, 0, sizeof(cx));
    cx.c_diags = &local;
    cx.c_file = name != NULL ? name : ".paved.yaml";
    if ((rf = calloc(1, sizeof(*rf))) == NULL ||
        (rf->rf_file = strdup(cx.c_file)) == NULL ||
        (rf->rf_src = malloc(len + 1)) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    if (len > 0)
        memcpy(rf->rf_src, data, len);
    rf->rf_src[len] = '\0';
    rf->rf_srclen = len;
    cx.c_src = rf->rf_src;
    cx.c_srclen = len;
    if ((error = pl_yaml_load(&rf->rf_root, &cx, rf->rf_src, len)) < 0)
        goto out;
    if (rf->rf_root != NULL)
        repo_check(&cx, rf);
    if ((error = pl_ctx_result(&cx)) < 0)
        goto out;
    *out = rf;
    rf = NULL;
out:
    pl_diags_move(diags, &local);
    paved_pipeline_repo_free(rf);
    return error;
}

int
paved_pipeline_repo_load(paved_pipeline_repo **out,
                         struct paved_pipeline_diags *diags, const char *path)
{
    size_t len;
    char *data;
    int error;

    *out = NULL;
    if ((error = pl_read_file(&data, &len, diags, path)) < 0)
        return error;
    error = paved_pipeline_repo_parse(out, diags, path, data, len);
    free(data);
    return error;
}

/* A repository must not shadow a secret with an env value. */
static void
repo_check_secrets(struct pl_ctx *cx, const paved_pipeline *pl,
                   const struct ynode *env)
{
    const struct ynode *k;
    size_t i, j;

    for (i = 0; i + 1 < env->yn_n; i += 2) {
        k = env->yn_items[i];
        if (k->yn_type != YN_SCALAR)
            continue;
        for (j = 0; j < pl->pl_nsecrets; j++)
            if (strcmp(pl->pl_secrets[j], k->yn_value) == 0)
                pl_diag_at(cx, k,
                           "env: \"%s\" is a secret of pipeline \"%s\"; a "
                           "repository cannot set it",
                           k->yn_value, pl->pl_name);
    }
}

int
paved_pipeline_merge(paved_pipeline **out, struct paved_pipeline_diags *diags,
                     const paved_pipeline_set *set,
                     const paved_pipeline_repo *rf)
{
    struct paved_pipeline_diags local = PAVED_PIPELINE_DIAGS_INIT;
    struct paved_pipeline_diags ignored = PAVED_PIPELINE_DIAGS_INIT;
    const paved_pipeline *platform;
    paved_pipeline *pl = NULL;
    const char **names = NULL, *guess;
    struct pl_ctx cx, pcx;
    size_t i, n;
    int error = 0;

    *out = NULL;
    memset(&cx, 0, sizeof(cx));
    cx.c_diags = &local;
    cx.c_file = rf->rf_file;
    cx.c_src = rf->rf_src;
    cx.c_srclen = rf->rf_srclen;
    if ((platform = paved_pipeline_set_find(set, rf->rf_pipeline->yn_value)) ==
        NULL) {
        n = paved_pipeline_set_count(set);
        if ((names = calloc(n + 1, sizeof(*names))) == NULL) {
            error = paved_error_set(PAVED_ENOMEM, "out of memory");
            goto out;
        }
        for (i = 0; i < n; i++)
            names[i] = paved_pipeline_name(paved_pipeline_set_get(set, i));
        guess = paved_text_suggest(rf->rf_pipeline->yn_value, names, n);
        pl_diag_at(&cx, rf->rf_pipeline,
                   "pipeline \"%s\" is not a platform pipeline (%s%s%s)",
                   rf->rf_pipeline->yn_value,
                   guess ? "did you mean \"" : "see the pipelines/ directory",
                   guess ? guess : "", guess ? "\"?" : "");
        goto check;
    }
    /* a fresh copy: the platform pipeline was clean, so is this parse */
    memset(&pcx, 0, sizeof(pcx));
    pcx.c_diags = &ignored;
    pcx.c_file = platform->pl_file;
    if ((error = pl_parse(&pl, &pcx, platform->pl_src, platform->pl_srclen)) <
        0)
        goto out;
    if (pl == NULL) {
        error = paved_error_set(PAVED_ERROR, "%s: changed while loaded",
                                platform->pl_file);
        goto out;
    }
    if ((pl->pl_repo_file = strdup(rf->rf_file)) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    if (rf->rf_env != NULL) {
        repo_check_secrets(&cx, pl, rf->rf_env);
        pl_parse_env(&cx, &pl->pl_env, &pl->pl_nenv, rf->rf_env, "env",
                     &pl->pl_protected_env);
    }
    if (rf->rf_steps != NULL) {
        if (!pl->pl_extensible) {
            pl_diag_at(&cx, rf->rf_steps,
                       "steps: pipeline \"%s\" does not accept steps from "
                       "a repository (the platform pipeline must say "
                       "extensible: true)",
                       pl->pl_name);
        } else {
            pl_parse_steps(&cx, pl, rf->rf_steps, true);
            if (cx.c_fatal == 0)
                pl_check_graph(&cx, pl);
        }
    }
check:
    if ((error = pl_ctx_result(&cx)) < 0)
        goto out;
    *out = pl;
    pl = NULL;
out:
    pl_diags_move(diags, &local);
    paved_pipeline_diags_dispose(&ignored);
    paved_pipeline_free(pl);
    free(names);
    return error;
}
