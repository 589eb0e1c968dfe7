/* Several boards in one run (fleet.h). Each board's run is a child process of this program, so
 * a board that fails, hangs up or crashes ends its own run only, and every option works on a
 * board of a fleet exactly as on a board alone. */
#include "tool/fleet.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef _WIN32
#include <windows.h>
#else
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include "report/json.h"
#include "report/report.h"
#include "tool/jsonreport.h"
#include "tool/run.h"
#include "serial/port.h"
#include "tool/values.h"
#include "util/strbuf.h"

static int add_board(char ***boards, int *count, const char *name)
{
    for (int i = 0; i < *count; i++)
        if (strcmp((*boards)[i], name) == 0)
            return 0;
    char **grown = realloc(*boards, (size_t)(*count + 1) * sizeof *grown);
    char *copy = grown ? strdup(name) : NULL;
    if (grown)
        *boards = grown;
    if (!copy)
        return -1;
    (*boards)[(*count)++] = copy;
    return 0;
}

/* The value of a board word: "--flash=u0" names u0. */
static const char *word_value(const char *word)
{
    const char *eq = strncmp(word, "--", 2) == 0 ? strchr(word, '=') : NULL;
    return eq ? eq + 1 : word;
}

int fleet_boards(const struct tool_options *opt, char *const argv[], const char *sysfs_root,
                 char ***boards, int *count, struct error *err)
{
    *boards = NULL;
    *count = 0;
    for (int i = 0; i < opt->board_word_count; i++) {
        const char *word = word_value(argv[opt->board_words[i]]);
        int rc = 0;
        if (strcmp(word, "all") == 0) {
            struct port_info *ports;
            size_t n;
            if (port_list(sysfs_root, &ports, &n, err))
                goto fail;
            size_t found = 0;
            for (size_t k = 0; k < n && rc == 0; k++)
                if (ports[k].esp_likely) {
                    rc = add_board(boards, count, ports[k].device);
                    found++;
                }
            free(ports);
            if (rc == 0 && found == 0) {
                error_setk(err, ERROR_VALUE,
                           "'all' found no ESP-looking USB serial port (Espressif, CP210x, "
                           "CH34x or FTDI); name the ports instead");
                goto fail;
            }
        } else {
            char *name = value_expand_device(word);
            rc = name ? add_board(boards, count, name) : -1;
            free(name);
        }
        if (rc) {
            error_setk(err, ERROR_OS, "out of memory");
            goto fail;
        }
    }
    return 0;
fail:
    for (int i = 0; i < *count; i++)
        free((*boards)[i]);
    free(*boards);
    *boards = NULL;
    *count = 0;
    return -1;
}

char **fleet_child_argv(int argc, char *const argv[], const struct tool_options *opt,
                        const char *board)
{
    char **child = calloc((size_t)argc + 2, sizeof *child);
    if (!child)
        return NULL;
    int n = 0;
    for (int i = 0; i < argc; i++) {
        int k = 0;
        while (k < opt->board_word_count && opt->board_words[k] != i)
            k++;
        if (k == opt->board_word_count) {
            child[n++] = argv[i];
        } else if (k == 0) {
            /* "--flash=all" becomes "--flash" and the board: the option's name as typed. */
            if (word_value(argv[i]) != argv[i]) {
                static char name[64];
                size_t len = (size_t)(strchr(argv[i], '=') - argv[i]);
                snprintf(name, sizeof name, "%.*s", (int)len, argv[i]);
                child[n++] = name;
            }
            child[n++] = (char *)board;
        }
    }
    child[n] = NULL;
    return child;
}

/* A board's run tells its parent what it found on a third stream, whose descriptor this
 * variable holds: "chip NAME", "mac ADDRESS" and "progress WHAT N%" lines. */
#define BOARD_FD_VARIABLE "MP_IMAGE_TOOL_BOARD_FD"

static void fleet_tell_parent_line(const char *text)
{
    const char *fd_text = getenv(BOARD_FD_VARIABLE);
    if (!fd_text || !*fd_text)
        return;
    /* A failed write only costs the parent a column of its summary or its status line. */
    char line[128];
    int n = snprintf(line, sizeof line, "%.126s\n", text);
    if (n <= 0)
        return;
#ifdef _WIN32
    HANDLE h = (HANDLE)(intptr_t)_strtoi64(fd_text, NULL, 10);
    DWORD written;
    if (h && !WriteFile(h, line, (DWORD)n, &written, NULL))
        return;
#else
    int fd = atoi(fd_text);
    if (fd > 2 && write(fd, line, (size_t)n) < 0)
        return;
#endif
}

