/* Unit tests of the fs module's parts that need no littlefs engine: the block cache, partition
 * selection (incl. the computed vfs region of MicroPython >= v1.26), path arguments, the
 * disk-version rule and the df rounding. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "test_shared.h"

#include "fs/fs.h"

/* ---------------------------------------------------------------- a flash that counts calls */

struct counting_flash {
    struct flash_image img;
    struct flash_ops ops;
    const struct flash_ops *inner;
    int reads, writes;
    uint32_t write_addr[64], write_len[64];
};

static int counting_read(struct flash *f, uint32_t addr, void *buf, uint32_t len,
                         struct error *err)
{
    struct counting_flash *c = (struct counting_flash *)f;
    c->reads++;
    return c->inner->read(f, addr, buf, len, err);
}

static int counting_write(struct flash *f, uint32_t addr, const void *buf, uint32_t len,
                          struct error *err)
{
    struct counting_flash *c = (struct counting_flash *)f;
    if (c->writes < 64) {
        c->write_addr[c->writes] = addr;
        c->write_len[c->writes] = len;
    }
    c->writes++;
    return c->inner->write(f, addr, buf, len, err);
}

static void counting_open(struct counting_flash *c, uint32_t len, uint32_t limit)
{
    memset(c, 0, sizeof *c);
    uint8_t *data = malloc(len);
    for (uint32_t i = 0; i < len; i++)
        data[i] = (uint8_t)(i / 4096 + 1); /* each block filled with its number + 1 */
    struct error err;
    assert_int_equal(flash_image_open(&c->img, data, len, 0, limit, "test", &err), 0);
    free(data);
    c->inner = c->img.flash.ops;
    c->ops = *c->inner;
    c->ops.read = counting_read;
    c->ops.write = counting_write;
    c->ops.map = NULL; /* like a board: every byte is read through the flash */
    c->img.flash.ops = &c->ops;
}

/* A firmware file held in memory: clean blocks are read from it and only changed blocks are
 * copied, each copy dropped once the flash holds it; the flush order is a board's. */
static void cache_of_a_mapped_file_copies_only_changed_blocks(void **state)
{
    (void)state;
    struct counting_flash cf;
    counting_open(&cf, 8 * 4096, 8 * 4096);
    cf.ops.map = cf.inner->map;
    struct fs_cache c;
    struct error err;
    assert_int_equal(fs_cache_init(&c, &cf.img.flash, 4096, &err), 0);
    assert_true(c.mapped);
    uint8_t buf[32];
    for (uint32_t b = 0; b < 8; b++) {
        assert_int_equal(fs_cache_read(&c, b, 64, buf, 32, &err), 0);
        assert_int_equal(buf[0], b + 1);
        assert_null(fs_cache_block(&c, b));
    }
    assert_int_equal(cf.reads, 0);
    uint8_t data[64];
    memset(data, 0xA5, sizeof data);
    assert_int_equal(fs_cache_erase(&c, 2, &err), 0);
    assert_int_equal(fs_cache_prog(&c, 3, 0, data, 64, &err), 0);
    assert_int_equal(fs_cache_prog(&c, 6, 64, data, 64, &err), 0);
    assert_int_equal(fs_cache_prog(&c, 1, 128, data, 32, &err), 0);
    /* the changes are read back from the copies, the flash is untouched before the flush */
    assert_int_equal(fs_cache_read(&c, 3, 60, buf, 8, &err), 0);
    assert_int_equal(buf[0], 0xA5);
    assert_int_equal(buf[4], 4);
    assert_int_equal(fs_cache_block(&c, 2)[100], 0xFF);
    assert_null(fs_cache_block(&c, 4));
    assert_int_equal(cf.writes, 0);
    assert_int_equal(fs_cache_flush(&c, &err), 0);
    assert_int_equal(cf.writes, 4);
    assert_int_equal(cf.write_addr[0], 2 * 4096);
    assert_int_equal(cf.write_addr[1], 3 * 4096);
    assert_int_equal(cf.write_addr[2], 6 * 4096);
    assert_int_equal(cf.write_addr[3], 1 * 4096); /* the last programmed block comes last */
    assert_int_equal(c.bytes_written, 4 * 4096);
    for (uint32_t b = 0; b < 8; b++) {
        assert_false(c.dirty[b]);
        assert_null(fs_cache_block(&c, b));
    }
    uint32_t len;
    const uint8_t *bytes = flash_image_bytes(&cf.img, &len);
    assert_int_equal(bytes[2 * 4096], 0xFF);
    assert_int_equal(bytes[3 * 4096 + 63], 0xA5);
    assert_int_equal(bytes[3 * 4096 + 64], 4);
    assert_int_equal(bytes[1 * 4096 + 128], 0xA5);
    assert_int_equal(fs_cache_read(&c, 6, 64, buf, 8, &err), 0);
    assert_int_equal(buf[0], 0xA5);
    assert_int_equal(cf.reads, 0);
    fs_cache_free(&c);
    flash_close(&cf.img.flash);
}

