#include "report/progress.h"

#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void progress_init(struct progress *p, FILE *out, int tty, int quiet)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    p->tty = tty;
    p->quiet = quiet;
}

static void summary(struct progress *p)
{
    double secs = now() - p->started;
    double rate = secs > 0 ? p->total / secs / 1024.0 : 0;
    char what[16];
    snprintf(what, sizeof what, "%s", p->what);
    what[0] = (char)(what[0] >= 'a' && what[0] <= 'z' ? what[0] - 32 : what[0]);
    if (p->tty)
        fputc('\n', p->out);
    else
        fprintf(p->out, "%s: %u bytes in %.1f s (%.1f kB/s)\n", what, p->total, secs, rate);
    fflush(p->out);
    p->active = 0;
}

void progress_finish(struct progress *p)
{
    if (p->active && p->tty) {
        fputc('\n', p->out);
        fflush(p->out);
    }
    p->active = 0;
}

void progress_update(struct progress *p, const char *what, uint32_t done, uint32_t total)
{
    if (p->quiet || total < PROGRESS_MIN_BYTES)
        return;
    if (!p->active || strcmp(p->what, what) != 0 || p->total != total) {
        progress_finish(p);
        snprintf(p->what, sizeof p->what, "%s", what);
        p->total = total;
        p->started = now();
        p->last_draw = 0;
        p->active = 1;
    }
    double t = now();
    if (p->tty && (done >= total || t - p->last_draw >= 0.1)) {
        p->last_draw = t;
        double secs = t - p->started;
        double rate = secs > 0 ? done / secs : 0;
        double left = rate > 0 ? (total - done) / rate : 0;
        int width = 30, filled = (int)((uint64_t)width * done / total);
        char bar[64];
        for (int i = 0; i < width; i++)
            bar[i] = i < filled ? '#' : '-';
        bar[width] = '\0';
        fprintf(p->out, "\r%-5s [%s] %3u%% %7.1f/%.1f kB %7.1f kB/s  %2d:%02d left ", p->what, bar,
                (unsigned)((uint64_t)100 * done / total), done / 1024.0, total / 1024.0,
                rate / 1024.0, (int)left / 60, (int)left % 60);
        fflush(p->out);
    }
    if (done >= total)
        summary(p);
}
