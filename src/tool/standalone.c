/* Standalone inputs: a partition table (binary or CSV) shown and converted, an app image
 * described as esptool image_info does, a bare littlefs image opened or created for the --fs
 * commands. Whole firmware files and boards go through the pipeline in run.c. */
#include "tool/standalone.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "esp/csv.h"
#include "esp/image.h"
#include "esp/ptable.h"
#include "fs/fs.h"
#include "report/report.h"
#include "tool/fsglue.h"
#include "tool/localfile.h"
#include "tool/outname.h"
#include "util/bytes.h"
#include "util/strbuf.h"

#define MIB 0x100000u
#define CSV_FLASH_LIMIT 0x10000000u /* a CSV read without -f: sizes up to the largest flash */

/* ---- what a file holds ---- */

static int holds_littlefs(const uint8_t *data, size_t len)
{
    /* the superblock's magic at byte 8 of block 0 or 1 (littlefs.md §5.1) */
    for (size_t block = 0; block < 2; block++) {
        size_t at = block * FS_BLOCK_SIZE + 8;
        if (at + 8 <= len && memcmp(data + at, "littlefs", 8) == 0)
            return 1;
    }
    return 0;
}

static int utf16_or_32_bom(const uint8_t *data, size_t len)
{
    return len >= 2 &&
           ((data[0] == 0xFF && data[1] == 0xFE) || (data[0] == 0xFE && data[1] == 0xFF) ||
            (len >= 4 && !data[0] && !data[1] && data[2] == 0xFE && data[3] == 0xFF));
}

static int looks_like_text(const uint8_t *data, size_t len)
{
    if (utf16_or_32_bom(data, len))
        return 1; /* the CSV reader decodes it */
    if (len == 0 || len > 0x100000)
        return 0;
    /* control characters, and 0xFE/0xFF, which UTF-8 never has (erased flash is all 0xFF) */
    for (size_t i = 0; i < len; i++)
        if ((data[i] < 0x20 && data[i] != '\t' && data[i] != '\n' && data[i] != '\r') ||
            data[i] >= 0xFE)
            return 0;
    return 1;
}

/* Whether the first line that is not blank or a comment has the four commas of a partition
 * row (name, type, subtype, offset, size: gen_esp32part needs the size). */
static int first_row_is_csv(const uint8_t *data, size_t len)
{
    if (utf16_or_32_bom(data, len))
        return 1;
    size_t i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && data[end] != '\n')
            end++;
        size_t k = i;
        while (k < end && strchr(" \t\r", data[k]))
            k++;
        if (k < end && data[k] != '#') {
            int commas = 0;
            for (; k < end; k++)
                commas += data[k] == ',';
            return commas >= 4;
        }
        i = end + 1;
    }
    return 0;
}

enum input_kind input_kind_of(const uint8_t *data, size_t len)
{
    if (len >= 2 && data[0] == PTABLE_ENTRY_MAGIC0 && data[1] == PTABLE_ENTRY_MAGIC1)
        return INPUT_TABLE;
    struct app_desc desc;
    struct image_header h;
    if (len >= IMAGE_HEADER_SIZE && data[0] == IMAGE_MAGIC) {
        /* a bootloader at 0 (a whole-flash dump) has no app descriptor */
        if (image_app_desc(data, len, &desc) == 0)
            return INPUT_APP;
        /* a bootloader alone (bootloader.bin of a build): the file ends where the image does,
         * before the partition table; a firmware cut short is padded past its bootloader */
        struct image_info info;
        if (image_header_parse(data, len, &h, NULL) == 0 &&
            chip_by_image_id(h.chip_id)->bootloader_offset + (uint64_t)len <= PTABLE_OFFSET &&
            image_inspect(data, len, &info, NULL) == 0 && info.total_size == len)
            return INPUT_APP;
    }
    if (holds_littlefs(data, len))
        return INPUT_LITTLEFS;
    if (looks_like_text(data, len)) {
        size_t i = 0;
        while (i < len && strchr(" \t\r\n", data[i]))
            i++;
        if (i < len && data[i] == '{')
            return INPUT_FLASHER_ARGS;
        if (first_row_is_csv(data, len))
            return INPUT_CSV;
    }
    return INPUT_FIRMWARE;
}

