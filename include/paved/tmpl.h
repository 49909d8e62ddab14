#ifndef PAVED_TMPL_H
#define PAVED_TMPL_H
/* The template language of the golden paths (`paved create-service`): a
 * small logic-less, Mustache-like language. A template is parsed once
 * (every syntax error as "NAME:LINE:COL: what to change") and rendered
 * with a list of string variables, each value escaped for the kind of file
 * being written (docs/templates.md is the reference).
 *   {{name}}            the value of a variable
 *   {{#flag}}..{{/flag}} rendered when flag is true: its value is non-NULL,
 *                       non-empty and not "false"
 *   {{^flag}}..{{/flag}} rendered when flag is not true
 *   {{! comment }}      nothing
 *   \{{                 a literal "{{" (Prometheus and Grafana templates)
 * A section or comment tag alone on its line takes the whole line with it.
 * Never reads or writes files, never has partials, loops or expressions,
 * and never renders an unknown name as empty: that is an error. */
#include <stddef.h>

typedef struct paved_tmpl paved_tmpl; /* body in src/scaffold/tmpl.c */

#define PAVED_TMPL_MAX_SIZE (1u << 20)   /* template source: 1 MiB */
#define PAVED_TMPL_MAX_OUTPUT (1u << 24) /* one rendered file: 16 MiB */
#define PAVED_TMPL_MAX_DEPTH 32          /* sections inside sections */

struct paved_tmpl_var {
    const char *tv_name;  /* "service.name": [a-z][a-z0-9_]* joined by '.' */
    const char *tv_value; /* NULL: unset (a false flag; an error in {{x}}) */
};

/* How a variable's value is written; the template text itself is always
 * copied as it is. */
enum paved_tmpl_escape {
    /* as it is: Go, Python, TypeScript, Makefile, Dockerfile, Markdown,
     * Terraform. Their quoting rules differ by context, so the caller
     * validates values going there (names, DNS labels) instead. */
    PAVED_TMPL_RAW,
    /* a whole YAML scalar that reads back as exactly the value, as a
     * string: a safe plain word as it is, anything else double-quoted
     * (JSON-compatible escapes). Never put quotes around {{x}} yourself. */
    PAVED_TMPL_YAML,
    /* the inside of a JSON string: the template writes the quotes,
     * "{{x}}"; the value is escaped so the string stays valid. */
    PAVED_TMPL_JSON
};

/* Parses len bytes of data; name (the template's file, "api/go/Makefile")
 * starts every error message. PAVED_EINVAL with "NAME:LINE:COL: ..." for
 * a syntax error, a NUL byte or a template over PAVED_TMPL_MAX_SIZE;
 * PAVED_ENOMEM. The template keeps its own copy of data and name. */
int paved_tmpl_parse(paved_tmpl **out, const char *name, const char *data,
                     size_t len);
void paved_tmpl_free(paved_tmpl *t); /* NULL is a no-op */

/* Renders t into a new NUL-terminated string *out (free() it; *len
 * excludes the NUL). Every name in the template, rendered or not, must be
 * one of vars[0..n) (the first of a name wins), otherwise PAVED_EINVAL
 * "NAME:LINE:COL: unknown variable "x" (known: a, b)". Also PAVED_EINVAL
 * for {{x}} whose value is NULL, and for a value that is not UTF-8 in
 * YAML or JSON; PAVED_ETOOBIG past PAVED_TMPL_MAX_OUTPUT; PAVED_ENOMEM.
 * *out is NULL on error. Reentrant: t is only read. */
int paved_tmpl_render(char **out, size_t *len, const paved_tmpl *t,
                      const struct paved_tmpl_var *vars, size_t n,
                      enum paved_tmpl_escape esc);

/* The escaping for an output file path, by its extension (ignoring a
 * trailing ".tmpl" and case): .yaml/.yml YAML, .json JSON, else RAW. */
enum paved_tmpl_escape paved_tmpl_escape_for(const char *path);

#endif
