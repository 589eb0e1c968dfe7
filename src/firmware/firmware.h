/* A MicroPython firmware on some flash: its chip, bootloader header and partition table, and
 * partition-level reads, writes and erases with the rules the tool applies to firmware files and
 * devices alike (a partition may straddle the end of a file; writes are padded to sectors; the
 * rest of a partition is erased after a write). */
#ifndef MP_FIRMWARE_FIRMWARE_H
#define MP_FIRMWARE_FIRMWARE_H

#include <stdint.h>

#include "esp/chip.h"
#include "esp/image.h"
#include "esp/ptable.h"
#include "flash/flash.h"
#include "migrate/migrate.h"
#include "util/error.h"
#include "util/log.h"

#define FIRMWARE_BOOTLOADER_REGION 0x7000u /* size of the "bootloader" pseudo-partition */

struct firmware {
    struct flash *flash;        /* where it lives (not owned) */
    const struct chip *chip;    /* from the bootloader header */
    uint32_t bootloader_offset;
    uint8_t header_bytes[IMAGE_HEADER_SIZE]; /* bootloader header as it should be written */
    uint8_t header_loaded[IMAGE_HEADER_SIZE]; /* as found on flash */
    struct image_header header;
    struct ptable table;        /* as found on flash; flash_size from the header */
    char table_warnings[1024];  /* validation messages of the loaded table, newline separated */
};

/* Read a firmware file into img (read-only open). Detects whether the file starts at the chip's
 * bootloader offset (a release .bin) or at flash address 0 (a whole-flash dump). */
int firmware_open_file(const char *path, struct flash_image *img, struct error *err);
/* The same for len bytes in memory (malloc'ed; img owns them from now on, also on failure);
 * name is used in messages. */
int firmware_open_buffer(uint8_t *data, uint32_t len, const char *name, struct flash_image *img,
                         struct error *err);

/* Load the bootloader header and partition table from flash. A table that fails validation is
 * accepted (its problems are in table_warnings); a missing or corrupt one is an error, and so
 * is an erased bootloader on a live flash (a blank board). detected_chip: the chip a board
 * reported (its bootloader offset is used), NULL for a file. */
int firmware_load(struct firmware *fw, struct flash *flash, const struct chip *detected_chip,
                  struct error *err);
/* Whether the firmware is on a board (changes are live) rather than in a file. */
int firmware_is_live(const struct firmware *fw);
/* "flash" for a board, "firmware file" for a file: where a partition may be missing from. */
const char *firmware_medium(const struct firmware *fw);
/* Re-read the table after it was written. */
int firmware_reload_table(struct firmware *fw, struct error *err);

/* The table's first app partition (NULL when none) and the size of the app image in it, from
 * its segment headers (for a file without a valid image: end of file minus the app offset;
 * 0 for a device without one). */
const struct partition *firmware_first_app(const struct firmware *fw);
uint32_t firmware_app_size(const struct firmware *fw);
/* Whether the first app partition holds an image whose segments can be walked. */
int firmware_app_found(const struct firmware *fw);

/* Look a partition up by name in `table` (NULL = the loaded one), including the pseudo
 * partitions "bootloader" and "partition_table". Error: "Partition '<name>' not found." */
int firmware_partition(const struct firmware *fw, const struct ptable *table, const char *name,
                       struct partition *out, struct error *err);

/* How many bytes of the partition the flash holds (a file may end inside it). */
uint32_t firmware_present_length(const struct firmware *fw, const struct partition *p);
/* Read the bytes of a partition that the flash holds (a file may end inside it). The caller
 * frees *data. Error when the partition starts past the end: "Partition '<name>' is not in
 * firmware file." */
int firmware_read_partition(struct firmware *fw, const struct partition *p, uint8_t **data,
                            uint32_t *len, struct error *err);
/* The same without a copy where the flash is in memory: *data points into the flash and *owned
 * is NULL, or *data is a buffer the caller frees through *owned. */
int firmware_view_partition(struct firmware *fw, const struct partition *p, const uint8_t **data,
                            uint32_t *len, uint8_t **owned, struct error *err);
/* Write data at the start of a partition and erase the rest of it (on a file whose end lies
 * inside the partition, the file ends with the data instead). */
int firmware_write_partition(struct firmware *fw, const struct partition *p, const uint8_t *data,
                             uint32_t len, const struct log *log, struct error *err);
/* Erase a whole partition (on a file whose end lies inside it, the file ends at its start). */
int firmware_erase_partition(struct firmware *fw, const struct partition *p,
                             const struct log *log, struct error *err);

