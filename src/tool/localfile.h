/* Files on the host: whole-file reads, and atomic writes (a temporary file in the same folder,
 * then rename) so an error never leaves a partial output behind. */
#ifndef MP_TOOL_LOCALFILE_H
#define MP_TOOL_LOCALFILE_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

/* Read a whole file; *data is NUL-terminated (for text) and must be freed. */
int localfile_read(const char *path, char **data, size_t *len, struct error *err);
/* Write data to path atomically. Refuses to overwrite `protect` (the input firmware), when
 * given. The new file gets the permissions of a normal new file. */
int localfile_write_atomic(const char *path, const void *data, size_t len, const char *protect,
                           struct error *err);
/* Whether two paths name the same existing file. */
int localfile_same(const char *a, const char *b);

#endif
