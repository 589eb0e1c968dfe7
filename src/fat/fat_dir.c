/* Directories and files: reading entries and long names, looking paths up, reading file data,
 * and the changes (write, mkdir, remove, rename) in the order data -> entries -> FAT. */
#include <stdlib.h>
#include <string.h>

#include "fat/fat_int.h"
#include "util/alloc.h"
#include "util/bytes.h"

#define MAX_DEPTH 64                 /* path components */
#define MAX_DIR_BYTES (65536u * 32u) /* FAT's limit on a directory's entries */

/* A directory read into memory: the fixed root (first == 0 on FAT12/16) or a cluster chain. */
struct dir {
    uint32_t first;
    uint32_t *clusters;
    uint32_t nclus;
    uint8_t *data;
    uint32_t len;
};

/* One live entry: its slots start..sfn (long-name parts, then the 8.3 entry). */
struct ent {
    uint32_t start, sfn;
    uint8_t raw[32];
    uint16_t lfn[FAT_NAME_MAX + 1];
    int has_lfn;
};

static void dir_free(struct dir *d)
{
    free(d->clusters);
    free(d->data);
    memset(d, 0, sizeof *d);
}

static uint32_t root_first(const struct fat *fs)
{
    return fs->type == FAT_TYPE_32 ? fs->root_clus : 0;
}

static int dir_load(struct fat *fs, uint32_t first, struct dir *d)
{
    memset(d, 0, sizeof *d);
    d->first = first;
    if (first == 0) {
        d->len = fs->root_secs * fs->ss;
        d->data = mp_malloc(d->len ? d->len : 1);
        if (!d->data)
            return FAT_ERR_NOMEM;
        int rc = fat_dev_read(fs, fs->root_sec * fs->ss, d->data, d->len);
        if (rc)
            dir_free(d);
        return rc;
    }
    int rc = fat_chain(fs, first, &d->clusters, &d->nclus);
    if (rc)
        return rc;
    if ((uint64_t)d->nclus * fs->cs > MAX_DIR_BYTES) {
        dir_free(d);
        return FAT_ERR_CORRUPT;
    }
    d->len = d->nclus * fs->cs;
    d->data = mp_malloc(d->len);
    if (!d->data) {
        dir_free(d);
        return FAT_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < d->nclus; i++) {
        rc = fat_dev_read(fs, fat_cluster_offset(fs, d->clusters[i]), d->data + i * fs->cs,
                          fs->cs);
        if (rc) {
            dir_free(d);
            return rc;
        }
    }
    return 0;
}

/* Write slots [from, from + count) of d back to the device. */
static int dir_store(struct fat *fs, const struct dir *d, uint32_t from, uint32_t count)
{
    uint32_t off = from * DIR_ENTRY_SIZE, end = (from + count) * DIR_ENTRY_SIZE;
    while (off < end) {
        uint32_t dev_off, room;
        if (d->first == 0) {
            dev_off = fs->root_sec * fs->ss + off;
            room = end - off;
        } else {
            uint32_t ci = off / fs->cs, co = off % fs->cs;
            dev_off = fat_cluster_offset(fs, d->clusters[ci]) + co;
            room = fs->cs - co;
            if (room > end - off)
                room = end - off;
        }
        int rc = fat_dev_write(fs, dev_off, d->data + off, room);
        if (rc)
            return rc;
        off += room;
    }
    return 0;
}

/* Long-name part of slot e into lfn; 0 when its contents break the rules. */
static int pick_lfn(uint16_t *lfn, const uint8_t *e)
{
    if (get_le16(e + LDIR_FST_CLUS) != 0)
        return 0;
    uint32_t i = ((e[LDIR_ORD] & 0x3Fu) - 1) * LFN_CHARS;
    uint16_t wc = 1;
    for (int s = 0; s < LFN_CHARS; s++) {
        uint16_t u = get_le16(e + fat_lfn_offsets[s]);
        if (wc) {
            if (i > FAT_NAME_MAX)
                return 0;
            lfn[i++] = wc = u;
        } else if (u != 0xFFFF) {
            return 0;
        }
    }
    if ((e[LDIR_ORD] & LDIR_LAST) && wc) {
        if (i > FAT_NAME_MAX)
            return 0;
        lfn[i] = 0;
    }
    return 1;
}

