/* Unit tests for the Gitea/Forgejo adapter over real Gitea deliveries from
 * ../shared/corpus/gitea (go-playground/webhooks testdata), including the
 * signature vector recorded in ../shared/corpus/SOURCES.md. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "paved/buf.h"
#include "paved/crypto.h"
#include "paved/error.h"
#include "paved/forge.h"

#define SECRET "IsWishesWereHorsesWedAllBeEatingSteak!"
#define CREATE_SIG                                                             \
    "6f250ac7a090096574758e31bd31770eab63dfd0459404f0c18431f1c6b9024a"
#define DELIVERY "f6266f16-1bf3-46a5-9ea4-602e06ead473"

#include "forge_test.h"

static void
sign_hex(char *out, const char *secret, const void *body, size_t len)
{
    unsigned char mac[32];
    size_t maclen;

    assert_int_equal(
        paved_hmac(mac, &maclen, "sha256", secret, strlen(secret), body, len),
        0);
    paved_hex_encode(out, mac, maclen);
}

struct fixture {
    struct hdrs h;
    struct paved_forge_config cfg;
    struct paved_forge_request req;
    struct paved_forge_result res;
    const char *secrets[2];
    unsigned char *body;
    size_t len;
    char sig[65];
};

static void
setup_body(struct fixture *f, const char *event, unsigned char *body,
           size_t len)
{
    memset(f, 0, sizeof(*f));
    f->secrets[0] = SECRET;
    f->cfg.fc_gitea_secrets = f->secrets;
    f->cfg.fc_n_gitea_secrets = 1;
    /* a GitHub secret must play no part in a Gitea delivery */
    f->cfg.fc_github_secrets = f->secrets;
    f->cfg.fc_n_github_secrets = 1;
    f->body = body;
    f->len = len;
    sign_hex(f->sig, SECRET, body, len);
    hdr_set(&f->h, "Content-Type", "application/json");
    hdr_set(&f->h, "X-Gitea-Event", event);
    hdr_set(&f->h, "X-Gitea-Delivery", DELIVERY);
    hdr_set(&f->h, "X-Gitea-Signature", f->sig);
    f->req.fr_header = hdr_get;
    f->req.fr_header_ctx = &f->h;
    f->req.fr_body = body;
    f->req.fr_body_len = len;
}

static void
setup_file(struct fixture *f, const char *event, const char *file)
{
    char rel[256];
    unsigned char *body;
    size_t len;

    snprintf(rel, sizeof(rel), "corpus/gitea/%s", file);
    body = forge_test_load("PAVED_SHARED_DIR", "../shared", rel, &len);
    setup_body(f, event, body, len);
}

