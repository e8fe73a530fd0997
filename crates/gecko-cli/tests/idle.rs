//! An engine that runs all day costs (almost) nothing while nothing plays:
//! real processes — `gecko host` (the C driver in the simulated coreaudiod)
//! plays a sound, stops IO as the HAL does when no client plays, and plays
//! it again; `gecko engine` goes idle in between, wakes rarely while idle
//! (a count of its context switches, not a timing), and takes the second
//! sound whole from the ring. The full measurement, with CPU time and the
//! figures while playing, is `cargo bench -p gecko-cli --bench idle`.

mod common;
use common::report_number;

use gecko_control::ControlClient;
use gecko_control::protocol::Status;
use gecko_test_kit::proc_load;
use std::ffi::OsStr;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The most wake-ups a second an idle engine may cost (issue 14). The
/// engine's heartbeat is 5 a second.
const MAX_IDLE_WAKEUPS_PER_S: f64 = 10.0;
/// 1 s of sine at 48 kHz, padded to whole 512-frame IO cycles: one play.
const PLAY_FRAMES: u64 = 48_128;

fn gecko() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gecko"));
    c.env_remove("RUST_LOG");
    c
}

/// A HOME whose ALSA default output is the `null` PCM (no sound card here;
/// it cannot pause, so the engine closes the stream while idle).
fn null_pcm_home() -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join(".asoundrc"), "pcm.!default { type null }\nctl.!default { type hw card 0 }\n")
        .unwrap();
    home
}

