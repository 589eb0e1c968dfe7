/* FAT12/16/32: a from-scratch engine for the on-disk format described in docs/fat.md.
 *
 * It reads any FAT volume with 512..4096-byte sectors (long names included) and changes it the
 * way MicroPython's VfsFat (FatFs, code page 437, long names on) would, so a board sees the
 * files exactly as if it had written them. mkfs makes the image vfs.VfsFat.mkfs makes.
 *
 * Conventions:
 *  - every call returns 0 (or a non-negative count) on success and a negative enum fat_error;
 *  - names are byte strings as MicroPython sees them: each byte is one code page 437
 *    character, so the UTF-8 bytes of a MicroPython str are stored as that many CP437
 *    characters in the long name (fat.md §5). A long name with a character outside
 *    CP437 is shown by its 8.3 name, as FatFs does;
 *  - paths are '/'-separated from the root; repeated slashes and "." are ignored and ".."
 *    cancels the component before it;
 *  - lookups ignore case like FatFs (A-Z and the Latin-1 letters);
 *  - directory reads return entries in on-disk order, without "." and "..", deleted entries and
 *    the volume label;
 *  - no directory entry ever points at clusters the FAT calls free, even after a power cut:
 *    data first, the FAT's new allocations before the entries that use them, freed clusters
 *    after the entries that used them (fat.md §7); each change leaves a consistent volume;
 *  - nothing else may change the device while the volume is mounted (the first FAT is held in
 *    memory).
 * No global state. */
#ifndef MP_FAT_FAT_H
#define MP_FAT_FAT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define FAT_NAME_MAX 255 /* characters (bytes, one per CP437 character) in a long name */

/* Error codes: the negated errno values the littlefs engine also uses. */
enum fat_error {
    FAT_ERR_OK = 0,
    FAT_ERR_IO = -5,           /* the device failed */
    FAT_ERR_CORRUPT = -84,     /* the structures are inconsistent (bad chain, loop, range) */
    FAT_ERR_NOENT = -2,        /* no such file or directory */
    FAT_ERR_EXIST = -17,       /* entry already exists */
    FAT_ERR_NOTDIR = -20,      /* a path component is not a directory */
    FAT_ERR_ISDIR = -21,       /* entry is a directory */
    FAT_ERR_NOTEMPTY = -39,    /* directory is not empty */
    FAT_ERR_INVAL = -22,       /* invalid argument, name or volume (not a FAT boot sector) */
    FAT_ERR_NOSPC = -28,       /* no free cluster or directory slot left */
    FAT_ERR_NOMEM = -12,       /* out of RAM */
    FAT_ERR_NAMETOOLONG = -36, /* name longer than FAT_NAME_MAX */
    FAT_ERR_ACCES = -13,       /* read-only entry, or the root */
};

/* "FAT_ERR_NOENT" for FAT_ERR_NOENT; "FAT_ERR_UNKNOWN" otherwise. */
const char *fat_err_name(int err);
/* A short English description ("no such file or directory"). */
const char *fat_err_text(int err);

/* The device: size bytes starting at byte 0 (a partition window). */
struct fat_dev {
    void *ctx;
    /* Read or write len bytes at byte off; 0 or a negative fat_error. */
    int (*read)(void *ctx, uint32_t off, void *buf, uint32_t len);
    int (*write)(void *ctx, uint32_t off, const void *buf, uint32_t len);
    /* Make what was written durable before the next writes (the ordering points); may be
     * NULL. */
    int (*sync)(void *ctx);
    uint32_t size;
};

enum fat_type { FAT_TYPE_12 = 12, FAT_TYPE_16 = 16, FAT_TYPE_32 = 32 };

/* What the boot sector and the FAT say (df and info). */
struct fat_volinfo {
    enum fat_type type;
    uint32_t sector_size;
    uint32_t cluster_size; /* bytes */
    uint32_t clusters;     /* data clusters (numbered 2 .. clusters + 1) */
    uint32_t free_clusters;
    uint32_t total_sectors;
    uint32_t reserved_sectors;
    uint32_t fats;
    uint32_t fat_sectors;  /* one FAT copy */
    uint32_t root_entries; /* fixed root slots; 0 on FAT32 */
    uint32_t volume_id;
    char label[12]; /* the boot sector's label, trailing spaces removed */
    char oem[9];
};

