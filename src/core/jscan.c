/* A validating single-pass JSON scanner with path extraction (see
 * include/paved/jscan.h for the accepted language). One loop with an
 * explicit bit stack of open containers, so no recursion however deep the
 * input; string bodies are skipped 16 bytes at a time with SSE2 where the
 * compiler has it. Never allocates while scanning and never writes to the
 * document. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__) && !defined(PAVED_JSCAN_PORTABLE)
#include <emmintrin.h>
#define JSCAN_SSE2 1
#endif

#include "paved/error.h"
#include "paved/jscan.h"

/* jansson's JSON_PARSER_MAX_DEPTH: values (scalars too) nest this deep */
#define JSCAN_MAX_DEPTH 2048
/* duplicate detection: keys of the open objects, and twice as many slots
 * so that linear probing stays short */
#define JSCAN_DUP_KEYS 1024
#define JSCAN_DUP_SLOTS 2048
#define JSCAN_DUP_EMPTY 0xffffu
/* mantissa digits kept when a real is near DBL_MAX: more than the 767
 * significant digits that can decide a double's rounding */
#define JSCAN_REAL_DIGITS 780

/* One key of an open object, kept while the object is open. */
struct jscan_dupkey {
    uint32_t dk_off;   /* first byte of the key (after the quote) */
    uint32_t dk_len;   /* escaped length */
    uint32_t dk_hash;  /* hash of the unescaped bytes */
    uint16_t dk_depth; /* depth of its object; bit 15: has escapes */
    uint16_t dk_slot;  /* its slot in js_slots */
};

struct jscan {
    const unsigned char *js_doc;
    const unsigned char *js_end;
    struct paved_jscan_field *js_fields;
    size_t js_nfields;
    /* the path fields by how many segments they matched (jf_matched):
     * a key of the object at depth d can only match those of list d - 1,
     * and only when the list has a segment of the key's length (bit
     * len & 63 of js_lenmask) */
    struct paved_jscan_field *js_head[PAVED_JSCAN_MAX_SEGMENTS];
    uint64_t js_lenmask[PAVED_JSCAN_MAX_SEGMENTS];
    size_t js_waitmax; /* deepest jf_wait of a field, 0: none waits */
    int js_esc;        /* the last string scanned had escapes */
    int js_dups;       /* reject duplicate keys */
    struct jscan_dupkey *js_dk;
    size_t js_ndk;
    uint16_t *js_slots;
};

/* bytes a string body may contain as they are: 0x20..0x7f but '"', '\\' */
static const unsigned char jscan_plain[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x00 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x10 */
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x20 '"' */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x30 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x40 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, /* 0x50 '\\' */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x60 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x70 */
};

static int
jscan_fail(const struct jscan *js, const unsigned char *at, const char *what)
{
    return paved_error_set(PAVED_EINVAL, "byte %zu: %s",
                           (size_t)(at - js->js_doc), what);
}

