/* The range forms of --read, --write and --erase: flash addressed directly instead of through
 * a partition, on boards and firmware files alike. A firmware file is flash from its start
 * address (the bootloader offset of a release .bin, 0 for a whole-flash dump) to its end; the
 * flash it does not hold reads as erased, as it would after flashing the file. */
#include "tool/rawflash.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esp/image.h"
#include "tool/localfile.h"
#include "util/bytes.h"

#define MIB 0x100000u

/* How far the range forms may reach: a board's chip; for a file, the flash its bootloader
 * header names (or the file's end, when that is further). */
static uint32_t capacity(const struct firmware *fw)
{
    uint32_t size = fw->flash->size;
    if (!firmware_is_live(fw) && fw->table.flash_size > size)
        size = fw->table.flash_size;
    return size;
}

static int check_end(const struct firmware *fw, const char *option, uint32_t start, uint64_t end,
                     struct error *err)
{
    uint32_t cap = capacity(fw);
    if (end > cap)
        return error_setk(err, ERROR_VALUE,
                          "%s: 0x%" PRIx32 "-0x%" PRIx64 " is beyond the end of the %s "
                          "(0x%" PRIx32 ", %" PRIu32 "MB)",
                          option, start, end, firmware_is_live(fw) ? "flash" : "firmware's flash",
                          cap, cap / MIB);
    return 0;
}

/* Whether [start, start + len) reaches into the bootloader header or the partition table:
 * the firmware must then be loaded again. */
static int touches_layout(const struct firmware *fw, uint32_t start, uint32_t len)
{
    uint64_t end = (uint64_t)start + len;
    uint32_t boot = fw->bootloader_offset;
    return (start < boot + IMAGE_HEADER_SIZE && end > boot) ||
           (start < PTABLE_OFFSET + PTABLE_SIZE && end > PTABLE_OFFSET);
}

static void trailing_trim(const uint8_t *data, uint32_t *len, uint32_t block)
{
    uint32_t n = *len;
    while (n && data[n - 1] == 0xFF)
        n--;
    uint32_t rounded = (n + block - 1) / block * block;
    if (rounded < *len)
        *len = rounded;
}

int rawflash_read(struct firmware *fw, const struct flash_range *range, const char *file,
                  const struct rawflash_options *opt, const struct log *log, struct error *err)
{
    struct flash *f = fw->flash;
    uint32_t start = range->whole ? 0 : range->start;
    uint64_t end = range->has_length ? (uint64_t)start + range->length : f->size;
    if (end <= start)
        return error_setk(err, ERROR_VALUE,
                          "--read: 0x%" PRIx32 " is at or beyond the end of %s "
                          "(0x%" PRIx32 "): give a length (0x%" PRIx32 "+LEN)",
                          start, firmware_is_live(fw) ? "the flash" : "the file", f->size, start);
    if (check_end(fw, "--read", start, end, err))
        return -1;
    uint32_t len = (uint32_t)(end - start);
    if (range->whole)
        log_printf(log, LOG_ACTION, "Saving the whole flash (0x%" PRIx32 " bytes) into '%s'...",
                   len, file);
    else
        log_printf(log, LOG_ACTION, "Saving flash 0x%" PRIx32 "-0x%" PRIx64 " into '%s'...",
                   start, end, file);
    uint8_t *buf = malloc(len);
    if (!buf)
        return error_setk(err, ERROR_OS, "out of memory for 0x%" PRIx32 " bytes", len);
    memset(buf, 0xFF, len);
    uint64_t lo = start > f->base ? start : f->base, hi = end < f->size ? end : f->size;
    int rc = 0;
    if (lo < hi)
        rc = flash_read(f, (uint32_t)lo, buf + (lo - start), (uint32_t)(hi - lo), err);
    if (rc == 0) {
        if (opt->trimblocks)
            trailing_trim(buf, &len, FLASH_SECTOR_SIZE);
        if (opt->trim)
            trailing_trim(buf, &len, 16);
        rc = localfile_write_atomic(file, buf, len, opt->protect, err);
        if (rc == 0 && opt->saved)
            opt->saved(opt->ctx, file, buf, len);
    }
    free(buf);
    if (rc == 0)
        log_printf(log, LOG_INFO, "Wrote 0x%" PRIx32 " bytes to '%s'.", len, file);
    return rc;
}

