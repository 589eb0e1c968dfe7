/* The littlefs engine's API behaviour (error codes, files, attributes, name order), the exact
 * bytes of a fresh filesystem, and clean errors on crafted corrupt images. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>
#include <zlib.h>

#include "test_lfs_dev.h"
#include "util/bytes.h"
#include "test_shared.h"

#define BS 4096u

struct fx {
    uint8_t *flash;
    struct ramdev dev;
    lfs_t lfs;
};

static void fx_new(struct fx *x, uint32_t blocks, uint32_t version)
{
    x->flash = malloc((size_t)blocks * BS);
    memset(x->flash, 0xFF, (size_t)blocks * BS);
    ramdev_init(&x->dev, x->flash, BS, blocks);
    x->dev.cfg.block_count = blocks;
    x->dev.cfg.disk_version = version;
    assert_int_equal(lfs_format(&x->lfs, &x->dev.cfg), 0);
    assert_int_equal(lfs_mount(&x->lfs, &x->dev.cfg), 0);
}

static void fx_free(struct fx *x)
{
    lfs_unmount(&x->lfs);
    free(x->flash);
}

static int put(lfs_t *lfs, const char *path, const void *data, uint32_t len)
{
    lfs_file_t f;
    int err = lfs_file_open(lfs, &f, path, LFS_O_WRONLY | LFS_O_CREAT | LFS_O_TRUNC);
    if (err)
        return err;
    lfs_ssize_t w = lfs_file_write(lfs, &f, data, len);
    int cerr = lfs_file_close(lfs, &f);
    return w < 0 ? (int)w : cerr;
}

static void test_error_names(void **state)
{
    (void)state;
    assert_string_equal(lfs_err_name(LFS_ERR_NOENT), "LFS_ERR_NOENT");
    assert_string_equal(lfs_err_name(LFS_ERR_NOTEMPTY), "LFS_ERR_NOTEMPTY");
    assert_string_equal(lfs_err_name(LFS_ERR_NAMETOOLONG), "LFS_ERR_NAMETOOLONG");
    assert_string_equal(lfs_err_name(-1234), "LFS_ERR_UNKNOWN");
    assert_string_equal(lfs_err_text(LFS_ERR_NOSPC), "no space left on the filesystem");
    assert_int_equal(LFS_ERR_CORRUPT, -84);
    assert_int_equal(LFS_ERR_NOENT, -2);
}

/* littlefs.md §5.1: the bytes of block 0 after MicroPython's mkfs. */
static void test_format_bytes(void **state)
{
    (void)state;
    struct fx x;
    fx_new(&x, 512, 0);
    static const uint8_t want[64] = {
        0x01, 0x00, 0x00, 0x00, 0xf0, 0x0f, 0xff, 0xf7, 0x6c, 0x69, 0x74, 0x74, 0x6c, 0x65, 0x66,
        0x73, 0x2f, 0xe0, 0x00, 0x10, 0x01, 0x00, 0x02, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x02,
        0x00, 0x00, 0xff, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0x7f, 0xfe, 0x03, 0x00, 0x00, 0x7f,
        0xef, 0xfc, 0x10, 0x20, 0x00, 0x00, 0x00, 0xf4, 0x54, 0x93, 0x00, 0x0f, 0xf0, 0x00, 0x0c,
        0xd4, 0xf8, 0x1d, 0xe4};
    assert_memory_equal(x.flash, want, 64);
    for (uint32_t i = 64; i < BS; i++)
        assert_int_equal(x.flash[i], 0xFF);
    /* block 1: the same with revision 2 */
    assert_int_equal(x.flash[BS], 2);
    assert_memory_equal(x.flash + BS + 4, want + 4, 52);
    struct lfs_fsinfo info;
    assert_int_equal(lfs_fs_stat(&x.lfs, &info), 0);
    assert_int_equal(info.disk_version, LFS_DISK_VERSION_2_1);
    assert_int_equal(info.block_count, 512);
    assert_int_equal(info.name_max, 255);
    assert_int_equal(lfs_fs_size(&x.lfs), 2);
    fx_free(&x);
    /* 2.0: version field 0x00020000 and no FCRC tag (type 0x5FF) */
    fx_new(&x, 64, LFS_DISK_VERSION_2_0);
    assert_int_equal(lfs_fs_stat(&x.lfs, &info), 0);
    assert_int_equal(info.disk_version, LFS_DISK_VERSION_2_0);
    assert_int_equal(x.flash[20], 0x00);
    assert_int_equal(x.flash[21], 0x00);
    assert_int_equal(x.flash[22], 0x02);
    assert_memory_not_equal(x.flash + 44, want + 44, 4);
    fx_free(&x);
}

