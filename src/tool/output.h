/* Where the program's messages go: the log sink that honours -q and -d, colours on a terminal,
 * the choice between box and plain tables, and control characters escaped in everything shown
 * (except the bytes of `--fs cat`). */
#ifndef MP_TOOL_OUTPUT_H
#define MP_TOOL_OUTPUT_H

#include <stdio.h>

#include "util/error.h"
#include "util/log.h"

struct output {
    FILE *out;   /* messages, tables, command output */
    FILE *err;   /* error lines */
    int quiet;   /* only errors and requested output */
    int debug;   /* also debug lines */
    int colour;  /* ANSI colours (a terminal, and NO_COLOR unset) */
    int box;     /* box tables (a terminal, unless --plain) */
    struct log log; /* hands lines to output_line */
};

/* Set up for the given streams: colours and box tables when `out` is a terminal. */
void output_init(struct output *o, FILE *out, FILE *err);
void output_line(struct output *o, enum log_level level, const char *text);
/* Text that already ends in newlines (tables), shown unless quiet. */
void output_block(struct output *o, enum log_level level, const char *text);
/* "<Kind>: <message>" on the error stream. */
void output_error(struct output *o, const struct error *e);
/* Flush the output stream at the end of a run; -1 (with an error line) when what was printed
 * did not all arrive (a closed pipe, a full disk). */
int output_close(struct output *o);

#endif
