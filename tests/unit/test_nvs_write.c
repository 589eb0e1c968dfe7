/* The NVS writer (nvs.md §4): sets and erases on every shared vector that ESP-IDF would write
 * to, read back by the module's reader and by a second, independent reader written here from the
 * vectors' conventions (nvs.md §3); flash only ever programmed from 1 to 0 outside page erases;
 * ESP-IDF's page handling (new pages, reorganising when one free page is left); and a power cut
 * after every flash write of each kind of change, after which every other key keeps its value,
 * the changed key holds its old or its new value, and the partition can still be written. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <zlib.h>

#include <unistd.h>

#include "nvs/nvs.h"
#include "test_lfs_dev.h" /* the JSON reader */
#include "test_shared.h"

/* ---------------------------------------------------------------- NOR flash with a power cut */

struct nor {
    struct flash flash;
    uint8_t *data;
    uint32_t len;
    long writes_left; /* writes and erases until the power cut; < 0: never */
    uint32_t writes, erases, overwrites;
};

static int nor_read(struct flash *f, uint32_t addr, void *buf, uint32_t len, struct error *err)
{
    struct nor *n = (struct nor *)f;
    if (addr > n->len || len > n->len - addr)
        return error_set(err, "read outside");
    memcpy(buf, n->data + addr, len);
    return 0;
}

static int nor_cut(struct nor *n, struct error *err)
{
    if (n->writes_left == 0)
        return error_set(err, "power cut");
    if (n->writes_left > 0)
        n->writes_left--;
    return 0;
}

static int nor_write(struct flash *f, uint32_t addr, const void *buf, uint32_t len,
                     struct error *err)
{
    struct nor *n = (struct nor *)f;
    if (addr > n->len || len > n->len - addr)
        return error_set(err, "write outside");
    if (nor_cut(n, err))
        return -1;
    const uint8_t *b = buf;
    for (uint32_t i = 0; i < len; i++) {
        if ((n->data[addr + i] & b[i]) != b[i])
            n->overwrites++;
        n->data[addr + i] &= b[i]; /* NOR: programming only clears bits */
    }
    n->writes++;
    return 0;
}

static int nor_erase(struct flash *f, uint32_t addr, uint32_t len, struct error *err)
{
    struct nor *n = (struct nor *)f;
    if (addr % 4096 || len % 4096 || addr > n->len || len > n->len - addr)
        return error_set(err, "bad erase");
    if (nor_cut(n, err))
        return -1;
    memset(n->data + addr, 0xff, len);
    n->erases++;
    return 0;
}

static const struct flash_ops nor_ops = {
    .read = nor_read, .write = nor_write, .erase = nor_erase};

static void nor_open(struct nor *n, const uint8_t *image, uint32_t len)
{
    memset(n, 0, sizeof *n);
    n->data = malloc(len);
    memcpy(n->data, image, len);
    n->len = len;
    n->writes_left = -1;
    n->flash = (struct flash){&nor_ops, 0, 0, len, len, "nor"};
}

/* -------------------------------------------- an independent reader (the vectors' conventions) */

struct raw_value {
    uint8_t ns;
    char key[17];
    uint8_t type;
    uint8_t bytes[20000];
    uint32_t len;
};

static uint32_t raw_crc(const uint8_t *p, size_t n)
{
    return (uint32_t)crc32(0xffffffffu, p, (uInt)n);
}