/* The same image as MicroPython's own mkfs of a 2 MiB partition, byte for byte. */
static void test_format_equals_micropythons(void **state)
{
    (void)state;
    size_t len;
    uint8_t *mp = test_read_shared("littlefs-vectors/mp-empty-2m.img", &len);
    if (!mp)
        TEST_SKIP("littlefs-vectors/mp-empty-2m.img not found");
    struct fx x;
    fx_new(&x, 512, 0);
    assert_int_equal(len, 512 * BS);
    assert_memory_equal(mp, x.flash, len);
    free(mp);
    fx_free(&x);
}

static void test_errors(void **state)
{
    (void)state;
    struct fx x;
    fx_new(&x, 32, 0);
    lfs_t *l = &x.lfs;
    struct lfs_info info;
    lfs_file_t f;
    char longname[300];
    memset(longname, 'n', sizeof longname);
    longname[0] = '/';
    longname[257] = '\0'; /* 256-byte name */
    assert_int_equal(lfs_stat(l, "/nope", &info), LFS_ERR_NOENT);
    assert_int_equal(lfs_mkdir(l, "/d"), 0);
    assert_int_equal(lfs_mkdir(l, "/d"), LFS_ERR_EXIST);
    assert_int_equal(lfs_mkdir(l, "/x/y"), LFS_ERR_NOENT);
    assert_int_equal(lfs_mkdir(l, longname), LFS_ERR_NAMETOOLONG);
    assert_int_equal(put(l, longname, "a", 1), LFS_ERR_NAMETOOLONG);
    longname[256] = '\0'; /* 255 bytes: fine */
    assert_int_equal(put(l, longname, "a", 1), 0);
    assert_int_equal(lfs_stat(l, longname, &info), 0);
    assert_int_equal(strlen(info.name), 255);
    assert_int_equal(put(l, "/d/f", "hello", 5), 0);
    /* "." and ".." resolve lexically, as upstream does */
    assert_int_equal(lfs_stat(l, "/d/./f", &info), 0);
    assert_int_equal(info.size, 5);
    assert_int_equal(lfs_stat(l, "d//x/../f", &info), 0);
    assert_int_equal(lfs_stat(l, "/../d/f", &info), 0);
    assert_int_equal(lfs_stat(l, "/d/..", &info), 0);
    assert_int_equal(info.type, LFS_TYPE_DIR);
    assert_int_equal(lfs_mkdir(l, "/d/sub/.."), LFS_ERR_EXIST);
    assert_int_equal(lfs_mkdir(l, "/d/f/g"), LFS_ERR_NOTDIR);
    assert_int_equal(lfs_stat(l, "/d/f/g", &info), LFS_ERR_NOTDIR);
    assert_int_equal(lfs_file_open(l, &f, "/d", LFS_O_RDONLY), LFS_ERR_ISDIR);
    assert_int_equal(lfs_file_open(l, &f, "/", LFS_O_RDONLY), LFS_ERR_ISDIR);
    assert_int_equal(lfs_file_open(l, &f, "/d/f", LFS_O_WRONLY | LFS_O_CREAT | LFS_O_EXCL),
                     LFS_ERR_EXIST);
    assert_int_equal(lfs_file_open(l, &f, "/d/none", LFS_O_RDONLY), LFS_ERR_NOENT);
    assert_int_equal(lfs_remove(l, "/d"), LFS_ERR_NOTEMPTY);
    assert_int_equal(lfs_remove(l, "/"), LFS_ERR_INVAL);
    assert_int_equal(lfs_rename(l, "/d", "/d/f2"), LFS_ERR_INVAL); /* into itself */
    assert_int_equal(lfs_mkdir(l, "/e"), 0);
    assert_int_equal(lfs_rename(l, "/d/f", "/e"), LFS_ERR_ISDIR);
    assert_int_equal(lfs_rename(l, "/e", "/d/f"), LFS_ERR_NOTDIR);
    assert_int_equal(lfs_rename(l, "/e", "/d"), LFS_ERR_NOTEMPTY);
    assert_int_equal(lfs_rename(l, "/d", "/e"), 0); /* over an empty directory */
    assert_int_equal(lfs_stat(l, "/e/f", &info), 0);
    assert_int_equal(lfs_stat(l, "/d", &info), LFS_ERR_NOENT);
    assert_int_equal(lfs_rename(l, "/e/f", "/e/f"), 0);
    /* access modes */
    assert_int_equal(lfs_file_open(l, &f, "/e/f", LFS_O_RDONLY), 0);
    assert_int_equal(lfs_file_write(l, &f, "x", 1), LFS_ERR_BADF);
    assert_int_equal(lfs_file_truncate(l, &f, 0), LFS_ERR_BADF);
    assert_int_equal(lfs_file_close(l, &f), 0);
    assert_int_equal(lfs_file_open(l, &f, "/e/f", LFS_O_WRONLY), 0);
    char buf[16];
    assert_int_equal(lfs_file_read(l, &f, buf, 1), LFS_ERR_BADF);
    assert_int_equal(lfs_file_seek(l, &f, -1, LFS_SEEK_SET), LFS_ERR_INVAL);
    assert_int_equal(lfs_file_close(l, &f), 0);
    assert_int_equal(lfs_file_close(l, &f), LFS_ERR_BADF);
    assert_int_equal(lfs_getattr(l, "/e/f", 1, buf, 8), LFS_ERR_NOATTR);
    assert_int_equal(lfs_removeattr(l, "/nope", 1), LFS_ERR_NOENT);
    fx_free(&x);
}

