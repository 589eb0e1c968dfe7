/* littlefs v2 engine: mount/format, allocator, traversal, directory and path operations.
 * Files are in lfs_file.c, the metadata log in lfs_meta.c. */
#include <stdlib.h>
#include <string.h>

#include "lfs/lfs_int.h"
#include "lfs/lfs_meta.h"
#include "lfs/lfs_ops.h"
#include "util/alloc.h"
#include "util/bytes.h"
#include "util/check.h"

static const char lfs_magic[8] = {'l', 'i', 't', 't', 'l', 'e', 'f', 's'};

/* ---------------------------------------------------------------- state setup */

static void state_free(struct lfs_state *s)
{
    if (!s)
        return;
    lfs_mcache_clear(s);
    free(s->rc);
    free(s->fetchbuf);
    free(s->commitbuf);
    free(s->la);
    free(s->inflight);
    free(s);
}

static int is_pow2(uint32_t v)
{
    return v && !(v & (v - 1));
}

/* Copy the config, fill defaults, check the geometry. */
static int state_new(const struct lfs_config *cfg, struct lfs_state **out)
{
    *out = NULL;
    if (!cfg || !cfg->read || !cfg->prog || !cfg->erase)
        return LFS_ERR_INVAL;
    struct lfs_state *s = mp_calloc(1, sizeof *s);
    if (!s)
        return LFS_ERR_NOMEM;
    s->cfg = *cfg;
    struct lfs_config *c = &s->cfg;
    if (!c->block_size)
        c->block_size = 4096;
    if (!c->read_size)
        c->read_size = 32;
    if (!c->prog_size)
        c->prog_size = 32;
    if (!c->cache_size)
        c->cache_size = c->read_size > c->prog_size ? c->read_size : c->prog_size;
    if (!c->lookahead_size)
        c->lookahead_size = 32;
    int bad = c->block_size < 128 || c->block_size > (1u << 20) || !is_pow2(c->read_size) ||
              !is_pow2(c->prog_size) || c->block_size % c->read_size ||
              c->block_size % c->prog_size || c->prog_size > c->block_size / 4 ||
              c->name_max > LFS_NAME_MAX || c->file_max > LFS_FILE_MAX ||
              c->attr_max > LFS_ATTR_MAX || c->lookahead_size > (1u << 20);
    if (bad) {
        free(s);
        return LFS_ERR_INVAL;
    }
    s->block_size = c->block_size;
    s->block_count = c->block_count;
    s->name_max = c->name_max ? c->name_max : LFS_NAME_MAX;
    s->file_max = c->file_max ? c->file_max : LFS_FILE_MAX;
    s->attr_max = c->attr_max ? c->attr_max : LFS_ATTR_MAX;
    s->rc = mp_malloc(c->block_size);
    s->fetchbuf = mp_malloc(c->block_size);
    s->commitbuf = mp_malloc(c->block_size);
    if (!s->rc || !s->fetchbuf || !s->commitbuf) {
        state_free(s);
        return LFS_ERR_NOMEM;
    }
    s->rc_block = LFS_BLOCK_NULL;
    s->root[0] = 0;
    s->root[1] = 1;
    *out = s;
    return 0;
}

/* inline_max as upstream derives it (§7.1): min(cache_size, attr_max, block_size / 8). */
static void derive_inline_max(struct lfs_state *s)
{
    uint32_t v = s->cfg.cache_size;
    if (v > s->attr_max)
        v = s->attr_max;
    if (v > s->block_size / 8)
        v = s->block_size / 8;
    if (s->cfg.inline_max && s->cfg.inline_max < v)
        v = s->cfg.inline_max;
    if (v > 0x3FE)
        v = 0x3FE;
    s->inline_max = v;
}

static int alloc_init(struct lfs_state *s)
{
    free(s->la);
    uint32_t bits = s->cfg.lookahead_size * 8;
    if (bits > s->block_count)
        bits = s->block_count;
    if (bits == 0)
        bits = 1;
    s->la = mp_calloc((bits + 7) / 8, 1);
    if (!s->la)
        return LFS_ERR_NOMEM;
    s->la_bits = bits;
    s->la_start = s->block_count ? s->seed % s->block_count : 0;
    s->la_next = 0;
    s->la_valid = 0;
    s->la_seen = 0;
    s->ninflight = 0;
    return 0;
}

/* ---------------------------------------------------------------- traversal */

/* Brent's cycle detection over a list of pairs. */
struct tortoise {
    uint32_t pair[2];
    uint32_t i, period;
};

static int tortoise_step(struct tortoise *t, const uint32_t pair[2])
{
    if (lfs_pair_same(t->pair, pair))
        return LFS_ERR_CORRUPT;
    if (t->i == t->period) {
        t->pair[0] = pair[0];
        t->pair[1] = pair[1];
        t->i = 0;
        t->period *= 2;
    }
    t->i++;
    return 0;
}

#define TORTOISE_INIT {{LFS_BLOCK_NULL, LFS_BLOCK_NULL}, 1, 1}

/* Index of the CTZ block holding file position *pos; *pos becomes the offset in it (§7.2). */
uint32_t lfs_ctz_index(const struct lfs_state *s, uint32_t *pos)
{
    uint32_t b = s->block_size - 8;
    uint32_t p = *pos;
    uint32_t i = p / b;
    if (i == 0)
        return 0;
    i = (p - 4 * ((uint32_t)__builtin_popcount(i - 1) + 2)) / b;
    *pos = p - b * i - 4 * (uint32_t)__builtin_popcount(i);
    return i;
}

int lfs_ctz_traverse(struct lfs_state *s, uint32_t head, uint32_t size,
                     int (*cb)(void *, uint32_t), void *data)
{
    if (size == 0)
        return 0;
    uint32_t pos = size - 1;
    uint32_t index = lfs_ctz_index(s, &pos);
    if (index >= s->block_count)
        return LFS_ERR_CORRUPT; /* more blocks than the filesystem has */
    for (;;) {
        int err = cb(data, head);
        if (err)
            return err;
        if (index == 0)
            return 0;
        uint8_t p[8];
        uint32_t count = 2 - (index & 1);
        err = lfs_bd_read(s, head, 0, p, 4 * count);
        if (err)
            return err;
        if (count == 2) {
            err = cb(data, get_le32(p));
            if (err)
                return err;
        }
        head = get_le32(p + 4 * (count - 1));
        index -= count;
    }
}

/* Every block in use: pairs on the metadata list, CTZ blocks, (dirs) DIRSTRUCT targets,
 * (files) blocks held by open files. */
