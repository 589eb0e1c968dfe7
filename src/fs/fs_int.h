/* Private to src/fs: a filesystem mounted on a partition (struct fs) and the helpers its
 * commands share. fs_mount.c mounts, formats and grows it; fs_tree.c works on the files and
 * directories inside it; fs_copy.c copies between it and local files; fs_clone.c copies a
 * littlefs into a new filesystem of another size. What differs between littlefs and FAT sits
 * behind struct fs_engine: fs_lfs.c and fs_fat.c. */
#ifndef MP_FS_FS_INT_H
#define MP_FS_FS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "fat/fat.h"
#include "fs/fs.h"
#include "lfs/lfs.h"

#define FS_MAX_DEPTH 256 /* deeper than any real tree; stops cycles in a crafted image */
#define FS_COPY_CHUNK 4096

struct fs;

/* One directory entry for fs_engine.list: name (len bytes, not NUL-terminated), kind, size.
 * Returns 0 to go on, else the walk stops with that value. */
typedef int (*fs_list_cb)(void *ctx, const char *name, size_t len, int is_dir, uint32_t size);

/* The operations the commands need from a filesystem engine. Paths are in fs_lfs_path's form.
 * Each returns 0, or a negative code (negated errno: -ENOENT, -EEXIST, -ENOSPC, ...) with err
 * naming the partition and path. */
struct fs_engine {
    const char *name;           /* for info lines: "LittleFS", "FAT" */
    const char *error_name;     /* "LittleFS" -> "[LittleFSError -2] ..." */
    enum error_kind error_kind; /* of the messages about a damaged structure */
    int (*stat)(struct fs *fs, const char *p, struct fs_stat *st, struct error *err);
    /* The entries of directory p in on-disk order ("." and ".." left out). */
    int (*list)(struct fs *fs, const char *p, fs_list_cb cb, void *ctx, struct error *err);
    /* A whole file into a malloc'ed buffer. */
    int (*read_file)(struct fs *fs, const char *p, uint8_t **data, size_t *len,
                     struct error *err);
    /* Create or replace p's contents (from fd when fd >= 0, else from data); `what` names the
     * source in messages. */
    int (*write_file)(struct fs *fs, const char *p, int fd, const void *data, size_t len,
                      const char *what, struct error *err);
    /* One directory; FS_ERR_EXIST when p exists. */
    int (*make_dir)(struct fs *fs, const char *p, struct error *err);
    /* A file or an empty directory. */
    int (*remove)(struct fs *fs, const char *p, struct error *err);
    /* Rename or move a to b. (Member names avoid mkdir and rename, which the Windows port
     * defines as macros.) */
    int (*move)(struct fs *fs, const char *a, const char *b, struct error *err);
    /* The engine's error for code at path (set in err); returns the code. */
    int (*fail)(struct fs *fs, int code, const char *path, struct error *err);
    /* Where a file's bytes (probably) lie, as window byte ranges: cb(ctx, addr, len) for each,
     * for reading them ahead in few large reads. Gives nothing when it cannot tell. */
    void (*extents)(struct fs *fs, const char *p,
                    void (*cb)(void *ctx, uint32_t addr, uint32_t len), void *ctx);
};
extern const struct fs_engine fs_engine_lfs, fs_engine_fat;

struct fs {
    const struct fs_engine *eng;
    uint32_t max_dirs; /* more directories than this in one walk means a cycle */
    struct fat *fat;   /* the FAT volume when eng is fs_engine_fat */
    struct fs_cache cache;
    struct lfs_config cfg;
    lfs_t lfs;
    char name[PTABLE_LABEL_MAX + 1];
    uint32_t part_size;
    uint32_t block_size;
    enum fs_flush_mode mode;
    int mounted;
    uint32_t dirs_walked; /* directories read by the current command */
    uint32_t unchanged;   /* files put that already held the same bytes (not rewritten) */
    int io_failed;        /* a flash operation under littlefs failed: io_err says why */
    struct error io_err;
    const char *protect; /* get never replaces this local file (the input firmware) */
    int (*reserved)(void *ctx, uint32_t block); /* blocks a clone must not use (or NULL) */
    void *reserved_ctx;
};

/* Format the window (all of part) as an empty filesystem shaped like `like` (its on-disk
 * version, name, file and attribute limits) and mount it; reserved (NULL: none) keeps the
 * allocator off the blocks it names. */
int fs_format_like(struct fs **out, struct flash *window, const struct fs_partition *part,
                   enum fs_flush_mode mode, const struct lfs_fsinfo *like,
                   int (*reserved)(void *ctx, uint32_t block), void *ctx, struct error *err);
/* Free a mounted filesystem without writing anything back. */
void fs_discard(struct fs *fs);

/* "LittleFSError -2: LFS_ERR_NOENT: 'vfs:/x'" (the Python tool's text, then where); returns
 * the code. A flash error underneath littlefs is reported as itself, with LFS_ERR_IO. */
int fs_lfs_fail(struct fs *fs, int code, const char *path, struct error *err);
/* "out of memory", LFS_ERR_NOMEM. */
int fs_oom(struct error *err);

/* The littlefs form of a command-line path (absolute, "." and ".." resolved); caller frees.
 * NULL when out of memory. */
char *fs_lfs_path(const char *path);
/* a/b in fs_path_join's normal form, malloc'ed; NULL when out of memory. */
char *fs_join(const char *a, const char *b);

/* Entries of one directory. */
struct fs_entry {
    char *name;
    uint32_t size;
};

struct fs_entries {
    struct fs_entry *v;
    size_t n, cap;
};

void fs_entries_free(struct fs_entries *e);
/* The entries of a directory in littlefs order, files and subdirectories apart. Names that are
 * not one safe path component are refused, before anything uses them as a path. */
int fs_read_dir(struct fs *fs, const char *path, struct fs_entries *files,
                struct fs_entries *dirs, struct error *err);
int fs_stat_path(struct fs *fs, const char *path, struct fs_stat *st, struct error *err);
/* mkdir -p of p (littlefs form). */
int fs_mkdir_parents(struct fs *fs, const char *p, struct error *err);
/* Create or replace p's contents (from fd when fd >= 0, else from data); `what` names the
 * source in messages. See the engines (fs_lfs.c, fs_fat.c) for when a replacement is atomic. */
int fs_write_file_from(struct fs *fs, const char *p, int fd, const void *data, size_t len,
                       const char *what, struct error *err);

/* Read ahead, on a board, the blocks of the files of one directory (names in files, under p):
 * their ranges, joined where they touch, in one read each instead of one per block. */
int fs_read_ahead(struct fs *fs, const char *p, const struct fs_entries *files,
                  struct error *err);

/* FAT (fs_fat.c): mount the volume on fs's cache (called by fs_mount); its usage numbers;
 * format it as vfs.VfsFat.mkfs does and mount it. */
int fs_fat_mount(struct fs *fs, struct error *err);
int fs_fat_usage(struct fs *fs, struct fs_usage *u, struct error *err);
int fs_fat_mkfs(struct fs *fs, struct error *err);
/* Grow to block_count 4096-byte blocks (0: the partition), as far as the volume's FAT allows. */
int fs_fat_grow(struct fs *fs, uint32_t block_count, const struct fs_output *out,
                struct error *err);
/* All of fd (a local file, from its current offset) in a malloc'ed buffer; `what` names it in
 * messages. */
int fs_read_local(int fd, uint8_t **out, size_t *len, const char *what, struct error *err);
/* A local file's modification time (0 when unknown). */
int64_t fs_local_mtime(int fd);

#endif
