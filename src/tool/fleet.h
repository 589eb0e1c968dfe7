/* Several boards in one run: the command line is run once per board, each run a child process of
 * this program with one board in place of the several, all at the same time. The parent shows
 * each board's lines prefixed by its port, then a summary table (board, chip, MAC, result,
 * seconds); one board failing never stops the others, and the exit status is non-zero when
 * any failed. */
#ifndef MP_TOOL_FLEET_H
#define MP_TOOL_FLEET_H

#include <stdint.h>

#include "tool/args.h"
#include "tool/output.h"
#include "util/error.h"

/* The boards the command line names, in order, each once: its board words expanded, "all" as
 * every ESP-looking USB serial port found under sysfs_root (NULL: "/sys"). The caller frees
 * each name and the array. Fails when "all" finds no port. */
int fleet_boards(const struct tool_options *opt, char *const argv[], const char *sysfs_root,
                 char ***boards, int *count, struct error *err);

/* The command line of one board's run: argv with the first board word replaced by `board` and
 * the other board words left out. The caller frees the array (the words are argv's or board). */
char **fleet_child_argv(int argc, char *const argv[], const struct tool_options *opt,
                        const char *board);

/* In one board's run of several: tell the parent the board's chip and MAC ("" when unknown),
 * for its summary. Does nothing in a run of its own. */
void fleet_tell_parent(const char *chip, const char *mac);
/* The same for a transfer's progress (the parent's status line shows it). */
void fleet_tell_progress(const char *what, uint32_t done, uint32_t total);

/* Run every board; returns the exit status (0 when every board succeeded). */
int fleet_run(int argc, char *const argv[], const struct tool_options *opt, struct output *out);

#endif
