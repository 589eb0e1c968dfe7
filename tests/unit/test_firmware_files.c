/* Every firmware file in $MP_SHARED_DIR/firmware: detect chip and start address, verify the
 * bootloader and every app (checksum, SHA-256), parse the partition table (MD5), compare with the
 * tables listed in MANIFEST.md, find the MicroPython version. Also synthetic firmware for every
 * chip through the same checks, and damaged inputs that must fail cleanly. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "esp/image.h"
#include "esp/otadata.h"
#include "esp/ptable.h"
#include "synth/synth.h"
#include "test_shared.h"

/* ---- a whole-file inspection built from the library calls ---- */

enum fw_kind { FW_MERGED, FW_APP, FW_BOOTLOADER, FW_TABLE, FW_ERASED };

struct fw_report {
    enum fw_kind kind;
    const struct chip *chip;
    uint32_t start; /* flash address of file offset 0 */
    uint8_t flash_size_id;
    struct ptable table;
    int apps_verified;
    char version[64];
    struct app_desc desc;
};

static int all_ff(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0xFF)
            return 0;
    return 1;
}

static int verify_image(const uint8_t *p, size_t n, const char *what, struct image_info *info,
                        struct error *err)
{
    if (image_inspect(p, n, info, err) < 0)
        return error_prefix(err, "%s", what);
    if (!info->checksum_ok)
        return error_set(err, "%s: checksum mismatch", what);
    if (info->header.hash_appended == 1 && !info->digest_ok)
        return error_set(err, "%s: SHA-256 mismatch", what);
    return 0;
}

/* Flash-mapped segments (load address in the chip's IROM/DROM window) have their data at a
 * file offset congruent to the load address modulo the 64 KiB MMU page (§2); checks the chip
 * table's windows against real images, and the rule the generator follows. */
static int check_mapped_segments(const uint8_t *p, size_t n, const struct chip *chip,
                                 struct error *err)
{
    size_t pos = IMAGE_HEADER_SIZE;
    int mapped = 0;
    for (int i = 0; i < p[1] && pos + 8 <= n; i++) {
        uint32_t load = (uint32_t)p[pos] | ((uint32_t)p[pos + 1] << 8) |
                        ((uint32_t)p[pos + 2] << 16) | ((uint32_t)p[pos + 3] << 24);
        uint32_t len = (uint32_t)p[pos + 4] | ((uint32_t)p[pos + 5] << 8) |
                       ((uint32_t)p[pos + 6] << 16) | ((uint32_t)p[pos + 7] << 24);
        pos += 8;
        if ((load >= chip->drom_start && load < chip->drom_end) ||
            (load >= chip->irom_start && load < chip->irom_end)) {
            if (pos % 0x10000 != load % 0x10000)
                return error_set(err, "segment %d at 0x%x maps 0x%x: not page aligned", i,
                                 (unsigned)pos, load);
            mapped++;
        }
        pos += len;
    }
    if (mapped < 2)
        return error_set(err, "%d flash-mapped segments (IROM and DROM expected)", mapped);
    return 0;
}

static int verify_app(const uint8_t *p, size_t n, struct fw_report *r, struct error *err)
{
    struct image_header h;
    if (image_header_parse(p, n, &h, err) < 0)
        return error_prefix(err, "app");
    if (r->chip && h.chip_id != r->chip->image_id)
        return error_set(err, "app chip id %u differs from the bootloader's", h.chip_id);
    struct image_info info;
    if (verify_image(p, n, "app", &info, err) < 0)
        return -1;
    if (image_app_desc(p, n, &r->desc) < 0)
        return error_set(err, "app descriptor not found");
    if (check_mapped_segments(p, n, chip_by_image_id(h.chip_id), err) < 0)
        return -1;
    if (!r->version[0] && image_micropython_version(p, n, r->version, sizeof r->version) < 0)
        return error_set(err, "MicroPython banner not found");
    r->apps_verified++;
    return 0;
}

