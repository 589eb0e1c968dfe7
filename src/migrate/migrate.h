/* Carrying the data of a flash into a new partition table: what a layout change (--resize,
 * --table, -a, --delete, --add, -f, --from-csv) or a --flash onto a board with another layout
 * does with the user's data partitions.
 *
 * Every data partition of the new table gets one action:
 *  - KEEP: same place, size and type: left alone;
 *  - GROW_FS: a littlefs grown in place: its filesystem grows with it (one superblock commit,
 *    written after the new table: until then the board has the new table over the old,
 *    smaller filesystem, which the tool still reads);
 *  - CARRY_FS: a littlefs that moves or shrinks: its whole tree (folders, files, every user
 *    attribute such as MicroPython's mtime, the on-disk version and limits) is rebuilt in the
 *    new place and size, checked against the original before anything is written;
 *  - CARRY_NVS: NVS pages copied page by page (they hold no addresses); a smaller NVS takes the
 *    pages in use plus the free page NVS needs, when they fit;
 *  - CARRY_RAW: other contents copied byte for byte into the same or a larger size (a FAT
 *    filesystem, otadata, phy data), the rest erased;
 *  - PROVIDED: (--flash) the new firmware brings the contents;
 *  - ERASE: nothing to carry (a new partition, an empty one, data dropped on request, or data
 *    that cannot be carried): erased whole, never left half stale.
 * A littlefs or FAT filesystem or an NVS whose contents do not fit, a littlefs that does not
 * mount, and files in a partition that leaves the table are refused, with the sizes, before
 * anything is written: the plan only reads.
 *
 * Writing is ordered for a board: first what lands on flash no old data uses, then what lands
 * on the old apps and bootloader, then what lands on the blocks the old layout's files still
 * use, and last the superblock pairs of the new filesystems (so a new filesystem appears only
 * when every block it refers to is written); each group is flushed (written and verified)
 * before the next, and the caller writes the table last. New filesystems are built to avoid
 * the blocks the old ones use, so normally the old files' blocks are touched only by the new
 * superblock pair; each of its blocks holds the whole new state in one commit, and where it
 * replaces the old pair, the old pair's older block is replaced first: an interruption leaves
 * the old filesystem whole (the new block not yet valid) or the new one whole, never
 * neither. */
#ifndef MP_MIGRATE_MIGRATE_H
#define MP_MIGRATE_MIGRATE_H

#include <stdint.h>

#include "esp/ptable.h"
#include "flash/flash.h"
#include "fs/fs.h"
#include "layout/layout.h"
#include "util/error.h"
#include "util/log.h"

enum migrate_action {
    MIGRATE_KEEP,
    MIGRATE_GROW_FS,
    MIGRATE_CARRY_FS,
    MIGRATE_CARRY_NVS,
    MIGRATE_CARRY_RAW,
    MIGRATE_PROVIDED,
    MIGRATE_ERASE,
};

/* How much the old layout still needs a sector until the new table is written. */
enum migrate_tier {
    MIGRATE_FREE = 0,  /* nothing: written first */
    MIGRATE_CODE = 1,  /* the old bootloader and apps (a board keeps booting its old app) */
    MIGRATE_FILES = 2, /* data the old layout's files, NVS and other carried data are in */
};

struct migrate_item {
    struct partition to; /* in the new table */
    int has_from;
    struct partition from; /* where its data was (has_from) */
    enum migrate_action action;
    const char *why;           /* ERASE: "new", "empty", "dropped", ... */
    struct fs_tree_stats tree; /* GROW_FS, CARRY_FS */
    uint32_t blocks_used;      /* GROW_FS, CARRY_FS: blocks of the old filesystem in use */
    uint32_t pages;            /* CARRY_NVS: pages in use */
};

/* A run of bytes to write (data NULL: to erase). */
struct migrate_write {
    uint32_t addr;
    uint32_t len;
    uint8_t *data;
    int after_table; /* written once the new table is: a filesystem grown in place */
};

struct migrate_list {
    struct migrate_write *v;
    int n, cap;
};

struct migrate_plan {
    struct migrate_item items[PTABLE_MAX_ENTRIES];
    int count;
    struct migrate_list writes; /* the new data, in no particular order */
    struct migrate_list old;    /* copies of the old data that the carried items came from */
    uint8_t *tier;              /* per sector of the flash: enum migrate_tier */
    uint8_t *commit;            /* per sector: a block of a new filesystem's superblock pair
                                 * (1, or 2: written after the 1s) */
    uint32_t sectors;
    int live;              /* the flash is a board's (a backup and rollback matter) */
    uint32_t last_sectors; /* sectors of new data over the old files (not counting the
                                 * new superblock pairs): 0 when old and new fit side by side */
};

struct migrate_options {
    /* --rename items: they pair old and new partitions */
    const struct layout_rename *renames;
    int rename_count;
    /* partitions whose data the user gives up (--erase-fs, --erase, --delete): never carried,
     * never refused */
    const char *const *drop;
    int drop_count;
    /* --flash: the firmware written with the new table (NULL otherwise). Its data partitions
     * that hold anything are PROVIDED by it; of the board's data only littlefs, NVS and FAT
     * are carried, the rest (otadata, phy data, ...) comes from the firmware or is erased. */
    struct flash *source;
    /* the first flash address the old layout keeps code in (the bootloader offset) */
    uint32_t bootloader_offset;
};

/* Work out what becomes of every data partition of new_table, from the data the partitions of
 * old_table hold on `flash`, and build the new contents in memory (only reads the flash). */
int migrate_plan(struct migrate_plan *plan, struct flash *flash, const struct ptable *old_table,
                 const struct ptable *new_table, const struct migrate_options *opt,
                 const struct log *log, struct error *err);
/* Add bytes of the caller's own (--flash: the firmware's bootloader and apps); data NULL
 * erases. The bytes are copied. */
int migrate_add(struct migrate_plan *plan, uint32_t addr, const uint8_t *data, uint32_t len,
                struct error *err);
/* Say what will happen (one line per partition that changes). */
void migrate_describe(const struct migrate_plan *plan, const struct log *log);
/* Write everything that goes before the new table (after_table 0) or after it (1) in the
 * order above, flushing after each group. On a resizable flash (a file) erased bytes past its
 * end are not added. */
int migrate_write(struct migrate_plan *plan, struct flash *flash, int after_table,
                  const struct log *log, struct error *err);
/* After a failed migrate_write: write the old data of every carried partition back where it
 * was (the blocks of the old files, the old NVS pages), so the old table points at its data
 * again. Returns 0 when that worked. */
int migrate_restore(struct migrate_plan *plan, struct flash *flash, struct error *err);
/* What a backup on the host holds before a board changes: a whole-flash image (address 0 up)
 * with the old bootloader region and table and the old data of every carried partition (for
 * a filesystem, the blocks it uses), erased bytes elsewhere; the tool opens it like any
 * whole-flash image (--fs ls, --fs get, --read). *data is malloc'ed; *len 0 (and *data NULL)
 * when nothing is carried. */
int migrate_backup_image(const struct migrate_plan *plan, struct flash *flash,
                         uint32_t bootloader_offset, uint8_t **data, uint32_t *len,
                         struct error *err);
void migrate_free(struct migrate_plan *plan);

#endif