static int
run(struct fixture *f)
{
    return paved_forge_process(&f->res, PAVED_FORGE_GITEA, &f->cfg, &f->req);
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

static void
test_sources_vector(void **state)
{
    struct fixture f;
    struct paved_event *ev = &f.res.fr_event;

    (void)state;
    setup_file(&f, "create", "create-event.json");
    /* the value recorded in SOURCES.md, not one we computed ourselves */
    assert_string_equal(f.sig, CREATE_SIG);
    hdr_set(&f.h, "X-Gitea-Signature", CREATE_SIG);
    assert_int_equal(run(&f), 0);
    assert_int_equal(f.res.fr_secret_index, 0);
    assert_int_equal(ev->ev_forge, PAVED_FORGE_GITEA);
    assert_int_equal(ev->ev_kind, PAVED_EVENT_CREATE);
    assert_string_equal(ev->ev_name, "create");
    assert_string_equal(ev->ev_delivery, DELIVERY);
    assert_string_equal(ev->ev_repo, "example/example");
    assert_string_equal(ev->ev_clone_url,
                        "http://localhost:3000/example/example.git");
    assert_string_equal(ev->ev_ref, "refs/heads/master");
    assert_string_equal(ev->ev_branch, "master");
    assert_null(ev->ev_tag);
    assert_string_equal(ev->ev_sha, "67b56589a45103f891bdee7c0546e5d40bc02001");
    assert_string_equal(ev->ev_actor, "example");
    assert_false(ev->ev_deleted);
    paved_forge_result_dispose(&f.res);

    /* upper-case hex is the same signature */
    hdr_set(&f.h, "X-Gitea-Signature",
            "6F250AC7A090096574758E31BD31770EAB63DFD0459404F0C18431F1C6B9024A");
    assert_int_equal(run(&f), 0);
    teardown_fixture(&f);
}

static void
test_forgejo_headers(void **state)
{
    struct fixture f;

    (void)state;
    setup_file(&f, "create", "create-event.json");
    hdr_set(&f.h, "X-Gitea-Signature", NULL);
    hdr_set(&f.h, "X-Gitea-Event", NULL);
    hdr_set(&f.h, "X-Gitea-Delivery", NULL);
    hdr_set(&f.h, "X-Forgejo-Signature", CREATE_SIG);
    hdr_set(&f.h, "X-Forgejo-Event", "create");
    hdr_set(&f.h, "X-Forgejo-Delivery", "forgejo-1");
    assert_int_equal(run(&f), 0);
    assert_string_equal(f.res.fr_event.ev_delivery, "forgejo-1");
    assert_string_equal(f.res.fr_event.ev_name, "create");
    paved_forge_result_dispose(&f.res);

    /* X-GitHub-Event is the last fallback for the event name */
    hdr_set(&f.h, "X-Forgejo-Event", NULL);
    hdr_set(&f.h, "X-GitHub-Event", "create");
    assert_int_equal(run(&f), 0);
    assert_int_equal(f.res.fr_event.ev_kind, PAVED_EVENT_CREATE);
    paved_forge_result_dispose(&f.res);

    hdr_set(&f.h, "X-GitHub-Event", NULL);
    assert_int_equal(run(&f), PAVED_EINVAL);
    assert_msg_contains("X-Gitea-Event");
    teardown_fixture(&f);
}

static void
test_delete(void **state)
{
    struct fixture f;
    struct paved_event *ev = &f.res.fr_event;

    (void)state;
    setup_file(&f, "delete", "delete-event.json");
    assert_int_equal(run(&f), 0);
    assert_int_equal(ev->ev_kind, PAVED_EVENT_DELETE);
    assert_string_equal(ev->ev_repo, "example/example");
    assert_string_equal(ev->ev_ref, "refs/heads/example3");
    assert_string_equal(ev->ev_branch, "example3");
    assert_true(ev->ev_deleted);
    assert_null(ev->ev_sha);
    assert_string_equal(ev->ev_actor, "example");
    teardown_fixture(&f);
}

/* Gitea says "synchronized" for new commits; GitHub's word comes out */
static void
test_pull_request_synchronized(void **state)
{
    static const char from[] = "\"action\": \"opened\"";
    static const char to[] = "\"action\": \"synchronized\"";
    struct paved_buf b = PAVED_BUF_INIT(1 << 20);
    struct paved_event ev;
    size_t len;
    unsigned char *json =
        forge_test_load("PAVED_SHARED_DIR", "../shared",
                        "corpus/gitea/pull-request-event.json", &len);
    char *at = strstr((char *)json, from);

    (void)state;
    assert_non_null(at);
    assert_int_equal(paved_buf_put(&b, json, (size_t)(at - (char *)json)), 0);
    assert_int_equal(paved_buf_puts(&b, to), 0);
    assert_int_equal(paved_buf_puts(&b, at + strlen(from)), 0);
    memset(&ev, 0, sizeof(ev));
    if (paved_forge_normalize(&ev, PAVED_FORGE_GITEA, "pull_request",
                              (const unsigned char *)b.b_ptr, b.b_len) < 0)
        fail_msg("%s", paved_error_last());
    assert_string_equal(ev.ev_action, "synchronize");
    paved_event_dispose(&ev);
    paved_buf_dispose(&b);
    free(json);
}

static void
test_pull_request(void **state)
{
    struct fixture f;
    struct paved_event *ev = &f.res.fr_event;

    (void)state;
    setup_file(&f, "pull_request", "pull-request-event.json");
    assert_int_equal(run(&f), 0);
    assert_int_equal(ev->ev_kind, PAVED_EVENT_PULL_REQUEST);
    assert_string_equal(ev->ev_action, "opened");
    assert_int_equal(ev->ev_pr_number, 2);
    assert_string_equal(ev->ev_pr_title, "update");
    assert_string_equal(ev->ev_pr_head, "master");
    assert_string_equal(ev->ev_pr_base, "master");
    assert_string_equal(ev->ev_branch, "master");
    assert_string_equal(ev->ev_sha, "48e773f892a831faa47c0a160d1b7f0cd369ae2a");
    assert_string_equal(ev->ev_ref, "refs/pull/2/head");
    assert_string_equal(ev->ev_repo, "example/example");
    assert_string_equal(ev->ev_clone_url,
                        "http://localhost:3000/example/example.git");
    assert_string_equal(ev->ev_actor, "example2");
    teardown_fixture(&f);
}

static void
test_push(void **state)
{
    struct fixture f;
    struct paved_event *ev = &f.res.fr_event;

    (void)state;
    setup_file(&f, "push", "push-event.json");
    assert_int_equal(run(&f), 0);
    assert_int_equal(ev->ev_kind, PAVED_EVENT_PUSH);
    assert_string_equal(ev->ev_repo, "example/example");
    assert_string_equal(ev->ev_ref, "refs/heads/master");
    assert_string_equal(ev->ev_branch, "master");
    assert_string_equal(ev->ev_before,
                        "0000000000000000000000000000000000000000");
    assert_string_equal(ev->ev_sha, "67b56589a45103f891bdee7c0546e5d40bc02001");
    assert_string_equal(ev->ev_actor, "example");
    assert_false(ev->ev_deleted);
    teardown_fixture(&f);
}

static void
test_release(void **state)
{
    struct fixture f;
    struct paved_event *ev = &f.res.fr_event;

    (void)state;
    setup_file(&f, "release", "release-event.json");
    assert_int_equal(run(&f), 0);
    assert_int_equal(ev->ev_kind, PAVED_EVENT_RELEASE);
    assert_string_equal(ev->ev_action, "published");
    assert_string_equal(ev->ev_tag, "example");
    assert_string_equal(ev->ev_ref, "refs/tags/example");
    assert_string_equal(ev->ev_repo, "example/example");
    teardown_fixture(&f);
}

static unsigned char *
form_encode(const unsigned char *json, size_t len, size_t *outlen)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char *out = malloc(8 + 3 * len + 1);
    size_t i, o;

    assert_non_null(out);
    memcpy(out, "payload=", 8);
    o = 8;
    for (i = 0; i < len; i++) {
        unsigned char c = json[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9')) {
            out[o++] = c;
        } else if (c == ' ') {
            out[o++] = '+';
        } else {
            out[o++] = '%';
            out[o++] = (unsigned char)hex[c >> 4];
            out[o++] = (unsigned char)hex[c & 15];
        }
    }
    out[o] = '\0';
    *outlen = o;
    return out;
}

