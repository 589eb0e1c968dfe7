/* Runs two commands side by side, A B A B ... (one warm-up round first, not counted), each as
 * `/bin/sh -c "exec COMMAND"` with its output to /dev/null, and prints one Markdown table row
 * per command with the medians of CPU time (user + system), wall time and peak RSS taken from
 * the kernel's accounting of the finished process (wait4), then a row with the medians of the
 * pairwise ratios A/B. Pairing the runs keeps a ratio meaningful when a shared machine's speed
 * drifts. A command that fails stops the benchmark.
 * Usage: side-bench RUNS LABEL_A 'COMMAND_A' LABEL_B 'COMMAND_B' */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct run {
    double cpu, wall, rss_mb;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int run_once(const char *label, const char *cmd, struct run *out)
{
    double start = now_s();
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return -1;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);
        }
        char *full = malloc(16 + strlen(cmd));
        if (!full)
            _exit(127);
        sprintf(full, "exec %s", cmd);
        execl("/bin/sh", "sh", "-c", full, (char *)NULL);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) {
        perror("wait4");
        return -1;
    }
    out->wall = now_s() - start;
    out->cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
               (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    out->rss_mb = (double)ru.ru_maxrss / 1024.0; /* kilobytes on Linux */
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "side-bench: %s failed (status %d): %s\n", label, status, cmd);
        return -1;
    }
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: side-bench RUNS LABEL_A 'COMMAND_A' LABEL_B 'COMMAND_B'\n");
        return 2;
    }
    int n = atoi(argv[1]);
    if (n < 1 || n > 1000) {
        fprintf(stderr, "side-bench: RUNS must be 1..1000\n");
        return 2;
    }
    const char *label[2] = {argv[2], argv[4]}, *cmd[2] = {argv[3], argv[5]};
    struct run *r[2] = {calloc((size_t)n, sizeof **r), calloc((size_t)n, sizeof **r)};
    double *v = calloc((size_t)n, sizeof *v);
    if (!r[0] || !r[1] || !v)
        return 1;
    struct run warm;
    for (int k = 0; k < 2; k++)
        if (run_once(label[k], cmd[k], &warm))
            return 1;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < 2; k++)
            if (run_once(label[k], cmd[k], &r[k][i]))
                return 1;
    for (int k = 0; k < 2; k++) {
        double cpu, wall, rss;
        for (int i = 0; i < n; i++)
            v[i] = r[k][i].cpu;
        cpu = median(v, n);
        for (int i = 0; i < n; i++)
            v[i] = r[k][i].wall;
        wall = median(v, n);
        for (int i = 0; i < n; i++)
            v[i] = r[k][i].rss_mb;
        rss = median(v, n);
        printf("| %s | %.3f | %.3f | %.1f |\n", label[k], cpu, wall, rss);
    }
    double cpu_ratio, wall_ratio, rss_ratio;
    for (int i = 0; i < n; i++)
        v[i] = r[0][i].cpu / (r[1][i].cpu > 0 ? r[1][i].cpu : 1e-9);
    cpu_ratio = median(v, n);
    for (int i = 0; i < n; i++)
        v[i] = r[0][i].wall / (r[1][i].wall > 0 ? r[1][i].wall : 1e-9);
    wall_ratio = median(v, n);
    for (int i = 0; i < n; i++)
        v[i] = r[0][i].rss_mb / (r[1][i].rss_mb > 0 ? r[1][i].rss_mb : 1e-9);
    rss_ratio = median(v, n);
    printf("| ratio %s / %s | %.4f | %.4f | %.2f |\n", label[0], label[1], cpu_ratio, wall_ratio,
           rss_ratio);
    free(r[0]);
    free(r[1]);
    free(v);
    return 0;
}
