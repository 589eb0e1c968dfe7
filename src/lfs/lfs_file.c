/* Files: inline contents (§7.1) and CTZ skip lists (§7.2). A write never modifies a block in
 * place: it builds new blocks from the written position on (copying the unchanged prefix of
 * that block and, when flushed, the rest of the old file), and the file's struct is committed
 * only at sync/close, after its blocks are programmed. */
#include <stdlib.h>
#include <string.h>

#include "lfs/lfs_int.h"
#include "lfs/lfs_meta.h"
#include "lfs/lfs_ops.h"
#include "util/alloc.h"
#include "util/bytes.h"

#define COPY_CHUNK 256

static uint32_t ctz32(uint32_t v)
{
    return v ? (uint32_t)__builtin_ctz(v) : 32;
}

static uint32_t log2_floor(uint32_t v)
{
    return 31 - (uint32_t)__builtin_clz(v);
}

/* Data offset of block index n (after its pointers). */
static uint32_t ctz_dstart(uint32_t n)
{
    return n ? 4 * (ctz32(n) + 1) : 0;
}

lfs_size_t lfs_ctz_block_count(lfs_size_t block_size, lfs_size_t size)
{
    lfs_size_t n = 0;
    for (lfs_size_t left = size; left > 0; n++) {
        lfs_size_t room = block_size - ctz_dstart(n);
        left -= left < room ? left : room;
    }
    return n;
}

size_t lfs_ctz_layout(lfs_size_t block_size, const lfs_block_t *blocks, const uint8_t *data,
                      lfs_size_t size, uint8_t *out)
{
    size_t end = 0;
    lfs_size_t done = 0;
    for (uint32_t i = 0; done < size; i++) {
        uint8_t *b = out + (size_t)i * block_size;
        memset(b, 0xFF, block_size);
        uint32_t skips = i ? ctz32(i) + 1 : 0;
        for (uint32_t k = 0; k < skips; k++) /* pointer k: the block of index i - 2^k */
            put_le32(b + 4 * k, blocks[i - (1u << k)]);
        lfs_size_t room = block_size - 4 * skips;
        lfs_size_t n = size - done < room ? size - done : room;
        memcpy(b + 4 * skips, data + done, n);
        done += n;
        end = (size_t)i * block_size + 4 * skips + n;
    }
    return end;
}

int lfs_ctz_blocks(lfs_t *lfs, lfs_block_t head, lfs_block_t *blocks, lfs_size_t count)
{
    if (!lfs || !lfs->st || count == 0)
        return LFS_ERR_INVAL;
    struct lfs_state *s = lfs->st;
    uint32_t i = count - 1;
    blocks[i] = head;
    while (i > 0) {
        if (blocks[i] >= s->block_count)
            return LFS_ERR_CORRUPT;
        /* an even index holds at least two pointers: the two blocks before it in one read */
        uint32_t n = (i & 1) ? 1 : 2;
        uint8_t p[8];
        int err = lfs_bd_read(s, blocks[i], 0, p, 4 * n);
        if (err)
            return err;
        blocks[i - 1] = get_le32(p);
        if (n == 2)
            blocks[i - 2] = get_le32(p + 4);
        i -= n;
    }
    return blocks[0] < s->block_count ? 0 : LFS_ERR_CORRUPT;
}

/* Block number of index target in the list whose last block is head (file size size). */
static int ctz_find(struct lfs_state *s, uint32_t head, uint32_t size, uint32_t target,
                    uint32_t *block)
{
    if (size == 0)
        return LFS_ERR_CORRUPT;
    uint32_t pos = size - 1;
    uint32_t cur = lfs_ctz_index(s, &pos);
    if (target > cur)
        return LFS_ERR_CORRUPT;
    while (cur > target) {
        uint32_t skip = log2_floor(cur - target);
        if (skip > ctz32(cur))
            skip = ctz32(cur);
        uint8_t p[4];
        int err = lfs_bd_read(s, head, 4 * skip, p, 4);
        if (err)
            return err;
        head = get_le32(p);
        cur -= 1u << skip;
    }
    if (head >= s->block_count)
        return LFS_ERR_CORRUPT;
    *block = head;
    return 0;
}

