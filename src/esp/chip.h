/* The table of ESP32-family chips: one row per chip with every per-chip fact the tool, the
 * serial loader, the firmware generator and the virtual chip need, so no other code tests chip
 * names or ids. Rows use designated initialisers; a fact a chip lacks stays 0 / NULL. */
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

/* A bit field of a 32-bit register or eFuse word: (word at addr >> shift) & (2^width - 1).
 * width 0 = no such field. */
struct chip_bits {
    uint32_t addr;
    uint8_t shift, width;
};

/* The field's value in a word read from its address. */
static inline uint32_t chip_bits_get(uint32_t word, struct chip_bits f)
{
    return (word >> f.shift) & (f.width >= 32 ? 0xFFFFFFFFu : (1u << f.width) - 1);
}

#define CHIP_MAX_EFUSE_DEFAULTS 8

/* A feature an eFuse field shows, as esptool lists it: `text` when the field holds `value`
 * (with `nonzero`: any value but 0). */
struct chip_feature {
    struct chip_bits field;
    uint32_t value;
    int nonzero;
    const char *text;
};

/* The serial download mode of the chip's mask ROM (esp-serial-protocol.md §4-§8). */
struct chip_rom {
    uint32_t magic_values[4]; /* values of CHIP_DETECT_MAGIC_REG (0x40001000); 0 = unused */
    int uses_magic_value;     /* clients identify the chip by the magic value, not by the chip
                                  id of GET_SECURITY_INFO (absent on ESP32, short on S2) */
    size_t security_info_len; /* GET_SECURITY_INFO data bytes: 0 = unsupported, 12 (no chip
                                  id), 20 */
    uint32_t api_version;     /* GET_SECURITY_INFO's last word */
    int begin_encrypt_word;   /* FLASH_BEGIN / FLASH_DEFL_BEGIN take a 5th "encrypted" word */
    uint32_t uart_clkdiv_reg; /* UART0 clock divider: integer bits 0-19, sixteenths 20-23;
                                  crystal ~ baud x divider */
    /* The ROM computes CHANGE_BAUDRATE's divider from its own estimate of the crystal:
       RTC calibration x 15625 x CK8M_FREQ / 40 (ESP32), which drifts with the 8 MHz RC
       oscillator; clients scale the baud they ask for by estimate / crystal
       (esp-serial-protocol §6.7). */
    int baud_from_xtal_estimate;
    struct chip_bits rtc_cali;  /* the ROM's calibration result (a register) */
    struct chip_bits ck8m_freq; /* the eFuse with the oscillator's factory frequency */
    uint32_t rtc_cali_value;    /* a typical calibration result with a 40 MHz crystal */
    /* What the ROM prints at boot (esp-serial-protocol §4.2). NULL banner: the virtual chip does
       not play it. */
    const char *banner;                       /* lines before "rst:" */
    const char *download_boot;                /* boot mode name of a download boot */
    const char *poweron_name, *sw_reset_name; /* reset reasons 0x1 and 0x3 */
    uint32_t strap_download, strap_flash;     /* "boot:0x.." values */
    /* ROM variable telling which port the download mode runs on; the value it holds when that
       is the USB-Serial/JTAG (0 = the chip has none). */
    uint32_t uartdev_buf_no_addr, uartdev_usb_jtag;
};

/* eFuse words as clients read them (esp-serial-protocol §8): MAC, chip revision, package and
 * features. */
struct chip_efuse {
    uint32_t base;     /* eFuse controller base */
    uint32_t mac_addr; /* word with MAC bytes 2..5 (big-endian); the next word holds
                                  bytes 0..1 in bits 8-15 / 0-7 */
    /* Chip revision vMAJOR.MINOR. Several major fields: one bit each, the revision in unary
       (ESP32: 0, 1, 3, 7 for v0..v3); minor = hi << lo.width | lo. */
    struct chip_bits rev_major[3];
    struct chip_bits rev_minor_hi, rev_minor_lo;
    uint8_t default_major, default_minor; /* a common production revision */
    /* Other words of that production chip (package, features, calibration); addr 0 ends. */
    struct {
        uint32_t addr, value;
    } defaults[CHIP_MAX_EFUSE_DEFAULTS];
};

/* Facts of a typical MicroPython build for the chip, used by the firmware generator: RAM load
 * addresses of bootloader and app segments, default header fields. */
struct chip_build {
    uint32_t boot_dram, boot_iram_loader, boot_iram;
    uint32_t app_dram, app_iram;
    uint16_t max_rev_full; /* image header max chip revision */
    uint8_t spi_speed;     /* image header flash frequency code */
};

/* A flash frequency the image header can name (byte 3 low nibble); codes differ per chip. */
struct chip_flash_freq {
    const char *name; /* "80m", as esptool's --flash_freq takes it */
    uint8_t code;
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
    /* SPI flash controller used by the ROM (esp-serial-protocol §10) */
    uint32_t spi_reg_base;
    uint32_t spi_usr_offs, spi_usr1_offs, spi_usr2_offs, spi_w0_offs;
    uint32_t spi_mosi_dlen_offs, spi_miso_dlen_offs;
    int spi_addr_msb_aligned;   /* ESP32: the address register takes the address shifted left */
    int usb_jtag;               /* has a USB-Serial/JTAG peripheral (VID 303a PID 1001) */
    /* Header flash frequencies, the first of a code being its name; a NULL name ends. */
    const struct chip_flash_freq *flash_freqs;
    const char *features; /* what every chip of the family has, as esptool lists it */
    /* Features read from eFuses after those (a NULL text ends the list; NULL: none). */
    const struct chip_feature *efuse_features;
    /* The word after the MAC holds MAC_EXT in bits 16-31: the MAC shown is the EUI-64 (the
     * base MAC with MAC_EXT in the middle), as esptool shows it. */
    int mac_ext;
    struct chip_rom rom;
    struct chip_efuse efuse;
    struct chip_build build;
};

/* Lookups return NULL when nothing matches. */
const struct chip *chip_by_image_id(uint16_t id);
const struct chip *chip_by_name(const char *name); /* accepts "esp32s3", "ESP32-S3", "esp32-s3" */
const struct chip *chip_by_magic(uint32_t magic);
/* The header code of a flash frequency name ("40m"), or -1 when the chip has no such one. */
int chip_flash_freq_code(const struct chip *chip, const char *name);
/* The name of a header code, NULL when the chip has none. */
const char *chip_flash_freq_name(const struct chip *chip, uint8_t code);
/* The whole table, for iteration (tests, --help, the virtual chip). */
const struct chip *chip_table(size_t *count);

#endif
