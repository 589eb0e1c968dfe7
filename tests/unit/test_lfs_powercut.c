/* Power-cut sweep: for every operation of a script, cut the power after 0, 1, 2, ... program
 * or erase operations (the one hit is left half done), power on, remount: the filesystem must
 * mount and show either the state before or the state after the interrupted operation, and
 * must then accept further changes (completing pending moves, removing orphans). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "lfs/lfs_meta.h"
#include "test_lfs_dev.h"
#include "test_lfs_model.h"

/* geometry of the current sweep: a 256 KiB filesystem in a 384 KiB device */
static uint32_t BS, BLOCKS, DEV_BLOCKS, PROG;

static uint8_t pattern[40000];

static void setgeom(struct ramdev *d)
{
    d->cfg.read_size = PROG;
    d->cfg.prog_size = PROG;
    d->cfg.cache_size = 4 * PROG;
}

static int put(lfs_t *lfs, const char *path, uint32_t seed, uint32_t len)
{
    lfs_file_t f;
    int err = lfs_file_open(lfs, &f, path, LFS_O_WRONLY | LFS_O_CREAT | LFS_O_TRUNC);
    if (err)
        return err;
    lfs_ssize_t w = lfs_file_write(lfs, &f, pattern + seed, len);
    int cerr = lfs_file_close(lfs, &f);
    return w < 0 ? (int)w : cerr;
}

static int put_at(lfs_t *lfs, const char *path, int flags, int32_t at, uint32_t seed,
                  uint32_t len)
{
    lfs_file_t f;
    int err = lfs_file_open(lfs, &f, path, flags);
    if (err)
        return err;
    if (at >= 0)
        lfs_file_seek(lfs, &f, at, LFS_SEEK_SET);
    lfs_ssize_t w = lfs_file_write(lfs, &f, pattern + seed, len);
    int cerr = lfs_file_close(lfs, &f);
    return w < 0 ? (int)w : cerr;
}

static void mset(struct model *m, const char *path, uint32_t seed, uint32_t len)
{
    model_set(m, path, pattern + seed, len);
}

static void mpatch(struct model *m, const char *path, uint32_t at, uint32_t seed, uint32_t len)
{
    struct mnode *x = model_find(m, path);
    uint32_t ns = at + len > x->size ? at + len : x->size;
    uint8_t *d = calloc(ns, 1);
    memcpy(d, x->data, x->size);
    memcpy(d + at, pattern + seed, len);
    model_set(m, path, d, ns);
    free(d);
}

static void mtrunc(struct model *m, const char *path, uint32_t size)
{
    struct mnode *x = model_find(m, path);
    uint8_t *d = calloc(size + 1, 1);
    memcpy(d, x->data, size < x->size ? size : x->size);
    model_set(m, path, d, size);
    free(d);
}

