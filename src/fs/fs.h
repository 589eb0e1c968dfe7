/* The `--fs` commands: littlefs and FAT filesystems inside partitions, reached through the flash
 * interface only (a firmware file, a device, anything with struct flash_ops).
 *
 * Layers:
 *  - partitions: which partition a `PART:path` or partition argument means, including the
 *    `vfs` region MicroPython >= v1.26 computes at boot when the table has no `vfs` row;
 *  - a block cache (struct fs_cache) between littlefs and a partition window;
 *  - a mounted filesystem (struct fs) and one function per command on it;
 *  - fs_run(): one `--fs CMD ARGS...` as the tool runs it (argument rules of seed-spec §10.2).
 * Nothing here prints: lines go to a struct log, file bytes and df numbers to callbacks.
 * Failures return a negative code with the message in struct error: littlefs's codes (negated
 * errno numbers: -ENOENT, -EEXIST, -ENOSPC, ...) for what the engine reports, -ENOMEM when
 * memory runs out, -EIO when reading or writing the flash failed, ERROR_FAILED otherwise. */
#ifndef MP_FS_FS_H
#define MP_FS_FS_H

#include <stddef.h>
#include <stdint.h>

#include "esp/ptable.h"
#include "flash/flash.h"
#include "util/error.h"
#include "util/log.h"

/* MicroPython's littlefs geometry on ESP32 (littlefs.md §11.2): images we write must be the
 * kind a board writes itself. */
#define FS_BLOCK_SIZE 4096u
/* Other block sizes, for bare images made for other systems (mklittlefs -b): powers of two
 * between these (a block holds whole caches of FS_CACHE_SIZE bytes). */
#define FS_MIN_BLOCK_SIZE 128u
#define FS_MAX_BLOCK_SIZE 0x100000u
#define FS_READ_SIZE 32u
#define FS_PROG_SIZE 32u
#define FS_CACHE_SIZE 128u
#define FS_LOOKAHEAD_SIZE 32u
#define FS_BLOCK_CYCLES 100
#define FS_NAME_MAX 255u

/* MicroPython's modification time: user attribute 1, 8 bytes LE, nanoseconds since
 * 1970-01-01 UTC (littlefs.md §7.3, §11.2 "mtime"). put stores the local file's. */
#define FS_ATTR_MTIME 1

/* On-disk versions (littlefs.md §5.2): major << 16 | minor. */
#define FS_DISK_VERSION_2_0 0x00020000u
#define FS_DISK_VERSION_2_1 0x00020001u

/* The 139-byte boot.py MicroPython's first-boot setup writes (ports/esp32/modules/inisetup.py),
 * written by mkfs. */
extern const char FS_BOOT_PY[];

/* ---------------------------------------------------------------- output */

struct fs_usage;

/* Where the commands' lines and bytes go. Lines are narrated through `log`: LOG_OUTPUT for
 * requested output (listings, copy lines, info: shown even with -q), LOG_INFO for the
 * commands' own narration ("ls 'vfs:/'"), LOG_ACTION for a change about to be made ("Erasing
 * partition 'vfs' from 0x0..."). Any member may be NULL. */
struct fs_output {
    const struct log *log;
    /* Bytes of a file for `cat`, in pieces, exactly as stored (no newline added). */
    void (*data)(void *ctx, const void *buf, size_t len);
    /* One mounted partition's numbers for `df` and `info` (the caller prints df's table). */
    void (*usage)(void *ctx, const struct fs_usage *usage);
    void *ctx; /* for data, usage and file_written */
    /* A local file get has just written (its path as given to get, joined with the names). */
    void (*file_written)(void *ctx, const char *path);
    /* One entry of an `ls` listing in a partition, as its line names it (relative to the path
     * listed, no trailing '/'): a directory, or a file with its size in bytes. */
    void (*entry)(void *ctx, const char *partition, const char *path, int is_dir, uint32_t size);
    /* After a put: how many of its files already held the same bytes (left alone). */
    void (*unchanged)(void *ctx, uint32_t files);
};

/* The log of an output (NULL for none). */
static inline const struct log *fs_log(const struct fs_output *out)
{
    return out ? out->log : NULL;
}

/* ---------------------------------------------------------------- partitions */

struct fs_partition {
    char name[PTABLE_LABEL_MAX + 1];
    uint8_t type;
    uint8_t subtype;
    uint32_t offset;
    uint32_t size;
    int computed;        /* 1: the vfs region the firmware creates at boot (no table row) */
    uint32_t block_size; /* 0: MicroPython's, FS_BLOCK_SIZE (other sizes: bare images) */
};

