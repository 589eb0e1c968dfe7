/* littlefs v2: a from-scratch engine for the on-disk format described in
 * shared/docs/littlefs.md (section numbers below refer to it).
 *
 * It reads every valid v2.0/v2.1 image and writes images that MicroPython (ESP32 port, littlefs
 * 2.11) mounts as if a board had written them. The API follows the shape of the upstream lfs.h
 * (one config struct describing the block device, small error enum, POSIX-like calls) so the
 * command layer reads naturally, but the internals are our own: the in-RAM state behind
 * lfs_t / lfs_file_t / lfs_dir_t is heap allocated and private to src/lfs/.
 *
 * Conventions:
 *  - every call returns 0 (or a non-negative count) on success and a negative enum lfs_error;
 *  - paths are absolute or relative to the root, '/'-separated; repeated slashes and "."
 *    components are ignored and ".." cancels the component before it (at the root it is
 *    ignored), as upstream resolves them;
 *  - directory reads return entries in on-disk order (§6.1); "." and ".." are not returned;
 *  - a file or directory handle must be closed (it owns heap memory); files must not be renamed
 *    or removed while open;
 *  - the engine keeps an image's on-disk version when it changes it (a 2.0 image stays 2.0);
 *  - before the first change after mount the engine completes a pending move and removes
 *    orphaned metadata pairs (§8), as upstream does;
 *  - nothing else may change the block device while it is mounted (parsed pairs are cached);
 *  - not done: relocating worn pairs and superblock expansion (optional wear levelling, §9.5;
 *    block_cycles only sets new pairs' revisions), relocation after a failed program (the
 *    read-back check reports CORRUPT instead), attributes on the root.
 * No global state; one lfs_t may be used by one thread at a time. */
#ifndef MP_LFS_LFS_H
#define MP_LFS_LFS_H

#include <stddef.h>
#include <stdint.h>

typedef uint32_t lfs_size_t;
typedef int32_t lfs_ssize_t;
typedef uint32_t lfs_off_t;
typedef int32_t lfs_soff_t;
typedef uint32_t lfs_block_t;

/* On-disk versions, major << 16 | minor (§5.2). 2.1 adds the FCRC tag (§4.4). */
#define LFS_DISK_VERSION_2_0 0x00020000u
#define LFS_DISK_VERSION_2_1 0x00020001u
#define LFS_DISK_VERSION LFS_DISK_VERSION_2_1 /* newest version this engine reads and writes */

/* Compiled maxima, equal to upstream's and MicroPython's (§5.1). */
#define LFS_NAME_MAX 255
#define LFS_FILE_MAX 2147483647
#define LFS_ATTR_MAX 1022

/* MicroPython's modification time: user attribute type 1, 8 bytes, unsigned LE nanoseconds
 * since 1970-01-01 UTC (§7.3). */
#define LFS_ATTR_MTIME 1
#define LFS_ATTR_MTIME_SIZE 8

/* Error codes: the values upstream littlefs uses (negated POSIX errno numbers). */
enum lfs_error {
    LFS_ERR_OK = 0,
    LFS_ERR_IO = -5,            /* the block device failed */
    LFS_ERR_CORRUPT = -84,      /* the image is not a valid littlefs (bad tag, loop, range...) */
    LFS_ERR_NOENT = -2,         /* no such file or directory */
    LFS_ERR_EXIST = -17,        /* entry already exists */
    LFS_ERR_NOTDIR = -20,       /* a path component is not a directory */
    LFS_ERR_ISDIR = -21,        /* entry is a directory */
    LFS_ERR_NOTEMPTY = -39,     /* directory is not empty */
    LFS_ERR_BADF = -9,          /* bad file handle (closed, or not open for that access) */
    LFS_ERR_FBIG = -27,         /* file would exceed file_max */
    LFS_ERR_INVAL = -22,        /* invalid argument or configuration, unsupported version */
    LFS_ERR_NOSPC = -28,        /* no free block left */
    LFS_ERR_NOMEM = -12,        /* out of RAM */
    LFS_ERR_NOATTR = -61,       /* no such user attribute */
    LFS_ERR_NAMETOOLONG = -36,  /* name longer than name_max */
};

