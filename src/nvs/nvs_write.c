/* Changing an NVS partition the way ESP-IDF's runtime does (nvs.md §4): a new item is appended
 * to the active page and marked Written, and only then is the old one marked Erased; a page
 * that fills is marked FULL and the next free page becomes active; when only one free page is
 * left, the page with the most erased entries is marked FREEING, its live items are copied to
 * the new page, and it is erased. Flash bits only ever go from 1 to 0 between page erases.
 *
 * Every change is planned on a copy of the partition first, so one that does not fit fails
 * before anything is written; then the same steps run again on the flash. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nvs/nvs.h"
#include "nvs/nvs_int.h"
#include "util/alloc.h"
#include "util/bytes.h"

#define NO_PAGE UINT32_MAX

/* One run of a change: on a scratch copy (real = 0) or on the flash (real = 1). */
struct op {
    struct nvs_store *s;
    uint8_t *img;
    int real;
    uint32_t pages;
    uint32_t *list; /* pages in use, in sequence order; the last is the current page */
    uint32_t nlist;
    uint32_t *free_list; /* free pages, the next to use first */
    uint32_t nfree;
    uint32_t *seq;      /* sequence number of each page (pages activated but not yet written) */
    uint32_t freeing;   /* a page left FREEING by a power cut, or NO_PAGE */
    uint32_t discarded; /* the partial copy of it, or NO_PAGE */
    uint32_t next_seq;
    struct error *err;
};

static uint8_t *page_at(struct op *o, uint32_t p)
{
    return o->img + (size_t)p * NVS_PAGE_SIZE;
}

/* Program bytes: only 1 -> 0 changes are possible without an erase, so anything else means
 * the bytes are not what this plan expects, and nothing more is written. */
static int program(struct op *o, uint32_t off, const void *data, uint32_t len)
{
    const uint8_t *d = data;
    uint8_t *cur = o->img + off;
    for (uint32_t i = 0; i < len; i++)
        if ((cur[i] & d[i]) != d[i])
            return error_setk(o->err, ERROR_VALUE,
                              "%s: the bytes at offset 0x%" PRIx32 " are not blank where NVS "
                              "would write; nothing more is written",
                              o->s->where, off + i);
    memcpy(cur, d, len);
    if (!o->real)
        return 0;
    o->s->writes++;
    return flash_write(o->s->flash, o->s->addr + off, d, len, o->err);
}

static int erase_page(struct op *o, uint32_t p)
{
    memset(page_at(o, p), 0xff, NVS_PAGE_SIZE);
    if (!o->real)
        return 0;
    o->s->writes++;
    return flash_erase(o->s->flash, o->s->addr + p * NVS_PAGE_SIZE, NVS_PAGE_SIZE, o->err);
}

static uint32_t page_state(struct op *o, uint32_t p)
{
    return get_le32(page_at(o, p));
}

static int set_page_state(struct op *o, uint32_t p, uint32_t state)
{
    uint8_t word[4];
    put_le32(word, state);
    return program(o, p * NVS_PAGE_SIZE, word, 4);
}

/* Entries [begin, end) of page p to a state, one bitmap word at a time from the last, as
 * ESP-IDF writes them (a 32-bit word holds 16 entries). */
static int set_entry_states(struct op *o, uint32_t p, unsigned begin, unsigned end,
                            enum nvs_entry_state st)
{
    uint8_t *bitmap = page_at(o, p) + NVS_BITMAP_OFFSET;
    unsigned last_word = (end - 1) / 16, first_word = begin / 16;
    for (unsigned w = last_word + 1; w-- > first_word;) {
        uint8_t word[4];
        memcpy(word, bitmap + 4 * w, 4);
        for (unsigned i = begin > w * 16 ? begin : w * 16; i < end && i < w * 16 + 16; i++) {
            unsigned byte = (i % 16) / 4, shift = 2 * (i % 4);
            word[byte] = (uint8_t)((word[byte] & ~(3u << shift)) | ((unsigned)st << shift));
        }
        if (program(o, p * NVS_PAGE_SIZE + NVS_BITMAP_OFFSET + 4 * w, word, 4))
            return -1;
    }
    return 0;
}

static unsigned written_count(struct op *o, uint32_t p)
{
    unsigned n = 0;
    for (unsigned i = 0; i < NVS_ENTRY_COUNT; i++)
        n += nvs_entry_state_of(page_at(o, p), i) == NVS_ENTRY_WRITTEN;
    return n;
}

static uint32_t current_page(struct op *o)
{
    return o->nlist ? o->list[o->nlist - 1] : NO_PAGE;
}