/* The littlefs block size of a partition's filesystem. */
static inline uint32_t fs_part_block_size(const struct fs_partition *p)
{
    return p->block_size ? p->block_size : FS_BLOCK_SIZE;
}

struct fs_partitions {
    struct fs_partition parts[PTABLE_MAX_ENTRIES + 1];
    int count;
};

/* The filesystem region MicroPython >= v1.26 registers as `vfs` when the table has no data
 * partition labelled `vfs` or `ffat` (ports/esp32/main.c, boardctrl_startup; littlefs.md §11.4):
 * from the highest end (offset + size) of any partition in the table to the end of flash,
 * unaligned beyond what the table gives. Returns 1 and sets offset/size when such a region
 * exists, 0 when the table has vfs/ffat or no room is left. */
int fs_vfs_region(const struct ptable *table, uint32_t flash_size, uint32_t *offset,
                  uint32_t *size);

/* Every table entry (negative sizes dropped) plus the computed vfs region when there is one. */
void fs_partitions_from_table(const struct ptable *table, uint32_t flash_size,
                              struct fs_partitions *out);
/* The named partition, or NULL. */
const struct fs_partition *fs_partitions_find(const struct fs_partitions *parts,
                                              const char *name);

/* Split a path argument "PART:path" at its last colon. Without a colon *part is left as it is
 * (so a prefix stays in force for the following arguments: pass the same buffer each time,
 * starting with "vfs"). Returns the path part. A prefix longer than a partition label is
 * reported as "Partition '<prefix>' not found." (ERROR_PARTITION) and NULL returned. */
const char *fs_split_path(const char *arg, char part[PTABLE_LABEL_MAX + 1], struct error *err);

enum fs_default_parts {
    FS_DEFAULT_FS_PARTS, /* df, info: every data partition of subtype fat or littlefs */
    FS_DEFAULT_VFS,      /* mkfs, grow: vfs */
};
/* Partitions named by names[0..n) (each must exist: "Partition '<p>' not found."), or the
 * default set in offset order when n == 0. out must hold PTABLE_MAX_ENTRIES + 1 pointers. */
int fs_select_partitions(const struct fs_partitions *parts, const char *const *names, int n,
                         enum fs_default_parts dflt, const struct fs_partition **out,
                         int *count, struct error *err);

/* Open a window on the partition's bytes of flash. */
void fs_window_open(struct flash_window *w, struct flash *flash, const struct fs_partition *p);

/* Before a command changes a partition: a firmware file (resizable flash) that ends before the
 * partition's end grows with erased flash to hold all of it, so that the output is a
 * flashable image with the files (a release .bin ends after its app; its vfs, and the region
 * MicroPython v1.26+ computes, lie beyond). Nothing to do on a board. */
int fs_cover_partition(struct flash *flash, const struct fs_partition *p,
                       const struct fs_output *out, struct error *err);
/* Whether the window starts with a FAT boot sector (0x55AA at byte 510, a plausible BPB). */
int fs_holds_fat(struct flash *window);

/* Whether the window holds a littlefs superblock: the magic "littlefs" at byte 8 of block 0 or
 * block 1 (littlefs.md §5.1), mountable or not. A partition holding one that does not mount is
 * a damaged filesystem, not an empty partition. */
int fs_holds_littlefs(struct flash *window);

/* ---------------------------------------------------------------- disk version */

/* The on-disk version to format with for a firmware of this MicroPython version ("v1.21.0",
 * "1.23.0", "v1.22.0-preview.12.gabc", NULL or unparsable = unknown). See fs_part.c. */
uint32_t fs_format_version_for(const char *micropython_version);

/* The MicroPython version a firmware's app image was built from, found in its bytes: the
 * sysname string "MicroPython-1.23.0-xtensa-IDF..." (present in every build, also custom ones
 * whose banner shows a commit hash), else the banner "MicroPython v1.23.0 on ...". Official
 * builds leave the app descriptor's version field empty. Writes e.g. "1.23.0" or
 * "1.24.0-preview" to out and returns 1; 0 when none is found. */
int fs_find_micropython_version(const uint8_t *app, size_t len, char *out, size_t size);

/* ---------------------------------------------------------------- helpers */

/* pathlib-like normal form used in messages and copy lines: "" and "." -> ".", repeated and
 * trailing slashes and "." components removed, a leading "/" kept. Truncates to size. */
