/* Helpers shared by the port back-ends (not part of the public interface). */
#ifndef MP_SERIAL_PORT_INTERNAL_H
#define MP_SERIAL_PORT_INTERNAL_H

#include "serial/port.h"

/* Monotonic milliseconds. */
int64_t port_now_ms(void);
/* Wait until fd is readable (1), timeout (0) or error (-1, errno set). */
int port_wait_readable(int fd, int timeout_ms);
/* read() once after waiting; returns bytes, 0 on timeout, -1 with err set (EOF is an error). */
int port_fd_read(int fd, const char *name, uint8_t *buf, size_t len, int timeout_ms,
                 struct error *err);
#define PORT_E_CLOSED (-2) /* the other end of a connection has closed it */

/* Write everything, waiting up to 10 s for room (§3.7 serial write timeout); PORT_E_CLOSED
 * when the peer of a socket has gone (no SIGPIPE). */
int port_fd_write(int fd, const char *name, const uint8_t *buf, size_t len, struct error *err);
/* Split "host:port"; returns a connected TCP socket or -1 with err set. */
int port_tcp_connect(const char *hostport, const char *scheme, struct error *err);

#endif
