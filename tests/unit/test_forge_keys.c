/* Unit tests for prepared HMAC keys: paved_hmac_key (crypto.h) gives the
 * same MACs as the one-shot paved_hmac(), and the forge adapters given
 * paved_forge_keys (forge.h) accept and refuse exactly what they do from
 * the secret strings, including the rotation index. Also the forge's
 * JSON edge that the scanner hands back to jansson: more keys open at
 * once than it tracks for duplicates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "forge_test.h"
#include "paved/crypto.h"
#include "paved/error.h"
#include "paved/forge.h"

static void
test_hmac_key_matches_oneshot(void **state)
{
    static const char *const algos[] = {"sha256", "sha1"};
    static const char *const msgs[] = {"", "what do ya want for nothing?",
                                       "{\"ref\":\"refs/heads/main\"}"};
    char longkey[200], hex[65];
    const char *keys[3];
    unsigned char a[32], b[32];
    size_t i, j, m, alen, blen;
    paved_hmac_key *k;

    (void)state;
    memset(longkey, 'k', sizeof(longkey) - 1); /* longer than a block */
    longkey[sizeof(longkey) - 1] = '\0';
    keys[0] = "";
    keys[1] = "Jefe";
    keys[2] = longkey;
    for (i = 0; i < 2; i++)
        for (j = 0; j < 3; j++) {
            assert_int_equal(
                paved_hmac_key_new(&k, algos[i], keys[j], strlen(keys[j])), 0);
            for (m = 0; m < 3; m++) {
                assert_int_equal(paved_hmac(a, &alen, algos[i], keys[j],
                                            strlen(keys[j]), msgs[m],
                                            strlen(msgs[m])),
                                 0);
                assert_int_equal(
                    paved_hmac_key_mac(b, &blen, k, msgs[m], strlen(msgs[m])),
                    0);
                assert_int_equal(blen, alen);
                assert_memory_equal(a, b, alen);
            }
            paved_hmac_key_free(k);
        }
    /* RFC 4231 test case 2, and a key used many times stays the same */
    assert_int_equal(paved_hmac_key_new(&k, "sha256", "Jefe", 4), 0);
    for (i = 0; i < 3; i++) {
        assert_int_equal(
            paved_hmac_key_mac(b, &blen, k, msgs[1], strlen(msgs[1])), 0);
        paved_hex_encode(hex, b, blen);
        assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d27"
                                 "39839dec58b964ec3843");
    }
    paved_hmac_key_free(k);
    /* NULL key of length 0 and NULL message, as paved_hmac() takes them */
    assert_int_equal(paved_hmac_key_new(&k, "sha256", NULL, 0), 0);
    assert_int_equal(paved_hmac_key_mac(b, &blen, k, NULL, 0), 0);
    assert_int_equal(paved_hmac(a, &alen, "sha256", NULL, 0, NULL, 0), 0);
    assert_memory_equal(a, b, 32);
    paved_hmac_key_free(k);
    assert_int_equal(paved_hmac_key_new(&k, "md5", "k", 1), PAVED_EINVAL);
    assert_null(k);
    paved_hmac_key_free(NULL);
}

static const char push_body[] =
    "{\"ref\":\"refs/heads/main\",\"before\":\"a\",\"after\":\"b\","
    "\"repository\":{\"full_name\":\"o/r\",\"clone_url\":\"https://x/o/r\"},"
    "\"sender\":{\"login\":\"me\"}}";

/* "<prefix><hex HMAC of body under secret>" */
static void
sign_hex(char *out, size_t outlen, const char *prefix, const char *algo,
         const char *secret, const char *body)
{
    unsigned char mac[32];
    char hex[65];
    size_t maclen;

    assert_int_equal(paved_hmac(mac, &maclen, algo, secret, strlen(secret),
                                body, strlen(body)),
                     0);
    paved_hex_encode(hex, mac, maclen);
    snprintf(out, outlen, "%s%s", prefix, hex);
}

static int
process(struct paved_forge_result *res, enum paved_forge forge,
        const struct paved_forge_config *cfg, struct hdrs *h, const char *body,
        int64_t now)
{
    struct paved_forge_request req;

    memset(&req, 0, sizeof(req));
    req.fr_header = hdr_get;
    req.fr_header_ctx = h;
    req.fr_body = (const unsigned char *)body;
    req.fr_body_len = strlen(body);
    req.fr_now = now;
    return paved_forge_process(res, forge, cfg, &req);
}

