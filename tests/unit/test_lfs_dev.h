/* Test helpers for the littlefs engine tests: a RAM block device with NOR semantics and an
 * optional power cut, a tiny JSON reader for the vector manifests. Header-only (static). */
#ifndef TEST_LFS_DEV_H
#define TEST_LFS_DEV_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lfs/lfs.h"

/* ---------------------------------------------------------------- RAM block device */

struct ramdev {
    uint8_t *data;
    uint32_t block_size, block_count;
    long ops_left;       /* program/erase operations until the power cut; < 0: never */
    int cut;             /* the cut happened: later programs and erases fail */
    uint32_t progs, erases;
    uint32_t overwrites; /* programs of bytes that were not erased (never allowed) */
    uint32_t misaligned; /* reads/programs not on read_size/prog_size boundaries */
    struct lfs_config cfg;
};

/* A power cut leaves the operation it hits half done (torn program / half-erased block). */
static inline int ramdev_cutting(struct ramdev *d)
{
    if (d->cut)
        return -1;
    if (d->ops_left < 0)
        return 0;
    if (d->ops_left == 0) {
        d->cut = 1;
        return 1;
    }
    d->ops_left--;
    return 0;
}

static inline int ramdev_read(const struct lfs_config *c, lfs_block_t block, lfs_off_t off, void *buf,
                       lfs_size_t size)
{
    struct ramdev *d = c->context;
    if (block >= d->block_count || off > d->block_size || size > d->block_size - off)
        return LFS_ERR_IO;
    if (off % c->read_size || size % c->read_size)
        d->misaligned++;
    memcpy(buf, d->data + (size_t)block * d->block_size + off, size);
    return 0;
}

static inline int ramdev_prog(const struct lfs_config *c, lfs_block_t block, lfs_off_t off,
                       const void *buf, lfs_size_t size)
{
    struct ramdev *d = c->context;
    if (block >= d->block_count || off > d->block_size || size > d->block_size - off)
        return LFS_ERR_IO;
    if (off % c->prog_size || size % c->prog_size)
        d->misaligned++;
    int cut = ramdev_cutting(d);
    if (cut < 0)
        return LFS_ERR_IO;
    uint8_t *p = d->data + (size_t)block * d->block_size + off;
    const uint8_t *b = buf;
    lfs_size_t n = cut ? size / 2 : size;
    for (lfs_size_t i = 0; i < n; i++) {
        if ((p[i] & b[i]) != b[i])
            d->overwrites++;
        p[i] &= b[i]; /* NOR flash only clears bits */
    }
    d->progs++;
    return cut ? LFS_ERR_IO : 0;
}

static inline int ramdev_erase(const struct lfs_config *c, lfs_block_t block)
{
    struct ramdev *d = c->context;
    if (block >= d->block_count)
        return LFS_ERR_IO;
    int cut = ramdev_cutting(d);
    if (cut < 0)
        return LFS_ERR_IO;
    memset(d->data + (size_t)block * d->block_size, 0xFF, cut ? d->block_size / 2 : d->block_size);
    d->erases++;
    return cut ? LFS_ERR_IO : 0;
}

static inline int ramdev_sync(const struct lfs_config *c)
{
    struct ramdev *d = c->context;
    return d->cut ? LFS_ERR_IO : 0;
}

/* A device over `data` (not owned) with MicroPython's geometry; block_count 0 in the config
 * (taken from the superblock at mount). */
static inline void ramdev_init(struct ramdev *d, uint8_t *data, uint32_t block_size,
                        uint32_t block_count)
{
    memset(d, 0, sizeof *d);
    d->data = data;
    d->block_size = block_size;
    d->block_count = block_count;
    d->ops_left = -1;
    lfs_config_default(&d->cfg);
    d->cfg.context = d;
    d->cfg.read = ramdev_read;
    d->cfg.prog = ramdev_prog;
    d->cfg.erase = ramdev_erase;
    d->cfg.sync = ramdev_sync;
    d->cfg.block_size = block_size;
}

/* ---------------------------------------------------------------- tiny JSON reader */

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jval {
    enum jtype type;
    char *str;             /* J_STR (decoded), J_NUM (text) */
    int boolean;
    uint64_t num;          /* J_NUM as an unsigned integer */
    struct jval *items;    /* J_ARR / J_OBJ values */
    char **keys;           /* J_OBJ */
    size_t n;
};

struct jparser {
    const char *p, *end;
    int err;
};

static inline void j_ws(struct jparser *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t'))
        j->p++;
}

