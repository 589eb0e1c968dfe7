/* The NVS reader against the shared vector images (shared/nvs-vectors): every image lists
 * exactly the namespaces and keys its manifest names, with their types and values, from the
 * places the manifest says; nothing the manifest says a correct reader skips is returned; the
 * one image ESP-IDF refuses is refused. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <openssl/sha.h>

#include "nvs/nvs.h"
#include "test_lfs_dev.h" /* the manifest JSON reader */
#include "test_shared.h"

#define MAX_VECTORS 32

struct vector {
    char name[256];
    uint8_t *image;
    size_t image_len;
    struct jval manifest;
};

static int load_vectors(struct vector *v, int max)
{
    char dir[1024];
    const char *shared = getenv("MP_SHARED_DIR");
    snprintf(dir, sizeof dir, "%s/nvs-vectors", shared && *shared ? shared : "../shared");
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    char *names[MAX_VECTORS];
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < max) {
        size_t l = strlen(de->d_name);
        if (l > 5 && !strcmp(de->d_name + l - 5, ".json"))
            names[n++] = strdup(de->d_name);
    }
    closedir(d);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (strcmp(names[i], names[j]) > 0) {
                char *t = names[i];
                names[i] = names[j];
                names[j] = t;
            }
    for (int i = 0; i < n; i++) {
        char path[1400];
        size_t len = 0;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        uint8_t *text = test_read_file(path, &len);
        assert_non_null(text);
        struct vector *x = &v[i];
        memset(x, 0, sizeof *x);
        assert_int_equal(j_parse((char *)text, len, &x->manifest), 0);
        free(text);
        snprintf(x->name, sizeof x->name, "%s", names[i]);
        snprintf(path, sizeof path, "%s/%s", dir, j_get(&x->manifest, "image")->str);
        x->image = test_read_file(path, &x->image_len);
        if (!x->image)
            fail_msg("%s: image %s missing", names[i], path);
        assert_int_equal(x->image_len, j_get(&x->manifest, "image_size")->num);
        free(names[i]);
    }
    return n;
}

static void free_vectors(struct vector *v, int n)
{
    for (int i = 0; i < n; i++) {
        free(v[i].image);
        j_free(&v[i].manifest);
    }
}

