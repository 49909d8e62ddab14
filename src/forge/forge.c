/* Entry points shared by the forge adapters: dispatch, content types,
 * form decoding, hub signature parsing, strict JSON field access (over
 * paved_jscan: one validating pass, no tree) and normalization. Never
 * logs (the caller logs once, with the delivery id) and never puts a
 * secret or an expected signature in a message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "forge/forge_int.h"
#include "paved/crypto.h"
#include "paved/error.h"

int
paved_forge_process(struct paved_forge_result *out, enum paved_forge forge,
                    const struct paved_forge_config *cfg,
                    const struct paved_forge_request *req)
{
    int error;

    memset(out, 0, sizeof(*out));
    out->fr_secret_index = -1;
    switch (forge) {
    case PAVED_FORGE_GITHUB:
        error = forge_github_process(out, cfg, req);
        break;
    case PAVED_FORGE_GITEA:
        error = forge_gitea_process(out, cfg, req);
        break;
    case PAVED_FORGE_GITLAB:
        error = forge_gitlab_process(out, cfg, req);
        break;
    default:
        error = paved_error_set(PAVED_EINVAL, "unknown forge %d", (int)forge);
        break;
    }
    if (error < 0) {
        paved_forge_result_dispose(out);
        out->fr_secret_index = -1;
    }
    return error;
}

void
paved_forge_result_dispose(struct paved_forge_result *res)
{
    if (res == NULL)
        return;
    paved_event_dispose(&res->fr_event);
    free(res->fr_payload);
    memset(res, 0, sizeof(*res));
}

/* --- prepared keys --- */

const paved_hmac_key *
forge_key(paved_hmac_key *const *keys, size_t nkeys, size_t n, size_t i)
{
    /* keys made for a different list of secrets are not used at all */
    if (keys == NULL || nkeys != n || i >= n)
        return NULL;
    return keys[i];
}

static void
forge_keys_free_list(paved_hmac_key **list, size_t n)
{
    size_t i;

    if (list == NULL)
        return;
    for (i = 0; i < n; i++)
        paved_hmac_key_free(list[i]);
    free(list);
}

void
paved_forge_keys_free(paved_forge_keys *keys)
{
    if (keys == NULL)
        return;
    forge_keys_free_list(keys->fk_github, keys->fk_n_github);
    forge_keys_free_list(keys->fk_gitea, keys->fk_n_gitea);
    forge_keys_free_list(keys->fk_gitlab, keys->fk_n_gitlab);
    free(keys);
}

/* One SHA-256 key per non-empty secret; gitlab: decode whsec_ first, and
 * leave a secret that does not decode without a key. */
