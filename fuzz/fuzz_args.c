/* libFuzzer harness: the command-line parser on argument vectors (input split into words at
 * newlines), and the value parsers (SIZE, ArgList, PartList, flash ranges, device names) on the
 * whole input. Checks the invariants callers rely on; leaks are caught by the sanitizer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tool/args.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_WORDS 64

static void check_options(const struct tool_options *o)
{
    /* --list-ports and --merge run without a filename */
    if (!o->filename || !o->method || (!o->filename_given && !o->list_ports && !o->merge.count))
        abort();
    if (o->is_device != value_is_device(o->filename))
        abort();
    for (int i = 0; i < o->fs_count; i++) {
        if (o->fs[i].count < 1)
            abort();
        for (int k = 0; k < o->fs[i].count; k++)
            if (!o->fs[i].words[k])
                abort();
    }
    const struct partlist *parts[] = {&o->table, &o->add, &o->resize};
    for (size_t i = 0; i < 3; i++)
        if (parts[i]->count && !parts[i]->text)
            abort();
}

static void check_lists(const char *text)
{
    struct error err;
    struct arglist al;
    if (arglist_parse(text, &al, &err) == 0) {
        if (al.count < 1 || strcmp(al.text, text) != 0)
            abort();
        size_t n = arglist_format(&al, NULL, 0);
        char *buf = malloc(n + 1);
        if (arglist_format(&al, buf, n + 1) != n || strlen(buf) != n)
            abort();
        /* the fields are trimmed and never contain a separator */
        for (int i = 0; i < al.count; i++)
            for (int k = 0; k < al.items[i].count; k++)
                if (strpbrk(al.items[i].fields[k], ",=:"))
                    abort();
        /* flash ranges: within 256 MiB, never empty, the file one of the fields */
        for (int i = 0; i < al.count; i++)
            for (int with_file = 0; with_file < 2; with_file++) {
                struct flash_range r;
                const char *file = NULL;
                if (value_parse_range(&al.items[i], with_file, "--read", &r, &file, &err))
                    continue;
                if (r.has_length && (r.length == 0 || (uint64_t)r.start + r.length > 0x10000000u))
                    abort();
                if (with_file != (file != NULL) ||
                    (file && file != al.items[i].fields[al.items[i].count - 1]))
                    abort();
            }
        free(buf);
        arglist_free(&al);
    }
    struct partlist pl;
    if (partlist_parse(text, &pl, &err) == 0) {
        size_t n = partlist_format(&pl, NULL, 0);
        char *buf = malloc(n + 1);
        if (partlist_format(&pl, buf, n + 1) != n || strlen(buf) != n)
            abort();
        free(buf);
        partlist_free(&pl);
    } else if (pl.count != 0 || pl.items) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';

    /* The values on the whole input (up to a NUL, as in a C string). */
    struct error err;
    int64_t v;
    if (value_parse_size(text, &v, &err) == 0 && text[0] == '\0' && v != 0)
        abort();
    check_lists(text);
    char *dev = value_expand_device(text);
    if (!dev)
        abort();
    value_is_device(dev);
    free(dev);
    uint32_t baud;
    if (value_round_baud(v, &baud, &err) == 0 && (baud < 115200 || baud > 3000000))
        abort();

    /* The whole input as an argument vector; the first byte also picks a terminal width. */
    char *argv[MAX_WORDS + 2];
    int argc = 0;
    argv[argc++] = "mp-image-tool-esp32";
    char *p = text;
    for (size_t i = 0; i <= size && argc <= MAX_WORDS; i++) {
        if (i == size || text[i] == '\n') {
            text[i] = '\0';
            argv[argc++] = p;
            p = text + i + 1;
        }
    }
    argv[argc] = NULL;
    struct args_context ctx = {"fuzz", size ? 1 + data[0] % 160 : 80};
    struct tool_options opt;
    struct strbuf message = {0};
    int rc = args_parse(argc, argv, &ctx, &opt, &message);
    if (rc == ARGS_RUN) {
        if (message.len)
            abort();
        check_options(&opt);
    } else if (rc == ARGS_ERROR) {
        if (!strstr(strbuf_str(&message), "mp-image-tool-esp32: error: ") || opt.filename)
            abort();
    } else if (rc != ARGS_EXIT || message.len == 0) {
        abort();
    }
    args_free(&opt);
    strbuf_free(&message);
    free(text);
    return 0;
}
