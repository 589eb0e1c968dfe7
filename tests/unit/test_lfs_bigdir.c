/* Big directories: thousands of entries in one directory, spread over a long chain of metadata
 * pairs (littlefs.md §6). Listing, lookup, reading back and removal must stay correct however
 * the entries arrived; the chain must keep the name order across pairs; the parsed pairs the
 * engine keeps between calls must always equal what the flash holds (also when its cache is
 * too small for the chain); and a commit that splits a pair, or one that takes an emptied pair
 * off the chain, must survive a power cut at every program/erase. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "lfs/lfs_meta.h"
#include "lfs/lfs_ops.h"
#include "test_lfs_dev.h"
#include "test_lfs_model.h"

#define BS 4096u

static uint8_t pattern[8192];

static void pattern_init(void)
{
    uint32_t x = 4242;
    for (size_t i = 0; i < sizeof pattern; i++)
        pattern[i] = (uint8_t)rnd_next(&x);
}

static int put(lfs_t *lfs, const char *path, const uint8_t *data, uint32_t len)
{
    lfs_file_t f;
    int err = lfs_file_open(lfs, &f, path, LFS_O_WRONLY | LFS_O_CREAT | LFS_O_TRUNC);
    if (err)
        return err;
    lfs_ssize_t w = lfs_file_write(lfs, &f, data, len);
    int cerr = lfs_file_close(lfs, &f);
    return w < 0 ? (int)w : cerr;
}

/* §6.1 order, as the engine must keep it */
static int order_cmp(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    int r = memcmp(a, b, la < lb ? la : lb);
    if (r)
        return r;
    return la > lb ? -1 : la < lb ? 1 : 0;
}

/* ---------------------------------------------------------------- the entries of one test */

/* Entry i: a name of varying length (some are prefixes of others' patterns), a size that makes
 * one file in ten a CTZ file (blocks of its own) and the rest inline. */
static void entry_name(uint32_t i, char *out, size_t n)
{
    static const char *suffix[] = {"", ".py", ".mpy", "_long_name_of_a_module.py"};
    snprintf(out, n, "f%05u%s", i, suffix[i % 4]);
}

static uint32_t entry_size(uint32_t i)
{
    return i % 10 == 3 ? 300 + i % 900 : 1 + i % 120;
}

static const uint8_t *entry_data(uint32_t i)
{
    return pattern + (i * 37u) % (sizeof pattern - 1300);
}

static uint32_t entry_index(const char *name)
{
    return (uint32_t)strtoul(name + 1, NULL, 10);
}

struct fx {
    uint8_t *flash;
    uint32_t blocks;
    struct ramdev dev;
    lfs_t lfs;
};

static void fx_new(struct fx *x, uint32_t blocks, uint32_t cache)
{
    x->blocks = blocks;
    x->flash = malloc((size_t)blocks * BS);
    memset(x->flash, 0xFF, (size_t)blocks * BS);
    ramdev_init(&x->dev, x->flash, BS, blocks);
    x->dev.cfg.block_count = blocks;
    x->dev.cfg.meta_cache_size = cache;
    assert_int_equal(lfs_format(&x->lfs, &x->dev.cfg), 0);
    assert_int_equal(lfs_mount(&x->lfs, &x->dev.cfg), 0);
}

static void fx_remount(struct fx *x)
{
    assert_int_equal(lfs_unmount(&x->lfs), 0);
    assert_int_equal(lfs_mount(&x->lfs, &x->dev.cfg), 0);
}

static void fx_free(struct fx *x)
{
    lfs_unmount(&x->lfs);
    free(x->flash);
}

/* Every parsed pair the engine keeps equals a fresh parse of the flash. */
static void check_cache(struct fx *x)
{
    assert_int_equal(lfs_mcache_check(x->lfs.st), 0);
}

/* Walk the chain of pairs of directory `path`: ids per pair within the format's limit, names
 * in order inside each pair and across pairs. Returns the number of pairs. */
