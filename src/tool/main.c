/* mp-image-tool-esp32: parse the command line, run the pipeline, exit with its status. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "tool/args.h"
#include "tool/fleet.h"
#include "tool/output.h"
#include "tool/run.h"

/* Whether the words ask for --json (before a "--"), for a command line that did not parse:
 * a script that asked for JSON gets a document also then. */
static int json_asked(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--json") == 0)
            return 1;
    return 0;
}

/* The document of a run that never started: the parser's error line ("PROG: error: ..."). */
static void usage_error_json(const char *message)
{
    const char *last = message, *p;
    while ((p = strstr(last, ": error: ")) != NULL)
        last = p + 9;
    struct json_report jr;
    json_report_init(&jr);
    struct error err;
    error_clear(&err);
    error_setk(&err, ERROR_USAGE, "%.*s", (int)strcspn(last, "\n"), last);
    json_report_error(&jr, &err);
    json_report_print(&jr, stdout, TOOL_EXIT_USAGE);
    json_report_free(&jr);
}

/* --log list: the loggers with the levels in force. */
static void list_loggers(struct output *out)
{
    if (out->json) {
        struct json *j = json_report_facts(out->json);
        json_array_begin(j, "loggers");
        for (int i = 0; i < LOGGER_COUNT; i++) {
            json_object_begin(j, NULL);
            json_string(j, "name", output_loggers[i].name);
            json_string(j, "level",
                        output_level_name(output_threshold(out, (enum output_logger)i)));
            json_string(j, "description", output_loggers[i].what);
            json_object_end(j);
        }
        json_array_end(j);
        return;
    }
    fputs("Available loggers (--log NAME=LEVEL; levels: debug, info, action, warning, error):\n",
          out->out);
    for (int i = 0; i < LOGGER_COUNT; i++)
        fprintf(out->out, "  %-9s %-8s %s\n", output_loggers[i].name,
                output_level_name(output_threshold(out, (enum output_logger)i)),
                output_loggers[i].what);
}

int main(int argc, char **argv)
{
    /* A reader that goes away (a closed pipe, a dropped network port) must give an error
     * message, not kill the tool in the middle of a write to a board. */
#ifdef SIGPIPE
    signal(SIGPIPE, SIG_IGN);
#endif
    /* Lines leave as they are printed, into a pipe too, so that a reader (one board's run in a
     * run of several, tee) follows the run as it goes. */
    setvbuf(stdout, NULL, _IOLBF, BUFSIZ);
    struct tool_options opt;
    struct strbuf message = {0};
    struct args_context ctx = {TOOL_VERSION, args_terminal_columns()};
    int r = args_parse(argc, argv, &ctx, &opt, &message);
    if (r == ARGS_ERROR && json_asked(argc, argv))
        usage_error_json(strbuf_str(&message));
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
    int want_list = 0;
    for (int i = 0; i < opt.log.count; i++) {
        const struct argitem *it = &opt.log.items[i];
        enum log_level level;
        if (it->count == 1 && args_log_lists(it->fields[0]))
            want_list = 1;
        else if (it->count == 2 && output_level_parse(it->fields[1], &level) == 0)
            out.levels[output_logger_find(it->fields[0])] = (int)level;
    }
    struct json_report jr;
    if (opt.json) {
        json_report_init(&jr);
        out.json = &jr;
    }
    int status;
    if (want_list) {
        /* like --help: the answer, and nothing is opened */
        list_loggers(&out);
        status = TOOL_EXIT_OK;
    } else if (args_several_boards(&opt)) {
        /* each board's run prints its own document; the parent's gathers them */
        status = fleet_run(argc, argv, &opt, &out);
    } else {
        status = tool_run(&opt, &out);
    }
    if (opt.json && !args_several_boards(&opt)) {
        json_report_print(&jr, out.out, status);
        json_report_free(&jr);
    }
    args_free(&opt);
    if (output_close(&out) && status == TOOL_EXIT_OK)
        status = TOOL_EXIT_ERROR;
    return status;
}
