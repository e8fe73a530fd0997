#!/usr/bin/env bash
# Builds target/pkg/Gecko-<version>.pkg (docs/INSTALL.md, crates/gecko-pkg):
# the macOS driver (scripts/build-macos-driver.sh, unless --driver is given)
# into /Library/Audio/Plug-Ins/HAL, Gecko.app into /Applications when --app is
# given, installer/gecko-driver.sh as preinstall/postinstall; signed when asked.
#
#   scripts/build-pkg.sh                                  # unsigned, driver built ad hoc
#   scripts/build-pkg.sh --sign developer-id --p12 DevIDInstaller.p12   # password in $P12_PASSWORD
#   scripts/build-pkg.sh --sign developer-id --pem-env INSTALLER_PEM    # CERTIFICATE + PRIVATE KEY PEM
#   scripts/build-pkg.sh --driver DIR/GeckoAudioDevice.driver --app DIR/Gecko.app --out DIR
#   ... --timestamp-url http://timestamp.apple.com/ts01   # secure time-stamp (needs the network)
# Other options are passed to gecko-pkg (`cargo run -p gecko-pkg -- --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
driver=""
out=target/pkg
args=()
while (($#)); do
    case $1 in
        --driver) driver=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        *) args+=("$1"); shift ;;
    esac
done
if [ -z "$driver" ]; then
    # The driver in the pkg is signed with the same kind of identity when one is
    # given through the environment (see docs/macos-build.md); ad hoc otherwise.
    bash scripts/build-macos-driver.sh --out "$out/driver"
    driver=$out/driver/GeckoAudioDevice.driver
fi
cargo run -q --release -p gecko-pkg -- --driver "$driver" --out "$out" "${args[@]}"
