/* Editing partition tables: the built-in layouts, custom layouts, add / delete / resize / rename,
 * app-size changes, and pairing the partitions of a new table with the old ones. Pure data
 * operations on struct ptable (no I/O, no printing). Errors of kind ERROR_PARTITION are the
 * Python tool's PartitionError messages; the CLI attaches the table to them. */
#ifndef MP_LAYOUT_LAYOUT_H
#define MP_LAYOUT_LAYOUT_H

#include <stdint.h>

#include "esp/ptable.h"
#include "util/error.h"
#include "util/log.h"

#define LAYOUT_BLOCK_SIZE 0x1000u
#define LAYOUT_OTADATA_SIZE 0x2000u
#define LAYOUT_FS_ERASE_SIZE 0x4000u /* erasing this much of a data partition invalidates it */

/* One item of a layout or of --add: NAME=SUBTYPE:OFFSET:SIZE (empty subtype = infer from the
 * name, offset 0 = after the last partition, size 0 = to the end of flash). */
struct layout_spec {
    const char *name;
    const char *subtype;
    uint32_t offset;
    int64_t size;
    uint32_t flags;
};

/* Type and subtype for a partition: `subtype` text (a name or number), or when empty inferred
 * from the partition name (otadata -> ota, vfs -> fat, phy_init -> phy, else the name itself). */
int layout_subtype(const char *name, const char *subtype, uint8_t *type, uint8_t *sub,
                   struct error *err);

/* Add one partition (the rules every table edit shares): a repeated name is an error; offset 0
 * means the end of the highest partition (0x9000 for an empty table); it must fit in the flash;
 * size 0 means the rest of the flash. No alignment checks here: validation does that. */
int layout_add(struct ptable *t, const struct layout_spec *spec, struct error *err);

/* Replace the table with a list of specs (a custom --table or a built-in layout). */
int layout_build(struct ptable *t, const struct layout_spec *specs, int count, struct error *err);

/* Built-in layouts "ota", "default", "original" for the table's flash size. app_size 0 = the
 * default OTA app size for the flash size; first_app_offset sizes nvs in the OTA layout.
 * Returns -1 with an error for another name. */
int layout_builtin(struct ptable *t, const char *name, uint32_t app_size, uint32_t first_app_offset,
                   struct error *err);
/* Whether name is one of the built-in layout names. */
int layout_is_builtin(const char *name);

/* Resize (size 0 = grow to the next partition or the end of flash); later partitions move up
 * as needed and are clipped at the end of flash. */
int layout_resize(struct ptable *t, const char *name, int64_t size, struct error *err);
/* Set every app partition to size (resizing in table order). */
int layout_set_app_size(struct ptable *t, int64_t size, struct error *err);
int layout_delete(struct ptable *t, const char *name, struct error *err);
int layout_rename(struct ptable *t, const char *old_name, const char *new_name,
                  struct error *err);

/* One --rename item. */
struct layout_rename {
    const char *from;
    const char *to;
};

/* Every table edit of one run (the command line's --from-csv, --table, -a, --delete,
 * --resize, --rename, --add and the table's side of -f), as plain data. */
struct layout_edits {
    uint32_t flash_size; /* the table's new flash size; 0 = unchanged */
    const char *csv;     /* --from-csv: the file's text (NULL: none) */
    size_t csv_len;
    const char *csv_name;            /* the file's name, for messages */
    const char *builtin;             /* --table ota|default|original (NULL: none) */
    const struct layout_spec *table; /* a custom --table (when builtin is NULL) */
    int table_count;
    uint32_t ota_app_size;     /* app slots of the built-in ota layout (0: default) */
    int64_t app_size;          /* -a: every app partition (0: unchanged) */
    const char *const *remove; /* --delete */
    int remove_count;
    const struct layout_spec *resize; /* --resize: name and size (0: to the next partition) */
    int resize_count;
    const struct layout_rename *rename;
    int rename_count;
    const struct layout_spec *add; /* --add */
    int add_count;
    uint32_t first_app_offset; /* of the firmware: the ota layout keeps it */
    uint32_t app_image_size;   /* the firmware's app image: must fit a new table's app */
    int app_image_found;       /* app_image_size is a real image's (not the rest of a
                                      * file): every size change must leave room for it */
};

/* Apply the edits to t in the Python tool's order (flash size, CSV, table, app size, delete,
 * resize, rename, add), validating after each group; validation warnings and the resize and
 * rename lines go to the log. On error, *show_table is 1 when the working table explains it
 * (the CLI prints it with the message, as the Python tool does). */
int layout_apply_edits(struct ptable *t, const struct layout_edits *edits, const struct log *log,
                       int *show_table, struct error *err);

/* Which partition of old_table each partition of new_table continues (origin[i] for
 * new_table->parts[i]; -1 for a new one): the one with the same name (after the renames, which
 * are applied in order) and type; failing that, one at the same offset with the same type and
 * subtype whose name is no longer in the new table. Each old partition is the origin of at
 * most one new one. */
void layout_pair(const struct ptable *old_table, const struct ptable *new_table,
                 const struct layout_rename *renames, int rename_count,
                 int origin[PTABLE_MAX_ENTRIES]);

#endif
