/* Unit tests for the GitHub adapter: GitHub's documented HMAC vector, real
 * payloads from @octokit/webhooks-examples (tests/fixtures/github/), and
 * every way a delivery must be refused, in the documented check order
 * (415, then 401, then 400). */
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

#define SECRET "It's a Secret to Everybody"
#define DELIVERY "72d3162e-cc78-11e3-81ab-4c9367dc0958"

#include "forge_test.h"

/* "sha256=<hex>" or "sha1=<hex>" of body under secret */
static void
sign(char *out, size_t outsz, const char *algo, const char *secret,
     const void *body, size_t len)
{
    unsigned char mac[32];
    char hex[65];
    size_t maclen;

    assert_int_equal(
        paved_hmac(mac, &maclen, algo, secret, strlen(secret), body, len), 0);
    paved_hex_encode(hex, mac, maclen);
    snprintf(out, outsz, "%s=%s", algo, hex);
}

struct fixture {
    struct hdrs h;
    struct paved_forge_config cfg;
    struct paved_forge_request req;
    struct paved_forge_result res;
    const char *secrets[2];
    unsigned char *body;
    size_t len;
    char sig[80];
    char sig1[80];
};

/* a correctly signed delivery of body as event; tests then spoil it */
static void
setup_delivery(struct fixture *f, const char *event, unsigned char *body,
               size_t len)
{
    memset(f, 0, sizeof(*f));
    f->secrets[0] = SECRET;
    f->cfg.fc_github_secrets = f->secrets;
    f->cfg.fc_n_github_secrets = 1;
    f->body = body;
    f->len = len;
    sign(f->sig, sizeof(f->sig), "sha256", SECRET, body, len);
    sign(f->sig1, sizeof(f->sig1), "sha1", SECRET, body, len);
    hdr_set(&f->h, "Content-Type", "application/json");
    hdr_set(&f->h, "X-GitHub-Event", event);
    hdr_set(&f->h, "X-GitHub-Delivery", DELIVERY);
    hdr_set(&f->h, "X-Hub-Signature-256", f->sig);
    f->req.fr_header = hdr_get;
    f->req.fr_header_ctx = &f->h;
    f->req.fr_body = body;
    f->req.fr_body_len = len;
    f->req.fr_now = 1700000000;
}

static void
setup_fixture(struct fixture *f, const char *event, const char *file)
{
    size_t len;
    unsigned char *body;
    char rel[256];

    snprintf(rel, sizeof(rel), "tests/fixtures/github/%s", file);
    body = forge_test_load("PAVED_SOURCE_DIR", ".", rel, &len);
    setup_delivery(f, event, body, len);
}