static uint32_t le32(const uint8_t *p)
{
    return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

struct raw_item {
    uint32_t page;
    unsigned entry;
    const uint8_t *e;
};

/* Look up ns.key the simple way: every valid written item of every page in sequence order,
 * the last one of each (ns, key, chunk) counting; integers, strings and blobs (both formats). */
static int raw_get(const uint8_t *img, uint32_t len, const char *ns, const char *key,
                   struct raw_value *out)
{
    uint32_t pages = len / 4096, order[64], n = 0;
    assert_true(pages <= 64);
    for (uint32_t p = 0; p < pages; p++) {
        const uint8_t *h = img + p * 4096;
        uint32_t st = le32(h);
        if ((st != 0xfffffffe && st != 0xfffffffc && st != 0xfffffff8) ||
            le32(h + 28) != raw_crc(h + 4, 24))
            continue;
        uint32_t at = n++;
        while (at > 0 && le32(img + order[at - 1] * 4096 + 4) > le32(h + 4)) {
            order[at] = order[at - 1];
            at--;
        }
        order[at] = p;
    }
    /* a FREEING page and a newest ACTIVE page: that one is a partial copy */
    int freeing = 0;
    for (uint32_t k = 0; k < n; k++)
        freeing |= le32(img + order[k] * 4096) == 0xfffffff8;
    if (freeing && n && le32(img + order[n - 1] * 4096) == 0xfffffffe)
        n--;
    static struct raw_item items[64 * 126];
    size_t ni = 0;
    for (uint32_t k = 0; k < n; k++) {
        const uint8_t *pg = img + order[k] * 4096;
        for (unsigned i = 0; i < 126;) {
            unsigned st = (pg[32 + i / 4] >> (2 * (i % 4))) & 3;
            const uint8_t *e = pg + 64 + 32 * i;
            uint8_t buf[28];
            memcpy(buf, e, 4);
            memcpy(buf + 4, e + 8, 24);
            if (st != 2 || le32(e + 4) != raw_crc(buf, 28) || e[2] == 0 || i + e[2] > 126) {
                i++;
                continue;
            }
            int whole = 1;
            for (unsigned j = i + 1; j < i + e[2]; j++)
                whole &= ((pg[32 + j / 4] >> (2 * (j % 4))) & 3) == 2;
            if (whole)
                items[ni++] = (struct raw_item){order[k], i, e};
            i += e[2];
        }
    }
    /* newest first: the first match of (ns, key, chunk) is the valid one */
    int nsi = -1;
    for (size_t i = ni; i-- > 0;)
        if (items[i].e[0] == 0 && items[i].e[1] == 0x01 &&
            !strncmp((char *)items[i].e + 8, ns, 16)) {
            nsi = items[i].e[24];
            break;
        }
    if (nsi < 0)
        return -1;
    const uint8_t *found = NULL;
    for (size_t i = ni; i-- > 0 && !found;)
        if (items[i].e[0] == nsi && items[i].e[3] == 0xff &&
            !strncmp((char *)items[i].e + 8, key, 16))
            found = items[i].e;
    if (!found)
        return -1;
    memset(out, 0, sizeof *out);
    out->ns = (uint8_t)nsi;
    snprintf(out->key, sizeof out->key, "%s", key);
    out->type = found[1];
    uint8_t t = found[1];
    if (t == 0x21 || t == 0x41) {
        uint32_t size = found[24] | (uint32_t)found[25] << 8;
        if (raw_crc(found + 32, size) != le32(found + 28) || size > sizeof out->bytes)
            return -1;
        memcpy(out->bytes, found + 32, size);
        out->len = t == 0x21 ? size - 1 : size;
        return 0;
    }
    if (t == 0x48) {
        uint32_t size = le32(found + 24), at = 0;
        for (unsigned c = 0; c < found[28]; c++) {
            const uint8_t *chunk = NULL;
            for (size_t i = ni; i-- > 0 && !chunk;)
                if (items[i].e[0] == nsi && items[i].e[1] == 0x42 &&
                    items[i].e[3] == found[29] + c && !strncmp((char *)items[i].e + 8, key, 16))
                    chunk = items[i].e;
            if (!chunk)
                return -1;
            uint32_t part = chunk[24] | (uint32_t)chunk[25] << 8;
            if (raw_crc(chunk + 32, part) != le32(chunk + 28) || at + part > sizeof out->bytes)
                return -1;
            memcpy(out->bytes + at, chunk + 32, part);
            at += part;
        }
        if (at != size)
            return -1;
        out->len = size;
        return 0;
    }
    out->len = t & 0x0f;
    memcpy(out->bytes, found + 24, out->len);
    return 0;
}

/* Every key the module lists, the independent reader reads the same; returns the listing. */
static void agree(const uint8_t *img, uint32_t len, struct nvs_listing *l)
{
    struct error err;
    if (nvs_list(img, len, "test", l, &err))
        fail_msg("%s", err.msg);
    for (size_t i = 0; i < l->count; i++) {
        const struct nvs_item *it = &l->items[i];
        struct raw_value v;
        if (raw_get(img, len, it->ns, it->key, &v))
            fail_msg("%s.%s: listed, but the second reader finds no value", it->ns, it->key);
        assert_int_equal(v.type, it->type);
        assert_int_equal(v.len, it->len);
        assert_memory_equal(v.bytes, it->value, it->len);
    }
}

/* ------------------------------------- ESP-IDF's own runtime, when NVS_HOST_READER names it */

/* The program the vectors' idf_host_reader/build.sh makes: ESP-IDF's NVS code (nvs::Storage)
 * compiled for the host, listing every key through ESP-IDF's iterator and nvs_get_*. */
static const char *host_reader;
static unsigned runtime_checks;

/* Whether ESP-IDF's entry e (err 0) holds the value of item it. */
static int runtime_same(const struct jval *e, const struct nvs_item *it)
{
    unsigned type = (unsigned)j_get(e, "type")->num;
    const struct jval *value = j_get(e, "value"), *hex = j_get(e, "hex");
    if (type < 0x20) {
        if (type != it->type || !value)
            return 0;
        uint64_t raw = 0;
        for (unsigned b = 0; b < it->len; b++)
            raw |= (uint64_t)it->value[b] << (8 * b);
        unsigned bits = 8 * it->len;
        uint64_t want = value->str[0] == '-' ? (uint64_t)strtoll(value->str, NULL, 10)
                                             : strtoull(value->str, NULL, 10);
        if (bits < 64)
            want &= (1ull << bits) - 1;
        return raw == want;
    }
    if (type == NVS_TYPE_STR)
        return it->type == NVS_TYPE_STR && value && strlen(value->str) == it->len &&
               !memcmp(value->str, it->value, it->len);
    if (!hex || (it->type != NVS_TYPE_BLOB_INDEX && it->type != NVS_TYPE_BLOB_V1) ||
        strlen(hex->str) != 2 * (size_t)it->len)
        return 0;
    for (uint32_t b = 0; b < it->len; b++) {
        char h[3];
        snprintf(h, sizeof h, "%02x", it->value[b]);
        if (memcmp(hex->str + 2 * b, h, 2))
            return 0;
    }
    return 1;
}

/* ESP-IDF's runtime reads the keys of the listing, each with the listing's value, and no other
 * key. Its iterator lists no version-1 blobs (it reads them only on request). One state reads
 * differently by design: power lost after a key was rewritten with another type but before the
 * old item was erased leaves both items, which ESP-IDF lists twice (each nvs_get_* finds the one
 * of its type) and this reader once, as the newer value; there, one of them must match. */
static void runtime_agrees(const uint8_t *img, uint32_t len, const struct nvs_listing *l,
                           const char *what)
{
    if (!host_reader)
        return;
    char path[] = "/tmp/nvs-runtime-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, img, len), (ssize_t)len);
    close(fd);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "'%s' '%s'", host_reader, path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    static char text[1 << 20];
    size_t n = fread(text, 1, sizeof text - 1, p);
    pclose(p);
    unlink(path);
    struct jval root;
    if (j_parse(text, n, &root))
        fail_msg("%s: ESP-IDF's runtime printed no JSON", what);
    if (j_get(&root, "init")->num != 0)
        fail_msg("%s: ESP-IDF's runtime refuses the partition (%s)", what,
                 j_get(&root, "init")->str);
    const struct jval *list = j_get(&root, "list");
    for (size_t i = 0; i < list->n; i++) {
        const struct jval *e = &list->items[i], *err = j_get(e, "err");
        const char *ns = j_get(e, "namespace")->str, *key = j_get(e, "key")->str;
        if (err && err->type == J_NUM && err->num == 0 && *ns && !nvs_listing_find(l, ns, key))
            fail_msg("%s: ESP-IDF's runtime reads %s.%s, the listing has no such key", what, ns,
                     key);
    }
    for (size_t k = 0; k < l->count; k++) {
        const struct nvs_item *it = &l->items[k];
        if (it->type == NVS_TYPE_BLOB_V1)
            continue;
        int found = 0;
        for (size_t i = 0; i < list->n && !found; i++) {
            const struct jval *e = &list->items[i], *err = j_get(e, "err");
            found = err && err->type == J_NUM && err->num == 0 &&
                    !strcmp(j_get(e, "namespace")->str, it->ns) &&
                    !strcmp(j_get(e, "key")->str, it->key) && runtime_same(e, it);
        }
        if (!found)
            fail_msg("%s: %s.%s: ESP-IDF's runtime does not read the listing's value", what,
                     it->ns, it->key);
    }
    j_free(&root);
    runtime_checks++;
}

/* ------------------------------------------------------------------------------- the changes */

static void fill(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)((i * 131u + seed * 7u + (i >> 7)) % 251u);
}

