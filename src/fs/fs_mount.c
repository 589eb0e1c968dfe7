/* A littlefs filesystem mounted on a partition window: the block device under the engine,
 * mount and unmount, and the commands on the filesystem as a whole (df, info, grow, mkfs). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/fs_int.h"
#include "util/alloc.h"

/* ---------------------------------------------------------------- errors */

/* "LittleFSError -2: LFS_ERR_NOENT: 'vfs:/x'" (the Python tool's text, then where); returns
 * the code. A flash error underneath littlefs is reported as itself, with LFS_ERR_IO. */
int fs_lfs_fail(struct fs *fs, int code, const char *path, struct error *err)
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

static int bd_prog(const struct lfs_config *c, lfs_block_t block, lfs_off_t off, const void *buf,
                   lfs_size_t size)
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
    c->block_size = fs->block_size;
    c->block_count = block_count;
    c->block_cycles = FS_BLOCK_CYCLES;
    c->cache_size = FS_CACHE_SIZE;
    c->lookahead_size = FS_LOOKAHEAD_SIZE;
    c->name_max = FS_NAME_MAX;
    c->disk_version = disk_version;
}

int fs_oom(struct error *err)
{
    return error_fail(err, LFS_ERR_NOMEM, ERROR_OS, "out of memory");
}

static int fs_new(struct fs **out, struct flash *window, const struct fs_partition *part,
                  enum fs_flush_mode mode, struct error *err)
{
    *out = NULL;
    struct fs *fs = mp_calloc(1, sizeof *fs);
    if (!fs) {
        fs_oom(err);
        return LFS_ERR_NOMEM; /* a constant: gcc 12 -O3 then sees that fs is set on success */
    }
    snprintf(fs->name, sizeof fs->name, "%s", part->name);
    fs->part_size = part->size;
    fs->block_size = fs_part_block_size(part);
    fs->mode = mode;
    int rc = fs_cache_init(&fs->cache, window, fs->block_size, err);
    if (rc) {
        free(fs);
        return rc;
    }
    fs->eng = &fs_engine_lfs;
    /* every littlefs directory owns a metadata pair (two blocks) */
    fs->max_dirs = fs->cache.block_count / 2 + 1;
    *out = fs;
    return 0;
}

static void fs_free(struct fs *fs)
{
    fat_unmount(fs->fat);
    fs_cache_free(&fs->cache);
    free(fs);
}

static int bd_reserved(const struct lfs_config *c, lfs_block_t block)
{
    struct fs *fs = c->context;
    return fs->reserved(fs->reserved_ctx, block);
}

int fs_format_like(struct fs **out, struct flash *window, const struct fs_partition *part,
                   enum fs_flush_mode mode, const struct lfs_fsinfo *like,
                   int (*reserved)(void *ctx, uint32_t block), void *ctx, struct error *err)
{
    *out = NULL;
    uint32_t blocks = part->size / fs_part_block_size(part);
    if (blocks < 2)
        return error_fail(err, LFS_ERR_INVAL, ERROR_VALUE,
                          "Partition '%s' is too small for a filesystem.", part->name);
    struct fs *fs = NULL;
    int rc = fs_new(&fs, window, part, mode, err);
    if (rc)
        return rc;
    config_init(fs, blocks, like->disk_version);
    fs->cfg.name_max = like->name_max;
    fs->cfg.file_max = like->file_max;
    fs->cfg.attr_max = like->attr_max;
    if (reserved) {
        fs->reserved = reserved;
        fs->reserved_ctx = ctx;
        fs->cfg.reserved = bd_reserved;
    }
    rc = lfs_format(&fs->lfs, &fs->cfg);
    if (!rc)
        rc = lfs_mount(&fs->lfs, &fs->cfg);
    if (rc) {
        rc = fs_lfs_fail(fs, rc, "/", err);
        fs_free(fs);
        return rc;
    }
    fs->mounted = 1;
    *out = fs;
    return 0;
}

void fs_discard(struct fs *fs)
{
    if (!fs)
        return;
    if (fs->mounted)
        lfs_unmount(&fs->lfs);
    fs_free(fs);
}

/* Mount with block_count 0: the count comes from the superblock. The engine keeps an image's
 * on-disk version when it changes it (a 2.0 image stays 2.0 for firmware up to v1.21). */
