/* Private to src/fat: the on-disk layout (byte offsets, fat.md §2-§4) and the mounted state. */
#ifndef MP_FAT_FAT_INT_H
#define MP_FAT_FAT_INT_H

#include <stdint.h>

#include "fat/fat.h"

/* Boot sector and BIOS parameter block. */
enum {
    BPB_JMP = 0,
    BPB_OEM = 3,
    BPB_BYTES_PER_SEC = 11,
    BPB_SEC_PER_CLUS = 13,
    BPB_RSVD_SECS = 14,
    BPB_NUM_FATS = 16,
    BPB_ROOT_ENTS = 17,
    BPB_TOT_SEC16 = 19,
    BPB_MEDIA = 21,
    BPB_FAT_SZ16 = 22,
    BPB_SEC_PER_TRK = 24,
    BPB_NUM_HEADS = 26,
    BPB_HIDD_SEC = 28,
    BPB_TOT_SEC32 = 32,
    /* FAT12/16 extension */
    BS_DRV_NUM = 36,
    BS_BOOT_SIG = 38,
    BS_VOL_ID = 39,
    BS_VOL_LAB = 43,
    BS_FS_TYPE = 54,
    /* FAT32 extension */
    BPB_FAT_SZ32 = 36,
    BPB_EXT_FLAGS = 40,
    BPB_ROOT_CLUS = 44,
    BPB_FS_INFO = 48,
    BS32_VOL_ID = 67,
    BS32_VOL_LAB = 71,
    BS_SIGNATURE = 510, /* 0x55 0xAA, at 510 whatever the sector size */
};

/* FSInfo sector (FAT32). */
enum {
    FSI_LEAD_SIG = 0,    /* 0x41615252 */
    FSI_STRUC_SIG = 484, /* 0x61417272 */
    FSI_FREE_COUNT = 488,
    FSI_NXT_FREE = 492,
};

/* A 32-byte directory entry. */
enum {
    DIR_NAME =
        0, /* 11 bytes: 8.3 name, space padded; byte 0 0xE5 deleted, 0x00 end, 0x05 = 0xE5 */
    DIR_ATTR = 11,
    DIR_NTRES = 12, /* 0x08 body lower case, 0x10 extension lower case */
    DIR_CRT_TENTH = 13,
    DIR_CRT_TIME = 14,
    DIR_CRT_DATE = 16,
    DIR_ACC_DATE = 18,
    DIR_CLUS_HI = 20,
    DIR_WRT_TIME = 22,
    DIR_WRT_DATE = 24,
    DIR_CLUS_LO = 26,
    DIR_FILE_SIZE = 28,
    DIR_ENTRY_SIZE = 32,
};

/* A long-name entry (attribute 0x0F): 13 UTF-16 units at these offsets. */
enum {
    LDIR_ORD = 0, /* sequence number 1..20; 0x40 marks the last (first stored) part */
    LDIR_ATTR = 11,
    LDIR_TYPE = 12,
    LDIR_CHKSUM = 13,
    LDIR_FST_CLUS = 26,
};
#define LDIR_LAST 0x40
#define LFN_CHARS 13
extern const uint8_t fat_lfn_offsets[LFN_CHARS];

enum {
    ATTR_READ_ONLY = 0x01,
    ATTR_HIDDEN = 0x02,
    ATTR_SYSTEM = 0x04,
    ATTR_VOLUME_ID = 0x08,
    ATTR_DIRECTORY = 0x10,
    ATTR_ARCHIVE = 0x20,
    ATTR_LFN = 0x0F,
};
#define NT_LOWER_BODY 0x08
#define NT_LOWER_EXT 0x10

#define DIR_DELETED 0xE5
#define DIR_KANJI_E5 0x05

