/* Unit tests of ESP image parsing: header, segment walk, checksum, digest, flash size rewrite,
 * app descriptor and version banner; hand-built images plus the real v1.23.0 ESP32 firmware. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "test_shared.h"

#include <openssl/sha.h>

#include "esp/image.h"
#include "util/bytes.h"

/* ---- a small image builder (independent of the library under test) ---- */

struct seg {
    uint32_t load;
    uint32_t len;
    uint8_t fill; /* data byte i = fill + i */
};

/* Returns a malloc'd image (header, segments, padding, checksum, optional digest) and its
 * length; the expected size without digest goes to *size. */
static uint8_t *build_image(uint16_t chip_id, const struct seg *segs, int nseg, int digest,
                            size_t *len, uint32_t *size)
{
    size_t body = 24;
    for (int i = 0; i < nseg; i++)
        body += 8 + segs[i].len;
    size_t padded = (body + 1 + 15) / 16 * 16;
    size_t total = padded + (digest ? 32 : 0);
    uint8_t *b = calloc(1, total);
    assert_non_null(b);
    b[0] = 0xE9;
    b[1] = (uint8_t)nseg;
    b[2] = 2;
    b[3] = 0x20; /* 4 MB, 40 MHz */
    put_le32(b + 4, 0x40080000);
    b[8] = 0xEE;
    b[12] = (uint8_t)chip_id;
    b[13] = (uint8_t)(chip_id >> 8);
    b[17] = 99;
    b[23] = (uint8_t)(digest ? 1 : 0);
    size_t pos = 24;
    uint8_t x = 0xEF;
    for (int i = 0; i < nseg; i++) {
        put_le32(b + pos, segs[i].load);
        put_le32(b + pos + 4, segs[i].len);
        pos += 8;
        for (uint32_t k = 0; k < segs[i].len; k++) {
            b[pos + k] = (uint8_t)(segs[i].fill + k);
            x ^= b[pos + k];
        }
        pos += segs[i].len;
    }
    b[padded - 1] = x;
    if (digest)
        SHA256(b, padded, b + padded);
    *len = total;
    *size = (uint32_t)padded;
    return b;
}

static const struct seg three_segs[] = {
    {0x3F400020, 0x120, 1},
    {0x3FFB0000, 0x44, 7},
    {0x400D0020, 0x300, 9},
};

/* ---- header ---- */

static void header_parses_fields(void **state)
{
    (void)state;
    size_t len = 0;
    uint32_t size;
    uint8_t *img = build_image(CHIP_ID_ESP32S3, three_segs, 3, 1, &len, &size);
    struct image_header h;
    struct error err;
    assert_int_equal(image_header_parse(img, len, &h, &err), 0);
    assert_int_equal(h.magic, 0xE9);
    assert_int_equal(h.segment_count, 3);
    assert_int_equal(h.spi_mode, 2);
    assert_int_equal(h.spi_speed, 0);
    assert_int_equal(h.flash_size_id, 2);
    assert_int_equal(h.entry_addr, 0x40080000);
    assert_int_equal(h.chip_id, CHIP_ID_ESP32S3);
    assert_int_equal(h.max_rev_full, 99);
    assert_int_equal(h.hash_appended, 1);
    /* encode gives back the same 24 bytes, with or without the original */
    uint8_t out[24];
    image_header_encode(&h, img, out);
    assert_memory_equal(out, img, 24);
    image_header_encode(&h, NULL, out);
    assert_int_equal(out[8], 0); /* pin byte is not a known field: zero without orig */
    out[8] = 0xEE;
    assert_memory_equal(out, img, 24);
    free(img);
}