static int
run(struct fixture *f)
{
    return paved_forge_process(&f->res, PAVED_FORGE_GITHUB, &f->cfg, &f->req);
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
    const char *msg = paved_error_last();

    if (strstr(msg, needle) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", msg, needle);
}

/* --- the documented vector --- */

static void
test_documented_vector(void **state)
{
    unsigned char want[32], mac[32];
    size_t wantlen, maclen;

    (void)state;
    assert_int_equal(
        paved_forge_parse_hub_signature(
            want, &wantlen,
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8"
            "b043e17",
            "sha256"),
        0);
    assert_int_equal(wantlen, 32);
    assert_int_equal(paved_hmac(mac, &maclen, "sha256", SECRET, strlen(SECRET),
                                "Hello, World!", 13),
                     0);
    assert_true(paved_ct_equal(mac, maclen, want, wantlen));
    assert_int_equal(paved_hmac(mac, &maclen, "sha256", SECRET, strlen(SECRET),
                                "Hello, World?", 13),
                     0);
    assert_false(paved_ct_equal(mac, maclen, want, wantlen));
}

static void
test_documented_vector_through_process(void **state)
{
    struct fixture f;
    unsigned char *body = (unsigned char *)strdup("Hello, World!");

    (void)state;
    setup_delivery(&f, "ping", body, 13);
    assert_string_equal(f.sig, "sha256=757107ea0eb2509fc211221cce984b8a37570b"
                               "6d7586c22c46f4379c8b043e17");
    /* signature accepted, then the body is refused as JSON: 400 not 401 */
    assert_int_equal(run(&f), PAVED_EINVAL);
    assert_msg_contains("not valid JSON");
    teardown_fixture(&f);
}

static void
test_parse_hub_signature(void **state)
{
    static const char hex64[] =
        "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    unsigned char out[32];
    size_t len = 1;
    char buf[100];

    (void)state;
    snprintf(buf, sizeof(buf), "sha256=%s", hex64);
    assert_int_equal(paved_forge_parse_hub_signature(out, &len, buf, "sha256"),
                     0);
    assert_int_equal(len, 32);
    assert_int_equal(out[0], 0x75);
    assert_int_equal(out[31], 0x17);
    /* upper-case hex is still hex */
    assert_int_equal(paved_forge_parse_hub_signature(
                         out, &len,
                         "sha256=757107EA0EB2509FC211221CCE984B8A37570B6D7586"
                         "C22C46F4379C8B043E17",
                         "sha256"),
                     0);
    assert_int_equal(
        paved_forge_parse_hub_signature(
            out, &len, "sha1=effcdf6ae5eb2fa2d27416d5f184df9c259a7c79", "sha1"),
        0);
    assert_int_equal(len, 20);
    snprintf(buf, sizeof(buf), "sha1=%s", hex64);
    assert_int_equal(paved_forge_parse_hub_signature(out, &len, buf, "sha256"),
                     PAVED_EAUTH);
    assert_int_equal(len, 0);
    snprintf(buf, sizeof(buf), "sha256:%s", hex64);
    assert_int_equal(paved_forge_parse_hub_signature(out, &len, buf, "sha256"),
                     PAVED_EAUTH);
    snprintf(buf, sizeof(buf), "SHA256=%s", hex64);
    assert_int_equal(paved_forge_parse_hub_signature(out, &len, buf, "sha256"),
                     PAVED_EAUTH);
    snprintf(buf, sizeof(buf), "sha256=%.62s", hex64);
    assert_int_equal(paved_forge_parse_hub_signature(out, &len, buf, "sha256"),
                     PAVED_EAUTH);
    snprintf(buf, sizeof(buf), "sha256=%s00", hex64);
    assert_int_equal(paved_forge_parse_hub_signature(out, &len, buf, "sha256"),
                     PAVED_EAUTH);
    snprintf(buf, sizeof(buf), "sha256=%.63sz", hex64);
    assert_int_equal(paved_forge_parse_hub_signature(out, &len, buf, "sha256"),
                     PAVED_EAUTH);
    assert_int_equal(
        paved_forge_parse_hub_signature(out, &len, "sha256=", "sha256"),
        PAVED_EAUTH);
    assert_int_equal(paved_forge_parse_hub_signature(out, &len, "", "sha256"),
                     PAVED_EAUTH);
    assert_int_equal(paved_forge_parse_hub_signature(out, &len, NULL, "sha256"),
                     PAVED_EAUTH);
}

/* --- real payloads --- */

static void
test_push_branch(void **state)
{
    struct fixture f;
    struct paved_event *ev = &f.res.fr_event;

    (void)state;
    setup_fixture(&f, "push", "push.json");
    assert_int_equal(run(&f), 0);
    assert_int_equal(f.res.fr_secret_index, 0);
    assert_int_equal(f.res.fr_sha1, 0);
    assert_int_equal(f.res.fr_payload_len, f.len);
    assert_memory_equal(f.res.fr_payload, f.body, f.len);
    assert_int_equal(ev->ev_forge, PAVED_FORGE_GITHUB);
    assert_int_equal(ev->ev_kind, PAVED_EVENT_PUSH);
    assert_string_equal(ev->ev_name, "push");
    assert_string_equal(ev->ev_delivery, DELIVERY);
    assert_string_equal(ev->ev_repo, "Codertocat/Hello-World");
    assert_string_equal(ev->ev_clone_url,
                        "https://github.com/Codertocat/Hello-World.git");
    assert_string_equal(ev->ev_ref, "refs/heads/master");
    assert_string_equal(ev->ev_branch, "master");
    assert_null(ev->ev_tag);
    assert_string_equal(ev->ev_before,
                        "0000000000000000000000000000000000000000");
    assert_string_equal(ev->ev_sha, "6113728f27ae82c7b1a177c8d03f9e96e0adf246");
    assert_string_equal(ev->ev_actor, "Codertocat");
    assert_false(ev->ev_deleted);
    assert_int_equal(ev->ev_pr_number, 0);
    teardown_fixture(&f);
}

static void
test_push_tag(void **state)
{
    struct fixture f;
    struct paved_event *ev = &f.res.fr_event;

    (void)state;
    setup_fixture(&f, "push", "push-tag.json");
    assert_int_equal(run(&f), 0);
    assert_int_equal(ev->ev_kind, PAVED_EVENT_TAG);
    assert_string_equal(ev->ev_ref, "refs/tags/simple-tag");
    assert_string_equal(ev->ev_tag, "simple-tag");
    assert_null(ev->ev_branch);
    assert_string_equal(ev->ev_sha, "6113728f27ae82c7b1a177c8d03f9e96e0adf246");
    assert_false(ev->ev_deleted);
    teardown_fixture(&f);
}

static void
test_pull_request_opened(void **state)
{
    struct fixture f;
    struct paved_event *ev = &f.res.fr_event;

    (void)state;
    setup_fixture(&f, "pull_request", "pull_request-opened.json");
    assert_int_equal(run(&f), 0);
    assert_int_equal(ev->ev_kind, PAVED_EVENT_PULL_REQUEST);
    assert_string_equal(ev->ev_action, "opened");
    assert_int_equal(ev->ev_pr_number, 2);
    assert_string_equal(ev->ev_pr_title,
                        "Update the README with new information.");
    assert_string_equal(ev->ev_pr_head, "changes");
    assert_string_equal(ev->ev_branch, "changes");
    assert_string_equal(ev->ev_pr_base, "master");
    assert_string_equal(ev->ev_sha, "ec26c3e57ca3a959ca5aad62de7213c562f8c821");
    assert_string_equal(ev->ev_ref, "refs/pull/2/head");
    assert_string_equal(ev->ev_repo, "Codertocat/Hello-World");
    assert_string_equal(ev->ev_actor, "Codertocat");
    teardown_fixture(&f);
}

static void
test_release_published(void **state)
{
    struct fixture f;
    struct paved_event *ev = &f.res.fr_event;

    (void)state;
    setup_fixture(&f, "release", "release-published.json");
    assert_int_equal(run(&f), 0);
    assert_int_equal(ev->ev_kind, PAVED_EVENT_RELEASE);
    assert_string_equal(ev->ev_action, "published");
    assert_string_equal(ev->ev_tag, "0.0.1");
    assert_string_equal(ev->ev_ref, "refs/tags/0.0.1");
    assert_string_equal(ev->ev_repo, "Codertocat/Hello-World");
    teardown_fixture(&f);
}

static void
test_create_delete(void **state)
{
    struct fixture f;
    struct paved_event *ev = &f.res.fr_event;

    (void)state;
    setup_fixture(&f, "create", "create.json");
    assert_int_equal(run(&f), 0);
    assert_int_equal(ev->ev_kind, PAVED_EVENT_CREATE);
    assert_string_equal(ev->ev_ref, "refs/tags/simple-tag");
    assert_string_equal(ev->ev_tag, "simple-tag");
    assert_false(ev->ev_deleted);
    teardown_fixture(&f);

    setup_fixture(&f, "delete", "delete.json");
    assert_int_equal(run(&f), 0);
    assert_int_equal(ev->ev_kind, PAVED_EVENT_DELETE);
    assert_string_equal(ev->ev_ref, "refs/tags/simple-tag");
    assert_string_equal(ev->ev_tag, "simple-tag");
    assert_true(ev->ev_deleted);
    teardown_fixture(&f);
}

static void
test_ping(void **state)
{
    struct fixture f;
    struct paved_event *ev = &f.res.fr_event;

    (void)state;
    setup_fixture(&f, "ping", "ping.json");
    assert_int_equal(run(&f), 0);
    assert_int_equal(ev->ev_kind, PAVED_EVENT_PING);
    assert_string_equal(ev->ev_repo, "Octocoders/Hello-World");
    teardown_fixture(&f);

    setup_fixture(&f, "ping", "ping-org.json");
    assert_int_equal(run(&f), 0);
    assert_int_equal(ev->ev_kind, PAVED_EVENT_PING);
    assert_null(ev->ev_repo);
    assert_string_equal(ev->ev_actor, "Codertocat");
    teardown_fixture(&f);
}

static void
test_push_deleted(void **state)
{
    static const char *bodies[] = {
        /* GitHub says so */
        "{\"ref\":\"refs/heads/gone\",\"deleted\":true,\"after\":\"0000000"
        "000000000000000000000000000000000\",\"repository\":{\"full_name\":"
        "\"o/r\"}}",
        /* Gitea only sends the zero SHA */
        "{\"ref\":\"refs/heads/gone\",\"after\":\"00000000000000000000000000"
        "00000000000000\",\"repository\":{\"full_name\":\"o/r\"}}",
    };
    struct fixture f;
    size_t i;

    (void)state;
    for (i = 0; i < 2; i++) {
        setup_delivery(&f, "push", (unsigned char *)strdup(bodies[i]),
                       strlen(bodies[i]));
        assert_int_equal(run(&f), 0);
        assert_int_equal(f.res.fr_event.ev_kind, PAVED_EVENT_PUSH);
        assert_string_equal(f.res.fr_event.ev_branch, "gone");
        assert_true(f.res.fr_event.ev_deleted);
        teardown_fixture(&f);
    }
}

static void
test_other_event(void **state)
{
    struct fixture f;
    struct paved_event *ev = &f.res.fr_event;

    (void)state;
    /* any unknown event is accepted and stored as "other" */
    setup_fixture(&f, "issues", "ping.json");
    assert_int_equal(run(&f), 0);
    assert_int_equal(ev->ev_kind, PAVED_EVENT_OTHER);
    assert_string_equal(ev->ev_name, "issues");
    assert_string_equal(ev->ev_repo, "Octocoders/Hello-World");
    teardown_fixture(&f);
}

/* --- signatures --- */

static void
test_tampered_body(void **state)
{
    struct fixture f;

    (void)state;
    setup_fixture(&f, "push", "push.json");
    f.body[f.len / 2] ^= 1;
    assert_int_equal(run(&f), PAVED_EAUTH);
    assert_msg_contains("X-Hub-Signature-256");
    assert_null(f.res.fr_payload);
    assert_null(f.res.fr_event.ev_repo);
    teardown_fixture(&f);
}

static void
test_wrong_secret(void **state)
{
    struct fixture f;

    (void)state;
    setup_fixture(&f, "push", "push.json");
    f.secrets[0] = "not the secret";
    assert_int_equal(run(&f), PAVED_EAUTH);
    /* the message reveals neither the secret nor the expected MAC */
    assert_null(strstr(paved_error_last(), "not the secret"));
    assert_null(strstr(paved_error_last(), f.sig + 7));
    assert_null(strstr(paved_error_last(), f.sig + 20));
    teardown_fixture(&f);
}

static void
test_second_secret(void **state)
{
    struct fixture f;

    (void)state;
    setup_fixture(&f, "push", "push.json");
    f.secrets[0] = "old secret";
    f.secrets[1] = SECRET;
    f.cfg.fc_n_github_secrets = 2;
    assert_int_equal(run(&f), 0);
    assert_int_equal(f.res.fr_secret_index, 1);
    paved_forge_result_dispose(&f.res);
    /* and the first when both are the same */
    f.secrets[0] = SECRET;
    assert_int_equal(run(&f), 0);
    assert_int_equal(f.res.fr_secret_index, 0);
    teardown_fixture(&f);
}

static void
test_no_secret_configured(void **state)
{
    struct fixture f;

    (void)state;
    setup_fixture(&f, "push", "push.json");
    f.cfg.fc_n_github_secrets = 0;
    assert_int_equal(run(&f), PAVED_EAUTH);
    assert_msg_contains("PAVED_GITHUB_SECRET");
    f.cfg.fc_n_github_secrets = 1;
    f.secrets[0] = ""; /* an empty secret would be a key anyone knows */
    assert_int_equal(run(&f), PAVED_EAUTH);
    assert_msg_contains("PAVED_GITHUB_SECRET");
    teardown_fixture(&f);
}

static void
test_malformed_signature_headers(void **state)
{
    static const char *bad[] = {
        "sha1=6113728f27ae82c7b1a177c8d03f9e96e0adf246",
        "sha512=00",
        "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d",
        /* 64 characters, the last not hex */
        ("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b04"
         "3e1g"),
        "sha256=",
    };
    struct fixture f;
    size_t i;

    (void)state;
    setup_fixture(&f, "push", "push.json");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        hdr_set(&f.h, "X-Hub-Signature-256", bad[i]);
        assert_int_equal(run(&f), PAVED_EAUTH);
        assert_msg_contains("malformed");
    }
    hdr_set(&f.h, "X-Hub-Signature-256", NULL);
    assert_int_equal(run(&f), PAVED_EAUTH);
    assert_msg_contains("missing X-Hub-Signature-256");
    hdr_set(&f.h, "X-Hub-Signature-256", "");
    assert_int_equal(run(&f), PAVED_EAUTH);
    assert_msg_contains("missing X-Hub-Signature-256");
    teardown_fixture(&f);
}

