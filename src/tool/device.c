/* Serial-attached boards as the pipeline opens them. */
#include "tool/device.h"

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
