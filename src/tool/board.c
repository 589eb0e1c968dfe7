/* Boards as the pipeline opens them: a serial port, a loader connection on it, and the board's
 * flash behind the device back-end. */
#include "tool/board.h"

#include "tool/backup.h"
#include "tool/fleet.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "device/device.h"
#include "esp/image.h"
#include "report/progress.h"
#include "serial/port.h"
#include "tool/ports.h"
#include "tool/values.h"

#define MIB 0x100000u

static void show_progress(void *ctx, const char *what, uint32_t done, uint32_t total)
{
    progress_update(ctx, what, done, total);
    fleet_tell_progress(what, done, total);
}

/* One progress display for the whole run (the pipeline prints nothing while a transfer runs). */
static struct progress transfer_progress;

/* The board's MAC address "aa:bb:cc:dd:ee:ff" from its eFuses; "" when it cannot be read
 * (secure download mode allows no register reads): it only names the board, so such a chip
 * is used all the same. */
static void read_mac(struct loader *l, char out[18])
{
    uint8_t m[6];
    struct error ignored;
    out[0] = '\0';
    if (!l->secure_download && loader_read_mac(l, m, &ignored) == 0)
        snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

/* --json: what the loader found on a board, under key. */
static void report_device(struct output *out, const char *key, const char *port,
                          struct flash_device *dev, const char *mac)
{
    if (!out->json)
        return;
    struct json *j = json_report_facts(out->json);
    struct loader *l = dev->loader;
    json_object_begin(j, key);
    json_string(j, "port", port);
    json_string(j, "chip", l->chip->name);
    json_string(j, "mac", mac[0] ? mac : NULL);
    json_uint(j, "flash_size", dev->flash.size);
    json_uint(j, "flash_id", l->flash_id);
    json_bool(j, "stub", l->stub);
    json_bool(j, "secure_download", l->secure_download);
    json_uint(j, "baud", l->port->baud);
    json_object_end(j);
}

static int connect(const struct tool_options *opt, const char *name, const struct log *log,
                   struct flash_device **out, char mac[18], struct error *err)
{
    char port[300];
    if (ports_resolve(name, log, port, sizeof port, err))
        return -1;
    uint32_t baud;
    if (value_round_baud(opt->baud ? opt->baud : 921600, &baud, err))
        return -1;
    struct loader_options lo;
    memset(&lo, 0, sizeof lo);
    lo.baud = baud;
    lo.no_stub = opt->no_stub;
    lo.before = LOADER_RESET_AUTO;
    lo.log = log;
    /* no progress display around a JSON document */
    progress_init(&transfer_progress, stdout, isatty(fileno(stdout)), opt->quiet || opt->json);
    lo.progress = show_progress;
    lo.progress_ctx = &transfer_progress;
    struct loader *l;
    if (loader_open(port, &lo, &l, err)) {
        /* the serial layer's messages already start with the port's name */
        size_t n = strlen(port);
        if (strncmp(err->msg, port, n) == 0 && err->msg[n] == ':')
            return err->code < 0 ? err->code : ERROR_FAILED;
        return error_prefix(err, "%s", port);
    }
    read_mac(l, mac);
    if (mac[0])
        log_printf(log, LOG_DEBUG, "%s: MAC %s.", port, mac);
    fleet_tell_parent(l->chip->name, mac);
    /* the name outlives this function: the device keeps it for its messages */
    if (flash_device_create(out, l, 0, strcmp(name, "auto") == 0 ? l->port_name : name, log, err))
        return -1;
    (*out)->hard_reset_on_close = !opt->no_reset;
    return 0;
}

const struct chip *board_chip(struct flash *flash)
{
    return ((struct flash_device *)flash)->loader->chip;
}

void board_blank_firmware(struct firmware *fw, struct flash *flash, const struct chip *chip)
{
    memset(fw, 0, sizeof *fw);
    fw->flash = flash;
    fw->chip = chip;
    fw->bootloader_offset = chip->bootloader_offset;
    fw->header.chip_id = chip->image_id;
    fw->table.flash_size = flash->size;
}

int board_open(const struct tool_options *opt, struct output *out, struct flash **flash,
               struct firmware *fw, int allow_blank, int *blank, struct error *err)
{
    const struct log *log = output_log(out, LOGGER_MAIN);
    struct flash_device *dev;
    char mac[18];
    *blank = 0;
    if (connect(opt, opt->filename, output_log(out, LOGGER_LOADER), &dev, mac, err))
        return -1;
    *flash = &dev->flash;
    report_device(out, "device", opt->filename, dev, mac);
    const struct chip *chip = dev->loader->chip;
    struct error why;
    if (firmware_load(fw, *flash, chip, allow_blank ? &why : err)) {
        if (!allow_blank)
            return -1;
        log_printf(log, LOG_INFO,
                   "Found %s device (%" PRIu32 "MB flash) without a firmware: %.*s", chip->name,
                   dev->flash.size / MIB, (int)strcspn(why.msg, "\n"), why.msg);
        board_blank_firmware(fw, *flash, chip);
        *blank = 1;
        return 0;
    }
    uint32_t header_size = image_flash_size_bytes(fw->header.flash_size_id);
    log_printf(log, LOG_INFO, "Found %s device (%" PRIu32 "MB flash).", fw->chip->name,
               header_size / MIB);
    if (fw->chip != chip)
        log_printf(log, LOG_ERROR,
                   "Detected device chip type (%s) is different from firmware bootloader (%s).",
                   chip->name, fw->chip->name);
    if (dev->flash.size != header_size)
        log_printf(log, LOG_WARNING,
                   "Detected flash size (%" PRIu32 "MB) is different from firmware bootloader "
                   "(%" PRIu32
                   "MB).\n  Use the '-f' option to change the size in the bootloader.",
                   dev->flash.size / MIB, header_size / MIB);
    return 0;
}

int board_flash_firmware(const struct tool_options *opt, struct firmware *source,
                         struct output *out, struct error *err)
{
    const struct log *log = output_log(out, LOGGER_MAIN);
    const struct log *fw_log = output_log(out, LOGGER_FIRMWARE);
    const char *port = opt->flash_device;
    log_printf(log, LOG_INFO, "Opening device '%s' for flashing...", port);
    if (!opt->flash_is_device)
        return error_setk(err, ERROR_VALUE, "Flashing requires a device, not a firmware file.");
    struct flash_device *dev;
    char mac[18];
    if (connect(opt, port, output_log(out, LOGGER_LOADER), &dev, mac, err))
        return -1;
    struct flash *flash = &dev->flash;
    const struct chip *chip = dev->loader->chip;
    report_device(out, "flash_device", port, dev, mac);
    log_printf(log, LOG_INFO, "Found %s device (%" PRIu32 "MB flash).", chip->name,
               flash->size / MIB);
    const char *drop[PTABLE_MAX_ENTRIES];
    int ndrop = 0;
    for (int i = 0; i < opt->erase_fs.count && ndrop < PTABLE_MAX_ENTRIES; i++)
        drop[ndrop++] = opt->erase_fs.items[i].fields[0];
    struct migrate_options mo = {.drop = drop, .drop_count = ndrop};
    struct migrate_plan plan;
    int rc = firmware_plan_copy(source, flash, chip, &mo, &plan, fw_log, err);
    if (rc == 0) {
        struct board_backup keep;
        struct firmware_backup backup = board_backup_callbacks(&keep, fw_log);
        rc = firmware_apply_copy(source, flash, &plan, &backup, fw_log, err);
        migrate_free(&plan);
    }
    if (rc == 0 && out->json) {
        /* every write was read back by MD5 before this point (src/loader) */
        struct json *j = json_report_facts(out->json);
        json_object_begin(j, "flashed");
        json_string(j, "port", port);
        json_bool(j, "verified", 1);
        json_object_end(j);
    }
    if (rc == 0 && opt->no_reset)
        log_printf(log, LOG_INFO, "Leaving device in bootloader mode...");
    flash_close(flash);
    return rc;
}

int board_info(const struct tool_options *opt, struct output *out, struct error *err)
{
    const struct log *log = &out->log;
    if (!opt->is_device)
        return error_setk(err, ERROR_VALUE, "--info needs a board, not a file ('%s')",
                          opt->filename);
    struct flash_device *dev;
    char mac[18];
    if (connect(opt, opt->filename, log, &dev, mac, err))
        return -1;
    struct loader_chip_info ci;
    int rc = loader_chip_info(dev->loader, &ci, err);
    if (rc == 0) {
        if (ci.have_revision)
            log_printf(log, LOG_OUTPUT, "Chip: %s (revision v%u.%u)", ci.chip->description,
                       ci.rev_major, ci.rev_minor);
        else
            log_printf(log, LOG_OUTPUT, "Chip: %s (secure download mode: eFuses not readable)",
                       ci.chip->description);
        log_printf(log, LOG_OUTPUT, "Features: %s", ci.features);
        if (ci.crystal_mhz)
            log_printf(log, LOG_OUTPUT, "Crystal: %" PRIu32 " MHz", ci.crystal_mhz);
        const uint8_t *m = ci.mac;
        if (ci.have_mac_ext) {
            /* EUI-64: MAC_EXT between the OUI and the device part */
            log_printf(log, LOG_OUTPUT, "MAC: %02x:%02x:%02x:%02x:%02x:%02x:%02x:%02x", m[0],
                       m[1], m[2], ci.mac_ext[0], ci.mac_ext[1], m[3], m[4], m[5]);
            log_printf(log, LOG_OUTPUT, "Base MAC: %02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1],
                       m[2], m[3], m[4], m[5]);
        } else if (ci.have_mac) {
            log_printf(log, LOG_OUTPUT, "MAC: %02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2],
                       m[3], m[4], m[5]);
        }
        /* JEDEC id bytes: manufacturer, memory type, capacity (esp-serial-protocol §10) */
        log_printf(log, LOG_OUTPUT,
                   "Flash manufacturer: 0x%02" PRIx32 ", device: 0x%02" PRIx32 "%02" PRIx32,
                   ci.flash_id & 0xFF, ci.flash_id >> 8 & 0xFF, ci.flash_id >> 16 & 0xFF);
        if (ci.flash_size)
            log_printf(log, LOG_OUTPUT, "Flash size: %" PRIu32 "MB", ci.flash_size / MIB);
        else
            log_printf(log, LOG_OUTPUT, "Flash size: unknown");
        if (ci.security_flags)
            log_printf(log, LOG_OUTPUT, "Security flags: 0x%08" PRIx32, ci.security_flags);
    }
    if (opt->no_reset)
        log_printf(log, LOG_INFO, "Leaving device in bootloader mode...");
    flash_close(&dev->flash);
    return rc;
}
