#!/usr/bin/env bash
# Installs what Gecko needs on a fresh Debian 12 machine (idempotent).
#   - build tools and ALSA headers (cpal), pkg-config
#   - alsa-utils: real recordings under /usr/share/sounds/alsa (the demo's default input)
#   - sox, espeak-ng: make and measure more test audio
#   - valgrind: scripts/valgrind-conformance.sh (the driver's conformance suite under memcheck)
#   - a Rust toolchain if cargo is missing (rustup must be reachable)
set -euo pipefail

need_apt=()
for pkg in build-essential pkg-config libasound2-dev alsa-utils sox espeak-ng valgrind; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if ((${#need_apt[@]})); then
    echo "==> installing Debian packages: ${need_apt[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
    echo "error: cargo not found: install Rust (https://rustup.rs) and re-run" >&2
    exit 1
fi
echo "==> set-up complete"
