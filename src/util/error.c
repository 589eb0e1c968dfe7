#include "util/error.h"

#include <stdio.h>
#include <string.h>

#include "util/check.h"

int error_vfail(struct error *err, int code, enum error_kind kind, const char *fmt, va_list ap)
{
    MP_ASSERT(code < 0);
    if (err) {
        err->kind = kind;
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    }
    return code;
}

int error_fail(struct error *err, int code, enum error_kind kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_vfail(err, code, kind, fmt, ap);
    va_end(ap);
    return code;
}

int error_vsetk(struct error *err, enum error_kind kind, const char *fmt, va_list ap)
{
    return error_vfail(err, ERROR_FAILED, kind, fmt, ap);
}

int error_setk(struct error *err, enum error_kind kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_vfail(err, ERROR_FAILED, kind, fmt, ap);
    va_end(ap);
    return ERROR_FAILED;
}

int error_set(struct error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_vfail(err, ERROR_FAILED, ERROR_GENERIC, fmt, ap);
    va_end(ap);
    return ERROR_FAILED;
}

static void vprefix(struct error *err, const char *fmt, va_list ap)
{
    char prefix[ERROR_MSG_MAX];
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    /* Build "<prefix>: <old>" in place: shift the old message right, then copy the prefix. */
    size_t plen = strlen(prefix) + 2;
    size_t olen = strlen(err->msg);
    if (plen >= sizeof err->msg)
        plen = sizeof err->msg - 1;
    if (olen > sizeof err->msg - 1 - plen)
        olen = sizeof err->msg - 1 - plen;
    memmove(err->msg + plen, err->msg, olen);
    err->msg[plen + olen] = '\0';
    memcpy(err->msg, prefix, plen - 2);
    memcpy(err->msg + plen - 2, ": ", 2);
}

int error_prefix(struct error *err, const char *fmt, ...)
{
    if (!err)
        return ERROR_FAILED;
    va_list ap;
    va_start(ap, fmt);
    vprefix(err, fmt, ap);
    va_end(ap);
    return err->code < 0 ? err->code : ERROR_FAILED;
}

int error_wrap(struct error *err, int code, const char *fmt, ...)
{
    MP_ASSERT(code < 0);
    if (!err)
        return code;
    va_list ap;
    va_start(ap, fmt);
    vprefix(err, fmt, ap);
    va_end(ap);
    err->code = code;
    return code;
}

void error_append(struct error *err, const char *text)
{
    if (!err)
        return;
    size_t used = strlen(err->msg);
    snprintf(err->msg + used, sizeof err->msg - used, "%s", text);
}

const char *error_kind_name(enum error_kind kind)
{
    switch (kind) {
    case ERROR_VALUE: return "ValueError";
    case ERROR_PARTITION: return "PartitionError";
    case ERROR_FILE: return "FileNotFoundError";
    case ERROR_OS: return "OSError";
    case ERROR_LITTLEFS: return "LittleFSError";
    case ERROR_DEVICE: return "DeviceError";
    case ERROR_USAGE: return "error";
    case ERROR_GENERIC: break;
    }
    return "Error";
}

void error_clear(struct error *err)
{
    if (err) {
        err->kind = ERROR_GENERIC;
        err->code = 0;
        err->msg[0] = '\0';
    }
}