static void
test_sha1_legacy(void **state)
{
    struct fixture f;

    (void)state;
    setup_fixture(&f, "push", "push.json");
    hdr_set(&f.h, "X-Hub-Signature-256", NULL);
    hdr_set(&f.h, "X-Hub-Signature", f.sig1);
    assert_int_equal(run(&f), PAVED_EAUTH);
    assert_msg_contains("missing X-Hub-Signature-256");

    f.cfg.fc_github_allow_sha1 = 1;
    assert_int_equal(run(&f), 0);
    assert_int_equal(f.res.fr_sha1, 1);
    assert_int_equal(f.res.fr_secret_index, 0);
    assert_string_equal(f.res.fr_event.ev_branch, "master");
    paved_forge_result_dispose(&f.res);

    /* a present SHA-256 header must verify, whatever SHA-1 says */
    hdr_set(&f.h, "X-Hub-Signature-256",
            "sha256=0000000000000000000000000000000000000000000000000000000"
            "000000000");
    assert_int_equal(run(&f), PAVED_EAUTH);
    /* a bad SHA-1 signature fails too */
    hdr_set(&f.h, "X-Hub-Signature-256", NULL);
    hdr_set(&f.h, "X-Hub-Signature",
            "sha1=0000000000000000000000000000000000000000");
    assert_int_equal(run(&f), PAVED_EAUTH);
    hdr_set(&f.h, "X-Hub-Signature", f.sig); /* sha256 value in sha1 slot */
    assert_int_equal(run(&f), PAVED_EAUTH);
    teardown_fixture(&f);
}