static int traverse(struct lfs_state *s, int (*cb)(void *, uint32_t), void *data, int dirs,
                    int files)
{
    uint32_t pair[2] = {0, 1};
    struct tortoise t = TORTOISE_INIT;
    uint32_t hops = 0;
    while (!lfs_pair_isnull(pair)) {
        if (tortoise_step(&t, pair) || ++hops > s->block_count)
            return LFS_ERR_CORRUPT;
        int err = cb(data, pair[0]);
        if (!err)
            err = cb(data, pair[1]);
        if (err)
            return err;
        /* borrowed from the cache: the callbacks never touch the metadata */
        const struct lfs_mdir *m;
        err = lfs_mdir_get(s, pair, &m);
        if (err)
            return err;
        for (uint32_t id = 0; id < m->count && !err; id++) {
            const struct lfs_mentry *e = &m->e[id];
            if (e->stype == LFS_T_CTZSTRUCT && e->slen >= 8)
                err = lfs_ctz_traverse(s, get_le32(e->sdata), get_le32(e->sdata + 4), cb, data);
            else if (dirs && e->stype == LFS_T_DIRSTRUCT && e->slen >= 8) {
                err = cb(data, get_le32(e->sdata));
                if (!err)
                    err = cb(data, get_le32(e->sdata + 4));
            }
        }
        pair[0] = m->tail[0];
        pair[1] = m->tail[1];
        if (err)
            return err;
    }
    for (struct lfs_file_state *f = files ? s->files : NULL; f; f = f->next) {
        int err = 0;
        /* as upstream counts: a changed file's list (committed or not) and its new blocks */
        if (!f->is_inline && f->dirty)
            err = lfs_ctz_traverse(s, f->head, f->building ? f->bsize : f->size, cb, data);
        if (!err && f->building && f->have_block)
            err = cb(data, f->bblock);
        if (!err && f->building && f->last_block != LFS_BLOCK_NULL)
            err = lfs_ctz_traverse(s, f->last_block, f->last_end, cb, data);
        if (err)
            return err;
    }
    return 0;
}

/* ---------------------------------------------------------------- allocator (§9.6) */

static int la_mark(void *p, uint32_t block)
{
    struct lfs_state *s = p;
    if (block >= s->block_count)
        return 0;
    uint32_t off = (block + s->block_count - s->la_start) % s->block_count;
    if (off < s->la_bits)
        s->la[off / 8] |= (uint8_t)(1u << (off % 8));
    return 0;
}

static int alloc_scan(struct lfs_state *s)
{
    memset(s->la, 0, (s->la_bits + 7) / 8);
    int err = traverse(s, la_mark, s, 1, 1);
    if (err)
        return err;
    for (uint32_t i = 0; i < s->ninflight; i++)
        la_mark(s, s->inflight[i]);
    s->la_valid = 1;
    return 0;
}

/* Start of an operation: blocks handed out before are either referenced by the committed
 * state or by open files now, so the allocator need not remember them. */
void lfs_ckpoint(struct lfs_state *s)
{
    s->ninflight = 0;
    s->la_seen = 0;
}

int lfs_alloc(struct lfs_state *s, uint32_t *block)
{
    /* a window wider than the device would hand out one block twice */
    MP_ASSERT(s->la_bits >= 1 && s->la_bits <= s->block_count);
    for (;;) {
        if (!s->la_valid) {
            int err = alloc_scan(s);
            if (err)
                return err;
        }
        while (s->la_next < s->la_bits) {
            uint32_t i = s->la_next++;
            s->la_seen++;
            if (s->la[i / 8] & (1u << (i % 8)))
                continue;
            s->la[i / 8] |= (uint8_t)(1u << (i % 8));
            uint32_t b = (s->la_start + i) % s->block_count;
            if (s->cfg.reserved && s->cfg.reserved(&s->cfg, b))
                continue;
            if (s->ninflight == s->capinflight) {
                uint32_t cap = s->capinflight ? s->capinflight * 2 : 64;
                uint32_t *p = mp_realloc(s->inflight, cap * sizeof *p);
                if (!p)
                    return LFS_ERR_NOMEM;
                s->inflight = p;
                s->capinflight = cap;
            }
            s->inflight[s->ninflight++] = b;
            *block = b;
            return 0;
        }
        /* every block looked at with a scan made since the checkpoint: full */
        if (s->la_seen >= s->block_count + s->la_bits)
            return LFS_ERR_NOSPC;
        s->la_start = (s->la_start + s->la_bits) % s->block_count;
        s->la_next = 0;
        s->la_valid = 0;
    }
}

/* ---------------------------------------------------------------- format and mount */

static void superblock_decode(const uint8_t in[LFS_SUPERBLOCK_SIZE], struct lfs_superblock *sb)
{
    sb->version = get_le32(in);
    sb->block_size = get_le32(in + 4);
    sb->block_count = get_le32(in + 8);
    sb->name_max = get_le32(in + 12);
    sb->file_max = get_le32(in + 16);
    sb->attr_max = get_le32(in + 20);
}

static void superblock_encode(const struct lfs_superblock *sb, uint8_t out[LFS_SUPERBLOCK_SIZE])
{
    put_le32(out, sb->version);
    put_le32(out + 4, sb->block_size);
    put_le32(out + 8, sb->block_count);
    put_le32(out + 12, sb->name_max);
    put_le32(out + 16, sb->file_max);
    put_le32(out + 20, sb->attr_max);
}

int lfs_format(lfs_t *lfs, const struct lfs_config *cfg)
{
    lfs->cfg = cfg;
    lfs->st = NULL;
    struct lfs_state *s;
    int err = state_new(cfg, &s);
    if (err)
        return err;
    s->disk_version = cfg->disk_version ? cfg->disk_version : LFS_DISK_VERSION;
    if (s->block_count < 2 ||
        (s->disk_version != LFS_DISK_VERSION_2_0 && s->disk_version != LFS_DISK_VERSION_2_1)) {
        state_free(s);
        return LFS_ERR_INVAL;
    }
    /* §9.7: superblock entry compacted into block 0, then again into block 1 */
    struct lfs_mdir m;
    lfs_mdir_init(&m);
    m.pair[0] = 1;
    m.pair[1] = 0;
    uint8_t r[4];
    err = lfs_bd_read(s, 1, 0, r, 4);
    if (!err) {
        uint32_t cycle = ((uint32_t)(cfg->block_cycles > 0 ? cfg->block_cycles : 0) + 1) | 1;
        m.rev = (get_le32(r) + (cycle - 1)) / cycle * cycle;
        struct lfs_superblock sb = {s->disk_version, s->block_size, s->block_count,
                                    s->name_max,     s->file_max,   s->attr_max};
        uint8_t raw[LFS_SUPERBLOCK_SIZE];
        superblock_encode(&sb, raw);
        struct lfs_mop ops[2] = {{LFS_MKTAG(LFS_T_SUPERBLOCK, 0, 8), lfs_magic},
                                 {LFS_MKTAG(LFS_T_INLINESTRUCT, 0, LFS_SUPERBLOCK_SIZE), raw}};
        m.appendable = 0;
        err = lfs_mdir_commit(s, &m, ops, 2, NULL);
    }
    if (!err)
        err = lfs_mdir_force_compact(s, &m);
    lfs_mdir_free(&m);
    state_free(s);
    return err;
}