/// The engine's status, polled every 50 ms over a fresh connection until
/// `cond` holds; panics with `what` after `limit`.
fn wait_status(sock: &Path, limit: Duration, what: &str, cond: impl Fn(&Status) -> bool) -> Status {
    let t0 = Instant::now();
    let mut last = None;
    loop {
        if let Ok(s) = ControlClient::connect(sock).and_then(|mut c| c.status()) {
            if cond(&s) {
                return s;
            }
            last = Some(s);
        }
        let seen = last.as_ref().map(|s| (s.idle, s.drift.as_ref().map(|d| d.fill_frames), s.writer));
        assert!(t0.elapsed() < limit, "{what} (after {limit:?}); last status (idle, fill, driver): {seen:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The engine's wake-ups a second over `window`, measured with no control
/// connection open (each is served on a thread of the engine's own).
fn idle_wakeups(pid: u32, window: Duration) -> f64 {
    // Let the thread of the last status request end first.
    std::thread::sleep(Duration::from_millis(400));
    let (rates, load) = proc_load::measure(pid, window).expect("/proc");
    eprintln!("engine while idle: {rates:?}, {} threads", load.threads);
    rates.wakeups_per_s
}

/// Starts `gecko engine` on ring `name` with control socket `sock`, quiet,
/// waiting up to 20 s for the ring, with `extra` arguments (and `home` as
/// HOME when given); its stdout and stderr are piped.
fn spawn_engine(name: &str, sock: &Path, extra: &[&OsStr], home: Option<&Path>) -> Child {
    let mut cmd = gecko();
    if let Some(home) = home {
        cmd.env("HOME", home);
    }
    cmd.args(["engine", "--quiet", "--wait", "20", "--shm-name", name])
        .args(extra)
        .arg("--control-socket")
        .arg(sock)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for the engine (process `pid`, control socket `sock`) to go idle,
/// then measures its wake-ups over 2.5 s: at most
/// [`MAX_IDLE_WAKEUPS_PER_S`], and still idle at the end. Returns the status
/// that first said idle.
fn assert_idles_cheaply(pid: u32, sock: &Path) -> Status {
    let s = wait_status(sock, Duration::from_secs(20), "the engine never went idle after IO stopped", |s| s.idle);
    let wakeups = idle_wakeups(pid, Duration::from_millis(2500));
    assert!(ControlClient::connect(sock).unwrap().status().unwrap().idle, "idle through the measurement");
    assert!(wakeups <= MAX_IDLE_WAKEUPS_PER_S, "{wakeups:.1} wake-ups a second while idle");
    s
}

/// Stops the engine the way Ctrl-C does and returns its output.
fn interrupt(child: Child) -> Output {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGINT).unwrap();
    let o = child.wait_with_output().unwrap();
    eprintln!("engine:\n{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    o
}

fn host(name: &str, gap_s: u32) -> Child {
    gecko()
        .args(["host", "--sine", "1000", "--sine-seconds", "1", "--repeat", "2", "--gap", &gap_s.to_string()])
        .args(["--quiet", "--wait-for-engine", "20", "--shm-name", name])
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

fn ring_status(name: &str) -> gecko_ring::RingStatus {
    gecko_ring::Peek::open(name).and_then(|mut p| p.status()).expect("the ring")
}

/// The engine plays on a real cpal output stream: it goes idle once the
/// host stops IO (closing the stream: the null PCM cannot pause), costs at
/// most 10 wake-ups a second while idle, wakes when IO starts again and
/// reads the second sound whole — no frame skipped, no lap.
#[test]
fn a_playing_engine_sleeps_while_io_is_stopped_and_wakes_for_the_next_sound() {
    let home = null_pcm_home();
    let name = format!("/gkidle{}", std::process::id());
    let _ = gecko_ring::unlink_segments(&name);
    let sock = home.path().join("engine.sock");
    let engine = spawn_engine(&name, &sock, &[], Some(home.path()));
    let mut host = host(&name, 6);

    let s = assert_idles_cheaply(engine.id(), &sock);
    assert_eq!(s.output_device.as_deref(), Some("default"), "idle, it still names its output");
    let t = ControlClient::connect(&sock).unwrap().telemetry().unwrap();
    assert!(t.idle && !t.io_running, "{t:?}");

    wait_status(&sock, Duration::from_secs(10), "the engine did not wake for the second sound", |s| !s.idle);
    assert!(host.wait().unwrap().success(), "host failed");
    wait_status(&sock, Duration::from_secs(10), "the engine did not go idle after the second sound", |s| s.idle);
    // The ring read whole: the engine consumed every frame the driver wrote.
    let ring = ring_status(&name);
    assert_eq!(ring.read_count, Some(ring.write_count), "{ring:?}");
    assert_eq!(ring.writer.overrun_events, 0, "the driver found the ring full: {ring:?}");

    let o = interrupt(engine);
    assert!(o.status.success());
    let report = String::from_utf8_lossy(&o.stdout);
    let frames_in: u64 = report_number(&report, "frames      in ");
    assert_eq!(frames_in, 2 * PLAY_FRAMES, "both sounds read from the ring");
    assert!(report.contains("engine      skipped 0 frames · laps 0 ·"), "{report}");
    let periods: u64 = report_number(&report, "idle        ");
    assert_eq!(periods, 2, "idle after each sound: {report}");
    let _ = gecko_ring::unlink_segments(&name);
}

/// Headless (no output device: the engine pumps the ring itself), recording:
/// idle between the sounds at the same low cost, and the recording holds
/// both sounds bit-exact — the wake lost nothing.
#[test]
fn a_headless_engine_sleeps_while_io_is_stopped_and_records_the_next_sound_whole() {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("/gkidleh{}", std::process::id());
    let _ = gecko_ring::unlink_segments(&name);
    let sock = dir.path().join("engine.sock");
    let wav = dir.path().join("out.wav");
    let engine = spawn_engine(&name, &sock, &["--no-play".as_ref(), "-r".as_ref(), wav.as_os_str()], None);
    let mut host = host(&name, 6);

    // Counted: the pump's heartbeat and the recorder thread's backed-off wait.
    assert_idles_cheaply(engine.id(), &sock);

    assert!(host.wait().unwrap().success(), "host failed");
    wait_status(&sock, Duration::from_secs(10), "the engine did not go idle after the second sound", |s| s.idle);
    let o = interrupt(engine);
    assert!(o.status.success());
    let report = String::from_utf8_lossy(&o.stdout);
    let periods: u64 = report_number(&report, "idle        ");
    assert_eq!(periods, 2, "idle after each sound: {report}");

    let mut r = hound::WavReader::open(&wav).unwrap();
    let samples: Vec<f32> = r.samples::<f32>().map(Result::unwrap).collect();
    assert_eq!(samples.len() as u64, 2 * 2 * PLAY_FRAMES, "two sounds of {PLAY_FRAMES} stereo frames");
    let sine = gecko_simhost::SineSource::new(1000.0, -6.0, 1.0, 48_000.0, 2).unwrap();
    for (play, block) in samples.chunks_exact(2 * PLAY_FRAMES as usize).enumerate() {
        for (i, frame) in block.chunks_exact(2).enumerate() {
            let want = if i < 48_000 { sine.sample_at(i as u64) } else { 0.0 };
            assert!(
                frame.iter().all(|x| x.to_bits() == want.to_bits()),
                "sound {play}, frame {i}: {frame:?}, not {want}"
            );
        }
    }
    let _ = gecko_ring::unlink_segments(&name);
}
