/* The option parser. It reproduces Python argparse (as used by the Python tool, checked against
 * Python 3.11) where users can see it: classification of every word as option or argument
 * before anything is consumed, unique-prefix long options, "--opt=value", "-fVALUE", clustered
 * short flags, "--", greedy one-or-more --fs, conversion of values when their option is taken,
 * and argparse's usage block, wrapping and error texts. */
#include "tool/args.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "fs/fs.h"
#include "tool/nvsglue.h"
#include "tool/output.h"
#include "util/check.h"

#define PROG "mp-image-tool-esp32"
#define F(field) offsetof(struct tool_options, field)

/* The options in the Python tool's order (which is the order of its usage line and of the
 * "could match" list of an ambiguous abbreviation); the additions come last. */
const struct args_option args_options[] = {
    {'h', "--help", NULL, ARGS_HELP, ARGS_NONE, 0, 0, 0, "show this help message and exit"},
    {'o', "--output", "FILE", ARGS_VALUE, ARGS_STRING, F(output), 0, 0,
     "output file name (generated from the changes made when not given); giving -o alone "
     "writes an output file even without changes, and names the app image written by -x; "
     "with a device, the whole flash is saved to FILE before anything changes"},
    {'q', "--quiet", NULL, ARGS_FLAG, ARGS_NONE, F(quiet), 1, 0,
     "print only errors and requested output"},
    {'n', "--no-reset", NULL, ARGS_FLAG, ARGS_NONE, F(no_reset), 1, 0,
     "leave the device in bootloader mode at the end instead of resetting it"},
    {'x', "--extract-app", NULL, ARGS_FLAG, ARGS_NONE, F(extract_app), 1, 0,
     "save the image of the first app partition to a .app-bin file and stop"},
    {'f', "--flash-size", "SIZE", ARGS_VALUE, ARGS_SIZE, F(flash_size), 0, 0,
     "set the flash size in the partition table and in the bootloader header"},
    {'a', "--app-size", "SIZE", ARGS_VALUE, ARGS_SIZE, F(app_size), 0, 0,
     "set the size of every app partition (factory and ota_N)"},
    {'m', "--method", "METHOD", ARGS_VALUE, ARGS_STRING, F(method), 0, 0,
     "how to talk to the device: direct (the default), command or subprocess; all three "
     "use the built-in loader"},
    {'d', "--debug", NULL, ARGS_FLAG, ARGS_NONE, F(debug), 1, 0, "print debugging messages too"},
    {0, "--log", "NAME=LEVEL[,NAME=LEVEL,...]", ARGS_VALUE, ARGS_ARGLIST, F(log), 0, 0,
     "set the message level (debug, info, action, warning or error) of the named parts "
     "of the tool: main, loader, firmware, fs, ota; the name 'list' shows them"},
    {0, "--check-app", NULL, ARGS_FLAG, ARGS_NONE, F(check_app), 1, 0,
     "check the signature and SHA-256 digest of the bootloader and the app partitions, and "
     "show the OTA state"},
    {0, "--no-rollback", NULL, ARGS_FLAG, ARGS_NONE, F(no_rollback), 1, 0,
     "with --ota-update: boot the new app without arming rollback"},
    {0, "--baud", "RATE", ARGS_VALUE, ARGS_SIZE, F(baud), 0, 0,
     "serial speed (default 921600), lowered to the nearest standard rate; 115200 keeps the "
     "speed the connection opens at"},
    {0, "--ota-update", "FILE", ARGS_VALUE, ARGS_STRING, F(ota_update), 0, 0,
     "install an app image into the next OTA partition (of a device or a whole-flash "
     "image) and make it the one that boots"},
    {0, "--from-csv", "FILE", ARGS_VALUE, ARGS_STRING, F(from_csv), 0, 0,
     "replace the partition table with the one described in a CSV file"},
    {0, "--table", "ota/default/original/NAME1=SUBTYPE:SIZE[,NAME2,...]", ARGS_VALUE,
     ARGS_PARTLIST, F(table), 0, 0,
     "replace the partition table with a standard layout (ota, default or original) or one "
     "given as a list of partitions; SUBTYPE may usually be left out as it follows from "
     "the name"},
    {0, "--delete", "NAME1[,NAME2,...]", ARGS_VALUE, ARGS_ARGLIST, F(delete_), 0, 0,
     "remove the named partitions from the table"},
    {0, "--add", "NAME1:SUBTYPE:OFFSET:SIZE[,NAME2,...]", ARGS_VALUE, ARGS_PARTLIST, F(add), 0, 0,
     "put new partitions into the table"},
    {0, "--resize", "NAME1=SIZE1[,NAME2=SIZE2,...]", ARGS_VALUE, ARGS_PARTLIST, F(resize), 0, 0,
     "change the size of partitions; size 0 fills the space up to the next partition or "
     "the end of flash"},
    {0, "--rename", "NAME1=NEW1[,NAME2=NEW2,...]", ARGS_VALUE, ARGS_ARGLIST, F(rename), 0, 0,
     "give partitions new names"},
    {0, "--erase", "NAME1[,NAME2,...]", ARGS_VALUE, ARGS_ARGLIST, F(erase), 0, 0,
     "fill the named partitions with 0xff (a layout change then does not carry their data); "
     "a range START:END or START+LEN erases flash by address, and 'flash' (or 'all') a "
     "board's whole flash"},
    {0, "--erase-fs", "NAME1[,NAME2,...]", ARGS_VALUE, ARGS_ARGLIST, F(erase_fs), 0, 0,
     "wipe the start of the named filesystem partitions so that MicroPython formats them at "
     "its next boot; with a layout change or --flash, their files are dropped instead of "
     "carried into the new layout"},
    {0, "--read", "NAME1=FILE1[,NAME2=FILE2,bootloader=FILE,...]", ARGS_VALUE, ARGS_ARGLIST,
     F(read), 0, 0,
     "copy the contents of partitions into local files; instead of a NAME, a range (START, "
     "START:END or START+LEN) copies flash by address, and 'flash' (or 'all') the whole flash: "
     "a backup"},
    {0, "--write", "NAME1=FILE1[,NAME2=FILE2,bootloader=FILE,...]", ARGS_VALUE, ARGS_ARGLIST,
     F(write), 0, 0,
     "copy local files into partitions; instead of a NAME, an address (START, START:END or "
     "START+LEN) writes at that address, and 'flash' (or 'all') makes the whole flash equal to "
     "a backup, sending only the 64 KiB pieces that differ"},
    {0, "--flash", "DEVICE", ARGS_VALUE, ARGS_DEVICE, F(flash_device), 0, 0,
     "when everything else is done, write the resulting firmware to a device (or to "
     "several: --flash u0 u1, or all)"},
    {0, "--trimblocks", NULL, ARGS_FLAG, ARGS_NONE, F(trimblocks), 1, 0,
     "with --read: drop trailing 0xff bytes, keeping whole 4096-byte blocks"},
    {0, "--trim", NULL, ARGS_FLAG, ARGS_NONE, F(trim), 1, 0,
     "with --read: drop trailing 0xff bytes, keeping a multiple of 16 bytes"},
    {0, "--fs", "CMD", ARGS_WORDS, ARGS_NONE, F(fs), 0, 0,
     "run a littlefs command (listed below) with its arguments; may be given several "
     "times"},
    /* Additions: kept out of the usage line so that it stays the Python tool's. */
    {0, "--version", NULL, ARGS_VERSION, ARGS_NONE, 0, 0, 1,
     "print the version of this program and exit"},
    {0, "--plain", NULL, ARGS_FLAG, ARGS_NONE, F(table_style), TABLE_STYLE_PLAIN, 1,
     "print tables as plain text even on a terminal"},
    {0, "--box", NULL, ARGS_FLAG, ARGS_NONE, F(table_style), TABLE_STYLE_BOX, 1,
     "draw tables with box characters even when not on a terminal"},
    {0, "--json", NULL, ARGS_FLAG, ARGS_NONE, F(json), 1, 1,
     "print the run's reports as one JSON document on stdout instead of text (the schema is "
     "in docs/json.md); errors still go to stderr too"},
    {0, "--force", NULL, ARGS_FLAG, ARGS_NONE, F(force), 1, 1,
     "write firmware whose images fail the checks (cut off, bad checksum or SHA-256 digest, "
     "wrong chip): for experts who know why"},
    {0, "--nvs", "CMD", ARGS_WORDS, ARGS_NONE, F(nvs), 0, 1,
     "show, get, set or erase keys of an NVS partition (commands listed below); may be "
     "given several times"},
    {0, "--no-stub", NULL, ARGS_FLAG, ARGS_NONE, F(no_stub), 1, 1,
     "talk to the chip's ROM loader only, without uploading the flasher stub (slower reads "
     "and writes; for emulators and setups where the stub cannot run)"},
    {0, "--ota-show", NULL, ARGS_FLAG, ARGS_NONE, F(ota_show), 1, 1,
     "show both otadata records (sequence, state, CRC) and which app boots now and next"},
    {0, "--ota-select", "NAME", ARGS_VALUE, ARGS_STRING, F(ota_select), 0, 1,
     "make the app in an OTA partition (ota_1, or its number 1) or the factory app boot from "
     "the next reset, without an upload; rollback is armed as with --ota-update unless "
     "--no-rollback"},
    {0, "--ota-erase", NULL, ARGS_FLAG, ARGS_NONE, F(ota_erase), 1, 1,
     "erase otadata: the factory app (or ota_0 without one) boots from the next reset"},
    {0, "--new-littlefs", "SIZE", ARGS_VALUE, ARGS_SIZE, F(new_littlefs), 0, 1,
     "create FILENAME as an empty littlefs image of SIZE bytes (MicroPython's geometry: "
     "4096-byte blocks, so 256B is 256 blocks) for the --fs commands to fill"},
    {0, "--fs-block-size", "SIZE", ARGS_VALUE, ARGS_SIZE, F(fs_block_size), 0, 1,
     "with --new-littlefs: littlefs blocks of SIZE bytes instead of MicroPython's 4096 (for "
     "images made for other systems; MicroPython on ESP32 mounts only 4096)"},
    {0, "--merge", "FILE@ADDR[,FILE@ADDR,...]", ARGS_VALUE, ARGS_ARGLIST, F(merge), 0, 1,
     "build a whole-flash firmware from the split images of a build (bootloader, partition "
     "table, app) at their flash addresses, as esptool merge_bin does; FILENAME may then be "
     "left out. A build's flasher_args.json given as FILENAME does the same"},
    {0, "--flash-mode", "MODE", ARGS_VALUE, ARGS_STRING, F(flash_mode), 0, 1,
     "when merging: set the bootloader's flash mode (qio, qout, dio, dout)"},
    {0, "--flash-freq", "FREQ", ARGS_VALUE, ARGS_STRING, F(flash_freq), 0, 1,
     "when merging: set the bootloader's flash frequency (80m, 40m, 26m, 20m; other chips "
     "have others)"},
    {0, "--list-ports", NULL, ARGS_FLAG, ARGS_NONE, F(list_ports), 1, 1,
     "list the serial ports with their USB ids, serial numbers and products, marking those "
     "that look like ESP boards (FILENAME 'auto' uses the only one), and stop"},
    {0, "--info", NULL, ARGS_FLAG, ARGS_NONE, F(info), 1, 1,
     "show the board's chip, revision, features, crystal, MAC address and flash chip, and "
     "stop"},
};
const int args_option_count = (int)(sizeof args_options / sizeof args_options[0]);

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
