/* Serial ports in the WebAssembly build: a program running under Node or in a page cannot open
 * a device file, so a tty name is refused with one clear line. Boards are reached there
 * through a port the page opens itself (Web Serial), wrapped in the same port interface. */
#include "serial/port.h"

int port_tty_open(const char *path, uint32_t baud, struct port **out, struct error *err)
{
    (void)baud;
    *out = NULL;
    return error_setk(err, ERROR_DEVICE,
                      "%s: serial ports cannot be opened by the WebAssembly build; use the "
                      "native program",
                      path);
}