int fs_mount(struct fs **out, struct flash *window, const struct fs_partition *part,
             enum fs_flush_mode mode, struct error *err)
{
    *out = NULL;
    struct fs *fs = NULL;
    int rc = fs_new(&fs, window, part, mode, err);
    if (rc)
        return rc;
    if (fs_holds_fat(window) && !fs_holds_littlefs(window)) {
        rc = fs_fat_mount(fs, err);
        if (rc) {
            fs_free(fs);
            return rc;
        }
        *out = fs;
        return 0;
    }
    config_init(fs, 0, 0);
    rc = lfs_mount(&fs->lfs, &fs->cfg);
    if (rc) {
        if (fs->cache.outside != UINT32_MAX)
            rc = error_fail(err, LFS_ERR_INVAL, ERROR_LITTLEFS,
                            "Partition '%s' holds %u blocks: too small for its filesystem "
                            "(which uses block %u)",
                            part->name, fs->cache.block_count, fs->cache.outside);
        else
            rc = error_wrap(err, fs_lfs_fail(fs, rc, "/", err),
                            fs_holds_littlefs(window)
                                ? "Partition '%s' holds a littlefs filesystem that does not mount"
                                : "Partition '%s' holds neither a littlefs nor a FAT filesystem",
                            part->name);
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
                          part->name, part->size / fs_part_block_size(part), info.block_count);
    }
    if (rc) {
        rc = fs_lfs_fail(fs, rc, "/", err);
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
            result = fs_lfs_fail(fs, rc, "/", err);
    }
    if (fs->mode != FS_FLUSH_NEVER && fs_cache_flush(&fs->cache, result ? NULL : err))
        result = -1;
    fs_free(fs);
    return result;
}

static int mark_used(void *ctx, lfs_block_t block)
{
    fs_cache_mark_used(ctx, block);
    return 0;
}

int fs_batch(struct fs *fs, struct error *err)
{
    if (fs->eng != &fs_engine_lfs || fs->mode == FS_FLUSH_NEVER)
        return 0;
    if (fs_cache_flush(&fs->cache, err) || fs_cache_batch(&fs->cache, err))
        return -1;
    /* what the flash's filesystem refers to: its pairs and every file's blocks (reading them
     * here costs nothing extra: the allocator reads the same at its first scan) */
    int rc = lfs_fs_traverse(&fs->lfs, mark_used, &fs->cache);
    if (rc)
        return fs_lfs_fail(fs, rc, "/", err);
    fs->mode = FS_FLUSH_BATCHED;
    return 0;
}

uint32_t fs_unchanged_files(const struct fs *fs)
{
    return fs->unchanged;
}

const struct fs_cache *fs_cache_of(const struct fs *fs)
{
    return &fs->cache;
}

void fs_protect_file(struct fs *fs, const char *path)
{
    fs->protect = path;
}

/* ---------------------------------------------------------------- df, info, grow, mkfs */

