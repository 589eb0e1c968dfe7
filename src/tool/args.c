/* The option parser. It reproduces Python argparse (as used by the Python tool, checked against
 * Python 3.11) where users can see it: classification of every word as option or argument
 * before anything is consumed, unique-prefix long options, "--opt=value", "-fVALUE", clustered
 * short flags, "--", greedy one-or-more --fs, conversion of values when their option is taken,
 * and argparse's error texts. The option table is in args_table.c, the usage block and --help in
 * args_help.c. */
#include "tool/args.h"

#include <stdlib.h>
#include <string.h>

#include "fs/fs.h"
#include "tool/args_internal.h"
#include "tool/nvsglue.h"
#include "tool/output.h"
#include "util/check.h"

/* Python's repr() of a str, as argparse shows values in messages: quotes chosen like Python,
 * control characters and invalid UTF-8 escaped. */
static void py_repr(const char *s, struct strbuf *out)
{
    char quote = strchr(s, '\'') && !strchr(s, '"') ? '"' : '\'';
    strbuf_add(out, &quote, 1);
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned char c = *p;
        if (c == '\\' || c == (unsigned char)quote) {
            strbuf_printf(out, "\\%c", c);
            p++;
        } else if (c == '\t') {
            strbuf_puts(out, "\\t"), p++;
        } else if (c == '\n') {
            strbuf_puts(out, "\\n"), p++;
        } else if (c == '\r') {
            strbuf_puts(out, "\\r"), p++;
        } else if (c < 0x20 || c == 0x7f) {
            strbuf_printf(out, "\\x%02x", c), p++;
        } else if (c < 0x80) {
            strbuf_add(out, (const char *)p, 1), p++;
        } else {
            /* A valid UTF-8 sequence is shown as is, except the C1 controls and the no-break
             * space, which Python escapes; an undecodable byte becomes a surrogate escape. */
            int n = c >= 0xf0 && c < 0xf5 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
            int ok = n > 0;
            for (int i = 1; ok && i < n; i++)
                ok = (p[i] & 0xc0) == 0x80;
            if (ok && n == 3) {
                unsigned cp = ((c & 0x0fu) << 12) | ((p[1] & 0x3fu) << 6) | (p[2] & 0x3fu);
                ok = cp >= 0x800 && !(cp >= 0xd800 && cp <= 0xdfff);
            } else if (ok && n == 4) {
                unsigned cp = ((c & 0x07u) << 18) | ((p[1] & 0x3fu) << 12);
                ok = cp >= 0x10000 && cp <= 0x10ffff;
            }
            if (!ok) {
                strbuf_printf(out, "\\udc%02x", c);
                p++;
                continue;
            }
            if (n == 2) {
                unsigned cp = ((c & 0x1fu) << 6) | (p[1] & 0x3fu);
                if (cp <= 0xa0 || cp == 0xad) {
                    strbuf_printf(out, "\\x%02x", cp);
                    p += 2;
                    continue;
                }
            }
            strbuf_add(out, (const char *)p, (size_t)n);
            p += n;
        }
    }
    strbuf_add(out, &quote, 1);
}

/* ---- parsing ---- */

/* What one command-line word is, decided before anything is consumed (as argparse does). */
struct word {
    char pattern;         /* 'O' option, 'A' argument, '-' the first "--" */
    int option;           /* index into args_options; -1 for an unknown option */
    int as_short;         /* the option was written in its short form */
    const char *explicit; /* text after '=' or after the short option letter; NULL if none */
};

struct parser {
    int argc;
    char *const *argv; /* the words (argv + 1) */
    struct word *words;
    const struct args_context *ctx;
    struct tool_options *opt;
    struct strbuf *message;
    int have_filename;
    int filename_word; /* index of the filename in argv */
    int out_of_memory;
    struct strbuf extras;
    int extras_count;
};

