/* Error reporting: a failing function records one message with its context (what, where) in a
 * caller-supplied struct error and returns a negative code; the CLI prints the message once.
 *
 * Codes: ERROR_FAILED (-1) says only "failed". A module whose callers must tell failures apart
 * returns negated errno numbers (-ENOENT, -ENOSPC, -EIO, -ENOMEM, -ETIMEDOUT, ...; littlefs's
 * lfs_error values are these numbers), so a code keeps its meaning as it passes up through
 * error_wrap. The message is for people; the code is for the program. */
#ifndef MP_UTIL_ERROR_H
#define MP_UTIL_ERROR_H

#include <stdarg.h>

#define ERROR_MSG_MAX 4096
#define ERROR_FAILED (-1)
/* A check found data that is not what it must be: a board's flash reads back different from
 * what was written or erased, or an image fails its checksum or digest under --check-app. Not
 * an errno number; the program exits with its own status for it, so a script can tell a
 * failed verification from an operation that could not run. */
#define ERROR_VERIFY (-1000)

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
    int code; /* what the failing function returned: negative; 0 when nothing is recorded */
    char msg[ERROR_MSG_MAX];
};

/* Record a message (printf format) and return `code` (negative), so a failure is one statement:
 * `return error_fail(err, -ENOSPC, ERROR_LITTLEFS, "no room for '%s'", name);`.
 * A NULL err is allowed: the message is dropped, the code still returned. */
int error_fail(struct error *err, int code, enum error_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int error_vfail(struct error *err, int code, enum error_kind kind, const char *fmt, va_list ap);
/* Put context in front of the message a callee recorded ("<context>: <message>") and return
 * the callee's `code`: `return error_wrap(err, rc, "reading '%s'", name);`. */
int error_wrap(struct error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Shorthands for a failure with no code of its own (ERROR_FAILED), which they return:
 * error_set records kind ERROR_GENERIC, error_setk the given kind. */
int error_set(struct error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int error_setk(struct error *err, enum error_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int error_vsetk(struct error *err, enum error_kind kind, const char *fmt, va_list ap);
/* Put context in front of the recorded message; returns the recorded code (ERROR_FAILED
 * without err). */
int error_prefix(struct error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append text to the recorded message (used to attach a printed table to a table error). */
void error_append(struct error *err, const char *text);
/* The word printed before the message for this kind, e.g. "PartitionError". */
const char *error_kind_name(enum error_kind kind);
void error_clear(struct error *err);

#endif
