//! `gecko ctl`: a client of a running engine's control socket, for people
//! and scripts. (What the engine publishes there is gecko-engine-process's.)

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use gecko_control::protocol::TelemetryMsg;
use gecko_control::{Applied, ControlClient, Status};
use std::io::Write;
use std::path::PathBuf;

/// `gecko ctl`: talk to a running engine over its control socket.
#[derive(Args, Debug)]
pub struct CtlArgs {
    /// The engine's control socket (default: $XDG_RUNTIME_DIR/gecko/engine.sock,
    /// or /tmp/gecko-UID/engine.sock when XDG_RUNTIME_DIR is unset).
    #[arg(long, global = true, value_name = "PATH", env = "GECKO_CONTROL_SOCKET")]
    socket: Option<PathBuf>,
    /// Print the engine's JSON replies (one object per line) instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: CtlCommand,
}

/// `--channel` values.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// Every channel.
    All,
    /// Channel 0.
    Left,
    /// Channel 1.
    Right,
}

/// `on` / `off`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnOff {
    /// On.
    On,
    /// Off.
    Off,
}

#[derive(Subcommand, Debug)]
enum CtlCommand {
    /// The engine's state: ring, format, output, drift, driver counters, DSP settings.
    Status,
    /// Meters, ring fill and drift now (`--follow`: continuously).
    Telemetry {
        /// Keep printing (until Ctrl-C).
        #[arg(long, short)]
        follow: bool,
        /// Messages per second with --follow (10 to 30).
        #[arg(long, value_name = "HZ", default_value_t = 10.0)]
        rate: f64,
        /// Stop after this many messages with --follow.
        #[arg(long, value_name = "N")]
        count: Option<usize>,
    },
    /// Set the engine's gain, dB (-120 to +24).
    Gain {
        /// Gain, dB.
        #[arg(allow_negative_numbers = true)]
        db: f64,
    },
    /// Load a preset: a built-in or one of yours by name (`gecko preset list`), or a TOML file.
    Preset {
        /// Built-in name, your preset's name, or file.
        #[arg(value_name = "NAME|FILE")]
        spec: String,
    },
    /// Turn the limiter on or off (and set its ceiling).
    Limiter {
        /// on or off.
        state: OnOff,
        /// Ceiling, dBTP (-30 to 0).
        #[arg(long, value_name = "DBTP", allow_negative_numbers = true)]
        ceiling: Option<f64>,
    },
    /// Set one EQ band (0 to 31): `gecko ctl eq 2 peaking 3000 --q 1 --gain-db 4 [--channel left]`.
    Eq {
        /// Band index, 0 to 31.
        index: usize,
        /// Filter type: peaking, low_shelf, high_shelf, low_pass, high_pass, notch, band_pass, all_pass.
        #[arg(value_name = "TYPE")]
        kind: String,
        /// Frequency, Hz.
        #[arg(value_name = "HZ")]
        freq: f64,
        /// Q (0.707 = Butterworth for the passes).
        #[arg(long, default_value_t = 1.0)]
        q: f64,
        /// Gain, dB (peaking and shelves).
        #[arg(long, value_name = "DB", default_value_t = 0.0, allow_negative_numbers = true)]
        gain_db: f64,
        /// Store the band but leave it disabled.
        #[arg(long)]
        off: bool,
        /// The channels it applies to.
        #[arg(long, value_enum, default_value_t = Channel::All)]
        channel: Channel,
    },
    /// Scale the whole EQ correction (band gains and preamp, in dB): 0 to 100 %.
    Strength {
        /// Percent.
        percent: f64,
    },
    /// Gain 0 dB, no EQ, limiter off: pass audio unchanged (a mute stays on).
    Bypass,
    /// Mute or unmute the engine's output.
    Mute {
        /// on or off.
        state: OnOff,
    },
    /// Move the engine's playback to another output device while it runs
    /// (settings, drift lock and recording carry on; a short pause while
    /// the device opens). Refused, and playback stays put, for a device
    /// that cannot be opened, for Gecko Sink itself, and for a headless engine.
    Device {
        /// The device, as `gecko devices` lists it; leave out for the
        /// system's default output.
        name: Option<String>,
    },
}

