/* Secrets in text: AWS access keys, GitHub and Slack tokens, Slack
 * webhooks, private-key blocks and credential-looking assignments with
 * enough entropy, in a whole file or in a diff's added lines.
 * `paved check` runs this over every file of a checkout, so it is hand-
 * written matchers in one pass per line: no regex engine, no allocation
 * per line (only per finding). It never copies a secret into a finding:
 * a finding carries the first four characters and a SHA-256 fingerprint,
 * and it never prints, logs or touches the network. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "guard/guard_int.h"
#include "paved/error.h"

enum sec_rule {
    SR_AWS_KEY = 0,
    SR_AWS_SECRET,
    SR_GITHUB,
    SR_SLACK,
    SR_SLACK_HOOK,
    SR_PRIVATE_KEY,
    SR_GENERIC,
    SR_N
};

/* In enum sec_rule order. */
static const struct paved_rule secrets_rules[SR_N] = {
    {"secrets.aws-access-key", PAVED_SEV_CRITICAL,
     "no AWS access key ID (AKIA…, ASIA…) in the repository: credentials "
     "come from the environment, an instance role or a secret store"},
    {"secrets.aws-secret-key", PAVED_SEV_CRITICAL,
     "no AWS secret access key assigned in the repository"},
    {"secrets.github-token", PAVED_SEV_CRITICAL,
     "no GitHub token (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_) in the "
     "repository"},
    {"secrets.slack-token", PAVED_SEV_CRITICAL,
     "no Slack token (xoxb-, xoxp-, ...) in the repository"},
    {"secrets.slack-webhook", PAVED_SEV_HIGH,
     "no Slack incoming-webhook URL in the repository: anyone holding it "
     "can post to the channel"},
    {"secrets.private-key", PAVED_SEV_CRITICAL,
     "no private-key block (-----BEGIN ... PRIVATE KEY-----) in the "
     "repository"},
    {"secrets.generic-credential", PAVED_SEV_HIGH,
     "no high-entropy literal assigned to a password, secret, token or key "
     "name: read it from the environment or a secret store"},
};

const struct paved_rule *
guard_secrets_rules(size_t *n)
{
    *n = SR_N;
    return secrets_rules;
}

/* ---- character classes (ASCII only: no locale) ----------------------- */

static int
secrets_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
secrets_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int
secrets_alnum(unsigned char c)
{
    return secrets_alpha(c) || secrets_digit(c);
}

static int
secrets_word(unsigned char c)
{
    return secrets_alnum(c) || c == '_';
}

static unsigned char
secrets_lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/* case-insensitive: does s[0..n) contain the lower-case needle? */
static int
secrets_icontains(const char *s, size_t n, const char *needle)
{
    size_t m = strlen(needle), i, j;

    for (i = 0; i + m <= n; i++) {
        for (j = 0; j < m; j++)
            if (secrets_lower((unsigned char)s[i + j]) !=
                (unsigned char)needle[j])
                break;
        if (j == m)
            return 1;
    }
    return 0;
}

static int
secrets_iprefix(const char *s, size_t n, const char *prefix)
{
    size_t m = strlen(prefix), j;

    if (n < m)
        return 0;
    for (j = 0; j < m; j++)
        if (secrets_lower((unsigned char)s[j]) != (unsigned char)prefix[j])
            return 0;
    return 1;
}

