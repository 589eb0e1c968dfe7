#!/usr/bin/env bash
# Check that every section reference ("§" and a section number) in the sources points at a
# section that exists in docs/.
#
#   check_refs.sh [--list] [--strict] [SOURCE_DIR]
#
# A reference names its document when a document name comes before it on the same line
# ("esp-image-formats §1.1", "seed-spec §1.4, §1.5"). Otherwise it is bare, and means:
#  - in docs/X.md: X.md itself;
#  - in a file that names exactly one document (anywhere in it), counting the document its path
#    uses by tests/docs/conventions.txt: that document;
#  - in a file that names several: the one named nearest above the reference (or the path's
#    document when none is named above), provided the section exists in that document only.
#    If it also exists in another document the file names, or only in another one, the reference
#    is reported as unresolved: the file should name the document there.
# Exit status 1 when a reference points at a section (or document) that does not exist, or with
# --strict also when a reference is unresolved. --list prints every reference and how it was
# resolved.
set -euo pipefail

list=0
strict=0
root=""
for arg in "$@"; do
  case "$arg" in
    --list) list=1 ;;
    --strict) strict=1 ;;
    -*) echo "usage: $0 [--list] [--strict] [SOURCE_DIR]" >&2; exit 2 ;;
    *) root="$arg" ;;
  esac
done
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[ -n "$root" ] || root="$here/../.."
cd "$root"
conventions="$here/conventions.txt"
[ -f "$root/tests/docs/conventions.txt" ] && conventions="$root/tests/docs/conventions.txt"

# The documents that have numbered sections.
docs="esp-image-formats.md esp-serial-protocol.md littlefs.md nvs.md fat.md seed-spec.md"
for d in $docs; do
  [ -f "docs/$d" ] || { echo "docs/$d: missing" >&2; exit 1; }
done

# Files that may hold references: text files with a section sign, minus this checker's own
# folder (its self-test writes deliberate mistakes) and third-party trees.
files=()
while IFS= read -r f; do files+=("$f"); done < <(
  for d in src sim tests tools fuzz bench docs scripts cmake; do
    [ -d "$d" ] && find "$d" \( -name node_modules -o -name corpus -o -path tests/docs \) -prune \
      -o -type f -print
  done | sort | xargs -r grep -lI '§' || true)
[ -f README.md ] && grep -qI '§' README.md && files+=(README.md)

# Every file twice: the first pass collects the documents it names, the second resolves.
args=()
for f in "${files[@]}"; do args+=("$f" "$f"); done

