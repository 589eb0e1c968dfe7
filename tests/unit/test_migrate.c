/* Unit tests of carrying data into a new partition table (src/migrate) and of the filesystem
 * copies under it: what each partition becomes, trees and attributes copied exactly, NVS pages,
 * refusals before any write, the write order, and a power cut after every sector of the
 * writes (the old table then still points at a whole filesystem). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fs/fs.h"
#include "fs/fs_int.h"
#include "migrate/migrate.h"

#define FLASH 0x100000u
#define SECTOR 0x1000u

/* ---------------------------------------------------------------- a board-like flash */

/* An in-memory flash of fixed size (like a board's) that can be cut: after `budget` sectors
 * of writes or erases the next sector is left half programmed and every later call fails. */
struct cut_flash {
    struct flash_image img;
    struct flash_ops ops;
    const struct flash_ops *inner;
    long budget; /* -1: never cut */
    long done;
    uint32_t order[4096]; /* sectors in the order they were written */
    uint32_t norder;
};

static int cut_apply(struct flash *f, uint32_t addr, const void *buf, uint32_t len,
                     struct error *err)
{
    struct cut_flash *c = (struct cut_flash *)f;
    const uint8_t *p = buf;
    for (uint32_t at = addr; at < addr + len;) {
        uint32_t next = (at / SECTOR + 1) * SECTOR;
        if (next > addr + len)
            next = addr + len;
        uint32_t n = next - at;
        if (c->budget >= 0 && c->done >= c->budget) {
            /* the cut: the sector is erased and half programmed */
            uint8_t half[SECTOR];
            memset(half, 0xFF, sizeof half);
            if (p)
                memcpy(half, p + (at - addr), n / 2);
            c->inner->write(f, at, half, n, err);
            return error_setk(err, ERROR_DEVICE, "power cut at 0x%x", at);
        }
        if (c->norder < 4096)
            c->order[c->norder++] = at / SECTOR;
        if (p) {
            if (c->inner->write(f, at, p + (at - addr), n, err))
                return -1;
        } else if (c->inner->erase(f, at, n, err)) {
            return -1;
        }
        c->done++;
        at = next;
    }
    return 0;
}

static int cut_write(struct flash *f, uint32_t addr, const void *buf, uint32_t len,
                     struct error *err)
{
    return cut_apply(f, addr, buf, len, err);
}

static int cut_erase(struct flash *f, uint32_t addr, uint32_t len, struct error *err)
{
    return cut_apply(f, addr, NULL, len, err);
}

static void cut_open(struct cut_flash *c, const uint8_t *data, long budget)
{
    memset(c, 0, sizeof *c);
    struct error err;
    assert_int_equal(flash_image_open(&c->img, data, FLASH, 0, FLASH, "board", &err), 0);
    c->inner = c->img.flash.ops;
    c->ops = *c->inner;
    c->ops.write = cut_write;
    c->ops.erase = cut_erase;
    c->img.flash.ops = &c->ops;
    c->img.flash.caps = FLASH_CAP_LIVE; /* fixed size, changes are live */
    c->budget = budget;
}

/* ---------------------------------------------------------------- tables and contents */

static struct partition part(const char *name, uint8_t type, uint8_t sub, uint32_t off,
                             uint32_t size)
{
    struct partition p;
    memset(&p, 0, sizeof p);
    snprintf(p.name, sizeof p.name, "%s", name);
    p.type = type;
    p.subtype = sub;
    p.offset = off;
    p.size = size;
    return p;
}

/* nvs 0x9000+0x6000, otadata 0xf000+0x1000 (a phy-like raw partition), factory 0x10000+0x70000,
 * vfs 0x80000+0x80000 */
static struct ptable table_of(uint32_t vfs_off, uint32_t vfs_size, uint32_t nvs_size)
{
    struct ptable t;
    memset(&t, 0, sizeof t);
    t.flash_size = FLASH;
    t.parts[t.count++] = part("nvs", PART_TYPE_DATA, PART_SUBTYPE_DATA_NVS, 0x9000, nvs_size);
    t.parts[t.count++] = part("phy", PART_TYPE_DATA, PART_SUBTYPE_DATA_PHY, 0xf000, 0x1000);
    t.parts[t.count++] = part("factory", PART_TYPE_APP, PART_SUBTYPE_FACTORY, 0x10000, 0x70000);
    t.parts[t.count++] = part("vfs", PART_TYPE_DATA, PART_SUBTYPE_DATA_FAT, vfs_off, vfs_size);
    return t;
}