/* "LFS_ERR_NOENT" for LFS_ERR_NOENT; "LFS_ERR_UNKNOWN" for a value not in the enum. */
const char *lfs_err_name(int err);
/* A short English description ("no such file or directory"). */
const char *lfs_err_text(int err);

enum lfs_type {
    LFS_TYPE_REG = 1, /* regular file (the NAME tag's chunk on disk, §3.3) */
    LFS_TYPE_DIR = 2, /* directory */
};

/* File open flags (combine access mode with the others). */
enum lfs_open_flags {
    LFS_O_RDONLY = 1,
    LFS_O_WRONLY = 2,
    LFS_O_RDWR = 3,
    LFS_O_CREAT = 0x0100,  /* create if missing */
    LFS_O_EXCL = 0x0200,   /* with CREAT: fail with EXIST if it exists */
    LFS_O_TRUNC = 0x0400,  /* truncate to 0 on open */
    LFS_O_APPEND = 0x0800, /* every write goes to the end */
};

enum lfs_whence {
    LFS_SEEK_SET = 0,
    LFS_SEEK_CUR = 1,
    LFS_SEEK_END = 2,
};

/* The block device and the geometry. Zero in an optional field means "default": the value in
 * brackets, which is what the engine uses, not necessarily MicroPython's (lfs_config_default
 * fills MicroPython's ESP32 values, §11.2, given after "MicroPython:" where they differ). */
struct lfs_config {
    void *context; /* passed back to the callbacks through c->context */

    /* Read size bytes at byte off of block. Returns 0 or a negative lfs_error. */
    int (*read)(const struct lfs_config *c, lfs_block_t block, lfs_off_t off, void *buffer,
                lfs_size_t size);
    /* Program an erased region (off and size are multiples of prog_size). */
    int (*prog)(const struct lfs_config *c, lfs_block_t block, lfs_off_t off,
                const void *buffer, lfs_size_t size);
    /* Erase a block (to 0xFF). */
    int (*erase)(const struct lfs_config *c, lfs_block_t block);
    /* Make everything programmed so far durable; called before and after each metadata
     * commit, so data reaches the device before the metadata that refers to it. May be NULL. */
    int (*sync)(const struct lfs_config *c);
    /* Optional (NULL: none): non-zero for a block the allocator must not hand out. Used when
     * a filesystem is built over flash whose old contents must survive until the new one is
     * committed elsewhere (blocks 0 and 1, the superblock pair, are never asked about). */
    int (*reserved)(const struct lfs_config *c, lfs_block_t block);

    lfs_size_t read_size;      /* minimum read unit [32] */
    lfs_size_t prog_size;      /* program unit; commits end on this boundary [32] */
    lfs_size_t block_size;     /* erase block; must equal the superblock's [4096] */
    lfs_size_t block_count;    /* blocks; 0 at mount = take from the superblock (required by
                                  format) */
    int32_t block_cycles;      /* wear-levelling period; only rounds new pairs' revisions
                                  [<= 0: no rounding; MicroPython: 100] */
    lfs_size_t cache_size;     /* upstream cache size; sets the read-ahead and inline_max
                                  [the larger of read_size and prog_size; MicroPython: 128] */
    lfs_size_t lookahead_size; /* bytes of allocator window (8 blocks per byte) [32] */
    lfs_size_t name_max;       /* longest name, <= LFS_NAME_MAX [255] */
    lfs_size_t file_max;       /* largest file, <= LFS_FILE_MAX [LFS_FILE_MAX] */
    lfs_size_t attr_max;       /* largest user attribute, <= LFS_ATTR_MAX [1022] */
    lfs_size_t inline_max;     /* largest file kept inline; a value above the derived one is
                                  ignored [min(cache_size, attr_max, block_size / 8, 1022):
                                  128 with MicroPython's values] */
    uint32_t disk_version;     /* version lfs_format writes: LFS_DISK_VERSION_2_0 or _2_1
                                  [2.1]; ignored by mount (an image keeps its own version) */
    lfs_size_t meta_cache_size; /* bytes of parsed metadata pairs kept between calls [8 MiB];
                                   a lookup walks its directory's chain of pairs, about 200
                                   bytes per entry when parsed */
};

/* MicroPython's ESP32 geometry (block 4096, read/prog 32, cache 128, lookahead 32, block_cycles
 * 100, name_max 255, disk version 2.1) with block_count 0; callbacks and context NULL. */
