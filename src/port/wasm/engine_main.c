/* The page engine's entry: the program's main (src/tool/main.c, renamed for this target by
 * cmake/wasm.cmake), whose status is passed to exit() so that it reaches the page also when
 * the program was suspended on the way (Asyncify) and main's return value has no caller. */
#undef main
#include <stdlib.h>

int mp_tool_main(int argc, char **argv);

int main(int argc, char **argv)
{
    exit(mp_tool_main(argc, argv));
}