void fs_path_norm(const char *in, char *out, size_t size);
/* a/b in that normal form ("." / b = b). */
void fs_path_join(const char *a, const char *b, char *out, size_t size);
/* Whether a directory entry name read from an image may be used as one local path component:
 * non-empty, no '/', no NUL within len, not "." or "..". */
int fs_name_is_safe(const char *name, size_t len);
/* round(100 * used / total) with Python's round-half-to-even; 0 when total is 0. */
uint32_t fs_percent_half_even(uint64_t used, uint64_t total);

/* ---------------------------------------------------------------- block cache */

/* The codes the filesystem engines return: littlefs and FAT both use Linux's errno numbers,
 * whatever the host's <errno.h> says (WebAssembly's differ), so the commands compare with these
 * and never with -EEXIST and the like. */
enum fs_error {
    FS_ERR_NOENT = -2,
    FS_ERR_IO = -5,
    FS_ERR_NOMEM = -12,
    FS_ERR_EXIST = -17,
    FS_ERR_NOTDIR = -20,
    FS_ERR_INVAL = -22,
    FS_ERR_NOSPC = -28,
};

enum fs_flush_mode {
    /* Write dirty blocks at every littlefs sync (each commit). Within one flush the block of
     * the last program (the commit) is written after all others, so a cut-off transfer leaves
     * what littlefs would leave after a power cut: data on flash before the metadata that
     * refers to it. The default. */
    FS_FLUSH_AT_SYNC,
    /* Keep everything until unmount, then write once in address order. Fewest transfers, but a
     * transfer cut off in the middle can leave metadata pointing at unwritten blocks. */
    FS_FLUSH_AT_UNMOUNT,
    /* Never write: changes live in the cache and are dropped at unmount. A dry run (will a put
     * fit?) and building a filesystem image to be written elsewhere. */
    FS_FLUSH_NEVER,
    /* Keep changes while they touch at most one block the flash's filesystem uses (a metadata
     * block that takes new commits); the rest are blocks nothing on the flash refers to. Write
     * when a second such block is about to change, and at unmount: first the unreferenced
     * blocks, then the one in use, each group checked before the next. A cut-off transfer
     * leaves the state of the last write or that of one littlefs passed through (see
     * fs_batch). Set by fs_batch, not at mount. */
    FS_FLUSH_BATCHED,
};

/* Write-back cache of whole blocks over a flash (a partition window). Every block is read
 * from flash at most once; programs and erases change the cached copy and mark it dirty;
 * fs_cache_flush writes dirty blocks as runs of consecutive blocks, one flash_write per run.
 * Bytes past the end of the flash (a firmware file that stops inside the partition) read as
 * erased. When the flash holds its bytes in memory (flash_map: a firmware file, not a board)
 * clean blocks are read straight from it and only changed blocks get a copy of their own,
 * dropped once written: memory follows what is changed, not what is read. */
struct fs_cache {
    struct flash *flash;
    uint32_t block_size;
    uint32_t block_count; /* blocks the window can hold (its limit / block size) */
    int mapped;           /* clean blocks are read through flash_map; copies live in blocks */
    uint8_t *data;        /* not mapped: block_count * block_size bytes, valid where loaded */
    uint8_t **blocks;     /* mapped: per block, its own copy where loaded (else NULL) */
    uint8_t *loaded;      /* per block: contents held in the cache */
    uint8_t *dirty;       /* per block: differs from flash */
    uint32_t last_block;  /* block of the most recent program or erase; UINT32_MAX: none */
    uint32_t outside;     /* first block asked for beyond block_count; UINT32_MAX: none */
    uint32_t changes;     /* programs and erases since init (the flash will differ) */
    /* batching (fs_cache_batch): per block, whether the filesystem on the flash may refer to
     * it (NULL: not batching), and the one such block changed since the last flush */
    uint8_t *in_use;
    uint32_t held;
    /* statistics (bench and tests) */
    uint32_t flash_reads;  /* flash_read calls */
    uint32_t flash_writes; /* flash_write calls (mapped: one per block, else one per run) */
    uint64_t bytes_written;
    uint32_t flushes; /* fs_cache_flush calls that wrote something */
};

int fs_cache_init(struct fs_cache *c, struct flash *flash, uint32_t block_size,
                  struct error *err);
int fs_cache_read(struct fs_cache *c, uint32_t block, uint32_t off, void *buf, uint32_t size,
                  struct error *err);
