/* ESP image header, segment walk, checksum, digest, app descriptor and version banner.
 * Format facts: esp-image-formats.md §1-§5; behaviour and messages: seed-spec §3.2, §4. */
#include "esp/image.h"
#include "util/digest.h"
#include "util/bytes.h"
#include "util/check.h"

#include <string.h>

int image_header_parse(const uint8_t *data, size_t len, struct image_header *hdr,
                       struct error *err)
{
    if (len < IMAGE_HEADER_SIZE)
        return error_setk(err, ERROR_VALUE,
                          "Buffer size too small (%zu instead of at least %d bytes)", len,
                          IMAGE_HEADER_SIZE);
    if (data[0] != IMAGE_MAGIC)
        return error_setk(err, ERROR_VALUE, "Invalid image file: magic bytes not found.");
    struct image_header h;
    h.magic = data[0];
    h.segment_count = data[1];
    h.spi_mode = data[2];
    h.spi_speed = data[3] & 0x0F;
    h.flash_size_id = data[3] >> 4;
    h.entry_addr = get_le32(data + 4);
    h.chip_id = get_le16(data + 12);
    h.min_rev_full = get_le16(data + 15);
    h.max_rev_full = get_le16(data + 17);
    h.hash_appended = data[23];
    /* Only chips of the table are accepted; 0xFFFF ("none") is not a chip (seed-spec §4.1). */
    if (h.chip_id == CHIP_ID_NONE || !chip_by_image_id(h.chip_id))
        return error_setk(err, ERROR_VALUE, "Invalid chip id in image header.");
    if (hdr)
        *hdr = h;
    return 0;
}

void image_header_encode(const struct image_header *hdr, const uint8_t *orig, uint8_t out[24])
{
    MP_ASSERT(hdr->flash_size_id <= 0xF); /* a nibble of byte 3 */
    if (orig)
        memmove(out, orig, IMAGE_HEADER_SIZE);
    else
        memset(out, 0, IMAGE_HEADER_SIZE);
    out[0] = hdr->magic;
    out[1] = hdr->segment_count;
    out[2] = hdr->spi_mode;
    out[3] = (uint8_t)((hdr->flash_size_id << 4) | (hdr->spi_speed & 0x0F));
    put_le32(out + 4, hdr->entry_addr);
    put_le16(out + 12, hdr->chip_id);
    put_le16(out + 15, hdr->min_rev_full);
    put_le16(out + 17, hdr->max_rev_full);
    out[23] = hdr->hash_appended;
}

int image_header_is_erased(const uint8_t *data)
{
    return bytes_all_erased(data, IMAGE_HEADER_SIZE);
}

uint32_t image_flash_size_bytes(uint8_t id)
{
    /* header byte 3 high nibble: size = 2^id MiB, ids 0..7 (esp-image-formats §1.1) */
    return id <= 7 ? (uint32_t)0x100000 << id : 0;
}

int image_flash_size_id(uint32_t bytes)
{
    for (int id = 0; id <= 7; id++)
        if (bytes == (uint32_t)0x100000 << id)
            return id;
    return -1;
}

/* Segment walk shared by inspect and set_flash_size: the image size without the digest
 * (segments, zero padding and checksum byte, a multiple of 16) and the XOR checksum. */