struct change {
    const char *name;
    int kind; /* 0 set, 1 erase key, 2 erase namespace */
    const char *ns, *key;
    uint8_t type;
    const uint8_t *value;
    uint32_t len;
};

static int do_change(struct flash *f, uint32_t len, const struct change *c, struct error *err)
{
    struct nvs_store s;
    if (nvs_store_open(&s, f, 0, len, "test", NULL, err))
        return -1;
    int changed = 0, rc;
    if (c->kind == 0)
        rc = nvs_store_set(&s, c->ns, c->key, c->type, c->value, c->len, &changed, err);
    else if (c->kind == 1)
        rc = nvs_store_erase_key(&s, c->ns, c->key, err);
    else
        rc = nvs_store_erase_namespace(&s, c->ns, err) < 0 ? -1 : 0;
    nvs_store_close(&s);
    return rc;
}

static int same_item(const struct nvs_item *a, const struct nvs_item *b)
{
    return a && b && a->type == b->type && a->len == b->len &&
           !memcmp(a->value, b->value, a->len);
}

static int is_target(const struct change *c, const struct nvs_item *it)
{
    return !strcmp(it->ns, c->ns) && (c->kind == 2 || !strcmp(it->key, c->key));
}

/* The result of a change (complete or cut off, `done` says which may be seen) against the
 * listing before: other keys unchanged, the target old or new. */
