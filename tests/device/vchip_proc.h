/* Start and stop the virtual chip (esp-virtual-chip) as a subprocess for device tests and the
 * benchmark: it prints "pty: PATH" and/or "rfc2217://127.0.0.1:PORT" once it listens. */
#ifndef MP_TESTS_VCHIP_PROC_H
#define MP_TESTS_VCHIP_PROC_H

#include <stddef.h>
#include <sys/types.h>

struct vchip_proc {
    pid_t pid;
    char port[256];      /* name to pass to port_open */
    char flash_path[256];
};

/* Run `program --chip CHIP --flash FLASH_PATH --quiet EXTRA...` (extra: NULL-terminated) with
 * either --pty (rfc2217 = 0) or --rfc2217 0. Returns 0 and fills p, or -1 with a message in
 * msg. */
int vchip_start(struct vchip_proc *p, const char *program, const char *chip,
                const char *flash_path, int rfc2217, const char *const *extra, char *msg,
                size_t msglen);
void vchip_stop(struct vchip_proc *p);

#endif
