/* The littlefs engine against the shared vector images (shared/littlefs-vectors): every
 * image lists and reads back exactly as its manifest says, and keeps doing so (plus the
 * changes) after being modified and remounted. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <openssl/sha.h>

#include "test_lfs_dev.h"
#include "test_shared.h"

#define MAX_VECTORS 32

struct vector {
    char name[256];
    uint8_t *image; /* whole file */
    size_t image_len;
    struct jval manifest;
};

struct walked {
    char path[1024];
    int type;
    uint32_t size;
    char sha[65];
    int has_mtime;
    uint64_t mtime;
};

struct walk {
    struct walked *e;
    size_t n, cap;
};

static const char *vectors_dir(char *buf, size_t size)
{
    const char *shared = getenv("MP_SHARED_DIR");
    snprintf(buf, size, "%s/littlefs-vectors", shared && *shared ? shared : "../shared");
    DIR *d = opendir(buf);
    if (!d)
        return NULL;
    closedir(d);
    return buf;
}

static int load_vectors(struct vector *v, int max)
{
    char dir[1024];
    if (!vectors_dir(dir, sizeof dir))
        return -1;
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    char *names[MAX_VECTORS];
    while ((de = readdir(d)) && n < max) {
        size_t l = strlen(de->d_name);
        if (l > 5 && !strcmp(de->d_name + l - 5, ".json"))
            names[n++] = strdup(de->d_name);
    }
    closedir(d);
    /* stable order */
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (strcmp(names[i], names[j]) > 0) {
                char *t = names[i];
                names[i] = names[j];
                names[j] = t;
            }
    int got = 0;
    for (int i = 0; i < n; i++) {
        char path[1400];
        size_t len = 0;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        uint8_t *text = test_read_file(path, &len);
        assert_non_null(text);
        struct vector *x = &v[got];
        memset(x, 0, sizeof *x);
        assert_int_equal(j_parse((char *)text, len, &x->manifest), 0);
        free(text);
        const struct jval *img = j_get(&x->manifest, "image");
        assert_non_null(img);
        snprintf(x->name, sizeof x->name, "%s", img->str);
        snprintf(path, sizeof path, "%s/%s", dir, img->str);
        x->image = test_read_file(path, &x->image_len);
        assert_non_null(x->image);
        got++;
        free(names[i]);
    }
    return got;
}

static void free_vectors(struct vector *v, int n)
{
    for (int i = 0; i < n; i++) {
        free(v[i].image);
        j_free(&v[i].manifest);
    }
}

