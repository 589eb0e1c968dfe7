/* Unit tests of merged images (src/esp/merge.c): pieces in address order with 0xFF between
 * them from the target offset, esptool's sector overlap rule, and the bootloader's flash
 * settings rewritten with its digest while every other byte stays. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "esp/image.h"
#include "esp/merge.h"
#include "synth/synth.h"
#include "util/digest.h"

static void pieces_sorted_and_padded(void **state)
{
    (void)state;
    uint8_t a[3] = {1, 2, 3}, b[2] = {4, 5};
    struct merge_piece p[2] = {{0x2000, b, 2, "b"}, {0x1000, a, 3, "a"}};
    struct merge_options o = {NULL, -1, -1, -1, 0x800};
    uint8_t *out;
    uint32_t len;
    int patched;
    char warning[128];
    struct error err;
    assert_int_equal(merge_build(p, 2, &o, &out, &len, &patched, warning, sizeof warning, &err),
                     0);
    assert_int_equal(len, 0x2000 + 2 - 0x800);
    for (uint32_t i = 0; i < 0x800; i++)
        assert_int_equal(out[i], 0xFF);
    assert_memory_equal(out + 0x800, a, 3);
    for (uint32_t i = 0x803; i < 0x1800; i++)
        assert_int_equal(out[i], 0xFF);
    assert_memory_equal(out + 0x1800, b, 2);
    assert_false(patched);
    assert_string_equal(warning, "");
    free(out);
}

static void overlap_and_target_errors(void **state)
{
    (void)state;
    uint8_t d[0x1001];
    memset(d, 0x11, sizeof d);
    uint8_t *out;
    uint32_t len;
    int patched;
    char warning[128];
    struct error err;
    struct merge_options o = {NULL, -1, -1, -1, 0};
    /* the first ends 1 byte into the next sector: the second may not start in it */
    struct merge_piece p[2] = {{0x0, d, 0x1001, "x.bin"}, {0x1800, d, 1, "y.bin"}};
    assert_int_equal(merge_build(p, 2, &o, &out, &len, &patched, warning, sizeof warning, &err),
                     -1);
    assert_string_equal(err.msg, "Detected overlap at address: 0x1800 for file: y.bin.");
    /* the next sector is fine */
    struct merge_piece q[2] = {{0x0, d, 0x1001, "x.bin"}, {0x2000, d, 1, "y.bin"}};
    assert_int_equal(merge_build(q, 2, &o, &out, &len, &patched, warning, sizeof warning, &err),
                     0);
    free(out);
    o.target_offset = 0x1000;
    assert_int_equal(merge_build(q, 2, &o, &out, &len, &patched, warning, sizeof warning, &err),
                     -1);
    assert_non_null(strstr(err.msg, "Input data offset 0x0 is before this."));
    assert_int_equal(merge_build(q, 0, &o, &out, &len, &patched, warning, sizeof warning, &err),
                     -1);
}

static void bootloader_settings_and_digest(void **state)
{
    (void)state;
    struct synth_options so;
    synth_defaults(&so);
    so.chip = chip_by_name("esp32");
    struct synth_buffer b;
    struct error serr;
    assert_int_equal(synth_bootloader(&so, &b, &serr), 0);
    const uint8_t *fw = b.data;
    struct image_info info;
    assert_int_equal(image_inspect(fw, b.len, &info, NULL), 0);
    assert_true(info.has_digest);
    uint32_t boot_len = info.total_size;
    struct merge_piece p[1] = {{0x1000, fw, boot_len, "bootloader.bin"}};
    struct merge_options o = {chip_by_name("esp32"), 0 /* qio */, 0xF /* 80m */, 3 /* 8MB */, 0};
    uint8_t *out;
    uint32_t len;
    int patched;
    char warning[128];
    struct error err;
    assert_int_equal(merge_build(p, 1, &o, &out, &len, &patched, warning, sizeof warning, &err),
                     0);
    assert_true(patched);
    const uint8_t *boot = out + 0x1000;
    assert_int_equal(boot[2], 0);
    assert_int_equal(boot[3], 0x3F);
    assert_int_equal(image_inspect(boot, boot_len, &info, NULL), 0);
    assert_true(info.digest_ok);
    /* nothing else changed: bytes 4 up to the digest */
    assert_memory_equal(boot + 4, fw + 4, info.size - 4);
    assert_int_not_equal(fw[3], 0x3F); /* the input is untouched */
    free(out);
    /* the bootloader at another address is left alone */
    p[0].addr = 0x2000;
    assert_int_equal(merge_build(p, 1, &o, &out, &len, &patched, warning, sizeof warning, &err),
                     0);
    assert_false(patched);
    assert_memory_equal(out + 0x2000, fw, boot_len);
    free(out);
    /* data at the bootloader offset that is no image: a warning, the bytes as they are */
    uint8_t junk[64];
    memset(junk, 0xE9, sizeof junk);
    struct merge_piece j[1] = {{0x1000, junk, sizeof junk, "junk.bin"}};
    assert_int_equal(merge_build(j, 1, &o, &out, &len, &patched, warning, sizeof warning, &err),
                     0);
    assert_non_null(strstr(warning, "junk.bin at 0x1000 is not a valid ESP32 image"));
    assert_memory_equal(out + 0x1000, junk, sizeof junk);
    free(out);
    synth_buffer_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pieces_sorted_and_padded),
        cmocka_unit_test(overlap_and_target_errors),
        cmocka_unit_test(bootloader_settings_and_digest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
