/* The tool's pipeline: the steps of one run, in the fixed order the Python tool uses (the
 * order of options on the command line does not matter), on a firmware file or a device alike. */
#include "tool/run.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "esp/csv.h"
#include "esp/image.h"
#include "esp/otadata.h"
#include "firmware/firmware.h"
#include "layout/layout.h"
#include "report/report.h"
#include "ota/ota.h"
#include "tool/backup.h"
#include "tool/board.h"
#include "tool/fsglue.h"
#include "tool/nvsglue.h"
#include "tool/localfile.h"
#include "tool/mergeglue.h"
#include "tool/outname.h"
#include "tool/rawflash.h"
#include "tool/ports.h"
#include "tool/standalone.h"
#include "util/strbuf.h"

#define MIB 0x100000u

struct run {
    const struct tool_options *opt;
    struct output *out;
    const struct log *log;    /* the main logger */
    const struct log *fw_log; /* tables, data and images (--log firmware=...) */
    struct flash_image image; /* a firmware file held in memory */
    struct flash *flash;
    struct firmware fw;
    struct ptable table;      /* the working copy every edit applies to */
    char *output_name;        /* where a modified firmware file goes */
    char mp_version[64];      /* MicroPython version found in the app ("" if unknown) */
    struct ptable before;     /* the table as the run found it */
    struct layout_rename renames[PTABLE_MAX_ENTRIES]; /* --rename: pairs old and new partitions */
    int rename_count;
    int blank; /* a board without firmware: only flash addresses can be used */
    struct error *err;
};

/* --json: the writer for top-level facts, or NULL when text is printed. */
static struct json *facts(struct run *r)
{
    return r->out->json ? json_report_facts(r->out->json) : NULL;
}

static struct json *json_list(struct run *r, enum json_list list)
{
    return r->out->json ? json_report_list(r->out->json, list) : NULL;
}

/* An output file just written, with its size and SHA-256. */
static void report_output(struct run *r, const char *kind, const char *path,
                          const char *partition, const uint8_t *data, size_t len)
{
    if (r->out->json)
        json_report_output(r->out->json, kind, path, partition, data, len);
}

/* key: the JSON member ("table" as opened, "new_table" as written). */
static void print_table(struct run *r, const struct ptable *t, const char *key)
{
    struct json *j = facts(r);
    if (j) {
        json_report_table(j, key, t, firmware_app_size(&r->fw));
        return;
    }
    struct strbuf sb = {0};
    report_ptable(t, r->out->box, &sb);
    output_block(r->out, LOG_INFO, strbuf_str(&sb));
    strbuf_free(&sb);
    uint32_t app_size = firmware_app_size(&r->fw);
    int i = ptable_first_app(t);
    if (app_size && i >= 0) {
        strbuf_reset(&sb);
        report_app_fills(app_size, &t->parts[i], &sb);
        output_block(r->out, LOG_INFO, strbuf_str(&sb));
        strbuf_free(&sb);
    }
}

/* Attach the table to a table error, as the Python tool does, so the user sees what failed. */
static int table_error(struct run *r, const struct ptable *t)
{
    struct strbuf sb = {0};
    report_ptable(t, 0, &sb);
    error_append(r->err, "\n");
    error_append(r->err, strbuf_str(&sb));
    strbuf_free(&sb);
    /* drop the final newline: the error printer adds one */
    size_t n = strlen(r->err->msg);
    if (n && r->err->msg[n - 1] == '\n')
        r->err->msg[n - 1] = '\0';
    return -1;
}

static void print_loaded_warnings(struct run *r)
{
    char copy[sizeof r->fw.table_warnings];
    memcpy(copy, r->fw.table_warnings, sizeof copy);
    char *save, *line = strtok_r(copy, "\n", &save);
    for (; line; line = strtok_r(NULL, "\n", &save))
        log_printf(r->log, LOG_WARNING, "%s", line);
}

/* The way past a refused broken image, for those who know why. */
static int refusal_hint(struct run *r)
{
    error_append(r->err, "\n  Use --force to write it anyway.");
    return -1;
}

/* A file whose images are broken (cut off, bad checksum or digest) is never written anywhere
 * (an output file, a board) unless --force; showing it is fine, with a warning. */
static int check_input_images(struct run *r, int will_write)
{
    struct error why;
    if (firmware_is_live(&r->fw) || firmware_verify(&r->fw, NULL, &why) == 0)
        return 0;
    if (will_write && !r->opt->force) {
        error_setk(r->err, ERROR_VALUE, "Refusing to write a broken firmware: %s", why.msg);
        return refusal_hint(r);
    }
    log_printf(r->log, LOG_WARNING, "Warning: %s%s", why.msg,
               will_write ? " (written anyway: --force)" : "");
    return 0;
}

/* ---- opening ---- */

