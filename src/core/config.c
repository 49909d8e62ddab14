/* Configuration: the YAML file, read with libyaml's event API so that every
 * error names file:line:column, then PAVED_<KEY> environment overrides. One
 * table drives parsing, defaults, overrides, validation and the dump.
 * Never opens anything but the config file, never logs, and never puts a
 * secret's value into a message or the dump. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "paved/buf.h"
#include "paved/config.h"
#include "paved/text.h"
#include "paved/yamltext.h"
#include "paved/error.h"

#define CONFIG_MAX_FILE (1024 * 1024) /* a config is a page, not a dump */
#define CONFIG_MAX_KEY 128
#define CONFIG_MAX_PREFIXES 64

enum config_type {
    CT_STRING,
    CT_BOOL,
    CT_UINT,
    CT_DURATION,
    CT_SIZE,
    CT_STRLIST
};

/* Checks a string value; returns 0 or writes why it is wrong. */
typedef int (*config_check_fn)(const char *v, char *why, size_t whylen);

struct config_key {
    const char *ck_name;
    enum config_type ck_type;
    size_t ck_offset;
    const char *ck_default;
    bool ck_secret;
    unsigned long long ck_min; /* numeric types: smallest allowed value */
    config_check_fn ck_check;  /* strings: NULL or a validator */
};

static int check_listen(const char *v, char *why, size_t whylen);
static int check_store(const char *v, char *why, size_t whylen);
static int check_nonempty(const char *v, char *why, size_t whylen);
static int check_log_format(const char *v, char *why, size_t whylen);
static int check_log_level(const char *v, char *why, size_t whylen);
static int check_url(const char *v, char *why, size_t whylen);
static int check_url_or_empty(const char *v, char *why, size_t whylen);
static int check_keep_workspaces(const char *v, char *why, size_t whylen);
static int check_digits_or_empty(const char *v, char *why, size_t whylen);

#define KEY(name, type, def, secret, min, check)                               \
    {                                                                          \
#name, type, offsetof(struct paved_config, cf_##name), def, secret,    \
            min, check                                                         \
    }

/* Order is the order of the dump and of docs/configuration.md. */
static const struct config_key config_keys[] = {
    KEY(listen, CT_STRING, "127.0.0.1:8080", false, 0, check_listen),
    KEY(data_dir, CT_STRING, "var", false, 0, check_nonempty),
    KEY(store, CT_STRING, "sqlite", false, 0, check_store),
    KEY(store_max_size, CT_SIZE, "0", false, 0, NULL),
    KEY(store_batch, CT_UINT, "512", false, 1, NULL),
    KEY(max_body, CT_SIZE, "25MiB", false, 1, NULL),
    KEY(read_timeout, CT_DURATION, "10s", false, 1, NULL),
    KEY(request_timeout, CT_DURATION, "30s", false, 1, NULL),
    KEY(github_secret, CT_STRLIST, "", true, 0, NULL),
    KEY(github_allow_sha1, CT_BOOL, "false", false, 0, NULL),
    KEY(gitea_secret, CT_STRLIST, "", true, 0, NULL),
    KEY(gitlab_token, CT_STRLIST, "", true, 0, NULL),
    KEY(gitlab_signing_secret, CT_STRLIST, "", true, 0, NULL),
    KEY(gitlab_signature_tolerance, CT_DURATION, "5m", false, 0, NULL),
    KEY(log_format, CT_STRING, "text", false, 0, check_log_format),
    KEY(log_level, CT_STRING, "info", false, 0, check_log_level),
    KEY(api_token, CT_STRING, "", true, 0, NULL),
    KEY(public_url, CT_STRING, "", false, 0, check_url_or_empty),
    KEY(pipelines_dir, CT_STRING, "pipelines", false, 0, check_nonempty),
    KEY(environments_dir, CT_STRING, "config/environments", false, 0,
        check_nonempty),
    KEY(clone_url_template, CT_STRING, "", false, 0, NULL),
    KEY(github_api_url, CT_STRING, "https://api.github.com", false, 0,
        check_url),
    KEY(github_token, CT_STRING, "", true, 0, NULL),
    KEY(github_app_id, CT_STRING, "", false, 0, NULL),
    KEY(github_app_key, CT_STRING, "", true, 0, NULL),
    KEY(github_app_key_file, CT_STRING, "", false, 0, NULL),
    KEY(github_app_installation_id, CT_STRING, "", false, 0,
        check_digits_or_empty),
    KEY(max_runs, CT_UINT, "4", false, 1, NULL),
    KEY(max_runs_per_repo, CT_UINT, "2", false, 1, NULL),
    KEY(step_parallelism, CT_UINT, "0", false, 0, NULL),
    KEY(step_kill_grace, CT_DURATION, "5s", false, 0, NULL),
    KEY(retry_backoff, CT_DURATION, "1s", false, 0, NULL),
    KEY(keep_workspaces, CT_STRING, "never", false, 0, check_keep_workspaces),
    KEY(secrets_dir, CT_STRING, "", false, 0, NULL),
    KEY(git_token, CT_STRING, "", true, 0, NULL),
    KEY(git_ssh_key, CT_STRING, "", false, 0, NULL),
    KEY(gitea_api_url, CT_STRING, "", false, 0, check_url_or_empty),
    KEY(gitea_token, CT_STRING, "", true, 0, NULL),
    KEY(gitlab_api_url, CT_STRING, "", false, 0, check_url_or_empty),
    KEY(gitlab_api_token, CT_STRING, "", true, 0, NULL),
    KEY(report_timeout, CT_DURATION, "10s", false, 1, NULL),
    KEY(report_steps, CT_BOOL, "false", false, 0, NULL),
    KEY(templates_dir, CT_STRING, "templates", false, 0, check_nonempty),
    KEY(registry, CT_STRING, "registry.internal:5000", false, 0,
        check_nonempty),
    KEY(git_author_name, CT_STRING, "paved", false, 0, check_nonempty),
    KEY(git_author_email, CT_STRING, "paved@localhost", false, 0,
        check_nonempty),
};