int fs_cache_prog(struct fs_cache *c, uint32_t block, uint32_t off, const void *buf,
                  uint32_t size, struct error *err);
int fs_cache_erase(struct fs_cache *c, uint32_t block, struct error *err);
/* Write every dirty block: runs in address order, then (flushed to the medium between the two)
 * the block that must come last: when batching the block in use, else the last programmed. */
int fs_cache_flush(struct fs_cache *c, struct error *err);
/* Start batching (FS_FLUSH_BATCHED): from now on the cache holds changes until a second block in
 * use is about to change. Every block that the filesystem on the flash refers to must then be
 * marked with fs_cache_mark_used; blocks written by a flush are marked by it. */
int fs_cache_batch(struct fs_cache *c, struct error *err);
void fs_cache_mark_used(struct fs_cache *c, uint32_t block);
/* Whether the len bytes at window address addr hold `bytes` (1 yes, 0 no, -1 error). A board
 * compares them by MD5 on the chip when none of those blocks has unwritten changes, so nothing
 * is read over the line. */
int fs_cache_holds(struct fs_cache *c, uint32_t addr, const uint8_t *bytes, uint32_t len,
                   struct error *err);
/* On a board: bring the blocks of [addr, addr + len) that the cache lacks in as few reads as
 * they allow (one per run of missing blocks), ahead of littlefs asking for them one by one. */
int fs_cache_read_ahead(struct fs_cache *c, uint32_t addr, uint32_t len, struct error *err);
/* The cached bytes of a block (block_size of them), NULL when the cache holds none. */
const uint8_t *fs_cache_block(const struct fs_cache *c, uint32_t block);
void fs_cache_free(struct fs_cache *c);

/* ---------------------------------------------------------------- mounted filesystem */

struct fs; /* a littlefs filesystem mounted on a partition, with its block cache */

/* Numbers of one mounted filesystem (df and info). */
struct fs_usage {
    char part[PTABLE_LABEL_MAX + 1];
    uint32_t disk_version;     /* major << 16 | minor, from the superblock */
    uint32_t name_max;
    uint32_t block_size;
    uint32_t block_count;      /* from the superblock */
    uint32_t blocks_used;      /* littlefs fs_size: blocks in use */
    uint32_t partition_blocks; /* partition bytes / block size (the firmware wants it equal) */
    /* df columns (seed-spec §10.3) */
    uint32_t total_kb, used_kb, free_kb, used_percent;
    /* a FAT filesystem: blocks above are its clusters, these its own parameters */
    int is_fat;
    uint32_t fat_type; /* 12, 16 or 32 */
    uint32_t sector_size, total_sectors, fats, root_entries, volume_id;
    char label[12];
};

/* Mount the filesystem on `window` (a partition window; part gives name and size): a littlefs,
 * or a FAT when the window starts with a FAT boot sector (and holds no littlefs superblock).
 * littlefs blocks are taken from the superblock, so a filesystem smaller than its partition
 * mounts (for grow). The filesystem keeps its on-disk version: a 2.0 image stays 2.0 when
 * changed. */
int fs_mount(struct fs **out, struct flash *window, const struct fs_partition *part,
             enum fs_flush_mode mode, struct error *err);
/* Unmount, write what is cached and free. With fs NULL does nothing. Returns the first error. */
int fs_unmount(struct fs *fs, struct error *err);
/* The cache statistics of a mounted filesystem. */
const struct fs_cache *fs_cache_of(const struct fs *fs);
/* Files that put found already holding the same bytes, so left as they were. */
uint32_t fs_unchanged_files(const struct fs *fs);
/* A local file that get must never replace (the input firmware); NULL: none. */
void fs_protect_file(struct fs *fs, const char *path);
/* Write the changes of the commands that follow in batches (FS_FLUSH_BATCHED) instead of at
 * every littlefs sync: first what was changed before is written, then every block the
 * filesystem refers to is marked. Safe because littlefs survives a power cut after any of its
 * programs: the cache always holds such a state, a batch first writes blocks nothing on the
 * flash refers to (a cut there leaves the flash as it was) and then the one block in use. A
 * FAT keeps writing at every sync (it changes blocks in place). */
int fs_batch(struct fs *fs, struct error *err);

/* Format the partition: erase all of it, make a filesystem of size / 4096 blocks with the
 * given on-disk version (FS_DISK_VERSION_2_0 or _2_1) and write FS_BOOT_PY as /boot.py.
 * "Partition '<p>' is not in firmware file." when the window holds no byte of it. */