static int
jscan_is_ws(unsigned char c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static int
jscan_is_digit(unsigned char c)
{
    return (unsigned)(c - '0') < 10u;
}

/* Four hex digits at p (the caller checked there are four bytes), or -1. */
static long
jscan_hex4(const unsigned char *p)
{
    long v = 0;
    int i;

    for (i = 0; i < 4; i++) {
        unsigned char c = p[i];

        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return -1;
    }
    return v;
}

/* Length of the well-formed UTF-8 sequence at p (lead byte >= 0x80), or 0:
 * no overlongs, no surrogates, nothing above U+10FFFF. */
static size_t
jscan_utf8(const unsigned char *p, const unsigned char *end)
{
    unsigned char c = p[0], c1;
    size_t avail = (size_t)(end - p);

    if (c < 0xc2 || c > 0xf4 || avail < 2)
        return 0;
    c1 = p[1];
    if ((c1 & 0xc0) != 0x80)
        return 0;
    if (c < 0xe0)
        return 2;
    if (avail < 3 || (p[2] & 0xc0) != 0x80)
        return 0;
    if (c < 0xf0) {
        if ((c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 >= 0xa0))
            return 0; /* overlong, or a surrogate half */
        return 3;
    }
    if (avail < 4 || (p[3] & 0xc0) != 0x80)
        return 0;
    if ((c == 0xf0 && c1 < 0x90) || (c == 0xf4 && c1 >= 0x90))
        return 0; /* overlong, or above U+10FFFF */
    return 4;
}

/* One unit of an escaped string at *pp: a plain byte, or an escape (a
 * surrogate pair counts as one). Writes 1-4 bytes to out and returns how
 * many; -1 for a bad escape or \u0000. Checks its bounds, so it also
 * serves spans that did not come from a scan. */
static int
jscan_unescape_one(const unsigned char **pp, const unsigned char *end,
                   unsigned char out[4])
{
    const unsigned char *p = *pp;
    long cp, lo;

    if (*p != '\\') {
        out[0] = *p;
        *pp = p + 1;
        return 1;
    }
    if (end - p < 2)
        return -1;
    switch (p[1]) {
    case '"':
    case '\\':
    case '/':
        out[0] = p[1];
        break;
    case 'b':
        out[0] = '\b';
        break;
    case 'f':
        out[0] = '\f';
        break;
    case 'n':
        out[0] = '\n';
        break;
    case 'r':
        out[0] = '\r';
        break;
    case 't':
        out[0] = '\t';
        break;
    case 'u':
        if (end - p < 6 || (cp = jscan_hex4(p + 2)) <= 0)
            return -1;
        p += 6;
        if (cp >= 0xdc00 && cp <= 0xdfff)
            return -1;
        if (cp >= 0xd800 && cp <= 0xdbff) {
            if (end - p < 6 || p[0] != '\\' || p[1] != 'u' ||
                (lo = jscan_hex4(p + 2)) < 0xdc00 || lo > 0xdfff)
                return -1;
            p += 6;
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        }
        *pp = p;
        if (cp < 0x80) {
            out[0] = (unsigned char)cp;
            return 1;
        }
        if (cp < 0x800) {
            out[0] = (unsigned char)(0xc0 | (cp >> 6));
            out[1] = (unsigned char)(0x80 | (cp & 0x3f));
            return 2;
        }
        if (cp < 0x10000) {
            out[0] = (unsigned char)(0xe0 | (cp >> 12));
            out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
            out[2] = (unsigned char)(0x80 | (cp & 0x3f));
            return 3;
        }
        out[0] = (unsigned char)(0xf0 | (cp >> 18));
        out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
        out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        out[3] = (unsigned char)(0x80 | (cp & 0x3f));
        return 4;
    default:
        return -1;
    }
    *pp = p + 2;
    return 1;
}

/* The unescaped bytes of a span, one at a time (keys with escapes only:
 * plain keys are compared with memcmp). */
struct jscan_unesc {
    const unsigned char *u_p;
    const unsigned char *u_end;
    unsigned char u_buf[4];
    int u_n;
    int u_i;
};

static void
jscan_unesc_init(struct jscan_unesc *u, const unsigned char *p, size_t len)
{
    u->u_p = p;
    u->u_end = p + len;
    u->u_n = u->u_i = 0;
}

/* next byte, -1 at the end (or on a bad escape, which a scan ruled out) */
static int
jscan_unesc_next(struct jscan_unesc *u)
{
    if (u->u_i == u->u_n) {
        if (u->u_p >= u->u_end ||
            (u->u_n = jscan_unescape_one(&u->u_p, u->u_end, u->u_buf)) < 0)
            return -1;
        u->u_i = 0;
    }
    return u->u_buf[u->u_i++];
}

static int
jscan_unesc_eq(const unsigned char *a, size_t alen, const unsigned char *b,
               size_t blen)
{
    struct jscan_unesc ua, ub;
    int ca, cb;

    jscan_unesc_init(&ua, a, alen);
    jscan_unesc_init(&ub, b, blen);
    do {
        ca = jscan_unesc_next(&ua);
        cb = jscan_unesc_next(&ub);
        if (ca != cb)
            return 0;
    } while (ca >= 0);
    return 1;
}

/* An escaped span against plain bytes. */
static int
jscan_unesc_eq_plain(const unsigned char *a, size_t alen, const char *b,
                     size_t blen)
{
    struct jscan_unesc ua;
    size_t i;

    jscan_unesc_init(&ua, a, alen);
    for (i = 0; i < blen; i++)
        if (jscan_unesc_next(&ua) != (unsigned char)b[i])
            return 0;
    return jscan_unesc_next(&ua) < 0;
}

/* A key (escaped span) against a path segment (plain bytes). */
static int
jscan_key_eq(const unsigned char *k, size_t klen, int kesc, const char *seg,
             size_t seglen)
{
    if (!kesc)
        return klen == seglen && memcmp(k, seg, seglen) == 0;
    return klen >= seglen && jscan_unesc_eq_plain(k, klen, seg, seglen);
}

/* --- strings and numbers --- */

/* The body of a string from p (just past the opening quote at q) to just
 * past its closing quote; NULL with the message set when it is invalid. */
static const unsigned char *
jscan_string(struct jscan *js, const unsigned char *q, const unsigned char *p)
{
    const unsigned char *end = js->js_end;
    size_t n;
    long cp, lo;

    js->js_esc = 0;
    for (;;) {
#ifdef JSCAN_SSE2
        const __m128i quote = _mm_set1_epi8('"');
        const __m128i bslash = _mm_set1_epi8('\\');
        const __m128i space = _mm_set1_epi8(0x20);

        /* one signed compare catches both controls and bytes >= 0x80 */
        while (end - p >= 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
            __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote),
                                                  _mm_cmpeq_epi8(v, bslash)),
                                     _mm_cmplt_epi8(v, space));
            unsigned mask = (unsigned)_mm_movemask_epi8(m);

            if (mask != 0) {
                p += __builtin_ctz(mask);
                goto special;
            }
            p += 16;
        }
