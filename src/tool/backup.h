/* The local backup of a board's data while a layout change moves it: a whole-flash image in
 * the current folder ("mp-backup-YYYYmmdd-HHMMSS.bin"), removed once the board has verified
 * the new data and table, kept (and named in an error line) if anything fails. */
#ifndef MP_TOOL_BACKUP_H
#define MP_TOOL_BACKUP_H

#include "firmware/firmware.h"

struct board_backup {
    const struct log *log;
    char path[64];
    int saved;
};

/* Callbacks for firmware_apply_layout / firmware_apply_copy writing through `b`. */
struct firmware_backup board_backup_callbacks(struct board_backup *b, const struct log *log);

#endif
