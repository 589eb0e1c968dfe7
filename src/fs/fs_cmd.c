/* A littlefs filesystem mounted on a partition window, and the commands on it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/fs.h"
#include "lfs/lfs.h"
#include "util/alloc.h"

#define FS_MAX_DEPTH 256 /* deeper than any real tree; stops cycles in a crafted image */
#define COPY_CHUNK 4096

struct fs {
    struct fs_cache cache;
    struct lfs_config cfg;
    lfs_t lfs;
    char name[PTABLE_LABEL_MAX + 1];
    uint32_t part_size;
    enum fs_flush_mode mode;
    int mounted;
    uint32_t dirs_walked; /* directories read by the current command */
    int io_failed;      /* a flash operation under littlefs failed: io_err says why */
    struct error io_err;
};

/* ---------------------------------------------------------------- errors */

/* "LittleFSError -2: LFS_ERR_NOENT: 'vfs:/x'" (the Python tool's text, then where); returns
 * the code. A flash error underneath littlefs is reported as itself, with LFS_ERR_IO. */
static int lfs_fail(struct fs *fs, int code, const char *path, struct error *err)
{
    if (fs->io_failed) {
        fs->io_failed = 0;
        if (!err)
            return LFS_ERR_IO;
        *err = fs->io_err;
        return error_wrap(err, LFS_ERR_IO, "'%s:%s'", fs->name, path);
    }
    return error_fail(err, code, ERROR_LITTLEFS, "LittleFSError %d: %s: '%s:%s'", code,
                      lfs_err_name(code), fs->name, path);
}

/* ---------------------------------------------------------------- block device */

static int bd_read(const struct lfs_config *c, lfs_block_t block, lfs_off_t off, void *buf,
                   lfs_size_t size)
{
    struct fs *fs = c->context;
    if (fs_cache_read(&fs->cache, block, off, buf, size, &fs->io_err)) {
        fs->io_failed = 1;
        return LFS_ERR_IO;
    }
    return 0;
}

static int bd_prog(const struct lfs_config *c, lfs_block_t block, lfs_off_t off,
                   const void *buf, lfs_size_t size)
{
    struct fs *fs = c->context;
    if (fs_cache_prog(&fs->cache, block, off, buf, size, &fs->io_err)) {
        fs->io_failed = 1;
        return LFS_ERR_IO;
    }
    return 0;
}

static int bd_erase(const struct lfs_config *c, lfs_block_t block)
{
    struct fs *fs = c->context;
    if (fs_cache_erase(&fs->cache, block, &fs->io_err)) {
        fs->io_failed = 1;
        return LFS_ERR_IO;
    }
    return 0;
}

static int bd_sync(const struct lfs_config *c)
{
    struct fs *fs = c->context;
    if (fs->mode != FS_FLUSH_AT_SYNC)
        return 0;
    if (fs_cache_flush(&fs->cache, &fs->io_err)) {
        fs->io_failed = 1;
        return LFS_ERR_IO;
    }
    return 0;
}

static void config_init(struct fs *fs, uint32_t block_count, uint32_t disk_version)
{
    struct lfs_config *c = &fs->cfg;
    memset(c, 0, sizeof *c);
    c->context = fs;
    c->read = bd_read;
    c->prog = bd_prog;
    c->erase = bd_erase;
    c->sync = bd_sync;
    c->read_size = FS_READ_SIZE;
    c->prog_size = FS_PROG_SIZE;
    c->block_size = FS_BLOCK_SIZE;
    c->block_count = block_count;
    c->block_cycles = FS_BLOCK_CYCLES;
    c->cache_size = FS_CACHE_SIZE;
    c->lookahead_size = FS_LOOKAHEAD_SIZE;
    c->name_max = FS_NAME_MAX;
    c->disk_version = disk_version;
}

static int oom(struct error *err)
{
    return error_fail(err, LFS_ERR_NOMEM, ERROR_OS, "out of memory");
}

static int fs_new(struct fs **out, struct flash *window, const struct fs_partition *part,
                  enum fs_flush_mode mode, struct error *err)
{
    *out = NULL;
    struct fs *fs = mp_calloc(1, sizeof *fs);
    if (!fs)
        return oom(err);
    snprintf(fs->name, sizeof fs->name, "%s", part->name);
    fs->part_size = part->size;
    fs->mode = mode;
    int rc = fs_cache_init(&fs->cache, window, FS_BLOCK_SIZE, err);
    if (rc) {
        free(fs);
        return rc;
    }
    *out = fs;
    return 0;
}

static void fs_free(struct fs *fs)
{
    fs_cache_free(&fs->cache);
    free(fs);
}

/* Mount with block_count 0: the count comes from the superblock. The engine keeps an image's
 * on-disk version when it changes it (a 2.0 image stays 2.0 for firmware up to v1.21). */
