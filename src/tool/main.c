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
    int list_loggers = 0;
    for (int i = 0; i < opt.log.count; i++) {
        const struct argitem *it = &opt.log.items[i];
        enum log_level level;
        if (it->count == 1 && args_log_lists(it->fields[0]))
            list_loggers = 1;
        else if (it->count == 2 && output_level_parse(it->fields[1], &level) == 0)
            out.levels[output_logger_find(it->fields[0])] = (int)level;
    }
    int status;
    if (list_loggers) {
        /* like --help: the answer, and nothing is opened */
        fputs("Available loggers (--log NAME=LEVEL; levels: debug, info, action, warning, "
              "error):\n",
              out.out);
        for (int i = 0; i < LOGGER_COUNT; i++)
            fprintf(out.out, "  %-9s %-8s %s\n", output_loggers[i].name,
                    output_level_name(output_threshold(&out, (enum output_logger)i)),
                    output_loggers[i].what);
        status = TOOL_EXIT_OK;
    } else {
        status = tool_run(&opt, &out);
    }
    args_free(&opt);
    if (output_close(&out) && status == TOOL_EXIT_OK)
        status = TOOL_EXIT_ERROR;
    return status;
}
