//! The simulated coreaudiod and its launchd (`gecko_simhost::system`):
//! `gecko-sim-coreaudiod launchd|coreaudiod --root DIR --shm NAME [--ignore-term]`.
//! The simulation is not compiled on macOS, which has the real coreaudiod.

#[cfg(not(target_os = "macos"))]
fn main() {
    std::process::exit(gecko_simhost::system::main_from_args(std::env::args_os().skip(1).collect()));
}

#[cfg(target_os = "macos")]
fn main() {
    eprintln!("gecko-sim-coreaudiod is the Linux simulation's audio service; on macOS the real coreaudiod runs");
    std::process::exit(2);
}
