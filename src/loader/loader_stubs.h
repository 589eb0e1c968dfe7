/* The embedded stub table, generated into the build tree by stubs.cmake. */
#ifndef MP_LOADER_STUBS_H
#define MP_LOADER_STUBS_H

#include <stddef.h>

#include "loader/loader.h"

extern const struct loader_stub loader_stub_table[];
extern const size_t loader_stub_count;
extern const char loader_stub_source_text[];
extern const char loader_stub_license_text[];

#endif
