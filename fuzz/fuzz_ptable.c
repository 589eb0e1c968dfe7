/* libFuzzer harness: partition table parse, check, encode and re-parse to the same table. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "esp/ptable.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct ptable table, again;
    struct error err;
    if (ptable_parse(data, size, &table, &err) != 0)
        return 0;
    table.flash_size = size > 4 ? (uint32_t)data[size - 1] << 20 : 0x400000;
    char warnings[512] = "";
    ptable_check(&table, warnings, sizeof warnings, &err);
    for (int i = 0; i < table.count; i++) {
        char name[16];
        uint8_t type = table.parts[i].type, subtype;
        ptable_type_name(type, name, sizeof name);
        ptable_subtype_name(type, table.parts[i].subtype, name, sizeof name);
        /* every printed subtype name parses back */
        if (ptable_subtype_parse(name, &type, &subtype) != 0 ||
            subtype != table.parts[i].subtype)
            abort();
    }
    uint8_t out[PTABLE_SIZE];
    if (ptable_encode(&table, out, &err) != 0)
        abort(); /* anything parsed can be written */
    if (ptable_parse(out, sizeof out, &again, &err) != 0 || again.count != table.count)
        abort();
    for (int i = 0; i < table.count; i++) {
        const struct partition *a = &table.parts[i], *b = &again.parts[i];
        if (strcmp(a->name, b->name) || a->type != b->type || a->subtype != b->subtype ||
            a->offset != b->offset || a->size != b->size || a->flags != b->flags)
            abort();
    }
    return 0;
}