fn print_json<T: serde::Serialize>(v: &T) -> Result<()> {
    println!("{}", serde_json::to_string(v)?);
    Ok(())
}

fn db(x: Option<f64>) -> String {
    x.map_or("-inf".into(), |v| format!("{v:.1}"))
}

/// One line of telemetry for people.
pub fn telemetry_line(t: &TelemetryMsg) -> String {
    let m = &t.meters;
    let chans: Vec<String> = m.peak_dbfs.iter().map(|&p| db(p)).collect();
    let mut s = format!(
        "peak {} dBFS [{}]  M {} S {} I {} LUFS  TP {} dBTP",
        db(m.max_peak_dbfs),
        chans.join(" "),
        db(m.momentary_lufs),
        db(m.short_term_lufs),
        db(m.integrated_lufs),
        db(m.true_peak_dbtp)
    );
    if m.limiter_reduction_db > 0.05 {
        s.push_str(&format!("  limiting {:.1} dB", m.limiter_reduction_db));
    }
    if let Some(d) = &t.drift {
        s.push_str(&format!("  fill {:.1} ms", d.fill_ms));
        if let Some(a) = &d.actuator {
            s.push_str(&format!("  {a} {:+.1} ppm{}", d.correction_ppm, if d.locked { " locked" } else { "" }));
        }
    }
    if t.idle {
        s.push_str("  (driver IO stopped: engine idle)");
    } else if !t.io_running {
        s.push_str("  (driver IO stopped)");
    }
    s
}

fn status_text(s: &Status) -> String {
    let mut o = format!("engine     {} (pid {})\n", s.engine_version, s.pid);
    match s.format {
        Some(f) => o.push_str(&format!(
            "ring       {}: {} ch @ {} Hz (generation {})\n",
            s.ring, f.channels, f.sample_rate, f.generation
        )),
        None => o.push_str(&format!("ring       {}: not attached yet (waiting for the driver)\n", s.ring)),
    }
    o.push_str(&format!("output     {}\n", s.output_device.as_deref().unwrap_or("none (headless)")));
    if s.idle {
        o.push_str(
            "state      idle: the driver's IO is stopped; the engine's output is paused until it starts again\n",
        );
    }
    if let Some(d) = &s.drift {
        match &d.actuator {
            Some(a) => o.push_str(&format!(
                "drift      {a}, phase {}, correction {:+.2} ppm, applied {:+.2} ppm, {}; fill {:.1} ms; underruns {} frames\n",
                d.phase.map_or("-", |p| p.name()),
                d.correction_ppm,
                d.applied_ppm,
                if d.locked { "locked" } else { "not locked" },
                d.fill_ms,
                d.underrun_frames
            )),
            None => o.push_str(&format!("drift      none (headless); fill {:.1} ms\n", d.fill_ms)),
        }
    }
    if let Some(w) = &s.writer {
        o.push_str(&format!(
            "driver     {} frames in {} IO cycles; gaps {} ({} frames), overlaps {} ({} frames), overruns {} ({} frames)\n",
            w.write_count, w.io_cycles, w.gap_events, w.gap_frames, w.overlap_events, w.overlap_frames, w.overrun_events, w.overrun_frames
        ));
    }
    o.push_str(&format!("recording  {}\n", s.recording.as_deref().unwrap_or("none")));
    o.push_str(&format!("settings   {}\n", settings_text(&s.params, s.preset.as_deref())));
    o.push_str(&format!("clients    {}\n", s.clients));
    if let Some(l) = &s.loopback {
        let name = |t: Option<gecko_control::LoopbackTap>| t.map_or("none", |t| t.name());
        o.push_str(&format!(
            "loopback   asked {}; the driver serves {}; {} input cycles, {} frames ({} of silence){}\n",
            name(l.requested),
            name(l.active),
            l.input_cycles,
            l.input_frames,
            l.silent_frames,
            if l.post_available { "" } else { "; post not fed (headless, or another rate)" }
        ));
    }
    o
}

