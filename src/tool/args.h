/* The command line of mp-image-tool-esp32 (seed-spec §1): the option table, and a parser that
 * behaves like the Python tool's argparse parser wherever users can see it (prefix matching,
 * clustered short flags, "--", greedy --fs, the exact usage block and error texts). The parser
 * is a library function: it never prints and never exits; it fills struct tool_options or
 * returns the text to print and the exit status. */
#ifndef MP_TOOL_ARGS_H
#define MP_TOOL_ARGS_H

#include <stddef.h>
#include <stdint.h>

#include "tool/values.h"
#include "util/strbuf.h"

/* Table style requested on the command line (--plain / --box); the default chooses box tables
 * on a terminal and plain ones otherwise. */
enum table_style {
    TABLE_STYLE_AUTO = 0,
    TABLE_STYLE_PLAIN,
    TABLE_STYLE_BOX,
};

/* One --fs occurrence: the command word and its arguments. */
struct wordlist {
    char **words;
    int count; /* at least 1 */
};

/* Everything the command line says. Strings are owned (args_free releases them); NULL or a
 * zero count means "not given". Where the Python tool tests a value for truth (`if
 * args.flash_size:`), 0 means "not given" here too, and an empty -o, --ota-update, --from-csv
 * or --flash value is NULL. */
struct tool_options {
    char *filename;       /* after short-name expansion (u0 -> /dev/ttyUSB0, §1.5) */
    char *filename_given; /* as typed */
    int is_device;        /* filename names a device (/dev/..., COM..., rfc2217://, socket://) */

    char *output;         /* -o/--output FILE */
    int quiet;            /* -q */
    int no_reset;         /* -n */
    int extract_app;      /* -x */
    int64_t flash_size;   /* -f SIZE (0: not given) */
    int64_t app_size;     /* -a SIZE (0: not given) */
    char *method;         /* -m METHOD: direct (the default), command or subprocess */
    int debug;            /* -d */
    struct arglist log;   /* --log NAME=LEVEL,...; log.text is the value as given; every
                           * NAME is a logger (tool/output.h) with a known level, or a word
                           * args_log_lists() accepts */
    int check_app;        /* --check-app */
    int no_rollback;      /* --no-rollback */
    int64_t baud;         /* --baud RATE as given (default 921600); see value_round_baud() */
    int no_stub;          /* --no-stub */
    char *ota_update;     /* --ota-update FILE */
    char *from_csv;       /* --from-csv FILE */
    struct partlist table;  /* --table */
    struct arglist delete_; /* --delete */
    struct partlist add;    /* --add */
    struct partlist resize; /* --resize */
    struct arglist rename;  /* --rename */
    struct arglist erase;   /* --erase */
    struct arglist erase_fs; /* --erase-fs */
    struct arglist read;    /* --read */
    struct arglist write;   /* --write */
    char *flash_device;     /* --flash DEVICE, expanded like filename */
    int flash_is_device;    /* value_is_device(flash_device) */
    int trimblocks;         /* --trimblocks */
    int trim;               /* --trim */
    struct wordlist *fs;    /* each --fs occurrence, in command-line order */
    int fs_count;
    struct wordlist *nvs; /* each --nvs occurrence, in command-line order */
    int nvs_count;
    int table_style;        /* enum table_style: --plain / --box (the last one given wins) */
    int force;              /* --force: write firmware images that fail their checks */
    int json;               /* --json: one JSON document on stdout instead of text */
    /* Several boards in one run: the words naming them (more than one device as filename or
     * after --flash, or the word "all"), as indices into argv, so that each board's run is
     * this command line with one of them (src/tool/fleet.c). None: one board at most. */
    int *board_words;
    int board_word_count;
    int boards_after_flash; /* the words follow --flash (else they are the filename) */
    int ota_show;           /* --ota-show: print both otadata records */
    char *ota_select;       /* --ota-select NAME: make an app boot without an upload */
    int ota_erase;          /* --ota-erase: erase otadata */
    int64_t new_littlefs;   /* --new-littlefs SIZE: create filename as a bare littlefs image */
    int64_t fs_block_size;  /* --fs-block-size SIZE: its block size (0: MicroPython's) */
    struct arglist merge;   /* --merge FILE@ADDR,...: the firmware built from split images */
    char *flash_mode;       /* --flash-mode MODE: header flash mode set by --merge */
    char *flash_freq;       /* --flash-freq FREQ: header flash frequency set by --merge */
    int list_ports;         /* --list-ports */
    int info;               /* --info: the board's chip, eFuses and flash, then stop */
};