static void cache_reads_each_block_once(void **state)
{
    (void)state;
    struct counting_flash cf;
    counting_open(&cf, 8 * 4096, 8 * 4096);
    struct fs_cache c;
    struct error err;
    assert_int_equal(fs_cache_init(&c, &cf.img.flash, 4096, &err), 0);
    assert_int_equal(c.block_count, 8);
    uint8_t buf[32];
    for (int i = 0; i < 10; i++) {
        assert_int_equal(fs_cache_read(&c, 3, (uint32_t)i * 32, buf, 32, &err), 0);
        assert_int_equal(buf[0], 4);
    }
    assert_int_equal(fs_cache_read(&c, 5, 100, buf, 32, &err), 0);
    assert_int_equal(buf[31], 6);
    assert_int_equal(cf.reads, 2);
    assert_int_equal(c.flash_reads, 2);
    /* an erased block is not read at all */
    assert_int_equal(fs_cache_erase(&c, 6, &err), 0);
    assert_int_equal(fs_cache_read(&c, 6, 0, buf, 32, &err), 0);
    assert_int_equal(buf[0], 0xFF);
    assert_int_equal(cf.reads, 2);
    /* out of range is an error, not a crash */
    assert_int_equal(fs_cache_read(&c, 8, 0, buf, 32, &err), -1);
    assert_int_equal(fs_cache_read(&c, 0, 4090, buf, 32, &err), -1);
    fs_cache_free(&c);
    flash_close(&cf.img.flash);
}

