/* Internal interface of lfs_meta.c (block device, metadata pairs) and of the allocator. */
#ifndef MP_LFS_LFS_META_H
#define MP_LFS_LFS_META_H

#include "lfs/lfs_int.h"

/* Bounds-checked block device access (CORRUPT for a block or range outside the fs). */
int lfs_bd_read(struct lfs_state *s, uint32_t block, uint32_t off, void *buf, uint32_t size);
int lfs_bd_prog(struct lfs_state *s, uint32_t block, uint32_t off, const void *buf,
                uint32_t size);
int lfs_bd_erase(struct lfs_state *s, uint32_t block);
int lfs_bd_sync(struct lfs_state *s);

int lfs_pair_isnull(const uint32_t p[2]);
int lfs_pair_same(const uint32_t a[2], const uint32_t b[2]);
int lfs_pair_overlap(const uint32_t a[2], const uint32_t b[2]);
void lfs_gstate_xor(struct lfs_gstate *a, const struct lfs_gstate *b);
int lfs_gstate_iszero(const struct lfs_gstate *g);
int lfs_gstate_hasmove(const struct lfs_gstate *g);
int lfs_gstate_hasorphans(const struct lfs_gstate *g);
int lfs_moved_id(const struct lfs_state *s, const struct lfs_mdir *m);

void lfs_mdir_init(struct lfs_mdir *m);
void lfs_mdir_free(struct lfs_mdir *m);
int lfs_mdir_copy(struct lfs_mdir *dst, const struct lfs_mdir *src);
/* Read a pair: newer valid block by revision, else the other (§2). */
int lfs_mdir_fetch(struct lfs_state *s, struct lfs_mdir *m, const uint32_t pair[2]);
/* A parsed pair from the cache (parsed now if needed). The model is read-only and valid only
 * until the next block device write or lfs_mdir_get. */
int lfs_mdir_get(struct lfs_state *s, const uint32_t pair[2], const struct lfs_mdir **out);
void lfs_mcache_drop(struct lfs_state *s, uint32_t block);
void lfs_mcache_clear(struct lfs_state *s);
/* A commit's model goes into the cache afterwards: prepare (allocates; before any write),
 * then install (cannot fail) or discard. *out may be NULL: nothing to keep. */
int lfs_mcache_prepare(struct lfs_state *s, const struct lfs_mdir *m, struct lfs_mslot **out);
void lfs_mcache_install(struct lfs_state *s, struct lfs_mslot *x, const struct lfs_mdir *m);
void lfs_mcache_discard(struct lfs_mslot *x);
/* The lookup finger of the directory whose chain starts at first (a fresh one, at the first
 * pair, when there was none), and marking a cached pair (from lfs_mdir_get) as passed by it. */
struct lfs_finger *lfs_finger_claim(struct lfs_state *s, const uint32_t first[2]);
void lfs_finger_mark(struct lfs_state *s, const struct lfs_mdir *m, const struct lfs_finger *f);
/* Parse every cached pair again and compare, and check every finger on the flash (tests):
 * 0 when each holds, else CORRUPT. */
int lfs_mcache_check(struct lfs_state *s);
/* On-disk name order (§6.1): <0 when a sorts before b. */
int lfs_name_cmp(const uint8_t *a, uint32_t la, const uint8_t *b, uint32_t lb);
/* A fresh pair of two allocated blocks (not yet written). */
int lfs_mdir_alloc(struct lfs_state *s, struct lfs_mdir *m);
/* Apply ops to the model and write them: appended when the block allows, else compacted
 * (splitting when needed). The pair's gstate delta absorbs the pending global change and
 * `absorb` (the delta of a pair being unlinked). On error the model must be discarded. */
int lfs_mdir_commit(struct lfs_state *s, struct lfs_mdir *m, const struct lfs_mop *ops, int n,
                    const struct lfs_gstate *absorb);
int lfs_mdir_force_compact(struct lfs_state *s, struct lfs_mdir *m);
int lfs_mdir_entry_ok(const struct lfs_mentry *e);

/* Allocator (lfs.c): a free block, erased lazily by the caller. */
int lfs_alloc(struct lfs_state *s, uint32_t *block);

#endif