static inline char *j_string(struct jparser *j)
{
    if (j->p >= j->end || *j->p != '"') {
        j->err = 1;
        return NULL;
    }
    j->p++;
    char *out = malloc((size_t)(j->end - j->p) + 1);
    size_t n = 0;
    while (j->p < j->end && *j->p != '"') {
        char c = *j->p++;
        if (c == '\\' && j->p < j->end) {
            char e = *j->p++;
            if (e == 'u' && j->end - j->p >= 4) {
                unsigned cp = (unsigned)strtoul((char[5]){j->p[0], j->p[1], j->p[2], j->p[3], 0},
                                                NULL, 16);
                j->p += 4;
                if (cp >= 0xD800 && cp < 0xDC00 && j->end - j->p >= 6 && j->p[0] == '\\') {
                    unsigned lo = (unsigned)strtoul(
                        (char[5]){j->p[2], j->p[3], j->p[4], j->p[5], 0}, NULL, 16);
                    j->p += 6;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
                if (cp < 0x80) {
                    out[n++] = (char)cp;
                } else if (cp < 0x800) {
                    out[n++] = (char)(0xC0 | (cp >> 6));
                    out[n++] = (char)(0x80 | (cp & 0x3F));
                } else if (cp < 0x10000) {
                    out[n++] = (char)(0xE0 | (cp >> 12));
                    out[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                    out[n++] = (char)(0x80 | (cp & 0x3F));
                } else {
                    out[n++] = (char)(0xF0 | (cp >> 18));
                    out[n++] = (char)(0x80 | ((cp >> 12) & 0x3F));
                    out[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                    out[n++] = (char)(0x80 | (cp & 0x3F));
                }
                continue;
            }
            c = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e == 'b' ? '\b'
                : e == 'f' ? '\f' : e;
        }
        out[n++] = c;
    }
    if (j->p >= j->end)
        j->err = 1;
    else
        j->p++;
    out[n] = '\0';
    return out;
}

static inline void j_value(struct jparser *j, struct jval *v, int depth);

static inline void j_push(struct jval *v, size_t *cap, char *key, const struct jval *item)
{
    if (v->n == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        v->items = realloc(v->items, *cap * sizeof *v->items);
        v->keys = realloc(v->keys, *cap * sizeof *v->keys);
    }
    v->items[v->n] = *item;
    v->keys[v->n] = key;
    v->n++;
}

static inline void j_value(struct jparser *j, struct jval *v, int depth)
{
    memset(v, 0, sizeof *v);
    j_ws(j);
    if (j->p >= j->end || depth > 64) {
        j->err = 1;
        return;
    }
    char c = *j->p;
    if (c == '{' || c == '[') {
        v->type = c == '{' ? J_OBJ : J_ARR;
        j->p++;
        size_t cap = 0;
        j_ws(j);
        if (j->p < j->end && *j->p == (c == '{' ? '}' : ']')) {
            j->p++;
            return;
        }
        while (!j->err) {
            char *key = NULL;
            j_ws(j);
            if (v->type == J_OBJ) {
                key = j_string(j);
                j_ws(j);
                if (j->p >= j->end || *j->p != ':') {
                    free(key);
                    j->err = 1;
                    return;
                }
                j->p++;
            }
            struct jval item;
            j_value(j, &item, depth + 1);
            j_push(v, &cap, key, &item);
            j_ws(j);
            if (j->p < j->end && *j->p == ',') {
                j->p++;
                continue;
            }
            if (j->p < j->end && *j->p == (c == '{' ? '}' : ']')) {
                j->p++;
                return;
            }
            j->err = 1;
        }
        return;
    }
    if (c == '"') {
        v->type = J_STR;
        v->str = j_string(j);
        return;
    }
    if (!strncmp(j->p, "null", 4)) {
        j->p += 4;
        v->type = J_NULL;
        return;
    }
    if (!strncmp(j->p, "true", 4) || !strncmp(j->p, "false", 5)) {
        v->type = J_BOOL;
        v->boolean = *j->p == 't';
        j->p += v->boolean ? 4 : 5;
        return;
    }
    const char *s = j->p;
    while (j->p < j->end && strchr("+-0123456789.eE", *j->p))
        j->p++;
    if (j->p == s) {
        j->err = 1;
        return;
    }
    v->type = J_NUM;
    v->str = strndup(s, (size_t)(j->p - s));
    v->num = strtoull(v->str, NULL, 10);
}

static inline void j_free(struct jval *v)
{
    for (size_t i = 0; i < v->n; i++) {
        j_free(&v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
}

static inline const struct jval *j_get(const struct jval *obj, const char *key)
{
    if (!obj || obj->type != J_OBJ)
        return NULL;
    for (size_t i = 0; i < obj->n; i++)
        if (obj->keys[i] && !strcmp(obj->keys[i], key))
            return &obj->items[i];
    return NULL;
}

static inline int j_parse(const char *text, size_t len, struct jval *out)
{
    struct jparser j = {text, text + len, 0};
    j_value(&j, out, 0);
    if (j.err) {
        j_free(out);
        memset(out, 0, sizeof *out);
        return -1;
    }
    return 0;
}

#endif
