/* Unit tests of the JSON reader: a flasher_args.json-like document, escapes decoded to UTF-8,
 * errors naming the byte, every allocation failure handled without a leak. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "util/alloc.h"
#include "util/jsonread.h"

static const char doc[] = "{\n  \"flash_settings\" : { \"flash_mode\": \"dio\", \"flash_size\": "
                          "\"4MB\" },\n  \"flash_files\" : { \"0x1000\" : \"bootloader/b.bin\", "
                          "\"0x10000\": \"micropython.bin\" },\n  \"n\": [1, -2.5e3, true, "
                          "false, null, []], \"extra\": {}\n}\n";

static void parses_a_build_file(void **state)
{
    (void)state;
    struct jsonread root;
    struct error err;
    assert_int_equal(jsonread_parse(doc, strlen(doc), "f.json", &root, &err), 0);
    const struct jsonread *files = jsonread_get(&root, "flash_files");
    assert_non_null(files);
    assert_int_equal(files->type, JSONREAD_OBJECT);
    assert_int_equal(files->count, 2);
    assert_string_equal(files->items[0].key, "0x1000");
    assert_string_equal(jsonread_string(&files->items[0]), "bootloader/b.bin");
    assert_string_equal(
        jsonread_string(jsonread_get(jsonread_get(&root, "flash_settings"), "flash_mode")),
        "dio");
    const struct jsonread *n = jsonread_get(&root, "n");
    assert_int_equal(n->count, 6);
    assert_string_equal(n->items[1].text, "-2.5e3");
    assert_int_equal(n->items[2].type, JSONREAD_TRUE);
    assert_int_equal(n->items[4].type, JSONREAD_NULL);
    assert_int_equal(n->items[5].type, JSONREAD_ARRAY);
    assert_null(jsonread_get(&root, "missing"));
    assert_null(jsonread_string(n));
    jsonread_free(&root);
}

static void decodes_escapes(void **state)
{
    (void)state;
    const char *text = "\"a\\\"b\\\\c\\/\\n\\u00e9\\u20ac\\ud83d\\ude00\"";
    struct jsonread v;
    struct error err;
    assert_int_equal(jsonread_parse(text, strlen(text), NULL, &v, &err), 0);
    assert_string_equal(v.text, "a\"b\\c/\n\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    jsonread_free(&v);
}

static void errors_name_the_byte(void **state)
{
    (void)state;
    const char *bad[] = {"{\"a\" 1}", "{\"a\": 1", "[1 2]",       "\"abc",    "{\"a\": x}",
                         "1 2",       "\"\\q\"",   "\"\\u12G4\"", "\"a\nb\"", "\"\\u0000\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct jsonread v;
        struct error err;
        assert_int_equal(jsonread_parse(bad[i], strlen(bad[i]), "x.json", &v, &err), -1);
        assert_non_null(strstr(err.msg, "x.json: JSON error at byte "));
        assert_int_equal(v.type, JSONREAD_NULL);
        assert_null(v.items);
    }
    char deep[200];
    memset(deep, '[', sizeof deep);
    struct jsonread v;
    struct error err;
    assert_int_equal(jsonread_parse(deep, sizeof deep, "d", &v, &err), -1);
    assert_non_null(strstr(err.msg, "nested too deeply"));
}

static void survives_every_allocation_failure(void **state)
{
    (void)state;
    int failed_runs = 0;
    for (long n = 0; n < 60; n++) {
        mp_alloc_fail_at(n, 0);
        struct jsonread v;
        struct error err;
        int rc = jsonread_parse(doc, strlen(doc), "f", &v, &err);
        long failures = mp_alloc_failures();
        mp_alloc_fail_at(-1, 0);
        if (failures) {
            assert_int_equal(rc, -1);
            assert_string_equal(err.msg, "out of memory");
            failed_runs++;
        } else {
            assert_int_equal(rc, 0);
            jsonread_free(&v);
        }
    }
    assert_true(failed_runs > 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_a_build_file),
        cmocka_unit_test(decodes_escapes),
        cmocka_unit_test(errors_name_the_byte),
        cmocka_unit_test(survives_every_allocation_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
