#include "ota/ota.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esp/image.h"
#include "esp/otadata.h"

static int collect_slots(const struct ptable *t, struct ota_status *st, struct error *err)
{
    st->slot_count = 0;
    for (int sub = PART_SUBTYPE_OTA_0; sub < PART_SUBTYPE_OTA_0 + OTA_MAX_SLOTS; sub++)
        for (int i = 0; i < t->count; i++)
            if (t->parts[i].type == PART_TYPE_APP && t->parts[i].subtype == sub)
                st->slots[st->slot_count++] = t->parts[i];
    if (st->slot_count < 2)
        return error_setk(err, ERROR_VALUE,
                          "Require at least 2 ota partitions: 'ota_0' and 'ota_1'.");
    for (int k = 0; k < st->slot_count; k++)
        if (st->slots[k].subtype != PART_SUBTYPE_OTA_0 + k)
            return error_setk(err, ERROR_VALUE, "OTA partition subtypes must be sequential.");
    return 0;
}

int ota_status_read(struct firmware *fw, struct ota_status *st, struct error *err)
{
    memset(st, 0, sizeof *st);
    const struct ptable *t = &fw->table;
    int has_factory = 0;
    for (int i = 0; i < t->count; i++) {
        const struct partition *p = &t->parts[i];
        if (p->type == PART_TYPE_DATA && p->subtype == PART_SUBTYPE_DATA_OTA && !st->has_otadata) {
            st->has_otadata = 1;
            st->otadata = *p;
        }
        if (p->type == PART_TYPE_APP && p->subtype == PART_SUBTYPE_FACTORY)
            has_factory = 1;
    }
    if (!st->has_otadata)
        return 0;
    if (collect_slots(t, st, err))
        return -1;
    uint8_t data[OTADATA_SIZE];
    memset(data, 0xFF, sizeof data);
    uint32_t len = 0;
    if (st->otadata.offset < fw->flash->size) {
        len = fw->flash->size - st->otadata.offset;
        if (len > OTADATA_SIZE)
            len = OTADATA_SIZE;
        if (flash_read(fw->flash, st->otadata.offset, data, len, err))
            return error_prefix(err, "reading otadata");
    }
    struct otadata_boot boot;
    if (otadata_boot_select(data, sizeof data, st->slot_count, has_factory, &boot, err))
        return -1;
    st->boot = boot;
    st->current = boot.slot;
    st->next = boot.slot < 0 ? 0 : (boot.slot + 1) % st->slot_count;
    if (boot.slot < 0) {
        int f = -1;
        for (int i = 0; i < t->count && f < 0; i++)
            if (t->parts[i].type == PART_TYPE_APP && t->parts[i].subtype == PART_SUBTYPE_FACTORY)
                f = i;
        snprintf(st->current_name, sizeof st->current_name, "%s", f >= 0 ? t->parts[f].name : "");
    } else {
        snprintf(st->current_name, sizeof st->current_name, "%s", st->slots[boot.slot].name);
    }
    snprintf(st->next_name, sizeof st->next_name, "%s", st->slots[st->next].name);
    return 0;
}

int ota_check_app(struct firmware *fw, const uint8_t *app, size_t len, struct error *err)
{
    struct image_header h;
    if (image_header_parse(app, len, &h, err))
        return error_prefix(err, "OTA update image");
    if (h.chip_id != fw->header.chip_id) {
        const struct chip *c = chip_by_image_id(h.chip_id);
        return error_setk(err, ERROR_VALUE,
                          "OTA update image is for %s, but the firmware is for %s.",
                          c ? c->name : "an unknown chip", fw->chip->name);
    }
    struct app_desc desc;
    if (image_app_desc(app, len, &desc))
        return error_setk(err, ERROR_VALUE,
                          "OTA update image is not an app image (no app descriptor at 0x20): "
                          "give the app (.app-bin), not a whole firmware.");
    if (len > UINT32_MAX)
        return error_setk(err, ERROR_VALUE, "OTA update image is too large (%zu bytes).", len);
    if (firmware_image_verify(app, (uint32_t)len, fw->header.chip_id, 1, "OTA update image", err))
        return 1;
    return 0;
}

