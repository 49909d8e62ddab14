/* Unit tests for src/core/event.c: names both ways, copy/dispose, and the
 * exact JSON form (key order, omissions) with its inverse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "paved/error.h"
#include "paved/event.h"

static void
test_names(void **state)
{
    enum paved_forge f;
    enum paved_event_kind k;
    int i;

    (void)state;
    assert_string_equal(paved_forge_name(PAVED_FORGE_GITHUB), "github");
    assert_string_equal(paved_forge_name(PAVED_FORGE_GITEA), "gitea");
    assert_string_equal(paved_forge_name(PAVED_FORGE_GITLAB), "gitlab");
    assert_string_equal(paved_event_kind_name(PAVED_EVENT_OTHER), "other");
    assert_string_equal(paved_event_kind_name(PAVED_EVENT_PULL_REQUEST),
                        "pull_request");
    assert_string_equal(paved_event_kind_name(PAVED_EVENT_PING), "ping");
    for (i = 0; i < PAVED_FORGE__COUNT; i++) {
        assert_int_equal(paved_forge_from_name(&f, paved_forge_name(i)), 0);
        assert_int_equal(f, i);
    }
    for (i = 0; i < PAVED_EVENT__COUNT; i++) {
        assert_int_equal(
            paved_event_kind_from_name(&k, paved_event_kind_name(i)), 0);
        assert_int_equal(k, i);
    }
    assert_int_equal(paved_forge_from_name(&f, "bitbucket"), PAVED_ENOTFOUND);
    assert_int_equal(paved_forge_from_name(&f, "GitHub"), PAVED_ENOTFOUND);
    assert_int_equal(paved_event_kind_from_name(&k, "merge"), PAVED_ENOTFOUND);
    assert_int_equal(paved_event_kind_from_name(&k, NULL), PAVED_ENOTFOUND);
}

static void
fill_full(struct paved_event *ev)
{
    memset(ev, 0, sizeof(*ev));
    ev->ev_forge = PAVED_FORGE_GITLAB;
    ev->ev_kind = PAVED_EVENT_PULL_REQUEST;
    ev->ev_name = strdup("Merge Request Hook");
    ev->ev_action = strdup("open");
    ev->ev_delivery = strdup("d-1");
    ev->ev_repo = strdup("group/proj");
    ev->ev_clone_url = strdup("https://gitlab.example/group/proj.git");
    ev->ev_ref = strdup("refs/merge-requests/7/head");
    ev->ev_branch = strdup("feature");
    ev->ev_tag = strdup("v1");
    ev->ev_before = strdup("aaaa");
    ev->ev_sha = strdup("bbbb");
    ev->ev_pr_number = 7;
    ev->ev_pr_title = strdup("Add \"quotes\" and\nnewline");
    ev->ev_pr_head = strdup("feature");
    ev->ev_pr_base = strdup("main");
    ev->ev_actor = strdup("root");
    ev->ev_deleted = true;
}

static const char full_json[] =
    "{\"forge\":\"gitlab\",\"kind\":\"pull_request\","
    "\"name\":\"Merge Request Hook\",\"action\":\"open\","
    "\"delivery\":\"d-1\",\"repo\":\"group/proj\","
    "\"clone_url\":\"https://gitlab.example/group/proj.git\","
    "\"ref\":\"refs/merge-requests/7/head\",\"branch\":\"feature\","
    "\"tag\":\"v1\",\"before\":\"aaaa\",\"sha\":\"bbbb\",\"pr_number\":7,"
    "\"pr_title\":\"Add \\\"quotes\\\" and\\nnewline\","
    "\"pr_head\":\"feature\",\"pr_base\":\"main\",\"actor\":\"root\","
    "\"deleted\":true}";

static void
assert_events_equal(const struct paved_event *a, const struct paved_event *b)
{
    assert_int_equal(a->ev_forge, b->ev_forge);
    assert_int_equal(a->ev_kind, b->ev_kind);
    assert_string_equal(a->ev_name, b->ev_name);
    assert_string_equal(a->ev_action, b->ev_action);
    assert_string_equal(a->ev_delivery, b->ev_delivery);
    assert_string_equal(a->ev_repo, b->ev_repo);
    assert_string_equal(a->ev_clone_url, b->ev_clone_url);
    assert_string_equal(a->ev_ref, b->ev_ref);
    assert_string_equal(a->ev_branch, b->ev_branch);
    assert_string_equal(a->ev_tag, b->ev_tag);
    assert_string_equal(a->ev_before, b->ev_before);
    assert_string_equal(a->ev_sha, b->ev_sha);
    assert_int_equal(a->ev_pr_number, b->ev_pr_number);
    assert_string_equal(a->ev_pr_title, b->ev_pr_title);
    assert_string_equal(a->ev_pr_head, b->ev_pr_head);
    assert_string_equal(a->ev_pr_base, b->ev_pr_base);
    assert_string_equal(a->ev_actor, b->ev_actor);
    assert_int_equal(a->ev_deleted, b->ev_deleted);
}

static void
test_to_json_full_order(void **state)
{
    struct paved_event ev, back;
    char *json;

    (void)state;
    fill_full(&ev);
    assert_int_equal(paved_event_to_json(&json, &ev), 0);
    assert_string_equal(json, full_json);
    assert_int_equal(paved_event_from_json(&back, json, strlen(json)), 0);
    assert_events_equal(&ev, &back);
    free(json);
    paved_event_dispose(&back);
    paved_event_dispose(&ev);
}

static void
test_to_json_omits(void **state)
{
    struct paved_event ev, back;
    char *json;

    (void)state;
    memset(&ev, 0, sizeof(ev));
    ev.ev_forge = PAVED_FORGE_GITHUB;
    ev.ev_kind = PAVED_EVENT_PUSH;
    ev.ev_name = strdup("push");
    ev.ev_sha = strdup("abc");
    assert_int_equal(paved_event_to_json(&json, &ev), 0);
    assert_string_equal(json, "{\"forge\":\"github\",\"kind\":\"push\","
                              "\"name\":\"push\",\"sha\":\"abc\"}");
    assert_int_equal(paved_event_from_json(&back, json, strlen(json)), 0);
    assert_int_equal(back.ev_forge, PAVED_FORGE_GITHUB);
    assert_int_equal(back.ev_kind, PAVED_EVENT_PUSH);
    assert_string_equal(back.ev_sha, "abc");
    assert_null(back.ev_repo);
    assert_null(back.ev_actor);
    assert_int_equal(back.ev_pr_number, 0);
    assert_false(back.ev_deleted);
    free(json);
    paved_event_dispose(&back);
    paved_event_dispose(&ev);
}

static void
test_copy_dispose(void **state)
{
    struct paved_event ev, copy;

    (void)state;
    fill_full(&ev);
    assert_int_equal(paved_event_copy(&copy, &ev), 0);
    assert_events_equal(&ev, &copy);
    assert_ptr_not_equal(copy.ev_repo, ev.ev_repo);
    paved_event_dispose(&ev);
    assert_null(ev.ev_repo);
    assert_int_equal(ev.ev_pr_number, 0);
    assert_string_equal(copy.ev_pr_title, "Add \"quotes\" and\nnewline");
    paved_event_dispose(&copy);
    paved_event_dispose(NULL);
}

static void
test_from_json_rejects(void **state)
{
    static const char *bad[] = {
        "",
        "[]",
        "\"push\"",
        "{\"forge\":\"github\"",
        "{\"kind\":\"push\"}",
        "{\"forge\":\"github\"}",
        "{\"forge\":\"bitbucket\",\"kind\":\"push\"}",
        "{\"forge\":\"github\",\"kind\":\"merge\"}",
        "{\"forge\":1,\"kind\":\"push\"}",
        "{\"forge\":\"github\",\"kind\":\"push\",\"repo\":5}",
        "{\"forge\":\"github\",\"kind\":\"push\",\"pr_number\":\"5\"}",
        "{\"forge\":\"github\",\"kind\":\"push\",\"pr_number\":5.0}",
        "{\"forge\":\"github\",\"kind\":\"push\",\"deleted\":1}",
        "{\"forge\":\"github\",\"kind\":\"push\",\"sha\":\"a\",\"sha\":\"b\"}",
    };
    struct paved_event ev;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(paved_event_from_json(&ev, bad[i], strlen(bad[i])),
                         PAVED_EINVAL);
        assert_null(ev.ev_sha);
        assert_null(ev.ev_repo);
    }
}

static void
test_from_json_ignores_unknown(void **state)
{
    static const char js[] = "{\"forge\":\"gitea\",\"kind\":\"tag\","
                             "\"future\":{\"x\":1},\"tag\":\"v2\"}";
    struct paved_event ev;

    (void)state;
    assert_int_equal(paved_event_from_json(&ev, js, strlen(js)), 0);
    assert_int_equal(ev.ev_forge, PAVED_FORGE_GITEA);
    assert_int_equal(ev.ev_kind, PAVED_EVENT_TAG);
    assert_string_equal(ev.ev_tag, "v2");
    paved_event_dispose(&ev);
}

static void
test_to_json_invalid(void **state)
{
    struct paved_event ev;
    char *json = (char *)"x";

    (void)state;
    memset(&ev, 0, sizeof(ev));
    ev.ev_kind = PAVED_EVENT__COUNT;
    assert_int_equal(paved_event_to_json(&json, &ev), PAVED_EINVAL);
    assert_null(json);
    ev.ev_kind = PAVED_EVENT_PUSH;
    ev.ev_repo = strdup("bad\xff utf8");
    assert_int_equal(paved_event_to_json(&json, &ev), PAVED_EINVAL);
    assert_null(json);
    paved_event_dispose(&ev);
}

/* paved_event_to_json writes what jansson's json_dumps(JSON_COMPACT |
 * JSON_PRESERVE_ORDER) wrote before it, byte for byte */
