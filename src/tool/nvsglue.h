/* The --nvs commands as the pipeline runs them: show, get, set and erase keys of an NVS
 * partition of the firmware (a file or a board), through the NVS module (src/nvs). */
#ifndef MP_TOOL_NVSGLUE_H
#define MP_TOOL_NVSGLUE_H

#include "firmware/firmware.h"
#include "tool/args.h"
#include "tool/output.h"
#include "util/strbuf.h"

/* One --nvs command: its words, how many arguments it takes, and whether it changes flash. */
struct nvs_command {
    const char *name;
    const char *args;
    const char *help;
    int min_args, max_args;
    int mutates;
};

extern const struct nvs_command nvs_commands[];
extern const int nvs_command_count;

/* The command of that name, or NULL. */
const struct nvs_command *nvs_command_find(const char *name);
/* "  NAME ARGS  help" lines for --help, the help column aligned. */
void nvs_command_lines(struct strbuf *out);
/* Whether any --nvs command changes a partition (the firmware then needs writing out). */
int nvs_commands_modify(const struct tool_options *opt);
/* Run one --nvs command; *changed tells whether flash was modified. A file saved by get never
 * replaces `protect` (the input firmware; NULL: none). */
int nvs_command(struct firmware *fw, const struct wordlist *cmd, const char *protect,
                struct output *out, int *changed, struct error *err);

#endif
