/* Unit tests for src/guard/secrets.c: the rule table (stable IDs and
 * severities); a passing and a failing fixture for every rule in it
 * (tests/fixtures/guardrails/secrets/<rule>/, "expect: rule:line[-end]"
 * annotations say what the failing one yields); for every finding, the
 * secret is found again from its fingerprint and none of its bytes but
 * the first four are in any field; Trivy's dummy token; false positives
 * (go.sum, UUIDs, digests, data: URLs, placeholders, references, code);
 * line numbers of diff runs, CRLF, binary data; and inputs built to make
 * a careless matcher quadratic.
 * Every secret here is made up; a scan of this repository finds most of
 * them (and the fixtures) all the same, which the repository's policy
 * has to except. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "guard/guard_int.h"
#include "paved/error.h"

/* ---- helpers ------------------------------------------------------------ */

static char *
load(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *buf;
    long n;

    if (fp == NULL)
        print_error("cannot open %s\n", path);
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    n = ftell(fp);
    assert_true(n >= 0);
    rewind(fp);
    assert_non_null(buf = malloc((size_t)n + 1));
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    buf[n] = '\0';
    fclose(fp);
    *len = (size_t)n;
    return buf;
}

static const char *
env_dir(const char *name, const char *dflt)
{
    const char *s = getenv(name);

    return s != NULL ? s : dflt;
}

/* "sha256:" + 16 hex of SHA-256(s), computed here independently. */
static void
fingerprint(char out[24], const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0, i;

    assert_int_equal(EVP_Digest(s, n, md, &mdlen, EVP_sha256(), NULL), 1);
    memcpy(out, "sha256:", 7);
    for (i = 0; i < 8; i++) {
        out[7 + 2 * i] = hex[md[i] >> 4];
        out[8 + 2 * i] = hex[md[i] & 15];
    }
    out[23] = '\0';
}

struct expect {
    char ex_rule[64];
    unsigned ex_line, ex_end; /* ex_end 0: not checked */
    int ex_seen;
};

static size_t
parse_expects(const char *text, int annotated, struct expect *ex, size_t max)
{
    const char *p = text;
    size_t n = 0;

    for (;;) {
        size_t rl;
        char *e;

        if (annotated) {
            if ((p = strstr(p, "expect: ")) == NULL)
                break;
            p += 8;
        } else {
            while (*p == ' ')
                p++;
            if (*p == '\0')
                break;
        }
        rl = strcspn(p, ":");
        assert_true(rl > 0 && rl < sizeof(ex[n].ex_rule) && p[rl] == ':');
        assert_true(n < max);
        memcpy(ex[n].ex_rule, p, rl);
        ex[n].ex_rule[rl] = '\0';
        ex[n].ex_line = (unsigned)strtoul(p + rl + 1, &e, 10);
        ex[n].ex_end = 0;
        if (*e == '-')
            ex[n].ex_end = (unsigned)strtoul(e + 1, &e, 10);
        p = e;
        ex[n].ex_seen = 0;
        n++;
    }
    return n;
}

static void
assert_findings(const struct paved_findings *fs, struct expect *ex, size_t n,
                const char *what)
{
    size_t i, j;
    int bad = 0;

    for (i = 0; i < fs->fs_n; i++) {
        const struct paved_finding *f = &fs->fs_items[i];

        for (j = 0; j < n; j++)
            if (!ex[j].ex_seen && strcmp(ex[j].ex_rule, f->f_rule) == 0 &&
                ex[j].ex_line == f->f_line &&
                (ex[j].ex_end == 0 || ex[j].ex_end == f->f_end_line))
                break;
        if (j == n) {
            print_error("%s: unexpected %s:%u-%u (%s)\n", what, f->f_rule,
                        f->f_line, f->f_end_line, f->f_message);
            bad = 1;
            continue;
        }
        ex[j].ex_seen = 1;
    }
    for (j = 0; j < n; j++)
        if (!ex[j].ex_seen) {
            print_error("%s: missing %s:%u\n", what, ex[j].ex_rule,
                        ex[j].ex_line);
            bad = 1;
        }
    assert_false(bad);
}

