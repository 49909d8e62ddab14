/* Secret masking: every variant, split across feeds at every position,
 * overlapping secrets, binary data, and the carry kept as small as it can
 * be. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "paved/buf.h"
#include "paved/crypto.h"
#include "paved/error.h"
#include "paved/mask.h"

#define CAP (1u << 24)

static paved_mask *
mk(const char *const *secrets, size_t n, size_t min_len)
{
    paved_mask *m = NULL;
    size_t nshort = 99;

    assert_int_equal(paved_mask_new(&m, secrets, n, min_len, &nshort), 0);
    assert_non_null(m);
    return m;
}

/* Masks text fed in pieces: a split at every position in splits[]. */
static char *
mask_split(const paved_mask *m, const char *text, size_t len,
           const size_t *splits, size_t nsplits, size_t *outlen)
{
    struct paved_buf out = PAVED_BUF_INIT(CAP);
    struct paved_mask_stream st;
    size_t i, at = 0, to;
    char *s;

    paved_mask_stream_init(&st, m);
    for (i = 0; i <= nsplits; i++) {
        to = i < nsplits ? splits[i] : len;
        assert_true(to >= at && to <= len);
        assert_int_equal(paved_mask_feed(&st, text + at, to - at, &out), 0);
        /* the carry never reaches the longest variant */
        if (paved_mask_longest(m) > 0)
            assert_true(st.ms_len < paved_mask_longest(m));
        at = to;
    }
    assert_int_equal(paved_mask_flush(&st, &out), 0);
    assert_int_equal(st.ms_len, 0);
    paved_mask_stream_dispose(&st);
    s = paved_buf_detach(&out, outlen);
    return s;
}

static char *
mask_str(const paved_mask *m, const char *text)
{
    size_t len;

    return mask_split(m, text, strlen(text), NULL, 0, &len);
}

/* The whole text at every single split and byte by byte gives want. */
static void
expect_all_splits(const paved_mask *m, const char *text, const char *want)
{
    size_t len = strlen(text), i, outlen, *every;
    char *got;

    for (i = 0; i <= len; i++) {
        got = mask_split(m, text, len, &i, 1, &outlen);
        assert_string_equal(got, want);
        assert_int_equal(outlen, strlen(want));
        free(got);
    }
    assert_non_null(every = malloc((len + 1) * sizeof(*every)));
    for (i = 0; i < len; i++)
        every[i] = i + 1;
    got = mask_split(m, text, len, every, len, &outlen);
    assert_string_equal(got, want);
    free(got);
    free(every);
}

static void
test_no_secrets_passes_through(void **state)
{
    static const char bin[] = "a\0b\xff\n\x01 tail";
    struct paved_buf out = PAVED_BUF_INIT(CAP);
    struct paved_mask_stream st;
    paved_mask *m = NULL;
    size_t nshort = 7;

    (void)state;
    assert_int_equal(paved_mask_new(&m, NULL, 0, 6, &nshort), 0);
    assert_int_equal(nshort, 0);
    assert_int_equal(paved_mask_variants(m), 0);
    assert_int_equal(paved_mask_longest(m), 0);
    paved_mask_stream_init(&st, m);
    assert_int_equal(paved_mask_feed(&st, bin, sizeof(bin) - 1, &out), 0);
    /* nothing is kept back */
    assert_int_equal(out.b_len, sizeof(bin) - 1);
    assert_memory_equal(out.b_ptr, bin, sizeof(bin) - 1);
    assert_int_equal(paved_mask_flush(&st, &out), 0);
    assert_int_equal(out.b_len, sizeof(bin) - 1);
    paved_mask_stream_dispose(&st);

    /* a NULL mask is a pass-through too */
    paved_buf_clear(&out);
    paved_mask_stream_init(&st, NULL);
    assert_int_equal(paved_mask_feed(&st, "xyz", 3, &out), 0);
    assert_int_equal(paved_mask_flush(&st, &out), 0);
    assert_string_equal(out.b_ptr, "xyz");
    paved_mask_stream_dispose(&st);
    paved_mask_stream_dispose(NULL);
    paved_mask_free(m);
    paved_mask_free(NULL);
    paved_buf_dispose(&out);
}

static void
test_raw_every_split(void **state)
{
    const char *sec[] = {"supersecret"};
    paved_mask *m = mk(sec, 1, 4);

    (void)state;
    expect_all_splits(m, "token=supersecret; again supersecret!",
                      "token=***; again ***!");
    expect_all_splits(m, "supersecretsupersecret", "******");
    /* a prefix and a near miss stay */
    expect_all_splits(m, "supersecre supersecreT", "supersecre supersecreT");
    expect_all_splits(m, "ssupersecret", "s***");
    paved_mask_free(m);
}

