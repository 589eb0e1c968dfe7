/* Unit tests of the partition CSV reader/writer: both dialects, errors with line numbers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "esp/csv.h"
#include "util/alloc.h"

#define MB (1024u * 1024u)

static int parse(const char *text, uint32_t flash, struct ptable *t, struct error *err)
{
    err->msg[0] = '\0';
    return csv_parse(text, strlen(text), "t.csv", flash, t, err);
}

static void expect_part(const struct ptable *t, int i, const char *name, uint8_t type,
                        uint8_t subtype, uint32_t offset, int64_t size, uint32_t flags)
{
    assert_true(i < t->count);
    assert_string_equal(t->parts[i].name, name);
    assert_int_equal(t->parts[i].type, type);
    assert_int_equal(t->parts[i].subtype, subtype);
    assert_int_equal(t->parts[i].offset, offset);
    assert_int_equal(t->parts[i].size, size);
    assert_int_equal(t->parts[i].flags, flags);
}

static void python_dialect_example(void **state)
{
    (void)state;
    /* seed-spec §6.3's working example */
    const char *text = "# Name, Type, SubType, Offset, Size, Flags\n"
                       "nvs, data, nvs, 0x9000, 0x6000, 0\n"
                       "phy_init, data, phy, 0xf000, 0x1000, 0\n"
                       "factory, app, factory, 0x10000, 0x1f0000, 0\n"
                       "vfs, data, fat, 0x200000, 0x200000, 0\n";
    struct ptable t;
    struct error err;
    assert_int_equal(parse(text, 4 * MB, &t, &err), 0);
    assert_int_equal(t.count, 4);
    assert_int_equal(t.flash_size, 4 * MB);
    expect_part(&t, 0, "nvs", 1, 2, 0x9000, 0x6000, 0);
    expect_part(&t, 1, "phy_init", 1, 1, 0xf000, 0x1000, 0);
    expect_part(&t, 2, "factory", 0, 0, 0x10000, 0x1f0000, 0);
    expect_part(&t, 3, "vfs", 1, 0x81, 0x200000, 0x200000, 0);
}

static void python_dialect_type_column_ignored_and_zeroes(void **state)
{
    (void)state;
    /* offset 0 = next free (aligned), size 0 = rest of flash; type column ignored */
    const char *text = "nvs, app, nvs, 0, 0x6000, 0\n"
                       "factory, data, factory, 0, 0x1f0000, 0\n"
                       "vfs, xyz, fat, 0, 0, 3\n";
    struct ptable t;
    struct error err;
    assert_int_equal(parse(text, 8 * MB, &t, &err), 0);
    expect_part(&t, 0, "nvs", 1, 2, 0x9000, 0x6000, 0);
    expect_part(&t, 1, "factory", 0, 0, 0x10000, 0x1f0000, 0);
    expect_part(&t, 2, "vfs", 1, 0x81, 0x200000, 0x600000, 3);
    /* at the very end of the flash, size 0 is an empty partition (as the Python tool) */
    assert_int_equal(parse("end, data, fat, 0x800000, 0, 0", 8 * MB, &t, &err), 0);
    expect_part(&t, 0, "end", 1, 0x81, 0x800000, 0, 0);
}

static void python_dialect_with_esp_idf_types(void **state)
{
    (void)state;
    /* six plain-number fields, but a type or subtype only ESP-IDF knows: taken as written */
    const char *text = "boot, bootloader, ota, 0x1000, 0x7000, 0\n"
                       "t, app, tee_0, 0x10000, 0x10000, 1\n"
                       "c, 0x40, 0x12, 0x20000, 0x1000, 0\n"
                       "n, data, 0x83, 0x21000, 0x1000, 0\n";
    struct ptable t;
    struct error err;
    if (parse(text, 4 * MB, &t, &err) != 0)
        fail_msg("%s", err.msg);
    expect_part(&t, 0, "boot", 2, 1, 0x1000, 0x7000, 0);
    expect_part(&t, 1, "t", 0, 0x30, 0x10000, 0x10000, 1);
    expect_part(&t, 2, "c", 0x40, 0x12, 0x20000, 0x1000, 0);
    expect_part(&t, 3, "n", 1, 0x83, 0x21000, 0x1000, 0);
    /* a subtype name decides the type, as for every name of the Python tool's dialect */
    assert_int_equal(parse("x, data, tee_0, 0x10000, 0x10000, 0", 4 * MB, &t, &err), 0);
    expect_part(&t, 0, "x", 0, 0x30, 0x10000, 0x10000, 0);
    assert_int_equal(parse("x, data, tee_2, 0x9000, 0x1000, 0", 4 * MB, &t, &err), -1);
    assert_string_equal(err.msg, "t.csv:1: invalid subtype 'tee_2'");
}

