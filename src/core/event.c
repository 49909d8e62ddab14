/* The normalized event: names, copying, freeing and its JSON form (the
 * shape stored with each delivery and shown by the API). Never looks at a
 * forge payload: that is the forge adapters' job. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "paved/buf.h"
#include "paved/error.h"
#include "paved/event.h"
#include "paved/jscan.h"

static const char *const forge_names[PAVED_FORGE__COUNT] = {
    [PAVED_FORGE_GITHUB] = "github",
    [PAVED_FORGE_GITEA] = "gitea",
    [PAVED_FORGE_GITLAB] = "gitlab",
};

static const char *const kind_names[PAVED_EVENT__COUNT] = {
    [PAVED_EVENT_OTHER] = "other",
    [PAVED_EVENT_PUSH] = "push",
    [PAVED_EVENT_TAG] = "tag",
    [PAVED_EVENT_CREATE] = "create",
    [PAVED_EVENT_DELETE] = "delete",
    [PAVED_EVENT_PULL_REQUEST] = "pull_request",
    [PAVED_EVENT_RELEASE] = "release",
    [PAVED_EVENT_PING] = "ping",
};

/* The string fields in their JSON order, so that copy, dispose, to_json
 * and from_json cannot disagree about which fields exist. pr_number and
 * deleted are not strings and are handled apart. */
struct event_field {
    const char *ef_key;
    size_t ef_off;
};

#define EVENT_FIELD(key, member)                                               \
    {                                                                          \
        (key), offsetof(struct paved_event, member)                            \
    }

static const struct event_field event_strings_head[] = {
    EVENT_FIELD("name", ev_name),           EVENT_FIELD("action", ev_action),
    EVENT_FIELD("delivery", ev_delivery),   EVENT_FIELD("repo", ev_repo),
    EVENT_FIELD("clone_url", ev_clone_url), EVENT_FIELD("ref", ev_ref),
    EVENT_FIELD("branch", ev_branch),       EVENT_FIELD("tag", ev_tag),
    EVENT_FIELD("before", ev_before),       EVENT_FIELD("sha", ev_sha),
};

