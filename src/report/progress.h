/* Progress of long transfers: a bar with percent, bytes, speed and time left on a terminal; one
 * line per finished step otherwise. Transfers under 64 KiB are not shown. */
#ifndef MP_REPORT_PROGRESS_H
#define MP_REPORT_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

#define PROGRESS_MIN_BYTES 0x10000u

struct progress {
    FILE *out;
    int tty;          /* redraw a bar in place */
    int quiet;        /* show nothing */
    char what[16];    /* current step ("read", "write") */
    uint32_t total;
    double started;   /* seconds (monotonic) */
    double last_draw;
    int active;
};

void progress_init(struct progress *p, FILE *out, int tty, int quiet);
/* done of total bytes of `what`; a new step starts when what or total changes or done drops. */
void progress_update(struct progress *p, const char *what, uint32_t done, uint32_t total);
/* End the current line, if a bar is being drawn (before printing anything else). */
void progress_finish(struct progress *p);

#endif