static void sha_hex(const uint8_t *data, size_t len, char out[65])
{
    uint8_t md[SHA256_DIGEST_LENGTH];
    SHA256(data, len, md);
    for (int i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", md[i]);
}

/* littlefs name order (littlefs.md §6.1) */
static int lfs_order(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    int r = memcmp(a, b, la < lb ? la : lb);
    if (r)
        return r;
    return la > lb ? -1 : la < lb ? 1 : 0;
}

static uint8_t *read_file(lfs_t *lfs, const char *path, uint32_t *len)
{
    lfs_file_t f;
    int err = lfs_file_open(lfs, &f, path, LFS_O_RDONLY);
    if (err) {
        fail_msg("open %s: %s", path, lfs_err_name(err));
    }
    lfs_soff_t size = lfs_file_size(lfs, &f);
    assert_true(size >= 0);
    uint8_t *buf = malloc((size_t)size + 1);
    /* read in odd-sized pieces to cross block boundaries at various offsets */
    uint32_t got = 0;
    uint32_t piece = 1000;
    while (got < (uint32_t)size) {
        lfs_ssize_t n = lfs_file_read(lfs, &f, buf + got, piece);
        assert_true(n > 0);
        got += (uint32_t)n;
        piece = piece * 3 % 7919 + 1;
    }
    assert_int_equal(lfs_file_read(lfs, &f, buf, 10), 0);
    assert_int_equal(lfs_file_close(lfs, &f), 0);
    *len = got;
    return buf;
}

static void walk_dir(lfs_t *lfs, const char *path, struct walk *w, int depth)
{
    assert_true(depth < 64);
    lfs_dir_t d;
    int err = lfs_dir_open(lfs, &d, path);
    if (err)
        fail_msg("dir_open %s: %s", path, lfs_err_name(err));
    struct lfs_info info;
    char prev[LFS_NAME_MAX + 1] = "";
    int first = 1;
    char (*subdirs)[LFS_NAME_MAX + 1] = NULL;
    size_t nsub = 0;
    while ((err = lfs_dir_read(lfs, &d, &info)) > 0) {
        /* on-disk order is littlefs name order */
        if (!first)
            assert_true(lfs_order(prev, info.name) < 0);
        first = 0;
        strcpy(prev, info.name);
        if (w->n == w->cap) {
            w->cap = w->cap ? w->cap * 2 : 64;
            w->e = realloc(w->e, w->cap * sizeof *w->e);
        }
        struct walked *e = &w->e[w->n++];
        memset(e, 0, sizeof *e);
        assert_true(snprintf(e->path, sizeof e->path, "%s%s%s", path,
                             strcmp(path, "/") ? "/" : "", info.name) < (int)sizeof e->path);
        e->type = info.type;
        e->size = info.size;
        struct lfs_info st;
        assert_int_equal(lfs_stat(lfs, e->path, &st), 0);
        assert_int_equal(st.type, info.type);
        assert_int_equal(st.size, info.size);
        uint8_t mt[8];
        lfs_ssize_t r = lfs_getattr(lfs, e->path, LFS_ATTR_MTIME, mt, 8);
        if (r == 8) {
            e->has_mtime = 1;
            for (int i = 7; i >= 0; i--)
                e->mtime = e->mtime << 8 | mt[i];
        } else {
            assert_int_equal(r, LFS_ERR_NOATTR);
        }
        if (info.type == LFS_TYPE_REG) {
            uint32_t len;
            uint8_t *data = read_file(lfs, e->path, &len);
            assert_int_equal(len, info.size);
            sha_hex(data, len, e->sha);
            free(data);
        } else {
            subdirs = realloc(subdirs, (nsub + 1) * sizeof *subdirs);
            strcpy(subdirs[nsub++], info.name);
        }
    }
    assert_int_equal(err, 0);
    assert_int_equal(lfs_dir_close(lfs, &d), 0);
    for (size_t i = 0; i < nsub; i++) {
        char sub[1024];
        assert_true(snprintf(sub, sizeof sub, "%s%s%s", path, strcmp(path, "/") ? "/" : "",
                             subdirs[i]) < (int)sizeof sub);
        walk_dir(lfs, sub, w, depth + 1);
    }
    free(subdirs);
}

static const struct walked *walk_find(const struct walk *w, const char *path)
{
    for (size_t i = 0; i < w->n; i++)
        if (!strcmp(w->e[i].path, path))
            return &w->e[i];
    return NULL;
}

static uint32_t version_of(const char *s)
{
    return !strcmp(s, "2.0") ? LFS_DISK_VERSION_2_0 : LFS_DISK_VERSION_2_1;
}

/* Everything in the manifest (minus `skip` paths) is there exactly; returns how many. */
static size_t check_manifest(lfs_t *lfs, const struct jval *m, const struct walk *w,
                             const char *const *skip, int nskip, const char *name)
{
    const struct jval *entries = j_get(m, "entries");
    assert_non_null(entries);
    size_t checked = 0;
    for (size_t i = 0; i < entries->n; i++) {
        const struct jval *e = &entries->items[i];
        const char *path = j_get(e, "path")->str;
        int skipped = 0;
        for (int k = 0; k < nskip; k++)
            if (!strcmp(skip[k], path))
                skipped = 1;
        if (skipped)
            continue;
        const struct walked *x = walk_find(w, path);
        if (!x)
            fail_msg("%s: %s missing", name, path);
        int isdir = !strcmp(j_get(e, "type")->str, "dir");
        assert_int_equal(x->type, isdir ? LFS_TYPE_DIR : LFS_TYPE_REG);
        if (!isdir) {
            assert_int_equal(x->size, (uint32_t)j_get(e, "size")->num);
            if (strcmp(x->sha, j_get(e, "sha256")->str))
                fail_msg("%s: %s content differs", name, path);
        }
        const struct jval *mt = j_get(e, "mtime_ns");
        if (mt && mt->type == J_NUM) {
            assert_true(x->has_mtime);
            assert_true(x->mtime == mt->num);
        } else {
            assert_false(x->has_mtime);
        }
        checked++;
    }
    (void)lfs;
    return checked;
}

struct mounted {
    uint8_t *region; /* copy of the fs region, device blocks = region / 4096 */
    struct ramdev dev;
    lfs_t lfs;
};

static void mount_vector(struct mounted *mt, const struct vector *v, uint32_t dev_blocks)
{
    uint32_t off = (uint32_t)j_get(&v->manifest, "fs_offset")->num;
    uint32_t size = (uint32_t)j_get(&v->manifest, "fs_size")->num;
    uint32_t blocks = dev_blocks ? dev_blocks : size / 4096;
    mt->region = malloc((size_t)blocks * 4096);
    memset(mt->region, 0xFF, (size_t)blocks * 4096);
    uint32_t avail = (uint32_t)v->image_len - off;
    memcpy(mt->region, v->image + off, avail < (size_t)blocks * 4096 ? avail : (size_t)blocks * 4096);
    ramdev_init(&mt->dev, mt->region, 4096, blocks);
    int err = lfs_mount(&mt->lfs, &mt->dev.cfg);
    if (err)
        fail_msg("%s: mount: %s", v->name, lfs_err_name(err));
}

static void test_vectors_read(void **state)
{
    (void)state;
    static struct vector v[MAX_VECTORS];
    int n = load_vectors(v, MAX_VECTORS);
    if (n < 0) {
        TEST_SKIP("littlefs vectors not found (set MP_SHARED_DIR)");
    }
    assert_true(n > 0);
    for (int i = 0; i < n; i++) {
        struct mounted mt;
        mount_vector(&mt, &v[i], 0);
        struct lfs_fsinfo info;
        assert_int_equal(lfs_fs_stat(&mt.lfs, &info), 0);
        assert_int_equal(info.block_count, (uint32_t)j_get(&v[i].manifest, "block_count")->num);
        assert_int_equal(info.block_size, 4096);
        assert_int_equal(info.disk_version,
                         version_of(j_get(&v[i].manifest, "disk_version")->str));
        struct walk w = {0};
        walk_dir(&mt.lfs, "/", &w, 0);
        size_t checked = check_manifest(&mt.lfs, &v[i].manifest, &w, NULL, 0, v[i].name);
        /* and nothing more (a pending move's source is hidden, etc.) */
        assert_int_equal(checked, w.n);
        const struct jval *hides = j_get(&v[i].manifest, "reference_readonly_view_hides");
        for (size_t k = 0; hides && k < hides->n; k++)
            assert_non_null(walk_find(&w, hides->items[k].str));
        const struct jval *pend = j_get(&v[i].manifest, "pending");
        if (pend && !strcmp(pend->str, "move")) {
            char src[600];
            snprintf(src, sizeof src, "%s/%s", j_get(&v[i].manifest, "move_source_dir")->str,
                     j_get(&v[i].manifest, "move_source_name")->str);
            struct lfs_info st;
            assert_int_equal(lfs_stat(&mt.lfs, src, &st), LFS_ERR_NOENT);
        }
        lfs_ssize_t used = lfs_fs_size(&mt.lfs);
        assert_true(used >= 2 && (uint32_t)used <= info.block_count);
        print_message("%-40s %4zu entries, %u/%u blocks used, disk %u.%u%s%s\n", v[i].name, w.n,
                      (unsigned)used, info.block_count, info.disk_version >> 16,
                      info.disk_version & 0xFFFF, pend ? ", pending " : "",
                      pend ? pend->str : "");
        free(w.e);
        assert_int_equal(lfs_unmount(&mt.lfs), 0);
        assert_int_equal(mt.dev.progs + mt.dev.erases, 0); /* reading writes nothing */
        free(mt.region);
    }
    free_vectors(v, n);
}

static void fill_pattern(uint8_t *buf, size_t n, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[i] = (uint8_t)x;
    }
}

