#include "util/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/check.h"

static void reserve(struct strbuf *sb, size_t extra)
{
    if (sb->len + extra + 1 <= sb->capacity)
        return;
    size_t cap = sb->capacity ? sb->capacity : 256;
    while (cap < sb->len + extra + 1)
        cap *= 2;
    char *p = realloc(sb->text, cap);
    if (!p) {
        /* Out of memory while formatting text: nothing sensible remains to be done. */
        fputs("out of memory\n", stderr);
        abort();
    }
    sb->text = p;
    sb->capacity = cap;
}

void strbuf_add(struct strbuf *sb, const char *text, size_t len)
{
    MP_ASSERT(text || len == 0);
    reserve(sb, len);
    memcpy(sb->text + sb->len, text, len);
    sb->len += len;
    sb->text[sb->len] = '\0';
}

void strbuf_puts(struct strbuf *sb, const char *text)
{
    strbuf_add(sb, text, strlen(text));
}

void strbuf_printf(struct strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0)
        return;
    reserve(sb, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(sb->text + sb->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb->len += (size_t)n;
}

void strbuf_repeat(struct strbuf *sb, const char *text, size_t n)
{
    size_t len = strlen(text);
    for (size_t i = 0; i < n; i++)
        strbuf_add(sb, text, len);
}

/* Length of the valid UTF-8 sequence at p (at most n bytes), 0 if it is not one. */
static size_t utf8_length(const unsigned char *p, size_t n, unsigned *cp)
{
    unsigned c = p[0];
    size_t len = c >= 0xF0 && c < 0xF5 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
    if (len == 0 || len > n)
        return 0;
    unsigned v = c & (0x7Fu >> len);
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        v = v << 6 | (p[i] & 0x3Fu);
    }
    /* overlong forms, surrogates and values past U+10FFFF are not valid */
    if ((len == 3 && v < 0x800) || (len == 4 && (v < 0x10000 || v > 0x10FFFF)) ||
        (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return len;
}

void strbuf_add_printable(struct strbuf *sb, const char *text, size_t len)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t i = 0;
    while (i < len) {
        size_t run = i;
        while (run < len && p[run] >= 0x20 && p[run] < 0x7F)
            run++;
        if (run > i)
            strbuf_add(sb, text + i, run - i);
        i = run;
        if (i >= len)
            break;
        unsigned cp = 0;
        size_t n = p[i] >= 0x80 ? utf8_length(p + i, len - i, &cp) : 0;
        if (p[i] == '\n') {
            strbuf_add(sb, "\n", 1);
            i++;
        } else if (n && cp >= 0xA0) {
            strbuf_add(sb, text + i, n);
            i += n;
        } else {
            /* a control character: one escape per byte of it */
            size_t bytes = n ? n : 1;
            for (size_t k = 0; k < bytes; k++)
                strbuf_printf(sb, "\\x%02x", p[i + k]);
            i += bytes;
        }
    }
    if (!sb->text)
        strbuf_add(sb, "", 0);
}

void strbuf_reset(struct strbuf *sb)
{
    sb->len = 0;
    if (sb->text)
        sb->text[0] = '\0';
}

void strbuf_free(struct strbuf *sb)
{
    free(sb->text);
    sb->text = NULL;
    sb->len = sb->capacity = 0;
}

const char *strbuf_str(const struct strbuf *sb)
{
    return sb->text ? sb->text : "";
}
