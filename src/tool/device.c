/* Serial-attached boards as the pipeline opens them: a loader connection wrapped as flash. */
#include "tool/device.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device/device.h"
#include "esp/image.h"
#include "report/progress.h"
#include "tool/values.h"

#define MIB 0x100000u

static void loader_log(void *ctx, const char *line)
{
    log_printf(ctx, LOG_DEBUG, "%s", line);
}

static void show_progress(void *ctx, const char *what, uint32_t done, uint32_t total)
{
    progress_update(ctx, what, done, total);
}

/* One progress display for the whole run (the pipeline prints nothing while a transfer runs). */
static struct progress transfer_progress;

static int connect(const struct tool_options *opt, const char *port, const struct log *log,
                   struct flash_device **out, struct error *err)
{
    uint32_t baud;
    if (value_round_baud(opt->baud ? opt->baud : 921600, &baud, err))
        return -1;
    struct loader_options lo;
    memset(&lo, 0, sizeof lo);
    lo.baud = baud;
    lo.before = LOADER_RESET_AUTO;
    lo.log = loader_log;
    lo.log_ctx = (void *)log;
    progress_init(&transfer_progress, stdout, isatty(fileno(stdout)), opt->quiet);
    lo.progress = show_progress;
    lo.progress_ctx = &transfer_progress;
    struct loader *l;
    if (loader_open(port, &lo, &l, err))
        return error_prefix(err, "%s", port);
    if (flash_device_create(out, l, 0, port, log, err))
        return -1;
    (*out)->hard_reset_on_close = !opt->no_reset;
    return 0;
}

int device_open_for_tool(const struct tool_options *opt, const struct log *log,
                         struct flash **flash, struct firmware *fw, struct error *err)
{
    struct flash_device *dev;
    if (connect(opt, opt->filename, log, &dev, err))
        return -1;
    *flash = &dev->flash;
    const struct chip *chip = dev->loader->chip;
    if (firmware_load(fw, *flash, chip, err))
        return -1;
    uint32_t header_size = image_flash_size_bytes(fw->header.flash_size_id);
    log_printf(log, LOG_INFO, "Found %s device (%" PRIu32 "MB flash).", fw->chip->name,
               header_size / MIB);
    if (fw->chip != chip)
        log_printf(log, LOG_ERROR,
                   "Detected device chip type (%s) is different from firmware bootloader (%s).",
                   chip->name, fw->chip->name);
    if (dev->flash.size != header_size)
        log_printf(log, LOG_WARNING,
                   "Detected flash size (%" PRIu32 "MB) is different from firmware bootloader "
                   "(%" PRIu32 "MB).\n  Use the '-f' option to change the size in the bootloader.",
                   dev->flash.size / MIB, header_size / MIB);
    return 0;
}

int device_flash_firmware(const struct tool_options *opt, struct firmware *source,
                          const struct log *log, struct error *err)
{
    const char *port = opt->flash_device;
    log_printf(log, LOG_INFO, "Opening device '%s' for flashing...", port);
    if (!opt->flash_is_device)
        return error_setk(err, ERROR_VALUE, "Flashing requires a device, not a firmware file.");
    struct flash_device *dev;
    if (connect(opt, port, log, &dev, err))
        return -1;
    struct flash *flash = &dev->flash;
    const struct chip *chip = dev->loader->chip;
    log_printf(log, LOG_INFO, "Found %s device (%" PRIu32 "MB flash).", chip->name,
               flash->size / MIB);
    int rc = -1;
    if (chip != source->chip) {
        error_setk(err, ERROR_VALUE, "The firmware is for %s, but the device is an %s.",
                   source->chip->name, chip->name);
        goto done;
    }
    uint32_t header_size = image_flash_size_bytes(source->header.flash_size_id);
    if (header_size != flash->size)
        log_printf(log, LOG_WARNING,
                   "Destination flash size (%" PRIu32 "MB) is different from source flash_size "
                   "(%" PRIu32 "MB).",
                   flash->size / MIB, header_size / MIB);
    log_printf(log, LOG_ACTION, "Flashing firmware to device: %s...", port);
    /* The source from its bootloader to its end, trailing erased bytes dropped (to 16), padded
     * to whole sectors. */
    uint32_t start = source->bootloader_offset, end = source->flash->size;
    uint8_t *data = malloc(end - start + FLASH_SECTOR_SIZE);
    if (!data) {
        error_setk(err, ERROR_OS, "out of memory");
        goto done;
    }
    if (flash_read(source->flash, start, data, end - start, err)) {
        free(data);
        goto done;
    }
    uint32_t len = end - start;
    while (len && data[len - 1] == 0xFF)
        len--;
    len = (len + 15) / 16 * 16;
    uint32_t padded = (len + FLASH_SECTOR_SIZE - 1) / FLASH_SECTOR_SIZE * FLASH_SECTOR_SIZE;
    memset(data + len, 0xFF, padded - len);
    if (start + padded > flash->size) {
        free(data);
        error_setk(err, ERROR_VALUE, "The firmware (0x%" PRIx32 " bytes from 0x%" PRIx32
                   ") does not fit the device's %" PRIu32 "MB flash.", padded, start,
                   flash->size / MIB);
        goto done;
    }
    rc = flash_write(flash, start, data, padded, err);
    free(data);
    if (rc)
        goto done;
    /* The rest of the partition the data ends in held the old firmware: erase it. */
    uint32_t data_end = start + padded;
    for (int i = 0; i < source->table.count; i++) {
        const struct partition *p = &source->table.parts[i];
        uint64_t pend = (uint64_t)p->offset + (uint64_t)(p->size > 0 ? p->size : 0);
        if (p->offset < data_end && pend > data_end && pend <= flash->size) {
            log_printf(log, LOG_ACTION, "Erasing remainder of partition '%s'...", p->name);
            rc = flash_erase(flash, data_end, (uint32_t)(pend - data_end), err);
            break;
        }
    }
    if (rc == 0)
        rc = flash_flush(flash, err);
done:
    if (rc == 0 && opt->no_reset)
        log_printf(log, LOG_INFO, "Leaving device in bootloader mode...");
    flash_close(flash);
    return rc;
}
