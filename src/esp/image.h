/* ESP application / bootloader images: the 24-byte header, the segment walk, checksum and the
 * appended SHA-256, the app descriptor, and the MicroPython version banner. Pure functions over
 * byte buffers: no I/O. */
#ifndef MP_ESP_IMAGE_H
#define MP_ESP_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "esp/chip.h"
#include "util/error.h"

#define IMAGE_MAGIC 0xE9
#define IMAGE_HEADER_SIZE 24
#define IMAGE_SEGMENT_HEADER_SIZE 8
#define IMAGE_DIGEST_SIZE 32
#define IMAGE_MAX_SEGMENTS 16
#define APP_DESC_OFFSET 0x20 /* esp_app_desc_t at image offset 0x20 */
#define APP_DESC_MAGIC 0xABCD5432u

/* The image header (image offset 0, 24 bytes). */
struct image_header {
    uint8_t magic;         /* 0xE9 */
    uint8_t segment_count;
    uint8_t spi_mode;      /* 0 QIO, 1 QOUT, 2 DIO, 3 DOUT */
    uint8_t spi_speed;     /* byte 3 low nibble */
    uint8_t flash_size_id; /* byte 3 high nibble: size = 1 MiB << id */
    uint32_t entry_addr;
    uint16_t chip_id;      /* enum chip_image_id */
    uint16_t min_rev_full, max_rev_full;
    uint8_t hash_appended; /* byte 23 */
};

/* Decode 24 bytes. Fails with "Invalid image file: magic bytes not found." or "Invalid chip id
 * in image header." (the Python tool's messages). len < 24 is an error naming the length. */
int image_header_parse(const uint8_t *data, size_t len, struct image_header *hdr,
                       struct error *err);
/* Encode into 24 bytes (inverse of parse for the fields it knows; reserved bytes are taken
 * from `orig` when given, else zero). */
void image_header_encode(const struct image_header *hdr, const uint8_t *orig, uint8_t out[24]);
/* All 24 bytes 0xFF: erased flash, no image. */
int image_header_is_erased(const uint8_t *data);

/* Flash size in bytes for a header size id (0..7 -> 1..128 MiB); 0 for an invalid id. */
uint32_t image_flash_size_bytes(uint8_t id);
/* The header size id for a size in bytes: exact powers of two from 1 MiB to 128 MiB only;
 * -1 otherwise (the caller reports it: the C tool refuses sizes the header cannot express). */
int image_flash_size_id(uint32_t bytes);

/* One segment as the image lists it. */
struct image_segment {
    uint32_t load_addr;   /* where the bootloader puts it (or maps it) */
    uint32_t file_offset; /* of its data, from the image start */
    uint32_t size;
};

/* Result of walking an image's segments. */
struct image_info {
    struct image_header header;
    struct image_segment segments[IMAGE_MAX_SEGMENTS];
    uint32_t size;           /* up to and including the checksum byte, padded to 16 */
    uint32_t total_size;     /* size + 32 when a digest is appended */
    uint8_t checksum_stored, checksum_computed;
    int checksum_ok;
    int has_digest;          /* hash_appended == 1 and the 32 bytes are present */
    int digest_ok;           /* SHA-256 of [0, size) equals the stored digest */
    uint8_t digest_stored[32], digest_computed[32];
};

/* Walk segments of the image in data[0, len). Errors: bad header, more than 16 segments,
 * "Invalid image file: segment size (N bytes) exceeds image size (M bytes)." */
int image_inspect(const uint8_t *data, size_t len, struct image_info *info, struct error *err);

/* Rewrite the header's flash size id in an image buffer and, if the header says a digest is
 * appended, recompute the SHA-256 digest at [size, size+32). The XOR checksum covers only
 * segment data, so it does not change. */
int image_set_flash_size(uint8_t *data, size_t len, uint8_t size_id, struct error *err);

/* Set the header's flash mode (byte 2), frequency code (byte 3 low nibble) and size id (byte 3
 * high nibble), each only when >= 0, as esptool's merge_bin and write_flash do for the image
 * at the bootloader offset: the digest is recomputed when byte 23 says one is appended.
 * Returns 1 when a byte changed, 0 when none did, -1 when the data is not a whole image. */
int image_set_flash_params(uint8_t *data, size_t len, int mode, int freq_code, int size_id,
                           struct error *err);

/* The flash mode a header byte 2 names ("qio", "qout", "dio", "dout"), NULL for another value;
 * and the value of a name, -1 for none. */
const char *image_flash_mode_name(uint8_t mode);
int image_flash_mode_value(const char *name);
/* esp_app_desc_t fields (text fields NUL-terminated copies). */
struct app_desc {
    uint32_t secure_version;
    char version[33];
    char project_name[33];
    char time[17];
    char date[17];
    char idf_ver[33];
    uint8_t app_elf_sha256[32];
    uint8_t mmu_page_size_log2;
};
/* Returns 0 and fills desc when the magic word is at image offset 0x20; -1 otherwise. */
int image_app_desc(const uint8_t *data, size_t len, struct app_desc *desc);

/* The MicroPython version from the banner "MicroPython <ver> on <date>" found in the app image:
 * writes "<ver>" (e.g. "v1.23.0", "b4f53a0", "1.23.0") into out. Returns 0 if found. */
int image_micropython_version(const uint8_t *data, size_t len, char *out, size_t out_size);

#endif
