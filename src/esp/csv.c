/* Partition CSV reader and writer (esp-image-formats §7.6, seed-spec §6.3). */
#include "esp/csv.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/alloc.h"
#include "util/check.h"

#define MAX_FIELDS 6
#define FIRST_OFFSET PTABLE_FIRST_OFFSET /* table offset 0x8000 + its 0x1000 sector */

/* ---- numbers ---- */

/* Plain integer: decimal or 0x/0o/0b prefixed (Python's int(x, 0) without underscores). */
static int parse_plain(const char *s, uint64_t *out)
{
    int base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        base = 16, s += 2;
    else if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O'))
        base = 8, s += 2;
    else if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B'))
        base = 2, s += 2;
    if (!*s)
        return -1;
    uint64_t v = 0;
    for (; *s; s++) {
        int d;
        if (*s >= '0' && *s <= '9')
            d = *s - '0';
        else if (*s >= 'a' && *s <= 'f')
            d = *s - 'a' + 10;
        else if (*s >= 'A' && *s <= 'F')
            d = *s - 'A' + 10;
        else
            return -1;
        if (d >= base)
            return -1;
        v = v * (uint64_t)base + (uint64_t)d;
        if (v > 0xFFFFFFFFull)
            return -1;
    }
    *out = v;
    return 0;
}

int csv_parse_size(const char *text, uint32_t *out)
{
    size_t n = strlen(text);
    if (n == 0 || n > 40)
        return -1;
    char buf[48];
    memcpy(buf, text, n + 1);
    uint64_t mult = 1;
    char last = buf[n - 1];
    if (last == 'k' || last == 'K')
        mult = 1024, buf[n - 1] = '\0';
    else if (last == 'm' || last == 'M')
        mult = 1024 * 1024, buf[n - 1] = '\0';
    uint64_t v;
    if (parse_plain(buf, &v) < 0 || v * mult > 0xFFFFFFFFull)
        return -1;
    *out = (uint32_t)(v * mult);
    return 0;
}

/* ---- per line ---- */

struct ctx {
    const char *source;
    int line;
    struct error *err;
};

static int fail(const struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(const struct ctx *c, const char *fmt, ...)
{
    char msg[ERROR_MSG_MAX / 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* line 0: the text as a whole (its encoding, memory for it) */
    if (c->line == 0)
        return error_setk(c->err, ERROR_VALUE, "%s: %s", c->source, msg);
    return error_setk(c->err, ERROR_VALUE, "%s:%d: %s", c->source, c->line, msg);
}

static int parse_type(const char *s, uint8_t *type)
{
    if (ptable_type_lookup(s, type) == 0)
        return 0;
    uint64_t v;
    if (parse_plain(s, &v) == 0 && v <= 254) {
        *type = (uint8_t)v;
        return 0;
    }
    return -1;
}

static int parse_subtype_for(uint8_t type, const char *s, uint8_t *subtype)
{
    if (ptable_subtype_lookup(type, s, subtype) == 0)
        return 0;
    if (type == PART_TYPE_APP && strncasecmp(s, "ota_", 4) == 0)
        return -1;
    uint64_t v;
    /* any byte: ESP-IDF's tables use 0xff (the entry's magic, not its subtype, marks it) */
    if (parse_plain(s, &v) == 0 && v <= 255) {
        *subtype = (uint8_t)v;
        return 0;
    }
    return -1;
}

static int parse_flags(const char *s, uint32_t *flags)
{
    *flags = 0;
    if (!*s)
        return 0;
    uint64_t v;
    if (parse_plain(s, &v) == 0) {
        *flags = (uint32_t)v;
        return 0;
    }
    const char *p = s;
    while (*p) {
        const char *colon = strchr(p, ':');
        size_t n = colon ? (size_t)(colon - p) : strlen(p);
        while (n && isspace((unsigned char)p[n - 1]))
            n--;
        while (n && isspace((unsigned char)*p))
            p++, n--;
        if (n == 9 && strncasecmp(p, "encrypted", 9) == 0)
            *flags |= 1;
        else if (n == 8 && strncasecmp(p, "readonly", 8) == 0)
            *flags |= 2;
        else
            return -1;
        if (!colon)
            break;
        p = colon + 1;
        if (!*p)
            return -1;
    }
    return 0;
}

static uint64_t align_up(uint64_t v, uint32_t a)
{
    return (v + a - 1) / a * a;
}

static uint32_t alignment(uint8_t type)
{
    return type == PART_TYPE_APP ? PTABLE_APP_ALIGN : 0x1000;
}

/* Trim spaces and one pair of surrounding double quotes, in place. */
static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
        s[n - 1] = '\0';
        s++;
    }
    return s;
}