/* Check one superblock record against the config (§5.2) and adopt its values. */
static int superblock_load(struct lfs_state *s, const struct lfs_mentry *e, int first)
{
    if (e->stype != LFS_T_INLINESTRUCT || e->slen < LFS_SUPERBLOCK_SIZE)
        return LFS_ERR_CORRUPT;
    struct lfs_superblock sb;
    superblock_decode(e->sdata, &sb);
    if ((sb.version >> 16) != 2 || (sb.version & 0xFFFF) > (LFS_DISK_VERSION & 0xFFFF))
        return LFS_ERR_INVAL;
    if (sb.block_size != s->block_size)
        return LFS_ERR_INVAL;
    if (s->cfg.block_count && sb.block_count != s->cfg.block_count)
        return LFS_ERR_INVAL;
    if (sb.block_count < 2)
        return LFS_ERR_CORRUPT;
    if (sb.name_max > (s->cfg.name_max ? s->cfg.name_max : LFS_NAME_MAX) ||
        sb.file_max > (s->cfg.file_max ? s->cfg.file_max : LFS_FILE_MAX) ||
        sb.attr_max > (s->cfg.attr_max ? s->cfg.attr_max : LFS_ATTR_MAX))
        return LFS_ERR_INVAL;
    if (first)
        s->block_count = sb.block_count;
    s->disk_version = sb.version;
    if (sb.name_max)
        s->name_max = sb.name_max;
    if (sb.file_max)
        s->file_max = sb.file_max;
    if (sb.attr_max)
        s->attr_max = sb.attr_max;
    return 0;
}

static int is_superblock(const struct lfs_mdir *m)
{
    return m->count > 0 && m->e[0].ntype == LFS_T_SUPERBLOCK && m->e[0].nlen == 8 &&
           memcmp(m->e[0].name, lfs_magic, 8) == 0;
}

int lfs_mount(lfs_t *lfs, const struct lfs_config *cfg)
{
    lfs->cfg = cfg;
    lfs->st = NULL;
    struct lfs_state *s;
    int err = state_new(cfg, &s);
    if (err)
        return err;
    if (!s->block_count)
        s->block_count = 0xFFFFFFFFu; /* until the superblock says */
    s->disk_version = LFS_DISK_VERSION;
    uint32_t pair[2] = {0, 1};
    struct tortoise t = TORTOISE_INIT;
    int found = 0;
    uint32_t hops = 0;
    struct lfs_gstate g = {0, {0, 0}};
    while (!lfs_pair_isnull(pair)) {
        err = tortoise_step(&t, pair);
        if (!err && ++hops > s->block_count)
            err = LFS_ERR_CORRUPT;
        struct lfs_mdir m;
        if (!err)
            err = lfs_mdir_fetch(s, &m, pair);
        if (err)
            goto fail;
        if (is_superblock(&m)) {
            err = superblock_load(s, &m.e[0], !found);
            if (err) {
                lfs_mdir_free(&m);
                goto fail;
            }
            found = 1;
            s->root[0] = pair[0];
            s->root[1] = pair[1];
        }
        if (m.has_delta)
            lfs_gstate_xor(&g, &m.delta);
        s->seed = (s->seed * 31u) ^ m.rev ^ m.pair[0];
        pair[0] = m.tail[0];
        pair[1] = m.tail[1];
        lfs_mdir_free(&m);
    }
    if (!found) {
        err = LFS_ERR_INVAL;
        goto fail;
    }
    g.tag &= ~0x3FFu;
    s->gstate = s->gdisk = g;
    /* pairs parsed before the superblock was read judged appendability without the version */
    lfs_mcache_clear(s);
    derive_inline_max(s);
    err = alloc_init(s);
    if (err)
        goto fail;
    lfs->st = s;
    return 0;
fail:
    state_free(s);
    return err;
}

int lfs_unmount(lfs_t *lfs)
{
    if (!lfs || !lfs->st)
        return LFS_ERR_INVAL;
    state_free(lfs->st);
    lfs->st = NULL;
    return 0;
}

int lfs_fs_stat(lfs_t *lfs, struct lfs_fsinfo *info)
{
    if (!lfs || !lfs->st || !info)
        return LFS_ERR_INVAL;
    struct lfs_state *s = lfs->st;
    info->disk_version = s->disk_version;
    info->block_size = s->block_size;
    info->block_count = s->block_count;
    info->name_max = s->name_max;
    info->file_max = s->file_max;
    info->attr_max = s->attr_max;
    return 0;
}

static int count_cb(void *p, uint32_t block)
{
    (void)block;
    (*(uint32_t *)p)++;
    return 0;
}

lfs_ssize_t lfs_fs_size(lfs_t *lfs)
{
    if (!lfs || !lfs->st)
        return LFS_ERR_INVAL;
    uint32_t n = 0;
    int err = traverse(lfs->st, count_cb, &n, 0, 1);
    return err ? err : (lfs_ssize_t)n;
}

int lfs_fs_traverse(lfs_t *lfs, int (*cb)(void *data, lfs_block_t block), void *data)
{
    if (!lfs || !lfs->st || !cb)
        return LFS_ERR_INVAL;
    return traverse(lfs->st, cb, data, 1, 1);
}

/* ---------------------------------------------------------------- directories and names */

int lfs_entry_dirpair(const struct lfs_mentry *e, uint32_t pair[2])
{
    if (e->stype != LFS_T_DIRSTRUCT || e->slen < 8)
        return LFS_ERR_CORRUPT;
    pair[0] = get_le32(e->sdata);
    pair[1] = get_le32(e->sdata + 4);
    return 0;
}

/* Find name in the directory starting at pair `first`. Returns 1 with *c, *id the entry, 0
 * when absent with *c, *id the insertion point (§6.1), negative on error. *c is borrowed
 * from the cache: valid until the next block device write or lfs_mdir_get.
 * The walk passes every pair whose names all sort before the one sought. The directory's
 * finger remembers how far the last walk went and the greatest name it passed, so that a
 * walk for a greater name starts there: the same pair is reached without visiting the ones
 * before (a directory filled in name order is not walked from its start each time). */
