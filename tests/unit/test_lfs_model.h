/* An in-memory model of a filesystem tree and its comparison with a mounted littlefs, for the
 * randomised and power-cut tests. Header-only (static). */
#ifndef TEST_LFS_MODEL_H
#define TEST_LFS_MODEL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lfs/lfs.h"

#define MODEL_PATH 256

struct mnode {
    char path[MODEL_PATH];
    int isdir;
    uint8_t *data;
    uint32_t size;
};

struct model {
    struct mnode *n;
    size_t count, cap;
};

/* dir + "/" + name (no doubled slash after the root), truncated to size. */
static inline void path_join(char *out, size_t size, const char *dir, const char *name)
{
    size_t ld = strlen(dir), ln = strlen(name);
    int root = ld == 1 && dir[0] == '/';
    size_t n = 0;
    for (size_t i = 0; i < ld && n + 1 < size; i++)
        out[n++] = dir[i];
    if (!root && n + 1 < size)
        out[n++] = '/';
    for (size_t i = 0; i < ln && n + 1 < size; i++)
        out[n++] = name[i];
    out[n] = '\0';
}

static inline void model_free(struct model *m)
{
    for (size_t i = 0; i < m->count; i++)
        free(m->n[i].data);
    free(m->n);
    memset(m, 0, sizeof *m);
}

static inline void model_copy(struct model *dst, const struct model *src)
{
    dst->count = dst->cap = src->count;
    dst->n = malloc((src->count ? src->count : 1) * sizeof *dst->n);
    for (size_t i = 0; i < src->count; i++) {
        dst->n[i] = src->n[i];
        dst->n[i].data = malloc(src->n[i].size ? src->n[i].size : 1);
        if (src->n[i].size)
            memcpy(dst->n[i].data, src->n[i].data, src->n[i].size);
    }
}

static inline struct mnode *model_find(const struct model *m, const char *path)
{
    for (size_t i = 0; i < m->count; i++)
        if (!strcmp(m->n[i].path, path))
            return &m->n[i];
    return NULL;
}

static inline struct mnode *model_add(struct model *m, const char *path, int isdir)
{
    if (m->count == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 32;
        m->n = realloc(m->n, m->cap * sizeof *m->n);
    }
    struct mnode *x = &m->n[m->count++];
    memset(x, 0, sizeof *x);
    snprintf(x->path, sizeof x->path, "%s", path);
    x->isdir = isdir;
    return x;
}

static inline void model_set(struct model *m, const char *path, const uint8_t *data, uint32_t size)
{
    struct mnode *x = model_find(m, path);
    if (!x)
        x = model_add(m, path, 0);
    free(x->data);
    x->data = malloc(size ? size : 1);
    if (size)
        memcpy(x->data, data, size);
    x->size = size;
}

static inline void model_del(struct model *m, const char *path)
{
    struct mnode *x = model_find(m, path);
    if (!x)
        return;
    free(x->data);
    *x = m->n[--m->count];
}

static inline int is_under(const char *path, const char *dir)
{
    size_t l = strlen(dir);
    return !strncmp(path, dir, l) && path[l] == '/';
}

/* Rename path (and everything under it when a directory) to newpath. */
static inline void model_rename(struct model *m, const char *from, const char *to)
{
    struct mnode *dst = model_find(m, to);
    if (dst)
        model_del(m, to);
    for (size_t i = 0; i < m->count; i++) {
        char *p = m->n[i].path;
        if (!strcmp(p, from) || is_under(p, from)) {
            char tmp[MODEL_PATH];
            size_t lt = strlen(to), lr = strlen(p + strlen(from));
            if (lt + lr >= sizeof tmp)
                lr = sizeof tmp - 1 - lt;
            memcpy(tmp, to, lt);
            memcpy(tmp + lt, p + strlen(from), lr);
            tmp[lt + lr] = '\0';
            memcpy(p, tmp, lt + lr + 1);
        }
    }
}

static inline int model_dir_empty(const struct model *m, const char *dir)
{
    for (size_t i = 0; i < m->count; i++)
        if (is_under(m->n[i].path, dir))
            return 0;
    return 1;
}

/* Walk the filesystem and compare with the model. Returns 0 when equal; otherwise a
 * description in why. */
static inline int fs_matches_dir(lfs_t *lfs, const struct model *m, const char *dir, size_t *seen,
                          char *why, size_t whysize, int depth)
{
    if (depth > 40) {
        snprintf(why, whysize, "too deep");
        return 1;
    }
    lfs_dir_t d;
    int err = lfs_dir_open(lfs, &d, dir);
    if (err) {
        snprintf(why, whysize, "dir_open %.200s: %s", dir, lfs_err_name(err));
        return 1;
    }
    struct lfs_info info;
    int bad = 0;
    while (!bad && (err = lfs_dir_read(lfs, &d, &info)) > 0) {
        char path[MODEL_PATH * 2];
        path_join(path, sizeof path, dir, info.name);
        struct mnode *x = model_find(m, path);
        if (!x) {
            snprintf(why, whysize, "unexpected %.200s", path);
            bad = 1;
            break;
        }
        (*seen)++;
        if (x->isdir != (info.type == LFS_TYPE_DIR)) {
            snprintf(why, whysize, "type of %.200s", path);
            bad = 1;
            break;
        }
        if (x->isdir) {
            bad = fs_matches_dir(lfs, m, path, seen, why, whysize, depth + 1);
            continue;
        }
        if (info.size != x->size) {
            snprintf(why, whysize, "size of %.200s: %u, want %u", path, info.size, x->size);
            bad = 1;
            break;
        }
        lfs_file_t f;
        err = lfs_file_open(lfs, &f, path, LFS_O_RDONLY);
        if (err) {
            snprintf(why, whysize, "open %.200s: %s", path, lfs_err_name(err));
            bad = 1;
            break;
        }
        uint8_t *buf = malloc(x->size + 1);
        lfs_ssize_t r = lfs_file_read(lfs, &f, buf, x->size + 1);
        lfs_file_close(lfs, &f);
        if (r != (lfs_ssize_t)x->size || memcmp(buf, x->data, x->size)) {
            snprintf(why, whysize, "content of %.200s (read %d)", path, (int)r);
            bad = 1;
        }
        free(buf);
    }
    if (!bad && err < 0) {
        snprintf(why, whysize, "dir_read %.200s: %s", dir, lfs_err_name(err));
        bad = 1;
    }
    lfs_dir_close(lfs, &d);
    return bad;
}

static inline int fs_matches(lfs_t *lfs, const struct model *m, char *why, size_t whysize)
{
    size_t seen = 0;
    if (fs_matches_dir(lfs, m, "/", &seen, why, whysize, 0))
        return 1;
    if (seen != m->count) {
        snprintf(why, whysize, "%zu entries listed, model has %zu", seen, m->count);
        return 1;
    }
    return 0;
}

/* xorshift PRNG for deterministic runs */
static inline uint32_t rnd_next(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *s = x;
    return x;
}

static inline uint32_t rnd_below(uint32_t *s, uint32_t n)
{
    return n ? rnd_next(s) % n : 0;
}

#endif