/* The next live entry at or after *pos ("." and ".." included when dots); 1 found, 0 end. */
static int dir_next(const struct dir *d, uint32_t *pos, struct ent *out, int dots)
{
    uint32_t n = d->len / DIR_ENTRY_SIZE;
    uint8_t ord = 0, sum = 0;
    uint32_t start = 0;
    for (uint32_t i = *pos; i < n; i++) {
        const uint8_t *e = d->data + (size_t)i * DIR_ENTRY_SIZE;
        uint8_t c = e[0];
        if (c == 0)
            break;
        if (c == DIR_DELETED) {
            ord = 0xFF;
            continue;
        }
        uint8_t attr = e[DIR_ATTR] & 0x3F;
        if (attr == ATTR_LFN) {
            if (c & LDIR_LAST) {
                sum = e[LDIR_CHKSUM];
                c &= (uint8_t)~LDIR_LAST;
                ord = c;
                start = i;
            }
            ord = (c == ord && c >= 1 && sum == e[LDIR_CHKSUM] && pick_lfn(out->lfn, e))
                      ? (uint8_t)(ord - 1)
                      : 0xFF;
            continue;
        }
        if (attr & ATTR_VOLUME_ID) {
            ord = 0xFF;
            continue;
        }
        if (c == '.' && !dots) {
            ord = 0xFF;
            continue;
        }
        out->has_lfn = ord == 0 && sum == fat_sfn_checksum(e);
        out->start = out->has_lfn ? start : i;
        out->sfn = i;
        memcpy(out->raw, e, 32);
        *pos = i + 1;
        return 1;
    }
    *pos = n;
    return 0;
}

static uint32_t ent_cluster(const struct fat *fs, const uint8_t *e)
{
    uint32_t c = get_le16(e + DIR_CLUS_LO);
    if (fs->type == FAT_TYPE_32)
        c |= (uint32_t)get_le16(e + DIR_CLUS_HI) << 16;
    return c;
}

static void ent_set_cluster(const struct fat *fs, uint8_t *e, uint32_t c)
{
    put_le16(e + DIR_CLUS_LO, (uint16_t)c);
    put_le16(e + DIR_CLUS_HI, fs->type == FAT_TYPE_32 ? (uint16_t)(c >> 16) : 0);
}

/* The name MicroPython shows: the long name in CP437, else the 8.3 name. */
static void ent_name(const struct ent *en, char *out)
{
    if (en->has_lfn) {
        size_t i = 0;
        for (; en->lfn[i]; i++) {
            uint8_t b = fat_uni_to_cp437(en->lfn[i]);
            if (!b)
                break;
            out[i] = (char)b;
        }
        if (!en->lfn[i] && i) {
            out[i] = 0;
            return;
        }
    }
    fat_sfn_display(en->raw, out, 1);
}

static void ent_info(const struct fat *fs, const struct ent *en, struct fat_info *info)
{
    memset(info, 0, sizeof *info);
    const uint8_t *e = en->raw;
    info->attr = e[DIR_ATTR];
    info->is_dir = (e[DIR_ATTR] & ATTR_DIRECTORY) != 0;
    info->size = info->is_dir ? 0 : get_le32(e + DIR_FILE_SIZE);
    info->mtime = fat_time_unpack(get_le16(e + DIR_WRT_DATE), get_le16(e + DIR_WRT_TIME));
    info->ctime = get_le16(e + DIR_CRT_DATE)
                      ? fat_time_unpack(get_le16(e + DIR_CRT_DATE), get_le16(e + DIR_CRT_TIME))
                      : 0;
    ent_name(en, info->name);
    fat_sfn_display(e, info->sfn, 0);
    info->has_lfn = en->has_lfn;
    info->first_cluster = ent_cluster(fs, e);
}

/* FatFs's match: the long name ignoring case, or the exact 8.3 form of a name that has one. */
static int dir_find(const struct dir *d, const struct fat_name *nm, struct ent *out)
{
    uint32_t pos = 0;
    while (dir_next(d, &pos, out, 1)) {
        if (out->has_lfn && fat_lfn_equal(out->lfn, nm->lfn))
            return 1;
        if (!(nm->flags & NAME_LOSSY) && memcmp(out->raw, nm->sfn, 11) == 0)
            return 1;
    }
    return 0;
}

/* ---------------------------------------------------------------- paths */

struct path {
    const char *comp[MAX_DEPTH];
    size_t len[MAX_DEPTH];
    int n;
};

static int path_split(const char *p, struct path *out)
{
    out->n = 0;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *s = p;
        while (*p && *p != '/')
            p++;
        size_t l = (size_t)(p - s);
        if (l == 1 && s[0] == '.')
            continue;
        if (l == 2 && s[0] == '.' && s[1] == '.') {
            if (out->n)
                out->n--;
            continue;
        }
        if (out->n == MAX_DEPTH)
            return FAT_ERR_NAMETOOLONG;
        out->comp[out->n] = s;
        out->len[out->n] = l;
        out->n++;
    }
    return 0;
}

