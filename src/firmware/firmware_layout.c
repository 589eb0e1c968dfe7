/* Changing the layout a firmware lives in, on its own flash (table edits) or on a board it is
 * written to (--flash): the data partitions are carried by src/migrate, the new data is
 * written and flushed before the bootloader header and the table that point at it. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/firmware.h"

#define MIB 0x100000u

static int backup_and_write(struct migrate_plan *plan, struct flash *flash,
                            uint32_t bootloader_offset, const struct firmware_backup *backup,
                            const struct log *log, struct error *err)
{
    if (backup && backup->save) {
        uint8_t *image;
        uint32_t len;
        if (migrate_backup_image(plan, flash, bootloader_offset, &image, &len, err))
            return -1;
        int rc = len ? backup->save(backup->ctx, image, len, err) : 0;
        free(image);
        if (rc)
            return -1;
    }
    if (migrate_write(plan, flash, 0, log, err) == 0)
        return 0;
    if (plan->live && plan->old.n) {
        /* the old table is still in place: give it its data back if the board still listens */
        log_printf(log, LOG_ACTION, "Writing the old data back...");
        struct error why;
        if (migrate_restore(plan, flash, &why) == 0)
            error_append(err, "\n  The board's old data was written back: it has its old "
                              "layout and data.");
        else
            log_printf(log, LOG_ERROR, "Could not write the old data back: %s", why.msg);
    }
    return -1;
}

static void backup_done(const struct firmware_backup *backup, int ok)
{
    if (backup && backup->done)
        backup->done(backup->ctx, ok);
}

/* ---------------------------------------------------------------- a new table in place */

int firmware_plan_layout(struct firmware *fw, const struct ptable *new_table,
                         const struct migrate_options *opt, struct migrate_plan *plan,
                         const struct log *log, struct error *err)
{
    const struct partition *old_app = firmware_first_app(fw);
    int a = ptable_first_app(new_table);
    if (old_app && a >= 0 && new_table->parts[a].offset != old_app->offset)
        return error_setk(err, ERROR_PARTITION, "first app partition offset has changed");
    struct migrate_options o = *opt;
    o.bootloader_offset = fw->bootloader_offset;
    o.source = NULL;
    return migrate_plan(plan, fw->flash, &fw->table, new_table, &o, log, err);
}

int firmware_apply_layout(struct firmware *fw, const struct ptable *new_table,
                          struct migrate_plan *plan, const struct firmware_backup *backup,
                          const struct log *log, struct error *err)
{
    migrate_describe(plan, log);
    int rc = backup_and_write(plan, fw->flash, fw->bootloader_offset, backup, log, err);
    if (rc == 0) {
        log_printf(log, LOG_ACTION, "Writing partition table...");
        if (firmware_header_modified(fw)) {
            log_printf(log, LOG_ACTION,
                       "Updating flash size (%" PRIu32 "MB) in bootloader header...",
                       image_flash_size_bytes(fw->header.flash_size_id) / MIB);
            rc = firmware_write_header(fw, err);
        }
    }
    if (rc == 0) {
        uint8_t a[PTABLE_SIZE], b[PTABLE_SIZE];
        int changed = ptable_encode(&fw->table, a, NULL) || ptable_encode(new_table, b, NULL) ||
                      memcmp(a, b, sizeof a) != 0;
        if (changed)
            rc = firmware_write_table(fw, new_table, err);
    }
    if (rc == 0)
        rc = flash_flush(fw->flash, err);
    if (rc == 0)
        rc = migrate_write(plan, fw->flash, 1, log, err);
    if (rc == 0)
        rc = firmware_reload_table(fw, err);
    backup_done(backup, rc == 0);
    return rc;
}

/* ---------------------------------------------------------------- a whole firmware */

static uint32_t highest_end(const struct ptable *t)
{
    uint64_t end = 0;
    for (int i = 0; i < t->count; i++) {
        uint64_t e = (uint64_t)t->parts[i].offset +
                     (uint64_t)(t->parts[i].size > 0 ? t->parts[i].size : 0);
        if (e > end)
            end = e;
    }
    return end > UINT32_MAX ? UINT32_MAX : (uint32_t)end;
}

/* The source's bytes in [start, end) (erased where the source ends), as a write. */
static int add_source(struct migrate_plan *plan, struct flash *src, uint32_t start, uint32_t end,
                      struct error *err)
{
    if (end <= start)
        return 0;
    uint32_t len = end - start;
    uint8_t *buf = malloc(len);
    if (!buf)
        return error_setk(err, ERROR_OS, "out of memory");
    memset(buf, 0xFF, len);
    uint32_t have = src->size > start ? src->size - start : 0;
    if (have > len)
        have = len;
    int rc = have ? flash_read(src, start, buf, have, err) : 0;
    if (rc == 0)
        rc = migrate_add(plan, start, buf, len, err);
    free(buf);
    return rc;
}

