/* The otadata partition (data/ota, 0x2000 bytes): two 4 KiB sectors, each starting with a
 * 32-byte esp_ota_select_entry_t (esp-image-formats §8, seed-spec §9.4); ESP-IDF's boot
 * selection and the records to write to select an app. Pure functions over buffers. */
#ifndef MP_ESP_OTADATA_H
#define MP_ESP_OTADATA_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define OTADATA_SIZE 0x2000u
#define OTADATA_SECTOR_SIZE 0x1000u
#define OTADATA_ENTRY_SIZE 32
#define OTADATA_SEQ_EMPTY 0xFFFFFFFFu

/* ota_state values (esp-image-formats.md §8.1). */
enum ota_state {
    OTA_STATE_NEW = 0x0,
    OTA_STATE_PENDING_VERIFY = 0x1,
    OTA_STATE_VALID = 0x2,
    OTA_STATE_INVALID = 0x3,
    OTA_STATE_ABORTED = 0x4,
    OTA_STATE_UNDEFINED = 0xFFFFFFFFu,
};

/* One record: ota_seq u32, seq_label[20], ota_state u32, crc u32 (little-endian). */
struct ota_entry {
    uint32_t seq;
    uint8_t label[20];
    uint32_t state;
    uint32_t crc;
};

/* crc32_le(0xFFFFFFFF, seq bytes, 4) of the ROM = zlib crc32(0xFFFFFFFF, ...):
 * seq 1 -> 0x4743989A, 2 -> 0x55F63774, 3 -> 0xED4A5011, 4 -> 0x709D68A8. */
uint32_t otadata_crc(uint32_t seq);
void otadata_entry_decode(const uint8_t in[OTADATA_ENTRY_SIZE], struct ota_entry *entry);
void otadata_entry_encode(const struct ota_entry *entry, uint8_t out[OTADATA_ENTRY_SIZE]);
/* A record as ESP-IDF writes it: label 0xFF x 20, crc computed. */
struct ota_entry otadata_entry_make(uint32_t seq, uint32_t state);
/* ESP-IDF's test: seq != 0xFFFFFFFF, state not INVALID/ABORTED, crc matches. */
int otadata_entry_valid(const struct ota_entry *entry);
/* "NEW", "PENDING_VERIFY", "VALID", "INVALID", "ABORTED", "UNDEFINED"; NULL for others. */
const char *otadata_state_name(uint32_t state);
/* Parse a state name (case-insensitive) as above; -1 if unknown. */
int otadata_state_parse(const char *name, uint32_t *state);

/* What the bootloader boots (esp-image-formats.md §8.2). */
struct otadata_boot {
    struct ota_entry entries[2]; /* decoded records of sector 0 and 1 */
    int valid[2];                /* otadata_entry_valid of each */
    int active;                  /* 0/1: the valid entry with the higher seq; -1: none valid */
    int slot;                    /* ota_<slot> to boot; -1: the factory app */
};

/* data = the otadata partition (at least 0x1000 + 32 bytes). ota_count = number of ota_N app
 * partitions, has_factory = a factory app exists. With no valid entry (or no ota partitions):
 * factory if present, else ota_0 (slot 0). Otherwise slot = (seq - 1) mod ota_count. */
int otadata_boot_select(const uint8_t *data, size_t len, int ota_count, int has_factory,
                        struct otadata_boot *boot, struct error *err);

/* The record to write so that ota_<slot> boots next (esp_ota_set_boot_partition,
 * esp-image-formats.md §8.3):
 * seq = the smallest value above the active seq with (seq - 1) mod ota_count == slot, written to
 * the sector that does not hold the active record, so a power cut leaves the old choice (no
 * valid entry: seq = slot + 1 in sector 0). `state` is NEW (the app must confirm itself;
 * MicroPython enables rollback) or VALID/UNDEFINED (no rollback watch). */
struct otadata_write {
    int sector;                          /* 0 or 1: erase this 4 KiB sector, then write entry */
    uint32_t seq;
    uint8_t entry[OTADATA_ENTRY_SIZE];
};
int otadata_select_slot(const uint8_t *data, size_t len, int ota_count, int slot, uint32_t state,
                        struct otadata_write *out, struct error *err);

/* Apply a write to a 0x2000-byte otadata image: sector filled with 0xFF, entry at its start. */
void otadata_apply(uint8_t *data, size_t len, const struct otadata_write *w);

#endif
