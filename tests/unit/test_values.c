/* Unit tests of the command-line value syntaxes (seed-spec §1.4, §1.5, §9.1). Expected numbers
 * follow Python's int(x, 0) / float(x) rules, which the Python tool applies to SIZE values. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tool/values.h"

static void expect_size(const char *text, int64_t expected)
{
    struct error err = {0};
    int64_t v = -12345;
    int rc = value_parse_size(text, &v, &err);
    if (rc != 0 || v != expected)
        fail_msg("SIZE '%s': rc %d value %lld, expected %lld (%s)", text, rc, (long long)v,
                 (long long)expected, err.msg);
}

static void expect_size_error(const char *text)
{
    struct error err = {0};
    int64_t v = 0;
    if (value_parse_size(text, &v, &err) == 0)
        fail_msg("SIZE '%s' accepted as %lld, expected an error", text, (long long)v);
    assert_int_equal(err.kind, ERROR_VALUE);
    assert_true(err.msg[0] != '\0');
}

static void size_spec_examples(void **state)
{
    (void)state;
    /* §1.4 examples */
    expect_size("8M", 0x800000);
    expect_size("4k", 4096);
    expect_size("0x1fB", 0x1f000);
    expect_size("7B", 0x7000);
    expect_size("1.5M", 1572864);
    expect_size("0x1f0B", 0x1f0000);
    expect_size("", 0);
    /* the kept quirk: a hex number ending in the digit b is a block count */
    expect_size("0x1b", 4096);
    expect_size("0x1B", 4096);
    expect_size_error("0xb");
    expect_size_error("0xB");
}

static void size_suffixes(void **state)
{
    (void)state;
    expect_size("8m", 8 << 20);
    expect_size("8MB", 8 << 20);
    expect_size("8mb", 8 << 20);
    expect_size("3mB", 3 << 20);
    expect_size("4K", 4096);
    expect_size("4KB", 4096);
    expect_size("4kb", 4096);
    expect_size("10kB", 10240);
    expect_size("0xfM", 15 << 20);
    expect_size("12 M", 12 << 20); /* the space before the suffix is stripped by int() */
    expect_size("1 k", 1024);
    expect_size_error(" 8M "); /* ends in a space: no suffix, and "8M" is no integer */
    expect_size_error("1k ");
    expect_size_error("M");
    expect_size_error("B");
    expect_size_error("0xMB");
}

static void size_python_int_rules(void **state)
{
    (void)state;
    expect_size("0", 0);
    expect_size("00", 0);
    expect_size("0_0", 0);
    expect_size("1_000", 1000);
    expect_size("0x_1f", 31);
    expect_size("0X10", 16);
    expect_size("0o17", 15);
    expect_size("0O7", 7);
    expect_size("0b101", 5);
    expect_size("0B11", 3);
    expect_size("-1M", -1048576);
    expect_size("+4k", 4096);
    expect_size(" 12 ", 12);
    expect_size("\t12\n", 12);
    expect_size("9223372036854775807", INT64_MAX);
    expect_size("-9223372036854775808", INT64_MIN);
    expect_size("8796093022207M", 9223372036853727232LL);
    expect_size_error("010");
    expect_size_error("0_1");
    expect_size_error("0x1__f");
    expect_size_error("_1");
    expect_size_error("1_");
    expect_size_error("0b102");
    expect_size_error("0x");
    expect_size_error("abc");
    expect_size_error("1e3");
    expect_size_error("- 5");
    expect_size_error("--5");
    expect_size_error("0x1g");
    /* beyond int64: Python would carry on with big integers; refused here */
    expect_size_error("9223372036854775808");
    expect_size_error("8796093022208M");
    expect_size_error("0xffffffffffffffffffffM");
}

static void size_floats(void **state)
{
    (void)state;
    expect_size("1.", 1);
    expect_size(".5K", 512);
    expect_size("-0.5", 0);        /* truncated toward zero */
    expect_size("-2.5K", -2560);
    expect_size("2.9999999K", 3071);
    expect_size("0.000001M", 1);
    expect_size("1_0.5", 10);
    expect_size("1.5e3", 1500);
    expect_size("1.5E3", 1500);
    expect_size(" 1.5 M", 1572864);
    expect_size_error(".");
    expect_size_error("0x1.5");
    expect_size_error("1..5");
    expect_size_error("1e3.");
    expect_size_error("1._5");
    expect_size_error("1_.5");
    expect_size_error("1.5e");
    expect_size_error("1.5e300"); /* does not fit int64 */
    expect_size_error("nan.");
}