static struct fs_partition fspart(uint32_t off, uint32_t size)
{
    struct fs_partition p;
    memset(&p, 0, sizeof p);
    strcpy(p.name, "vfs");
    p.type = PART_TYPE_DATA;
    p.subtype = PART_SUBTYPE_DATA_FAT;
    p.offset = off;
    p.size = size;
    return p;
}

static struct fs *mount_at(struct flash *f, uint32_t off, uint32_t size, struct flash_window *w)
{
    struct fs_partition p = fspart(off, size);
    fs_window_open(w, f, &p);
    struct fs *fs;
    struct error err;
    if (fs_mount(&fs, &w->flash, &p, FS_FLUSH_NEVER, &err))
        return NULL;
    return fs;
}

/* A flash with a littlefs in vfs (files of many sizes, folders, mtimes, an attribute of
 * another type on a file and on a folder, an empty file), NVS pages 0, 2 and 3 in use and
 * data in phy. `files` scales how full the filesystem is. */
static uint8_t *make_flash(int files, uint32_t disk_version)
{
    struct flash_image img;
    struct error err;
    uint8_t *blank = malloc(FLASH);
    memset(blank, 0xFF, FLASH);
    assert_int_equal(flash_image_open(&img, blank, FLASH, 0, FLASH, "f", &err), 0);
    free(blank);
    struct fs_partition p = fspart(0x80000, 0x80000);
    struct flash_window w;
    fs_window_open(&w, &img.flash, &p);
    assert_int_equal(fs_mkfs(&w.flash, &p, disk_version, FS_FLUSH_AT_SYNC, NULL, &err), 0);
    struct fs *fs;
    assert_int_equal(fs_mount(&fs, &w.flash, &p, FS_FLUSH_AT_SYNC, &err), 0);
    assert_int_equal(fs_mkdir(fs, "/lib/deep", &err), 0);
    uint8_t *data = malloc(40000);
    for (int i = 0; i < files; i++) {
        char name[64];
        snprintf(name, sizeof name, i % 3 ? "/lib/f%d.py" : "/f%d.bin", i);
        uint32_t len = (uint32_t)(i * 997) % 12000;
        for (uint32_t k = 0; k < len; k++)
            data[k] = (uint8_t)(k * 31 + (uint32_t)i);
        assert_int_equal(fs_write_file(fs, name, data, len, &err), 0);
        uint8_t mtime[8] = {(uint8_t)i, 1, 2, 3, 4, 5, 6, 0x17};
        assert_int_equal(lfs_setattr(&fs->lfs, name, 1, mtime, sizeof mtime), 0);
    }
    free(data);
    assert_int_equal(fs_write_file(fs, "/lib/deep/empty", "", 0, &err), 0);
    assert_int_equal(lfs_setattr(&fs->lfs, "/lib/deep/empty", 0x42, "tag", 3), 0);
    assert_int_equal(lfs_setattr(&fs->lfs, "/lib/deep", 7, "dir-attr", 8), 0);
    assert_int_equal(fs_unmount(fs, &err), 0);
    uint8_t page[SECTOR];
    for (int pg = 0; pg < 6; pg++) {
        if (pg == 1 || pg >= 4)
            continue;
        memset(page, 0x10 + pg, sizeof page);
        assert_int_equal(
            flash_write(&img.flash, 0x9000 + (uint32_t)pg * SECTOR, page, SECTOR, &err), 0);
    }
    memset(page, 0x77, 100);
    assert_int_equal(flash_write(&img.flash, 0xf000, page, 100, &err), 0);
    uint32_t len;
    const uint8_t *bytes = flash_image_bytes(&img, &len);
    uint8_t *copy = malloc(FLASH);
    memcpy(copy, bytes, FLASH);
    flash_close(&img.flash);
    return copy;
}