int fs_mount(struct fs **out, struct flash *window, const struct fs_partition *part,
             enum fs_flush_mode mode, struct error *err)
{
    *out = NULL;
    struct fs *fs;
    int rc = fs_new(&fs, window, part, mode, err);
    if (rc)
        return rc;
    config_init(fs, 0, 0);
    rc = lfs_mount(&fs->lfs, &fs->cfg);
    if (rc) {
        if (fs->cache.outside != UINT32_MAX)
            rc = error_fail(err, LFS_ERR_INVAL, ERROR_LITTLEFS,
                            "Partition '%s' holds %u blocks: too small for its filesystem "
                            "(which uses block %u)",
                            part->name, fs->cache.block_count, fs->cache.outside);
        else
            rc = error_wrap(err, lfs_fail(fs, rc, "/", err),
                            "Partition '%s' does not hold a littlefs filesystem", part->name);
        fs_free(fs);
        return rc;
    }
    struct lfs_fsinfo info;
    rc = lfs_fs_stat(&fs->lfs, &info);
    if (!rc && info.block_count > fs->cache.block_count) {
        lfs_unmount(&fs->lfs);
        fs_free(fs);
        return error_fail(err, LFS_ERR_INVAL, ERROR_LITTLEFS,
                          "Partition '%s' holds %u blocks: too small for its filesystem of %u "
                          "blocks",
                          part->name, part->size / FS_BLOCK_SIZE, info.block_count);
    }
    if (rc) {
        rc = lfs_fail(fs, rc, "/", err);
        lfs_unmount(&fs->lfs);
        fs_free(fs);
        return rc;
    }
    fs->mounted = 1;
    *out = fs;
    return 0;
}

int fs_unmount(struct fs *fs, struct error *err)
{
    if (!fs)
        return 0;
    int result = 0;
    if (fs->mounted) {
        int rc = lfs_unmount(&fs->lfs);
        if (rc)
            result = lfs_fail(fs, rc, "/", err);
    }
    if (fs_cache_flush(&fs->cache, result ? NULL : err))
        result = -1;
    fs_free(fs);
    return result;
}

const struct fs_cache *fs_cache_of(const struct fs *fs)
{
    return &fs->cache;
}

/* ---------------------------------------------------------------- paths */

/* The littlefs form of a command-line path: absolute (so messages name it from the root),
 * "." and empty components dropped, ".." taking away the component before it (never above
 * the root), as upstream littlefs resolves paths; the engine itself does not. Caller frees. */
static char *lfs_path(const char *path)
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

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = mp_malloc(n);
    if (p)
        fs_path_join(a, b, p, n);
    return p;
}

/* ---------------------------------------------------------------- directories */

struct entry {
    char *name;
    uint32_t size;
};

struct entries {
    struct entry *v;
    size_t n, cap;
};

static void entries_free(struct entries *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->v[i].name);
    free(e->v);
    memset(e, 0, sizeof *e);
}

