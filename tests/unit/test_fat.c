/* The FAT engine: names as FatFs makes them, mkfs as vfs.VfsFat.mkfs, every change read back,
 * and (with the shared data) every vector in shared/fat-vectors read exactly as its manifest
 * says, mkfs byte-identical to MicroPython's, and changed images passing fsck.fat -n and
 * listing identically with mtools. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <openssl/sha.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fat/fat.h"
#include "fat/fat_int.h"
#include "flash/flash.h"
#include "fs/fs.h"
#include "test_lfs_dev.h"
#include "util/alloc.h"
#include "test_shared.h"

/* ---------------------------------------------------------------- RAM device */

struct ram {
    uint8_t *data;
    uint32_t size;
};

static int ram_read(void *ctx, uint32_t off, void *buf, uint32_t len)
{
    struct ram *r = ctx;
    if (off > r->size || len > r->size - off)
        return FAT_ERR_IO;
    memcpy(buf, r->data + off, len);
    return 0;
}

static int ram_write(void *ctx, uint32_t off, const void *buf, uint32_t len)
{
    struct ram *r = ctx;
    if (off > r->size || len > r->size - off)
        return FAT_ERR_IO;
    memcpy(r->data + off, buf, len);
    return 0;
}

static struct fat_dev ram_dev(struct ram *r)
{
    struct fat_dev d = {r, ram_read, ram_write, NULL, r->size};
    return d;
}

static struct fat *mount_ram(struct ram *r)
{
    struct fat_dev dev = ram_dev(r);
    struct fat *fs = NULL;
    assert_int_equal(fat_mount(&fs, &dev), 0);
    return fs;
}

/* ---------------------------------------------------------------- walking */

struct item {
    char path[1024];
    int is_dir;
    uint32_t size;
    char sha[65];
    int64_t mtime;
};

struct listing {
    struct item *v;
    size_t n, cap;
};

struct walk_ctx {
    struct fat *fs;
    struct listing *out;
    const char *dir;
};

static void sha_hex(const uint8_t *data, size_t len, char out[65])
{
    uint8_t md[32];
    SHA256(data, len, md);
    for (int i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", md[i]);
}

static uint8_t *read_all(struct fat *fs, const char *path, uint32_t *len)
{
    struct fat_file f;
    assert_int_equal(fat_file_open(fs, path, &f), 0);
    uint8_t *buf = malloc(f.size + 1);
    assert_non_null(buf);
    uint32_t got = 0;
    for (;;) {
        uint32_t chunk = 777; /* odd-sized reads cross sector and cluster edges */
        int n = fat_file_read(fs, &f, buf + got, f.size - got < chunk ? f.size - got : chunk);
        assert_true(n >= 0);
        if (n == 0)
            break;
        got += (uint32_t)n;
    }
    assert_int_equal(got, f.size);
    *len = got;
    return buf;
}

static void walk(struct fat *fs, const char *dir, struct listing *out);

static int walk_cb(void *ctx, const struct fat_info *info)
{
    struct walk_ctx *w = ctx;
    struct listing *l = w->out;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        assert_non_null(l->v);
    }
    struct item *it = &l->v[l->n++];
    memset(it, 0, sizeof *it);
    snprintf(it->path, sizeof it->path, "%s/%s", strcmp(w->dir, "/") ? w->dir : "", info->name);
    it->is_dir = info->is_dir;
    it->size = info->size;
    it->mtime = (int64_t)info->mtime;
    if (info->is_dir) {
        char sub[1024];
        snprintf(sub, sizeof sub, "%s", it->path);
        walk(w->fs, sub, l);
    } else {
        uint32_t len;
        uint8_t *data = read_all(w->fs, it->path, &len);
        sha_hex(data, len, l->v[l->n - 1].sha);
        free(data);
    }
    return 0;
}

static void walk(struct fat *fs, const char *dir, struct listing *out)
{
    struct walk_ctx w = {fs, out, dir};
    assert_int_equal(fat_dir_list(fs, dir, walk_cb, &w), 0);
}

/* ---------------------------------------------------------------- names */

static void check_sfn(const char *name, const char *sfn, uint8_t ntres, int lfn, int lossy)
{
    struct fat_name nm;
    assert_int_equal(fat_name_make(name, strlen(name), &nm), 0);
    if (memcmp(nm.sfn, sfn, 11)) {
        print_message("name '%s': 8.3 '%.11s', expected '%s'\n", name, nm.sfn, sfn);
        fail();
    }
    assert_int_equal(nm.ntres, ntres);
    assert_int_equal(!!(nm.flags & NAME_NEEDS_LFN), lfn);
    assert_int_equal(!!(nm.flags & NAME_LOSSY), lossy);
}

