/* Little-endian integers in byte buffers: every on-disk and on-wire format the tool handles
 * (ESP images, partition tables, otadata, littlefs, the bootloader protocol) stores its numbers
 * little-endian, whatever the host's byte order. */
#ifndef MP_UTIL_BYTES_H
#define MP_UTIL_BYTES_H

#include <stddef.h>
#include <stdint.h>

static inline uint16_t get_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static inline void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* Whether n bytes are all 0xFF, as erased flash reads. */
static inline int bytes_all_erased(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != 0xFF)
            return 0;
    return 1;
}

#endif
