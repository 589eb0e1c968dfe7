/* The --nvs commands: the NVS module (src/nvs) on a partition of the firmware's flash, with the
 * command words parsed here and the keys printed one per line. */
#include "tool/nvsglue.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "nvs/nvs.h"
#include "tool/localfile.h"

#define HEX_SHOWN_MAX 256u /* longer blobs are shown cut short: `get` saves them whole */

const struct nvs_command nvs_commands[] = {
    {"show", "[PART]", "list every namespace and key with its value", 0, 1, 0},
    {"get", "[PART:]NS.KEY [FILE]", "print a value, or save its bytes to FILE", 1, 2, 0},
    {"set", "[PART:]NS.KEY=TYPE:VALUE", "set a key (creating its namespace if needed)", 1, 1, 1},
    {"erase", "[PART:]NS[.KEY]", "erase a key, or every key of a namespace", 1, 1, 1},
};
const int nvs_command_count = (int)(sizeof nvs_commands / sizeof nvs_commands[0]);

const struct nvs_command *nvs_command_find(const char *name)
{
    for (int i = 0; i < nvs_command_count; i++)
        if (!strcmp(nvs_commands[i].name, name))
            return &nvs_commands[i];
    return NULL;
}

void nvs_command_lines(struct strbuf *out)
{
    int width = 0;
    for (int i = 0; i < nvs_command_count; i++) {
        int w = (int)(strlen(nvs_commands[i].name) + 1 + strlen(nvs_commands[i].args));
        if (w > width)
            width = w;
    }
    for (int i = 0; i < nvs_command_count; i++) {
        const struct nvs_command *c = &nvs_commands[i];
        int w = (int)(strlen(c->name) + 1 + strlen(c->args));
        strbuf_printf(out, "  %s %s%*s  %s\n", c->name, c->args, width - w, "", c->help);
    }
}

int nvs_commands_modify(const struct tool_options *opt)
{
    for (int i = 0; i < opt->nvs_count; i++) {
        const struct nvs_command *c = nvs_command_find(opt->nvs[i].words[0]);
        if (c && c->mutates)
            return 1;
    }
    return 0;
}

/* ---- the words ---- */

/* "[PART:]NS[.KEY]" split; *part NULL when not given. Modifies `word`. */
struct nvs_target {
    const char *part;
    const char *ns;
    const char *key; /* NULL: the namespace itself */
};

static int parse_target(char *word, int need_key, struct nvs_target *t, struct error *err)
{
    memset(t, 0, sizeof t[0]);
    char *colon = strchr(word, ':'), *dot = strchr(word, '.');
    if (colon && (!dot || colon < dot)) {
        *colon = '\0';
        t->part = word;
        word = colon + 1;
        dot = strchr(word, '.');
    }
    t->ns = word;
    if (dot) {
        *dot = '\0';
        t->key = dot + 1;
    }
    if (!*t->ns || strlen(t->ns) > NVS_KEY_MAX)
        return error_setk(err, ERROR_USAGE,
                          "--nvs: '%s' is not a namespace name (1 to %u characters)", t->ns,
                          NVS_KEY_MAX);
    if (need_key && !t->key)
        return error_setk(err, ERROR_USAGE, "--nvs: '%s' needs a key: NAMESPACE.KEY", t->ns);
    if (t->key && (!*t->key || strlen(t->key) > NVS_KEY_MAX))
        return error_setk(err, ERROR_USAGE, "--nvs: '%s' is not a key (1 to %u characters)",
                          t->key, NVS_KEY_MAX);
    return 0;
}

static const struct {
    const char *name;
    uint8_t type;
} type_names[] = {
    {"u8", NVS_TYPE_U8},           {"i8", NVS_TYPE_I8},   {"u16", NVS_TYPE_U16},
    {"i16", NVS_TYPE_I16},         {"u32", NVS_TYPE_U32}, {"i32", NVS_TYPE_I32},
    {"u64", NVS_TYPE_U64},         {"i64", NVS_TYPE_I64}, {"str", NVS_TYPE_STR},
    {"blob", NVS_TYPE_BLOB_INDEX},
};

static int parse_type(const char *name, uint8_t *type)
{
    for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++)
        if (!strcmp(type_names[i].name, name)) {
            *type = type_names[i].type;
            return 0;
        }
    return -1;
}

