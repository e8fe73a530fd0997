#!/usr/bin/env bash
# The tray app's end-to-end test: the real gecko-app under Xvfb, driven by
# tauri-driver + WebKitWebDriver while a recording plays through the driver,
# shared memory and the engine (app/e2e/test_app.py). Screenshots (PNG) go
# to $GECKO_E2E_OUT (default: <target dir>/e2e).
# Needs what scripts/setup.sh installs (webkit2gtk-driver, xvfb, dbus,
# tauri-driver, selenium).
set -euo pipefail
cd "$(dirname "$0")/../.."
TARGET="${CARGO_TARGET_DIR:-$PWD/target}"
OUT="${GECKO_E2E_OUT:-$TARGET/e2e}"
source scripts/tools-env.sh
echo "==> building gecko and gecko-app (debug)"
# As `cargo test --workspace` builds them (same features: nothing is rebuilt after it).
cargo test -q --workspace --no-run
rm -rf "$OUT"
mkdir -p "$OUT"
# WebKitGTK under Xvfb: no GPU compositing; a private session bus for its accessibility/portal calls.
export WEBKIT_DISABLE_COMPOSITING_MODE=1
# The session bus's desktop-portal and accessibility services complain about
# the bare X server; their lines go to a log, the rest to stderr.
noise='xdg-desktop-portal|dbus-daemon|Gtk-WARNING|SpiRegistry|No skeleton to export|^$'
dbus-run-session -- xvfb-run -a -s "-screen 0 1280x960x24" python3 app/e2e/test_app.py "$TARGET" "$OUT" \
    2> >(tee "$OUT/session.log" | grep -E -v "$noise" >&2)