static void expect_fields(const struct argitem *it, int n, ...)
{
    va_list ap;
    va_start(ap, n);
    assert_int_equal(it->count, n);
    for (int i = 0; i < n; i++)
        assert_string_equal(it->fields[i], va_arg(ap, const char *));
    va_end(ap);
}

static void arglist_split(void **state)
{
    (void)state;
    struct arglist l;
    struct error err;
    assert_int_equal(arglist_parse("nvs=nvs.bin, vfs:vfs.bin", &l, &err), 0);
    assert_int_equal(l.count, 2);
    expect_fields(&l.items[0], 2, "nvs", "nvs.bin");
    expect_fields(&l.items[1], 2, "vfs", "vfs.bin");
    assert_string_equal(l.text, "nvs=nvs.bin, vfs:vfs.bin");
    arglist_free(&l);
    assert_null(l.items);

    assert_int_equal(arglist_parse("  a = b : c ,\td,e f= g  ", &l, &err), 0);
    assert_int_equal(l.count, 3);
    expect_fields(&l.items[0], 3, "a", "b", "c");
    expect_fields(&l.items[1], 1, "d");
    expect_fields(&l.items[2], 2, "e f", "g");
    arglist_free(&l);

    /* like Python's re.split: empty text is one empty field; empty pieces are kept */
    assert_int_equal(arglist_parse("", &l, &err), 0);
    assert_int_equal(l.count, 1);
    expect_fields(&l.items[0], 1, "");
    arglist_free(&l);
    assert_int_equal(arglist_parse(",x=,", &l, &err), 0);
    assert_int_equal(l.count, 3);
    expect_fields(&l.items[0], 1, "");
    expect_fields(&l.items[1], 2, "x", "");
    expect_fields(&l.items[2], 1, "");
    arglist_free(&l);

    /* a Windows path splits at its colon: the known limitation of the syntax */
    assert_int_equal(arglist_parse("vfs=C:\\x.bin", &l, &err), 0);
    expect_fields(&l.items[0], 3, "vfs", "C", "\\x.bin");
    arglist_free(&l);
}

static void expect_part(const struct partspec *ps, const char *name, const char *subtype,
                        int64_t offset, int64_t size)
{
    assert_string_equal(ps->name, name);
    assert_string_equal(ps->subtype, subtype);
    assert_int_equal(ps->offset, offset);
    assert_int_equal(ps->size, size);
}

static void partlist_items(void **state)
{
    (void)state;
    struct partlist l;
    struct error err;
    assert_int_equal(partlist_parse("nvs,vfs=1M,data=fat:50B,vfs2=fat:2M:1M,x=a:1:2:3", &l,
                                    &err), 0);
    assert_int_equal(l.count, 5);
    expect_part(&l.items[0], "nvs", "", 0, 0);
    expect_part(&l.items[1], "vfs", "", 0, 0x100000);
    expect_part(&l.items[2], "data", "fat", 0, 50 * 4096);
    expect_part(&l.items[3], "vfs2", "fat", 0x200000, 0x100000);
    expect_part(&l.items[4], "x", "a", 1, 3); /* middle extras ignored */
    partlist_free(&l);

    assert_int_equal(partlist_parse("ota", &l, &err), 0);
    assert_int_equal(l.count, 1);
    expect_part(&l.items[0], "ota", "", 0, 0);
    assert_string_equal(l.text, "ota");
    partlist_free(&l);

    assert_int_equal(partlist_parse("vfs=", &l, &err), 0);
    expect_part(&l.items[0], "vfs", "", 0, 0);
    partlist_free(&l);

    /* §1.4: "data=fat" takes fat as the size */
    assert_int_equal(partlist_parse("data=fat", &l, &err), -1);
    assert_int_equal(l.count, 0);
    assert_null(l.items);
    assert_int_equal(partlist_parse("a=1M,b=x:y:2M", &l, &err), -1);
    assert_int_equal(partlist_parse("a=f:1M:bad:2M", &l, &err), 0); /* extras unchecked */
    expect_part(&l.items[0], "a", "f", 0x100000, 0x200000);
    partlist_free(&l);
}

static void format_partlist(const char *text, const char *expected)
{
    struct partlist l;
    struct error err;
    char buf[256];
    assert_int_equal(partlist_parse(text, &l, &err), 0);
    size_t n = partlist_format(&l, buf, sizeof buf);
    assert_string_equal(buf, expected);
    assert_int_equal(n, strlen(expected));
    partlist_free(&l);
}

