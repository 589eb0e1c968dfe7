/* ESP-IDF NVS (non-volatile storage) partitions, as MicroPython's esp32.NVS and ESP-IDF itself
 * keep them: the on-disk structures (nvs.md §2), a reader that returns the keys ESP-IDF's own
 * runtime would return (nvs.md §3) and a writer that sets and erases keys the way that runtime
 * does, appending new entries and marking old ones erased (nvs.md §4).
 *
 * The reader works on bytes in memory and returns a list; it prints nothing. The writer works on
 * a range of a struct flash, so the same code changes firmware files and boards. */
#ifndef MP_NVS_NVS_H
#define MP_NVS_NVS_H

#include <stddef.h>
#include <stdint.h>

#include "flash/flash.h"
#include "util/error.h"
#include "util/log.h"

/* ---- on-disk layout (nvs.md §2) ---- */

#define NVS_PAGE_SIZE 4096u
#define NVS_ENTRY_SIZE 32u
#define NVS_ENTRY_COUNT 126u   /* entries per page */
#define NVS_HEADER_SIZE 32u    /* page header */
#define NVS_BITMAP_OFFSET 32u  /* entry state bitmap: 2 bits per entry */
#define NVS_ENTRIES_OFFSET 64u /* entry 0 */
#define NVS_KEY_MAX 15u        /* characters in a key or namespace name */
#define NVS_CHUNK_MAX (NVS_ENTRY_SIZE * (NVS_ENTRY_COUNT - 1)) /* data bytes one item can hold */
#define NVS_STRING_MAX 4000u   /* a string's bytes, NUL included */
#define NVS_NAMESPACE_MAX 254u /* namespace indexes 1..254 */
#define NVS_CHUNK_ANY 0xffu    /* chunk index of everything but blob data */
#define NVS_VERSION_1 0xffu    /* page format version byte: single-page blobs */
#define NVS_VERSION_2 0xfeu    /* multi-page blobs (blob index + blob data) */

/* Page state word: states change by clearing bits only. */
enum nvs_page_state {
    NVS_PAGE_EMPTY = 0xffffffffu,
    NVS_PAGE_ACTIVE = 0xfffffffeu,
    NVS_PAGE_FULL = 0xfffffffcu,
    NVS_PAGE_FREEING = 0xfffffff8u,
    NVS_PAGE_CORRUPT = 0xfffffff0u,
};

/* Entry states in the bitmap. */
enum nvs_entry_state {
    NVS_ENTRY_EMPTY = 3,   /* 0b11 */
    NVS_ENTRY_WRITTEN = 2, /* 0b10 */
    NVS_ENTRY_ILLEGAL = 1, /* 0b01: never written by ESP-IDF */
    NVS_ENTRY_ERASED = 0,  /* 0b00 */
};

/* Item types: for integers the low nibble is the size in bytes, 0x10 marks signed. */
enum nvs_type {
    NVS_TYPE_U8 = 0x01,
    NVS_TYPE_I8 = 0x11,
    NVS_TYPE_U16 = 0x02,
    NVS_TYPE_I16 = 0x12,
    NVS_TYPE_U32 = 0x04,
    NVS_TYPE_I32 = 0x14,
    NVS_TYPE_U64 = 0x08,
    NVS_TYPE_I64 = 0x18,
    NVS_TYPE_STR = 0x21,
    NVS_TYPE_BLOB_V1 = 0x41,    /* format 1: the whole blob in one item */
    NVS_TYPE_BLOB_DATA = 0x42,  /* format 2: one chunk of a blob */
    NVS_TYPE_BLOB_INDEX = 0x48, /* format 2: size, chunk count and first chunk index */
};

/* The 32-byte page header, decoded. */
struct nvs_page_header {
    uint32_t state; /* enum nvs_page_state, or anything else on a damaged page */
    uint32_t seq;   /* pages are used in sequence-number order */
    uint8_t version;
    uint32_t crc; /* over bytes 4..27 */
};

/* One 32-byte entry, decoded. */
struct nvs_entry {
    uint8_t ns;                /* namespace index; 0 = the namespace table */
    uint8_t type;              /* enum nvs_type */
    uint8_t span;              /* entries used, this one included */
    uint8_t chunk_index;       /* blob data: chunk number; NVS_CHUNK_ANY otherwise */
    uint32_t crc;              /* over bytes 0..3 and 8..31 */
    char key[NVS_KEY_MAX + 2]; /* the 16 key bytes, always NUL-terminated here */
    uint8_t data[8];           /* integer value, or size/CRC of variable data, or blob index */
};

/* ESP-IDF's CRC-32 (esp_rom_crc32_le with 0xffffffff), which is zlib's crc32 started at
 * 0xffffffff instead of 0. */
uint32_t nvs_crc32(const void *data, size_t len);
void nvs_header_decode(const uint8_t raw[NVS_HEADER_SIZE], struct nvs_page_header *h);
/* A header with the given fields and its CRC; reserved bytes 0xFF. */
void nvs_header_encode(uint8_t raw[NVS_HEADER_SIZE], uint32_t state, uint32_t seq,
                       uint8_t version);
uint32_t nvs_header_crc(const uint8_t raw[NVS_HEADER_SIZE]);
void nvs_entry_decode(const uint8_t raw[NVS_ENTRY_SIZE], struct nvs_entry *e);
/* Entry bytes for e, with e->crc ignored and the right CRC filled in. */
void nvs_entry_encode(uint8_t raw[NVS_ENTRY_SIZE], const struct nvs_entry *e);
uint32_t nvs_entry_crc(const uint8_t raw[NVS_ENTRY_SIZE]);
/* State of entry i in a page's bytes. */
enum nvs_entry_state nvs_entry_state_of(const uint8_t *page, unsigned i);
/* Whether an entry passes ESP-IDF's header checks (CRC, type, span and size against its
 * position in the page). */
