/* Rendering a service from templates/ and writing it out (see
 * include/paved/scaffold.h and docs/golden-paths.md). The whole service is
 * rendered in memory first: a template error or a bad answer is found
 * before anything exists on disk. Writing creates only new files under a
 * directory this code made, and removes that directory again if it cannot
 * finish. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "paved/buf.h"
#include "paved/error.h"
#include "paved/scaffold.h"
#include "paved/text.h"
#include "paved/tmpl.h"
#include "scaffold/scaffold_int.h"

#define SC_MAX_FILES 4096
#define SC_MAX_DEPTH 16
#define SC_ANSWERS ".paved/answers.yaml"

static const char *const sc_types[] = {"api", "worker", "cron", NULL};
static const char *const sc_langs[] = {"go", "python", "typescript", NULL};

/* ---- answers ----------------------------------------------------------- */

static int
sc_in(const char *v, const char *const *set)
{
    for (; *set != NULL; set++)
        if (strcmp(v, *set) == 0)
            return 1;
    return 0;
}

/* A DNS-1035 label (a DNS-1123 label that starts with a letter, which is
 * what a Kubernetes Service name needs, and what every language accepts
 * as the start of an identifier). */
int
scaffold_label_ok(const char *v)
{
    size_t i, n = strlen(v);

    if (n == 0 || n > 63 || v[0] < 'a' || v[0] > 'z' || v[n - 1] == '-')
        return 0;
    for (i = 0; i < n; i++)
        if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= '0' && v[i] <= '9') ||
              v[i] == '-'))
            return 0;
    return 1;
}

/* host[:port][/path]: what an image reference starts with. */
static int
sc_registry_ok(const char *v)
{
    size_t i, n = strlen(v);

    if (n == 0 || n > 255 || v[0] == '/' || v[0] == '-' || v[0] == '.' ||
        v[n - 1] == '/')
        return 0;
    for (i = 0; i < n; i++)
        if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= '0' && v[i] <= '9') ||
              strchr(".-_:/", v[i]) != NULL))
            return 0;
    return 1;
}

/* Words YAML 1.1 reads as booleans or null: as a name they would be
 * quoted in one place and spliced bare into longer values in another. */
static int
sc_yaml_word(const char *v)
{
    static const char *const words[] = {"y",   "n",    "yes",   "no",   "on",
                                        "off", "true", "false", "null", NULL};

    return sc_in(v, words);
}

int
paved_scaffold_check(const struct paved_scaffold_answers *a)
{
    char shown[96];

    if (a->sa_name == NULL || a->sa_name[0] == '\0')
        return paved_error_set(PAVED_EINVAL, "a service needs a name: "
                                             "--name=NAME");
    if (scaffold_label_ok(a->sa_name) && sc_yaml_word(a->sa_name))
        return paved_error_set(PAVED_EINVAL,
                               "invalid name \"%s\": YAML reads it as a "
                               "boolean or null; choose a name that says "
                               "what the service does",
                               a->sa_name);
    if (strstr(a->sa_name, "--") != NULL)
        return paved_error_set(PAVED_EINVAL,
                               "invalid name \"%s\": no two '-' in a row "
                               "(database and cloud resource names refuse "
                               "them)",
                               a->sa_name);
    /* the database is <environment>-<name>, at most 63: production-... */
    if (a->sa_db && strlen(a->sa_name) > 52)
        return paved_error_set(PAVED_EINVAL,
                               "name too long for --db: at most 52 "
                               "characters, so that the database "
                               "\"production-%s\" fits 63",
                               a->sa_name);
    if (!scaffold_label_ok(a->sa_name))
        return paved_error_set(
            PAVED_EINVAL,
            "invalid name %s: a service name is a DNS label of at most 63 "
            "characters: lowercase letters, digits and '-', starting with "
            "a letter and not ending with '-' (e.g. checkout, order-events)",
            paved_text_show(shown, sizeof(shown), a->sa_name));
    if (a->sa_type == NULL || !sc_in(a->sa_type, sc_types))
        return paved_error_set(
            PAVED_EINVAL, "unknown type %s: use --type=api, worker or cron",
            paved_text_show(shown, sizeof(shown),
                            a->sa_type != NULL ? a->sa_type : ""));
    if (a->sa_lang == NULL || !sc_in(a->sa_lang, sc_langs))
        return paved_error_set(
            PAVED_EINVAL,
            "unknown language %s: use --lang=go, python or typescript",
            paved_text_show(shown, sizeof(shown),
                            a->sa_lang != NULL ? a->sa_lang : ""));
    if (a->sa_owner == NULL || !scaffold_label_ok(a->sa_owner))
        return paved_error_set(
            PAVED_EINVAL,
            "invalid owner %s: a team name is a DNS label (lowercase "
            "letters, digits and '-', starting with a letter)",
            paved_text_show(shown, sizeof(shown),
                            a->sa_owner != NULL ? a->sa_owner : ""));
    if (a->sa_registry == NULL || !sc_registry_ok(a->sa_registry))
        return paved_error_set(
            PAVED_EINVAL,
            "invalid registry %s: host[:port][/path] in lowercase, "
            "e.g. registry.internal:5000",
            paved_text_show(shown, sizeof(shown),
                            a->sa_registry != NULL ? a->sa_registry : ""));
    return 0;
}

