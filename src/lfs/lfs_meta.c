/* Block device access, metadata pairs: fetch (§4.5, §4.6), commit and compaction (§4, §9). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "lfs/lfs_int.h"
#include "lfs/lfs_meta.h"
#include "util/alloc.h"
#include "util/bytes.h"
#include "util/check.h"

uint32_t lfs_crc(uint32_t crc, const void *data, size_t size)
{
    /* littlefs keeps the register un-inverted; zlib inverts on entry and exit (§1). */
    uLong c = ~crc & 0xFFFFFFFFu;
    const Bytef *p = data;
    while (size > 0) {
        uInt n = size > 0x40000000u ? 0x40000000u : (uInt)size;
        c = crc32(c, p, n);
        p += n;
        size -= n;
    }
    return ~(uint32_t)c;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* ---------------------------------------------------------------- block device */

static uint32_t align_down(uint32_t v, uint32_t a)
{
    return v - v % a;
}

static uint32_t align_up(uint32_t v, uint32_t a)
{
    return align_down(v + a - 1, a);
}

int lfs_bd_read(struct lfs_state *s, uint32_t block, uint32_t off, void *buf, uint32_t size)
{
    uint8_t *out = buf;
    if (block >= s->block_count || off > s->block_size || size > s->block_size - off)
        return LFS_ERR_CORRUPT;
    uint32_t rs = s->cfg.read_size;
    while (size > 0) {
        if (s->rc_block == block && off >= s->rc_off && off < s->rc_off + s->rc_len) {
            uint32_t n = s->rc_off + s->rc_len - off;
            if (n > size)
                n = size;
            memcpy(out, s->rc + (off - s->rc_off), n);
            out += n;
            off += n;
            size -= n;
            continue;
        }
        if (off % rs == 0 && size >= rs) {
            uint32_t n = align_down(size, rs);
            int err = s->cfg.read(&s->cfg, block, off, out, n);
            if (err)
                return err < 0 ? err : LFS_ERR_IO;
            out += n;
            off += n;
            size -= n;
            continue;
        }
        uint32_t coff = align_down(off, rs);
        uint32_t clen = align_up(s->cfg.cache_size, rs);
        if (clen > s->block_size - coff)
            clen = s->block_size - coff;
        s->rc_block = LFS_BLOCK_NULL;
        int err = s->cfg.read(&s->cfg, block, coff, s->rc, clen);
        if (err)
            return err < 0 ? err : LFS_ERR_IO;
        s->rc_block = block;
        s->rc_off = coff;
        s->rc_len = clen;
    }
    return 0;
}

int lfs_bd_prog(struct lfs_state *s, uint32_t block, uint32_t off, const void *buf,
                uint32_t size)
{
    if (block >= s->block_count || off > s->block_size || size > s->block_size - off)
        return LFS_ERR_CORRUPT;
    if (s->rc_block == block)
        s->rc_block = LFS_BLOCK_NULL;
    lfs_mcache_drop(s, block);
    int err = s->cfg.prog(&s->cfg, block, off, buf, size);
    return err ? (err < 0 ? err : LFS_ERR_IO) : 0;
}

int lfs_bd_erase(struct lfs_state *s, uint32_t block)
{
    if (block >= s->block_count)
        return LFS_ERR_CORRUPT;
    if (s->rc_block == block)
        s->rc_block = LFS_BLOCK_NULL;
    lfs_mcache_drop(s, block);
    int err = s->cfg.erase(&s->cfg, block);
    return err ? (err < 0 ? err : LFS_ERR_IO) : 0;
}

int lfs_bd_sync(struct lfs_state *s)
{
    if (!s->cfg.sync)
        return 0;
    int err = s->cfg.sync(&s->cfg);
    return err ? (err < 0 ? err : LFS_ERR_IO) : 0;
}

/* ---------------------------------------------------------------- pairs and gstate */

int lfs_pair_isnull(const uint32_t p[2])
{
    return p[0] == LFS_BLOCK_NULL || p[1] == LFS_BLOCK_NULL;
}

/* Same two blocks, in any order. */
int lfs_pair_same(const uint32_t a[2], const uint32_t b[2])
{
    return (a[0] == b[0] && a[1] == b[1]) || (a[0] == b[1] && a[1] == b[0]);
}

/* Sharing any block (how upstream matches a relocated pair). */
int lfs_pair_overlap(const uint32_t a[2], const uint32_t b[2])
{
    return a[0] == b[0] || a[0] == b[1] || a[1] == b[0] || a[1] == b[1];
}

void lfs_gstate_xor(struct lfs_gstate *a, const struct lfs_gstate *b)
{
    a->tag ^= b->tag;
    a->pair[0] ^= b->pair[0];
    a->pair[1] ^= b->pair[1];
}

int lfs_gstate_iszero(const struct lfs_gstate *g)
{
    return g->tag == 0 && g->pair[0] == 0 && g->pair[1] == 0;
}

int lfs_gstate_hasmove(const struct lfs_gstate *g)
{
    return LFS_TAG_TYPE1(g->tag) == 4;
}

int lfs_gstate_hasorphans(const struct lfs_gstate *g)
{
    return (g->tag >> 31) != 0;
}

/* The id hidden by a pending move in this pair, or -1. */
int lfs_moved_id(const struct lfs_state *s, const struct lfs_mdir *m)
{
    if (!lfs_gstate_hasmove(&s->gdisk) || !lfs_pair_same(s->gdisk.pair, m->pair))
        return -1;
    return (int)LFS_TAG_ID(s->gdisk.tag);
}

/* ---------------------------------------------------------------- mdir model */

/* The heap behind a model's entries: chunks of bytes handed out in order and freed all at once.
 * Parsing a pair or applying a commit costs a few allocations instead of one per field, and a
 * copy packs the live bytes into one chunk. */
struct lfs_hchunk {
    struct lfs_hchunk *next;
    uint32_t cap, used;
};

#define HCHUNK_HDR ((uint32_t)((sizeof(struct lfs_hchunk) + 7u) & ~(size_t)7u))
#define HEAP_FIRST 256u

static uint8_t *hchunk_data(struct lfs_hchunk *c)
{
    return (uint8_t *)c + HCHUNK_HDR;
}

static void heap_free(struct lfs_hchunk *c)
{
    while (c) {
        struct lfs_hchunk *next = c->next;
        free(c);
        c = next;
    }
}