/* Take the next free page as the current one; its header is written with its first item. */
static int activate_page(struct op *o)
{
    if (o->nfree == 0)
        return error_setk(o->err, ERROR_VALUE, "%s: no free page left", o->s->where);
    uint32_t p = o->free_list[0];
    memmove(o->free_list, o->free_list + 1, (o->nfree - 1) * sizeof *o->free_list);
    o->nfree--;
    uint8_t *page = page_at(o, p);
    if (!bytes_all_erased(page, NVS_PAGE_SIZE)) {
        /* a corrupt page is reused the way ESP-IDF reuses it */
        if (o->real)
            log_printf(o->s->log, LOG_WARNING, "%s: erasing damaged page %" PRIu32, o->s->where,
                       p);
        if (erase_page(o, p))
            return -1;
    }
    o->list[o->nlist++] = p;
    o->seq[p] = o->next_seq++;
    return 0;
}

static int initialize_page(struct op *o, uint32_t p)
{
    uint8_t header[NVS_HEADER_SIZE];
    nvs_header_encode(header, NVS_PAGE_ACTIVE, o->seq[p], NVS_VERSION_2);
    return program(o, p * NVS_PAGE_SIZE, header, NVS_HEADER_SIZE);
}

/* Write one entry at the page's next free slot and mark it Written. */
static int write_entry(struct op *o, uint32_t p, unsigned index, const uint8_t raw[32])
{
    if (program(o, p * NVS_PAGE_SIZE + NVS_ENTRIES_OFFSET + index * NVS_ENTRY_SIZE, raw,
                NVS_ENTRY_SIZE))
        return -1;
    return set_entry_states(o, p, index, index + 1, NVS_ENTRY_WRITTEN);
}

/* Page::writeItem: 1 when the item does not fit on page p. */
static int page_write_item(struct op *o, uint32_t p, uint8_t ns, uint8_t type, const char *key,
                           uint8_t chunk, const uint8_t *data, uint32_t size)
{
    if (page_state(o, p) == NVS_PAGE_EMPTY && initialize_page(o, p))
        return -1;
    if (page_state(o, p) != NVS_PAGE_ACTIVE)
        return 1;
    int var = !nvs_int_size(type) && type != NVS_TYPE_BLOB_INDEX;
    unsigned count = var ? 1 + (size + NVS_ENTRY_SIZE - 1) / NVS_ENTRY_SIZE : 1;
    unsigned next = nvs_page_next_free(page_at(o, p));
    if (next + count > NVS_ENTRY_COUNT)
        return 1;
    struct nvs_entry e;
    memset(&e, 0, sizeof e);
    e.ns = ns;
    e.type = type;
    e.span = (uint8_t)count;
    e.chunk_index = chunk;
    snprintf(e.key, sizeof e.key, "%s", key);
    memset(e.data, 0xff, sizeof e.data);
    if (var) {
        put_le16(e.data, (uint16_t)size);
        put_le32(e.data + 4, nvs_crc32(data, size));
    } else {
        memcpy(e.data, data, size);
    }
    uint8_t raw[NVS_ENTRY_SIZE];
    nvs_entry_encode(raw, &e);
    if (write_entry(o, p, next, raw))
        return -1;
    if (!var)
        return 0;
    /* whole data entries in one write, then their states; the tail entry on its own */
    uint32_t whole = size - size % NVS_ENTRY_SIZE;
    if (whole) {
        if (program(o, p * NVS_PAGE_SIZE + NVS_ENTRIES_OFFSET + (next + 1) * NVS_ENTRY_SIZE, data,
                    whole) ||
            set_entry_states(o, p, next + 1, next + 1 + whole / NVS_ENTRY_SIZE,
                             NVS_ENTRY_WRITTEN))
            return -1;
    }
    if (size % NVS_ENTRY_SIZE) {
        memset(raw, 0xff, sizeof raw);
        memcpy(raw, data + whole, size % NVS_ENTRY_SIZE);
        if (write_entry(o, p, next + 1 + whole / NVS_ENTRY_SIZE, raw))
            return -1;
    }
    return 0;
}

/* The first entry at or after i that is Written and passes the header checks, decoded into *e
 * with *raw its bytes; NVS_ENTRY_COUNT when the page has no more. Callers step on by e->span. */
static unsigned next_written(const uint8_t *page, unsigned i, struct nvs_entry *e,
                             const uint8_t **raw)
{
    for (; i < NVS_ENTRY_COUNT; i++) {
        *raw = page + NVS_ENTRIES_OFFSET + i * NVS_ENTRY_SIZE;
        nvs_entry_decode(*raw, e);
        if (nvs_entry_state_of(page, i) == NVS_ENTRY_WRITTEN && nvs_entry_consistent(e, *raw, i))
            return i;
    }
    return NVS_ENTRY_COUNT;
}

