#include "tool/output.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/strbuf.h"

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
    if (!shown(o, level))
        return;
    const char *c = o->colour ? colour_of(level) : NULL;
    if (c)
        fputs(c, o->out);
    put_printable(o->out, text, level == LOG_OUTPUT);
    fputs(c ? "\033[0m\n" : "\n", o->out);
}

void output_block(struct output *o, enum log_level level, const char *text)
{
    if (!shown(o, level))
        return;
    put_printable(o->out, text, 0);
}

void output_error(struct output *o, const struct error *e)
{
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
