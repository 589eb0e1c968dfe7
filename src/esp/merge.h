/* One whole-flash image from the split images of a build (bootloader, partition table, apps,
 * data) at their flash addresses, byte for byte as esptool's merge_bin writes it in raw
 * format: pieces in address order, 0xFF between them, from a target offset; the image at the
 * chip's bootloader offset gets the flash mode, frequency and size asked for (esp-image-formats
 * §4). Pure data: the caller reads the files. */
#ifndef MP_ESP_MERGE_H
#define MP_ESP_MERGE_H

#include <stdint.h>

#include "esp/chip.h"
#include "util/error.h"

struct merge_piece {
    uint32_t addr;
    const uint8_t *data;
    uint32_t len;
    const char *name; /* for messages */
};

struct merge_options {
    const struct chip *chip; /* whose bootloader offset and frequency codes apply; NULL: the
                              * chip of an image found at its own bootloader offset */
    int flash_mode;          /* header byte 2, -1: keep */
    int flash_freq;          /* header frequency code, -1: keep */
    int flash_size_id;       /* header size id, -1: keep */
    uint32_t target_offset;  /* flash address of the output's first byte */
};

/* Sort the pieces by address (in place) and check them as esptool does: no two may touch the
 * same 4 KiB sector ("Detected overlap at address: 0x9000 for file: x.bin."), none may start
 * before the target offset. Then build the image (malloc'ed, *out_len bytes). *patched
 * says whether the bootloader's header was rewritten. When the flash settings cannot be applied
 * (no valid image at the bootloader offset) the image is built unchanged and *warning says why
 * ("" otherwise), as esptool warns and goes on. */
int merge_build(struct merge_piece *pieces, int count, const struct merge_options *opt,
                uint8_t **out, uint32_t *out_len, int *patched, char *warning,
                size_t warning_size, struct error *err);

/* The chip of the image found at its own chip's bootloader offset among the pieces, NULL when
 * none is. */
const struct chip *merge_detect_chip(const struct merge_piece *pieces, int count);

#endif