/* The script: each step changes the filesystem and the model the same way. */
static int step(lfs_t *lfs, struct model *m, int i, const char **name)
{
    int err = 0;
    lfs_file_t f;
    static const uint8_t mtime[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    switch (i) {
    case 0:
        *name = "create inline file";
        if (m) mset(m, "/a.txt", 1, 50);
        return lfs ? put(lfs, "/a.txt", 1, 50) : 0;
    case 1:
        *name = "write CTZ file";
        if (m) mset(m, "/big.bin", 2, 20000);
        return lfs ? put(lfs, "/big.bin", 2, 20000) : 0;
    case 2:
        *name = "overwrite inside CTZ file";
        if (m) mpatch(m, "/big.bin", 5000, 3, 3000);
        return lfs ? put_at(lfs, "/big.bin", LFS_O_RDWR, 5000, 3, 3000) : 0;
    case 3:
        *name = "append to CTZ file";
        if (m) mpatch(m, "/big.bin", 20000, 4, 6000);
        return lfs ? put_at(lfs, "/big.bin", LFS_O_WRONLY | LFS_O_APPEND, -1, 4, 6000) : 0;
    case 4:
        *name = "create file among many (compaction/split)";
        if (m) mset(m, "/many/f-new", 5, 90);
        return lfs ? put(lfs, "/many/f-new", 5, 90) : 0;
    case 5:
        *name = "mkdir";
        if (m) model_add(m, "/d1", 1);
        return lfs ? lfs_mkdir(lfs, "/d1") : 0;
    case 6:
        *name = "mkdir in a split directory";
        if (m) model_add(m, "/many/dd", 1);
        return lfs ? lfs_mkdir(lfs, "/many/dd") : 0;
    case 7:
        *name = "write CTZ file in subdir";
        if (m) mset(m, "/d1/x.bin", 6, 9000);
        return lfs ? put(lfs, "/d1/x.bin", 6, 9000) : 0;
    case 8:
        *name = "rename across directories";
        if (m) model_rename(m, "/d1/x.bin", "/many/dd/y.bin");
        return lfs ? lfs_rename(lfs, "/d1/x.bin", "/many/dd/y.bin") : 0;
    case 9:
        *name = "rename in the same pair";
        if (m) model_rename(m, "/a.txt", "/b.txt");
        return lfs ? lfs_rename(lfs, "/a.txt", "/b.txt") : 0;
    case 10:
        *name = "rename over an existing file";
        if (m) model_rename(m, "/many/dd/y.bin", "/b.txt");
        return lfs ? lfs_rename(lfs, "/many/dd/y.bin", "/b.txt") : 0;
    case 11:
        *name = "rmdir";
        if (m) model_del(m, "/d1");
        return lfs ? lfs_remove(lfs, "/d1") : 0;
    case 12:
        *name = "mkdir at the root";
        if (m) model_add(m, "/e", 1);
        return lfs ? lfs_mkdir(lfs, "/e") : 0;
    case 13:
        *name = "rename directory over an empty directory";
        if (m) model_rename(m, "/many/dd", "/e");
        return lfs ? lfs_rename(lfs, "/many/dd", "/e") : 0;
    case 14:
        *name = "truncate CTZ back to inline";
        if (m) mtrunc(m, "/big.bin", 100);
        if (!lfs)
            return 0;
        err = lfs_file_open(lfs, &f, "/big.bin", LFS_O_RDWR);
        if (err)
            return err;
        err = lfs_file_truncate(lfs, &f, 100);
        return lfs_file_close(lfs, &f) ? LFS_ERR_IO : err;
    case 15:
        *name = "set attribute";
        return lfs ? lfs_setattr(lfs, "/b.txt", LFS_ATTR_MTIME, mtime, 8) : 0;
    case 16:
        *name = "remove file from a split directory";
        if (m) model_del(m, "/many/f07");
        return lfs ? lfs_remove(lfs, "/many/f07") : 0;
    case 17:
        *name = "grow";
        return lfs ? lfs_fs_grow(lfs, DEV_BLOCKS - 8) : 0;
    case 18:
        *name = "write large file after grow";
        if (m) mset(m, "/late.bin", 7, 30000);
        return lfs ? put(lfs, "/late.bin", 7, 30000) : 0;
    default:
        return -1000;
    }
}

static void check_or_fail(lfs_t *lfs, const struct model *a, const struct model *b,
                          const char *what, int cut, int *which)
{
    char why_a[512], why_b[512] = "";
    if (!fs_matches(lfs, a, why_a, sizeof why_a)) {
        *which = 0;
        return;
    }
    if (b && !fs_matches(lfs, b, why_b, sizeof why_b)) {
        *which = 1;
        return;
    }
    fail_msg("%s, cut after %d operations: neither old (%s) nor new (%s) state", what, cut,
             why_a, why_b);
}

static void sweep(uint32_t block_size, uint32_t prog)
{
    BS = block_size;
    PROG = prog;
    BLOCKS = 256 * 1024 / BS;
    DEV_BLOCKS = 384 * 1024 / BS;
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof pattern; i++)
        pattern[i] = (uint8_t)rnd_next(&x);
    static uint8_t img[384 * 1024], work[384 * 1024];
    memset(img, 0xFF, sizeof img);
    struct ramdev dev;
    lfs_t lfs;
    struct model m = {0};
    /* base image: a directory big enough to be split over several pairs */
    ramdev_init(&dev, img, BS, DEV_BLOCKS);
    setgeom(&dev);
    dev.cfg.block_count = BLOCKS;
    assert_int_equal(lfs_format(&lfs, &dev.cfg), 0);
    dev.cfg.block_count = 0;
    assert_int_equal(lfs_mount(&lfs, &dev.cfg), 0);
    assert_int_equal(lfs_mkdir(&lfs, "/many"), 0);
    model_add(&m, "/many", 1);
    for (int i = 0; i < 60; i++) {
        char p[32];
        snprintf(p, sizeof p, "/many/f%02d", i);
        assert_int_equal(put(&lfs, p, (uint32_t)i * 7, 40 + (uint32_t)i), 0);
        mset(&m, p, (uint32_t)i * 7, 40 + (uint32_t)i);
    }
    assert_int_equal(lfs_unmount(&lfs), 0);

    unsigned cuts = 0, steps = 0, saw_old = 0, saw_new = 0;
    for (int s = 0;; s++) {
        const char *name = NULL;
        if (step(NULL, NULL, s, &name) == -1000)
            break;
        struct model after;
        model_copy(&after, &m);
        step(NULL, &after, s, &name);
        /* uncut run: how many operations the step takes */
        memcpy(work, img, sizeof img);
        ramdev_init(&dev, work, BS, DEV_BLOCKS);
        setgeom(&dev);
        assert_int_equal(lfs_mount(&lfs, &dev.cfg), 0);
        int err = step(&lfs, NULL, s, &name);
        if (err)
            fail_msg("step %s: %s", name, lfs_err_name(err));
        assert_int_equal(lfs_unmount(&lfs), 0);
        long total = (long)(dev.progs + dev.erases);
        assert_int_equal(lfs_mount(&lfs, &dev.cfg), 0);
        char why[512];
        if (fs_matches(&lfs, &after, why, sizeof why))
            fail_msg("step %s: %s", name, why);
        assert_int_equal(lfs_unmount(&lfs), 0);
        for (long cut = 0; cut < total; cut++) {
            memcpy(work, img, sizeof img);
            ramdev_init(&dev, work, BS, DEV_BLOCKS);
            setgeom(&dev);
        setgeom(&dev);
            assert_int_equal(lfs_mount(&lfs, &dev.cfg), 0);
            dev.ops_left = cut;
            err = step(&lfs, NULL, s, &name);
            lfs_unmount(&lfs); /* only frees RAM: the power is gone */
            /* power on */
            dev.cut = 0;
            dev.ops_left = -1;
            err = lfs_mount(&lfs, &dev.cfg);
            if (err)
                fail_msg("%s, cut after %ld: mount: %s", name, cut, lfs_err_name(err));
            int which = 0;
            check_or_fail(&lfs, &m, &after, name, (int)cut, &which);
            which ? saw_new++ : saw_old++;
            /* the next change completes whatever was pending, and everything stays */
            struct model next;
            model_copy(&next, which ? &after : &m);
            err = put(&lfs, "/after-cut", 11, 300);
            if (err)
                fail_msg("%s, cut after %ld: write after: %s", name, cut, lfs_err_name(err));
            mset(&next, "/after-cut", 11, 300);
            assert_int_equal(lfs_mcache_check(lfs.st), 0); /* what it keeps parsed is on flash */
            assert_int_equal(lfs_unmount(&lfs), 0);
            assert_int_equal(lfs_mount(&lfs, &dev.cfg), 0);
            if (fs_matches(&lfs, &next, why, sizeof why))
                fail_msg("%s, cut after %ld, after next write: %s", name, cut, why);
            lfs_ssize_t used = lfs_fs_size(&lfs);
            assert_true(used > 0);
            assert_int_equal(lfs_unmount(&lfs), 0);
            assert_int_equal(dev.overwrites, 0);
            assert_int_equal(dev.misaligned, 0);
            model_free(&next);
            cuts++;
        }
        /* continue from the uncut result */
        memcpy(work, img, sizeof img);
        ramdev_init(&dev, work, BS, DEV_BLOCKS);
        setgeom(&dev);
        assert_int_equal(lfs_mount(&lfs, &dev.cfg), 0);
        assert_int_equal(step(&lfs, NULL, s, &name), 0);
        assert_int_equal(lfs_unmount(&lfs), 0);
        memcpy(img, work, sizeof img);
        model_free(&m);
        m = after;
        steps++;
        print_message("%-45s %3ld program/erase operations, each cut tested\n", name, total);
    }
    print_message("block size %u: power cuts tested: %u over %u operations (%u showed the old "
                  "state, %u the new)\n", BS, cuts, steps, saw_old, saw_new);
    assert_true(saw_old > 0 && saw_new > 0);
    model_free(&m);
}

