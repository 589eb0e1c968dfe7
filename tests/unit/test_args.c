/* Unit tests of the command-line parser: the Python tool's argparse behaviour (seed-spec
 * §1.1-§1.3), its exact usage block and error texts, and the filled struct tool_options. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fs/fs.h"
#include "tool/args.h"

/* §1.1, as the Python tool prints it on an 80-column terminal (or when not on a terminal). */
static const char usage80[] =
    "usage: mp-image-tool-esp32 [-h] [-o FILE] [-q] [-n] [-x] [-f SIZE] [-a SIZE]\n"
    "                           [-m METHOD] [-d]\n"
    "                           [--log NAME=LEVEL[,NAME=LEVEL,...]] [--check-app]\n"
    "                           [--no-rollback] [--baud RATE] [--ota-update FILE]\n"
    "                           [--from-csv FILE]\n"
    "                           [--table ota/default/original/NAME1=SUBTYPE:SIZE[,NAME2,...]]\n"
    "                           [--delete NAME1[,NAME2,...]]\n"
    "                           [--add NAME1:SUBTYPE:OFFSET:SIZE[,NAME2,...]]\n"
    "                           [--resize NAME1=SIZE1[,NAME2=SIZE2,...]]\n"
    "                           [--rename NAME1=NEW1[,NAME2=NEW2,...]]\n"
    "                           [--erase NAME1[,NAME2,...]]\n"
    "                           [--erase-fs NAME1[,NAME2,...]]\n"
    "                           [--read NAME1=FILE1[,NAME2=FILE2,bootloader=FILE,...]]\n"
    "                           [--write NAME1=FILE1[,NAME2=FILE2,bootloader=FILE,...]]\n"
    "                           [--flash DEVICE] [--trimblocks] [--trim]\n"
    "                           [--fs CMD [CMD ...]]\n"
    "                           filename\n";

struct result {
    int rc;
    struct tool_options opt;
    struct strbuf message;
};

/* Parse the given words (a NULL-terminated list) as the program's arguments. */
static void parse_columns(struct result *r, int columns, const char *first, va_list ap)
{
    char *argv[64];
    int argc = 0;
    argv[argc++] = "mp-image-tool-esp32";
    for (const char *w = first; w; w = va_arg(ap, const char *)) {
        assert_true(argc < 63);
        argv[argc++] = (char *)w;
    }
    argv[argc] = NULL;
    struct args_context ctx = {"9.8.7", columns};
    memset(&r->message, 0, sizeof r->message);
    r->rc = args_parse(argc, argv, &ctx, &r->opt, &r->message);
}

static void parse(struct result *r, const char *first, ...)
{
    va_list ap;
    va_start(ap, first);
    parse_columns(r, 80, first, ap);
    va_end(ap);
}

static void done(struct result *r)
{
    args_free(&r->opt);
    strbuf_free(&r->message);
}

/* The parse fails with exit status 2, the usage block, and "PROG: error: <line>". */
static void expect_error(const char *line, const char *first, ...)
{
    struct result r;
    va_list ap;
    va_start(ap, first);
    parse_columns(&r, 80, first, ap);
    va_end(ap);
    assert_int_equal(r.rc, ARGS_ERROR);
    char expected[2048];
    snprintf(expected, sizeof expected, "%smp-image-tool-esp32: error: %s\n", usage80, line);
    assert_string_equal(strbuf_str(&r.message), expected);
    /* nothing of a failed parse is left behind */
    assert_null(r.opt.filename);
    assert_null(r.opt.method);
    assert_int_equal(r.opt.fs_count, 0);
    done(&r);
}

static int starts_with(const char *text, const char *prefix)
{
    return strncmp(text, prefix, strlen(prefix)) == 0;
}

static void expect_ok(struct result *r)
{
    if (r->rc != ARGS_RUN)
        fail_msg("parse failed: %s", strbuf_str(&r->message));
    assert_int_equal(r->message.len, 0);
}

/* ---- usage and help ---- */

static void usage_block_is_the_python_tools(void **state)
{
    (void)state;
    struct strbuf sb = {0};
    args_usage(80, &sb);
    assert_string_equal(strbuf_str(&sb), usage80);
    strbuf_reset(&sb);
    args_usage(0, &sb); /* default width */
    assert_string_equal(strbuf_str(&sb), usage80);
    strbuf_free(&sb);
}

