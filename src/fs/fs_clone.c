/* Cloning a whole filesystem into a new one of another size and place (what a layout change
 * does with the files of a partition that moves or shrinks), comparing two trees, and the
 * blocks a filesystem uses or has changed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/fs.h"
#include "fs/fs_int.h"

/* ---------------------------------------------------------------- attributes */

struct attr_set {
    int count;
    uint8_t type[256];
    uint16_t size[256];
    uint8_t *data[256];
    struct lfs_attr lfs[256];
};

static void attrs_free(struct attr_set *a)
{
    for (int i = 0; i < a->count; i++)
        free(a->data[i]);
    a->count = 0;
}

/* Every user attribute of an entry (types 0..255; MicroPython's mtime is type 1). */
static int attrs_read(struct fs *fs, const char *path, struct attr_set *a, struct error *err)
{
    a->count = 0;
    uint8_t buf[LFS_ATTR_MAX];
    for (int type = 0; type < 256; type++) {
        lfs_ssize_t n = lfs_getattr(&fs->lfs, path, (uint8_t)type, buf, sizeof buf);
        if (n == LFS_ERR_NOATTR)
            continue;
        if (n < 0) {
            attrs_free(a);
            return fs_lfs_fail(fs, (int)n, path, err);
        }
        if ((size_t)n > sizeof buf)
            n = (lfs_ssize_t)sizeof buf;
        uint8_t *copy = malloc(n ? (size_t)n : 1);
        if (!copy) {
            attrs_free(a);
            return fs_oom(err);
        }
        memcpy(copy, buf, (size_t)n);
        a->type[a->count] = (uint8_t)type;
        a->size[a->count] = (uint16_t)n;
        a->data[a->count] = copy;
        a->lfs[a->count] = (struct lfs_attr){(uint8_t)type, copy, (lfs_size_t)n};
        a->count++;
    }
    return 0;
}

static int attrs_equal(const struct attr_set *a, const struct attr_set *b)
{
    if (a->count != b->count)
        return 0;
    for (int i = 0; i < a->count; i++)
        if (a->type[i] != b->type[i] || a->size[i] != b->size[i] ||
            memcmp(a->data[i], b->data[i], a->size[i]) != 0)
            return 0;
    return 1;
}

/* ---------------------------------------------------------------- clone */

static int copy_file(struct fs *from, struct fs *to, const char *path,
                     struct fs_tree_stats *stats, struct error *err)
{
    struct attr_set attrs;
    if (attrs_read(from, path, &attrs, err))
        return -1;
    uint8_t *data;
    size_t len;
    if (fs_read_file(from, path, &data, &len, err)) {
        attrs_free(&attrs);
        return -1;
    }
    struct lfs_file_config fcfg = {attrs.lfs, (lfs_size_t)attrs.count};
    lfs_file_t file;
    int rc = lfs_file_opencfg(&to->lfs, &file, path, LFS_O_WRONLY | LFS_O_CREAT | LFS_O_EXCL,
                              &fcfg);
    int result = rc ? fs_lfs_fail(to, rc, path, err) : 0;
    if (!rc) {
        if (len) {
            lfs_ssize_t w = lfs_file_write(&to->lfs, &file, data, (lfs_size_t)len);
            if (w < 0)
                result = fs_lfs_fail(to, (int)w, path, err);
        }
        rc = lfs_file_close(&to->lfs, &file);
        if (rc && !result)
            result = fs_lfs_fail(to, rc, path, err);
    }
    free(data);
    attrs_free(&attrs);
    if (!result && stats) {
        stats->files++;
        stats->bytes += len;
    }
    return result;
}

