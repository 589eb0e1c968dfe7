# Small assertion library for the end-to-end tests: each check prints one line on failure and
# is counted; `finish` prints "N passed, N failed" and sets the exit status.
# Variables after `run`: OUT (stdout), ERR (stderr), STATUS.

PASSED=0
FAILED=0
CURRENT=""

test_case() { CURRENT="$1"; }

pass() { PASSED=$((PASSED + 1)); }
fail() {
  FAILED=$((FAILED + 1))
  printf 'FAIL [%s] %s\n' "$CURRENT" "$*"
}

run() {
  local out err
  out=$(mktemp) err=$(mktemp)
  set +e
  "$@" >"$out" 2>"$err"
  STATUS=$?
  set -e
  OUT=$(cat "$out")
  ERR=$(cat "$err")
  rm -f "$out" "$err"
}

# Compare like the Python tool's tests: whitespace stripped at both ends of every line.
normalise() { sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//'; }

expect_status() {
  if [ "$STATUS" -eq "$1" ]; then pass; else
    fail "exit status $STATUS, expected $1; stdout: ${OUT:0:600} stderr: ${ERR:0:600}"
  fi
}

expect_out() { # text must appear (as a block of lines) in stdout
  local want have
  want=$(printf '%s\n' "$1" | normalise)
  have=$(printf '%s\n' "$OUT" | normalise)
  if [[ "$have" == *"$want"* ]]; then pass; else
    fail "stdout lacks: $(printf '%s' "$want" | head -3) ... ; stdout was: ${OUT:0:1500}"
  fi
}

expect_no_out() {
  if [[ "$OUT" != *"$1"* ]]; then pass; else fail "stdout should not contain: $1"; fi
}

expect_err() {
  local all="$OUT
$ERR"
  if [[ "$all" == *"$1"* ]]; then pass; else
    fail "output lacks: $1 ; stdout: ${OUT:0:800} stderr: ${ERR:0:800}"
  fi
}

expect_file() { if [ -f "$1" ]; then pass; else fail "missing file $1"; fi; }
expect_no_file() { if [ ! -e "$1" ]; then pass; else fail "file should not exist: $1"; fi; }

expect_same_file() {
  if cmp -s "$1" "$2"; then pass; else fail "files differ: $1 $2"; fi
}

expect_eq() { # actual expected description
  if [ "$1" == "$2" ]; then pass; else fail "$3: got '$1', expected '$2'"; fi
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

# A script that cannot run here (its data or program is missing): say why and exit 77, which
# ctest shows as "Skipped" (SKIP_RETURN_CODE), never as passed.
skip_all() {
  echo "SKIP: $*"
  exit 77
}

# Virtual boards (esp-virtual-chip on an RFC 2217 port, a free one): `vchip_start NAME ARGS...`
# starts one with ARGS (--chip, --flash, faults...), its output in NAME.out, and sets PORT;
# `vchip_stop_all` ends every board started (call it from the script's exit trap).
VCHIP_PIDS=()
vchip_start() {
  local name=$1
  shift
  "$VCHIP" --rfc2217 0 "$@" >"$name.out" 2>&1 &
  VCHIP_PIDS+=($!)
  PORT=""
  for _ in $(seq 100); do
    PORT=$(grep -o 'rfc2217://[0-9.:]*' "$name.out" 2>/dev/null || true)
    [ -n "$PORT" ] && return 0
    sleep 0.05
  done
  fail "virtual board $name did not start"
  return 1
}
vchip_stop_all() {
  for p in "${VCHIP_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}

# A fresh working folder for the script, removed (with any virtual board stopped) at exit.
enter_workdir() {
  work=$(mktemp -d)
  trap 'vchip_stop_all; rm -rf "$work"' EXIT
  cd "$work"
}

finish() {
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}
