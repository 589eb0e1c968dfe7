/* A whole set of table edits, applied in the Python tool's fixed order (seed-spec §7): the
 * flash size, a CSV table, a built-in or custom table, the app size, deletions, resizes,
 * renames, additions; the table is validated after each group, as the Python tool does. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "esp/csv.h"
#include "layout/layout.h"

static int64_t highest_end(const struct ptable *t)
{
    int64_t end = 0;
    for (int i = 0; i < t->count; i++)
        if ((int64_t)t->parts[i].offset + t->parts[i].size > end)
            end = (int64_t)t->parts[i].offset + t->parts[i].size;
    return end;
}

/* Validate; warnings go to the log, an error explains itself with the table. */
static int validate(const struct ptable *t, const struct log *log, int *show_table,
                    struct error *err)
{
    char warnings[2048] = "";
    if (ptable_check(t, warnings, sizeof warnings, err)) {
        if (err && err->kind == ERROR_GENERIC)
            err->kind = ERROR_PARTITION;
        *show_table = 1;
        return -1;
    }
    char *save, *line = strtok_r(warnings, "\n", &save);
    for (; line; line = strtok_r(NULL, "\n", &save))
        log_printf(log, LOG_WARNING, "%s", line);
    return 0;
}

/* An edit that failed on the working table: the table explains the error. */
static int failed_on_table(int *show_table)
{
    *show_table = 1;
    return -1;
}

/* The firmware's app must fit the first app partition of the new table. */
static int app_fits(const struct ptable *t, const struct layout_edits *e, int *show_table,
                    struct error *err)
{
    int a = ptable_first_app(t);
    if (e->app_image_size && a >= 0 && (int64_t)e->app_image_size > t->parts[a].size) {
        error_setk(err, ERROR_PARTITION,
                   "App size (%" PRIu32 ") exceeds '%s' partition size (%" PRId64
                   "):\n  Use the '-a' option to set the app partition size.",
                   e->app_image_size, t->parts[a].name, t->parts[a].size);
        return failed_on_table(show_table);
    }
    return 0;
}

static int apply_table(struct ptable *t, const struct layout_edits *e, const struct log *log,
                       int *show_table, struct error *err)
{
    if (e->builtin) {
        if (layout_builtin(t, e->builtin, e->ota_app_size, e->first_app_offset, err))
            return failed_on_table(show_table);
    } else if (layout_build(t, e->table, e->table_count, err)) {
        return failed_on_table(show_table);
    }
    if (app_fits(t, e, show_table, err))
        return -1;
    return validate(t, log, show_table, err);
}

int layout_apply_edits(struct ptable *t, const struct layout_edits *e, const struct log *log,
                       int *show_table, struct error *err)
{
    *show_table = 0;
    if (e->flash_size)
        t->flash_size = e->flash_size;
    if (e->csv) {
        if (csv_parse(e->csv, e->csv_len, e->csv_name, t->flash_size, t, err))
            return -1;
        if (validate(t, log, show_table, err))
            return -1;
    }
    if ((e->builtin || e->table_count) && apply_table(t, e, log, show_table, err))
        return -1;
    if (e->app_size) {
        if (layout_set_app_size(t, e->app_size, err))
            return failed_on_table(show_table);
        if (validate(t, log, show_table, err))
            return -1;
    }
    if (e->remove_count) {
        for (int i = 0; i < e->remove_count; i++)
            if (layout_delete(t, e->remove[i], err))
                return failed_on_table(show_table);
        if (validate(t, log, show_table, err))
            return -1;
    }
    if (e->resize_count) {
        for (int i = 0; i < e->resize_count; i++) {
            const struct layout_spec *r = &e->resize[i];
            log_printf(log, LOG_INFO, "Resizing %s partition to 0x%" PRIx64 " bytes...", r->name,
                       (uint64_t)r->size);
            if (layout_resize(t, r->name, r->size, err))
                return failed_on_table(show_table);
        }
        if (validate(t, log, show_table, err))
            return -1;
    }
    if (e->rename_count) {
        for (int i = 0; i < e->rename_count; i++) {
            const struct layout_rename *r = &e->rename[i];
            log_printf(log, LOG_INFO, "Renaming partition '%s' to '%s'...", r->from, r->to);
            if (layout_rename(t, r->from, r->to, err))
                return failed_on_table(show_table);
        }
        if (validate(t, log, show_table, err))
            return -1;
    }
    if (e->add_count) {
        for (int i = 0; i < e->add_count; i++)
            if (layout_add(t, &e->add[i], err))
                return failed_on_table(show_table);
        if (validate(t, log, show_table, err))
            return -1;
    }
    /* A smaller flash must still hold the table the other edits left (a firmware that points
     * past the end of its flash does not boot). */
    int64_t end = highest_end(t);
    if (e->flash_size && end > (int64_t)t->flash_size) {
        error_setk(err, ERROR_PARTITION,
                   "The partition table ends at 0x%" PRIx64 ", past the end of a %" PRIu32
                   "MB flash.\n  Make the partitions fit too (--resize, --delete or --table).",
                   (uint64_t)end, t->flash_size / 0x100000);
        return failed_on_table(show_table);
    }
    int resized = e->flash_size || e->csv || e->builtin || e->table_count || e->app_size ||
                  e->remove_count || e->resize_count || e->add_count;
    return resized && e->app_image_found ? app_fits(t, e, show_table, err) : 0;
}