/* n bytes from m's heap (8-aligned when `aligned`); NULL when out of memory. */
static void *heap_alloc(struct lfs_mdir *m, uint32_t n, int aligned)
{
    struct lfs_hchunk *c = m->heap;
    uint32_t at = c ? (aligned ? (c->used + 7u) & ~7u : c->used) : 0;
    if (!c || at > c->cap || n > c->cap - at) {
        uint32_t cap = c ? c->cap * 2 : HEAP_FIRST;
        if (cap > 65536)
            cap = 65536;
        if (cap < n)
            cap = (n + 7u) & ~7u;
        struct lfs_hchunk *nc = mp_malloc(HCHUNK_HDR + cap);
        if (!nc)
            return NULL;
        nc->next = c;
        nc->cap = cap;
        nc->used = 0;
        m->heap = nc;
        c = nc;
        at = 0;
    }
    c->used = at + n;
    m->heap_used += n;
    return hchunk_data(c) + at;
}

/* Bytes of the heap an entry refers to. */
static uint32_t entry_heap_bytes(const struct lfs_mentry *e)
{
    uint32_t n = (e->name ? e->nlen : 0u) + (e->sdata ? e->slen : 0u);
    n += e->nattr * (uint32_t)sizeof *e->attr;
    for (uint32_t i = 0; i < e->nattr; i++)
        n += e->attr[i].size;
    return n;
}

/* The entry goes away; its bytes stay in the heap until the model is packed. */
static void entry_kill(struct lfs_mdir *m, struct lfs_mentry *e)
{
    m->heap_dead += entry_heap_bytes(e);
    memset(e, 0, sizeof *e);
}

void lfs_mdir_free(struct lfs_mdir *m)
{
    free(m->e);
    heap_free(m->heap);
    m->e = NULL;
    m->heap = NULL;
    m->count = m->cap = 0;
    m->heap_used = m->heap_dead = 0;
}

void lfs_mdir_init(struct lfs_mdir *m)
{
    memset(m, 0, sizeof *m);
    m->pair[0] = m->pair[1] = LFS_BLOCK_NULL;
    m->tail[0] = m->tail[1] = LFS_BLOCK_NULL;
    m->ptag = 0xFFFFFFFFu;
    m->hi = LFS_HI_NONE;
}

/* *dst (holding old bytes, or NULL) becomes a heap copy of n bytes of src. Never NULL after
 * success, even for n == 0. */
static int heap_dup(struct lfs_mdir *m, uint8_t **dst, uint32_t old, const void *src, uint32_t n)
{
    uint8_t *p = heap_alloc(m, n, 0);
    if (!p)
        return LFS_ERR_NOMEM;
    if (n)
        memcpy(p, src, n);
    if (*dst)
        m->heap_dead += old;
    *dst = p;
    return 0;
}

static int mdir_reserve(struct lfs_mdir *m, uint32_t count)
{
    if (count <= m->cap)
        return 0;
    uint32_t cap = m->cap ? m->cap * 2 : 16;
    while (cap < count)
        cap *= 2;
    struct lfs_mentry *e = mp_realloc(m->e, cap * sizeof *e);
    if (!e)
        return LFS_ERR_NOMEM;
    memset(e + m->cap, 0, (cap - m->cap) * sizeof *e);
    m->e = e;
    m->cap = cap;
    return 0;
}

/* Copy n entries into m's (empty) entry array and a single chunk of m's heap, laid out in
 * one pass: per entry its attribute array (8-aligned), the attributes' bytes, name, struct. */
static int mdir_pack_from(struct lfs_mdir *m, const struct lfs_mentry *src, uint32_t n)
{
    uint32_t bytes = 0;
    for (uint32_t i = 0; i < n; i++)
        bytes += entry_heap_bytes(&src[i]) + (src[i].nattr ? 7u : 0u);
    m->count = 0;
    int err = mdir_reserve(m, n ? n : 1);
    if (err)
        return err;
    static uint8_t none[1]; /* where empty names point when no bytes are needed at all */
    uint8_t *p = none;
    if (bytes) {
        struct lfs_hchunk *c = mp_malloc(HCHUNK_HDR + bytes);
        if (!c)
            return LFS_ERR_NOMEM;
        c->next = m->heap;
        c->cap = bytes;
        m->heap = c;
        p = hchunk_data(c);
    }
    uint8_t *start = p;
    for (uint32_t i = 0; i < n; i++) {
        const struct lfs_mentry *s = &src[i];
        struct lfs_mentry *d = &m->e[i];
        *d = *s;
        d->attr = NULL;
        if (s->nattr) {
            p = start + ((uint32_t)(p - start) + 7u) / 8u * 8u;
            d->attr = (struct lfs_mattr *)(void *)p;
            p += s->nattr * sizeof *d->attr;
            for (uint32_t k = 0; k < s->nattr; k++) {
                d->attr[k] = s->attr[k];
                d->attr[k].data = p;
                if (s->attr[k].size)
                    memcpy(p, s->attr[k].data, s->attr[k].size);
                p += s->attr[k].size;
            }
        }
        if (s->name) {
            d->name = p;
            if (s->nlen)
                memcpy(p, s->name, s->nlen);
            p += s->nlen;
        }
        if (s->sdata) {
            d->sdata = p;
            if (s->slen)
                memcpy(p, s->sdata, s->slen);
            p += s->slen;
        }
    }
    m->count = n;
    if (bytes) {
        m->heap->used = (uint32_t)(p - start);
        m->heap_used += m->heap->used;
    }
    return 0;
}

int lfs_mdir_copy(struct lfs_mdir *dst, const struct lfs_mdir *src)
{
    *dst = *src;
    dst->e = NULL;
    dst->heap = NULL;
    dst->count = dst->cap = 0;
    dst->heap_used = dst->heap_dead = 0;
    int err = mdir_pack_from(dst, src->e, src->count);
    if (err)
        lfs_mdir_free(dst);
    return err;
}

/* Drop the bytes no entry refers to: pack the entries into a fresh heap. */
static int mdir_repack(struct lfs_mdir *m)
{
    struct lfs_mdir t;
    int err = lfs_mdir_copy(&t, m);
    if (err)
        return err;
    lfs_mdir_free(m);
    *m = t;
    return 0;
}

static uint32_t heap_cap(const struct lfs_mdir *m)
{
    uint32_t n = 0;
    for (const struct lfs_hchunk *c = m->heap; c; c = c->next)
        n += HCHUNK_HDR + c->cap;
    return n;
}

/* Memory a model holds (what the cache budget counts). */
static uint32_t mdir_bytes(const struct lfs_mdir *m)
{
    return (uint32_t)sizeof(struct lfs_mslot) + m->cap * (uint32_t)sizeof *m->e + heap_cap(m);
}

