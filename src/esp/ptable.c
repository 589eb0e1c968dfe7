/* The partition table: binary format (esp-image-formats §7, seed-spec §5.1), loading (§5.2),
 * validation with the Python tool's messages (seed-spec §5.3) and type/subtype names (esp-image-formats.md §7.4). */
#include "esp/ptable.h"
#include "util/digest.h"
#include "util/bytes.h"
#include "util/check.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Where each field of an entry lies (esp-image-formats §7.1). */
enum {
    ENTRY_AT_MAGIC = 0,
    ENTRY_AT_TYPE = 2,
    ENTRY_AT_SUBTYPE = 3,
    ENTRY_AT_OFFSET = 4,
    ENTRY_AT_SIZE = 8,
    ENTRY_AT_LABEL = 12,
    ENTRY_AT_FLAGS = 28,
};
_Static_assert(ENTRY_AT_FLAGS + 4 == PTABLE_ENTRY_SIZE, "entry layout");

/* The MD5 row: EB EB, 14 x FF, then the MD5 of the entry bytes (esp-image-formats.md §7.3). */
static const uint8_t MD5_MAGIC[2] = {0xEB, 0xEB};
#define MD5_AT_DIGEST 16

static void hex(const uint8_t *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

/* MD5 of the entry bytes. */
static void md5(const uint8_t *data, size_t len, uint8_t out[16])
{
    digest_md5(data, len, out);
}

static int row_is_erased(const uint8_t *row)
{
    return bytes_all_erased(row, PTABLE_ENTRY_SIZE);
}

int ptable_entry_is_entry(const uint8_t row[PTABLE_ENTRY_SIZE])
{
    return row[ENTRY_AT_MAGIC] == PTABLE_ENTRY_MAGIC0 &&
           row[ENTRY_AT_MAGIC + 1] == PTABLE_ENTRY_MAGIC1;
}

void ptable_entry_decode(const uint8_t row[PTABLE_ENTRY_SIZE], struct partition *p)
{
    memset(p, 0, sizeof *p);
    p->type = row[ENTRY_AT_TYPE];
    p->subtype = row[ENTRY_AT_SUBTYPE];
    p->offset = get_le32(row + ENTRY_AT_OFFSET);
    p->size = get_le32(row + ENTRY_AT_SIZE);
    memcpy(p->name, row + ENTRY_AT_LABEL, PTABLE_LABEL_MAX);
    p->name[PTABLE_LABEL_MAX] = '\0';
    p->flags = get_le32(row + ENTRY_AT_FLAGS);
}

void ptable_entry_encode(const struct partition *p, uint8_t row[PTABLE_ENTRY_SIZE])
{
    size_t name_len = strnlen(p->name, sizeof p->name);
    MP_ASSERT(name_len <= PTABLE_LABEL_MAX && p->size >= 0 && p->size <= (int64_t)UINT32_MAX);
    row[ENTRY_AT_MAGIC] = PTABLE_ENTRY_MAGIC0;
    row[ENTRY_AT_MAGIC + 1] = PTABLE_ENTRY_MAGIC1;
    row[ENTRY_AT_TYPE] = p->type;
    row[ENTRY_AT_SUBTYPE] = p->subtype;
    put_le32(row + ENTRY_AT_OFFSET, p->offset);
    put_le32(row + ENTRY_AT_SIZE, (uint32_t)p->size);
    memset(row + ENTRY_AT_LABEL, 0, PTABLE_LABEL_MAX);
    memcpy(row + ENTRY_AT_LABEL, p->name, name_len);
    put_le32(row + ENTRY_AT_FLAGS, p->flags);
}

int ptable_parse(const uint8_t *data, size_t len, struct ptable *table, struct error *err)
{
    table->count = 0;
    size_t n = 0;
    /* Entries while the magic is AA 50 (seed-spec §5.2); at most 95 fit before the MD5 row. */
    while (table->count < PTABLE_MAX_ENTRIES && n + PTABLE_ENTRY_SIZE <= len &&
           ptable_entry_is_entry(data + n)) {
        ptable_entry_decode(data + n, &table->parts[table->count++]);
        n += PTABLE_ENTRY_SIZE;
    }
    if (table->count == 0)
        return error_setk(err, ERROR_PARTITION, "No partition table found.");
    if (n + PTABLE_ENTRY_SIZE <= len && memcmp(data + n, MD5_MAGIC, 2) == 0) {
        uint8_t sum[16];
        md5(data, n, sum);
        const uint8_t *stored = data + n + MD5_AT_DIGEST;
        if (memcmp(sum, stored, 16) != 0) {
            char want[33], got[33];
            hex(stored, 16, want);
            hex(sum, 16, got);
            return error_setk(err, ERROR_PARTITION, "Checksum: expected %s, got %s.", want, got);
        }
        n += PTABLE_ENTRY_SIZE;
    }
    if (n + PTABLE_ENTRY_SIZE > len || !row_is_erased(data + n))
        return error_setk(err, ERROR_PARTITION, "Partition table does not end with an empty row.");
    ptable_sort(table);
    return 0;
}

int ptable_encode(const struct ptable *table, uint8_t out[PTABLE_SIZE], struct error *err)
{
    if (table->count < 0 || table->count > PTABLE_MAX_ENTRIES)
        return error_setk(err, ERROR_PARTITION, "Too many partitions (%d, at most %d).",
                          table->count, PTABLE_MAX_ENTRIES);
    memset(out, 0xFF, PTABLE_SIZE);
    size_t n = 0;
    for (int i = 0; i < table->count; i++) {
        const struct partition *p = &table->parts[i];
        size_t name_len = strnlen(p->name, sizeof p->name);
        if (name_len > PTABLE_LABEL_MAX)
            return error_setk(err, ERROR_PARTITION,
                              "Partition name '%.*s...' is longer than %d bytes.",
                              PTABLE_LABEL_MAX, p->name, PTABLE_LABEL_MAX);
        if (p->size < 0)
            return error_setk(err, ERROR_PARTITION,
                              "Partition '%s' has a negative size (-0x%" PRIx64 ").", p->name,
                              (uint64_t)(-p->size));
        if (p->size > (int64_t)UINT32_MAX)
            return error_setk(err, ERROR_PARTITION,
                              "Partition '%s' size 0x%" PRIx64 " does not fit in 32 bits.",
                              p->name, (uint64_t)p->size);
        ptable_entry_encode(p, out + n);
        n += PTABLE_ENTRY_SIZE;
    }
    /* MD5 row: EB EB, 14 x FF, MD5 of the entry bytes (esp-image-formats.md §7.3); the 0xFF fill stays. */
    uint8_t *row = out + n;
    row[0] = MD5_MAGIC[0];
    row[1] = MD5_MAGIC[1];
    md5(out, n, row + MD5_AT_DIGEST);
    return 0;
}

void ptable_sort(struct ptable *table)
{
    MP_ASSERT(table->count >= 0 && table->count <= PTABLE_MAX_ENTRIES);
    /* Insertion sort: stable, and the table holds at most 95 entries. */
    for (int i = 1; i < table->count; i++) {
        struct partition p = table->parts[i];
        int j = i;
        while (j > 0 && table->parts[j - 1].offset > p.offset) {
            table->parts[j] = table->parts[j - 1];
            j--;
        }
        table->parts[j] = p;
    }
}

int ptable_find(const struct ptable *table, const char *name)
{
    for (int i = 0; i < table->count; i++)
        if (strcmp(table->parts[i].name, name) == 0)
            return i;
    return -1;
}

int ptable_first_app(const struct ptable *table)
{
    int best = -1;
    for (int i = 0; i < table->count; i++)
        if (table->parts[i].type == PART_TYPE_APP &&
            (best < 0 || table->parts[i].offset < table->parts[best].offset))
            best = i;
    return best;
}

/* Python's "{:#x}" of a possibly negative integer: "0x10", "-0x10000". */
static const char *pyhex(int64_t v, char *buf, size_t size)
{
    if (v < 0)
        snprintf(buf, size, "-0x%" PRIx64, (uint64_t)0 - (uint64_t)v);
    else
        snprintf(buf, size, "0x%" PRIx64, (uint64_t)v);
    return buf;
}

static void add_warning(char *warnings, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void add_warning(char *warnings, size_t size, const char *fmt, ...)
{
    if (!warnings || size == 0)
        return;
    size_t used = strnlen(warnings, size);
    if (used + 1 >= size)
        return;
    if (used > 0) {
        warnings[used++] = '\n';
        warnings[used] = '\0';
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(warnings + used, size - used, fmt, ap);
    va_end(ap);
}

int ptable_check(const struct ptable *table, char *warnings, size_t warnings_size,
                 struct error *err)
{
    /* Validate a sorted view, leaving the caller's table untouched. */
    int order[PTABLE_MAX_ENTRIES];
    int count = table->count < PTABLE_MAX_ENTRIES ? table->count : PTABLE_MAX_ENTRIES;
    for (int i = 0; i < count; i++) {
        int j = i;
        while (j > 0 && table->parts[order[j - 1]].offset > table->parts[i].offset) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
    char a[32], b[32];
    /* The running end starts after the table sector, so anything below 0x9000 "overlaps". */
    int64_t end = PTABLE_FIRST_OFFSET;
    for (int k = 0; k < count; k++) {
        const struct partition *p = &table->parts[order[k]];
        for (int q = 0; q < k; q++)
            if (strcmp(table->parts[order[q]].name, p->name) == 0)
                return error_setk(err, ERROR_PARTITION, "'%s' is repeated.", p->name);
        if ((int64_t)p->offset < end)
            return error_setk(err, ERROR_PARTITION, "'%s' overlaps with previous partition.",
                              p->name);
        if ((int64_t)p->offset > end)
            add_warning(warnings, warnings_size, "Warning: Free space before '%s' (%s bytes).",
                        p->name, pyhex((int64_t)p->offset - end, a, sizeof a));
        if (p->offset % 0x1000)
            return error_setk(err, ERROR_PARTITION, "'%s' offset %s is not multiple of 0x1000.",
                              p->name, pyhex(p->offset, a, sizeof a));
        /* Python's modulo of a negative size is non-negative: -0x10000 % 0x1000 == 0. */
        if (((p->size % 0x1000) + 0x1000) % 0x1000)
            return error_setk(err, ERROR_PARTITION, "'%s' size %s is not multiple of 0x1000.",
                              p->name, pyhex(p->size, a, sizeof a));
        if (p->type == PART_TYPE_APP && p->offset % PTABLE_APP_ALIGN)
            return error_setk(err, ERROR_PARTITION,
                              "App partition '%s' offset %s is not multiple of 0x10000.", p->name,
                              pyhex(p->offset, a, sizeof a));
        end = (int64_t)p->offset + p->size;
    }
    if (end > (int64_t)table->flash_size)
        return error_setk(err, ERROR_PARTITION,
                          "End of last partition (%s) is greater than flash size (%s).",
                          pyhex(end, a, sizeof a), pyhex(table->flash_size, b, sizeof b));
    if (end != (int64_t)table->flash_size)
        add_warning(warnings, warnings_size, "Warning: End of last partition (%s) < flash size (%s).",
                    pyhex(end, a, sizeof a), pyhex(table->flash_size, b, sizeof b));
    int app = ptable_first_app(table);
    if (app < 0)
        return error_setk(err, ERROR_PARTITION, "No app partition found in table.");
    if (table->parts[app].offset != PTABLE_APP_ALIGN)
        add_warning(warnings, warnings_size, "Warning: First app at offset=%s (expected 0x10000).",
                    pyhex(table->parts[app].offset, a, sizeof a));
    return 0;
}

/* Every ESP-IDF keyword (esp-image-formats §7.4), types and then subtypes per type. */
static const struct {
    uint8_t type;
    const char *name;
} type_keywords[] = {
    {PART_TYPE_APP, "app"},
    {PART_TYPE_DATA, "data"},
    {PART_TYPE_BOOTLOADER, "bootloader"},
    {PART_TYPE_PARTITION_TABLE, "partition_table"},
};

static const struct {
    uint8_t type, subtype;
    const char *name;
} subtype_keywords[] = {
    {PART_TYPE_APP, PART_SUBTYPE_FACTORY, "factory"},
    {PART_TYPE_APP, PART_SUBTYPE_TEST, "test"},
    {PART_TYPE_APP, 0x30, "tee_0"},
    {PART_TYPE_APP, 0x31, "tee_1"},
    {PART_TYPE_DATA, PART_SUBTYPE_DATA_OTA, "ota"},
    {PART_TYPE_DATA, PART_SUBTYPE_DATA_PHY, "phy"},
    {PART_TYPE_DATA, PART_SUBTYPE_DATA_NVS, "nvs"},
    {PART_TYPE_DATA, PART_SUBTYPE_DATA_COREDUMP, "coredump"},
    {PART_TYPE_DATA, PART_SUBTYPE_DATA_NVS_KEYS, "nvs_keys"},
    {PART_TYPE_DATA, PART_SUBTYPE_DATA_EFUSE, "efuse"},
    {PART_TYPE_DATA, PART_SUBTYPE_DATA_UNDEFINED, "undefined"},
    {PART_TYPE_DATA, 0x80, "esphttpd"},
    {PART_TYPE_DATA, PART_SUBTYPE_DATA_FAT, "fat"},
    {PART_TYPE_DATA, PART_SUBTYPE_DATA_SPIFFS, "spiffs"},
    {PART_TYPE_DATA, PART_SUBTYPE_DATA_LITTLEFS, "littlefs"},
    {PART_TYPE_DATA, 0x90, "tee_ota"},
    {PART_TYPE_BOOTLOADER, 0x00, "primary"},
    {PART_TYPE_BOOTLOADER, 0x01, "ota"},
    {PART_TYPE_BOOTLOADER, 0x02, "recovery"},
    {PART_TYPE_PARTITION_TABLE, 0x00, "primary"},
    {PART_TYPE_PARTITION_TABLE, 0x01, "ota"},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

const char *ptable_type_keyword(uint8_t type)
{
    for (size_t i = 0; i < COUNT(type_keywords); i++)
        if (type_keywords[i].type == type)
            return type_keywords[i].name;
    return NULL;
}

int ptable_type_lookup(const char *name, uint8_t *type)
{
    for (size_t i = 0; i < COUNT(type_keywords); i++)
        if (strcasecmp(type_keywords[i].name, name) == 0) {
            *type = type_keywords[i].type;
            return 0;
        }
    return -1;
}

int ptable_subtype_keyword(uint8_t type, uint8_t subtype, char *out, size_t size)
{
    if (type == PART_TYPE_APP && subtype >= PART_SUBTYPE_OTA_0 &&
        subtype < PART_SUBTYPE_OTA_0 + 16) {
        snprintf(out, size, "ota_%u", subtype - PART_SUBTYPE_OTA_0);
        return 1;
    }
    for (size_t i = 0; i < COUNT(subtype_keywords); i++)
        if (subtype_keywords[i].type == type && subtype_keywords[i].subtype == subtype) {
            snprintf(out, size, "%s", subtype_keywords[i].name);
            return 1;
        }
    return 0;
}

int ptable_subtype_lookup(uint8_t type, const char *name, uint8_t *subtype)
{
    if (type == PART_TYPE_APP && strncasecmp(name, "ota_", 4) == 0) {
        const char *d = name + 4;
        unsigned v = 0;
        size_t n = 0;
        while (d[n] >= '0' && d[n] <= '9' && n < 3)
            v = v * 10 + (unsigned)(d[n++] - '0');
        if (n == 0 || d[n] != '\0' || v >= 16 || (n > 1 && d[0] == '0'))
            return -1;
        *subtype = (uint8_t)(PART_SUBTYPE_OTA_0 + v);
        return 0;
    }
    for (size_t i = 0; i < COUNT(subtype_keywords); i++)
        if (subtype_keywords[i].type == type && strcasecmp(subtype_keywords[i].name, name) == 0) {
            *subtype = subtype_keywords[i].subtype;
            return 0;
        }
    return -1;
}

void ptable_type_name(uint8_t type, char *out, size_t size)
{
    if (type == PART_TYPE_APP || type == PART_TYPE_DATA)
        snprintf(out, size, "%s", ptable_type_keyword(type));
    else
        snprintf(out, size, "%u", type);
}

void ptable_subtype_name(uint8_t type, uint8_t subtype, char *out, size_t size)
{
    if ((type != PART_TYPE_APP && type != PART_TYPE_DATA) ||
        !ptable_subtype_keyword(type, subtype, out, size))
        snprintf(out, size, "%u", subtype);
}

/* A number 0..255 in decimal or 0x hex, the whole string. */
static int parse_byte(const char *s, uint8_t *out)
{
    int base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    if (!isxdigit((unsigned char)*s))
        return -1;
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, base);
    if (errno || *end || v > 255)
        return -1;
    *out = (uint8_t)v;
    return 0;
}

int ptable_subtype_parse(const char *name, uint8_t *type, uint8_t *subtype)
{
    if (!name)
        return -1;
    static const uint8_t types[] = {PART_TYPE_APP, PART_TYPE_DATA};
    for (size_t i = 0; i < COUNT(types); i++)
        if (ptable_subtype_lookup(types[i], name, subtype) == 0) {
            *type = types[i];
            return 0;
        }
    /* A number keeps the caller's *type: a numeric subtype means nothing without one. */
    uint8_t v;
    if (parse_byte(name, &v) == 0) {
        *subtype = v;
        return 0;
    }
    return -1;
}

#define IDF_NVS_RW_MIN 0x3000u
#define IDF_OTADATA_SIZE 0x2000u
#define PART_FLAG_READONLY 2u
#define PART_SUBTYPE_DATA_TEE_OTA 0x90

static int is_primary_pseudo(const struct partition *p)
{
    return (p->type == PART_TYPE_BOOTLOADER || p->type == PART_TYPE_PARTITION_TABLE) &&
           p->subtype == 0;
}

int ptable_check_idf(const struct ptable *t, int line_order, struct error *err)
{
    int otadata = 0, tee_otadata = 0;
    uint64_t prev_end = PTABLE_FIRST_OFFSET;
    for (int i = 0; i < t->count; i++) {
        const struct partition *p = &t->parts[i];
        uint32_t align = p->type == PART_TYPE_APP ? PTABLE_APP_ALIGN : 0x1000u;
        if (p->size < 0)
            return error_setk(err, ERROR_PARTITION, "Partition '%s': negative size.", p->name);
        if (p->offset % align)
            return error_setk(err, ERROR_PARTITION,
                              "Partition '%s': offset 0x%x is not aligned to 0x%x.", p->name,
                              p->offset, align);
        if (p->type == PART_TYPE_APP && p->size % 0x1000)
            return error_setk(err, ERROR_PARTITION,
                              "Partition '%s': size 0x%llx is not aligned to 0x1000.", p->name,
                              (unsigned long long)p->size);
        int data = p->type == PART_TYPE_DATA;
        if (data &&
            (p->subtype == PART_SUBTYPE_DATA_OTA || p->subtype == PART_SUBTYPE_DATA_COREDUMP) &&
            (p->flags & PART_FLAG_READONLY))
            return error_setk(err, ERROR_PARTITION, "Partition '%s': %s cannot be read-only.",
                              p->name, p->subtype ? "coredump" : "otadata");
        if (data && p->subtype == PART_SUBTYPE_DATA_NVS && p->size < IDF_NVS_RW_MIN &&
            !(p->flags & PART_FLAG_READONLY))
            return error_setk(err, ERROR_PARTITION,
                              "Partition '%s': a read-write nvs needs at least 0x%x bytes (or "
                              "the readonly flag).",
                              p->name, IDF_NVS_RW_MIN);
        if (data &&
            (p->subtype == PART_SUBTYPE_DATA_OTA || p->subtype == PART_SUBTYPE_DATA_TEE_OTA)) {
            int *n = p->subtype == PART_SUBTYPE_DATA_OTA ? &otadata : &tee_otadata;
            if (++*n > 1)
                return error_setk(err, ERROR_PARTITION, "Partition '%s': a second otadata.",
                                  p->name);
            if (p->size != IDF_OTADATA_SIZE)
                return error_setk(err, ERROR_PARTITION,
                                  "Partition '%s': otadata must be 0x%x bytes.", p->name,
                                  IDF_OTADATA_SIZE);
        }
        for (int k = 0; k < i; k++)
            if (strcmp(t->parts[k].name, p->name) == 0)
                return error_setk(err, ERROR_PARTITION, "Partition '%s' appears twice.", p->name);
        if (!is_primary_pseudo(p)) {
            if (p->offset < PTABLE_FIRST_OFFSET)
                return error_setk(err, ERROR_PARTITION,
                                  "Partition '%s': offset 0x%x is below 0x%x.", p->name,
                                  p->offset, PTABLE_FIRST_OFFSET);
            if (line_order && p->offset < prev_end)
                return error_setk(err, ERROR_PARTITION,
                                  "Partition '%s': offset 0x%x is before the end of the one "
                                  "above it (0x%llx).",
                                  p->name, p->offset, (unsigned long long)prev_end);
            prev_end = p->offset + (uint64_t)p->size;
        }
        for (int k = 0; k < t->count; k++) {
            const struct partition *q = &t->parts[k];
            if (k == i || q->size <= 0 || p->size <= 0)
                continue;
            if (q->offset <= p->offset && p->offset < q->offset + (uint64_t)q->size &&
                (q->offset < p->offset || k < i))
                return error_setk(err, ERROR_PARTITION,
                                  "Partition '%s' at 0x%x overlaps '%s' (0x%x-0x%llx).", p->name,
                                  p->offset, q->name, q->offset,
                                  (unsigned long long)(q->offset + (uint64_t)q->size - 1));
        }
    }
    return 0;
}
