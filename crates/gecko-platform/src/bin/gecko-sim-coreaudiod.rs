//! The simulated coreaudiod and its launchd (see `gecko_platform::sim`):
//! `gecko-sim-coreaudiod launchd|coreaudiod --root DIR --shm NAME [--ignore-term]`.
fn main() {
    std::process::exit(gecko_platform::sim::main_from_args(std::env::args_os().skip(1).collect()));
}
