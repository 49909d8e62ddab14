/* Unit tests for src/report/ghapp.c with real keys: the openssl CLI makes
 * them (PKCS#1 and PKCS#8 RSA, plus keys that must be refused), and checks
 * every JWT signature against the public key the way a stranger would;
 * jansson reads the claims. Then the token exchange request, the
 * installation token cache around its 5-minute margin, and the answers
 * that must be refused. Needs `openssl` on PATH; writes only under a
 * fresh mkdtemp directory, removed at the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "paved/error.h"
#include "paved/forgeapi.h"
#include "paved/ghapp.h"

/* 2016-07-11T22:14:10Z, the expires_at of GitHub's documented example */
#define T_EXPIRES 1468275250LL
#define NOW 1700000000LL

struct keys {
    char k_dir[64];
    char *k_pkcs1; /* PEM text */
    size_t k_pkcs1_len;
    char *k_pkcs8;
    size_t k_pkcs8_len;
};

static char *
slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *s = NULL;
    long n;

    if (fp == NULL)
        return NULL;
    if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) >= 0 &&
        fseek(fp, 0, SEEK_SET) == 0 && (s = malloc((size_t)n + 1)) != NULL) {
        if (fread(s, 1, (size_t)n, fp) != (size_t)n) {
            free(s);
            s = NULL;
        } else {
            s[n] = '\0';
            *len = (size_t)n;
        }
    }
    fclose(fp);
    return s;
}

static int
spew(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    int ok;

    if (fp == NULL)
        return -1;
    ok = fwrite(data, 1, len, fp) == len;
    return fclose(fp) == 0 && ok ? 0 : -1;
}

/* runs cmd inside the key directory, quietly; its exit status */
static int
sh(const struct keys *k, const char *cmd)
{
    char full[1024];
    int n;

    n = snprintf(full, sizeof(full), "cd '%s' && ( %s ) >/dev/null 2>&1",
                 k->k_dir, cmd);
    if (n < 0 || (size_t)n >= sizeof(full))
        return -1;
    return system(full);
}

static char *
key_path(char *buf, size_t size, const struct keys *k, const char *name)
{
    snprintf(buf, size, "%s/%s", k->k_dir, name);
    return buf;
}

static int
setup(void **state)
{
    struct keys *k = calloc(1, sizeof(*k));
    const char *tmp = getenv("TMPDIR");
    char p[128];

    if (k == NULL)
        return -1;
    snprintf(k->k_dir, sizeof(k->k_dir), "%s/paved-ghapp-XXXXXX",
             tmp != NULL && strlen(tmp) < 32 ? tmp : "/tmp");
    if (mkdtemp(k->k_dir) == NULL)
        return -1;
    /* OpenSSL 3's genrsa writes PKCS#8 unless told -traditional */
    if (sh(k, "openssl genrsa -traditional -out pkcs1.pem 2048") != 0 ||
        sh(k, "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 "
              "-out pkcs8.pem") != 0 ||
        sh(k, "openssl pkey -in pkcs1.pem -pubout -out pub1.pem") != 0 ||
        sh(k, "openssl pkey -in pkcs8.pem -pubout -out pub8.pem") != 0 ||
        sh(k, "openssl genrsa -traditional -out small.pem 1024") != 0 ||
        sh(k, "openssl genpkey -algorithm EC -pkeyopt "
              "ec_paramgen_curve:P-256 -out ec.pem") != 0 ||
        sh(k, "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 "
              "-aes256 -pass pass:hunter2 -out enc8.pem") != 0 ||
        sh(k, "openssl rsa -in pkcs1.pem -traditional -aes256 -passout "
              "pass:hunter2 -out enc1.pem") != 0)
        return -1;
    k->k_pkcs1 = slurp(key_path(p, sizeof(p), k, "pkcs1.pem"), &k->k_pkcs1_len);
    k->k_pkcs8 = slurp(key_path(p, sizeof(p), k, "pkcs8.pem"), &k->k_pkcs8_len);
    if (k->k_pkcs1 == NULL || k->k_pkcs8 == NULL)
        return -1;
    *state = k;
    return 0;
}

static int
teardown(void **state)
{
    struct keys *k = *state;
    char cmd[128];

    if (k == NULL)
        return 0;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", k->k_dir);
    if (system(cmd) != 0)
        return -1;
    free(k->k_pkcs1);
    free(k->k_pkcs8);
    free(k);
    return 0;
}