static void sha256_hex(const uint8_t *data, size_t len, char out[65])
{
    uint8_t md[SHA256_DIGEST_LENGTH];
    SHA256(data, len, md);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* The manifest's type names. */
static const char *manifest_type(uint8_t type)
{
    if (type == NVS_TYPE_STR)
        return "string";
    return nvs_type_name(type);
}

static void check_integer(const char *name, const struct jval *k, const struct nvs_item *it)
{
    const char *text = j_get(k, "value")->str;
    unsigned size = nvs_int_size(it->type);
    assert_int_equal(it->len, size);
    uint64_t raw = 0;
    for (unsigned b = 0; b < size; b++)
        raw |= (uint64_t)it->value[b] << (8 * b);
    if (nvs_int_signed(it->type)) {
        int64_t v = (int64_t)(raw << (64 - 8 * size)) >> (64 - 8 * size);
        if (v != strtoll(text, NULL, 10))
            fail_msg("%s: %s.%s = %lld, manifest %s", name, it->ns, it->key, (long long)v, text);
    } else if (raw != strtoull(text, NULL, 10)) {
        fail_msg("%s: %s.%s = %llu, manifest %s", name, it->ns, it->key, (unsigned long long)raw,
                 text);
    }
}

static void check_vector(const struct vector *v)
{
    const struct jval *m = &v->manifest;
    struct nvs_listing l;
    struct error err;
    error_clear(&err);
    int rc = nvs_list(v->image, (uint32_t)v->image_len, v->name, &l, &err);
    const struct jval *error = j_get(m, "error");
    if (error && error->type == J_STR) {
        /* ESP-IDF refuses the partition: so must we, saying why */
        if (rc == 0)
            fail_msg("%s: listed, but the manifest says: %s", v->name, error->str);
        assert_non_null(strstr(err.msg, "version"));
        return;
    }
    if (rc)
        fail_msg("%s: %s", v->name, err.msg);

    const struct jval *ns = j_get(m, "namespaces");
    assert_int_equal(l.ns_count, ns->n);
    for (size_t i = 0; i < ns->n; i++) {
        size_t k = 0;
        while (k < l.ns_count && strcmp(l.namespaces[k].name, ns->keys[i]))
            k++;
        if (k == l.ns_count)
            fail_msg("%s: namespace %s missing", v->name, ns->keys[i]);
        assert_int_equal(l.namespaces[k].index, ns->items[i].num);
    }

    const struct jval *keys = j_get(m, "keys");
    if (l.count != keys->n)
        fail_msg("%s: %zu keys listed, manifest has %zu", v->name, l.count, keys->n);
    for (size_t i = 0; i < keys->n; i++) {
        const struct jval *k = &keys->items[i];
        const char *nsname = j_get(k, "namespace")->str, *key = j_get(k, "key")->str;
        const struct nvs_item *it = nvs_listing_find(&l, nsname, key);
        if (!it)
            fail_msg("%s: %s.%s missing", v->name, nsname, key);
        const char *type = j_get(k, "type")->str;
        if (strcmp(manifest_type(it->type), type))
            fail_msg("%s: %s.%s is %s, manifest %s", v->name, nsname, key,
                     manifest_type(it->type), type);
        const struct jval *loc = j_get(k, "location");
        assert_int_equal(it->page, j_get(loc, "page")->num);
        assert_int_equal(it->entry, j_get(loc, "entry")->num);
        char sha[65];
        if (!strcmp(type, "string")) {
            const char *value = j_get(k, "value")->str;
            assert_int_equal(it->len + 1, j_get(k, "size_with_nul")->num);
            assert_int_equal(it->len, strlen(value));
            assert_memory_equal(it->value, value, it->len);
            sha256_hex(it->value, it->len, sha);
            assert_string_equal(sha, j_get(k, "sha256")->str);
        } else if (!strcmp(type, "blob")) {
            assert_int_equal(it->len, j_get(k, "size")->num);
            sha256_hex(it->value, it->len, sha);
            if (strcmp(sha, j_get(k, "sha256")->str))
                fail_msg("%s: %s.%s: blob bytes differ", v->name, nsname, key);
            const struct jval *start = j_get(k, "chunk_start");
            assert_int_equal(it->type, start ? NVS_TYPE_BLOB_INDEX : NVS_TYPE_BLOB_V1);
            if (start)
                assert_int_equal(it->chunk_start, start->num);
        } else {
            check_integer(v->name, k, it);
        }
    }

    /* what the manifest skips is not a value, and whole pages it skips are ignored */
    const struct jval *skipped = j_get(m, "skipped_by_a_correct_reader");
    for (size_t i = 0; i < skipped->n; i++) {
        const struct jval *s = &skipped->items[i];
        uint64_t page = j_get(s, "page")->num;
        const struct jval *entry = j_get(s, "entry");
        if (!entry) {
            assert_true(page < l.page_count);
            assert_true(l.pages[page].kind == NVS_KIND_CORRUPT ||
                        l.pages[page].kind == NVS_KIND_DISCARDED);
            int found = 0;
            for (size_t k = 0; k < l.skipped_count; k++)
                found |= l.skipped[k].page == page && l.skipped[k].entry < 0;
            assert_true(found);
            continue;
        }
        for (size_t k = 0; k < l.count; k++)
            if (l.items[k].page == page && l.items[k].entry == entry->num)
                fail_msg("%s: page %llu entry %llu returned as %s.%s, manifest: %s", v->name,
                         (unsigned long long)page, (unsigned long long)entry->num, l.items[k].ns,
                         l.items[k].key, j_get(s, "reason")->str);
    }
    nvs_listing_free(&l);
}

static void test_vectors(void **state)
{
    (void)state;
    static struct vector v[MAX_VECTORS];
    int n = load_vectors(v, MAX_VECTORS);
    if (n < 0)
        TEST_SKIP("NVS vectors not found (set MP_SHARED_DIR)");
    assert_true(n >= 16);
    for (int i = 0; i < n; i++)
        check_vector(&v[i]);
    free_vectors(v, n);
}

/* The same through a flash window onto a firmware-sized image: the partition read from its
 * offset, and a partition cut off by the end of the file reads as erased pages. */
static void test_vectors_through_flash(void **state)
{
    (void)state;
    static struct vector v[MAX_VECTORS];
    int n = load_vectors(v, MAX_VECTORS);
    if (n < 0)
        TEST_SKIP("NVS vectors not found (set MP_SHARED_DIR)");
    int done = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(v[i].name, "idf-types-0x6000.json"))
            continue;
        /* the image at 0x9000 in a file that ends one page into the partition's last page */
        uint32_t len = 0x9000 + (uint32_t)v[i].image_len - 0x1000;
        uint8_t *file = malloc(len);
        memset(file, 0xab, 0x9000);
        memcpy(file + 0x9000, v[i].image, v[i].image_len - 0x1000);
        struct flash_image img;
        struct error err;
        assert_int_equal(flash_image_adopt(&img, file, len, 0, 0x400000, "fw", &err), 0);
        struct nvs_listing a, b;
        assert_int_equal(nvs_list(v[i].image, (uint32_t)v[i].image_len, "nvs", &a, &err), 0);
        assert_int_equal(
            nvs_list_flash(&img.flash, 0x9000, (uint32_t)v[i].image_len, "nvs", &b, &err), 0);
        assert_int_equal(a.count, b.count);
        for (size_t k = 0; k < a.count; k++) {
            assert_string_equal(a.items[k].key, b.items[k].key);
            assert_int_equal(a.items[k].len, b.items[k].len);
            assert_memory_equal(a.items[k].value, b.items[k].value, a.items[k].len);
        }
        nvs_listing_free(&a);
        nvs_listing_free(&b);
        flash_close(&img.flash);
        done = 1;
    }
    assert_true(done);
    free_vectors(v, n);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_vectors_through_flash),
    };
    return test_main(argc, argv, tests, sizeof tests / sizeof tests[0], NULL, 0);
}
