#ifndef PAVED_GHAPP_H
#define PAVED_GHAPP_H
/* GitHub App authentication for the reporter: the App's RS256 JSON Web
 * Token, the request that exchanges it for an installation access token,
 * and a cache of those tokens per installation. Pure: this module never
 * opens a socket or a file, never reads a clock (callers pass `now`, unix
 * seconds) and never logs; messages never contain key or token bytes.
 * Not thread-safe: one handle belongs to one thread (the event loop). */
#include <stddef.h>
#include <stdint.h>

#include "paved/forgeapi.h"

typedef struct paved_ghapp paved_ghapp; /* body in src/report/ghapp.c */

/* A cached token is handed out only while it stays valid this long. */
#define PAVED_GHAPP_TOKEN_MARGIN 300

/* app_id: the App's id ("12345") or client id ("Iv23li..."): letters,
 * digits, '.', '_', '-', at most 64. pem[0..pem_len): the App's private
 * key, PKCS#1 ("BEGIN RSA PRIVATE KEY") or unencrypted PKCS#8 ("BEGIN
 * PRIVATE KEY"), RSA of at least 2048 bits; a key whose line breaks are
 * written as the two characters "\n" (one-line environment variables) is
 * taken too. PAVED_EINVAL with a message that names the problem, never the
 * key; PAVED_ENOMEM. The handle keeps its own copy of the key. */
int paved_ghapp_new(paved_ghapp **out, const char *app_id, const char *pem,
                    size_t pem_len);
/* Cleanses every cached token; NULL is a no-op. */
void paved_ghapp_free(paved_ghapp *a);

/* The App's JWT, valid from now - 60 s to now + 540 s (see ghapp.c for
 * GitHub's rule). *out is malloc'd NUL-terminated text, the caller frees
 * it (it is a credential for 10 minutes: cleanse it first). */
int paved_ghapp_jwt(char **out, const paved_ghapp *a, int64_t now_secs);

/* The token exchange: POST {api_url}/app/installations/{id}/access_tokens
 * with Accept: application/vnd.github+json, Authorization: Bearer <jwt>,
 * User-Agent: paved, X-GitHub-Api-Version: 2022-11-28 and an empty body
 * (hr_body "", hr_body_len 0). api_url: https://api.github.com or a GitHub
 * Enterprise Server's https://HOST/api/v3; trailing slashes are ignored.
 * *out is filled on success only; free it with
 * paved_http_request_dispose() (it cleanses the Authorization line).
 * PAVED_EINVAL for an installation id < 1, an empty api_url or one over
 * 2048 bytes, or a now_secs no JWT can be made for. */
int paved_ghapp_token_request(struct paved_http_request *out,
                              const paved_ghapp *a, const char *api_url,
                              int64_t installation_id, int64_t now_secs);

/* 1 and *token when the cached token of this installation stays valid for
 * at least PAVED_GHAPP_TOKEN_MARGIN seconds after now; 0 (and *token NULL)
 * when the caller must exchange. *token is borrowed until the next
 * paved_ghapp_token_store() or paved_ghapp_token_forget() for the same
 * installation, or paved_ghapp_free(). */
int paved_ghapp_token_cached(const char **token, paved_ghapp *a,
                             int64_t installation_id, int64_t now_secs);
/* Reads GitHub's answer to the exchange (201, {"token": "ghs_...",
 * "expires_at": "2016-07-11T22:14:10Z", ...}) and caches the token for the
 * installation, cleansing the one it replaces. PAVED_EINVAL for anything
 * else (not JSON, no or empty token, a token with bytes that cannot go
 * into a header, no RFC 3339 expires_at), PAVED_ETOOBIG past 65536
 * installations, PAVED_ENOMEM; on error the cache is unchanged.
 * The caller's json bytes are not copied beyond the token itself. */
int paved_ghapp_token_store(paved_ghapp *a, int64_t installation_id,
                            const char *json, size_t len);
/* Drops (and cleanses) an installation's token, e.g. after GitHub answered
 * 401 with it; unknown ids are a no-op. */
void paved_ghapp_token_forget(paved_ghapp *a, int64_t installation_id);

/* RFC 3339 date-time ("2016-07-11T22:14:10Z"; a fraction and a +hh:mm
 * offset are allowed; years from 1970) to unix seconds, the fraction
 * dropped. PAVED_EINVAL otherwise. */
int paved_ghapp_parse_time(int64_t *out, const char *s, size_t len);

/* Which installation of the App holds a repository: GET
 * {api_url}/repos/{owner}/{repo}/installation with the App's JWT
 * (headers as paved_ghapp_token_request(), no body: hr_body NULL). The
 * answer's "id" (paved_forgeapi_answer_id()) is the installation id; 404
 * means the App is not installed there. PAVED_EINVAL for a repo that is
 * not "owner/name" of letters, digits, '.', '_', '-' (no "." or ".."),
 * or the api_url and now_secs rules above. */
int paved_ghapp_installation_request(struct paved_http_request *out,
                                     const paved_ghapp *a, const char *api_url,
                                     const char *repo, int64_t now_secs);

#endif
