/* Per-thread last error, libgit2 style: the code travels in the return
 * value, the words in a thread-local buffer. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "paved/error.h"

static _Thread_local char error_msg[512];

int
paved_error_set(int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(error_msg, sizeof(error_msg), fmt, ap);
    va_end(ap);
    return code;
}

const char *
paved_error_last(void)
{
    return error_msg[0] != '\0' ? error_msg : "no error message";
}

void
paved_error_clear(void)
{
    error_msg[0] = '\0';
}

const char *
paved_error_name(int code)
{
    switch (code) {
    case PAVED_OK:
        return "OK";
    case PAVED_ENOMEM:
        return "ENOMEM";
    case PAVED_ENOTFOUND:
        return "ENOTFOUND";
    case PAVED_EEXISTS:
        return "EEXISTS";
    case PAVED_EINVAL:
        return "EINVAL";
    case PAVED_EAUTH:
        return "EAUTH";
    case PAVED_ETOOBIG:
        return "ETOOBIG";
    case PAVED_EUNSUPPORTED:
        return "EUNSUPPORTED";
    case PAVED_EUNAVAILABLE:
        return "EUNAVAILABLE";
    case PAVED_EUSAGE:
        return "EUSAGE";
    default:
        return "ERROR";
    }
}