#endif
        while (p < end && jscan_plain[*p])
            p++;
        if (p == end)
            goto unterminated;
#ifdef JSCAN_SSE2
    special:
#endif
        if (*p == '"')
            return p + 1;
        if (*p == '\\') {
            js->js_esc = 1;
            if (end - p < 2)
                goto unterminated;
            switch (p[1]) {
            case '"':
            case '\\':
            case '/':
            case 'b':
            case 'f':
            case 'n':
            case 'r':
            case 't':
                p += 2;
                continue;
            case 'u':
                break;
            default:
                jscan_fail(js, p, "invalid escape");
                return NULL;
            }
            if (end - p < 6 || (cp = jscan_hex4(p + 2)) < 0) {
                jscan_fail(js, p, "invalid \\u escape");
                return NULL;
            }
            if (cp == 0) {
                jscan_fail(js, p, "\\u0000 is not allowed");
                return NULL;
            }
            if (cp >= 0xdc00 && cp <= 0xdfff) {
                jscan_fail(js, p, "lone low surrogate");
                return NULL;
            }
            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (end - p < 12 || p[6] != '\\' || p[7] != 'u' ||
                    (lo = jscan_hex4(p + 8)) < 0xdc00 || lo > 0xdfff) {
                    jscan_fail(js, p, "high surrogate without a low one");
                    return NULL;
                }
                p += 6;
            }
            p += 6;
            continue;
        }
        if (*p < 0x20) {
            jscan_fail(js, p, "control character in string");
            return NULL;
        }
        if ((n = jscan_utf8(p, end)) == 0) {
            jscan_fail(js, p, "invalid UTF-8");
            return NULL;
        }
        p += n;
    }
unterminated:
    jscan_fail(js, q, "unterminated string");
    return NULL;
}

/* Does a real number overflow a double the way strtod() sees it? Digits
 * d0..d1 (integer part), f0..f1 (fraction), e0..e1 (exponent digits). */
static int
jscan_real_overflows(const unsigned char *d0, const unsigned char *d1,
                     const unsigned char *f0, const unsigned char *f1, int eneg,
                     const unsigned char *e0, const unsigned char *e1)
{
    char buf[JSCAN_REAL_DIGITS + 16];
    const unsigned char *q, *p;
    long long e10, exp = 0;
    size_t n = 0;
    double v;

    /* e10: the value is 0.<significant digits> * 10^e10 */
    for (q = d0; q < d1 && *q == '0'; q++)
        ;
    if (q < d1) {
        e10 = (long long)(d1 - q);
    } else {
        for (q = f0; q < f1 && *q == '0'; q++)
            ;
        if (q == f1)
            return 0; /* zero */
        e10 = -(long long)(q - f0);
    }
    for (p = e0; p < e1; p++)
        if (exp < 1000000000000LL) /* saturate: far past any double */
            exp = exp * 10 + (*p - '0');
    e10 += eneg ? -exp : exp;
    /* below 10^308 is finite, at or above 10^309 is not (DBL_MAX is about
     * 1.8e308); between the two only strtod() knows */
    if (e10 < 309)
        return 0;
    if (e10 > 309)
        return 1;
    memcpy(buf, "0.", 2);
    n = 2;
    for (p = q; p < f1; p++) {
        if (p == d1) {
            p = f0; /* skip the '.' */
            if (p == f1)
                break;
        }
        if (n < JSCAN_REAL_DIGITS) {
            buf[n++] = (char)*p;
        } else if (*p != '0') {
            /* a sticky digit keeps the rounding of the digits dropped */
            buf[n++] = '1';
            break;
        }
    }
    memcpy(buf + n, "e309", 5);
    errno = 0;
    v = strtod(buf, NULL);
    return errno == ERANGE && isinf(v);
}