static char *
jansson_dump(const struct paved_event *ev)
{
    static const char *const keys[] = {
        "name",     "action",  "delivery", "repo",   "clone_url",
        "ref",      "branch",  "tag",      "before", "sha",
        "pr_title", "pr_head", "pr_base",  "actor",
    };
    const char *vals[] = {
        ev->ev_name,      ev->ev_action, ev->ev_delivery, ev->ev_repo,
        ev->ev_clone_url, ev->ev_ref,    ev->ev_branch,   ev->ev_tag,
        ev->ev_before,    ev->ev_sha,    ev->ev_pr_title, ev->ev_pr_head,
        ev->ev_pr_base,   ev->ev_actor,
    };
    json_t *o = json_object();
    char *s;
    size_t i;

    json_object_set_new(o, "forge",
                        json_string(paved_forge_name(ev->ev_forge)));
    json_object_set_new(o, "kind",
                        json_string(paved_event_kind_name(ev->ev_kind)));
    for (i = 0; i < 10; i++)
        if (vals[i] != NULL)
            json_object_set_new(o, keys[i], json_string(vals[i]));
    if (ev->ev_pr_number != 0)
        json_object_set_new(o, "pr_number", json_integer(ev->ev_pr_number));
    for (i = 10; i < 14; i++)
        if (vals[i] != NULL)
            json_object_set_new(o, keys[i], json_string(vals[i]));
    if (ev->ev_deleted)
        json_object_set_new(o, "deleted", json_true());
    s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}