static void
test_carry_holds_only_prefixes(void **state)
{
    const char *sec[] = {"supersecret"};
    struct paved_buf out = PAVED_BUF_INIT(CAP);
    struct paved_mask_stream st;
    paved_mask *m = mk(sec, 1, 4);

    (void)state;
    paved_mask_stream_init(&st, m);
    /* text that cannot start the secret is emitted at once */
    assert_int_equal(paved_mask_feed(&st, "hello world\n", 12, &out), 0);
    assert_string_equal(out.b_ptr, "hello world\n");
    assert_int_equal(st.ms_len, 0);
    /* a possible start is kept back until it is decided */
    assert_int_equal(paved_mask_feed(&st, "x sup", 5, &out), 0);
    assert_string_equal(out.b_ptr, "hello world\nx ");
    assert_int_equal(st.ms_len, 3);
    assert_int_equal(paved_mask_feed(&st, "erb", 3, &out), 0);
    assert_string_equal(out.b_ptr, "hello world\nx superb");
    assert_int_equal(st.ms_len, 0);
    assert_int_equal(paved_mask_feed(&st, "supersec", 8, &out), 0);
    assert_int_equal(paved_mask_flush(&st, &out), 0);
    /* at the end a prefix is just text */
    assert_string_equal(out.b_ptr, "hello world\nx superbsupersec");
    /* the stream is reusable after a flush */
    paved_buf_clear(&out);
    assert_int_equal(paved_mask_feed(&st, "supersecret", 11, &out), 0);
    assert_int_equal(paved_mask_flush(&st, &out), 0);
    assert_string_equal(out.b_ptr, "***");
    paved_mask_stream_dispose(&st);
    paved_mask_free(m);
    paved_buf_dispose(&out);
}

static void
test_base64_forms(void **state)
{
    /* 11 bytes: base64 has one '=' of padding */
    const char *sec[] = {"supersecret"};
    const char *longsec[] = {"0123456789abcdefghijklmnopqrstuvwxyz"
                             "ABCDEFGHIJKLMNOPQRSTUVWXYZ-0123456789"};
    paved_mask *m = mk(sec, 1, 4);
    char *b64, *nl64, *text, *want;
    unsigned char nlsec[12];
    size_t len;

    (void)state;
    assert_int_equal(
        paved_base64_encode(&b64, (const unsigned char *)"supersecret", 11), 0);
    assert_string_equal(b64, "c3VwZXJzZWNyZXQ=");
    expect_all_splits(m, "x c3VwZXJzZWNyZXQ= y", "x *** y");
    expect_all_splits(m, "x c3VwZXJzZWNyZXQ y", "x *** y");
    /* `echo "$S" | base64` encodes the newline too */
    memcpy(nlsec, "supersecret\n", 12);
    assert_int_equal(paved_base64_encode(&nl64, nlsec, 12), 0);
    assert_string_equal(nl64, "c3VwZXJzZWNyZXQK");
    expect_all_splits(m, "c3VwZXJzZWNyZXQK\n", "***\n");
    free(b64);
    free(nl64);
    paved_mask_free(m);

    /* base64(1) wraps at 76 columns: the wrapped form is hidden whole */
    m = mk(longsec, 1, 4);
    len = strlen(longsec[0]);
    assert_int_equal(
        paved_base64_encode(&b64, (const unsigned char *)longsec[0], len), 0);
    assert_true(strlen(b64) > 76);
    assert_non_null(text = malloc(strlen(b64) + 8));
    memcpy(text, b64, 76);
    text[76] = '\n';
    memcpy(text + 77, b64 + 76, strlen(b64) - 76 + 1);
    want = mask_str(m, text);
    assert_string_equal(want, "***");
    free(want);
    want = mask_str(m, b64);
    assert_string_equal(want, "***");
    free(want);
    free(text);
    free(b64);
    paved_mask_free(m);
}

static void
test_url_encoded(void **state)
{
    const char *sec[] = {"p@ss w/rd&more"};
    const char *plain[] = {"plainsecret"};
    paved_mask *m = mk(sec, 1, 4);

    (void)state;
    expect_all_splits(m, "u=p%40ss%20w%2Frd%26more&x=1", "u=***&x=1");
    expect_all_splits(m, "u=p%40ss%20w%2frd%26more", "u=***");
    expect_all_splits(m, "raw p@ss w/rd&more.", "raw ***.");
    /* base64 of the raw bytes as well */
    expect_all_splits(m, "cEBzcyB3L3JkJm1vcmU=", "***");
    paved_mask_free(m);
    /* nothing to encode: no extra variant, the raw one does it */
    m = mk(plain, 1, 4);
    expect_all_splits(m, "plainsecret", "***");
    paved_mask_free(m);
}