static void option_name(const struct args_option *o, struct strbuf *sb)
{
    if (o->short_name)
        strbuf_printf(sb, "-%c/", o->short_name);
    strbuf_puts(sb, o->long_name);
}

/* argparse's error(): the usage block, then "PROG: error: MESSAGE". */
static int fail(struct parser *p, const char *text)
{
    int columns = p->ctx ? p->ctx->columns : 0;
    args_usage(columns, p->message);
    strbuf_printf(p->message, "%s: error: %s\n", PROG, text);
    return ARGS_ERROR;
}

/* An error about one option: "argument -f/--flash-size: <what>[ <repr(value)>]". */
static int fail_option(struct parser *p, int option, const char *what, const char *value)
{
    struct strbuf sb = {0};
    strbuf_puts(&sb, "argument ");
    option_name(&args_options[option], &sb);
    strbuf_printf(&sb, ": %s", what);
    if (value) {
        strbuf_puts(&sb, " ");
        py_repr(value, &sb);
    }
    int rc = fail(p, sb.text);
    strbuf_free(&sb);
    return rc;
}

static int find_exact(const char *s, size_t len, int *as_short)
{
    for (int i = 0; i < args_option_count; i++) {
        const struct args_option *o = &args_options[i];
        if (o->short_name && len == 2 && s[0] == '-' && s[1] == o->short_name) {
            *as_short = 1;
            return i;
        }
        if (strlen(o->long_name) == len && strncmp(o->long_name, s, len) == 0) {
            *as_short = 0;
            return i;
        }
    }
    return -1;
}

static int looks_negative_number(const char *s)
{
    /* ^-\d+$ or ^-\d*\.\d+$ */
    if (s[0] != '-')
        return 0;
    const char *p = s + 1;
    size_t a = strspn(p, "0123456789");
    if (p[a] == '\0')
        return a > 0;
    if (p[a] != '.')
        return 0;
    size_t b = strspn(p + a + 1, "0123456789");
    return b > 0 && p[a + 1 + b] == '\0';
}

/* argparse's _parse_optional for one word: 0 and *w filled, or ARGS_ERROR (ambiguous). */
static int classify(struct parser *p, const char *s, struct word *w)
{
    w->pattern = 'A';
    w->option = -1;
    w->as_short = 0;
    w->explicit = NULL;
    if (s[0] != '-')
        return 0;
    int as_short;
    int i = find_exact(s, strlen(s), &as_short);
    if (i >= 0) {
        w->pattern = 'O', w->option = i, w->as_short = as_short;
        return 0;
    }
    if (s[1] == '\0')
        return 0;
    const char *eq = strchr(s, '=');
    if (eq && (i = find_exact(s, (size_t)(eq - s), &as_short)) >= 0) {
        w->pattern = 'O', w->option = i, w->as_short = as_short, w->explicit = eq + 1;
        return 0;
    }
    if (s[1] == '-') {
        /* a unique prefix of a long option, optionally with "=value" */
        size_t plen = eq ? (size_t)(eq - s) : strlen(s);
        int matches[64], n = 0, n_python = 0;
        for (int k = 0; k < args_option_count; k++)
            if (strncmp(args_options[k].long_name, s, plen) == 0) {
                matches[n++] = k;
                n_python += !args_options[k].extension;
            }
        if (n_python > 0 && n_python < n) {
            /* Additions never make a Python-tool abbreviation ambiguous. */
            int m = 0;
            for (int k = 0; k < n; k++)
                if (!args_options[matches[k]].extension)
                    matches[m++] = matches[k];
            n = m;
        }
        if (n > 1) {
            struct strbuf sb = {0};
            strbuf_printf(&sb, "ambiguous option: %s could match ", s);
            for (int k = 0; k < n; k++)
                strbuf_printf(&sb, "%s%s", k ? ", " : "", args_options[matches[k]].long_name);
            int rc = fail(p, sb.text);
            strbuf_free(&sb);
            return rc;
        }
        if (n == 1) {
            w->pattern = 'O', w->option = matches[0], w->explicit = eq ? eq + 1 : NULL;
            return 0;
        }
    } else if ((i = find_exact(s, 2, &as_short)) >= 0) {
        /* "-fVALUE" or clustered flags "-qn": the rest is the explicit argument */
        w->pattern = 'O', w->option = i, w->as_short = 1, w->explicit = s + 2;
        return 0;
    }
    if (looks_negative_number(s) || strchr(s, ' '))
        return 0;
    w->pattern = 'O'; /* an option this program does not have */
    return 0;
}

