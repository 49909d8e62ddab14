/* `paved lint [PATH...]`: check pipeline files (and a repository's
 * .paved.yaml against the platform pipelines) and print every problem as
 * FILE:LINE:COL: message. Only argument parsing and printing live here;
 * the checks are src/pipeline/'s. Never runs a pipeline. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "cli/cli.h"
#include "paved/config.h"
#include "paved/environment.h"
#include "paved/error.h"
#include "paved/pipeline.h"

extern char **environ;

struct lint {
    struct paved_pipeline_diags li_diags;
    paved_pipeline_set *li_set; /* every pipeline that loaded: names unique */
    const char **li_repo;       /* .paved.yaml files, checked last */
    size_t li_nrepo;
    size_t li_files;
    int li_fatal; /* out of memory: stop */
};

static void
lint_usage(FILE *fp)
{
    fprintf(fp, "usage: paved lint [--json] [--config FILE] [--pipelines DIR] "
                "[--environments PATH] [PATH...]\n"
                "  PATH: pipeline files or directories (default: the "
                "configured pipelines_dir);\n"
                "  a .paved.yaml is checked against the platform pipelines "
                "(--pipelines);\n"
                "  --environments: an environment file or directory "
                "(docs/delivery.md), checked\n"
                "  alone unless PATHs are given too.\n");
}

static int
lint_is_repo_file(const char *path)
{
    const char *base = strrchr(path, '/');

    base = base != NULL ? base + 1 : path;
    return strcmp(base, ".paved.yaml") == 0 ||
           strcmp(base, ".paved.yml") == 0 || strcmp(base, "paved.yaml") == 0 ||
           strcmp(base, "paved.yml") == 0;
}

/* One pipeline file into the set; problems into the list. */
static void
lint_file(struct lint *li, const char *path)
{
    paved_pipeline *pl = NULL;
    int error;

    li->li_files++;
    error = paved_pipeline_load(&pl, &li->li_diags, path);
    if (error == 0)
        error = paved_pipeline_set_add(li->li_set, pl, &li->li_diags);
    if (error == PAVED_ENOMEM)
        li->li_fatal = error;
}

static void
lint_dir(struct lint *li, const char *dir)
{
    char **files = NULL;
    size_t n = 0, i;
    int error;

    if ((error = paved_pipeline_list_dir(&files, &n, dir)) < 0) {
        paved_pipeline_set *none = NULL;
        /* load_dir fails the same way and records it as a diagnostic, so
         * that --json carries it too */
        if (error == PAVED_ENOMEM ||
            paved_pipeline_load_dir(&none, &li->li_diags, dir) == PAVED_ENOMEM)
            li->li_fatal = PAVED_ENOMEM;
        paved_pipeline_set_free(none);
        li->li_files++;
        return;
    }
    for (i = 0; i < n && li->li_fatal == 0; i++)
        lint_file(li, files[i]);
    paved_pipeline_files_free(files, n);
}

static void
lint_path(struct lint *li, const char *path)
{
    struct stat st;

    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        lint_dir(li, path);
    else
        lint_file(li, path);
}

/* Environment definitions: one file, or a directory as the daemon loads
 * it (names unique, no port clashes). */
static void
lint_environments(struct lint *li, const char *path)
{
    paved_environment_set *set = NULL;
    paved_environment *env = NULL;
    struct stat st;
    int error;

    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        error = paved_environment_load_dir(&set, &li->li_diags, path);
        /* each file counts; a directory that failed counts once */
        li->li_files += set != NULL && paved_environment_set_count(set) > 0
                            ? paved_environment_set_count(set)
                            : 1;
    } else {
        error = paved_environment_load(&env, &li->li_diags, path);
        li->li_files++;
    }
    if (error == PAVED_ENOMEM)
        li->li_fatal = error;
    paved_environment_set_free(set);
    paved_environment_free(env);
}

/* A .paved.yaml: its own checks, then the merge with its pipeline. */
static void
lint_repo_file(struct lint *li, const char *path, const char *pipelines_dir)
{
    paved_pipeline_repo *rf = NULL;
    paved_pipeline *merged = NULL;
    int error;

    li->li_files++;
    if (paved_pipeline_set_count(li->li_set) == 0) {
        size_t before = li->li_diags.dl_n;
        lint_path(li, pipelines_dir); /* the platform's, to merge with */
        if (li->li_diags.dl_n > before)
            return; /* the platform pipelines come first */
    }
    error = paved_pipeline_repo_load(&rf, &li->li_diags, path);
    if (error == 0)
        error = paved_pipeline_merge(&merged, &li->li_diags, li->li_set, rf);
    if (error == PAVED_ENOMEM)
        li->li_fatal = error;
    paved_pipeline_free(merged);
    paved_pipeline_repo_free(rf);
}