/* The directory cluster reached by the first `upto` components of p. */
static int walk(struct fat *fs, const struct path *p, int upto, uint32_t *dir_first)
{
    uint32_t cur = root_first(fs);
    for (int i = 0; i < upto; i++) {
        struct fat_name nm;
        int rc = fat_name_make(p->comp[i], p->len[i], &nm);
        if (rc)
            return rc == FAT_ERR_INVAL ? FAT_ERR_NOENT : rc;
        struct dir d;
        rc = dir_load(fs, cur, &d);
        if (rc)
            return rc;
        struct ent *en = mp_malloc(sizeof *en);
        if (!en) {
            dir_free(&d);
            return FAT_ERR_NOMEM;
        }
        int found = dir_find(&d, &nm, en);
        dir_free(&d);
        if (!found) {
            free(en);
            return FAT_ERR_NOENT;
        }
        int is_dir = en->raw[DIR_ATTR] & ATTR_DIRECTORY;
        uint32_t c = ent_cluster(fs, en->raw);
        free(en);
        if (!is_dir)
            return FAT_ERR_NOTDIR;
        cur = c ? c : root_first(fs);
    }
    *dir_first = cur;
    return 0;
}

/* Looks up the last component of path: its parent directory loaded into *d, the entry into
 * *en. Returns 1 found, 0 not found (d loaded, nm set), negative on error. The root has no
 * entry: ROOT is returned for it. */
#define ROOT 2
static int lookup(struct fat *fs, const char *path, struct dir *d, struct ent *en,
                  struct fat_name *nm)
{
    memset(d, 0, sizeof *d);
    struct path p;
    int rc = path_split(path, &p);
    if (rc)
        return rc;
    if (p.n == 0)
        return ROOT;
    uint32_t parent;
    rc = walk(fs, &p, p.n - 1, &parent);
    if (rc)
        return rc;
    rc = fat_name_make(p.comp[p.n - 1], p.len[p.n - 1], nm);
    if (rc)
        return rc;
    rc = dir_load(fs, parent, d);
    if (rc)
        return rc;
    return dir_find(d, nm, en);
}

/* Scratch for a lookup, on the heap (a long name and a name are 1 KiB together). */
struct scratch {
    struct dir d;
    struct ent en;
    struct fat_name nm;
};

static struct scratch *scratch_new(void)
{
    return mp_calloc(1, sizeof(struct scratch));
}

static void scratch_free(struct scratch *s)
{
    if (s) {
        dir_free(&s->d);
        free(s);
    }
}

int fat_stat(struct fat *fs, const char *path, struct fat_info *info)
{
    struct scratch *s = scratch_new();
    if (!s)
        return FAT_ERR_NOMEM;
    int rc = lookup(fs, path, &s->d, &s->en, &s->nm);
    if (rc == ROOT) {
        memset(info, 0, sizeof *info);
        info->is_dir = 1;
        info->attr = ATTR_DIRECTORY;
        info->first_cluster = root_first(fs);
        rc = 0;
    } else if (rc == 1) {
        ent_info(fs, &s->en, info);
        rc = 0;
    } else if (rc == 0) {
        rc = FAT_ERR_NOENT;
    }
    scratch_free(s);
    return rc;
}

/* The directory at path: its first cluster (0 the fixed root). */
static int open_dir(struct fat *fs, const char *path, uint32_t *first)
{
    struct fat_info *info = mp_malloc(sizeof *info);
    if (!info)
        return FAT_ERR_NOMEM;
    int rc = fat_stat(fs, path, info);
    if (!rc && !info->is_dir)
        rc = FAT_ERR_NOTDIR;
    if (!rc)
        *first = info->first_cluster ? info->first_cluster : root_first(fs);
    free(info);
    return rc;
}

int fat_dir_list(struct fat *fs, const char *path,
                 int (*cb)(void *ctx, const struct fat_info *info), void *ctx)
{
    uint32_t first;
    int rc = open_dir(fs, path, &first);
    if (rc)
        return rc;
    struct dir d;
    rc = dir_load(fs, first, &d);
    if (rc)
        return rc;
    struct ent *en = mp_malloc(sizeof *en);
    struct fat_info *info = mp_malloc(sizeof *info);
    if (!en || !info) {
        rc = FAT_ERR_NOMEM;
    } else {
        uint32_t pos = 0;
        while (!rc && dir_next(&d, &pos, en, 0)) {
            ent_info(fs, en, info);
            rc = cb(ctx, info);
        }
    }
    free(en);
    free(info);
    dir_free(&d);
    return rc;
}

/* ---------------------------------------------------------------- reading files */

int fat_file_open(struct fat *fs, const char *path, struct fat_file *f)
{
    struct fat_info *info = mp_malloc(sizeof *info);
    if (!info)
        return FAT_ERR_NOMEM;
    int rc = fat_stat(fs, path, info);
    if (!rc && info->is_dir)
        rc = FAT_ERR_ISDIR;
    if (!rc) {
        memset(f, 0, sizeof *f);
        f->first = info->first_cluster;
        f->size = info->size;
        if (f->size && !fat_valid_cluster(fs, f->first))
            rc = FAT_ERR_CORRUPT;
    }
    free(info);
    return rc;
}

