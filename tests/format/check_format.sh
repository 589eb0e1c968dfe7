#!/usr/bin/env bash
# Every C line written since the project adopted .clang-format follows it: the lines that differ
# between the commit that last changed .clang-format (or $FORMAT_BASE) and the working tree are
# run through `git clang-format --diff`; any change it would make fails the check and is shown,
# ready for `git clang-format <base>`. Older lines are left as they are until the whole tree is
# formatted at once. The style is clang-format 14's reading of .clang-format (Debian 12).
# Exits 77 (skipped) outside a git checkout, without git clang-format, or when the history does
# not reach the base (a shallow clone).
set -euo pipefail
cd "${1:-$(dirname "$0")/../..}"

skip() {
  echo "SKIP: $*"
  exit 77
}
git rev-parse --git-dir >/dev/null 2>&1 || skip "not a git checkout"
command -v clang-format >/dev/null 2>&1 || skip "clang-format is not installed"
git clang-format -h >/dev/null 2>&1 || skip "git clang-format is not installed"
base=${FORMAT_BASE:-$(git log -1 --format=%H -- .clang-format 2>/dev/null || true)}
[ -n "$base" ] || skip ".clang-format has no commit in this history"
git cat-file -e "$base^{commit}" 2>/dev/null || skip "the history does not reach $base"

out=$(git clang-format --diff --extensions c,h "$base" -- 2>&1 || true)
if printf '%s\n' "$out" | grep -q '^diff --git'; then
  printf '%s\n' "$out"
  echo "FAIL: lines changed since ${base:0:12} do not follow .clang-format (diff above);"
  echo "      'git clang-format ${base:0:12}' applies it."
  exit 1
fi
echo "lines changed since ${base:0:12} follow .clang-format"