/* The tree of the vfs at (off, size) of f equals the one in the original flash. */
static int same_tree(struct flash *f, uint32_t off, uint32_t size, const uint8_t *original)
{
    struct flash_image orig;
    struct error err;
    assert_int_equal(flash_image_open(&orig, original, FLASH, 0, FLASH, "orig", &err), 0);
    struct flash_window wa, wb;
    struct fs *a = mount_at(&orig.flash, 0x80000, 0x80000, &wa);
    struct fs *b = mount_at(f, off, size, &wb);
    assert_non_null(a);
    int same = b && fs_compare_trees(a, b, &err) == 0;
    fs_unmount(a, NULL);
    fs_unmount(b, NULL);
    flash_close(&orig.flash);
    return same;
}

static const struct migrate_options no_options = {0};

static struct migrate_item *item(struct migrate_plan *plan, const char *name)
{
    for (int i = 0; i < plan->count; i++)
        if (strcmp(plan->items[i].to.name, name) == 0)
            return &plan->items[i];
    return NULL;
}

/* ---------------------------------------------------------------- tests */

static void shrink_in_place_carries_the_tree(void **state)
{
    (void)state;
    uint8_t *orig = make_flash(12, FS_DISK_VERSION_2_1);
    struct cut_flash cf;
    cut_open(&cf, orig, -1);
    struct ptable old = table_of(0x80000, 0x80000, 0x6000),
                  new_t = table_of(0x80000, 0x40000, 0x6000);
    struct migrate_plan plan;
    struct error err;
    assert_int_equal(migrate_plan(&plan, &cf.img.flash, &old, &new_t, &no_options, NULL, &err),
                     0);
    struct migrate_item *v = item(&plan, "vfs");
    assert_int_equal(v->action, MIGRATE_CARRY_FS);
    assert_int_equal(v->tree.files, 14); /* with mkfs's boot.py and the empty file */
    assert_int_equal(v->tree.dirs, 2);
    assert_int_equal(item(&plan, "nvs")->action, MIGRATE_KEEP);
    /* nothing is written by planning */
    assert_int_equal(cf.norder, 0);
    assert_int_equal(migrate_write(&plan, &cf.img.flash, 0, NULL, &err), 0);
    migrate_free(&plan);
    assert_true(same_tree(&cf.img.flash, 0x80000, 0x40000, orig));
    /* the copy has the partition's new size and the original's version */
    struct flash_window w;
    struct fs *fs = mount_at(&cf.img.flash, 0x80000, 0x40000, &w);
    struct fs_usage u;
    assert_int_equal(fs_usage(fs, &u, &err), 0);
    assert_int_equal(u.block_count, 64);
    assert_int_equal(u.disk_version, FS_DISK_VERSION_2_1);
    fs_unmount(fs, NULL);
    flash_close(&cf.img.flash);
    free(orig);
}

