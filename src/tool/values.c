#include "tool/values.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Python's str.strip() and the regex \s treat these ASCII characters as whitespace (including
 * the four information separators 0x1c-0x1f). */
static int py_space(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

static void trim(const char **start, const char **end)
{
    while (*start < *end && py_space(**start))
        (*start)++;
    while (*end > *start && py_space((*end)[-1]))
        (*end)--;
}

static int digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    return 99;
}

/* Digits of one base with single underscores between them (Python's "digitpart"); `lead_us`
 * allows one underscore before the first digit (after a 0x/0o/0b prefix). Accumulates the
 * magnitude, saturating at UINT64_MAX; returns 0 when the syntax is wrong. */
static int digits(const char *p, const char *end, int base, int lead_us, uint64_t *mag)
{
    uint64_t v = 0;
    int ndigits = 0, prev_us = 0;
    for (; p < end; p++) {
        if (*p == '_') {
            if (prev_us || (ndigits == 0 && !lead_us))
                return 0;
            prev_us = 1;
            continue;
        }
        int d = digit_value(*p);
        if (d >= base)
            return 0;
        if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
            v = UINT64_MAX;
        else
            v = v * (uint64_t)base + (uint64_t)d;
        ndigits++;
        prev_us = 0;
    }
    if (ndigits == 0 || prev_us)
        return 0;
    *mag = v;
    return 1;
}

/* Python int(text, 0): returns 0 when the syntax is wrong. */
static int parse_int(const char *p, const char *end, int *negative, uint64_t *mag)
{
    trim(&p, &end);
    *negative = 0;
    if (p < end && (*p == '+' || *p == '-')) {
        *negative = *p == '-';
        p++;
    }
    if (p == end)
        return 0;
    if (*p == '0' && end - p >= 2) {
        char k = (char)tolower((unsigned char)p[1]);
        int base = k == 'x' ? 16 : k == 'o' ? 8 : k == 'b' ? 2 : 0;
        if (base)
            return digits(p + 2, end, base, 1, mag);
    }
    if (*p == '0') {
        /* Only zeros may follow a leading zero: "010" is refused, "0_0" is 0. */
        for (const char *q = p; q < end; q++)
            if (*q != '0' && *q != '_')
                return 0;
        return digits(p, end, 10, 0, mag);
    }
    return digits(p, end, 10, 0, mag);
}

/* Python float(text) for text containing '.' (so never inf/nan): [sign] digitpart? "."
 * digitpart? with at least one digit, optional exponent; underscores between digits. */
static int parse_float(const char *p, const char *end, double *out)
{
    trim(&p, &end);
    size_t n = (size_t)(end - p);
    char *clean = malloc(n + 1);
    if (!clean)
        return 0;
    size_t k = 0;
    const char *q = p;
    if (q < end && (*q == '+' || *q == '-'))
        clean[k++] = *q++;
    int int_digits = 0, frac_digits = 0, ok = 1;
    /* integer part */
    for (int prev = 0; q < end && (isdigit((unsigned char)*q) || *q == '_'); q++) {
        if (*q == '_') {
            if (prev != 1 || q + 1 >= end || !isdigit((unsigned char)q[1]))
                ok = 0;
            prev = 2;
            continue;
        }
        clean[k++] = *q;
        int_digits++;
        prev = 1;
    }
    if (q < end && *q == '.') {
        clean[k++] = *q++;
        for (int prev = 0; q < end && (isdigit((unsigned char)*q) || *q == '_'); q++) {
            if (*q == '_') {
                if (prev != 1 || q + 1 >= end || !isdigit((unsigned char)q[1]))
                    ok = 0;
                prev = 2;
                continue;
            }
            clean[k++] = *q;
            frac_digits++;
            prev = 1;
        }
    }
    if (int_digits + frac_digits == 0)
        ok = 0;
    if (ok && q < end && (*q == 'e' || *q == 'E')) {
        clean[k++] = *q++;
        if (q < end && (*q == '+' || *q == '-'))
            clean[k++] = *q++;
        int exp_digits = 0;
        for (int prev = 0; q < end && (isdigit((unsigned char)*q) || *q == '_'); q++) {
            if (*q == '_') {
                if (prev != 1 || q + 1 >= end || !isdigit((unsigned char)q[1]))
                    ok = 0;
                prev = 2;
                continue;
            }
            clean[k++] = *q;
            exp_digits++;
            prev = 1;
        }
        if (!exp_digits)
            ok = 0;
    }
    if (q != end)
        ok = 0;
    clean[k] = '\0';
    if (ok)
        *out = strtod(clean, NULL);
    free(clean);
    return ok;
}

