/* Write-back block cache between littlefs and a flash window (see fs.h).
 *
 * Why whole blocks: over a serial line every flash transaction costs a round trip, so a block is
 * fetched once and kept, and writes go out as few, large, consecutive runs. There the cache
 * holds the partition's bytes in one lazily filled array, so a run is written straight from it.
 * A firmware file is already in memory: copying what is read would only double it, so clean
 * blocks come from the mapping and a changed block has a copy of its own until it is written. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs/fs.h"
#include "util/alloc.h"
#include "util/check.h"
#include "util/digest.h"

#define FS_CACHE_SMALL_READ 256

int fs_cache_init(struct fs_cache *c, struct flash *flash, uint32_t block_size,
                  struct error *err)
{
    memset(c, 0, sizeof *c);
    c->flash = flash;
    c->block_size = block_size;
    c->block_count = (flash->limit - flash->base) / block_size;
    c->last_block = UINT32_MAX;
    c->outside = UINT32_MAX;
    c->held = UINT32_MAX;
    if (c->block_count == 0)
        return error_setk(err, ERROR_VALUE, "%s: 0x%x bytes hold no %u-byte block",
                          flash->name ? flash->name : "partition", flash->limit - flash->base,
                          block_size);
    /* A window always has a map op (its parent's): ask for bytes. A file that ends before the
     * partition starts has none and is cached as a board is. */
    c->mapped = !flash_can(flash, FLASH_CAP_LIVE) && flash_map(flash, flash->base, 0) != NULL;
    if (c->mapped)
        c->blocks = mp_calloc(c->block_count, sizeof *c->blocks);
    else /* malloc, not calloc: pages of blocks never touched are never committed. */
        c->data = mp_malloc((size_t)c->block_count * block_size);
    c->loaded = mp_calloc(c->block_count, 1);
    c->dirty = mp_calloc(c->block_count, 1);
    if ((c->mapped ? !c->blocks : !c->data) || !c->loaded || !c->dirty) {
        fs_cache_free(c);
        return error_fail(err, FS_ERR_NOMEM, ERROR_OS, "out of memory for a cache of %u blocks",
                          c->block_count);
    }
    return 0;
}

void fs_cache_free(struct fs_cache *c)
{
    if (c->blocks)
        for (uint32_t b = 0; b < c->block_count; b++)
            free(c->blocks[b]);
    free(c->blocks);
    c->blocks = NULL;
    free(c->data);
    free(c->loaded);
    free(c->dirty);
    free(c->in_use);
    c->data = c->loaded = c->dirty = c->in_use = NULL;
}

int fs_cache_batch(struct fs_cache *c, struct error *err)
{
    if (!c->in_use) {
        c->in_use = mp_calloc(c->block_count, 1);
        if (!c->in_use)
            return error_fail(err, FS_ERR_NOMEM, ERROR_OS, "out of memory");
    }
    c->held = UINT32_MAX;
    return 0;
}

void fs_cache_mark_used(struct fs_cache *c, uint32_t block)
{
    if (c->in_use && block < c->block_count)
        c->in_use[block] = 1;
}

/* Batching: a block in use is about to change. When another one already waits, write what the
 * cache holds first: littlefs's programs so far, a state it survives a power cut in. */
static int before_change(struct fs_cache *c, uint32_t block, struct error *err)
{
    if (!c->in_use || !c->in_use[block] || c->dirty[block])
        return 0;
    if (c->held != UINT32_MAX && fs_cache_flush(c, err))
        return -1;
    c->held = block;
    return 0;
}

static int check_block(struct fs_cache *c, uint32_t block, uint32_t off, uint32_t size,
                       struct error *err)
{
    if (block >= c->block_count && c->outside == UINT32_MAX)
        c->outside = block;
    if (block >= c->block_count || off > c->block_size || size > c->block_size - off)
        return error_setk(err, ERROR_LITTLEFS,
                          "block %u (offset %u, %u bytes) is outside %s (%u blocks)", block, off,
                          size, c->flash->name ? c->flash->name : "the partition",
                          c->block_count);
    return 0;
}

static uint8_t *block_ptr(const struct fs_cache *c, uint32_t block)
{
    MP_ASSERT(block < c->block_count); /* check_block has refused the others */
    return c->mapped ? c->blocks[block] : c->data + (size_t)block * c->block_size;
}

const uint8_t *fs_cache_block(const struct fs_cache *c, uint32_t block)
{
    return block < c->block_count && c->loaded[block] ? block_ptr(c, block) : NULL;
}