/* ---- the templates ----------------------------------------------------- */

int
scaffold_read_file(char **out, size_t *len, const char *path, size_t max)
{
    struct paved_buf b = PAVED_BUF_INIT(max);
    char chunk[8192];
    ssize_t n;
    int fd, error = 0;

    *out = NULL;
    *len = 0;
    if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
        return paved_error_set(errno == ENOENT ? PAVED_ENOTFOUND : PAVED_ERROR,
                               "%s: %s", path, strerror(errno));
    for (;;) {
        n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            error =
                paved_error_set(PAVED_ERROR, "%s: %s", path, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        if ((error = paved_buf_put(&b, chunk, (size_t)n)) < 0) {
            if (error == PAVED_ETOOBIG)
                paved_error_set(error, "%s: over %zu bytes", path, max);
            break;
        }
    }
    close(fd);
    if (error == 0 && (*out = paved_buf_detach(&b, len)) == NULL &&
        (*out = strdup("")) == NULL)
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
    paved_buf_dispose(&b);
    return error;
}

int
paved_scaffold_version(int *out, const char *templates)
{
    char path[PATH_MAX], *data = NULL, *end;
    size_t len;
    long v;
    int error;

    *out = 0;
    if (snprintf(path, sizeof(path), "%s/VERSION", templates) >=
        (int)sizeof(path))
        return paved_error_set(PAVED_EINVAL, "templates path too long");
    if ((error = scaffold_read_file(&data, &len, path, 64)) < 0) {
        if (error == PAVED_ENOTFOUND)
            paved_error_set(PAVED_ENOTFOUND,
                            "%s: not found: templates_dir must name a "
                            "templates directory with a VERSION file",
                            path);
        return error;
    }
    errno = 0;
    v = strtol(data, &end, 10);
    while (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t')
        end++;
    if (errno != 0 || end == data || *end != '\0' || v < 1 || v > 1000000)
        error = paved_error_set(PAVED_EINVAL,
                                "%s: must hold one whole number, the "
                                "template version (1, 2, ...)",
                                path);
    else
        *out = (int)v;
    free(data);
    return error;
}

struct sc_entry {
    char *e_out;  /* output path */
    char *e_src;  /* template file */
    char *e_name; /* template name in messages: "types/api/k8s/x.yaml" */
    int e_exec;
};

struct sc_walk {
    struct sc_entry *w_items;
    size_t w_n, w_cap;
};

static void
sc_walk_dispose(struct sc_walk *w)
{
    size_t i;

    for (i = 0; i < w->w_n; i++) {
        free(w->w_items[i].e_out);
        free(w->w_items[i].e_src);
        free(w->w_items[i].e_name);
    }
    free(w->w_items);
}

/* Adds (or, for a later layer, replaces) an output path. */
static int
sc_walk_put(struct sc_walk *w, const char *out, const char *src,
            const char *name, int exec)
{
    struct sc_entry *e = NULL, *grown;
    size_t i;

    for (i = 0; i < w->w_n; i++)
        if (strcmp(w->w_items[i].e_out, out) == 0) {
            e = &w->w_items[i];
            free(e->e_src);
            free(e->e_name);
            e->e_src = e->e_name = NULL;
            break;
        }
    if (e == NULL) {
        if (w->w_n >= SC_MAX_FILES)
            return paved_error_set(PAVED_ETOOBIG,
                                   "templates: over %d files in one service",
                                   SC_MAX_FILES);
        if (w->w_n == w->w_cap) {
            size_t cap = w->w_cap != 0 ? w->w_cap * 2 : 32;
            if ((grown = realloc(w->w_items, cap * sizeof(*grown))) == NULL)
                return paved_error_set(PAVED_ENOMEM, "out of memory");
            w->w_items = grown;
            w->w_cap = cap;
        }
        e = &w->w_items[w->w_n++];
        memset(e, 0, sizeof(*e));
        if ((e->e_out = strdup(out)) == NULL)
            return paved_error_set(PAVED_ENOMEM, "out of memory");
    }
    e->e_src = strdup(src);
    e->e_name = strdup(name);
    e->e_exec = exec;
    if (e->e_src == NULL || e->e_name == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    return 0;
}

/* One directory of a layer; rel is the path inside the layer ("" at the
 * top). Links and special files are refused: a template tree is plain
 * files, and a link could make paved read (and publish) any file. */
static int
sc_walk_dir(struct sc_walk *w, const char *root, const char *layer,
            const char *rel, int depth)
{
    char dir[PATH_MAX], src[PATH_MAX], sub[PATH_MAX], name[PATH_MAX];
    struct dirent *de;
    struct stat sb;
    DIR *d;
    size_t n;
    int error = 0;

    if (depth > SC_MAX_DEPTH)
        return paved_error_set(PAVED_EINVAL,
                               "%s/%s: directories nested deeper than %d",
                               layer, rel, SC_MAX_DEPTH);
    snprintf(dir, sizeof(dir), "%s/%s%s%s", root, layer, *rel ? "/" : "", rel);
    if ((d = opendir(dir)) == NULL)
        return paved_error_set(errno == ENOENT ? PAVED_ENOTFOUND : PAVED_ERROR,
                               "%s: %s", dir, strerror(errno));
    while (error == 0 && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if ((size_t)snprintf(src, sizeof(src), "%s/%s", dir, de->d_name) >=
                sizeof(src) ||
            (size_t)snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "",
                             de->d_name) >= sizeof(sub)) {
            error = paved_error_set(PAVED_EINVAL, "%s: path too long", dir);
            break;
        }
        if ((size_t)snprintf(name, sizeof(name), "%s/%s", layer, sub) >=
            sizeof(name)) {
            error = paved_error_set(PAVED_EINVAL, "%s: path too long", dir);
            break;
        }
        if (lstat(src, &sb) < 0) {
            error =
                paved_error_set(PAVED_ERROR, "%s: %s", src, strerror(errno));
        } else if (S_ISDIR(sb.st_mode)) {
            error = sc_walk_dir(w, root, layer, sub, depth + 1);
        } else if (!S_ISREG(sb.st_mode)) {
            error = paved_error_set(PAVED_EINVAL,
                                    "templates/%s is %s: templates hold "
                                    "regular files and directories only",
                                    name,
                                    S_ISLNK(sb.st_mode) ? "a symbolic link"
                                                        : "a special file");
        } else {
            /* "go.mod.tmpl" is written as "go.mod" */
            n = strlen(sub);
            if (n > 5 && strcmp(sub + n - 5, ".tmpl") == 0)
                sub[n - 5] = '\0';
            if (strcmp(sub, SC_ANSWERS) == 0)
                error = paved_error_set(PAVED_EINVAL,
                                        "templates/%s: %s is written by "
                                        "paved itself; remove the template",
                                        name, SC_ANSWERS);
            else
                error =
                    sc_walk_put(w, sub, src, name, (sb.st_mode & S_IXUSR) != 0);
        }
    }
    closedir(d);
    return error;
}

static int
sc_file_cmp(const void *a, const void *b)
{
    return strcmp(((const struct paved_scaffold_file *)a)->sf_path,
                  ((const struct paved_scaffold_file *)b)->sf_path);
}

static int
sc_blank(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
            return 0;
    return 1;
}

void
paved_scaffold_free(struct paved_scaffold *sc)
{
    size_t i;

    if (sc == NULL)
        return;
    for (i = 0; i < sc->sc_n; i++) {
        free(sc->sc_files[i].sf_path);
        free(sc->sc_files[i].sf_data);
    }
    free(sc->sc_files);
    free(sc);
}

/* Takes ownership of path and data, even on failure. */
static int
sc_add(struct paved_scaffold *sc, size_t *cap, char *path, char *data,
       size_t len, int exec)
{
    struct paved_scaffold_file *grown;

    if (path == NULL) {
        free(data);
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    }
    if (sc->sc_n == *cap) {
        size_t ncap = *cap != 0 ? *cap * 2 : 32;
        if ((grown = realloc(sc->sc_files, ncap * sizeof(*grown))) == NULL) {
            free(path);
            free(data);
            return paved_error_set(PAVED_ENOMEM, "out of memory");
        }
        sc->sc_files = grown;
        *cap = ncap;
    }
    sc->sc_files[sc->sc_n].sf_path = path;
    sc->sc_files[sc->sc_n].sf_data = data;
    sc->sc_files[sc->sc_n].sf_len = len;
    sc->sc_files[sc->sc_n].sf_exec = exec;
    sc->sc_n++;
    return 0;
}

static int
sc_render_one(char **out, size_t *len, const struct sc_entry *e,
              const struct paved_tmpl_var *vars, size_t nvars)
{
    paved_tmpl *t = NULL;
    char *src = NULL;
    size_t srclen;
    int error;

    *out = NULL;
    if ((error = scaffold_read_file(&src, &srclen, e->e_src,
                                    PAVED_TMPL_MAX_SIZE + 1)) < 0)
        return error;
    if ((error = paved_tmpl_parse(&t, e->e_name, src, srclen)) == 0)
        error = paved_tmpl_render(out, len, t, vars, nvars,
                                  paved_tmpl_escape_for(e->e_out));
    paved_tmpl_free(t);
    free(src);
    return error;
}

int
paved_scaffold_render(struct paved_scaffold **out, const char *templates,
                      const struct paved_scaffold_answers *a)
{
    struct paved_scaffold_answers ans = *a;
    struct paved_scaffold *sc = NULL;
    struct sc_walk w = {NULL, 0, 0};
    char layer_t[64], layer_l[64], ident[64], version[16], image[384];
    const char *layers[3];
    size_t i, cap = 0, len;
    char *data = NULL;
    int error, v;

    *out = NULL;
    if ((error = paved_scaffold_check(a)) < 0 ||
        (error = paved_scaffold_version(&v, templates)) < 0)
        return error;
    if (ans.sa_version == 0)
        ans.sa_version = v;
    snprintf(layer_t, sizeof(layer_t), "types/%s", a->sa_type);
    snprintf(layer_l, sizeof(layer_l), "langs/%s", a->sa_lang);
    layers[0] = "shared";
    layers[1] = layer_t;
    layers[2] = layer_l;
    for (i = 0; i < 3 && error == 0; i++)
        if ((error = sc_walk_dir(&w, templates, layers[i], "", 0)) ==
            PAVED_ENOTFOUND)
            error = paved_error_set(PAVED_ENOTFOUND,
                                    "%s/%s: no such template layer: every "
                                    "type and language needs its directory",
                                    templates, layers[i]);
    if (error < 0)
        goto out;

    snprintf(ident, sizeof(ident), "%s", a->sa_name);
    for (i = 0; ident[i] != '\0'; i++)
        if (ident[i] == '-')
            ident[i] = '_';
    snprintf(version, sizeof(version), "%d", ans.sa_version);
    /* the first image the manifests name; the deploy step pins a digest */
    snprintf(image, sizeof(image), "%s/%s:0.1.0", a->sa_registry, a->sa_name);
    {
#define SC_FLAG(x) ((x) ? "true" : "false")
        const struct paved_tmpl_var vars[] = {
            {"service.name", a->sa_name},
            {"service.ident", ident},
            {"service.type", a->sa_type},
            {"service.lang", a->sa_lang},
            {"api", SC_FLAG(strcmp(a->sa_type, "api") == 0)},
            {"worker", SC_FLAG(strcmp(a->sa_type, "worker") == 0)},
            {"cron", SC_FLAG(strcmp(a->sa_type, "cron") == 0)},
            {"go", SC_FLAG(strcmp(a->sa_lang, "go") == 0)},
            {"python", SC_FLAG(strcmp(a->sa_lang, "python") == 0)},
            {"typescript", SC_FLAG(strcmp(a->sa_lang, "typescript") == 0)},
            {"db", SC_FLAG(a->sa_db)},
            {"queue", SC_FLAG(a->sa_queue)},
            {"owner", a->sa_owner},
            {"registry", a->sa_registry},
            {"image", image},
            {"template.version", version},
        };
#undef SC_FLAG
        if ((sc = calloc(1, sizeof(*sc))) == NULL) {
            error = paved_error_set(PAVED_ENOMEM, "out of memory");
            goto out;
        }
        sc->sc_version = v;
        for (i = 0; i < w.w_n; i++) {
            if ((error = sc_render_one(&data, &len, &w.w_items[i], vars,
                                       sizeof(vars) / sizeof(vars[0]))) < 0)
                goto out;
            /* a file only some services get renders to nothing */
            if (sc_blank(data, len)) {
                free(data);
                data = NULL;
                continue;
            }
            error = sc_add(sc, &cap, strdup(w.w_items[i].e_out), data, len,
                           w.w_items[i].e_exec);
            data = NULL;
            if (error < 0)
                goto out;
        }
    }
    if ((error = paved_scaffold_answers_text(&data, &len, &ans)) < 0 ||
        (error = sc_add(sc, &cap, strdup(SC_ANSWERS), data, len, 0)) < 0)
        goto out;
    data = NULL;
    qsort(sc->sc_files, sc->sc_n, sizeof(sc->sc_files[0]), sc_file_cmp);
    *out = sc;
    sc = NULL;
out:
    free(data);
    paved_scaffold_free(sc);
    sc_walk_dispose(&w);
    return error;
}

/* ---- writing ----------------------------------------------------------- */

static int
sc_rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    if (flag == FTW_DP)
        (void)rmdir(path);
    else
        (void)unlink(path);
    return 0;
}

/* mkdir -p of dir's parents (dir itself is not made here); top gets the
 * highest directory this call created, or stays empty. */
static int
sc_mkparents(const char *dir, char *top, size_t toplen)
{
    char path[PATH_MAX];
    char *p;

    if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
        return paved_error_set(PAVED_EINVAL, "%s: path too long", dir);
    for (p = path + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0755) == 0) {
            if (top[0] == '\0')
                snprintf(top, toplen, "%s", path);
        } else if (errno != EEXIST) {
            return paved_error_set(PAVED_ERROR, "cannot create %s: %s", path,
                                   strerror(errno));
        }
        *p = '/';
    }
    return 0;
}

