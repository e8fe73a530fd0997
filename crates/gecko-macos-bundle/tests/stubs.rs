//! The link stubs of the Rust executables (`gecko-macos-bundle stubs`) and the
//! import check of linked Mach-O files (`check-macho`):
//! - what the source scan takes from a crate (blocks with and without
//!   `#[link]`, `cfg`/`cfg_attr` for an Apple target and the enabled features,
//!   `link_name`, extern blocks nested in functions, objc2's `extern_c!`);
//! - the check on real executables linked here with clang-19 and ld64.lld-19
//!   against a stub SDK: a clean two-level link passes; a symbol bound flat
//!   (`-undefined dynamic_lookup`), a flat-namespace link, an import the stub
//!   does not list, a library outside the stubs and a wrong minimum macOS each
//!   fail, naming the problem.
//!
//! If the cross toolchain is missing the tests FAIL (never skip).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use gecko_macos_bundle::stubs::{self, StubKind};

const SETUP_HINT: &str = "install the macOS cross toolchain with `bash scripts/setup.sh`";

fn features(f: &[&str]) -> BTreeSet<String> {
    f.iter().map(|s| s.to_string()).collect()
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn the_source_scan_takes_what_an_apple_build_declares() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("lib.rs"),
        r#"
        #[link(name = "Widget", kind = "framework")]
        extern "C" {}
        extern "C-unwind" {
            pub fn WidgetOpen();
            #[cfg(feature = "extra")]
            pub fn WidgetExtra();
            #[cfg(target_os = "ios")]
            pub fn WidgetPhoneOnly();
            #[cfg(all(target_vendor = "apple", not(target_arch = "aarch64")))]
            pub fn WidgetIntelOnly();
            pub static kWidgetName: *const u8;
            #[link_name = "WidgetRenamed$V2"]
            pub fn widget_renamed();
        }
        #[cfg_attr(target_vendor = "apple", link(name = "Other", kind = "framework"))]
        #[cfg_attr(not(target_vendor = "apple"), link(name = "gnustep"))]
        extern "C" {
            pub fn OtherThing();
        }
        #[cfg(feature = "gone")]
        mod gone {
            extern "C" { pub fn NotBuilt(); }
        }
        pub unsafe fn wrapper() {
            extern "C" { fn NestedDecl(); }
        }
        extern_c! {
            pub fn objc_like();
        }
        "#,
    );
    let arm = stubs::declared_in_sources(dir.path(), "aarch64", &features(&["extra"]), &["extern_c".into()]).unwrap();
    let unlinked: Vec<&str> = arm[""].iter().map(String::as_str).collect();
    assert_eq!(
        unlinked,
        ["_NestedDecl", "_WidgetExtra", "_WidgetOpen", "_WidgetRenamed$V2", "_kWidgetName", "_objc_like"]
    );
    assert_eq!(arm["Other"].iter().collect::<Vec<_>>(), ["_OtherThing"]);
    assert!(!arm.contains_key("gnustep"));

    let intel = stubs::declared_in_sources(dir.path(), "x86_64", &features(&[]), &[]).unwrap();
    let unlinked: Vec<&str> = intel[""].iter().map(String::as_str).collect();
    assert_eq!(unlinked, ["_NestedDecl", "_WidgetIntelOnly", "_WidgetOpen", "_WidgetRenamed$V2", "_kWidgetName"]);
}

#[test]
fn a_file_that_does_not_parse_is_an_error_not_a_gap() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("broken.rs"), "extern \"C\" { pub fn ok(); ");
    let e = stubs::declared_in_sources(dir.path(), "aarch64", &features(&[]), &[]).unwrap_err();
    assert!(format!("{e:#}").contains("broken.rs"), "{e:#}");
}

#[test]
fn the_project_stub_config_loads_and_names_every_library_once() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/macos/stubs.toml");
    let config = stubs::StubConfig::load(&path).unwrap();
    let names: Vec<&str> = config.library.iter().map(|l| l.name.as_str()).collect();
    for want in ["System", "objc", "CoreFoundation", "CoreAudio", "AudioToolbox", "AppKit", "WebKit"] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    let system = config.library.iter().find(|l| l.name == "System").unwrap();
    assert_eq!(system.sdk_tbd.as_deref(), Some("libc/darwin/libSystem.tbd"));
    for lib in &config.library {
        assert!(!lib.why.is_empty(), "{} has no reason", lib.name);
        if let Some(install) = &lib.install_name {
            match lib.kind {
                StubKind::Framework => assert!(
                    install.starts_with(&format!("/System/Library/Frameworks/{0}.framework/Versions/", lib.name))
                        && install.ends_with(&format!("/{}", lib.name)),
                    "{install}"
                ),
                StubKind::Dylib => assert!(install.starts_with(&format!("/usr/lib/lib{}.", lib.name)), "{install}"),
            }
        }
    }
}

// ---------------------------------------------------------------------------
// check-macho on executables linked here

fn require(tool: &str) {
    let ok = Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(ok, "{tool} is not installed: {SETUP_HINT}");
}

/// A stub SDK with libSystem exporting `exports` and a framework `Gadget`
/// exporting `_GadgetRun`.
fn stub_sdk(dir: &Path, exports: &[&str]) -> PathBuf {
    let sdk = dir.join("sdk");
    let mut per_target = stubs::TargetSymbols::new();
    per_target.insert("arm64-macos".into(), exports.iter().map(|s| s.to_string()).collect());
    let text = stubs::render_tbd("/usr/lib/libSystem.B.dylib", &per_target, "test");
    write(&stubs::stub_path(&sdk, StubKind::Dylib, "System"), &text);
    let mut gadget = stubs::TargetSymbols::new();
    gadget.insert("arm64-macos".into(), ["_GadgetRun".to_string()].into());
    write(
        &stubs::stub_path(&sdk, StubKind::Framework, "Gadget"),
        &stubs::render_tbd("/System/Library/Frameworks/Gadget.framework/Versions/A/Gadget", &gadget, "test"),
    );
    sdk
}

