//! What `gecko engine` costs while nothing plays into Gecko Sink, beside
//! what it costs while playing (issue 14): its context switches (every
//! wake-up of one of its threads) and CPU time, from /proc, over an idle
//! window and a playing window. Real processes: `gecko host` (the C driver
//! in the simulated coreaudiod) plays a sine, stops IO as the HAL does when
//! no client plays, waits, and plays again; `gecko engine` is measured from
//! outside. See docs/performance.md.
//!
//! Run: `cargo bench -p gecko-cli --bench idle` (both modes, 60 s idle and
//! 10 s playing each: about 3 minutes), `… -- --seconds N` for an idle
//! window of N s, `… -- --play-seconds N` for the playing window,
//! `… -- --mode output|headless|both`. Run without `--bench` (e.g. `cargo
//! test --benches`), it does a quick run (5 s idle, 2 s playing).
//!
//! Modes: `output`, the engine plays on a real cpal output stream — ALSA's
//! `null` PCM here (a throwaway HOME with an .asoundrc): no sound card in
//! the build farm. The null PCM is not paced by a clock (its callbacks come
//! as fast as they return), so the *playing* figures of this mode are an
//! upper bound, a core spinning, not what a sound card costs; it cannot
//! pause either, so the engine closes the stream while idle. `headless`,
//! `--no-play`: the engine pumps the ring itself (what `gecko engine` does on
//! a machine without an output device).
//!
//! Exit status 1 when an idle window costs more than 10 wake-ups a second
//! or 0.1 % of a core, or the engine lost audio (a lap or skipped frames).

use gecko_control::ControlClient;
use gecko_test_kit::proc_load::{self, LoadRates};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Limits from the issue, for the idle windows.
const MAX_IDLE_WAKEUPS_PER_S: f64 = 10.0;
const MAX_IDLE_CPU_PERCENT: f64 = 0.1;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Output,
    Headless,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Output => "output",
            Mode::Headless => "headless",
        }
    }
}

struct Args {
    idle: Duration,
    play: Duration,
    modes: Vec<Mode>,
}

fn parse_args() -> Result<Args, String> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let full = argv.iter().any(|a| a == "--bench");
    let mut a = if full {
        Args { idle: Duration::from_secs(60), play: Duration::from_secs(10), modes: vec![Mode::Output, Mode::Headless] }
    } else {
        Args { idle: Duration::from_secs(5), play: Duration::from_secs(2), modes: vec![Mode::Output, Mode::Headless] }
    };
    let mut it = argv.iter();
    let secs = |v: Option<&String>, what: &str| -> Result<Duration, String> {
        v.and_then(|s| s.parse::<f64>().ok())
            .filter(|s| s.is_finite() && (1.0..=3600.0).contains(s))
            .map(Duration::from_secs_f64)
            .ok_or_else(|| format!("{what} takes a number of seconds from 1 to 3600"))
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--seconds" => a.idle = secs(it.next(), "--seconds")?,
            "--play-seconds" => a.play = secs(it.next(), "--play-seconds")?,
            "--mode" => {
                a.modes = match it.next().map(String::as_str) {
                    Some("output") => vec![Mode::Output],
                    Some("headless") => vec![Mode::Headless],
                    Some("both") => vec![Mode::Output, Mode::Headless],
                    _ => return Err("--mode takes output, headless or both".into()),
                }
            }
            // cargo's own flags for bench binaries.
            "--bench" | "--nocapture" | "--quiet" => {}
            other => return Err(format!("unknown argument {other:?} (--seconds N, --play-seconds N, --mode M)")),
        }
    }
    Ok(a)
}

/// A child process killed (and reaped) on drop, whatever happens.
struct Guard(Option<Child>);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(c) = self.0.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn gecko() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gecko"));
    c.env_remove("RUST_LOG");
    c
}

fn ring(name: &str) -> Option<gecko_ring::RingStatus> {
    gecko_ring::Peek::open(name).ok()?.status().ok()
}

fn status(sock: &Path) -> Option<gecko_control::protocol::Status> {
    ControlClient::connect(sock).ok()?.status().ok()
}

/// Polls `cond` every `every` until it holds, or fails with `what` after `limit`.
fn wait_for<T>(limit: Duration, every: Duration, what: &str, mut cond: impl FnMut() -> Option<T>) -> Result<T, String> {
    let t0 = Instant::now();
    loop {
        if let Some(v) = cond() {
            return Ok(v);
        }
        if t0.elapsed() > limit {
            return Err(format!("{what} (waited {limit:?})"));
        }
        std::thread::sleep(every);
    }
}

/// The engine's cost over `window`, with no control connection open.
fn measure(pid: u32, window: Duration) -> Result<(LoadRates, usize), String> {
    // The thread serving the last status request ends within 200 ms.
    std::thread::sleep(Duration::from_millis(400));
    let (r, load) = proc_load::measure(pid, window).map_err(|e| format!("/proc/{pid}: {e}"))?;
    Ok((r, load.threads))
}

struct ModeResult {
    playing: (LoadRates, usize),
    idle: (LoadRates, usize),
    /// From the driver's StartIO (its io_running) to the engine's first read.
    wake: Duration,
    lost: Option<String>,
}

