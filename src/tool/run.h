/* One run of the tool: every step of the pipeline for the parsed options. */
#ifndef MP_TOOL_RUN_H
#define MP_TOOL_RUN_H

#include "tool/args.h"
#include "tool/output.h"

#ifndef TOOL_VERSION
#define TOOL_VERSION "0.2.0"
#endif

/* The program's exit statuses (README, --help). */
enum tool_exit {
    TOOL_EXIT_OK = 0,
    TOOL_EXIT_ERROR = 1,  /* something could not be done (bad input, a failing board, ...) */
    TOOL_EXIT_USAGE = 2,  /* the command line is wrong */
    TOOL_EXIT_VERIFY = 3, /* a verification failed: --check-app found a broken or missing
                           * image, or a board's flash did not read back what was written */
};

/* The exit status for a run that failed with this error. */
int tool_exit_status(const struct error *err);

/* Run the pipeline; messages go to out. Returns the exit status (enum tool_exit). */
int tool_run(const struct tool_options *opt, struct output *out);

#endif