static void usage_wraps_like_argparse(void **state)
{
    (void)state;
    struct strbuf sb = {0};
    /* Python 3.11 argparse with COLUMNS=100, 45 and 30 */
    args_usage(100, &sb);
    assert_true(starts_with(strbuf_str(&sb),
                            "usage: mp-image-tool-esp32 [-h] [-o FILE] [-q] [-n] [-x] [-f SIZE] "
                            "[-a SIZE] [-m METHOD] [-d]\n"
                            "                           [--log NAME=LEVEL[,NAME=LEVEL,...]] "
                            "[--check-app] [--no-rollback]\n"
                            "                           [--baud RATE] [--ota-update FILE] "
                            "[--from-csv FILE]\n"));
    strbuf_reset(&sb);
    args_usage(45, &sb);
    assert_true(starts_with(strbuf_str(&sb),
                            "usage: mp-image-tool-esp32 [-h] [-o FILE]\n"
                            "                           [-q] [-n] [-x]\n"
                            "                           [-f SIZE]\n"));
    strbuf_reset(&sb);
    args_usage(30, &sb);
    const char *narrow = "usage: mp-image-tool-esp32\n"
                         "       [-h] [-o FILE] [-q]\n"
                         "       [-n] [-x] [-f SIZE]\n"
                         "       [-a SIZE] [-m METHOD]\n"
                         "       [-d]\n";
    assert_true(starts_with(strbuf_str(&sb), narrow));
    /* the positional goes on a line of its own at the end */
    assert_non_null(strstr(strbuf_str(&sb), "\n       [--fs CMD [CMD ...]]\n       filename\n"));
    strbuf_free(&sb);
}

static void help_text(void **state)
{
    (void)state;
    struct result r;
    parse(&r, "-h", NULL);
    assert_int_equal(r.rc, ARGS_EXIT);
    const char *h = strbuf_str(&r.message);
    /* the usage block first, then the description */
    assert_true(starts_with(h, usage80));
    assert_true(starts_with(h + strlen(usage80),
                            "\nTool for manipulating MicroPython esp32 firmware files and flash "
                            "storage on\nesp32 devices.\n\npositional arguments:\n"
                            "  filename              the firmware file or the serial device"));
    assert_non_null(strstr(h, "\noptions:\n  -h, --help            show this help message and "
                              "exit\n  -o FILE, --output FILE\n                        "));
    /* every option is described, the additions too */
    for (int i = 0; i < args_option_count; i++)
        assert_non_null(strstr(h, args_options[i].long_name));
    assert_non_null(strstr(h, "\n  --plain               "));
    assert_non_null(strstr(h, "\n  --box                 "));
    assert_non_null(strstr(h, "\n  --version             "));
    assert_non_null(strstr(h, "\n  --fs CMD [CMD ...]    "));
    /* the epilog explains SIZE and the --fs/-- rule */
    assert_non_null(strstr(h, "0x1f0B"));
    assert_non_null(strstr(h, "--flash u0"));
    assert_non_null(strstr(h, "'--'"));
    /* and the exit statuses a script can rely on */
    assert_non_null(strstr(h, "\nExit status: 0 success; 1 error; 2 command-line error; 3 a "
                              "verification failed\n"));
    /* every --fs command with its arguments and what it does, one line each */
    for (int i = 0; i < fs_command_count; i++) {
        char line[160];
        snprintf(line, sizeof line, "\n  %s %s ", fs_commands[i].name, fs_commands[i].args);
        const char *at = strstr(h, line);
        assert_non_null(at);
        const char *nl = strchr(at + 1, '\n');
        assert_non_null(nl);
        assert_true(nl - strlen(fs_commands[i].help) > at);
        assert_memory_equal(nl - strlen(fs_commands[i].help), fs_commands[i].help,
                            strlen(fs_commands[i].help));
    }
    assert_non_null(strstr(h, "\n  grow [PART [BLOCKS]]  grow the filesystem to BLOCKS or its "
                              "whole partition\n"));
    /* no line is wider than the terminal */
    for (const char *line = h; *line;) {
        const char *nl = strchr(line, '\n');
        assert_non_null(nl);
        /* the usage keeps its one long unbreakable part, as argparse does */
        if (strncmp(line, "                           [--", 29) != 0)
            assert_true(nl - line <= 80);
        line = nl + 1;
    }
    assert_null(r.opt.filename);
    done(&r);
}

