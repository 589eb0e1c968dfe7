/* mp-image-tool-esp32: parse the command line, run the pipeline, exit with its status. */
#include <signal.h>
#include <stdio.h>

#include "tool/args.h"
#include "tool/output.h"
#include "tool/run.h"

int main(int argc, char **argv)
{
    /* A reader that goes away (a closed pipe, a dropped network port) must give an error
     * message, not kill the tool in the middle of a write to a board. */
#ifdef SIGPIPE
    signal(SIGPIPE, SIG_IGN);
#endif
    struct tool_options opt;
    struct strbuf message = {0};
    struct args_context ctx = {TOOL_VERSION, args_terminal_columns()};
    int r = args_parse(argc, argv, &ctx, &opt, &message);
    if (r != ARGS_RUN) {
        fputs(strbuf_str(&message), r == ARGS_EXIT ? stdout : stderr);
        strbuf_free(&message);
        return r == ARGS_EXIT ? TOOL_EXIT_OK : TOOL_EXIT_USAGE;
    }
    strbuf_free(&message);
    struct output out;
    output_init(&out, stdout, stderr);
    out.quiet = opt.quiet;
    out.debug = opt.debug;
    if (opt.table_style == TABLE_STYLE_PLAIN)
        out.box = 0;
    else if (opt.table_style == TABLE_STYLE_BOX)
        out.box = 1;
    int status = tool_run(&opt, &out);
    args_free(&opt);
    if (output_close(&out) && status == TOOL_EXIT_OK)
        status = TOOL_EXIT_ERROR;
    return status;
}
