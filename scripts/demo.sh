#!/usr/bin/env bash
# Installs what is needed, builds, and plays a real recording through the
# whole path: C driver (in the simulated host) → shared memory → engine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh demo
# Without Mach-O signature checks (apple-codesign: most of a cold build): the
# demo never installs a macOS bundle.
exec cargo run --release -q -p gecko-cli --no-default-features -- demo "$@"
