//! The engine's integration tests load the real driver through the
//! simulated host, whose CoreFoundation functions must be exported from the
//! test executable (see gecko_simhost's crate docs).
fn main() {
    println!("cargo:rustc-link-arg-tests=-rdynamic");
    println!("cargo:rerun-if-changed=build.rs");
}
