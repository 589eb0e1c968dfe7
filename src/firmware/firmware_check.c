/* Checking the images of a firmware: what --check-app shows, and the checks that keep a broken
 * firmware from being written anywhere. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/firmware.h"

static void hex(const uint8_t *d, char out[65])
{
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

int firmware_image_verify(const uint8_t *data, uint32_t len, uint16_t chip_id, int require_digest,
                          const char *what, struct error *err)
{
    struct image_info info;
    struct error why;
    if (image_inspect(data, len, &info, &why))
        return error_setk(err, ERROR_VALUE, "%s: the image is cut off or corrupt: %s", what,
                          why.msg);
    if (info.header.chip_id != chip_id) {
        const struct chip *c = chip_by_image_id(info.header.chip_id);
        const struct chip *want = chip_by_image_id(chip_id);
        return error_setk(err, ERROR_VALUE, "%s: the image is for %s, the firmware for %s.", what,
                          c ? c->name : "an unknown chip", want ? want->name : "an unknown chip");
    }
    if (!info.checksum_ok)
        return error_setk(err, ERROR_VALUE,
                          "%s: checksum mismatch at 0x%" PRIx32
                          " (stored 0x%02x, computed 0x%02x).",
                          what, info.size - 1, info.checksum_stored, info.checksum_computed);
    if (info.header.hash_appended != 1 && require_digest)
        return error_setk(err, ERROR_VALUE,
                          "%s: SHA-256 digest missing: the image header does not announce one.",
                          what);
    if (info.header.hash_appended == 1) {
        if ((uint64_t)info.size + IMAGE_DIGEST_SIZE > len)
            return error_setk(err, ERROR_VALUE,
                              "%s: SHA-256 digest missing: the image needs 0x%" PRIx32
                              " bytes, only 0x%" PRIx32 " are there.",
                              what, info.size + IMAGE_DIGEST_SIZE, len);
        if (!info.digest_ok) {
            char a[65], b[65];
            hex(info.digest_computed, a);
            hex(info.digest_stored, b);
            return error_setk(err, ERROR_VALUE,
                              "%s: SHA-256 digest mismatch (computed %s, stored %s).", what, a,
                              b);
        }
    }
    return 0;
}

static int verify_partition(struct firmware *fw, const struct partition *p, struct error *err)
{
    if (p->offset >= fw->flash->size || p->offset < fw->flash->base)
        return 0;
    uint8_t magic;
    if (flash_read(fw->flash, p->offset, &magic, 1, err))
        return -1;
    if (magic != IMAGE_MAGIC)
        return 0; /* an erased or empty slot */
    const uint8_t *data;
    uint8_t *owned;
    uint32_t len;
    if (firmware_view_partition(fw, p, &data, &len, &owned, err))
        return -1;
    char what[64];
    snprintf(what, sizeof what, "Partition '%s'", p->name);
    int rc = firmware_image_verify(data, len, fw->header.chip_id, 0, what, err);
    free(owned);
    return rc;
}

int firmware_verify(struct firmware *fw, const struct ptable *table, struct error *err)
{
    if (!table)
        table = &fw->table;
    struct partition boot;
    firmware_partition(fw, table, "bootloader", &boot, NULL);
    if (verify_partition(fw, &boot, err))
        return -1;
    for (int i = 0; i < table->count; i++)
        if (table->parts[i].type == PART_TYPE_APP && verify_partition(fw, &table->parts[i], err))
            return -1;
    return 0;
}

int firmware_check_image(struct firmware *fw, const struct partition *p, int verify_hash,
                         enum log_level problem, const struct log *log, struct error *err)
{
    uint32_t len = firmware_present_length(fw, p);
    if (p->offset >= fw->flash->size || p->offset < fw->flash->base)
        return error_setk(err, ERROR_VALUE, "Partition '%s' is not in %s.", p->name,
                          firmware_medium(fw));
    uint8_t head[IMAGE_HEADER_SIZE];
    const uint8_t *data = head;
    uint8_t *owned = NULL;
    if (verify_hash) {
        if (firmware_view_partition(fw, p, &data, &len, &owned, err))
            return -1;
    } else {
        /* The signature needs only the header: do not read a whole app over a serial line. */
        len = len < IMAGE_HEADER_SIZE ? len : IMAGE_HEADER_SIZE;
        if (flash_read(fw->flash, p->offset, head, len, err))
            return -1;
    }
    struct image_header hdr;
    if (image_header_parse(data, len, &hdr, NULL) != 0) {
        log_printf(log, LOG_WARNING, "Partition '%s': App image signature not found.", p->name);
        free(owned);
        return FIRMWARE_IMAGE_NONE;
    }
    if (hdr.chip_id != fw->header.chip_id) {
        const struct chip *c = chip_by_image_id(hdr.chip_id);
        log_printf(log, problem, "'%s': App image chip type (%s) does not match bootloader (%s).",
                   p->name, c ? c->name : "unknown", fw->chip->name);
        free(owned);
        return FIRMWARE_IMAGE_BROKEN;
    }
    log_printf(log, LOG_INFO, "Partition '%s': App image signature found.", p->name);
    int state = FIRMWARE_IMAGE_OK;
    if (verify_hash) {
        struct image_info info;
        struct error why;
        if (image_inspect(data, len, &info, &why)) {
            log_printf(log, problem, "Partition '%s': %s", p->name, why.msg);
            state = FIRMWARE_IMAGE_BROKEN;
        } else if (info.total_size > len || info.size + IMAGE_DIGEST_SIZE > len) {
            log_printf(log, problem,
                       "Partition '%s': image (%" PRIu32 " bytes) is cut off at %" PRIu32
                       " bytes.",
                       p->name, info.size + IMAGE_DIGEST_SIZE, len);
            state = FIRMWARE_IMAGE_BROKEN;
        } else if (!info.checksum_ok) {
            log_printf(log, problem,
                       "Partition '%s': Checksum mismatch (stored 0x%02x, computed 0x%02x).",
                       p->name, info.checksum_stored, info.checksum_computed);
            state = FIRMWARE_IMAGE_BROKEN;
        } else if (memcmp(info.digest_computed, data + info.size, IMAGE_DIGEST_SIZE) == 0) {
            log_printf(log, LOG_INFO, "Partition '%s': Hash confirmed (size=%" PRIu32 ").",
                       p->name, info.size + IMAGE_DIGEST_SIZE);
        } else {
            char sha[65], stored[65];
            hex(info.digest_computed, sha);
            hex(data + info.size, stored);
            log_printf(log, problem,
                       "Partition '%s': Hash mismatch (size=%" PRIu32 " sha=%s stored=%s)",
                       p->name, info.size + IMAGE_DIGEST_SIZE, sha, stored);
            state = FIRMWARE_IMAGE_BROKEN;
        }
    }
    free(owned);
    return state;
}