static void format_arglist(const char *text, const char *expected)
{
    struct arglist l;
    struct error err;
    char buf[256];
    assert_int_equal(arglist_parse(text, &l, &err), 0);
    size_t n = arglist_format(&l, buf, sizeof buf);
    assert_string_equal(buf, expected);
    assert_int_equal(n, strlen(expected));
    arglist_free(&l);
}

static void restringify(void **state)
{
    (void)state;
    /* §1.4 and §7.1 examples */
    format_partlist("vfs=1M", "vfs=1048576");
    format_partlist("vfs=0", "vfs");
    format_partlist("data=fat:50B", "data=fat=204800");
    format_partlist("vfs2=fat:2M:1M", "vfs2=fat=2097152=1048576");
    format_arglist("phy_init=out.txt", "phy_init=out.txt");
    format_arglist("nvs,phy_init", "nvs,phy_init");
    format_arglist("vfs=vfs2,factory=app", "vfs=vfs2,factory=app");
    format_arglist(" vfs : vfs2 , factory = app ", "vfs=vfs2,factory=app");
    format_partlist("ota", "ota");
    format_partlist("a=-1M", "a=-1048576");
    format_partlist("x=fat:0:0", "x=fat");
    format_arglist("a=,=b", "a,b");
}

static void format_truncates_like_snprintf(void **state)
{
    (void)state;
    struct partlist l;
    struct error err;
    char buf[8];
    assert_int_equal(partlist_parse("vfs=1M", &l, &err), 0);
    assert_int_equal(partlist_format(&l, buf, sizeof buf), strlen("vfs=1048576"));
    assert_string_equal(buf, "vfs=104");
    assert_int_equal(partlist_format(&l, NULL, 0), strlen("vfs=1048576"));
    partlist_free(&l);
}

static void expect_expand(const char *in, const char *out, int device)
{
    char *s = value_expand_device(in);
    assert_non_null(s);
    assert_string_equal(s, out);
    assert_int_equal(value_is_device(s), device);
    free(s);
}

static void device_names(void **state)
{
    (void)state;
    expect_expand("u0", "/dev/ttyUSB0", 1);
    expect_expand("u12", "/dev/ttyUSB12", 1);
    expect_expand("a1", "/dev/ttyACM1", 1);
    expect_expand("c3", "COM3", 1);
    /* whole word only */
    expect_expand("u0x", "u0x", 0);
    expect_expand("xu0", "xu0", 0);
    expect_expand("u", "u", 0);
    expect_expand("U0", "U0", 0);
    expect_expand("u-1", "u-1", 0);
    expect_expand("firmware.bin", "firmware.bin", 0);
    expect_expand("/dev/ttyS0", "/dev/ttyS0", 1);
    expect_expand("COMMON.bin", "COMMON.bin", 1); /* §1.5: any name starting with COM */
    expect_expand("com3", "com3", 0);
    expect_expand("dev/ttyUSB0", "dev/ttyUSB0", 0);
    expect_expand("rfc2217://localhost:4000", "rfc2217://localhost:4000", 1);
    expect_expand("socket://10.0.0.2:23", "socket://10.0.0.2:23", 1);
    expect_expand("rfc2217://host:4000?ign_set_control", "rfc2217://host:4000?ign_set_control",
                  1);
    expect_expand("socket://host", "socket://host", 0);
    expect_expand("socket://:23", "socket://:23", 0);
    expect_expand("socket://h:0", "socket://h:0", 0);
    expect_expand("socket://h:65536", "socket://h:65536", 0);
    expect_expand("socket://h:2x", "socket://h:2x", 0);
    expect_expand("tcp://h:23", "tcp://h:23", 0);

    char host[64];
    int port = 0;
    assert_int_equal(value_network_port("rfc2217://[::1]:4000", host, sizeof host, &port), 0);
    assert_string_equal(host, "[::1]");
    assert_int_equal(port, 4000);
    assert_int_equal(value_network_port("socket://board.local:65535/x", host, sizeof host, &port),
                     0);
    assert_string_equal(host, "board.local");
    assert_int_equal(port, 65535);
    assert_int_equal(value_network_port("socket://abcdef:1", host, 4, &port), -1);
    assert_int_equal(value_network_port("/dev/ttyUSB0", host, sizeof host, &port), -1);
}

