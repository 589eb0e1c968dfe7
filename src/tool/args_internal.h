/* What the option table, the help text and the parser of the command line share (not part of
 * the tool's interface: see args.h). */
#ifndef MP_TOOL_ARGS_INTERNAL_H
#define MP_TOOL_ARGS_INTERNAL_H

#include <stddef.h>

#include "tool/args.h"

#define PROG "mp-image-tool-esp32"
/* The field of struct tool_options an option fills. */
#define F(field) offsetof(struct tool_options, field)

#endif
