#!/usr/bin/env bash
# --json: every kind of run, on firmware files and virtual boards, prints exactly one JSON
# document on stdout (no human text), also when it fails; the facts in it are the real ones
# (sizes and SHA-256 of the files written, what a check found, what cat printed); and every
# document of this script is valid against docs/json-schema.json (skipped with 77 when
# python3-jsonschema is missing, after the other checks).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || skip_all "python3 is not installed"
CHECK="python3 $TESTS_DIR/json_check.py"
SCHEMA="$TESTS_DIR/../../docs/json-schema.json"
enter_workdir
mkdir json

# jrun NAME ARGS...: run the tool with --json; the document goes to json/NAME.json
jrun() {
  local name=$1
  shift
  set +e
  "$TOOL" --json "$@" >"json/$name.json" 2>"json/$name.err"
  STATUS=$?
  set -e
  ERR=$(cat "json/$name.err")
  OUT=$(cat "json/$name.json")
  rm -f "json/$name.err"
  if $CHECK get "json/$name.json" schema_version >/dev/null; then pass; else
    fail "$name: stdout is not one JSON document: $(head -c 600 "json/$name.json")"
  fi
}
jget() { $CHECK get "json/$1.json" "$2" 2>/dev/null || echo "<absent>"; }
jis() { # name path expected
  expect_eq "$(jget "$1" "$2")" "$3" "$1: $2"
}

"$SYNTH" --chip esp32 -o fw.bin >/dev/null
cp fw.bin badhash.bin
printf '\x5a' | dd of=badhash.bin bs=1 seek=$((0xf000 + 0x200)) conv=notrunc status=none
head -c $(($(stat -c %s fw.bin) - 100)) fw.bin >trunc.bin

test_case file_report
jrun info fw.bin
expect_status 0
jis info ok true
jis info exit_status 0
jis info error null
jis info input.kind file
jis info input.chip esp32
jis info input.flash_size 4194304
jis info app.micropython_version v1.99.0
jis info table.partitions[2].name factory
jis info table.partitions[2].type app
jis info table.partitions[2].offset $((0x10000))
jis info table.partitions[3].subtype fat
jis info table.partitions[3].encrypted false
jis info table.app_fill.partition factory
jis info table.app_fill.app_size 1500000
jis info ota null
jis info messages[1].text "Opening fw.bin..."
# -q leaves the document whole; only the narration goes
jrun quiet -q fw.bin
jis quiet table.partitions[0].name nvs
jis quiet messages "[]"

test_case check_app
jrun check fw.bin --check-app
expect_status 0
jis check check_app.ok true
jis check check_app.partitions[0].partition bootloader
jis check check_app.partitions[1].state ok
jis check check_app.boot_partition factory
jrun badcheck -q badhash.bin --check-app
expect_status 3
expect_err "App check failed: 1 problem"
jis badcheck ok false
jis badcheck exit_status 3
jis badcheck check_app.ok false
jis badcheck check_app.problems 1
jis badcheck check_app.partitions[1].state broken
jis badcheck error.verification_failed true
jis badcheck error.kind ValueError
# the check's findings are in its record also under -q
case "$(jget badcheck check_app.partitions[1].messages)" in
  *"Checksum mismatch"*) pass ;;
  *) fail "no finding: $(jget badcheck check_app.partitions[1])" ;;
esac
jrun qtrunc -q trunc.bin
case "$(jget qtrunc warnings[0])" in *"cut off"*) pass ;; *) fail "-q dropped a warning" ;; esac

test_case warnings_and_errors
jrun trunc trunc.bin
expect_status 0
case "$(jget trunc warnings[0])" in *"cut off"*) pass ;; *) fail "no warning: $(jget trunc warnings)" ;; esac
jrun missing missing.bin
expect_status 1
jis missing ok false
case "$(jget missing error.message)" in *missing.bin*) pass ;; *) fail "error: $(jget missing error)" ;; esac
jis missing error.verification_failed false
jrun usage fw.bin --no-such-option
expect_status 2
jis usage exit_status 2
jis usage error.message "unrecognized arguments: --no-such-option"
jrun refused badhash.bin --resize vfs=1M
expect_status 1
case "$(jget refused error.message)" in *"Refusing to write a broken firmware"*) pass ;; *) fail "$(jget refused error)" ;; esac
jrun loggers fw.bin --log list
expect_status 0
jis loggers loggers[0].name main
jis loggers loggers[4].name ota

