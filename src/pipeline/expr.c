/* The `if` expressions of steps: a tiny language parsed once at load time
 * into a tree, evaluated against an event later. Event text is only ever
 * a value compared to a literal: nothing is spliced into the expression
 * and parsed again, so a branch named "main' || 'x" is just a string that
 * is not 'main'. Never allocates while evaluating.
 *
 *   or      := and ('||' and)*
 *   and     := unary ('&&' unary)*
 *   unary   := '!' unary | '(' or ')' | compare
 *   compare := operand [('==' | '!=' | '=~' | '!~') operand] | true | false
 *   operand := field | 'literal'          ('' inside is one quote)
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "paved/error.h"
#include "pipeline/pipeline_int.h"

#define EXPR_MAX_NEST 32

enum xfield {
    XF_EVENT,
    XF_BRANCH,
    XF_TAG,
    XF_REF,
    XF_REPO,
    XF_ACTOR,
    XF_PR_NUMBER,
    XF_ACTION,
    XF_BASE,
    XF__COUNT
};

static const char *const expr_fields[XF__COUNT] = {
    [XF_EVENT] = "event",
    [XF_BRANCH] = "branch",
    [XF_TAG] = "tag",
    [XF_REF] = "ref",
    [XF_REPO] = "repo",
    [XF_ACTOR] = "actor",
    [XF_PR_NUMBER] = "pr_number",
    [XF_ACTION] = "action",
    [XF_BASE] = "base",
};

enum xop {
    X_OR,
    X_AND,
    X_NOT,
    X_CONST,
    X_TRUTHY, /* a field alone: true when not empty */
    X_EQ,
    X_NE,
    X_GLOB,
    X_NGLOB
};

struct xoperand {
    int o_field; /* enum xfield, or -1 for a literal */
    char *o_lit;
};

struct xnode {
    enum xop x_op;
    bool x_const;
    struct xoperand x_l, x_r;
    struct xnode **x_kids; /* or, and, not */
    size_t x_nkids;
};

struct paved_pipeline_expr {
    struct xnode *ex_root;
};

enum xtok {
    T_END,
    T_FIELD,
    T_TRUE,
    T_FALSE,
    T_STRING,
    T_EQ,
    T_NE,
    T_GLOB,
    T_NGLOB,
    T_AND,
    T_OR,
    T_NOT,
    T_LPAREN,
    T_RPAREN
};

struct xparse {
    const char *xp_text;
    size_t xp_pos;
    enum xtok xp_tok;
    size_t xp_tokpos; /* where the current token starts */
    int xp_field;
    char *xp_str; /* T_STRING's value, owned until taken */
    size_t xp_errpos;
    int xp_error;
    unsigned xp_nest;
};

static void
expr_node_free(struct xnode *x)
{
    size_t i;

    if (x == NULL)
        return;
    for (i = 0; i < x->x_nkids; i++)
        expr_node_free(x->x_kids[i]);
    free(x->x_kids);
    free(x->x_l.o_lit);
    free(x->x_r.o_lit);
    free(x);
}

void
paved_pipeline_expr_free(paved_pipeline_expr *ex)
{
    if (ex == NULL)
        return;
    expr_node_free(ex->ex_root);
    free(ex);
}

