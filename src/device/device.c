#include "device/device.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "util/digest.h"
#include "util/bytes.h"

#define BLOCK FLASH_SECTOR_SIZE
#define MD5_CHUNK 0x10000u   /* compare what is on the chip in 64 KiB pieces before writing */
#define SMALL 0x100u         /* a short read fetches 256-byte pieces, not the whole block */

static int read_run(struct flash_device *d, uint32_t addr, uint32_t len, struct error *err)
{
    if (len == 0)
        return 0;
    if (loader_read_flash(d->loader, addr, d->cache + addr, len, err))
        return error_prefix(err, "reading flash 0x%" PRIx32 "-0x%" PRIx32, addr, addr + len);
    d->bytes_read += len;
    memset(d->loaded + addr / BLOCK, 1, len / BLOCK);
    return 0;
}

/* Whether the chip says the 64 KiB piece at addr is erased: its MD5 is that of 0xff bytes. A
 * chip that cannot answer is asked no more (its pieces are then read). */
static int piece_erased(struct flash_device *d, uint32_t addr)
{
    if (d->no_md5)
        return 0;
    uint8_t md5[16];
    struct error why;
    if (loader_flash_md5(d->loader, addr, MD5_CHUNK, md5, &why)) {
        d->no_md5 = 1;
        log_printf(d->log, LOG_DEBUG, "reading every block: %s", why.msg);
        return 0;
    }
    return memcmp(md5, d->erased_md5, 16) == 0;
}

/* Read the run [addr, addr + len) of missing blocks into the cache: whole 64 KiB pieces that
 * the chip reports erased are not sent (a board's empty filesystem, the end of its flash); the
 * rest goes in one streamed read per stretch, which keeps the line busy. */
static int load_run(struct flash_device *d, uint32_t addr, uint32_t len, struct error *err)
{
    uint32_t end = addr + len, pending = addr;
    uint32_t pos = (addr + MD5_CHUNK - 1) / MD5_CHUNK * MD5_CHUNK;
    for (; pos + MD5_CHUNK <= end; pos += MD5_CHUNK) {
        if (!piece_erased(d, pos))
            continue;
        if (read_run(d, pending, pos - pending, err))
            return -1;
        memset(d->cache + pos, 0xFF, MD5_CHUNK);
        memset(d->loaded + pos / BLOCK, 1, MD5_CHUNK / BLOCK);
        d->bytes_found_erased += MD5_CHUNK;
        pending = pos + MD5_CHUNK;
    }
    return read_run(d, pending, end - pending, err);
}

static int load_blocks(struct flash_device *d, uint32_t first, uint32_t last, struct error *err)
{
    uint32_t b = first;
    while (b <= last) {
        if (d->loaded[b]) {
            b++;
            continue;
        }
        uint32_t end = b;
        while (end + 1 <= last && !d->loaded[end + 1])
            end++;
        if (load_run(d, b * BLOCK, (end - b + 1) * BLOCK, err))
            return -1;
        b = end + 1;
    }
    return 0;
}

/* A short read inside one block not yet loaded (an image or segment header): only the
 * 256-byte pieces it touches cross the line, a tenth of the block's time. */
static int read_small(struct flash_device *d, uint32_t addr, uint32_t len, struct error *err)
{
    uint32_t b = addr / BLOCK;
    for (uint32_t p = addr / SMALL; p <= (addr + len - 1) / SMALL; p++) {
        uint16_t bit = (uint16_t)(1u << (p % (BLOCK / SMALL)));
        if (d->pieces[b] & bit)
            continue;
        if (loader_read_flash(d->loader, p * SMALL, d->cache + p * SMALL, SMALL, err))
            return error_prefix(err, "reading flash 0x%" PRIx32 "-0x%" PRIx32, p * SMALL,
                                (p + 1) * SMALL);
        d->bytes_read += SMALL;
        d->pieces[b] |= bit;
    }
    return 0;
}

static int device_read(struct flash *f, uint32_t addr, void *buf, uint32_t len, struct error *err)
{
    struct flash_device *d = (struct flash_device *)f;
    if (len <= 2 * SMALL && addr / BLOCK == (addr + len - 1) / BLOCK &&
        !d->loaded[addr / BLOCK]) {
        if (read_small(d, addr, len, err))
            return -1;
    } else if (load_blocks(d, addr / BLOCK, (addr + len - 1) / BLOCK, err)) {
        return -1;
    }
    memcpy(buf, d->cache + addr, len);
    return 0;
}