static void
test_github_with_keys(void **state)
{
    const char *secrets[2] = {"old-secret", "new-secret"};
    struct paved_forge_config cfg;
    struct paved_forge_result res;
    paved_forge_keys *keys, *stale;
    char sig[100], sig1[100];
    struct hdrs h;

    (void)state;
    memset(&cfg, 0, sizeof(cfg));
    cfg.fc_github_secrets = secrets;
    cfg.fc_n_github_secrets = 2;
    cfg.fc_github_allow_sha1 = 1;
    assert_int_equal(paved_forge_keys_new(&keys, &cfg), 0);
    cfg.fc_keys = keys;
    sign_hex(sig, sizeof(sig), "sha256=", "sha256", "new-secret", push_body);
    memset(&h, 0, sizeof(h));
    hdr_set(&h, "Content-Type", "application/json");
    hdr_set(&h, "X-GitHub-Event", "push");
    hdr_set(&h, "X-GitHub-Delivery", "d-1");
    hdr_set(&h, "X-Hub-Signature-256", sig);
    assert_int_equal(process(&res, PAVED_FORGE_GITHUB, &cfg, &h, push_body, 0),
                     0);
    assert_int_equal(res.fr_secret_index, 1);
    assert_string_equal(res.fr_event.ev_repo, "o/r");
    assert_string_equal(res.fr_event.ev_branch, "main");
    paved_forge_result_dispose(&res);
    /* a body that is not what was signed */
    assert_int_equal(process(&res, PAVED_FORGE_GITHUB, &cfg, &h,
                             "{\"ref\":\"refs/heads/evil\"}", 0),
                     PAVED_EAUTH);
    assert_string_equal(paved_error_last(),
                        "X-Hub-Signature-256 does not match the body under "
                        "any configured secret");
    /* the legacy SHA-1 header is checked from the strings */
    sign_hex(sig1, sizeof(sig1), "sha1=", "sha1", "old-secret", push_body);
    h.name[3] = "X-Hub-Signature";
    h.value[3] = sig1;
    assert_int_equal(process(&res, PAVED_FORGE_GITHUB, &cfg, &h, push_body, 0),
                     0);
    assert_int_equal(res.fr_secret_index, 0);
    assert_true(res.fr_sha1);
    paved_forge_result_dispose(&res);
    h.name[3] = "X-Hub-Signature-256";
    h.value[3] = sig;
    /* keys made for another list of secrets are not used */
    cfg.fc_n_github_secrets = 1;
    assert_int_equal(paved_forge_keys_new(&stale, &cfg), 0);
    cfg.fc_n_github_secrets = 2;
    cfg.fc_keys = stale;
    assert_int_equal(process(&res, PAVED_FORGE_GITHUB, &cfg, &h, push_body, 0),
                     0);
    assert_int_equal(res.fr_secret_index, 1);
    paved_forge_result_dispose(&res);
    paved_forge_keys_free(stale);
    paved_forge_keys_free(keys);
    paved_forge_keys_free(NULL);
}

static void
test_gitea_with_keys(void **state)
{
    const char *secrets[2] = {"", "gitea-secret"};
    struct paved_forge_config cfg;
    struct paved_forge_result res;
    paved_forge_keys *keys;
    struct hdrs h;
    char sig[100];

    (void)state;
    memset(&cfg, 0, sizeof(cfg));
    cfg.fc_gitea_secrets = secrets;
    cfg.fc_n_gitea_secrets = 2;
    assert_int_equal(paved_forge_keys_new(&keys, &cfg), 0);
    cfg.fc_keys = keys;
    sign_hex(sig, sizeof(sig), "", "sha256", "gitea-secret", push_body);
    memset(&h, 0, sizeof(h));
    hdr_set(&h, "Content-Type", "application/json");
    hdr_set(&h, "X-Gitea-Event", "push");
    hdr_set(&h, "X-Gitea-Delivery", "g-1");
    hdr_set(&h, "X-Gitea-Signature", sig);
    assert_int_equal(process(&res, PAVED_FORGE_GITEA, &cfg, &h, push_body, 0),
                     0);
    assert_int_equal(res.fr_secret_index, 1);
    assert_string_equal(res.fr_event.ev_actor, "me");
    paved_forge_result_dispose(&res);
    sig[0] = sig[0] == '0' ? '1' : '0';
    assert_int_equal(process(&res, PAVED_FORGE_GITEA, &cfg, &h, push_body, 0),
                     PAVED_EAUTH);
    paved_forge_keys_free(keys);
}

