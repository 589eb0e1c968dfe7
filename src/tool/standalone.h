/* Inputs that are not a whole firmware: a bare partition table (binary or CSV), an app image
 * and a bare littlefs image, each told apart by its content, and what the tool does with each
 * (show it, convert it, run --fs commands on it). */
#ifndef MP_TOOL_STANDALONE_H
#define MP_TOOL_STANDALONE_H

#include <stddef.h>
#include <stdint.h>

#include "tool/args.h"
#include "tool/output.h"

enum input_kind {
    INPUT_FIRMWARE,     /* a bootloader at the chip's offset or at 0 (a whole-flash dump) */
    INPUT_TABLE,        /* a partition table binary (gen_esp32part output) */
    INPUT_CSV,          /* a partition table as CSV text */
    INPUT_APP,          /* an app image (micropython.bin of a build) */
    INPUT_LITTLEFS,     /* a littlefs image (mklittlefs output, a vfs partition read out) */
    INPUT_FLASHER_ARGS, /* ESP-IDF's build/flasher_args.json */
};

/* What the bytes of a file are; INPUT_FIRMWARE when nothing else fits (the firmware reader
 * then says what is wrong). */
enum input_kind input_kind_of(const uint8_t *data, size_t len);
/* "partition table", "app image", ... for messages. */
const char *input_kind_name(enum input_kind kind);

/* Run the tool on opt->filename when it is a standalone input (or --new-littlefs creates
 * one). *handled says whether it was: 0 leaves the run to the firmware pipeline (a firmware,
 * a whole-flash dump, a flasher_args.json, a device). Returns 0, or -1 with err set. */
int standalone_run(const struct tool_options *opt, struct output *out, int *handled,
                   struct error *err);

#endif
