/* Files and directories inside a mounted filesystem: paths, listings, reading and writing
 * files, mkdir, rm and rename. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/fs_int.h"
#include "util/alloc.h"

/* ---------------------------------------------------------------- paths */

/* The littlefs form of a command-line path: absolute (so messages name it from the root),
 * "." and empty components dropped, ".." taking away the component before it (never above
 * the root), as upstream littlefs resolves paths; the engine itself does not. Caller frees. */
char *fs_lfs_path(const char *path)
{
    size_t n = strlen(path) + 2;
    char *p = mp_malloc(n);
    if (!p)
        return NULL;
    size_t o = 0;
    const char *c = path;
    while (*c) {
        while (*c == '/')
            c++;
        const char *start = c;
        while (*c && *c != '/')
            c++;
        size_t len = (size_t)(c - start);
        if (len == 0 || (len == 1 && start[0] == '.'))
            continue;
        if (len == 2 && start[0] == '.' && start[1] == '.') {
            while (o > 0 && p[o - 1] != '/')
                o--;
            if (o > 0)
                o--; /* the '/' before the dropped component */
            continue;
        }
        p[o++] = '/';
        memcpy(p + o, start, len);
        o += len;
    }
    if (o == 0)
        p[o++] = '/';
    p[o] = '\0';
    return p;
}

char *fs_join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = mp_malloc(n);
    if (p)
        fs_path_join(a, b, p, n);
    return p;
}

/* ---------------------------------------------------------------- directories */

void fs_entries_free(struct fs_entries *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->v[i].name);
    free(e->v);
    memset(e, 0, sizeof *e);
}

static int entries_add(struct fs_entries *e, const char *name, uint32_t size)
{
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 16;
        struct fs_entry *v = mp_realloc(e->v, cap * sizeof *v);
        if (!v)
            return -1;
        e->v = v;
        e->cap = cap;
    }
    e->v[e->n].name = mp_strdup(name);
    if (!e->v[e->n].name)
        return -1;
    e->v[e->n].size = size;
    e->n++;
    return 0;
}

/* A name from an image as it may be shown in a message: bytes outside printable ASCII (and
 * the backslash) as \xNN, so a crafted name cannot carry terminal control sequences. */
static void escape_name(const char *name, size_t len, char *out, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 5 < size; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c >= 0x20 && c < 0x7F && c != '\\')
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, size - o, "\\x%02x", c);
    }
    out[o] = '\0';
}

struct read_dir_ctx {
    struct fs *fs;
    const char *path;
    struct fs_entries *files, *dirs;
    struct error *err;
};

static int read_dir_entry(void *ctx, const char *name, size_t len, int is_dir, uint32_t size)
{
    struct read_dir_ctx *c = ctx;
    /* the engines hand out stored entries only (no "." or ".."): each must be a plain name to
     * be used as a path component */
    if (!fs_name_is_safe(name, len)) {
        char shown[4 * (LFS_NAME_MAX + 1) + 1];
        escape_name(name, len, shown, sizeof shown);
        return error_setk(c->err, c->fs->eng->error_kind,
                          "Refusing entry '%s' in '%s:%s': not a plain file name", shown,
                          c->fs->name, c->path);
    }
    if (entries_add(is_dir ? c->dirs : c->files, name, size))
        return fs_oom(c->err);
    return 0;
}

struct ranges {
    struct range {
        uint32_t addr, len;
    } * v;
    size_t n, cap;
    uint32_t block_size; /* ranges are widened to whole blocks, so neighbours join */
    int failed;          /* out of memory: read as usual */
};

static void add_range(void *ctx, uint32_t addr, uint32_t len)
{
    struct ranges *r = ctx;
    if (r->failed)
        return;
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 64;
        struct range *v = mp_realloc(r->v, cap * sizeof *v);
        if (!v) {
            r->failed = 1;
            return;
        }
        r->v = v;
        r->cap = cap;
    }
    uint64_t start = addr / r->block_size * (uint64_t)r->block_size;
    uint64_t end = ((uint64_t)addr + len + r->block_size - 1) / r->block_size * r->block_size;
    if (end > UINT32_MAX)
        end = UINT32_MAX / r->block_size * (uint64_t)r->block_size;
    r->v[r->n++] = (struct range){(uint32_t)start, (uint32_t)(end - start)};
}