static int
b64url_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

/* strict RFC 7515 base64url without padding; malloc'd, NUL-terminated */
static unsigned char *
b64url_decode(const char *in, size_t len, size_t *outlen)
{
    unsigned char *out = malloc(len * 3 / 4 + 2);
    uint32_t acc = 0;
    size_t i, o = 0;
    int bits = 0, v;

    assert_non_null(out);
    assert_int_not_equal(len % 4, 1);
    for (i = 0; i < len; i++) {
        v = b64url_value(in[i]);
        assert_true(v >= 0);
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits & 0xff);
        }
    }
    assert_int_equal(acc & ((1u << bits) - 1), 0); /* canonical tail */
    out[o] = '\0';
    *outlen = o;
    return out;
}

/* `openssl dgst -verify`: 1 when it printed "Verified OK" */
static int
openssl_verifies(const struct keys *k, const char *jwt, const char *pub)
{
    const char *dot2 = strrchr(jwt, '.');
    unsigned char *sig;
    size_t siglen;
    char p[128], cmd[512], line[128] = "";
    FILE *fp;
    int ok;

    assert_non_null(dot2);
    sig = b64url_decode(dot2 + 1, strlen(dot2 + 1), &siglen);
    assert_int_equal(siglen, 256); /* RSA-2048 */
    assert_int_equal(spew(key_path(p, sizeof(p), k, "sig.bin"), sig, siglen),
                     0);
    free(sig);
    assert_int_equal(
        spew(key_path(p, sizeof(p), k, "data.txt"), jwt, (size_t)(dot2 - jwt)),
        0);
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && openssl dgst -sha256 -verify %s -signature sig.bin "
             "data.txt 2>/dev/null",
             k->k_dir, pub);
    fp = popen(cmd, "r");
    assert_non_null(fp);
    if (fgets(line, sizeof(line), fp) == NULL)
        line[0] = '\0';
    pclose(fp);
    ok = strcmp(line, "Verified OK\n") == 0;
    return ok;
}

static json_t *
jwt_part(const char *jwt, int which)
{
    const char *start = jwt, *end;
    unsigned char *raw;
    json_error_t err;
    size_t len;
    json_t *j;
    int i;

    for (i = 0; i < which; i++) {
        start = strchr(start, '.');
        assert_non_null(start);
        start++;
    }
    end = strchr(start, '.');
    assert_non_null(end);
    raw = b64url_decode(start, (size_t)(end - start), &len);
    j = json_loadb((const char *)raw, len, JSON_REJECT_DUPLICATES, &err);
    free(raw);
    assert_non_null(j);
    return j;
}

static void
check_claims(const char *jwt, const char *app_id, int64_t now)
{
    json_t *h = jwt_part(jwt, 0), *p = jwt_part(jwt, 1);
    json_int_t iat, exp;
    const char *c;
    int dots = 0;

    for (c = jwt; *c != '\0'; c++) {
        dots += *c == '.';
        /* base64url alphabet only: no '=', '+', '/' or whitespace */
        assert_true(*c == '.' || b64url_value(*c) >= 0);
    }
    assert_int_equal(dots, 2);
    assert_string_equal(json_string_value(json_object_get(h, "alg")), "RS256");
    assert_string_equal(json_string_value(json_object_get(h, "typ")), "JWT");
    assert_int_equal(json_object_size(h), 2);
    assert_true(json_is_integer(json_object_get(p, "iat")));
    assert_true(json_is_integer(json_object_get(p, "exp")));
    iat = json_integer_value(json_object_get(p, "iat"));
    exp = json_integer_value(json_object_get(p, "exp"));
    assert_int_equal(iat, now - 60);
    assert_true(exp > now);
    assert_true(exp - iat <= 600);
    assert_true(exp - now <= 600);
    assert_true(json_is_string(json_object_get(p, "iss")));
    assert_string_equal(json_string_value(json_object_get(p, "iss")), app_id);
    assert_int_equal(json_object_size(p), 3);
    json_decref(h);
    json_decref(p);
}

