//! `gecko install`: install Gecko Sink's driver (crates/gecko-install), and
//! the platform the install commands share.

use anyhow::{Context, Result};
use clap::Args;
use gecko_install::{DeviceOutcome, Installer};
use gecko_platform::AudioPlatform;
use std::path::PathBuf;

/// Where the system is: `/` on macOS; on Linux a directory standing in for it.
#[derive(Args, Debug, Clone)]
pub struct RootArgs {
    /// Linux: the directory standing in for `/` (simulated system; also $GECKO_SIM_ROOT).
    #[arg(long, value_name = "DIR", env = "GECKO_SIM_ROOT", global = true)]
    pub root: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct InstallArgs {
    /// The GeckoAudioDevice.driver bundle to install [default: the one built with this gecko].
    #[arg(long, value_name = "DIR")]
    pub bundle: Option<PathBuf>,
    #[command(flatten)]
    pub root: RootArgs,
    /// Seconds to wait for "Gecko Sink" to appear.
    #[arg(long, value_name = "SECS", default_value_t = 15.0)]
    pub wait: f64,
}

/// The platform for this machine: macOS itself, or on Linux the simulated
/// system under `--root` (its audio host is this `gecko`, `gecko sim-audio`).
pub fn platform(root: &RootArgs) -> Result<Box<dyn AudioPlatform>> {
    let exe = std::env::current_exe().context("locating the gecko executable")?;
    Ok(gecko_platform::this_machine(root.root.as_deref(), &exe)?)
}

/// macOS: the bundle next to this `gecko` (as the app and the pkg lay them out).
#[cfg(target_os = "macos")]
fn default_bundle() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let b = exe.with_file_name(gecko_platform::BUNDLE_NAME);
    if b.is_dir() {
        return Ok(b);
    }
    anyhow::bail!("no bundle next to {}: pass --bundle PATH/GeckoAudioDevice.driver", exe.display());
}

/// Linux: the (ELF) bundle built with this `gecko`, for the simulated system.
#[cfg(not(target_os = "macos"))]
fn default_bundle() -> Result<PathBuf> {
    Ok(gecko_driver_bundle::bundle_path().to_path_buf())
}

pub fn run(a: InstallArgs) -> Result<()> {
    let p = platform(&a.root)?;
    let bundle = match a.bundle {
        Some(b) => b,
        None => default_bundle()?,
    };
    let mut inst = Installer::new(p.as_ref());
    inst.device_timeout = crate::seconds("--wait", a.wait)?;
    println!("Installing {} into {} ({})", bundle.display(), p.hal_dir().display(), p.name());
    let r = inst.install(&bundle)?;
    for s in &r.steps {
        println!("  {s}");
    }
    println!("  bundle: version {}, {}, signature: {}", r.bundle.version, r.bundle.format, r.bundle.signature);
    match &r.device {
        DeviceOutcome::Done(t) => println!("Gecko Sink is available ({:.1} s after the restart).", t.as_secs_f64()),
        DeviceOutcome::NotYet { advice, .. } => println!("{advice}"),
    }
    for problem in &r.health.problems {
        println!("  warning: {problem}");
    }
    Ok(())
}
