/* `paved create-service` and `paved upgrade-service`: argument parsing,
 * the order of the steps, and what is printed. Rendering and git are
 * src/scaffold/'s, the catalog is the store's. Bad answers exit 2 and
 * write nothing; anything that fails after the files exist removes them
 * again. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "paved/config.h"
#include "paved/error.h"
#include "paved/scaffold.h"
#include "paved/store.h"

extern char **environ;

struct create_opts {
    const char *co_name, *co_type, *co_lang, *co_owner, *co_dir, *co_remote;
    const char *co_templates, *co_registry, *co_config, *co_repo;
    int co_db, co_queue, co_dry_run, co_json;
};

static int
create_usage(FILE *fp, const char *cmd)
{
    if (strcmp(cmd, "create-service") == 0)
        fprintf(fp, "usage: paved create-service --name=NAME "
                    "--type=api|worker|cron --lang=go|python|typescript\n"
                    "         [--db] [--queue] [--owner=TEAM] "
                    "[--dir=DIR | --remote=URL] [--repo=OWNER/NAME]\n"
                    "         [--dry-run] [--templates=DIR] [--registry=HOST] "
                    "[--config=FILE] [--json]\n");
    else
        fprintf(fp, "usage: paved upgrade-service DIR [--templates=DIR] "
                    "[--config=FILE] [--json]\n");
    return PAVED_EXIT_USAGE;
}

static int
create_parse(struct create_opts *o, int argc, char **argv)
{
    static const char *const keys[] = {
        "--name",   "--type",      "--lang",     "--owner",  "--dir",
        "--remote", "--templates", "--registry", "--config", "--repo"};
    const char **slots[] = {&o->co_name,      &o->co_type,     &o->co_lang,
                            &o->co_owner,     &o->co_dir,      &o->co_remote,
                            &o->co_templates, &o->co_registry, &o->co_config,
                            &o->co_repo};
    int i, rc;
    size_t k;

    memset(o, 0, sizeof(*o));
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--db") == 0) {
            o->co_db = 1;
            continue;
        }
        if (strcmp(argv[i], "--queue") == 0) {
            o->co_queue = 1;
            continue;
        }
        if (strcmp(argv[i], "--dry-run") == 0) {
            o->co_dry_run = 1;
            continue;
        }
        if (strcmp(argv[i], "--json") == 0) {
            o->co_json = 1;
            continue;
        }
        for (k = 0, rc = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
            if ((rc = cli_opt(slots[k], argc, argv, &i, keys[k])) != 0)
                break;
        if (rc == 1)
            continue;
        if (rc < 0)
            fprintf(stderr, "paved create-service: %s needs a value\n",
                    argv[i]);
        else
            fprintf(stderr, "paved create-service: unknown argument \"%s\"\n",
                    argv[i]);
        return create_usage(stderr, "create-service");
    }
    if (o->co_name == NULL || o->co_type == NULL || o->co_lang == NULL) {
        fprintf(stderr, "paved create-service: --name, --type and --lang "
                        "are required\n");
        return create_usage(stderr, "create-service");
    }
    return 0;
}

/* The forge's full name of the repository: --repo, else the last two parts
 * of the remote's path ("file:///srv/git/acme/checkout.git" ->
 * "acme/checkout"), else OWNER/NAME. It is what the catalog matches runs
 * by. */
static void
create_repo_name(char *out, size_t n, const struct create_opts *o,
                 const char *owner)
{
    char path[512], *last, *prev;
    size_t len;

    if (o->co_repo != NULL) {
        snprintf(out, n, "%s", o->co_repo);
        return;
    }
    snprintf(out, n, "%s/%s", owner, o->co_name);
    if (o->co_remote == NULL)
        return;
    snprintf(path, sizeof(path), "%s", o->co_remote);
    len = strlen(path);
    while (len > 0 && path[len - 1] == '/')
        path[--len] = '\0';
    if (len > 4 && strcmp(path + len - 4, ".git") == 0)
        path[len - 4] = '\0';
    if ((last = strrchr(path, '/')) == NULL &&
        (last = strrchr(path, ':')) == NULL)
        return;
    *last = '\0';
    prev = strrchr(path, '/');
    if (prev == NULL)
        prev = strrchr(path, ':');
    if (prev == NULL || prev[1] == '\0' || last[1] == '\0')
        return;
    snprintf(out, n, "%s/%s", prev + 1, last + 1);
}

/* A URL with a password in it would be printed, stored in the catalog and
 * served by the API: credentials belong in git_token / git_ssh_key. */
static int
create_remote_ok(const char *url)
{
    const char *auth = strstr(url, "://"), *end, *at, *colon;

    if (auth == NULL)
        return 1; /* a path or scp-like user@host:path: no password */
    auth += 3;
    end = auth + strcspn(auth, "/?#");
    at = memchr(auth, '@', (size_t)(end - auth));
    colon = at != NULL ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    return colon == NULL;
}

