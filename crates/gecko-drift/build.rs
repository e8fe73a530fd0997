//! The simulation tests load the real driver, which resolves its
//! CoreFoundation imports to gecko-simhost's Rust implementations: those must
//! be exported from the test executables (see gecko-simhost's crate docs).
fn main() {
    println!("cargo:rustc-link-arg=-rdynamic");
    println!("cargo:rerun-if-changed=build.rs");
}
