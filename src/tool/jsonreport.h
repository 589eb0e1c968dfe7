/* --json: the facts of one run, gathered as the pipeline goes and printed at the end as one
 * JSON document (docs/json.md, docs/json-schema.json), also when the run fails. Top-level
 * members are written whole by one call each (never left open across a step that can fail);
 * lists that grow over the run (output files, warnings, --fs commands, ...) are kept apart and
 * closed when the document is printed. */
#ifndef MP_TOOL_JSONREPORT_H
#define MP_TOOL_JSONREPORT_H

#include <stdint.h>
#include <stdio.h>

#include "esp/ptable.h"
#include "report/json.h"
#include "util/error.h"
#include "util/log.h"

#define JSON_SCHEMA_VERSION 1

/* The lists of the document, in the order they are printed. */
enum json_list {
    JSON_LIST_OUTPUTS,            /* "outputs": local files written, with size and SHA-256 */
    JSON_LIST_PARTITIONS_WRITTEN, /* "partitions_written": --write */
    JSON_LIST_PARTITIONS_ERASED,  /* "partitions_erased": --erase, --erase-fs */
    JSON_LIST_FS,                 /* "fs": one record per --fs command */
    JSON_LIST_NVS,                /* "nvs": one record per --nvs command */
    JSON_LIST_WARNINGS,           /* "warnings": every warning line */
    JSON_LIST_MESSAGES,           /* "messages": every line the levels show */
    JSON_LIST_COUNT
};

struct json_report {
    struct strbuf facts; /* members of the top-level object */
    struct json j;
    struct strbuf lists[JSON_LIST_COUNT];
    struct json list_writer[JSON_LIST_COUNT];
    /* the --fs command being run: its output lines and the bytes cat gives */
    int fs_open;
    struct strbuf fs_lines;
    struct json fs_lines_writer;
    struct strbuf fs_data;
    /* lines of the firmware logger while an image check runs (--check-app) */
    int capture_open;
    struct strbuf capture;
    struct json capture_writer;
    /* how the run ended */
    int failed;
    struct error error;
};

void json_report_init(struct json_report *r);
void json_report_free(struct json_report *r);

/* The writer for top-level members: write each member whole. */
struct json *json_report_facts(struct json_report *r);
/* The writer positioned inside a list: add one complete value (key NULL). */
struct json *json_report_list(struct json_report *r, enum json_list list);

/* A line of narration (logger by name): kept in "messages" when the levels show it (shown);
 * warnings in "warnings" and an image check's lines in its record whatever the levels say;
 * requested output of an --fs command in that command's record. */
void json_report_line(struct json_report *r, const char *logger, enum log_level level,
                      const char *text, int shown);

/* A local file written: kind ("firmware", "app", "partition", "flash_backup", "fs_get"),
 * path, its bytes (for size and SHA-256); partition NULL when none. */
void json_report_output(struct json_report *r, const char *kind, const char *path,
                        const char *partition, const uint8_t *data, size_t len);
/* The same for a file already on disk (read back to hash it). */
void json_report_output_path(struct json_report *r, const char *kind, const char *path);

/* A partition table: {"flash_size": N, "partitions": [...], "app_fill": {...}} under key;
 * app_fill (how much of the first app partition the app takes) when app_size is not 0. */
void json_report_table(struct json *j, const char *key, const struct ptable *t,
                       uint32_t app_size);

/* --fs: collect a command's output lines and data between begin and end (see fsglue.c). */
void json_report_fs_begin(struct json_report *r);
void json_report_fs_data(struct json_report *r, const void *buf, size_t len);
/* Add "output" (the lines) and, with_data, "data" (cat's bytes) to the open object j and
 * stop collecting. */
void json_report_fs_end(struct json_report *r, struct json *j, int with_data);

/* Firmware-logger lines during an image check, for that check's record. */
void json_report_capture_begin(struct json_report *r);
/* Add the captured lines as an array under key. */
void json_report_capture_end(struct json_report *r, struct json *j, const char *key);
/* Stop capturing (after json_report_capture_end, or when the check failed). */
void json_report_capture_stop(struct json_report *r);

/* The error that ended the run. */
void json_report_error(struct json_report *r, const struct error *err);
/* Print the document: the facts, the lists and the outcome. */
void json_report_print(struct json_report *r, FILE *out, int exit_status);

#endif