/* The number of arguments (consecutive 'A' words from index `start`) an option takes, or -1
 * when there are too few. */
static int match_count(const struct parser *p, const struct args_option *o, int start)
{
    int avail = 0;
    while (start + avail < p->argc && p->words[start + avail].pattern == 'A')
        avail++;
    switch (o->kind) {
    case ARGS_VALUE:
        return avail >= 1 ? 1 : -1;
    case ARGS_WORDS:
        return avail >= 1 ? avail : -1;
    default:
        return 0;
    }
}

static void *field_of(struct parser *p, const struct args_option *o)
{
    return (char *)p->opt + o->field;
}

static int out_of_memory(struct parser *p)
{
    return fail(p, "out of memory");
}

/* Store the value(s) of one option occurrence (argparse's take_action). */
static int take(struct parser *p, int option, const char *const *values, int count)
{
    const struct args_option *o = &args_options[option];
    void *field = field_of(p, o);
    struct error err;
    switch (o->kind) {
    case ARGS_HELP:
        args_help(p->ctx ? p->ctx->columns : 0, p->message);
        return ARGS_EXIT;
    case ARGS_VERSION:
        strbuf_printf(p->message, "%s %s\n", PROG,
                      p->ctx && p->ctx->version ? p->ctx->version : "unknown");
        return ARGS_EXIT;
    case ARGS_FLAG:
        *(int *)field = o->flag_value;
        return ARGS_RUN;
    case ARGS_WORDS: {
        /* --fs or --nvs: each occurrence appends one command */
        int is_nvs = o->field == F(nvs);
        struct wordlist **list = is_nvs ? &p->opt->nvs : &p->opt->fs;
        int *list_count = is_nvs ? &p->opt->nvs_count : &p->opt->fs_count;
        struct wordlist *grown = realloc(*list, (size_t)(*list_count + 1) * sizeof *grown);
        if (!grown)
            return out_of_memory(p);
        *list = grown;
        struct wordlist *wl = &grown[*list_count];
        wl->words = calloc((size_t)count, sizeof *wl->words);
        wl->count = 0;
        if (!wl->words)
            return out_of_memory(p);
        (*list_count)++;
        for (int i = 0; i < count; i++) {
            if (!(wl->words[i] = strdup(values[i])))
                return out_of_memory(p);
            wl->count++;
        }
        return ARGS_RUN;
    }
    case ARGS_VALUE:
        break;
    }
    const char *value = values[0];
    switch (o->type) {
    case ARGS_STRING:
    case ARGS_DEVICE: {
        char *s = o->type == ARGS_DEVICE ? value_expand_device(value) : strdup(value);
        if (!s)
            return out_of_memory(p);
        free(*(char **)field);
        *(char **)field = s;
        return ARGS_RUN;
    }
    case ARGS_SIZE:
        if (value_parse_size(value, (int64_t *)field, &err))
            return fail_option(p, option, "invalid IntArg value:", value);
        return ARGS_RUN;
    case ARGS_ARGLIST: {
        struct arglist list;
        if (arglist_parse(value, &list, &err))
            return out_of_memory(p);
        arglist_free(field);
        *(struct arglist *)field = list;
        return ARGS_RUN;
    }
    case ARGS_PARTLIST: {
        struct partlist list;
        if (partlist_parse(value, &list, &err))
            return fail_option(p, option, "invalid PartList value:", value);
        partlist_free(field);
        *(struct partlist *)field = list;
        return ARGS_RUN;
    }
    case ARGS_NONE:
        break;
    }
    return ARGS_RUN;
}

