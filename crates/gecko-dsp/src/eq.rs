//! Parametric EQ: up to [`MAX_BANDS`] cascaded RBJ-cookbook biquads
//! ([`crate::biquad`]) per channel, each change smoothed.

use crate::biquad::{
    BandStep, Biquad, BiquadError, BiquadParams, CONTROL_FRAMES, Coefficients, FilterType, MAX_CHANNELS, SmoothedBiquad,
};
use serde::{Deserialize, Serialize};

/// Most bands an [`Equalizer`] (and a preset) holds.
pub const MAX_BANDS: usize = 16;

/// One EQ band as written in a preset or [`crate::ChainParams`]. TOML keys:
/// `type`, `freq` (Hz), `q`, `gain_db` (dB, default 0), `enabled` (default true).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EqBand {
    /// Filter type (TOML key `type`).
    #[serde(rename = "type")]
    pub kind: FilterType,
    /// Centre / corner frequency, Hz (TOML key `freq`).
    #[serde(rename = "freq")]
    pub freq_hz: f64,
    /// Q (dimensionless; 0.707 = Butterworth for the passes).
    pub q: f64,
    /// Gain, dB (peaking and shelves only).
    #[serde(default)]
    pub gain_db: f64,
    /// A disabled band is bypassed.
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

impl Default for EqBand {
    /// A disabled 0 dB peak at 1 kHz.
    fn default() -> Self {
        EqBand { kind: FilterType::Peaking, freq_hz: 1000.0, q: 1.0, gain_db: 0.0, enabled: false }
    }
}

impl EqBand {
    /// The band's filter, or `None` when disabled.
    pub fn params(&self) -> Option<BiquadParams> {
        self.enabled.then_some(BiquadParams {
            kind: self.kind,
            freq_hz: self.freq_hz,
            q: self.q,
            gain_db: self.gain_db,
        })
    }
}

/// The EQ's settings: a fixed array of bands (unused ones disabled), so that
/// a new value can be handed to the audio thread without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct EqParams {
    /// Bands, applied in order.
    pub bands: [EqBand; MAX_BANDS],
}

/// A band that failed validation: its index and why.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("eq.bands[{index}].{error}")]
pub struct EqError {
    /// Band index (0-based).
    pub index: usize,
    /// What is wrong (names the field).
    pub error: BiquadError,
}

impl EqParams {
    /// Builds params from a list of bands (at most [`MAX_BANDS`]; the rest are dropped).
    pub fn from_bands(bands: &[EqBand]) -> EqParams {
        let mut p = EqParams::default();
        for (d, s) in p.bands.iter_mut().zip(bands) {
            *d = *s;
        }
        p
    }

    /// Checks every enabled band at `sample_rate` (Hz).
    pub fn validate(&self, sample_rate: f64) -> Result<(), EqError> {
        for (index, b) in self.bands.iter().enumerate() {
            if let Some(p) = b.params() {
                p.validate(sample_rate).map_err(|error| EqError { index, error })?;
            }
        }
        Ok(())
    }

    /// Magnitude response of all enabled bands together at `freq_hz` (Hz),
    /// sample rate `sample_rate` (Hz), dB (sum of the bands' `20·log10|H|`).
    /// Invalid bands count as 0 dB.
    pub fn magnitude_db(&self, freq_hz: f64, sample_rate: f64) -> f64 {
        self.bands
            .iter()
            .filter_map(|b| b.params())
            .filter(|p| p.validate(sample_rate).is_ok())
            .map(|p| Coefficients::design_unchecked(&p, sample_rate).magnitude_db(freq_hz, sample_rate))
            .sum()
    }
}

/// A parametric EQ on interleaved f32 blocks (frames × channels, up to
/// [`MAX_CHANNELS`] channels) with f64 arithmetic and state. Processing
/// never allocates: bands and buffers are fixed-size. With every band
/// disabled and settled, samples pass bit-identical.
pub struct Equalizer {
    sample_rate: f64,
    channels: usize,
    bands: Box<[SmoothedBiquad; MAX_BANDS]>,
    params: EqParams,
    buf: Box<[f64; CONTROL_FRAMES * MAX_CHANNELS]>,
    scratch: Box<[f64; CONTROL_FRAMES * MAX_CHANNELS]>,
}

