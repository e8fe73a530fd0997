//! The `gecko` command as a user runs it: real processes, real POSIX shared
//! memory, the real C driver loaded by the simulated host.

mod common;
use common::report_number;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn gecko() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gecko"));
    // Never try a real sound card from tests; keep logs quiet.
    c.env_remove("RUST_LOG");
    c
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("spawn gecko");
    eprintln!(
        "--- {:?}\nstatus {}\nstdout:\n{}\nstderr:\n{}",
        cmd,
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn read_f32_wav(path: &Path) -> (hound::WavSpec, Vec<f32>) {
    let mut r = hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let spec = r.spec();
    let s = match spec.sample_format {
        hound::SampleFormat::Float => r.samples::<f32>().map(Result::unwrap).collect(),
        hound::SampleFormat::Int => {
            let scale = (1i64 << (spec.bits_per_sample - 1)) as f32;
            r.samples::<i32>().map(|s| s.unwrap() as f32 / scale).collect()
        }
    };
    (spec, s)
}

/// Runs `gecko demo FILE` (host as a child process, engine in this one) and
/// returns the engine's recording: frames × 2, interleaved.
fn demo(file: &Path, dir: &Path, extra: &[&str]) -> Vec<f32> {
    let out = dir.join("out.wav");
    let o = run(gecko().arg("demo").arg(file).args(["--no-play", "--fast", "--quiet", "-o"]).arg(&out).args(extra));
    assert!(o.status.success(), "demo failed: {}", stderr(&o));
    let report = String::from_utf8_lossy(&o.stdout);
    assert!(report.contains("gaps 0 (0 frames)") && report.contains("overruns 0 (0 frames)"), "{report}");
    let (spec, samples) = read_f32_wav(&out);
    assert_eq!((spec.channels, spec.sample_rate, spec.sample_format), (2, 48000, hound::SampleFormat::Float));
    samples
}

/// The source as the device sees it: interleaved stereo (mono duplicated).
fn as_stereo(spec: hound::WavSpec, s: Vec<f32>) -> Vec<f32> {
    match spec.channels {
        1 => s.iter().flat_map(|&x| [x, x]).collect(),
        2 => s,
        n => panic!("{n} channels"),
    }
}

/// The engine's output is the source, sample for sample, then at most one IO
/// buffer (512 frames) of zero padding from the host's last cycle.
fn assert_bit_exact(src: &[f32], out: &[f32]) {
    assert!(out.len() >= src.len(), "output shorter than the source: {} < {}", out.len(), src.len());
    if let Some(i) = src.iter().zip(out).position(|(a, b)| a.to_bits() != b.to_bits()) {
        panic!("first difference at sample {i} (frame {}): {} vs {}", i / 2, src[i], out[i]);
    }
    let tail = &out[src.len()..];
    assert!(tail.len() < 2 * 512, "{} extra samples", tail.len());
    assert!(tail.iter().all(|&x| x == 0.0), "padding is not silence");
}

#[test]
fn a_real_recording_passes_bit_exact_through_driver_shm_and_engine() {
    let file = PathBuf::from("/usr/share/sounds/alsa/Front_Center.wav");
    assert!(file.exists(), "{} is missing: the set-up (scripts/setup.sh) installs alsa-utils", file.display());
    let dir = tempfile::tempdir().unwrap();
    let out = demo(&file, dir.path(), &[]);
    let (spec, src) = read_f32_wav(&file);
    assert_eq!(spec.sample_rate, 48000);
    let src = as_stereo(spec, src);
    assert!(src.len() > 100_000, "the recording is {} samples", src.len());
    assert_bit_exact(&src, &out);
}

#[test]
fn arbitrary_float_stereo_passes_bit_exact_over_many_ring_lengths() {
    // 20 s of stereo float noise with odd values (tiny, negative zero, full
    // scale): 960,000 frames, ~29 laps of the 32768-frame ring.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("noise.wav");
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 48000,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(&file, spec).unwrap();
    let mut x: u32 = 0x1234_5678;
    let mut src = Vec::new();
    for i in 0..2 * 960_000u32 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let s = match i % 1000 {
            0 => -0.0,
            1 => 1.0,
            2 => -1.0,
            3 => 1e-38,
            _ => (x as f32 / u32::MAX as f32) * 2.0 - 1.0,
        };
        w.write_sample(s).unwrap();
        src.push(s);
    }
    w.finalize().unwrap();
    let out = demo(&file, dir.path(), &[]);
    assert_bit_exact(&src, &out);
}

