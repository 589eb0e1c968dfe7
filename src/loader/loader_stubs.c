/* Access to the flasher stubs embedded at build time (§11). */
#include "loader/loader.h"
#include "loader/loader_stubs.h"

#include <string.h>

int loader_stubs_available(void)
{
    return loader_stub_count > 0;
}

const struct loader_stub *loader_stub_for(const char *chip_name)
{
    for (size_t i = 0; i < loader_stub_count; i++)
        if (strcmp(loader_stub_table[i].chip, chip_name) == 0)
            return &loader_stub_table[i];
    return NULL;
}

const char *loader_stub_source(void)
{
    return loader_stub_source_text;
}

const char *loader_stub_license(void)
{
    return loader_stub_license_text;
}
