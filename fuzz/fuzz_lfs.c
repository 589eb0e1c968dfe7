/* libFuzzer harness for the littlefs engine: mount an arbitrary image, walk every directory,
 * stat and read every file, try a few changes, remount and walk again. Nothing may crash, leak
 * or hang; every failure must be a clean error code.
 *
 * The parsed pairs the engine keeps between calls must equal what the flash holds after every
 * phase (checked by parsing them again), whatever the image.
 *
 * Input: byte 0 selects the block size (128 << (b & 3), or 4096 when bit 2 is set) and whether
 * the config pins block_count (bit 3), whether writes are tried (bit 4) and whether the parsed
 * pair cache is tiny (bit 5: every pair parsed again when next used); byte 1 is spare; the
 * rest is the image (padded with 0xFF to a whole number of blocks, at least 2). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lfs/lfs.h"
#include "lfs/lfs_meta.h"

struct fdev {
    uint8_t *data;
    uint32_t bs, blocks;
};

static int fd_read(const struct lfs_config *c, lfs_block_t b, lfs_off_t off, void *buf,
                   lfs_size_t size)
{
    struct fdev *d = c->context;
    if (b >= d->blocks || off > d->bs || size > d->bs - off)
        return LFS_ERR_IO;
    memcpy(buf, d->data + (size_t)b * d->bs + off, size);
    return 0;
}

static int fd_prog(const struct lfs_config *c, lfs_block_t b, lfs_off_t off, const void *buf,
                   lfs_size_t size)
{
    struct fdev *d = c->context;
    if (b >= d->blocks || off > d->bs || size > d->bs - off)
        return LFS_ERR_IO;
    uint8_t *p = d->data + (size_t)b * d->bs + off;
    const uint8_t *q = buf;
    for (lfs_size_t i = 0; i < size; i++)
        p[i] &= q[i];
    return 0;
}

static int fd_erase(const struct lfs_config *c, lfs_block_t b)
{
    struct fdev *d = c->context;
    if (b >= d->blocks)
        return LFS_ERR_IO;
    memset(d->data + (size_t)b * d->bs, 0xFF, d->bs);
    return 0;
}

static void walk(lfs_t *lfs, const char *path, int depth, int *budget)
{
    if (depth > 12 || *budget <= 0)
        return;
    lfs_dir_t dir;
    if (lfs_dir_open(lfs, &dir, path))
        return;
    struct lfs_info info;
    while (--*budget > 0 && lfs_dir_read(lfs, &dir, &info) > 0) {
        size_t pl = strlen(path), nl = strlen(info.name);
        char *child = malloc(pl + nl + 2);
        memcpy(child, path, pl);
        child[pl] = '/';
        memcpy(child + pl + 1, info.name, nl + 1);
        struct lfs_info st;
        lfs_stat(lfs, child, &st);
        uint8_t attr[16];
        lfs_getattr(lfs, child, 1, attr, sizeof attr);
        if (info.type == LFS_TYPE_DIR) {
            walk(lfs, child, depth + 1, budget);
        } else {
            lfs_file_t f;
            if (lfs_file_open(lfs, &f, child, LFS_O_RDONLY) == 0) {
                uint8_t buf[512];
                uint32_t total = 0;
                lfs_ssize_t n;
                while ((n = lfs_file_read(lfs, &f, buf, sizeof buf)) > 0 && total < (1u << 20))
                    total += (uint32_t)n;
                lfs_file_seek(lfs, &f, 7, LFS_SEEK_SET);
                lfs_file_read(lfs, &f, buf, 3);
                lfs_file_close(lfs, &f);
            }
        }
        free(child);
    }
    lfs_dir_close(lfs, &dir);
}

static void try_writes(lfs_t *lfs)
{
    static const uint8_t data[700] = {1, 2, 3};
    lfs_mkdir(lfs, "/fz");
    lfs_file_t f;
    if (lfs_file_open(lfs, &f, "/fz/a", LFS_O_WRONLY | LFS_O_CREAT | LFS_O_TRUNC) == 0) {
        lfs_file_write(lfs, &f, data, sizeof data);
        lfs_file_close(lfs, &f);
    }
    if (lfs_file_open(lfs, &f, "/boot.py", LFS_O_RDWR | LFS_O_CREAT) == 0) {
        lfs_file_seek(lfs, &f, 5, LFS_SEEK_SET);
        lfs_file_write(lfs, &f, data, 40);
        lfs_file_truncate(lfs, &f, 20);
        lfs_file_close(lfs, &f);
    }
    lfs_rename(lfs, "/fz/a", "/moved");
    lfs_setattr(lfs, "/moved", 1, data, 8);
    lfs_remove(lfs, "/moved");
    lfs_remove(lfs, "/fz");
    lfs_fs_size(lfs);
}

static void check_cache(lfs_t *lfs)
{
    if (lfs_mcache_check(lfs->st) != 0)
        abort(); /* a kept pair differs from the flash */
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t len)
{
    if (len < 2)
        return 0;
    uint8_t sel = in[0];
    uint32_t bs = (sel & 4) ? 4096 : 128u << (sel & 3);
    size_t img = len - 2;
    uint32_t blocks = (uint32_t)((img + bs - 1) / bs);
    if (blocks < 2)
        blocks = 2;
    if (blocks > 256)
        blocks = 256;
    struct fdev d = {malloc((size_t)blocks * bs), bs, blocks};
    memset(d.data, 0xFF, (size_t)blocks * bs);
    memcpy(d.data, in + 2, img < (size_t)blocks * bs ? img : (size_t)blocks * bs);
    struct lfs_config cfg;
    lfs_config_default(&cfg);
    cfg.context = &d;
    cfg.read = fd_read;
    cfg.prog = fd_prog;
    cfg.erase = fd_erase;
    cfg.block_size = bs;
    cfg.read_size = bs < 4096 ? 16 : 32;
    cfg.prog_size = bs < 4096 ? 16 : 32;
    cfg.cache_size = 4 * cfg.prog_size;
    cfg.block_count = (sel & 8) ? blocks : 0;
    cfg.meta_cache_size = (sel & 32) ? 1 : 0;
    lfs_t lfs;
    if (lfs_mount(&lfs, &cfg) == 0) {
        struct lfs_fsinfo info;
        lfs_fs_stat(&lfs, &info);
        int budget = 2000;
        walk(&lfs, "", 0, &budget);
        check_cache(&lfs);
        if (sel & 16) {
            try_writes(&lfs);
            check_cache(&lfs);
            lfs_unmount(&lfs);
            if (lfs_mount(&lfs, &cfg) == 0) {
                budget = 2000;
                walk(&lfs, "", 0, &budget);
                lfs_unmount(&lfs);
            }
        } else {
            lfs_unmount(&lfs);
        }
    }
    free(d.data);
    return 0;
}