/* One directory entry. */
struct fat_info {
    int is_dir;
    uint32_t size;
    uint8_t attr;
    time_t mtime; /* last write, the entry's local time read as UTC */
    time_t ctime; /* creation (whole seconds) */
    char name[FAT_NAME_MAX + 1];
    char sfn[13]; /* the 8.3 name "NAME.EXT" as stored (CP437 bytes) */
    int has_lfn;
    uint32_t first_cluster;
};

struct fat;

/* Mount the volume on dev (dev is copied). */
int fat_mount(struct fat **out, const struct fat_dev *dev);
/* Free the state; writes nothing (every change is written when it is made). */
void fat_unmount(struct fat *fs);
int fat_volinfo(struct fat *fs, struct fat_volinfo *info);

int fat_stat(struct fat *fs, const char *path, struct fat_info *info);

/* Calls cb for each entry of a directory; stops (returns that value) when cb returns non-zero. */
int fat_dir_list(struct fat *fs, const char *path,
                 int (*cb)(void *ctx, const struct fat_info *info), void *ctx);

/* An open file for reading (no heap; valid while the volume is mounted and not changed). */
struct fat_file {
    uint32_t first, size, pos;
    uint32_t cluster, cluster_index; /* the cluster holding pos (0: not yet found) */
};
int fat_file_open(struct fat *fs, const char *path, struct fat_file *f);
/* Reads up to len bytes; returns the count (0 at the end). */
int fat_file_read(struct fat *fs, struct fat_file *f, void *buf, uint32_t len);

/* The device ranges holding a file's bytes, in file order, consecutive clusters as one range:
 * cb(ctx, offset, length) for each; stops when cb returns non-zero (returned). */
int fat_file_runs(struct fat *fs, const char *path,
                  int (*cb)(void *ctx, uint32_t off, uint32_t len), void *ctx);
/* Create path, or replace a file's contents, with len bytes and this modification time. A
 * replaced file keeps its entry (name, creation time, attributes); its new data is written to
 * free clusters before the entry changes. */
int fat_write_file(struct fat *fs, const char *path, const void *data, uint32_t len,
                   time_t mtime);
/* Set a file's modification (write) time only. */
int fat_set_mtime(struct fat *fs, const char *path, time_t mtime);
int fat_mkdir(struct fat *fs, const char *path, time_t now);
/* Remove a file or an empty directory. */
int fat_remove(struct fat *fs, const char *path);
/* Rename or move. An existing file at newpath is replaced by a file, an existing empty
 * directory by a directory; otherwise EXIST. A directory cannot move into itself (INVAL). */
int fat_rename(struct fat *fs, const char *oldpath, const char *newpath);

/* Grow the volume to total_sectors (no smaller than now) within the device: only the boot
 * sector's count changes, so the FAT must already have entries for the new clusters (free) and
 * the type must stay the same. fat_grow_limit gives the largest count that allows, at most
 * max_sectors. */
int fat_grow(struct fat *fs, uint32_t total_sectors);
uint32_t fat_grow_limit(const struct fat *fs, uint32_t max_sectors);

/* mkfs parameters. */
struct fat_mkfs_opts {
    uint32_t sector_size; /* 512..4096, a power of two */
    time_t now;           /* the volume serial number is FatFs's timestamp of this */
};
/* Format dev as vfs.VfsFat.mkfs does (FatFs f_mkfs with FM_FAT | FM_SFD, automatic cluster
 * size, one FAT, 512 root entries): only the boot sector, the FAT and the root directory are
 * written. INVAL when the device is too small or too large for FAT12/16. */
int fat_mkfs(const struct fat_dev *dev, const struct fat_mkfs_opts *opts);

/* FAT's packed date and time (local time read as UTC) <-> seconds since 1970. */
uint32_t fat_time_pack(time_t t);
time_t fat_time_unpack(uint16_t date, uint16_t time);

#endif