void fleet_tell_parent(const char *chip, const char *mac)
{
    char line[64];
    snprintf(line, sizeof line, "chip %.31s", chip);
    fleet_tell_parent_line(line);
    snprintf(line, sizeof line, "mac %.17s", mac);
    fleet_tell_parent_line(line);
}

void fleet_tell_progress(const char *what, uint32_t done, uint32_t total)
{
    /* one line per whole per cent */
    static int last_percent = -1;
    static char last_what[16];
    int percent = total ? (int)((uint64_t)done * 100 / total) : 100;
    if (percent == last_percent && strncmp(what, last_what, sizeof last_what - 1) == 0)
        return;
    last_percent = percent;
    snprintf(last_what, sizeof last_what, "%s", what);
    char line[64];
    snprintf(line, sizeof line, "progress %.15s %d%%", what, percent);
    fleet_tell_parent_line(line);
}

/* ---- what a board's run said ---- */

#ifdef _WIN32
typedef HANDLE stream_handle;
#define NO_STREAM NULL
#else
typedef int stream_handle;
#define NO_STREAM (-1)
#endif

struct board_run {
    const char *port;
#ifdef _WIN32
    HANDLE process;
#else
    pid_t pid;
#endif
    stream_handle streams[3]; /* its output, error and board streams; NO_STREAM when closed */
    struct strbuf out, err;   /* everything the run printed */
    struct strbuf partial[3]; /* a line not yet ended, per stream */
    char chip[32];
    char mac[24];
    char last_error[256]; /* the last error's first line (else its first line on stderr) */
    char last_line[160];  /* the last line it printed, for the status line */
    char progress[32];    /* "write 45%": the transfer going on */
    double started, seconds;
    int status; /* exit status; -1 while running, -2 ended by a signal */
};

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void learn_from_parent_line(struct board_run *b, const char *line)
{
    if (strncmp(line, "progress ", 9) == 0) {
        size_t len = strlen(line);
        int finished = len >= 5 && strcmp(line + len - 5, " 100%") == 0;
        snprintf(b->progress, sizeof b->progress, "%s", finished ? "" : line + 9);
    } else if (strncmp(line, "chip ", 5) == 0) {
        snprintf(b->chip, sizeof b->chip, "%s", line + 5);
    } else if (strncmp(line, "mac ", 4) == 0) {
        snprintf(b->mac, sizeof b->mac, "%s", line + 4);
    }
}