/* Copy the live items of page `from` to page `to` (Page::copyItems), leaving out what the
 * reader found stale (older duplicates) or inconsistent. */
static int copy_items(struct op *o, uint32_t from, uint32_t to)
{
    if (page_state(o, to) == NVS_PAGE_EMPTY && initialize_page(o, to))
        return -1;
    struct nvs_listing l;
    /* the duplicates as the whole partition shows them */
    if (nvs_list(o->img, o->pages * NVS_PAGE_SIZE, o->s->where, &l, o->err))
        return -1;
    const uint8_t *src = page_at(o, from);
    const uint8_t *raw;
    struct nvs_entry e;
    int rc = 0;
    for (unsigned i = next_written(src, 0, &e, &raw); i < NVS_ENTRY_COUNT && rc == 0;
         i = next_written(src, i + e.span, &e, &raw)) {
        int stale = 0;
        for (size_t k = 0; k < l.skipped_count; k++)
            stale |= l.skipped[k].page == from && l.skipped[k].entry == (int)i &&
                     !strncmp(l.skipped[k].reason, "older duplicate", 15);
        int whole = 1;
        for (unsigned j = i + 1; j < i + e.span; j++)
            whole &= nvs_entry_state_of(src, j) == NVS_ENTRY_WRITTEN;
        if (!stale && whole) {
            unsigned next = nvs_page_next_free(page_at(o, to));
            if (next + e.span > NVS_ENTRY_COUNT) {
                rc = error_setk(o->err, ERROR_VALUE, "%s: page copy does not fit", o->s->where);
                break;
            }
            for (unsigned j = 0; j < e.span && rc == 0; j++)
                rc = write_entry(o, to, next + j, raw + j * NVS_ENTRY_SIZE);
        }
    }
    nvs_listing_free(&l);
    return rc;
}

/* PageManager::requestNewPage */
static int request_new_page(struct op *o)
{
    if (o->nfree == 0)
        return error_setk(o->err, ERROR_VALUE, "%s: not enough space (no free page)",
                          o->s->where);
    if (o->nfree >= 2)
        return activate_page(o);
    /* the last free page is kept for this: move the page with the most erased entries */
    uint32_t victim = NO_PAGE, at = 0;
    unsigned most = 0;
    for (uint32_t k = 0; k < o->nlist; k++) {
        unsigned unused = NVS_ENTRY_COUNT - written_count(o, o->list[k]);
        if (unused > most) {
            most = unused;
            victim = o->list[k];
            at = k;
        }
    }
    if (victim == NO_PAGE)
        return error_setk(o->err, ERROR_VALUE, "%s: not enough space", o->s->where);
    if (set_page_state(o, victim, NVS_PAGE_FREEING) || activate_page(o) ||
        copy_items(o, victim, current_page(o)) || erase_page(o, victim))
        return -1;
    memmove(o->list + at, o->list + at + 1, (o->nlist - at - 1) * sizeof *o->list);
    o->nlist--;
    o->free_list[o->nfree++] = victim;
    return 0;
}

static int mark_full(struct op *o, uint32_t p)
{
    uint32_t st = page_state(o, p);
    if (st == NVS_PAGE_FULL)
        return 0;
    if (st == NVS_PAGE_EMPTY && initialize_page(o, p))
        return -1;
    return set_page_state(o, p, NVS_PAGE_FULL);
}

/* Storage::writeItem for a single-item value: on the current page, or on a new one. */
static int write_item(struct op *o, uint8_t ns, uint8_t type, const char *key,
                      const uint8_t *data, uint32_t size)
{
    if (current_page(o) == NO_PAGE && request_new_page(o))
        return -1;
    int rc = page_write_item(o, current_page(o), ns, type, key, NVS_CHUNK_ANY, data, size);
    if (rc <= 0)
        return rc;
    if (mark_full(o, current_page(o)) || request_new_page(o))
        return -1;
    rc = page_write_item(o, current_page(o), ns, type, key, NVS_CHUNK_ANY, data, size);
    if (rc > 0)
        return error_setk(o->err, ERROR_VALUE, "%s: the value does not fit on a page",
                          o->s->where);
    return rc;
}

static unsigned tailroom(struct op *o, uint32_t p)
{
    uint32_t st = page_state(o, p);
    if (st == NVS_PAGE_EMPTY)
        return NVS_CHUNK_MAX;
    if (st != NVS_PAGE_ACTIVE)
        return 0;
    unsigned next = nvs_page_next_free(page_at(o, p));
    return next < NVS_ENTRY_COUNT - 1 ? (NVS_ENTRY_COUNT - next - 1) * NVS_ENTRY_SIZE : 0;
}

