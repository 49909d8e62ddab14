/*
 * ceiling.c - the bench's reference server: one libevent evhttp loop that
 * verifies a GitHub X-Hub-Signature-256 HMAC in constant time and answers
 * 202. It is the ceiling of one event loop on this machine for the same
 * request shape paved serves.
 *
 * It never stores, parses JSON or logs a request: anything paved does on
 * top of this is paved's own cost. Built only by bench/ingest, never by the
 * project's CMake build.
 *
 * Usage: ceiling SECRET [PORT]   (PORT 0 or absent: the kernel picks)
 * Prints one line "ready addr=127.0.0.1:PORT" to stderr when listening.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

struct ceiling {
    const char *secret;
    size_t secret_len;
};

static int
hex_nibble(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* 1 when header is "sha256=<64 hex>" and matches HMAC(secret, body). */
static int
ceiling_verify(const struct ceiling *c, const char *header,
               const unsigned char *body, size_t len)
{
    unsigned char want[EVP_MAX_MD_SIZE], got[32];
    unsigned int want_len = 0;
    size_t i;

    if (header == NULL || strncmp(header, "sha256=", 7) != 0 ||
        strlen(header + 7) != 64)
        return 0;
    for (i = 0; i < 32; i++) {
        int hi = hex_nibble((unsigned char)header[7 + 2 * i]);
        int lo = hex_nibble((unsigned char)header[8 + 2 * i]);
        if (hi < 0 || lo < 0)
            return 0;
        got[i] = (unsigned char)(hi << 4 | lo);
    }
    if (HMAC(EVP_sha256(), c->secret, (int)c->secret_len, body, len, want,
             &want_len) == NULL ||
        want_len != 32)
        return 0;
    /* Constant time: the comparison must not leak how many bytes matched. */
    return CRYPTO_memcmp(want, got, 32) == 0;
}

static void
ceiling_handle(struct evhttp_request *req, void *arg)
{
    struct ceiling *c = arg;
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    struct evkeyvalq *hdrs = evhttp_request_get_input_headers(req);
    const char *sig = evhttp_find_header(hdrs, "X-Hub-Signature-256");
    size_t len = evbuffer_get_length(in);
    struct evbuffer *out;
    unsigned char *body;

    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        evhttp_send_error(req, 405, NULL);
        return;
    }
    /* One contiguous view of the body; no copy when it is one chunk. */
    body = evbuffer_pullup(in, -1);
    if (body == NULL)
        body = (unsigned char *)"";
    if (!ceiling_verify(c, sig, body, len)) {
        evhttp_send_reply(req, 401, "Unauthorized", NULL);
        return;
    }
    out = evhttp_request_get_output_buffer(req);
    evbuffer_add(out, "{\"status\":\"queued\"}", 19);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "application/json");
    evhttp_send_reply(req, 202, "Accepted", NULL);
}

static void
ceiling_stop(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopexit(arg, NULL);
}

int
main(int argc, char **argv)
{
    struct ceiling c;
    struct event_base *base = NULL;
    struct evhttp *http = NULL;
    struct evhttp_bound_socket *bound;
    struct event *sigterm = NULL, *sigint = NULL;
    struct sockaddr_in sin;
    socklen_t slen = sizeof(sin);
    long port = 0;
    char *end = NULL;
    int rc = 1;

    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s SECRET [PORT]\n", argv[0]);
        return 2;
    }
    if (argc == 3) {
        errno = 0;
        port = strtol(argv[2], &end, 10);
        if (errno != 0 || *end != '\0' || port < 0 || port > 65535) {
            fprintf(stderr, "ceiling: bad port %s\n", argv[2]);
            return 2;
        }
    }
    memset(&c, 0, sizeof(c));
    c.secret = argv[1];
    c.secret_len = strlen(argv[1]);
    signal(SIGPIPE, SIG_IGN);

    base = event_base_new();
    http = base != NULL ? evhttp_new(base) : NULL;
    if (http == NULL)
        goto out;
    evhttp_set_max_body_size(http, 25 * 1024 * 1024);
    evhttp_set_allowed_methods(http, EVHTTP_REQ_POST | EVHTTP_REQ_GET);
    evhttp_set_gencb(http, ceiling_handle, &c);
    bound =
        evhttp_bind_socket_with_handle(http, "127.0.0.1", (unsigned short)port);
    if (bound == NULL) {
        fprintf(stderr, "ceiling: cannot listen on 127.0.0.1:%ld\n", port);
        goto out;
    }
    if (getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&sin,
                    &slen) != 0)
        goto out;
    sigterm = evsignal_new(base, SIGTERM, ceiling_stop, base);
    sigint = evsignal_new(base, SIGINT, ceiling_stop, base);
    if (sigterm == NULL || sigint == NULL || evsignal_add(sigterm, NULL) ||
        evsignal_add(sigint, NULL))
        goto out;
    fprintf(stderr, "ready addr=127.0.0.1:%u\n", ntohs(sin.sin_port));
    fflush(stderr);
    event_base_dispatch(base);
    rc = 0;
out:
    if (sigterm != NULL)
        event_free(sigterm);
    if (sigint != NULL)
        event_free(sigint);
    if (http != NULL)
        evhttp_free(http);
    if (base != NULL)
        event_base_free(base);
    return rc;
}
