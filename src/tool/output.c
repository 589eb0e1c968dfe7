#include "tool/output.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "util/strbuf.h"

const struct output_logger_info output_loggers[LOGGER_COUNT] = {
    [LOGGER_MAIN] = {"main", "what the program does: opening, tables, outputs"},
    [LOGGER_LOADER] = {"loader", "the serial line and the chip: reset, stub, baud, retries"},
    [LOGGER_FIRMWARE] = {"firmware", "tables, partition data and images: layout changes, "
                                     "erases, image checks"},
    [LOGGER_FS] = {"fs", "the --fs commands and a board's filesystem usage"},
    [LOGGER_OTA] = {"ota", "--ota-update"},
};

static const char *const level_names[] = {
    [LOG_DEBUG] = "debug",     [LOG_INFO] = "info",   [LOG_ACTION] = "action",
    [LOG_WARNING] = "warning", [LOG_ERROR] = "error", [LOG_OUTPUT] = "output",
};

int output_logger_find(const char *name)
{
    for (int i = 0; i < LOGGER_COUNT; i++)
        if (strcmp(name, output_loggers[i].name) == 0)
            return i;
    return -1;
}

int output_level_parse(const char *name, enum log_level *level)
{
    for (int i = LOG_DEBUG; i <= LOG_ERROR; i++)
        if (strcasecmp(name, level_names[i]) == 0) {
            *level = (enum log_level)i;
            return 0;
        }
    return -1;
}

const char *output_level_name(enum log_level level)
{
    return level <= LOG_OUTPUT ? level_names[level] : "?";
}

static void emit(void *ctx, enum log_level level, const char *text)
{
    struct output_logger_ctx *c = ctx;
    output_logger_line(c->output, c->logger, level, text);
}

void output_init(struct output *o, FILE *out, FILE *err)
{
    memset(o, 0, sizeof *o);
    o->out = out;
    o->err = err;
    int tty = isatty(fileno(out));
    const char *no_colour = getenv("NO_COLOR");
    o->colour = tty && !(no_colour && *no_colour);
    o->box = tty;
    for (int i = 0; i < LOGGER_COUNT; i++) {
        o->levels[i] = -1;
        o->logger_ctx[i] = (struct output_logger_ctx){o, (enum output_logger)i};
        o->logs[i] = (struct log){emit, &o->logger_ctx[i]};
    }
    o->log = o->logs[LOGGER_MAIN];
}

const struct log *output_log(struct output *o, enum output_logger logger)
{
    return &o->logs[logger];
}

enum log_level output_threshold(const struct output *o, enum output_logger logger)
{
    if (o->levels[logger] >= 0)
        return (enum log_level)o->levels[logger];
    return o->quiet ? LOG_ERROR : o->debug ? LOG_DEBUG : LOG_INFO;
}

/* Errors and the output asked for show whatever the levels say: -q and --log hide
 * narration, never a failure. */
static int shown(const struct output *o, enum output_logger logger, enum log_level level)
{
    if (level == LOG_OUTPUT || level == LOG_ERROR)
        return 1;
    return level >= output_threshold(o, logger);
}

static const char *colour_of(enum log_level level)
{
    switch (level) {
    case LOG_ACTION: return "\033[32m";  /* green */
    case LOG_WARNING: return "\033[33m"; /* yellow */
    case LOG_ERROR: return "\033[31m";   /* red */
    case LOG_DEBUG: return "\033[35m";   /* magenta */
    default: return NULL;
    }
}

/* Text as it may reach a terminal: names from images and filesystems carry no control codes
 * (our own colours are added around it). one_line: a line break inside the text is shown
 * escaped too (requested output, such as a listing, is one record per line). */
static void put_printable(FILE *f, const char *text, int one_line)
{
    struct strbuf sb = {0};
    const char *p = text;
    size_t n;
    while (one_line && p[n = strcspn(p, "\n\r")]) {
        strbuf_add_printable(&sb, p, n);
        strbuf_printf(&sb, "\\x%02x", (unsigned char)p[n]);
        p += n + 1;
    }
    strbuf_add_printable(&sb, p, strlen(p));
    fputs(strbuf_str(&sb), f);
    strbuf_free(&sb);
}

void output_line(struct output *o, enum log_level level, const char *text)
{
    output_logger_line(o, LOGGER_MAIN, level, text);
}

void output_logger_line(struct output *o, enum output_logger logger, enum log_level level,
                        const char *text)
{
    if (o->json) {
        json_report_line(o->json, output_loggers[logger].name, level, text,
                         shown(o, logger, level));
        return;
    }
    if (!shown(o, logger, level))
        return;
    const char *c = o->colour ? colour_of(level) : NULL;
    if (c)
        fputs(c, o->out);
    put_printable(o->out, text, level == LOG_OUTPUT);
    fputs(c ? "\033[0m\n" : "\n", o->out);
}

void output_block(struct output *o, enum log_level level, const char *text)
{
    output_logger_block(o, LOGGER_MAIN, level, text);
}

void output_logger_block(struct output *o, enum output_logger logger, enum log_level level,
                         const char *text)
{
    if (!shown(o, logger, level) || o->json)
        return;
    put_printable(o->out, text, 0);
}

void output_error(struct output *o, const struct error *e)
{
    if (o->json)
        json_report_error(o->json, e);
    fflush(o->out);
    fprintf(o->err, "%s%s: ", o->colour ? "\033[31m" : "", error_kind_name(e->kind));
    put_printable(o->err, e->msg, 0);
    fputs(o->colour ? "\033[0m\n" : "\n", o->err);
}

int output_close(struct output *o)
{
    /* A closed pipe or a full disk on stdout: say so instead of exiting as if all was shown. */
    if (fflush(o->out) == 0 && !ferror(o->out))
        return 0;
    int e = errno;
    fprintf(o->err, "Error: writing to standard output: %s\n", strerror(e ? e : EIO));
    return -1;
}