static void
test_multiline(void **state)
{
    const char *sec[] = {"-----BEGIN KEY-----\r\nAAAAsecretline\nshort\n"
                         "BBBBsecretline\n-----END KEY-----\n"};
    paved_mask *m = mk(sec, 1, 6);
    char *got;

    (void)state;
    /* the whole value */
    got = mask_str(m, sec[0]);
    assert_string_equal(got, "***");
    free(got);
    /* each long enough line on its own, wherever it appears */
    expect_all_splits(m, "key line: AAAAsecretline!\n", "key line: ***!\n");
    expect_all_splits(m, "> BBBBsecretline\r\n", "> ***\r\n");
    expect_all_splits(m, "-----BEGIN KEY-----\n", "***\n");
    /* a line shorter than min_len is not hidden on its own */
    expect_all_splits(m, "short story", "short story");
    paved_mask_free(m);
}

static void
test_trailing_newline_trimmed(void **state)
{
    /* as read from a secrets file */
    const char *sec[] = {"hunter2hunter2\n"};
    paved_mask *m = mk(sec, 1, 6);

    (void)state;
    expect_all_splits(m, "pw=hunter2hunter2;", "pw=***;");
    /* base64 of the value without its newline (printf %s "$S" | base64) */
    expect_all_splits(m, "aHVudGVyMmh1bnRlcjI=", "***");
    paved_mask_free(m);
}

static void
test_short_secrets_counted(void **state)
{
    const char *sec[] = {"abc", "longsecret", "", NULL, "abcd"};
    paved_mask *m = NULL;
    size_t nshort = 0;
    char *got;

    (void)state;
    assert_int_equal(paved_mask_new(&m, sec, 5, 5, &nshort), 0);
    /* "abc", "" and "abcd" are below 5 bytes; NULL is skipped */
    assert_int_equal(nshort, 3);
    got = mask_str(m, "abc abcd longsecret abcabc");
    assert_string_equal(got, "abc abcd *** abcabc");
    free(got);
    paved_mask_free(m);
    /* n_short may be NULL; only short secrets: a pass-through */
    assert_int_equal(paved_mask_new(&m, sec, 1, 4, NULL), 0);
    assert_int_equal(paved_mask_variants(m), 0);
    paved_mask_free(m);
}

static void
test_overlapping(void **state)
{
    const char *sec[] = {"abcdef", "cdefgh", "abcdefXY", "efgh"};
    paved_mask *m = mk(sec, 4, 4);

    (void)state;
    /* leftmost first, then the longest at that position */
    expect_all_splits(m, "xxabcdefghyy", "xx***ghyy");
    expect_all_splits(m, "abcdefXYZ", "***Z");
    expect_all_splits(m, "abcdefXcdefgh", "***X***");
    expect_all_splits(m, "abcdeXcdefgh", "abcdeX***");
    expect_all_splits(m, "abcdefgh", "***gh");
    expect_all_splits(m, "cdefgh", "***");
    expect_all_splits(m, "xefghx", "x***x");
    paved_mask_free(m);
}

static void
test_binary(void **state)
{
    const char *sec[] = {"\xff\xfe\x01\x02\x80\x7f"};
    static const char text[] = "\x00\xff\xfe\x01\x02\x80\x7f\x00\xff\xfe\x01";
    static const char want[] = "\x00***\x00\xff\xfe\x01";
    paved_mask *m = mk(sec, 1, 4);
    size_t i, outlen;
    char *got;

    (void)state;
    for (i = 0; i <= sizeof(text) - 1; i++) {
        got = mask_split(m, text, sizeof(text) - 1, &i, 1, &outlen);
        assert_int_equal(outlen, sizeof(want) - 1);
        assert_memory_equal(got, want, sizeof(want) - 1);
        free(got);
    }
    paved_mask_free(m);
}

static void
test_out_cap(void **state)
{
    const char *sec[] = {"supersecret"};
    struct paved_buf out = PAVED_BUF_INIT(4);
    struct paved_mask_stream st;
    paved_mask *m = mk(sec, 1, 4);

    (void)state;
    paved_mask_stream_init(&st, m);
    assert_int_equal(paved_mask_feed(&st, "0123456789", 10, &out),
                     PAVED_ETOOBIG);
    /* a failed stream refuses to go on rather than emit twice */
    assert_int_equal(paved_mask_feed(&st, "x", 1, &out), PAVED_ERROR);
    assert_int_equal(paved_mask_flush(&st, &out), PAVED_ERROR);
    paved_mask_stream_dispose(&st);
    paved_mask_free(m);
    paved_buf_dispose(&out);
}