static void test_names(void **state)
{
    (void)state;
    check_sfn("boot.py", "BOOT    PY ", 0x18, 0, 0);
    check_sfn("UPPER.TXT", "UPPER   TXT", 0, 0, 0);
    check_sfn("lower.TXT", "LOWER   TXT", 0x08, 0, 0);
    check_sfn("README", "README     ", 0, 0, 0);
    check_sfn("MixedCase.Txt", "MIXEDCASTXT", 0, 1, 1);
    check_sfn("Mixed.txt", "MIXED   TXT", 0, 1, 0);
    check_sfn(".dotfile", "        DOT", 0, 1, 1);
    check_sfn("archive.tar.gz", "ARCHIVETGZ ", 0, 1, 1);
    check_sfn("a+b.txt", "A_B     TXT", 0, 1, 1);
    check_sfn("name.", "NAME       ", 0x08, 0, 0); /* trailing dots go */
    struct fat_name nm;
    assert_int_equal(fat_name_make("a:b", 3, &nm), FAT_ERR_INVAL);
    assert_int_equal(fat_name_make("...", 3, &nm), FAT_ERR_INVAL);
    char longname[300];
    memset(longname, 'x', sizeof longname);
    assert_int_equal(fat_name_make(longname, 256, &nm), FAT_ERR_NAMETOOLONG);
    assert_int_equal(fat_name_make(longname, 255, &nm), 0);

    uint8_t out[11];
    uint16_t lfn[] = {'a', 'b', 0};
    fat_sfn_numbered(out, (const uint8_t *)"ARCHIVETGZ ", lfn, 1);
    assert_memory_equal(out, "ARCHIV~1GZ ", 11);
    fat_sfn_numbered(out, (const uint8_t *)"        DOT", lfn, 2);
    assert_memory_equal(out, "~2      DOT", 11);
    fat_sfn_numbered(out, (const uint8_t *)"AB         ", lfn, 7); /* hashed past 5 */
    assert_int_equal(out[0], 'A');
    assert_true(memchr(out, '~', 8) != NULL);

    /* CP437 round trip */
    for (int b = 1; b < 256; b++)
        assert_int_equal(fat_uni_to_cp437(fat_cp437_to_uni((uint8_t)b)), b);
    assert_int_equal(fat_cp437_to_uni(0x82), 0xE9);
}

static void test_time(void **state)
{
    (void)state;
    time_t t = 1706933106; /* 2024-02-03 04:05:06 */
    uint32_t p = fat_time_pack(t);
    assert_int_equal(fat_time_unpack((uint16_t)(p >> 16), (uint16_t)p), t);
    assert_int_equal(p >> 25, 44);
    assert_int_equal(fat_time_pack(0), (uint32_t)1 << 21 | 1 << 16); /* clamped to 1980 */
}

/* ---------------------------------------------------------------- mkfs and changes */

static struct ram new_ram(uint32_t size)
{
    struct ram r = {malloc(size), size};
    assert_non_null(r.data);
    memset(r.data, 0xFF, size);
    return r;
}

static void mkfs_ram(struct ram *r, uint32_t ss)
{
    struct fat_dev dev = ram_dev(r);
    struct fat_mkfs_opts o = {ss, 1706933106};
    assert_int_equal(fat_mkfs(&dev, &o), 0);
}