/* Apply one tag of a valid commit to the model (§4.6). */
static int mdir_apply(struct lfs_mdir *m, uint32_t tag, const uint8_t *data)
{
    uint32_t type3 = LFS_TAG_TYPE3(tag), id = LFS_TAG_ID(tag), size = LFS_TAG_SIZE(tag);
    int deleted = size == LFS_TAG_DELETED;
    if (deleted)
        size = 0;
    switch (LFS_TAG_TYPE1(tag)) {
    case 0: { /* NAME */
        if (id == LFS_ID_NONE)
            return 0;
        if (id >= m->count) {
            int err = mdir_reserve(m, id + 1);
            if (err)
                return err;
            m->count = id + 1;
        }
        struct lfs_mentry *e = &m->e[id];
        if (deleted) {
            if (e->name)
                m->heap_dead += e->nlen;
            e->name = NULL;
            e->ntype = 0;
            e->nlen = 0;
            return 0;
        }
        int err = heap_dup(m, &e->name, e->nlen, data, size);
        if (err)
            return err;
        e->ntype = (uint16_t)type3;
        e->nlen = (uint16_t)size;
        return 0;
    }
    case 2: { /* STRUCT */
        if (id >= m->count)
            return 0;
        struct lfs_mentry *e = &m->e[id];
        if (deleted) {
            if (e->sdata)
                m->heap_dead += e->slen;
            e->sdata = NULL;
            e->stype = 0;
            e->slen = 0;
            return 0;
        }
        int err = heap_dup(m, &e->sdata, e->slen, data, size);
        if (err)
            return err;
        e->stype = (uint16_t)type3;
        e->slen = (uint16_t)size;
        return 0;
    }
    case 3: { /* USERATTR */
        if (id >= m->count)
            return 0;
        struct lfs_mentry *e = &m->e[id];
        uint8_t type = (uint8_t)LFS_TAG_CHUNK(tag);
        for (uint32_t i = 0; i < e->nattr; i++) {
            if (e->attr[i].type != type)
                continue;
            if (deleted) {
                m->heap_dead += e->attr[i].size + (uint32_t)sizeof *e->attr;
                memmove(&e->attr[i], &e->attr[i + 1], (e->nattr - i - 1) * sizeof *e->attr);
                e->nattr--;
                return 0;
            }
            int err = heap_dup(m, &e->attr[i].data, e->attr[i].size, data, size);
            if (err)
                return err;
            e->attr[i].size = (uint16_t)size;
            return 0;
        }
        if (deleted)
            return 0;
        /* one more attribute: a longer array, the old one becomes dead */
        struct lfs_mattr *a = heap_alloc(m, (e->nattr + 1u) * (uint32_t)sizeof *a, 1);
        if (!a)
            return LFS_ERR_NOMEM;
        if (e->nattr)
            memcpy(a, e->attr, e->nattr * sizeof *a);
        m->heap_dead += e->nattr * (uint32_t)sizeof *a;
        a[e->nattr].type = type;
        a[e->nattr].size = (uint16_t)size;
        a[e->nattr].data = NULL;
        e->attr = a;
        e->nattr++;
        return heap_dup(m, &a[e->nattr - 1].data, 0, data, size);
    }
    case 4: /* SPLICE */
        if (type3 == LFS_T_CREATE) {
            if (id > m->count || m->count >= 0x3FF)
                return LFS_ERR_CORRUPT;
            int err = mdir_reserve(m, m->count + 1);
            if (err)
                return err;
            memmove(&m->e[id + 1], &m->e[id], (m->count - id) * sizeof *m->e);
            memset(&m->e[id], 0, sizeof *m->e);
            m->count++;
        } else if (type3 == LFS_T_DELETE) {
            if (id >= m->count)
                return LFS_ERR_CORRUPT;
            entry_kill(m, &m->e[id]);
            memmove(&m->e[id], &m->e[id + 1], (m->count - id - 1) * sizeof *m->e);
            m->count--;
            memset(&m->e[m->count], 0, sizeof *m->e);
        }
        return 0;
    case 6: /* TAIL */
        if (deleted || size < 8)
            return size < 8 && !deleted ? LFS_ERR_CORRUPT : 0;
        m->split = (type3 & 0xFF) != 0;
        m->tail[0] = get_le32(data);
        m->tail[1] = get_le32(data + 4);
        return 0;
    case 7: /* GSTATE */
        if (type3 != LFS_T_MOVESTATE || deleted || size < 12)
            return 0;
        m->has_delta = 1;
        m->delta.tag = get_le32(data);
        m->delta.pair[0] = get_le32(data + 4);
        m->delta.pair[1] = get_le32(data + 8);
        return 0;
    default:
        return 0;
    }
}

/* On-disk name order (§6.1): memcmp over the shorter length, then the longer name first.
 * Returns <0 when a sorts before b. */
int lfs_name_cmp(const uint8_t *a, uint32_t la, const uint8_t *b, uint32_t lb)
{
    int r = memcmp(a, b, la < lb ? la : lb);
    if (r)
        return r;
    return la > lb ? -1 : la < lb ? 1 : 0;
}

int lfs_mdir_entry_ok(const struct lfs_mentry *e)
{
    return e->ntype == LFS_T_REG || e->ntype == LFS_T_DIR;
}

/* m->hi: the greatest name among the pair's files and directories. */
static void mdir_set_hi(struct lfs_mdir *m)
{
    m->hi = LFS_HI_NONE;
    for (uint32_t i = 0; i < m->count; i++) {
        const struct lfs_mentry *e = &m->e[i];
        if (!lfs_mdir_entry_ok(e))
            continue;
        if (m->hi == LFS_HI_NONE ||
            lfs_name_cmp(e->name, e->nlen, m->e[m->hi].name, m->e[m->hi].nlen) > 0)
            m->hi = (uint16_t)i;
    }
}

struct pending {
    uint32_t tag;
    uint32_t off;
};

/* Parse one block of a pair into m (which must be freshly initialised). Returns 1 when at
 * least one valid commit was found, 0 when none, negative on error. */
