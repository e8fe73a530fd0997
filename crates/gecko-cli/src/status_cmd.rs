//! `gecko status`: is the driver installed, right, loaded, and used?

use crate::install_cmd::{RootArgs, platform};
use anyhow::Result;
use clap::Args;
use gecko_install::{Installer, OwnerExpectation, RingHealth};
use gecko_platform::DriverLoad;

#[derive(Args, Debug)]
pub struct StatusArgs {
    #[command(flatten)]
    pub root: RootArgs,
}

/// Prints the health view; exits 1 when the driver is installed but not right.
pub fn run(a: StatusArgs) -> Result<()> {
    let p = platform(&a.root)?;
    let h = Installer::new(p.as_ref()).status();
    println!("Gecko Sink ({}, root {})", p.name(), p.root().display());
    match (&h.installed, &h.version) {
        (false, _) => println!("  installed      no ({})", h.path.display()),
        (true, Some(v)) => println!("  installed      version {v} at {}", h.path.display()),
        (true, None) => println!("  installed      unreadable bundle at {}", h.path.display()),
    }
    let owner = match h.owner {
        OwnerExpectation::Root => "owner 0:0 (root:wheel)".to_owned(),
        OwnerExpectation::RecordedOnly { uid } => {
            format!("owner uid {uid}: not root, so 0:0 (root:wheel) is recorded as intended, not applied")
        }
    };
    if h.problems.is_empty() {
        if h.installed {
            println!("  owner, modes   right: {owner}, 755 directories and executables, 644 files");
        }
    } else {
        println!("  problems       {} (run `gecko install` to repair):", h.problems.len());
        for pr in &h.problems {
            println!("                 - {pr}");
        }
    }
    let loaded = match &h.driver {
        Ok(DriverLoad::Loaded) => "yes: the audio service lists Gecko Sink".to_owned(),
        Ok(DriverLoad::NotLoaded(Some(why))) => format!("no: {why}"),
        Ok(DriverLoad::NotLoaded(None)) => "no: the audio service does not list Gecko Sink".to_owned(),
        Ok(DriverLoad::ServiceDown) => "unknown: the audio service is not running".to_owned(),
        Err(e) => format!("unknown: {e}"),
    };
    println!("  driver loaded  {loaded}");
    let engine = match h.ring {
        RingHealth::Absent => format!("no ring ({}): the driver has not created it", p.ring_name()),
        RingHealth::Present { engine_attached: true } => "attached to the ring".to_owned(),
        RingHealth::Present { engine_attached: false } => {
            "not attached (the ring is ready: run `gecko engine`)".to_owned()
        }
    };
    println!("  engine         {engine}");
    if h.processes.is_empty() {
        println!("  audio service  not running");
    }
    for pr in &h.processes {
        println!(
            "  audio service  pid {} {}, {:.1} MiB resident{}",
            pr.pid,
            pr.name,
            pr.resident_bytes as f64 / (1024.0 * 1024.0),
            if pr.hosts_driver { ", hosts the driver" } else { "" }
        );
    }
    if !h.receipts.is_empty() {
        println!(
            "  pkg receipts   {}",
            h.receipts.iter().map(|r| r.display().to_string()).collect::<Vec<_>>().join(", ")
        );
    }
    let caps = p.capabilities();
    println!(
        "  capabilities   per-app capture: {}",
        if caps.per_app_capture { "yes" } else { "no (Gecko sees the system mix)" }
    );
    if h.installed && !h.ok() {
        std::process::exit(1);
    }
    Ok(())
}
