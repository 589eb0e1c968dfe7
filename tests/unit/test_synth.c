/* Unit tests of the synthetic firmware generator: every chip and flash size round-trips through
 * the image and partition table parsers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "esp/image.h"
#include "esp/ptable.h"
#include "synth/synth.h"
#include "util/bytes.h"

/* Every flash-mapped segment's data offset equals its load address modulo 64 KiB (esp-image-formats.md §2). */
static void check_mapped_alignment(const uint8_t *img, const struct chip *chip)
{
    size_t pos = 24;
    int mapped = 0;
    for (int i = 0; i < img[1]; i++) {
        uint32_t load = get_le32(img + pos), len = get_le32(img + pos + 4);
        pos += 8;
        int in_drom = load >= chip->drom_start && load < chip->drom_end;
        int in_irom = load >= chip->irom_start && load < chip->irom_end;
        if (in_drom || in_irom) {
            assert_int_equal(pos % 0x10000, load % 0x10000);
            mapped++;
        }
        assert_int_equal(len % 4, 0);
        pos += len;
    }
    assert_int_equal(mapped, 2); /* DROM and IROM */
    /* first segment is the DROM one holding the descriptor */
    uint32_t first = get_le32(img + 24);
    assert_true(first >= chip->drom_start && first < chip->drom_end);
}

static void check_app(const uint8_t *app, size_t len, const struct chip *chip, uint8_t size_id,
                      const char *version)
{
    struct image_info info;
    struct error err;
    assert_int_equal(image_inspect(app, len, &info, &err), 0);
    assert_true(info.checksum_ok);
    assert_true(info.has_digest);
    assert_true(info.digest_ok);
    assert_int_equal(info.total_size, len);
    assert_int_equal(info.header.chip_id, chip->image_id);
    assert_int_equal(info.header.flash_size_id, size_id);
    struct app_desc desc;
    assert_int_equal(image_app_desc(app, len, &desc), 0);
    assert_string_equal(desc.idf_ver, "v5.5.1");
    assert_string_equal(desc.date, "Jan  1 2026");
    assert_string_equal(desc.version, "");
    char v[40];
    assert_int_equal(image_micropython_version(app, len, v, sizeof v), 0);
    assert_string_equal(v, version);
    check_mapped_alignment(app, chip);
}

static void firmware_round_trip(const struct synth_options *opt, enum synth_layout layout)
{
    struct synth_buffer fw;
    struct error err;
    int rc = synth_firmware(opt, layout, &fw, &err);
    if (rc != 0)
        fail_msg("%s %uMB ota=%d: %s", opt->chip->name, opt->flash_size >> 20, opt->ota, err.msg);
    const struct chip *chip = opt->chip;
    uint8_t size_id = (uint8_t)image_flash_size_id(opt->flash_size);
    uint32_t boot = chip->bootloader_offset;
    assert_int_equal(fw.base, layout == SYNTH_RELEASE ? boot : 0);
    for (uint32_t a = fw.base; a < boot; a++)
        assert_int_equal(fw.data[a - fw.base], 0xFF);
    /* bootloader */
    struct image_info info;
    assert_int_equal(image_inspect(fw.data + (boot - fw.base), 0x8000 - boot, &info, &err), 0);
    assert_true(info.checksum_ok);
    assert_true(info.digest_ok);
    assert_int_equal(info.total_size, fw.bootloader_size);
    assert_int_equal(info.header.chip_id, chip->image_id);
    assert_int_equal(info.header.flash_size_id, size_id);
    assert_int_equal(fw.data[boot - fw.base + 0x20], 0x50); /* esp_bootloader_desc_t magic */
    for (uint32_t a = boot + fw.bootloader_size; a < 0x8000; a++)
        assert_int_equal(fw.data[a - fw.base], 0xFF);
    /* table */
    struct ptable t, want;
    assert_int_equal(ptable_parse(fw.data + (0x8000 - fw.base), 0x1000, &t, &err), 0);
    assert_int_equal(synth_table(opt, &want, &err), 0);
    assert_int_equal(t.count, want.count);
    for (int i = 0; i < t.count; i++) {
        assert_string_equal(t.parts[i].name, want.parts[i].name);
        assert_int_equal(t.parts[i].offset, want.parts[i].offset);
        assert_int_equal(t.parts[i].size, want.parts[i].size);
    }
    t.flash_size = opt->flash_size;
    char warn[512] = "";
    if (ptable_check(&t, warn, sizeof warn, &err) != 0)
        fail_msg("table check: %s", err.msg);
    if (!opt->no_vfs)
        assert_string_equal(warn, "");
    /* app at the first app partition */
    int ai = ptable_first_app(&t);
    assert_int_equal(t.parts[ai].offset, 0x10000);
    assert_int_equal(fw.app_offset, 0x10000);
    for (uint32_t a = 0x9000; a < 0x10000; a++)
        assert_int_equal(fw.data[a - fw.base], 0xFF);
    size_t app_at = fw.app_offset - fw.base;
    if (layout == SYNTH_FULL_FLASH) {
        assert_int_equal(fw.len, opt->flash_size);
        for (size_t i = app_at + fw.app_size; i < fw.len; i += 4093)
            assert_int_equal(fw.data[i], 0xFF);
    } else {
        assert_int_equal(fw.len, app_at + fw.app_size);
    }
    check_app(fw.data + app_at, fw.app_size, chip, size_id, "v1.99.0");
    synth_buffer_free(&fw);
}