/* --- headers and order --- */

static void
test_missing_event_delivery(void **state)
{
    struct fixture f;

    (void)state;
    setup_fixture(&f, "push", "push.json");
    hdr_set(&f.h, "X-GitHub-Event", NULL);
    assert_int_equal(run(&f), PAVED_EINVAL);
    assert_msg_contains("X-GitHub-Event");
    hdr_set(&f.h, "X-GitHub-Event", "push");
    hdr_set(&f.h, "X-GitHub-Delivery", NULL);
    assert_int_equal(run(&f), PAVED_EINVAL);
    assert_msg_contains("X-GitHub-Delivery");
    hdr_set(&f.h, "X-GitHub-Delivery", "has space");
    assert_int_equal(run(&f), PAVED_EINVAL);
    hdr_set(&f.h, "X-GitHub-Delivery", "ctl\x01");
    assert_int_equal(run(&f), PAVED_EINVAL);
    /* unauthenticated callers learn only 401 */
    hdr_set(&f.h, "X-GitHub-Delivery", NULL);
    hdr_set(&f.h, "X-Hub-Signature-256", NULL);
    assert_int_equal(run(&f), PAVED_EAUTH);
    teardown_fixture(&f);
}

static void
test_content_types(void **state)
{
    static const char *ok[] = {
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON;charset=UTF-8",
        "  application/json  ",
    };
    static const char *bad[] = {
        "text/plain",
        "application/jsonp",
        "application/json+x",
        "application/xml",
        "json",
        "application/json x",
    };
    struct fixture f;
    size_t i;

    (void)state;
    setup_fixture(&f, "push", "push.json");
    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        hdr_set(&f.h, "Content-Type", ok[i]);
        assert_int_equal(run(&f), 0);
        paved_forge_result_dispose(&f.res);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        hdr_set(&f.h, "Content-Type", bad[i]);
        assert_int_equal(run(&f), PAVED_EUNSUPPORTED);
    }
    hdr_set(&f.h, "Content-Type", NULL);
    assert_int_equal(run(&f), PAVED_EUNSUPPORTED);
    /* 415 comes before 401 */
    hdr_set(&f.h, "Content-Type", "text/plain");
    hdr_set(&f.h, "X-Hub-Signature-256", NULL);
    assert_int_equal(run(&f), PAVED_EUNSUPPORTED);
    teardown_fixture(&f);
}

