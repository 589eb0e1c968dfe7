/* NOR flash model of the virtual chip: a byte array backed by a file. Programming can only clear
 * bits (new = old & data), erasing sets whole 4 KiB sectors back to 0xFF, as on SPI NOR flash. */
#ifndef SIM_NOR_H
#define SIM_NOR_H

#include <stddef.h>
#include <stdint.h>

#define NOR_SECTOR_SIZE 0x1000u
#define NOR_BLOCK_SIZE 0x10000u

/* Typical erase and program times of a 4 MB SPI NOR flash (Winbond W25Q32JV datasheet): 4 KiB
 * sector erase 45 ms, 64 KiB block erase 150 ms, 256-byte page program 0.4 ms, chip erase
 * 10 s (2.5 s per MiB). An erase of a range uses 64 KiB block erases for the whole aligned
 * blocks in it and sector erases for the rest, as the ESP ROM and flasher stubs do. */
#define NOR_SECTOR_ERASE_US 45000u
#define NOR_BLOCK_ERASE_US 150000u
#define NOR_PAGE_PROGRAM_US 400u
#define NOR_CHIP_ERASE_US_PER_MIB 2500000u

struct nor {
    uint8_t *data;
    uint32_t size;
    int fd;            /* backing file, -1 for a purely in-memory flash */
    uint32_t dirty_lo; /* range [dirty_lo, dirty_hi) changed since the last flush */
    uint32_t dirty_hi;
    uint64_t sectors_erased; /* counters, for timing models and tests */
    uint64_t bytes_programmed;
    uint64_t busy_us; /* erase and program time the operations so far took */
    /* a worn cell (the stuck-bit fault): 1 + the address of a byte whose bit 0 no program
     * clears; 0: none */
    uint64_t stuck_bit;
};

/* Open (creating or extending with 0xFF) the backing file and load it. path NULL = memory only.
 * Returns 0 or -1 with a message in errbuf. */
int nor_open(struct nor *n, const char *path, uint32_t size, char *errbuf, size_t errlen);
void nor_close(struct nor *n); /* flushes */
int nor_flush(struct nor *n);

/* All operations check bounds and return -1 when the range leaves the flash. */
int nor_read(const struct nor *n, uint32_t addr, void *out, uint32_t len);
int nor_program(struct nor *n, uint32_t addr, const void *data, uint32_t len);
/* Erase every sector touched by [addr, addr+len). */
int nor_erase(struct nor *n, uint32_t addr, uint32_t len);
void nor_erase_all(struct nor *n);
/* Place raw bytes (the --image option: the file is written as if freshly flashed). */
int nor_load(struct nor *n, uint32_t addr, const void *data, uint32_t len);

#endif
