/* Trigger matching: does a pipeline run for a normalized event, and if
 * not, a short reason for "skipped: <reason>". Also which environment an
 * event deploys to. Pure functions over the model and the event: nothing
 * here is stored, planned or run. */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "pipeline/pipeline_int.h"

/* PR actions run by default: new code to check, not comments or labels */
static const char *const pr_default_actions[] = {"opened", "synchronize",
                                                 "reopened"};

static bool
match_paths(const struct pl_globs *g, const char *const *paths, size_t n)
{
    size_t i;

    if (!g->g_set || paths == NULL) /* not known: cannot rule it out */
        return true;
    for (i = 0; i < n; i++)
        if (paths[i] != NULL && pl_globs_match(g, paths[i]))
            return true;
    return false;
}

int
paved_pipeline_match(const paved_pipeline *pl, const struct paved_event *ev,
                     const char *const *changed_paths, size_t n,
                     const char **why_not)
{
    const struct pl_trigger *t;
    const char *why = NULL, *action;
    size_t i;
    bool ok;

    switch (ev->ev_kind) {
    case PAVED_EVENT_PUSH:
        t = &pl->pl_push;
        if (ev->ev_deleted)
            why = "the branch was deleted";
        else if (!t->t_on)
            why = "no on.push trigger";
        else if (ev->ev_branch == NULL)
            why = "push without a branch";
        else if (t->t_refs.g_set && !pl_globs_match(&t->t_refs, ev->ev_branch))
            why = "branch not in on.push.branches";
        else if (!match_paths(&t->t_paths, changed_paths, n))
            why = "no changed path matches on.push.paths";
        break;
    case PAVED_EVENT_TAG:
        t = &pl->pl_tag;
        if (ev->ev_deleted)
            why = "the tag was deleted";
        else if (!t->t_on)
            why = "no on.tag trigger";
        else if (ev->ev_tag == NULL)
            why = "tag push without a tag name";
        else if (t->t_refs.g_set && !pl_globs_match(&t->t_refs, ev->ev_tag))
            why = "tag not in on.tag.patterns";
        else if (!match_paths(&t->t_paths, changed_paths, n))
            why = "no changed path matches on.tag.paths";
        break;
    case PAVED_EVENT_PULL_REQUEST:
        t = &pl->pl_pr;
        /* the forge adapters already use GitHub's words for every forge */
        action = ev->ev_action != NULL ? ev->ev_action : "";
        if (t->t_actions.g_set) {
            for (i = 0, ok = false; i < t->t_actions.g_n && !ok; i++)
                ok = strcmp(t->t_actions.g_items[i], action) == 0;
        } else {
            for (i = 0, ok = false; i < 3 && !ok; i++)
                ok = strcmp(pr_default_actions[i], action) == 0;
        }
        if (!t->t_on)
            why = "no on.pull_request trigger";
        else if (!ok)
            why = "pull request action not in on.pull_request.actions";
        else if (ev->ev_pr_base == NULL)
            why = "pull request without a base branch";
        else if (t->t_refs.g_set && !pl_globs_match(&t->t_refs, ev->ev_pr_base))
            why = "base branch not in on.pull_request.branches";
        else if (!match_paths(&t->t_paths, changed_paths, n))
            why = "no changed path matches on.pull_request.paths";
        break;
    case PAVED_EVENT_DELETE:
        why = "deletions never run pipelines";
        break;
    case PAVED_EVENT_PING:
        why = "pings never run pipelines";
        break;
    case PAVED_EVENT_CREATE:
        why = "create events never run pipelines (the push does)";
        break;
    case PAVED_EVENT_RELEASE:
        why = "release events never run pipelines (the tag push does)";
        break;
    default:
        why = "this kind of event never runs pipelines";
        break;
    }
    if (why == NULL && pl->pl_repos.g_set &&
        !pl_globs_match(&pl->pl_repos, ev->ev_repo ? ev->ev_repo : ""))
        why = "repository not in repos";
    if (why_not != NULL)
        *why_not = why;
    return why == NULL ? 1 : 0;
}

const char *
paved_pipeline_environment(const struct paved_event *ev)
{
    if (ev->ev_deleted)
        return NULL;
    if (ev->ev_kind == PAVED_EVENT_PUSH)
        return "staging";
    if (ev->ev_kind == PAVED_EVENT_TAG)
        return "production";
    return NULL;
}