/* Read from a CTZ list (head, size). */
static int ctz_read(struct lfs_state *s, uint32_t head, uint32_t size, uint32_t pos, uint8_t *buf,
                    uint32_t n)
{
    while (n > 0) {
        uint32_t off = pos;
        uint32_t idx = lfs_ctz_index(s, &off);
        uint32_t block;
        int err = ctz_find(s, head, size, idx, &block);
        if (err)
            return err;
        uint32_t k = s->block_size - off;
        if (k > n)
            k = n;
        err = lfs_bd_read(s, block, off, buf, k);
        if (err)
            return err;
        pos += k;
        buf += k;
        n -= k;
    }
    return 0;
}

static struct lfs_file_state *file_of(lfs_t *lfs, lfs_file_t *file)
{
    if (!lfs || !lfs->st || !file || !file->st)
        return NULL;
    return file->st;
}

/* ---------------------------------------------------------------- building blocks */

/* The old contents (what the file was when the build started). */
static int base_read(struct lfs_state *s, struct lfs_file_state *f, uint32_t pos, uint8_t *buf,
                     uint32_t n, uint32_t bsize)
{
    if (pos > bsize || n > bsize - pos)
        return LFS_ERR_CORRUPT;
    if (f->is_inline) {
        memcpy(buf, f->ibuf + pos, n);
        return 0;
    }
    return ctz_read(s, f->head, bsize, pos, buf, n);
}

static int new_block(struct lfs_state *s, struct lfs_file_state *f, uint32_t bsize)
{
    uint32_t b;
    int err = lfs_alloc(s, &b);
    if (!err)
        err = lfs_bd_erase(s, b);
    if (err)
        return err;
    memset(f->bbuf, 0xFF, s->block_size);
    uint32_t n = f->bindex;
    uint32_t skips = n ? ctz32(n) + 1 : 0;
    uint32_t ptr = 0;
    for (uint32_t i = 0; i < skips; i++) {
        if (i == 0) {
            if (f->last_block != LFS_BLOCK_NULL)
                ptr = f->last_block;
            else if (f->is_inline)
                return LFS_ERR_CORRUPT;
            else
                err = ctz_find(s, f->head, bsize, n - 1, &ptr);
        } else {
            /* pointer i-1 of block n - 2^(i-1) is block n - 2^i */
            uint8_t p[4];
            err = lfs_bd_read(s, ptr, 4 * (i - 1), p, 4);
            ptr = get_le32(p);
        }
        if (err)
            return err;
        put_le32(f->bbuf + 4 * i, ptr);
    }
    f->bblock = b;
    f->bfill = 4 * skips;
    f->have_block = 1;
    return 0;
}

static int program_block(struct lfs_state *s, struct lfs_file_state *f)
{
    uint32_t P = s->cfg.prog_size;
    uint32_t len = (f->bfill + P - 1) / P * P;
    int err = lfs_bd_prog(s, f->bblock, 0, f->bbuf, len);
    if (err)
        return err;
    f->last_block = f->bblock;
    f->last_end = f->wpos;
    f->have_block = 0;
    f->bindex++;
    return 0;
}

static int write_bytes(struct lfs_state *s, struct lfs_file_state *f, const uint8_t *data,
                       uint32_t n, uint32_t bsize)
{
    while (n > 0) {
        if (!f->have_block) {
            int err = new_block(s, f, bsize);
            if (err)
                return err;
        }
        uint32_t k = s->block_size - f->bfill;
        if (k > n)
            k = n;
        memcpy(f->bbuf + f->bfill, data, k);
        f->bfill += k;
        f->wpos += k;
        data += k;
        n -= k;
        if (f->bfill == s->block_size) {
            int err = program_block(s, f);
            if (err)
                return err;
        }
    }
    return 0;
}

/* Copy [from, to) of the old contents into the blocks being built. */
static int copy_base(struct lfs_state *s, struct lfs_file_state *f, uint32_t from, uint32_t to,
                     uint32_t bsize)
{
    uint8_t tmp[COPY_CHUNK];
    while (from < to) {
        uint32_t k = to - from < COPY_CHUNK ? to - from : COPY_CHUNK;
        int err = base_read(s, f, from, tmp, k, bsize);
        if (!err)
            err = write_bytes(s, f, tmp, k, bsize);
        if (err)
            return err;
        from += k;
    }
    return 0;
}

