#include "util/error.h"

#include <stdio.h>
#include <string.h>

int error_vsetk(struct error *err, enum error_kind kind, const char *fmt, va_list ap)
{
    if (err) {
        err->kind = kind;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    }
    return -1;
}

int error_setk(struct error *err, enum error_kind kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_vsetk(err, kind, fmt, ap);
    va_end(ap);
    return -1;
}

int error_set(struct error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_vsetk(err, ERROR_GENERIC, fmt, ap);
    va_end(ap);
    return -1;
}

int error_prefix(struct error *err, const char *fmt, ...)
{
    if (!err)
        return -1;
    char prefix[ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
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
    return -1;
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
        err->msg[0] = '\0';
    }
}
