/* Windows: what the project uses of <sys/ioctl.h> is declared by port/posix_win32.h. */