/* A number from p to just past its end; NULL with the message set. */
static const unsigned char *
jscan_number(struct jscan *js, const unsigned char *p)
{
    const unsigned char *s = p, *end = js->js_end, *d0, *d1;
    const unsigned char *f0 = NULL, *f1 = NULL, *e0 = NULL, *e1 = NULL;
    int neg = 0, eneg = 0;
    size_t nd;

    if (*p == '-') {
        neg = 1;
        p++;
    }
    if (p == end || !jscan_is_digit(*p))
        goto invalid;
    d0 = p;
    if (*p == '0') {
        p++;
        if (p < end && jscan_is_digit(*p)) {
            jscan_fail(js, s, "leading zero in number");
            return NULL;
        }
    } else {
        while (p < end && jscan_is_digit(*p))
            p++;
    }
    d1 = p;
    if (p < end && *p == '.') {
        p++;
        if (p == end || !jscan_is_digit(*p))
            goto invalid;
        f0 = p;
        while (p < end && jscan_is_digit(*p))
            p++;
        f1 = p;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            eneg = *p++ == '-';
        if (p == end || !jscan_is_digit(*p))
            goto invalid;
        e0 = p;
        while (p < end && jscan_is_digit(*p))
            p++;
        e1 = p;
    }
    if (f0 == NULL && e0 == NULL) {
        /* jansson: strtoll() and ERANGE */
        nd = (size_t)(d1 - d0);
        if (nd > 19 ||
            (nd == 19 &&
             memcmp(d0, neg ? "9223372036854775808" : "9223372036854775807",
                    19) > 0)) {
            jscan_fail(js, s, "integer out of range");
            return NULL;
        }
        return p;
    }
    if (f0 == NULL)
        f0 = f1 = d1;
    if (jscan_real_overflows(d0, d1, f0, f1, eneg, e0, e1)) {
        jscan_fail(js, s, "real number overflow");
        return NULL;
    }
    return p;
invalid:
    jscan_fail(js, s, "invalid number");
    return NULL;
}

/* --- duplicate keys --- */

static uint32_t
jscan_hash_mix(uint64_t h, uint64_t w)
{
    h = (h ^ w) * 0x9e3779b97f4a7c15ull;
    return (uint32_t)((h ^ (h >> 32)) & 0xffffffffu);
}

/* The last n < 8 bytes of a key as a little-endian word, zero-padded:
 * one load when the document has the room (the escaped path below builds
 * the same word from its buffer). */
static uint64_t
jscan_tail(const unsigned char *k, size_t n, const unsigned char *end)
{
    unsigned char blk[8] = {0};
    uint64_t w;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (n > 0 && end - k >= 8) {
        memcpy(&w, k, 8);
        return w & (((uint64_t)1 << (8 * n)) - 1);
    }
#else
    (void)end;
#endif
    memcpy(blk, k, n);
    memcpy(&w, blk, 8);
    return w;
}

/* A hash of a key's unescaped bytes, 8 at a time. */
static uint32_t
jscan_key_hash(const unsigned char *k, size_t len, int esc,
               const unsigned char *end)
{
    uint64_t h = 0x243f6a8885a308d3ull, w;
    unsigned char blk[8];
    size_t n = 0;

    if (!esc) {
        for (; len >= 8; k += 8, len -= 8) {
            memcpy(&w, k, 8);
            h = jscan_hash_mix(h, w) + (h << 7);
        }
        n = len;
        w = jscan_tail(k, n, end);
    } else {
        struct jscan_unesc u;
        int c;

        jscan_unesc_init(&u, k, len);
        while ((c = jscan_unesc_next(&u)) >= 0) {
            blk[n++] = (unsigned char)c;
            if (n == 8) {
                memcpy(&w, blk, 8);
                h = jscan_hash_mix(h, w) + (h << 7);
                n = 0;
            }
        }
        w = jscan_tail(blk, n, blk);
    }
    h = jscan_hash_mix(h, w) + (h << 7);
    return jscan_hash_mix(h, n);
}