int fs_usage(struct fs *fs, struct fs_usage *u, struct error *err)
{
    if (fs->fat)
        return fs_fat_usage(fs, u, err);
    memset(u, 0, sizeof *u);
    snprintf(u->part, sizeof u->part, "%s", fs->name);
    struct lfs_fsinfo info;
    int rc = lfs_fs_stat(&fs->lfs, &info);
    if (rc)
        return fs_lfs_fail(fs, rc, "/", err);
    lfs_ssize_t used = lfs_fs_size(&fs->lfs);
    if (used < 0)
        return fs_lfs_fail(fs, (int)used, "/", err);
    u->disk_version = info.disk_version;
    u->name_max = info.name_max;
    u->block_size = info.block_size;
    u->block_count = info.block_count;
    u->blocks_used = (uint32_t)used;
    u->partition_blocks = fs->part_size / fs->block_size;
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
    if (u->is_fat) {
        log_printf(log, LOG_OUTPUT, "Filesystem '%s': FAT%u", u->part, u->fat_type);
        log_printf(log, LOG_OUTPUT, "  Sector Size: %9u  /  0x%X", u->sector_size,
                   u->sector_size);
        log_printf(log, LOG_OUTPUT, "  Cluster Size:%9u  /  0x%X", u->block_size, u->block_size);
        uint64_t volume = (uint64_t)u->sector_size * u->total_sectors;
        log_printf(log, LOG_OUTPUT, "  Image Size:  %9llu  /  0x%llX", (unsigned long long)volume,
                   (unsigned long long)volume);
        log_printf(log, LOG_OUTPUT, "  FATs:        %9u", u->fats);
        log_printf(log, LOG_OUTPUT, "  Root Entries:%9u", u->root_entries);
        log_printf(log, LOG_OUTPUT, "  Volume ID:    %04X-%04X", u->volume_id >> 16,
                   u->volume_id & 0xFFFF);
        log_printf(log, LOG_OUTPUT, "  Label:       %9s", u->label[0] ? u->label : "-");
        log_printf(log, LOG_OUTPUT, "  Clusters Total:%7u", u->block_count);
        log_printf(log, LOG_OUTPUT, "  Clusters Used: %7u", u->blocks_used);
        log_printf(log, LOG_OUTPUT, "  Clusters Free: %7u", free_blocks);
        return;
    }
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

int fs_grow(struct fs *fs, uint32_t block_count, const struct fs_output *out, struct error *err)
{
    if (fs->fat)
        return fs_fat_grow(fs, block_count, out, err);
    uint32_t part_blocks = fs->part_size / fs->block_size;
    struct lfs_fsinfo info;
    int rc = lfs_fs_stat(&fs->lfs, &info);
    if (rc)
        return fs_lfs_fail(fs, rc, "/", err);
    uint32_t old = info.block_count, want = block_count ? block_count : part_blocks;
    log_printf(fs_log(out), LOG_INFO, "fs: grow '%s' from %u to %u blocks", fs->name, old, want);
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
    return rc ? fs_lfs_fail(fs, rc, "/", err) : 0;
}

/* Erase and format the window; the new filesystem stays mounted in *out. */
static int format_window(struct flash *window, const struct fs_partition *part,
                         uint32_t disk_version, enum fs_flush_mode mode,
                         const struct fs_output *out, struct fs **result, struct error *err)
{
    if (window->size == 0)
        return error_setk(err, ERROR_VALUE, "Partition '%s' is not in firmware file.",
                          part->name);
    uint32_t blocks = part->size / fs_part_block_size(part);
    if (blocks < 2)
        return error_setk(err, ERROR_VALUE, "Partition '%s' is too small for a filesystem.",
                          part->name);
    log_printf(fs_log(out), LOG_ACTION, "Erasing partition '%s' from 0x0...", part->name);
    if (flash_erase(window, 0, part->size, err))
        return -1;
    log_printf(fs_log(out), LOG_INFO, "mkfs on partition '%s'...", part->name);
    struct fs *fs = NULL;
    int rc = fs_new(&fs, window, part, mode, err);
    if (rc)
        return rc;
    config_init(fs, blocks, disk_version);
    rc = lfs_format(&fs->lfs, &fs->cfg);
    if (!rc)
        rc = lfs_mount(&fs->lfs, &fs->cfg);
    if (rc) {
        rc = fs_lfs_fail(fs, rc, "/", err);
        fs_free(fs);
        return rc;
    }
    fs->mounted = 1;
    *result = fs;
    return 0;
}

int fs_mkfs(struct flash *window, const struct fs_partition *part, uint32_t disk_version,
            enum fs_flush_mode mode, const struct fs_output *out, struct error *err)
{
    struct fs *fs = NULL;
    int rc = format_window(window, part, disk_version, mode, out, &fs, err);
    if (rc)
        return rc;
    int result = fs_write_file(fs, "/boot.py", FS_BOOT_PY, strlen(FS_BOOT_PY), err);
    if (fs_unmount(fs, result ? NULL : err))
        result = -1;
    return result;
}

int fs_wants_fat(struct flash *window, const struct fs_partition *part)
{
    if (part->type != PART_TYPE_DATA || part->subtype != PART_SUBTYPE_DATA_FAT)
        return 0;
    return strcmp(part->name, "ffat") == 0 ||
           (window->size > 0 && fs_holds_fat(window) && !fs_holds_littlefs(window));
}

int fs_mkfs_fat(struct flash *window, const struct fs_partition *part, enum fs_flush_mode mode,
                const struct fs_output *out, struct error *err)
{
    if (window->size == 0)
        return error_setk(err, ERROR_VALUE, "Partition '%s' is not in firmware file.",
                          part->name);
    log_printf(fs_log(out), LOG_ACTION, "Erasing partition '%s' from 0x0...", part->name);
    if (flash_erase(window, 0, part->size, err))
        return -1;
    log_printf(fs_log(out), LOG_INFO, "mkfs (FAT) on partition '%s'...", part->name);
    struct fs *fs = NULL;
    int rc = fs_new(&fs, window, part, mode, err);
    if (rc)
        return rc;
    rc = fs_fat_mkfs(fs, err);
    if (rc) {
        fs_free(fs);
        return rc;
    }
    int result = fs_write_file(fs, "/boot.py", FS_BOOT_PY, strlen(FS_BOOT_PY), err);
    if (fs_unmount(fs, result ? NULL : err))
        result = -1;
    return result;
}

int fs_format(struct flash *window, const struct fs_partition *part, uint32_t disk_version,
              enum fs_flush_mode mode, const struct fs_output *out, struct error *err)
{
    struct fs *fs = NULL;
    int rc = format_window(window, part, disk_version, mode, out, &fs, err);
    if (rc)
        return rc;
    return fs_unmount(fs, err);
}
