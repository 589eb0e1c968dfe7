#include "migrate/migrate.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/bytes.h"
#include "util/check.h"

#define SECTOR FLASH_SECTOR_SIZE
#define NVS_PAGE 0x1000u

/* ---------------------------------------------------------------- lists and regions */

static int list_add(struct migrate_list *l, uint32_t addr, const uint8_t *data, uint32_t len,
                    struct error *err)
{
    if (len == 0)
        return 0;
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 32;
        struct migrate_write *v = realloc(l->v, (size_t)cap * sizeof *v);
        if (!v)
            return error_setk(err, ERROR_OS, "out of memory");
        l->v = v;
        l->cap = cap;
    }
    uint8_t *copy = NULL;
    if (data) {
        copy = malloc(len);
        if (!copy)
            return error_setk(err, ERROR_OS, "out of memory");
        memcpy(copy, data, len);
    }
    l->v[l->n++] = (struct migrate_write){addr, len, copy, 0};
    return 0;
}

static void list_free(struct migrate_list *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->v[i].data);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static uint32_t psize(const struct partition *p)
{
    return p->size > 0 ? (uint32_t)p->size : 0;
}

/* The bytes of [addr, addr+len) the flash holds, erased bytes for the rest. Caller frees. */
static uint8_t *read_region(struct flash *f, uint32_t addr, uint32_t len, struct error *err)
{
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) {
        error_setk(err, ERROR_OS, "out of memory reading 0x%" PRIx32 " bytes", len);
        return NULL;
    }
    memset(buf, 0xFF, len);
    uint32_t have = 0;
    if (addr >= f->base && addr < f->size)
        have = f->size - addr < len ? f->size - addr : len;
    if (have && flash_read(f, addr, buf, have, err)) {
        free(buf);
        return NULL;
    }
    return buf;
}

static void mark(struct migrate_plan *plan, uint32_t addr, uint32_t len, enum migrate_tier t)
{
    if (len == 0)
        return;
    uint64_t end = (uint64_t)addr + len;
    for (uint64_t s = addr / SECTOR; s * SECTOR < end && s < plan->sectors; s++)
        if (plan->tier[s] < t)
            plan->tier[s] = (uint8_t)t;
}

static int in_list(const char *name, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(name, names[i]) == 0)
            return 1;
    return 0;
}

static int is_fs_subtype(const struct partition *p)
{
    return p->type == PART_TYPE_DATA &&
           (p->subtype == PART_SUBTYPE_DATA_FAT || p->subtype == PART_SUBTYPE_DATA_LITTLEFS);
}

static void fs_part_of(const struct partition *p, struct fs_partition *out)
{
    memset(out, 0, sizeof *out);
    memcpy(out->name, p->name, sizeof out->name);
    out->type = p->type;
    out->subtype = p->subtype;
    out->offset = p->offset;
    out->size = psize(p);
}

/* ---------------------------------------------------------------- what a partition holds */

enum content { HOLDS_NOTHING, HOLDS_LITTLEFS, HOLDS_BROKEN_LITTLEFS, HOLDS_FAT, HOLDS_OTHER };

/* An old partition being looked at, with its filesystem mounted when it has one. */
struct source {
    struct flash_window window;
    struct fs_partition part;
    struct fs *fs;
    struct error mount_err;
};

static void source_close(struct source *s)
{
    fs_unmount(s->fs, NULL);
    s->fs = NULL;
}

/* What p holds, without reading more than its first blocks (a big filesystem on a board). */
static enum content classify(struct flash *flash, const struct partition *p, struct source *s)
{
    memset(s, 0, sizeof *s);
    fs_part_of(p, &s->part);
    fs_window_open(&s->window, flash, &s->part);
    if (s->window.flash.size == 0 || p->offset < flash->base)
        return HOLDS_NOTHING;
    if (fs_holds_littlefs(&s->window.flash)) {
        if (fs_mount(&s->fs, &s->window.flash, &s->part, FS_FLUSH_NEVER, &s->mount_err))
            return HOLDS_BROKEN_LITTLEFS;
        return HOLDS_LITTLEFS;
    }
    uint8_t boot[512];
    if (s->window.flash.size >= sizeof boot &&
        flash_read(&s->window.flash, 0, boot, sizeof boot, NULL) == 0 && boot[510] == 0x55 &&
        boot[511] == 0xAA && (boot[0] == 0xEB || boot[0] == 0xE9))
        return HOLDS_FAT;
    return HOLDS_OTHER;
}

struct mark_ctx {
    struct migrate_plan *plan;
    struct migrate_item *item;
    uint32_t offset;
};