static void test_mkfs_geometry(void **state)
{
    (void)state;
    static const struct {
        uint32_t size, ss;
        enum fat_type type;
        uint32_t spc;
    } cases[] = {
        {1u << 20, 4096, FAT_TYPE_12, 1},  {256u << 10, 512, FAT_TYPE_12, 1},
        {2u << 20, 4096, FAT_TYPE_12, 1},  {8u << 20, 512, FAT_TYPE_12, 8},
        {24u << 20, 4096, FAT_TYPE_12, 2}, {64u << 20, 512, FAT_TYPE_16, 8},
        {96u << 10, 4096, FAT_TYPE_12, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ram r = new_ram(cases[i].size);
        mkfs_ram(&r, cases[i].ss);
        struct fat *fs = mount_ram(&r);
        struct fat_volinfo vi;
        fat_volinfo(fs, &vi);
        assert_int_equal(vi.type, cases[i].type);
        assert_int_equal(vi.sector_size, cases[i].ss);
        assert_int_equal(vi.cluster_size, cases[i].ss * cases[i].spc);
        assert_int_equal(vi.fats, 1);
        assert_int_equal(vi.root_entries, 512);
        assert_int_equal(vi.free_clusters, vi.clusters);
        fat_unmount(fs);
        free(r.data);
    }
    struct ram tiny = new_ram(64u << 10); /* below FatFs's minimum with 4096-byte sectors */
    struct fat_dev dev = ram_dev(&tiny);
    struct fat_mkfs_opts o = {4096, 0};
    assert_int_equal(fat_mkfs(&dev, &o), FAT_ERR_INVAL);
    free(tiny.data);
}

static uint8_t *pattern(uint32_t len, uint32_t seed)
{
    uint8_t *p = malloc(len + 1);
    assert_non_null(p);
    for (uint32_t i = 0; i < len; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (uint8_t)(seed >> 16);
    }
    return p;
}

static void expect_file(struct fat *fs, const char *path, const uint8_t *data, uint32_t len)
{
    uint32_t got;
    uint8_t *buf = read_all(fs, path, &got);
    assert_int_equal(got, len);
    assert_memory_equal(buf, data, len);
    free(buf);
}

static void changes_on(uint32_t size, uint32_t ss)
{
    struct ram r = new_ram(size);
    mkfs_ram(&r, ss);
    struct fat *fs = mount_ram(&r);
    struct fat_volinfo vi;
    fat_volinfo(fs, &vi);
    uint32_t free0 = vi.free_clusters;
    uint8_t *a = pattern(10000, 1), *b = pattern(3 * ss + 1, 2);
    assert_int_equal(fat_write_file(fs, "/boot.py", a, 139, 1706933106), 0);
    assert_int_equal(fat_mkdir(fs, "/lib", 1706933106), 0);
    assert_int_equal(fat_mkdir(fs, "/lib", 1706933106), FAT_ERR_EXIST);
    assert_int_equal(fat_mkdir(fs, "/Long Directory Name", 1706933106), 0);
    assert_int_equal(fat_write_file(fs, "/lib/A long name with spaces.bin", a, 10000, 1706940000),
                     0);
    assert_int_equal(fat_write_file(fs, "/Long Directory Name/x.txt", b, 3 * ss + 1, 1706940000),
                     0);
    assert_int_equal(fat_write_file(fs, "/nodir/x", a, 1, 0), FAT_ERR_NOENT);
    assert_int_equal(fat_write_file(fs, "/boot.py/x", a, 1, 0), FAT_ERR_NOTDIR);
    assert_int_equal(fat_write_file(fs, "/lib", a, 1, 0), FAT_ERR_ISDIR);
    /* a directory of many long names grows beyond one cluster */
    for (int i = 0; i < 60; i++) {
        char p[64];
        snprintf(p, sizeof p, "/lib/file number %02d with a long name.txt", i);
        assert_int_equal(fat_write_file(fs, p, a + i, 100, 1706940000 + i * 2), 0);
    }
    fat_unmount(fs);
    fs = mount_ram(&r);
    expect_file(fs, "/boot.py", a, 139);
    expect_file(fs, "/LIB/a LONG name with spaces.BIN", a, 10000); /* case-insensitive */
    expect_file(fs, "/Long Directory Name/x.txt", b, 3 * ss + 1);
    for (int i = 0; i < 60; i++) {
        char p[64];
        snprintf(p, sizeof p, "/lib/file number %02d with a long name.txt", i);
        expect_file(fs, p, a + i, 100);
        struct fat_info info;
        assert_int_equal(fat_stat(fs, p, &info), 0);
        assert_int_equal(info.mtime, 1706940000 + i * 2);
        assert_string_equal(info.name, p + 5);
    }
    /* replace, rename, move, remove */
    assert_int_equal(fat_write_file(fs, "/boot.py", b, 2 * ss, 1706950000), 0);
    expect_file(fs, "/boot.py", b, 2 * ss);
    assert_int_equal(fat_rename(fs, "/boot.py", "/main.py"), 0);
    assert_int_equal(fat_stat(fs, "/boot.py", &(struct fat_info){0}), FAT_ERR_NOENT);
    expect_file(fs, "/main.py", b, 2 * ss);
    assert_int_equal(fat_rename(fs, "/Long Directory Name", "/lib/moved"), 0);
    expect_file(fs, "/lib/moved/x.txt", b, 3 * ss + 1);
    assert_int_equal(fat_rename(fs, "/lib", "/lib/moved/inner"), FAT_ERR_INVAL);
    assert_int_equal(fat_remove(fs, "/lib/moved"), FAT_ERR_NOTEMPTY);
    assert_int_equal(fat_remove(fs, "/lib/moved/x.txt"), 0);
    assert_int_equal(fat_remove(fs, "/lib/moved"), 0);
    assert_int_equal(fat_rename(fs, "/main.py", "/lib/A long name with spaces.bin"), 0);
    expect_file(fs, "/lib/A long name with spaces.bin", b, 2 * ss);
    for (int i = 0; i < 60; i++) {
        char p[64];
        snprintf(p, sizeof p, "/lib/file number %02d with a long name.txt", i);
        assert_int_equal(fat_remove(fs, p), 0);
    }
    assert_int_equal(fat_remove(fs, "/lib/A long name with spaces.bin"), 0);
    assert_int_equal(fat_remove(fs, "/lib"), 0);
    assert_int_equal(fat_remove(fs, "/"), FAT_ERR_ACCES);
    fat_volinfo(fs, &vi);
    assert_int_equal(vi.free_clusters, free0);
    struct listing l = {0};
    walk(fs, "/", &l);
    assert_int_equal(l.n, 0);
    free(l.v);
    fat_unmount(fs);
    free(a);
    free(b);
    free(r.data);
}

static void test_changes_4096(void **state)
{
    (void)state;
    changes_on(1u << 20, 4096);
}

static void test_changes_512(void **state)
{
    (void)state;
    changes_on(256u << 10, 512);
}

static void test_changes_fat16(void **state)
{
    (void)state;
    changes_on(64u << 20, 512);
}

static void test_full(void **state)
{
    (void)state;
    struct ram r = new_ram(128u << 10);
    mkfs_ram(&r, 512);
    struct fat *fs = mount_ram(&r);
    struct fat_volinfo vi;
    fat_volinfo(fs, &vi);
    uint32_t cap = vi.free_clusters * vi.cluster_size;
    uint8_t *a = pattern(cap + 1, 3);
    assert_int_equal(fat_write_file(fs, "/big", a, cap + 1, 0), FAT_ERR_NOSPC);
    fat_volinfo(fs, &vi);
    assert_int_equal(vi.free_clusters * vi.cluster_size, cap); /* nothing leaked */
    assert_int_equal(fat_write_file(fs, "/big", a, cap, 0), 0);
    fat_unmount(fs);
    fs = mount_ram(&r);
    expect_file(fs, "/big", a, cap);
    /* the fixed root holds 512 slots */
    int made = 0, rc = 0;
    for (; made < 600; made++) {
        char p[32];
        snprintf(p, sizeof p, "/E%d", made);
        if ((rc = fat_write_file(fs, p, a, 0, 0)))
            break;
    }
    assert_int_equal(rc, FAT_ERR_NOSPC);
    assert_int_equal(made, 511);
    fat_unmount(fs);
    free(a);
    free(r.data);
}

static void test_grow(void **state)
{
    (void)state;
    struct ram r = new_ram(16u << 20);
    struct ram small = {r.data, 1u << 20}; /* mkfs on the first MiB only */
    mkfs_ram(&small, 4096);
    struct fat *fs = mount_ram(&r);
    uint8_t *a = pattern(50000, 5);
    assert_int_equal(fat_write_file(fs, "/keep.bin", a, 50000, 0), 0);
    struct fat_volinfo before, after;
    fat_volinfo(fs, &before);
    assert_int_equal(before.total_sectors, 256);
    /* one 4096-byte FAT12 sector has entries for 2728 clusters: the limit, not the device */
    uint32_t lim = fat_grow_limit(fs, 4096);
    assert_int_equal(lim, 6 + 2728);
    assert_int_equal(fat_grow(fs, lim + 1), FAT_ERR_INVAL);
    assert_int_equal(fat_grow(fs, 100), FAT_ERR_INVAL);
    assert_int_equal(fat_grow(fs, 1024), 0);
    fat_unmount(fs);
    fs = mount_ram(&r);
    fat_volinfo(fs, &after);
    assert_int_equal(after.total_sectors, 1024);
    assert_int_equal(after.clusters, 1018);
    assert_int_equal(after.free_clusters, before.free_clusters + 1018 - before.clusters);
    expect_file(fs, "/keep.bin", a, 50000);
    /* the new clusters are usable */
    uint8_t *b = pattern(3u << 20, 6);
    assert_int_equal(fat_write_file(fs, "/big.bin", b, 3u << 20, 0), 0);
    expect_file(fs, "/big.bin", b, 3u << 20);
    fat_unmount(fs);
    free(a);
    free(b);
    free(r.data);
}

/* Running out of memory at any allocation of a change fails it cleanly: the volume mounts and
 * reads back whole afterwards, and holds no cluster that nothing uses. */
static void test_out_of_memory(void **state)
{
    (void)state;
    struct ram base = new_ram(256u << 10);
    mkfs_ram(&base, 512);
    struct fat *fs = mount_ram(&base);
    uint8_t *a = pattern(3000, 7);
    assert_int_equal(fat_mkdir(fs, "/lib", 0), 0);
    assert_int_equal(fat_write_file(fs, "/lib/old file.txt", a, 3000, 0), 0);
    fat_unmount(fs);
    struct ram r = new_ram(base.size);
    long n = 0;
    for (;; n++) {
        memcpy(r.data, base.data, r.size);
        fs = mount_ram(&r);
        mp_alloc_fail_at(n, 0);
        int rc = fat_write_file(fs, "/lib/a new file with a long name.bin", a, 2000, 0);
        if (!rc)
            rc = fat_mkdir(fs, "/another directory", 0);
        if (!rc)
            rc = fat_rename(fs, "/lib/old file.txt", "/another directory/moved.txt");
        if (!rc)
            rc = fat_write_file(fs, "/another directory/moved.txt", a + 1, 2500, 0);
        if (!rc)
            rc = fat_remove(fs, "/lib/a new file with a long name.bin");
        long failures = mp_alloc_failures();
        mp_alloc_fail_at(-1, 0);
        fat_unmount(fs);
        if (!failures) {
            assert_int_equal(rc, 0);
            break;
        }
        assert_int_equal(rc, FAT_ERR_NOMEM);
        fs = mount_ram(&r);
        struct listing l = {0};
        walk(fs, "/", &l); /* reads every file: no broken chain */
        uint32_t used = 0;
        for (size_t i = 0; i < l.n; i++)
            used += (l.v[i].size + 511) / 512 + (l.v[i].is_dir ? 1 : 0);
        struct fat_volinfo vi;
        fat_volinfo(fs, &vi);
        if (vi.clusters - vi.free_clusters != used)
            fail_msg("allocation %ld failed: %u clusters in use, entries use %u", n,
                     vi.clusters - vi.free_clusters, used);
        free(l.v);
        fat_unmount(fs);
    }
    assert_true(n > 10);
    free(a);
    free(r.data);
    free(base.data);
}

/* Through the --fs layer: a partition holding a FAT mounts as FAT; one cut smaller than its
 * volume is refused saying so; one holding nothing says it holds neither filesystem. */
static void test_fs_layer_mount(void **state)
{
    (void)state;
    struct ram r = new_ram(256u << 10);
    mkfs_ram(&r, 4096);
    struct flash_image fi;
    struct error err;
    assert_int_equal(flash_image_open(&fi, r.data, r.size, 0, r.size, "fat", &err), 0);
    struct fs_partition part = {.name = "vfs", .type = 1, .subtype = 0x81, .size = r.size};
    struct fs *fs;
    assert_int_equal(fs_mount(&fs, &fi.flash, &part, FS_FLUSH_AT_SYNC, &err), 0);
    assert_int_equal(fs_write_file(fs, "/lib/x.py", "x = 1\n", 6, &err), -2); /* no /lib */
    assert_int_equal(fs_mkdir(fs, "/lib", &err), 0);
    assert_int_equal(fs_write_file(fs, "/lib/x.py", "x = 1\n", 6, &err), 0);
    struct fs_usage u;
    assert_int_equal(fs_usage(fs, &u, &err), 0);
    assert_true(u.is_fat);
    assert_int_equal(u.fat_type, 12);
    assert_int_equal(u.blocks_used, 2);
    assert_int_equal(fs_unmount(fs, &err), 0);
    struct fs_partition small = part;
    small.size = 128u << 10;
    assert_int_not_equal(fs_mount(&fs, &fi.flash, &small, FS_FLUSH_AT_SYNC, &err), 0);
    assert_non_null(strstr(err.msg, "too small for its FAT filesystem of 262144 bytes"));
    flash_close(&fi.flash);
    memset(r.data, 0xFF, r.size);
    assert_int_equal(flash_image_open(&fi, r.data, r.size, 0, r.size, "blank", &err), 0);
    assert_int_not_equal(fs_mount(&fs, &fi.flash, &part, FS_FLUSH_AT_SYNC, &err), 0);
    assert_non_null(strstr(err.msg, "holds neither a littlefs nor a FAT filesystem"));
    flash_close(&fi.flash);
    free(r.data);
}

/* ---------------------------------------------------------------- shared vectors */

static const char *vectors_dir(char *buf, size_t size)
{
    const char *shared = getenv("MP_SHARED_DIR");
    snprintf(buf, size, "%s/fat-vectors", shared && *shared ? shared : "../shared");
    DIR *d = opendir(buf);
    if (!d)
        return NULL;
    closedir(d);
    return buf;
}

static int hexval(char c)
{
    return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

static void unhex(const char *hex, char *out, size_t size)
{
    size_t n = strlen(hex) / 2;
    assert_true(n < size);
    for (size_t i = 0; i < n; i++)
        out[i] = (char)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
    out[n] = 0;
}

struct vector {
    char name[256];
    uint8_t *image;
    size_t len;
    struct jval m;
};

static int load_vector(const char *dir, const char *name, struct vector *v)
{
    char path[1400];
    memset(v, 0, sizeof *v);
    snprintf(v->name, sizeof v->name, "%s", name);
    snprintf(path, sizeof path, "%s/%s.json", dir, name);
    size_t len;
    uint8_t *text = test_read_file(path, &len);
    if (!text)
        return -1;
    assert_int_equal(j_parse((char *)text, len, &v->m), 0);
    free(text);
    snprintf(path, sizeof path, "%s/%s.img", dir, name);
    v->image = test_read_file(path, &v->len);
    assert_non_null(v->image);
    return 0;
}

static void free_vector(struct vector *v)
{
    free(v->image);
    j_free(&v->m);
}

/* Names of the vectors (sorted), NULL-terminated; NULL when the folder is absent. */
static char **vector_names(char *dir, size_t size)
{
    if (!vectors_dir(dir, size))
        return NULL;
    DIR *d = opendir(dir);
    char **names = calloc(64, sizeof *names);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < 63) {
        size_t l = strlen(de->d_name);
        if (l > 5 && !strcmp(de->d_name + l - 5, ".json")) {
            names[n] = strndup(de->d_name, l - 5);
            n++;
        }
    }
    closedir(d);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (strcmp(names[i], names[j]) > 0) {
                char *t = names[i];
                names[i] = names[j];
                names[j] = t;
            }
    return names;
}

static void free_names(char **names)
{
    for (int i = 0; names && names[i]; i++)
        free(names[i]);
    free(names);
}

/* The listing must be the manifest: the same entries in the same order, by MicroPython's path
 * bytes, type, size, SHA-256 and mtime. */
static void check_against_manifest(struct vector *v, struct listing *l)
{
    const struct jval *entries = j_get(&v->m, "entries");
    assert_non_null(entries);
    if (l->n != entries->n)
        print_message("%s: %zu entries read, manifest has %zu\n", v->name, l->n, entries->n);
    assert_int_equal(l->n, entries->n);
    for (size_t i = 0; i < entries->n; i++) {
        const struct jval *e = &entries->items[i];
        char path[1024];
        unhex(j_get(e, "mp_path_hex")->str, path, sizeof path);
        struct item *it = &l->v[i];
        if (strcmp(it->path, path)) {
            print_message("%s entry %zu: read '%s', manifest '%s'\n", v->name, i, it->path, path);
            fail();
        }
        assert_int_equal(it->is_dir, !strcmp(j_get(e, "type")->str, "dir"));
        if (!it->is_dir) {
            assert_int_equal(it->size, j_get(e, "size")->num);
            assert_string_equal(it->sha, j_get(e, "sha256")->str);
        }
        assert_int_equal(it->mtime, (int64_t)j_get(e, "mtime_epoch")->num);
    }
}

static void test_vectors_read(void **state)
{
    (void)state;
    char dir[1024];
    char **names = vector_names(dir, sizeof dir);
    if (!names)
        TEST_SKIP("no shared/fat-vectors");
    int seen = 0;
    for (int i = 0; names[i]; i++) {
        struct vector v;
        assert_int_equal(load_vector(dir, names[i], &v), 0);
        struct ram r = {v.image, (uint32_t)v.len};
        struct fat *fs = mount_ram(&r);
        struct fat_volinfo vi;
        fat_volinfo(fs, &vi);
        const struct jval *g = j_get(&v.m, "geometry");
        assert_int_equal(vi.sector_size, j_get(g, "sector_size")->num);
        assert_int_equal(vi.cluster_size, j_get(g, "cluster_size")->num);
        assert_int_equal(vi.clusters, j_get(g, "cluster_count")->num);
        assert_int_equal(vi.free_clusters, j_get(g, "free_clusters")->num);
        assert_int_equal(vi.fats, j_get(g, "num_fats")->num);
        char type[8];
        snprintf(type, sizeof type, "FAT%d", (int)vi.type);
        assert_string_equal(type, j_get(g, "fat_type")->str);
        struct listing l = {0};
        walk(fs, "/", &l);
        check_against_manifest(&v, &l);
        free(l.v);
        fat_unmount(fs);
        free_vector(&v);
        seen++;
    }
    assert_true(seen >= 9);
    free_names(names);
}

/* Names written by MicroPython get exactly the 8.3 forms and flags FatFs gave them. */
static void test_vectors_names(void **state)
{
    (void)state;
    char dir[1024];
    char **names = vector_names(dir, sizeof dir);
    if (!names)
        TEST_SKIP("no shared/fat-vectors");
    int checked = 0;
    for (int i = 0; names[i]; i++) {
        if (strncmp(names[i], "mp-", 3))
            continue;
        struct vector v;
        assert_int_equal(load_vector(dir, names[i], &v), 0);
        const struct jval *entries = j_get(&v.m, "entries");
        for (size_t k = 0; k < entries->n; k++) {
            const struct jval *e = &entries->items[k];
            char path[1024], sfn[16];
            unhex(j_get(e, "mp_path_hex")->str, path, sizeof path);
            unhex(j_get(e, "sfn_hex")->str, sfn, sizeof sfn);
            const char *base = strrchr(path, '/') + 1;
            struct fat_name nm;
            assert_int_equal(fat_name_make(base, strlen(base), &nm), 0);
            int ok = 0;
            if (nm.flags & NAME_LOSSY) {
                for (uint32_t seq = 1; seq < 100 && !ok; seq++) {
                    uint8_t num[11];
                    fat_sfn_numbered(num, nm.sfn, nm.lfn, seq);
                    ok = !memcmp(num, sfn, 11);
                }
            } else {
                ok = !memcmp(nm.sfn, sfn, 11);
            }
            if (!ok)
                print_message("%s: '%s' gives 8.3 '%.11s', FatFs wrote '%s'\n", v.name, base,
                              nm.sfn, sfn);
            assert_true(ok);
            assert_int_equal(!!(nm.flags & NAME_NEEDS_LFN), j_get(e, "has_lfn")->boolean);
            unsigned flags = (unsigned)strtoul(j_get(e, "nt_case_flags")->str, NULL, 16);
            assert_int_equal(nm.ntres, flags);
            checked++;
        }
        free_vector(&v);
    }
    assert_true(checked > 50);
    free_names(names);
}

/* A name written by the engine gets the very entries MicroPython wrote for it: long-name parts
 * (UTF-16 of the CP437 reading of the bytes, checksum, padding) and 8.3 entry name and flags. */
static void test_vectors_entries_as_micropython(void **state)
{
    (void)state;
    char dir[1024];
    if (!vectors_dir(dir, sizeof dir))
        TEST_SKIP("no shared/fat-vectors");
    struct vector v;
    assert_int_equal(load_vector(dir, "mp-tree-1m", &v), 0);
    const struct jval *g = j_get(&v.m, "geometry");
    uint32_t ss = (uint32_t)j_get(g, "sector_size")->num;
    const uint8_t *root = v.image + j_get(g, "first_root_dir_sector")->num * ss;
    uint32_t slots = (uint32_t)j_get(g, "root_entries")->num;
    const struct jval *entries = j_get(&v.m, "entries");
    int compared = 0;
    for (size_t k = 0; k < entries->n; k++) {
        const struct jval *e = &entries->items[k];
        char path[1024], sfn[16];
        unhex(j_get(e, "mp_path_hex")->str, path, sizeof path);
        unhex(j_get(e, "sfn_hex")->str, sfn, sizeof sfn);
        if (strchr(path + 1, '/') || !j_get(e, "has_lfn")->boolean)
            continue;
        /* a ~N other than ~1 came from a collision a fresh volume does not have */
        char *tilde = memchr(sfn, '~', 8);
        if (tilde && tilde[1] != '1')
            continue;
        uint32_t at = 0;
        while (at < slots && memcmp(root + at * 32, sfn, 11) != 0)
            at++;
        assert_true(at < slots);
        struct fat_name nm;
        assert_int_equal(fat_name_make(path + 1, strlen(path + 1), &nm), 0);
        uint32_t parts = (nm.lfn_len + 12) / 13;
        assert_true(at >= parts);
        struct ram r = new_ram(1u << 20);
        mkfs_ram(&r, 4096);
        struct fat *fs = mount_ram(&r);
        assert_int_equal(fat_write_file(fs, path, NULL, 0, 0), 0);
        fat_unmount(fs);
        const uint8_t *ours = r.data + 2 * ss; /* the root of a 1 MiB mkfs: sector 2 */
        if (memcmp(ours, root + (at - parts) * 32, parts * 32) != 0 ||
            memcmp(ours + parts * 32, root + at * 32, 11) != 0 ||
            ours[parts * 32 + 12] != root[at * 32 + 12]) {
            print_message("'%s': entries differ from MicroPython's\n", path);
            fail();
        }
        free(r.data);
        compared++;
    }
    assert_true(compared >= 6);
    free_vector(&v);
}

/* mkfs gives MicroPython's image: the empty vector byte for byte, the 512-byte one's boot
 * sector. */
static void test_vectors_mkfs(void **state)
{
    (void)state;
    char dir[1024];
    if (!vectors_dir(dir, sizeof dir))
        TEST_SKIP("no shared/fat-vectors");
    static const char *const names[] = {"mp-empty-1m", "mp-sec512-256k", "mp-tree-1m",
                                        "mp-nearly-full-256k", "mp-full-enospc-128k"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        struct vector v;
        assert_int_equal(load_vector(dir, names[i], &v), 0);
        const struct jval *g = j_get(&v.m, "geometry");
        uint32_t ss = (uint32_t)j_get(g, "sector_size")->num;
        uint32_t volid = (uint32_t)strtoul(j_get(g, "volume_id")->str, NULL, 16);
        struct ram r = new_ram((uint32_t)v.len);
        struct fat_dev dev = ram_dev(&r);
        struct fat_mkfs_opts o = {ss, fat_time_unpack((uint16_t)(volid >> 16), (uint16_t)volid)};
        assert_int_equal(fat_mkfs(&dev, &o), 0);
        if (!strcmp(names[i], "mp-empty-1m")) {
            assert_int_equal(r.size, v.len);
            assert_memory_equal(r.data, v.image, v.len);
        } else {
            /* the boot sector and the first FAT entries are what mkfs left */
            assert_memory_equal(r.data, v.image, 512);
            uint32_t data_sec = (uint32_t)j_get(g, "first_data_sector")->num;
            assert_int_equal(data_sec, 1 + j_get(g, "fat_size_sectors")->num +
                                           j_get(g, "root_dir_sectors")->num);
            assert_memory_equal(r.data + ss, v.image + ss, 3);
        }
        free(r.data);
        free_vector(&v);
    }
}

/* ------------------------------------------------ changed vectors: fsck.fat and mtools */

static int have_tool(const char *name)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", name);
    return system(cmd) == 0;
}

