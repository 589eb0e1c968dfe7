/* Writing a whole firmware onto another flash (`--flash`): the source from its bootloader to
 * its last written byte, then the rest of the partition it ends in erased. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/firmware.h"

#define MIB 0x100000u

int firmware_copy_to(struct firmware *source, struct flash *target,
                     const struct chip *target_chip, const struct log *log, struct error *err)
{
    if (target_chip != source->chip)
        return error_setk(err, ERROR_VALUE, "The firmware is for %s, but the device is an %s.",
                          source->chip->name, target_chip->name);
    uint32_t header_size = image_flash_size_bytes(source->header.flash_size_id);
    if (header_size != target->size)
        log_printf(log, LOG_WARNING,
                   "Destination flash size (%" PRIu32 "MB) is different from source flash_size "
                   "(%" PRIu32 "MB).",
                   target->size / MIB, header_size / MIB);
    log_printf(log, LOG_ACTION, "Flashing firmware to device: %s...", target->name);
    /* The source from its bootloader to its end, trailing erased bytes dropped (to 16), padded
     * to whole sectors. */
    uint32_t start = source->bootloader_offset, end = source->flash->size;
    uint8_t *data = malloc(end - start + FLASH_SECTOR_SIZE);
    if (!data)
        return error_setk(err, ERROR_OS, "out of memory");
    if (flash_read(source->flash, start, data, end - start, err)) {
        free(data);
        return -1;
    }
    uint32_t len = end - start;
    while (len && data[len - 1] == 0xFF)
        len--;
    len = (len + 15) / 16 * 16;
    uint32_t padded = (len + FLASH_SECTOR_SIZE - 1) / FLASH_SECTOR_SIZE * FLASH_SECTOR_SIZE;
    memset(data + len, 0xFF, padded - len);
    if (start + padded > target->size) {
        free(data);
        return error_setk(err, ERROR_VALUE,
                          "The firmware (0x%" PRIx32 " bytes from 0x%" PRIx32
                          ") does not fit the device's %" PRIu32 "MB flash.",
                          padded, start, target->size / MIB);
    }
    int rc = flash_write(target, start, data, padded, err);
    free(data);
    if (rc)
        return -1;
    /* The rest of the partition the data ends in held the old firmware: erase it. */
    uint32_t data_end = start + padded;
    for (int i = 0; i < source->table.count; i++) {
        const struct partition *p = &source->table.parts[i];
        uint64_t pend = (uint64_t)p->offset + (uint64_t)(p->size > 0 ? p->size : 0);
        if (p->offset < data_end && pend > data_end && pend <= target->size) {
            log_printf(log, LOG_ACTION, "Erasing remainder of partition '%s'...", p->name);
            if (flash_erase(target, data_end, (uint32_t)(pend - data_end), err))
                return -1;
            break;
        }
    }
    return flash_flush(target, err);
}
