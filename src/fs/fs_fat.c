/* The FAT engine under the --fs commands (struct fs_engine, fs_int.h): src/fat on the same block
 * cache littlefs uses, so a FAT partition is read and written through the flash interface like
 * a littlefs one, on files and boards alike. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fs/fs_int.h"
#include "util/alloc.h"
#include "util/bytes.h"

/* The commands compare the engine's codes with enum fs_error. */
_Static_assert((int)FS_ERR_NOENT == (int)FAT_ERR_NOENT && (int)FS_ERR_IO == (int)FAT_ERR_IO &&
                   (int)FS_ERR_NOMEM == (int)FAT_ERR_NOMEM &&
                   (int)FS_ERR_EXIST == (int)FAT_ERR_EXIST &&
                   (int)FS_ERR_NOTDIR == (int)FAT_ERR_NOTDIR &&
                   (int)FS_ERR_INVAL == (int)FAT_ERR_INVAL &&
                   (int)FS_ERR_NOSPC == (int)FAT_ERR_NOSPC,
               "engine codes differ from enum fs_error");

/* ---------------------------------------------------------------- the device */

static int dev_read(void *ctx, uint32_t off, void *buf, uint32_t len)
{
    struct fs *fs = ctx;
    uint8_t *out = buf;
    while (len) {
        uint32_t block = off / FS_BLOCK_SIZE, in = off % FS_BLOCK_SIZE;
        uint32_t n = FS_BLOCK_SIZE - in < len ? FS_BLOCK_SIZE - in : len;
        if (fs_cache_read(&fs->cache, block, in, out, n, &fs->io_err)) {
            fs->io_failed = 1;
            return FAT_ERR_IO;
        }
        off += n;
        out += n;
        len -= n;
    }
    return 0;
}

static int dev_write(void *ctx, uint32_t off, const void *buf, uint32_t len)
{
    struct fs *fs = ctx;
    const uint8_t *in = buf;
    while (len) {
        uint32_t block = off / FS_BLOCK_SIZE, at = off % FS_BLOCK_SIZE;
        uint32_t n = FS_BLOCK_SIZE - at < len ? FS_BLOCK_SIZE - at : len;
        if (fs_cache_prog(&fs->cache, block, at, in, n, &fs->io_err)) {
            fs->io_failed = 1;
            return FAT_ERR_IO;
        }
        off += n;
        in += n;
        len -= n;
    }
    return 0;
}

/* The engine's ordering points (data, entries, FAT): each reaches the flash before the next. */
static int dev_sync(void *ctx)
{
    struct fs *fs = ctx;
    if (fs->mode != FS_FLUSH_AT_SYNC)
        return 0;
    if (fs_cache_flush(&fs->cache, &fs->io_err)) {
        fs->io_failed = 1;
        return FAT_ERR_IO;
    }
    return 0;
}

static struct fat_dev make_dev(struct fs *fs)
{
    uint32_t size = fs->part_size;
    uint64_t room = (uint64_t)fs->cache.block_count * FS_BLOCK_SIZE;
    if (size > room)
        size = (uint32_t)room;
    struct fat_dev d = {fs, dev_read, dev_write, dev_sync, size};
    return d;
}

/* The time FAT records for new entries and mkfs's volume serial: SOURCE_DATE_EPOCH when set
 * (reproducible images, as build tools honour it), else the clock. */
static time_t now(void)
{
    const char *e = getenv("SOURCE_DATE_EPOCH");
    if (e && *e) {
        char *end;
        long long v = strtoll(e, &end, 10);
        if (!*end && v >= 0)
            return (time_t)v;
    }
    return time(NULL);
}

/* ---------------------------------------------------------------- errors */

/* "OSError -2: ENOENT: 'vfs:/x'", as MicroPython names a FatFs failure; a flash error underneath
 * is reported as itself. */
static int fat_fail(struct fs *fs, int code, const char *path, struct error *err)
{
    if (fs->io_failed) {
        fs->io_failed = 0;
        if (!err)
            return -EIO;
        *err = fs->io_err;
        return error_wrap(err, -EIO, "'%s:%s'", fs->name, path);
    }
    if (code == FAT_ERR_CORRUPT)
        return error_fail(err, code, ERROR_OS, "FAT filesystem is corrupt at '%s:%s'", fs->name,
                          path);
    return error_fail(err, code, ERROR_OS, "[Errno %d] %s: '%s:%s'", -code, fat_err_text(code),
                      fs->name, path);
}