int ota_update(struct firmware *fw, const uint8_t *app, size_t len, int rollback, int force,
               const struct log *log, struct error *err)
{
    struct error why;
    int rc = ota_check_app(fw, app, len, &why);
    if (rc < 0 || (rc > 0 && !force)) {
        *err = why;
        return rc < 0 ? -1 : error_prefix(err, "Refusing to install a broken app");
    }
    if (rc > 0)
        log_printf(log, LOG_WARNING, "%s (written anyway: --force)", why.msg);
    struct ota_status st;
    if (ota_status_read(fw, &st, err))
        return -1;
    if (!st.has_otadata)
        return error_setk(err, ERROR_PARTITION, "Partition 'ota' not found.");
    const struct partition *target = &st.slots[st.next];
    if ((int64_t)len > target->size)
        return error_setk(err, ERROR_VALUE,
                          "OTA update image (%zu bytes) does not fit partition '%s' (%lld bytes).",
                          len, target->name, (long long)target->size);
    log_printf(log, LOG_ACTION, "Writing firmware to OTA partition %s...", target->name);
    if (firmware_write_partition(fw, target, app, (uint32_t)len, log, err))
        return -1;
    if (flash_flush(fw->flash, err))
        return -1;
    log_printf(log, LOG_ACTION, "Updating otadata partition...");
    uint8_t data[OTADATA_SIZE];
    memset(data, 0xFF, sizeof data);
    uint32_t have = st.otadata.offset < fw->flash->size ? fw->flash->size - st.otadata.offset : 0;
    if (have > OTADATA_SIZE)
        have = OTADATA_SIZE;
    if (have && flash_read(fw->flash, st.otadata.offset, data, have, err))
        return -1;
    struct otadata_write w;
    if (otadata_select_slot(data, sizeof data, st.slot_count, st.next,
                            rollback ? OTA_STATE_NEW : OTA_STATE_UNDEFINED, &w, err))
        return -1;
    otadata_apply(data, sizeof data, &w);
    uint32_t sector = st.otadata.offset + (uint32_t)w.sector * OTADATA_SECTOR_SIZE;
    if (flash_write(fw->flash, sector, data + w.sector * OTADATA_SECTOR_SIZE,
                    OTADATA_SECTOR_SIZE, err))
        return error_prefix(err, "writing otadata");
    return flash_flush(fw->flash, err);
}

/* The otadata partition's bytes (erased where a file ends before them). */
static int read_otadata(struct firmware *fw, const struct ota_status *st,
                        uint8_t data[OTADATA_SIZE], struct error *err)
{
    memset(data, 0xFF, OTADATA_SIZE);
    uint32_t have = st->otadata.offset < fw->flash->size ? fw->flash->size - st->otadata.offset
                                                         : 0;
    if (have > OTADATA_SIZE)
        have = OTADATA_SIZE;
    if (have && flash_read(fw->flash, st->otadata.offset, data, have, err))
        return error_prefix(err, "reading otadata");
    return 0;
}

static int read_status(struct firmware *fw, struct ota_status *st, struct error *err)
{
    if (ota_status_read(fw, st, err))
        return -1;
    if (!st->has_otadata)
        return error_setk(
            err, ERROR_PARTITION,
            "No otadata partition: the firmware has no OTA layout (see --table ota).");
    return 0;
}

static const struct partition *factory_app(const struct firmware *fw)
{
    for (int i = 0; i < fw->table.count; i++)
        if (fw->table.parts[i].type == PART_TYPE_APP &&
            fw->table.parts[i].subtype == PART_SUBTYPE_FACTORY)
            return &fw->table.parts[i];
    return NULL;
}