static void
test_form_signs_decoded_payload(void **state)
{
    struct fixture f;
    unsigned char *json, *form;
    size_t jlen, flen;
    char formsig[65];

    (void)state;
    json = forge_test_load("PAVED_SHARED_DIR", "../shared",
                           "corpus/gitea/create-event.json", &jlen);
    form = form_encode(json, jlen, &flen);
    setup_body(&f, "create", form, flen);
    hdr_set(&f.h, "Content-Type", "application/x-www-form-urlencoded");
    /* Gitea signs the JSON, not the form: the SOURCES.md vector holds */
    hdr_set(&f.h, "X-Gitea-Signature", CREATE_SIG);
    assert_int_equal(run(&f), 0);
    assert_int_equal(f.res.fr_payload_len, jlen);
    assert_memory_equal(f.res.fr_payload, json, jlen);
    assert_string_equal(f.res.fr_event.ev_branch, "master");
    paved_forge_result_dispose(&f.res);

    /* a signature over the form bytes is wrong for Gitea */
    sign_hex(formsig, SECRET, form, flen);
    hdr_set(&f.h, "X-Gitea-Signature", formsig);
    assert_int_equal(run(&f), PAVED_EAUTH);
    teardown_fixture(&f);
    free(json);

    /* an undecodable form cannot be authenticated: 401, not 400 */
    setup_body(&f, "create", (unsigned char *)strdup("payload=%zz"), 11);
    hdr_set(&f.h, "Content-Type", "application/x-www-form-urlencoded");
    assert_int_equal(run(&f), PAVED_EAUTH);
    teardown_fixture(&f);
}