int fs_holds_fat(struct flash *window)
{
    uint8_t bs[64], sig[2];
    struct error e;
    if (window->size < 512 || flash_read(window, 0, bs, sizeof bs, &e) ||
        flash_read(window, 510, sig, sizeof sig, &e))
        return 0;
    uint32_t ss = get_le16(bs + 11);
    return sig[0] == 0x55 && sig[1] == 0xAA && (bs[0] == 0xEB || bs[0] == 0xE9) && ss >= 512 &&
           ss <= 4096 && !(ss & (ss - 1)) && bs[13] && !(bs[13] & (bs[13] - 1)) && bs[16] >= 1;
}

int fs_fat_mount(struct fs *fs, struct error *err)
{
    struct fat_dev dev = make_dev(fs);
    int rc = fat_mount(&fs->fat, &dev);
    if (rc == FAT_ERR_NOMEM)
        return fs_oom(err);
    if (rc == FAT_ERR_INVAL && !fs->io_failed) {
        /* the usual reason: a partition made smaller than the volume on it */
        uint8_t bs[40];
        if (dev_read(fs, 0, bs, sizeof bs) == 0) {
            uint64_t total = get_le16(bs + 19) ? get_le16(bs + 19) : get_le32(bs + 32);
            uint64_t bytes = total * get_le16(bs + 11);
            if (bytes > dev.size)
                return error_fail(err, FS_ERR_INVAL, ERROR_OS,
                                  "Partition '%s' holds %u bytes: too small for its FAT "
                                  "filesystem of %llu bytes",
                                  fs->name, dev.size, (unsigned long long)bytes);
        }
    }
    if (rc)
        return error_wrap(err, fat_fail(fs, rc, "/", err),
                          "Partition '%s' holds a FAT filesystem that does not mount", fs->name);
    fs->eng = &fs_engine_fat;
    struct fat_volinfo vi;
    fat_volinfo(fs->fat, &vi);
    fs->max_dirs = vi.clusters + 1;
    return 0;
}

int fs_fat_usage(struct fs *fs, struct fs_usage *u, struct error *err)
{
    (void)err;
    struct fat_volinfo vi;
    fat_volinfo(fs->fat, &vi);
    memset(u, 0, sizeof *u);
    snprintf(u->part, sizeof u->part, "%s", fs->name);
    u->is_fat = 1;
    u->fat_type = (uint32_t)vi.type;
    u->sector_size = vi.sector_size;
    u->total_sectors = vi.total_sectors;
    u->fats = vi.fats;
    u->root_entries = vi.root_entries;
    u->volume_id = vi.volume_id;
    memcpy(u->label, vi.label, sizeof u->label);
    u->name_max = FAT_NAME_MAX;
    u->block_size = vi.cluster_size;
    u->block_count = vi.clusters;
    u->blocks_used = vi.clusters - vi.free_clusters;
    /* MicroPython mounts a FAT smaller than its partition: nothing to warn about */
    u->partition_blocks = u->block_count;
    u->total_kb = (uint32_t)((uint64_t)vi.clusters * vi.cluster_size / 1024);
    u->used_kb = (uint32_t)((uint64_t)u->blocks_used * vi.cluster_size / 1024);
    u->free_kb = (uint32_t)((uint64_t)vi.free_clusters * vi.cluster_size / 1024);
    u->used_percent = fs_percent_half_even(u->blocks_used, u->block_count);
    return 0;
}

/* MicroPython's block size on ESP32 (esp32.Partition's default, also the FAT sector size). */
#define FAT_SECTOR 4096u

int fs_fat_mkfs(struct fs *fs, struct error *err)
{
    struct fat_dev dev = make_dev(fs);
    struct fat_mkfs_opts o = {FAT_SECTOR, now()};
    int rc = fat_mkfs(&dev, &o);
    if (rc == FAT_ERR_INVAL && !fs->io_failed)
        return error_setk(err, ERROR_VALUE,
                          "Partition '%s' (%u bytes) is too small for a FAT filesystem of "
                          "%u-byte sectors.",
                          fs->name, fs->part_size, FAT_SECTOR);
    if (rc)
        return fat_fail(fs, rc, "/", err);
    return fs_fat_mount(fs, err);
}

/* A FAT grows in place when its table already has entries for the new clusters: FatFs sizes
 * the table for the clusters it made, rounded up to a sector, so a 4096-byte sector of FAT12
 * covers up to 2728 clusters. Beyond that the table would have to move: refused. */