#[test]
fn gain_is_applied_by_the_engine() {
    let file = PathBuf::from("/usr/share/sounds/alsa/Front_Center.wav");
    let dir = tempfile::tempdir().unwrap();
    let out = demo(&file, dir.path(), &["--gain-db=-6.0206"]);
    let (spec, src) = read_f32_wav(&file);
    let src = as_stereo(spec, src);
    for (a, b) in src.iter().zip(&out) {
        assert!((a * 0.5 - b).abs() < 1e-6, "{a} → {b}");
    }
}

#[test]
fn bad_input_gives_a_clear_error_and_a_nonzero_exit() {
    let dir = tempfile::tempdir().unwrap();
    let not_audio = dir.path().join("notes.wav");
    std::fs::write(&not_audio, "these are not samples").unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["demo".into(), "/no/such/file.wav".into()], "/no/such/file.wav"),
        (vec!["demo".into(), not_audio.display().to_string(), "--no-play".into()], "unsupported"),
        // The one settings check names the field and its range.
        (vec!["demo".into(), "--gain-db".into(), "60".into()], "gain_db = 60 dB: must be from -120 to +24 dB"),
        (vec!["demo".into(), "--gain-db".into(), "loud".into()], "invalid value 'loud'"),
        // The preset's rule (1 to 500 ms) holds on the command line too.
        (
            vec!["engine".into(), "--target-latency-ms".into(), "800".into(), "--no-play".into()],
            "800 ms: must be from 1 to 500 ms",
        ),
        (vec!["host".into(), "/no/such/file.flac".into()], "not found"),
        (vec!["engine".into(), "--shm-name".into(), "no-slash".into()], "must start with '/'"),
        (
            vec![
                "engine".into(),
                "--shm-name".into(),
                "/gk-nobody-here".into(),
                "--wait".into(),
                "0".into(),
                "--no-play".into(),
            ],
            "not installed",
        ),
        (vec!["demo".into(), "-o".into(), "/no/such/dir/out.wav".into()], "does not exist"),
    ];
    for (args, expect) in cases {
        let o = run(gecko().args(&args));
        assert!(!o.status.success(), "{args:?} succeeded");
        let e = stderr(&o);
        assert!(e.contains(expect), "{args:?}: expected {expect:?} in:\n{e}");
        assert!(!e.contains("panicked"), "{args:?} panicked:\n{e}");
    }
}

#[test]
fn help_explains_the_commands() {
    let o = run(gecko().arg("--help"));
    assert!(o.status.success());
    let h = String::from_utf8_lossy(&o.stdout);
    for word in ["demo", "host", "engine", "devices", "Gecko Sink"] {
        assert!(h.contains(word), "--help lacks {word}:\n{h}");
    }
}

