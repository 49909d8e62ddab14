/* The git side of golden paths, with libgit2: the first commit of a new
 * service (and its push), and upgrades as a real three-way merge.
 *
 * Every render is a commit whose message ends with the trailer
 * "Paved-Render: N": the first commit of a service is one, and an upgrade
 * makes a new render commit whose parent is the previous render and merges
 * it. So the merge base git finds is always the last render, and the merge
 * brings exactly what the templates changed since then, whatever the team
 * did meanwhile. Never force-pushes, never touches a dirty working tree,
 * never commits a merge with conflicts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <git2.h>

#include "paved/error.h"
#include "paved/scaffold.h"
#include "scaffold/scaffold_int.h"

#define RENDER_TRAILER "Paved-Render: "
#define ANSWERS_PATH ".paved/answers.yaml"

static int
repo_git_fail(const char *what)
{
    const git_error *e = git_error_last();

    return paved_error_set(PAVED_ERROR, "%s: %s", what,
                           e != NULL && e->message != NULL ? e->message
                                                           : "libgit2 error");
}

static int
repo_signature(git_signature **sig, const struct paved_scaffold_identity *id)
{
    if (git_signature_now(sig, id->si_name, id->si_email) < 0)
        return repo_git_fail("author identity (git_author_name, "
                             "git_author_email)");
    return 0;
}

/* ---- create ------------------------------------------------------------ */

int
paved_scaffold_commit(char commit[41], const char *dir,
                      const struct paved_scaffold *sc,
                      const struct paved_scaffold_identity *id,
                      const char *remote,
                      const struct paved_workspace_cred *cred)
{
    git_repository_init_options io;
    git_repository *repo = NULL;
    git_index *index = NULL;
    git_signature *sig = NULL;
    git_tree *tree = NULL;
    git_remote *origin = NULL;
    git_config *cfg = NULL;
    git_oid tree_id, commit_id;
    char msg[512], answers_type[16] = "", answers_lang[16] = "";
    const char *spec = "refs/heads/main:refs/heads/main";
    size_t i;
    int error = 0;

    commit[0] = '\0';
    git_libgit2_init();
    if (git_repository_init_options_init(
            &io, GIT_REPOSITORY_INIT_OPTIONS_VERSION) < 0) {
        error = repo_git_fail("git init");
        goto out;
    }
    io.flags = GIT_REPOSITORY_INIT_NO_REINIT | GIT_REPOSITORY_INIT_MKPATH;
    io.initial_head = "main";
    if (git_repository_init_ext(&repo, dir, &io) < 0) {
        error = repo_git_fail("git init");
        goto out;
    }
    if (git_repository_index(&index, repo) < 0) {
        error = repo_git_fail("git index");
        goto out;
    }
    for (i = 0; i < sc->sc_n; i++)
        if (git_index_add_bypath(index, sc->sc_files[i].sf_path) < 0) {
            error = repo_git_fail(sc->sc_files[i].sf_path);
            goto out;
        }
    if (git_index_write(index) < 0 ||
        git_index_write_tree(&tree_id, index) < 0 ||
        git_tree_lookup(&tree, repo, &tree_id) < 0) {
        error = repo_git_fail("git write-tree");
        goto out;
    }
    if ((error = repo_signature(&sig, id)) < 0)
        goto out;
    /* the type and language, for the message, from the answers file */
    for (i = 0; i < sc->sc_n; i++)
        if (strcmp(sc->sc_files[i].sf_path, ANSWERS_PATH) == 0) {
            const char *t = strstr(sc->sc_files[i].sf_data, "\ntype: \"");
            const char *l = strstr(sc->sc_files[i].sf_data, "\nlang: \"");
            if (t != NULL)
                sscanf(t + 8, "%15[a-z]", answers_type);
            if (l != NULL)
                sscanf(l + 8, "%15[a-z]", answers_lang);
        }
    snprintf(msg, sizeof(msg),
             "Create the service from the %s/%s golden path\n"
             "\n"
             "Rendered by paved create-service from template version %d.\n"
             "paved upgrade-service merges newer templates into it.\n"
             "\n" RENDER_TRAILER "%d\n",
             answers_type, answers_lang, sc->sc_version, sc->sc_version);
    if (git_commit_create(&commit_id, repo, "HEAD", sig, sig, NULL, msg, tree,
                          0, NULL) < 0) {
        error = repo_git_fail("git commit");
        goto out;
    }
    git_oid_tostr(commit, 41, &commit_id);
    if (remote != NULL) {
        /* origin, with main tracking it, as a clone would have */
        git_remote_create_options ro;
        /* named, so it is saved; no insteadOf: libgit2 1.5 leaks there */
        if (git_remote_create_options_init(
                &ro, GIT_REMOTE_CREATE_OPTIONS_VERSION) < 0 ||
            (ro.repository = repo, ro.name = "origin",
             ro.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF,
             git_remote_create_with_opts(&origin, remote, &ro)) < 0 ||
            git_repository_config(&cfg, repo) < 0 ||
            git_config_set_string(cfg, "branch.main.remote", "origin") < 0 ||
            git_config_set_string(cfg, "branch.main.merge", "refs/heads/main") <
                0) {
            error = repo_git_fail("git remote add origin");
            goto out;
        }
        if ((error = paved_workspace_push(dir, remote, &spec, 1, cred)) < 0)
            goto out;
        (void)git_reference_create(NULL, repo, "refs/remotes/origin/main",
                                   &commit_id, 1, "push");
    }
out:
    git_config_free(cfg);
    git_remote_free(origin);
    git_signature_free(sig);
    git_tree_free(tree);
    git_index_free(index);
    git_repository_free(repo);
    git_libgit2_shutdown();
    return error;
}

