/* What a step process sees: a small fixed base (PATH, HOME, LANG, CI),
 * the pipeline's env, the step's env, resolved secrets, then the PAVED_*
 * event variables last so that nothing can override them. Event text
 * (branch names, PR titles) is only ever an environment value here; it is
 * never placed in a script. Nothing else of the daemon's environment is
 * passed on: it holds paved's own secrets. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "paved/config.h"
#include "paved/error.h"
#include "sched/sched_int.h"

#define ENV_SECRET_MAX (64 * 1024)

struct envb {
    char **e_items;
    size_t e_n;
    size_t e_cap;
    int e_failed;
};

static const char *
env_lookup(char *const *envp, const char *key)
{
    size_t klen = strlen(key);

    for (; envp != NULL && *envp != NULL; envp++)
        if (strncmp(*envp, key, klen) == 0 && (*envp)[klen] == '=')
            return *envp + klen + 1;
    return NULL;
}

/* Sets key (replacing an earlier value); a NULL value is skipped. */
static void
env_set(struct envb *e, const char *key, const char *value)
{
    size_t klen = strlen(key), i, len;
    char *item;

    if (value == NULL || e->e_failed)
        return;
    len = klen + strlen(value) + 2;
    if ((item = malloc(len)) == NULL) {
        e->e_failed = 1;
        return;
    }
    snprintf(item, len, "%s=%s", key, value);
    for (i = 0; i < e->e_n; i++) {
        if (strncmp(e->e_items[i], key, klen) == 0 &&
            e->e_items[i][klen] == '=') {
            free(e->e_items[i]);
            e->e_items[i] = item;
            return;
        }
    }
    if (e->e_n + 2 > e->e_cap) {
        size_t ncap = e->e_cap > 0 ? e->e_cap * 2 : 32;
        char **p = realloc(e->e_items, ncap * sizeof(*p));
        if (p == NULL) {
            free(item);
            e->e_failed = 1;
            return;
        }
        e->e_items = p;
        e->e_cap = ncap;
    }
    e->e_items[e->e_n++] = item;
    e->e_items[e->e_n] = NULL;
}

/* A path of the daemon's configuration, made absolute: a step runs in
 * its workspace, where a relative one means something else. A path that
 * does not exist yet is joined to the daemon's directory. */
static void
env_set_path(struct envb *e, const char *key, const char *path)
{
    char buf[PATH_MAX], cwd[PATH_MAX];

    if (path == NULL)
        return;
    if (path[0] == '/' || realpath(path, buf) == NULL) {
        if (path[0] != '/' && getcwd(cwd, sizeof(cwd)) != NULL &&
            (size_t)snprintf(buf, sizeof(buf), "%s/%s", cwd, path) <
                sizeof(buf)) {
            env_set(e, key, buf);
            return;
        }
        env_set(e, key, path);
        return;
    }
    env_set(e, key, buf);
}

void
sched_env_free(char **env)
{
    size_t i;

    if (env == NULL)
        return;
    for (i = 0; env[i] != NULL; i++)
        free(env[i]);
    free(env);
}