static int copy_dir(struct fs *from, struct fs *to, const char *path, int depth,
                    struct fs_tree_stats *stats, struct error *err)
{
    if (depth > FS_MAX_DEPTH)
        return error_setk(err, ERROR_LITTLEFS, "'%s:%s': directories nest too deep", from->name,
                          path);
    struct fs_entries files = {0}, dirs = {0};
    if (fs_read_dir(from, path, &files, &dirs, err))
        return -1;
    int result = 0;
    for (size_t i = 0; i < files.n && !result; i++) {
        char *sub = fs_join(path, files.v[i].name);
        result = sub ? copy_file(from, to, sub, stats, err) : fs_oom(err);
        free(sub);
    }
    for (size_t i = 0; i < dirs.n && !result; i++) {
        char *sub = fs_join(path, dirs.v[i].name);
        if (!sub) {
            result = fs_oom(err);
            break;
        }
        struct attr_set attrs;
        result = attrs_read(from, sub, &attrs, err);
        if (!result) {
            int rc = lfs_mkdir(&to->lfs, sub);
            if (rc)
                result = fs_lfs_fail(to, rc, sub, err);
            for (int k = 0; k < attrs.count && !result; k++) {
                rc = lfs_setattr(&to->lfs, sub, attrs.type[k], attrs.data[k], attrs.size[k]);
                if (rc)
                    result = fs_lfs_fail(to, rc, sub, err);
            }
            attrs_free(&attrs);
        }
        if (!result && stats)
            stats->dirs++;
        if (!result)
            result = copy_dir(from, to, sub, depth + 1, stats, err);
        free(sub);
    }
    fs_entries_free(&files);
    fs_entries_free(&dirs);
    return result;
}

/* These copy littlefs structures (attributes, blocks): a FAT filesystem never reaches them
 * (migrate mounts littlefs partitions only); refused rather than misread if one did. */
static int lfs_only(const struct fs *fs, struct error *err)
{
    if (!fs->fat)
        return 0;
    return error_setk(err, ERROR_VALUE, "'%s' holds a FAT filesystem: not copied block by block",
                      fs->name);
}

int fs_clone(struct fs *from, struct flash *window, const struct fs_partition *part,
             enum fs_flush_mode mode, int (*reserved)(void *ctx, uint32_t block), void *ctx,
             struct fs **out, struct fs_tree_stats *stats, struct error *err)
{
    *out = NULL;
    if (lfs_only(from, err))
        return -1;
    if (stats)
        memset(stats, 0, sizeof *stats);
    struct lfs_fsinfo info;
    int rc = lfs_fs_stat(&from->lfs, &info);
    if (rc)
        return fs_lfs_fail(from, rc, "/", err);
    /* the copy looks like the original: its on-disk version and its limits */
    struct fs *fs = NULL;
    rc = fs_format_like(&fs, window, part, mode, &info, reserved, ctx, err);
    if (rc)
        return rc;
    from->dirs_walked = 0;
    rc = copy_dir(from, fs, "/", 0, stats, err);
    if (rc) {
        fs_discard(fs);
        return rc;
    }
    *out = fs;
    return 0;
}

/* ---------------------------------------------------------------- compare */

static int differ(struct fs *a, const char *path, const char *what, struct error *err)
{
    return error_setk(err, ERROR_LITTLEFS, "'%s:%s': %s differs in the copy", a->name, path,
                      what);
}

static int compare_entry_attrs(struct fs *a, struct fs *b, const char *path, struct error *err)
{
    struct attr_set x, y;
    if (attrs_read(a, path, &x, err))
        return -1;
    if (attrs_read(b, path, &y, err)) {
        attrs_free(&x);
        return -1;
    }
    int same = attrs_equal(&x, &y);
    attrs_free(&x);
    attrs_free(&y);
    return same ? 0 : differ(a, path, "an attribute", err);
}

