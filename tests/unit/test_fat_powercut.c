/* Power cuts during FAT changes: each change is run once to count its device writes, then again
 * cut off before each of them in turn. After every cut the volume must mount, every file the
 * change did not touch must read back unchanged, the file it did touch must be whole (old or
 * new), no entry may point at a cluster the FAT calls free or share clusters with another, and
 * chain lengths must match sizes. The only leftover a cut may leave is clusters the FAT holds
 * that no entry uses (which fsck.fat would free). A second sweep tears the cut-off write in half:
 * the volume must still mount and be walked without a crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fat/fat.h"
#include "fat/fat_int.h"
#include "flash/flash.h"
#include "fs/fs.h"

struct cutdev {
    uint8_t *data;
    uint32_t size;
    long writes; /* writes done so far */
    long cut_at; /* the write that does not happen (-1: none) */
    int tear;    /* the cut write lands half */
};

static int cd_read(void *ctx, uint32_t off, void *buf, uint32_t len)
{
    struct cutdev *d = ctx;
    if (off > d->size || len > d->size - off)
        return FAT_ERR_IO;
    memcpy(buf, d->data + off, len);
    return 0;
}

static int cd_write(void *ctx, uint32_t off, const void *buf, uint32_t len)
{
    struct cutdev *d = ctx;
    if (off > d->size || len > d->size - off)
        return FAT_ERR_IO;
    if (d->cut_at >= 0 && d->writes >= d->cut_at) {
        if (d->writes == d->cut_at && d->tear)
            memcpy(d->data + off, buf, len / 2);
        d->writes++;
        return FAT_ERR_IO; /* the power is gone: nothing more reaches the device */
    }
    memcpy(d->data + off, buf, len);
    d->writes++;
    return 0;
}

static struct fat *mount_dev(struct cutdev *d)
{
    struct fat_dev dev = {d, cd_read, cd_write, NULL, d->size};
    struct fat *fs = NULL;
    int rc = fat_mount(&fs, &dev);
    if (rc)
        fail_msg("mount after a cut: %d", rc);
    return fs;
}

static uint8_t *pattern(uint32_t len, uint32_t seed)
{
    uint8_t *p = malloc(len + 1);
    for (uint32_t i = 0; i < len; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (uint8_t)(seed >> 16);
    }
    return p;
}

/* Contents of a file, or NULL when it is missing (*len set). */
static uint8_t *read_file(struct fat *fs, const char *path, uint32_t *len)
{
    struct fat_file f;
    if (fat_file_open(fs, path, &f) == FAT_ERR_NOENT)
        return NULL;
    assert_int_equal(fat_file_open(fs, path, &f), 0);
    uint8_t *buf = malloc(f.size + 1);
    int n = f.size ? fat_file_read(fs, &f, buf, f.size) : 0;
    assert_int_equal(n, (int)f.size);
    *len = f.size;
    return buf;
}

static int same(struct fat *fs, const char *path, const uint8_t *want, uint32_t len)
{
    uint32_t got;
    uint8_t *buf = read_file(fs, path, &got);
    int ok = buf && got == len && memcmp(buf, want, len) == 0;
    free(buf);
    return ok;
}

/* ---------------------------------------------------------------- the structure check */

struct check {
    struct fat *fs;
    uint8_t *used;
    int problems;   /* entries into free clusters, sizes that do not match chains */
    int crosslinks; /* clusters used twice */
};

static void check_dir(struct check *c, const char *path, int depth);

static int check_entry(void *ctx, const struct fat_info *info)
{
    struct check *c = ctx;
    struct fat *fs = c->fs;
    uint32_t *v, n;
    int rc = fat_chain(fs, info->first_cluster, &v, &n);
    if (rc) {
        c->problems++; /* a free or out-of-range link: an entry points at free clusters */
        return 0;
    }
    if (!info->is_dir && n != (uint32_t)(((uint64_t)info->size + fs->cs - 1) / fs->cs))
        c->problems++;
    for (uint32_t i = 0; i < n; i++) {
        if (c->used[v[i]])
            c->crosslinks++;
        c->used[v[i]] = 1;
    }
    free(v);
    return 0;
}

