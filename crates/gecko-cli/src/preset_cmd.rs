//! `gecko preset …` and `gecko eq plot`.

use anyhow::{Context, Result};
use clap::Subcommand;
use gecko_dsp::Preset;
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum PresetCommand {
    /// List the built-in presets, then yours (the folder the app saves to:
    /// ~/.config/gecko/presets, on macOS ~/Library/Application Support/Gecko/Presets,
    /// or $GECKO_PRESETS_DIR).
    List,
    /// Print a preset as TOML (a starting point for your own).
    Show {
        /// Built-in name, your preset's name, or file.
        #[arg(value_name = "NAME|FILE")]
        preset: String,
    },
    /// Check a preset file: every problem is reported with its field and why.
    Check {
        /// The TOML file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Sample rate to check the filters at, Hz.
        #[arg(long, default_value_t = 48_000.0)]
        rate: f64,
    },
}

#[derive(Subcommand, Debug)]
pub enum EqCommand {
    /// Draw a preset's EQ magnitude response (20 Hz–20 kHz) as a PNG.
    Plot {
        /// Built-in name, your preset's name, or file.
        #[arg(value_name = "PRESET")]
        preset: String,
        /// Where to write the PNG.
        #[arg(long, short = 'o', value_name = "FILE", default_value = "eq-response.png")]
        out: PathBuf,
        /// Sample rate, Hz.
        #[arg(long, default_value_t = 48_000.0)]
        rate: f64,
    },
}

pub fn run_preset(c: PresetCommand) -> Result<()> {
    match c {
        PresetCommand::List => {
            for name in Preset::builtin_names() {
                let p = Preset::builtin(name)?;
                println!("{name:<10} {}", p.description.unwrap_or_default());
            }
            let store = gecko_services::PresetStore::from_env();
            let user = store.user_names();
            if user.is_empty() {
                println!("(none of your own yet in {})", store.dir().display());
            } else {
                println!("yours, in {}:", store.dir().display());
                for name in user {
                    let checked = store.load(&name).map_err(|e| e.to_string()).and_then(|l| {
                        l.preset.validate(gecko_control::state::VALIDATION_RATE).map_err(|e| e.to_string())?;
                        Ok(l.preset)
                    });
                    let about = match checked {
                        Ok(p) => p.description.unwrap_or_default(),
                        Err(e) => format!("(invalid: {})", e.replace('\n', " ")),
                    };
                    println!("  {name:<20} {about}");
                }
            }
            Ok(())
        }
        PresetCommand::Show { preset } => {
            match Preset::builtin_toml(&preset) {
                Some(text) => print!("{text}"),
                None => print!("{}", crate::load_preset(&preset)?.to_toml_string()),
            }
            Ok(())
        }
        PresetCommand::Check { file, rate } => {
            let p = Preset::check_file(&file, rate)?;
            let bands = p.eq.bands.iter().filter(|b| b.enabled).count();
            println!(
                "{}: OK ({} EQ band{}, gain {} dB, limiter {}, target latency {} ms)",
                file.display(),
                bands,
                if bands == 1 { "" } else { "s" },
                p.gain_db,
                if p.limiter.enabled { format!("at {} dBTP", p.limiter.ceiling_dbtp) } else { "off".into() },
                p.target_latency_ms
            );
            Ok(())
        }
    }
}

pub fn run_eq(c: EqCommand) -> Result<()> {
    match c {
        EqCommand::Plot { preset, out, rate } => {
            let p = crate::load_preset(&preset)?;
            gecko_dsp::plot_eq_response(&p, rate, &out).with_context(|| format!("cannot plot {preset}"))?;
            println!("wrote {}", out.display());
            Ok(())
        }
    }
}
