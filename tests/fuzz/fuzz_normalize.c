/* Fuzz target: paved_forge_normalize() then the event's JSON round trip.
 * Input: first byte selects the forge (mod 3), the bytes up to the first
 * '\n' are the event name, the rest is the payload. Whatever normalizes
 * must serialize, parse back and serialize to the same text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "paved/event.h"
#include "paved/forge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct paved_event ev, back;
    char *name = NULL, *json = NULL, *json2 = NULL;
    const uint8_t *nl;
    size_t namelen;
    int forge;

    if (size < 1)
        return 0;
    forge = data[0] % 3;
    data++;
    size--;
    nl = memchr(data, '\n', size);
    namelen = nl != NULL ? (size_t)(nl - data) : size;
    if ((name = malloc(namelen + 1)) == NULL)
        return 0;
    memcpy(name, data, namelen);
    name[namelen] = '\0';
    data += nl != NULL ? namelen + 1 : namelen;
    size -= nl != NULL ? namelen + 1 : namelen;

    if (paved_forge_normalize(&ev, (enum paved_forge)forge, name, data, size) <
        0) {
        /* a failure leaves nothing behind */
        if (ev.ev_name != NULL || ev.ev_repo != NULL || ev.ev_ref != NULL)
            abort();
        goto out;
    }
    if (ev.ev_name == NULL || strcmp(ev.ev_name, name) != 0 ||
        (int)ev.ev_forge != forge)
        abort();
    if (paved_event_to_json(&json, &ev) < 0)
        abort(); /* a normalized event must always be storable */
    if (paved_event_from_json(&back, json, strlen(json)) < 0)
        abort();
    if (paved_event_to_json(&json2, &back) < 0 || strcmp(json, json2) != 0)
        abort();
    paved_event_dispose(&back);
    paved_event_dispose(&ev);
out:
    free(json);
    free(json2);
    free(name);
    return 0;
}
