/* Unit tests of util: errors carry their code, the allocation hook fails exactly the
 * allocations it is told to, log lines of any length arrive whole. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <errno.h>

#include "util/alloc.h"
#include "util/error.h"
#include "util/log.h"
#include "util/strbuf.h"

static int fails_with_code(struct error *err)
{
    return error_fail(err, -ENOSPC, ERROR_LITTLEFS, "no room for '%s'", "x.bin");
}

static int passes_the_code_up(struct error *err)
{
    int rc = fails_with_code(err);
    return rc ? error_wrap(err, rc, "writing '%s'", "vfs") : 0;
}

static void error_fail_records_and_returns_its_code(void **state)
{
    (void)state;
    struct error err;
    error_clear(&err);
    assert_int_equal(err.code, 0);
    assert_int_equal(fails_with_code(&err), -ENOSPC);
    assert_int_equal(err.code, -ENOSPC);
    assert_int_equal(err.kind, ERROR_LITTLEFS);
    assert_string_equal(err.msg, "no room for 'x.bin'");
    /* without a struct error the code still comes back */
    assert_int_equal(fails_with_code(NULL), -ENOSPC);
}

static void error_wrap_adds_context_and_keeps_the_code(void **state)
{
    (void)state;
    struct error err;
    error_clear(&err);
    assert_int_equal(passes_the_code_up(&err), -ENOSPC);
    assert_int_equal(err.code, -ENOSPC);
    assert_int_equal(err.kind, ERROR_LITTLEFS);
    assert_string_equal(err.msg, "writing 'vfs': no room for 'x.bin'");
    assert_int_equal(passes_the_code_up(NULL), -ENOSPC);
}

static void error_set_means_failed_and_prefix_returns_the_recorded_code(void **state)
{
    (void)state;
    struct error err;
    error_clear(&err);
    assert_int_equal(error_setk(&err, ERROR_VALUE, "bad %d", 7), ERROR_FAILED);
    assert_int_equal(err.code, ERROR_FAILED);
    assert_int_equal(error_prefix(&err, "arg"), ERROR_FAILED);
    assert_string_equal(err.msg, "arg: bad 7");
    error_fail(&err, -EIO, ERROR_OS, "read");
    assert_int_equal(error_prefix(&err, "file"), -EIO);
    assert_string_equal(err.msg, "file: read");
    assert_int_equal(error_prefix(NULL, "x"), ERROR_FAILED);
    assert_int_equal(error_set(NULL, "x"), ERROR_FAILED);
}

static void error_prefix_truncates_instead_of_overflowing(void **state)
{
    (void)state;
    struct error err;
    error_clear(&err);
    char long_text[ERROR_MSG_MAX + 100];
    memset(long_text, 'a', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    error_setk(&err, ERROR_OS, "%s", long_text);
    assert_int_equal(strlen(err.msg), ERROR_MSG_MAX - 1);
    error_prefix(&err, "context");
    assert_int_equal(strlen(err.msg), ERROR_MSG_MAX - 1);
    assert_memory_equal(err.msg, "context: aaa", 12);
}

static void alloc_hook_fails_the_nth_allocation_once(void **state)
{
    (void)state;
    mp_alloc_fail_at(2, 0);
    void *a = mp_malloc(8), *b = mp_calloc(2, 8), *c = mp_strdup("x"), *d = mp_malloc(1);
    assert_non_null(a);
    assert_non_null(b);
    assert_null(c);
    assert_non_null(d);
    assert_int_equal(mp_alloc_count(), 4);
    assert_int_equal(mp_alloc_failures(), 1);
    free(a), free(b), free(d);
    mp_alloc_fail_at(-1, 0);
}

static void alloc_hook_persistent_fails_everything_after(void **state)
{
    (void)state;
    mp_alloc_fail_at(1, 1);
    char *a = mp_strndup("hello", 3);
    assert_string_equal(a, "hel");
    void *grown = mp_realloc(a, 64);
    assert_null(grown); /* a is untouched */
    assert_string_equal(a, "hel");
    assert_null(mp_malloc(1));
    assert_null(mp_calloc(1, 1));
    assert_int_equal(mp_alloc_failures(), 3);
    free(a);
    mp_alloc_fail_at(-1, 0);
    void *ok = mp_malloc(1);
    assert_non_null(ok);
    free(ok);
    assert_int_equal(mp_alloc_failures(), 0);
}

struct lines {
    enum log_level level;
    char text[2048];
    int n;
};

static void collect(void *ctx, enum log_level level, const char *text)
{
    struct lines *l = ctx;
    l->level = level;
    snprintf(l->text, sizeof l->text, "%s", text);
    l->n++;
}

static void log_lines_of_any_length_arrive_whole(void **state)
{
    (void)state;
    struct lines got = {0};
    struct log log = {collect, &got};
    log_printf(&log, LOG_ACTION, "Erasing '%s'...", "vfs");
    assert_int_equal(got.level, LOG_ACTION);
    assert_string_equal(got.text, "Erasing 'vfs'...");
    char long_name[1500];
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    log_printf(&log, LOG_OUTPUT, "%s/", long_name);
    assert_int_equal(strlen(got.text), sizeof long_name);
    assert_int_equal(got.text[sizeof long_name - 1], '/');
    log_printf(NULL, LOG_INFO, "dropped");
    assert_int_equal(got.n, 2);
}

static void strbuf_grows_and_formats(void **state)
{
    (void)state;
    struct strbuf sb = {0};
    assert_string_equal(strbuf_str(&sb), "");
    for (int i = 0; i < 100; i++)
        strbuf_printf(&sb, "%02d,", i);
    assert_int_equal(sb.len, 300);
    assert_memory_equal(sb.text + 297, "99,", 3);
    strbuf_repeat(&sb, "\xe2\x94\x80", 2);
    assert_int_equal(sb.len, 306);
    strbuf_reset(&sb);
    assert_string_equal(strbuf_str(&sb), "");
    strbuf_free(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(error_fail_records_and_returns_its_code),
        cmocka_unit_test(error_wrap_adds_context_and_keeps_the_code),
        cmocka_unit_test(error_set_means_failed_and_prefix_returns_the_recorded_code),
        cmocka_unit_test(error_prefix_truncates_instead_of_overflowing),
        cmocka_unit_test(alloc_hook_fails_the_nth_allocation_once),
        cmocka_unit_test(alloc_hook_persistent_fails_everything_after),
        cmocka_unit_test(log_lines_of_any_length_arrive_whole),
        cmocka_unit_test(strbuf_grows_and_formats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
