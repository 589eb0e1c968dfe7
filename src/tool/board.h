/* Boards (serial-attached chips) as the pipeline opens them. */
#ifndef MP_TOOL_BOARD_H
#define MP_TOOL_BOARD_H

#include "firmware/firmware.h"
#include "tool/args.h"
#include "tool/output.h"

/* Connect to the board named by opt->filename and load its firmware through a device flash.
 * allow_blank: a board without a firmware (erased, or no table) is opened anyway, *blank set
 * and fw filled by board_blank_firmware, for runs that address the flash directly. */
int board_open(const struct tool_options *opt, struct output *out, struct flash **flash,
               struct firmware *fw, int allow_blank, int *blank, struct error *err);
/* The chip a board's flash (from board_open) was detected as. */
const struct chip *board_chip(struct flash *flash);
/* A firmware with no table on a board's flash: its chip's bootloader offset and image id. */
void board_blank_firmware(struct firmware *fw, struct flash *flash, const struct chip *chip);
/* Write the (possibly modified) firmware to the device named by --flash. */
int board_flash_firmware(const struct tool_options *opt, struct firmware *source,
                         struct output *out, struct error *err);

/* --info: the board's chip, revision, features, crystal, MAC and flash chip (esptool's chip_id
 * and flash_id), printed as requested output. Needs no firmware on the board. */
int board_info(const struct tool_options *opt, struct output *out, struct error *err);

#endif
