/* Boards (serial-attached chips) as the pipeline opens them. */
#ifndef MP_TOOL_BOARD_H
#define MP_TOOL_BOARD_H

#include "firmware/firmware.h"
#include "tool/args.h"
#include "tool/output.h"

/* Connect to the board named by opt->filename and load its firmware through a device flash. */
int board_open(const struct tool_options *opt, struct output *out, struct flash **flash,
               struct firmware *fw, struct error *err);
/* Write the (possibly modified) firmware to the device named by --flash. */
int board_flash_firmware(const struct tool_options *opt, struct firmware *source,
                         struct output *out, struct error *err);

#endif
