/* Unit tests for the GitLab adapter: real deliveries from
 * ../shared/corpus/gitlab (go-playground/webhooks testdata), the
 * X-Gitlab-Token check, delivery id precedence, and Standard Webhooks
 * signatures (with the specification's own published vector). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "paved/crypto.h"
#include "paved/error.h"
#include "paved/forge.h"

#define TOKEN "gl-webhook-token"
#define UUID "c4ef0d53-0f5b-4c55-96aa-54aa4f3b1a6c"
/* from the Standard Webhooks specification's reference implementations */
#define SW_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SW_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define SW_TS "1614265330"
#define SW_BODY "{\"test\": 2432232314}"
#define SW_SIG "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

#include "forge_test.h"

struct fixture {
    struct hdrs h;
    struct paved_forge_config cfg;
    struct paved_forge_request req;
    struct paved_forge_result res;
    const char *tokens[2];
    const char *signing[2];
    unsigned char *body;
    size_t len;
    char sig[200];
    char ts[32];
};

static void
setup_body(struct fixture *f, const char *event, unsigned char *body,
           size_t len)
{
    memset(f, 0, sizeof(*f));
    f->tokens[0] = TOKEN;
    f->cfg.fc_gitlab_tokens = f->tokens;
    f->cfg.fc_n_gitlab_tokens = 1;
    f->cfg.fc_gitlab_signing_secrets = f->signing;
    f->body = body;
    f->len = len;
    hdr_set(&f->h, "Content-Type", "application/json");
    hdr_set(&f->h, "X-Gitlab-Event", event);
    hdr_set(&f->h, "X-Gitlab-Event-UUID", UUID);
    hdr_set(&f->h, "X-Gitlab-Token", TOKEN);
    f->req.fr_header = hdr_get;
    f->req.fr_header_ctx = &f->h;
    f->req.fr_body = body;
    f->req.fr_body_len = len;
    f->req.fr_now = 1700000000;
}

static void
setup_file(struct fixture *f, const char *event, const char *file)
{
    char rel[256];
    unsigned char *body;
    size_t len;

    snprintf(rel, sizeof(rel), "corpus/gitlab/%s", file);
    body = forge_test_load("PAVED_SHARED_DIR", "../shared", rel, &len);
    setup_body(f, event, body, len);
}

static int
run(struct fixture *f)
{
    return paved_forge_process(&f->res, PAVED_FORGE_GITLAB, &f->cfg, &f->req);
}

static void
teardown_fixture(struct fixture *f)
{
    paved_forge_result_dispose(&f->res);
    free(f->body);
}