int fat_file_read(struct fat *fs, struct fat_file *f, void *buf, uint32_t len)
{
    uint8_t *out = buf;
    uint32_t done = 0;
    while (done < len && f->pos < f->size) {
        uint32_t want_index = f->pos / fs->cs;
        if (!f->cluster || want_index < f->cluster_index) {
            f->cluster = f->first;
            f->cluster_index = 0;
        }
        while (f->cluster_index < want_index) {
            uint32_t next = fat_get(fs, f->cluster);
            if (!fat_valid_cluster(fs, next) || f->cluster_index >= fs->nclusters)
                return FAT_ERR_CORRUPT;
            f->cluster = next;
            f->cluster_index++;
        }
        if (!fat_valid_cluster(fs, f->cluster))
            return FAT_ERR_CORRUPT;
        uint32_t co = f->pos % fs->cs;
        uint32_t n = fs->cs - co;
        if (n > f->size - f->pos)
            n = f->size - f->pos;
        if (n > len - done)
            n = len - done;
        int rc = fat_dev_read(fs, fat_cluster_offset(fs, f->cluster) + co, out + done, n);
        if (rc)
            return rc;
        done += n;
        f->pos += n;
    }
    return (int)done;
}

int fat_file_runs(struct fat *fs, const char *path,
                  int (*cb)(void *ctx, uint32_t off, uint32_t len), void *ctx)
{
    struct fat_file f;
    int rc = fat_file_open(fs, path, &f);
    if (rc)
        return rc;
    uint32_t run = 0, run_len = 0, left = f.size, c = f.first;
    for (uint32_t i = 0; left > 0; i++) {
        if (!fat_valid_cluster(fs, c) || i >= fs->nclusters)
            return FAT_ERR_CORRUPT;
        uint32_t off = fat_cluster_offset(fs, c), n = left < fs->cs ? left : fs->cs;
        if (run_len && off == run + run_len) {
            run_len += n; /* the next cluster follows on the device: one run */
        } else {
            if (run_len && (rc = cb(ctx, run, run_len)) != 0)
                return rc;
            run = off;
            run_len = n;
        }
        left -= n;
        if (left)
            c = fat_get(fs, c);
    }
    return run_len ? cb(ctx, run, run_len) : 0;
}

/* ---------------------------------------------------------------- changes */

/* Undo in-memory allocation after a failed change: the table is read back from the device. */
static int fat_reload(struct fat *fs)
{
    memset(fs->fat_dirty, 0, fs->fat_secs);
    return fat_dev_read(fs, fs->rsvd * fs->ss, fs->fat, fs->fat_secs * fs->ss);
}

/* Allocate a chain of n clusters in the in-memory table (written by fat_flush). */
static int alloc_chain(struct fat *fs, uint32_t n, uint32_t **out)
{
    *out = NULL;
    if (!n)
        return 0;
    uint32_t *v = mp_malloc(n * sizeof *v);
    if (!v)
        return FAT_ERR_NOMEM;
    int rc = fat_find_free(fs, n, v);
    if (rc) {
        free(v);
        return rc;
    }
    for (uint32_t i = 0; i < n; i++)
        fat_set(fs, v[i], i + 1 < n ? v[i + 1] : 0x0FFFFFFFu & (fat_eoc(fs) | 7));
    fs->last_alloc = v[n - 1];
    *out = v;
    return 0;
}

/* A chain to be freed once its entry is gone: listed before anything is written, so that running
 * out of memory cannot stop a change half way. */
struct chain {
    uint32_t *v, n;
};

static void chain_release(struct fat *fs, struct chain *c)
{
    for (uint32_t i = 0; i < c->n; i++)
        fat_set(fs, c->v[i], 0);
}

static void dir_entry_times(uint8_t *e, uint32_t ts, int creation)
{
    if (creation) {
        put_le16(e + DIR_CRT_TIME, (uint16_t)ts);
        put_le16(e + DIR_CRT_DATE, (uint16_t)(ts >> 16));
    }
    put_le16(e + DIR_WRT_TIME, (uint16_t)ts);
    put_le16(e + DIR_WRT_DATE, (uint16_t)(ts >> 16));
}

/* Grow the in-memory directory by one zeroed cluster (allocated in the table). */
static int dir_extend(struct fat *fs, struct dir *d)
{
    if (d->first == 0)
        return FAT_ERR_NOSPC; /* the fixed root is full */
    if ((uint64_t)(d->nclus + 1) * fs->cs > MAX_DIR_BYTES)
        return FAT_ERR_NOSPC;
    uint32_t *c;
    int rc = alloc_chain(fs, 1, &c);
    if (rc)
        return rc;
    uint32_t *nc = mp_realloc(d->clusters, (d->nclus + 1) * sizeof *nc);
    uint8_t *nd = nc ? mp_realloc(d->data, d->len + fs->cs) : NULL;
    if (nc)
        d->clusters = nc;
    if (!nd) {
        free(c);
        return FAT_ERR_NOMEM;
    }
    d->data = nd;
    memset(d->data + d->len, 0, fs->cs);
    fat_set(fs, d->clusters[d->nclus - 1], c[0]);
    d->clusters[d->nclus++] = c[0];
    d->len += fs->cs;
    free(c);
    return 0;
}

