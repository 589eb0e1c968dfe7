/* The volume: boot sector, the allocation table (held in memory, written to every copy), mount
 * and mkfs. */
#include <stdlib.h>
#include <string.h>

#include "fat/fat_int.h"
#include "util/alloc.h"
#include "util/bytes.h"

#define MAX_FAT12 0xFF5u /* most clusters a FAT12 volume has (FatFs's bound: 4085 and up is 16) */
#define MAX_FAT16 0xFFF5u
#define MAX_FAT32 0x0FFFFFF5u

const char *fat_err_name(int err)
{
    switch (err) {
    case FAT_ERR_OK: return "FAT_ERR_OK";
    case FAT_ERR_IO: return "FAT_ERR_IO";
    case FAT_ERR_CORRUPT: return "FAT_ERR_CORRUPT";
    case FAT_ERR_NOENT: return "FAT_ERR_NOENT";
    case FAT_ERR_EXIST: return "FAT_ERR_EXIST";
    case FAT_ERR_NOTDIR: return "FAT_ERR_NOTDIR";
    case FAT_ERR_ISDIR: return "FAT_ERR_ISDIR";
    case FAT_ERR_NOTEMPTY: return "FAT_ERR_NOTEMPTY";
    case FAT_ERR_INVAL: return "FAT_ERR_INVAL";
    case FAT_ERR_NOSPC: return "FAT_ERR_NOSPC";
    case FAT_ERR_NOMEM: return "FAT_ERR_NOMEM";
    case FAT_ERR_NAMETOOLONG: return "FAT_ERR_NAMETOOLONG";
    case FAT_ERR_ACCES: return "FAT_ERR_ACCES";
    default: return "FAT_ERR_UNKNOWN";
    }
}

const char *fat_err_text(int err)
{
    switch (err) {
    case FAT_ERR_OK: return "ok";
    case FAT_ERR_IO: return "input/output error";
    case FAT_ERR_CORRUPT: return "corrupt filesystem";
    case FAT_ERR_NOENT: return "no such file or directory";
    case FAT_ERR_EXIST: return "file exists";
    case FAT_ERR_NOTDIR: return "not a directory";
    case FAT_ERR_ISDIR: return "is a directory";
    case FAT_ERR_NOTEMPTY: return "directory not empty";
    case FAT_ERR_INVAL: return "invalid argument";
    case FAT_ERR_NOSPC: return "no space left on device";
    case FAT_ERR_NOMEM: return "out of memory";
    case FAT_ERR_NAMETOOLONG: return "file name too long";
    case FAT_ERR_ACCES: return "permission denied";
    default: return "unknown error";
    }
}

/* ---------------------------------------------------------------- time */