/// A writer segment forged with bad contents: the engine (a separate
/// process) exits with a clear error instead of crashing or hanging.
#[test]
fn the_engine_refuses_a_corrupt_or_stale_segment() {
    use nix::fcntl::OFlag;
    use nix::sys::stat::Mode;
    let forge = |name: &str, bytes: &[u8]| {
        gecko_ring_unlink(name);
        let fd =
            nix::sys::mman::shm_open(name, OFlag::O_RDWR | OFlag::O_CREAT, Mode::from_bits_truncate(0o644)).unwrap();
        let f = std::fs::File::from(fd);
        use std::io::Write;
        (&f).write_all(bytes).unwrap();
    };
    let valid = |pid: u32| {
        let mut b = vec![0u8; 512 + 1024 * 8];
        b[0..8].copy_from_slice(b"GECKORNG");
        b[8..12].copy_from_slice(&1u32.to_le_bytes());
        b[12..16].copy_from_slice(&512u32.to_le_bytes());
        b[16..24].copy_from_slice(&((512 + 1024 * 8) as u64).to_le_bytes());
        b[24..28].copy_from_slice(&1024u32.to_le_bytes());
        b[28..32].copy_from_slice(&2u32.to_le_bytes());
        b[32..36].copy_from_slice(&1u32.to_le_bytes());
        b[36..40].copy_from_slice(&8u32.to_le_bytes());
        b[40..44].copy_from_slice(&pid.to_le_bytes());
        b[264..272].copy_from_slice(&5u64.to_le_bytes());
        b[272..280].copy_from_slice(&48000f64.to_le_bytes());
        b
    };
    let name = format!("/gkcli{}", std::process::id());
    let mut dead = Command::new("true").spawn().unwrap();
    let dead_pid = dead.id();
    dead.wait().unwrap();
    let mut bad_magic = valid(std::process::id());
    bad_magic[0] = b'X';
    let mut bad_cap = valid(std::process::id());
    bad_cap[24..28].copy_from_slice(&1000u32.to_le_bytes());
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (bad_magic, "not a Gecko ring"),
        (bad_cap, "capacity_frames"),
        (valid(dead_pid), "stale"),
        (valid(std::process::id())[..300].to_vec(), "truncated"),
    ];
    for (bytes, expect) in cases {
        forge(&name, &bytes);
        let o = run(gecko().args(["engine", "--no-play", "--quiet", "--wait", "0.2", "--shm-name", &name]));
        assert_eq!(o.status.code(), Some(1), "expected a clean failure");
        assert!(stderr(&o).contains(expect), "expected {expect:?}");
    }
    gecko_ring_unlink(&name);
}

fn gecko_ring_unlink(name: &str) {
    let _ = nix::sys::mman::shm_unlink(name);
    let _ = nix::sys::mman::shm_unlink(format!("{name}.rd").as_str());
}

/// An all-day engine survives a coreaudiod restart: the first host (driver
/// instance) plays and exits, a second one starts on the same ring, and the
/// engine — a third process — follows it without being restarted.
#[test]
fn the_engine_follows_a_driver_restart() {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("/gkrst{}", std::process::id());
    gecko_ring_unlink(&name);
    let out = dir.path().join("out.wav");
    let engine = gecko()
        .args(["engine", "--no-play", "--quiet", "--wait", "20", "--duration", "1.9", "--shm-name", &name, "-r"])
        .arg(&out)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    for freq in ["440", "880"] {
        let o = run(gecko().args([
            "host",
            "--sine",
            freq,
            "--sine-seconds",
            "1",
            "--fast",
            "--quiet",
            "--wait-for-engine",
            "20",
            "--shm-name",
            &name,
        ]));
        assert!(o.status.success(), "host {freq} Hz failed: {}", stderr(&o));
        // coreaudiod is gone for a while: the engine sees a dead writer and waits.
        std::thread::sleep(std::time::Duration::from_millis(900));
    }
    let o = engine.wait_with_output().unwrap();
    let report = String::from_utf8_lossy(&o.stdout);
    eprintln!("engine:\n{report}\n{}", stderr(&o));
    assert!(o.status.success());
    assert!(report.contains("driver restarts followed 1"), "{report}");
    let (_, samples) = read_f32_wav(&out);
    assert_eq!(samples.len(), 2 * 91_200, "1.9 s of stereo audio");
    // Both hosts' audio is in the recording: 440 Hz first, then 880 Hz.
    let zero_crossings =
        |s: &[f32]| s.chunks(2).collect::<Vec<_>>().windows(2).filter(|w| (w[0][0] < 0.0) != (w[1][0] < 0.0)).count();
    let first = zero_crossings(&samples[2 * 4_800..2 * 43_200]); // 0.8 s of the first host
    let second = zero_crossings(&samples[2 * 52_000..2 * 90_400]); // 0.8 s of the second
    assert!((first as i64 - 704).abs() <= 4, "440 Hz → ~704 crossings in 0.8 s, got {first}");
    assert!((second as i64 - 1408).abs() <= 4, "880 Hz → ~1408 crossings in 0.8 s, got {second}");
    gecko_ring_unlink(&name);
}