static void
test_jwt_pkcs1_verifies(void **state)
{
    struct keys *k = *state;
    paved_ghapp *a = NULL;
    char *jwt = NULL;

    assert_int_equal(paved_ghapp_new(&a, "12345", k->k_pkcs1, k->k_pkcs1_len),
                     0);
    assert_int_equal(paved_ghapp_jwt(&jwt, a, NOW), 0);
    check_claims(jwt, "12345", NOW);
    assert_true(openssl_verifies(k, jwt, "pub1.pem"));
    /* the check can fail: another key's public half refuses it */
    assert_false(openssl_verifies(k, jwt, "pub8.pem"));
    free(jwt);
    paved_ghapp_free(a);
}

static void
test_jwt_pkcs8_verifies(void **state)
{
    struct keys *k = *state;
    paved_ghapp *a = NULL;
    char *jwt = NULL, *tampered;
    const char *dot;

    assert_int_equal(
        paved_ghapp_new(&a, "Iv23liABCdef.x_y-z", k->k_pkcs8, k->k_pkcs8_len),
        0);
    assert_int_equal(paved_ghapp_jwt(&jwt, a, NOW + 7), 0);
    check_claims(jwt, "Iv23liABCdef.x_y-z", NOW + 7);
    assert_true(openssl_verifies(k, jwt, "pub8.pem"));
    assert_false(openssl_verifies(k, jwt, "pub1.pem"));
    /* and a changed payload no longer matches the signature */
    tampered = strdup(jwt);
    assert_non_null(tampered);
    dot = strchr(jwt, '.');
    tampered[dot - jwt + 3] = tampered[dot - jwt + 3] == 'A' ? 'B' : 'A';
    assert_false(openssl_verifies(k, tampered, "pub8.pem"));
    free(tampered);
    free(jwt);
    paved_ghapp_free(a);
}

/* a key from a one-line environment variable, line breaks written "\n" */
static void
test_key_with_escaped_newlines(void **state)
{
    struct keys *k = *state;
    paved_ghapp *a = NULL;
    char *esc, *jwt = NULL;
    size_t i, o = 0;

    esc = malloc(2 * k->k_pkcs1_len + 1);
    assert_non_null(esc);
    for (i = 0; i < k->k_pkcs1_len; i++) {
        if (k->k_pkcs1[i] == '\n') {
            esc[o++] = '\\';
            esc[o++] = 'n';
        } else {
            esc[o++] = k->k_pkcs1[i];
        }
    }
    esc[o] = '\0';
    assert_null(strchr(esc, '\n'));
    assert_int_equal(paved_ghapp_new(&a, "1", esc, o), 0);
    assert_int_equal(paved_ghapp_jwt(&jwt, a, NOW), 0);
    assert_true(openssl_verifies(k, jwt, "pub1.pem"));
    free(jwt);
    paved_ghapp_free(a);
    free(esc);
}

/* a bad key is EINVAL, with a message that says why and never shows a
 * byte of the key */
static void
expect_bad_key(const struct keys *k, const char *pem, size_t len,
               const char *why)
{
    paved_ghapp *a = (paved_ghapp *)1;
    const char *msg;

    assert_int_equal(paved_ghapp_new(&a, "12345", pem, len), PAVED_EINVAL);
    assert_null(a);
    msg = paved_error_last();
    if (strstr(msg, why) == NULL)
        fail_msg("message \"%s\" does not say \"%s\"", msg, why);
    /* a 24-character run of key base64 from the middle of the good key */
    {
        char run[25];

        memcpy(run, k->k_pkcs1 + k->k_pkcs1_len / 2, 24);
        run[24] = '\0';
        assert_null(strstr(msg, run));
    }
    if (len > 100) {
        char run[25];

        memcpy(run, pem + len / 2, 24);
        run[24] = '\0';
        assert_null(strstr(msg, run));
    }
}

