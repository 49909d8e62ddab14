/* Fuzz target: paved_ghapp_token_store() (GitHub's token exchange answer)
 * and paved_ghapp_parse_time() on arbitrary bytes. Checks that whatever
 * is accepted is a token that can go into a header line and is handed out
 * again by the cache, and that forgetting it empties the cache. The App
 * key is generated in memory once per process (RSA key generation costs
 * far more than one input); never touches the network or the disk. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "paved/ghapp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* one handle per process, freed at exit so leak checkers see none */
static paved_ghapp *fuzz_app;

static void
fuzz_app_free(void)
{
    paved_ghapp_free(fuzz_app);
    fuzz_app = NULL;
}

static paved_ghapp *
fuzz_app_get(void)
{
    EVP_PKEY *pkey = NULL;
    BIO *bio = NULL;
    char *pem;
    long len;

    if (fuzz_app != NULL)
        return fuzz_app;
    if ((pkey = EVP_RSA_gen(2048)) == NULL ||
        (bio = BIO_new(BIO_s_mem())) == NULL ||
        PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) != 1 ||
        (len = BIO_get_mem_data(bio, &pem)) <= 0 ||
        paved_ghapp_new(&fuzz_app, "12345", pem, (size_t)len) != 0)
        abort();
    BIO_free(bio);
    EVP_PKEY_free(pkey);
    atexit(fuzz_app_free);
    return fuzz_app;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    paved_ghapp *a = fuzz_app_get();
    const char *tok;
    int64_t id, t;
    size_t i, n;

    /* a few installations (JSON may start with '{' or any of 4 kinds of
     * whitespace), so replacing a cached token is exercised too */
    id = size > 0 ? 1 + data[0] % 4 : 1;
    if (paved_ghapp_token_store(a, id, (const char *)data, size) == 0) {
        /* from the start of time, an accepted token is handed out */
        if (paved_ghapp_token_cached(&tok, a, id, INT64_MIN) != 1 ||
            tok == NULL)
            abort();
        n = strlen(tok);
        if (n == 0 || n > 8192)
            abort();
        for (i = 0; i < n; i++)
            if ((unsigned char)tok[i] < 0x21 || (unsigned char)tok[i] > 0x7e)
                abort();
        /* and never at the end of time */
        if (paved_ghapp_token_cached(&tok, a, id, INT64_MAX) != 0 ||
            tok != NULL)
            abort();
        if (size & 1) {
            paved_ghapp_token_forget(a, id);
            if (paved_ghapp_token_cached(&tok, a, id, INT64_MIN) != 0)
                abort();
        }
    }
    /* the date-time parser alone: never reads past size */
    if (paved_ghapp_parse_time(&t, (const char *)data, size) == 0 &&
        (size < 20 || t < -86400))
        abort();
    return 0;
}