/// A real cpal output stream on this machine: ALSA's `null` PCM as the
/// default device (a throwaway HOME with an .asoundrc). The null PCM is not
/// paced by a clock — its callbacks come as fast as they return — so this
/// proves that the real-time path (output callback → drift loop → chain →
/// recorder) runs and carries the audio, not its timing.
#[test]
fn the_demo_plays_through_a_real_cpal_output_stream() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join(".asoundrc"), "pcm.!default { type null }\nctl.!default { type hw card 0 }\n")
        .unwrap();
    let out = home.path().join("out.wav");
    let src = "/usr/share/sounds/alsa/Front_Center.wav";
    let o = run(gecko().env("HOME", home.path()).args(["demo", src, "--realtime", "--quiet", "-o"]).arg(&out));
    assert!(o.status.success(), "{}", stderr(&o));
    let report = String::from_utf8_lossy(&o.stdout);
    let played: u64 = report_number(&report, "output      default @ 48000 Hz · played ");
    assert!(played >= 68_545, "the stream consumed {played} frames, less than the input");
    assert!(report.contains("drift       Steering"), "rates match: the drift loop steers\n{report}");
    let (_, rec) = read_f32_wav(&out);
    let (_, source) = read_f32_wav(Path::new(src));
    let peak = |s: &[f32]| s.iter().fold(0f32, |m, x| m.max(x.abs()));
    // The chain's meters see every frame played: the loudest sample went through.
    let metered: f64 = report_number(&report, "levels      L peak ");
    let source_peak_db = 20.0 * (peak(&source) as f64).log10();
    assert!((metered - source_peak_db).abs() <= 0.051, "metered peak {metered} dBFS, source {source_peak_db:.2} dBFS");
    // The recording is what was played: the source's samples (mono, on both
    // channels), bit-exact (steering + bypass chain), among silence where the
    // unpaced device ran dry. The null PCM is unpaced, so the audio thread
    // produces frames as fast as it can, far faster than real time; when
    // that outruns the recorder's disk writer, whole blocks are dropped and
    // the report says how many ("LOST"). Then what was recorded must still
    // be the source's frames, bit-exact and in order, with gaps.
    let lost: u64 = report
        .lines()
        .find_map(|l| {
            l.split(" frames LOST")
                .next()
                .filter(|_| l.contains(" frames LOST"))
                .and_then(|h| h.rsplit(' ').next()?.parse().ok())
        })
        .unwrap_or(0);
    let mut src_nz = source.iter().filter(|x| **x != 0.0);
    let mut matched = 0usize;
    for f in rec.chunks_exact(2).filter(|f| f[0] != 0.0 || f[1] != 0.0) {
        assert_eq!(f[0].to_bits(), f[1].to_bits(), "mono source: both channels equal, frame {matched}");
        assert!(
            src_nz.any(|x| x.to_bits() == f[0].to_bits()),
            "recorded frame {matched} ({}) is not the next source sample",
            f[0]
        );
        matched += 1;
    }
    let nz_src = source.iter().filter(|x| **x != 0.0).count();
    if lost == 0 {
        assert_eq!(peak(&rec), peak(&source), "the loudest sample arrived unchanged");
        assert!(matched * 100 >= nz_src * 95, "{matched} non-zero frames recorded; the source has {nz_src}");
    } else {
        println!(
            "{lost} frames lost by the recorder (unpaced device); {matched} of {nz_src} source frames recorded, all in order and bit-exact"
        );
    }
    let o = run(gecko().env("HOME", home.path()).arg("devices"));
    assert!(String::from_utf8_lossy(&o.stdout).lines().any(|l| l == "default"));
}