static void
test_bad_keys(void **state)
{
    struct keys *k = *state;
    static const char *const files[][2] = {
        {"pub1.pem", "is a public key"}, {"small.pem", "1024 bits"},
        {"ec.pem", "not an RSA key"},    {"enc8.pem", "encrypted"},
        {"enc1.pem", "encrypted"},
    };
    paved_ghapp *a = (paved_ghapp *)1;
    char p[128], *pem, *cut;
    size_t i, len;

    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        pem = slurp(key_path(p, sizeof(p), k, files[i][0]), &len);
        assert_non_null(pem);
        expect_bad_key(k, pem, len, files[i][1]);
        free(pem);
    }
    expect_bad_key(k, "hello", 5, "not PEM");
    expect_bad_key(k, "", 0, "empty");
    /* a key cut in half */
    cut = strndup(k->k_pkcs1, k->k_pkcs1_len / 2);
    assert_non_null(cut);
    expect_bad_key(k, cut, strlen(cut), "damaged or cut short");
    free(cut);
    /* a key with a character that is not base64 in its body */
    cut = strdup(k->k_pkcs1);
    assert_non_null(cut);
    cut[100] = cut[100] == 'Q' ? 'R' : 'Q';
    cut[101] = '!';
    expect_bad_key(k, cut, k->k_pkcs1_len, "damaged or cut short");
    free(cut);
    /* bad app ids are refused before the key is read */
    assert_int_equal(paved_ghapp_new(&a, "", k->k_pkcs1, k->k_pkcs1_len),
                     PAVED_EINVAL);
    assert_int_equal(paved_ghapp_new(&a, "12\"34", k->k_pkcs1, k->k_pkcs1_len),
                     PAVED_EINVAL);
    assert_int_equal(paved_ghapp_new(&a,
                                     "12345678901234567890123456789012"
                                     "345678901234567890123456789012345",
                                     k->k_pkcs1, k->k_pkcs1_len),
                     PAVED_EINVAL);
    assert_null(a);
    paved_ghapp_free(NULL);
}

static void
test_jwt_bad_clock(void **state)
{
    struct keys *k = *state;
    paved_ghapp *a = NULL;
    char *jwt = (char *)1;

    assert_int_equal(paved_ghapp_new(&a, "7", k->k_pkcs8, k->k_pkcs8_len), 0);
    assert_int_equal(paved_ghapp_jwt(&jwt, a, 0), PAVED_EINVAL);
    assert_null(jwt);
    assert_int_equal(paved_ghapp_jwt(&jwt, a, INT64_MAX), PAVED_EINVAL);
    paved_ghapp_free(a);
}

static void
test_token_request(void **state)
{
    struct keys *k = *state;
    struct paved_http_request r;
    paved_ghapp *a = NULL;
    const char *jwt;

    assert_int_equal(paved_ghapp_new(&a, "42", k->k_pkcs1, k->k_pkcs1_len), 0);
    memset(&r, 0, sizeof(r));
    assert_int_equal(paved_ghapp_token_request(&r, a, "https://api.github.com",
                                               9876543210LL, NOW),
                     0);
    assert_string_equal(r.hr_method, "POST");
    assert_string_equal(
        r.hr_url,
        "https://api.github.com/app/installations/9876543210/access_tokens");
    assert_int_equal(r.hr_nheaders, 4);
    assert_string_equal(r.hr_headers[0], "Accept: application/vnd.github+json");
    assert_true(strncmp(r.hr_headers[1], "Authorization: Bearer ", 22) == 0);
    assert_string_equal(r.hr_headers[2], "User-Agent: paved");
    assert_string_equal(r.hr_headers[3], "X-GitHub-Api-Version: 2022-11-28");
    assert_non_null(r.hr_body);
    assert_int_equal(r.hr_body_len, 0);
    jwt = r.hr_headers[1] + 22;
    check_claims(jwt, "42", NOW);
    assert_true(openssl_verifies(k, jwt, "pub1.pem"));
    paved_http_request_dispose(&r);

    /* GitHub Enterprise Server, trailing slashes ignored */
    memset(&r, 0, sizeof(r));
    assert_int_equal(paved_ghapp_token_request(
                         &r, a, "https://ghe.example/api/v3//", 1, NOW),
                     0);
    assert_string_equal(
        r.hr_url,
        "https://ghe.example/api/v3/app/installations/1/access_tokens");
    paved_http_request_dispose(&r);

    memset(&r, 0, sizeof(r));
    assert_int_equal(
        paved_ghapp_token_request(&r, a, "https://api.github.com", 0, NOW),
        PAVED_EINVAL);
    assert_int_equal(
        paved_ghapp_token_request(&r, a, "https://api.github.com", -5, NOW),
        PAVED_EINVAL);
    assert_int_equal(paved_ghapp_token_request(&r, a, "/", 1, NOW),
                     PAVED_EINVAL);
    assert_int_equal(paved_ghapp_token_request(&r, a, "", 1, NOW),
                     PAVED_EINVAL);
    assert_null(r.hr_url);
    assert_null(r.hr_headers);
    paved_ghapp_free(a);
}

