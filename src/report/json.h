/* A small JSON writer (RFC 8259) appending to a strbuf: objects and arrays nested by calls,
 * commas placed by the writer, strings escaped, numbers as numbers. Compact output (one line),
 * for programs to read. Every call that adds a value takes the member's key: inside an object
 * it must be given, inside an array (or for the outermost value) it must be NULL. */
#ifndef MP_REPORT_JSON_H
#define MP_REPORT_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "util/strbuf.h"

#define JSON_MAX_DEPTH 32

struct json {
    struct strbuf *out;
    int depth;
    unsigned char count[JSON_MAX_DEPTH]; /* per open container: values written so far (0/1) */
    unsigned char is_object[JSON_MAX_DEPTH];
};

void json_init(struct json *j, struct strbuf *out);
/* A writer that continues an object or array whose opening bracket someone else wrote (and
 * whose closing bracket they will write): members are appended with commas as needed. */
void json_init_inside(struct json *j, struct strbuf *out, int is_object);

void json_object_begin(struct json *j, const char *key);
void json_object_end(struct json *j);
void json_array_begin(struct json *j, const char *key);
void json_array_end(struct json *j);

/* A string; NULL writes null. Bytes that are not UTF-8 become U+FFFD, control characters
 * \u escapes, so the document is valid whatever a firmware or filesystem holds. */
void json_string(struct json *j, const char *key, const char *value);
void json_string_n(struct json *j, const char *key, const char *value, size_t len);
void json_int(struct json *j, const char *key, int64_t value);
void json_uint(struct json *j, const char *key, uint64_t value);
/* A number with one decimal digit ("82.3"), for percentages. */
void json_fixed1(struct json *j, const char *key, double value);
void json_bool(struct json *j, const char *key, int value);
void json_null(struct json *j, const char *key);
/* A value that is already JSON text (a nested document), inserted as it is. */
void json_raw(struct json *j, const char *key, const char *json_text, size_t len);
/* An array whose items are already JSON text, separated by commas (what a json_init_inside
 * writer collected); an empty or unused strbuf gives []. */
void json_array_items(struct json *j, const char *key, const struct strbuf *items);
/* Lower-case hex of bytes as a string ("9f86d0..."), for digests. */
void json_hex(struct json *j, const char *key, const uint8_t *bytes, size_t len);
/* Bytes as a base64 string (RFC 4648, with padding). */
void json_base64(struct json *j, const char *key, const uint8_t *bytes, size_t len);

/* Append text as a JSON string literal (with its quotes). */
void json_quote(struct strbuf *out, const char *text, size_t len);
/* Whether bytes are valid UTF-8 (no overlong forms, no surrogates). */
int json_is_utf8(const char *text, size_t len);

#endif