struct fat {
    struct fat_dev dev;
    enum fat_type type;
    uint32_t ss;   /* sector size */
    uint32_t spc;  /* sectors per cluster */
    uint32_t cs;   /* cluster size in bytes */
    uint32_t rsvd; /* reserved sectors: the first FAT starts here */
    uint32_t nfats;
    uint32_t fat_secs;  /* sectors per FAT copy */
    uint32_t root_ents; /* FAT12/16 fixed root */
    uint32_t root_sec, root_secs;
    uint32_t data_sec;
    uint32_t total_secs;
    uint32_t nclusters;  /* data clusters */
    uint32_t root_clus;  /* FAT32: the root directory's first cluster */
    uint32_t fsinfo_sec; /* FAT32: 0 when none */
    uint32_t volume_id;
    char label[12], oem[9];
    uint8_t *fat;        /* the first FAT copy */
    uint8_t *fat_dirty;  /* per FAT sector: changed, not yet written to every copy */
    uint32_t last_alloc; /* where the next free-cluster search starts (FatFs's last_clst) */
};

/* The value of FAT entry n, and setting it (in memory; fat_flush writes the changed sectors). */
uint32_t fat_get(const struct fat *fs, uint32_t n);
void fat_set(struct fat *fs, uint32_t n, uint32_t v);
/* Values at or above this end a chain (per type). */
uint32_t fat_eoc(const struct fat *fs);
/* Whether cluster number c is a data cluster. */
static inline int fat_valid_cluster(const struct fat *fs, uint32_t c)
{
    return c >= 2 && c < fs->nclusters + 2;
}
/* Byte offset of cluster c on the device. */
static inline uint32_t fat_cluster_offset(const struct fat *fs, uint32_t c)
{
    return (fs->data_sec + (c - 2) * fs->spc) * fs->ss;
}
/* Write every changed FAT sector to every copy (and the FAT32 FSInfo free count). */
int fat_flush(struct fat *fs);
/* Number of free clusters. */
uint32_t fat_count_free(const struct fat *fs);
/* Follow a chain from first: fills *out (malloc'ed) with its clusters. A loop, a free or
 * out-of-range link is CORRUPT; first == 0 gives an empty list. */
int fat_chain(const struct fat *fs, uint32_t first, uint32_t **out, uint32_t *n);
/* n free clusters (none marked yet), searched like FatFs from last_alloc. */
int fat_find_free(struct fat *fs, uint32_t n, uint32_t *out);

int fat_dev_read(struct fat *fs, uint32_t off, void *buf, uint32_t len);
int fat_dev_write(struct fat *fs, uint32_t off, const void *buf, uint32_t len);
int fat_dev_sync(struct fat *fs);

/* Names (fat_name.c). */
/* CP437 byte -> Unicode, and back (0 when the character is not in CP437). */
uint16_t fat_cp437_to_uni(uint8_t b);
uint8_t fat_uni_to_cp437(uint16_t u);
/* Sum of an 8.3 name, stored in each of its long-name entries. */
uint8_t fat_sfn_checksum(const uint8_t sfn[11]);
/* A name (CP437 bytes) as FatFs makes it: the long name in UTF-16 (trailing dots and spaces
 * removed, NUL-terminated, *lfn_len units), the 8.3 form and flags. INVAL for names FAT cannot
 * hold, NAMETOOLONG for more than 255 characters. */
#define NAME_LOSSY 0x01 /* the 8.3 form is not the name: needs a ~N tail */
#define NAME_NEEDS_LFN 0x02
struct fat_name {
    uint16_t lfn[FAT_NAME_MAX + 1];
    uint32_t lfn_len;
    uint8_t sfn[11];
    uint8_t flags; /* NAME_* */
    uint8_t ntres; /* NT lower-case flags for an 8.3-only name */
    int dot;       /* "." or ".." (1 or 2), 0 otherwise */
};
int fat_name_make(const char *name, size_t len, struct fat_name *out);
/* The 8.3 form with the numeric tail ~seq (FatFs's scheme, hashed from the long name after 5). */
void fat_sfn_numbered(uint8_t dst[11], const uint8_t src[11], const uint16_t *lfn, uint32_t seq);
/* Case-insensitive comparison of two UTF-16 names. */
int fat_lfn_equal(const uint16_t *a, const uint16_t *b);
/* The 8.3 name as shown (NT flags applied to A-Z), "NAME.EXT" form. */
void fat_sfn_display(const uint8_t *entry, char *out, int apply_case);

#endif
