#!/usr/bin/env bash
# GetZeroTimeStamp from two IO threads at once (a device used directly and in
# an aggregate device), WriteMix on one of them, properties read on a third,
# the clock steered by the engine meanwhile — under ThreadSanitizer.
#
# Builds scripts/tsan/zero_timestamp_race.c, scripts/tsan/cf_stubs.c (the CF
# functions the driver calls) and every driver source with clang-19
# -fsanitize=thread into one executable and runs it. Exits non-zero on any
# ThreadSanitizer report (exit code 66) or failed check (exit code 1).
#
#   bash scripts/tsan-zero-timestamp.sh
#   GECKO_TSAN_DRIVER_DIR=/path/to/driver bash scripts/tsan-zero-timestamp.sh
#       (another driver tree with src/ and include/, e.g. an older version)
set -euo pipefail
cd "$(dirname "$0")/.."
driver="${GECKO_TSAN_DRIVER_DIR:-$PWD/driver}"
cc="${GECKO_TSAN_CC:-clang-19}"
if ! command -v "$cc" >/dev/null 2>&1; then
    echo "error: $cc not found (scripts/setup.sh installs clang-19)" >&2
    exit 1
fi
# The harness calls the factory by the name driver/Info.plist gives it.
grep -q '<string>GeckoAudioDevice_Create</string>' "$driver/Info.plist" || {
    echo "error: $driver/Info.plist does not name the factory GeckoAudioDevice_Create" >&2
    exit 1
}
out=$(mktemp -d "${TMPDIR:-/tmp}/gecko-tsan.XXXXXX")
trap 'rm -rf "$out"' EXIT
echo "==> building the zero-timestamp race harness with $cc -fsanitize=thread ($driver)"
"$cc" -std=c11 -O1 -g -fsanitize=thread -fno-omit-frame-pointer -pthread \
    -Wall -Wextra -Werror -Wno-unused-parameter \
    -DGECKO_CHANNELS=2 -I"$driver/include" -I"$driver/src" \
    scripts/tsan/zero_timestamp_race.c scripts/tsan/cf_stubs.c "$driver"/src/*.c \
    -lm -o "$out/zero_timestamp_race"
echo "==> running it"
TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 ${TSAN_OPTIONS:-}" \
    "$out/zero_timestamp_race"
