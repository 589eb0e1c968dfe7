/* libFuzzer harness for the NVS reader and writer (nvs.md §3, §4): list an arbitrary partition,
 * then set a key and erase another through a NOR flash model. Nothing may crash, leak or hang;
 * the writer may only program bits from 1 to 0 outside page erases; after a change every other
 * key keeps its value, the set key reads back, and nothing more is stale than before.
 *
 * Input: byte 0 selects the page count (2 + (b & 7)) and which change is tried (bits 3-5: none,
 * an integer, a string, a blob, erase a key, erase a namespace); byte 1 picks the key the change
 * touches (an existing one by index, or a new one); the rest is the image, padded with 0xFF. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nvs/nvs.h"

struct nor {
    struct flash flash;
    uint8_t *data;
    uint32_t len;
};

static int nor_read(struct flash *f, uint32_t addr, void *buf, uint32_t len, struct error *err)
{
    struct nor *n = (struct nor *)f;
    if (addr > n->len || len > n->len - addr)
        return error_set(err, "read outside");
    memcpy(buf, n->data + addr, len);
    return 0;
}

static int nor_write(struct flash *f, uint32_t addr, const void *buf, uint32_t len,
                     struct error *err)
{
    struct nor *n = (struct nor *)f;
    if (addr > n->len || len > n->len - addr)
        abort(); /* the writer stays inside its partition */
    const uint8_t *b = buf;
    for (uint32_t i = 0; i < len; i++) {
        if ((n->data[addr + i] & b[i]) != b[i])
            abort(); /* a 0 bit programmed back to 1: impossible on flash */
        n->data[addr + i] = b[i];
    }
    (void)err;
    return 0;
}

static int nor_erase(struct flash *f, uint32_t addr, uint32_t len, struct error *err)
{
    struct nor *n = (struct nor *)f;
    if (addr % NVS_PAGE_SIZE || len != NVS_PAGE_SIZE || addr >= n->len)
        abort();
    memset(n->data + addr, 0xff, len);
    (void)err;
    return 0;
}

static const struct flash_ops nor_ops = {
    .read = nor_read, .write = nor_write, .erase = nor_erase};

static int same(const struct nvs_item *a, const struct nvs_item *b)
{
    return a && b && a->type == b->type && a->len == b->len &&
           !memcmp(a->value, b->value, a->len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint32_t pages = 2 + (data[0] & 7u), len = pages * NVS_PAGE_SIZE;
    unsigned change = (data[0] >> 3) & 7u, pick = data[1];
    static uint8_t image[10 * NVS_PAGE_SIZE];
    memset(image, 0xff, len);
    memcpy(image, data + 2, size - 2 < len ? size - 2 : len);

    struct nvs_listing before;
    struct error err;
    if (nvs_list(image, len, "fuzz", &before, &err))
        return 0;
    for (size_t i = 0; i < before.count; i++) {
        const struct nvs_item *it = &before.items[i];
        unsigned isize = nvs_int_size(it->type);
        if ((isize && it->len != isize) || !it->ns[0] || it->page >= pages ||
            it->entry >= NVS_ENTRY_COUNT || nvs_listing_find(&before, it->ns, it->key) == NULL)
            abort();
    }
    if (change == 0 || change > 5) {
        nvs_listing_free(&before);
        return 0;
    }

    struct nor n = {{&nor_ops, 0, 0, len, len, "fuzz"}, image, len};
    char ns[16] = "fz", key[16] = "new";
    if (before.count && pick < 200) {
        const struct nvs_item *t = &before.items[pick % before.count];
        memcpy(ns, t->ns, sizeof ns);
        memcpy(key, t->key, sizeof key);
    }
    static uint8_t value[100 + 20 * 255];
    for (size_t i = 0; i < sizeof value; i++)
        value[i] = (uint8_t)(i * 7 + pick + 1);
    uint8_t type = change == 1 ? NVS_TYPE_I32 : change == 2 ? NVS_TYPE_STR : NVS_TYPE_BLOB_INDEX;
    uint32_t vlen = change == 1 ? 4 : change == 2 ? 40u + pick : 100u + 20u * pick;
    if (change == 2)
        for (uint32_t i = 0; i < vlen; i++)
            value[i] = (uint8_t)('a' + i % 26);

    struct nvs_store s;
    int rc = -1, changed = 0;
    if (nvs_store_open(&s, &n.flash, 0, len, "fuzz", NULL, &err) == 0) {
        if (change <= 3)
            rc = nvs_store_set(&s, ns, key, type, value, vlen, &changed, &err);
        else if (change == 4)
            rc = nvs_store_erase_key(&s, ns, key, &err);
        else
            rc = nvs_store_erase_namespace(&s, ns, &err) < 0 ? -1 : 0;
        nvs_store_close(&s);
    }
    struct nvs_listing after;
    if (nvs_list(image, len, "fuzz", &after, &err))
        abort(); /* a change never makes a partition unreadable */
    for (size_t i = 0; i < before.count; i++) {
        const struct nvs_item *old = &before.items[i];
        int target = !strcmp(old->ns, ns) && (change == 5 || !strcmp(old->key, key));
        const struct nvs_item *now = nvs_listing_find(&after, old->ns, old->key);
        if (rc == 0 && target)
            continue;
        if (!same(old, now))
            abort(); /* another key lost or changed (or a failed change changed it) */
    }
    if (rc == 0 && change <= 3) {
        const struct nvs_item *now = nvs_listing_find(&after, ns, key);
        if (!now || now->type != type || now->len != vlen || memcmp(now->value, value, vlen))
            abort();
    }
    for (size_t i = 0; i < after.count; i++)
        if (!nvs_listing_find(&before, after.items[i].ns, after.items[i].key) &&
            !(rc == 0 && change <= 3 && !strcmp(after.items[i].ns, ns) &&
              !strcmp(after.items[i].key, key)))
            abort(); /* a key appeared from nowhere */
    if (rc == 0 && change >= 4)
        for (size_t i = 0; i < after.count; i++)
            if (!strcmp(after.items[i].ns, ns) &&
                (change == 5 || !strcmp(after.items[i].key, key)))
                abort();
    if (rc == 0 && after.skipped_count > before.skipped_count)
        abort(); /* a completed change left something stale behind */
    nvs_listing_free(&after);
    nvs_listing_free(&before);
    return 0;
}
