/* The golden-path template language (see include/paved/tmpl.h and
 * docs/templates.md). A template is parsed into a flat array of nodes
 * where a section knows the index just past its body, so rendering is one
 * loop with no recursion whatever the nesting. Never touches files and
 * keeps no state outside the template and the caller's variables. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "paved/buf.h"
#include "paved/error.h"
#include "paved/text.h"
#include "paved/tmpl.h"

enum tmpl_kind { TMPL_TEXT, TMPL_VAR, TMPL_SECTION, TMPL_INVERTED };

struct tmpl_node {
    enum tmpl_kind tn_kind;
    size_t tn_off; /* text, or the name, in t_data */
    size_t tn_len;
    unsigned tn_line; /* of the tag's "{{", 1-based; 0 for text */
    unsigned tn_col;
    size_t tn_end; /* sections: index of the first node after the body */
};

struct paved_tmpl {
    char *t_name;
    char *t_data; /* NUL-terminated copy of the source */
    size_t t_len;
    struct tmpl_node *t_nodes;
    size_t t_n;
    size_t t_cap;
};

struct tmpl_parser {
    paved_tmpl *p_t;
    const char *p_d;
    size_t p_len;
    size_t p_at;         /* offset the line counters below describe */
    unsigned p_line;     /* line of p_at, 1-based */
    size_t p_line_start; /* offset of the first byte of that line */
    size_t p_tag_end;    /* offset after the last tag */
    size_t p_open[PAVED_TMPL_MAX_DEPTH]; /* node index of open sections */
    size_t p_depth;
};

/* A name from the template or the caller, shown safely in a message. */
static const char *
tmpl_show(char *dst, size_t n, const char *s, size_t len)
{
    char tmp[48];

    if (len > sizeof(tmp) - 1)
        len = sizeof(tmp) - 1; /* paved_text_show cuts at 40 with "..." */
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    return paved_text_show(dst, n, tmp);
}

/* Line counting only moves forward, so a 1 MiB template with many tags
 * is counted once, not once per tag. */
static void
tmpl_advance(struct tmpl_parser *p, size_t to)
{
    const char *nl;

    while (p->p_at < to &&
           (nl = memchr(p->p_d + p->p_at, '\n', to - p->p_at)) != NULL) {
        p->p_line++;
        p->p_at = (size_t)(nl - p->p_d) + 1;
        p->p_line_start = p->p_at;
    }
    if (p->p_at < to)
        p->p_at = to;
}

static int
tmpl_push(struct tmpl_parser *p, enum tmpl_kind kind, size_t off, size_t len,
          unsigned line, unsigned col)
{
    paved_tmpl *t = p->p_t;
    struct tmpl_node *n;

    if (kind == TMPL_TEXT && len == 0)
        return 0;
    if (t->t_n == t->t_cap) {
        size_t cap = t->t_cap ? t->t_cap * 2 : 16;

        if ((n = realloc(t->t_nodes, cap * sizeof(*n))) == NULL)
            return paved_error_set(PAVED_ENOMEM, "%s: out of memory",
                                   t->t_name);
        t->t_nodes = n;
        t->t_cap = cap;
    }
    n = &t->t_nodes[t->t_n++];
    n->tn_kind = kind;
    n->tn_off = off;
    n->tn_len = len;
    n->tn_line = line;
    n->tn_col = col;
    n->tn_end = 0;
    return 0;
}

/* [a-z][a-z0-9_]* parts joined by single dots. */
static bool
tmpl_name_ok(const char *s, size_t len)
{
    size_t i;
    bool start = true;

    if (len == 0)
        return false;
    for (i = 0; i < len; i++) {
        char c = s[i];

        if (start) {
            if (c < 'a' || c > 'z')
                return false;
            start = false;
        } else if (c == '.') {
            start = true;
        } else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                     c == '_')) {
            return false;
        }
    }
    return !start;
}

static bool
tmpl_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* If the tag [at, end) is alone on its line (only blanks around it), where the
 * line starts and where the next line starts; the whole line then goes, so that
 * section tags can have lines of their own without leaving blank lines in the
 * output. */
