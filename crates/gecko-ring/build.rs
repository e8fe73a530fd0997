//! Compiles `csrc/abi_layout.c` against the driver's ABI header so the tests
//! can compare every C size and offset with the Rust mirror.
fn main() {
    // Read at run time, not baked in with env!(): a build-script binary cached
    // in a shared target directory may have been compiled in another checkout.
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let include = format!("{dir}/../../driver/include");
    println!("cargo:rerun-if-changed=csrc/abi_layout.c");
    println!("cargo:rerun-if-changed={include}/gecko_shm_abi.h");
    // An absolute path into this checkout: re-run when another checkout
    // shares the target directory (scripts/test.sh exports GECKO_CHECKOUT).
    println!("cargo:rerun-if-env-changed=GECKO_CHECKOUT");
    cc::Build::new()
        .file("csrc/abi_layout.c")
        .include(include)
        .flag_if_supported("-std=c11")
        .warnings(true)
        .extra_warnings(true)
        .warnings_into_errors(true)
        .compile("gecko_abi_layout");
}
