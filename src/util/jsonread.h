/* A small JSON reader (RFC 8259) for the build files the tool reads (ESP-IDF's
 * flasher_args.json): the whole text into a tree of values, strings decoded to UTF-8. */
#ifndef MP_UTIL_JSONREAD_H
#define MP_UTIL_JSONREAD_H

#include <stddef.h>

#include "util/error.h"

enum jsonread_type {
    JSONREAD_NULL,
    JSONREAD_FALSE,
    JSONREAD_TRUE,
    JSONREAD_NUMBER,
    JSONREAD_STRING,
    JSONREAD_ARRAY,
    JSONREAD_OBJECT
};

struct jsonread {
    enum jsonread_type type;
    char *text;             /* a string, decoded; a number as written */
    char *key;              /* a member of an object: its name */
    struct jsonread *items; /* an array's elements or an object's members, in order */
    size_t count;
};

/* Parse len bytes; *out is freed with jsonread_free. Errors name the byte offset:
 * "flasher_args.json: JSON error at byte 12: expected ':'". Nesting is limited to 64. */
int jsonread_parse(const char *text, size_t len, const char *source, struct jsonread *out,
                   struct error *err);
void jsonread_free(struct jsonread *value);
/* The member of an object named key (the last one when repeated), NULL when none or when v is
 * not an object. */
const struct jsonread *jsonread_get(const struct jsonread *v, const char *key);
/* The string of a JSONREAD_STRING value, NULL for anything else (v may be NULL). */
const char *jsonread_string(const struct jsonread *v);

#endif