#define CONFIG_NKEYS (sizeof(config_keys) / sizeof(config_keys[0]))

/* ---- value parsers ---------------------------------------------------- */

int
paved_parse_duration(unsigned *out_secs, const char *s)
{
    unsigned long long total = 0, n, mult;
    const char *p = s;
    char shown[64];
    size_t ulen;

    if (s == NULL || *s == '\0')
        return paved_error_set(PAVED_EINVAL, "empty duration (use 10s, 5m, "
                                             "1h or whole seconds)");
    if (*s == '-')
        return paved_error_set(PAVED_EINVAL,
                               "invalid duration %s: must not be negative",
                               paved_text_show(shown, sizeof(shown), s));
    while (*p != '\0') {
        if (!isdigit((unsigned char)*p))
            goto bad;
        for (n = 0; isdigit((unsigned char)*p); p++) {
            if (n > (ULLONG_MAX - 9) / 10)
                goto big;
            n = n * 10 + (unsigned long long)(*p - '0');
        }
        for (ulen = 0; isalpha((unsigned char)p[ulen]); ulen++)
            ;
        if (ulen == 0) {
            if (p != s + strspn(s, "0123456789")) /* "1h30" */
                goto bad;
            mult = 1; /* a plain integer is seconds */
        } else if (ulen == 2 && strncmp(p, "ms", 2) == 0) {
            if (n % 1000 != 0)
                return paved_error_set(
                    PAVED_EINVAL,
                    "invalid duration %s: the resolution is one second",
                    paved_text_show(shown, sizeof(shown), s));
            n /= 1000;
            mult = 1;
        } else if (ulen == 1 && *p == 's') {
            mult = 1;
        } else if (ulen == 1 && *p == 'm') {
            mult = 60;
        } else if (ulen == 1 && *p == 'h') {
            mult = 3600;
        } else if (ulen == 1 && *p == 'd') {
            mult = 86400;
        } else {
            goto bad;
        }
        p += ulen;
        if (n > UINT_MAX / mult || total > UINT_MAX - n * mult)
            goto big;
        total += n * mult;
    }
    *out_secs = (unsigned)total;
    return 0;
bad:
    return paved_error_set(PAVED_EINVAL,
                           "invalid duration %s (use 10s, 5m, 1h, 1h30m or "
                           "whole seconds)",
                           paved_text_show(shown, sizeof(shown), s));
big:
    return paved_error_set(PAVED_EINVAL,
                           "duration %s is too large (at most %u seconds)",
                           paved_text_show(shown, sizeof(shown), s), UINT_MAX);
}

int
paved_parse_size(size_t *out, const char *s)
{
    static const struct {
        const char *u;
        unsigned shift;
    } units[] = {
        {"", 0},     {"b", 0},   {"k", 10},   {"kb", 10},  {"kib", 10},
        {"m", 20},   {"mb", 20}, {"mib", 20}, {"g", 30},   {"gb", 30},
        {"gib", 30}, {"t", 40},  {"tb", 40},  {"tib", 40},
    };
    unsigned long long n = 0;
    const char *p = s;
    char shown[64];
    size_t i;

    if (s == NULL || *s == '\0')
        return paved_error_set(PAVED_EINVAL, "empty size (use bytes or a "
                                             "unit: 512KiB, 25MiB, 1GiB)");
    if (*s == '-')
        return paved_error_set(PAVED_EINVAL,
                               "invalid size %s: must not be negative",
                               paved_text_show(shown, sizeof(shown), s));
    if (!isdigit((unsigned char)*p))
        goto bad;
    for (; isdigit((unsigned char)*p); p++) {
        if (n > (ULLONG_MAX - 9) / 10)
            goto big;
        n = n * 10 + (unsigned long long)(*p - '0');
    }
    if (*p == ' ' && p[1] != '\0') /* "25 MiB" reads fine too */
        p++;
    for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcasecmp(p, units[i].u) != 0)
            continue;
        if (units[i].shift > 0 && n > (SIZE_MAX >> units[i].shift))
            goto big;
        if (n > SIZE_MAX)
            goto big;
        *out = (size_t)(n << units[i].shift);
        return 0;
    }
bad:
    return paved_error_set(PAVED_EINVAL,
                           "invalid size %s (use bytes or a whole number "
                           "with a unit: 512KiB, 25MiB, 1GiB)",
                           paved_text_show(shown, sizeof(shown), s));