/* Room for a block's own copy (mapped: allocated on demand). */
static uint8_t *hold(struct fs_cache *c, uint32_t block, struct error *err)
{
    if (c->mapped && !c->blocks[block]) {
        c->blocks[block] = mp_malloc(c->block_size);
        if (!c->blocks[block]) {
            error_fail(err, FS_ERR_NOMEM, ERROR_OS, "out of memory for a %u-byte block",
                       c->block_size);
            return NULL;
        }
    }
    return block_ptr(c, block);
}

/* A mapped block's copy once the flash holds the same bytes: read from the mapping again. */
static void drop(struct fs_cache *c, uint32_t block)
{
    if (!c->mapped)
        return;
    free(c->blocks[block]);
    c->blocks[block] = NULL;
    c->loaded[block] = 0;
}

/* Where a clean block's bytes can be read without a copy (NULL: load it). */
static const uint8_t *mapped_block(struct fs_cache *c, uint32_t block)
{
    if (!c->mapped || c->loaded[block])
        return NULL;
    return flash_map(c->flash, c->flash->base + block * c->block_size, c->block_size);
}

/* Bring a block into the cache: the bytes the flash holds, 0xFF for any part beyond its end. */
static int load(struct fs_cache *c, uint32_t block, struct error *err)
{
    if (c->loaded[block])
        return 0;
    const uint8_t *m = mapped_block(c, block);
    uint8_t *p = hold(c, block, err);
    if (!p)
        return -1;
    if (m) {
        memcpy(p, m, c->block_size);
        c->loaded[block] = 1;
        return 0;
    }
    uint32_t addr = c->flash->base + block * c->block_size;
    uint32_t avail = 0;
    if (c->flash->size > addr)
        avail = c->flash->size - addr;
    if (avail > c->block_size)
        avail = c->block_size;
    if (avail) {
        c->flash_reads++;
        if (flash_read(c->flash, addr, p, avail, err))
            return -1;
    }
    memset(p + avail, 0xFF, c->block_size - avail);
    c->loaded[block] = 1;
    return 0;
}

int fs_cache_read(struct fs_cache *c, uint32_t block, uint32_t off, void *buf, uint32_t size,
                  struct error *err)
{
    if (check_block(c, block, off, size, err))
        return -1;
    const uint8_t *m = mapped_block(c, block);
    if (m) {
        memcpy(buf, m + off, size);
        return 0;
    }
    uint32_t addr = c->flash->base + block * c->block_size + off;
    if (!c->loaded[block] && size <= FS_CACHE_SMALL_READ && c->flash->size >= addr + size &&
        flash_can(c->flash, FLASH_CAP_LIVE)) {
        /* a revision or a file's skip pointers: a board sends a few hundred bytes, not the
         * block (littlefs reads the whole block when it needs it) */
        c->flash_reads++;
        return flash_read(c->flash, addr, buf, size, err);
    }
    if (load(c, block, err))
        return -1;
    memcpy(buf, block_ptr(c, block) + off, size);
    return 0;
}

int fs_cache_prog(struct fs_cache *c, uint32_t block, uint32_t off, const void *buf,
                  uint32_t size, struct error *err)
{
    if (check_block(c, block, off, size, err) || before_change(c, block, err) ||
        load(c, block, err))
        return -1;
    memcpy(block_ptr(c, block) + off, buf, size);
    c->changes++;
    c->dirty[block] = 1;
    c->last_block = block;
    return 0;
}

int fs_cache_erase(struct fs_cache *c, uint32_t block, struct error *err)
{
    if (check_block(c, block, 0, 0, err) || before_change(c, block, err))
        return -1;
    /* No read needed: the whole block becomes erased. On flash an erase is a write of 0xFF. */
    uint8_t *p = hold(c, block, err);
    if (!p)
        return -1;
    memset(p, 0xFF, c->block_size);
    c->changes++;
    c->loaded[block] = 1;
    c->dirty[block] = 1;
    c->last_block = block;
    return 0;
}

