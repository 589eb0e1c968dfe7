/* NVS on-disk structures: page header, entry state bitmap, entries, CRCs (nvs.md §2). */
#include <string.h>
#include <zlib.h>

#include "nvs/nvs.h"
#include "util/bytes.h"

uint32_t nvs_crc32(const void *data, size_t len)
{
    /* esp_rom_crc32_le(0xffffffff, ...) is zlib's crc32 with 0xffffffff as the running value:
     * not the usual crc32(0, ...) (nvs.md §2.4) */
    uLong crc = 0xffffffffu;
    const Bytef *p = data;
    while (len > 0) {
        uInt n = len > 0x40000000u ? 0x40000000u : (uInt)len;
        crc = crc32(crc, p, n);
        p += n;
        len -= n;
    }
    return (uint32_t)crc;
}

uint32_t nvs_header_crc(const uint8_t raw[NVS_HEADER_SIZE])
{
    return nvs_crc32(raw + 4, 24);
}

void nvs_header_decode(const uint8_t raw[NVS_HEADER_SIZE], struct nvs_page_header *h)
{
    h->state = get_le32(raw);
    h->seq = get_le32(raw + 4);
    h->version = raw[8];
    h->crc = get_le32(raw + 28);
}

void nvs_header_encode(uint8_t raw[NVS_HEADER_SIZE], uint32_t state, uint32_t seq,
                       uint8_t version)
{
    memset(raw, 0xff, NVS_HEADER_SIZE);
    put_le32(raw, state);
    put_le32(raw + 4, seq);
    raw[8] = version;
    put_le32(raw + 28, nvs_header_crc(raw));
}

uint32_t nvs_entry_crc(const uint8_t raw[NVS_ENTRY_SIZE])
{
    uint8_t buf[28];
    memcpy(buf, raw, 4);
    memcpy(buf + 4, raw + 8, 24);
    return nvs_crc32(buf, sizeof buf);
}

void nvs_entry_decode(const uint8_t raw[NVS_ENTRY_SIZE], struct nvs_entry *e)
{
    e->ns = raw[0];
    e->type = raw[1];
    e->span = raw[2];
    e->chunk_index = raw[3];
    e->crc = get_le32(raw + 4);
    memcpy(e->key, raw + 8, 16);
    e->key[16] = '\0';
    memcpy(e->data, raw + 24, 8);
}

void nvs_entry_encode(uint8_t raw[NVS_ENTRY_SIZE], const struct nvs_entry *e)
{
    raw[0] = e->ns;
    raw[1] = e->type;
    raw[2] = e->span;
    raw[3] = e->chunk_index;
    /* the key field is NUL-padded, as ESP-IDF's Item constructor leaves it */
    memset(raw + 8, 0, 16);
    memcpy(raw + 8, e->key, strnlen(e->key, NVS_KEY_MAX));
    memcpy(raw + 24, e->data, 8);
    put_le32(raw + 4, nvs_entry_crc(raw));
}

enum nvs_entry_state nvs_entry_state_of(const uint8_t *page, unsigned i)
{
    return (enum nvs_entry_state)((page[NVS_BITMAP_OFFSET + i / 4] >> (2 * (i % 4))) & 3u);
}

unsigned nvs_int_size(uint8_t type)
{
    switch (type) {
    case NVS_TYPE_U8:
    case NVS_TYPE_I8:
    case NVS_TYPE_U16:
    case NVS_TYPE_I16:
    case NVS_TYPE_U32:
    case NVS_TYPE_I32:
    case NVS_TYPE_U64:
    case NVS_TYPE_I64: return type & 0x0fu;
    default: return 0;
    }
}

int nvs_int_signed(uint8_t type)
{
    return nvs_int_size(type) && (type & 0x10u);
}

uint64_t nvs_int_decode(uint8_t type, const uint8_t *bytes)
{
    unsigned size = nvs_int_size(type);
    uint64_t v = 0;
    for (unsigned b = 0; b < size; b++)
        v |= (uint64_t)bytes[b] << (8 * b);
    if (nvs_int_signed(type) && size < 8 && (v >> (8 * size - 1)) & 1)
        v |= ~0ull << (8 * size); /* the sign bit copied into the bytes above */
    return v;
}

const char *nvs_type_name(uint8_t type)
{
    switch (type) {
    case NVS_TYPE_U8: return "u8";
    case NVS_TYPE_I8: return "i8";
    case NVS_TYPE_U16: return "u16";
    case NVS_TYPE_I16: return "i16";
    case NVS_TYPE_U32: return "u32";
    case NVS_TYPE_I32: return "i32";
    case NVS_TYPE_U64: return "u64";
    case NVS_TYPE_I64: return "i64";
    case NVS_TYPE_STR: return "str";
    case NVS_TYPE_BLOB_V1:
    case NVS_TYPE_BLOB_INDEX: return "blob";
    case NVS_TYPE_BLOB_DATA: return "blob_data";
    default: return NULL;
    }
}

int nvs_entry_consistent(const struct nvs_entry *e, const uint8_t raw[NVS_ENTRY_SIZE],
                         unsigned index)
{
    if (index >= NVS_ENTRY_COUNT || e->crc != nvs_entry_crc(raw))
        return 0;
    if (nvs_int_size(e->type))
        return e->span == 1;
    switch (e->type) {
    case NVS_TYPE_BLOB_INDEX:
        /* at most 127 chunks of at most 125 entries each (nvs.md §2.5) */
        return e->span == 1 && e->chunk_index == NVS_CHUNK_ANY &&
               get_le32(e->data) <= 127u * (NVS_ENTRY_COUNT - 1) * NVS_ENTRY_SIZE;
    case NVS_TYPE_STR:
    case NVS_TYPE_BLOB_V1:
    case NVS_TYPE_BLOB_DATA: {
        if (e->type == NVS_TYPE_BLOB_DATA && e->chunk_index == NVS_CHUNK_ANY)
            return 0;
        uint32_t size = get_le16(e->data);
        uint32_t room = (NVS_ENTRY_COUNT - index - 1) * NVS_ENTRY_SIZE;
        if (size > room || e->span > NVS_ENTRY_COUNT - index)
            return 0;
        return e->span == 1 + (size + NVS_ENTRY_SIZE - 1) / NVS_ENTRY_SIZE;
    }
    default: return 0;
    }
}