static void esp_idf_dialect(void **state)
{
    (void)state;
    const char *text = "\xEF\xBB\xBF# ESP-IDF Partition Table\n"
                       "# Name,   Type, SubType, Offset,  Size, Flags\n"
                       "\n"
                       "nvs,      data, nvs,     ,        0x4000,\n"
                       "otadata,  data, ota,     ,        8K\r\n"
                       "   \t\n"
                       "phy_init, data, phy,     ,        4k,\n"
                       "ota_0,    app,  ota_0,   ,        1536K\n"
                       "ota_1,    APP,  OTA_1,   ,        1536K,\n"
                       "keys,     data, nvs_keys, ,       0x1000, encrypted\n"
                       "fs,       data, littlefs, ,       -0x400000, readonly : encrypted\n";
    struct ptable t;
    struct error err;
    if (parse(text, 4 * MB, &t, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(t.count, 7);
    expect_part(&t, 0, "nvs", 1, 2, 0x9000, 0x4000, 0);
    expect_part(&t, 1, "otadata", 1, 0, 0xd000, 0x2000, 0);
    expect_part(&t, 2, "phy_init", 1, 1, 0xf000, 0x1000, 0);
    expect_part(&t, 3, "ota_0", 0, 0x10, 0x10000, 0x180000, 0);
    expect_part(&t, 4, "ota_1", 0, 0x11, 0x190000, 0x180000, 0);
    expect_part(&t, 5, "keys", 1, 4, 0x310000, 0x1000, 1);
    expect_part(&t, 6, "fs", 1, 0x83, 0x311000, 0x400000 - 0x311000, 3);
}

static void esp_idf_alignment_numbers_and_suffixes(void **state)
{
    (void)state;
    const char *text = "nvs, data, nvs, , 0x5000\n"
                       "factory, app, factory, , 1M\n"  /* 0xe000 -> aligned to 0x10000 */
                       "cfg, data, , , 1K\n"            /* empty subtype: undefined */
                       "custom, 0x40, 0x7, , 4K\n"      /* 0x110400 -> 0x111000 */
                       "romfs, data, 0x8F, 2M, 128k\n"
                       "tee, app, tee_0, 0x300000, 64K\n"
                       "boot, bootloader, primary, 0x1000, 0x7000\n"
                       "pt, partition_table, ota, 0x8000, 0x1000\n"
                       "big, 1, 254, 0x320000, 64k\n";
    struct ptable t;
    struct error err;
    if (parse(text, 4 * MB, &t, &err) != 0)
        fail_msg("%s", err.msg);
    /* sorted by offset */
    expect_part(&t, 0, "boot", 2, 0, 0x1000, 0x7000, 0);
    expect_part(&t, 1, "pt", 3, 1, 0x8000, 0x1000, 0);
    expect_part(&t, 2, "nvs", 1, 2, 0x9000, 0x5000, 0);
    expect_part(&t, 3, "factory", 0, 0, 0x10000, 0x100000, 0);
    expect_part(&t, 4, "cfg", 1, 6, 0x110000, 0x400, 0);
    expect_part(&t, 5, "custom", 0x40, 7, 0x111000, 0x1000, 0);
    expect_part(&t, 6, "romfs", 1, 0x8F, 0x200000, 0x20000, 0);
    expect_part(&t, 7, "tee", 0, 0x30, 0x300000, 0x10000, 0);
    expect_part(&t, 8, "big", 1, 254, 0x320000, 0x10000, 0);
}

/* MD5 row of the encoded table as hex. */
/* What gen_esp32part accepts in ESP-IDF's own tables: fields after the sixth ignored (a
 * trailing comma after the flags), subtype 0xff; and the order of the lines kept when asked. */
static void esp_idf_extra_fields_subtype_ff_and_line_order(void **state)
{
    (void)state;
    const char *text = "factory, app, factory, , 1M\n"
                       "nvs_key, data, nvs_keys, , 4K, encrypted,\n"
                       "storage, data, 0xff, 0x170000, 0x1000, encrypted, x\n"
                       "nvs, data, nvs, 0x9000, 24K,\n";
    struct ptable t;
    struct error err;
    if (csv_parse_in_order(text, strlen(text), "t.csv", 4 * MB, &t, &err) != 0)
        fail_msg("%s", err.msg);
    expect_part(&t, 0, "factory", 0, 0, 0x10000, 0x100000, 0);
    expect_part(&t, 1, "nvs_key", 1, 4, 0x110000, 0x1000, 1);
    expect_part(&t, 2, "storage", 1, 0xff, 0x170000, 0x1000, 1);
    expect_part(&t, 3, "nvs", 1, 2, 0x9000, 0x6000, 0);
    if (parse(text, 4 * MB, &t, &err) != 0)
        fail_msg("%s", err.msg);
    expect_part(&t, 0, "nvs", 1, 2, 0x9000, 0x6000, 0);
}

static void encoded_md5(const struct ptable *t, char hex[33])
{
    uint8_t bin[PTABLE_SIZE];
    struct error err;
    assert_int_equal(ptable_encode(t, bin, &err), 0);
    const uint8_t *row = bin + 32 * t->count;
    assert_int_equal(row[0], 0xEB);
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", row[16 + i]);
    uint8_t md5[16];
    EVP_Digest(bin, (size_t)(32 * t->count), md5, NULL, EVP_md5(), NULL);
    assert_memory_equal(md5, row + 16, 16);
}

static void micropython_tables_encode_to_reference_md5(void **state)
{
    (void)state;
    /* MicroPython's partitions-4MiB-ota and partitions-4MiBplus layouts (esp-image-formats §6),
     * written three ways: reference MD5s from esp-image-formats.md §7.3 */
    const char *ota = "# Partition table: 4 MiB OTA\n"
                      "nvs,      data, nvs,     0x9000,  0x4000,\n"
                      "otadata,  data, ota,     0xd000,  0x2000,\n"
                      "phy_init, data, phy,     0xf000,  0x1000,\n"
                      "ota_0,    app,  ota_0,   0x10000, 0x180000,\n"
                      "ota_1,    app,  ota_1,   0x190000, 0x180000,\n";
    const char *ota_suffixes = "nvs, data, nvs, , 16K\notadata, data, ota, , 8K\n"
                               "phy_init, data, phy, , 4K\nota_0, app, ota_0, , 1536K\n"
                               "ota_1, app, ota_1, , 1536K\n";
    const char *plus_python = "nvs, data, nvs, 0x9000, 0x6000, 0\n"
                              "phy_init, data, phy, 0xf000, 0x1000, 0\n"
                              "factory, app, factory, 0x10000, 0x1f0000, 0\n";
    struct ptable t;
    struct error err;
    char hex[33];
    assert_int_equal(parse(ota, 4 * MB, &t, &err), 0);
    encoded_md5(&t, hex);
    assert_string_equal(hex, "6f91ac1bb2b49e61a1daefd12de800a2");
    assert_int_equal(parse(ota_suffixes, 4 * MB, &t, &err), 0);
    encoded_md5(&t, hex);
    assert_string_equal(hex, "6f91ac1bb2b49e61a1daefd12de800a2");
    assert_int_equal(parse(plus_python, 4 * MB, &t, &err), 0);
    encoded_md5(&t, hex);
    assert_string_equal(hex, "8405a9bb5ce0b84c4f2ca5de9a76b050");
}

static void utf16_with_bom(void **state)
{
    (void)state;
    const char *ascii = "nvs, data, nvs, 0x9000, 24K\n";
    size_t n = strlen(ascii);
    uint8_t le[2 + 2 * 64], be[2 + 2 * 64], le32[4 + 4 * 64];
    le[0] = 0xFF, le[1] = 0xFE, be[0] = 0xFE, be[1] = 0xFF;
    memcpy(le32, "\xFF\xFE\0\0", 4);
    for (size_t i = 0; i < n; i++) {
        le[2 + 2 * i] = (uint8_t)ascii[i], le[3 + 2 * i] = 0;
        be[2 + 2 * i] = 0, be[3 + 2 * i] = (uint8_t)ascii[i];
        memset(le32 + 4 + 4 * i, 0, 4);
        le32[4 + 4 * i] = (uint8_t)ascii[i];
    }
    struct ptable t;
    struct error err;
    assert_int_equal(csv_parse((char *)le, 2 + 2 * n, "t.csv", 4 * MB, &t, &err), 0);
    expect_part(&t, 0, "nvs", 1, 2, 0x9000, 0x6000, 0);
    assert_int_equal(csv_parse((char *)be, 2 + 2 * n, "t.csv", 4 * MB, &t, &err), 0);
    expect_part(&t, 0, "nvs", 1, 2, 0x9000, 0x6000, 0);
    assert_int_equal(csv_parse((char *)le32, 4 + 4 * n, "t.csv", 4 * MB, &t, &err), 0);
    expect_part(&t, 0, "nvs", 1, 2, 0x9000, 0x6000, 0);
    /* odd length and non-ASCII are errors */
    assert_int_equal(csv_parse((char *)le, 2 + 2 * n - 1, "t.csv", 4 * MB, &t, &err), -1);
    assert_string_equal(err.msg, "t.csv: truncated UTF-16 text");
    le[3] = 0x04;
    assert_int_equal(csv_parse((char *)le, 2 + 2 * n, "t.csv", 4 * MB, &t, &err), -1);
    assert_string_equal(err.msg, "t.csv: non-ASCII character in UTF-16 text");
}

static void whitespace_quotes_comments_and_line_ends(void **state)
{
    (void)state;
    /* tabs, quotes, indented comments, CR LF, no final newline */
    const char *text = "  # indented comment\r\n"
                       "\t\"nvs\"\t,\tdata , \"nvs\" ,0x9000,0x6000\r\n"
                       "#factory, app, factory, , 1M\n"
                       "\r\n"
                       "factory,app,factory,,0x1f0000";
    struct ptable t;
    struct error err;
    if (parse(text, 4 * MB, &t, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(t.count, 2);
    expect_part(&t, 0, "nvs", 1, 2, 0x9000, 0x6000, 0);
    expect_part(&t, 1, "factory", 0, 0, 0x10000, 0x1f0000, 0);
    /* only comments: an empty table (validation reports the missing app later) */
    assert_int_equal(parse("# nothing\n\n", 4 * MB, &t, &err), 0);
    assert_int_equal(t.count, 0);
    assert_int_equal(t.flash_size, 4 * MB);
    assert_int_equal(csv_parse("", 0, "empty.csv", 4 * MB, &t, &err), 0);
    assert_int_equal(t.count, 0);
    /* the line number counts blank and comment lines */
    assert_int_equal(parse("\n# x\n\nnvs, data, nvs, 0x9000, big\n", 4 * MB, &t, &err), -1);
    assert_string_equal(err.msg, "t.csv:4: invalid size 'big'");
}

static void expect_error(const char *text, const char *msg)
{
    struct ptable t;
    struct error err;
    assert_int_equal(parse(text, 4 * MB, &t, &err), -1);
    if (strcmp(err.msg, msg) != 0)
        fail_msg("for %s\n got '%s'\nwant '%s'", text, err.msg, msg);
    assert_int_equal(err.kind, ERROR_VALUE);
}

static void errors_name_line_and_field(void **state)
{
    (void)state;
    expect_error("# c\nnvs, data, nvs, 0x9000, 0x6000\nfactory, app, factory, , xyz\n",
                 "t.csv:3: invalid size 'xyz'");
    expect_error("nvs, data, nvs, 0x9000q, 0x6000", "t.csv:1: invalid offset '0x9000q'");
    expect_error("nvs, data, nvs, 0x9000, ", "t.csv:1: missing size");
    expect_error("nvs, data, nvs", "t.csv:1: missing size");
    expect_error("nvs, data, nvs, 0x9000, 1G", "t.csv:1: invalid size '1G'");
    expect_error("nvs, data, nvs, 0x9000, 4096M", "t.csv:1: invalid size '4096M'");
    expect_error("nvs, data, nvs, 0x9000, 0x100000000", "t.csv:1: invalid size '0x100000000'");
    expect_error("nvs, data, nvs, 0xFFFFF000, 0x2000",
                 "t.csv:1: No room on flash for partition nvs (0x2000 bytes).");
    expect_error("vfs, data, fat, 0x200000, 0x200001",
                 "t.csv:1: No room on flash for partition vfs (0x200001 bytes).");
    expect_error("nvs, data, nvs, 0x9000, 0x6000, bogus", "t.csv:1: invalid flags 'bogus'");
    expect_error("nvs, data, nvs, 0x9000, 0x6000, readonly:", "t.csv:1: invalid flags 'readonly:'");
    expect_error("nvs, dta, nvs, 0x9000, 0x6000", "t.csv:1: invalid type 'dta'");
    expect_error("nvs, , nvs, 0x9000, 0x6000", "t.csv:1: missing type");
    expect_error("nvs, 255, nvs, 0x9000, 0x6000", "t.csv:1: invalid type '255'");
    expect_error("nvs, data, 256, 0x9000, 0x6000",
                 "t.csv:1: invalid subtype '256' for type 'data'");
    expect_error("nvs, data, factory, 0x9000, 0x6000",
                 "t.csv:1: invalid subtype 'factory' for type 'data'");
    expect_error("nvs, app, , 0x10000, 0x6000", "t.csv:1: missing subtype for an app partition");
    expect_error(", data, nvs, 0x9000, 0x6000", "t.csv:1: missing name");
    expect_error("abcdefghijklmnopq, data, nvs, 0x9000, 0x6000",
                 "t.csv:1: name 'abcdefghijklmnopq' is longer than 16 bytes");
    expect_error("nvs, data, nvs, 0x9000, 0x6000\nnvs, data, nvs, , 0x6000",
                 "t.csv:2: Partition 'nvs' already exists in table.");
    expect_error("nvs, data, nvs, $NVS_OFFSET, 0x6000",
                 "t.csv:1: environment variables are not supported ('$NVS_OFFSET')");
    expect_error("fs, data, fat, 0x200000, -0x100000",
                 "t.csv:1: size '-0x100000' ends at or before the offset 0x200000");
    /* Python dialect: subtype names only, size 0 needs room */
    expect_error("vfs, data, vfat, 0x9000, 0x1000, 0", "t.csv:1: invalid subtype 'vfat'");
    expect_error("vfs, data, fat, 0x401000, 0, 0",
                 "t.csv:1: No room on flash for partition vfs (0x0 bytes).");
}

static void nul_and_too_many(void **state)
{
    (void)state;
    struct ptable t;
    struct error err;
    const char text[] = "nvs, data, nvs, 0x9000, 0x6000\n\0x";
    assert_int_equal(csv_parse(text, sizeof text - 1, "t.csv", 4 * MB, &t, &err), -1);
    assert_non_null(strstr(err.msg, "NUL"));
    /* 96 partitions: one more than a table holds */
    char *big = malloc(96 * 40);
    size_t n = 0;
    for (int i = 0; i < 96; i++)
        n += (size_t)sprintf(big + n, "p%d, data, fat, , 4K\n", i);
    assert_int_equal(csv_parse(big, n, "big.csv", 4 * MB, &t, &err), -1);
    assert_string_equal(err.msg, "big.csv:96: too many partitions (at most 95)");
    assert_int_equal(csv_parse(big, n - strlen("p95, data, fat, , 4K\n"), "big.csv", 4 * MB, &t,
                               &err),
                     0);
    assert_int_equal(t.count, 95);
    free(big);
}

static void sizes(void **state)
{
    (void)state;
    uint32_t v;
    assert_int_equal(csv_parse_size("0x1000", &v), 0);
    assert_int_equal(v, 0x1000);
    assert_int_equal(csv_parse_size("24K", &v), 0);
    assert_int_equal(v, 24 * 1024);
    assert_int_equal(csv_parse_size("4095M", &v), 0);
    assert_int_equal(v, 4095u * MB);
    assert_int_equal(csv_parse_size("0", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(csv_parse_size("4294967295", &v), 0);
    assert_int_equal(v, 0xFFFFFFFFu);
    const char *bad[] = {"", "K", "0x", "4294967296", "4096M", "4194304K", "1.5M", "-1",
                         "12a", "0xg", "1MB", " 1", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(csv_parse_size(bad[i], &v), -1);
}

static void write_and_read_back(void **state)
{
    (void)state;
    struct ptable t;
    memset(&t, 0, sizeof t);
    t.flash_size = 4 * MB;
    const struct partition parts[] = {
        {"nvs", 1, 2, 0x9000, 0x6000, 0},
        {"otadata", 1, 0, 0xf000, 0x2000, 2},
        {"ota_0", 0, 0x10, 0x20000, 0x180000, 0},
        {"romfs", 1, 0x8F, 0x1a0000, 0x20000, 1},
        {"odd", 0x40, 0x12, 0x1c0000, 0x1234, 3},
        {"weird", 1, 0x81, 0x1c2000, 0x100000, 0x10},
        {"abcdefghijklmnop", 1, 0x83, 0x300000, 0x100000, 0},
    };
    memcpy(t.parts, parts, sizeof parts);
    t.count = 7;
    struct strbuf sb = {0};
    struct error err;
    assert_int_equal(csv_write(&t, &sb, &err), 0);
    const char *text = strbuf_str(&sb);
    assert_non_null(strstr(text, "\nnvs,              data, nvs,      0x9000,   24K,\n"));
    assert_non_null(strstr(text, "\notadata,          data, ota,      0xf000,   8K,    readonly\n"));
    assert_non_null(strstr(text, "\nromfs,            data, 0x8f,     0x1a0000, 128K,  encrypted\n"));
    assert_non_null(strstr(text, "odd,              0x40, 0x12,     0x1c0000, 0x1234, encrypted:readonly\n"));
    assert_non_null(strstr(text, "weird,            data, fat,      0x1c2000, 1M,    0x10\n"));
    struct ptable back;
    if (csv_parse(text, sb.len, "out.csv", 4 * MB, &back, &err) != 0)
        fail_msg("%s\n%s", err.msg, text);
    assert_int_equal(back.count, t.count);
    for (int i = 0; i < t.count; i++)
        expect_part(&back, i, parts[i].name, parts[i].type, parts[i].subtype, parts[i].offset,
                    parts[i].size, parts[i].flags);
    strbuf_free(&sb);
    /* names with surrounding spaces or a leading '#' are quoted and survive */
    strcpy(t.parts[0].name, "  sp ");
    strcpy(t.parts[1].name, "#hash");
    assert_int_equal(csv_write(&t, &sb, &err), 0);
    assert_non_null(strstr(strbuf_str(&sb), "\n\"  sp \",  "));
    assert_non_null(strstr(strbuf_str(&sb), "\n\"#hash\",  "));
    assert_int_equal(csv_parse(strbuf_str(&sb), sb.len, "out.csv", 4 * MB, &back, &err), 0);
    assert_string_equal(back.parts[0].name, "  sp ");
    assert_string_equal(back.parts[1].name, "#hash");
    strbuf_free(&sb);
    strcpy(t.parts[0].name, "nvs");
    /* negative sizes and names CSV cannot carry are refused */
    t.parts[0].size = -1;
    assert_int_equal(csv_write(&t, &sb, &err), -1);
    t.parts[0].size = 0x6000;
    strcpy(t.parts[0].name, "a,b");
    assert_int_equal(csv_write(&t, &sb, &err), -1);
    strbuf_free(&sb);
}

/* Out of memory at each allocation of a parse in turn: an error naming the file. */
static void out_of_memory_is_an_error(void **state)
{
    (void)state;
    const char *text = "nvs, data, nvs, 0x9000, 0x6000, 0\n"
                       "factory, app, factory, 0x10000, 1M, 0\n";
    struct ptable t;
    struct error err;
    long n = 0;
    for (;; n++) {
        mp_alloc_fail_at(n, 0);
        int rc = parse(text, 4 * MB, &t, &err);
        long failures = mp_alloc_failures();
        mp_alloc_fail_at(-1, 0);
        if (!failures) {
            assert_int_equal(rc, 0);
            assert_int_equal(t.count, 2);
            break;
        }
        assert_int_equal(rc, -1);
        assert_string_equal(err.msg, "t.csv: out of memory");
    }
    assert_true(n >= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(out_of_memory_is_an_error),
        cmocka_unit_test(python_dialect_example),
        cmocka_unit_test(python_dialect_type_column_ignored_and_zeroes),
        cmocka_unit_test(python_dialect_with_esp_idf_types),
        cmocka_unit_test(esp_idf_dialect),
        cmocka_unit_test(esp_idf_alignment_numbers_and_suffixes),
        cmocka_unit_test(esp_idf_extra_fields_subtype_ff_and_line_order),
        cmocka_unit_test(micropython_tables_encode_to_reference_md5),
        cmocka_unit_test(utf16_with_bom),
        cmocka_unit_test(whitespace_quotes_comments_and_line_ends),
        cmocka_unit_test(errors_name_line_and_field),
        cmocka_unit_test(nul_and_too_many),
        cmocka_unit_test(sizes),
        cmocka_unit_test(write_and_read_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