static int range_cmp(const void *a, const void *b)
{
    const struct range *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

int fs_read_ahead(struct fs *fs, const char *p, const struct fs_entries *files, struct error *err)
{
    if (!fs->eng->extents || !flash_can(fs->cache.flash, FLASH_CAP_LIVE) || files->n == 0)
        return 0;
    struct ranges r = {.block_size = fs->cache.block_size};
    for (size_t i = 0; i < files->n && !r.failed; i++) {
        char *path = fs_join(p, files->v[i].name);
        if (!path)
            break;
        fs->eng->extents(fs, path, add_range, &r);
        free(path);
    }
    fs->io_failed = 0; /* a guess that could not be made: littlefs reads as usual */
    int rc = 0;
    if (r.n)
        qsort(r.v, r.n, sizeof *r.v, range_cmp);
    for (size_t i = 0; i < r.n && !rc;) {
        /* ranges that touch or overlap: one read */
        uint64_t start = r.v[i].addr, end = start + r.v[i].len;
        size_t j = i + 1;
        while (j < r.n && r.v[j].addr <= end) {
            if ((uint64_t)r.v[j].addr + r.v[j].len > end)
                end = (uint64_t)r.v[j].addr + r.v[j].len;
            j++;
        }
        rc = fs_cache_read_ahead(&fs->cache, (uint32_t)start, (uint32_t)(end - start), err);
        i = j;
    }
    free(r.v);
    return rc;
}

/* The entries of a directory in on-disk order, files and subdirectories apart. Names that are
 * not one safe path component are refused here, before anything uses them as a path. */
int fs_read_dir(struct fs *fs, const char *path, struct fs_entries *files,
                struct fs_entries *dirs, struct error *err)
{
    /* A walk meeting more directories than the filesystem can hold (littlefs: one metadata
     * pair each; FAT: one cluster each) is going round a cycle of a corrupt or crafted image. */
    if (++fs->dirs_walked > fs->max_dirs)
        return error_setk(err, fs->eng->error_kind,
                          "'%s:%s': more directories than the filesystem can hold (corrupt "
                          "directory structure)",
                          fs->name, path);
    struct read_dir_ctx c = {fs, path, files, dirs, err};
    int result = fs->eng->list(fs, path, read_dir_entry, &c, err);
    if (result) {
        fs_entries_free(files);
        fs_entries_free(dirs);
    }
    return result;
}

int fs_stat_path(struct fs *fs, const char *path, struct fs_stat *st, struct error *err)
{
    return fs->eng->stat(fs, path, st, err);
}

/* ---------------------------------------------------------------- ls */

static int ls_dir(struct fs *fs, const char *path, const char *rel, int depth,
                  const struct fs_output *out, struct error *err)
{
    if (depth > FS_MAX_DEPTH)
        return error_setk(err, fs->eng->error_kind, "'%s:%s': directories nest too deep",
                          fs->name, path);
    struct fs_entries files = {0}, dirs = {0};
    if (fs_read_dir(fs, path, &files, &dirs, err))
        return -1;
    int result = 0;
    /* this level's files, then its directories with a '/' */
    const struct fs_entries *level[2] = {&files, &dirs};
    for (int k = 0; k < 2 && !result; k++)
        for (size_t i = 0; i < level[k]->n && !result; i++) {
            char *p = fs_join(rel, level[k]->v[i].name);
            if (!p)
                result = fs_oom(err);
            else
                log_printf(fs_log(out), LOG_OUTPUT, "%s%s", p, k ? "/" : "");
            if (p && out && out->entry)
                out->entry(out->ctx, fs->name, p, k, k ? 0 : level[k]->v[i].size);
            free(p);
        }
    for (size_t i = 0; i < dirs.n && !result; i++) {
        char *sub = fs_join(path, dirs.v[i].name);
        char *subrel = fs_join(rel, dirs.v[i].name);
        if (!sub || !subrel)
            result = fs_oom(err);
        else
            result = ls_dir(fs, sub, subrel, depth + 1, out, err);
        free(sub);
        free(subrel);
    }
    fs_entries_free(&files);
    fs_entries_free(&dirs);
    return result;
}

int fs_ls(struct fs *fs, const char *path, const struct fs_output *out, struct error *err)
{
    fs->dirs_walked = 0;
    char *p = fs_lfs_path(path);
    if (!p)
        return fs_oom(err);
    struct fs_stat info;
    int result = fs_stat_path(fs, p, &info, err);
    if (!result && !info.is_dir)
        result = fs->eng->fail(fs, FS_ERR_NOTDIR, p, err);
    if (!result)
        result = ls_dir(fs, p, ".", 0, out, err);
    free(p);
    return result;
}

/* ---------------------------------------------------------------- files */

int fs_cat(struct fs *fs, const char *path, const struct fs_output *out, struct error *err)
{
    uint8_t *data;
    size_t len;
    char *p = fs_lfs_path(path);
    if (!p)
        return fs_oom(err);
    struct fs_stat info;
    int result = fs_stat_path(fs, p, &info, err);
    if (!result && info.is_dir)
        result = error_setk(err, ERROR_FILE, "%s is not a file.", path);
    free(p);
    if (result || fs_read_file(fs, path, &data, &len, err))
        return -1;
    if (out && out->data && len)
        out->data(out->ctx, data, len);
    free(data);
    return 0;
}

int fs_read_file(struct fs *fs, const char *path, uint8_t **data, size_t *len, struct error *err)
{
    *data = NULL;
    *len = 0;
    char *p = fs_lfs_path(path);
    if (!p)
        return fs_oom(err);
    int result = fs->eng->read_file(fs, p, data, len, err);
    free(p);
    return result;
}

/* Create or replace p's contents; the engine says how safely (fs_lfs.c, fs_fat.c). */
int fs_write_file_from(struct fs *fs, const char *p, int fd, const void *data, size_t len,
                       const char *what, struct error *err)
{
    return fs->eng->write_file(fs, p, fd, data, len, what, err);
}

int fs_write_file(struct fs *fs, const char *path, const void *data, size_t len,
                  struct error *err)
{
    char *p = fs_lfs_path(path);
    if (!p)
        return fs_oom(err);
    int result = fs_write_file_from(fs, p, -1, data, len, path, err);
    free(p);
    return result;
}

int fs_stat(struct fs *fs, const char *path, struct fs_stat *st, struct error *err)
{
    memset(st, 0, sizeof *st);
    char *p = fs_lfs_path(path);
    if (!p)
        return fs_oom(err);
    int result = fs_stat_path(fs, p, st, err);
    free(p);
    return result;
}

/* ---------------------------------------------------------------- mkdir, rm, rename */

int fs_mkdir_parents(struct fs *fs, const char *p, struct error *err)
{
    /* p is in normal form; create each prefix ending at a '/' and then p itself */
    size_t n = strlen(p);
    char *prefix = mp_malloc(n + 1);
    if (!prefix)
        return fs_oom(err);
    int result = 0;
    for (size_t i = 1; i <= n && !result; i++) {
        if (i < n && p[i] != '/')
            continue;
        memcpy(prefix, p, i);
        prefix[i] = '\0';
        if (strcmp(prefix, "/") == 0)
            continue;
        struct fs_stat info;
        int rc = fs->eng->make_dir(fs, prefix, err);
        if (rc == FS_ERR_EXIST) {
            rc = fs_stat_path(fs, prefix, &info, err);
            if (rc == 0 && !info.is_dir)
                rc = fs->eng->fail(fs, FS_ERR_EXIST, prefix, err);
        }
        if (rc)
            result = rc;
    }
    free(prefix);
    return result;
}

int fs_mkdir(struct fs *fs, const char *path, struct error *err)
{
    char *p = fs_lfs_path(path);
    if (!p)
        return fs_oom(err);
    int result = fs_mkdir_parents(fs, p, err);
    free(p);
    return result;
}

static int rm_tree(struct fs *fs, const char *p, int depth, struct error *err)
{
    if (depth > FS_MAX_DEPTH)
        return error_setk(err, fs->eng->error_kind, "'%s:%s': directories nest too deep",
                          fs->name, p);
    struct fs_entries files = {0}, dirs = {0};
    if (fs_read_dir(fs, p, &files, &dirs, err))
        return -1;
    int result = 0;
    for (size_t i = 0; i < files.n && !result; i++) {
        char *sub = fs_join(p, files.v[i].name);
        if (!sub)
            result = fs_oom(err);
        else
            result = fs->eng->remove(fs, sub, err);
        free(sub);
    }
    for (size_t i = 0; i < dirs.n && !result; i++) {
        char *sub = fs_join(p, dirs.v[i].name);
        if (!sub)
            result = fs_oom(err);
        else
            result = rm_tree(fs, sub, depth + 1, err);
        free(sub);
    }
    fs_entries_free(&files);
    fs_entries_free(&dirs);
    if (!result && strcmp(p, "/") != 0) {
        result = fs->eng->remove(fs, p, err);
    }
    return result;
}

int fs_rm(struct fs *fs, const char *path, struct error *err)
{
    fs->dirs_walked = 0;
    char *p = fs_lfs_path(path);
    if (!p)
        return fs_oom(err);
    struct fs_stat info;
    int result = 0;
    int rc = fs_stat_path(fs, p, &info, err);
    if (rc == FS_ERR_NOENT)
        result = error_setk(err, ERROR_FILE, "[%sError -2] No such file or directory: '%s'.",
                            fs->eng->error_name, path);
    else if (rc)
        result = rc;
    else if (info.is_dir)
        result = rm_tree(fs, p, 0, err);
    else
        result = fs->eng->remove(fs, p, err);
    free(p);
    return result;
}

int fs_rename(struct fs *fs, const char *from, const char *to, struct error *err)
{
    char *a = fs_lfs_path(from), *b = fs_lfs_path(to);
    int result = 0;
    if (!a || !b)
        result = fs_oom(err);
    else {
        result = fs->eng->move(fs, a, b, err);
    }
    free(a);
    free(b);
    return result;
}