/* Storage::writeMultiPageBlob: chunks on as many pages as needed, then the index. */
/* Whether page p holds a blob chunk of ns.key other than chunks [start, end) (the new ones). */
static int holds_chunk_of(struct op *o, uint32_t p, uint8_t ns, const char *key, unsigned start,
                          unsigned end)
{
    const uint8_t *page = page_at(o, p), *raw;
    struct nvs_entry e;
    for (unsigned i = next_written(page, 0, &e, &raw); i < NVS_ENTRY_COUNT;
         i = next_written(page, i + e.span, &e, &raw))
        if (e.type == NVS_TYPE_BLOB_DATA && e.ns == ns && !strncmp(e.key, key, 16) &&
            (e.chunk_index < start || e.chunk_index >= end))
            return 1;
    return 0;
}

static int write_blob(struct op *o, uint8_t ns, const char *key, const uint8_t *data,
                      uint32_t size, uint8_t chunk_start, unsigned *chunk_count)
{
    if (current_page(o) == NO_PAGE && request_new_page(o))
        return -1;
    /* When ESP-IDF loads its active page it looks for an older copy of the last item, and for
     * a blob chunk it matches any chunk number of the key (Page::mLoadEntryTable): power lost
     * right after a new chunk was appended to a page holding a chunk of the old version would
     * have ESP-IDF erase that old chunk, losing the old value before the new one is complete.
     * So each new chunk goes on a page without old ones (a page move may bring some along). */
    uint32_t offset = 0, remaining = size;
    unsigned chunks = 0;
    for (unsigned moves = 0;;) {
        if (page_state(o, current_page(o)) == NVS_PAGE_ACTIVE &&
            holds_chunk_of(o, current_page(o), ns, key, chunk_start, chunk_start + chunks)) {
            if (++moves > o->pages)
                return error_setk(o->err, ERROR_VALUE, "%s: not enough space for the blob",
                                  o->s->where);
            if (mark_full(o, current_page(o)) || request_new_page(o))
                return -1;
            continue;
        }
        unsigned room = tailroom(o, current_page(o));
        if (chunks == 0 && room < remaining && room < NVS_CHUNK_MAX / 10) {
            /* too little room for a first chunk: start on a new page */
            if (mark_full(o, current_page(o)) || request_new_page(o))
                return -1;
            continue;
        }
        if (room == 0 || chunks >= 127)
            return error_setk(o->err, ERROR_VALUE, "%s: not enough space for the blob",
                              o->s->where);
        uint32_t part = remaining > room ? room : remaining;
        int rc = page_write_item(o, current_page(o), ns, NVS_TYPE_BLOB_DATA, key,
                                 (uint8_t)(chunk_start + chunks), data + offset, part);
        if (rc)
            return rc < 0 ? -1
                          : error_setk(o->err, ERROR_VALUE, "%s: blob chunk does not fit",
                                       o->s->where);
        chunks++;
        remaining -= part;
        offset += part;
        if (remaining || room - part < NVS_ENTRY_SIZE) {
            if (mark_full(o, current_page(o)) || request_new_page(o))
                return -1;
        }
        if (!remaining)
            break;
    }
    *chunk_count = chunks;
    uint8_t index[8];
    put_le32(index, size);
    index[4] = (uint8_t)chunks;
    index[5] = chunk_start;
    index[6] = index[7] = 0xff;
    int rc = page_write_item(o, current_page(o), ns, NVS_TYPE_BLOB_INDEX, key, NVS_CHUNK_ANY,
                             index, 8);
    return rc ? (rc < 0 ? -1
                        : error_setk(o->err, ERROR_VALUE, "%s: blob index does not fit",
                                     o->s->where))
              : 0;
}

/* ---- what is on the pages now ---- */

struct place {
    uint32_t page;
    unsigned entry, span;
    int chunk; /* a blob data chunk: erased after the items that refer to it */
    uint8_t chunk_index;
};

/* Every consistent Written item of namespace index ns (and key, unless NULL) on the pages in
 * use: the items a change replaces or an erase removes. */
static int find_places(struct op *o, uint8_t ns, const char *key, struct place **out,
                       size_t *count)
{
    *out = NULL;
    *count = 0;
    size_t cap = 0;
    for (uint32_t k = 0; k < o->nlist; k++) {
        uint32_t p = o->list[k];
        const uint8_t *page = page_at(o, p), *raw;
        struct nvs_entry e;
        for (unsigned i = next_written(page, 0, &e, &raw); i < NVS_ENTRY_COUNT;
             i = next_written(page, i + e.span, &e, &raw)) {
            if (e.ns == ns && (!key || !strncmp(e.key, key, 16))) {
                if (*count == cap) {
                    cap = cap ? 2 * cap : 8;
                    struct place *grown = mp_realloc(*out, cap * sizeof **out);
                    if (!grown) {
                        free(*out);
                        *out = NULL;
                        return error_setk(o->err, ERROR_OS, "out of memory");
                    }
                    *out = grown;
                }
                (*out)[(*count)++] = (struct place){p, i, e.span, e.type == NVS_TYPE_BLOB_DATA,
                                                    e.chunk_index};
            }
        }
    }
    return 0;
}

