#!/usr/bin/env bash
# Instructions per frame of the driver's write-mix IO operation and of a
# plain memcpy of the same bytes, counted by valgrind's callgrind (exact and
# repeatable, unlike timings on a shared machine). Issue 3's benchmark.
#   bash scripts/callgrind-io-cycle.sh [CYCLES]
set -euo pipefail
cd "$(dirname "$0")/.."
cycles="${1:-2000}"
command -v valgrind >/dev/null || { echo "valgrind is missing: run bash scripts/setup.sh" >&2; exit 1; }
exe=$(cargo bench -p gecko-simhost --bench io_cycle --no-run --message-format=json 2>/dev/null \
      | python3 -c 'import sys,json
for l in sys.stdin:
    m=json.loads(l)
    if m.get("reason")=="compiler-artifact" and m["target"]["name"]=="io_cycle" and m.get("executable"): print(m["executable"])' | tail -1)
[ -x "$exe" ] || { echo "could not build the io_cycle bench" >&2; exit 1; }
out=$(mktemp -d)
count() { # $1 = function to count (callgrind --toggle-collect pattern)
    valgrind --tool=callgrind --callgrind-out-file="$out/cg.out" --toggle-collect="$1" \
        "$exe" --callgrind "$cycles" >/dev/null 2>"$out/vg.log" || { cat "$out/vg.log" >&2; exit 1; }
    awk '/^(summary|totals):/ {print $2; exit}' "$out/cg.out"
}
frames=$((cycles * 512))
io=$(count 'gecko_DoIOOperation')
cp=$(count '*memcpy_block*')
python3 - "$io" "$cp" "$frames" <<'PY'
import sys
io, cp, frames = (int(x) for x in sys.argv[1:])
print(f"callgrind, {frames} frames in 512-frame stereo cycles:")
print(f"  DoIOOperation(WriteMix)   {io/frames:7.3f} instructions/frame")
print(f"  memcpy of the same bytes  {cp/frames:7.3f} instructions/frame")
print(f"  ratio                     {io/cp:7.2f}x")
PY
rm -rf "$out"