/* Find (extending the directory if needed) n consecutive free slots. Slots of clusters the
 * extension added are written as zeros with the entries (dir_store of the whole cluster). */
static int dir_alloc(struct fat *fs, struct dir *d, uint32_t n, uint32_t *at, uint32_t *old_len)
{
    *old_len = d->len;
    for (;;) {
        uint32_t total = d->len / DIR_ENTRY_SIZE, run = 0;
        for (uint32_t i = 0; i < total; i++) {
            uint8_t c = d->data[(size_t)i * DIR_ENTRY_SIZE];
            run = (c == 0 || c == DIR_DELETED) ? run + 1 : 0;
            if (run == n) {
                *at = i + 1 - n;
                return 0;
            }
        }
        int rc = dir_extend(fs, d);
        if (rc)
            return rc;
    }
}

static int sfn_taken(const struct dir *d, const uint8_t sfn[11])
{
    uint32_t total = d->len / DIR_ENTRY_SIZE;
    for (uint32_t i = 0; i < total; i++) {
        const uint8_t *e = d->data + (size_t)i * DIR_ENTRY_SIZE;
        if (e[0] == 0)
            break;
        if (e[0] != DIR_DELETED && (e[DIR_ATTR] & 0x3F) != ATTR_LFN && memcmp(e, sfn, 11) == 0)
            return 1;
    }
    return 0;
}

/* Lay out the entries for nm in d (in memory), the 8.3 entry from proto (name replaced).
 * Returns the slot range through *start / *count and the old directory length (for writing
 * the clusters an extension added). */
static int dir_add(struct fat *fs, struct dir *d, const struct fat_name *nm, const uint8_t *proto,
                   uint32_t *start, uint32_t *count, uint32_t *old_len)
{
    uint8_t sfn[11];
    memcpy(sfn, nm->sfn, 11);
    if (nm->flags & NAME_LOSSY) {
        uint32_t seq = 1;
        for (; seq < 100; seq++) {
            fat_sfn_numbered(sfn, nm->sfn, nm->lfn, seq);
            if (!sfn_taken(d, sfn))
                break;
        }
        if (seq == 100)
            return FAT_ERR_EXIST;
    }
    uint32_t nl = (nm->flags & NAME_NEEDS_LFN) ? (nm->lfn_len + LFN_CHARS - 1) / LFN_CHARS : 0;
    uint32_t at;
    int rc = dir_alloc(fs, d, nl + 1, &at, old_len);
    if (rc)
        return rc;
    uint8_t sum = fat_sfn_checksum(sfn);
    for (uint32_t k = 0; k < nl; k++) {
        uint32_t ord = nl - k; /* stored last part first */
        uint8_t *e = d->data + (size_t)(at + k) * DIR_ENTRY_SIZE;
        memset(e, 0, DIR_ENTRY_SIZE);
        e[LDIR_ORD] = (uint8_t)(ord | (k == 0 ? LDIR_LAST : 0));
        e[LDIR_ATTR] = ATTR_LFN;
        e[LDIR_CHKSUM] = sum;
        uint32_t i = (ord - 1) * LFN_CHARS;
        uint16_t wc = 0;
        for (int s = 0; s < LFN_CHARS; s++) {
            if (wc != 0xFFFF)
                wc = i < nm->lfn_len ? nm->lfn[i++] : 0;
            put_le16(e + fat_lfn_offsets[s], wc);
            if (wc == 0)
                wc = 0xFFFF;
        }
    }
    uint8_t *e = d->data + (size_t)(at + nl) * DIR_ENTRY_SIZE;
    memcpy(e, proto, DIR_ENTRY_SIZE);
    memcpy(e + DIR_NAME, sfn, 11);
    e[DIR_NTRES] = (nm->flags & NAME_NEEDS_LFN) ? 0 : nm->ntres;
    *start = at;
    *count = nl + 1;
    return 0;
}

/* Commit added slots [start, start + count) and the allocations made for them, so that no
 * entry ever points at clusters the FAT calls free: first any clusters an extension added to
 * the directory (whole: zeros and the slots in them, not yet linked), then the FAT (the new
 * file's chain and the directory's link), then the slots in the directory's old clusters. */