/* Set the flash size in the working copy of the bootloader header. Error for sizes the header
 * cannot express (not a power of two from 1 to 128 MiB). */
int firmware_set_flash_size(struct firmware *fw, uint32_t size, struct error *err);
int firmware_header_modified(const struct firmware *fw);
/* Write the working header into the bootloader image, re-computing its SHA-256 digest. */
int firmware_write_header(struct firmware *fw, struct error *err);
/* Encode and write a partition table at 0x8000. */
int firmware_write_table(struct firmware *fw, const struct ptable *table, struct error *err);

/* A backup on the host of the data a layout change carries, kept until the board has
 * verified the new data (src/migrate). */
struct firmware_backup {
    /* Save the image (migrate_backup_image) before anything is written; non-zero stops. */
    int (*save)(void *ctx, const uint8_t *image, uint32_t len, struct error *err);
    /* Everything written and verified (ok), or a failure on the way. */
    void (*done)(void *ctx, int ok);
    void *ctx;
};

/* Table edits: plan the new table on the firmware's flash (the data partitions carried, see
 * src/migrate; only reads, so a refusal changes nothing), then apply it: the new data, then
 * the bootloader header (when -f changed it) and the table, each flushed, and the table loaded
 * again. The first app must stay where it is. */
int firmware_plan_layout(struct firmware *fw, const struct ptable *new_table,
                         const struct migrate_options *opt, struct migrate_plan *plan,
                         const struct log *log, struct error *err);
int firmware_apply_layout(struct firmware *fw, const struct ptable *new_table,
                          struct migrate_plan *plan, const struct firmware_backup *backup,
                          const struct log *log, struct error *err);

/* --flash: plan writing the firmware onto target (a board whose chip is target_chip): the
 * board's table is read first and its littlefs, NVS and FAT data carried into the firmware's
 * layout (src/migrate), then the firmware's bootloader and apps (trailing erased bytes
 * dropped, the rest of the partition its data ends in erased). Refused before anything is
 * written: another chip, a layout larger than the board's flash (with the -f hint). Applying
 * writes the data in the safe order and the firmware's table last. */
int firmware_plan_copy(struct firmware *source, struct flash *target,
                       const struct chip *target_chip, const struct migrate_options *opt,
                       struct migrate_plan *plan, const struct log *log, struct error *err);
int firmware_apply_copy(struct firmware *source, struct flash *target, struct migrate_plan *plan,
                        const struct firmware_backup *backup, const struct log *log,
                        struct error *err);

/* What a partition holds at its start (firmware_check_image). */
enum firmware_image_state {
    FIRMWARE_IMAGE_NONE = 0,   /* no image signature (erased, or not an app image) */
    FIRMWARE_IMAGE_OK = 1,     /* an image for the firmware's chip (all checks made passed) */
    FIRMWARE_IMAGE_BROKEN = 2, /* an image that would not boot: wrong chip, cut off, bad
                                * checksum or SHA-256 digest */
};

/* Check the image at the start of a partition and say what was found in the log, the Python
 * tool's lines ("App image signature found.", "Hash confirmed (size=...)."). Without
 * verify_hash only the header is read (cheap on a board). Problems are logged at `problem`
 * level (LOG_WARNING, or LOG_ERROR where they are a failure that -q must not hide). Returns
 * the state, or -1 when the flash cannot be read. */
int firmware_check_image(struct firmware *fw, const struct partition *p, int verify_hash,
                         enum log_level problem, const struct log *log, struct error *err);

/* Whether an image in data[0, len) is complete and intact for a chip: header, every segment
 * inside the data, the XOR checksum, and the SHA-256 digest when the header announces one
 * (present and equal; with require_digest an image without one fails too). `what` names it
 * in the message ("Partition 'factory'", "app.bin"):
 * "<what>: the image is cut off: ...", "<what>: checksum mismatch ...", "<what>: SHA-256
 * digest missing ..." Returns 0, or -1 with an ERROR_VALUE message. */
int firmware_image_verify(const uint8_t *data, uint32_t len, uint16_t chip_id, int require_digest,
                          const char *what, struct error *err);

/* Every image of the firmware under `table` (NULL: the loaded one): the bootloader and each app
 * partition whose first byte is an image's magic byte must pass firmware_image_verify within
 * what the flash holds of the partition (so an app that ends past the end of a file fails).
 * Erased or empty app slots pass. Reads whole images: meant for files. */
int firmware_verify(struct firmware *fw, const struct ptable *table, struct error *err);

#endif
