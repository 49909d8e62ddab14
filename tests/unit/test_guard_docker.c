/* Unit tests for src/guard/docker.c: the rule table (stable IDs and
 * severities), a passing and a failing fixture for every rule in it
 * (tests/fixtures/guardrails/docker/<rule>/, "# expect: rule:line"
 * lines say what the failing one yields), and the reader's corners:
 * parser directives, continuations with comment and empty lines,
 * heredocs, JSON form, flags, stage names, ARG and ENV substitution,
 * CRLF, and secrets that must never reach a message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard/guard_int.h"
#include "paved/error.h"

/* ---- helpers ------------------------------------------------------------ */

static char *
load(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *buf;
    long n;

    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    n = ftell(fp);
    assert_true(n >= 0);
    rewind(fp);
    assert_non_null(buf = malloc((size_t)n + 1));
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    buf[n] = '\0';
    fclose(fp);
    *len = (size_t)n;
    return buf;
}

static const char *
source_dir(void)
{
    const char *s = getenv("PAVED_SOURCE_DIR");

    return s != NULL ? s : ".";
}

struct expect {
    char ex_rule[64];
    unsigned ex_line;
    int ex_seen;
};

/* "rule:line" items, from "expect: " annotations in a file or from a
 * space-separated list. */
static size_t
parse_expects(const char *text, int annotated, struct expect *ex, size_t max)
{
    const char *p = text;
    size_t n = 0;

    for (;;) {
        size_t rl;

        if (annotated) {
            if ((p = strstr(p, "expect: ")) == NULL)
                break;
            p += 8;
        } else {
            while (*p == ' ')
                p++;
            if (*p == '\0')
                break;
        }
        rl = strcspn(p, ":");
        assert_true(rl > 0 && rl < sizeof(ex[n].ex_rule) && p[rl] == ':');
        assert_true(n < max);
        memcpy(ex[n].ex_rule, p, rl);
        ex[n].ex_rule[rl] = '\0';
        ex[n].ex_line = (unsigned)strtoul(p + rl + 1, (char **)&p, 10);
        ex[n].ex_seen = 0;
        n++;
    }
    return n;
}

/* Each finding is one expected (rule, line), and every expected one is
 * found: nothing more, nothing less. Prints what differs. */
static void
assert_findings(const struct paved_findings *fs, struct expect *ex, size_t n,
                const char *what)
{
    size_t i, j;
    int bad = 0;

    for (i = 0; i < fs->fs_n; i++) {
        const struct paved_finding *f = &fs->fs_items[i];

        for (j = 0; j < n; j++)
            if (!ex[j].ex_seen && strcmp(ex[j].ex_rule, f->f_rule) == 0 &&
                ex[j].ex_line == f->f_line)
                break;
        if (j == n) {
            print_error("%s: unexpected %s:%u (%s)\n", what, f->f_rule,
                        f->f_line, f->f_message);
            bad = 1;
            continue;
        }
        ex[j].ex_seen = 1;
    }
    for (j = 0; j < n; j++)
        if (!ex[j].ex_seen) {
            print_error("%s: missing %s:%u\n", what, ex[j].ex_rule,
                        ex[j].ex_line);
            bad = 1;
        }
    assert_false(bad);
}

/* Every finding is well formed: a rule of the table with its severity,
 * the path given, a one-line message, lines in range, no fingerprint. */
static void
assert_well_formed(const struct paved_findings *fs, const char *path,
                   const char *data, size_t len)
{
    size_t i, j, n, nlines = 1;

    for (i = 0; i < len; i++)
        nlines += data[i] == '\n';
    for (i = 0; i < fs->fs_n; i++) {
        const struct paved_finding *f = &fs->fs_items[i];
        const struct paved_rule *t = guard_docker_rules(&n);

        for (j = 0; j < n && strcmp(t[j].r_id, f->f_rule) != 0; j++)
            ;
        assert_true(j < n);
        assert_int_equal(f->f_severity, t[j].r_severity);
        assert_string_equal(f->f_path, path);
        assert_true(f->f_line >= 1 && f->f_line <= nlines);
        assert_int_equal(f->f_end_line, f->f_line);
        assert_null(f->f_fingerprint);
        assert_true(strlen(f->f_message) > 20);
        assert_null(strchr(f->f_message, '\n'));
    }
}