if [ ${#args[@]} -eq 0 ]; then echo "0 references"; exit 0; fi
LC_ALL=C exec awk -v docs="$docs" -v conventions="$conventions" -v list="$list" -v strict="$strict" '
function doc_of(token) {
    # a document name as written in the code -> its file under docs/
    if (token ~ /^esp-image-formats/) return "esp-image-formats.md"
    if (token ~ /^esp-serial-protocol/) return "esp-serial-protocol.md"
    if (token ~ /^littlefs/) return "littlefs.md"
    if (token ~ /^nvs\.md/) return "nvs.md"
    if (token ~ /^fat\.md/) return "fat.md"
    if (token ~ /^seed/) return "seed-spec.md"
    if (token ~ /^ARCHITECTURE/) return "ARCHITECTURE.md"
    if (token ~ /^compatibility/) return "compatibility.md"
    return ""
}
function convention(path,    i, best, blen) {
    best = ""; blen = 0
    for (i = 1; i <= nconv; i++)
        if (substr(path, 1, length(conv_prefix[i])) == conv_prefix[i] && length(conv_prefix[i]) > blen) {
            best = conv_doc[i]; blen = length(conv_prefix[i])
        }
    return best
}
# Fill tok_pos[], tok_doc[] (ntok) with the document names on a line, left to right.
function scan_docs(line,    rest, off, t) {
    ntok = 0; rest = line; off = 0
    while (match(rest, DOCNAME)) {
        t = substr(rest, RSTART, RLENGTH)
        ntok++; tok_pos[ntok] = off + RSTART; tok_doc[ntok] = doc_of(t)
        off += RSTART + RLENGTH - 1; rest = substr(rest, RSTART + RLENGTH)
    }
}
function has(doc, sec) { return ((doc SUBSEP sec) in section) }
function report(kind, msg) {
    if (kind == "broken") { nbroken++; print FILENAME ":" FNR ": " msg }
    else if (kind == "unresolved") { nunres++; print FILENAME ":" FNR ": " msg }
}
BEGIN {
    DOCNAME = "(esp-image-formats(\\.md)?|esp-serial-protocol(\\.md)?|seed-spec(\\.md)?|seed +§|littlefs\\.md|nvs\\.md|fat\\.md|ARCHITECTURE\\.md|compatibility\\.md)"
    REF = "§[0-9]+(\\.[0-9]+)*"
    n = split(docs, dl, " ")
    for (i = 1; i <= n; i++) {
        known[dl[i]] = 1; fence = 0
        while ((getline l < ("docs/" dl[i])) > 0) {
            if (l ~ /^```/) { fence = !fence; continue }
            if (fence || l !~ /^##+ +[0-9]/) continue
            sub(/^##+ +/, "", l); match(l, /^[0-9]+(\.[0-9]+)*/)
            section[dl[i], substr(l, 1, RLENGTH)] = 1
        }
        close("docs/" dl[i])
    }
    nconv = 0
    while ((getline l < conventions) > 0) {
        if (l ~ /^#/ || l !~ /[^ ]/) continue
        split(l, f, " "); nconv++; conv_prefix[nconv] = f[1]; conv_doc[nconv] = f[2]
    }
    nrefs = nfiles = nbroken = nunres = 0
}
FNR == 1 {
    pass = (FILENAME == prevfile) ? 2 : 1
    prevfile = FILENAME
    if (pass == 1) { delete named; nnamed = 0 }
    else {
        nfiles++; nearest = ""; conv = convention(FILENAME)
        # in docs/, a bare reference means the document itself
        if (FILENAME ~ /^docs\//) { conv = FILENAME; sub(/^docs\//, "", conv); if (!(conv in known)) conv = "" }
        # candidates for bare references in this file
        delete cand; ncand = 0
        if (FILENAME ~ /^docs\//) { if (conv != "") { cand[conv] = 1; ncand = 1 } }
        else {
            for (d in named) if (d in known) { cand[d] = 1; ncand++ }
            if (conv != "" && !(conv in cand)) { cand[conv] = 1; ncand++ }
        }
    }
}
pass == 1 {
    scan_docs($0)
    for (i = 1; i <= ntok; i++) named[tok_doc[i]] = 1
    next
}
{
    scan_docs($0)
    rest = $0; off = 0
    while (match(rest, REF)) {
        pos = off + RSTART
        sec = substr(rest, RSTART + 2, RLENGTH - 2)   # after the two bytes of the sign
        off += RSTART + RLENGTH - 1; rest = substr(rest, RSTART + RLENGTH)
        nrefs++
        # a document named before it on this line
        doc = ""
        for (i = 1; i <= ntok; i++) if (tok_pos[i] < pos) doc = tok_doc[i]
        if (doc != "") {
            how = "named"
            if (!(doc in known)) { report("broken", "§" sec ": " doc " has no numbered sections"); continue }
            if (!has(doc, sec)) { report("broken", "§" sec ": docs/" doc " has no section " sec); continue }
            nnamed_refs++
        } else if (ncand == 0) {
            report("unresolved", "§" sec ": bare, and the file names no document"); continue
        } else if (ncand == 1) {
            for (d in cand) doc = d
            how = "file"
            if (!has(doc, sec)) { report("broken", "§" sec ": docs/" doc " (the document of the file) has no section " sec); continue }
            nfile_refs++
        } else {
            near = (nearest != "" && (nearest in cand)) ? nearest : conv
            others = ""; nothers = 0
            for (d in cand) if (d != near && has(d, sec)) { others = others " " d; nothers++ }
            if (near != "" && has(near, sec) && nothers == 0) {
                doc = near; how = "nearest"; nnear_refs++
            } else if (near != "" && has(near, sec)) {
                report("unresolved", "§" sec ": bare; nearest document " near ", but" others " also has it"); continue
            } else if (nothers > 0) {
                report("unresolved", "§" sec ": bare; nearest document " (near == "" ? "(none)" : near) " has no such section," others " has it"); continue
            } else {
                report("broken", "§" sec ": no document this file names has section " sec); continue
            }
        }
        if (list) print FILENAME ":" FNR ": §" sec " -> " doc " (" how ")"
    }
    if (ntok > 0) nearest = tok_doc[ntok]
}
END {
    printf "%d references in %d files: %d named, %d by the document of the file, %d by the nearest document; %d unresolved, %d broken\n", \
        nrefs, nfiles, nnamed_refs, nfile_refs, nnear_refs, nunres, nbroken
    if (nbroken > 0 || (strict && nunres > 0)) exit 1
}' "${args[@]}"