static int64_t days_from_civil(int y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

time_t fat_time_unpack(uint16_t date, uint16_t tm)
{
    int y = 1980 + (date >> 9);
    unsigned mo = (date >> 5) & 15, d = date & 31;
    if (mo < 1)
        mo = 1;
    if (mo > 12)
        mo = 12;
    if (d < 1)
        d = 1;
    int64_t days = days_from_civil(y, mo, d);
    return (time_t)(days * 86400 + (tm >> 11) * 3600 + ((tm >> 5) & 63) * 60 + (tm & 31) * 2);
}

/* Seconds since 1970 to FAT's packed date and time (arithmetic only: no time zone, no libc). */
uint32_t fat_time_pack(time_t t)
{
    int64_t secs = (int64_t)t;
    if (secs < 315532800) /* FAT dates start in 1980 */
        secs = 315532800;
    int64_t days = secs / 86400, rem = secs % 86400;
    /* civil date of a day count (Howard Hinnant's algorithm) */
    int64_t z = days + 719468;
    int64_t era = z / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    if (y > 2107) /* the last year FAT holds */
        return 0xFF9FBF7Du;
    return (uint32_t)(y - 1980) << 25 | (uint32_t)m << 21 | (uint32_t)d << 16 |
           (uint32_t)(rem / 3600) << 11 | (uint32_t)(rem / 60 % 60) << 5 |
           (uint32_t)(rem % 60 / 2);
}

/* ---------------------------------------------------------------- device */

int fat_dev_read(struct fat *fs, uint32_t off, void *buf, uint32_t len)
{
    if (off > fs->dev.size || len > fs->dev.size - off)
        return FAT_ERR_CORRUPT;
    int rc = fs->dev.read(fs->dev.ctx, off, buf, len);
    return rc < 0 ? rc : 0;
}

int fat_dev_write(struct fat *fs, uint32_t off, const void *buf, uint32_t len)
{
    if (off > fs->dev.size || len > fs->dev.size - off)
        return FAT_ERR_CORRUPT;
    int rc = fs->dev.write(fs->dev.ctx, off, buf, len);
    return rc < 0 ? rc : 0;
}

int fat_dev_sync(struct fat *fs)
{
    if (!fs->dev.sync)
        return 0;
    int rc = fs->dev.sync(fs->dev.ctx);
    return rc < 0 ? rc : 0;
}

/* ---------------------------------------------------------------- the table */

uint32_t fat_eoc(const struct fat *fs)
{
    return fs->type == FAT_TYPE_12 ? 0xFF8u : fs->type == FAT_TYPE_16 ? 0xFFF8u : 0x0FFFFFF8u;
}

uint32_t fat_get(const struct fat *fs, uint32_t n)
{
    const uint8_t *f = fs->fat;
    switch (fs->type) {
    case FAT_TYPE_12: {
        uint32_t o = n + n / 2;
        uint32_t v = f[o] | (uint32_t)f[o + 1] << 8;
        return n & 1 ? v >> 4 : v & 0xFFF;
    }
    case FAT_TYPE_16: return get_le16(f + 2 * n);
    default: return get_le32(f + 4 * n) & 0x0FFFFFFFu;
    }
}

static void mark(struct fat *fs, uint32_t byte)
{
    fs->fat_dirty[byte / fs->ss] = 1;
}

void fat_set(struct fat *fs, uint32_t n, uint32_t v)
{
    uint8_t *f = fs->fat;
    switch (fs->type) {
    case FAT_TYPE_12: {
        uint32_t o = n + n / 2;
        if (n & 1) {
            f[o] = (uint8_t)((f[o] & 0x0F) | (v << 4));
            f[o + 1] = (uint8_t)(v >> 4);
        } else {
            f[o] = (uint8_t)v;
            f[o + 1] = (uint8_t)((f[o + 1] & 0xF0) | ((v >> 8) & 0x0F));
        }
        mark(fs, o);
        mark(fs, o + 1);
        break;
    }
    case FAT_TYPE_16:
        put_le16(f + 2 * n, (uint16_t)v);
        mark(fs, 2 * n);
        break;
    default: /* the top four bits are reserved and kept */
        put_le32(f + 4 * n, (get_le32(f + 4 * n) & 0xF0000000u) | (v & 0x0FFFFFFFu));
        mark(fs, 4 * n);
        break;
    }
}

uint32_t fat_count_free(const struct fat *fs)
{
    uint32_t n = 0;
    for (uint32_t c = 2; c < fs->nclusters + 2; c++)
        n += fat_get(fs, c) == 0;
    return n;
}

int fat_flush(struct fat *fs)
{
    int any = 0;
    for (uint32_t copy = 0; copy < fs->nfats; copy++)
        for (uint32_t s = 0; s < fs->fat_secs; s++) {
            if (!fs->fat_dirty[s])
                continue;
            any = 1;
            uint32_t off = (fs->rsvd + copy * fs->fat_secs + s) * fs->ss;
            int rc = fat_dev_write(fs, off, fs->fat + (size_t)s * fs->ss, fs->ss);
            if (rc)
                return rc;
        }
    memset(fs->fat_dirty, 0, fs->fat_secs);
    if (any && fs->fsinfo_sec) {
        uint8_t *sec = mp_malloc(fs->ss);
        if (!sec)
            return FAT_ERR_NOMEM;
        int rc = fat_dev_read(fs, fs->fsinfo_sec * fs->ss, sec, fs->ss);
        if (!rc && get_le32(sec + FSI_LEAD_SIG) == 0x41615252u &&
            get_le32(sec + FSI_STRUC_SIG) == 0x61417272u) {
            put_le32(sec + FSI_FREE_COUNT, fat_count_free(fs));
            put_le32(sec + FSI_NXT_FREE, fs->last_alloc);
            rc = fat_dev_write(fs, fs->fsinfo_sec * fs->ss, sec, fs->ss);
        }
        free(sec);
        if (rc)
            return rc;
    }
    return fat_dev_sync(fs);
}

int fat_chain(const struct fat *fs, uint32_t first, uint32_t **out, uint32_t *n)
{
    *out = NULL;
    *n = 0;
    if (first == 0)
        return 0;
    uint32_t cap = 16, cnt = 0;
    uint32_t *v = mp_malloc(cap * sizeof *v);
    if (!v)
        return FAT_ERR_NOMEM;
    uint32_t c = first;
    for (;;) {
        if (!fat_valid_cluster(fs, c) || cnt >= fs->nclusters) {
            free(v);
            return FAT_ERR_CORRUPT;
        }
        if (cnt == cap) {
            cap *= 2;
            uint32_t *nv = mp_realloc(v, cap * sizeof *v);
            if (!nv) {
                free(v);
                return FAT_ERR_NOMEM;
            }
            v = nv;
        }
        v[cnt++] = c;
        uint32_t next = fat_get(fs, c);
        if (next >= fat_eoc(fs))
            break;
        c = next;
    }
    *out = v;
    *n = cnt;
    return 0;
}

int fat_find_free(struct fat *fs, uint32_t n, uint32_t *out)
{
    uint32_t found = 0, c = fs->last_alloc;
    for (uint32_t tries = 0; found < n && tries < fs->nclusters; tries++) {
        c++;
        if (c >= fs->nclusters + 2)
            c = 2;
        if (fat_get(fs, c) == 0)
            out[found++] = c;
    }
    return found == n ? 0 : FAT_ERR_NOSPC;
}

/* ---------------------------------------------------------------- mount */

static int is_pow2(uint32_t v)
{
    return v && !(v & (v - 1));
}

static void copy_trimmed(char *dst, const uint8_t *src, size_t n)
{
    memcpy(dst, src, n);
    dst[n] = 0;
    while (n && (dst[n - 1] == ' ' || dst[n - 1] == 0))
        dst[--n] = 0;
}

int fat_mount(struct fat **out, const struct fat_dev *dev)
{
    *out = NULL;
    uint8_t bs[512];
    if (dev->size < 512)
        return FAT_ERR_INVAL;
    int rc = dev->read(dev->ctx, 0, bs, sizeof bs);
    if (rc < 0)
        return rc;
    if (get_le16(bs + BS_SIGNATURE) != 0xAA55 || (bs[0] != 0xEB && bs[0] != 0xE9))
        return FAT_ERR_INVAL;
    uint32_t ss = get_le16(bs + BPB_BYTES_PER_SEC), spc = bs[BPB_SEC_PER_CLUS];
    uint32_t rsvd = get_le16(bs + BPB_RSVD_SECS), nfats = bs[BPB_NUM_FATS];
    uint32_t root_ents = get_le16(bs + BPB_ROOT_ENTS);
    uint32_t total = get_le16(bs + BPB_TOT_SEC16);
    if (!total)
        total = get_le32(bs + BPB_TOT_SEC32);
    uint32_t fat_secs = get_le16(bs + BPB_FAT_SZ16);
    int fat32_layout = fat_secs == 0;
    if (fat32_layout)
        fat_secs = get_le32(bs + BPB_FAT_SZ32);
    if (ss < 512 || ss > 4096 || !is_pow2(ss) || !is_pow2(spc) || !rsvd || nfats < 1 ||
        nfats > 2 || !fat_secs || !total || (root_ents * 32) % ss)
        return FAT_ERR_INVAL;
    uint64_t root_secs = (uint64_t)root_ents * 32 / ss;
    uint64_t data = rsvd + (uint64_t)nfats * fat_secs + root_secs;
    if (data >= total || (uint64_t)total * ss > dev->size)
        return FAT_ERR_INVAL;
    uint32_t nclusters = (uint32_t)((total - data) / spc);
    /* FatFs's bounds (a board's reader): one cluster above Microsoft's, which only matters
     * for a volume of exactly 4085 or 65525 clusters, and FatFs's own mkfs can make the first */
    enum fat_type type = nclusters <= MAX_FAT12   ? FAT_TYPE_12
                         : nclusters <= MAX_FAT16 ? FAT_TYPE_16
                                                  : FAT_TYPE_32;
    if ((type == FAT_TYPE_32) != fat32_layout || (type == FAT_TYPE_32 && root_ents))
        return FAT_ERR_INVAL;
    /* the table must hold an entry for every cluster */
    uint64_t need = type == FAT_TYPE_12   ? ((uint64_t)nclusters + 2) * 3 / 2 + 1
                    : type == FAT_TYPE_16 ? ((uint64_t)nclusters + 2) * 2
                                          : ((uint64_t)nclusters + 2) * 4;
    if ((uint64_t)fat_secs * ss < need)
        return FAT_ERR_INVAL;

    struct fat *fs = mp_calloc(1, sizeof *fs);
    if (!fs)
        return FAT_ERR_NOMEM;
    fs->dev = *dev;
    fs->type = type;
    fs->ss = ss;
    fs->spc = spc;
    fs->cs = ss * spc;
    fs->rsvd = rsvd;
    fs->nfats = nfats;
    fs->fat_secs = fat_secs;
    fs->root_ents = root_ents;
    fs->root_sec = rsvd + nfats * fat_secs;
    fs->root_secs = (uint32_t)root_secs;
    fs->data_sec = (uint32_t)data;
    fs->total_secs = total;
    fs->nclusters = nclusters;
    fs->last_alloc = 1;
    if (type == FAT_TYPE_32) {
        fs->root_clus = get_le32(bs + BPB_ROOT_CLUS);
        fs->fsinfo_sec = get_le16(bs + BPB_FS_INFO);
        if (fs->fsinfo_sec == 0 || fs->fsinfo_sec >= rsvd)
            fs->fsinfo_sec = 0;
        fs->volume_id = get_le32(bs + BS32_VOL_ID);
        copy_trimmed(fs->label, bs + BS32_VOL_LAB, 11);
    } else {
        fs->volume_id = bs[BS_BOOT_SIG] == 0x29 ? get_le32(bs + BS_VOL_ID) : 0;
        if (bs[BS_BOOT_SIG] == 0x29)
            copy_trimmed(fs->label, bs + BS_VOL_LAB, 11);
    }
    copy_trimmed(fs->oem, bs + BPB_OEM, 8);
    fs->fat = mp_malloc((size_t)fat_secs * ss);
    fs->fat_dirty = mp_calloc(fat_secs, 1);
    if (!fs->fat || !fs->fat_dirty) {
        fat_unmount(fs);
        return FAT_ERR_NOMEM;
    }
    rc = fat_dev_read(fs, rsvd * ss, fs->fat, fat_secs * ss);
    if (rc) {
        fat_unmount(fs);
        return rc;
    }
    if (type == FAT_TYPE_32 && !fat_valid_cluster(fs, fs->root_clus)) {
        fat_unmount(fs);
        return FAT_ERR_INVAL;
    }
    *out = fs;
    return 0;
}

void fat_unmount(struct fat *fs)
{
    if (!fs)
        return;
    free(fs->fat);
    free(fs->fat_dirty);
    free(fs);
}

int fat_volinfo(struct fat *fs, struct fat_volinfo *info)
{
    memset(info, 0, sizeof *info);
    info->type = fs->type;
    info->sector_size = fs->ss;
    info->cluster_size = fs->cs;
    info->clusters = fs->nclusters;
    info->free_clusters = fat_count_free(fs);
    info->total_sectors = fs->total_secs;
    info->reserved_sectors = fs->rsvd;
    info->fats = fs->nfats;
    info->fat_sectors = fs->fat_secs;
    info->root_entries = fs->root_ents;
    info->volume_id = fs->volume_id;
    memcpy(info->label, fs->label, sizeof info->label);
    memcpy(info->oem, fs->oem, sizeof info->oem);
    return 0;
}

/* ---------------------------------------------------------------- grow */

/* Clusters the table has entries for, and the most its type may have. */
static uint32_t table_capacity(const struct fat *fs)
{
    uint64_t bits = (uint64_t)fs->fat_secs * fs->ss * 8;
    uint64_t entries = bits / (fs->type == FAT_TYPE_12 ? 12 : fs->type == FAT_TYPE_16 ? 16 : 32);
    uint64_t cap = entries > 2 ? entries - 2 : 0;
    uint32_t bound = fs->type == FAT_TYPE_12   ? MAX_FAT12
                     : fs->type == FAT_TYPE_16 ? MAX_FAT16
                                               : MAX_FAT32;
    return cap < bound ? (uint32_t)cap : bound;
}

uint32_t fat_grow_limit(const struct fat *fs, uint32_t max_sectors)
{
    uint32_t dev_secs = fs->dev.size / fs->ss;
    if (max_sectors > dev_secs)
        max_sectors = dev_secs;
    uint64_t by_table = fs->data_sec + (uint64_t)table_capacity(fs) * fs->spc;
    uint32_t lim = by_table < max_sectors ? (uint32_t)by_table : max_sectors;
    return lim < fs->total_secs ? fs->total_secs : lim;
}

int fat_grow(struct fat *fs, uint32_t total)
{
    if (total < fs->total_secs || total > fat_grow_limit(fs, total))
        return FAT_ERR_INVAL;
    if (total == fs->total_secs)
        return 0;
    uint32_t ncl = (total - fs->data_sec) / fs->spc;
    for (uint32_t c = fs->nclusters + 2; c < ncl + 2; c++)
        if (fat_get(fs, c) != 0)
            return FAT_ERR_CORRUPT; /* the table holds something beyond the volume */
    uint8_t bs[512];
    int rc = fat_dev_read(fs, 0, bs, sizeof bs);
    if (rc)
        return rc;
    if (get_le16(bs + BPB_TOT_SEC16) && total < 0x10000) {
        put_le16(bs + BPB_TOT_SEC16, (uint16_t)total);
    } else {
        put_le16(bs + BPB_TOT_SEC16, 0);
        put_le32(bs + BPB_TOT_SEC32, total);
    }
    /* FAT32 keeps a copy of the boot sector */
    uint32_t backup = fs->type == FAT_TYPE_32 ? get_le16(bs + 50) : 0;
    if (backup && backup < fs->rsvd)
        rc = fat_dev_write(fs, backup * fs->ss, bs, sizeof bs);
    if (!rc)
        rc = fat_dev_write(fs, 0, bs, sizeof bs);
    if (rc)
        return rc;
    fs->total_secs = total;
    fs->nclusters = ncl;
    if (fs->fsinfo_sec)
        fs->fat_dirty[0] = 1; /* fat_flush rewrites FSInfo's free count */
    return fat_flush(fs);
}

/* ---------------------------------------------------------------- mkfs */

/* FatFs's f_mkfs for FM_FAT | FM_SFD with automatic cluster size, one FAT and 512 root entries,
 * on a device whose erase block is one sector (MicroPython's block devices say so). */
int fat_mkfs(const struct fat_dev *dev, const struct fat_mkfs_opts *opts)
{
    uint32_t ss = opts->sector_size;
    if (ss < 512 || ss > 4096 || !is_pow2(ss))
        return FAT_ERR_INVAL;
    uint32_t sz_vol = dev->size / ss;
    if (sz_vol < 22) /* FatFs's floor (the smallest volume of 4096-byte sectors) */
        return FAT_ERR_INVAL;
    static const uint16_t cst[] = {1,   4,   16, 64,
                                   256, 512, 0}; /* bounds in units of 4096 sectors */
    const uint32_t n_fats = 1, n_root = 512;
    uint32_t au = 0, pau, n_clst, sz_fat, sz_rsv, sz_dir;
    enum fat_type fmt = FAT_TYPE_16;
    for (;;) {
        fmt = FAT_TYPE_16;
        pau = au;
        if (!pau) {
            uint32_t n = sz_vol / 0x1000;
            pau = 1;
            for (int i = 0; cst[i] && cst[i] <= n; i++)
                pau <<= 1;
        }
        n_clst = sz_vol / pau;
        uint32_t bytes;
        if (n_clst > MAX_FAT12) {
            bytes = n_clst * 2 + 4;
        } else {
            fmt = FAT_TYPE_12;
            bytes = (n_clst * 3 + 1) / 2 + 3;
        }
        sz_fat = (bytes + ss - 1) / ss;
        sz_rsv = 1;
        sz_dir = n_root * DIR_ENTRY_SIZE / ss;
        uint32_t b_data = sz_rsv + sz_fat * n_fats + sz_dir;
        if (sz_vol < b_data + pau * 16)
            return FAT_ERR_INVAL; /* too small */
        n_clst = (sz_vol - sz_rsv - sz_fat * n_fats - sz_dir) / pau;
        if (fmt == FAT_TYPE_16) {
            if (n_clst > MAX_FAT16) {
                if (au == 0 && pau * 2 <= 64) {
                    au = pau * 2;
                    continue;
                }
                if (au == 0 && (au = pau * 2) <= 128)
                    continue;
                return FAT_ERR_INVAL; /* would need FAT32 */
            }
            if (n_clst <= MAX_FAT12) {
                if (au == 0 && (au = pau * 2) <= 128)
                    continue;
                return FAT_ERR_INVAL;
            }
        }
        if (fmt == FAT_TYPE_12 && n_clst > MAX_FAT12)
            return FAT_ERR_INVAL;
        break;
    }
    uint8_t *buf = mp_calloc(1, ss);
    if (!buf)
        return FAT_ERR_NOMEM;
    memcpy(buf + BPB_JMP,
           "\xEB\xFE\x90"
           "MSDOS5.0",
           11);
    put_le16(buf + BPB_BYTES_PER_SEC, (uint16_t)ss);
    buf[BPB_SEC_PER_CLUS] = (uint8_t)pau;
    put_le16(buf + BPB_RSVD_SECS, (uint16_t)sz_rsv);
    buf[BPB_NUM_FATS] = (uint8_t)n_fats;
    put_le16(buf + BPB_ROOT_ENTS, (uint16_t)n_root);
    if (sz_vol < 0x10000)
        put_le16(buf + BPB_TOT_SEC16, (uint16_t)sz_vol);
    else
        put_le32(buf + BPB_TOT_SEC32, sz_vol);
    buf[BPB_MEDIA] = 0xF8;
    put_le16(buf + BPB_SEC_PER_TRK, 63);
    put_le16(buf + BPB_NUM_HEADS, 255);
    put_le32(buf + BS_VOL_ID, fat_time_pack(opts->now));
    put_le16(buf + BPB_FAT_SZ16, (uint16_t)sz_fat);
    buf[BS_DRV_NUM] = 0x80;
    buf[BS_BOOT_SIG] = 0x29;
    memcpy(buf + BS_VOL_LAB,
           "NO NAME    "
           "FAT     ",
           19);
    put_le16(buf + BS_SIGNATURE, 0xAA55);
    int rc = dev->write(dev->ctx, 0, buf, ss);
    /* the FAT: media byte and end-of-chain in entries 0 and 1 */
    memset(buf, 0, ss);
    put_le32(buf, fmt == FAT_TYPE_12 ? 0x00FFFFF8u : 0xFFFFFFF8u);
    for (uint32_t s = 0; rc >= 0 && s < sz_fat * n_fats; s++) {
        rc = dev->write(dev->ctx, (sz_rsv + s) * ss, buf, ss);
        memset(buf, 0, ss);
    }
    for (uint32_t s = 0; rc >= 0 && s < sz_dir; s++)
        rc = dev->write(dev->ctx, (sz_rsv + sz_fat * n_fats + s) * ss, buf, ss);
    if (rc >= 0 && dev->sync)
        rc = dev->sync(dev->ctx);
    free(buf);
    return rc < 0 ? rc : 0;
}