static void cache_flushes_runs_with_last_block_last(void **state)
{
    (void)state;
    struct counting_flash cf;
    counting_open(&cf, 8 * 4096, 8 * 4096);
    struct fs_cache c;
    struct error err;
    assert_int_equal(fs_cache_init(&c, &cf.img.flash, 4096, &err), 0);
    uint8_t data[64];
    memset(data, 0xA5, sizeof data);
    /* data blocks 2, 3, 4 and 6, then a "commit" to block 0 (programmed last) */
    assert_int_equal(fs_cache_erase(&c, 2, &err), 0);
    assert_int_equal(fs_cache_prog(&c, 2, 0, data, 64, &err), 0);
    assert_int_equal(fs_cache_erase(&c, 3, &err), 0);
    assert_int_equal(fs_cache_erase(&c, 4, &err), 0);
    assert_int_equal(fs_cache_prog(&c, 6, 64, data, 64, &err), 0);
    assert_int_equal(fs_cache_prog(&c, 1, 128, data, 32, &err), 0);
    /* nothing reaches the flash before the flush */
    assert_int_equal(cf.writes, 0);
    assert_int_equal(fs_cache_flush(&c, &err), 0);
    assert_int_equal(cf.writes, 3);
    assert_int_equal(cf.write_addr[0], 2 * 4096);
    assert_int_equal(cf.write_len[0], 3 * 4096);
    assert_int_equal(cf.write_addr[1], 6 * 4096);
    assert_int_equal(cf.write_len[1], 4096);
    assert_int_equal(cf.write_addr[2], 1 * 4096); /* the last programmed block comes last */
    assert_int_equal(c.flash_writes, 3);
    assert_int_equal(c.bytes_written, 5 * 4096);
    /* the flash now holds the cached bytes */
    uint32_t len;
    const uint8_t *bytes = flash_image_bytes(&cf.img, &len);
    assert_int_equal(bytes[2 * 4096], 0xA5);
    assert_int_equal(bytes[2 * 4096 + 64], 0xFF);
    assert_int_equal(bytes[3 * 4096], 0xFF);
    assert_int_equal(bytes[6 * 4096 + 63], 7);
    assert_int_equal(bytes[6 * 4096 + 64], 0xA5);
    assert_int_equal(bytes[1 * 4096 + 127], 2);
    assert_int_equal(bytes[1 * 4096 + 128], 0xA5);
    assert_int_equal(bytes[0], 1);
    /* a second flush has nothing to do */
    assert_int_equal(fs_cache_flush(&c, &err), 0);
    assert_int_equal(cf.writes, 3);
    fs_cache_free(&c);
    flash_close(&cf.img.flash);
}

static void cache_reads_past_file_end_as_erased_and_grows_it(void **state)
{
    (void)state;
    /* a firmware file that stops one and a half blocks into a 4-block partition */
    struct counting_flash cf;
    counting_open(&cf, 0x1000 + 0x1800, 0x1000 + 4 * 4096);
    struct flash_window w;
    flash_window_open(&w, &cf.img.flash, 0x1000, 4 * 4096, "vfs");
    struct fs_cache c;
    struct error err;
    assert_int_equal(fs_cache_init(&c, &w.flash, 4096, &err), 0);
    assert_int_equal(c.block_count, 4);
    uint8_t buf[16];
    assert_int_equal(fs_cache_read(&c, 1, 0x7F8, buf, 16, &err), 0);
    assert_int_equal(buf[7], 3);
    assert_int_equal(buf[8], 0xFF);
    assert_int_equal(fs_cache_read(&c, 3, 0, buf, 16, &err), 0);
    assert_int_equal(buf[0], 0xFF);
    memset(buf, 0x11, sizeof buf);
    assert_int_equal(fs_cache_prog(&c, 3, 0, buf, 16, &err), 0);
    assert_int_equal(fs_cache_flush(&c, &err), 0);
    assert_int_equal(cf.img.flash.size, 0x1000 + 4 * 4096);
    uint32_t len;
    const uint8_t *bytes = flash_image_bytes(&cf.img, &len);
    assert_int_equal(bytes[0x1000 + 3 * 4096], 0x11);
    fs_cache_free(&c);
    flash_close(&cf.img.flash);
}

static void cache_keeps_dirty_blocks_when_a_write_fails(void **state)
{
    (void)state;
    for (int mapped = 0; mapped < 2; mapped++) {
        /* a window larger than its parent's limit: writing the last block fails */
        struct counting_flash cf;
        counting_open(&cf, 2 * 4096, 3 * 4096);
        if (mapped)
            cf.ops.map = cf.inner->map;
        struct flash_window w;
        flash_window_open(&w, &cf.img.flash, 0, 4 * 4096, "vfs");
        struct fs_cache c;
        struct error err;
        assert_int_equal(fs_cache_init(&c, &w.flash, 4096, &err), 0);
        assert_int_equal(fs_cache_erase(&c, 3, &err), 0);
        assert_int_equal(fs_cache_erase(&c, 0, &err), 0);
        assert_int_equal(c.mapped, mapped);
        assert_int_equal(fs_cache_flush(&c, &err), -1);
        assert_true(c.dirty[0] || c.dirty[3]);
        for (uint32_t b = 0; b < 4; b += 3)
            if (c.dirty[b])
                assert_int_equal(fs_cache_block(&c, b)[0], 0xFF);
        fs_cache_free(&c);
        flash_close(&cf.img.flash);
    }
}