static int parse_block(struct lfs_state *s, uint32_t block, struct lfs_mdir *m)
{
    uint32_t B = s->block_size;
    uint8_t *buf = s->fetchbuf;
    int err = lfs_bd_read(s, block, 0, buf, B);
    if (err)
        return err;
    m->rev = get_le32(buf);
    uint32_t off = 4, ptag = 0xFFFFFFFFu;
    uint32_t cstart = 0; /* a commit's CRC covers its bytes from here (the revision first) */
    /* tags of the commit being read (applied only when its CRC matches); a commit holds at
     * most B / 4 tags */
    struct pending *pend = mp_malloc((B / 4 + 1) * sizeof *pend);
    if (!pend)
        return LFS_ERR_NOMEM;
    uint32_t npend = 0;
    int commits = 0;
    int fcrc_pending = 0, fcrc_valid = 0;
    uint32_t fcrc_size = 0, fcrc_crc = 0, pfcrc_size = 0, pfcrc_crc = 0;
    int clean_end = 0; /* the scan stopped right after a CRC tag */
    uint32_t good_off = 4, good_ptag = 0xFFFFFFFFu;
    for (;;) {
        clean_end = npend == 0 && !fcrc_pending;
        if (B - off < 4)
            break;
        uint32_t tag = be32(buf + off) ^ ptag;
        if (tag >> 31)
            break;
        uint32_t dsize = LFS_TAG_DSIZE(tag);
        if (dsize > B - off)
            break;
        uint32_t type3 = LFS_TAG_TYPE3(tag);
        if (LFS_TAG_TYPE1(tag) == 5 && type3 != LFS_T_FCRC) {
            if (dsize < 8 ||
                get_le32(buf + off + 4) != lfs_crc(0xFFFFFFFFu, buf + cstart, off + 4 - cstart))
                break; /* torn commit */
            for (uint32_t i = 0; i < npend; i++) {
                uint32_t t = pend[i].tag;
                err = mdir_apply(m, t, buf + pend[i].off + 4);
                if (err)
                    goto out;
            }
            npend = 0;
            commits++;
            ptag = tag ^ ((LFS_TAG_CHUNK(tag) & 1u) << 31);
            off += dsize;
            good_off = off;
            good_ptag = ptag;
            cstart = off;
            fcrc_valid = fcrc_pending;
            fcrc_size = pfcrc_size;
            fcrc_crc = pfcrc_crc;
            fcrc_pending = 0;
            continue;
        }
        if (type3 == LFS_T_FCRC) {
            if (dsize >= 12) { /* not a "deleted" size: 8 bytes of data follow */
                fcrc_pending = 1;
                pfcrc_size = get_le32(buf + off + 4);
                pfcrc_crc = get_le32(buf + off + 8);
            }
        } else {
            pend[npend].tag = tag;
            pend[npend].off = off;
            npend++;
        }
        ptag = tag;
        off += dsize;
    }
    err = commits > 0;
    m->pair[0] = block;
    m->off = good_off;
    m->ptag = good_ptag;
    /* Appendable (§4.5 step 6): the log ended cleanly after a CRC on a prog boundary, and for
     * 2.1 the bytes after it still match the last FCRC. Writers also check the bytes they
     * overwrite read as erased. */
    m->appendable = 0;
    if (commits > 0 && clean_end && good_off % s->cfg.prog_size == 0 && good_off < B) {
        if (fcrc_valid) {
            if (fcrc_size <= B - good_off)
                m->appendable = lfs_crc(0xFFFFFFFFu, buf + good_off, fcrc_size) == fcrc_crc;
        } else {
            m->appendable = s->disk_version < LFS_DISK_VERSION_2_1;
        }
    }
out:
    free(pend);
    return err;
}

static int parse_pair(struct lfs_state *s, struct lfs_mdir *m, const uint32_t pair[2])
{
    lfs_mdir_init(m);
    if (pair[0] >= s->block_count || pair[1] >= s->block_count || pair[0] == pair[1])
        return LFS_ERR_CORRUPT;
    uint8_t r[2][4];
    int err = lfs_bd_read(s, pair[0], 0, r[0], 4);
    if (!err)
        err = lfs_bd_read(s, pair[1], 0, r[1], 4);
    if (err)
        return err;
    /* sequence comparison of revisions (§2) */
    int first = (int32_t)(get_le32(r[1]) - get_le32(r[0])) > 0 ? 1 : 0;
    for (int k = 0; k < 2; k++) {
        int i = k == 0 ? first : !first;
        err = parse_block(s, pair[i], m);
        if (err < 0) {
            lfs_mdir_free(m);
            lfs_mdir_init(m);
            return err;
        }
        if (err > 0) {
            m->pair[0] = pair[i];
            m->pair[1] = pair[!i];
            /* replaced tags and unused room are not kept (the model goes to the cache) */
            uint32_t live = m->heap_used - m->heap_dead;
            if (heap_cap(m) > live + live / 4 + 64) {
                err = mdir_repack(m);
                if (err) {
                    lfs_mdir_free(m);
                    lfs_mdir_init(m);
                    return err;
                }
            }
            return 0;
        }
        lfs_mdir_free(m);
        lfs_mdir_init(m);
    }
    return LFS_ERR_CORRUPT;
}

/* ---------------------------------------------------------------- parsed pair cache */

#define MCACHE_BUDGET_DEFAULT (8u << 20)

static uint32_t key_home(uint32_t block, uint32_t mask)
{
    return (block * 2654435761u) & mask;
}

static struct lfs_mkey *key_find(const struct lfs_mcache *c, uint32_t block)
{
    if (!c->tcap)
        return NULL;
    uint32_t mask = c->tcap - 1;
    for (uint32_t i = key_home(block, mask);; i = (i + 1) & mask) {
        struct lfs_mkey *k = &c->table[i];
        if (!k->slot)
            return NULL;
        if (k->block == block)
            return k;
    }
}

static void key_insert(struct lfs_mkey *table, uint32_t mask, uint32_t block,
                       struct lfs_mslot *slot)
{
    uint32_t i = key_home(block, mask);
    while (table[i].slot)
        i = (i + 1) & mask;
    table[i].block = block;
    table[i].slot = slot;
}

/* Room for `more` keys without growing the table (at most half full). */
static int key_reserve(struct lfs_mcache *c, uint32_t more)
{
    while ((c->tused + more) * 2 > c->tcap) {
        uint32_t cap = c->tcap ? c->tcap * 2 : 64;
        struct lfs_mkey *t = mp_calloc(cap, sizeof *t);
        if (!t)
            return LFS_ERR_NOMEM;
        for (uint32_t i = 0; i < c->tcap; i++)
            if (c->table[i].slot)
                key_insert(t, cap - 1, c->table[i].block, c->table[i].slot);
        free(c->table);
        c->table = t;
        c->tcap = cap;
    }
    return 0;
}

/* Remove a key, moving later keys of the same probe run back into the hole. */
static void key_del(struct lfs_mcache *c, struct lfs_mkey *k)
{
    uint32_t mask = c->tcap - 1;
    uint32_t hole = (uint32_t)(k - c->table);
    for (uint32_t j = (hole + 1) & mask; c->table[j].slot; j = (j + 1) & mask) {
        uint32_t h = key_home(c->table[j].block, mask);
        /* the key at j may fill the hole unless its home lies cyclically in (hole, j] */
        int stays = hole <= j ? (h > hole && h <= j) : (h > hole || h <= j);
        if (!stays) {
            c->table[hole] = c->table[j];
            hole = j;
        }
    }
    c->table[hole].slot = NULL;
    c->tused--;
}

static void slot_unlink(struct lfs_mcache *c, struct lfs_mslot *x)
{
    if (x->prev)
        x->prev->next = x->next;
    else
        c->head = x->next;
    if (x->next)
        x->next->prev = x->prev;
    else
        c->tail = x->prev;
    x->prev = x->next = NULL;
}