/* Blocks of the old filesystem: tier FILES, counted once each. */
static int mark_used(void *ctx, uint32_t block)
{
    struct mark_ctx *m = ctx;
    uint64_t s = ((uint64_t)m->offset + (uint64_t)block * FS_BLOCK_SIZE) / SECTOR;
    if (s >= m->plan->sectors || m->plan->tier[s] == MIGRATE_FILES)
        return 0;
    m->plan->tier[s] = MIGRATE_FILES;
    m->item->blocks_used++;
    return 0;
}

/* ---------------------------------------------------------------- planning */

struct work {
    struct migrate_plan *plan;
    struct flash *flash;
    const struct migrate_options *opt;
    const struct log *log;
    struct source src[PTABLE_MAX_ENTRIES]; /* per item: the old partition */
    int have_src[PTABLE_MAX_ENTRIES];
};

static int refuse_files_left(const struct partition *p, const char *what, struct error *err)
{
    return error_setk(err, ERROR_PARTITION,
                      "Partition '%s' holds %s and is not in the new table.\n"
                      "  Keep it in the table, or give --erase-fs %s to drop its data.",
                      p->name, what, p->name);
}

/* Old data partitions that leave the table must not take the user's files with them. */
static int check_left_behind(struct work *w, const struct ptable *old_table, const int *paired,
                             struct error *err)
{
    for (int o = 0; o < old_table->count; o++) {
        const struct partition *p = &old_table->parts[o];
        if (paired[o] || p->type != PART_TYPE_DATA || p->size <= 0 ||
            in_list(p->name, w->opt->drop, w->opt->drop_count))
            continue;
        struct source s;
        enum content c = classify(w->flash, p, &s);
        int rc = 0;
        if (c == HOLDS_LITTLEFS) {
            struct fs_tree_stats t;
            if (fs_tree_stats(s.fs, &t, err))
                rc = -1;
            else if (t.files + t.dirs) {
                char what[96];
                snprintf(what, sizeof what, "a littlefs filesystem with %" PRIu32 " files",
                         t.files);
                rc = refuse_files_left(p, what, err);
            }
        } else if (c == HOLDS_FAT) {
            rc = refuse_files_left(p, "a FAT filesystem", err);
        } else if (p->subtype == PART_SUBTYPE_DATA_NVS && c == HOLDS_OTHER) {
            uint8_t *buf = read_region(w->flash, p->offset, psize(p), err);
            if (!buf)
                rc = -1;
            else if (!bytes_all_erased(buf, psize(p)))
                rc = refuse_files_left(p, "NVS data", err);
            free(buf);
        }
        source_close(&s);
        if (rc)
            return -1;
    }
    return 0;
}

/* Whether the --flash firmware brings contents for p (anything but erased bytes). */
static int provided(struct work *w, const struct partition *p, struct error *err)
{
    struct flash *src = w->opt->source;
    if (!src || p->offset >= src->size || p->offset < src->base)
        return 0;
    uint32_t have = src->size - p->offset < psize(p) ? src->size - p->offset : psize(p);
    uint8_t *buf = read_region(src, p->offset, have, err);
    if (!buf)
        return -1;
    int any = !bytes_all_erased(buf, have);
    free(buf);
    return any;
}

static const char *action_for_other(struct work *w, struct migrate_item *it, struct error *err)
{
    /* otadata, phy data, coredumps and the like: the same bytes mean the same at any offset */
    uint32_t from = psize(&it->from), to = psize(&it->to);
    uint8_t *buf = read_region(w->flash, it->from.offset, from, err);
    if (!buf)
        return NULL;
    int blank = bytes_all_erased(buf, from);
    free(buf);
    if (blank) {
        it->action = MIGRATE_ERASE;
        return "empty";
    }
    if (to < from) {
        it->action = MIGRATE_ERASE;
        log_printf(w->log, LOG_WARNING,
                   "Warning: partition '%s' shrinks from 0x%" PRIx32 " to 0x%" PRIx32
                   " bytes: its contents (%s) cannot be kept and are erased.",
                   it->to.name, from, to, "not a filesystem or NVS");
        return "smaller";
    }
    it->action = it->to.subtype == it->from.subtype ? MIGRATE_CARRY_RAW : MIGRATE_ERASE;
    return it->action == MIGRATE_ERASE ? "new type" : "";
}

static int nvs_pages_used(const uint8_t *buf, uint32_t len)
{
    int n = 0;
    for (uint32_t at = 0; at + NVS_PAGE <= len; at += NVS_PAGE)
        n += !bytes_all_erased(buf + at, NVS_PAGE);
    return n;
}