big:
    return paved_error_set(PAVED_EINVAL, "size %s is too large",
                           paved_text_show(shown, sizeof(shown), s));
}

int
paved_parse_bool(int *out, const char *s)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    char shown[64];
    size_t i;

    for (i = 0; s != NULL && i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return paved_error_set(PAVED_EINVAL,
                           "invalid boolean %s (use true or false)",
                           paved_text_show(shown, sizeof(shown), s ? s : ""));
}

static int
config_parse_uint(unsigned *out, const char *s)
{
    unsigned long long n = 0;
    const char *p;
    char shown[64];

    if (*s == '\0')
        goto bad;
    for (p = s; *p != '\0'; p++) {
        if (!isdigit((unsigned char)*p))
            goto bad;
        n = n * 10 + (unsigned long long)(*p - '0');
        if (n > UINT_MAX)
            return paved_error_set(
                PAVED_EINVAL, "number %s is too large (at most %u)",
                paved_text_show(shown, sizeof(shown), s), UINT_MAX);
    }
    *out = (unsigned)n;
    return 0;
bad:
    return paved_error_set(PAVED_EINVAL,
                           "invalid number %s (use a whole number such as 512)",
                           paved_text_show(shown, sizeof(shown), s));
}

/* ---- validators ------------------------------------------------------- */

static int
check_port(const char *p, char *why, size_t whylen)
{
    unsigned long port = 0;
    size_t i;

    for (i = 0; p[i] != '\0'; i++) {
        if (!isdigit((unsigned char)p[i]) || i >= 5)
            goto bad;
        port = port * 10 + (unsigned long)(p[i] - '0');
    }
    if (i == 0 || port > 65535)
        goto bad;
    return 0;
bad:
    snprintf(why, whylen, "port must be a number from 0 to 65535");
    return -1;
}

static int
check_listen(const char *v, char *why, size_t whylen)
{
    const char *colon, *end, *h;

    if (v[0] == '[') {
        if ((end = strchr(v, ']')) == NULL || end == v + 1 || end[1] != ':')
            goto bad;
        for (h = v + 1; h < end; h++)
            if (!isxdigit((unsigned char)*h) && *h != ':' && *h != '.')
                goto bad;
        return check_port(end + 2, why, whylen);
    }
    if ((colon = strrchr(v, ':')) == NULL || colon == v)
        goto bad;
    if (memchr(v, ':', (size_t)(colon - v)) != NULL) {
        snprintf(why, whylen, "IPv6 addresses need brackets: [::1]:8080");
        return -1;
    }
    for (h = v; h < colon; h++)
        if (!isalnum((unsigned char)*h) && *h != '.' && *h != '-' && *h != '_')
            goto bad;
    return check_port(colon + 1, why, whylen);
bad:
    snprintf(why, whylen,
             "must be host:port, e.g. 127.0.0.1:8080, 0.0.0.0:8080 or "
             "[::1]:8080");
    return -1;
}

static int
check_store(const char *v, char *why, size_t whylen)
{
    size_t scheme;

    if (strcmp(v, "sqlite") == 0 || strncmp(v, "postgres://", 11) == 0 ||
        strncmp(v, "postgresql://", 13) == 0)
        return 0;
    /* print the scheme only: a mistyped URL still carries a password */
    scheme = strcspn(v, ":/@");
    snprintf(why, whylen,
             "unsupported store \"%.*s\" (use sqlite or a postgres:// URL)",
             (int)(scheme > 20 ? 20 : scheme), v);
    return -1;
}

static int
check_nonempty(const char *v, char *why, size_t whylen)
{
    if (v[0] != '\0')
        return 0;
    snprintf(why, whylen, "must not be empty");
    return -1;
}

static int
check_one_of(const char *v, const char *const *allowed, char *why,
             size_t whylen)
{
    char shown[64];
    size_t i;

    for (i = 0; allowed[i] != NULL; i++)
        if (strcmp(v, allowed[i]) == 0)
            return 0;
    snprintf(why, whylen, "invalid value %s (use %s",
             paved_text_show(shown, sizeof(shown), v), allowed[0]);
    for (i = 1; allowed[i] != NULL; i++) {
        size_t len = strlen(why);
        snprintf(why + len, whylen - len, "%s%s",
                 allowed[i + 1] == NULL ? " or " : ", ", allowed[i]);
    }
    if (strlen(why) + 1 < whylen)
        memcpy(why + strlen(why), ")", 2);
    return -1;
}

static int
check_log_format(const char *v, char *why, size_t whylen)
{
    static const char *const allowed[] = {"text", "json", NULL};

    return check_one_of(v, allowed, why, whylen);
}

static int
check_log_level(const char *v, char *why, size_t whylen)
{
    static const char *const allowed[] = {"debug", "info", "warn", "error",
                                          NULL};

    return check_one_of(v, allowed, why, whylen);
}

static int
check_keep_workspaces(const char *v, char *why, size_t whylen)
{
    static const char *const allowed[] = {"never", "failed", "always", NULL};

    return check_one_of(v, allowed, why, whylen);
}

/* an installation id: a positive integer, or empty for "look it up" */
static int
check_digits_or_empty(const char *v, char *why, size_t whylen)
{
    size_t n = strspn(v, "0123456789");

    if (v[0] == '\0' || (v[n] == '\0' && n <= 18 && v[0] != '0'))
        return 0;
    snprintf(why, whylen, "must be a positive integer (or empty)");
    return -1;
}

