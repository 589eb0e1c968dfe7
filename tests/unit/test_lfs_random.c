/* Long randomised operation sequences on the littlefs engine, checked against an in-memory
 * model after every operation and after every remount. Small block counts force NOSPC,
 * pair splitting and compaction; a failed operation must leave either the old or the new
 * state (never anything else) and the filesystem usable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "lfs/lfs_meta.h"
#include "test_lfs_dev.h"
#include "test_lfs_model.h"

struct rig {
    struct ramdev dev;
    uint8_t *flash;
    lfs_t lfs;
    struct model model;
    uint32_t seed;
    uint32_t ops, nospc, remounts, failures_expected;
};

static void rig_remount(struct rig *r)
{
    assert_int_equal(lfs_unmount(&r->lfs), 0);
    int err = lfs_mount(&r->lfs, &r->dev.cfg);
    if (err)
        fail_msg("remount: %s", lfs_err_name(err));
    r->remounts++;
}

static void rig_check(struct rig *r, const char *what)
{
    char why[512];
    if (fs_matches(&r->lfs, &r->model, why, sizeof why))
        fail_msg("seed %u op %u (%s): %s", r->seed, r->ops, what, why);
    assert_int_equal(r->dev.overwrites, 0);
    assert_int_equal(r->dev.misaligned, 0);
    /* what the engine keeps parsed between calls is what the flash holds */
    if (lfs_mcache_check(r->lfs.st))
        fail_msg("seed %u op %u (%s): a kept pair or lookup finger differs from the flash",
                 r->seed, r->ops, what);
}

/* Accept whichever candidate state the filesystem is in after a failed operation. */
static void rig_accept(struct rig *r, struct model *cands, int n, const char *what)
{
    char why[512];
    for (int i = 0; i < n; i++) {
        if (!fs_matches(&r->lfs, &cands[i], why, sizeof why)) {
            model_free(&r->model);
            model_copy(&r->model, &cands[i]);
            return;
        }
    }
    fail_msg("seed %u op %u (%s): after failure matches no candidate: %s", r->seed, r->ops,
             what, why);
}

static void random_name(uint32_t *s, char *out, size_t size)
{
    static const char alpha[] = "abcxyzAB_0.-";
    uint32_t kind = rnd_below(s, 10);
    uint32_t len = kind == 0 ? 20 + rnd_below(s, 60) : 1 + rnd_below(s, 6);
    if (len >= size)
        len = (uint32_t)size - 1;
    for (uint32_t i = 0; i < len; i++)
        out[i] = alpha[rnd_below(s, kind < 5 ? 3 : (uint32_t)sizeof alpha - 1)];
    out[len] = '\0';
    if (!strcmp(out, ".") || !strcmp(out, ".."))
        out[0] = 'd'; /* path syntax, not names */
}

/* A random directory of the model (or the root). */
static const char *random_dir(struct rig *r)
{
    size_t ndirs = 0;
    for (size_t i = 0; i < r->model.count; i++)
        ndirs += r->model.n[i].isdir;
    uint32_t k = rnd_below(&r->seed, (uint32_t)ndirs + 1);
    for (size_t i = 0; i < r->model.count; i++)
        if (r->model.n[i].isdir && k-- == 0)
            return r->model.n[i].path;
    return "/";
}

static struct mnode *random_node(struct rig *r, int want) /* 0 file, 1 dir, -1 any */
{
    size_t n = 0;
    for (size_t i = 0; i < r->model.count; i++)
        n += want < 0 || r->model.n[i].isdir == want;
    if (!n)
        return NULL;
    uint32_t k = rnd_below(&r->seed, (uint32_t)n);
    for (size_t i = 0; i < r->model.count; i++)
        if ((want < 0 || r->model.n[i].isdir == want) && k-- == 0)
            return &r->model.n[i];
    return NULL;
}

static int depth_of(const char *p)
{
    int d = 0;
    for (; *p; p++)
        d += *p == '/';
    return d;
}

static void new_path(struct rig *r, char *out, size_t size)
{
    for (int tries = 0; tries < 20; tries++) {
        const char *dir = random_dir(r);
        char name[100];
        random_name(&r->seed, name, sizeof name);
        path_join(out, size, dir, name);
        if (!model_find(&r->model, out) && strlen(out) < MODEL_PATH - 1 && depth_of(out) < 6)
            return;
    }
    snprintf(out, size, "/f%u", r->ops);
}