static void moved_grown_and_version_2_0_kept(void **state)
{
    (void)state;
    uint8_t *orig = make_flash(8, FS_DISK_VERSION_2_0);
    struct error err;
    struct migrate_plan plan;
    /* moved down over the end of factory, and larger */
    struct cut_flash cf;
    cut_open(&cf, orig, -1);
    struct ptable old = table_of(0x80000, 0x80000, 0x6000),
                  moved = table_of(0x60000, 0xa0000, 0x6000);
    moved.parts[2].size = 0x50000;
    assert_int_equal(migrate_plan(&plan, &cf.img.flash, &old, &moved, &no_options, NULL, &err),
                     0);
    assert_int_equal(item(&plan, "vfs")->action, MIGRATE_CARRY_FS);
    assert_int_equal(migrate_write(&plan, &cf.img.flash, 0, NULL, &err), 0);
    migrate_free(&plan);
    assert_true(same_tree(&cf.img.flash, 0x60000, 0xa0000, orig));
    struct flash_window w;
    struct fs *fs = mount_at(&cf.img.flash, 0x60000, 0xa0000, &w);
    struct fs_usage u;
    assert_int_equal(fs_usage(fs, &u, &err), 0);
    assert_int_equal(u.disk_version, FS_DISK_VERSION_2_0);
    fs_unmount(fs, NULL);
    flash_close(&cf.img.flash);
    /* grown in place: the same filesystem, grown */
    cut_open(&cf, orig, -1);
    struct ptable first = table_of(0x80000, 0x40000, 0x6000);
    assert_int_equal(migrate_plan(&plan, &cf.img.flash, &old, &first, &no_options, NULL, &err),
                     0);
    assert_int_equal(migrate_write(&plan, &cf.img.flash, 0, NULL, &err), 0);
    migrate_free(&plan);
    assert_int_equal(migrate_plan(&plan, &cf.img.flash, &first, &old, &no_options, NULL, &err),
                     0);
    assert_int_equal(item(&plan, "vfs")->action, MIGRATE_GROW_FS);
    /* nothing of the grow goes before the table: the old, smaller filesystem stays until the
     * new table is there */
    long before = cf.done;
    assert_int_equal(migrate_write(&plan, &cf.img.flash, 0, NULL, &err), 0);
    assert_int_equal(cf.done, before);
    assert_int_equal(migrate_write(&plan, &cf.img.flash, 1, NULL, &err), 0);
    migrate_free(&plan);
    assert_true(same_tree(&cf.img.flash, 0x80000, 0x80000, orig));
    fs = mount_at(&cf.img.flash, 0x80000, 0x80000, &w);
    assert_int_equal(fs_usage(fs, &u, &err), 0);
    assert_int_equal(u.block_count, 128);
    fs_unmount(fs, NULL);
    flash_close(&cf.img.flash);
    free(orig);
}

static void refusals_change_nothing(void **state)
{
    (void)state;
    uint8_t *orig = make_flash(40, FS_DISK_VERSION_2_1);
    struct cut_flash cf;
    cut_open(&cf, orig, -1);
    struct error err;
    struct migrate_plan plan;
    struct ptable old = table_of(0x80000, 0x80000, 0x6000);
    /* the files do not fit */
    struct ptable tiny = table_of(0x80000, 0x10000, 0x6000);
    assert_int_equal(migrate_plan(&plan, &cf.img.flash, &old, &tiny, &no_options, NULL, &err),
                     -1);
    assert_non_null(strstr(err.msg, "The files in 'vfs' (42 files, 2 folders"));
    assert_non_null(strstr(err.msg, "do not fit its new size (0x10000 bytes, 16 blocks)"));
    /* NVS: three pages in use need four */
    struct ptable nvs3 = table_of(0x80000, 0x80000, 0x3000);
    assert_int_equal(migrate_plan(&plan, &cf.img.flash, &old, &nvs3, &no_options, NULL, &err),
                     -1);
    assert_non_null(strstr(err.msg, "holds 3 NVS pages of data"));
    /* files leaving the table */
    struct ptable gone = old;
    gone.count = 3;
    assert_int_equal(migrate_plan(&plan, &cf.img.flash, &old, &gone, &no_options, NULL, &err),
                     -1);
    assert_non_null(strstr(err.msg, "Partition 'vfs' holds a littlefs filesystem with 42 files"));
    /* a littlefs that does not mount: the superblock blocks' checksums broken, the magic kept */
    uint8_t *broken = malloc(FLASH);
    memcpy(broken, orig, FLASH);
    broken[0x80000 + 20] ^= 0xFF;
    broken[0x81000 + 20] ^= 0xFF;
    struct cut_flash bf;
    cut_open(&bf, broken, -1);
    assert_int_equal(migrate_plan(&plan, &bf.img.flash, &old, &tiny, &no_options, NULL, &err),
                     -1);
    assert_non_null(strstr(err.msg, "holds a littlefs filesystem that does not mount"));
    flash_close(&bf.img.flash);
    free(broken);
    /* nothing was written by any of them */
    assert_int_equal(cf.norder, 0);
    assert_memory_equal(cf.img.data, orig, FLASH);
    /* dropping is explicit */
    const char *drop[] = {"vfs"};
    struct migrate_options o = {.drop = drop, .drop_count = 1};
    assert_int_equal(migrate_plan(&plan, &cf.img.flash, &old, &tiny, &o, NULL, &err), 0);
    assert_int_equal(item(&plan, "vfs")->action, MIGRATE_ERASE);
    assert_string_equal(item(&plan, "vfs")->why, "dropped");
    migrate_free(&plan);
    assert_int_equal(migrate_plan(&plan, &cf.img.flash, &old, &gone, &o, NULL, &err), 0);
    migrate_free(&plan);
    flash_close(&cf.img.flash);
    free(orig);
}

