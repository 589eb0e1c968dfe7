/* A growable text buffer: report functions build their output here and the CLI prints it. */
#ifndef MP_UTIL_STRBUF_H
#define MP_UTIL_STRBUF_H

#include <stddef.h>

struct strbuf {
    char *text; /* NUL-terminated; NULL until something is added */
    size_t len;
    size_t capacity;
};

void strbuf_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_add(struct strbuf *sb, const char *text, size_t len);
void strbuf_puts(struct strbuf *sb, const char *text);
/* Append n copies of a (possibly multi-byte UTF-8) string. */
void strbuf_repeat(struct strbuf *sb, const char *text, size_t n);
/* Append text for a terminal: control characters (C0 except newline, DEL, and the C1 range),
 * and bytes that are not valid UTF-8, as \xNN; valid UTF-8 (box drawing, accented names) as
 * is. Names read from images and filesystems go through this before they reach the user, so
 * they cannot move the cursor, recolour or rewrite the screen. */
void strbuf_add_printable(struct strbuf *sb, const char *text, size_t len);
void strbuf_reset(struct strbuf *sb);
void strbuf_free(struct strbuf *sb);
/* The text, never NULL ("" when empty). */
const char *strbuf_str(const struct strbuf *sb);

#endif