/* Size of the contents the current build started from. */
static uint32_t build_base_size(const struct lfs_file_state *f)
{
    return f->bsize;
}

static int start_build(struct lfs_state *s, struct lfs_file_state *f, uint32_t p)
{
    f->building = 1;
    f->have_block = 0;
    f->last_block = LFS_BLOCK_NULL;
    f->last_end = 0;
    f->bsize = f->size;
    if (f->is_inline || p == 0) {
        f->bindex = 0;
        f->wpos = 0;
        return copy_base(s, f, 0, p, f->bsize);
    }
    uint32_t off = p;
    uint32_t idx = lfs_ctz_index(s, &off);
    f->bindex = idx;
    f->wpos = p - (off - ctz_dstart(idx));
    return copy_base(s, f, f->wpos, p, f->bsize);
}

/* Complete the build: copy the rest of the old contents, program the last block; the new list
 * becomes the file's contents (not yet committed). */
static int finish_build(struct lfs_state *s, struct lfs_file_state *f)
{
    if (!f->building)
        return 0;
    uint32_t bsize = build_base_size(f);
    int err = 0;
    if (f->wpos < bsize)
        err = copy_base(s, f, f->wpos, bsize, bsize);
    if (!err && f->have_block)
        err = program_block(s, f);
    if (err)
        return err;
    f->building = 0;
    if (f->last_block == LFS_BLOCK_NULL)
        return 0; /* nothing was built */
    f->head = f->last_block;
    f->size = f->wpos;
    if (f->is_inline) {
        free(f->ibuf);
        f->ibuf = NULL;
        f->ibuf_cap = 0;
        f->is_inline = 0;
    }
    f->last_block = LFS_BLOCK_NULL;
    f->dirty = 1;
    return 0;
}

/* ---------------------------------------------------------------- open / close / sync */

static int ibuf_reserve(struct lfs_file_state *f, uint32_t n)
{
    if (n <= f->ibuf_cap && f->ibuf)
        return 0;
    uint8_t *p = mp_realloc(f->ibuf, n ? n : 1);
    if (!p)
        return LFS_ERR_NOMEM;
    if (n > f->ibuf_cap)
        memset(p + f->ibuf_cap, 0, n - f->ibuf_cap);
    f->ibuf = p;
    f->ibuf_cap = n;
    return 0;
}

static void file_free(struct lfs_state *s, struct lfs_file_state *f)
{
    for (struct lfs_file_state **pp = &s->files; *pp; pp = &(*pp)->next)
        if (*pp == f) {
            *pp = f->next;
            break;
        }
    free(f->path);
    free(f->ibuf);
    free(f->bbuf);
    free(f);
}