static void header_errors_use_python_messages(void **state)
{
    (void)state;
    uint8_t b[24] = {0xE9, 1, 2, 0x20};
    struct image_header h;
    struct error err;
    assert_int_equal(image_header_parse(b, 0, &h, &err), -1);
    assert_string_equal(err.msg, "Buffer size too small (0 instead of at least 24 bytes)");
    assert_int_equal(image_header_parse(b, 23, &h, &err), -1);
    assert_string_equal(err.msg, "Buffer size too small (23 instead of at least 24 bytes)");
    assert_int_equal(image_header_parse(b, 24, &h, &err), 0);
    b[12] = 3; /* no chip has id 3 */
    assert_int_equal(image_header_parse(b, 24, &h, &err), -1);
    assert_string_equal(err.msg, "Invalid chip id in image header.");
    b[12] = 0xFF;
    b[13] = 0xFF; /* "none" is not a chip */
    assert_int_equal(image_header_parse(b, 24, &h, &err), -1);
    assert_string_equal(err.msg, "Invalid chip id in image header.");
    b[12] = 0x0D;
    b[13] = 0;
    assert_int_equal(image_header_parse(b, 24, &h, &err), 0);
    assert_int_equal(h.chip_id, CHIP_ID_ESP32C6);
    b[0] = 0xE8;
    assert_int_equal(image_header_parse(b, 24, &h, &err), -1);
    assert_string_equal(err.msg, "Invalid image file: magic bytes not found.");
    assert_int_equal(err.kind, ERROR_VALUE);
}

static void header_erased_detection(void **state)
{
    (void)state;
    uint8_t b[24];
    memset(b, 0xFF, sizeof b);
    assert_true(image_header_is_erased(b));
    b[23] = 0xFE;
    assert_false(image_header_is_erased(b));
}

static void flash_size_ids(void **state)
{
    (void)state;
    for (uint8_t id = 0; id <= 7; id++) {
        assert_int_equal(image_flash_size_bytes(id), (uint32_t)(1u << (20 + id)));
        assert_int_equal(image_flash_size_id(1u << (20 + id)), id);
    }
    assert_int_equal(image_flash_size_bytes(8), 0);
    assert_int_equal(image_flash_size_bytes(15), 0);
    assert_int_equal(image_flash_size_id(0), -1);
    assert_int_equal(image_flash_size_id(6u << 20), -1);
    assert_int_equal(image_flash_size_id(256u << 20), -1);
    assert_int_equal(image_flash_size_id((4u << 20) + 1), -1);
}

/* ---- segment walk ---- */

static void inspect_computes_size_checksum_digest(void **state)
{
    (void)state;
    size_t len = 0;
    uint32_t size;
    uint8_t *img = build_image(CHIP_ID_ESP32, three_segs, 3, 1, &len, &size);
    struct image_info info;
    struct error err;
    assert_int_equal(image_inspect(img, len, &info, &err), 0);
    assert_int_equal(info.size, size);
    assert_int_equal(info.size % 16, 0);
    assert_int_equal(info.total_size, size + 32);
    assert_true(info.checksum_ok);
    assert_int_equal(info.checksum_stored, img[size - 1]);
    assert_true(info.has_digest);
    assert_true(info.digest_ok);
    assert_memory_equal(info.digest_stored, img + size, 32);

    /* a flipped data byte breaks both the checksum and the digest */
    img[24 + 8 + 5] ^= 0x40;
    assert_int_equal(image_inspect(img, len, &info, &err), 0);
    assert_false(info.checksum_ok);
    assert_false(info.digest_ok);
    img[24 + 8 + 5] ^= 0x40;
    /* a flipped digest byte breaks only the digest */
    img[size + 31] ^= 1;
    assert_int_equal(image_inspect(img, len, &info, &err), 0);
    assert_true(info.checksum_ok);
    assert_false(info.digest_ok);
    free(img);
}

static void inspect_without_digest(void **state)
{
    (void)state;
    size_t len = 0;
    uint32_t size;
    uint8_t *img = build_image(CHIP_ID_ESP32C3, three_segs, 2, 0, &len, &size);
    struct image_info info;
    struct error err;
    assert_int_equal(image_inspect(img, len, &info, &err), 0);
    assert_int_equal(info.size, len);
    assert_int_equal(info.total_size, len);
    assert_true(info.checksum_ok);
    assert_false(info.has_digest);
    assert_false(info.digest_ok);
    free(img);
}

