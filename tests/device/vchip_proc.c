#include "vchip_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int vchip_start(struct vchip_proc *p, const char *program, const char *chip,
                const char *flash_path, int rfc2217, const char *const *extra, char *msg,
                size_t msglen)
{
    memset(p, 0, sizeof *p);
    snprintf(p->flash_path, sizeof p->flash_path, "%s", flash_path);
    const char *argv[64];
    int n = 0;
    argv[n++] = program;
    argv[n++] = "--chip";
    argv[n++] = chip;
    argv[n++] = "--flash";
    argv[n++] = flash_path;
    argv[n++] = "--quiet";
    if (rfc2217) {
        argv[n++] = "--rfc2217";
        argv[n++] = "0";
    } else {
        argv[n++] = "--pty";
    }
    for (int i = 0; extra && extra[i] && n < 62; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    int out[2];
    if (pipe(out) != 0) {
        snprintf(msg, msglen, "pipe: %s", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(msg, msglen, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);
        execv(program, (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    p->pid = pid;
    /* Read the first line naming the endpoint (5 s at most). */
    char line[200];
    size_t len = 0;
    for (;;) {
        struct pollfd pfd = {out[0], POLLIN, 0};
        if (poll(&pfd, 1, 5000) <= 0)
            break;
        ssize_t k = read(out[0], line + len, sizeof line - 1 - len);
        if (k <= 0)
            break;
        len += (size_t)k;
        line[len] = '\0';
        if (strchr(line, '\n'))
            break;
    }
    close(out[0]);
    line[len] = '\0';
    char *nl = strchr(line, '\n');
    if (nl)
        *nl = '\0';
    if (strncmp(line, "pty: ", 5) == 0) {
        snprintf(p->port, sizeof p->port, "%s", line + 5);
        return 0;
    }
    if (strncmp(line, "rfc2217://", 10) == 0) {
        snprintf(p->port, sizeof p->port, "%s", line);
        return 0;
    }
    snprintf(msg, msglen, "%s did not announce its port (got '%s')", program, line);
    vchip_stop(p);
    return -1;
}

void vchip_stop(struct vchip_proc *p)
{
    if (p->pid > 0) {
        kill(p->pid, SIGTERM);
        int st;
        for (int i = 0; i < 100; i++) {
            if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
                p->pid = 0;
                return;
            }
            usleep(20000);
        }
        kill(p->pid, SIGKILL);
        waitpid(p->pid, &st, 0);
        p->pid = 0;
    }
}