static void every_chip_and_flash_size(void **state)
{
    (void)state;
    size_t n;
    const struct chip *chips = chip_table(&n);
    const uint32_t sizes[] = {1u << 20, 2u << 20, 4u << 20, 16u << 20, 128u << 20};
    for (size_t c = 0; c < n; c++)
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
            for (int variant = 0; variant < 3; variant++) {
                struct synth_options o;
                synth_defaults(&o);
                o.chip = &chips[c];
                o.flash_size = sizes[s];
                o.ota = variant == 1;
                o.no_vfs = variant == 2;
                o.app_size = 0x40000;
                o.seed = (uint32_t)(c * 100 + s * 10 + (size_t)variant + 1);
                firmware_round_trip(&o, SYNTH_RELEASE);
            }
}

static void default_sizes_and_layouts(void **state)
{
    (void)state;
    struct synth_options o;
    synth_defaults(&o);
    firmware_round_trip(&o, SYNTH_RELEASE);
    firmware_round_trip(&o, SYNTH_FROM_ZERO);
    firmware_round_trip(&o, SYNTH_FULL_FLASH);
    o.chip = chip_by_name("esp32s3");
    o.flash_size = 8u << 20;
    o.ota = 1;
    firmware_round_trip(&o, SYNTH_RELEASE);
    o.chip = chip_by_name("esp32p4");
    o.ota = 0;
    firmware_round_trip(&o, SYNTH_FULL_FLASH);

    struct synth_buffer fw;
    struct error err;
    synth_defaults(&o);
    assert_int_equal(synth_firmware(&o, SYNTH_RELEASE, &fw, &err), 0);
    assert_int_equal(fw.app_size, 1500000);
    assert_int_equal(fw.len, 0xF000 + 1500000); /* esp32: the file starts at 0x1000 */
    synth_buffer_free(&fw);
    o.flash_size = 1u << 20; /* factory 0xC0000: the default app shrinks to fit */
    assert_int_equal(synth_firmware(&o, SYNTH_RELEASE, &fw, &err), 0);
    assert_int_equal(fw.app_size, 0xB0000);
    synth_buffer_free(&fw);
}