static int inspect_firmware(const uint8_t *data, size_t len, struct fw_report *r,
                            struct error *err)
{
    memset(r, 0, sizeof *r);
    struct image_header h;
    size_t boot_at;
    if (len >= 2 && data[0] == 0xAA && data[1] == 0x50) {
        r->kind = FW_TABLE;
        return ptable_parse(data, len, &r->table, err);
    }
    if (len > 0 && all_ff(data, len)) {
        r->kind = FW_ERASED;
        return 0;
    }
    if (len > 0 && data[0] == IMAGE_MAGIC) {
        if (image_header_parse(data, len, &h, err) < 0)
            return -1;
        r->chip = chip_by_image_id(h.chip_id);
        r->start = r->chip->bootloader_offset;
        boot_at = 0;
    } else {
        /* a full-flash image: 0xFF up to the bootloader offset of its chip */
        size_t first = 0;
        while (first < len && data[first] == 0xFF)
            first++;
        if (first == len || first == 0 || data[first] != IMAGE_MAGIC)
            return error_set(err, "not a firmware file");
        if (image_header_parse(data + first, len - first, &h, err) < 0)
            return -1;
        r->chip = chip_by_image_id(h.chip_id);
        if (r->chip->bootloader_offset != first)
            return error_set(err, "image at 0x%zx, but %s boots from 0x%x", first,
                             r->chip->name, r->chip->bootloader_offset);
        r->start = 0;
        boot_at = first;
    }
    r->flash_size_id = h.flash_size_id;
    size_t table_at = PTABLE_OFFSET - r->start;
    int merged = len >= table_at + 2 && data[table_at] == 0xAA && data[table_at + 1] == 0x50;
    if (!merged) {
        if (boot_at != 0)
            return error_set(err, "full-flash image without a partition table");
        /* a single image (app or bootloader): nothing but 0xFF may follow it */
        int is_app = image_app_desc(data, len, &r->desc) == 0;
        r->kind = is_app ? FW_APP : FW_BOOTLOADER;
        struct image_info info;
        if (verify_image(data, len, is_app ? "app" : "bootloader", &info, err) < 0)
            return -1;
        if (!all_ff(data + info.total_size, len - info.total_size))
            return error_set(err, "data after the image at 0x%x", info.total_size);
        if (is_app) {
            if (check_mapped_segments(data, len, r->chip, err) < 0)
                return -1;
            if (image_micropython_version(data, len, r->version, sizeof r->version) < 0)
                return error_set(err, "MicroPython banner not found");
            r->apps_verified = 1;
        }
        return 0;
    }
    r->kind = FW_MERGED;
    struct image_info info;
    if (verify_image(data + boot_at, table_at - boot_at, "bootloader", &info, err) < 0)
        return -1;
    size_t tlen = len - table_at < PTABLE_SIZE ? len - table_at : PTABLE_SIZE;
    if (ptable_parse(data + table_at, tlen, &r->table, err) < 0)
        return -1;
    r->table.flash_size = image_flash_size_bytes(h.flash_size_id);
    for (int i = 0; i < r->table.count; i++) {
        const struct partition *p = &r->table.parts[i];
        if (p->type != PART_TYPE_APP || p->offset < r->start || p->offset - r->start >= len)
            continue;
        size_t at = p->offset - r->start;
        size_t n = len - at;
        if ((uint64_t)p->size < n)
            n = (size_t)p->size;
        if (verify_app(data + at, n, r, err) < 0)
            return error_prefix(err, "partition '%s'", p->name);
    }
    if (r->apps_verified == 0)
        return error_set(err, "no app image in the file");
    return 0;
}

/* ---- expected facts from MANIFEST.md ---- */

struct row {
    const char *name;
    uint8_t type, subtype;
    uint32_t offset, size;
};

#define STOCK_ROWS                                                                                \
    {"nvs", 1, 0x02, 0x9000, 0x6000}, {"phy_init", 1, 0x01, 0xF000, 0x1000},                      \
        {"factory", 0, 0x00, 0x10000, 0x1F0000}
