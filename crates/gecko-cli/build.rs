//! The `gecko` binary embeds the simulated host, which exports the
//! CoreFoundation functions the dlopened driver imports: they must be in the
//! executable's dynamic symbol table (see gecko_simhost's crate docs).
fn main() {
    println!("cargo:rustc-link-arg=-rdynamic");
    println!("cargo:rerun-if-changed=build.rs");
}