static void
test_to_json_matches_jansson(void **state)
{
    static const char *const titles[] = {
        "",
        "plain",
        "q\"uote \\ back/slash",
        "\b\f\n\r\t \x01\x1f\x7f",
        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
        "</script>\u2028",
    };
    struct paved_event ev;
    char *mine, *theirs;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(titles) / sizeof(titles[0]); i++) {
        fill_full(&ev);
        free(ev.ev_pr_title);
        ev.ev_pr_title = strdup(titles[i]);
        ev.ev_pr_number = i % 2 ? -9223372036854775807LL - 1 : 7;
        ev.ev_deleted = i % 2;
        if (i == 3) {
            free(ev.ev_clone_url);
            ev.ev_clone_url = NULL;
        }
        assert_int_equal(paved_event_to_json(&mine, &ev), 0);
        assert_non_null(theirs = jansson_dump(&ev));
        assert_string_equal(mine, theirs);
        free(mine);
        free(theirs);
        paved_event_dispose(&ev);
    }
    memset(&ev, 0, sizeof(ev));
    ev.ev_forge = PAVED_FORGE_GITEA;
    ev.ev_kind = PAVED_EVENT_OTHER;
    assert_int_equal(paved_event_to_json(&mine, &ev), 0);
    assert_non_null(theirs = jansson_dump(&ev));
    assert_string_equal(mine, theirs);
    assert_string_equal(mine, "{\"forge\":\"gitea\",\"kind\":\"other\"}");
    free(mine);
    free(theirs);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_to_json_full_order),
        cmocka_unit_test(test_to_json_omits),
        cmocka_unit_test(test_copy_dispose),
        cmocka_unit_test(test_from_json_rejects),
        cmocka_unit_test(test_from_json_ignores_unknown),
        cmocka_unit_test(test_to_json_invalid),
        cmocka_unit_test(test_to_json_matches_jansson),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