static int erase_sectors(struct firmware *fw, const struct ota_status *st, struct error *err)
{
    /* the sector without the active record first: cut in between, the active one still
     * decides */
    int first = st->boot.active == 0 ? 1 : 0;
    for (int k = 0; k < 2; k++) {
        uint32_t at = st->otadata.offset +
                      (uint32_t)(k == 0 ? first : 1 - first) * OTADATA_SECTOR_SIZE;
        if (at >= fw->flash->size && flash_can(fw->flash, FLASH_CAP_RESIZABLE))
            continue; /* past the end of a file: erased already */
        if (flash_erase(fw->flash, at, OTADATA_SECTOR_SIZE, err) || flash_flush(fw->flash, err))
            return error_prefix(err, "erasing otadata");
    }
    return 0;
}

int ota_select(struct firmware *fw, const char *name, int rollback, int force,
               const struct log *log, struct error *err)
{
    struct ota_status st;
    if (read_status(fw, &st, err))
        return -1;
    const struct partition *target = NULL;
    int slot = -1;
    for (int k = 0; k < st.slot_count && !target; k++) {
        char number[16];
        snprintf(number, sizeof number, "%d", k);
        if (strcmp(name, st.slots[k].name) == 0 || strcmp(name, number) == 0) {
            target = &st.slots[k];
            slot = k;
        }
    }
    const struct partition *factory = factory_app(fw);
    if (!target && factory && strcmp(name, factory->name) == 0)
        target = factory;
    if (!target)
        return error_setk(err, ERROR_PARTITION,
                          "--ota-select: '%s' is neither an OTA app partition (%s..%s, or its "
                          "number) nor the factory app.",
                          name, st.slots[0].name, st.slots[st.slot_count - 1].name);
    int state = firmware_check_image(fw, target, 1, LOG_WARNING, log, err);
    if (state < 0)
        return -1;
    if (state == FIRMWARE_IMAGE_NONE)
        return error_setk(err, ERROR_VALUE,
                          "Partition '%s' holds no app image: the board would not boot it.",
                          target->name);
    if (state == FIRMWARE_IMAGE_BROKEN) {
        if (!force)
            return error_setk(err, ERROR_VALUE,
                              "Partition '%s' holds a broken app image (see above): refusing "
                              "to boot it.\n  Use --force to select it anyway.",
                              target->name);
        log_printf(log, LOG_WARNING, "Partition '%s': selected anyway (--force).", target->name);
    }
    if (slot < 0) {
        if (st.current < 0) {
            log_printf(log, LOG_INFO, "The factory app '%s' boots already.", target->name);
            return 0;
        }
        log_printf(log, LOG_ACTION, "Erasing otadata: the factory app '%s' boots next...",
                   target->name);
        return erase_sectors(fw, &st, err);
    }
    const struct ota_entry *active = st.boot.active >= 0 ? &st.boot.entries[st.boot.active]
                                                         : NULL;
    if (st.current == slot && active &&
        (active->state == OTA_STATE_VALID || active->state == OTA_STATE_UNDEFINED)) {
        log_printf(log, LOG_INFO, "OTA partition %s boots already.", target->name);
        return 0;
    }
    uint8_t data[OTADATA_SIZE];
    if (read_otadata(fw, &st, data, err))
        return -1;
    struct otadata_write w;
    if (otadata_select_slot(data, sizeof data, st.slot_count, slot,
                            rollback ? OTA_STATE_NEW : OTA_STATE_UNDEFINED, &w, err))
        return -1;
    log_printf(log, LOG_ACTION, "Selecting OTA partition %s (otadata sector %d, seq %u)...",
               target->name, w.sector, (unsigned)w.seq);
    otadata_apply(data, sizeof data, &w);
    uint32_t sector = st.otadata.offset + (uint32_t)w.sector * OTADATA_SECTOR_SIZE;
    if (flash_write(fw->flash, sector, data + w.sector * OTADATA_SECTOR_SIZE, OTADATA_SECTOR_SIZE,
                    err))
        return error_prefix(err, "writing otadata");
    return flash_flush(fw->flash, err);
}

int ota_erase(struct firmware *fw, const struct log *log, struct error *err)
{
    struct ota_status st;
    if (read_status(fw, &st, err))
        return -1;
    log_printf(log, LOG_ACTION, "Erasing otadata partition '%s'...", st.otadata.name);
    return erase_sectors(fw, &st, err);
}
