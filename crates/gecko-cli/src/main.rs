//! `gecko`: run Gecko's engine, the simulated coreaudiod host, or both as a demo.

mod ctl;
// The demo and the simulated host load the ELF driver (gecko-simhost):
// Linux only, never compiled on macOS.
#[cfg(not(target_os = "macos"))]
mod demo;
mod doctor_cmd;
#[cfg(not(target_os = "macos"))]
mod host_cmd;
mod install_cmd;
mod loopback_cmd;
mod output_cmd;
mod preset_cmd;
mod status_cmd;
mod ui;
mod uninstall_cmd;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use gecko_engine::{EngineConfig, Playback, Settings};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Gecko: everything your Mac plays, through "Gecko Sink", into Gecko's engine
/// (volume, EQ, limiter, meters, recording) and out to your real speakers.
///
/// On Linux (no Mac needed) the same C driver is loaded by a simulated
/// coreaudiod host. Start with `gecko demo`: it plays a real recording
/// through the driver, shared memory and the engine, and writes a WAV.
#[derive(Parser, Debug)]
#[command(name = "gecko", version, propagate_version = true)]
struct Cli {
    /// More logging (-v info, -vv debug). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Play an audio file through the whole path: simulated host (C driver) →
    /// shared memory → engine → WAV file and your default output.
    #[cfg(not(target_os = "macos"))]
    Demo(demo::DemoArgs),
    /// Run the simulated coreaudiod host alone: load the driver and play FILE into Gecko Sink.
    #[cfg(not(target_os = "macos"))]
    Host(host_cmd::HostArgs),
    /// Run the engine alone: attach to Gecko Sink's ring, process, record and play.
    Engine(EngineArgs),
    /// Talk to a running engine over its control socket: status, telemetry, gain, preset, limiter, bypass.
    Ctl(ctl::CtlArgs),
    /// List the audio output devices the engine can play on.
    Devices,
    /// Built-in and custom DSP presets: list, show, check.
    #[command(subcommand)]
    Preset(preset_cmd::PresetCommand),
    /// The EQ of a preset: plot its magnitude response.
    #[command(subcommand)]
    Eq(preset_cmd::EqCommand),
    /// Install the Gecko Sink driver (macOS: one administrator prompt; Linux: into --root).
    Install(install_cmd::InstallArgs),
    /// Remove the Gecko Sink driver and everything it left behind.
    Uninstall(uninstall_cmd::UninstallArgs),
    /// Is the driver installed, right, loaded, and used by an engine?
    Status(status_cmd::StatusArgs),
    /// Check everything from the driver bundle to the audio in the ring, and say what to do about each problem.
    Doctor(doctor_cmd::DoctorArgs),
    /// The system output: show it, switch to Gecko Sink, restore the previous one.
    Output(output_cmd::OutputArgs),
    /// What recording apps get from Gecko Sink's input: pre (what apps play), post (what you hear) or off.
    Loopback(loopback_cmd::LoopbackArgs),
    /// Gecko Sink's shared-memory ring: pre-create the driver's segment.
    #[command(subcommand)]
    Ring(RingCommand),
    /// The simulated coreaudiod/launchd of the Linux install simulation (internal).
    #[cfg(not(target_os = "macos"))]
    #[command(hide = true)]
    SimAudio {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
}

/// `gecko ring …`.
#[derive(Subcommand, Debug)]
enum RingCommand {
    /// Create the driver's writer segment for a driver the macOS plug-in
    /// sandbox forbids to create it (docs/macos-semantics.md). Run it as the
    /// driver's user: the installer does, as `_coreaudiod`, at install and at
    /// boot. Idempotent.
    Precreate {
        /// Name of Gecko Sink's shared-memory ring.
        #[arg(long, value_name = "NAME", default_value = gecko_ring::abi::DEFAULT_NAME)]
        shm_name: String,
    },
}

/// Options shared by the engine and the demo.
#[derive(Args, Debug, Clone)]
pub struct EngineOpts {
    /// DSP preset: a built-in or one of yours by name (`gecko preset list`), or a TOML file.
    /// Without one the engine is a bit-exact bypass (meters only).
    #[arg(long, value_name = "NAME|FILE")]
    preset: Option<String>,
    /// Gain applied by the engine, in dB (-120 to +24); overrides the preset's.
    #[arg(long, value_name = "DB", allow_negative_numbers = true)]
    gain_db: Option<f64>,
    /// Ring fill level the drift control holds, in ms, 1 to 500 (overrides the preset's; default 20).
    #[arg(long, value_name = "MS")]
    target_latency_ms: Option<f64>,
    /// Drift control actuator: steer Gecko Sink's clock (bit-transparent), resample, or choose automatically.
    #[arg(long, value_enum, default_value_t = Actuator::Auto)]
    actuator: Actuator,
    /// Don't play on an output device (just record / meter).
    #[arg(long)]
    no_play: bool,
    /// Play on this output device (exact name from `gecko devices`) instead of the default.
    #[arg(long, value_name = "NAME", conflicts_with = "no_play")]
    device: Option<String>,
}

/// `--actuator` values.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actuator {
    /// Steering when the rates match and the driver honours it, else resampling.
    Auto,
    /// Steer the driver's clock only.
    Steer,
    /// Adaptive resampling only.
    Resample,
}