/* GET /repos/{owner}/{repo}/installation with the App's JWT */
static void
test_installation_request(void **state)
{
    static const char *const bad_repos[] = {
        "",    "octo",  "octo/", "/repo", "o/r/x",  "../r", "o/..",
        "o/.", "o r/x", "o/r?x", "o/r#",  "o/r%2F", "ö/r",
    };
    struct keys *k = *state;
    struct paved_http_request r;
    paved_ghapp *a = NULL;
    const char *jwt;
    size_t i;

    assert_int_equal(paved_ghapp_new(&a, "42", k->k_pkcs8, k->k_pkcs8_len), 0);
    memset(&r, 0, sizeof(r));
    assert_int_equal(
        paved_ghapp_installation_request(&r, a, "https://api.github.com",
                                         "octo-org/hello.world", NOW),
        0);
    assert_string_equal(r.hr_method, "GET");
    assert_string_equal(
        r.hr_url,
        "https://api.github.com/repos/octo-org/hello.world/installation");
    assert_int_equal(r.hr_nheaders, 4);
    assert_string_equal(r.hr_headers[0], "Accept: application/vnd.github+json");
    assert_true(strncmp(r.hr_headers[1], "Authorization: Bearer ", 22) == 0);
    assert_string_equal(r.hr_headers[2], "User-Agent: paved");
    assert_string_equal(r.hr_headers[3], "X-GitHub-Api-Version: 2022-11-28");
    assert_null(r.hr_body); /* a GET has no body */
    assert_int_equal(r.hr_body_len, 0);
    jwt = r.hr_headers[1] + 22;
    check_claims(jwt, "42", NOW);
    assert_true(openssl_verifies(k, jwt, "pub8.pem"));
    assert_false(openssl_verifies(k, jwt, "pub1.pem"));
    paved_http_request_dispose(&r);

    /* GitHub Enterprise Server, trailing slashes ignored */
    assert_int_equal(
        paved_ghapp_installation_request(
            &r, a, "http://ghe.example:8080/api/v3/", "o_1/r-2.x", NOW + 5),
        0);
    assert_string_equal(
        r.hr_url,
        "http://ghe.example:8080/api/v3/repos/o_1/r-2.x/installation");
    check_claims(r.hr_headers[1] + 22, "42", NOW + 5);
    paved_http_request_dispose(&r);

    /* refused: *out stays as it was */
    memset(&r, 0, sizeof(r));
    for (i = 0; i < sizeof(bad_repos) / sizeof(bad_repos[0]); i++) {
        if (paved_ghapp_installation_request(&r, a, "https://api.github.com",
                                             bad_repos[i], NOW) != PAVED_EINVAL)
            fail_msg("accepted repo \"%s\"", bad_repos[i]);
        assert_non_null(strstr(paved_error_last(), "owner/name"));
    }
    assert_int_equal(paved_ghapp_installation_request(
                         &r, a, "https://api.github.com", NULL, NOW),
                     PAVED_EINVAL);
    assert_int_equal(paved_ghapp_installation_request(&r, a, "", "o/r", NOW),
                     PAVED_EINVAL);
    assert_int_equal(paved_ghapp_installation_request(&r, a, "//", "o/r", NOW),
                     PAVED_EINVAL);
    assert_int_equal(paved_ghapp_installation_request(&r, a, NULL, "o/r", NOW),
                     PAVED_EINVAL);
    assert_int_equal(paved_ghapp_installation_request(
                         &r, a, "https://api.github.com", "o/r", 0),
                     PAVED_EINVAL);
    assert_null(r.hr_method);
    assert_null(r.hr_url);
    assert_null(r.hr_headers);
    paved_ghapp_free(a);
}

static int
store(paved_ghapp *a, int64_t id, const char *json)
{
    return paved_ghapp_token_store(a, id, json, strlen(json));
}

