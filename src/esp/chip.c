#include "esp/chip.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/* Sources: ESP image format and serial protocol fact sheets (image chip ids, bootloader offsets,
 * ROM magic values at 0x40001000, SPIMEM1 register layout, eFuse bases, ROM boot logs) and the
 * RAM layout of MicroPython builds of each chip. */

/* SPIMEM1 user-command register offsets shared by every chip after the ESP32 (esp-serial-protocol §9). */
#define SPI_S2_LAYOUT                                                                        \
    .spi_usr_offs = 0x18, .spi_usr1_offs = 0x1C, .spi_usr2_offs = 0x20, .spi_w0_offs = 0x58, \
    .spi_mosi_dlen_offs = 0x24, .spi_miso_dlen_offs = 0x28

/* ROM boot-log wording shared by the chips after the ESP32 (esp-serial-protocol §4.2); they put
 * the main boot strap in bit 3 of the strap value. */
#define ROM_NEW_LOG .poweron_name = "POWERON", .sw_reset_name = "RTC_SW_SYS_RST"

/* Header flash frequency codes (esp-image-formats §1.2): most chips share the ESP32's; the
 * C2, C6 and H2 clock their flash from other sources and number them differently. */
static const struct chip_flash_freq freqs_esp32[] = {
    {"80m", 0xF}, {"40m", 0x0}, {"26m", 0x1}, {"20m", 0x2}, {NULL, 0}};
static const struct chip_flash_freq freqs_c2[] = {
    {"60m", 0xF}, {"30m", 0x0}, {"20m", 0x1}, {"15m", 0x2}, {NULL, 0}};
/* 80m is also 0: the ROM's clock source decides */
static const struct chip_flash_freq freqs_c6[] = {
    {"40m", 0x0}, {"80m", 0x0}, {"20m", 0x2}, {NULL, 0}};
static const struct chip_flash_freq freqs_h2[] = {
    {"48m", 0xF}, {"24m", 0x0}, {"16m", 0x1}, {"12m", 0x2}, {NULL, 0}};
static const struct chip_flash_freq freqs_c5[] = {
    {"80m", 0xF}, {"40m", 0x0}, {"20m", 0x2}, {NULL, 0}};

/* Features eFuse fields show, as esptool lists them after each chip's fixed ones
 * (esp-serial-protocol §8). */
static const struct chip_feature features_esp32[] = {
    /* word 3: BT and APP CPU disable bits, CPU rating, package, BLK3 use; word 4: ADC VRef;
       word 6: coding scheme */
    {{0x3FF5A00C, 1, 1}, 0, 0, "BT"},
    {{0x3FF5A00C, 0, 1}, 1, 0, "Single Core + LP Core"},
    {{0x3FF5A00C, 0, 1}, 0, 0, "Dual Core + LP Core"},
    {{0x3FF5A00C, 12, 2}, 2, 0, "240MHz"},
    {{0x3FF5A00C, 12, 2}, 3, 0, "160MHz"},
    {{0x3FF5A00C, 9, 3}, 2, 0, "Embedded Flash"},
    {{0x3FF5A00C, 9, 3}, 4, 0, "Embedded Flash"},
    {{0x3FF5A00C, 9, 3}, 5, 0, "Embedded Flash"},
    {{0x3FF5A00C, 9, 3}, 6, 0, "Embedded Flash, Embedded PSRAM"},
    {{0x3FF5A010, 8, 5}, 0, 1, "Vref calibration in eFuse"},
    {{0x3FF5A00C, 14, 1}, 1, 0, "BLK3 partially reserved"},
    {{0x3FF5A018, 0, 2}, 0, 0, "Coding Scheme None"},
    {{0x3FF5A018, 0, 2}, 1, 0, "Coding Scheme 3/4"},
    {{0x3FF5A018, 0, 2}, 2, 0, "Coding Scheme Repeat (UNSUPPORTED)"},
    {{0x3FF5A018, 0, 2}, 3, 0, "Coding Scheme None (may contain encoding data)"},
    {{0}, 0, 0, NULL}};
