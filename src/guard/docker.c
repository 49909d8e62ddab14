/* Dockerfile rules: a multi-stage build, a non-root USER in the final
 * stage, pinned base images, no credentials in ENV or ARG, no ADD of a
 * remote URL; and the facts the caller needs for rules that span files
 * (a HEALTHCHECK in the final stage). The reader follows BuildKit's
 * parser where it matters for these rules: parser directives (# escape=),
 * line continuations, comment and empty lines inside them, heredocs
 * (skipped), JSON-form arguments, flags, ARG substitution in FROM and
 * USER. Never prints a value it judges a secret, never prints, logs or
 * touches the network. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "guard/guard_int.h"
#include "paved/error.h"

enum dk_rule {
    DR_SINGLE_STAGE = 0,
    DR_USER_ROOT,
    DR_IMAGE_UNPINNED,
    DR_ENV_SECRET,
    DR_ADD_REMOTE,
    DR_N
};

/* In enum dk_rule order. docker.healthcheck is tree.c's: it needs the
 * manifests too (guard_docker_facts says what this file has). */
static const struct paved_rule docker_rules[DR_N] = {
    {"docker.single-stage", PAVED_SEV_MEDIUM,
     "build in more than one stage (FROM ... AS build), so that compilers, "
     "sources and build files stay out of the final image"},
    {"docker.user-root", PAVED_SEV_HIGH,
     "the final stage switches to a non-root USER"},
    {"docker.image-unpinned", PAVED_SEV_HIGH,
     "every base image is pinned: a version tag other than latest, or a "
     "digest"},
    {"docker.env-secret", PAVED_SEV_HIGH,
     "no credential in ENV or ARG: both stay readable in the image and its "
     "history; use RUN --mount=type=secret or run-time configuration"},
    {"docker.add-remote", PAVED_SEV_MEDIUM,
     "no ADD of a remote URL or git repository: download with a checksum, "
     "or COPY a vendored file"},
};

const struct paved_rule *
guard_docker_rules(size_t *n)
{
    *n = DR_N;
    return docker_rules;
}

bool
guard_dockerfile_name(const char *b)
{
    size_t n;

    if (b == NULL)
        return false;
    n = strlen(b);
    /* BuildKit's <Dockerfile>.dockerignore is not a Dockerfile */
    if (n > 13 && strcasecmp(b + n - 13, ".dockerignore") == 0)
        return false;
    if (strcasecmp(b, "Dockerfile") == 0 || strcmp(b, "Containerfile") == 0)
        return true;
    if (n > 11 && (strncmp(b, "Dockerfile.", 11) == 0 ||
                   strncmp(b, "dockerfile.", 11) == 0))
        return true;
    if (n > 11 && (strcmp(b + n - 11, ".Dockerfile") == 0 ||
                   strcmp(b + n - 11, ".dockerfile") == 0))
        return true;
    return false;
}

/* ---- state ------------------------------------------------------------ */

struct dk_word {
    const char *w_s; /* NUL-terminated, in dk_scratch */
    size_t w_len;
    bool w_var; /* a $ outside single quotes: a substitution */
};

struct dk_var {
    char *v_name;  /* copied: the words go with their line */
    char *v_value; /* NULL: declared without a value */
};

enum dk_user {
    DK_USER_BASE = 0,     /* the base image's user: root, for all we know */
    DK_USER_BASE_NONROOT, /* ... a base whose tag says nonroot */
    DK_USER_ROOT,         /* USER root, USER 0 */
    DK_USER_OTHER         /* a non-root USER, or one we cannot resolve */
};

struct dk_stage {
    char *st_name; /* lower case; NULL without AS */
    unsigned st_line;
    enum dk_user st_user;
    unsigned st_user_line;
    char *st_user_text; /* the USER that made it root, for the message */
    bool st_health;
};

struct dk {
    struct paved_findings *dk_fs;
    const char *dk_path;
    const char *dk_data;
    size_t dk_len, dk_pos;
    unsigned dk_line; /* of the physical line read last */
    char dk_escape;
    char *dk_buf; /* the logical line */
    size_t dk_blen;
    char *dk_scratch; /* words of the logical line */
    struct dk_word *dk_words;
    size_t dk_nwords, dk_wcap;
    struct dk_var *dk_vars;
    size_t dk_nvars, dk_vcap, dk_nglobal;
    struct dk_stage *dk_stages;
    size_t dk_nstages, dk_scap;
};

static int
docker_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
           c == '\f';
}

/* ---- reading: physical lines, logical lines, heredocs ----------------- */

