/* One `--fs CMD ARGS...` as the tool runs it: argument rules of seed-spec §10.2, each partition
 * mounted once for a run of arguments naming it and written back before the next mount (the
 * Python tool mounted afresh per argument without writing back first and lost updates, §10.5). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/fs.h"
#include "util/check.h"

/* The mounted partition of a run of arguments. */
struct session {
    const struct fs_env *env;
    const struct fs_partition *part;
    struct flash_window window;
    struct fs *fs;
    int skipped; /* part could not be mounted and was skipped */
};

static int session_close(struct session *s, struct error *err)
{
    if (s->fs && fs_cache_of(s->fs)->changes && s->env->changed)
        *s->env->changed = 1;
    int rc = fs_unmount(s->fs, err);
    s->fs = NULL;
    s->part = NULL;
    s->skipped = 0;
    return rc;
}

/* Make the partition named `name` the mounted one. Returns 1 when mounted, 0 when skipped
 * (not in the file or no filesystem, and skipping is allowed), -1 on error. */
static int session_use(struct session *s, const char *name, int may_skip, struct error *err)
{
    if (s->part && strcmp(s->part->name, name) == 0)
        return s->fs ? 1 : 0;
    if (session_close(s, err))
        return -1;
    const struct fs_partition *p = fs_partitions_find(s->env->parts, name);
    if (!p)
        return error_setk(err, ERROR_PARTITION, "Partition '%s' not found.", name);
    s->part = p;
    if (!may_skip && fs_cover_partition(s->env->flash, p, s->env->out, err))
        return -1;
    fs_window_open(&s->window, s->env->flash, p);
    if (s->window.flash.size == 0) {
        if (!may_skip)
            return error_setk(err, ERROR_VALUE, "Partition '%s' is not in firmware file.", name);
        log_printf(fs_log(s->env->out), LOG_INFO,
                   "Skipping partition '%s': not in the firmware file", name);
        s->skipped = 1;
        return 0;
    }
    struct error merr;
    int rc = fs_mount(&s->fs, &s->window.flash, p, s->env->flush, &merr);
    if (rc) {
        /* skipped: a partition without a filesystem; out of memory, a flash that cannot be
         * read, or a littlefs that does not mount (a damaged one: unless lenient) is an
         * error, not an empty listing */
        int damaged = fs_holds_littlefs(&s->window.flash) || fs_holds_fat(&s->window.flash);
        if (!may_skip || rc == FS_ERR_NOMEM || rc == FS_ERR_IO || (damaged && !s->env->lenient)) {
            if (err)
                *err = merr;
            return -1;
        }
        log_printf(fs_log(s->env->out), damaged ? LOG_WARNING : LOG_INFO,
                   "%sSkipping partition '%s': %s", damaged ? "Warning: " : "", name, merr.msg);
        s->skipped = 1;
        return 0;
    }
    fs_protect_file(s->fs, s->env->protect);
    return 1;
}

/* the operations of the runners shared by several commands */
enum fs_op { OP_LS, OP_CAT, OP_MKDIR, OP_RM, OP_DF, OP_INFO };

static int run_paths(const struct fs_env *env, const struct fs_command *cmd, int argc,
                     const char *const argv[], struct error *err)
{
    static const char *const root[] = {"."};
    if (argc == 0 && cmd->op == OP_LS) {
        argv = root;
        argc = 1;
    }
    int may_skip = !cmd->mutates;
    struct session s = {.env = env};
    char part[PTABLE_LABEL_MAX + 1] = "vfs";
    int result = 0;
    for (int i = 0; i < argc && !result; i++) {
        const char *path = fs_split_path(argv[i], part, err);
        if (!path) {
            result = -1;
            break;
        }
        int rc = session_use(&s, part, may_skip, err);
        if (rc < 0) {
            result = -1;
            break;
        }
        if (rc == 0)
            continue;
        char shown[1024];
        fs_path_norm(path, shown, sizeof shown);
        log_printf(fs_log(env->out), LOG_INFO, "%s '%s:%s'", cmd->name, part, shown);
        switch ((enum fs_op)cmd->op) {
        case OP_LS: result = fs_ls(s.fs, path, env->out, err); break;
        case OP_CAT: result = fs_cat(s.fs, path, env->out, err); break;
        case OP_MKDIR: result = fs_mkdir(s.fs, path, err); break;
        case OP_RM: result = fs_rm(s.fs, path, err); break;
        default: MP_ASSERT(!"a path operation"); break;
        }
    }
    /* write back what was done even when a later argument failed */
    if (session_close(&s, result ? NULL : err))
        result = -1;
    return result;
}