/* ---- several boards ---- */

int args_is_board_word(const char *word)
{
    if (strcmp(word, "all") == 0)
        return 1;
    char *name = value_expand_device(word);
    int is = name && value_is_device(name);
    free(name);
    return is;
}

int args_several_boards(const struct tool_options *opt)
{
    return opt->board_word_count > 0;
}

static void add_board_word(struct parser *p, int index)
{
    struct tool_options *o = p->opt;
    int *grown = realloc(o->board_words, (size_t)(o->board_word_count + 1) * sizeof *grown);
    if (!grown) {
        p->out_of_memory = 1;
        return;
    }
    o->board_words = grown;
    o->board_words[o->board_word_count++] = index + 1; /* p->argv is argv + 1 */
}

/* How many words --flash takes at index `start`: every following board word when the first is
 * one. Without a filename before it and no other argument after the run, the last board word
 * is left as the filename, where argparse would take it. */
static int flash_word_count(struct parser *p, int start)
{
    if (p->opt->boards_after_flash) { /* --flash given again: the last one counts */
        p->opt->board_word_count = 0;
        p->opt->boards_after_flash = 0;
    }
    if (!args_is_board_word(p->argv[start]))
        return 1;
    int n = 1;
    while (start + n < p->argc && p->words[start + n].pattern == 'A' &&
           args_is_board_word(p->argv[start + n]))
        n++;
    if (n > 1 && !p->have_filename) {
        int later = 0;
        for (int k = start + n; k < p->argc; k++)
            later |= p->words[k].pattern == 'A';
        if (!later)
            n--;
    }
    if (n > 1 || strcmp(p->argv[start], "all") == 0) {
        p->opt->boards_after_flash = 1;
        for (int k = 0; k < n; k++)
            add_board_word(p, start + k);
    }
    return n;
}

/* argparse's consume_optional: the option at index i, its cluster and its arguments.
 * Returns the status; *next is the index after what was used. */
static int consume_option(struct parser *p, int i, int *next)
{
    const struct word *w = &p->words[i];
    if (w->option < 0) {
        if (p->extras_count++)
            strbuf_puts(&p->extras, " ");
        strbuf_puts(&p->extras, p->argv[i]);
        *next = i + 1;
        return ARGS_RUN;
    }
    /* Options found in a cluster are all taken after the cluster parsed without error. */
    int options[64];
    const char *values[64];
    int nopts = 0;
    int option = w->option, as_short = w->as_short;
    const char *explicit = w->explicit;
    const char *const *args = NULL;
    int nargs = 0;
    for (;;) {
        const struct args_option *o = &args_options[option];
        if (explicit) {
            int count = o->kind == ARGS_VALUE || o->kind == ARGS_WORDS ? 1 : 0;
            if (count == 0 && as_short && *explicit) {
                if (nopts < 64)
                    options[nopts++] = option;
                int k = find_exact((const char[]){'-', explicit[0]}, 2, &as_short);
                if (k < 0 || !as_short)
                    return fail_option(p, option, "ignored explicit argument", explicit);
                option = k;
                explicit = explicit[1] ? explicit + 1 : NULL;
                continue;
            }
            if (count == 1) {
                if (o->field == F(flash_device) && strcmp(explicit, "all") == 0) {
                    flash_word_count(p, i); /* clears an earlier --flash's boards */
                    p->opt->boards_after_flash = 1;
                    add_board_word(p, i);
                }
                values[0] = explicit;
                args = values;
                nargs = 1;
                *next = i + 1;
                break;
            }
            return fail_option(p, option, "ignored explicit argument", explicit);
        }
        int count = match_count(p, o, i + 1);
        if (count < 0)
            return fail_option(p, option,
                               o->kind == ARGS_WORDS ? "expected at least one argument"
                                                     : "expected one argument",
                               NULL);
        if (o->kind == ARGS_VALUE && o->field == F(flash_device))
            count = flash_word_count(p, i + 1);
        args = (const char *const *)(p->argv + i + 1);
        nargs = count;
        *next = i + 1 + count;
        break;
    }
    for (int k = 0; k < nopts; k++) {
        int rc = take(p, options[k], NULL, 0);
        if (rc != ARGS_RUN)
            return rc;
    }
    /* "--opt=--" leaves argparse with no value at all after it drops the "--": the option
     * then counts as not given. */
    if (nargs == 1 && args == values && strcmp(values[0], "--") == 0) {
        const struct args_option *o = &args_options[option];
        if (o->kind == ARGS_VALUE) {
            void *field = field_of(p, o);
            if (o->type == ARGS_ARGLIST)
                arglist_free(field);
            else if (o->type == ARGS_PARTLIST)
                partlist_free(field);
            else if (o->type == ARGS_SIZE)
                *(int64_t *)field = 0;
            else {
                free(*(char **)field);
                *(char **)field = NULL;
            }
        }
        return ARGS_RUN;
    }
    return take(p, option, args, nargs);
}

