/* Windows: what the project uses of <sys/mman.h> is declared by port/posix_win32.h. */
