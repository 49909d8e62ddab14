/* libyaml's findings in words for people; shared by config and pipelines
 * so that the same mistake gets the same hint everywhere. */
#include <stdio.h>
#include <string.h>

#include "paved/yamltext.h"

const char *
paved_yaml_explain(const char **problem, yaml_mark_t *mark, char *buf,
                   size_t buflen, const yaml_parser_t *y,
                   const unsigned char *data, size_t len)
{
    const char *p = y->problem ? y->problem : "malformed YAML";
    size_t i;

    *problem = p;
    *mark = y->problem_mark;
    if (y->error == YAML_READER_ERROR) {
        /* the reader knows only a byte offset: count lines ourselves */
        memset(mark, 0, sizeof(*mark));
        for (i = 0; i < y->problem_offset && i < len; i++) {
            if (data[i] == '\n') {
                mark->line++;
                mark->column = 0;
            } else {
                mark->column++;
            }
        }
        return "the file must be UTF-8 text";
    }
    if ((mark->index < len && data[mark->index] == '\t') ||
        strstr(p, "tab") != NULL)
        return "tabs are not allowed for indentation in YAML; use spaces";
    if (strcmp(p, "could not find expected ':'") == 0) {
        *mark = y->context_mark; /* the line that lacks it */
        return "each line needs \"key: value\"";
    }
    if (strcmp(p, "mapping values are not allowed in this context") == 0)
        return "a value containing \": \" needs quotes";
    if (strstr(p, "end of stream") != NULL) {
        /* the end is where it was noticed; where it began helps more */
        snprintf(buf, buflen, "a quote or bracket is not closed; %s at %zu:%zu",
                 y->context ? y->context : "it starts",
                 y->context_mark.line + 1, y->context_mark.column + 1);
        return buf;
    }
    return "check quoting and indentation";
}

bool
paved_yaml_is_null(const yaml_event_t *ev)
{
    const char *v = (const char *)ev->data.scalar.value;

    if (ev->type != YAML_SCALAR_EVENT ||
        ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    return v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
           strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}
