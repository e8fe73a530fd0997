//! `gecko host`: the simulated coreaudiod host alone.

use anyhow::{Context, Result, bail};
use clap::Args;
use gecko_simhost::{HostConfig, HostReport, Pacing, Resample, SourceSpec};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

#[derive(Args, Debug, Clone)]
pub struct HostArgs {
    /// Audio file to play into Gecko Sink (WAV, FLAC, MP3, OGG/Vorbis).
    #[arg(value_name = "FILE", required_unless_present = "sine")]
    pub file: Option<PathBuf>,
    /// Play a sine of this frequency (Hz) instead of a file.
    #[arg(long, value_name = "HZ", conflicts_with = "file")]
    pub sine: Option<f64>,
    /// Sine level, dBFS (peak).
    #[arg(long, value_name = "DBFS", default_value_t = -6.0, allow_negative_numbers = true, requires = "sine")]
    pub sine_dbfs: f64,
    /// Sine duration, seconds.
    #[arg(long, value_name = "SECS", default_value_t = 5.0, requires = "sine")]
    pub sine_seconds: f64,
    /// Run IO cycles as fast as the engine reads (simulated clock) instead of in real time.
    #[arg(long)]
    pub fast: bool,
    /// The driver bundle to load (default: the one built with this `gecko`).
    #[arg(long, value_name = "DIR")]
    pub bundle: Option<PathBuf>,
    /// Name of the shared-memory ring the driver creates.
    #[arg(long, value_name = "NAME", default_value = gecko_ring::abi::DEFAULT_NAME)]
    pub shm_name: String,
    /// Wait up to SECS for the engine to attach before playing.
    #[arg(long, value_name = "SECS")]
    pub wait_for_engine: Option<f64>,
    /// IO buffer size in frames (the HAL's typical 512).
    #[arg(long, value_name = "FRAMES", default_value_t = 512, value_parser = clap::value_parser!(u32).range(16..=4096))]
    pub io_buffer_frames: u32,
    /// Refuse a file whose sample rate differs from the device's instead of resampling it.
    #[arg(long)]
    pub no_resample: bool,
    /// Play the source this many times, with the driver's IO stopped for
    /// --gap seconds in between (the HAL stops IO when no client plays).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub repeat: u32,
    /// Seconds with IO stopped between repeats (--repeat).
    #[arg(long, value_name = "SECS", default_value_t = 0.0)]
    pub gap: f64,
    /// No progress bar and no report.
    #[arg(long, short)]
    pub quiet: bool,
    /// Play the macOS plug-in sandbox that refuses to create shared memory:
    /// the driver stays silent until a segment is pre-created for it
    /// (`gecko ring precreate`), then attaches while IO runs.
    #[arg(long)]
    pub deny_shm_create: bool,
    /// Be a recording app as well: read Gecko Sink's input stream (the
    /// loopback: `gecko loopback pre|post|off`) every IO cycle and write it to
    /// this WAV file (float32). IO runs 1 s past the source's end so the post
    /// tap's latency is covered.
    #[arg(long, value_name = "FILE")]
    pub record_input: Option<PathBuf>,
}