static int xparse_fail(struct xparse *xp, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
xparse_fail(struct xparse *xp, size_t pos, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    if (xp->xp_error < 0) /* keep the first: it is the cause */
        return xp->xp_error;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    xp->xp_errpos = pos;
    xp->xp_error = paved_error_set(PAVED_EINVAL, "%s", msg);
    return xp->xp_error;
}

static int
xparse_nomem(struct xparse *xp)
{
    xp->xp_error = paved_error_set(PAVED_ENOMEM, "out of memory");
    return xp->xp_error;
}

static int
xparse_string(struct xparse *xp)
{
    const char *t = xp->xp_text;
    size_t i = xp->xp_pos + 1, o = 0;
    char *s;

    /* at most as long as the rest of the text */
    if ((s = malloc(strlen(t + i) + 1)) == NULL)
        return xparse_nomem(xp);
    for (;; i++) {
        if (t[i] == '\0') {
            free(s);
            return xparse_fail(xp, xp->xp_pos,
                               "string is not closed (add a ' at the "
                               "end)");
        }
        if (t[i] == '\'') {
            if (t[i + 1] != '\'')
                break;
            i++; /* '' is one quote */
        }
        s[o++] = t[i];
    }
    s[o] = '\0';
    xp->xp_str = s;
    xp->xp_pos = i + 1;
    return 0;
}

static int
xparse_word(struct xparse *xp)
{
    const char *t = xp->xp_text + xp->xp_pos, *guess;
    char word[64];
    size_t n, i;

    for (n = 0; isalnum((unsigned char)t[n]) || t[n] == '_'; n++)
        ;
    xp->xp_pos += n;
    if (n >= sizeof(word))
        return xparse_fail(xp, xp->xp_tokpos, "unknown name \"%.20s...\"", t);
    memcpy(word, t, n);
    word[n] = '\0';
    if (strcmp(word, "true") == 0) {
        xp->xp_tok = T_TRUE;
        return 0;
    }
    if (strcmp(word, "false") == 0) {
        xp->xp_tok = T_FALSE;
        return 0;
    }
    for (i = 0; i < XF__COUNT; i++) {
        if (strcmp(word, expr_fields[i]) == 0) {
            xp->xp_tok = T_FIELD;
            xp->xp_field = (int)i;
            return 0;
        }
    }
    if ((guess = paved_text_suggest(word, expr_fields, XF__COUNT)) != NULL)
        return xparse_fail(xp, xp->xp_tokpos,
                           "unknown name \"%s\" (did you mean \"%s\"?)", word,
                           guess);
    return xparse_fail(xp, xp->xp_tokpos,
                       "unknown name \"%s\" (use event, branch, tag, ref, "
                       "repo, actor, pr_number, action or base; strings "
                       "need 'single quotes')",
                       word);
}

/* Reads the next token into xp. */
static int
xparse_next(struct xparse *xp)
{
    const char *t = xp->xp_text;
    char c;

    free(xp->xp_str);
    xp->xp_str = NULL;
    while (t[xp->xp_pos] == ' ' || t[xp->xp_pos] == '\t' ||
           t[xp->xp_pos] == '\n' || t[xp->xp_pos] == '\r')
        xp->xp_pos++;
    xp->xp_tokpos = xp->xp_pos;
    c = t[xp->xp_pos];
    if (c == '\0') {
        xp->xp_tok = T_END;
        return 0;
    }
    if (c == '\'') {
        xp->xp_tok = T_STRING;
        return xparse_string(xp);
    }
    if (isalpha((unsigned char)c) || c == '_')
        return xparse_word(xp);
    if ((c == '=' || c == '!') &&
        (t[xp->xp_pos + 1] == '=' || t[xp->xp_pos + 1] == '~')) {
        xp->xp_tok = c == '=' ? (t[xp->xp_pos + 1] == '=' ? T_EQ : T_GLOB)
                              : (t[xp->xp_pos + 1] == '=' ? T_NE : T_NGLOB);
        xp->xp_pos += 2;
        return 0;
    }
    if ((c == '&' || c == '|') && t[xp->xp_pos + 1] == c) {
        xp->xp_tok = c == '&' ? T_AND : T_OR;
        xp->xp_pos += 2;
        return 0;
    }
    xp->xp_pos++;
    switch (c) {
    case '!':
        xp->xp_tok = T_NOT;
        return 0;
    case '(':
        xp->xp_tok = T_LPAREN;
        return 0;
    case ')':
        xp->xp_tok = T_RPAREN;
        return 0;
    case '=':
        return xparse_fail(xp, xp->xp_tokpos,
                           "\"=\" is not an operator (use == to compare "
                           "or =~ to match a pattern)");
    case '&':
        return xparse_fail(xp, xp->xp_tokpos,
                           "\"&\" is not an operator "
                           "(use &&)");
    case '|':
        return xparse_fail(xp, xp->xp_tokpos,
                           "\"|\" is not an operator "
                           "(use ||)");
    case '"':
        return xparse_fail(xp, xp->xp_tokpos,
                           "strings take single quotes: 'main'");
    default:
        if ((unsigned char)c < 0x20 || (unsigned char)c >= 0x7f)
            return xparse_fail(xp, xp->xp_tokpos, "unexpected byte 0x%02x",
                               (unsigned)(unsigned char)c);
        return xparse_fail(xp, xp->xp_tokpos, "unexpected \"%c\"", c);
    }
}

static struct xnode *
xnode_new(struct xparse *xp, enum xop op)
{
    struct xnode *x;

    if ((x = calloc(1, sizeof(*x))) == NULL) {
        xparse_nomem(xp);
        return NULL;
    }
    x->x_op = op;
    x->x_l.o_field = x->x_r.o_field = -1;
    return x;
}

static int
xnode_add(struct xparse *xp, struct xnode *parent, struct xnode *kid)
{
    struct xnode **kids;

    kids = realloc(parent->x_kids, (parent->x_nkids + 1) * sizeof(*kids));
    if (kids == NULL) {
        expr_node_free(kid);
        return xparse_nomem(xp);
    }
    parent->x_kids = kids;
    kids[parent->x_nkids++] = kid;
    return 0;
}

static const char *
xtok_name(enum xtok t)
{
    switch (t) {
    case T_END:
        return "the end";
    case T_FIELD:
        return "a name";
    case T_TRUE:
    case T_FALSE:
        return "true/false";
    case T_STRING:
        return "a string";
    case T_EQ:
    case T_NE:
    case T_GLOB:
    case T_NGLOB:
        return "a comparison";
    case T_AND:
        return "\"&&\"";
    case T_OR:
        return "\"||\"";
    case T_NOT:
        return "\"!\"";
    case T_LPAREN:
        return "\"(\"";
    case T_RPAREN:
        return "\")\"";
    }
    return "?";
}

/* Takes the current token as an operand. */
static int
xparse_operand(struct xparse *xp, struct xoperand *o)
{
    if (xp->xp_tok == T_FIELD) {
        o->o_field = xp->xp_field;
    } else if (xp->xp_tok == T_STRING) {
        o->o_field = -1;
        o->o_lit = xp->xp_str;
        xp->xp_str = NULL;
    } else {
        return xparse_fail(xp, xp->xp_tokpos,
                           "expected a name or a 'string', got %s",
                           xtok_name(xp->xp_tok));
    }
    return xparse_next(xp);
}

static int xparse_or(struct xparse *xp, struct xnode **out);

static int
xparse_compare(struct xparse *xp, struct xnode **out)
{
    struct xnode *x = NULL;
    size_t lpos = xp->xp_tokpos, rpos;
    char why[128];
    int error;

    if (xp->xp_tok == T_TRUE || xp->xp_tok == T_FALSE) {
        if ((x = xnode_new(xp, X_CONST)) == NULL)
            return xp->xp_error;
        x->x_const = xp->xp_tok == T_TRUE;
        /* *out is set only on success: callers free nothing on error */
        if ((error = xparse_next(xp)) < 0) {
            expr_node_free(x);
            return error;
        }
        *out = x;
        return 0;
    }
    if ((x = xnode_new(xp, X_TRUTHY)) == NULL)
        return xp->xp_error;
    if ((error = xparse_operand(xp, &x->x_l)) < 0)
        goto out;
    switch (xp->xp_tok) {
    case T_EQ:
        x->x_op = X_EQ;
        break;
    case T_NE:
        x->x_op = X_NE;
        break;
    case T_GLOB:
        x->x_op = X_GLOB;
        break;
    case T_NGLOB:
        x->x_op = X_NGLOB;
        break;
    default:
        if (x->x_l.o_field < 0) {
            error = xparse_fail(xp, lpos,
                                "a string alone is not a condition "
                                "(compare it: branch == 'main')");
            goto out;
        }
        *out = x; /* a field alone: is it set? */
        return 0;
    }
    if ((error = xparse_next(xp)) < 0)
        goto out;
    rpos = xp->xp_tokpos;
    if ((error = xparse_operand(xp, &x->x_r)) < 0)
        goto out;
    if (x->x_l.o_field < 0 && x->x_r.o_field < 0) {
        error = xparse_fail(xp, lpos,
                            "compares two strings (one side "
                            "should be a name such as branch)");
        goto out;
    }
    if (x->x_op == X_GLOB || x->x_op == X_NGLOB) {
        if (x->x_r.o_field >= 0) {
            error = xparse_fail(xp, rpos,
                                "the right side of =~ must be a 'pattern'");
            goto out;
        }
        if (paved_pipeline_glob_check(x->x_r.o_lit, why, sizeof(why)) < 0) {
            error = xparse_fail(xp, rpos, "bad pattern: %s", why);
            goto out;
        }
    }
    *out = x;
    return 0;
out:
    expr_node_free(x);
    return error;
}

static int
xparse_unary(struct xparse *xp, struct xnode **out)
{
    struct xnode *x = NULL, *kid = NULL;
    size_t open = xp->xp_tokpos;
    int error;

    *out = NULL;
    if (xp->xp_tok != T_NOT && xp->xp_tok != T_LPAREN)
        return xparse_compare(xp, out);
    if (++xp->xp_nest > EXPR_MAX_NEST)
        return xparse_fail(xp, xp->xp_tokpos, "nested too deeply");
    if (xp->xp_tok == T_NOT) {
        if ((error = xparse_next(xp)) < 0 ||
            (error = xparse_unary(xp, &kid)) < 0)
            goto out;
        if ((x = xnode_new(xp, X_NOT)) == NULL) {
            error = xp->xp_error;
            goto out;
        }
        error = xnode_add(xp, x, kid);
        kid = NULL;
        if (error < 0)
            goto out;
    } else {
        if ((error = xparse_next(xp)) < 0 || (error = xparse_or(xp, &x)) < 0)
            goto out;
        if (xp->xp_tok != T_RPAREN) {
            error = xparse_fail(xp, xp->xp_tokpos,
                                "expected \")\" to close the \"(\" at "
                                "offset %zu, got %s",
                                open, xtok_name(xp->xp_tok));
            goto out;
        }
        if ((error = xparse_next(xp)) < 0)
            goto out;
    }
    xp->xp_nest--;
    *out = x;
    return 0;
out:
    expr_node_free(kid);
    expr_node_free(x);
    return error;
}

/* One level of a left-to-right chain of op; a single operand is itself. */
static int
xparse_chain(struct xparse *xp, struct xnode **out, enum xtok tok, enum xop op,
             int (*below)(struct xparse *, struct xnode **))
{
    struct xnode *first = NULL, *chain = NULL, *kid = NULL;
    int error;

    *out = NULL;
    if ((error = below(xp, &first)) < 0)
        return error;
    while (xp->xp_tok == tok) {
        if (chain == NULL) {
            if ((chain = xnode_new(xp, op)) == NULL) {
                error = xp->xp_error;
                goto out;
            }
            error = xnode_add(xp, chain, first);
            first = NULL;
            if (error < 0)
                goto out;
        }
        if ((error = xparse_next(xp)) < 0 || (error = below(xp, &kid)) < 0)
            goto out;
        error = xnode_add(xp, chain, kid);
        kid = NULL;
        if (error < 0)
            goto out;
    }
    *out = chain != NULL ? chain : first;
    return 0;
out:
    expr_node_free(first);
    expr_node_free(chain);
    return error;
}

static int
xparse_and(struct xparse *xp, struct xnode **out)
{
    return xparse_chain(xp, out, T_AND, X_AND, xparse_unary);
}

static int
xparse_or(struct xparse *xp, struct xnode **out)
{
    return xparse_chain(xp, out, T_OR, X_OR, xparse_and);
}

int
paved_pipeline_expr_parse(paved_pipeline_expr **out, const char *text,
                          size_t *err_offset)
{
    struct xparse xp;
    struct xnode *root = NULL;
    int error;

    *out = NULL;
    if (err_offset != NULL)
        *err_offset = 0;
    memset(&xp, 0, sizeof(xp));
    xp.xp_text = text;
    if (strlen(text) > PL_MAX_EXPR)
        return paved_error_set(PAVED_EINVAL, "expression longer than %d bytes",
                               PL_MAX_EXPR);
    if ((error = xparse_next(&xp)) < 0)
        goto out;
    if (xp.xp_tok == T_END) {
        error = xparse_fail(&xp, 0,
                            "empty expression (remove the if, or "
                            "write a condition)");
        goto out;
    }
    if ((error = xparse_or(&xp, &root)) < 0)
        goto out;
    if (xp.xp_tok != T_END) {
        error = xparse_fail(&xp, xp.xp_tokpos,
                            "unexpected %s (join conditions with && or ||)",
                            xtok_name(xp.xp_tok));
        goto out;
    }
    if ((*out = calloc(1, sizeof(**out))) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    (*out)->ex_root = root;
    root = NULL;
out:
    if (error < 0 && err_offset != NULL)
        *err_offset = xp.xp_errpos;
    free(xp.xp_str);
    expr_node_free(root);
    return error;
}

static const char *
expr_value(const struct xoperand *o, const struct paved_event *ev, char *num,
           size_t numlen)
{
    const char *v = NULL;

    switch ((enum xfield)o->o_field) {
    case XF_EVENT:
        v = paved_event_kind_name(ev->ev_kind);
        break;
    case XF_BRANCH:
        v = ev->ev_branch;
        break;
    case XF_TAG:
        v = ev->ev_tag;
        break;
    case XF_REF:
        v = ev->ev_ref;
        break;
    case XF_REPO:
        v = ev->ev_repo;
        break;
    case XF_ACTOR:
        v = ev->ev_actor;
        break;
    case XF_PR_NUMBER:
        if (ev->ev_pr_number != 0) {
            snprintf(num, numlen, "%lld", ev->ev_pr_number);
            v = num;
        }
        break;
    case XF_ACTION:
        v = ev->ev_action;
        break;
    case XF_BASE:
        v = ev->ev_pr_base;
        break;
    case XF__COUNT:
        break;
    }
    if (o->o_field < 0)
        v = o->o_lit;
    return v != NULL ? v : "";
}

static bool
expr_eval(const struct xnode *x, const struct paved_event *ev)
{
    char ln[32], rn[32];
    const char *l, *r;
    size_t i;

    switch (x->x_op) {
    case X_OR:
        for (i = 0; i < x->x_nkids; i++)
            if (expr_eval(x->x_kids[i], ev))
                return true;
        return false;
    case X_AND:
        for (i = 0; i < x->x_nkids; i++)
            if (!expr_eval(x->x_kids[i], ev))
                return false;
        return true;
    case X_NOT:
        return !expr_eval(x->x_kids[0], ev);
    case X_CONST:
        return x->x_const;
    default:
        break;
    }
    l = expr_value(&x->x_l, ev, ln, sizeof(ln));
    if (x->x_op == X_TRUTHY)
        return l[0] != '\0';
    r = expr_value(&x->x_r, ev, rn, sizeof(rn));
    switch (x->x_op) {
    case X_EQ:
        return strcmp(l, r) == 0;
    case X_NE:
        return strcmp(l, r) != 0;
    case X_GLOB:
        return paved_pipeline_glob_match(r, l);
    case X_NGLOB:
        return !paved_pipeline_glob_match(r, l);
    default:
        return false;
    }
}

int
paved_pipeline_expr_eval(const paved_pipeline_expr *ex,
                         const struct paved_event *ev)
{
    if (ex == NULL)
        return 1;
    return expr_eval(ex->ex_root, ev) ? 1 : 0;
}
