/* A firmware built from the split images of an ESP-IDF build: the pairs of --merge
 * (FILE@ADDR,...) or the build's flasher_args.json, merged as esptool merge_bin does
 * (src/esp/merge.h) and opened as a whole-flash firmware for the rest of the run. */
#ifndef MP_TOOL_MERGEGLUE_H
#define MP_TOOL_MERGEGLUE_H

#include "flash/flash.h"
#include "tool/args.h"
#include "util/error.h"
#include "util/log.h"

/* Whether this run merges (--merge given, or FILENAME is a flasher_args.json). */
int mergeglue_wanted(const struct tool_options *opt);
/* Build the merged image into img (based at flash address 0, as merge_bin's default). */
int mergeglue_open(const struct tool_options *opt, const struct log *log, struct flash_image *img,
                   struct error *err);

#endif
