# bash completion for mp-image-tool-esp32                                  -*- shell-script -*-
#
# Options, --fs and --nvs sub-commands, partition names read from the firmware file on the command line,
# serial ports and local files. The option lists below are checked against the program's
# --help by tests/docs; a new option goes into the list that says what its value is.
# A device on the command line is never opened: partition names come from files only.

# options without a value
_mpit_flags='-h --help -q --quiet -n --no-reset -x --extract-app -d --debug --check-app
--no-rollback --trimblocks --trim --version --plain --box --force --no-stub --json
--ota-show --ota-erase --list-ports --info'
# options whose value is a local file
_mpit_file_opts='-o --output --ota-update --from-csv'
# options whose value is a comma-separated list of partition names (NAME or NAME=VALUE)
_mpit_part_opts='--delete --erase --erase-fs --rename --resize --table --add'
# options whose value is NAME=FILE[,NAME=FILE...]
_mpit_partfile_opts='--read --write'
# options whose value is a device
_mpit_device_opts='--flash'
# options with other values
_mpit_value_opts='-f --flash-size -a --app-size -m --method --log --baud --ota-select
--new-littlefs --fs-block-size --merge --flash-mode --flash-freq'
# --fs sub-commands
_mpit_fs_cmds='ls get put mkdir rm rename cat info mkfs df grow'
# --nvs sub-commands
_mpit_nvs_cmds='show get set erase'

# The partition names of a firmware file (from its table, printed plain); with "fs", only
# the data partitions that can hold a filesystem.
_mpit_partitions()
{
    local prog=$1 file=$2 which=${3:-all}
    [[ -f $file && -r $file ]] || return
    "$prog" --plain "$file" 2>/dev/null | awk -v which="$which" '
        /^# Name/ { t = 1; next }
        t && /^  [^ ]/ {
            if (which == "all" || ($2 == "data" && $3 !~ /^(nvs|phy|ota|coredump|nvs_keys|efuse)$/))
                print $1
            next
        }
        { t = 0 }'
}