static int dir_find(struct lfs_state *s, const uint32_t first[2], const uint8_t *name,
                    uint32_t nlen, const struct lfs_mdir **out, uint32_t *id)
{
    struct lfs_finger *f = lfs_finger_claim(s, first);
    uint32_t gen = f->gen;
    uint32_t pair[2] = {first[0], first[1]};
    /* the greatest name passed so far */
    uint8_t lo[LFS_NAME_MAX + 1];
    uint32_t lolen = 0;
    int has_lo = 0;
    if (!f->has_lo || lfs_name_cmp(f->lo, f->lolen, name, nlen) < 0) {
        pair[0] = f->at[0];
        pair[1] = f->at[1];
        has_lo = f->has_lo;
        lolen = f->lolen;
        memcpy(lo, f->lo, lolen);
    }
    struct tortoise t = TORTOISE_INIT;
    for (uint32_t hops = 0;; hops++) {
        if (tortoise_step(&t, pair) || hops > s->block_count)
            return LFS_ERR_CORRUPT;
        const struct lfs_mdir *c;
        int err = lfs_mdir_get(s, pair, &c);
        if (err)
            return err;
        int more = c->split && !lfs_pair_isnull(c->tail);
        const struct lfs_mentry *hi = c->hi == LFS_HI_NONE ? NULL : &c->e[c->hi];
        if (!more || (hi && lfs_name_cmp(hi->name, hi->nlen, name, nlen) >= 0)) {
            /* the name is here or belongs here (unless only a moved entry sorted after it) */
            int moved = lfs_moved_id(s, c);
            uint32_t i = 0;
            int r = -1;
            for (; i < c->count && r < 0; i++) {
                const struct lfs_mentry *e = &c->e[i];
                if ((int)i != moved && lfs_mdir_entry_ok(e))
                    r = lfs_name_cmp(e->name, e->nlen, name, nlen);
            }
            if (r >= 0 || !more) {
                /* where the next walk may start (unless a pair passed left the cache) */
                if (f->gen == gen) {
                    f->at[0] = pair[0];
                    f->at[1] = pair[1];
                    f->has_lo = has_lo;
                    f->lolen = (uint16_t)lolen;
                    memcpy(f->lo, lo, lolen);
                }
                *out = c;
                *id = r >= 0 ? i - 1 : c->count;
                return r == 0;
            }
        }
        /* every name here sorts before the one sought: the walk passes this pair */
        if (f->gen == gen) {
            lfs_finger_mark(s, c, f);
            if (hi && (!has_lo || lfs_name_cmp(hi->name, hi->nlen, lo, lolen) > 0)) {
                lolen = hi->nlen;
                memcpy(lo, hi->name, lolen);
                has_lo = 1;
            }
        }
        pair[0] = c->tail[0];
        pair[1] = c->tail[1];
    }
}

/* Resolve a path. On success (0) lk->m/id is the entry (not for the root: lk->isroot). NOENT
 * with lk->parent_ok set means only the last component is missing: lk->m/id is where it would
 * go. lk->m is always to be freed with lookup_free. Without `copy`, lk->m stays empty and
 * lk->at is the cache's model. */
static int lookup(struct lfs_state *s, const char *path, struct lfs_lookup *lk, int copy)
{
    memset(lk, 0, sizeof *lk);
    lfs_mdir_init(&lk->m);
    lk->at = &lk->m;
    lk->parent[0] = s->root[0];
    lk->parent[1] = s->root[1];
    lk->isroot = 1;
    if (!path)
        return LFS_ERR_INVAL;
    /* "." components vanish and ".." cancels the component before it (lexically, and is
     * ignored at the root), as upstream resolves paths */
    size_t plen = strlen(path);
    char *norm = mp_malloc(plen + 1);
    if (!norm)
        return LFS_ERR_NOMEM;
    size_t n = 0;
    for (const char *q = path; *q;) {
        while (*q == '/')
            q++;
        const char *c = q;
        while (*q && *q != '/')
            q++;
        size_t cl = (size_t)(q - c);
        if (cl == 0 || (cl == 1 && c[0] == '.'))
            continue;
        if (cl == 2 && c[0] == '.' && c[1] == '.') {
            while (n > 0 && norm[n - 1] != '/')
                n--;
            if (n > 0)
                n--;
            continue;
        }
        if (n > 0)
            norm[n++] = '/';
        memcpy(norm + n, c, cl);
        n += cl;
    }
    norm[n] = '\0';
    lk->norm = norm;
    const char *p = norm;
    uint32_t dir[2] = {s->root[0], s->root[1]};
    uint32_t depth = 0;
    for (;;) {
        while (*p == '/')
            p++;
        if (!*p)
            return 0; /* the directory reached so far (root or via trailing slash) */
        const char *name = p;
        while (*p && *p != '/')
            p++;
        size_t nlen = (size_t)(p - name);
        const char *rest = p;
        while (*rest == '/')
            rest++;
        int last = *rest == '\0';
        if (nlen > s->name_max)
            return LFS_ERR_NAMETOOLONG;
        if (++depth > 4096)
            return LFS_ERR_CORRUPT;
        lfs_mdir_free(&lk->m);
        lk->isroot = 0;
        lk->parent[0] = dir[0];
        lk->parent[1] = dir[1];
        lk->name = (const uint8_t *)name;
        lk->nlen = (uint32_t)nlen;
        const struct lfs_mdir *c = NULL;
        uint32_t id = 0;
        int r = dir_find(s, dir, (const uint8_t *)name, (uint32_t)nlen, &c, &id);
        if (r < 0)
            return r;
        if (last && copy) {
            /* the caller gets its own copy of the pair holding the entry (or its place) */
            int err = lfs_mdir_copy(&lk->m, c);
            if (err) {
                lfs_mdir_init(&lk->m);
                return err;
            }
        }
        if (last) {
            lk->at = copy ? &lk->m : c;
            lk->id = id;
        }
        if (r == 0) {
            lk->parent_ok = last;
            return LFS_ERR_NOENT;
        }
        const struct lfs_mentry *e = &c->e[id];
        lk->type = e->ntype == LFS_T_DIR ? LFS_TYPE_DIR : LFS_TYPE_REG;
        if (last)
            return 0;
        if (e->ntype != LFS_T_DIR)
            return LFS_ERR_NOTDIR;
        int err = lfs_entry_dirpair(e, dir);
        if (err)
            return err;
        /* remember every directory on the way: rename refuses moving a dir into itself */
        if (lk->nvia < LFS_LOOKUP_VIA) {
            lk->via[lk->nvia][0] = dir[0];
            lk->via[lk->nvia][1] = dir[1];
            lk->nvia++;
        } else {
            lk->via_overflow = 1;
        }
    }
}

int lfs_lookup(struct lfs_state *s, const char *path, struct lfs_lookup *lk)
{
    return lookup(s, path, lk, 1);
}

int lfs_lookup_peek(struct lfs_state *s, const char *path, struct lfs_lookup *lk)
{
    return lookup(s, path, lk, 0);
}

void lfs_lookup_free(struct lfs_lookup *lk)
{
    lfs_mdir_free(&lk->m);
    free(lk->norm);
    lk->norm = NULL;
}

/* Size and type of an entry for stat/dir read. */
int lfs_entry_info(const struct lfs_state *s, const struct lfs_mentry *e, struct lfs_info *info)
{
    memset(info, 0, sizeof *info);
    if (e->nlen > LFS_NAME_MAX || e->nlen > s->name_max)
        return LFS_ERR_CORRUPT;
    memcpy(info->name, e->name, e->nlen);
    info->name[e->nlen] = '\0';
    if (e->ntype == LFS_T_DIR) {
        info->type = LFS_TYPE_DIR;
        return 0;
    }
    info->type = LFS_TYPE_REG;
    if (e->stype == LFS_T_CTZSTRUCT && e->slen >= 8)
        info->size = get_le32(e->sdata + 4);
    else if (e->stype == LFS_T_INLINESTRUCT)
        info->size = e->slen;
    return 0;
}