void lfs_config_default(struct lfs_config *cfg);

/* One directory entry (stat, dir read). */
struct lfs_info {
    uint8_t type;                 /* enum lfs_type */
    lfs_size_t size;              /* file size in bytes; 0 for directories */
    char name[LFS_NAME_MAX + 1];  /* NUL-terminated (names never contain NUL in practice) */
};

/* Filesystem parameters from the superblock (lfs_fs_stat). */
struct lfs_fsinfo {
    uint32_t disk_version; /* major << 16 | minor */
    lfs_size_t block_size;
    lfs_size_t block_count;
    lfs_size_t name_max;
    lfs_size_t file_max;
    lfs_size_t attr_max;
};

/* A user attribute written with a file at each sync/close (lfs_file_opencfg). */
struct lfs_attr {
    uint8_t type;       /* 0..255 (MicroPython's mtime is LFS_ATTR_MTIME) */
    const void *buffer; /* size bytes, read at sync time (may change while the file is open) */
    lfs_size_t size;    /* <= attr_max */
};

struct lfs_file_config {
    const struct lfs_attr *attrs; /* written at every sync of a changed file */
    lfs_size_t attr_count;
};

struct lfs_state;
struct lfs_file_state;
struct lfs_dir_state;

/* A mounted filesystem. Members are private. */
typedef struct lfs {
    const struct lfs_config *cfg;
    struct lfs_state *st;
} lfs_t;

/* An open file. Members are private. */
typedef struct lfs_file {
    struct lfs_file_state *st;
} lfs_file_t;

/* An open directory. Members are private. */
typedef struct lfs_dir {
    struct lfs_dir_state *st;
} lfs_dir_t;

/* ---------------------------------------------------------------- filesystem */

/* Make an empty filesystem of cfg->block_count blocks with cfg->disk_version (§9.7 format).
 * Only pair {0,1} is written; other blocks are erased when first used. lfs is left unmounted. */
int lfs_format(lfs_t *lfs, const struct lfs_config *cfg);
/* Mount: check the superblock chain (§5), accumulate the global state (§8). cfg must stay
 * valid until unmount. */
int lfs_mount(lfs_t *lfs, const struct lfs_config *cfg);
/* Release the state (open files and directories must be closed first). Always frees. */
int lfs_unmount(lfs_t *lfs);

int lfs_fs_stat(lfs_t *lfs, struct lfs_fsinfo *info);
/* Blocks in use, counted like upstream lfs_fs_size: both blocks of every pair on the metadata
 * list plus every CTZ file block (and blocks held by files open for writing). */
lfs_ssize_t lfs_fs_size(lfs_t *lfs);
/* Call cb for every block in use, as counted by lfs_fs_size plus the pair each directory entry
 * points at (what MicroPython's statvfs counts, §11.6). Stops on the first non-zero return.
 * cb must not call the engine. */
int lfs_fs_traverse(lfs_t *lfs, int (*cb)(void *data, lfs_block_t block), void *data);
/* Grow to block_count blocks (>= the current count; the new blocks must be erased or will be
 * erased before use). Rewrites every superblock copy in the chain (§5.3). */
int lfs_fs_grow(lfs_t *lfs, lfs_size_t block_count);
/* Complete a pending move and remove orphans now (normally done before the first change). */
int lfs_fs_mkconsistent(lfs_t *lfs);
/* Compact the superblock pair {0,1} twice, so that each of its two blocks holds the current
 * state as a single commit: when the blocks of a filesystem are copied onto flash one by one,
 * a copy of either block that is cut short is then ignored (its commit fails its checksum)
 * instead of showing an older state of the filesystem. */
int lfs_fs_compact_superblock(lfs_t *lfs);

/* ---------------------------------------------------------------- paths */

int lfs_stat(lfs_t *lfs, const char *path, struct lfs_info *info);
/* Remove a file or an empty directory. */
int lfs_remove(lfs_t *lfs, const char *path);
/* Rename a file or directory. An existing destination of the same type is replaced (a
 * directory only if empty); of another type: ISDIR / NOTDIR. Moving a directory into itself:
 * INVAL. */
int lfs_rename(lfs_t *lfs, const char *oldpath, const char *newpath);
int lfs_mkdir(lfs_t *lfs, const char *path);