static int entries_add(struct entries *e, const char *name, uint32_t size)
{
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 16;
        struct entry *v = mp_realloc(e->v, cap * sizeof *v);
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

/* The entries of a directory in littlefs order, files and subdirectories apart. Names that are
 * not one safe path component are refused here, before anything uses them as a path. */
static int read_dir(struct fs *fs, const char *path, struct entries *files,
                    struct entries *dirs, struct error *err)
{
    /* Every directory owns a metadata pair (two blocks), so a walk meeting more directories
     * than half the blocks is going round a cycle of a corrupt or crafted image. */
    if (++fs->dirs_walked > fs->cache.block_count / 2 + 1)
        return error_setk(err, ERROR_LITTLEFS,
                          "'%s:%s': more directories than the filesystem can hold (corrupt "
                          "directory structure)",
                          fs->name, path);
    lfs_dir_t dir;
    int rc = lfs_dir_open(&fs->lfs, &dir, path);
    if (rc)
        return lfs_fail(fs, rc, path, err);
    int result = 0;
    struct lfs_info info;
    for (;;) {
        /* littlefs fills the rest of the name buffer with zeros: a byte after the first NUL
         * means the stored name itself holds a NUL */
        memset(&info, 0, sizeof info);
        if ((rc = lfs_dir_read(&fs->lfs, &dir, &info)) <= 0)
            break;
        size_t len = sizeof info.name;
        while (len > 0 && info.name[len - 1] == '\0')
            len--;
        /* the engine hands out stored entries only (no "." or ".."): each must be a plain
         * name to be used as a path component */
        if (!fs_name_is_safe(info.name, len)) {
            char shown[4 * (LFS_NAME_MAX + 1) + 1];
            escape_name(info.name, len, shown, sizeof shown);
            result = error_setk(err, ERROR_LITTLEFS,
                                "Refusing entry '%s' in '%s:%s': not a plain file name", shown,
                                fs->name, path);
            break;
        }
        struct entries *e = info.type == LFS_TYPE_DIR ? dirs : files;
        if (entries_add(e, info.name, info.size)) {
            result = oom(err);
            break;
        }
    }
    if (rc < 0 && result == 0)
        result = lfs_fail(fs, rc, path, err);
    lfs_dir_close(&fs->lfs, &dir);
    if (result) {
        entries_free(files);
        entries_free(dirs);
    }
    return result;
}

static int stat_path(struct fs *fs, const char *path, struct lfs_info *info, struct error *err)
{
    int rc = lfs_stat(&fs->lfs, path, info);
    return rc ? lfs_fail(fs, rc, path, err) : 0;
}

/* ---------------------------------------------------------------- ls */

static int ls_dir(struct fs *fs, const char *path, const char *rel, int depth,
                  const struct fs_output *out, struct error *err)
{
    if (depth > FS_MAX_DEPTH)
        return error_setk(err, ERROR_LITTLEFS, "'%s:%s': directories nest too deep", fs->name,
                          path);
    struct entries files = {0}, dirs = {0};
    if (read_dir(fs, path, &files, &dirs, err))
        return -1;
    int result = 0;
    for (size_t i = 0; i < files.n; i++) {
        char *p = join(rel, files.v[i].name);
        if (!p) {
            result = oom(err);
            goto done;
        }
        log_printf(fs_log(out), LOG_OUTPUT, "%s", p);
        free(p);
    }
    for (size_t i = 0; i < dirs.n; i++) {
        char *p = join(rel, dirs.v[i].name);
        if (!p) {
            result = oom(err);
            goto done;
        }
        log_printf(fs_log(out), LOG_OUTPUT, "%s/", p);
        free(p);
    }
    for (size_t i = 0; i < dirs.n && !result; i++) {
        char *sub = join(path, dirs.v[i].name);
        char *subrel = join(rel, dirs.v[i].name);
        if (!sub || !subrel)
            result = oom(err);
        else
            result = ls_dir(fs, sub, subrel, depth + 1, out, err);
        free(sub);
        free(subrel);
    }
done:
    entries_free(&files);
    entries_free(&dirs);
    return result;
}

int fs_ls(struct fs *fs, const char *path, const struct fs_output *out, struct error *err)
{
    fs->dirs_walked = 0;
    char *p = lfs_path(path);
    if (!p)
        return oom(err);
    struct lfs_info info;
    int result = stat_path(fs, p, &info, err);
    if (!result && info.type != LFS_TYPE_DIR)
        result = lfs_fail(fs, LFS_ERR_NOTDIR, p, err);
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
    char *p = lfs_path(path);
    if (!p)
        return oom(err);
    struct lfs_info info;
    int result = stat_path(fs, p, &info, err);
    if (!result && info.type != LFS_TYPE_REG)
        result = error_setk(err, ERROR_FILE, "%s is not a file.", path);
    free(p);
    if (result || fs_read_file(fs, path, &data, &len, err))
        return -1;
    if (out && out->data && len)
        out->data(out->ctx, data, len);
    free(data);
    return 0;
}

int fs_read_file(struct fs *fs, const char *path, uint8_t **data, size_t *len,
                 struct error *err)
{
    *data = NULL;
    *len = 0;
    char *p = lfs_path(path);
    if (!p)
        return oom(err);
    lfs_file_t file;
    int rc = lfs_file_open(&fs->lfs, &file, p, LFS_O_RDONLY);
    if (rc) {
        lfs_fail(fs, rc, p, err);
        free(p);
        return -1;
    }
    int result = 0;
    lfs_soff_t size = lfs_file_size(&fs->lfs, &file);
    uint64_t room = (uint64_t)fs->cache.block_count * FS_BLOCK_SIZE;
    uint8_t *buf = size >= 0 && (uint64_t)size <= room ? mp_malloc((size_t)size + 1) : NULL;
    if (size < 0)
        result = lfs_fail(fs, (int)size, p, err);
    else if ((uint64_t)size > room)
        result = error_setk(err, ERROR_LITTLEFS,
                            "'%s:%s': recorded size %ld is larger than the filesystem (corrupt)",
                            fs->name, p, (long)size);
    else if (!buf)
        result = oom(err);
    size_t got = 0;
    while (!result && got < (size_t)size) {
        lfs_ssize_t n = lfs_file_read(&fs->lfs, &file, buf + got, (lfs_size_t)size - got);
        if (n < 0)
            result = lfs_fail(fs, (int)n, p, err);
        else if (n == 0)
            break;
        else
            got += (size_t)n;
    }
    /* the size the directory records must be the bytes the file holds */
    if (!result && got != (size_t)size)
        result = error_setk(err, ERROR_LITTLEFS, "'%s:%s': read %zu of %ld bytes", fs->name, p,
                            got, (long)size);
    lfs_file_close(&fs->lfs, &file);
    free(p);
    if (result) {
        free(buf);
        return -1;
    }
    *data = buf;
    *len = got;
    return 0;
}

/* One try at writing path: open with truncation, copy, close. littlefs commits the new contents
 * at close in one step, so an interrupted transfer leaves the old file. *nospc tells a failure
 * for want of free blocks. */
static int write_attempt(struct fs *fs, const char *p, int fd, const void *data, size_t len,
                         const char *what, int *nospc, struct error *err)
{
    *nospc = 0;
    /* a local file's modification time goes with it, as MicroPython records one */
    uint8_t mtime[8];
    struct lfs_attr attr = {.type = FS_ATTR_MTIME, .buffer = mtime, .size = sizeof mtime};
    struct lfs_file_config fcfg;
    memset(&fcfg, 0, sizeof fcfg);
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0 && st.st_mtim.tv_sec >= 0) {
        uint64_t ns = (uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec;
        for (int i = 0; i < 8; i++)
            mtime[i] = (uint8_t)(ns >> (8 * i));
        fcfg.attrs = &attr;
        fcfg.attr_count = 1;
    }
    /* the buffer before the file: once opened with truncation, closing commits what it holds */
    uint8_t *buf = fd >= 0 ? mp_malloc(COPY_CHUNK) : NULL;
    if (fd >= 0 && !buf)
        return oom(err);
    lfs_file_t file;
    int rc = lfs_file_opencfg(&fs->lfs, &file, p, LFS_O_WRONLY | LFS_O_CREAT | LFS_O_TRUNC,
                              &fcfg);
    if (rc) {
        free(buf);
        *nospc = rc == LFS_ERR_NOSPC && !fs->io_failed;
        return lfs_fail(fs, rc, p, err);
    }
    int result = 0;
    uint64_t total = 0;
    while (!result) {
        const void *chunk = data;
        ssize_t n = (ssize_t)len;
        if (fd >= 0) {
            n = read(fd, buf, COPY_CHUNK);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                result = error_setk(err, ERROR_OS, "%s: %s", what, strerror(errno));
                break;
            }
            chunk = buf;
        }
        if (n == 0)
            break;
        lfs_ssize_t w = lfs_file_write(&fs->lfs, &file, chunk, (lfs_size_t)n);
        if (w < 0) {
            *nospc = w == LFS_ERR_NOSPC && !fs->io_failed;
            result = lfs_fail(fs, (int)w, p, err);
        }
        total += (uint64_t)n;
        if (fd < 0)
            break;
    }
    free(buf);
    /* after a failed write the engine drops the file's changes at close */
    rc = lfs_file_close(&fs->lfs, &file);
    if (rc && !result) {
        *nospc = rc == LFS_ERR_NOSPC && !fs->io_failed;
        result = lfs_fail(fs, rc, p, err);
    }
    if (!result) {
        struct lfs_info info;
        rc = lfs_stat(&fs->lfs, p, &info);
        if (rc)
            result = lfs_fail(fs, rc, p, err);
        else if (info.size != total)
            result = error_setk(err, ERROR_LITTLEFS, "'%s:%s': wrote %llu bytes, holds %lu",
                                fs->name, p, (unsigned long long)total,
                                (unsigned long)info.size);
    }
    return result;
}