static void help_wins_wherever_it_is(void **state)
{
    (void)state;
    struct result r;
    /* taken when reached: no filename needed, unknown options do not matter */
    parse(&r, "fw.bin", "--bogus", "-h", "extra", NULL);
    assert_int_equal(r.rc, ARGS_EXIT);
    done(&r);
    parse(&r, "--he", NULL);
    assert_int_equal(r.rc, ARGS_EXIT);
    done(&r);
    parse(&r, "-qh", NULL);
    assert_int_equal(r.rc, ARGS_EXIT);
    done(&r);
    /* but an error in an option before it comes first */
    expect_error("argument -f/--flash-size: invalid IntArg value: 'xyz'", "-f", "xyz", "-h",
                 NULL);
    /* and an ambiguous abbreviation anywhere is found before anything is taken */
    expect_error("ambiguous option: --t could match --table, --trimblocks, --trim", "-h", "--t",
                 NULL);
}

static void version(void **state)
{
    (void)state;
    struct result r;
    parse(&r, "--version", NULL);
    assert_int_equal(r.rc, ARGS_EXIT);
    assert_string_equal(strbuf_str(&r.message), "mp-image-tool-esp32 9.8.7\n");
    done(&r);
    parse(&r, "--v", NULL);
    assert_int_equal(r.rc, ARGS_EXIT);
    done(&r);
}

/* ---- values ---- */

static void defaults(void **state)
{
    (void)state;
    struct result r;
    parse(&r, "firmware.bin", NULL);
    expect_ok(&r);
    struct tool_options *o = &r.opt;
    assert_string_equal(o->filename, "firmware.bin");
    assert_string_equal(o->filename_given, "firmware.bin");
    assert_false(o->is_device);
    assert_null(o->output);
    assert_false(o->quiet || o->no_reset || o->extract_app || o->debug || o->check_app ||
                 o->no_rollback || o->trimblocks || o->trim);
    assert_int_equal(o->flash_size, 0);
    assert_int_equal(o->app_size, 0);
    assert_string_equal(o->method, "direct");
    assert_int_equal(o->baud, 921600);
    assert_int_equal(o->log.count, 0);
    assert_int_equal(o->table.count + o->add.count + o->resize.count, 0);
    assert_int_equal(o->delete_.count + o->rename.count + o->erase.count + o->erase_fs.count +
                         o->read.count + o->write.count,
                     0);
    assert_null(o->ota_update);
    assert_null(o->from_csv);
    assert_null(o->flash_device);
    assert_int_equal(o->fs_count, 0);
    assert_int_equal(o->table_style, TABLE_STYLE_AUTO);
    done(&r);
}