static bool
tmpl_standalone(const struct tmpl_parser *p, size_t at, size_t end,
                size_t *line_start, size_t *next)
{
    size_t i;

    /* a tag before it on this line is not blank: say so without scanning
     * the line again, so that a line of many tags stays linear */
    if (p->p_tag_end > p->p_line_start)
        return false;
    for (i = p->p_line_start; i < at; i++)
        if (!tmpl_blank(p->p_d[i]))
            return false;
    for (i = end; i < p->p_len && tmpl_blank(p->p_d[i]); i++)
        ;
    if (i == p->p_len)
        *next = i;
    else if (p->p_d[i] == '\n')
        *next = i + 1;
    else if (p->p_d[i] == '\r' && i + 1 < p->p_len && p->p_d[i + 1] == '\n')
        *next = i + 2;
    else
        return false;
    *line_start = p->p_line_start;
    return true;
}

static int
tmpl_close(struct tmpl_parser *p, const char *name, size_t len, unsigned line,
           unsigned col)
{
    paved_tmpl *t = p->p_t;
    struct tmpl_node *open;
    const char *want;

    /* names are checked before this, so they are safe to print as is */
    if (p->p_depth == 0)
        return paved_error_set(PAVED_EINVAL,
                               "%s:%u:%u: {{/%.*s}} closes no section: remove "
                               "it or open one with {{#%.*s}} before it",
                               t->t_name, line, col, (int)len, name, (int)len,
                               name);
    open = &t->t_nodes[p->p_open[p->p_depth - 1]];
    want = t->t_data + open->tn_off;
    if (open->tn_len != len || memcmp(want, name, len) != 0)
        return paved_error_set(
            PAVED_EINVAL,
            "%s:%u:%u: {{/%.*s}} does not match section \"%.*s\" opened at "
            "%u:%u: close that one first with {{/%.*s}}",
            t->t_name, line, col, (int)len, name, (int)open->tn_len, want,
            open->tn_line, open->tn_col, (int)open->tn_len, want);
    open->tn_end = t->t_n;
    p->p_depth--;
    return 0;
}

/* One tag starting at "{{" at offset at; *next is where text resumes. */
static int
tmpl_tag(struct tmpl_parser *p, size_t at, size_t *text_start, size_t *next)
{
    paved_tmpl *t = p->p_t;
    const char *d = p->p_d, *close;
    char sigil = at + 2 < p->p_len ? d[at + 2] : '\0';
    size_t from, to, end, ls, after;
    unsigned line, col;
    char shown[64];
    enum tmpl_kind kind = TMPL_VAR;
    int error;

    tmpl_advance(p, at);
    line = p->p_line;
    col = (unsigned)(at - p->p_line_start + 1);
    if (sigil == '!') {
        /* comments may span lines, like Mustache's */
        close = memmem(d + at + 3, p->p_len - at - 3, "}}", 2);
        if (close == NULL)
            return paved_error_set(PAVED_EINVAL,
                                   "%s:%u:%u: comment never closed: end it "
                                   "with \"}}\"",
                                   t->t_name, line, col);
    } else {
        const char *nl = memchr(d + at, '\n', p->p_len - at);
        size_t lim = nl != NULL ? (size_t)(nl - d) : p->p_len;

        close = memmem(d + at + 2, lim - at - 2, "}}", 2);
        if (close == NULL)
            return paved_error_set(
                PAVED_EINVAL,
                "%s:%u:%u: unclosed tag \"{{\": end it with \"}}\" on the same "
                "line, or write \\{{ for a literal \"{{\"",
                t->t_name, line, col);
    }
    end = (size_t)(close - d) + 2;
    if (sigil == '>' || sigil == '&' || sigil == '{' || sigil == '=')
        return paved_error_set(
            PAVED_EINVAL,
            "%s:%u:%u: \"{{%c\" is not supported: templates have only "
            "{{name}}, {{#name}}, {{^name}}, {{/name}} and {{! comment}}, and "
            "values are always escaped for the file",
            t->t_name, line, col, sigil);
    from = at + 2;
    if (sigil == '#' || sigil == '^' || sigil == '/' || sigil == '!')
        from++;
    to = end - 2;
    while (from < to && tmpl_blank(d[from]))
        from++;
    while (to > from && tmpl_blank(d[to - 1]))
        to--;
    if (sigil != '!' && !tmpl_name_ok(d + from, to - from))
        return paved_error_set(
            PAVED_EINVAL,
            "%s:%u:%u: bad name %s: a name is lowercase "
            "letters, digits and '_', starting with a "
            "letter, parts joined by '.' (service.name)",
            t->t_name, line, col,
            tmpl_show(shown, sizeof(shown), d + from, to - from));
    if (sigil == '#' || sigil == '^' || sigil == '/' || sigil == '!') {
        if (!tmpl_standalone(p, at, end, &ls, &after)) {
            ls = at;
            after = end;
        }
    } else {
        ls = at;
        after = end;
    }
    if ((error = tmpl_push(p, TMPL_TEXT, *text_start, ls - *text_start, 0, 0)) <
        0)
        return error;
    if (sigil == '/') {
        if ((error = tmpl_close(p, d + from, to - from, line, col)) < 0)
            return error;
    } else if (sigil != '!') {
        if (sigil == '#' || sigil == '^') {
            kind = sigil == '#' ? TMPL_SECTION : TMPL_INVERTED;
            if (p->p_depth == PAVED_TMPL_MAX_DEPTH)
                return paved_error_set(
                    PAVED_EINVAL,
                    "%s:%u:%u: sections nested deeper than %d: flatten the "
                    "template or split it into files",
                    t->t_name, line, col, PAVED_TMPL_MAX_DEPTH);
            p->p_open[p->p_depth++] = t->t_n;
        }
        if ((error = tmpl_push(p, kind, from, to - from, line, col)) < 0)
            return error;
    }
    *text_start = after;
    *next = after;
    p->p_tag_end = end;
    return 0;
}