static uint8_t *pattern(uint32_t n, uint32_t seed)
{
    uint8_t *p = malloc(n + 1);
    uint32_t s = seed | 1;
    for (uint32_t i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        p[i] = (uint8_t)s;
    }
    return p;
}

static void test_file_ops(void **state)
{
    (void)state;
    struct fx x;
    fx_new(&x, 64, 0);
    lfs_t *l = &x.lfs;
    lfs_file_t f;
    uint8_t *a = pattern(50000, 1), *rb = malloc(60000);
    /* append across the inline limit and block boundaries */
    uint32_t done = 0;
    while (done < 20000) {
        uint32_t k = done < 200 ? 37 : 3001;
        assert_int_equal(lfs_file_open(l, &f, "/log", LFS_O_WRONLY | LFS_O_CREAT | LFS_O_APPEND),
                         0);
        assert_int_equal(lfs_file_write(l, &f, a + done, k), (lfs_ssize_t)k);
        assert_int_equal(lfs_file_close(l, &f), 0);
        done += k;
        struct lfs_info info;
        assert_int_equal(lfs_stat(l, "/log", &info), 0);
        assert_int_equal(info.size, done);
    }
    /* overwrite in the middle, read back */
    assert_int_equal(lfs_file_open(l, &f, "/log", LFS_O_RDWR), 0);
    assert_int_equal(lfs_file_seek(l, &f, 9000, LFS_SEEK_SET), 9000);
    assert_int_equal(lfs_file_write(l, &f, a + 30000, 5000), 5000);
    assert_int_equal(lfs_file_tell(l, &f), 14000);
    assert_int_equal(lfs_file_seek(l, &f, 8990, LFS_SEEK_SET), 8990);
    assert_int_equal(lfs_file_read(l, &f, rb, 30), 30);
    assert_memory_equal(rb, a + 8990, 10);
    assert_memory_equal(rb + 10, a + 30000, 20);
    assert_int_equal(lfs_file_size(l, &f), done);
    assert_int_equal(lfs_file_close(l, &f), 0);
    /* seek past the end and write: the gap reads as zeros */
    assert_int_equal(lfs_file_open(l, &f, "/gap", LFS_O_RDWR | LFS_O_CREAT), 0);
    assert_int_equal(lfs_file_write(l, &f, "ab", 2), 2);
    assert_int_equal(lfs_file_seek(l, &f, 5000, LFS_SEEK_SET), 5000);
    assert_int_equal(lfs_file_write(l, &f, "cd", 2), 2);
    assert_int_equal(lfs_file_rewind(l, &f), 0);
    assert_int_equal(lfs_file_read(l, &f, rb, 6000), 5002);
    assert_int_equal(rb[0], 'a');
    for (int i = 2; i < 5000; i++)
        assert_int_equal(rb[i], 0);
    assert_int_equal(rb[5001], 'd');
    /* truncate down to inline, then up again with zeros */
    assert_int_equal(lfs_file_truncate(l, &f, 1), 0);
    assert_int_equal(lfs_file_size(l, &f), 1);
    assert_int_equal(lfs_file_truncate(l, &f, 300), 0);
    assert_int_equal(lfs_file_close(l, &f), 0);
    assert_int_equal(lfs_file_open(l, &f, "/gap", LFS_O_RDONLY), 0);
    assert_int_equal(lfs_file_read(l, &f, rb, 1000), 300);
    assert_int_equal(rb[0], 'a');
    assert_int_equal(rb[1], 0);
    assert_int_equal(lfs_file_close(l, &f), 0);
    /* a file being created is invisible until its first sync, then appears whole */
    assert_int_equal(lfs_file_open(l, &f, "/new", LFS_O_WRONLY | LFS_O_CREAT | LFS_O_EXCL), 0);
    struct lfs_info info;
    assert_int_equal(lfs_stat(l, "/new", &info), LFS_ERR_NOENT);
    assert_int_equal(lfs_file_write(l, &f, a, 10000), 10000);
    assert_int_equal(lfs_file_sync(l, &f), 0);
    assert_int_equal(lfs_stat(l, "/new", &info), 0);
    assert_int_equal(info.size, 10000);
    assert_int_equal(lfs_file_close(l, &f), 0);
    /* TRUNC and mtime attribute written at close, as MicroPython does */
    uint8_t mt[8] = {0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11};
    struct lfs_attr attr = {LFS_ATTR_MTIME, mt, 8};
    struct lfs_file_config fc = {&attr, 1};
    assert_int_equal(lfs_file_opencfg(l, &f, "/new", LFS_O_WRONLY | LFS_O_TRUNC, &fc), 0);
    assert_int_equal(lfs_file_close(l, &f), 0);
    assert_int_equal(lfs_stat(l, "/new", &info), 0);
    assert_int_equal(info.size, 0);
    uint8_t got[12];
    assert_int_equal(lfs_getattr(l, "/new", LFS_ATTR_MTIME, got, sizeof got), 8);
    assert_memory_equal(got, mt, 8);
    assert_int_equal(got[8], 0); /* zero padded */
    assert_int_equal(lfs_setattr(l, "/new", 7, "xyz", 3), 0);
    assert_int_equal(lfs_getattr(l, "/new", 7, got, 2), 3);
    assert_int_equal(lfs_removeattr(l, "/new", 7), 0);
    assert_int_equal(lfs_getattr(l, "/new", 7, got, 2), LFS_ERR_NOATTR);
    assert_int_equal(lfs_getattr(l, "/new", LFS_ATTR_MTIME, got, 8), 8);
    /* all of it survives a remount */
    assert_int_equal(lfs_unmount(l), 0);
    assert_int_equal(lfs_mount(l, &x.dev.cfg), 0);
    assert_int_equal(lfs_file_open(l, &f, "/log", LFS_O_RDONLY), 0);
    assert_int_equal(lfs_file_read(l, &f, rb, 60000), done);
    assert_memory_equal(rb, a, 9000);
    assert_memory_equal(rb + 9000, a + 30000, 5000);
    assert_memory_equal(rb + 14000, a + 14000, done - 14000);
    assert_int_equal(lfs_file_close(l, &f), 0);
    assert_int_equal(lfs_getattr(l, "/new", LFS_ATTR_MTIME, got, 8), 8);
    assert_int_equal(x.dev.overwrites, 0);
    assert_int_equal(x.dev.misaligned, 0);
    free(a);
    free(rb);
    fx_free(&x);
}