static void
assert_msg_contains(const char *needle)
{
    if (strstr(paved_error_last(), needle) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", paved_error_last(), needle);
}

/* --- real deliveries --- */

static void
test_push(void **state)
{
    struct fixture f;
    struct paved_event *ev = &f.res.fr_event;

    (void)state;
    setup_file(&f, "Push Hook", "push-event.json");
    assert_int_equal(run(&f), 0);
    assert_int_equal(f.res.fr_secret_index, 0);
    assert_int_equal(f.res.fr_payload_len, f.len);
    assert_int_equal(ev->ev_forge, PAVED_FORGE_GITLAB);
    assert_int_equal(ev->ev_kind, PAVED_EVENT_PUSH);
    assert_string_equal(ev->ev_name, "Push Hook");
    assert_string_equal(ev->ev_delivery, UUID);
    assert_string_equal(ev->ev_repo, "mike/diaspora");
    assert_string_equal(ev->ev_clone_url,
                        "http://example.com/mike/diaspora.git");
    assert_string_equal(ev->ev_ref, "refs/heads/master");
    assert_string_equal(ev->ev_branch, "master");
    assert_null(ev->ev_tag);
    assert_string_equal(ev->ev_before,
                        "95790bf891e76fee5e1747ab589903a6a1f80f22");
    assert_string_equal(ev->ev_sha, "da1560886d4f094c3e6c9ef40349f7d38b5d27d7");
    assert_false(ev->ev_deleted);
    assert_int_equal(ev->ev_pr_number, 0);
    teardown_fixture(&f);
}

static void
test_tag_push(void **state)
{
    struct fixture f;
    struct paved_event *ev = &f.res.fr_event;

    (void)state;
    setup_file(&f, "Tag Push Hook", "tag-event.json");
    assert_int_equal(run(&f), 0);
    assert_int_equal(ev->ev_kind, PAVED_EVENT_TAG);
    assert_string_equal(ev->ev_repo, "jsmith/example");
    assert_string_equal(ev->ev_clone_url,
                        "http://example.com/jsmith/example.git");
    assert_string_equal(ev->ev_ref, "refs/tags/v1.0.0");
    assert_string_equal(ev->ev_tag, "v1.0.0");
    assert_null(ev->ev_branch);
    assert_string_equal(ev->ev_before,
                        "0000000000000000000000000000000000000000");
    assert_string_equal(ev->ev_sha, "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7");
    assert_false(ev->ev_deleted);
    teardown_fixture(&f);
}

static void
test_merge_request(void **state)
{
    struct fixture f;
    struct paved_event *ev = &f.res.fr_event;

    (void)state;
    setup_file(&f, "Merge Request Hook", "merge-request-event.json");
    assert_int_equal(run(&f), 0);
    assert_int_equal(ev->ev_kind, PAVED_EVENT_PULL_REQUEST);
    assert_string_equal(ev->ev_repo, "gitlabhq/gitlab-test");
    assert_string_equal(ev->ev_clone_url,
                        "http://example.com/gitlabhq/gitlab-test.git");
    assert_int_equal(ev->ev_pr_number, 1);
    assert_string_equal(ev->ev_ref, "refs/merge-requests/1/head");
    assert_string_equal(ev->ev_pr_title, "MS-Viewport");
    assert_string_equal(ev->ev_pr_head, "ms-viewport");
    assert_string_equal(ev->ev_branch, "ms-viewport");
    assert_string_equal(ev->ev_pr_base, "master");
    assert_string_equal(ev->ev_sha, "da1560886d4f094c3e6c9ef40349f7d38b5d27d7");
    /* GitLab says "open": one vocabulary for every forge (GitHub's) */
    assert_string_equal(ev->ev_action, "opened");
    assert_string_equal(ev->ev_actor, "root");
    teardown_fixture(&f);
}

/* GitLab's merge request actions in GitHub's words; an "update" is new
 * code only when it carries oldrev, otherwise an edit of the MR. */
static void
test_merge_request_actions(void **state)
{
    static const struct {
        const char *action, *extra, *want;
    } cases[] = {
        {"open", "", "opened"},
        {"reopen", "", "reopened"},
        {"close", "", "closed"},
        {"merge", "", "closed"},
        {"update", ",\"oldrev\":\"0123abc\"", "synchronize"},
        {"update", "", "edited"},
        {"approved", "", "approved"},
    };
    struct paved_event ev;
    char json[512];
    size_t i;
    int n;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        n = snprintf(json, sizeof(json),
                     "{\"object_kind\":\"merge_request\","
                     "\"project\":{\"path_with_namespace\":\"g/p\","
                     "\"git_http_url\":\"http://x/g/p.git\"},"
                     "\"object_attributes\":{\"iid\":3,"
                     "\"source_branch\":\"f\",\"target_branch\":\"main\","
                     "\"action\":\"%s\"%s}}",
                     cases[i].action, cases[i].extra);
        memset(&ev, 0, sizeof(ev));
        if (paved_forge_normalize(&ev, PAVED_FORGE_GITLAB, "Merge Request Hook",
                                  (const unsigned char *)json, (size_t)n) < 0)
            fail_msg("%s: %s", cases[i].action, paved_error_last());
        assert_string_equal(ev.ev_action, cases[i].want);
        paved_event_dispose(&ev);
    }
}

static void
test_release(void **state)
{
    struct fixture f;
    struct paved_event *ev = &f.res.fr_event;

    (void)state;
    setup_file(&f, "Release Hook", "release-event.json");
    assert_int_equal(run(&f), 0);
    assert_int_equal(ev->ev_kind, PAVED_EVENT_RELEASE);
    assert_string_equal(ev->ev_repo, "gitlab-org/release-webhook-example");
    assert_string_equal(
        ev->ev_clone_url,
        "https://example.com/gitlab-org/release-webhook-example.git");
    assert_string_equal(ev->ev_tag, "v1.1");
    assert_string_equal(ev->ev_ref, "refs/tags/v1.1");
    assert_string_equal(ev->ev_sha, "ee0a3fb31ac16e11b9dbb596ad16d4af654d08f8");
    assert_string_equal(ev->ev_action, "create");
    teardown_fixture(&f);
}

