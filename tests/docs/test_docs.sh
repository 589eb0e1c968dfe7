#!/usr/bin/env bash
# The manual pages and shell completions against the programs themselves: every option that
# --help lists, and every --fs command, is in the man page and in the bash, zsh and fish
# completions; the man pages lint clean; the completions offer what they should (partition
# names read from a firmware file, --fs commands, NAME=FILE values).
# Environment: TOOL, VCHIP, SYNTH (programs), MAN_DIR (configured pages), SRC (source root).
set -euo pipefail
source "$SRC/tests/cli/lib.sh"
comp=$SRC/completions
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Options a --help text names: "-o FILE, --output FILE" gives -o and --output.
tool_options() {
  "$TOOL" --help | awk '/^options:/ { o = 1; next } o && /^  -/' |
    grep -oE '(^  |, )--?[a-zA-Z][-a-zA-Z]*' | sed -E 's/^(  |, )//'
}
vchip_options() {
  { "$VCHIP" --help; echo "--help"; } | grep -oE '\-\-[a-z][-a-z0-9]*' | sort -u
}
fs_commands() { # the list under "--fs commands" in --help: "  ls [PATH...]  list ..."
  "$TOOL" --help | awk '/^--fs commands/ { l = 1; next } l && /^  [a-z]/ { print $1; next } { l = 0 }'
}

# word must appear as a whole option word in file (man source: "\-" is a dash)
has_word() { # file word
  sed 's/\\-/-/g' "$1" | grep -E -- "(^|[^a-zA-Z0-9_-])$2([^a-zA-Z0-9_-]|$)" >/dev/null
}

