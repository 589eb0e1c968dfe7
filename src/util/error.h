/* Error reporting: a failing function records one message with its context (what, where) in a
 * caller-supplied struct error and returns a negative code; the CLI prints the message once. */
#ifndef MP_UTIL_ERROR_H
#define MP_UTIL_ERROR_H

#include <stdarg.h>

#define ERROR_MSG_MAX 4096

/* Kinds mirror the exception names the Python tool prints ("PartitionError: ..."), so messages
 * stay familiar to its users. */
enum error_kind {
    ERROR_GENERIC = 0, /* printed as "Error" */
    ERROR_VALUE,       /* ValueError */
    ERROR_PARTITION,   /* PartitionError */
    ERROR_FILE,        /* FileNotFoundError */
    ERROR_OS,          /* OSError: I/O on local files and devices */
    ERROR_LITTLEFS,    /* LittleFSError */
    ERROR_DEVICE,      /* DeviceError: the serial line or the chip */
    ERROR_USAGE,       /* command-line error (exit status 2) */
};

struct error {
    enum error_kind kind;
    char msg[ERROR_MSG_MAX];
};

/* Record a message (printf format) of kind ERROR_GENERIC; returns -1 so callers can write
 * `return error_set(err, ...)`. A NULL err is allowed and ignored. */
int error_set(struct error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Same with an explicit kind. */
int error_setk(struct error *err, enum error_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int error_vsetk(struct error *err, enum error_kind kind, const char *fmt, va_list ap);
/* Put context in front of an already recorded message: "<prefix>: <old message>". */
int error_prefix(struct error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append text to the recorded message (used to attach a printed table to a table error). */
void error_append(struct error *err, const char *text);
/* The word printed before the message for this kind, e.g. "PartitionError". */
const char *error_kind_name(enum error_kind kind);
void error_clear(struct error *err);

#endif