/* Create or replace path's contents (from fd when fd >= 0, else from data). A replacement is
 * atomic (the old contents stay until the new are complete) when there is room for both; when
 * there is not, the old file is removed first, as the Python tool always did. */
static int write_file_from(struct fs *fs, const char *p, int fd, const void *data, size_t len,
                           const char *what, struct error *err)
{
    struct lfs_info info;
    int rc = lfs_stat(&fs->lfs, p, &info);
    if (rc == 0 && info.type == LFS_TYPE_DIR)
        return lfs_fail(fs, LFS_ERR_ISDIR, p, err);
    if (rc && rc != LFS_ERR_NOENT)
        return lfs_fail(fs, rc, p, err);
    int existed = rc == 0, nospc;
    int result = write_attempt(fs, p, fd, data, len, what, &nospc, err);
    if (result && nospc && existed) {
        if ((rc = lfs_remove(&fs->lfs, p)) != 0)
            return lfs_fail(fs, rc, p, err);
        if (fd >= 0 && lseek(fd, 0, SEEK_SET) != 0)
            return error_setk(err, ERROR_OS, "%s: %s", what, strerror(errno));
        result = write_attempt(fs, p, fd, data, len, what, &nospc, err);
    }
    /* a new file is committed empty at open: do not leave that behind after a failure */
    if (result && !existed && !fs->io_failed)
        lfs_remove(&fs->lfs, p);
    return result;
}

int fs_write_file(struct fs *fs, const char *path, const void *data, size_t len,
                  struct error *err)
{
    char *p = lfs_path(path);
    if (!p)
        return oom(err);
    int result = write_file_from(fs, p, -1, data, len, path, err);
    free(p);
    return result;
}

int fs_stat(struct fs *fs, const char *path, struct fs_stat *st, struct error *err)
{
    memset(st, 0, sizeof *st);
    char *p = lfs_path(path);
    if (!p)
        return oom(err);
    struct lfs_info info;
    int result = stat_path(fs, p, &info, err);
    if (!result) {
        st->is_dir = info.type == LFS_TYPE_DIR;
        st->size = info.size;
        uint8_t m[8];
        lfs_ssize_t n = lfs_getattr(&fs->lfs, p, FS_ATTR_MTIME, m, sizeof m);
        if (n == (lfs_ssize_t)sizeof m) {
            st->has_mtime = 1;
            for (int i = 7; i >= 0; i--)
                st->mtime_ns = st->mtime_ns << 8 | m[i];
        }
    }
    free(p);
    return result;
}

/* ---------------------------------------------------------------- mkdir, rm, rename */

static int mkdir_parents(struct fs *fs, const char *p, struct error *err)
{
    /* p is in normal form; create each prefix ending at a '/' and then p itself */
    size_t n = strlen(p);
    char *prefix = mp_malloc(n + 1);
    if (!prefix)
        return oom(err);
    int result = 0;
    for (size_t i = 1; i <= n && !result; i++) {
        if (i < n && p[i] != '/')
            continue;
        memcpy(prefix, p, i);
        prefix[i] = '\0';
        if (strcmp(prefix, "/") == 0)
            continue;
        int rc = lfs_mkdir(&fs->lfs, prefix);
        if (rc == LFS_ERR_EXIST) {
            struct lfs_info info;
            rc = lfs_stat(&fs->lfs, prefix, &info);
            if (rc == 0 && info.type != LFS_TYPE_DIR)
                rc = LFS_ERR_EXIST;
        }
        if (rc)
            result = lfs_fail(fs, rc, prefix, err);
    }
    free(prefix);
    return result;
}

