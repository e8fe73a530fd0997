//! The post loopback tap with the engine's real render: the C driver on a
//! simulated clock runs full HAL cycles (ReadInput for a recording app, then
//! WriteMix), the engine renders from the ring as the output device's
//! callback would and puts every frame it plays into its loopback segment.
//!
//! - bypass: what the recording app gets is the engine's output, bit for bit
//!   (after the tap's fade-in), which in bypass is what apps played;
//! - a preset: it equals the engine's own recording of the same run;
//! - the engine killed (its segment left behind, frozen) and a new one
//!   started: silence while it is away, then sound again, never a sample
//!   beyond full scale, and the IO cycle never waits.

mod common;

use gecko_drift::{DriftConfig, DriftLoop};
use gecko_dsp::{Chain, ChainParams, Preset};
use gecko_engine::core::{Control, RtCore, Telemetry};
use gecko_ring::{LoopbackWriter, Peek, Tap};
use ringbuf::HeapRb;
use ringbuf::traits::{Producer, Split};
use std::time::{Duration, Instant};

/// GECKO_LOOPBACK_FADE_FRAMES.
const FADE: usize = 240;
const N: usize = 512;

/// A deterministic programme: two detuned sines and a little noise, < 0.8.
fn programme(frame: u64, c: usize) -> f32 {
    let t = frame as f64 / 48000.0;
    let mut z = (frame << 4 | c as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    let noise = (z >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
    (0.4 * (std::f64::consts::TAU * 440.3 * t).sin()
        + 0.3 * (std::f64::consts::TAU * (997.1 + c as f64) * t).sin()
        + 0.05 * noise) as f32
}

struct Run {
    /// What the engine played (interleaved).
    played: Vec<f32>,
    /// What the recording app got from Gecko Sink's input (interleaved).
    recorded: Vec<f32>,
    /// Longest IO cycle.
    worst_cycle: Duration,
}

/// `blocks` cycles; `pause(k)` says how long to pause before cycle k (real
/// time, for the driver's attach thread) and `each(k, core)` may change the
/// engine before it renders.
fn run(
    tag: &str,
    params: ChainParams,
    recording: Option<&std::path::Path>,
    blocks: u64,
    mut each: impl FnMut(u64, &mut RtCore, &str) -> Duration,
) -> Run {
    let (name, driver, clock) = common::driver(tag);
    // The engine's loopback segment exists when IO starts (the driver maps it
    // at StartIO; one created later is found within 50 ms of real time).
    let rate0 = driver.find_device().unwrap().sample_rate;
    let ch0 = gecko_driver_bundle::CHANNELS;
    let loopback = LoopbackWriter::create(&name, ch0, rate0, LoopbackWriter::DEFAULT_CAPACITY_FRAMES).unwrap();
    let (dev, reader, mut io) = common::start(&driver, &name);
    let ch = dev.channels as usize;
    let rate = dev.sample_rate;
    // Clock steering (what Auto picks at equal rates on a driver that steers):
    // the engine copies ring frames 1:1, so bypass is bit-exact.
    let mut cfg = DriftConfig::new(ch, rate, rate);
    cfg.actuator = gecko_drift::ActuatorChoice::Steer;
    let drift = DriftLoop::new(cfg).unwrap();
    let chain = Chain::new(rate as u32, ch, &params).unwrap();
    let (mut ctl_tx, ctl_rx) = HeapRb::<Control>::new(16).split();
    let (tel_tx, _tel_rx) = HeapRb::<Telemetry>::new(4096).split();
    let recorder = recording.map(|p| gecko_engine::recorder::start(p, ch as u16, rate as u32, 48000 * 20).unwrap());
    let mut core = RtCore::new(reader, Some(drift), chain, recorder, ctl_rx, tel_tx, 2400);
    core.set_loopback(Some(loopback));
    ctl_tx.try_push(Control::Loopback(Some(Tap::Post))).unwrap();
    let tpf = 1e9 / rate;
    let (mut frames, mut out, mut input) = (vec![0f32; N * ch], vec![0f32; N * ch], vec![0f32; N * ch]);
    let mut r = Run { played: Vec::new(), recorded: Vec::new(), worst_cycle: Duration::ZERO };
    for k in 0..blocks {
        let pause = each(k, &mut core, &name);
        if !pause.is_zero() {
            std::thread::sleep(pause);
        }
        for f in 0..N {
            for c in 0..ch {
                frames[f * ch + c] = programme(k * N as u64 + f as u64, c);
            }
        }
        let t = 1_000_000_000 + (k as f64 * N as f64 * tpf) as u64;
        clock.set(t);
        let start = Instant::now();
        io.do_cycle((k * N as u64) as f64, t, &frames, Some(&mut input)).unwrap();
        r.worst_cycle = r.worst_cycle.max(start.elapsed());
        r.recorded.extend_from_slice(&input);
        core.render(&mut out, t + (256.0 * tpf) as u64);
        r.played.extend_from_slice(&out);
    }
    assert_eq!(core.totals().underrun_frames, 0, "a paced render never runs the ring dry");
    let lb = Peek::open(&name).unwrap().status().unwrap().loopback;
    assert_eq!(lb.tap, Some(Tap::Post));
    assert_eq!(lb.post_faults, 0);
    let rec = core.take_recorder();
    drop(core);
    if let Some(rec) = rec {
        rec.finish().unwrap();
    }
    io.stop_io().unwrap();
    let _ = gecko_ring::unlink_segments(&name);
    r
}

/// Where the recording lines up with `stream`: `(from, offset)` such that
/// recording frame `i` (for `i >= from`, past the tap's fade-in) is stream
/// frame `i + offset`. 64 frames well past the first sound must match at
/// exactly one place.
fn locate(recorded: &[f32], stream: &[f32], ch: usize) -> (usize, isize) {
    let first = recorded.iter().position(|&x| x != 0.0).expect("the recording has sound") / ch;
    let at = first + 2 * FADE;
    let probe = &recorded[at * ch..(at + 64) * ch];
    let hits: Vec<usize> = (0..stream.len() / ch - 64)
        .filter(|&p| probe.iter().zip(&stream[p * ch..]).all(|(a, b)| a.to_bits() == b.to_bits()))
        .collect();
    assert_eq!(hits.len(), 1, "the recording matches the stream at exactly one place: {hits:?}");
    // The fade-in ends at most FADE frames after the first sound.
    (first + FADE, hits[0] as isize - at as isize)
}

/// Recording frames `from..` equal stream frames `from + offset..`, bit for
/// bit, as far as both go; returns how many frames were compared.
fn assert_bit_exact(recorded: &[f32], stream: &[f32], ch: usize, (from, offset): (usize, isize), what: &str) -> usize {
    let from = from.max((-offset).max(0) as usize);
    let end = (recorded.len() / ch).min((stream.len() as isize / ch as isize - offset) as usize);
    let a = &recorded[from * ch..end * ch];
    let s0 = (from as isize + offset) as usize;
    let b = &stream[s0 * ch..s0 * ch + a.len()];
    let bad = a.iter().zip(b).position(|(x, y)| x.to_bits() != y.to_bits());
    assert_eq!(bad, None, "{what}: bit-exact after the fade-in");
    end - from
}

#[test]
fn post_tap_in_bypass_is_the_engines_output_bit_for_bit() {
    let ch = gecko_driver_bundle::CHANNELS as usize;
    let r = run("gklpb", ChainParams::bypass(), None, 300, |_, _, _| Duration::ZERO);
    let n = assert_bit_exact(&r.recorded, &r.played, ch, locate(&r.recorded, &r.played, ch), "post vs engine output");
    assert!(n > 250 * N, "compared {n} frames");
    // In bypass the engine's output is the programme itself (delayed): so is the tap.
    let src: Vec<f32> = (0..400 * N as u64).flat_map(|f| (0..ch).map(move |c| programme(f, c))).collect();
    let n =
        assert_bit_exact(&r.recorded, &src, ch, locate(&r.recorded, &src, ch), "post in bypass vs what apps played");
    assert!(n > 250 * N, "compared {n} frames");
    assert!(r.worst_cycle < Duration::from_millis(50));
}

#[test]
fn post_tap_with_a_preset_equals_the_engines_recording() {
    let ch = gecko_driver_bundle::CHANNELS as usize;
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("engine.wav");
    let preset = Preset::from_toml_str(
        "gain_db = -3.0\n[[eq.bands]]\ntype = \"peaking\"\nfreq = 440.0\nq = 1.0\ngain_db = -12.0\n\
         [[eq.bands]]\ntype = \"high_shelf\"\nfreq = 6000.0\nq = 0.7\ngain_db = 4.0\n",
        "Loopback test.toml",
    )
    .unwrap();
    let r = run("gklpp", preset.chain_params(), Some(&wav), 300, |_, _, _| Duration::ZERO);
    let engine: Vec<f32> = hound::WavReader::open(&wav).unwrap().samples::<f32>().map(|s| s.unwrap()).collect();
    assert!(engine.len() >= 299 * N * ch, "the engine recorded the run: {} samples", engine.len());
    let n = assert_bit_exact(&r.recorded, &engine, ch, locate(&r.recorded, &engine, ch), "post vs engine recording");
    assert!(n > 250 * N, "compared {n} frames");
    // And it is processed: not the programme.
    let src: Vec<f32> = (0..400 * N as u64).flat_map(|f| (0..ch).map(move |c| programme(f, c))).collect();
    let first = r.recorded.iter().position(|&x| x != 0.0).unwrap() / ch + 2 * FADE;
    let p = &r.recorded[first * ch..(first + 64) * ch];
    assert!(!src.chunks(ch).enumerate().any(|(i, _)| src[i * ch..].starts_with(p)), "the preset changed the signal");
}

#[test]
fn engine_killed_and_restarted_during_a_post_recording() {
    let ch = gecko_driver_bundle::CHANNELS as usize;
    let (kill, back) = (100u64, 160u64);
    let mut killed_at = 0;
    let r = run("gklpk", ChainParams::bypass(), None, 260, |k, core, name| {
        if k == kill {
            // SIGKILL: no clean-up. The segment stays, frozen, mapped by the driver.
            std::mem::forget(core.take_loopback());
            killed_at = k;
        }
        if k == back {
            // The new engine creates its segment anew (a new instance id).
            let rate = 48000.0;
            core.set_loopback(Some(LoopbackWriter::create(name, ch as u32, rate, 16384).unwrap()));
        }
        // From the kill on, let real time pass (12 ms a cycle) so the driver's
        // attach thread (it re-checks the name every 500 ms) finds the new segment.
        if k >= kill { Duration::from_millis(12) } else { Duration::ZERO }
    });
    assert_eq!(killed_at, kill);
    let rec = &r.recorded;
    assert!(rec.iter().all(|x| x.is_finite() && x.abs() <= 1.0), "never a sample beyond full scale");
    assert!(r.worst_cycle < Duration::from_millis(50), "the IO cycle never waits: {:?}", r.worst_cycle);
    // Sound before the kill, silence from shortly after it (the tap's delay)
    // until the new engine is found, then sound again.
    let frame_of_block = |k: u64| (k as usize) * N * ch;
    assert!(rec[frame_of_block(40)..frame_of_block(kill)].iter().any(|&x| x != 0.0));
    assert!(
        rec[frame_of_block(kill + 8)..frame_of_block(back)].iter().all(|&x| x == 0.0),
        "silence while the engine is away"
    );
    let after = &rec[frame_of_block(back)..];
    let resumed = after.iter().position(|&x| x != 0.0).expect("sound again after the restart") / (N * ch);
    assert!(resumed < 80, "resumed {resumed} cycles after the restart");
    // Silence → sound only through the fade-in: no frame jumps from 0 to more than the ramp allows.
    let first = frame_of_block(back) / ch + after.iter().position(|&x| x != 0.0).unwrap() / ch;
    for i in 0..4 {
        for c in 0..ch {
            let x = rec[(first + i) * ch + c].abs();
            assert!(x <= (i + 1) as f32 / FADE as f32 + 1e-6, "frame {i} after the restart: {x}");
        }
    }
}