/* The images the data brings, checked as --write checks a partition's: a bootloader at the
 * bootloader offset, a partition table at 0x8000, and an app image at the start of each app
 * partition (of the table in the data, or else of the firmware's). Erased places are fine. */
static int check_data(struct firmware *fw, uint32_t start, const uint8_t *data, uint32_t len,
                      struct error *why)
{
    uint64_t end = (uint64_t)start + len;
    uint16_t chip = fw->header.chip_id;
    uint32_t boot = fw->bootloader_offset;
    if (start <= boot && boot < end && data[boot - start] != 0xFF &&
        firmware_image_verify(data + (boot - start), (uint32_t)(end - boot), chip, 0,
                              "its bootloader", why))
        return -1;
    struct ptable own;
    const struct ptable *table = &fw->table;
    if (start <= PTABLE_OFFSET && PTABLE_OFFSET < end) {
        const uint8_t *t = data + (PTABLE_OFFSET - start);
        uint32_t n = end - PTABLE_OFFSET < PTABLE_SIZE ? (uint32_t)(end - PTABLE_OFFSET)
                                                       : PTABLE_SIZE;
        if (!bytes_all_erased(t, n < 32 ? n : 32)) {
            if (ptable_parse(t, n, &own, why))
                return error_prefix(why, "its partition table");
            table = &own;
        }
    }
    for (int i = 0; i < table->count; i++) {
        const struct partition *p = &table->parts[i];
        if (p->type != PART_TYPE_APP || p->offset < start || p->offset >= end ||
            data[p->offset - start] != IMAGE_MAGIC)
            continue;
        uint64_t n = end - p->offset;
        if (p->size > 0 && (uint64_t)p->size < n)
            n = (uint64_t)p->size;
        char what[64];
        snprintf(what, sizeof what, "Partition '%s'", p->name);
        if (firmware_image_verify(data + (p->offset - start), (uint32_t)n, chip, 0, what, why))
            return -1;
    }
    return 0;
}