/* Checks text and compares with the space-separated expectations. */
static void
expect_text(const char *what, const char *text, const char *want,
            struct guard_docker_facts *df)
{
    struct paved_findings fs = {0};
    struct guard_docker_facts local;
    struct expect ex[32];
    size_t n = parse_expects(want, 0, ex, 32);

    assert_int_equal(guard_dockerfile(&fs, df != NULL ? df : &local,
                                      "Dockerfile", text, strlen(text)),
                     0);
    assert_well_formed(&fs, "Dockerfile", text, strlen(text));
    assert_findings(&fs, ex, n, what);
    paved_findings_dispose(&fs);
}

/* ---- the table ------------------------------------------------------------
 */

static const struct {
    const char *id;
    enum paved_severity sev;
} want_rules[] = {
    {"docker.single-stage", PAVED_SEV_MEDIUM},
    {"docker.user-root", PAVED_SEV_HIGH},
    {"docker.image-unpinned", PAVED_SEV_HIGH},
    {"docker.env-secret", PAVED_SEV_HIGH},
    {"docker.add-remote", PAVED_SEV_MEDIUM},
};

static void
test_rule_table(void **state)
{
    const struct paved_rule *t;
    size_t n, i;

    (void)state;
    t = guard_docker_rules(&n);
    assert_int_equal(n, sizeof(want_rules) / sizeof(*want_rules));
    for (i = 0; i < n; i++) {
        assert_string_equal(t[i].r_id, want_rules[i].id);
        assert_int_equal(t[i].r_severity, want_rules[i].sev);
        assert_true(strlen(t[i].r_summary) > 20);
        /* the catalog joins the table: the same entry comes back */
        assert_ptr_equal(paved_guard_rule(t[i].r_id), &t[i]);
    }
}

/* ---- fixtures ------------------------------------------------------------ */

/* Runs every file of fixtures/guardrails/docker/<rule>/: pass* yield no
 * finding, fail* exactly their "expect:" lines. For docker.healthcheck
 * (tree.c's rule, fed by this file's facts) pass* have the fact and
 * fail* do not. */
