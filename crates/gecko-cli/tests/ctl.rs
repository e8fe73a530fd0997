//! `gecko ctl` against a real engine process: the simulated host (C driver)
//! and `gecko engine` run as child processes; `gecko ctl` talks to the
//! engine over its control socket.

mod common;
use common::report_number;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn gecko() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gecko"));
    c.env_remove("RUST_LOG").env_remove("GECKO_CONTROL_SOCKET").stdin(Stdio::null());
    c
}

/// Kills and reaps the children, and removes the ring, however the test ends.
struct Procs {
    children: Vec<Child>,
    shm: String,
}

impl Drop for Procs {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = nix::sys::mman::shm_unlink(self.shm.as_str());
        let _ = nix::sys::mman::shm_unlink(format!("{}.rd", self.shm).as_str());
    }
}

fn ctl(sock: &Path, args: &[&str]) -> Output {
    let out = gecko().arg("ctl").arg("--socket").arg(sock).args(args).output().expect("spawn gecko ctl");
    eprintln!(
        "--- ctl {args:?}: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn ok(sock: &Path, args: &[&str]) -> String {
    let o = ctl(sock, args);
    assert!(o.status.success(), "gecko ctl {args:?} failed: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

fn json(sock: &Path, args: &[&str]) -> serde_json::Value {
    let mut a = vec!["--json"];
    a.extend_from_slice(args);
    serde_json::from_str(&ok(sock, &a)).unwrap()
}

/// Polls `--json telemetry` until `pred` holds for its max peak, or panics after `secs`.
fn wait_for_peak(sock: &Path, secs: u64, what: &str, pred: impl Fn(f64) -> bool) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut last = None;
    while Instant::now() < deadline {
        let o = ctl(sock, &["--json", "telemetry"]);
        if o.status.success() {
            let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
            last = v["meters"]["max_peak_dbfs"].as_f64();
            if let Some(p) = last.filter(|&p| pred(p)) {
                return p;
            }
        }
        std::thread::sleep(Duration::from_millis(150));
    }
    panic!("waited {secs} s for {what}; last peak {last:?}");
}

#[test]
fn ctl_without_an_engine_says_how_to_start_one() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("nobody.sock");
    let o = ctl(&sock, &["status"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("no engine is listening on {}", sock.display())) && err.contains("gecko engine"),
        "{err}"
    );
}

#[test]
fn ctl_controls_and_watches_a_running_engine() {
    let dir = tempfile::tempdir().unwrap();
    let sock: PathBuf = dir.path().join("engine.sock");
    let shm = format!("/gkctl{}", std::process::id());
    let mut procs = Procs { children: Vec::new(), shm: shm.clone() };
    let _ = nix::sys::mman::shm_unlink(shm.as_str());
    procs.children.push(
        gecko()
            .args([
                "host",
                "--sine",
                "440",
                "--sine-seconds",
                "30",
                "--quiet",
                "--wait-for-engine",
                "30",
                "--shm-name",
                &shm,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    procs.children.push(
        gecko()
            .args(["engine", "--no-play", "--quiet", "--wait", "30", "--shm-name", &shm, "--control-socket"])
            .arg(&sock)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while !sock.exists() {
        assert!(Instant::now() < deadline, "the engine never opened its control socket");
        std::thread::sleep(Duration::from_millis(50));
    }
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777, 0o600);

    // The sine plays at -6 dBFS through a bypass engine.
    let before = wait_for_peak(&sock, 30, "the sine at -6 dBFS", |p| (p + 6.0).abs() < 1.0);
    let status = ok(&sock, &["status"]);
    assert!(status.contains(&format!("ring       {shm}: 2 ch @ 48000 Hz")), "{status}");
    assert!(status.contains("output     none (headless)") && status.contains("gain 0 dB"), "{status}");
    let st = json(&sock, &["status"]);
    assert_eq!(st["ring"], shm.as_str());
    assert_eq!(st["format"]["channels"], 2);
    assert!(st["pid"].as_u64().is_some() && st["writer"]["io_cycles"].as_u64() > Some(0), "{st}");

    let out = ok(&sock, &["gain", "-6"]);
    assert!(out.contains("gain -6 dB"), "{out}");
    let after = wait_for_peak(&sock, 10, "the peak to drop by 6 dB", |p| (p + 12.0).abs() < 1.0);
    eprintln!("peak {before:.2} → {after:.2} dBFS");
    assert!((before - after - 6.0).abs() < 0.5, "gain -6 dB: {before:.2} → {after:.2}");
    assert!(ok(&sock, &["status"]).contains("gain -6 dB"));
    let line = ok(&sock, &["telemetry"]);
    assert!(line.starts_with("peak -12.") && line.contains("LUFS"), "{line}");

    // A headless engine has no output to move.
    let o = ctl(&sock, &["device", "studio"]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("headless"));

    // Refusals are clear and change nothing.
    let o = ctl(&sock, &["gain", "50"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("out of range"));
    let o = ctl(&sock, &["preset", "nope"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("neither a built-in"));
    assert_eq!(json(&sock, &["status"])["params"]["gain_db"], -6.0);

    // Presets by name and from a file; limiter; bypass.
    assert_eq!(json(&sock, &["preset", "speech"])["preset"], "speech");
    let file = dir.path().join("quiet.toml");
    std::fs::write(&file, "name = \"quiet\"\ngain_db = -20\n[limiter]\nenabled = false\n").unwrap();
    let a = json(&sock, &["preset", file.to_str().unwrap()]);
    assert_eq!((a["preset"].as_str(), a["params"]["gain_db"].as_f64()), (Some("quiet"), Some(-20.0)));
    wait_for_peak(&sock, 10, "the file preset's -20 dB", |p| (p + 26.0).abs() < 1.0);
    assert_eq!(json(&sock, &["limiter", "on", "--ceiling", "-3"])["params"]["limiter"]["ceiling_dbtp"], -3.0);
    let a = json(&sock, &["eq", "2", "high_shelf", "8000", "--q", "0.707", "--gain-db", "-3"]);
    assert_eq!(a["params"]["eq"]["bands"][2]["type"], "high_shelf");
    assert_eq!(a["params"]["eq"]["bands"][2]["gain_db"], -3.0);
    let o = ctl(&sock, &["eq", "2", "wobble", "100"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a filter type"));
    let o = ctl(&sock, &["eq", "2", "peaking", "90000"]);
    assert_eq!(o.status.code(), Some(1), "a band above Nyquist is refused");
    assert!(ok(&sock, &["bypass"]).contains("bypass"));
    wait_for_peak(&sock, 10, "bypass back to -6 dBFS", |p| (p + 6.0).abs() < 1.0);

    // A subscription (the app's window): 20 messages at 20 Hz take about a second.
    let start = Instant::now();
    let follow = ok(&sock, &["telemetry", "--follow", "--rate", "20", "--count", "20"]);
    let took = start.elapsed().as_secs_f64();
    assert_eq!(follow.lines().count(), 20, "{follow}");
    assert!(follow.lines().all(|l| l.starts_with("peak ")), "{follow}");
    assert!((0.6..4.0).contains(&took), "20 messages at 20 Hz took {took:.2} s");

    // The app closed and reopened: a new client works, audio never stopped.
    let frames = |v: &serde_json::Value| v["frames_in"].as_u64().unwrap();
    let t1 = json(&sock, &["telemetry"]);
    std::thread::sleep(Duration::from_millis(500));
    let t2 = json(&sock, &["telemetry"]);
    assert!(frames(&t2) > frames(&t1), "the engine keeps reading audio between clients");
    assert_eq!(json(&sock, &["status"])["clients"], 1, "earlier clients are gone");

    // Ctrl-C: the engine reports and removes its socket.
    let mut engine = procs.children.pop().unwrap();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(engine.id() as i32), nix::sys::signal::Signal::SIGINT).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while engine.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = engine.kill();
            panic!("the engine did not stop on SIGINT");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = engine.wait_with_output().unwrap();
    eprintln!("engine:\n{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success());
    assert!(!sock.exists(), "the engine removes its socket when it stops");
    let o = ctl(&sock, &["status"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("no engine is listening"));
}

/// A real engine playing to two ALSA null PCMs — "default" and "studio",
/// in a throwaway HOME's .asoundrc, standing in for two sound cards — fed a
/// 440 Hz sine of `secs` s by a simulated host, returned once audio flows.
struct TwoCards {
    sock: PathBuf,
    procs: Procs,
    host: Child,
    /// The engine's standard input, when it reads commands there.
    stdin: Option<std::process::ChildStdin>,
    home: tempfile::TempDir,
}

/// The throwaway HOME's ALSA configuration: the "default" null PCM, and the
/// "studio" one when it is plugged in.
fn asoundrc(studio: bool) -> &'static str {
    if studio {
        "pcm.!default { type null }\nctl.!default { type hw card 0 }\npcm.studio { type null\n hint { show on\n description \"Studio\" } }\n"
    } else {
        "pcm.!default { type null }\nctl.!default { type hw card 0 }\n"
    }
}

impl TwoCards {
    fn start(tag: &str, secs: u64, control_stdin: bool) -> TwoCards {
        TwoCards::start_with(tag, secs, control_stdin, &[])
    }

    /// As [`TwoCards::start`], with `extra` arguments for `gecko engine`.
    fn start_with(tag: &str, secs: u64, control_stdin: bool, extra: &[&str]) -> TwoCards {
        TwoCards::start_full(tag, secs, control_stdin, extra, &[])
    }

    /// As [`TwoCards::start_with`], with `host_extra` arguments for `gecko host`.
    fn start_full(tag: &str, secs: u64, control_stdin: bool, extra: &[&str], host_extra: &[&str]) -> TwoCards {
        let home = tempfile::tempdir().unwrap();
        std::fs::write(home.path().join(".asoundrc"), asoundrc(true)).unwrap();
        let sock: PathBuf = home.path().join("engine.sock");
        let shm = format!("/{tag}{}", std::process::id());
        let mut procs = Procs { children: Vec::new(), shm: shm.clone() };
        let _ = nix::sys::mman::shm_unlink(shm.as_str());
        let mut engine = gecko();
        engine.env("HOME", home.path()).args([
            "engine",
            "--quiet",
            "--exit-on-stop",
            "--wait",
            "30",
            "--shm-name",
            &shm,
        ]);
        engine.args(extra);
        if control_stdin {
            engine.arg("--control-stdin").stdin(Stdio::piped());
        }
        let mut engine =
            engine.arg("--control-socket").arg(&sock).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let stdin = engine.stdin.take();
        procs.children.push(engine);
        let host = gecko()
            .args([
                "host",
                "--sine",
                "440",
                "--sine-seconds",
                &secs.to_string(),
                "--quiet",
                "--wait-for-engine",
                "30",
                "--shm-name",
                &shm,
            ])
            .args(host_extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !sock.exists() {
            assert!(Instant::now() < deadline, "the engine never opened its control socket");
            std::thread::sleep(Duration::from_millis(50));
        }
        while frames_in(&sock) < 24_000 {
            assert!(Instant::now() < deadline, "the engine never read audio from the ring");
            std::thread::sleep(Duration::from_millis(100));
        }
        TwoCards { sock, procs, host, stdin, home }
    }

    /// Waits for the host to finish and the engine to exit; the engine's
    /// (report on stdout, messages on stderr).
    fn finish(mut self) -> (String, String) {
        assert!(self.host.wait().unwrap().success());
        drop(self.stdin.take());
        let out = self.procs.children.remove(0).wait_with_output().unwrap();
        let (report, err) =
            (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
        assert!(out.status.success(), "{report}\n{err}");
        (report, err)
    }
}

/// Frames the engine has read from the ring. The null PCMs are unpaced:
/// their callbacks run far faster than real time, so the 50 ms telemetry
/// windows are mostly silence; this count is what shows the audio flowing.
fn frames_in(sock: &Path) -> u64 {
    let o = ctl(sock, &["--json", "telemetry"]);
    serde_json::from_slice::<serde_json::Value>(&o.stdout).ok().and_then(|t| t["frames_in"].as_u64()).unwrap_or(0)
}

/// `gecko ctl device` moves a playing engine to another output while the
/// audio keeps flowing from the same ring: two ALSA null PCMs ("default" and
/// "studio", in a throwaway HOME's .asoundrc) stand in for two sound cards.
/// Refusals (Gecko Sink itself, a device that does not exist) leave playback
/// where it is.
#[test]
fn ctl_moves_playback_to_another_device_live() {
    let secs = 10;
    let session = TwoCards::start("gkdev", secs, false);
    let sock = session.sock.clone();
    assert_eq!(json(&sock, &["status"])["output_device"], "default");

    let out = ok(&sock, &["device", "studio"]);
    assert_eq!(out.trim(), "playing on studio @ 48000 Hz");
    assert_eq!(json(&sock, &["status"])["output_device"], "studio", "the status follows within 100 ms");
    // The ring keeps flowing into the engine after the move.
    let at_move = frames_in(&sock);
    let deadline = Instant::now() + Duration::from_secs(10);
    while frames_in(&sock) < at_move + 48_000 {
        assert!(Instant::now() < deadline, "no audio read from the ring after the move");
        std::thread::sleep(Duration::from_millis(100));
    }

    for (bad, why) in [("Gecko Sink", "Gecko Sink"), ("nowhere", "nowhere")] {
        let o = ctl(&sock, &["device", bad]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && err.contains(why) && err.contains("still playing on studio"), "{err}");
    }
    assert_eq!(json(&sock, &["status"])["output_device"], "studio");
    let o = json(&sock, &["device"]);
    assert_eq!(o["device"], "default");
    assert_eq!(o["rate_hz"], 48000);

    let (report, err) = session.finish();
    eprintln!("engine:\n{report}\n{err}");
    assert!(report.contains("device switches 2"), "{report}");
    // The ring was never lost: the engine read the whole stream, no laps.
    let read: u64 = report_number(&report, "frames      in ");
    assert!(read >= secs * 48_000, "read {read} frames of a {secs} s stream");
    assert!(report.contains("· laps 0 ·"), "no ring laps: {report}");
}

/// The engine's standard input takes the same live commands as its socket:
/// `device studio` moves playback (the engine answers on stderr) and the
/// ring keeps flowing; `mute on` reaches the settings.
#[test]
fn engine_stdin_moves_playback_and_mutes() {
    use std::io::Write;
    let mut session = TwoCards::start("gkstd", 6, true);
    let sock = session.sock.clone();
    let mut stdin = session.stdin.take().expect("the engine reads stdin");
    writeln!(stdin, "device studio").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while json(&sock, &["status"])["output_device"] != "studio" {
        assert!(Instant::now() < deadline, "stdin's device command never moved playback");
        std::thread::sleep(Duration::from_millis(50));
    }
    writeln!(stdin, "mute on").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while json(&sock, &["status"])["params"]["mute"] != true {
        assert!(
            Instant::now() < deadline,
            "stdin's mute command never reached the settings: {}",
            json(&sock, &["status"])
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(stdin);
    let (report, err) = session.finish();
    assert!(err.contains("→ playing on studio @ 48000 Hz"), "the engine's answer on stderr: {err}");
    assert!(err.contains("→ muted"), "{err}");
    assert!(report.contains("device switches 1"), "{report}");
    assert!(report.contains("· laps 0 ·"), "no ring laps: {report}");
}

/// Hot-plug: the engine plays on the device the user chose ("studio"); the
/// device disappears from the system (its PCM leaves the ALSA configuration,
/// as a USB interface leaves ALSA's card list when unplugged) and the engine
/// moves to the default on its own; the device comes back and the engine
/// returns to it. The audio from the ring keeps flowing throughout.
#[test]
fn the_engine_follows_its_device_out_and_back_in() {
    let secs = 10;
    let session = TwoCards::start_with("gkplug", secs, false, &["--device", "studio", "--device-poll-ms", "200"]);
    let sock = session.sock.clone();
    let rc = session.home.path().join(".asoundrc");
    let wait_for = |device: &str| {
        let deadline = Instant::now() + Duration::from_secs(5);
        while json(&sock, &["status"])["output_device"] != device {
            assert!(Instant::now() < deadline, "the engine never moved to {device}: {}", json(&sock, &["status"]));
            std::thread::sleep(Duration::from_millis(50));
        }
        frames_in(&sock)
    };
    wait_for("studio");
    std::fs::write(&rc, asoundrc(false)).unwrap(); // unplugged
    let at_loss = wait_for("default");
    let deadline = Instant::now() + Duration::from_secs(10);
    while frames_in(&sock) < at_loss + 24_000 {
        assert!(Instant::now() < deadline, "no audio read from the ring after the loss");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::fs::write(&rc, asoundrc(true)).unwrap(); // plugged in again
    let at_return = wait_for("studio");
    let deadline = Instant::now() + Duration::from_secs(10);
    while frames_in(&sock) < at_return + 24_000 {
        assert!(Instant::now() < deadline, "no audio read from the ring after the return");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (report, err) = session.finish();
    eprintln!("engine:\n{report}\n{err}");
    assert!(err.contains("output device \"studio\" disappeared; switching to the default device"), "{err}");
    assert!(report.contains("device switches 2 (1 lost)"), "{report}");
    let read: u64 = report_number(&report, "frames      in ");
    assert!(read >= secs * 48_000, "read {read} frames of a {secs} s stream");
    assert!(report.contains("· laps 0 ·"), "no ring laps: {report}");
}

/// Presets per output device, through a real engine process on two ALSA
/// null PCMs: "studio" is bound to a preset whose EQ cuts 440 Hz by 12 dB;
/// the engine starts on "default" (no binding: bypass), a client moves it to
/// "studio", and the engine takes the bound preset within a second: its
/// status names it and carries its band, and its own recording of a 440 Hz
/// sine goes from the bit-exact sine (bypass) to a quieter one.
///
/// Not shown here: the exact −12 dB and the absence of a step at the switch
/// in the recording. The null PCMs are not paced by a clock: they run the
/// ring dry between callbacks (the recording is the sine gated by silences,
/// each gate restarting the EQ's transient) and at ~90× real time the
/// recorder drops blocks. crates/gecko-engine/tests/preset_switch.rs shows
/// both sample by sample on a paced render of the same preset change.
#[test]
fn moving_the_output_applies_the_preset_bound_to_the_device() {
    let secs = 6;
    let rec_dir = tempfile::tempdir().unwrap();
    let rec = rec_dir.path().join("rec.wav");
    let session = TwoCards::start_with("gkbind", secs, false, &["-r", rec.to_str().unwrap()]);
    let sock = session.sock.clone();
    let presets = session.home.path().join(".config/gecko/presets");
    std::fs::create_dir_all(&presets).unwrap();
    std::fs::write(
        presets.join("Studio EQ.toml"),
        "[[eq.bands]]\ntype = \"peaking\"\nfreq = 440.0\nq = 1.0\ngain_db = -12.0\n",
    )
    .unwrap();
    let o = gecko().env("HOME", session.home.path()).args(["preset", "bind", "studio", "Studio EQ"]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(json(&sock, &["status"])["preset"], serde_json::Value::Null, "default has no binding: bypass");
    ok(&sock, &["device", "studio"]);
    let moved = Instant::now();
    while json(&sock, &["status"])["preset"] != "Studio EQ" {
        assert!(
            moved.elapsed() < Duration::from_secs(1),
            "the bound preset was not applied: {}",
            json(&sock, &["status"])
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let st = json(&sock, &["status"]);
    let band = &st["params"]["eq"]["bands"][0];
    assert_eq!(
        (band["type"].as_str(), band["freq"].as_f64(), band["gain_db"].as_f64()),
        (Some("peaking"), Some(440.0), Some(-12.0)),
        "{st}"
    );
    // The preset's response at 440 Hz as the engine runs it.
    let o = gecko()
        .env("HOME", session.home.path())
        .args(["eq", "response", "Studio EQ", "--csv", "--freqs", "440"])
        .output()
        .unwrap();
    let csv = String::from_utf8_lossy(&o.stdout);
    let db: f64 = csv.lines().nth(1).and_then(|l| l.split(',').nth(1)).and_then(|v| v.parse().ok()).unwrap();
    assert!((db + 12.0).abs() < 1e-6, "{csv}");
    let (report, err) = session.finish();
    eprintln!("engine:\n{report}\n{err}");
    let mut r = hound::WavReader::open(&rec).unwrap();
    let samples: Vec<f32> = r.samples::<f32>().map(Result::unwrap).collect();
    let left: Vec<f32> = samples.chunks_exact(2).map(|f| f[0]).collect();
    let peaks: Vec<f32> =
        left.chunks(960).map(|b| b.iter().fold(0f32, |m, x| m.max(x.abs()))).filter(|p| *p > 0.01).collect();
    assert!(peaks.len() > 100, "too little audio recorded: {} blocks", peaks.len());
    let full = peaks[..20].iter().copied().fold(0f32, f32::max);
    let tail = &peaks[peaks.len() - 50..];
    let tail_mean = tail.iter().sum::<f32>() / tail.len() as f32;
    assert!(tail.iter().all(|p| *p <= full * 1.001), "no block after the switch is louder than the bypassed sine");
    assert!(20.0 * (tail_mean / full).log10() < -3.0, "the cut shows in the recording: {tail_mean} vs {full}");
}