static void baud_rounding(void **state)
{
    (void)state;
    static const struct {
        int64_t in;
        uint32_t out;
    } cases[] = {
        {115200, 115200},   {115201, 115200},   {230399, 115200},   {230400, 230400},
        {460800, 460800},   {921600, 921600},   {1000000, 921600},  {1572864, 1500000},
        {2000000, 2000000}, {2999999, 2000000}, {3000000, 3000000}, {INT64_MAX, 3000000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t out = 0;
        struct error err;
        assert_int_equal(value_round_baud(cases[i].in, &out, &err), 0);
        assert_int_equal(out, cases[i].out);
    }
    struct error err = {0};
    uint32_t out = 7;
    assert_int_equal(value_round_baud(115199, &out, &err), -1);
    assert_int_equal(err.kind, ERROR_VALUE);
    assert_int_equal(out, 7);
    assert_int_equal(value_round_baud(-1, &out, &err), -1);
    /* --baud 1.5M as in §9.1 */
    int64_t v;
    assert_int_equal(value_parse_size("1.5M", &v, &err), 0);
    assert_int_equal(value_round_baud(v, &out, &err), 0);
    assert_int_equal(out, 1500000);
}

static int range_of(const char *text, int with_file, struct flash_range *r, const char **file,
                    struct error *err)
{
    struct arglist list;
    assert_int_equal(arglist_parse(text, &list, err), 0);
    int rc = value_parse_range(&list.items[0], with_file, "--read", r, file, err);
    if (rc == 0 && file && *file)
        *file = strcmp(*file, list.items[0].fields[list.items[0].count - 1]) == 0 ? "ok" : "bad";
    arglist_free(&list);
    return rc;
}

static void flash_ranges(void **state)
{
    (void)state;
    struct flash_range r;
    const char *file = NULL;
    struct error err;
    assert_true(value_is_range("0x1000"));
    assert_true(value_is_range("flash"));
    assert_true(value_is_range("all"));
    assert_false(value_is_range("vfs"));
    assert_false(value_is_range("flashy"));
    /* START:END and START+LEN name the same bytes */
    assert_int_equal(range_of("0x1000:0x3000=f.bin", 1, &r, &file, &err), 0);
    assert_true(r.has_length && !r.whole);
    assert_int_equal(r.start, 0x1000);
    assert_int_equal(r.length, 0x2000);
    assert_string_equal(file, "ok");
    assert_int_equal(range_of("0x1000+0x2000=f.bin", 1, &r, &file, &err), 0);
    assert_int_equal(r.start, 0x1000);
    assert_int_equal(r.length, 0x2000);
    assert_int_equal(range_of("64K+2B", 0, &r, NULL, &err), 0);
    assert_int_equal(r.start, 0x10000);
    assert_int_equal(r.length, 0x2000);
    assert_int_equal(range_of("0x10000=app.bin", 1, &r, &file, &err), 0);
    assert_false(r.has_length);
    assert_int_equal(r.start, 0x10000);
    assert_int_equal(range_of("flash=backup.bin", 1, &r, &file, &err), 0);
    assert_true(r.whole);
    assert_int_equal(range_of("all", 0, &r, NULL, &err), 0);
    assert_true(r.whole);
    /* refused: an end not above the start, length 0, past 256 MiB, a missing or extra file */
    assert_int_equal(range_of("0x3000:0x1000", 0, &r, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "not above the start"));
    assert_int_equal(range_of("0x1000+0", 0, &r, NULL, &err), -1);
    assert_int_equal(range_of("0xfff0000+1M", 0, &r, NULL, &err), -1);
    assert_int_equal(range_of("0x20000000", 0, &r, NULL, &err), -1);
    assert_int_equal(range_of("0x1000", 1, &r, &file, &err), -1);
    assert_non_null(strstr(err.msg, "must be ADDRESS=FILE"));
    assert_int_equal(range_of("0x1000:0x2000:0x3000=f", 1, &r, &file, &err), -1);
    assert_int_equal(range_of("0x1000:0x2000:0x3000", 0, &r, NULL, &err), -1);
    assert_int_equal(range_of("0xzz+1", 0, &r, NULL, &err), -1);
    assert_int_equal(err.kind, ERROR_VALUE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(size_spec_examples),    cmocka_unit_test(size_suffixes),
        cmocka_unit_test(size_python_int_rules), cmocka_unit_test(size_floats),
        cmocka_unit_test(arglist_split),         cmocka_unit_test(partlist_items),
        cmocka_unit_test(restringify),           cmocka_unit_test(format_truncates_like_snprintf),
        cmocka_unit_test(device_names),          cmocka_unit_test(baud_rounding),
        cmocka_unit_test(flash_ranges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
