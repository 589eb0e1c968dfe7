/* Test helper: everything a littlefs partition of a firmware or whole-flash image holds, one
 * line per entry in path order: folders and files with their size, the SHA-256 of their
 * contents and every user attribute (MicroPython's mtime is type 1) in hex; then the on-disk
 * version and the block count. Two images hold the same tree exactly when their manifests
 * (without the "blocks" line) are equal. Exit 1 when the partition does not mount. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/firmware.h"
#include "fs/fs.h"
#include "fs/fs_int.h"
#include "util/digest.h"

static char **lines;
static size_t nlines, caplines;

static void add_line(char *line)
{
    if (nlines == caplines) {
        caplines = caplines ? caplines * 2 : 64;
        lines = realloc(lines, caplines * sizeof *lines);
    }
    lines[nlines++] = line;
}

static void attrs(struct fs *fs, const char *path, char *out, size_t size)
{
    size_t o = 0;
    out[0] = '\0';
    for (int type = 0; type < 256; type++) {
        uint8_t buf[LFS_ATTR_MAX];
        lfs_ssize_t n = lfs_getattr(&fs->lfs, path, (uint8_t)type, buf, sizeof buf);
        if (n < 0)
            continue;
        o += (size_t)snprintf(out + o, size - o, " %d=", type);
        for (lfs_ssize_t i = 0; i < n && o + 3 < size; i++)
            o += (size_t)snprintf(out + o, size - o, "%02x", buf[i]);
    }
}

static int walk(struct fs *fs, const char *path)
{
    lfs_dir_t dir;
    if (lfs_dir_open(&fs->lfs, &dir, path))
        return -1;
    struct lfs_info info;
    int rc = 0;
    while (lfs_dir_read(&fs->lfs, &dir, &info) > 0) {
        char sub[1024];
        snprintf(sub, sizeof sub, "%s%s%s", path, strcmp(path, "/") ? "/" : "", info.name);
        char a[4096];
        attrs(fs, sub, a, sizeof a);
        char *line = malloc(8192);
        if (info.type == LFS_TYPE_DIR) {
            snprintf(line, 8192, "d %s%s", sub, a);
            add_line(line);
            if (walk(fs, sub))
                rc = -1;
            continue;
        }
        uint8_t *data;
        size_t len;
        struct error err;
        if (fs_read_file(fs, sub, &data, &len, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            free(line);
            rc = -1;
            continue;
        }
        uint8_t d[32];
        digest_sha256(data, len, d);
        free(data);
        char hex[65];
        for (int i = 0; i < 32; i++)
            snprintf(hex + 2 * i, 3, "%02x", d[i]);
        snprintf(line, 8192, "f %s %zu %s%s", sub, len, hex, a);
        add_line(line);
    }
    lfs_dir_close(&fs->lfs, &dir);
    return rc;
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: fs-manifest IMAGE PARTITION\n");
        return 2;
    }
    struct flash_image img;
    struct firmware fw;
    struct error err;
    if (firmware_open_file(argv[1], &img, &err) || firmware_load(&fw, &img.flash, NULL, &err)) {
        fprintf(stderr, "%s: %s\n", argv[1], err.msg);
        return 1;
    }
    struct fs_partitions parts;
    fs_partitions_from_table(&fw.table, fw.table.flash_size, &parts);
    const struct fs_partition *p = fs_partitions_find(&parts, argv[2]);
    if (!p) {
        fprintf(stderr, "no partition %s\n", argv[2]);
        return 1;
    }
    struct flash_window w;
    fs_window_open(&w, &img.flash, p);
    struct fs *fs;
    if (fs_mount(&fs, &w.flash, p, FS_FLUSH_NEVER, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    int rc = walk(fs, "/");
    qsort(lines, nlines, sizeof *lines, cmp);
    for (size_t i = 0; i < nlines; i++) {
        puts(lines[i]);
        free(lines[i]);
    }
    free(lines);
    struct fs_usage u;
    if (fs_usage(fs, &u, &err) == 0) {
        printf("version %u.%u\n", u.disk_version >> 16, u.disk_version & 0xFFFF);
        printf("blocks %u of %u\n", u.block_count, u.partition_blocks);
    }
    fs_unmount(fs, NULL);
    flash_close(&img.flash);
    return rc ? 1 : 0;
}
