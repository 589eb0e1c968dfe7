/* libFuzzer harness for the FAT engine: mount an arbitrary volume, walk every directory, stat and
 * read every file, try changes, mount again and walk again. Nothing may crash, leak or hang;
 * every failure must be a clean error code.
 *
 * Input: byte 0 selects the mode. Bit 0 clear: the rest is the image itself (padded with 0xFF
 * to at least 4 KiB, at most 256 KiB). Bit 0 set: the rest is a list of 4-byte patches
 * (24-bit offset, byte) applied to a small volume this harness makes with the engine's own
 * mkfs and a few files (bit 1: 4096-byte sectors, else 512), so mutations start from a valid
 * boot sector, FAT and directories without a checked-in corpus. Bit 2: try changes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fat/fat.h"

struct mem {
    uint8_t *data;
    uint32_t size;
};

static int m_read(void *ctx, uint32_t off, void *buf, uint32_t len)
{
    struct mem *m = ctx;
    if (off > m->size || len > m->size - off)
        return FAT_ERR_IO;
    memcpy(buf, m->data + off, len);
    return 0;
}

static int m_write(void *ctx, uint32_t off, const void *buf, uint32_t len)
{
    struct mem *m = ctx;
    if (off > m->size || len > m->size - off)
        return FAT_ERR_IO;
    memcpy(m->data + off, buf, len);
    return 0;
}

struct walk {
    struct fat *fs;
    char path[1024];
    int depth;
    int *budget;
};

static int visit(void *ctx, const struct fat_info *info)
{
    struct walk *w = ctx;
    if (--*w->budget <= 0)
        return 1;
    size_t l = strlen(w->path);
    if (l + strlen(info->name) + 2 >= sizeof w->path)
        return 0;
    char saved = w->path[l];
    snprintf(w->path + l, sizeof w->path - l, "/%s", info->name);
    struct fat_info st;
    fat_stat(w->fs, w->path, &st);
    if (info->is_dir) {
        if (w->depth < 10) {
            w->depth++;
            fat_dir_list(w->fs, w->path, visit, w);
            w->depth--;
        }
    } else {
        struct fat_file f;
        if (fat_file_open(w->fs, w->path, &f) == 0) {
            uint8_t buf[1024];
            for (int i = 0; i < 64 && fat_file_read(w->fs, &f, buf, sizeof buf) > 0; i++)
                ;
        }
    }
    w->path[l] = saved;
    return 0;
}

static void walk(struct fat *fs)
{
    int budget = 2000;
    struct walk w = {fs, "", 0, &budget};
    fat_dir_list(fs, "/", visit, &w);
    struct fat_volinfo vi;
    fat_volinfo(fs, &vi);
}

static void try_changes(struct fat *fs)
{
    static const uint8_t data[3000] = {1, 2, 3};
    fat_write_file(fs, "/fz.bin", data, sizeof data, 1706933106);
    fat_mkdir(fs, "/fzdir", 0);
    fat_write_file(fs, "/fzdir/a rather long file name.txt", data, 700, 0);
    fat_write_file(fs, "/boot.py", data, 20, 0);
    fat_rename(fs, "/fz.bin", "/fzdir/moved.bin");
    fat_rename(fs, "/fzdir", "/lib/fzdir");
    fat_remove(fs, "/fzdir/moved.bin");
    fat_remove(fs, "/lib");
    fat_remove(fs, "/fzdir");
}

/* The patch-mode base volume (made once per sector size). */
static uint8_t *base[2];
static const uint32_t base_size = 128u << 10; /* 4096-byte sectors need 88 KiB */

static const uint8_t *base_volume(int big)
{
    if (base[big])
        return base[big];
    struct mem m = {malloc(base_size), base_size};
    memset(m.data, 0xFF, base_size);
    struct fat_dev dev = {&m, m_read, m_write, NULL, base_size};
    struct fat_mkfs_opts o = {big ? 4096 : 512, 1706933106};
    struct fat *fs;
    if (fat_mkfs(&dev, &o) || fat_mount(&fs, &dev))
        abort();
    static const uint8_t text[5000] = {'x'};
    fat_write_file(fs, "/boot.py", text, 139, 0);
    fat_mkdir(fs, "/lib", 0);
    fat_mkdir(fs, "/lib/sub dir", 0);
    fat_write_file(fs, "/lib/sub dir/A Long Name.py", text, 5000, 0);
    fat_write_file(fs, "/lib/x.mpy", text, 600, 0);
    fat_unmount(fs);
    base[big] = m.data;
    return m.data;
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t len)
{
    if (len < 1)
        return 0;
    uint8_t sel = in[0];
    struct mem m;
    if (sel & 1) {
        m.size = base_size;
        m.data = malloc(m.size);
        memcpy(m.data, base_volume((sel & 2) != 0), m.size);
        for (size_t i = 1; i + 4 <= len; i += 4)
            m.data[(in[i] | (uint32_t)in[i + 1] << 8 | (uint32_t)in[i + 2] << 16) % m.size] =
                in[i + 3];
    } else {
        size_t img = len - 1;
        if (img > (256u << 10))
            img = 256u << 10;
        m.size = img < 4096 ? 4096 : (uint32_t)img;
        m.data = malloc(m.size);
        memset(m.data, 0xFF, m.size);
        memcpy(m.data, in + 1, img);
    }
    struct fat_dev dev = {&m, m_read, m_write, NULL, m.size};
    struct fat *fs;
    if (fat_mount(&fs, &dev) == 0) {
        walk(fs);
        if (sel & 4) {
            try_changes(fs);
            walk(fs);
            fat_unmount(fs);
            if (fat_mount(&fs, &dev) == 0) {
                walk(fs);
                fat_unmount(fs);
            }
        } else {
            fat_unmount(fs);
        }
    }
    free(m.data);
    return 0;
}
