//! The flow test binary doubles as the simulated coreaudiod (it re-executes
//! itself), which dlopens the driver: the CoreFoundation functions of
//! gecko-simhost must be in its dynamic symbol table.
fn main() {
    println!("cargo:rustc-link-arg-tests=-rdynamic");
    println!("cargo:rerun-if-changed=build.rs");
}
