/* Checking a tree: walk a directory (a checkout, a laptop's repository),
 * hand each file to the checkers that want it, then the rules that need
 * the whole set, then the repository's policy. Secrets are looked for in
 * every text file, or, given a base commit, only in the lines the new
 * commits add (libgit2), which is what a push or a pull request should be
 * judged on: an old leak is not this change's finding. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>

#include "guard/guard_int.h"
#include "paved/buf.h"
#include "paved/error.h"

#define TREE_FILE_MAX (4 * 1024 * 1024) /* larger files are not read */
#define TREE_DEPTH_MAX 64
#define TREE_FILES_MAX 200000
#define TREE_POLICY ".paved/policy.yaml"

static const struct paved_rule tree_rules[] = {
    {"docker.healthcheck", PAVED_SEV_MEDIUM,
     "the image has a HEALTHCHECK, or its manifests have probes"},
};

const struct paved_rule *
guard_tree_rules(size_t *n)
{
    *n = sizeof(tree_rules) / sizeof(tree_rules[0]);
    return tree_rules;
}

struct tree_ctx {
    const struct paved_guard_opts *t_o;
    struct paved_guard_result *t_r;
    guard_k8s *t_k8s;
    bool t_scan_secrets; /* whole files (no base) */
    char **t_nohealth;   /* Dockerfiles without HEALTHCHECK */
    size_t t_nnohealth;
    struct paved_buf t_path; /* relative path being walked */
};

static bool
tree_has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* The whole file, at most TREE_FILE_MAX bytes: 1 read, 0 skipped. */
static int
tree_read(char **out, size_t *len, int dirfd, const char *name)
{
    struct stat sb;
    char *buf;
    size_t got = 0;
    ssize_t n;
    int fd;

    *out = NULL;
    if ((fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
        return 0;
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) ||
        sb.st_size > TREE_FILE_MAX) {
        close(fd);
        return 0;
    }
    if ((buf = malloc((size_t)sb.st_size + 1)) == NULL) {
        close(fd);
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    }
    while (got < (size_t)sb.st_size &&
           (n = read(fd, buf + got, (size_t)sb.st_size - got)) > 0)
        got += (size_t)n;
    close(fd);
    buf[got] = '\0';
    *out = buf;
    *len = got;
    return 1;
}

static int
tree_file(struct tree_ctx *t, int dirfd, const char *name)
{
    const char *path = t->t_path.b_ptr;
    struct guard_docker_facts df;
    char *data = NULL;
    size_t len = 0;
    int error;

    if ((error = tree_read(&data, &len, dirfd, name)) <= 0)
        return error;
    t->t_r->gr_files++;
    if (guard_dockerfile_name(name)) {
        memset(&df, 0, sizeof(df));
        t->t_r->gr_dockerfiles++;
        if ((error = guard_dockerfile(&t->t_r->gr_findings, &df, path, data,
                                      len)) < 0)
            goto out;
        if (!df.df_healthcheck) {
            char **v =
                realloc(t->t_nohealth, (t->t_nnohealth + 1) * sizeof(*v));
            if (v == NULL || (v[t->t_nnohealth] = strdup(path)) == NULL) {
                if (v != NULL)
                    t->t_nohealth = v;
                error = paved_error_set(PAVED_ENOMEM, "out of memory");
                goto out;
            }
            t->t_nohealth = v;
            t->t_nnohealth++;
        }
    } else if ((tree_has_suffix(name, ".yaml") ||
                tree_has_suffix(name, ".yml")) &&
               guard_k8s_looks_like(data, len)) {
        t->t_r->gr_manifests++;
        if ((error = guard_k8s_add(t->t_k8s, &t->t_r->gr_findings, path, data,
                                   len)) < 0)
            goto out;
    }
    if (t->t_scan_secrets &&
        (error = guard_secrets_scan(&t->t_r->gr_findings, path, data, len, 1)) <
            0)
        goto out;
    error = 0;
out:
    free(data);
    return error;
}