int fs_mkdir(struct fs *fs, const char *path, struct error *err)
{
    char *p = lfs_path(path);
    if (!p)
        return oom(err);
    int result = mkdir_parents(fs, p, err);
    free(p);
    return result;
}

static int rm_tree(struct fs *fs, const char *p, int depth, struct error *err)
{
    if (depth > FS_MAX_DEPTH)
        return error_setk(err, ERROR_LITTLEFS, "'%s:%s': directories nest too deep", fs->name,
                          p);
    struct entries files = {0}, dirs = {0};
    if (read_dir(fs, p, &files, &dirs, err))
        return -1;
    int result = 0;
    for (size_t i = 0; i < files.n && !result; i++) {
        char *sub = join(p, files.v[i].name);
        int rc = sub ? lfs_remove(&fs->lfs, sub) : 0;
        if (!sub)
            result = oom(err);
        else if (rc)
            result = lfs_fail(fs, rc, sub, err);
        free(sub);
    }
    for (size_t i = 0; i < dirs.n && !result; i++) {
        char *sub = join(p, dirs.v[i].name);
        if (!sub)
            result = oom(err);
        else
            result = rm_tree(fs, sub, depth + 1, err);
        free(sub);
    }
    entries_free(&files);
    entries_free(&dirs);
    if (!result && strcmp(p, "/") != 0) {
        int rc = lfs_remove(&fs->lfs, p);
        if (rc)
            result = lfs_fail(fs, rc, p, err);
    }
    return result;
}

int fs_rm(struct fs *fs, const char *path, struct error *err)
{
    fs->dirs_walked = 0;
    char *p = lfs_path(path);
    if (!p)
        return oom(err);
    struct lfs_info info;
    int result = 0;
    int rc = lfs_stat(&fs->lfs, p, &info);
    if (rc == LFS_ERR_NOENT && !fs->io_failed)
        result = error_setk(err, ERROR_FILE,
                            "[LittleFSError -2] No such file or directory: '%s'.", path);
    else if (rc)
        result = lfs_fail(fs, rc, p, err);
    else if (info.type == LFS_TYPE_DIR)
        result = rm_tree(fs, p, 0, err);
    else if ((rc = lfs_remove(&fs->lfs, p)) != 0)
        result = lfs_fail(fs, rc, p, err);
    free(p);
    return result;
}

int fs_rename(struct fs *fs, const char *from, const char *to, struct error *err)
{
    char *a = lfs_path(from), *b = lfs_path(to);
    int result = 0;
    if (!a || !b)
        result = oom(err);
    else {
        int rc = lfs_rename(&fs->lfs, a, b);
        if (rc)
            result = lfs_fail(fs, rc, a, err);
    }
    free(a);
    free(b);
    return result;
}

/* ---------------------------------------------------------------- get */

static int local_fail(const char *what, const char *path, struct error *err)
{
    if (errno == ELOOP)
        return error_setk(err, ERROR_OS, "Refusing to %s through the symbolic link '%s'", what,
                          path);
    return error_setk(err, ERROR_OS, "Cannot %s '%s': %s", what, path, strerror(errno));
}

/* Write a littlefs file as name in dirfd. The bytes go to a new file beside it which then
 * replaces name: nothing is written through a link (a symlink in the way is refused, a hard
 * link is replaced, not written into) and an interrupted copy leaves the old file. */
static int get_file(struct fs *fs, const char *p, int dirfd, const char *name,
                    const char *display, struct error *err)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        if (S_ISLNK(st.st_mode)) {
            errno = ELOOP;
            return local_fail("write", display, err);
        }
        if (S_ISDIR(st.st_mode)) {
            errno = EISDIR;
            return local_fail("write", display, err);
        }
    }
    uint8_t *data;
    size_t len;
    if (fs_read_file(fs, p, &data, &len, err))
        return -1;
    char tmp[64];
    int fd = -1;
    for (int k = 0; k < 1000 && fd < 0; k++) {
        snprintf(tmp, sizeof tmp, ".mp-get-%ld-%d.tmp", (long)getpid(), k);
        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        free(data);
        return local_fail("write", display, err);
    }
    int result = 0;
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, data + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            result = local_fail("write", display, err);
            break;
        }
        done += (size_t)n;
    }
    if (!result && (fstat(fd, &st) || (uint64_t)st.st_size != len))
        result = error_setk(err, ERROR_OS, "'%s': size differs from '%s:%s' after copying",
                            display, fs->name, p);
    if (close(fd) && !result)
        result = local_fail("write", display, err);
    if (!result && renameat(dirfd, tmp, dirfd, name) != 0)
        result = local_fail("write", display, err);
    if (result)
        unlinkat(dirfd, tmp, 0);
    free(data);
    return result;
}

/* Make (or reuse) directory name in dirfd and open it, refusing a symlink in its place. */
static int open_subdir(int dirfd, const char *name, const char *display, struct error *err)
{
    if (mkdirat(dirfd, name, 0777) && errno != EEXIST)
        return local_fail("create directory", display, err);
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOTDIR) {
            /* O_NOFOLLOW on a symlink to a directory says ELOOP or ENOTDIR; say which */
            struct stat st;
            if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
                errno = ELOOP;
        }
        return local_fail("create directory", display, err);
    }
    return fd;
}

