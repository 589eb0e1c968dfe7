/* The flash interface: every operation of the tool reads, writes and erases "flash", addressed
 * by flash offset, whatever is behind it (a firmware file held in memory, a serial-attached chip,
 * a window onto a partition). Back-ends fill in struct flash_ops. */
#ifndef MP_FLASH_FLASH_H
#define MP_FLASH_FLASH_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define FLASH_SECTOR_SIZE 0x1000u /* the unit of erase on every ESP32-family SPI flash */

struct flash;

struct flash_ops {
    /* Read len bytes at addr. Reading outside [base, size) is an error. */
    int (*read)(struct flash *f, uint32_t addr, void *buf, uint32_t len, struct error *err);
    /* Make the bytes at addr equal to buf (the back-end erases sectors as it needs to).
     * A file back-end may extend its size up to its limit when writing past the end. */
    int (*write)(struct flash *f, uint32_t addr, const void *buf, uint32_t len, struct error *err);
    /* Set len bytes at addr to 0xFF. Devices need sector-aligned addr and len. */
    int (*erase)(struct flash *f, uint32_t addr, uint32_t len, struct error *err);
    /* Push cached writes down to the medium. NULL = nothing cached. */
    int (*flush)(struct flash *f, struct error *err);
    /* Release the back-end's resources (not the struct flash storage of the caller). */
    void (*close)(struct flash *f);
    /* Optional: the bytes at addr when the back-end holds them in memory (NULL = read them). */
    const uint8_t *(*map)(struct flash *f, uint32_t addr, uint32_t len);
    /* FLASH_CAP_RESIZABLE back-ends: the medium ends at addr from now on. */
    int (*truncate)(struct flash *f, uint32_t addr, struct error *err);
    /* Optional: the MD5 of len bytes at addr as they will be once flushed, without sending
     * them (a board computes it on the chip). NULL: read the bytes instead. */
    int (*md5)(struct flash *f, uint32_t addr, uint32_t len, uint8_t out[16], struct error *err);
};

/* What a back-end can do, so that callers ask the flash instead of knowing its kind. */
enum flash_caps {
    /* The size follows the writes: a firmware file held in memory may end inside a
     * partition, grows when written past its end and can be cut (it is saved as a file). */
    FLASH_CAP_RESIZABLE = 1u << 0,
    /* Writes change a real chip as soon as they are flushed (a board): there is nothing to
     * save afterwards, reads cost time on a serial line, and the size is the chip's. */
    FLASH_CAP_LIVE = 1u << 1,
};

struct flash {
    const struct flash_ops *ops;
    unsigned caps;  /* enum flash_caps */
    uint32_t base;  /* lowest readable address (a firmware file starts at its bootloader offset) */
    uint32_t size;  /* one past the highest readable address */
    uint32_t limit; /* how far writes may extend size (the flash chip's capacity) */
    const char *name; /* for messages: file or device name */
};

int flash_read(struct flash *f, uint32_t addr, void *buf, uint32_t len, struct error *err);
int flash_write(struct flash *f, uint32_t addr, const void *buf, uint32_t len, struct error *err);
int flash_erase(struct flash *f, uint32_t addr, uint32_t len, struct error *err);
int flash_flush(struct flash *f, struct error *err);
/* The flash's MD5 of [addr, addr + len) (see flash_ops.md5); -1 when it cannot tell. */
int flash_md5(struct flash *f, uint32_t addr, uint32_t len, uint8_t out[16], struct error *err);
void flash_close(struct flash *f);
/* Cut a resizable flash at addr (the file ends there); an error on other flash and for addr
 * below base. */
int flash_truncate(struct flash *f, uint32_t addr, struct error *err);
/* Whether the flash has all the capabilities in caps. */
static inline int flash_can(const struct flash *f, unsigned caps)
{
    return (f->caps & caps) == caps;
}
/* Direct access to len bytes at addr where the back-end keeps them in memory (a firmware file);
 * NULL otherwise (a device) or when the range is not all there. Valid until the next write. */
const uint8_t *flash_map(struct flash *f, uint32_t addr, uint32_t len);

/* --- in-memory image back-end: a firmware file (or whole-flash dump) held in memory --- */
struct flash_image {
    struct flash flash;
    uint8_t *data;     /* bytes of flash [flash.base, flash.size) */
    uint32_t capacity; /* allocated bytes */
    size_t mapped;     /* > 0: data is a private file mapping of this length, not malloc'ed */
};

/* Take a copy of len bytes as flash starting at address base; writes may grow it up to limit. */
int flash_image_open(struct flash_image *img, const void *data, uint32_t len, uint32_t base,
                     uint32_t limit, const char *name, struct error *err);
/* The same, taking ownership of a malloc'ed buffer (no copy): a firmware file read from disk. */
int flash_image_adopt(struct flash_image *img, uint8_t *data, uint32_t len, uint32_t base,
                      uint32_t limit, const char *name, struct error *err);
/* The same for an open file of len bytes, mapped copy-on-write (changes stay in memory): the
 * cheapest way to look at a large firmware file. */
int flash_image_map_file(struct flash_image *img, int fd, uint32_t len, uint32_t base,
                         uint32_t limit, const char *name, struct error *err);
/* Cut the image at addr (the file ends there); addr below base is an error. */
int flash_image_truncate(struct flash_image *img, uint32_t addr, struct error *err);
/* Bytes of the image and their count (the file contents). */
const uint8_t *flash_image_bytes(const struct flash_image *img, uint32_t *len);

/* --- window back-end: a partition seen as flash addressed from 0 --- */
struct flash_window {
    struct flash flash;
    struct flash *parent;
    uint32_t offset; /* parent address of window address 0 */
};

/* A window of len bytes at parent address offset. Its size is clipped to what the parent holds
 * (a partition may straddle the end of a firmware file); its limit is len. */
void flash_window_open(struct flash_window *w, struct flash *parent, uint32_t offset, uint32_t len,
                       const char *name);

#endif