static int run(const char *cmd)
{
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The recursive listing mdir gives ("::/path" lines, directories with a trailing '/'), as a
 * sorted text. */
static char *mdir_listing(const char *img)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "MTOOLS_SKIP_CHECK=1 mdir -/ -b -i '%s' ::/ | LC_ALL=C sort", img);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n - 1, p)) > 0) {
        n += got;
        if (n + 1 == cap)
            buf = realloc(buf, cap *= 2);
    }
    buf[n] = 0;
    assert_int_equal(pclose(p), 0);
    return buf;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Our listing in mdir's form. */
static char *our_listing(struct fat *fs)
{
    struct listing l = {0};
    walk(fs, "/", &l);
    char **lines = calloc(l.n + 1, sizeof *lines);
    for (size_t i = 0; i < l.n; i++) {
        lines[i] = malloc(strlen(l.v[i].path) + 8);
        sprintf(lines[i], "::%s%s", l.v[i].path, l.v[i].is_dir ? "/" : "");
    }
    qsort(lines, l.n, sizeof *lines, cmp_str);
    size_t total = 1;
    for (size_t i = 0; i < l.n; i++)
        total += strlen(lines[i]) + 1;
    char *out = malloc(total);
    out[0] = 0;
    for (size_t i = 0; i < l.n; i++) {
        strcat(out, lines[i]);
        strcat(out, "\n");
        free(lines[i]);
    }
    free(lines);
    free(l.v);
    return out;
}