static void every_option(void **state)
{
    (void)state;
    struct result r;
    parse(&r, "-o", "out.bin", "-q", "-n", "-x", "-f", "8M", "-a", "0x1f0B", "-m", "command",
          "-d", "--log", "loader=debug, fs:info", "--check-app", "--no-rollback", "--baud",
          "1.5M", "--ota-update", "app.bin", "--from-csv", "t.csv", "--table", "nvs=7B,vfs=fat:0",
          "--delete", "phy_init", "--add", "data=fat:50B", "--resize", "vfs=1M", "--rename",
          "vfs=vfs2,factory=app", "--erase", "nvs", "--erase-fs", "vfs", "--read",
          "nvs=a.bin,bootloader=b.bin", "--write", "phy_init=out.txt", "--flash", "a3",
          "--trimblocks", "--trim", "--box", "--fs", "ls", "/lib", "--", "u0", NULL);
    expect_ok(&r);
    struct tool_options *o = &r.opt;
    char text[128];
    assert_string_equal(o->filename, "/dev/ttyUSB0");
    assert_string_equal(o->filename_given, "u0");
    assert_true(o->is_device);
    assert_string_equal(o->output, "out.bin");
    assert_true(o->quiet && o->no_reset && o->extract_app && o->debug && o->check_app &&
                o->no_rollback && o->trimblocks && o->trim);
    assert_int_equal(o->flash_size, 0x800000);
    assert_int_equal(o->app_size, 0x1f0000);
    assert_string_equal(o->method, "command");
    assert_int_equal(o->log.count, 2);
    assert_string_equal(o->log.text, "loader=debug, fs:info");
    assert_string_equal(o->log.items[1].fields[0], "fs");
    assert_string_equal(o->log.items[1].fields[1], "info");
    assert_int_equal(o->baud, 1572864);
    assert_string_equal(o->ota_update, "app.bin");
    assert_string_equal(o->from_csv, "t.csv");
    assert_int_equal(o->table.count, 2);
    assert_string_equal(o->table.text, "nvs=7B,vfs=fat:0");
    assert_int_equal(o->table.items[0].size, 0x7000);
    assert_string_equal(o->table.items[1].subtype, "fat");
    arglist_format(&o->delete_, text, sizeof text);
    assert_string_equal(text, "phy_init");
    partlist_format(&o->add, text, sizeof text);
    assert_string_equal(text, "data=fat=204800");
    partlist_format(&o->resize, text, sizeof text);
    assert_string_equal(text, "vfs=1048576");
    arglist_format(&o->rename, text, sizeof text);
    assert_string_equal(text, "vfs=vfs2,factory=app");
    assert_string_equal(o->erase.items[0].fields[0], "nvs");
    assert_string_equal(o->erase_fs.items[0].fields[0], "vfs");
    assert_int_equal(o->read.count, 2);
    assert_string_equal(o->read.items[1].fields[0], "bootloader");
    assert_string_equal(o->read.items[1].fields[1], "b.bin");
    assert_string_equal(o->write.text, "phy_init=out.txt");
    assert_string_equal(o->flash_device, "/dev/ttyACM3");
    assert_true(o->flash_is_device);
    assert_int_equal(o->table_style, TABLE_STYLE_BOX);
    assert_int_equal(o->fs_count, 1);
    assert_int_equal(o->fs[0].count, 2);
    assert_string_equal(o->fs[0].words[0], "ls");
    assert_string_equal(o->fs[0].words[1], "/lib");
    done(&r);
}

static void long_option_forms(void **state)
{
    (void)state;
    struct result r;
    parse(&r, "--flash-size=4M", "--output=x.bin", "--tab", "ota", "--app-s=0x200000",
          "fw.bin", NULL);
    expect_ok(&r);
    assert_int_equal(r.opt.flash_size, 4 << 20);
    assert_string_equal(r.opt.output, "x.bin");
    assert_string_equal(r.opt.table.items[0].name, "ota");
    assert_int_equal(r.opt.app_size, 0x200000);
    done(&r);
    /* an exact name beats the longer one it is a prefix of */
    parse(&r, "--flash", "c7", "--trim", "fw.bin", NULL);
    expect_ok(&r);
    assert_string_equal(r.opt.flash_device, "COM7");
    assert_true(r.opt.trim);
    assert_false(r.opt.trimblocks);
    done(&r);
    /* an empty value after '=': false for the Python tool, so not given */
    parse(&r, "--output=", "-f=", "--flash", "", "fw.bin", NULL);
    expect_ok(&r);
    assert_null(r.opt.output);
    assert_null(r.opt.flash_device);
    assert_int_equal(r.opt.flash_size, 0);
    done(&r);
}