static int
lint_print_json(const struct lint *li)
{
    json_t *doc, *errs, *e;
    size_t i;
    char *text;

    doc = json_object();
    errs = json_array();
    if (doc == NULL || errs == NULL)
        goto nomem;
    json_object_set_new(doc, "files", json_integer((json_int_t)li->li_files));
    json_object_set_new(doc, "errors", errs);
    for (i = 0; i < li->li_diags.dl_n; i++) {
        const struct paved_pipeline_diag *d = &li->li_diags.dl_items[i];
        if ((e = json_object()) == NULL)
            goto nomem;
        json_object_set_new(e, "file", json_string(d->dg_file));
        json_object_set_new(e, "line", json_integer(d->dg_line));
        json_object_set_new(e, "column", json_integer(d->dg_column));
        json_object_set_new(e, "message", json_string(d->dg_message));
        json_array_append_new(errs, e);
    }
    if ((text = json_dumps(doc, JSON_COMPACT)) == NULL)
        goto nomem;
    puts(text);
    free(text);
    json_decref(doc);
    return 0;
nomem:
    json_decref(doc);
    return PAVED_ENOMEM;
}

static void
lint_print_text(const struct lint *li)
{
    char *line;
    size_t i;

    for (i = 0; i < li->li_diags.dl_n; i++) {
        if (paved_pipeline_diag_format(&line, &li->li_diags.dl_items[i]) < 0)
            continue;
        fprintf(stderr, "%s\n", line);
        free(line);
    }
    if (li->li_diags.dl_n > 0)
        fprintf(stderr, "paved lint: %zu error%s in %zu file%s\n",
                li->li_diags.dl_n, li->li_diags.dl_n == 1 ? "" : "s",
                li->li_files, li->li_files == 1 ? "" : "s");
    else
        printf("paved lint: %zu file%s, no errors\n", li->li_files,
               li->li_files == 1 ? "" : "s");
}

int
paved_cli_lint(int argc, char **argv)
{
    struct lint li;
    struct paved_config *cf = NULL;
    const char *config = NULL, *pipelines = NULL, *environments = NULL;
    const char **paths = NULL;
    size_t npaths = 0, i;
    int json = 0, rc = PAVED_EXIT_FAIL, a;

    memset(&li, 0, sizeof(li));
    if ((paths = calloc((size_t)argc + 1, sizeof(*paths))) == NULL ||
        (li.li_repo = calloc((size_t)argc + 1, sizeof(*li.li_repo))) == NULL) {
        fprintf(stderr, "paved lint: out of memory\n");
        goto out;
    }
    for (a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[a], "--config") == 0 && a + 1 < argc) {
            config = argv[++a];
        } else if (strcmp(argv[a], "--pipelines") == 0 && a + 1 < argc) {
            pipelines = argv[++a];
        } else if (strcmp(argv[a], "--environments") == 0 && a + 1 < argc) {
            environments = argv[++a];
        } else if (strcmp(argv[a], "-h") == 0 ||
                   strcmp(argv[a], "--help") == 0) {
            lint_usage(stdout);
            rc = PAVED_EXIT_OK;
            goto out;
        } else if (strcmp(argv[a], "--") == 0) {
            for (a++; a < argc; a++)
                paths[npaths++] = argv[a];
        } else if (argv[a][0] == '-' && argv[a][1] != '\0') {
            fprintf(stderr, "paved lint: unknown argument \"%s\"\n", argv[a]);
            lint_usage(stderr);
            rc = PAVED_EXIT_USAGE;
            goto out;
        } else {
            paths[npaths++] = argv[a];
        }
    }
    for (i = 0; i < npaths; i++)
        if (lint_is_repo_file(paths[i]))
            li.li_repo[li.li_nrepo++] = paths[i];
    /* the configured directory, only when it is needed: a broken config
     * must not stop `paved lint file.yaml` */
    if (pipelines == NULL &&
        ((npaths == 0 && environments == NULL) || li.li_nrepo > 0)) {
        if (paved_config_load(&cf, config, environ) < 0) {
            fprintf(stderr, "paved: %s\n", paved_error_last());
            goto out;
        }
        pipelines = cf->cf_pipelines_dir;
    }
    if (npaths == 0 && environments == NULL)
        paths[npaths++] = pipelines;
    if (paved_pipeline_set_new(&li.li_set) < 0) {
        fprintf(stderr, "paved lint: out of memory\n");
        goto out;
    }
    for (i = 0; i < npaths && li.li_fatal == 0; i++)
        if (!lint_is_repo_file(paths[i]))
            lint_path(&li, paths[i]);
    for (i = 0; i < li.li_nrepo && li.li_fatal == 0; i++)
        lint_repo_file(&li, li.li_repo[i], pipelines);
    if (environments != NULL && li.li_fatal == 0)
        lint_environments(&li, environments);
    if (li.li_fatal != 0) {
        fprintf(stderr, "paved lint: out of memory\n");
        goto out;
    }
    if (json) {
        if (lint_print_json(&li) < 0) {
            fprintf(stderr, "paved lint: out of memory\n");
            goto out;
        }
    } else {
        lint_print_text(&li);
    }
    rc = li.li_diags.dl_n > 0 ? PAVED_EXIT_FAIL : PAVED_EXIT_OK;
out:
    paved_pipeline_diags_dispose(&li.li_diags);
    paved_pipeline_set_free(li.li_set);
    paved_config_free(cf);
    free(li.li_repo);
    free(paths);
    return rc;
}
