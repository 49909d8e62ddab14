/* Deploy drivers, the shared part: opening a driver for an environment
 * (the environment's lock, the state directory), dispatching each public
 * call to the driver's table (local.c, kubernetes.c, exec.c), and the
 * state file of each service, loaded before a call and saved after it,
 * written atomically (temporary file, fsync, rename). Never decides what
 * to deploy and never reads the store: the rollout logic does. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "delivery/driver_int.h"
#include "paved/error.h"
#include "paved/fs.h"

#define DRIVER_STATE_MAX (1024 * 1024) /* bytes of one state file */

/* The lock fd lives beside the public struct, which the drivers see. */
struct driver_full {
    struct paved_driver df_d; /* first: a paved_driver * is this */
    int df_lock;              /* flock held from open to close */
};

static const struct driver_ops *
driver_ops_for(enum paved_env_driver kind)
{
    switch (kind) {
    case PAVED_ENV_DRIVER_LOCAL:
        return &driver_local_ops;
    case PAVED_ENV_DRIVER_KUBERNETES:
        return &driver_kubernetes_ops;
    case PAVED_ENV_DRIVER_EXEC:
        return &driver_exec_ops;
    }
    return NULL;
}

/* A service name is a DNS label; it also names a file, so nothing else
 * (no "/", no "..") may pass. */
static int
driver_check_service(const char *service)
{
    size_t i, n;

    if (service == NULL || (n = strlen(service)) == 0 || n > 63)
        goto bad;
    for (i = 0; i < n; i++) {
        char c = service[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              (c == '-' && i > 0 && i + 1 < n)))
            goto bad;
    }
    /* targets.json shares the directory with the state files */
    if (strcmp(service, "targets") == 0)
        return paved_error_set(PAVED_EINVAL,
                               "service name \"targets\" is reserved by the "
                               "deploy drivers (it names targets.json)");
    return 0;
bad:
    return paved_error_set(PAVED_EINVAL,
                           "service name \"%s\" is not a DNS label "
                           "(lower-case letters, digits and inner dashes, at "
                           "most 63)",
                           service != NULL ? service : "(null)");
}