static int
check_url(const char *v, char *why, size_t whylen)
{
    if (strncmp(v, "http://", 7) == 0 || strncmp(v, "https://", 8) == 0)
        return 0;
    snprintf(why, whylen, "must be an http:// or https:// URL");
    return -1;
}

static int
check_url_or_empty(const char *v, char *why, size_t whylen)
{
    return v[0] == '\0' ? 0 : check_url(v, why, whylen);
}

/* ---- setting values --------------------------------------------------- */

static void
config_strlist_clear(struct paved_strlist *sl)
{
    size_t i;

    for (i = 0; i < sl->sl_n; i++)
        free(sl->sl_items[i]);
    free(sl->sl_items);
    sl->sl_items = NULL;
    sl->sl_n = 0;
}

static int
config_strlist_add(struct paved_strlist *sl, const char *s, size_t len)
{
    char **items;

    /* trim: "a, b" is the natural way to write two secrets */
    while (len > 0 && isspace((unsigned char)*s)) {
        s++;
        len--;
    }
    while (len > 0 && isspace((unsigned char)s[len - 1]))
        len--;
    if (len == 0) /* "a,,b" or a trailing comma: nothing to add */
        return 0;
    items = realloc(sl->sl_items, (sl->sl_n + 1) * sizeof(*items));
    if (items == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    sl->sl_items = items;
    if ((items[sl->sl_n] = strndup(s, len)) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    sl->sl_n++;
    return 0;
}

/* Prefixes the callee's message with where (file:line:col: key, or the
 * variable's name). The message is copied first: it lives in the same
 * thread-local buffer paved_error_set writes to. */
static int
config_fail_from_callee(int code, const char *where)
{
    char msg[512];

    snprintf(msg, sizeof(msg), "%s", paved_error_last());
    return paved_error_set(code == PAVED_ENOMEM ? code : PAVED_EUSAGE, "%s: %s",
                           where, msg);
}

/* Parses and checks v for key k, then stores it; cf is unchanged on
 * failure. where prefixes every message. */
static int
config_set(struct paved_config *cf, const struct config_key *k, const char *v,
           const char *where)
{
    void *field = (char *)cf + k->ck_offset;
    struct paved_strlist sl = {NULL, 0};
    const char *p, *comma;
    char why[256];
    unsigned u = 0;
    size_t sz = 0;
    int b = 0, error = 0;
    char *s;

    switch (k->ck_type) {
    case CT_STRING:
        if (k->ck_check != NULL && k->ck_check(v, why, sizeof(why)) < 0)
            return paved_error_set(PAVED_EUSAGE, "%s: %s", where, why);
        if ((s = strdup(v)) == NULL)
            return paved_error_set(PAVED_ENOMEM, "out of memory");
        free(*(char **)field);
        *(char **)field = s;
        return 0;
    case CT_BOOL:
        if ((error = paved_parse_bool(&b, v)) < 0)
            return config_fail_from_callee(error, where);
        *(bool *)field = b != 0;
        return 0;
    case CT_UINT:
        error = config_parse_uint(&u, v);
        break;
    case CT_DURATION:
        error = paved_parse_duration(&u, v);
        break;
    case CT_SIZE:
        if ((error = paved_parse_size(&sz, v)) < 0)
            return config_fail_from_callee(error, where);
        if (sz < k->ck_min)
            return paved_error_set(PAVED_EUSAGE, "%s: must be at least %llu",
                                   where, k->ck_min);
        *(size_t *)field = sz;
        return 0;
    case CT_STRLIST:
        for (p = v;; p = comma + 1) {
            comma = strchr(p, ',');
            error = config_strlist_add(&sl, p,
                                       comma ? (size_t)(comma - p) : strlen(p));
            if (error < 0 || comma == NULL)
                break;
        }
        if (error < 0) {
            config_strlist_clear(&sl);
            return error;
        }
        config_strlist_clear(field);
        *(struct paved_strlist *)field = sl;
        return 0;
    }
    if (error < 0)
        return config_fail_from_callee(error, where);
    if (u < k->ck_min)
        return paved_error_set(PAVED_EUSAGE, "%s: must be at least %llu%s",
                               where, k->ck_min,
                               k->ck_type == CT_DURATION ? " second" : "");
    *(unsigned *)field = u;
    return 0;
}

static const char *
config_type_name(enum config_type t)
{
    switch (t) {
    case CT_STRING:
        return "a string";
    case CT_BOOL:
        return "a boolean (true or false)";
    case CT_UINT:
        return "a whole number";
    case CT_DURATION:
        return "a duration (10s, 5m, 1h)";
    case CT_SIZE:
        return "a size (512KiB, 25MiB)";
    case CT_STRLIST:
        return "a list of strings";
    }
    return "a value";
}

static const struct config_key *
config_key_find(const char *name)
{
    size_t i;

    for (i = 0; i < CONFIG_NKEYS; i++)
        if (strcmp(config_keys[i].ck_name, name) == 0)
            return &config_keys[i];
    return NULL;
}

/* Is there a key "prefix_..."? Then a mapping under prefix flattens. */
static bool
config_key_is_prefix(const char *prefix)
{
    size_t i, n = strlen(prefix);

    for (i = 0; i < CONFIG_NKEYS; i++)
        if (strncmp(config_keys[i].ck_name, prefix, n) == 0 &&
            config_keys[i].ck_name[n] == '_')
            return true;
    return false;
}

/* The closest key, if close enough to be a typo; NULL otherwise. */
static const char *
config_suggest(const char *name)
{
    const char *names[CONFIG_NKEYS];
    size_t i;

    for (i = 0; i < CONFIG_NKEYS; i++)
        names[i] = config_keys[i].ck_name;
    return paved_text_suggest(name, names, CONFIG_NKEYS);
}

/* ---- the YAML walk ---------------------------------------------------- */

struct cparse {
    yaml_parser_t cp_yaml;
    const char *cp_name;
    const unsigned char *cp_data;
    size_t cp_len;
    struct paved_config *cp_cf;
    size_t cp_seen_line[CONFIG_NKEYS]; /* 1-based; 0 = not in the file */
    char *cp_prefix[CONFIG_MAX_PREFIXES];
    size_t cp_prefix_line[CONFIG_MAX_PREFIXES];
    size_t cp_nprefix;
};

static int cparse_fail(struct cparse *cp, yaml_mark_t mark, const char *fmt,
                       ...) __attribute__((format(printf, 3, 4)));

static int
cparse_fail(struct cparse *cp, yaml_mark_t mark, const char *fmt, ...)
{
    char msg[480];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return paved_error_set(PAVED_EUSAGE, "%s:%zu:%zu: %s", cp->cp_name,
                           mark.line + 1, mark.column + 1, msg);
}

static int
cparse_syntax_error(struct cparse *cp)
{
    yaml_parser_t *y = &cp->cp_yaml;
    const char *problem, *hint;
    yaml_mark_t mark;
    char buf[160];

    if (y->error == YAML_MEMORY_ERROR)
        return paved_error_set(PAVED_ENOMEM, "%s: out of memory", cp->cp_name);
    hint = paved_yaml_explain(&problem, &mark, buf, sizeof(buf), y, cp->cp_data,
                              cp->cp_len);
    return cparse_fail(cp, mark, "YAML syntax error: %s (%s)", problem, hint);
}

static int
cparse_next(struct cparse *cp, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&cp->cp_yaml, ev)) {
        memset(ev, 0, sizeof(*ev)); /* nothing to delete */
        return cparse_syntax_error(cp);
    }
    return 0;
}

