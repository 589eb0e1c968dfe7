/* Reading an NVS partition: which keys ESP-IDF's runtime would return, and why every other
 * written entry is not one (nvs.md §3). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nvs/nvs.h"
#include "nvs/nvs_int.h"
#include "util/alloc.h"
#include "util/bytes.h"

/* A written entry whose header passed the checks, in reading order. */
struct candidate {
    uint32_t page, entry, order;
    struct nvs_entry e;
    const uint8_t *raw; /* the entry's bytes; the data entries follow */
    int dropped;        /* an older duplicate */
    int used;           /* a blob chunk that belongs to a readable blob */
};

struct reader {
    const uint8_t *image;
    uint32_t pages;
    struct nvs_listing *out;
    struct candidate *c;
    size_t nc, cap_c;
    size_t cap_items, cap_skipped;
    int oom;
};

static void *grow(void *array, size_t *cap, size_t need, size_t size, int *oom)
{
    if (need <= *cap)
        return array;
    size_t n = *cap ? *cap * 2 : 16;
    while (n < need)
        n *= 2;
    void *p = mp_realloc(array, n * size);
    if (!p) {
        *oom = 1;
        return NULL;
    }
    *cap = n;
    return p;
}

static void skip(struct reader *r, uint32_t page, int entry, const struct nvs_entry *e,
                 const char *reason)
{
    struct nvs_listing *l = r->out;
    struct nvs_skipped *s = grow(l->skipped, &r->cap_skipped, l->skipped_count + 1, sizeof *s,
                                 &r->oom);
    if (!s)
        return;
    l->skipped = s;
    s += l->skipped_count++;
    memset(s, 0, sizeof *s);
    s->page = page;
    s->entry = entry;
    s->reason = reason;
    if (e) {
        s->ns_index = e->ns;
        s->type = e->type;
        s->chunk_index = e->chunk_index;
        memcpy(s->key, e->key, NVS_KEY_MAX);
    }
}

/* Classify page p (Page::load); -1 when ESP-IDF refuses the partition. */
static int load_page(struct reader *r, uint32_t p, const char *where, struct error *err)
{
    const uint8_t *page = r->image + (size_t)p * NVS_PAGE_SIZE;
    struct nvs_page_info *info = &r->out->pages[p];
    nvs_header_decode(page, &info->header);
    for (unsigned i = 0; i < NVS_ENTRY_COUNT; i++) {
        enum nvs_entry_state st = nvs_entry_state_of(page, i);
        info->written += st == NVS_ENTRY_WRITTEN;
        info->erased += st == NVS_ENTRY_ERASED;
        info->empty += st == NVS_ENTRY_EMPTY;
    }
    info->next_free = nvs_page_next_free(page);
    if (info->header.state == NVS_PAGE_EMPTY) {
        if (bytes_all_erased(page, NVS_PAGE_SIZE)) {
            info->kind = NVS_KIND_EMPTY;
        } else {
            info->kind = NVS_KIND_CORRUPT;
            skip(r, p, -1, NULL, "the page header is blank but the page holds data");
        }
        return 0;
    }
    if (info->header.crc != nvs_header_crc(page)) {
        info->kind = NVS_KIND_CORRUPT;
        skip(r, p, -1, NULL, "page header CRC32 mismatch: the whole page is ignored");
        return 0;
    }
    if (info->header.version < NVS_VERSION_2)
        return error_setk(err, ERROR_VALUE,
                          "%s: page %" PRIu32 " has NVS format version byte 0x%02x, newer than "
                          "this tool knows (ESP-IDF refuses such a partition too)",
                          where, p, info->header.version);
    switch (info->header.state) {
    case NVS_PAGE_ACTIVE:
    case NVS_PAGE_FULL:
    case NVS_PAGE_FREEING: info->kind = NVS_KIND_READ; break;
    default:
        info->kind = NVS_KIND_CORRUPT;
        skip(r, p, -1, NULL, "page state is not ACTIVE, FULL or FREEING: the page is ignored");
        break;
    }
    return 0;
}