struct state {
    struct ptable *table;
    uint32_t flash_size;
    uint64_t prev_end; /* end of the previous line's partition (ESP-IDF's empty offset) */
    uint64_t max_end;  /* highest end so far (the Python tool's offset 0) */
};

static int is_plain(const char *s)
{
    uint64_t v;
    return parse_plain(s, &v) == 0;
}

static int parse_line(struct state *st, char *line, const struct ctx *c)
{
    char *fields[MAX_FIELDS] = {"", "", "", "", "", ""};
    int n = 0, extra = 0;
    char *p = line;
    for (;;) {
        char *comma = strchr(p, ',');
        if (n == MAX_FIELDS) {
            /* gen_esp32part reads six fields and ignores the rest (a trailing comma after the
             * flags is common in ESP-IDF's own tables) */
            extra = 1;
            break;
        }
        if (comma)
            *comma = '\0';
        fields[n++] = trim(p);
        if (!comma)
            break;
        p = comma + 1;
    }
    for (int i = 0; i < n; i++)
        if (strchr(fields[i], '$'))
            return fail(c, "environment variables are not supported ('%s')", fields[i]);
    const char *name = fields[0], *type_s = fields[1], *sub_s = fields[2];
    const char *off_s = fields[3], *size_s = fields[4], *flags_s = fields[5];
    /* The Python tool's dialect: six fields with plain integers (its flags are a number, which
     * ESP-IDF's CSV never has) and no type other than app/data. Its type column is ignored
     * when the subtype is a name. */
    uint8_t type = 0, subtype = 0;
    int have_type = *type_s && parse_type(type_s, &type) == 0;
    int python = n == MAX_FIELDS && !extra && is_plain(off_s) && is_plain(size_s) &&
                 is_plain(flags_s) && !(have_type && type > PART_TYPE_DATA);

    if (!*name)
        return fail(c, "missing name");
    if (strlen(name) > PTABLE_LABEL_MAX)
        return fail(c, "name '%s' is longer than %d bytes", name, PTABLE_LABEL_MAX);
    if (ptable_find(st->table, name) >= 0)
        return fail(c, "Partition '%s' already exists in table.", name);
    if (st->table->count >= PTABLE_MAX_ENTRIES)
        return fail(c, "too many partitions (at most %d)", PTABLE_MAX_ENTRIES);

    if (python && *sub_s && !isdigit((unsigned char)sub_s[0]) &&
        ptable_subtype_parse(sub_s, &type, &subtype) == 0) {
        /* type and subtype from the subtype name */
    } else if (python && (!have_type || !*sub_s || parse_subtype_for(type, sub_s, &subtype) < 0)) {
        return fail(c, "invalid subtype '%s'", sub_s);
    } else if (python) {
        /* a subtype keyword only ESP-IDF knows (tee_0, ...), with its type column */
    } else {
        if (!*type_s)
            return fail(c, "missing type");
        if (!have_type)
            return fail(c, "invalid type '%s'", type_s);
        if (!*sub_s) {
            if (type == PART_TYPE_APP)
                return fail(c, "missing subtype for an app partition");
            subtype = PART_SUBTYPE_DATA_UNDEFINED; /* ESP-IDF: empty means "undefined" */
        } else if (parse_subtype_for(type, sub_s, &subtype) < 0) {
            char tn[16];
            ptable_type_name(type, tn, sizeof tn);
            return fail(c, "invalid subtype '%s' for type '%s'", sub_s, tn);
        }
    }

    uint64_t offset;
    if (!*off_s) {
        offset = align_up(st->prev_end, alignment(type));
    } else {
        uint32_t v;
        if (csv_parse_size(off_s, &v) < 0)
            return fail(c, "invalid offset '%s'", off_s);
        offset = v ? v : align_up(st->max_end, alignment(type));
    }
    if (offset > 0xFFFFFFFFull)
        return fail(c, "offset 0x%llx is past 4 GiB", (unsigned long long)offset);

    uint64_t size;
    if (!*size_s)
        return fail(c, "missing size");
    if (size_s[0] == '-') {
        /* ESP-IDF: "-X" ends the partition at absolute address X */
        uint32_t end;
        if (csv_parse_size(size_s + 1, &end) < 0)
            return fail(c, "invalid size '%s'", size_s);
        if (end <= offset)
            return fail(c, "size '%s' ends at or before the offset 0x%llx", size_s,
                        (unsigned long long)offset);
        size = end - offset;
    } else {
        uint32_t v;
        if (csv_parse_size(size_s, &v) < 0)
            return fail(c, "invalid size '%s'", size_s);
        size = v;
    }
    /* The Python tool's "add a partition" (seed-spec §6): no room past the flash size, and
     * size 0 fills the rest of the flash. */
    if (offset + size > st->flash_size)
        return fail(c, "No room on flash for partition %s (0x%llx bytes).", name,
                    (unsigned long long)size);
    if (size == 0)
        size = st->flash_size - offset;

    uint32_t flags;
    if (parse_flags(flags_s, &flags) < 0)
        return fail(c, "invalid flags '%s'", flags_s);

    MP_ASSERT(st->table->count < PTABLE_MAX_ENTRIES); /* refused above */
    struct partition *part = &st->table->parts[st->table->count++];
    memset(part, 0, sizeof *part);
    memcpy(part->name, name, strlen(name));
    part->type = type;
    part->subtype = subtype;
    part->offset = (uint32_t)offset;
    part->size = (int64_t)size;
    part->flags = flags;
    st->prev_end = offset + size;
    if (st->prev_end > st->max_end)
        st->max_end = st->prev_end;
    return 0;
}