/* ---- upgrade ----------------------------------------------------------- */

void
paved_scaffold_upgrade_dispose(struct paved_scaffold_upgrade *u)
{
    size_t i;

    if (u == NULL)
        return;
    for (i = 0; i < u->su_nconflicts; i++)
        free(u->su_conflicts[i]);
    free(u->su_conflicts);
    memset(u, 0, sizeof(*u));
}

/* Uncommitted changes to tracked files, or a merge already under way. */
static int
repo_check_clean(git_repository *repo)
{
    git_status_options so;
    git_status_list *list = NULL;
    size_t n;

    if (git_repository_state(repo) != GIT_REPOSITORY_STATE_NONE)
        return paved_error_set(PAVED_EINVAL,
                               "a merge or rebase is in progress: finish or "
                               "abort it, then run upgrade-service again");
    if (git_status_options_init(&so, GIT_STATUS_OPTIONS_VERSION) < 0)
        return repo_git_fail("git status");
    so.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
    so.flags = GIT_STATUS_OPT_EXCLUDE_SUBMODULES;
    if (git_status_list_new(&list, repo, &so) < 0)
        return repo_git_fail("git status");
    n = git_status_list_entrycount(list);
    git_status_list_free(list);
    if (n > 0)
        return paved_error_set(PAVED_EINVAL,
                               "the working tree has %zu uncommitted "
                               "change%s: commit or stash them first, so "
                               "the upgrade cannot mix with them",
                               n, n == 1 ? "" : "s");
    return 0;
}

static int
repo_read_answers(struct paved_scaffold_saved *out, git_repository *repo,
                  git_commit *head)
{
    git_tree *tree = NULL;
    git_tree_entry *te = NULL;
    git_blob *blob = NULL;
    int error;

    if (git_commit_tree(&tree, head) < 0)
        return repo_git_fail("HEAD's tree");
    if (git_tree_entry_bypath(&te, tree, ANSWERS_PATH) < 0 ||
        git_blob_lookup(&blob, repo, git_tree_entry_id(te)) < 0) {
        error = paved_error_set(PAVED_ENOTFOUND,
                                "%s is not committed: upgrade-service "
                                "upgrades services made by paved "
                                "create-service",
                                ANSWERS_PATH);
        goto out;
    }
    error = paved_scaffold_answers_parse(out, git_blob_rawcontent(blob),
                                         (size_t)git_blob_rawsize(blob));
out:
    git_blob_free(blob);
    git_tree_entry_free(te);
    git_tree_free(tree);
    return error;
}

/* The newest commit reachable from HEAD whose message carries the render
 * trailer: the previous render, the merge base of the upgrade. */