static void check_after(const struct nvs_listing *before, const struct nvs_listing *after,
                        const struct change *c, int may_be_old, int may_be_new, const char *what)
{
    for (size_t i = 0; i < before->count; i++) {
        const struct nvs_item *old = &before->items[i];
        const struct nvs_item *now = nvs_listing_find(after, old->ns, old->key);
        if (is_target(c, old)) {
            int ok_old = may_be_old && same_item(old, now);
            int ok_new = may_be_new &&
                         (c->kind ? now == NULL
                                  : now && now->type == c->type && now->len == c->len &&
                                        !memcmp(now->value, c->value, c->len));
            if (!ok_old && !ok_new)
                fail_msg("%s: %s.%s is neither its old nor its new value", what, old->ns,
                         old->key);
        } else if (!same_item(old, now)) {
            fail_msg("%s: %s.%s lost or changed", what, old->ns, old->key);
        }
    }
    for (size_t i = 0; i < after->count; i++) {
        const struct nvs_item *now = &after->items[i];
        if (nvs_listing_find(before, now->ns, now->key))
            continue;
        /* only the new key may appear */
        if (!(c->kind == 0 && may_be_new && !strcmp(now->ns, c->ns) && !strcmp(now->key, c->key)))
            fail_msg("%s: %s.%s appeared", what, now->ns, now->key);
    }
    if (c->kind == 0 && !may_be_old) {
        const struct nvs_item *now = nvs_listing_find(after, c->ns, c->key);
        assert_non_null(now);
    }
}

static unsigned cut_points; /* power cuts checked, for the summary line */

/* ESP-IDF's start-up on its ACTIVE page erases an earlier entry that its lookup takes for a
 * copy of the last item, and for a blob chunk that lookup matches any chunk of the key
 * (Page::mLoadEntryTable). After a cut, the last item of the active page must not be a chunk
 * with another chunk of its key before it on that page: ESP-IDF would erase a live chunk. */
static void no_chunk_hazard(const uint8_t *img, uint32_t len, const char *what)
{
    for (uint32_t p = 0; p < len / 4096; p++) {
        const uint8_t *pg = img + p * 4096;
        if (le32(pg) != NVS_PAGE_ACTIVE)
            continue;
        int last = -1;
        for (unsigned i = 0; i < 126;) {
            const uint8_t *e = pg + 64 + 32 * i;
            unsigned st = (pg[32 + i / 4] >> (2 * (i % 4))) & 3;
            if (st == 3)
                break;
            if (st == 2 && e[2] >= 1 && i + e[2] <= 126) {
                last = (int)i;
                i += e[1] == 0x21 || e[1] == 0x41 || e[1] == 0x42 ? e[2] : 1;
            } else {
                i++;
            }
        }
        if (last < 0 || pg[64 + 32 * last + 1] != NVS_TYPE_BLOB_DATA)
            continue;
        const uint8_t *le = pg + 64 + 32 * last;
        for (int i = 0; i < last; i++) {
            const uint8_t *e = pg + 64 + 32 * i;
            unsigned st = (pg[32 + i / 4] >> (2 * (i % 4))) & 3;
            if (st == 2 && e[1] == NVS_TYPE_BLOB_DATA && e[0] == le[0] &&
                !memcmp(e + 8, le + 8, 16) && e[3] != le[3])
                fail_msg("%s: page %u: the last chunk (%u) has chunk %u of its key before it, "
                         "which ESP-IDF would erase",
                         what, p, le[3], e[3]);
        }
    }
}

/* A change made whole, then cut after each of its flash writes; after every cut the partition
 * reads as before or after, and takes a further change. */