static void short_option_forms(void **state)
{
    (void)state;
    struct result r;
    parse(&r, "-f8M", "-a", "1M", "fw.bin", "-o", "o.bin", NULL);
    expect_ok(&r);
    assert_int_equal(r.opt.flash_size, 8 << 20);
    assert_int_equal(r.opt.app_size, 1 << 20);
    assert_string_equal(r.opt.output, "o.bin");
    done(&r);
    parse(&r, "-qn", "fw.bin", NULL);
    expect_ok(&r);
    assert_true(r.opt.quiet && r.opt.no_reset);
    done(&r);
    parse(&r, "-qf8M", "fw.bin", NULL);
    expect_ok(&r);
    assert_true(r.opt.quiet);
    assert_int_equal(r.opt.flash_size, 8 << 20);
    done(&r);
    parse(&r, "-qnxd", "fw.bin", NULL);
    expect_ok(&r);
    assert_true(r.opt.quiet && r.opt.no_reset && r.opt.extract_app && r.opt.debug);
    done(&r);
    parse(&r, "-f=6M", "fw.bin", NULL);
    expect_ok(&r);
    assert_int_equal(r.opt.flash_size, 6 << 20);
    done(&r);
    /* a cluster ending in a value option takes the next word */
    parse(&r, "fw.bin", "-qo", "x.bin", NULL);
    expect_ok(&r);
    assert_string_equal(r.opt.output, "x.bin");
    done(&r);
    /* -fVALUE keeps everything after the letter, spaces included */
    parse(&r, "fw.bin", "-o x", NULL);
    expect_ok(&r);
    assert_string_equal(r.opt.output, " x");
    done(&r);
}

static void positional_anywhere_and_double_dash(void **state)
{
    (void)state;
    struct result r;
    parse(&r, "-q", "fw.bin", "-n", NULL);
    expect_ok(&r);
    assert_string_equal(r.opt.filename, "fw.bin");
    done(&r);
    parse(&r, "--", "-q", NULL);
    expect_ok(&r);
    assert_string_equal(r.opt.filename, "-q");
    assert_false(r.opt.quiet);
    done(&r);
    parse(&r, "-q", "--", "fw.bin", NULL);
    expect_ok(&r);
    assert_string_equal(r.opt.filename, "fw.bin");
    done(&r);
    /* "-m--": argparse drops the "--" value, the option counts as not given: default method */
    parse(&r, "-m--", "fw.bin", NULL);
    expect_ok(&r);
    assert_string_equal(r.opt.method, "direct");
    done(&r);
    /* words that look like negative numbers are arguments */
    parse(&r, "-5", NULL);
    expect_ok(&r);
    assert_string_equal(r.opt.filename, "-5");
    done(&r);
    parse(&r, "-f", "-2", "fw", NULL);
    expect_ok(&r);
    assert_int_equal(r.opt.flash_size, -2);
    done(&r);
    /* "-" alone and words with spaces are arguments */
    parse(&r, "-", NULL);
    expect_ok(&r);
    assert_string_equal(r.opt.filename, "-");
    done(&r);
    expect_error("the following arguments are required: filename", "-my file", NULL);
    expect_error("unrecognized arguments: fw", "-m y", "fw", "fw", NULL);
    parse(&r, "--no such", NULL);
    expect_ok(&r);
    assert_string_equal(r.opt.filename, "--no such");
    done(&r);
}

static void method_and_log_values_are_checked(void **state)
{
    (void)state;
    struct result r;
    /* the Python tool's three methods are accepted (one native loader serves them all) */
    const char *methods[] = {"direct", "command", "subprocess"};
    for (size_t i = 0; i < 3; i++) {
        parse(&r, "fw.bin", "-m", methods[i], NULL);
        expect_ok(&r);
        assert_string_equal(r.opt.method, methods[i]);
        done(&r);
    }
    expect_error("argument -m/--method: invalid choice: 'esptool' (choose from 'direct', "
                 "'command', 'subprocess')",
                 "fw.bin", "-m", "esptool", NULL);
    /* every logger, levels in any case, and the words that list them */
    parse(&r, "fw.bin", "--log", "main=DEBUG,loader=info,firmware=action,fs=Warning,ota=error",
          NULL);
    expect_ok(&r);
    assert_int_equal(r.opt.log.count, 5);
    done(&r);
    const char *lists[] = {"list", "show", "help"};
    for (size_t i = 0; i < 3; i++) {
        parse(&r, "fw.bin", "--log", lists[i], NULL);
        expect_ok(&r);
        assert_true(args_log_lists(r.opt.log.items[0].fields[0]));
        done(&r);
    }
    expect_error("argument --log: unknown logger 'esp' (choose from 'main', 'loader', "
                 "'firmware', 'fs', 'ota'; 'list' shows them)",
                 "fw.bin", "--log", "fs=info,esp=debug", NULL);
    expect_error("argument --log: invalid level 'loud' for 'fs' (choose from 'debug', 'info', "
                 "'action', 'warning', 'error')",
                 "fw.bin", "--log", "fs=loud", NULL);
    expect_error("argument --log: expected NAME=LEVEL, not 'fs'", "fw.bin", "--log", "fs", NULL);
}