static void
test_other_and_deleted(void **state)
{
    static const char del[] =
        "{\"object_kind\":\"push\",\"ref\":\"refs/heads/gone\","
        "\"before\":\"95790bf891e76fee5e1747ab589903a6a1f80f22\","
        "\"after\":\"0000000000000000000000000000000000000000\","
        "\"checkout_sha\":null,\"user_username\":\"jsmith\","
        "\"project\":{\"path_with_namespace\":\"g/p\"}}";
    struct fixture f;
    struct paved_event *ev = &f.res.fr_event;

    (void)state;
    setup_file(&f, "Note Hook", "merge-request-event.json");
    assert_int_equal(run(&f), 0);
    assert_int_equal(ev->ev_kind, PAVED_EVENT_OTHER);
    assert_string_equal(ev->ev_name, "Note Hook");
    assert_string_equal(ev->ev_repo, "gitlabhq/gitlab-test");
    assert_string_equal(ev->ev_actor, "root");
    teardown_fixture(&f);

    setup_body(&f, "Push Hook", (unsigned char *)strdup(del), strlen(del));
    assert_int_equal(run(&f), 0);
    assert_int_equal(ev->ev_kind, PAVED_EVENT_PUSH);
    assert_string_equal(ev->ev_branch, "gone");
    assert_string_equal(ev->ev_actor, "jsmith");
    assert_true(ev->ev_deleted);
    assert_null(ev->ev_clone_url);
    teardown_fixture(&f);
}

static void
test_bad_payloads(void **state)
{
    static const struct {
        const char *event, *body, *msg;
    } bad[] = {
        {"Push Hook", "[]", "payload is not a JSON object"},
        {"Push Hook", "{\"ref\":\"refs/heads/x\"}",
         "push payload: missing object field \"project\""},
        {"Push Hook",
         "{\"ref\":\"refs/heads/x\",\"project\":{\"path_with_namespace\":1}}",
         "push payload: field \"project.path_with_namespace\" is not a "
         "string"},
        {"Push Hook", "{\"project\":{\"path_with_namespace\":\"g/p\"}}",
         "push payload: missing string field \"ref\""},
        {"Merge Request Hook",
         "{\"project\":{\"path_with_namespace\":\"g/p\"},"
         "\"object_attributes\":{\"iid\":\"1\",\"source_branch\":\"a\","
         "\"target_branch\":\"b\"}}",
         "merge request payload: field \"object_attributes.iid\" is not a "
         "positive integer"},
        {"Merge Request Hook",
         "{\"project\":{\"path_with_namespace\":\"g/p\"},"
         "\"object_attributes\":{\"iid\":1,\"target_branch\":\"b\"}}",
         "merge request payload: missing string field "
         "\"object_attributes.source_branch\""},
        {"Release Hook", "{\"project\":{\"path_with_namespace\":\"g/p\"}}",
         "release payload: missing string field \"tag\""},
    };
    struct fixture f;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        setup_body(&f, bad[i].event, (unsigned char *)strdup(bad[i].body),
                   strlen(bad[i].body));
        assert_int_equal(run(&f), PAVED_EINVAL);
        if (strcmp(paved_error_last(), bad[i].msg) != 0)
            fail_msg("got \"%s\", want \"%s\"", paved_error_last(), bad[i].msg);
        teardown_fixture(&f);
    }
}

/* --- token --- */

static void
test_token(void **state)
{
    struct fixture f;

    (void)state;
    setup_file(&f, "Push Hook", "push-event.json");
    hdr_set(&f.h, "X-Gitlab-Token", "gl-webhook-tokeN");
    assert_int_equal(run(&f), PAVED_EAUTH);
    assert_null(strstr(paved_error_last(), TOKEN));
    hdr_set(&f.h, "X-Gitlab-Token", TOKEN "x");
    assert_int_equal(run(&f), PAVED_EAUTH);
    hdr_set(&f.h, "X-Gitlab-Token", NULL);
    assert_int_equal(run(&f), PAVED_EAUTH);
    assert_msg_contains("X-Gitlab-Token");
    /* 401 before 400: a bad token with no event header is still 401 */
    hdr_set(&f.h, "X-Gitlab-Event", NULL);
    assert_int_equal(run(&f), PAVED_EAUTH);
    hdr_set(&f.h, "X-Gitlab-Event", "Push Hook");

    /* rotation: the second token matches */
    hdr_set(&f.h, "X-Gitlab-Token", "new-token");
    f.tokens[1] = "new-token";
    f.cfg.fc_n_gitlab_tokens = 2;
    assert_int_equal(run(&f), 0);
    assert_int_equal(f.res.fr_secret_index, 1);
    paved_forge_result_dispose(&f.res);

    f.cfg.fc_n_gitlab_tokens = 0;
    assert_int_equal(run(&f), PAVED_EAUTH);
    assert_msg_contains("PAVED_GITLAB_TOKEN");

    f.cfg.fc_n_gitlab_tokens = 2;
    hdr_set(&f.h, "Content-Type", "application/xml");
    assert_int_equal(run(&f), PAVED_EUNSUPPORTED);
    teardown_fixture(&f);
}