int lfs_stat(lfs_t *lfs, const char *path, struct lfs_info *info)
{
    if (!lfs || !lfs->st || !info)
        return LFS_ERR_INVAL;
    struct lfs_lookup lk;
    int err = lfs_lookup_peek(lfs->st, path, &lk);
    if (!err) {
        if (lk.isroot) {
            memset(info, 0, sizeof *info);
            info->type = LFS_TYPE_DIR;
            info->name[0] = '/';
        } else {
            err = lfs_entry_info(lfs->st, &lk.at->e[lk.id], info);
        }
    }
    lfs_lookup_free(&lk);
    return err;
}

int lfs_file_where(lfs_t *lfs, const char *path, lfs_block_t *head, lfs_size_t *size)
{
    if (!lfs || !lfs->st)
        return LFS_ERR_INVAL;
    struct lfs_lookup lk;
    int err = lfs_lookup_peek(lfs->st, path, &lk);
    if (!err && lk.isroot)
        err = LFS_ERR_ISDIR;
    if (!err) {
        const struct lfs_mentry *e = &lk.at->e[lk.id];
        if (e->ntype == LFS_T_DIR)
            err = LFS_ERR_ISDIR;
        else if (e->stype == LFS_T_CTZSTRUCT && e->slen >= 8) {
            *head = get_le32(e->sdata);
            *size = get_le32(e->sdata + 4);
        } else if (e->stype == LFS_T_INLINESTRUCT) {
            *head = LFS_NO_BLOCK;
            *size = e->slen;
        } else {
            err = LFS_ERR_CORRUPT;
        }
    }
    lfs_lookup_free(&lk);
    return err;
}

/* ---------------------------------------------------------------- consistency (§8) */

/* Find the list predecessor of pair (the pair whose tail points at it). Returns 1 found. */
static int find_pred(struct lfs_state *s, const uint32_t pair[2], struct lfs_mdir *pred)
{
    uint32_t cur[2] = {0, 1};
    struct tortoise t = TORTOISE_INIT;
    for (uint32_t hops = 0; !lfs_pair_isnull(cur); hops++) {
        if (tortoise_step(&t, cur) || hops > s->block_count)
            return LFS_ERR_CORRUPT;
        int err = lfs_mdir_fetch(s, pred, cur);
        if (err)
            return err;
        if (lfs_pair_same(pred->tail, pair))
            return 1;
        cur[0] = pred->tail[0];
        cur[1] = pred->tail[1];
        lfs_mdir_free(pred);
    }
    lfs_mdir_init(pred);
    return 0;
}

/* Find the directory entry pointing at a pair (any block in common). Returns 1 with *pair_out
 * its DIRSTRUCT pair. */
static int find_parent(struct lfs_state *s, const uint32_t pair[2], uint32_t pair_out[2])
{
    uint32_t cur[2] = {0, 1};
    struct tortoise t = TORTOISE_INIT;
    for (uint32_t hops = 0; !lfs_pair_isnull(cur); hops++) {
        if (tortoise_step(&t, cur) || hops > s->block_count)
            return LFS_ERR_CORRUPT;
        struct lfs_mdir m;
        int err = lfs_mdir_fetch(s, &m, cur);
        if (err)
            return err;
        for (uint32_t i = 0; i < m.count; i++) {
            uint32_t p[2];
            if (m.e[i].stype == LFS_T_DIRSTRUCT && !lfs_entry_dirpair(&m.e[i], p) &&
                lfs_pair_overlap(p, pair)) {
                pair_out[0] = p[0];
                pair_out[1] = p[1];
                lfs_mdir_free(&m);
                return 1;
            }
        }
        cur[0] = m.tail[0];
        cur[1] = m.tail[1];
        lfs_mdir_free(&m);
    }
    return 0;
}

/* Unlink pair (with model `dead`) from the threaded list: its predecessor takes its tail and
 * its gstate delta (§8, §9.7 rmdir). */
int lfs_unlink_pair(struct lfs_state *s, const struct lfs_mdir *dead)
{
    struct lfs_mdir pred;
    int r = find_pred(s, dead->pair, &pred);
    if (r <= 0)
        return r < 0 ? r : 0; /* not on the list: nothing to do */
    uint8_t tail[8];
    put_le32(tail, dead->tail[0]);
    put_le32(tail + 4, dead->tail[1]);
    struct lfs_mop op = {
        LFS_MKTAG(dead->split ? LFS_T_HARDTAIL : LFS_T_SOFTTAIL, LFS_ID_NONE, 8), tail};
    struct lfs_gstate absorb = dead->has_delta ? dead->delta : (struct lfs_gstate){0, {0, 0}};
    int err = lfs_mdir_commit(s, &pred, &op, 1, &absorb);
    lfs_mdir_free(&pred);
    return err;
}

/* A pair left without entries that is not the first of its directory leaves the chain, as
 * upstream drops it (§9.3): its predecessor takes its tail and its gstate delta. */
static int drop_if_empty(struct lfs_state *s, const struct lfs_mdir *m, const uint32_t first[2])
{
    if (m->count != 0 || lfs_pair_same(m->pair, first) || lfs_pair_same(m->pair, s->root))
        return 0;
    return lfs_unlink_pair(s, m);
}

/* Remove metadata pairs no directory refers to and repoint half-relocated ones (§8). */
static int deorphan(struct lfs_state *s)
{
    struct lfs_mdir pdir;
    int err = lfs_mdir_fetch(s, &pdir, (uint32_t[2]){0, 1});
    if (err)
        return err;
    for (uint32_t hops = 0; !lfs_pair_isnull(pdir.tail); hops++) {
        if (hops > s->block_count) {
            err = LFS_ERR_CORRUPT;
            break;
        }
        struct lfs_mdir dir;
        uint32_t cur[2] = {pdir.tail[0], pdir.tail[1]};
        err = lfs_mdir_fetch(s, &dir, cur);
        if (err)
            break;
        if (!pdir.split) {
            /* cur starts a directory: someone must point at it */
            uint32_t ppair[2];
            int r = find_parent(s, cur, ppair);
            if (r < 0) {
                err = r;
                lfs_mdir_free(&dir);
                break;
            }
            if (r == 0) {
                uint8_t tail[8];
                put_le32(tail, dir.tail[0]);
                put_le32(tail + 4, dir.tail[1]);
                struct lfs_mop op = {
                    LFS_MKTAG(dir.split ? LFS_T_HARDTAIL : LFS_T_SOFTTAIL, LFS_ID_NONE, 8),
                    tail};
                struct lfs_gstate absorb =
                    dir.has_delta ? dir.delta : (struct lfs_gstate){0, {0, 0}};
                err = lfs_mdir_commit(s, &pdir, &op, 1, &absorb);
                lfs_mdir_free(&dir);
                if (err)
                    break;
                continue; /* pdir now points past the orphan */
            }
            if (!lfs_pair_same(ppair, cur)) {
                uint8_t tail[8];
                put_le32(tail, ppair[0]);
                put_le32(tail + 4, ppair[1]);
                struct lfs_mop op = {LFS_MKTAG(LFS_T_SOFTTAIL, LFS_ID_NONE, 8), tail};
                err = lfs_mdir_commit(s, &pdir, &op, 1, NULL);
                lfs_mdir_free(&dir);
                if (err)
                    break;
                continue;
            }
        }
        lfs_mdir_free(&pdir);
        pdir = dir;
    }
    lfs_mdir_free(&pdir);
    if (err)
        return err;
    s->gstate.tag &= 0x7FFFFFFFu;
    return 0;
}