static int
secrets_suffix(const char *s, size_t n, const char *suffix)
{
    size_t m = strlen(suffix);

    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

/* Obvious stand-ins, never real credentials: documentation examples,
 * masked values and template variables. */
static int
secrets_placeholder(const char *s, size_t n)
{
    static const char *const words[] = {
        "xxxxx",
        "*****",
        "changeme",
        "change_me",
        "change-me",
        "example",
        "placeholder",
        "redacted",
        "dummy",
        "${",
        "{{",
        "your_",
        "your-",
        "<your",
        "sample",
        /* a value that names what it is was written by a person as a
         * stand-in: "int-gitlab-token-9d02", "provide-password-here";
         * random text holds such a word with odds below 1 in 10,000 */
        "token",
        "secret",
        "passw",
        "fake",
        "test",
    };
    unsigned counts[256] = {0};
    size_t i, most = 0;

    if (n == 0)
        return 1;
    for (i = 0; i < sizeof(words) / sizeof(*words); i++)
        if (secrets_icontains(s, n, words[i]))
            return 1;
    /* mostly one character: "0000000000000000", "T00000000/B00000000/";
     * in random text of 16 or more no character is half of it */
    for (i = 0; i < n; i++)
        if (++counts[(unsigned char)s[i]] > most)
            most = counts[(unsigned char)s[i]];
    return 2 * most > n;
}

/* ---- credential names ------------------------------------------------- */

bool
guard_secrets_key(const char *name, size_t len)
{
    /* what the name says it holds... */
    static const char *const holds[] = {
        "password",    "passwd",     "passphrase", "secret",    "token",
        "api_key",     "apikey",     "access_key", "accesskey", "credential",
        "private_key", "privatekey", "signing_key"};
    /* ...unless its last part says it only points at one or describes
     * one: "secret_name", "passwordFile", "token_url" */
    static const char *const about[] = {
        "file",     "files",      "path",    "dir",      "url",       "uri",
        "endpoint", "name",       "names",   "type",     "ref",       "length",
        "len",      "size",       "count",   "ttl",      "timeout",   "expiry",
        "expires",  "expiration", "env",     "var",      "header",    "field",
        "policy",   "enabled",    "mount",   "arn",      "provider",  "format",
        "required", "id_key",     "version", "rotation", "client_id", "user",
        "username", "email"};
    char k[128];
    size_t i, n;
    int hit = 0;

    /* shorter than any word above: most keys of minified code */
    if (len < 5 || len >= sizeof(k))
        return false;
    for (i = 0; i < len; i++) {
        unsigned char c = secrets_lower((unsigned char)name[i]);

        k[i] = (char)(c == '-' || c == '.' || c == ' ' ? '_' : c);
    }
    k[len] = '\0';
    /* one look at each letter that starts a word above: this runs for
     * every assignment in every file */
    for (i = 0; i < len && !hit; i++) {
        const char *w = NULL;

        switch (k[i]) {
        case 'p':
            w = k[i + 1] == 'a' ? "pass" : "private";
            break;
        case 's':
            w = k[i + 1] == 'e' ? "secret" : "signing_key";
            break;
        case 't':
            w = "token";
            break;
        case 'a':
            w = k[i + 1] == 'p' ? "api" : "access";
            break;
        case 'c':
            w = "credential";
            break;
        default:
            continue;
        }
        if (strncmp(k + i, w, strlen(w)) != 0)
            continue;
        /* "pass" and "api" alone say nothing: "passthrough", "apiVersion" */
        if (strcmp(w, "pass") == 0)
            hit = strncmp(k + i, "password", 8) == 0 ||
                  strncmp(k + i, "passwd", 6) == 0 ||
                  strncmp(k + i, "passphrase", 10) == 0;
        else if (strcmp(w, "api") == 0)
            hit = strncmp(k + i, "api_key", 7) == 0 ||
                  strncmp(k + i, "apikey", 6) == 0;
        else if (strcmp(w, "access") == 0)
            hit = strncmp(k + i, "access_key", 10) == 0 ||
                  strncmp(k + i, "accesskey", 9) == 0;
        else if (strcmp(w, "private") == 0)
            hit = strncmp(k + i, "private_key", 11) == 0 ||
                  strncmp(k + i, "privatekey", 10) == 0;
        else
            hit = 1;
    }
    if (!hit)
        return false;
    /* a hash of a credential is not one */
    if (strstr(k, "hash") != NULL || strstr(k, "digest") != NULL ||
        strstr(k, "checksum") != NULL || strstr(k, "fingerprint") != NULL)
        return false;
    for (n = len; n > 0 && k[n - 1] == '_'; n--)
        ;
    for (i = 0; i < sizeof(holds) / sizeof(*holds); i++)
        if (secrets_suffix(k, n, holds[i]))
            return true;
    for (i = 0; i < sizeof(about) / sizeof(*about); i++)
        if (secrets_suffix(k, n, about[i]))
            return false;
    return true;
}

/* ---- the fixed-format matchers -----------------------------------------
 * Each looks at s[i] (already known to be its first character) within
 * the line [begin, end) and, on a match, sets the matched span and the
 * secret's span (what is fingerprinted). */

struct sec_match {
    enum sec_rule sm_rule;
    size_t sm_start, sm_end; /* the whole match */
    size_t sm_sec, sm_seclen;
};

static int
secrets_aws_key(const char *s, size_t i, size_t begin, size_t end,
                struct sec_match *m)
{
    size_t j;

    if (end - i < 20 || (s[i + 1] != 'K' && s[i + 1] != 'S') ||
        s[i + 2] != 'I' || s[i + 3] != 'A')
        return 0;
    if (i > begin && secrets_alnum((unsigned char)s[i - 1]))
        return 0;
    for (j = i + 4; j < i + 20; j++)
        if (!((s[j] >= 'A' && s[j] <= 'Z') || (s[j] >= '2' && s[j] <= '7')))
            return 0;
    if (i + 20 < end && secrets_alnum((unsigned char)s[i + 20]))
        return 0;
    /* AWS's documentation key, AKIAIOSFODNN7EXAMPLE, and its kind */
    if (secrets_placeholder(s + i + 4, 16))
        return 0;
    m->sm_rule = SR_AWS_KEY;
    m->sm_start = m->sm_sec = i;
    m->sm_end = i + 20;
    m->sm_seclen = 20;
    return 1;
}

static int
secrets_github(const char *s, size_t i, size_t begin, size_t end,
               struct sec_match *m)
{
    size_t j, body, n;

    if (i > begin && secrets_alnum((unsigned char)s[i - 1]))
        return 0;
    if (end - i >= 40 && s[i + 1] == 'h' && s[i + 3] == '_' &&
        s[i + 2] != '\0' && strchr("pousr", s[i + 2]) != NULL) {
        body = i + 4;
        n = 36;
        for (j = body; j < body + n; j++)
            if (!secrets_alnum((unsigned char)s[j]))
                return 0;
        if (body + n < end && secrets_alnum((unsigned char)s[body + n]))
            return 0;
    } else if (end - i >= 11 + 82 && memcmp(s + i, "github_pat_", 11) == 0) {
        body = i + 11;
        n = 82;
        for (j = body; j < body + n; j++)
            if (!secrets_word((unsigned char)s[j]))
                return 0;
        if (body + n < end && secrets_word((unsigned char)s[body + n]))
            return 0;
    } else {
        return 0;
    }
    if (secrets_placeholder(s + body, n))
        return 0;
    m->sm_rule = SR_GITHUB;
    m->sm_start = m->sm_sec = i;
    m->sm_end = body + n;
    m->sm_seclen = body + n - i;
    return 1;
}

static int
secrets_slack(const char *s, size_t i, size_t begin, size_t end,
              struct sec_match *m)
{
    size_t j;
    int digit = 0, dash = 0;

    if (end - i < 25 || s[i + 1] != 'o' || s[i + 2] != 'x' || s[i + 4] != '-' ||
        s[i + 3] == '\0' || strchr("abeoprs", s[i + 3]) == NULL)
        return 0;
    if (i > begin && secrets_alnum((unsigned char)s[i - 1]))
        return 0;
    for (j = i + 5;
         j < end && (secrets_alnum((unsigned char)s[j]) || s[j] == '-'); j++) {
        digit |= secrets_digit((unsigned char)s[j]);
        dash |= s[j] == '-';
    }
    /* real tokens carry numeric team and user IDs between dashes;
     * "xoxb-your-token-here" does not */
    if (j - (i + 5) < 20 || !digit || !dash ||
        secrets_placeholder(s + i + 5, j - (i + 5)))
        return 0;
    m->sm_rule = SR_SLACK;
    m->sm_start = m->sm_sec = i;
    m->sm_end = j;
    m->sm_seclen = j - i;
    return 1;
}

static int
secrets_slack_hook(const char *s, size_t i, size_t end, struct sec_match *m)
{
    static const char *const kinds[] = {"services/", "workflows/", "triggers/"};
    size_t j, k, p;
    int digit = 0;

    if (end - i < 16 + 9 + 20 || s[i + 1] != 'o' ||
        memcmp(s + i, "hooks.slack.com/", 16) != 0)
        return 0;
    p = i + 16;
    for (k = 0; k < sizeof(kinds) / sizeof(*kinds); k++)
        if (end - p > strlen(kinds[k]) &&
            memcmp(s + p, kinds[k], strlen(kinds[k])) == 0)
            break;
    if (k == sizeof(kinds) / sizeof(*kinds))
        return 0;
    p += strlen(kinds[k]);
    for (j = p; j < end && (secrets_word((unsigned char)s[j]) || s[j] == '/' ||
                            s[j] == '+' || s[j] == '-');
         j++)
        digit |= secrets_digit((unsigned char)s[j]);
    if (j - p < 20 || !digit || secrets_placeholder(s + p, j - p))
        return 0;
    m->sm_rule = SR_SLACK_HOOK;
    m->sm_start = i;
    m->sm_end = j;
    m->sm_sec = p; /* the path after the kind: what the URL's secret is */
    m->sm_seclen = j - p;
    return 1;
}

/* "-----BEGIN RSA PRIVATE KEY-----" at s[i]: the label's span and the
 * header's end, or 0. */
static size_t
secrets_pem_header(const char *s, size_t i, size_t end, const char *kw,
                   size_t *label, size_t *label_len)
{
    size_t kl = strlen(kw), j, l, lim;

    if (end - i < 5 + kl || memcmp(s + i, "-----", 5) != 0 ||
        memcmp(s + i + 5, kw, kl) != 0)
        return 0;
    l = i + 5 + kl;
    lim = end - l > 64 ? l + 64 : end;
    for (j = l; j < lim && ((s[j] >= 'A' && s[j] <= 'Z') || s[j] == ' '); j++)
        ;
    if (end - j < 5 || memcmp(s + j, "-----", 5) != 0)
        return 0;
    /* [A-Z ]*PRIVATE KEY, or OpenPGP's PRIVATE KEY BLOCK */
    if (!((j - l >= 11 && memcmp(s + j - 11, "PRIVATE KEY", 11) == 0) ||
          (j - l >= 17 && memcmp(s + j - 17, "PRIVATE KEY BLOCK", 17) == 0)))
        return 0;
    *label = l;
    *label_len = j - l;
    return j + 5;
}

/* ---- reporting -------------------------------------------------------- */

/* "sha256:" + 16 hex of SHA-256 over the bytes given to sec_fp_update. */
struct sec_fp {
    EVP_MD_CTX *fp_ctx;
    char fp_red[8]; /* the first four characters, printable */
    size_t fp_nred;
};

static int
secrets_fp_begin(struct sec_fp *f)
{
    memset(f, 0, sizeof(*f));
    if ((f->fp_ctx = EVP_MD_CTX_new()) == NULL ||
        EVP_DigestInit_ex(f->fp_ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(f->fp_ctx);
        f->fp_ctx = NULL;
        return paved_error_set(PAVED_ENOMEM, "sha256: out of memory");
    }
    return 0;
}

static int
secrets_fp_update(struct sec_fp *f, const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n && f->fp_nred < 4; i++) {
        unsigned char c = (unsigned char)s[i];

        f->fp_red[f->fp_nred++] = (char)(c > 0x20 && c < 0x7f ? c : '?');
    }
    f->fp_red[f->fp_nred] = '\0';
    if (EVP_DigestUpdate(f->fp_ctx, s, n) != 1)
        return paved_error_set(PAVED_ERROR, "sha256 failed");
    return 0;
}

/* Finishes into out ("sha256:" + 16 hex + NUL) and frees the context. */
static int
secrets_fp_end(struct sec_fp *f, char out[7 + 16 + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0, i;
    int ok;

    ok = EVP_DigestFinal_ex(f->fp_ctx, md, &mdlen) == 1 && mdlen >= 8;
    EVP_MD_CTX_free(f->fp_ctx);
    f->fp_ctx = NULL;
    if (!ok)
        return paved_error_set(PAVED_ERROR, "sha256 failed");
    memcpy(out, "sha256:", 7);
    for (i = 0; i < 8; i++) {
        out[7 + 2 * i] = hex[md[i] >> 4];
        out[8 + 2 * i] = hex[md[i] & 15];
    }
    out[23] = '\0';
    return 0;
}

static void
secrets_fp_abort(struct sec_fp *f)
{
    EVP_MD_CTX_free(f->fp_ctx);
    f->fp_ctx = NULL;
}

/* Sets the fingerprint of the finding guard_report just appended. */
static int
secrets_set_fingerprint(struct paved_findings *fs, const char *fp)
{
    struct paved_finding *f = &fs->fs_items[fs->fs_n - 1];

    if ((f->f_fingerprint = strdup(fp)) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    return 0;
}

struct sec_scan {
    struct paved_findings *sc_fs;
    const char *sc_path;
    const char *sc_data;
    size_t sc_len;
    size_t sc_end_at;   /* the next "-----" after a BEGIN header; */
    bool sc_end_known;  /* (sc_len: none till the end of the data) */
    size_t sc_pend_key; /* "- name: DB_PASSWORD" on the line before */
    size_t sc_pend_len;
    unsigned sc_pend_line;
};

static int
secrets_report(struct sec_scan *sc, const struct sec_match *m, unsigned line,
               const char *key, size_t keylen, size_t vlen)
{
    struct sec_fp f;
    char fp[24];
    int error;

    if ((error = secrets_fp_begin(&f)) < 0)
        return error;
    if ((error = secrets_fp_update(&f, sc->sc_data + m->sm_sec, m->sm_seclen)) <
            0 ||
        (error = secrets_fp_end(&f, fp)) < 0) {
        secrets_fp_abort(&f);
        return error;
    }
    /* the name is shown, unless it holds a token itself */
    if (keylen > 40)
        keylen = 40;
    if (key != NULL && guard_secrets_find(key, keylen) != NULL) {
        key = "a name";
        keylen = 6;
    }
    switch (m->sm_rule) {
    case SR_AWS_KEY:
        error = guard_report(
            sc->sc_fs, secrets_rules[SR_AWS_KEY].r_id, sc->sc_path, line, line,
            "AWS access key ID %s… is in the file: deactivate it in IAM now "
            "(a pushed key is a leaked key) and take credentials from the "
            "environment, an instance role or a secret store",
            f.fp_red);
        break;
    case SR_AWS_SECRET:
        error = guard_report(
            sc->sc_fs, secrets_rules[SR_AWS_SECRET].r_id, sc->sc_path, line,
            line,
            "%.*s is assigned an AWS secret access key (%s…): rotate the key "
            "pair in IAM now and read it from the environment or a secret "
            "store",
            (int)keylen, key, f.fp_red);
        break;
    case SR_GITHUB:
        error = guard_report(
            sc->sc_fs, secrets_rules[SR_GITHUB].r_id, sc->sc_path, line, line,
            "GitHub token %s… is in the file: revoke it (Settings > "
            "Developer settings, or the app's settings) and pass it in "
            "through the CI's secrets",
            f.fp_red);
        break;
    case SR_SLACK:
        error = guard_report(
            sc->sc_fs, secrets_rules[SR_SLACK].r_id, sc->sc_path, line, line,
            "Slack token %s… is in the file: revoke it (api.slack.com/apps) "
            "and read it from a secret store",
            f.fp_red);
        break;
    case SR_SLACK_HOOK:
        error = guard_report(
            sc->sc_fs, secrets_rules[SR_SLACK_HOOK].r_id, sc->sc_path, line,
            line,
            "Slack webhook URL (…/%s…) is in the file: regenerate the "
            "webhook and read its URL from a secret store",
            f.fp_red);
        break;
    default:
        error = guard_report(
            sc->sc_fs, secrets_rules[SR_GENERIC].r_id, sc->sc_path, line, line,
            "%.*s is assigned what looks like a credential (%s…, %zu "
            "characters, high entropy): rotate it and read it from the "
            "environment or a secret store (a policy exception if it is "
            "not one)",
            (int)keylen, key, f.fp_red, vlen);
        break;
    }
    if (error < 0)
        return error;
    return secrets_set_fingerprint(sc->sc_fs, fp);
}

/* A private-key block whose header starts at s[i] of line `line`: when
 * its END line follows (within 64 KiB, with a body of at least 64
 * base64 characters), report it spanning to that line and set *resume
 * to the start of the line after it. 0 when reported or not a key. */
static int
secrets_private_key(struct sec_scan *sc, size_t i, size_t line_end,
                    unsigned line, size_t *resume, unsigned *resume_line)
{
    const char *s = sc->sc_data;
    size_t label, label_len, body, endl, endl_len, after, j, nb64 = 0;
    unsigned end_line = line;
    struct sec_fp f;
    char fp[24], chunk[256];
    size_t nchunk = 0;
    const char *nl;
    int error;

    if ((body = secrets_pem_header(s, i, line_end, "BEGIN ", &label,
                                   &label_len)) == 0)
        return 0;
    /* a key's body is base64 (and a few header lines): the next "-----"
     * must start its END line. One search serves every BEGIN before
     * the dashes it finds, so a file of BEGIN lines stays linear. */
    if (!sc->sc_end_known || sc->sc_end_at < body) {
        const char *e = memmem(s + body, sc->sc_len - body, "-----", 5);

        sc->sc_end_at = e != NULL ? (size_t)(e - s) : sc->sc_len;
        sc->sc_end_known = true;
    }
    if (sc->sc_end_at >= sc->sc_len || sc->sc_end_at - body > 65536)
        return 0;
    if ((after = secrets_pem_header(s, sc->sc_end_at, sc->sc_len, "END ", &endl,
                                    &endl_len)) == 0)
        return 0;
    for (j = body; j < sc->sc_end_at; j++) {
        unsigned char c = (unsigned char)s[j];

        if (c == '\n')
            end_line++;
        if (c == '\\') { /* "\n" inside a JSON string */
            end_line += j + 1 < sc->sc_end_at && s[j + 1] == '\n';
            j++;
            continue;
        }
        if (secrets_alnum(c) || c == '+' || c == '/' || c == '=')
            nb64++;
    }
    if (nb64 < 64)
        return 0;
    if ((error = secrets_fp_begin(&f)) < 0)
        return error;
    /* the fingerprint is of the base64 alone, so that line endings and
     * JSON escaping do not change it */
    for (j = body; j < sc->sc_end_at; j++) {
        unsigned char c = (unsigned char)s[j];

        if (c == '\\') {
            j++;
            continue;
        }
        if (!(secrets_alnum(c) || c == '+' || c == '/' || c == '='))
            continue;
        chunk[nchunk++] = (char)c;
        if (nchunk == sizeof(chunk)) {
            if ((error = secrets_fp_update(&f, chunk, nchunk)) < 0)
                goto fail;
            nchunk = 0;
        }
    }
    if ((nchunk > 0 && (error = secrets_fp_update(&f, chunk, nchunk)) < 0) ||
        (error = secrets_fp_end(&f, fp)) < 0)
        goto fail;
    error = guard_report(sc->sc_fs, secrets_rules[SR_PRIVATE_KEY].r_id,
                         sc->sc_path, line, end_line,
                         "%.*s block (%s…) is in the file: treat the key as "
                         "compromised, replace it, and keep keys in a secret "
                         "store or mount them at run time",
                         (int)label_len, s + label, f.fp_red);
    if (error < 0 || (error = secrets_set_fingerprint(sc->sc_fs, fp)) < 0)
        return error;
    nl = memchr(s + after, '\n', sc->sc_len - after);
    *resume = nl != NULL ? (size_t)(nl - s) + 1 : sc->sc_len;
    *resume_line = end_line + 1;
    return 0;
fail:
    secrets_fp_abort(&f);
    return error;
}

/* ---- assignments ------------------------------------------------------ */

static double
secrets_entropy(const char *s, size_t n)
{
    unsigned counts[256] = {0};
    double h = 0;
    size_t i;

    for (i = 0; i < n; i++)
        counts[(unsigned char)s[i]]++;
    for (i = 0; i < 256; i++) {
        if (counts[i] > 0) {
            double p = (double)counts[i] / (double)n;

            h -= p * log2(p);
        }
    }
    return h;
}

static int
secrets_is_uuid(const char *s, size_t n)
{
    size_t i;

    if (n != 36)
        return 0;
    for (i = 0; i < n; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!secrets_digit((unsigned char)s[i]) &&
                   !(secrets_lower((unsigned char)s[i]) >= 'a' &&
                     secrets_lower((unsigned char)s[i]) <= 'f')) {
            return 0;
        }
    }
    return 1;
}

/* How much of s is made of words: Capitalised or lower-case runs of at
 * least minlen letters, and upper-case runs of three or more (PKCS,
 * HTTP). Identifiers and names are mostly words: with minlen 4, 97% of
 * the long identifiers of a large Python tree reach 0.7, and 0.6% of
 * random base62 strings do; with minlen 3 and 0.75, "google_oauth2_
 * credentials" and "sql-component.googleapis.com" are names. */
static double
secrets_wordy(const char *s, size_t n, size_t minlen)
{
    size_t i = 0, j, covered = 0;

#define SEC_UP(c) ((c) >= 'A' && (c) <= 'Z')
#define SEC_LO(c) ((c) >= 'a' && (c) <= 'z')
    while (i < n) {
        if (SEC_UP(s[i])) {
            for (j = i + 1; j < n && SEC_LO(s[j]); j++)
                ;
            if (j - i >= minlen) { /* Capitalised */
                covered += j - i;
                i = j;
                continue;
            }
            for (j = i; j < n && SEC_UP(s[j]); j++)
                ;
            if (j - i >= 3 && (j == n || !SEC_LO(s[j]))) {
                covered += j - i;
                i = j;
            } else if (j - i >= 4) { /* "HTTPServer": HTTP, then Server */
                covered += j - i - 1;
                i = j - 1;
            } else {
                i++;
            }
        } else if (SEC_LO(s[i])) {
            for (j = i; j < n && SEC_LO(s[j]); j++)
                ;
            if (j - i >= minlen)
                covered += j - i;
            i = j;
        } else {
            i++;
        }
    }
#undef SEC_UP
#undef SEC_LO
    return n > 0 ? (double)covered / (double)n : 0;
}

/* A bare (unquoted) value that is code or a name, not a literal:
 * os.environ["X"], getenv("X"), settings.SECRET_KEY, cf->cf_token,
 * SOME_CONSTANT, private_key_pkcs8, tokenProvider, my-secret-name. */
static int
secrets_bare_reference(const char *s, size_t n)
{
    size_t i;
    int digit = 0, upper = 0, lower = 0, other = 0, dots = 0, under = 0;
    int ident = 1, seg_start = 1;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '(' || c == '[' || c == '<' || c == '{')
            return 1;
        /* C's ptr->field and C++'s or Ruby's Scope::Name as a '.' */
        if (i + 1 < n &&
            ((c == '-' && s[i + 1] == '>') || (c == ':' && s[i + 1] == ':'))) {
            i++;
            c = '.';
        }
        digit |= secrets_digit(c);
        upper |= c >= 'A' && c <= 'Z';
        lower |= c >= 'a' && c <= 'z';
        under |= c == '_';
        if (c == '.') {
            dots++;
            if (seg_start)
                ident = 0;
            seg_start = 1;
            continue;
        }
        if (!secrets_word(c))
            other = 1;
        if (!secrets_word(c) || (seg_start && secrets_digit(c)))
            ident = 0;
        seg_start = 0;
    }
    /* a dotted path of identifiers (a JWT starts "eyJ" and is no path) */
    if (ident && dots > 0 && !seg_start && !secrets_iprefix(s, n, "eyj"))
        return 1;
    /* letters only: an identifier, or words joined by - _ . */
    if (!digit && !other)
        return 1;
    /* snake_case or CONSTANT_CASE: a name (keys mix cases) */
    if (ident && under && !(upper && lower))
        return 1;
    return secrets_wordy(s, n, 4) >= 0.7;
}