static void tables(void **state)
{
    (void)state;
    struct synth_options o;
    synth_defaults(&o);
    struct ptable t;
    struct error err;
    assert_int_equal(synth_table(&o, &t, &err), 0);
    uint8_t bin[PTABLE_SIZE];
    assert_int_equal(ptable_encode(&t, bin, &err), 0);
    /* the stock table's reference MD5 (seed-spec §5.1) */
    assert_int_equal(bin[4 * 32 + 16], 0xfc);
    assert_int_equal(bin[4 * 32 + 31], 0xac);
    o.no_vfs = 1;
    assert_int_equal(synth_table(&o, &t, &err), 0);
    assert_int_equal(t.count, 3);
    o.no_vfs = 0;
    o.ota = 1;
    assert_int_equal(synth_table(&o, &t, &err), 0);
    assert_int_equal(t.count, 6);
    assert_string_equal(t.parts[1].name, "otadata");
    assert_int_equal(t.parts[4].offset, 0x190000);
    assert_int_equal(t.parts[5].offset, 0x310000);
    assert_int_equal(t.parts[5].size, 0xF0000);
    o.flash_size = 8u << 20;
    assert_int_equal(synth_table(&o, &t, &err), 0);
    assert_int_equal(t.parts[4].offset, 0x280000);
    o.app_part_size = 0x200000;
    assert_int_equal(synth_table(&o, &t, &err), 0);
    assert_int_equal(t.parts[4].offset, 0x210000);
    o.app_part_size = 0x201000; /* ota_1 would not be 64 KiB aligned */
    assert_int_equal(synth_table(&o, &t, &err), -1);
    o.app_part_size = 0x400000; /* two slots do not fit */
    assert_int_equal(synth_table(&o, &t, &err), -1);
    assert_non_null(strstr(err.msg, "do not fit in 8 MB flash"));
    o.ota = 0;
    o.app_part_size = 0x7F0000; /* factory to the end: no room for vfs */
    assert_int_equal(synth_table(&o, &t, &err), -1);
    assert_non_null(strstr(err.msg, "with a vfs partition"));
    o.no_vfs = 1;
    assert_int_equal(synth_table(&o, &t, &err), 0);
    assert_int_equal(t.count, 3);
    assert_int_equal(t.parts[2].size, 0x7F0000);
}

static void errors(void **state)
{
    (void)state;
    struct synth_options o;
    synth_defaults(&o);
    struct synth_buffer b;
    struct error err;
    o.flash_size = 3u << 20;
    assert_int_equal(synth_firmware(&o, SYNTH_RELEASE, &b, &err), -1);
    assert_non_null(strstr(err.msg, "power of two"));
    assert_null(b.data);
    o.flash_size = 256u << 20;
    assert_int_equal(synth_bootloader(&o, &b, &err), -1);
    synth_defaults(&o);
    o.app_size = 0x1000;
    assert_int_equal(synth_app(&o, &b, &err), -1);
    assert_non_null(strstr(err.msg, "too small"));
    o.app_size = 0x1F0010; /* larger than factory */
    assert_int_equal(synth_firmware(&o, SYNTH_RELEASE, &b, &err), -1);
    assert_non_null(strstr(err.msg, "exceeds 'factory'"));
    o.app_size = 0;
    o.version = "bad version";
    assert_int_equal(synth_app(&o, &b, &err), -1);
    o.version = "";
    assert_int_equal(synth_app(&o, &b, &err), -1);
    /* an app larger than the ESP32 IROM window cannot be laid out */
    synth_defaults(&o);
    o.app_size = 8u << 20;
    assert_int_equal(synth_app(&o, &b, &err), -1);
    assert_non_null(strstr(err.msg, "address space"));
}

static void deterministic_and_seeded(void **state)
{
    (void)state;
    struct synth_options o;
    synth_defaults(&o);
    o.chip = chip_by_name("esp32c6");
    o.app_size = 0x50000;
    struct synth_buffer a, b;
    struct error err;
    assert_int_equal(synth_firmware(&o, SYNTH_RELEASE, &a, &err), 0);
    assert_int_equal(synth_firmware(&o, SYNTH_RELEASE, &b, &err), 0);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    synth_buffer_free(&b);
    o.seed = 2;
    assert_int_equal(synth_firmware(&o, SYNTH_RELEASE, &b, &err), 0);
    assert_int_equal(a.len, b.len);
    assert_memory_not_equal(a.data + 0x10000 + 0x400, b.data + 0x10000 + 0x400, 64);
    synth_buffer_free(&a);
    synth_buffer_free(&b);
}

static void standalone_app_sizes_and_version(void **state)
{
    (void)state;
    struct synth_options o;
    synth_defaults(&o);
    o.chip = chip_by_name("esp32s3");
    o.version = "b4f53a0";
    struct synth_buffer b;
    struct error err;
    const uint32_t sizes[] = {0x20000, 0x30000, 1000001, 1672800, 0x1F0000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        o.app_size = sizes[i];
        assert_int_equal(synth_app(&o, &b, &err), 0);
        assert_int_equal(b.len, (sizes[i] + 15) & ~15u);
        check_app(b.data, b.len, o.chip, 2, "b4f53a0");
        synth_buffer_free(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_chip_and_flash_size),
        cmocka_unit_test(default_sizes_and_layouts),
        cmocka_unit_test(tables),
        cmocka_unit_test(errors),
        cmocka_unit_test(deterministic_and_seeded),
        cmocka_unit_test(standalone_app_sizes_and_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
