#include "util/alloc.h"

#include <stdlib.h>
#include <string.h>

/* The test hook (see alloc.h): per thread so that tests running threads of their own cannot
 * disturb each other. fail_at < 0: disarmed. */
static _Thread_local struct {
    long fail_at;
    int persistent;
    long count;
    long failures;
} hook = {-1, 0, 0, 0};

/* Count this allocation; 1 when the hook says it fails. */
static int hook_fails(void)
{
    long n = hook.count++;
    if (hook.fail_at < 0)
        return 0;
    if (n == hook.fail_at || (hook.persistent && n > hook.fail_at)) {
        hook.failures++;
        return 1;
    }
    return 0;
}

void mp_alloc_fail_at(long n, int persistent)
{
    hook.fail_at = n < 0 ? -1 : n;
    hook.persistent = persistent;
    hook.count = 0;
    hook.failures = 0;
}

long mp_alloc_count(void)
{
    return hook.count;
}

long mp_alloc_failures(void)
{
    return hook.failures;
}

void *mp_malloc(size_t size)
{
    return hook_fails() ? NULL : malloc(size);
}

void *mp_calloc(size_t count, size_t size)
{
    return hook_fails() ? NULL : calloc(count, size);
}

void *mp_realloc(void *ptr, size_t size)
{
    return hook_fails() ? NULL : realloc(ptr, size);
}

char *mp_strdup(const char *s)
{
    return hook_fails() ? NULL : strdup(s);
}

char *mp_strndup(const char *s, size_t n)
{
    return hook_fails() ? NULL : strndup(s, n);
}