impl Equalizer {
    /// An EQ at `sample_rate` (Hz) for `channels` channels (clamped to
    /// 1..=MAX_CHANNELS) set to `params` at once (no initial ramp).
    pub fn new(sample_rate: f64, channels: usize, params: &EqParams) -> Result<Equalizer, EqError> {
        params.validate(sample_rate)?;
        let mut eq = Equalizer {
            sample_rate,
            channels: channels.clamp(1, MAX_CHANNELS),
            bands: Box::new(std::array::from_fn(|_| SmoothedBiquad::new(sample_rate))),
            params: *params,
            buf: Box::new([0.0; CONTROL_FRAMES * MAX_CHANNELS]),
            scratch: Box::new([0.0; CONTROL_FRAMES * MAX_CHANNELS]),
        };
        for (band, p) in eq.bands.iter_mut().zip(params.bands.iter()) {
            band.set_now(p.params()).map_err(|_| unreachable_validated())?;
        }
        Ok(eq)
    }

    /// Channels processed.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Sample rate, Hz.
    pub fn sample_rate(&self) -> f64 {
        self.sample_rate
    }

    /// The current target settings.
    pub fn params(&self) -> &EqParams {
        &self.params
    }

    /// Sets how long parameter changes take, ms (default 20).
    pub fn set_smoothing_ms(&mut self, ms: f64) {
        for b in self.bands.iter_mut() {
            b.set_smoothing_ms(ms);
        }
    }

    /// Changes the settings; every band moves smoothly to its new target.
    /// Validates all bands first: on error nothing changes. Real-time safe.
    pub fn set_params(&mut self, params: &EqParams) -> Result<(), EqError> {
        params.validate(self.sample_rate)?;
        for (band, p) in self.bands.iter_mut().zip(params.bands.iter()) {
            band.set_target(p.params()).map_err(|_| unreachable_validated())?;
        }
        self.params = *params;
        Ok(())
    }

    /// The settled EQ's magnitude response at `freq_hz` (Hz), dB.
    pub fn magnitude_db(&self, freq_hz: f64) -> f64 {
        self.bands.iter().map(|b| b.target_magnitude_db(freq_hz)).sum()
    }

    /// Filters an interleaved block (frames × the EQ's channels) in place.
    pub fn process(&mut self, block: &mut [f32]) {
        let ch = self.channels;
        if self.bands.iter().all(|b| b.target().is_none() && !b.is_settling()) {
            return;
        }
        let step = CONTROL_FRAMES * ch;
        for chunk in block.chunks_mut(step) {
            let n = chunk.len() - chunk.len() % ch;
            let chunk = &mut chunk[..n];
            let b = &mut self.buf[..n];
            for (d, s) in b.iter_mut().zip(chunk.iter()) {
                *d = *s as f64;
            }
            let mut steps = [BandStep::Bypassed; MAX_BANDS];
            for (step, band) in steps.iter_mut().zip(self.bands.iter_mut()) {
                *step = band.begin_control_block();
            }
            if ch == 2 {
                run_stereo(&mut self.bands[..], &mut self.scratch[..], &steps, b);
            } else {
                for (step, band) in steps.iter().zip(self.bands.iter_mut()) {
                    match step {
                        BandStep::Bypassed => {}
                        BandStep::Steady => band.steady_section().process_f64(b, ch),
                        BandStep::Changing => band.run_control_block(b, ch, &mut self.scratch[..]),
                    }
                }
            }
            for (d, s) in chunk.iter_mut().zip(b.iter()) {
                *d = *s as f32;
            }
        }
    }
}

/// Most bands [`Biquad::cascade_stereo`] runs in one pass: their states
/// (2 vector registers each) must stay in registers (x86-64 has 16; measured
/// on the 10-band bench: 4 per pass 1060×, 5 per pass 1290×, all 10 in one
/// pass 940×, spilling).
const FUSED_MAX: usize = 5;