/* Is this value, assigned to a credential name, a plausible secret? */
static int
secrets_value_secret(const char *s, size_t n, int quoted)
{
    static const char *const not_secret[] = {
        "sha1:",   "sha256:", "sha384:", "sha512:", "sha1-",
        "sha256-", "sha384-", "sha512-", "md5:",    "h1:",
        "data:",   "$",       "%(",      "./",      "../",
        "~/",      "arn:",    "vault:",  "ref+",    "secretref:"};
    size_t i;

    if (n < 16 || n > 4096)
        return 0;
    for (i = 0; i < sizeof(not_secret) / sizeof(*not_secret); i++)
        if (secrets_iprefix(s, n, not_secret[i]))
            return 0;
    if (secrets_placeholder(s, n) || secrets_is_uuid(s, n))
        return 0;
    if (s[0] == '<' && s[n - 1] == '>')
        return 0;
    /* endpoints and paths, not credentials (credentials inside URLs are
     * another rule's business) */
    if (memmem(s, n, "://", 3) != NULL && memchr(s, '@', n) == NULL)
        return 0;
    if (s[0] == '/') {
        for (i = 1; i < n; i++)
            if (s[i] == '.' || !((s[i] >= 'a' && s[i] <= 'z') ||
                                 secrets_digit((unsigned char)s[i]) ||
                                 s[i] == '/' || s[i] == '_' || s[i] == '-'))
                break;
        if (i == n || s[i] == '.')
            return 0;
    }
    if (!quoted && secrets_bare_reference(s, n))
        return 0;
    /* a phrase, or a quoted name: "begin of block", 'sql.googleapis.com',
     * "GOOGLE_APPLICATION_CREDENTIALS" */
    if (quoted) {
        if (memchr(s, ' ', n) != NULL)
            return 0;
        int sep = 0;

        for (i = 0; i < n; i++) {
            if (!secrets_alnum((unsigned char)s[i]) && s[i] != '_' &&
                s[i] != '.' && s[i] != '-' && s[i] != '/')
                break;
            sep |= !secrets_alnum((unsigned char)s[i]);
        }
        if (i == n && (secrets_wordy(s, n, 4) >= 0.7 ||
                       (sep && secrets_wordy(s, n, 3) >= 0.75)))
            return 0;
        /* a regular expression or a type: "(?P<v>.+)", "list[V1Ref]" */
        if (memmem(s, n, "(?", 2) != NULL || memmem(s, n, ".+", 2) != NULL ||
            memmem(s, n, ".*", 2) != NULL)
            return 0;
        for (i = 0; i < n && secrets_word((unsigned char)s[i]); i++)
            ;
        if (i > 0 && i < n && (s[i] == '[' || s[i] == '(') &&
            s[n - 1] == (s[i] == '[' ? ']' : ')'))
            return 0;
    }
    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20)
            return 0;
    return secrets_entropy(s, n) >= 3.5;
}