/* Decide one item; mount and measure what is carried. */
static int decide(struct work *w, int i, const struct ptable *old_table, int origin,
                  struct error *err)
{
    struct migrate_plan *plan = w->plan;
    struct migrate_item *it = &plan->items[i];
    const struct migrate_options *opt = w->opt;
    int dropped = in_list(it->to.name, opt->drop, opt->drop_count) ||
                  (it->has_from && in_list(it->from.name, opt->drop, opt->drop_count));
    int unchanged = it->has_from && it->from.offset == it->to.offset &&
                    it->from.size == it->to.size && it->from.type == it->to.type &&
                    it->from.subtype == it->to.subtype && it->from.flags == it->to.flags;
    int give = opt->source ? provided(w, &it->to, err) : 0;
    if (give < 0)
        return -1;
    struct source *s = &w->src[i];
    enum content c = HOLDS_NOTHING;
    if (it->has_from && !dropped) {
        c = classify(w->flash, &it->from, s);
        w->have_src[i] = 1;
    }
    (void)old_table;
    (void)origin;
    if (give) {
        int holds = c == HOLDS_LITTLEFS || c == HOLDS_BROKEN_LITTLEFS || c == HOLDS_FAT ||
                    (c == HOLDS_OTHER && it->from.subtype == PART_SUBTYPE_DATA_NVS);
        if (holds)
            return error_setk(err, ERROR_PARTITION,
                              "Partition '%s': the firmware brings contents for it, and the "
                              "board's '%s' holds data.\n  Give --erase-fs %s to replace the "
                              "board's data with the firmware's.",
                              it->to.name, it->from.name, it->to.name);
        it->action = MIGRATE_PROVIDED;
        return 0;
    }
    if (unchanged) {
        it->action = MIGRATE_KEEP;
        return 0;
    }
    if (dropped || !it->has_from) {
        it->action = MIGRATE_ERASE;
        it->why = dropped ? "dropped" : "new";
        return 0;
    }
    switch (c) {
    case HOLDS_NOTHING:
        it->action = MIGRATE_ERASE;
        it->why = "empty";
        return 0;
    case HOLDS_BROKEN_LITTLEFS:
        return error_setk(err, ERROR_LITTLEFS,
                          "%s: its files cannot be carried into the new layout.\n"
                          "  Save what you can (--fs get), then give --erase-fs %s to drop them.",
                          s->mount_err.msg, it->from.name);
    case HOLDS_LITTLEFS: {
        if (!is_fs_subtype(&it->to))
            return error_setk(err, ERROR_PARTITION,
                              "Partition '%s' holds a littlefs filesystem: it cannot become a "
                              "partition of another kind.\n  Give --erase-fs %s to drop its "
                              "files.",
                              it->from.name, it->from.name);
        it->action = it->to.offset == it->from.offset && it->to.size > it->from.size
                         ? MIGRATE_GROW_FS
                         : MIGRATE_CARRY_FS;
        if (fs_tree_stats(s->fs, &it->tree, err))
            return -1;
        struct mark_ctx m = {plan, it, it->from.offset};
        return fs_used_blocks(s->fs, mark_used, &m, err);
    }
    case HOLDS_FAT:
        if (it->to.subtype != PART_SUBTYPE_DATA_FAT || it->to.size < it->from.size)
            return error_setk(err, ERROR_PARTITION,
                              "Partition '%s' holds a FAT filesystem, which this tool can move "
                              "only into a FAT partition at least as large (0x%" PRIx32
                              " bytes).\n  Save its files, then give --erase-fs %s to drop "
                              "them.",
                              it->from.name, psize(&it->from), it->from.name);
        it->action = MIGRATE_CARRY_RAW;
        mark(plan, it->from.offset, psize(&it->from), MIGRATE_FILES);
        return 0;
    case HOLDS_OTHER: break;
    }
    if (it->from.subtype == PART_SUBTYPE_DATA_NVS) {
        uint8_t *buf = read_region(w->flash, it->from.offset, psize(&it->from), err);
        if (!buf)
            return -1;
        uint32_t used = (uint32_t)nvs_pages_used(buf, psize(&it->from));
        free(buf);
        if (used == 0) {
            it->action = MIGRATE_ERASE;
            it->why = "empty";
            return 0;
        }
        uint32_t pages = psize(&it->to) / NVS_PAGE;
        if (it->to.subtype != PART_SUBTYPE_DATA_NVS)
            return error_setk(err, ERROR_PARTITION,
                              "Partition '%s' holds NVS data: it cannot become a partition of "
                              "another kind.\n  Give --erase-fs %s to drop the data.",
                              it->from.name, it->from.name);
        /* NVS needs one free page to move entries when it collects garbage */
        if (it->to.size < it->from.size && used + 1 > pages)
            return error_setk(err, ERROR_PARTITION,
                              "Partition '%s' holds %" PRIu32 " NVS pages of data: 0x%" PRIx32
                              " bytes (%" PRIu32 " pages) cannot hold them and the free page "
                              "NVS needs.\n  Give it at least 0x%" PRIx32
                              " bytes, or --erase-fs %s to drop the data.",
                              it->from.name, used, psize(&it->to), pages, (used + 1) * NVS_PAGE,
                              it->from.name);
        it->action = MIGRATE_CARRY_NVS;
        it->pages = used;
        mark(plan, it->from.offset, psize(&it->from), MIGRATE_FILES);
        return 0;
    }
    if (opt->source) {
        /* --flash: the firmware's own data for the rest (it has none here: erased) */
        it->action = MIGRATE_ERASE;
        it->why = "not carried";
        return 0;
    }
    const char *why = action_for_other(w, it, err);
    if (!why)
        return -1;
    it->why = why;
    if (it->action == MIGRATE_CARRY_RAW)
        mark(plan, it->from.offset, psize(&it->from), MIGRATE_FILES);
    return 0;
}

