/* Fuzz target: paved_forge_form_value() over arbitrary bodies, looking up
 * "payload" and a key taken from the input itself. The input is bytes,
 * not a string: nothing may read past size. Never touches the network. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "paved/error.h"
#include "paved/forge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *out = NULL;
    size_t len = 0;
    char key[16];
    int error;

    error = paved_forge_form_value(&out, &len, data, size, "payload");
    if (error == 0) {
        /* decoding never grows the value, and it is NUL-terminated */
        if (out == NULL || len > size || out[len] != '\0')
            abort();
    } else if (out != NULL || len != 0 ||
               (error != PAVED_EINVAL && error != PAVED_ENOTFOUND)) {
        abort();
    }
    free(out);
    /* the first bytes up to '=' (at most 15) as a second key */
    for (len = 0; len < size && len < sizeof(key) - 1 && data[len] != '=' &&
                  data[len] != '\0';
         len++)
        key[len] = (char)data[len];
    key[len] = '\0';
    out = NULL;
    if (paved_forge_form_value(&out, &len, data, size, key) == 0 &&
        out[len] != '\0')
        abort();
    free(out);
    return 0;
}
