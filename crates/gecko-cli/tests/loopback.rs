//! The loopback as a person uses it: `gecko host --record-input` plays a file
//! and records Gecko Sink's input stream like a recording app; `gecko
//! loopback` chooses the tap, saves it and reaches a running engine and,
//! through it, the driver.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn gecko(choice: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gecko"));
    c.env_remove("RUST_LOG").env_remove("GECKO_CONTROL_SOCKET").env("GECKO_LOOPBACK_FILE", choice);
    c.stdin(Stdio::null());
    c
}

fn run(c: &mut Command) -> String {
    let out = c.output().expect("spawn gecko");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    eprintln!("--- {c:?}: {}\n{text}", out.status);
    assert!(out.status.success(), "{c:?} failed:\n{text}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Kills and reaps the children, and removes the ring, however the test ends.
struct Procs(Vec<Child>, String);
impl Drop for Procs {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = gecko_ring::unlink_segments(&self.1);
    }
}

#[test]
fn a_recording_of_gecko_sink_is_the_played_file_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let song = dir.path().join("song.wav");
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 48000,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(&song, spec).unwrap();
    let mut x = 0x1234_5678u32;
    let samples: Vec<f32> = (0..2 * (48000 + 77))
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x as f32 / u32::MAX as f32 - 0.5) * 0.8
        })
        .collect();
    samples.iter().for_each(|&s| w.write_sample(s).unwrap());
    w.finalize().unwrap();
    let rec = dir.path().join("rec.wav");
    let shm = format!("/gklprec{}", std::process::id());
    let _guard = Procs(Vec::new(), shm.clone());
    let report = run(gecko(&dir.path().join("choice"))
        .args(["host", "--fast", "--shm-name", &shm, "--record-input"])
        .arg(&rec)
        .arg(&song));
    // "… source frame 0 at recording frame N"
    let at: usize = report
        .split("source frame 0 at recording frame ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no alignment in the report:\n{report}"));
    assert!(report.contains("input latency 0 frames"), "{report}");
    let got: Vec<f32> = hound::WavReader::open(&rec).unwrap().samples::<f32>().map(|s| s.unwrap()).collect();
    assert!(got[..at * 2].iter().all(|&s| s == 0.0));
    let same = got[at * 2..at * 2 + samples.len()].iter().zip(&samples).all(|(a, b)| a.to_bits() == b.to_bits());
    assert!(same, "the recording is the file, bit for bit, from frame {at}");
}

#[test]
fn gecko_loopback_chooses_saves_and_reaches_the_engine_and_the_driver() {
    let dir = tempfile::tempdir().unwrap();
    let choice = dir.path().join("gecko/loopback");
    let sock = dir.path().join("engine.sock");
    let shm = format!("/gklpctl{}", std::process::id());
    let _ = gecko_ring::unlink_segments(&shm);
    let loopback = |args: &[&str]| {
        run(gecko(&choice).arg("loopback").arg("--socket").arg(&sock).args(["--shm-name", &shm]).args(args))
    };
    // Nothing chosen, no engine, no driver: said plainly.
    let out = loopback(&[]);
    assert!(out.contains("chosen: nothing yet") && out.contains("driver: not reachable"), "{out}");
    // Chosen without an engine: saved for the next one.
    let out = loopback(&["off"]);
    assert!(out.contains("loopback: off") && out.contains("saved; no engine runs"), "{out}");
    assert_eq!(std::fs::read_to_string(&choice).unwrap(), "off\n");
    let bad = gecko(&choice).args(["loopback", "loud"]).output().unwrap();
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("pre, post or off"));

    // A recording app (the simulated host reading the input) and a headless engine.
    let mut procs = Procs(Vec::new(), shm.clone());
    procs.0.push(
        gecko(&choice)
            .args(["host", "--sine", "440", "--sine-seconds", "30", "--quiet", "--wait-for-engine", "30"])
            .args(["--shm-name", &shm, "--record-input"])
            .arg(dir.path().join("rec.wav"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    procs.0.push(
        gecko(&choice)
            .args(["engine", "--no-play", "--quiet", "--wait", "30", "--shm-name", &shm, "--control-socket"])
            .arg(&sock)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let status = || -> serde_json::Value {
        let out = run(gecko(&choice).args(["ctl", "--json", "--socket"]).arg(&sock).arg("status"));
        serde_json::from_str(&out).unwrap()
    };
    let wait_for = |what: &str, pred: &dyn Fn(&serde_json::Value) -> bool| -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if sock.exists() {
                let st = status();
                if pred(&st) {
                    return st;
                }
                assert!(Instant::now() < deadline, "never: {what}; last status {st}");
            } else {
                assert!(Instant::now() < deadline, "the engine never opened its control socket");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    // The engine starts with the saved choice and the driver serves it.
    let st = wait_for("the driver serves the saved off", &|s| s["loopback"]["active"] == "off");
    assert_eq!(st["loopback"]["requested"], "off");
    assert_eq!(st["loopback"]["silent_frames"], st["loopback"]["input_frames"], "off is silence: {st}");
    // pre: the sine reaches the recording app; the choice is saved.
    let out = loopback(&["pre"]);
    assert!(out.contains("loopback: pre") && out.contains("choose \"Gecko Sink\" as the input"), "{out}");
    assert_eq!(std::fs::read_to_string(&choice).unwrap(), "pre\n");
    let st = wait_for("the driver serves pre", &|s| s["loopback"]["active"] == "pre");
    let silent = st["loopback"]["silent_frames"].as_u64().unwrap();
    let st = wait_for("frames of sound delivered", &|s| {
        s["loopback"]["input_frames"].as_u64().unwrap() > st["loopback"]["input_frames"].as_u64().unwrap() + 48000
    });
    assert_eq!(st["loopback"]["silent_frames"].as_u64().unwrap(), silent, "pre serves the mix, no silence: {st}");
    // post from a headless engine: accepted, with the warning; the driver serves silence, counted.
    let out = loopback(&["post"]);
    assert!(out.contains("loopback: post") && out.contains("does not feed the post tap"), "{out}");
    let st = wait_for("the driver serves post", &|s| s["loopback"]["active"] == "post");
    assert_eq!(st["loopback"]["post_available"], false);
    let text = run(gecko(&choice).args(["ctl", "--socket"]).arg(&sock).arg("status"));
    assert!(text.contains("loopback   asked post; the driver serves post") && text.contains("post not fed"), "{text}");
    let shown = loopback(&[]);
    assert!(shown.contains("chosen: post") && shown.contains("driver: serving post"), "{shown}");
    assert!(shown.contains("no engine feeds it (silence)"), "{shown}");
}
