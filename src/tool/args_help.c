/* The usage block and --help text exactly as argparse formats them for the Python tool: the
 * usage line wrapped like argparse, the options with their help wrapped at the terminal width,
 * the epilog with the --fs and --nvs command tables. */
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "fs/fs.h"
#include "tool/args_internal.h"
#include "tool/nvsglue.h"

static const char description[] =
    "Tool for manipulating MicroPython esp32 firmware files and flash storage on\n"
    "esp32 devices.";

static const char epilog_head[] =
    "SIZE is a decimal or hexadecimal (0x...) number of bytes, optionally followed by\n"
    "M (MiB), K (KiB) or B (4096-byte blocks): 8M, 0x1f0B, 1.5M.\n"
    "\n"
    "FILENAME is a firmware file or a serial device: /dev/ttyUSB0 (u0 for short),\n"
    "/dev/ttyACM0 (a0), COM3 (c3), or a network port rfc2217://HOST:PORT or\n"
    "socket://HOST:PORT.\n"
    "\n"
    "Several boards at once: more than one device as FILENAME or after --flash, or\n"
    "'all' for every ESP-looking USB port. Each board runs in parallel, its lines\n"
    "prefixed by its port, then a summary; the exit status is not 0 if one failed:\n"
    "  mp-image-tool-esp32 u0 u1 rfc2217://lab:4000 --fs put src /\n"
    "  mp-image-tool-esp32 firmware.bin --flash all\n"
    "\n"
    "--fs takes every following word that does not begin with '-', so put the\n"
    "firmware name first, or end the --fs words with '--':\n"
    "  mp-image-tool-esp32 u0 --fs ls /lib --fs get boot.py\n"
    "  mp-image-tool-esp32 --fs mkdir /data -- u0\n"
    "--fs commands (PART: before a PATH names the partition; vfs by default):\n";

static const char epilog_nvs[] =
    "\n"
    "--nvs commands (PART: names the NVS partition, the first nvs partition by\n"
    "default; NS.KEY is a namespace and a key; TYPE is u8, i8, u16, i16, u32, i32,\n"
    "u64, i64, str or blob; a VALUE of @FILE is read from a local file):\n";

static const char epilog_tail[] =
    "\n"
    "Layout changes keep your data: littlefs files (with their mtimes), NVS and\n"
    "other data partitions are carried into the new layout, or the change is refused\n"
    "before anything is written; --erase-fs NAME drops a partition's files instead.\n"
    "--flash writes the firmware, with any changes made by the other options, to a\n"
    "device, carrying the device's files and NVS into the firmware's layout:\n"
    "  mp-image-tool-esp32 firmware.bin -f 8M --resize vfs=0 --flash u0\n"
    "\n"
    "Exit status: 0 success; 1 error; 2 command-line error; 3 a verification failed\n"
    "(--check-app found a broken or missing image, or a board's flash did not read\n"
    "back what was written). Errors go to stderr and -q never hides them.";

/* The --fs commands from their table: "  NAME ARGS  help", the help column aligned. */
static void fs_command_lines(struct strbuf *out)
{
    int width = 0;
    for (int i = 0; i < fs_command_count; i++) {
        int w = (int)(strlen(fs_commands[i].name) + 1 + strlen(fs_commands[i].args));
        if (w > width)
            width = w;
    }
    for (int i = 0; i < fs_command_count; i++) {
        const struct fs_command *c = &fs_commands[i];
        int w = (int)(strlen(c->name) + 1 + strlen(c->args));
        strbuf_printf(out, "  %s %s%*s  %s\n", c->name, c->args, width - w, "", c->help);
    }
}

/* ---- small text helpers ---- */