/* The next physical line without its newline (and '\r'); 0 at the end. */
static int
docker_physical(struct dk *d, const char **p, size_t *n)
{
    const char *s, *nl;
    size_t l;

    if (d->dk_pos >= d->dk_len)
        return 0;
    s = d->dk_data + d->dk_pos;
    nl = memchr(s, '\n', d->dk_len - d->dk_pos);
    l = nl != NULL ? (size_t)(nl - s) : d->dk_len - d->dk_pos;
    d->dk_pos += l + (nl != NULL);
    d->dk_line++;
    *p = s;
    *n = l > 0 && s[l - 1] == '\r' ? l - 1 : l;
    return 1;
}

/* Parser directives: "# key=value" lines at the very top; the first line
 * that is not one ends them (BuildKit's rule). Only escape matters. */
static void
docker_directives(struct dk *d)
{
    bool escape_seen = false;

    if (d->dk_len >= 3 && memcmp(d->dk_data, "\xEF\xBB\xBF", 3) == 0)
        d->dk_pos = 3;
    for (;;) {
        size_t save_pos = d->dk_pos, i, ks, ke, vs, ve, n;
        unsigned save_line = d->dk_line;
        const char *p;

        if (!docker_physical(d, &p, &n))
            return;
        for (i = 0; i < n && (p[i] == ' ' || p[i] == '\t'); i++)
            ;
        if (i == n || p[i++] != '#')
            goto not_one;
        while (i < n && (p[i] == ' ' || p[i] == '\t'))
            i++;
        ks = i;
        while (i < n &&
               ((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') ||
                (i > ks && p[i] >= '0' && p[i] <= '9')))
            i++;
        ke = i;
        while (i < n && (p[i] == ' ' || p[i] == '\t'))
            i++;
        if (ke == ks || i == n || p[i++] != '=')
            goto not_one;
        while (i < n && (p[i] == ' ' || p[i] == '\t'))
            i++;
        vs = i;
        for (ve = n; ve > vs && (p[ve - 1] == ' ' || p[ve - 1] == '\t'); ve--)
            ;
        if (ve == vs)
            goto not_one;
        if (ke - ks == 6 && strncasecmp(p + ks, "escape", 6) == 0 &&
            !escape_seen) {
            escape_seen = true;
            if (ve - vs == 1 && (p[vs] == '`' || p[vs] == '\\'))
                d->dk_escape = p[vs];
        }
        continue;
    not_one:
        d->dk_pos = save_pos;
        d->dk_line = save_line;
        return;
    }
}

/* n without a trailing escape character (and blanks after it), and
 * whether there was one: the line continues. */
static bool
docker_continues(const struct dk *d, const char *p, size_t *n)
{
    size_t l = *n;

    while (l > 0 && (p[l - 1] == ' ' || p[l - 1] == '\t'))
        l--;
    if (l == 0 || p[l - 1] != d->dk_escape)
        return false;
    *n = l - 1;
    return true;
}

static void
docker_append(struct dk *d, const char *p, size_t n)
{
    /* dk_buf holds dk_len + 1 bytes: a logical line is never longer */
    memcpy(d->dk_buf + d->dk_blen, p, n);
    d->dk_blen += n;
    d->dk_buf[d->dk_blen] = '\0';
}

/* The next instruction, continuations joined, into dk_buf; its first
 * line in *first. 0 at the end of the file. */
static int
docker_next(struct dk *d, unsigned *first)
{
    const char *p;
    size_t n, i;

    for (;;) {
        if (!docker_physical(d, &p, &n))
            return 0;
        for (i = 0; i < n && docker_space(p[i]); i++)
            ;
        if (i == n || p[i] == '#')
            continue;
        break;
    }
    *first = d->dk_line;
    d->dk_blen = 0;
    p += i;
    n -= i;
    while (docker_continues(d, p, &n)) {
        docker_append(d, p, n);
        for (;;) {
            if (!docker_physical(d, &p, &n))
                return 1; /* the file ends inside a continuation */
            for (i = 0; i < n && docker_space(p[i]); i++)
                ;
            /* comment and empty lines inside a continuation are dropped */
            if (i < n && p[i] != '#')
                break;
        }
    }
    docker_append(d, p, n);
    return 1;
}

/* Skips the bodies of the heredocs a RUN, COPY or ADD names (<<EOF,
 * <<-EOF, <<"EOF"), in order, each up to its terminator line. */
static void
docker_skip_heredocs(struct dk *d, const char *s, size_t n)
{
    struct {
        const char *h_name;
        size_t h_len;
        bool h_chomp;
    } h[8];
    size_t nh = 0, i = 0, k;

    while (i < n && nh < 8) {
        size_t ws, we;
        char q = 0;

        while (i < n && docker_space(s[i]))
            i++;
        ws = i;
        for (; i < n && (q != 0 || !docker_space(s[i])); i++) {
            if (q == 0 && (s[i] == '"' || s[i] == '\''))
                q = s[i];
            else if (q != 0 && s[i] == q)
                q = 0;
            else if (q != '\'' && s[i] == d->dk_escape && i + 1 < n)
                i++;
        }
        we = i;
        /* \d*<<-?NAME, not a here-string (<<<) */
        while (ws < we && s[ws] >= '0' && s[ws] <= '9')
            ws++;
        if (we - ws < 3 || s[ws] != '<' || s[ws + 1] != '<' || s[ws + 2] == '<')
            continue;
        ws += 2;
        h[nh].h_chomp = s[ws] == '-';
        ws += h[nh].h_chomp;
        if (ws < we && (s[ws] == '"' || s[ws] == '\'') && we - ws >= 2 &&
            s[we - 1] == s[ws]) {
            ws++;
            we--;
        }
        if (ws == we)
            continue;
        h[nh].h_name = s + ws;
        h[nh].h_len = we - ws;
        nh++;
    }
    for (k = 0; k < nh; k++) {
        const char *p;
        size_t len;

        while (docker_physical(d, &p, &len)) {
            if (h[k].h_chomp)
                while (len > 0 && *p == '\t') {
                    p++;
                    len--;
                }
            if (len == h[k].h_len && memcmp(p, h[k].h_name, len) == 0)
                break;
        }
    }
}

/* ---- words ------------------------------------------------------------ */

static int
docker_push_word(struct dk *d, const char *s, size_t len, bool var)
{
    if (d->dk_nwords == d->dk_wcap) {
        size_t cap = d->dk_wcap ? d->dk_wcap * 2 : 16;
        struct dk_word *w = realloc(d->dk_words, cap * sizeof(*w));

        if (w == NULL)
            return paved_error_set(PAVED_ENOMEM, "out of memory");
        d->dk_words = w;
        d->dk_wcap = cap;
    }
    d->dk_words[d->dk_nwords].w_s = s;
    d->dk_words[d->dk_nwords].w_len = len;
    d->dk_words[d->dk_nwords].w_var = var;
    d->dk_nwords++;
    return 0;
}

/* A JSON array of strings ("exec form"): 1 and the words, 0 when s is
 * not one (the shell form applies then, as in BuildKit). */
static int
docker_json(struct dk *d, const char *s, size_t n, int *error)
{
    char *out = d->dk_scratch;
    size_t i = 0, o = 0;

    d->dk_nwords = 0;
    if (n == 0 || s[0] != '[')
        return 0;
    for (i = 1;;) {
        size_t ws;

        while (i < n && docker_space(s[i]))
            i++;
        if (i < n && s[i] == ']' && d->dk_nwords == 0)
            break;
        if (i >= n || s[i] != '"')
            return 0;
        ws = o;
        for (i++; i < n && s[i] != '"'; i++) {
            if (s[i] == '\\') {
                if (++i >= n)
                    return 0;
                switch (s[i]) {
                case 'n':
                    out[o++] = '\n';
                    break;
                case 't':
                    out[o++] = '\t';
                    break;
                default: /* \" \\ \/, and \uXXXX kept as it is */
                    out[o++] = s[i] == 'u' ? '?' : s[i];
                    break;
                }
                continue;
            }
            out[o++] = s[i];
        }
        if (i >= n)
            return 0;
        out[o++] = '\0';
        if ((*error = docker_push_word(d, out + ws, o - ws - 1, false)) < 0)
            return 0;
        for (i++; i < n && docker_space(s[i]); i++)
            ;
        if (i < n && s[i] == ',') {
            i++;
            continue;
        }
        if (i < n && s[i] == ']')
            break;
        return 0;
    }
    for (i++; i < n && docker_space(s[i]); i++)
        ;
    return i == n;
}

/* Shell-form words: blanks separate, quotes group, the escape character
 * escapes; quotes are removed. */
static int
docker_split(struct dk *d, const char *s, size_t n)
{
    char *out = d->dk_scratch;
    size_t i = 0, o = 0;
    char esc = d->dk_escape;
    int error;

    d->dk_nwords = 0;
    for (;;) {
        size_t ws;
        bool var = false;

        while (i < n && docker_space(s[i]))
            i++;
        if (i >= n)
            return 0;
        ws = o;
        while (i < n && !docker_space(s[i])) {
            char c = s[i];

            if (c == esc && i + 1 < n) {
                out[o++] = s[i + 1];
                i += 2;
            } else if (c == '\'') {
                for (i++; i < n && s[i] != '\''; i++)
                    out[o++] = s[i];
                i += i < n;
            } else if (c == '"') {
                for (i++; i < n && s[i] != '"'; i++) {
                    if (s[i] == esc && i + 1 < n &&
                        (s[i + 1] == '"' || s[i + 1] == '$' ||
                         s[i + 1] == esc)) {
                        out[o++] = s[++i];
                        continue;
                    }
                    var |= s[i] == '$';
                    out[o++] = s[i];
                }
                i += i < n;
            } else {
                var |= c == '$';
                out[o++] = c;
                i++;
            }
        }
        out[o++] = '\0';
        if ((error = docker_push_word(d, out + ws, o - ws - 1, var)) < 0)
            return error;
    }
}

/* The arguments after leading --flags; *checksum when --checksum= is
 * one of them. */
static void
docker_skip_flags(const char **s, size_t *n, bool *checksum)
{
    const char *p = *s;
    size_t l = *n, i;

    for (;;) {
        while (l > 0 && docker_space(*p)) {
            p++;
            l--;
        }
        if (l < 3 || p[0] != '-' || p[1] != '-')
            break;
        for (i = 0; i < l && !docker_space(p[i]); i++)
            ;
        if (checksum != NULL && i > 11 && memcmp(p, "--checksum=", 11) == 0)
            *checksum = true;
        p += i;
        l -= i;
    }
    *s = p;
    *n = l;
}

/* ---- variables --------------------------------------------------------- */

static int
docker_set_var(struct dk *d, const char *name, size_t nlen, const char *value,
               size_t vlen, bool has_value)
{
    struct dk_var *v;
    char *nm, *val = NULL;

    if ((nm = strndup(name, nlen)) == NULL ||
        (has_value && (val = strndup(value, vlen)) == NULL))
        goto nomem;
    if (d->dk_nvars == d->dk_vcap) {
        size_t cap = d->dk_vcap ? d->dk_vcap * 2 : 16;

        if ((v = realloc(d->dk_vars, cap * sizeof(*v))) == NULL)
            goto nomem;
        d->dk_vars = v;
        d->dk_vcap = cap;
    }
    d->dk_vars[d->dk_nvars].v_name = nm;
    d->dk_vars[d->dk_nvars].v_value = val;
    d->dk_nvars++;
    return 0;
nomem:
    free(nm);
    free(val);
    return paved_error_set(PAVED_ENOMEM, "out of memory");
}

static void
docker_drop_vars(struct dk *d, size_t keep)
{
    while (d->dk_nvars > keep) {
        d->dk_nvars--;
        free(d->dk_vars[d->dk_nvars].v_name);
        free(d->dk_vars[d->dk_nvars].v_value);
    }
}

/* The latest declaration of name among vars [from, to). */
static const struct dk_var *
docker_lookup(const struct dk *d, size_t from, size_t to, const char *name,
              size_t n)
{
    size_t i;

    for (i = to; i > from; i--) {
        const struct dk_var *v = &d->dk_vars[i - 1];

        if (strlen(v->v_name) == n && memcmp(v->v_name, name, n) == 0)
            return v;
    }
    return NULL;
}

static int
docker_name_char(char c, bool first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           (!first && c >= '0' && c <= '9');
}

/* $NAME, ${NAME}, ${NAME:-word}, ${NAME:+word} from vars [from, ...)
 * into out: 1, or 0 when a value is not known until build time (an ARG
 * without a default, an undeclared name, another operator). */
static int
docker_expand(const struct dk *d, size_t from, const char *s, size_t n,
              char *out, size_t cap)
{
    size_t i = 0, o = 0;

    while (i < n) {
        const char *name, *word = NULL, *val;
        size_t nl, wl = 0, vl;
        const struct dk_var *v;
        char op = 0;

        if (s[i] != '$') {
            if (o + 1 >= cap)
                return 0;
            out[o++] = s[i++];
            continue;
        }
        i++;
        if (i < n && s[i] == '{') {
            name = s + ++i;
            while (i < n && docker_name_char(s[i], s + i == name))
                i++;
            nl = (size_t)(s + i - name);
            if (i < n && (s[i] == ':' || s[i] == '-' || s[i] == '+')) {
                i += s[i] == ':';
                if (i >= n || (s[i] != '-' && s[i] != '+'))
                    return 0;
                op = s[i++];
                word = s + i;
                while (i < n && s[i] != '}')
                    i++;
                wl = (size_t)(s + i - word);
                if (memchr(word, '$', wl) != NULL)
                    return 0;
            }
            if (i >= n || s[i] != '}')
                return 0;
            i++;
        } else {
            name = s + i;
            while (i < n && docker_name_char(s[i], s + i == name))
                i++;
            nl = (size_t)(s + i - name);
        }
        if (nl == 0)
            return 0;
        v = docker_lookup(d, from, d->dk_nvars, name, nl);
        if (v != NULL && v->v_value == NULL)
            return 0; /* a build argument without a default */
        val = v != NULL ? v->v_value : "";
        vl = strlen(val);
        if (op == '-' && vl == 0) {
            val = word;
            vl = wl;
        } else if (op == '+') {
            val = vl > 0 ? word : "";
            vl = vl > 0 ? wl : 0;
        } else if (op == 0 && v == NULL) {
            return 0;
        }
        if (o + vl + 1 >= cap)
            return 0;
        memcpy(out + o, val, vl);
        o += vl;
    }
    out[o] = '\0';
    return 1;
}

/* ---- rules -------------------------------------------------------------- */

static int
docker_stage_push(struct dk *d, unsigned line, const char *name, size_t nlen)
{
    struct dk_stage *st;
    size_t i;

    if (d->dk_nstages == d->dk_scap) {
        size_t cap = d->dk_scap ? d->dk_scap * 2 : 4;

        if ((st = realloc(d->dk_stages, cap * sizeof(*st))) == NULL)
            return paved_error_set(PAVED_ENOMEM, "out of memory");
        d->dk_stages = st;
        d->dk_scap = cap;
    }
    st = &d->dk_stages[d->dk_nstages];
    memset(st, 0, sizeof(*st));
    st->st_line = line;
    if (name != NULL) {
        if ((st->st_name = strndup(name, nlen)) == NULL)
            return paved_error_set(PAVED_ENOMEM, "out of memory");
        /* a NUL in the file ends the name early */
        for (i = 0; st->st_name[i] != '\0'; i++)
            if (st->st_name[i] >= 'A' && st->st_name[i] <= 'Z')
                st->st_name[i] = (char)(st->st_name[i] + 32);
    }
    d->dk_nstages++;
    return 0;
}

/* A stage before the current one named like image (stage names are
 * case-insensitive). */
static const struct dk_stage *
docker_stage_named(const struct dk *d, const char *image)
{
    size_t i;

    for (i = d->dk_nstages - 1; i > 0; i--) {
        const struct dk_stage *st = &d->dk_stages[i - 1];

        if (st->st_name != NULL && strcasecmp(st->st_name, image) == 0)
            return st;
    }
    return NULL;
}

static int
docker_from(struct dk *d, const char *args, size_t n, unsigned line)
{
    const struct dk_stage *parent;
    struct dk_stage *st;
    const char *image, *tag, *slash;
    char buf[512];
    size_t nw;
    int error;

    docker_skip_flags(&args, &n, NULL);
    if ((error = docker_split(d, args, n)) < 0)
        return error;
    nw = d->dk_nwords;
    if (nw == 0)
        return 0;
    /* a stage's variables start again from the global ARGs */
    docker_drop_vars(d, d->dk_nglobal);
    if ((error = docker_stage_push(
             d, line,
             nw >= 3 && strcasecmp(d->dk_words[1].w_s, "as") == 0
                 ? d->dk_words[2].w_s
                 : NULL,
             nw >= 3 ? d->dk_words[2].w_len : 0)) < 0)
        return error;
    st = &d->dk_stages[d->dk_nstages - 1];
    image = d->dk_words[0].w_s;
    if (d->dk_words[0].w_var) {
        if (!docker_expand(d, 0, image, d->dk_words[0].w_len, buf,
                           sizeof(buf))) {
            st->st_user = DK_USER_OTHER; /* not judged */
            return 0;
        }
        image = buf;
    }
    parent = docker_stage_named(d, image);
    if (parent != NULL) {
        st->st_user = parent->st_user;
        st->st_user_line = parent->st_user_line;
        st->st_health = parent->st_health;
        if (parent->st_user_text != NULL &&
            (st->st_user_text = strdup(parent->st_user_text)) == NULL)
            return paved_error_set(PAVED_ENOMEM, "out of memory");
        return 0;
    }
    if (strcasecmp(image, "scratch") == 0)
        return 0; /* no user database at all: uid 0 */
    if (strchr(image, '@') != NULL)
        return 0; /* a digest: pinned */
    slash = strrchr(image, '/');
    tag = strrchr(slash != NULL ? slash : image, ':');
    if (tag != NULL && strstr(tag, "nonroot") != NULL)
        st->st_user = DK_USER_BASE_NONROOT; /* distroless :nonroot ... */
    if (tag == NULL)
        return guard_report(d->dk_fs, docker_rules[DR_IMAGE_UNPINNED].r_id,
                            d->dk_path, line, line,
                            "base image \"%.200s\" has no tag, so it is "
                            ":latest and changes under you: pin a version "
                            "tag (%.200s:1.2.3) or a digest (@sha256:...)",
                            image, image);
    if (strcasecmp(tag + 1, "latest") == 0)
        return guard_report(d->dk_fs, docker_rules[DR_IMAGE_UNPINNED].r_id,
                            d->dk_path, line, line,
                            "base image \"%.200s\" is :latest, which changes "
                            "under you: pin a version tag or a digest "
                            "(@sha256:...)",
                            image);
    return 0;
}

static int
docker_user(struct dk *d, const char *args, size_t n, unsigned line)
{
    struct dk_stage *st;
    const char *u;
    char buf[256];
    size_t ul;
    int error;

    if (d->dk_nstages == 0)
        return 0;
    st = &d->dk_stages[d->dk_nstages - 1];
    if ((error = docker_split(d, args, n)) < 0)
        return error;
    if (d->dk_nwords == 0)
        return 0;
    u = d->dk_words[0].w_s;
    if (d->dk_words[0].w_var) {
        if (!docker_expand(d, d->dk_nglobal, u, d->dk_words[0].w_len, buf,
                           sizeof(buf))) {
            st->st_user = DK_USER_OTHER; /* known at build time only */
            return 0;
        }
        u = buf;
    }
    free(st->st_user_text);
    st->st_user_text = NULL;
    ul = strcspn(u, ":");
    if ((ul == 4 && strncmp(u, "root", 4) == 0) || (ul == 1 && u[0] == '0')) {
        st->st_user = DK_USER_ROOT;
        st->st_user_line = line;
        if ((st->st_user_text = strndup(u, 64)) == NULL)
            return paved_error_set(PAVED_ENOMEM, "out of memory");
    } else {
        st->st_user = DK_USER_OTHER;
    }
    return 0;
}

static bool
docker_trivial_value(const char *v, size_t n)
{
    static const char *const words[] = {"true", "false", "yes",  "no", "on",
                                        "off",  "none",  "null", "nil"};
    size_t i;

    for (i = 0; i < sizeof(words) / sizeof(*words); i++)
        if (strlen(words[i]) == n && strncasecmp(v, words[i], n) == 0)
            return true;
    for (i = 0; i < n && v[i] >= '0' && v[i] <= '9'; i++)
        ;
    return i == n; /* a number: a port, a length, a lifetime */
}

/* One NAME=value of an ENV or ARG: a credential name with a literal
 * value, or a value the secret scanner recognises. Never prints it. */
static int
docker_pair(struct dk *d, const char *instr, const char *key, size_t klen,
            const char *val, size_t vlen, bool var, unsigned line)
{
    const char *rule;

    if (vlen == 0)
        return 0;
    if (klen > 64)
        klen = 64;
    /* the name is shown, unless it is a token itself */
    if (guard_secrets_find(key, klen) != NULL) {
        key = "(a name)";
        klen = 8;
    }
    if (!var && guard_secrets_key(key, klen) &&
        !docker_trivial_value(val, vlen))
        return guard_report(
            d->dk_fs, docker_rules[DR_ENV_SECRET].r_id, d->dk_path, line, line,
            "%s %.*s sets a credential in the image, where docker history and "
            "anyone who pulls it can read it: remove it, rotate it, and pass "
            "it at run time or to the step that needs it with "
            "RUN --mount=type=secret,id=%.*s",
            instr, (int)klen, key, (int)klen, key);
    if ((rule = guard_secrets_find(val, vlen)) != NULL)
        return guard_report(
            d->dk_fs, docker_rules[DR_ENV_SECRET].r_id, d->dk_path, line, line,
            "%s %.*s holds what looks like a secret (%s): remove it, rotate "
            "it, and pass it at run time or with RUN --mount=type=secret",
            instr, (int)klen, key, rule);
    return 0;
}

static int
docker_env_arg(struct dk *d, const char *args, size_t n, unsigned line,
               bool is_env)
{
    const char *instr = is_env ? "ENV" : "ARG";
    bool global = !is_env && d->dk_nstages == 0;
    size_t i;
    int error;

    if ((error = docker_split(d, args, n)) < 0)
        return error;
    if (d->dk_nwords == 0)
        return 0;
    if (is_env && strchr(d->dk_words[0].w_s, '=') == NULL) {
        /* the old form, ENV NAME value with blanks: the rest is the value */
        const struct dk_word *k = &d->dk_words[0];
        size_t at = 0, vs, ve;

        while (at < n && docker_space(args[at]))
            at++;
        while (at < n && !docker_space(args[at]))
            at++;
        for (vs = at; vs < n && docker_space(args[vs]); vs++)
            ;
        for (ve = n; ve > vs && docker_space(args[ve - 1]); ve--)
            ;
        if ((error = docker_set_var(d, k->w_s, k->w_len, args + vs, ve - vs,
                                    memchr(args + vs, '$', ve - vs) == NULL)) <
            0)
            return error;
        return docker_pair(d, instr, k->w_s, k->w_len, args + vs, ve - vs,
                           memchr(args + vs, '$', ve - vs) != NULL, line);
    }
    for (i = 0; i < d->dk_nwords; i++) {
        const struct dk_word *w = &d->dk_words[i];
        const char *eq = strchr(w->w_s, '=');
        size_t kl = eq != NULL ? (size_t)(eq - w->w_s) : w->w_len;
        const struct dk_var *g;

        if (kl == 0)
            continue;
        if (eq == NULL) {
            /* ARG NAME in a stage brings the global default in */
            g = global ? NULL : docker_lookup(d, 0, d->dk_nglobal, w->w_s, kl);
            error = docker_set_var(
                d, w->w_s, kl, g != NULL ? g->v_value : NULL,
                g != NULL && g->v_value != NULL ? strlen(g->v_value) : 0,
                g != NULL && g->v_value != NULL);
            if (error < 0)
                return error;
            continue;
        }
        if ((error = docker_set_var(d, w->w_s, kl, eq + 1, w->w_len - kl - 1,
                                    !w->w_var)) < 0)
            return error;
        if (global)
            d->dk_nglobal = d->dk_nvars;
        if ((error = docker_pair(d, instr, w->w_s, kl, eq + 1,
                                 w->w_len - kl - 1, w->w_var, line)) < 0)
            return error;
    }
    if (global)
        d->dk_nglobal = d->dk_nvars;
    return 0;
}

static int
docker_add(struct dk *d, const char *args, size_t n, unsigned line)
{
    bool checksum = false;
    size_t i;
    int error = 0;

    docker_skip_flags(&args, &n, &checksum);
    if (!docker_json(d, args, n, &error)) {
        if (error < 0 || (error = docker_split(d, args, n)) < 0)
            return error;
    }
    for (i = 0; i + 1 < d->dk_nwords; i++) {
        const char *src = d->dk_words[i].w_s, *host;
        size_t hl;
        bool git;

        if (strncasecmp(src, "http://", 7) == 0 ||
            strncasecmp(src, "https://", 8) == 0) {
            /* a checksum makes a download reproducible and safe */
            const char *dot = strstr(src, ".git");

            git = dot != NULL && (dot[4] == '\0' || dot[4] == '#');
            if (checksum && !git)
                continue;
        } else if (strncmp(src, "git@", 4) == 0 ||
                   strncasecmp(src, "git://", 6) == 0 ||
                   strncasecmp(src, "ssh://", 6) == 0) {
            git = true;
        } else {
            continue;
        }
        /* the host alone: a URL can carry a token in its user part */
        host = strstr(src, "://");
        host = host != NULL ? host + 3 : src;
        hl = strcspn(host, "/?#");
        if (memchr(host, '@', hl) != NULL) {
            const char *at = memchr(host, '@', hl);

            hl -= (size_t)(at + 1 - host);
            host = at + 1;
        }
        hl = strcspn(host, "/?#:");
        if (hl > 100)
            hl = 100;
        if (git)
            error = guard_report(
                d->dk_fs, docker_rules[DR_ADD_REMOTE].r_id, d->dk_path, line,
                line,
                "ADD clones a git repository from %.*s at build time: pin it "
                "by cloning a fixed commit in a RUN and checking it, or COPY "
                "a vendored copy",
                (int)hl, host);
        else
            error = guard_report(
                d->dk_fs, docker_rules[DR_ADD_REMOTE].r_id, d->dk_path, line,
                line,
                "ADD downloads from %.*s at build time without checking what "
                "it got: use ADD --checksum=sha256:..., download with curl "
                "and verify the sha256 in the RUN, or COPY a vendored file",
                (int)hl, host);
        if (error < 0)
            return error;
    }
    return 0;
}

static int
docker_healthcheck(struct dk *d, const char *args, size_t n)
{
    int error;

    if (d->dk_nstages == 0)
        return 0;
    docker_skip_flags(&args, &n, NULL);
    if ((error = docker_split(d, args, n)) < 0)
        return error;
    if (d->dk_nwords > 0)
        d->dk_stages[d->dk_nstages - 1].st_health =
            strcasecmp(d->dk_words[0].w_s, "NONE") != 0;
    return 0;
}

/* Whole-file rules, once every instruction is read. */
static int
docker_finish(struct dk *d, struct guard_docker_facts *df)
{
    const struct dk_stage *last;
    int error;

    if (d->dk_nstages == 0)
        return 0; /* no FROM: not a Dockerfile we can judge */
    last = &d->dk_stages[d->dk_nstages - 1];
    if (df != NULL)
        df->df_healthcheck = last->st_health;
    if (d->dk_nstages == 1 &&
        (error = guard_report(
             d->dk_fs, docker_rules[DR_SINGLE_STAGE].r_id, d->dk_path,
             d->dk_stages[0].st_line, d->dk_stages[0].st_line,
             "single-stage build: build in a first stage (FROM ... AS "
             "build) and COPY --from=build only what runs into a small "
             "final stage, so compilers, sources and build files stay "
             "out of the image")) < 0)
        return error;
    if (last->st_user == DK_USER_ROOT)
        return guard_report(d->dk_fs, docker_rules[DR_USER_ROOT].r_id,
                            d->dk_path, last->st_user_line, last->st_user_line,
                            "the final stage runs as root (USER %s): switch "
                            "to a non-root user after the steps that need "
                            "root, e.g. USER 65532:65532",
                            last->st_user_text != NULL ? last->st_user_text
                                                       : "root");
    if (last->st_user == DK_USER_BASE)
        return guard_report(d->dk_fs, docker_rules[DR_USER_ROOT].r_id,
                            d->dk_path, last->st_line, last->st_line,
                            "the final stage runs as root (no USER after "
                            "this FROM): add USER with a non-root uid after "
                            "the steps that need root, e.g. USER "
                            "65532:65532");
    return 0;
}

static void
docker_dispose(struct dk *d)
{
    size_t i;

    docker_drop_vars(d, 0);
    free(d->dk_vars);
    for (i = 0; i < d->dk_nstages; i++) {
        free(d->dk_stages[i].st_name);
        free(d->dk_stages[i].st_user_text);
    }
    free(d->dk_stages);
    free(d->dk_words);
    free(d->dk_buf);
    free(d->dk_scratch);
}

int
guard_dockerfile(struct paved_findings *fs, struct guard_docker_facts *df,
                 const char *path, const char *data, size_t len)
{
    struct dk d;
    unsigned line;
    int error = 0;

    if (df != NULL)
        memset(df, 0, sizeof(*df));
    memset(&d, 0, sizeof(d));
    d.dk_fs = fs;
    d.dk_path = path;
    d.dk_data = data != NULL ? data : "";
    d.dk_len = data != NULL ? len : 0;
    d.dk_escape = '\\';
    /* a logical line is never longer than the file, and its words with
     * their NULs never longer than twice that */
    if ((d.dk_buf = malloc(d.dk_len + 1)) == NULL ||
        (d.dk_scratch = malloc(2 * d.dk_len + 2)) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    docker_directives(&d);
    while (docker_next(&d, &line)) {
        const char *s = d.dk_buf, *args;
        size_t n = d.dk_blen, il, an;
        char instr[16];

        for (il = 0; il < n && !docker_space(s[il]); il++)
            ;
        args = s + il;
        an = n - il;
        while (an > 0 && docker_space(*args)) {
            args++;
            an--;
        }
        if (il >= sizeof(instr))
            continue;
        memcpy(instr, s, il);
        instr[il] = '\0';
        if (strcasecmp(instr, "RUN") == 0 || strcasecmp(instr, "COPY") == 0 ||
            strcasecmp(instr, "ADD") == 0)
            docker_skip_heredocs(&d, args, an);
        if (strcasecmp(instr, "FROM") == 0)
            error = docker_from(&d, args, an, line);
        else if (strcasecmp(instr, "USER") == 0)
            error = docker_user(&d, args, an, line);
        else if (strcasecmp(instr, "ENV") == 0)
            error = docker_env_arg(&d, args, an, line, true);
        else if (strcasecmp(instr, "ARG") == 0)
            error = docker_env_arg(&d, args, an, line, false);
        else if (strcasecmp(instr, "ADD") == 0)
            error = docker_add(&d, args, an, line);
        else if (strcasecmp(instr, "HEALTHCHECK") == 0)
            error = docker_healthcheck(&d, args, an);
        if (error < 0)
            goto out;
    }
    error = docker_finish(&d, df);
out:
    docker_dispose(&d);
    return error;
}
