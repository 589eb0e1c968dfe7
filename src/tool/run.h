/* One run of the tool: every step of the pipeline for the parsed options. */
#ifndef MP_TOOL_RUN_H
#define MP_TOOL_RUN_H

#include "tool/args.h"
#include "tool/output.h"

#ifndef TOOL_VERSION
#define TOOL_VERSION "0.2.0"
#endif

/* Run the pipeline; messages go to out. Returns the exit status (0 or 1). */
int tool_run(const struct tool_options *opt, struct output *out);

#endif