static void
test_token_cache_margin(void **state)
{
    struct keys *k = *state;
    paved_ghapp *a = NULL;
    const char *tok = (const char *)1;

    assert_int_equal(paved_ghapp_new(&a, "42", k->k_pkcs1, k->k_pkcs1_len), 0);
    /* nothing cached yet */
    assert_int_equal(paved_ghapp_token_cached(&tok, a, 1, T_EXPIRES - 3600), 0);
    assert_null(tok);
    /* GitHub's documented answer, with the fields we do not read */
    assert_int_equal(
        store(a, 1,
              "{\"token\":\"ghs_16C7e42F292c6912E7710c838347Ae178B4a\","
              "\"expires_at\":\"2016-07-11T22:14:10Z\","
              "\"permissions\":{\"issues\":\"write\",\"contents\":\"read\"},"
              "\"repository_selection\":\"selected\",\"repositories\":[{"
              "\"id\":1296269,\"full_name\":\"octocat/Hello-World\"}]}"),
        0);
    /* reused for the hour ... */
    assert_int_equal(paved_ghapp_token_cached(&tok, a, 1, T_EXPIRES - 3600), 1);
    assert_string_equal(tok, "ghs_16C7e42F292c6912E7710c838347Ae178B4a");
    assert_int_equal(paved_ghapp_token_cached(&tok, a, 1, T_EXPIRES - 301), 1);
    assert_int_equal(paved_ghapp_token_cached(&tok, a, 1, T_EXPIRES - 300), 1);
    /* ... until less than 5 minutes are left */
    assert_int_equal(paved_ghapp_token_cached(&tok, a, 1, T_EXPIRES - 299), 0);
    assert_null(tok);
    assert_int_equal(paved_ghapp_token_cached(&tok, a, 1, T_EXPIRES), 0);
    assert_int_equal(paved_ghapp_token_cached(&tok, a, 1, T_EXPIRES + 3600), 0);
    assert_int_equal(paved_ghapp_token_cached(&tok, a, 1, INT64_MAX), 0);
    assert_int_equal(paved_ghapp_token_cached(&tok, a, 1, INT64_MIN), 1);

    /* a fresh exchange replaces it */
    assert_int_equal(store(a, 1,
                           "{\"expires_at\":\"2016-07-11T23:14:10Z\","
                           "\"token\":\"ghs_second\"}"),
                     0);
    assert_int_equal(paved_ghapp_token_cached(&tok, a, 1, T_EXPIRES), 1);
    assert_string_equal(tok, "ghs_second");
    assert_int_equal(paved_ghapp_token_cached(&tok, a, 1, T_EXPIRES + 3301), 0);

    /* forget drops it (GitHub said 401) */
    paved_ghapp_token_forget(a, 1);
    paved_ghapp_token_forget(a, 999);
    paved_ghapp_token_forget(NULL, 1);
    assert_int_equal(paved_ghapp_token_cached(&tok, a, 1, T_EXPIRES - 3600), 0);
    paved_ghapp_free(a);
}

static void
test_token_cache_per_installation(void **state)
{
    struct keys *k = *state;
    paved_ghapp *a = NULL;
    const char *tok;
    char json[128];
    int64_t id;

    assert_int_equal(paved_ghapp_new(&a, "42", k->k_pkcs8, k->k_pkcs8_len), 0);
    assert_int_equal(store(a, 1,
                           "{\"token\":\"ghs_one\",\"expires_at\":"
                           "\"2016-07-11T22:14:10Z\"}"),
                     0);
    /* same instant written with an offset and a fraction: +1 h later */
    assert_int_equal(store(a, 2,
                           "{\"token\":\"ghs_two\",\"expires_at\":"
                           "\"2016-07-12T01:14:10.999+02:00\"}"),
                     0);
    assert_int_equal(paved_ghapp_token_cached(&tok, a, 1, T_EXPIRES - 600), 1);
    assert_string_equal(tok, "ghs_one");
    assert_int_equal(paved_ghapp_token_cached(&tok, a, 2, T_EXPIRES - 600), 1);
    assert_string_equal(tok, "ghs_two");
    assert_int_equal(paved_ghapp_token_cached(&tok, a, 3, T_EXPIRES - 600), 0);
    /* the first nears expiry, the second does not */
    assert_int_equal(paved_ghapp_token_cached(&tok, a, 1, T_EXPIRES), 0);
    assert_int_equal(paved_ghapp_token_cached(&tok, a, 2, T_EXPIRES), 1);
    assert_string_equal(tok, "ghs_two");
    /* forgetting one leaves the other */
    paved_ghapp_token_forget(a, 1);
    assert_int_equal(paved_ghapp_token_cached(&tok, a, 2, T_EXPIRES), 1);
    assert_string_equal(tok, "ghs_two");

    /* many installations: the cache grows and keeps each apart */
    for (id = 10; id < 60; id++) {
        snprintf(json, sizeof(json),
                 "{\"token\":\"ghs_%lld\",\"expires_at\":"
                 "\"2030-01-01T00:00:00Z\"}",
                 (long long)id);
        assert_int_equal(store(a, id, json), 0);
    }
    for (id = 10; id < 60; id++) {
        snprintf(json, sizeof(json), "ghs_%lld", (long long)id);
        assert_int_equal(paved_ghapp_token_cached(&tok, a, id, NOW), 1);
        assert_string_equal(tok, json);
    }
    paved_ghapp_free(a);
}

