/* Unit tests of several boards in one run: which words the parser takes as boards (as filename,
 * after --flash, "all"), what it refuses, each board's command line, and "all" on a fake sysfs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "tool/args.h"
#include "tool/fleet.h"

#define MAX_WORDS 32

struct parsed {
    int rc;
    int argc;
    char *argv[MAX_WORDS];
    struct tool_options opt;
    struct strbuf message;
};

static void parse(struct parsed *p, const char *first, ...)
{
    va_list ap;
    va_start(ap, first);
    p->argc = 0;
    p->argv[p->argc++] = "mp-image-tool-esp32";
    for (const char *w = first; w; w = va_arg(ap, const char *)) {
        assert_true(p->argc < MAX_WORDS - 1);
        p->argv[p->argc++] = (char *)w;
    }
    va_end(ap);
    p->argv[p->argc] = NULL;
    memset(&p->message, 0, sizeof p->message);
    struct args_context ctx = {"1", 80};
    p->rc = args_parse(p->argc, p->argv, &ctx, &p->opt, &p->message);
}

static void done(struct parsed *p)
{
    args_free(&p->opt);
    strbuf_free(&p->message);
}

/* The board words are exactly the given argv indices (-1 ends the list). */
static void expect_words(const struct parsed *p, int after_flash, ...)
{
    va_list ap;
    va_start(ap, after_flash);
    int n = 0;
    for (int index = va_arg(ap, int); index >= 0; index = va_arg(ap, int)) {
        assert_true(n < p->opt.board_word_count);
        assert_int_equal(p->opt.board_words[n], index);
        n++;
    }
    va_end(ap);
    assert_int_equal(p->opt.board_word_count, n);
    if (n)
        assert_int_equal(p->opt.boards_after_flash, after_flash);
}

static void boards_as_filename(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p, "u0", "u1", "rfc2217://host:4000", "--fs", "put", "src", "/", NULL);
    assert_int_equal(p.rc, ARGS_RUN);
    assert_true(args_several_boards(&p.opt));
    expect_words(&p, 0, 1, 2, 3, -1);
    assert_string_equal(p.opt.filename, "/dev/ttyUSB0");
    assert_int_equal(p.opt.fs_count, 1);
    assert_int_equal(p.opt.fs[0].count, 3);
    done(&p);
    /* after the options and after "--" too */
    parse(&p, "--fs", "mkdir", "/data", "--", "a0", "a1", NULL);
    assert_int_equal(p.rc, ARGS_RUN);
    expect_words(&p, 0, 5, 6, -1);
    done(&p);
    parse(&p, "-q", "c3", "--check-app", "c4", NULL);
    assert_int_equal(p.rc, ARGS_RUN);
    expect_words(&p, 0, 2, 4, -1);
    done(&p);
    /* "all" alone */
    parse(&p, "all", "--fs", "ls", NULL);
    assert_int_equal(p.rc, ARGS_RUN);
    expect_words(&p, 0, 1, -1);
    done(&p);
    /* one board, or a file: not several boards, and the Python tool's errors stay */
    parse(&p, "u0", "--fs", "ls", NULL);
    assert_int_equal(p.rc, ARGS_RUN);
    assert_false(args_several_boards(&p.opt));
    done(&p);
    parse(&p, "fw.bin", "u0", NULL);
    assert_int_equal(p.rc, ARGS_ERROR);
    assert_non_null(strstr(strbuf_str(&p.message), "unrecognized arguments: u0"));
    done(&p);
    parse(&p, "u0", "fw.bin", NULL);
    assert_int_equal(p.rc, ARGS_ERROR);
    assert_non_null(strstr(strbuf_str(&p.message), "unrecognized arguments: fw.bin"));
    done(&p);
}