static const struct event_field event_strings_tail[] = {
    EVENT_FIELD("pr_title", ev_pr_title),
    EVENT_FIELD("pr_head", ev_pr_head),
    EVENT_FIELD("pr_base", ev_pr_base),
    EVENT_FIELD("actor", ev_actor),
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static char **
event_slot(struct paved_event *ev, const struct event_field *f)
{
    return (char **)(void *)((char *)ev + f->ef_off);
}

static const char *
event_cslot(const struct paved_event *ev, const struct event_field *f)
{
    return *(char *const *)(const void *)((const char *)ev + f->ef_off);
}

const char *
paved_forge_name(enum paved_forge forge)
{
    if ((unsigned)forge >= PAVED_FORGE__COUNT)
        return "unknown";
    return forge_names[forge];
}

int
paved_forge_from_name(enum paved_forge *out, const char *name)
{
    int i;

    for (i = 0; i < PAVED_FORGE__COUNT; i++) {
        if (name != NULL && strcmp(name, forge_names[i]) == 0) {
            *out = (enum paved_forge)i;
            return 0;
        }
    }
    return paved_error_set(PAVED_ENOTFOUND, "unknown forge \"%s\"",
                           name != NULL ? name : "");
}

const char *
paved_event_kind_name(enum paved_event_kind kind)
{
    if ((unsigned)kind >= PAVED_EVENT__COUNT)
        return "unknown";
    return kind_names[kind];
}

int
paved_event_kind_from_name(enum paved_event_kind *out, const char *name)
{
    int i;

    for (i = 0; i < PAVED_EVENT__COUNT; i++) {
        if (name != NULL && strcmp(name, kind_names[i]) == 0) {
            *out = (enum paved_event_kind)i;
            return 0;
        }
    }
    return paved_error_set(PAVED_ENOTFOUND, "unknown event kind \"%s\"",
                           name != NULL ? name : "");
}

static void
event_for_each_string(struct paved_event *ev,
                      void (*fn)(struct paved_event *, char **, void *),
                      void *arg)
{
    size_t i;

    for (i = 0; i < NELEM(event_strings_head); i++)
        fn(ev, event_slot(ev, &event_strings_head[i]), arg);
    for (i = 0; i < NELEM(event_strings_tail); i++)
        fn(ev, event_slot(ev, &event_strings_tail[i]), arg);
}

static void
event_free_string(struct paved_event *ev, char **slot, void *arg)
{
    (void)ev;
    (void)arg;
    free(*slot);
    *slot = NULL;
}

void
paved_event_dispose(struct paved_event *ev)
{
    if (ev == NULL)
        return;
    event_for_each_string(ev, event_free_string, NULL);
    memset(ev, 0, sizeof(*ev));
}

int
paved_event_copy(struct paved_event *dst, const struct paved_event *src)
{
    struct paved_event tmp;
    const struct event_field *f;
    const char *s;
    size_t i, n = NELEM(event_strings_head) + NELEM(event_strings_tail);

    tmp = *src;
    /* clear every string first so a failure part-way frees only copies */
    for (i = 0; i < n; i++) {
        f = i < NELEM(event_strings_head)
                ? &event_strings_head[i]
                : &event_strings_tail[i - NELEM(event_strings_head)];
        *event_slot(&tmp, f) = NULL;
    }
    for (i = 0; i < n; i++) {
        f = i < NELEM(event_strings_head)
                ? &event_strings_head[i]
                : &event_strings_tail[i - NELEM(event_strings_head)];
        if ((s = event_cslot(src, f)) == NULL)
            continue;
        if ((*event_slot(&tmp, f) = strdup(s)) == NULL) {
            paved_event_dispose(&tmp);
            return paved_error_set(PAVED_ENOMEM, "out of memory");
        }
    }
    *dst = tmp;
    return 0;
}

static int
event_put_string(struct paved_buf *b, const char *key, const char *s)
{
    /* invalid UTF-8 cannot be stored as JSON: the caller's bug or hostile
     * input, not ENOMEM (json_string() refused it the same way) */
    if (!paved_jscan_valid_utf8(s, strlen(s)))
        return paved_error_set(PAVED_EINVAL,
                               "event field \"%s\" is not valid UTF-8", key);
    return paved_buf_put_json_string(b, s);
}

/* ,"key":"value" (no comma before the first); NULL values are left out */
static int
event_put_field(struct paved_buf *b, const char *key, const char *value)
{
    int error;

    if (value == NULL)
        return 0;
    /* no printf here: this runs for every delivery */
    if ((b->b_len > 1 && (error = paved_buf_putc(b, ',')) < 0) ||
        (error = paved_buf_putc(b, '"')) < 0 ||
        (error = paved_buf_puts(b, key)) < 0 ||
        (error = paved_buf_put(b, "\":", 2)) < 0)
        return error;
    return event_put_string(b, key, value);
}

int
paved_event_to_json(char **out, const struct paved_event *ev)
{
    /* the output is bounded by the event's own strings (at most six bytes
     * out for one in), so the cap only guards against overflow */
    struct paved_buf b = PAVED_BUF_INIT(SIZE_MAX / 2);
    size_t i;
    int error;

    *out = NULL;
    if ((unsigned)ev->ev_forge >= PAVED_FORGE__COUNT ||
        (unsigned)ev->ev_kind >= PAVED_EVENT__COUNT) {
        error = paved_error_set(PAVED_EINVAL, "event has no valid forge/kind");
        goto out;
    }
    /* key order is part of the format: forge, kind, the head strings,
     * pr_number, the tail strings, deleted (jansson's insertion order) */
    if ((error = paved_buf_putc(&b, '{')) < 0 ||
        (error = event_put_field(&b, "forge", forge_names[ev->ev_forge])) < 0 ||
        (error = event_put_field(&b, "kind", kind_names[ev->ev_kind])) < 0)
        goto out;
    for (i = 0; i < NELEM(event_strings_head); i++)
        if ((error = event_put_field(&b, event_strings_head[i].ef_key,
                                     event_cslot(ev, &event_strings_head[i]))) <
            0)
            goto out;
    if (ev->ev_pr_number != 0 &&
        (error =
             paved_buf_printf(&b, ",\"pr_number\":%lld", ev->ev_pr_number)) < 0)
        goto out;
    for (i = 0; i < NELEM(event_strings_tail); i++)
        if ((error = event_put_field(&b, event_strings_tail[i].ef_key,
                                     event_cslot(ev, &event_strings_tail[i]))) <
            0)
            goto out;
    if ((ev->ev_deleted &&
         (error = paved_buf_puts(&b, ",\"deleted\":true")) < 0) ||
        (error = paved_buf_putc(&b, '}')) < 0)
        goto out;
    if ((*out = paved_buf_detach(&b, NULL)) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    error = 0;
out:
    paved_buf_dispose(&b);
    return error;
}

static const struct event_field *
event_find_field(const char *key)
{
    size_t i;

    for (i = 0; i < NELEM(event_strings_head); i++)
        if (strcmp(key, event_strings_head[i].ef_key) == 0)
            return &event_strings_head[i];
    for (i = 0; i < NELEM(event_strings_tail); i++)
        if (strcmp(key, event_strings_tail[i].ef_key) == 0)
            return &event_strings_tail[i];
    return NULL;
}

static int
event_from_object(struct paved_event *ev, json_t *root)
{
    const struct event_field *f;
    const char *key;
    json_t *v;

    if (!json_is_string(json_object_get(root, "forge")) ||
        paved_forge_from_name(&ev->ev_forge, json_string_value(json_object_get(
                                                 root, "forge"))) < 0)
        return paved_error_set(PAVED_EINVAL,
                               "event JSON: missing or unknown \"forge\"");
    if (!json_is_string(json_object_get(root, "kind")) ||
        paved_event_kind_from_name(
            &ev->ev_kind, json_string_value(json_object_get(root, "kind"))) < 0)
        return paved_error_set(PAVED_EINVAL,
                               "event JSON: missing or unknown \"kind\"");
    json_object_foreach(root, key, v)
    {
        if (strcmp(key, "forge") == 0 || strcmp(key, "kind") == 0)
            continue;
        if (strcmp(key, "pr_number") == 0) {
            if (!json_is_integer(v))
                return paved_error_set(PAVED_EINVAL,
                                       "event JSON: \"pr_number\" is not an "
                                       "integer");
            ev->ev_pr_number = json_integer_value(v);
            continue;
        }
        if (strcmp(key, "deleted") == 0) {
            if (!json_is_boolean(v))
                return paved_error_set(PAVED_EINVAL,
                                       "event JSON: \"deleted\" is not a "
                                       "boolean");
            ev->ev_deleted = json_is_true(v);
            continue;
        }
        /* unknown keys are ignored so that an older binary can read
         * events written by a newer one */
        if ((f = event_find_field(key)) == NULL)
            continue;
        if (!json_is_string(v))
            return paved_error_set(PAVED_EINVAL,
                                   "event JSON: \"%s\" is not a string", key);
        if ((*event_slot(ev, f) = strdup(json_string_value(v))) == NULL)
            return paved_error_set(PAVED_ENOMEM, "out of memory");
    }
    return 0;
}

int
paved_event_from_json(struct paved_event *out, const char *json, size_t len)
{
    struct paved_event ev;
    json_error_t jerr;
    json_t *root = NULL;
    int error;

    memset(&ev, 0, sizeof(ev));
    memset(out, 0, sizeof(*out));
    if (json == NULL ||
        (root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
        error = paved_error_set(PAVED_EINVAL, "event JSON: %s",
                                json == NULL ? "no input" : jerr.text);
        goto out;
    }
    if (!json_is_object(root)) {
        error = paved_error_set(PAVED_EINVAL, "event JSON: not an object");
        goto out;
    }
    if ((error = event_from_object(&ev, root)) < 0)
        goto out;
    *out = ev;
    memset(&ev, 0, sizeof(ev));
out:
    paved_event_dispose(&ev);
    json_decref(root);
    return error;
}