static int dir_commit(struct fat *fs, const struct dir *d, uint32_t start, uint32_t count,
                      uint32_t old_len)
{
    uint32_t old_slots = old_len / DIR_ENTRY_SIZE, end = start + count;
    int rc = 0;
    if (d->len > old_len) {
        rc = dir_store(fs, d, old_slots, d->len / DIR_ENTRY_SIZE - old_slots);
        if (!rc)
            rc = fat_dev_sync(fs);
    }
    if (!rc)
        rc = fat_flush(fs);
    if (!rc && start < old_slots)
        rc = dir_store(fs, d, start, (end < old_slots ? end : old_slots) - start);
    if (!rc)
        rc = fat_dev_sync(fs);
    return rc;
}

static void dir_mark_deleted(struct dir *d, uint32_t start, uint32_t sfn)
{
    for (uint32_t i = start; i <= sfn; i++)
        d->data[(size_t)i * DIR_ENTRY_SIZE] = DIR_DELETED;
}

/* Write len bytes into a fresh chain of clusters (v[0..n)). */
static int write_clusters(struct fat *fs, const uint32_t *v, uint32_t n, const uint8_t *data,
                          uint32_t len)
{
    for (uint32_t i = 0; i < n; i++) {
        uint32_t off = i * fs->cs, k = len - off < fs->cs ? len - off : fs->cs;
        int rc = fat_dev_write(fs, fat_cluster_offset(fs, v[i]), data + off, k);
        if (rc)
            return rc;
    }
    return 0;
}

static int finish(struct fat *fs, int rc)
{
    if (rc) {
        fat_reload(fs);
        return rc;
    }
    return fat_flush(fs);
}

int fat_write_file(struct fat *fs, const char *path, const void *data, uint32_t len, time_t mtime)
{
    struct scratch *s = scratch_new();
    if (!s)
        return FAT_ERR_NOMEM;
    int rc = lookup(fs, path, &s->d, &s->en, &s->nm);
    if (rc == ROOT)
        rc = FAT_ERR_ISDIR;
    else if (rc == 0 && s->nm.dot)
        rc = FAT_ERR_INVAL;
    else if (rc == 1 && (s->en.raw[DIR_ATTR] & ATTR_DIRECTORY))
        rc = FAT_ERR_ISDIR;
    else if (rc == 1 && (s->en.raw[DIR_ATTR] & ATTR_READ_ONLY))
        rc = FAT_ERR_ACCES;
    if (rc < 0) {
        scratch_free(s);
        return rc;
    }
    int exists = rc;
    uint32_t n = (uint32_t)(((uint64_t)len + fs->cs - 1) / fs->cs), *v = NULL;
    uint32_t ts = fat_time_pack(mtime);
    struct chain old = {0};
    rc = exists ? fat_chain(fs, ent_cluster(fs, s->en.raw), &old.v, &old.n) : 0;
    if (!rc)
        rc = alloc_chain(fs, n, &v);
    if (!rc)
        rc = write_clusters(fs, v, n, data, len);
    if (!rc)
        rc = fat_dev_sync(fs);
    if (!rc && exists) {
        uint8_t *e = s->d.data + (size_t)s->en.sfn * DIR_ENTRY_SIZE;
        ent_set_cluster(fs, e, n ? v[0] : 0);
        put_le32(e + DIR_FILE_SIZE, len);
        dir_entry_times(e, ts, 0);
        e[DIR_ATTR] |= ATTR_ARCHIVE;
        put_le16(e + DIR_ACC_DATE, 0);
        /* the new chain is in the FAT before the entry points at it; the old one is freed
         * after the entry has left it */
        rc = fat_flush(fs);
        if (!rc)
            rc = dir_store(fs, &s->d, s->en.sfn, 1);
        if (!rc)
            rc = fat_dev_sync(fs);
        if (!rc)
            chain_release(fs, &old);
    } else if (!rc) {
        uint8_t proto[DIR_ENTRY_SIZE] = {0};
        proto[DIR_ATTR] = ATTR_ARCHIVE;
        dir_entry_times(proto, ts, 1);
        ent_set_cluster(fs, proto, n ? v[0] : 0);
        put_le32(proto + DIR_FILE_SIZE, len);
        uint32_t start, count, old_len;
        rc = dir_add(fs, &s->d, &s->nm, proto, &start, &count, &old_len);
        if (!rc)
            rc = dir_commit(fs, &s->d, start, count, old_len);
    }
    if (!rc)
        rc = fat_dev_sync(fs);
    free(v);
    free(old.v);
    scratch_free(s);
    return finish(fs, rc);
}

