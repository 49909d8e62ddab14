#ifndef PAVED_JSCAN_H
#define PAVED_JSCAN_H
/* A validating, single-pass JSON scanner (RFC 8259) for webhook payloads:
 * it checks the whole document and, in the same pass, finds the values of
 * a few object-key paths, as spans into the caller's bytes. It never
 * allocates while scanning, never builds a tree and never copies the
 * document; only paved_jscan_string() allocates (the one string asked for).
 * A scan uses about 21 KiB of stack and no recursion.
 *
 * What is accepted mirrors jansson 2.14's json_loadb(doc, len, 0, &err)
 * for documents whose top level is an object:
 *   - strict UTF-8 everywhere (no overlongs, no UTF-8-encoded surrogates,
 *     nothing above U+10FFFF), bytes 0x00-0x1F refused inside strings;
 *   - escapes \" \\ \/ \b \f \n \r \t \uXXXX; a \u high surrogate must be
 *     followed by a \u low surrogate and a lone low surrogate is refused;
 *     \u0000 is refused in keys and values (jansson without
 *     JSON_ALLOW_NUL);
 *   - numbers per the grammar (no "+1", "01", ".5", "1.", "1e"); an
 *     integer (no fraction, no exponent) must fit in long long, and a real
 *     must not round to infinity as a double ("1e400" is refused, "1e-400"
 *     is accepted as jansson does);
 *   - whitespace is only space, tab, CR and LF; nothing but whitespace
 *     may follow the top-level object; an empty document is refused;
 *   - values nest at most 2048 deep counting the top-level object as 1
 *     and every scalar as one more level (jansson's JSON_PARSER_MAX_DEPTH);
 *   - duplicate keys are accepted and the LAST one wins, or refused with
 *     PAVED_JSCAN_REJECT_DUPLICATES (jansson's JSON_REJECT_DUPLICATES);
 *     keys are compared after unescaping, so "a" and "\u0061" are the
 *     same key.
 * Deliberate differences, both stricter than jansson:
 *   - a top-level array, which jansson accepts, is refused (PAVED_EINVAL,
 *     "top level is not an object");
 *   - a NUL byte right after a number or a literal ("{\"a\":1<NUL>}") is
 *     refused; jansson skips one there (an artefact of how its lexer puts
 *     back the byte that ended the token), which would let a document
 *     that is not JSON be stored and later embedded in API output. */
#include <stddef.h>

enum paved_json_type {
    PAVED_JSON_ABSENT = 0, /* the path is not in the document */
    PAVED_JSON_NULL,
    PAVED_JSON_FALSE,
    PAVED_JSON_TRUE,
    PAVED_JSON_NUMBER,
    PAVED_JSON_STRING,
    PAVED_JSON_OBJECT,
    PAVED_JSON_ARRAY
};

/* One path to look up. Set jf_path and zero the rest (a designated
 * initializer does); paved_jscan() fills the out-fields. */
struct paved_jscan_field {
    /* in: object keys joined by '.', "repository.full_name"; "" is the
     * top-level object. Segments match keys after unescaping them; a key
     * that itself contains '.' cannot be named. Paths never descend into
     * arrays, and have at most
     * PAVED_JSCAN_MAX_SEGMENTS keys. Borrowed for the scan. */
    const char *jf_path;
    enum paved_json_type jf_type; /* out: what was found */
    /* out: the value's bytes inside the document (borrowed from it): the
     * whole value for numbers, literals, objects and arrays; for strings
     * the bytes between the quotes, still escaped. NULL when absent. */
    const unsigned char *jf_start;
    size_t jf_len;
    int jf_escaped; /* out: a string with backslash escapes in it */
    /* private to the scanner */
    const char *jf_seg; /* the path segment to match next */
    size_t jf_seglen;   /* its length */
    size_t jf_matched;  /* segments matched on the current object chain */
    size_t jf_wait;     /* depth whose value is being measured, 0: none */
    struct paved_jscan_field *jf_next; /* the others at jf_matched */
};

/* most keys in one path */
#define PAVED_JSCAN_MAX_SEGMENTS 32

/* paved_jscan_ext() flags */
#define PAVED_JSCAN_REJECT_DUPLICATES 0x1u

/* Validate the whole of doc[0..len) (no NUL terminator needed) and fill
 * every field whose path is present. The top level must be an object.
 * Returns 0, or PAVED_EINVAL with a message "byte N: <what>", N counting
 * from 0 at the start of doc ("byte 812: unterminated string"); on error
 * every field is ABSENT. A path of more than PAVED_JSCAN_MAX_SEGMENTS keys
 * is PAVED_EINVAL too. fields may be NULL when nfields is 0. */
int paved_jscan(const unsigned char *doc, size_t len,
                struct paved_jscan_field *fields, size_t nfields);
/* The same with flags. With PAVED_JSCAN_REJECT_DUPLICATES a key repeated in
 * one object is PAVED_EINVAL ("byte N: duplicate key"); to stay within a
 * fixed amount of stack it tracks at most 1024 keys in the objects open
 * at one time (the current object and its ancestors) and returns
 * PAVED_ETOOBIG past that, and for documents of 4 GiB or more. */
int paved_jscan_ext(const unsigned char *doc, size_t len,
                    struct paved_jscan_field *fields, size_t nfields,
                    unsigned flags);

/* Readers of a filled field. None of them looks at the document again
 * beyond the field's span; each returns PAVED_EINVAL (with a message
 * naming jf_path) when the field is absent or of another type. */

/* The unescaped string (\uXXXX and surrogate pairs as UTF-8) in a malloc'd
 * NUL-terminated copy owned by the caller; *outlen (may be NULL) gets its
 * length. PAVED_EINVAL for a bad escape or \u0000, PAVED_ENOMEM. */
int paved_jscan_string(char **out, size_t *outlen,
                       const struct paved_jscan_field *f);
/* 1 when the field is a string whose unescaped value is exactly s. */
int paved_jscan_streq(const struct paved_jscan_field *f, const char *s);
/* An integer: no fraction or exponent ("1.0" and "1e3" are PAVED_EINVAL)
 * and within long long. */
int paved_jscan_int(long long *out, const struct paved_jscan_field *f);
/* true or false */
int paved_jscan_bool(int *out, const struct paved_jscan_field *f);

/* 1 when s[0..len) is strict UTF-8 by the rules above (what the scanner
 * accepts inside strings, less the ban on control characters). */
int paved_jscan_valid_utf8(const void *s, size_t len);

#endif