/* ---------------------------------------------------------------- partitions */

static void add_part(struct ptable *t, const char *name, uint8_t type, uint8_t subtype,
                     uint32_t offset, uint32_t size)
{
    struct partition *p = &t->parts[t->count++];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->type = type;
    p->subtype = subtype;
    p->offset = offset;
    p->size = size;
}

static void stock_v126_table(struct ptable *t, uint32_t flash_size)
{
    memset(t, 0, sizeof *t);
    t->flash_size = flash_size;
    add_part(t, "nvs", PART_TYPE_DATA, PART_SUBTYPE_DATA_NVS, 0x9000, 0x6000);
    add_part(t, "phy_init", PART_TYPE_DATA, PART_SUBTYPE_DATA_PHY, 0xF000, 0x1000);
    add_part(t, "factory", PART_TYPE_APP, PART_SUBTYPE_FACTORY, 0x10000, 0x1F0000);
}

static void vfs_region_is_end_of_last_partition_to_end_of_flash(void **state)
{
    (void)state;
    struct ptable t;
    uint32_t off = 0, size = 0;
    stock_v126_table(&t, 0x400000);
    assert_int_equal(fs_vfs_region(&t, 0x400000, &off, &size), 1);
    assert_int_equal(off, 0x200000);
    assert_int_equal(size, 0x200000);
    assert_int_equal(fs_vfs_region(&t, 0x1000000, &off, &size), 1);
    assert_int_equal(size, 0xE00000);
    /* OTA table of a 4 MiB board: ends at 0x310000 (littlefs.md §11.4) */
    memset(&t, 0, sizeof t);
    add_part(&t, "nvs", PART_TYPE_DATA, PART_SUBTYPE_DATA_NVS, 0x9000, 0x4000);
    add_part(&t, "otadata", PART_TYPE_DATA, PART_SUBTYPE_DATA_OTA, 0xD000, 0x2000);
    add_part(&t, "phy_init", PART_TYPE_DATA, PART_SUBTYPE_DATA_PHY, 0xF000, 0x1000);
    add_part(&t, "ota_0", PART_TYPE_APP, PART_SUBTYPE_OTA_0, 0x10000, 0x180000);
    add_part(&t, "ota_1", PART_TYPE_APP, PART_SUBTYPE_OTA_0 + 1, 0x190000, 0x180000);
    add_part(&t, "coredump", PART_TYPE_DATA, PART_SUBTYPE_DATA_COREDUMP, 0x310000, 0x1000);
    assert_int_equal(fs_vfs_region(&t, 0x400000, &off, &size), 1);
    assert_int_equal(off, 0x311000); /* any partition counts, not only apps; no alignment */
    assert_int_equal(size, 0xEF000);
    /* a table that fills the flash leaves no region */
    stock_v126_table(&t, 0x200000);
    assert_int_equal(fs_vfs_region(&t, 0x200000, &off, &size), 0);
    /* a data partition labelled vfs or ffat (any subtype) means no computed region */
    stock_v126_table(&t, 0x400000);
    add_part(&t, "ffat", PART_TYPE_DATA, PART_SUBTYPE_DATA_FAT, 0x200000, 0x100000);
    assert_int_equal(fs_vfs_region(&t, 0x400000, &off, &size), 0);
    stock_v126_table(&t, 0x400000);
    add_part(&t, "vfs", PART_TYPE_DATA, PART_SUBTYPE_DATA_LITTLEFS, 0x300000, 0x100000);
    assert_int_equal(fs_vfs_region(&t, 0x400000, &off, &size), 0);
    /* but an app called vfs does not count, and "vfs" then means the computed region */
    stock_v126_table(&t, 0x400000);
    add_part(&t, "vfs", PART_TYPE_APP, PART_SUBTYPE_OTA_0, 0x200000, 0x100000);
    assert_int_equal(fs_vfs_region(&t, 0x400000, &off, &size), 1);
    assert_int_equal(off, 0x300000);
    struct fs_partitions parts;
    fs_partitions_from_table(&t, 0x400000, &parts);
    const struct fs_partition *vfs = fs_partitions_find(&parts, "vfs");
    assert_non_null(vfs);
    assert_true(vfs->computed);
    assert_int_equal(vfs->offset, 0x300000);
    assert_int_equal(fs_partitions_find(&parts, "factory")->type, PART_TYPE_APP);
    /* an empty table: the firmware registers nothing */
    memset(&t, 0, sizeof t);
    assert_int_equal(fs_vfs_region(&t, 0x400000, &off, &size), 0);
}

