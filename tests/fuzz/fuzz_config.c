/* Fuzz target: any bytes as a config file. paved_config_parse must return
 * a config or an error, never crash, leak or read past len. No environment:
 * the file path alone is under test. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "paved/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct paved_config *cf = NULL;
    uint8_t *copy;
    char *dump = NULL;

    /* an exact-size copy so ASan sees any read past the end */
    if ((copy = malloc(size ? size : 1)) == NULL)
        return 0;
    if (size > 0)
        memcpy(copy, data, size);
    if (paved_config_parse(&cf, "fuzz.yaml", copy, size, NULL) == 0) {
        if (paved_config_dump(&dump, cf) == 0)
            free(dump);
        paved_config_free(cf);
    }
    free(copy);
    return 0;
}