struct walk_ctx {
    struct check *c;
    const char *path;
    int depth;
};

static int walk_entry(void *ctx, const struct fat_info *info)
{
    struct walk_ctx *w = ctx;
    check_entry(w->c, info);
    if (info->is_dir && w->depth < 8) {
        char sub[600];
        snprintf(sub, sizeof sub, "%s/%s", w->path, info->name);
        check_dir(w->c, sub, w->depth + 1);
    } else if (!info->is_dir) {
        char p[600];
        uint32_t len;
        snprintf(p, sizeof p, "%s/%s", w->path, info->name);
        uint8_t *b = read_file(w->c->fs, p, &len);
        free(b);
    }
    return 0;
}

static void check_dir(struct check *c, const char *path, int depth)
{
    struct walk_ctx w = {c, path, depth};
    int rc = fat_dir_list(c->fs, path[0] ? path : "/", walk_entry, &w);
    if (rc)
        c->problems++;
}

/* Problems found (entries into free clusters, sizes); *crosslinks: clusters used twice; *lost:
 * clusters the FAT holds that nothing uses. */
static int check_structure(struct fat *fs, uint32_t *lost, int *crosslinks)
{
    struct check c = {fs, calloc(fs->nclusters + 2, 1), 0, 0};
    check_dir(&c, "", 0);
    *lost = 0;
    for (uint32_t k = 2; k < fs->nclusters + 2; k++)
        if (fat_get(fs, k) != 0 && !c.used[k])
            (*lost)++;
    free(c.used);
    *crosslinks = c.crosslinks;
    return c.problems;
}

/* ---------------------------------------------------------------- the changes */

enum op { OP_CREATE, OP_REPLACE, OP_MKDIR, OP_REMOVE, OP_RENAME, OP_COUNT };
static const char *const op_names[] = {"create", "replace", "mkdir", "remove", "rename"};

#define BIG 5000
static uint8_t *old_big, *new_big, *small;

static void build_base(struct cutdev *d, uint32_t ss)
{
    struct fat_dev dev = {d, cd_read, cd_write, NULL, d->size};
    struct fat_mkfs_opts o = {ss, 1706933106};
    d->cut_at = -1;
    assert_int_equal(fat_mkfs(&dev, &o), 0);
    struct fat *fs = mount_dev(d);
    assert_int_equal(fat_write_file(fs, "/boot.py", small, 139, 1706933106), 0);
    assert_int_equal(fat_write_file(fs, "/keep.bin", old_big, BIG, 1706933106), 0);
    assert_int_equal(fat_write_file(fs, "/gone.txt", small, 300, 1706933106), 0);
    assert_int_equal(fat_mkdir(fs, "/d", 1706933106), 0);
    assert_int_equal(fat_mkdir(fs, "/d/sub", 1706933106), 0);
    assert_int_equal(fat_write_file(fs, "/d/sub/inner file.txt", small + 1, 200, 1706933106), 0);
    /* fill /d so that the next long name needs another cluster */
    uint32_t slots = 2 + 2 * 1 + 0; /* ".", "..", "sub" (LFN-free) */
    for (int i = 0; slots + 3 <= ss / 32; i++) {
        char p[64];
        snprintf(p, sizeof p, "/d/f%02d with long name", i);
        assert_int_equal(fat_write_file(fs, p, small, 10, 1706933106), 0);
        slots += 3; /* two long-name parts and the 8.3 entry */
    }
    fat_unmount(fs);
}

static int run_op(struct fat *fs, enum op op)
{
    switch (op) {
    case OP_CREATE:
        return fat_write_file(fs, "/d/a new file with a long name.bin", new_big, BIG, 1);
    case OP_REPLACE: return fat_write_file(fs, "/keep.bin", new_big, BIG, 1706999999);
    case OP_MKDIR: return fat_mkdir(fs, "/newdir", 1706999999);
    case OP_REMOVE: return fat_remove(fs, "/gone.txt");
    case OP_RENAME: return fat_rename(fs, "/d/sub", "/moved");
    default: return FAT_ERR_INVAL;
    }
}