/* The board's document when its standard output is one JSON object, else NULL. */
static const char *board_document(const struct board_run *b, size_t *len)
{
    const char *s = strbuf_str(&b->out);
    size_t n = b->out.len;
    while (n && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\r'))
        n--;
    while (n && (*s == ' ' || *s == '\n')) {
        s++;
        n--;
    }
    if (n < 2 || s[0] != '{' || s[n - 1] != '}')
        return NULL;
    *len = n;
    return s;
}

static const char *result_word(const struct board_run *b)
{
    return b->status == 0 ? "ok" : "failed";
}

static void summary_table(struct board_run *runs, int n, struct output *out)
{
    static const char *const headings[] = {"board", "chip", "MAC", "result", "seconds"};
    static const enum report_align align[] = {REPORT_LEFT, REPORT_LEFT, REPORT_LEFT, REPORT_LEFT,
                                              REPORT_RIGHT};
    struct report_table t;
    report_table_init(&t, out->box ? "Boards" : NULL, 5, headings, align);
    int failed = 0;
    for (int i = 0; i < n; i++) {
        struct board_run *b = &runs[i];
        char seconds[32], result[32];
        snprintf(seconds, sizeof seconds, "%.1f", b->seconds);
        if (b->status == 0)
            snprintf(result, sizeof result, "ok");
        else if (b->status > 0)
            snprintf(result, sizeof result, "failed (%d)", b->status);
        else
            snprintf(result, sizeof result, "failed (killed)");
        failed += b->status != 0;
        const char *cells[] = {b->port, b->chip[0] ? b->chip : "-", b->mac[0] ? b->mac : "-",
                               result, seconds};
        report_table_add_row(&t, cells);
    }
    struct strbuf sb = {0};
    if (out->box)
        report_table_box(&t, &sb);
    else
        report_table_plain(&t, &sb);
    strbuf_printf(&sb, "%d of %d boards succeeded.\n", n - failed, n);
    fputs(strbuf_str(&sb), out->out);
    strbuf_free(&sb);
    report_table_free(&t);
}

/* --json: the program's document (docs/json.md) with "boards", one record per board holding
 * the board's own document (its standard output) as "report". */
static void summary_json(struct board_run *runs, int n, int status, struct output *out)
{
    struct json_report jr;
    json_report_init(&jr);
    struct json *j = json_report_facts(&jr);
    int failed = 0;
    json_array_begin(j, "boards");
    for (int i = 0; i < n; i++) {
        struct board_run *b = &runs[i];
        failed += b->status != 0;
        json_object_begin(j, NULL);
        json_string(j, "board", b->port);
        json_string(j, "chip", b->chip[0] ? b->chip : NULL);
        json_string(j, "mac", b->mac[0] ? b->mac : NULL);
        json_string(j, "result", result_word(b));
        if (b->status >= 0)
            json_int(j, "exit_status", b->status);
        else
            json_null(j, "exit_status"); /* ended by a signal */
        json_fixed1(j, "seconds", b->seconds);
        json_string(j, "error", b->status != 0 && b->last_error[0] ? b->last_error : NULL);
        size_t len;
        const char *doc = board_document(b, &len);
        if (doc)
            json_raw(j, "report", doc, len);
        else
            json_null(j, "report");
        json_object_end(j);
    }
    json_array_end(j);
    if (failed) {
        struct error err;
        error_clear(&err);
        error_setk(&err, ERROR_DEVICE, "%d of %d boards failed", failed, n);
        if (status == TOOL_EXIT_VERIFY)
            err.code = ERROR_VERIFY;
        json_report_error(&jr, &err);
    }
    json_report_print(&jr, out->out, status);
    json_report_free(&jr);
}

/* The exit status of the whole run: 0 when every board succeeded; a failed board's status when
 * all failures agree on one, else 1 (TOOL_EXIT_ERROR). */
static int overall_status(const struct board_run *runs, int n)
{
    int status = TOOL_EXIT_OK;
    for (int i = 0; i < n; i++) {
        int s = runs[i].status > 0 ? runs[i].status : runs[i].status < 0 ? TOOL_EXIT_ERROR : 0;
        if (s && status && s != status)
            return TOOL_EXIT_ERROR;
        if (s)
            status = s;
    }
    return status;
}

/* What the parent shows while the boards run. On a terminal, one status line per board stays
 * at the bottom (the board's port, its time, its last line), redrawn in place, with the boards'
 * lines scrolling above it. */
struct display {
    struct output *out;
    int json;    /* the output stream carries the boards' documents, not their lines */
    int live;    /* status lines on a terminal */
    int columns; /* terminal width */
    int drawn;   /* status lines now on the screen */
    double drawn_at;
    struct board_run *runs;
    int count;
};

/* At most `width` columns of text (UTF-8 continuation bytes take none). */
static void put_fitted(struct strbuf *sb, const char *text, int width)
{
    const char *p = text;
    for (int used = 0; *p; p++) {
        if (((unsigned char)*p & 0xc0) != 0x80 && used++ == width)
            break;
    }
    strbuf_add(sb, text, (size_t)(p - text));
}

static void status_erase(struct display *d)
{
    if (!d->drawn)
        return;
    fprintf(d->out->out, "\033[%dA\033[J", d->drawn);
    d->drawn = 0;
}

static void status_draw(struct display *d)
{
    struct strbuf sb = {0};
    double now = now_seconds();
    if (d->drawn) /* over the lines drawn before: no flicker */
        strbuf_printf(&sb, "\033[%dA", d->drawn);
    for (int i = 0; i < d->count; i++) {
        const struct board_run *b = &d->runs[i];
        struct strbuf line = {0};
        if (b->status == -1)
            strbuf_printf(&line, "%s  %5.1f s  %s%s%s", b->port, now - b->started, b->progress,
                          b->progress[0] ? "  " : "", b->last_line);
        else
            strbuf_printf(&line, "%s  %5.1f s  %s", b->port, b->seconds,
                          b->status == 0 ? "ok" : "failed");
        put_fitted(&sb, strbuf_str(&line), d->columns - 1);
        strbuf_puts(&sb, "\033[K\n");
        strbuf_free(&line);
    }
    fputs(strbuf_str(&sb), d->out->out);
    fflush(d->out->out);
    strbuf_free(&sb);
    d->drawn = d->count;
    d->drawn_at = now;
}

/* "PartitionError: ...", "OSError: ...": the first line of an error (the lines after it, a
 * hint or a table, explain it). */
static int is_error_line(const char *line)
{
    size_t word = strspn(line, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
    return word > 5 && strncmp(line + word - 5, "Error: ", 7) == 0;
}

/* A line a board printed: remembered, and shown with the board's port before it (the error
 * stream's lines on the error stream; in JSON mode the output stream is the board's document,
 * kept for the summary). */
static void board_line(struct board_run *b, int stream, const char *line, struct display *d)
{
    if (stream == 2) {
        learn_from_parent_line(b, line);
        return;
    }
    if (stream == 1 && (is_error_line(line) || (!b->last_error[0] && line[0])))
        snprintf(b->last_error, sizeof b->last_error, "%s", line);
    if (line[0]) {
        snprintf(b->last_line, sizeof b->last_line, "%s", line);
        b->progress[0] = '\0'; /* a new step */
    }
    if (stream == 0 && d->json)
        return;
    status_erase(d);
    fflush(d->out->out);
    fprintf(stream ? d->out->err : d->out->out, "%s: %s\n", b->port, line);
    fflush(stream ? d->out->err : d->out->out);
}

/* Bytes from one of a board's streams (n <= 0: its end): each complete line, and the last
 * one at the end, goes to board_line. */
static void board_take(struct board_run *b, int stream, const char *buf, long n,
                       struct display *d)
{
    struct strbuf *partial = &b->partial[stream];
    if (n > 0) {
        if (stream < 2)
            strbuf_add(stream ? &b->err : &b->out, buf, (size_t)n);
        strbuf_add(partial, buf, (size_t)n);
    }
    char *text = partial->text;
    size_t start = 0;
    for (size_t i = 0; i < partial->len; i++) {
        if (text[i] != '\n')
            continue;
        text[i] = '\0';
        if (i > start && text[i - 1] == '\r')
            text[i - 1] = '\0';
        board_line(b, stream, text + start, d);
        start = i + 1;
    }
    if (n <= 0 && start < partial->len) {
        board_line(b, stream, text + start, d);
        start = partial->len;
    }
    if (start) {
        struct strbuf rest = {0};
        strbuf_add(&rest, text + start, partial->len - start);
        strbuf_free(partial);
        *partial = rest;
    }
}

static int board_open_streams(const struct board_run *b)
{
    return (b->streams[0] != NO_STREAM) + (b->streams[1] != NO_STREAM) +
           (b->streams[2] != NO_STREAM);
}

#ifndef _WIN32

/* Ctrl-C, or a signal to the parent alone, reaches every board's run (a terminal signals the
 * whole group anyway; a kill of the parent must not leave runs going on unseen); the parent
 * still waits for them and shows how each ended. */
static volatile sig_atomic_t stop_signal;
static struct board_run *signalled_runs;
static int signalled_count;

static void forward_stop(int sig)
{
    stop_signal = sig;
    for (int i = 0; i < signalled_count; i++)
        if (signalled_runs[i].pid > 0)
            kill(signalled_runs[i].pid, sig);
}

static const int stop_signals[] = {SIGINT, SIGTERM, SIGHUP};

static void catch_stop_signals(struct board_run *runs, int n)
{
    signalled_runs = runs;
    signalled_count = n;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = forward_stop;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof stop_signals / sizeof stop_signals[0]; i++)
        sigaction(stop_signals[i], &sa, NULL);
}

/* The signal that stopped the run, 0 if none. */
static int release_stop_signals(void)
{
    for (size_t i = 0; i < sizeof stop_signals / sizeof stop_signals[0]; i++)
        signal(stop_signals[i], SIG_DFL);
    signalled_count = 0;
    return stop_signal;
}

/* Start one board's run: this program again (the running executable where /proc tells it,
 * else argv[0] on the PATH), its output streams on pipes, nothing on its input. */
static int start_board(struct board_run *b, char **child_argv, struct error *err)
{
    int pipes[3][2];
    for (int i = 0; i < 3; i++)
        if (pipe(pipes[i])) {
            int e = errno;
            while (i--)
                close(pipes[i][0]), close(pipes[i][1]);
            return error_setk(err, ERROR_OS, "pipe: %s", strerror(e));
        }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        for (int i = 0; i < 3; i++)
            close(pipes[i][0]), close(pipes[i][1]);
        return error_setk(err, ERROR_OS, "fork: %s", strerror(e));
    }
    if (pid == 0) {
        for (size_t i = 0; i < sizeof stop_signals / sizeof stop_signals[0]; i++)
            signal(stop_signals[i], SIG_DFL); /* the parent's forwarding is not this run's */
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0)
            dup2(null, 0);
        for (int i = 0; i < 3; i++)
            dup2(pipes[i][1], i + 1);
        for (int fd = 4; fd < 1024; fd++)
            close(fd);
        setenv(BOARD_FD_VARIABLE, "3", 1);
        execv("/proc/self/exe", child_argv);
        execvp(child_argv[0], child_argv);
        fprintf(stderr, "OSError: cannot run %s: %s\n", child_argv[0], strerror(errno));
        _exit(127);
    }
    for (int i = 0; i < 3; i++) {
        close(pipes[i][1]);
        fcntl(pipes[i][0], F_SETFD, FD_CLOEXEC);
        b->streams[i] = pipes[i][0];
    }
    b->pid = pid;
    return 0;
}