/* argparse's consume_positionals for the one positional, `filename` (pattern -*A-*). */
static int consume_positional(struct parser *p, int start)
{
    int k = start;
    while (k < p->argc && p->words[k].pattern == '-')
        k++;
    if (k >= p->argc || p->words[k].pattern != 'A')
        return start;
    if (p->have_filename) {
        /* Several boards: more board words after a filename that names a board. */
        if (!args_is_board_word(p->opt->filename_given) || !args_is_board_word(p->argv[k]))
            return start;
        if (p->opt->board_word_count == 0 || p->opt->boards_after_flash) {
            p->opt->board_word_count = 0;
            p->opt->boards_after_flash = 0;
            add_board_word(p, p->filename_word);
        }
        add_board_word(p, k);
        k++;
        while (k < p->argc && p->words[k].pattern == '-')
            k++;
        return k;
    }
    const char *name = p->argv[k];
    p->filename_word = k;
    k++;
    while (k < p->argc && p->words[k].pattern == '-')
        k++;
    free(p->opt->filename_given);
    p->opt->filename_given = strdup(name);
    p->have_filename = p->opt->filename_given != NULL;
    return k;
}

static int parse_words(struct parser *p)
{
    int last_option = -1;
    for (int i = 0; i < p->argc; i++) {
        if (strcmp(p->argv[i], "--") == 0) {
            p->words[i] = (struct word){'-', -1, 0, NULL};
            for (i++; i < p->argc; i++)
                p->words[i] = (struct word){'A', -1, 0, NULL};
            break;
        }
        int rc = classify(p, p->argv[i], &p->words[i]);
        if (rc != ARGS_RUN)
            return rc;
        if (p->words[i].pattern == 'O')
            last_option = i;
    }
    int start = 0;
    while (start <= last_option) {
        int next_option = start;
        while (p->words[next_option].pattern != 'O')
            next_option++;
        if (start != next_option) {
            int end = consume_positional(p, start);
            if (end > start) {
                start = end;
                continue;
            }
        }
        if (p->words[start].pattern != 'O') {
            for (int k = start; k < next_option; k++) {
                if (p->extras_count++)
                    strbuf_puts(&p->extras, " ");
                strbuf_puts(&p->extras, p->argv[k]);
            }
            start = next_option;
        }
        int rc = consume_option(p, start, &start);
        if (rc != ARGS_RUN)
            return rc;
    }
    int stop = start, next;
    while ((next = consume_positional(p, stop)) > stop)
        stop = next;
    for (int k = stop; k < p->argc; k++) {
        if (p->extras_count++)
            strbuf_puts(&p->extras, " ");
        strbuf_puts(&p->extras, p->argv[k]);
    }
    /* Listing ports and merging split images need no firmware or device. */
    if (!p->have_filename && !p->opt->list_ports && !p->opt->merge.count)
        return fail(p, "the following arguments are required: filename");
    if (p->extras_count) {
        struct strbuf sb = {0};
        strbuf_printf(&sb, "unrecognized arguments: %s", strbuf_str(&p->extras));
        int rc = fail(p, sb.text);
        strbuf_free(&sb);
        return rc;
    }
    return ARGS_RUN;
}

