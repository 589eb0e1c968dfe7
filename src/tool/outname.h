/* Output file names, planned from the command line before anything runs (seed-spec §7.1): a
 * changed firmware file goes to -o FILE or to the input's name with the changes added
 * ("fw-8MB-resize=vfs.bin"); an extracted app to -o FILE or "<input>.app-bin". */
#ifndef MP_TOOL_OUTNAME_H
#define MP_TOOL_OUTNAME_H

#include "tool/args.h"

/* The firmware file a run on a file writes in *name (free it), or NULL when it writes none
 * (no change and no -o). Option values go into the name with '/' and '\' replaced by '_', so
 * the output stays in the current directory. Returns -1 when out of memory. */
int outname_firmware(const struct tool_options *opt, char **name);
/* The file -x writes. Free the result. */
char *outname_app(const struct tool_options *opt);

#endif
