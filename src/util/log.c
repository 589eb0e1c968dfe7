#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void log_printf(const struct log *log, enum log_level level, const char *fmt, ...)
{
    if (!log || !log->emit)
        return;
    va_list ap;
    va_start(ap, fmt);
    char small[512];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        log->emit(log->ctx, level, small);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big)
        return;
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    log->emit(log->ctx, level, big);
    free(big);
}