static const struct chip_feature features_esp32s2[] = {
    /* block 1 word 3: embedded flash and PSRAM; block 2 word 4: BLK_VERSION_MINOR */
    {{0x3F41A050, 21, 4}, 0, 0, "No Embedded Flash"},
    {{0x3F41A050, 21, 4}, 1, 0, "Embedded Flash 2MB"},
    {{0x3F41A050, 21, 4}, 2, 0, "Embedded Flash 4MB"},
    {{0x3F41A050, 28, 4}, 0, 0, "No Embedded PSRAM"},
    {{0x3F41A050, 28, 4}, 1, 0, "Embedded PSRAM 2MB"},
    {{0x3F41A050, 28, 4}, 2, 0, "Embedded PSRAM 4MB"},
    {{0x3F41A06C, 4, 3}, 0, 0, "No calibration in BLK2 of efuse"},
    {{0x3F41A06C, 4, 3}, 1, 0, "ADC and temperature sensor calibration in BLK2 of eFuse V1"},
    {{0x3F41A06C, 4, 3}, 2, 0, "ADC and temperature sensor calibration in BLK2 of eFuse V2"},
    {{0}, 0, 0, NULL}};
static const struct chip_feature features_esp32s3[] = {
    /* block 1 word 3: embedded flash */
    {{0x60007050, 27, 3}, 1, 0, "Embedded Flash 8MB"},
    {{0x60007050, 27, 3}, 2, 0, "Embedded Flash 4MB"},
    {{0}, 0, 0, NULL}};
static const struct chip_feature features_esp32c3[] = {
    /* block 1 word 3: embedded flash */
    {{0x60008850, 27, 3}, 1, 0, "Embedded Flash 4MB"},
    {{0x60008850, 27, 3}, 2, 0, "Embedded Flash 2MB"},
    {{0x60008850, 27, 3}, 3, 0, "Embedded Flash 1MB"},
    {{0x60008850, 27, 3}, 4, 0, "Embedded Flash 8MB"},
    {{0}, 0, 0, NULL}};
static const struct chip_feature features_esp32c6[] = {
    /* block 1 word 4: embedded flash (esptool names any other value unknown) */
    {{0x600B0854, 0, 3}, 1, 0, "Embedded Flash 4MB"},
    {{0x600B0854, 0, 3}, 2, 0, "Embedded Flash 8MB"},
    {{0x600B0854, 0, 3}, 0, 0, "Unknown Embedded Flash"},
    {{0x600B0854, 0, 3}, 3, 0, "Unknown Embedded Flash"},
    {{0x600B0854, 0, 3}, 4, 0, "Unknown Embedded Flash"},
    {{0x600B0854, 0, 3}, 5, 0, "Unknown Embedded Flash"},
    {{0x600B0854, 0, 3}, 6, 0, "Unknown Embedded Flash"},
    {{0x600B0854, 0, 3}, 7, 0, "Unknown Embedded Flash"},
    {{0}, 0, 0, NULL}};