/// One stereo control block of the [`Equalizer`]: each run of steady bands
/// (between changing ones; bypassed bands are skipped) goes through
/// [`Biquad::cascade_stereo`] in as few passes of at most [`FUSED_MAX`]
/// bands as possible, of near-equal size (bit-identical to one band at a
/// time, faster); changing bands run alone; all in band order.
fn run_stereo(bands: &mut [SmoothedBiquad], scratch: &mut [f64], steps: &[BandStep; MAX_BANDS], b: &mut [f64]) {
    let mut run = [0usize; MAX_BANDS];
    let mut n = 0;
    for i in 0..=MAX_BANDS {
        let step = steps.get(i).copied();
        if step == Some(BandStep::Steady) {
            run[n] = i;
            n += 1;
            continue;
        }
        if step == Some(BandStep::Bypassed) {
            continue;
        }
        // A changing band or the end: run the steady ones before it.
        let passes = n.div_ceil(FUSED_MAX);
        let mut done = 0;
        for p in 0..passes {
            let size = (n - done) / (passes - p);
            run_group(bands, &run[done..done + size], b);
            done += size;
        }
        n = 0;
        if step == Some(BandStep::Changing) {
            bands[i].run_control_block(b, 2, scratch);
        }
    }
}

/// Runs the steady bands at `idx` (ascending, 1 to [`FUSED_MAX`] of them) fused.
fn run_group(bands: &mut [SmoothedBiquad], idx: &[usize], b: &mut [f64]) {
    macro_rules! fused {
        ($n:literal) => {{
            let i: [usize; $n] = idx.try_into().unwrap();
            if let Ok(sel) = bands.get_disjoint_mut(i) {
                Biquad::cascade_stereo(sel.map(|band| band.steady_section()), b);
            }
        }};
    }
    match idx.len() {
        1 => fused!(1),
        2 => fused!(2),
        3 => fused!(3),
        4 => fused!(4),
        _ => fused!(5),
    }
}