static const char *
cparse_event_kind(const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_SEQUENCE_START_EVENT:
        return "a list";
    case YAML_MAPPING_START_EVENT:
        return "a mapping";
    case YAML_ALIAS_EVENT:
        return "an alias";
    default:
        return "a value";
    }
}

static int
cparse_unknown(struct cparse *cp, yaml_mark_t mark, const char *name)
{
    const char *guess = config_suggest(name);
    char shown[64];

    paved_text_show(shown, sizeof(shown), name);
    if (guess != NULL)
        return cparse_fail(cp, mark, "unknown key %s (did you mean \"%s\"?)",
                           shown, guess);
    return cparse_fail(cp, mark,
                       "unknown key %s (see docs/configuration.md for the "
                       "keys)",
                       shown);
}

/* Records that key k is set at mark; a second time is an error. */
static int
cparse_mark_seen(struct cparse *cp, const struct config_key *k,
                 yaml_mark_t mark)
{
    size_t i = (size_t)(k - config_keys);

    if (cp->cp_seen_line[i] != 0)
        return cparse_fail(cp, mark,
                           "duplicate key \"%s\" (first set on line %zu; "
                           "keep one)",
                           k->ck_name, cp->cp_seen_line[i]);
    cp->cp_seen_line[i] = mark.line + 1;
    return 0;
}