static int run_rename(const struct fs_env *env, const struct fs_command *cmd, int argc,
                      const char *const argv[], struct error *err)
{
    (void)cmd;
    if (argc != 2)
        return error_setk(err, ERROR_VALUE, "'--fs rename' requires two arguments");
    char part1[PTABLE_LABEL_MAX + 1] = "vfs", part2[PTABLE_LABEL_MAX + 1];
    const char *from = fs_split_path(argv[0], part1, err);
    if (!from)
        return -1;
    memcpy(part2, part1, sizeof part2);
    const char *to = fs_split_path(argv[1], part2, err);
    if (!to)
        return -1;
    if (strcmp(part1, part2) != 0)
        return error_setk(err, ERROR_VALUE, "'--fs rename' Both partitions must be the same");
    struct session s = {.env = env};
    int result = session_use(&s, part1, 0, err) < 0 ? -1 : 0;
    if (!result) {
        log_printf(fs_log(env->out), LOG_INFO, "rename '%s:%s' -> '%s'", part1, from, to);
        result = fs_rename(s.fs, from, to, err);
    }
    if (session_close(&s, result ? NULL : err))
        result = -1;
    return result;
}

static int run_get(const struct fs_env *env, const struct fs_command *cmd, int argc,
                   const char *const argv[], struct error *err)
{
    (void)cmd;
    const char *dest = ".";
    if (argc >= 2)
        dest = argv[--argc];
    struct session s = {.env = env};
    char part[PTABLE_LABEL_MAX + 1] = "vfs";
    int result = 0;
    for (int i = 0; i < argc && !result; i++) {
        const char *src = fs_split_path(argv[i], part, err);
        if (!src) {
            result = -1;
            break;
        }
        int rc = session_use(&s, part, 1, err);
        if (rc < 0)
            result = -1;
        if (rc <= 0)
            continue;
        log_printf(fs_log(env->out), LOG_INFO, "get '%s:%s' -> '%s'", part, src, dest);
        result = fs_get(s.fs, src, dest, env->out, err);
    }
    if (session_close(&s, result ? NULL : err))
        result = -1;
    return result;
}

/* Write the files of argv into dest on partition part of env's flash (the session's). */
static int put_all(struct session *s, const char *part, const char *dest, int argc,
                   const char *const argv[], const struct fs_output *out, struct error *err)
{
    int result = 0;
    for (int i = 0; i < argc && !result; i++) {
        log_printf(fs_log(out), LOG_INFO, "put '%s' -> '%s:%s':", argv[i], part, dest);
        result = fs_put(s->fs, argv[i], dest, out, err);
    }
    return result;
}