#define OTA_ROWS                                                                                  \
    {"nvs", 1, 0x02, 0x9000, 0x4000}, {"otadata", 1, 0x00, 0xD000, 0x2000},                       \
        {"phy_init", 1, 0x01, 0xF000, 0x1000}, {"ota_0", 0, 0x10, 0x10000, 0x180000},             \
        {"ota_1", 0, 0x11, 0x190000, 0x180000}, {"vfs", 1, 0x81, 0x310000, 0xF0000}

struct expected {
    const char *file;
    enum fw_kind kind;
    const char *chip;
    uint32_t start;
    uint8_t flash_size_id;
    const char *version;
    const char *idf_ver;
    int rows;
    struct row table[6];
};

static const struct expected manifest[] = {
    {"ESP32_GENERIC-20240602-v1.23.0.bin", FW_MERGED, "esp32", 0x1000, 2, "v1.23.0", "v5.0.4", 4,
     {STOCK_ROWS, {"vfs", 1, 0x81, 0x200000, 0x200000}}},
    {"ESP32_GENERIC_C3-20240602-v1.23.0.bin", FW_MERGED, "esp32c3", 0, 2, "v1.23.0", "v5.0.4", 4,
     {STOCK_ROWS, {"vfs", 1, 0x81, 0x200000, 0x200000}}},
    {"ESP32_GENERIC_S2-20240602-v1.23.0.bin", FW_MERGED, "esp32s2", 0x1000, 2, "v1.23.0",
     "v5.0.4", 4, {STOCK_ROWS, {"vfs", 1, 0x81, 0x200000, 0x200000}}},
    {"ESP32_GENERIC_S3-FLASH_4M-20240602-v1.23.0.bin", FW_MERGED, "esp32s3", 0, 2, "v1.23.0",
     "v5.0.4", 4, {STOCK_ROWS, {"vfs", 1, 0x81, 0x200000, 0x200000}}},
    {"ESP32_GENERIC_C6-20241129-v1.24.1.bin", FW_MERGED, "esp32c6", 0, 2, "v1.24.1", "v5.2.2", 4,
     {STOCK_ROWS, {"vfs", 1, 0x81, 0x200000, 0x200000}}},
    {"ESP32_GENERIC_S3-SPIRAM_OCT-20250809-v1.26.0.bin", FW_MERGED, "esp32s3", 0, 2, "v1.26.0",
     "v5.4.2", 3, {STOCK_ROWS}},
    {"ESP32_GENERIC-SPIRAM-20250809-v1.26.0.bin", FW_MERGED, "esp32", 0x1000, 2, "v1.26.0",
     "v5.4.2", 3, {STOCK_ROWS}},
    {"GENERIC_S3-20220618-v1.19.1.bin", FW_MERGED, "esp32s3", 0, 3, "v1.19.1", "v4.4.1", 4,
     {STOCK_ROWS, {"vfs", 1, 0x81, 0x200000, 0x600000}}},
    {"esp32spiram-20220117-v1.18.bin", FW_MERGED, "esp32", 0x1000, 2, "v1.18", "v4.2.2", 4,
     {{"nvs", 1, 0x02, 0x9000, 0x6000},
      {"phy_init", 1, 0x01, 0xF000, 0x1000},
      {"factory", 0, 0x00, 0x10000, 0x180000},
      {"vfs", 1, 0x81, 0x200000, 0x200000}}},
    {"esp32-20230426-v1.20.0.bin", FW_MERGED, "esp32", 0x1000, 2, "v1.20.0", "v4.2.4", 4,
     {STOCK_ROWS, {"vfs", 1, 0x81, 0x200000, 0x200000}}},
    {"firmware-esp32-GENERIC_OTA.bin", FW_MERGED, "esp32", 0x1000, 2, "v1.20.0-2-gcc4c716f6",
     "v4.4.4-433-g3cec3a0026", 6, {OTA_ROWS}},
    {"firmware-esp32-GENERIC_D2WD.bin", FW_MERGED, "esp32", 0x1000, 1,
     "v1.19.1-espnow-6-g44f65965b", "v4.4.1-405-g6c5fb29c2c", 4,
     {{"nvs", 1, 0x02, 0x9000, 0x6000},
      {"phy_init", 1, 0x01, 0xF000, 0x1000},
      {"factory", 0, 0x00, 0x10000, 0x160000},
      {"vfs", 1, 0x81, 0x170000, 0x50000}}},
    {"lvgl_micropy_ESP32_GENERIC.bin", FW_MERGED, "esp32", 0, 2, "1.23.0", "11eaf41b", 4,
     {{"nvs", 1, 0x02, 0x9000, 0x6000},
      {"phy_init", 1, 0x01, 0xF000, 0x1000},
      {"factory", 0, 0x00, 0x10000, 0x27C000},
      {"vfs", 1, 0x82, 0x28C000, 0x174000}}},
    {"tomsci__tidal-ota/micropython.bin", FW_APP, "esp32s3", 0, 3, "afceb56-dirty", "8c8f700", 0,
     {{0}}},
    {"keenanjohnson__ota-micropython-esp32-example/micropython.bin", FW_APP, "esp32s3", 0, 2,
     "b4f53a0", "v5.3.2", 0, {{0}}},
    {"keenanjohnson__ota-micropython-esp32-example/bootloader.bin", FW_BOOTLOADER, "esp32s3", 0,
     2, NULL, NULL, 0, {{0}}},
    {"keenanjohnson__ota-micropython-esp32-example/partition-table.bin", FW_TABLE, NULL, 0, 0,
     NULL, NULL, 6, {OTA_ROWS}},
    {"keenanjohnson__ota-micropython-esp32-example/ota_data_initial.bin", FW_ERASED, NULL, 0, 0,
     NULL, NULL, 0, {{0}}},
};
#define MANIFEST_COUNT (sizeof manifest / sizeof manifest[0])