static void describe_app(struct run *r)
{
    const struct partition *app = firmware_first_app(&r->fw);
    if (!app || app->offset >= r->flash->size)
        return;
    uint32_t len = r->flash->size - app->offset;
    if (app->size > 0 && len > (uint64_t)app->size)
        len = (uint32_t)app->size;
    /* Searched in place where the flash is in memory (a file); on a board the search would
     * read the whole app over the serial line. */
    const uint8_t *data = flash_map(r->flash, app->offset, len);
    if (!data)
        return;
    char version[64];
    struct app_desc desc;
    int have_desc = image_app_desc(data, len, &desc) == 0;
    int have_version = image_micropython_version(data, len, version, sizeof version) == 0;
    struct json *j = facts(r);
    if (j && (have_version || have_desc)) {
        json_object_begin(j, "app");
        json_string(j, "partition", app->name);
        json_string(j, "micropython_version", have_version ? version : NULL);
        json_string(j, "idf_version", have_desc ? desc.idf_ver : NULL);
        json_string(j, "project_name", have_desc ? desc.project_name : NULL);
        json_string(j, "version", have_desc ? desc.version : NULL);
        json_string(j, "build_date", have_desc ? desc.date : NULL);
        json_string(j, "build_time", have_desc ? desc.time : NULL);
        json_uint(j, "size", firmware_app_size(&r->fw));
        json_object_end(j);
    }
    if (have_version) {
        snprintf(r->mp_version, sizeof r->mp_version, "%s", version);
        if (have_desc && desc.idf_ver[0])
            log_printf(r->log, LOG_INFO, "MicroPython %s (ESP-IDF %s, built %s %s).", version,
                       desc.idf_ver, desc.date, desc.time);
        else
            log_printf(r->log, LOG_INFO, "MicroPython %s.", version);
    } else if (have_desc && desc.version[0]) {
        log_printf(r->log, LOG_INFO, "App %s %s (ESP-IDF %s).", desc.project_name, desc.version,
                   desc.idf_ver);
    }
}

/* --json: what was opened: the name, and the chip and flash size its bootloader header gives. */
static void report_input(struct run *r)
{
    struct json *j = facts(r);
    if (!j)
        return;
    json_object_begin(j, "input");
    json_string(j, "name", r->opt->filename_given);
    json_string(j, "path", r->opt->filename);
    json_string(j, "kind", r->opt->is_device ? "device" : "file");
    json_string(j, "chip", r->fw.chip->name);
    /* a blank board has no bootloader header: its flash is the chip's */
    json_uint(j, "flash_size",
              r->blank ? r->flash->size : image_flash_size_bytes(r->fw.header.flash_size_id));
    json_object_end(j);
}

/* Whether every --read, --write and --erase item is a flash range and nothing else is asked
 * for: such a run needs no firmware on the board (a blank board can be restored). */
static int raw_only(const struct tool_options *o)
{
    const struct arglist *lists[] = {&o->read, &o->write, &o->erase};
    int items = 0;
    for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++)
        for (int i = 0; i < lists[l]->count; i++, items++)
            if (!value_is_range(lists[l]->items[i].fields[0]))
                return 0;
    return items > 0 && !o->flash_size && !o->from_csv && !o->table.count && !o->app_size &&
           !o->delete_.count && !o->add.count && !o->resize.count && !o->rename.count &&
           !o->erase_fs.count && !o->ota_update && !o->check_app && !o->fs_count &&
           !o->extract_app && !o->flash_device && !o->ota_show && !o->ota_select && !o->ota_erase;
}

static int open_firmware(struct run *r)
{
    const struct tool_options *o = r->opt;
    int merge = mergeglue_wanted(o);
    if (!merge && (o->flash_mode || o->flash_freq))
        return error_setk(r->err, ERROR_VALUE, "%s needs --merge or a flasher_args.json",
                          o->flash_mode ? "--flash-mode" : "--flash-freq");
    if (o->merge.count && o->filename[0])
        return error_setk(r->err, ERROR_VALUE,
                          "--merge builds the firmware itself: give no FILENAME ('%s'); -o "
                          "names the merged file, --flash writes it to a board",
                          o->filename);
    log_printf(r->log, LOG_INFO, "Opening %s...", o->merge.count ? "--merge" : o->filename);
    if (o->is_device) {
        if (board_open(r->opt, r->out, &r->flash, &r->fw, raw_only(o), &r->blank, r->err))
            return -1;
        report_input(r);
        return 0;
    }
    if (merge ? mergeglue_open(o, r->log, &r->image, r->err)
              : firmware_open_file(o->filename, &r->image, r->err))
        return -1;
    r->flash = &r->image.flash;
    if (firmware_load(&r->fw, r->flash, NULL, r->err))
        return error_prefix(r->err, "%s", o->merge.count ? "--merge" : o->filename);
    report_input(r);
    log_printf(r->log, LOG_INFO, "Found %s firmware file (%" PRIu32 "MB flash).",
               r->fw.chip->name, r->fw.table.flash_size / MIB);
    return 0;
}

/* ---- extract app (-x) ---- */

static uint32_t trimmed_length(const uint8_t *data, uint32_t len, uint32_t block)
{
    uint32_t n = len;
    while (n && data[n - 1] == 0xFF)
        n--;
    uint32_t rounded = (n + block - 1) / block * block;
    return rounded < len ? rounded : len;
}

static int extract_app(struct run *r)
{
    const struct partition *app = firmware_first_app(&r->fw);
    if (!app)
        return error_setk(r->err, ERROR_PARTITION, "No app partition found in table.");
    char *name = outname_app(r->opt);
    if (!name)
        return error_setk(r->err, ERROR_OS, "out of memory");
    log_printf(r->log, LOG_ACTION, "Writing micropython app image file: %s...", name);
    const uint8_t *data;
    uint8_t *owned;
    uint32_t len;
    int rc = firmware_view_partition(&r->fw, app, &data, &len, &owned, r->err);
    if (rc == 0 && !r->opt->force) {
        char what[64];
        snprintf(what, sizeof what, "Partition '%s'", app->name);
        rc = firmware_image_verify(data, len, r->fw.header.chip_id, 0, what, r->err);
        if (rc)
            refusal_hint(r);
    }
    if (rc == 0) {
        len = trimmed_length(data, len, 16);
        rc = localfile_write_atomic(name, data, len, r->opt->filename, r->err);
        if (rc == 0)
            report_output(r, "app", name, app->name, data, len);
        free(owned);
    }
    free(name);
    return rc;
}