static int hex_digit(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* The bytes a set command stores, in *data (malloc'ed). */
static int parse_value(uint8_t type, const char *text, uint8_t **data, uint32_t *len,
                       struct error *err)
{
    *data = NULL;
    *len = 0;
    unsigned size = nvs_int_size(type);
    if (size) {
        char *end;
        errno = 0;
        uint64_t raw;
        int ok;
        if (nvs_int_signed(type)) {
            long long v = strtoll(text, &end, 0);
            int64_t lo = size == 8 ? INT64_MIN : -((int64_t)1 << (8 * size - 1));
            int64_t hi = size == 8 ? INT64_MAX : ((int64_t)1 << (8 * size - 1)) - 1;
            ok = v >= lo && v <= hi;
            raw = (uint64_t)v;
        } else {
            while (*text == ' ')
                text++;
            unsigned long long v = *text == '-' ? ~0ull : strtoull(text, &end, 0);
            ok = *text != '-' && (size == 8 || v < (1ull << (8 * size)));
            raw = v;
        }
        if (*text == '-' && !nvs_int_signed(type))
            end = (char *)text;
        if (!*text || *end || errno || !ok)
            return error_setk(err, ERROR_USAGE, "--nvs: '%s' is not a %s value", text,
                              nvs_type_name(type));
        *data = malloc(8);
        if (!*data)
            return error_setk(err, ERROR_OS, "out of memory");
        for (unsigned b = 0; b < size; b++)
            (*data)[b] = (uint8_t)(raw >> (8 * b));
        *len = size;
        return 0;
    }
    if (text[0] == '@') {
        char *file;
        size_t n;
        if (localfile_read(text + 1, &file, &n, err))
            return -1;
        if (n > UINT32_MAX) {
            free(file);
            return error_setk(err, ERROR_USAGE, "--nvs: '%s' is too large", text + 1);
        }
        *data = (uint8_t *)file;
        *len = (uint32_t)n;
    } else if (type == NVS_TYPE_STR) {
        size_t n = strlen(text);
        *data = (uint8_t *)strdup(text);
        if (!*data)
            return error_setk(err, ERROR_OS, "out of memory");
        *len = (uint32_t)n;
    } else {
        size_t n = strlen(text);
        if (n % 2)
            return error_setk(err, ERROR_USAGE,
                              "--nvs: a blob is given as hex digits (an even number) or "
                              "@FILE, not '%s'",
                              text);
        *data = malloc(n / 2 + 1);
        if (!*data)
            return error_setk(err, ERROR_OS, "out of memory");
        for (size_t i = 0; i < n; i += 2) {
            int hi = hex_digit(text[i]), lo = hex_digit(text[i + 1]);
            if (hi < 0 || lo < 0) {
                free(*data);
                *data = NULL;
                return error_setk(err, ERROR_USAGE,
                                  "--nvs: a blob is given as hex digits or @FILE, not '%s'",
                                  text);
            }
            (*data)[i / 2] = (uint8_t)(hi << 4 | lo);
        }
        *len = (uint32_t)(n / 2);
    }
    if (type == NVS_TYPE_STR && (memchr(*data, 0, *len) || *len + 1 > NVS_STRING_MAX)) {
        free(*data);
        *data = NULL;
        return error_setk(err, ERROR_USAGE,
                          "--nvs: a string holds at most %u bytes and no NUL character",
                          NVS_STRING_MAX - 1);
    }
    return 0;
}

/* ---- the partition ---- */

static int find_partition(struct firmware *fw, const char *name, const struct partition **out,
                          struct error *err)
{
    *out = NULL;
    for (int i = 0; i < fw->table.count; i++) {
        const struct partition *p = &fw->table.parts[i];
        int nvs = p->type == PART_TYPE_DATA && p->subtype == PART_SUBTYPE_DATA_NVS;
        if (name ? strcmp(p->name, name) != 0 : !nvs)
            continue;
        if (!nvs)
            return error_setk(err, ERROR_PARTITION, "partition '%s' is not an NVS partition.",
                              p->name);
        if (p->size <= 0 || p->size % NVS_PAGE_SIZE)
            return error_setk(err, ERROR_PARTITION,
                              "partition '%s': size is not a whole number of 4096-byte pages.",
                              p->name);
        *out = p;
        return 0;
    }
    if (name)
        return error_setk(err, ERROR_PARTITION, "No partition '%s' found.", name);
    return error_setk(err, ERROR_PARTITION, "No NVS partition found.");
}

/* ---- printing ---- */

static void add_value(struct strbuf *sb, const struct nvs_item *it, int quote, int whole)
{
    if (nvs_int_size(it->type)) {
        uint64_t v = nvs_int_decode(it->type, it->value);
        if (nvs_int_signed(it->type))
            strbuf_printf(sb, "%" PRId64, (int64_t)v);
        else
            strbuf_printf(sb, "%" PRIu64, v);
    } else if (it->type == NVS_TYPE_STR) {
        if (!quote) {
            strbuf_add_printable(sb, (const char *)it->value, it->len);
            return;
        }
        /* quoted: a quote or backslash inside is escaped, so the text reads back unambiguously */
        strbuf_puts(sb, "\"");
        const char *text = (const char *)it->value;
        uint32_t start = 0;
        for (uint32_t i = 0; i <= it->len; i++) {
            if (i < it->len && text[i] != '"' && text[i] != '\\')
                continue;
            strbuf_add_printable(sb, text + start, i - start);
            if (i < it->len)
                strbuf_printf(sb, "\\%c", text[i]);
            start = i + 1;
        }
        strbuf_puts(sb, "\"");
    } else {
        uint32_t shown = whole || it->len <= HEX_SHOWN_MAX ? it->len : 32;
        for (uint32_t i = 0; i < shown; i++)
            strbuf_printf(sb, "%02x", it->value[i]);
        if (shown < it->len)
            strbuf_printf(sb, "... (%" PRIu32 " bytes; --nvs get %s.%s FILE saves them)", it->len,
                          it->ns, it->key);
    }
}

static void add_name(struct strbuf *sb, const struct nvs_item *it)
{
    strbuf_add_printable(sb, it->ns, strlen(it->ns));
    strbuf_puts(sb, ".");
    strbuf_add_printable(sb, it->key, strlen(it->key));
}

static void show(const struct partition *p, const struct nvs_listing *l, struct output *out)
{
    uint32_t used = 0, free_pages = 0;
    for (uint32_t i = 0; i < l->page_count; i++) {
        used += l->pages[i].kind == NVS_KIND_READ;
        free_pages += l->pages[i].kind == NVS_KIND_EMPTY;
    }
    log_printf(&out->log, LOG_INFO,
               "NVS partition '%s' (0x%" PRIx32 " bytes): %" PRIu32 " pages, %" PRIu32
               " in use, %" PRIu32 " free; %zu namespaces, %zu keys",
               p->name, (uint32_t)p->size, l->page_count, used, free_pages, l->ns_count,
               l->count);
    int width = 0;
    struct strbuf sb = {0};
    for (size_t i = 0; i < l->count; i++) {
        strbuf_reset(&sb);
        add_name(&sb, &l->items[i]);
        if ((int)sb.len > width)
            width = (int)sb.len;
    }
    for (size_t i = 0; i < l->count; i++) {
        const struct nvs_item *it = &l->items[i];
        strbuf_reset(&sb);
        add_name(&sb, it);
        int pad = width - (int)sb.len;
        const char *type = nvs_type_name(it->type);
        strbuf_printf(&sb, "%*s  %-4s  ", pad, "", type);
        if (it->type == NVS_TYPE_BLOB_V1 || it->type == NVS_TYPE_BLOB_INDEX)
            strbuf_printf(&sb, "%" PRIu32 " bytes  ", it->len);
        add_value(&sb, it, 1, 0);
        output_line(out, LOG_OUTPUT, strbuf_str(&sb));
    }
    for (size_t i = 0; i < l->ns_count; i++) {
        int keys = 0;
        for (size_t k = 0; k < l->count; k++)
            keys += !strcmp(l->items[k].ns, l->namespaces[i].name);
        if (!keys) {
            strbuf_reset(&sb);
            strbuf_add_printable(&sb, l->namespaces[i].name, strlen(l->namespaces[i].name));
            log_printf(&out->log, LOG_INFO, "Namespace '%s' has no keys.", strbuf_str(&sb));
        }
    }
    strbuf_free(&sb);
    if (l->skipped_count)
        log_printf(&out->log, LOG_INFO,
                   "%zu entries or pages are not values (erased before, damaged or "
                   "duplicated): -d lists them.",
                   l->skipped_count);
    for (size_t i = 0; i < l->skipped_count; i++) {
        const struct nvs_skipped *s = &l->skipped[i];
        if (s->entry < 0)
            log_printf(&out->log, LOG_DEBUG, "NVS page %" PRIu32 ": %s", s->page, s->reason);
        else
            log_printf(&out->log, LOG_DEBUG, "NVS page %" PRIu32 " entry %d (%s): %s", s->page,
                       s->entry, s->key, s->reason);
    }
}

/* --json: one key as an object: integers as numbers, strings as text (base64 too when they are
 * not UTF-8), blobs as hex with their size. */
static void json_item(struct json *j, const char *key, const struct nvs_item *it)
{
    json_object_begin(j, key);
    json_string(j, "namespace", it->ns);
    json_string(j, "key", it->key);
    json_string(j, "type", nvs_type_name(it->type));
    if (nvs_int_size(it->type)) {
        uint64_t v = nvs_int_decode(it->type, it->value);
        if (nvs_int_signed(it->type))
            json_int(j, "value", (int64_t)v);
        else
            json_uint(j, "value", v);
    } else if (it->type == NVS_TYPE_STR) {
        json_string_n(j, "value", (const char *)it->value, it->len);
        if (!json_is_utf8((const char *)it->value, it->len))
            json_base64(j, "base64", it->value, it->len);
    } else {
        json_uint(j, "size", it->len);
        json_hex(j, "hex", it->value, it->len);
    }
    json_uint(j, "page", it->page);
    json_uint(j, "entry", it->entry);
    json_object_end(j);
}

static void json_listing(struct json *j, const struct nvs_listing *l, const char *only_ns,
                         const char *only_key)
{
    json_array_begin(j, "namespaces");
    for (size_t i = 0; i < l->ns_count; i++)
        json_string(j, NULL, l->namespaces[i].name);
    json_array_end(j);
    json_array_begin(j, "keys");
    for (size_t i = 0; i < l->count; i++) {
        const struct nvs_item *it = &l->items[i];
        if (only_key && (strcmp(it->ns, only_ns) || strcmp(it->key, only_key)))
            continue;
        json_item(j, NULL, it);
    }
    json_array_end(j);
    json_array_begin(j, "skipped");
    for (size_t i = 0; i < l->skipped_count; i++) {
        const struct nvs_skipped *sk = &l->skipped[i];
        json_object_begin(j, NULL);
        json_uint(j, "page", sk->page);
        if (sk->entry >= 0) {
            json_int(j, "entry", sk->entry);
            json_string(j, "key", sk->key);
        } else {
            json_null(j, "entry");
        }
        json_string(j, "reason", sk->reason);
        json_object_end(j);
    }
    json_array_end(j);
}

/* --json: the record of one --nvs command in "nvs"; l (the keys after the command, NULL when
 * they could not be read) limited to ns.key when key is given. */
static void json_record(struct json_report *r, const struct wordlist *cmd,
                        const struct partition *p, int ok, int changed,
                        const struct nvs_listing *l, const char *ns, const char *key)
{
    struct json *j = json_report_list(r, JSON_LIST_NVS);
    json_object_begin(j, NULL);
    json_string(j, "command", cmd->words[0]);
    json_array_begin(j, "args");
    for (int i = 1; i < cmd->count; i++)
        json_string(j, NULL, cmd->words[i]);
    json_array_end(j);
    json_bool(j, "ok", ok);
    json_bool(j, "changed", changed);
    json_string(j, "partition", p->name);
    if (l)
        json_listing(j, l, ns, key);
    json_object_end(j);
}

static int get(const struct partition *p, const struct nvs_listing *l, const struct nvs_target *t,
               const char *file, const char *protect, struct output *out, struct error *err)
{
    const struct nvs_item *it = nvs_listing_find(l, t->ns, t->key);
    if (!it)
        return error_setk(err, ERROR_VALUE, "NVS partition '%s' has no key '%s.%s'.", p->name,
                          t->ns, t->key);
    if (!file) {
        struct strbuf sb = {0};
        add_value(&sb, it, 0, 1);
        output_line(out, LOG_OUTPUT, strbuf_str(&sb));
        strbuf_free(&sb);
        return 0;
    }
    int rc;
    if (nvs_int_size(it->type)) {
        /* an integer is saved as its decimal text */
        struct strbuf sb = {0};
        add_value(&sb, it, 0, 1);
        strbuf_puts(&sb, "\n");
        rc = localfile_write_atomic(file, sb.text, sb.len, protect, err);
        strbuf_free(&sb);
    } else {
        rc = localfile_write_atomic(file, it->value, it->len, protect, err);
    }
    if (rc == 0)
        log_printf(&out->log, LOG_OUTPUT, "Saved %s.%s (%" PRIu32 " bytes) to '%s'.", it->ns,
                   it->key, it->len, file);
    return rc;
}

int nvs_command(struct firmware *fw, const struct wordlist *cmd, const char *protect,
                struct output *out, int *changed, struct error *err)
{
    *changed = 0;
    const struct nvs_command *c = nvs_command_find(cmd->words[0]);
    if (!c)
        return error_setk(err, ERROR_USAGE, "--nvs: unknown command '%s' (show, get, set, erase)",
                          cmd->words[0]);
    int argc = cmd->count - 1;
    if (argc < c->min_args || argc > c->max_args)
        return error_setk(err, ERROR_USAGE, "--nvs %s takes %s", c->name,
                          *c->args ? c->args : "no arguments");
    char *word = argc ? strdup(cmd->words[1]) : NULL;
    if (argc && !word)
        return error_setk(err, ERROR_OS, "out of memory");
    int rc = -1;
    struct nvs_target t = {0};
    char *value = NULL, *type_name = NULL;
    const struct partition *p;
    if (!strcmp(c->name, "show")) {
        t.part = word;
    } else if (!strcmp(c->name, "set")) {
        char *eq = strchr(word, '=');
        char *colon = eq ? strchr(eq + 1, ':') : NULL;
        if (!eq || !colon) {
            error_setk(err, ERROR_USAGE, "--nvs set takes NS.KEY=TYPE:VALUE, not '%s'", word);
            goto done;
        }
        *eq = *colon = '\0';
        type_name = eq + 1;
        value = colon + 1;
        if (parse_target(word, 1, &t, err))
            goto done;
    } else if (parse_target(word, !strcmp(c->name, "get"), &t, err)) {
        goto done;
    }
    if (find_partition(fw, t.part, &p, err))
        goto done;
    uint32_t len = (uint32_t)p->size;
    if (!strcmp(c->name, "show") || !strcmp(c->name, "get")) {
        struct nvs_listing l;
        char where[64];
        snprintf(where, sizeof where, "NVS partition '%s'", p->name);
        if (nvs_list_flash(fw->flash, p->offset, len, where, &l, err))
            goto done;
        rc = !strcmp(c->name, "show")
                 ? (show(p, &l, out), 0)
                 : get(p, &l, &t, argc > 1 ? cmd->words[2] : NULL, protect, out, err);
        if (out->json)
            json_record(out->json, cmd, p, rc == 0, 0, &l, t.ns, t.key);
        nvs_listing_free(&l);
        goto done;
    }
    char where[64];
    snprintf(where, sizeof where, "NVS partition '%s'", p->name);
    struct nvs_store s;
    if (nvs_store_open(&s, fw->flash, p->offset, len, where, &out->log, err))
        goto done;
    if (!strcmp(c->name, "set")) {
        uint8_t type, *data = NULL;
        uint32_t n = 0;
        if (parse_type(type_name, &type)) {
            error_setk(err, ERROR_USAGE,
                       "--nvs: unknown type '%s' (u8, i8, u16, i16, u32, i32, u64, i64, str, "
                       "blob)",
                       type_name);
        } else if (parse_value(type, value, &data, &n, err) == 0) {
            log_printf(&out->log, LOG_ACTION, "Setting %s.%s (%s) in NVS partition '%s'...", t.ns,
                       t.key, type_name, p->name);
            rc = nvs_store_set(&s, t.ns, t.key, type, data, n, changed, err);
            if (rc == 0 && !*changed)
                log_printf(&out->log, LOG_INFO, "%s.%s already holds that value.", t.ns, t.key);
        }
        free(data);
    } else if (t.key) {
        log_printf(&out->log, LOG_ACTION, "Erasing %s.%s from NVS partition '%s'...", t.ns, t.key,
                   p->name);
        rc = nvs_store_erase_key(&s, t.ns, t.key, err);
        *changed = rc == 0;
    } else {
        log_printf(&out->log, LOG_ACTION,
                   "Erasing every key of namespace '%s' from NVS partition '%s'...", t.ns,
                   p->name);
        int n = nvs_store_erase_namespace(&s, t.ns, err);
        rc = n < 0 ? -1 : 0;
        *changed = n > 0;
        if (n >= 0)
            log_printf(&out->log, LOG_INFO, "%d key%s erased.", n, n == 1 ? "" : "s");
    }
    nvs_store_close(&s);
    if (out->json) {
        /* the keys as they are after the change, read back from the flash */
        struct nvs_listing l;
        struct error ignored = {0};
        int listed = nvs_list_flash(fw->flash, p->offset, len, where, &l, &ignored) == 0;
        json_record(out->json, cmd, p, rc == 0, *changed, listed ? &l : NULL, t.ns, t.key);
        if (listed)
            nvs_listing_free(&l);
    }
done:
    free(word);
    return rc;
}
