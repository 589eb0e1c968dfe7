#include "tool/jsonreport.h"

#include <stdlib.h>
#include <string.h>

#include "tool/localfile.h"
#include "tool/run.h"
#include "util/digest.h"

static const char *const list_names[JSON_LIST_COUNT] = {
    [JSON_LIST_OUTPUTS] = "outputs",
    [JSON_LIST_PARTITIONS_WRITTEN] = "partitions_written",
    [JSON_LIST_PARTITIONS_ERASED] = "partitions_erased",
    [JSON_LIST_FS] = "fs",
    [JSON_LIST_NVS] = "nvs",
    [JSON_LIST_WARNINGS] = "warnings",
    [JSON_LIST_MESSAGES] = "messages",
};

static const char *const level_names[] = {
    [LOG_DEBUG] = "debug",     [LOG_INFO] = "info",   [LOG_ACTION] = "action",
    [LOG_WARNING] = "warning", [LOG_ERROR] = "error", [LOG_OUTPUT] = "output",
};

void json_report_init(struct json_report *r)
{
    memset(r, 0, sizeof *r);
    json_init_inside(&r->j, &r->facts, 1);
    for (int i = 0; i < JSON_LIST_COUNT; i++)
        json_init_inside(&r->list_writer[i], &r->lists[i], 0);
}

void json_report_free(struct json_report *r)
{
    strbuf_free(&r->facts);
    for (int i = 0; i < JSON_LIST_COUNT; i++)
        strbuf_free(&r->lists[i]);
    strbuf_free(&r->fs_lines);
    strbuf_free(&r->fs_data);
    strbuf_free(&r->capture);
    memset(r, 0, sizeof *r);
}

struct json *json_report_facts(struct json_report *r)
{
    return &r->j;
}

struct json *json_report_list(struct json_report *r, enum json_list list)
{
    return &r->list_writer[list];
}

void json_report_line(struct json_report *r, const char *logger, enum log_level level,
                      const char *text, int shown)
{
    if (level == LOG_OUTPUT && r->fs_open && strcmp(logger, "fs") == 0) {
        json_string(&r->fs_lines_writer, NULL, text);
        return;
    }
    /* a check's findings and the warnings are data: kept whatever -q and --log say */
    if (r->capture_open && strcmp(logger, "firmware") == 0 && level != LOG_DEBUG)
        json_string(&r->capture_writer, NULL, text);
    if (level == LOG_WARNING)
        json_string(&r->list_writer[JSON_LIST_WARNINGS], NULL, text);
    if (!shown)
        return;
    struct json *m = &r->list_writer[JSON_LIST_MESSAGES];
    json_object_begin(m, NULL);
    json_string(m, "logger", logger);
    json_string(m, "level", level_names[level]);
    json_string(m, "text", text);
    json_object_end(m);
}

void json_report_output(struct json_report *r, const char *kind, const char *path,
                        const char *partition, const uint8_t *data, size_t len)
{
    uint8_t sha[32];
    digest_sha256(data, len, sha);
    struct json *j = &r->list_writer[JSON_LIST_OUTPUTS];
    json_object_begin(j, NULL);
    json_string(j, "kind", kind);
    json_string(j, "path", path);
    if (partition)
        json_string(j, "partition", partition);
    json_uint(j, "size", len);
    json_hex(j, "sha256", sha, sizeof sha);
    json_object_end(j);
}

void json_report_output_path(struct json_report *r, const char *kind, const char *path)
{
    char *data;
    size_t len;
    struct error ignored;
    if (localfile_read(path, &data, &len, &ignored) == 0) {
        json_report_output(r, kind, path, NULL, (const uint8_t *)data, len);
        free(data);
    }
}

