//! `gecko demo`: the whole path in two processes.
//!
//! This process runs the engine; a child `gecko host` process loads the C
//! driver and plays the file into it. Every frame crosses POSIX shared
//! memory between the two, as between coreaudiod and the engine on a Mac.

use crate::{EngineOpts, ui};
use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use gecko_engine::{EngineConfig, Playback};
use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// A real recording every Debian machine with alsa-utils has.
pub const DEFAULT_RECORDING: &str = "/usr/share/sounds/alsa/Front_Center.wav";

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Audio file to play (WAV, FLAC, MP3, OGG/Vorbis) [default: /usr/share/sounds/alsa/Front_Center.wav].
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,
    /// Where to write what the engine produced (float32 WAV).
    #[arg(long, short = 'o', value_name = "FILE", default_value = "gecko-demo.wav")]
    out: PathBuf,
    #[command(flatten)]
    opts: EngineOpts,
    /// Run as fast as the engine reads instead of in real time (the default when nothing can play).
    #[arg(long, conflicts_with = "realtime")]
    fast: bool,
    /// Run in real time even when nothing plays.
    #[arg(long)]
    realtime: bool,
    /// Refuse a file whose sample rate differs from the device's instead of resampling it.
    #[arg(long)]
    no_resample: bool,
    /// The driver bundle to load (default: the one built with this `gecko`).
    #[arg(long, value_name = "DIR")]
    bundle: Option<PathBuf>,
    /// No live meters.
    #[arg(long, short)]
    quiet: bool,
}

pub fn run(a: DemoArgs, cancel: &Arc<AtomicBool>) -> Result<()> {
    let resolved = a.opts.resolve(gecko_identity::DEFAULT_SAMPLE_RATE)?;
    let file = match &a.file {
        Some(f) => f.clone(),
        None => {
            let f = PathBuf::from(DEFAULT_RECORDING);
            if !f.exists() {
                bail!(
                    "no FILE given and the default recording {DEFAULT_RECORDING} is missing: \
                     install it (`sudo apt-get install alsa-utils`) or pass an audio file"
                );
            }
            f
        }
    };
    // Fail fast, in this process, on a missing or undecodable file.
    gecko_simhost::FileSource::open(
        &file,
        gecko_driver_bundle::CHANNELS,
        gecko_identity::DEFAULT_SAMPLE_RATE,
        gecko_simhost::Resample::Allow,
    )
    .with_context(|| format!("cannot play {}", file.display()))?;
    if let Some(parent) = a.out.parent().filter(|p| !p.as_os_str().is_empty())
        && !parent.is_dir()
    {
        bail!("cannot write {}: directory {} does not exist", a.out.display(), parent.display());
    }

    // Real time when we can play; otherwise as fast as the engine reads.
    let mut playback = resolved.playback.clone();
    let mut output_note = None;
    if playback != Playback::None {
        let dev = match &playback {
            Playback::Device(d) => Some(d.as_str()),
            _ => None,
        };
        let rate = gecko_identity::DEFAULT_SAMPLE_RATE as u32;
        match gecko_engine::output::probe(dev, gecko_driver_bundle::CHANNELS as u16, rate) {
            Ok(_) => {}
            Err(e) if matches!(playback, Playback::Default) => {
                output_note = Some(e.to_string());
                playback = Playback::None;
            }
            Err(e) => return Err(e).context("cannot play on the requested device"),
        }
    }
    let fast = a.fast || (!a.realtime && playback == Playback::None);
    let shm_name = format!("/gkdemo-{}", std::process::id());
    let _ = gecko_ring::unlink_segments(&shm_name);

    eprintln!(
        "gecko demo: {} → C driver (simulated coreaudiod, child process) → shm {shm_name} → engine → {}{}",
        file.display(),
        a.out.display(),
        match (&playback, &output_note) {
            (Playback::None, Some(why)) =>
                format!(" (not playing: {why}; running {})", if fast { "fast" } else { "in real time" }),
            (Playback::None, None) => format!(" (not playing; running {})", if fast { "fast" } else { "in real time" }),
            _ => " + speakers".to_owned(),
        }
    );

    let mut child = spawn_host(&a, &file, &shm_name, fast)?;
    let stderr = child.stderr.take();
    let host_stderr = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(mut e) = stderr {
            let _ = e.read_to_string(&mut s);
        }
        s
    });
    // Stop the engine (even while it waits to attach) when the user cancels
    // or the host dies.
    let stop = Arc::new(AtomicBool::new(false));
    let host_failed = Arc::new(AtomicBool::new(false));
    let child = Arc::new(std::sync::Mutex::new(child));
    let watcher = {
        let (stop, host_failed, child, cancel) = (stop.clone(), host_failed.clone(), child.clone(), cancel.clone());
        std::thread::spawn(move || {
            loop {
                if cancel.load(Ordering::Relaxed) {
                    stop.store(true, Ordering::Relaxed);
                }
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let status = child.lock().map(|mut c| c.try_wait());
                match status {
                    Ok(Ok(Some(st))) => {
                        if !st.success() {
                            host_failed.store(true, Ordering::Relaxed);
                            stop.store(true, Ordering::Relaxed);
                        }
                        return;
                    }
                    Ok(Ok(None)) => std::thread::sleep(Duration::from_millis(50)),
                    _ => return,
                }
            }
        })
    };
    let config = EngineConfig {
        shm_name: shm_name.clone(),
        settings: gecko_engine::Settings { playback, ..resolved },
        record: Some(a.out.clone()),
        attach_wait: Duration::from_secs(30),
        exit_on_stop: true,
        ..EngineConfig::default()
    };
    let view = ui::LiveView::new(!a.quiet);
    let report = gecko_engine::run(&config, &stop, || None, |p| view.update(p));
    view.finish();
    // The engine ended: make sure the host ends too, then collect it.
    let engine_failed = report.is_err() || cancel.load(Ordering::Relaxed);
    let status = {
        let mut c = child.lock().map_err(|_| anyhow!("host watcher panicked"))?;
        if engine_failed {
            let _ = c.kill();
        }
        c.wait().context("waiting for the simulated host")?
    };
    stop.store(true, Ordering::Relaxed);
    let _ = watcher.join();
    let host_err = host_stderr.join().unwrap_or_default();
    let _ = gecko_ring::unlink_segments(&shm_name);

    if host_failed.load(Ordering::Relaxed) || (!status.success() && !engine_failed) {
        bail!("the simulated host failed ({status}):\n{}", host_err.trim_end());
    }
    let mut report = report.context("the engine stopped")?;
    if report.output.is_none() {
        report.output_skipped = output_note.or(report.output_skipped);
    }
    if cancel.load(Ordering::Relaxed) {
        eprintln!("cancelled; the recording so far is in {}", a.out.display());
    }
    print!("{}", ui::report(&report, Some(&a.out)));
    Ok(())
}

fn spawn_host(a: &DemoArgs, file: &std::path::Path, shm_name: &str, fast: bool) -> Result<Child> {
    let exe = std::env::current_exe().context("cannot find the gecko executable to start the host")?;
    let mut cmd = Command::new(exe);
    cmd.arg("host").arg(file).args(["--shm-name", shm_name, "--wait-for-engine", "30", "--quiet"]);
    if fast {
        cmd.arg("--fast");
    }
    if a.no_resample {
        cmd.arg("--no-resample");
    }
    if let Some(b) = &a.bundle {
        cmd.arg("--bundle").arg(b);
    }
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
    cmd.spawn().context("cannot start the simulated host (gecko host)")
}