/* After a clean cut: the untouched files intact, the touched one whole. */
static void check_outcome(struct fat *fs, enum op op, long cut)
{
    assert_true(same(fs, "/boot.py", small, 139));
    if (op != OP_REPLACE)
        assert_true(same(fs, "/keep.bin", old_big, BIG));
    else if (!same(fs, "/keep.bin", old_big, BIG) && !same(fs, "/keep.bin", new_big, BIG))
        fail_msg("replace cut at write %ld: /keep.bin is neither old nor new", cut);
    uint32_t len;
    uint8_t *b;
    switch (op) {
    case OP_CREATE:
        b = read_file(fs, "/d/a new file with a long name.bin", &len);
        if (b && (len != BIG || memcmp(b, new_big, BIG)))
            fail_msg("create cut at write %ld: the new file is there but not whole", cut);
        free(b);
        break;
    case OP_REMOVE:
        b = read_file(fs, "/gone.txt", &len);
        if (b && (len != 300 || memcmp(b, small, 300)))
            fail_msg("remove cut at write %ld: the file is there but damaged", cut);
        free(b);
        break;
    case OP_MKDIR: {
        struct fat_info info;
        int rc = fat_stat(fs, "/newdir", &info);
        assert_true(rc == FAT_ERR_NOENT || (rc == 0 && info.is_dir));
        break;
    }
    case OP_RENAME: {
        int at_old = same(fs, "/d/sub/inner file.txt", small + 1, 200);
        int at_new = same(fs, "/moved/inner file.txt", small + 1, 200);
        if (!at_old && !at_new)
            fail_msg("rename cut at write %ld: the directory is lost", cut);
        break;
    }
    default: break;
    }
}

static void sweep(uint32_t ss)
{
    const uint32_t size = 256u << 10;
    uint8_t *base = malloc(size);
    memset(base, 0xFF, size);
    struct cutdev d = {base, size, 0, -1, 0};
    build_base(&d, ss);
    struct cutdev w = {malloc(size), size, 0, -1, 0};
    for (int op = 0; op < OP_COUNT; op++) {
        memcpy(w.data, base, size);
        w.cut_at = -1;
        w.writes = 0;
        struct fat *fs = mount_dev(&w);
        assert_int_equal(run_op(fs, (enum op)op), 0);
        fat_unmount(fs);
        long total = w.writes;
        uint32_t lost;
        int cross;
        fs = mount_dev(&w);
        assert_int_equal(check_structure(fs, &lost, &cross), 0);
        assert_int_equal(lost, 0);
        assert_int_equal(cross, 0);
        fat_unmount(fs);
        int leaking = 0, doubled = 0;
        for (int tear = 0; tear < 2; tear++)
            for (long cut = 0; cut <= total; cut++) {
                memcpy(w.data, base, size);
                w.writes = 0;
                w.cut_at = cut;
                w.tear = tear;
                fs = mount_dev(&w);
                int rc = run_op(fs, (enum op)op);
                assert_true(cut == total ? rc == 0 : rc != 0);
                fat_unmount(fs);
                w.cut_at = -1;
                fs = mount_dev(&w);
                int problems = check_structure(fs, &lost, &cross);
                if (!tear) {
                    if (problems)
                        fail_msg("%s (%u-byte sectors) cut at write %ld of %ld: %d problems",
                                 op_names[op], ss, cut, total, problems);
                    /* a rename writes the new entry before it removes the old one: for one
                     * cut both name the directory, which is not lost */
                    if (cross && op != OP_RENAME)
                        fail_msg("%s (%u-byte sectors) cut at write %ld: cross-linked",
                                 op_names[op], ss, cut);
                    check_outcome(fs, (enum op)op, cut);
                    leaking += lost != 0;
                    doubled += cross != 0;
                }
                fat_unmount(fs);
            }
        print_message("%s, %u-byte sectors: %ld writes, %d cut points leave unused clusters "
                      "allocated, %d two entries for one directory\n",
                      op_names[op], ss, total, leaking, doubled);
    }
    free(w.data);
    free(base);
}

static void test_powercut_4096(void **state)
{
    (void)state;
    sweep(4096);
}

static void test_powercut_512(void **state)
{
    (void)state;
    sweep(512);
}

/* ---------------------------------------------------------------- through the --fs layer */