static int
secrets_aws_secret_name(const char *k, size_t n)
{
    char c[64];
    size_t i, m = 0;

    for (i = 0; i < n && m + 1 < sizeof(c); i++)
        if (secrets_alnum((unsigned char)k[i]))
            c[m++] = (char)secrets_lower((unsigned char)k[i]);
    c[m] = '\0';
    return strstr(c, "secretaccesskey") != NULL ||
           strstr(c, "awssecret") != NULL;
}

static int
secrets_aws_secret_value(const char *s, size_t n)
{
    size_t i;

    if (n != 40)
        return 0;
    for (i = 0; i < n; i++)
        if (!secrets_alnum((unsigned char)s[i]) && s[i] != '/' && s[i] != '+')
            return 0;
    return 1;
}

struct sec_spans {
    size_t sp_start[8], sp_end[8];
    size_t sp_n;
};

static int
secrets_overlaps(const struct sec_spans *sp, size_t a, size_t b)
{
    size_t i;

    for (i = 0; i < sp->sp_n; i++)
        if (a < sp->sp_end[i] && sp->sp_start[i] < b)
            return 1;
    return 0;
}

/* The assignment operator at s[p] ('=' or ':'): its length, or 0 for a
 * comparison, a scope operator or a time of day. */
static size_t
secrets_assign_op(const char *s, size_t p, size_t begin, size_t end)
{
    char prev = p > begin ? s[p - 1] : '\0';
    char next = p + 1 < end ? s[p + 1] : '\0';

    if (s[p] == '=') {
        if (prev == '=' || prev == '!' || prev == '<' || prev == '>' ||
            prev == ':' || next == '=' || next == '~')
            return 0;
        return next == '>' ? 2 : 1; /* "=>" */
    }
    if (prev == ':' || next == ':')
        return 0;
    return next == '=' ? 2 : 1; /* ":=" */
}

