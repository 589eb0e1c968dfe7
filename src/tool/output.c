#include "tool/output.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void emit(void *ctx, enum log_level level, const char *text)
{
    output_line(ctx, level, text);
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
    o->log.emit = emit;
    o->log.ctx = o;
}

static int shown(const struct output *o, enum log_level level)
{
    if (level == LOG_OUTPUT || level == LOG_ERROR)
        return 1;
    if (o->quiet)
        return 0;
    return level != LOG_DEBUG || o->debug;
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

void output_line(struct output *o, enum log_level level, const char *text)
{
    if (!shown(o, level))
        return;
    const char *c = o->colour ? colour_of(level) : NULL;
    if (c)
        fprintf(o->out, "%s%s\033[0m\n", c, text);
    else
        fprintf(o->out, "%s\n", text);
}

void output_block(struct output *o, enum log_level level, const char *text)
{
    if (!shown(o, level))
        return;
    fputs(text, o->out);
}

void output_error(struct output *o, const struct error *e)
{
    fflush(o->out);
    if (o->colour)
        fprintf(o->err, "\033[31m%s: %s\033[0m\n", error_kind_name(e->kind), e->msg);
    else
        fprintf(o->err, "%s: %s\n", error_kind_name(e->kind), e->msg);
}