static int
jscan_dup_add(struct jscan *js, size_t depth, const unsigned char *k,
              size_t klen, int kesc)
{
    uint32_t hash = jscan_key_hash(k, klen, kesc, js->js_end);
    size_t slot =
        (hash ^ (uint32_t)depth * 0x85ebca6bu) & (JSCAN_DUP_SLOTS - 1);
    struct jscan_dupkey *dk;
    uint16_t i;

    while ((i = js->js_slots[slot]) != JSCAN_DUP_EMPTY) {
        dk = &js->js_dk[i];
        if ((dk->dk_depth & 0x7fff) == depth && dk->dk_hash == hash) {
            const unsigned char *o = js->js_doc + dk->dk_off;
            int oesc = (dk->dk_depth & 0x8000) != 0;

            if (!kesc && !oesc ? klen == dk->dk_len && memcmp(o, k, klen) == 0
                               : jscan_unesc_eq(o, dk->dk_len, k, klen))
                return jscan_fail(js, k - 1, "duplicate key");
        }
        slot = (slot + 1) & (JSCAN_DUP_SLOTS - 1);
    }
    if (js->js_ndk == JSCAN_DUP_KEYS)
        return paved_error_set(PAVED_ETOOBIG,
                               "byte %zu: more than %d keys in open objects "
                               "to check for duplicates",
                               (size_t)(k - 1 - js->js_doc), JSCAN_DUP_KEYS);
    dk = &js->js_dk[js->js_ndk];
    dk->dk_off = (uint32_t)(k - js->js_doc);
    dk->dk_len = (uint32_t)klen;
    dk->dk_hash = hash;
    dk->dk_depth = (uint16_t)(depth | (kesc ? 0x8000u : 0));
    dk->dk_slot = (uint16_t)slot;
    js->js_slots[slot] = (uint16_t)js->js_ndk++;
    return 0;
}

/* An object at depth closes: forget its keys. They are the newest, and
 * removing the newest entries of a linear-probing table in reverse order
 * restores it exactly, so no tombstones are needed. */
static void
jscan_dup_close(struct jscan *js, size_t depth)
{
    while (js->js_ndk > 0 &&
           (js->js_dk[js->js_ndk - 1].dk_depth & 0x7fff) == depth) {
        js->js_ndk--;
        js->js_slots[js->js_dk[js->js_ndk].dk_slot] = JSCAN_DUP_EMPTY;
    }
}

/* --- paths --- */

static void
jscan_field_reset(struct paved_jscan_field *f)
{
    f->jf_type = PAVED_JSON_ABSENT;
    f->jf_start = NULL;
    f->jf_len = 0;
    f->jf_escaped = 0;
}

/* Rebuilds the key-length filter of one level's list. */
static void
jscan_level_mask(struct jscan *js, size_t level)
{
    const struct paved_jscan_field *f;
    uint64_t mask = 0;

    for (f = js->js_head[level]; f != NULL; f = f->jf_next)
        mask |= (uint64_t)1 << (f->jf_seglen & 63);
    js->js_lenmask[level] = mask;
}

static enum paved_json_type
jscan_type_of(unsigned char c)
{
    switch (c) {
    case '{':
        return PAVED_JSON_OBJECT;
    case '[':
        return PAVED_JSON_ARRAY;
    case '"':
        return PAVED_JSON_STRING;
    case 't':
        return PAVED_JSON_TRUE;
    case 'f':
        return PAVED_JSON_FALSE;
    case 'n':
        return PAVED_JSON_NULL;
    default:
        return PAVED_JSON_NUMBER;
    }
}

/* A key k of the object at depth, whose value starts at v; the caller
 * checked that fields wait at this level. A later duplicate simply matches
 * again, so the last one wins; a repeated key on the way to a path throws
 * away what its earlier namesake had found. */
static void
jscan_key(struct jscan *js, size_t depth, const unsigned char *k, size_t klen,
          int kesc, const unsigned char *v)
{
    size_t level = depth - 1;
    struct paved_jscan_field **pf = &js->js_head[level], *f;
    int moved = 0;

    while ((f = *pf) != NULL) {
        if (!jscan_key_eq(k, klen, kesc, f->jf_seg, f->jf_seglen)) {
            pf = &f->jf_next;
            continue;
        }
        jscan_field_reset(f);
        if (f->jf_seg[f->jf_seglen] == '\0') {
            f->jf_type = jscan_type_of(*v);
            f->jf_start = v;
            f->jf_wait = depth;
            js->js_waitmax = depth;
        } else if (*v == '{') {
            /* into the object: over to the next level's list */
            *pf = f->jf_next;
            f->jf_matched++;
            f->jf_seg += f->jf_seglen + 1;
            f->jf_seglen = strcspn(f->jf_seg, ".");
            f->jf_next = js->js_head[level + 1];
            js->js_head[level + 1] = f;
            moved = 1;
            continue;
        }
        pf = &f->jf_next;
    }
    if (moved) {
        jscan_level_mask(js, level);
        jscan_level_mask(js, level + 1);
    }
}