static void sweep(const uint8_t *image, uint32_t len, const struct change *c, const char *vec)
{
    char what[256];
    struct nvs_listing before, after;
    agree(image, len, &before);
    struct nor n;
    nor_open(&n, image, len);
    struct error err;
    if (do_change(&n.flash, len, c, &err)) {
        /* a change that does not fit is refused before anything is written */
        if (!strstr(err.msg, "not enough space"))
            fail_msg("%s: %s: %s", vec, c->name, err.msg);
        assert_int_equal(n.writes + n.erases, 0);
        assert_memory_equal(n.data, image, len);
        print_message("%s: %s: refused, nothing written: %s\n", vec, c->name, err.msg);
        free(n.data);
        nvs_listing_free(&before);
        return;
    }
    assert_int_equal(n.overwrites, 0);
    uint32_t total = n.writes + n.erases;
    agree(n.data, len, &after);
    snprintf(what, sizeof what, "%s: %s", vec, c->name);
    check_after(&before, &after, c, 0, 1, what);
    runtime_agrees(n.data, len, &after, what);
    /* a completed change leaves nothing stale behind (it may clean some up) */
    if (after.skipped_count > before.skipped_count)
        fail_msg("%s: %zu entries not values after, %zu before", what, after.skipped_count,
                 before.skipped_count);
    /* and no older duplicate, which ESP-IDF's lookups (oldest page first) could return */
    for (size_t i = 0; i < after.skipped_count; i++)
        if (!strncmp(after.skipped[i].reason, "older duplicate", 15))
            fail_msg("%s: an older duplicate of %s is left", what, after.skipped[i].key);
    nvs_listing_free(&after);
    free(n.data);

    uint8_t one = 1;
    const struct change further = {"further", 0, "zz_after", "k", NVS_TYPE_U8, &one, 1};
    for (uint32_t cut = 0; cut < total; cut++) {
        cut_points++;
        nor_open(&n, image, len);
        n.writes_left = cut;
        assert_int_equal(do_change(&n.flash, len, c, &err), -1);
        assert_int_equal(n.overwrites, 0);
        snprintf(what, sizeof what, "%s: %s cut after %u of %u writes", vec, c->name, cut, total);
        agree(n.data, len, &after);
        check_after(&before, &after, c, 1, 1, what);
        no_chunk_hazard(n.data, len, what);
        runtime_agrees(n.data, len, &after, what);
        /* the partition is still usable: another change, and nothing else moves */
        n.writes_left = -1;
        if (do_change(&n.flash, len, &further, &err)) {
            fail_msg("%s: then: %s", what, err.msg);
        } else {
            struct nvs_listing again;
            agree(n.data, len, &again);
            assert_int_equal(n.overwrites, 0);
            if (!nvs_listing_find(&again, "zz_after", "k"))
                fail_msg("%s: then the further key is missing", what);
            for (size_t i = 0; i < after.count; i++)
                if (!same_item(&after.items[i],
                               nvs_listing_find(&again, after.items[i].ns, after.items[i].key)))
                    fail_msg("%s: then %s.%s changed", what, after.items[i].ns,
                             after.items[i].key);
            nvs_listing_free(&again);
        }
        nvs_listing_free(&after);
        free(n.data);
    }
    nvs_listing_free(&before);
}

/* ------------------------------------------------------------------------------------ tests */

static uint8_t *blank(uint32_t len)
{
    uint8_t *p = malloc(len);
    memset(p, 0xff, len);
    return p;
}

/* A blank partition: keys of every type, then read back by both readers with their bytes. */
static void test_set_every_type(void **state)
{
    (void)state;
    uint32_t len = 0x6000;
    struct nor n;
    uint8_t *img = blank(len);
    nor_open(&n, img, len);
    static uint8_t big[5000];
    fill(big, sizeof big, 1);
    uint8_t v8 = 0xfe, v16[2] = {0x34, 0x12}, v32[4] = {1, 2, 3, 4},
            v64[8] = {9, 8, 7, 6, 5, 4, 3, 2};
    const struct change sets[] = {
        {"u8", 0, "storage", "u8", NVS_TYPE_U8, &v8, 1},
        {"i16", 0, "storage", "i16", NVS_TYPE_I16, v16, 2},
        {"u32", 0, "storage", "u32", NVS_TYPE_U32, v32, 4},
        {"i64", 0, "storage", "i64", NVS_TYPE_I64, v64, 8},
        {"str", 0, "storage", "str", NVS_TYPE_STR, (const uint8_t *)"hello, NVS", 10},
        {"empty", 0, "storage", "empty", NVS_TYPE_STR, (const uint8_t *)"", 0},
        {"blob", 0, "wifi", "blob_5000", NVS_TYPE_BLOB_INDEX, big, sizeof big},
        {"small", 0, "wifi", "fifteen_chars15", NVS_TYPE_BLOB_INDEX, big, 33},
    };
    struct error err;
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
        if (do_change(&n.flash, len, &sets[i], &err))
            fail_msg("%s: %s", sets[i].name, err.msg);
    assert_int_equal(n.overwrites, 0);
    struct nvs_listing l;
    agree(n.data, len, &l);
    assert_int_equal(l.count, sizeof sets / sizeof sets[0]);
    assert_int_equal(l.skipped_count, 0);
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        const struct nvs_item *it = nvs_listing_find(&l, sets[i].ns, sets[i].key);
        assert_non_null(it);
        assert_int_equal(it->type, sets[i].type);
        assert_int_equal(it->len, sets[i].len);
        assert_memory_equal(it->value, sets[i].value, sets[i].len);
    }
    /* the raw bytes: page 0 ACTIVE, sequence 0, version 2; entry 0 is namespace 1 "storage" */
    assert_true(le32(n.data) == NVS_PAGE_ACTIVE || le32(n.data) == NVS_PAGE_FULL);
    assert_int_equal(le32(n.data + 4), 0);
    assert_int_equal(n.data[8], 0xfe);
    assert_int_equal(n.data[64], 0);
    assert_int_equal(n.data[65], NVS_TYPE_U8);
    assert_string_equal((char *)n.data + 64 + 8, "storage");
    assert_int_equal(n.data[64 + 24], 1);
    /* setting the same value again writes nothing */
    uint32_t writes = n.writes;
    assert_int_equal(do_change(&n.flash, len, &sets[6], &err), 0);
    assert_int_equal(n.writes, writes);
    nvs_listing_free(&l);
    free(n.data);
    free(img);
}