static int option_index(const char *long_name)
{
    for (int i = 0; i < args_option_count; i++)
        if (strcmp(args_options[i].long_name, long_name) == 0)
            return i;
    MP_ASSERT(0);
    return 0;
}

/* -m: the Python tool's three ways of driving esptool. All three mean the one native loader
 * here; anything else is refused now rather than when a device is opened. */
static int check_method(struct parser *p)
{
    static const char *const methods[] = {"direct", "command", "subprocess"};
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (strcmp(p->opt->method, methods[i]) == 0)
            return ARGS_RUN;
    struct strbuf sb = {0};
    strbuf_puts(&sb, "invalid choice: ");
    py_repr(p->opt->method, &sb);
    strbuf_puts(&sb, " (choose from 'direct', 'command', 'subprocess')");
    int rc = fail_option(p, option_index("--method"), sb.text, NULL);
    strbuf_free(&sb);
    return rc;
}

/* --log: every item is a word that lists the loggers, or a known NAME with a known LEVEL. */
static int check_log(struct parser *p)
{
    const struct arglist *l = &p->opt->log;
    struct strbuf sb = {0};
    for (int i = 0; i < l->count && !sb.len; i++) {
        const struct argitem *it = &l->items[i];
        const char *name = it->fields[0];
        enum log_level level;
        if (it->count == 1 && args_log_lists(name))
            continue;
        if (output_logger_find(name) < 0) {
            strbuf_puts(&sb, "unknown logger ");
            py_repr(name, &sb);
            strbuf_puts(&sb, " (choose from");
            for (int k = 0; k < LOGGER_COUNT; k++)
                strbuf_printf(&sb, "%s '%s'", k ? "," : "", output_loggers[k].name);
            strbuf_puts(&sb, "; 'list' shows them)");
        } else if (it->count != 2) {
            strbuf_puts(&sb, "expected NAME=LEVEL, not ");
            py_repr(name, &sb);
        } else if (output_level_parse(it->fields[1], &level)) {
            strbuf_puts(&sb, "invalid level ");
            py_repr(it->fields[1], &sb);
            strbuf_puts(&sb, " for ");
            py_repr(name, &sb);
            strbuf_puts(&sb, " (choose from 'debug', 'info', 'action', 'warning', 'error')");
        }
    }
    int rc = sb.len ? fail_option(p, option_index("--log"), sb.text, NULL) : ARGS_RUN;
    strbuf_free(&sb);
    return rc;
}

int args_log_lists(const char *name)
{
    return strcmp(name, "list") == 0 || strcmp(name, "show") == 0 || strcmp(name, "help") == 0;
}

/* What several boards cannot do in one run, checked before any board is touched: each board
 * would write the same local file, or one board would be opened by every run at once. */
static const char *several_boards_refusal(const struct tool_options *o)
{
    if (o->boards_after_flash) {
        if (o->is_device || strcmp(o->filename_given, "all") == 0)
            return "--flash to several boards needs a firmware file as filename, not a board";
        return NULL;
    }
    if (o->flash_device)
        return "--flash cannot copy from several boards at once: give a firmware file as "
               "filename";
    if (o->output)
        return "-o/--output names one file, but several boards are given: save one board at a "
               "time";
    if (o->extract_app)
        return "-x/--extract-app writes one file, but several boards are given: extract from "
               "one board at a time";
    if (o->read.count)
        return "--read would write the partitions of several boards into the same files: read "
               "one board at a time";
    for (int i = 0; i < o->fs_count; i++)
        if (strcmp(o->fs[i].words[0], "get") == 0)
            return "--fs get would copy the files of several boards into the same place: get "
                   "from one board at a time";
    return NULL;
}