static void inspect_digest_missing_from_buffer(void **state)
{
    (void)state;
    size_t len = 0;
    uint32_t size;
    uint8_t *img = build_image(CHIP_ID_ESP32, three_segs, 3, 1, &len, &size);
    struct image_info info;
    struct error err;
    /* the image itself is complete, only the digest is cut off */
    assert_int_equal(image_inspect(img, size + 10, &info, &err), 0);
    assert_true(info.checksum_ok);
    assert_false(info.has_digest);
    assert_false(info.digest_ok);
    assert_int_equal(info.total_size, size + 32);
    free(img);
}

static void inspect_truncated_everywhere_is_a_clean_error(void **state)
{
    (void)state;
    size_t len = 0;
    uint32_t size;
    uint8_t *img = build_image(CHIP_ID_ESP32, three_segs, 3, 1, &len, &size);
    struct image_info info;
    struct error err;
    for (size_t cut = 0; cut < size; cut++) {
        /* a fresh copy of exactly `cut` bytes so ASan sees any over-read */
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, img, cut);
        err.msg[0] = '\0';
        assert_int_equal(image_inspect(copy, cut, &info, &err), -1);
        assert_true(strlen(err.msg) > 0);
        free(copy);
    }
    free(img);
}

static void inspect_segment_overflowing_lengths(void **state)
{
    (void)state;
    size_t len = 0;
    uint32_t size;
    uint8_t *img = build_image(CHIP_ID_ESP32, three_segs, 3, 1, &len, &size);
    struct image_info info;
    struct error err;
    /* second segment claims 0xFFFFFFF8 bytes: a 32-bit position would wrap */
    size_t seg2 = 24 + 8 + three_segs[0].len;
    put_le32(img + seg2 + 4, 0xFFFFFFF8u);
    assert_int_equal(image_inspect(img, len, &info, &err), -1);
    char want[128];
    snprintf(want, sizeof want,
             "Invalid image file: segment size (4294967288 bytes) exceeds image size (%zu bytes).",
             len);
    assert_string_equal(err.msg, want);
    /* a length that exactly reaches the end of the data also fails (no room for the checksum) */
    put_le32(img + seg2 + 4, (uint32_t)(len - (seg2 + 8)));
    assert_int_equal(image_inspect(img, len, &info, &err), -1);
    assert_non_null(strstr(err.msg, "segment size"));
    free(img);
}

static void inspect_rejects_more_than_16_segments(void **state)
{
    (void)state;
    struct seg many[17];
    for (int i = 0; i < 17; i++)
        many[i] = (struct seg){0x3FFB0000u + 0x100u * (uint32_t)i, 16, (uint8_t)i};
    size_t len = 0;
    uint32_t size;
    uint8_t *img = build_image(CHIP_ID_ESP32, many, 16, 1, &len, &size);
    struct image_info info;
    struct error err;
    assert_int_equal(image_inspect(img, len, &info, &err), 0);
    assert_true(info.digest_ok);
    free(img);
    img = build_image(CHIP_ID_ESP32, many, 17, 1, &len, &size);
    assert_int_equal(image_inspect(img, len, &info, &err), -1);
    assert_non_null(strstr(err.msg, "too many segments (17"));
    img[1] = 0xFF;
    assert_int_equal(image_inspect(img, len, &info, &err), -1);
    free(img);
}

static void inspect_bad_header_fails(void **state)
{
    (void)state;
    size_t len = 0;
    uint32_t size;
    uint8_t *img = build_image(CHIP_ID_ESP32, three_segs, 3, 1, &len, &size);
    struct image_info info;
    struct error err;
    img[0] = 0;
    assert_int_equal(image_inspect(img, len, &info, &err), -1);
    assert_string_equal(err.msg, "Invalid image file: magic bytes not found.");
    img[0] = 0xE9;
    img[12] = 0x42;
    assert_int_equal(image_inspect(img, len, &info, &err), -1);
    assert_string_equal(err.msg, "Invalid chip id in image header.");
    free(img);
}

/* ---- flash size rewrite ---- */

