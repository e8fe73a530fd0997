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
# The same ring, driver, drift, engine and CLI tests again, every test binary (and
# every process it starts: gecko, the simulated host with the C driver) under
# macOS's kernel semantics: XNU's POSIX shm rules, 16 KiB pages, Apple silicon's
# 125/3 host timebase (scripts/macos-semantics/, docs/macos-semantics.md).
echo "==> the same tests under macOS semantics (Apple silicon)"
CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER="$PWD/scripts/macos-semantics/run" \
    cargo test -p gecko-ring -p gecko-simhost -p gecko-driver-bundle -p gecko-drift \
    -p gecko-engine -p gecko-cli --tests 2>&1
echo "==> gecko without Mach-O signature checks (what scripts/demo.sh builds) still builds"
cargo build -q -p gecko-cli --no-default-features 2>&1
echo "==> cargo fmt --check (rustfmt.toml)"
if cargo fmt --version >/dev/null 2>&1; then
    cargo fmt --all --check 2>&1
else
    echo "rustfmt is not installed for this toolchain (rustup component add rustfmt): formatting not checked" >&2
fi
# Every crate, test, bench and binary, with the workspace lints (Cargo.toml
# [workspace.lints]: missing docs, SAFETY comments) as errors.
echo "==> cargo clippy --workspace --all-targets -D warnings"
if cargo clippy --version >/dev/null 2>&1; then
    cargo clippy -q --workspace --all-targets -- -D warnings 2>&1
else
    echo "clippy is not installed for this toolchain (rustup component add clippy): not linted" >&2
fi
# Every line of macOS Rust (cfg(target_os = "macos"): macos.rs, cpal's
# CoreAudio output, the app's macOS paths) type-checked and linted
# (clippy -D warnings) for aarch64- and x86_64-apple-darwin (docs/macos-build.md).
echo "==> cargo check + clippy for macOS (both Apple targets)"
bash scripts/check-macos.sh 2>&1
# The whole product's pkg, in its quick form: gecko and the tray app
# cross-built for arm64 only (GECKO_PKG_TARGETS="aarch64-apple-darwin
# x86_64-apple-darwin" for the universal one, as `bash scripts/build-pkg.sh`
# builds), then read back with independent tools (scripts/check-pkg.py).
echo "==> the macOS pkg (Gecko.app, LaunchAgent, driver), built and read back"
PKG_TARGETS="${GECKO_PKG_TARGETS:-aarch64-apple-darwin}"
rm -rf target/pkg-ci
bash scripts/build-pkg.sh --targets "$PKG_TARGETS" --out target/pkg-ci 2>&1
PKG_ARCHS="$(echo "$PKG_TARGETS" | sed 's/aarch64-apple-darwin/arm64/; s/x86_64-apple-darwin/x86_64/')"
TARGET_DIR="$(cargo metadata -q --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
python3 scripts/check-pkg.py target/pkg-ci/Gecko-*.pkg --sdk target/pkg-ci/app/bin/sdk \
    --tool "$TARGET_DIR/debug/gecko-macos-bundle" --archs "$PKG_ARCHS" 2>&1
echo "==> driver conformance suite under valgrind"
bash scripts/valgrind-conformance.sh 2>&1
echo "==> GetZeroTimeStamp from two IO threads under ThreadSanitizer"
bash scripts/tsan-zero-timestamp.sh 2>&1
echo "==> tray app end to end (Xvfb, tauri-driver)"
bash app/e2e/run.sh 2>&1
