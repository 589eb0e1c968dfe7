/* The --fs commands as the pipeline runs them. */
#ifndef MP_TOOL_FSGLUE_H
#define MP_TOOL_FSGLUE_H

#include <string.h>

#include "firmware/firmware.h"
#include "tool/args.h"
#include "tool/output.h"

/* Whether any --fs command changes the filesystem (the firmware then needs writing out). */
int fs_commands_modify(const struct tool_options *opt);
/* The littlefs usage table of every filesystem partition (printed when opening a device). */
int fs_df_report(struct firmware *fw, struct output *out, struct error *err);
/* Run one --fs command; *changed tells whether flash was modified. The MicroPython version of
 * the firmware (NULL if unknown) decides the littlefs disk version mkfs writes; get never
 * replaces the local file `protect` (the input firmware; NULL: none). */
int fs_command(struct firmware *fw, const char *micropython_version, const struct wordlist *cmd,
               const char *protect, struct output *out, int *changed, struct error *err);
/* The same on any flash whose partitions a table gives (a bare littlefs image: one partition
 * over the whole file), with littlefs blocks of block_size bytes (0: MicroPython's). */
int fs_command_on(struct flash *flash, const struct ptable *table, uint32_t block_size,
                  const char *version, const struct wordlist *cmd, const char *protect,
                  struct output *out, int *changed, struct error *err);

#endif
