/* --merge and flasher_args.json: the pieces read from files, their flash settings from the
 * command line or the build, merged into one image in memory. */
#include "tool/mergeglue.h"

#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esp/image.h"
#include "esp/merge.h"
#include "esp/ptable.h"
#include "firmware/firmware.h"
#include "tool/localfile.h"
#include "util/jsonread.h"

#define MAX_PIECES 32

struct pieces {
    struct merge_piece p[MAX_PIECES];
    char *data[MAX_PIECES];
    char *names[MAX_PIECES];
    int count;
};

static void pieces_free(struct pieces *ps)
{
    for (int i = 0; i < ps->count; i++) {
        free(ps->data[i]);
        free(ps->names[i]);
    }
    ps->count = 0;
}

static int parse_address(const char *text, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 0);
    if (!*text || *end || errno || v > 0xFFFFFFFFull || text[0] == '-')
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int add_piece(struct pieces *ps, const char *path, const char *addr, struct error *err)
{
    if (ps->count == MAX_PIECES)
        return error_setk(err, ERROR_VALUE, "more than %d images to merge", MAX_PIECES);
    uint32_t a;
    if (parse_address(addr, &a))
        return error_setk(err, ERROR_VALUE, "'%s' is not a flash address (for %s)", addr, path);
    char *data;
    size_t len;
    if (localfile_read(path, &data, &len, err))
        return -1;
    if (len > 0x10000000u) {
        free(data);
        return error_setk(err, ERROR_VALUE, "%s is larger than any flash", path);
    }
    int i = ps->count++;
    ps->data[i] = data;
    ps->names[i] = strdup(path);
    ps->p[i] = (struct merge_piece){a, (const uint8_t *)data, (uint32_t)len,
                                    ps->names[i] ? ps->names[i] : "?"};
    return 0;
}

/* --merge FILE@ADDR,FILE@ADDR,... (split on the last '@', so a name may hold one) */
static int pieces_from_option(const char *text, struct pieces *ps, struct error *err)
{
    char *copy = strdup(text);
    if (!copy)
        return error_setk(err, ERROR_OS, "out of memory");
    int rc = 0;
    char *save, *item = strtok_r(copy, ",", &save);
    for (; item && rc == 0; item = strtok_r(NULL, ",", &save)) {
        while (*item == ' ')
            item++;
        char *at = strrchr(item, '@');
        if (!at || at == item) {
            rc = error_setk(err, ERROR_VALUE, "--merge: '%s' must be FILE@ADDRESS", item);
            break;
        }
        *at = '\0';
        rc = add_piece(ps, item, at + 1, err);
    }
    free(copy);
    return rc;
}

struct settings {
    const char *mode, *freq, *size, *chip;
};

/* ESP-IDF's build/flasher_args.json: "flash_files" maps addresses to paths relative to the
 * build folder, "flash_settings" holds what idf.py passes to esptool, "extra_esptool_args"
 * the chip. */
static int pieces_from_json(const char *path, struct jsonread *root, struct pieces *ps,
                            struct settings *s, struct error *err)
{
    char *text;
    size_t len;
    if (localfile_read(path, &text, &len, err))
        return -1;
    int rc = jsonread_parse(text, len, path, root, err);
    free(text);
    if (rc)
        return -1;
    const struct jsonread *files = jsonread_get(root, "flash_files");
    if (!files || files->type != JSONREAD_OBJECT || files->count == 0)
        return error_setk(err, ERROR_VALUE, "%s: no \"flash_files\" to merge", path);
    char *copy = strdup(path);
    if (!copy)
        return error_setk(err, ERROR_OS, "out of memory");
    const char *dir = dirname(copy);
    for (size_t i = 0; rc == 0 && i < files->count; i++) {
        const char *file = jsonread_string(&files->items[i]);
        if (!file) {
            rc = error_setk(err, ERROR_VALUE, "%s: flash_files \"%s\" is not a file name", path,
                            files->items[i].key);
            break;
        }
        char full[4096];
        if (file[0] == '/')
            snprintf(full, sizeof full, "%s", file);
        else
            snprintf(full, sizeof full, "%s/%s", dir, file);
        rc = add_piece(ps, full, files->items[i].key, err);
    }
    free(copy);
    const struct jsonread *fs = jsonread_get(root, "flash_settings");
    s->mode = jsonread_string(jsonread_get(fs, "flash_mode"));
    s->freq = jsonread_string(jsonread_get(fs, "flash_freq"));
    s->size = jsonread_string(jsonread_get(fs, "flash_size"));
    s->chip = jsonread_string(jsonread_get(jsonread_get(root, "extra_esptool_args"), "chip"));
    return rc;
}

