/* Heap allocation for library code: the C library's malloc, calloc, realloc and strdup behind
 * one test hook, so that a unit test can make the n-th allocation from now fail and check that
 * the code under test cleans up and reports it (SQLite-style out-of-memory runs: run an
 * operation once per allocation it makes, failing a different one each time). Memory from
 * these is released with free().
 *
 * The hook's state is per thread and only tests set it: elsewhere these are the C library's
 * functions plus a counter. */
#ifndef MP_UTIL_ALLOC_H
#define MP_UTIL_ALLOC_H

#include <stddef.h>

void *mp_malloc(size_t size);
void *mp_calloc(size_t count, size_t size);
/* realloc: on failure NULL and ptr untouched. */
void *mp_realloc(void *ptr, size_t size);
char *mp_strdup(const char *s);
char *mp_strndup(const char *s, size_t n);

/* Test hook. After mp_alloc_fail_at(n, persistent), allocation number n from now (0: the
 * next) fails, and with `persistent` every one after it too. mp_alloc_fail_at(-1, 0) disarms. */
void mp_alloc_fail_at(long n, int persistent);
/* Allocations asked for since the hook was last set (failed ones included). */
long mp_alloc_count(void);
/* Allocations the hook has failed since it was last set. */
long mp_alloc_failures(void);

#endif
