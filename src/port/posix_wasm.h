/* Where the WebAssembly build (emscripten) differs from a POSIX system, for that build only:
 * included ahead of every source file there (-include, see cmake/wasm.cmake), so the modules
 * keep their POSIX code. emscripten's isatty() answers yes for every standard stream, which
 * would box and colour redirected output; here it asks Node, and a page has no terminal. */
#ifndef MP_PORT_POSIX_WASM_H
#define MP_PORT_POSIX_WASM_H
#ifdef __EMSCRIPTEN__

#include <time.h>
#include <unistd.h>

int mp_wasm_isatty(int fd);
#define isatty(fd) mp_wasm_isatty(fd)

/* In the page, waits (the loader's reset and retry delays) let the browser run meanwhile
 * rather than spin; elsewhere they are emscripten's own. */
int mp_wasm_nanosleep(const struct timespec *req, struct timespec *rem);
#define nanosleep(req, rem) mp_wasm_nanosleep(req, rem)

#endif
#endif