static void set_flash_size_changes_byte3_and_digest_only(void **state)
{
    (void)state;
    size_t len = 0;
    uint32_t size;
    uint8_t *img = build_image(CHIP_ID_ESP32, three_segs, 3, 1, &len, &size);
    /* a bootloader region: the image, then 0xFF */
    size_t region = len + 1000;
    uint8_t *buf = malloc(region);
    memset(buf, 0xFF, region);
    memcpy(buf, img, len);
    uint8_t *orig = malloc(region);
    memcpy(orig, buf, region);
    struct error err;
    assert_int_equal(image_set_flash_size(buf, region, 3, &err), 0);
    for (size_t i = 0; i < region; i++) {
        if (i == 3)
            assert_int_equal(buf[3], 0x30);
        else if (i >= size && i < size + 32)
            continue;
        else
            assert_int_equal(buf[i], orig[i]);
    }
    assert_memory_not_equal(buf + size, orig + size, 32);
    struct image_info info;
    assert_int_equal(image_inspect(buf, region, &info, &err), 0);
    assert_true(info.digest_ok);
    assert_true(info.checksum_ok);
    assert_int_equal(info.header.flash_size_id, 3);
    assert_int_equal(image_set_flash_size(buf, region, 2, &err), 0);
    assert_memory_equal(buf, orig, region);
    assert_int_equal(image_set_flash_size(buf, region, 8, &err), -1);
    free(orig);
    free(buf);
    free(img);
}

static void set_flash_size_without_digest_changes_byte3_only(void **state)
{
    (void)state;
    size_t len = 0;
    uint32_t size;
    uint8_t *img = build_image(CHIP_ID_ESP32S2, three_segs, 3, 0, &len, &size);
    uint8_t *orig = malloc(len);
    memcpy(orig, img, len);
    struct error err;
    assert_int_equal(image_set_flash_size(img, len, 7, &err), 0);
    assert_int_equal(img[3], 0x70);
    assert_memory_equal(img + 4, orig + 4, len - 4);
    free(orig);
    free(img);
}

static void set_flash_size_digest_without_room_fails(void **state)
{
    (void)state;
    size_t len = 0;
    uint32_t size;
    uint8_t *img = build_image(CHIP_ID_ESP32, three_segs, 3, 1, &len, &size);
    struct error err;
    assert_int_equal(image_set_flash_size(img, size + 31, 3, &err), -1);
    assert_int_equal(img[3], 0x20); /* untouched on failure */
    free(img);
}

/* ---- app descriptor ---- */

static void app_desc_reads_fields(void **state)
{
    (void)state;
    struct seg s[] = {{0x3F400020, 0x200, 0}};
    size_t len = 0;
    uint32_t size;
    uint8_t *img = build_image(CHIP_ID_ESP32, s, 1, 0, &len, &size);
    uint8_t *d = img + 0x20;
    memset(d, 0, 256);
    put_le32(d, 0xABCD5432);
    put_le32(d + 4, 7);
    memcpy(d + 0x10, "v0.1.1", 6);
    memcpy(d + 0x30, "micropython-project-name-32-char", 32); /* no NUL: all 32 kept */
    memcpy(d + 0x50, "06:51:35", 8);
    memcpy(d + 0x60, "Jun  2 2024", 11);
    memcpy(d + 0x70, "v5.0.4", 6);
    memset(d + 0x90, 0xAB, 32);
    d[0xB4] = 16;
    struct app_desc a;
    assert_int_equal(image_app_desc(img, len, &a), 0);
    assert_int_equal(a.secure_version, 7);
    assert_string_equal(a.version, "v0.1.1");
    assert_string_equal(a.project_name, "micropython-project-name-32-char");
    assert_string_equal(a.time, "06:51:35");
    assert_string_equal(a.date, "Jun  2 2024");
    assert_string_equal(a.idf_ver, "v5.0.4");
    assert_int_equal(a.app_elf_sha256[31], 0xAB);
    assert_int_equal(a.mmu_page_size_log2, 16);
    /* wrong magic or short buffer: not found */
    d[0] ^= 1;
    assert_int_equal(image_app_desc(img, len, &a), -1);
    d[0] ^= 1;
    assert_int_equal(image_app_desc(img, 0x20 + 255, &a), -1);
    assert_int_equal(image_app_desc(img, 0x20 + 256, &a), 0);
    free(img);
}

/* ---- version banner ---- */

