/* The WebAssembly build's answers where emscripten's differ from a POSIX system's
 * (posix_wasm.h). */
#include "port/posix_wasm.h"

#include <emscripten.h>

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