static void check_with_tools(struct ram *r, const char *what)
{
    char img[] = "/tmp/test_fat_XXXXXX";
    int fd = mkstemp(img);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, r->data, r->size), (ssize_t)r->size);
    close(fd);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "fsck.fat -n '%s' >/dev/null 2>&1", img);
    int rc = run(cmd);
    if (rc != 0) {
        snprintf(cmd, sizeof cmd, "fsck.fat -n '%s' >&2", img);
        run(cmd);
        print_message("%s: fsck.fat -n exit %d\n", what, rc);
        fail();
    }
    struct fat *fs = mount_ram(r);
    char *ours = our_listing(fs);
    fat_unmount(fs);
    char *theirs = mdir_listing(img);
    if (strcmp(ours, theirs))
        print_message("%s: listing differs\n--- ours\n%s--- mdir\n%s", what, ours, theirs);
    assert_string_equal(ours, theirs);
    free(ours);
    free(theirs);
    unlink(img);
}

/* Changes that ASCII names see the same way in every tool, applied to a volume. */
static void apply_changes(struct fat *fs, uint32_t cs)
{
    uint8_t *a = pattern(3 * cs + 5, 9);
    assert_int_equal(fat_mkdir(fs, "/new dir", 1707000000), 0);
    assert_int_equal(fat_mkdir(fs, "/new dir/sub", 1707000000), 0);
    assert_int_equal(
        fat_write_file(fs, "/new dir/sub/A file with a long name.bin", a, 3 * cs + 5, 1707000002),
        0);
    assert_int_equal(fat_write_file(fs, "/short.txt", a, 11, 1707000004), 0);
    assert_int_equal(fat_write_file(fs, "/short.txt", a, cs + 1, 1707000006), 0);
    assert_int_equal(fat_write_file(fs, "/Mixed Case.TXT", a, 0, 1707000008), 0);
    assert_int_equal(fat_rename(fs, "/short.txt", "/new dir/renamed short.txt"), 0);
    assert_int_equal(fat_rename(fs, "/new dir/sub", "/moved sub"), 0);
    assert_int_equal(fat_remove(fs, "/Mixed Case.TXT"), 0);
    for (int i = 0; i < 20; i++) {
        char p[80];
        snprintf(p, sizeof p, "/new dir/entry with a fairly long name %02d.dat", i);
        assert_int_equal(fat_write_file(fs, p, a + i, (uint32_t)i * 50, 1707000100), 0);
    }
    free(a);
}

