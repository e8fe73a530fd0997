//! Checks, before anything is compiled, that the C driver declares the same
//! identity as this crate: every value in `src/values.rs` against its
//! `#define` in `driver/include/gecko_identity.h`, the bundle keys in
//! `driver/Info.plist`, and the driver-interface UUID bytes in
//! `driver/src/gecko_plugin.c`. A difference fails the build and names the
//! value, the file and both spellings.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

include!("src/values.rs");

fn main() {
    // Read at run time: a build-script binary cached in a shared target
    // directory may have been compiled in another checkout.
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let driver = manifest.join("../../driver");
    let header = driver.join("include/gecko_identity.h");
    let plist = driver.join("Info.plist");
    let plugin = driver.join("src/gecko_plugin.c");
    for p in [&header, &plist, &plugin] {
        println!("cargo:rerun-if-changed={}", p.display());
    }
    println!("cargo:rerun-if-changed=src/values.rs");
    println!("cargo:rerun-if-env-changed=GECKO_CHECKOUT");
    let mut problems = Vec::new();
    check_header(&read(&header), &header, &mut problems);
    check_plist(&read(&plist), &plist, &mut problems);
    check_interface_bytes(&read(&plugin), &plugin, &mut problems);
    if !problems.is_empty() {
        panic!(
            "the C driver and crates/gecko-identity disagree on Gecko's identity:\n  {}\n\
             change both together (driver/include/gecko_identity.h and crates/gecko-identity/src/values.rs)",
            problems.join("\n  ")
        );
    }
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

/// The text after `#define NAME ` on its line, trimmed.
fn define<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.lines().find_map(|l| {
        let rest = l.trim_start().strip_prefix("#define")?.trim_start().strip_prefix(name)?;
        rest.starts_with([' ', '\t']).then(|| rest.trim())
    })
}

/// A C numeric literal as f64: `(-64.0f)`, `16384u`, `48000.0`.
fn c_number(v: &str) -> Option<f64> {
    v.trim().trim_start_matches('(').trim_end_matches(')').trim_end_matches(['u', 'U', 'f', 'F', 'l', 'L']).parse().ok()
}

fn check_header(text: &str, path: &Path, problems: &mut Vec<String>) {
    let strings = [
        ("GECKO_MANUFACTURER", MANUFACTURER),
        ("GECKO_DEVICE_NAME", DEVICE_NAME),
        ("GECKO_DEVICE_UID", DEVICE_UID),
        ("GECKO_DEVICE_MODEL_UID", MODEL_UID),
        ("GECKO_BUNDLE_ID", BUNDLE_ID),
        ("GECKO_EXECUTABLE_NAME", EXECUTABLE_NAME),
        ("GECKO_FACTORY_UUID", FACTORY_UUID),
        ("GECKO_FACTORY_FUNCTION", FACTORY_FUNCTION),
    ];
    for (name, want) in strings {
        match define(text, name) {
            Some(v) if v == format!("\"{want}\"") => {}
            Some(v) => problems.push(format!("{name} is {v} in {}, \"{want}\" in Rust", path.display())),
            None => problems.push(format!("{name} is not defined in {}", path.display())),
        }
    }
    let numbers = [
        ("GECKO_DEFAULT_SAMPLE_RATE", DEFAULT_SAMPLE_RATE),
        ("GECKO_ZTS_PERIOD_FRAMES", ZERO_TIMESTAMP_PERIOD_FRAMES as f64),
        ("GECKO_VOLUME_MIN_DB", VOLUME_DB_RANGE.0),
        ("GECKO_VOLUME_MAX_DB", VOLUME_DB_RANGE.1),
    ];
    for (name, want) in numbers {
        match define(text, name).map(|v| (v, c_number(v))) {
            Some((_, Some(v))) if v == want => {}
            Some((v, _)) => problems.push(format!("{name} is {v} in {}, {want} in Rust", path.display())),
            None => problems.push(format!("{name} is not defined in {}", path.display())),
        }
    }
    let rates: Option<Vec<f64>> = define(text, "GECKO_SAMPLE_RATES_INIT")
        .and_then(|v| v.trim().strip_prefix('{')?.strip_suffix('}')?.split(',').map(c_number).collect());
    if rates.as_deref() != Some(&AVAILABLE_SAMPLE_RATES[..]) {
        problems.push(format!(
            "GECKO_SAMPLE_RATES_INIT is {:?} in {}, {AVAILABLE_SAMPLE_RATES:?} in Rust",
            define(text, "GECKO_SAMPLE_RATES_INIT"),
            path.display()
        ));
    }
}

/// The `<string>` that follows `<key>key</key>` (the first one after it).
fn plist_string_after<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let at = text.find(&format!("<key>{key}</key>"))?;
    let rest = &text[at..];
    let s = rest.find("<string>")? + "<string>".len();
    let e = rest[s..].find("</string>")? + s;
    Some(rest[s..e].trim())
}

fn check_plist(text: &str, path: &Path, problems: &mut Vec<String>) {
    let checks = [
        ("CFBundleIdentifier", BUNDLE_ID),
        ("CFBundleExecutable", EXECUTABLE_NAME),
        // CFPlugInFactories: factory UUID → function; CFPlugInTypes: type → [factory].
        (FACTORY_UUID, FACTORY_FUNCTION),
        (PLUGIN_TYPE_UUID, FACTORY_UUID),
    ];
    for (key, want) in checks {
        let got = plist_string_after(text, key);
        if got != Some(want) {
            problems.push(format!("{key} maps to {got:?} in {}, {want:?} in Rust", path.display()));
        }
    }
}

fn check_interface_bytes(text: &str, path: &Path, problems: &mut Vec<String>) {
    let bytes: Option<Vec<u8>> = text.find("kDriverInterfaceBytes[16] = {").and_then(|at| {
        let rest = &text[at..];
        let body = &rest[rest.find('{')? + 1..rest.find('}')?];
        body.split(',').map(|b| u8::from_str_radix(b.trim().trim_start_matches("0x"), 16).ok()).collect()
    });
    let want: Vec<u8> = DRIVER_INTERFACE_UUID
        .replace('-', "")
        .as_bytes()
        .chunks(2)
        .map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap_or("zz"), 16).unwrap_or(0))
        .collect();
    if bytes.as_deref() != Some(&want[..]) {
        problems.push(format!(
            "kDriverInterfaceBytes in {} is {bytes:02X?}, DRIVER_INTERFACE_UUID {DRIVER_INTERFACE_UUID} in Rust",
            path.display()
        ));
    }
}