static int
cparse_mark_prefix(struct cparse *cp, const char *prefix, yaml_mark_t mark)
{
    size_t i;

    for (i = 0; i < cp->cp_nprefix; i++)
        if (strcmp(cp->cp_prefix[i], prefix) == 0)
            return cparse_fail(cp, mark,
                               "duplicate key \"%s\" (first set on line "
                               "%zu; merge the two)",
                               prefix, cp->cp_prefix_line[i]);
    /* only real prefixes of real keys get here, so this cannot fill up */
    if (cp->cp_nprefix == CONFIG_MAX_PREFIXES)
        return cparse_fail(cp, mark, "too many nested mappings");
    if ((cp->cp_prefix[cp->cp_nprefix] = strdup(prefix)) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    cp->cp_prefix_line[cp->cp_nprefix++] = mark.line + 1;
    return 0;
}

static void
cparse_where(char *where, size_t n, struct cparse *cp, yaml_mark_t mark,
             const char *key)
{
    snprintf(where, n, "%s:%zu:%zu: %s", cp->cp_name, mark.line + 1,
             mark.column + 1, key);
}

/* The value of a strlist key written as a YAML list. */
static int
cparse_list(struct cparse *cp, const struct config_key *k)
{
    struct paved_strlist sl = {NULL, 0};
    yaml_event_t ev;
    int error;

    for (;;) {
        if ((error = cparse_next(cp, &ev)) < 0)
            goto out;
        if (ev.type == YAML_SEQUENCE_END_EVENT)
            break;
        if (ev.type != YAML_SCALAR_EVENT) {
            error = cparse_fail(cp, ev.start_mark,
                                "%s: list items must be plain strings, not "
                                "%s",
                                k->ck_name, cparse_event_kind(&ev));
            goto out;
        }
        if (strlen((const char *)ev.data.scalar.value) !=
            ev.data.scalar.length) {
            error = cparse_fail(cp, ev.start_mark, "%s: contains a NUL byte",
                                k->ck_name);
            goto out;
        }
        if (!paved_yaml_is_null(&ev) &&
            (error = config_strlist_add(&sl, (const char *)ev.data.scalar.value,
                                        ev.data.scalar.length)) < 0)
            goto out;
        yaml_event_delete(&ev);
    }
    config_strlist_clear(
        (struct paved_strlist *)((char *)cp->cp_cf + k->ck_offset));
    *(struct paved_strlist *)((char *)cp->cp_cf + k->ck_offset) = sl;
    sl.sl_items = NULL;
    sl.sl_n = 0;
out:
    yaml_event_delete(&ev);
    config_strlist_clear(&sl);
    return error;
}

/* One mapping, its start event already read; keys get prefix + "_". */
static int
cparse_mapping(struct cparse *cp, const char *prefix)
{
    char name[CONFIG_MAX_KEY + 1], where[CONFIG_MAX_KEY + 256];
    const struct config_key *k;
    yaml_event_t key, val;
    yaml_mark_t kmark;
    int error = 0, n;

    memset(&key, 0, sizeof(key));
    memset(&val, 0, sizeof(val));
    for (;;) {
        if ((error = cparse_next(cp, &key)) < 0)
            goto out;
        if (key.type == YAML_MAPPING_END_EVENT)
            break;
        kmark = key.start_mark;
        if (key.type != YAML_SCALAR_EVENT) {
            error = cparse_fail(cp, kmark, "keys must be plain names, not %s",
                                cparse_event_kind(&key));
            goto out;
        }
        n = snprintf(name, sizeof(name), "%s%s%s", prefix, prefix[0] ? "_" : "",
                     (const char *)key.data.scalar.value);
        if (n < 0 || (size_t)n >= sizeof(name) ||
            strlen((const char *)key.data.scalar.value) !=
                key.data.scalar.length) {
            error = cparse_fail(cp, kmark, "unknown key (too long)");
            goto out;
        }
        if ((error = cparse_next(cp, &val)) < 0)
            goto out;
        k = config_key_find(name);
        switch (val.type) {
        case YAML_MAPPING_START_EVENT:
            if (config_key_is_prefix(name)) {
                if ((error = cparse_mark_prefix(cp, name, kmark)) < 0 ||
                    (error = cparse_mapping(cp, name)) < 0)
                    goto out;
                break;
            }
            /* fall through */
        case YAML_SEQUENCE_START_EVENT:
            if (k == NULL) {
                error = cparse_unknown(cp, kmark, name);
                goto out;
            }
            if (val.type == YAML_MAPPING_START_EVENT ||
                k->ck_type != CT_STRLIST) {
                error = cparse_fail(
                    cp, val.start_mark, "%s: expected %s, got %s%s", name,
                    config_type_name(k->ck_type), cparse_event_kind(&val),
                    val.type == YAML_SEQUENCE_START_EVENT
                        ? " (write one value on the same line)"
                        : "");
                goto out;
            }
            if ((error = cparse_mark_seen(cp, k, kmark)) < 0 ||
                (error = cparse_list(cp, k)) < 0)
                goto out;
            break;
        case YAML_SCALAR_EVENT:
            if (k == NULL) {
                error = cparse_unknown(cp, kmark, name);
                goto out;
            }
            if ((error = cparse_mark_seen(cp, k, kmark)) < 0)
                goto out;
            if (strlen((const char *)val.data.scalar.value) !=
                val.data.scalar.length) {
                error = cparse_fail(cp, val.start_mark,
                                    "%s: contains a NUL byte", name);
                goto out;
            }
            if (paved_yaml_is_null(&val) && k->ck_type != CT_STRING &&
                k->ck_type != CT_STRLIST) {
                error = cparse_fail(cp, val.start_mark,
                                    "%s: needs a value, %s (or remove the "
                                    "line for the default \"%s\")",
                                    name, config_type_name(k->ck_type),
                                    k->ck_default);
                goto out;
            }
            cparse_where(where, sizeof(where), cp, val.start_mark, name);
            error = config_set(cp->cp_cf, k,
                               paved_yaml_is_null(&val)
                                   ? ""
                                   : (const char *)val.data.scalar.value,
                               where);
            if (error < 0)
                goto out;
            break;
        default: /* an alias: anchors buy nothing in a flat file */
            error = cparse_fail(cp, val.start_mark,
                                "%s: aliases (*name) are not supported", name);
            goto out;
        }
        yaml_event_delete(&key);
        yaml_event_delete(&val);
    }
out:
    yaml_event_delete(&key);
    yaml_event_delete(&val);
    return error;
}

static int
cparse_stream(struct cparse *cp)
{
    yaml_event_t ev;
    int error;

    if ((error = cparse_next(cp, &ev)) < 0) /* stream start */
        return error;
    yaml_event_delete(&ev);
    if ((error = cparse_next(cp, &ev)) < 0)
        return error;
    if (ev.type == YAML_STREAM_END_EVENT) { /* empty file: defaults */
        yaml_event_delete(&ev);
        return 0;
    }
    yaml_event_delete(&ev); /* document start */
    if ((error = cparse_next(cp, &ev)) < 0)
        return error;
    if (ev.type == YAML_MAPPING_START_EVENT) {
        yaml_event_delete(&ev);
        if ((error = cparse_mapping(cp, "")) < 0)
            return error;
    } else if (ev.type != YAML_SCALAR_EVENT || !paved_yaml_is_null(&ev)) {
        error = cparse_fail(cp, ev.start_mark,
                            "expected a mapping of \"key: value\" lines at "
                            "the top, got %s",
                            cparse_event_kind(&ev));
        yaml_event_delete(&ev);
        return error;
    } else {
        yaml_event_delete(&ev);
    }
    if ((error = cparse_next(cp, &ev)) < 0) /* document end */
        return error;
    yaml_event_delete(&ev);
    if ((error = cparse_next(cp, &ev)) < 0)
        return error;
    if (ev.type != YAML_STREAM_END_EVENT)
        error = cparse_fail(cp, ev.start_mark,
                            "only one YAML document is allowed (remove "
                            "\"---\")");
    yaml_event_delete(&ev);
    return error;
}

/* ---- environment ------------------------------------------------------ */

static int
config_apply_env(struct paved_config *cf, char *const *envp)
{
    char var[CONFIG_MAX_KEY + 8];
    size_t i, j, n;
    char *const *e;
    int error;

    if (envp == NULL)
        return 0;
    for (i = 0; i < CONFIG_NKEYS; i++) {
        const struct config_key *k = &config_keys[i];
        n = (size_t)snprintf(var, sizeof(var), "PAVED_%s", k->ck_name);
        for (j = 6; j < n; j++)
            var[j] = (char)toupper((unsigned char)var[j]);
        /* the first match wins, as with getenv() */
        for (e = envp; *e != NULL; e++) {
            if (strncmp(*e, var, n) != 0 || (*e)[n] != '=')
                continue;
            if ((error = config_set(cf, k, *e + n + 1, var)) < 0)
                return error;
            break;
        }
    }
    return 0;
}

/* ---- public ----------------------------------------------------------- */

void
paved_config_free(struct paved_config *cf)
{
    size_t i;

    if (cf == NULL)
        return;
    for (i = 0; i < CONFIG_NKEYS; i++) {
        void *field = (char *)cf + config_keys[i].ck_offset;
        if (config_keys[i].ck_type == CT_STRING)
            free(*(char **)field);
        else if (config_keys[i].ck_type == CT_STRLIST)
            config_strlist_clear(field);
    }
    free(cf);
}

int
paved_config_parse(struct paved_config **out, const char *name,
                   const void *data, size_t len, char *const *envp)
{
    struct paved_config *cf = NULL;
    struct cparse cp;
    char where[CONFIG_MAX_KEY + 32];
    bool yaml_ready = false;
    size_t i;
    int error = 0;

    *out = NULL;
    memset(&cp, 0, sizeof(cp));
    if ((cf = calloc(1, sizeof(*cf))) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < CONFIG_NKEYS; i++) {
        snprintf(where, sizeof(where), "default %s", config_keys[i].ck_name);
        if ((error = config_set(cf, &config_keys[i], config_keys[i].ck_default,
                                where)) < 0)
            goto out;
    }
    if (data != NULL && len > 0) {
        if (!yaml_parser_initialize(&cp.cp_yaml)) {
            error = paved_error_set(PAVED_ENOMEM, "out of memory");
            goto out;
        }
        yaml_ready = true;
        cp.cp_name = name != NULL ? name : "config";
        cp.cp_data = data;
        cp.cp_len = len;
        cp.cp_cf = cf;
        yaml_parser_set_input_string(&cp.cp_yaml, data, len);
        if ((error = cparse_stream(&cp)) < 0)
            goto out;
    }
    if ((error = config_apply_env(cf, envp)) < 0)
        goto out;
    *out = cf;
    cf = NULL;
out:
    if (yaml_ready)
        yaml_parser_delete(&cp.cp_yaml);
    for (i = 0; i < cp.cp_nprefix; i++)
        free(cp.cp_prefix[i]);
    paved_config_free(cf);
    return error;
}

int
paved_config_load(struct paved_config **out, const char *path,
                  char *const *envp)
{
    struct paved_buf b = PAVED_BUF_INIT(CONFIG_MAX_FILE);
    char chunk[8192];
    FILE *fp = NULL;
    size_t n;
    int error = 0;

    *out = NULL;
    if (path == NULL)
        return paved_config_parse(out, "defaults", NULL, 0, envp);
    if ((fp = fopen(path, "r")) == NULL) {
        error =
            paved_error_set(errno == ENOENT ? PAVED_ENOTFOUND : PAVED_EUSAGE,
                            "open %s: %s", path, strerror(errno));
        goto out;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
        if ((error = paved_buf_put(&b, chunk, n)) < 0) {
            if (error == PAVED_ETOOBIG)
                error = paved_error_set(PAVED_EUSAGE,
                                        "%s: larger than %d bytes; is this "
                                        "the config file?",
                                        path, CONFIG_MAX_FILE);
            goto out;
        }
    }
    if (ferror(fp)) {
        error =
            paved_error_set(PAVED_EUSAGE, "read %s: %s", path, strerror(errno));
        goto out;
    }
    error = paved_config_parse(out, path, b.b_ptr, b.b_len, envp);
out:
    if (fp != NULL)
        fclose(fp);
    paved_buf_dispose(&b);
    return error;
}

/* "postgres://user:pw@host/db" -> "postgres://user:<set>@host/db" */
static int
config_redact(struct paved_buf *b, const char *v)
{
    const char *auth = strstr(v, "://"), *at = NULL, *colon, *end, *p;

    if (auth == NULL)
        return paved_buf_puts(b, v);
    auth += 3;
    end = auth + strcspn(auth, "/?#");
    for (p = auth; p < end; p++) /* the last '@': passwords may hold one */
        if (*p == '@')
            at = p;
    colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    if (colon == NULL)
        return paved_buf_puts(b, v);
    if (paved_buf_put(b, v, (size_t)(colon + 1 - v)) < 0 ||
        paved_buf_puts(b, "<set>") < 0)
        return PAVED_ENOMEM;
    return paved_buf_puts(b, at);
}

int
paved_config_redact_url(char **out, const char *url)
{
    struct paved_buf b = PAVED_BUF_INIT(SIZE_MAX - 1);
    int error;

    *out = NULL;
    if ((error = config_redact(&b, url != NULL ? url : "")) < 0 ||
        (*out = paved_buf_detach(&b, NULL)) == NULL)
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
    paved_buf_dispose(&b);
    return error;
}

static int
config_dump_store(struct paved_buf *b, const char *v)
{
    char *red;
    int error;

    if ((error = paved_config_redact_url(&red, v)) < 0)
        return error;
    error = paved_buf_put_json_string(b, red);
    free(red);
    return error;
}

static int
config_dump_duration(struct paved_buf *b, unsigned s)
{
    if (s != 0 && s % 3600 == 0)
        return paved_buf_printf(b, "%uh", s / 3600);
    if (s != 0 && s % 60 == 0)
        return paved_buf_printf(b, "%um", s / 60);
    return paved_buf_printf(b, "%us", s);
}

static int
config_dump_size(struct paved_buf *b, size_t n)
{
    static const char *const unit[] = {"KiB", "MiB", "GiB", "TiB"};
    int i;

    for (i = 3; i >= 0 && n != 0; i--) {
        unsigned shift = 10u * (unsigned)(i + 1);
        if ((n & (((size_t)1 << shift) - 1)) == 0)
            return paved_buf_printf(b, "%zu%s", n >> shift, unit[i]);
    }
    return paved_buf_printf(b, "%zu", n);
}

int
paved_config_dump(char **out, const struct paved_config *cf)
{
    struct paved_buf b = PAVED_BUF_INIT(1024 * 1024);
    const struct paved_strlist *sl;
    const void *field;
    size_t i, j;
    int error = 0;

    *out = NULL;
    error = paved_buf_puts(&b, "# paved: effective configuration (secrets "
                               "shown as \"<set>\" or \"\")\n");
    for (i = 0; i < CONFIG_NKEYS && error == 0; i++) {
        const struct config_key *k = &config_keys[i];
        field = (const char *)cf + k->ck_offset;
        if ((error = paved_buf_printf(&b, "%s: ", k->ck_name)) < 0)
            break;
        switch (k->ck_type) {
        case CT_STRING:
            if (k->ck_secret)
                error = paved_buf_puts(
                    &b, (*(char *const *)field)[0] ? "\"<set>\"" : "\"\"");
            else if (strcmp(k->ck_name, "store") == 0)
                error = config_dump_store(&b, *(char *const *)field);
            else
                error = paved_buf_put_json_string(&b, *(char *const *)field);
            break;
        case CT_BOOL:
            error = paved_buf_puts(&b, *(const bool *)field ? "true" : "false");
            break;
        case CT_UINT:
            error = paved_buf_printf(&b, "%u", *(const unsigned *)field);
            break;
        case CT_DURATION:
            error = config_dump_duration(&b, *(const unsigned *)field);
            break;
        case CT_SIZE:
            error = config_dump_size(&b, *(const size_t *)field);
            break;
        case CT_STRLIST:
            sl = field;
            if (k->ck_secret) {
                error = paved_buf_puts(&b, sl->sl_n ? "\"<set>\"" : "\"\"");
                break;
            }
            error = paved_buf_putc(&b, '[');
            for (j = 0; j < sl->sl_n && error == 0; j++) {
                if (j > 0)
                    error = paved_buf_puts(&b, ", ");
                if (error == 0)
                    error = paved_buf_put_json_string(&b, sl->sl_items[j]);
            }
            if (error == 0)
                error = paved_buf_putc(&b, ']');
            break;
        }
        if (error == 0)
            error = paved_buf_putc(&b, '\n');
    }
    if (error == 0 && (*out = paved_buf_detach(&b, NULL)) == NULL)
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
    paved_buf_dispose(&b);
    return error;
}
