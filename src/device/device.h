/* A serial-attached chip as flash: the flash interface over the bootloader protocol, behind a
 * block cache. Every block is read from the chip at most once, and 64 KiB pieces the chip
 * reports erased (by their MD5) not at all; writes and erases change the cache and are sent at
 * flush, runs of consecutive blocks together, skipping the parts whose MD5 on the chip already
 * matches, and each write is verified by MD5 (by the loader); runs that are all erased are
 * erased on the chip instead of sent (and checked blank by the loader). */
#ifndef MP_DEVICE_DEVICE_H
#define MP_DEVICE_DEVICE_H

#include <stdint.h>

#include "flash/flash.h"
#include "loader/loader.h"
#include "util/error.h"
#include "util/log.h"

#define DEVICE_MD5_MEMO 64

/* One MD5 the chip gave for a range of clean flash (len 0: none). */
struct device_md5_memo {
    uint32_t addr, len;
    uint8_t md5[16];
};

struct flash_device {
    struct flash flash;
    struct loader *loader;   /* owned: closed with the device */
    int hard_reset_on_close; /* leave the bootloader and run the app when closing */
    uint8_t *cache;          /* the whole flash, valid where loaded */
    uint8_t *loaded;         /* per 4 KiB block */
    uint8_t *dirty;          /* per 4 KiB block */
    uint16_t *pieces;        /* per block not loaded: its 256-byte pieces read (bit i: piece i) */
    uint32_t blocks;
    const struct log *log;
    uint8_t erased_md5[16]; /* MD5 of a 64 KiB piece of 0xff bytes */
    int no_md5;             /* the chip did not answer an MD5 request: read everything */
    /* statistics */
    uint64_t bytes_read, bytes_found_erased, bytes_written, bytes_erased, bytes_skipped;
    uint64_t md5_asked; /* bytes compared on the chip for callers (flash_md5) */
    struct device_md5_memo memo[DEVICE_MD5_MEMO];
    unsigned memo_next;
};

/* Wrap a connected loader (owned from now on, also on failure) in a newly allocated device;
 * flash_close releases everything, the device itself included. The flash size is the one the
 * loader detected (or `fallback_size` when it could not tell). */
int flash_device_create(struct flash_device **out, struct loader *loader, uint32_t fallback_size,
                        const char *name, const struct log *log, struct error *err);

#endif
