/* Test helper: independently re-verify a firmware file the tool produced: the bootloader image
 * (XOR checksum and SHA-256 digest), the partition table (MD5 row, validation) and every app
 * image that the file holds completely. Prints one line per item; exit 1 on any failure. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esp/image.h"
#include "esp/ptable.h"
#include "firmware/firmware.h"

static int check_image(struct firmware *fw, const struct partition *p, int required)
{
    uint8_t *data;
    uint32_t len;
    struct error err;
    if (firmware_read_partition(fw, p, &data, &len, &err)) {
        if (!required)
            return 0;
        printf("FAIL %s: %s\n", p->name, err.msg);
        return 1;
    }
    struct image_info info;
    int bad = 0;
    if (image_inspect(data, len, &info, &err)) {
        printf("FAIL %s: %s\n", p->name, err.msg);
        bad = 1;
    } else if (!info.checksum_ok) {
        printf("FAIL %s: checksum 0x%02x, computed 0x%02x\n", p->name, info.checksum_stored,
               info.checksum_computed);
        bad = 1;
    } else if (info.header.hash_appended && !info.digest_ok) {
        printf("FAIL %s: SHA-256 digest mismatch\n", p->name);
        bad = 1;
    } else {
        printf("ok %s: %" PRIu32 " bytes, checksum and digest valid\n", p->name, info.total_size);
    }
    free(data);
    return bad;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: verify-image FIRMWARE\n");
        return 2;
    }
    struct flash_image img;
    struct firmware fw;
    struct error err;
    if (firmware_open_file(argv[1], &img, &err) || firmware_load(&fw, &img.flash, NULL, &err)) {
        printf("FAIL %s: %s\n", argv[1], err.msg);
        return 1;
    }
    int bad = 0;
    struct partition boot;
    firmware_partition(&fw, NULL, "bootloader", &boot, &err);
    bad |= check_image(&fw, &boot, 1);
    /* ptable_parse already verified the MD5 row; re-encode and compare to be sure the bytes on
     * flash are exactly the canonical encoding. */
    uint8_t raw[PTABLE_SIZE], canon[PTABLE_SIZE];
    if (flash_read(&img.flash, PTABLE_OFFSET, raw, sizeof raw, &err) ||
        ptable_encode(&fw.table, canon, &err)) {
        printf("FAIL table: %s\n", err.msg);
        bad = 1;
    } else if (memcmp(raw, canon, PTABLE_DATA_SIZE) != 0) {
        printf("FAIL table: bytes differ from the canonical encoding\n");
        bad = 1;
    } else {
        printf("ok table: %d entries, MD5 valid\n", fw.table.count);
    }
    for (int i = 0; i < fw.table.count; i++) {
        const struct partition *p = &fw.table.parts[i];
        /* only apps whose image the file holds entirely (an OTA slot past the end is empty) */
        if (p->type == PART_TYPE_APP && p->offset < img.flash.size)
            bad |= check_image(&fw, p, 1);
    }
    flash_close(&img.flash);
    return bad;
}
