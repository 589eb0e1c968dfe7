/* Unit tests of the partition table: encode/parse, MD5 row, validation messages, names. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "test_shared.h"

#include <openssl/evp.h>

#include "esp/ptable.h"

static struct ptable make_table(const struct partition *parts, int n, uint32_t flash)
{
    struct ptable t;
    memset(&t, 0, sizeof t);
    memcpy(t.parts, parts, sizeof *parts * (size_t)n);
    t.count = n;
    t.flash_size = flash;
    return t;
}

static const struct partition stock[] = {
    {"nvs", 1, 2, 0x9000, 0x6000, 0},
    {"phy_init", 1, 1, 0xf000, 0x1000, 0},
    {"factory", 0, 0, 0x10000, 0x1f0000, 0},
    {"vfs", 1, 0x81, 0x200000, 0x200000, 0},
};

static const struct partition ota4[] = {
    {"nvs", 1, 2, 0x9000, 0x4000, 0},
    {"otadata", 1, 0, 0xd000, 0x2000, 0},
    {"phy_init", 1, 1, 0xf000, 0x1000, 0},
    {"ota_0", 0, 0x10, 0x10000, 0x180000, 0},
    {"ota_1", 0, 0x11, 0x190000, 0x180000, 0},
};

static void md5_hex(const uint8_t *row, char out[33])
{
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", row[i]);
}

/* Encodes and checks the MD5 row, its position, the 0xFF fill and the MD5 against a reference. */
static void check_encoding(const struct partition *parts, int n, const char *want_md5)
{
    struct ptable t = make_table(parts, n, 0x400000);
    uint8_t out[PTABLE_SIZE];
    struct error err;
    assert_int_equal(ptable_encode(&t, out, &err), 0);
    const uint8_t *row = out + 32 * n;
    assert_int_equal(row[0], 0xEB);
    assert_int_equal(row[1], 0xEB);
    for (int i = 2; i < 16; i++)
        assert_int_equal(row[i], 0xFF);
    char hex[33];
    md5_hex(row + 16, hex);
    assert_string_equal(hex, want_md5);
    uint8_t md5[16];
    EVP_Digest(out, (size_t)(32 * n), md5, NULL, EVP_md5(), NULL);
    assert_memory_equal(md5, row + 16, 16);
    for (size_t i = (size_t)(32 * (n + 1)); i < PTABLE_SIZE; i++)
        assert_int_equal(out[i], 0xFF);
}

static void encode_matches_esp_idf_reference_md5s(void **state)
{
    (void)state;
    check_encoding(stock, 4, "fcbb2b925747711e3b24bc188f657bac");
    check_encoding(ota4, 5, "6f91ac1bb2b49e61a1daefd12de800a2");
    check_encoding(stock, 3, "8405a9bb5ce0b84c4f2ca5de9a76b050"); /* partitions-4MiBplus */
}

static void encode_first_entry_bytes(void **state)
{
    (void)state;
    struct ptable t = make_table(stock, 4, 0x400000);
    uint8_t out[PTABLE_SIZE];
    struct error err;
    assert_int_equal(ptable_encode(&t, out, &err), 0);
    const uint8_t want[32] = {0xAA, 0x50, 0x01, 0x02, 0x00, 0x90, 0, 0, 0x00, 0x60, 0, 0,
                              'n', 'v', 's'};
    assert_memory_equal(out, want, 32);
}

static void encode_refuses_bad_entries(void **state)
{
    (void)state;
    struct ptable t = make_table(stock, 4, 0x400000);
    uint8_t out[PTABLE_SIZE];
    struct error err;
    t.parts[3].size = -0x10000;
    assert_int_equal(ptable_encode(&t, out, &err), -1);
    assert_non_null(strstr(err.msg, "'vfs' has a negative size"));
    t.parts[3].size = 0x100000000LL;
    assert_int_equal(ptable_encode(&t, out, &err), -1);
    assert_non_null(strstr(err.msg, "does not fit"));
    t.parts[3].size = 0x200000;
    memset(t.parts[1].name, 'x', sizeof t.parts[1].name); /* 17 bytes, no terminator */
    assert_int_equal(ptable_encode(&t, out, &err), -1);
    assert_non_null(strstr(err.msg, "longer than 16 bytes"));
    /* exactly 16 bytes fills the label with no NUL, as ESP-IDF does */
    memcpy(t.parts[1].name, "abcdefghijklmnop", 17);
    assert_int_equal(ptable_encode(&t, out, &err), 0);
    assert_memory_equal(out + 32 + 12, "abcdefghijklmnop", 16);
    struct ptable back;
    assert_int_equal(ptable_parse(out, PTABLE_SIZE, &back, &err), 0);
    assert_string_equal(back.parts[1].name, "abcdefghijklmnop");
    t.count = PTABLE_MAX_ENTRIES + 1;
    assert_int_equal(ptable_encode(&t, out, &err), -1);
}

