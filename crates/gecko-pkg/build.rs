//! The readback test binary doubles as the simulated coreaudiod (it
//! re-executes itself), which dlopens the driver: export the CF functions.
fn main() {
    println!("cargo:rustc-link-arg-tests=-rdynamic");
    println!("cargo:rerun-if-changed=build.rs");
}