/* The text of line `line` of data whose first line is first. */
static const char *
line_at(const char *data, size_t len, unsigned first, unsigned line, size_t *n)
{
    const char *p = data, *end = data + len, *nl;
    unsigned l;

    for (l = first; l < line && p < end; l++) {
        nl = memchr(p, '\n', (size_t)(end - p));
        p = nl != NULL ? nl + 1 : end;
    }
    nl = memchr(p, '\n', (size_t)(end - p));
    *n = (size_t)((nl != NULL ? nl : end) - p);
    return p;
}

/* The base64 of the private-key block starting on line: what its
 * fingerprint is of. Written apart from the scanner: from the end of
 * the header to the next "-----END ", base64 characters only, an
 * escape (\n in JSON) and the character after it dropped. */
static char *
key_body(const char *data, size_t len, unsigned first, unsigned line, size_t *n)
{
    size_t ln, o = 0;
    const char *p = line_at(data, len, first, line, &ln);
    const char *b = strstr(p, "PRIVATE KEY");
    const char *e;
    char *out;

    assert_non_null(b);
    b = strstr(b, "-----");
    assert_non_null(b);
    b += 5;
    assert_non_null(e = strstr(b, "-----END "));
    assert_non_null(out = malloc((size_t)(e - b) + 1));
    for (; b < e; b++) {
        if (*b == '\\') {
            b++;
            continue;
        }
        if ((*b >= 'A' && *b <= 'Z') || (*b >= 'a' && *b <= 'z') ||
            (*b >= '0' && *b <= '9') || *b == '+' || *b == '/' || *b == '=')
            out[o++] = *b;
    }
    out[o] = '\0';
    *n = o;
    return out;
}

/* No eight bytes of the secret in a row are in s (fewer would match
 * the public prefix "github_pat_" in the rule's name). */
static void
assert_no_window(const char *s, const char *secret, size_t n, const char *field)
{
    size_t i;

    for (i = 0; i + 8 <= n; i++) {
        if (memmem(s, strlen(s), secret + i, 8) != NULL) {
            print_error("%s holds \"%.8s\" of the secret\n", field, secret + i);
            fail();
        }
    }
}

/* Finds the finding's secret again from its fingerprint (a substring of
 * its line, or the base64 of a key block) and checks that it appears in
 * no field: only its first four characters, then "…". */
static void
assert_finding_safe(const struct paved_finding *f, const char *data, size_t len,
                    unsigned first)
{
    char fp[24], *secret = NULL;
    size_t ln, a, b, n = 0;
    const char *line;

    assert_non_null(f->f_fingerprint);
    assert_int_equal(strlen(f->f_fingerprint), 23);
    assert_memory_equal(f->f_fingerprint, "sha256:", 7);
    assert_true(f->f_end_line >= f->f_line);
    if (strcmp(f->f_rule, "secrets.private-key") == 0) {
        secret = key_body(data, len, first, f->f_line, &n);
        fingerprint(fp, secret, n);
        assert_string_equal(fp, f->f_fingerprint);
    } else {
        assert_int_equal(f->f_end_line, f->f_line);
        line = line_at(data, len, first, f->f_line, &ln);
        for (a = 0; a < ln && secret == NULL; a++)
            for (b = a + 16; b <= ln && secret == NULL; b++) {
                fingerprint(fp, line + a, b - a);
                if (strcmp(fp, f->f_fingerprint) == 0) {
                    assert_non_null(secret = strndup(line + a, b - a));
                    n = b - a;
                }
            }
        if (secret == NULL)
            print_error("%s:%u: no part of the line has fingerprint %s\n",
                        f->f_path, f->f_line, f->f_fingerprint);
        assert_non_null(secret);
    }
    assert_no_window(f->f_message, secret, n, "message");
    assert_no_window(f->f_path, secret, n, "path");
    assert_no_window(f->f_rule, secret, n, "rule");
    assert_no_window(f->f_fingerprint, secret, n, "fingerprint");
    /* the redacted form: the first four characters, then an ellipsis;
     * a byte that is not printable ASCII as '?', so that a message is
     * never cut inside a UTF-8 character */
    {
        char red[16];
        int i;

        for (i = 0; i < 4; i++)
            red[i] = (unsigned char)secret[i] > 0x20 &&
                             (unsigned char)secret[i] < 0x7f
                         ? secret[i]
                         : '?';
        memcpy(red + 4, "\xe2\x80\xa6", 4);
        assert_non_null(strstr(f->f_message, red));
    }
    free(secret);
}

/* Scans text (first line number first) and compares with the
 * space-separated expectations; every finding is checked safe. */
