/* Files on the host: whole-file reads, and outputs written as util/atomic_write.h does (whole
 * or not at all; links followed; FIFOs and character devices written through; folders and
 * other special files refused; never the input). */
#ifndef MP_TOOL_LOCALFILE_H
#define MP_TOOL_LOCALFILE_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

/* Read a whole file; *data is NUL-terminated (for text) and must be freed. */
int localfile_read(const char *path, char **data, size_t *len, struct error *err);
/* Write data to path atomically. Refuses to overwrite `protect` (the input firmware), when
 * given, also through a link. */
int localfile_write_atomic(const char *path, const void *data, size_t len, const char *protect,
                           struct error *err);
/* Whether two paths name the same existing file. */
int localfile_same(const char *a, const char *b);

#endif
