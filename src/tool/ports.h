/* Serial ports as the program offers them: --list-ports, and the device name "auto" resolved
 * to the only port that looks like an ESP board. */
#ifndef MP_TOOL_PORTS_H
#define MP_TOOL_PORTS_H

#include <stddef.h>

#include "tool/output.h"
#include "util/error.h"

/* Print every serial port with its USB ids, serial number and product, marking ESP-like ones
 * and saying what "auto" picks. */
int ports_list(struct output *out, struct error *err);
/* name "auto": the only ESP-like port into out (an error listing the candidates when there
 * are several or none); any other name is copied. */
int ports_resolve(const char *name, const struct log *log, char *out, size_t size,
                  struct error *err);

#endif
