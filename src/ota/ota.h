/* Over-the-air style updates through the flash interface: which app boots now and next
 * (ESP-IDF's rules), and writing a new app into the next OTA slot followed by otadata. */
#ifndef MP_OTA_OTA_H
#define MP_OTA_OTA_H

#include <stddef.h>
#include <stdint.h>

#include "esp/otadata.h"
#include "esp/ptable.h"
#include "firmware/firmware.h"
#include "util/error.h"
#include "util/log.h"

#define OTA_MAX_SLOTS 16

struct ota_status {
    int has_otadata;                 /* 0: no data/ota partition (nothing else is filled) */
    struct partition otadata;
    int slot_count;
    struct partition slots[OTA_MAX_SLOTS]; /* ota_0, ota_1, ... by subtype */
    int current;                     /* index into slots, -1 = the factory app */
    int next;                        /* the slot an update writes to */
    char current_name[PTABLE_LABEL_MAX + 1];
    char next_name[PTABLE_LABEL_MAX + 1];
    struct otadata_boot boot; /* both records as found, and which one is active */
};

/* Read otadata and work out the current and next boot partitions. Errors for fewer than two
 * OTA slots or slots that are not ota_0, ota_1, ... in order. */
int ota_status_read(struct firmware *fw, struct ota_status *status, struct error *err);

/* Whether app is an app image this firmware can install: -1 (error set) when it is not one or
 * is for another chip (never installable), 1 (error set: what is wrong) when it is broken (cut
 * off, checksum, SHA-256 digest missing or wrong: --force may override), 0 when it is fine. */
int ota_check_app(struct firmware *fw, const uint8_t *app, size_t len, struct error *err);

/* Write app (a complete app image for the firmware's chip: validated first) into the next
 * slot, then select that slot in otadata with state NEW (rollback: the app must confirm itself)
 * or UNDEFINED (no rollback). The app is fully written before otadata changes. The app is
 * checked first (ota_check_app); force writes a broken one anyway, for experts. */
int ota_update(struct firmware *fw, const uint8_t *app, size_t len, int rollback, int force,
               const struct log *log, struct error *err);

/* Make an app boot from the next reset without installing anything (otatool's
 * switch_ota_partition): `name` is an OTA slot's partition name or number ("ota_1", "1"), or
 * the factory app. The app there must be a complete image for the firmware's chip (a broken one
 * only with force). A slot is selected with a new record in the otadata sector that does not
 * hold the active one, state NEW (rollback: the app must confirm itself) or UNDEFINED; the
 * factory app by erasing otadata. Nothing changes when the app boots already and confirmed. */
int ota_select(struct firmware *fw, const char *name, int rollback, int force,
               const struct log *log, struct error *err);

/* Erase otadata (otatool's erase_otadata): the factory app boots next, or ota_0 without one.
 * The sector without the active record is erased first, so a power cut leaves the old choice
 * or none. */
int ota_erase(struct firmware *fw, const struct log *log, struct error *err);

#endif