static int version_of(const char *text, char *out, size_t size)
{
    return image_micropython_version((const uint8_t *)text, strlen(text), out, size);
}

static void banner_versions(void **state)
{
    (void)state;
    char v[64];
    assert_int_equal(version_of("xx\0MicroPython v1.23.0 on 2024-06-02; Generic", v, sizeof v),
                     -1); /* strlen stops at the NUL: nothing found */
    const char official[] = "junk MicroPython v1.23.0 on 2024-06-02; Generic ESP32 module";
    assert_int_equal(version_of(official, v, sizeof v), 0);
    assert_string_equal(v, "v1.23.0");
    assert_int_equal(version_of("MicroPython b4f53a0 on 2025-01-22", v, sizeof v), 0);
    assert_string_equal(v, "b4f53a0");
    assert_int_equal(version_of("MicroPython 1.23.0 on 2024", v, sizeof v), 0);
    assert_string_equal(v, "1.23.0");
    assert_int_equal(version_of("MicroPython afceb56-dirty on 2022-05-04", v, sizeof v), 0);
    assert_string_equal(v, "afceb56-dirty");
    /* the first plausible banner wins; sysname strings and prose are skipped */
    assert_int_equal(version_of("MicroPython-1.23.0-xtensa-IDFv5 Welcome to MicroPython on the "
                                "ESP32! MicroPython v9.9 on x",
                                v, sizeof v),
                     0);
    assert_string_equal(v, "v9.9");
    /* no " on " after the version, or cut off at the end */
    assert_int_equal(version_of("MicroPython v1.23.0 at 2024", v, sizeof v), -1);
    assert_string_equal(v, "");
    assert_int_equal(version_of("MicroPython v1.23.0 o", v, sizeof v), -1);
    assert_int_equal(version_of("MicroPython v1.23.0", v, sizeof v), -1);
    assert_int_equal(version_of("MicroPython ", v, sizeof v), -1);
    assert_int_equal(version_of("", v, sizeof v), -1);
    /* truncated to the output size */
    assert_int_equal(version_of("MicroPython v1.23.0 on 2024", v, 4), 0);
    assert_string_equal(v, "v1.");
}

/* ---- random damage: never a crash, and the invariants hold ---- */

