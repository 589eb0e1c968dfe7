#!/usr/bin/env bash
# Several boards in one run, on virtual chips: --flash to four boards where one loses its
# connection at every write (it fails alone, with a clear line, and the other three are flashed
# and verified), several boards as filename with --fs, a board that is not there, the summary
# table with chip and MAC, exit statuses, and what several boards refuse.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

if [ ! -x "${VCHIP:-}" ]; then
  skip_all "the virtual chip is not built"
fi
enter_workdir

fw=$MP_SHARED_DIR/firmware/ESP32_GENERIC-20240602-v1.23.0.bin
if [ ! -f "$fw" ]; then
  "$SYNTH" --chip esp32 -o gen-esp32.bin >/dev/null
  fw=$work/gen-esp32.bin
fi

# Every write of a block is answered and then the line is cut, more often than the loader
# reconnects and retries: this board's flashing fails, whatever the others do.
cut_every_write=()
for k in $(seq 3 18); do cut_every_write+=(--fault "disconnect-cmd=0x11@$k"); done

test_case flash_four_boards_one_disconnected
ports=()
for i in 0 1 2 3; do
  extra=()
  [ "$i" = 2 ] && extra=("${cut_every_write[@]}")
  vchip_start "b$i" --chip esp32 --flash "b$i.flash" --mac "24:0a:c4:00:00:1$i" --quiet \
    "${extra[@]}" || true
  ports+=("$PORT")
done
run "$TOOL" "$fw" --flash "${ports[@]}"
expect_status 1
# each board's lines carry its port
expect_out "${ports[0]}: Flashing firmware to device: ${ports[0]}..."
expect_out "${ports[3]}: Found esp32 device (4MB flash)."
# the faulted board: a clear line naming it and the cause
expect_err "${ports[2]}: failed: DeviceError: writing flash"
expect_err "by the other end" # closed or reset, as the timing falls
for i in 0 1 3; do
  if [[ "$ERR" != *"${ports[$i]}: failed"* ]]; then pass; else fail "board $i reported as failed"; fi
done
# the summary: one row per board, with its chip and MAC
row() { printf '%s\n' "$OUT" | grep -E "^$(printf '%s' "$1" | sed 's/[.]/\\./g') +esp32 " || true; }
for i in 0 1 3; do
  r=$(row "${ports[$i]}")
  [[ "$r" == *"24:0a:c4:00:00:1$i  ok"* ]] && pass || fail "summary row of board $i: '$r'"
done
r=$(row "${ports[2]}")
[[ "$r" == *"24:0a:c4:00:00:12  failed (1)"* ]] && pass || fail "summary row of board 2: '$r'"
expect_out "3 of 4 boards succeeded."
# the three boards verify (their flash files are compared at the end, with the chips stopped)
for i in 0 1 3; do
  run "$TOOL" "${ports[$i]}" --check-app
  expect_status 0
  expect_out "Partition 'factory': Hash confirmed"
done

test_case boards_as_filename_with_fs
echo "print('fleet')" >main.py
run "$TOOL" -q "${ports[0]}" "${ports[1]}" "${ports[3]}" --fs mkfs --fs put main.py
expect_status 0
expect_out "3 of 3 boards succeeded."
for i in 0 1 3; do
  run "$TOOL" -q "${ports[$i]}" --fs cat main.py
  expect_status 0
  expect_out "print('fleet')"
done

test_case different_chips_in_one_run
mixed=()
for chip in esp32s3 esp32c3 esp32c6; do
  "$SYNTH" --chip "$chip" -o "gen-$chip.bin" >/dev/null
  vchip_start "m-$chip" --chip "$chip" --flash "m-$chip.flash" --image "gen-$chip.bin" \
    --mac "7c:df:a1:0${#mixed[@]}:5e:$((60 + ${#mixed[@]}))" --quiet || true
  mixed+=("$PORT")
done
run "$TOOL" "${mixed[@]}"
expect_status 0
expect_eq "$(printf '%s\n' "$OUT" | grep -F "${mixed[0]} " | awk '{print $2, $3, $4}')" \
  "esp32s3 7c:df:a1:00:5e:60 ok" "summary row of the ESP32-S3"
expect_eq "$(printf '%s\n' "$OUT" | grep -F "${mixed[1]} " | awk '{print $2, $3, $4}')" \
  "esp32c3 7c:df:a1:01:5e:61 ok" "summary row of the ESP32-C3"
expect_eq "$(printf '%s\n' "$OUT" | grep -F "${mixed[2]} " | awk '{print $2, $3, $4}')" \
  "esp32c6 7c:df:a1:02:5e:62 ok" "summary row of the ESP32-C6"
expect_out "${mixed[1]}: Found esp32c3 device (4MB flash)."

test_case a_missing_board_fails_alone
# a port with nothing behind it (the board's server is gone)
vchip_start gone --chip esp32 --flash gone.flash --quiet || true
gone=$PORT
kill "${VCHIP_PIDS[-1]}"
wait "${VCHIP_PIDS[-1]}" 2>/dev/null || true
run "$TOOL" "${ports[0]}" "$gone" --fs ls
expect_status 1
expect_out "${ports[0]}: boot.py"
expect_err "$gone: failed: "
expect_out "1 of 2 boards succeeded."