static void write_file(lfs_t *lfs, const char *path, const uint8_t *data, uint32_t len)
{
    lfs_file_t f;
    int err = lfs_file_open(lfs, &f, path, LFS_O_WRONLY | LFS_O_CREAT | LFS_O_TRUNC);
    if (err)
        fail_msg("open %s for writing: %s", path, lfs_err_name(err));
    assert_int_equal(lfs_file_write(lfs, &f, data, len), (lfs_ssize_t)len);
    assert_int_equal(lfs_file_close(lfs, &f), 0);
}

static void check_file(lfs_t *lfs, const char *path, const uint8_t *data, uint32_t len)
{
    uint32_t got;
    uint8_t *buf = read_file(lfs, path, &got);
    assert_int_equal(got, len);
    assert_memory_equal(buf, data, len);
    free(buf);
}

/* First regular file in the manifest that is not in `avoid`. */
static const struct jval *pick_file(const struct jval *m, const char *avoid)
{
    const struct jval *entries = j_get(m, "entries");
    for (size_t i = 0; i < entries->n; i++) {
        const struct jval *e = &entries->items[i];
        if (!strcmp(j_get(e, "type")->str, "file") &&
            (!avoid || strcmp(j_get(e, "path")->str, avoid)))
            return e;
    }
    return NULL;
}