/* One assignment at s[p]: key before it, value after it. */
static int
secrets_assignment(struct sec_scan *sc, const struct sec_spans *sp, size_t p,
                   size_t begin, size_t end, unsigned line)
{
    const char *s = sc->sc_data;
    size_t op, ks, ke, vs, ve, k;
    int quoted = 0, is_name;
    struct sec_match m;

    if ((op = secrets_assign_op(s, p, begin, end)) == 0)
        return 0;
    k = p;
    while (k > begin && (s[k - 1] == ' ' || s[k - 1] == '\t'))
        k--;
    if (k > begin && (s[k - 1] == '"' || s[k - 1] == '\''))
        k--;
    ke = k;
    while (k > begin && ke - k < 64 &&
           (secrets_word((unsigned char)s[k - 1]) || s[k - 1] == '.' ||
            s[k - 1] == '-'))
        k--;
    ks = k;
    if (ks == ke)
        return 0;
    is_name = ke - ks == 4 && memcmp(s + ks, "name", 4) == 0;
    if (ke - ks == 5 && memcmp(s + ks, "value", 5) == 0 &&
        sc->sc_pend_line != 0 && sc->sc_pend_line + 1 == line) {
        /* "- name: DB_PASSWORD" then "value: ...": the name is the key */
        ks = sc->sc_pend_key;
        ke = ks + sc->sc_pend_len;
    } else if (!is_name && !guard_secrets_key(s + ks, ke - ks)) {
        return 0;
    }
    vs = p + op;
    while (vs < end && (s[vs] == ' ' || s[vs] == '\t'))
        vs++;
    /* Python's b"..." r"..." f"..." */
    if (vs + 1 < end && strchr("bBrRuUfF", s[vs]) != NULL &&
        (s[vs + 1] == '"' || s[vs + 1] == '\''))
        vs++;
    if (vs >= end)
        return 0;
    if (s[vs] == '"' || s[vs] == '\'' || s[vs] == '`') {
        char q = s[vs];
        size_t lim = end - vs > 4097 ? vs + 4097 : end;

        quoted = 1;
        for (ve = vs + 1; ve < lim && s[ve] != q; ve++)
            if (s[ve] == '\\' && q != '\'')
                ve++;
        if (ve >= lim)
            return 0; /* a multi-line string: not judged */
        vs++;
        /* text with escaped line breaks is a document, not a credential
         * (a key block in JSON is the private-key rule's) */
        for (k = vs; k + 1 < ve; k++)
            if (s[k] == '\\' && (s[k + 1] == 'n' || s[k + 1] == 'r'))
                return 0;
    } else {
        for (ve = vs; ve < end && ve - vs <= 4096; ve++) {
            char c = s[ve];

            if (c == ' ' || c == '\t' || c == ',' || c == ';' || c == ')' ||
                c == '}' || c == ']' || c == '"' || c == '\'' || c == '`' ||
                c == '&')
                break;
            /* inside a string literal: "github_secret: x\ngithub_..." */
            if (c == '\\' && ve + 1 < end &&
                (s[ve + 1] == 'n' || s[ve + 1] == 'r' || s[ve + 1] == 't'))
                break;
        }
    }
    if (is_name) {
        if (guard_secrets_key(s + vs, ve - vs)) {
            sc->sc_pend_key = vs;
            sc->sc_pend_len = ve - vs;
            sc->sc_pend_line = line;
        }
        return 0;
    }
    if (secrets_overlaps(sp, vs, ve) ||
        !secrets_value_secret(s + vs, ve - vs, quoted))
        return 0;
    m.sm_rule = secrets_aws_secret_name(s + ks, ke - ks) &&
                        secrets_aws_secret_value(s + vs, ve - vs)
                    ? SR_AWS_SECRET
                    : SR_GENERIC;
    m.sm_start = m.sm_sec = vs;
    m.sm_end = ve;
    m.sm_seclen = ve - vs;
    return secrets_report(sc, &m, line, s + ks, ke - ks, ve - vs);
}