static int device_write(struct flash *f, uint32_t addr, const void *buf, uint32_t len,
                        struct error *err)
{
    struct flash_device *d = (struct flash_device *)f;
    uint32_t first = addr / BLOCK, last = (addr + len - 1) / BLOCK;
    /* Only the partly covered end blocks need their old contents. */
    if ((addr % BLOCK) && load_blocks(d, first, first, err))
        return -1;
    if (((addr + len) % BLOCK) && load_blocks(d, last, last, err))
        return -1;
    memcpy(d->cache + addr, buf, len);
    memset(d->loaded + first, 1, last - first + 1);
    memset(d->dirty + first, 1, last - first + 1);
    return 0;
}

static int device_erase(struct flash *f, uint32_t addr, uint32_t len, struct error *err)
{
    struct flash_device *d = (struct flash_device *)f;
    if (addr % BLOCK || len % BLOCK)
        return error_setk(err, ERROR_VALUE,
                          "erase_flash: 0x%" PRIx32 " is not aligned to blocksize (0x1000 bytes).",
                          addr % BLOCK ? addr : len);
    memset(d->cache + addr, 0xFF, len);
    memset(d->loaded + addr / BLOCK, 1, len / BLOCK);
    memset(d->dirty + addr / BLOCK, 1, len / BLOCK);
    return 0;
}

/* Erase whole blocks on the chip (the loader checks by MD5 that they read back erased). */
static int erase_verified(struct flash_device *d, uint32_t addr, uint32_t len, struct error *err)
{
    if (loader_erase_region(d->loader, addr, len, err))
        return error_prefix(err, "erasing flash 0x%" PRIx32 "-0x%" PRIx32, addr, addr + len);
    return 0;
}

/* Send one run of dirty blocks, leaving out the 64 KiB pieces the chip already holds. */
static int write_run(struct flash_device *d, uint32_t addr, uint32_t len, struct error *err)
{
    uint32_t pos = addr, end = addr + len;
    while (pos < end) {
        /* pieces aligned to MD5_CHUNK so repeated runs compare the same ranges */
        uint32_t piece_end = (pos / MD5_CHUNK + 1) * MD5_CHUNK;
        if (piece_end > end)
            piece_end = end;
        uint32_t n = piece_end - pos;
        uint8_t remote[16], local[16];
        digest_md5(d->cache + pos, n, local);
        if (loader_flash_md5(d->loader, pos, n, remote, err) == 0 &&
            memcmp(local, remote, 16) == 0) {
            d->bytes_skipped += n;
            pos = piece_end;
            continue;
        }
        /* extend the write over following pieces that differ too: fewer, larger writes */
        uint32_t wend = piece_end;
        while (wend < end) {
            uint32_t next = wend + MD5_CHUNK < end ? wend + MD5_CHUNK : end;
            digest_md5(d->cache + wend, next - wend, local);
            if (loader_flash_md5(d->loader, wend, next - wend, remote, err) == 0 &&
                memcmp(local, remote, 16) == 0)
                break;
            wend = next;
        }
        memset(d->memo, 0, sizeof d->memo); /* the flash is about to change */
        if (bytes_all_erased(d->cache + pos, wend - pos)) {
            /* erased pieces: the chip erases them, nothing to send but the command */
            if (erase_verified(d, pos, wend - pos, err))
                return -1;
            d->bytes_erased += wend - pos;
            pos = wend;
            continue;
        }
        if (loader_write_flash(d->loader, pos, d->cache + pos, wend - pos, err))
            return error_prefix(err, "writing flash 0x%" PRIx32 "-0x%" PRIx32, pos, wend);
        d->bytes_written += wend - pos;
        pos = wend;
    }
    return 0;
}

static int device_flush(struct flash *f, struct error *err)
{
    struct flash_device *d = (struct flash_device *)f;
    uint32_t b = 0;
    while (b < d->blocks) {
        if (!d->dirty[b]) {
            b++;
            continue;
        }
        uint32_t end = b;
        while (end + 1 < d->blocks && d->dirty[end + 1])
            end++;
        if (write_run(d, b * BLOCK, (end - b + 1) * BLOCK, err))
            return -1;
        memset(d->dirty + b, 0, end - b + 1);
        b = end + 1;
    }
    return 0;
}

