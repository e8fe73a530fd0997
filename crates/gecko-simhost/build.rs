//! Exports the CF functions of `gecko_simhost::cf` from every executable
//! this package builds (tests, examples, bins), so the dlopened driver
//! resolves its CoreFoundation imports to them.
fn main() {
    println!("cargo:rustc-link-arg=-rdynamic");
    println!("cargo:rerun-if-changed=build.rs");
}
