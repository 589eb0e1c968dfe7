/* Where the program's messages go: the log sink that honours -q and -d, colours on a terminal,
 * the choice between box and plain tables, and control characters escaped in everything shown
 * (except the bytes of `--fs cat`). */
#ifndef MP_TOOL_OUTPUT_H
#define MP_TOOL_OUTPUT_H

#include <stdio.h>

#include "tool/jsonreport.h"
#include "util/error.h"
#include "util/log.h"

/* The named loggers of --log NAME=LEVEL: the parts of the program whose lines can be shown or
 * hidden separately. Each library module narrates through the log its caller hands it, so a
 * logger is the part of the pipeline that hands it out. */
enum output_logger {
    LOGGER_MAIN,     /* the pipeline's own lines: opening, tables, what is written where */
    LOGGER_LOADER,   /* the serial line and the chip: connecting, resets, stub, baud, retries */
    LOGGER_FIRMWARE, /* tables, partition data and images: layout changes, carrying data,
                      * erasing, image checks */
    LOGGER_FS,       /* the --fs commands and the filesystem usage shown for a board */
    LOGGER_OTA,      /* --ota-update */
    LOGGER_COUNT
};

struct output_logger_info {
    const char *name;
    const char *what;
};
extern const struct output_logger_info output_loggers[LOGGER_COUNT];

/* The logger of that name (exact, lower case), or -1. */
int output_logger_find(const char *name);
/* A level name as --log takes it (debug, info, action, warning, error; any case): 0 and *level
 * set, or -1. */
int output_level_parse(const char *name, enum log_level *level);
const char *output_level_name(enum log_level level);

struct output;
struct output_logger_ctx {
    struct output *output;
    enum output_logger logger;
};

struct output {
    FILE *out;   /* messages, tables, command output */
    FILE *err;   /* error lines */
    int quiet;   /* only errors and requested output */
    int debug;   /* also debug lines */
    int colour;  /* ANSI colours (a terminal, and NO_COLOR unset) */
    int box;     /* box tables (a terminal, unless --plain) */
    struct log log; /* the main logger: hands lines to output_line */
    /* --log NAME=LEVEL: the lowest level each logger shows; -1: as -q and -d say */
    int levels[LOGGER_COUNT];
    struct log logs[LOGGER_COUNT];
    struct output_logger_ctx logger_ctx[LOGGER_COUNT];
    /* --json: lines and facts go here, nothing is printed on `out` but the document */
    struct json_report *json;
};

/* Set up for the given streams: colours and box tables when `out` is a terminal. */
void output_init(struct output *o, FILE *out, FILE *err);
/* The log of one logger (valid as long as o). */
const struct log *output_log(struct output *o, enum output_logger logger);
/* The lowest level a logger shows now (errors and requested output always show). */
enum log_level output_threshold(const struct output *o, enum output_logger logger);
/* A line of the main logger. */
void output_line(struct output *o, enum log_level level, const char *text);
void output_logger_line(struct output *o, enum output_logger logger, enum log_level level,
                        const char *text);
/* Text that already ends in newlines (tables), shown as the main logger's level says. */
void output_block(struct output *o, enum log_level level, const char *text);
void output_logger_block(struct output *o, enum output_logger logger, enum log_level level,
                         const char *text);
/* "<Kind>: <message>" on the error stream. */
void output_error(struct output *o, const struct error *e);
/* Flush the output stream at the end of a run; -1 (with an error line) when what was printed
 * did not all arrive (a closed pipe, a full disk). */
int output_close(struct output *o);

#endif
