/* The --fs commands of the pipeline: the littlefs command layer (src/fs) on the firmware's
 * flash, narrating through the tool's log, with df numbers printed as a table. */
#include "tool/fsglue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/fs.h"
#include "report/report.h"
#include "tool/values.h"
#include "util/strbuf.h"

#define FS_MAX_ROWS (PTABLE_MAX_ENTRIES + 1)

struct fs_sink {
    struct output *out;
    struct report_df_row rows[FS_MAX_ROWS];
    char names[FS_MAX_ROWS][PTABLE_LABEL_MAX + 1];
    int row_count;
    struct fs_usage usage[FS_MAX_ROWS];
    char versions[FS_MAX_ROWS][16];
    /* --json: the entries ls found, as the inside of an array */
    struct strbuf entries;
    struct json entries_writer;
    int64_t unchanged; /* put: files left alone; -1 when not a put that ran to its end */
};

static void sink_unchanged(void *ctx, uint32_t files)
{
    ((struct fs_sink *)ctx)->unchanged = files;
}

static void sink_data(void *ctx, const void *buf, size_t len)
{
    struct fs_sink *s = ctx;
    if (s->out->json)
        json_report_fs_data(s->out->json, buf, len);
    else
        fwrite(buf, 1, len, s->out->out);
}

static void sink_file_written(void *ctx, const char *path)
{
    struct fs_sink *s = ctx;
    if (s->out->json)
        json_report_output_path(s->out->json, "fs_get", path);
}

static void sink_entry(void *ctx, const char *partition, const char *path, int is_dir,
                       uint32_t size)
{
    struct fs_sink *s = ctx;
    if (!s->out->json)
        return;
    struct json *j = &s->entries_writer;
    json_object_begin(j, NULL);
    json_string(j, "partition", partition);
    json_string(j, "path", path);
    json_string(j, "type", is_dir ? "dir" : "file");
    if (!is_dir)
        json_uint(j, "size", size);
    json_object_end(j);
}

/* --json: the usage rows of df and info. */
static void json_usage_rows(struct json *j, const char *key, const struct fs_sink *s)
{
    json_array_begin(j, key);
    for (int i = 0; i < s->row_count; i++) {
        const struct fs_usage *u = &s->usage[i];
        json_object_begin(j, NULL);
        json_string(j, "partition", u->part);
        char kind[12] = "littlefs";
        if (u->is_fat)
            snprintf(kind, sizeof kind, "FAT%u", u->fat_type);
        json_string(j, "filesystem", kind);
        json_uint(j, "block_size", u->block_size);
        json_uint(j, "block_count", u->block_count);
        json_uint(j, "blocks_used", u->blocks_used);
        json_uint(j, "partition_blocks", u->partition_blocks);
        json_uint(j, "total_kb", u->total_kb);
        json_uint(j, "used_kb", u->used_kb);
        json_uint(j, "free_kb", u->free_kb);
        json_uint(j, "used_percent", u->used_percent);
        if (u->is_fat)
            json_uint(j, "sector_size", u->sector_size);
        else
            json_string(j, "disk_version", s->versions[i]);
        json_uint(j, "name_max", u->name_max);
        json_object_end(j);
    }
    json_array_end(j);
}

static void sink_usage(void *ctx, const struct fs_usage *u)
{
    struct fs_sink *s = ctx;
    if (s->row_count >= FS_MAX_ROWS)
        return;
    int i = s->row_count++;
    memcpy(s->names[i], u->part, sizeof s->names[i]);
    s->usage[i] = *u;
    snprintf(s->versions[i], sizeof s->versions[i], "%u.%u", u->disk_version >> 16,
             u->disk_version & 0xffff);
    s->rows[i] = (struct report_df_row){s->names[i], u->block_size, u->block_count,
                                        u->blocks_used, u->is_fat};
}

