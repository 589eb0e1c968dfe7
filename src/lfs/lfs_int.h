/* Private definitions shared by the engine's source files. Section numbers refer to
 * shared/docs/littlefs.md. */
#ifndef MP_LFS_LFS_INT_H
#define MP_LFS_LFS_INT_H

#include <stdint.h>

#include "lfs/lfs.h"

#define LFS_BLOCK_NULL 0xFFFFFFFFu

/* Tag fields (§3.1): valid bit 31, type3 bits 30..20, id bits 19..10, size bits 9..0. */
#define LFS_MKTAG(type, id, size) \
    (((uint32_t)(type) << 20) | ((uint32_t)(id) << 10) | (uint32_t)(size))
#define LFS_TAG_TYPE3(t) (((t) >> 20) & 0x7FFu)
#define LFS_TAG_TYPE1(t) (((t) >> 28) & 0x7u)
#define LFS_TAG_CHUNK(t) (((t) >> 20) & 0xFFu)
#define LFS_TAG_ID(t) (((t) >> 10) & 0x3FFu)
#define LFS_TAG_SIZE(t) ((t) & 0x3FFu)
#define LFS_TAG_DELETED 0x3FFu /* size field of a "field removed" tag: no data follows */
#define LFS_ID_NONE 0x3FFu
#define LFS_TAG_DSIZE(t) (4u + (LFS_TAG_SIZE(t) == LFS_TAG_DELETED ? 0u : LFS_TAG_SIZE(t)))

/* Tag types (§3.3). */
enum lfs_tagtype {
    LFS_T_REG = 0x001,
    LFS_T_DIR = 0x002,
    LFS_T_SUPERBLOCK = 0x0FF,
    LFS_T_DIRSTRUCT = 0x200,
    LFS_T_INLINESTRUCT = 0x201,
    LFS_T_CTZSTRUCT = 0x202,
    LFS_T_USERATTR = 0x300,
    LFS_T_CREATE = 0x401,
    LFS_T_DELETE = 0x4FF,
    LFS_T_CRC = 0x500,
    LFS_T_FCRC = 0x5FF,
    LFS_T_SOFTTAIL = 0x600,
    LFS_T_HARDTAIL = 0x601,
    LFS_T_MOVESTATE = 0x7FF,
};

/* The superblock record (§5.1): the INLINESTRUCT of id 0 in a superblock pair (whose NAME is
 * "littlefs"), six LE32 words in this order. lfs.c encodes and decodes it. */
#define LFS_SUPERBLOCK_SIZE 24
struct lfs_superblock {
    uint32_t version;     /* major << 16 | minor (§5.2) */
    uint32_t block_size;
    uint32_t block_count;
    uint32_t name_max;    /* 0: the driver's maximum */
    uint32_t file_max;    /* 0: the driver's maximum */
    uint32_t attr_max;    /* 0: the driver's maximum */
};

/* Global state (§8): tag (bit 31 orphans, type 0x4FF + id when a move is pending) and the pair
 * holding the move source. Kept in RAM exactly as stored (low 10 bits zero). */
struct lfs_gstate {
    uint32_t tag;
    uint32_t pair[2];
};

/* One user attribute of an entry. */
struct lfs_mattr {
    uint8_t type;
    uint16_t size;
    uint8_t *data;
};

/* One id of a metadata pair after replaying its valid commits (§4.6). The bytes behind name,
 * sdata and attr live in the pair model's heap. */
struct lfs_mentry {
    uint16_t ntype; /* 0 none, LFS_T_REG, LFS_T_DIR, LFS_T_SUPERBLOCK (other name types kept) */
    uint16_t nlen;
    uint8_t *name;
    uint16_t stype; /* 0 none, LFS_T_DIRSTRUCT / INLINESTRUCT / CTZSTRUCT */
    uint16_t slen;
    uint8_t *sdata;
    uint16_t nattr;
    struct lfs_mattr *attr;
};

/* Storage of a pair model's entry bytes: a list of chunks that never move while in use
 * (entries point into them). Replaced bytes stay until the model is compacted (lfs_meta.c). */
struct lfs_hchunk;

#define LFS_HI_NONE 0xFFFFu

/* A metadata pair in RAM: the current block's state plus what a writer needs to append. */
struct lfs_mdir {
    uint32_t pair[2]; /* pair[0]: block holding the current state */
    uint32_t rev;
    uint32_t off;     /* end of the last valid commit */
    uint32_t ptag;    /* XOR chain value for the next tag */
    int appendable;   /* a commit may be appended at off */
    uint32_t count;
    uint32_t cap;
    struct lfs_mentry *e;
    int split;        /* tail is a HARDTAIL (directory continues) */
    uint32_t tail[2]; /* LFS_BLOCK_NULL pair when none */
    int has_delta;
    struct lfs_gstate delta;
    /* id of the greatest REG/DIR name (§6.1 order) or LFS_HI_NONE: what a lookup compares
     * to pass the pair; set when the model enters the cache */
    uint16_t hi;
    struct lfs_hchunk *heap;
    uint32_t heap_used; /* bytes handed out by the heap */
    uint32_t heap_dead; /* of those, bytes no entry refers to any more */
};

