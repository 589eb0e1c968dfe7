/* Fuzz the fs commands on arbitrary images: mount a 16-block partition holding the input, then
 * list it, read every file and take df numbers. Nothing may crash, hang or leak, whatever the
 * engine accepts. */
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
    return 0;
}
