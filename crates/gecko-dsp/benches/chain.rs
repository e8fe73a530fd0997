//! DSP chain throughput: 48 kHz stereo in 128-frame blocks on one core,
//! reported as × real time (seconds of audio processed per second of wall
//! time). `cargo bench -p gecko-dsp --bench chain` (add `-- --quick` for a
//! shorter run, `-- --only TEXT` for the lines whose name contains TEXT). Prints a Markdown table (docs/performance.md, "DSP chain").
//!
//! Lines:
//! - the full chain (device volume, gain, 10-band EQ, true-peak limiter,
//!   peak/RMS and BS.1770 loudness meters), without the meters, and with a
//!   resampler in front;
//! - the resampler alone: the engine's `gecko_drift::AdaptiveResampler`
//!   (rubato `SincFixedOut<f64>`, `Quality::High`) in its two designs:
//!   drift correction at 48 kHz, ratio 1.0002 (64-tap sinc), and rate
//!   conversion 44.1 kHz → 48 kHz (256-tap sinc); 128 frames out per call;
//! - each stage alone;
//! - the 10-band EQ on noise versus on silence after a loud burst (a
//!   denormal slow-down would show as silence costing more).
//!
//! Each line runs `AUDIO_SECS` of audio `RUNS` times and reports the best
//! run (least disturbed by the other jobs sharing the machine) and the median.

use gecko_drift::{AdaptiveResampler, Quality};
use gecko_dsp::biquad::FilterType;
use gecko_dsp::{
    Chain, ChainParams, EqBand, EqChannel, EqParams, Equalizer, Limiter, LimiterParams, LoudnessMeter, Meter,
    TruePeakDetector,
};
use std::hint::black_box;
use std::time::Instant;

const FS: usize = 48000;
const CH: usize = 2;
const BLOCK: usize = 128;

#[path = "common/programme.rs"]
mod programme;

fn ten_bands() -> EqParams {
    let b = |kind, freq_hz, q, gain_db| EqBand { kind, freq_hz, q, gain_db, enabled: true, channel: EqChannel::All };
    EqParams::from_bands(&[
        b(FilterType::HighPass, 25.0, 0.707, 0.0),
        b(FilterType::LowShelf, 100.0, 0.707, 3.0),
        b(FilterType::Peaking, 250.0, 1.0, -2.0),
        b(FilterType::Peaking, 500.0, 1.4, 1.5),
        b(FilterType::Peaking, 1000.0, 1.0, -1.0),
        b(FilterType::Peaking, 2000.0, 2.0, -3.0),
        b(FilterType::Peaking, 4000.0, 1.0, 2.0),
        b(FilterType::Notch, 7000.0, 8.0, 0.0),
        b(FilterType::HighShelf, 10000.0, 0.707, 2.0),
        b(FilterType::LowPass, 20000.0, 0.707, 0.0),
    ])
}

/// A left/right profile as AutoEq users build it: the ten bands on the
/// left channel, the same ten 10 % higher on the right, a preamp.
fn left_right_bands() -> EqParams {
    let ten = ten_bands();
    let mut p = ten;
    for (i, b) in ten.bands[..10].iter().enumerate() {
        p.bands[i] = EqBand { channel: EqChannel::Left, ..*b };
        p.bands[10 + i] = EqBand { channel: EqChannel::Right, freq_hz: (b.freq_hz * 1.1).min(20000.0), ..*b };
    }
    p.preamp_db = -6.0;
    p
}

fn full_params(meters: bool) -> ChainParams {
    ChainParams { gain_db: 3.0, eq: ten_bands(), limiter: LimiterParams::default(), meters, ..ChainParams::default() }
}

/// The engine's resampler (gecko-drift, `Quality::High`), reading its
/// input cyclically from an interleaved source.
struct Resampler128 {
    inner: AdaptiveResampler,
    scratch: Vec<f32>,
    pos: usize,
}

impl Resampler128 {
    /// Drift correction: 48 kHz → 48 kHz × 1.0002 (the 64-tap filter).
    fn drift() -> Resampler128 {
        let mut inner = AdaptiveResampler::new(FS as f64, FS as f64, CH, BLOCK, Quality::High).unwrap();
        inner.set_correction_ppm(200.0);
        Resampler128::wrap(inner)
    }

    /// Rate conversion: 44.1 kHz → 48 kHz (the 256-tap filter).
    fn convert() -> Resampler128 {
        Resampler128::wrap(AdaptiveResampler::new(44_100.0, FS as f64, CH, BLOCK, Quality::High).unwrap())
    }

    fn wrap(inner: AdaptiveResampler) -> Resampler128 {
        let scratch = vec![0.0; inner.max_input_frames() * CH];
        Resampler128 { inner, scratch, pos: 0 }
    }

    /// Resamples from `src` (interleaved, read cyclically) into `out` (BLOCK frames).
    fn next_block(&mut self, src: &[f32], out: &mut [f32]) {
        let need = self.inner.input_needed(BLOCK);
        let samples = src.len();
        let mut filled = 0;
        while filled < need * CH {
            let take = (need * CH - filled).min(samples - self.pos);
            self.scratch[filled..filled + take].copy_from_slice(&src[self.pos..self.pos + take]);
            filled += take;
            self.pos = (self.pos + take) % samples;
        }
        self.inner.process(&self.scratch[..need * CH], out);
    }
}

struct Line {
    name: &'static str,
    best: f64,
    median: f64,
}