static int walk_segments(const uint8_t *data, size_t len, const struct image_header *hdr,
                         uint32_t *size_out, uint8_t *checksum_out,
                         struct image_segment *segments, struct error *err)
{
    if (hdr->segment_count > IMAGE_MAX_SEGMENTS)
        return error_setk(err, ERROR_VALUE,
                          "Invalid image file: too many segments (%u, at most %d).",
                          hdr->segment_count, IMAGE_MAX_SEGMENTS);
    uint64_t pos = IMAGE_HEADER_SIZE;
    /* XOR of all segment data bytes, seeded 0xEF (esp-image-formats.md §3) */
    uint8_t checksum = 0xEF;
    for (unsigned i = 0; i < hdr->segment_count; i++) {
        if (pos + IMAGE_SEGMENT_HEADER_SIZE > len)
            return error_setk(err, ERROR_VALUE,
                              "Invalid image file: segment %u header at offset 0x%llx exceeds "
                              "image size (%zu bytes).",
                              i, (unsigned long long)pos, len);
        uint32_t seg_len = get_le32(data + pos + 4);
        if (segments)
            segments[i] = (struct image_segment){
                get_le32(data + pos), (uint32_t)pos + IMAGE_SEGMENT_HEADER_SIZE, seg_len};
        pos += IMAGE_SEGMENT_HEADER_SIZE;
        /* Python's walk fails when the position reaches or passes the end (seed-spec §4.3). */
        if (pos + seg_len >= len)
            return error_setk(err, ERROR_VALUE,
                              "Invalid image file: segment size (%u bytes) exceeds image size "
                              "(%zu bytes).",
                              seg_len, len);
        /* XOR eight bytes at a time: the app images are megabytes long. */
        const uint8_t *p = data + pos;
        size_t n = seg_len;
        uint64_t acc = 0;
        while (n >= 8) {
            uint64_t w;
            memcpy(&w, p, 8);
            acc ^= w;
            p += 8;
            n -= 8;
        }
        while (n--)
            checksum ^= *p++;
        for (int b = 0; b < 8; b++)
            checksum ^= (uint8_t)(acc >> (8 * b));
        pos += seg_len;
    }
    uint64_t size = (pos + 1 + 15) & ~(uint64_t)15;
    if (size > len)
        return error_setk(err, ERROR_VALUE,
                          "Invalid image file: checksum at offset 0x%llx is past the end of "
                          "the data (%zu bytes).",
                          (unsigned long long)(size - 1), len);
    *size_out = (uint32_t)size;
    *checksum_out = checksum;
    return 0;
}

int image_inspect(const uint8_t *data, size_t len, struct image_info *info, struct error *err)
{
    struct image_info r;
    memset(&r, 0, sizeof r);
    if (image_header_parse(data, len, &r.header, err) < 0)
        return -1;
    uint32_t size;
    uint8_t checksum;
    if (walk_segments(data, len, &r.header, &size, &checksum, r.segments, err) < 0)
        return -1;
    r.size = size;
    r.total_size = size + (r.header.hash_appended == 1 ? IMAGE_DIGEST_SIZE : 0);
    r.checksum_stored = data[size - 1];
    r.checksum_computed = checksum;
    r.checksum_ok = r.checksum_stored == r.checksum_computed;
    digest_sha256(data, size, r.digest_computed);
    /* The stored digest is compared whenever 32 bytes follow the image (the Python tool compares
     * even when the header flag is 0); has_digest says whether the header announces one. */
    if ((uint64_t)size + IMAGE_DIGEST_SIZE <= len) {
        memcpy(r.digest_stored, data + size, IMAGE_DIGEST_SIZE);
        r.digest_ok = memcmp(r.digest_stored, r.digest_computed, IMAGE_DIGEST_SIZE) == 0;
        r.has_digest = r.header.hash_appended == 1;
    }
    if (info)
        *info = r;
    return 0;
}

int image_set_flash_size(uint8_t *data, size_t len, uint8_t size_id, struct error *err)
{
    if (size_id > 7)
        return error_setk(err, ERROR_VALUE, "Invalid flash size id %u (0..7).", size_id);
    struct image_header hdr = {0};
    if (image_header_parse(data, len, &hdr, err) < 0)
        return -1;
    uint32_t size = 0;
    uint8_t checksum;
    if (hdr.hash_appended == 1) {
        if (walk_segments(data, len, &hdr, &size, &checksum, NULL, err) < 0)
            return -1;
        if ((uint64_t)size + IMAGE_DIGEST_SIZE > len)
            return error_setk(err, ERROR_VALUE,
                              "Invalid image file: no room for the SHA-256 digest at offset "
                              "0x%x (%zu bytes).",
                              size, len);
    }
    data[3] = (uint8_t)((size_id << 4) | (data[3] & 0x0F));
    if (hdr.hash_appended == 1)
        digest_sha256(data, size, data + size);
    return 0;
}