int value_parse_size(const char *text, int64_t *out, struct error *err)
{
    *out = 0;
    size_t len = strlen(text);
    if (len == 0)
        return 0;
    /* §1.4: suffixes tried in this order; the first one the text ends with wins. */
    static const struct {
        const char *suffix;
        int64_t factor;
    } suffixes[] = {{"M", 0x100000}, {"MB", 0x100000}, {"K", 0x400}, {"KB", 0x400}, {"B", 0x1000}};
    int64_t factor = 1;
    const char *end = text + len;
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        size_t sl = strlen(suffixes[i].suffix);
        if (len >= sl) {
            size_t j = 0;
            while (j < sl && toupper((unsigned char)text[len - sl + j]) == suffixes[i].suffix[j])
                j++;
            if (j == sl) {
                factor = suffixes[i].factor;
                end = text + len - sl;
                break;
            }
        }
    }
    if (memchr(text, '.', (size_t)(end - text))) {
        double v;
        if (!parse_float(text, end, &v))
            return error_setk(err, ERROR_VALUE, "invalid size: '%s'", text);
        v = trunc(v * (double)factor);
        /* 2^63 is exactly representable; anything at or above it does not fit. */
        if (!(v >= -9223372036854775808.0 && v < 9223372036854775808.0))
            return error_setk(err, ERROR_VALUE, "size out of range: '%s'", text);
        *out = (int64_t)v;
        return 0;
    }
    int negative;
    uint64_t mag;
    if (!parse_int(text, end, &negative, &mag))
        return error_setk(err, ERROR_VALUE, "invalid size: '%s'", text);
    uint64_t limit = negative ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX;
    if (mag > limit / (uint64_t)factor)
        return error_setk(err, ERROR_VALUE, "size out of range: '%s'", text);
    uint64_t product = mag * (uint64_t)factor;
    if (negative)
        *out = product == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(int64_t)product;
    else
        *out = (int64_t)product;
    return 0;
}

/* ---- ArgList / PartList ---- */

