# Sourced by scripts/check-macos.sh and scripts/build-macos-rust.sh: the
# environment in which Debian's Rust builds for the Apple targets on Linux.
#
#   gecko_macos_rust_env MIN_MACOS MACOS_INC TARGET...
#
# - Debian's toolchain, never rustup's proxies: /usr/bin first on PATH,
#   RUSTC/RUSTDOC, no toolchain overrides or wrappers; RUSTC_BOOTSTRAP=1 for
#   -Zbuild-std (unstable);
# - CARGO_TARGET_DIR: $GECKO_MACOS_TARGET_DIR, else /var/cache/gecko-target-macos
#   (outside the clone, reused by every CI run), else $ROOT/target/macos-check;
# - for each target, the C compiler build scripts get (the cc crate reads
#   CC_<target>/AR_<target>): clang-19 for Mach-O at MIN_MACOS with only clang's
#   own headers and zig's macOS libc headers (MACOS_INC; -nostdinc keeps
#   Linux's /usr/include out), and llvm-ar-19. Not an SDK: a crate that needs
#   a framework header fails.
# Needs ROOT (the checkout). Exits 2 on an unknown target.
gecko_macos_rust_env() {
    local min_macos="$1" macos_inc="$2"
    shift 2
    export PATH="/usr/bin:/bin:$PATH"
    export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc
    unset RUSTUP_TOOLCHAIN RUSTC_WRAPPER RUSTC_WORKSPACE_WRAPPER CARGO_BUILD_RUSTC CARGO_BUILD_TARGET
    export RUSTC_BOOTSTRAP=1
    if [ -n "${GECKO_MACOS_TARGET_DIR:-}" ]; then
        export CARGO_TARGET_DIR="$GECKO_MACOS_TARGET_DIR"
    elif mkdir -p /var/cache/gecko-target-macos 2>/dev/null && [ -w /var/cache/gecko-target-macos ]; then
        export CARGO_TARGET_DIR=/var/cache/gecko-target-macos
    else
        export CARGO_TARGET_DIR="$ROOT/target/macos-check"
    fi
    mkdir -p "$CARGO_TARGET_DIR"
    local resource_dir wrappers target arch cc var
    resource_dir="$(clang-19 -print-resource-dir)"
    wrappers="$CARGO_TARGET_DIR/apple-cc"
    mkdir -p "$wrappers"
    for target in "$@"; do
        case "$target" in
            aarch64-apple-darwin) arch=arm64 ;;
            x86_64-apple-darwin) arch=x86_64 ;;
            *) echo "error: unknown target $target (aarch64-apple-darwin or x86_64-apple-darwin)" >&2; exit 2 ;;
        esac
        cc="$wrappers/$target-clang"
        printf '#!/bin/sh\nexec clang-19 --target=%s-apple-macos%s -nostdinc -isystem %q -isystem %q "$@"\n' \
            "$arch" "$min_macos" "$resource_dir/include" "$macos_inc" >"$cc.tmp"
        chmod +x "$cc.tmp"
        mv "$cc.tmp" "$cc"
        var="${target//-/_}"
        export "CC_$var=$cc" "AR_$var=$(command -v llvm-ar-19)"
    done
}