static int compare_dir(struct fs *a, struct fs *b, const char *path, int depth, struct error *err)
{
    if (depth > FS_MAX_DEPTH)
        return error_setk(err, ERROR_LITTLEFS, "'%s:%s': directories nest too deep", a->name,
                          path);
    struct fs_entries fa = {0}, da = {0}, fb = {0}, db = {0};
    int result = fs_read_dir(a, path, &fa, &da, err);
    if (!result)
        result = fs_read_dir(b, path, &fb, &db, err);
    if (!result && (fa.n != fb.n || da.n != db.n))
        result = differ(a, path, "the list of entries", err);
    for (size_t i = 0; i < fa.n && !result; i++) {
        char *sub = fs_join(path, fa.v[i].name);
        if (!sub) {
            result = fs_oom(err);
            break;
        }
        uint8_t *x = NULL, *y = NULL;
        size_t nx = 0, ny = 0;
        result = fs_read_file(a, sub, &x, &nx, err);
        if (!result)
            result = fs_read_file(b, sub, &y, &ny, err);
        if (!result && (nx != ny || (nx && memcmp(x, y, nx) != 0)))
            result = differ(a, sub, "the contents", err);
        if (!result)
            result = compare_entry_attrs(a, b, sub, err);
        free(x);
        free(y);
        free(sub);
    }
    for (size_t i = 0; i < da.n && !result; i++) {
        char *sub = fs_join(path, da.v[i].name);
        if (!sub) {
            result = fs_oom(err);
            break;
        }
        struct lfs_info info;
        int rc = lfs_stat(&b->lfs, sub, &info);
        if (rc || info.type != LFS_TYPE_DIR)
            result = differ(a, sub, "a folder", err);
        if (!result)
            result = compare_entry_attrs(a, b, sub, err);
        if (!result)
            result = compare_dir(a, b, sub, depth + 1, err);
        free(sub);
    }
    fs_entries_free(&fa);
    fs_entries_free(&da);
    fs_entries_free(&fb);
    fs_entries_free(&db);
    return result;
}

int fs_compare_trees(struct fs *a, struct fs *b, struct error *err)
{
    if (lfs_only(a, err) || lfs_only(b, err))
        return -1;
    a->dirs_walked = b->dirs_walked = 0;
    return compare_dir(a, b, "/", 0, err);
}

int fs_compact_superblock(struct fs *fs, struct error *err)
{
    if (lfs_only(fs, err))
        return -1;
    int rc = lfs_fs_compact_superblock(&fs->lfs);
    return rc ? fs_lfs_fail(fs, rc, "/", err) : 0;
}

/* ---------------------------------------------------------------- blocks */

struct used_ctx {
    int (*cb)(void *ctx, uint32_t block);
    void *ctx;
};

static int used_cb(void *p, lfs_block_t block)
{
    struct used_ctx *u = p;
    return u->cb(u->ctx, block);
}

int fs_used_blocks(struct fs *fs, int (*cb)(void *ctx, uint32_t block), void *ctx,
                   struct error *err)
{
    if (lfs_only(fs, err))
        return -1;
    struct used_ctx u = {cb, ctx};
    int rc = lfs_fs_traverse(&fs->lfs, used_cb, &u);
    return rc ? fs_lfs_fail(fs, rc, "/", err) : 0;
}

int fs_changed_blocks(const struct fs *fs,
                      int (*cb)(void *ctx, uint32_t block, const uint8_t *data), void *ctx)
{
    const struct fs_cache *c = &fs->cache;
    for (uint32_t b = 0; b < c->block_count; b++)
        if (c->dirty[b] && cb(ctx, b, fs_cache_block(c, b)))
            return -1;
    return 0;
}

int fs_tree_stats(struct fs *fs, struct fs_tree_stats *stats, struct error *err)
{
    memset(stats, 0, sizeof *stats);
    /* a walk with nothing to copy into: count only */
    struct fs_entries files = {0}, dirs = {0};
    char **stack = NULL;
    size_t n = 0, cap = 0;
    int result = 0;
    char *root = strdup("/");
    if (!root)
        return fs_oom(err);
    stack = malloc(sizeof *stack);
    if (!stack) {
        free(root);
        return fs_oom(err);
    }
    stack[n++] = root;
    cap = 1;
    fs->dirs_walked = 0;
    while (n && !result) {
        char *path = stack[--n];
        result = fs_read_dir(fs, path, &files, &dirs, err);
        for (size_t i = 0; i < files.n && !result; i++) {
            stats->files++;
            stats->bytes += files.v[i].size;
        }
        for (size_t i = 0; i < dirs.n && !result; i++) {
            char *sub = fs_join(path, dirs.v[i].name);
            if (!sub) {
                result = fs_oom(err);
                break;
            }
            if (n == cap) {
                char **bigger = realloc(stack, (cap * 2) * sizeof *stack);
                if (!bigger) {
                    free(sub);
                    result = fs_oom(err);
                    break;
                }
                stack = bigger;
                cap *= 2;
            }
            stack[n++] = sub;
            stats->dirs++;
        }
        fs_entries_free(&files);
        fs_entries_free(&dirs);
        free(path);
    }
    while (n)
        free(stack[--n]);
    free(stack);
    return result;
}