static int
sc_write_file(const char *dir, const struct paved_scaffold_file *f)
{
    char path[PATH_MAX];
    const char *p = f->sf_data;
    size_t left = f->sf_len;
    char *slash;
    ssize_t n;
    int fd;

    if (snprintf(path, sizeof(path), "%s/%s", dir, f->sf_path) >=
        (int)sizeof(path))
        return paved_error_set(PAVED_EINVAL, "%s/%s: path too long", dir,
                               f->sf_path);
    /* the file's own directories, inside dir */
    for (slash = path + strlen(dir) + 1; (slash = strchr(slash, '/')) != NULL;
         slash++) {
        *slash = '\0';
        if (mkdir(path, 0755) < 0 && errno != EEXIST) {
            int e = errno;
            *slash = '/';
            return paved_error_set(PAVED_ERROR, "cannot create %s: %s", path,
                                   strerror(e));
        }
        *slash = '/';
    }
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
              f->sf_exec ? 0755 : 0644);
    if (fd < 0)
        return paved_error_set(errno == EEXIST ? PAVED_EEXISTS : PAVED_ERROR,
                               "cannot create %s: %s", path, strerror(errno));
    while (left > 0) {
        n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            return paved_error_set(PAVED_ERROR, "cannot write %s: %s", path,
                                   strerror(e));
        }
        p += n;
        left -= (size_t)n;
    }
    if (close(fd) < 0)
        return paved_error_set(PAVED_ERROR, "cannot write %s: %s", path,
                               strerror(errno));
    return 0;
}