/* ---- file helpers ---- */

static const char *shared_firmware_dir(char *buf, size_t size)
{
    const char *dir = getenv("MP_SHARED_DIR");
    if (!dir)
        return NULL;
    snprintf(buf, size, "%s/firmware", dir);
    struct stat st;
    if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
        return NULL;
    return buf;
}

static void compare_with_manifest(const struct expected *e, const struct fw_report *r)
{
    assert_int_equal(r->kind, e->kind);
    if (e->chip) {
        assert_non_null(r->chip);
        assert_string_equal(r->chip->name, e->chip);
        assert_int_equal(r->start, e->start);
        assert_int_equal(r->flash_size_id, e->flash_size_id);
    }
    if (e->version)
        assert_string_equal(r->version, e->version);
    if (e->idf_ver)
        assert_string_equal(r->desc.idf_ver, e->idf_ver);
    assert_int_equal(r->table.count, e->rows);
    for (int i = 0; i < e->rows; i++) {
        const struct partition *p = &r->table.parts[i];
        assert_string_equal(p->name, e->table[i].name);
        assert_int_equal(p->type, e->table[i].type);
        assert_int_equal(p->subtype, e->table[i].subtype);
        assert_int_equal(p->offset, e->table[i].offset);
        assert_int_equal(p->size, e->table[i].size);
        assert_int_equal(p->flags, 0);
    }
}