/* After a set, the places of the key's new value are its newest ones (it was appended last, on
 * the newest page): the newest item, and for a blob the newest chunk of each of its numbers.
 * They are dropped from the list; the rest is the old value, wherever a page move put it. */
static void keep_newest(struct place *pl, size_t *n, int blob, unsigned start, unsigned count)
{
    int keep_item = 1;
    uint8_t kept[256] = {0};
    size_t out = *n;
    for (size_t i = *n; i-- > 0;) {
        int keep = 0;
        if (!pl[i].chunk && keep_item) {
            keep = 1;
            keep_item = 0;
        } else if (pl[i].chunk && blob && pl[i].chunk_index >= start &&
                   pl[i].chunk_index < start + count && !kept[pl[i].chunk_index]) {
            keep = 1;
            kept[pl[i].chunk_index] = 1;
        }
        if (keep) {
            memmove(pl + i, pl + i + 1, (out - i - 1) * sizeof *pl);
            out--;
        }
    }
    *n = out;
}

/* Mark the places Erased: the items first, then the blob chunks they referred to, so that a
 * power cut never leaves an index pointing at a half-erased blob. */
static int erase_places(struct op *o, const struct place *pl, size_t n)
{
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < n; i++)
            if (pl[i].chunk == pass &&
                set_entry_states(o, pl[i].page, pl[i].entry, pl[i].entry + pl[i].span,
                                 NVS_ENTRY_ERASED))
                return -1;
    return 0;
}

/* ---- one change, planned then made ---- */

enum change_kind { CHANGE_SET, CHANGE_ERASE_KEY, CHANGE_ERASE_NS };

struct change {
    enum change_kind kind;
    const char *ns, *key;
    uint8_t type;
    const uint8_t *value;
    uint32_t len;
    int changed; /* out */
    int erased;  /* out: keys erased */
};

static int op_init(struct op *o, struct nvs_store *s, uint8_t *img, int real, struct error *err)
{
    memset(o, 0, sizeof *o);
    o->s = s;
    o->img = img;
    o->real = real;
    o->err = err;
    o->pages = s->len / NVS_PAGE_SIZE;
    o->list = mp_calloc(o->pages, sizeof *o->list);
    o->free_list = mp_calloc(o->pages, sizeof *o->free_list);
    o->seq = mp_calloc(o->pages, sizeof *o->seq);
    if (!o->list || !o->free_list || !o->seq)
        return error_setk(err, ERROR_OS, "out of memory");
    struct nvs_listing l;
    if (nvs_list(img, s->len, s->where, &l, err))
        return -1;
    o->nlist = nvs_read_order(l.pages, o->pages, o->list);
    o->freeing = o->discarded = NO_PAGE;
    for (uint32_t p = 0; p < o->pages; p++) {
        if (l.pages[p].kind == NVS_KIND_READ && l.pages[p].header.state == NVS_PAGE_FREEING &&
            o->freeing == NO_PAGE)
            o->freeing = p;
        if (l.pages[p].kind == NVS_KIND_DISCARDED) {
            o->discarded = p;
            o->seq[p] = l.pages[p].header.seq;
            if (o->seq[p] >= o->next_seq)
                o->next_seq = o->seq[p] + 1;
        }
        if (l.pages[p].kind == NVS_KIND_READ) {
            o->seq[p] = l.pages[p].header.seq;
            if (o->seq[p] >= o->next_seq)
                o->next_seq = o->seq[p] + 1;
        }
    }
    /* blank pages first; damaged ones are erased only when needed */
    for (int pass = 0; pass < 2; pass++)
        for (uint32_t p = 0; p < o->pages; p++)
            if (l.pages[p].kind == (pass ? NVS_KIND_CORRUPT : NVS_KIND_EMPTY))
                o->free_list[o->nfree++] = p;
    nvs_listing_free(&l);
    return 0;
}

static void op_free(struct op *o)
{
    free(o->list);
    free(o->free_list);
    free(o->seq);
}

/* Leftovers of a power cut on the current ACTIVE page, settled before anything is appended, as
 * ESP-IDF settles them when it loads the page: entries whose bytes were written but whose state
 * was not, entries in the illegal state or with a bad header, and items whose data entries were
 * not all marked written (their whole span is marked erased, so that new items appended after
 * them cannot be taken for their data). */
