/* Partition selection, path arguments, the disk-version rule and small helpers of the fs
 * commands (seed-spec §10.2). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fs/fs.h"

const char FS_BOOT_PY[] = "# This file is executed on every boot (including wake-boot from deepsleep)\n"
                          "#import esp\n"
                          "#esp.osdebug(None)\n"
                          "#import webrepl\n"
                          "#webrepl.start()\n";

/* ---------------------------------------------------------------- partitions */

static int is_data_labelled(const struct partition *p, const char *label)
{
    return p->type == PART_TYPE_DATA && strcmp(p->name, label) == 0;
}

int fs_vfs_region(const struct ptable *table, uint32_t flash_size, uint32_t *offset,
                  uint32_t *size)
{
    uint64_t end = 0;
    for (int i = 0; i < table->count; i++) {
        const struct partition *p = &table->parts[i];
        /* The firmware looks for a data partition of any subtype with either label. */
        if (is_data_labelled(p, "vfs") || is_data_labelled(p, "ffat"))
            return 0;
        if (p->size > 0 && (uint64_t)p->offset + (uint64_t)p->size > end)
            end = (uint64_t)p->offset + (uint64_t)p->size;
    }
    /* The firmware registers the region only when the table is not empty and flash is left. */
    if (end == 0 || end >= flash_size)
        return 0;
    *offset = (uint32_t)end;
    *size = flash_size - (uint32_t)end;
    return 1;
}

void fs_partitions_from_table(const struct ptable *table, uint32_t flash_size,
                              struct fs_partitions *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < table->count && i < PTABLE_MAX_ENTRIES; i++) {
        const struct partition *p = &table->parts[i];
        if (p->size < 0 || p->size > 0xFFFFFFFFll)
            continue;
        struct fs_partition *q = &out->parts[out->count++];
        memcpy(q->name, p->name, sizeof q->name);
        q->name[PTABLE_LABEL_MAX] = '\0';
        q->type = p->type;
        q->subtype = p->subtype;
        q->offset = p->offset;
        q->size = (uint32_t)p->size;
    }
    uint32_t offset, size;
    if (fs_vfs_region(table, flash_size, &offset, &size)) {
        struct fs_partition *q = &out->parts[out->count++];
        strcpy(q->name, "vfs");
        q->type = PART_TYPE_DATA;
        q->subtype = PART_SUBTYPE_DATA_FAT; /* what the firmware registers it as */
        q->offset = offset;
        q->size = size;
        q->computed = 1;
    }
}

const struct fs_partition *fs_partitions_find(const struct fs_partitions *parts,
                                              const char *name)
{
    /* a data partition first: with an app labelled "vfs" and no data one, the firmware's
     * filesystem is the computed region, not the app */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < parts->count; i++)
            if (strcmp(parts->parts[i].name, name) == 0 &&
                (pass == 1 || parts->parts[i].type == PART_TYPE_DATA))
                return &parts->parts[i];
    return NULL;
}

const char *fs_split_path(const char *arg, char part[PTABLE_LABEL_MAX + 1], struct error *err)
{
    const char *colon = strrchr(arg, ':');
    if (!colon)
        return arg;
    size_t n = (size_t)(colon - arg);
    if (n > PTABLE_LABEL_MAX) {
        error_setk(err, ERROR_PARTITION, "Partition '%.*s' not found.", (int)n, arg);
        return NULL;
    }
    memcpy(part, arg, n);
    part[n] = '\0';
    return colon + 1;
}

static int is_fs_partition(const struct fs_partition *p)
{
    return p->type == PART_TYPE_DATA &&
           (p->subtype == PART_SUBTYPE_DATA_FAT || p->subtype == PART_SUBTYPE_DATA_LITTLEFS);
}