/// The output device disappears mid-stream (fault injection: the same signal
/// cpal's DeviceNotAvailable error raises): the engine reports it, moves to
/// the default device and keeps playing from the same ring.
#[test]
fn the_engine_recovers_when_the_output_device_disappears() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join(".asoundrc"), "pcm.!default { type null }\nctl.!default { type hw card 0 }\n")
        .unwrap();
    let name = format!("/gkloss{}", std::process::id());
    gecko_ring_unlink(&name);
    let out = home.path().join("out.wav");
    let engine = gecko()
        .env("HOME", home.path())
        .args(["engine", "--quiet", "--no-control-socket", "--exit-on-stop", "--wait", "20", "--shm-name", &name])
        .args(["--simulate-device-loss-after-ms", "800", "-r"])
        .arg(&out)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Real time, 2 s, so the loss happens mid-stream.
    let o = run(gecko().args([
        "host",
        "--sine",
        "440",
        "--sine-seconds",
        "2",
        "--quiet",
        "--wait-for-engine",
        "20",
        "--shm-name",
        &name,
    ]));
    assert!(o.status.success(), "host: {}", stderr(&o));
    let o = engine.wait_with_output().unwrap();
    let report = String::from_utf8_lossy(&o.stdout);
    let err = stderr(&o);
    eprintln!("engine:\n{report}\n{err}");
    assert!(o.status.success());
    assert!(report.contains("device switches 1"), "{report}");
    assert!(err.contains("disappeared; switching to the default device"), "the loss is reported: {err}");
    // The ring was not lost: the engine read the whole 2 s stream.
    let frames_in: u64 = report_number(&report, "frames      in ");
    assert!(frames_in >= 96_000, "read {frames_in} frames of a 2 s stream");
    assert!(report.contains("· laps 0 ·"), "no ring laps: {report}");
    gecko_ring_unlink(&name);
}

/// The ring as the driver and the engine see it now (a fresh look each time:
/// the reader segment may have been replaced).
fn ring_status(name: &str) -> Option<gecko_ring::RingStatus> {
    gecko_ring::Peek::open(name).ok()?.status().ok()
}