check_options() { # program-name man-page options...
  local prog=$1 page=$2 o
  shift 2
  [ $# -gt 3 ] || { fail "no options found in $prog --help"; return; }
  for o in "$@"; do
    test_case "$prog $o documented"
    has_word "$page" "$o" && pass || fail "$o is not in the man page $(basename "$page")"
    test_case "$prog $o in completions"
    has_word "$comp/$prog.bash" "$o" && pass || fail "$o is not in completions/$prog.bash"
    has_word "$comp/_$prog" "$o" && pass || fail "$o is not in completions/_$prog"
    if [[ $o == --* ]]; then
      grep -qE -- "-l ${o#--}( |$)" "$comp/$prog.fish" && pass ||
        fail "$o is not in completions/$prog.fish"
    else
      grep -qE -- "-s ${o#-}( |$)" "$comp/$prog.fish" && pass ||
        fail "$o is not in completions/$prog.fish"
    fi
  done
}

mapfile -t opts < <(tool_options)
check_options mp-image-tool-esp32 "$MAN_DIR/mp-image-tool-esp32.1" "${opts[@]}"
mapfile -t vopts < <(vchip_options)
check_options esp-virtual-chip "$MAN_DIR/esp-virtual-chip.1" "${vopts[@]}"

mapfile -t cmds < <(fs_commands)
test_case "--fs commands found in --help"
[ "${#cmds[@]}" -ge 11 ] && pass || fail "only ${#cmds[@]} --fs commands in --help"
for c in "${cmds[@]}"; do
  test_case "--fs $c documented and completed"
  grep -qE "^\.BR? $c( |$)" "$MAN_DIR/mp-image-tool-esp32.1" && pass ||
    fail "--fs $c has no entry in the man page"
  grep -qE "^_mpit_fs_cmds=.*[' ]$c[' ]" "$comp/mp-image-tool-esp32.bash" && pass ||
    fail "--fs $c is not in the bash completion"
  grep -qE "^ *'$c:" "$comp/_mp-image-tool-esp32" && pass ||
    fail "--fs $c is not in the zsh completion"
  grep -qE "^set -l fs_cmds( .*)? $c( |$)" "$comp/mp-image-tool-esp32.fish" && pass ||
    fail "--fs $c is not in the fish completion"
done

# ---- the pages render without a warning
for page in "$MAN_DIR"/*.1; do
  name=$(basename "$page")
  test_case "mandoc -T lint $name"
  if command -v mandoc >/dev/null; then
    out=$(mandoc -T lint "$page" 2>&1) && [ -z "$out" ] && pass || fail "mandoc: $out"
  else
    echo "SKIP: mandoc not installed; $name not linted"
  fi
  test_case "man --warnings $name"
  if command -v man >/dev/null && man --version >/dev/null 2>&1; then
    out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null) &&
      [ -z "$out" ] && pass || fail "man: $out"
  else
    echo "SKIP: man not installed; $name not checked"
  fi
done

# ---- completions offer what they should
cd "$work"
"$SYNTH" --chip esp32s3 --flash-size 4M -o fw.bin >/dev/null
echo "print(1)" >main.py
mkdir bin && ln -s "$TOOL" bin/mp-image-tool-esp32
export PATH=$work/bin:$PATH

# bash: COMP_WORDS split as readline does (at spaces, '=' and ':').
bash_complete() { # line -> candidates, one per line
  bash -c '
    [ -f /usr/share/bash-completion/bash_completion ] && source /usr/share/bash-completion/bash_completion
    source "$1"
    line=$2
    COMP_LINE=$line COMP_POINT=${#line}
    read -r -a COMP_WORDS <<<"$(printf "%s" "$line" | sed -E "s/([=:]+)/ \1 /g")"
    [[ $line == *" " || $line == *[=:] ]] && COMP_WORDS+=("")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    _mp_image_tool_esp32 mp-image-tool-esp32 "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    printf "%s\n" "${COMPREPLY[@]}"' _ "$comp/mp-image-tool-esp32.bash" "$1" | sort | tr '\n' ' '
}
expect_completion() { # shell line expected
  local got
  got=$("${1}_complete" "$2")
  test_case "$1: '$2'"
  expect_eq "$got" "$3" "candidates"
}
expect_completion bash "mp-image-tool-esp32 --ta" "--table "
expect_completion bash "mp-image-tool-esp32 fw.bin --read " \
  "bootloader factory flash nvs partition_table phy_init vfs "
expect_completion bash "mp-image-tool-esp32 fw.bin --read nvs=ma" "main.py "
expect_completion bash "mp-image-tool-esp32 fw.bin --erase nvs,f" "nvs,factory nvs,flash "
expect_completion bash "mp-image-tool-esp32 fw.bin --resize=v" "vfs "
expect_completion bash "mp-image-tool-esp32 fw.bin --fs " "cat df get grow info ls mkdir mkfs put rename rm "
expect_completion bash "mp-image-tool-esp32 fw.bin --fs df " "vfs "
expect_completion bash "mp-image-tool-esp32 fw.bin --fs ls " "vfs: "
expect_completion bash "mp-image-tool-esp32 --fs ls -- fw.bin --delete " "factory nvs phy_init vfs "
expect_completion bash "mp-image-tool-esp32 --fs put ma" "main.py "
expect_completion bash "mp-image-tool-esp32 fw.bin -f " "16M 1M 2M 32M 4M 8M "

if command -v fish >/dev/null; then
  fish_complete() {
    fish -N -c "source '$comp/mp-image-tool-esp32.fish'; complete -C'$1'" | cut -f1 | sort | tr '\n' ' '
  }
  expect_completion fish "mp-image-tool-esp32 --ta" "--table "
  expect_completion fish "mp-image-tool-esp32 fw.bin --read " \
    "bootloader factory flash nvs partition_table phy_init vfs "
  expect_completion fish "mp-image-tool-esp32 fw.bin --read nvs=ma" "nvs=main.py "
  expect_completion fish "mp-image-tool-esp32 fw.bin --fs " "cat df get grow info ls mkdir mkfs put rename rm "
  expect_completion fish "mp-image-tool-esp32 fw.bin --fs df " "vfs "
  expect_completion fish "mp-image-tool-esp32 fw.bin --delete nvs," "nvs,factory nvs,nvs nvs,phy_init nvs,vfs "
  test_case "fish syntax"
  fish -n "$comp/mp-image-tool-esp32.fish" && fish -n "$comp/esp-virtual-chip.fish" && pass ||
    fail "fish -n"
else
  echo "SKIP: fish not installed; fish completions not run"
fi
if command -v zsh >/dev/null; then
  test_case "zsh syntax"
  zsh -n "$comp/_mp-image-tool-esp32" && zsh -n "$comp/_esp-virtual-chip" && pass || fail "zsh -n"
else
  echo "SKIP: zsh not installed; zsh completions not checked"
fi
test_case "bash syntax"
bash -n "$comp/mp-image-tool-esp32.bash" && bash -n "$comp/esp-virtual-chip.bash" && pass ||
  fail "bash -n"

finish