static void
test_token_escaped(void **state)
{
    struct keys *k = *state;
    paved_ghapp *a = NULL;
    const char *tok;

    assert_int_equal(paved_ghapp_new(&a, "42", k->k_pkcs8, k->k_pkcs8_len), 0);
    assert_int_equal(store(a, 5,
                           "{\"token\":\"ghs_\\u0041b\\/c\",\"expires_at\":"
                           "\"2016-07-11T22:14:10Z\"}"),
                     0);
    assert_int_equal(paved_ghapp_token_cached(&tok, a, 5, T_EXPIRES - 600), 1);
    assert_string_equal(tok, "ghs_Ab/c");
    paved_ghapp_free(a);
}

static void
test_token_garbage(void **state)
{
    struct keys *k = *state;
    static const char *const bad[] = {
        "",
        "null",
        "[]",
        "{}",
        "\"ghs_x\"",
        "{\"token\":\"ghs_x\"}",
        "{\"expires_at\":\"2016-07-11T22:14:10Z\"}",
        "{\"token\":1,\"expires_at\":\"2016-07-11T22:14:10Z\"}",
        "{\"token\":null,\"expires_at\":\"2016-07-11T22:14:10Z\"}",
        "{\"token\":\"\",\"expires_at\":\"2016-07-11T22:14:10Z\"}",
        "{\"token\":\"ghs x\",\"expires_at\":\"2016-07-11T22:14:10Z\"}",
        "{\"token\":\"ghs\\r\\nX-Evil: 1\",\"expires_at\":"
        "\"2016-07-11T22:14:10Z\"}",
        "{\"token\":\"gh\\u00e9\",\"expires_at\":\"2016-07-11T22:14:10Z\"}",
        "{\"token\":\"ghs_x\",\"expires_at\":1468275250}",
        "{\"token\":\"ghs_x\",\"expires_at\":\"tomorrow\"}",
        "{\"token\":\"ghs_x\",\"expires_at\":\"2016-07-11 22:14:10Z\"}",
        "{\"token\":\"ghs_x\",\"expires_at\":\"2016-07-11T22:14:10\"}",
        "{\"token\":\"ghs_x\",\"expires_at\":\"2016-13-11T22:14:10Z\"}",
        "{\"token\":\"ghs_x\",\"expires_at\":\"2016-07-11T22:14:10Zjunk\"}",
        "{\"token\":\"ghs_x\",\"expires_at\":\"2016-07-11T22:14:10Z\"",
        "{\"token\":\"ghs_x\",\"expires_at\":\"2016-07-11T22:14:10Z\"} x",
        "{\"token\":\"ghs_x\" \"expires_at\":\"2016-07-11T22:14:10Z\"}",
        "{\"message\":\"Bad credentials\",\"documentation_url\":"
        "\"https://docs.github.com/rest\"}",
    };
    paved_ghapp *a = NULL;
    const char *tok;
    char *huge;
    size_t i;

    assert_int_equal(paved_ghapp_new(&a, "42", k->k_pkcs8, k->k_pkcs8_len), 0);
    assert_int_equal(store(a, 1,
                           "{\"token\":\"ghs_good\",\"expires_at\":"
                           "\"2016-07-11T22:14:10Z\"}"),
                     0);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (store(a, 1, bad[i]) != PAVED_EINVAL)
            fail_msg("accepted: %s", bad[i]);
        if (store(a, 2, bad[i]) != PAVED_EINVAL)
            fail_msg("accepted: %s", bad[i]);
        /* the message never repeats the token it refused */
        assert_null(strstr(paved_error_last(), "ghs"));
    }
    assert_int_equal(paved_ghapp_token_store(a, 1, NULL, 0), PAVED_EINVAL);
    assert_int_equal(paved_ghapp_token_store(a, 0, "{}", 2), PAVED_EINVAL);
    /* a token longer than any header should carry */
    huge = malloc(20000);
    assert_non_null(huge);
    memcpy(huge, "{\"token\":\"", 10);
    memset(huge + 10, 'a', 9000);
    memcpy(huge + 9010, "\",\"expires_at\":\"2016-07-11T22:14:10Z\"}", 39);
    assert_int_equal(paved_ghapp_token_store(a, 1, huge, strlen(huge)),
                     PAVED_EINVAL);
    free(huge);
    /* the cache is as it was: installation 1 still has its token, 2 none */
    assert_int_equal(paved_ghapp_token_cached(&tok, a, 1, T_EXPIRES - 600), 1);
    assert_string_equal(tok, "ghs_good");
    assert_int_equal(paved_ghapp_token_cached(&tok, a, 2, T_EXPIRES - 600), 0);
    paved_ghapp_free(a);
}