unsigned nvs_page_next_free(const uint8_t *page)
{
    /* the first Empty entry, then past any whose bytes were written before a power cut stopped
     * the state write (Page::mLoadEntryTable) */
    unsigned i = 0;
    while (i < NVS_ENTRY_COUNT && nvs_entry_state_of(page, i) != NVS_ENTRY_EMPTY)
        i++;
    while (i < NVS_ENTRY_COUNT &&
           get_le32(page + NVS_ENTRIES_OFFSET + i * NVS_ENTRY_SIZE) != 0xffffffffu)
        i++;
    return i;
}

/* Pages to read, ordered by sequence number (equal numbers keep address order). */
uint32_t nvs_read_order(const struct nvs_page_info *pages, uint32_t count, uint32_t *order)
{
    uint32_t n = 0;
    for (uint32_t p = 0; p < count; p++) {
        if (pages[p].kind != NVS_KIND_READ)
            continue;
        uint32_t at = n;
        while (at > 0 && pages[order[at - 1]].header.seq > pages[p].header.seq) {
            order[at] = order[at - 1];
            at--;
        }
        order[at] = p;
        n++;
    }
    return n;
}

static void collect_page(struct reader *r, uint32_t p, uint32_t rank)
{
    const uint8_t *page = r->image + (size_t)p * NVS_PAGE_SIZE;
    unsigned i = 0;
    while (i < NVS_ENTRY_COUNT) {
        if (nvs_entry_state_of(page, i) != NVS_ENTRY_WRITTEN) {
            i++;
            continue;
        }
        const uint8_t *raw = page + NVS_ENTRIES_OFFSET + i * NVS_ENTRY_SIZE;
        struct nvs_entry e;
        nvs_entry_decode(raw, &e);
        if (!nvs_entry_consistent(&e, raw, i)) {
            skip(r, p, (int)i, &e,
                 e.crc != nvs_entry_crc(raw)
                     ? "entry header CRC32 mismatch"
                     : "entry header inconsistent (type, span, size or chunk index)");
            i++;
            continue;
        }
        int whole = 1;
        for (unsigned j = i + 1; j < i + e.span; j++)
            whole &= nvs_entry_state_of(page, j) == NVS_ENTRY_WRITTEN;
        if (!whole) {
            skip(r, p, (int)i, &e, "not every entry of its span is Written");
            i += e.span;
            continue;
        }
        struct candidate *c = grow(r->c, &r->cap_c, r->nc + 1, sizeof *c, &r->oom);
        if (!c)
            return;
        r->c = c;
        c += r->nc++;
        *c = (struct candidate){p, i, rank * NVS_ENTRY_COUNT + i, e, raw, 0, 0};
        i += e.span;
    }
}

/* Duplicate key: same namespace index, key and chunk index (ESP-IDF's hash ignores the type). */
static int same_slot(const struct candidate *a, const struct candidate *b)
{
    return a->e.ns == b->e.ns && a->e.chunk_index == b->e.chunk_index &&
           strncmp(a->e.key, b->e.key, 16) == 0;
}

static int cmp_slot(const void *pa, const void *pb)
{
    const struct candidate *a = *(const struct candidate *const *)pa;
    const struct candidate *b = *(const struct candidate *const *)pb;
    if (a->e.ns != b->e.ns)
        return a->e.ns < b->e.ns ? -1 : 1;
    if (a->e.chunk_index != b->e.chunk_index)
        return a->e.chunk_index < b->e.chunk_index ? -1 : 1;
    int k = strncmp(a->e.key, b->e.key, 16);
    if (k)
        return k;
    return a->order < b->order ? -1 : a->order > b->order;
}