test_case json_one_document_with_a_record_per_board
if command -v python3 >/dev/null; then
  run "$TOOL" --json "${ports[0]}" "$gone" --check-app
  expect_status 1
  printf '%s\n' "$OUT" >fleet.json
  if python3 - "${ports[0]}" "$gone" <<'PY'; then pass; else fail "JSON document: $OUT"; fi
import json, sys
d = json.load(open("fleet.json"))
good, gone = sys.argv[1], sys.argv[2]
assert d["schema_version"] == 1 and d["ok"] is False and d["exit_status"] == 1, d
assert d["error"]["message"] == "1 of 2 boards failed", d["error"]
assert [b["board"] for b in d["boards"]] == [good, gone], d["boards"]
a, b = d["boards"]
assert a["result"] == "ok" and a["exit_status"] == 0 and a["chip"] == "esp32", a
assert a["error"] is None and a["mac"] == a["report"]["device"]["mac"], a
assert a["report"]["ok"] is True and a["report"]["device"]["port"] == good, a["report"]
assert a["report"]["check_app"]["ok"] is True, a["report"]["check_app"]
assert b["result"] == "failed" and b["exit_status"] == 1 and b["chip"] is None, b
assert b["report"]["ok"] is False and b["error"].startswith("DeviceError: "), b
PY
  # the document is valid against the published schema (each board's report with it)
  set +e
  python3 "$TESTS_DIR/json_check.py" validate "$TESTS_DIR/../../docs/json-schema.json" fleet.json
  valid=$?
  set -e
  case $valid in
    0) pass ;;
    77) echo "(python3-jsonschema missing: the document was not validated)" ;;
    *) fail "fleet.json is not valid against docs/json-schema.json" ;;
  esac
else
  echo "(no python3: the --json document of several boards was not checked)"
fi

test_case a_stopped_run_stops_every_board
# SIGTERM to the parent alone (as a service manager or CI timeout sends it) reaches each board's
# run; the parent waits for them and shows how they ended
slow=()
for i in 0 1; do
  vchip_start "slow$i" --chip esp32 --flash "slow$i.flash" --wire-time --quiet || true
  slow+=("$PORT")
done
"$TOOL" "$fw" --flash "${slow[@]}" >stopped.out 2>stopped.err &
parent=$!
for _ in $(seq 200); do
  [ "$(grep -c "Flashing firmware to device" stopped.out 2>/dev/null)" = 2 ] && break
  sleep 0.05
done
kill -TERM "$parent"
set +e
wait "$parent"
STATUS=$?
set -e
OUT=$(cat stopped.out) ERR=$(cat stopped.err)
expect_status 143
expect_out "0 of 2 boards succeeded."
for p in "${slow[@]}"; do
  expect_err "$p: failed: the run ended on signal 15"
  if pgrep -f -- "--flash $p" >/dev/null; then fail "the run of $p goes on"; else pass; fi
done

test_case refusals_before_any_board
run "$TOOL" "${ports[0]}" "${ports[1]}" -o whole.bin
expect_status 2
expect_err "-o/--output names one file, but several boards are given"
expect_no_file whole.bin
run "$TOOL" "${ports[0]}" --flash "${ports[1]}" "${ports[3]}"
expect_status 2
expect_err "--flash to several boards needs a firmware file as filename"

test_case two_failed_layout_changes_keep_two_backups
# Two boards with different files; their layout change fails on both at once (every write cut):
# each board's data must stay in a backup of its own.
rm -f mp-backup-*
for name in x y; do
  vchip_start "$name" --chip esp32 --flash "$name.flash" --image "$fw" --quiet || true
  echo "print('board $name')" >main.py
  run "$TOOL" -q "$PORT" --fs mkfs --fs put main.py
  expect_status 0
  kill "${VCHIP_PIDS[-1]}"
  wait "${VCHIP_PIDS[-1]}" 2>/dev/null || true
done
vchip_start x2 --chip esp32 --flash x.flash --quiet "${cut_every_write[@]/@3/@1}" || true
px=$PORT
vchip_start y2 --chip esp32 --flash y.flash --quiet "${cut_every_write[@]/@3/@1}" || true
py=$PORT
run "$TOOL" "$px" "$py" --resize vfs=1M
expect_status 1
expect_out "0 of 2 boards succeeded."
backups=(mp-backup-*.bin)
expect_eq "${#backups[@]}" 2 "backups kept"
got=""
for b in "${backups[@]}"; do
  [ -f "$b" ] || continue
  run "$TOOL" -q "$b" --fs cat main.py
  got+="$OUT;"
done
[[ "$got" == *"board x"* && "$got" == *"board y"* ]] && pass || fail "backups hold: $got"

test_case flashed_boards_hold_the_firmware
vchip_stop_all # a stopped chip has written all of its flash to its file
for i in 0 1 3; do
  cmp -s -n "$(stat -c %s "$fw")" -i 0:4096 "$fw" "b$i.flash" && pass || fail "board $i flash differs"
done
cmp -s -n "$(stat -c %s "$fw")" -i 0:4096 "$fw" b2.flash && fail "board 2 holds the firmware" || pass

finish