/* Errors before anything is written: no such key, too big, bad names. */
static void test_refusals(void **state)
{
    (void)state;
    uint32_t len = 0x3000;
    uint8_t *img = blank(len);
    struct nor n;
    nor_open(&n, img, len);
    struct error err;
    const struct change missing = {"missing", 1, "none", "k", 0, NULL, 0};
    assert_int_equal(do_change(&n.flash, len, &missing, &err), -1);
    static uint8_t huge[3 * 4000];
    const struct change too_big = {"too big",           0,    "ns",       "k",
                                   NVS_TYPE_BLOB_INDEX, huge, sizeof huge};
    assert_int_equal(do_change(&n.flash, len, &too_big, &err), -1);
    const struct change long_key = {"long", 0, "ns", "sixteen_chars_16", NVS_TYPE_U8, huge, 1};
    assert_int_equal(do_change(&n.flash, len, &long_key, &err), -1);
    assert_int_equal(n.writes + n.erases, 0);
    free(n.data);
    free(img);
}

/* Many updates of one key on a small partition: pages fill, and with one free page left the
 * page with most erased entries is moved; no other key is ever lost, bits only cleared. */
static void test_reorganise(void **state)
{
    (void)state;
    uint32_t len = 0x3000;
    uint8_t *img = blank(len);
    struct nor n;
    nor_open(&n, img, len);
    struct error err;
    uint8_t keep = 42;
    const struct change first = {"keep", 0, "ns", "keep", NVS_TYPE_U8, &keep, 1};
    assert_int_equal(do_change(&n.flash, len, &first, &err), 0);
    static uint8_t text[200];
    for (unsigned i = 0; i < 400; i++) {
        fill(text, sizeof text, i);
        for (size_t k = 0; k < sizeof text; k++)
            text[k] = (uint8_t)('a' + text[k] % 26);
        const struct change c = {"update", 0, "ns", "s", NVS_TYPE_STR, text, 100 + i % 100};
        if (do_change(&n.flash, len, &c, &err))
            fail_msg("update %u: %s", i, err.msg);
        struct nvs_listing l;
        agree(n.data, len, &l);
        assert_int_equal(l.count, 2);
        const struct nvs_item *s = nvs_listing_find(&l, "ns", "s");
        assert_non_null(s);
        assert_memory_equal(s->value, text, c.len);
        assert_non_null(nvs_listing_find(&l, "ns", "keep"));
        assert_int_equal(l.skipped_count, 0);
        nvs_listing_free(&l);
    }
    assert_true(n.erases > 0); /* pages were moved and erased */
    assert_int_equal(n.overwrites, 0);
    free(n.data);
    free(img);
}

/* A state just before a change that moves a page: the sweep below cuts inside the move. */
static void test_powercut_reorganise(void **state)
{
    (void)state;
    uint32_t len = 0x3000;
    uint8_t *img = blank(len);
    struct nor n;
    nor_open(&n, img, len);
    struct error err;
    uint8_t keep = 42;
    const struct change first = {"keep", 0, "ns", "keep", NVS_TYPE_U8, &keep, 1};
    assert_int_equal(do_change(&n.flash, len, &first, &err), 0);
    uint8_t v[4];
    for (unsigned i = 0;; i++) {
        assert_true(i < 1000);
        v[0] = (uint8_t)i, v[1] = (uint8_t)(i >> 8), v[2] = 1, v[3] = 2;
        const struct change c = {"counter", 0, "ns", "counter", NVS_TYPE_U32, v, 4};
        uint8_t *snapshot = malloc(len);
        memcpy(snapshot, n.data, len);
        uint32_t erases = n.erases;
        assert_int_equal(do_change(&n.flash, len, &c, &err), 0);
        if (n.erases > erases) {
            sweep(snapshot, len, &c, "reorganise");
            free(snapshot);
            break;
        }
        free(snapshot);
    }
    free(n.data);
    free(img);
}

/* Random sets and erases against a model of what the keys hold, on partitions of 3 to 6 pages:
 * after every change the listing is the model exactly, both readers agree, bits are only
 * cleared, and a change that does not fit leaves the flash untouched. */
