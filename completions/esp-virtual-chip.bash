# bash completion for esp-virtual-chip                                     -*- shell-script -*-
# The option lists are checked against the program's --help by tests/docs.

_evc_flags='--pty --usb-jtag --wire-time --flash-time --exit-on-close --quiet --verbose
--no-baud-check --help'
_evc_value_opts='--chip --flash --flash-size --mac --image --rfc2217 --boot --fault --jedec-id
--read-in-flight --revision --efuse --crystal'

_esp_virtual_chip()
{
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
    case $prev in
        --chip) COMPREPLY=($(compgen -W 'esp32 esp32s2 esp32s3 esp32c3 esp32c6' -- "$cur")); return ;;
        --boot) COMPREPLY=($(compgen -W 'download flash' -- "$cur")); return ;;
        --crystal) COMPREPLY=($(compgen -W '40 26' -- "$cur")); return ;;
        --flash-size) COMPREPLY=($(compgen -W '1M 2M 4M 8M 16M 32M' -- "$cur")); return ;;
        --rfc2217) COMPREPLY=($(compgen -W '0' -- "$cur")); return ;;
        --fault)
            COMPREPLY=($(compgen -W 'drop-byte@ corrupt-byte@ stall@ disconnect@ reset@
                drop-rx-byte@ fail-cmd= noreply-cmd= disconnect-cmd= hang-cmd=' -- "$cur"))
            compopt -o nospace 2>/dev/null
            return ;;
        --flash | --image)
            COMPREPLY=($(compgen -f -- "$cur"))
            compopt -o filenames 2>/dev/null
            return ;;
        --mac | --jedec-id | --read-in-flight | --revision | --efuse) return ;;
    esac
    COMPREPLY=($(compgen -W "$_evc_flags $_evc_value_opts" -- "$cur"))
}
complete -F _esp_virtual_chip esp-virtual-chip