static void test_vectors_modify(void **state)
{
    (void)state;
    static struct vector v[MAX_VECTORS];
    int n = load_vectors(v, MAX_VECTORS);
    if (n < 0) {
        TEST_SKIP("littlefs vectors not found (set MP_SHARED_DIR)");
    }
    static uint8_t big[30000], small[100];
    fill_pattern(big, sizeof big, 7);
    fill_pattern(small, sizeof small, 8);
    for (int i = 0; i < n; i++) {
        struct mounted mt;
        mount_vector(&mt, &v[i], 0);
        uint32_t version = version_of(j_get(&v[i].manifest, "disk_version")->str);
        const struct jval *rm = pick_file(&v[i].manifest, NULL);
        const struct jval *mv = rm ? pick_file(&v[i].manifest, j_get(rm, "path")->str) : NULL;
        char rm_path[1024] = "", mv_path[1024] = "";
        if (rm)
            snprintf(rm_path, sizeof rm_path, "%s", j_get(rm, "path")->str);
        if (mv)
            snprintf(mv_path, sizeof mv_path, "%s", j_get(mv, "path")->str);
        int err = lfs_mkdir(&mt.lfs, "/zz-new");
        if (err)
            fail_msg("%s: mkdir: %s", v[i].name, lfs_err_name(err));
        write_file(&mt.lfs, "/zz-new/big.bin", big, sizeof big);
        write_file(&mt.lfs, "/small.txt", small, sizeof small);
        if (rm)
            assert_int_equal(lfs_remove(&mt.lfs, rm_path), 0);
        if (mv)
            assert_int_equal(lfs_rename(&mt.lfs, mv_path, "/zz-new/renamed"), 0);
        assert_int_equal(lfs_unmount(&mt.lfs), 0);
        assert_int_equal(mt.dev.overwrites, 0);
        assert_int_equal(mt.dev.misaligned, 0);
        /* remount and check old and new */
        assert_int_equal(lfs_mount(&mt.lfs, &mt.dev.cfg), 0);
        struct lfs_fsinfo info;
        assert_int_equal(lfs_fs_stat(&mt.lfs, &info), 0);
        assert_int_equal(info.disk_version, version);
        struct walk w = {0};
        walk_dir(&mt.lfs, "/", &w, 0);
        const char *skip[2] = {rm_path, mv_path};
        size_t checked = check_manifest(&mt.lfs, &v[i].manifest, &w, skip, 2, v[i].name);
        size_t extra = 3 + (mv ? 1 : 0); /* /zz-new, big.bin, small.txt, renamed */
        if (walk_find(&w, "/small.txt") && checked + extra != w.n)
            fail_msg("%s: %zu entries checked + %zu new != %zu listed", v[i].name, checked,
                     extra, w.n);
        check_file(&mt.lfs, "/zz-new/big.bin", big, sizeof big);
        check_file(&mt.lfs, "/small.txt", small, sizeof small);
        if (mv) {
            const struct walked *x = walk_find(&w, "/zz-new/renamed");
            assert_non_null(x);
            assert_string_equal(x->sha, j_get(mv, "sha256")->str);
        }
        struct lfs_info st;
        if (rm)
            assert_int_equal(lfs_stat(&mt.lfs, rm_path, &st), LFS_ERR_NOENT);
        free(w.e);
        assert_int_equal(lfs_unmount(&mt.lfs), 0);
        free(mt.region);
    }
    free_vectors(v, n);
}