struct model_key {
    int present;
    uint8_t type;
    uint8_t value[3000];
    uint32_t len;
};

static uint32_t rnd(uint32_t *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

static void test_random_model(void **state)
{
    (void)state;
    static const char *const names[][2] = {{"a", "k1"}, {"a", "k2"},  {"a", "long_key_name15"},
                                           {"b", "k1"}, {"b", "cfg"}, {"ccc", "x"}};
    enum { NKEYS = sizeof names / sizeof names[0] };
    for (uint32_t pages = 3; pages <= 6; pages++) {
        uint32_t len = pages * NVS_PAGE_SIZE, seed = pages * 7919u;
        uint8_t *img = blank(len);
        struct nor n;
        nor_open(&n, img, len);
        static struct model_key model[NKEYS];
        memset(model, 0, sizeof model);
        uint8_t *snapshot = malloc(len);
        unsigned refused = 0;
        for (int step = 0; step < 600; step++) {
            unsigned k = rnd(&seed) % NKEYS, what = rnd(&seed) % 10;
            struct change c = {"random", 0, names[k][0], names[k][1], 0, NULL, 0};
            static uint8_t value[3000];
            if (what < 5) {
                static const uint8_t ints[] = {NVS_TYPE_U8, NVS_TYPE_I16, NVS_TYPE_U32,
                                               NVS_TYPE_I64};
                c.type = ints[rnd(&seed) % 4];
                c.len = nvs_int_size(c.type);
                for (uint32_t i = 0; i < c.len; i++)
                    value[i] = (uint8_t)rnd(&seed);
            } else if (what < 7) {
                c.type = NVS_TYPE_STR;
                c.len = rnd(&seed) % (what == 5 ? 40 : 600);
                for (uint32_t i = 0; i < c.len; i++)
                    value[i] = (uint8_t)('!' + rnd(&seed) % 90);
            } else if (what < 9) {
                c.type = NVS_TYPE_BLOB_INDEX;
                c.len = rnd(&seed) % (what == 7 ? 100 : 3000);
                for (uint32_t i = 0; i < c.len; i++)
                    value[i] = (uint8_t)rnd(&seed);
            } else {
                c.kind = rnd(&seed) % 4 ? 1 : 2;
                if (c.kind == 2)
                    c.key = NULL;
            }
            c.value = value;
            memcpy(snapshot, n.data, len);
            struct error err;
            int expect_missing = c.kind == 1 && !model[k].present;
            int rc = do_change(&n.flash, len, &c, &err);
            if (rc) {
                if (!expect_missing && !strstr(err.msg, "not enough space") &&
                    !strstr(err.msg, "no namespace") && !strstr(err.msg, "no free page"))
                    fail_msg("%u pages, step %d: %s", pages, step, err.msg);
                assert_memory_equal(n.data, snapshot, len);
                refused++;
            } else if (c.kind == 0) {
                model[k].present = 1;
                model[k].type = c.type;
                model[k].len = c.len;
                memcpy(model[k].value, value, c.len);
            } else {
                assert_false(expect_missing && c.kind == 1);
                for (unsigned j = 0; j < NKEYS; j++)
                    if (!strcmp(names[j][0], c.ns) && (c.kind == 2 || j == k))
                        model[j].present = 0;
            }
            assert_int_equal(n.overwrites, 0);
            struct nvs_listing l;
            agree(n.data, len, &l);
            size_t present = 0;
            for (unsigned j = 0; j < NKEYS; j++) {
                const struct nvs_item *it = nvs_listing_find(&l, names[j][0], names[j][1]);
                if (!model[j].present) {
                    if (it)
                        fail_msg("%u pages, step %d: %s.%s should be gone", pages, step,
                                 names[j][0], names[j][1]);
                    continue;
                }
                present++;
                if (!it || it->type != model[j].type || it->len != model[j].len ||
                    memcmp(it->value, model[j].value, it->len))
                    fail_msg("%u pages, step %d: %s.%s differs from the model", pages, step,
                             names[j][0], names[j][1]);
            }
            assert_int_equal(l.count, present);
            char where[64];
            snprintf(where, sizeof where, "%u pages, step %d", pages, step);
            runtime_agrees(n.data, len, &l, where);
            /* nothing stale, damaged or orphaned is left behind by a change that completed */
            for (size_t j = 0; j < l.skipped_count; j++)
                fail_msg("%u pages, step %d: left behind: page %u entry %d %s: %s", pages, step,
                         l.skipped[j].page, l.skipped[j].entry, l.skipped[j].key,
                         l.skipped[j].reason);
            nvs_listing_free(&l);
        }
        /* some changes did not fit on the small partitions, and pages were moved */
        assert_true(n.erases > 0);
        print_message("%u pages: %u of 600 changes refused, %u page erases\n", pages, refused,
                      n.erases);
        free(snapshot);
        free(n.data);
        free(img);
    }
}

static void test_vectors_and_powercuts(void **state)
{
    (void)state;
    const char *shared = getenv("MP_SHARED_DIR");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/nvs-vectors", shared && *shared ? shared : "../shared");
    DIR *d = opendir(dir);
    if (!d)
        TEST_SKIP("NVS vectors not found (set MP_SHARED_DIR)");
    static uint8_t blob[6000], blob2[300];
    fill(blob, sizeof blob, 5);
    fill(blob2, sizeof blob2, 6);
    uint8_t v32[4] = {0x78, 0x56, 0x34, 0x12};
    const char *text = "a new string, longer than one entry of thirty-two bytes";
    struct dirent *de;
    int done = 0;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l < 5 || strcmp(de->d_name + l - 4, ".bin"))
            continue;
        char path[1400];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        size_t len;
        uint8_t *img = test_read_file(path, &len);
        assert_non_null(img);
        struct nor n;
        nor_open(&n, img, (uint32_t)len);
        struct nvs_store s;
        struct error err;
        int writable = nvs_store_open(&s, &n.flash, 0, (uint32_t)len, "v", NULL, &err) == 0;
        if (writable)
            nvs_store_close(&s);
        free(n.data);
        struct nvs_listing base;
        if (nvs_list(img, (uint32_t)len, "v", &base, &err)) {
            assert_false(writable); /* the refused format */
            free(img);
            continue;
        }
        if (!writable) {
            /* refused for a reason the writer names: read-only size, no free page */
            print_message("%s: not writable: %s\n", de->d_name, err.msg);
            nvs_listing_free(&base);
            free(img);
            continue;
        }
        /* a key that exists (the first integer and the first blob), or new ones */
        const char *ns = base.count ? base.items[0].ns : "fresh";
        const char *ikey = "new_u32", *bkey = "new_blob";
        for (size_t i = 0; i < base.count; i++) {
            if (nvs_int_size(base.items[i].type) && !strcmp(ikey, "new_u32")) {
                ns = base.items[i].ns;
                ikey = base.items[i].key;
            }
        }
        for (size_t i = 0; i < base.count; i++)
            if (base.items[i].type == NVS_TYPE_BLOB_INDEX && !strcmp(base.items[i].ns, ns))
                bkey = base.items[i].key;
        uint32_t blob_len = len >= 0x6000 ? sizeof blob : len >= 0x3000 ? 3000 : 100;
        const struct change changes[] = {
            {"set a new key in a new namespace", 0, "zz_new", "k", NVS_TYPE_STR,
             (const uint8_t *)text, (uint32_t)strlen(text)},
            {"update an integer", 0, ns, ikey, NVS_TYPE_U32, v32, 4},
            {"set a multi-page blob", 0, ns, bkey, NVS_TYPE_BLOB_INDEX, blob, blob_len},
            {"replace with another type", 0, ns, ikey, NVS_TYPE_BLOB_INDEX, blob2, sizeof blob2},
            {"erase a key", 1, ns, ikey, 0, NULL, 0},
            {"erase a namespace", 2, ns, NULL, 0, NULL, 0},
        };
        for (size_t i = 0; i < sizeof changes / sizeof changes[0]; i++) {
            if (changes[i].kind == 1 && !nvs_listing_find(&base, ns, ikey))
                continue;
            if (changes[i].kind == 2 && !nvs_listing_has_namespace(&base, ns))
                continue;
            sweep(img, (uint32_t)len, &changes[i], de->d_name);
        }
        nvs_listing_free(&base);
        free(img);
        done++;
    }
    closedir(d);
    assert_true(done >= 12);
    print_message("%d vectors changed; %u power cuts checked\n", done, cut_points);
    if (host_reader)
        print_message("ESP-IDF's runtime agreed on %u partitions\n", runtime_checks);
    else
        print_message("SKIP: ESP-IDF's runtime not checked (set NVS_HOST_READER to the program "
                      "nvs-vectors/idf_host_reader/build.sh makes)\n");
}

int main(int argc, char **argv)
{
    host_reader = getenv("NVS_HOST_READER");
    if (host_reader && (!*host_reader || access(host_reader, X_OK) != 0))
        host_reader = NULL;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_every_type), cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_reorganise),     cmocka_unit_test(test_powercut_reorganise),
        cmocka_unit_test(test_random_model),
    };
    const struct CMUnitTest shared[] = {
        cmocka_unit_test(test_vectors_and_powercuts),
    };
    return test_main(argc, argv, tests, sizeof tests / sizeof tests[0], shared,
                     sizeof shared / sizeof shared[0]);
}