/* What args_parse() found. The values double as exit statuses where that makes sense. */
enum args_result {
    ARGS_RUN = 0,   /* options filled in: run the tool */
    ARGS_EXIT = 1,  /* help or version text in *message: print it on stdout, exit status 0 */
    ARGS_ERROR = 2, /* usage block and error line in *message: print on stderr, exit status 2 */
};

/* Settings of the parser that come from the environment. */
struct args_context {
    const char *version; /* printed by --version; NULL: "unknown" */
    int columns;         /* terminal width for usage/help wrapping; <= 0: 80 (argparse's default) */
};

/* Parse argv[1..argc-1] (argv[0] is the program and is ignored). On ARGS_RUN *opt is filled
 * (release it with args_free); otherwise *opt is left empty and *message (appended to, caller
 * frees) holds what to print. ctx may be NULL. */
int args_parse(int argc, char *const argv[], const struct args_context *ctx,
               struct tool_options *opt, struct strbuf *message);
/* Whether a --log item of one word asks for the list of loggers ("list", "show", "help"). */
int args_log_lists(const char *name);
/* The command line names several boards (or "all"): the run is one child run per board. */
int args_several_boards(const struct tool_options *opt);
/* A word that names a board where several are accepted: a device (after short-name
 * expansion) or "all", every ESP-looking USB port. */
int args_is_board_word(const char *word);
/* Release everything in *opt and zero it; safe on a zeroed or already freed struct. */
void args_free(struct tool_options *opt);

/* The usage block ("usage: mp-image-tool-esp32 [-h] ...\n"), wrapped as argparse wraps it for
 * the given terminal width (80 columns gives §1.1 exactly). */
void args_usage(int columns, struct strbuf *out);
/* The full -h text: usage, description, every option, epilog. */
void args_help(int columns, struct strbuf *out);
/* The terminal width as Python's shutil.get_terminal_size() finds it: $COLUMNS when a positive
 * number, else the width of stdout when a terminal, else 80. */
int args_terminal_columns(void);

/* ---- the option table (data; args.c defines it) ---- */

enum args_kind {
    ARGS_FLAG,     /* no value: stores `flag_value` into an int field */
    ARGS_VALUE,    /* one value; giving the option again replaces it */
    ARGS_WORDS,    /* one or more following words per occurrence; occurrences accumulate (--fs) */
    ARGS_HELP,     /* -h: help text, exit 0 */
    ARGS_VERSION,  /* --version: version text, exit 0 */
};

enum args_type {
    ARGS_NONE,     /* flags */
    ARGS_STRING,   /* char * */
    ARGS_DEVICE,   /* char *, short device names expanded (§1.5) */
    ARGS_SIZE,     /* int64_t, "IntArg" (§1.4) */
    ARGS_ARGLIST,  /* struct arglist */
    ARGS_PARTLIST, /* struct partlist */
};

struct args_option {
    char short_name;       /* 0: none */
    const char *long_name; /* with the leading "--" */
    const char *metavar;   /* as shown in usage and help; NULL for flags */
    enum args_kind kind;
    enum args_type type;
    size_t field;          /* offsetof(struct tool_options, ...) */
    int flag_value;        /* ARGS_FLAG: the value stored */
    int extension;         /* not in the Python tool: left out of the usage line, and matched
                            * by abbreviation only where no Python-tool option matches */
    const char *help;
};

extern const struct args_option args_options[];
extern const int args_option_count;

#endif