static int get_tree(struct fs *fs, const char *src, int dirfd, const char *dst, int depth,
                    const struct fs_output *out, struct error *err)
{
    if (depth > FS_MAX_DEPTH)
        return error_setk(err, ERROR_LITTLEFS, "'%s:%s': directories nest too deep", fs->name,
                          src);
    char *p = lfs_path(src);
    if (!p)
        return oom(err);
    struct entries files = {0}, dirs = {0};
    int result = read_dir(fs, p, &files, &dirs, err);
    for (size_t i = 0; i < files.n && !result; i++) {
        char *s = join(src, files.v[i].name), *d = join(dst, files.v[i].name);
        char *sp = join(p, files.v[i].name);
        if (!s || !d || !sp)
            result = oom(err);
        else {
            log_printf(fs_log(out), LOG_OUTPUT, "%s -> %s", s, d);
            result = get_file(fs, sp, dirfd, files.v[i].name, d, err);
        }
        free(s);
        free(d);
        free(sp);
    }
    /* each level's directories are made (and announced) first, then entered one at a time,
     * so only one descriptor per level is open */
    for (size_t i = 0; i < dirs.n && !result; i++) {
        char *s = join(src, dirs.v[i].name), *d = join(dst, dirs.v[i].name);
        if (!s || !d)
            result = oom(err);
        else {
            log_printf(fs_log(out), LOG_OUTPUT, "%s/ -> %s/", s, d);
            if (mkdirat(dirfd, dirs.v[i].name, 0777) && errno != EEXIST)
                result = local_fail("create directory", d, err);
        }
        free(s);
        free(d);
    }
    for (size_t i = 0; i < dirs.n && !result; i++) {
        char *s = join(src, dirs.v[i].name), *d = join(dst, dirs.v[i].name);
        if (!s || !d)
            result = oom(err);
        else {
            int fd = open_subdir(dirfd, dirs.v[i].name, d, err);
            if (fd < 0)
                result = -1;
            else {
                result = get_tree(fs, s, fd, d, depth + 1, out, err);
                close(fd);
            }
        }
        free(s);
        free(d);
    }
    entries_free(&files);
    entries_free(&dirs);
    free(p);
    return result;
}

static const char *base_name(const char *normal)
{
    const char *slash = strrchr(normal, '/');
    return slash ? slash + 1 : normal;
}

int fs_get(struct fs *fs, const char *src, const char *dest, const struct fs_output *out,
           struct error *err)
{
    fs->dirs_walked = 0;
    size_t sn = strlen(src) + 2, dn = strlen(dest) + 2;
    char *s = mp_malloc(sn), *d = mp_malloc(dn), *p = lfs_path(src);
    int result = 0;
    if (!s || !d || !p) {
        result = oom(err);
        goto done;
    }
    fs_path_norm(src, s, sn);
    fs_path_norm(dest, d, dn);
    struct lfs_info info;
    if ((result = stat_path(fs, p, &info, err)) != 0)
        goto done;
    if (info.type == LFS_TYPE_REG) {
        /* into an existing directory under the same name, else to dest itself */
        struct stat st;
        const char *name = base_name(s);
        if (stat(d, &st) == 0 && S_ISDIR(st.st_mode)) {
            int dirfd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (dirfd < 0) {
                result = local_fail("open directory", d, err);
                goto done;
            }
            char *target = join(d, name);
            result = target ? get_file(fs, p, dirfd, name, target, err) : oom(err);
            free(target);
            close(dirfd);
        } else {
            /* dest names the file: write it in dest's directory */
            char *slash = strrchr(d, '/');
            const char *name = slash ? slash + 1 : d;
            char *parent = slash ? mp_strndup(d, slash == d ? 1 : (size_t)(slash - d)) : mp_strdup(".");
            int dirfd = parent ? open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
            if (!parent)
                result = oom(err);
            else if (dirfd < 0)
                result = local_fail("open directory", parent, err);
            else
                result = get_file(fs, p, dirfd, name, d, err);
            if (dirfd >= 0)
                close(dirfd);
            free(parent);
        }
        goto done;
    }
    log_printf(fs_log(out), LOG_OUTPUT, "%s -> %s", s, d);
    /* dest itself is the user's choice and may be a link to a directory; below it nothing
     * is followed */
    if (mkdir(d, 0777) && errno != EEXIST) {
        result = local_fail("create directory", d, err);
        goto done;
    }
    int dirfd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0) {
        result = local_fail("open directory", d, err);
        goto done;
    }
    result = get_tree(fs, s, dirfd, d, 0, out, err);
    close(dirfd);
done:
    free(s);
    free(d);
    free(p);
    return result;
}

