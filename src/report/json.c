#include "report/json.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util/check.h"

void json_init(struct json *j, struct strbuf *out)
{
    memset(j, 0, sizeof *j);
    j->out = out;
}

void json_init_inside(struct json *j, struct strbuf *out, int is_object)
{
    json_init(j, out);
    j->depth = 1;
    j->is_object[0] = (unsigned char)is_object;
}

/* The comma and key before a value. */
static void member(struct json *j, const char *key)
{
    if (j->depth > 0) {
        int in_object = j->is_object[j->depth - 1];
        MP_ASSERT(in_object == (key != NULL));
        if (j->count[j->depth - 1])
            strbuf_puts(j->out, ",");
        j->count[j->depth - 1] = 1;
    } else {
        MP_ASSERT(key == NULL);
    }
    if (key) {
        json_quote(j->out, key, strlen(key));
        strbuf_puts(j->out, ":");
    }
}

static void open_container(struct json *j, const char *key, int is_object)
{
    member(j, key);
    MP_ASSERT(j->depth < JSON_MAX_DEPTH);
    strbuf_puts(j->out, is_object ? "{" : "[");
    j->is_object[j->depth] = (unsigned char)is_object;
    j->count[j->depth] = 0;
    j->depth++;
}

static void close_container(struct json *j, int is_object)
{
    MP_ASSERT(j->depth > 0 && j->is_object[j->depth - 1] == is_object);
    j->depth--;
    strbuf_puts(j->out, is_object ? "}" : "]");
}

void json_object_begin(struct json *j, const char *key)
{
    open_container(j, key, 1);
}

void json_object_end(struct json *j)
{
    close_container(j, 1);
}

void json_array_begin(struct json *j, const char *key)
{
    open_container(j, key, 0);
}

void json_array_end(struct json *j)
{
    close_container(j, 0);
}

/* Length of the UTF-8 sequence at p (RFC 3629, section 4), 0 when it is not one. */
static size_t utf8_sequence(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0; /* no overlong forms */
        if (c == 0xED)
            hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        if (c == 0xF4)
            hi = 0x8F; /* nothing past U+10FFFF */
    } else {
        return 0;
    }
    if (n < len || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return len;
}

int json_is_utf8(const char *text, size_t len)
{
    const unsigned char *p = (const unsigned char *)text;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_sequence(p + i, len - i);
        if (!n)
            return 0;
        i += n;
    }
    return 1;
}

void json_quote(struct strbuf *out, const char *text, size_t len)
{
    const unsigned char *p = (const unsigned char *)text;
    strbuf_puts(out, "\"");
    for (size_t i = 0; i < len;) {
        unsigned char c = p[i];
        size_t n = utf8_sequence(p + i, len - i);
        if (n == 0) {
            strbuf_puts(out, "\\ufffd");
            i++;
            continue;
        }
        if (n > 1) {
            strbuf_add(out, text + i, n);
        } else if (c == '"' || c == '\\') {
            char esc[3] = {'\\', (char)c, 0};
            strbuf_puts(out, esc);
        } else if (c == '\n') {
            strbuf_puts(out, "\\n");
        } else if (c == '\r') {
            strbuf_puts(out, "\\r");
        } else if (c == '\t') {
            strbuf_puts(out, "\\t");
        } else if (c < 0x20 || c == 0x7f) {
            strbuf_printf(out, "\\u%04x", c);
        } else {
            strbuf_add(out, text + i, 1);
        }
        i += n;
    }
    strbuf_puts(out, "\"");
}

void json_string_n(struct json *j, const char *key, const char *value, size_t len)
{
    member(j, key);
    json_quote(j->out, value, len);
}

void json_string(struct json *j, const char *key, const char *value)
{
    if (!value) {
        json_null(j, key);
        return;
    }
    json_string_n(j, key, value, strlen(value));
}

void json_int(struct json *j, const char *key, int64_t value)
{
    member(j, key);
    strbuf_printf(j->out, "%" PRId64, value);
}

void json_uint(struct json *j, const char *key, uint64_t value)
{
    member(j, key);
    strbuf_printf(j->out, "%" PRIu64, value);
}

void json_fixed1(struct json *j, const char *key, double value)
{
    member(j, key);
    if (!isfinite(value))
        value = 0; /* JSON has no NaN or infinity */
    strbuf_printf(j->out, "%.1f", value);
}

void json_bool(struct json *j, const char *key, int value)
{
    member(j, key);
    strbuf_puts(j->out, value ? "true" : "false");
}

void json_null(struct json *j, const char *key)
{
    member(j, key);
    strbuf_puts(j->out, "null");
}

void json_raw(struct json *j, const char *key, const char *json_text, size_t len)
{
    member(j, key);
    strbuf_add(j->out, json_text, len);
}

void json_array_items(struct json *j, const char *key, const struct strbuf *items)
{
    member(j, key);
    strbuf_puts(j->out, "[");
    strbuf_add(j->out, items->text ? items->text : "", items->len);
    strbuf_puts(j->out, "]");
}

void json_hex(struct json *j, const char *key, const uint8_t *bytes, size_t len)
{
    member(j, key);
    strbuf_puts(j->out, "\"");
    for (size_t i = 0; i < len; i++)
        strbuf_printf(j->out, "%02x", bytes[i]);
    strbuf_puts(j->out, "\"");
}

void json_base64(struct json *j, const char *key, const uint8_t *bytes, size_t len)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    member(j, key);
    strbuf_puts(j->out, "\"");
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)bytes[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)bytes[i + 1] << 8;
        if (i + 2 < len)
            v |= bytes[i + 2];
        char quad[5] = {alphabet[v >> 18 & 63], alphabet[v >> 12 & 63],
                        i + 1 < len ? alphabet[v >> 6 & 63] : '=',
                        i + 2 < len ? alphabet[v & 63] : '=', 0};
        strbuf_puts(j->out, quad);
    }
    strbuf_puts(j->out, "\"");
}