/* dirfd is consumed. */
static int
tree_walk(struct tree_ctx *t, int dirfd, unsigned depth)
{
    size_t base = t->t_path.b_len;
    struct dirent *de;
    DIR *dir;
    bool chart;
    int error = 0;

    if (depth > TREE_DEPTH_MAX) {
        close(dirfd);
        return 0;
    }
    if ((dir = fdopendir(dirfd)) == NULL) {
        close(dirfd);
        return 0;
    }
    /* a Helm chart's templates are not YAML until rendered */
    chart = faccessat(dirfd, "Chart.yaml", F_OK, AT_SYMLINK_NOFOLLOW) == 0;
    while ((de = readdir(dir)) != NULL && error == 0) {
        unsigned char type = de->d_type;
        struct stat sb;
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
            strcmp(de->d_name, ".git") == 0 ||
            strcmp(de->d_name, "node_modules") == 0 ||
            (chart && strcmp(de->d_name, "templates") == 0))
            continue;
        /* the directory entry says what it is on most file systems: a
         * stat per entry is only for those that do not */
        if (type == DT_UNKNOWN) {
            if (fstatat(dirfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
                continue;
            type = S_ISDIR(sb.st_mode)   ? DT_DIR
                   : S_ISREG(sb.st_mode) ? DT_REG
                                         : DT_UNKNOWN;
        }
        if (type != DT_DIR && type != DT_REG)
            continue;
        if (t->t_r->gr_files >= TREE_FILES_MAX)
            break;
        t->t_path.b_len = base;
        if ((base > 0 && paved_buf_putc(&t->t_path, '/') < 0) ||
            paved_buf_puts(&t->t_path, de->d_name) < 0) {
            error = paved_error_set(PAVED_ENOMEM, "out of memory");
            break;
        }
        t->t_path.b_ptr[t->t_path.b_len] = '\0';
        if (type == DT_DIR) {
            int sub = openat(dirfd, de->d_name,
                             O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0)
                error = tree_walk(t, sub, depth + 1);
        } else {
            error = tree_file(t, dirfd, de->d_name);
        }
    }
    closedir(dir);
    t->t_path.b_len = base;
    if (t->t_path.b_ptr != NULL)
        t->t_path.b_ptr[base] = '\0';
    return error;
}

/* ---- secrets in the added lines ----------------------------------------- */

struct tree_diff {
    struct tree_ctx *d_t;
    struct paved_buf d_run; /* consecutive added lines */
    char *d_path;
    unsigned d_first; /* the run's first line number */
    unsigned d_next;  /* the line number that would extend it */
    int d_error;
};

static void
tree_diff_flush(struct tree_diff *d)
{
    if (d->d_run.b_len > 0 && d->d_path != NULL && d->d_error == 0)
        d->d_error =
            guard_secrets_scan(&d->d_t->t_r->gr_findings, d->d_path,
                               d->d_run.b_ptr, d->d_run.b_len, d->d_first);
    paved_buf_clear(&d->d_run);
}

static int
tree_diff_line(const git_diff_delta *delta, const git_diff_hunk *hunk,
               const git_diff_line *line, void *payload)
{
    struct tree_diff *d = payload;
    const char *path = delta->new_file.path;

    (void)hunk;
    if (d->d_error < 0)
        return -1;
    if (d->d_path == NULL || strcmp(d->d_path, path) != 0) {
        tree_diff_flush(d);
        free(d->d_path);
        if ((d->d_path = strdup(path)) == NULL) {
            d->d_error = paved_error_set(PAVED_ENOMEM, "out of memory");
            return -1;
        }
    }
    if (line->origin != GIT_DIFF_LINE_ADDITION || line->new_lineno < 1) {
        tree_diff_flush(d);
        return 0;
    }
    if (d->d_run.b_len > 0 && (unsigned)line->new_lineno != d->d_next)
        tree_diff_flush(d);
    if (d->d_run.b_len == 0)
        d->d_first = (unsigned)line->new_lineno;
    d->d_next = (unsigned)line->new_lineno + 1;
    if (paved_buf_put(&d->d_run, line->content, line->content_len) < 0) {
        d->d_error = paved_error_set(PAVED_ENOMEM, "out of memory");
        return -1;
    }
    return 0;
}

static int
tree_tree_of(git_tree **out, git_repository *repo, const char *rev)
{
    git_object *obj = NULL;
    git_commit *c = NULL;
    int rc;

    if ((rc = git_revparse_single(&obj, repo, rev)) < 0)
        return rc;
    rc = git_object_peel((git_object **)&c, obj, GIT_OBJECT_COMMIT);
    git_object_free(obj);
    if (rc < 0)
        return rc;
    rc = git_commit_tree(out, c);
    git_commit_free(c);
    return rc;
}

/* 0: scanned the added lines; 1: could not, scan the tree instead (note
 * set); < 0: out of memory. */
static int
tree_diff_secrets(struct tree_ctx *t)
{
    git_repository *repo = NULL;
    git_tree *old = NULL, *new = NULL;
    git_object *bobj = NULL, *hobj = NULL;
    git_oid mb;
    git_diff *diff = NULL;
    git_diff_options dopt;
    struct tree_diff d;
    const git_error *ge;
    char why[512], hex[GIT_OID_HEXSZ + 1];
    int rc, error = 0;

    memset(&d, 0, sizeof(d));
    d.d_t = t;
    paved_buf_init(&d.d_run, TREE_FILE_MAX);
    git_libgit2_init();
    if ((rc = git_repository_open_ext(&repo, t->t_o->go_root,
                                      GIT_REPOSITORY_OPEN_NO_SEARCH, NULL)) <
            0 ||
        (rc = git_revparse_single(&bobj, repo, t->t_o->go_base)) < 0 ||
        (rc = git_revparse_single(&hobj, repo, "HEAD")) < 0)
        goto fallback;
    /* the commits HEAD adds: from the merge base, so a force push or a
     * pull request behind its base is judged on its own lines */
    if (git_merge_base(&mb, repo, git_object_id(bobj), git_object_id(hobj)) < 0)
        mb = *git_object_id(bobj);
    git_oid_tostr(hex, sizeof(hex), &mb);
    if ((rc = tree_tree_of(&old, repo, hex)) < 0 ||
        (rc = tree_tree_of(&new, repo, "HEAD")) < 0)
        goto fallback;
    git_diff_options_init(&dopt, GIT_DIFF_OPTIONS_VERSION);
    dopt.flags = GIT_DIFF_SKIP_BINARY_CHECK;
    dopt.context_lines = 0;
    if ((rc = git_diff_tree_to_tree(&diff, repo, old, new, &dopt)) < 0)
        goto fallback;
    rc = git_diff_foreach(diff, NULL, NULL, NULL, tree_diff_line, &d);
    tree_diff_flush(&d);
    if (d.d_error < 0) {
        error = d.d_error;
        goto out;
    }
    if (rc < 0)
        goto fallback;
    goto out;
fallback:
    ge = git_error_last();
    snprintf(why, sizeof(why),
             "secrets were looked for in the whole tree, not only in the "
             "lines since %s: %s",
             t->t_o->go_base, ge != NULL && ge->message ? ge->message : "");
    free(t->t_r->gr_note);
    if ((t->t_r->gr_note = strdup(why)) == NULL)
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
    else
        error = 1;
out:
    free(d.d_path);
    paved_buf_dispose(&d.d_run);
    git_diff_free(diff);
    git_tree_free(old);
    git_tree_free(new);
    git_object_free(bobj);
    git_object_free(hobj);
    git_repository_free(repo);
    git_libgit2_shutdown();
    return error;
}

/* ---- the whole check ---------------------------------------------------- */

static int
tree_policy(struct guard_policy **out, struct tree_ctx *t)
{
    char *data = NULL;
    size_t len = 0;
    int dirfd, error;

    if ((dirfd = open(t->t_o->go_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return guard_policy_default(out);
    error = tree_read(&data, &len, dirfd, TREE_POLICY);
    close(dirfd);
    if (error <= 0)
        return error < 0 ? error : guard_policy_default(out);
    error = guard_policy_parse(out, &t->t_r->gr_findings, TREE_POLICY, data,
                               len, t->t_o->go_today);
    free(data);
    return error;
}

int
paved_guard_check(struct paved_guard_result *out,
                  const struct paved_guard_opts *o)
{
    struct guard_k8s_opts ko;
    struct guard_policy *pol = NULL;
    struct tree_ctx t;
    struct stat sb;
    size_t i;
    int dirfd, error;

    memset(out, 0, sizeof(*out));
    memset(&t, 0, sizeof(t));
    t.t_o = o;
    t.t_r = out;
    paved_buf_init(&t.t_path, 4096);
    if (o->go_root == NULL)
        return paved_error_set(PAVED_EINVAL, "no directory to check");
    if (stat(o->go_root, &sb) < 0)
        return paved_error_set(PAVED_ENOTFOUND, "%s: %s", o->go_root,
                               strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return paved_error_set(PAVED_EINVAL,
                               "%s: not a directory: give the repository's "
                               "top directory",
                               o->go_root);
    if (o->go_today == NULL || strlen(o->go_today) != 10)
        return paved_error_set(PAVED_EINVAL, "today is not YYYY-MM-DD");
    memset(&ko, 0, sizeof(ko));
    ko.ko_startup_default = o->go_startup_default ? o->go_startup_default : 60;
    ko.ko_production = o->go_production;
    if ((error = guard_k8s_new(&t.t_k8s, &ko)) < 0)
        goto out;
    t.t_scan_secrets = o->go_base == NULL || o->go_base[0] == '\0';
    if (!t.t_scan_secrets) {
        if ((error = tree_diff_secrets(&t)) < 0)
            goto out;
        t.t_scan_secrets = error == 1;
    }
    if ((dirfd = open(o->go_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        error = paved_error_set(PAVED_ENOTFOUND, "%s: %s", o->go_root,
                                strerror(errno));
        goto out;
    }
    if ((error = tree_walk(&t, dirfd, 0)) < 0 ||
        (error = guard_k8s_finish(t.t_k8s, &out->gr_findings)) < 0)
        goto out;
    /* Kubernetes ignores HEALTHCHECK: probes stand in for it. A repository
     * whose manifests run only Jobs and CronJobs has nothing to probe:
     * its image runs once and exits. */
    if (!guard_k8s_has_probes(t.t_k8s) && !guard_k8s_batch_only(t.t_k8s))
        for (i = 0; i < t.t_nnohealth; i++)
            if ((error = guard_report(&out->gr_findings, "docker.healthcheck",
                                      t.t_nohealth[i], 0, 0,
                                      "no HEALTHCHECK in the final stage and "
                                      "no probes in the manifests: add a "
                                      "HEALTHCHECK, or readiness and "
                                      "liveness probes")) < 0)
                goto out;
    if ((error = tree_policy(&pol, &t)) < 0)
        goto out;
    out->gr_excepted = guard_policy_apply(pol, &out->gr_findings);
    out->gr_fail_on = o->go_fail_on >= 0 ? (enum paved_severity)o->go_fail_on
                                         : guard_policy_fail_on(pol);
    paved_findings_sort(&out->gr_findings);
    for (i = 0; i < out->gr_findings.fs_n; i++) {
        enum paved_severity s = out->gr_findings.fs_items[i].f_severity;
        out->gr_by_severity[s]++;
        if (s >= out->gr_fail_on)
            out->gr_failed = true;
    }
    error = 0;
out:
    guard_policy_free(pol);
    guard_k8s_free(t.t_k8s);
    for (i = 0; i < t.t_nnohealth; i++)
        free(t.t_nohealth[i]);
    free(t.t_nohealth);
    paved_buf_dispose(&t.t_path);
    return error;
}

void
paved_guard_result_dispose(struct paved_guard_result *r)
{
    if (r == NULL)
        return;
    paved_findings_dispose(&r->gr_findings);
    free(r->gr_note);
    memset(r, 0, sizeof(*r));
}
