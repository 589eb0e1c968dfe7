/* Fuzz the fs commands on arbitrary images: mount a 16-block partition holding the input, then
 * list it, read every file and take df numbers; then as a board would (a live flash with an MD5
 * of its own), batched, put boot.py back with the bytes it holds (compared, not written) and with
 * one byte changed. Nothing may crash, hang or leak, whatever the engine accepts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fs/fs.h"

#define BLOCKS 16

static void on_line(void *ctx, enum log_level level, const char *text)
{
    (void)level;
    size_t *count = ctx;
    *count += strlen(text) + 1;
}

#include "util/digest.h"

static int live_md5(struct flash *f, uint32_t addr, uint32_t len, uint8_t out[16],
                    struct error *err)
{
    (void)err;
    digest_md5(((struct flash_image *)f)->data + addr, len, out);
    return 0;
}

/* The image as a board: live (no mapping), the MD5 computed "on the chip". */
static void as_board(const uint8_t *image, size_t size)
{
    struct flash_image fi;
    struct error err;
    if (flash_image_open(&fi, image, (uint32_t)size, 0, (uint32_t)size, "board", &err))
        return;
    struct flash_ops ops = *fi.flash.ops;
    const struct flash_ops *inner = fi.flash.ops;
    ops.map = NULL;
    ops.md5 = live_md5;
    fi.flash.ops = &ops;
    fi.flash.caps |= FLASH_CAP_LIVE;
    struct fs_partition p = {.name = "vfs",
                             .type = PART_TYPE_DATA,
                             .subtype = PART_SUBTYPE_DATA_FAT,
                             .size = (uint32_t)size};
    struct fs *fs;
    if (fs_mount(&fs, &fi.flash, &p, FS_FLUSH_AT_SYNC, &err) == 0) {
        uint8_t *buf;
        size_t len;
        if (fs_batch(fs, &err) == 0 && fs_read_file(fs, "boot.py", &buf, &len, &err) == 0) {
            fs_write_file(fs, "boot.py", buf, len, &err);
            if (len)
                buf[len / 2] ^= 1;
            fs_write_file(fs, "boot.py", buf, len, &err);
            free(buf);
        }
        fs_unmount(fs, &err);
    }
    fi.flash.ops = inner;
    flash_close(&fi.flash);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t image[BLOCKS * 4096];
    memset(image, 0xFF, sizeof image);
    memcpy(image, data, size < sizeof image ? size : sizeof image);
    struct flash_image fi;
    struct error err;
    if (flash_image_open(&fi, image, sizeof image, 0, sizeof image, "fuzz", &err))
        return 0;
    struct fs_partition p = {.name = "vfs", .type = PART_TYPE_DATA,
                             .subtype = PART_SUBTYPE_DATA_FAT, .size = sizeof image};
    struct fs *fs;
    if (fs_mount(&fs, &fi.flash, &p, FS_FLUSH_AT_UNMOUNT, &err) == 0) {
        size_t count = 0;
        struct log log = {on_line, &count};
        struct fs_output out = {.log = &log};
        fs_ls(fs, "/", &out, &err);
        struct fs_usage u;
        fs_usage(fs, &u, &err);
        uint8_t *buf;
        size_t len;
        if (fs_read_file(fs, "boot.py", &buf, &len, &err) == 0)
            free(buf);
        fs_unmount(fs, &err);
    }
    flash_close(&fi.flash);
    memset(image, 0xFF, sizeof image);
    memcpy(image, data, size < sizeof image ? size : sizeof image);
    as_board(image, sizeof image);
    return 0;
}
