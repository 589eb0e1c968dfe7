/* Flash by address: the range forms of --read, --write and --erase (flash, START, START:END,
 * START+LEN), on a board or a firmware file alike: whole-flash backups and restores, writes
 * at an address, chip erase. */
#ifndef MP_TOOL_RAWFLASH_H
#define MP_TOOL_RAWFLASH_H

#include "firmware/firmware.h"
#include "tool/values.h"
#include "util/error.h"
#include "util/log.h"

struct rawflash_options {
    int force;           /* write data whose images fail their checks */
    int trim;            /* --trim: drop trailing 0xff bytes, keeping a multiple of 16 */
    int trimblocks;      /* --trimblocks: the same keeping whole 4 KiB blocks */
    const char *protect; /* a local file a read must not replace (the input firmware) */
    /* Told what was done (the --json facts), each may be NULL: a local file saved, and a range
     * written from a file or (file NULL) erased. */
    void (*saved)(void *ctx, const char *file, const uint8_t *data, uint32_t len);
    void (*changed)(void *ctx, const char *file, uint32_t offset, uint32_t len);
    void *ctx;
};

/* Save the range into a local file (atomically). On a firmware file the flash it does not hold
 * (before its start, after its end, up to the flash size) reads as erased; "flash" is the
 * whole board, or a file's bytes from address 0. */
int rawflash_read(struct firmware *fw, const struct flash_range *range, const char *file,
                  const struct rawflash_options *opt, const struct log *log, struct error *err);
/* Write a local file at the range's start; a range longer than the file is erased after it;
 * "flash" makes the whole flash equal to the file (erased beyond its end; a firmware file ends
 * where it ends). Bootloader, partition table and app images inside the data are checked first
 * and refused when broken unless opt->force. Returns 1 when the bootloader header or the
 * partition table may have changed (the caller loads the firmware again), 0, or -1. */
int rawflash_write(struct firmware *fw, const struct flash_range *range, const char *file,
                   const struct rawflash_options *opt, const struct log *log, struct error *err);
/* Erase the range (4 KiB aligned); "flash" erases a whole board. Returns like rawflash_write. */
int rawflash_erase(struct firmware *fw, const struct flash_range *range,
                   const struct rawflash_options *opt, const struct log *log, struct error *err);

#endif