/* The partition table of a firmware file (PTABLE_SIZE bytes at bin); its number of entries. */
static int load_table(const uint8_t *bin, struct ptable *t)
{
    struct error err;
    if (ptable_parse(bin, PTABLE_SIZE, t, &err))
        fail_msg("%s", err.msg);
    return t->count;
}

static void vfs_region_of_real_v126_firmware(void **state)
{
    (void)state;
    size_t len;
    uint8_t *fw = test_read_shared("firmware/ESP32_GENERIC-SPIRAM-20250809-v1.26.0.bin", &len);
    if (!fw) {
        TEST_SKIP("MP_SHARED_DIR firmware not found");
        return;
    }
    struct ptable t;
    /* file starts at flash 0x1000: the table is at file 0x7000 */
    assert_int_equal(load_table(fw + 0x7000, &t), 3);
    /* header byte 3, high nibble: flash size code (2 = 4MB) */
    uint32_t flash_size = 0x100000u << (fw[3] >> 4);
    assert_int_equal(flash_size, 0x400000);
    struct fs_partitions parts;
    fs_partitions_from_table(&t, flash_size, &parts);
    assert_int_equal(parts.count, 4);
    const struct fs_partition *vfs = fs_partitions_find(&parts, "vfs");
    assert_non_null(vfs);
    assert_true(vfs->computed);
    assert_int_equal(vfs->offset, 0x200000);
    assert_int_equal(vfs->size, 0x200000);
    assert_int_equal(vfs->subtype, PART_SUBTYPE_DATA_FAT);
    free(fw);

    /* the v1.23 firmware has a vfs row: nothing is computed */
    fw = test_read_shared("firmware/ESP32_GENERIC-20240602-v1.23.0.bin", &len);
    assert_non_null(fw);
    assert_int_equal(load_table(fw + 0x7000, &t), 4);
    fs_partitions_from_table(&t, 0x400000, &parts);
    assert_int_equal(parts.count, 4);
    vfs = fs_partitions_find(&parts, "vfs");
    assert_non_null(vfs);
    assert_false(vfs->computed);
    free(fw);
}

static void split_path_at_last_colon_with_sticky_prefix(void **state)
{
    (void)state;
    char part[PTABLE_LABEL_MAX + 1] = "vfs";
    struct error err;
    const char *p = fs_split_path("/a", part, &err);
    assert_string_equal(p, "/a");
    assert_string_equal(part, "vfs");
    p = fs_split_path("vfs2:/b", part, &err);
    assert_string_equal(p, "/b");
    assert_string_equal(part, "vfs2");
    p = fs_split_path("/c", part, &err); /* sticky */
    assert_string_equal(p, "/c");
    assert_string_equal(part, "vfs2");
    p = fs_split_path("x:y:z", part, &err); /* last colon */
    assert_string_equal(p, "z");
    assert_string_equal(part, "x:y");
    p = fs_split_path(":root", part, &err);
    assert_string_equal(p, "root");
    assert_string_equal(part, "");
    p = fs_split_path("a_very_long_partition_name:/x", part, &err);
    assert_null(p);
    assert_int_equal(err.kind, ERROR_PARTITION);
    assert_string_equal(err.msg, "Partition 'a_very_long_partition_name' not found.");
}