int args_parse(int argc, char *const argv[], const struct args_context *ctx,
               struct tool_options *opt, struct strbuf *message)
{
    memset(opt, 0, sizeof *opt);
    struct parser p = {0};
    p.argc = argc > 1 ? argc - 1 : 0;
    p.argv = argv + (argc > 0 ? 1 : 0);
    p.ctx = ctx;
    p.opt = opt;
    p.message = message;
    opt->baud = 921600;
    opt->method = strdup("direct");
    p.words = calloc((size_t)p.argc + 1, sizeof *p.words);
    int rc;
    if (!p.words || !opt->method)
        rc = out_of_memory(&p);
    else
        rc = parse_words(&p);
    if (rc == ARGS_RUN && !opt->method) {
        /* "-m--" drops the value ("--"): the option counts as not given, so its default holds. */
        opt->method = strdup("direct");
        if (!opt->method)
            rc = out_of_memory(&p);
    }
    if (rc == ARGS_RUN)
        rc = check_method(&p);
    if (rc == ARGS_RUN)
        rc = check_log(&p);
    if (rc == ARGS_RUN) {
        /* The Python tool tests these for truth, so an empty value counts as not given. */
        char **optional_names[] = {&opt->output,       &opt->ota_update, &opt->from_csv,
                                   &opt->flash_device, &opt->ota_select, &opt->flash_mode,
                                   &opt->flash_freq};
        for (size_t i = 0; i < sizeof optional_names / sizeof optional_names[0]; i++)
            if (*optional_names[i] && !**optional_names[i]) {
                free(*optional_names[i]);
                *optional_names[i] = NULL;
            }
        opt->filename = value_expand_device(opt->filename_given ? opt->filename_given : "");
        if (!opt->filename)
            rc = out_of_memory(&p);
        else
            opt->is_device = value_is_device(opt->filename);
        if (opt->flash_device)
            opt->flash_is_device = value_is_device(opt->flash_device);
        if (p.have_filename && !opt->board_word_count && strcmp(opt->filename_given, "all") == 0)
            add_board_word(&p, p.filename_word);
        if (p.out_of_memory)
            rc = out_of_memory(&p);
    }
    if (rc == ARGS_RUN && opt->board_word_count) {
        const char *refusal = several_boards_refusal(opt);
        if (refusal)
            rc = fail(&p, refusal);
    }
    free(p.words);
    strbuf_free(&p.extras);
    if (rc != ARGS_RUN)
        args_free(opt);
    return rc;
}

void args_free(struct tool_options *opt)
{
    for (int i = 0; i < args_option_count; i++) {
        const struct args_option *o = &args_options[i];
        void *field = (char *)opt + o->field;
        if (o->kind != ARGS_VALUE)
            continue;
        if (o->type == ARGS_STRING || o->type == ARGS_DEVICE)
            free(*(char **)field);
        else if (o->type == ARGS_ARGLIST)
            arglist_free(field);
        else if (o->type == ARGS_PARTLIST)
            partlist_free(field);
    }
    for (int i = 0; i < opt->fs_count; i++) {
        for (int k = 0; k < opt->fs[i].count; k++)
            free(opt->fs[i].words[k]);
        free(opt->fs[i].words);
    }
    free(opt->fs);
    for (int i = 0; i < opt->nvs_count; i++) {
        for (int k = 0; k < opt->nvs[i].count; k++)
            free(opt->nvs[i].words[k]);
        free(opt->nvs[i].words);
    }
    free(opt->nvs);
    free(opt->filename);
    free(opt->filename_given);
    free(opt->board_words);
    memset(opt, 0, sizeof *opt);
}