static void repeated_options_keep_the_last(void **state)
{
    (void)state;
    struct result r;
    parse(&r, "-f", "4M", "--delete", "a,b", "--table", "ota", "-o", "1", "fw.bin", "-f", "8M",
          "--delete", "c", "--table", "default", "-o", "2", "--plain", "--box", "--plain",
          "--log", "fs=debug", "--log", "ota=warning", "--flash", "u1", "--flash", "u2", NULL);
    expect_ok(&r);
    assert_int_equal(r.opt.flash_size, 8 << 20);
    assert_int_equal(r.opt.delete_.count, 1);
    assert_string_equal(r.opt.delete_.items[0].fields[0], "c");
    assert_string_equal(r.opt.table.items[0].name, "default");
    assert_string_equal(r.opt.output, "2");
    assert_int_equal(r.opt.table_style, TABLE_STYLE_PLAIN);
    assert_string_equal(r.opt.log.text, "ota=warning");
    assert_string_equal(r.opt.flash_device, "/dev/ttyUSB2");
    done(&r);
}

/* --nvs takes its words like --fs, into its own list; the two interleave in their own orders */
static void nvs_words(void **state)
{
    (void)state;
    struct result r;
    parse(&r, "fw.bin", "--nvs", "set", "wifi.ssid=str:home", "--fs", "ls", "--nvs", "show",
          "nvs", "--nvs", "erase", "wifi", NULL);
    expect_ok(&r);
    assert_string_equal(r.opt.filename, "fw.bin");
    assert_int_equal(r.opt.fs_count, 1);
    assert_int_equal(r.opt.fs[0].count, 1);
    assert_int_equal(r.opt.nvs_count, 3);
    assert_int_equal(r.opt.nvs[0].count, 2);
    assert_string_equal(r.opt.nvs[0].words[1], "wifi.ssid=str:home");
    assert_int_equal(r.opt.nvs[1].count, 2);
    assert_string_equal(r.opt.nvs[1].words[0], "show");
    assert_string_equal(r.opt.nvs[2].words[1], "wifi");
    done(&r);
    expect_error("argument --nvs: expected at least one argument", "fw.bin", "--nvs", NULL);
}

static void fs_is_greedy(void **state)
{
    (void)state;
    struct result r;
    /* §1.3: the filename after --fs words is taken as one of them */
    expect_error("the following arguments are required: filename", "--fs", "ls", "/lib",
                 "firmware.bin", NULL);
    parse(&r, "firmware.bin", "--fs", "ls", "/lib", NULL);
    expect_ok(&r);
    assert_string_equal(r.opt.filename, "firmware.bin");
    assert_int_equal(r.opt.fs_count, 1);
    assert_int_equal(r.opt.fs[0].count, 2);
    done(&r);
    parse(&r, "--fs", "ls", "--", "firmware.bin", NULL);
    expect_ok(&r);
    assert_string_equal(r.opt.filename, "firmware.bin");
    assert_int_equal(r.opt.fs[0].count, 1);
    assert_string_equal(r.opt.fs[0].words[0], "ls");
    done(&r);
    /* each occurrence is one command, in order; an option ends the words */
    parse(&r, "u0", "--fs", "mkdir", "/a", "--fs", "put", "x.py", "/a", "-q", "--fs", "ls",
          NULL);
    expect_ok(&r);
    assert_true(r.opt.quiet);
    assert_int_equal(r.opt.fs_count, 3);
    assert_int_equal(r.opt.fs[0].count, 2);
    assert_int_equal(r.opt.fs[1].count, 3);
    assert_string_equal(r.opt.fs[1].words[0], "put");
    assert_string_equal(r.opt.fs[1].words[2], "/a");
    assert_int_equal(r.opt.fs[2].count, 1);
    assert_string_equal(r.opt.fs[2].words[0], "ls");
    done(&r);
    /* --fs=WORD takes just that word */
    parse(&r, "--fs=df", "fw.bin", NULL);
    expect_ok(&r);
    assert_int_equal(r.opt.fs_count, 1);
    assert_int_equal(r.opt.fs[0].count, 1);
    assert_string_equal(r.opt.fs[0].words[0], "df");
    done(&r);
    expect_error("unrecognized arguments: fw", "--fs=ls", "/lib", "fw", NULL);
    expect_error("argument --fs: expected at least one argument", "fw.bin", "--fs", NULL);
    expect_error("argument --fs: expected at least one argument", "--fs", "-q", "fw.bin", NULL);
}

