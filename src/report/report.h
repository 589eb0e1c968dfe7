/* Output formatting: partition tables, littlefs usage tables and sizes, as plain text (what the
 * Python tool prints when stdout is not a terminal, and what its tests compare) or as box tables
 * (what it shows on a terminal). Every function appends to a strbuf; nothing prints. */
#ifndef MP_REPORT_REPORT_H
#define MP_REPORT_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "esp/otadata.h"
#include "esp/ptable.h"
#include "util/strbuf.h"

#define REPORT_MAX_COLUMNS 10

enum report_align { REPORT_LEFT, REPORT_RIGHT };

/* A generic table rendered in the box style: columns as wide as their widest cell, one space of
 * padding, headings aligned like their column, the title centred above. */
struct report_table {
    const char *title;
    size_t columns;
    const char *headings[REPORT_MAX_COLUMNS];
    enum report_align align[REPORT_MAX_COLUMNS];
    size_t rows;
    char **cells; /* rows * columns copies */
};

void report_table_init(struct report_table *t, const char *title, size_t columns,
                       const char *const headings[], const enum report_align align[]);
/* Add a row of `columns` cells (copied). */
void report_table_add_row(struct report_table *t, const char *const cells[]);
void report_table_box(const struct report_table *t, struct strbuf *out);
/* The same table as plain text: headings over the rows, columns two spaces apart. */
void report_table_plain(const struct report_table *t, struct strbuf *out);
void report_table_free(struct report_table *t);

/* "(24.0 kB)", "(1.9 MB)", "(100.0 B)": the human size column of the partition table. */
void report_human_size(int64_t size, char *out, size_t out_size);
/* Python's hex(): "0x1f0000", "-0x10000". */
void report_hex(int64_t value, char *out, size_t out_size);

/* "Partition table (flash size: 4MB):" followed by the table, plain or box. */
void report_ptable(const struct ptable *table, int box, struct strbuf *out);

/* "Micropython app fills 82.3% of factory partition (350 kB free)" (with newline). */
void report_app_fills(uint32_t app_size, const struct partition *app, struct strbuf *out);

/* One row of the littlefs usage table. */
struct report_df_row {
    const char *partition;
    uint32_t block_size;
    uint32_t blocks_total;
    uint32_t blocks_used;
    int is_fat; /* a FAT filesystem (blocks are its clusters) */
};
/* "LittleFS Filesystems" (or "FAT Filesystems", or "Filesystems" for both kinds) and the table,
 * plain or box. */
void report_df(const struct report_df_row *rows, size_t count, int box, struct strbuf *out);

/* Both otadata records (--ota-show): "otadata (partition 'NAME' at 0xOFFSET)" and a row per
 * sector with its sequence, state, whether its CRC matches, and which record decides the boot
 * ("active"), plain or box. */
void report_otadata(const struct otadata_boot *boot, const char *name, uint32_t offset, int box,
                    struct strbuf *out);

#endif
