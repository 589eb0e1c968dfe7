/* libFuzzer harness: image header, segment walk, digest, app descriptor, version banner and the
 * flash size rewrite on arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "esp/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct image_header h;
    struct image_info info;
    struct app_desc desc;
    struct error err;
    char version[64];
    int header_ok = image_header_parse(data, size, &h, &err) == 0;
    int inspect_ok = image_inspect(data, size, &info, &err) == 0;
    if (inspect_ok && (!header_ok || info.size > size || info.size % 16))
        abort();
    if (image_micropython_version(data, size, version, sizeof version) == 0 &&
        strlen(version) == 0)
        abort();
    image_app_desc(data, size, &desc);
    if (header_ok) {
        uint8_t enc[24];
        image_header_encode(&h, data, enc);
        if (memcmp(enc, data, 24) != 0)
            abort();
    }
    /* Rewriting the flash size keeps a valid digest valid, and only touches byte 3 and the
     * digest. */
    if (size > 0 && size <= (1u << 20)) {
        uint8_t *copy = malloc(size);
        memcpy(copy, data, size);
        uint8_t id = (uint8_t)(data[size - 1] & 7);
        if (image_set_flash_size(copy, size, id, &err) == 0) {
            struct image_info after;
            if (inspect_ok) {
                if (image_inspect(copy, size, &after, &err) != 0)
                    abort();
                if (after.header.flash_size_id != id)
                    abort();
                if (info.header.hash_appended == 1 && !after.digest_ok)
                    abort();
            }
            for (size_t i = 0; i < size; i++)
                if (copy[i] != data[i] && i != 3 &&
                    !(inspect_ok && i >= info.size && i < info.size + 32))
                    abort();
        }
        free(copy);
    }
    return 0;
}