static void nvs_pages_and_raw_data_move(void **state)
{
    (void)state;
    uint8_t *orig = make_flash(4, FS_DISK_VERSION_2_1);
    struct cut_flash cf;
    cut_open(&cf, orig, -1);
    struct error err;
    struct migrate_plan plan;
    struct ptable old = table_of(0x80000, 0x80000, 0x6000);
    /* NVS shrinks to 4 pages: the three in use, packed, and a free one; phy moves with it */
    struct ptable t = table_of(0x80000, 0x80000, 0x4000);
    t.parts[1].offset = 0xd000;
    t.parts[1].size = 0x3000;
    assert_int_equal(migrate_plan(&plan, &cf.img.flash, &old, &t, &no_options, NULL, &err), 0);
    assert_int_equal(item(&plan, "nvs")->action, MIGRATE_CARRY_NVS);
    assert_int_equal(item(&plan, "nvs")->pages, 3);
    assert_int_equal(item(&plan, "phy")->action, MIGRATE_CARRY_RAW);
    assert_int_equal(item(&plan, "vfs")->action, MIGRATE_KEEP);
    assert_int_equal(migrate_write(&plan, &cf.img.flash, 0, NULL, &err), 0);
    migrate_free(&plan);
    const uint8_t *d = cf.img.data;
    assert_memory_equal(d + 0x9000, orig + 0x9000, SECTOR); /* page 0 */
    assert_memory_equal(d + 0xa000, orig + 0xb000, SECTOR); /* page 2 */
    assert_memory_equal(d + 0xb000, orig + 0xc000, SECTOR); /* page 3 */
    for (uint32_t i = 0; i < SECTOR; i++)
        assert_int_equal(d[0xc000 + i], 0xFF);              /* the free page */
    assert_memory_equal(d + 0xd000, orig + 0xf000, SECTOR); /* phy, moved */
    for (uint32_t i = SECTOR; i < 0x3000; i++)
        assert_int_equal(d[0xd000 + i], 0xFF); /* and the rest erased */
    flash_close(&cf.img.flash);
    free(orig);
}

static void backup_image_holds_the_old_tree(void **state)
{
    (void)state;
    uint8_t *orig = make_flash(12, FS_DISK_VERSION_2_1);
    struct cut_flash cf;
    cut_open(&cf, orig, -1);
    struct error err;
    struct migrate_plan plan;
    struct ptable old = table_of(0x80000, 0x80000, 0x6000),
                  t = table_of(0x80000, 0x40000, 0x6000);
    assert_int_equal(migrate_plan(&plan, &cf.img.flash, &old, &t, &no_options, NULL, &err), 0);
    uint8_t *image;
    uint32_t len;
    assert_int_equal(migrate_backup_image(&plan, &cf.img.flash, 0x1000, &image, &len, &err), 0);
    assert_true(len > 0x80000 && len <= FLASH);
    struct flash_image bi;
    assert_int_equal(flash_image_open(&bi, image, len, 0, len, "backup", &err), 0);
    free(image);
    assert_true(same_tree(&bi.flash, 0x80000, 0x80000, orig));
    flash_close(&bi.flash);
    migrate_free(&plan);
    flash_close(&cf.img.flash);
    free(orig);
}

/* Power cuts after every sector of the writes: with the old table still in place, the
 * partition at its old place holds a whole filesystem with the original tree (the old one, or
 * the new one once its superblock pair is written). The new superblock pair comes last. */