/// Polls `ring_status` every 2 ms until `cond` holds; returns the status and
/// when it first held, or panics with `what` after `limit`.
fn poll_ring(
    name: &str,
    limit: std::time::Duration,
    what: &str,
    cond: impl Fn(&gecko_ring::RingStatus) -> bool,
) -> (gecko_ring::RingStatus, std::time::Instant) {
    let t0 = std::time::Instant::now();
    loop {
        if let Some(s) = ring_status(name).filter(|s| cond(s)) {
            return (s, std::time::Instant::now());
        }
        assert!(t0.elapsed() < limit, "{what} (after {limit:?}): {:?}", ring_status(name));
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// Largest deviation from the pure-sine recurrence s[n+1] + s[n-1] = 2 cos(w) s[n]
/// over the left channel: a gap, a skip or a repeat anywhere breaks it.
fn sine_discontinuity(stereo: &[f32], freq: f64, rate: f64) -> f32 {
    let l: Vec<f32> = stereo.chunks(2).map(|f| f[0]).collect();
    let k = 2.0 * (2.0 * std::f64::consts::PI * freq / rate).cos() as f32;
    l.windows(3).map(|w| (w[2] + w[0] - k * w[1]).abs()).fold(0.0, f32::max)
}

/// An engine killed with SIGKILL mid-stream while the host plays in real
/// time: its recording on disk is a valid WAV holding all it read but the
/// last second at most, and a new engine started on the same ring gets a
/// continuous stream within 1 s, with no overrun counted by the driver after
/// it attached. Under macOS semantics (scripts/macos-semantics/) this is the
/// case that broke: the page-rounded reader segment was re-created on every
/// start and the driver, unable to tell segments apart without st_ino, kept
/// honouring the dead engine's frozen read count — the ring stayed full.
#[test]
fn a_killed_engine_is_replaced_without_losing_the_stream_or_its_recording() {
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let name = format!("/gkkill{}", std::process::id());
    gecko_ring_unlink(&name);
    let mut host = gecko()
        .args(["host", "--sine", "1000", "--sine-seconds", "14", "--quiet", "--shm-name", &name])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    poll_ring(&name, Duration::from_secs(10), "the host never started IO", |s| s.state.io_running);

    // The first engine records, then dies without a word.
    let a = dir.path().join("a.wav");
    let mut first = gecko()
        .args(["engine", "--no-play", "--quiet", "--wait", "10", "--shm-name", &name, "-r"])
        .arg(&a)
        .spawn()
        .unwrap();
    let (s, _) =
        poll_ring(&name, Duration::from_secs(10), "the first engine never attached", |s| s.read_count.is_some());
    let attached_at = s.read_count.unwrap();
    std::thread::sleep(Duration::from_secs(3));
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    let frozen = ring_status(&name).and_then(|s| s.read_count).expect("the dead engine's reader segment stays");
    let consumed = frozen - attached_at;
    assert!(consumed > 2 * 48_000, "the first engine read {consumed} frames in 3 s");
    let mut wav = hound::WavReader::open(&a).expect("the killed engine's recording is a valid WAV");
    let recorded = wav.duration() as u64;
    assert!(
        recorded + 48_000 >= consumed && recorded <= consumed,
        "recorded {recorded} of the {consumed} frames read: more than the last second lost"
    );
    let samples: Vec<f32> = wav.samples::<f32>().map(Result::unwrap).collect();
    assert!(sine_discontinuity(&samples, 1000.0, 48_000.0) < 1e-3, "the recording is the sine, unbroken");

    // Coreaudiod's side goes on: with the dead reader's count frozen the ring fills.
    std::thread::sleep(Duration::from_millis(1000));
    let b = dir.path().join("b.wav");
    let started = Instant::now();
    let second = gecko()
        .args(["engine", "--no-play", "--quiet", "--wait", "10", "--duration", "3", "--shm-name", &name, "-r"])
        .arg(&b)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (s, at) = poll_ring(&name, Duration::from_secs(5), "the second engine never took over", |s| {
        s.read_count.is_some_and(|r| r != frozen) && s.writer.reader_attached
    });
    assert!(at - started < Duration::from_secs(1), "the new engine attached {:?} after it started", at - started);
    // The driver saw the new reader: the ring drains, no overrun from here on.
    let (s2, _) = poll_ring(&name, Duration::from_secs(2), "the ring never drained", |s| {
        s.fill_frames().is_some_and(|f| f < 16_384)
    });
    let overruns = s2.writer.overrun_events;
    let o = second.wait_with_output().unwrap();
    eprintln!("second engine:\n{}\n{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
    assert!(o.status.success());
    let end = ring_status(&name).expect("ring");
    assert_eq!(end.writer.overrun_events, overruns, "the driver counted overruns after the new engine attached");
    assert!(
        s.writer.overrun_events > 0,
        "the dead engine's frozen count did fill the ring (else this test shows nothing)"
    );
    let (_, b_samples) = read_f32_wav(&b);
    assert_eq!(b_samples.len(), 2 * 3 * 48_000, "3 s of stereo");
    assert!(sine_discontinuity(&b_samples, 1000.0, 48_000.0) < 1e-3, "the new engine's stream is continuous");

    host.kill().unwrap();
    host.wait().unwrap();
    gecko_ring_unlink(&name);
}

/// The installer's half of the plug-in sandbox fallback, in the simulation:
/// `gecko-driver.sh ring-fallback GECKO` writes the boot-time LaunchDaemon
/// that runs `gecko ring precreate` as `_coreaudiod`, and (here, with no
/// launchd) pre-creates the driver's segment at once: nominal size
/// page-rounded, mode 0644. Idempotent; `uninstall` removes the daemon.
#[test]
fn the_installer_sets_up_the_precreated_segment_for_a_sandboxed_driver() {
    let root = tempfile::tempdir().unwrap();
    let name = format!("/gkrf{}", std::process::id());
    gecko_ring_unlink(&name);
    let app_bin = root.path().join("Applications/Gecko.app/Contents/MacOS");
    std::fs::create_dir_all(&app_bin).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_gecko"), app_bin.join("gecko")).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../installer/gecko-driver.sh");
    let fallback = || {
        run(Command::new("sh")
            .arg(&script)
            .args(["--root"])
            .arg(root.path())
            .args(["--sim", "ring-fallback", "/Applications/Gecko.app/Contents/MacOS/gecko"])
            .env("GECKO_SIM_SHM", &name))
    };
    let o = fallback();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    let plist = std::fs::read_to_string(root.path().join("Library/LaunchDaemons/com.gecko.ring.plist")).unwrap();
    let v = plist::Value::from_reader_xml(plist.as_bytes()).expect("a valid property list");
    let d = v.as_dictionary().unwrap();
    assert_eq!(d.get("UserName").and_then(|u| u.as_string()), Some("_coreaudiod"));
    assert_eq!(d.get("RunAtLoad").and_then(|u| u.as_boolean()), Some(true));
    let args: Vec<&str> =
        d.get("ProgramArguments").unwrap().as_array().unwrap().iter().map(|a| a.as_string().unwrap()).collect();
    assert_eq!(args, ["/Applications/Gecko.app/Contents/MacOS/gecko", "ring", "precreate"]);
    // The segment the driver will open without O_CREAT: its format's size, 0644.
    let fd = nix::sys::mman::shm_open(name.as_str(), nix::fcntl::OFlag::O_RDONLY, nix::sys::stat::Mode::empty())
        .expect("pre-created");
    let st = nix::sys::stat::fstat(std::os::fd::AsRawFd::as_raw_fd(&fd)).unwrap();
    let nominal = 512 + gecko_ring::abi::DEFAULT_CAPACITY_FRAMES as u64 * 2 * 4;
    assert!(gecko_ring::abi::is_page_rounded_size(st.st_size as u64, nominal), "{} bytes", st.st_size);
    assert_eq!(st.st_mode & 0o777, 0o644);
    // Again: nothing changes, nothing fails.
    let o = fallback();
    assert!(o.status.success() && String::from_utf8_lossy(&o.stdout).contains("already there"));
    // Uninstall takes the daemon away.
    let o = run(Command::new("sh").arg(&script).arg("--root").arg(root.path()).args(["--sim", "uninstall"]));
    assert!(o.status.success());
    assert!(!root.path().join("Library/LaunchDaemons/com.gecko.ring.plist").exists());
    gecko_ring_unlink(&name);
}

/// The CLI finds the presets the app saves: `gecko preset list` lists the
/// user's folder after the built-ins, and a user preset loads by name.
#[test]
fn the_cli_finds_the_users_presets_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let presets = dir.path().join("presets");
    std::fs::create_dir_all(&presets).unwrap();
    std::fs::write(presets.join("My Cans.toml"), "description = \"headphones\"\ngain_db = -3\n").unwrap();
    std::fs::write(presets.join("broken.toml"), "gain_db = 99\n").unwrap();
    let o = run(gecko().env("GECKO_PRESETS_DIR", &presets).args(["preset", "list"]));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.lines().any(|l| l.contains("My Cans") && l.contains("headphones")), "{out}");
    assert!(out.lines().any(|l| l.contains("broken") && l.contains("invalid") && l.contains("gain_db")), "{out}");
    let o = run(gecko().env("GECKO_PRESETS_DIR", &presets).args(["preset", "show", "My Cans"]));
    assert!(String::from_utf8_lossy(&o.stdout).contains("gain_db = -3.0"), "{}", stderr(&o));
    let o = run(gecko().env("GECKO_PRESETS_DIR", &presets).args(["preset", "show", "nope"]));
    assert!(!o.status.success());
    assert!(stderr(&o).contains("nor one of yours in"), "{}", stderr(&o));
}