# Serial ports that exist on this machine, "auto" (the only ESP-like one) and "all" (every
# ESP-looking USB port).
_mpit_ports()
{
    local p
    printf 'auto\nall\n'
    for p in /dev/ttyUSB* /dev/ttyACM* /dev/serial/by-id/* /dev/cu.* /dev/tty.usb*; do
        [[ -e $p ]] && printf '%s\n' "$p"
    done
}

_mp_image_tool_esp32()
{
    local cur prev words cword
    if declare -F _init_completion >/dev/null; then
        _init_completion -n =: || return
    else
        cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
        words=("${COMP_WORDS[@]}") cword=$COMP_CWORD
    fi
    _mpit_complete
    # Readline completes only the part of the word after the last '=' or ':' (both are in
    # COMP_WORDBREAKS): drop what comes before from every candidate.
    if [[ $cur == *[=:]* ]]; then
        local keep=${cur##*[=:]} i
        local lead=${cur%"$keep"}
        for i in "${!COMPREPLY[@]}"; do
            COMPREPLY[i]=${COMPREPLY[i]#"$lead"}
        done
    fi
}

_mpit_complete()
{
    local prog=${words[0]}
    [[ $prog == */* || -z $prog ]] || prog=$(type -P "$prog" || echo "$prog")

    # Walk the words before the cursor: find the firmware name and where an --fs command is.
    local i w file='' fs_at=-1 nvs_at=-1 dashdash=0 skip=0
    for ((i = 1; i < cword; i++)); do
        w=${words[i]}
        if ((skip)); then skip=0; continue; fi
        if ((fs_at >= 0 || nvs_at >= 0)) && [[ $w != -* ]]; then continue; fi
        fs_at=-1 nvs_at=-1
        if ((dashdash)) || [[ $w != -* || $w == - ]]; then
            [[ -z $file ]] && file=$w
            continue
        fi
        case $w in
            --) dashdash=1 ;;
            --fs) fs_at=$i ;;
            --nvs) nvs_at=$i ;;
            --*=*) ;;
            -[oafm]?*) ;;
            *)
                local o
                for o in $_mpit_file_opts $_mpit_part_opts $_mpit_partfile_opts \
                    $_mpit_device_opts $_mpit_value_opts; do
                    [[ $w == "$o" ]] && skip=1
                done
                ;;
        esac
    done
    case $file in
        u[0-9]*) file=/dev/ttyUSB${file#u} ;;
        a[0-9]*) file=/dev/ttyACM${file#a} ;;
    esac

    # An --fs command and its arguments.
    if ((fs_at >= 0)) && [[ $cur != -* ]]; then
        if ((fs_at == cword - 1)); then
            COMPREPLY=($(compgen -W "$_mpit_fs_cmds" -- "$cur"))
            return
        fi
        local parts prefixes=''
        parts=$(_mpit_partitions "$prog" "$file" fs)
        [[ -n $parts ]] && prefixes=$(printf '%s:\n' $parts)
        case ${words[fs_at + 1]} in
            df | info | mkfs)
                COMPREPLY=($(compgen -W "$parts" -- "$cur")) ;;
            grow)
                ((cword == fs_at + 2)) && COMPREPLY=($(compgen -W "$parts" -- "$cur")) ;;
            put)
                # local files, or a destination on the filesystem
                COMPREPLY=($(compgen -f -- "$cur") $(compgen -W "$prefixes" -- "$cur"))
                compopt -o filenames 2>/dev/null ;;
            get)
                COMPREPLY=($(compgen -W "$prefixes" -- "$cur") $(compgen -f -- "$cur"))
                compopt -o filenames 2>/dev/null ;;
            *)
                # PART:PATH arguments: offer the partition prefixes
                COMPREPLY=($(compgen -W "$prefixes" -- "$cur"))
                compopt -o nospace 2>/dev/null ;;
        esac
        return
    fi

    # An --nvs command and its arguments: partition names for show, a local file for get.
    if ((nvs_at >= 0)) && [[ $cur != -* ]]; then
        if ((nvs_at == cword - 1)); then
            COMPREPLY=($(compgen -W "$_mpit_nvs_cmds" -- "$cur"))
        elif [[ ${words[nvs_at + 1]} == show ]]; then
            COMPREPLY=($(compgen -W "$(_mpit_partitions "$prog" "$file")" -- "$cur"))
        elif [[ ${words[nvs_at + 1]} == get ]] && ((cword == nvs_at + 3)); then
            COMPREPLY=($(compgen -f -- "$cur"))
            compopt -o filenames 2>/dev/null
        fi
        return
    fi

    # The value of the option before the cursor ("--opt value" or "--opt=value").
    local opt=$prev value=$cur
    if [[ $cur == --*=* ]]; then
        opt=${cur%%=*} value=${cur#*=}
    elif [[ $prev == -* ]]; then
        opt=$prev
    else
        opt=''
    fi
    if [[ -n $opt && $cur != -* || $cur == --*=* ]]; then
        local o kind=''
        for o in $_mpit_file_opts; do [[ $opt == "$o" ]] && kind=file; done
        for o in $_mpit_part_opts; do [[ $opt == "$o" ]] && kind=part; done
        for o in $_mpit_partfile_opts; do [[ $opt == "$o" ]] && kind=partfile; done
        for o in $_mpit_device_opts; do [[ $opt == "$o" ]] && kind=device; done
        for o in $_mpit_value_opts; do [[ $opt == "$o" ]] && kind=value; done
        local lead=''
        [[ $cur == --*=* ]] && lead=${cur%%=*}=
        case $kind in
            file)
                COMPREPLY=($(compgen -f -- "$value"))
                compopt -o filenames 2>/dev/null
                return ;;
            device)
                COMPREPLY=($(compgen -W "$(_mpit_ports)" -- "$value"))
                return ;;
            value)
                case $opt in
                    -m | --method) COMPREPLY=($(compgen -W 'direct command subprocess' -- "$value")) ;;
                    --baud) COMPREPLY=($(compgen -W '115200 230400 460800 921600 1500000 2000000 3000000' -- "$value")) ;;
                    --log) COMPREPLY=($(compgen -W 'list main=debug main=info main=warning main=error loader=debug loader=info firmware=debug firmware=warning fs=debug fs=info fs=warning ota=debug ota=warning' -- "$value")) ;;
                    *) COMPREPLY=($(compgen -W '1M 2M 4M 8M 16M 32M' -- "$value")) ;;
                esac
                return ;;
            part | partfile)
                # complete the last item of a comma-separated list
                local done_items='' item=$value
                if [[ $value == *,* ]]; then
                    done_items=${value%,*}, item=${value##*,}
                fi
                if [[ $kind == partfile && $item == *[=:]* ]]; then
                    local name=${item%%[=:]*}
                    name+=${item:${#name}:1}
                    local f
                    COMPREPLY=()
                    while IFS= read -r f; do
                        COMPREPLY+=("$lead$done_items$name$f")
                    done < <(compgen -f -- "${item#*[=:]}")
                    compopt -o nospace 2>/dev/null
                    return
                fi
                local parts extra=''
                parts=$(_mpit_partitions "$prog" "$file")
                [[ $kind == partfile || $opt == --erase ]] && extra='bootloader partition_table flash'
                [[ $opt == --table ]] && extra='ota default original'
                local p
                COMPREPLY=()
                for p in $parts $extra; do
                    [[ $p == "$item"* ]] && COMPREPLY+=("$lead$done_items$p")
                done
                [[ $opt == --delete || $opt == --erase || $opt == --erase-fs ]] ||
                    compopt -o nospace 2>/dev/null
                return ;;
        esac
    fi

    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$_mpit_flags $_mpit_file_opts $_mpit_part_opts
            $_mpit_partfile_opts $_mpit_device_opts $_mpit_value_opts --fs --nvs" -- "$cur"))
        return
    fi
    # the firmware file or device
    COMPREPLY=($(compgen -f -- "$cur") $(compgen -W "$(_mpit_ports)" -- "$cur"))
    compopt -o filenames 2>/dev/null
}
complete -F _mp_image_tool_esp32 mp-image-tool-esp32