/// Validation already passed, so band setters cannot fail.
fn unreachable_validated() -> EqError {
    EqError { index: usize::MAX, error: BiquadError::SampleRate(f64::NAN) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FS: f64 = 48000.0;

    fn ten_bands() -> EqParams {
        let kinds = [
            FilterType::HighPass,
            FilterType::LowShelf,
            FilterType::Peaking,
            FilterType::Peaking,
            FilterType::Notch,
            FilterType::Peaking,
            FilterType::BandPass,
            FilterType::AllPass,
            FilterType::HighShelf,
            FilterType::LowPass,
        ];
        let freqs = [25.0, 120.0, 300.0, 800.0, 1500.0, 3000.0, 5000.0, 7000.0, 9000.0, 19000.0];
        let mut bands = [EqBand::default(); 10];
        for i in 0..10 {
            bands[i] = EqBand {
                kind: kinds[i],
                freq_hz: freqs[i],
                q: 0.5 + 0.3 * i as f64,
                gain_db: -9.0 + 2.0 * i as f64,
                enabled: true,
            };
        }
        bands[6].q = 0.2; // wide band-pass so the cascade does not vanish
        EqParams::from_bands(&bands)
    }

    #[test]
    fn cascade_response_is_the_sum_of_band_responses_and_matches_a_sine() {
        let p = ten_bands();
        let eq = Equalizer::new(FS, 2, &p).unwrap();
        for f in [50.0, 200.0, 1000.0, 4000.0, 12000.0] {
            let sum: f64 = p
                .bands
                .iter()
                .filter_map(|b| b.params())
                .map(|bp| crate::biquad::analog_magnitude_db(&bp, f, FS))
                .sum();
            assert!((eq.magnitude_db(f) - sum).abs() < 0.01, "{f}");
            assert!((p.magnitude_db(f, FS) - sum).abs() < 0.01, "{f}");
        }
        // run a 1 kHz stereo sine (R inverted) and compare the amplitude
        let mut eq = Equalizer::new(FS, 2, &p).unwrap();
        let n = 48000;
        let mut x: Vec<f32> = (0..n)
            .flat_map(|i| {
                let s = (0.1 * (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / FS).sin()) as f32;
                [s, -s]
            })
            .collect();
        for blk in x.chunks_mut(256) {
            eq.process(blk);
        }
        let tail = &x[2 * 24000..];
        let rms =
            |c: usize| (tail.iter().skip(c).step_by(2).map(|v| (*v as f64).powi(2)).sum::<f64>() / 24000.0).sqrt();
        let want = 0.1 / 2f64.sqrt() * 10f64.powf(eq.magnitude_db(1000.0) / 20.0);
        assert!((20.0 * (rms(0) / want).log10()).abs() < 0.01);
        assert!((20.0 * (rms(1) / want).log10()).abs() < 0.01);
    }

    #[test]
    fn all_bands_disabled_is_bit_exact() {
        let mut eq = Equalizer::new(FS, 2, &EqParams::default()).unwrap();
        let x: Vec<f32> = (0..1000).map(|i| ((i as f32) * 0.1).sin() * 0.3 + 1e-30).collect();
        let mut y = x.clone();
        eq.process(&mut y);
        assert_eq!(x, y);
    }

    #[test]
    fn invalid_band_is_reported_with_its_path_and_nothing_changes() {
        let mut p = ten_bands();
        let mut eq = Equalizer::new(FS, 2, &p).unwrap();
        p.bands[3].freq_hz = 30000.0;
        let e = eq.set_params(&p).unwrap_err();
        assert_eq!(e.to_string(), "eq.bands[3].freq = 30000 Hz: must be below half the sample rate (24000 Hz)");
        assert_eq!(eq.params(), &ten_bands());
        // a disabled band is not validated
        p.bands[3].enabled = false;
        assert!(eq.set_params(&p).is_ok());
    }

    #[test]
    fn processing_and_live_changes_do_not_allocate() {
        let mut eq = Equalizer::new(FS, 2, &ten_bands()).unwrap();
        let mut p2 = ten_bands();
        p2.bands[2].gain_db = 6.0;
        p2.bands[4].kind = FilterType::Peaking;
        p2.bands[9].enabled = false;
        p2.bands[12] = EqBand { enabled: true, ..EqBand::default() };
        let mut block = vec![0.1f32; 2 * 128];
        assert_no_alloc::assert_no_alloc(|| {
            for i in 0..200 {
                if i == 10 {
                    eq.set_params(&p2).unwrap();
                }
                eq.process(&mut block);
            }
        });
    }

    /// The stereo path runs steady bands fused ([`Biquad::cascade_stereo`]);
    /// the result must be bit-identical to running every band alone, in
    /// order, including while some bands glide (gain/frequency change),
    /// crossfade (type change, enable/disable) and others stay steady.
    #[test]
    fn fused_stereo_cascade_is_bit_identical_to_band_by_band_through_live_changes() {
        let p0 = ten_bands();
        let mut p1 = p0;
        p1.bands[0].freq_hz = 40.0; // glide
        p1.bands[3].gain_db += 4.0; // glide
        p1.bands[5].kind = FilterType::LowShelf; // crossfade
        p1.bands[7].enabled = false; // crossfade to bypass
        p1.bands[12] = EqBand { kind: FilterType::Peaking, freq_hz: 2500.0, q: 2.0, gain_db: 5.0, enabled: true }; // fades in
        let mut p2 = p1;
        p2.bands[7].enabled = true;
        p2.bands[9].freq_hz = 15000.0;

        let mut eq = Equalizer::new(FS, 2, &p0).unwrap();
        let mut reference: Vec<SmoothedBiquad> = p0
            .bands
            .iter()
            .map(|b| {
                let mut s = SmoothedBiquad::new(FS);
                s.set_now(b.params()).unwrap();
                s
            })
            .collect();
        let mut seed = 7u64;
        let x: Vec<f32> = (0..2 * 48000)
            .map(|_| {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5) as f32 * 0.5
            })
            .collect();
        let mut fused = x.clone();
        let mut want = x.clone();
        let mut scratch = [0.0f64; CONTROL_FRAMES * 2];
        // 100-frame blocks, so control blocks do not line up with them.
        for (k, (blk, wblk)) in fused.chunks_mut(200).zip(want.chunks_mut(200)).enumerate() {
            let change = match k {
                50 => Some(p1),
                60 => Some(p2),
                _ => None,
            };
            if let Some(p) = change {
                eq.set_params(&p).unwrap();
                for (band, b) in reference.iter_mut().zip(p.bands.iter()) {
                    band.set_target(b.params()).unwrap();
                }
            }
            eq.process(blk);
            for chunk in wblk.chunks_mut(CONTROL_FRAMES * 2) {
                let mut d: Vec<f64> = chunk.iter().map(|&v| v as f64).collect();
                for band in reference.iter_mut() {
                    band.process_control_block(&mut d, 2, &mut scratch);
                }
                for (o, v) in chunk.iter_mut().zip(d) {
                    *o = v as f32;
                }
            }
        }
        let first_diff = fused.iter().zip(&want).position(|(a, b)| a.to_bits() != b.to_bits());
        assert_eq!(first_diff, None, "fused and band-by-band differ");
        // and the changes did something
        assert_ne!(fused[120 * 200..], x[120 * 200..]);
    }
}
