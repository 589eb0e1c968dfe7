/* merge_bin's raw output (esp-image-formats §4, §6): pieces sorted by address and padded with
 * 0xFF, the bootloader's flash parameters rewritten. */
#include "esp/merge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esp/image.h"
#include "util/alloc.h"

#define SECTOR 0x1000u

static int by_address(const void *a, const void *b)
{
    const struct merge_piece *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

const struct chip *merge_detect_chip(const struct merge_piece *pieces, int count)
{
    for (int i = 0; i < count; i++) {
        struct image_header h;
        if (image_header_parse(pieces[i].data, pieces[i].len, &h, NULL) == 0) {
            const struct chip *c = chip_by_image_id(h.chip_id);
            if (c && c->bootloader_offset == pieces[i].addr)
                return c;
        }
    }
    return NULL;
}

int merge_build(struct merge_piece *pieces, int count, const struct merge_options *opt,
                uint8_t **out, uint32_t *out_len, int *patched, char *warning,
                size_t warning_size, struct error *err)
{
    *patched = 0;
    if (warning_size)
        warning[0] = '\0';
    if (count <= 0)
        return error_setk(err, ERROR_VALUE, "No input data.");
    qsort(pieces, (size_t)count, sizeof *pieces, by_address);
    uint64_t end = 0; /* the first sector after the previous piece */
    for (int i = 0; i < count; i++) {
        uint64_t first = pieces[i].addr & ~(uint64_t)(SECTOR - 1);
        if (i > 0 && first < end)
            return error_setk(err, ERROR_VALUE, "Detected overlap at address: 0x%x for file: %s.",
                              pieces[i].addr, pieces[i].name);
        end = (pieces[i].addr + (uint64_t)pieces[i].len + SECTOR - 1) & ~(uint64_t)(SECTOR - 1);
    }
    if (pieces[0].addr < opt->target_offset)
        return error_setk(err, ERROR_VALUE,
                          "Output data target offset is 0x%x. Input data offset 0x%x is before "
                          "this.",
                          opt->target_offset, pieces[0].addr);
    uint64_t total = (uint64_t)pieces[count - 1].addr + pieces[count - 1].len -
                     opt->target_offset;
    if (total > 0x10000000u)
        return error_setk(err, ERROR_VALUE,
                          "The merged image would be 0x%llx bytes: more than "
                          "any flash.",
                          (unsigned long long)total);
    uint8_t *buf = mp_malloc(total ? (size_t)total : 1);
    if (!buf)
        return error_setk(err, ERROR_OS, "out of memory for a %llu-byte image",
                          (unsigned long long)total);
    memset(buf, 0xFF, (size_t)total);
    const struct chip *chip = opt->chip ? opt->chip : merge_detect_chip(pieces, count);
    int want = opt->flash_mode >= 0 || opt->flash_freq >= 0 || opt->flash_size_id >= 0;
    for (int i = 0; i < count; i++) {
        uint8_t *at = buf + (pieces[i].addr - opt->target_offset);
        memcpy(at, pieces[i].data, pieces[i].len);
        /* only the image written at the bootloader offset, and only one long enough to be one */
        if (!want || !chip || pieces[i].addr != chip->bootloader_offset || pieces[i].len < 8)
            continue;
        struct error why;
        int rc = at[0] == IMAGE_MAGIC
                     ? image_set_flash_params(at, pieces[i].len, opt->flash_mode, opt->flash_freq,
                                              opt->flash_size_id, &why)
                     : -1;
        if (rc < 0 && warning_size)
            snprintf(warning, warning_size,
                     "%s at 0x%x is not a valid %s image, so the flash settings are not changed.",
                     pieces[i].name, pieces[i].addr, chip->description);
        *patched = rc > 0;
    }
    *out = buf;
    *out_len = (uint32_t)total;
    return 0;
}