static int device_md5(struct flash *f, uint32_t addr, uint32_t len, uint8_t out[16],
                      struct error *err)
{
    struct flash_device *d = (struct flash_device *)f;
    if (len == 0) {
        digest_md5(d->cache, 0, out);
        return 0;
    }
    uint32_t first = addr / BLOCK, last = (addr + len - 1) / BLOCK;
    int all_loaded = 1, any_dirty = 0;
    for (uint32_t b = first; b <= last; b++) {
        all_loaded &= d->loaded[b];
        any_dirty |= d->dirty[b];
    }
    /* bytes not yet written are known only here; bytes already read need no round trip */
    if (any_dirty && !all_loaded && load_blocks(d, first, last, err))
        return -1;
    if (any_dirty || all_loaded) {
        digest_md5(d->cache + addr, len, out);
        return 0;
    }
    /* asked twice for the same range (a dry run, then the command): answered once */
    for (int i = 0; i < DEVICE_MD5_MEMO; i++)
        if (d->memo[i].len == len && d->memo[i].addr == addr) {
            memcpy(out, d->memo[i].md5, 16);
            return 0;
        }
    d->md5_asked += len;
    if (loader_flash_md5(d->loader, addr, len, out, err))
        return -1;
    struct device_md5_memo *m = &d->memo[d->memo_next++ % DEVICE_MD5_MEMO];
    m->addr = addr;
    m->len = len;
    memcpy(m->md5, out, 16);
    return 0;
}

static void device_close(struct flash *f)
{
    struct flash_device *d = (struct flash_device *)f;
    log_printf(d->log, LOG_DEBUG,
               "%s: read %" PRIu64 " bytes (%" PRIu64 " more found erased), wrote %" PRIu64
               ", left %" PRIu64 " unchanged, erased %" PRIu64 "; %" PRIu64 " bytes on the wire",
               f->name, d->bytes_read, d->bytes_found_erased, d->bytes_written, d->bytes_skipped,
               d->bytes_erased, d->loader->wire_tx + d->loader->wire_rx);
    loader_close(d->loader, d->hard_reset_on_close);
    d->loader = NULL;
    free(d->cache);
    free(d->loaded);
    free(d->dirty);
    free(d->pieces);
    free(d);
}

static const struct flash_ops device_ops = {
    .read = device_read,
    .write = device_write,
    .erase = device_erase,
    .flush = device_flush,
    .close = device_close,
    .map = NULL,
    .md5 = device_md5,
};

int flash_device_create(struct flash_device **out, struct loader *loader, uint32_t fallback_size,
                        const char *name, const struct log *log, struct error *err)
{
    struct flash_device *dev = calloc(1, sizeof *dev);
    if (!dev) {
        loader_close(loader, 0);
        return error_setk(err, ERROR_OS, "out of memory");
    }
    dev->loader = loader;
    uint32_t size = loader->flash_size ? loader->flash_size : fallback_size;
    if (size == 0 || size % BLOCK) {
        loader_close(loader, 0);
        free(dev);
        return error_setk(err, ERROR_DEVICE, "%s: Could not detect flash size.", name);
    }
    dev->blocks = size / BLOCK;
    dev->cache = malloc(size);
    dev->loaded = calloc(dev->blocks, 1);
    dev->dirty = calloc(dev->blocks, 1);
    dev->pieces = calloc(dev->blocks, sizeof *dev->pieces);
    if (!dev->cache || !dev->loaded || !dev->dirty || !dev->pieces) {
        free(dev->cache);
        free(dev->loaded);
        free(dev->dirty);
        free(dev->pieces);
        free(dev);
        loader_close(loader, 0);
        return error_setk(err, ERROR_OS, "out of memory for a %" PRIu32 "-byte flash cache", size);
    }
    dev->flash.ops = &device_ops;
    dev->flash.caps = FLASH_CAP_LIVE;
    dev->flash.base = 0;
    dev->flash.size = size;
    dev->flash.limit = size;
    dev->flash.name = name;
    dev->hard_reset_on_close = 1;
    dev->log = log;
    memset(dev->cache, 0xFF, MD5_CHUNK);
    digest_md5(dev->cache, MD5_CHUNK, dev->erased_md5);
    *out = dev;
    return 0;
}