static void parse_round_trip_and_sort(void **state)
{
    (void)state;
    /* entries out of order on flash come back sorted by offset */
    struct partition shuffled[5] = {ota4[4], ota4[0], ota4[3], ota4[2], ota4[1]};
    shuffled[2].flags = 3;
    struct ptable t = make_table(shuffled, 5, 0x400000);
    uint8_t out[PTABLE_SIZE];
    struct error err;
    assert_int_equal(ptable_encode(&t, out, &err), 0);
    struct ptable back;
    assert_int_equal(ptable_parse(out, PTABLE_SIZE, &back, &err), 0);
    assert_int_equal(back.count, 5);
    for (int i = 0; i < 5; i++) {
        assert_string_equal(back.parts[i].name, ota4[i].name);
        assert_int_equal(back.parts[i].type, ota4[i].type);
        assert_int_equal(back.parts[i].subtype, ota4[i].subtype);
        assert_int_equal(back.parts[i].offset, ota4[i].offset);
        assert_int_equal(back.parts[i].size, ota4[i].size);
    }
    assert_int_equal(back.parts[3].flags, 3);
    /* the data area alone (0xC00 bytes) is enough */
    assert_int_equal(ptable_parse(out, PTABLE_DATA_SIZE, &back, &err), 0);
}

static void parse_without_md5_row(void **state)
{
    (void)state;
    struct ptable t = make_table(stock, 4, 0x400000);
    uint8_t out[PTABLE_SIZE];
    struct error err;
    assert_int_equal(ptable_encode(&t, out, &err), 0);
    memset(out + 4 * 32, 0xFF, 32); /* an old table: entries then the empty row */
    struct ptable back;
    assert_int_equal(ptable_parse(out, PTABLE_SIZE, &back, &err), 0);
    assert_int_equal(back.count, 4);
}

static void parse_errors(void **state)
{
    (void)state;
    struct ptable t = make_table(stock, 4, 0x400000);
    uint8_t out[PTABLE_SIZE];
    struct error err;
    struct ptable back;
    assert_int_equal(ptable_encode(&t, out, &err), 0);

    uint8_t erased[PTABLE_SIZE];
    memset(erased, 0xFF, sizeof erased);
    assert_int_equal(ptable_parse(erased, sizeof erased, &back, &err), -1);
    assert_string_equal(err.msg, "No partition table found.");
    assert_int_equal(err.kind, ERROR_PARTITION);
    assert_int_equal(ptable_parse(out, 31, &back, &err), -1);
    assert_string_equal(err.msg, "No partition table found.");

    uint8_t bad[PTABLE_SIZE];
    memcpy(bad, out, sizeof bad);
    bad[4 * 32 + 31] ^= 0xFF;
    assert_int_equal(ptable_parse(bad, sizeof bad, &back, &err), -1);
    assert_string_equal(err.msg, "Checksum: expected fcbb2b925747711e3b24bc188f657b53, "
                                 "got fcbb2b925747711e3b24bc188f657bac.");
    /* a changed entry no longer matches the stored MD5 */
    memcpy(bad, out, sizeof bad);
    bad[3 * 32 + 8] = 0x10;
    assert_int_equal(ptable_parse(bad, sizeof bad, &back, &err), -1);
    assert_non_null(strstr(err.msg, "Checksum: expected fcbb2b925747711e3b24bc188f657bac, got "));

    memcpy(bad, out, sizeof bad);
    bad[5 * 32 + 7] = 0;
    assert_int_equal(ptable_parse(bad, sizeof bad, &back, &err), -1);
    assert_string_equal(err.msg, "Partition table does not end with an empty row.");
    /* buffer ends right after the MD5 row: no empty row to see */
    assert_int_equal(ptable_parse(out, 5 * 32, &back, &err), -1);
    assert_string_equal(err.msg, "Partition table does not end with an empty row.");
}