static int
tmpl_parse(struct tmpl_parser *p)
{
    paved_tmpl *t = p->p_t;
    const char *d = p->p_d, *hit;
    size_t pos = 0, text_start = 0, at;
    char shown[64];
    int error;

    while (pos < p->p_len) {
        hit = memmem(d + pos, p->p_len - pos, "{{", 2);
        if (hit == NULL)
            break;
        at = (size_t)(hit - d);
        if (at > text_start && d[at - 1] == '\\') {
            /* drop the backslash; "{{" starts the next piece of text */
            if ((error = tmpl_push(p, TMPL_TEXT, text_start,
                                   at - 1 - text_start, 0, 0)) < 0)
                return error;
            text_start = at;
            pos = at + 2;
            continue;
        }
        if ((error = tmpl_tag(p, at, &text_start, &pos)) < 0)
            return error;
    }
    if (p->p_depth > 0) {
        const struct tmpl_node *open = &t->t_nodes[p->p_open[p->p_depth - 1]];

        tmpl_show(shown, sizeof(shown), d + open->tn_off, open->tn_len);
        return paved_error_set(PAVED_EINVAL,
                               "%s:%u:%u: section %s is never closed: add "
                               "{{/%.*s}} where it ends",
                               t->t_name, open->tn_line, open->tn_col, shown,
                               (int)open->tn_len, d + open->tn_off);
    }
    return tmpl_push(p, TMPL_TEXT, text_start, p->p_len - text_start, 0, 0);
}

int
paved_tmpl_parse(paved_tmpl **out, const char *name, const char *data,
                 size_t len)
{
    struct tmpl_parser p;
    paved_tmpl *t = NULL;
    const char *nul;
    int error;

    *out = NULL;
    if (name == NULL)
        name = "template";
    if (len > PAVED_TMPL_MAX_SIZE) {
        error = paved_error_set(PAVED_EINVAL,
                                "%s:1:1: template is %zu bytes, over the "
                                "1 MiB limit: split it into smaller files",
                                name, len);
        goto out;
    }
    if ((t = calloc(1, sizeof(*t))) == NULL ||
        (t->t_name = strdup(name)) == NULL ||
        (t->t_data = malloc(len + 1)) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "%s: out of memory", name);
        goto out;
    }
    if (len > 0)
        memcpy(t->t_data, data, len);
    t->t_data[len] = '\0';
    t->t_len = len;
    memset(&p, 0, sizeof(p));
    p.p_t = t;
    p.p_d = t->t_data;
    p.p_len = len;
    p.p_line = 1;
    if ((nul = memchr(t->t_data, '\0', len)) != NULL) {
        tmpl_advance(&p, (size_t)(nul - t->t_data));
        error = paved_error_set(PAVED_EINVAL,
                                "%s:%u:%zu: NUL byte in template: templates "
                                "are text; remove it",
                                name, p.p_line,
                                (size_t)(nul - t->t_data) - p.p_line_start + 1);
        goto out;
    }
    if ((error = tmpl_parse(&p)) < 0)
        goto out;
    *out = t;
    t = NULL;
out:
    paved_tmpl_free(t);
    return error;
}

void
paved_tmpl_free(paved_tmpl *t)
{
    if (t == NULL)
        return;
    free(t->t_name);
    free(t->t_data);
    free(t->t_nodes);
    free(t);
}