int fs_select_partitions(const struct fs_partitions *parts, const char *const *names, int n,
                         enum fs_default_parts dflt, const struct fs_partition **out,
                         int *count, struct error *err)
{
    *count = 0;
    if (n == 0 && dflt == FS_DEFAULT_VFS) {
        static const char *const vfs[] = {"vfs"};
        names = vfs;
        n = 1;
    }
    if (n > 0) {
        for (int i = 0; i < n; i++) {
            const struct fs_partition *p = fs_partitions_find(parts, names[i]);
            if (!p)
                return error_setk(err, ERROR_PARTITION, "Partition '%s' not found.", names[i]);
            if (*count < PTABLE_MAX_ENTRIES + 1)
                out[(*count)++] = p;
        }
        return 0;
    }
    for (int i = 0; i < parts->count; i++)
        if (is_fs_partition(&parts->parts[i]))
            out[(*count)++] = &parts->parts[i];
    /* offset order (insertion sort: at most a few dozen entries) */
    for (int i = 1; i < *count; i++) {
        const struct fs_partition *p = out[i];
        int j = i;
        while (j > 0 && out[j - 1]->offset > p->offset) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = p;
    }
    return 0;
}

void fs_window_open(struct flash_window *w, struct flash *flash, const struct fs_partition *p)
{
    flash_window_open(w, flash, p->offset, p->size, p->name);
}

int fs_cover_partition(struct flash *flash, const struct fs_partition *p,
                       const struct fs_output *out, struct error *err)
{
    uint64_t end = (uint64_t)p->offset + p->size;
    if (!flash_can(flash, FLASH_CAP_RESIZABLE) || end <= flash->size || p->size == 0)
        return 0;
    if (end > flash->limit)
        return error_setk(err, ERROR_VALUE,
                          "Partition '%s' ends at 0x%llx, beyond what the firmware file can hold",
                          p->name, (unsigned long long)end);
    log_printf(fs_log(out), LOG_ACTION,
               "Extending the firmware file with erased flash to 0x%llx to hold partition "
               "'%s'...",
               (unsigned long long)end, p->name);
    /* a file grows with erased bytes up to what is written: its last byte, erased */
    static const uint8_t erased = 0xFF;
    return flash_write(flash, (uint32_t)(end - 1), &erased, 1, err);
}

int fs_holds_littlefs(struct flash *window)
{
    for (uint32_t block = 0; block < 2; block++) {
        uint8_t head[16];
        uint32_t at = block * FS_BLOCK_SIZE;
        if (at + sizeof head <= window->size &&
            flash_read(window, at, head, sizeof head, NULL) == 0 &&
            memcmp(head + 8, "littlefs", 8) == 0)
            return 1;
    }
    return 0;
}

/* ---------------------------------------------------------------- disk version */

/* MicroPython carries littlefs in lib/littlefs; the on-disk version it writes and the newest it
 * mounts (littlefs.md §11.1, checked against lib/littlefs/lfs2.h of each release tag):
 *   v1.19 - v1.21: littlefs 2.5, disk 2.0, refuses to mount 2.1 (EINVAL);
 *   v1.22 and later: littlefs 2.8 / 2.11, disk 2.1, mounts 2.0 too.
 * So 2.1 only for a firmware known to be v1.22.0 or newer. A v1.22.0 preview is built from the
 * development tree between v1.21 and v1.22 and may predate the littlefs update: 2.0. Every
 * version mounts 2.0 (newer ones upgrade the superblock on their first write), so 2.0 is the
 * answer whenever in doubt. */
uint32_t fs_format_version_for(const char *micropython_version)
{
    if (!micropython_version)
        return FS_DISK_VERSION_2_0;
    const char *s = micropython_version;
    while (isspace((unsigned char)*s))
        s++;
    /* also the banner and sysname forms: "MicroPython v1.23.0 on ...", "MicroPython-1.23.0-..." */
    if (strncasecmp(s, "micropython", 11) == 0) {
        s += 11;
        while (*s == ' ' || *s == '-')
            s++;
    }
    if (*s == 'v' || *s == 'V')
        s++;
    if (!isdigit((unsigned char)*s))
        return FS_DISK_VERSION_2_0;
    char *end;
    unsigned long major = strtoul(s, &end, 10);
    if (*end != '.' || !isdigit((unsigned char)end[1]))
        return FS_DISK_VERSION_2_0;
    unsigned long minor = strtoul(end + 1, &end, 10);
    if (major > 1 || (major == 1 && minor > 22))
        return FS_DISK_VERSION_2_1;
    if (major == 1 && minor == 22)
        return strstr(end, "preview") ? FS_DISK_VERSION_2_0 : FS_DISK_VERSION_2_1;
    return FS_DISK_VERSION_2_0;
}