static void
expect_scan(const char *what, const char *text, size_t len, unsigned first,
            const char *want)
{
    struct paved_findings fs = {0};
    struct expect ex[32];
    size_t n = parse_expects(want, 0, ex, 32), i;

    assert_int_equal(guard_secrets_scan(&fs, "f", text, len, first), 0);
    assert_findings(&fs, ex, n, what);
    for (i = 0; i < fs.fs_n; i++)
        assert_finding_safe(&fs.fs_items[i], text, len, first ? first : 1);
    paved_findings_dispose(&fs);
}

#define EXPECT(what, text, want)                                               \
    expect_scan((what), (text), sizeof(text) - 1, 1, (want))

/* ---- the table ------------------------------------------------------------
 */

static const struct {
    const char *id;
    enum paved_severity sev;
} want_rules[] = {
    {"secrets.aws-access-key", PAVED_SEV_CRITICAL},
    {"secrets.aws-secret-key", PAVED_SEV_CRITICAL},
    {"secrets.github-token", PAVED_SEV_CRITICAL},
    {"secrets.slack-token", PAVED_SEV_CRITICAL},
    {"secrets.slack-webhook", PAVED_SEV_HIGH},
    {"secrets.private-key", PAVED_SEV_CRITICAL},
    {"secrets.generic-credential", PAVED_SEV_HIGH},
};

static void
test_rule_table(void **state)
{
    const struct paved_rule *t;
    size_t n, i;

    (void)state;
    t = guard_secrets_rules(&n);
    assert_int_equal(n, sizeof(want_rules) / sizeof(*want_rules));
    for (i = 0; i < n; i++) {
        assert_string_equal(t[i].r_id, want_rules[i].id);
        assert_int_equal(t[i].r_severity, want_rules[i].sev);
        assert_true(strlen(t[i].r_summary) > 20);
        assert_ptr_equal(paved_guard_rule(t[i].r_id), &t[i]);
    }
}

/* ---- fixtures ------------------------------------------------------------ */

static void
test_fixtures_every_rule(void **state)
{
    const struct paved_rule *t;
    char dir[4096], path[4096 + 260];
    size_t nr, r;

    (void)state;
    t = guard_secrets_rules(&nr);
    for (r = 0; r < nr; r++) {
        struct dirent *de;
        DIR *d;
        int npass = 0, nfail = 0;

        snprintf(dir, sizeof(dir), "%s/tests/fixtures/guardrails/secrets/%s",
                 env_dir("PAVED_SOURCE_DIR", "."), t[r].r_id);
        if ((d = opendir(dir)) == NULL) {
            print_error("no fixtures for %s in %s\n", t[r].r_id, dir);
            fail();
        }
        while ((de = readdir(d)) != NULL) {
            struct paved_findings fs = {0};
            struct expect ex[32];
            int pass = strncmp(de->d_name, "pass", 4) == 0;
            size_t len, n, i;
            char *data;

            if (!pass && strncmp(de->d_name, "fail", 4) != 0)
                continue;
            snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
            data = load(path, &len);
            n = parse_expects(data, 1, ex, 32);
            assert_int_equal(guard_secrets_scan(&fs, de->d_name, data, len, 1),
                             0);
            if (pass) {
                assert_int_equal(n, 0);
                npass++;
            } else {
                assert_true(n > 0);
                for (i = 0; i < n; i++)
                    assert_string_equal(ex[i].ex_rule, t[r].r_id);
                nfail++;
            }
            assert_findings(&fs, ex, n, path);
            for (i = 0; i < fs.fs_n; i++) {
                assert_int_equal(fs.fs_items[i].f_severity, t[r].r_severity);
                assert_string_equal(fs.fs_items[i].f_path, de->d_name);
                assert_null(strchr(fs.fs_items[i].f_message, '\n'));
                assert_finding_safe(&fs.fs_items[i], data, len, 1);
            }
            paved_findings_dispose(&fs);
            free(data);
        }
        closedir(d);
        if (npass == 0 || nfail == 0)
            print_error("%s: %d passing and %d failing fixtures\n", t[r].r_id,
                        npass, nfail);
        assert_true(npass > 0 && nfail > 0);
    }
}

/* Trivy's dummy token, in its own golden report (a JSON file whose code
 * lines hold the token) and alone. */