/* --- bodies --- */

static unsigned char *
form_encode(const unsigned char *json, size_t len, size_t *outlen)
{
    static const char hex[] = "0123456789ABCDEF";
    unsigned char *out = malloc(8 + 3 * len + 1);
    size_t i, o = 0;

    assert_non_null(out);
    memcpy(out, "payload=", 8);
    o = 8;
    for (i = 0; i < len; i++) {
        unsigned char c = json[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.') {
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
test_form_encoded(void **state)
{
    struct fixture f;
    unsigned char *json, *form;
    size_t jlen, flen;

    (void)state;
    json = forge_test_load("PAVED_SOURCE_DIR", ".",
                           "tests/fixtures/github/push.json", &jlen);
    form = form_encode(json, jlen, &flen);
    setup_delivery(&f, "push", form, flen);
    hdr_set(&f.h, "Content-Type", "application/x-www-form-urlencoded");
    assert_int_equal(run(&f), 0);
    /* the payload is the decoded JSON; the signature covered the form */
    assert_int_equal(f.res.fr_payload_len, jlen);
    assert_memory_equal(f.res.fr_payload, json, jlen);
    assert_string_equal(f.res.fr_event.ev_sha,
                        "6113728f27ae82c7b1a177c8d03f9e96e0adf246");
    paved_forge_result_dispose(&f.res);

    /* a form signed over the decoded JSON instead is refused */
    sign(f.sig, sizeof(f.sig), "sha256", SECRET, json, jlen);
    assert_int_equal(run(&f), PAVED_EAUTH);
    teardown_fixture(&f);
    free(json);
}

static void
test_form_without_payload(void **state)
{
    static const char *bodies[] = {
        "data=%7B%7D",
        "",
        "payload",
    };
    struct fixture f;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        setup_delivery(&f, "push", (unsigned char *)strdup(bodies[i]),
                       strlen(bodies[i]));
        hdr_set(&f.h, "Content-Type",
                "application/x-www-form-urlencoded; charset=utf-8");
        assert_int_equal(run(&f), PAVED_EINVAL);
        teardown_fixture(&f);
    }
    /* "payload" with no '=' is present but empty: not JSON */
    setup_delivery(&f, "push", (unsigned char *)strdup("a=1"), 3);
    hdr_set(&f.h, "Content-Type", "application/x-www-form-urlencoded");
    assert_int_equal(run(&f), PAVED_EINVAL);
    assert_msg_contains("payload");
    teardown_fixture(&f);
}

static void
test_form_bad_escape(void **state)
{
    static const char *bodies[] = {
        "payload=%7B%7",
        "payload=%zz",
        "payload=%7B%7D&x=%",
    };
    struct fixture f;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        setup_delivery(&f, "push", (unsigned char *)strdup(bodies[i]),
                       strlen(bodies[i]));
        hdr_set(&f.h, "Content-Type", "application/x-www-form-urlencoded");
        assert_int_equal(run(&f), PAVED_EINVAL);
        assert_msg_contains("percent escape");
        teardown_fixture(&f);
    }
}

static void
expect_body(const char *event, const char *body, int code, const char *message)
{
    struct fixture f;

    setup_delivery(&f, event, (unsigned char *)strdup(body), strlen(body));
    assert_int_equal(run(&f), code);
    if (message != NULL && strcmp(paved_error_last(), message) != 0)
        fail_msg("for %s: got \"%s\", want \"%s\"", body, paved_error_last(),
                 message);
    teardown_fixture(&f);
}

static void
test_bad_json(void **state)
{
    size_t len;
    unsigned char *body;
    struct fixture f;

    (void)state;
    /* truncated real payload */
    body = forge_test_load("PAVED_SOURCE_DIR", ".",
                           "tests/fixtures/github/push.json", &len);
    setup_delivery(&f, "push", body, len / 2);
    assert_int_equal(run(&f), PAVED_EINVAL);
    assert_msg_contains("not valid JSON");
    teardown_fixture(&f);

    expect_body("push", "[1,2]", PAVED_EINVAL, "payload is not a JSON object");
    expect_body("push", "", PAVED_EINVAL, NULL);
    expect_body("push", "{\"a\":1,\"a\":2}", PAVED_EINVAL, NULL);
    expect_body("push", "{\"repository\":{\"full_name\":\"o/r\"}}",
                PAVED_EINVAL, "push payload: missing string field \"ref\"");
    expect_body("push",
                "{\"ref\":\"refs/heads/x\",\"repository\":{\"full_name\":1}}",
                PAVED_EINVAL,
                "push payload: field \"repository.full_name\" is not a "
                "string");
    expect_body("push", "{\"ref\":\"refs/heads/x\",\"repository\":[]}",
                PAVED_EINVAL,
                "push payload: field \"repository\" is not an object");
    expect_body("push", "{\"ref\":7,\"repository\":{\"full_name\":\"o/r\"}}",
                PAVED_EINVAL, "push payload: field \"ref\" is not a string");
    expect_body("push",
                "{\"ref\":\"refs/heads/x\",\"deleted\":\"yes\","
                "\"repository\":{\"full_name\":\"o/r\"}}",
                PAVED_EINVAL,
                "push payload: field \"deleted\" is not a boolean");
    expect_body("pull_request",
                "{\"number\":\"2\",\"repository\":{\"full_name\":\"o/r\"},"
                "\"pull_request\":{\"head\":{\"ref\":\"a\",\"sha\":\"b\"},"
                "\"base\":{\"ref\":\"c\"}}}",
                PAVED_EINVAL,
                "pull_request payload: field \"number\" is not a positive "
                "integer");
    expect_body("pull_request",
                "{\"number\":2,\"repository\":{\"full_name\":\"o/r\"},"
                "\"pull_request\":{\"head\":{\"ref\":\"a\"},"
                "\"base\":{\"ref\":\"c\"}}}",
                PAVED_EINVAL,
                "pull_request payload: missing string field "
                "\"pull_request.head.sha\"");
    expect_body("release",
                "{\"repository\":{\"full_name\":\"o/r\"},"
                "\"release\":{\"tag_name\":null}}",
                PAVED_EINVAL,
                "release payload: missing string field "
                "\"release.tag_name\"");
    expect_body("create",
                "{\"repository\":{\"full_name\":\"o/r\"},\"ref\":\"x\","
                "\"ref_type\":false}",
                PAVED_EINVAL,
                "create payload: field \"ref_type\" is not a string");
    /* optional fields may be absent; a minimal push is enough */
    expect_body("push",
                "{\"ref\":\"refs/heads/x\",\"repository\":{\"full_name\":"
                "\"o/r\"}}",
                0, NULL);
    /* a ping or unknown event with odd shapes is still stored */
    expect_body("ping", "{\"repository\":5,\"sender\":[]}", 0, NULL);
    expect_body("star", "{}", 0, NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_documented_vector),
        cmocka_unit_test(test_documented_vector_through_process),
        cmocka_unit_test(test_parse_hub_signature),
        cmocka_unit_test(test_push_branch),
        cmocka_unit_test(test_push_tag),
        cmocka_unit_test(test_pull_request_opened),
        cmocka_unit_test(test_release_published),
        cmocka_unit_test(test_create_delete),
        cmocka_unit_test(test_ping),
        cmocka_unit_test(test_push_deleted),
        cmocka_unit_test(test_other_event),
        cmocka_unit_test(test_tampered_body),
        cmocka_unit_test(test_wrong_secret),
        cmocka_unit_test(test_second_secret),
        cmocka_unit_test(test_no_secret_configured),
        cmocka_unit_test(test_malformed_signature_headers),
        cmocka_unit_test(test_sha1_legacy),
        cmocka_unit_test(test_missing_event_delivery),
        cmocka_unit_test(test_content_types),
        cmocka_unit_test(test_form_encoded),
        cmocka_unit_test(test_form_without_payload),
        cmocka_unit_test(test_form_bad_escape),
        cmocka_unit_test(test_bad_json),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