const char *input_kind_name(enum input_kind kind)
{
    switch (kind) {
    case INPUT_TABLE: return "partition table";
    case INPUT_CSV: return "partition table CSV";
    case INPUT_APP: return "app image";
    case INPUT_LITTLEFS: return "littlefs image";
    case INPUT_FLASHER_ARGS: return "flasher_args.json";
    case INPUT_FIRMWARE: break;
    }
    return "firmware";
}

/* The first option given that needs a whole firmware, or NULL. */
static const char *firmware_option(const struct tool_options *o, enum input_kind kind)
{
    if (o->extract_app)
        return "-x";
    if (o->flash_size && kind != INPUT_TABLE && kind != INPUT_CSV)
        return "-f";
    if (o->app_size)
        return "-a";
    if (o->check_app)
        return "--check-app";
    if (o->ota_update)
        return "--ota-update";
    if (o->from_csv)
        return "--from-csv";
    const struct {
        int count;
        const char *name;
    } lists[] = {
        {o->table.count, "--table"},       {o->delete_.count, "--delete"},
        {o->add.count, "--add"},           {o->resize.count, "--resize"},
        {o->rename.count, "--rename"},     {o->erase.count, "--erase"},
        {o->erase_fs.count, "--erase-fs"}, {o->read.count, "--read"},
        {o->write.count, "--write"},       {o->fs_count && kind != INPUT_LITTLEFS, "--fs"}};
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
        if (lists[i].count)
            return lists[i].name;
    if (o->flash_device)
        return "--flash";
    if (o->flash_mode)
        return "--flash-mode";
    if (o->flash_freq)
        return "--flash-freq";
    if (o->info)
        return "--info";
    return NULL;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

/* ---- partition tables ---- */

/* The flash a table fills: the end of its last partition, up to a power of two (1 MiB at
 * least), when -f does not say. */
static uint32_t table_flash_size(const struct ptable *t, int64_t given)
{
    if (given > 0)
        return (uint32_t)given;
    uint64_t end = 0;
    for (int i = 0; i < t->count; i++)
        if (t->parts[i].size > 0 && t->parts[i].offset + (uint64_t)t->parts[i].size > end)
            end = t->parts[i].offset + (uint64_t)t->parts[i].size;
    uint64_t size = MIB;
    while (size < end && size < CSV_FLASH_LIMIT)
        size <<= 1;
    return (uint32_t)size;
}

static int run_table(const struct tool_options *o, struct output *out, const char *data,
                     size_t len, int is_csv, struct error *err)
{
    const struct log *log = &out->log;
    struct ptable t;
    if (o->flash_size < 0 || o->flash_size > CSV_FLASH_LIMIT)
        return error_setk(err, ERROR_VALUE, "Invalid flash size: 0x%" PRIx64 ".",
                          (uint64_t)o->flash_size);
    if (is_csv) {
        uint32_t limit = o->flash_size ? (uint32_t)o->flash_size : CSV_FLASH_LIMIT;
        if (csv_parse_in_order(data, len, o->filename, limit, &t, err))
            return -1;
    } else {
        /* a table cut after its last row (--read --trim) reads as the erased flash after it */
        uint8_t sector[PTABLE_SIZE];
        memset(sector, 0xFF, sizeof sector);
        memcpy(sector, data, len < sizeof sector ? len : sizeof sector);
        if (ptable_parse(sector, sizeof sector, &t, err))
            return error_prefix(err, "%s", o->filename);
    }
    t.flash_size = table_flash_size(&t, o->flash_size);
    log_printf(log, LOG_INFO, "Found %s with %d partition%s.",
               input_kind_name(is_csv ? INPUT_CSV : INPUT_TABLE), t.count,
               t.count == 1 ? "" : "s");
    struct strbuf sb = {0};
    report_ptable(&t, out->box, &sb);
    output_block(out, LOG_INFO, strbuf_str(&sb));
    strbuf_free(&sb);
    /* the Python tool's complaints are worth seeing; what gen_esp32part refuses is refused */
    char warnings[2048] = "";
    struct error why;
    if (ptable_check(&t, warnings, sizeof warnings, &why))
        log_printf(log, LOG_WARNING, "Warning: %s", why.msg);
    char *save, *line = strtok_r(warnings, "\n", &save);
    for (; line; line = strtok_r(NULL, "\n", &save))
        log_printf(log, LOG_WARNING, "%s", line);
    int bad = ptable_check_idf(&t, is_csv, &why);
    if (!o->output) {
        if (bad)
            log_printf(log, LOG_WARNING, "Warning: %s", why.msg);
        return 0;
    }
    if (bad && !o->force) {
        error_setk(err, ERROR_PARTITION, "Refusing to write a broken partition table: %s",
                   why.msg);
        error_append(err, "\n  Use --force to write it anyway.");
        return -1;
    }
    int rc;
    if (ends_with(o->output, ".csv")) {
        struct strbuf csv = {0};
        rc = csv_write(&t, &csv, err);
        if (rc == 0)
            rc = localfile_write_atomic(o->output, csv.text ? csv.text : "", csv.len, o->filename,
                                        err);
        strbuf_free(&csv);
    } else {
        /* gen_esp32part writes the entries, the MD5 row and 0xFF up to 0xC00 bytes; the last
         * 1 KiB of the sector is left to a signature (esp-image-formats §7.1) */
        uint8_t bin[PTABLE_SIZE];
        rc = ptable_encode(&t, bin, err);
        if (rc == 0)
            rc = localfile_write_atomic(o->output, bin, PTABLE_DATA_SIZE, o->filename, err);
    }
    if (rc == 0)
        log_printf(log, LOG_ACTION, "Wrote the partition table to '%s'.", o->output);
    return rc;
}

/* ---- app images ---- */

static void hex_text(const uint8_t *bytes, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", bytes[i]);
}

static const char *memory_kind(const struct chip *chip, uint32_t addr)
{
    if (addr >= chip->drom_start && addr < chip->drom_end)
        return "DROM";
    if (addr >= chip->irom_start && addr < chip->irom_end)
        return "IROM";
    return "RAM";
}

static int run_app(const struct tool_options *o, struct output *out, const uint8_t *data,
                   size_t len, struct error *err)
{
    const struct log *log = &out->log;
    struct image_info info;
    if (image_inspect(data, len, &info, err))
        return error_prefix(err, "%s", o->filename);
    const struct chip *chip = chip_by_image_id(info.header.chip_id);
    const struct image_header *h = &info.header;
    char version[64];
    struct app_desc desc;
    int have_desc = image_app_desc(data, len, &desc) == 0;
    log_printf(
        log, LOG_OUTPUT, "%s image for %s (%s), %zu bytes in the file, %" PRIu32 " in the image.",
        have_desc ? "App" : "Bootloader", chip->name, chip->description, len, info.total_size);
    if (image_micropython_version(data, len, version, sizeof version) == 0)
        log_printf(log, LOG_OUTPUT, "MicroPython %s.", version);
    if (have_desc) {
        if (desc.project_name[0] || desc.version[0])
            log_printf(log, LOG_OUTPUT, "Project: %s %s", desc.project_name, desc.version);
        log_printf(log, LOG_OUTPUT, "ESP-IDF: %s", desc.idf_ver);
        log_printf(log, LOG_OUTPUT, "Compile time: %s %s", desc.date, desc.time);
        char sha[65];
        hex_text(desc.app_elf_sha256, 32, sha);
        log_printf(log, LOG_OUTPUT, "ELF file SHA256: %s", sha);
        log_printf(log, LOG_OUTPUT, "Secure version: %" PRIu32, desc.secure_version);
    }
    const char *mode = image_flash_mode_name(h->spi_mode);
    const char *freq = chip_flash_freq_name(chip, h->spi_speed);
    uint32_t size = image_flash_size_bytes(h->flash_size_id);
    char size_text[16] = "invalid";
    if (size)
        snprintf(size_text, sizeof size_text, "%" PRIu32 "MB", size / MIB);
    log_printf(log, LOG_OUTPUT, "Flash: mode %s, frequency %s, size %s", mode ? mode : "invalid",
               freq ? freq : "invalid", size_text);
    log_printf(log, LOG_OUTPUT, "Entry point: 0x%08" PRIx32, h->entry_addr);
    log_printf(log, LOG_OUTPUT, "Chip revision: v%u.%u to v%u.%u", h->min_rev_full / 100,
               h->min_rev_full % 100, h->max_rev_full / 100, h->max_rev_full % 100);
    log_printf(log, LOG_OUTPUT, "Segments: %u", h->segment_count);
    log_printf(log, LOG_OUTPUT, "  Segment   Length  Load addr   File offs  Memory");
    for (unsigned i = 0; i < h->segment_count; i++) {
        const struct image_segment *s = &info.segments[i];
        log_printf(log, LOG_OUTPUT,
                   "  %7u  0x%05" PRIx32 "  0x%08" PRIx32 "  0x%08" PRIx32 "  %s", i, s->size,
                   s->load_addr, s->file_offset, memory_kind(chip, s->load_addr));
    }
    char hex[65];
    if (info.checksum_ok)
        log_printf(log, LOG_OUTPUT, "Checksum: 0x%02x (valid)", info.checksum_stored);
    else
        log_printf(log, LOG_OUTPUT, "Checksum: 0x%02x (invalid: computed 0x%02x)",
                   info.checksum_stored, info.checksum_computed);
    int digest_bad = 0;
    if (h->hash_appended != 1) {
        log_printf(log, LOG_OUTPUT, "SHA-256: not appended");
    } else if ((uint64_t)info.size + IMAGE_DIGEST_SIZE > len) {
        log_printf(log, LOG_OUTPUT, "SHA-256: missing (the file ends before it)");
        digest_bad = 1;
    } else {
        hex_text(info.digest_computed, 32, hex);
        log_printf(log, LOG_OUTPUT, "SHA-256: %s (%s)", hex,
                   info.digest_ok ? "valid" : "invalid");
        digest_bad = !info.digest_ok;
    }
    if (o->output)
        return error_setk(err, ERROR_VALUE,
                          "-o: an app image is only shown; write it into a "
                          "firmware with --write or --ota-update");
    if (!info.checksum_ok || digest_bad)
        return error_setk(err, ERROR_VALUE, "%s: the image is broken (%s).", o->filename,
                          !info.checksum_ok ? "checksum mismatch" : "SHA-256 digest mismatch");
    return 0;
}

/* ---- littlefs images ---- */

/* The block size an image's superblock records (block 0: the inline struct after the
 * "littlefs" name, littlefs.md §5.1), when it is a plausible one that divides the file; else
 * MicroPython's. */
static uint32_t image_block_size(const uint8_t *data, size_t len)
{
    if (len >= 32 && memcmp(data + 8, "littlefs", 8) == 0) {
        uint32_t bs = get_le32(data + 24);
        if (bs >= FS_MIN_BLOCK_SIZE && bs <= FS_MAX_BLOCK_SIZE && !(bs & (bs - 1)) &&
            len % bs == 0)
            return bs;
    }
    return FS_BLOCK_SIZE;
}

static int run_littlefs(const struct tool_options *o, struct output *out, uint8_t *data,
                        size_t len, uint32_t block_size, int created, struct error *err)
{
    const struct log *log = &out->log;
    if (len > UINT32_MAX || len < 2 * (size_t)block_size) {
        free(data);
        return error_setk(err, ERROR_VALUE, "%s: a littlefs image of %zu bytes is not usable.",
                          o->filename, len);
    }
    struct flash_image img;
    if (flash_image_adopt(&img, data, (uint32_t)len, 0, (uint32_t)len, o->filename, err))
        return -1;
    /* the whole file is one partition, named as MicroPython names its filesystem */
    struct ptable t;
    memset(&t, 0, sizeof t);
    t.count = 1;
    t.flash_size = (uint32_t)len;
    t.parts[0] = (struct partition){"vfs",
                                    PART_TYPE_DATA,
                                    PART_SUBTYPE_DATA_LITTLEFS,
                                    0,
                                    (int64_t)(len / block_size * block_size),
                                    0};
    int rc = 0, changed = created;
    if (created) {
        struct fs_partition part = {
            "vfs", PART_TYPE_DATA, PART_SUBTYPE_DATA_LITTLEFS, 0, (uint32_t)t.parts[0].size,
            0,     block_size};
        struct fs_output fo = {.log = log};
        rc = fs_format(&img.flash, &part, fs_format_version_for(NULL), FS_FLUSH_AT_SYNC, &fo,
                       err);
    } else if (block_size != FS_BLOCK_SIZE) {
        log_printf(log, LOG_INFO, "Found littlefs image (%zu bytes, %" PRIu32 "-byte blocks).",
                   len, block_size);
    } else {
        log_printf(log, LOG_INFO, "Found littlefs image (%zu bytes).", len);
    }
    static char df[] = "df";
    char *df_words[] = {df};
    const struct wordlist df_cmd = {df_words, 1};
    int count = o->fs_count ? o->fs_count : 1;
    for (int i = 0; rc == 0 && i < count; i++) {
        int c = 0;
        rc = fs_command_on(&img.flash, &t, block_size, NULL, o->fs_count ? &o->fs[i] : &df_cmd,
                           created ? NULL : o->filename, out, &c, err);
        changed |= c;
    }
    char *name = NULL;
    if (rc == 0 && created) {
        name = strdup(o->output ? o->output : o->filename);
        if (!name)
            rc = error_setk(err, ERROR_OS, "out of memory");
    } else if (rc == 0 && (changed || o->output) && outname_firmware(o, &name)) {
        rc = error_setk(err, ERROR_OS, "out of memory");
    }
    if (rc == 0 && name) {
        uint32_t n;
        const uint8_t *bytes = flash_image_bytes(&img, &n);
        log_printf(log, LOG_ACTION, "Writing littlefs image: %s...", name);
        rc = localfile_write_atomic(name, bytes, n, created ? NULL : o->filename, err);
    }
    free(name);
    flash_close(&img.flash);
    return rc;
}

static int create_littlefs(const struct tool_options *o, struct output *out, struct error *err)
{
    int64_t bs = o->fs_block_size ? o->fs_block_size : FS_BLOCK_SIZE;
    if (bs < FS_MIN_BLOCK_SIZE || bs > FS_MAX_BLOCK_SIZE || (bs & (bs - 1)))
        return error_setk(err, ERROR_VALUE,
                          "--fs-block-size: %" PRId64 " is not a power of two from %u to %u", bs,
                          FS_MIN_BLOCK_SIZE, FS_MAX_BLOCK_SIZE);
    int64_t size = o->new_littlefs;
    if (size < 2 * bs || size % bs || size > UINT32_MAX)
        return error_setk(err, ERROR_VALUE,
                          "--new-littlefs: %" PRId64 " is not a whole number of %" PRId64
                          "-byte blocks (at least 2)",
                          size, bs);
    struct stat st;
    if (!o->output && stat(o->filename, &st) == 0)
        return error_setk(err, ERROR_FILE,
                          "%s exists: --new-littlefs creates a new file (give "
                          "another name, or -o)",
                          o->filename);
    uint8_t *data = malloc((size_t)size);
    if (!data)
        return error_setk(err, ERROR_OS, "out of memory for a %" PRId64 "-byte image", size);
    memset(data, 0xFF, (size_t)size);
    log_printf(&out->log, LOG_ACTION,
               "Creating littlefs image %s (%" PRId64 " blocks of %" PRId64 " bytes)...",
               o->output ? o->output : o->filename, size / bs, bs);
    return run_littlefs(o, out, data, (size_t)size, (uint32_t)bs, 1, err);
}

/* ---- dispatch ---- */

int standalone_run(const struct tool_options *opt, struct output *out, int *handled,
                   struct error *err)
{
    *handled = 0;
    if (opt->is_device || opt->merge.count)
        return 0;
    if (opt->fs_block_size && !opt->new_littlefs) {
        *handled = 1;
        return error_setk(err, ERROR_VALUE,
                          "--fs-block-size needs --new-littlefs (an image's "
                          "own block size is read from it)");
    }
    if (opt->new_littlefs) {
        *handled = 1;
        const char *bad = firmware_option(opt, INPUT_LITTLEFS);
        if (bad)
            return error_setk(err, ERROR_VALUE, "%s cannot be used with --new-littlefs", bad);
        return create_littlefs(opt, out, err);
    }
    char *data;
    size_t len;
    if (localfile_read(opt->filename, &data, &len, err))
        return -1;
    enum input_kind kind = input_kind_of((const uint8_t *)data, len);
    if (kind == INPUT_FIRMWARE || kind == INPUT_FLASHER_ARGS) {
        free(data);
        return 0;
    }
    *handled = 1;
    const char *bad = firmware_option(opt, kind);
    if (bad) {
        free(data);
        return error_setk(err, ERROR_VALUE, "%s needs a firmware, but %s is a %s", bad,
                          opt->filename, input_kind_name(kind));
    }
    int rc;
    switch (kind) {
    case INPUT_TABLE:
    case INPUT_CSV: rc = run_table(opt, out, data, len, kind == INPUT_CSV, err); break;
    case INPUT_APP: rc = run_app(opt, out, (const uint8_t *)data, len, err); break;
    case INPUT_LITTLEFS:
        return run_littlefs(opt, out, (uint8_t *)data, len,
                            image_block_size((const uint8_t *)data, len), 0, err);
    default: rc = 0; break;
    }
    free(data);
    return rc;
}
