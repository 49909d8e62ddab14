/* GitHub App authentication: the RS256 App JWT (OpenSSL EVP), the
 * requests made with it (which installation holds a repository, the token
 * exchange), and the installation token cache. Never does I/O,
 * never reads the clock, never logs, and never puts key or token bytes
 * into an error message; every copy of a token or key it makes is
 * cleansed before it is freed. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "paved/error.h"
#include "paved/forgeapi.h"
#include "paved/ghapp.h"
#include "paved/jscan.h"

#include "report/forgeapi_int.h"

/* GitHub's rule for the App JWT ("Generating a JSON Web Token (JWT) for a
 * GitHub App", docs.github.com/en/apps/creating-github-apps/
 * authenticating-with-a-github-app/generating-a-json-web-token-jwt-for-a-
 * github-app): signed RS256; "iat ... To protect against clock drift, we
 * recommend that you set this 60 seconds in the past"; "exp ... The time
 * must be no more than 10 minutes into the future". We issue at now - 60
 * and expire at now + 540: exp - iat is exactly 600 s, and a clock up to
 * 60 s ahead of GitHub's still lands exp within GitHub's 10 minutes. */
#define GHAPP_JWT_BACKDATE 60
#define GHAPP_JWT_LIFETIME 540

/* a PEM RSA key of 8192 bits is under 7 KiB; anything far larger is not a
 * key file */
#define GHAPP_PEM_MAX (64 * 1024)
#define GHAPP_APP_ID_MAX 64
#define GHAPP_URL_MAX 2048
/* Classic installation tokens are 40 characters, but GitHub is rolling out
 * a stateless format (ghs_APPID_JWT) that is much longer; leave room, yet
 * stay well under what HTTP servers take in one header line. */
#define GHAPP_TOKEN_MAX 8192
/* installations cached at once: one per organisation or user */
#define GHAPP_CACHE_MAX 65536
/* the answer lists repositories and permissions; bound what we scan */
#define GHAPP_ANSWER_MAX (16 * 1024 * 1024)

/* base64url('{"alg":"RS256","typ":"JWT"}'): the header never changes */
static const char ghapp_jwt_header[] = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9";

struct ghapp_token {
    int64_t gt_installation;
    char *gt_token; /* NUL-terminated, cleansed before free */
    size_t gt_len;
    int64_t gt_expires; /* unix seconds */
};

struct paved_ghapp {
    char gh_app_id[GHAPP_APP_ID_MAX + 1];
    EVP_PKEY *gh_key;
    struct ghapp_token *gh_tokens;
    size_t gh_ntokens;
    size_t gh_cap;
};

static void
ghapp_token_clear(struct ghapp_token *t)
{
    if (t->gt_token != NULL) {
        explicit_bzero(t->gt_token, t->gt_len);
        free(t->gt_token);
    }
    t->gt_token = NULL;
    t->gt_len = 0;
}

static struct ghapp_token *
ghapp_token_find(const paved_ghapp *a, int64_t installation_id)
{
    size_t i;

    for (i = 0; i < a->gh_ntokens; i++)
        if (a->gh_tokens[i].gt_installation == installation_id)
            return &a->gh_tokens[i];
    return NULL;
}

static int
ghapp_app_id_valid(const char *s)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++) {
        char c = s[i];

        if (i >= GHAPP_APP_ID_MAX)
            return 0;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return i > 0;
}

/* An encrypted key would make OpenSSL ask for a passphrase on the
 * terminal; the daemon has none to give, so refuse instead of prompting. */
static int
ghapp_no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

/* A key pasted into an environment variable often has its line breaks
 * written as backslash-n. Returns a malloc'd copy with real newlines in
 * *out (the caller cleanses it), or leaves *out NULL when pem has real
 * line breaks already or no "\n" escapes. */