static void
test_trivy_token(void **state)
{
    static const char line[] = "export GITHUB_PAT=ghp_"
                               "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ\n";
    struct paved_findings fs = {0};
    char path[4096];
    size_t len, i, hits = 0;
    char *data;

    (void)state;
    assert_int_equal(
        guard_secrets_scan(&fs, "deploy.sh", line, sizeof(line) - 1, 5), 0);
    assert_int_equal(fs.fs_n, 1);
    assert_string_equal(fs.fs_items[0].f_rule, "secrets.github-token");
    assert_int_equal(fs.fs_items[0].f_line, 5);
    assert_string_equal(fs.fs_items[0].f_fingerprint,
                        "sha256:cfba07816b54a551");
    assert_finding_safe(&fs.fs_items[0], line, sizeof(line) - 1, 5);
    paved_findings_dispose(&fs);

    snprintf(path, sizeof(path), "%s/corpus/trivy/secrets.json.golden",
             env_dir("PAVED_SHARED_DIR", "../shared"));
    data = load(path, &len);
    assert_int_equal(guard_secrets_scan(&fs, "secrets.json", data, len, 1), 0);
    for (i = 0; i < fs.fs_n; i++) {
        if (strcmp(fs.fs_items[i].f_rule, "secrets.github-token") != 0)
            continue;
        assert_string_equal(fs.fs_items[i].f_fingerprint,
                            "sha256:cfba07816b54a551");
        assert_finding_safe(&fs.fs_items[i], data, len, 1);
        hits++;
    }
    assert_true(hits >= 1);
    paved_findings_dispose(&fs);
    free(data);
}

/* ---- what is found ------------------------------------------------------ */

static void
test_found(void **state)
{
    (void)state;
    EXPECT("aws",
           "id = AKIA"
           "Z7QWERTYUIOP2345\n"
           "x=\"ASIA"
           "Y3LMNB4VCXZ6QWER\" # temporary\n",
           "secrets.aws-access-key:1 secrets.aws-access-key:2");
    EXPECT("aws secret",
           "AWS_SECRET_ACCESS_KEY=Zx9/Qw8+Er7Ty6Ui5Op4"
           "As3Df2Gh1Jk0LzXcVbNm\n"
           "  \"SecretAccessKey\": \"Pq2/Lm7+Kn4Jh9Gf6Dd3"
           "Ss1Aa8Zz5Xx0Cc7Vv2Bb\"",
           "secrets.aws-secret-key:1 secrets.aws-secret-key:2");
    EXPECT("github",
           "a ghs_Jq2Wm8Rt5Yx1Zb4Nc7Vd0Fg3Hk6Lp9Ms2QaR b\n"
           "(ghu_DNxril3RavGD5MfvJ7NScUykT8C8UBkkpdhi)\n"
           "'ghr_Wq4Er8Ty2Ui6Op0As4Df8Gh2Jk6Lz0Xc4Vb8'\n",
           "secrets.github-token:1 secrets.github-token:2 "
           "secrets.github-token:3");
    EXPECT(
        "slack",
        "SLACK_BOT=xoxb-2837465019283-4958372610495-Qm7Rt2Yx9Zb4Nc1Vd8Fg5Hk3\n"
        "url: https://hooks.slack.com/workflows/T04J8K2LM/A05N7P3QR/"
        "4839201/q8Rw2Ty6Ui0Op4As8Df2Gh6J\n",
        "secrets.slack-token:1 secrets.slack-webhook:2");
    /* a named token on the line is the named rule's, not also the
     * generic one's */
    EXPECT("no double",
           "GITHUB_TOKEN=ghp_Wq4Er8Ty2Ui6Op0As4Df8Gh2Jk6Lz0Xc4Vb8\n"
           "aws_access_key_id: AKIA"
           "Z7QWERTYUIOP2345\n",
           "secrets.github-token:1 secrets.aws-access-key:2");
    EXPECT("generic",
           "password = \"q7Lr9vT2xW4mN8pK3zB6\"\n"
           "\"apiKey\": \"Jf83hQ0zPl2Wk9Vb5Nx7Rt1Y\",\n"
           "$db_passwd = 'Hw5!rT8@kP2#vL9q';\n"
           "token := \"k2Jd9QwX7mLp4RzT8vBn\"\n"
           "client-secret: 7Yw2Kp9Lm4Qx8Rz3Vb6Nt1Hc\n"
           "url = \"https://h.example.com/cb?access_token=2YotnFZF"
           "Ejr1zCsicMWpAA&x=1\"\n"
           "{:private_key => \"Rk3mP9qL2xW7nB4vT8zH\"}\n"
           "passphrase = \"\xc3\xa9t\xc3\xa9"
           "2024-Rk3mP9qL2xW7nB\"\n",
           "secrets.generic-credential:1 secrets.generic-credential:2 "
           "secrets.generic-credential:3 secrets.generic-credential:4 "
           "secrets.generic-credential:5 secrets.generic-credential:6 "
           "secrets.generic-credential:7 secrets.generic-credential:8");
    /* a Kubernetes env entry: the name on one line, the value on the
     * next */
    EXPECT("env entry",
           "        - name: DB_PASSWORD\n"
           "          value: \"Xq3!vR8#pL2@wN5$hT9\"\n"
           "        - name: LOG_LEVEL\n"
           "          value: \"Zq3!vR8#pL2@wN5$hT9\"\n",
           "secrets.generic-credential:2");
}

