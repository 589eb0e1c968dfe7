/* Synthetic firmware generator. Layout facts: esp-image-formats.md §1-§3 (image), §2 (flash
 * mapped segment alignment), §5 (descriptors), §6 (merged release file), §7 (table). */
#include "synth/synth.h"
#include "util/digest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esp/image.h"
#include "util/bytes.h"

#define MIB 0x100000u
#define PAGE 0x10000u /* MMU page: flash-mapped data offset == load address (mod 64 KiB) */
#define APP_MIN_SIZE 0x20000u
#define APP_DEFAULT_SIZE 1500000u
#define BANNER_DATE "2026-01-01"

static uint32_t next_random(uint32_t *s)
{
    /* xorshift32: cheap, deterministic filler */
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static void fill_random(uint8_t *p, size_t n, uint32_t *s)
{
    while (n >= 4) {
        uint32_t v = next_random(s);
        memcpy(p, &v, 4);
        p += 4;
        n -= 4;
    }
    while (n--)
        *p++ = (uint8_t)next_random(s);
}

/* ---- image builder: header, segments, checksum, digest ---- */

struct builder {
    uint8_t *buf;
    size_t pos;
    uint8_t checksum;
    int segments;
};

static void builder_start(struct builder *b, uint8_t *buf, const struct chip *chip,
                          uint8_t size_id, uint32_t entry)
{
    const struct chip_build *build = &chip->build;
    b->buf = buf;
    b->pos = IMAGE_HEADER_SIZE;
    b->checksum = 0xEF;
    b->segments = 0;
    memset(buf, 0, IMAGE_HEADER_SIZE);
    buf[0] = IMAGE_MAGIC;
    buf[2] = 2; /* DIO, as every MicroPython release */
    buf[3] = (uint8_t)((size_id << 4) | build->spi_speed);
    put_le32(buf + 4, entry);
    buf[8] = 0xEE; /* WP pin: disabled */
    put_le16(buf + 12, chip->image_id);
    put_le16(buf + 17, build->max_rev_full);
    buf[23] = 1; /* SHA-256 digest appended */
}

/* Adds a segment header; returns a pointer to its data for the caller to fill. */
static uint8_t *builder_segment(struct builder *b, uint32_t load, uint32_t len)
{
    put_le32(b->buf + b->pos, load);
    put_le32(b->buf + b->pos + 4, len);
    b->pos += IMAGE_SEGMENT_HEADER_SIZE;
    uint8_t *data = b->buf + b->pos;
    b->pos += len;
    b->segments++;
    return data;
}

/* Checksum over every segment's data, padding, checksum byte, digest; returns the total size. */
static size_t builder_finish(struct builder *b)
{
    b->buf[1] = (uint8_t)b->segments;
    size_t p = IMAGE_HEADER_SIZE;
    for (int i = 0; i < b->segments; i++) {
        uint32_t len = (uint32_t)b->buf[p + 4] | ((uint32_t)b->buf[p + 5] << 8) |
                       ((uint32_t)b->buf[p + 6] << 16) | ((uint32_t)b->buf[p + 7] << 24);
        p += IMAGE_SEGMENT_HEADER_SIZE;
        for (uint32_t k = 0; k < len; k++)
            b->checksum ^= b->buf[p + k];
        p += len;
    }
    size_t size = (b->pos + 1 + 15) & ~(size_t)15;
    memset(b->buf + b->pos, 0, size - b->pos);
    b->buf[size - 1] = b->checksum;
    digest_sha256(b->buf, size, b->buf + size);
    return size + IMAGE_DIGEST_SIZE;
}

/* ---- options ---- */

void synth_defaults(struct synth_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->chip = chip_by_name("esp32");
    opt->flash_size = 4 * MIB;
    opt->seed = 1;
}

struct resolved {
    const struct chip *chip;
    uint32_t flash_size;
    int size_id;
    uint32_t seed;
    const char *version;
};

static int resolve(const struct synth_options *opt, struct resolved *r, struct error *err)
{
    r->chip = opt->chip ? opt->chip : chip_by_name("esp32");
    r->flash_size = opt->flash_size ? opt->flash_size : 4 * MIB;
    r->size_id = image_flash_size_id(r->flash_size);
    if (r->size_id < 0)
        return error_setk(err, ERROR_VALUE,
                          "Flash size 0x%x is not a power of two from 1MB to 128MB.",
                          r->flash_size);
    r->seed = opt->seed ? opt->seed : 1;
    r->version = opt->version ? opt->version : "v1.99.0";
    size_t n = strlen(r->version);
    if (n == 0 || n > 32 || strchr(r->version, ' '))
        return error_setk(err, ERROR_VALUE, "Invalid banner version '%s'.", r->version);
    return 0;
}

/* ---- table ---- */

static void add_part(struct ptable *t, const char *name, uint8_t type, uint8_t subtype,
                     uint32_t offset, uint32_t size)
{
    struct partition *p = &t->parts[t->count++];
    memset(p, 0, sizeof *p);
    strncpy(p->name, name, PTABLE_LABEL_MAX);
    p->type = type;
    p->subtype = subtype;
    p->offset = offset;
    p->size = size;
}

int synth_table(const struct synth_options *opt, struct ptable *table, struct error *err)
{
    struct resolved r;
    if (resolve(opt, &r, err) < 0)
        return -1;
    uint32_t flash = r.flash_size;
    uint32_t app = opt->app_part_size;
    /* MicroPython's CSVs: partitions-4MiBplus / 2MiB and the -ota variants; the 1 MiB sizes are
     * ours (MicroPython has no 1 MiB table). */
    if (!app) {
        if (opt->ota)
            app = flash >= 8 * MIB ? 0x270000 : flash >= 4 * MIB ? 0x180000
                                            : flash >= 2 * MIB ? 0xF0000 : 0x70000;
        else
            app = flash >= 4 * MIB ? 0x1F0000 : flash >= 2 * MIB ? 0x160000 : 0xC0000;
    }
    if (app % (opt->ota ? PAGE : 0x1000u))
        return error_setk(err, ERROR_VALUE, "App partition size 0x%x is not a multiple of 0x%x.",
                          app, opt->ota ? PAGE : 0x1000u);
    memset(table, 0, sizeof *table);
    table->flash_size = flash;
    uint64_t end;
    if (opt->ota) {
        add_part(table, "nvs", PART_TYPE_DATA, PART_SUBTYPE_DATA_NVS, 0x9000, 0x4000);
        add_part(table, "otadata", PART_TYPE_DATA, PART_SUBTYPE_DATA_OTA, 0xD000, 0x2000);
        add_part(table, "phy_init", PART_TYPE_DATA, PART_SUBTYPE_DATA_PHY, 0xF000, 0x1000);
        end = 0x10000 + 2 * (uint64_t)app;
        if (end <= flash) {
            add_part(table, "ota_0", PART_TYPE_APP, PART_SUBTYPE_OTA_0, 0x10000, app);
            add_part(table, "ota_1", PART_TYPE_APP, PART_SUBTYPE_OTA_0 + 1, 0x10000 + app, app);
        }
    } else {
        add_part(table, "nvs", PART_TYPE_DATA, PART_SUBTYPE_DATA_NVS, 0x9000, 0x6000);
        add_part(table, "phy_init", PART_TYPE_DATA, PART_SUBTYPE_DATA_PHY, 0xF000, 0x1000);
        end = 0x10000 + (uint64_t)app;
        if (end <= flash)
            add_part(table, "factory", PART_TYPE_APP, PART_SUBTYPE_FACTORY, 0x10000, app);
    }
    if (end > flash || (!opt->no_vfs && end == flash))
        return error_setk(err, ERROR_VALUE,
                          "App partitions of 0x%x bytes do not fit in %u MB flash%s.", app,
                          flash / MIB, opt->no_vfs ? "" : " with a vfs partition");
    if (!opt->no_vfs)
        add_part(table, "vfs", PART_TYPE_DATA, PART_SUBTYPE_DATA_FAT, (uint32_t)end,
                 (uint32_t)(flash - end));
    return 0;
}

/* ---- bootloader ---- */

int synth_bootloader(const struct synth_options *opt, struct synth_buffer *out,
                     struct error *err)
{
    memset(out, 0, sizeof *out);
    struct resolved r;
    if (resolve(opt, &r, err) < 0)
        return -1;
    const struct chip_build *build = &r.chip->build;
    const uint32_t dram_len = 0x1000, loader_len = 0x3000, iram_len = 0xD00;
    size_t cap = IMAGE_HEADER_SIZE + 3 * IMAGE_SEGMENT_HEADER_SIZE + dram_len + loader_len +
                 iram_len + 16 + IMAGE_DIGEST_SIZE;
    uint8_t *buf = calloc(1, cap);
    if (!buf)
        return error_setk(err, ERROR_OS, "Out of memory.");
    uint32_t seed = r.seed ^ 0xB007B007u;
    struct builder b;
    builder_start(&b, buf, r.chip, (uint8_t)r.size_id, build->boot_iram + 0x10);
    /* DRAM segment starting with esp_bootloader_desc_t (§5.2): magic 0x50, version 1 */
    uint8_t *d = builder_segment(&b, build->boot_dram, dram_len);
    fill_random(d, dram_len, &seed);
    memset(d, 0, 80);
    d[0] = 0x50;
    put_le32(d + 4, 1);
    memcpy(d + 8, "v5.5.1", 6);
    memcpy(d + 40, "Jan  1 2026 00:00:00", 20);
    fill_random(builder_segment(&b, build->boot_iram_loader, loader_len), loader_len, &seed);
    fill_random(builder_segment(&b, build->boot_iram, iram_len), iram_len, &seed);
    out->data = buf;
    out->len = builder_finish(&b);
    out->bootloader_size = (uint32_t)out->len;
    return 0;
}

/* ---- app ---- */

static void write_app_desc(uint8_t *d, uint32_t *seed)
{
    /* esp_app_desc_t (§5.1) as MicroPython builds it: version and project name empty */
    memset(d, 0, 256);
    put_le32(d, APP_DESC_MAGIC);
    memcpy(d + 0x50, "00:00:00", 8);
    memcpy(d + 0x60, "Jan  1 2026", 11);
    memcpy(d + 0x70, "v5.5.1", 6);
    fill_random(d + 0x90, 32, seed); /* stands for the ELF's SHA-256 */
    d[0xB4] = 16;                    /* log2 of the 64 KiB MMU page */
}

int synth_app(const struct synth_options *opt, struct synth_buffer *out, struct error *err)
{
    memset(out, 0, sizeof *out);
    struct resolved r;
    if (resolve(opt, &r, err) < 0)
        return -1;
    uint32_t total = opt->app_size ? opt->app_size : APP_DEFAULT_SIZE;
    if (total > 64 * MIB)
        return error_setk(err, ERROR_VALUE, "App size %u is too large.", total);
    total = (total + 15) & ~15u;
    if (total < APP_MIN_SIZE)
        return error_setk(err, ERROR_VALUE, "App size %u is too small (at least %u bytes).", total,
                          APP_MIN_SIZE);
    const struct chip *chip = r.chip;
    const struct chip_build *build = &chip->build;

    /* Plan: DROM (descriptor + banner), DRAM, IRAM, padding, IROM filling up to the end. The
     * body must end at total - 36 so that checksum padding + digest give exactly `total`. */
    const uint32_t dram_len = 0x1000, iram_len = 0x4000;
    uint32_t drom_len = (total / 10 * 3) & ~3u;
    uint32_t body_end = total - 36;
    uint32_t pos = IMAGE_HEADER_SIZE + 3 * IMAGE_SEGMENT_HEADER_SIZE + drom_len + dram_len +
                   iram_len;
    uint32_t pad_len = 0;
    int need_pad = ((pos + IMAGE_SEGMENT_HEADER_SIZE) & (PAGE - 1)) != 0x20;
    if (need_pad) {
        /* esptool's padding segment: load address 0, zeros, so the IROM data lands on 0x20
         * within a page */
        pad_len = (0x20u - (pos + 2 * IMAGE_SEGMENT_HEADER_SIZE)) & (PAGE - 1);
        pos += IMAGE_SEGMENT_HEADER_SIZE + pad_len;
    }
    uint32_t irom_data = pos + IMAGE_SEGMENT_HEADER_SIZE;
    if (irom_data + 0x100 > body_end)
        return error_setk(err, ERROR_VALUE, "App size %u is too small.", total);
    uint32_t irom_len = body_end - irom_data;

    /* Virtual addresses: IROM at the start of its window; DROM at the start of its window,
     * or after the IROM pages when both share one window (C6, H2, P4, ...). */
    uint32_t irom_load = chip->irom_start + 0x20;
    uint32_t drom_load = chip->drom_start + 0x20;
    if (chip->drom_start < chip->irom_end && chip->irom_start < chip->drom_end)
        drom_load = chip->irom_start + ((0x20 + irom_len + PAGE - 1) & ~(PAGE - 1)) + 0x20;
    if ((uint64_t)drom_load + drom_len > chip->drom_end ||
        (uint64_t)irom_load + irom_len > chip->irom_end)
        return error_setk(err, ERROR_VALUE, "App size %u does not fit the %s address space.",
                          total, chip->description);

    uint8_t *buf = calloc(1, total);
    if (!buf)
        return error_setk(err, ERROR_OS, "Out of memory.");
    uint32_t seed = r.seed;
    struct builder b;
    builder_start(&b, buf, chip, (uint8_t)r.size_id, build->app_iram + 0x400);
    uint8_t *drom = builder_segment(&b, drom_load, drom_len);
    fill_random(drom, drom_len, &seed);
    write_app_desc(drom, &seed);
    /* The banner as MicroPython's DROM holds it: text, NUL, then the board string. */
    char banner[160];
    int blen = snprintf(banner, sizeof banner, "MicroPython %s on " BANNER_DATE, r.version);
    int board = snprintf(banner + blen + 1, sizeof banner - (size_t)blen - 1,
                         "; Synthetic module with %s", chip->description);
    memcpy(drom + 0x1000, banner, (size_t)blen + 1 + (size_t)board + 1);
    fill_random(builder_segment(&b, build->app_dram, dram_len), dram_len, &seed);
    fill_random(builder_segment(&b, build->app_iram, iram_len), iram_len, &seed);
    if (need_pad)
        builder_segment(&b, 0, pad_len); /* zeros from calloc */
    fill_random(builder_segment(&b, irom_load, irom_len), irom_len, &seed);
    size_t len = builder_finish(&b);
    if (len != total) {
        free(buf);
        return error_setk(err, ERROR_GENERIC, "Internal error: app image is %zu bytes, not %u.",
                          len, total);
    }
    out->data = buf;
    out->len = len;
    out->app_size = (uint32_t)len;
    return 0;
}

/* ---- whole firmware ---- */

int synth_firmware(const struct synth_options *opt, enum synth_layout layout,
                   struct synth_buffer *out, struct error *err)
{
    memset(out, 0, sizeof *out);
    struct resolved r;
    if (resolve(opt, &r, err) < 0)
        return -1;
    struct ptable table;
    if (synth_table(opt, &table, err) < 0)
        return -1;
    int app_index = ptable_first_app(&table);
    const struct partition *app_part = &table.parts[app_index];
    struct synth_options app_opt = *opt;
    if (!app_opt.app_size) {
        /* the default app, made smaller when the partition is */
        uint32_t fit = (uint32_t)app_part->size - PAGE;
        app_opt.app_size = APP_DEFAULT_SIZE < fit ? APP_DEFAULT_SIZE : fit;
    }
    struct synth_buffer boot, app;
    if (synth_bootloader(opt, &boot, err) < 0)
        return -1;
    if (synth_app(&app_opt, &app, err) < 0) {
        synth_buffer_free(&boot);
        return -1;
    }
    int rc = -1;
    uint32_t boot_off = r.chip->bootloader_offset;
    if (app.len > (uint64_t)app_part->size) {
        error_setk(err, ERROR_VALUE, "App image (%zu bytes) exceeds '%s' partition size (%lld).",
                   app.len, app_part->name, (long long)app_part->size);
        goto done;
    }
    if (boot_off + boot.len > PTABLE_OFFSET) {
        error_setk(err, ERROR_VALUE, "Bootloader does not fit below the partition table.");
        goto done;
    }
    uint32_t base = layout == SYNTH_RELEASE ? boot_off : 0;
    uint32_t end = layout == SYNTH_FULL_FLASH ? r.flash_size
                                              : app_part->offset + (uint32_t)app.len;
    uint8_t *buf = malloc(end - base);
    if (!buf) {
        error_setk(err, ERROR_OS, "Out of memory.");
        goto done;
    }
    memset(buf, 0xFF, end - base);
    memcpy(buf + (boot_off - base), boot.data, boot.len);
    if (ptable_encode(&table, buf + (PTABLE_OFFSET - base), err) < 0) {
        free(buf);
        goto done;
    }
    memcpy(buf + (app_part->offset - base), app.data, app.len);
    out->data = buf;
    out->len = end - base;
    out->base = base;
    out->bootloader_size = (uint32_t)boot.len;
    out->app_offset = app_part->offset;
    out->app_size = (uint32_t)app.len;
    rc = 0;
done:
    synth_buffer_free(&boot);
    synth_buffer_free(&app);
    return rc;
}

void synth_buffer_free(struct synth_buffer *buf)
{
    if (!buf)
        return;
    free(buf->data);
    buf->data = NULL;
    buf->len = 0;
}
