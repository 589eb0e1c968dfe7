/* Writing a local file so that it appears whole or not at all: the bytes go to an unnamed
 * file in the target's folder (O_TMPFILE; a short hidden name where the filesystem has no
 * unnamed files) which then takes the target's name in one rename. The temporary name never
 * depends on the target's, so a legal target name is never made too long; SIGINT, SIGTERM and
 * SIGHUP wait until the temporary file is gone, so only SIGKILL in the instant between naming
 * and renaming (or, without O_TMPFILE, during the write) can leave one behind. */
#ifndef MP_UTIL_ATOMIC_WRITE_H
#define MP_UTIL_ATOMIC_WRITE_H

#include <stddef.h>
#include <sys/stat.h>

#include "util/error.h"

/* Write len bytes as `name` in the folder dirfd (an existing file is replaced, keeping its
 * permissions; a new one gets 0666 less the umask). `display` names the file in messages (a
 * path from the current folder). protect (may be NULL): the path of a file that must not be
 * replaced (the input firmware): refused when name is that file, also through another link.
 * Returns 0, or -1 with an ERROR_OS message. */
int atomic_write_at(int dirfd, const char *name, const void *data, size_t len,
                    const char *display, const char *protect, struct error *err);

/* The same for a path: a symbolic link is followed (its target is replaced and the link
 * stays); a FIFO or a character device (/dev/stdout, /dev/null, a pipe) is written through as
 * it is; a folder or any other kind of file is refused. */
int atomic_write_path(const char *path, const void *data, size_t len, const char *protect,
                      struct error *err);

#endif