/* Directory listing order is littlefs's (§6.1): longer names first when one is a prefix. */
static void test_name_order(void **state)
{
    (void)state;
    struct fx x;
    fx_new(&x, 32, 0);
    const char *names[] = {"b", "ab", "a", "abc", "z", "A", "0", "_", "a b", "ab_", "aa", "Z",
                           "B"};
    const char *order[] = {"0", "A", "B", "Z", "_", "a b", "aa", "ab_", "abc", "ab", "a", "b",
                           "z"};
    for (size_t i = 0; i < 13; i++) {
        char p[16];
        snprintf(p, sizeof p, "/%s", names[i]);
        assert_int_equal(put(&x.lfs, p, names[i], (uint32_t)strlen(names[i])), 0);
    }
    lfs_dir_t d;
    struct lfs_info info;
    assert_int_equal(lfs_dir_open(&x.lfs, &d, "/"), 0);
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < 13; i++) {
            assert_int_equal(lfs_dir_read(&x.lfs, &d, &info), 1);
            assert_string_equal(info.name, order[i]);
        }
        assert_int_equal(lfs_dir_read(&x.lfs, &d, &info), 0);
        assert_int_equal(lfs_dir_rewind(&x.lfs, &d), 0);
    }
    assert_int_equal(lfs_dir_close(&x.lfs, &d), 0);
    fx_free(&x);
}