static uint32_t chain_check(struct fx *x, const char *path, uint32_t *entries)
{
    struct lfs_state *s = x->lfs.st;
    struct lfs_lookup lk;
    assert_int_equal(lfs_lookup(s, path, &lk), 0);
    uint32_t pair[2];
    assert_int_equal(lfs_entry_dirpair(&lk.m.e[lk.id], pair), 0);
    lfs_lookup_free(&lk);
    uint32_t pairs = 0, n = 0;
    char prev[LFS_NAME_MAX + 1] = "";
    for (;;) {
        struct lfs_mdir m;
        assert_int_equal(lfs_mdir_fetch(s, &m, pair), 0);
        pairs++;
        assert_true(m.count < 0xFF);
        for (uint32_t i = 0; i < m.count; i++) {
            if (!lfs_mdir_entry_ok(&m.e[i]))
                continue;
            char name[LFS_NAME_MAX + 1];
            memcpy(name, m.e[i].name, m.e[i].nlen);
            name[m.e[i].nlen] = '\0';
            if (n > 0 && order_cmp(prev, name) >= 0)
                fail_msg("%s: '%s' after '%s' (pair %u)", path, name, prev, pairs);
            strcpy(prev, name);
            n++;
        }
        int more = m.split && !lfs_pair_isnull(m.tail);
        pair[0] = m.tail[0];
        pair[1] = m.tail[1];
        lfs_mdir_free(&m);
        if (!more)
            break;
        assert_true(pairs < x->blocks);
    }
    *entries = n;
    return pairs;
}

/* List dir: exactly the entries marked in `present`, in §6.1 order, with their sizes. */
static void list_check(struct fx *x, const char *dir, const uint8_t *present, uint32_t n)
{
    lfs_dir_t d;
    assert_int_equal(lfs_dir_open(&x->lfs, &d, dir), 0);
    struct lfs_info info;
    char prev[LFS_NAME_MAX + 1] = "";
    uint32_t seen = 0, want = 0;
    for (uint32_t i = 0; i < n; i++)
        want += present[i];
    int r;
    while ((r = lfs_dir_read(&x->lfs, &d, &info)) > 0) {
        uint32_t i = entry_index(info.name);
        char name[64];
        entry_name(i, name, sizeof name);
        if (i >= n || !present[i] || strcmp(name, info.name))
            fail_msg("%s: unexpected entry '%s'", dir, info.name);
        if (seen > 0 && order_cmp(prev, info.name) >= 0)
            fail_msg("%s: '%s' listed after '%s'", dir, info.name, prev);
        assert_int_equal(info.type, LFS_TYPE_REG);
        assert_int_equal(info.size, entry_size(i));
        strcpy(prev, info.name);
        seen++;
    }
    assert_int_equal(r, 0);
    assert_int_equal(seen, want);
    lfs_dir_close(&x->lfs, &d);
}

static void read_check(struct fx *x, const char *dir, uint32_t i)
{
    char name[64], path[128];
    entry_name(i, name, sizeof name);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    lfs_file_t f;
    assert_int_equal(lfs_file_open(&x->lfs, &f, path, LFS_O_RDONLY), 0);
    uint8_t buf[1300];
    lfs_ssize_t got = lfs_file_read(&x->lfs, &f, buf, sizeof buf);
    assert_int_equal(lfs_file_close(&x->lfs, &f), 0);
    assert_int_equal(got, entry_size(i));
    assert_memory_equal(buf, entry_data(i), entry_size(i));
}

