//! The engine's real-time callback, for real: the C driver (loaded through
//! the simulated host, simulated clock) writes IO cycles into the ring; the
//! engine's `RtCore::render` — drift loop, DSP chain with every stage on,
//! recorder queue, telemetry queue, control queue — runs inside
//! `assert_no_alloc` for every callback, a live control change included.

mod common;

use assert_no_alloc::{AllocDisabler, assert_no_alloc};
use gecko_drift::{DriftConfig, DriftLoop};
use gecko_dsp::{Chain, ChainParams};
use gecko_engine::core::{Control, RtCore, Telemetry};
use ringbuf::HeapRb;
use ringbuf::traits::{Consumer, Producer, Split};

#[global_allocator]
static ALLOC: AllocDisabler = AllocDisabler;

#[test]
fn the_real_time_render_never_allocates_and_carries_the_audio() {
    let (name, driver, clock) = common::driver("gkrt");
    let (dev, reader, mut io) = common::start(&driver, &name);

    let ch = dev.channels as usize;
    let rate = dev.sample_rate;
    let drift = DriftLoop::new(DriftConfig::new(ch, rate, rate)).unwrap();
    let mut params = ChainParams::default(); // limiter and meters on
    let chain = Chain::new(rate as u32, ch, &params).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let rec = gecko_engine::recorder::start(&dir.path().join("rt.wav"), ch as u16, rate as u32, 48_000 * 10).unwrap();
    let (mut ctl_tx, ctl_rx) = HeapRb::<Control>::new(16).split();
    let (tel_tx, mut tel_rx) = HeapRb::<Telemetry>::new(256).split();
    let mut core = RtCore::new(reader, Some(drift), chain, Some(rec), ctl_rx, tel_tx, 2400);
    // Every rendered frame also goes to the loopback segment (the post tap),
    // and the tap choice travels through the control queue: neither allocates.
    let lp = gecko_ring::LoopbackWriter::create(&name, ch as u32, rate, 16384).unwrap();
    core.set_loopback(Some(lp));
    ctl_tx.try_push(Control::Loopback(Some(gecko_ring::Tap::Post))).unwrap();

    // 4 s of a 1 kHz sine at -6 dBFS; IO cycles and output callbacks
    // alternate on the simulated clock (same rate: the loop steers).
    let tpf = 1e9 / rate;
    let mut frames = vec![0f32; 512 * ch];
    let mut out = vec![0f32; 512 * ch];
    let (mut peak_before, mut peak_after) = (0f32, 0f32);
    for k in 0..375u64 {
        for f in 0..512u64 {
            let v = 0.5 * (2.0 * std::f64::consts::PI * 1000.0 * (k * 512 + f) as f64 / rate).sin() as f32;
            frames[f as usize * ch..][..ch].fill(v);
        }
        let t = 1_000_000_000 + (k as f64 * 512.0 * tpf) as u64;
        clock.set(t);
        io.do_write_mix_cycle((k * 512) as f64, t, &frames).unwrap();
        if k == 250 {
            params.gain_db = -6.0206; // a live change through the control queue
            ctl_tx.try_push(Control::Chain(params)).unwrap();
        }
        let now = t + (256.0 * tpf) as u64;
        assert_no_alloc(|| core.render(&mut out, now));
        let p = out.iter().fold(0f32, |m, x| m.max(x.abs()));
        if (150..250).contains(&k) {
            peak_before = peak_before.max(p);
        } else if k > 300 {
            peak_after = peak_after.max(p);
        }
    }
    let totals = core.totals();
    assert_eq!(totals.frames_out, 375 * 512);
    let lp = core.take_loopback().unwrap();
    assert_eq!(lp.write_count(), 375 * 512, "every rendered frame went to the loopback segment");
    core.set_loopback(Some(lp));
    assert!(totals.frames_in > 300 * 512, "the loop read the ring: {}", totals.frames_in);
    let mut last = None;
    while let Some(t) = tel_rx.try_pop() {
        last = Some(t);
    }
    let last = last.expect("telemetry arrived");
    assert!(last.meters.loudness.momentary_lufs.is_finite());
    // While the sine plays, the output is not silent (a sample may sit on a zero crossing).
    assert!(last.io_running && last.silent_frames < 4, "silent for {} frames", last.silent_frames);

    // The driver stops IO: the ring drains, the chain's tail plays out, and
    // the output has been silent for as long as telemetry says (what the
    // engine's idle policy waits for).
    io.stop_io().unwrap();
    for k in 375..475u64 {
        let now = 1_000_000_000 + ((k as f64 + 0.5) * 512.0 * tpf) as u64;
        clock.set(now);
        assert_no_alloc(|| core.render(&mut out, now));
    }
    let mut stopped = None;
    while let Some(t) = tel_rx.try_pop() {
        stopped = Some(t);
    }
    let stopped = stopped.expect("telemetry after the stop");
    assert!(!stopped.io_running && stopped.fill_frames < 1.0, "{stopped:?}");
    // Output frames from the stop to that telemetry, and how many of them carried the tail.
    let after_stop = stopped.frames_out - 375 * 512;
    let tail = after_stop - stopped.silent_frames;
    assert!(
        stopped.silent_frames >= 24_000 && tail >= 512,
        "silent for {} of the {after_stop} frames rendered after the stop",
        stopped.silent_frames
    );
    assert!(out.iter().all(|x| x.abs() <= gecko_engine::idle::SILENCE));
    // The sine came through at 0.5, then at 0.25 after the live gain change
    // (the limiter's -1 dBTP ceiling is above both).
    assert!((peak_before - 0.5).abs() < 0.01, "peak before {peak_before}");
    assert!((peak_after - 0.25).abs() < 0.01, "peak after {peak_after}");
    drop(core);
    let _ = gecko_ring::unlink_segments(&name);
}

/// Allocates inside the guard; run only by the test below, in a child process.
#[test]
#[ignore = "run by assert_no_alloc_is_live_in_this_test_binary; it aborts on purpose"]
fn allocation_inside_the_guard_aborts() {
    assert_no_alloc(|| {
        let v: Vec<u8> = Vec::with_capacity(64);
        std::hint::black_box(v);
    });
}

#[test]
fn assert_no_alloc_is_live_in_this_test_binary() {
    use std::os::unix::process::ExitStatusExt;
    let st = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "allocation_inside_the_guard_aborts"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert_eq!(st.signal(), Some(6), "an allocation under assert_no_alloc was not caught: {st}");
}
