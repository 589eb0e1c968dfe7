/* A recursive-descent JSON reader: values into a tree, strings unescaped to UTF-8. */
#include "util/jsonread.h"

#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

#define JSONREAD_MAX_DEPTH 64

struct reader {
    const char *s;
    size_t len, pos;
    const char *source;
    struct error *err;
};

static int fail(struct reader *r, const char *what)
{
    return error_setk(r->err, ERROR_VALUE, "%s: JSON error at byte %zu: %s", r->source, r->pos,
                      what);
}

static void skip_space(struct reader *r)
{
    while (r->pos < r->len && strchr(" \t\r\n", r->s[r->pos]) && r->s[r->pos])
        r->pos++;
}

static int peek(struct reader *r)
{
    return r->pos < r->len ? (unsigned char)r->s[r->pos] : -1;
}

static int hex4(struct reader *r, unsigned *out)
{
    if (r->len - r->pos < 4)
        return fail(r, "short \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = r->s[r->pos++];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return fail(r, "bad \\u escape");
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* At the opening quote: the decoded string (malloc'ed) in *out. */
static int parse_string(struct reader *r, char **out)
{
    r->pos++;
    /* decoded text is never longer than the escaped one */
    size_t start = r->pos;
    while (r->pos < r->len && r->s[r->pos] != '"')
        r->pos += r->s[r->pos] == '\\' ? 2 : 1;
    if (r->pos >= r->len)
        return fail(r, "unterminated string");
    size_t end = r->pos;
    char *o = mp_malloc(end - start + 1);
    if (!o)
        return error_setk(r->err, ERROR_OS, "out of memory");
    size_t n = 0;
    r->pos = start;
    while (r->pos < end) {
        unsigned char c = (unsigned char)r->s[r->pos++];
        if (c < 0x20) {
            free(o);
            return fail(r, "control character in a string");
        }
        if (c != '\\') {
            o[n++] = (char)c;
            continue;
        }
        char e = r->s[r->pos++];
        const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
        const char *k = e ? strchr(from, e) : NULL;
        if (k) {
            o[n++] = to[k - from];
            continue;
        }
        unsigned cp;
        if (e != 'u' || hex4(r, &cp)) {
            free(o);
            return e == 'u' ? -1 : fail(r, "bad escape");
        }
        if (cp >= 0xD800 && cp < 0xDC00 && end - r->pos >= 6 && r->s[r->pos] == '\\' &&
            r->s[r->pos + 1] == 'u') {
            unsigned lo;
            r->pos += 2;
            if (hex4(r, &lo)) {
                free(o);
                return -1;
            }
            if (lo >= 0xDC00 && lo < 0xE000)
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        if (cp == 0) {
            free(o);
            return fail(r, "NUL in a string");
        }
        n += put_utf8(o + n, cp);
    }
    o[n] = '\0';
    r->pos = end + 1;
    *out = o;
    return 0;
}

static int parse_value(struct reader *r, struct jsonread *v, int depth);

static int add_item(struct reader *r, struct jsonread *v, size_t *cap, struct jsonread *item)
{
    if (v->count == *cap) {
        size_t n = *cap ? *cap * 2 : 4;
        struct jsonread *grown = mp_realloc(v->items, n * sizeof *grown);
        if (!grown) {
            jsonread_free(item);
            return error_setk(r->err, ERROR_OS, "out of memory");
        }
        v->items = grown;
        *cap = n;
    }
    v->items[v->count++] = *item;
    return 0;
}

static int parse_container(struct reader *r, struct jsonread *v, int depth)
{
    int object = r->s[r->pos] == '{';
    char close = object ? '}' : ']';
    v->type = object ? JSONREAD_OBJECT : JSONREAD_ARRAY;
    r->pos++;
    skip_space(r);
    if (peek(r) == close) {
        r->pos++;
        return 0;
    }
    size_t cap = 0;
    for (;;) {
        struct jsonread item;
        memset(&item, 0, sizeof item);
        skip_space(r);
        if (object) {
            if (peek(r) != '"')
                return fail(r, "expected a member name");
            if (parse_string(r, &item.key))
                return -1;
            skip_space(r);
            if (peek(r) != ':') {
                free(item.key);
                return fail(r, "expected ':'");
            }
            r->pos++;
        }
        if (parse_value(r, &item, depth + 1) || add_item(r, v, &cap, &item)) {
            jsonread_free(&item);
            return -1;
        }
        skip_space(r);
        int c = peek(r);
        r->pos++;
        if (c == close)
            return 0;
        if (c != ',') {
            r->pos--;
            return fail(r, object ? "expected ',' or '}'" : "expected ',' or ']'");
        }
    }
}

static int parse_value(struct reader *r, struct jsonread *v, int depth)
{
    if (depth > JSONREAD_MAX_DEPTH)
        return fail(r, "nested too deeply");
    skip_space(r);
    int c = peek(r);
    if (c == '{' || c == '[')
        return parse_container(r, v, depth);
    if (c == '"') {
        v->type = JSONREAD_STRING;
        return parse_string(r, &v->text);
    }
    static const struct {
        const char *word;
        enum jsonread_type type;
    } words[] = {{"null", JSONREAD_NULL}, {"false", JSONREAD_FALSE}, {"true", JSONREAD_TRUE}};
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(words[i].word);
        if (r->len - r->pos >= n && memcmp(r->s + r->pos, words[i].word, n) == 0) {
            v->type = words[i].type;
            r->pos += n;
            return 0;
        }
    }
    size_t start = r->pos;
    while (r->pos < r->len && strchr("0123456789+-.eE", r->s[r->pos]) && r->s[r->pos])
        r->pos++;
    if (r->pos == start)
        return fail(r, "expected a value");
    v->type = JSONREAD_NUMBER;
    v->text = mp_malloc(r->pos - start + 1);
    if (!v->text)
        return error_setk(r->err, ERROR_OS, "out of memory");
    memcpy(v->text, r->s + start, r->pos - start);
    v->text[r->pos - start] = '\0';
    return 0;
}

int jsonread_parse(const char *text, size_t len, const char *source, struct jsonread *out,
                   struct error *err)
{
    struct reader r = {text, len, 0, source ? source : "<json>", err};
    memset(out, 0, sizeof *out);
    if (parse_value(&r, out, 0)) {
        jsonread_free(out);
        return -1;
    }
    skip_space(&r);
    if (r.pos != len) {
        jsonread_free(out);
        return fail(&r, "text after the value");
    }
    return 0;
}

void jsonread_free(struct jsonread *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->count; i++)
        jsonread_free(&v->items[i]);
    free(v->items);
    free(v->text);
    free(v->key);
    memset(v, 0, sizeof *v);
}

const struct jsonread *jsonread_get(const struct jsonread *v, const char *key)
{
    const struct jsonread *found = NULL;
    if (v && v->type == JSONREAD_OBJECT)
        for (size_t i = 0; i < v->count; i++)
            if (strcmp(v->items[i].key, key) == 0)
                found = &v->items[i];
    return found;
}

const char *jsonread_string(const struct jsonread *v)
{
    return v && v->type == JSONREAD_STRING ? v->text : NULL;
}