/* Many entries: pairs split, and every entry stays reachable. */
static void test_split_and_grow(void **state)
{
    (void)state;
    struct fx x;
    fx_new(&x, 64, 0);
    assert_int_equal(lfs_mkdir(&x.lfs, "/m"), 0);
    for (int i = 0; i < 300; i++) {
        char p[64];
        snprintf(p, sizeof p, "/m/entry-with-a-long-name-%03d", (i * 7) % 300);
        assert_int_equal(put(&x.lfs, p, p, 20), 0);
    }
    for (int i = 0; i < 300; i++) {
        char p[64];
        snprintf(p, sizeof p, "/m/entry-with-a-long-name-%03d", i);
        struct lfs_info info;
        assert_int_equal(lfs_stat(&x.lfs, p, &info), 0);
        assert_int_equal(info.size, 20);
    }
    /* used blocks: pairs of /m (split) + root */
    lfs_ssize_t used = lfs_fs_size(&x.lfs);
    assert_true(used > 6);
    for (int i = 0; i < 300; i += 2) {
        char p[64];
        snprintf(p, sizeof p, "/m/entry-with-a-long-name-%03d", i);
        assert_int_equal(lfs_remove(&x.lfs, p), 0);
    }
    assert_int_equal(lfs_remove(&x.lfs, "/m"), LFS_ERR_NOTEMPTY);
    for (int i = 1; i < 300; i += 2) {
        char p[64];
        snprintf(p, sizeof p, "/m/entry-with-a-long-name-%03d", i);
        assert_int_equal(lfs_remove(&x.lfs, p), 0);
    }
    /* pairs emptied by the removals left the chain: root pair + /m's first pair */
    assert_int_equal(lfs_fs_size(&x.lfs), 4);
    assert_int_equal(lfs_remove(&x.lfs, "/m"), 0);
    assert_int_equal(lfs_fs_size(&x.lfs), 2);
    assert_int_equal(lfs_unmount(&x.lfs), 0);
    assert_int_equal(lfs_mount(&x.lfs, &x.dev.cfg), 0);
    assert_int_equal(lfs_fs_size(&x.lfs), 2);
    fx_free(&x);
}

/* ---------------------------------------------------------------- crafted images */

struct craft {
    uint8_t *blk;
    uint32_t off, ptag, crc;
};

static uint32_t lcrc(uint32_t c, const void *p, size_t n)
{
    return ~(uint32_t)crc32(~c & 0xFFFFFFFFu, p, (uInt)n);
}

static void cr_begin(struct craft *c, uint8_t *blk, uint32_t rev)
{
    c->blk = blk;
    memset(blk, 0xFF, BS);
    blk[0] = (uint8_t)rev;
    blk[1] = (uint8_t)(rev >> 8);
    blk[2] = (uint8_t)(rev >> 16);
    blk[3] = (uint8_t)(rev >> 24);
    c->off = 4;
    c->ptag = 0xFFFFFFFFu;
    c->crc = lcrc(0xFFFFFFFFu, blk, 4);
}

static void cr_tag(struct craft *c, uint32_t type, uint32_t id, const void *data, uint32_t size)
{
    uint32_t tag = type << 20 | id << 10 | size;
    uint32_t e = (tag & 0x7FFFFFFFu) ^ c->ptag;
    uint8_t *p = c->blk + c->off;
    p[0] = (uint8_t)(e >> 24);
    p[1] = (uint8_t)(e >> 16);
    p[2] = (uint8_t)(e >> 8);
    p[3] = (uint8_t)e;
    if (size != 0x3FF && size)
        memcpy(p + 4, data, size);
    uint32_t ds = 4 + (size == 0x3FF ? 0 : size);
    c->crc = lcrc(c->crc, p, ds);
    c->off += ds;
    c->ptag = tag & 0x7FFFFFFFu;
}