static void
test_delivery_id(void **state)
{
    struct fixture f;

    (void)state;
    setup_file(&f, "Push Hook", "push-event.json");
    hdr_set(&f.h, "Idempotency-Key", "idem-1");
    hdr_set(&f.h, "webhook-id", "msg_1");
    assert_int_equal(run(&f), 0);
    assert_string_equal(f.res.fr_event.ev_delivery, "idem-1");
    paved_forge_result_dispose(&f.res);
    hdr_set(&f.h, "Idempotency-Key", NULL);
    assert_int_equal(run(&f), 0);
    assert_string_equal(f.res.fr_event.ev_delivery, UUID);
    paved_forge_result_dispose(&f.res);
    hdr_set(&f.h, "X-Gitlab-Event-UUID", NULL);
    assert_int_equal(run(&f), 0);
    assert_string_equal(f.res.fr_event.ev_delivery, "msg_1");
    paved_forge_result_dispose(&f.res);
    hdr_set(&f.h, "webhook-id", NULL);
    assert_int_equal(run(&f), PAVED_EINVAL);
    assert_msg_contains("delivery id");
    hdr_set(&f.h, "X-Gitlab-Event-UUID", "bad id");
    assert_int_equal(run(&f), PAVED_EINVAL);
    teardown_fixture(&f);
}

/* --- Standard Webhooks --- */

static void
setup_sw_vector(struct fixture *f)
{
    setup_body(f, "Pipeline Hook", (unsigned char *)strdup(SW_BODY),
               strlen(SW_BODY));
    f->cfg.fc_n_gitlab_tokens = 0;
    f->signing[0] = SW_SECRET;
    f->cfg.fc_n_gitlab_signing_secrets = 1;
    f->req.fr_now = 1614265330;
    hdr_set(&f->h, "X-Gitlab-Token", NULL);
    hdr_set(&f->h, "X-Gitlab-Event-UUID", NULL);
    hdr_set(&f->h, "webhook-id", SW_ID);
    hdr_set(&f->h, "webhook-timestamp", SW_TS);
    hdr_set(&f->h, "webhook-signature", SW_SIG);
}

static void
test_standard_webhooks_vector(void **state)
{
    struct fixture f;

    (void)state;
    setup_sw_vector(&f);
    assert_int_equal(run(&f), 0);
    assert_int_equal(f.res.fr_secret_index, 0);
    assert_int_equal(f.res.fr_event.ev_kind, PAVED_EVENT_OTHER);
    assert_string_equal(f.res.fr_event.ev_delivery, SW_ID);
    paved_forge_result_dispose(&f.res);

    /* several signatures, the good one last; unknown versions skipped */
    hdr_set(&f.h, "webhook-signature",
            "v1a,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= "
            "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= "
            "v1,not*base64 " SW_SIG);
    assert_int_equal(run(&f), 0);
    paved_forge_result_dispose(&f.res);

    /* rotation: the second signing secret matches */
    f.signing[0] = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    f.signing[1] = SW_SECRET;
    f.cfg.fc_n_gitlab_signing_secrets = 2;
    assert_int_equal(run(&f), 0);
    assert_int_equal(f.res.fr_secret_index, 1);
    teardown_fixture(&f);
}