/* One change to commit: a tag (type3, id, size) and its data. */
struct lfs_mop {
    uint32_t tag;
    const void *data;
};

struct lfs_file_state;

/* Parsed pairs kept between calls (lfs_meta.c). A lookup walks a directory's whole chain, so
 * the cache holds many pairs: found by either block through a hash table, least recently used
 * evicted first once their memory exceeds the budget. A pair is dropped when either of its
 * blocks is programmed or erased, and a successful commit puts the writer's model back (the
 * engine assumes nobody else changes the device while it is mounted). */
struct lfs_mslot {
    struct lfs_mslot *prev, *next; /* recency list, most recent first */
    uint32_t bytes;                /* memory held by m */
    uint32_t finger;               /* 1 + the finger this pair is before, or 0 */
    uint32_t fgen;                 /* that finger's generation when marked */
    struct lfs_mdir m;
};

/* Where a lookup in a directory may start: every name in the pairs of its chain before `at`
 * sorts at or before `lo` (none when !has_lo, then at is the first pair), so a lookup of a
 * greater name would pass all of them. Each of those pairs is in the cache marked with this
 * finger; freeing a marked slot (written, replaced or evicted) drops the finger (gen 0). */
#define LFS_FINGERS 16
struct lfs_finger {
    uint32_t gen; /* 0: unused */
    uint32_t first[2], at[2];
    int has_lo;
    uint16_t lolen;
    uint8_t lo[LFS_NAME_MAX + 1];
};

struct lfs_mkey {
    uint32_t block;
    struct lfs_mslot *slot; /* NULL: empty */
};

struct lfs_mcache {
    struct lfs_mslot *head, *tail;
    struct lfs_mkey *table; /* open addressing on the block; a slot is there under both blocks */
    uint32_t tcap, tused;   /* tcap: a power of two, or 0 */
    uint32_t nslots;
    size_t bytes, budget;
    struct lfs_finger fingers[LFS_FINGERS];
    uint32_t fgen_next, fnext;
};

struct lfs_state {
    struct lfs_config cfg; /* the caller's config with defaults filled in */
    uint32_t block_size;
    uint32_t block_count;
    uint32_t disk_version;
    uint32_t name_max, file_max, attr_max, inline_max;
    uint32_t root[2];
    struct lfs_gstate gstate; /* wanted global state */
    struct lfs_gstate gdisk;  /* global state as on disk */
    /* read cache: one aligned window of one block */
    uint8_t *rc;
    uint32_t rc_block, rc_off, rc_len;
    uint8_t *fetchbuf;  /* one block, used while parsing a pair */
    uint8_t *commitbuf; /* one block, used while building a commit */
    /* allocator (§9.6): a window of la_bits blocks starting at la_start */
    uint8_t *la;
    uint32_t la_bits, la_start, la_next, la_valid;
    uint32_t la_seen; /* blocks looked at since the last checkpoint */
    uint32_t *inflight; /* blocks handed out since the last checkpoint */
    uint32_t ninflight, capinflight;
    uint32_t seed;
    struct lfs_file_state *files; /* open files (their blocks are in use) */
    struct lfs_mcache mc;
};

struct lfs_file_state {
    struct lfs_file_state *next;
    char *path;
    int flags;
    const struct lfs_file_config *fcfg;
    uint32_t pos;
    uint32_t size;
    int is_inline;
    uint8_t *ibuf; /* inline contents, ibuf_cap bytes */
    uint32_t ibuf_cap;
    uint32_t head; /* CTZ head when !is_inline */
    int dirty;     /* differs from what is committed */
    int create;    /* opened with CREAT on a missing name: created at the first sync */
    int failed;    /* a write failed: the handle only allows close */
    /* block being built (§7.2 writers never modify a data block in place) */
    int building;
    int have_block;  /* bblock allocated and partly filled in bbuf */
    uint32_t bindex; /* index of bblock in the file */
    uint32_t bblock;
    uint32_t bfill;  /* bytes of bbuf in use (pointers + data) */
    uint32_t wpos;   /* file position of the next byte written */
    uint32_t bsize;  /* size of the contents the build started from (head's list) */
    uint32_t last_block; /* last block programmed during this build (LFS_BLOCK_NULL: none) */
    uint32_t last_end;   /* file size covered by last_block's chain */
    uint8_t *bbuf;
};

struct lfs_dir_state {
    uint32_t pair[2];
    uint32_t id;
    uint32_t hops;
    uint32_t first[2];
};

/* crc.c-equivalent: littlefs CRC (§1): reflected 0x04C11DB7, init 0xFFFFFFFF, no final XOR. */
uint32_t lfs_crc(uint32_t crc, const void *data, size_t size);

#endif