static int is_letter(unsigned char c)
{
    /* Python's [^\d\W]: letters and '_' (non-ASCII bytes count as letters). */
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static int is_word(unsigned char c)
{
    return is_letter(c) || (c >= '0' && c <= '9');
}

/* ---- usage and help ---- */

static void option_usage_part(const struct args_option *o, struct strbuf *sb)
{
    char s[3] = {'-', o->short_name, 0};
    const char *name = o->short_name ? s : o->long_name;
    if (o->kind == ARGS_WORDS)
        strbuf_printf(sb, "[%s %s [%s ...]]", name, o->metavar, o->metavar);
    else if (o->metavar)
        strbuf_printf(sb, "[%s %s]", name, o->metavar);
    else
        strbuf_printf(sb, "[%s]", name);
}

/* Width of the text argparse formats: the terminal width less 2. */
static int text_width(int columns)
{
    return (columns > 0 ? columns : 80) - 2;
}

/* argparse's usage line builder: parts joined by spaces, a new line (with `indent`) before a
 * part that would pass the width; the first line may start after `prefix` instead. */
static void usage_lines(char **parts, int n, int width, size_t indent, size_t prefix_len,
                        int first_has_prefix, struct strbuf *out, int *lines_out)
{
    size_t line_len = (first_has_prefix ? prefix_len : indent) - 1;
    int in_line = 0, lines = 0;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(parts[i]);
        if (line_len + 1 + len > (size_t)width && in_line) {
            strbuf_puts(out, "\n");
            lines++;
            in_line = 0;
            line_len = indent - 1;
        }
        if (!in_line) {
            if (lines > 0 || !first_has_prefix)
                strbuf_repeat(out, " ", indent);
        } else {
            strbuf_puts(out, " ");
        }
        strbuf_puts(out, parts[i]);
        in_line = 1;
        line_len += len + 1;
    }
    if (in_line)
        lines++;
    if (lines_out)
        *lines_out = lines;
}

void args_usage(int columns, struct strbuf *out)
{
    const char *prefix = "usage: ";
    int width = text_width(columns);
    struct strbuf parts_text[64];
    char *opt_parts[64];
    int n = 0;
    struct strbuf all = {0};
    strbuf_puts(&all, PROG);
    for (int i = 0; i < args_option_count && n < 64; i++) {
        if (args_options[i].extension)
            continue;
        memset(&parts_text[n], 0, sizeof parts_text[n]);
        option_usage_part(&args_options[i], &parts_text[n]);
        opt_parts[n] = parts_text[n].text;
        strbuf_printf(&all, " %s", opt_parts[n]);
        n++;
    }
    char *pos_parts[] = {"filename"};
    char *prog = PROG;
    strbuf_puts(&all, " filename");
    strbuf_puts(out, prefix);
    size_t plen = strlen(prefix), proglen = strlen(prog);
    if (plen + all.len <= (size_t)width) {
        strbuf_puts(out, all.text);
    } else if ((double)(plen + proglen) <= 0.75 * width) {
        size_t indent = plen + proglen + 1;
        char *first[65];
        first[0] = prog;
        memcpy(first + 1, opt_parts, (size_t)n * sizeof *opt_parts);
        usage_lines(first, n + 1, width, indent, plen, 1, out, NULL);
        strbuf_puts(out, "\n");
        usage_lines(pos_parts, 1, width, indent, plen, 0, out, NULL);
    } else {
        /* A narrow terminal: the program name on its own line. */
        size_t indent = plen;
        char *every[65];
        memcpy(every, opt_parts, (size_t)n * sizeof *opt_parts);
        every[n] = pos_parts[0];
        struct strbuf trial = {0};
        int lines;
        usage_lines(every, n + 1, width, indent, plen, 0, &trial, &lines);
        strbuf_puts(out, prog);
        strbuf_puts(out, "\n");
        if (lines > 1) {
            usage_lines(opt_parts, n, width, indent, plen, 0, out, NULL);
            strbuf_puts(out, "\n");
            usage_lines(pos_parts, 1, width, indent, plen, 0, out, NULL);
        } else {
            strbuf_puts(out, strbuf_str(&trial));
        }
        strbuf_free(&trial);
    }
    strbuf_puts(out, "\n");
    for (int i = 0; i < n; i++)
        strbuf_free(&parts_text[i]);
    strbuf_free(&all);
}

