/* libFuzzer harness: partition CSV parse, write, and re-parse to the same table. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "esp/csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct ptable table, again;
    struct error err;
    if (csv_parse((const char *)data, size, "fuzz.csv", 0x400000, &table, &err) != 0)
        return 0;
    struct strbuf sb = {0};
    if (csv_write(&table, &sb, &err) == 0) {
        if (csv_parse(strbuf_str(&sb), sb.len, "out.csv", 0x400000, &again, &err) != 0)
            abort();
        if (again.count != table.count)
            abort();
        for (int i = 0; i < table.count; i++) {
            const struct partition *a = &table.parts[i], *b = &again.parts[i];
            if (strcmp(a->name, b->name) || a->type != b->type || a->subtype != b->subtype ||
                a->offset != b->offset || a->size != b->size || a->flags != b->flags)
                abort();
        }
    }
    strbuf_free(&sb);
    uint8_t bin[PTABLE_SIZE];
    ptable_encode(&table, bin, &err);
    /* gen_esp32part's checks, on the lines in their own order too */
    ptable_check_idf(&table, 0, &err);
    if (csv_parse_in_order((const char *)data, size, "fuzz.csv", 0x400000, &again, &err) == 0)
        ptable_check_idf(&again, 1, &err);
    return 0;
}