static void
test_standard_webhooks_refusals(void **state)
{
    struct fixture f;

    (void)state;
    setup_sw_vector(&f);

    /* bad signature: wrong MAC, only v1a, tampered body, wrong id */
    hdr_set(&f.h, "webhook-signature",
            "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    assert_int_equal(run(&f), PAVED_EAUTH);
    assert_msg_contains("webhook-signature");
    hdr_set(&f.h, "webhook-signature",
            "v1a,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    assert_int_equal(run(&f), PAVED_EAUTH);
    hdr_set(&f.h, "webhook-signature", SW_SIG);
    f.body[2] = 'T';
    assert_int_equal(run(&f), PAVED_EAUTH);
    f.body[2] = 't';
    hdr_set(&f.h, "webhook-id", "msg_other");
    assert_int_equal(run(&f), PAVED_EAUTH);
    hdr_set(&f.h, "webhook-id", SW_ID);
    assert_int_equal(run(&f), 0);
    paved_forge_result_dispose(&f.res);

    /* the timestamp window: 300 s either side by default */
    f.req.fr_now = 1614265330 + 300;
    assert_int_equal(run(&f), 0);
    paved_forge_result_dispose(&f.res);
    f.req.fr_now = 1614265330 + 301;
    assert_int_equal(run(&f), PAVED_EAUTH);
    assert_msg_contains("webhook-timestamp");
    f.req.fr_now = 1614265330 - 301;
    assert_int_equal(run(&f), PAVED_EAUTH);
    f.cfg.fc_gitlab_tolerance = 1000;
    assert_int_equal(run(&f), 0);
    paved_forge_result_dispose(&f.res);
    f.req.fr_now = 1614265330;

    /* a timestamp that is not plain unix seconds */
    hdr_set(&f.h, "webhook-timestamp", "1614265330.0");
    assert_int_equal(run(&f), PAVED_EAUTH);
    hdr_set(&f.h, "webhook-timestamp", "-1614265330");
    assert_int_equal(run(&f), PAVED_EAUTH);
    hdr_set(&f.h, "webhook-timestamp", "99999999999999999999999");
    assert_int_equal(run(&f), PAVED_EAUTH);
    hdr_set(&f.h, "webhook-timestamp", SW_TS);

    /* missing headers */
    hdr_set(&f.h, "webhook-signature", NULL);
    assert_int_equal(run(&f), PAVED_EAUTH);
    hdr_set(&f.h, "webhook-signature", SW_SIG);
    hdr_set(&f.h, "webhook-timestamp", NULL);
    assert_int_equal(run(&f), PAVED_EAUTH);
    hdr_set(&f.h, "webhook-timestamp", SW_TS);

    /* with tokens configured too, both must pass */
    f.cfg.fc_n_gitlab_tokens = 1;
    assert_int_equal(run(&f), PAVED_EAUTH);
    assert_msg_contains("X-Gitlab-Token");
    hdr_set(&f.h, "X-Gitlab-Token", TOKEN);
    assert_int_equal(run(&f), 0);
    paved_forge_result_dispose(&f.res);

    /* an undecodable whsec_ secret never matches, and the message says
     * which one is broken without showing it */
    f.signing[0] = "whsec_not base64!";
    assert_int_equal(run(&f), PAVED_EAUTH);
    assert_msg_contains("#1");
    assert_null(strstr(paved_error_last(), "not base64"));
    teardown_fixture(&f);
}

static void
test_standard_webhooks_raw_secret(void **state)
{
    static const char secret[] = "plain-shared-secret";
    unsigned char mac[32];
    size_t maclen;
    char *b64, msg[128];
    struct fixture f;

    (void)state;
    setup_sw_vector(&f);
    f.signing[0] = secret;
    /* no whsec_ prefix: the secret's own bytes are the key */
    snprintf(msg, sizeof(msg), "%s.%s.%s", SW_ID, SW_TS, SW_BODY);
    assert_int_equal(paved_hmac(mac, &maclen, "sha256", secret, strlen(secret),
                                msg, strlen(msg)),
                     0);
    assert_int_equal(paved_base64_encode(&b64, mac, maclen), 0);
    snprintf(f.sig, sizeof(f.sig), "v1,%s", b64);
    free(b64);
    hdr_set(&f.h, "webhook-signature", f.sig);
    assert_int_equal(run(&f), 0);
    paved_forge_result_dispose(&f.res);
    hdr_set(&f.h, "webhook-signature", SW_SIG);
    assert_int_equal(run(&f), PAVED_EAUTH);
    teardown_fixture(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_push),
        cmocka_unit_test(test_tag_push),
        cmocka_unit_test(test_merge_request),
        cmocka_unit_test(test_merge_request_actions),
        cmocka_unit_test(test_release),
        cmocka_unit_test(test_other_and_deleted),
        cmocka_unit_test(test_bad_payloads),
        cmocka_unit_test(test_token),
        cmocka_unit_test(test_delivery_id),
        cmocka_unit_test(test_standard_webhooks_vector),
        cmocka_unit_test(test_standard_webhooks_refusals),
        cmocka_unit_test(test_standard_webhooks_raw_secret),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
