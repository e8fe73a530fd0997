//! The simulated coreaudiod binary dlopens the driver, which imports the
//! CoreFoundation functions gecko-simhost implements: they must be in the
//! executable's dynamic symbol table (see gecko_simhost's crate docs).
fn main() {
    println!("cargo:rustc-link-arg-bins=-rdynamic");
    println!("cargo:rerun-if-changed=build.rs");
}
