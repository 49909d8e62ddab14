/* .paved/answers.yaml: what a service was created with, so that
 * `paved upgrade-service` renders it again the same way. Written by paved
 * as a flat YAML mapping; read back with libyaml, every key checked, every
 * error with line and column. Never guesses a missing answer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "paved/buf.h"
#include "paved/error.h"
#include "paved/scaffold.h"
#include "paved/text.h"
#include "paved/yamltext.h"
#include "scaffold/scaffold_int.h"

#define ANSWERS_NAME "answers.yaml"
#define ANSWERS_MAX (64 * 1024)

int
paved_scaffold_answers_text(char **out, size_t *len,
                            const struct paved_scaffold_answers *a)
{
    struct paved_buf b = PAVED_BUF_INIT(ANSWERS_MAX);
    int error;

    *out = NULL;
    /* values are checked labels and registry names: no quote, backslash
     * or newline can reach the quotes below */
    if ((error = paved_scaffold_check(a)) < 0)
        return error;
    error = paved_buf_printf(
        &b,
        "# Written by paved create-service; read by paved upgrade-service,\n"
        "# which renders the service again from these answers with newer\n"
        "# templates and merges the difference. Edit an answer only to\n"
        "# change what the next upgrade renders.\n"
        "template_version: %d\n"
        "name: \"%s\"\n"
        "type: \"%s\"\n"
        "lang: \"%s\"\n"
        "owner: \"%s\"\n"
        "registry: \"%s\"\n"
        "db: %s\n"
        "queue: %s\n",
        a->sa_version, a->sa_name, a->sa_type, a->sa_lang, a->sa_owner,
        a->sa_registry, a->sa_db ? "true" : "false",
        a->sa_queue ? "true" : "false");
    if (error == 0 && (*out = paved_buf_detach(&b, len)) == NULL)
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
    paved_buf_dispose(&b);
    return error;
}

void
paved_scaffold_saved_dispose(struct paved_scaffold_saved *s)
{
    if (s == NULL)
        return;
    free(s->ss_name);
    free(s->ss_type);
    free(s->ss_lang);
    free(s->ss_owner);
    free(s->ss_registry);
    memset(s, 0, sizeof(*s));
}

static int
answers_fail(const yaml_mark_t *m, const char *what)
{
    return paved_error_set(PAVED_EINVAL, ".paved/%s:%zu:%zu: %s", ANSWERS_NAME,
                           m->line + 1, m->column + 1, what);
}

static int
answers_bool(int *out, const yaml_event_t *ev, const char *key)
{
    const char *v = (const char *)ev->data.scalar.value;
    char msg[128];

    if (strcmp(v, "true") == 0)
        *out = 1;
    else if (strcmp(v, "false") == 0)
        *out = 0;
    else {
        snprintf(msg, sizeof(msg), "%s must be true or false", key);
        return answers_fail(&ev->start_mark, msg);
    }
    return 0;
}