/* Copy "<digits>.<digits>[.<digits>][-preview]" at p (within end) to out; 0 if p holds none. */
static int copy_version(const char *p, const char *end, char *out, size_t size)
{
    const char *q = p;
    int dots = 0;
    while (q < end && (isdigit((unsigned char)*q) || (*q == '.' && q > p))) {
        dots += *q == '.';
        q++;
    }
    if (dots == 0 || q[-1] == '.')
        return 0;
    static const char preview[] = "-preview";
    if ((size_t)(end - q) >= sizeof preview - 1 && memcmp(q, preview, sizeof preview - 1) == 0)
        q += sizeof preview - 1;
    size_t n = (size_t)(q - p);
    if (n + 1 > size)
        return 0;
    memcpy(out, p, n);
    out[n] = '\0';
    return 1;
}

static int find_after(const uint8_t *data, size_t len, const char *marker, char *out,
                      size_t size)
{
    const char *p = (const char *)data, *end = p + len;
    size_t m = strlen(marker);
    while ((p = memmem(p, (size_t)(end - p), marker, m)) != NULL) {
        p += m;
        if (copy_version(p, end, out, size))
            return 1;
    }
    return 0;
}

int fs_find_micropython_version(const uint8_t *app, size_t len, char *out, size_t size)
{
    return find_after(app, len, "MicroPython-", out, size) ||
           find_after(app, len, "MicroPython v", out, size);
}

/* ---------------------------------------------------------------- helpers */

/* The normal form of parts[0] / parts[1] / ...: their components in order, absolute when the
 * first part is. Needs no memory, so joining cannot fail. */
static void norm_parts(const char *const parts[], int nparts, char *out, size_t size)
{
    if (size == 0)
        return;
    size_t o = 0;
    int absolute = parts[0][0] == '/';
    if (absolute && o + 1 < size)
        out[o++] = '/';
    int first = 1;
    for (int k = 0; k < nparts; k++) {
        const char *p = parts[k];
        while (*p) {
            while (*p == '/')
                p++;
            const char *start = p;
            while (*p && *p != '/')
                p++;
            size_t n = (size_t)(p - start);
            if (n == 0 || (n == 1 && start[0] == '.'))
                continue;
            if (!first && o + 1 < size)
                out[o++] = '/';
            first = 0;
            for (size_t i = 0; i < n && o + 1 < size; i++)
                out[o++] = start[i];
        }
    }
    if (o == 0 && size > 1)
        out[o++] = '.';
    out[o] = '\0';
}

void fs_path_norm(const char *in, char *out, size_t size)
{
    const char *parts[1] = {in};
    norm_parts(parts, 1, out, size);
}

void fs_path_join(const char *a, const char *b, char *out, size_t size)
{
    /* Like pathlib: an absolute second part wins; "." and "" vanish in the normal form. */
    if (b[0] == '/' || a[0] == '\0') {
        fs_path_norm(b, out, size);
        return;
    }
    const char *parts[2] = {a, b};
    norm_parts(parts, 2, out, size);
}

int fs_name_is_safe(const char *name, size_t len)
{
    if (len == 0 || memchr(name, '\0', len) || memchr(name, '/', len))
        return 0;
    if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
        return 0;
    return 1;
}

uint32_t fs_percent_half_even(uint64_t used, uint64_t total)
{
    if (total == 0)
        return 0;
    uint64_t num = 100 * used;
    uint64_t q = num / total, r = num % total;
    /* Python formats the float 100*used/total with "{:.0f}": ties go to the even integer. The
     * float is exact at a tie (k + 0.5 with small k) and never lands on one otherwise. */
    if (2 * r > total || (2 * r == total && (q & 1)))
        q++;
    return (uint32_t)q;
}