/// Compiles `main` calling getpid (and GadgetRun with `gadget`) for arm64
/// macOS and links it with ld64.lld-19 against `sdk` plus `extra` flags.
fn link(dir: &Path, sdk: &Path, name: &str, min: &str, gadget: bool, extra: &[&str]) -> Result<PathBuf, String> {
    require("clang-19");
    require("ld64.lld-19");
    let src = dir.join(format!("{name}.c"));
    let body = if gadget { "GadgetRun(); return getpid();" } else { "return getpid();" };
    write(&src, &format!("int getpid(void); void GadgetRun(void); int main(void) {{ {body} }}\n"));
    let obj = dir.join(format!("{name}.o"));
    let o = Command::new("clang-19")
        .args(["--target=arm64-apple-macos12", "-ffreestanding", "-c"])
        .arg(&src)
        .arg("-o")
        .arg(&obj)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let exe = dir.join(name);
    let mut cmd = Command::new("ld64.lld-19");
    cmd.args(["-arch", "arm64", "-platform_version", "macos", min, min, "-fixup_chains", "-syslibroot"])
        .arg(sdk)
        .arg("-o")
        .arg(&exe)
        .arg(&obj)
        .arg("-lSystem");
    if gadget {
        cmd.args(["-framework", "Gadget"]);
    }
    let o = cmd.args(extra).output().unwrap();
    if o.status.success() { Ok(exe) } else { Err(String::from_utf8_lossy(&o.stderr).into_owned()) }
}

fn check(exe: &Path, sdk: &Path, min: &str) -> Result<Vec<stubs::SliceReport>, String> {
    let stubs_read = stubs::read_stub_sdk(sdk).unwrap();
    stubs::check_macho(&std::fs::read(exe).unwrap(), &stubs_read, min).map_err(|e| format!("{e:#}"))
}

#[test]
fn a_clean_two_level_link_passes_and_reports_each_import_library() {
    let dir = tempfile::tempdir().unwrap();
    let sdk = stub_sdk(dir.path(), &["_getpid"]);
    let exe = link(dir.path(), &sdk, "clean", "12.0", true, &[]).unwrap();
    let reports = check(&exe, &sdk, "12.0").unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].arch, "arm64");
    assert_eq!(reports[0].min_macos, "12.0");
    assert_eq!(reports[0].imports["/usr/lib/libSystem.B.dylib"], 1);
    assert_eq!(reports[0].imports["/System/Library/Frameworks/Gadget.framework/Versions/A/Gadget"], 1);
    // The same check through llvm-nm, an independent reader: two-level binds.
    let nm = Command::new("llvm-nm-19").arg("-m").arg(&exe).output().unwrap();
    let nm = String::from_utf8_lossy(&nm.stdout);
    assert!(nm.contains("_getpid (from libSystem)") && nm.contains("_GadgetRun (from Gadget)"), "{nm}");
}

#[test]
fn a_symbol_missing_from_the_stubs_fails_the_link() {
    let dir = tempfile::tempdir().unwrap();
    let sdk = stub_sdk(dir.path(), &["_getppid"]);
    let e = link(dir.path(), &sdk, "missing", "12.0", false, &[]).unwrap_err();
    assert!(e.contains("undefined symbol: _getpid"), "{e}");
}

#[test]
fn dynamic_lookup_flat_namespace_and_stale_stubs_are_each_refused() {
    let dir = tempfile::tempdir().unwrap();
    let sdk = stub_sdk(dir.path(), &["_getppid"]);
    // -undefined dynamic_lookup: getpid is left for dyld to find anywhere.
    let exe = link(dir.path(), &sdk, "dynlookup", "12.0", false, &["-undefined", "dynamic_lookup"]).unwrap();
    let e = check(&exe, &sdk, "12.0").unwrap_err();
    assert!(e.contains("_getpid is looked up dynamically"), "{e}");

    // A flat-namespace link (no MH_TWOLEVEL).
    let good = stub_sdk(&dir.path().join("good"), &["_getpid"]);
    let exe = link(dir.path(), &good, "flat", "12.0", false, &["-flat_namespace"]).unwrap();
    let e = check(&exe, &good, "12.0").unwrap_err();
    assert!(e.contains("not linked two-level"), "{e}");

    // Linked against one stub set, checked against another that lacks the
    // import (a stub edited after the link) and lacks the framework.
    let exe = link(dir.path(), &good, "stale", "12.0", true, &[]).unwrap();
    let other = dir.path().join("other");
    let mut per_target = stubs::TargetSymbols::new();
    per_target.insert("arm64-macos".into(), ["_getppid".to_string()].into());
    write(
        &stubs::stub_path(&other, StubKind::Dylib, "System"),
        &stubs::render_tbd("/usr/lib/libSystem.B.dylib", &per_target, "test"),
    );
    let e = check(&exe, &other, "12.0").unwrap_err();
    assert!(e.contains("libSystem.B.dylib does not export _getpid"), "{e}");
    assert!(e.contains("loads /System/Library/Frameworks/Gadget.framework/Versions/A/Gadget, which no stub"), "{e}");

    // The minimum macOS recorded in LC_BUILD_VERSION is checked.
    let exe = link(dir.path(), &good, "old", "11.0", false, &[]).unwrap();
    let e = check(&exe, &good, "12.0").unwrap_err();
    assert!(e.contains("minimum macOS is \"11.0\", expected 12.0"), "{e}");
}