static uint32_t random_size(struct rig *r)
{
    uint32_t B = r->dev.block_size, cap = r->dev.block_count * B;
    switch (rnd_below(&r->seed, 6)) {
    case 0: return rnd_below(&r->seed, 40);
    case 1: return 120 + rnd_below(&r->seed, 16); /* around the inline limit */
    case 2: return rnd_below(&r->seed, 3 * B);
    case 3: return (1 + rnd_below(&r->seed, 4)) * (B - 8) + rnd_below(&r->seed, 9) - 4;
    case 4: return rnd_below(&r->seed, cap / 6);
    default: return rnd_below(&r->seed, cap / 2);
    }
}

static void fill(uint8_t *buf, uint32_t n, uint32_t seed)
{
    uint32_t x = seed | 1;
    for (uint32_t i = 0; i < n; i++)
        buf[i] = (uint8_t)rnd_next(&x);
}

/* Write data to path through open flags, in random chunks; returns the first error. */
static int do_write(struct rig *r, const char *path, int flags, int32_t seek, const uint8_t *data,
                    uint32_t len, int *opened)
{
    lfs_file_t f;
    *opened = 0;
    int err = lfs_file_open(&r->lfs, &f, path, flags);
    if (err)
        return err;
    *opened = 1;
    if (seek >= 0 && lfs_file_seek(&r->lfs, &f, seek, LFS_SEEK_SET) != seek)
        fail_msg("seek");
    uint32_t done = 0;
    while (!err && done < len) {
        uint32_t k = 1 + rnd_below(&r->seed, 6000);
        if (k > len - done)
            k = len - done;
        lfs_ssize_t w = lfs_file_write(&r->lfs, &f, data + done, k);
        if (w < 0)
            err = (int)w;
        else
            done += k;
    }
    int cerr = lfs_file_close(&r->lfs, &f);
    return err ? err : cerr;
}

static void op_write(struct rig *r)
{
    char path[MODEL_PATH];
    struct mnode *ex = rnd_below(&r->seed, 2) ? random_node(r, 0) : NULL;
    if (ex)
        snprintf(path, sizeof path, "%s", ex->path);
    else
        new_path(r, path, sizeof path);
    uint32_t size = random_size(r);
    uint8_t *data = malloc(size + 1);
    fill(data, size, rnd_next(&r->seed));
    struct model c[3];
    model_copy(&c[0], &r->model);
    model_copy(&c[1], &r->model);
    if (!model_find(&c[1], path))
        model_set(&c[1], path, NULL, 0); /* created, data not committed */
    model_copy(&c[2], &r->model);
    model_set(&c[2], path, data, size);
    int opened;
    int err = do_write(r, path, LFS_O_WRONLY | LFS_O_CREAT | LFS_O_TRUNC, -1, data, size, &opened);
    if (!err) {
        model_free(&r->model);
        model_copy(&r->model, &c[2]);
        rig_check(r, "write");
    } else if (err == LFS_ERR_NOSPC) {
        r->nospc++;
        rig_accept(r, c, 3, "write");
    } else {
        fail_msg("seed %u op %u: write %s (%u bytes): %s", r->seed, r->ops, path, size,
                 lfs_err_name(err));
    }
    for (int i = 0; i < 3; i++)
        model_free(&c[i]);
    free(data);
}

/* Append, or overwrite in the middle / past the end (gap reads as zeros). */
static void op_modify(struct rig *r, int append)
{
    struct mnode *ex = random_node(r, 0);
    if (!ex)
        return;
    char path[MODEL_PATH];
    snprintf(path, sizeof path, "%s", ex->path);
    uint32_t old = ex->size;
    uint32_t at = append ? old : rnd_below(&r->seed, old + 300);
    uint32_t len = 1 + rnd_below(&r->seed, rnd_below(&r->seed, 2) ? 200 : 3 * r->dev.block_size);
    uint32_t nsize = at + len > old ? at + len : old;
    uint8_t *nd = calloc(nsize + 1, 1);
    memcpy(nd, ex->data, old);
    uint8_t *data = malloc(len);
    fill(data, len, rnd_next(&r->seed));
    memcpy(nd + at, data, len);
    struct model c[2];
    model_copy(&c[0], &r->model);
    model_copy(&c[1], &r->model);
    model_set(&c[1], path, nd, nsize);
    int opened;
    int err = append ? do_write(r, path, LFS_O_WRONLY | LFS_O_APPEND, -1, data, len, &opened)
                     : do_write(r, path, LFS_O_RDWR, (int32_t)at, data, len, &opened);
    if (!err) {
        model_free(&r->model);
        model_copy(&r->model, &c[1]);
        rig_check(r, append ? "append" : "overwrite");
    } else if (err == LFS_ERR_NOSPC) {
        r->nospc++;
        rig_accept(r, c, 2, "modify");
    } else {
        fail_msg("seed %u op %u: modify %s: %s", r->seed, r->ops, path, lfs_err_name(err));
    }
    model_free(&c[0]);
    model_free(&c[1]);
    free(nd);
    free(data);
}

