/* Message helpers shared by the parsers: a safe way to show a value and a
 * "did you mean". */
#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include "paved/text.h"

#define TEXT_MAX_WORD 64 /* longer words get no suggestion */

const char *
paved_text_show(char *dst, size_t n, const char *v)
{
    size_t i, o = 0;

    if (n < 8) {
        if (n > 0)
            dst[0] = '\0';
        return dst;
    }
    dst[o++] = '"';
    for (i = 0; v[i] != '\0' && o + 5 < n; i++) {
        if (i == 40) {
            memcpy(dst + o, "...", 3);
            o += 3;
            break;
        }
        dst[o++] = ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) ? '?' : v[i];
    }
    dst[o++] = '"';
    dst[o] = '\0';
    return dst;
}

/* Levenshtein distance, case-insensitive, one row of memory; SIZE_MAX for
 * words too long to be worth it. */
static size_t
text_distance(const char *a, const char *b)
{
    size_t row[TEXT_MAX_WORD + 1], i, j, la = strlen(a), lb = strlen(b);

    if (la > TEXT_MAX_WORD || lb > TEXT_MAX_WORD)
        return SIZE_MAX;
    for (j = 0; j <= lb; j++)
        row[j] = j;
    for (i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (j = 1; j <= lb; j++) {
            size_t up = row[j], best;
            int same = tolower((unsigned char)a[i - 1]) ==
                       tolower((unsigned char)b[j - 1]);
            best = diag + (same ? 0 : 1);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            diag = up;
            row[j] = best;
        }
    }
    return row[lb];
}

const char *
paved_text_suggest(const char *name, const char *const *cands, size_t ncands)
{
    size_t i, d, best = SIZE_MAX, limit;
    const char *found = NULL;

    limit = strlen(name) / 3;
    if (limit < 2)
        limit = 2;
    for (i = 0; i < ncands; i++) {
        if (cands[i] == NULL)
            continue;
        d = text_distance(name, cands[i]);
        if (d < best) {
            best = d;
            found = cands[i];
        }
    }
    return best <= limit ? found : NULL;
}

size_t
paved_utf8_decode(const void *s, size_t n, uint32_t *cp)
{
    const unsigned char *u = s;
    uint32_t c, min;
    size_t len, i;

    if (n == 0)
        return 0;
    c = u[0];
    if (c < 0x80)
        len = 1, min = 0;
    else if (c >= 0xc2 && c <= 0xdf)
        len = 2, c &= 0x1f, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, c &= 0x0f, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, c &= 0x07, min = 0x10000;
    else
        return 0;
    if (n < len)
        return 0;
    for (i = 1; i < len; i++) {
        if ((u[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (u[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    if (cp != NULL)
        *cp = c;
    return len;
}