/// A preset by built-in name, user preset name (the folder the app uses,
/// gecko-services' [`gecko_services::PresetStore`]) or file.
pub fn load_preset(spec: &str) -> Result<gecko_dsp::Preset> {
    Ok(gecko_services::PresetStore::from_env().load(spec)?.preset)
}

impl EngineOpts {
    /// The engine's [`Settings`]: the preset's, then these flags over them,
    /// checked before anything starts (gecko-engine's one
    /// [`Settings::validate`], at `sample_rate` Hz), so bad input fails fast
    /// with every problem named.
    fn resolve(&self, sample_rate: f64) -> Result<Settings> {
        let preset = self.preset.as_deref().map(load_preset).transpose()?;
        let mut s = preset.as_ref().map(Settings::from_preset).unwrap_or_default();
        if let Some(g) = self.gain_db {
            s.chain.gain_db = g;
        }
        if let Some(ms) = self.target_latency_ms {
            s.target_latency_ms = ms;
        }
        if let Some(d) = &self.device {
            s.playback = Playback::Device(d.clone());
        }
        if self.no_play {
            s.playback = Playback::None;
        }
        s.actuator = match self.actuator {
            Actuator::Auto => gecko_drift::ActuatorChoice::Auto,
            Actuator::Steer => gecko_drift::ActuatorChoice::Steer,
            Actuator::Resample => gecko_drift::ActuatorChoice::Resample,
        };
        s.validate(sample_rate)?;
        Ok(s)
    }
}

#[derive(Args, Debug)]
struct EngineArgs {
    #[command(flatten)]
    opts: EngineOpts,
    /// Record the processed audio to this WAV file (float32).
    #[arg(long, short = 'r', value_name = "FILE")]
    record: Option<PathBuf>,
    /// Name of Gecko Sink's shared-memory ring.
    #[arg(long, value_name = "NAME", default_value = gecko_ring::abi::DEFAULT_NAME)]
    shm_name: String,
    /// Seconds to wait for the driver's ring to appear.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    wait: f64,
    /// Exit when the driver stops IO (e.g. the host finished its file) and the ring is drained.
    #[arg(long)]
    exit_on_stop: bool,
    /// Stop after this many seconds of audio.
    #[arg(long, value_name = "SECS")]
    duration: Option<f64>,
    /// Read live commands from standard input, one per line: `gain DB`,
    /// `preset NAME|FILE`, `limiter on|off`, `mute on|off`, `bypass`,
    /// `device [NAME]` (on by default when stdin is a terminal).
    #[arg(long)]
    control_stdin: bool,
    /// Control socket for the app and `gecko ctl` (mode 0600). Default:
    /// $XDG_RUNTIME_DIR/gecko/engine.sock, or /tmp/gecko-UID/engine.sock when
    /// XDG_RUNTIME_DIR is unset. With the default, an engine already
    /// listening there is left alone and this one runs without a socket.
    #[arg(long, value_name = "PATH", env = "GECKO_CONTROL_SOCKET")]
    control_socket: Option<PathBuf>,
    /// Don't open a control socket.
    #[arg(long, conflicts_with = "control_socket")]
    no_control_socket: bool,
    /// What Gecko Sink's input stream carries for recording apps: pre, post
    /// or off (default: the choice saved by `gecko loopback`, else the
    /// driver's own, pre).
    #[arg(long, value_name = "pre|post|off")]
    loopback: Option<gecko_control::LoopbackTap>,
    /// No live meters.
    #[arg(long, short)]
    quiet: bool,
    /// Fault injection for tests: act as if the output device disappeared after MS milliseconds.
    #[arg(long, value_name = "MS", hide = true)]
    simulate_device_loss_after_ms: Option<u64>,
    /// How often to look for output devices appearing or disappearing where
    /// the system does not announce it (Linux/ALSA), in milliseconds. macOS
    /// announces device changes; there this is only a backstop.
    #[arg(long, value_name = "MS", default_value_t = 2000, value_parser = clap::value_parser!(u64).range(50..=60_000))]
    device_poll_ms: u64,
}

