/* Internal interface between lfs.c (paths, directories) and lfs_file.c (files). */
#ifndef MP_LFS_LFS_OPS_H
#define MP_LFS_LFS_OPS_H

#include "lfs/lfs_int.h"

#define LFS_LOOKUP_VIA 64

/* A resolved path. */
struct lfs_lookup {
    struct lfs_mdir m;    /* pair holding the entry, or where a missing one would go */
    const struct lfs_mdir *at; /* the same to read: &m, or after lfs_lookup_peek the cache's
                                  model (valid until the next device write or lfs_mdir_get) */
    uint32_t id;          /* its id (or the insertion id) */
    int isroot;           /* the path names the root directory */
    int parent_ok;        /* NOENT only for the last component */
    int type;             /* enum lfs_type of a found entry */
    uint32_t parent[2];   /* first pair of the containing directory */
    const uint8_t *name;  /* last component (points into norm) */
    char *norm;           /* the path with ".", ".." and repeated slashes resolved */
    uint32_t nlen;
    uint32_t via[LFS_LOOKUP_VIA][2]; /* directories passed through, outermost first */
    uint32_t nvia;
    int via_overflow;
};

int lfs_lookup(struct lfs_state *s, const char *path, struct lfs_lookup *lk);
/* lfs_lookup for reading only: lk->m stays empty, lk->at is borrowed from the cache. */
int lfs_lookup_peek(struct lfs_state *s, const char *path, struct lfs_lookup *lk);
void lfs_lookup_free(struct lfs_lookup *lk);
int lfs_prepare_write(struct lfs_state *s);
void lfs_ckpoint(struct lfs_state *s);
int lfs_entry_dirpair(const struct lfs_mentry *e, uint32_t pair[2]);
int lfs_entry_info(const struct lfs_state *s, const struct lfs_mentry *e, struct lfs_info *info);
uint32_t lfs_ctz_index(const struct lfs_state *s, uint32_t *pos);
int lfs_ctz_traverse(struct lfs_state *s, uint32_t head, uint32_t size,
                     int (*cb)(void *, uint32_t), void *data);

#endif