static void slot_push(struct lfs_mcache *c, struct lfs_mslot *x)
{
    x->prev = NULL;
    x->next = c->head;
    if (c->head)
        c->head->prev = x;
    c->head = x;
    if (!c->tail)
        c->tail = x;
}

static void slot_free(struct lfs_mcache *c, struct lfs_mslot *x)
{
    if (x->finger && c->fingers[x->finger - 1].gen == x->fgen)
        c->fingers[x->finger - 1].gen = 0; /* a pair it passes may change */
    for (int i = 0; i < 2; i++) {
        struct lfs_mkey *k = key_find(c, x->m.pair[i]);
        if (k && k->slot == x)
            key_del(c, k);
    }
    slot_unlink(c, x);
    c->bytes -= x->bytes;
    c->nslots--;
    lfs_mdir_free(&x->m);
    free(x);
}

void lfs_mcache_drop(struct lfs_state *s, uint32_t block)
{
    struct lfs_mkey *k = key_find(&s->mc, block);
    if (k)
        slot_free(&s->mc, k->slot);
}

void lfs_mcache_clear(struct lfs_state *s)
{
    struct lfs_mcache *c = &s->mc;
    while (c->head)
        slot_free(c, c->head);
    free(c->table);
    c->table = NULL;
    c->tcap = c->tused = 0;
    for (int i = 0; i < LFS_FINGERS; i++)
        c->fingers[i].gen = 0;
}

/* Put slot x (its model complete) into the cache; its two keys must fit the table already.
 * Pairs sharing a block with it go first, so that a block belongs to one slot at most. */
static void slot_insert(struct lfs_state *s, struct lfs_mslot *x)
{
    struct lfs_mcache *c = &s->mc;
    lfs_mcache_drop(s, x->m.pair[0]);
    lfs_mcache_drop(s, x->m.pair[1]);
    MP_ASSERT((c->tused + 2) * 2 <= c->tcap); /* reserved by the caller */
    key_insert(c->table, c->tcap - 1, x->m.pair[0], x);
    key_insert(c->table, c->tcap - 1, x->m.pair[1], x);
    c->tused += 2;
    x->finger = x->fgen = 0;
    mdir_set_hi(&x->m);
    x->bytes = mdir_bytes(&x->m);
    slot_push(c, x);
    c->bytes += x->bytes;
    c->nslots++;
    size_t budget = s->cfg.meta_cache_size ? s->cfg.meta_cache_size : MCACHE_BUDGET_DEFAULT;
    while (c->bytes > budget && c->tail != x)
        slot_free(c, c->tail);
}

/* Take *m (a parsed pair) into the cache; on success the slot owns it. */
static struct lfs_mslot *mcache_insert(struct lfs_state *s, struct lfs_mdir *m)
{
    struct lfs_mslot *x = mp_malloc(sizeof *x);
    if (!x || key_reserve(&s->mc, 2)) {
        free(x);
        return NULL;
    }
    x->m = *m;
    slot_insert(s, x);
    return x;
}

/* A commit keeps its model in the cache afterwards. Everything that takes is allocated here,
 * before the commit writes anything: a failure afterwards would report an error for a
 * change that is on the flash. NULL in *out: nothing to keep (see below). */
int lfs_mcache_prepare(struct lfs_state *s, const struct lfs_mdir *m, struct lfs_mslot **out)
{
    *out = NULL;
    if (lfs_pair_isnull(m->pair) || m->pair[0] == m->pair[1])
        return 0;
    /* an id without a name is not written by a compaction: parsing renumbers what follows,
     * so such a model would not be what the pair holds (crafted images only) */
    for (uint32_t i = 0; i < m->count; i++)
        if (!m->e[i].ntype)
            return 0;
    struct lfs_mslot *x = mp_malloc(sizeof *x);
    if (!x)
        return LFS_ERR_NOMEM;
    int err = key_reserve(&s->mc, 2);
    if (!err)
        err = lfs_mdir_copy(&x->m, m);
    if (err) {
        free(x);
        return err;
    }
    *out = x;
    return 0;
}

/* After the commit: the prepared copy takes the final state of m, where only plain fields
 * changed. A pair that split is not kept: the copy would hold the entries that moved to the
 * new pair too (it is parsed again when next used). */
void lfs_mcache_install(struct lfs_state *s, struct lfs_mslot *x, const struct lfs_mdir *m)
{
    if (!x)
        return;
    MP_ASSERT(m->count <= x->m.count);
    if (m->count != x->m.count) {
        lfs_mcache_discard(x);
        return;
    }
    x->m.pair[0] = m->pair[0];
    x->m.pair[1] = m->pair[1];
    x->m.rev = m->rev;
    x->m.off = m->off;
    x->m.ptag = m->ptag;
    x->m.appendable = m->appendable;
    x->m.count = m->count;
    x->m.split = m->split;
    x->m.tail[0] = m->tail[0];
    x->m.tail[1] = m->tail[1];
    x->m.has_delta = m->has_delta;
    x->m.delta = m->delta;
    slot_insert(s, x);
}

void lfs_mcache_discard(struct lfs_mslot *x)
{
    if (!x)
        return;
    lfs_mdir_free(&x->m);
    free(x);
}

static int bytes_differ(const uint8_t *a, const uint8_t *b, uint32_t n)
{
    return n && (!a || !b || memcmp(a, b, n) != 0);
}

/* The same state as far as any reader or writer can tell. */
static int mdir_same(const struct lfs_mdir *a, const struct lfs_mdir *b)
{
    struct lfs_gstate za = a->has_delta ? a->delta : (struct lfs_gstate){0, {0, 0}};
    struct lfs_gstate zb = b->has_delta ? b->delta : (struct lfs_gstate){0, {0, 0}};
    if (a->pair[0] != b->pair[0] || a->pair[1] != b->pair[1] || a->rev != b->rev ||
        a->off != b->off || a->ptag != b->ptag || !a->appendable != !b->appendable ||
        a->count != b->count || !a->split != !b->split || a->tail[0] != b->tail[0] ||
        a->tail[1] != b->tail[1] || memcmp(&za, &zb, sizeof za) != 0 || a->hi != b->hi)
        return 0;
    for (uint32_t i = 0; i < a->count; i++) {
        const struct lfs_mentry *x = &a->e[i], *y = &b->e[i];
        if (x->ntype != y->ntype || x->nlen != y->nlen || x->stype != y->stype ||
            x->slen != y->slen || x->nattr != y->nattr ||
            bytes_differ(x->name, y->name, x->nlen) || bytes_differ(x->sdata, y->sdata, x->slen))
            return 0;
        for (uint32_t k = 0; k < x->nattr; k++)
            if (x->attr[k].type != y->attr[k].type || x->attr[k].size != y->attr[k].size ||
                bytes_differ(x->attr[k].data, y->attr[k].data, x->attr[k].size))
                return 0;
    }
    return 1;
}