/* Older duplicates (the same namespace, key and chunk written again later, left by a power cut
 * between writing a new value and erasing the old one) are marked erased. ESP-IDF erases them
 * when it loads the active page, and on other pages only for the last item written; left in
 * place after a new item is appended, ESP-IDF would find the older one first. */
static int erase_older_duplicates(struct op *o)
{
    struct nvs_listing l;
    if (nvs_list(o->img, o->s->len, o->s->where, &l, o->err))
        return -1;
    int rc = 0;
    for (size_t k = 0; k < l.skipped_count && rc == 0; k++) {
        const struct nvs_skipped *sk = &l.skipped[k];
        if (sk->entry < 0 || strncmp(sk->reason, "older duplicate", 15))
            continue;
        unsigned span = page_at(
            o, sk->page)[NVS_ENTRIES_OFFSET + (unsigned)sk->entry * NVS_ENTRY_SIZE + 2];
        rc = set_entry_states(o, sk->page, (unsigned)sk->entry, (unsigned)sk->entry + span,
                              NVS_ENTRY_ERASED);
    }
    nvs_listing_free(&l);
    return rc;
}

static int settle_active_page(struct op *o)
{
    uint32_t p = current_page(o);
    if (p == NO_PAGE || page_state(o, p) != NVS_PAGE_ACTIVE)
        return 0;
    const uint8_t *page = page_at(o, p);
    /* ESP-IDF appends after the first Empty entry and treats what follows it as leftovers; an
     * entry in use after it is not a layout ESP-IDF writes, so the page is closed (marked FULL)
     * rather than anything on it being erased, and new items go to a new page */
    unsigned first_empty = 0;
    while (first_empty < NVS_ENTRY_COUNT &&
           nvs_entry_state_of(page, first_empty) != NVS_ENTRY_EMPTY)
        first_empty++;
    for (unsigned j = first_empty; j < NVS_ENTRY_COUNT; j++)
        if (nvs_entry_state_of(page, j) != NVS_ENTRY_EMPTY)
            return set_page_state(o, p, NVS_PAGE_FULL);
    for (int changed = 1; changed;) {
        changed = 0;
        unsigned next = 0;
        while (next < NVS_ENTRY_COUNT && nvs_entry_state_of(page, next) != NVS_ENTRY_EMPTY)
            next++;
        for (; next < NVS_ENTRY_COUNT &&
               get_le32(page + NVS_ENTRIES_OFFSET + next * NVS_ENTRY_SIZE) != 0xffffffffu;
             next++) {
            if (set_entry_states(o, p, next, next + 1, NVS_ENTRY_ERASED))
                return -1;
            changed = 1;
        }
        for (unsigned i = 0; i < next;) {
            enum nvs_entry_state st = nvs_entry_state_of(page, i);
            const uint8_t *raw = page + NVS_ENTRIES_OFFSET + i * NVS_ENTRY_SIZE;
            struct nvs_entry e;
            nvs_entry_decode(raw, &e);
            if (st == NVS_ENTRY_ERASED || st == NVS_ENTRY_EMPTY) {
                i++;
                continue;
            }
            if (st == NVS_ENTRY_ILLEGAL || !nvs_entry_consistent(&e, raw, i)) {
                if (set_entry_states(o, p, i, i + 1, NVS_ENTRY_ERASED))
                    return -1;
                changed = 1;
                i++;
                continue;
            }
            int whole = 1;
            for (unsigned j = i + 1; j < i + e.span; j++)
                whole &= nvs_entry_state_of(page, j) == NVS_ENTRY_WRITTEN;
            if (!whole) {
                if (set_entry_states(o, p, i, i + e.span, NVS_ENTRY_ERASED))
                    return -1;
                changed = 1;
            }
            i += e.span;
        }
    }
    return 0;
}

/* Finish a page move that a power cut interrupted, as ESP-IDF does when it starts
 * (PageManager::load): the partial copy is erased, the FREEING page's items are copied to a new
 * page, and the FREEING page is erased. */
static int finish_move(struct op *o)
{
    if (o->freeing == NO_PAGE)
        return 0;
    if (o->real)
        log_printf(o->s->log, LOG_INFO, "%s: finishing a page move cut off by a power loss",
                   o->s->where);
    if (o->discarded != NO_PAGE) {
        if (erase_page(o, o->discarded))
            return -1;
        o->free_list[o->nfree++] = o->discarded;
        o->discarded = NO_PAGE;
    }
    uint32_t from = o->freeing;
    if (activate_page(o) || copy_items(o, from, current_page(o)) || erase_page(o, from))
        return -1;
    for (uint32_t k = 0; k < o->nlist; k++)
        if (o->list[k] == from) {
            memmove(o->list + k, o->list + k + 1, (o->nlist - k - 1) * sizeof *o->list);
            o->nlist--;
            break;
        }
    o->free_list[o->nfree++] = from;
    o->freeing = NO_PAGE;
    return 0;
}