/* ---------------------------------------------------------------- building */

struct collect_ctx {
    struct migrate_plan *plan;
    uint32_t offset;
    uint32_t cut; /* reserved blocks at or past this block are given up */
    int any;      /* 1: avoid all the old layout uses; 0: only its files */
    struct error *err;
    uint32_t first;  /* the block of the superblock pair to write first */
    int after_table; /* the writes go after the new table */
};

static int reserved(void *ctx, uint32_t block)
{
    struct collect_ctx *c = ctx;
    uint64_t s = ((uint64_t)c->offset + (uint64_t)block * FS_BLOCK_SIZE) / SECTOR;
    if (block >= c->cut || s >= c->plan->sectors)
        return 0;
    return c->any ? c->plan->tier[s] != MIGRATE_FREE : c->plan->tier[s] == MIGRATE_FILES;
}

static int collect_block(void *ctx, uint32_t block, const uint8_t *data)
{
    struct collect_ctx *c = ctx;
    if (block < 2) {
        uint64_t sec = ((uint64_t)c->offset + (uint64_t)block * FS_BLOCK_SIZE) / SECTOR;
        if (sec < c->plan->sectors)
            c->plan->commit[sec] = block == c->first ? 1 : 2;
    }
    if (list_add(&c->plan->writes, c->offset + block * FS_BLOCK_SIZE, data, FS_BLOCK_SIZE,
                 c->err))
        return -1;
    c->plan->writes.v[c->plan->writes.n - 1].after_table = c->after_table;
    return 0;
}

static int too_big(const struct migrate_item *it, struct error *err)
{
    return error_setk(err, ERROR_PARTITION,
                      "The files in '%s' (%" PRIu32 " files, %" PRIu32 " folders, %" PRIu64
                      " bytes, using %" PRIu32 " blocks of 4 KiB) do not fit its new size "
                      "(0x%" PRIx32 " bytes, %" PRIu32 " blocks).\n"
                      "  Nothing was changed. Make '%s' larger, remove files first (--fs rm), "
                      "or give --erase-fs %s to drop them.",
                      it->from.name, it->tree.files, it->tree.dirs, it->tree.bytes,
                      it->blocks_used, psize(&it->to), psize(&it->to) / FS_BLOCK_SIZE,
                      it->to.name, it->from.name);
}

static int clone_try(struct fs *from, struct flash *win, const struct fs_partition *part,
                     struct collect_ctx *ctx, int use, struct fs **out, struct error *err)
{
    *out = NULL;
    int rc = fs_clone(from, win, part, FS_FLUSH_NEVER, use ? reserved : NULL, ctx, out, NULL,
                      err);
    if (rc == 0)
        return 0;
    return strstr(err->msg, "LFS_ERR_NOSPC") ? 1 : -1;
}

/* Build the copy as far away as possible from the blocks the old layout still uses: from all
 * of them, else from its files; when the files do not fit around the old ones (a filesystem
 * shrunk in place, nearly full), give up as few of the old blocks as the copy needs (those
 * past a cut found by bisection). Returns 0, 1 when the files do not fit even then, -1. */