/// A person imports AutoEq's HD 650 correction (the real file, from
/// crates/gecko-dsp/tests/data), finds it by name, reads its response and
/// exports it again: the response at 1 kHz is the preamp plus the bands'
/// (checked against the DSP crate's own response of the same file), and the
/// export imports back to the same response.
#[test]
fn an_autoeq_file_imports_lists_answers_and_exports() {
    let dir = tempfile::tempdir().unwrap();
    let presets = dir.path().join("presets");
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../gecko-dsp/tests/data/Sennheiser HD 650 ParametricEQ.txt");
    let g = || {
        let mut c = gecko();
        c.env("GECKO_PRESETS_DIR", &presets);
        c
    };
    let o = run(g().args(["preset", "import"]).arg(&file));
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("imported \"Sennheiser HD 650\"") && out.contains("preamp -6.1 dB"), "{out}");
    // a second import under the same name must not overwrite silently
    let o = run(g().args(["preset", "import"]).arg(&file));
    assert!(!o.status.success() && stderr(&o).contains("--force"), "{}", stderr(&o));
    let o = run(g().args(["preset", "list"]));
    assert!(String::from_utf8_lossy(&o.stdout).contains("Sennheiser HD 650"));
    let response = |spec: &str| -> Vec<(f64, f64, f64)> {
        let o = run(g().args(["eq", "response", spec, "--csv", "--freqs", "30,1000,8865"]));
        assert!(o.status.success(), "{}", stderr(&o));
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .skip(1)
            .map(|l| {
                let v: Vec<f64> = l.split(',').map(|x| x.parse().unwrap()).collect();
                (v[0], v[1], v[2])
            })
            .collect()
    };
    let r = response("Sennheiser HD 650");
    let text = std::fs::read_to_string(&file).unwrap();
    let expected = gecko_dsp::import::import_str(&text, "x").unwrap().preset.chain_params().eq;
    for (f, l, rr) in &r {
        let want = expected.magnitude_db_for_channel(*f, 48_000.0, 0);
        assert!((l - want).abs() < 1e-3 && (rr - want).abs() < 1e-3, "{f} Hz: {l}/{rr} dB, want {want}");
    }
    // export to Equalizer APO and import that: the same response
    let apo = dir.path().join("out ParametricEQ.txt");
    let o = run(g().args(["preset", "export", "Sennheiser HD 650", "-o"]).arg(&apo));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(g().args(["preset", "import", "--name", "round trip"]).arg(&apo));
    assert!(o.status.success(), "{}", stderr(&o));
    for ((_, a, _), (_, b, _)) in r.iter().zip(response("round trip")) {
        assert!((a - b).abs() < 0.01, "{a} vs {b}");
    }
    let o = run(g().args(["preset", "export", "Sennheiser HD 650", "--format", "camilladsp"]));
    let yaml = String::from_utf8_lossy(&o.stdout);
    assert!(yaml.contains("filters:") && yaml.contains("pipeline:") && yaml.contains("Biquad"), "{yaml}");
    // a bad line is reported with its number, and nothing is imported
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, "Preamp: -3 dB\nFilter 1: ON PK Fc banana Hz Gain 2 dB Q 1\n").unwrap();
    let o = run(g().args(["preset", "import"]).arg(&bad));
    assert!(!o.status.success() && stderr(&o).contains("line 2"), "{}", stderr(&o));
    assert!(!presets.join("bad.toml").exists());
}
