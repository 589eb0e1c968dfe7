/* Unit tests of the report module: plain and box tables as the Python tool prints them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "report/report.h"

static struct ptable stock_table(void)
{
    struct ptable t;
    memset(&t, 0, sizeof t);
    t.flash_size = 0x400000;
    const struct partition parts[] = {
        {"nvs", 1, 2, 0x9000, 0x6000, 0},
        {"phy_init", 1, 1, 0xf000, 0x1000, 0},
        {"factory", 0, 0, 0x10000, 0x1f0000, 0},
        {"vfs", 1, 0x81, 0x200000, 0x200000, 0},
    };
    memcpy(t.parts, parts, sizeof parts);
    t.count = 4;
    return t;
}

static void plain_table_matches_python_output(void **state)
{
    (void)state;
    struct ptable t = stock_table();
    struct strbuf sb = {0};
    report_ptable(&t, 0, &sb);
    const char *expected =
        "Partition table (flash size: 4MB):\n"
        "# Name             Type     SubType      Offset       Size        End Flags           \n"
        "  nvs              data     nvs          0x9000     0x6000     0xf000   0x0  (24.0 kB)\n"
        "  phy_init         data     phy          0xf000     0x1000    0x10000   0x0   (4.0 kB)\n"
        "  factory          app      factory     0x10000   0x1f0000   0x200000   0x0   (1.9 MB)\n"
        "  vfs              data     fat        0x200000   0x200000   0x400000   0x0   (2.0 MB)\n";
    assert_string_equal(strbuf_str(&sb), expected);
    strbuf_free(&sb);
}

static void box_table_matches_python_output(void **state)
{
    (void)state;
    struct ptable t = stock_table();
    struct strbuf sb = {0};
    report_ptable(&t, 1, &sb);
    const char *expected =
        "                        Partition table (flash size: 4MB):\n"
        "╭──────────┬──────┬─────────┬──────────┬──────────┬──────────┬───────┬───────────╮\n"
        "│ Name     │ Type │ SubType │   Offset │     Size │      End │ Flags │           │\n"
        "├──────────┼──────┼─────────┼──────────┼──────────┼──────────┼───────┼───────────┤\n"
        "│ nvs      │ data │ nvs     │   0x9000 │   0x6000 │   0xf000 │   0x0 │ (24.0 kB) │\n"
        "│ phy_init │ data │ phy     │   0xf000 │   0x1000 │  0x10000 │   0x0 │  (4.0 kB) │\n"
        "│ factory  │ app  │ factory │  0x10000 │ 0x1f0000 │ 0x200000 │   0x0 │  (1.9 MB) │\n"
        "│ vfs      │ data │ fat     │ 0x200000 │ 0x200000 │ 0x400000 │   0x0 │  (2.0 MB) │\n"
        "╰──────────┴──────┴─────────┴──────────┴──────────┴──────────┴───────┴───────────╯\n";
    assert_string_equal(strbuf_str(&sb), expected);
    strbuf_free(&sb);
}

static void human_sizes(void **state)
{
    (void)state;
    const struct {
        int64_t size;
        const char *text;
    } cases[] = {
        {0x6000, "(24.0 kB)"},  {0x1000, "(4.0 kB)"},   {0x1f0000, "(1.9 MB)"},
        {0xf0000, "(0.9 MB)"},  {0x32000, "(200.0 kB)"}, {0x270000, "(2.4 MB)"},
        {0xb10000, "(11.1 MB)"}, {0, "(0.0 B)"},         {100, "(100.0 B)"},
        {-65536, "(-65536.0 B)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[32];
        report_human_size(cases[i].size, buf, sizeof buf);
        assert_string_equal(buf, cases[i].text);
    }
    char hex[32];
    report_hex(-0x10000, hex, sizeof hex);
    assert_string_equal(hex, "-0x10000");
}

static void app_fills_line_floors_like_python(void **state)
{
    (void)state;
    struct partition factory = {"factory", 0, 0, 0x10000, 0x1f0000, 0};
    struct strbuf sb = {0};
    report_app_fills(1672800, &factory, &sb);
    assert_string_equal(strbuf_str(&sb),
                        "Micropython app fills 82.3% of factory partition (350 kB free)\n");
    strbuf_reset(&sb);
    struct partition small = {"factory", 0, 0, 0x10000, 0x100000, 0};
    report_app_fills(0x208000, &small, &sb);
    assert_string_equal(strbuf_str(&sb),
                        "Micropython app fills 203.1% of factory partition (-1056 kB free)\n");
    strbuf_free(&sb);
}

static void df_plain_and_box(void **state)
{
    (void)state;
    struct report_df_row row = {"vfs", 4096, 512, 7, 0};
    struct strbuf sb = {0};
    report_df(&row, 1, 0, &sb);
    assert_string_equal(strbuf_str(&sb), "LittleFS Filesystems\n"
                                         "# Partition       Total kB  Used kB   Free kB  Used%\n"
                                         "  vfs                 2048       28      2020     1%\n");
    strbuf_reset(&sb);
    row.blocks_used = 2;
    report_df(&row, 1, 1, &sb);
    assert_string_equal(strbuf_str(&sb), "               LittleFS Filesystems\n"
                                         "╭───────────┬──────────┬─────────┬─────────┬──────╮\n"
                                         "│ Partition │ Total kB │ Used kB │ Free kB │ Used │\n"
                                         "├───────────┼──────────┼─────────┼─────────┼──────┤\n"
                                         "│ vfs       │     2048 │       8 │    2040 │   0% │\n"
                                         "╰───────────┴──────────┴─────────┴─────────┴──────╯\n");
    strbuf_free(&sb);
    /* 0.5% rounds to even (0), 1.5% to 2: Python's round() */
    struct report_df_row half = {"a", 4096, 200, 1, 0};
    report_df(&half, 1, 0, &sb);
    assert_non_null(strstr(strbuf_str(&sb), "     0%"));
    strbuf_reset(&sb);
    half.blocks_used = 3;
    report_df(&half, 1, 0, &sb);
    assert_non_null(strstr(strbuf_str(&sb), "     2%"));
    strbuf_free(&sb);
}

static void generic_table_plain(void **state)
{
    (void)state;
    static const char *const headings[] = {"board", "result", "seconds"};
    static const enum report_align align[] = {REPORT_LEFT, REPORT_LEFT, REPORT_RIGHT};
    struct report_table t;
    report_table_init(&t, NULL, 3, headings, align);
    report_table_add_row(&t, (const char *const[]){"/dev/ttyUSB0", "ok", "13.7"});
    report_table_add_row(&t, (const char *const[]){"u1", "failed (1)", "2.8"});
    struct strbuf sb = {0};
    report_table_plain(&t, &sb);
    assert_string_equal(strbuf_str(&sb), "board         result      seconds\n"
                                         "/dev/ttyUSB0  ok             13.7\n"
                                         "u1            failed (1)      2.8\n");
    strbuf_free(&sb);
    report_table_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(generic_table_plain),
        cmocka_unit_test(plain_table_matches_python_output),
        cmocka_unit_test(box_table_matches_python_output),
        cmocka_unit_test(human_sizes),
        cmocka_unit_test(app_fills_line_floors_like_python),
        cmocka_unit_test(df_plain_and_box),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
