/* libFuzzer harness: the JSON reader on any bytes (flasher_args.json comes from the user). */
#include <stdint.h>
#include <stdlib.h>

#include "util/jsonread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct jsonread v;
    struct error err;
    if (jsonread_parse((const char *)data, size, "fuzz.json", &v, &err) == 0) {
        jsonread_string(jsonread_get(&v, "flash_files"));
        jsonread_free(&v);
    }
    return 0;
}