/* Grow: pregrow (64 blocks in a 128-block region) grows to 128; every copy of the superblock
 * says so and the contents stay. */
static void test_vector_grow(void **state)
{
    (void)state;
    static struct vector v[MAX_VECTORS];
    int n = load_vectors(v, MAX_VECTORS);
    if (n < 0) {
        TEST_SKIP("littlefs vectors not found (set MP_SHARED_DIR)");
    }
    int done = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(v[i].name, "ref-pregrow-512k.img"))
            continue;
        struct mounted mt;
        mount_vector(&mt, &v[i], 128);
        assert_int_equal(lfs_fs_grow(&mt.lfs, 32), LFS_ERR_INVAL);
        assert_int_equal(lfs_fs_grow(&mt.lfs, 128), 0);
        assert_int_equal(lfs_unmount(&mt.lfs), 0);
        mt.dev.cfg.block_count = 128; /* as MicroPython mounts: must match */
        assert_int_equal(lfs_mount(&mt.lfs, &mt.dev.cfg), 0);
        struct walk w = {0};
        walk_dir(&mt.lfs, "/", &w, 0);
        assert_int_equal(check_manifest(&mt.lfs, &v[i].manifest, &w, NULL, 0, v[i].name), w.n);
        /* the new blocks are usable */
        static uint8_t big[300000];
        fill_pattern(big, sizeof big, 3);
        write_file(&mt.lfs, "/fill.bin", big, sizeof big);
        check_file(&mt.lfs, "/fill.bin", big, sizeof big);
        free(w.e);
        assert_int_equal(lfs_unmount(&mt.lfs), 0);
        mt.dev.cfg.block_count = 64;
        assert_int_equal(lfs_mount(&mt.lfs, &mt.dev.cfg), LFS_ERR_INVAL);
        free(mt.region);
        done = 1;
    }
    assert_true(done);
    /* an expanded superblock chain has two copies: both must carry the new count, or a mount
     * with the partition's block count (as MicroPython does) fails on the stale one */
    done = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(v[i].name, "mp-sbexpand-512k.img"))
            continue;
        struct mounted mt;
        mount_vector(&mt, &v[i], 160);
        assert_int_equal(lfs_fs_grow(&mt.lfs, 160), 0);
        assert_int_equal(lfs_unmount(&mt.lfs), 0);
        mt.dev.cfg.block_count = 160;
        assert_int_equal(lfs_mount(&mt.lfs, &mt.dev.cfg), 0);
        struct walk w = {0};
        walk_dir(&mt.lfs, "/", &w, 0);
        assert_int_equal(check_manifest(&mt.lfs, &v[i].manifest, &w, NULL, 0, v[i].name), w.n);
        free(w.e);
        assert_int_equal(lfs_unmount(&mt.lfs), 0);
        /* count the superblock records holding the new block count */
        int copies = 0;
        for (uint32_t b = 0; b < 160; b++)
            for (uint32_t o = 0; o + 32 <= 4096; o++)
                if (!memcmp(mt.region + (size_t)b * 4096 + o, "littlefs", 8))
                    copies++;
        assert_true(copies >= 2);
        free(mt.region);
        done = 1;
    }
    assert_true(done);
    free_vectors(v, n);
}