/* Keys as PEM blocks, in JSON, with CRLF; line spans. */
static void
test_private_keys(void **state)
{
    static const char body[] =
        "MIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB\n"
        "aFDrBz9vFqU4yFqmYjOZzOQGVYYkX9qNUx6wSBGkqH1ZLkqGSOgGiT1yT3tUvN1P\n";
    char buf[2048];
    int n;

    (void)state;
    n = snprintf(buf, sizeof(buf),
                 "x\n-----BEGIN RSA PRIVATE KEY-----\n%s"
                 "-----END RSA PRIVATE KEY-----\npassword = \"q7Lr9vT2xW4mN8pK"
                 "3zB6\"\n",
                 body);
    expect_scan("pem", buf, (size_t)n, 1,
                "secrets.private-key:2-5 secrets.generic-credential:6");
    /* the same key, found in a diff's run that starts at line 100 */
    expect_scan("pem run", buf, (size_t)n, 100,
                "secrets.private-key:101-104 secrets.generic-credential:105");
    n = snprintf(buf, sizeof(buf),
                 "-----BEGIN EC PRIVATE KEY-----\r\n%.64s\r\n%.64s\r\n"
                 "-----END EC PRIVATE KEY-----\r\n",
                 body, body + 65);
    expect_scan("crlf", buf, (size_t)n, 1, "secrets.private-key:1-4");
    n = snprintf(buf, sizeof(buf),
                 "{\"private_key\": \"-----BEGIN PRIVATE KEY-----\\n%.64s\\n"
                 "%.64s\\n-----END PRIVATE KEY-----\\n\"}\n",
                 body, body + 65);
    expect_scan("json", buf, (size_t)n, 1, "secrets.private-key:1-1");
    n = snprintf(buf, sizeof(buf),
                 "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n%s"
                 "-----END PGP PRIVATE KEY BLOCK-----\n",
                 body);
    expect_scan("pgp", buf, (size_t)n, 1, "secrets.private-key:1-5");
    /* not keys: a header alone, a short body, a public key, a block
     * that ends as something else */
    EXPECT("header only",
           "if (strstr(pem, \"-----BEGIN RSA PRIVATE KEY-----"
           "\")) {\n}\n",
           "");
    EXPECT("short body",
           "-----BEGIN PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n"
           "-----END PRIVATE KEY-----\n",
           "");
    n = snprintf(buf, sizeof(buf),
                 "-----BEGIN PUBLIC KEY-----\n%s-----END PUBLIC KEY-----\n"
                 "-----BEGIN RSA PRIVATE KEY-----\n%s-----END CERTIFICATE---"
                 "--\n",
                 body, body);
    expect_scan("not private", buf, (size_t)n, 1, "");
}

/* ---- what is not found --------------------------------------------------- */