static void
run_rule_fixtures(const char *rule, int healthcheck)
{
    char dir[4096], path[4096 + 260];
    struct dirent *de;
    DIR *d;
    int npass = 0, nfail = 0;

    snprintf(dir, sizeof(dir), "%s/tests/fixtures/guardrails/docker/%s",
             source_dir(), rule);
    if ((d = opendir(dir)) == NULL) {
        print_error("no fixtures for %s in %s\n", rule, dir);
        fail();
    }
    while ((de = readdir(d)) != NULL) {
        struct paved_findings fs = {0};
        struct guard_docker_facts df;
        struct expect ex[32];
        int pass = strncmp(de->d_name, "pass", 4) == 0;
        size_t len, n;
        char *data;

        if (!pass && strncmp(de->d_name, "fail", 4) != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        data = load(path, &len);
        n = parse_expects(data, 1, ex, 32);
        memset(&df, 0xff, sizeof(df));
        assert_int_equal(guard_dockerfile(&fs, &df, de->d_name, data, len), 0);
        assert_well_formed(&fs, de->d_name, data, len);
        if (pass) {
            assert_int_equal(n, 0);
            npass++;
        } else {
            /* a failing fixture yields the rule it is about */
            assert_true(healthcheck || n > 0);
            for (size_t i = 0; i < n; i++)
                assert_string_equal(ex[i].ex_rule, rule);
            nfail++;
        }
        assert_findings(&fs, ex, n, path);
        if (healthcheck)
            assert_int_equal(df.df_healthcheck, pass);
        paved_findings_dispose(&fs);
        free(data);
    }
    closedir(d);
    if (npass == 0 || nfail == 0)
        print_error("%s: %d passing and %d failing fixtures\n", rule, npass,
                    nfail);
    assert_true(npass > 0 && nfail > 0);
}

static void
test_fixtures_every_rule(void **state)
{
    const struct paved_rule *t;
    size_t n, i;

    (void)state;
    t = guard_docker_rules(&n);
    for (i = 0; i < n; i++)
        run_rule_fixtures(t[i].r_id, 0);
    run_rule_fixtures("docker.healthcheck", 1);
}

/* The repository's own Dockerfile is what the golden path asks for. */
static void
test_repository_dockerfile(void **state)
{
    struct paved_findings fs = {0};
    struct guard_docker_facts df;
    char path[4096];
    size_t len;
    char *data;

    (void)state;
    snprintf(path, sizeof(path), "%s/Dockerfile", source_dir());
    data = load(path, &len);
    assert_int_equal(guard_dockerfile(&fs, &df, "Dockerfile", data, len), 0);
    assert_int_equal(fs.fs_n, 0);
    assert_true(df.df_healthcheck);
    free(data);
}

/* ---- the reader ------------------------------------------------------------
 */

static void
test_continuations(void **state)
{
    (void)state;
    /* comment and empty lines inside a continuation are dropped; the
     * USER after it is a line of its own */
    expect_text("continuation",
                "FROM golang:1.22 AS build\n"
                "RUN echo a \\\n"
                "# a comment inside\n"
                "\n"
                "    && echo b \\  \n"
                "    && echo c\n"
                "FROM alpine:3.19\n"
                "RUN apk add --no-cache curl \\\n"
                "  && true\n"
                "USER root\n",
                "docker.user-root:10", NULL);
    /* a USER swallowed by a continuation is no USER */
    expect_text("swallowed",
                "FROM golang:1.22 AS build\n"
                "FROM alpine:3.19\n"
                "RUN echo \\\n"
                "USER app\n",
                "docker.user-root:2", NULL);
    /* a comment line does not end a continuation: the USER after it is
     * part of the RUN */
    expect_text("comment in continuation",
                "FROM golang:1.22 AS build\n"
                "FROM alpine:3.19\n"
                "RUN echo a \\\n"
                "  # install nothing\n"
                "USER root\n",
                "docker.user-root:2", NULL);
    /* the file ends inside a continuation */
    expect_text("eof", "FROM alpine:3.19 AS a\nFROM alpine:3.19\nUSER app \\",
                "", NULL);
}

static void
test_escape_directive(void **state)
{
    (void)state;
    /* with ` as the escape character a trailing backslash is a path */
    expect_text("backtick",
                "# escape=`\n"
                "FROM alpine:3.19 AS build\n"
                "FROM alpine:3.19\n"
                "RUN echo C:\\\n"
                "USER root\n",
                "docker.user-root:5", NULL);
    expect_text("backtick continues",
                "# syntax=docker/dockerfile:1\n"
                "#escape = `\n"
                "FROM alpine:3.19 AS build\n"
                "FROM alpine:3.19\n"
                "RUN echo a `\n"
                "USER root\n",
                "docker.user-root:4", NULL);
    /* after a comment, "# escape=" is only a comment */
    expect_text("late directive",
                "# hello\n"
                "# escape=`\n"
                "FROM alpine:3.19 AS b\n"
                "FROM alpine:3.19\n"
                "RUN echo \\\n"
                "USER root\n",
                "docker.user-root:4", NULL);
    /* a byte-order mark before the directive */
    expect_text("bom",
                "\xEF\xBB\xBF# escape=`\n"
                "FROM alpine:3.19 AS build\n"
                "FROM alpine:3.19\n"
                "RUN echo C:\\\n"
                "USER 0\n",
                "docker.user-root:5", NULL);
}

static void
test_heredocs(void **state)
{
    struct guard_docker_facts df;

    (void)state;
    expect_text("heredocs",
                "FROM alpine:3.19 AS build\n"
                "FROM alpine:3.19\n"
                "USER app\n"
                "RUN <<EOF\n"
                "USER root\n"
                "FROM node\n"
                "EOF\n"
                "COPY <<-CONF /etc/app.conf\n"
                "\tUSER root\n"
                "\tCONF\n"
                "RUN cat <<'A' > /a && cat <<\"B\" > /b\n"
                "USER root\n"
                "A\n"
                "FROM node\n"
                "ENV PASSWORD=hunter2hunter2\n"
                "B\n"
                "HEALTHCHECK CMD true\n",
                "", &df);
    assert_true(df.df_healthcheck);
    /* a here-string is not a heredoc; a quoted "<<EOF" neither */
    expect_text("here-string",
                "FROM alpine:3.19 AS build\n"
                "FROM alpine:3.19\n"
                "USER app\n"
                "RUN cat <<< \"x\"\n"
                "RUN echo \"a <<EOF\"\n"
                "USER root\n",
                "docker.user-root:6", NULL);
    /* a heredoc never closed runs to the end of the file */
    expect_text("open heredoc",
                "FROM alpine:3.19 AS build\n"
                "FROM alpine:3.19\n"
                "USER app\n"
                "RUN <<EOF\n"
                "USER root\n",
                "", NULL);
}

static void
test_instructions_and_stages(void **state)
{
    (void)state;
    /* any case; stage names compare without case; flags on FROM */
    expect_text("case",
                "from --platform=linux/amd64 golang:1.22 as Build\n"
                "uSeR root\n"
                "From BUILD AS final\n",
                "docker.user-root:2", NULL);
    expect_text("platform flag",
                "FROM --platform=$BUILDPLATFORM node AS build\n"
                "FROM build\n"
                "USER 1000\n",
                "docker.image-unpinned:1", NULL);
    /* a name no earlier stage has is an image: untagged */
    expect_text("not a stage",
                "FROM build\n"
                "FROM alpine:3.19 AS build\n"
                "USER 1000\n",
                "docker.image-unpinned:1", NULL);
    /* the user is inherited from the stage the final one starts from;
     * the finding points at the USER that made it root */
    expect_text("inherited root",
                "FROM debian:12 AS base\n"
                "USER root\n"
                "FROM base\n"
                "RUN true\n",
                "docker.user-root:2", NULL);
    /* scratch has no users: uid 0 */
    expect_text("scratch",
                "FROM golang:1.22 AS build\n"
                "FROM scratch\n"
                "COPY --from=build /app /app\n",
                "docker.user-root:2", NULL);
    /* a nonroot base runs as its own user */
    expect_text("nonroot base",
                "FROM golang:1.22 AS build\n"
                "FROM gcr.io/distroless/static-debian12:nonroot\n",
                "", NULL);
    /* a digest pins, whatever the tag */
    expect_text("digest",
                "FROM node:latest@sha256:0123456789abcdef0123456789abcdef"
                "0123456789abcdef0123456789abcdef AS a\n"
                "FROM localhost:5000/app\n"
                "USER app\n",
                "docker.image-unpinned:2", NULL);
    /* no FROM: nothing to judge; blank and comment-only input */
    expect_text("no from", "RUN echo hi\nUSER root\n", "", NULL);
    expect_text("empty", "", "", NULL);
    expect_text("comments", "# only\n\n   # a comment\n", "", NULL);
    /* an instruction with no arguments */
    expect_text("bare", "FROM\nFROM alpine:3.19 AS a\nFROM a\nUSER\n",
                "docker.user-root:3", NULL);
}

static void
test_variables(void **state)
{
    (void)state;
    expect_text("arg default",
                "ARG IMG=golang\n"
                "ARG V=1.22\n"
                "FROM ${IMG}:${V} AS build\n"
                "FROM $IMG AS build2\n"
                "FROM ${UNSET:-alpine:latest} AS c\n"
                "FROM ${UNSET:-alpine:3.19}\n"
                "USER app\n",
                "docker.image-unpinned:4 docker.image-unpinned:5", NULL);
    /* an ARG without a default is known at build time only */
    expect_text("arg no default",
                "ARG IMG\n"
                "FROM $IMG AS a\n"
                "FROM ${IMG}:latest\n",
                "", NULL);
    /* an ARG inside a stage does not reach the next FROM */
    expect_text("stage arg",
                "FROM alpine:3.19 AS a\n"
                "ARG IMG=node\n"
                "FROM ${IMG}\n",
                "", NULL);
    /* USER from ENV and from a re-declared global ARG */
    expect_text("user from env",
                "FROM alpine:3.19 AS a\n"
                "FROM alpine:3.19\n"
                "ENV APP_USER=root\n"
                "USER $APP_USER\n",
                "docker.user-root:4", NULL);
    expect_text("user from global arg",
                "ARG U=0\n"
                "FROM alpine:3.19 AS a\n"
                "FROM alpine:3.19\n"
                "ARG U\n"
                "USER ${U}:${U}\n",
                "docker.user-root:5", NULL);
    /* not re-declared in the stage: not in scope, so not judged */
    expect_text("global arg out of scope",
                "ARG U=0\n"
                "FROM alpine:3.19 AS a\n"
                "FROM alpine:3.19\n"
                "USER $U\n",
                "", NULL);
    expect_text("user from build arg",
                "FROM alpine:3.19 AS a\n"
                "FROM alpine:3.19\n"
                "ARG UID\n"
                "USER ${UID}\n",
                "", NULL);
}

/* The value of a secret must not reach any field of a finding. */
static void
assert_not_in_findings(const struct paved_findings *fs, const char *secret)
{
    size_t i;

    for (i = 0; i < fs->fs_n; i++) {
        const struct paved_finding *f = &fs->fs_items[i];

        assert_null(strstr(f->f_message, secret));
        assert_null(strstr(f->f_path, secret));
        assert_null(strstr(f->f_rule, secret));
        assert_null(f->f_fingerprint);
    }
}

static void
test_env_secrets(void **state)
{
    static const char *const secrets[] = {
        "Vq8#mT2!xR9@kL4p", "hunter2hunter2", "s3cr3t",
        "ghp_R8mK2vX9qL4tW7nB3cF6hJ1pZ5sD0gY2aE8u",
        "xoxb-2837465019283-4958372610495-Qm7Rt2Yx9Zb4Nc1Vd8Fg5Hk3"};
    const char *text = "FROM alpine:3.19 AS a\n"
                       "FROM alpine:3.19\n"
                       "USER app\n"
                       "ENV DB_PASSWORD=\"Vq8#mT2!xR9@kL4p\" LEVEL=info\n"
                       "ARG admin_passwd=hunter2hunter2\n"
                       "ENV Api-Key s3cr3t\n"
                       "ENV HELPER='ghp_R8mK2vX9qL4tW7nB3cF6hJ1pZ5sD0gY2aE8u'\n"
                       "ARG NOTIFY=xoxb-2837465019283-4958372610495-"
                       "Qm7Rt2Yx9Zb4Nc1Vd8Fg5Hk3\n"
                       "ENV TOKEN_REFRESH=true SECRET_TIMEOUT=30 \\\n"
                       "    PASSWORD_FILE=/run/secrets/db EMPTY_TOKEN=\n"
                       "ENV AUTH_TOKEN=$AUTH_TOKEN API_KEY=${API_KEY}\n"
                       "ARG GITHUB_TOKEN\n";
    struct paved_findings fs = {0};
    struct guard_docker_facts df;
    struct expect ex[8];
    size_t i, n;

    (void)state;
    n = parse_expects("docker.env-secret:4 docker.env-secret:5 "
                      "docker.env-secret:6 docker.env-secret:7 "
                      "docker.env-secret:8",
                      0, ex, 8);
    assert_int_equal(
        guard_dockerfile(&fs, &df, "Dockerfile", text, strlen(text)), 0);
    assert_findings(&fs, ex, n, "env secrets");
    for (i = 0; i < sizeof(secrets) / sizeof(*secrets); i++)
        assert_not_in_findings(&fs, secrets[i]);
    /* the message names the variable and the way out */
    assert_non_null(strstr(fs.fs_items[0].f_message, "DB_PASSWORD"));
    assert_non_null(strstr(fs.fs_items[0].f_message, "--mount=type=secret"));
    paved_findings_dispose(&fs);
}

static void
test_add_remote(void **state)
{
    const char *text =
        "FROM alpine:3.19 AS a\n"
        "ADD https://deploy:hunter2pass@files.example.com/x.tgz /tmp/\n"
        "ADD --chown=1:1 http://example.org/a /b /dst/\n"
        "ADD --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd86"
        "9a9b2945d1036d1dc68d https://example.com/y.tgz /tmp/\n"
        "ADD --checksum=sha256:abc https://github.com/moby/buildkit.git#v0.13"
        " /src\n"
        "ADD [\"git://example.com/repo\", \"/src\"]\n"
        "ADD [\"broken json\" /x\n"
        "ADD local.tgz https.txt /dst/\n"
        "FROM a\n"
        "USER 1\n";
    struct paved_findings fs = {0};
    struct guard_docker_facts df;
    struct expect ex[8];
    size_t n, i;

    (void)state;
    n = parse_expects("docker.add-remote:2 docker.add-remote:3 "
                      "docker.add-remote:5 docker.add-remote:6",
                      0, ex, 8);
    assert_int_equal(
        guard_dockerfile(&fs, &df, "Dockerfile", text, strlen(text)), 0);
    assert_findings(&fs, ex, n, "add");
    for (i = 0; i < fs.fs_n; i++) {
        /* the host, never the credentials in the URL */
        assert_null(strstr(fs.fs_items[i].f_message, "hunter2pass"));
        assert_null(strstr(fs.fs_items[i].f_message, "deploy:"));
    }
    assert_non_null(strstr(fs.fs_items[0].f_message, "files.example.com"));
    paved_findings_dispose(&fs);
}

static void
test_healthcheck_fact(void **state)
{
    struct guard_docker_facts df;

    (void)state;
    expect_text("inherited",
                "FROM debian:12 AS base\n"
                "HEALTHCHECK --interval=5s CMD [\"true\"]\n"
                "USER app\n"
                "FROM base\n",
                "", &df);
    assert_true(df.df_healthcheck);
    expect_text("none after one",
                "FROM debian:12 AS base\n"
                "HEALTHCHECK CMD true\n"
                "USER app\n"
                "FROM base\n"
                "healthcheck none\n",
                "", &df);
    assert_false(df.df_healthcheck);
    expect_text("no from", "HEALTHCHECK CMD true\n", "", &df);
    assert_false(df.df_healthcheck);
}

/* The same file with CRLF line endings reads the same. */
static void
test_crlf(void **state)
{
    (void)state;
    expect_text("crlf",
                "# escape=`\r\n"
                "FROM golang:1.22 AS build\r\n"
                "RUN echo a `\r\n"
                "  && echo b\r\n"
                "FROM node\r\n"
                "USER root\r\n",
                "docker.image-unpinned:5 docker.user-root:6", NULL);
}

/* A large file with many stages, long lines and many words. */
static void
test_large(void **state)
{
    struct paved_findings fs = {0};
    struct guard_docker_facts df;
    size_t cap = 1u << 20, len = 0, i;
    char *buf;

    (void)state;
    assert_non_null(buf = malloc(cap));
    for (i = 0; i < 300; i++)
        len += (size_t)snprintf(buf + len, cap - len,
                                "FROM alpine:3.%zu AS s%zu\nENV A%zu=%zu "
                                "B=\"x y\" C='z'\n",
                                i, i, i, i);
    len += (size_t)snprintf(buf + len, cap - len, "RUN ");
    for (i = 0; i < 20000; i++)
        len += (size_t)snprintf(buf + len, cap - len, "w%zu \\\n", i);
    len += (size_t)snprintf(buf + len, cap - len, "end\nUSER app\n");
    assert_int_equal(guard_dockerfile(&fs, &df, "Dockerfile", buf, len), 0);
    assert_int_equal(fs.fs_n, 0);
    paved_findings_dispose(&fs);
    /* NULL data and a NULL facts pointer are fine */
    assert_int_equal(guard_dockerfile(&fs, NULL, "Dockerfile", NULL, 0), 0);
    assert_int_equal(fs.fs_n, 0);
    free(buf);
}

static void
test_names(void **state)
{
    static const char *const yes[] = {"Dockerfile",     "dockerfile",
                                      "Dockerfile.dev", "api.Dockerfile",
                                      "Containerfile",  "web.dockerfile"};
    static const char *const no[] = {"Dockerfile.dockerignore",
                                     "Dockerfile-",
                                     "README.md",
                                     "Dockerfile.",
                                     ".Dockerfile",
                                     "docker-compose.yaml",
                                     "Makefile"};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(yes) / sizeof(*yes); i++)
        assert_true(guard_dockerfile_name(yes[i]));
    for (i = 0; i < sizeof(no) / sizeof(*no); i++)
        assert_false(guard_dockerfile_name(no[i]));
    assert_false(guard_dockerfile_name(NULL));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rule_table),
        cmocka_unit_test(test_fixtures_every_rule),
        cmocka_unit_test(test_repository_dockerfile),
        cmocka_unit_test(test_continuations),
        cmocka_unit_test(test_escape_directive),
        cmocka_unit_test(test_heredocs),
        cmocka_unit_test(test_instructions_and_stages),
        cmocka_unit_test(test_variables),
        cmocka_unit_test(test_env_secrets),
        cmocka_unit_test(test_add_remote),
        cmocka_unit_test(test_healthcheck_fact),
        cmocka_unit_test(test_crlf),
        cmocka_unit_test(test_large),
        cmocka_unit_test(test_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