static void op_truncate(struct rig *r)
{
    struct mnode *ex = random_node(r, 0);
    if (!ex)
        return;
    char path[MODEL_PATH];
    snprintf(path, sizeof path, "%s", ex->path);
    uint32_t old = ex->size;
    uint32_t ns = rnd_below(&r->seed, old + old / 2 + 10);
    uint8_t *nd = calloc(ns + 1, 1);
    memcpy(nd, ex->data, ns < old ? ns : old);
    struct model c[2];
    model_copy(&c[0], &r->model);
    model_copy(&c[1], &r->model);
    model_set(&c[1], path, nd, ns);
    lfs_file_t f;
    int err = lfs_file_open(&r->lfs, &f, path, LFS_O_RDWR);
    assert_int_equal(err, 0);
    err = lfs_file_truncate(&r->lfs, &f, ns);
    int cerr = lfs_file_close(&r->lfs, &f);
    if (!err)
        err = cerr;
    if (!err) {
        model_free(&r->model);
        model_copy(&r->model, &c[1]);
        rig_check(r, "truncate");
    } else if (err == LFS_ERR_NOSPC) {
        r->nospc++;
        rig_accept(r, c, 2, "truncate");
    } else {
        fail_msg("seed %u op %u: truncate %s: %s", r->seed, r->ops, path, lfs_err_name(err));
    }
    model_free(&c[0]);
    model_free(&c[1]);
    free(nd);
}

static void op_remove(struct rig *r)
{
    struct mnode *ex = random_node(r, -1);
    if (!ex)
        return;
    char path[MODEL_PATH];
    snprintf(path, sizeof path, "%s", ex->path);
    int empty = !ex->isdir || model_dir_empty(&r->model, path);
    int err = lfs_remove(&r->lfs, path);
    if (!empty) {
        assert_int_equal(err, LFS_ERR_NOTEMPTY);
        rig_check(r, "remove non-empty");
        return;
    }
    struct model c[2];
    model_copy(&c[0], &r->model);
    model_copy(&c[1], &r->model);
    model_del(&c[1], path);
    if (!err) {
        model_free(&r->model);
        model_copy(&r->model, &c[1]);
        rig_check(r, "remove");
    } else if (err == LFS_ERR_NOSPC && ex->isdir) {
        /* a file removal never needs a block; a directory's unlink may compact a pair */
        r->nospc++;
        rig_accept(r, c, 2, "remove");
    } else {
        fail_msg("seed %u op %u: remove %s: %s", r->seed, r->ops, path, lfs_err_name(err));
    }
    model_free(&c[0]);
    model_free(&c[1]);
}

static void op_rename(struct rig *r)
{
    struct mnode *ex = random_node(r, -1);
    if (!ex)
        return;
    char from[MODEL_PATH], to[MODEL_PATH];
    snprintf(from, sizeof from, "%s", ex->path);
    int isdir = ex->isdir;
    struct mnode *target = rnd_below(&r->seed, 3) == 0 ? random_node(r, isdir) : NULL;
    if (target && (!isdir || model_dir_empty(&r->model, target->path)))
        snprintf(to, sizeof to, "%s", target->path);
    else
        new_path(r, to, sizeof to);
    int expect = 0;
    if (isdir && (!strcmp(to, from) ? 0 : is_under(to, from)))
        expect = LFS_ERR_INVAL;
    if (strlen(to) + 0 >= MODEL_PATH)
        return;
    /* deepest resulting path must stay within the model's limit */
    for (size_t i = 0; i < r->model.count; i++)
        if (is_under(r->model.n[i].path, from) &&
            strlen(r->model.n[i].path) - strlen(from) + strlen(to) >= MODEL_PATH - 1)
            return;
    int err = lfs_rename(&r->lfs, from, to);
    if (expect) {
        assert_int_equal(err, expect);
        rig_check(r, "rename into itself");
        return;
    }
    struct model c[2];
    model_copy(&c[0], &r->model);
    model_copy(&c[1], &r->model);
    if (strcmp(from, to))
        model_rename(&c[1], from, to);
    if (!err) {
        model_free(&r->model);
        model_copy(&r->model, &c[1]);
        rig_check(r, "rename");
    } else if (err == LFS_ERR_NOSPC) {
        r->nospc++;
        rig_accept(r, c, 2, "rename");
    } else {
        fail_msg("seed %u op %u: rename %s -> %s: %s", r->seed, r->ops, from, to,
                 lfs_err_name(err));
    }
    model_free(&c[0]);
    model_free(&c[1]);
}