int fat_set_mtime(struct fat *fs, const char *path, time_t mtime)
{
    struct scratch *s = scratch_new();
    if (!s)
        return FAT_ERR_NOMEM;
    int rc = lookup(fs, path, &s->d, &s->en, &s->nm);
    if (rc == ROOT || (rc == 1 && (s->en.raw[DIR_ATTR] & ATTR_DIRECTORY)))
        rc = FAT_ERR_ISDIR;
    else if (rc == 0)
        rc = FAT_ERR_NOENT;
    else if (rc == 1 && (s->en.raw[DIR_ATTR] & ATTR_READ_ONLY))
        rc = FAT_ERR_ACCES;
    if (rc == 1) {
        /* the entry's write time, as a write of the same bytes would leave it */
        uint8_t *e = s->d.data + (size_t)s->en.sfn * DIR_ENTRY_SIZE;
        dir_entry_times(e, fat_time_pack(mtime), 0);
        e[DIR_ATTR] |= ATTR_ARCHIVE;
        rc = dir_store(fs, &s->d, s->en.sfn, 1);
        if (!rc)
            rc = fat_dev_sync(fs);
    }
    scratch_free(s);
    return finish(fs, rc);
}

int fat_mkdir(struct fat *fs, const char *path, time_t now)
{
    struct scratch *s = scratch_new();
    if (!s)
        return FAT_ERR_NOMEM;
    int rc = lookup(fs, path, &s->d, &s->en, &s->nm);
    if (rc == ROOT || rc == 1)
        rc = FAT_ERR_EXIST;
    else if (rc == 0 && s->nm.dot)
        rc = FAT_ERR_INVAL;
    if (rc < 0) {
        scratch_free(s);
        return rc;
    }
    uint32_t ts = fat_time_pack(now), *v = NULL;
    uint8_t *cl = NULL;
    rc = alloc_chain(fs, 1, &v);
    if (!rc && !(cl = mp_calloc(1, fs->cs)))
        rc = FAT_ERR_NOMEM;
    if (!rc) {
        /* "." and "..", as FatFs writes them (".." of a child of the root points at 0) */
        memset(cl, ' ', 11);
        cl[0] = '.';
        cl[DIR_ATTR] = ATTR_DIRECTORY;
        dir_entry_times(cl, ts, 0);
        ent_set_cluster(fs, cl, v[0]);
        memcpy(cl + 32, cl, 32);
        cl[33] = '.';
        uint32_t parent = s->d.first == root_first(fs) ? 0 : s->d.first;
        ent_set_cluster(fs, cl + 32, parent);
        rc = fat_dev_write(fs, fat_cluster_offset(fs, v[0]), cl, fs->cs);
    }
    if (!rc)
        rc = fat_dev_sync(fs);
    if (!rc) {
        uint8_t proto[DIR_ENTRY_SIZE] = {0};
        proto[DIR_ATTR] = ATTR_DIRECTORY;
        dir_entry_times(proto, ts, 0);
        ent_set_cluster(fs, proto, v[0]);
        uint32_t start, count, old_len;
        rc = dir_add(fs, &s->d, &s->nm, proto, &start, &count, &old_len);
        if (!rc)
            rc = dir_commit(fs, &s->d, start, count, old_len);
    }
    if (!rc)
        rc = fat_dev_sync(fs);
    free(cl);
    free(v);
    scratch_free(s);
    return finish(fs, rc);
}

static int dir_is_empty(struct fat *fs, uint32_t first)
{
    struct dir d;
    int rc = dir_load(fs, first, &d);
    if (rc)
        return rc;
    struct ent *en = mp_malloc(sizeof *en);
    if (!en) {
        dir_free(&d);
        return FAT_ERR_NOMEM;
    }
    uint32_t pos = 0;
    int any = dir_next(&d, &pos, en, 0);
    free(en);
    dir_free(&d);
    return any ? 0 : 1;
}

int fat_remove(struct fat *fs, const char *path)
{
    struct scratch *s = scratch_new();
    if (!s)
        return FAT_ERR_NOMEM;
    int rc = lookup(fs, path, &s->d, &s->en, &s->nm);
    if (rc == ROOT)
        rc = FAT_ERR_ACCES;
    else if (rc == 0)
        rc = FAT_ERR_NOENT;
    else if (rc == 1 && s->nm.dot)
        rc = FAT_ERR_INVAL;
    uint32_t first = rc == 1 ? ent_cluster(fs, s->en.raw) : 0;
    if (rc == 1 && (s->en.raw[DIR_ATTR] & ATTR_DIRECTORY)) {
        rc = first ? dir_is_empty(fs, first) : FAT_ERR_CORRUPT;
        if (rc == 0)
            rc = FAT_ERR_NOTEMPTY;
    }
    struct chain c = {0};
    if (rc >= 0)
        rc = fat_chain(fs, first, &c.v, &c.n);
    if (rc < 0) {
        scratch_free(s);
        return rc;
    }
    dir_mark_deleted(&s->d, s->en.start, s->en.sfn);
    rc = dir_store(fs, &s->d, s->en.start, s->en.sfn - s->en.start + 1);
    if (!rc)
        rc = fat_dev_sync(fs);
    if (!rc)
        chain_release(fs, &c);
    free(c.v);
    scratch_free(s);
    return finish(fs, rc);
}

