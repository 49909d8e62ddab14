/* The CLI's HTTP client of paved's own API (libcurl easy: one request at
 * a time is all a command needs). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "cli/cli.h"
#include "paved/config.h"
#include "paved/error.h"

extern char **environ;

/* The daemon's base URL: --url, else PAVED_URL, else the config's listen
 * address (a wildcard host means this machine). */
int
cli_base_url(char *out, size_t len, const char *url, const char *config)
{
    struct paved_config *cf = NULL;
    const char *env = getenv("PAVED_URL");
    const char *listen;

    if (url == NULL && env != NULL && env[0] != '\0')
        url = env;
    if (url != NULL) {
        snprintf(out, len, "%s", url);
    } else {
        if (paved_config_load(&cf, config, environ) < 0)
            return PAVED_ERROR;
        listen = cf->cf_listen;
        if (strncmp(listen, "0.0.0.0:", 8) == 0)
            snprintf(out, len, "http://127.0.0.1:%s", listen + 8);
        else
            snprintf(out, len, "http://%s", listen);
        paved_config_free(cf);
    }
    len = strlen(out);
    if (len > 0 && out[len - 1] == '/')
        out[len - 1] = '\0';
    return 0;
}

int
cli_request(struct paved_buf *body, long *status, const char *method,
            const char *url)
{
    struct curl_slist *hdrs = NULL;
    const char *token = getenv("PAVED_API_TOKEN");
    char auth[1024];
    CURL *c;
    CURLcode rc;

    if ((c = curl_easy_init()) == NULL)
        return paved_error_set(PAVED_ERROR, "curl_easy_init failed");
    if (token != NULL && token[0] != '\0') {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        hdrs = curl_slist_append(hdrs, auth);
    }
    hdrs = curl_slist_append(hdrs, "Accept: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, paved_buf_write_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK)
        return paved_error_set(PAVED_EUNAVAILABLE,
                               "%s %s: %s (is paved serve running? set "
                               "--url or PAVED_URL)",
                               method, url, curl_easy_strerror(rc));
    return 0;
}
