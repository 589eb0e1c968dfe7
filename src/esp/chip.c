#include "esp/chip.h"

#include <ctype.h>
#include <string.h>

/* Sources: ESP image format and serial protocol fact sheets (image chip ids, bootloader offsets,
 * ROM magic values at 0x40001000, SPIMEM1 register layout, eFuse bases). */
#define SPI_S2_LAYOUT 0x18, 0x1C, 0x20, 0x58, 0x24, 0x28, 0

static const struct chip chips[] = {
    {"esp32", "ESP32", CHIP_ID_ESP32, 0x1000, 0x3F400000, 0x3F800000, 0x400D0000, 0x40400000,
     {0x00F01D83}, 0x3FF42000, 0x1C, 0x20, 0x24, 0x80, 0x28, 0x2C, 1, 0x3FF5A000, 0},
    {"esp32s2", "ESP32-S2", CHIP_ID_ESP32S2, 0x1000, 0x3F000000, 0x3F3F0000, 0x40080000,
     0x40B80000, {0x000007C6}, 0x3F402000, SPI_S2_LAYOUT, 0x3F41A000, 0},
    {"esp32s3", "ESP32-S3", CHIP_ID_ESP32S3, 0x0, 0x3C000000, 0x3E000000, 0x42000000, 0x44000000,
     {0x00000009}, 0x60002000, SPI_S2_LAYOUT, 0x60007000, 1},
    {"esp32c2", "ESP32-C2", CHIP_ID_ESP32C2, 0x0, 0x3C000000, 0x3C400000, 0x42000000, 0x42400000,
     {0x6F51306F, 0x7C41A06F, 0x0C21E06F}, 0x60002000, SPI_S2_LAYOUT, 0x60008800, 0},
    {"esp32c3", "ESP32-C3", CHIP_ID_ESP32C3, 0x0, 0x3C000000, 0x3C800000, 0x42000000, 0x42800000,
     {0x6921506F, 0x1B31506F, 0x4881606F, 0x4361606F}, 0x60002000, SPI_S2_LAYOUT, 0x60008800, 1},
    {"esp32c5", "ESP32-C5", CHIP_ID_ESP32C5, 0x2000, 0x42000000, 0x44000000, 0x42000000,
     0x44000000, {0x1101406F, 0x63E1406F, 0x5FD1406F, 0x30E1706F}, 0x60003000, SPI_S2_LAYOUT,
     0x600B4800, 1},
    {"esp32c6", "ESP32-C6", CHIP_ID_ESP32C6, 0x0, 0x42000000, 0x43000000, 0x42000000, 0x43000000,
     {0x2CE0806F}, 0x60003000, SPI_S2_LAYOUT, 0x600B0800, 1},
    {"esp32c61", "ESP32-C61", CHIP_ID_ESP32C61, 0x0, 0x42000000, 0x44000000, 0x42000000,
     0x44000000, {0x2421606F, 0x33F0206F, 0x4F81606F, 0x7211606F}, 0x60003000, SPI_S2_LAYOUT,
     0x600B4800, 1},
    {"esp32h2", "ESP32-H2", CHIP_ID_ESP32H2, 0x0, 0x42000000, 0x43000000, 0x42000000, 0x43000000,
     {0xD7B73E80, 0x97E30068}, 0x60003000, SPI_S2_LAYOUT, 0x600B0800, 1},
    {"esp32p4", "ESP32-P4", CHIP_ID_ESP32P4, 0x2000, 0x40000000, 0x4C000000, 0x40000000,
     0x4C000000, {0x0ADDBAD0, 0x07039AD9}, 0x5008D000, SPI_S2_LAYOUT, 0x5012D000, 1},
};

#define CHIP_COUNT (sizeof chips / sizeof chips[0])

const struct chip *chip_table(size_t *count)
{
    if (count)
        *count = CHIP_COUNT;
    return chips;
}

const struct chip *chip_by_image_id(uint16_t id)
{
    for (size_t i = 0; i < CHIP_COUNT; i++)
        if (chips[i].image_id == id)
            return &chips[i];
    return NULL;
}

const struct chip *chip_by_name(const char *name)
{
    /* Compare case-insensitively, ignoring '-' and '_', so "ESP32-S3" finds "esp32s3". */
    char folded[32];
    size_t n = 0;
    for (const char *p = name; *p && n + 1 < sizeof folded; p++)
        if (*p != '-' && *p != '_')
            folded[n++] = (char)tolower((unsigned char)*p);
    folded[n] = '\0';
    for (size_t i = 0; i < CHIP_COUNT; i++)
        if (strcmp(chips[i].name, folded) == 0)
            return &chips[i];
    return NULL;
}

const struct chip *chip_by_magic(uint32_t magic)
{
    for (size_t i = 0; i < CHIP_COUNT; i++)
        for (size_t k = 0; k < 4 && chips[i].magic_values[k]; k++)
            if (chips[i].magic_values[k] == magic)
                return &chips[i];
    return NULL;
}