/* ---------------------------------------------------------------- put */

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int put_file(struct fs *fs, const char *local, const char *p, struct error *err)
{
    int fd = open(local, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return local_fail("read", local, err);
    int result = write_file_from(fs, p, fd, NULL, 0, local, err);
    close(fd);
    return result;
}

/* Copy the local directory src into the littlefs directory dst (which exists): like os.walk
 * top-down, files then subdirectories, names sorted so runs are repeatable. Symbolic links to
 * files are copied as files; links to directories become empty directories (not followed). */
static int put_tree(struct fs *fs, const char *src, const char *dst, int depth,
                    const struct fs_output *out, struct error *err)
{
    if (depth > FS_MAX_DEPTH)
        return error_setk(err, ERROR_OS, "'%s': directories nest too deep", src);
    DIR *dir = opendir(src);
    if (!dir)
        return local_fail("read directory", src, err);
    char **names = NULL;
    size_t n = 0, cap = 0;
    int result = 0;
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **v = mp_realloc(names, cap * sizeof *v);
            if (!v) {
                result = oom(err);
                break;
            }
            names = v;
        }
        if (!(names[n] = mp_strdup(de->d_name))) {
            result = oom(err);
            break;
        }
        n++;
    }
    closedir(dir);
    if (n)
        qsort(names, n, sizeof *names, name_cmp);
    /* kinds: 0 file, 1 directory to descend, 2 directory not followed */
    int *kind = mp_calloc(n + 1, sizeof *kind);
    if (!kind && !result)
        result = oom(err);
    for (size_t i = 0; i < n && !result; i++) {
        char *local = join(src, names[i]);
        struct stat st, lst;
        if (!local)
            result = oom(err);
        else if (lstat(local, &lst) || stat(local, &st))
            result = local_fail("read", local, err);
        else if (S_ISDIR(st.st_mode))
            kind[i] = S_ISLNK(lst.st_mode) ? 2 : 1;
        else if (S_ISREG(st.st_mode))
            kind[i] = 0;
        else
            result = error_setk(err, ERROR_OS, "'%s' is not a regular file or directory", local);
        free(local);
    }
    for (size_t i = 0; i < n && !result; i++) {
        if (kind[i] != 0)
            continue;
        char *local = join(src, names[i]), *target = join(dst, names[i]);
        char *p = target ? lfs_path(target) : NULL;
        if (!local || !target || !p)
            result = oom(err);
        else {
            log_printf(fs_log(out), LOG_OUTPUT, "%s -> %s", local, target);
            result = put_file(fs, local, p, err);
        }
        free(local);
        free(target);
        free(p);
    }
    for (size_t i = 0; i < n && !result; i++) {
        if (kind[i] == 0)
            continue;
        char *local = join(src, names[i]), *target = join(dst, names[i]);
        char *p = target ? lfs_path(target) : NULL;
        if (!local || !target || !p)
            result = oom(err);
        else {
            log_printf(fs_log(out), LOG_OUTPUT, "%s/ -> %s/", local, target);
            result = mkdir_parents(fs, p, err);
        }
        free(local);
        free(target);
        free(p);
    }
    for (size_t i = 0; i < n && !result; i++) {
        if (kind[i] != 1)
            continue;
        char *local = join(src, names[i]), *target = join(dst, names[i]);
        if (!local || !target)
            result = oom(err);
        else
            result = put_tree(fs, local, target, depth + 1, out, err);
        free(local);
        free(target);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(kind);
    return result;
}

int fs_put(struct fs *fs, const char *src, const char *dest, const struct fs_output *out,
           struct error *err)
{
    size_t sn = strlen(src) + 2, dn = strlen(dest) + 2;
    char *s = mp_malloc(sn), *d = mp_malloc(dn), *target = NULL, *p = NULL;
    int result = 0;
    if (!s || !d) {
        result = oom(err);
        goto done;
    }
    fs_path_norm(src, s, sn);
    fs_path_norm(dest, d, dn);
    struct stat st;
    if (stat(s, &st) != 0) {
        result = error_setk(err, ERROR_FILE, "No such file or directory: '%s'", src);
        goto done;
    }
    char *dp = lfs_path(d);
    if (!dp) {
        result = oom(err);
        goto done;
    }
    struct lfs_info info;
    int rc = lfs_stat(&fs->lfs, dp, &info);
    int dest_is_dir = rc == 0 && info.type == LFS_TYPE_DIR;
    free(dp);
    if (rc && rc != LFS_ERR_NOENT) {
        result = lfs_fail(fs, rc, d, err);
        goto done;
    }
    if (S_ISREG(st.st_mode)) {
        target = dest_is_dir ? join(d, base_name(s)) : mp_strdup(d);
        p = target ? lfs_path(target) : NULL;
        if (!p) {
            result = oom(err);
            goto done;
        }
        log_printf(fs_log(out), LOG_OUTPUT, "%s -> %s", s, target);
        result = put_file(fs, s, p, err);
        goto done;
    }
    if (!S_ISDIR(st.st_mode)) {
        result = error_setk(err, ERROR_OS, "'%s' is not a regular file or directory", src);
        goto done;
    }
    /* a directory goes in as dest/<its name>; "." and "/" have no name: their contents do */
    const char *name = base_name(s);
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || name[0] == '\0')
        target = mp_strdup(d);
    else
        target = join(d, name);
    p = target ? lfs_path(target) : NULL;
    if (!p) {
        result = oom(err);
        goto done;
    }
    log_printf(fs_log(out), LOG_OUTPUT, "%s -> %s", s, target);
    if ((result = mkdir_parents(fs, p, err)) == 0)
        result = put_tree(fs, s, target, 0, out, err);
done:
    free(s);
    free(d);
    free(target);
    free(p);
    return result;
}

/* ---------------------------------------------------------------- df, info, grow, mkfs */

