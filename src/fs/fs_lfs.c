/* The littlefs engine under the --fs commands (struct fs_engine, fs_int.h): what the commands
 * ask of a filesystem, done with src/lfs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/fs_int.h"
#include "util/alloc.h"

/* The commands compare the engine's codes with enum fs_error. */
_Static_assert((int)FS_ERR_NOENT == (int)LFS_ERR_NOENT && (int)FS_ERR_IO == (int)LFS_ERR_IO &&
                   (int)FS_ERR_NOMEM == (int)LFS_ERR_NOMEM &&
                   (int)FS_ERR_EXIST == (int)LFS_ERR_EXIST &&
                   (int)FS_ERR_NOTDIR == (int)LFS_ERR_NOTDIR &&
                   (int)FS_ERR_INVAL == (int)LFS_ERR_INVAL &&
                   (int)FS_ERR_NOSPC == (int)LFS_ERR_NOSPC,
               "engine codes differ from enum fs_error");

static int lfs_read_whole(struct fs *fs, const char *path, uint8_t **data, size_t *len,
                          struct error *err)
{
    *data = NULL;
    *len = 0;
    char *p = fs_lfs_path(path);
    if (!p)
        return fs_oom(err);
    lfs_file_t file;
    int rc = lfs_file_open(&fs->lfs, &file, p, LFS_O_RDONLY);
    if (rc) {
        fs_lfs_fail(fs, rc, p, err);
        free(p);
        return -1;
    }
    int result = 0;
    lfs_soff_t size = lfs_file_size(&fs->lfs, &file);
    uint64_t room = (uint64_t)fs->cache.block_count * fs->block_size;
    uint8_t *buf = size >= 0 && (uint64_t)size <= room ? mp_malloc((size_t)size + 1) : NULL;
    if (size < 0)
        result = fs_lfs_fail(fs, (int)size, p, err);
    else if ((uint64_t)size > room)
        result = error_setk(err, ERROR_LITTLEFS,
                            "'%s:%s': recorded size %ld is larger than the filesystem (corrupt)",
                            fs->name, p, (long)size);
    else if (!buf)
        result = fs_oom(err);
    size_t got = 0;
    while (!result && got < (size_t)size) {
        lfs_ssize_t n = lfs_file_read(&fs->lfs, &file, buf + got, (lfs_size_t)size - got);
        if (n < 0)
            result = fs_lfs_fail(fs, (int)n, p, err);
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

/* A local file's modification time as MicroPython records it (8 bytes, ns, little-endian);
 * 0 when there is none (contents from memory). */
static int local_mtime(int fd, uint8_t mtime[8])
{
    struct stat st;
#ifdef _WIN32
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_mtime < 0)
        return 0;
    uint64_t ns = (uint64_t)st.st_mtime * 1000000000u;
#else
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_mtim.tv_sec < 0)
        return 0;
    uint64_t ns = (uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec;
#endif
    for (int i = 0; i < 8; i++)
        mtime[i] = (uint8_t)(ns >> (8 * i));
    return 1;
}

/* The chip's verdict on whether bytes (the layout of a CTZ list, end bytes long) lie in
 * blocks[0 ..]: one MD5 per run of consecutive blocks. 1, 0 or -1 (why set). */
static int same_runs(struct fs *fs, const lfs_block_t *blocks, const uint8_t *bytes, size_t end,
                     struct error *why)
{
    uint32_t bs = fs->block_size;
    size_t count = (end + bs - 1) / bs;
    for (size_t i = 0; i < count;) {
        size_t j = i;
        while (j + 1 < count && blocks[j + 1] == blocks[j] + 1)
            j++;
        size_t stop = j + 1 == count ? end : (j + 1) * (size_t)bs;
        int same = fs_cache_holds(&fs->cache, blocks[i] * bs, bytes + i * (size_t)bs,
                                  (uint32_t)(stop - i * (size_t)bs), why);
        if (same != 1)
            return same;
        i = j + 1;
    }
    return 1;
}

/* Whether the CTZ list of size bytes ending at head holds want, without reading its data: the
 * chip compares MD5s. First as if the list lay in consecutive blocks (a file written into free
 * space: no read at all), else along its skip pointers (a few bytes read per block). */
static int same_blocks(struct fs *fs, lfs_block_t head, lfs_size_t size, const uint8_t *want,
                       struct error *why)
{
    lfs_size_t count = lfs_ctz_block_count(fs->block_size, size);
    if ((uint64_t)count * fs->block_size > fs->part_size)
        return 0;
    uint8_t *layout = mp_malloc((size_t)count * fs->block_size);
    lfs_block_t *blocks = mp_malloc((size_t)count * sizeof *blocks);
    int same = 0;
    if (!layout || !blocks) {
        same = error_fail(why, FS_ERR_NOMEM, ERROR_OS, "out of memory");
        goto done;
    }
    int consecutive = head + 1 >= count;
    if (consecutive) {
        for (lfs_size_t i = 0; i < count; i++)
            blocks[i] = head + 1 - count + i;
        size_t end = lfs_ctz_layout(fs->block_size, blocks, want, size, layout);
        same = same_runs(fs, blocks, layout, end, why);
    }
    if (same == 0 && count > 1) {
        int rc = lfs_ctz_blocks(&fs->lfs, head, blocks, count);
        if (rc == LFS_ERR_NOMEM) {
            same = error_fail(why, FS_ERR_NOMEM, ERROR_OS, "out of memory");
            goto done;
        }
        int moved = 0;
        for (lfs_size_t i = 0; i < count && !rc; i++)
            moved |= blocks[i] != head + 1 - count + i;
        if (!rc && (moved || !consecutive)) {
            size_t end = lfs_ctz_layout(fs->block_size, blocks, want, size, layout);
            same = same_runs(fs, blocks, layout, end, why);
        }
    }
done:
    free(layout);
    free(blocks);
    if (same < 0 && why->code != FS_ERR_NOMEM)
        same = 0;
    return same;
}

/* Whether the file at p (size bytes; its CTZ list ends at head, or LFS_NO_BLOCK: inline)
 * already holds want[0..size). 1 yes, 0 no (write it), or FS_ERR_NOMEM. */
static int same_contents(struct fs *fs, const char *p, lfs_block_t head, lfs_size_t size,
                         const uint8_t *want, struct error *err)
{
    if (size == 0)
        return 1;
    int same = 0;
    struct error why;
    if (head == LFS_NO_BLOCK || !flash_can(fs->cache.flash, FLASH_CAP_LIVE)) {
        /* inline (in the metadata already read) or in memory: compare the bytes */
        uint8_t *have;
        size_t n;
        if (lfs_read_whole(fs, p, &have, &n, &why) == 0) {
            same = n == size && memcmp(have, want, size) == 0;
            free(have);
        } else if (why.code == LFS_ERR_NOMEM) {
            same = -1;
        }
    } else {
        same = same_blocks(fs, head, size, want, &why);
    }
    fs->io_failed = 0; /* a comparison that failed otherwise only means: write the file */
    if (same < 0) {
        if (err)
            *err = why;
        return FS_ERR_NOMEM;
    }
    return same;
}

/* Whether p can stay as it is: a file with the same bytes (and then its modification time set
 * when the local one differs). 1 unchanged, 0 write it, negative on error. */
static int keep_unchanged(struct fs *fs, const char *p, int fd, const void *data, size_t len,
                          const char *what, struct error *err)
{
    struct stat st;
    if (fd >= 0) {
        if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
            return 0;
        len = (size_t)st.st_size;
    }
    lfs_block_t head;
    lfs_size_t size;
    int rc = lfs_file_where(&fs->lfs, p, &head, &size);
    if (rc == LFS_ERR_NOMEM)
        return fs_oom(err);
    if (rc || size != len)
        return 0; /* a size that differs needs no look at the bytes */
    uint8_t *local = NULL;
    size_t n = len;
    if (fd >= 0) {
        rc = fs_read_local(fd, &local, &n, what, err);
        /* the copy that may follow reads from the start */
        if (lseek(fd, 0, SEEK_SET) != 0 && !rc) {
            free(local);
            return error_setk(err, ERROR_OS, "%s: %s", what, strerror(errno));
        }
        if (rc)
            return rc;
        data = local;
    }
    int same = n == len ? same_contents(fs, p, head, size, data, err) : 0;
    free(local);
    if (same <= 0)
        return same;
    uint8_t mtime[8], stored[8];
    lfs_ssize_t got = lfs_getattr(&fs->lfs, p, FS_ATTR_MTIME, stored, sizeof stored);
    if (got == LFS_ERR_NOMEM)
        return fs_oom(err);
    if (local_mtime(fd, mtime) && (got != (lfs_ssize_t)8 || memcmp(stored, mtime, 8) != 0)) {
        rc = lfs_setattr(&fs->lfs, p, FS_ATTR_MTIME, mtime, sizeof mtime);
        if (rc)
            return fs_lfs_fail(fs, rc, p, err);
    }
    fs->unchanged++;
    return 1;
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
    if (local_mtime(fd, mtime)) {
        fcfg.attrs = &attr;
        fcfg.attr_count = 1;
    }
    /* the buffer before the file: once opened with truncation, closing commits what it holds */
    uint8_t *buf = fd >= 0 ? mp_malloc(FS_COPY_CHUNK) : NULL;
    if (fd >= 0 && !buf)
        return fs_oom(err);
    lfs_file_t file;
    int rc = lfs_file_opencfg(&fs->lfs, &file, p, LFS_O_WRONLY | LFS_O_CREAT | LFS_O_TRUNC,
                              &fcfg);
    if (rc) {
        free(buf);
        *nospc = rc == LFS_ERR_NOSPC && !fs->io_failed;
        return fs_lfs_fail(fs, rc, p, err);
    }
    int result = 0;
    uint64_t total = 0;
    while (!result) {
        const void *chunk = data;
        ssize_t n = (ssize_t)len;
        if (fd >= 0) {
            n = read(fd, buf, FS_COPY_CHUNK);
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
            result = fs_lfs_fail(fs, (int)w, p, err);
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
        result = fs_lfs_fail(fs, rc, p, err);
    }
    if (!result) {
        struct lfs_info info;
        rc = lfs_stat(&fs->lfs, p, &info);
        if (rc)
            result = fs_lfs_fail(fs, rc, p, err);
        else if (info.size != total)
            result = error_setk(err, ERROR_LITTLEFS, "'%s:%s': wrote %llu bytes, holds %lu",
                                fs->name, p, (unsigned long long)total, (unsigned long)info.size);
    }
    return result;
}

/* Create or replace path's contents (from fd when fd >= 0, else from data). A replacement is
 * atomic (the old contents stay until the new are complete) when there is room for both; when
 * there is not, the old file is removed first, as the Python tool always did. */
static int lfs_write_whole(struct fs *fs, const char *p, int fd, const void *data, size_t len,
                           const char *what, struct error *err)
{
    struct lfs_info info;
    int rc = lfs_stat(&fs->lfs, p, &info);
    if (rc == 0 && info.type == LFS_TYPE_DIR)
        return fs_lfs_fail(fs, LFS_ERR_ISDIR, p, err);
    if (rc && rc != LFS_ERR_NOENT)
        return fs_lfs_fail(fs, rc, p, err);
    int existed = rc == 0, nospc;
    if (existed) {
        /* the same bytes already there (a tree put again): nothing to write */
        int kept = keep_unchanged(fs, p, fd, data, len, what, err);
        if (kept)
            return kept < 0 ? kept : 0;
    }
    int result = write_attempt(fs, p, fd, data, len, what, &nospc, err);
    if (result && nospc && existed) {
        if ((rc = lfs_remove(&fs->lfs, p)) != 0)
            return fs_lfs_fail(fs, rc, p, err);
        if (fd >= 0 && lseek(fd, 0, SEEK_SET) != 0)
            return error_setk(err, ERROR_OS, "%s: %s", what, strerror(errno));
        result = write_attempt(fs, p, fd, data, len, what, &nospc, err);
    }
    /* a new file is committed empty at open: do not leave that behind after a failure */
    if (result && !existed && !fs->io_failed)
        lfs_remove(&fs->lfs, p);
    return result;
}

static int lfs_stat_op(struct fs *fs, const char *p, struct fs_stat *st, struct error *err)
{
    memset(st, 0, sizeof *st);
    struct lfs_info info;
    int rc = lfs_stat(&fs->lfs, p, &info);
    if (rc)
        return fs_lfs_fail(fs, rc, p, err);
    st->is_dir = info.type == LFS_TYPE_DIR;
    st->size = info.size;
    uint8_t m[8];
    lfs_ssize_t n = lfs_getattr(&fs->lfs, p, FS_ATTR_MTIME, m, sizeof m);
    if (n == (lfs_ssize_t)sizeof m) {
        st->has_mtime = 1;
        for (int i = 7; i >= 0; i--)
            st->mtime_ns = st->mtime_ns << 8 | m[i];
    } else if (n < 0 && n != LFS_ERR_NOATTR) {
        return fs_lfs_fail(fs, (int)n, p, err);
    }
    return 0;
}

static int lfs_list_op(struct fs *fs, const char *p, fs_list_cb cb, void *ctx, struct error *err)
{
    lfs_dir_t dir;
    int rc = lfs_dir_open(&fs->lfs, &dir, p);
    if (rc)
        return fs_lfs_fail(fs, rc, p, err);
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
        if ((result = cb(ctx, info.name, len, info.type == LFS_TYPE_DIR, info.size)) != 0)
            break;
    }
    if (rc < 0 && result == 0)
        result = fs_lfs_fail(fs, rc, p, err);
    lfs_dir_close(&fs->lfs, &dir);
    return result;
}

static int lfs_mkdir_op(struct fs *fs, const char *p, struct error *err)
{
    int rc = lfs_mkdir(&fs->lfs, p);
    return rc ? fs_lfs_fail(fs, rc, p, err) : 0;
}

static int lfs_remove_op(struct fs *fs, const char *p, struct error *err)
{
    int rc = lfs_remove(&fs->lfs, p);
    return rc ? fs_lfs_fail(fs, rc, p, err) : 0;
}

static int lfs_rename_op(struct fs *fs, const char *a, const char *b, struct error *err)
{
    int rc = lfs_rename(&fs->lfs, a, b);
    return rc ? fs_lfs_fail(fs, rc, a, err) : 0;
}

/* A file written into free space lies in consecutive blocks ending at its head. */
static void lfs_extents_op(struct fs *fs, const char *p,
                           void (*cb)(void *ctx, uint32_t addr, uint32_t len), void *ctx)
{
    lfs_block_t head;
    lfs_size_t size;
    if (lfs_file_where(&fs->lfs, p, &head, &size) || head == LFS_NO_BLOCK || size == 0)
        return;
    lfs_size_t count = lfs_ctz_block_count(fs->block_size, size);
    if (head + 1 >= count && head < fs->cache.block_count)
        cb(ctx, (head + 1 - count) * fs->block_size, count * fs->block_size);
}

const struct fs_engine fs_engine_lfs = {
    .name = "LittleFS",
    .error_name = "LittleFS",
    .error_kind = ERROR_LITTLEFS,
    .stat = lfs_stat_op,
    .list = lfs_list_op,
    .read_file = lfs_read_whole,
    .write_file = lfs_write_whole,
    .make_dir = lfs_mkdir_op,
    .remove = lfs_remove_op,
    .move = lfs_rename_op,
    .fail = fs_lfs_fail,
    .extents = lfs_extents_op,
};
