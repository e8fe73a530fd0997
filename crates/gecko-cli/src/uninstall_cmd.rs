//! `gecko uninstall`: remove Gecko Sink's driver and everything it left.

use crate::install_cmd::{RootArgs, platform};
use anyhow::Result;
use clap::Args;
use gecko_install::{DeviceOutcome, Installer};

#[derive(Args, Debug)]
pub struct UninstallArgs {
    #[command(flatten)]
    pub root: RootArgs,
}

pub fn run(a: UninstallArgs) -> Result<()> {
    let p = platform(&a.root)?;
    println!("Removing Gecko Sink from {} ({})", p.hal_dir().display(), p.name());
    let r = Installer::new(p.as_ref()).uninstall()?;
    for s in &r.steps {
        println!("  {s}");
    }
    if r.removed_segments {
        println!("  removed the driver's shared memory ({})", p.ring_name());
    }
    match &r.device {
        DeviceOutcome::Done(_) => println!("Gecko Sink is removed; nothing is left behind."),
        DeviceOutcome::NotYet { advice, .. } => println!("{advice}"),
    }
    Ok(())
}