/* ---- -o FILE on a board: the whole flash, before anything changes ---- */

static int save_whole_flash(struct run *r)
{
    uint32_t size = r->flash->size;
    log_printf(r->log, LOG_ACTION,
               "Saving the whole flash of the device (%" PRIu32 "MB) into '%s'...", size / MIB,
               r->opt->output);
    uint8_t *data = malloc(size);
    if (!data)
        return error_setk(r->err, ERROR_OS, "out of memory for a %" PRIu32 "-byte flash", size);
    int rc = flash_read(r->flash, 0, data, size, r->err);
    if (rc == 0)
        rc = localfile_write_atomic(r->opt->output, data, size, NULL, r->err);
    if (rc == 0)
        report_output(r, "flash_backup", r->opt->output, NULL, data, size);
    free(data);
    if (rc == 0)
        log_printf(r->log, LOG_INFO, "Wrote the whole flash to '%s'.", r->opt->output);
    return rc;
}

/* ---- table edits (steps 9-16) ---- */

static int edit_table(struct run *r)
{
    const struct tool_options *o = r->opt;
    struct ptable *t = &r->table;
    struct layout_edits e;
    memset(&e, 0, sizeof e);
    const struct partition *app0 = firmware_first_app(&r->fw);
    e.first_app_offset = app0 ? app0->offset : PTABLE_APP_ALIGN;
    e.app_image_size = firmware_app_size(&r->fw);
    e.app_image_found = firmware_app_found(&r->fw);
    if (o->flash_size) {
        if (o->flash_size < 0 || o->flash_size > 256 * (int64_t)MIB)
            return error_setk(r->err, ERROR_VALUE, "Invalid flash size: 0x%" PRIx64 ".",
                              (uint64_t)o->flash_size);
        uint32_t size = (uint32_t)o->flash_size;
        if (!flash_can(r->flash, FLASH_CAP_RESIZABLE) && size > r->flash->size)
            return error_setk(r->err, ERROR_VALUE,
                              "Selected flash size is larger than device flash size "
                              "(%" PRIu32 "MB > %" PRIu32 "MB).",
                              size / MIB, r->flash->size / MIB);
        if (size != t->flash_size) {
            if (firmware_set_flash_size(&r->fw, size, r->err))
                return -1;
            e.flash_size = size;
        }
    }
    char *csv = NULL;
    if (o->from_csv) {
        if (localfile_read(o->from_csv, &csv, &e.csv_len, r->err))
            return -1;
        e.csv = csv;
        e.csv_name = o->from_csv;
    }
    char layout_name[64] = "";
    struct layout_spec table[PTABLE_MAX_ENTRIES];
    if (o->table.count) {
        partlist_format(&o->table, layout_name, sizeof layout_name);
        if (layout_is_builtin(layout_name)) {
            e.builtin = layout_name;
            e.ota_app_size = o->app_size > 0 ? (uint32_t)o->app_size : 0;
        } else {
            int n = o->table.count < PTABLE_MAX_ENTRIES ? o->table.count : PTABLE_MAX_ENTRIES;
            for (int i = 0; i < n; i++) {
                const struct partspec *ps = &o->table.items[i];
                table[i] = (struct layout_spec){ps->name, ps->subtype, (uint32_t)ps->offset,
                                                ps->size, 0};
            }
            e.table = table;
            e.table_count = n;
        }
    }
    e.app_size = o->app_size;
    const char *removed[PTABLE_MAX_ENTRIES];
    e.remove_count = o->delete_.count < PTABLE_MAX_ENTRIES ? o->delete_.count
                                                           : PTABLE_MAX_ENTRIES;
    for (int i = 0; i < e.remove_count; i++)
        removed[i] = o->delete_.items[i].fields[0];
    e.remove = removed;
    struct layout_spec resized[PTABLE_MAX_ENTRIES];
    e.resize_count = o->resize.count < PTABLE_MAX_ENTRIES ? o->resize.count : PTABLE_MAX_ENTRIES;
    for (int i = 0; i < e.resize_count; i++)
        resized[i] = (struct layout_spec){o->resize.items[i].name, "", 0, o->resize.items[i].size,
                                          0};
    e.resize = resized;
    /* A malformed rename item stops the renames there, after the ones before it. */
    const struct argitem *bad_rename = NULL;
    for (int i = 0; i < o->rename.count && i < PTABLE_MAX_ENTRIES; i++) {
        const struct argitem *it = &o->rename.items[i];
        if (it->count != 2) {
            bad_rename = it;
            break;
        }
        r->renames[e.rename_count++] = (struct layout_rename){it->fields[0], it->fields[1]};
    }
    r->rename_count = e.rename_count;
    e.rename = r->renames;
    struct layout_spec added[PTABLE_MAX_ENTRIES];
    e.add_count = bad_rename                          ? 0
                  : o->add.count < PTABLE_MAX_ENTRIES ? o->add.count
                                                      : PTABLE_MAX_ENTRIES;
    for (int i = 0; i < e.add_count; i++) {
        const struct partspec *ps = &o->add.items[i];
        added[i] = (struct layout_spec){ps->name, ps->subtype, (uint32_t)ps->offset, ps->size, 0};
    }
    e.add = added;
    int show_table;
    int rc = layout_apply_edits(t, &e, r->log, &show_table, r->err);
    free(csv);
    if (rc)
        return show_table ? table_error(r, t) : -1;
    if (bad_rename)
        return error_setk(r->err, ERROR_VALUE, "--rename: '%s' must be OLD=NEW",
                          bad_rename->fields[0]);
    return 0;
}