/* ---------------------------------------------------------------- lookup fingers */

struct lfs_finger *lfs_finger_claim(struct lfs_state *s, const uint32_t first[2])
{
    struct lfs_mcache *c = &s->mc;
    for (int i = 0; i < LFS_FINGERS; i++) {
        struct lfs_finger *f = &c->fingers[i];
        if (f->gen && lfs_pair_same(f->first, first))
            return f;
    }
    struct lfs_finger *f = &c->fingers[c->fnext];
    c->fnext = (c->fnext + 1) % LFS_FINGERS;
    if (++c->fgen_next == 0)
        c->fgen_next = 1;
    f->gen = c->fgen_next;
    f->first[0] = f->at[0] = first[0];
    f->first[1] = f->at[1] = first[1];
    f->has_lo = 0;
    f->lolen = 0;
    return f;
}

void lfs_finger_mark(struct lfs_state *s, const struct lfs_mdir *m, const struct lfs_finger *f)
{
    struct lfs_mslot *x = (struct lfs_mslot *)(void *)((const uint8_t *)m -
                                                       offsetof(struct lfs_mslot, m));
    x->finger = (uint32_t)(f - s->mc.fingers) + 1;
    x->fgen = f->gen;
}

/* A valid finger's promise, checked on the flash: the pairs before `at` continue the chain
 * to `at` and hold no name after `lo` (no name at all without lo). */
static int finger_check(struct lfs_state *s, const struct lfs_finger *f)
{
    uint32_t pair[2] = {f->first[0], f->first[1]};
    for (uint32_t hops = 0; !lfs_pair_same(pair, f->at); hops++) {
        struct lfs_mdir m;
        if (hops > s->block_count || parse_pair(s, &m, pair))
            return LFS_ERR_CORRUPT;
        mdir_set_hi(&m);
        int bad = !m.split || lfs_pair_isnull(m.tail) ||
                  (m.hi != LFS_HI_NONE &&
                   (!f->has_lo ||
                    lfs_name_cmp(m.e[m.hi].name, m.e[m.hi].nlen, f->lo, f->lolen) > 0));
        pair[0] = m.tail[0];
        pair[1] = m.tail[1];
        lfs_mdir_free(&m);
        if (bad)
            return LFS_ERR_CORRUPT;
    }
    return 0;
}

int lfs_mcache_check(struct lfs_state *s)
{
    for (int i = 0; i < LFS_FINGERS; i++)
        if (s->mc.fingers[i].gen && finger_check(s, &s->mc.fingers[i]))
            return LFS_ERR_CORRUPT;
    for (struct lfs_mslot *x = s->mc.head; x; x = x->next) {
        struct lfs_mdir m;
        int err = parse_pair(s, &m, x->m.pair);
        if (err)
            return err;
        mdir_set_hi(&m);
        int same = mdir_same(&x->m, &m);
        lfs_mdir_free(&m);
        if (!same)
            return LFS_ERR_CORRUPT;
    }
    return 0;
}

int lfs_mdir_get(struct lfs_state *s, const uint32_t pair[2], const struct lfs_mdir **out)
{
    struct lfs_mkey *k = key_find(&s->mc, pair[0]);
    if (k && lfs_pair_same(k->slot->m.pair, pair)) {
        slot_unlink(&s->mc, k->slot);
        slot_push(&s->mc, k->slot);
        *out = &k->slot->m;
        return 0;
    }
    struct lfs_mdir m;
    int err = parse_pair(s, &m, pair);
    if (err)
        return err;
    struct lfs_mslot *x = mcache_insert(s, &m);
    if (!x) {
        lfs_mdir_free(&m);
        return LFS_ERR_NOMEM;
    }
    *out = &x->m;
    return 0;
}

int lfs_mdir_fetch(struct lfs_state *s, struct lfs_mdir *m, const uint32_t pair[2])
{
    const struct lfs_mdir *c;
    lfs_mdir_init(m);
    int err = lfs_mdir_get(s, pair, &c);
    if (err)
        return err;
    err = lfs_mdir_copy(m, c);
    if (err)
        lfs_mdir_init(m);
    return err;
}

/* ---------------------------------------------------------------- writing commits */

struct cwriter {
    struct lfs_state *s;
    uint8_t *buf;   /* bytes of the block from `begin` */
    uint32_t begin; /* block offset of buf[0] */
    uint32_t off;   /* block offset of the next byte */
    uint32_t limit; /* commit must end by here */
    uint32_t ptag;
    uint32_t crc;
};

static int cw_bytes(struct cwriter *w, const void *data, uint32_t n)
{
    /* buf holds the block from begin: a commit never reaches past the block */
    MP_ASSERT(w->begin <= w->off && w->off <= w->limit && w->limit <= w->s->block_size);
    if (n > w->limit - w->off)
        return LFS_ERR_NOSPC;
    memcpy(w->buf + (w->off - w->begin), data, n);
    w->crc = lfs_crc(w->crc, data, n);
    w->off += n;
    return 0;
}

static int cw_tag(struct cwriter *w, uint32_t tag, const void *data)
{
    uint8_t t[4];
    tag &= 0x7FFFFFFFu;
    put_be32(t, tag ^ w->ptag);
    uint32_t size = LFS_TAG_SIZE(tag) == LFS_TAG_DELETED ? 0 : LFS_TAG_SIZE(tag);
    if (4 + size > w->limit - w->off)
        return LFS_ERR_NOSPC;
    int err = cw_bytes(w, t, 4);
    if (!err && size)
        err = cw_bytes(w, data, size);
    w->ptag = tag;
    return err;
}

/* End the commit (§4.3, §4.4): optional FCRC, CRC tag whose size absorbs the padding up to a
 * prog boundary, several CRC-only commits if the padding exceeds a tag's size. Then program
 * the bytes and check them by reading back. *appendable_out: what parsing the block would
 * find (§4.5 step 6), so that the writer's model equals a parsed one. */