static void boards_after_flash(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p, "fw.bin", "--flash", "u0", "u1", "u2", NULL);
    assert_int_equal(p.rc, ARGS_RUN);
    expect_words(&p, 1, 3, 4, 5, -1);
    assert_string_equal(p.opt.flash_device, "/dev/ttyUSB0");
    assert_string_equal(p.opt.filename, "fw.bin");
    done(&p);
    parse(&p, "--flash", "u0", "socket://h:1", "fw.bin", NULL);
    assert_int_equal(p.rc, ARGS_RUN);
    expect_words(&p, 1, 2, 3, -1);
    assert_string_equal(p.opt.filename, "fw.bin");
    done(&p);
    /* as in argparse, the last word is the filename when nothing else can be */
    parse(&p, "--flash", "u0", "u1", NULL);
    assert_int_equal(p.rc, ARGS_RUN);
    assert_false(args_several_boards(&p.opt));
    assert_string_equal(p.opt.flash_device, "/dev/ttyUSB0");
    assert_string_equal(p.opt.filename, "/dev/ttyUSB1");
    done(&p);
    parse(&p, "fw.bin", "--flash", "all", NULL);
    assert_int_equal(p.rc, ARGS_RUN);
    expect_words(&p, 1, 3, -1);
    done(&p);
    parse(&p, "fw.bin", "--flash=all", NULL);
    assert_int_equal(p.rc, ARGS_RUN);
    expect_words(&p, 1, 2, -1);
    done(&p);
    /* --flash given again: the last one counts */
    parse(&p, "fw.bin", "--flash", "u0", "u1", "--flash", "u2", NULL);
    assert_int_equal(p.rc, ARGS_RUN);
    assert_false(args_several_boards(&p.opt));
    assert_string_equal(p.opt.flash_device, "/dev/ttyUSB2");
    done(&p);
}

static void expect_refusal(const char *what, const char *first, ...)
{
    struct parsed p;
    va_list ap;
    va_start(ap, first);
    p.argc = 0;
    p.argv[p.argc++] = "mp-image-tool-esp32";
    for (const char *w = first; w; w = va_arg(ap, const char *))
        p.argv[p.argc++] = (char *)w;
    va_end(ap);
    p.argv[p.argc] = NULL;
    memset(&p.message, 0, sizeof p.message);
    p.rc = args_parse(p.argc, p.argv, NULL, &p.opt, &p.message);
    assert_int_equal(p.rc, ARGS_ERROR);
    if (!strstr(strbuf_str(&p.message), what))
        fail_msg("expected '%s' in: %s", what, strbuf_str(&p.message));
    done(&p);
}

static void refusals(void **state)
{
    (void)state;
    expect_refusal("--flash cannot copy from several boards", "u0", "u1", "--flash", "u2", NULL);
    expect_refusal("needs a firmware file as filename", "u0", "--flash", "u1", "u2", NULL);
    expect_refusal("needs a firmware file as filename", "all", "--flash", "u1", "u2", NULL);
    expect_refusal("-o/--output names one file", "u0", "u1", "-o", "x.bin", NULL);
    expect_refusal("-x/--extract-app writes one file", "all", "-x", NULL);
    expect_refusal("--read would write", "u0", "u1", "--read", "nvs=n.bin", NULL);
    expect_refusal("--fs get would copy", "u0", "u1", "--fs", "get", "main.py", NULL);
}

static void child_command_lines(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p, "u0", "u1", "--fs", "put", "src", "/", NULL);
    assert_int_equal(p.rc, ARGS_RUN);
    char **child = fleet_child_argv(p.argc, p.argv, &p.opt, "/dev/ttyUSB1");
    assert_non_null(child);
    const char *want[] = {"mp-image-tool-esp32", "/dev/ttyUSB1", "--fs", "put", "src", "/"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        assert_string_equal(child[i], want[i]);
    assert_null(child[6]);
    free(child);
    done(&p);
    parse(&p, "fw.bin", "--flash", "u0", "u1", "-q", NULL);
    assert_int_equal(p.rc, ARGS_RUN);
    child = fleet_child_argv(p.argc, p.argv, &p.opt, "rfc2217://h:1");
    const char *want2[] = {"mp-image-tool-esp32", "fw.bin", "--flash", "rfc2217://h:1", "-q"};
    for (size_t i = 0; i < sizeof want2 / sizeof want2[0]; i++)
        assert_string_equal(child[i], want2[i]);
    assert_null(child[5]);
    free(child);
    done(&p);
    parse(&p, "fw.bin", "--flash=all", NULL);
    assert_int_equal(p.rc, ARGS_RUN);
    child = fleet_child_argv(p.argc, p.argv, &p.opt, "/dev/ttyACM0");
    const char *want3[] = {"mp-image-tool-esp32", "fw.bin", "--flash", "/dev/ttyACM0"};
    for (size_t i = 0; i < sizeof want3 / sizeof want3[0]; i++)
        assert_string_equal(child[i], want3[i]);
    assert_null(child[4]);
    /* that command line is one board's */
    struct tool_options one;
    struct strbuf message = {0};
    assert_int_equal(args_parse(4, child, NULL, &one, &message), ARGS_RUN);
    assert_false(args_several_boards(&one));
    assert_string_equal(one.flash_device, "/dev/ttyACM0");
    args_free(&one);
    strbuf_free(&message);
    free(child);
    done(&p);
}