static void
test_false_positives(void **state)
{
    (void)state;
    /* go.sum, a UUID, digests, a data: URL */
    EXPECT("go.sum",
           "github.com/golang-jwt/jwt/v4 v4.5.0 h1:7cYmW1XlMY7h7ii7UhUyChSgS5"
           "wUJEnm9uZVTGqOWzg=\n"
           "golang.org/x/oauth2 v0.18.0/go.mod h1:Wf7knwG0MPoWIMMBgFlEaSUDaKs"
           "kp0ofcbGy0Dxr6+8=\n",
           "");
    EXPECT("uuid",
           "token = \"123e4567-e89b-12d3-a456-426614174000\"\n"
           "api_key: 9b2c6f0e-1d4a-4b8e-9c3f-7a5d2e1b0c9f\n",
           "");
    EXPECT("digest",
           "token_digest: sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b"
           "822cd15d6c15b0f00a08\n"
           "secret: \"sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8"
           "XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==\"\n"
           "image: app@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822"
           "cd15d6c15b0f00a08\n"
           "token: sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d"
           "6c15b0f00a08\n",
           "");
    EXPECT("data url",
           "icon_token = \"data:image/png;base64,iVBORw0KGgo=\"\n"
           "secret_image: data:image/gif;base64,R0lGODlhAQABAIAAAP///wAAACw\n"
           "password = \"iVBORw0K\"\n",
           "");
    /* placeholders */
    EXPECT("placeholders",
           "secret = \"${SECRET_FROM_VAULT_PATH}\"\n"
           "secret_key = $DJANGO_SECRET_KEY_VALUE\n"
           "API_TOKEN = \"<your-api-token-goes-here>\"\n"
           "db_password = \"changeme-changeme-changeme\"\n"
           "admin_password = \"xxxxxxxxxxxxxxxxxxxx\"\n"
           "pin_password = \"1111111111111111\"\n"
           "password: \"{{ .Values.database.password }}\"\n"
           "password: '********************'\n"
           "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCY"
           "EXAMPLEKEY\n"
           "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7"
           "EXAMPLE\n"
           "GITHUB_TOKEN=ghp_"
           "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"
           "bot: xoxb-your-bot-token-here-please\n"
           "hook: https://hooks.slack.com/services/T00000000/B00000000/"
           "XXXXXXXXXXXXXXXXXXXXXXXX\n"
           "GITLAB_TOKEN = 'int-gitlab-token-9d02'\n"
           "hook2: https://hooks.slack.com/services/T00000000/B00000000/0000\n"
           "password = \"a0a0a0a0a0Xa0a0a0a0Ya0\"\n",
           "");
    /* references and code */
    EXPECT("references",
           "password = os.environ[\"DB_PASSWORD_FOR_PRODUCTION\"]\n"
           "api_key = os.getenv(\"API_KEY_FOR_PRODUCTION\")\n"
           "token = settings.GITHUB_APP_INSTALLATION_TOKEN\n"
           "const apiKey = process.env.STRIPE_API_KEY_LIVE;\n"
           "    r->r_secret_values = co->co_secret_values;\n"
           "secret_key_base = Rails::Application::Credentials7\n"
           "credentials_provider = CredentialsProviderChainFactory\n"
           "    private_key: PKCS7PrivateKeyTypes,\n"
           "password = get_password_from_keyring(user)\n"
           "oauth_token_secret = OAUTH_TOKEN_SECRET_FROM_ENV\n"
           "if password == \"Hq7Lr9vT2xW4mN8pK3zB\":\n"
           "token != \"Hq7Lr9vT2xW4mN8pK3zB\"\n",
           "");
    /* names, endpoints, paths, phrases, expressions */
    EXPECT("names",
           "secret_name = \"payments-database-credentials\"\n"
           "secretName: api-tls-certificate-2024\n"
           "token_url = \"https://oauth2.googleapis.com/token\"\n"
           "password_file = \"/run/secrets/db_password\"\n"
           "CREDENTIALS = \"GOOGLE_APPLICATION_CREDENTIALS\"\n"
           "_SERVICE_TOKEN = 'sql-component.googleapis.com'\n"
           "TOKEN_BLOCK_BEGIN: \"begin of statement block\"\n"
           "_SECRET_VERSION = r':(?P<version_short>.+)'\n"
           "'image_pull_secrets': 'list[V1LocalObjectReference]',\n"
           "token_hash = \"a3f5c9e1b7d2f4a6c8e0b2d4f6a8c0e2\"\n"
           "github_secret: x\\ngithub_allow_sha1: true\\n\n"
           "ep.fe_token = \"ghs_a\\r\\nX-Evil: 1\";\n",
           "");
    /* too short (15), too regular (entropy 3.1 bits) */
    EXPECT("weak",
           "short_secret = \"abc123\"\n"
           "password = \"q7Lr9vT2xW4mN8p\"\n"
           "password = \"a1b2c3d4e1b2c3d4a1b2c3d4\"\n"
           "low = \"aaaaaaaabbbbbbbbcccc\"\n"
           "password = \"aaaaaaaabbbbbbbbcccc\"\n"
           "token = \"1212121212121212121212\"\n",
           "");
    /* fixed formats need their boundaries and lengths */
    EXPECT("boundaries",
           "BUILD_ID=XAKIA"
           "Z7QWERTYUIOP2345\n"
           "REGION_NAME=ASIAPACIFICSOUTHEAST2\n"
           "AKIA"
           "Z7QWERTYUIOP2345X\n"
           "notghp_0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ\n"
           "ghp_0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZa\n"
           "ghp_abc123\n"
           "xoxb-1234\n"
           "hooks.slack.com/services/T1/B2\n",
           "");
}