static void board_finish(struct board_run *b)
{
    int wstatus = 0;
    pid_t r;
    do
        r = waitpid(b->pid, &wstatus, 0);
    while (r < 0 && errno == EINTR);
    b->pid = 0; /* never signalled again */
    b->seconds = now_seconds() - b->started;
    if (r < 0)
        b->status = 1;
    else if (WIFEXITED(wstatus))
        b->status = WEXITSTATUS(wstatus);
    else
        b->status = -2;
    if (b->status == -2 && !b->last_error[0])
        snprintf(b->last_error, sizeof b->last_error, "the run ended on signal %d",
                 WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0);
}

/* Until every run has ended: each board's streams read as they come. */
static void follow_boards(struct board_run *runs, int n, int running, struct display *d)
{
    struct pollfd *fds = calloc((size_t)n * 3, sizeof *fds);
    int *owner = calloc((size_t)n * 3, sizeof *owner);
    while (running > 0 && fds && owner) {
        int k = 0;
        for (int i = 0; i < n; i++)
            for (int stream = 0; stream < 3; stream++)
                if (runs[i].streams[stream] != NO_STREAM) {
                    owner[k] = i * 3 + stream;
                    fds[k++] = (struct pollfd){.fd = runs[i].streams[stream], .events = POLLIN};
                }
        if (poll(fds, (nfds_t)k, d->live ? 250 : -1) < 0 && errno != EINTR)
            break;
        for (int j = 0; j < k; j++) {
            if (!fds[j].revents)
                continue;
            struct board_run *b = &runs[owner[j] / 3];
            int stream = owner[j] % 3;
            char buf[4096];
            ssize_t got = read(b->streams[stream], buf, sizeof buf);
            if (got < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            board_take(b, stream, buf, (long)got, d);
            if (got > 0)
                continue;
            close(b->streams[stream]);
            b->streams[stream] = NO_STREAM;
            if (!board_open_streams(b)) {
                board_finish(b);
                running--;
            }
        }
        if (d->live && (!d->drawn || now_seconds() - d->drawn_at >= 0.25))
            status_draw(d);
    }
    free(owner);
    free(fds);
    /* Only when polling itself failed: wait for the runs still going. */
    for (int i = 0; i < n; i++)
        if (runs[i].status == -1) {
            for (int stream = 0; stream < 3; stream++)
                if (runs[i].streams[stream] != NO_STREAM)
                    close(runs[i].streams[stream]);
            board_finish(&runs[i]);
        }
}

#else

/* One argument of a Windows command line, quoted as the C runtime splits it again. */
static void append_quoted(struct strbuf *sb, const char *arg)
{
    if (*arg && !strpbrk(arg, " \t\n\v\"")) {
        strbuf_puts(sb, arg);
        return;
    }
    strbuf_puts(sb, "\"");
    for (const char *p = arg;; p++) {
        size_t slashes = 0;
        while (*p == '\\')
            p++, slashes++;
        if (!*p) {
            strbuf_repeat(sb, "\\", slashes * 2); /* before the closing quote */
            break;
        }
        if (*p == '"')
            strbuf_repeat(sb, "\\", slashes * 2 + 1);
        else
            strbuf_repeat(sb, "\\", slashes);
        strbuf_add(sb, p, 1);
    }
    strbuf_puts(sb, "\"");
}

/* Start one board's run: this program again, its output streams on pipes, nothing on its
 * input; the board stream's handle is passed in the environment. */
static int start_board(struct board_run *b, char **child_argv, struct error *err)
{
    char exe[MAX_PATH * 4];
    DWORD len = GetModuleFileNameA(NULL, exe, sizeof exe);
    if (len == 0 || len >= sizeof exe)
        return error_setk(err, ERROR_OS, "cannot find this program's file");
    SECURITY_ATTRIBUTES inherit = {sizeof inherit, NULL, TRUE};
    HANDLE rd[3] = {NULL, NULL, NULL}, wr[3] = {NULL, NULL, NULL};
    for (int i = 0; i < 3; i++)
        if (!CreatePipe(&rd[i], &wr[i], &inherit, 0) ||
            !SetHandleInformation(rd[i], HANDLE_FLAG_INHERIT, 0)) {
            for (int k = 0; k <= i; k++) {
                if (rd[k])
                    CloseHandle(rd[k]);
                if (wr[k])
                    CloseHandle(wr[k]);
            }
            return error_setk(err, ERROR_OS, "cannot make a pipe (error %lu)", GetLastError());
        }
    HANDLE null = CreateFileA("NUL", GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, &inherit,
                              OPEN_EXISTING, 0, NULL);
    struct strbuf cmd = {0};
    for (int i = 0; child_argv[i]; i++) {
        if (i)
            strbuf_puts(&cmd, " ");
        append_quoted(&cmd, child_argv[i]);
    }
    char handle_text[32];
    snprintf(handle_text, sizeof handle_text, "%lld", (long long)(intptr_t)wr[2]);
    SetEnvironmentVariableA(BOARD_FD_VARIABLE, handle_text);
    STARTUPINFOA si;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = null;
    si.hStdOutput = wr[0];
    si.hStdError = wr[1];
    PROCESS_INFORMATION pi;
    fflush(NULL);
    BOOL ok = CreateProcessA(exe, cmd.text, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi);
    DWORD error = GetLastError();
    SetEnvironmentVariableA(BOARD_FD_VARIABLE, NULL);
    strbuf_free(&cmd);
    if (null != INVALID_HANDLE_VALUE)
        CloseHandle(null);
    for (int i = 0; i < 3; i++) {
        CloseHandle(wr[i]);
        b->streams[i] = rd[i];
    }
    if (!ok) {
        for (int i = 0; i < 3; i++) {
            CloseHandle(rd[i]);
            b->streams[i] = NO_STREAM;
        }
        return error_setk(err, ERROR_OS, "cannot run %s (error %lu)", exe, error);
    }
    CloseHandle(pi.hThread);
    b->process = pi.hProcess;
    return 0;
}

/* Ctrl-C on a console reaches every process attached to it: nothing to forward. */
static void catch_stop_signals(struct board_run *runs, int n)
{
    (void)runs, (void)n;
}

static int release_stop_signals(void)
{
    return 0;
}

static void board_finish(struct board_run *b)
{
    DWORD code = 1;
    WaitForSingleObject(b->process, INFINITE);
    GetExitCodeProcess(b->process, &code);
    CloseHandle(b->process);
    b->seconds = now_seconds() - b->started;
    b->status = (int)(code & 0xff) == (int)code ? (int)code : 1;
}

/* Until every run has ended: each board's pipes read as they fill (anonymous pipes cannot be
 * waited on together, so they are looked at in turn). */
static void follow_boards(struct board_run *runs, int n, int running, struct display *d)
{
    while (running > 0) {
        int moved = 0;
        for (int i = 0; i < n; i++) {
            struct board_run *b = &runs[i];
            for (int stream = 0; stream < 3; stream++) {
                if (b->streams[stream] == NO_STREAM)
                    continue;
                DWORD avail = 0, got = 0;
                char buf[4096];
                BOOL alive = PeekNamedPipe(b->streams[stream], NULL, 0, NULL, &avail, NULL);
                if (alive && avail == 0)
                    continue;
                if (alive &&
                    ReadFile(b->streams[stream], buf,
                             avail < sizeof buf ? avail : (DWORD)sizeof buf, &got, NULL) &&
                    got > 0) {
                    board_take(b, stream, buf, (long)got, d);
                    moved = 1;
                    continue;
                }
                board_take(b, stream, NULL, 0, d);
                CloseHandle(b->streams[stream]);
                b->streams[stream] = NO_STREAM;
                moved = 1;
                if (!board_open_streams(b)) {
                    board_finish(b);
                    running--;
                }
            }
        }
        if (!moved)
            Sleep(20);
        if (d->live && (!d->drawn || now_seconds() - d->drawn_at >= 0.25))
            status_draw(d);
    }
}

#endif

int fleet_run(int argc, char *const argv[], const struct tool_options *opt, struct output *out)
{
    struct error err;
    error_clear(&err);
#ifdef __EMSCRIPTEN__
    /* WebAssembly starts no processes to run the boards in */
    (void)argc, (void)argv, (void)opt;
    error_setk(&err, ERROR_VALUE,
               "several boards in one run need the native program: run this one once per board");
    output_error(out, &err);
    return TOOL_EXIT_ERROR;
#endif
    char **boards;
    int n;
    if (fleet_boards(opt, argv, NULL, &boards, &n, &err)) {
        output_error(out, &err);
        return 1;
    }
    int json = opt->json;
    struct board_run *runs = calloc((size_t)n, sizeof *runs);
    if (!runs) {
        fputs("OSError: out of memory\n", out->err);
        return 1;
    }
    struct display d = {.out = out,
                        .json = json,
#ifndef _WIN32 /* the Windows console needs its escape sequences switched on first */
                        .live = !json && !out->quiet && isatty(fileno(out->out)),
#endif
                        .columns = args_terminal_columns(),
                        .runs = runs,
                        .count = n};
    if (!out->quiet && !json)
        fprintf(out->out, "Running on %d board%s at once.\n", n, n == 1 ? "" : "s");
    int running = 0;
    catch_stop_signals(runs, n);
    for (int i = 0; i < n; i++) {
        struct board_run *b = &runs[i];
        b->port = boards[i];
        for (int stream = 0; stream < 3; stream++)
            b->streams[stream] = NO_STREAM;
        b->started = now_seconds();
        char **child = fleet_child_argv(argc, argv, opt, boards[i]);
        if (!child || start_board(b, child, &err)) {
            /* this board fails; the others go on */
            snprintf(b->last_error, sizeof b->last_error, "%.200s",
                     child ? err.msg : "out of memory");
            fprintf(out->err, "%s: %s\n", b->port, b->last_error);
            b->status = 1;
        } else {
            b->status = -1;
            running++;
        }
        free(child);
    }
    follow_boards(runs, n, running, &d);
    int stopped_by = release_stop_signals();
    status_erase(&d);
    fflush(out->out);
    int status = stopped_by ? 128 + stopped_by : overall_status(runs, n);
    if (json) {
        summary_json(runs, n, status, out);
    } else {
        for (int i = 0; i < n; i++)
            if (runs[i].status != 0)
                fprintf(out->err, "%s: failed: %s\n", runs[i].port,
                        runs[i].last_error[0] ? runs[i].last_error : "no message");
        fflush(out->err);
        summary_table(runs, n, out);
    }
    for (int i = 0; i < n; i++) {
        strbuf_free(&runs[i].out);
        strbuf_free(&runs[i].err);
        for (int stream = 0; stream < 3; stream++)
            strbuf_free(&runs[i].partial[stream]);
        free(boards[i]);
    }
    free(runs);
    free(boards);
    return status;
}
