#ifndef PAVED_EVENT_H
#define PAVED_EVENT_H
/* The one normalized event every forge adapter produces, whatever the forge
 * called it. Plain data: it knows nothing of HTTP, storage or pipelines. */
#include <stdbool.h>
#include <stddef.h>

enum paved_forge {
    PAVED_FORGE_GITHUB = 0,
    PAVED_FORGE_GITEA, /* Gitea and Forgejo */
    PAVED_FORGE_GITLAB,
    PAVED_FORGE__COUNT
};

enum paved_event_kind {
    PAVED_EVENT_OTHER = 0, /* stored, marked ignored */
    PAVED_EVENT_PUSH,      /* push to a branch */
    PAVED_EVENT_TAG,       /* push of a tag */
    PAVED_EVENT_CREATE,    /* branch or tag created (GitHub/Gitea create) */
    PAVED_EVENT_DELETE,    /* branch or tag deleted */
    PAVED_EVENT_PULL_REQUEST,
    PAVED_EVENT_RELEASE,
    PAVED_EVENT_PING,
    PAVED_EVENT__COUNT
};

/* Every string is owned by the event (malloc'd) or NULL when the payload
 * does not carry it. paved_event_dispose() frees them. */
struct paved_event {
    enum paved_forge ev_forge;
    enum paved_event_kind ev_kind;
    char *ev_name;          /* the forge's own name: "push", "Push Hook" */
    char *ev_action;        /* "opened", "synchronize", "published", ... */
    char *ev_delivery;      /* the forge's delivery id */
    char *ev_repo;          /* "owner/name" (GitLab: path_with_namespace) */
    char *ev_clone_url;     /* HTTPS clone URL */
    char *ev_ref;           /* full ref: refs/heads/main, refs/tags/v1 */
    char *ev_branch;        /* branch name (for a PR: its head branch) */
    char *ev_tag;           /* tag name */
    char *ev_before;        /* SHA before a push */
    char *ev_sha;           /* SHA to build: push "after", PR head */
    long long ev_pr_number; /* 0 when not a pull/merge request */
    char *ev_pr_title;
    char *ev_pr_head; /* head (source) branch */
    char *ev_pr_base; /* base (target) branch */
    char *ev_actor;   /* login of who caused it */
    bool ev_deleted;  /* a push or delete that removed the ref */
};

const char *paved_forge_name(enum paved_forge forge);
/* PAVED_ENOTFOUND for an unknown name */
int paved_forge_from_name(enum paved_forge *out, const char *name);
const char *paved_event_kind_name(enum paved_event_kind kind);
int paved_event_kind_from_name(enum paved_event_kind *out, const char *name);

/* A copy of src's strings into dst; dst is overwritten, not freed. */
int paved_event_copy(struct paved_event *dst, const struct paved_event *src);
/* Frees the strings and zeroes the struct; NULL is a no-op. */
void paved_event_dispose(struct paved_event *ev);
/* Compact JSON object; *out is malloc'd and owned by the caller. */
int paved_event_to_json(char **out, const struct paved_event *ev);
/* The inverse; PAVED_EINVAL on anything that is not such an object. */
int paved_event_from_json(struct paved_event *out, const char *json,
                          size_t len);

#endif
