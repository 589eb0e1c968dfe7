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
