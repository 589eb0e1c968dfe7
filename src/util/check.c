#include "util/check.h"

#include <stdio.h>
#include <stdlib.h>

void mp_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "internal error: %s:%d: assertion '%s' failed\n", file, line, expr);
    fflush(stderr);
    abort();
}