static int run_put(const struct fs_env *env, const struct fs_command *cmd, int argc,
                   const char *const argv[], struct error *err)
{
    (void)cmd;
    if (argc == 0)
        return error_setk(err, ERROR_VALUE, "'--fs put' requires a file or directory to copy");
    const char *destarg = ".";
    if (argc >= 2)
        destarg = argv[--argc];
    char part[PTABLE_LABEL_MAX + 1] = "vfs";
    const char *dest = fs_split_path(destarg, part, err);
    if (!dest)
        return -1;
    /* On a board a put that cannot complete (no room, an unreadable local file) is refused
     * before a single block is written: a dry run first, in memory. A file is saved only after
     * the whole command succeeded, so there the put itself is the trial. */
    int live = flash_can(env->flash, FLASH_CAP_LIVE);
    struct fs_env dry = *env;
    const struct fs_output silent = {0};
    dry.flush = FS_FLUSH_NEVER;
    dry.out = &silent;
    dry.changed = NULL;
    struct session s = {.env = live ? &dry : env};
    int result = session_use(&s, part, 0, err) < 0 ? -1 : 0;
    struct fs_usage before;
    int measured = !result && fs_usage(s.fs, &before, err) == 0;
    if (!result && !measured)
        result = -1;
    if (live) {
        if (!result)
            result = put_all(&s, part, dest, argc, argv, &silent, err);
        session_close(&s, NULL);
        s = (struct session){.env = env};
        if (!result)
            result = session_use(&s, part, 0, err) < 0 ? -1 : 0;
        /* the checked put again, for real: batched, as the chip is written in */
        if (!result && env->flush == FS_FLUSH_AT_SYNC && fs_batch(s.fs, err))
            result = -1;
    }
    if (!result)
        result = put_all(&s, part, dest, argc, argv, env->out, err);
    if (measured && result == FS_ERR_NOSPC)
        error_prefix(err, "The files do not fit in '%s' (%u kB free): nothing was written", part,
                     before.free_kb);
    uint32_t unchanged = !result && s.fs ? fs_unchanged_files(s.fs) : 0;
    if (unchanged)
        log_printf(fs_log(env->out), LOG_INFO,
                   "%u file%s already held the same bytes: not written again", unchanged,
                   unchanged == 1 ? "" : "s");
    if (!result && env->out && env->out->unchanged)
        env->out->unchanged(env->out->ctx, unchanged);
    if (session_close(&s, result ? NULL : err))
        result = -1;
    return result;
}

static int run_mkfs(const struct fs_env *env, const struct fs_command *cmd, int argc,
                    const char *const argv[], struct error *err)
{
    (void)cmd;
    const struct fs_partition *sel[PTABLE_MAX_ENTRIES + 1];
    int n;
    if (fs_select_partitions(env->parts, argv, argc, FS_DEFAULT_VFS, sel, &n, err))
        return -1;
    uint32_t version = fs_format_version_for(env->micropython_version);
    for (int i = 0; i < n; i++) {
        struct flash_window w;
        if (fs_cover_partition(env->flash, sel[i], env->out, err))
            return -1;
        fs_window_open(&w, env->flash, sel[i]);
        /* FAT where MicroPython makes FAT (or finds one), littlefs elsewhere */
        int rc = fs_wants_fat(&w.flash, sel[i])
                     ? fs_mkfs_fat(&w.flash, sel[i], env->flush, env->out, err)
                     : fs_mkfs(&w.flash, sel[i], version, env->flush, env->out, err);
        if (env->changed && w.flash.size > 0)
            *env->changed = 1; /* erased at least, even when formatting failed */
        if (rc)
            return -1;
    }
    return 0;
}

static int parse_blocks(const struct fs_env *env, const char *text, uint32_t *blocks,
                        struct error *err)
{
    int64_t v;
    if (env->parse_size) {
        if (env->parse_size(text, &v, err))
            return -1;
    } else {
        char *end;
        errno = 0;
        v = strtoll(text, &end, 0);
        if (errno || end == text || *end)
            return error_setk(err, ERROR_VALUE, "invalid block count '%s'", text);
    }
    if (v < 0)
        return error_setk(err, ERROR_VALUE, "block count '%s' is negative", text);
    if (v > 0xFFFFFFFFll)
        return error_setk(err, ERROR_VALUE, "block count '%s' is too large", text);
    *blocks = (uint32_t)v;
    return 0;
}

static int run_grow(const struct fs_env *env, const struct fs_command *cmd, int argc,
                    const char *const argv[], struct error *err)
{
    (void)cmd;
    if (argc > 2)
        return error_setk(err, ERROR_VALUE, "'--fs grow' takes a partition and a block count");
    const char *name = argc >= 1 ? argv[0] : "vfs";
    uint32_t blocks = 0;
    if (argc == 2 && parse_blocks(env, argv[1], &blocks, err))
        return -1;
    struct session s = {.env = env};
    int result = session_use(&s, name, 0, err) < 0 ? -1 : 0;
    if (!result)
        result = fs_grow(s.fs, blocks, env->out, err);
    if (session_close(&s, result ? NULL : err))
        result = -1;
    return result;
}