void json_report_table(struct json *j, const char *key, const struct ptable *t, uint32_t app_size)
{
    json_object_begin(j, key);
    json_uint(j, "flash_size", t->flash_size);
    json_array_begin(j, "partitions");
    for (int i = 0; i < t->count; i++) {
        const struct partition *p = &t->parts[i];
        char type[32], subtype[32];
        ptable_type_name(p->type, type, sizeof type);
        ptable_subtype_name(p->type, p->subtype, subtype, sizeof subtype);
        json_object_begin(j, NULL);
        json_string(j, "name", p->name);
        json_string(j, "type", type);
        json_string(j, "subtype", subtype);
        json_uint(j, "type_id", p->type);
        json_uint(j, "subtype_id", p->subtype);
        json_uint(j, "offset", p->offset);
        json_int(j, "size", p->size);
        json_uint(j, "flags", p->flags);
        /* flag bits of an entry (esp-image-formats §7.1) */
        json_bool(j, "encrypted", p->flags & 1);
        json_bool(j, "readonly", p->flags & 2);
        json_object_end(j);
    }
    json_array_end(j);
    int first_app = ptable_first_app(t);
    if (app_size && first_app >= 0) {
        const struct partition *app = &t->parts[first_app];
        json_object_begin(j, "app_fill");
        json_string(j, "partition", app->name);
        json_uint(j, "app_size", app_size);
        json_int(j, "partition_size", app->size);
        json_int(j, "free", app->size - (int64_t)app_size);
        json_fixed1(j, "percent", app->size > 0 ? 100.0 * app_size / (double)app->size : 0.0);
        json_object_end(j);
    }
    json_object_end(j);
}

void json_report_fs_begin(struct json_report *r)
{
    strbuf_reset(&r->fs_lines);
    strbuf_reset(&r->fs_data);
    json_init_inside(&r->fs_lines_writer, &r->fs_lines, 0);
    r->fs_open = 1;
}

void json_report_fs_data(struct json_report *r, const void *buf, size_t len)
{
    strbuf_add(&r->fs_data, buf, len);
}

void json_report_fs_end(struct json_report *r, struct json *j, int with_data)
{
    json_array_items(j, "output", &r->fs_lines);
    if (with_data) {
        const uint8_t *bytes = (const uint8_t *)(r->fs_data.text ? r->fs_data.text : "");
        size_t len = r->fs_data.len;
        uint8_t sha[32];
        digest_sha256(bytes, len, sha);
        json_object_begin(j, "data");
        json_uint(j, "size", len);
        json_hex(j, "sha256", sha, sizeof sha);
        json_base64(j, "base64", bytes, len);
        if (json_is_utf8((const char *)bytes, len) && !memchr(bytes, 0, len))
            json_string_n(j, "text", (const char *)bytes, len);
        json_object_end(j);
    }
    r->fs_open = 0;
}

void json_report_capture_begin(struct json_report *r)
{
    strbuf_reset(&r->capture);
    json_init_inside(&r->capture_writer, &r->capture, 0);
    r->capture_open = 1;
}

void json_report_capture_end(struct json_report *r, struct json *j, const char *key)
{
    json_array_items(j, key, &r->capture);
}

void json_report_capture_stop(struct json_report *r)
{
    r->capture_open = 0;
}

void json_report_error(struct json_report *r, const struct error *err)
{
    r->error = *err;
    r->failed = 1;
}

void json_report_print(struct json_report *r, FILE *out, int exit_status)
{
    struct strbuf doc = {0};
    struct json j;
    json_init(&j, &doc);
    json_object_begin(&j, NULL);
    json_int(&j, "schema_version", JSON_SCHEMA_VERSION);
    json_object_begin(&j, "tool");
    json_string(&j, "name", "mp-image-tool-esp32");
    json_string(&j, "version", TOOL_VERSION);
    json_object_end(&j);
    json_bool(&j, "ok", exit_status == 0);
    json_int(&j, "exit_status", exit_status);
    /* the members and lists gathered, each complete */
    if (r->facts.len) {
        strbuf_puts(&doc, ",");
        strbuf_add(&doc, r->facts.text, r->facts.len);
    }
    for (int i = 0; i < JSON_LIST_COUNT; i++) {
        json_array_items(&j, list_names[i], &r->lists[i]);
    }
    if (r->failed) {
        json_object_begin(&j, "error");
        json_string(&j, "kind", error_kind_name(r->error.kind));
        json_string(&j, "message", r->error.msg);
        json_bool(&j, "verification_failed", r->error.code == ERROR_VERIFY);
        json_object_end(&j);
    } else {
        json_null(&j, "error");
    }
    json_object_end(&j);
    strbuf_puts(&doc, "\n");
    fwrite(doc.text, 1, doc.len, out);
    strbuf_free(&doc);
}