static void test_vectors_changed_tools(void **state)
{
    (void)state;
    char dir[1024];
    char **names = vector_names(dir, sizeof dir);
    if (!names)
        TEST_SKIP("no shared/fat-vectors");
    if (!have_tool("fsck.fat") || !have_tool("mdir")) {
        free_names(names);
        TEST_SKIP("fsck.fat or mdir missing (scripts/install-deps.sh installs dosfstools and "
                  "mtools)");
    }
    for (int i = 0; names[i]; i++) {
        struct vector v;
        assert_int_equal(load_vector(dir, names[i], &v), 0);
        struct ram r = {v.image, (uint32_t)v.len};
        struct fat *fs = mount_ram(&r);
        struct fat_volinfo vi;
        fat_volinfo(fs, &vi);
        /* the full and the root-full vectors refuse; the others take the changes */
        if (vi.free_clusters >= 40 && strstr(names[i], "rootfull") == NULL) {
            apply_changes(fs, vi.cluster_size);
        } else {
            uint8_t x[8] = {0};
            int rc = fat_write_file(fs, "/x/../more.bin", x, sizeof x, 0);
            if (vi.free_clusters == 0 || strstr(names[i], "rootfull"))
                assert_int_equal(rc, FAT_ERR_NOSPC);
        }
        fat_unmount(fs);
        /* mtools shows non-ASCII names in its own code page: compare ASCII-only images */
        if (strncmp(names[i], "mp-tree", 7) && strncmp(names[i], "dos-fat12-s4096", 15))
            check_with_tools(&r, names[i]);
        else {
            char img[] = "/tmp/test_fat_XXXXXX";
            int fd = mkstemp(img);
            assert_int_equal(write(fd, r.data, r.size), (ssize_t)r.size);
            close(fd);
            char cmd[512];
            snprintf(cmd, sizeof cmd, "fsck.fat -n '%s' >/dev/null 2>&1", img);
            assert_int_equal(run(cmd), 0);
            unlink(img);
        }
        free_vector(&v);
    }
    /* and a fresh mkfs with the same changes */
    uint32_t sizes[][2] = {{1u << 20, 4096},
                           {256u << 10, 512},
                           {8u << 20, 512},
                           {64u << 20, 512}};
    for (int i = 0; i < 4; i++) {
        struct ram r = new_ram(sizes[i][0]);
        mkfs_ram(&r, sizes[i][1]);
        struct fat *fs = mount_ram(&r);
        struct fat_volinfo vi;
        fat_volinfo(fs, &vi);
        apply_changes(fs, vi.cluster_size);
        fat_unmount(fs);
        check_with_tools(&r, "mkfs");
        free(r.data);
    }
    free_names(names);
}

