#include "report/report.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/check.h"

void report_table_init(struct report_table *t, const char *title, size_t columns,
                       const char *const headings[], const enum report_align align[])
{
    MP_ASSERT(columns >= 1 && columns <= REPORT_MAX_COLUMNS);
    memset(t, 0, sizeof *t);
    t->title = title;
    t->columns = columns;
    for (size_t c = 0; c < t->columns; c++) {
        t->headings[c] = headings[c];
        t->align[c] = align[c];
    }
}

void report_table_add_row(struct report_table *t, const char *const cells[])
{
    char **grown = realloc(t->cells, (t->rows + 1) * t->columns * sizeof *grown);
    if (!grown)
        abort();
    t->cells = grown;
    for (size_t c = 0; c < t->columns; c++) {
        char *copy = strdup(cells[c] ? cells[c] : "");
        if (!copy)
            abort();
        t->cells[t->rows * t->columns + c] = copy;
    }
    t->rows++;
}

void report_table_free(struct report_table *t)
{
    for (size_t i = 0; i < t->rows * t->columns; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
    t->rows = 0;
}

static void pad_cell(struct strbuf *out, const char *text, size_t width, enum report_align align)
{
    size_t len = strlen(text);
    size_t pad = width > len ? width - len : 0;
    strbuf_puts(out, " ");
    if (align == REPORT_RIGHT)
        strbuf_repeat(out, " ", pad);
    strbuf_puts(out, text);
    if (align == REPORT_LEFT)
        strbuf_repeat(out, " ", pad);
    strbuf_puts(out, " ");
}

static void rule(struct strbuf *out, const size_t *widths, size_t columns, const char *left,
                 const char *mid, const char *right)
{
    strbuf_puts(out, left);
    for (size_t c = 0; c < columns; c++) {
        strbuf_repeat(out, "─", widths[c] + 2);
        strbuf_puts(out, c + 1 < columns ? mid : right);
    }
    strbuf_puts(out, "\n");
}

void report_table_box(const struct report_table *t, struct strbuf *out)
{
    size_t widths[REPORT_MAX_COLUMNS];
    size_t total = 1;
    for (size_t c = 0; c < t->columns; c++) {
        widths[c] = strlen(t->headings[c]);
        for (size_t r = 0; r < t->rows; r++) {
            size_t len = strlen(t->cells[r * t->columns + c]);
            if (len > widths[c])
                widths[c] = len;
        }
        total += widths[c] + 3;
    }
    if (t->title) {
        size_t tlen = strlen(t->title);
        strbuf_repeat(out, " ", total > tlen ? (total - tlen) / 2 : 0);
        strbuf_printf(out, "%s\n", t->title);
    }
    rule(out, widths, t->columns, "╭", "┬", "╮");
    strbuf_puts(out, "│");
    for (size_t c = 0; c < t->columns; c++) {
        pad_cell(out, t->headings[c], widths[c], t->align[c]);
        strbuf_puts(out, "│");
    }
    strbuf_puts(out, "\n");
    rule(out, widths, t->columns, "├", "┼", "┤");
    for (size_t r = 0; r < t->rows; r++) {
        strbuf_puts(out, "│");
        for (size_t c = 0; c < t->columns; c++) {
            pad_cell(out, t->cells[r * t->columns + c], widths[c], t->align[c]);
            strbuf_puts(out, "│");
        }
        strbuf_puts(out, "\n");
    }
    rule(out, widths, t->columns, "╰", "┴", "╯");
}

void report_table_plain(const struct report_table *t, struct strbuf *out)
{
    size_t widths[REPORT_MAX_COLUMNS];
    for (size_t c = 0; c < t->columns; c++) {
        widths[c] = strlen(t->headings[c]);
        for (size_t r = 0; r < t->rows; r++) {
            size_t len = strlen(t->cells[r * t->columns + c]);
            if (len > widths[c])
                widths[c] = len;
        }
    }
    for (size_t r = 0; r <= t->rows; r++) {
        struct strbuf line = {0};
        for (size_t c = 0; c < t->columns; c++) {
            const char *text = r ? t->cells[(r - 1) * t->columns + c] : t->headings[c];
            size_t pad = widths[c] - strlen(text);
            if (c)
                strbuf_puts(&line, "  ");
            if (t->align[c] == REPORT_RIGHT)
                strbuf_repeat(&line, " ", pad);
            strbuf_puts(&line, text);
            if (t->align[c] == REPORT_LEFT && c + 1 < t->columns)
                strbuf_repeat(&line, " ", pad);
        }
        strbuf_printf(out, "%s\n", strbuf_str(&line));
        strbuf_free(&line);
    }
}

void report_human_size(int64_t size, char *out, size_t out_size)
{
    if (size < 512)
        snprintf(out, out_size, "(%.1f B)", (double)size);
    else if (size < 0x80000)
        snprintf(out, out_size, "(%.1f kB)", (double)size / 1024.0);
    else
        snprintf(out, out_size, "(%.1f MB)", (double)size / (1024.0 * 1024.0));
}

void report_hex(int64_t value, char *out, size_t out_size)
{
    if (value < 0)
        snprintf(out, out_size, "-0x%" PRIx64, (uint64_t)(-value));
    else
        snprintf(out, out_size, "0x%" PRIx64, (uint64_t)value);
}

struct ptable_cells {
    char type[16], subtype[16], offset[24], size[24], end[24], flags[24], human[32];
};

static void ptable_row_cells(const struct partition *p, struct ptable_cells *c)
{
    ptable_type_name(p->type, c->type, sizeof c->type);
    ptable_subtype_name(p->type, p->subtype, c->subtype, sizeof c->subtype);
    report_hex(p->offset, c->offset, sizeof c->offset);
    report_hex(p->size, c->size, sizeof c->size);
    report_hex((int64_t)p->offset + p->size, c->end, sizeof c->end);
    report_hex(p->flags, c->flags, sizeof c->flags);
    report_human_size(p->size, c->human, sizeof c->human);
}

void report_ptable(const struct ptable *table, int box, struct strbuf *out)
{
    MP_ASSERT(table->count >= 0 && table->count <= PTABLE_MAX_ENTRIES);
    char title[64];
    snprintf(title, sizeof title, "Partition table (flash size: %" PRIu32 "MB):",
             table->flash_size / 0x100000);
    if (!box) {
        strbuf_printf(out, "%s\n", title);
        strbuf_printf(out, "# %-16s %-8s %-8s %10s %10s %10s %5s %10s\n", "Name", "Type",
                      "SubType", "Offset", "Size", "End", "Flags", "");
        for (int i = 0; i < table->count; i++) {
            const struct partition *p = &table->parts[i];
            struct ptable_cells c;
            ptable_row_cells(p, &c);
            strbuf_printf(out, "  %-16s %-8s %-8s %10s %10s %10s %5s %10s\n", p->name, c.type,
                          c.subtype, c.offset, c.size, c.end, c.flags, c.human);
        }
        return;
    }
    static const char *const headings[] = {"Name", "Type", "SubType", "Offset",
                                           "Size", "End",  "Flags",   ""};
    static const enum report_align align[] = {REPORT_LEFT,  REPORT_LEFT,  REPORT_LEFT,
                                              REPORT_RIGHT, REPORT_RIGHT, REPORT_RIGHT,
                                              REPORT_RIGHT, REPORT_RIGHT};
    struct report_table t;
    report_table_init(&t, title, 8, headings, align);
    for (int i = 0; i < table->count; i++) {
        const struct partition *p = &table->parts[i];
        struct ptable_cells c;
        ptable_row_cells(p, &c);
        const char *cells[] = {p->name, c.type, c.subtype, c.offset, c.size, c.end, c.flags,
                               c.human};
        report_table_add_row(&t, cells);
    }
    report_table_box(&t, out);
    report_table_free(&t);
}

/* Python's floor division, used by the "kB free" figure (negative when the app overflows). */
static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

void report_app_fills(uint32_t app_size, const struct partition *app, struct strbuf *out)
{
    double percent = app->size > 0 ? 100.0 * (double)app_size / (double)app->size : 0.0;
    strbuf_printf(out, "Micropython app fills %.1f%% of %s partition (%" PRId64 " kB free)\n",
                  percent, app->name, floor_div(app->size - (int64_t)app_size, 1024));
}

/* Python's round(): halves go to the even neighbour. */
static long round_half_even(double x)
{
    double r = nearbyint(x); /* default rounding mode is round-half-even */
    return (long)r;
}

void report_df(const struct report_df_row *rows, size_t count, int box, struct strbuf *out)
{
    size_t fat = 0;
    for (size_t i = 0; i < count; i++)
        fat += rows[i].is_fat != 0;
    const char *title = fat == 0       ? "LittleFS Filesystems"
                        : fat == count ? "FAT Filesystems"
                                       : "Filesystems";
    if (!box) {
        strbuf_printf(out, "%s\n", title);
        strbuf_printf(out, "# %-14s %9s %8s %9s %5s%%\n", "Partition", "Total kB", "Used kB",
                      "Free kB", "Used");
    }
    static const char *const headings[] = {"Partition", "Total kB", "Used kB", "Free kB", "Used"};
    static const enum report_align align[] = {REPORT_LEFT, REPORT_RIGHT, REPORT_RIGHT,
                                              REPORT_RIGHT, REPORT_RIGHT};
    struct report_table t;
    report_table_init(&t, title, 5, headings, align);
    for (size_t i = 0; i < count; i++) {
        const struct report_df_row *r = &rows[i];
        /* FAT clusters may be smaller than a kB */
        uint64_t bs = r->block_size;
        uint64_t total = r->blocks_total * bs / 1024u, used = r->blocks_used * bs / 1024u;
        uint64_t free_kb = r->blocks_total >= r->blocks_used
                               ? (r->blocks_total - r->blocks_used) * bs / 1024u
                               : 0;
        long percent = r->blocks_total
                           ? round_half_even(100.0 * r->blocks_used / r->blocks_total)
                           : 0;
        if (!box) {
            strbuf_printf(out, "  %-14s %9" PRIu64 " %8" PRIu64 " %9" PRIu64 " %5ld%%\n",
                          r->partition, total, used, free_kb, percent);
            continue;
        }
        char c1[24], c2[24], c3[24], c4[24];
        snprintf(c1, sizeof c1, "%" PRIu64, total);
        snprintf(c2, sizeof c2, "%" PRIu64, used);
        snprintf(c3, sizeof c3, "%" PRIu64, free_kb);
        snprintf(c4, sizeof c4, "%ld%%", percent);
        const char *cells[] = {r->partition, c1, c2, c3, c4};
        report_table_add_row(&t, cells);
    }
    if (box)
        report_table_box(&t, out);
    report_table_free(&t);
}

void report_otadata(const struct otadata_boot *boot, const char *name, uint32_t offset, int box,
                    struct strbuf *out)
{
    char title[64];
    snprintf(title, sizeof title, "otadata (partition '%s' at 0x%" PRIx32 ")", name, offset);
    static const char *const headings[] = {"Sector", "Seq", "State", "CRC", "Boot"};
    static const enum report_align align[] = {REPORT_LEFT, REPORT_RIGHT, REPORT_LEFT, REPORT_LEFT,
                                              REPORT_LEFT};
    struct report_table t;
    report_table_init(&t, title, 5, headings, align);
    if (!box) {
        strbuf_printf(out, "%s\n", title);
        strbuf_printf(out, "# %-6s %10s  %-15s %-13s %s\n", "Sector", "Seq", "State", "CRC",
                      "Boot");
    }
    for (int i = 0; i < 2; i++) {
        const struct ota_entry *e = &boot->entries[i];
        char sector[8], seq[16], state[16], crc[32];
        snprintf(sector, sizeof sector, "%d", i);
        int erased = e->seq == OTADATA_SEQ_EMPTY && e->crc == 0xFFFFFFFFu &&
                     e->state == OTA_STATE_UNDEFINED;
        if (e->seq == OTADATA_SEQ_EMPTY)
            snprintf(seq, sizeof seq, "%s", erased ? "erased" : "none");
        else
            snprintf(seq, sizeof seq, "%" PRIu32, e->seq);
        const char *sname = otadata_state_name(e->state);
        if (sname)
            snprintf(state, sizeof state, "%s", sname);
        else
            snprintf(state, sizeof state, "0x%08" PRIx32, e->state);
        if (erased)
            snprintf(crc, sizeof crc, "-");
        else if (e->crc == otadata_crc(e->seq))
            snprintf(crc, sizeof crc, "ok");
        else
            snprintf(crc, sizeof crc, "bad (0x%08" PRIx32 ")", e->crc);
        const char *use = boot->active == i ? "active" : boot->valid[i] ? "valid" : "ignored";
        if (!box) {
            strbuf_printf(out, "  %-6s %10s  %-15s %-13s %s\n", sector, seq, state, crc, use);
            continue;
        }
        const char *cells[] = {sector, seq, state, crc, use};
        report_table_add_row(&t, cells);
    }
    if (box)
        report_table_box(&t, out);
    report_table_free(&t);
}