static int
ghapp_unescape_pem(char **out, size_t *outlen, const char *pem, size_t len)
{
    size_t i, j;
    char *s;

    *out = NULL;
    if (memchr(pem, '\n', len) != NULL)
        return 0;
    for (i = 0; i + 1 < len; i++)
        if (pem[i] == '\\' && pem[i + 1] == 'n')
            break;
    if (i + 1 >= len)
        return 0;
    if ((s = malloc(len + 1)) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    for (i = 0, j = 0; i < len; i++) {
        if (pem[i] == '\\' && i + 1 < len && pem[i + 1] == 'n') {
            s[j++] = '\n';
            i++;
        } else {
            s[j++] = pem[i];
        }
    }
    s[j] = '\0';
    *out = s;
    *outlen = j;
    return 0;
}

/* Why OpenSSL found no private key, from the first PEM label (header
 * text, never key bytes): its own reason is mostly "unsupported". */
static int
ghapp_key_unreadable(const char *pem, size_t len)
{
    const char *p = memmem(pem, len, "-----BEGIN ", 11), *end = pem + len;
    char label[41];
    size_t n = 0;

    for (p += 11; p < end && n + 1 < sizeof(label) &&
                  ((*p >= 'A' && *p <= 'Z') || *p == ' ');
         p++)
        label[n++] = *p;
    label[n] = '\0';
    if (strcmp(label, "PRIVATE KEY") == 0 ||
        strcmp(label, "RSA PRIVATE KEY") == 0)
        return paved_error_set(PAVED_EINVAL,
                               "github app key: the \"%s\" PEM block is "
                               "damaged or cut short",
                               label);
    if (strstr(label, "PUBLIC KEY") != NULL)
        return paved_error_set(PAVED_EINVAL,
                               "github app key is a public key: give the "
                               "private key GitHub generated for the App");
    return paved_error_set(PAVED_EINVAL,
                           "github app key: a \"%s\" PEM block is not a "
                           "private key",
                           label);
}

static int
ghapp_load_key(EVP_PKEY **out, const char *pem, size_t len)
{
    EVP_PKEY *pkey = NULL;
    BIO *bio = NULL;
    char *copy = NULL;
    size_t copylen = 0;
    int error, bits;

    *out = NULL;
    if ((error = ghapp_unescape_pem(&copy, &copylen, pem, len)) < 0)
        return error;
    if (copy != NULL) {
        pem = copy;
        len = copylen;
    }
    if (memmem(pem, len, "-----BEGIN ", 11) == NULL) {
        error = paved_error_set(PAVED_EINVAL,
                                "github app key is not PEM (no -----BEGIN "
                                "line): give the .pem file GitHub generated");
        goto out;
    }
    if (memmem(pem, len, "ENCRYPTED", 9) != NULL) {
        error = paved_error_set(PAVED_EINVAL,
                                "github app key is encrypted: paved needs "
                                "it without a passphrase");
        goto out;
    }
    if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    ERR_clear_error();
    pkey = PEM_read_bio_PrivateKey(bio, NULL, ghapp_no_passphrase, NULL);
    if (pkey == NULL) {
        error = ghapp_key_unreadable(pem, len);
        goto out;
    }
    if (EVP_PKEY_base_id(pkey) != EVP_PKEY_RSA) {
        error = paved_error_set(PAVED_EINVAL,
                                "github app key is not an RSA key (GitHub "
                                "App keys are RSA, signed RS256)");
        goto out;
    }
    if ((bits = EVP_PKEY_bits(pkey)) < 2048) {
        error = paved_error_set(PAVED_EINVAL,
                                "github app key has %d bits; GitHub App keys "
                                "have at least 2048",
                                bits);
        goto out;
    }
    *out = pkey;
    pkey = NULL;
    error = 0;
out:
    ERR_clear_error();
    EVP_PKEY_free(pkey);
    BIO_free(bio);
    if (copy != NULL) {
        explicit_bzero(copy, copylen);
        free(copy);
    }
    return error;
}

int
paved_ghapp_new(paved_ghapp **out, const char *app_id, const char *pem,
                size_t pem_len)
{
    paved_ghapp *a = NULL;
    int error;

    *out = NULL;
    if (app_id == NULL || !ghapp_app_id_valid(app_id))
        return paved_error_set(PAVED_EINVAL,
                               "github app id must be 1 to %d letters, "
                               "digits, '.', '_' or '-'",
                               GHAPP_APP_ID_MAX);
    if (pem == NULL || pem_len == 0)
        return paved_error_set(PAVED_EINVAL, "github app key is empty");
    if (pem_len > GHAPP_PEM_MAX)
        return paved_error_set(PAVED_EINVAL,
                               "github app key is %zu bytes: not a PEM key "
                               "file (at most %d)",
                               pem_len, GHAPP_PEM_MAX);
    if ((a = calloc(1, sizeof(*a))) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    memcpy(a->gh_app_id, app_id, strlen(app_id) + 1);
    if ((error = ghapp_load_key(&a->gh_key, pem, pem_len)) < 0)
        goto out;
    *out = a;
    a = NULL;
out:
    paved_ghapp_free(a);
    return error;
}

void
paved_ghapp_free(paved_ghapp *a)
{
    size_t i;

    if (a == NULL)
        return;
    for (i = 0; i < a->gh_ntokens; i++)
        ghapp_token_clear(&a->gh_tokens[i]);
    free(a->gh_tokens);
    EVP_PKEY_free(a->gh_key); /* OpenSSL cleanses the key's bignums */
    free(a);
}

/* RFC 7515 base64url without padding of in[0..len) into out, which holds
 * at least 4 * ceil(len / 3) + 1 bytes; returns the length written. */
static size_t
ghapp_b64url(char *out, const unsigned char *in, size_t len)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                              "abcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t i, o = 0;

    for (i = 0; i + 2 < len; i += 3) {
        uint32_t v =
            (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = tab[v >> 6 & 63];
        out[o++] = tab[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;

        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;

        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = tab[v >> 6 & 63];
    }
    out[o] = '\0';
    return o;
}

int
paved_ghapp_jwt(char **out, const paved_ghapp *a, int64_t now_secs)
{
    /* {"iat":…,"exp":…,"iss":"<64>"}: well under 160 bytes */
    char payload[160];
    unsigned char *sig = NULL;
    EVP_MD_CTX *md = NULL;
    char *jwt = NULL;
    size_t plen, siglen, hlen, cap, o;
    int n, error;

    *out = NULL;
    if (now_secs < GHAPP_JWT_BACKDATE ||
        now_secs > INT64_MAX - GHAPP_JWT_LIFETIME)
        return paved_error_set(PAVED_EINVAL, "github app jwt: bad clock %lld",
                               (long long)now_secs);
    n = snprintf(payload, sizeof(payload),
                 "{\"iat\":%lld,\"exp\":%lld,\"iss\":\"%s\"}",
                 (long long)(now_secs - GHAPP_JWT_BACKDATE),
                 (long long)(now_secs + GHAPP_JWT_LIFETIME), a->gh_app_id);
    if (n < 0 || (size_t)n >= sizeof(payload))
        return paved_error_set(PAVED_ERROR, "github app jwt: payload too long");
    plen = (size_t)n;

    siglen = (size_t)EVP_PKEY_size(a->gh_key);
    hlen = sizeof(ghapp_jwt_header) - 1;
    /* header "." payload "." signature, each base64url, and a NUL */
    cap = hlen + 1 + 4 * ((plen + 2) / 3) + 1 + 4 * ((siglen + 2) / 3) + 1;
    if ((jwt = malloc(cap)) == NULL || (sig = malloc(siglen)) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    memcpy(jwt, ghapp_jwt_header, hlen);
    o = hlen;
    jwt[o++] = '.';
    o += ghapp_b64url(jwt + o, (const unsigned char *)payload, plen);

    /* RS256 is RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 section 3.3):
     * OpenSSL's default padding for an RSA key */
    ERR_clear_error();
    if ((md = EVP_MD_CTX_new()) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, a->gh_key) != 1 ||
        EVP_DigestSign(md, sig, &siglen, (const unsigned char *)jwt, o) != 1) {
        const char *why = ERR_reason_error_string(ERR_peek_last_error());

        error = paved_error_set(PAVED_ERROR,
                                "github app jwt: signing "
                                "failed (%s)",
                                why != NULL ? why : "unknown reason");
        goto out;
    }
    jwt[o++] = '.';
    o += ghapp_b64url(jwt + o, sig, siglen);
    *out = jwt;
    jwt = NULL;
    error = 0;
out:
    ERR_clear_error();
    EVP_MD_CTX_free(md);
    free(sig);
    free(jwt);
    return error;
}

/* A request to GitHub's App API authenticated with the App's JWT:
 * {api_url}{path} (api_url's trailing slashes ignored), the headers
 * forgeapi.h's check runs use minus Content-Type, and body (NULL: none). */
static int
ghapp_app_request(struct paved_http_request *out, const paved_ghapp *a,
                  const char *method, const char *api_url, const char *path,
                  const char *body, int64_t now_secs)
{
    struct paved_http_request r = {0};
    char *jwt = NULL;
    size_t ulen, plen, need;
    int error;

    if (api_url == NULL)
        return paved_error_set(PAVED_EINVAL, "github api url is empty");
    ulen = strlen(api_url);
    while (ulen > 0 && api_url[ulen - 1] == '/')
        ulen--;
    if (ulen == 0)
        return paved_error_set(PAVED_EINVAL, "github api url is empty");
    if (ulen > GHAPP_URL_MAX)
        return paved_error_set(PAVED_EINVAL, "github api url is over %d bytes",
                               GHAPP_URL_MAX);
    if ((error = paved_ghapp_jwt(&jwt, a, now_secs)) < 0)
        return error;

    plen = strlen(path);
    need = ulen + plen + 1;
    if ((r.hr_method = strdup(method)) == NULL ||
        (r.hr_url = malloc(need)) == NULL ||
        (body != NULL && (r.hr_body = strdup(body)) == NULL) ||
        (r.hr_headers = calloc(4, sizeof(*r.hr_headers))) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    memcpy(r.hr_url, api_url, ulen);
    memcpy(r.hr_url + ulen, path, plen + 1);
    if ((error = forgeapi_header(&r.hr_headers[0], "Accept",
                                 "application/vnd.github+json", "")) < 0)
        goto out;
    r.hr_nheaders = 1;
    if ((error = forgeapi_header(&r.hr_headers[1], "Authorization", "Bearer ",
                                 jwt)) < 0)
        goto out;
    r.hr_nheaders = 2;
    if ((error = forgeapi_header(&r.hr_headers[2], "User-Agent", "paved", "")) <
        0)
        goto out;
    r.hr_nheaders = 3;
    if ((error = forgeapi_header(&r.hr_headers[3], "X-GitHub-Api-Version",
                                 "2022-11-28", "")) < 0)
        goto out;
    r.hr_nheaders = 4;
    r.hr_body_len = body != NULL ? strlen(body) : 0;
    *out = r;
    memset(&r, 0, sizeof(r));
out:
    if (jwt != NULL) {
        explicit_bzero(jwt, strlen(jwt));
        free(jwt);
    }
    paved_http_request_dispose(&r); /* cleanses the Authorization line */
    return error;
}

int
paved_ghapp_token_request(struct paved_http_request *out, const paved_ghapp *a,
                          const char *api_url, int64_t installation_id,
                          int64_t now_secs)
{
    /* "/app/installations/" + at most 19 digits + "/access_tokens" */
    char path[64];
    int n;

    if (installation_id < 1)
        return paved_error_set(PAVED_EINVAL,
                               "github app installation id %lld is not "
                               "positive",
                               (long long)installation_id);
    n = snprintf(path, sizeof(path), "/app/installations/%lld/access_tokens",
                 (long long)installation_id);
    if (n < 0 || (size_t)n >= sizeof(path))
        return paved_error_set(PAVED_ERROR, "installation id too long");
    return ghapp_app_request(out, a, "POST", api_url, path, "", now_secs);
}

int
paved_ghapp_installation_request(struct paved_http_request *out,
                                 const paved_ghapp *a, const char *api_url,
                                 const char *repo, int64_t now_secs)
{
    /* "/repos/{owner}/{repo}/installation"; forgeapi_repo_check() takes
     * at most 1024 bytes of repository */
    char path[1024 + 32];
    size_t slash;
    int n;

    /* the segments are unreserved characters: the path needs no
     * percent-encoding */
    if (repo == NULL ||
        !forgeapi_repo_check(repo, PAVED_FORGEAPI_GITHUB, &slash))
        return paved_error_set(PAVED_EINVAL,
                               "repository must be \"owner/name\" of "
                               "letters, digits, '.', '_' and '-'");
    n = snprintf(path, sizeof(path), "/repos/%s/installation", repo);
    if (n < 0 || (size_t)n >= sizeof(path))
        return paved_error_set(PAVED_EINVAL, "repository name too long");
    return ghapp_app_request(out, a, "GET", api_url, path, NULL, now_secs);
}

int
paved_ghapp_token_cached(const char **token, paved_ghapp *a,
                         int64_t installation_id, int64_t now_secs)
{
    const struct ghapp_token *t;

    *token = NULL;
    if ((t = ghapp_token_find(a, installation_id)) == NULL ||
        t->gt_token == NULL)
        return 0;
    /* gt_expires is at least a day before 1970 (parse_time), so this
     * cannot overflow for any now_secs */
    if (now_secs > t->gt_expires - PAVED_GHAPP_TOKEN_MARGIN)
        return 0;
    *token = t->gt_token;
    return 1;
}

static int
ghapp_digits(int *out, const char *s, size_t n)
{
    size_t i;
    int v = 0;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int
ghapp_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* RFC 3339 section 5.6 date-time: full-date "T" full-time, with
 * time-secfrac and time-offset ("Z" or +hh:mm / -hh:mm). Fixed widths, so
 * no strtol and no locale. */
int
paved_ghapp_parse_time(int64_t *out, const char *s, size_t len)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
    struct tm tm;
    size_t i;
    time_t t;

    *out = 0;
    if (len < 20 || s[4] != '-' || s[7] != '-' ||
        (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':' ||
        ghapp_digits(&y, s, 4) < 0 || ghapp_digits(&mo, s + 5, 2) < 0 ||
        ghapp_digits(&d, s + 8, 2) < 0 || ghapp_digits(&h, s + 11, 2) < 0 ||
        ghapp_digits(&mi, s + 14, 2) < 0 || ghapp_digits(&sec, s + 17, 2) < 0)
        goto bad;
    /* nothing paved reads predates the epoch; it also keeps timegm's -1
     * unambiguous */
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 ||
        d > mdays[mo - 1] + (mo == 2 && ghapp_leap(y)) || h > 23 || mi > 59 ||
        sec > 60) /* 60: a leap second */
        goto bad;
    i = 19;
    if (s[i] == '.') {
        size_t f = ++i;

        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == f)
            goto bad;
    }
    if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i < len && (s[i] == '+' || s[i] == '-')) {
        sign = s[i] == '-' ? -1 : 1;
        if (len - i < 6 || s[i + 3] != ':' ||
            ghapp_digits(&oh, s + i + 1, 2) < 0 ||
            ghapp_digits(&om, s + i + 4, 2) < 0 || oh > 23 || om > 59)
            goto bad;
        i += 6;
    } else {
        goto bad;
    }
    if (i != len)
        goto bad;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    if ((t = timegm(&tm)) == (time_t)-1)
        goto bad;
    /* the offset says how far local time is ahead of UTC */
    *out = (int64_t)t - sign * (int64_t)(oh * 3600 + om * 60);
    return 0;
bad:
    return paved_error_set(PAVED_EINVAL, "not an RFC 3339 date-time");
}

/* A token goes into "Authorization: token <t>": printable ASCII without
 * spaces, so it can neither split nor extend the header line. */
static int
ghapp_token_valid(const char *t, size_t len)
{
    size_t i;

    if (len == 0 || len > GHAPP_TOKEN_MAX)
        return 0;
    for (i = 0; i < len; i++)
        if ((unsigned char)t[i] < 0x21 || (unsigned char)t[i] > 0x7e)
            return 0;
    return 1;
}

int
paved_ghapp_token_store(paved_ghapp *a, int64_t installation_id,
                        const char *json, size_t len)
{
    struct paved_jscan_field f[] = {{.jf_path = "token"},
                                    {.jf_path = "expires_at"}};
    struct ghapp_token *t;
    char *tok = NULL;
    size_t toklen = 0;
    int64_t expires;
    int error;

    if (installation_id < 1)
        return paved_error_set(PAVED_EINVAL,
                               "github app installation id %lld is not "
                               "positive",
                               (long long)installation_id);
    if (json == NULL || len > GHAPP_ANSWER_MAX)
        return paved_error_set(PAVED_EINVAL,
                               "github token answer: empty or over %d bytes",
                               GHAPP_ANSWER_MAX);
    if ((error = paved_jscan((const unsigned char *)json, len, f, 2)) < 0) {
        char why[256];

        /* jscan says "byte N: what", never the bytes themselves */
        snprintf(why, sizeof(why), "%s", paved_error_last());
        return paved_error_set(PAVED_EINVAL,
                               "github token answer is not JSON: %s", why);
    }
    if (f[0].jf_type != PAVED_JSON_STRING)
        return paved_error_set(PAVED_EINVAL,
                               "github token answer has no \"token\" string");
    if (f[1].jf_type != PAVED_JSON_STRING ||
        paved_ghapp_parse_time(&expires, (const char *)f[1].jf_start,
                               f[1].jf_len) < 0)
        return paved_error_set(PAVED_EINVAL,
                               "github token answer has no RFC 3339 "
                               "\"expires_at\"");
    if (!f[0].jf_escaped) {
        /* the common case: copy the bytes once, straight from the answer */
        toklen = f[0].jf_len;
        if ((tok = malloc(toklen + 1)) == NULL)
            return paved_error_set(PAVED_ENOMEM, "out of memory");
        memcpy(tok, f[0].jf_start, toklen);
        tok[toklen] = '\0';
    } else if ((error = paved_jscan_string(&tok, &toklen, &f[0])) < 0) {
        return error; /* its message names the path, never the bytes */
    }
    if (!ghapp_token_valid(tok, toklen)) {
        error = paved_error_set(PAVED_EINVAL,
                                "github token answer: \"token\" is empty, "
                                "over %d bytes, or has bytes other than "
                                "printable ASCII",
                                GHAPP_TOKEN_MAX);
        goto out;
    }
    if ((t = ghapp_token_find(a, installation_id)) == NULL) {
        if (a->gh_ntokens == a->gh_cap) {
            size_t ncap = a->gh_cap ? a->gh_cap * 2 : 4;
            struct ghapp_token *nt;

            if (a->gh_ntokens >= GHAPP_CACHE_MAX) {
                error = paved_error_set(PAVED_ETOOBIG,
                                        "github app: over %d installations",
                                        GHAPP_CACHE_MAX);
                goto out;
            }
            if ((nt = realloc(a->gh_tokens, ncap * sizeof(*nt))) == NULL) {
                error = paved_error_set(PAVED_ENOMEM, "out of memory");
                goto out;
            }
            a->gh_tokens = nt;
            a->gh_cap = ncap;
        }
        t = &a->gh_tokens[a->gh_ntokens++];
        memset(t, 0, sizeof(*t));
        t->gt_installation = installation_id;
    }
    ghapp_token_clear(t);
    t->gt_token = tok;
    t->gt_len = toklen;
    t->gt_expires = expires;
    tok = NULL;
    error = 0;
out:
    if (tok != NULL) {
        explicit_bzero(tok, toklen);
        free(tok);
    }
    return error;
}

void
paved_ghapp_token_forget(paved_ghapp *a, int64_t installation_id)
{
    struct ghapp_token *t;

    if (a == NULL || (t = ghapp_token_find(a, installation_id)) == NULL)
        return;
    ghapp_token_clear(t);
    /* keep the array dense: the last entry takes this one's place */
    *t = a->gh_tokens[--a->gh_ntokens];
}
