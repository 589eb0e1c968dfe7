/* Device and littlefs steps of the pipeline. */
#include "tool/device.h"
#include "tool/fsglue.h"

int device_open_for_tool(const struct tool_options *opt, const struct log *log,
                         struct flash **flash, struct firmware *fw, struct error *err)
{
    (void)log;
    (void)flash;
    (void)fw;
    return error_setk(err, ERROR_DEVICE,
                      "%s: serial devices are not supported by this build yet.", opt->filename);
}

int device_flash_firmware(const struct tool_options *opt, struct firmware *source,
                          const struct log *log, struct error *err)
{
    (void)source;
    (void)log;
    return error_setk(err, ERROR_DEVICE,
                      "%s: serial devices are not supported by this build yet.",
                      opt->flash_device);
}

int fs_commands_modify(const struct tool_options *opt)
{
    static const char *const mutating[] = {"put", "mkdir", "rm", "rename", "mkfs", "grow"};
    for (int i = 0; i < opt->fs_count; i++)
        for (size_t k = 0; k < sizeof mutating / sizeof mutating[0]; k++)
            if (strcmp(opt->fs[i].words[0], mutating[k]) == 0)
                return 1;
    return 0;
}

int fs_df_report(struct firmware *fw, struct output *out, struct error *err)
{
    (void)fw;
    (void)out;
    (void)err;
    return 0;
}

int fs_command(struct firmware *fw, const struct wordlist *cmd, struct output *out, int *changed,
               struct error *err)
{
    (void)fw;
    (void)out;
    *changed = 0;
    return error_setk(err, ERROR_LITTLEFS, "'--fs %s': littlefs is not supported by this build yet.",
                      cmd->words[0]);
}