/* ---- writing the new table (step 18) ---- */

static int table_changed(struct run *r)
{
    uint8_t a[PTABLE_SIZE], b[PTABLE_SIZE];
    if (ptable_encode(&r->fw.table, a, NULL) || ptable_encode(&r->table, b, NULL))
        return 1;
    return memcmp(a, b, sizeof a) != 0;
}

/* The partitions whose data the user gives up: --erase-fs, --erase and --delete. */
static int dropped_names(const struct tool_options *o, const char **names, int max)
{
    int n = 0;
    const struct arglist *lists[] = {&o->erase_fs, &o->erase, &o->delete_};
    for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++)
        for (int i = 0; i < lists[l]->count && n < max; i++)
            names[n++] = lists[l]->items[i].fields[0];
    return n;
}

static int write_table(struct run *r)
{
    /* Plan first: what becomes of every data partition (refused here, before anything is
     * written, when files or NVS data would not fit). */
    const char *drop[3 * PTABLE_MAX_ENTRIES];
    struct migrate_options mo = {
        .renames = r->renames,
        .rename_count = r->rename_count,
        .drop = drop,
        .drop_count = dropped_names(r->opt, drop, 3 * PTABLE_MAX_ENTRIES),
    };
    struct migrate_plan plan;
    if (firmware_plan_layout(&r->fw, &r->table, &mo, &plan, r->fw_log, r->err))
        return r->err->kind == ERROR_PARTITION && !strchr(r->err->msg, '\n')
                   ? table_error(r, &r->table)
                   : -1;
    print_table(r, &r->table, "new_table");
    int live = firmware_is_live(&r->fw);
    const char *target = live ? r->opt->filename : r->output_name;
    log_printf(r->log, LOG_ACTION, "Writing to %s %s: %s...", r->fw.chip->name,
               live ? "device" : "firmware file", target);
    /* Data first, table last (see src/migrate): an interrupted write leaves the old table
     * over its data, or the new table over the new data. */
    struct board_backup keep;
    struct firmware_backup backup = board_backup_callbacks(&keep, r->fw_log);
    int rc = firmware_apply_layout(&r->fw, &r->table, &plan, live ? &backup : NULL, r->fw_log,
                                   r->err);
    migrate_free(&plan);
    if (rc)
        return -1;
    struct partition boot;
    firmware_partition(&r->fw, &r->table, "bootloader", &boot, NULL);
    if (firmware_check_image(&r->fw, &boot, 0, LOG_WARNING, r->fw_log, r->err) < 0)
        return -1;
    for (int i = 0; i < r->table.count; i++) {
        const struct partition *p = &r->table.parts[i];
        if (p->type == PART_TYPE_APP && p->offset < r->flash->size &&
            firmware_check_image(&r->fw, p, 0, LOG_WARNING, r->fw_log, r->err) < 0)
            return -1;
    }
    print_loaded_warnings(r);
    r->table = r->fw.table;
    return 0;
}

/* ---- partition contents (steps 19-22) ---- */

static int lookup(struct run *r, const char *name, struct partition *p)
{
    if (firmware_partition(&r->fw, NULL, name, p, r->err))
        return table_error(r, &r->fw.table);
    return 0;
}

static void report_erased(struct run *r, const struct partition *p, uint64_t len,
                          const char *what)
{
    struct json *j = json_list(r, JSON_LIST_PARTITIONS_ERASED);
    if (!j)
        return;
    json_object_begin(j, NULL);
    json_string(j, "partition", p->name);
    json_string(j, "what", what);
    json_uint(j, "offset", p->offset);
    json_uint(j, "size", len);
    json_object_end(j);
}

/* A --read, --write or --erase item that names a flash range rather than a partition (a
 * partition of that name wins). */
static int is_range_item(struct run *r, const struct argitem *it)
{
    struct partition p;
    return value_is_range(it->fields[0]) &&
           firmware_partition(&r->fw, NULL, it->fields[0], &p, NULL) != 0;
}

/* After a range write or erase over the bootloader header or the table: what is there now. */
static int reload_firmware(struct run *r)
{
    struct error why;
    int live = firmware_is_live(&r->fw);
    const struct chip *chip = live ? board_chip(r->flash) : NULL;
    struct firmware fresh;
    if (firmware_load(&fresh, r->flash, chip, &why) == 0) {
        r->fw = fresh;
        r->blank = 0;
    } else if (live) {
        log_printf(r->log, LOG_WARNING, "The flash holds no firmware now: %s", why.msg);
        board_blank_firmware(&r->fw, r->flash, chip);
        r->blank = 1;
    } else {
        *r->err = why;
        return error_prefix(r->err, "The firmware file no longer holds a firmware");
    }
    r->table = r->fw.table;
    return 0;
}

/* --json facts of the flash range forms: the file a read saved, and the range a write or an
 * erase changed (as partition "flash"). */
static void raw_saved(void *ctx, const char *file, const uint8_t *data, uint32_t len)
{
    report_output(ctx, "flash", file, NULL, data, len);
}

static void raw_changed(void *ctx, const char *file, uint32_t offset, uint32_t len)
{
    struct run *r = ctx;
    struct json *j = json_list(r,
                               file ? JSON_LIST_PARTITIONS_WRITTEN : JSON_LIST_PARTITIONS_ERASED);
    if (!j)
        return;
    json_object_begin(j, NULL);
    json_string(j, "partition", "flash");
    if (file)
        json_string(j, "file", file);
    else
        json_string(j, "what", "range");
    json_uint(j, "offset", offset);
    json_uint(j, "size", len);
    json_object_end(j);
}