static void op_mkdir(struct rig *r)
{
    char path[MODEL_PATH];
    new_path(r, path, sizeof path);
    struct model c[2];
    model_copy(&c[0], &r->model);
    model_copy(&c[1], &r->model);
    model_add(&c[1], path, 1);
    int err = lfs_mkdir(&r->lfs, path);
    if (!err) {
        model_free(&r->model);
        model_copy(&r->model, &c[1]);
        rig_check(r, "mkdir");
    } else if (err == LFS_ERR_NOSPC) {
        r->nospc++;
        rig_accept(r, c, 2, "mkdir");
    } else {
        fail_msg("seed %u op %u: mkdir %s: %s", r->seed, r->ops, path, lfs_err_name(err));
    }
    model_free(&c[0]);
    model_free(&c[1]);
}

static uint32_t meta_cache; /* the engine's parsed-pair budget for the next run (0: default) */

static void run(uint32_t block_size, uint32_t blocks, uint32_t seed, uint32_t nops,
                uint32_t *total_ops)
{
    struct rig r;
    memset(&r, 0, sizeof r);
    r.seed = seed;
    r.flash = malloc((size_t)block_size * blocks);
    memset(r.flash, 0xFF, (size_t)block_size * blocks);
    ramdev_init(&r.dev, r.flash, block_size, blocks);
    if (block_size < 4096) {
        r.dev.cfg.read_size = 16;
        r.dev.cfg.prog_size = 16;
        r.dev.cfg.cache_size = 64;
    }
    r.dev.cfg.block_count = blocks;
    r.dev.cfg.meta_cache_size = meta_cache;
    assert_int_equal(lfs_format(&r.lfs, &r.dev.cfg), 0);
    assert_int_equal(lfs_mount(&r.lfs, &r.dev.cfg), 0);
    for (r.ops = 0; r.ops < nops; r.ops++) {
        uint32_t k = rnd_below(&r.seed, 100);
        if (k < 25)
            op_write(&r);
        else if (k < 33)
            op_modify(&r, 1);
        else if (k < 40)
            op_modify(&r, 0);
        else if (k < 46)
            op_truncate(&r);
        else if (k < 60)
            op_remove(&r);
        else if (k < 74)
            op_rename(&r);
        else if (k < 86)
            op_mkdir(&r);
        else {
            rig_remount(&r);
            rig_check(&r, "remount");
        }
    }
    rig_remount(&r);
    rig_check(&r, "final remount");
    lfs_ssize_t used = lfs_fs_size(&r.lfs);
    assert_true(used >= 2 && (uint32_t)used <= blocks);
    print_message("block %5u x %4u, seed %10u: %u ops, %u NOSPC, %u remounts, %zu entries, "
                  "%d blocks used\n", block_size, blocks, seed, nops, r.nospc, r.remounts,
                  r.model.count, (int)used);
    *total_ops += nops;
    assert_int_equal(lfs_unmount(&r.lfs), 0);
    model_free(&r.model);
    free(r.flash);
}

static void test_random_sequences(void **state)
{
    (void)state;
    uint32_t total = 0;
    run(4096, 12, 1, 1000, &total);  /* tiny: NOSPC all the time */
    run(4096, 24, 2, 1200, &total);
    run(4096, 64, 3, 1500, &total);
    run(512, 96, 4, 1500, &total);   /* small blocks: many splits and compactions */
    run(4096, 128, 5, 800, &total);
    run(1024, 48, 6, 1200, &total);
    run(256, 128, 7, 1500, &total);  /* tiny blocks: inline limit 32, pairs split often */
    meta_cache = 4096;               /* parsed pairs evicted all the time */
    run(256, 128, 8, 1500, &total);
    run(512, 96, 9, 1500, &total);
    meta_cache = 0;
    print_message("random sequences: %u operations in total\n", total);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_sequences),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