/* Prepare the pages for a change as ESP-IDF's start-up prepares them. */
static int prepare(struct op *o)
{
    return finish_move(o) || settle_active_page(o) || erase_older_duplicates(o) ? -1 : 0;
}

static int namespace_index(const struct nvs_listing *l, const char *ns)
{
    for (size_t i = 0; i < l->ns_count; i++)
        if (!strcmp(l->namespaces[i].name, ns))
            return l->namespaces[i].index;
    return -1;
}

/* The lowest namespace index that neither a namespace nor any written entry uses, so that a new
 * namespace never adopts leftovers of a lost one. */
static int free_namespace_index(struct op *o, const struct nvs_listing *l)
{
    uint8_t used[256] = {0};
    used[0] = used[255] = 1;
    for (size_t i = 0; i < l->ns_count; i++)
        used[l->namespaces[i].index] = 1;
    for (uint32_t k = 0; k < o->nlist; k++) {
        const uint8_t *page = page_at(o, o->list[k]);
        for (unsigned i = 0; i < NVS_ENTRY_COUNT; i++)
            if (nvs_entry_state_of(page, i) == NVS_ENTRY_WRITTEN)
                used[page[NVS_ENTRIES_OFFSET + i * NVS_ENTRY_SIZE]] = 1;
    }
    for (int i = 1; i <= (int)NVS_NAMESPACE_MAX; i++)
        if (!used[i])
            return i;
    return -1;
}

static int apply(struct op *o, struct change *c)
{
    struct nvs_listing l;
    if (nvs_list(o->img, o->s->len, o->s->where, &l, o->err))
        return -1;
    int rc = -1;
    struct place *old = NULL;
    size_t nold = 0;
    int ns = namespace_index(&l, c->ns);
    const struct nvs_item *it = ns >= 0 ? nvs_listing_find(&l, c->ns, c->key ? c->key : "")
                                        : NULL;
    if (c->kind != CHANGE_SET) {
        if (ns < 0) {
            error_setk(o->err, ERROR_VALUE, "%s has no namespace '%s'", o->s->where, c->ns);
            goto done;
        }
        if (prepare(o) || find_places(o, (uint8_t)ns, c->key, &old, &nold))
            goto done;
        if (c->kind == CHANGE_ERASE_KEY && !it && nold == 0) {
            error_setk(o->err, ERROR_VALUE, "%s has no key '%s.%s'", o->s->where, c->ns, c->key);
            goto done;
        }
        if (c->kind == CHANGE_ERASE_NS)
            for (size_t i = 0; i < l.count; i++)
                c->erased += !strcmp(l.items[i].ns, c->ns);
        else
            c->erased = 1;
        rc = erase_places(o, old, nold);
        c->changed = nold > 0;
        goto done;
    }
    int duplicates = 0;
    for (size_t i = 0; i < l.skipped_count; i++)
        duplicates |= !strncmp(l.skipped[i].reason, "older duplicate", 15);
    if (it && it->type == c->type && it->len == c->len && !memcmp(it->value, c->value, c->len) &&
        !duplicates) {
        /* ESP-IDF does not write a value that is already there (with an older duplicate left,
         * though, its lookup could find that one: the cleaning below still runs) */
        rc = 0;
        goto done;
    }
    if (prepare(o))
        goto done;
    if (ns < 0) {
        ns = free_namespace_index(o, &l);
        if (ns < 0) {
            error_setk(o->err, ERROR_VALUE, "%s: no namespace index is free", o->s->where);
            goto done;
        }
        uint8_t index = (uint8_t)ns;
        if (write_item(o, 0, NVS_TYPE_U8, c->ns, &index, 1))
            goto done;
    }
    c->changed = 1;
    uint8_t start = 0;
    unsigned chunks = 0;
    if (c->type == NVS_TYPE_BLOB_INDEX) {
        /* a new version takes the other half of the chunk numbers, so old and new chunks
         * never share a number */
        start = it && it->type == NVS_TYPE_BLOB_INDEX && it->chunk_start == 0 ? 0x80 : 0;
        rc = write_blob(o, (uint8_t)ns, c->key, c->value, c->len, start, &chunks);
    } else if (c->type == NVS_TYPE_STR) {
        uint8_t *text = mp_malloc(c->len + 1);
        if (!text) {
            error_setk(o->err, ERROR_OS, "out of memory");
            goto done;
        }
        memcpy(text, c->value, c->len);
        text[c->len] = '\0';
        rc = write_item(o, (uint8_t)ns, c->type, c->key, text, c->len + 1);
        free(text);
    } else {
        rc = write_item(o, (uint8_t)ns, c->type, c->key, c->value, c->len);
    }
    /* the old value is looked up only now: a page move made for the new one may have moved it */
    if (rc == 0)
        rc = find_places(o, (uint8_t)ns, c->key, &old, &nold);
    if (rc == 0) {
        keep_newest(old, &nold, c->type == NVS_TYPE_BLOB_INDEX, start, chunks);
        rc = erase_places(o, old, nold);
    }
done:
    free(old);
    nvs_listing_free(&l);
    return rc;
}