static void cr_end(struct craft *c)
{
    uint32_t tag = 0x500u << 20 | 0x3FFu << 10 | 4;
    uint32_t e = tag ^ c->ptag;
    uint8_t *p = c->blk + c->off;
    p[0] = (uint8_t)(e >> 24);
    p[1] = (uint8_t)(e >> 16);
    p[2] = (uint8_t)(e >> 8);
    p[3] = (uint8_t)e;
    c->crc = lcrc(c->crc, p, 4);
    p[4] = (uint8_t)c->crc;
    p[5] = (uint8_t)(c->crc >> 8);
    p[6] = (uint8_t)(c->crc >> 16);
    p[7] = (uint8_t)(c->crc >> 24);
    c->off += 8;
    c->ptag = tag;
    c->crc = 0xFFFFFFFFu;
}

static void sb_entry(struct craft *c, uint32_t blocks, uint32_t version, uint32_t name_max)
{
    uint8_t sb[24];
    put_le32(sb, version);
    put_le32(sb + 4, BS);
    put_le32(sb + 8, blocks);
    put_le32(sb + 12, name_max);
    put_le32(sb + 16, 0x7FFFFFFF);
    put_le32(sb + 20, 1022);
    cr_tag(c, 0x0FF, 0, "littlefs", 8);
    cr_tag(c, 0x201, 0, sb, 24);
}

static void pair_bytes(uint8_t out[8], uint32_t a, uint32_t b)
{
    put_le32(out, a);
    put_le32(out + 4, b);
}

/* Mount (expecting mount_err), then walk everything: listing and reading must end with the
 * given error or succeed, never hang or crash. */
static int walk_all(lfs_t *l, const char *path, int depth)
{
    if (depth > 8)
        return 0;
    lfs_dir_t d;
    int err = lfs_dir_open(l, &d, path);
    if (err)
        return err;
    struct lfs_info info;
    int first_err = 0;
    while ((err = lfs_dir_read(l, &d, &info)) > 0) {
        char p[600];
        snprintf(p, sizeof p, "%s/%s", strcmp(path, "/") ? path : "", info.name);
        if (info.type == LFS_TYPE_DIR) {
            int e = walk_all(l, p, depth + 1);
            if (e && !first_err)
                first_err = e;
        } else {
            lfs_file_t f;
            int e = lfs_file_open(l, &f, p, LFS_O_RDONLY);
            if (!e) {
                uint8_t buf[256];
                lfs_ssize_t n;
                uint32_t total = 0;
                while ((n = lfs_file_read(l, &f, buf, sizeof buf)) > 0 && total < (1u << 20))
                    total += (uint32_t)n;
                if (n < 0)
                    e = (int)n;
                lfs_file_close(l, &f);
            }
            if (e && !first_err)
                first_err = e;
        }
    }
    lfs_dir_close(l, &d);
    return err < 0 ? err : first_err;
}