/* ---- rendering ---- */

/* The inside of a double-quoted string that is both valid JSON and a YAML
 * double-quoted scalar reading back as exactly s. Beyond what JSON needs,
 * escapes what YAML readers refuse or fold (DEL, C1 controls with NEL,
 * U+2028/2029 line breaks, U+FEFF, U+FFFE/FFFF). PAVED_EINVAL when s is
 * not UTF-8, since neither format can carry it. */
static int
tmpl_put_quoted(struct paved_buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s), i = 0, run = 0, k;
    uint32_t cp;
    char esc[7];
    int error;

    while (i < len) {
        const char *put = NULL;

        if ((k = paved_utf8_decode(p + i, len - i, &cp)) == 0)
            return PAVED_EINVAL; /* the caller says which variable */
        switch (cp) {
        case '"':
            put = "\\\"";
            break;
        case '\\':
            put = "\\\\";
            break;
        case '\b':
            put = "\\b";
            break;
        case '\f':
            put = "\\f";
            break;
        case '\n':
            put = "\\n";
            break;
        case '\r':
            put = "\\r";
            break;
        case '\t':
            put = "\\t";
            break;
        default:
            if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 ||
                cp == 0x2029 || cp == 0xfeff || cp == 0xfffe || cp == 0xffff) {
                esc[0] = '\\';
                esc[1] = 'u';
                esc[2] = hex[(cp >> 12) & 15];
                esc[3] = hex[(cp >> 8) & 15];
                esc[4] = hex[(cp >> 4) & 15];
                esc[5] = hex[cp & 15];
                esc[6] = '\0';
                put = esc;
            }
        }
        if (put != NULL) {
            if ((i > run && (error = paved_buf_put(b, s + run, i - run)) < 0) ||
                (error = paved_buf_puts(b, put)) < 0)
                return error;
            run = i + k;
        }
        i += k;
    }
    if (i > run && (error = paved_buf_put(b, s + run, i - run)) < 0)
        return error;
    return 0;
}

/* A word any YAML 1.1 or 1.2 reader takes as this very string when
 * written plain: [A-Za-z0-9._/-], starting with a letter or '/' (digits,
 * '.', '-' and '+' start numbers, .inf, "-" and "---"), and none of the
 * words YAML 1.1 reads as booleans or null, in any case. */
static bool
tmpl_yaml_plain(const char *s)
{
    static const char *const words[] = {"y",   "n",    "yes",   "no",  "on",
                                        "off", "true", "false", "null"};
    size_t i;

    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
          s[0] == '/'))
        return false;
    for (i = 1; s[i] != '\0'; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '/' ||
              c == '-'))
            return false;
    }
    for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strcasecmp(s, words[i]) == 0)
            return false;
    return true;
}

static int
tmpl_put_value(struct paved_buf *b, const char *v, enum paved_tmpl_escape esc)
{
    int error;

    switch (esc) {
    case PAVED_TMPL_YAML:
        if (tmpl_yaml_plain(v))
            return paved_buf_puts(b, v);
        if ((error = paved_buf_putc(b, '"')) < 0 ||
            (error = tmpl_put_quoted(b, v)) < 0)
            return error;
        return paved_buf_putc(b, '"');
    case PAVED_TMPL_JSON:
        return tmpl_put_quoted(b, v);
    case PAVED_TMPL_RAW:
    default:
        return paved_buf_puts(b, v);
    }
}

static bool
tmpl_true(const char *v)
{
    return v != NULL && v[0] != '\0' && strcmp(v, "false") != 0;
}

static int
tmpl_unknown(const paved_tmpl *t, const struct tmpl_node *n,
             const struct paved_tmpl_var *vars, size_t nvars)
{
    struct paved_buf known = PAVED_BUF_INIT(1024);
    char shown[64];
    size_t i;
    int error;

    for (i = 0; i < nvars && known.b_len < 400; i++) {
        if (paved_buf_printf(&known, "%s%s", i > 0 ? ", " : "",
                             vars[i].tv_name != NULL ? vars[i].tv_name : "") <
            0)
            break;
    }
    if (i < nvars)
        (void)paved_buf_puts(&known, ", ...");
    tmpl_show(shown, sizeof(shown), t->t_data + n->tn_off, n->tn_len);
    error = paved_error_set(
        PAVED_EINVAL, "%s:%u:%u: unknown variable %s (known: %s)", t->t_name,
        n->tn_line, n->tn_col, shown, known.b_len > 0 ? known.b_ptr : "none");
    paved_buf_dispose(&known);
    return error;
}