static void parse_full_table_of_95(void **state)
{
    (void)state;
    struct ptable t;
    memset(&t, 0, sizeof t);
    t.count = PTABLE_MAX_ENTRIES;
    for (int i = 0; i < t.count; i++) {
        snprintf(t.parts[i].name, sizeof t.parts[i].name, "p%d", i);
        t.parts[i].type = 1;
        t.parts[i].subtype = 0x81;
        t.parts[i].offset = 0x9000u + 0x1000u * (uint32_t)i;
        t.parts[i].size = 0x1000;
    }
    uint8_t out[PTABLE_SIZE];
    struct error err;
    assert_int_equal(ptable_encode(&t, out, &err), 0);
    struct ptable back;
    assert_int_equal(ptable_parse(out, PTABLE_SIZE, &back, &err), 0);
    assert_int_equal(back.count, 95);
    assert_string_equal(back.parts[94].name, "p94");
}

static void find_and_first_app(void **state)
{
    (void)state;
    struct ptable t = make_table(ota4, 5, 0x400000);
    assert_int_equal(ptable_find(&t, "ota_1"), 4);
    assert_int_equal(ptable_find(&t, "vfs"), -1);
    assert_int_equal(ptable_first_app(&t), 3);
    t.parts[3].type = 1;
    assert_int_equal(ptable_first_app(&t), 4);
    t.parts[4].type = 1;
    assert_int_equal(ptable_first_app(&t), -1);
}

/* ---- validation ---- */

static int check(struct ptable *t, char *warn, size_t wsize, struct error *err)
{
    err->msg[0] = '\0';
    if (warn && wsize)
        warn[0] = '\0';
    return ptable_check(t, warn, wsize, err);
}

static void check_accepts_stock_and_ota(void **state)
{
    (void)state;
    char warn[1024];
    struct error err;
    struct ptable t = make_table(stock, 4, 0x400000);
    assert_int_equal(check(&t, warn, sizeof warn, &err), 0);
    assert_string_equal(warn, "");
    t = make_table(stock, 3, 0x400000);
    assert_int_equal(check(&t, warn, sizeof warn, &err), 0);
    assert_string_equal(warn, "Warning: End of last partition (0x200000) < flash size (0x400000).");
    t = make_table(ota4, 5, 0x400000);
    assert_int_equal(check(&t, NULL, 0, &err), 0);
}

static void check_warnings(void **state)
{
    (void)state;
    char warn[1024];
    struct error err;
    /* the old v1.18 layout: gap before vfs */
    struct partition p[4];
    memcpy(p, stock, sizeof p);
    p[2].size = 0x180000;
    struct ptable t = make_table(p, 4, 0x400000);
    assert_int_equal(check(&t, warn, sizeof warn, &err), 0);
    assert_string_equal(warn, "Warning: Free space before 'vfs' (0x70000 bytes).");
    /* first app elsewhere, and a shorter table: warnings in order, newline separated */
    memcpy(p, stock, sizeof p);
    p[2].offset = 0x20000;
    p[2].size = 0x1e0000;
    p[3].size = 0x100000;
    t = make_table(p, 4, 0x400000);
    assert_int_equal(check(&t, warn, sizeof warn, &err), 0);
    assert_string_equal(warn, "Warning: Free space before 'factory' (0x10000 bytes).\n"
                              "Warning: End of last partition (0x300000) < flash size (0x400000).\n"
                              "Warning: First app at offset=0x20000 (expected 0x10000).");
    /* warnings are appended to what the buffer holds */
    strcpy(warn, "earlier");
    assert_int_equal(ptable_check(&t, warn, sizeof warn, &err), 0);
    assert_non_null(strstr(warn, "earlier\nWarning: Free space before 'factory'"));
    /* a small warnings buffer truncates, never overflows */
    char tiny[10];
    assert_int_equal(check(&t, tiny, sizeof tiny, &err), 0);
    assert_int_equal(strlen(tiny), 9);
}

static void expect_error(const struct partition *parts, int n, uint32_t flash, const char *msg)
{
    struct ptable t = make_table(parts, n, flash);
    struct error err;
    assert_int_equal(check(&t, NULL, 0, &err), -1);
    assert_string_equal(err.msg, msg);
    assert_int_equal(err.kind, ERROR_PARTITION);
}

