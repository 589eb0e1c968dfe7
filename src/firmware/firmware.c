#include "firmware/firmware.h"
#include "util/bytes.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FLASH_SIZE 0x10000000u /* 256 MiB: the largest ESP flash */

/* Map a firmware file read-only on disk, copy-on-write in memory. */
static int map_file(const char *path, struct flash_image *img, struct error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return error_setk(err, errno == ENOENT ? ERROR_FILE : ERROR_OS, "%s: %s", path,
                          strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return error_setk(err, ERROR_OS, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > MAX_FLASH_SIZE) {
        close(fd);
        return error_setk(err, ERROR_VALUE, "%s: %" PRIu64 " bytes is larger than any ESP flash",
                          path, (uint64_t)st.st_size);
    }
    int rc = flash_image_map_file(img, fd, (uint32_t)st.st_size, 0, MAX_FLASH_SIZE, path, err);
    close(fd); /* the mapping stays valid */
    return rc;
}

/* Where the file's first byte lies in flash: at the chip's bootloader offset (a release file)
 * or at 0 (a whole-flash dump). */
static int place_image(const char *path, struct flash_image *img, struct error *err)
{
    uint32_t len;
    const uint8_t *data = flash_image_bytes(img, &len);
    uint32_t base = 0;
    struct image_header hdr;
    if (len >= 1 && data[0] == IMAGE_MAGIC) {
        if (image_header_parse(data, len, &hdr, err)) {
            flash_close(&img->flash);
            return error_prefix(err, "%s", path);
        }
        base = chip_by_image_id(hdr.chip_id)->bootloader_offset;
    } else {
        /* A whole-flash dump: erased bytes up to the chip's bootloader offset. */
        int found = 0;
        size_t count;
        const struct chip *chips = chip_table(&count);
        for (size_t i = 0; i < count && !found; i++) {
            uint32_t off = chips[i].bootloader_offset;
            if (off == 0 || off + IMAGE_HEADER_SIZE > len || data[off] != IMAGE_MAGIC ||
                !bytes_all_erased(data, off))
                continue;
            if (image_header_parse(data + off, len - off, &hdr, NULL) == 0 &&
                chip_by_image_id(hdr.chip_id)->bootloader_offset == off)
                found = 1;
        }
        if (!found) {
            flash_close(&img->flash);
            if (len < IMAGE_HEADER_SIZE)
                return error_setk(err, ERROR_VALUE,
                                  "%s: Buffer size too small (%" PRIu32
                                  " instead of at least 24 bytes)",
                                  path, len);
            return error_setk(err, ERROR_VALUE, "%s: Invalid image file: magic bytes not found.",
                              path);
        }
        /* base stays 0: file offset == flash address */
    }
    /* File offset 0 is flash address `base`. */
    img->flash.base = base;
    img->flash.size = base + len;
    return 0;
}

int firmware_open_file(const char *path, struct flash_image *img, struct error *err)
{
    if (map_file(path, img, err))
        return -1;
    return place_image(path, img, err);
}

int firmware_open_buffer(uint8_t *data, uint32_t len, const char *name, struct flash_image *img,
                         struct error *err)
{
    if (flash_image_adopt(img, data, len, 0, MAX_FLASH_SIZE, name, err))
        return -1;
    return place_image(name, img, err);
}

static uint32_t bootloader_region_size(const struct firmware *fw)
{
    uint32_t room = PTABLE_OFFSET - fw->bootloader_offset;
    return room < FIRMWARE_BOOTLOADER_REGION ? room : FIRMWARE_BOOTLOADER_REGION;
}

int firmware_reload_table(struct firmware *fw, struct error *err)
{
    uint8_t buf[PTABLE_SIZE];
    uint32_t avail = fw->flash->size > PTABLE_OFFSET ? fw->flash->size - PTABLE_OFFSET : 0;
    if (avail == 0)
        return error_setk(err, ERROR_PARTITION, "No partition table found.");
    if (avail < PTABLE_SIZE)
        return error_setk(err, ERROR_PARTITION,
                          "The partition table at 0x%x is cut off: the %s ends at 0x%" PRIx32 ".",
                          PTABLE_OFFSET, firmware_is_live(fw) ? "flash" : "file",
                          fw->flash->size);
    uint32_t n = PTABLE_SIZE;
    if (flash_read(fw->flash, PTABLE_OFFSET, buf, n, err))
        return -1;
    if (ptable_parse(buf, sizeof buf, &fw->table, err))
        return -1;
    fw->table.flash_size = image_flash_size_bytes(fw->header.flash_size_id);
    fw->table_warnings[0] = '\0';
    struct error check;
    if (ptable_check(&fw->table, fw->table_warnings, sizeof fw->table_warnings, &check)) {
        size_t used = strlen(fw->table_warnings);
        snprintf(fw->table_warnings + used, sizeof fw->table_warnings - used, "%sWarning: %s",
                 used ? "\n" : "", check.msg);
    }
    return 0;
}

int firmware_is_live(const struct firmware *fw)
{
    return flash_can(fw->flash, FLASH_CAP_LIVE);
}

const char *firmware_medium(const struct firmware *fw)
{
    return firmware_is_live(fw) ? "flash" : "firmware file";
}

int firmware_load(struct firmware *fw, struct flash *flash, const struct chip *detected_chip,
                  struct error *err)
{
    memset(fw, 0, sizeof *fw);
    fw->flash = flash;
    /* A file knows its bootloader offset from how it was opened; a device from its chip. */
    fw->bootloader_offset = detected_chip ? detected_chip->bootloader_offset : flash->base;
    if (!detected_chip && flash->base == 0) {
        /* Whole-flash dump: find the header at the first offset that holds one. */
        size_t count;
        const struct chip *chips = chip_table(&count);
        uint8_t b;
        for (size_t i = 0; i < count; i++) {
            uint32_t off = chips[i].bootloader_offset;
            if (off < flash->size && flash_read(flash, off, &b, 1, NULL) == 0 &&
                b == IMAGE_MAGIC) {
                fw->bootloader_offset = off;
                break;
            }
        }
    }
    if (fw->bootloader_offset + IMAGE_HEADER_SIZE > flash->size)
        return error_setk(err, ERROR_VALUE,
                          "Buffer size too small (%" PRIu32 " instead of at least 24 bytes)",
                          flash->size > fw->bootloader_offset ? flash->size - fw->bootloader_offset
                                                              : 0);
    if (flash_read(flash, fw->bootloader_offset, fw->header_loaded, IMAGE_HEADER_SIZE, err))
        return -1;
    if (firmware_is_live(fw) && image_header_is_erased(fw->header_loaded))
        return error_setk(err, ERROR_PARTITION,
                          "No bootloader found on flash.\n  Use '--flash' option to flash new "
                          "firmware.");
    if (image_header_parse(fw->header_loaded, IMAGE_HEADER_SIZE, &fw->header, err))
        return -1;
    memcpy(fw->header_bytes, fw->header_loaded, IMAGE_HEADER_SIZE);
    fw->chip = chip_by_image_id(fw->header.chip_id);
    return firmware_reload_table(fw, err);
}

const struct partition *firmware_first_app(const struct firmware *fw)
{
    int i = ptable_first_app(&fw->table);
    return i < 0 ? NULL : &fw->table.parts[i];
}

/* Size of the image at addr from its segment headers alone (a few small reads, cheap on a
 * device too); 0 when there is no valid image. */
static uint32_t walk_image_size(struct firmware *fw, uint32_t addr, uint32_t limit)
{
    uint8_t hdr[IMAGE_HEADER_SIZE];
    struct image_header h;
    if (limit < IMAGE_HEADER_SIZE || flash_read(fw->flash, addr, hdr, sizeof hdr, NULL) ||
        image_header_parse(hdr, sizeof hdr, &h, NULL))
        return 0;
    uint64_t pos = IMAGE_HEADER_SIZE;
    for (int i = 0; i < h.segment_count; i++) {
        uint8_t seg[IMAGE_SEGMENT_HEADER_SIZE];
        if (pos + sizeof seg > limit || flash_read(fw->flash, addr + (uint32_t)pos, seg, sizeof seg, NULL))
            return 0;
        uint32_t n = (uint32_t)seg[4] | (uint32_t)seg[5] << 8 | (uint32_t)seg[6] << 16 |
                     (uint32_t)seg[7] << 24;
        pos += sizeof seg + (uint64_t)n;
        if (pos > limit)
            return 0;
    }
    pos = (pos + 1 + 15) / 16 * 16; /* checksum byte, padded to 16 */
    if (h.hash_appended == 1)
        pos += IMAGE_DIGEST_SIZE;
    return pos <= limit ? (uint32_t)pos : 0;
}

uint32_t firmware_app_size(const struct firmware *fw)
{
    const struct partition *app = firmware_first_app(fw);
    if (!app || fw->flash->size <= app->offset)
        return 0;
    uint32_t present = fw->flash->size - app->offset;
    uint32_t walked = walk_image_size((struct firmware *)fw, app->offset, present);
    if (walked)
        return walked;
    /* No readable image: a file's app is whatever follows the app offset (as the Python tool
     * counts it); a device's is unknown. */
    return flash_can(fw->flash, FLASH_CAP_RESIZABLE) ? present : 0;
}

int firmware_app_found(const struct firmware *fw)
{
    const struct partition *app = firmware_first_app(fw);
    if (!app || fw->flash->size <= app->offset)
        return 0;
    return walk_image_size((struct firmware *)fw, app->offset, fw->flash->size - app->offset) !=
           0;
}

int firmware_partition(const struct firmware *fw, const struct ptable *table, const char *name,
                       struct partition *out, struct error *err)
{
    if (!table)
        table = &fw->table;
    int i = ptable_find(table, name);
    if (i >= 0) {
        *out = table->parts[i];
        return 0;
    }
    memset(out, 0, sizeof *out);
    if (strcmp(name, "bootloader") == 0) {
        snprintf(out->name, sizeof out->name, "bootloader");
        out->type = PART_TYPE_APP;
        out->offset = fw->bootloader_offset;
        out->size = bootloader_region_size(fw);
        return 0;
    }
    if (strcmp(name, "partition_table") == 0) {
        /* Typed as data (ESP-IDF's type 0x01 is close enough): it holds no app image. */
        snprintf(out->name, sizeof out->name, "partition_table");
        out->type = PART_TYPE_DATA;
        out->subtype = 0xFF;
        out->offset = PTABLE_OFFSET;
        out->size = PTABLE_SIZE;
        return 0;
    }
    return error_setk(err, ERROR_PARTITION, "Partition '%s' not found.", name);
}

static int partition_in_flash(const struct firmware *fw, const struct partition *p,
                              struct error *err)
{
    if (p->offset >= fw->flash->size || p->offset < fw->flash->base)
        return error_setk(err, ERROR_VALUE, "Partition '%s' is not in %s.", p->name,
                          firmware_medium(fw));
    return 0;
}

uint32_t firmware_present_length(const struct firmware *fw, const struct partition *p)
{
    uint64_t end = (uint64_t)p->offset + (uint64_t)(p->size > 0 ? p->size : 0);
    if (end > fw->flash->size)
        end = fw->flash->size;
    return end > p->offset ? (uint32_t)(end - p->offset) : 0;
}

int firmware_read_partition(struct firmware *fw, const struct partition *p, uint8_t **data,
                            uint32_t *len, struct error *err)
{
    if (partition_in_flash(fw, p, err))
        return -1;
    uint32_t n = firmware_present_length(fw, p);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return error_setk(err, ERROR_OS, "out of memory reading partition '%s'", p->name);
    if (flash_read(fw->flash, p->offset, buf, n, err)) {
        free(buf);
        return error_prefix(err, "reading partition '%s'", p->name);
    }
    *data = buf;
    *len = n;
    return 0;
}

int firmware_view_partition(struct firmware *fw, const struct partition *p, const uint8_t **data,
                            uint32_t *len, uint8_t **owned, struct error *err)
{
    *owned = NULL;
    if (partition_in_flash(fw, p, err))
        return -1;
    *len = firmware_present_length(fw, p);
    *data = flash_map(fw->flash, p->offset, *len);
    if (*data)
        return 0;
    if (firmware_read_partition(fw, p, owned, len, err))
        return -1;
    *data = *owned;
    return 0;
}

/* A firmware file that ends inside the partition: the file, not flash, decides its length. */
static int straddles_file_end(const struct firmware *fw, const struct partition *p)
{
    return flash_can(fw->flash, FLASH_CAP_RESIZABLE) &&
           (uint64_t)p->offset + (uint64_t)p->size > fw->flash->size;
}

static int truncate_partition(struct firmware *fw, const struct partition *p, uint32_t at,
                              const struct log *log, struct error *err)
{
    if (straddles_file_end(fw, p))
        return flash_truncate(fw->flash, p->offset + at, err);
    uint32_t start = (at + FLASH_SECTOR_SIZE - 1) & ~(FLASH_SECTOR_SIZE - 1);
    if (start >= (uint64_t)p->size)
        return 0;
    log_printf(log, LOG_INFO, "Erasing partition '%s' from 0x%" PRIx32 "...", p->name, start);
    uint32_t end = firmware_present_length(fw, p);
    if (start >= end)
        return 0;
    if (flash_erase(fw->flash, p->offset + start, end - start, err))
        return error_prefix(err, "erasing partition '%s'", p->name);
    return 0;
}

int firmware_write_partition(struct firmware *fw, const struct partition *p, const uint8_t *data,
                             uint32_t len, const struct log *log, struct error *err)
{
    if (partition_in_flash(fw, p, err))
        return -1;
    if ((int64_t)len > p->size)
        return error_setk(err, ERROR_VALUE,
                          "Partition '%s': Invalid write (pos=0x0 size=0x%" PRIx32
                          "): the partition holds 0x%" PRIx64 " bytes.",
                          p->name, len, (uint64_t)p->size);
    if (straddles_file_end(fw, p)) {
        if (flash_write(fw->flash, p->offset, data, len, err))
            return -1;
        return truncate_partition(fw, p, len, log, err);
    }
    /* Whole sectors: the tail of the last one is erased flash. */
    uint32_t padded = (len + FLASH_SECTOR_SIZE - 1) & ~(FLASH_SECTOR_SIZE - 1);
    if (padded > p->size)
        padded = (uint32_t)p->size;
    uint8_t *buf = malloc(padded ? padded : 1);
    if (!buf)
        return error_setk(err, ERROR_OS, "out of memory writing partition '%s'", p->name);
    memcpy(buf, data, len);
    memset(buf + len, 0xFF, padded - len);
    int rc = flash_write(fw->flash, p->offset, buf, padded, err);
    free(buf);
    if (rc)
        return error_prefix(err, "writing partition '%s'", p->name);
    return truncate_partition(fw, p, padded, log, err);
}

int firmware_erase_partition(struct firmware *fw, const struct partition *p,
                             const struct log *log, struct error *err)
{
    if (partition_in_flash(fw, p, err))
        return -1;
    return truncate_partition(fw, p, 0, log, err);
}

int firmware_set_flash_size(struct firmware *fw, uint32_t size, struct error *err)
{
    int id = image_flash_size_id(size);
    if (id < 0)
        return error_setk(err, ERROR_VALUE,
                          "Invalid flash size 0x%" PRIx32
                          ": the bootloader header holds 1MB, 2MB, 4MB, ... 128MB (a power of two).",
                          size);
    fw->header.flash_size_id = (uint8_t)id;
    fw->header_bytes[3] = (uint8_t)((fw->header_bytes[3] & 0x0F) | (id << 4));
    return 0;
}

int firmware_header_modified(const struct firmware *fw)
{
    return memcmp(fw->header_bytes, fw->header_loaded, IMAGE_HEADER_SIZE) != 0;
}

int firmware_write_header(struct firmware *fw, struct error *err)
{
    struct partition boot;
    firmware_partition(fw, NULL, "bootloader", &boot, NULL);
    uint8_t *data;
    uint32_t len;
    if (firmware_read_partition(fw, &boot, &data, &len, err))
        return -1;
    int rc = image_set_flash_size(data, len, fw->header.flash_size_id, err);
    if (rc == 0) {
        /* Only the header byte and the digest change: write back just the sectors that hold
         * them would be possible, but the region is small; write it whole. */
        rc = flash_write(fw->flash, boot.offset, data, len, err);
    } else {
        error_prefix(err, "bootloader");
    }
    free(data);
    if (rc == 0)
        memcpy(fw->header_loaded, fw->header_bytes, IMAGE_HEADER_SIZE);
    return rc;
}

int firmware_write_table(struct firmware *fw, const struct ptable *table, struct error *err)
{
    uint8_t buf[PTABLE_SIZE];
    if (ptable_encode(table, buf, err))
        return -1;
    return flash_write(fw->flash, PTABLE_OFFSET, buf, sizeof buf, err);
}
