//! Builds the C driver (driver/src/*.c) for the host into a real bundle:
//! `$OUT_DIR/GeckoAudioDevice.driver/Contents/{Info.plist, MacOS/GeckoAudioDevice, Resources/}`.
//!
//! The executable is an ELF shared object. Its CoreFoundation symbols stay
//! undefined on purpose: the simulated host exports them from its executable
//! and the dynamic loader binds them when the driver is loaded (so no
//! `-Wl,--no-undefined`). `GECKO_CHANNELS` (env, default 2) sets the stream's
//! channel count. A second bundle with `WIDE_CHANNELS` (8) channels is built
//! in `$OUT_DIR/wide/` for tests of a multichannel build.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let driver = manifest.join("../../driver").canonicalize().expect("driver/ directory");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));

    println!("cargo:rerun-if-env-changed=GECKO_CHANNELS");
    // The paths below are absolute: in a target directory shared by two
    // checkouts, cargo would keep the bundle built from the other one while
    // its files stay unchanged. scripts/test.sh exports the checkout's path,
    // so changing checkouts re-runs this script.
    println!("cargo:rerun-if-env-changed=GECKO_CHECKOUT");
    let channels: u32 = match env::var("GECKO_CHANNELS") {
        Ok(v) => v
            .trim()
            .parse()
            .ok()
            .filter(|c| (1..=64).contains(c))
            .unwrap_or_else(|| panic!("GECKO_CHANNELS must be an integer in 1..=64, got {v:?}")),
        Err(_) => 2,
    };

    let mut sources = Vec::new();
    for dir in ["src", "include"] {
        println!("cargo:rerun-if-changed={}", driver.join(dir).display());
        for entry in fs::read_dir(driver.join(dir)).expect("read driver dir") {
            let path = entry.expect("dir entry").path();
            println!("cargo:rerun-if-changed={}", path.display());
            if dir == "src" && path.extension().is_some_and(|e| e == "c") {
                sources.push(path);
            }
        }
    }
    sources.sort();
    let plist = driver.join("Info.plist");
    println!("cargo:rerun-if-changed={}", plist.display());

    println!("cargo:rustc-env=GECKO_DRIVER_CHANNELS={channels}");
    println!("cargo:rustc-env=GECKO_DRIVER_WIDE_CHANNELS={WIDE_CHANNELS}");
    println!("cargo:rustc-env=GECKO_DRIVER_DIR={}", driver.display());
    let target_os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if target_os == "macos" {
        // A macOS build of gecko uses this crate's constants only: the real
        // driver is built by scripts/build-macos-driver.sh, and nothing on
        // macOS loads an ELF bundle (lib.rs compiles no bundle paths there).
        return;
    }
    let (bundle, exe) = make_bundle(&out, &driver, &sources, &plist, channels, &target_os);
    let (wide, _) = make_bundle(&out.join("wide"), &driver, &sources, &plist, WIDE_CHANNELS, &target_os);
    if target_os != "linux" {
        println!(
            "cargo:warning=gecko-driver-bundle builds the driver for Linux hosts only (target os {target_os}); \
             the bundle has no executable"
        );
    }

    println!("cargo:rustc-env=GECKO_DRIVER_BUNDLE_PATH={}", bundle.display());
    println!("cargo:rustc-env=GECKO_DRIVER_EXECUTABLE_PATH={}", exe.display());
    println!("cargo:rustc-env=GECKO_DRIVER_WIDE_BUNDLE_PATH={}", wide.display());
    // The smoke tests provide the CF functions from the test executable itself.
    println!("cargo:rustc-link-arg-tests=-rdynamic");
}

/// Channel count of the second ("wide") bundle.
const WIDE_CHANNELS: u32 = 8;

/// Creates `dir/GeckoAudioDevice.driver` with `channels` channels; returns (bundle, executable).
fn make_bundle(
    dir: &Path,
    driver: &Path,
    sources: &[PathBuf],
    plist: &Path,
    channels: u32,
    target_os: &str,
) -> (PathBuf, PathBuf) {
    let bundle = dir.join("GeckoAudioDevice.driver");
    let contents = bundle.join("Contents");
    let exe = contents.join("MacOS/GeckoAudioDevice");
    if bundle.exists() {
        fs::remove_dir_all(&bundle).expect("remove old bundle");
    }
    fs::create_dir_all(contents.join("MacOS")).expect("create Contents/MacOS");
    fs::create_dir_all(contents.join("Resources")).expect("create Contents/Resources");
    fs::copy(plist, contents.join("Info.plist")).expect("copy Info.plist");
    if target_os == "linux" {
        compile(driver, sources, channels, &exe);
    }
    (bundle, exe)
}

fn compile(driver: &Path, sources: &[PathBuf], channels: u32, exe: &Path) {
    let compiler = cc::Build::new().cargo_metadata(false).get_compiler();
    let mut cmd: Command = compiler.to_command();
    cmd.args([
        "-shared",
        "-fPIC",
        "-std=c11",
        "-O2",
        "-g",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-pthread",
        "-fvisibility=hidden",
        "-Wl,-soname,GeckoAudioDevice",
    ]);
    cmd.arg("-I").arg(driver.join("include"));
    cmd.arg(format!("-DGECKO_CHANNELS={channels}"));
    cmd.args(sources);
    cmd.arg("-lm"); // powf (volume curve); part of libSystem on macOS
    cmd.arg("-o").arg(exe);
    let status = cmd.status().unwrap_or_else(|e| panic!("cannot run the C compiler {cmd:?}: {e}"));
    assert!(status.success(), "building the driver failed: {cmd:?}");
}
