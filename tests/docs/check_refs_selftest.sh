#!/usr/bin/env bash
# The reference checker on small made-up trees: it must accept references that exist, reject one
# that does not, and report (and with --strict reject) a bare reference it cannot attribute.
set -euo pipefail
checker="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/check_refs.sh"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fails=0

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# A tree with the six documents (sections 1, 1.1, 2 and 2.3 in each, and 5.5 in seed-spec only)
# and a conventions file.
make_tree() {
  local t="$work/$1"
  mkdir -p "$t/docs" "$t/tests/docs" "$t/src/lfs" "$t/src/esp" "$t/src/tool"
  for d in esp-image-formats esp-serial-protocol littlefs nvs fat seed-spec; do
    printf '# %s\n\n## 1. One\n\n### 1.1 One one\n\n```\n## 9. not a heading\n```\n\n## 2. Two\n\n### 2.3 Two three\n' \
      "$d" > "$t/docs/$d.md"
  done
  printf '\n## 5. Five\n\n### 5.5 Five five\n' >> "$t/docs/seed-spec.md"
  printf 'src/lfs/ littlefs.md\nsrc/esp/ esp-image-formats.md\nsrc/tool/ seed-spec.md\n' \
    > "$t/tests/docs/conventions.txt"
  echo "$t"
}

# run NAME EXPECTED_STATUS [checker options]: run the checker on tree NAME, keep its output
run() {
  local name="$1" want="$2"
  shift 2
  local got=0
  bash "$checker" "$@" "$work/$name" > "$work/$name.out" 2>&1 || got=$?
  [ "$got" = "$want" ] || fail "$name $*: exit status $got, expected $want: $(cat "$work/$name.out")"
}
expect_line() {
  grep -qF -- "$2" "$work/$1.out" || fail "$1: no line containing '$2' in: $(cat "$work/$1.out")"
}

# Good: named, listed after a name, by the file's only document, by the folder's document, by
# the nearest document when the section exists only there, and bare in a document itself.
t=$(make_tree good)
cat > "$t/src/esp/image.c" <<'EOF2'
/* esp-image-formats §1.1, §2.3; behaviour: seed-spec §2 */
/* a section only the document named last above has: §5.5 */
EOF2
printf '/* bare: %s */\n' '§1.1' > "$t/src/lfs/lfs.c"
mkdir -p "$t/src/other"
printf '/* facts from littlefs.md */\n/* bare: %s */\n' '§2.3' > "$t/src/other/x.c"
printf 'see %s and %s\n' '§1' '§2.3' >> "$t/docs/littlefs.md"
run good 0
expect_line good "0 unresolved, 0 broken"
run good 0 --list
expect_line good "src/esp/image.c:1: §1.1 -> esp-image-formats.md (named)"
expect_line good "src/esp/image.c:1: §2.3 -> esp-image-formats.md (named)"
expect_line good "src/esp/image.c:1: §2 -> seed-spec.md (named)"
expect_line good "src/esp/image.c:2: §5.5 -> seed-spec.md (nearest)"
expect_line good "src/lfs/lfs.c:1: §1.1 -> littlefs.md (file)"
expect_line good "src/other/x.c:2: §2.3 -> littlefs.md (file)"
expect_line good "docs/littlefs.md:14: §1 -> littlefs.md (file)"
expect_line good "docs/littlefs.md:14: §2.3 -> littlefs.md (file)"

# Broken: a section that does not exist, named and bare.
t=$(make_tree broken)
printf '/* esp-image-formats %s */\n' '§7.4' > "$t/src/esp/ptable.c"
printf '/* %s */\n' '§3' > "$t/src/lfs/lfs.c"
run broken 1
expect_line broken "src/esp/ptable.c:1: §7.4: docs/esp-image-formats.md has no section 7.4"
expect_line broken "src/lfs/lfs.c:1: §3: docs/littlefs.md (the document of the file) has no section 3"
expect_line broken "2 broken"

# A heading inside a code block is not a section.
t=$(make_tree fenced)
printf '/* littlefs.md %s */\n' '§9' > "$t/src/tool/x.c"
run fenced 1
expect_line fenced "has no section 9"

# Unresolved: a file naming two documents, a bare section both have; and one only the other
# document has.
t=$(make_tree ambiguous)
printf '/* seed-spec %s, esp-image-formats %s */\n/* later: %s */\n/* and %s */\n' \
  '§5.5' '§1' '§1.1' '§5.5' > "$t/src/esp/otadata.h"
run ambiguous 0
expect_line ambiguous "src/esp/otadata.h:2: §1.1: bare; nearest document esp-image-formats.md, but seed-spec.md also has it"
expect_line ambiguous "src/esp/otadata.h:3: §5.5: bare; nearest document esp-image-formats.md has no such section, seed-spec.md has it"
expect_line ambiguous "2 unresolved, 0 broken"
run ambiguous 1 --strict

# A document that is missing altogether.
t=$(make_tree missing)
rm "$t/docs/littlefs.md"
run missing 1
expect_line missing "docs/littlefs.md: missing"

if [ "$fails" -ne 0 ]; then
  echo "$fails check(s) failed"
  exit 1
fi
echo "reference checker self-test: all cases behave"