static int clone_away(struct fs *from, struct flash *win, const struct fs_partition *part,
                      struct collect_ctx *ctx, struct fs **out, struct error *err)
{
    uint32_t blocks = part->size / FS_BLOCK_SIZE;
    ctx->cut = blocks;
    for (ctx->any = 1; ctx->any >= 0; ctx->any--) {
        int rc = clone_try(from, win, part, ctx, 1, out, err);
        if (rc != 1)
            return rc;
    }
    ctx->any = 0;
    int rc = clone_try(from, win, part, ctx, 0, out, err);
    if (rc)
        return rc;
    fs_unmount(*out, NULL);
    uint32_t lo = 2, hi = blocks; /* a cut at lo fits (nothing reserved), at hi it does not */
    while (hi - lo > 1) {
        ctx->cut = lo + (hi - lo) / 2;
        rc = clone_try(from, win, part, ctx, 1, out, err);
        if (rc < 0)
            return -1;
        if (rc == 0) {
            fs_unmount(*out, NULL);
            lo = ctx->cut;
        } else {
            hi = ctx->cut;
        }
    }
    ctx->cut = lo;
    return clone_try(from, win, part, ctx, 1, out, err);
}

static int build_fs(struct work *w, int i, struct error *err)
{
    struct migrate_item *it = &w->plan->items[i];
    struct source *s = &w->src[i];
    struct fs_partition part;
    fs_part_of(&it->to, &part);
    struct flash_window win;
    fs_window_open(&win, w->flash, &part);
    struct collect_ctx ctx = {w->plan, it->to.offset, 0, 0, err, 0, 0};
    if (it->to.offset == it->from.offset) {
        /* The new superblock pair replaces the old one: its older block first, so that until
         * the new block is whole the old pair's newer block, untouched, is the one read. */
        uint8_t r0[4], r1[4];
        if (flash_read(w->flash, it->from.offset, r0, 4, err) ||
            flash_read(w->flash, it->from.offset + FS_BLOCK_SIZE, r1, 4, err))
            return -1;
        int32_t newer1 = (int32_t)(get_le32(r1) - get_le32(r0));
        ctx.first = newer1 > 0 ? 0 : 1;
    }
    struct fs *built = NULL;
    int rc;
    if (it->action == MIGRATE_GROW_FS) {
        ctx.after_table = 1;
        rc = fs_mount(&built, &win.flash, &part, FS_FLUSH_NEVER, err);
        if (!rc)
            rc = fs_grow(built, 0, NULL, err);
    } else {
        rc = clone_away(s->fs, &win.flash, &part, &ctx, &built, err);
        if (rc == 1)
            return too_big(it, err);
        if (rc)
            return error_prefix(err, "copying the files of '%s'", it->from.name);
        /* the copy must hold exactly the original tree before it may be written */
        rc = fs_compare_trees(s->fs, built, err);
    }
    /* each block of the superblock pair: the whole new state in one commit */
    if (!rc)
        rc = fs_compact_superblock(built, err);
    if (!rc)
        rc = fs_changed_blocks(built, collect_block, &ctx);
    fs_unmount(built, NULL);
    return rc;
}

/* A new write of len erased bytes at addr, for the caller to fill; NULL when out of memory. */
static uint8_t *add_erased(struct migrate_list *l, uint32_t addr, uint32_t len, struct error *err)
{
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) {
        error_setk(err, ERROR_OS, "out of memory");
        return NULL;
    }
    memset(buf, 0xFF, len);
    if (list_add(l, addr, NULL, len, err)) {
        free(buf);
        return NULL;
    }
    l->v[l->n - 1].data = buf;
    return buf;
}

/* The bytes of from_p copied to the start of to_p (no larger than either), the rest erased. */
static int build_raw(struct work *w, const struct partition *from_p, struct flash *from_flash,
                     const struct partition *to_p, struct error *err)
{
    uint32_t from = psize(from_p), to = psize(to_p);
    uint8_t *buf = add_erased(&w->plan->writes, to_p->offset, to, err);
    if (!buf)
        return -1;
    uint32_t n = from < to ? from : to;
    if (from_p->offset >= from_flash->base && from_p->offset < from_flash->size) {
        uint32_t have = from_flash->size - from_p->offset;
        if (flash_read(from_flash, from_p->offset, buf, have < n ? have : n, err))
            return -1;
    }
    return 0;
}

static int build_nvs(struct work *w, struct migrate_item *it, struct error *err)
{
    uint32_t from = psize(&it->from), to = psize(&it->to);
    /* the same size or larger: page i stays page i, the new pages are empty */
    if (to >= from)
        return build_raw(w, &it->from, w->flash, &it->to, err);
    /* smaller: the pages in use, in their order (NVS orders pages by sequence number) */
    uint8_t *old = read_region(w->flash, it->from.offset, from, err);
    uint8_t *buf = old ? add_erased(&w->plan->writes, it->to.offset, to, err) : NULL;
    if (buf) {
        uint32_t k = 0;
        for (uint32_t at = 0; at + NVS_PAGE <= from; at += NVS_PAGE)
            if (!bytes_all_erased(old + at, NVS_PAGE))
                memcpy(buf + (k++) * NVS_PAGE, old + at, NVS_PAGE);
        MP_ASSERT(k * NVS_PAGE < to);
    }
    free(old);
    return buf ? 0 : -1;
}