/* Plan on a copy, then make the change on the flash. */
static int run_change(struct nvs_store *s, struct change *c, struct error *err)
{
    uint8_t *scratch = mp_malloc(s->len);
    if (!scratch)
        return error_setk(err, ERROR_OS, "out of memory");
    memcpy(scratch, s->image, s->len);
    struct op o;
    int rc = op_init(&o, s, scratch, 0, err);
    struct change trial = *c;
    if (rc == 0)
        rc = apply(&o, &trial);
    op_free(&o);
    free(scratch);
    if (rc) {
        /* only the copy was changed */
        error_append(err, "; nothing was written");
        return rc;
    }
    if (!trial.changed) {
        *c = trial;
        return 0;
    }
    rc = op_init(&o, s, s->image, 1, err);
    if (rc == 0)
        rc = apply(&o, c);
    op_free(&o);
    if (rc == 0 && flash_flush(s->flash, err))
        rc = -1;
    return rc;
}

int nvs_store_open(struct nvs_store *s, struct flash *f, uint32_t addr, uint32_t len,
                   const char *where, const struct log *log, struct error *err)
{
    memset(s, 0, sizeof *s);
    s->flash = f;
    s->addr = addr;
    s->len = len;
    s->where = where;
    s->log = log;
    if (len < 2 * NVS_PAGE_SIZE || len % NVS_PAGE_SIZE)
        return error_setk(err, ERROR_VALUE,
                          "%s: 0x%" PRIx32 " bytes; a writable NVS partition is a whole number "
                          "of 4096-byte pages, at least 2 of them",
                          where, len);
    if (nvs_read_partition(f, addr, len, &s->image, err))
        return -1;
    struct nvs_listing l;
    if (nvs_list(s->image, len, where, &l, err)) {
        nvs_store_close(s);
        return -1;
    }
    int free_pages = 0;
    for (uint32_t p = 0; p < l.page_count; p++)
        free_pages += l.pages[p].kind == NVS_KIND_EMPTY || l.pages[p].kind == NVS_KIND_CORRUPT ||
                      l.pages[p].kind == NVS_KIND_DISCARDED;
    nvs_listing_free(&l);
    if (free_pages == 0) {
        nvs_store_close(s);
        return error_setk(err, ERROR_VALUE,
                          "%s has no free page, which ESP-IDF needs to reorganise it: refusing "
                          "to change it",
                          where);
    }
    return 0;
}

void nvs_store_close(struct nvs_store *s)
{
    free(s->image);
    s->image = NULL;
}

int nvs_store_set(struct nvs_store *s, const char *ns, const char *key, uint8_t type,
                  const void *value, uint32_t len, int *changed, struct error *err)
{
    *changed = 0;
    if (!ns || !*ns || strlen(ns) > NVS_KEY_MAX || !key || !*key || strlen(key) > NVS_KEY_MAX)
        return error_setk(err, ERROR_VALUE, "NVS names are 1 to %u characters", NVS_KEY_MAX);
    unsigned isize = nvs_int_size(type);
    if (isize                  ? len != isize
        : type == NVS_TYPE_STR ? len + 1 > NVS_STRING_MAX || memchr(value, 0, len)
                               : type != NVS_TYPE_BLOB_INDEX)
        return error_setk(err, ERROR_VALUE, "%s.%s: not a value NVS can hold as %s", ns, key,
                          nvs_type_name(type) ? nvs_type_name(type) : "that type");
    struct change c = {CHANGE_SET, ns, key, type, value, len, 0, 0};
    int rc = run_change(s, &c, err);
    *changed = c.changed;
    return rc;
}

int nvs_store_erase_key(struct nvs_store *s, const char *ns, const char *key, struct error *err)
{
    struct change c = {CHANGE_ERASE_KEY, ns, key, 0, NULL, 0, 0, 0};
    return run_change(s, &c, err);
}

int nvs_store_erase_namespace(struct nvs_store *s, const char *ns, struct error *err)
{
    struct change c = {CHANGE_ERASE_NS, ns, NULL, 0, NULL, 0, 0, 0};
    int rc = run_change(s, &c, err);
    return rc ? rc : c.erased;
}
