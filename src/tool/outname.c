#include "tool/outname.h"

#include <inttypes.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout/layout.h"
#include "tool/fsglue.h"
#include "tool/nvsglue.h"
#include "util/strbuf.h"

#define MIB 0x100000u

static void ext_append(struct strbuf *ext, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void ext_append(struct strbuf *ext, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    for (char *p = buf; *p; p++)
        if (*p == '/' || *p == '\\')
            *p = '_';
    strbuf_puts(ext, buf);
}

static char *base_name(const char *path)
{
    char *copy = strdup(path);
    char *b = copy ? strdup(basename(copy)) : NULL;
    free(copy);
    return b;
}

/* The changes in the order the run makes them (seed-spec §7.1). */
static void changes(const struct tool_options *o, struct strbuf *ext)
{
    char text[512];
    if (o->flash_size)
        ext_append(ext, "-%" PRIu32 "MB", (uint32_t)o->flash_size / MIB);
    if (o->from_csv)
        ext_append(ext, "-CSV");
    if (o->table.count) {
        char layout_name[64];
        partlist_format(&o->table, layout_name, sizeof layout_name);
        if (layout_is_builtin(layout_name)) {
            char upper[16];
            size_t i = 0;
            for (; layout_name[i] && i + 1 < sizeof upper; i++)
                upper[i] = (char)(layout_name[i] - 'a' + 'A');
            upper[i] = '\0';
            ext_append(ext, "-%s", upper);
        } else {
            ext_append(ext, "-TABLE");
        }
    }
    if (o->app_size)
        ext_append(ext, "-appsize=%" PRId64 "B", o->app_size / 0x1000);
    if (o->delete_.count) {
        arglist_format(&o->delete_, text, sizeof text);
        ext_append(ext, "-delete=%s", text);
    }
    if (o->resize.count) {
        partlist_format(&o->resize, text, sizeof text);
        ext_append(ext, "-resize=%s", text);
    }
    if (o->rename.count) {
        arglist_format(&o->rename, text, sizeof text);
        ext_append(ext, "-rename=%s", text);
    }
    if (o->add.count) {
        partlist_format(&o->add, text, sizeof text);
        ext_append(ext, "-add=%s", text);
    }
    if (o->erase.count) {
        arglist_format(&o->erase, text, sizeof text);
        ext_append(ext, "-erase=%s", text);
    }
    if (o->erase_fs.count) {
        arglist_format(&o->erase_fs, text, sizeof text);
        ext_append(ext, "-erase-fs=%s", text);
    }
    if (o->write.count) {
        arglist_format(&o->write, text, sizeof text);
        ext_append(ext, "-write=%s", text);
    }
    if (o->ota_update)
        ext_append(ext, "-ota-update");
    if (o->ota_select)
        ext_append(ext, "-ota-select=%s", o->ota_select);
    if (o->ota_erase)
        ext_append(ext, "-ota-erase");
    if (fs_commands_modify(o) && ext->len == 0 && !o->output)
        ext_append(ext, "-fs");
    if (nvs_commands_modify(o) && ext->len == 0 && !o->output)
        ext_append(ext, "-nvs");
}

int outname_firmware(const struct tool_options *opt, char **out)
{
    *out = NULL;
    if (opt->output)
        return (*out = strdup(opt->output)) ? 0 : -1;
    struct strbuf ext = {0};
    changes(opt, &ext);
    if (ext.len == 0)
        return 0;
    char *b = base_name(opt->filename);
    char *name = NULL;
    if (b) {
        char *dot = strrchr(b, '.');
        size_t n = strlen(b) + ext.len + 1;
        name = malloc(n);
        if (name && dot && dot != b) {
            *dot = '\0';
            snprintf(name, n, "%s%s.%s", b, ext.text, dot + 1);
        } else if (name) {
            snprintf(name, n, "%s%s", b, ext.text);
        }
    }
    free(b);
    strbuf_free(&ext);
    *out = name;
    return name ? 0 : -1;
}

char *outname_app(const struct tool_options *opt)
{
    if (opt->output)
        return strdup(opt->output);
    char *b = base_name(opt->filename);
    if (!b)
        return NULL;
    size_t n = strlen(b);
    char *name = malloc(n + 9);
    if (name) {
        if (n > 4 && strcmp(b + n - 4, ".bin") == 0)
            b[n - 4] = '\0';
        sprintf(name, "%s.app-bin", b);
    }
    free(b);
    return name;
}