/* the Standard Webhooks specification's published vector */
#define SW_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SW_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define SW_TS "1614265330"
#define SW_BODY "{\"test\": 2432232314}"
#define SW_SIG "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

static void
test_gitlab_signing_with_keys(void **state)
{
    const char *secrets[2] = {"whsec_!!not-base64!!", SW_SECRET};
    struct paved_forge_config cfg;
    struct paved_forge_result res;
    paved_forge_keys *keys;
    struct hdrs h;

    (void)state;
    memset(&cfg, 0, sizeof(cfg));
    cfg.fc_gitlab_signing_secrets = secrets;
    cfg.fc_n_gitlab_signing_secrets = 2;
    assert_int_equal(paved_forge_keys_new(&keys, &cfg), 0);
    cfg.fc_keys = keys;
    memset(&h, 0, sizeof(h));
    hdr_set(&h, "Content-Type", "application/json");
    hdr_set(&h, "X-Gitlab-Event", "System Hook");
    hdr_set(&h, "webhook-id", SW_ID);
    hdr_set(&h, "webhook-timestamp", SW_TS);
    hdr_set(&h, "webhook-signature", SW_SIG);
    assert_int_equal(
        process(&res, PAVED_FORGE_GITLAB, &cfg, &h, SW_BODY, 1614265330), 0);
    assert_int_equal(res.fr_secret_index, 1);
    paved_forge_result_dispose(&res);
    /* only the secret that is not base64: said so, as without keys */
    cfg.fc_n_gitlab_signing_secrets = 1;
    paved_forge_keys_free(keys);
    assert_int_equal(paved_forge_keys_new(&keys, &cfg), 0);
    cfg.fc_keys = keys;
    assert_int_equal(
        process(&res, PAVED_FORGE_GITLAB, &cfg, &h, SW_BODY, 1614265330),
        PAVED_EAUTH);
    assert_non_null(strstr(paved_error_last(), "#1 is not valid"));
    paved_forge_keys_free(keys);
}

/* a push payload with n extra keys in its top-level object, and
 * optionally one of them twice */
static char *
wide_push(size_t n, int dup)
{
    size_t cap = 64 * n + 256, o = 0, i;
    char *s = malloc(cap);

    assert_non_null(s);
    o += (size_t)snprintf(s + o, cap - o,
                          "{\"ref\":\"refs/heads/main\","
                          "\"repository\":{\"full_name\":"
                          "\"o/r\"}");
    for (i = 0; i < n; i++)
        o += (size_t)snprintf(s + o, cap - o, ",\"k%zu\":%zu", i, i);
    if (dup)
        o += (size_t)snprintf(s + o, cap - o, ",\"k7\":0");
    snprintf(s + o, cap - o, "}");
    return s;
}

static void
test_many_keys(void **state)
{
    struct paved_event ev;
    char *s;

    (void)state;
    s = wide_push(3000, 0);
    assert_int_equal(paved_forge_normalize(&ev, PAVED_FORGE_GITHUB, "push",
                                           (unsigned char *)s, strlen(s)),
                     0);
    assert_string_equal(ev.ev_repo, "o/r");
    assert_string_equal(ev.ev_branch, "main");
    paved_event_dispose(&ev);
    free(s);
    s = wide_push(3000, 1);
    assert_int_equal(paved_forge_normalize(&ev, PAVED_FORGE_GITHUB, "push",
                                           (unsigned char *)s, strlen(s)),
                     PAVED_EINVAL);
    assert_non_null(strstr(paved_error_last(), "not valid JSON"));
    free(s);
    s = wide_push(10, 1);
    assert_int_equal(paved_forge_normalize(&ev, PAVED_FORGE_GITHUB, "push",
                                           (unsigned char *)s, strlen(s)),
                     PAVED_EINVAL);
    assert_string_equal(paved_error_last(),
                        "payload is not valid JSON: byte 128: duplicate key");
    free(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hmac_key_matches_oneshot),
        cmocka_unit_test(test_github_with_keys),
        cmocka_unit_test(test_gitea_with_keys),
        cmocka_unit_test(test_gitlab_signing_with_keys),
        cmocka_unit_test(test_many_keys),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