/* ---- line numbers, CRLF, binary ------------------------------------------ */

static void
test_lines(void **state)
{
    static const char run[] = "+\n+token: \"k2Jd9QwX7mLp4RzT8vBn\"\n"
                              "AKIA"
                              "Z7QWERTYUIOP2345";
    static const char crlf[] = "a=1\r\npassword=\"q7Lr9vT2xW4mN8pK3zB6\"\r\n"
                               "\r\nAKIA"
                               "Z7QWERTYUIOP2345\r\n";

    (void)state;
    expect_scan("run", run, sizeof(run) - 1, 41,
                "secrets.generic-credential:42 secrets.aws-access-key:43");
    /* first_line 0 reads as 1 */
    expect_scan("zero", run, sizeof(run) - 1, 0,
                "secrets.generic-credential:2 secrets.aws-access-key:3");
    EXPECT("crlf", crlf,
           "secrets.generic-credential:2 secrets.aws-access-key:4");
    EXPECT("empty", "", "");
    EXPECT("newlines", "\n\n\n", "");
}

static void
test_binary(void **state)
{
    struct paved_findings fs = {0};
    char *buf;
    size_t len = 20000;

    (void)state;
    assert_non_null(buf = malloc(len));
    memset(buf, 'a', len);
    memcpy(buf + 100,
           "\nAKIA"
           "Z7QWERTYUIOP2345\n",
           22);
    /* a NUL in the first 8 KiB: binary, skipped */
    buf[8191] = '\0';
    assert_int_equal(guard_secrets_scan(&fs, "b", buf, len, 1), 0);
    assert_int_equal(fs.fs_n, 0);
    /* after it: text with a stray NUL, scanned */
    buf[8191] = 'a';
    buf[8192] = '\0';
    assert_int_equal(guard_secrets_scan(&fs, "b", buf, len, 1), 0);
    assert_int_equal(fs.fs_n, 1);
    assert_int_equal(fs.fs_items[0].f_line, 2);
    paved_findings_dispose(&fs);
    /* NULL data */
    assert_int_equal(guard_secrets_scan(&fs, "b", NULL, 0, 1), 0);
    assert_int_equal(fs.fs_n, 0);
    free(buf);
}

/* One secret, one fingerprint, wherever it is; two secrets, two. */
static void
test_fingerprints(void **state)
{
    static const char text[] =
        "a: ghp_Wq4Er8Ty2Ui6Op0As4Df8Gh2Jk6Lz0Xc4Vb8\n"
        "export B=\"ghp_Wq4Er8Ty2Ui6Op0As4Df8Gh2Jk6Lz0Xc4Vb8\"\n"
        "c ghp_Wq4Er8Ty2Ui6Op0As4Df8Gh2Jk6Lz0Xc4Vb9\n";
    struct paved_findings fs = {0};
    char fp[24];

    (void)state;
    assert_int_equal(guard_secrets_scan(&fs, "f", text, sizeof(text) - 1, 1),
                     0);
    assert_int_equal(fs.fs_n, 3);
    fingerprint(fp, "ghp_Wq4Er8Ty2Ui6Op0As4Df8Gh2Jk6Lz0Xc4Vb8", 40);
    assert_string_equal(fs.fs_items[0].f_fingerprint, fp);
    assert_string_equal(fs.fs_items[1].f_fingerprint, fp);
    assert_string_not_equal(fs.fs_items[2].f_fingerprint, fp);
    paved_findings_dispose(&fs);
}

/* Inputs that would make a matcher that searches again from every
 * candidate quadratic: many BEGIN lines and one END far away, a long
 * line of assignments, a long unterminated quote. */