int lfs_file_opencfg(lfs_t *lfs, lfs_file_t *file, const char *path, int flags,
                     const struct lfs_file_config *cfg)
{
    if (!file)
        return LFS_ERR_INVAL;
    file->st = NULL;
    if (!lfs || !lfs->st || !path)
        return LFS_ERR_INVAL;
    struct lfs_state *s = lfs->st;
    int acc = flags & LFS_O_RDWR;
    if (!acc)
        return LFS_ERR_INVAL;
    int writable = (acc & LFS_O_WRONLY) != 0;
    if (!writable && (flags & (LFS_O_CREAT | LFS_O_TRUNC | LFS_O_APPEND)))
        return LFS_ERR_INVAL;
    int err = 0;
    if (writable)
        err = lfs_prepare_write(s);
    if (err)
        return err;
    struct lfs_lookup lk;
    int create = 0;
    err = lfs_lookup_peek(s, path, &lk);
    if (!err && (lk.isroot || lk.type == LFS_TYPE_DIR))
        err = LFS_ERR_ISDIR;
    else if (!err && (flags & LFS_O_CREAT) && (flags & LFS_O_EXCL))
        err = LFS_ERR_EXIST;
    else if (err == LFS_ERR_NOENT && lk.parent_ok && (flags & LFS_O_CREAT)) {
        if (lk.nlen > s->name_max)
            err = LFS_ERR_NAMETOOLONG;
        else if (lk.at->count >= 0x3FE)
            err = LFS_ERR_NOSPC;
        else {
            create = 1; /* the entry is committed with the first sync, data included */
            err = 0;
        }
    }
    struct lfs_file_state *f = NULL;
    if (!err) {
        f = mp_calloc(1, sizeof *f);
        if (f)
            f->path = mp_strdup(path);
        if (f && writable)
            f->bbuf = mp_malloc(s->block_size);
        if (!f || !f->path || (writable && !f->bbuf))
            err = LFS_ERR_NOMEM;
    }
    if (!err) {
        f->flags = flags;
        f->fcfg = cfg;
        f->last_block = LFS_BLOCK_NULL;
        f->is_inline = 1;
        f->create = create;
        f->dirty = create;
        if (!create && lk.id < lk.at->count && lk.type == LFS_TYPE_REG && !lk.isroot) {
            const struct lfs_mentry *e = &lk.at->e[lk.id];
            if (e->stype == LFS_T_CTZSTRUCT && e->slen >= 8) {
                f->head = get_le32(e->sdata);
                f->size = get_le32(e->sdata + 4);
                f->is_inline = f->size == 0;
                uint32_t last = f->size ? f->size - 1 : 0;
                if (f->size > s->file_max || (f->size && f->head >= s->block_count) ||
                    lfs_ctz_index(s, &last) >= s->block_count)
                    err = LFS_ERR_CORRUPT; /* impossible size for this filesystem */
            } else if (e->stype == LFS_T_INLINESTRUCT) {
                err = ibuf_reserve(f, e->slen);
                if (!err) {
                    memcpy(f->ibuf, e->sdata, e->slen);
                    f->size = e->slen;
                }
            } else if (e->stype != 0) {
                err = LFS_ERR_CORRUPT;
            }
        }
    }
    lfs_lookup_free(&lk);
    if (!err && writable && (flags & LFS_O_TRUNC) && (f->size || !f->is_inline)) {
        f->size = 0;
        f->is_inline = 1;
        f->dirty = 1;
    }
    if (!err && writable && cfg && cfg->attr_count)
        f->dirty = 1; /* attributes are written at close even without data (as upstream) */
    if (err) {
        if (f) {
            free(f->path);
            free(f->ibuf);
            free(f->bbuf);
            free(f);
        }
        return err;
    }
    f->next = s->files;
    s->files = f;
    file->st = f;
    return 0;
}

int lfs_file_open(lfs_t *lfs, lfs_file_t *file, const char *path, int flags)
{
    return lfs_file_opencfg(lfs, file, path, flags, NULL);
}

int lfs_file_sync(lfs_t *lfs, lfs_file_t *file)
{
    struct lfs_file_state *f = file_of(lfs, file);
    if (!f)
        return LFS_ERR_BADF;
    struct lfs_state *s = lfs->st;
    if (f->failed || !(f->flags & LFS_O_WRONLY))
        return 0;
    lfs_ckpoint(s);
    int err = finish_build(s, f);
    if (err) {
        f->failed = 1;
        return err;
    }
    if (!f->dirty)
        return 0;
    err = lfs_prepare_write(s);
    if (err)
        return err;
    struct lfs_lookup lk;
    err = lfs_lookup(s, f->path, &lk);
    int create = 0;
    if (err == LFS_ERR_NOENT && lk.parent_ok && f->create) {
        /* a new file appears in one commit with its contents */
        create = 1;
        err = lk.m.count >= 0x3FE ? LFS_ERR_NOSPC : 0;
    } else if (!err && (lk.isroot || lk.type != LFS_TYPE_REG)) {
        err = LFS_ERR_ISDIR;
    }
    if (!err) {
        uint32_t n = 0;
        uint32_t na = f->fcfg ? f->fcfg->attr_count : 0;
        struct lfs_mop *ops = mp_malloc((3 + na) * sizeof *ops);
        if (ops && create) {
            ops[n++] = (struct lfs_mop){LFS_MKTAG(LFS_T_CREATE, lk.id, 0), NULL};
            ops[n++] = (struct lfs_mop){LFS_MKTAG(LFS_T_REG, lk.id, lk.nlen), lk.name};
        }
        uint8_t ctz[8];
        if (!ops)
            err = LFS_ERR_NOMEM;
        if (!err) {
            if (f->is_inline) {
                ops[n++] = (struct lfs_mop){LFS_MKTAG(LFS_T_INLINESTRUCT, lk.id, f->size), f->ibuf};
            } else {
                put_le32(ctz, f->head);
                put_le32(ctz + 4, f->size);
                ops[n++] = (struct lfs_mop){LFS_MKTAG(LFS_T_CTZSTRUCT, lk.id, 8), ctz};
            }
            for (uint32_t i = 0; i < na; i++) {
                const struct lfs_attr *a = &f->fcfg->attrs[i];
                if (a->size > s->attr_max) {
                    err = LFS_ERR_NOSPC;
                    break;
                }
                ops[n++] = (struct lfs_mop){
                    LFS_MKTAG(LFS_T_USERATTR + a->type, lk.id, a->size), a->buffer};
            }
        }
        if (!err)
            err = lfs_mdir_commit(s, &lk.m, ops, (int)n, NULL);
        free(ops);
    }
    lfs_lookup_free(&lk);
    if (!err)
        f->dirty = f->create = 0;
    return err;
}