static void select_partitions_for_df_and_mkfs(void **state)
{
    (void)state;
    struct ptable t;
    memset(&t, 0, sizeof t);
    add_part(&t, "nvs", PART_TYPE_DATA, PART_SUBTYPE_DATA_NVS, 0x9000, 0x6000);
    add_part(&t, "factory", PART_TYPE_APP, PART_SUBTYPE_FACTORY, 0x10000, 0x1F0000);
    add_part(&t, "vfs2", PART_TYPE_DATA, PART_SUBTYPE_DATA_LITTLEFS, 0x300000, 0x100000);
    add_part(&t, "vfs", PART_TYPE_DATA, PART_SUBTYPE_DATA_FAT, 0x200000, 0x100000);
    add_part(&t, "spiffs", PART_TYPE_DATA, PART_SUBTYPE_DATA_SPIFFS, 0x8000000, 0x1000);
    struct fs_partitions parts;
    fs_partitions_from_table(&t, 0x400000, &parts);
    const struct fs_partition *sel[PTABLE_MAX_ENTRIES + 1];
    int n;
    struct error err;
    assert_int_equal(fs_select_partitions(&parts, NULL, 0, FS_DEFAULT_FS_PARTS, sel, &n, &err),
                     0);
    assert_int_equal(n, 2);
    assert_string_equal(sel[0]->name, "vfs"); /* offset order */
    assert_string_equal(sel[1]->name, "vfs2");
    assert_int_equal(fs_select_partitions(&parts, NULL, 0, FS_DEFAULT_VFS, sel, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(sel[0]->name, "vfs");
    const char *names[] = {"nvs", "vfs2"};
    assert_int_equal(fs_select_partitions(&parts, names, 2, FS_DEFAULT_VFS, sel, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(sel[0]->name, "nvs");
    const char *bad[] = {"vfs", "nope"};
    assert_int_equal(fs_select_partitions(&parts, bad, 2, FS_DEFAULT_FS_PARTS, sel, &n, &err),
                     -1);
    assert_int_equal(err.kind, ERROR_PARTITION);
    assert_string_equal(err.msg, "Partition 'nope' not found.");
    /* a table without vfs: mkfs's default finds the computed region */
    stock_v126_table(&t, 0x800000);
    fs_partitions_from_table(&t, 0x800000, &parts);
    assert_int_equal(fs_select_partitions(&parts, NULL, 0, FS_DEFAULT_VFS, sel, &n, &err), 0);
    assert_int_equal(sel[0]->offset, 0x200000);
    assert_int_equal(sel[0]->size, 0x600000);
    assert_int_equal(fs_select_partitions(&parts, NULL, 0, FS_DEFAULT_FS_PARTS, sel, &n, &err),
                     0);
    assert_int_equal(n, 1);
    assert_string_equal(sel[0]->name, "vfs");
}

static void format_version_follows_micropython_release(void **state)
{
    (void)state;
    assert_int_equal(fs_format_version_for(NULL), FS_DISK_VERSION_2_0);
    assert_int_equal(fs_format_version_for(""), FS_DISK_VERSION_2_0);
    assert_int_equal(fs_format_version_for("b4f53a0"), FS_DISK_VERSION_2_0);
    assert_int_equal(fs_format_version_for("v1.18"), FS_DISK_VERSION_2_0);
    assert_int_equal(fs_format_version_for("v1.19.1"), FS_DISK_VERSION_2_0);
    assert_int_equal(fs_format_version_for("v1.21.0"), FS_DISK_VERSION_2_0);
    assert_int_equal(fs_format_version_for("v1.22.0-preview.42.g0123abc"), FS_DISK_VERSION_2_0);
    assert_int_equal(fs_format_version_for("v1.22.0"), FS_DISK_VERSION_2_1);
    assert_int_equal(fs_format_version_for("1.23.0"), FS_DISK_VERSION_2_1);
    assert_int_equal(fs_format_version_for("v1.24.0-preview"), FS_DISK_VERSION_2_1);
    assert_int_equal(fs_format_version_for("v1.26.0"), FS_DISK_VERSION_2_1);
    assert_int_equal(fs_format_version_for("v2.0.0"), FS_DISK_VERSION_2_1);
    assert_int_equal(fs_format_version_for("MicroPython v1.20.0 on 2023-04-26"),
                     FS_DISK_VERSION_2_0);
    assert_int_equal(fs_format_version_for("MicroPython-1.23.0-xtensa-IDFv5.0.4-with-newlib4.1.0"),
                     FS_DISK_VERSION_2_1);
    assert_int_equal(fs_format_version_for("v1"), FS_DISK_VERSION_2_0);
}

static void micropython_version_found_in_real_firmware(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        const char *version;
        uint32_t disk;
    } cases[] = {
        {"ESP32_GENERIC-20240602-v1.23.0.bin", "1.23.0", FS_DISK_VERSION_2_1},
        {"ESP32_GENERIC-SPIRAM-20250809-v1.26.0.bin", "1.26.0", FS_DISK_VERSION_2_1},
        {"ESP32_GENERIC_C6-20241129-v1.24.1.bin", "1.24.1", FS_DISK_VERSION_2_1},
        {"GENERIC_S3-20220618-v1.19.1.bin", "1.19.1", FS_DISK_VERSION_2_0},
        {"esp32-20230426-v1.20.0.bin", "1.20.0", FS_DISK_VERSION_2_0},
        {"esp32spiram-20220117-v1.18.bin", "1.18.0", FS_DISK_VERSION_2_0},
        {"lvgl_micropy_ESP32_GENERIC.bin", "1.24.0-preview", FS_DISK_VERSION_2_1},
        {"keenanjohnson__ota-micropython-esp32-example/micropython.bin", "1.25.0-preview",
         FS_DISK_VERSION_2_1},
    };
    int found = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "firmware/%s", cases[i].file);
        size_t len;
        uint8_t *fw = test_read_shared(rel, &len);
        if (!fw)
            continue;
        char v[32];
        assert_int_equal(fs_find_micropython_version(fw, len, v, sizeof v), 1);
        assert_string_equal(v, cases[i].version);
        assert_int_equal(fs_format_version_for(v), cases[i].disk);
        free(fw);
        found++;
    }
    if (!found) {
        TEST_SKIP("MP_SHARED_DIR firmware not found");
    }
    /* none in bytes without the strings; the banner when there is no sysname */
    char v[32];
    static const uint8_t none[] = "MicroPython-x MicroPython v.1";
    assert_int_equal(fs_find_micropython_version(none, sizeof none, v, sizeof v), 0);
    static const uint8_t banner[] = "\xff\x00MicroPython v1.21.0 on 2023-10-05";
    assert_int_equal(fs_find_micropython_version(banner, sizeof banner, v, sizeof v), 1);
    assert_string_equal(v, "1.21.0");
    /* a version cut off by the end of the data is not taken */
    static const uint8_t cut[] = {'M', 'i', 'c', 'r', 'o', 'P', 'y', 't', 'h', 'o', 'n', '-', '1'};
    assert_int_equal(fs_find_micropython_version(cut, sizeof cut, v, sizeof v), 0);
}

static void percent_rounds_half_to_even(void **state)
{
    (void)state;
    assert_int_equal(fs_percent_half_even(7, 512), 1);    /* 1.367 */
    assert_int_equal(fs_percent_half_even(2, 512), 0);    /* 0.39 */
    assert_int_equal(fs_percent_half_even(1, 8), 12);     /* 12.5 -> 12 */
    assert_int_equal(fs_percent_half_even(3, 8), 38);     /* 37.5 -> 38 */
    assert_int_equal(fs_percent_half_even(1, 200), 0);    /* 0.5 -> 0 */
    assert_int_equal(fs_percent_half_even(3, 200), 2);    /* 1.5 -> 2 */
    assert_int_equal(fs_percent_half_even(512, 512), 100);
    assert_int_equal(fs_percent_half_even(1, 0), 0);
}

static void paths_normalise_like_pathlib(void **state)
{
    (void)state;
    char out[256];
    const char *cases[][2] = {
        {"", "."},        {".", "."},           {"/", "/"},         {"//", "/"},
        {"a/", "a"},      {"./a/./b//", "a/b"}, {"/./a", "/a"},     {"a/../b", "a/../b"},
        {"ota", "ota"},   {"/ota/x.mpy", "/ota/x.mpy"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fs_path_norm(cases[i][0], out, sizeof out);
        assert_string_equal(out, cases[i][1]);
    }
    fs_path_join(".", "boot.py", out, sizeof out);
    assert_string_equal(out, "boot.py");
    fs_path_join("/", "boot.py", out, sizeof out);
    assert_string_equal(out, "/boot.py");
    fs_path_join("g1/", "ota", out, sizeof out);
    assert_string_equal(out, "g1/ota");
    fs_path_join("", "x", out, sizeof out);
    assert_string_equal(out, "x");
    fs_path_join("a", "/b", out, sizeof out);
    assert_string_equal(out, "/b");
    /* truncation keeps a terminated string */
    fs_path_norm("abcdefgh", out, 4);
    assert_string_equal(out, "abc");
}

static void unsafe_names_are_recognised(void **state)
{
    (void)state;
    assert_true(fs_name_is_safe("boot.py", 7));
    assert_true(fs_name_is_safe(".hidden", 7));
    assert_true(fs_name_is_safe("...", 3));
    assert_false(fs_name_is_safe("", 0));
    assert_false(fs_name_is_safe(".", 1));
    assert_false(fs_name_is_safe("..", 2));
    assert_false(fs_name_is_safe("a/b", 3));
    assert_false(fs_name_is_safe("/etc", 4));
    assert_false(fs_name_is_safe("a\0b", 3));
}

static void boot_py_is_micropythons(void **state)
{
    (void)state;
    assert_int_equal(strlen(FS_BOOT_PY), 139);
    assert_memory_equal(FS_BOOT_PY, "# This file is executed on every boot", 37);
    assert_string_equal(FS_BOOT_PY + strlen(FS_BOOT_PY) - 17, "#webrepl.start()\n");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cache_reads_each_block_once),
        cmocka_unit_test(cache_flushes_runs_with_last_block_last),
        cmocka_unit_test(cache_reads_past_file_end_as_erased_and_grows_it),
        cmocka_unit_test(cache_keeps_dirty_blocks_when_a_write_fails),
        cmocka_unit_test(cache_of_a_mapped_file_copies_only_changed_blocks),
        cmocka_unit_test(vfs_region_is_end_of_last_partition_to_end_of_flash),
        cmocka_unit_test(split_path_at_last_colon_with_sticky_prefix),
        cmocka_unit_test(select_partitions_for_df_and_mkfs),
        cmocka_unit_test(format_version_follows_micropython_release),
        cmocka_unit_test(percent_rounds_half_to_even),
        cmocka_unit_test(paths_normalise_like_pathlib),
        cmocka_unit_test(unsafe_names_are_recognised),
        cmocka_unit_test(boot_py_is_micropythons),
    };
    const struct CMUnitTest shared_tests[] = {
        cmocka_unit_test(vfs_region_of_real_v126_firmware),
        cmocka_unit_test(micropython_version_found_in_real_firmware),
    };
    return test_main(argc, argv, tests, sizeof tests / sizeof tests[0], shared_tests,
                     sizeof shared_tests / sizeof shared_tests[0]);
}