int nvs_entry_consistent(const struct nvs_entry *e, const uint8_t raw[NVS_ENTRY_SIZE],
                         unsigned index);
/* Type names as the command line spells them (u8..i64, str, blob; blob_data, blob_index for
 * raw entries); NULL for an unknown code. */
const char *nvs_type_name(uint8_t type);
/* An integer type's size in bytes (0 for other types) and signedness. */
unsigned nvs_int_size(uint8_t type);
int nvs_int_signed(uint8_t type);
/* An integer type's value from its little-endian bytes, sign-extended for the signed types (read
 * those through (int64_t)). */
uint64_t nvs_int_decode(uint8_t type, const uint8_t *bytes);

/* ---- reading (nvs.md §3) ---- */

/* What a page was found to be. */
enum nvs_page_kind {
    NVS_KIND_EMPTY,     /* all 0xFF: free */
    NVS_KIND_READ,      /* ACTIVE, FULL or FREEING with a good header: its items count */
    NVS_KIND_CORRUPT,   /* bad CRC, unknown state, or a blank header on a page holding data */
    NVS_KIND_DISCARDED, /* a partial copy of a FREEING page (ESP-IDF erases it and copies again) */
};

struct nvs_page_info {
    enum nvs_page_kind kind;
    struct nvs_page_header header;
    unsigned written, erased, empty; /* entry state counts */
    unsigned next_free;              /* first entry after the last one with bytes or a state */
};

/* One key as ESP-IDF would return it. */
struct nvs_item {
    char ns[NVS_KEY_MAX + 1];
    char key[NVS_KEY_MAX + 1];
    uint8_t type;   /* integer type, NVS_TYPE_STR, NVS_TYPE_BLOB_V1 or NVS_TYPE_BLOB_INDEX */
    uint8_t *value; /* owned: integers little-endian (their size); strings without their NUL */
    uint32_t len;
    uint32_t page, entry; /* where the item (a blob's index) is */
    uint8_t ns_index;
    uint8_t chunk_start; /* format-2 blobs */
};

/* An entry or page in the bytes that is not a value, and why. */
struct nvs_skipped {
    uint32_t page;
    int entry; /* -1: the whole page */
    uint8_t ns_index, type, chunk_index;
    char key[NVS_KEY_MAX + 1];
    const char *reason;
};

struct nvs_namespace {
    char name[NVS_KEY_MAX + 1];
    uint8_t index;
};

struct nvs_listing {
    struct nvs_item *items; /* sorted by namespace name, then key */
    size_t count;
    struct nvs_skipped *skipped;
    size_t skipped_count;
    struct nvs_namespace *namespaces; /* in index order */
    size_t ns_count;
    struct nvs_page_info *pages;
    uint32_t page_count;
};

/* List the keys of an NVS partition image (len a multiple of NVS_PAGE_SIZE). Fails only when
 * ESP-IDF refuses the whole partition (a page of a newer format) or the size is wrong; damaged
 * entries and pages are listed in out->skipped. `where` names the partition in messages. */
int nvs_list(const uint8_t *image, uint32_t len, const char *where, struct nvs_listing *out,
             struct error *err);
/* The same for len bytes of flash at addr; bytes beyond the end of the flash (a firmware file
 * that ends inside the partition) read as erased. */
int nvs_list_flash(struct flash *f, uint32_t addr, uint32_t len, const char *where,
                   struct nvs_listing *out, struct error *err);
void nvs_listing_free(struct nvs_listing *l);
const struct nvs_item *nvs_listing_find(const struct nvs_listing *l, const char *ns,
                                        const char *key);
/* Whether the listing has the namespace. */
int nvs_listing_has_namespace(const struct nvs_listing *l, const char *ns);

/* ---- writing (nvs.md §4) ---- */

/* A partition opened for changes: a copy of its bytes kept equal to the flash. */
struct nvs_store {
    struct flash *flash;
    uint32_t addr, len;
    uint8_t *image;
    const char *where;
    const struct log *log;
    uint32_t writes; /* flash writes and erases made (the power-cut tests count them) */
};

/* Read the partition and check that it can be changed safely (no newer format, no interrupted
 * page move, a free page for ESP-IDF's garbage collection). Nothing is written. */
int nvs_store_open(struct nvs_store *s, struct flash *f, uint32_t addr, uint32_t len,
                   const char *where, const struct log *log, struct error *err);
void nvs_store_close(struct nvs_store *s);
/* Set ns.key to a value of the given type (integers: len bytes little-endian, len = their size;
 * NVS_TYPE_STR: the text without NUL; NVS_TYPE_BLOB_INDEX: a blob, written in format 2). The
 * namespace is created when missing. *changed is 0 when the key already held that value. */
int nvs_store_set(struct nvs_store *s, const char *ns, const char *key, uint8_t type,
                  const void *value, uint32_t len, int *changed, struct error *err);
/* Erase one key (an error if it does not exist). */
int nvs_store_erase_key(struct nvs_store *s, const char *ns, const char *key, struct error *err);
/* Erase every key of a namespace; its name stays defined, as with ESP-IDF's nvs_erase_all.
 * Returns the number of keys erased, or a negative value. */
int nvs_store_erase_namespace(struct nvs_store *s, const char *ns, struct error *err);

#endif
