#!/usr/bin/env bash
# Builds the real macOS GeckoAudioDevice.driver (an AudioServerPlugIn bundle):
#   Contents/Info.plist                       (driver/Info.plist + workspace version)
#   Contents/MacOS/GeckoAudioDevice           (universal Mach-O MH_BUNDLE: arm64 + x86_64)
#   Contents/Resources/
#   Contents/_CodeSignature/CodeResources     (after signing)
#
# Usage: scripts/build-macos-driver.sh [--out DIR] [--sign adhoc|developer-id|none]
#          [--p12 FILE --p12-password-env VAR | --pem-file FILE | --pem-env VAR]
#          [--timestamp-url URL|none] [--min-macos 12.0] [--channels N]
#
# On Linux (no Apple SDK; tools from scripts/setup.sh):
#   clang-19 --target=<arch>-apple-macos12 against zig's bundled macOS libc
#   headers (PyPI ziglang) and our driver/include/gecko_coreaudio_compat.h
#   (-DGECKO_USE_COMPAT_HEADERS=1); ld64.lld-19 -bundle against the .tbd stubs
#   in scripts/macos/ (two-level binds to libSystem and CoreFoundation);
#   llvm-lipo-19 -create; Info.plist and signing by gecko-macos-bundle
#   (crates/gecko-macos-bundle, the apple-codesign library).
# On a Mac (uname Darwin): xcrun clang with Apple's SDK headers and
#   -framework CoreFoundation, lipo; the same Info.plist and signing steps
#   (or `--signer codesign` for Apple's codesign with a keychain identity).
# See docs/macos-build.md.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DRIVER="$ROOT/driver"

OUT="$ROOT/target/macos"
SIGN=adhoc
SIGNER=gecko
CODESIGN_IDENTITY=""
MIN_MACOS=12.0
CHANNELS="${GECKO_CHANNELS:-2}"
sign_args=()
while (($#)); do
    case "$1" in
        --out) OUT="$2"; shift 2 ;;
        --sign) SIGN="$2"; shift 2 ;;
        --signer) SIGNER="$2"; shift 2 ;;
        --identity) CODESIGN_IDENTITY="$2"; shift 2 ;;
        --p12|--p12-password-env|--pem-file|--pem-env|--timestamp-url)
            sign_args+=("$1" "$2"); shift 2 ;;
        --min-macos) MIN_MACOS="$2"; shift 2 ;;
        --channels) CHANNELS="$2"; shift 2 ;;
        -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
        *) echo "error: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
case "$SIGN" in
    adhoc|none) ;;
    developer-id)
        if [ "$SIGNER" = gecko ] && ((${#sign_args[@]} == 0)); then
            echo "error: --sign developer-id needs --p12 FILE [--p12-password-env VAR], --pem-file FILE or --pem-env VAR" >&2
            exit 2
        fi ;;
    *) echo "error: --sign must be adhoc, developer-id or none" >&2; exit 2 ;;
esac
case "$SIGNER" in gecko|codesign) ;; *) echo "error: --signer must be gecko or codesign" >&2; exit 2 ;; esac

# The workspace version ([workspace.package] version in the root Cargo.toml).
VERSION="$(awk '/^\[workspace.package\]/{w=1;next} /^\[/{w=0} w&&/^version *=/{gsub(/.*= *"|".*/,"");print;exit}' "$ROOT/Cargo.toml")"
[ -n "$VERSION" ] || { echo "error: no [workspace.package] version in Cargo.toml" >&2; exit 1; }

# The bundle tool: a prebuilt binary (the test passes its own), else cargo run.
if [ -n "${GECKO_MACOS_BUNDLE_TOOL:-}" ]; then
    tool() { "$GECKO_MACOS_BUNDLE_TOOL" "$@"; }
else
    tool() { cargo run -q --locked --manifest-path "$ROOT/Cargo.toml" -p gecko-macos-bundle --bin gecko-macos-bundle -- "$@"; }
fi

missing_tool() {
    echo "error: $1 not found; install the macOS cross toolchain with: bash scripts/setup.sh" >&2
    exit 1
}

