/* Built-in step kinds (`uses:`). Each is paved itself, run as an ordinary
 * supervised step (its own process group, timeout, masked log), so that
 * `paved check` on a laptop and the step in a run are the same code. The
 * scripts below are constant text: parameters come from `with:` as
 * PAVED_WITH_<NAME> and from the event as PAVED_*, and reach paved as
 * quoted arguments. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sched/sched_int.h"

/* guardrails: the policy checks on the checkout; on a push, secrets only
 * in the lines it adds; findings become the check run's annotations;
 * a production run (a tag) requires images pinned by digest */
static const char builtin_guardrails[] =
    "set -- check --annotations \"$PAVED_ANNOTATIONS\"\n"
    "case \"${PAVED_BEFORE:-}\" in\n"
    "''|0000000000000000000000000000000000000000) ;;\n"
    "*) set -- \"$@\" --base \"$PAVED_BEFORE\" ;;\n"
    "esac\n"
    "if [ -n \"${PAVED_WITH_FAIL_ON:-}\" ]; then\n"
    "  set -- \"$@\" --fail-on \"$PAVED_WITH_FAIL_ON\"\n"
    "fi\n"
    "case \"${PAVED_WITH_PRODUCTION:-}:${PAVED_ENV:-}\" in\n"
    "true:*|yes:*|1:*|:production) set -- \"$@\" --production ;;\n"
    "esac\n"
    "exec \"$PAVED_EXE\" \"$@\" .\n";

/* scan: the vulnerability gate on an image (Trivy) or a report */
static const char builtin_scan[] =
    "set -- scan --annotations \"$PAVED_ANNOTATIONS\"\n"
    "if [ -n \"${PAVED_WITH_REPORT:-}\" ]; then\n"
    "  set -- \"$@\" --report \"$PAVED_WITH_REPORT\"\n"
    "elif [ -n \"${PAVED_WITH_IMAGE:-}\" ]; then\n"
    "  set -- \"$@\" --image \"$PAVED_WITH_IMAGE\"\n"
    "elif [ -n \"${PAVED_WITH_PATH:-}\" ]; then\n"
    "  set -- \"$@\" --fs \"$PAVED_WITH_PATH\"\n"
    "else\n"
    "  echo 'scan: give with: image, path or report' >&2\n"
    "  exit 2\n"
    "fi\n"
    "if [ -n \"${PAVED_WITH_SEVERITY:-}\" ]; then\n"
    "  set -- \"$@\" --severity \"$PAVED_WITH_SEVERITY\"\n"
    "fi\n"
    "if [ -n \"${PAVED_WITH_TRIVY:-}\" ]; then\n"
    "  set -- \"$@\" --trivy \"$PAVED_WITH_TRIVY\"\n"
    "fi\n"
    "case \"${PAVED_WITH_IGNORE_UNFIXED:-}\" in\n"
    "true|yes|1) set -- \"$@\" --ignore-unfixed ;;\n"
    "esac\n"
    "exec \"$PAVED_EXE\" \"$@\"\n";

/* the delivery steps read their parameters (PAVED_WITH_*, PAVED_SHA...)
 * from the environment themselves: docs/delivery.md */
static const char builtin_step[] = "exec \"$PAVED_EXE\" step \"$PAVED_KIND\"\n";

const char *
sched_builtin_script(const char *kind)
{
    static const char *const delivery[] = {
        "build-image", "push-image", "deploy", "canary", "smoke", "promote"};
    size_t i;

    if (kind == NULL)
        return NULL;
    for (i = 0; i < sizeof(delivery) / sizeof(delivery[0]); i++)
        if (strcmp(kind, delivery[i]) == 0)
            return builtin_step;
    if (strcmp(kind, "guardrails") == 0)
        return builtin_guardrails;
    if (strcmp(kind, "scan") == 0)
        return builtin_scan;
    return NULL;
}

char *
sched_self_exe(void)
{
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);

    /* without /proc, the name paved was started as (on PATH) */
    if (n <= 0)
        return strdup("paved");
    buf[n] = '\0';
    return strdup(buf);
}