static int
repo_last_render(git_commit **out, git_repository *repo)
{
    git_revwalk *walk = NULL;
    git_commit *c;
    git_oid id;
    const char *m;
    int error = PAVED_ENOTFOUND;

    *out = NULL;
    if (git_revwalk_new(&walk, repo) < 0 ||
        git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_TIME) < 0 ||
        git_revwalk_push_head(walk) < 0) {
        git_revwalk_free(walk);
        return repo_git_fail("git log");
    }
    while (git_revwalk_next(&id, walk) == 0) {
        if (git_commit_lookup(&c, repo, &id) < 0)
            continue;
        m = git_commit_message(c);
        if (m != NULL && (strncmp(m, RENDER_TRAILER, 14) == 0 ||
                          strstr(m, "\n" RENDER_TRAILER) != NULL)) {
            *out = c;
            error = 0;
            break;
        }
        git_commit_free(c);
    }
    git_revwalk_free(walk);
    if (error < 0)
        paved_error_set(error,
                        "no commit with a \"%s\" trailer in HEAD's "
                        "history: upgrade-service needs the history "
                        "from paved create-service (was it squashed?)",
                        "Paved-Render");
    return error;
}

/* The rendered files as a tree, written to the object database only. */
static int
repo_render_tree(git_oid *tree_id, git_repository *repo,
                 const struct paved_scaffold *sc)
{
    git_index *idx = NULL;
    git_index_entry e;
    size_t i;
    int error = 0;

    if (git_index_new(&idx) < 0)
        return repo_git_fail("git index");
    for (i = 0; i < sc->sc_n && error == 0; i++) {
        memset(&e, 0, sizeof(e));
        e.path = sc->sc_files[i].sf_path;
        e.mode = sc->sc_files[i].sf_exec ? GIT_FILEMODE_BLOB_EXECUTABLE
                                         : GIT_FILEMODE_BLOB;
        e.file_size = (uint32_t)sc->sc_files[i].sf_len;
        if (git_blob_create_from_buffer(&e.id, repo, sc->sc_files[i].sf_data,
                                        sc->sc_files[i].sf_len) < 0 ||
            git_index_add(idx, &e) < 0)
            error = repo_git_fail(sc->sc_files[i].sf_path);
    }
    if (error == 0 && git_index_write_tree_to(tree_id, idx, repo) < 0)
        error = repo_git_fail("git write-tree");
    git_index_free(idx);
    return error;
}

static int
repo_conflicts(struct paved_scaffold_upgrade *out, git_index *index)
{
    git_index_conflict_iterator *it = NULL;
    const git_index_entry *anc, *ours, *theirs;
    const char *path;
    char **grown;
    int error = 0;

    if (git_index_conflict_iterator_new(&it, index) < 0)
        return repo_git_fail("git index");
    while (error == 0 &&
           git_index_conflict_next(&anc, &ours, &theirs, it) == 0) {
        path = ours != NULL ? ours->path
                            : (theirs != NULL ? theirs->path : anc->path);
        grown = realloc(out->su_conflicts,
                        (out->su_nconflicts + 1) * sizeof(*grown));
        if (grown == NULL) {
            error = paved_error_set(PAVED_ENOMEM, "out of memory");
            break;
        }
        out->su_conflicts = grown;
        if ((grown[out->su_nconflicts] = strdup(path)) == NULL)
            error = paved_error_set(PAVED_ENOMEM, "out of memory");
        else
            out->su_nconflicts++;
    }
    git_index_conflict_iterator_free(it);
    return error;
}

/* A file the new render adds that is not in HEAD but sits untracked in
 * the working tree would stop the merge half-way: refuse it up front, by
 * name. */
static int
repo_check_untracked(git_repository *repo, git_commit *head,
                     const struct paved_scaffold *sc, const char *dir)
{
    git_tree *tree = NULL;
    git_tree_entry *te;
    char path[4096];
    struct stat sb;
    size_t i;
    int error = 0;

    (void)repo;
    if (git_commit_tree(&tree, head) < 0)
        return repo_git_fail("HEAD's tree");
    for (i = 0; i < sc->sc_n && error == 0; i++) {
        if (git_tree_entry_bypath(&te, tree, sc->sc_files[i].sf_path) == 0) {
            git_tree_entry_free(te);
            continue;
        }
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
                             sc->sc_files[i].sf_path) < sizeof(path) &&
            lstat(path, &sb) == 0)
            error = paved_error_set(PAVED_EINVAL,
                                    "%s is untracked and the new templates "
                                    "add it: commit, move or remove it, "
                                    "then run upgrade-service again",
                                    sc->sc_files[i].sf_path);
    }
    git_tree_free(tree);
    return error;
}