int rawflash_write(struct firmware *fw, const struct flash_range *range, const char *file,
                   const struct rawflash_options *opt, const struct log *log, struct error *err)
{
    struct flash *f = fw->flash;
    int live = firmware_is_live(fw);
    char *text;
    size_t size;
    if (localfile_read(file, &text, &size, err))
        return -1;
    uint8_t *data = (uint8_t *)text;
    int rc = -1;
    uint8_t *buf = NULL;
    uint32_t start = range->whole ? 0 : range->start;
    if (size > 0x10000000u) {
        error_setk(err, ERROR_VALUE, "--write: '%s' is larger than any ESP flash", file);
        goto done;
    }
    uint32_t n = (uint32_t)size;
    /* how much flash the write makes equal to the data (and erased after it) */
    uint64_t end = (uint64_t)start + n;
    if (range->has_length)
        end = (uint64_t)start + range->length;
    else if (range->whole && live)
        end = f->size;
    if (n > end - start) {
        error_setk(err, ERROR_VALUE,
                   "--write: '%s' (0x%" PRIx32 " bytes) does not fit in 0x%" PRIx32 "-0x%" PRIx64
                   " (0x%" PRIx64 " bytes)",
                   file, n, start, end, end - start);
        goto done;
    }
    if (check_end(fw, "--write", start, end, err))
        goto done;
    uint32_t len = (uint32_t)(end - start);
    if (range->whole)
        log_printf(log, LOG_ACTION, "Writing the whole flash from '%s'...", file);
    if (range->whole && live && n < len)
        log_printf(log, LOG_WARNING,
                   "Warning: '%s' (0x%" PRIx32 " bytes) is smaller than the flash (0x%" PRIx32
                   " bytes): the flash after it is erased.",
                   file, n, len);
    else
        log_printf(log, LOG_ACTION, "Writing flash 0x%" PRIx32 "-0x%" PRIx64 " from '%s'...",
                   start, end, file);
    struct error why;
    if (check_data(fw, start, data, n, &why)) {
        if (!opt->force) {
            error_setk(err, ERROR_VALUE, "Refusing to write '%s' at 0x%" PRIx32 ": %s", file,
                       start, why.msg);
            error_append(err, "\n  Use --force to write it anyway.");
            goto done;
        }
        log_printf(log, LOG_WARNING, "'%s': %s (written anyway: --force)", file, why.msg);
    }
    buf = malloc(len ? len : 1);
    if (!buf) {
        error_setk(err, ERROR_OS, "out of memory for 0x%" PRIx32 " bytes", len);
        goto done;
    }
    memcpy(buf, data, n);
    memset(buf + n, 0xFF, len - n);
    /* A file starting at its bootloader offset holds nothing before it: the data there must
     * be what the flash holds anyway once the file is flashed (erased). */
    uint32_t skip = 0;
    if (start < f->base) {
        skip = f->base - start < len ? f->base - start : len;
        if (!bytes_all_erased(buf, skip)) {
            error_setk(err, ERROR_VALUE,
                       "--write: '%s' has data at 0x%" PRIx32 ", before the start of the "
                       "firmware file (0x%" PRIx32 ")",
                       file, start, f->base);
            goto done;
        }
    }
    if (len > skip && flash_write(f, start + skip, buf + skip, len - skip, err))
        goto done;
    /* a firmware file made equal to a whole-flash image ends where the image ends */
    if (range->whole && !live && f->size > end && flash_truncate(f, (uint32_t)end, err))
        goto done;
    log_printf(log, LOG_INFO, "Wrote 0x%" PRIx32 " bytes from '%s' at 0x%" PRIx32 ".", n, file,
               start);
    if (opt->changed)
        opt->changed(opt->ctx, file, start, len);
    rc = touches_layout(fw, start, len);
done:
    free(buf);
    free(data);
    return rc;
}

int rawflash_erase(struct firmware *fw, const struct flash_range *range,
                   const struct rawflash_options *opt, const struct log *log, struct error *err)
{
    struct flash *f = fw->flash;
    int live = firmware_is_live(fw);
    if (range->whole && !live)
        return error_setk(err, ERROR_VALUE,
                          "--erase: the whole flash is erased on a board only; a firmware file "
                          "has none to erase (give a range, START:END)");
    if (!range->whole && !range->has_length)
        return error_setk(err, ERROR_VALUE,
                          "--erase: 0x%" PRIx32 " needs an end or a length (0x%" PRIx32
                          ":END or 0x%" PRIx32 "+LEN)",
                          range->start, range->start, range->start);
    uint32_t start = range->whole ? 0 : range->start;
    uint64_t end = range->whole ? f->size : (uint64_t)start + range->length;
    if (start % FLASH_SECTOR_SIZE || end % FLASH_SECTOR_SIZE)
        return error_setk(err, ERROR_VALUE,
                          "--erase: 0x%" PRIx64 " is not a multiple of 4096 (0x1000): flash is "
                          "erased in 4 KiB sectors",
                          start % FLASH_SECTOR_SIZE ? (uint64_t)start : end);
    if (check_end(fw, "--erase", start, end, err))
        return -1;
    if (range->whole)
        log_printf(log, LOG_ACTION, "Erasing the whole flash (%" PRIu32 "MB)...", f->size / MIB);
    else
        log_printf(log, LOG_ACTION, "Erasing flash 0x%" PRIx32 "-0x%" PRIx64 "...", start, end);
    /* a file holds nothing before its start: there is nothing to erase */
    uint64_t lo = start > f->base ? start : f->base;
    if (lo < end && flash_erase(f, (uint32_t)lo, (uint32_t)(end - lo), err))
        return -1;
    if (opt->changed)
        opt->changed(opt->ctx, NULL, start, (uint32_t)(end - start));
    return touches_layout(fw, start, (uint32_t)(end - start));
}
