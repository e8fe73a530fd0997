//! What a listener hears when the engine takes another preset mid-programme
//! (a device's bound preset on an output switch, `gecko ctl preset`, the
//! app): the engine's real-time render, paced sample-continuously against
//! the C driver's ring on a simulated clock, goes from bypass to a preset
//! cutting 440 Hz by 12 dB while a 440 Hz sine plays. The output must change
//! by a crossfade of about the chain's smoothing (20 ms), never by a step,
//! and settle at exactly the preset's response.
//!
//! The process-level test (crates/gecko-cli/tests/ctl.rs,
//! `moving_the_output_applies_the_preset_bound_to_the_device`) shows the
//! bound preset being applied on a real output switch; its ALSA null PCMs
//! are not paced by a clock, so its recording cannot show this sample by
//! sample. This test can.

mod common;

use gecko_drift::{DriftConfig, DriftLoop};
use gecko_dsp::{Chain, ChainParams, Preset};
use gecko_engine::core::{Control, RtCore, Telemetry};
use ringbuf::HeapRb;
use ringbuf::traits::{Producer, Split};

/// The sine's peak (−6 dBFS) and frequency.
const AMPLITUDE: f32 = 0.5;
const FREQ: f64 = 440.0;

#[test]
fn a_preset_taken_mid_programme_crossfades_and_settles_at_its_response() {
    let (name, driver, clock) = common::driver("gkps");
    let (dev, reader, mut io) = common::start(&driver, &name);
    let ch = dev.channels as usize;
    let rate = dev.sample_rate;

    // The engine starts in bypass (no preset, as on a device without a binding).
    let drift = DriftLoop::new(DriftConfig::new(ch, rate, rate)).unwrap();
    let chain = Chain::new(rate as u32, ch, &ChainParams::bypass()).unwrap();
    let (mut ctl_tx, ctl_rx) = HeapRb::<Control>::new(16).split();
    let (tel_tx, _tel_rx) = HeapRb::<Telemetry>::new(1024).split();
    let mut core = RtCore::new(reader, Some(drift), chain, None, ctl_rx, tel_tx, 2400);
    // The preset the ctl test binds to "studio" (its limiter comes on too).
    let preset = Preset::from_toml_str(
        "[[eq.bands]]\ntype = \"peaking\"\nfreq = 440.0\nq = 1.0\ngain_db = -12.0\n",
        "Studio EQ.toml",
    )
    .unwrap();

    let tpf = 1e9 / rate;
    let mut frames = vec![0f32; 512 * ch];
    let mut out = vec![0f32; 512 * ch];
    let mut left = Vec::new();
    let (blocks, switch_at) = (300u64, 150u64);
    for k in 0..blocks {
        for f in 0..512u64 {
            let v = AMPLITUDE * (std::f64::consts::TAU * FREQ * (k * 512 + f) as f64 / rate).sin() as f32;
            frames[f as usize * ch..][..ch].fill(v);
        }
        let t = 1_000_000_000 + (k as f64 * 512.0 * tpf) as u64;
        clock.set(t);
        io.do_write_mix_cycle((k * 512) as f64, t, &frames).unwrap();
        if k == switch_at {
            ctl_tx.try_push(Control::Chain(preset.chain_params())).unwrap();
        }
        core.render(&mut out, t + (256.0 * tpf) as u64);
        left.extend(out.chunks_exact(ch).map(|f| f[0]));
    }
    assert_eq!(core.totals().underrun_frames, 0, "a paced render never runs the ring dry");

    // Peaks per period-ish window (110 samples ≥ one 440 Hz period), in dB re the sine.
    let window = 110;
    let db = |v: f32| 20.0 * (v / AMPLITUDE).log10();
    let peaks: Vec<f32> = left.chunks(window).map(|w| db(w.iter().fold(0f32, |m, x| m.max(x.abs())))).collect();
    let switch_sample = (switch_at * 512) as usize;
    let first_window = switch_sample / window;
    // Before: the sine as played (after the ring's start-up).
    for (i, p) in peaks.iter().enumerate().take(first_window).skip(20) {
        assert!(p.abs() < 0.01, "window {i}, before the switch: {p:.3} dB");
    }
    // After: the preset's response at 440 Hz, −12 dB (a peaking filter's gain at
    // its centre is its gain_db: RBJ cookbook), from 100 ms after the switch on.
    for (i, p) in peaks.iter().enumerate().skip(first_window + 4800 / window) {
        assert!((p + 12.0).abs() < 0.1, "window {i}, after the switch: {p:.3} dB, want -12");
    }
    // The change is a fade: from the last window at the full level to the first
    // at −12 dB, at least 15 ms (720 samples) of ramp, every window in between
    // in between.
    let last_full = peaks.iter().rposition(|p| p.abs() < 0.05).unwrap();
    let first_cut = peaks.iter().position(|p| (p + 12.0).abs() < 0.1).unwrap();
    eprintln!(
        "switch at sample {switch_sample}; last full window {last_full}, first −12 dB window {first_cut} \
         ({} samples of fade)",
        (first_cut - last_full - 1) * window
    );
    assert!(
        (first_cut - last_full - 1) * window >= 720,
        "faded over less than 15 ms: {:?}",
        &peaks[last_full..=first_cut]
    );
    assert!(first_cut * window < switch_sample + 4800, "the fade ends within 100 ms");
    for w in peaks[last_full..=first_cut].windows(2) {
        assert!(w[1] <= w[0] + 0.05, "the level only falls during the fade: {:?}", &peaks[last_full..=first_cut]);
    }
    // Nowhere a step: no sample-to-sample change beyond 1.5 × the sine's own
    // steepest (amplitude × 2π·440/48000). An unfaded switch of coefficients or
    // of the limiter's delay line makes one of up to ~0.75 × the amplitude.
    let slope = AMPLITUDE * std::f32::consts::TAU * FREQ as f32 / rate as f32;
    let (worst, at) = left
        .windows(2)
        .enumerate()
        .skip(20 * window)
        .map(|(i, w)| ((w[1] - w[0]).abs(), i + 1))
        .fold((0f32, 0), |m, x| if x.0 > m.0 { x } else { m });
    eprintln!("steepest step: {:.3} × the sine's at sample {at}", worst / slope);
    assert!(worst <= 1.5 * slope, "a step of {:.3} × the sine's steepest at sample {at}", worst / slope);
    drop(core);
    let _ = gecko_ring::unlink_segments(&name);
}