int lfs_file_close(lfs_t *lfs, lfs_file_t *file)
{
    struct lfs_file_state *f = file_of(lfs, file);
    if (!f)
        return LFS_ERR_BADF;
    int err = lfs_file_sync(lfs, file);
    file_free(lfs->st, f);
    file->st = NULL;
    return err;
}

/* ---------------------------------------------------------------- read / write */

lfs_ssize_t lfs_file_read(lfs_t *lfs, lfs_file_t *file, void *buffer, lfs_size_t size)
{
    struct lfs_file_state *f = file_of(lfs, file);
    if (!f || !(f->flags & LFS_O_RDONLY) || f->failed)
        return LFS_ERR_BADF;
    if (!buffer && size)
        return LFS_ERR_INVAL;
    struct lfs_state *s = lfs->st;
    if (f->building) {
        lfs_ckpoint(s);
        int err = finish_build(s, f);
        if (err) {
            f->failed = 1;
            return err;
        }
    }
    if (f->pos >= f->size)
        return 0;
    uint32_t n = f->size - f->pos;
    if (n > size)
        n = size;
    if (n > 0x7FFFFFFFu)
        n = 0x7FFFFFFFu;
    if (f->is_inline) {
        memcpy(buffer, f->ibuf + f->pos, n);
    } else {
        int err = ctz_read(s, f->head, f->size, f->pos, buffer, n);
        if (err)
            return err;
    }
    f->pos += n;
    return (lfs_ssize_t)n;
}

/* Write at f->pos (which is <= f->size). */
static int write_at(struct lfs_state *s, struct lfs_file_state *f, const uint8_t *data,
                    uint32_t n)
{
    uint32_t end = f->pos + n;
    if (f->is_inline && !f->building && (end <= s->inline_max || end <= f->size)) {
        if (end > f->size) {
            int err = ibuf_reserve(f, end);
            if (err)
                return err;
        }
        memcpy(f->ibuf + f->pos, data, n);
        if (end > f->size)
            f->size = end;
        f->pos = end;
        f->dirty = 1;
        return 0;
    }
    if (f->building && f->wpos != f->pos) {
        int err = finish_build(s, f);
        if (err)
            return err;
    }
    if (!f->building) {
        int err = start_build(s, f, f->pos);
        if (err)
            return err;
    }
    int err = write_bytes(s, f, data, n, build_base_size(f));
    if (err)
        return err;
    f->pos = end;
    if (end > f->size)
        f->size = end;
    f->dirty = 1;
    return 0;
}