test_case outputs_with_size_and_sha256
jrun edit fw.bin --resize vfs=1M -o out.bin --read nvs=nvs.bin
expect_status 0
jis edit new_table.partitions[3].size $((0x100000))
jis edit outputs[0].kind partition
jis edit outputs[0].partition nvs
jis edit outputs[0].sha256 "$(sha nvs.bin)"
jis edit outputs[0].size "$(stat -c %s nvs.bin)"
jis edit outputs[1].kind firmware
jis edit outputs[1].path out.bin
jis edit outputs[1].sha256 "$(sha out.bin)"
jis edit outputs[1].size "$(stat -c %s out.bin)"
jrun extract fw.bin -x
jis extract outputs[0].kind app
jis extract outputs[0].sha256 "$(sha fw.app-bin)"
head -c 4096 /dev/zero | tr '\0' '\1' >phy.bin
jrun write fw.bin --write phy_init=phy.bin --erase nvs -o w.bin
expect_status 0
jis write partitions_written[0].partition phy_init
jis write partitions_written[0].size 4096
jis write partitions_erased[0].partition nvs
jis write partitions_erased[0].size $((0x6000))
jis write outputs[0].sha256 "$(sha w.bin)"

test_case fs_commands
"$SYNTH" --chip esp32 --ota --full-flash -o full.bin >/dev/null
jrun mkfs full.bin --fs mkfs -o fs.bin
expect_status 0
jis mkfs fs[0].command mkfs
jis mkfs fs[0].changed true
mkdir -p src/lib && echo "print('main')" >src/main.py && printf 'x = 1\n' >src/lib/m.py
printf '\377\000binary' >blob.bin
jrun fs fs.bin --fs put src / --fs put blob.bin / --fs mkdir /data --fs rename /data /d2 \
  --fs ls --fs cat /src/main.py --fs cat /blob.bin --fs df --fs info --fs get /src got \
  --fs rm /d2 -o fs2.bin
expect_status 0
jis fs fs[0].command put
jis fs fs[0].args '["src", "/"]'
jis fs fs[0].output[0] "src -> /src"
jis fs fs[0].unchanged_files 0
# the same tree again: every file is left alone, and the record says so
jrun fsagain fs2.bin --fs put src / -o fs3.bin
expect_status 0
jis fsagain fs[0].unchanged_files 2
jis fsagain fs[0].changed false
jis fs fs[4].command ls
jis fs 'fs[4].entries[0]' '{"partition": "vfs", "path": "blob.bin", "type": "file", "size": 8}'
case "$(jget fs fs[4].entries)" in
  *'{"partition": "vfs", "path": "src", "type": "dir"}'*'"path": "src/lib/m.py", "type": "file", "size": 6}'*) pass ;;
  *) fail "ls entries: $(jget fs fs[4].entries)" ;;
esac
case "$(jget fs fs[4].output)" in *'"src/main.py"'*'"src/lib/m.py"'*) pass ;; *) fail "ls: $(jget fs fs[4].output)" ;; esac
# (the shell drops the final newline of both sides; the digest below covers every byte)
jis fs fs[5].data.text "print('main')"
jis fs fs[5].data.sha256 "$(sha src/main.py)"
jis fs fs[6].data.size 8
jis fs fs[6].data.base64 "/wBiaW5hcnk="
expect_eq "$(jget fs fs[6].data.text)" "<absent>" "binary data has no text"
jis fs fs[7].filesystems[0].partition vfs
jis fs fs[7].filesystems[0].block_size 4096
jis fs fs[8].filesystems[0].disk_version 2.1
case "$(jget fs fs[8].output)" in *"Blocks Total"*) pass ;; *) fail "info: $(jget fs fs[8].output)" ;; esac
jis fs outputs[0].kind fs_get
jis fs outputs[0].path got/main.py
jis fs outputs[0].sha256 "$(sha got/main.py)"
jis fs outputs[1].path got/lib/m.py
jis fs outputs[2].kind firmware
jis fs outputs[2].sha256 "$(sha fs2.bin)"
jrun fsfail fs.bin --fs cat /nope.py
expect_status 1
jis fsfail fs[0].ok false
jis fsfail ok false