int fs_usage(struct fs *fs, struct fs_usage *u, struct error *err)
{
    memset(u, 0, sizeof *u);
    snprintf(u->part, sizeof u->part, "%s", fs->name);
    struct lfs_fsinfo info;
    int rc = lfs_fs_stat(&fs->lfs, &info);
    if (rc)
        return lfs_fail(fs, rc, "/", err);
    lfs_ssize_t used = lfs_fs_size(&fs->lfs);
    if (used < 0)
        return lfs_fail(fs, (int)used, "/", err);
    u->disk_version = info.disk_version;
    u->name_max = info.name_max;
    u->block_size = info.block_size;
    u->block_count = info.block_count;
    u->blocks_used = (uint32_t)used;
    u->partition_blocks = fs->part_size / FS_BLOCK_SIZE;
    uint32_t free_blocks = u->block_count > u->blocks_used ? u->block_count - u->blocks_used : 0;
    u->total_kb = (uint32_t)((uint64_t)u->block_count * u->block_size / 1024);
    u->used_kb = (uint32_t)((uint64_t)u->blocks_used * u->block_size / 1024);
    u->free_kb = (uint32_t)((uint64_t)free_blocks * u->block_size / 1024);
    u->used_percent = fs_percent_half_even(u->blocks_used, u->block_count);
    return 0;
}

void fs_info_lines(const struct fs_usage *u, const struct fs_output *out)
{
    uint64_t image = (uint64_t)u->block_size * u->block_count;
    char version[24];
    snprintf(version, sizeof version, "%u.%u", u->disk_version >> 16, u->disk_version & 0xFFFF);
    uint32_t free_blocks = u->block_count > u->blocks_used ? u->block_count - u->blocks_used : 0;
    const struct log *log = fs_log(out);
    log_printf(log, LOG_OUTPUT, "Filesystem '%s': LittleFS", u->part);
    log_printf(log, LOG_OUTPUT, "  Disk Version:%9s", version);
    log_printf(log, LOG_OUTPUT, "  Name Max:    %9u", u->name_max);
    log_printf(log, LOG_OUTPUT, "  Image Size:  %9llu  /  0x%llX", (unsigned long long)image,
               (unsigned long long)image);
    log_printf(log, LOG_OUTPUT, "  Block Size:  %9u  /  0x%X", u->block_size, u->block_size);
    log_printf(log, LOG_OUTPUT, "  Blocks Total:%9u", u->block_count);
    log_printf(log, LOG_OUTPUT, "  Blocks Used: %9u", u->blocks_used);
    log_printf(log, LOG_OUTPUT, "  Blocks Free: %9u", free_blocks);
}

int fs_grow(struct fs *fs, uint32_t block_count, const struct fs_output *out,
            struct error *err)
{
    uint32_t part_blocks = fs->part_size / FS_BLOCK_SIZE;
    struct lfs_fsinfo info;
    int rc = lfs_fs_stat(&fs->lfs, &info);
    if (rc)
        return lfs_fail(fs, rc, "/", err);
    uint32_t old = info.block_count, want = block_count ? block_count : part_blocks;
    log_printf(fs_log(out), LOG_INFO, "fs: grow '%s' from %u to %u blocks", fs->name, old,
               want);
    if (want < old)
        return error_setk(err, ERROR_VALUE,
                          "Supplied block_count='%u' cannot be smaller than current block_count "
                          "%u",
                          want, old);
    if (want > part_blocks)
        return error_setk(err, ERROR_VALUE,
                          "Cannot grow '%s' to %u blocks: the partition holds %u blocks",
                          fs->name, want, part_blocks);
    if (want == old)
        return 0;
    rc = lfs_fs_grow(&fs->lfs, want);
    return rc ? lfs_fail(fs, rc, "/", err) : 0;
}

int fs_mkfs(struct flash *window, const struct fs_partition *part, uint32_t disk_version,
            enum fs_flush_mode mode, const struct fs_output *out, struct error *err)
{
    if (window->size == 0)
        return error_setk(err, ERROR_VALUE, "Partition '%s' is not in firmware file.",
                          part->name);
    uint32_t blocks = part->size / FS_BLOCK_SIZE;
    if (blocks < 2)
        return error_setk(err, ERROR_VALUE, "Partition '%s' is too small for a filesystem.",
                          part->name);
    log_printf(fs_log(out), LOG_ACTION, "Erasing partition '%s' from 0x0...", part->name);
    if (flash_erase(window, 0, part->size, err))
        return -1;
    log_printf(fs_log(out), LOG_INFO, "mkfs on partition '%s'...", part->name);
    struct fs *fs;
    int rc = fs_new(&fs, window, part, mode, err);
    if (rc)
        return rc;
    config_init(fs, blocks, disk_version);
    rc = lfs_format(&fs->lfs, &fs->cfg);
    if (!rc)
        rc = lfs_mount(&fs->lfs, &fs->cfg);
    if (rc) {
        rc = lfs_fail(fs, rc, "/", err);
        fs_free(fs);
        return rc;
    }
    fs->mounted = 1;
    int result = fs_write_file(fs, "/boot.py", FS_BOOT_PY, strlen(FS_BOOT_PY), err);
    if (fs_unmount(fs, result ? NULL : err))
        result = -1;
    return result;
}