/* ---- text decoding ---- */

/* A NUL-terminated 8-bit copy: UTF-8 BOM dropped; UTF-16/32 (by BOM) narrowed when ASCII. */
static char *decode_text(const char *text, size_t len, const struct ctx *c)
{
    const uint8_t *b = (const uint8_t *)text;
    int unit = 1, big = 0;
    size_t start = 0;
    if (len >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF)
        start = 3;
    else if (len >= 4 && b[0] == 0xFF && b[1] == 0xFE && b[2] == 0 && b[3] == 0)
        unit = 4, start = 4;
    else if (len >= 4 && b[0] == 0 && b[1] == 0 && b[2] == 0xFE && b[3] == 0xFF)
        unit = 4, big = 1, start = 4;
    else if (len >= 2 && b[0] == 0xFF && b[1] == 0xFE)
        unit = 2, start = 2;
    else if (len >= 2 && b[0] == 0xFE && b[1] == 0xFF)
        unit = 2, big = 1, start = 2;
    if ((len - start) % (size_t)unit) {
        fail(c, "truncated UTF-%d text", unit * 8);
        return NULL;
    }
    size_t n = (len - start) / (size_t)unit;
    char *out = mp_malloc(n + 1);
    if (!out) {
        fail(c, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        const uint8_t *u = b + start + i * (size_t)unit;
        uint32_t v = 0;
        for (int k = 0; k < unit; k++)
            v |= (uint32_t)u[big ? unit - 1 - k : k] << (8 * k);
        if (unit > 1 && v > 0x7F) {
            free(out);
            fail(c, "non-ASCII character in UTF-%d text", unit * 8);
            return NULL;
        }
        if (v == 0) {
            free(out);
            fail(c, "NUL character in text");
            return NULL;
        }
        out[i] = (char)v;
    }
    out[n] = '\0';
    return out;
}

static int parse_text(const char *text, size_t len, const char *source, uint32_t flash_size,
                      struct ptable *table, int sort, struct error *err)
{
    struct ctx c = {source ? source : "<csv>", 0, err};
    memset(table, 0, sizeof *table);
    table->flash_size = flash_size;
    char *buf = decode_text(text, len, &c);
    if (!buf)
        return -1;
    struct state st = {table, flash_size, FIRST_OFFSET, FIRST_OFFSET};
    int rc = 0;
    char *line = buf;
    while (line && rc == 0) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        c.line++;
        size_t n = strlen(line);
        if (n && line[n - 1] == '\r')
            line[n - 1] = '\0';
        char *s = line;
        while (isspace((unsigned char)*s))
            s++;
        if (*s && *s != '#')
            rc = parse_line(&st, s, &c);
        line = nl ? nl + 1 : NULL;
    }
    free(buf);
    if (rc == 0 && sort)
        ptable_sort(table);
    return rc;
}