static void test_crafted_corruption(void **state)
{
    (void)state;
    enum { N = 16 };
    static uint8_t img[N * BS];
    struct ramdev dev;
    lfs_t l;
    struct craft c;
    uint8_t t[8];

    /* 1. tail list cycle {0,1} -> {2,3} -> {0,1} */
    memset(img, 0xFF, sizeof img);
    cr_begin(&c, img, 1);
    sb_entry(&c, N, 0x20001, 255);
    pair_bytes(t, 2, 3);
    cr_tag(&c, 0x600, 0x3FF, t, 8);
    cr_end(&c);
    cr_begin(&c, img + 2 * BS, 1);
    pair_bytes(t, 0, 1);
    cr_tag(&c, 0x600, 0x3FF, t, 8);
    cr_end(&c);
    ramdev_init(&dev, img, BS, N);
    assert_int_equal(lfs_mount(&l, &dev.cfg), LFS_ERR_CORRUPT);

    /* 2. versions and geometry */
    memset(img, 0xFF, sizeof img);
    cr_begin(&c, img, 1);
    sb_entry(&c, N, 0x30000, 255);
    cr_end(&c);
    assert_int_equal(lfs_mount(&l, &dev.cfg), LFS_ERR_INVAL);
    cr_begin(&c, img, 1);
    sb_entry(&c, N, 0x20002, 255);
    cr_end(&c);
    assert_int_equal(lfs_mount(&l, &dev.cfg), LFS_ERR_INVAL);
    memset(img, 0xFF, sizeof img);
    assert_int_equal(lfs_mount(&l, &dev.cfg), LFS_ERR_CORRUPT); /* blank */

    /* 3. entries pointing outside the filesystem, impossible sizes, a CTZ self-loop, a name
     * longer than name_max, a hard-tail cycle inside a directory */
    memset(img, 0xFF, sizeof img);
    cr_begin(&c, img, 1);
    sb_entry(&c, N, 0x20001, 16);
    uint8_t ctz[8];
    cr_tag(&c, 0x002, 1, "bad-dir", 7);
    pair_bytes(t, 77, 78);
    cr_tag(&c, 0x200, 1, t, 8);
    cr_tag(&c, 0x001, 2, "bad-head", 8);
    pair_bytes(ctz, 999, 5000);
    cr_tag(&c, 0x202, 2, ctz, 8);
    cr_tag(&c, 0x002, 3, "cyc-dir", 7);
    pair_bytes(t, 4, 5);
    cr_tag(&c, 0x200, 3, t, 8);
    cr_tag(&c, 0x001, 4, "huge", 4);
    pair_bytes(ctz, 6, 0xFFFFFFF0u);
    cr_tag(&c, 0x202, 4, ctz, 8);
    cr_tag(&c, 0x001, 5, "impossible", 10);
    pair_bytes(ctz, 6, 0x7FFFFF00u); /* within file_max, but more blocks than the fs has */
    cr_tag(&c, 0x202, 5, ctz, 8);
    cr_tag(&c, 0x001, 6, "loop", 4);
    pair_bytes(ctz, 7, 3 * BS);
    cr_tag(&c, 0x202, 6, ctz, 8);
    cr_tag(&c, 0x001, 7, "name-much-longer-than-sixteen", 29);
    cr_tag(&c, 0x201, 7, "x", 1);
    cr_end(&c);
    /* pair {4,5}: one entry and a hard tail back to itself */
    cr_begin(&c, img + 4 * BS, 1);
    cr_tag(&c, 0x001, 0, "f", 1);
    cr_tag(&c, 0x201, 0, "data", 4);
    pair_bytes(t, 4, 5);
    cr_tag(&c, 0x601, 0x3FF, t, 8);
    cr_end(&c);
    /* block 7: a CTZ block whose pointer is itself */
    memset(img + 7 * BS, 0x41, BS);
    put_le32(img + 7 * BS, 7);
    put_le32(img + 7 * BS + 4, 7);
    ramdev_init(&dev, img, BS, N);
    assert_int_equal(lfs_mount(&l, &dev.cfg), 0);
    struct lfs_info info;
    lfs_file_t f;
    assert_int_equal(lfs_file_open(&l, &f, "/bad-head", LFS_O_RDONLY), LFS_ERR_CORRUPT);
    assert_int_equal(lfs_file_open(&l, &f, "/huge", LFS_O_RDONLY), LFS_ERR_CORRUPT);
    assert_int_equal(lfs_file_open(&l, &f, "/impossible", LFS_O_RDONLY), LFS_ERR_CORRUPT);
    assert_int_equal(lfs_stat(&l, "/impossible", &info), 0);
    lfs_dir_t d;
    assert_int_equal(lfs_dir_open(&l, &d, "/bad-dir"), 0);
    assert_int_equal(lfs_dir_read(&l, &d, &info), LFS_ERR_CORRUPT);
    assert_int_equal(lfs_dir_close(&l, &d), 0);
    assert_int_equal(lfs_dir_open(&l, &d, "/cyc-dir"), 0);
    int r;
    int rounds = 0;
    while ((r = lfs_dir_read(&l, &d, &info)) > 0)
        rounds++;
    assert_int_equal(r, LFS_ERR_CORRUPT);
    assert_true(rounds < 40);
    assert_int_equal(lfs_dir_close(&l, &d), 0);
    assert_int_equal(lfs_stat(&l, "/cyc-dir/nothing", &info), LFS_ERR_CORRUPT);
    /* the self-looping CTZ file reads (garbage) to its end without hanging */
    assert_int_equal(lfs_file_open(&l, &f, "/loop", LFS_O_RDONLY), 0);
    static uint8_t buf[3 * BS];
    assert_int_equal(lfs_file_read(&l, &f, buf, sizeof buf), 3 * BS);
    assert_int_equal(lfs_file_close(&l, &f), 0);
    /* listing the root meets the over-long name */
    assert_int_equal(walk_all(&l, "/", 0), LFS_ERR_CORRUPT);
    assert_int_equal(lfs_fs_size(&l), LFS_ERR_CORRUPT);
    /* writing on it fails cleanly too */
    int werr = lfs_mkdir(&l, "/new");
    assert_true(werr == 0 || werr == LFS_ERR_CORRUPT);
    assert_int_equal(lfs_unmount(&l), 0);

    /* 4. after the last commit, an unfinished one whose last tag, in the block's last four
     * bytes, is an FCRC marked deleted (no data): no byte past the block is read, and the
     * committed state mounts */
    memset(img, 0xFF, sizeof img);
    cr_begin(&c, img, 1);
    sb_entry(&c, N, 0x20001, 255);
    cr_end(&c);
    static uint8_t filler[1000];
    while (BS - 4 - c.off > 4 + sizeof filler)
        cr_tag(&c, 0x300, 0, filler, sizeof filler);
    cr_tag(&c, 0x300, 0, filler, BS - 4 - c.off - 4);
    assert_int_equal(c.off, BS - 4);
    cr_tag(&c, 0x5FF, 0x3FF, NULL, 0x3FF);
    ramdev_init(&dev, img, BS, N);
    assert_int_equal(lfs_mount(&l, &dev.cfg), 0);
    assert_int_equal(walk_all(&l, "/", 0), 0);
    assert_int_equal(lfs_unmount(&l), 0);
}

