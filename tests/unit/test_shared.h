/* Test helper: read a file of the shared test data ($MP_SHARED_DIR/<rel>) into memory.
 * Returns NULL when the data is not there (the caller skips visibly). */
#ifndef MP_TESTS_TEST_SHARED_H
#define MP_TESTS_TEST_SHARED_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static inline uint8_t *test_read_shared(const char *rel, size_t *len)
{
    const char *dir = getenv("MP_SHARED_DIR");
    if (!dir)
        return NULL;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *buf = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc(n ? (size_t)n : 1);
        if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
    }
    fclose(f);
    *len = n > 0 ? (size_t)n : 0;
    return buf;
}

#endif