fn settings_text(p: &gecko_dsp::ChainParams, preset: Option<&str>) -> String {
    let bands = p.eq.bands.iter().filter(|b| b.enabled).count();
    format!(
        "preset {}; gain {} dB; EQ {} band{}; limiter {} (ceiling {} dBTP)",
        preset.unwrap_or("none"),
        p.gain_db,
        bands,
        if bands == 1 { "" } else { "s" },
        if p.limiter.enabled { "on" } else { "off" },
        p.limiter.ceiling_dbtp
    )
}

fn applied(a: &Applied, json: bool) -> Result<()> {
    if json {
        return print_json(a);
    }
    println!("{}\nsettings: {}", a.message, settings_text(&a.params, a.preset.as_deref()));
    Ok(())
}

/// Runs `gecko ctl`.
pub fn run(a: CtlArgs) -> Result<()> {
    let path = a.socket.unwrap_or_else(gecko_control::default_socket_path);
    let mut c = ControlClient::connect(&path)?;
    match a.command {
        CtlCommand::Status => {
            let s = c.status()?;
            if a.json { print_json(&s)? } else { print!("{}", status_text(&s)) }
        }
        CtlCommand::Telemetry { follow: false, .. } => {
            let t = c.telemetry()?;
            if a.json { print_json(&t)? } else { println!("{}", telemetry_line(&t)) }
        }
        CtlCommand::Telemetry { follow: true, rate, count } => {
            if !rate.is_finite() || rate <= 0.0 {
                bail!("--rate must be a positive number of messages per second (10 to 30)");
            }
            let sub = c.subscribe(rate)?;
            let mut out = std::io::stdout().lock();
            for (i, t) in sub.enumerate() {
                if count.is_some_and(|n| i >= n) {
                    break;
                }
                let t = t.context("the telemetry stream ended")?;
                let line = if a.json { serde_json::to_string(&t)? } else { telemetry_line(&t) };
                // The reader went away (`| head`): stop quietly.
                if writeln!(out, "{line}").and_then(|_| out.flush()).is_err() {
                    break;
                }
            }
        }
        CtlCommand::Gain { db } => applied(&c.set_gain(db)?, a.json)?,
        CtlCommand::Preset { spec } => {
            let sent =
                gecko_services::PresetStore::from_env().engine_spec(&spec, gecko_control::state::VALIDATION_RATE)?;
            applied(&c.set_preset(&sent)?, a.json)?
        }
        CtlCommand::Limiter { state, ceiling } => applied(&c.set_limiter(Some(state == OnOff::On), ceiling)?, a.json)?,
        CtlCommand::Strength { percent } => applied(&c.set_strength(percent)?, a.json)?,
        CtlCommand::Eq { index, kind, freq, q, gain_db, off, channel } => {
            let kind = gecko_dsp::FilterType::ALL.into_iter().find(|t| t.name() == kind).ok_or_else(|| {
                let names: Vec<_> = gecko_dsp::FilterType::ALL.iter().map(|t| t.name()).collect();
                anyhow::anyhow!("{kind:?} is not a filter type: use one of {}", names.join(", "))
            })?;
            let channel = match channel {
                Channel::All => gecko_dsp::EqChannel::All,
                Channel::Left => gecko_dsp::EqChannel::Left,
                Channel::Right => gecko_dsp::EqChannel::Right,
            };
            let band = gecko_dsp::EqBand { kind, freq_hz: freq, q, gain_db, enabled: !off, channel };
            applied(&c.set_eq_band(index, band)?, a.json)?
        }
        CtlCommand::Bypass => applied(&c.bypass()?, a.json)?,
        CtlCommand::Mute { state } => applied(&c.set_mute(state == OnOff::On)?, a.json)?,
        CtlCommand::Device { name } => {
            let o = c.set_output(name.as_deref())?;
            if a.json { print_json(&o)? } else { println!("playing on {} @ {} Hz", o.device, o.rate_hz) }
        }
    }
    Ok(())
}
