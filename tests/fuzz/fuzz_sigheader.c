/* Fuzz target: paved_forge_parse_hub_signature() on arbitrary header
 * text, for both algorithms. Checks that a success really is the prefix
 * plus the right number of hex digits. Never touches the network. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "paved/crypto.h"
#include "paved/forge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const algos[] = {"sha256", "sha1"};
    unsigned char out[32];
    char hex[65];
    size_t i, len;
    char *s;

    if ((s = malloc(size + 1)) == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    for (i = 0; i < 2; i++) {
        if (paved_forge_parse_hub_signature(out, &len, s, algos[i]) < 0)
            continue;
        if (len != (i == 0 ? 32u : 20u))
            abort();
        /* the decoded bytes must re-encode to the digits that were given */
        paved_hex_encode(hex, out, len);
        if (strcasestr(s, hex) == NULL)
            abort();
    }
    free(s);
    return 0;
}