BUNDLE="$OUT/GeckoAudioDevice.driver"
WORK="$OUT/build"
rm -rf "$BUNDLE" "$WORK"
mkdir -p "$BUNDLE/Contents/MacOS" "$BUNDLE/Contents/Resources" "$WORK"
EXE="$BUNDLE/Contents/MacOS/GeckoAudioDevice"
SOURCES=("$DRIVER"/src/*.c)
CFLAGS=(-std=c11 -O2 -g -Wall -Wextra -Werror -fvisibility=hidden -fno-common
        -I"$DRIVER/include" -DGECKO_CHANNELS="$CHANNELS")
ARCHS=(arm64 x86_64)

if [ "$(uname -s)" = Darwin ]; then
    # ---- on a Mac: Apple's SDK and toolchain -------------------------------
    command -v xcrun >/dev/null || missing_tool "xcrun (install the Xcode command line tools: xcode-select --install)"
    SDK="$(xcrun --sdk macosx --show-sdk-path)"
    for arch in "${ARCHS[@]}"; do
        xcrun clang -arch "$arch" -isysroot "$SDK" -mmacosx-version-min="$MIN_MACOS" \
            "${CFLAGS[@]}" -bundle -framework CoreFoundation \
            "${SOURCES[@]}" -o "$WORK/GeckoAudioDevice.$arch"
    done
    xcrun lipo -create -output "$EXE" "${ARCHS[@]/#/$WORK/GeckoAudioDevice.}"
else
    # ---- on Linux: clang-19 + lld-19 + zig's macOS libc headers + .tbd stubs
    for t in clang-19 ld64.lld-19 llvm-lipo-19 python3; do
        command -v "$t" >/dev/null || missing_tool "$t"
    done
    ZIG_LIB="$(python3 -c 'import os, ziglang; print(os.path.join(os.path.dirname(ziglang.__file__), "lib"))' 2>/dev/null)" \
        || missing_tool "the ziglang Python package (macOS libc headers)"
    MACOS_INC="$ZIG_LIB/libc/include/any-macos-any"
    [ -f "$MACOS_INC/mach/mach_time.h" ] || missing_tool "$MACOS_INC/mach/mach_time.h (ziglang)"
    # The SDK version recorded in LC_BUILD_VERSION: that of zig's headers.
    SDK_VERSION="$(sed -n 's/.*"MinimalDisplayName" *: *"\([0-9.]*\)".*/\1/p' "$ZIG_LIB/libc/darwin/SDKSettings.json" 2>/dev/null)"
    SDK_VERSION="${SDK_VERSION:-$MIN_MACOS}"
    RESOURCE_DIR="$(clang-19 -print-resource-dir)"
    TBDS=("$ROOT/scripts/macos/libSystem.tbd" "$ROOT/scripts/macos/CoreFoundation.tbd")
    for arch in "${ARCHS[@]}"; do
        mkdir -p "$WORK/$arch"
        objs=()
        for src in "${SOURCES[@]}"; do
            obj="$WORK/$arch/$(basename "$src" .c).o"
            # -nostdinc: only clang's own headers (stdint, stdarg, ...) and the
            # macOS libc/mach headers, never the Linux host's /usr/include.
            clang-19 --target="$arch-apple-macos$MIN_MACOS" -nostdinc \
                -isystem "$RESOURCE_DIR/include" -isystem "$MACOS_INC" \
                -DGECKO_USE_COMPAT_HEADERS=1 "${CFLAGS[@]}" -c "$src" -o "$obj"
            objs+=("$obj")
        done
        # Every import must be in a stub (fails loudly, naming the new symbols).
        tool check-imports --arch "$arch" "${TBDS[@]/#/--tbd=}" "${objs[@]}"
        # -fixup_chains: LC_DYLD_CHAINED_FIXUPS, as Apple's ld uses for macOS 12+
        # (no dyld_stub_binder lazy binding). -S: no debug map (STABS naming our
        # build directory) in the shipped binary; the objects keep -g.
        ld64.lld-19 -arch "$arch" -bundle -platform_version macos "$MIN_MACOS" "$SDK_VERSION" \
            -fixup_chains -dead_strip -S -o "$WORK/GeckoAudioDevice.$arch" "${objs[@]}" "${TBDS[@]}"
    done
    llvm-lipo-19 -create -output "$EXE" "${ARCHS[@]/#/$WORK/GeckoAudioDevice.}"
fi

tool info-plist --template "$DRIVER/Info.plist" --out "$BUNDLE/Contents/Info.plist" \
    --version "$VERSION" --min-macos "$MIN_MACOS"

case "$SIGN" in
    none) echo "==> built $BUNDLE (unsigned)" ;;
    adhoc|developer-id)
        if [ "$SIGNER" = codesign ]; then
            # Apple's codesign (a Mac only): ad hoc is identity "-".
            id="-"; opts=()
            if [ "$SIGN" = developer-id ]; then
                [ -n "$CODESIGN_IDENTITY" ] || { echo "error: --signer codesign --sign developer-id needs --identity 'Developer ID Application: ...'" >&2; exit 2; }
                id="$CODESIGN_IDENTITY"; opts=(--options runtime --timestamp)
            fi
            codesign --force --sign "$id" "${opts[@]}" "$BUNDLE"
            codesign --verify --strict --verbose=2 "$BUNDLE"
        else
            tool sign "$BUNDLE" "${sign_args[@]}"
            tool verify "$BUNDLE"
        fi
        echo "==> built $BUNDLE (signed: $SIGN)" ;;
esac