/* Where the firmware's data ends: its last byte that is not erased, rounded up to a sector. */
static int source_data_end(struct firmware *source, uint32_t *out, struct error *err)
{
    uint32_t start = source->bootloader_offset, end = source->flash->size;
    uint8_t tail[256];
    while (end > start) {
        uint32_t n = end - start < sizeof tail ? end - start : (uint32_t)sizeof tail;
        if (flash_read(source->flash, end - n, tail, n, err))
            return -1;
        uint32_t k = n;
        while (k && tail[k - 1] == 0xFF)
            k--;
        end -= n - k;
        if (k)
            break;
    }
    *out = (end + FLASH_SECTOR_SIZE - 1) / FLASH_SECTOR_SIZE * FLASH_SECTOR_SIZE;
    return 0;
}

int firmware_plan_copy(struct firmware *source, struct flash *target,
                       const struct chip *target_chip, const struct migrate_options *opt,
                       struct migrate_plan *plan, const struct log *log, struct error *err)
{
    if (target_chip != source->chip)
        return error_setk(err, ERROR_VALUE, "The firmware is for %s, but the device is an %s.",
                          source->chip->name, target_chip->name);
    uint32_t need = highest_end(&source->table);
    if (need > target->size)
        return error_setk(err, ERROR_VALUE,
                          "The firmware's partition table ends at 0x%" PRIx32
                          ", past the end of the device's %" PRIu32 "MB flash.\n"
                          "  Use the '-f' option to set the flash size (with --resize or "
                          "--table to fit): -f %" PRIu32 "M.",
                          need, target->size / MIB, target->size / MIB);
    uint32_t header_size = image_flash_size_bytes(source->header.flash_size_id);
    if (header_size != target->size)
        log_printf(log, LOG_WARNING,
                   "Destination flash size (%" PRIu32 "MB) is different from source flash_size "
                   "(%" PRIu32 "MB).",
                   target->size / MIB, header_size / MIB);
    /* The layout on the board now: its data is carried into the firmware's layout. A blank
     * board (or one without a readable table) has nothing to carry. */
    struct firmware board;
    struct ptable old;
    memset(&old, 0, sizeof old);
    old.flash_size = target->size;
    uint32_t board_boot = target_chip->bootloader_offset;
    struct error why;
    if (firmware_load(&board, target, target_chip, &why) == 0) {
        old = board.table;
        board_boot = board.bootloader_offset;
    } else {
        log_printf(log, LOG_DEBUG, "No layout on the board to carry data from: %s", why.msg);
    }
    struct migrate_options o = *opt;
    o.source = source->flash;
    o.bootloader_offset = board_boot;
    if (migrate_plan(plan, target, &old, &source->table, &o, log, err))
        return -1;
    /* The firmware's own bytes: the bootloader region, and every app partition up to where
     * the firmware's data ends (trailing erased bytes dropped, to whole sectors); the rest of
     * the partition that data ends in held the old firmware and is erased. */
    uint32_t data_end;
    if (source_data_end(source, &data_end, err))
        goto fail;
    if (add_source(plan, source->flash, source->bootloader_offset, PTABLE_OFFSET, err))
        goto fail;
    for (int i = 0; i < source->table.count; i++) {
        const struct partition *p = &source->table.parts[i];
        uint32_t pend = p->offset + (uint32_t)(p->size > 0 ? p->size : 0);
        if (p->type != PART_TYPE_APP || p->offset >= data_end)
            continue;
        if (add_source(plan, source->flash, p->offset, pend < data_end ? pend : data_end, err))
            goto fail;
        if (pend > data_end && migrate_add(plan, data_end, NULL, pend - data_end, err))
            goto fail;
    }
    return 0;
fail:
    migrate_free(plan);
    return -1;
}

int firmware_apply_copy(struct firmware *source, struct flash *target, struct migrate_plan *plan,
                        const struct firmware_backup *backup, const struct log *log,
                        struct error *err)
{
    log_printf(log, LOG_ACTION, "Flashing firmware to device: %s...", target->name);
    migrate_describe(plan, log);
    uint32_t data_end;
    if (source_data_end(source, &data_end, err))
        return -1;
    for (int i = 0; i < source->table.count; i++) {
        const struct partition *p = &source->table.parts[i];
        uint64_t pend = (uint64_t)p->offset + (uint64_t)(p->size > 0 ? p->size : 0);
        if (p->type == PART_TYPE_APP && p->offset < data_end && pend > data_end)
            log_printf(log, LOG_ACTION, "Erasing remainder of partition '%s'...", p->name);
    }
    int rc = backup_and_write(plan, target, source->bootloader_offset, backup, log, err);
    if (rc == 0) {
        /* the table last: the firmware's own, as it is in the file */
        uint8_t table[PTABLE_SIZE];
        memset(table, 0xFF, sizeof table);
        uint32_t have = source->flash->size > PTABLE_OFFSET ? source->flash->size - PTABLE_OFFSET
                                                            : 0;
        if (have > PTABLE_SIZE)
            have = PTABLE_SIZE;
        rc = flash_read(source->flash, PTABLE_OFFSET, table, have, err);
        if (rc == 0)
            rc = flash_write(target, PTABLE_OFFSET, table, sizeof table, err);
        if (rc == 0)
            rc = flash_flush(target, err);
        if (rc == 0)
            rc = migrate_write(plan, target, 1, log, err);
    }
    backup_done(backup, rc == 0);
    return rc;
}