static int write_run(struct fs_cache *c, uint32_t first, uint32_t count, struct error *err)
{
    if (c->mapped) {
        /* the copies lie apart; writing to memory costs nothing per call */
        for (uint32_t b = first; b < first + count; b++) {
            c->flash_writes++;
            c->bytes_written += c->block_size;
            if (flash_write(c->flash, c->flash->base + b * c->block_size, c->blocks[b],
                            c->block_size, err))
                return -1;
            c->dirty[b] = 0;
            drop(c, b);
        }
        return 0;
    }
    uint32_t addr = c->flash->base + first * c->block_size;
    uint32_t len = count * c->block_size;
    c->flash_writes++;
    c->bytes_written += len;
    if (flash_write(c->flash, addr, block_ptr(c, first), len, err))
        return -1;
    memset(c->dirty + first, 0, count);
    return 0;
}

int fs_cache_flush(struct fs_cache *c, struct error *err)
{
    /* One block goes last, after everything else has reached the medium (a board's own cache
     * would otherwise write in address order): batching, the block in use, whose commits name
     * the others; else the most recently programmed, as littlefs commits metadata after the
     * data it refers to. */
    uint32_t last = c->in_use ? c->held : c->last_block;
    int hold = last != UINT32_MAX && c->dirty[last];
    if (hold)
        c->dirty[last] = 0;
    int wrote = hold;
    for (uint32_t b = 0; b < c->block_count;) {
        if (!c->dirty[b]) {
            b++;
            continue;
        }
        uint32_t end = b;
        while (end < c->block_count && c->dirty[end])
            end++;
        wrote = 1;
        if (c->in_use)
            memset(c->in_use + b, 1, end - b);
        if (write_run(c, b, end - b, err)) {
            if (hold)
                c->dirty[last] = 1;
            return -1;
        }
        b = end;
    }
    if (hold) {
        if (flash_flush(c->flash, err) || write_run(c, last, 1, err)) {
            c->dirty[last] = 1;
            return -1;
        }
    }
    c->last_block = UINT32_MAX;
    c->held = UINT32_MAX;
    c->flushes += wrote;
    return flash_flush(c->flash, err);
}

int fs_cache_holds(struct fs_cache *c, uint32_t addr, const uint8_t *bytes, uint32_t len,
                   struct error *err)
{
    uint32_t bs = c->block_size;
    uint64_t end = (uint64_t)addr + len;
    if (len == 0 || end > (uint64_t)c->block_count * bs)
        return 0;
    uint32_t first = addr / bs, last = (uint32_t)((end - 1) / bs);
    int dirty = 0;
    for (uint32_t b = first; b <= last; b++)
        dirty |= c->dirty[b];
    if (!dirty && flash_can(c->flash, FLASH_CAP_LIVE)) {
        /* the chip compares: the bytes never cross the line */
        uint8_t there[16], here[16];
        if (flash_md5(c->flash, c->flash->base + addr, len, there, err))
            return -1;
        digest_md5(bytes, len, here);
        return memcmp(there, here, 16) == 0;
    }
    uint8_t *tmp = mp_malloc(bs);
    if (!tmp)
        return error_fail(err, FS_ERR_NOMEM, ERROR_OS, "out of memory");
    int same = 1;
    for (uint32_t pos = 0; pos < len && same == 1;) {
        uint32_t a = addr + pos, off = a % bs;
        uint32_t n = bs - off < len - pos ? bs - off : len - pos;
        if (fs_cache_read(c, a / bs, off, tmp, n, err))
            same = -1;
        else if (memcmp(tmp, bytes + pos, n) != 0)
            same = 0;
        pos += n;
    }
    free(tmp);
    return same;
}

int fs_cache_read_ahead(struct fs_cache *c, uint32_t addr, uint32_t len, struct error *err)
{
    if (c->mapped || len == 0 || !flash_can(c->flash, FLASH_CAP_LIVE))
        return 0;
    uint32_t bs = c->block_size;
    uint32_t first = addr / bs, end = (uint32_t)(((uint64_t)addr + len + bs - 1) / bs);
    if (end > c->block_count)
        end = c->block_count;
    for (uint32_t b = first; b < end;) {
        if (c->loaded[b]) {
            b++;
            continue;
        }
        uint32_t e = b;
        while (e < end && !c->loaded[e])
            e++;
        uint32_t a = c->flash->base + b * bs, n = (e - b) * bs;
        if (a >= c->flash->size)
            break;
        if (n > c->flash->size - a)
            n = (c->flash->size - a) / bs * bs;
        if (n == 0)
            break;
        c->flash_reads++;
        if (flash_read(c->flash, a, block_ptr(c, b), n, err))
            return -1;
        memset(c->loaded + b, 1, n / bs);
        b = e;
    }
    return 0;
}