/* Visit every .bin in the folder and one level of sub-folders. */
static int walk(const char *dir, const char *prefix, int *known, int *unknown)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *ent;
    int files = 0;
    while ((ent = readdir(d)) != NULL) {
        if (ent->d_name[0] == '.')
            continue;
        char path[2048], rel[1024];
        snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
        snprintf(rel, sizeof rel, "%s%s", prefix, ent->d_name);
        struct stat st;
        if (stat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            if (!*prefix) {
                char sub[1100];
                snprintf(sub, sizeof sub, "%s/", ent->d_name);
                files += walk(path, sub, known, unknown);
            }
            continue;
        }
        size_t n = strlen(ent->d_name);
        if (n < 4 || strcmp(ent->d_name + n - 4, ".bin") != 0)
            continue;
        size_t len = 0;
        uint8_t *data = test_read_file(path, &len);
        assert_non_null(data);
        struct fw_report r;
        struct error err;
        if (inspect_firmware(data, len, &r, &err) != 0)
            fail_msg("%s: %s", rel, err.msg);
        const struct expected *e = NULL;
        for (size_t i = 0; i < MANIFEST_COUNT; i++)
            if (strcmp(manifest[i].file, rel) == 0)
                e = &manifest[i];
        if (e) {
            compare_with_manifest(e, &r);
            (*known)++;
        } else {
            print_message("note: %s is not in the expected list; generic checks only\n", rel);
            (*unknown)++;
        }
        if (r.kind == FW_MERGED) {
            /* the table re-encodes byte for byte, and the table checks pass or only warn */
            uint8_t out[PTABLE_SIZE];
            assert_int_equal(ptable_encode(&r.table, out, &err), 0);
            assert_memory_equal(out, data + (PTABLE_OFFSET - r.start), 0x20 * (r.table.count + 2));
            char warn[1024] = "";
            if (ptable_check(&r.table, warn, sizeof warn, &err) != 0)
                fail_msg("%s: %s", rel, err.msg);
        }
        if (r.kind == FW_ERASED) {
            struct otadata_boot b;
            assert_int_equal(otadata_boot_select(data, len, 2, 0, &b, &err), 0);
            assert_int_equal(b.slot, 0);
        }
        free(data);
        files++;
    }
    closedir(d);
    return files;
}

static void every_shared_firmware_file(void **state)
{
    (void)state;
    char buf[1024];
    const char *dir = shared_firmware_dir(buf, sizeof buf);
    if (!dir) {
        TEST_SKIP("MP_SHARED_DIR/firmware not available");
    }
    int known = 0, unknown = 0;
    int files = walk(dir, "", &known, &unknown);
    print_message("checked %d firmware files (%d with expected facts)\n", files, known);
    assert_int_equal(known, (int)MANIFEST_COUNT);
    assert_int_equal(files, known + unknown);
}

/* ---- synthetic firmware for every chip through the same inspection ---- */

static void synthetic_every_chip(void **state)
{
    (void)state;
    size_t n;
    const struct chip *chips = chip_table(&n);
    for (size_t i = 0; i < n; i++)
        for (int layout = SYNTH_RELEASE; layout <= SYNTH_FROM_ZERO; layout++) {
            struct synth_options o;
            synth_defaults(&o);
            o.chip = &chips[i];
            o.app_size = 0x30000;
            o.ota = (int)(i % 2);
            struct synth_buffer fw;
            struct error err;
            assert_int_equal(synth_firmware(&o, (enum synth_layout)layout, &fw, &err), 0);
            struct fw_report r;
            /* a chip whose bootloader sits at 0 has no distinct full-flash form */
            if (inspect_firmware(fw.data, fw.len, &r, &err) != 0)
                fail_msg("%s layout %d: %s", chips[i].name, layout, err.msg);
            assert_int_equal(r.kind, FW_MERGED);
            assert_ptr_equal(r.chip, &chips[i]);
            assert_int_equal(r.start, layout == SYNTH_RELEASE ? chips[i].bootloader_offset : 0);
            assert_string_equal(r.version, "v1.99.0");
            assert_int_equal(r.table.count, o.ota ? 6 : 4);
            synth_buffer_free(&fw);
        }
}

/* ---- damaged input: every failure is a clean error (run under ASan) ---- */

static uint8_t *sample_firmware(size_t *len)
{
    char buf[1024];
    const char *dir = shared_firmware_dir(buf, sizeof buf);
    if (dir) {
        char path[1200];
        snprintf(path, sizeof path, "%s/ESP32_GENERIC-20240602-v1.23.0.bin", dir);
        uint8_t *b = test_read_file(path, len);
        if (b)
            return b;
    }
    struct synth_options o;
    synth_defaults(&o);
    struct synth_buffer fw;
    struct error err;
    assert_int_equal(synth_firmware(&o, SYNTH_RELEASE, &fw, &err), 0);
    *len = fw.len;
    return fw.data;
}

