/* Unit tests of table editing: the Python tool's observed layouts and edits (seed §6). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "layout/layout.h"

struct row {
    const char *name;
    uint32_t offset;
    int64_t size;
};

static void assert_rows(const struct ptable *t, const struct row *rows, int count)
{
    assert_int_equal(t->count, count);
    for (int i = 0; i < count; i++) {
        assert_string_equal(t->parts[i].name, rows[i].name);
        assert_int_equal(t->parts[i].offset, rows[i].offset);
        assert_int_equal(t->parts[i].size, rows[i].size);
    }
}

static struct ptable stock(uint32_t flash_size)
{
    struct ptable t;
    memset(&t, 0, sizeof t);
    t.flash_size = 0x400000;
    struct error err;
    assert_int_equal(layout_builtin(&t, "original", 0, 0x10000, &err), 0);
    t.flash_size = flash_size;
    return t;
}

static void builtin_layouts_per_flash_size(void **state)
{
    (void)state;
    struct error err;
    struct ptable t;
    memset(&t, 0, sizeof t);
    const struct {
        uint32_t flash;
        uint32_t app;
        uint32_t vfs_offset, vfs_size;
    } ota[] = {
        {0x400000, 0x180000, 0x310000, 0xf0000},
        {0x800000, 0x200000, 0x410000, 0x3f0000},
        {0x1000000, 0x270000, 0x4f0000, 0xb10000},
        {0x2000000, 0x270000, 0x4f0000, 0x1b10000},
    };
    for (size_t i = 0; i < sizeof ota / sizeof ota[0]; i++) {
        t.flash_size = ota[i].flash;
        assert_int_equal(layout_builtin(&t, "ota", 0, 0x10000, &err), 0);
        const struct row rows[] = {
            {"nvs", 0x9000, 0x5000},
            {"otadata", 0xe000, 0x2000},
            {"ota_0", 0x10000, ota[i].app},
            {"ota_1", 0x10000 + ota[i].app, ota[i].app},
            {"vfs", ota[i].vfs_offset, ota[i].vfs_size},
        };
        assert_rows(&t, rows, 5);
        assert_int_equal(t.parts[1].type, PART_TYPE_DATA);
        assert_int_equal(t.parts[1].subtype, PART_SUBTYPE_DATA_OTA);
        assert_int_equal(t.parts[3].subtype, PART_SUBTYPE_OTA_0 + 1);
    }
    t.flash_size = 0x200000;
    assert_int_equal(layout_builtin(&t, "ota", 0, 0x10000, &err), -1);
    assert_string_equal(err.msg, "No room on flash for partition ota_1 (0x180000 bytes).");
    t.flash_size = 0x400000;
    assert_int_equal(layout_builtin(&t, "ota", 0x1f0000, 0x10000, &err), 0);
    const struct row ota_big[] = {{"nvs", 0x9000, 0x5000},       {"otadata", 0xe000, 0x2000},
                                  {"ota_0", 0x10000, 0x1f0000},  {"ota_1", 0x200000, 0x1f0000},
                                  {"vfs", 0x3f0000, 0x10000}};
    assert_rows(&t, ota_big, 5);
    t.flash_size = 0x800000;
    assert_int_equal(layout_builtin(&t, "default", 0, 0x10000, &err), 0);
    const struct row def[] = {{"nvs", 0x9000, 0x7000},
                              {"factory", 0x10000, 0x1f0000},
                              {"vfs", 0x200000, 0x600000}};
    assert_rows(&t, def, 3);
    t.flash_size = 0x200000;
    assert_int_equal(layout_builtin(&t, "original", 0, 0x10000, &err), 0);
    assert_int_equal(t.parts[3].size, 0);
    assert_int_equal(layout_builtin(&t, "bogus", 0, 0x10000, &err), -1);
}

static void custom_layout_and_subtype_inference(void **state)
{
    (void)state;
    struct error err;
    struct ptable t;
    memset(&t, 0, sizeof t);
    t.flash_size = 0x400000;
    const struct layout_spec specs[] = {
        {"nvs", "", 0, 0x7000, 0},
        {"factory", "", 0, 0x200000, 0},
        {"vfs", "", 0, 0x100000, 0},
        {"vfs2", "fat", 0, 0, 0},
    };
    assert_int_equal(layout_build(&t, specs, 4, &err), 0);
    const struct row rows[] = {{"nvs", 0x9000, 0x7000},
                               {"factory", 0x10000, 0x200000},
                               {"vfs", 0x210000, 0x100000},
                               {"vfs2", 0x310000, 0xf0000}};
    assert_rows(&t, rows, 4);
    assert_int_equal(t.parts[2].subtype, PART_SUBTYPE_DATA_FAT);
    /* vfs2 without a subtype cannot be inferred */
    const struct layout_spec bad[] = {{"vfs2", "", 0, 0x1000, 0}};
    assert_int_equal(layout_build(&t, bad, 1, &err), -1);
    assert_non_null(strstr(err.msg, "vfs2"));
    /* repeated names */
    const struct layout_spec twice[] = {{"nvs", "", 0, 0x1000, 0}, {"nvs", "", 0, 0x1000, 0}};
    assert_int_equal(layout_build(&t, twice, 2, &err), -1);
    assert_string_equal(err.msg, "Partition 'nvs' already exists in table.");
    /* names longer than a label are refused, not truncated */
    const struct layout_spec longname[] = {{"a_very_long_name_x", "fat", 0, 0x1000, 0}};
    assert_int_equal(layout_build(&t, longname, 1, &err), -1);
}