fn run_mode(mode: Mode, args: &Args) -> Result<ModeResult, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    std::fs::write(dir.path().join(".asoundrc"), "pcm.!default { type null }\nctl.!default { type hw card 0 }\n")
        .map_err(|e| e.to_string())?;
    let name = format!("/gkbench{}{}", std::process::id(), mode.name().chars().next().unwrap_or('x'));
    let _ = gecko_ring::unlink_segments(&name);
    let sock: PathBuf = dir.path().join("engine.sock");
    let mut engine = gecko();
    engine
        .env("HOME", dir.path())
        .args(["engine", "--quiet", "--wait", "30", "--shm-name", &name, "--control-socket"])
        .arg(&sock)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if mode == Mode::Headless {
        engine.arg("--no-play");
    }
    let mut engine = Guard(Some(engine.spawn().map_err(|e| format!("gecko engine: {e}"))?));
    let pid = engine.0.as_ref().map_or(0, Child::id);
    // Long enough for the playing window, and a gap long enough for the idle one.
    let play_s = args.play.as_secs_f64() + 3.0;
    let gap_s = args.idle.as_secs_f64() + 3.0;
    let mut host = Guard(Some(
        gecko()
            .args(["host", "--sine", "440", "--sine-seconds", &play_s.to_string(), "--repeat", "2"])
            .args(["--gap", &gap_s.to_string(), "--quiet", "--wait-for-engine", "30", "--shm-name", &name])
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("gecko host: {e}"))?,
    ));

    // Playing: the driver's IO runs and the engine reads.
    let ms = Duration::from_millis;
    wait_for(Duration::from_secs(30), ms(20), "the host never started IO", || {
        ring(&name).filter(|r| r.state.io_running && r.read_count.is_some_and(|c| c > 0)).map(|_| ())
    })?;
    std::thread::sleep(ms(600));
    let playing = measure(pid, args.play)?;

    // Idle: IO stopped, the engine says so.
    wait_for(Duration::from_secs_f64(play_s + 10.0), ms(50), "the engine never went idle", || {
        status(&sock).filter(|s| s.idle).map(|_| ())
    })?;
    let idle = measure(pid, args.idle)?;
    if !status(&sock).is_some_and(|s| s.idle) {
        return Err("the engine woke during the idle window (IO started early?)".into());
    }

    // Waking: StartIO, then the engine's first read.
    let read_before = ring(&name).and_then(|r| r.read_count).unwrap_or(0);
    let started = wait_for(Duration::from_secs(10), ms(1), "the host never started IO again", || {
        ring(&name).filter(|r| r.state.io_running).map(|_| Instant::now())
    })?;
    let read_at = wait_for(Duration::from_secs(5), ms(1), "the engine never read after IO started", || {
        ring(&name).filter(|r| r.read_count.is_some_and(|c| c > read_before)).map(|_| Instant::now())
    })?;
    let wake = read_at - started;

    let host_ok = host.0.take().map(|mut c| c.wait().is_ok_and(|s| s.success())).unwrap_or(false);
    if !host_ok {
        return Err("gecko host failed".into());
    }
    let child = engine.0.take().ok_or("no engine")?;
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGINT)
        .map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    let lost = (!report.contains("skipped 0 frames · laps 0 ·"))
        .then(|| report.lines().find(|l| l.trim_start().starts_with("engine")).unwrap_or("no report").to_owned());
    let _ = gecko_ring::unlink_segments(&name);
    Ok(ModeResult { playing, idle, wake, lost })
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().next().unwrap_or("?").to_owned())
        .unwrap_or_else(|_| "?".into())
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "gecko engine: idle vs playing — {} build, {cores} cores, idle window {:.0} s, playing window {:.0} s; load average {} at the start",
        if cfg!(debug_assertions) { "debug" } else { "release" },
        args.idle.as_secs_f64(),
        args.play.as_secs_f64(),
        load_average()
    );
    println!(
        "{:<9} {:<8} {:>8} {:>12} {:>12} {:>8}",
        "mode", "state", "window", "wake-ups/s", "% of a core", "threads"
    );
    let mut failures = Vec::new();
    for &mode in &args.modes {
        match run_mode(mode, &args) {
            Ok(r) => {
                for (state, (rates, threads), window) in
                    [("playing", r.playing, args.play), ("idle", r.idle, args.idle)]
                {
                    println!(
                        "{:<9} {:<8} {:>6.0} s {:>12.1} {:>12.3} {:>8}",
                        mode.name(),
                        state,
                        window.as_secs_f64(),
                        rates.wakeups_per_s,
                        rates.cpu_percent,
                        threads
                    );
                }
                println!(
                    "{:<9} woke {:.0} ms after the driver's StartIO (heartbeat {} ms)",
                    mode.name(),
                    r.wake.as_secs_f64() * 1e3,
                    gecko_engine::idle::HEARTBEAT.as_millis()
                );
                let (idle, _) = r.idle;
                if idle.wakeups_per_s > MAX_IDLE_WAKEUPS_PER_S {
                    failures.push(format!("{}: {:.1} wake-ups/s while idle", mode.name(), idle.wakeups_per_s));
                }
                if idle.cpu_percent > MAX_IDLE_CPU_PERCENT {
                    failures.push(format!("{}: {:.3} % of a core while idle", mode.name(), idle.cpu_percent));
                }
                if let Some(l) = r.lost {
                    failures.push(format!("{}: the engine lost audio: {l}", mode.name()));
                }
            }
            Err(e) => failures.push(format!("{}: {e}", mode.name())),
        }
    }
    if args.modes.contains(&Mode::Output) {
        println!(
            "(output: ALSA's null PCM, not paced by a clock — its playing figures are a core spinning, an upper bound)"
        );
    }
    println!("load average {} at the end", load_average());
    if failures.is_empty() {
        println!(
            "PASS: idle ≤ {MAX_IDLE_WAKEUPS_PER_S} wake-ups a second and ≤ {MAX_IDLE_CPU_PERCENT} % of a core; no audio lost"
        );
    } else {
        for f in &failures {
            println!("FAIL: {f}");
        }
        std::process::exit(1);
    }
}