/* The fixed-format matchers at s[i], or 0. */
static int
secrets_match_at(const char *s, size_t i, size_t begin, size_t end,
                 struct sec_match *m)
{
    switch (s[i]) {
    case 'A':
        return secrets_aws_key(s, i, begin, end, m);
    case 'g':
        return secrets_github(s, i, begin, end, m);
    case 'x':
        return secrets_slack(s, i, begin, end, m);
    case 'h':
        return secrets_slack_hook(s, i, end, m);
    default:
        return 0;
    }
}

/* 1: a matcher starts with this byte; 2: an assignment; 3: a PEM header */
static const unsigned char sec_first[256] = {
    ['A'] = 1, ['g'] = 1, ['x'] = 1, ['h'] = 1, ['='] = 2, [':'] = 2, ['-'] = 3,
};

/* One line [begin, end) (no newline). *resume is where the next line
 * starts unless a private-key block moved it. */
static int
secrets_line(struct sec_scan *sc, size_t begin, size_t end, unsigned line,
             size_t *resume, unsigned *resume_line)
{
    const char *s = sc->sc_data;
    struct sec_spans sp;
    struct sec_match m;
    size_t i, ops[32], nops = 0, rescan = end;
    int error;

    sp.sp_n = 0;
    for (i = begin; i < end; i++) {
        switch (sec_first[(unsigned char)s[i]]) {
        case 0:
            continue;
        case 2:
            /* remembered for the second pass; past 32 it scans again */
            if (nops < 32)
                ops[nops++] = i;
            else if (rescan == end)
                rescan = i;
            continue;
        case 3:
            if (end - i > 16 && s[i + 1] == '-' &&
                memcmp(s + i, "-----BEGIN ", 11) == 0) {
                size_t before = *resume;

                if ((error = secrets_private_key(sc, i, end, line, resume,
                                                 resume_line)) < 0)
                    return error;
                if (*resume != before)
                    return 0;
            }
            continue;
        default:
            break;
        }
        if (!secrets_match_at(s, i, begin, end, &m))
            continue;
        if ((error = secrets_report(sc, &m, line, NULL, 0, m.sm_seclen)) < 0)
            return error;
        if (sp.sp_n < 8) {
            sp.sp_start[sp.sp_n] = m.sm_start;
            sp.sp_end[sp.sp_n++] = m.sm_end;
        }
        i = m.sm_end - 1;
    }
    for (i = 0; i < nops; i++)
        if ((error = secrets_assignment(sc, &sp, ops[i], begin, end, line)) < 0)
            return error;
    for (i = rescan; i < end; i++)
        if ((s[i] == '=' || s[i] == ':') &&
            (error = secrets_assignment(sc, &sp, i, begin, end, line)) < 0)
            return error;
    return 0;
}