/* ---- "all" on a fake sysfs ---- */

static void mkdirs(const char *path)
{
    char tmp[512];
    assert_true(snprintf(tmp, sizeof tmp, "%s", path) < (int)sizeof tmp);
    for (char *s = tmp + 1; *s; s++)
        if (*s == '/') {
            *s = '\0';
            mkdir(tmp, 0755);
            *s = '/';
        }
    mkdir(tmp, 0755);
}

static void put_file(const char *dir, const char *name, const char *text)
{
    char path[600];
    assert_true(snprintf(path, sizeof path, "%s/%s", dir, name) < (int)sizeof path);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A USB-serial tty: class/tty/<name>/device -> the port folder under its USB device. */
static void fake_usb_tty(const char *root, const char *name, const char *usbdev, const char *vid,
                         const char *pid)
{
    char dev[512], port[700], cls[512], target[700], link[600];
    snprintf(dev, sizeof dev, "%s/devices/usb1/%s", root, usbdev);
    mkdirs(dev);
    put_file(dev, "idVendor", vid);
    put_file(dev, "idProduct", pid);
    snprintf(port, sizeof port, "%s/%s:1.0/%s", dev, usbdev, name);
    mkdirs(port);
    snprintf(cls, sizeof cls, "%s/class/tty/%s", root, name);
    mkdirs(cls);
    snprintf(target, sizeof target, "../../../devices/usb1/%s/%s:1.0/%s", usbdev, usbdev, name);
    snprintf(link, sizeof link, "%s/device", cls);
    assert_int_equal(symlink(target, link), 0);
}

static void all_means_the_esp_ports(void **state)
{
    (void)state;
    char root[] = "/tmp/mp-fleet-sysfs-XXXXXX";
    assert_non_null(mkdtemp(root));
    fake_usb_tty(root, "ttyUSB1", "1-1", "10c4\n", "ea60\n"); /* CP2102 */
    fake_usb_tty(root, "ttyUSB0", "1-2", "1a86\n", "7523\n"); /* CH340 */
    fake_usb_tty(root, "ttyUSB2", "1-3", "2341\n", "0043\n"); /* not an ESP board */
    struct parsed p;
    parse(&p, "all", "u1", "rfc2217://lab:4001", "--fs", "ls", NULL);
    assert_int_equal(p.rc, ARGS_RUN);
    char **boards;
    int n;
    struct error err;
    assert_int_equal(fleet_boards(&p.opt, p.argv, root, &boards, &n, &err), 0);
    /* each board once, in order: "all" sorted, then the named ones not yet there */
    assert_int_equal(n, 3);
    assert_string_equal(boards[0], "/dev/ttyUSB0");
    assert_string_equal(boards[1], "/dev/ttyUSB1");
    assert_string_equal(boards[2], "rfc2217://lab:4001");
    for (int i = 0; i < n; i++)
        free(boards[i]);
    free(boards);
    done(&p);
    /* no ESP port at all: a clear error */
    char empty[] = "/tmp/mp-fleet-empty-XXXXXX";
    assert_non_null(mkdtemp(empty));
    char cls[600];
    snprintf(cls, sizeof cls, "%s/class/tty", empty);
    mkdirs(cls);
    parse(&p, "fw.bin", "--flash", "all", NULL);
    assert_int_equal(p.rc, ARGS_RUN);
    assert_int_equal(fleet_boards(&p.opt, p.argv, empty, &boards, &n, &err), -1);
    assert_non_null(strstr(err.msg, "'all' found no ESP-looking USB serial port"));
    assert_int_equal(n, 0);
    done(&p);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", root, empty);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(boards_as_filename),
        cmocka_unit_test(boards_after_flash),
        cmocka_unit_test(refusals),
        cmocka_unit_test(child_command_lines),
        cmocka_unit_test(all_means_the_esp_ports),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
