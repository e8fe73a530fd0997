#!/usr/bin/env bash
# Builds Gecko.app (the Tauri tray app, app/) ON A MAC and hands it to the pkg
# builder. Tauri cannot cross-build a macOS app from Linux (it needs Apple's
# WebKit and AppKit frameworks and Xcode's toolchain), so this runs on macOS:
#
#   1. Xcode command line tools (xcode-select --install) and Rust with both
#      macOS targets: rustup target add aarch64-apple-darwin x86_64-apple-darwin
#   2. bash scripts/build-macos-app.sh            # universal Gecko.app, ad hoc signed
#      APPLE_SIGNING_IDENTITY="Developer ID Application: …" bash scripts/build-macos-app.sh
#   3. The result: target/macos-app/Gecko.app, with the `gecko` command in
#      Contents/MacOS (the app runs the engine through it) and the driver in
#      Contents/Resources/GeckoAudioDevice.driver (what "Install driver" installs).
#   4. The pkg: bash scripts/build-pkg.sh --app target/macos-app/Gecko.app [--sign …]
#      (that step also runs on Linux: copy Gecko.app over and build the pkg there).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(uname -s)" = Darwin ] || { echo "error: Gecko.app is built on macOS (see the comments in $0)" >&2; exit 1; }
out=target/macos-app
mkdir -p "$out"
command -v cargo-tauri >/dev/null || cargo install --locked tauri-cli --version '^2'
# The driver, universal and signed (the same script the pkg uses).
bash scripts/build-macos-driver.sh --out "$out/driver"
# The gecko command, universal.
for t in aarch64-apple-darwin x86_64-apple-darwin; do
    cargo build --release -p gecko-cli --target "$t"
done
lipo -create -output "$out/gecko" target/aarch64-apple-darwin/release/gecko target/x86_64-apple-darwin/release/gecko
# The app, universal; Info.plist (LSUIElement: menu bar only) is merged in.
(cd app/src-tauri && cargo tauri build --target universal-apple-darwin --bundles app)
app=target/universal-apple-darwin/release/bundle/macos/Gecko.app
rm -rf "$out/Gecko.app"
cp -R "$app" "$out/Gecko.app"
cp "$out/gecko" "$out/Gecko.app/Contents/MacOS/gecko"
cp -R "$out/driver/GeckoAudioDevice.driver" "$out/Gecko.app/Contents/Resources/"
# Re-sign the whole app after adding to it (ad hoc unless an identity is given).
codesign --force --deep --options runtime --sign "${APPLE_SIGNING_IDENTITY:--}" "$out/Gecko.app"
codesign --verify --deep --strict "$out/Gecko.app"
echo "built $out/Gecko.app — next: bash scripts/build-pkg.sh --app $out/Gecko.app"