int fs_commands_modify(const struct tool_options *opt)
{
    for (int i = 0; i < opt->fs_count; i++) {
        const struct fs_command *c = fs_command_find(opt->fs[i].words[0]);
        if (c && c->mutates)
            return 1;
    }
    return 0;
}

/* requested: the user asked for this command (its output shows even with -q). */
static int run_fs(struct flash *flash, const struct ptable *table, uint32_t block_size,
                  const char *version, const char *cmd, int argc, const char *const argv[],
                  int requested, const char *protect, struct output *out, int *changed,
                  struct error *err)
{
    struct fs_partitions parts;
    fs_partitions_from_table(table, table->flash_size, &parts);
    for (int i = 0; i < parts.count; i++)
        parts.parts[i].block_size = block_size;
    struct fs_sink *sink = calloc(1, sizeof *sink);
    if (!sink)
        return error_setk(err, ERROR_OS, "out of memory");
    sink->out = out;
    json_init_inside(&sink->entries_writer, &sink->entries, 0);
    struct fs_output fo = {output_log(out, LOGGER_FS), sink_data,  sink_usage,    sink,
                           sink_file_written,          sink_entry, sink_unchanged};
    sink->unchanged = -1;
    if (out->json && requested)
        json_report_fs_begin(out->json);
    struct fs_env env = {
        .flash = flash,
        .parts = &parts,
        .micropython_version = version,
        .flush = FS_FLUSH_AT_SYNC,
        .out = &fo,
        .parse_size = value_parse_size,
        .changed = changed,
        .protect = protect,
        .lenient = !requested,
    };
    int rc = fs_run(&env, cmd, argc, argv, err);
    if (out->json) {
        if (requested) {
            struct json *j = json_report_list(out->json, JSON_LIST_FS);
            json_object_begin(j, NULL);
            json_string(j, "command", cmd);
            json_array_begin(j, "args");
            for (int i = 0; i < argc; i++)
                json_string(j, NULL, argv[i]);
            json_array_end(j);
            json_bool(j, "ok", rc == 0);
            json_bool(j, "changed", *changed);
            json_usage_rows(j, "filesystems", sink);
            if (strcmp(cmd, "ls") == 0) {
                json_array_items(j, "entries", &sink->entries);
            }
            if (sink->unchanged >= 0)
                json_int(j, "unchanged_files", sink->unchanged);
            json_report_fs_end(out->json, j, strcmp(cmd, "cat") == 0);
            json_object_end(j);
        } else if (rc == 0) {
            json_usage_rows(json_report_facts(out->json), "df", sink);
        }
    } else if (rc == 0 && strcmp(cmd, "df") == 0) {
        struct strbuf sb = {0};
        report_df(sink->rows, (size_t)sink->row_count, out->box, &sb);
        output_logger_block(out, LOGGER_FS, requested ? LOG_OUTPUT : LOG_INFO, strbuf_str(&sb));
        strbuf_free(&sb);
    }
    fflush(out->out);
    strbuf_free(&sink->entries);
    free(sink);
    return rc;
}

int fs_df_report(struct firmware *fw, struct output *out, struct error *err)
{
    int changed = 0;
    return run_fs(fw->flash, &fw->table, 0, NULL, "df", 0, NULL, 0, NULL, out, &changed, err);
}

int fs_command(struct firmware *fw, const char *version, const struct wordlist *cmd,
               const char *protect, struct output *out, int *changed, struct error *err)
{
    return fs_command_on(fw->flash, &fw->table, 0, version, cmd, protect, out, changed, err);
}

int fs_command_on(struct flash *flash, const struct ptable *table, uint32_t block_size,
                  const char *version, const struct wordlist *cmd, const char *protect,
                  struct output *out, int *changed, struct error *err)
{
    *changed = 0;
    return run_fs(flash, table, block_size, version, cmd->words[0], cmd->count - 1,
                  (const char *const *)cmd->words + 1, 1, protect, out, changed, err);
}