/* Before a change: finish a pending move, then clean orphans (§8, §9.7 "first write"). */
int lfs_prepare_write(struct lfs_state *s)
{
    lfs_ckpoint(s);
    if (lfs_gstate_hasmove(&s->gdisk)) {
        struct lfs_mdir m;
        uint32_t pair[2] = {s->gdisk.pair[0], s->gdisk.pair[1]};
        uint32_t id = LFS_TAG_ID(s->gdisk.tag);
        int err = lfs_mdir_fetch(s, &m, pair);
        if (err)
            return err;
        s->gstate.tag &= 0x80000000u;
        s->gstate.pair[0] = s->gstate.pair[1] = 0;
        if (id < m.count) {
            struct lfs_mop op = {LFS_MKTAG(LFS_T_DELETE, id, 0), NULL};
            err = lfs_mdir_commit(s, &m, &op, 1, NULL);
        } else {
            err = lfs_mdir_commit(s, &m, NULL, 0, NULL);
        }
        lfs_mdir_free(&m);
        if (err)
            return err;
    }
    if (lfs_gstate_hasorphans(&s->gdisk) || lfs_gstate_hasorphans(&s->gstate)) {
        int err = deorphan(s);
        if (err)
            return err;
    }
    return 0;
}

int lfs_fs_compact_superblock(lfs_t *lfs)
{
    if (!lfs || !lfs->st)
        return LFS_ERR_INVAL;
    struct lfs_state *s = lfs->st;
    int err = lfs_prepare_write(s);
    for (int i = 0; i < 2 && !err; i++) {
        static const uint32_t pair[2] = {0, 1};
        struct lfs_mdir m;
        err = lfs_mdir_fetch(s, &m, pair);
        if (!err)
            err = lfs_mdir_force_compact(s, &m);
        lfs_mdir_free(&m);
    }
    return err;
}

int lfs_fs_mkconsistent(lfs_t *lfs)
{
    if (!lfs || !lfs->st)
        return LFS_ERR_INVAL;
    struct lfs_state *s = lfs->st;
    int err = lfs_prepare_write(s);
    if (err)
        return err;
    if (memcmp(&s->gstate, &s->gdisk, sizeof s->gstate) != 0) {
        /* write the cleared flags with an empty commit to the root */
        struct lfs_mdir m;
        err = lfs_mdir_fetch(s, &m, s->root);
        if (!err)
            err = lfs_mdir_commit(s, &m, NULL, 0, NULL);
        lfs_mdir_free(&m);
    }
    return err;
}

/* ---------------------------------------------------------------- mkdir, remove, rename */

/* Last pair of the directory chain starting at first. */
static int dir_last_pair(struct lfs_state *s, const uint32_t first[2], struct lfs_mdir *m)
{
    uint32_t pair[2] = {first[0], first[1]};
    struct tortoise t = TORTOISE_INIT;
    for (uint32_t hops = 0;; hops++) {
        if (tortoise_step(&t, pair) || hops > s->block_count) {
            lfs_mdir_init(m);
            return LFS_ERR_CORRUPT;
        }
        int err = lfs_mdir_fetch(s, m, pair);
        if (err)
            return err;
        if (!m->split || lfs_pair_isnull(m->tail))
            return 0;
        pair[0] = m->tail[0];
        pair[1] = m->tail[1];
        lfs_mdir_free(m);
    }
}

static int check_new_name(const struct lfs_state *s, const struct lfs_lookup *lk, int err)
{
    if (err == 0)
        return LFS_ERR_EXIST;
    if (err != LFS_ERR_NOENT || !lk->parent_ok)
        return err;
    if (lk->nlen > s->name_max)
        return LFS_ERR_NAMETOOLONG;
    if (lk->m.count >= 0x3FE)
        return LFS_ERR_NOSPC;
    return 0;
}

int lfs_mkdir(lfs_t *lfs, const char *path)
{
    if (!lfs || !lfs->st)
        return LFS_ERR_INVAL;
    struct lfs_state *s = lfs->st;
    int err = lfs_prepare_write(s);
    if (err)
        return err;
    struct lfs_lookup lk;
    err = check_new_name(s, &lk, lfs_lookup(s, path, &lk));
    if (err) {
        lfs_lookup_free(&lk);
        return err;
    }
    struct lfs_mdir last, nd;
    lfs_mdir_init(&nd);
    err = dir_last_pair(s, lk.parent, &last);
    if (err)
        goto out;
    /* the new directory's pair joins the list right after its parent's last pair (§6.2) */
    err = lfs_mdir_alloc(s, &nd);
    if (err)
        goto out;
    nd.split = 0;
    nd.tail[0] = last.tail[0];
    nd.tail[1] = last.tail[1];
    err = lfs_mdir_force_compact(s, &nd);
    if (err)
        goto out;
    uint8_t dp[8];
    put_le32(dp, nd.pair[0]);
    put_le32(dp + 4, nd.pair[1]);
    int same = lfs_pair_same(last.pair, lk.m.pair);
    if (!same) {
        /* link first with the orphan flag set; the entry commit clears it */
        s->gstate.tag ^= 0x80000000u;
        struct lfs_mop op = {LFS_MKTAG(LFS_T_SOFTTAIL, LFS_ID_NONE, 8), dp};
        err = lfs_mdir_commit(s, &last, &op, 1, NULL);
        if (err)
            goto out;
        s->gstate.tag ^= 0x80000000u;
    }
    struct lfs_mop ops[4] = {
        {LFS_MKTAG(LFS_T_CREATE, lk.id, 0), NULL},
        {LFS_MKTAG(LFS_T_DIR, lk.id, lk.nlen), lk.name},
        {LFS_MKTAG(LFS_T_DIRSTRUCT, lk.id, 8), dp},
        {LFS_MKTAG(LFS_T_SOFTTAIL, LFS_ID_NONE, 8), dp},
    };
    err = lfs_mdir_commit(s, &lk.m, ops, same ? 4 : 3, NULL);
out:
    lfs_mdir_free(&last);
    lfs_mdir_free(&nd);
    lfs_lookup_free(&lk);
    return err;
}

/* A directory with no entries in its first pair and no continuation. */
static int dir_is_empty(struct lfs_state *s, const uint32_t pair[2], struct lfs_mdir *dm)
{
    int err = lfs_mdir_fetch(s, dm, pair);
    if (err)
        return err;
    int moved = lfs_moved_id(s, dm);
    uint32_t live = 0;
    for (uint32_t i = 0; i < dm->count; i++)
        if ((int)i != moved && lfs_mdir_entry_ok(&dm->e[i]))
            live++;
    return live == 0 && !dm->split ? 1 : 0;
}