/* The same through the command layer on a flash (FS_FLUSH_AT_SYNC): the block cache must keep
 * the engine's order. A flash write (a run of 4096-byte blocks) is cut off whole. */
struct cut_flash {
    struct flash_image img;
    struct flash_ops ops;
    const struct flash_ops *inner;
    long writes, cut_at;
};

static int cut_write(struct flash *f, uint32_t addr, const void *buf, uint32_t len,
                     struct error *err)
{
    struct cut_flash *c = (struct cut_flash *)f;
    if (c->writes++ < c->cut_at)
        return c->inner->write(f, addr, buf, len, err);
    return error_setk(err, ERROR_DEVICE, "power cut");
}

static int fs_op(struct fs *fs, int op, struct error *err)
{
    switch (op) {
    case 0: return fs_write_file(fs, "/keep.bin", new_big, BIG, err);
    case 1: return fs_write_file(fs, "/d/a new file with a long name.bin", new_big, BIG, err);
    case 2: return fs_mkdir(fs, "/x/y/z", err);
    case 3: return fs_rename(fs, "/d/sub", "/moved", err);
    default: return fs_rm(fs, "/d", err); /* a whole tree: one change per entry */
    }
}

static void test_powercut_fs_layer(void **state)
{
    (void)state;
    const uint32_t size = 256u << 10;
    uint8_t *base = malloc(size);
    memset(base, 0xFF, size);
    struct cutdev d = {base, size, 0, -1, 0};
    build_base(&d, 4096);
    struct fs_partition part = {.name = "vfs", .type = 1, .subtype = 0x81, .size = size};
    static const char *const names[] = {"replace", "create", "mkdir -p", "rename", "rm tree"};
    for (int op = 0; op < 5; op++) {
        long total = -1;
        int leaking = 0;
        for (long cut = 0; total < 0 || cut <= total; cut++) {
            struct cut_flash c;
            struct error err;
            assert_int_equal(flash_image_open(&c.img, base, size, 0, size, "cut", &err), 0);
            c.inner = c.img.flash.ops;
            c.ops = *c.inner;
            c.ops.write = cut_write;
            c.img.flash.ops = &c.ops;
            c.writes = 0;
            c.cut_at = total < 0 ? 1L << 30 : cut;
            struct fs *fs;
            assert_int_equal(fs_mount(&fs, &c.img.flash, &part, FS_FLUSH_AT_SYNC, &err), 0);
            int rc = fs_op(fs, op, &err);
            if (fs_unmount(fs, rc ? NULL : &err))
                rc = -1;
            if (total < 0) {
                assert_int_equal(rc, 0);
                total = c.writes; /* the uncut run: now cut at each of its writes */
                cut = -1;
                flash_close(&c.img.flash);
                continue;
            }
            assert_true(cut < total ? rc != 0 : rc == 0);
            uint32_t len;
            struct cutdev after = {(uint8_t *)flash_image_bytes(&c.img, &len), size, 0, -1, 0};
            struct fat *f = mount_dev(&after);
            uint32_t lost;
            int cross;
            int problems = check_structure(f, &lost, &cross);
            if (problems || (cross && op != 3))
                fail_msg("%s cut at flash write %ld of %ld: %d problems, %d cross-links",
                         names[op], cut, total, problems, cross);
            assert_true(same(f, "/boot.py", small, 139));
            if (op != 0)
                assert_true(same(f, "/keep.bin", old_big, BIG));
            else
                assert_true(same(f, "/keep.bin", old_big, BIG) ||
                            same(f, "/keep.bin", new_big, BIG));
            leaking += lost != 0;
            fat_unmount(f);
            flash_close(&c.img.flash);
        }
        print_message("--fs %s: %ld flash writes, %d cut points leave unused clusters "
                      "allocated\n",
                      names[op], total, leaking);
    }
    free(base);
}

int main(void)
{
    old_big = pattern(BIG, 1);
    new_big = pattern(BIG, 2);
    small = pattern(400, 3);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_powercut_4096),
        cmocka_unit_test(test_powercut_512),
        cmocka_unit_test(test_powercut_fs_layer),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(old_big);
    free(new_big);
    free(small);
    return rc;
}
