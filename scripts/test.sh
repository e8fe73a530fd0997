#!/usr/bin/env bash
# Runs every test of the project after installing what they need.
# Uses $CARGO_TARGET_DIR when set (CI points it at a cache outside the clone).
set -euo pipefail
cd "$(dirname "$0")/.."
# Build scripts that watch files by absolute path re-run when the checkout
# changes (a target directory shared between clones; see crates/*/build.rs).
export GECKO_CHECKOUT="$PWD"
bash scripts/setup.sh
echo "==> cargo test (workspace)"
cargo test --workspace 2>&1
echo "==> gecko without Mach-O signature checks (what scripts/demo.sh builds) still builds"
cargo build -q -p gecko-cli --no-default-features 2>&1
echo "==> driver conformance suite under valgrind"
bash scripts/valgrind-conformance.sh 2>&1
echo "==> tray app end to end (Xvfb, tauri-driver)"
bash app/e2e/run.sh 2>&1