lfs_ssize_t lfs_file_write(lfs_t *lfs, lfs_file_t *file, const void *buffer, lfs_size_t size)
{
    struct lfs_file_state *f = file_of(lfs, file);
    if (!f || !(f->flags & LFS_O_WRONLY) || f->failed)
        return LFS_ERR_BADF;
    if (!buffer && size)
        return LFS_ERR_INVAL;
    struct lfs_state *s = lfs->st;
    if (size == 0)
        return 0;
    if (size > 0x7FFFFFFFu)
        return LFS_ERR_INVAL;
    lfs_ckpoint(s);
    if (f->flags & LFS_O_APPEND)
        f->pos = f->size;
    if ((uint64_t)f->pos + size > s->file_max)
        return LFS_ERR_FBIG;
    int err = 0;
    /* a gap after the end reads as zeros */
    static const uint8_t zeros[COPY_CHUNK];
    if (f->pos > f->size) {
        uint32_t target = f->pos;
        f->pos = f->size;
        while (!err && f->pos < target) {
            uint32_t k = target - f->pos < COPY_CHUNK ? target - f->pos : COPY_CHUNK;
            err = write_at(s, f, zeros, k);
        }
    }
    if (!err)
        err = write_at(s, f, buffer, size);
    if (err) {
        f->failed = 1;
        return err;
    }
    return (lfs_ssize_t)size;
}

lfs_soff_t lfs_file_seek(lfs_t *lfs, lfs_file_t *file, lfs_soff_t off, int whence)
{
    struct lfs_file_state *f = file_of(lfs, file);
    if (!f)
        return LFS_ERR_BADF;
    int64_t base = whence == LFS_SEEK_SET ? 0
                   : whence == LFS_SEEK_CUR ? (int64_t)f->pos
                   : whence == LFS_SEEK_END ? (int64_t)f->size
                                            : -1;
    if (base < 0)
        return LFS_ERR_INVAL;
    int64_t np = base + off;
    if (np < 0 || np > (int64_t)lfs->st->file_max)
        return LFS_ERR_INVAL;
    f->pos = (uint32_t)np;
    return (lfs_soff_t)np;
}

lfs_soff_t lfs_file_tell(lfs_t *lfs, lfs_file_t *file)
{
    struct lfs_file_state *f = file_of(lfs, file);
    return f ? (lfs_soff_t)f->pos : LFS_ERR_BADF;
}

int lfs_file_rewind(lfs_t *lfs, lfs_file_t *file)
{
    lfs_soff_t r = lfs_file_seek(lfs, file, 0, LFS_SEEK_SET);
    return r < 0 ? (int)r : 0;
}

lfs_soff_t lfs_file_size(lfs_t *lfs, lfs_file_t *file)
{
    struct lfs_file_state *f = file_of(lfs, file);
    return f ? (lfs_soff_t)f->size : LFS_ERR_BADF;
}

int lfs_file_truncate(lfs_t *lfs, lfs_file_t *file, lfs_off_t size)
{
    struct lfs_file_state *f = file_of(lfs, file);
    if (!f || !(f->flags & LFS_O_WRONLY) || f->failed)
        return LFS_ERR_BADF;
    struct lfs_state *s = lfs->st;
    if (size > s->file_max)
        return LFS_ERR_INVAL;
    lfs_ckpoint(s);
    int err = finish_build(s, f);
    if (err) {
        f->failed = 1;
        return err;
    }
    if (size < f->size) {
        if (!f->is_inline && size <= s->inline_max) {
            /* small again: back to an inline file (as upstream does) */
            uint8_t *p = mp_malloc(size ? size : 1);
            if (!p)
                return LFS_ERR_NOMEM;
            err = ctz_read(s, f->head, f->size, 0, p, size);
            if (err) {
                free(p);
                return err;
            }
            free(f->ibuf);
            f->ibuf = p;
            f->ibuf_cap = size;
            f->is_inline = 1;
        } else if (!f->is_inline) {
            uint32_t pos = size - 1;
            uint32_t idx = lfs_ctz_index(s, &pos);
            uint32_t head;
            err = ctz_find(s, f->head, f->size, idx, &head);
            if (err)
                return err;
            f->head = head;
        }
        f->size = size;
        f->dirty = 1;
    } else if (size > f->size) {
        uint32_t keep = f->pos;
        static const uint8_t zeros[COPY_CHUNK];
        f->pos = f->size;
        while (!err && f->pos < size) {
            uint32_t k = size - f->pos < COPY_CHUNK ? size - f->pos : COPY_CHUNK;
            err = write_at(s, f, zeros, k);
        }
        f->pos = keep;
        if (err) {
            f->failed = 1;
            return err;
        }
    }
    return 0;
}
