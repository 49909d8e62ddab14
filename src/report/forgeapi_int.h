#ifndef PAVED_FORGEAPI_INT_H
#define PAVED_FORGEAPI_INT_H
/* Private to src/report/: the request checks that forgeapi.c (commit
 * statuses), checkrun.c (check runs) and ghapp.c (App requests) share, so
 * that every request paved builds refuses the same repositories, SHAs,
 * URLs and tokens with the same words. Pure checks: they never allocate
 * and never touch the network. */
#include <stddef.h>

#include "paved/forgeapi.h"

/* The endpoint (kind, http(s) API URL without query or fragment, a token
 * that fits in a header: PAVED_EAUTH when there is none) and the status's
 * state, context (one line of UTF-8, 1 to 255 characters) and target URL.
 * 0 or a negative PAVED_E* code with paved_error_set(). */
int forgeapi_status_check(const struct paved_forge_endpoint *ep,
                          const struct paved_status *st);

/* 1 when repo is a repository of that forge (GitHub and Gitea: exactly
 * "owner/name" of letters, digits, '.', '_', '-', neither "." nor "..";
 * GitLab: a path with subgroups or a numeric id), with *slash the index of
 * the first '/'; 0 otherwise. Such segments need no percent-encoding. */
int forgeapi_repo_check(const char *repo, enum paved_forge_kind kind,
                        size_t *slash);

/* 1 when sha is 40 (SHA-1) or 64 (SHA-256) hex digits, any case. */
int forgeapi_sha_check(const char *sha);

/* "Name: v1v2" in a fresh string; v2 saves the caller a temporary copy
 * of a credential ("token " + the token). PAVED_ENOMEM. */
int forgeapi_header(char **out, const char *name, const char *v1,
                    const char *v2);

/* s[0..n) percent-encoded (all but RFC 3986's unreserved characters). */
struct paved_buf;
int forgeapi_put_encoded(struct paved_buf *b, const char *s, size_t n);

#endif
