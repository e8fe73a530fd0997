#!/usr/bin/env bash
# Installs what Gecko needs on a fresh Debian 12 machine (idempotent).
#   bash scripts/setup.sh        everything below (what scripts/test.sh needs)
#   bash scripts/setup.sh demo   only what `gecko demo` needs: build tools,
#                                ALSA headers, alsa-utils (scripts/demo.sh)
#   - build tools and ALSA headers (cpal), pkg-config
#   - alsa-utils: real recordings under /usr/share/sounds/alsa (the demo's default input)
#   - sox, espeak-ng: make and measure more test audio
#   - valgrind: scripts/valgrind-conformance.sh (the driver's conformance suite under memcheck)
#   - libclang-rt-19-dev: clang-19's ThreadSanitizer runtime (scripts/tsan-zero-timestamp.sh)
#   - the macOS cross toolchain of scripts/build-macos-driver.sh (docs/macos-build.md):
#     clang-19, lld-19 (ld64.lld-19), llvm-19 (llvm-lipo-19, llvm-nm-19) from Debian 12,
#     and zig's bundled macOS libc headers from PyPI (ziglang, pinned below)
#   - the macOS Rust check (scripts/check-macos.sh, docs/macos-build.md): Debian 12's
#     rustc-web, cargo-web, rust-web-src, rust-web-clippy (bookworm-security: Rust 1.96,
#     /usr/bin/{cargo,rustc,cargo-clippy} and the standard library's source, which it
#     builds for the Apple targets), with clang-19, llvm-19 and ziglang (above)
#   - libarchive-tools (bsdtar), cpio, openssl, python3: the .pkg read-back tests (crates/gecko-pkg,
#     scripts/check-pkg.py)
#   - the tray app (Tauri v2, app/): libwebkit2gtk-4.1-dev, libayatana-appindicator3-dev,
#     librsvg2-dev, libxdo-dev; its end-to-end test (app/e2e): webkit2gtk-driver
#     (WebKitWebDriver), xvfb + xauth, dbus (dbus-run-session), sox; tauri-driver
#     (crates.io, pinned below, into $GECKO_TOOLS: scripts/tools-env.sh) and
#     selenium (PyPI, pinned below)
#   - a Rust toolchain if cargo is missing (rustup must be reachable)
set -euo pipefail
profile="${1:-all}"
case "$profile" in
    all | demo) ;;
    *) echo "usage: $0 [demo]" >&2; exit 2 ;;
esac

# The zig release whose macOS libc headers and libSystem.tbd the cross-build
# and its test use (lib/libc/include/any-macos-any, lib/libc/darwin).
ZIGLANG_VERSION=0.15.2
TAURI_DRIVER_VERSION=2.1.0
SELENIUM_VERSION=4.51.0

demo_apt=(build-essential pkg-config libasound2-dev alsa-utils)
all_apt=("${demo_apt[@]}" sox espeak-ng
         clang-19 libclang-rt-19-dev lld-19 llvm-19 python3-pip valgrind
         rustc-web cargo-web rust-web-src rust-web-clippy
         libarchive-tools cpio openssl
         libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev
         webkit2gtk-driver xvfb xauth dbus)
if [ "$profile" = demo ]; then wanted=("${demo_apt[@]}"); else wanted=("${all_apt[@]}"); fi
need_apt=()
for pkg in "${wanted[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if ((${#need_apt[@]})); then
    echo "==> installing Debian packages: ${need_apt[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ "$profile" = demo ]; then
    command -v cargo >/dev/null 2>&1 || { echo "error: cargo not found: install Rust (https://rustup.rs) and re-run" >&2; exit 1; }
    echo "==> set-up for the demo complete"
    exit 0
fi

# pip into the python3 the scripts run: as root (CI) system-wide, otherwise
# into the user's site-packages (no sudo, so it is the same interpreter).
pip_flags=(-q --disable-pip-version-check)
[ "$(id -u)" -eq 0 ] || pip_flags+=(--user)
# Debian's system python refuses pip installs into it (PEP 668) unless told.
if python3 -m pip install --help 2>/dev/null | grep -q -- --break-system-packages; then
    pip_flags+=(--break-system-packages)
fi

have_ziglang() {
    [ "$(python3 -c 'import importlib.metadata as m; print(m.version("ziglang"))' 2>/dev/null)" = "$ZIGLANG_VERSION" ]
}
if ! have_ziglang; then
    echo "==> installing ziglang==$ZIGLANG_VERSION (PyPI; macOS libc headers)"
    python3 -m pip install "${pip_flags[@]}" "ziglang==$ZIGLANG_VERSION"
    have_ziglang || { echo "error: ziglang $ZIGLANG_VERSION is not importable by python3" >&2; exit 1; }
fi

if [ "$(python3 -c 'import importlib.metadata as m; print(m.version("selenium"))' 2>/dev/null)" != "$SELENIUM_VERSION" ]; then
    echo "==> installing selenium==$SELENIUM_VERSION (PyPI; the app's end-to-end test)"
    python3 -m pip install "${pip_flags[@]}" "selenium==$SELENIUM_VERSION"
fi

if ! command -v cargo >/dev/null 2>&1; then
    echo "error: cargo not found: install Rust (https://rustup.rs) and re-run" >&2
    exit 1
fi

source "$(dirname "$0")/tools-env.sh"
# (tauri-driver has no --version: ask cargo what it installed there.)
if ! cargo install --list --root "$GECKO_TOOLS" 2>/dev/null | grep -qx "tauri-driver v$TAURI_DRIVER_VERSION:" ||
   [ ! -x "$GECKO_TOOLS/bin/tauri-driver" ]; then
    echo "==> installing tauri-driver $TAURI_DRIVER_VERSION (crates.io) into $GECKO_TOOLS"
    cargo install -q --locked tauri-driver --version "$TAURI_DRIVER_VERSION" --root "$GECKO_TOOLS"
fi
echo "==> set-up complete"