static void check_errors(void **state)
{
    (void)state;
    struct partition p[4];

    memcpy(p, stock, sizeof p);
    strcpy(p[3].name, "nvs");
    expect_error(p, 4, 0x400000, "'nvs' is repeated.");

    memcpy(p, stock, sizeof p);
    p[1].offset = 0xe000;
    expect_error(p, 4, 0x400000, "'phy_init' overlaps with previous partition.");

    /* below the end of the table sector counts as overlapping */
    memcpy(p, stock, sizeof p);
    p[0].offset = 0x8000;
    p[0].size = 0x7000;
    expect_error(p, 4, 0x400000, "'nvs' overlaps with previous partition.");

    memcpy(p, stock, sizeof p);
    p[3].offset = 0x200800;
    p[3].size = 0x100000;
    expect_error(p, 4, 0x400000, "'vfs' offset 0x200800 is not multiple of 0x1000.");

    memcpy(p, stock, sizeof p);
    p[3].size = 0x1ff800;
    expect_error(p, 4, 0x400000, "'vfs' size 0x1ff800 is not multiple of 0x1000.");

    memcpy(p, stock, sizeof p);
    p[1].size = 0x2000;
    p[2].offset = 0x11000;
    p[2].size = 0x1ef000;
    expect_error(p, 4, 0x400000, "App partition 'factory' offset 0x11000 is not multiple of 0x10000.");

    memcpy(p, stock, sizeof p);
    expect_error(p, 4, 0x200000,
                 "End of last partition (0x400000) is greater than flash size (0x200000).");

    memcpy(p, stock, sizeof p);
    p[2].type = 1;
    expect_error(p, 4, 0x400000, "No app partition found in table.");

    /* a negative size (bad resize) prints like Python */
    memcpy(p, stock, sizeof p);
    p[3].size = -0x10800;
    expect_error(p, 4, 0x400000, "'vfs' size -0x10800 is not multiple of 0x1000.");
    p[3].size = -0x10000;
    struct ptable t = make_table(p, 4, 0x400000);
    char warn[256];
    struct error err;
    assert_int_equal(check(&t, warn, sizeof warn, &err), 0);
    assert_string_equal(warn, "Warning: End of last partition (0x1f0000) < flash size (0x400000).");
}

static void check_sorts_a_view_only(void **state)
{
    (void)state;
    struct partition p[4] = {stock[3], stock[1], stock[0], stock[2]};
    struct ptable t = make_table(p, 4, 0x400000);
    struct error err;
    assert_int_equal(check(&t, NULL, 0, &err), 0);
    assert_string_equal(t.parts[0].name, "vfs"); /* unchanged order */
    ptable_sort(&t);
    assert_string_equal(t.parts[0].name, "nvs");
    assert_string_equal(t.parts[3].name, "vfs");
}

/* ---- names ---- */