/* FAT32 (no vector covers it): a volume made by mkfs.fat and filled by mcopy reads back, takes
 * the changes, and passes fsck.fat and mdir, FSInfo included. */
static void test_fat32_by_dosfstools(void **state)
{
    (void)state;
    if (!have_tool("mkfs.fat") || !have_tool("mcopy") || !have_tool("fsck.fat"))
        TEST_SKIP("mkfs.fat, mcopy or fsck.fat missing (scripts/install-deps.sh installs "
                  "dosfstools and mtools)");
    char dir[] = "/tmp/test_fat32_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256], cmd[1024];
    uint8_t *a = pattern(70000, 11);
    snprintf(path, sizeof path, "%s/big file.bin", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(a, 1, 70000, f), 70000);
    fclose(f);
    snprintf(cmd, sizeof cmd,
             "cd '%s' && mkfs.fat -F 32 -S 512 -s 1 -i 12345678 -C vol.img 40960 >/dev/null && "
             "MTOOLS_SKIP_CHECK=1 mmd -i vol.img ::/sub && "
             "MTOOLS_SKIP_CHECK=1 mcopy -i vol.img 'big file.bin' ::/sub/",
             dir);
    assert_int_equal(run(cmd), 0);
    snprintf(path, sizeof path, "%s/vol.img", dir);
    size_t len;
    uint8_t *img = test_read_file(path, &len);
    assert_non_null(img);
    struct ram r = {img, (uint32_t)len};
    struct fat *fs = mount_ram(&r);
    struct fat_volinfo vi;
    fat_volinfo(fs, &vi);
    assert_int_equal(vi.type, FAT_TYPE_32);
    assert_int_equal(vi.root_entries, 0);
    assert_true(vi.clusters >= 65525);
    expect_file(fs, "/sub/big file.bin", a, 70000);
    apply_changes(fs, vi.cluster_size);
    assert_int_equal(fat_write_file(fs, "/sub/big file.bin", a + 1, 60000, 1707000000), 0);
    fat_unmount(fs);
    fs = mount_ram(&r);
    expect_file(fs, "/sub/big file.bin", a + 1, 60000);
    fat_unmount(fs);
    check_with_tools(&r, "FAT32");
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    run(cmd);
    free(img);
    free(a);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),         cmocka_unit_test(test_time),
        cmocka_unit_test(test_mkfs_geometry), cmocka_unit_test(test_changes_4096),
        cmocka_unit_test(test_changes_512),   cmocka_unit_test(test_changes_fat16),
        cmocka_unit_test(test_full),          cmocka_unit_test(test_grow),
        cmocka_unit_test(test_out_of_memory), cmocka_unit_test(test_fs_layer_mount),
    };
    const struct CMUnitTest shared[] = {
        cmocka_unit_test(test_vectors_read),
        cmocka_unit_test(test_vectors_names),
        cmocka_unit_test(test_vectors_entries_as_micropython),
        cmocka_unit_test(test_vectors_mkfs),
        cmocka_unit_test(test_vectors_changed_tools),
        cmocka_unit_test(test_fat32_by_dosfstools),
    };
    return test_main(argc, argv, tests, sizeof tests / sizeof tests[0], shared,
                     sizeof shared / sizeof shared[0]);
}
