/* The ESP partition table: binary format (32-byte entries, MD5 row), type and subtype names,
 * validation, and the edits the tool performs. Pure data: no I/O and no printing. */
#ifndef MP_ESP_PTABLE_H
#define MP_ESP_PTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define PTABLE_OFFSET 0x8000u      /* flash address of the table */
#define PTABLE_SIZE 0x1000u        /* one sector */
#define PTABLE_DATA_SIZE 0xC00u    /* bytes the table may use (the rest is for a signature) */
#define PTABLE_ENTRY_SIZE 32
#define PTABLE_MAX_ENTRIES 95
#define PTABLE_FIRST_OFFSET 0x9000u /* first byte after the table sector */
#define PTABLE_APP_ALIGN 0x10000u
#define PTABLE_LABEL_MAX 16

enum part_type {
    PART_TYPE_APP = 0x00,
    PART_TYPE_DATA = 0x01,
    PART_TYPE_BOOTLOADER = 0x02,      /* ESP-IDF 5.3+ tables may list the bootloader */
    PART_TYPE_PARTITION_TABLE = 0x03, /* ... and the table itself */
};

enum part_subtype {
    PART_SUBTYPE_FACTORY = 0x00,
    PART_SUBTYPE_OTA_0 = 0x10, /* ota_N = 0x10 + N, N < 16 */
    PART_SUBTYPE_TEST = 0x20,
    PART_SUBTYPE_DATA_OTA = 0x00,
    PART_SUBTYPE_DATA_PHY = 0x01,
    PART_SUBTYPE_DATA_NVS = 0x02,
    PART_SUBTYPE_DATA_COREDUMP = 0x03,
    PART_SUBTYPE_DATA_NVS_KEYS = 0x04,
    PART_SUBTYPE_DATA_EFUSE = 0x05,
    PART_SUBTYPE_DATA_UNDEFINED = 0x06,
    PART_SUBTYPE_DATA_FAT = 0x81,
    PART_SUBTYPE_DATA_SPIFFS = 0x82,
    PART_SUBTYPE_DATA_LITTLEFS = 0x83,
};

struct partition {
    char name[PTABLE_LABEL_MAX + 1]; /* label without trailing NULs */
    uint8_t type;
    uint8_t subtype;
    uint32_t offset;
    int64_t size; /* signed: a bad resize can make it negative, which validation reports */
    uint32_t flags;
};

struct ptable {
    struct partition parts[PTABLE_MAX_ENTRIES];
    int count;
    uint32_t flash_size; /* the table's idea of the flash size (from the bootloader header or -f) */
};

/* One 32-byte entry (esp-image-formats §7.1), the only place its layout is written down:
 * magic AA 50, type (u8), subtype (u8), offset (LE32), size (LE32), label (16 bytes, NUL
 * padded, not necessarily NUL terminated), flags (LE32). */
#define PTABLE_ENTRY_MAGIC0 0xAAu
#define PTABLE_ENTRY_MAGIC1 0x50u
/* Whether a 32-byte row starts with the entry magic. */
int ptable_entry_is_entry(const uint8_t row[PTABLE_ENTRY_SIZE]);
/* Decode an entry into *p (the label up to its first NUL). */
void ptable_entry_decode(const uint8_t row[PTABLE_ENTRY_SIZE], struct partition *p);
/* Encode *p, whose size must fit 32 bits and name 16 bytes (ptable_encode checks both). */
void ptable_entry_encode(const struct partition *p, uint8_t row[PTABLE_ENTRY_SIZE]);

/* Parse 0x1000 (or at least 0xC00) bytes: entries until the MD5 row / empty row. Errors:
 * "No partition table found.", "Checksum: expected <hex>, got <hex>.",
 * "Partition table does not end with an empty row." Entries are sorted by offset. */
int ptable_parse(const uint8_t *data, size_t len, struct ptable *table, struct error *err);
/* Encode into PTABLE_SIZE bytes: entries, MD5 row, 0xFF fill (byte-identical to ESP-IDF's
 * gen_esp32part for the same entries). Fails for a negative or too large size, or a name longer
 * than 16 bytes. */
int ptable_encode(const struct ptable *table, uint8_t out[PTABLE_SIZE], struct error *err);

/* Sort by offset (stable). */
void ptable_sort(struct ptable *table);
/* Index of the named partition, or -1. */
int ptable_find(const struct ptable *table, const char *name);
/* The first (lowest offset) app partition, or -1. */
int ptable_first_app(const struct ptable *table);

/* Validation as the Python tool does it (messages identical): errors return -1 with the
 * message; warnings are appended, newline separated, to `warnings` (may be NULL). */
int ptable_check(const struct ptable *table, char *warnings, size_t warnings_size,
                 struct error *err);

/* Validation as ESP-IDF's gen_esp32part does it (esp-image-formats §7.5), for tables this tool
 * writes as that generator would: offsets aligned (app 0x10000, others 0x1000), app sizes in
 * 4 KiB, nothing but the bootloader and the table before 0x9000, no overlaps, unique names, at
 * most one otadata (and one TEE otadata) of 0x2000 bytes, otadata and coredump not read-only,
 * a read-write nvs of at least 0x3000 bytes. With line_order (a table read from CSV in the
 * order of its lines) each partition must also start after the one before it. Returns 0, or -1
 * naming the partition (ERROR_PARTITION). */
int ptable_check_idf(const struct ptable *table, int line_order, struct error *err);

/* Keywords of ESP-IDF partition tables (esp-image-formats §7.4), one table for every user:
 * types app, data, bootloader and partition_table; subtypes per type, ota_0..ota_15 for apps.
 * The ESP-IDF keyword of a type, or NULL. */
const char *ptable_type_keyword(uint8_t type);
/* The type named by a keyword (case-insensitive): 0, or -1 for none. */
int ptable_type_lookup(const char *name, uint8_t *type);
/* The ESP-IDF keyword of a subtype of `type` ("factory", "ota_3", "nvs", "primary") into out:
 * 1, or 0 (out untouched) when it has none. */
int ptable_subtype_keyword(uint8_t type, uint8_t subtype, char *out, size_t size);
/* The subtype of `type` a keyword names (case-insensitive; ota_N for apps, N < 16 in decimal
 * without leading zeros): 0, or -1 for none. */
int ptable_subtype_lookup(uint8_t type, const char *name, uint8_t *subtype);

/* Names as the table prints them: "app"/"data" or the decimal number; subtypes of app and
 * data by keyword, anything else as the decimal number. */
void ptable_type_name(uint8_t type, char *out, size_t size);
void ptable_subtype_name(uint8_t type, uint8_t subtype, char *out, size_t size);
/* A subtype as table specs give it: a keyword of an app or data subtype (case-insensitive),
 * which sets *type and *subtype, or a number (decimal or 0x hex) with *type left as the
 * caller set it. -1 if neither. */
int ptable_subtype_parse(const char *name, uint8_t *type, uint8_t *subtype);

#endif