/* The reserved-block hook keeps the allocator off the blocks it names (the superblock pair is
 * not asked about), and a filesystem that needs them fails with NOSPC. */
static int odd_reserved(const struct lfs_config *c, lfs_block_t block)
{
    (void)c;
    return block >= 2 && block % 2 == 1;
}

static int note_block(void *data, lfs_block_t block)
{
    uint8_t *seen = data;
    seen[block] = 1;
    return 0;
}

static void test_reserved_blocks_and_compacted_superblock(void **state)
{
    (void)state;
    struct fx x;
    x.flash = malloc(64 * BS);
    memset(x.flash, 0xFF, 64 * BS);
    ramdev_init(&x.dev, x.flash, BS, 64);
    x.dev.cfg.block_count = 64;
    x.dev.cfg.reserved = odd_reserved;
    assert_int_equal(lfs_format(&x.lfs, &x.dev.cfg), 0);
    assert_int_equal(lfs_mount(&x.lfs, &x.dev.cfg), 0);
    static uint8_t data[20000];
    for (int i = 0; i < 4; i++) {
        char name[16];
        snprintf(name, sizeof name, "/d%d", i);
        assert_int_equal(lfs_mkdir(&x.lfs, name), 0);
        snprintf(name, sizeof name, "/d%d/f", i);
        assert_int_equal(put(&x.lfs, name, data, sizeof data), 0);
    }
    uint8_t seen[64] = {0};
    assert_int_equal(lfs_fs_traverse(&x.lfs, note_block, seen), 0);
    for (int b = 2; b < 64; b++)
        if (b % 2 == 1)
            assert_int_equal(seen[b], 0);
    /* the 31 even blocks are not enough for 20 more such files */
    int err = 0;
    for (int i = 0; i < 20 && !err; i++) {
        char name[16];
        snprintf(name, sizeof name, "/g%d", i);
        err = put(&x.lfs, name, data, sizeof data);
    }
    assert_int_equal(err, LFS_ERR_NOSPC);
    /* compacted: both superblock blocks hold one commit each with the whole state, so either
     * one alone mounts to the same tree */
    assert_int_equal(lfs_fs_compact_superblock(&x.lfs), 0);
    lfs_unmount(&x.lfs);
    for (int keep = 0; keep < 2; keep++) {
        uint8_t *copy = malloc(64 * BS);
        memcpy(copy, x.flash, 64 * BS);
        memset(copy + (size_t)(1 - keep) * BS, 0xFF, BS);
        struct ramdev dev;
        ramdev_init(&dev, copy, BS, 64);
        lfs_t lfs;
        assert_int_equal(lfs_mount(&lfs, &dev.cfg), 0);
        struct lfs_info info;
        assert_int_equal(lfs_stat(&lfs, "/d3/f", &info), 0);
        assert_int_equal(info.size, sizeof data);
        lfs_unmount(&lfs);
        free(copy);
    }
    free(x.flash);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_names),
        cmocka_unit_test(test_format_bytes),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_file_ops),
        cmocka_unit_test(test_name_order),
        cmocka_unit_test(test_split_and_grow),
        cmocka_unit_test(test_crafted_corruption),
        cmocka_unit_test(test_reserved_blocks_and_compacted_superblock),
    };
    const struct CMUnitTest shared_tests[] = {
        cmocka_unit_test(test_format_equals_micropythons),
    };
    return test_main(argc, argv, tests, sizeof tests / sizeof tests[0], shared_tests,
                     sizeof shared_tests / sizeof shared_tests[0]);
}