/* Whether directory cluster `inner` is `outer` or below it (walking ".." entries up). */
static int dir_within(struct fat *fs, uint32_t inner, uint32_t outer)
{
    for (int depth = 0; depth < 4096; depth++) {
        if (inner == outer)
            return 1;
        if (inner == 0 || inner == root_first(fs))
            return 0;
        uint8_t e[32];
        int rc = fat_dev_read(fs, fat_cluster_offset(fs, inner) + 32, e, 32);
        if (rc)
            return rc;
        if (e[0] != '.' || e[1] != '.')
            return FAT_ERR_CORRUPT;
        inner = ent_cluster(fs, e);
    }
    return FAT_ERR_CORRUPT;
}

int fat_rename(struct fat *fs, const char *oldpath, const char *newpath)
{
    struct chain replaced = {0};
    struct scratch *a = scratch_new(), *b = scratch_new();
    int rc = a && b ? 0 : FAT_ERR_NOMEM;
    if (!rc) {
        rc = lookup(fs, oldpath, &a->d, &a->en, &a->nm);
        if (rc == ROOT)
            rc = FAT_ERR_ACCES;
        else if (rc == 0)
            rc = FAT_ERR_NOENT;
    }
    if (rc >= 0) {
        rc = lookup(fs, newpath, &b->d, &b->en, &b->nm);
        if (rc == ROOT)
            rc = FAT_ERR_EXIST;
        else if (rc == 0 && b->nm.dot)
            rc = FAT_ERR_INVAL;
    }
    if (rc < 0)
        goto out;
    int src_dir = (a->en.raw[DIR_ATTR] & ATTR_DIRECTORY) != 0;
    uint32_t src_first = ent_cluster(fs, a->en.raw);
    if (src_dir) {
        int in = dir_within(fs, b->d.first ? b->d.first : root_first(fs), src_first);
        if (in < 0 || in == 1) {
            rc = in < 0 ? in : FAT_ERR_INVAL;
            goto out;
        }
    }
    int same_dir = a->d.first == b->d.first, replacing = 0;
    if (rc == 1) {
        if (same_dir && a->en.sfn == b->en.sfn) { /* same entry: a change of case only */
            rc = 0;
        } else {
            int dst_dir = (b->en.raw[DIR_ATTR] & ATTR_DIRECTORY) != 0;
            if (dst_dir != src_dir) {
                rc = dst_dir ? FAT_ERR_ISDIR : FAT_ERR_NOTDIR;
                goto out;
            }
            uint32_t f = ent_cluster(fs, b->en.raw);
            if (dst_dir) {
                rc = f ? dir_is_empty(fs, f) : FAT_ERR_CORRUPT;
                if (rc <= 0) {
                    rc = rc ? rc : FAT_ERR_NOTEMPTY;
                    goto out;
                }
            }
            if ((rc = fat_chain(fs, f, &replaced.v, &replaced.n)) != 0)
                goto out;
            replacing = 1;
        }
    }
    /* Everything that may run out of memory happens before the first write: the replaced
     * entry marked deleted and the new entries laid out, in b's directory (a's copy when it is
     * the same directory, so that all the edits land in one copy). */
    struct dir *dst = same_dir ? &a->d : &b->d;
    if (replacing)
        dir_mark_deleted(dst, b->en.start, b->en.sfn);
    uint32_t start, count, old_len;
    rc = dir_add(fs, dst, &b->nm, a->en.raw, &start, &count, &old_len);
    if (!rc && replacing) {
        /* the replaced entry goes first; its clusters are freed with the FAT write */
        rc = dir_store(fs, dst, b->en.start, b->en.sfn - b->en.start + 1);
        if (!rc)
            rc = fat_dev_sync(fs);
        if (!rc)
            chain_release(fs, &replaced);
    }
    if (!rc)
        rc = dir_commit(fs, dst, start, count, old_len);
    if (!rc)
        rc = fat_dev_sync(fs);
    if (!rc && src_dir && !same_dir) {
        /* the moved directory's ".." names its new parent */
        uint8_t e[32];
        uint32_t off = fat_cluster_offset(fs, src_first) + 32;
        rc = fat_dev_read(fs, off, e, 32);
        if (!rc && e[0] == '.' && e[1] == '.') {
            ent_set_cluster(fs, e, b->d.first == root_first(fs) ? 0 : b->d.first);
            rc = fat_dev_write(fs, off, e, 32);
        }
        if (!rc)
            rc = fat_dev_sync(fs);
    }
    if (!rc) {
        dir_mark_deleted(&a->d, a->en.start, a->en.sfn);
        rc = dir_store(fs, &a->d, a->en.start, a->en.sfn - a->en.start + 1);
    }
    if (!rc)
        rc = fat_dev_sync(fs);
out:
    free(replaced.v);
    scratch_free(a);
    scratch_free(b);
    return finish(fs, rc < 0 ? rc : 0);
}
