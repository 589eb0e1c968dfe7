/* otadata records and ESP-IDF's boot selection (esp-image-formats §8). */
#include "esp/otadata.h"
#include "util/bytes.h"
#include "util/check.h"

#include <string.h>
#include <strings.h>
#include <zlib.h>

uint32_t otadata_crc(uint32_t seq)
{
    /* The ROM's crc32_le(0xFFFFFFFF, ...) equals zlib's crc32 with that initial value (§8):
     * not the plain CRC-32 of the bytes. */
    uint8_t b[4];
    put_le32(b, seq);
    return (uint32_t)crc32(0xFFFFFFFFul, b, 4);
}

void otadata_entry_decode(const uint8_t in[OTADATA_ENTRY_SIZE], struct ota_entry *entry)
{
    entry->seq = get_le32(in);
    memcpy(entry->label, in + 4, sizeof entry->label);
    entry->state = get_le32(in + 24);
    entry->crc = get_le32(in + 28);
}

void otadata_entry_encode(const struct ota_entry *entry, uint8_t out[OTADATA_ENTRY_SIZE])
{
    put_le32(out, entry->seq);
    memcpy(out + 4, entry->label, sizeof entry->label);
    put_le32(out + 24, entry->state);
    put_le32(out + 28, entry->crc);
}

struct ota_entry otadata_entry_make(uint32_t seq, uint32_t state)
{
    struct ota_entry e;
    e.seq = seq;
    memset(e.label, 0xFF, sizeof e.label);
    e.state = state;
    e.crc = otadata_crc(seq);
    return e;
}

int otadata_entry_valid(const struct ota_entry *entry)
{
    return entry->seq != OTADATA_SEQ_EMPTY && entry->state != OTA_STATE_INVALID &&
           entry->state != OTA_STATE_ABORTED && entry->crc == otadata_crc(entry->seq);
}

static const struct {
    uint32_t state;
    const char *name;
} state_names[] = {
    {OTA_STATE_NEW, "NEW"},         {OTA_STATE_PENDING_VERIFY, "PENDING_VERIFY"},
    {OTA_STATE_VALID, "VALID"},     {OTA_STATE_INVALID, "INVALID"},
    {OTA_STATE_ABORTED, "ABORTED"}, {OTA_STATE_UNDEFINED, "UNDEFINED"},
};

const char *otadata_state_name(uint32_t state)
{
    for (size_t i = 0; i < sizeof state_names / sizeof state_names[0]; i++)
        if (state_names[i].state == state)
            return state_names[i].name;
    return NULL;
}

int otadata_state_parse(const char *name, uint32_t *state)
{
    for (size_t i = 0; i < sizeof state_names / sizeof state_names[0]; i++)
        if (strcasecmp(state_names[i].name, name) == 0) {
            *state = state_names[i].state;
            return 0;
        }
    return -1;
}

static int read_entries(const uint8_t *data, size_t len, struct otadata_boot *b,
                        struct error *err)
{
    if (len < OTADATA_SECTOR_SIZE + OTADATA_ENTRY_SIZE)
        return error_setk(err, ERROR_VALUE, "otadata partition too small (%zu bytes).", len);
    memset(b, 0, sizeof *b);
    for (int i = 0; i < 2; i++) {
        otadata_entry_decode(data + (size_t)i * OTADATA_SECTOR_SIZE, &b->entries[i]);
        b->valid[i] = otadata_entry_valid(&b->entries[i]);
    }
    /* the valid entry with the larger seq; on a tie sector 0 */
    if (b->valid[0] && b->valid[1])
        b->active = b->entries[1].seq > b->entries[0].seq ? 1 : 0;
    else
        b->active = b->valid[0] ? 0 : b->valid[1] ? 1 : -1;
    return 0;
}

int otadata_boot_select(const uint8_t *data, size_t len, int ota_count, int has_factory,
                        struct otadata_boot *boot, struct error *err)
{
    struct otadata_boot b;
    if (read_entries(data, len, &b, err) < 0)
        return -1;
    if (ota_count <= 0 && !has_factory)
        return error_setk(err, ERROR_PARTITION, "No app partition to boot.");
    if (ota_count <= 0 || b.active < 0)
        b.slot = has_factory ? -1 : 0;
    else
        b.slot = (int)((b.entries[b.active].seq - 1) % (uint32_t)ota_count);
    if (boot)
        *boot = b;
    return 0;
}

int otadata_select_slot(const uint8_t *data, size_t len, int ota_count, int slot, uint32_t state,
                        struct otadata_write *out, struct error *err)
{
    if (ota_count < 1 || ota_count > 16)
        return error_setk(err, ERROR_VALUE, "Invalid number of OTA partitions (%d).", ota_count);
    if (slot < 0 || slot >= ota_count)
        return error_setk(err, ERROR_VALUE, "OTA slot %d out of range (0..%d).", slot,
                          ota_count - 1);
    struct otadata_boot b;
    if (read_entries(data, len, &b, err) < 0)
        return -1;
    uint32_t n = (uint32_t)ota_count;
    uint64_t seq;
    int sector;
    if (b.active < 0) {
        seq = (uint64_t)slot + 1;
        sector = 0;
    } else {
        uint32_t cur = b.entries[b.active].seq;
        /* smallest seq > cur with (seq - 1) mod n == slot (cur + n when cur selects the slot
         * already, so that the new state wins), in the other sector: the active record stays
         * until the new one is complete */
        uint64_t base = (uint64_t)cur + 1;
        uint64_t diff = ((uint64_t)slot + 1 + n - base % n) % n;
        seq = base + diff;
        sector = 1 - b.active;
    }
    if (seq >= OTADATA_SEQ_EMPTY)
        return error_setk(err, ERROR_VALUE, "otadata sequence number overflow.");
    /* the bootloader boots slot (seq - 1) mod n: this record must name the slot asked for */
    MP_ASSERT(seq >= 1 && (seq - 1) % n == (uint64_t)slot);
    struct ota_entry e = otadata_entry_make((uint32_t)seq, state);
    out->sector = sector;
    out->seq = (uint32_t)seq;
    otadata_entry_encode(&e, out->entry);
    return 0;
}

void otadata_apply(uint8_t *data, size_t len, const struct otadata_write *w)
{
    MP_ASSERT(w->sector == 0 || w->sector == 1);
    size_t start = (size_t)w->sector * OTADATA_SECTOR_SIZE;
    if (start >= len)
        return;
    size_t n = len - start < OTADATA_SECTOR_SIZE ? len - start : OTADATA_SECTOR_SIZE;
    memset(data + start, 0xFF, n);
    memcpy(data + start, w->entry, n < OTADATA_ENTRY_SIZE ? n : OTADATA_ENTRY_SIZE);
}