int lfs_remove(lfs_t *lfs, const char *path)
{
    if (!lfs || !lfs->st)
        return LFS_ERR_INVAL;
    struct lfs_state *s = lfs->st;
    int err = lfs_prepare_write(s);
    if (err)
        return err;
    struct lfs_lookup lk;
    err = lfs_lookup(s, path, &lk);
    if (!err && lk.isroot)
        err = LFS_ERR_INVAL;
    if (err) {
        lfs_lookup_free(&lk);
        return err;
    }
    struct lfs_mdir dm;
    lfs_mdir_init(&dm);
    int isdir = lk.m.e[lk.id].ntype == LFS_T_DIR;
    if (isdir) {
        uint32_t dp[2];
        err = lfs_entry_dirpair(&lk.m.e[lk.id], dp);
        if (!err) {
            int r = dir_is_empty(s, dp, &dm);
            err = r < 0 ? r : r == 0 ? LFS_ERR_NOTEMPTY : 0;
        }
        if (!err)
            s->gstate.tag |= 0x80000000u;
    }
    if (!err) {
        struct lfs_mop op = {LFS_MKTAG(LFS_T_DELETE, lk.id, 0), NULL};
        err = lfs_mdir_commit(s, &lk.m, &op, 1, NULL);
    }
    if (!err && !isdir)
        err = drop_if_empty(s, &lk.m, lk.parent);
    if (!err && isdir) {
        /* take the removed directory's pair off the threaded list, clearing the flag */
        s->gstate.tag &= 0x7FFFFFFFu;
        err = lfs_unlink_pair(s, &dm);
    }
    lfs_mdir_free(&dm);
    lfs_lookup_free(&lk);
    return err;
}

int lfs_rename(lfs_t *lfs, const char *oldpath, const char *newpath)
{
    if (!lfs || !lfs->st)
        return LFS_ERR_INVAL;
    struct lfs_state *s = lfs->st;
    int err = lfs_prepare_write(s);
    if (err)
        return err;
    struct lfs_lookup src, dst;
    lfs_mdir_init(&dst.m);
    err = lfs_lookup(s, oldpath, &src);
    if (!err && src.isroot)
        err = LFS_ERR_INVAL;
    if (err) {
        lfs_lookup_free(&src);
        return err;
    }
    struct lfs_mdir dead;
    lfs_mdir_init(&dead);
    int derr = lfs_lookup(s, newpath, &dst);
    if (derr == 0 && dst.isroot)
        derr = LFS_ERR_INVAL;
    if (derr && !(derr == LFS_ERR_NOENT && dst.parent_ok)) {
        err = derr;
        goto out;
    }
    struct lfs_mentry *se = &src.m.e[src.id];
    int srcdir = se->ntype == LFS_T_DIR;
    if (srcdir) {
        uint32_t sp[2];
        err = lfs_entry_dirpair(se, sp);
        if (err)
            goto out;
        /* moving a directory below itself would cut it off the tree */
        for (uint32_t i = 0; i < dst.nvia; i++)
            if (lfs_pair_same(dst.via[i], sp)) {
                err = LFS_ERR_INVAL;
                goto out;
            }
        if (dst.via_overflow) {
            err = LFS_ERR_INVAL;
            goto out;
        }
    }
    int exists = derr == 0;
    int replaced_dir = 0;
    if (exists) {
        if (lfs_pair_same(dst.m.pair, src.m.pair) && dst.id == src.id)
            goto out; /* same entry */
        int dstdir = dst.m.e[dst.id].ntype == LFS_T_DIR;
        if (dstdir != srcdir) {
            err = srcdir ? LFS_ERR_NOTDIR : LFS_ERR_ISDIR;
            goto out;
        }
        if (dstdir) {
            uint32_t dp[2];
            err = lfs_entry_dirpair(&dst.m.e[dst.id], dp);
            if (err)
                goto out;
            int r = dir_is_empty(s, dp, &dead);
            if (r <= 0) {
                err = r < 0 ? r : LFS_ERR_NOTEMPTY;
                goto out;
            }
            replaced_dir = 1;
        }
    } else {
        err = check_new_name(s, &dst, derr);
        if (err)
            goto out;
    }
    /* new entry: same name and struct and attributes under the new name (§9.7 rename) */
    struct lfs_mop ops[8 + 256];
    int n = 0;
    uint32_t nid = dst.id;
    if (exists)
        ops[n++] = (struct lfs_mop){LFS_MKTAG(LFS_T_DELETE, dst.id, 0), NULL};
    ops[n++] = (struct lfs_mop){LFS_MKTAG(LFS_T_CREATE, nid, 0), NULL};
    ops[n++] = (struct lfs_mop){LFS_MKTAG(se->ntype, nid, dst.nlen), dst.name};
    if (se->stype)
        ops[n++] = (struct lfs_mop){LFS_MKTAG(se->stype, nid, se->slen), se->sdata};
    for (uint32_t i = 0; i < se->nattr && i < 256; i++)
        ops[n++] = (struct lfs_mop){
            LFS_MKTAG(LFS_T_USERATTR + se->attr[i].type, nid, se->attr[i].size),
            se->attr[i].data};
    if (replaced_dir)
        s->gstate.tag |= 0x80000000u;
    int samepair = lfs_pair_same(dst.m.pair, src.m.pair);
    if (samepair) {
        uint32_t oid = src.id;
        if (exists && dst.id < oid)
            oid--;
        if (nid <= oid)
            oid++;
        ops[n++] = (struct lfs_mop){LFS_MKTAG(LFS_T_DELETE, oid, 0), NULL};
        /* ops point into src.m's entries: commit on a copy so they stay valid */
        struct lfs_mdir target;
        err = lfs_mdir_copy(&target, &dst.m);
        if (!err)
            err = lfs_mdir_commit(s, &target, ops, n, NULL);
        lfs_mdir_free(&target);
    } else {
        /* destination first with the move recorded; the source delete completes it (§8) */
        s->gstate.tag = (s->gstate.tag & 0x80000000u) | LFS_MKTAG(LFS_T_DELETE, src.id, 0);
        s->gstate.pair[0] = src.m.pair[0];
        s->gstate.pair[1] = src.m.pair[1];
        err = lfs_mdir_commit(s, &dst.m, ops, n, NULL);
        if (!err) {
            s->gstate.tag &= 0x80000000u;
            s->gstate.pair[0] = s->gstate.pair[1] = 0;
            struct lfs_mop op = {LFS_MKTAG(LFS_T_DELETE, src.id, 0), NULL};
            err = lfs_mdir_commit(s, &src.m, &op, 1, NULL);
            if (!err)
                err = drop_if_empty(s, &src.m, src.parent);
        }
    }
    if (!err && replaced_dir) {
        s->gstate.tag &= 0x7FFFFFFFu;
        err = lfs_unlink_pair(s, &dead);
    }
out:
    lfs_mdir_free(&dead);
    lfs_lookup_free(&src);
    lfs_lookup_free(&dst);
    return err;
}

/* ---------------------------------------------------------------- attributes */