static const struct chip chips[] = {
    {
        .name = "esp32",
        .description = "ESP32",
        .image_id = CHIP_ID_ESP32,
        .bootloader_offset = 0x1000,
        .flash_freqs = freqs_esp32,
        .features = "Wi-Fi",
        .efuse_features = features_esp32,
        .drom_start = 0x3F400000,
        .drom_end = 0x3F800000,
        .irom_start = 0x400D0000,
        .irom_end = 0x40400000,
        .spi_reg_base = 0x3FF42000,
        .spi_usr_offs = 0x1C,
        .spi_usr1_offs = 0x20,
        .spi_usr2_offs = 0x24,
        .spi_w0_offs = 0x80,
        .spi_mosi_dlen_offs = 0x28,
        .spi_miso_dlen_offs = 0x2C,
        .spi_addr_msb_aligned = 1,
        .rom =
            {
                .magic_values = {0x00F01D83},
                .uses_magic_value = 1,
                .security_info_len = 0,
                .begin_encrypt_word = 0,
                .uart_clkdiv_reg = 0x3FF40014,
                .baud_from_xtal_estimate = 1,
                .rtc_cali = {0x3FF5F06C, 7, 25},
                .ck8m_freq = {0x3FF5A010, 0, 8},
                /* estimate 1988 x 15625 x 51 / 40 = 39.60 MHz: 1 % under the crystal */
                .rtc_cali_value = 1988,
                .banner = "ets Jun  8 2016 00:22:57\r\n\r\n",
                .download_boot = "DOWNLOAD_BOOT(UART0/UART1/SDIO_REI_REO_V2)",
                .poweron_name = "POWERON_RESET",
                .sw_reset_name = "SW_RESET",
                .strap_download = 0x03,
                .strap_flash = 0x13, /* bit 4 = GPIO0 */
            },
        .efuse =
            {
                .base = 0x3FF5A000,
                .mac_addr = 0x3FF5A004,
                /* major: word 3 bit 15, word 5 bit 20, APB_CTRL_DATE bit 31 */
                .rev_major = {{0x3FF5A00C, 15, 1}, {0x3FF5A014, 20, 1}, {0x3FF6607C, 31, 1}},
                .rev_minor_lo = {0x3FF5A014, 24, 2},
                .default_major = 3,
                .default_minor = 1,
                .defaults =
                    {
                        /* word 3: package 1 (ESP32-D0WD-V3), CPU rated for 240 MHz */
                        {0x3FF5A00C, 1u << 9 | 1u << 13},
                        /* word 4: CK8M_FREQ 51 (8.2 MHz), ADC VRef calibration 1121 mV */
                        {0x3FF5A010, 51u | 3u << 8},
                    },
            },
        .build = {.boot_dram = 0x3FFF0030,
                  .boot_iram_loader = 0x40078000,
                  .boot_iram = 0x40080400,
                  .app_dram = 0x3FFBDB60,
                  .app_iram = 0x40080000,
                  .max_rev_full = 399,
                  .spi_speed = 0x0},
    },
    {
        .name = "esp32s2",
        .description = "ESP32-S2",
        .image_id = CHIP_ID_ESP32S2,
        .bootloader_offset = 0x1000,
        .flash_freqs = freqs_esp32,
        .features = "Wi-Fi, Single Core, 240MHz",
        .efuse_features = features_esp32s2,
        .drom_start = 0x3F000000,
        .drom_end = 0x3F3F0000,
        .irom_start = 0x40080000,
        .irom_end = 0x40B80000,
        .spi_reg_base = 0x3F402000,
        SPI_S2_LAYOUT,
        .rom =
            {
                .magic_values = {0x000007C6},
                .uses_magic_value = 1,
                .security_info_len = 12,
                .begin_encrypt_word = 1,
                .uart_clkdiv_reg = 0x3F400014,
                .banner = "ESP-ROM:esp32s2-rc4-20191025\r\nBuild:Oct 25 2019\r\n",
                .download_boot = "DOWNLOAD(USB/UART0/1)",
                ROM_NEW_LOG,
                .strap_download = 0x00,
                .strap_flash = 0x08,
            },
        .efuse =
            {
                .base = 0x3F41A000,
                .mac_addr = 0x3F41A044,
                .rev_major = {{0x3F41A050, 18, 2}},
                .rev_minor_hi = {0x3F41A050, 20, 1},
                .rev_minor_lo = {0x3F41A054, 4, 3},
                .default_major = 0,
                .default_minor = 0,
                .defaults =
                    {
                        /* block 1 word 3: embedded flash 4 MB, PSRAM 2 MB (ESP32-S2FNR2) */
                        {0x3F41A050, 2u << 21 | 1u << 28},
                        /* block 2 word 4: ADC and temperature sensor calibration V1 */
                        {0x3F41A06C, 1u << 4},
                    },
            },
        .build = {.boot_dram = 0x3FFE6108,
                  .boot_iram_loader = 0x4004C000,
                  .boot_iram = 0x40050000,
                  .app_dram = 0x3FFC9320,
                  .app_iram = 0x40024000,
                  .max_rev_full = 199,
                  .spi_speed = 0xF},
    },
    {
        .name = "esp32s3",
        .description = "ESP32-S3",
        .image_id = CHIP_ID_ESP32S3,
        .bootloader_offset = 0x0,
        .flash_freqs = freqs_esp32,
        .features = "Wi-Fi, BT 5 (LE), Dual Core + LP Core, 240MHz",
        .efuse_features = features_esp32s3,
        .drom_start = 0x3C000000,
        .drom_end = 0x3E000000,
        .irom_start = 0x42000000,
        .irom_end = 0x44000000,
        .spi_reg_base = 0x60002000,
        SPI_S2_LAYOUT,
        .usb_jtag = 1,
        .rom =
            {
                .magic_values = {0x00000009},
                .security_info_len = 20,
                .begin_encrypt_word = 1,
                .uart_clkdiv_reg = 0x60000014,
                .banner = "ESP-ROM:esp32s3-20210327\r\nBuild:Mar 27 2021\r\n",
                .download_boot = "DOWNLOAD(USB/UART0)",
                ROM_NEW_LOG,
                .strap_download = 0x00,
                .strap_flash = 0x08,
                .uartdev_buf_no_addr = 0x3FCEF14C,
                .uartdev_usb_jtag = 4,
            },
        .efuse =
            {
                .base = 0x60007000,
                .mac_addr = 0x60007044,
                .rev_major = {{0x60007058, 24, 2}},
                .rev_minor_hi = {0x60007058, 23, 1},
                .rev_minor_lo = {0x60007050, 18, 3},
                .default_major = 0,
                .default_minor = 2,
                .defaults =
                    {
                        {0x60007050, 3u << 24}, /* block 1 word 3: block version v1.3, QFN56 */
                        {0x6000706C, 1u},       /* block 2 word 4: block version major 1 */
                    },
            },
        .build = {.boot_dram = 0x3FCE3810,
                  .boot_iram_loader = 0x403C9700,
                  .boot_iram = 0x403CC700,
                  .app_dram = 0x3FC9E900,
                  .app_iram = 0x40374000,
                  .max_rev_full = 99,
                  .spi_speed = 0xF},
    },
    {
        .name = "esp32c2",
        .description = "ESP32-C2",
        .image_id = CHIP_ID_ESP32C2,
        .bootloader_offset = 0x0,
        .flash_freqs = freqs_c2,
        .features = "Wi-Fi, BT 5 (LE), Single Core, 120MHz",
        .drom_start = 0x3C000000,
        .drom_end = 0x3C400000,
        .irom_start = 0x42000000,
        .irom_end = 0x42400000,
        .spi_reg_base = 0x60002000,
        SPI_S2_LAYOUT,
        .rom =
            {
                .magic_values = {0x6F51306F, 0x7C41A06F, 0x0C21E06F},
                .security_info_len = 20,
                .begin_encrypt_word = 1,
                .uart_clkdiv_reg = 0x60000014,
                .baud_from_xtal_estimate = 1,
            },
        .efuse = {.base = 0x60008800, .mac_addr = 0x60008844},
        .build = {.boot_dram = 0x3FCD5820,
                  .boot_iram_loader = 0x403CC710,
                  .boot_iram = 0x403CE710,
                  .app_dram = 0x3FCA0000,
                  .app_iram = 0x40380000,
                  .max_rev_full = 99,
                  .spi_speed = 0xF},
    },
    {
        .name = "esp32c3",
        .description = "ESP32-C3",
        .image_id = CHIP_ID_ESP32C3,
        .bootloader_offset = 0x0,
        .flash_freqs = freqs_esp32,
        .features = "Wi-Fi, BT 5 (LE), Single Core, 160MHz",
        .efuse_features = features_esp32c3,
        .drom_start = 0x3C000000,
        .drom_end = 0x3C800000,
        .irom_start = 0x42000000,
        .irom_end = 0x42800000,
        .spi_reg_base = 0x60002000,
        SPI_S2_LAYOUT,
        .usb_jtag = 1,
        .rom =
            {
                .magic_values = {0x6921506F, 0x1B31506F, 0x4881606F, 0x4361606F},
                .security_info_len = 20,
                .api_version = 3,
                .begin_encrypt_word = 1,
                .uart_clkdiv_reg = 0x60000014,
                .banner = "ESP-ROM:esp32c3-api1-20210207\r\nBuild:Feb  7 2021\r\n",
                .download_boot = "DOWNLOAD(USB/UART0/1)",
                ROM_NEW_LOG,
                .strap_download = 0x04,
                .strap_flash = 0x0C,
                .uartdev_buf_no_addr = 0x3FCDF07C,
                .uartdev_usb_jtag = 3,
            },
        .efuse =
            {
                .base = 0x60008800,
                .mac_addr = 0x60008844,
                .rev_major = {{0x60008858, 24, 2}},
                .rev_minor_hi = {0x60008858, 23, 1},
                .rev_minor_lo = {0x60008850, 18, 3},
                .default_major = 0,
                .default_minor = 4, /* QFN32, no embedded flash */
            },
        .build = {.boot_dram = 0x3FCD5820,
                  .boot_iram_loader = 0x403CC710,
                  .boot_iram = 0x403CE710,
                  .app_dram = 0x3FC97600,
                  .app_iram = 0x40380000,
                  .max_rev_full = 99,
                  .spi_speed = 0xF},
    },
    {
        .name = "esp32c5",
        .description = "ESP32-C5",
        .image_id = CHIP_ID_ESP32C5,
        .bootloader_offset = 0x2000,
        .flash_freqs = freqs_c5,
        .features = "Wi-Fi 6 (dual-band), BT 5 (LE), IEEE802.15.4, Single Core + LP Core, 240MHz",
        .mac_ext = 1,
        .drom_start = 0x42000000,
        .drom_end = 0x44000000,
        .irom_start = 0x42000000,
        .irom_end = 0x44000000,
        .spi_reg_base = 0x60003000,
        SPI_S2_LAYOUT,
        .usb_jtag = 1,
        .rom =
            {
                .magic_values = {0x1101406F, 0x63E1406F, 0x5FD1406F, 0x30E1706F},
                .security_info_len = 20,
                .begin_encrypt_word = 1,
                .uart_clkdiv_reg = 0x60000014,
            },
        .efuse = {.base = 0x600B4800, .mac_addr = 0x600B4844},
        .build = {.boot_dram = 0x40875720,
                  .boot_iram_loader = 0x4086C410,
                  .boot_iram = 0x4086E610,
                  .app_dram = 0x40800000,
                  .app_iram = 0x408007AC,
                  .max_rev_full = 99,
                  .spi_speed = 0x0},
    },
    {
        .name = "esp32c6",
        .description = "ESP32-C6",
        .image_id = CHIP_ID_ESP32C6,
        .bootloader_offset = 0x0,
        .flash_freqs = freqs_c6,
        .features = "Wi-Fi 6, BT 5 (LE), IEEE802.15.4, Single Core + LP Core, 160MHz",
        .efuse_features = features_esp32c6,
        .mac_ext = 1,
        .drom_start = 0x42000000,
        .drom_end = 0x43000000,
        .irom_start = 0x42000000,
        .irom_end = 0x43000000,
        .spi_reg_base = 0x60003000,
        SPI_S2_LAYOUT,
        .usb_jtag = 1,
        .rom =
            {
                .magic_values = {0x2CE0806F},
                .security_info_len = 20,
                .begin_encrypt_word = 1,
                .uart_clkdiv_reg = 0x60000014,
                .banner = "ESP-ROM:esp32c6-20220919\r\nBuild:Sep 19 2022\r\n",
                .download_boot = "DOWNLOAD(USB/UART0/SDIO_FEI_FEO)",
                ROM_NEW_LOG,
                .strap_download = 0x04,
                .strap_flash = 0x0C,
                .uartdev_buf_no_addr = 0x4087F580,
                .uartdev_usb_jtag = 3,
            },
        .efuse =
            {
                .base = 0x600B0800,
                .mac_addr = 0x600B0844,
                .rev_major = {{0x600B0850, 22, 2}},
                .rev_minor_lo = {0x600B0850, 18, 4},
                .default_major = 0,
                .default_minor = 1,                        /* QFN40, no embedded flash */
                .defaults = {{0x600B0848, 0xFFFEu << 16}}, /* MAC_EXT ff:fe (the EUI-64 filler) */
            },
        .build = {.boot_dram = 0x40875720,
                  .boot_iram_loader = 0x4086C410,
                  .boot_iram = 0x4086E610,
                  .app_dram = 0x40800000,
                  .app_iram = 0x408007AC,
                  .max_rev_full = 99,
                  .spi_speed = 0x0},
    },
    {
        .name = "esp32c61",
        .description = "ESP32-C61",
        .image_id = CHIP_ID_ESP32C61,
        .bootloader_offset = 0x0,
        .flash_freqs = freqs_c5,
        .features = "Wi-Fi 6, BT 5 (LE), Single Core, 160MHz",
        .drom_start = 0x42000000,
        .drom_end = 0x44000000,
        .irom_start = 0x42000000,
        .irom_end = 0x44000000,
        .spi_reg_base = 0x60003000,
        SPI_S2_LAYOUT,
        .usb_jtag = 1,
        .rom =
            {
                .magic_values = {0x2421606F, 0x33F0206F, 0x4F81606F, 0x7211606F},
                .security_info_len = 20,
                .begin_encrypt_word = 1,
                .uart_clkdiv_reg = 0x60000014,
            },
        .efuse = {.base = 0x600B4800, .mac_addr = 0x600B4844},
        .build = {.boot_dram = 0x40875720,
                  .boot_iram_loader = 0x4086C410,
                  .boot_iram = 0x4086E610,
                  .app_dram = 0x40800000,
                  .app_iram = 0x408007AC,
                  .max_rev_full = 99,
                  .spi_speed = 0x0},
    },
    {
        .name = "esp32h2",
        .description = "ESP32-H2",
        .image_id = CHIP_ID_ESP32H2,
        .bootloader_offset = 0x0,
        .flash_freqs = freqs_h2,
        .features = "BT 5 (LE), IEEE802.15.4, Single Core, 96MHz",
        .mac_ext = 1,
        .drom_start = 0x42000000,
        .drom_end = 0x43000000,
        .irom_start = 0x42000000,
        .irom_end = 0x43000000,
        .spi_reg_base = 0x60003000,
        SPI_S2_LAYOUT,
        .usb_jtag = 1,
        .rom =
            {
                .magic_values = {0xD7B73E80, 0x97E30068},
                .security_info_len = 20,
                .begin_encrypt_word = 1,
                .uart_clkdiv_reg = 0x60000014,
            },
        .efuse = {.base = 0x600B0800, .mac_addr = 0x600B0844},
        .build = {.boot_dram = 0x40835720,
                  .boot_iram_loader = 0x4082C410,
                  .boot_iram = 0x4082E610,
                  .app_dram = 0x40800000,
                  .app_iram = 0x408007AC,
                  .max_rev_full = 99,
                  .spi_speed = 0x0},
    },
    {
        .name = "esp32p4",
        .description = "ESP32-P4",
        .image_id = CHIP_ID_ESP32P4,
        .bootloader_offset = 0x2000,
        .flash_freqs = freqs_esp32,
        .features = "Dual Core + LP Core, 400MHz",
        .drom_start = 0x40000000,
        .drom_end = 0x4C000000,
        .irom_start = 0x40000000,
        .irom_end = 0x4C000000,
        .spi_reg_base = 0x5008D000,
        SPI_S2_LAYOUT,
        .usb_jtag = 1,
        .rom =
            {
                .magic_values = {0x0ADDBAD0, 0x07039AD9},
                .security_info_len = 20,
                .begin_encrypt_word = 1,
                .uart_clkdiv_reg = 0x60000014,
            },
        .efuse = {.base = 0x5012D000, .mac_addr = 0x5012D044},
        .build = {.boot_dram = 0x4FFB6400,
                  .boot_iram_loader = 0x4FFAC000,
                  .boot_iram = 0x4FFAE000,
                  .app_dram = 0x4FF00000,
                  .app_iram = 0x4FF10000,
                  .max_rev_full = 199,
                  .spi_speed = 0xF},
    },
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
        for (size_t k = 0; k < 4 && chips[i].rom.magic_values[k]; k++)
            if (chips[i].rom.magic_values[k] == magic)
                return &chips[i];
    return NULL;
}

int chip_flash_freq_code(const struct chip *chip, const char *name)
{
    for (int i = 0; chip->flash_freqs && chip->flash_freqs[i].name; i++)
        if (strcasecmp(chip->flash_freqs[i].name, name) == 0)
            return chip->flash_freqs[i].code;
    return -1;
}

const char *chip_flash_freq_name(const struct chip *chip, uint8_t code)
{
    for (int i = 0; chip->flash_freqs && chip->flash_freqs[i].name; i++)
        if (chip->flash_freqs[i].code == code)
            return chip->flash_freqs[i].name;
    return NULL;
}