int
sched_step_env(char ***out, const struct sched_run *r,
               const struct sched_step *st)
{
    const paved_sched *s = r->r_sched;
    const struct paved_event *ev = &r->r_ev;
    const struct paved_pipeline_kv *kv;
    struct envb e;
    char num[32], attempt[16], *annotations;
    const char *v;
    size_t n, i;

    *out = NULL;
    memset(&e, 0, sizeof(e));
    v = env_lookup(s->s_deps.sd_environ, "PATH");
    env_set(&e, "PATH", v != NULL ? v : "/usr/local/bin:/usr/bin:/bin");
    v = env_lookup(s->s_deps.sd_environ, "HOME");
    env_set(&e, "HOME", v != NULL ? v : r->r_workspace);
    env_set(&e, "LANG", "C.UTF-8");
    env_set(&e, "CI", "true");
    kv = paved_pipeline_env(r->r_pl, &n);
    for (i = 0; i < n; i++)
        env_set(&e, kv[i].kv_key, kv[i].kv_value);
    for (i = 0; i < st->ss_def->st_nenv; i++)
        env_set(&e, st->ss_def->st_env[i].kv_key,
                st->ss_def->st_env[i].kv_value);
    /* a step a repository added through .paved.yaml gets no secrets */
    if (!st->ss_def->st_from_repo && r->r_secret_values != NULL)
        for (i = 0; i < r->r_nsecrets; i++)
            env_set(&e, r->r_secret_names[i], r->r_secret_values[i]);
    env_set(&e, "PAVED_EVENT", paved_event_kind_name(ev->ev_kind));
    env_set(&e, "PAVED_ACTION", ev->ev_action);
    env_set(&e, "PAVED_FORGE", paved_forge_name(ev->ev_forge));
    env_set(&e, "PAVED_REPO", ev->ev_repo);
    env_set(&e, "PAVED_REF", ev->ev_ref);
    env_set(&e, "PAVED_BRANCH", ev->ev_branch);
    env_set(&e, "PAVED_TAG", ev->ev_tag);
    env_set(&e, "PAVED_SHA", ev->ev_sha);
    env_set(&e, "PAVED_BEFORE", ev->ev_before);
    if (ev->ev_pr_number > 0) {
        snprintf(num, sizeof(num), "%lld", ev->ev_pr_number);
        env_set(&e, "PAVED_PR_NUMBER", num);
    }
    env_set(&e, "PAVED_PR_TITLE", ev->ev_pr_title);
    env_set(&e, "PAVED_PR_BASE", ev->ev_pr_base);
    env_set(&e, "PAVED_ACTOR", ev->ev_actor);
    env_set(&e, "PAVED_DELIVERY", ev->ev_delivery);
    env_set(&e, "PAVED_ENV", r->r_rec->ru_env);
    snprintf(num, sizeof(num), "%lld", (long long)r->r_rec->ru_id);
    env_set(&e, "PAVED_RUN_ID", num);
    env_set(&e, "PAVED_PIPELINE", r->r_rec->ru_pipeline);
    env_set(&e, "PAVED_STEP", st->ss_def->st_name);
    snprintf(attempt, sizeof(attempt), "%u", st->ss_rec.sr_attempts);
    env_set(&e, "PAVED_ATTEMPT", attempt);
    env_set(&e, "PAVED_WORKSPACE", r->r_workspace);
    /* where a step writes annotations for the check run, one JSON object
     * a line (docs/reporting.md) */
    if ((annotations = sched_step_file(st, "annotations")) == NULL)
        e.e_failed = 1;
    env_set(&e, "PAVED_ANNOTATIONS", annotations);
    free(annotations);
    /* markdown a step wants on the check run (docs/reporting.md) */
    if ((annotations = sched_step_file(st, "summary")) == NULL)
        e.e_failed = 1;
    env_set(&e, "PAVED_SUMMARY", annotations);
    free(annotations);
    /* a built-in step: paved itself, and its with: parameters; the
     * delivery steps open the store and environments themselves, from
     * a workspace, so they get absolute paths */
    if (st->ss_def->st_uses != NULL) {
        const struct paved_config *cf = s->s_deps.sd_config;
        env_set(&e, "PAVED_EXE", s->s_exe);
        env_set(&e, "PAVED_KIND", st->ss_def->st_uses);
        if (cf != NULL) {
            env_set_path(&e, "PAVED_DATA_DIR", cf->cf_data_dir);
            env_set_path(&e, "PAVED_ENVIRONMENTS_DIR", cf->cf_environments_dir);
            env_set(&e, "PAVED_STORE", cf->cf_store);
        }
        for (i = 0; i < st->ss_def->st_nwith; i++) {
            char key[96];
            size_t k;
            snprintf(key, sizeof(key), "PAVED_WITH_%s",
                     st->ss_def->st_with[i].kv_key);
            for (k = 0; key[k] != '\0'; k++)
                if (key[k] >= 'a' && key[k] <= 'z')
                    key[k] = (char)(key[k] - 'a' + 'A');
            env_set(&e, key, st->ss_def->st_with[i].kv_value);
        }
    }
    if (e.e_failed || e.e_items == NULL) {
        sched_env_free(e.e_items);
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    }
    *out = e.e_items;
    return 0;
}

static int
secret_read_file(char **out, const char *dir, const char *name)
{
    char *path = sched_path(dir, name, NULL), *buf = NULL;
    size_t len = 0;
    ssize_t got;
    int fd = -1, error = 0;

    *out = NULL;
    if (path == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
        error = paved_error_set(errno == ENOENT ? PAVED_ENOTFOUND : PAVED_ERROR,
                                "secret \"%s\" is not set (put it in %s or "
                                "set PAVED_SECRET_%s for paved)",
                                name, path, name);
        goto out;
    }
    if ((buf = malloc(ENV_SECRET_MAX + 1)) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    while (len < ENV_SECRET_MAX &&
           (got = read(fd, buf + len, ENV_SECRET_MAX - len)) != 0) {
        if (got < 0) {
            if (errno == EINTR)
                continue;
            error = paved_error_set(PAVED_ERROR, "read secret %s: %s", path,
                                    strerror(errno));
            goto out;
        }
        len += (size_t)got;
    }
    /* files written with echo end in a newline that is not the secret */
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        len--;
    buf[len] = '\0';
    *out = buf;
    buf = NULL;
out:
    if (buf != NULL) {
        explicit_bzero(buf, ENV_SECRET_MAX);
        free(buf);
    }
    if (fd >= 0)
        close(fd);
    free(path);
    return error;
}

int
sched_secrets_resolve(char ***values, char *const *names, size_t n,
                      char *const *environ_, const char *secrets_dir)
{
    char **vals, key[256];
    size_t i;
    int error = 0;

    *values = NULL;
    if ((vals = calloc(n + 1, sizeof(*vals))) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    for (i = 0; i < n && error == 0; i++) {
        const char *v;
        snprintf(key, sizeof(key), "PAVED_SECRET_%s", names[i]);
        if ((v = env_lookup(environ_, key)) != NULL) {
            if ((vals[i] = strdup(v)) == NULL)
                error = paved_error_set(PAVED_ENOMEM, "out of memory");
        } else {
            error = secret_read_file(&vals[i], secrets_dir, names[i]);
        }
    }
    if (error < 0) {
        for (i = 0; i < n; i++) {
            if (vals[i] != NULL) {
                explicit_bzero(vals[i], strlen(vals[i]));
                free(vals[i]);
            }
        }
        free(vals);
        return error;
    }
    *values = vals;
    return 0;
}