/* Copies of the old data carried, for a backup on the host. */
struct keep_ctx {
    struct work *w;
    uint32_t offset;
    struct error *err;
};

static int keep_block(void *ctx, uint32_t block)
{
    struct keep_ctx *k = ctx;
    uint32_t addr = k->offset + block * FS_BLOCK_SIZE;
    for (int i = 0; i < k->w->plan->old.n; i++)
        if (k->w->plan->old.v[i].addr == addr)
            return 0; /* blocks come once per reference */
    uint8_t *buf = read_region(k->w->flash, addr, FS_BLOCK_SIZE, k->err);
    if (!buf)
        return -1;
    int rc = list_add(&k->w->plan->old, addr, buf, FS_BLOCK_SIZE, k->err);
    free(buf);
    return rc;
}

static int keep_old(struct work *w, int i, struct error *err)
{
    struct migrate_item *it = &w->plan->items[i];
    if (it->action == MIGRATE_GROW_FS || it->action == MIGRATE_CARRY_FS) {
        struct keep_ctx k = {w, it->from.offset, err};
        return fs_used_blocks(w->src[i].fs, keep_block, &k, err);
    }
    if (it->action == MIGRATE_CARRY_NVS || it->action == MIGRATE_CARRY_RAW) {
        uint8_t *buf = read_region(w->flash, it->from.offset, psize(&it->from), err);
        if (!buf)
            return -1;
        int rc = list_add(&w->plan->old, it->from.offset, buf, psize(&it->from), err);
        free(buf);
        return rc;
    }
    return 0;
}

static int build(struct work *w, int i, struct error *err)
{
    struct migrate_item *it = &w->plan->items[i];
    uint32_t size = psize(&it->to);
    uint32_t limit = w->flash->limit;
    switch (it->action) {
    case MIGRATE_KEEP: return 0;
    case MIGRATE_GROW_FS:
    case MIGRATE_CARRY_FS: return build_fs(w, i, err);
    case MIGRATE_CARRY_NVS: return build_nvs(w, it, err);
    case MIGRATE_CARRY_RAW: return build_raw(w, &it->from, w->flash, &it->to, err);
    case MIGRATE_PROVIDED: return build_raw(w, &it->to, w->opt->source, &it->to, err);
    case MIGRATE_ERASE:
        if (it->to.offset >= limit)
            return 0;
        if (size > limit - it->to.offset)
            size = limit - it->to.offset;
        return list_add(&w->plan->writes, it->to.offset, NULL, size, err);
    }
    return 0;
}

