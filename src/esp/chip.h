/* The table of ESP32-family chips: one row per chip with every per-chip fact the tool needs, so
 * no other code tests chip names. */
#ifndef MP_ESP_CHIP_H
#define MP_ESP_CHIP_H

#include <stddef.h>
#include <stdint.h>

/* Image chip id (image header bytes 12-13, also GET_SECURITY_INFO's chip id). */
enum chip_image_id {
    CHIP_ID_ESP32 = 0x0000,
    CHIP_ID_ESP32S2 = 0x0002,
    CHIP_ID_ESP32C3 = 0x0005,
    CHIP_ID_ESP32S3 = 0x0009,
    CHIP_ID_ESP32C2 = 0x000C,
    CHIP_ID_ESP32C6 = 0x000D,
    CHIP_ID_ESP32H2 = 0x0010,
    CHIP_ID_ESP32P4 = 0x0012,
    CHIP_ID_ESP32C61 = 0x0014,
    CHIP_ID_ESP32C5 = 0x0017,
    CHIP_ID_NONE = 0xFFFF,
};

struct chip {
    const char *name;           /* "esp32s3": as the tool prints it and accepts it */
    const char *description;    /* "ESP32-S3": as esptool prints it */
    uint16_t image_id;          /* enum chip_image_id */
    uint32_t bootloader_offset; /* flash address of the second-stage bootloader image */
    /* Flash-mapped address windows (IROM/DROM) of app images: segments loaded here are read
     * from flash through the MMU, everything else is copied to RAM by the bootloader. */
    uint32_t drom_start, drom_end;
    uint32_t irom_start, irom_end;
    /* --- serial loader facts (ROM detection registers, SPI flash registers, ...) --- */
    uint32_t magic_values[4];   /* values of CHIP_DETECT_MAGIC_REG (0x40001000); 0 = unused */
    uint32_t spi_reg_base;      /* SPI flash controller used by the ROM */
    uint32_t spi_usr_offs, spi_usr1_offs, spi_usr2_offs, spi_w0_offs;
    uint32_t spi_mosi_dlen_offs, spi_miso_dlen_offs;
    int spi_addr_msb_aligned;   /* ESP32: the address register takes the address shifted left */
    uint32_t efuse_base;        /* eFuse controller base (MAC and revision words live here) */
    int usb_jtag;               /* has a USB-Serial/JTAG peripheral (VID 303a PID 1001) */
};

/* Lookups return NULL when nothing matches. */
const struct chip *chip_by_image_id(uint16_t id);
const struct chip *chip_by_name(const char *name); /* accepts "esp32s3", "ESP32-S3", "esp32-s3" */
const struct chip *chip_by_magic(uint32_t magic);
/* The whole table, for iteration (tests, --help, the virtual chip). */
const struct chip *chip_table(size_t *count);

#endif