/// Runs `f` over the input `runs` times; returns × real time (best, median).
fn measure(audio_secs: usize, runs: usize, mut f: impl FnMut()) -> (f64, f64) {
    f(); // warm-up (caches, branch predictors, first-run page faults)
    let mut x: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            audio_secs as f64 / t.elapsed().as_secs_f64()
        })
        .collect();
    x.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (x[runs - 1], x[runs / 2])
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    // `--only TEXT`: run only the lines whose name contains TEXT.
    let only = args.windows(2).find(|w| w[0] == "--only").map(|w| w[1].clone());
    let (secs, runs) = if quick { (5, 3) } else { (20, 7) };
    let input = programme::programme(FS, secs);
    let mut work = input.clone();
    let mut lines = Vec::new();
    let mut run = |name: &'static str, lines: &mut Vec<Line>, f: &mut dyn FnMut(&mut [f32])| {
        if only.as_ref().is_some_and(|o| !name.contains(o.as_str())) {
            return;
        }
        let (best, median) = measure(secs, runs, || {
            work.copy_from_slice(&input);
            for b in work.chunks_mut(BLOCK * CH) {
                f(b);
            }
            black_box(&work);
        });
        eprintln!("{name}: {best:.0}x (median {median:.0}x)");
        lines.push(Line { name, best, median });
    };

    let mut chain = Chain::new(FS as u32, CH, &full_params(true)).unwrap();
    chain.set_device(0.8, false);
    run("full chain: volume, gain, 10-band EQ, limiter, peak/RMS + BS.1770 meters", &mut lines, &mut |b| {
        chain.process(b, CH)
    });

    let mut chain = Chain::new(FS as u32, CH, &full_params(false)).unwrap();
    chain.set_device(0.8, false);
    run("full chain without the meters", &mut lines, &mut |b| chain.process(b, CH));

    let mut chain = Chain::new(FS as u32, CH, &full_params(true)).unwrap();
    chain.set_device(0.8, false);
    let mut rs = Resampler128::drift();
    let src = input.clone();
    run("full chain + drift resampler (48 kHz, ratio 1.0002, 64 taps)", &mut lines, &mut |b| {
        rs.next_block(&src, b);
        chain.process(b, CH)
    });

    let mut chain = Chain::new(FS as u32, CH, &full_params(false)).unwrap();
    chain.set_device(0.8, false);
    let mut rs = Resampler128::drift();
    run("full chain without the meters + drift resampler", &mut lines, &mut |b| {
        rs.next_block(&src, b);
        chain.process(b, CH)
    });

    let mut chain = Chain::new(FS as u32, CH, &full_params(true)).unwrap();
    chain.set_device(0.8, false);
    let mut rs = Resampler128::convert();
    run("full chain + rate conversion (44.1 → 48 kHz, 256 taps)", &mut lines, &mut |b| {
        rs.next_block(&src, b);
        chain.process(b, CH)
    });

    let mut rs = Resampler128::drift();
    run("drift resampler alone (48 kHz, ratio 1.0002, 64 taps)", &mut lines, &mut |b| rs.next_block(&src, b));

    let mut rs = Resampler128::convert();
    run("rate conversion alone (44.1 → 48 kHz, 256 taps)", &mut lines, &mut |b| rs.next_block(&src, b));

    let mut eq = Equalizer::new(FS as f64, CH, &ten_bands()).unwrap();
    run("10-band EQ alone", &mut lines, &mut |b| eq.process(b));

    let mut eq = Equalizer::new(FS as f64, CH, &left_right_bands()).unwrap();
    run("20-band left/right EQ alone (10 bands per channel, -6 dB preamp)", &mut lines, &mut |b| eq.process(b));

    let mut lim = Limiter::new(FS as f64, CH, &LimiterParams::default()).unwrap();
    run("limiter alone (4x true-peak detector, lookahead 2 ms)", &mut lines, &mut |b| lim.process(b));

    let mut m = Meter::new(CH);
    let mut lm = LoudnessMeter::new(CH, FS as u32).unwrap();
    run("meters alone (peak/RMS + BS.1770 M/S/I/LRA/true peak)", &mut lines, &mut |b| {
        m.process(b);
        lm.process(b)
    });

    let mut lm = LoudnessMeter::new(CH, FS as u32).unwrap();
    run("BS.1770 loudness meter alone (ebur128 M/S/I/LRA + our true peak)", &mut lines, &mut |b| lm.process(b));

    let mut tp = TruePeakDetector::new(CH);
    run("true-peak + sample-peak meter alone (BS.1770-4 Annex 2, 4x)", &mut lines, &mut |b| tp.process(b));

    // Denormals: the EQ on silence right after a loud burst vs on noise.
    let mut eq_noise = Equalizer::new(FS as f64, CH, &ten_bands()).unwrap();
    run("10-band EQ on the programme (reference for the next line)", &mut lines, &mut |b| eq_noise.process(b));
    let mut eq_sil = Equalizer::new(FS as f64, CH, &ten_bands()).unwrap();
    let mut burst = input[..FS * CH].to_vec();
    for b in burst.chunks_mut(BLOCK * CH) {
        eq_sil.process(b);
    }
    let mut blocks_done = 0usize;
    run("10-band EQ on silence after a loud burst (state decaying to 0)", &mut lines, &mut |b| {
        b.fill(0.0);
        if blocks_done.is_multiple_of(FS * 2 / BLOCK) {
            // re-excite every 2 s so the state keeps decaying through the tiny range
            b[0] = 1.0;
            b[1] = -1.0;
        }
        blocks_done += 1;
        eq_sil.process(b)
    });

    println!("| Configuration (48 kHz stereo, 128-frame blocks, one core) | × real time (best of {runs}) | median |");
    println!("|---|---:|---:|");
    for l in &lines {
        println!("| {} | {:.0}× | {:.0}× |", l.name, l.best, l.median);
    }
}
