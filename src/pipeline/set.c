/* A set of pipelines by name: every pipeline file of a directory, loaded
 * in sorted order so that messages and plans do not depend on readdir.
 * Reads files; never writes, runs or watches them. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "paved/error.h"
#include "pipeline/pipeline_int.h"

#define SET_MAX_FILES 1000

struct paved_pipeline_set {
    paved_pipeline **s_items;
    size_t s_n;
};

int
paved_pipeline_set_new(paved_pipeline_set **out)
{
    if ((*out = calloc(1, sizeof(**out))) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    return 0;
}

void
paved_pipeline_set_free(paved_pipeline_set *set)
{
    size_t i;

    if (set == NULL)
        return;
    for (i = 0; i < set->s_n; i++)
        paved_pipeline_free(set->s_items[i]);
    free(set->s_items);
    free(set);
}

size_t
paved_pipeline_set_count(const paved_pipeline_set *set)
{
    return set != NULL ? set->s_n : 0;
}

const paved_pipeline *
paved_pipeline_set_get(const paved_pipeline_set *set, size_t i)
{
    return set != NULL && i < set->s_n ? set->s_items[i] : NULL;
}

const paved_pipeline *
paved_pipeline_set_find(const paved_pipeline_set *set, const char *name)
{
    size_t i;

    for (i = 0; set != NULL && i < set->s_n; i++)
        if (strcmp(set->s_items[i]->pl_name, name) == 0)
            return set->s_items[i];
    return NULL;
}

int
paved_pipeline_set_add(paved_pipeline_set *set, paved_pipeline *pl,
                       struct paved_pipeline_diags *diags)
{
    struct paved_pipeline_diags local = PAVED_PIPELINE_DIAGS_INIT;
    const paved_pipeline *old;
    paved_pipeline **items;
    struct pl_ctx cx;
    int error;

    if ((old = paved_pipeline_set_find(set, pl->pl_name)) != NULL) {
        memset(&cx, 0, sizeof(cx));
        cx.c_diags = &local;
        cx.c_file = pl->pl_file;
        pl_diag(&cx, pl->pl_name_line, pl->pl_name_col,
                "pipeline \"%s\" is already defined in %s:%u:%u (pipeline "
                "names must be unique)",
                pl->pl_name, old->pl_file, old->pl_name_line, old->pl_name_col);
        error = cx.c_fatal ? cx.c_fatal : PAVED_EEXISTS;
        if (error == PAVED_EEXISTS)
            pl_diags_fail(&local, 0); /* the message; the code stays */
        else
            paved_error_set(error, "out of memory");
        pl_diags_move(diags, &local);
        paved_pipeline_free(pl);
        return error;
    }
    items = realloc(set->s_items, (set->s_n + 1) * sizeof(*items));
    if (items == NULL) {
        paved_pipeline_free(pl);
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    }
    set->s_items = items;
    items[set->s_n++] = pl;
    return 0;
}

static int
set_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool
set_wanted(const char *name)
{
    size_t n = strlen(name);

    if (name[0] == '.')
        return false;
    return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
           (n > 4 && strcmp(name + n - 4, ".yml") == 0);
}

void
paved_pipeline_files_free(char **files, size_t n)
{
    size_t i;

    for (i = 0; files != NULL && i < n; i++)
        free(files[i]);
    free(files);
}

int
paved_pipeline_list_dir(char ***out, size_t *nout, const char *dir)
{
    char **names = NULL, **grown;
    const char *sep;
    struct dirent *de;
    struct stat stt;
    size_t n = 0, len;
    DIR *d;
    int error = 0;

    *out = NULL;
    *nout = 0;
    if ((d = opendir(dir)) == NULL)
        return paved_error_set(errno == ENOENT ? PAVED_ENOTFOUND : PAVED_EINVAL,
                               "cannot open directory: %s", strerror(errno));
    sep = dir[0] != '\0' && dir[strlen(dir) - 1] == '/' ? "" : "/";
    while ((de = readdir(d)) != NULL) {
        if (!set_wanted(de->d_name))
            continue;
        if (n == SET_MAX_FILES) {
            error = paved_error_set(PAVED_EINVAL,
                                    "more than %d pipeline "
                                    "files",
                                    SET_MAX_FILES);
            goto out;
        }
        if ((grown = realloc(names, (n + 1) * sizeof(*names))) == NULL) {
            error = paved_error_set(PAVED_ENOMEM, "out of memory");
            goto out;
        }
        names = grown;
        len = strlen(dir) + strlen(sep) + strlen(de->d_name) + 1;
        if ((names[n] = malloc(len)) == NULL) {
            error = paved_error_set(PAVED_ENOMEM, "out of memory");
            goto out;
        }
        snprintf(names[n], len, "%s%s%s", dir, sep, de->d_name);
        /* a directory called x.yaml is not ours to judge */
        if (stat(names[n], &stt) == 0 && !S_ISREG(stt.st_mode)) {
            free(names[n]);
            continue;
        }
        n++;
    }
    if (n > 0)
        qsort(names, n, sizeof(*names), set_cmp);
    *out = names;
    *nout = n;
    names = NULL;
out:
    closedir(d);
    if (names != NULL)
        paved_pipeline_files_free(names, n);
    return error;
}

int
pl_load_dir(struct paved_pipeline_diags *diags, const char *dir, pl_file_cb cb,
            void *arg)
{
    struct paved_pipeline_diags local = PAVED_PIPELINE_DIAGS_INIT;
    struct pl_ctx cx;
    char **files = NULL;
    size_t n = 0, i;
    int error = 0, bad = 0;

    memset(&cx, 0, sizeof(cx));
    cx.c_diags = &local;
    cx.c_file = dir;
    if ((error = paved_pipeline_list_dir(&files, &n, dir)) < 0) {
        if (error != PAVED_ENOMEM) {
            pl_diag(&cx, 0, 0, "%s", paved_error_last());
            pl_diags_fail(&local, 0);
        }
        goto out;
    }
    for (i = 0; i < n; i++) {
        error = cb(arg, &local, files[i]);
        if (error == PAVED_ENOMEM)
            goto out;
        if (error < 0)
            bad++;
    }
    error = bad > 0 ? pl_diags_fail(&local, 0) : 0;
out:
    paved_pipeline_files_free(files, n);
    if (pl_diags_move(diags, &local) < 0 && error == 0)
        error = PAVED_ENOMEM;
    return error;
}

static int
set_load_file(void *arg, struct paved_pipeline_diags *diags, const char *path)
{
    paved_pipeline *pl;
    int error;

    if ((error = paved_pipeline_load(&pl, diags, path)) == 0)
        error = paved_pipeline_set_add(arg, pl, diags);
    return error;
}

int
paved_pipeline_load_dir(paved_pipeline_set **out,
                        struct paved_pipeline_diags *diags, const char *dir)
{
    paved_pipeline_set *set = NULL;
    int error;

    *out = NULL;
    if ((error = paved_pipeline_set_new(&set)) < 0 ||
        (error = pl_load_dir(diags, dir, set_load_file, set)) < 0) {
        paved_pipeline_set_free(set);
        return error;
    }
    *out = set;
    return 0;
}