static void resize_moves_later_partitions_and_clips(void **state)
{
    (void)state;
    struct error err;
    struct ptable t = stock(0x400000);
    assert_int_equal(layout_resize(&t, "vfs", 0x100000, &err), 0);
    assert_int_equal(t.parts[3].size, 0x100000);
    t = stock(0x800000);
    assert_int_equal(layout_resize(&t, "vfs", 0, &err), 0);
    assert_int_equal(t.parts[3].size, 0x600000);
    t = stock(0x400000);
    assert_int_equal(layout_resize(&t, "nvs", 0x7000, &err), 0);
    assert_int_equal(t.parts[1].offset, 0x10000);
    assert_int_equal(t.parts[2].offset, 0x11000);
    t = stock(0x400000);
    assert_int_equal(layout_set_app_size(&t, 0x200000, &err), 0);
    assert_int_equal(t.parts[2].size, 0x200000);
    assert_int_equal(t.parts[3].offset, 0x210000);
    assert_int_equal(t.parts[3].size, 0x1f0000);
    assert_int_equal(layout_resize(&t, "nope", 0, &err), -1);
    assert_string_equal(err.msg, "Partition 'nope' not found.");
    /* delete phy_init, then nvs grows into the hole */
    t = stock(0x400000);
    assert_int_equal(layout_delete(&t, "phy_init", &err), 0);
    assert_int_equal(layout_resize(&t, "nvs", 0, &err), 0);
    assert_int_equal(t.parts[0].size, 0x7000);
}

static void rename_and_add(void **state)
{
    (void)state;
    struct error err;
    struct ptable t = stock(0x400000);
    assert_int_equal(layout_rename(&t, "vfs", "vfs2", &err), 0);
    assert_int_equal(layout_rename(&t, "factory", "app", &err), 0);
    assert_string_equal(t.parts[2].name, "app");
    assert_int_equal(layout_rename(&t, "app", "nvs", &err), -1);
    assert_string_equal(err.msg, "Partition 'nvs' already exists in table.");
    t = stock(0x400000);
    assert_int_equal(layout_resize(&t, "vfs", 0x100000, &err), 0);
    const struct layout_spec add = {"data", "fat", 0, 0x32000, 0};
    assert_int_equal(layout_add(&t, &add, &err), 0);
    assert_int_equal(t.parts[4].offset, 0x300000);
    assert_int_equal(t.parts[4].size, 0x32000);
    const struct layout_spec toobig = {"big", "fat", 0, 0x400000, 0};
    assert_int_equal(layout_add(&t, &toobig, &err), -1);
    assert_string_equal(err.msg, "No room on flash for partition big (0x400000 bytes).");
}

static void pairing_old_and_new_partitions(void **state)
{
    (void)state;
    struct error err;
    struct ptable old = stock(0x400000), t = old;
    int origin[PTABLE_MAX_ENTRIES];
    /* the same names pair up, wherever the partitions went */
    assert_int_equal(layout_builtin(&t, "ota", 0x1f0000, 0x10000, &err), 0);
    layout_pair(&old, &t, NULL, 0, origin);
    assert_int_equal(origin[ptable_find(&t, "nvs")], ptable_find(&old, "nvs"));
    assert_int_equal(origin[ptable_find(&t, "vfs")], ptable_find(&old, "vfs"));
    assert_int_equal(origin[ptable_find(&t, "otadata")], -1);
    assert_int_equal(origin[ptable_find(&t, "ota_0")], -1); /* an app is not a factory */
    /* renames are followed, in order, and a new partition under an old name is new */
    t = old;
    assert_int_equal(layout_rename(&t, "vfs", "fs", &err), 0);
    assert_int_equal(layout_resize(&t, "fs", 0x100000, &err), 0);
    const struct layout_spec add = {"vfs", "fat", 0, 0x100000, 0};
    assert_int_equal(layout_add(&t, &add, &err), 0);
    const struct layout_rename renames[] = {{"vfs", "fs"}};
    layout_pair(&old, &t, renames, 1, origin);
    assert_int_equal(origin[ptable_find(&t, "fs")], ptable_find(&old, "vfs"));
    assert_int_equal(origin[ptable_find(&t, "vfs")], -1);
    /* without the renames (a CSV) the names decide */
    layout_pair(&old, &t, NULL, 0, origin);
    assert_int_equal(origin[ptable_find(&t, "vfs")], ptable_find(&old, "vfs"));
    assert_int_equal(origin[ptable_find(&t, "fs")], -1);
    /* a partition renamed by a CSV keeps its data when it stays where it was */
    t = old;
    snprintf(t.parts[ptable_find(&t, "vfs")].name, sizeof t.parts[0].name, "ffat");
    layout_pair(&old, &t, NULL, 0, origin);
    assert_int_equal(origin[ptable_find(&t, "ffat")], ptable_find(&old, "vfs"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(builtin_layouts_per_flash_size),
        cmocka_unit_test(custom_layout_and_subtype_inference),
        cmocka_unit_test(resize_moves_later_partitions_and_clips),
        cmocka_unit_test(rename_and_add),
        cmocka_unit_test(pairing_old_and_new_partitions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