/* Read user attribute `type` of an entry into buffer (at most size bytes). Returns the
 * attribute's stored size, or NOATTR. */
lfs_ssize_t lfs_getattr(lfs_t *lfs, const char *path, uint8_t type, void *buffer,
                        lfs_size_t size);
/* Set (replace) a user attribute, committed immediately. */
int lfs_setattr(lfs_t *lfs, const char *path, uint8_t type, const void *buffer,
                lfs_size_t size);
int lfs_removeattr(lfs_t *lfs, const char *path, uint8_t type);

/* Where a regular file's contents lie: *head is the last block of its CTZ list, or
 * LFS_NO_BLOCK when the file is inline (its bytes are in its directory's metadata); *size its
 * size. ISDIR for a directory. */
#define LFS_NO_BLOCK 0xFFFFFFFFu
int lfs_file_where(lfs_t *lfs, const char *path, lfs_block_t *head, lfs_size_t *size);
/* The count blocks of the CTZ list ending at head (count from lfs_ctz_block_count), in file
 * order, into blocks[0 .. count): reads the skip pointers only. */
int lfs_ctz_blocks(lfs_t *lfs, lfs_block_t head, lfs_block_t *blocks, lfs_size_t count);
/* Blocks a CTZ list of size bytes takes (size > 0). */
lfs_size_t lfs_ctz_block_count(lfs_size_t block_size, lfs_size_t size);
/* The bytes a CTZ list of data (size > 0 bytes) holds in the given blocks (blocks[i]: the block
 * of index i), as this engine writes it: out (lfs_ctz_block_count blocks) gets each block's
 * pointers and data; returns the count of bytes from the start of the first block to the last
 * data byte (what follows is padding). */
size_t lfs_ctz_layout(lfs_size_t block_size, const lfs_block_t *blocks, const uint8_t *data,
                      lfs_size_t size, uint8_t *out);

/* ---------------------------------------------------------------- files */

/* Open with enum lfs_open_flags. A file that open creates appears on disk with its first
 * sync/close, in one commit together with its contents (upstream commits an empty entry at
 * open; deferring it makes "create and write" atomic across power loss). Until then stat and
 * directory reads do not show it. Data is committed at sync/close. */
int lfs_file_open(lfs_t *lfs, lfs_file_t *file, const char *path, int flags);
/* Same, with attributes written at every sync of a changed file. cfg must stay valid while
 * the file is open. */
int lfs_file_opencfg(lfs_t *lfs, lfs_file_t *file, const char *path, int flags,
                     const struct lfs_file_config *cfg);
/* Sync if written, then free the handle (also on error). */
int lfs_file_close(lfs_t *lfs, lfs_file_t *file);
/* Write data blocks, then commit the file's struct and attributes in one metadata commit. */
int lfs_file_sync(lfs_t *lfs, lfs_file_t *file);
lfs_ssize_t lfs_file_read(lfs_t *lfs, lfs_file_t *file, void *buffer, lfs_size_t size);
lfs_ssize_t lfs_file_write(lfs_t *lfs, lfs_file_t *file, const void *buffer, lfs_size_t size);
/* Returns the new position. Seeking past the end and writing fills the gap with zeros. */
lfs_soff_t lfs_file_seek(lfs_t *lfs, lfs_file_t *file, lfs_soff_t off, int whence);
int lfs_file_truncate(lfs_t *lfs, lfs_file_t *file, lfs_off_t size);
lfs_soff_t lfs_file_tell(lfs_t *lfs, lfs_file_t *file);
int lfs_file_rewind(lfs_t *lfs, lfs_file_t *file);
lfs_soff_t lfs_file_size(lfs_t *lfs, lfs_file_t *file);

/* ---------------------------------------------------------------- directories */

int lfs_dir_open(lfs_t *lfs, lfs_dir_t *dir, const char *path);
int lfs_dir_close(lfs_t *lfs, lfs_dir_t *dir);
/* 1 and *info filled for the next entry, 0 at the end, negative on error. */
int lfs_dir_read(lfs_t *lfs, lfs_dir_t *dir, struct lfs_info *info);
int lfs_dir_rewind(lfs_t *lfs, lfs_dir_t *dir);

#endif