static struct rawflash_options raw_options(struct run *r)
{
    return (struct rawflash_options){.force = r->opt->force,
                                     .trim = r->opt->trim,
                                     .trimblocks = r->opt->trimblocks,
                                     .protect = r->opt->filename,
                                     .saved = raw_saved,
                                     .changed = raw_changed,
                                     .ctx = r};
}

static int erase_partitions(struct run *r)
{
    for (int i = 0; i < r->opt->erase.count; i++) {
        struct partition p;
        const struct argitem *it = &r->opt->erase.items[i];
        const char *name = it->fields[0];
        if (is_range_item(r, it)) {
            struct flash_range range;
            struct rawflash_options ro = raw_options(r);
            int rc = value_parse_range(it, 0, "--erase", &range, NULL, r->err);
            if (rc == 0)
                rc = rawflash_erase(&r->fw, &range, &ro, r->log, r->err);
            if (rc < 0 || (rc > 0 && reload_firmware(r)))
                return -1;
            continue;
        }
        if (lookup(r, name, &p))
            return -1;
        log_printf(r->log, LOG_ACTION, "Erasing partition '%s'...", name);
        if (firmware_erase_partition(&r->fw, &p, r->fw_log, r->err))
            return -1;
        report_erased(r, &p, (uint64_t)(p.size > 0 ? p.size : 0), "partition");
    }
    return 0;
}

static int is_fs_partition(const struct partition *p)
{
    return p->type == PART_TYPE_DATA &&
           (p->subtype == PART_SUBTYPE_DATA_FAT || p->subtype == PART_SUBTYPE_DATA_LITTLEFS);
}

/* --erase-fs names, checked before anything changes: a filesystem partition of the new table,
 * or a partition the layout change drops (its data is then not carried). */
static int check_erase_fs(struct run *r)
{
    for (int i = 0; i < r->opt->erase_fs.count; i++) {
        const char *name = r->opt->erase_fs.items[i].fields[0];
        int n = ptable_find(&r->table, name);
        if (n < 0 && ptable_find(&r->fw.table, name) >= 0)
            continue;
        struct partition p;
        if (firmware_partition(&r->fw, &r->table, name, &p, r->err))
            return table_error(r, &r->table);
        if (!is_fs_partition(&p))
            return error_setk(r->err, ERROR_PARTITION, "partition '%s' is not a fs partition.",
                              name);
    }
    return 0;
}

static int erase_filesystems(struct run *r)
{
    for (int i = 0; i < r->opt->erase_fs.count; i++) {
        struct partition p;
        const char *name = r->opt->erase_fs.items[i].fields[0];
        if (ptable_find(&r->fw.table, name) < 0 && ptable_find(&r->before, name) >= 0) {
            log_printf(r->log, LOG_INFO, "Partition '%s' is no longer in the table.", name);
            continue;
        }
        if (lookup(r, name, &p))
            return -1;
        if (!is_fs_partition(&p))
            return error_setk(r->err, ERROR_PARTITION, "partition '%s' is not a fs partition.",
                              name);
        log_printf(r->log, LOG_ACTION, "Erasing filesystem on partition '%s'...", name);
        if (p.offset >= r->flash->size)
            continue;
        uint32_t len = p.size < LAYOUT_FS_ERASE_SIZE ? (uint32_t)p.size : LAYOUT_FS_ERASE_SIZE;
        if (flash_erase(r->flash, p.offset, len, r->err))
            return -1;
        report_erased(r, &p, len, "filesystem");
    }
    return 0;
}

static void thousands(uint64_t v, char *out, size_t size)
{
    char digits[32];
    snprintf(digits, sizeof digits, "%" PRIu64, v);
    size_t n = strlen(digits), k = 0;
    for (size_t i = 0; i < n && k + 2 < size; i++) {
        if (i && (n - i) % 3 == 0)
            out[k++] = ',';
        out[k++] = digits[i];
    }
    out[k] = '\0';
}

static int read_partitions(struct run *r)
{
    for (int i = 0; i < r->opt->read.count; i++) {
        const struct argitem *it = &r->opt->read.items[i];
        if (is_range_item(r, it)) {
            struct flash_range range;
            const char *file;
            struct rawflash_options ro = raw_options(r);
            if (value_parse_range(it, 1, "--read", &range, &file, r->err) ||
                rawflash_read(&r->fw, &range, file, &ro, r->log, r->err))
                return -1;
            continue;
        }
        if (it->count != 2)
            return error_setk(r->err, ERROR_VALUE, "--read: '%s' must be NAME=FILE",
                              it->fields[0]);
        struct partition p;
        if (lookup(r, it->fields[0], &p))
            return -1;
        log_printf(r->log, LOG_ACTION, "Saving partition '%s' into '%s'...", it->fields[0],
                   it->fields[1]);
        const uint8_t *data;
        uint8_t *owned;
        uint32_t len;
        if (firmware_view_partition(&r->fw, &p, &data, &len, &owned, r->err))
            return -1;
        if (r->opt->trimblocks)
            len = trimmed_length(data, len, 0x1000);
        if (r->opt->trim)
            len = trimmed_length(data, len, 16);
        int rc = localfile_write_atomic(it->fields[1], data, len, r->opt->filename, r->err);
        if (rc == 0)
            report_output(r, "partition", it->fields[1], p.name, data, len);
        free(owned);
        if (rc)
            return -1;
        char n[32];
        thousands(len, n, sizeof n);
        log_printf(r->log, LOG_INFO, "Wrote %s bytes to '%s'.", n, it->fields[1]);
    }
    return 0;
}