/* The object at depth closes: the fields that were inside it (all of the
 * list at depth - 1) step back to the segment that led into it. */
static void
jscan_leave(struct jscan *js, size_t depth)
{
    struct paved_jscan_field *f;
    size_t level = depth - 1;
    const char *s;

    while ((f = js->js_head[level]) != NULL) {
        js->js_head[level] = f->jf_next;
        f->jf_matched--;
        /* back over the '.' before this segment to the one before it */
        for (s = f->jf_seg - 1; s > f->jf_path && s[-1] != '.'; s--)
            ;
        f->jf_seglen = (size_t)(f->jf_seg - 1 - s);
        f->jf_seg = s;
        f->jf_next = js->js_head[level - 1];
        js->js_head[level - 1] = f;
    }
    js->js_lenmask[level] = 0;
    jscan_level_mask(js, level - 1);
}

/* The value of a key in the object at depth ended just before p, and
 * fields wait for it (waits nest, so the deepest is settled first). */
static void
jscan_settle(struct jscan *js, size_t depth, const unsigned char *p)
{
    size_t i, max = 0;

    for (i = 0; i < js->js_nfields; i++) {
        struct paved_jscan_field *f = &js->js_fields[i];

        if (f->jf_wait != depth) {
            if (f->jf_wait > max)
                max = f->jf_wait;
            continue;
        }
        f->jf_wait = 0;
        f->jf_len = (size_t)(p - f->jf_start);
        if (f->jf_type == PAVED_JSON_STRING) {
            f->jf_start++;
            f->jf_len -= 2;
            f->jf_escaped = js->js_esc;
        }
    }
    js->js_waitmax = max;
}

/* --- the scan --- */

#define JSCAN_SKIP_WS()                                                        \
    do {                                                                       \
        while (p < end && jscan_is_ws(*p))                                     \
            p++;                                                               \
    } while (0)

#define JSCAN_FAIL(at, what)                                                   \
    do {                                                                       \
        error = jscan_fail(js, (at), (what));                                  \
        goto out;                                                              \
    } while (0)

static int
jscan_run(struct jscan *js, const unsigned char **root_end)
{
    const unsigned char *p = js->js_doc, *end = js->js_end, *k;
    unsigned char stack[JSCAN_MAX_DEPTH / 8]; /* bit set: an object */
    size_t depth = 0, klen;
    int kesc, error = 0;

    JSCAN_SKIP_WS();
    if (p == end)
        JSCAN_FAIL(p, "empty document");
    if (*p != '{')
        JSCAN_FAIL(p, "top level is not an object");

value:
    if (p == end)
        JSCAN_FAIL(p, "unexpected end of input");
    if (depth >= JSCAN_MAX_DEPTH)
        JSCAN_FAIL(p, "nested deeper than 2048 levels");
    switch (*p) {
    case '{':
        stack[depth >> 3] |= (unsigned char)(1u << (depth & 7));
        depth++;
        p++;
        JSCAN_SKIP_WS();
        if (p < end && *p == '}') {
            p++;
            goto close_object;
        }
        goto key;
    case '[':
        stack[depth >> 3] &= (unsigned char)~(1u << (depth & 7));
        depth++;
        p++;
        JSCAN_SKIP_WS();
        if (p < end && *p == ']') {
            p++;
            depth--;
            goto done_value;
        }
        goto value;
    case '"':
        if ((p = jscan_string(js, p, p + 1)) == NULL)
            return PAVED_EINVAL;
        goto done_value;
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9':
        if ((p = jscan_number(js, p)) == NULL)
            return PAVED_EINVAL;
        goto done_value;
    case 't':
        if (end - p < 4 || memcmp(p, "true", 4) != 0)
            JSCAN_FAIL(p, "invalid literal");
        p += 4;
        goto done_value;
    case 'f':
        if (end - p < 5 || memcmp(p, "false", 5) != 0)
            JSCAN_FAIL(p, "invalid literal");
        p += 5;
        goto done_value;
    case 'n':
        if (end - p < 4 || memcmp(p, "null", 4) != 0)
            JSCAN_FAIL(p, "invalid literal");
        p += 4;
        goto done_value;
    default:
        JSCAN_FAIL(p, "unexpected character, expected a value");
    }

close_object:
    /* p is just past the '}' of the object at depth */
    if (js->js_ndk > 0)
        jscan_dup_close(js, depth);
    if (depth >= 2 && depth - 1 < PAVED_JSCAN_MAX_SEGMENTS &&
        js->js_head[depth - 1] != NULL)
        jscan_leave(js, depth);
    depth--;
    /* fall through */
done_value:
    /* a value of the container at depth ended just before p */
    if (depth == js->js_waitmax && depth > 0)
        jscan_settle(js, depth, p);
    if (depth == 0) {
        *root_end = p;
        JSCAN_SKIP_WS();
        if (p != end)
            JSCAN_FAIL(p, "trailing characters after the top-level object");
        return 0;
    }
    JSCAN_SKIP_WS();
    if (p == end)
        JSCAN_FAIL(p, "unexpected end of input");
    if (stack[(depth - 1) >> 3] & (1u << ((depth - 1) & 7))) {
        if (*p == ',') {
            p++;
            JSCAN_SKIP_WS();
            goto key;
        }
        if (*p == '}') {
            p++;
            goto close_object;
        }
        JSCAN_FAIL(p, "expected ',' or '}'");
    }
    if (*p == ',') {
        p++;
        JSCAN_SKIP_WS();
        goto value;
    }
    if (*p == ']') {
        p++;
        depth--;
        goto done_value;
    }
    JSCAN_FAIL(p, "expected ',' or ']'");

key:
    if (p == end)
        JSCAN_FAIL(p, "unexpected end of input");
    if (*p != '"')
        JSCAN_FAIL(p, "expected a string key");
    k = p + 1;
    if ((p = jscan_string(js, p, k)) == NULL)
        return PAVED_EINVAL;
    klen = (size_t)(p - 1 - k);
    kesc = js->js_esc;
    if (js->js_dups && (error = jscan_dup_add(js, depth, k, klen, kesc)) < 0)
        return error;
    JSCAN_SKIP_WS();
    if (p == end || *p != ':')
        JSCAN_FAIL(p, "expected ':'");
    p++;
    JSCAN_SKIP_WS();
    /* escaped keys can be shorter than they look: no length filter */
    if (p < end && depth - 1 < PAVED_JSCAN_MAX_SEGMENTS &&
        js->js_head[depth - 1] != NULL &&
        (kesc || (js->js_lenmask[depth - 1] >> (klen & 63)) & 1))
        jscan_key(js, depth, k, klen, kesc, p);
    goto value;

out:
    return error;
}

