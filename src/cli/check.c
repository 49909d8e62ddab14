/* `paved check [PATH]`: the guardrails on a directory, the same code the
 * `guardrails` step runs in a run's workspace; and `paved scan`: the
 * vulnerability gate on a Trivy report, or on an image Trivy is run on.
 * Argument parsing and printing only; the checks are src/guard/'s. Exit
 * 0 passed, 1 a finding at or above the failing severity (or the scan
 * could not be done), 2 usage. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "paved/error.h"
#include "paved/guardrails.h"
#include "paved/trivy.h"

extern char **environ;

#define CHECK_REPORT_MAX (256 * 1024 * 1024)

struct check_args {
    const char *ca_path;
    const char *ca_format;
    const char *ca_fail_on;
    const char *ca_base;
    const char *ca_annotations; /* also write annotations here */
    const char *ca_output;      /* write the report here, not stdout */
    const char *ca_report;      /* scan: a Trivy JSON report */
    const char *ca_image;       /* scan: run Trivy on this image */
    const char *ca_fs;          /* scan: run Trivy on this directory */
    const char *ca_severity;    /* scan: failing severities */
    const char *ca_trivy;       /* scan: the trivy command */
    int ca_ignore_unfixed;
    int ca_production;
    int ca_rules;
};

static void
check_usage(FILE *fp)
{
    fprintf(fp, "usage: paved check [PATH] [--format text|json|sarif] "
                "[--fail-on SEVERITY]\n"
                "                   [--base REV] [--production] [--annotations "
                "FILE] [--output FILE]\n"
                "       paved check --rules\n"
                "  PATH: the repository's top directory (default: .)\n"
                "  --base REV: look for secrets only in the lines added since "
                "REV\n"
                "  exit 1 when a finding is at or above the failing severity "
                "(.paved/policy.yaml: fail_on, default high)\n");
}

static void
scan_usage(FILE *fp)
{
    fprintf(fp,
            "usage: paved scan (--report FILE | --image IMAGE | --fs DIR) "
            "[--severity CRITICAL,HIGH]\n"
            "                  [--ignore-unfixed] [--format text|json|sarif] "
            "[--trivy CMD]\n"
            "                  [--annotations FILE] [--output FILE]\n"
            "  --image runs `trivy image --format json --output FILE "
            "IMAGE` (--trivy, or\n"
            "  PAVED_TRIVY, names the command; default trivy); --fs runs "
            "`trivy fs`\n"
            "  on a directory (a local artifact)\n");
}

static int
check_parse(struct check_args *a, int argc, char **argv, const char *cmd)
{
    static const char *const valued[] = {
        "--format", "--fail-on", "--base",     "--annotations", "--output",
        "--report", "--image",   "--severity", "--trivy",       "--fs",
    };
    const char **slots[] = {
        &a->ca_format, &a->ca_fail_on, &a->ca_base,  &a->ca_annotations,
        &a->ca_output, &a->ca_report,  &a->ca_image, &a->ca_severity,
        &a->ca_trivy,  &a->ca_fs,
    };
    size_t k;
    int i, rc;

    memset(a, 0, sizeof(*a));
    for (i = 1; i < argc; i++) {
        for (k = 0, rc = 0; k < sizeof(valued) / sizeof(*valued); k++)
            if ((rc = cli_opt(slots[k], argc, argv, &i, valued[k])) != 0)
                break;
        if (rc < 0) {
            fprintf(stderr, "paved %s: %s needs a value\n", cmd, argv[i]);
            return -1;
        }
        if (rc > 0)
            continue;
        if (strcmp(argv[i], "--production") == 0)
            a->ca_production = 1;
        else if (strcmp(argv[i], "--ignore-unfixed") == 0)
            a->ca_ignore_unfixed = 1;
        else if (strcmp(argv[i], "--rules") == 0)
            a->ca_rules = 1;
        else if (strcmp(argv[i], "--json") == 0)
            a->ca_format = "json";
        else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "paved %s: unknown option \"%s\"\n", cmd, argv[i]);
            return -1;
        } else if (a->ca_path == NULL)
            a->ca_path = argv[i];
        else {
            fprintf(stderr, "paved %s: one PATH only (got \"%s\" too)\n", cmd,
                    argv[i]);
            return -1;
        }
    }
    return 0;
}

