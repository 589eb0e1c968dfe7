/* Synthetic MicroPython-like firmware for any chip of the chip table and any flash size: a
 * bootloader image, a MicroPython partition table and an app image with a valid descriptor,
 * version banner, flash-mapped segment alignment, checksums and SHA-256 digests. Deterministic
 * for a given seed. Used by tests, benchmarks, the README demo and the virtual chip; never
 * meant to boot. */
#ifndef MP_SYNTH_SYNTH_H
#define MP_SYNTH_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#include "esp/chip.h"
#include "esp/ptable.h"
#include "util/error.h"

/* Where the firmware buffer starts and ends. */
enum synth_layout {
    SYNTH_RELEASE,   /* a release .bin: from the chip's bootloader offset to the end of the app */
    SYNTH_FROM_ZERO, /* from flash 0x0 (0xFF before the bootloader) to the end of the app */
    SYNTH_FULL_FLASH /* from flash 0x0 to the flash size (everything else 0xFF, i.e. erased) */
};

struct synth_options {
    const struct chip *chip; /* NULL: esp32 */
    uint32_t flash_size;     /* bytes, a power of two from 1 MiB to 128 MiB; 0: 4 MiB */
    int ota;                 /* OTA table (nvs, otadata, phy_init, ota_0, ota_1, vfs) */
    int no_vfs;              /* no vfs entry (as the v1.26 tables) */
    uint32_t app_part_size;  /* factory / ota_N partition size; 0: by flash size (see synth.c) */
    uint32_t app_size;       /* app image size in bytes including its digest, rounded up to 16;
                                0: 1,500,000 or less to fit the partition */
    uint32_t seed;           /* pseudo-random content */
    const char *version;     /* banner version, NULL: "v1.99.0" */
};

/* A generated buffer (malloc'd; release with synth_buffer_free). */
struct synth_buffer {
    uint8_t *data;
    size_t len;
    uint32_t base;            /* flash address of data[0] */
    uint32_t bootloader_size; /* bootloader image bytes including its digest */
    uint32_t app_offset;      /* flash address of the app image (0 for a standalone app) */
    uint32_t app_size;        /* app image bytes including its digest */
};

/* Defaults: esp32, 4 MiB, stock 4-entry table, seed 1. */
void synth_defaults(struct synth_options *opt);

/* The partition table the firmware carries (flash_size set). Errors for a flash size the header
 * cannot express or a table that does not fit. */
int synth_table(const struct synth_options *opt, struct ptable *table, struct error *err);

/* The second-stage bootloader image alone (starts with an esp_bootloader_desc_t). */
int synth_bootloader(const struct synth_options *opt, struct synth_buffer *out, struct error *err);

/* A standalone app image (what an OTA update or --extract-app deals with): esp_app_desc_t at
 * 0x20, banner "MicroPython <version> on 2026-01-01" in a flash-mapped data segment. */
int synth_app(const struct synth_options *opt, struct synth_buffer *out, struct error *err);

/* The whole firmware: bootloader at the chip's bootloader offset, table at 0x8000, app at the
 * first app partition, 0xFF elsewhere. */
int synth_firmware(const struct synth_options *opt, enum synth_layout layout,
                   struct synth_buffer *out, struct error *err);

void synth_buffer_free(struct synth_buffer *buf);

#endif