static int inspect_copy(const uint8_t *data, size_t len, struct error *err)
{
    /* an exact-size copy so any read past `len` is caught by the sanitizer */
    uint8_t *copy = malloc(len ? len : 1);
    memcpy(copy, data, len);
    struct fw_report r;
    int rc = inspect_firmware(copy, len, &r, err);
    free(copy);
    return rc;
}

static void truncated_at_many_points(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *fw = sample_firmware(&len);
    struct error err;
    assert_int_equal(inspect_copy(fw, len, &err), 0);
    /* every cut inside the bootloader and the table, then spread over the app */
    size_t cuts[400];
    int nc = 0;
    for (size_t c = 0; c < 0x5A40 && nc < 200; c += 0x5A40 / 150)
        cuts[nc++] = c;
    for (size_t c = 0x7000; c < 0x7100; c += 0x20)
        cuts[nc++] = c;
    for (size_t c = 0x7100; c < len; c += len / 60)
        cuts[nc++] = c;
    cuts[nc++] = len - 1;
    cuts[nc++] = len - 32;
    cuts[nc++] = len - 33;
    for (int i = 0; i < nc; i++) {
        err.msg[0] = '\0';
        int rc = inspect_copy(fw, cuts[i], &err);
        if (cuts[i] >= 0x7100 && cuts[i] < len - 32)
            assert_int_equal(rc, -1); /* the app image is incomplete */
        if (rc != 0)
            assert_true(strlen(err.msg) > 0);
    }
    free(fw);
}

static void corrupted_fields(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *fw = sample_firmware(&len);
    struct error err;
    uint32_t table = 0x7000; /* esp32 file: flash 0x8000 */
    uint32_t app = 0xF000;
    struct {
        size_t at;
        uint8_t value;
        int xor;
        const char *msg;
    } cases[] = {
        {0, 0xE8, 0, "not a firmware file"},
        {12, 0x03, 0, "Invalid chip id in image header."},
        {1, 17, 0, "bootloader: Invalid image file: too many segments (17"},
        {1, 0xFF, 0, "too many segments (255"},
        {24 + 7, 0x80, 0, "bootloader: Invalid image file: segment size"}, /* ~2 GB segment */
        {0x100, 0x01, 1, "bootloader: checksum mismatch"},
        {table + 4 * 32 + 20, 0x01, 1, "Checksum: expected"},
        {table + 5 * 32, 0x00, 0, "does not end with an empty row"},
        {table, 0x00, 0, "data after the image"}, /* no table: a lone bootloader, then junk */
        {app + 1, 17, 0, "partition 'factory': app: Invalid image file: too many segments"},
        {app + 24 + 7, 0xFF, 0, "partition 'factory': app: Invalid image file: segment size"},
        {app + 12, 0x09, 0, "app chip id 9 differs"},
        {app + 0x1000, 0x5A, 1, "partition 'factory': app: checksum mismatch"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t saved = fw[cases[i].at];
        fw[cases[i].at] = cases[i].xor ? (uint8_t)(saved ^ cases[i].value) : cases[i].value;
        err.msg[0] = '\0';
        int rc = inspect_copy(fw, len, &err);
        fw[cases[i].at] = saved;
        if (rc != -1 || !strstr(err.msg, cases[i].msg))
            fail_msg("case %zu (byte 0x%zx): rc %d, '%s'", i, cases[i].at, rc, err.msg);
    }
    /* a flipped digest byte */
    struct image_info info;
    assert_int_equal(image_inspect(fw + app, len - app, &info, &err), 0);
    fw[app + info.size + 3] ^= 1;
    assert_int_equal(inspect_copy(fw, len, &err), -1);
    assert_non_null(strstr(err.msg, "SHA-256 mismatch"));
    free(fw);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(synthetic_every_chip),
        cmocka_unit_test(truncated_at_many_points),
        cmocka_unit_test(corrupted_fields),
    };
    const struct CMUnitTest shared_tests[] = {
        cmocka_unit_test(every_shared_firmware_file),
    };
    return test_main(argc, argv, tests, sizeof tests / sizeof tests[0], shared_tests,
                     sizeof shared_tests / sizeof shared_tests[0]);
}