static int is_keep(const char *v)
{
    return !v || strcmp(v, "keep") == 0 || strcmp(v, "detect") == 0;
}

int mergeglue_wanted(const struct tool_options *opt)
{
    if (opt->merge.count)
        return 1;
    if (opt->is_device || !opt->filename || !opt->filename[0])
        return 0;
    FILE *f = fopen(opt->filename, "rb");
    if (!f)
        return 0;
    int c;
    do
        c = fgetc(f);
    while (c == ' ' || c == '\t' || c == '\r' || c == '\n');
    fclose(f);
    return c == '{';
}

/* The flash settings: the command line first, then the build's. */
static int resolve_settings(const struct tool_options *o, const struct settings *s,
                            const struct chip *chip, struct merge_options *mo, struct error *err)
{
    const char *mode = o->flash_mode ? o->flash_mode : s->mode;
    const char *freq = o->flash_freq ? o->flash_freq : s->freq;
    mo->flash_mode = mo->flash_freq = mo->flash_size_id = -1;
    if (!is_keep(mode) && (mo->flash_mode = image_flash_mode_value(mode)) < 0)
        return error_setk(err, ERROR_VALUE, "Invalid flash mode '%s' (qio, qout, dio, dout).",
                          mode);
    if (!is_keep(freq)) {
        if (!chip)
            return error_setk(err, ERROR_VALUE,
                              "No bootloader image found to set the flash "
                              "frequency of.");
        if ((mo->flash_freq = chip_flash_freq_code(chip, freq)) < 0)
            return error_setk(err, ERROR_VALUE, "Flash frequency '%s' is not supported by %s.",
                              freq, chip->description);
    }
    if (o->flash_size) {
        if (o->flash_size < 0 || o->flash_size > UINT32_MAX ||
            (mo->flash_size_id = image_flash_size_id((uint32_t)o->flash_size)) < 0)
            return error_setk(err, ERROR_VALUE, "Invalid flash size: 0x%" PRIx64 ".",
                              (uint64_t)o->flash_size);
    } else if (!is_keep(s->size)) {
        char *end;
        unsigned long mb = strtoul(s->size, &end, 10);
        if (strcmp(end, "MB") != 0 ||
            (mo->flash_size_id = image_flash_size_id((uint32_t)(mb * 0x100000ul))) < 0)
            return error_setk(err, ERROR_VALUE, "Invalid flash size '%s'.", s->size);
    }
    return 0;
}

int mergeglue_open(const struct tool_options *o, const struct log *log, struct flash_image *img,
                   struct error *err)
{
    struct pieces ps;
    memset(&ps, 0, sizeof ps);
    struct jsonread root;
    memset(&root, 0, sizeof root);
    struct settings s = {0};
    const char *source = o->merge.count ? "--merge" : o->filename;
    int rc = o->merge.count ? pieces_from_option(o->merge.text, &ps, err)
                            : pieces_from_json(o->filename, &root, &ps, &s, err);
    const struct chip *chip = NULL;
    if (rc == 0) {
        chip = s.chip ? chip_by_name(s.chip) : merge_detect_chip(ps.p, ps.count);
        if (s.chip && !chip)
            rc = error_setk(err, ERROR_VALUE, "%s: unknown chip '%s'", source, s.chip);
    }
    struct merge_options mo = {.chip = chip, .target_offset = 0};
    if (rc == 0)
        rc = resolve_settings(o, &s, chip, &mo, err);
    uint8_t *bytes = NULL;
    uint32_t len = 0;
    int patched = 0;
    char warning[256];
    if (rc == 0) {
        for (int i = 0; i < ps.count; i++)
            log_printf(log, LOG_INFO, "Adding '%s' at 0x%x...", ps.p[i].name, ps.p[i].addr);
        rc = merge_build(ps.p, ps.count, &mo, &bytes, &len, &patched, warning, sizeof warning,
                         err);
    }
    if (rc == 0) {
        if (warning[0])
            log_printf(log, LOG_WARNING, "Warning: %s", warning);
        if (patched)
            log_printf(log, LOG_INFO, "Flash parameters set to 0x%02x%02x.",
                       bytes[(chip ? chip->bootloader_offset : 0) + 2],
                       bytes[(chip ? chip->bootloader_offset : 0) + 3]);
        log_printf(log, LOG_INFO, "Merged %d images: 0x%" PRIx32 " bytes from flash address 0.",
                   ps.count, len);
    }
    jsonread_free(&root);
    pieces_free(&ps);
    if (rc)
        return -1;
    return firmware_open_buffer(bytes, len, o->merge.count ? "merged firmware" : o->filename, img,
                                err);
}