fn main() {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    let cancel = Arc::new(AtomicBool::new(false));
    {
        let c = cancel.clone();
        // A second Ctrl-C kills the process the usual way.
        let _ = ctrlc::set_handler(move || {
            if c.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
        });
    }
    let result = match cli.command {
        #[cfg(not(target_os = "macos"))]
        Command::Demo(a) => demo::run(a, &cancel),
        #[cfg(not(target_os = "macos"))]
        Command::Host(a) => host_cmd::run(a, &cancel),
        Command::Engine(a) => run_engine(a, &cancel),
        Command::Ctl(a) => ctl::run(a),
        Command::Devices => list_devices(),
        Command::Preset(c) => preset_cmd::run_preset(c),
        Command::Eq(c) => preset_cmd::run_eq(c),
        Command::Install(a) => install_cmd::run(a),
        Command::Uninstall(a) => uninstall_cmd::run(a),
        Command::Status(a) => status_cmd::run(a),
        Command::Doctor(a) => doctor_cmd::run(a),
        Command::Output(a) => output_cmd::run(a),
        Command::Loopback(a) => loopback_cmd::run(a),
        Command::Ring(RingCommand::Precreate { shm_name }) => {
            // The driver's format: its channel count and the ABI's ring capacity.
            let channels = gecko_driver_bundle::CHANNELS;
            let capacity = gecko_ring::abi::DEFAULT_CAPACITY_FRAMES;
            gecko_ring::precreate_writer_segment(&shm_name, channels, capacity)
                .map(|done| match done {
                    gecko_ring::Precreated::Created => {
                        println!("created {shm_name} ({channels} ch × {capacity} frames) for the driver")
                    }
                    gecko_ring::Precreated::AlreadyThere => println!("{shm_name} is already there, the right size"),
                })
                .map_err(anyhow::Error::from)
        }
        #[cfg(not(target_os = "macos"))]
        Command::SimAudio { args } => std::process::exit(gecko_simhost::system::main_from_args(args)),
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        // Many errors already quote their source; print each cause only once.
        let mut shown = e.to_string();
        for cause in e.chain().skip(1) {
            let c = cause.to_string();
            if !shown.contains(&c) {
                eprintln!("  caused by: {c}");
            }
            shown = c;
        }
        std::process::exit(1);
    }
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default.into());
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).init();
}

fn seconds(what: &str, secs: f64) -> Result<Duration> {
    if !secs.is_finite() || !(0.0..=1e9).contains(&secs) {
        bail!("{what} must be a number of seconds ≥ 0, got {secs}");
    }
    Ok(Duration::from_secs_f64(secs))
}

fn run_engine(a: EngineArgs, cancel: &AtomicBool) -> Result<()> {
    gecko_ring::validate_name(&a.shm_name)?;
    let r = a.opts.resolve(gecko_identity::DEFAULT_SAMPLE_RATE)?;
    let config = EngineConfig {
        shm_name: a.shm_name.clone(),
        settings: r.clone(),
        record: a.record.clone(),
        attach_wait: seconds("--wait", a.wait)?,
        exit_on_stop: a.exit_on_stop,
        max_audio: a.duration.map(|d| seconds("--duration", d)).transpose()?,
        simulate_device_loss_after: a.simulate_device_loss_after_ms.map(Duration::from_millis),
        device_poll: Duration::from_millis(a.device_poll_ms),
        ..EngineConfig::default()
    };
    let state = Arc::new(gecko_control::ControlState::new(r.chain, a.opts.preset.clone()));
    let loopback = match a.loopback {
        Some(t) => Some(t),
        None => gecko_services::loopback::load(&gecko_services::loopback::saved_tap_path()).unwrap_or_else(|e| {
            tracing::warn!("ignoring the saved loopback tap: {e}");
            None
        }),
    };
    state.set_loopback(loopback);
    let config = EngineConfig { loopback: state.loopback_handle(), ..config };
    let server = if a.no_control_socket {
        None
    } else {
        let info = gecko_control::EngineInfo {
            ring: a.shm_name.clone(),
            recording: a.record.as_ref().map(|p| p.display().to_string()),
            engine_version: env!("CARGO_PKG_VERSION").to_owned(),
        };
        gecko_engine_process::bind(a.control_socket.as_deref(), &state, info)?
    };
    if a.control_stdin || std::io::stdin().is_terminal() {
        gecko_engine_process::stdin::spawn(state.clone());
    }
    let view = ui::LiveView::new(!a.quiet);
    let outputs = gecko_engine_process::SocketOutputs(state.clone());
    let mut bindings = gecko_engine_process::bindings::DeviceBindings::new(
        gecko_services::PresetStore::from_env(),
        a.opts.preset.clone(),
    );
    let report = gecko_engine::run_with_outputs(
        &config,
        cancel,
        || state.latest(),
        |p| {
            view.update(p);
            match bindings.on_output(p.output_id.as_deref(), p.output.as_deref()) {
                Some(Ok(change)) => match state.edit(&change.edit) {
                    Ok(_) => tracing::info!("{}", change.message),
                    Err(e) => tracing::warn!("{}: {}", change.message, e.message),
                },
                Some(Err(e)) => tracing::warn!("{e}"),
                None => {}
            }
            if let Some(s) = &server {
                s.publish(gecko_engine_process::snapshot(p));
            }
        },
        &outputs,
    );
    drop(server);
    view.finish();
    let report = report.context("the engine stopped")?;
    print!("{}", ui::report(&report, a.record.as_deref()));
    Ok(())
}

fn list_devices() -> Result<()> {
    let devices = gecko_engine::output::output_devices();
    if devices.is_empty() {
        println!("no audio output devices found");
    }
    for d in devices {
        let note = if d.is_gecko_sink() { "  (Gecko Sink itself: not a valid output)" } else { "" };
        // On macOS the UID is what `--device` keeps working with across reboots.
        let id = if d.id != d.name { format!("  [{}]", d.id) } else { String::new() };
        println!("{}{id}{note}", d.name);
    }
    Ok(())
}