static void prefix_matching(void **state)
{
    (void)state;
    struct result r;
    expect_error("ambiguous option: --t could match --table, --trimblocks, --trim", "fw",
                 "--t", "x", NULL);
    expect_error("ambiguous option: --t=5 could match --table, --trimblocks, --trim", "fw",
                 "--t=5", NULL);
    expect_error("ambiguous option: --fl could match --flash-size, --flash", "fw", "--fl", "4M",
                 NULL);
    expect_error("ambiguous option: --er could match --erase, --erase-fs", "fw", "--er", "x",
                 NULL);
    expect_error("ambiguous option: --no could match --no-reset, --no-rollback", "fw", "--no",
                 NULL);
    /* the additions never make a Python-tool abbreviation ambiguous */
    parse(&r, "--b", "460800", "fw", NULL);
    expect_ok(&r);
    assert_int_equal(r.opt.baud, 460800);
    done(&r);
    parse(&r, "--bo", "--pl", "fw", NULL);
    expect_ok(&r);
    assert_int_equal(r.opt.table_style, TABLE_STYLE_PLAIN);
    done(&r);
    parse(&r, "--trimb", "--fr", "t.csv", "--ota", "a.bin", "--rena", "a=b", "fw", NULL);
    expect_ok(&r);
    assert_true(r.opt.trimblocks);
    assert_string_equal(r.opt.from_csv, "t.csv");
    assert_string_equal(r.opt.ota_update, "a.bin");
    assert_string_equal(r.opt.rename.text, "a=b");
    done(&r);
}

static void conversion_errors(void **state)
{
    (void)state;
    expect_error("argument -f/--flash-size: invalid IntArg value: 'xyz'", "fw", "-f", "xyz",
                 NULL);
    expect_error("argument -f/--flash-size: invalid IntArg value: '0xb'", "-f0xb", "fw", NULL);
    expect_error("argument -a/--app-size: invalid IntArg value: '010'", "fw", "--app=010", NULL);
    expect_error("argument --baud: invalid IntArg value: 'fast'", "fw", "--baud", "fast", NULL);
    expect_error("argument --table: invalid PartList value: 'vfs=big'", "fw", "--table",
                 "vfs=big", NULL);
    expect_error("argument --add: invalid PartList value: 'data=fat'", "fw", "--add", "data=fat",
                 NULL);
    expect_error("argument --resize: invalid PartList value: 'vfs=1Q'", "--resize", "vfs=1Q",
                 "fw", NULL);
    /* values are shown as Python's repr() shows them */
    expect_error("argument -f/--flash-size: invalid IntArg value: \"it's\"", "fw", "-f", "it's",
                 NULL);
    expect_error("argument -f/--flash-size: invalid IntArg value: 'a\\tb\\\\'", "fw", "-f",
                 "a\tb\\", NULL);
    expect_error("argument -f/--flash-size: invalid IntArg value: 'q\\'\"'", "fw", "-f", "q'\"",
                 NULL);
    expect_error("argument -f/--flash-size: invalid IntArg value: '\\x01\\udcff\\xa0é'", "fw",
                 "-f", "\x01\xff\xc2\xa0\xc3\xa9", NULL);
}

