/* Unit tests for the logger: logfmt and JSON lines, quoting, buffering
 * and flush rules, and a full non-blocking pipe that must not block. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "paved/log.h"

struct pipefd {
    int rd, wr;
};

static int
setup(void **state)
{
    struct pipefd *p = calloc(1, sizeof(*p));
    int fds[2];

    if (p == NULL || pipe(fds) < 0)
        return -1;
    p->rd = fds[0];
    p->wr = fds[1];
    /* reads must never hang a failing test */
    fcntl(p->rd, F_SETFL, fcntl(p->rd, F_GETFL) | O_NONBLOCK);
    *state = p;
    return 0;
}

static int
teardown(void **state)
{
    struct pipefd *p = *state;

    close(p->rd);
    close(p->wr);
    free(p);
    return 0;
}

/* Everything in the pipe now, NUL-terminated (static buffer). */
static const char *
drain(int fd)
{
    static char buf[1 << 17];
    size_t len = 0;
    ssize_t n;

    while (len < sizeof(buf) - 1 &&
           (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
        len += (size_t)n;
    buf[len] = '\0';
    return buf;
}

/* The line without "ts=... " so it can be compared exactly. */
static const char *
skip_ts(const char *line)
{
    const char *sp;

    assert_memory_equal(line, "ts=", 3);
    sp = strchr(line, ' ');
    assert_non_null(sp);
    return sp + 1;
}

static void
test_logfmt_line(void **state)
{
    struct pipefd *p = *state;
    paved_log *lg;
    const char *out;

    assert_int_equal(paved_log_new(&lg, p->wr, 0, PAVED_LOG_INFO), 0);
    paved_log_kv(lg, PAVED_LOG_INFO, "request", "method", "POST", "path",
                 "/hooks/github", "status", "202", "skipped", NULL, "empty", "",
                 "q", "a \"b\" c=d", "nl", "x\ny\t\x01", NULL);
    /* buffered: nothing written until a flush */
    assert_string_equal(drain(p->rd), "");
    paved_log_flush(lg);
    out = drain(p->rd);
    assert_string_equal(skip_ts(out),
                        "level=info msg=request method=POST "
                        "path=/hooks/github status=202 empty=\"\" "
                        "q=\"a \\\"b\\\" c=d\" nl=\"x\\ny\\t\\u0001\"\n");
    paved_log_free(lg);
}

static void
test_timestamp_format(void **state)
{
    struct pipefd *p = *state;
    paved_log *lg;
    const char *out;
    int i;

    assert_int_equal(paved_log_new(&lg, p->wr, 0, PAVED_LOG_DEBUG), 0);
    paved_log_kv(lg, PAVED_LOG_DEBUG, "tick", NULL);
    paved_log_flush(lg);
    out = drain(p->rd);
    /* ts=2026-11-27T05:01:02.123Z */
    assert_true(strlen(out) > 28);
    for (i = 0; i < 24; i++) {
        char c = out[3 + i];
        switch (i) {
        case 4:
        case 7:
            assert_int_equal(c, '-');
            break;
        case 10:
            assert_int_equal(c, 'T');
            break;
        case 13:
        case 16:
            assert_int_equal(c, ':');
            break;
        case 19:
            assert_int_equal(c, '.');
            break;
        case 23:
            assert_int_equal(c, 'Z');
            break;
        default:
            assert_true(c >= '0' && c <= '9');
        }
    }
    assert_string_equal(out + 27, " level=debug msg=tick\n");
    paved_log_free(lg);
}

static void
test_json_line(void **state)
{
    struct pipefd *p = *state;
    json_error_t jerr;
    json_t *obj;
    paved_log *lg;
    const char *out;

    assert_int_equal(paved_log_new(&lg, p->wr, 1, PAVED_LOG_INFO), 0);
    paved_log_kv(lg, PAVED_LOG_ERROR, "store failed", "error",
                 "disk \"full\"\n", "bad_utf8",
                 "a\xff"
                 "b",
                 NULL);
    /* errors flush at once */
    out = drain(p->rd);
    assert_int_equal(out[strlen(out) - 1], '\n');
    assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1); /* 1 line */
    obj = json_loads(out, 0, &jerr);
    assert_non_null(obj);
    assert_string_equal(json_string_value(json_object_get(obj, "level")),
                        "error");
    assert_string_equal(json_string_value(json_object_get(obj, "msg")),
                        "store failed");
    assert_string_equal(json_string_value(json_object_get(obj, "error")),
                        "disk \"full\"\n");
    assert_string_equal(json_string_value(json_object_get(obj, "bad_utf8")),
                        "a\xef\xbf\xbd"
                        "b");
    assert_int_equal(strlen(json_string_value(json_object_get(obj, "ts"))), 24);
    assert_memory_equal(out, "{\"ts\":\"", 7);
    assert_non_null(strstr(out, "\",\"level\":\"error\",\"msg\":\"store "
                                "failed\",\"error\":"));
    json_decref(obj);
    paved_log_free(lg);
}

static void
test_levels_and_flush_rules(void **state)
{
    struct pipefd *p = *state;
    enum paved_log_level lvl;
    paved_log *lg;
    const char *out;

    assert_int_equal(paved_log_level_from_name(&lvl, "warn"), 0);
    assert_int_equal(lvl, PAVED_LOG_WARN);
    assert_int_equal(paved_log_level_from_name(&lvl, "debug"), 0);
    assert_int_equal(lvl, PAVED_LOG_DEBUG);
    assert_true(paved_log_level_from_name(&lvl, "verbose") < 0);
    assert_true(paved_log_level_from_name(&lvl, NULL) < 0);

    assert_int_equal(paved_log_new(&lg, p->wr, 0, PAVED_LOG_INFO), 0);
    paved_log_kv(lg, PAVED_LOG_DEBUG, "hidden", NULL);
    paved_log_kv(lg, PAVED_LOG_INFO, "buffered", NULL);
    assert_string_equal(drain(p->rd), "");
    /* "ready" goes out at once, and takes the buffered line with it */
    paved_log_kv(lg, PAVED_LOG_INFO, "ready", "addr", "127.0.0.1:1", NULL);
    out = drain(p->rd);
    assert_non_null(strstr(out, "msg=buffered\n"));
    assert_non_null(strstr(out, "msg=ready addr=127.0.0.1:1\n"));
    assert_null(strstr(out, "hidden"));
    paved_log_kv(lg, PAVED_LOG_WARN, "slow", NULL);
    assert_non_null(strstr(drain(p->rd), "level=warn msg=slow\n"));
    paved_log_kv(lg, PAVED_LOG_INFO, "stopping", NULL);
    assert_non_null(strstr(drain(p->rd), "msg=stopping\n"));
    paved_log_kv(lg, PAVED_LOG_INFO, "last", NULL);
    paved_log_free(lg); /* flushes */
    assert_non_null(strstr(drain(p->rd), "msg=last\n"));
    paved_log_free(NULL);
    paved_log_kv(NULL, PAVED_LOG_ERROR, "nothing", NULL);
    paved_log_flush(NULL);
}

static void
test_buffer_fills(void **state)
{
    struct pipefd *p = *state;
    char value[1000];
    paved_log *lg;
    const char *out;
    size_t lines = 0;
    int i;

    memset(value, 'v', sizeof(value) - 1);
    value[sizeof(value) - 1] = '\0';
    assert_int_equal(paved_log_new(&lg, p->wr, 0, PAVED_LOG_INFO), 0);
    /* ~1 KiB lines: the 64 KiB buffer spills by itself */
    for (i = 0; i < 60; i++)
        paved_log_kv(lg, PAVED_LOG_INFO, "fill", "v", value, NULL);
    assert_string_equal(drain(p->rd), "");
    for (i = 0; i < 10; i++)
        paved_log_kv(lg, PAVED_LOG_INFO, "fill", "v", value, NULL);
    out = drain(p->rd);
    assert_true(strlen(out) > 60000);
    paved_log_flush(lg);
    out = drain(p->rd);
    for (; (out = strchr(out, '\n')) != NULL; out++)
        lines++;
    assert_true(lines > 0 && lines < 10);
    paved_log_free(lg);
}

static void
test_line_longer_than_buffer(void **state)
{
    struct pipefd *p = *state;
    char *big = malloc(100000);
    paved_log *lg;
    const char *out;

    assert_non_null(big);
    memset(big, 'x', 99999);
    big[99999] = '\0';
    assert_int_equal(paved_log_new(&lg, p->wr, 0, PAVED_LOG_INFO), 0);
    paved_log_kv(lg, PAVED_LOG_INFO, "big", "v", big, NULL);
    paved_log_flush(lg);
    out = drain(p->rd);
    /* cut to the buffer, still one line */
    assert_int_equal(strlen(out), 64 * 1024);
    assert_int_equal(out[64 * 1024 - 1], '\n');
    assert_ptr_equal(strchr(out, '\n'), out + 64 * 1024 - 1);
    free(big);
    paved_log_free(lg);
}

static void
test_full_nonblocking_pipe(void **state)
{
    struct pipefd *p = *state;
    char junk[4096];
    paved_log *lg;
    const char *out;

    memset(junk, 'j', sizeof(junk));
    fcntl(p->wr, F_SETFL, fcntl(p->wr, F_GETFL) | O_NONBLOCK);
    while (write(p->wr, junk, sizeof(junk)) > 0)
        ;
    assert_int_equal(errno, EAGAIN);
    assert_int_equal(paved_log_new(&lg, p->wr, 0, PAVED_LOG_INFO), 0);
    /* must return, not spin or block */
    paved_log_kv(lg, PAVED_LOG_ERROR, "lost one", NULL);
    paved_log_kv(lg, PAVED_LOG_ERROR, "lost two", NULL);
    while (read(p->rd, junk, sizeof(junk)) > 0)
        ;
    paved_log_kv(lg, PAVED_LOG_WARN, "back", NULL);
    out = drain(p->rd);
    assert_null(strstr(out, "lost"));
    assert_non_null(strstr(out, "level=warn msg=\"log lines dropped\" "
                                "dropped=2\n"));
    assert_non_null(strstr(out, "msg=back\n"));
    assert_true(strstr(out, "dropped=2") < strstr(out, "msg=back"));
    paved_log_free(lg);
}

static void
test_bad_fd(void **state)
{
    paved_log *lg = (paved_log *)state;

    assert_true(paved_log_new(&lg, -1, 0, PAVED_LOG_INFO) < 0);
    assert_null(lg);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_logfmt_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timestamp_format, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_levels_and_flush_rules, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_buffer_fills, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_longer_than_buffer, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_full_nonblocking_pipe, setup,
                                        teardown),
        cmocka_unit_test(test_bad_fd),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
