#!/usr/bin/env bash
# Builds target/pkg/Gecko-<version>.pkg, the whole product (docs/INSTALL.md,
# crates/gecko-pkg), on Linux or a Mac:
#   GeckoApp.pkg    Gecko.app -> /Applications (the tray app and the universal
#                   `gecko` engine; scripts/build-macos-app.sh cross-builds it)
#   GeckoAgent.pkg  com.gecko.engine.plist -> /Library/LaunchAgents (the engine,
#                   run by launchd for the logged-in user)
#   GeckoDriver.pkg GeckoAudioDevice.driver -> /Library/Audio/Plug-Ins/HAL, with
#                   installer/gecko-driver.sh as preinstall/postinstall (last: it
#                   loads the LaunchAgent and restarts coreaudiod)
# signed when asked.
#
#   scripts/build-pkg.sh                                  # unsigned pkg, app and driver signed ad hoc
#   scripts/build-pkg.sh --sign developer-id --p12 DevIDInstaller.p12   # password in $P12_PASSWORD
#   scripts/build-pkg.sh --sign developer-id --pem-env INSTALLER_PEM    # CERTIFICATE + PRIVATE KEY PEM
#   scripts/build-pkg.sh --app DIR/Gecko.app --driver DIR/GeckoAudioDevice.driver --out DIR
#   scripts/build-pkg.sh --driver-only                    # the driver alone (no engine: for tests)
#   scripts/build-pkg.sh --debug                          # debug executables (faster to build)
#   ... --timestamp-url http://timestamp.apple.com/ts01   # secure time-stamp (needs the network)
# Other options are passed to gecko-pkg (`cargo run -p gecko-pkg -- --help`).
# A cold universal release build takes long (the Tauri app twice, for arm64 and
# x86_64, with the standard library); later builds reuse the target directory.
set -euo pipefail
cd "$(dirname "$0")/.."
driver=""
app=""
out=target/pkg
driver_only=0
app_args=()
args=()
while (($#)); do
    case $1 in
        --driver) driver=$2; shift 2 ;;
        --app) app=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --driver-only) driver_only=1; shift ;;
        --debug) app_args+=(--debug); shift ;;
        --targets) app_args+=(--targets "$2"); shift 2 ;;
        *) args+=("$1"); shift ;;
    esac
done
start=$SECONDS
if ((driver_only)); then
    if [ -z "$driver" ]; then
        bash scripts/build-macos-driver.sh --out "$out/driver"
        driver=$out/driver/GeckoAudioDevice.driver
    fi
else
    if [ -z "$app" ]; then
        bash scripts/build-macos-app.sh --out "$out/app" "${app_args[@]}"
        app=$out/app/Gecko.app
    fi
    # The driver in the pkg is the one inside the app (what "Install driver" installs too).
    [ -n "$driver" ] || driver=$app/Contents/PlugIns/GeckoAudioDevice.driver
    args+=(--app "$app")
fi
cargo run -q --locked --release -p gecko-pkg -- --driver "$driver" --out "$out" "${args[@]}"
echo "==> pkg built in $((SECONDS - start)) s"