static void
test_refusals(void **state)
{
    struct fixture f;

    (void)state;
    setup_file(&f, "push", "push-event.json");

    hdr_set(&f.h, "Content-Type", "text/plain");
    assert_int_equal(run(&f), PAVED_EUNSUPPORTED);
    hdr_set(&f.h, "Content-Type", "application/json; charset=utf-8");

    f.body[10] ^= 1; /* tampered */
    assert_int_equal(run(&f), PAVED_EAUTH);
    f.body[10] ^= 1;
    assert_int_equal(run(&f), 0);
    paved_forge_result_dispose(&f.res);

    f.secrets[0] = "wrong";
    assert_int_equal(run(&f), PAVED_EAUTH);
    assert_null(strstr(paved_error_last(), f.sig));
    assert_null(strstr(paved_error_last(), "wrong"));

    f.secrets[1] = SECRET; /* rotation: the second matches */
    f.cfg.fc_n_gitea_secrets = 2;
    assert_int_equal(run(&f), 0);
    assert_int_equal(f.res.fr_secret_index, 1);
    paved_forge_result_dispose(&f.res);

    hdr_set(&f.h, "X-Gitea-Signature", "sha256=00");
    assert_int_equal(run(&f), PAVED_EAUTH);
    hdr_set(&f.h, "X-Gitea-Signature", "abcd");
    assert_int_equal(run(&f), PAVED_EAUTH);
    hdr_set(&f.h, "X-Gitea-Signature", NULL);
    assert_int_equal(run(&f), PAVED_EAUTH);
    assert_msg_contains("X-Gitea-Signature");
    /* Gitea's compatibility X-Hub-Signature-256 is not accepted alone */
    hdr_set(&f.h, "X-Hub-Signature-256", "sha256=00");
    assert_int_equal(run(&f), PAVED_EAUTH);
    hdr_set(&f.h, "X-Gitea-Signature", f.sig);

    hdr_set(&f.h, "X-Gitea-Delivery", NULL);
    assert_int_equal(run(&f), PAVED_EINVAL);
    assert_msg_contains("X-Gitea-Delivery");
    hdr_set(&f.h, "X-Gitea-Delivery", DELIVERY);

    f.cfg.fc_n_gitea_secrets = 0;
    assert_int_equal(run(&f), PAVED_EAUTH);
    assert_msg_contains("PAVED_GITEA_SECRET");
    teardown_fixture(&f);
}

static void
test_bad_payloads(void **state)
{
    static const char *bodies[] = {
        "[]",
        "{\"ref\":\"refs/heads/main\"",
        "{\"ref\":\"refs/heads/main\",\"repository\":{\"full_name\":[]}}",
        "{\"ref\":1,\"repository\":{\"full_name\":\"a/b\"}}",
    };
    struct fixture f;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        setup_body(&f, "push", (unsigned char *)strdup(bodies[i]),
                   strlen(bodies[i]));
        assert_int_equal(run(&f), PAVED_EINVAL);
        teardown_fixture(&f);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sources_vector),
        cmocka_unit_test(test_forgejo_headers),
        cmocka_unit_test(test_delete),
        cmocka_unit_test(test_pull_request),
        cmocka_unit_test(test_pull_request_synchronized),
        cmocka_unit_test(test_push),
        cmocka_unit_test(test_release),
        cmocka_unit_test(test_form_signs_decoded_payload),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_bad_payloads),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