static void test_power_cuts(void **state)
{
    (void)state;
    sweep(4096, 32);
    sweep(512, 16);
    sweep(1024, 8);
}

/* ---------------------------------------------------------------- random operations */

enum rkind { R_PUT, R_APPEND, R_REMOVE, R_MKDIR, R_RENAME, R_KINDS };

struct rop {
    enum rkind kind;
    char a[64], b[64];
    uint32_t size, seed;
};

static const char *rdirs[] = {"/", "/p", "/q", "/p/r"};

static void rpath(uint32_t *s, char *out, size_t n)
{
    const char *d = rdirs[rnd_below(s, 4)];
    snprintf(out, n, "%s%sn%u", d, strcmp(d, "/") ? "/" : "", rnd_below(s, 12));
}

/* Pick an operation valid on model m. */
static void rop_pick(uint32_t *s, const struct model *m, struct rop *op)
{
    for (;;) {
        memset(op, 0, sizeof *op);
        op->kind = (enum rkind)rnd_below(s, R_KINDS);
        op->seed = rnd_below(s, 20000);
        rpath(s, op->a, sizeof op->a);
        struct mnode *x = model_find(m, op->a);
        switch (op->kind) {
        case R_PUT:
            if (x && x->isdir)
                continue;
            op->size = rnd_below(s, 3) ? rnd_below(s, 300) : rnd_below(s, 9000);
            return;
        case R_APPEND:
            if (!x || x->isdir)
                continue;
            op->size = 1 + rnd_below(s, 2000);
            return;
        case R_REMOVE:
            if (!x || (x->isdir && !model_dir_empty(m, op->a)))
                continue;
            return;
        case R_MKDIR:
            if (x)
                continue;
            return;
        case R_RENAME: {
            if (!x)
                continue;
            rpath(s, op->b, sizeof op->b);
            struct mnode *y = model_find(m, op->b);
            if (!strcmp(op->a, op->b) || (y && (y->isdir != x->isdir)) ||
                (y && y->isdir && !model_dir_empty(m, op->b)) || is_under(op->b, op->a))
                continue;
            return;
        }
        default:
            continue;
        }
    }
}