int
guard_secrets_scan(struct paved_findings *fs, const char *path,
                   const char *data, size_t len, unsigned first_line)
{
    struct sec_scan sc;
    size_t pos = 0, next, end;
    unsigned line = first_line > 0 ? first_line : 1, next_line;
    const char *nl;
    int error;

    if (data == NULL || len == 0)
        return 0;
    if (memchr(data, '\0', len < 8192 ? len : 8192) != NULL)
        return 0; /* binary */
    memset(&sc, 0, sizeof(sc));
    sc.sc_fs = fs;
    sc.sc_path = path;
    sc.sc_data = data;
    sc.sc_len = len;
    while (pos < len) {
        nl = memchr(data + pos, '\n', len - pos);
        end = nl != NULL ? (size_t)(nl - data) : len;
        next = nl != NULL ? end + 1 : len;
        next_line = line + 1;
        if (end > pos && data[end - 1] == '\r')
            end--;
        if ((error = secrets_line(&sc, pos, end, line, &next, &next_line)) < 0)
            return error;
        pos = next;
        line = next_line;
    }
    return 0;
}

const char *
guard_secrets_find(const char *s, size_t len)
{
    struct sec_match m;
    size_t i, label, label_len;

    for (i = 0; i < len; i++) {
        if (sec_first[(unsigned char)s[i]] == 1 &&
            secrets_match_at(s, i, 0, len, &m))
            return secrets_rules[m.sm_rule].r_id;
        if (s[i] == '-' &&
            secrets_pem_header(s, i, len, "BEGIN ", &label, &label_len) != 0)
            return secrets_rules[SR_PRIVATE_KEY].r_id;
    }
    return NULL;
}
