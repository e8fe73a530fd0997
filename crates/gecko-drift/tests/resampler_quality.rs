//! Measurements of the adaptive resampler at [`Quality::High`] (the default),
//! for both of its filters: THD+N of sines from 1 to 19 kHz at ratio
//! 1 + 200 ppm (the drift-correction filter, 48 kHz), passband ripple at
//! 48 kHz (drift correction) and 44.1 kHz → 48 kHz (rate conversion).

use gecko_drift::{AdaptiveResampler, Quality, SincFilter};
use realfft::RealFftPlanner;
use std::f64::consts::PI;

/// Runs `input_at(k)` (input sample k, mono) through `r`, returns
/// `n` output samples after skipping `skip`.
fn resample(r: &mut AdaptiveResampler, input_at: impl Fn(u64) -> f32, skip: usize, n: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(skip + n + 512);
    let mut k = 0u64;
    let mut inbuf = vec![0.0f32; r.max_input_frames()];
    let mut obuf = vec![0.0f32; 512];
    while out.len() < skip + n {
        let need = r.input_needed(512);
        for s in inbuf[..need].iter_mut() {
            *s = input_at(k);
            k += 1;
        }
        let m = r.process(&inbuf[..need], &mut obuf);
        out.extend(obuf[..m].iter().map(|&x| x as f64));
    }
    out[skip..skip + n].to_vec()
}

/// 4-term Blackman-Harris window, periodic (DFT-even) form: a bin-centred
/// sine then occupies exactly bins k0 − 3 ..= k0 + 3, so nothing leaks into
/// the noise bins and the measurement floor is set by the signal alone.
fn blackman_harris(n: usize) -> Vec<f64> {
    let (a0, a1, a2, a3) = (0.35875, 0.48829, 0.14128, 0.01168);
    (0..n)
        .map(|i| {
            let x = 2.0 * PI * i as f64 / n as f64;
            a0 - a1 * x.cos() + a2 * (2.0 * x).cos() - a3 * (3.0 * x).cos()
        })
        .collect()
}

/// THD+N, dB: power in 20 Hz..20 kHz outside ±`notch` bins of bin `k0`,
/// relative to the power within them.
fn thd_n_db(x: &[f64], rate: f64, k0: usize, notch: usize) -> f64 {
    let n = x.len();
    let w = blackman_harris(n);
    let mut buf: Vec<f64> = x.iter().zip(&w).map(|(a, b)| a * b).collect();
    let fft = RealFftPlanner::<f64>::new().plan_fft_forward(n);
    let mut spec = fft.make_output_vec();
    fft.process(&mut buf, &mut spec).unwrap();
    let bin_hz = rate / n as f64;
    let (lo, hi) = ((20.0 / bin_hz).ceil() as usize, (20_000.0 / bin_hz).floor() as usize);
    let (mut fund, mut rest) = (0.0, 0.0);
    for (k, c) in spec.iter().enumerate().take(hi + 1).skip(lo) {
        let p = c.norm_sqr();
        if k.abs_diff(k0) <= notch {
            fund += p;
        } else {
            rest += p;
        }
    }
    10.0 * (rest / fund).log10()
}

/// THD+N (dB) of a −1 dBFS sine of about `f_hz` through a 48 kHz → 48 kHz
/// resampler at ratio 1 + 200 ppm, measured over 2^16 output samples; also
/// returns the output and the sine's bin.
fn thd_n_at_plus_200_ppm(f_hz: f64) -> (f64, Vec<f64>, usize) {
    let rate = 48_000.0;
    let mut r = AdaptiveResampler::new(rate, rate, 1, 512, Quality::High).unwrap();
    r.set_correction_ppm(200.0);
    assert!((r.relative_ratio() - 1.0002).abs() < 1e-15);
    let n = 1 << 16;
    // The output frequency is bin-centred: k0 cycles per n output samples.
    let k0 = (f_hz * n as f64 / rate).round() as usize;
    let f_in = k0 as f64 / n as f64 * 1.0002; // cycles per input sample
    let amp = 10f64.powf(-1.0 / 20.0);
    let out = resample(&mut r, |k| (amp * (2.0 * PI * (k as f64 * f_in).fract()).sin()) as f32, 4096, n);
    (thd_n_db(&out, rate, k0, 4), out, k0)
}

#[test]
fn same_rate_drift_correction_uses_the_64_tap_filter_and_conversion_the_256_tap_one() {
    let short = SincFilter { taps: 64, cutoff: 1.0, oversampling: 1024, interpolation_order: 1 };
    let long = SincFilter { taps: 256, cutoff: 0.96, oversampling: 256, interpolation_order: 3 };
    for (rin, rout, want) in [
        (48_000.0, 48_000.0, short),
        (96_000.0, 96_000.0, short),
        (48_000.0, 48_500.0, short),
        (44_100.0, 48_000.0, long),
        (48_000.0, 44_100.0, long),
        // 44.1 kHz has only 2.05 kHz between 20 kHz and Nyquist: the long filter even for drift.
        (44_100.0, 44_100.0, long),
    ] {
        let r = AdaptiveResampler::new(rin, rout, 2, 128, Quality::High).unwrap();
        assert_eq!(r.filter(), want, "{rin} Hz -> {rout} Hz");
    }
}