static int
answers_set(struct paved_scaffold_saved *s, const char *key,
            const yaml_event_t *ev, unsigned *seen)
{
    static const char *const keys[] = {
        "template_version", "name", "type",  "lang", "owner",
        "registry",         "db",   "queue", NULL};
    const char *v = (const char *)ev->data.scalar.value;
    char **slot = NULL, msg[160], shown[48], *end;
    unsigned i;
    long n;

    for (i = 0; keys[i] != NULL; i++)
        if (strcmp(keys[i], key) == 0)
            break;
    if (keys[i] == NULL) {
        const char *hint = paved_text_suggest(key, keys, 8);
        snprintf(msg, sizeof(msg), "unknown key %s%s%s%s",
                 paved_text_show(shown, sizeof(shown), key),
                 hint != NULL ? " (did you mean \"" : "",
                 hint != NULL ? hint : "", hint != NULL ? "\"?)" : "");
        return answers_fail(&ev->start_mark, msg);
    }
    if ((*seen & (1u << i)) != 0) {
        snprintf(msg, sizeof(msg), "duplicate key \"%s\"", key);
        return answers_fail(&ev->start_mark, msg);
    }
    *seen |= 1u << i;
    switch (i) {
    case 0:
        n = strtol(v, &end, 10);
        if (*v == '\0' || *end != '\0' || n < 1 || n > 1000000)
            return answers_fail(&ev->start_mark,
                                "template_version must be a whole number");
        s->ss_version = (int)n;
        return 0;
    case 1:
        slot = &s->ss_name;
        break;
    case 2:
        slot = &s->ss_type;
        break;
    case 3:
        slot = &s->ss_lang;
        break;
    case 4:
        slot = &s->ss_owner;
        break;
    case 5:
        slot = &s->ss_registry;
        break;
    case 6:
        return answers_bool(&s->ss_db, ev, key);
    default:
        return answers_bool(&s->ss_queue, ev, key);
    }
    if ((*slot = strdup(v)) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    return 0;
}

int
paved_scaffold_answers_parse(struct paved_scaffold_saved *out, const char *data,
                             size_t len)
{
    struct paved_scaffold_answers a;
    yaml_parser_t y;
    yaml_event_t ev;
    char *key = NULL, hintbuf[160];
    const char *problem, *hint;
    yaml_mark_t mark;
    unsigned seen = 0;
    int error = 0, depth = 0, done = 0;

    memset(out, 0, sizeof(*out));
    if (len > ANSWERS_MAX)
        return paved_error_set(PAVED_ETOOBIG, ".paved/%s: over %d bytes",
                               ANSWERS_NAME, ANSWERS_MAX);
    if (!yaml_parser_initialize(&y))
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    yaml_parser_set_input_string(&y, (const unsigned char *)data, len);
    while (error == 0 && !done) {
        if (!yaml_parser_parse(&y, &ev)) {
            hint = paved_yaml_explain(&problem, &mark, hintbuf, sizeof(hintbuf),
                                      &y, (const unsigned char *)data, len);
            error = paved_error_set(PAVED_EINVAL,
                                    ".paved/%s:%zu:%zu: YAML syntax error: "
                                    "%s (%s)",
                                    ANSWERS_NAME, mark.line + 1,
                                    mark.column + 1, problem, hint);
            break;
        }
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (depth < 0)
                error = answers_fail(&ev.start_mark,
                                     "one document only: remove the second");
            break;
        case YAML_DOCUMENT_END_EVENT:
            depth = -1;
            break;
        case YAML_MAPPING_START_EVENT:
            if (depth != 0)
                error = answers_fail(&ev.start_mark,
                                     "answers are a flat mapping of "
                                     "key: value");
            depth = 1;
            break;
        case YAML_MAPPING_END_EVENT:
            depth = 2;
            break;
        case YAML_SCALAR_EVENT:
            if (depth != 1) {
                error = answers_fail(&ev.start_mark,
                                     "answers are a mapping of key: value");
            } else if (key == NULL) {
                if ((key = strdup((const char *)ev.data.scalar.value)) == NULL)
                    error = paved_error_set(PAVED_ENOMEM, "out of memory");
            } else {
                error = answers_set(out, key, &ev, &seen);
                free(key);
                key = NULL;
            }
            break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_ALIAS_EVENT:
            error = answers_fail(&ev.start_mark,
                                 "answers are plain values: no lists, "
                                 "mappings or aliases");
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    free(key);
    yaml_parser_delete(&y);
    if (error == 0 && (seen & 0xffu) != 0xffu)
        error = paved_error_set(PAVED_EINVAL,
                                ".paved/%s: incomplete: it needs "
                                "template_version, name, type, lang, owner, "
                                "registry, db and queue",
                                ANSWERS_NAME);
    if (error == 0) {
        a.sa_name = out->ss_name;
        a.sa_type = out->ss_type;
        a.sa_lang = out->ss_lang;
        a.sa_owner = out->ss_owner;
        a.sa_registry = out->ss_registry;
        a.sa_db = out->ss_db;
        a.sa_queue = out->ss_queue;
        a.sa_version = out->ss_version;
        if ((error = paved_scaffold_check(&a)) < 0) {
            char msg[512];
            snprintf(msg, sizeof(msg), "%s", paved_error_last());
            paved_error_set(error, ".paved/%s: %s", ANSWERS_NAME, msg);
        }
    }
    if (error < 0)
        paved_scaffold_saved_dispose(out);
    return error;
}