int fs_fat_grow(struct fs *fs, uint32_t block_count, const struct fs_output *out,
                struct error *err)
{
    struct fat_volinfo vi;
    fat_volinfo(fs->fat, &vi);
    uint32_t ss = vi.sector_size;
    uint32_t part_secs = fs->part_size / ss;
    uint64_t want64 = block_count ? (uint64_t)block_count * FS_BLOCK_SIZE / ss : part_secs;
    uint32_t want = want64 > UINT32_MAX ? UINT32_MAX : (uint32_t)want64;
    uint32_t limit = fat_grow_limit(fs->fat, part_secs);
    log_printf(fs_log(out), LOG_INFO, "fs: grow FAT on '%s' from %u to %u sectors", fs->name,
               vi.total_sectors, block_count ? want : limit);
    if (want < vi.total_sectors)
        return error_setk(err, ERROR_VALUE,
                          "Supplied size (%u sectors) cannot be smaller than the current FAT "
                          "filesystem (%u sectors)",
                          want, vi.total_sectors);
    if (want > part_secs)
        return error_setk(err, ERROR_VALUE,
                          "Cannot grow '%s' to %u sectors: the partition holds %u sectors",
                          fs->name, want, part_secs);
    if (block_count && want > limit)
        return error_setk(err, ERROR_VALUE,
                          "Cannot grow the FAT filesystem on '%s' beyond %u sectors: its FAT "
                          "has no entries for more clusters (back it up with get, mkfs, then "
                          "put)",
                          fs->name, limit);
    if (!block_count && limit < part_secs)
        log_printf(fs_log(out), LOG_WARNING,
                   "Warning: the FAT on '%s' has entries for %u sectors of the partition's %u: "
                   "growing that far (mkfs makes a FAT for all of it)",
                   fs->name, limit, part_secs);
    int rc = fat_grow(fs->fat, block_count ? want : limit);
    return rc ? fat_fail(fs, rc, "/", err) : 0;
}

/* ---------------------------------------------------------------- operations */

static int fat_stat_op(struct fs *fs, const char *p, struct fs_stat *st, struct error *err)
{
    memset(st, 0, sizeof *st);
    struct fat_info *info = mp_malloc(sizeof *info);
    if (!info)
        return fs_oom(err);
    int rc = fat_stat(fs->fat, p, info);
    if (!rc) {
        st->is_dir = info->is_dir;
        st->size = info->size;
        if (strcmp(p, "/") != 0) {
            st->has_mtime = 1;
            st->mtime_ns = info->mtime > 0 ? (uint64_t)info->mtime * 1000000000u : 0;
        }
    }
    free(info);
    return rc ? fat_fail(fs, rc, p, err) : 0;
}

struct list_ctx {
    fs_list_cb cb;
    void *ctx;
};

static int list_one(void *ctx, const struct fat_info *info)
{
    struct list_ctx *c = ctx;
    int rc = c->cb(c->ctx, info->name, strlen(info->name), info->is_dir, info->size);
    return rc ? rc : 0;
}

static int fat_list_op(struct fs *fs, const char *p, fs_list_cb cb, void *ctx, struct error *err)
{
    struct list_ctx c = {cb, ctx};
    int rc = fat_dir_list(fs->fat, p, list_one, &c);
    /* a callback's failure carries its own message; the engine's need one */
    if (rc && (rc == FAT_ERR_NOMEM || rc == FAT_ERR_CORRUPT || rc == FAT_ERR_IO ||
               rc == FAT_ERR_NOENT || rc == FAT_ERR_NOTDIR))
        return rc == FAT_ERR_NOMEM ? fs_oom(err) : fat_fail(fs, rc, p, err);
    return rc;
}

static int fat_read_op(struct fs *fs, const char *p, uint8_t **data, size_t *len,
                       struct error *err)
{
    *data = NULL;
    *len = 0;
    struct fat_file f;
    int rc = fat_file_open(fs->fat, p, &f);
    if (rc)
        return fat_fail(fs, rc, p, err);
    if ((uint64_t)f.size > fs->part_size)
        return error_setk(err, ERROR_OS,
                          "'%s:%s': recorded size %u is larger than the filesystem (corrupt)",
                          fs->name, p, f.size);
    uint8_t *buf = mp_malloc((size_t)f.size + 1);
    if (!buf)
        return fs_oom(err);
    int n = f.size ? fat_file_read(fs->fat, &f, buf, f.size) : 0;
    if (n < 0 || (uint32_t)n != f.size) {
        free(buf);
        return fat_fail(fs, n < 0 ? n : FAT_ERR_CORRUPT, p, err);
    }
    *data = buf;
    *len = (size_t)n;
    return 0;
}

int64_t fs_local_mtime(int fd)
{
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0)
        return 0;
    return (int64_t)st.st_mtime;
}

/* Comparing a file run by run (fat_file_runs) with the bytes a put would write. */
struct same_runs {
    struct fs *fs;
    const uint8_t *want;
    uint32_t pos;
    struct error why;
};

static int compare_run(void *ctx, uint32_t off, uint32_t len)
{
    struct same_runs *r = ctx;
    int same = fs_cache_holds(&r->fs->cache, off, r->want + r->pos, len, &r->why);
    r->pos += len;
    return same == 1 ? 0 : same == 0 ? 1 : -1;
}