static int check_write_data(struct run *r, const struct partition *p, const uint8_t *data,
                            size_t len)
{
    if (strcmp(p->name, "partition_table") == 0) {
        struct ptable t;
        if (ptable_parse(data, len, &t, r->err))
            return error_prefix(r->err, "Attempt to write an invalid partition table");
        return 0;
    }
    if (p->type != PART_TYPE_APP)
        return 0;
    struct image_header h;
    if (image_header_parse(data, len, &h, NULL) || h.chip_id != r->fw.header.chip_id)
        return error_setk(r->err, ERROR_VALUE, "Attempt to write invalid app image to '%s'.",
                          p->name);
    if (len > UINT32_MAX)
        return error_setk(r->err, ERROR_VALUE, "Attempt to write a %zu-byte image to '%s'.", len,
                          p->name);
    struct error why;
    struct app_desc desc;
    int broken = firmware_image_verify(data, (uint32_t)len, r->fw.header.chip_id, 0, "the image",
                                       &why);
    /* an app has its descriptor at 0x20; a whole firmware starts with its bootloader */
    if (!broken && strcmp(p->name, "bootloader") != 0 && image_app_desc(data, len, &desc))
        broken = error_setk(&why, ERROR_VALUE,
                            "not an app image (no app descriptor at 0x20): give the app "
                            "(.app-bin), not a whole firmware");
    if (broken) {
        if (!r->opt->force) {
            error_setk(r->err, ERROR_VALUE, "Attempt to write invalid app image to '%s': %s",
                       p->name, why.msg);
            return refusal_hint(r);
        }
        log_printf(r->log, LOG_WARNING, "'%s': %s (written anyway: --force)", p->name, why.msg);
    }
    if (strcmp(p->name, "bootloader") == 0 && h.flash_size_id != r->fw.header.flash_size_id)
        log_printf(r->log, LOG_WARNING,
                   "'bootloader': image flash size (%" PRIu32 "MB) does not match bootloader "
                   "(%" PRIu32 "MB).",
                   image_flash_size_bytes(h.flash_size_id) / MIB,
                   image_flash_size_bytes(r->fw.header.flash_size_id) / MIB);
    return 0;
}

static int write_partitions(struct run *r)
{
    for (int i = 0; i < r->opt->write.count; i++) {
        const struct argitem *it = &r->opt->write.items[i];
        if (is_range_item(r, it)) {
            struct flash_range range;
            const char *file;
            struct rawflash_options ro = raw_options(r);
            int rc = value_parse_range(it, 1, "--write", &range, &file, r->err);
            if (rc == 0)
                rc = rawflash_write(&r->fw, &range, file, &ro, r->log, r->err);
            if (rc < 0 || (rc > 0 && reload_firmware(r)))
                return -1;
            continue;
        }
        if (it->count != 2)
            return error_setk(r->err, ERROR_VALUE, "--write: '%s' must be NAME=FILE",
                              it->fields[0]);
        struct partition p;
        if (lookup(r, it->fields[0], &p))
            return -1;
        log_printf(r->log, LOG_ACTION, "Writing partition '%s' from '%s'...", it->fields[0],
                   it->fields[1]);
        char *data;
        size_t len;
        if (localfile_read(it->fields[1], &data, &len, r->err))
            return -1;
        int rc = check_write_data(r, &p, (uint8_t *)data, len);
        if (rc == 0 && len > UINT32_MAX)
            rc = error_setk(r->err, ERROR_VALUE, "%s is too large", it->fields[1]);
        if (rc == 0)
            rc = firmware_write_partition(&r->fw, &p, (uint8_t *)data, (uint32_t)len, r->fw_log,
                                          r->err);
        free(data);
        if (rc)
            return -1;
        log_printf(r->log, LOG_INFO, "Wrote 0x%zx bytes to partition '%s'.", len, it->fields[0]);
        struct json *j = json_list(r, JSON_LIST_PARTITIONS_WRITTEN);
        if (j) {
            json_object_begin(j, NULL);
            json_string(j, "partition", p.name);
            json_string(j, "file", it->fields[1]);
            json_uint(j, "offset", p.offset);
            json_uint(j, "size", len);
            json_object_end(j);
        }
        if (strcmp(p.name, "partition_table") == 0 || strcmp(p.name, "bootloader") == 0) {
            /* later steps must see what is now on flash */
            if (firmware_load(&r->fw, r->flash, NULL, r->err))
                return -1;
            r->table = r->fw.table;
        }
    }
    return 0;
}

/* ---- --check-app (step 24) ---- */

static const char *image_state_name(int state)
{
    return state == FIRMWARE_IMAGE_OK ? "ok" : state == FIRMWARE_IMAGE_NONE ? "none" : "broken";
}

/* One image check of --check-app; with --json its record goes to *list (the lines the check
 * printed with it). Returns the state or -1. */
static int check_one(struct run *r, const struct partition *p, struct json *list)
{
    struct json_report *jr = r->out->json;
    if (jr)
        json_report_capture_begin(jr);
    int state = firmware_check_image(&r->fw, p, 1, LOG_ERROR, r->fw_log, r->err);
    if (jr && state >= 0) {
        json_object_begin(list, NULL);
        json_string(list, "partition", p->name);
        json_uint(list, "offset", p->offset);
        json_int(list, "size", p->size);
        json_string(list, "state", image_state_name(state));
        json_report_capture_end(jr, list, "messages");
        json_object_end(list);
    }
    if (jr)
        json_report_capture_stop(jr);
    return state;
}