int migrate_plan(struct migrate_plan *plan, struct flash *flash, const struct ptable *old_table,
                 const struct ptable *new_table, const struct migrate_options *opt,
                 const struct log *log, struct error *err)
{
    memset(plan, 0, sizeof *plan);
    plan->sectors = (uint32_t)(((uint64_t)flash->limit + SECTOR - 1) / SECTOR);
    plan->tier = calloc(plan->sectors ? plan->sectors : 1, 1);
    plan->commit = calloc(plan->sectors ? plan->sectors : 1, 1);
    struct work *w = calloc(1, sizeof *w);
    if (!plan->tier || !plan->commit || !w) {
        free(w);
        migrate_free(plan);
        return error_setk(err, ERROR_OS, "out of memory");
    }
    w->plan = plan;
    plan->live = flash_can(flash, FLASH_CAP_LIVE);
    w->flash = flash;
    w->opt = opt;
    w->log = log;
    /* the old bootloader and apps: a board keeps booting its old app until the end */
    if (opt->bootloader_offset < PTABLE_OFFSET)
        mark(plan, opt->bootloader_offset, PTABLE_OFFSET - opt->bootloader_offset, MIGRATE_CODE);
    for (int o = 0; o < old_table->count; o++) {
        const struct partition *p = &old_table->parts[o];
        if (p->type == PART_TYPE_APP)
            mark(plan, p->offset, psize(p), MIGRATE_CODE);
    }
    int origin[PTABLE_MAX_ENTRIES], paired[PTABLE_MAX_ENTRIES] = {0};
    layout_pair(old_table, new_table, opt->renames, opt->rename_count, origin);
    int rc = 0;
    for (int i = 0; i < new_table->count && !rc; i++) {
        const struct partition *p = &new_table->parts[i];
        if (origin[i] >= 0)
            paired[origin[i]] = 1;
        if (p->type != PART_TYPE_DATA || p->size <= 0 || p->offset >= flash->limit)
            continue;
        struct migrate_item *it = &plan->items[plan->count];
        it->to = *p;
        if (origin[i] >= 0) {
            it->has_from = 1;
            it->from = old_table->parts[origin[i]];
        }
        plan->count++;
        rc = decide(w, plan->count - 1, old_table, origin[i], err);
        /* a partition past the end of a firmware file holds nothing and is left so (the file
         * does not grow to erase it) */
        if (!rc && it->action == MIGRATE_ERASE && flash_can(flash, FLASH_CAP_RESIZABLE) &&
            it->to.offset >= flash->size)
            it->action = MIGRATE_KEEP;
    }
    if (!rc)
        rc = check_left_behind(w, old_table, paired, err);
    /* unchanged partitions are never written into; mark them last so nothing is built there */
    for (int i = 0; i < plan->count && !rc; i++)
        if (plan->items[i].action == MIGRATE_KEEP)
            mark(plan, plan->items[i].to.offset, psize(&plan->items[i].to), MIGRATE_FILES);
    for (int i = 0; i < plan->count && !rc; i++)
        rc = build(w, i, err);
    for (int i = 0; i < plan->count && !rc; i++)
        rc = keep_old(w, i, err);
    for (int i = 0; i < plan->count; i++)
        if (w->have_src[i])
            source_close(&w->src[i]);
    free(w);
    if (rc) {
        migrate_free(plan);
        return -1;
    }
    for (int i = 0; i < plan->writes.n; i++) {
        const struct migrate_write *wr = &plan->writes.v[i];
        for (uint64_t s = wr->addr / SECTOR;
             s * SECTOR < (uint64_t)wr->addr + wr->len && s < plan->sectors; s++)
            plan->last_sectors += plan->tier[s] == MIGRATE_FILES && !plan->commit[s];
    }
    return 0;
}

int migrate_add(struct migrate_plan *plan, uint32_t addr, const uint8_t *data, uint32_t len,
                struct error *err)
{
    return list_add(&plan->writes, addr, data, len, err);
}

/* ---------------------------------------------------------------- describing and writing */

static void human(uint64_t bytes, char *out, size_t size)
{
    if (bytes >= 0x100000)
        snprintf(out, size, "%.1f MB", (double)bytes / 0x100000);
    else
        snprintf(out, size, "%.1f kB", (double)bytes / 1024);
}

void migrate_describe(const struct migrate_plan *plan, const struct log *log)
{
    for (int i = 0; i < plan->count; i++) {
        const struct migrate_item *it = &plan->items[i];
        char size[32], bytes[32];
        human(psize(&it->to), size, sizeof size);
        human(it->tree.bytes, bytes, sizeof bytes);
        switch (it->action) {
        case MIGRATE_KEEP: break;
        case MIGRATE_GROW_FS:
            log_printf(log, LOG_ACTION,
                       "Growing the filesystem in '%s' with its partition to %s (%" PRIu32
                       " file%s kept)...",
                       it->to.name, size, it->tree.files, it->tree.files == 1 ? "" : "s");
            break;
        case MIGRATE_CARRY_FS:
            log_printf(log, LOG_ACTION,
                       "Moving the files of '%s' (%" PRIu32 " file%s, %" PRIu32
                       " folder%s, %s) to 0x%" PRIx32 " (%s)...",
                       it->to.name, it->tree.files, it->tree.files == 1 ? "" : "s", it->tree.dirs,
                       it->tree.dirs == 1 ? "" : "s", bytes, it->to.offset, size);
            break;
        case MIGRATE_CARRY_NVS:
            log_printf(log, LOG_ACTION,
                       "Moving NVS '%s' (%" PRIu32 " pages in use) to 0x%" PRIx32 " (%s)...",
                       it->to.name, it->pages, it->to.offset, size);
            break;
        case MIGRATE_CARRY_RAW:
            log_printf(log, LOG_ACTION, "Moving data partition '%s' to 0x%" PRIx32 " (%s)...",
                       it->to.name, it->to.offset, size);
            break;
        case MIGRATE_PROVIDED: break;
        case MIGRATE_ERASE:
            log_printf(log, LOG_ACTION, "Erasing data partition: %s...", it->to.name);
            break;
        }
    }
    if (plan->last_sectors && plan->live)
        log_printf(log, LOG_INFO,
                   "%" PRIu32 " sector%s of new data lie%s where the old layout keeps files "
                   "(they do not fit side by side): written last, then the new superblocks "
                   "and the table; until then the backup holds the old files.",
                   plan->last_sectors, plan->last_sectors == 1 ? "" : "s",
                   plan->last_sectors == 1 ? "s" : "");
}

