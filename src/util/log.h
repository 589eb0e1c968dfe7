/* Progress and diagnostic messages: library code that narrates what it does (erasing a
 * partition, writing a table) sends lines here; the CLI decides what to show (-q, -d) and how. */
#ifndef MP_UTIL_LOG_H
#define MP_UTIL_LOG_H

enum log_level {
    LOG_DEBUG,
    LOG_INFO,
    LOG_ACTION,  /* something is being changed: "Erasing partition 'vfs'..." */
    LOG_WARNING,
    LOG_ERROR,
    LOG_OUTPUT,  /* requested output (ls, cat, get/put lines): shown even with -q */
};

struct log {
    void (*emit)(void *ctx, enum log_level level, const char *text);
    void *ctx;
};

/* Format one line (no trailing newline needed) and pass it on; a NULL log discards it. */
void log_printf(const struct log *log, enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