static uint32_t rng(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void random_mutations_are_handled(void **state)
{
    (void)state;
    size_t len = 0;
    uint32_t size;
    struct seg s[] = {{0x3F400020, 0x140, 3}, {0x3FFB0000, 0x40, 5}, {0x400D0020, 0x200, 7}};
    uint8_t *img = build_image(CHIP_ID_ESP32, s, 3, 1, &len, &size);
    /* descriptor and banner inside the first segment, so mutations reach them too */
    put_le32(img + 0x20, 0xABCD5432);
    memcpy(img + 0x100, "MicroPython v1.2.3 on 2026", 26);
    uint32_t seed = 12345;
    for (int round = 0; round < 3000; round++) {
        size_t n = len - rng(&seed) % 64;
        uint8_t *m = malloc(n);
        memcpy(m, img, n);
        int flips = 1 + (int)(rng(&seed) % 4);
        for (int f = 0; f < flips; f++) {
            /* bias towards the header and segment headers */
            size_t at = rng(&seed) % 2 ? rng(&seed) % 40 : rng(&seed) % n;
            m[at] = (uint8_t)rng(&seed);
        }
        struct image_info info;
        struct error err;
        struct app_desc d;
        char v[64];
        int ok = image_inspect(m, n, &info, &err) == 0;
        if (ok) {
            assert_true(info.size <= n);
            assert_int_equal(info.size % 16, 0);
            assert_true(info.header.segment_count <= 16);
        } else {
            assert_true(strlen(err.msg) > 0);
        }
        image_app_desc(m, n, &d);
        image_micropython_version(m, n, v, sizeof v);
        if (ok && image_set_flash_size(m, n, 5, &err) == 0 && info.header.hash_appended == 1 &&
            info.size + 32 <= n) {
            struct image_info after;
            assert_int_equal(image_inspect(m, n, &after, &err), 0);
            assert_true(after.digest_ok);
            assert_int_equal(after.header.flash_size_id, 5);
        }
        free(m);
    }
    free(img);
}

/* ---- real firmware ---- */

static uint8_t *read_shared(const char *name, size_t *len)
{
    char rel[512];
    snprintf(rel, sizeof rel, "firmware/%s", name);
    return test_read_shared(rel, len);
}


static void real_esp32_v1_23_firmware(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *fw = read_shared("ESP32_GENERIC-20240602-v1.23.0.bin", &len);
    if (!fw) {
        TEST_SKIP("MP_SHARED_DIR firmware not available");
    }
    struct image_info info;
    struct error err;
    /* bootloader at file 0 (flash 0x1000), within its 0x7000 region */
    assert_int_equal(image_inspect(fw, 0x7000, &info, &err), 0);
    assert_int_equal(info.size, 23040);
    assert_int_equal(info.total_size, 23072);
    assert_true(info.checksum_ok);
    assert_true(info.digest_ok);
    assert_int_equal(info.header.chip_id, CHIP_ID_ESP32);
    assert_int_equal(info.header.flash_size_id, 2);
    /* app at flash 0x10000 = file 0xF000, running to the end of the file */
    assert_int_equal(image_inspect(fw + 0xF000, len - 0xF000, &info, &err), 0);
    assert_int_equal(info.size, 1672768);
    assert_int_equal(info.total_size, 1672800);
    assert_int_equal(len - 0xF000, 1672800);
    assert_true(info.checksum_ok);
    assert_true(info.digest_ok);
    struct app_desc a;
    assert_int_equal(image_app_desc(fw + 0xF000, len - 0xF000, &a), 0);
    assert_string_equal(a.idf_ver, "v5.0.4");
    assert_string_equal(a.version, "");
    char v[32];
    assert_int_equal(image_micropython_version(fw + 0xF000, len - 0xF000, v, sizeof v), 0);
    assert_string_equal(v, "v1.23.0");

    /* -f 8M: only header byte 3 and the bootloader digest (file 0x5A00-0x5A1F) change */
    uint8_t *copy = malloc(len);
    memcpy(copy, fw, len);
    assert_int_equal(image_set_flash_size(copy, 0x7000, 3, &err), 0);
    for (size_t i = 0; i < len; i++)
        if (copy[i] != fw[i])
            assert_true(i == 3 || (i >= 0x5A00 && i <= 0x5A1F));
    assert_int_equal(copy[3], 0x30);
    assert_memory_not_equal(copy + 0x5A00, fw + 0x5A00, 32);
    /* -f 4M restores the original bytes */
    assert_int_equal(image_set_flash_size(copy, 0x7000, 2, &err), 0);
    assert_memory_equal(copy, fw, len);
    free(copy);
    free(fw);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(header_parses_fields),
        cmocka_unit_test(header_errors_use_python_messages),
        cmocka_unit_test(header_erased_detection),
        cmocka_unit_test(flash_size_ids),
        cmocka_unit_test(inspect_computes_size_checksum_digest),
        cmocka_unit_test(inspect_without_digest),
        cmocka_unit_test(inspect_digest_missing_from_buffer),
        cmocka_unit_test(inspect_truncated_everywhere_is_a_clean_error),
        cmocka_unit_test(inspect_segment_overflowing_lengths),
        cmocka_unit_test(inspect_rejects_more_than_16_segments),
        cmocka_unit_test(inspect_bad_header_fails),
        cmocka_unit_test(set_flash_size_changes_byte3_and_digest_only),
        cmocka_unit_test(set_flash_size_without_digest_changes_byte3_only),
        cmocka_unit_test(set_flash_size_digest_without_room_fails),
        cmocka_unit_test(app_desc_reads_fields),
        cmocka_unit_test(banner_versions),
        cmocka_unit_test(random_mutations_are_handled),
    };
    const struct CMUnitTest shared_tests[] = {
        cmocka_unit_test(real_esp32_v1_23_firmware),
    };
    return test_main(argc, argv, tests, sizeof tests / sizeof tests[0], shared_tests,
                     sizeof shared_tests / sizeof shared_tests[0]);
}