static const char *ns_name(const struct nvs_listing *l, uint8_t index)
{
    for (size_t i = 0; i < l->ns_count; i++)
        if (l->namespaces[i].index == index)
            return l->namespaces[i].name;
    return NULL;
}

static struct nvs_item *add_item(struct reader *r, const struct candidate *c, const char *ns,
                                 uint32_t len)
{
    struct nvs_listing *l = r->out;
    struct nvs_item *it = grow(l->items, &r->cap_items, l->count + 1, sizeof *it, &r->oom);
    if (!it)
        return NULL;
    l->items = it;
    it += l->count;
    memset(it, 0, sizeof *it);
    it->value = mp_malloc(len ? len : 1);
    if (!it->value) {
        r->oom = 1;
        return NULL;
    }
    l->count++;
    snprintf(it->ns, sizeof it->ns, "%s", ns);
    memcpy(it->key, c->e.key, NVS_KEY_MAX);
    it->type = c->e.type;
    it->len = len;
    it->page = c->page;
    it->entry = c->entry;
    it->ns_index = c->e.ns;
    return it;
}

/* The data of a variable-length item when its CRC matches; NULL otherwise. */
static const uint8_t *var_data(const struct candidate *c, uint32_t *size)
{
    *size = get_le16(c->e.data);
    const uint8_t *data = c->raw + NVS_ENTRY_SIZE;
    return nvs_crc32(data, *size) == get_le32(c->e.data + 4) ? data : NULL;
}

static const struct candidate *find_chunk(struct candidate *const *sorted, size_t n,
                                          const struct candidate *index, unsigned chunk)
{
    struct candidate probe = *index;
    probe.e.chunk_index = (uint8_t)chunk;
    probe.order = 0;
    /* first candidate not below (ns, chunk, key, 0) */
    size_t lo = 0, hi = n;
    const struct candidate *pp = &probe;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cmp_slot(&sorted[mid], &pp) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < n && same_slot(sorted[i], &probe); i++)
        if (!sorted[i]->dropped && sorted[i]->e.type == NVS_TYPE_BLOB_DATA)
            return sorted[i];
    return NULL;
}

static void read_blob(struct reader *r, struct candidate *const *sorted, size_t n,
                      const struct candidate *c, const char *ns)
{
    uint32_t size = get_le32(c->e.data);
    unsigned count = c->e.data[4], start = c->e.data[5];
    const struct candidate *chunks[256];
    uint32_t total = 0;
    const char *why = NULL;
    if (start + count > NVS_CHUNK_ANY)
        why = "blob unreadable: its chunk indexes run past 254";
    for (unsigned k = 0; !why && k < count; k++) {
        chunks[k] = find_chunk(sorted, n, c, start + k);
        uint32_t part;
        if (!chunks[k])
            why = "blob unreadable: a chunk is missing";
        else if (!var_data(chunks[k], &part))
            why = "blob unreadable: a chunk's data CRC32 does not match";
        else
            total += part;
    }
    if (!why && total != size)
        why = "blob unreadable: its chunk sizes do not add up to its size";
    if (why) {
        skip(r, c->page, (int)c->entry, &c->e, why);
        return;
    }
    struct nvs_item *it = add_item(r, c, ns, size);
    if (!it)
        return;
    it->chunk_start = (uint8_t)start;
    uint32_t at = 0;
    for (unsigned k = 0; k < count; k++) {
        uint32_t part;
        const uint8_t *data = var_data(chunks[k], &part);
        memcpy(it->value + at, data, part);
        at += part;
        ((struct candidate *)chunks[k])->used = 1;
    }
}

static int cmp_item(const void *pa, const void *pb)
{
    const struct nvs_item *a = pa, *b = pb;
    int k = strcmp(a->ns, b->ns);
    return k ? k : strcmp(a->key, b->key);
}

