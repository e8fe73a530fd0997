//! `gecko output`: the system's default output, and the switch to Gecko Sink
//! and back (gecko_platform::output, the same code the tray app runs).

use crate::install_cmd::{RootArgs, platform};
use anyhow::Result;
use clap::{Args, Subcommand};
use gecko_platform::output::OutputSwitch;

#[derive(Args, Debug)]
pub struct OutputArgs {
    #[command(flatten)]
    pub root: RootArgs,
    #[command(subcommand)]
    pub action: Option<OutputAction>,
}

#[derive(Subcommand, Debug, Clone, Copy)]
pub enum OutputAction {
    /// List the system's output devices and which is the default (the default action).
    Show,
    /// Make Gecko Sink the system output, remembering the current one (the engine's output).
    UseGeckoSink,
    /// Make the remembered output the system output again.
    Restore,
}

pub fn run(a: OutputArgs) -> Result<()> {
    let p = platform(&a.root)?;
    let sw = OutputSwitch::for_platform(p.as_ref());
    match a.action.unwrap_or(OutputAction::Show) {
        OutputAction::Show => {
            let default = p.default_output()?;
            for d in p.output_devices()? {
                let mark = if default.as_ref() == Some(&d) { "*" } else { " " };
                println!("{mark} {}  ({}, {})", d.name, d.transport.label(), d.id);
            }
            if let Some(r) = sw.remembered() {
                println!("remembered previous output: {} (`gecko output restore` goes back to it)", r.name);
            }
        }
        OutputAction::UseGeckoSink => {
            let s = sw.use_gecko_sink(p.as_ref())?;
            let prev = s.previous.map(|d| d.name).unwrap_or_else(|| "none".into());
            if s.already {
                println!("Gecko Sink is already the system output (previous output: {prev})");
            } else {
                println!(
                    "Gecko Sink is now the system output; the engine should play on {prev} (`gecko engine --device`)"
                );
            }
        }
        OutputAction::Restore => println!("{}", sw.restore(p.as_ref())?.message()),
    }
    Ok(())
}
