/* Glob patterns for branches, tags, paths and repositories: `*` within a
 * path segment, `**` across segments, `?`, [classes], `\` escapes. The
 * pattern compiles to a small NFA that is simulated state-set by
 * state-set, so matching is linear in the subject whatever the pattern:
 * no backtracking a hostile branch name could make exponential. Never
 * allocates. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "paved/error.h"
#include "pipeline/pipeline_int.h"

enum gtok_type {
    G_LIT,      /* one byte */
    G_ANY,      /* ? */
    G_CLASS,    /* [...] */
    G_STAR,     /* * : any run without '/' */
    G_GLOBSTAR, /* ** not forming a whole segment: any run */
    G_OPTDIR,   /* the "**" of a whole "**" segment, at a segment start */
    G_OPTDIR_IN /* ... inside one of the segments it skips */
};

struct gtok {
    enum gtok_type t_type;
    unsigned char t_c;
    const char *t_cls; /* after '[' (and '!'), up to the closing ']' */
    size_t t_clslen;
    bool t_neg;
};

struct gprog {
    struct gtok p_tok[PL_MAX_GLOB + 1];
    size_t p_n;
};

/* Parses a class body at p (just after '['); sets *end past ']'. */
static int
glob_class(struct gtok *t, const char *p, const char **end, char *why,
           size_t whylen)
{
    const char *start;
    unsigned char lo, hi;

    t->t_type = G_CLASS;
    t->t_neg = false;
    if (*p == '!' || *p == '^') {
        t->t_neg = true;
        p++;
    }
    start = p;
    if (*p == ']') /* a leading ']' is a member */
        p++;
    while (*p != ']') {
        if (*p == '\0') {
            snprintf(why, whylen,
                     "\"[\" is not closed (write \\[ for a "
                     "literal bracket)");
            return PAVED_EINVAL;
        }
        if (*p == '\\') {
            if (p[1] == '\0') {
                snprintf(why, whylen, "\"[\" is not closed");
                return PAVED_EINVAL;
            }
            p++;
        }
        lo = (unsigned char)*p++;
        if (*p == '-' && p[1] != ']' && p[1] != '\0') {
            p++;
            if (*p == '\\' && p[1] != '\0')
                p++;
            hi = (unsigned char)*p++;
            if (hi < lo) {
                snprintf(why, whylen, "range %c-%c is reversed", lo, hi);
                return PAVED_EINVAL;
            }
        }
    }
    if (p == start) {
        snprintf(why, whylen, "empty character class \"[]\"");
        return PAVED_EINVAL;
    }
    t->t_cls = start;
    t->t_clslen = (size_t)(p - start);
    *end = p + 1;
    return 0;
}

static bool
glob_class_has(const struct gtok *t, unsigned char c)
{
    const char *p = t->t_cls, *end = t->t_cls + t->t_clslen;
    unsigned char lo, hi;
    bool in = false;

    if (p < end && *p == ']') {
        in = c == ']';
        p++;
    }
    while (p < end && !in) {
        if (*p == '\\')
            p++;
        lo = hi = (unsigned char)*p++;
        if (p + 1 < end && *p == '-') {
            p++;
            if (*p == '\\')
                p++;
            hi = (unsigned char)*p++;
        }
        in = c >= lo && c <= hi;
    }
    return in != t->t_neg;
}

static int
glob_compile(struct gprog *g, const char *pat, char *why, size_t whylen)
{
    const char *p = pat;
    struct gtok *t;
    size_t stars;
    int error;

    g->p_n = 0;
    if (*pat == '\0') {
        snprintf(why, whylen, "empty pattern");
        return PAVED_EINVAL;
    }
    if (strlen(pat) > PL_MAX_GLOB) {
        snprintf(why, whylen, "pattern longer than %d bytes", PL_MAX_GLOB);
        return PAVED_EINVAL;
    }
    while (*p != '\0') {
        t = &g->p_tok[g->p_n++];
        memset(t, 0, sizeof(*t));
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            snprintf(why, whylen, "control character in pattern");
            return PAVED_EINVAL;
        }
        switch (*p) {
        case '*':
            stars = strspn(p, "*");
            if (stars > 2) {
                snprintf(why, whylen,
                         "\"%.*s\" is not a pattern (use * "
                         "within a segment or ** across)",
                         (int)(stars > 8 ? 8 : stars), p);
                return PAVED_EINVAL;
            }
            if (stars == 1) {
                t->t_type = G_STAR;
                p++;
            } else if ((p == pat || p[-1] == '/') && p[2] == '/') {
                /* a whole segment: zero or more directories */
                t->t_type = G_OPTDIR;
                g->p_tok[g->p_n++].t_type = G_OPTDIR_IN;
                p += 3;
            } else {
                t->t_type = G_GLOBSTAR;
                p += 2;
            }
            break;
        case '?':
            t->t_type = G_ANY;
            p++;
            break;
        case '[':
            if ((error = glob_class(t, p + 1, &p, why, whylen)) < 0)
                return error;
            break;
        case '\\':
            if (p[1] == '\0') {
                snprintf(why, whylen, "pattern ends in a lone \"\\\"");
                return PAVED_EINVAL;
            }
            t->t_type = G_LIT;
            t->t_c = (unsigned char)p[1];
            p += 2;
            break;
        default:
            t->t_type = G_LIT;
            t->t_c = (unsigned char)*p++;
            break;
        }
    }
    return 0;
}

