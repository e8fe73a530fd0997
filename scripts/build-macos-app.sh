#!/usr/bin/env bash
# Builds Gecko.app, the whole product a user runs, for macOS:
#   Gecko.app/Contents/MacOS/gecko-app     the tray app (Tauri v2), universal arm64 + x86_64
#   Gecko.app/Contents/MacOS/gecko         the CLI and engine, universal (the LaunchAgent runs it)
#   Gecko.app/Contents/Resources/icon.icns, Contents/PlugIns/GeckoAudioDevice.driver (what "Install driver" installs)
#   Gecko.app/Contents/Info.plist          LSUIElement (menu bar only), macOS 12+
# signed ad hoc (default) or with a Developer ID Application certificate and
# the hardened runtime (the same options as scripts/build-macos-driver.sh).
#
# Usage: scripts/build-macos-app.sh [--out DIR] [--debug] [--targets "T1 T2"]
#          [--sign adhoc|developer-id|none] [--p12 F --p12-password-env V | --pem-file F | --pem-env V]
#          [--timestamp-url URL|none]
#
# On Linux (the project's machines): scripts/build-macos-rust.sh cross-builds
# and links both executables against the checked stubs, scripts/build-macos-driver.sh
# builds the driver, `gecko-macos-bundle app` puts the bundle together and
# `gecko-macos-bundle sign` signs it (apple-codesign). docs/macos-build.md.
# On a Mac: `cargo tauri build` with Xcode (see the Darwin branch below).
# Next: bash scripts/build-pkg.sh --app DIR/Gecko.app (build-pkg.sh runs this
# script itself when no --app is given).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
OUT="$ROOT/target/macos-app"
rust_args=()
sign_args=()
SIGN=adhoc
while (($#)); do
    case "$1" in
        --out) OUT="$2"; shift 2 ;;
        --debug) rust_args+=(--debug); shift ;;
        --targets) rust_args+=(--targets "$2"); shift 2 ;;
        --sign) SIGN="$2"; shift 2 ;;
        --p12|--p12-password-env|--pem-file|--pem-env|--timestamp-url) sign_args+=("$1" "$2"); shift 2 ;;
        -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
        *) echo "error: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
case "$SIGN" in adhoc|developer-id|none) ;; *) echo "error: --sign must be adhoc, developer-id or none" >&2; exit 2 ;; esac
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"

# On a Mac: Xcode's toolchain and `cargo tauri build` (universal), then the
# same layout: gecko and the driver added, the whole app re-signed.
darwin_build() {
    command -v cargo-tauri >/dev/null || cargo install --locked tauri-cli --version '^2'
    bash scripts/build-macos-driver.sh --out "$OUT/driver"
    for t in aarch64-apple-darwin x86_64-apple-darwin; do
        cargo build --release -p gecko-cli --target "$t"
    done
    lipo -create -output "$OUT/gecko" target/aarch64-apple-darwin/release/gecko target/x86_64-apple-darwin/release/gecko
    (cd app/src-tauri && cargo tauri build --target universal-apple-darwin --bundles app)
    local app=target/universal-apple-darwin/release/bundle/macos/Gecko.app
    rm -rf "$OUT/Gecko.app"
    cp -R "$app" "$OUT/Gecko.app"
    cp "$OUT/gecko" "$OUT/Gecko.app/Contents/MacOS/gecko"
    mkdir -p "$OUT/Gecko.app/Contents/PlugIns"
    cp -R "$OUT/driver/GeckoAudioDevice.driver" "$OUT/Gecko.app/Contents/PlugIns/"
    codesign --force --deep --options runtime --sign "${APPLE_SIGNING_IDENTITY:--}" "$OUT/Gecko.app"
    codesign --verify --deep --strict "$OUT/Gecko.app"
    echo "built $OUT/Gecko.app — next: bash scripts/build-pkg.sh --app $OUT/Gecko.app"
}

if [ "$(uname -s)" = Darwin ]; then
    darwin_build
    exit 0
fi

if [ -z "${GECKO_MACOS_BUNDLE_TOOL:-}" ]; then
    # One Linux build of the bundle tool for every step below.
    cargo build -q --locked -p gecko-macos-bundle
    GECKO_MACOS_BUNDLE_TOOL="$(cargo metadata -q --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug/gecko-macos-bundle"
fi
export GECKO_MACOS_BUNDLE_TOOL
tool() { "$GECKO_MACOS_BUNDLE_TOOL" "$@"; }
start=$SECONDS
bash scripts/build-macos-rust.sh --app --out "$OUT/bin" "${rust_args[@]}"
driver_sign=(--sign "$SIGN" "${sign_args[@]}")
bash scripts/build-macos-driver.sh --out "$OUT/driver" "${driver_sign[@]}"
APP="$OUT/Gecko.app"
tool app --out "$APP" --app-exe "$OUT/bin/gecko-app" --gecko-exe "$OUT/bin/gecko" \
    --driver "$OUT/driver/GeckoAudioDevice.driver" \
    --icon app/src-tauri/icons/32x32.png --icon app/src-tauri/icons/128x128.png --icon app/src-tauri/icons/icon.png \
    --info-template app/src-tauri/Info.plist
if [ "$SIGN" != none ]; then
    tool sign "$APP" "${sign_args[@]}"
    tool verify "$APP"
fi
echo "==> built $APP in $((SECONDS - start)) s (signed: $SIGN) — next: bash scripts/build-pkg.sh --app $APP"