static int parent_exists(const struct model *m, const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash == path)
        return 1;
    char dir[64];
    snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    struct mnode *x = model_find(m, dir);
    return x && x->isdir;
}

/* Apply to the model; returns 0 when the operation is expected to fail (missing parent). */
static int rop_model(struct model *m, const struct rop *op)
{
    if (!parent_exists(m, op->a) || (op->kind == R_RENAME && !parent_exists(m, op->b)))
        return 0;
    switch (op->kind) {
    case R_PUT: mset(m, op->a, op->seed, op->size); break;
    case R_APPEND: mpatch(m, op->a, model_find(m, op->a)->size, op->seed, op->size); break;
    case R_REMOVE: model_del(m, op->a); break;
    case R_MKDIR: model_add(m, op->a, 1); break;
    case R_RENAME: model_rename(m, op->a, op->b); break;
    default: break;
    }
    return 1;
}

static int rop_apply(lfs_t *lfs, const struct rop *op)
{
    switch (op->kind) {
    case R_PUT: return put(lfs, op->a, op->seed, op->size);
    case R_APPEND: return put_at(lfs, op->a, LFS_O_WRONLY | LFS_O_APPEND, -1, op->seed, op->size);
    case R_REMOVE: return lfs_remove(lfs, op->a);
    case R_MKDIR: return lfs_mkdir(lfs, op->a);
    case R_RENAME: return lfs_rename(lfs, op->a, op->b);
    default: return -1;
    }
}

