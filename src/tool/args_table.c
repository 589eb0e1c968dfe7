/* The option table: every option of the command line with its names, value, kind, field and
 * help (args.h describes the columns). The parser (args.c) and the help (args_help.c) read it. */
#include "tool/args_internal.h"

/* The options in the Python tool's order (which is the order of its usage line and of the
 * "could match" list of an ambiguous abbreviation); the additions come last. */
const struct args_option args_options[] = {
    {'h', "--help", NULL, ARGS_HELP, ARGS_NONE, 0, 0, 0, "show this help message and exit"},
    {'o', "--output", "FILE", ARGS_VALUE, ARGS_STRING, F(output), 0, 0,
     "output file name (generated from the changes made when not given); giving -o alone "
     "writes an output file even without changes, and names the app image written by -x; "
     "with a device, the whole flash is saved to FILE before anything changes"},
    {'q', "--quiet", NULL, ARGS_FLAG, ARGS_NONE, F(quiet), 1, 0,
     "print only errors and requested output"},
    {'n', "--no-reset", NULL, ARGS_FLAG, ARGS_NONE, F(no_reset), 1, 0,
     "leave the device in bootloader mode at the end instead of resetting it"},
    {'x', "--extract-app", NULL, ARGS_FLAG, ARGS_NONE, F(extract_app), 1, 0,
     "save the image of the first app partition to a .app-bin file and stop"},
    {'f', "--flash-size", "SIZE", ARGS_VALUE, ARGS_SIZE, F(flash_size), 0, 0,
     "set the flash size in the partition table and in the bootloader header"},
    {'a', "--app-size", "SIZE", ARGS_VALUE, ARGS_SIZE, F(app_size), 0, 0,
     "set the size of every app partition (factory and ota_N)"},
    {'m', "--method", "METHOD", ARGS_VALUE, ARGS_STRING, F(method), 0, 0,
     "how to talk to the device: direct (the default), command or subprocess; all three "
     "use the built-in loader"},
    {'d', "--debug", NULL, ARGS_FLAG, ARGS_NONE, F(debug), 1, 0, "print debugging messages too"},
    {0, "--log", "NAME=LEVEL[,NAME=LEVEL,...]", ARGS_VALUE, ARGS_ARGLIST, F(log), 0, 0,
     "set the message level (debug, info, action, warning or error) of the named parts "
     "of the tool: main, loader, firmware, fs, ota; the name 'list' shows them"},
    {0, "--check-app", NULL, ARGS_FLAG, ARGS_NONE, F(check_app), 1, 0,
     "check the signature and SHA-256 digest of the bootloader and the app partitions, and "
     "show the OTA state"},
    {0, "--no-rollback", NULL, ARGS_FLAG, ARGS_NONE, F(no_rollback), 1, 0,
     "with --ota-update: boot the new app without arming rollback"},
    {0, "--baud", "RATE", ARGS_VALUE, ARGS_SIZE, F(baud), 0, 0,
     "serial speed (default 921600), lowered to the nearest standard rate; 115200 keeps the "
     "speed the connection opens at"},
    {0, "--ota-update", "FILE", ARGS_VALUE, ARGS_STRING, F(ota_update), 0, 0,
     "install an app image into the next OTA partition (of a device or a whole-flash "
     "image) and make it the one that boots"},
    {0, "--from-csv", "FILE", ARGS_VALUE, ARGS_STRING, F(from_csv), 0, 0,
     "replace the partition table with the one described in a CSV file"},
    {0, "--table", "ota/default/original/NAME1=SUBTYPE:SIZE[,NAME2,...]", ARGS_VALUE,
     ARGS_PARTLIST, F(table), 0, 0,
     "replace the partition table with a standard layout (ota, default or original) or one "
     "given as a list of partitions; SUBTYPE may usually be left out as it follows from "
     "the name"},
    {0, "--delete", "NAME1[,NAME2,...]", ARGS_VALUE, ARGS_ARGLIST, F(delete_), 0, 0,
     "remove the named partitions from the table"},
    {0, "--add", "NAME1:SUBTYPE:OFFSET:SIZE[,NAME2,...]", ARGS_VALUE, ARGS_PARTLIST, F(add), 0, 0,
     "put new partitions into the table"},
    {0, "--resize", "NAME1=SIZE1[,NAME2=SIZE2,...]", ARGS_VALUE, ARGS_PARTLIST, F(resize), 0, 0,
     "change the size of partitions; size 0 fills the space up to the next partition or "
     "the end of flash"},
    {0, "--rename", "NAME1=NEW1[,NAME2=NEW2,...]", ARGS_VALUE, ARGS_ARGLIST, F(rename), 0, 0,
     "give partitions new names"},
    {0, "--erase", "NAME1[,NAME2,...]", ARGS_VALUE, ARGS_ARGLIST, F(erase), 0, 0,
     "fill the named partitions with 0xff (a layout change then does not carry their data); "
     "a range START:END or START+LEN erases flash by address, and 'flash' (or 'all') a "
     "board's whole flash"},
    {0, "--erase-fs", "NAME1[,NAME2,...]", ARGS_VALUE, ARGS_ARGLIST, F(erase_fs), 0, 0,
     "wipe the start of the named filesystem partitions so that MicroPython formats them at "
     "its next boot; with a layout change or --flash, their files are dropped instead of "
     "carried into the new layout"},
    {0, "--read", "NAME1=FILE1[,NAME2=FILE2,bootloader=FILE,...]", ARGS_VALUE, ARGS_ARGLIST,
     F(read), 0, 0,
     "copy the contents of partitions into local files; instead of a NAME, a range (START, "
     "START:END or START+LEN) copies flash by address, and 'flash' (or 'all') the whole flash: "
     "a backup"},
    {0, "--write", "NAME1=FILE1[,NAME2=FILE2,bootloader=FILE,...]", ARGS_VALUE, ARGS_ARGLIST,
     F(write), 0, 0,
     "copy local files into partitions; instead of a NAME, an address (START, START:END or "
     "START+LEN) writes at that address, and 'flash' (or 'all') makes the whole flash equal to "
     "a backup, sending only the 64 KiB pieces that differ"},
    {0, "--flash", "DEVICE", ARGS_VALUE, ARGS_DEVICE, F(flash_device), 0, 0,
     "when everything else is done, write the resulting firmware to a device (or to "
     "several: --flash u0 u1, or all)"},
    {0, "--trimblocks", NULL, ARGS_FLAG, ARGS_NONE, F(trimblocks), 1, 0,
     "with --read: drop trailing 0xff bytes, keeping whole 4096-byte blocks"},
    {0, "--trim", NULL, ARGS_FLAG, ARGS_NONE, F(trim), 1, 0,
     "with --read: drop trailing 0xff bytes, keeping a multiple of 16 bytes"},
    {0, "--fs", "CMD", ARGS_WORDS, ARGS_NONE, F(fs), 0, 0,
     "run a littlefs command (listed below) with its arguments; may be given several "
     "times"},
    /* Additions: kept out of the usage line so that it stays the Python tool's. */
    {0, "--version", NULL, ARGS_VERSION, ARGS_NONE, 0, 0, 1,
     "print the version of this program and exit"},
    {0, "--plain", NULL, ARGS_FLAG, ARGS_NONE, F(table_style), TABLE_STYLE_PLAIN, 1,
     "print tables as plain text even on a terminal"},
    {0, "--box", NULL, ARGS_FLAG, ARGS_NONE, F(table_style), TABLE_STYLE_BOX, 1,
     "draw tables with box characters even when not on a terminal"},
    {0, "--json", NULL, ARGS_FLAG, ARGS_NONE, F(json), 1, 1,
     "print the run's reports as one JSON document on stdout instead of text (the schema is "
     "in docs/json.md); errors still go to stderr too"},
    {0, "--force", NULL, ARGS_FLAG, ARGS_NONE, F(force), 1, 1,
     "write firmware whose images fail the checks (cut off, bad checksum or SHA-256 digest, "
     "wrong chip): for experts who know why"},
    {0, "--nvs", "CMD", ARGS_WORDS, ARGS_NONE, F(nvs), 0, 1,
     "show, get, set or erase keys of an NVS partition (commands listed below); may be "
     "given several times"},
    {0, "--no-stub", NULL, ARGS_FLAG, ARGS_NONE, F(no_stub), 1, 1,
     "talk to the chip's ROM loader only, without uploading the flasher stub (slower reads "
     "and writes; for emulators and setups where the stub cannot run)"},
    {0, "--ota-show", NULL, ARGS_FLAG, ARGS_NONE, F(ota_show), 1, 1,
     "show both otadata records (sequence, state, CRC) and which app boots now and next"},
    {0, "--ota-select", "NAME", ARGS_VALUE, ARGS_STRING, F(ota_select), 0, 1,
     "make the app in an OTA partition (ota_1, or its number 1) or the factory app boot from "
     "the next reset, without an upload; rollback is armed as with --ota-update unless "
     "--no-rollback"},
    {0, "--ota-erase", NULL, ARGS_FLAG, ARGS_NONE, F(ota_erase), 1, 1,
     "erase otadata: the factory app (or ota_0 without one) boots from the next reset"},
    {0, "--new-littlefs", "SIZE", ARGS_VALUE, ARGS_SIZE, F(new_littlefs), 0, 1,
     "create FILENAME as an empty littlefs image of SIZE bytes (MicroPython's geometry: "
     "4096-byte blocks, so 256B is 256 blocks) for the --fs commands to fill"},
    {0, "--fs-block-size", "SIZE", ARGS_VALUE, ARGS_SIZE, F(fs_block_size), 0, 1,
     "with --new-littlefs: littlefs blocks of SIZE bytes instead of MicroPython's 4096 (for "
     "images made for other systems; MicroPython on ESP32 mounts only 4096)"},
    {0, "--merge", "FILE@ADDR[,FILE@ADDR,...]", ARGS_VALUE, ARGS_ARGLIST, F(merge), 0, 1,
     "build a whole-flash firmware from the split images of a build (bootloader, partition "
     "table, app) at their flash addresses, as esptool merge_bin does; FILENAME may then be "
     "left out. A build's flasher_args.json given as FILENAME does the same"},
    {0, "--flash-mode", "MODE", ARGS_VALUE, ARGS_STRING, F(flash_mode), 0, 1,
     "when merging: set the bootloader's flash mode (qio, qout, dio, dout)"},
    {0, "--flash-freq", "FREQ", ARGS_VALUE, ARGS_STRING, F(flash_freq), 0, 1,
     "when merging: set the bootloader's flash frequency (80m, 40m, 26m, 20m; other chips "
     "have others)"},
    {0, "--list-ports", NULL, ARGS_FLAG, ARGS_NONE, F(list_ports), 1, 1,
     "list the serial ports with their USB ids, serial numbers and products, marking those "
     "that look like ESP boards (FILENAME 'auto' uses the only one), and stop"},
    {0, "--info", NULL, ARGS_FLAG, ARGS_NONE, F(info), 1, 1,
     "show the board's chip, revision, features, crystal, MAC address and flash chip, and "
     "stop"},
};
const int args_option_count = (int)(sizeof args_options / sizeof args_options[0]);