static char *copy_range(const char *p, const char *end)
{
    size_t n = (size_t)(end - p);
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

static void item_free(struct argitem *it)
{
    for (int i = 0; i < it->count; i++)
        free(it->fields[i]);
    free(it->fields);
    it->fields = NULL;
    it->count = 0;
}

void arglist_free(struct arglist *list)
{
    for (int i = 0; i < list->count; i++)
        item_free(&list->items[i]);
    free(list->items);
    free(list->text);
    memset(list, 0, sizeof *list);
}

void partlist_free(struct partlist *list)
{
    for (int i = 0; i < list->count; i++) {
        free(list->items[i].name);
        free(list->items[i].subtype);
    }
    free(list->items);
    free(list->text);
    memset(list, 0, sizeof *list);
}

/* Split [p, end) at each separator character in seps, trimming every piece (which drops the
 * whitespace around separators, as the Python regex split does). */
static int split(const char *p, const char *end, const char *seps, char ***pieces, int *count)
{
    int n = 1;
    for (const char *q = p; q < end; q++)
        if (strchr(seps, *q))
            n++;
    char **out = calloc((size_t)n, sizeof *out);
    if (!out)
        return -1;
    int i = 0;
    const char *start = p;
    for (const char *q = p;; q++) {
        if (q == end || strchr(seps, *q)) {
            const char *a = start, *b = q;
            trim(&a, &b);
            out[i] = copy_range(a, b);
            if (!out[i]) {
                for (int j = 0; j < i; j++)
                    free(out[j]);
                free(out);
                return -1;
            }
            i++;
            if (q == end)
                break;
            start = q + 1;
        }
    }
    *pieces = out;
    *count = n;
    return 0;
}

int arglist_parse(const char *text, struct arglist *list, struct error *err)
{
    memset(list, 0, sizeof *list);
    const char *p = text, *end = text + strlen(text);
    trim(&p, &end);
    char **items;
    int n;
    /* Separators are single ASCII characters, so embedded NULs cannot occur in argv text. */
    if (split(p, end, ",", &items, &n))
        return error_setk(err, ERROR_VALUE, "out of memory");
    list->items = calloc((size_t)n, sizeof *list->items);
    list->text = strdup(text);
    int rc = 0;
    if (!list->items || !list->text)
        rc = -1;
    for (int i = 0; i < n; i++) {
        if (rc == 0) {
            if (split(items[i], items[i] + strlen(items[i]), "=:", &list->items[i].fields,
                      &list->items[i].count))
                rc = -1;
            else
                list->count = i + 1;
        }
        free(items[i]);
    }
    free(items);
    if (rc) {
        arglist_free(list);
        return error_setk(err, ERROR_VALUE, "out of memory");
    }
    return 0;
}

int partlist_parse(const char *text, struct partlist *list, struct error *err)
{
    memset(list, 0, sizeof *list);
    struct arglist args;
    if (arglist_parse(text, &args, err))
        return -1;
    list->items = calloc((size_t)args.count, sizeof *list->items);
    if (!list->items) {
        arglist_free(&args);
        return error_setk(err, ERROR_VALUE, "out of memory");
    }
    for (int i = 0; i < args.count; i++) {
        const struct argitem *it = &args.items[i];
        struct partspec *ps = &list->items[i];
        int rc = 0;
        if (it->count >= 2)
            rc = value_parse_size(it->fields[it->count - 1], &ps->size, err);
        if (rc == 0 && it->count >= 4)
            rc = value_parse_size(it->fields[2], &ps->offset, err);
        ps->name = strdup(it->fields[0]);
        ps->subtype = strdup(it->count >= 3 ? it->fields[1] : "");
        list->count = i + 1;
        if (rc == 0 && (!ps->name || !ps->subtype))
            rc = error_setk(err, ERROR_VALUE, "out of memory");
        if (rc) {
            arglist_free(&args);
            partlist_free(list);
            return -1;
        }
    }
    /* The list keeps the original text; hand it over instead of copying. */
    list->text = args.text;
    args.text = NULL;
    arglist_free(&args);
    return 0;
}

/* Appends to a bounded buffer, counting the full length like snprintf. */
struct out {
    char *buf;
    size_t size;
    size_t len;
};

static void out_add(struct out *o, const char *s)
{
    for (; *s; s++, o->len++)
        if (o->len + 1 < o->size)
            o->buf[o->len] = *s;
}

static void out_field(struct out *o, int *first, const char *s)
{
    if (!*s)
        return;
    if (!*first)
        out_add(o, "=");
    out_add(o, s);
    *first = 0;
}

static void out_number(struct out *o, int *first, int64_t v)
{
    if (v == 0)
        return;
    char num[24];
    snprintf(num, sizeof num, "%lld", (long long)v);
    out_field(o, first, num);
}

static size_t out_finish(struct out *o)
{
    if (o->size)
        o->buf[o->len < o->size ? o->len : o->size - 1] = '\0';
    return o->len;
}

size_t arglist_format(const struct arglist *list, char *buf, size_t size)
{
    struct out o = {buf, size, 0};
    for (int i = 0; i < list->count; i++) {
        if (i)
            out_add(&o, ",");
        int first = 1;
        for (int j = 0; j < list->items[i].count; j++)
            out_field(&o, &first, list->items[i].fields[j]);
    }
    return out_finish(&o);
}

size_t partlist_format(const struct partlist *list, char *buf, size_t size)
{
    struct out o = {buf, size, 0};
    for (int i = 0; i < list->count; i++) {
        const struct partspec *ps = &list->items[i];
        if (i)
            out_add(&o, ",");
        int first = 1;
        out_field(&o, &first, ps->name);
        out_field(&o, &first, ps->subtype);
        out_number(&o, &first, ps->offset);
        out_number(&o, &first, ps->size);
    }
    return out_finish(&o);
}

/* ---- devices ---- */

static int all_digits(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

char *value_expand_device(const char *name)
{
    static const struct {
        char letter;
        const char *prefix;
    } short_names[] = {{'u', "/dev/ttyUSB"}, {'a', "/dev/ttyACM"}, {'c', "COM"}};
    for (size_t i = 0; i < sizeof short_names / sizeof short_names[0]; i++) {
        if (name[0] == short_names[i].letter && all_digits(name + 1)) {
            size_t n = strlen(short_names[i].prefix) + strlen(name);
            char *s = malloc(n);
            if (s)
                snprintf(s, n, "%s%s", short_names[i].prefix, name + 1);
            return s;
        }
    }
    return strdup(name);
}

int value_network_port(const char *name, char *host, size_t host_size, int *port)
{
    static const char *const schemes[] = {"rfc2217://", "socket://"};
    const char *rest = NULL;
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
        if (strncmp(name, schemes[i], strlen(schemes[i])) == 0)
            rest = name + strlen(schemes[i]);
    if (!rest)
        return -1;
    /* HOST:PORT, then optionally "?options" or "/path"; the host may be a [v6] address. */
    size_t stop = strcspn(rest, "?/");
    const char *colon = NULL;
    for (const char *p = rest; p < rest + stop; p++)
        if (*p == ':')
            colon = p;
    if (!colon || colon == rest)
        return -1;
    size_t host_len = (size_t)(colon - rest);
    const char *digits_start = colon + 1, *digits_end = rest + stop;
    if (digits_end == digits_start || digits_end - digits_start > 5)
        return -1;
    long value = 0;
    for (const char *p = digits_start; p < digits_end; p++) {
        if (!isdigit((unsigned char)*p))
            return -1;
        value = value * 10 + (*p - '0');
    }
    if (value < 1 || value > 65535)
        return -1;
    if (host) {
        if (host_len >= host_size)
            return -1;
        memcpy(host, rest, host_len);
        host[host_len] = '\0';
    }
    if (port)
        *port = (int)value;
    return 0;
}

int value_is_device(const char *name)
{
    return strncmp(name, "/dev/", 5) == 0 || strncmp(name, "COM", 3) == 0 ||
           strcmp(name, "auto") == 0 || value_network_port(name, NULL, 0, NULL) == 0;
}

int value_round_baud(int64_t requested, uint32_t *out, struct error *err)
{
    static const uint32_t rates[] = {115200, 230400, 460800, 921600, 1500000, 2000000, 3000000};
    int best = -1;
    for (int i = 0; i < (int)(sizeof rates / sizeof rates[0]); i++)
        if ((int64_t)rates[i] <= requested)
            best = i;
    if (best < 0)
        return error_setk(err, ERROR_VALUE,
                          "baud rate %lld is below the lowest supported rate (115200)",
                          (long long)requested);
    *out = rates[best];
    return 0;
}

/* ---- flash address ranges ---- */

#define RANGE_MAX 0x10000000ll /* 256 MiB: the largest ESP flash */

int value_is_range(const char *field)
{
    return (field[0] >= '0' && field[0] <= '9') || strcmp(field, "flash") == 0 ||
           strcmp(field, "all") == 0;
}

static int range_number(const char *text, const char *option, const char *what, int64_t *out,
                        struct error *err)
{
    if (value_parse_size(text, out, err))
        return error_prefix(err, "%s: %s", option, what);
    if (*out < 0 || *out > RANGE_MAX)
        return error_setk(err, ERROR_VALUE, "%s: %s '%s' is outside the flash (0 to 256MB)",
                          option, what, text);
    return 0;
}

int value_parse_range(const struct argitem *it, int with_file, const char *option,
                      struct flash_range *range, const char **file, struct error *err)
{
    memset(range, 0, sizeof *range);
    const char *first = it->fields[0];
    const char *form = with_file ? "ADDRESS=FILE (ADDRESS: flash, START, START:END or START+LEN)"
                                 : "flash, START:END or START+LEN";
    int used = 1;
    if (strcmp(first, "flash") == 0 || strcmp(first, "all") == 0) {
        range->whole = 1;
    } else {
        int64_t start, second;
        const char *plus = strchr(first, '+');
        char head[64];
        size_t n = plus ? (size_t)(plus - first) : strlen(first);
        if (n >= sizeof head)
            return error_setk(err, ERROR_VALUE, "%s: '%s' is not an address", option, first);
        memcpy(head, first, n);
        head[n] = '\0';
        if (range_number(head, option, "address", &start, err))
            return -1;
        range->start = (uint32_t)start;
        if (plus) {
            if (range_number(plus + 1, option, "length", &second, err))
                return -1;
            if (second == 0)
                return error_setk(err, ERROR_VALUE, "%s: '%s' has length 0", option, first);
            range->has_length = 1;
            range->length = (uint32_t)second;
        } else if (it->count > (with_file ? 2 : 1)) {
            if (range_number(it->fields[1], option, "end address", &second, err))
                return -1;
            if (second <= start)
                return error_setk(err, ERROR_VALUE,
                                  "%s: the end 0x%" PRIx64 " is not above the start 0x%" PRIx64,
                                  option, (uint64_t)second, (uint64_t)start);
            range->has_length = 1;
            range->length = (uint32_t)(second - start);
            used = 2;
        }
        if (range->has_length && (int64_t)range->start + range->length > RANGE_MAX)
            return error_setk(err, ERROR_VALUE, "%s: '%s' ends beyond 256MB", option, first);
    }
    if (it->count != used + (with_file ? 1 : 0) || (with_file && !it->fields[used][0]))
        return error_setk(err, ERROR_VALUE, "%s: '%s' must be %s", option, first, form);
    if (file)
        *file = with_file ? it->fields[used] : NULL;
    return 0;
}
