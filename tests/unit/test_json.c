/* Unit tests of the JSON writer: nesting and commas, string escapes (control characters,
 * quotes, bytes that are not UTF-8), numbers, digests and base64. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "report/json.h"

static void nested_containers_and_commas(void **state)
{
    (void)state;
    struct strbuf sb = {0};
    struct json j;
    json_init(&j, &sb);
    json_object_begin(&j, NULL);
    json_int(&j, "a", -5);
    json_array_begin(&j, "list");
    json_uint(&j, NULL, 18446744073709551615u);
    json_bool(&j, NULL, 1);
    json_null(&j, NULL);
    json_object_begin(&j, NULL);
    json_object_end(&j);
    json_array_begin(&j, NULL);
    json_array_end(&j);
    json_array_end(&j);
    json_fixed1(&j, "pct", 82.345);
    json_bool(&j, "ok", 0);
    json_string(&j, "none", NULL);
    json_raw(&j, "doc", "{\"x\":1}", 7);
    json_object_end(&j);
    assert_string_equal(strbuf_str(&sb),
                        "{\"a\":-5,\"list\":[18446744073709551615,true,null,{},[]],"
                        "\"pct\":82.3,\"ok\":false,\"none\":null,\"doc\":{\"x\":1}}");
    strbuf_free(&sb);
}

static void strings_are_escaped(void **state)
{
    (void)state;
    struct strbuf sb = {0};
    json_quote(&sb, "a\"b\\c\n\r\t\x01\x1f\x7f/", 12);
    assert_string_equal(strbuf_str(&sb), "\"a\\\"b\\\\c\\n\\r\\t\\u0001\\u001f\\u007f/\"");
    strbuf_reset(&sb);
    /* valid UTF-8 passes through; invalid bytes, overlong forms and surrogates do not */
    const char utf8[] = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
    json_quote(&sb, utf8, strlen(utf8));
    assert_string_equal(strbuf_str(&sb), "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
    strbuf_reset(&sb);
    json_quote(&sb,
               "\xff"
               "a"
               "\xc0\xaf"
               "\xed\xa0\x80"
               "\xe2\x82",
               9);
    assert_string_equal(strbuf_str(&sb),
                        "\"\\ufffda\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\"");
    strbuf_reset(&sb);
    /* a NUL inside counted text is a character like any other */
    json_quote(&sb, "a\0b", 3);
    assert_string_equal(strbuf_str(&sb), "\"a\\u0000b\"");
    assert_true(json_is_utf8(utf8, strlen(utf8)));
    assert_false(json_is_utf8("\xe2\x82", 2));
    assert_false(json_is_utf8("\xf4\x90\x80\x80", 4));
    strbuf_free(&sb);
}

static void digests_and_base64(void **state)
{
    (void)state;
    struct strbuf sb = {0};
    struct json j;
    json_init(&j, &sb);
    json_array_begin(&j, NULL);
    const uint8_t bytes[] = {0x00, 0xff, 0x10};
    json_hex(&j, NULL, bytes, 3);
    /* the test vectors of RFC 4648, section 10 */
    const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    for (int i = 0; i < 7; i++)
        json_base64(&j, NULL, (const uint8_t *)plain[i], strlen(plain[i]));
    json_array_end(&j);
    assert_string_equal(strbuf_str(&sb),
                        "[\"00ff10\",\"\",\"Zg==\",\"Zm8=\",\"Zm9v\",\"Zm9vYg==\","
                        "\"Zm9vYmE=\",\"Zm9vYmFy\"]");
    strbuf_free(&sb);
}

static void continuing_an_open_object(void **state)
{
    (void)state;
    struct strbuf sb = {0};
    struct json j;
    json_init_inside(&j, &sb, 1);
    json_int(&j, "a", 1);
    json_string(&j, "b", "x");
    assert_string_equal(strbuf_str(&sb), "\"a\":1,\"b\":\"x\"");
    strbuf_free(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nested_containers_and_commas),
        cmocka_unit_test(strings_are_escaped),
        cmocka_unit_test(digests_and_base64),
        cmocka_unit_test(continuing_an_open_object),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