/* Prints and frees one JSON document on a line. */
static void
cli_print_json(json_t *doc)
{
    char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;

    if (text != NULL)
        printf("%s\n", text);
    else
        fprintf(stderr, "paved: out of memory\n");
    free(text);
    json_decref(doc);
}

static void
create_fail(const char *cmd, const char *what)
{
    fprintf(stderr, "paved %s: %s%s%s\n", cmd, what != NULL ? what : "",
            what != NULL ? ": " : "", paved_error_last());
}

int
paved_cli_create_service(int argc, char **argv)
{
    struct create_opts o;
    struct paved_config *cf = NULL;
    struct paved_scaffold_answers a;
    struct paved_scaffold *sc = NULL;
    struct paved_service rec, *found = NULL;
    struct paved_scaffold_identity id;
    struct paved_workspace_cred cred;
    paved_store *st = NULL;
    char dir[PATH_MAX], tmp[PATH_MAX] = "", abs[PATH_MAX], repo[256];
    char commit[41], why[512], top[PATH_MAX] = "";
    const char *templates;
    int rc, error, wrote = 0, keep = 0;
    size_t i;

    if ((rc = create_parse(&o, argc, argv)) != 0)
        return rc;
    if (paved_config_load(&cf, o.co_config, environ) < 0) {
        create_fail("create-service", NULL);
        return PAVED_EXIT_FAIL;
    }
    templates = o.co_templates != NULL ? o.co_templates : cf->cf_templates_dir;
    memset(&a, 0, sizeof(a));
    a.sa_name = o.co_name;
    a.sa_type = o.co_type;
    a.sa_lang = o.co_lang;
    a.sa_owner = o.co_owner != NULL ? o.co_owner : "unowned";
    a.sa_registry = o.co_registry != NULL ? o.co_registry : cf->cf_registry;
    a.sa_db = o.co_db;
    a.sa_queue = o.co_queue;
    if (paved_scaffold_check(&a) < 0) {
        create_fail("create-service", NULL);
        paved_config_free(cf);
        return PAVED_EXIT_USAGE;
    }
    if (o.co_remote != NULL && !create_remote_ok(o.co_remote)) {
        fprintf(stderr, "paved create-service: --remote holds a password: "
                        "it would be printed and kept in the catalog; give "
                        "the URL without it and the token as git_token "
                        "(PAVED_GIT_TOKEN) or a key as git_ssh_key\n");
        paved_config_free(cf);
        return PAVED_EXIT_USAGE;
    }
    rc = PAVED_EXIT_FAIL;
    if (paved_scaffold_render(&sc, templates, &a) < 0) {
        create_fail("create-service", "templates");
        goto out;
    }
    /* the target: --dir, else ./NAME, else (only --remote) a scratch
     * directory removed after the push */
    if (o.co_dir != NULL) {
        if ((size_t)snprintf(dir, sizeof(dir), "%s", o.co_dir) >= sizeof(dir)) {
            fprintf(stderr, "paved create-service: --dir is too long\n");
            goto out;
        }
    } else if (o.co_remote != NULL) {
        const char *t = getenv("TMPDIR");
        snprintf(tmp, sizeof(tmp), "%s/paved-create-XXXXXX",
                 t != NULL && *t != '\0' ? t : "/tmp");
        if (!o.co_dry_run && mkdtemp(tmp) == NULL) {
            fprintf(stderr, "paved create-service: %s: %s\n", tmp,
                    strerror(errno));
            goto out;
        }
        if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", tmp, o.co_name) >=
            sizeof(dir)) {
            fprintf(stderr, "paved create-service: TMPDIR is too long\n");
            goto out;
        }
    } else {
        snprintf(dir, sizeof(dir), "%s", o.co_name);
    }
    if (o.co_dir != NULL || o.co_remote == NULL) {
        struct stat sb;
        if (lstat(dir, &sb) == 0) {
            fprintf(stderr,
                    "paved create-service: %s already exists: paved never "
                    "writes into an existing path; choose another --dir or "
                    "remove it\n",
                    dir);
            goto out;
        }
    }
    if (cli_store_missing(why, sizeof(why), cf) != NULL) {
        if (!o.co_dry_run) {
            fprintf(stderr, "paved create-service: the catalog: %s\n", why);
            goto out;
        }
        error = PAVED_ENOTFOUND; /* a dry run still lists the files */
        fprintf(stderr,
                "paved create-service: the name was not checked "
                "against the catalog: %s\n",
                why);
    } else if ((error = cli_store_open(&st, cf)) < 0) {
        create_fail("create-service", "the catalog");
        goto out;
    } else {
        error = paved_store_service_get(&found, st, o.co_name);
    }
    if (error == 0) {
        fprintf(stderr,
                "paved create-service: the name \"%s\" is taken: the "
                "catalog has a %s service in %s by that name (paved "
                "services lists them); choose another name\n",
                o.co_name, found->sv_type, found->sv_lang);
        goto out;
    }
    if (error != PAVED_ENOTFOUND) {
        create_fail("create-service", "the catalog");
        goto out;
    }
    create_repo_name(repo, sizeof(repo), &o, a.sa_owner);
    if (o.co_dry_run) {
        if (o.co_json) {
            json_t *files = json_array();
            for (i = 0; i < sc->sc_n; i++)
                json_array_append_new(
                    files,
                    json_pack("{s:s,s:I,s:b}", "path", sc->sc_files[i].sf_path,
                              "bytes", (json_int_t)sc->sc_files[i].sf_len,
                              "executable", sc->sc_files[i].sf_exec));
            cli_print_json(json_pack(
                "{s:s,s:s,s:s,s:s,s:i,s:o,s:b}", "name", o.co_name, "type",
                o.co_type, "lang", o.co_lang, "dir", dir, "template_version",
                sc->sc_version, "files", files, "dry_run", 1));
        } else {
            printf("would create %s (%s, %s, template version %d) in %s:\n",
                   o.co_name, o.co_type, o.co_lang, sc->sc_version, dir);
            for (i = 0; i < sc->sc_n; i++)
                printf("  %-40s %6zu bytes%s\n", sc->sc_files[i].sf_path,
                       sc->sc_files[i].sf_len,
                       sc->sc_files[i].sf_exec ? ", executable" : "");
            printf("%zu files; nothing written (--dry-run)\n", sc->sc_n);
        }
        rc = PAVED_EXIT_OK;
        goto out;
    }
    if (paved_scaffold_write(dir, sc, top, sizeof(top)) < 0) {
        create_fail("create-service", NULL);
        goto out;
    }
    wrote = 1;
    id.si_name = cf->cf_git_author_name;
    id.si_email = cf->cf_git_author_email;
    cred.wc_token = cf->cf_git_token[0] != '\0' ? cf->cf_git_token : NULL;
    cred.wc_ssh_key = cf->cf_git_ssh_key[0] != '\0' ? cf->cf_git_ssh_key : NULL;
    if (paved_scaffold_commit(commit, dir, sc, &id, o.co_remote, &cred) < 0) {
        create_fail("create-service", NULL);
        goto out;
    }
    memset(&rec, 0, sizeof(rec));
    rec.sv_name = (char *)o.co_name;
    rec.sv_type = (char *)o.co_type;
    rec.sv_lang = (char *)o.co_lang;
    rec.sv_owner = (char *)a.sa_owner;
    rec.sv_repo = repo;
    rec.sv_url = o.co_remote != NULL ? (char *)o.co_remote : dir;
    if (o.co_remote == NULL && realpath(dir, abs) != NULL)
        rec.sv_url = abs;
    rec.sv_db = o.co_db;
    rec.sv_queue = o.co_queue;
    rec.sv_template_version = sc->sc_version;
    if (paved_store_service_add(st, &rec) < 0) {
        create_fail("create-service", "the catalog");
        if (o.co_remote != NULL) {
            /* the push cannot be taken back: keep the work, say where */
            wrote = 0;
            keep = 1;
            fprintf(stderr,
                    "paved create-service: %s was pushed to %s but is not "
                    "in the catalog; the repository is kept in %s. Fix the "
                    "store, then create the service again with a new "
                    "--remote, or remove the pushed branch first\n",
                    o.co_name, o.co_remote, dir);
        }
        goto out;
    }
    wrote = 0; /* done: keep it */
    if (o.co_json) {
        cli_print_json(json_pack(
            "{s:s,s:s,s:s,s:s,s:o,s:s*,s:s,s:I,s:i}", "name", o.co_name, "type",
            o.co_type, "lang", o.co_lang, "repo", repo, "dir",
            o.co_dir != NULL || o.co_remote == NULL ? json_string(dir)
                                                    : json_null(),
            "remote", o.co_remote, "commit", commit, "files",
            (json_int_t)sc->sc_n, "template_version", sc->sc_version));
    } else {
        printf("created %s (%s, %s): %zu files, commit %.12s, template "
               "version %d\n",
               o.co_name, o.co_type, o.co_lang, sc->sc_n, commit,
               sc->sc_version);
        if (o.co_dir != NULL || o.co_remote == NULL)
            printf("  repository: %s\n", dir);
        if (o.co_remote != NULL)
            printf("  pushed main to %s\n", o.co_remote);
        printf("  catalog: %s (paved services, paved status %s)\n", repo,
               o.co_name);
        printf("next: make test, then push: the platform pipeline "
               "\"service\" builds, tests and checks it\n");
    }
    rc = PAVED_EXIT_OK;