static void
check_time(const char *s, int64_t want)
{
    int64_t t = -1;

    if (paved_ghapp_parse_time(&t, s, strlen(s)) != 0)
        fail_msg("refused: %s", s);
    if (t != want)
        fail_msg("%s: %lld, want %lld", s, (long long)t, (long long)want);
}

static void
test_parse_time(void **state)
{
    static const char *const bad[] = {
        "",
        "2016-07-11",
        "2016-07-11T22:14Z",
        "2016-07-11T24:00:00Z",
        "2016-07-11T22:60:00Z",
        "2016-07-11T22:14:61Z",
        "2016-00-11T22:14:10Z",
        "2016-07-32T22:14:10Z",
        "2023-02-29T00:00:00Z",
        "2016-04-31T00:00:00Z",
        "1969-12-31T23:59:59Z",
        "2016-07-11T22:14:10.Z",
        "2016-07-11T22:14:10+0200",
        "2016-07-11T22:14:10+24:00",
        "2016-07-11T22:14:10+02:60",
        "+016-07-11T22:14:10Z",
        "2016-07-11T22:14:1OZ",
        "2016-07-11T22:14:10Z ",
    };
    int64_t t;
    size_t i;

    (void)state;
    check_time("2016-07-11T22:14:10Z", T_EXPIRES);
    check_time("2016-07-11t22:14:10z", T_EXPIRES);
    check_time("2016-07-11T22:14:10.123456Z", T_EXPIRES);
    check_time("2016-07-11T23:44:10+01:30", T_EXPIRES);
    check_time("2016-07-11T18:14:10-04:00", T_EXPIRES);
    check_time("1970-01-01T00:00:00Z", 0);
    check_time("2024-02-29T00:00:00Z", 1709164800);
    check_time("2000-02-29T12:00:00Z", 951825600);
    check_time("9999-12-31T23:59:59Z", 253402300799LL);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (paved_ghapp_parse_time(&t, bad[i], strlen(bad[i])) != PAVED_EINVAL)
            fail_msg("accepted: \"%s\"", bad[i]);
    /* only len bytes are read: a date-time inside a longer buffer */
    assert_int_equal(paved_ghapp_parse_time(&t, "2016-07-11T22:14:10Zjunk", 20),
                     0);
    assert_int_equal(t, T_EXPIRES);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jwt_pkcs1_verifies),
        cmocka_unit_test(test_jwt_pkcs8_verifies),
        cmocka_unit_test(test_key_with_escaped_newlines),
        cmocka_unit_test(test_bad_keys),
        cmocka_unit_test(test_jwt_bad_clock),
        cmocka_unit_test(test_token_request),
        cmocka_unit_test(test_installation_request),
        cmocka_unit_test(test_token_cache_margin),
        cmocka_unit_test(test_token_cache_per_installation),
        cmocka_unit_test(test_token_escaped),
        cmocka_unit_test(test_token_garbage),
        cmocka_unit_test(test_parse_time),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
