# fish completion for mp-image-tool-esp32: options, --fs sub-commands, partition names read
# from the firmware file on the command line, serial ports and local files. The options are
# checked against the program's --help by tests/docs. A device is never opened.

# The firmware file on the command line (the first word naming a regular file that is not
# the value of a file option).
function __mpit_file
    set -l words (commandline -opc)
    set -e words[1]
    set -l prev ''
    for w in $words
        if not contains -- $prev -o --output --ota-update --from-csv; and not string match -q -- '-*' $w; and test -f $w -a -r $w
            echo $w
            return
        end
        set prev $w
    end
end

# Partition names of that file; with "fs", only data partitions that can hold a filesystem.
function __mpit_partitions
    set -l which all
    test (count $argv) -gt 0; and set which $argv[1]
    set -l file (__mpit_file)
    test -n "$file"; or return
    set -l prog (commandline -opc)[1]
    $prog --plain $file 2>/dev/null | awk -v which=$which '
        /^# Name/ { t = 1; next }
        t && /^  [^ ]/ {
            if (which == "all" || ($2 == "data" && $3 !~ /^(nvs|phy|ota|coredump|nvs_keys|efuse)$/))
                print $1
            next
        }
        { t = 0 }'
end

function __mpit_ports
    echo auto
    echo all
    for p in /dev/ttyUSB* /dev/ttyACM* /dev/serial/by-id/* /dev/cu.*
        test -e $p; and echo $p
    end
end

# The --fs command being completed: prints it, or '*' in the command's own position; fails
# when the cursor is not inside an --fs command.
function __mpit_fs_cmd
    set -l words (commandline -opc)
    set -l n (count $words)
    for i in (seq $n -1 2)
        if string match -q -- '-*' $words[$i]
            if test $words[$i] = --fs
                if test $i -eq $n
                    echo '*'
                else
                    echo $words[(math $i + 1)]
                end
                return 0
            end
            return 1
        end
    end
    return 1
end

# True when the cursor is inside an --fs command that is one of the arguments.
function __mpit_fs_is
    set -l cmd (__mpit_fs_cmd); or return
    contains -- $cmd $argv
end

# The current list item of a NAME[,NAME...] or NAME=FILE value, completed with its prefix.
function __mpit_partlist
    set -l tok (commandline -ct)
    set -l lead (string replace -r '^(--[a-z-]+=)?.*' '$1' -- $tok)
    set -l value (string replace -r '^--[a-z-]+=' '' -- $tok)
    set -l done (string match -r '^.*,' -- $value)
    set -l item (string replace -r '^.*,' '' -- $value)
    if test "$argv[1]" = files; and string match -qr '[=:]' -- $item
        set -l name (string match -r '^[^=:]*[=:]' -- $item)
        for f in (__fish_complete_path (string replace -r '^[^=:]*[=:]' '' -- $item))
            echo "$lead$done$name$f"
        end
        return
    end
    for p in (__mpit_partitions) $argv[2..-1]
        echo "$lead$done$p"
    end
end

set -l c mp-image-tool-esp32
set -l fs_cmds ls get put mkdir rm rename cat info mkfs df grow

complete -c $c -f
complete -c $c -n 'not __mpit_fs_cmd >/dev/null' -a '(__fish_complete_path (commandline -ct)) (__mpit_ports)' -d 'firmware file or device'

complete -c $c -s h -l help -d 'show help and exit'
complete -c $c -l version -d 'print the version and exit'
complete -c $c -s o -l output -r -F -d 'output file name'
complete -c $c -s q -l quiet -d 'print only errors and requested output'
complete -c $c -s n -l no-reset -d 'leave the device in bootloader mode'
complete -c $c -s x -l extract-app -d 'save the app image to a .app-bin file'
complete -c $c -s f -l flash-size -x -a '1M 2M 4M 8M 16M 32M 64M 128M' -d 'set the flash size'
complete -c $c -s a -l app-size -x -d 'set the size of every app partition'
complete -c $c -s m -l method -x -a 'direct command subprocess' -d 'how to talk to the device'
complete -c $c -s d -l debug -d 'print debugging messages'
complete -c $c -l log -x -a 'list main=debug main=info main=warning main=error loader=debug loader=info firmware=debug firmware=warning fs=debug fs=info fs=warning ota=debug ota=warning' -d 'message levels of parts of the tool'
complete -c $c -l check-app -d 'check the bootloader and app images'
complete -c $c -l no-rollback -d 'with --ota-update: no rollback'
complete -c $c -l no-stub -d 'ROM loader only, no flasher stub'
complete -c $c -l new-littlefs -x -a '512K 1M 2M 4M' -d 'create the file as an empty littlefs image'
complete -c $c -l fs-block-size -x -a '512 1024 4096 8192' -d 'littlefs block size of a new image'
complete -c $c -l list-ports -d 'list serial ports and stop'
complete -c $c -l info -d 'show the board chip, MAC and flash chip'
complete -c $c -l merge -r -F -d 'merge the split images of a build FILE@ADDR,...'
complete -c $c -l flash-mode -x -a 'qio qout dio dout' -d 'set the bootloader flash mode when merging'
complete -c $c -l flash-freq -x -a '80m 40m 26m 20m' -d 'set the bootloader flash frequency when merging'
complete -c $c -l baud -x -a '115200 230400 460800 921600 1500000 2000000 3000000' -d 'serial speed'
complete -c $c -l ota-update -r -F -d 'install an app image into the next OTA partition'
complete -c $c -l ota-show -d 'show both otadata records'
complete -c $c -l ota-select -x -a 'ota_0 ota_1 factory' -d 'boot another app without an upload'
complete -c $c -l ota-erase -d 'erase otadata: the factory app boots'
complete -c $c -l from-csv -r -F -d 'replace the table with one from a CSV file'
complete -c $c -l table -x -a '(__mpit_partlist names ota default original)' -d 'replace the partition table'
complete -c $c -l delete -x -a '(__mpit_partlist names)' -d 'remove partitions'
complete -c $c -l add -x -d 'add partitions NAME=SUBTYPE:OFFSET:SIZE'
complete -c $c -l resize -x -a '(__mpit_partlist names)' -d 'resize partitions NAME=SIZE'
complete -c $c -l rename -x -a '(__mpit_partlist names)' -d 'rename partitions NAME=NEW'
complete -c $c -l erase -x -a '(__mpit_partlist names bootloader flash)' -d 'fill partitions with 0xff'
complete -c $c -l erase-fs -x -a '(__mpit_partlist names)' -d 'wipe filesystem partitions'
complete -c $c -l read -x -a '(__mpit_partlist files bootloader partition_table flash)' -d 'copy partitions into files NAME=FILE'
complete -c $c -l write -x -a '(__mpit_partlist files bootloader partition_table flash)' -d 'copy files into partitions NAME=FILE'
complete -c $c -l flash -x -a '(__mpit_ports)' -d 'write the firmware to a device (or several, or all)'
complete -c $c -l trimblocks -d 'with --read: trim to whole blocks'
complete -c $c -l trim -d 'with --read: trim to 16 bytes'
complete -c $c -l plain -d 'plain tables'
complete -c $c -l box -d 'box-drawn tables'
complete -c $c -l force -d 'write images that fail their checks'
complete -c $c -l json -d 'print the reports as one JSON document'
complete -c $c -l fs -x -a "$fs_cmds" -d 'run a littlefs command'
complete -c $c -l nvs -x -a 'show get set erase' -d 'show, get, set or erase NVS keys'

# --fs commands and their arguments
complete -c $c -n '__mpit_fs_is "*"' -x -a "$fs_cmds"
complete -c $c -n '__mpit_fs_is df info mkfs grow' -x -a '(__mpit_partitions fs)'
complete -c $c -n '__mpit_fs_is ls cat mkdir rm rename get' -x -a '(__mpit_partitions fs | string replace -r \'$\' :)'
complete -c $c -n '__mpit_fs_is put get' -a '(__fish_complete_path (commandline -ct))'