/* Python textwrap's chunks of a word: it may break after a hyphen inside a hyphenated word
 * ("erase-" "fs") and around an em-dash ("--") between words. Returns the chunk length. */
static size_t word_chunk(const char *w, size_t len)
{
    const unsigned char *u = (const unsigned char *)w;
    for (size_t j = 1; j < len; j++) {
        /* em-dash: a run of two or more hyphens followed by a word character */
        if (u[j] == '-' && j + 1 < len && u[j + 1] == '-') {
            size_t k = j;
            while (k < len && u[k] == '-')
                k++;
            if (k < len && is_word(u[k]) && (is_word(u[j - 1]) || strchr("!\"'&.,?", u[j - 1])))
                return j;
        }
        if (u[j] != '-')
            continue;
        int before = (j >= 2 && is_letter(u[j - 1]) && is_letter(u[j - 2])) ||
                     (j >= 3 && is_letter(u[j - 1]) && u[j - 2] == '-' && is_letter(u[j - 3]));
        int after = j + 2 < len + 0 && is_letter(u[j + 1]) &&
                    (is_letter(u[j + 2]) ||
                     (u[j + 2] == '-' && j + 3 < len && is_letter(u[j + 3])));
        if (before && after)
            return j + 1;
    }
    return len;
}

/* Split collapsed text into textwrap chunks: words (possibly in pieces) and single spaces. */
static int text_chunks(const char *text, char ***chunks_out)
{
    int cap = 16, n = 0;
    char **chunks = malloc((size_t)cap * sizeof *chunks);
    const char *p = text;
    while (*p == ' ')
        p++;
    while (*p) {
        const char *start = p;
        size_t len;
        if (*p == ' ') {
            while (*p == ' ')
                p++;
            if (!*p)
                break;
            len = 1;
        } else {
            size_t run = strcspn(p, " ");
            size_t leading = 0;
            /* an em-dash chunk of its own */
            if (p[0] == '-' && p[1] == '-' && p != text && start[-1] != ' ') {
                while (leading < run && p[leading] == '-')
                    leading++;
            }
            len = leading ? leading : word_chunk(p, run);
            p += len;
        }
        if (n == cap) {
            cap *= 2;
            chunks = realloc(chunks, (size_t)cap * sizeof *chunks);
        }
        chunks[n] = strndup(*start == ' ' ? " " : start, len);
        n++;
    }
    *chunks_out = chunks;
    return n;
}

/* textwrap.wrap(text, width) with each line after the first indented by `indent` spaces in
 * the output (the first line is not indented: the caller placed it). */
static void wrap_text(const char *text, int width, int indent, struct strbuf *out)
{
    char **chunks;
    int n = text_chunks(text, &chunks);
    int i = 0, lines = 0;
    char *pending = NULL; /* the rest of a long word split over lines */
    while (i < n || pending) {
        struct strbuf line = {0};
        size_t cur = 0;
        if (!pending && lines > 0 && i < n && strcmp(chunks[i], " ") == 0)
            i++;
        for (;;) {
            const char *c = pending ? pending : i < n ? chunks[i] : NULL;
            if (!c || cur + strlen(c) > (size_t)width)
                break;
            strbuf_puts(&line, c);
            cur += strlen(c);
            if (pending) {
                free(pending);
                pending = NULL;
            } else {
                i++;
            }
        }
        const char *c = pending ? pending : i < n ? chunks[i] : NULL;
        if (c && strlen(c) > (size_t)width) {
            size_t space = width < 1 ? 1 : (size_t)width - cur;
            size_t end = space;
            size_t len = strlen(c);
            if (len > space) {
                size_t hyphen = 0;
                for (size_t k = 0; k < space; k++)
                    if (c[k] == '-')
                        hyphen = k;
                int other = 0;
                for (size_t k = 0; k < hyphen; k++)
                    other |= c[k] != '-';
                if (hyphen > 0 && other)
                    end = hyphen + 1;
            }
            strbuf_add(&line, c, end);
            char *rest = strdup(c + end);
            if (pending)
                free(pending);
            else
                i++;
            pending = rest;
        }
        /* drop a space at the end of the line */
        if (line.len && line.text[line.len - 1] == ' ')
            line.text[--line.len] = '\0';
        if (line.len) {
            if (lines > 0) {
                strbuf_puts(out, "\n");
                strbuf_repeat(out, " ", (size_t)indent);
            }
            strbuf_puts(out, line.text);
            lines++;
        }
        strbuf_free(&line);
        if (pending && !*pending) {
            free(pending);
            pending = NULL;
        }
    }
    for (int k = 0; k < n; k++)
        free(chunks[k]);
    free(chunks);
    strbuf_puts(out, "\n");
}

