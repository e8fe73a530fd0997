//! The high-level host loop against the real driver and a real reader.

use gecko_driver_bundle as bundle;
use gecko_ring::{AttachOptions, Reader};
use gecko_simhost::{HostConfig, HostError, Pacing, Resample, SineSource, SourceSpec, run};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

const CH: usize = bundle::CHANNELS as usize;

fn name() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = format!("/gk{}h{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
    let _ = gecko_ring::unlink_segments(&n);
    n
}

/// A reader thread that attaches as soon as the segment exists and reads
/// everything until `stop`; returns the frames it read.
fn reader_thread(name: String, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Vec<f32>> {
    std::thread::spawn(move || {
        // Waiting covers a segment caught while the driver creates it.
        let opts =
            AttachOptions { wait: Duration::from_secs(10), poll: Duration::from_millis(1), ..Default::default() };
        let mut r = Reader::attach(&name, &opts).unwrap_or_else(|e| panic!("attach {name}: {e}"));
        let mut all = Vec::new();
        let mut buf = vec![0.0f32; 1024 * CH];
        loop {
            let done = stop.load(Ordering::Acquire);
            let rd = r.read(&mut buf).expect("read");
            all.extend_from_slice(&buf[..rd.frames * CH]);
            if rd.frames == 0 {
                if done {
                    break;
                }
                std::thread::sleep(Duration::from_micros(300));
            }
        }
        all
    })
}

#[test]
fn fast_run_delivers_a_sine_bit_exact_to_a_slow_reader() {
    let n = name();
    let stop = Arc::new(AtomicBool::new(false));
    let reader = reader_thread(n.clone(), stop.clone());
    let mut cfg = HostConfig::new(
        bundle::bundle_path().to_path_buf(),
        &n,
        SourceSpec::Sine { freq_hz: 997.0, dbfs: -3.0, seconds: 3.0 },
    );
    cfg.isolated = true;
    cfg.pacing = Pacing::Fast;
    cfg.wait_for_reader = Some(Duration::from_secs(10));
    let mut progress_calls = 0;
    let cancel = AtomicBool::new(false);
    let report = run(&cfg, &cancel, |_| progress_calls += 1).expect("run");
    std::thread::sleep(Duration::from_millis(100));
    stop.store(true, Ordering::Release);
    let got = reader.join().expect("reader thread");

    assert_eq!(report.source_frames, 144_000);
    assert_eq!(report.frames_written, report.cycles * 512);
    assert!(report.frames_written >= 144_000 && report.frames_written < 144_000 + 512);
    assert!(progress_calls > 0);
    let c = report.counters.expect("counters");
    assert_eq!((c.gap_events, c.overlap_events, c.overrun_events), (0, 0, 0), "{c:?}");
    assert_eq!(report.zero_timestamps.violations, 0, "{:?}", report.zero_timestamps.problems);
    assert!(report.zero_timestamps.advances >= 8, "3 s = 8+ periods of 16384 frames");
    assert!(report.elapsed < report.audio_time, "{:?} vs {:?}", report.elapsed, report.audio_time);
    // Every frame arrived, bit-exact (the ring holds < 1 s, so flow control worked).
    assert_eq!(got.len() / CH, report.frames_written as usize);
    let sine = SineSource::new(997.0, -3.0, 3.0, 48_000.0, bundle::CHANNELS).expect("sine");
    for (i, frame) in got.chunks_exact(CH).enumerate().take(144_000) {
        let want = sine.sample_at(i as u64);
        assert!(frame.iter().all(|&x| x == want), "frame {i}: {frame:?} vs {want}");
    }
    assert!(got[144_000 * CH..].iter().all(|&x| x == 0.0), "padding is silence");
    let _ = gecko_ring::unlink_segments(&n);
}

#[test]
fn real_time_run_is_paced_and_resamples_a_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let wav = dir.path().join("tone.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 44_100,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&wav, spec).expect("wav");
    for i in 0..(44_100 * 3 / 10) {
        w.write_sample(((i as f64 * 0.1).sin() * 10_000.0) as i16).expect("sample");
    }
    w.finalize().expect("finalize");
    let n = name();
    let mut cfg = HostConfig::new(
        bundle::bundle_path().to_path_buf(),
        &n,
        SourceSpec::File { path: wav.clone(), resample: Resample::Allow },
    );
    cfg.isolated = true;
    let cancel = AtomicBool::new(false);
    let report = run(&cfg, &cancel, |_| {}).expect("run");
    assert_eq!(report.resampled_from, Some(44_100.0));
    assert_eq!(report.source_frames, 14_400);
    let ratio = report.elapsed.as_secs_f64() / report.audio_time.as_secs_f64();
    assert!((0.85..1.5).contains(&ratio), "wall/audio = {ratio}");
    assert_eq!(report.zero_timestamps.violations, 0, "{:?}", report.zero_timestamps.problems);

    // --no-resample: a clear error naming the file.
    cfg.source = SourceSpec::File { path: wav.clone(), resample: Resample::Reject };
    let e = run(&cfg, &cancel, |_| {}).expect_err("rate mismatch");
    assert!(e.to_string().contains("tone.wav") && e.to_string().contains("44100"), "{e}");
    let _ = gecko_ring::unlink_segments(&n);
}

#[test]
fn waiting_for_a_reader_times_out_and_cancel_stops_promptly() {
    let n = name();
    let mut cfg = HostConfig::new(
        bundle::bundle_path().to_path_buf(),
        &n,
        SourceSpec::Sine { freq_hz: 440.0, dbfs: -6.0, seconds: 60.0 },
    );
    cfg.isolated = true;
    cfg.wait_for_reader = Some(Duration::from_millis(200));
    let cancel = AtomicBool::new(false);
    match run(&cfg, &cancel, |_| {}) {
        Err(HostError::ReaderTimeout { .. }) => {}
        other => panic!("expected a reader timeout, got {:?}", other.map(|r| r.cycles)),
    }
    cfg.wait_for_reader = None;
    cfg.progress_every_cycles = 10;
    let start = std::time::Instant::now();
    let report = run(&cfg, &cancel, |p| {
        if p.cycles >= 50 {
            cancel.store(true, Ordering::Relaxed);
        }
    })
    .expect("run");
    assert!(report.cancelled);
    assert!(report.cycles >= 50 && report.cycles < 80, "{}", report.cycles);
    assert!(start.elapsed() < Duration::from_secs(3));
    let _ = gecko_ring::unlink_segments(&n);
}

#[test]
fn repeated_plays_stop_io_in_between_and_keep_the_ring() {
    let n = name();
    let stop = Arc::new(AtomicBool::new(false));
    let reader = reader_thread(n.clone(), stop.clone());
    // Watches the driver's (io_running, io_cycles): IO must be seen stopped
    // with the first play's cycles done and the second's not begun. That
    // state lasts the whole 400 ms gap, so a 5 ms poll cannot miss it even on
    // a loaded machine (a fast-paced play itself may be over in a few ms).
    let watcher = {
        let (n, stop) = (n.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut seen = Vec::new();
            let mut peek = None;
            while !stop.load(Ordering::Acquire) {
                if peek.is_none() {
                    peek = gecko_ring::Peek::open(&n).ok();
                }
                if let Some(s) = peek.as_mut().and_then(|p| p.status().ok()) {
                    let now = (s.state.io_running, s.writer.io_cycles);
                    if seen.last() != Some(&now) {
                        seen.push(now);
                    }
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            seen
        })
    };
    let mut cfg = HostConfig::new(
        bundle::bundle_path().to_path_buf(),
        &n,
        SourceSpec::Sine { freq_hz: 997.0, dbfs: -3.0, seconds: 1.0 },
    );
    cfg.isolated = true;
    cfg.pacing = Pacing::Fast;
    cfg.wait_for_reader = Some(Duration::from_secs(10));
    cfg.plays = 2;
    cfg.gap = Duration::from_millis(400);
    let cancel = AtomicBool::new(false);
    let report = run(&cfg, &cancel, |_| {}).expect("run");
    std::thread::sleep(Duration::from_millis(100));
    stop.store(true, Ordering::Release);
    let got = reader.join().expect("reader thread");
    let transitions = watcher.join().expect("watcher thread");

    // 1 s of sine (48,000 frames, padded to 94 cycles of 512) twice.
    let per_play = 48_128;
    assert_eq!((report.source_frames, report.frames_written), (2 * 48_000, 2 * per_play));
    assert_eq!(report.cycles, 2 * 94);
    let c = report.counters.expect("counters");
    assert_eq!((c.gap_events, c.overlap_events, c.overrun_events), (0, 0, 0), "{c:?}");
    assert_eq!(report.zero_timestamps.violations, 0, "{:?}", report.zero_timestamps.problems);
    assert!(transitions.contains(&(false, 94)), "IO stopped between the plays: {transitions:?}");
    assert_eq!(transitions.last().map(|t| t.1), Some(2 * 94), "{transitions:?}");
    // Both plays arrived whole, in order, each from the source's start.
    assert_eq!(got.len() / CH, 2 * per_play as usize);
    let sine = SineSource::new(997.0, -3.0, 1.0, 48_000.0, bundle::CHANNELS).expect("sine");
    for play in got.chunks_exact(per_play as usize * CH) {
        for (i, frame) in play.chunks_exact(CH).enumerate().take(48_000) {
            let want = sine.sample_at(i as u64);
            assert!(frame.iter().all(|&x| x == want), "frame {i}: {frame:?} vs {want}");
        }
        assert!(play[48_000 * CH..].iter().all(|&x| x == 0.0), "padding is silence");
    }
    let _ = gecko_ring::unlink_segments(&n);
}