static void build(struct reader *r)
{
    struct nvs_listing *l = r->out;
    uint32_t *order = mp_calloc(r->pages ? r->pages : 1, sizeof *order);
    if (!order) {
        r->oom = 1;
        return;
    }
    uint32_t n = nvs_read_order(l->pages, r->pages, order);
    /* power lost while a FREEING page was being copied: the newest page, if ACTIVE, holds a
     * partial copy that ESP-IDF erases before copying again (PageManager::load) */
    int freeing = 0;
    for (uint32_t k = 0; k < n; k++)
        freeing |= l->pages[order[k]].header.state == NVS_PAGE_FREEING;
    if (freeing && n > 0 && l->pages[order[n - 1]].header.state == NVS_PAGE_ACTIVE) {
        l->pages[order[n - 1]].kind = NVS_KIND_DISCARDED;
        skip(r, order[n - 1], -1, NULL,
             "newest page is ACTIVE while a FREEING page exists: a partial copy, ignored");
        n--;
    }
    for (uint32_t k = 0; k < n && !r->oom; k++)
        collect_page(r, order[k], k);
    free(order);
    if (r->oom)
        return;

    struct candidate **sorted = mp_calloc(r->nc ? r->nc : 1, sizeof *sorted);
    if (!sorted) {
        r->oom = 1;
        return;
    }
    for (size_t i = 0; i < r->nc; i++)
        sorted[i] = &r->c[i];
    qsort(sorted, r->nc, sizeof *sorted, cmp_slot);
    for (size_t i = 0; i + 1 < r->nc; i++)
        if (same_slot(sorted[i], sorted[i + 1])) {
            sorted[i]->dropped = 1;
            skip(r, sorted[i]->page, (int)sorted[i]->entry, &sorted[i]->e,
                 "older duplicate: the same namespace/key is written again later");
        }

    /* the namespace table */
    l->namespaces = mp_calloc(NVS_NAMESPACE_MAX, sizeof *l->namespaces);
    if (!l->namespaces) {
        r->oom = 1;
        free(sorted);
        return;
    }
    for (size_t i = 0; i < r->nc; i++) {
        const struct candidate *c = &r->c[i];
        if (c->dropped || c->e.ns != 0)
            continue;
        uint8_t index = c->e.data[0];
        if (c->e.type != NVS_TYPE_U8 || index == 0 || index > NVS_NAMESPACE_MAX ||
            l->ns_count >= NVS_NAMESPACE_MAX) {
            skip(r, c->page, (int)c->entry, &c->e, "not a namespace definition");
            continue;
        }
        struct nvs_namespace *ns = &l->namespaces[l->ns_count++];
        memcpy(ns->name, c->e.key, NVS_KEY_MAX);
        ns->index = index;
    }
    for (size_t i = 1; i < l->ns_count; i++)
        for (size_t j = i; j > 0 && l->namespaces[j - 1].index > l->namespaces[j].index; j--) {
            struct nvs_namespace t = l->namespaces[j];
            l->namespaces[j] = l->namespaces[j - 1];
            l->namespaces[j - 1] = t;
        }

    /* values in reading order */
    for (size_t i = 0; i < r->nc && !r->oom; i++) {
        struct candidate *c = &r->c[i];
        if (c->dropped || c->e.ns == 0 || c->e.type == NVS_TYPE_BLOB_DATA)
            continue;
        const char *ns = ns_name(l, c->e.ns);
        if (!ns) {
            skip(r, c->page, (int)c->entry, &c->e,
                 "its namespace index has no namespace entry: unreachable by name");
            continue;
        }
        unsigned isize = nvs_int_size(c->e.type);
        if (isize) {
            struct nvs_item *it = add_item(r, c, ns, isize);
            if (it)
                memcpy(it->value, c->e.data, isize);
        } else if (c->e.type == NVS_TYPE_BLOB_INDEX) {
            read_blob(r, sorted, r->nc, c, ns);
        } else {
            uint32_t size;
            const uint8_t *data = var_data(c, &size);
            if (!data) {
                skip(r, c->page, (int)c->entry, &c->e, "data CRC32 mismatch");
                continue;
            }
            /* a string is stored with its NUL */
            uint32_t len = c->e.type == NVS_TYPE_STR && size && !data[size - 1] ? size - 1 : size;
            struct nvs_item *it = add_item(r, c, ns, len);
            if (it)
                memcpy(it->value, data, len);
        }
    }
    for (size_t i = 0; i < r->nc; i++) {
        const struct candidate *c = &r->c[i];
        if (c->e.type == NVS_TYPE_BLOB_DATA && !c->dropped && !c->used)
            skip(r, c->page, (int)c->entry, &c->e,
                 "blob_data chunk that no readable blob index refers to");
    }
    free(sorted);
    if (!r->oom && l->count > 1)
        qsort(l->items, l->count, sizeof *l->items, cmp_item);
}