int
paved_tmpl_render(char **out, size_t *len, const paved_tmpl *t,
                  const struct paved_tmpl_var *vars, size_t n,
                  enum paved_tmpl_escape esc)
{
    struct paved_buf b = PAVED_BUF_INIT(PAVED_TMPL_MAX_OUTPUT);
    const char **val = NULL;
    const struct tmpl_node *nd;
    char shown[64];
    size_t i, j;
    int error = 0;

    *out = NULL;
    if (len != NULL)
        *len = 0;
    /* every name up front, so a typo inside a section that is off today
     * fails now and not on the day someone turns the flag on */
    if (t->t_n > 0 && (val = calloc(t->t_n, sizeof(*val))) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "%s: out of memory", t->t_name);
        goto out;
    }
    for (i = 0; i < t->t_n; i++) {
        nd = &t->t_nodes[i];
        if (nd->tn_kind == TMPL_TEXT)
            continue;
        for (j = 0; j < n; j++)
            if (vars[j].tv_name != NULL &&
                strncmp(vars[j].tv_name, t->t_data + nd->tn_off, nd->tn_len) ==
                    0 &&
                vars[j].tv_name[nd->tn_len] == '\0')
                break;
        if (j == n) {
            error = tmpl_unknown(t, nd, vars, n);
            goto out;
        }
        val[i] = vars[j].tv_value;
    }
    for (i = 0; i < t->t_n;) {
        nd = &t->t_nodes[i];
        switch (nd->tn_kind) {
        case TMPL_TEXT:
            error = paved_buf_put(&b, t->t_data + nd->tn_off, nd->tn_len);
            i++;
            break;
        case TMPL_VAR:
            tmpl_show(shown, sizeof(shown), t->t_data + nd->tn_off, nd->tn_len);
            if (val[i] == NULL) {
                error = paved_error_set(
                    PAVED_EINVAL,
                    "%s:%u:%u: variable %s has no value: give it one, or "
                    "use it only inside {{#%.*s}}...{{/%.*s}}",
                    t->t_name, nd->tn_line, nd->tn_col, shown, (int)nd->tn_len,
                    t->t_data + nd->tn_off, (int)nd->tn_len,
                    t->t_data + nd->tn_off);
                goto out;
            }
            if ((error = tmpl_put_value(&b, val[i], esc)) == PAVED_EINVAL) {
                error = paved_error_set(
                    PAVED_EINVAL,
                    "%s:%u:%u: variable %s is not valid UTF-8, which %s "
                    "cannot hold: pass UTF-8 text",
                    t->t_name, nd->tn_line, nd->tn_col, shown,
                    esc == PAVED_TMPL_YAML ? "YAML" : "JSON");
                goto out;
            }
            i++;
            break;
        case TMPL_SECTION:
        case TMPL_INVERTED:
            if (tmpl_true(val[i]) == (nd->tn_kind == TMPL_SECTION))
                i++;
            else
                i = nd->tn_end;
            break;
        }
        if (error == PAVED_ETOOBIG) {
            error = paved_error_set(PAVED_ETOOBIG,
                                    "%s: rendered output over the %u MiB "
                                    "limit: split the template",
                                    t->t_name, PAVED_TMPL_MAX_OUTPUT >> 20);
            goto out;
        }
        if (error < 0)
            goto out;
    }
    *out = paved_buf_detach(&b, len);
out:
    free(val);
    paved_buf_dispose(&b);
    return error;
}

enum paved_tmpl_escape
paved_tmpl_escape_for(const char *path)
{
    size_t n = path != NULL ? strlen(path) : 0;
    const char *dot = NULL;
    size_t i;

    if (n >= 5 && strcasecmp(path + n - 5, ".tmpl") == 0)
        n -= 5;
    for (i = n; i > 0; i--) {
        if (path[i - 1] == '/')
            break;
        if (path[i - 1] == '.') {
            dot = path + i - 1;
            break;
        }
    }
    if (dot == NULL)
        return PAVED_TMPL_RAW;
    n -= (size_t)(dot - path);
    if ((n == 5 && strncasecmp(dot, ".yaml", 5) == 0) ||
        (n == 4 && strncasecmp(dot, ".yml", 4) == 0))
        return PAVED_TMPL_YAML;
    if (n == 5 && strncasecmp(dot, ".json", 5) == 0)
        return PAVED_TMPL_JSON;
    return PAVED_TMPL_RAW;
}