int fs_mkfs(struct flash *window, const struct fs_partition *part, uint32_t disk_version,
            enum fs_flush_mode mode, const struct fs_output *out, struct error *err);

/* Format the partition as vfs.VfsFat.mkfs does on an ESP32 (FAT12/16, 4096-byte sectors, one
 * FAT, 512 root entries: the same image) and write FS_BOOT_PY as /boot.py, as MicroPython's
 * first-boot setup does for a FAT partition. The rest of the partition is erased. */
int fs_mkfs_fat(struct flash *window, const struct fs_partition *part, enum fs_flush_mode mode,
                const struct fs_output *out, struct error *err);
/* Whether mkfs makes FAT on this partition: a data partition of subtype fat that MicroPython
 * formats as FAT (labelled "ffat", see inisetup.py) or that holds a FAT filesystem now. */
int fs_wants_fat(struct flash *window, const struct fs_partition *part);
/* The same without /boot.py: an empty filesystem (a bare image the user fills, as mklittlefs
 * makes one). */
int fs_format(struct flash *window, const struct fs_partition *part, uint32_t disk_version,
              enum fs_flush_mode mode, const struct fs_output *out, struct error *err);

/* Recursive listing (seed-spec §10.3): per directory its files, then its subdirectories with a
 * trailing '/', then each subdirectory's listing; names relative to path. LOG_OUTPUT lines. */
int fs_ls(struct fs *fs, const char *path, const struct fs_output *out, struct error *err);
/* A regular file's bytes through out->data. */
int fs_cat(struct fs *fs, const char *path, const struct fs_output *out, struct error *err);
/* Read a whole file into a malloc'ed buffer (*len bytes). */
int fs_read_file(struct fs *fs, const char *path, uint8_t **data, size_t *len,
                 struct error *err);
/* Create (replace) a file with these bytes. */
int fs_write_file(struct fs *fs, const char *path, const void *data, size_t len,
                  struct error *err);
struct fs_stat {
    int is_dir;
    uint32_t size;
    int has_mtime;     /* the entry carries MicroPython's mtime attribute */
    uint64_t mtime_ns; /* nanoseconds since 1970-01-01 UTC */
};
int fs_stat(struct fs *fs, const char *path, struct fs_stat *st, struct error *err);
/* mkdir -p: parents as needed, an existing directory is fine, an existing file is an error. */
int fs_mkdir(struct fs *fs, const char *path, struct error *err);
/* Remove a file or a whole tree (the root: everything in it). */
int fs_rm(struct fs *fs, const char *path, struct error *err);
int fs_rename(struct fs *fs, const char *from, const char *to, struct error *err);
/* Copy src out to the local path dest (seed-spec §10.3 "get"): a file goes into dest when dest
 * is a directory, else becomes dest; a directory's contents go into dest, with
 * "<src> -> <dest>" lines. Entry names that are not one safe path component ('/', ".", "..",
 * NUL, empty) are refused naming the entry; nothing is written through a local symlink
 * inside dest. */
int fs_get(struct fs *fs, const char *src, const char *dest, const struct fs_output *out,
           struct error *err);
/* Copy the local file or directory src into the filesystem at dest (seed-spec §10.3 "put"): a
 * file becomes dest/<name> when dest is a directory, else dest (a new name is created); a
 * directory becomes dest/<name>/... A missing src is an error. Files keep their local
 * modification time as MicroPython's mtime attribute.
 * Note the asymmetry kept from the Python tool: `get DIR DEST` copies DIR's contents into DEST,
 * `put DIR DEST` copies DIR itself into DEST (DEST/DIR/...). */
int fs_put(struct fs *fs, const char *src, const char *dest, const struct fs_output *out,
           struct error *err);
int fs_usage(struct fs *fs, struct fs_usage *usage, struct error *err);
/* Grow to block_count blocks (0: the whole partition). Smaller than now is refused, equal does
 * nothing, more than the partition holds is refused. Logs "fs: grow ...". */
int fs_grow(struct fs *fs, uint32_t block_count, const struct fs_output *out,
            struct error *err);

/* ---------------------------------------------------------------- copies and blocks */

struct fs_tree_stats {
    uint32_t files, dirs;
    uint64_t bytes; /* file contents */
};

/* Count the tree of a mounted filesystem. */
int fs_tree_stats(struct fs *fs, struct fs_tree_stats *stats, struct error *err);