int nvs_list(const uint8_t *image, uint32_t len, const char *where, struct nvs_listing *out,
             struct error *err)
{
    memset(out, 0, sizeof *out);
    if (len == 0 || len % NVS_PAGE_SIZE)
        return error_setk(err, ERROR_VALUE,
                          "%s: size 0x%" PRIx32 " is not a whole number of 4096-byte NVS pages",
                          where, len);
    struct reader r = {.image = image, .pages = len / NVS_PAGE_SIZE, .out = out};
    out->page_count = r.pages;
    out->pages = mp_calloc(r.pages, sizeof *out->pages);
    if (!out->pages)
        return error_setk(err, ERROR_OS, "out of memory");
    for (uint32_t p = 0; p < r.pages; p++)
        if (load_page(&r, p, where, err)) {
            nvs_listing_free(out);
            return -1;
        }
    if (!r.oom)
        build(&r);
    free(r.c);
    if (r.oom) {
        nvs_listing_free(out);
        return error_setk(err, ERROR_OS, "out of memory");
    }
    return 0;
}

int nvs_list_flash(struct flash *f, uint32_t addr, uint32_t len, const char *where,
                   struct nvs_listing *out, struct error *err)
{
    memset(out, 0, sizeof *out);
    uint8_t *buf = NULL;
    if (nvs_read_partition(f, addr, len, &buf, err))
        return -1;
    int rc = nvs_list(buf, len, where, out, err);
    free(buf);
    return rc;
}

int nvs_read_partition(struct flash *f, uint32_t addr, uint32_t len, uint8_t **out,
                       struct error *err)
{
    *out = NULL;
    uint8_t *buf = mp_malloc(len ? len : 1);
    if (!buf)
        return error_setk(err, ERROR_OS, "out of memory");
    memset(buf, 0xff, len);
    /* a firmware file may end inside the partition: the rest is erased flash */
    uint32_t have = addr >= f->size ? 0 : f->size - addr < len ? f->size - addr : len;
    if (have && flash_read(f, addr, buf, have, err)) {
        free(buf);
        return -1;
    }
    *out = buf;
    return 0;
}

void nvs_listing_free(struct nvs_listing *l)
{
    for (size_t i = 0; i < l->count; i++)
        free(l->items[i].value);
    free(l->items);
    free(l->skipped);
    free(l->namespaces);
    free(l->pages);
    memset(l, 0, sizeof *l);
}

const struct nvs_item *nvs_listing_find(const struct nvs_listing *l, const char *ns,
                                        const char *key)
{
    for (size_t i = 0; i < l->count; i++)
        if (!strcmp(l->items[i].ns, ns) && !strcmp(l->items[i].key, key))
            return &l->items[i];
    return NULL;
}

int nvs_listing_has_namespace(const struct nvs_listing *l, const char *ns)
{
    for (size_t i = 0; i < l->ns_count; i++)
        if (!strcmp(l->namespaces[i].name, ns))
            return 1;
    return 0;
}