/* Write (or erase) [addr, addr+len) of w, trimmed of erased bytes past the end of a file. */
static int put(struct flash *flash, const struct migrate_write *w, uint32_t addr, uint32_t len,
               struct error *err)
{
    const uint8_t *data = w->data ? w->data + (addr - w->addr) : NULL;
    if (flash_can(flash, FLASH_CAP_RESIZABLE) && addr + len > flash->size) {
        uint32_t keep = flash->size > addr ? flash->size - addr : 0;
        uint32_t n = len;
        while (n > keep && (!data || data[n - 1] == 0xFF))
            n--;
        len = n;
        if (len == 0)
            return 0;
    }
    return data ? flash_write(flash, addr, data, len, err) : flash_erase(flash, addr, len, err);
}

/* The group a sector is written in: its tier, or last for a new superblock pair (the block
 * to write first, then the other). */
static int group_of(const struct migrate_plan *plan, uint64_t sector)
{
    if (sector >= plan->sectors)
        return MIGRATE_FREE;
    return plan->commit[sector] ? MIGRATE_FILES + plan->commit[sector] : plan->tier[sector];
}

int migrate_write(struct migrate_plan *plan, struct flash *flash, int after_table,
                  const struct log *log, struct error *err)
{
    (void)log;
    for (int group = MIGRATE_FREE; group <= MIGRATE_FILES + 2; group++) {
        for (int i = 0; i < plan->writes.n; i++) {
            const struct migrate_write *w = &plan->writes.v[i];
            if (w->after_table != after_table)
                continue;
            uint64_t end = (uint64_t)w->addr + w->len;
            uint64_t a = w->addr;
            while (a < end) {
                /* the run of sectors of this write in this group */
                uint64_t s = a / SECTOR;
                uint64_t next = (s + 1) * SECTOR < end ? (s + 1) * SECTOR : end;
                if (group_of(plan, s) != group) {
                    a = next;
                    continue;
                }
                uint64_t run_end = next;
                while (run_end < end && group_of(plan, run_end / SECTOR) == group) {
                    uint64_t s2 = run_end / SECTOR;
                    run_end = (s2 + 1) * SECTOR < end ? (s2 + 1) * SECTOR : end;
                }
                if (put(flash, w, (uint32_t)a, (uint32_t)(run_end - a), err))
                    return -1;
                a = run_end;
            }
        }
        if (flash_flush(flash, err))
            return -1;
    }
    return 0;
}

int migrate_restore(struct migrate_plan *plan, struct flash *flash, struct error *err)
{
    for (int i = 0; i < plan->old.n; i++) {
        const struct migrate_write *o = &plan->old.v[i];
        if (flash_write(flash, o->addr, o->data, o->len, err))
            return -1;
    }
    return flash_flush(flash, err);
}

int migrate_backup_image(const struct migrate_plan *plan, struct flash *flash,
                         uint32_t bootloader_offset, uint8_t **data, uint32_t *len,
                         struct error *err)
{
    *data = NULL;
    *len = 0;
    if (plan->old.n == 0)
        return 0;
    uint32_t end = PTABLE_OFFSET + PTABLE_SIZE;
    for (int i = 0; i < plan->old.n; i++)
        if (plan->old.v[i].addr + plan->old.v[i].len > end)
            end = plan->old.v[i].addr + plan->old.v[i].len;
    uint8_t *img = malloc(end);
    if (!img)
        return error_setk(err, ERROR_OS, "out of memory for a 0x%" PRIx32 "-byte backup", end);
    memset(img, 0xFF, end);
    /* the old bootloader and table, so that the backup opens as a firmware of that layout */
    if (bootloader_offset < PTABLE_OFFSET) {
        uint8_t *head = read_region(flash, bootloader_offset,
                                    PTABLE_OFFSET + PTABLE_SIZE - bootloader_offset, err);
        if (!head) {
            free(img);
            return -1;
        }
        memcpy(img + bootloader_offset, head, PTABLE_OFFSET + PTABLE_SIZE - bootloader_offset);
        free(head);
    }
    for (int i = 0; i < plan->old.n; i++)
        memcpy(img + plan->old.v[i].addr, plan->old.v[i].data, plan->old.v[i].len);
    *data = img;
    *len = end;
    return 0;
}

void migrate_free(struct migrate_plan *plan)
{
    list_free(&plan->writes);
    list_free(&plan->old);
    free(plan->tier);
    free(plan->commit);
    plan->tier = NULL;
    plan->commit = NULL;
}
