#include "layout/layout.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    const char *subtype;
} inferred_subtypes[] = {
    {"otadata", "ota"},
    {"vfs", "fat"},
    {"phy_init", "phy"},
};

int layout_subtype(const char *name, const char *subtype, uint8_t *type, uint8_t *sub,
                   struct error *err)
{
    const char *text = subtype;
    if (!text || !*text) {
        text = name;
        for (size_t i = 0; i < sizeof inferred_subtypes / sizeof inferred_subtypes[0]; i++)
            if (strcmp(name, inferred_subtypes[i].name) == 0)
                text = inferred_subtypes[i].subtype;
    }
    if (ptable_subtype_parse(text, type, sub) == 0)
        return 0;
    if (!subtype || !*subtype)
        return error_setk(err, ERROR_VALUE,
                          "Cannot infer the subtype of partition '%s': give one, e.g. '%s=fat:1M'.",
                          name, name);
    return error_setk(err, ERROR_VALUE, "Unknown partition subtype '%s' for partition '%s'.",
                      subtype, name);
}

static int64_t highest_end(const struct ptable *t)
{
    int64_t end = 0;
    for (int i = 0; i < t->count; i++)
        if ((int64_t)t->parts[i].offset + t->parts[i].size > end)
            end = (int64_t)t->parts[i].offset + t->parts[i].size;
    return t->count ? end : PTABLE_FIRST_OFFSET;
}

int layout_add(struct ptable *t, const struct layout_spec *spec, struct error *err)
{
    if (strlen(spec->name) > PTABLE_LABEL_MAX)
        return error_setk(err, ERROR_PARTITION,
                          "Partition name '%s' is longer than %d characters.", spec->name,
                          PTABLE_LABEL_MAX);
    if (!*spec->name)
        return error_setk(err, ERROR_PARTITION, "Partition name is empty.");
    if (ptable_find(t, spec->name) >= 0)
        return error_setk(err, ERROR_PARTITION, "Partition '%s' already exists in table.",
                          spec->name);
    if (t->count >= PTABLE_MAX_ENTRIES)
        return error_setk(err, ERROR_PARTITION, "Too many partitions (at most %d).",
                          PTABLE_MAX_ENTRIES);
    uint8_t type, sub;
    if (layout_subtype(spec->name, spec->subtype, &type, &sub, err))
        return -1;
    int64_t offset = spec->offset ? (int64_t)spec->offset : highest_end(t);
    int64_t size = spec->size;
    if (size < 0 || offset + size > (int64_t)t->flash_size)
        return error_setk(err, ERROR_PARTITION,
                          "No room on flash for partition %s (0x%" PRIx64 " bytes).", spec->name,
                          (uint64_t)(size < 0 ? -size : size));
    if (size == 0)
        size = (int64_t)t->flash_size - offset;
    struct partition *p = &t->parts[t->count++];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", spec->name);
    p->type = type;
    p->subtype = sub;
    p->offset = (uint32_t)offset;
    p->size = size;
    p->flags = spec->flags;
    ptable_sort(t);
    return 0;
}

int layout_build(struct ptable *t, const struct layout_spec *specs, int count, struct error *err)
{
    t->count = 0;
    for (int i = 0; i < count; i++)
        if (layout_add(t, &specs[i], err))
            return -1;
    return 0;
}

int layout_is_builtin(const char *name)
{
    return strcmp(name, "ota") == 0 || strcmp(name, "default") == 0 ||
           strcmp(name, "original") == 0;
}

int layout_builtin(struct ptable *t, const char *name, uint32_t app_size, uint32_t first_app_offset,
                   struct error *err)
{
    if (strcmp(name, "original") == 0) {
        const struct layout_spec specs[] = {
            {"nvs", "nvs", 0, 0x6000, 0},
            {"phy_init", "phy", 0, 0x1000, 0},
            {"factory", "factory", 0, 0x1F0000, 0},
            {"vfs", "fat", 0, 0, 0},
        };
        return layout_build(t, specs, 4, err);
    }
    if (strcmp(name, "default") == 0) {
        const struct layout_spec specs[] = {
            {"nvs", "nvs", 0, 0x7000, 0},
            {"factory", "factory", 0, 0x1F0000, 0},
            {"vfs", "fat", 0, 0, 0},
        };
        return layout_build(t, specs, 3, err);
    }
    if (strcmp(name, "ota") == 0) {
        /* nvs fills the space before otadata so the first app keeps its offset. */
        int64_t nvs_size =
            (int64_t)first_app_offset - PTABLE_FIRST_OFFSET - LAYOUT_OTADATA_SIZE;
        if (nvs_size <= 0)
            return error_setk(err, ERROR_PARTITION,
                              "No room for nvs and otadata before the first app at 0x%" PRIx32
                              ".",
                              first_app_offset);
        if (!app_size)
            app_size = t->flash_size > 0x800000 ? 0x270000
                       : t->flash_size > 0x400000 ? 0x200000
                                                  : 0x180000;
        const struct layout_spec specs[] = {
            {"nvs", "nvs", 0, nvs_size, 0},
            {"otadata", "ota", 0, LAYOUT_OTADATA_SIZE, 0},
            {"ota_0", "ota_0", 0, app_size, 0},
            {"ota_1", "ota_1", 0, app_size, 0},
            {"vfs", "fat", 0, 0, 0},
        };
        return layout_build(t, specs, 5, err);
    }
    return error_setk(err, ERROR_VALUE, "Unknown layout '%s' (use ota, default or original).",
                      name);
}