#[test]
fn thd_n_of_a_minus_1_dbfs_1_khz_sine_at_ratio_1_plus_200_ppm() {
    let (thdn, out, k0) = thd_n_at_plus_200_ppm(1000.0);
    println!("THD+N at ratio 1 + 200 ppm, −1 dBFS {:.2} Hz: {thdn:.1} dB", k0 as f64 * 48_000.0 / 65_536.0);
    assert!(thdn <= -120.0, "THD+N {thdn:.1} dB");
    // The measurement can fail: a little distortion (1e-5·x³) or white
    // noise at −120 dBFS RMS added to the same output measure above −120 dB.
    let rate = 48_000.0;
    let distorted: Vec<f64> = out.iter().map(|&x| x + 1e-5 * x * x * x).collect();
    let dist = thd_n_db(&distorted, rate, k0, 4);
    let mut seed = 1u64;
    let noisy: Vec<f64> = out
        .iter()
        .map(|&x| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            x + 1e-6 * 3f64.sqrt() * (2.0 * ((seed >> 11) as f64 / (1u64 << 53) as f64) - 1.0)
        })
        .collect();
    let noise = thd_n_db(&noisy, rate, k0, 4);
    println!("controls: 1e-5·x³ added {dist:.1} dB, −120 dBFS noise added {noise:.1} dB");
    assert!(dist > -120.0 && noise > -120.0);
}

/// The drift-correction filter is clean across the band, not only at 1 kHz:
/// its images of treble content are where a short filter would fail first.
#[test]
fn thd_n_stays_below_minus_120_db_up_to_19_khz_at_ratio_1_plus_200_ppm() {
    for f in [5_000.0, 10_000.0, 15_000.0, 19_000.0] {
        let (thdn, _, _) = thd_n_at_plus_200_ppm(f);
        println!("THD+N at ratio 1 + 200 ppm, −1 dBFS {f} Hz: {thdn:.1} dB");
        assert!(thdn <= -120.0, "{f} Hz: THD+N {thdn:.1} dB");
    }
}

/// Gain of the resampler at `f` Hz (44.1 kHz → 48 kHz), dB: least-squares
/// fit of a sine and cosine at the known output frequency.
fn gain_db(f: f64) -> f64 {
    gain_db_at(44_100.0, 48_000.0, 0.0, f)
}

/// Gain of the resampler from `rin` to `rout` Hz with a correction of
/// `ppm`, at `f` Hz, dB.
fn gain_db_at(rin: f64, rout: f64, ppm: f64, f: f64) -> f64 {
    let mut r = AdaptiveResampler::new(rin, rout, 1, 512, Quality::High).unwrap();
    r.set_correction_ppm(ppm);
    let rout = rout * (1.0 + ppm * 1e-6);
    let amp = 0.5;
    let out = resample(&mut r, |k| (amp * (2.0 * PI * (k as f64 * f / rin).fract()).sin()) as f32, 2048, 16_384);
    let w = 2.0 * PI * f / rout;
    let (mut ss, mut cc, mut sc, mut ys, mut yc) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (i, &y) in out.iter().enumerate() {
        let (s, c) = (w * i as f64).sin_cos();
        ss += s * s;
        cc += c * c;
        sc += s * c;
        ys += y * s;
        yc += y * c;
    }
    let det = ss * cc - sc * sc;
    let a = (ys * cc - yc * sc) / det;
    let b = (yc * ss - ys * sc) / det;
    20.0 * ((a * a + b * b).sqrt() / amp).log10()
}

#[test]
fn passband_ripple_44k1_to_48k_up_to_20_khz() {
    // 48 log-spaced frequencies 20 Hz..20 kHz, plus 1 kHz steps above 10 kHz
    // where a sinc filter's ripple and roll-off live.
    let mut freqs: Vec<f64> = (0..48).map(|i| 20.0 * 1000f64.powf(i as f64 / 47.0)).collect();
    freqs.extend((10..=20).map(|k| k as f64 * 1000.0));
    freqs.extend([19_500.0, 19_900.0]);
    let gains: Vec<(f64, f64)> = freqs.iter().map(|&f| (f, gain_db(f))).collect();
    let max = gains.iter().map(|g| g.1).fold(f64::MIN, f64::max);
    let min = gains.iter().map(|g| g.1).fold(f64::MAX, f64::min);
    let worst = gains.iter().max_by(|a, b| a.1.abs().total_cmp(&b.1.abs())).unwrap();
    println!(
        "44.1 → 48 kHz passband 20 Hz..20 kHz: ripple {:.2e} dB (max {max:+.2e}, min {min:+.2e}, largest |gain| {:+.2e} dB at {:.0} Hz)",
        max - min,
        worst.1,
        worst.0
    );
    assert!(max - min <= 0.01, "ripple {:.4} dB: {gains:?}", max - min);
    // And the method sees roll-off where there is some: 21.5 kHz is in the transition band.
    let edge = gain_db(21_500.0);
    println!("gain at 21.5 kHz: {edge:.2} dB");
    assert!(edge < -0.1);
}

#[test]
fn passband_ripple_at_48_khz_drift_correction_up_to_20_khz() {
    let freqs: Vec<f64> =
        (0..40).map(|i| 20.0 * 1000f64.powf(i as f64 / 39.0)).chain((10..=20).map(|k| k as f64 * 1000.0)).collect();
    let gains: Vec<(f64, f64)> = freqs.iter().map(|&f| (f, gain_db_at(48_000.0, 48_000.0, 200.0, f))).collect();
    let max = gains.iter().map(|g| g.1).fold(f64::MIN, f64::max);
    let min = gains.iter().map(|g| g.1).fold(f64::MAX, f64::min);
    println!("48 kHz, ratio 1 + 200 ppm, 20 Hz..20 kHz: ripple {:.2e} dB (max {max:+.2e}, min {min:+.2e})", max - min);
    assert!(max - min <= 0.01, "ripple {:.4} dB: {gains:?}", max - min);
}
