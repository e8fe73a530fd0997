//! Compiles `csrc/abi_layout.c` against the driver's ABI header so the tests
//! can compare every C size and offset with the Rust mirror.
fn main() {
    let include = concat!(env!("CARGO_MANIFEST_DIR"), "/../../driver/include");
    println!("cargo:rerun-if-changed=csrc/abi_layout.c");
    println!("cargo:rerun-if-changed={include}/gecko_shm_abi.h");
    cc::Build::new()
        .file("csrc/abi_layout.c")
        .include(include)
        .flag_if_supported("-std=c11")
        .warnings(true)
        .extra_warnings(true)
        .warnings_into_errors(true)
        .compile("gecko_abi_layout");
}