static void power_cut_after_every_sector_leaves_a_whole_tree(void **state)
{
    (void)state;
    uint8_t *orig = make_flash(6, FS_DISK_VERSION_2_1);
    struct ptable old = table_of(0x80000, 0x80000, 0x6000),
                  t = table_of(0x80000, 0x60000, 0x6000);
    struct error err;
    struct migrate_plan plan;
    struct cut_flash cf;
    cut_open(&cf, orig, -1);
    assert_int_equal(migrate_plan(&plan, &cf.img.flash, &old, &t, &no_options, NULL, &err), 0);
    assert_int_equal(plan.last_sectors, 0); /* old and new fit side by side */
    assert_int_equal(migrate_write(&plan, &cf.img.flash, 0, NULL, &err), 0);
    migrate_free(&plan);
    long total = cf.done;
    /* the superblock pair (sectors 0x80 and 0x81) is written last */
    assert_true(total >= 2);
    assert_true(cf.order[total - 1] == 0x80 || cf.order[total - 1] == 0x81);
    assert_true(cf.order[total - 2] == 0x80 || cf.order[total - 2] == 0x81);
    flash_close(&cf.img.flash);
    /* one plan (it only reads), written onto a fresh copy of the flash for every cut */
    cut_open(&cf, orig, -1);
    assert_int_equal(migrate_plan(&plan, &cf.img.flash, &old, &t, &no_options, NULL, &err), 0);
    flash_close(&cf.img.flash);
    for (long cut = 0; cut <= total; cut++) {
        cut_open(&cf, orig, cut);
        int rc = migrate_write(&plan, &cf.img.flash, 0, NULL, &err);
        assert_int_equal(rc, cut < total ? -1 : 0);
        /* the old table: the old place and size */
        if (!same_tree(&cf.img.flash, 0x80000, 0x80000, orig))
            fail_msg("a cut after %ld of %ld sectors lost files", cut, total);
        flash_close(&cf.img.flash);
    }
    migrate_free(&plan);
    free(orig);
}

/* A filesystem grown in place: after the new table, its superblock commit; a cut anywhere in
 * it leaves the new table over a whole filesystem (the old, smaller one or the grown one). */
static void power_cut_while_growing_leaves_a_whole_tree(void **state)
{
    (void)state;
    uint8_t *orig = make_flash(10, FS_DISK_VERSION_2_1);
    struct ptable old = table_of(0x80000, 0x80000, 0x6000),
                  first = table_of(0x80000, 0x40000, 0x6000);
    struct error err;
    struct migrate_plan plan;
    struct cut_flash cf;
    cut_open(&cf, orig, -1);
    assert_int_equal(migrate_plan(&plan, &cf.img.flash, &old, &first, &no_options, NULL, &err),
                     0);
    assert_int_equal(migrate_write(&plan, &cf.img.flash, 0, NULL, &err), 0);
    migrate_free(&plan);
    uint32_t len;
    const uint8_t *bytes = flash_image_bytes(&cf.img, &len);
    uint8_t *small = malloc(FLASH);
    memcpy(small, bytes, FLASH);
    flash_close(&cf.img.flash);
    cut_open(&cf, small, -1);
    assert_int_equal(migrate_plan(&plan, &cf.img.flash, &first, &old, &no_options, NULL, &err),
                     0);
    assert_int_equal(migrate_write(&plan, &cf.img.flash, 1, NULL, &err), 0);
    long total = cf.done;
    flash_close(&cf.img.flash);
    assert_true(total >= 1);
    for (long cut = 0; cut <= total; cut++) {
        cut_open(&cf, small, cut);
        assert_int_equal(migrate_write(&plan, &cf.img.flash, 1, NULL, &err),
                         cut < total ? -1 : 0);
        if (!same_tree(&cf.img.flash, 0x80000, 0x80000, orig))
            fail_msg("a cut after %ld sectors of the grow lost files", cut);
        flash_close(&cf.img.flash);
    }
    migrate_free(&plan);
    free(small);
    free(orig);
}

/* When the copy must use blocks of the old files, a failed write is undone by writing the old
 * data back. */