/* Follows the empty moves; they only go forward, so one pass is enough. */
static void
glob_closure(const struct gprog *g, unsigned char *set)
{
    size_t i;

    for (i = 0; i < g->p_n; i++) {
        if (!set[i])
            continue;
        switch (g->p_tok[i].t_type) {
        case G_STAR:
        case G_GLOBSTAR:
            set[i + 1] = 1;
            break;
        case G_OPTDIR:
            set[i + 2] = 1;
            break;
        default:
            break;
        }
    }
}

static bool
glob_run(const struct gprog *g, const char *s)
{
    unsigned char a[PL_MAX_GLOB + 2], b[PL_MAX_GLOB + 2];
    unsigned char *cur = a, *next = b, *swap, c;
    const struct gtok *t;
    bool any;
    size_t i;

    memset(cur, 0, g->p_n + 1);
    cur[0] = 1;
    glob_closure(g, cur);
    for (; *s != '\0'; s++) {
        c = (unsigned char)*s;
        memset(next, 0, g->p_n + 1);
        any = false;
        for (i = 0; i < g->p_n; i++) {
            if (!cur[i])
                continue;
            t = &g->p_tok[i];
            switch (t->t_type) {
            case G_LIT:
                if (c == t->t_c)
                    next[i + 1] = 1;
                break;
            case G_ANY:
                if (c != '/')
                    next[i + 1] = 1;
                break;
            case G_CLASS:
                if (c != '/' && glob_class_has(t, c))
                    next[i + 1] = 1;
                break;
            case G_STAR:
                if (c != '/')
                    next[i] = 1;
                break;
            case G_GLOBSTAR:
                next[i] = 1;
                break;
            case G_OPTDIR: /* a '/' here is an empty segment: stay */
                next[c == '/' ? i : i + 1] = 1;
                break;
            case G_OPTDIR_IN:
                next[c == '/' ? i - 1 : i] = 1;
                break;
            }
        }
        glob_closure(g, next);
        for (i = 0; i <= g->p_n && !any; i++)
            any = next[i] != 0;
        if (!any)
            return false;
        swap = cur;
        cur = next;
        next = swap;
    }
    return cur[g->p_n] != 0;
}

int
paved_pipeline_glob_check(const char *pattern, char *why, size_t whylen)
{
    struct gprog g;

    return glob_compile(&g, pattern, why, whylen);
}

bool
paved_pipeline_glob_match(const char *pattern, const char *s)
{
    struct gprog g;
    char why[128];

    if (pattern == NULL || s == NULL ||
        glob_compile(&g, pattern, why, sizeof(why)) < 0)
        return false;
    return glob_run(&g, s);
}

bool
pl_globs_match(const struct pl_globs *gl, const char *s)
{
    bool matched;
    size_t i;

    if (gl->g_n == 0)
        return false;
    matched = gl->g_items[0][0] == '!';
    for (i = 0; i < gl->g_n; i++) {
        const char *p = gl->g_items[i];
        bool neg = p[0] == '!';
        if (paved_pipeline_glob_match(neg ? p + 1 : p, s))
            matched = !neg;
    }
    return matched;
}

void
pl_globs_clear(struct pl_globs *gl)
{
    size_t i;

    for (i = 0; i < gl->g_n; i++)
        free(gl->g_items[i]);
    free(gl->g_items);
    memset(gl, 0, sizeof(*gl));
}
