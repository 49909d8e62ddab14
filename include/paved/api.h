#ifndef PAVED_API_H
#define PAVED_API_H
/* The REST API's read side as a pure function of (method, path, query):
 * the server does transport and auth, this module only turns the store's
 * contents into JSON. Holds no state and no business logic. */
#include "paved/buf.h"
#include "paved/store.h"

/* Fills body with JSON and sets *status (200, 400, 404, 405, 500).
 * Returns 0 when the path is an API path, PAVED_ENOTFOUND otherwise. */
int paved_api_handle(struct paved_buf *body, int *status, paved_store *st,
                     const char *method, const char *path, const char *query);
/* RFC 3339 UTC with milliseconds into out (at least 32 bytes). */
void paved_api_format_time(char *out, size_t len, long long unix_ms);

#endif