lfs_ssize_t lfs_getattr(lfs_t *lfs, const char *path, uint8_t type, void *buffer,
                        lfs_size_t size)
{
    if (!lfs || !lfs->st || (!buffer && size))
        return LFS_ERR_INVAL;
    struct lfs_lookup lk;
    int err = lfs_lookup_peek(lfs->st, path, &lk);
    if (!err && lk.isroot)
        err = LFS_ERR_NOATTR;
    lfs_ssize_t res = err;
    if (!err) {
        const struct lfs_mentry *e = &lk.at->e[lk.id];
        res = LFS_ERR_NOATTR;
        for (uint32_t i = 0; i < e->nattr; i++) {
            if (e->attr[i].type != type)
                continue;
            uint32_t n = e->attr[i].size < size ? e->attr[i].size : size;
            memcpy(buffer, e->attr[i].data, n);
            memset((uint8_t *)buffer + n, 0, size - n);
            res = e->attr[i].size;
            break;
        }
    }
    lfs_lookup_free(&lk);
    return res;
}

static int commit_attr(lfs_t *lfs, const char *path, uint8_t type, const void *buffer,
                       uint32_t size)
{
    struct lfs_state *s = lfs->st;
    int err = lfs_prepare_write(s);
    if (err)
        return err;
    struct lfs_lookup lk;
    err = lfs_lookup(s, path, &lk);
    if (!err && lk.isroot)
        err = LFS_ERR_INVAL;
    if (!err) {
        struct lfs_mop op = {LFS_MKTAG(LFS_T_USERATTR + type, lk.id, size), buffer};
        err = lfs_mdir_commit(s, &lk.m, &op, 1, NULL);
    }
    lfs_lookup_free(&lk);
    return err;
}

int lfs_setattr(lfs_t *lfs, const char *path, uint8_t type, const void *buffer,
                lfs_size_t size)
{
    if (!lfs || !lfs->st || (!buffer && size))
        return LFS_ERR_INVAL;
    if (size > lfs->st->attr_max)
        return LFS_ERR_NOSPC;
    return commit_attr(lfs, path, type, buffer, size);
}

int lfs_removeattr(lfs_t *lfs, const char *path, uint8_t type)
{
    if (!lfs || !lfs->st)
        return LFS_ERR_INVAL;
    return commit_attr(lfs, path, type, NULL, LFS_TAG_DELETED);
}

/* ---------------------------------------------------------------- grow */

int lfs_fs_grow(lfs_t *lfs, lfs_size_t block_count)
{
    if (!lfs || !lfs->st)
        return LFS_ERR_INVAL;
    struct lfs_state *s = lfs->st;
    if (block_count < s->block_count)
        return LFS_ERR_INVAL;
    if (block_count == s->block_count)
        return 0;
    int err = lfs_prepare_write(s);
    if (err)
        return err;
    uint32_t old = s->block_count;
    /* every superblock copy in the chain gets the new count (§5.3) */
    uint32_t pair[2] = {0, 1};
    struct tortoise t = TORTOISE_INIT;
    for (uint32_t hops = 0; !lfs_pair_isnull(pair) && !err; hops++) {
        if (tortoise_step(&t, pair) || hops > old)
            return LFS_ERR_CORRUPT;
        struct lfs_mdir m;
        err = lfs_mdir_fetch(s, &m, pair);
        if (err)
            break;
        if (is_superblock(&m)) {
            /* the record was checked at mount; only its count changes */
            MP_ASSERT(m.e[0].slen >= LFS_SUPERBLOCK_SIZE);
            struct lfs_superblock sb;
            superblock_decode(m.e[0].sdata, &sb);
            sb.block_count = block_count;
            uint8_t raw[LFS_SUPERBLOCK_SIZE];
            superblock_encode(&sb, raw);
            struct lfs_mop op = {LFS_MKTAG(LFS_T_INLINESTRUCT, 0, LFS_SUPERBLOCK_SIZE), raw};
            err = lfs_mdir_commit(s, &m, &op, 1, NULL);
        }
        pair[0] = m.tail[0];
        pair[1] = m.tail[1];
        lfs_mdir_free(&m);
    }
    if (err)
        return err;
    s->block_count = block_count;
    return alloc_init(s);
}

/* ---------------------------------------------------------------- directory handles */

int lfs_dir_open(lfs_t *lfs, lfs_dir_t *dir, const char *path)
{
    dir->st = NULL;
    if (!lfs || !lfs->st)
        return LFS_ERR_INVAL;
    struct lfs_state *s = lfs->st;
    struct lfs_lookup lk;
    int err = lfs_lookup_peek(s, path, &lk);
    uint32_t pair[2] = {s->root[0], s->root[1]};
    if (!err && !lk.isroot) {
        if (lk.at->e[lk.id].ntype != LFS_T_DIR)
            err = LFS_ERR_NOTDIR;
        else
            err = lfs_entry_dirpair(&lk.at->e[lk.id], pair);
    }
    lfs_lookup_free(&lk);
    if (err)
        return err;
    struct lfs_dir_state *d = mp_calloc(1, sizeof *d);
    if (!d)
        return LFS_ERR_NOMEM;
    d->first[0] = d->pair[0] = pair[0];
    d->first[1] = d->pair[1] = pair[1];
    dir->st = d;
    return 0;
}

int lfs_dir_close(lfs_t *lfs, lfs_dir_t *dir)
{
    (void)lfs;
    if (!dir || !dir->st)
        return LFS_ERR_BADF;
    free(dir->st);
    dir->st = NULL;
    return 0;
}

int lfs_dir_read(lfs_t *lfs, lfs_dir_t *dir, struct lfs_info *info)
{
    if (!lfs || !lfs->st || !dir || !dir->st || !info)
        return LFS_ERR_BADF;
    struct lfs_state *s = lfs->st;
    struct lfs_dir_state *d = dir->st;
    for (;;) {
        if (lfs_pair_isnull(d->pair))
            return 0;
        const struct lfs_mdir *m;
        int err = lfs_mdir_get(s, d->pair, &m);
        if (err)
            return err;
        int moved = lfs_moved_id(s, m);
        while (d->id < m->count) {
            uint32_t i = d->id++;
            if ((int)i == moved || !lfs_mdir_entry_ok(&m->e[i]))
                continue;
            err = lfs_entry_info(s, &m->e[i], info);
            return err ? err : 1;
        }
        if (m->split && !lfs_pair_isnull(m->tail)) {
            if (++d->hops > s->block_count || lfs_pair_same(m->tail, d->first))
                return LFS_ERR_CORRUPT;
            d->pair[0] = m->tail[0];
            d->pair[1] = m->tail[1];
        } else {
            d->pair[0] = d->pair[1] = LFS_BLOCK_NULL;
        }
        d->id = 0;
    }
}

int lfs_dir_rewind(lfs_t *lfs, lfs_dir_t *dir)
{
    (void)lfs;
    if (!dir || !dir->st)
        return LFS_ERR_BADF;
    dir->st->pair[0] = dir->st->first[0];
    dir->st->pair[1] = dir->st->first[1];
    dir->st->id = 0;
    dir->st->hops = 0;
    return 0;
}
