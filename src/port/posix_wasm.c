/* The WebAssembly build's answers where emscripten's differ from a POSIX system's
 * (posix_wasm.h). */
#include "port/posix_wasm.h"

#include <emscripten.h>
#include <stdint.h>

/* A terminal only where Node says the stream is one: a page, and Node's pipes and files,
 * get plain text. (JavaScript: not for clang-format.) */
// clang-format off
EM_JS(int, mp_wasm_node_isatty, (int fd), {
    if (typeof process !== "object" || !process.versions || !process.versions.node)
        return 0;
    var stream = fd === 1 ? process.stdout : fd === 2 ? process.stderr : fd === 0 ? process.stdin : null;
    return stream && stream.isTTY ? 1 : 0;
});
// clang-format on

int mp_wasm_isatty(int fd)
{
    return mp_wasm_node_isatty(fd);
}

// clang-format off
EM_JS(int, mp_wasm_page_port, (void), {
    return Module["serial"] ? 1 : 0;
});
EM_ASYNC_JS(void, mp_wasm_async_sleep, (int ms), {
    await new Promise((resolve) => setTimeout(resolve, ms));
});
// clang-format on

#undef nanosleep
int mp_wasm_nanosleep(const struct timespec *req, struct timespec *rem)
{
    /* Module.serial is there only in the page's engine, which is built with Asyncify. */
    if (mp_wasm_page_port()) {
        int64_t ms = (int64_t)req->tv_sec * 1000 + req->tv_nsec / 1000000;
        mp_wasm_async_sleep(ms > 0 ? (int)ms : 0);
        if (rem)
            rem->tv_sec = rem->tv_nsec = 0;
        return 0;
    }
    return nanosleep(req, rem);
}