static int not_found(const char *name, struct error *err)
{
    return error_setk(err, ERROR_PARTITION, "Partition '%s' not found.", name);
}

int layout_resize(struct ptable *t, const char *name, int64_t size, struct error *err)
{
    ptable_sort(t);
    int i = ptable_find(t, name);
    if (i < 0)
        return not_found(name, err);
    struct partition *p = &t->parts[i];
    if (size == 0) {
        int64_t next = i + 1 < t->count ? t->parts[i + 1].offset : t->flash_size;
        size = next - p->offset;
    }
    if (size < 0)
        return error_setk(err, ERROR_PARTITION, "Invalid size for partition '%s': %" PRId64 ".",
                          name, size);
    p->size = size;
    /* Later partitions move up (never down) past the resized one and are clipped at the end
     * of flash; validation afterwards reports whatever no longer fits. */
    for (int k = i + 1; k < t->count; k++) {
        struct partition *prev = &t->parts[k - 1], *q = &t->parts[k];
        int64_t prev_end = (int64_t)prev->offset + prev->size;
        if (prev_end > q->offset) {
            if (prev_end > UINT32_MAX)
                return error_setk(err, ERROR_PARTITION,
                                  "Partition '%s' would move past the end of flash.", q->name);
            q->offset = (uint32_t)prev_end;
        }
        if ((int64_t)q->offset + q->size > t->flash_size)
            q->size = (int64_t)t->flash_size - q->offset;
    }
    return 0;
}

int layout_set_app_size(struct ptable *t, int64_t size, struct error *err)
{
    ptable_sort(t);
    /* Collect names first: resizing moves partitions but never reorders them. */
    for (int i = 0; i < t->count; i++) {
        if (t->parts[i].type != PART_TYPE_APP)
            continue;
        char name[PTABLE_LABEL_MAX + 1];
        memcpy(name, t->parts[i].name, sizeof name);
        if (layout_resize(t, name, size, err))
            return -1;
    }
    return 0;
}

int layout_delete(struct ptable *t, const char *name, struct error *err)
{
    int i = ptable_find(t, name);
    if (i < 0)
        return not_found(name, err);
    memmove(&t->parts[i], &t->parts[i + 1], (size_t)(t->count - i - 1) * sizeof t->parts[0]);
    t->count--;
    return 0;
}

int layout_rename(struct ptable *t, const char *old_name, const char *new_name,
                  struct error *err)
{
    int i = ptable_find(t, old_name);
    if (i < 0)
        return not_found(old_name, err);
    if (ptable_find(t, new_name) >= 0)
        return error_setk(err, ERROR_PARTITION, "Partition '%s' already exists in table.",
                          new_name);
    if (!*new_name || strlen(new_name) > PTABLE_LABEL_MAX)
        return error_setk(err, ERROR_PARTITION,
                          "Invalid partition name '%s' (1 to %d characters).", new_name,
                          PTABLE_LABEL_MAX);
    snprintf(t->parts[i].name, sizeof t->parts[i].name, "%s", new_name);
    return 0;
}

void layout_pair(const struct ptable *old_table, const struct ptable *new_table,
                 const struct layout_rename *renames, int rename_count,
                 int origin[PTABLE_MAX_ENTRIES])
{
    int used[PTABLE_MAX_ENTRIES] = {0};
    /* each old partition's name after the renames, applied in order */
    const char *renamed[PTABLE_MAX_ENTRIES];
    for (int o = 0; o < old_table->count; o++) {
        renamed[o] = old_table->parts[o].name;
        for (int k = 0; k < rename_count; k++)
            if (strcmp(renamed[o], renames[k].from) == 0)
                renamed[o] = renames[k].to;
    }
    for (int i = 0; i < new_table->count; i++) {
        origin[i] = -1;
        for (int o = 0; o < old_table->count && origin[i] < 0; o++)
            if (!used[o] && strcmp(renamed[o], new_table->parts[i].name) == 0 &&
                old_table->parts[o].type == new_table->parts[i].type) {
                origin[i] = o;
                used[o] = 1;
            }
    }
    for (int i = 0; i < new_table->count; i++) {
        const struct partition *p = &new_table->parts[i];
        for (int o = 0; o < old_table->count && origin[i] < 0; o++) {
            const struct partition *q = &old_table->parts[o];
            if (!used[o] && q->offset == p->offset && q->type == p->type &&
                q->subtype == p->subtype && ptable_find(new_table, q->name) < 0) {
                origin[i] = o;
                used[o] = 1;
            }
        }
    }
}