int
paved_driver_open(paved_driver **out, const struct paved_driver_opts *o)
{
    struct driver_full *df = NULL;
    char lock[4096];
    int error, n;

    *out = NULL;
    if (o == NULL || o->do_env == NULL || o->do_state_dir == NULL ||
        o->do_state_dir[0] == '\0')
        return paved_error_set(PAVED_EINVAL,
                               "driver: an environment and a state directory "
                               "are required");
    if ((df = calloc(1, sizeof(*df))) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    df->df_lock = -1;
    df->df_d.d_env = o->do_env;
    df->df_d.d_progress = o->do_progress;
    df->df_d.d_dry_run = o->do_dry_run;
    df->df_d.d_ops = driver_ops_for(paved_environment_driver(o->do_env));
    if (df->df_d.d_ops == NULL) {
        error = paved_error_set(PAVED_EINVAL, "driver: unknown driver");
        goto out;
    }
    if ((df->df_d.d_state_dir = strdup(o->do_state_dir)) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    if ((error = paved_mkdirs(o->do_state_dir, 0700)) < 0)
        goto out;
    n = snprintf(lock, sizeof(lock), "%s/.lock", o->do_state_dir);
    if (n < 0 || (size_t)n >= sizeof(lock)) {
        error = paved_error_set(PAVED_EINVAL, "state directory: too long");
        goto out;
    }
    df->df_lock = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (df->df_lock < 0) {
        error =
            paved_error_set(PAVED_ERROR, "open %s: %s", lock, strerror(errno));
        goto out;
    }
    /* Two processes driving one environment would each believe their own
     * state file; the second waits for the first to finish its step. */
    while (flock(df->df_lock, LOCK_EX) < 0) {
        if (errno != EINTR) {
            error = paved_error_set(PAVED_ERROR, "flock %s: %s", lock,
                                    strerror(errno));
            goto out;
        }
    }
    if ((error = df->df_d.d_ops->do_open(&df->df_d)) < 0)
        goto out;
    *out = &df->df_d;
    df = NULL;
    error = 0;
out:
    if (df != NULL) {
        if (df->df_lock >= 0)
            close(df->df_lock);
        free(df->df_d.d_state_dir);
        free(df);
    }
    return error;
}

void
paved_driver_close(paved_driver *d)
{
    struct driver_full *df = (struct driver_full *)d;

    if (d == NULL)
        return;
    if (d->d_ops != NULL && d->d_ops->do_close != NULL)
        d->d_ops->do_close(d);
    if (df->df_lock >= 0)
        close(df->df_lock); /* releases the flock */
    free(d->d_state_dir);
    free(df);
}

void
driver_progress(paved_driver *d, const char *fmt, ...)
{
    va_list ap;

    if (d == NULL || d->d_progress == NULL)
        return;
    fprintf(d->d_progress, "driver %s (%s): ", d->d_ops->do_name,
            paved_environment_name(d->d_env));
    va_start(ap, fmt);
    vfprintf(d->d_progress, fmt, ap);
    va_end(ap);
    fputc('\n', d->d_progress);
    fflush(d->d_progress);
}

static int
driver_state_path(char *buf, size_t size, paved_driver *d, const char *service,
                  const char *suffix)
{
    int n =
        snprintf(buf, size, "%s/%s.json%s", d->d_state_dir, service, suffix);

    if (n < 0 || (size_t)n >= size)
        return paved_error_set(PAVED_EINVAL, "state path too long");
    return 0;
}

/* Like driver_state_load, but PAVED_ENOTFOUND when there is no file. */
static int
driver_state_read(json_t **out, paved_driver *d, const char *service)
{
    char path[4096];
    json_error_t jerr;
    json_t *st;
    int error;

    *out = NULL;
    if ((error = driver_state_path(path, sizeof(path), d, service, "")) < 0)
        return error;
    if (access(path, F_OK) < 0 && errno == ENOENT)
        return PAVED_ENOTFOUND;
    st = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (st == NULL)
        return paved_error_set(PAVED_EINVAL, "state file %s: %s (line %d)",
                               path, jerr.text, jerr.line);
    if (!json_is_object(st)) {
        json_decref(st);
        return paved_error_set(PAVED_EINVAL, "state file %s: not a JSON object",
                               path);
    }
    *out = st;
    return 0;
}

int
driver_state_load(json_t **out, paved_driver *d, const char *service)
{
    int error = driver_state_read(out, d, service);

    if (error == PAVED_ENOTFOUND) {
        if ((*out = json_object()) == NULL)
            return paved_error_set(PAVED_ENOMEM, "out of memory");
        return 0;
    }
    return error;
}

/* Writes text to path atomically: a temporary file beside it, fsync,
 * rename, fsync of the directory, so a crash leaves the old or the new
 * file and never half of one. */
int
driver_write_atomic(const char *path, const char *text, mode_t mode)
{
    char tmp[4096], dir[4096];
    size_t len = strlen(text), off = 0;
    char *slash;
    int fd = -1, n, error = 0;

    n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return paved_error_set(PAVED_EINVAL, "path too long: %s", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return paved_error_set(PAVED_ERROR, "open %s: %s", tmp,
                               strerror(errno));
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            error = paved_error_set(PAVED_ERROR, "write %s: %s", tmp,
                                    strerror(errno));
            goto out;
        }
        off += (size_t)w;
    }
    if (fsync(fd) < 0) {
        error =
            paved_error_set(PAVED_ERROR, "fsync %s: %s", tmp, strerror(errno));
        goto out;
    }
    close(fd);
    fd = -1;
    if (rename(tmp, path) < 0) {
        error =
            paved_error_set(PAVED_ERROR, "rename %s: %s", tmp, strerror(errno));
        goto out;
    }
    memcpy(dir, path, strlen(path) + 1);
    if ((slash = strrchr(dir, '/')) != NULL) {
        *slash = '\0';
        if ((fd = open(dir[0] != '\0' ? dir : "/",
                       O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
            (void)fsync(fd); /* best effort: the rename is done */
            close(fd);
            fd = -1;
        }
    }
out:
    if (fd >= 0)
        close(fd);
    if (error < 0)
        unlink(tmp);
    return error;
}

int
driver_state_save(paved_driver *d, const char *service, json_t *st)
{
    char path[4096];
    char *text;
    int error;

    if ((error = driver_state_path(path, sizeof(path), d, service, "")) < 0)
        return error;
    text = json_dumps(st, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (text == NULL)
        return paved_error_set(PAVED_ENOMEM, "state file: cannot encode");
    if (strlen(text) > DRIVER_STATE_MAX)
        error =
            paved_error_set(PAVED_ETOOBIG, "state file %s: too large", path);
    else
        error = driver_write_atomic(path, text, 0600);
    free(text);
    return error;
}

static int
driver_json_set_str(json_t *o, const char *key, const char *val)
{
    json_t *v = val != NULL ? json_string(val) : json_null();

    if (v == NULL || json_object_set_new(o, key, v) < 0)
        return -1;
    return 0;
}

json_t *
driver_version_json(const struct paved_version *v)
{
    json_t *o = json_object();

    if (o == NULL)
        return NULL;
    if (driver_json_set_str(o, "service", v->v_service) < 0 ||
        driver_json_set_str(o, "version", v->v_version) < 0 ||
        driver_json_set_str(o, "sha", v->v_sha) < 0 ||
        driver_json_set_str(o, "kind", v->v_kind) < 0 ||
        driver_json_set_str(o, "artifact", v->v_artifact) < 0 ||
        driver_json_set_str(o, "digest", v->v_digest) < 0 ||
        driver_json_set_str(o, "start", v->v_start) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

void
paved_driver_state_dispose(struct paved_driver_state *s)
{
    if (s == NULL)
        return;
    free(s->ds_stable_version);
    free(s->ds_stable_digest);
    free(s->ds_stable_artifact);
    free(s->ds_stable_sha);
    free(s->ds_candidate_version);
    free(s->ds_candidate_digest);
    free(s->ds_candidate_artifact);
    free(s->ds_candidate_sha);
    memset(s, 0, sizeof(*s));
}

/* A copy of a string member of obj, NULL when absent; -1 out of memory. */
static int
driver_dup_member(char **out, json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));

    *out = NULL;
    if (s == NULL)
        return 0;
    if ((*out = strdup(s)) == NULL)
        return -1;
    return 0;
}

int
paved_driver_state(struct paved_driver_state *out, paved_driver *d,
                   const char *service)
{
    json_t *st = NULL, *sv, *cv, *w;
    int error;

    memset(out, 0, sizeof(*out));
    if ((error = driver_check_service(service)) < 0)
        return error;
    if ((error = driver_state_read(&st, d, service)) < 0) {
        if (error == PAVED_ENOTFOUND)
            return paved_error_set(PAVED_ENOTFOUND,
                                   "service %s never ran in environment %s",
                                   service, paved_environment_name(d->d_env));
        return error;
    }
    sv = json_object_get(st, "stable");
    cv = json_object_get(st, "candidate");
    if ((json_is_object(sv) &&
         (driver_dup_member(&out->ds_stable_version, sv, "version") < 0 ||
          driver_dup_member(&out->ds_stable_digest, sv, "digest") < 0 ||
          driver_dup_member(&out->ds_stable_artifact, sv, "artifact") < 0 ||
          driver_dup_member(&out->ds_stable_sha, sv, "sha") < 0)) ||
        (json_is_object(cv) &&
         (driver_dup_member(&out->ds_candidate_version, cv, "version") < 0 ||
          driver_dup_member(&out->ds_candidate_digest, cv, "digest") < 0 ||
          driver_dup_member(&out->ds_candidate_artifact, cv, "artifact") < 0 ||
          driver_dup_member(&out->ds_candidate_sha, cv, "sha") < 0))) {
        paved_driver_state_dispose(out);
        json_decref(st);
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    }
    w = json_object_get(st, "weight");
    out->ds_weight = json_is_integer(w) && json_integer_value(w) >= 0 &&
                             json_integer_value(w) <= 100
                         ? (unsigned)json_integer_value(w)
                         : 0;
    json_decref(st);
    return 0;
}

/* Which step a dispatch runs; the arguments ride along. */
enum driver_step { STEP_START, STEP_ROUTE, STEP_PROMOTE, STEP_ABORT };

static int
driver_dispatch(paved_driver *d, enum driver_step step, const char *service,
                const struct paved_version *v, unsigned weight)
{
    json_t *st = NULL;
    int error, serror;

    if (d == NULL)
        return paved_error_set(PAVED_EINVAL, "driver: not open");
    if ((error = driver_check_service(service)) < 0)
        return error;
    if ((error = driver_state_load(&st, d, service)) < 0)
        return error;
    switch (step) {
    case STEP_START:
        error = d->d_ops->do_start(d, st, v);
        break;
    case STEP_ROUTE:
        error = d->d_ops->do_route(d, st, service, weight);
        break;
    case STEP_PROMOTE:
        error = d->d_ops->do_promote(d, st, service);
        break;
    case STEP_ABORT:
        error = d->d_ops->do_abort(d, st, service);
        break;
    }
    /* saved after a failure too: a half-done step must be known (a
     * process started, a candidate stopped) */
    if (error < 0) {
        char *keep = strdup(paved_error_last());

        /* a step refused before it did anything leaves no file behind:
         * the service did not come to run here */
        if (json_object_size(st) > 0)
            (void)driver_state_save(d, service, st);
        if (keep != NULL) {
            paved_error_set(error, "%s", keep);
            free(keep);
        }
    } else if ((serror = driver_state_save(d, service, st)) < 0) {
        error = serror;
    }
    json_decref(st);
    return error;
}

/* A version label goes into nginx's configuration, Prometheus labels and
 * process environments: a tag name may hold quotes, braces or semicolons
 * (git allows them), none of which is safe in all of those. */
int
paved_driver_check_version(const char *s)
{
    size_t n = 0;

    for (; s != NULL && s[n] != '\0' && n <= 128; n++)
        if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
              (s[n] >= '0' && s[n] <= '9') || s[n] == '.' || s[n] == '-' ||
              s[n] == '_' || s[n] == '+'))
            break;
    if (n > 0 && n <= 128 && s[n] == '\0')
        return 0;
    return paved_error_set(PAVED_EINVAL,
                           "version \"%.64s\" cannot be deployed: a version "
                           "is 1 to 128 of A-Z a-z 0-9 . - _ + (name the tag "
                           "so)",
                           s != NULL ? s : "");
}

int
paved_driver_start(paved_driver *d, const struct paved_version *v)
{
    if (v == NULL || v->v_version == NULL || v->v_version[0] == '\0' ||
        v->v_kind == NULL || v->v_artifact == NULL)
        return paved_error_set(PAVED_EINVAL,
                               "driver start: a version, a kind and an "
                               "artifact are required");
    return driver_dispatch(d, STEP_START, v->v_service, v, 0);
}

int
paved_driver_route(paved_driver *d, const char *service, unsigned weight)
{
    if (weight > 100)
        return paved_error_set(
            PAVED_EINVAL, "driver route: weight %u is not a percent", weight);
    return driver_dispatch(d, STEP_ROUTE, service, NULL, weight);
}

int
paved_driver_promote(paved_driver *d, const char *service)
{
    return driver_dispatch(d, STEP_PROMOTE, service, NULL, 0);
}

int
paved_driver_abort(paved_driver *d, const char *service)
{
    return driver_dispatch(d, STEP_ABORT, service, NULL, 0);
}

static int
driver_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The services with a state file, sorted: names of "<service>.json"
 * (targets.json and files that are no service's are skipped). */
int
paved_driver_services(char ***out, size_t *n, paved_driver *d)
{
    DIR *dir;
    struct dirent *de;
    char **names = NULL, **grown;
    size_t count = 0, cap = 0;
    int error = 0;

    *out = NULL;
    *n = 0;
    if ((dir = opendir(d->d_state_dir)) == NULL)
        return paved_error_set(PAVED_ERROR, "opendir %s: %s", d->d_state_dir,
                               strerror(errno));
    while ((de = readdir(dir)) != NULL) {
        size_t len = strlen(de->d_name);
        char *name;

        if (len <= 5 || strcmp(de->d_name + len - 5, ".json") != 0)
            continue;
        if ((name = strndup(de->d_name, len - 5)) == NULL) {
            error = paved_error_set(PAVED_ENOMEM, "out of memory");
            goto out;
        }
        if (driver_check_service(name) < 0) {
            free(name); /* targets.json, or not ours */
            paved_error_clear();
            continue;
        }
        if (count == cap) {
            cap = cap ? cap * 2 : 8;
            if ((grown = realloc(names, cap * sizeof(*names))) == NULL) {
                free(name);
                error = paved_error_set(PAVED_ENOMEM, "out of memory");
                goto out;
            }
            names = grown;
        }
        names[count++] = name;
    }
    if (count > 1)
        qsort(names, count, sizeof(*names), driver_cmp);
    *out = names;
    *n = count;
    names = NULL;
out:
    closedir(dir);
    if (names != NULL) {
        while (count > 0)
            free(names[--count]);
        free(names);
    }
    return error;
}

int
paved_driver_reconcile(paved_driver *d, bool *changed)
{
    char **names = NULL, *msg = NULL;
    size_t n = 0, i;
    json_t *st = NULL;
    int error, serror, first = 0;

    *changed = false;
    if (d == NULL)
        return paved_error_set(PAVED_EINVAL, "driver: not open");
    if ((error = paved_driver_services(&names, &n, d)) < 0)
        return error;
    /* every service is repaired even when one fails: the first error is
     * what the caller sees */
    for (i = 0; i < n; i++) {
        bool ch = false;

        if ((error = driver_state_load(&st, d, names[i])) == 0) {
            error = d->d_ops->do_reconcile(d, st, names[i], &ch);
            if ((serror = driver_state_save(d, names[i], st)) < 0 && error == 0)
                error = serror;
            json_decref(st);
            st = NULL;
        }
        if (ch)
            *changed = true;
        if (error < 0 && first == 0) {
            first = error;
            free(msg);
            msg = strdup(paved_error_last());
        }
    }
    for (i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (first < 0 && msg != NULL)
        paved_error_set(first, "%s", msg);
    free(msg);
    return first;
}