int image_set_flash_params(uint8_t *data, size_t len, int mode, int freq_code, int size_id,
                           struct error *err)
{
    struct image_info info;
    if (image_inspect(data, len, &info, err) < 0)
        return -1;
    uint8_t b2 = data[2], b3 = data[3];
    if (mode >= 0)
        b2 = (uint8_t)mode;
    if (freq_code >= 0)
        b3 = (uint8_t)((b3 & 0xF0) | (freq_code & 0x0F));
    if (size_id >= 0)
        b3 = (uint8_t)((size_id & 0x0F) << 4 | (b3 & 0x0F));
    int changed = b2 != data[2] || b3 != data[3];
    data[2] = b2;
    data[3] = b3;
    /* byte 23 (the extended header's last byte) announces the digest after the image */
    if (data[23] == 1 && (uint64_t)info.size + IMAGE_DIGEST_SIZE <= len)
        digest_sha256(data, info.size, data + info.size);
    return changed;
}

static const char *const flash_modes[] = {"qio", "qout", "dio", "dout"};

const char *image_flash_mode_name(uint8_t mode)
{
    return mode < 4 ? flash_modes[mode] : NULL;
}

int image_flash_mode_value(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(name, flash_modes[i]) == 0)
            return i;
    return -1;
}

static void copy_text(char *out, size_t out_size, const uint8_t *field, size_t field_len)
{
    size_t n = strnlen((const char *)field, field_len);
    if (n >= out_size)
        n = out_size - 1;
    memcpy(out, field, n);
    out[n] = '\0';
}

int image_app_desc(const uint8_t *data, size_t len, struct app_desc *desc)
{
    /* esp_app_desc_t: 256 bytes at image offset 0x20 (esp-image-formats §5.1) */
    if (len < APP_DESC_OFFSET + 256)
        return -1;
    const uint8_t *d = data + APP_DESC_OFFSET;
    if (get_le32(d) != APP_DESC_MAGIC)
        return -1;
    struct app_desc r;
    memset(&r, 0, sizeof r);
    r.secure_version = get_le32(d + 0x04);
    copy_text(r.version, sizeof r.version, d + 0x10, 32);
    copy_text(r.project_name, sizeof r.project_name, d + 0x30, 32);
    copy_text(r.time, sizeof r.time, d + 0x50, 16);
    copy_text(r.date, sizeof r.date, d + 0x60, 16);
    copy_text(r.idf_ver, sizeof r.idf_ver, d + 0x70, 32);
    memcpy(r.app_elf_sha256, d + 0x90, 32);
    r.mmu_page_size_log2 = d[0xB4];
    if (desc)
        *desc = r;
    return 0;
}

static int version_char(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           c == '.' || c == '-' || c == '_' || c == '+';
}

#define BANNER_VERSION_MAX 64

int image_micropython_version(const uint8_t *data, size_t len, char *out, size_t out_size)
{
    /* The banner "MicroPython <ver> on <date>" (esp-image-formats §5.1); official builds have
     * "v1.23.0", custom builds a bare version or commit hash. memmem keeps this well under a
     * millisecond on a 2 MB app. */
    static const char key[] = "MicroPython ";
    const size_t klen = sizeof key - 1;
    const uint8_t *p = data;
    const uint8_t *end = data + len;
    while (p < end) {
        const uint8_t *hit = memmem(p, (size_t)(end - p), key, klen);
        if (!hit)
            break;
        const uint8_t *v = hit + klen;
        size_t n = 0;
        while (v + n < end && n <= BANNER_VERSION_MAX && version_char(v[n]))
            n++;
        if (n > 0 && n <= BANNER_VERSION_MAX && (size_t)(end - (v + n)) >= 4 &&
            memcmp(v + n, " on ", 4) == 0) {
            if (out && out_size > 0) {
                size_t c = n < out_size - 1 ? n : out_size - 1;
                memcpy(out, v, c);
                out[c] = '\0';
            }
            return 0;
        }
        p = hit + 1;
    }
    if (out && out_size > 0)
        out[0] = '\0';
    return -1;
}