out:
    if (wrote && top[0] != '\0' && (o.co_dir != NULL || o.co_remote == NULL))
        (void)paved_scaffold_remove(top);
    if (tmp[0] != '\0' && o.co_dir == NULL && o.co_remote != NULL &&
        !o.co_dry_run && !keep)
        (void)paved_scaffold_remove(tmp);
    paved_service_free(found);
    paved_store_close(st);
    paved_scaffold_free(sc);
    paved_config_free(cf);
    return rc;
}

int
paved_cli_upgrade_service(int argc, char **argv)
{
    struct paved_config *cf = NULL;
    struct paved_scaffold_upgrade up;
    struct paved_scaffold_identity id;
    const char *dir = NULL, *templates = NULL, *config = NULL;
    paved_store *st = NULL;
    char why[512];
    int i, rc = PAVED_EXIT_FAIL, json = 0, r;
    size_t k;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if ((r = cli_opt(&templates, argc, argv, &i, "--templates")) !=
                     0 ||
                 (r = cli_opt(&config, argc, argv, &i, "--config")) != 0) {
            if (r < 0)
                return create_usage(stderr, "upgrade-service");
        } else if (argv[i][0] != '-' && dir == NULL)
            dir = argv[i];
        else {
            fprintf(stderr,
                    "paved upgrade-service: unknown argument "
                    "\"%s\"\n",
                    argv[i]);
            return create_usage(stderr, "upgrade-service");
        }
    }
    if (dir == NULL)
        return create_usage(stderr, "upgrade-service");
    if (paved_config_load(&cf, config, environ) < 0) {
        create_fail("upgrade-service", NULL);
        return PAVED_EXIT_FAIL;
    }
    if (templates == NULL)
        templates = cf->cf_templates_dir;
    id.si_name = cf->cf_git_author_name;
    id.si_email = cf->cf_git_author_email;
    if (paved_scaffold_upgrade(&up, dir, templates, &id) < 0 &&
        up.su_nconflicts == 0) {
        create_fail("upgrade-service", NULL);
        goto out;
    }
    if (json) {
        json_t *conflicts = json_array();
        for (k = 0; k < up.su_nconflicts; k++)
            json_array_append_new(conflicts, json_string(up.su_conflicts[k]));
        cli_print_json(
            json_pack("{s:s,s:i,s:i,s:b,s:s*,s:s*,s:o}", "dir", dir, "from",
                      up.su_from, "to", up.su_to, "uptodate", up.su_uptodate,
                      "branch", up.su_branch[0] != '\0' ? up.su_branch : NULL,
                      "commit", up.su_commit[0] != '\0' ? up.su_commit : NULL,
                      "conflicts", conflicts));
    } else if (up.su_uptodate) {
        printf("%s is up to date with template version %d: nothing to do\n",
               dir, up.su_to);
    } else if (up.su_nconflicts > 0) {
        printf("%s: template version %d -> %d on branch %s, with "
               "conflicts in:\n",
               dir, up.su_from, up.su_to, up.su_branch);
        for (k = 0; k < up.su_nconflicts; k++)
            printf("  %s\n", up.su_conflicts[k]);
        printf("resolve the <<<<<<< markers, git add the files and git "
               "commit to finish the merge (or git merge --abort)\n");
    } else {
        printf("%s: template version %d -> %d merged on branch %s, commit "
               "%.12s\n"
               "review it (git diff HEAD^1), then merge the branch like any "
               "other change\n",
               dir, up.su_from, up.su_to, up.su_branch, up.su_commit);
    }
    rc = up.su_nconflicts > 0 ? PAVED_EXIT_FAIL : PAVED_EXIT_OK;
    /* The catalog follows a clean upgrade, and also a service found up to
     * date (its team finished a conflicted merge by hand). A service it
     * does not know (made elsewhere) is not an error. */
    if ((up.su_commit[0] != '\0' || up.su_uptodate) &&
        cli_store_missing(why, sizeof(why), cf) != NULL) {
        fprintf(stderr,
                "paved upgrade-service: the catalog was not "
                "updated: %s\n",
                why);
    } else if ((up.su_commit[0] != '\0' || up.su_uptodate) &&
               cli_store_open(&st, cf) == 0) {
        int e = paved_store_service_set_template(st, up.su_name, up.su_to);
        if (e < 0 && e != PAVED_ENOTFOUND)
            fprintf(stderr, "paved upgrade-service: the catalog: %s\n",
                    paved_error_last());
    }
out:
    paved_store_close(st);
    paved_scaffold_upgrade_dispose(&up);
    paved_config_free(cf);
    return rc;
}