/* Whether p already holds data[0..len): then a put leaves its clusters alone and sets only a
 * changed modification time (FAT keeps even seconds). The chip compares the clusters on a board
 * (fs_cache_holds). 1 unchanged, 0 write it, or a negative fat_error. */
static int fat_unchanged(struct fs *fs, const char *p, const uint8_t *data, size_t len,
                         int64_t mtime)
{
    struct fat_info *info = mp_malloc(sizeof *info);
    if (!info)
        return FAT_ERR_NOMEM;
    int rc = fat_stat(fs->fat, p, info);
    int candidate = rc == 0 && !info->is_dir && info->size == len;
    int same_time = (int64_t)info->mtime / 2 == mtime / 2;
    free(info);
    if (rc == FAT_ERR_NOMEM)
        return rc;
    if (!candidate)
        return 0;
    struct same_runs r = {.fs = fs, .want = data};
    rc = fat_file_runs(fs->fat, p, compare_run, &r);
    fs->io_failed = 0; /* a comparison that failed only means: write the file */
    if (rc < 0 && r.why.code == FS_ERR_NOMEM)
        return FAT_ERR_NOMEM;
    if (rc != 0 || r.pos != len)
        return 0;
    if (!same_time && (rc = fat_set_mtime(fs->fat, p, (time_t)mtime)) != 0)
        return rc;
    fs->unchanged++;
    return 1;
}

struct extents_ctx {
    void (*cb)(void *ctx, uint32_t addr, uint32_t len);
    void *ctx;
};

static int extent_run(void *ctx, uint32_t off, uint32_t len)
{
    struct extents_ctx *e = ctx;
    e->cb(e->ctx, off, len);
    return 0;
}

static void fat_extents_op(struct fs *fs, const char *p,
                           void (*cb)(void *ctx, uint32_t addr, uint32_t len), void *ctx)
{
    struct extents_ctx e = {cb, ctx};
    fat_file_runs(fs->fat, p, extent_run, &e);
}

/* The new contents go to free clusters, the FAT takes the new chain, the entry moves to it, then
 * the old chain is freed (fat_write_file): a replacement keeps the old file until the new one is
 * whole, when there is room for both. */
static int fat_write_op(struct fs *fs, const char *p, int fd, const void *data, size_t len,
                        const char *what, struct error *err)
{
    uint8_t *buf = NULL;
    int64_t mtime = fd >= 0 ? fs_local_mtime(fd) : 0;
    if (fd >= 0) {
        if (fs_read_local(fd, &buf, &len, what, err))
            return -1;
        data = buf;
    }
    if (mtime <= 0)
        mtime = (int64_t)now();
    int rc = len > UINT32_MAX ? FAT_ERR_NOSPC : fat_unchanged(fs, p, data, len, mtime);
    if (rc == 1) {
        free(buf);
        return 0;
    }
    int writing = rc == 0; /* else too large, or the comparison failed */
    if (writing)
        rc = fat_write_file(fs->fat, p, data, (uint32_t)len, (time_t)mtime);
    if (writing && rc == FAT_ERR_NOSPC) {
        /* no room for the old and the new contents at once: the old file goes first, as the
         * Python tool always did (put's dry run has checked that the new one then fits) */
        struct fat_info *info = mp_malloc(sizeof *info);
        if (!info)
            rc = FAT_ERR_NOMEM;
        else if (fat_stat(fs->fat, p, info) == 0 && !info->is_dir &&
                 (rc = fat_remove(fs->fat, p)) == 0)
            rc = fat_write_file(fs->fat, p, data, (uint32_t)len, (time_t)mtime);
        free(info);
    }
    free(buf);
    if (rc == FAT_ERR_NOMEM)
        return fs_oom(err);
    return rc ? fat_fail(fs, rc, p, err) : 0;
}

static int fat_mkdir_op(struct fs *fs, const char *p, struct error *err)
{
    int rc = fat_mkdir(fs->fat, p, now());
    return rc ? fat_fail(fs, rc, p, err) : 0;
}

static int fat_remove_op(struct fs *fs, const char *p, struct error *err)
{
    int rc = fat_remove(fs->fat, p);
    return rc ? fat_fail(fs, rc, p, err) : 0;
}

static int fat_rename_op(struct fs *fs, const char *a, const char *b, struct error *err)
{
    int rc = fat_rename(fs->fat, a, b);
    return rc ? fat_fail(fs, rc, a, err) : 0;
}

const struct fs_engine fs_engine_fat = {
    .name = "FAT",
    .error_name = "OS",
    .error_kind = ERROR_OS,
    .stat = fat_stat_op,
    .list = fat_list_op,
    .read_file = fat_read_op,
    .write_file = fat_write_op,
    .make_dir = fat_mkdir_op,
    .remove = fat_remove_op,
    .move = fat_rename_op,
    .fail = fat_fail,
    .extents = fat_extents_op,
};