/* text to the file (created 0644, replaced) or stdout */
static int
check_write(const char *path, const char *text, const char *cmd)
{
    FILE *fp = stdout;

    if (path != NULL && (fp = fopen(path, "w")) == NULL) {
        fprintf(stderr, "paved %s: %s: %s\n", cmd, path, strerror(errno));
        return -1;
    }
    fputs(text, fp);
    if (fp != stdout && fclose(fp) != 0) {
        fprintf(stderr, "paved %s: %s: %s\n", cmd, path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Annotations are appended: other steps of the run write there too. */
static int
check_annotations(const char *path, const struct paved_guard_result *r,
                  const char *cmd)
{
    char *text = NULL;
    FILE *fp;
    int rc = 0;

    if (path == NULL || path[0] == '\0')
        return 0;
    if (paved_guard_render(&text, r, PAVED_GUARD_ANNOTATIONS, NULL) < 0) {
        fprintf(stderr, "paved %s: %s\n", cmd, paved_error_last());
        return -1;
    }
    if ((fp = fopen(path, "a")) == NULL) {
        fprintf(stderr, "paved %s: %s: %s\n", cmd, path, strerror(errno));
        rc = -1;
    } else {
        fputs(text, fp);
        if (fclose(fp) != 0)
            rc = -1;
    }
    free(text);
    return rc;
}

static void
check_today(char *out, size_t len)
{
    time_t now = time(NULL);
    struct tm tm;

    gmtime_r(&now, &tm);
    strftime(out, len, "%Y-%m-%d", &tm);
}

static int
check_rules(void)
{
    const struct paved_rule *r;
    size_t i;

    for (i = 0; (r = paved_guard_rule_at(i)) != NULL; i++)
        printf("%-32s %-8s %s\n", r->r_id, paved_severity_name(r->r_severity),
               r->r_summary);
    return PAVED_EXIT_OK;
}

/* Print the result as asked, write annotations; the exit status. */
static int
check_finish(const struct check_args *a, const struct paved_guard_result *r,
             const char *cmd)
{
    enum paved_guard_format fmt = PAVED_GUARD_TEXT;
    char *text = NULL;

    if (a->ca_format != NULL &&
        paved_guard_format_parse(&fmt, a->ca_format) < 0) {
        fprintf(stderr, "paved %s: %s\n", cmd, paved_error_last());
        return PAVED_EXIT_USAGE;
    }
    if (paved_guard_render(&text, r, fmt, PAVED_VERSION) < 0) {
        fprintf(stderr, "paved %s: %s\n", cmd, paved_error_last());
        return PAVED_EXIT_FAIL;
    }
    if (check_write(a->ca_output, text, cmd) < 0 ||
        check_annotations(a->ca_annotations, r, cmd) < 0) {
        free(text);
        return PAVED_EXIT_FAIL;
    }
    free(text);
    return r->gr_failed ? PAVED_EXIT_FAIL : PAVED_EXIT_OK;
}

int
paved_cli_check(int argc, char **argv)
{
    struct paved_guard_result r;
    struct paved_guard_opts o;
    struct check_args a;
    enum paved_severity sev;
    enum paved_guard_format fmt;
    char today[16];
    int rc;

    if (argc > 1 &&
        (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        check_usage(stdout);
        return PAVED_EXIT_OK;
    }
    if (check_parse(&a, argc, argv, "check") < 0 || a.ca_report != NULL ||
        a.ca_image != NULL || a.ca_fs != NULL) {
        check_usage(stderr);
        return PAVED_EXIT_USAGE;
    }
    if (a.ca_rules)
        return check_rules();
    if ((a.ca_format != NULL &&
         paved_guard_format_parse(&fmt, a.ca_format) < 0) ||
        (a.ca_fail_on != NULL &&
         paved_severity_parse(&sev, a.ca_fail_on) < 0)) {
        fprintf(stderr, "paved check: %s\n", paved_error_last());
        return PAVED_EXIT_USAGE;
    }
    check_today(today, sizeof(today));
    memset(&o, 0, sizeof(o));
    o.go_root = a.ca_path != NULL ? a.ca_path : ".";
    o.go_base = a.ca_base;
    o.go_today = today;
    o.go_fail_on = a.ca_fail_on != NULL ? (int)sev : -1;
    o.go_production = a.ca_production;
    if (paved_guard_check(&r, &o) < 0) {
        fprintf(stderr, "paved check: %s\n", paved_error_last());
        paved_guard_result_dispose(&r);
        return PAVED_EXIT_FAIL;
    }
    rc = check_finish(&a, &r, "check");
    paved_guard_result_dispose(&r);
    return rc;
}

/* ---- scan ---------------------------------------------------------------- */

static int
scan_read(char **out, size_t *len, const char *path)
{
    struct stat sb;
    size_t got = 0;
    ssize_t n;
    char *buf;
    int fd;

    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return paved_error_set(PAVED_ENOTFOUND, "%s: %s", path,
                               strerror(errno));
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) ||
        sb.st_size > CHECK_REPORT_MAX) {
        close(fd);
        return paved_error_set(
            PAVED_EINVAL, "%s: not a regular file of at most 256 MiB", path);
    }
    if ((buf = malloc((size_t)sb.st_size + 1)) == NULL) {
        close(fd);
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    }
    while (got < (size_t)sb.st_size &&
           (n = read(fd, buf + got, (size_t)sb.st_size - got)) > 0)
        got += (size_t)n;
    close(fd);
    buf[got] = '\0';
    *out = buf;
    *len = got;
    return 0;
}

/* Is cmd runnable: a path that is executable, or a name found on PATH? */
static int
scan_have(const char *cmd)
{
    const char *path = getenv("PATH"), *p, *end;
    char full[4096];

    if (strchr(cmd, '/') != NULL)
        return access(cmd, X_OK) == 0;
    for (p = path != NULL ? path : "/usr/bin:/bin"; *p != '\0'; p = end) {
        size_t n;
        end = strchr(p, ':');
        n = end != NULL ? (size_t)(end - p) : strlen(p);
        if (snprintf(full, sizeof(full), "%.*s/%s", (int)n, n ? p : ".", cmd) <
                (int)sizeof(full) &&
            access(full, X_OK) == 0)
            return 1;
        end = end != NULL ? end + 1 : p + n;
    }
    return 0;
}

/* trivy image|fs --format json --output FILE TARGET, its output to ours;
 * the target is an argument, never shell text */
static int
scan_run_trivy(const char *trivy, const char *mode, const char *image,
               const char *report)
{
    char *args[] = {(char *)trivy, (char *)mode,  "--format",
                    "json",        "--output",    (char *)report,
                    "--quiet",     (char *)image, NULL};
    pid_t pid;
    int status, rc;

    if (!scan_have(trivy))
        return paved_error_set(
            PAVED_ENOTFOUND,
            "trivy is not installed (looked for \"%s\" on PATH): install it "
            "(https://trivy.dev), set PAVED_TRIVY or --trivy to its path, or "
            "give a report with --report; nothing was scanned, so this step "
            "fails",
            trivy);
    if ((rc = posix_spawnp(&pid, trivy, NULL, NULL, args, environ)) != 0)
        return paved_error_set(PAVED_ERROR, "cannot run %s: %s", trivy,
                               strerror(rc));
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return paved_error_set(PAVED_ERROR, "waitpid: %s", strerror(errno));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return paved_error_set(
            PAVED_ERROR,
            "%s %s %s failed (%s %d): see its output "
            "above; nothing was judged, so this step fails",
            trivy, mode, image, WIFEXITED(status) ? "exit status" : "signal",
            WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    return 0;
}

int
paved_cli_scan(int argc, char **argv)
{
    struct paved_trivy_report *rep = NULL;
    struct paved_trivy_gate gate;
    struct paved_guard_result r;
    struct check_args a;
    char tmp[] = "/tmp/paved-trivy-XXXXXX", *json = NULL;
    const char *report, *trivy, *target;
    size_t len = 0;
    int rc = PAVED_EXIT_FAIL, fd = -1, s;

    memset(&r, 0, sizeof(r));
    if (argc > 1 &&
        (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        scan_usage(stdout);
        return PAVED_EXIT_OK;
    }
    if (check_parse(&a, argc, argv, "scan") < 0 || a.ca_path != NULL ||
        (a.ca_report != NULL) + (a.ca_image != NULL) + (a.ca_fs != NULL) != 1) {
        scan_usage(stderr);
        return PAVED_EXIT_USAGE;
    }
    memset(&gate, 0, sizeof(gate));
    gate.tg_severities = PAVED_TRIVY_GATE_DEFAULT;
    gate.tg_ignore_unfixed = a.ca_ignore_unfixed;
    if (a.ca_severity != NULL &&
        paved_trivy_gate_parse(&gate.tg_severities, a.ca_severity) < 0) {
        fprintf(stderr, "paved scan: %s\n", paved_error_last());
        return PAVED_EXIT_USAGE;
    }
    report = a.ca_report;
    target = a.ca_image != NULL ? a.ca_image : a.ca_fs;
    if (target != NULL) {
        trivy = a.ca_trivy != NULL              ? a.ca_trivy
                : getenv("PAVED_TRIVY") != NULL ? getenv("PAVED_TRIVY")
                                                : "trivy";
        if ((fd = mkstemp(tmp)) < 0) {
            fprintf(stderr, "paved scan: %s: %s\n", tmp, strerror(errno));
            return PAVED_EXIT_FAIL;
        }
        close(fd);
        report = tmp;
        if (scan_run_trivy(trivy, a.ca_image != NULL ? "image" : "fs", target,
                           tmp) < 0) {
            fprintf(stderr, "paved scan: %s\n", paved_error_last());
            goto out;
        }
    }
    if (scan_read(&json, &len, report) < 0 ||
        paved_trivy_parse(&rep, json, len) < 0) {
        fprintf(stderr, "paved scan: %s: %s\n", report, paved_error_last());
        goto out;
    }
    if (paved_trivy_findings(&r.gr_findings, rep, &gate,
                             target != NULL ? target : report) < 0) {
        fprintf(stderr, "paved scan: %s\n", paved_error_last());
        goto out;
    }
    /* the gate is a set of severities: what is outside it is not this
     * gate's business, misconfigurations and secrets included (else a
     * passing scan would show failure annotations) */
    for (size_t i = 0; i < r.gr_findings.fs_n;) {
        if (gate.tg_severities & (1u << r.gr_findings.fs_items[i].f_severity))
            i++;
        else
            paved_findings_remove(&r.gr_findings, i);
    }
    paved_findings_sort(&r.gr_findings);
    /* the gate decides: every finding it kept fails */
    r.gr_fail_on = PAVED_SEV_INFO;
    for (s = PAVED_SEV_CRITICAL; s >= PAVED_SEV_INFO; s--)
        if (gate.tg_severities & (1u << s))
            r.gr_fail_on = (enum paved_severity)s;
    for (size_t i = 0; i < r.gr_findings.fs_n; i++) {
        enum paved_severity sev = r.gr_findings.fs_items[i].f_severity;
        r.gr_by_severity[sev]++;
        if (gate.tg_severities & (1u << sev))
            r.gr_failed = true;
    }
    r.gr_files = 1;
    rc = check_finish(&a, &r, "scan");
out:
    if (a.ca_image != NULL || a.ca_fs != NULL)
        unlink(tmp);
    free(json);
    paved_trivy_free(rep);
    paved_guard_result_dispose(&r);
    return rc;
}