static void restore_after_a_failure_gives_the_old_tree_back(void **state)
{
    (void)state;
    uint8_t *orig = make_flash(16, FS_DISK_VERSION_2_1);
    struct ptable old = table_of(0x80000, 0x80000, 0x6000), t;
    struct error err;
    struct migrate_plan plan;
    struct cut_flash cf;
    cut_open(&cf, orig, -1);
    /* the smallest size the files fit in: there they cannot lie beside the old ones (the
     * search starts at the blocks the old filesystem uses) */
    t = table_of(0x80000, 0x70000, 0x6000);
    assert_int_equal(migrate_plan(&plan, &cf.img.flash, &old, &t, &no_options, NULL, &err), 0);
    uint32_t start = item(&plan, "vfs")->blocks_used * FS_BLOCK_SIZE & ~0x3FFFu;
    migrate_free(&plan);
    int rc = -1;
    for (uint32_t size = start; rc && size < 0x80000; size += 0x4000) {
        t = table_of(0x80000, size, 0x6000);
        rc = migrate_plan(&plan, &cf.img.flash, &old, &t, &no_options, NULL, &err);
    }
    assert_int_equal(rc, 0);
    assert_true(plan.last_sectors > 0);
    long total = plan.last_sectors;
    migrate_free(&plan);
    flash_close(&cf.img.flash);
    /* cut in the middle of the sectors over the old files */
    cut_open(&cf, orig, -1);
    assert_int_equal(migrate_plan(&plan, &cf.img.flash, &old, &t, &no_options, NULL, &err), 0);
    long before = 0;
    for (int i = 0; i < plan.writes.n; i++)
        before += (plan.writes.v[i].len + SECTOR - 1) / SECTOR;
    cf.budget = before - 2 - total / 2;
    assert_int_equal(migrate_write(&plan, &cf.img.flash, 0, NULL, &err), -1);
    assert_false(same_tree(&cf.img.flash, 0x80000, 0x80000, orig));
    cf.budget = -1;
    assert_int_equal(migrate_restore(&plan, &cf.img.flash, &err), 0);
    assert_true(same_tree(&cf.img.flash, 0x80000, 0x80000, orig));
    migrate_free(&plan);
    flash_close(&cf.img.flash);
    free(orig);
}

/* The comparison the copies are checked with sees every kind of difference. */
static void tree_comparison_sees_attributes_and_folders(void **state)
{
    (void)state;
    uint8_t *orig = make_flash(3, FS_DISK_VERSION_2_1);
    struct flash_image a, b;
    struct error err;
    assert_int_equal(flash_image_open(&a, orig, FLASH, 0, FLASH, "a", &err), 0);
    for (int change = 0; change < 4; change++) {
        assert_int_equal(flash_image_open(&b, orig, FLASH, 0, FLASH, "b", &err), 0);
        struct flash_window wa, wb;
        struct fs *fa = mount_at(&a.flash, 0x80000, 0x80000, &wa);
        struct fs *fb = mount_at(&b.flash, 0x80000, 0x80000, &wb);
        assert_int_equal(fs_compare_trees(fa, fb, &err), 0);
        switch (change) {
        case 0: assert_int_equal(lfs_setattr(&fb->lfs, "/f0.bin", 1, "12345678", 8), 0); break;
        case 1: assert_int_equal(lfs_removeattr(&fb->lfs, "/lib/deep", 7), 0); break;
        case 2: assert_int_equal(lfs_mkdir(&fb->lfs, "/lib/new"), 0); break;
        case 3: assert_int_equal(fs_write_file(fb, "/lib/deep/empty", "x", 1, &err), 0); break;
        }
        assert_int_equal(fs_compare_trees(fa, fb, &err), -1);
        fs_unmount(fa, NULL);
        fs_unmount(fb, NULL);
        flash_close(&b.flash);
    }
    flash_close(&a.flash);
    free(orig);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tree_comparison_sees_attributes_and_folders),
        cmocka_unit_test(shrink_in_place_carries_the_tree),
        cmocka_unit_test(moved_grown_and_version_2_0_kept),
        cmocka_unit_test(refusals_change_nothing),
        cmocka_unit_test(nvs_pages_and_raw_data_move),
        cmocka_unit_test(backup_image_holds_the_old_tree),
        cmocka_unit_test(power_cut_after_every_sector_leaves_a_whole_tree),
        cmocka_unit_test(power_cut_while_growing_leaves_a_whole_tree),
        cmocka_unit_test(restore_after_a_failure_gives_the_old_tree_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
