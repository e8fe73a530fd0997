#!/usr/bin/env bash
# Cross-builds the Rust executables for macOS on Linux and merges them into
# universal (arm64 + x86_64) Mach-O files:
#   OUT/gecko        the CLI and engine (crates/gecko-cli)
#   OUT/gecko-app    the tray app (app/src-tauri), with --app
#   OUT/sdk/         the link stubs they were linked against
#
# Usage: scripts/build-macos-rust.sh [--out DIR] [--app] [--debug] [--targets "T1 T2"] [--min-macos 12.0]
#
# How (docs/macos-build.md, "Rust executables"):
#   - Debian's rustc-web + rust-web-src build the standard library for the
#     Apple targets (-Zbuild-std, RUSTC_BOOTSTRAP=1), as scripts/check-macos.sh;
#   - C code in build scripts: clang-19 with zig's macOS libc headers;
#   - the link: ld64.lld-19 with -syslibroot pointing at a stub SDK written by
#     `gecko-macos-bundle stubs` (scripts/macos/stubs.toml): libSystem is the
#     macOS SDK's own libSystem.tbd (zig's copy); every framework's stub lists
#     what the crates binding it declare. Two-level namespace, chained fixups,
#     no -undefined dynamic_lookup: a symbol no stub exports fails the link;
#   - llvm-lipo-19 merges the slices; `gecko-macos-bundle check-macho` then
#     checks every import of every slice against the stub of its dylib.
# Without the `macho-signatures` feature (apple-codesign's C dependencies need
# Apple's SDK headers): `gecko install` on a Mac verifies the driver's
# signature with Apple's codesign instead (docs/macos-build.md).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

OUT="$ROOT/target/macos"
APP=0
PROFILE=release
MIN_MACOS=12.0
TARGETS=(aarch64-apple-darwin x86_64-apple-darwin)
while (($#)); do
    case "$1" in
        --out) OUT="$2"; shift 2 ;;
        --app) APP=1; shift ;;
        --debug) PROFILE=debug; shift ;;
        --targets) read -r -a TARGETS <<<"$2"; shift 2 ;;
        --min-macos) MIN_MACOS="$2"; shift 2 ;;
        -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
        *) echo "error: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"

missing() {
    echo "error: $1; install the macOS cross toolchain with: bash scripts/setup.sh" >&2
    exit 1
}
for t in /usr/bin/cargo /usr/bin/rustc; do
    [ -x "$t" ] || missing "$t not found (Debian packages rustc-web cargo-web)"
done
for t in clang-19 ld64.lld-19 llvm-lipo-19 llvm-ar-19 python3; do
    command -v "$t" >/dev/null || missing "$t not found"
done
ZIG_LIB="$(python3 -c 'import os, ziglang; print(os.path.join(os.path.dirname(ziglang.__file__), "lib"))' 2>/dev/null)" ||
    missing "the ziglang Python package (macOS libc headers and libSystem.tbd) is not importable by python3"
MACOS_INC="$ZIG_LIB/libc/include/any-macos-any"
[ -f "$ZIG_LIB/libc/darwin/libSystem.tbd" ] || missing "no libSystem.tbd in $ZIG_LIB/libc/darwin"

# The bundle tool (a Linux program): prebuilt when the caller passes one.
if [ -n "${GECKO_MACOS_BUNDLE_TOOL:-}" ]; then
    tool() { "$GECKO_MACOS_BUNDLE_TOOL" "$@"; }
else
    tool() { cargo run -q --locked -p gecko-macos-bundle --bin gecko-macos-bundle -- "$@"; }
fi

SDK="$OUT/sdk"
echo "==> link stubs (scripts/macos/stubs.toml) -> $SDK"
tool stubs --config scripts/macos/stubs.toml --manifest-path "$ROOT/Cargo.toml" --zig-lib "$ZIG_LIB" --out "$SDK"

# From here on: Debian's toolchain, never rustup's (scripts/macos/rust-env.sh,
# shared with scripts/check-macos.sh).
# shellcheck source=macos/rust-env.sh
. "$ROOT/scripts/macos/rust-env.sh"
gecko_macos_rust_env "$MIN_MACOS" "$MACOS_INC" "${TARGETS[@]}"
export MACOSX_DEPLOYMENT_TARGET="$MIN_MACOS"
# rustc asks xcrun for the SDK unless SDKROOT names one: the stub SDK.
export SDKROOT="$SDK"
WRAPPERS="$CARGO_TARGET_DIR/apple-cc"
for target in "${TARGETS[@]}"; do
    # The linker: rustc passes ld64-style arguments to a program named *-ld.
    # -syslibroot: -lSystem, -framework CoreAudio, ... resolve to the stubs only.
    ld="$WRAPPERS/$target-ld"
    # -rdynamic (rustc's ld flavour adds it) is a GNU ld flag ld64 does not take:
    # an executable's exports are not what anything here looks up.
    printf '#!/bin/bash\nargs=()\nfor a in "$@"; do [ "$a" = -rdynamic ] || args+=("$a"); done\nexec ld64.lld-19 -syslibroot %q -fixup_chains "${args[@]}"\n' "$SDK" >"$ld.tmp"
    chmod +x "$ld.tmp"; mv "$ld.tmp" "$ld"
    VAR="$(echo "${target//-/_}" | tr '[:lower:]' '[:upper:]')"
    export "CARGO_TARGET_${VAR}_LINKER=$ld"
done

profile_args=()
[ "$PROFILE" = release ] && profile_args=(--release)
build() { # package, features
    local pkg="$1"; shift
    for target in "${TARGETS[@]}"; do
        local start=$SECONDS
        echo "==> cargo build $pkg --target $target ($PROFILE)"
        /usr/bin/cargo build --locked "${profile_args[@]}" --target "$target" -Zbuild-std -p "$pkg" \
            --no-default-features "$@"
        echo "==> $pkg for $target in $((SECONDS - start)) s"
    done
}
merge() { # binary name in target dir, output name
    local slices=()
    for target in "${TARGETS[@]}"; do slices+=("$CARGO_TARGET_DIR/$target/$PROFILE/$1"); done
    llvm-lipo-19 -create -output "$OUT/$2" "${slices[@]}"
}

build gecko-cli
merge gecko gecko
bins=("$OUT/gecko")
if ((APP)); then
    build gecko-app --features custom-protocol
    merge gecko-app gecko-app
    bins+=("$OUT/gecko-app")
fi
echo "==> import check against the stubs"
tool check-macho --sdk "$SDK" --min-macos "$MIN_MACOS" "${bins[@]}"
echo "==> built ${bins[*]} (${TARGETS[*]})"