int
paved_scaffold_write(const char *dir, const struct paved_scaffold *sc,
                     char *top, size_t toplen)
{
    struct stat sb;
    size_t i;
    int error;

    top[0] = '\0';
    if (dir == NULL || *dir == '\0')
        return paved_error_set(PAVED_EINVAL, "empty target directory");
    if (lstat(dir, &sb) == 0)
        return paved_error_set(PAVED_EEXISTS,
                               "%s already exists: paved never writes into "
                               "an existing path; choose another --dir or "
                               "remove it",
                               dir);
    if ((error = sc_mkparents(dir, top, toplen)) == 0 && mkdir(dir, 0755) < 0)
        error = paved_error_set(errno == EEXIST ? PAVED_EEXISTS : PAVED_ERROR,
                                "cannot create %s: %s", dir, strerror(errno));
    if (error == 0 && top[0] == '\0')
        snprintf(top, toplen, "%s", dir);
    for (i = 0; error == 0 && i < sc->sc_n; i++)
        error = sc_write_file(dir, &sc->sc_files[i]);
    if (error < 0 && top[0] != '\0') {
        char msg[512];
        /* every directory from top down is ours: take it all back */
        snprintf(msg, sizeof(msg), "%s", paved_error_last());
        (void)nftw(top, sc_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
        top[0] = '\0';
        paved_error_set(error, "%s (nothing was left behind)", msg);
    }
    return error;
}

int
paved_scaffold_remove(const char *dir)
{
    return nftw(dir, sc_rm_cb, 16, FTW_DEPTH | FTW_PHYS) == 0
               ? 0
               : paved_error_set(PAVED_ERROR, "cannot remove %s: %s", dir,
                                 strerror(errno));
}