static void random_sweep(uint32_t block_size, uint32_t blocks, uint32_t seed, int nops,
                         unsigned *cuts_out)
{
    BS = block_size;
    PROG = 16;
    static uint8_t img[64 * 1024], work[64 * 1024];
    size_t bytes = (size_t)block_size * blocks;
    assert_true(bytes <= sizeof img);
    memset(img, 0xFF, bytes);
    struct ramdev dev;
    lfs_t lfs;
    ramdev_init(&dev, img, block_size, blocks);
    setgeom(&dev);
    dev.cfg.block_count = blocks;
    assert_int_equal(lfs_format(&lfs, &dev.cfg), 0);
    struct model m = {0};
    uint32_t s = seed;
    unsigned cuts = 0;
    char why[512];
    for (int i = 0; i < nops; i++) {
        struct rop op;
        rop_pick(&s, &m, &op);
        struct model after;
        model_copy(&after, &m);
        int ok = rop_model(&after, &op);
        /* uncut */
        memcpy(work, img, bytes);
        ramdev_init(&dev, work, block_size, blocks);
        setgeom(&dev);
        assert_int_equal(lfs_mount(&lfs, &dev.cfg), 0);
        int err = rop_apply(&lfs, &op);
        assert_int_equal(lfs_unmount(&lfs), 0);
        if (err == LFS_ERR_NOSPC) {
            /* full: this operation leaves the old state (or the new one); skip it */
            model_free(&after);
            continue;
        }
        if (!ok) {
            assert_int_equal(err, LFS_ERR_NOENT);
            model_free(&after);
            continue;
        }
        if (err)
            fail_msg("seed %u op %d kind %d %s %s: %s", seed, i, op.kind, op.a, op.b,
                     lfs_err_name(err));
        long total = (long)(dev.progs + dev.erases);
        for (long cut = 0; cut < total; cut++) {
            memcpy(work, img, bytes);
            ramdev_init(&dev, work, block_size, blocks);
            setgeom(&dev);
            assert_int_equal(lfs_mount(&lfs, &dev.cfg), 0);
            dev.ops_left = cut;
            rop_apply(&lfs, &op);
            lfs_unmount(&lfs);
            dev.cut = 0;
            dev.ops_left = -1;
            err = lfs_mount(&lfs, &dev.cfg);
            if (err)
                fail_msg("seed %u op %d cut %ld: mount: %s", seed, i, cut, lfs_err_name(err));
            int which = 0;
            check_or_fail(&lfs, &m, &after, op.a, (int)cut, &which);
            /* a following change must succeed (or find the disk full) and keep the state */
            struct model next;
            model_copy(&next, which ? &after : &m);
            err = lfs_mkdir(&lfs, "/zz");
            if (!err)
                model_add(&next, "/zz", 1);
            else if (err != LFS_ERR_NOSPC)
                fail_msg("seed %u op %d cut %ld: next change: %s", seed, i, cut,
                         lfs_err_name(err));
            assert_int_equal(lfs_mcache_check(lfs.st), 0);
            assert_int_equal(lfs_unmount(&lfs), 0);
            assert_int_equal(lfs_mount(&lfs, &dev.cfg), 0);
            if (fs_matches(&lfs, &next, why, sizeof why))
                fail_msg("seed %u op %d cut %ld, after the next change: %s", seed, i, cut, why);
            assert_int_equal(lfs_unmount(&lfs), 0);
            assert_int_equal(dev.overwrites, 0);
            assert_int_equal(dev.misaligned, 0);
            model_free(&next);
            cuts++;
        }
        /* keep the uncut result */
        memcpy(work, img, bytes);
        ramdev_init(&dev, work, block_size, blocks);
        setgeom(&dev);
        assert_int_equal(lfs_mount(&lfs, &dev.cfg), 0);
        assert_int_equal(rop_apply(&lfs, &op), 0);
        assert_int_equal(lfs_unmount(&lfs), 0);
        memcpy(img, work, bytes);
        model_free(&m);
        m = after;
    }
    print_message("random ops, block %u x %u, seed %u: %d operations, %u power cuts\n",
                  block_size, blocks, seed, nops, cuts);
    *cuts_out += cuts;
    model_free(&m);
}

static void test_power_cuts_random(void **state)
{
    (void)state;
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof pattern; i++)
        pattern[i] = (uint8_t)rnd_next(&x);
    unsigned cuts = 0;
    random_sweep(256, 128, 11, 300, &cuts);
    random_sweep(512, 96, 12, 300, &cuts);
    random_sweep(1024, 32, 13, 250, &cuts);
    random_sweep(256, 64, 14, 300, &cuts);
    print_message("random-operation power cuts tested: %u\n", cuts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_power_cuts),
        cmocka_unit_test(test_power_cuts_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