static void type_and_subtype_names(void **state)
{
    (void)state;
    char s[16];
    ptable_type_name(0, s, sizeof s);
    assert_string_equal(s, "app");
    ptable_type_name(1, s, sizeof s);
    assert_string_equal(s, "data");
    ptable_type_name(0x40, s, sizeof s);
    assert_string_equal(s, "64");
    const struct {
        uint8_t type, subtype;
        const char *name;
    } cases[] = {
        {0, 0, "factory"},    {0, 0x10, "ota_0"},   {0, 0x1F, "ota_15"},
        {0, 0x20, "test"},    {0, 0x21, "33"},      {0, 0x02, "2"},
        {1, 0, "ota"},        {1, 1, "phy"},        {1, 2, "nvs"},
        {1, 3, "coredump"},   {1, 4, "nvs_keys"},   {1, 5, "efuse"},
        {1, 6, "undefined"},  {1, 0x80, "esphttpd"}, {1, 0x81, "fat"},
        {1, 0x82, "spiffs"},  {1, 0x83, "littlefs"}, {1, 0x8F, "143"},
        {1, 0x10, "16"},      {2, 0, "0"},          {0x40, 0x81, "129"},
        {0, 0x30, "tee_0"},   {0, 0x31, "tee_1"},   {0, 0x32, "50"},
        {1, 0x90, "tee_ota"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ptable_subtype_name(cases[i].type, cases[i].subtype, s, sizeof s);
        assert_string_equal(s, cases[i].name);
        /* every name parses back to the same pair (numbers keep the given type) */
        uint8_t type = cases[i].type, subtype = 0xEE;
        assert_int_equal(ptable_subtype_parse(s, &type, &subtype), 0);
        assert_int_equal(type, cases[i].type);
        assert_int_equal(subtype, cases[i].subtype);
    }
}

static void subtype_parse_inputs(void **state)
{
    (void)state;
    uint8_t type = 9, subtype = 9;
    assert_int_equal(ptable_subtype_parse("LittleFS", &type, &subtype), 0);
    assert_int_equal(type, 1);
    assert_int_equal(subtype, 0x83);
    assert_int_equal(ptable_subtype_parse("OTA_7", &type, &subtype), 0);
    assert_int_equal(type, 0);
    assert_int_equal(subtype, 0x17);
    type = 1;
    assert_int_equal(ptable_subtype_parse("0x8f", &type, &subtype), 0);
    assert_int_equal(type, 1);
    assert_int_equal(subtype, 0x8F);
    assert_int_equal(ptable_subtype_parse("010", &type, &subtype), 0);
    assert_int_equal(subtype, 10); /* decimal, not octal */
    const char *bad[] = {"ota_16", "ota_", "ota_01", "ota_1x", "vfs", "", "256", "0x100",
                         "-1", "0x", " 1", "1 ", "fat2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(ptable_subtype_parse(bad[i], &type, &subtype), -1);
    assert_int_equal(ptable_subtype_parse(NULL, &type, &subtype), -1);
}

static void esp_idf_keywords_of_every_type(void **state)
{
    (void)state;
    uint8_t type = 0xEE, subtype = 0xEE;
    char s[16];
    assert_int_equal(ptable_type_lookup("Partition_Table", &type), 0);
    assert_int_equal(type, PART_TYPE_PARTITION_TABLE);
    assert_string_equal(ptable_type_keyword(PART_TYPE_BOOTLOADER), "bootloader");
    assert_null(ptable_type_keyword(0x40));
    assert_int_equal(ptable_type_lookup("fat", &type), -1);
    /* the same keyword means a different subtype per type */
    assert_int_equal(ptable_subtype_lookup(PART_TYPE_BOOTLOADER, "ota", &subtype), 0);
    assert_int_equal(subtype, 1);
    assert_int_equal(ptable_subtype_lookup(PART_TYPE_DATA, "OTA", &subtype), 0);
    assert_int_equal(subtype, 0);
    assert_int_equal(ptable_subtype_lookup(PART_TYPE_DATA, "ota_1", &subtype), -1);
    assert_int_equal(ptable_subtype_lookup(PART_TYPE_APP, "ota_15", &subtype), 0);
    assert_int_equal(subtype, 0x1F);
    assert_int_equal(ptable_subtype_lookup(PART_TYPE_APP, "primary", &subtype), -1);
    assert_int_equal(ptable_subtype_keyword(PART_TYPE_BOOTLOADER, 2, s, sizeof s), 1);
    assert_string_equal(s, "recovery");
    assert_int_equal(ptable_subtype_keyword(PART_TYPE_BOOTLOADER, 3, s, sizeof s), 0);
    /* the table prints only app and data subtypes by name, and specs take only those */
    ptable_subtype_name(PART_TYPE_BOOTLOADER, 2, s, sizeof s);
    assert_string_equal(s, "2");
    assert_int_equal(ptable_subtype_parse("recovery", &type, &subtype), -1);
}

/* ---- random damage ---- */

static uint32_t rng(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void random_mutations_parse_cleanly_and_round_trip(void **state)
{
    (void)state;
    struct ptable t = make_table(ota4, 5, 0x400000);
    uint8_t good[PTABLE_SIZE];
    struct error err;
    assert_int_equal(ptable_encode(&t, good, &err), 0);
    uint32_t seed = 99;
    int parsed = 0;
    for (int round = 0; round < 5000; round++) {
        uint8_t m[PTABLE_SIZE];
        memcpy(m, good, sizeof m);
        int flips = 1 + (int)(rng(&seed) % 3);
        for (int f = 0; f < flips; f++)
            m[rng(&seed) % (32 * 7)] = (uint8_t)rng(&seed);
        /* half the time repair the MD5 so the entries themselves get exercised */
        int n = 0;
        while (n < 7 && m[32 * n] == 0xAA && m[32 * n + 1] == 0x50)
            n++;
        if (round % 2 && n < 7 && m[32 * n] == 0xEB && m[32 * n + 1] == 0xEB)
            EVP_Digest(m, (size_t)(32 * n), m + 32 * n + 16, NULL, EVP_md5(), NULL);
        struct ptable p, back;
        if (ptable_parse(m, sizeof m, &p, &err) != 0) {
            assert_true(strlen(err.msg) > 0);
            continue;
        }
        parsed++;
        p.flash_size = 0x400000;
        char warn[512] = "";
        ptable_check(&p, warn, sizeof warn, &err);
        uint8_t out[PTABLE_SIZE];
        assert_int_equal(ptable_encode(&p, out, &err), 0);
        assert_int_equal(ptable_parse(out, sizeof out, &back, &err), 0);
        assert_int_equal(back.count, p.count);
        for (int i = 0; i < p.count; i++) {
            assert_string_equal(back.parts[i].name, p.parts[i].name);
            assert_int_equal(back.parts[i].offset, p.parts[i].offset);
            assert_int_equal(back.parts[i].size, p.parts[i].size);
            assert_int_equal(back.parts[i].type, p.parts[i].type);
            assert_int_equal(back.parts[i].subtype, p.parts[i].subtype);
            assert_int_equal(back.parts[i].flags, p.parts[i].flags);
        }
    }
    assert_true(parsed > 100); /* the repair made many mutants parse */
}

/* ---- real firmware tables ---- */

static uint8_t *read_shared(const char *name, size_t *len)
{
    char rel[512];
    snprintf(rel, sizeof rel, "firmware/%s", name);
    return test_read_shared(rel, len);
}

static void real_tables_reencode_byte_identical(void **state)
{
    (void)state;
    const struct {
        const char *file;
        size_t table_at;
        int count;
    } files[] = {
        {"ESP32_GENERIC-20240602-v1.23.0.bin", 0x7000, 4},
        {"firmware-esp32-GENERIC_OTA.bin", 0x7000, 6},
        {"ESP32_GENERIC_S3-SPIRAM_OCT-20250809-v1.26.0.bin", 0x8000, 3},
        {"lvgl_micropy_ESP32_GENERIC.bin", 0x8000, 4},
    };
    int found = 0;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        size_t len = 0;
        uint8_t *fw = read_shared(files[i].file, &len);
        if (!fw)
            continue;
        found++;
        struct ptable t;
        struct error err;
        assert_int_equal(ptable_parse(fw + files[i].table_at, PTABLE_SIZE, &t, &err), 0);
        assert_int_equal(t.count, files[i].count);
        uint8_t out[PTABLE_SIZE];
        assert_int_equal(ptable_encode(&t, out, &err), 0);
        assert_memory_equal(out, fw + files[i].table_at, PTABLE_SIZE);
        free(fw);
    }
    if (!found) {
        TEST_SKIP("MP_SHARED_DIR firmware not available");
    }
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(encode_matches_esp_idf_reference_md5s),
        cmocka_unit_test(encode_first_entry_bytes),
        cmocka_unit_test(encode_refuses_bad_entries),
        cmocka_unit_test(parse_round_trip_and_sort),
        cmocka_unit_test(parse_without_md5_row),
        cmocka_unit_test(parse_errors),
        cmocka_unit_test(parse_full_table_of_95),
        cmocka_unit_test(find_and_first_app),
        cmocka_unit_test(check_accepts_stock_and_ota),
        cmocka_unit_test(check_warnings),
        cmocka_unit_test(check_errors),
        cmocka_unit_test(check_sorts_a_view_only),
        cmocka_unit_test(type_and_subtype_names),
        cmocka_unit_test(subtype_parse_inputs),
        cmocka_unit_test(esp_idf_keywords_of_every_type),
        cmocka_unit_test(random_mutations_parse_cleanly_and_round_trip),
    };
    const struct CMUnitTest shared_tests[] = {
        cmocka_unit_test(real_tables_reencode_byte_identical),
    };
    return test_main(argc, argv, tests, sizeof tests / sizeof tests[0], shared_tests,
                     sizeof shared_tests / sizeof shared_tests[0]);
}
