#!/usr/bin/env bash
# Type-checks and lints every workspace crate that builds for macOS, for
# aarch64-apple-darwin and x86_64-apple-darwin, on Linux: `cargo check` and
# `cargo clippy -- -D warnings`, so the Rust behind cfg(target_os = "macos")
# (crates/gecko-platform/src/macos.rs, the engine's CoreAudio output through
# cpal, the tray app's macOS paths) is held to the same lints as the rest.
# It compiles; it links nothing and runs nothing (docs/macos-build.md).
#
# Usage: scripts/check-macos.sh [TARGET...]   (default: both Apple targets)
#
# Toolchain (scripts/setup.sh installs it): Debian 12's rustc-web, cargo-web,
# rust-web-src and rust-web-clippy (bookworm-security, Rust 1.96) —
# /usr/bin/cargo, /usr/bin/rustc, /usr/bin/cargo-clippy and the standard
# library's source under /usr/lib/rustlib/src/rust/library, which
# -Zbuild-std compiles for the Apple targets (RUSTC_BOOTSTRAP=1: build-std
# is unstable). Not rustup's toolchain: it has no Apple standard library here.
# Crates whose build script compiles C for the target (objc2's exception
# helper) get clang-19 --target=<arch>-apple-macos with zig's bundled macOS
# libc headers (PyPI ziglang, as scripts/build-macos-driver.sh) and llvm-ar-19.
#
# What is checked (library and binaries, not tests — those drive the Linux
# simulation): gecko-ring, gecko-dsp, gecko-drift, gecko-engine,
# gecko-control, gecko-platform, gecko-install, gecko-cli and the tray app
# (gecko-app). gecko-install, gecko-cli and gecko-app without their
# `macho-signatures` feature: apple-codesign's C dependencies (ring, bzip2, …)
# need Apple's SDK to build for macOS. Not checked: gecko-simhost and
# gecko-driver-bundle (Linux-only: the simulated coreaudiod loading the ELF
# driver; not dependencies of a macOS build), gecko-macos-bundle and
# gecko-pkg (Linux-hosted build tools for the Mach-O bundle and the .pkg).
#
# Target directory: $GECKO_MACOS_TARGET_DIR, default /var/cache/gecko-target-macos
# (outside the clone, reused by every CI run: a warm run takes seconds).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

TARGETS=("$@")
((${#TARGETS[@]})) || TARGETS=(aarch64-apple-darwin x86_64-apple-darwin)
PACKAGES=(gecko-identity gecko-ring gecko-dsp gecko-drift gecko-engine gecko-control gecko-engine-process gecko-services gecko-platform gecko-install gecko-cli gecko-app)
# --no-default-features drops `macho-signatures` (gecko-install, gecko-cli,
# gecko-app) and gecko-dsp's `plot` (kept: it is pure Rust), so add back what
# is not the SDK-bound signature check.
FEATURES=(--features gecko-dsp/plot,gecko-app/custom-protocol)

missing() {
    echo "error: $1; install the macOS check toolchain with: bash scripts/setup.sh" >&2
    exit 1
}

CARGO=/usr/bin/cargo
for t in /usr/bin/cargo /usr/bin/rustc /usr/bin/cargo-clippy /usr/bin/clippy-driver; do
    [ -x "$t" ] || missing "$t not found (Debian packages rustc-web cargo-web rust-web-clippy)"
done
SYSROOT="$(/usr/bin/rustc --print sysroot)"
[ -f "$SYSROOT/lib/rustlib/src/rust/library/Cargo.lock" ] ||
    missing "the standard library's source is not in $SYSROOT/lib/rustlib/src/rust/library (Debian package rust-web-src)"
for t in clang-19 llvm-ar-19 python3; do
    command -v "$t" >/dev/null || missing "$t not found"
done
ZIG_LIB="$(python3 -c 'import os, ziglang; print(os.path.join(os.path.dirname(ziglang.__file__), "lib"))' 2>/dev/null)" ||
    missing "the ziglang Python package (macOS libc headers) is not importable by python3"
MACOS_INC="$ZIG_LIB/libc/include/any-macos-any"
[ -f "$MACOS_INC/objc/objc.h" ] || [ -f "$MACOS_INC/stdlib.h" ] || missing "no macOS libc headers in $MACOS_INC"

# Debian's toolchain, never rustup's proxies: `cargo clippy` runs the
# cargo-clippy found first on PATH, and a rustup toolchain override
# (RUSTUP_TOOLCHAIN, rust-toolchain.toml) must not leak in. The target
# directory and the C compiler for build scripts (objc2's exception helper):
# scripts/macos/rust-env.sh, shared with scripts/build-macos-rust.sh, at the
# product's minimum macOS.
# shellcheck source=macos/rust-env.sh
. "$ROOT/scripts/macos/rust-env.sh"
gecko_macos_rust_env 12.0 "$MACOS_INC" "${TARGETS[@]}"

echo "==> macOS check with $("$CARGO" --version) ($(/usr/bin/rustc --version)), target dir $CARGO_TARGET_DIR"
pkg_args=()
for p in "${PACKAGES[@]}"; do pkg_args+=(-p "$p"); done
for target in "${TARGETS[@]}"; do
    common=(--locked --target "$target" -Zbuild-std "${pkg_args[@]}" --no-default-features "${FEATURES[@]}")
    start=$SECONDS
    echo "==> cargo check --target $target"
    "$CARGO" check "${common[@]}"
    echo "==> cargo clippy --target $target -- -D warnings"
    "$CARGO" clippy "${common[@]}" -- -D warnings
    echo "==> $target: checked and linted in $((SECONDS - start)) s"
done
echo "==> macOS check passed: ${TARGETS[*]}"