/* Make a new filesystem on `window` (all of partition `part`: its size sets the block count)
 * with from's on-disk version and limits, and copy from's whole tree into it: folders, files
 * and every user attribute of each (MicroPython's mtime among them). The copy stays mounted in
 * *out (with FS_FLUSH_NEVER nothing reaches the flash: the built blocks are in its cache, see
 * fs_changed_blocks). reserved (NULL: none) names blocks of the new filesystem that it must
 * not use (its superblock pair, blocks 0 and 1, excepted). When the tree does not fit:
 * LittleFSError -28 (LFS_ERR_NOSPC) naming the file that did not. */
int fs_clone(struct fs *from, struct flash *window, const struct fs_partition *part,
             enum fs_flush_mode mode, int (*reserved)(void *ctx, uint32_t block), void *ctx,
             struct fs **out, struct fs_tree_stats *stats, struct error *err);
/* Whether two filesystems hold the same tree: the same folders and files, file contents and
 * user attributes. 0, or -1 naming the first difference. */
int fs_compare_trees(struct fs *a, struct fs *b, struct error *err);
/* Rewrite the superblock pair so each of its blocks holds the whole current state in one
 * commit (lfs_fs_compact_superblock): a copy of either block cut short is then ignored. */
int fs_compact_superblock(struct fs *fs, struct error *err);
/* Call cb for every block the filesystem uses (a block may come more than once). */
int fs_used_blocks(struct fs *fs, int (*cb)(void *ctx, uint32_t block), void *ctx,
                   struct error *err);
/* Call cb for every block the filesystem changed in its cache and has not written (all of them
 * with FS_FLUSH_NEVER), with the block's new bytes. Stops (returns -1) when cb does. */
int fs_changed_blocks(const struct fs *fs,
                      int (*cb)(void *ctx, uint32_t block, const uint8_t *data), void *ctx);

/* The info lines of seed-spec §10.3 for one filesystem, as LOG_OUTPUT lines. */
void fs_info_lines(const struct fs_usage *usage, const struct fs_output *out);

/* ---------------------------------------------------------------- one --fs command */

struct fs_env {
    struct flash *flash;                /* the whole flash: firmware file or device */
    const struct fs_partitions *parts;  /* from fs_partitions_from_table */
    const char *micropython_version;    /* of the firmware, for mkfs; NULL if unknown */
    enum fs_flush_mode flush;
    const struct fs_output *out;
    /* SIZE syntax of the command line (seed-spec §1.4) for grow's BLOCKS, e.g. the tool's
     * value_parse_size; NULL: plain integers */
    int (*parse_size)(const char *text, int64_t *value, struct error *err);
    /* Set to 1 when the command changed the flash (a firmware file then needs saving); may
     * be NULL. Left alone otherwise. */
    int *changed;
    /* A local file get must not replace (the input firmware file); NULL: none. */
    const char *protect;
    /* 0: a partition holding a littlefs that does not mount is an error (commands the user
     * gave); 1: it is skipped with a warning line (the usage report shown on opening a
     * board, which must not stop a run that is about to repair it). */
    int lenient;
};

/* The --fs commands, one row each, in the order the help lists them. */
struct fs_command {
    const char *name;
    const char *args; /* its arguments as the help shows them: "PATH... [DEST]" */
    const char *help; /* what it does, in a few words */
    /* changes a filesystem (a firmware file then needs writing out); the others skip
     * partitions without a filesystem */
    int mutates;
    int (*run)(const struct fs_env *env, const struct fs_command *cmd, int argc,
               const char *const argv[], struct error *err);
    int op; /* which operation a runner shared by several commands performs */
};
extern const struct fs_command fs_commands[];
extern const int fs_command_count;
/* The command of that name, or NULL. */
const struct fs_command *fs_command_find(const char *name);

/* Run `--fs cmd args...` with the argument rules of seed-spec §10.2: PART: prefixes split at
 * the last colon and sticky, default vfs; each partition mounted once per run of arguments
 * naming it, and written back before another is mounted. Partitions outside the file or
 * without a filesystem are skipped (with a log line) by ls, cat, get, df and info; for mkdir,
 * rm, rename and put they are errors, as is running out of memory or failing to read the flash
 * while mounting for any command. A partition that holds a littlefs which does not mount is an
 * error for every command (see env->lenient), so a backup script can tell a damaged filesystem
 * from an empty partition. An unknown command is "Unknown --fs command '<cmd>'". */
int fs_run(const struct fs_env *env, const char *cmd, int argc, const char *const argv[],
           struct error *err);

#endif