int
paved_jscan_ext(const unsigned char *doc, size_t len,
                struct paved_jscan_field *fields, size_t nfields,
                unsigned flags)
{
    struct jscan_dupkey dk[JSCAN_DUP_KEYS];
    uint16_t slots[JSCAN_DUP_SLOTS];
    const unsigned char *root_end = NULL;
    struct jscan js;
    size_t i;
    int error;

    memset(&js, 0, sizeof(js));
    js.js_doc = doc;
    js.js_end = doc + len;
    js.js_fields = fields;
    js.js_nfields = nfields;
    error = 0;
    for (i = 0; i < nfields; i++) {
        struct paved_jscan_field *f = &fields[i];
        const char *s;
        size_t nseg = 1;

        jscan_field_reset(f);
        f->jf_matched = f->jf_wait = 0;
        f->jf_seg = NULL;
        f->jf_seglen = 0;
        f->jf_next = NULL;
        if (f->jf_path == NULL || f->jf_path[0] == '\0')
            continue;
        for (s = f->jf_path; *s != '\0'; s++)
            nseg += *s == '.';
        if (nseg > PAVED_JSCAN_MAX_SEGMENTS && error == 0)
            error = paved_error_set(PAVED_EINVAL,
                                    "path \"%s\" has more than %d keys",
                                    f->jf_path, PAVED_JSCAN_MAX_SEGMENTS);
        f->jf_seg = f->jf_path;
        f->jf_seglen = strcspn(f->jf_path, ".");
        f->jf_next = js.js_head[0];
        js.js_head[0] = f;
    }
    if (error < 0)
        goto out;
    jscan_level_mask(&js, 0);
    if (doc == NULL) {
        error = paved_error_set(PAVED_EINVAL, "byte 0: no document");
        goto out;
    }
    if (flags & PAVED_JSCAN_REJECT_DUPLICATES) {
        if (len >= UINT32_MAX) {
            error = paved_error_set(PAVED_ETOOBIG,
                                    "document too large to check for "
                                    "duplicate keys");
            goto out;
        }
        js.js_dups = 1;
        js.js_dk = dk;
        js.js_slots = slots;
        memset(slots, 0xff, sizeof(slots));
    }
    if ((error = jscan_run(&js, &root_end)) < 0)
        goto out;
    for (i = 0; i < nfields; i++) {
        struct paved_jscan_field *f = &fields[i];

        if (f->jf_path != NULL && f->jf_path[0] == '\0') {
            f->jf_type = PAVED_JSON_OBJECT;
            /* the root object starts at the first non-blank byte */
            for (f->jf_start = doc; jscan_is_ws(*f->jf_start); f->jf_start++)
                ;
            f->jf_len = (size_t)(root_end - f->jf_start);
        }
    }
out:
    if (error < 0)
        for (i = 0; i < nfields; i++)
            jscan_field_reset(&fields[i]);
    return error;
}