static void
test_linear(void **state)
{
    size_t cap = 1u << 20, len, i;
    struct paved_findings fs = {0};
    char *buf;

    (void)state;
    assert_non_null(buf = malloc(cap));
    for (len = 0; len + 64 < cap - 64;)
        len += (size_t)snprintf(buf + len, cap - len,
                                "-----BEGIN RSA PRIVATE KEY-----\n");
    len += (size_t)snprintf(buf + len, cap - len,
                            "-----END RSA PRIVATE KEY-----\n");
    assert_int_equal(guard_secrets_scan(&fs, "k", buf, len, 1), 0);
    assert_int_equal(fs.fs_n, 0);
    for (len = 0; len + 16 < cap;)
        len += (size_t)snprintf(buf + len, cap - len, "password=\"a%zu", len);
    assert_int_equal(guard_secrets_scan(&fs, "a", buf, len, 1), 0);
    assert_int_equal(fs.fs_n, 0);
    for (i = 0; i < cap; i++)
        buf[i] = "a=:'"[i % 4];
    assert_int_equal(guard_secrets_scan(&fs, "q", buf, cap, 1), 0);
    assert_int_equal(fs.fs_n, 0);
    paved_findings_dispose(&fs);
    free(buf);
}

/* ---- the helpers other checkers use ---------------------------------------
 */

static void
test_key_names(void **state)
{
    static const char *const yes[] = {
        "password",       "DB_PASSWORD", "passwd",         "apiKey",
        "api-key",        "API_KEY",     "client_secret",  "secret",
        "GITHUB_TOKEN",   "accessKey",   "aws_access_key", "credentials",
        "private_key",    "PrivateKey",  "refresh_token",  "passphrase",
        "JWT_SIGNING_KEY"};
    static const char *const no[] = {
        "PASSWORD_FILE", "secretName",    "token_url",
        "TOKEN_TTL",     "password_hash", "username",
        "passthrough",   "apiVersion",    "secret_arn",
        "name",          "key",           "tokenType",
        "author",        "pwd",           "",
        "token_endpoint"};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(yes) / sizeof(*yes); i++) {
        if (!guard_secrets_key(yes[i], strlen(yes[i])))
            print_error("%s should be a credential name\n", yes[i]);
        assert_true(guard_secrets_key(yes[i], strlen(yes[i])));
    }
    for (i = 0; i < sizeof(no) / sizeof(*no); i++) {
        if (guard_secrets_key(no[i], strlen(no[i])))
            print_error("%s should not be a credential name\n", no[i]);
        assert_false(guard_secrets_key(no[i], strlen(no[i])));
    }
}

static void
test_find(void **state)
{
    static const struct {
        const char *s, *rule;
    } cases[] = {
        {"AKIA"
         "Z7QWERTYUIOP2345",
         "secrets.aws-access-key"},
        {"Bearer ghp_Wq4Er8Ty2Ui6Op0As4Df8Gh2Jk6Lz0Xc4Vb8",
         "secrets.github-token"},
        {"xoxp-1029384756102-2938475610293-3847561029384-8f3a9c2e",
         "secrets.slack-token"},
        {"https://hooks.slack.com/services/T04J8K2LM/B05N7P3QR/q8Rw2Ty6Ui0",
         "secrets.slack-webhook"},
        {"-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl", "secrets.private-key"},
        {"q7Lr9vT2xW4mN8pK3zB6", NULL},
        {"AKIAIOSFODNN7"
         "EXAMPLE",
         NULL},
        {"", NULL},
    };
    size_t i;
    const char *r;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        r = guard_secrets_find(cases[i].s, strlen(cases[i].s));
        if ((r == NULL) != (cases[i].rule == NULL) ||
            (r != NULL && strcmp(r, cases[i].rule) != 0)) {
            print_error("find(\"%s\"): %s, not %s\n", cases[i].s,
                        r != NULL ? r : "NULL",
                        cases[i].rule != NULL ? cases[i].rule : "NULL");
            fail();
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rule_table),
        cmocka_unit_test(test_fixtures_every_rule),
        cmocka_unit_test(test_trivy_token),
        cmocka_unit_test(test_found),
        cmocka_unit_test(test_private_keys),
        cmocka_unit_test(test_false_positives),
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_binary),
        cmocka_unit_test(test_fingerprints),
        cmocka_unit_test(test_linear),
        cmocka_unit_test(test_key_names),
        cmocka_unit_test(test_find),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
