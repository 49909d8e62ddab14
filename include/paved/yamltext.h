#ifndef PAVED_YAMLTEXT_H
#define PAVED_YAMLTEXT_H
/* What every YAML parser of paved (config, pipelines) says about libyaml's
 * findings: where a syntax error really is and a hint that tells a person
 * what to change; and what counts as YAML's null. No parsing of its own. */
#include <stdbool.h>
#include <stddef.h>

#include <yaml.h>

/* For a parser that failed: *problem and *mark (0-based, as libyaml's) of
 * the error, and the hint as the return value, written into buf (it may
 * name where an unclosed quote began). data/len: the document, to place
 * reader errors that libyaml knows only by byte offset. */
const char *paved_yaml_explain(const char **problem, yaml_mark_t *mark,
                               char *buf, size_t buflen, const yaml_parser_t *y,
                               const unsigned char *data, size_t len);
/* A plain scalar that is empty, ~, null, Null or NULL. */
bool paved_yaml_is_null(const yaml_event_t *ev);

#endif
