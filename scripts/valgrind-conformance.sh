#!/usr/bin/env bash
# Runs the driver conformance suite (crates/gecko-simhost/tests/conformance.rs)
# and the in-process driver tests (crates/gecko-simhost/tests/driver_inprocess.rs)
# under valgrind memcheck: any invalid read/write, use of uninitialised memory
# or bad free in the driver (or the host) fails the run (--error-exitcode=1).
# Leaks are not checked (the driver is a process-lifetime singleton and the
# simulated host deliberately never frees what the driver may still hold).
# The proptest hammer runs GECKO_PROPTEST_CASES cases (default 1000 here) to keep
# the run short; the real-time pacing tests are not part of this binary.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v valgrind >/dev/null 2>&1; then
    echo "error: valgrind not found (scripts/setup.sh installs it)" >&2
    exit 1
fi
for test in conformance driver_inprocess; do
    exe=$(cargo test -p gecko-simhost --test "$test" --no-run --message-format=json 2>/dev/null |
          grep "\"name\":\"$test\"" | grep -o '"executable":"[^"]*"' | tail -1 | cut -d'"' -f4)
    if [ -z "$exe" ] || [ ! -x "$exe" ]; then
        echo "error: could not build the $test test binary" >&2
        exit 1
    fi
    echo "==> valgrind $exe"
    GECKO_PROPTEST_CASES="${GECKO_PROPTEST_CASES:-1000}" \
        valgrind --error-exitcode=1 --leak-check=no --quiet --trace-children=no \
        "$exe" --test-threads=2 "$@"
done