static void other_errors(void **state)
{
    (void)state;
    expect_error("the following arguments are required: filename", NULL);
    expect_error("the following arguments are required: filename", "-q", NULL);
    expect_error("the following arguments are required: filename", "--bogus", NULL);
    expect_error("unrecognized arguments: --bogus", "fw", "--bogus", NULL);
    expect_error("unrecognized arguments: --bogus x", "--bogus", "fw", "x", NULL);
    expect_error("unrecognized arguments: x", "fw", "x", NULL);
    expect_error("unrecognized arguments: b c", "a", "b", "c", NULL);
    expect_error("unrecognized arguments: -z", "fw", "--", "-z", NULL);
    expect_error("argument -o/--output: expected one argument", "fw", "-o", NULL);
    expect_error("argument -o/--output: expected one argument", "-o", "-q", "fw", NULL);
    expect_error("argument -f/--flash-size: expected one argument", "-f", "--", "8M", "fw",
                 NULL);
    expect_error("argument -a/--app-size: expected one argument", "-a", "-1M", "fw", NULL);
    expect_error("argument -q/--quiet: ignored explicit argument 'z'", "-qz", "fw", NULL);
    expect_error("argument -q/--quiet: ignored explicit argument ''", "-q=", "fw", NULL);
    expect_error("argument -q/--quiet: ignored explicit argument '1'", "--quiet=1", "fw", NULL);
    expect_error("argument -x/--extract-app: ignored explicit argument '3'", "fw", "-x=3", NULL);
    expect_error("argument --check-app: ignored explicit argument 'yes'", "fw", "--check=yes",
                 NULL);
}

static void narrow_terminal_error_usage(void **state)
{
    (void)state;
    char *argv[] = {"mp-image-tool-esp32", NULL};
    struct args_context ctx = {NULL, 30};
    struct tool_options opt;
    struct strbuf msg = {0};
    assert_int_equal(args_parse(1, argv, &ctx, &opt, &msg), ARGS_ERROR);
    assert_true(starts_with(strbuf_str(&msg), "usage: mp-image-tool-esp32\n       [-h] [-o FILE]"));
    assert_non_null(strstr(strbuf_str(&msg), "filename\nmp-image-tool-esp32: error: the "
                                             "following arguments are required: filename\n"));
    strbuf_free(&msg);
    args_free(&opt);
    args_free(&opt); /* freeing twice is harmless */
}

static void devices_and_files(void **state)
{
    (void)state;
    struct result r;
    parse(&r, "c3", NULL);
    expect_ok(&r);
    assert_string_equal(r.opt.filename, "COM3");
    assert_true(r.opt.is_device);
    done(&r);
    parse(&r, "rfc2217://localhost:4000", "--flash", "socket://h:23", NULL);
    expect_ok(&r);
    assert_true(r.opt.is_device);
    assert_true(r.opt.flash_is_device);
    done(&r);
    parse(&r, "u0.bin", "--flash", "fw2.bin", NULL);
    expect_ok(&r);
    assert_string_equal(r.opt.filename, "u0.bin");
    assert_false(r.opt.is_device);
    assert_false(r.opt.flash_is_device);
    done(&r);
}

static void option_table_is_consistent(void **state)
{
    (void)state;
    for (int i = 0; i < args_option_count; i++) {
        const struct args_option *o = &args_options[i];
        assert_true(strncmp(o->long_name, "--", 2) == 0);
        assert_non_null(o->help);
        assert_int_equal(o->metavar != NULL, o->kind == ARGS_VALUE || o->kind == ARGS_WORDS);
        for (int k = 0; k < i; k++) {
            assert_true(strcmp(o->long_name, args_options[k].long_name) != 0);
            assert_true(!o->short_name || o->short_name != args_options[k].short_name);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(usage_block_is_the_python_tools),
        cmocka_unit_test(usage_wraps_like_argparse),
        cmocka_unit_test(help_text),
        cmocka_unit_test(help_wins_wherever_it_is),
        cmocka_unit_test(method_and_log_values_are_checked),
        cmocka_unit_test(version),
        cmocka_unit_test(defaults),
        cmocka_unit_test(every_option),
        cmocka_unit_test(long_option_forms),
        cmocka_unit_test(short_option_forms),
        cmocka_unit_test(positional_anywhere_and_double_dash),
        cmocka_unit_test(repeated_options_keep_the_last),
        cmocka_unit_test(fs_is_greedy),
        cmocka_unit_test(nvs_words),
        cmocka_unit_test(prefix_matching),
        cmocka_unit_test(conversion_errors),
        cmocka_unit_test(other_errors),
        cmocka_unit_test(narrow_terminal_error_usage),
        cmocka_unit_test(devices_and_files),
        cmocka_unit_test(option_table_is_consistent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