static int check_apps(struct run *r)
{
    /* Failures are errors (shown with -q too, and the exit status says so): a broken image
     * anywhere, a missing bootloader, or no image in the partition that boots. */
    int failures = 0;
    struct strbuf rec = {0};
    struct json list;
    json_init_inside(&list, &rec, 0);
    struct partition boot;
    firmware_partition(&r->fw, NULL, "bootloader", &boot, NULL);
    int state = check_one(r, &boot, &list);
    if (state < 0)
        goto fail;
    failures += state != FIRMWARE_IMAGE_OK;
    struct ota_status st;
    struct error ota_err;
    int ota_rc = ota_status_read(&r->fw, &st, &ota_err);
    const struct partition *app0 = firmware_first_app(&r->fw);
    const char *boots = ota_rc == 0 && st.has_otadata ? st.current_name : app0 ? app0->name : "";
    for (int i = 0; i < r->fw.table.count; i++) {
        const struct partition *p = &r->fw.table.parts[i];
        if (p->type != PART_TYPE_APP || p->offset >= r->flash->size)
            continue;
        state = check_one(r, p, &list);
        if (state < 0)
            goto fail;
        if (state == FIRMWARE_IMAGE_NONE && strcmp(p->name, boots) == 0) {
            log_printf(r->log, LOG_ERROR, "Partition '%s': the app that boots has no image.",
                       p->name);
            failures++;
        }
        failures += state == FIRMWARE_IMAGE_BROKEN;
    }
    if (ota_rc) {
        *r->err = ota_err;
        goto fail;
    }
    if (st.has_otadata) {
        log_printf(r->log, LOG_INFO, "Current OTA boot partition: %s", st.current_name);
        log_printf(r->log, LOG_INFO, "Next OTA boot partition: %s", st.next_name);
    }
    struct json *j = facts(r);
    if (j) {
        json_object_begin(j, "check_app");
        json_bool(j, "ok", failures == 0);
        json_int(j, "problems", failures);
        json_string(j, "boot_partition", boots[0] ? boots : NULL);
        json_array_items(j, "partitions", &rec);
        json_object_end(j);
    }
    strbuf_free(&rec);
    if (failures)
        return error_fail(r->err, ERROR_VERIFY, ERROR_VALUE,
                          "App check failed: %d problem%s (see above).", failures,
                          failures == 1 ? "" : "s");
    return 0;
fail:
    strbuf_free(&rec);
    return -1;
}

/* ---- --ota-update (step 23) ---- */

static int run_ota_update(struct run *r)
{
    log_printf(r->log, LOG_ACTION, "Performing OTA firmware upgrade from '%s'...",
               r->opt->ota_update);
    char *data;
    size_t len;
    if (localfile_read(r->opt->ota_update, &data, &len, r->err))
        return -1;
    /* checked here first to say how a broken app could be installed anyway */
    struct error why;
    int rc = r->opt->force ? 0 : ota_check_app(&r->fw, (uint8_t *)data, len, &why);
    if (rc > 0) {
        error_setk(r->err, ERROR_VALUE, "Refusing to install a broken app: %s", why.msg);
        refusal_hint(r);
    } else {
        rc = ota_update(&r->fw, (uint8_t *)data, len, !r->opt->no_rollback, r->opt->force,
                        output_log(r->out, LOGGER_OTA), r->err);
    }
    struct json *j = facts(r);
    if (rc == 0 && j) {
        json_object_begin(j, "ota_update");
        json_string(j, "file", r->opt->ota_update);
        json_uint(j, "size", len);
        json_bool(j, "rollback", !r->opt->no_rollback);
        json_object_end(j);
    }
    free(data);
    return rc;
}

/* ---- otadata: --ota-select, --ota-erase, --ota-show ---- */

/* Options that each decide which app boots: one per run, checked before anything changes. */
static int check_ota_options(struct run *r)
{
    const struct tool_options *o = r->opt;
    const char *given[3];
    int n = 0;
    if (o->ota_update)
        given[n++] = "--ota-update";
    if (o->ota_select)
        given[n++] = "--ota-select";
    if (o->ota_erase)
        given[n++] = "--ota-erase";
    if (n > 1)
        return error_setk(r->err, ERROR_VALUE,
                          "%s and %s both choose the app that boots: give one of them.", given[0],
                          given[1]);
    return 0;
}

static int show_otadata(struct run *r)
{
    struct ota_status st;
    if (ota_status_read(&r->fw, &st, r->err))
        return -1;
    if (!st.has_otadata)
        return error_setk(r->err, ERROR_PARTITION,
                          "No otadata partition: the firmware has no OTA layout (see --table "
                          "ota).");
    struct json *j = facts(r);
    if (j) {
        json_object_begin(j, "otadata");
        json_string(j, "partition", st.otadata.name);
        json_uint(j, "offset", st.otadata.offset);
        json_array_begin(j, "records");
        for (int i = 0; i < 2; i++) {
            const struct ota_entry *e = &st.boot.entries[i];
            json_object_begin(j, NULL);
            json_int(j, "sector", i);
            json_uint(j, "seq", e->seq);
            json_uint(j, "state_id", e->state);
            json_string(j, "state", otadata_state_name(e->state));
            json_bool(j, "crc_ok", e->crc == otadata_crc(e->seq));
            json_bool(j, "valid", st.boot.valid[i]);
            json_bool(j, "active", st.boot.active == i);
            json_object_end(j);
        }
        json_array_end(j);
        json_string(j, "current", st.current_name);
        json_string(j, "next", st.next_name);
        json_object_end(j);
        return 0;
    }
    struct strbuf sb = {0};
    report_otadata(&st.boot, st.otadata.name, st.otadata.offset, r->out->box, &sb);
    output_block(r->out, LOG_OUTPUT, strbuf_str(&sb));
    strbuf_free(&sb);
    log_printf(r->log, LOG_OUTPUT, "Current OTA boot partition: %s", st.current_name);
    log_printf(r->log, LOG_OUTPUT, "Next OTA boot partition: %s", st.next_name);
    return 0;
}