static int run_usage(const struct fs_env *env, const struct fs_command *cmd, int argc,
                     const char *const argv[], struct error *err)
{
    int info = cmd->op == OP_INFO;
    const struct fs_partition *sel[PTABLE_MAX_ENTRIES + 1];
    int n;
    if (fs_select_partitions(env->parts, argv, argc, FS_DEFAULT_FS_PARTS, sel, &n, err))
        return -1;
    int result = 0;
    for (int i = 0; i < n && !result; i++) {
        struct session s = {.env = env};
        int rc = session_use(&s, sel[i]->name, 1, err);
        if (rc < 0)
            return -1;
        if (rc > 0) {
            struct fs_usage u;
            result = fs_usage(s.fs, &u, err);
            if (!result && u.block_count != u.partition_blocks)
                log_printf(fs_log(env->out), LOG_INFO,
                    "Warning: the filesystem on '%s' has %u blocks, the partition %u: "
                    "MicroPython mounts it only when they are equal (use grow)",
                    u.part, u.block_count, u.partition_blocks);
            if (!result && info)
                fs_info_lines(&u, env->out);
            /* the numbers of info too, for callers that report them as data */
            if (!result && env->out && env->out->usage)
                env->out->usage(env->out->ctx, &u);
        }
        if (session_close(&s, result ? NULL : err))
            result = -1;
    }
    return result;
}

const struct fs_command fs_commands[] = {
    {.name = "ls",
     .args = "[PATH...]",
     .help = "list files and directories, recursively",
     .run = run_paths,
     .op = OP_LS},
    {.name = "get",
     .args = "PATH... [DEST]",
     .help = "copy files or directories to the local DEST (or .)",
     .run = run_get},
    {.name = "put",
     .args = "FILE... [DEST]",
     .help = "copy local files or directories into DEST (or /)",
     .mutates = 1,
     .run = run_put},
    {.name = "mkdir",
     .args = "PATH...",
     .help = "make directories, and their parents",
     .mutates = 1,
     .run = run_paths,
     .op = OP_MKDIR},
    {.name = "rm",
     .args = "PATH...",
     .help = "remove files or whole directory trees",
     .mutates = 1,
     .run = run_paths,
     .op = OP_RM},
    {.name = "rename",
     .args = "OLD NEW",
     .help = "rename a file or directory",
     .mutates = 1,
     .run = run_rename},
    {.name = "cat",
     .args = "PATH...",
     .help = "print the contents of files",
     .run = run_paths,
     .op = OP_CAT},
    {.name = "info",
     .args = "[PART...]",
     .help = "show the parameters of each filesystem",
     .run = run_usage,
     .op = OP_INFO},
    {.name = "mkfs",
     .args = "[PART...]",
     .help = "erase the partition (default vfs), make a new filesystem",
     .mutates = 1,
     .run = run_mkfs},
    {.name = "df",
     .args = "[PART...]",
     .help = "show the used and free space of each filesystem",
     .run = run_usage,
     .op = OP_DF},
    {.name = "grow",
     .args = "[PART [BLOCKS]]",
     .help = "grow the filesystem to BLOCKS or its whole partition",
     .mutates = 1,
     .run = run_grow},
};
const int fs_command_count = (int)(sizeof fs_commands / sizeof fs_commands[0]);

const struct fs_command *fs_command_find(const char *name)
{
    for (int i = 0; i < fs_command_count; i++)
        if (strcmp(fs_commands[i].name, name) == 0)
            return &fs_commands[i];
    return NULL;
}

int fs_run(const struct fs_env *env, const char *cmd, int argc, const char *const argv[],
           struct error *err)
{
    const struct fs_command *c = fs_command_find(cmd);
    if (!c)
        return error_setk(err, ERROR_VALUE, "Unknown --fs command '%s'", cmd);
    return c->run(env, c, argc, argv, err);
}
