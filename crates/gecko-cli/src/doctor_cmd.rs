//! `gecko doctor`: checks Gecko Sink from the driver bundle to the audio in
//! the ring, one line each, and says what to do about every problem
//! (gecko_install::doctor has the checks).

use crate::install_cmd::{RootArgs, platform};
use anyhow::Result;
use clap::Args;
use gecko_install::doctor::{self, DoctorOptions};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub root: RootArgs,
    /// Print the checks as a JSON array of {"check", "ok", "detail", "fix"} (ok: true, false, or null when not run).
    #[arg(long)]
    pub json: bool,
    /// The engine's control socket (default: $XDG_RUNTIME_DIR/gecko/engine.sock,
    /// or /tmp/gecko-UID/engine.sock when XDG_RUNTIME_DIR is unset).
    #[arg(long, value_name = "PATH", env = "GECKO_CONTROL_SOCKET")]
    pub control_socket: Option<PathBuf>,
}

/// Runs the checks and prints them; exits 1 when one that ran failed.
pub fn run(a: DoctorArgs) -> Result<()> {
    let p = platform(&a.root)?;
    let mut options = DoctorOptions::from_env();
    if let Some(s) = a.control_socket {
        options.control_socket = s;
    }
    let checks = doctor::run(p.as_ref(), &options);
    if a.json {
        println!("{}", doctor::render_json(&checks));
    } else {
        println!("Gecko doctor ({}, root {})", p.name(), p.root().display());
        print!("{}", doctor::render_text(&checks));
    }
    if !doctor::all_passed(&checks) {
        std::process::exit(1);
    }
    Ok(())
}