test_case ota
"$SYNTH" --chip esp32 --app-only --seed 3 -o app.bin >/dev/null
jrun ota full.bin --ota-update app.bin --no-rollback
expect_status 0
jis ota ota_update.file app.bin
jis ota ota_update.rollback false
jis ota ota.current ota_1
jis ota outputs[0].kind firmware

test_case nvs
"$TOOL" -q fw.bin --nvs set wifi.ssid=str:home --nvs set wifi.n=i16:-5 \
  --nvs set cal.blob=blob:00ff10 -o nvs1.bin
jrun nvs_show nvs1.bin --nvs show
expect_status 0
jis nvs_show nvs[0].command show
jis nvs_show nvs[0].partition nvs
jis nvs_show nvs[0].namespaces '["wifi", "cal"]'
jis nvs_show nvs[0].keys[0].key blob
jis nvs_show nvs[0].keys[0].hex 00ff10
jis nvs_show nvs[0].keys[0].size 3
jis nvs_show nvs[0].keys[1].type i16
jis nvs_show nvs[0].keys[1].value -5
jis nvs_show nvs[0].keys[2].value home
jrun nvs_set nvs1.bin --nvs set wifi.n=u8:7 -o nvs2.bin
expect_status 0
jis nvs_set nvs[0].changed true
jis nvs_set nvs[0].keys '[{"namespace": "wifi", "key": "n", "type": "u8", "value": 7, "page": 0, "entry": 8}]'
jis nvs_set outputs[0].sha256 "$(sha nvs2.bin)"
jrun nvs_missing nvs2.bin --nvs get wifi.none
expect_status 1
jis nvs_missing nvs[0].ok false
jis nvs_missing nvs[0].keys "[]"
jis nvs_missing error.kind ValueError

if [ -x "${VCHIP:-}" ]; then
  test_case boards
  vchip_start b --chip esp32 --flash b.flash --image fw.bin --quiet --mac 24:0a:c4:12:34:56
  jrun board "$PORT" -o backup.bin
  expect_status 0
  jis board input.kind device
  jis board device.port "$PORT"
  jis board device.chip esp32
  jis board device.mac 24:0a:c4:12:34:56
  jis board device.flash_size 4194304
  jis board device.stub true
  jis board outputs[0].kind flash_backup
  jis board outputs[0].sha256 "$(sha backup.bin)"
  jis board df "[]"
  jrun bcheck "$PORT" --check-app --fs ls
  expect_status 0
  jis bcheck check_app.ok true
  jis bcheck fs[0].command ls
  "$SYNTH" --chip esp32 --seed 5 -o fw5.bin >/dev/null
  jrun bflash fw5.bin --flash "$PORT"
  expect_status 0
  jis bflash flash_device.chip esp32
  jis bflash flash_device.mac 24:0a:c4:12:34:56
  jis bflash flashed.verified true
  vchip_start worn --chip esp32 --flash worn.flash --image fw.bin --quiet --fault stuck-bit@0x9000
  head -c 4096 /dev/zero >zeros.bin
  jrun worn -q "$PORT" --write nvs=zeros.bin
  expect_status 3
  jis worn error.verification_failed true
  jis worn error.kind DeviceError
fi

test_case flash_ranges_and_otadata
"$SYNTH" --chip esp32s3 --ota --full-flash -o ota.bin >/dev/null
"$SYNTH" --chip esp32s3 --app-only --seed 5 -o app.bin >/dev/null
"$TOOL" -q ota.bin --ota-update app.bin -o ota1.bin
head -c 4096 /dev/urandom >block.bin
jrun ranges ota1.bin --read flash=whole.bin --write 0x300000+8K=block.bin --erase 0x9000:0xb000 \
  -o ranges.bin
expect_status 0
jis ranges outputs[0].kind flash
jis ranges outputs[0].sha256 "$(sha whole.bin)"
jis ranges partitions_written[0].partition flash
jis ranges partitions_written[0].offset $((0x300000))
jis ranges partitions_written[0].size 8192
jis ranges partitions_erased[0].what range
jis ranges partitions_erased[0].offset $((0x9000))
jis ranges partitions_erased[0].size 8192
jrun otadata ota1.bin --ota-show
expect_status 0
jis otadata otadata.records[0].seq 2
jis otadata otadata.records[0].state NEW
jis otadata otadata.records[0].active true
jis otadata otadata.records[1].crc_ok false
jis otadata otadata.current ota_1

finish || exit 1
# every document above, against the published schema
$CHECK validate "$SCHEMA" json/*.json
