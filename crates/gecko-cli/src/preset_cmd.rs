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
    /// Import an Equalizer APO / AutoEq `ParametricEQ.txt` or `GraphicEQ.txt`,
    /// or a REW "filter settings as text" export, into your presets (every
    /// line not imported as written is reported with its line number).
    Import {
        /// The file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The preset's name (default: the file's, without AutoEq's suffix).
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        /// Replace a preset of yours with the same name.
        #[arg(long)]
        force: bool,
    },
    /// Write a preset's EQ as Equalizer APO `ParametricEQ.txt` or CamillaDSP YAML.
    Export {
        /// Built-in name, your preset's name, or file.
        #[arg(value_name = "PRESET")]
        preset: String,
        /// The format.
        #[arg(long, value_enum, default_value_t = ExportFormat::Apo)]
        format: ExportFormat,
        /// Where to write it (default: standard output).
        #[arg(long, short = 'o', value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Use PRESET whenever the engine plays on DEVICE (as `gecko devices`
    /// shows it: the UID in brackets on macOS, the name on Linux). A device
    /// without a binding gets the engine's own preset (`--preset`).
    Bind {
        /// The output device.
        device: String,
        /// A built-in's or your preset's name.
        preset: String,
    },
    /// Remove DEVICE's binding.
    Unbind {
        /// The output device.
        device: String,
    },
    /// List the bindings (device → preset).
    Bindings,
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

/// `gecko preset export --format`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// Equalizer APO / AutoEq `ParametricEQ.txt`.
    Apo,
    /// A CamillaDSP configuration (filters and pipeline; YAML).
    Camilladsp,
}

#[derive(Subcommand, Debug)]
pub enum EqCommand {
    /// Print a preset's EQ magnitude response per channel (Hz, dB) as the
    /// engine runs it at 48 kHz: preamp, strength and every band.
    Response {
        /// Built-in name, your preset's name, or file.
        #[arg(value_name = "PRESET")]
        preset: String,
        /// Comma-separated values with a header line, for scripts.
        #[arg(long)]
        csv: bool,
        /// The frequencies, Hz (default: 1/3-octave centres from 20 Hz to 20 kHz).
        #[arg(long, value_name = "F1,F2,…", value_delimiter = ',')]
        freqs: Option<Vec<f64>>,
    },
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
        PresetCommand::Import { file, name, force } => {
            let store = gecko_services::PresetStore::from_env();
            let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let file_name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let outcome = store.import(&text, &file_name, name.as_deref(), force).map_err(|e| match e {
                gecko_services::PresetStoreError::Exists { name, path } => {
                    anyhow::anyhow!(
                        "you already have a preset {name:?} ({}): pass --force to replace it",
                        path.display()
                    )
                }
                gecko_services::PresetStoreError::Import { source, .. } => {
                    anyhow::anyhow!("cannot import {}: {source}", file.display())
                }
                e => e.into(),
            })?;
            for note in &outcome.notes {
                eprintln!("note: {}: {note}", file.display());
            }
            println!("{}", outcome.summary());
            Ok(())
        }
        PresetCommand::Export { preset, format, out } => {
            let p = crate::load_preset(&preset)?;
            let text = match format {
                ExportFormat::Apo => gecko_dsp::export::preset_to_equalizer_apo(&p),
                ExportFormat::Camilladsp => gecko_dsp::export::preset_to_camilladsp(&p),
            };
            match out {
                Some(path) => {
                    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
                    println!("wrote {}", path.display());
                }
                None => print!("{text}"),
            }
            Ok(())
        }
        PresetCommand::Bind { device, preset } => {
            let store = gecko_services::PresetStore::from_env();
            store.bind(&device, &preset)?;
            println!("{device} → {preset} (in {})", store.bindings_path().display());
            Ok(())
        }
        PresetCommand::Unbind { device } => {
            let store = gecko_services::PresetStore::from_env();
            if store.unbind(&device)? {
                println!("{device} has no preset of its own now");
            } else {
                println!("{device} had no binding");
            }
            Ok(())
        }
        PresetCommand::Bindings => {
            let store = gecko_services::PresetStore::from_env();
            let b = store.bindings()?;
            if b.is_empty() {
                println!("no bindings (`gecko preset bind DEVICE PRESET`)");
            }
            for (device, preset) in b {
                println!("{device} → {preset}");
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
        EqCommand::Response { preset, csv, freqs } => {
            let p = crate::load_preset(&preset)?;
            p.validate(RESPONSE_RATE)?;
            let eq = p.chain_params().eq;
            let freqs = freqs.unwrap_or_else(third_octaves);
            if let Some(f) = freqs.iter().find(|f| !(f.is_finite() && **f > 0.0 && **f < RESPONSE_RATE / 2.0)) {
                anyhow::bail!("--freqs: {f} Hz is not between 0 and {} Hz", RESPONSE_RATE / 2.0);
            }
            let db = |f: f64, ch: usize| eq.magnitude_db_for_channel(f, RESPONSE_RATE, ch);
            if csv {
                println!("freq_hz,left_db,right_db");
                for f in freqs {
                    println!("{f},{:.4},{:.4}", db(f, 0), db(f, 1));
                }
            } else {
                println!("{:>10}  {:>8}  {:>8}", "Hz", "left dB", "right dB");
                for f in freqs {
                    println!("{f:>10.1}  {:>8.2}  {:>8.2}", db(f, 0), db(f, 1));
                }
            }
            Ok(())
        }
        EqCommand::Plot { preset, out, rate } => {
            let p = crate::load_preset(&preset)?;
            gecko_dsp::plot_eq_response(&p, rate, &out).with_context(|| format!("cannot plot {preset}"))?;
            println!("wrote {}", out.display());
            Ok(())
        }
    }
}

/// The rate `gecko eq response` evaluates at: Gecko Sink's default, Hz.
const RESPONSE_RATE: f64 = gecko_identity::DEFAULT_SAMPLE_RATE;

/// 1/3-octave frequencies from 20 Hz to 20 kHz: 10^(n/10) Hz for n = 13..=43,
/// the exact values behind ISO 266's preferred numbers (which round them).
fn third_octaves() -> Vec<f64> {
    (13..=43).map(|n| 10f64.powf(n as f64 / 10.0)).collect()
}