impl HostArgs {
    pub fn config(&self) -> Result<HostConfig> {
        gecko_ring::validate_name(&self.shm_name)?;
        let source = match (&self.file, self.sine) {
            (Some(path), _) => {
                if !path.exists() {
                    bail!("audio file not found: {}", path.display());
                }
                SourceSpec::File {
                    path: path.clone(),
                    resample: if self.no_resample { Resample::Reject } else { Resample::Allow },
                }
            }
            (None, Some(freq_hz)) => SourceSpec::Sine { freq_hz, dbfs: self.sine_dbfs, seconds: self.sine_seconds },
            (None, None) => bail!("give an audio FILE or --sine HZ"),
        };
        let bundle = self.bundle.clone().unwrap_or_else(|| gecko_driver_bundle::bundle_path().to_path_buf());
        if !bundle.join("Contents/Info.plist").exists() {
            bail!(
                "{} is not a driver bundle (no Contents/Info.plist); build it with `cargo build -p gecko-driver-bundle` or pass --bundle",
                bundle.display()
            );
        }
        let mut c = HostConfig::new(bundle, &self.shm_name, source);
        c.pacing = if self.fast { Pacing::Fast } else { Pacing::RealTime };
        c.io_buffer_frames = self.io_buffer_frames;
        c.deny_shm_create = self.deny_shm_create;
        c.wait_for_reader = self.wait_for_engine.map(|s| crate::seconds("--wait-for-engine", s)).transpose()?;
        c.plays = self.repeat;
        c.gap = crate::seconds("--gap", self.gap)?;
        if let Some(p) = &self.record_input
            && let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.is_dir()
        {
            bail!("cannot record the input to {}: folder {} does not exist", p.display(), dir.display());
        }
        c.record_input = self.record_input.clone();
        Ok(c)
    }
}

pub fn run(a: HostArgs, cancel: &AtomicBool) -> Result<()> {
    let config = a.config()?;
    let bar = (!a.quiet && std::io::stderr().is_terminal()).then(|| {
        let b = ProgressBar::new(0);
        b.set_style(ProgressStyle::with_template("{spinner} host {bar:30} {msg}").expect("static template"));
        b.enable_steady_tick(Duration::from_millis(100));
        b
    });
    let report = gecko_simhost::run(&config, cancel, |p| {
        if let Some(b) = &bar {
            if let Some(t) = p.total_frames {
                b.set_length(t);
            }
            b.set_position(p.frames_written);
            b.set_message(format!("{:.2} s of audio, {} IO cycles", p.audio_seconds, p.cycles));
        }
    });
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let report = report.context("the simulated host stopped")?;
    if !a.quiet {
        print!("{}", host_report(&report));
    }
    Ok(())
}

pub fn host_report(r: &HostReport) -> String {
    let mut s = String::from("Simulated host report\n");
    s.push_str(&format!(
        "  device      {:?} ({}), {} ch @ {} Hz, zero-timestamp period {} frames\n",
        r.device.name, r.device.uid, r.device.channels, r.device.sample_rate, r.device.zero_timestamp_period
    ));
    s.push_str(&format!("  source      {}\n", r.source));
    if let Some(from) = r.resampled_from {
        s.push_str(&format!("  resampled   from {from} Hz to {} Hz (rubato, sinc)\n", r.device.sample_rate));
    }
    s.push_str(&format!(
        "  IO          {} cycles · {} frames written ({} from the source) · {:.3} s of audio in {:.3} s · late cycles {}\n",
        r.cycles,
        r.frames_written,
        r.source_frames,
        r.audio_time.as_secs_f64(),
        r.elapsed.as_secs_f64(),
        r.late_cycles
    ));
    s.push_str(&format!(
        "  timestamps  {} zero timestamps checked, {} inconsistent\n",
        r.zero_timestamps.observed, r.zero_timestamps.violations
    ));
    if let Some(i) = &r.input {
        let peak = if i.peak > 0.0 { format!("{:.1} dBFS", 20.0 * i.peak.log10()) } else { "silence".into() };
        s.push_str(&format!(
            "  input       {} frames ({:.3} s) recorded to {} · peak {} · input latency {} frames · source frame 0 at recording frame {}\n",
            i.frames,
            i.frames as f64 / r.device.sample_rate,
            i.path.display(),
            peak,
            i.latency_frames,
            i.alignment_frames + i.latency_frames as u64
        ));
        if i.non_finite > 0 {
            s.push_str(&format!(
                "  input       {} non-finite samples (a driver bug: please report it)\n",
                i.non_finite
            ));
        }
    }
    if r.cancelled {
        s.push_str("  cancelled before the end of the source\n");
    }
    s
}