int csv_parse(const char *text, size_t len, const char *source, uint32_t flash_size,
              struct ptable *table, struct error *err)
{
    return parse_text(text, len, source, flash_size, table, 1, err);
}

int csv_parse_in_order(const char *text, size_t len, const char *source, uint32_t flash_size,
                       struct ptable *table, struct error *err)
{
    return parse_text(text, len, source, flash_size, table, 0, err);
}

/* ---- writing ---- */

static void type_keyword(uint8_t type, char *out, size_t size)
{
    const char *k = ptable_type_keyword(type);
    if (k)
        snprintf(out, size, "%s", k);
    else
        snprintf(out, size, "0x%02x", type);
}

static void subtype_keyword(uint8_t type, uint8_t subtype, char *out, size_t size)
{
    if (!ptable_subtype_keyword(type, subtype, out, size))
        snprintf(out, size, "0x%02x", subtype);
}

static void size_text(uint32_t size, char *out, size_t n)
{
    if (size && size % 0x100000 == 0)
        snprintf(out, n, "%uM", size / 0x100000);
    else if (size && size % 1024 == 0)
        snprintf(out, n, "%uK", size / 1024);
    else
        snprintf(out, n, "0x%x", size);
}

int csv_write(const struct ptable *table, struct strbuf *out, struct error *err)
{
    for (int i = 0; i < table->count; i++) {
        const struct partition *p = &table->parts[i];
        if (p->size < 0 || p->size > 0xFFFFFFFFll)
            return error_setk(err, ERROR_VALUE, "Partition '%s' has an invalid size (%lld).",
                              p->name, (long long)p->size);
        if (strnlen(p->name, sizeof p->name) > PTABLE_LABEL_MAX || strpbrk(p->name, ",\"$\n\r"))
            return error_setk(err, ERROR_VALUE,
                              "Partition name '%.16s' cannot be written as CSV.", p->name);
    }
    strbuf_puts(out, "# Name,          Type, SubType,  Offset,   Size,  Flags\n");
    for (int i = 0; i < table->count; i++) {
        const struct partition *p = &table->parts[i];
        char name[24], type[24], sub[24], off[16], size[16], flags[24];
        /* quotes keep surrounding spaces and a leading '#' (comment marker) as part of it */
        size_t nl = strlen(p->name);
        int quote = nl && (isspace((unsigned char)p->name[0]) ||
                           isspace((unsigned char)p->name[nl - 1]) || p->name[0] == '#');
        snprintf(name, sizeof name, quote ? "\"%s\"," : "%s,", p->name);
        type_keyword(p->type, type, sizeof type - 1);
        strcat(type, ",");
        subtype_keyword(p->type, p->subtype, sub, sizeof sub - 1);
        strcat(sub, ",");
        snprintf(off, sizeof off, "0x%x,", p->offset);
        size_text((uint32_t)p->size, size, sizeof size - 1);
        strcat(size, ",");
        if ((p->flags & ~3u) != 0)
            snprintf(flags, sizeof flags, "0x%x", p->flags);
        else
            snprintf(flags, sizeof flags, "%s%s%s", p->flags & 1 ? "encrypted" : "",
                     p->flags == 3 ? ":" : "", p->flags & 2 ? "readonly" : "");
        strbuf_printf(out, "%-17s %-5s %-9s %-9s %-6s %s", name, type, sub, off, size, flags);
        /* no trailing spaces */
        while (out->len && out->text[out->len - 1] == ' ')
            out->text[--out->len] = '\0';
        strbuf_puts(out, "\n");
    }
    return 0;
}