int
paved_jscan(const unsigned char *doc, size_t len,
            struct paved_jscan_field *fields, size_t nfields)
{
    return paved_jscan_ext(doc, len, fields, nfields, 0);
}

/* --- readers --- */

static const char *
jscan_path(const struct paved_jscan_field *f)
{
    return f != NULL && f->jf_path != NULL ? f->jf_path : "(null)";
}

int
paved_jscan_string(char **out, size_t *outlen,
                   const struct paved_jscan_field *f)
{
    const unsigned char *p, *end, *bs;
    unsigned char *s = NULL, *t;
    int n;

    *out = NULL;
    if (outlen != NULL)
        *outlen = 0;
    if (f == NULL || f->jf_type != PAVED_JSON_STRING || f->jf_start == NULL)
        return paved_error_set(PAVED_EINVAL, "%s: not a string", jscan_path(f));
    /* unescaping never makes a string longer */
    if ((s = malloc(f->jf_len + 1)) == NULL)
        return paved_error_set(PAVED_ENOMEM, "%s: out of memory",
                               jscan_path(f));
    t = s;
    p = f->jf_start;
    end = p + f->jf_len;
    while (p < end) {
        if ((bs = memchr(p, '\\', (size_t)(end - p))) == NULL)
            bs = end;
        memcpy(t, p, (size_t)(bs - p));
        t += bs - p;
        p = bs;
        if (p == end)
            break;
        if ((n = jscan_unescape_one(&p, end, t)) < 0) {
            free(s);
            return paved_error_set(
                PAVED_EINVAL, "%s: invalid escape or \\u0000", jscan_path(f));
        }
        t += n;
    }
    *t = '\0';
    if (outlen != NULL)
        *outlen = (size_t)(t - s);
    *out = (char *)s;
    return 0;
}

int
paved_jscan_streq(const struct paved_jscan_field *f, const char *s)
{
    size_t n;

    if (f == NULL || s == NULL || f->jf_type != PAVED_JSON_STRING ||
        f->jf_start == NULL)
        return 0;
    n = strlen(s);
    if (!f->jf_escaped)
        return f->jf_len == n && memcmp(f->jf_start, s, n) == 0;
    return jscan_unesc_eq_plain(f->jf_start, f->jf_len, s, n);
}

int
paved_jscan_int(long long *out, const struct paved_jscan_field *f)
{
    const unsigned char *p, *end;
    unsigned long long v = 0, lim;
    int neg = 0;

    *out = 0;
    if (f == NULL || f->jf_type != PAVED_JSON_NUMBER || f->jf_start == NULL ||
        f->jf_len == 0)
        goto bad;
    p = f->jf_start;
    end = p + f->jf_len;
    if (*p == '-') {
        neg = 1;
        p++;
    }
    if (p == end)
        goto bad;
    lim =
        neg ? (unsigned long long)LLONG_MAX + 1 : (unsigned long long)LLONG_MAX;
    for (; p < end; p++) {
        if (!jscan_is_digit(*p) || v > (lim - (*p - '0')) / 10)
            goto bad;
        v = v * 10 + (unsigned)(*p - '0');
    }
    if (neg)
        *out =
            v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v;
    else
        *out = (long long)v;
    return 0;
bad:
    return paved_error_set(PAVED_EINVAL, "%s: not an integer in range",
                           jscan_path(f));
}

int
paved_jscan_bool(int *out, const struct paved_jscan_field *f)
{
    *out = 0;
    if (f != NULL && f->jf_type == PAVED_JSON_TRUE) {
        *out = 1;
        return 0;
    }
    if (f != NULL && f->jf_type == PAVED_JSON_FALSE)
        return 0;
    return paved_error_set(PAVED_EINVAL, "%s: not a boolean", jscan_path(f));
}

int
paved_jscan_valid_utf8(const void *s, size_t len)
{
    const unsigned char *p = s, *end = p + len;
    size_t n;

    while (p < end) {
        if (*p < 0x80) {
            p++;
            continue;
        }
        if ((n = jscan_utf8(p, end)) == 0)
            return 0;
        p += n;
    }
    return 1;
}
