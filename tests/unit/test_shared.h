/* Test helpers for data that is not in the repository: read a file of the shared test data
 * ($MP_SHARED_DIR/<rel>), and report tests that cannot run without it as skipped, never as
 * passed.
 *
 * A program with such tests keeps them in a second group and ends main with test_main(): run
 * without arguments it runs the tests that need nothing, with the argument "shared" those that
 * need the shared data (mp_unit_test(... SHARED) registers both runs with ctest). A run in which
 * a test was skipped and none failed exits with TEST_EXIT_SKIPPED, which ctest shows as
 * "Skipped" (SKIP_RETURN_CODE). */
#ifndef MP_TESTS_TEST_SHARED_H
#define MP_TESTS_TEST_SHARED_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST_EXIT_SKIPPED 77

/* Tests of this program skipped so far. */
static int test_skipped;

/* Skip the running cmocka test, saying why (printf format): "SKIP: <why>". */
#define TEST_SKIP(...)                                                                           \
    do {                                                                                         \
        print_message("SKIP: " __VA_ARGS__);                                                     \
        print_message("\n");                                                                     \
        test_skipped++;                                                                          \
        skip();                                                                                  \
    } while (0)

static inline int test_main(int argc, char **argv, const struct CMUnitTest *tests, size_t count,
                            const struct CMUnitTest *shared_tests, size_t shared_count)
{
    /* a program whose every test needs the data has the one group (shared_tests NULL) */
    int shared = shared_tests && argc > 1 && strcmp(argv[1], "shared") == 0;
    int failed = shared ? _cmocka_run_group_tests("needing shared data", shared_tests,
                                                  shared_count, NULL, NULL)
                        : _cmocka_run_group_tests("tests", tests, count, NULL, NULL);
    return failed ? 1 : test_skipped ? TEST_EXIT_SKIPPED : 0;
}

/* A file's bytes (*len of them, and a NUL after them), or NULL when it cannot be read. */
static inline uint8_t *test_read_file(const char *path, size_t *len)
{
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *buf = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n + 1);
        if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
    }
    fclose(f);
    if (!buf)
        return NULL;
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

/* $MP_SHARED_DIR/<rel> as test_read_file reads it; NULL when the data is not there. */
static inline uint8_t *test_read_shared(const char *rel, size_t *len)
{
    *len = 0;
    const char *dir = getenv("MP_SHARED_DIR");
    if (!dir)
        return NULL;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    return test_read_file(path, len);
}

#endif