/* A slow reference: leftmost, then longest, over the variants given. */
static size_t
ref_mask(char *out, const char *in, size_t len, const char *const *vars,
         size_t nvars)
{
    size_t pos = 0, n = 0, i, best, vl;

    while (pos < len) {
        best = 0;
        for (i = 0; i < nvars; i++) {
            vl = strlen(vars[i]);
            if (vl > best && vl <= len - pos &&
                memcmp(in + pos, vars[i], vl) == 0)
                best = vl;
        }
        if (best > 0) {
            memcpy(out + n, "***", 3);
            n += 3;
            pos += best;
        } else {
            out[n++] = in[pos++];
        }
    }
    return n;
}

/* The variants of a secret without newlines or characters that
 * percent-encoding changes, at most 57 bytes (no wrapping): raw, base64
 * padded and not, of the value and of the value plus "\n". */
static size_t
ref_variants(char **vars, const char *sec)
{
    size_t n = 0, len = strlen(sec), i, k;
    unsigned char buf[64];
    char *b64;

    vars[n++] = strdup(sec);
    for (k = 0; k < 2; k++) {
        memcpy(buf, sec, len);
        buf[len] = '\n';
        assert_int_equal(paved_base64_encode(&b64, buf, len + k), 0);
        vars[n++] = b64;
        i = strlen(b64);
        while (i > 0 && b64[i - 1] == '=')
            i--;
        vars[n++] = strndup(b64, i);
    }
    return n;
}

/* Random texts made of secrets, their base64 forms, prefixes of those and
 * random characters of the same alphabets, so that matches, near misses
 * and overlaps are frequent; fed in random chunks and compared with the
 * slow reference over every variant (for such secrets ref_variants()
 * lists them all). */
static void
test_random_against_reference(void **state)
{
    static const char alpha[] = "abcdYWQ=";
    char secs[3][8], text[600], ref[2000], *vars[15];
    const char *sp[3];
    size_t splits[20], ns, i, k, len, outlen, reflen, nvars, tl;
    unsigned seed = 12345;
    paved_mask *m;
    char *got;
    int iter;

    (void)state;
#define RND() (seed = seed * 1103515245u + 12345u, (seed >> 16) & 0x7fff)
    for (iter = 0; iter < 4000; iter++) {
        nvars = 0;
        for (k = 0; k < 3; k++) {
            size_t sl = 1 + RND() % 6;

            for (i = 0; i < sl; i++)
                secs[k][i] = alpha[RND() % 4];
            secs[k][sl] = '\0';
            sp[k] = secs[k];
            nvars += ref_variants(vars + nvars, secs[k]);
        }
        for (len = 0; len < sizeof(text) - 20;) {
            k = RND() % 10;
            if (k < 4) {
                text[len++] = alpha[RND() % 8];
                continue;
            }
            i = RND() % nvars;
            tl = strlen(vars[i]);
            if (k < 7) /* a prefix: a near miss */
                tl = RND() % (tl + 1);
            memcpy(text + len, vars[i], tl);
            len += tl;
            if (RND() % 30 == 0)
                break;
        }
        ns = RND() % 20;
        for (i = 0; i < ns; i++)
            splits[i] = len ? RND() % (len + 1) : 0;
        /* sorted split points */
        for (i = 1; i < ns; i++)
            for (k = i; k > 0 && splits[k - 1] > splits[k]; k--) {
                size_t t = splits[k];

                splits[k] = splits[k - 1];
                splits[k - 1] = t;
            }
        assert_int_equal(paved_mask_new(&m, sp, 3, 1, NULL), 0);
        got = mask_split(m, text, len, splits, ns, &outlen);
        reflen = ref_mask(ref, text, len, (const char *const *)vars, nvars);
        assert_int_equal(outlen, reflen);
        assert_memory_equal(got, ref, reflen);
        free(got);
        paved_mask_free(m);
        for (i = 0; i < nvars; i++)
            free(vars[i]);
    }
#undef RND
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_secrets_passes_through),
        cmocka_unit_test(test_raw_every_split),
        cmocka_unit_test(test_carry_holds_only_prefixes),
        cmocka_unit_test(test_base64_forms),
        cmocka_unit_test(test_url_encoded),
        cmocka_unit_test(test_multiline),
        cmocka_unit_test(test_trailing_newline_trimmed),
        cmocka_unit_test(test_short_secrets_counted),
        cmocka_unit_test(test_overlapping),
        cmocka_unit_test(test_binary),
        cmocka_unit_test(test_out_cap),
        cmocka_unit_test(test_random_against_reference),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