/* ---- the run ---- */

static int write_output(struct run *r)
{
    if (!r->opt->force && firmware_verify(&r->fw, NULL, r->err)) {
        error_prefix(r->err, "Refusing to write a broken firmware");
        return refusal_hint(r);
    }
    uint32_t len;
    const uint8_t *bytes = flash_image_bytes(&r->image, &len);
    if (localfile_write_atomic(r->output_name, bytes, len, r->opt->filename, r->err))
        return -1;
    report_output(r, "firmware", r->output_name, NULL, bytes, len);
    return 0;
}

static int run_steps(struct run *r)
{
    const struct tool_options *o = r->opt;
    log_printf(r->log, LOG_INFO, "Running mp-image-tool-esp32 v%s (native).", TOOL_VERSION);
    if (o->list_ports)
        return ports_list(r->out, r->err);
    if (o->info)
        return board_info(o, r->out, r->err);
    int handled, rc = standalone_run(o, r->out, &handled, r->err);
    if (rc || handled)
        return rc;
    if (!o->is_device && !o->extract_app && outname_firmware(o, &r->output_name))
        return error_setk(r->err, ERROR_OS, "out of memory");
    if (check_ota_options(r))
        return -1;
    if (r->output_name && localfile_same(r->output_name, o->filename))
        return error_setk(r->err, ERROR_OS, "'%s' and '%s' are the same file", o->filename,
                          r->output_name);
    if (open_firmware(r))
        return -1;
    if (!r->blank) {
        describe_app(r);
        print_table(r, &r->fw.table, "table");
        print_loaded_warnings(r);
    }
    if (check_input_images(r, r->output_name != NULL || o->flash_device != NULL))
        return -1;
    int live = firmware_is_live(&r->fw);
    if (live && !r->blank && o->fs_count == 0 && fs_df_report(&r->fw, r->out, r->err))
        return -1;
    if (o->extract_app)
        return extract_app(r);
    if (live && o->output && save_whole_flash(r))
        return -1;
    r->table = r->before = r->fw.table;
    if (edit_table(r) || check_erase_fs(r))
        return -1;
    if (live ? table_changed(r) || firmware_header_modified(&r->fw) : r->output_name != NULL) {
        if (write_table(r))
            return -1;
    }
    if (o->erase.count && erase_partitions(r))
        return -1;
    if (o->erase_fs.count && erase_filesystems(r))
        return -1;
    if (o->read.count && read_partitions(r))
        return -1;
    if (o->write.count && write_partitions(r))
        return -1;
    if (o->ota_update && run_ota_update(r))
        return -1;
    if (o->ota_select &&
        ota_select(&r->fw, o->ota_select, !o->no_rollback, o->force, r->log, r->err))
        return -1;
    if (o->ota_erase && ota_erase(&r->fw, r->log, r->err))
        return -1;
    if (o->ota_show && show_otadata(r))
        return -1;
    if (o->check_app && check_apps(r))
        return -1;
    for (int i = 0; i < o->fs_count; i++) {
        int changed = 0;
        if (fs_command(&r->fw, r->mp_version[0] ? r->mp_version : NULL, &o->fs[i],
                       live ? NULL : o->filename, r->out, &changed, r->err))
            return -1;
    }
    for (int i = 0; i < o->nvs_count; i++) {
        int changed = 0;
        if (nvs_command(&r->fw, &o->nvs[i], live ? NULL : o->filename, r->out, &changed, r->err))
            return -1;
    }
    /* "Writing to ..." was announced when the name was chosen: always deliver the file. */
    if (!live && r->output_name) {
        if (write_output(r))
            return -1;
    }
    if (r->flash && flash_flush(r->flash, r->err))
        return -1;
    if (o->flash_device && board_flash_firmware(o, &r->fw, r->out, r->err))
        return -1;
    return 0;
}

/* --json: which app boots now and next, as the run leaves the firmware. */
static void report_ota_state(struct run *r)
{
    struct json *j = facts(r);
    struct ota_status st;
    struct error ignored;
    if (!j || !r->flash)
        return;
    if (ota_status_read(&r->fw, &st, &ignored) || !st.has_otadata) {
        json_null(j, "ota");
        return;
    }
    json_object_begin(j, "ota");
    json_string(j, "current", st.current_name);
    json_string(j, "next", st.next_name);
    json_object_end(j);
}

int tool_exit_status(const struct error *err)
{
    if (err->code == ERROR_VERIFY)
        return TOOL_EXIT_VERIFY;
    return err->kind == ERROR_USAGE ? TOOL_EXIT_USAGE : TOOL_EXIT_ERROR;
}

int tool_run(const struct tool_options *opt, struct output *out)
{
    struct run r;
    struct error err;
    memset(&r, 0, sizeof r);
    error_clear(&err);
    r.opt = opt;
    r.out = out;
    r.log = output_log(out, LOGGER_MAIN);
    r.fw_log = output_log(out, LOGGER_FIRMWARE);
    r.err = &err;
    int rc = run_steps(&r);
    if (rc)
        output_error(out, &err);
    else
        report_ota_state(&r);
    if (r.flash && flash_can(r.flash, FLASH_CAP_LIVE) && opt->no_reset)
        log_printf(r.log, LOG_INFO, "Leaving device in bootloader mode...");
    if (r.flash)
        flash_close(r.flash);
    free(r.output_name);
    return rc ? tool_exit_status(&err) : TOOL_EXIT_OK;
}