/* Power cuts during the first change to an image with pending state (a half-done rename,
 * an orphaned directory pair, a torn commit, a 2.0 image): the fixes done before the change
 * (move completion, deorphan, compaction of the torn pair) must be power-safe too. */
static void test_vectors_first_write_powercut(void **state)
{
    (void)state;
    static struct vector v[MAX_VECTORS];
    int n = load_vectors(v, MAX_VECTORS);
    if (n < 0) {
        TEST_SKIP("littlefs vectors not found (set MP_SHARED_DIR)");
    }
    static uint8_t small[300];
    fill_pattern(small, sizeof small, 9);
    unsigned cuts = 0, images = 0;
    for (int i = 0; i < n; i++) {
        const struct jval *pend = j_get(&v[i].manifest, "pending");
        int v20 = !strcmp(j_get(&v[i].manifest, "disk_version")->str, "2.0");
        if (!pend && !v20)
            continue;
        /* how many program/erase operations the change takes uncut */
        struct mounted mt;
        mount_vector(&mt, &v[i], 0);
        write_file(&mt.lfs, "/after.txt", small, sizeof small);
        long total = (long)(mt.dev.progs + mt.dev.erases);
        assert_int_equal(lfs_unmount(&mt.lfs), 0);
        free(mt.region);
        for (long cut = 0; cut < total; cut++) {
            mount_vector(&mt, &v[i], 0);
            mt.dev.ops_left = cut;
            lfs_file_t f;
            if (lfs_file_open(&mt.lfs, &f, "/after.txt", LFS_O_WRONLY | LFS_O_CREAT) == 0) {
                lfs_file_write(&mt.lfs, &f, small, sizeof small);
                lfs_file_close(&mt.lfs, &f);
            }
            lfs_unmount(&mt.lfs);
            mt.dev.cut = 0;
            mt.dev.ops_left = -1;
            int err = lfs_mount(&mt.lfs, &mt.dev.cfg);
            if (err)
                fail_msg("%s cut %ld: mount: %s", v[i].name, cut, lfs_err_name(err));
            struct walk w = {0};
            walk_dir(&mt.lfs, "/", &w, 0);
            size_t checked = check_manifest(&mt.lfs, &v[i].manifest, &w, NULL, 0, v[i].name);
            const struct walked *after = walk_find(&w, "/after.txt");
            if (after)
                check_file(&mt.lfs, "/after.txt", small, sizeof small);
            assert_int_equal(checked + (after ? 1 : 0), w.n);
            free(w.e);
            /* and the next change works and completes everything */
            write_file(&mt.lfs, "/after2.txt", small, 10);
            assert_int_equal(lfs_unmount(&mt.lfs), 0);
            assert_int_equal(lfs_mount(&mt.lfs, &mt.dev.cfg), 0);
            memset(&w, 0, sizeof w);
            walk_dir(&mt.lfs, "/", &w, 0);
            checked = check_manifest(&mt.lfs, &v[i].manifest, &w, NULL, 0, v[i].name);
            assert_int_equal(checked + (after ? 2 : 1), w.n);
            free(w.e);
            struct lfs_fsinfo info;
            assert_int_equal(lfs_fs_stat(&mt.lfs, &info), 0);
            assert_int_equal(info.disk_version, v20 ? LFS_DISK_VERSION_2_0 : LFS_DISK_VERSION_2_1);
            assert_int_equal(lfs_unmount(&mt.lfs), 0);
            assert_int_equal(mt.dev.overwrites, 0);
        assert_int_equal(mt.dev.misaligned, 0);
            free(mt.region);
            cuts++;
        }
        images++;
        print_message("%-40s first change: %ld program/erase operations, each cut tested\n",
                      v[i].name, total);
    }
    print_message("power cuts tested on vector images: %u over %u images\n", cuts, images);
    assert_true(images > 0);
    free_vectors(v, n);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors_read),
        cmocka_unit_test(test_vectors_modify),
        cmocka_unit_test(test_vector_grow),
        cmocka_unit_test(test_vectors_first_write_powercut),
    };
    return test_main(argc, argv, tests, sizeof tests / sizeof tests[0], NULL, 0);
}