int
paved_scaffold_upgrade(struct paved_scaffold_upgrade *out, const char *dir,
                       const char *templates,
                       const struct paved_scaffold_identity *id)
{
    struct paved_scaffold_saved saved;
    struct paved_scaffold_answers a;
    struct paved_scaffold *sc = NULL;
    git_repository *repo = NULL;
    git_commit *head = NULL, *last = NULL, *render = NULL;
    git_annotated_commit *ac = NULL;
    git_reference *branch = NULL;
    git_signature *sig = NULL;
    git_index *index = NULL;
    git_tree *tree = NULL;
    git_merge_options mo;
    git_checkout_options co;
    git_oid tree_id, render_id, merge_id;
    const git_commit *parents[2];
    char msg[512], refname[160], theirs[64], orig[256] = "";
    int error = 0, v, switched = 0, detached = 0;

    memset(out, 0, sizeof(*out));
    memset(&saved, 0, sizeof(saved));
    git_libgit2_init();
    if (git_repository_open_ext(&repo, dir, GIT_REPOSITORY_OPEN_NO_SEARCH,
                                NULL) < 0) {
        error = paved_error_set(PAVED_ENOTFOUND,
                                "%s is not a git repository: give the "
                                "directory of a service made by paved "
                                "create-service",
                                dir);
        goto out;
    }
    if (git_repository_is_bare(repo)) {
        error = paved_error_set(PAVED_EINVAL,
                                "%s is a bare repository: upgrade a clone "
                                "with a working tree",
                                dir);
        goto out;
    }
    if ((error = repo_check_clean(repo)) < 0)
        goto out;
    {
        git_oid head_id;
        if (git_reference_name_to_id(&head_id, repo, "HEAD") < 0 ||
            git_commit_lookup(&head, repo, &head_id) < 0) {
            error = repo_git_fail("HEAD");
            goto out;
        }
    }
    if ((error = repo_read_answers(&saved, repo, head)) < 0 ||
        (error = paved_scaffold_version(&v, templates)) < 0 ||
        (error = repo_last_render(&last, repo)) < 0)
        goto out;
    snprintf(out->su_name, sizeof(out->su_name), "%s", saved.ss_name);
    out->su_from = saved.ss_version;
    out->su_to = v;
    a.sa_name = saved.ss_name;
    a.sa_type = saved.ss_type;
    a.sa_lang = saved.ss_lang;
    a.sa_owner = saved.ss_owner;
    a.sa_registry = saved.ss_registry;
    a.sa_db = saved.ss_db;
    a.sa_queue = saved.ss_queue;
    a.sa_version = v;
    if ((error = paved_scaffold_render(&sc, templates, &a)) < 0 ||
        (error = repo_render_tree(&tree_id, repo, sc)) < 0)
        goto out;
    if (git_oid_equal(&tree_id, git_commit_tree_id(last))) {
        out->su_uptodate = 1; /* the templates render what they did */
        goto out;
    }
    snprintf(out->su_branch, sizeof(out->su_branch), "paved/upgrade-%d", v);
    snprintf(refname, sizeof(refname), "refs/heads/%s", out->su_branch);
    if (git_reference_lookup(&branch, repo, refname) == 0) {
        error = paved_error_set(PAVED_EEXISTS,
                                "branch %s already exists: merge or delete "
                                "it, then run upgrade-service again",
                                out->su_branch);
        goto out;
    }
    if ((error = repo_signature(&sig, id)) < 0)
        goto out;
    if (git_tree_lookup(&tree, repo, &tree_id) < 0) {
        error = repo_git_fail("git tree");
        goto out;
    }
    snprintf(msg, sizeof(msg),
             "Render the %s/%s golden path at template version %d\n"
             "\n"
             "The service as the templates make it today, from the answers "
             "in\n" ANSWERS_PATH ". Its parent is the previous render, so "
             "merging it\nbrings in what the templates changed.\n"
             "\n" RENDER_TRAILER "%d\n",
             saved.ss_type, saved.ss_lang, v, v);
    parents[0] = last;
    if (git_commit_create(&render_id, repo, NULL, sig, sig, NULL, msg, tree, 1,
                          parents) < 0 ||
        git_commit_lookup(&render, repo, &render_id) < 0) {
        error = repo_git_fail("git commit (render)");
        goto out;
    }
    git_tree_free(tree);
    tree = NULL;
    /* the branch, at HEAD, checked out: nothing in the tree changes */
    if ((error = repo_check_untracked(repo, head, sc, dir)) < 0)
        goto out;
    if ((detached = git_repository_head_detached(repo)) == 0) {
        git_reference *h = NULL;
        if (git_repository_head(&h, repo) == 0)
            snprintf(orig, sizeof(orig), "%s", git_reference_name(h));
        git_reference_free(h);
    }
    if (git_branch_create(&branch, repo, out->su_branch, head, 0) < 0 ||
        git_repository_set_head(repo, refname) < 0) {
        error = repo_git_fail("git branch");
        goto out;
    }
    switched = 1;
    if (git_merge_options_init(&mo, GIT_MERGE_OPTIONS_VERSION) < 0 ||
        git_checkout_options_init(&co, GIT_CHECKOUT_OPTIONS_VERSION) < 0 ||
        git_annotated_commit_lookup(&ac, repo, &render_id) < 0) {
        error = repo_git_fail("git merge");
        goto out;
    }
    co.checkout_strategy = GIT_CHECKOUT_SAFE | GIT_CHECKOUT_ALLOW_CONFLICTS;
    /* what the conflict markers say, instead of a bare commit id */
    co.our_label = "yours (HEAD)";
    co.their_label = theirs;
    snprintf(theirs, sizeof(theirs), "templates (version %d)", v);
    if (git_merge(repo, (const git_annotated_commit **)&ac, 1, &mo, &co) < 0 ||
        git_repository_index(&index, repo) < 0) {
        error = repo_git_fail("git merge");
        goto out;
    }
    if (git_index_has_conflicts(index)) {
        /* left for the team: MERGE_HEAD and MERGE_MSG are in place */
        error = repo_conflicts(out, index);
        goto out;
    }
    snprintf(msg, sizeof(msg),
             "Upgrade to golden path template version %d\n"
             "\n"
             "Merged by paved upgrade-service: the changes of the templates "
             "from\nversion %d to %d, with this service's own changes "
             "kept.\n",
             v, saved.ss_version, v);
    parents[0] = head;
    parents[1] = render;
    if (git_index_write_tree(&tree_id, index) < 0 ||
        git_tree_lookup(&tree, repo, &tree_id) < 0 ||
        git_commit_create(&merge_id, repo, "HEAD", sig, sig, NULL, msg, tree, 2,
                          parents) < 0) {
        error = repo_git_fail("git commit (merge)");
        goto out;
    }
    git_oid_tostr(out->su_commit, sizeof(out->su_commit), &merge_id);
    (void)git_repository_state_cleanup(repo);
out:
    /* a failure after the switch: back where the team was, no branch */
    if (error < 0 && switched && (detached == 1 || orig[0] != '\0')) {
        git_checkout_options back;
        int moved =
            detached == 1
                ? git_repository_set_head_detached(repo, git_commit_id(head))
                : git_repository_set_head(repo, orig);
        if (moved == 0 && git_checkout_options_init(
                              &back, GIT_CHECKOUT_OPTIONS_VERSION) == 0) {
            back.checkout_strategy = GIT_CHECKOUT_FORCE;
            (void)git_checkout_head(repo, &back);
            (void)git_repository_state_cleanup(repo);
            (void)git_branch_delete(branch);
        }
    }
    if (error < 0 && error != PAVED_EEXISTS)
        out->su_branch[0] = '\0';
    paved_scaffold_saved_dispose(&saved);
    paved_scaffold_free(sc);
    git_index_free(index);
    git_annotated_commit_free(ac);
    git_signature_free(sig);
    git_reference_free(branch);
    git_tree_free(tree);
    git_commit_free(render);
    git_commit_free(last);
    git_commit_free(head);
    git_repository_free(repo);
    git_libgit2_shutdown();
    return error;
}