static int cw_finish(struct cwriter *w, uint32_t block, uint32_t *ptag_out, int *appendable_out)
{
    struct lfs_state *s = w->s;
    uint32_t B = s->block_size, P = s->cfg.prog_size;
    uint32_t end = w->off + 20 < B ? w->off + 20 : B;
    end = align_up(end, P);
    if (end > B)
        return LFS_ERR_NOSPC;
    if (end > w->limit && w->limit < B)
        return LFS_ERR_NOSPC;
    uint32_t start = w->begin;
    int fcrc = 0;
    while (w->off < end) {
        fcrc = 0;
        uint32_t noff = end - (w->off + 4);
        if (noff > 0x3FE)
            noff = 0x3FE;
        noff += w->off + 4;
        if (noff < end && noff > end - 20)
            noff = end - 20;
        uint8_t next = 0xFF;
        if (noff >= end && noff <= B - P) {
            int err = lfs_bd_read(s, block, noff, &next, 1);
            if (err)
                return err;
            if (s->disk_version >= LFS_DISK_VERSION_2_1) {
                uint8_t *tmp = mp_malloc(P);
                if (!tmp)
                    return LFS_ERR_NOMEM;
                err = lfs_bd_read(s, block, noff, tmp, P);
                uint8_t fc[8];
                put_le32(fc, P);
                put_le32(fc + 4, lfs_crc(0xFFFFFFFFu, tmp, P));
                free(tmp);
                if (err)
                    return err;
                uint32_t lim = w->limit;
                w->limit = B;
                err = cw_tag(w, LFS_MKTAG(LFS_T_FCRC, LFS_ID_NONE, 8), fc);
                w->limit = lim;
                if (err)
                    return err;
                fcrc = 1;
            }
        }
        uint32_t valid = (uint32_t)(uint8_t)~next >> 7;
        if (noff < w->off + 8)
            return LFS_ERR_NOSPC;
        MP_ASSERT(noff - (w->off + 4) <= 0x3FE); /* the padding fits the tag's size field */
        uint32_t ctag = LFS_MKTAG(LFS_T_CRC + valid, LFS_ID_NONE, noff - (w->off + 4));
        uint8_t t[8];
        put_be32(t, ctag ^ w->ptag);
        w->crc = lfs_crc(w->crc, t, 4);
        put_le32(t + 4, w->crc);
        memcpy(w->buf + (w->off - w->begin), t, 8);
        memset(w->buf + (w->off + 8 - w->begin), 0xFF, noff - (w->off + 8));
        w->off = noff;
        w->ptag = ctag ^ (valid << 31);
        w->crc = 0xFFFFFFFFu;
    }
    MP_ASSERT(w->off == end && end % P == 0); /* a commit ends on a prog boundary (§4.3) */
    int err = lfs_bd_prog(s, block, start, w->buf, w->off - start);
    if (err)
        return err;
    /* read back: a device that did not program what we asked is reported, not trusted */
    uint8_t *chk = mp_malloc(w->off - start);
    if (!chk)
        return LFS_ERR_NOMEM;
    err = lfs_bd_read(s, block, start, chk, w->off - start);
    if (!err && memcmp(chk, w->buf, w->off - start) != 0)
        err = LFS_ERR_CORRUPT;
    free(chk);
    *ptag_out = w->ptag;
    *appendable_out = w->off % P == 0 && w->off < B &&
                      (fcrc || s->disk_version < LFS_DISK_VERSION_2_1);
    return err;
}

static uint32_t entry_dsize(const struct lfs_mentry *e)
{
    uint32_t n = 0;
    if (e->ntype)
        n += 4 + e->nlen;
    if (e->stype)
        n += 4 + e->slen;
    for (uint32_t i = 0; i < e->nattr; i++)
        n += 4 + e->attr[i].size;
    return n;
}

static int cw_entry(struct cwriter *w, const struct lfs_mentry *e, uint32_t id)
{
    int err = 0;
    if (e->ntype)
        err = cw_tag(w, LFS_MKTAG(e->ntype, id, e->nlen), e->name);
    if (!err && e->stype)
        err = cw_tag(w, LFS_MKTAG(e->stype, id, e->slen), e->sdata);
    for (uint32_t i = 0; !err && i < e->nattr; i++)
        err = cw_tag(w, LFS_MKTAG(LFS_T_USERATTR + e->attr[i].type, id, e->attr[i].size),
                     e->attr[i].data);
    return err;
}

static void tail_bytes(uint8_t out[8], const uint32_t tail[2])
{
    put_le32(out, tail[0]);
    put_le32(out + 4, tail[1]);
}

static void delta_bytes(uint8_t out[12], const struct lfs_gstate *g)
{
    put_le32(out, g->tag);
    put_le32(out + 4, g->pair[0]);
    put_le32(out + 8, g->pair[1]);
}

/* Write the whole model into the pair's other block with revision rev+1 (§9.2). */
static int mdir_write_compact(struct lfs_state *s, struct lfs_mdir *m)
{
    uint32_t block = m->pair[1];
    int err = lfs_bd_erase(s, block);
    if (err)
        return err;
    struct cwriter w = {s, s->commitbuf, 0, 0, s->block_size - 8, 0xFFFFFFFFu, 0xFFFFFFFFu};
    uint8_t rev[4];
    put_le32(rev, m->rev + 1);
    err = cw_bytes(&w, rev, 4);
    for (uint32_t i = 0; !err && i < m->count; i++)
        err = cw_entry(&w, &m->e[i], i);
    if (!err && !lfs_pair_isnull(m->tail)) {
        uint8_t t[8];
        tail_bytes(t, m->tail);
        err = cw_tag(&w, LFS_MKTAG(m->split ? LFS_T_HARDTAIL : LFS_T_SOFTTAIL, LFS_ID_NONE, 8), t);
    }
    if (!err && m->has_delta && !lfs_gstate_iszero(&m->delta)) {
        uint8_t d[12];
        delta_bytes(d, &m->delta);
        err = cw_tag(&w, LFS_MKTAG(LFS_T_MOVESTATE, LFS_ID_NONE, 12), d);
    }
    w.limit = s->block_size;
    uint32_t ptag;
    int appendable;
    if (!err)
        err = cw_finish(&w, block, &ptag, &appendable);
    if (err)
        return err;
    uint32_t t = m->pair[0];
    m->pair[0] = m->pair[1];
    m->pair[1] = t;
    m->rev++;
    m->off = w.off;
    m->ptag = ptag;
    m->appendable = appendable;
    return 0;
}

/* Largest compacted size before a pair is split (§9.3). */
static uint32_t split_threshold(const struct lfs_state *s)
{
    uint32_t half = align_up(s->block_size / 2, s->cfg.prog_size);
    uint32_t lim = s->block_size - 40;
    return half < lim ? half : lim;
}

static uint32_t range_size(const struct lfs_mdir *m, uint32_t a, uint32_t b)
{
    uint32_t n = 0;
    for (uint32_t i = a; i < b; i++)
        n += entry_dsize(&m->e[i]);
    return n;
}

/* A new, empty pair (§9.4): two free blocks, revision from the first one rounded up so the
 * pair is not due for wear levelling right away. */
int lfs_mdir_alloc(struct lfs_state *s, struct lfs_mdir *m)
{
    lfs_mdir_init(m);
    uint32_t a, b;
    int err = lfs_alloc(s, &b);
    if (!err)
        err = lfs_alloc(s, &a);
    if (err)
        return err;
    MP_ASSERT(a != b); /* one block twice would lose the pair at its first compaction */
    uint8_t r[4];
    err = lfs_bd_read(s, a, 0, r, 4);
    if (err)
        return err;
    uint32_t cycle = ((uint32_t)(s->cfg.block_cycles > 0 ? s->cfg.block_cycles : 0) + 1) | 1;
    uint32_t rev = get_le32(r);
    m->rev = (rev + (cycle - 1)) / cycle * cycle; /* 32-bit wrap intended, as upstream */
    m->pair[0] = a;
    m->pair[1] = b;
    m->appendable = 0;
    return 0;
}