static void invocation(const struct args_option *o, struct strbuf *sb)
{
    if (o->short_name) {
        strbuf_printf(sb, "-%c", o->short_name);
        if (o->metavar)
            strbuf_printf(sb, " %s", o->metavar);
        strbuf_puts(sb, ", ");
    }
    strbuf_puts(sb, o->long_name);
    if (o->kind == ARGS_WORDS)
        strbuf_printf(sb, " %s [%s ...]", o->metavar, o->metavar);
    else if (o->metavar)
        strbuf_printf(sb, " %s", o->metavar);
}

static void help_item(const char *header, const char *help, int help_position, int width,
                      struct strbuf *out)
{
    int action_width = help_position - 2 - 2;
    int help_width = width - help_position > 11 ? width - help_position : 11;
    if ((int)strlen(header) <= action_width) {
        strbuf_printf(out, "  %-*s  ", action_width, header);
    } else {
        strbuf_printf(out, "  %s\n", header);
        strbuf_repeat(out, " ", (size_t)help_position);
    }
    wrap_text(help, help_width, help_position, out);
}

void args_help(int columns, struct strbuf *out)
{
    int width = text_width(columns);
    args_usage(columns, out);
    strbuf_printf(out, "\n%s\n\n", description);
    /* argparse: help starts at the widest invocation + 4, at most 24 columns in */
    int max_help_position = width - 20 > 4 ? width - 20 : 4;
    if (max_help_position > 24)
        max_help_position = 24;
    size_t longest = strlen("filename");
    struct strbuf sb = {0};
    for (int i = 0; i < args_option_count; i++) {
        strbuf_reset(&sb);
        invocation(&args_options[i], &sb);
        if (sb.len > longest)
            longest = sb.len;
    }
    int help_position = (int)longest + 2 + 2;
    if (help_position > max_help_position)
        help_position = max_help_position;
    strbuf_puts(out, "positional arguments:\n");
    help_item("filename",
              "the firmware file or the serial device (u0, a0 and c0 are short for "
              "/dev/ttyUSB0, /dev/ttyACM0 and COM0)",
              help_position, width, out);
    strbuf_puts(out, "\noptions:\n");
    for (int i = 0; i < args_option_count; i++) {
        strbuf_reset(&sb);
        invocation(&args_options[i], &sb);
        help_item(sb.text, args_options[i].help, help_position, width, out);
    }
    strbuf_free(&sb);
    strbuf_printf(out, "\n%s", epilog_head);
    fs_command_lines(out);
    strbuf_puts(out, epilog_nvs);
    nvs_command_lines(out);
    strbuf_printf(out, "%s\n", epilog_tail);
}

int args_terminal_columns(void)
{
    const char *env = getenv("COLUMNS");
    if (env && *env) {
        char *end;
        long v = strtol(env, &end, 10);
        if (*end == '\0' && v > 0 && v < 100000)
            return (int)v;
    }
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return 80;
}