static int
forge_keys_list(paved_hmac_key ***out, const char *const *secrets, size_t n,
                int gitlab)
{
    paved_hmac_key **list;
    unsigned char *raw = NULL;
    size_t i, rawlen = 0;
    int error = 0;

    *out = NULL;
    if (n == 0)
        return 0;
    if ((list = calloc(n, sizeof(*list))) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    for (i = 0; i < n && error == 0; i++) {
        const char *s = secrets[i];

        if (s == NULL || s[0] == '\0')
            continue;
        if (!gitlab) {
            error = paved_hmac_key_new(&list[i], "sha256", s, strlen(s));
            continue;
        }
        if ((error = forge_gitlab_signing_key(&raw, &rawlen, s)) < 0) {
            if (error != PAVED_ENOMEM)
                error = 0; /* reported per delivery, as without keys */
            continue;
        }
        error = paved_hmac_key_new(&list[i], "sha256", raw, rawlen);
        OPENSSL_cleanse(raw, rawlen);
        free(raw);
        raw = NULL;
    }
    if (error < 0) {
        forge_keys_free_list(list, n);
        return error;
    }
    *out = list;
    return 0;
}

int
paved_forge_keys_new(paved_forge_keys **out,
                     const struct paved_forge_config *cfg)
{
    paved_forge_keys *keys;
    int error;

    *out = NULL;
    if ((keys = calloc(1, sizeof(*keys))) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    keys->fk_n_github = cfg->fc_n_github_secrets;
    keys->fk_n_gitea = cfg->fc_n_gitea_secrets;
    keys->fk_n_gitlab = cfg->fc_n_gitlab_signing_secrets;
    if ((error = forge_keys_list(&keys->fk_github, cfg->fc_github_secrets,
                                 keys->fk_n_github, 0)) < 0 ||
        (error = forge_keys_list(&keys->fk_gitea, cfg->fc_gitea_secrets,
                                 keys->fk_n_gitea, 0)) < 0 ||
        (error =
             forge_keys_list(&keys->fk_gitlab, cfg->fc_gitlab_signing_secrets,
                             keys->fk_n_gitlab, 1)) < 0) {
        paved_forge_keys_free(keys);
        return error;
    }
    *out = keys;
    return 0;
}

/* --- content type and headers --- */

static int
forge_is_ows(char c)
{
    return c == ' ' || c == '\t';
}

int
forge_content_type(enum forge_body *out, const char *ct)
{
    static const char json[] = "application/json";
    static const char form[] = "application/x-www-form-urlencoded";
    const char *p, *end;
    size_t n;

    if (ct == NULL)
        return paved_error_set(PAVED_EUNSUPPORTED,
                               "missing Content-Type: send application/json "
                               "or application/x-www-form-urlencoded");
    p = ct;
    while (forge_is_ows(*p))
        p++;
    end = p;
    while (*end != '\0' && *end != ';' && !forge_is_ows(*end))
        end++;
    n = (size_t)(end - p);
    /* after the media type only whitespace and ";parameters" may follow */
    while (forge_is_ows(*end))
        end++;
    if (*end != '\0' && *end != ';')
        goto unsupported;
    if (n == sizeof(json) - 1 && strncasecmp(p, json, n) == 0) {
        *out = FORGE_BODY_JSON;
        return 0;
    }
    if (n == sizeof(form) - 1 && strncasecmp(p, form, n) == 0) {
        *out = FORGE_BODY_FORM;
        return 0;
    }
unsupported:
    return paved_error_set(PAVED_EUNSUPPORTED,
                           "unsupported Content-Type: send application/json "
                           "or application/x-www-form-urlencoded");
}

const char *
forge_header(const struct paved_forge_request *req, const char *name)
{
    const char *v;

    if (req->fr_header == NULL)
        return NULL;
    v = req->fr_header(req->fr_header_ctx, name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

int
forge_header_value(const char **out, const struct paved_forge_request *req,
                   const char *name, size_t max, int allow_space)
{
    const char *v;
    size_t i;

    *out = NULL;
    if ((v = forge_header(req, name)) == NULL)
        return paved_error_set(PAVED_EINVAL, "missing %s header", name);
    for (i = 0; v[i] != '\0'; i++) {
        unsigned char c = (unsigned char)v[i];

        if (i >= max || c > 0x7e || c < 0x20 || (c == ' ' && !allow_space))
            return paved_error_set(PAVED_EINVAL,
                                   "%s header is not a printable ASCII "
                                   "string of at most %zu characters",
                                   name, max);
    }
    *out = v;
    return 0;
}

/* --- bodies --- */

/* Percent- and '+'-decoding of s[0..n) into a malloc'd NUL-terminated
 * buffer; base is s's offset in the body, for the message. */
static int
form_decode(unsigned char **out, size_t *outlen, const unsigned char *s,
            size_t n, size_t base)
{
    unsigned char *buf;
    size_t i, o = 0;

    *out = NULL;
    *outlen = 0;
    if ((buf = malloc(n + 1)) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    for (i = 0; i < n; i++) {
        if (s[i] == '+') {
            buf[o++] = ' ';
        } else if (s[i] == '%') {
            if (n - i < 3) {
                free(buf);
                return paved_error_set(PAVED_EINVAL,
                                       "form body: truncated percent escape "
                                       "at byte %zu",
                                       base + i);
            }
            if (paved_hex_decode(&buf[o], 1, (const char *)s + i + 1, 2) < 0) {
                free(buf);
                return paved_error_set(PAVED_EINVAL,
                                       "form body: bad percent escape at "
                                       "byte %zu",
                                       base + i);
            }
            o++;
            i += 2;
        } else {
            buf[o++] = s[i];
        }
    }
    buf[o] = '\0';
    *out = buf;
    *outlen = o;
    return 0;
}

int
paved_forge_form_value(unsigned char **out, size_t *outlen,
                       const unsigned char *body, size_t len, const char *key)
{
    unsigned char *k = NULL, *v = NULL, *found = NULL;
    const unsigned char *pair, *eq, *amp;
    size_t pos = 0, plen, rawk, klen, vlen, found_len = 0;
    size_t keylen = strlen(key);
    int error = 0;

    *out = NULL;
    *outlen = 0;
    if (body == NULL)
        len = 0;
    /* Every pair is decoded, not only the wanted one: a body with a bad
     * escape anywhere is malformed, and a duplicated key is refused
     * rather than guessing which copy the sender meant. */
    while (pos < len) {
        pair = body + pos;
        amp = memchr(pair, '&', len - pos);
        plen = amp != NULL ? (size_t)(amp - pair) : len - pos;
        if (plen > 0) {
            eq = memchr(pair, '=', plen);
            rawk = eq != NULL ? (size_t)(eq - pair) : plen;
            if ((error = form_decode(&k, &klen, pair, rawk, pos)) < 0)
                goto out;
            if (eq != NULL)
                error = form_decode(&v, &vlen, eq + 1, plen - rawk - 1,
                                    pos + rawk + 1);
            else
                error = form_decode(&v, &vlen, pair, 0, pos);
            if (error < 0)
                goto out;
            if (klen == keylen && memcmp(k, key, keylen) == 0) {
                if (found != NULL) {
                    error = paved_error_set(PAVED_EINVAL,
                                            "form body: field \"%s\" appears "
                                            "more than once",
                                            key);
                    goto out;
                }
                found = v;
                found_len = vlen;
                v = NULL;
            }
            free(k);
            free(v);
            k = v = NULL;
        }
        pos += plen + 1;
    }
    if (found == NULL) {
        error = paved_error_set(PAVED_ENOTFOUND,
                                "form body has no \"%s\" field", key);
        goto out;
    }
    *out = found;
    *outlen = found_len;
    found = NULL;
out:
    free(k);
    free(v);
    free(found);
    return error;
}

int
forge_body_payload(unsigned char **out, size_t *outlen, enum forge_body type,
                   const unsigned char *body, size_t len)
{
    unsigned char *copy;
    int error;

    *out = NULL;
    *outlen = 0;
    if (type == FORGE_BODY_FORM) {
        error = paved_forge_form_value(out, outlen, body, len, "payload");
        if (error == PAVED_ENOTFOUND)
            error = paved_error_set(PAVED_EINVAL,
                                    "form-encoded body has no payload= "
                                    "field");
        return error;
    }
    if ((copy = malloc(len + 1)) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    if (len > 0)
        memcpy(copy, body, len);
    copy[len] = '\0';
    *out = copy;
    *outlen = len;
    return 0;
}

int
forge_finish(struct paved_forge_result *res, enum paved_forge forge,
             const char *event_name, const char *delivery,
             unsigned char *payload, size_t payload_len)
{
    int error;

    res->fr_payload = payload;
    res->fr_payload_len = payload_len;
    if ((error = paved_forge_normalize(&res->fr_event, forge, event_name,
                                       payload, payload_len)) < 0)
        return error;
    return forge_strdup(&res->fr_event.ev_delivery, delivery);
}

/* --- signatures --- */

int
paved_forge_parse_hub_signature(unsigned char *out, size_t *outlen,
                                const char *header, const char *algo)
{
    size_t want, plen, n;
    const char *hex, *end;

    *outlen = 0;
    if (algo != NULL && strcmp(algo, "sha256") == 0)
        want = 32;
    else if (algo != NULL && strcmp(algo, "sha1") == 0)
        want = 20;
    else
        return paved_error_set(PAVED_EINVAL, "unsupported signature "
                                             "algorithm");
    if (header == NULL)
        return paved_error_set(PAVED_EAUTH, "missing %s signature", algo);
    plen = strlen(algo);
    while (forge_is_ows(*header))
        header++;
    if (strncmp(header, algo, plen) != 0 || header[plen] != '=')
        return paved_error_set(PAVED_EAUTH,
                               "malformed signature header: want \"%s=\" "
                               "and %zu hex digits",
                               algo, 2 * want);
    hex = header + plen + 1;
    end = hex + strlen(hex);
    while (end > hex && forge_is_ows(end[-1]))
        end--;
    n = (size_t)(end - hex);
    if (n != 2 * want || paved_hex_decode(out, want, hex, n) < 0)
        return paved_error_set(PAVED_EAUTH,
                               "malformed signature header: want \"%s=\" "
                               "and %zu hex digits",
                               algo, 2 * want);
    *outlen = want;
    return 0;
}

/* --- normalization --- */

static int
forge_valid_event_name(const char *name)
{
    size_t i;

    if (name == NULL || name[0] == '\0')
        return 0;
    for (i = 0; name[i] != '\0'; i++)
        if (i >= FORGE_EVENT_NAME_MAX || (unsigned char)name[i] < 0x20 ||
            (unsigned char)name[i] > 0x7e)
            return 0;
    return 1;
}

int
paved_forge_normalize(struct paved_event *out, enum paved_forge forge,
                      const char *event_name, const unsigned char *json,
                      size_t len)
{
    struct paved_event ev;
    int error;

    memset(out, 0, sizeof(*out));
    memset(&ev, 0, sizeof(ev));
    if (!forge_valid_event_name(event_name)) {
        error = paved_error_set(PAVED_EINVAL,
                                "event name is not printable ASCII of 1..%d "
                                "characters",
                                FORGE_EVENT_NAME_MAX);
        goto out;
    }
    ev.ev_forge = forge;
    switch (forge) {
    case PAVED_FORGE_GITHUB:
    case PAVED_FORGE_GITEA:
        /* Gitea and Forgejo payloads copy GitHub's shape */
        error = forge_normalize_github(&ev, event_name, json, len);
        break;
    case PAVED_FORGE_GITLAB:
        error = forge_normalize_gitlab(&ev, event_name, json, len);
        break;
    default:
        error = paved_error_set(PAVED_EINVAL, "unknown forge %d", (int)forge);
        break;
    }
    if (error < 0 || (error = forge_strdup(&ev.ev_name, event_name)) < 0)
        goto out;
    *out = ev;
    memset(&ev, 0, sizeof(ev));
out:
    paved_event_dispose(&ev);
    return error;
}

/* --- strict JSON access --- */

int
forge_json_scan(const unsigned char *json, size_t len,
                struct paved_jscan_field *fields, size_t nfields)
{
    char msg[256];
    size_t i;
    int error;

    if (json == NULL)
        return paved_error_set(PAVED_EINVAL,
                               "payload is not valid JSON: no body");
    /* one validating pass that also finds every field the normalizer
     * reads; duplicate keys are refused as jansson's
     * JSON_REJECT_DUPLICATES did, so that no reader of the stored payload
     * can see a different value than we did */
    error = paved_jscan_ext(json, len, fields, nfields,
                            PAVED_JSCAN_REJECT_DUPLICATES);
    if (error == PAVED_ETOOBIG) {
        /* more keys open at once than the scanner tracks for duplicates
         * (never seen in a forge payload): jansson checks those */
        json_error_t jerr;
        json_t *root;

        if ((root = json_loadb((const char *)json, len, JSON_REJECT_DUPLICATES,
                               &jerr)) == NULL)
            return paved_error_set(PAVED_EINVAL,
                                   "payload is not valid JSON: %s (line %d, "
                                   "column %d)",
                                   jerr.text, jerr.line, jerr.column);
        json_decref(root);
        error = paved_jscan(json, len, fields, nfields);
    }
    if (error != PAVED_EINVAL)
        return error;
    for (i = 0; i < len && (json[i] == ' ' || json[i] == '\t' ||
                            json[i] == '\r' || json[i] == '\n');
         i++)
        ;
    if (i < len && json[i] == '[')
        return paved_error_set(PAVED_EINVAL, "payload is not a JSON object");
    /* the scanner's message lives in the buffer paved_error_set writes */
    snprintf(msg, sizeof(msg), "%s", paved_error_last());
    return paved_error_set(PAVED_EINVAL, "payload is not valid JSON: %s", msg);
}

/* absent and null read alike: "not there" */
static int
forge_json_absent(const struct paved_jscan_field *f)
{
    return f->jf_type == PAVED_JSON_ABSENT || f->jf_type == PAVED_JSON_NULL;
}

static int
forge_json_missing(enum forge_need need, const char *what, const char *ctx,
                   const char *path)
{
    if (need != FJ_REQUIRED)
        return 0;
    return paved_error_set(PAVED_EINVAL, "%s: missing %s field \"%s\"", ctx,
                           what, path);
}

static int
forge_json_wrong(enum forge_need need, const char *what, const char *ctx,
                 const char *path)
{
    if (need == FJ_LAX)
        return 0;
    return paved_error_set(PAVED_EINVAL, "%s: field \"%s\" is not %s", ctx,
                           path, what);
}

int
forge_json_object(int *present, const struct paved_jscan_field *f,
                  enum forge_need need, const char *ctx)
{
    *present = 0;
    if (forge_json_absent(f))
        return forge_json_missing(need, "object", ctx, f->jf_path);
    if (f->jf_type != PAVED_JSON_OBJECT)
        return forge_json_wrong(need, "an object", ctx, f->jf_path);
    *present = 1;
    return 0;
}

int
forge_json_string(char **out, const struct paved_jscan_field *f,
                  enum forge_need need, const char *ctx)
{
    char *s;
    int error;

    if (forge_json_absent(f))
        return forge_json_missing(need, "string", ctx, f->jf_path);
    if (f->jf_type != PAVED_JSON_STRING)
        return forge_json_wrong(need, "a string", ctx, f->jf_path);
    /* escapes never unescape to nothing (\u0000 is refused) */
    if (need == FJ_REQUIRED && f->jf_len == 0)
        return paved_error_set(PAVED_EINVAL, "%s: field \"%s\" is empty", ctx,
                               f->jf_path);
    if ((error = paved_jscan_string(&s, NULL, f)) < 0)
        return error;
    free(*out);
    *out = s;
    return 0;
}

int
forge_json_int(long long *out, const struct paved_jscan_field *f,
               enum forge_need need, const char *ctx)
{
    long long v;

    if (forge_json_absent(f))
        return forge_json_missing(need, "integer", ctx, f->jf_path);
    if (f->jf_type != PAVED_JSON_NUMBER || paved_jscan_int(&v, f) < 0 || v <= 0)
        return forge_json_wrong(need, "a positive integer", ctx, f->jf_path);
    *out = v;
    return 0;
}

int
forge_json_bool(int *out, const struct paved_jscan_field *f,
                enum forge_need need, const char *ctx)
{
    if (forge_json_absent(f))
        return forge_json_missing(need, "boolean", ctx, f->jf_path);
    if (f->jf_type != PAVED_JSON_TRUE && f->jf_type != PAVED_JSON_FALSE)
        return forge_json_wrong(need, "a boolean", ctx, f->jf_path);
    *out = f->jf_type == PAVED_JSON_TRUE;
    return 0;
}

int
forge_pr_action(struct paved_event *ev, int new_commits)
{
    static const struct {
        const char *from, *to;
    } alias[] = {
        {"open", "opened"},              /* GitLab */
        {"reopen", "reopened"},          /* GitLab */
        {"close", "closed"},             /* GitLab */
        {"merge", "closed"},             /* GitLab: merged is closed too */
        {"synchronized", "synchronize"}, /* Gitea */
    };
    const char *to = NULL;
    size_t i;

    if (ev->ev_action == NULL)
        return 0;
    if (strcmp(ev->ev_action, "update") == 0) /* GitLab */
        to = new_commits ? "synchronize" : "edited";
    for (i = 0; to == NULL && i < sizeof(alias) / sizeof(alias[0]); i++)
        if (strcmp(ev->ev_action, alias[i].from) == 0)
            to = alias[i].to;
    if (to == NULL)
        return 0;
    free(ev->ev_action);
    ev->ev_action = NULL;
    return forge_strdup(&ev->ev_action, to);
}

int
forge_strdup(char **out, const char *s)
{
    if ((*out = strdup(s)) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    return 0;
}

int
forge_strcat(char **out, const char *prefix, const char *name)
{
    size_t a = strlen(prefix), b = strlen(name);
    char *s;

    *out = NULL;
    if ((s = malloc(a + b + 1)) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    memcpy(s, prefix, a);
    memcpy(s + a, name, b + 1);
    *out = s;
    return 0;
}

int
forge_split_ref(enum paved_event_kind *kind, struct paved_event *ev,
                const char *ctx)
{
    static const char heads[] = "refs/heads/", tags[] = "refs/tags/";
    const char *ref = ev->ev_ref;

    *kind = PAVED_EVENT_OTHER;
    if (ref == NULL)
        return 0;
    if (strncmp(ref, heads, sizeof(heads) - 1) == 0) {
        if (ref[sizeof(heads) - 1] == '\0')
            return paved_error_set(
                PAVED_EINVAL, "%s: ref \"%s\" names no branch", ctx, heads);
        *kind = PAVED_EVENT_PUSH;
        return forge_strdup(&ev->ev_branch, ref + sizeof(heads) - 1);
    }
    if (strncmp(ref, tags, sizeof(tags) - 1) == 0) {
        if (ref[sizeof(tags) - 1] == '\0')
            return paved_error_set(PAVED_EINVAL, "%s: ref \"%s\" names no tag",
                                   ctx, tags);
        *kind = PAVED_EVENT_TAG;
        return forge_strdup(&ev->ev_tag, ref + sizeof(tags) - 1);
    }
    return 0;
}

int
forge_sha_is_zero(const char *sha)
{
    size_t i;

    if (sha == NULL || sha[0] == '\0')
        return 0;
    for (i = 0; sha[i] != '\0'; i++)
        if (sha[i] != '0')
            return 0;
    return 1;
}