/* Compact m, splitting off upper ranges of ids into new pairs when it is too large. */
static int mdir_compact(struct lfs_state *s, struct lfs_mdir *m)
{
    uint32_t T = split_threshold(s);
    uint32_t end = m->count;
    for (uint32_t guard = 0; guard < 0x400; guard++) {
        if (end < 0xFF && range_size(m, 0, end) <= T)
            break;
        uint32_t split = 0;
        while (end - split > 1 && !(end - split < 0xFF && range_size(m, split, end) <= T))
            split += (end - split) / 2;
        if (split == 0)
            break;
        /* the upper range [split, end) moves to a new pair that takes over our tail */
        struct lfs_mdir n;
        int err = lfs_mdir_alloc(s, &n);
        if (err == LFS_ERR_NOSPC)
            break; /* full: keep everything in this pair if it fits (deletes must work) */
        if (err)
            return err;
        err = mdir_pack_from(&n, &m->e[split], end - split);
        if (err) {
            lfs_mdir_free(&n);
            return err;
        }
        n.split = m->split;
        n.tail[0] = m->tail[0];
        n.tail[1] = m->tail[1];
        /* the new pair's blocks stay private until m points at them */
        err = mdir_write_compact(s, &n);
        if (err) {
            lfs_mdir_free(&n);
            return err;
        }
        for (uint32_t i = split; i < end; i++)
            entry_kill(m, &m->e[i]);
        m->count = split;
        m->split = 1;
        m->tail[0] = n.pair[0];
        m->tail[1] = n.pair[1];
        lfs_mdir_free(&n);
        end = split;
    }
    return mdir_write_compact(s, m);
}

/* Size a set of ops takes when appended. */
static uint32_t ops_size(const struct lfs_mop *ops, int n)
{
    uint32_t sz = 0;
    for (int i = 0; i < n; i++)
        sz += LFS_TAG_DSIZE(ops[i].tag);
    return sz;
}

static int region_erased(struct lfs_state *s, uint32_t block, uint32_t off, uint32_t len)
{
    uint8_t *tmp = mp_malloc(len ? len : 1);
    if (!tmp)
        return LFS_ERR_NOMEM;
    int err = lfs_bd_read(s, block, off, tmp, len);
    int ok = 1;
    for (uint32_t i = 0; !err && i < len; i++)
        if (tmp[i] != 0xFF) {
            ok = 0;
            break;
        }
    free(tmp);
    return err ? err : ok;
}

static int mdir_commit_write(struct lfs_state *s, struct lfs_mdir *m, const struct lfs_mop *ops,
                             int n, int write_delta, const struct lfs_gstate *pdelta);

int lfs_mdir_commit(struct lfs_state *s, struct lfs_mdir *m, const struct lfs_mop *ops, int n,
                    const struct lfs_gstate *absorb)
{
    /* this pair's new delta carries any pending global change (§8) */
    struct lfs_gstate delta = m->has_delta ? m->delta : (struct lfs_gstate){0, {0, 0}};
    struct lfs_gstate old = delta;
    lfs_gstate_xor(&delta, &s->gdisk);
    lfs_gstate_xor(&delta, &s->gstate);
    if (absorb)
        lfs_gstate_xor(&delta, absorb);
    delta.tag &= ~0x3FFu;
    int write_delta = memcmp(&delta, &old, sizeof delta) != 0;

    int err = lfs_bd_sync(s); /* data before the metadata that refers to it */
    if (err)
        return err;
    for (int i = 0; i < n; i++) {
        err = mdir_apply(m, ops[i].tag, ops[i].data);
        if (err)
            return err;
    }
    m->has_delta = m->has_delta || write_delta;
    m->delta = delta;
    struct lfs_mslot *keep;
    err = lfs_mcache_prepare(s, m, &keep);
    if (err)
        return err;
    err = mdir_commit_write(s, m, ops, n, write_delta, &delta);
    if (err) {
        lfs_mcache_discard(keep);
        return err;
    }
    /* the writer's model is what parsing the pair would give */
    lfs_mcache_install(s, keep, m);
    return 0;
}

/* The writing half of lfs_mdir_commit: append when the block allows, else compact. */
static int mdir_commit_write(struct lfs_state *s, struct lfs_mdir *m, const struct lfs_mop *ops,
                             int n, int write_delta, const struct lfs_gstate *pdelta)
{
    struct lfs_gstate delta = *pdelta;
    int err = 0;
    int done = 0;
    if (m->appendable && m->count < 0xFF) {
        uint32_t need = ops_size(ops, n) + (write_delta ? 16 : 0);
        uint32_t end = align_up(m->off + need + 20, s->cfg.prog_size);
        if (end <= s->block_size - 8) {
            int er = region_erased(s, m->pair[0], m->off, end - m->off);
            if (er < 0)
                return er;
            if (er) {
                struct cwriter w = {s, s->commitbuf, m->off, m->off, s->block_size - 8,
                                    m->ptag, 0xFFFFFFFFu};
                for (int i = 0; !err && i < n; i++)
                    err = cw_tag(&w, ops[i].tag, ops[i].data);
                if (!err && write_delta) {
                    uint8_t d[12];
                    delta_bytes(d, &delta);
                    err = cw_tag(&w, LFS_MKTAG(LFS_T_MOVESTATE, LFS_ID_NONE, 12), d);
                }
                w.limit = s->block_size;
                uint32_t ptag;
                int appendable;
                if (!err)
                    err = cw_finish(&w, m->pair[0], &ptag, &appendable);
                if (err)
                    return err;
                m->off = w.off;
                m->ptag = ptag;
                m->appendable = appendable;
                done = 1;
            }
        }
    }
    if (!done) {
        err = mdir_compact(s, m);
        if (err)
            return err;
    }
    s->gdisk = s->gstate;
    return lfs_bd_sync(s);
}

/* Rewrite a pair from its model without changes to entries (used by format). */
int lfs_mdir_force_compact(struct lfs_state *s, struct lfs_mdir *m)
{
    struct lfs_mslot *keep;
    int err = lfs_mcache_prepare(s, m, &keep);
    if (err)
        return err;
    err = mdir_compact(s, m);
    if (!err)
        err = lfs_bd_sync(s);
    if (err) {
        lfs_mcache_discard(keep);
        return err;
    }
    lfs_mcache_install(s, keep, m);
    return 0;
}