static void shuffle(uint32_t *v, uint32_t n, uint32_t seed)
{
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = rnd_below(&seed, i);
        uint32_t t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

/* ---------------------------------------------------------------- 5,000 entries in one dir */

#define NBIG 5000u

static void test_five_thousand_entries(void **state)
{
    (void)state;
    pattern_init();
    struct fx x;
    fx_new(&x, 2048, 0);
    assert_int_equal(lfs_mkdir(&x.lfs, "/d"), 0);
    lfs_ssize_t base = lfs_fs_size(&x.lfs);
    /* half the names in order (how a tree is copied in), the rest shuffled in between them:
     * splits at the end of the chain and in the middle of it */
    uint32_t *order = malloc(NBIG * sizeof *order);
    uint32_t n = 0;
    for (uint32_t i = 0; i < NBIG; i += 2)
        order[n++] = i;
    uint32_t half = n;
    for (uint32_t i = 1; i < NBIG; i += 2)
        order[n++] = i;
    shuffle(order + half, NBIG - half, 77);
    uint8_t *present = calloc(NBIG, 1);
    for (uint32_t k = 0; k < NBIG; k++) {
        uint32_t i = order[k];
        char name[64], path[128];
        entry_name(i, name, sizeof name);
        snprintf(path, sizeof path, "/d/%s", name);
        int err = put(&x.lfs, path, entry_data(i), entry_size(i));
        if (err)
            fail_msg("put %s: %s", path, lfs_err_name(err));
        present[i] = 1;
        if (k % 500 == 499)
            check_cache(&x);
    }
    uint32_t entries;
    uint32_t pairs = chain_check(&x, "/d", &entries);
    assert_int_equal(entries, NBIG);
    print_message("%u entries in one directory: a chain of %u metadata pairs\n", NBIG, pairs);
    assert_true(pairs > 100);
    list_check(&x, "/d", present, NBIG);
    for (uint32_t i = 0; i < NBIG; i++)
        read_check(&x, "/d", i);
    /* an existing name is found, not created twice */
    lfs_file_t f;
    assert_int_equal(
        lfs_file_open(&x.lfs, &f, "/d/f00040", LFS_O_WRONLY | LFS_O_CREAT | LFS_O_EXCL),
        LFS_ERR_EXIST);
    assert_int_equal(lfs_mkdir(&x.lfs, "/d/f04997.py"), LFS_ERR_EXIST);
    check_cache(&x);

    /* what a fresh mount reads from the flash alone */
    fx_remount(&x);
    list_check(&x, "/d", present, NBIG);
    assert_int_equal(chain_check(&x, "/d", &entries), pairs);
    for (uint32_t i = 0; i < NBIG; i += 7)
        read_check(&x, "/d", i);

    /* remove everything in another order; listings stay right on the way */
    shuffle(order, NBIG, 99);
    for (uint32_t k = 0; k < NBIG; k++) {
        uint32_t i = order[k];
        char name[64], path[128];
        entry_name(i, name, sizeof name);
        snprintf(path, sizeof path, "/d/%s", name);
        int err = lfs_remove(&x.lfs, path);
        if (err)
            fail_msg("remove %s: %s", path, lfs_err_name(err));
        present[i] = 0;
        if (k % 1000 == 999) {
            list_check(&x, "/d", present, NBIG);
            check_cache(&x);
        }
    }
    list_check(&x, "/d", present, NBIG);
    /* the emptied pairs left the chain and every data block is free again */
    assert_int_equal(chain_check(&x, "/d", &entries), 1);
    assert_int_equal(entries, 0);
    assert_int_equal(lfs_fs_size(&x.lfs), base);
    assert_int_equal(lfs_remove(&x.lfs, "/d"), 0);
    fx_remount(&x);
    assert_int_equal(lfs_fs_size(&x.lfs), 2);
    assert_int_equal(x.dev.overwrites, 0);
    free(order);
    free(present);
    fx_free(&x);
}

/* ---------------------------------------------------------------- cache size makes no difference */

/* The same operations (puts in and out of order, rewrites, renames inside and across
 * directories, removals) with the default cache and with a cache that keeps almost nothing:
 * the flash ends byte for byte the same, and each mount reads it back alike. */
static void workload(struct fx *x)
{
    const uint32_t n = 1500;
    assert_int_equal(lfs_mkdir(&x->lfs, "/a"), 0);
    assert_int_equal(lfs_mkdir(&x->lfs, "/b"), 0);
    uint32_t *order = malloc(n * sizeof *order);
    for (uint32_t i = 0; i < n; i++)
        order[i] = i;
    shuffle(order + n / 2, n - n / 2, 5);
    for (uint32_t k = 0; k < n; k++) {
        char name[64], path[128];
        entry_name(order[k], name, sizeof name);
        snprintf(path, sizeof path, "/a/%s", name);
        assert_int_equal(put(&x->lfs, path, entry_data(order[k]), entry_size(order[k])), 0);
    }
    for (uint32_t i = 0; i < n; i += 5) {
        char name[64], from[128], to[128];
        entry_name(i, name, sizeof name);
        snprintf(from, sizeof from, "/a/%s", name);
        if (i % 10 == 0) {
            snprintf(to, sizeof to, "/b/%s", name);
            assert_int_equal(lfs_rename(&x->lfs, from, to), 0);
        } else {
            assert_int_equal(put(&x->lfs, from, entry_data(i + 1), entry_size(i + 1)), 0);
        }
    }
    for (uint32_t i = 1; i < n; i += 3) {
        char name[64], path[128];
        entry_name(i, name, sizeof name);
        snprintf(path, sizeof path, "/a/%s", name);
        int err = lfs_remove(&x->lfs, path);
        assert_true(err == 0 || err == LFS_ERR_NOENT);
    }
    free(order);
}

static void test_cache_size_invisible(void **state)
{
    (void)state;
    pattern_init();
    struct fx big, tiny;
    fx_new(&big, 1024, 0);
    fx_new(&tiny, 1024, 1);
    workload(&big);
    workload(&tiny);
    check_cache(&big);
    check_cache(&tiny);
    assert_memory_equal(big.flash, tiny.flash, (size_t)1024 * BS);
    uint32_t ea, eb;
    fx_remount(&big);
    fx_remount(&tiny);
    assert_int_equal(chain_check(&big, "/a", &ea), chain_check(&tiny, "/a", &eb));
    assert_int_equal(ea, eb);
    assert_true(chain_check(&big, "/a", &ea) > 10);
    fx_free(&big);
    fx_free(&tiny);
}

/* ---------------------------------------------------------------- power cuts in a split */

static uint32_t pc_blocks;
static unsigned pc_olds, pc_news; /* cuts that left the state before / after the step */

static void pc_dev(struct ramdev *d, uint8_t *img)
{
    ramdev_init(d, img, BS, pc_blocks);
}

static uint32_t dir_pairs(lfs_t *lfs, const char *path)
{
    struct fx fake = {.blocks = pc_blocks, .lfs = *lfs};
    uint32_t entries;
    return chain_check(&fake, path, &entries);
}

/* Index of the first entry of the k-th pair of /s. */
static uint32_t pair_first(const uint8_t *img, uint32_t k)
{
    size_t bytes = (size_t)pc_blocks * BS;
    uint8_t *work = malloc(bytes);
    memcpy(work, img, bytes);
    struct ramdev dev;
    lfs_t lfs;
    ramdev_init(&dev, work, BS, pc_blocks);
    assert_int_equal(lfs_mount(&lfs, &dev.cfg), 0);
    struct lfs_lookup lk;
    assert_int_equal(lfs_lookup(lfs.st, "/s", &lk), 0);
    uint32_t pair[2];
    assert_int_equal(lfs_entry_dirpair(&lk.m.e[lk.id], pair), 0);
    lfs_lookup_free(&lk);
    for (;; k--) {
        struct lfs_mdir m;
        assert_int_equal(lfs_mdir_fetch(lfs.st, &m, pair), 0);
        if (k == 0) {
            assert_true(m.count > 0);
            char name[LFS_NAME_MAX + 1];
            memcpy(name, m.e[0].name, m.e[0].nlen);
            name[m.e[0].nlen] = '\0';
            lfs_mdir_free(&m);
            assert_int_equal(lfs_unmount(&lfs), 0);
            free(work);
            return entry_index(name);
        }
        assert_true(m.split);
        pair[0] = m.tail[0];
        pair[1] = m.tail[1];
        lfs_mdir_free(&m);
    }
}

/* One step of the sweep: put entry i into /s (or remove it when `remove`). */
static int pc_step(lfs_t *lfs, uint32_t i, int remove)
{
    char name[64], path[128];
    entry_name(i, name, sizeof name);
    snprintf(path, sizeof path, "/s/%s", name);
    return remove ? lfs_remove(lfs, path) : put(lfs, path, entry_data(i), entry_size(i));
}

static void pc_model(struct model *m, uint32_t i, int remove)
{
    char name[64], path[128];
    entry_name(i, name, sizeof name);
    snprintf(path, sizeof path, "/s/%s", name);
    if (remove)
        model_del(m, path);
    else
        model_set(m, path, entry_data(i), entry_size(i));
}

/* Cut the power at every program/erase of step (i, remove) applied to img: each time the
 * filesystem mounts showing the state before or after, and takes a further change. */
static void pc_sweep(const uint8_t *img, const struct model *before, uint32_t i, int remove,
                     const char *what)
{
    size_t bytes = (size_t)pc_blocks * BS;
    uint8_t *work = malloc(bytes);
    struct model after;
    model_copy(&after, before);
    pc_model(&after, i, remove);
    struct ramdev dev;
    lfs_t lfs;
    memcpy(work, img, bytes);
    pc_dev(&dev, work);
    assert_int_equal(lfs_mount(&lfs, &dev.cfg), 0);
    assert_int_equal(pc_step(&lfs, i, remove), 0);
    assert_int_equal(lfs_unmount(&lfs), 0);
    long total = (long)(dev.progs + dev.erases);
    unsigned olds = 0, news = 0;
    char why[512];
    for (long cut = 0; cut < total; cut++) {
        memcpy(work, img, bytes);
        pc_dev(&dev, work);
        assert_int_equal(lfs_mount(&lfs, &dev.cfg), 0);
        dev.ops_left = cut;
        pc_step(&lfs, i, remove);
        lfs_unmount(&lfs); /* the power is gone: only RAM is freed */
        dev.cut = 0;
        dev.ops_left = -1;
        int err = lfs_mount(&lfs, &dev.cfg);
        if (err)
            fail_msg("%s, cut after %ld: mount: %s", what, cut, lfs_err_name(err));
        const struct model *now = NULL;
        if (!fs_matches(&lfs, before, why, sizeof why)) {
            now = before;
            olds++;
        } else if (!fs_matches(&lfs, &after, why, sizeof why)) {
            now = &after;
            news++;
        } else {
            fail_msg("%s, cut after %ld: neither the old nor the new state: %s", what, cut, why);
        }
        struct model next;
        model_copy(&next, now);
        err = put(&lfs, "/s/after-cut", pattern, 200);
        if (err)
            fail_msg("%s, cut after %ld: write after: %s", what, cut, lfs_err_name(err));
        model_set(&next, "/s/after-cut", pattern, 200);
        assert_int_equal(lfs_mcache_check(lfs.st), 0);
        assert_int_equal(lfs_unmount(&lfs), 0);
        assert_int_equal(lfs_mount(&lfs, &dev.cfg), 0);
        if (fs_matches(&lfs, &next, why, sizeof why))
            fail_msg("%s, cut after %ld, after the next write: %s", what, cut, why);
        assert_int_equal(lfs_unmount(&lfs), 0);
        assert_int_equal(dev.overwrites, 0);
        model_free(&next);
    }
    print_message("%-44s %3ld program/erase operations, each cut tested (%u old, %u new)\n", what,
                  total, olds, news);
    pc_olds += olds;
    pc_news += news;
    model_free(&after);
    free(work);
}

/* Apply step (i, remove) to img and model for good. Returns the pairs of /s after it. */
static uint32_t pc_apply(uint8_t *img, struct model *m, uint32_t i, int remove)
{
    struct ramdev dev;
    lfs_t lfs;
    pc_dev(&dev, img);
    assert_int_equal(lfs_mount(&lfs, &dev.cfg), 0);
    assert_int_equal(pc_step(&lfs, i, remove), 0);
    uint32_t pairs = dir_pairs(&lfs, "/s");
    assert_int_equal(lfs_unmount(&lfs), 0);
    pc_model(m, i, remove);
    return pairs;
}

/* Pairs of /s if step (i, remove) were applied (img unchanged). */
static uint32_t pc_try(const uint8_t *img, uint32_t i, int remove)
{
    size_t bytes = (size_t)pc_blocks * BS;
    uint8_t *work = malloc(bytes);
    memcpy(work, img, bytes);
    struct model scratch = {0};
    uint32_t pairs = pc_apply(work, &scratch, i, remove);
    model_free(&scratch);
    free(work);
    return pairs;
}

static void test_power_cuts_in_splits(void **state)
{
    (void)state;
    pattern_init();
    pc_blocks = 64;
    size_t bytes = (size_t)pc_blocks * BS;
    uint8_t *img = malloc(bytes);
    memset(img, 0xFF, bytes);
    struct ramdev dev;
    lfs_t lfs;
    pc_dev(&dev, img);
    dev.cfg.block_count = pc_blocks;
    assert_int_equal(lfs_format(&lfs, &dev.cfg), 0);
    assert_int_equal(lfs_mount(&lfs, &dev.cfg), 0);
    assert_int_equal(lfs_mkdir(&lfs, "/s"), 0);
    assert_int_equal(lfs_unmount(&lfs), 0);
    struct model m = {0};
    model_add(&m, "/s", 1);

    /* names in order (every fourth index) until the next one would split the last pair:
     * sweep that commit */
    uint32_t next = 0, pairs = 1;
    while (pc_try(img, next * 4, 0) == pairs) {
        pc_apply(img, &m, next * 4, 0);
        next++;
        assert_true(next < 200);
    }
    pc_sweep(img, &m, next * 4, 0, "put that splits the last pair");
    pairs = pc_apply(img, &m, next * 4, 0);
    assert_int_equal(pairs, 2);
    next++;

    /* fill the first pair again with names that sort between its own until an insertion
     * splits it: the new pair goes between two existing ones */
    uint32_t limit = pair_first(img, 1), mid = 1;
    while (pc_try(img, mid, 0) == pairs) {
        pc_apply(img, &m, mid, 0);
        mid += mid % 4 == 3 ? 2 : 1;
        assert_true(mid < limit); /* still in the first pair */
    }
    pc_sweep(img, &m, mid, 0, "put that splits a pair mid-chain");
    pairs = pc_apply(img, &m, mid, 0);
    assert_int_equal(pairs, 3);

    /* empty the last pair: the removal of its last entry takes the pair off the chain */
    uint32_t last = (next - 1) * 4;
    while (pc_try(img, last, 1) == pairs) {
        pc_apply(img, &m, last, 1);
        assert_true(last >= 4);
        last -= 4;
    }
    pc_sweep(img, &m, last, 1, "remove that drops an emptied pair");
    assert_int_equal(pc_apply(img, &m, last, 1), pairs - 1);
    /* the last program of a commit decides it: a cut before shows the old state, and a cut
     * after a first commit of a two-commit step the new one */
    assert_true(pc_olds > 0 && pc_news > 0);
    model_free(&m);
    free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_five_thousand_entries),
        cmocka_unit_test(test_cache_size_invisible),
        cmocka_unit_test(test_power_cuts_in_splits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
