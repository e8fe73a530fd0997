//! Second-order IIR sections ("biquads") designed with the formulas of
//! Robert Bristow-Johnson's *Cookbook formulae for audio EQ biquad filter
//! coefficients* (the "RBJ Audio EQ Cookbook", W3C Audio EQ Cookbook note),
//! run in transposed direct form II with f64 state per channel.
//!
//! Every cookbook filter is the bilinear transform, pre-warped at `f0`, of an
//! analog prototype `H(s)` with `s` normalised to `2π·f0`; the digital
//! response at frequency `f` is therefore exactly `|H(jΩ)|` with
//! `Ω = tan(π·f/fs) / tan(π·f0/fs)`. [`analog_magnitude_db`] evaluates that
//! closed form, [`Coefficients::magnitude_db`] evaluates `H(e^jω)` of the
//! designed coefficients; the tests check that both agree to 0.01 dB and that
//! a sine run through the filter comes out with that gain.
//!
//! Denormals: an IIR filter fed silence after a loud passage decays its
//! state geometrically towards zero and, in f64, reaches subnormal numbers
//! (< 2.2e-308) after some seconds, where x86 arithmetic becomes up to 100×
//! slower. [`Biquad`] flushes state words whose magnitude falls below
//! [`DENORMAL_FLUSH`] (1e-20, i.e. −400 dBFS — 250 dB below f32's
//! resolution) to exactly 0.0 after every block, so silence in gives exact
//! zeros out and the state never leaves the normal range. The test
//! `silence_after_a_burst_flushes_state_to_exact_zero` shows an unprotected
//! section does go subnormal on the same input; the bench `chain` shows that
//! silence costs no more than noise.

use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// Most channels a filter keeps state for (the ring protocol's maximum).
pub const MAX_CHANNELS: usize = 64;
/// State words below this magnitude are set to exactly 0.0 after each block.
pub const DENORMAL_FLUSH: f64 = 1e-20;
/// Smallest Q accepted.
pub const MIN_Q: f64 = 0.025;
/// Largest Q accepted (a narrower filter rings for seconds).
pub const MAX_Q: f64 = 100.0;
/// Band gain range, dB (peaking and shelving filters).
pub const MAX_BAND_GAIN_DB: f64 = 24.0;
/// Band gain range, dB (peaking and shelving filters).
pub const MIN_BAND_GAIN_DB: f64 = -24.0;

/// Which channels of an interleaved block a filter runs on: all of them, or
/// one (its index, below the block's channel count). The others pass
/// untouched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lane {
    /// Every channel.
    All,
    /// Only this channel (0-based).
    One(usize),
}

/// The filter types of the RBJ cookbook. In TOML: `"peaking"`,
/// `"low_shelf"`, `"high_shelf"`, `"low_pass"`, `"high_pass"`, `"notch"`,
/// `"band_pass"`, `"all_pass"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FilterType {
    /// Peaking EQ ("bell"): `gain_db` at `f0`, 0 dB far away; `Q` sets the width.
    #[default]
    Peaking,
    /// Low shelf: `gain_db` below `f0` (half the dB gain at `f0`), 0 dB above.
    LowShelf,
    /// High shelf: `gain_db` above `f0`, 0 dB below.
    HighShelf,
    /// 12 dB/octave low-pass; −3.01 dB at `f0` for Q = 1/√2 (Butterworth).
    LowPass,
    /// 12 dB/octave high-pass; −3.01 dB at `f0` for Q = 1/√2.
    HighPass,
    /// Band-reject: zero gain at `f0`; `Q` sets the width.
    Notch,
    /// Band-pass with 0 dB peak gain at `f0` (the cookbook's "constant 0 dB
    /// peak gain" variant); `Q` sets the width.
    BandPass,
    /// All-pass: flat magnitude, phase turns by 2π around `f0`.
    AllPass,
}

impl FilterType {
    /// Every type, in declaration order.
    pub const ALL: [FilterType; 8] = [
        FilterType::Peaking,
        FilterType::LowShelf,
        FilterType::HighShelf,
        FilterType::LowPass,
        FilterType::HighPass,
        FilterType::Notch,
        FilterType::BandPass,
        FilterType::AllPass,
    ];

    /// Whether `gain_db` affects this type (peaking and shelves).
    pub fn uses_gain(self) -> bool {
        matches!(self, FilterType::Peaking | FilterType::LowShelf | FilterType::HighShelf)
    }

    /// The TOML/serde name, e.g. `"low_shelf"`.
    pub fn name(self) -> &'static str {
        match self {
            FilterType::Peaking => "peaking",
            FilterType::LowShelf => "low_shelf",
            FilterType::HighShelf => "high_shelf",
            FilterType::LowPass => "low_pass",
            FilterType::HighPass => "high_pass",
            FilterType::Notch => "notch",
            FilterType::BandPass => "band_pass",
            FilterType::AllPass => "all_pass",
        }
    }
}

/// What a biquad is asked to be. Units: `freq_hz` = f0 in Hz, `q` = the
/// cookbook's Q (dimensionless; 1/√2 ≈ 0.707 = Butterworth for the
/// passes, ≈ 1.41 octaves wide for a peak), `gain_db` = gain in dB (used by
/// peaking and shelves; ignored otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BiquadParams {
    /// Filter type.
    pub kind: FilterType,
    /// Centre / corner frequency f0, Hz; in (0, fs/2).
    pub freq_hz: f64,
    /// Q, in [MIN_Q, MAX_Q].
    pub q: f64,
    /// Gain, dB, in [MIN_BAND_GAIN_DB, MAX_BAND_GAIN_DB].
    pub gain_db: f64,
}

impl BiquadParams {
    /// Checks the parameters against sample rate `sample_rate` (Hz). Errors
    /// name the field (`freq`, `q`, `gain_db`) and why.
    pub fn validate(&self, sample_rate: f64) -> Result<(), BiquadError> {
        if !(sample_rate.is_finite() && sample_rate > 0.0) {
            return Err(BiquadError::SampleRate(sample_rate));
        }
        let nyquist = sample_rate / 2.0;
        if !(self.freq_hz.is_finite() && self.freq_hz > 0.0 && self.freq_hz < nyquist) {
            return Err(BiquadError::Frequency { value: self.freq_hz, nyquist });
        }
        if !(self.q.is_finite() && (MIN_Q..=MAX_Q).contains(&self.q)) {
            return Err(BiquadError::Q(self.q));
        }
        if !(self.gain_db.is_finite() && (MIN_BAND_GAIN_DB..=MAX_BAND_GAIN_DB).contains(&self.gain_db)) {
            return Err(BiquadError::Gain(self.gain_db));
        }
        Ok(())
    }
}

/// Invalid biquad parameters. The message starts with the field name as it is
/// spelled in a preset (`freq`, `q`, `gain_db`), so a caller can prefix the
/// path (`eq.bands[3].`).
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum BiquadError {
    /// f0 not in (0, fs/2).
    #[error("freq = {value} Hz: {}", freq_reason(*value, *nyquist))]
    Frequency {
        /// The frequency given, Hz.
        value: f64,
        /// Half the sample rate, Hz.
        nyquist: f64,
    },
    /// Q not in [MIN_Q, MAX_Q].
    #[error("q = {0}: must be from 0.025 to 100")]
    Q(f64),
    /// Gain not in [MIN_BAND_GAIN_DB, MAX_BAND_GAIN_DB].
    #[error("gain_db = {0} dB: must be from -24 to +24 dB")]
    Gain(f64),
    /// Sample rate not a positive finite number.
    #[error("sample rate = {0} Hz: must be a positive number")]
    SampleRate(f64),
}

fn freq_reason(value: f64, nyquist: f64) -> String {
    if value.is_nan() {
        "must be a number".to_owned()
    } else if value <= 0.0 {
        "must be above 0 Hz".to_owned()
    } else {
        format!("must be below half the sample rate ({nyquist} Hz)")
    }
}

impl BiquadError {
    /// The offending field's name as spelled in a preset.
    pub fn field(&self) -> &'static str {
        match self {
            BiquadError::Frequency { .. } => "freq",
            BiquadError::Q(_) => "q",
            BiquadError::Gain(_) => "gain_db",
            BiquadError::SampleRate(_) => "sample_rate",
        }
    }
}

/// Normalised biquad coefficients (a0 = 1):
/// `H(z) = (b0 + b1·z⁻¹ + b2·z⁻²) / (1 + a1·z⁻¹ + a2·z⁻²)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coefficients {
    /// Feed-forward coefficients.
    pub b0: f64,
    /// Feed-forward coefficients.
    pub b1: f64,
    /// Feed-forward coefficients.
    pub b2: f64,
    /// Feedback coefficients (sign as in the denominator above).
    pub a1: f64,
    /// Feedback coefficients (sign as in the denominator above).
    pub a2: f64,
}

impl Coefficients {
    /// The identity filter (H = 1).
    pub const IDENTITY: Coefficients = Coefficients { b0: 1.0, b1: 0.0, b2: 0.0, a1: 0.0, a2: 0.0 };

    /// Designs `params` at sample rate `sample_rate` (Hz) with the RBJ
    /// cookbook formulas (A = 10^(gain_db/40), ω0 = 2π·f0/fs,
    /// α = sin ω0 / (2Q); shelves use α with Q directly, i.e. the cookbook's
    /// "Q" form rather than its shelf-slope S).
    pub fn design(params: &BiquadParams, sample_rate: f64) -> Result<Coefficients, BiquadError> {
        params.validate(sample_rate)?;
        Ok(Self::design_unchecked(params, sample_rate))
    }

    /// As [`Coefficients::design`] without validation (callers validated).
    pub(crate) fn design_unchecked(p: &BiquadParams, fs: f64) -> Coefficients {
        let w0 = 2.0 * PI * p.freq_hz / fs;
        let (sw, cw) = w0.sin_cos();
        let alpha = sw / (2.0 * p.q);
        let a = 10f64.powf(p.gain_db / 40.0);
        let (b0, b1, b2, a0, a1, a2) = match p.kind {
            FilterType::LowPass => {
                let b = (1.0 - cw) / 2.0;
                (b, 1.0 - cw, b, 1.0 + alpha, -2.0 * cw, 1.0 - alpha)
            }
            FilterType::HighPass => {
                let b = (1.0 + cw) / 2.0;
                (b, -(1.0 + cw), b, 1.0 + alpha, -2.0 * cw, 1.0 - alpha)
            }
            FilterType::BandPass => (alpha, 0.0, -alpha, 1.0 + alpha, -2.0 * cw, 1.0 - alpha),
            FilterType::Notch => (1.0, -2.0 * cw, 1.0, 1.0 + alpha, -2.0 * cw, 1.0 - alpha),
            FilterType::AllPass => (1.0 - alpha, -2.0 * cw, 1.0 + alpha, 1.0 + alpha, -2.0 * cw, 1.0 - alpha),
            FilterType::Peaking => {
                (1.0 + alpha * a, -2.0 * cw, 1.0 - alpha * a, 1.0 + alpha / a, -2.0 * cw, 1.0 - alpha / a)
            }
            FilterType::LowShelf => {
                let k = 2.0 * a.sqrt() * alpha;
                (
                    a * ((a + 1.0) - (a - 1.0) * cw + k),
                    2.0 * a * ((a - 1.0) - (a + 1.0) * cw),
                    a * ((a + 1.0) - (a - 1.0) * cw - k),
                    (a + 1.0) + (a - 1.0) * cw + k,
                    -2.0 * ((a - 1.0) + (a + 1.0) * cw),
                    (a + 1.0) + (a - 1.0) * cw - k,
                )
            }
            FilterType::HighShelf => {
                let k = 2.0 * a.sqrt() * alpha;
                (
                    a * ((a + 1.0) + (a - 1.0) * cw + k),
                    -2.0 * a * ((a - 1.0) + (a + 1.0) * cw),
                    a * ((a + 1.0) + (a - 1.0) * cw - k),
                    (a + 1.0) - (a - 1.0) * cw + k,
                    2.0 * ((a - 1.0) - (a + 1.0) * cw),
                    (a + 1.0) - (a - 1.0) * cw - k,
                )
            }
        };
        Coefficients { b0: b0 / a0, b1: b1 / a0, b2: b2 / a0, a1: a1 / a0, a2: a2 / a0 }
    }

    /// `H(e^{jω})` at `freq_hz` for sample rate `sample_rate` (Hz), as (re, im).
    pub fn response(&self, freq_hz: f64, sample_rate: f64) -> (f64, f64) {
        let w = 2.0 * PI * freq_hz / sample_rate;
        // z^-1 = e^{-jw}, z^-2 = e^{-2jw}
        let (s1, c1) = (-w).sin_cos();
        let (s2, c2) = (-2.0 * w).sin_cos();
        let nr = self.b0 + self.b1 * c1 + self.b2 * c2;
        let ni = self.b1 * s1 + self.b2 * s2;
        let dr = 1.0 + self.a1 * c1 + self.a2 * c2;
        let di = self.a1 * s1 + self.a2 * s2;
        let d = dr * dr + di * di;
        ((nr * dr + ni * di) / d, (ni * dr - nr * di) / d)
    }

    /// `20·log10|H(e^{jω})|` at `freq_hz` (Hz) for sample rate `sample_rate` (Hz), dB.
    pub fn magnitude_db(&self, freq_hz: f64, sample_rate: f64) -> f64 {
        let (re, im) = self.response(freq_hz, sample_rate);
        10.0 * (re * re + im * im).log10()
    }
}

/// The analytic magnitude (dB) of the cookbook filter `params` at `freq_hz`
/// for sample rate `sample_rate`: the analog prototype's closed-form |H(jΩ)|
/// at the bilinear-warped frequency `Ω = tan(π f/fs) / tan(π f0/fs)`, with
/// A = 10^(gain_db/40):
///
/// - low-pass `1/((1−Ω²)² + Ω²/Q²)`, high-pass `Ω⁴/(…)`, band-pass
///   `(Ω/Q)²/(…)`, notch `(1−Ω²)²/(…)`, all-pass `1` (all |H|²);
/// - peaking `((1−Ω²)² + (ΩA/Q)²) / ((1−Ω²)² + (Ω/(AQ))²)`;
/// - low shelf `A²·((A−Ω²)² + AΩ²/Q²) / ((1−AΩ²)² + AΩ²/Q²)`, high shelf
///   the same with numerator and denominator swapped (all |H|²).
///
/// Independent of [`Coefficients::design`]; used by tests and plots.
pub fn analog_magnitude_db(params: &BiquadParams, freq_hz: f64, sample_rate: f64) -> f64 {
    let o = (PI * freq_hz / sample_rate).tan() / (PI * params.freq_hz / sample_rate).tan();
    let q = params.q;
    let a = 10f64.powf(params.gain_db / 40.0);
    let o2 = o * o;
    let den = (1.0 - o2).powi(2) + o2 / (q * q);
    let h2 = match params.kind {
        FilterType::LowPass => 1.0 / den,
        FilterType::HighPass => o2 * o2 / den,
        FilterType::BandPass => (o2 / (q * q)) / den,
        FilterType::Notch => (1.0 - o2).powi(2) / den,
        FilterType::AllPass => 1.0,
        FilterType::Peaking => {
            ((1.0 - o2).powi(2) + (o * a / q).powi(2)) / ((1.0 - o2).powi(2) + (o / (a * q)).powi(2))
        }
        FilterType::LowShelf => {
            a * a * ((a - o2).powi(2) + a * o2 / (q * q)) / ((1.0 - a * o2).powi(2) + a * o2 / (q * q))
        }
        FilterType::HighShelf => {
            a * a * ((1.0 - a * o2).powi(2) + a * o2 / (q * q)) / ((a - o2).powi(2) + a * o2 / (q * q))
        }
    };
    10.0 * h2.log10()
}

/// One sample through a transposed-direct-form-II section with
/// coefficients `(b0, b1, b2, a1, a2)` and state `s = [s1, s2]`:
/// `y = b0·x + s1; s1 = b1·x − a1·y + s2; s2 = b2·x − a2·y`. Returns `y`.
#[inline(always)]
fn tdf2(b0: f64, b1: f64, b2: f64, a1: f64, a2: f64, x: f64, s: &mut [f64; 2]) -> f64 {
    let y = b0 * x + s[0];
    s[0] = b1 * x - a1 * y + s[1];
    s[1] = b2 * x - a2 * y;
    y
}

/// One biquad section in transposed direct form II with f64 state for up to
/// [`MAX_CHANNELS`] channels:
/// `y = b0·x + s1; s1 = b1·x − a1·y + s2; s2 = b2·x − a2·y`.
#[derive(Debug, Clone)]
pub struct Biquad {
    coeffs: Coefficients,
    state: [[f64; 2]; MAX_CHANNELS],
}

impl Default for Biquad {
    fn default() -> Self {
        Biquad::new(Coefficients::IDENTITY)
    }
}

impl Biquad {
    /// A section with `coeffs` and zero state.
    pub fn new(coeffs: Coefficients) -> Biquad {
        Biquad { coeffs, state: [[0.0; 2]; MAX_CHANNELS] }
    }

    /// The coefficients.
    pub fn coefficients(&self) -> Coefficients {
        self.coeffs
    }

    /// Replaces the coefficients, keeping the state (no smoothing: see
    /// [`SmoothedBiquad`]).
    pub fn set_coefficients(&mut self, coeffs: Coefficients) {
        self.coeffs = coeffs;
    }

    /// Zeroes the state.
    pub fn reset(&mut self) {
        self.state = [[0.0; 2]; MAX_CHANNELS];
    }

    /// The state words `[s1, s2]` of `channel` (for tests and diagnostics).
    pub fn state(&self, channel: usize) -> [f64; 2] {
        self.state[channel]
    }

    /// Filters an interleaved f64 block (frames × `channels`) in place, then
    /// flushes tiny state to zero.
    pub fn process_f64(&mut self, block: &mut [f64], channels: usize) {
        let ch = channels.min(MAX_CHANNELS);
        let Coefficients { b0, b1, b2, a1, a2 } = self.coeffs;
        if ch == 2 {
            // The common case, unrolled so both channels' recursions overlap.
            let [mut l1, mut l2] = self.state[0];
            let [mut r1, mut r2] = self.state[1];
            for f in block.chunks_exact_mut(2) {
                let (xl, xr) = (f[0], f[1]);
                let yl = b0 * xl + l1;
                let yr = b0 * xr + r1;
                l1 = b1 * xl - a1 * yl + l2;
                r1 = b1 * xr - a1 * yr + r2;
                l2 = b2 * xl - a2 * yl;
                r2 = b2 * xr - a2 * yr;
                f[0] = yl;
                f[1] = yr;
            }
            self.state[0] = [l1, l2];
            self.state[1] = [r1, r2];
        } else {
            for f in block.chunks_exact_mut(channels) {
                for (x, s) in f.iter_mut().zip(self.state[..ch].iter_mut()) {
                    *x = tdf2(b0, b1, b2, a1, a2, *x, s);
                }
            }
        }
        self.flush_denormals(ch);
    }

    /// As [`Biquad::process_f64`] on the channels `lane` selects of an
    /// interleaved f64 block (frames × `channels`); the other samples are
    /// left as they are. `Lane::All` is exactly [`Biquad::process_f64`].
    pub(crate) fn process_f64_lane(&mut self, block: &mut [f64], channels: usize, lane: Lane) {
        let c = match lane {
            Lane::All => return self.process_f64(block, channels),
            Lane::One(c) => c,
        };
        if c >= channels.min(MAX_CHANNELS) {
            return;
        }
        let Coefficients { b0, b1, b2, a1, a2 } = self.coeffs;
        let mut s = self.state[c];
        for f in block.chunks_exact_mut(channels) {
            f[c] = tdf2(b0, b1, b2, a1, a2, f[c], &mut s);
        }
        self.state[c] = s;
        self.flush_channel(c);
    }

    /// Runs `N` sections in series (`sections[0]` first) over channel `c`
    /// of an interleaved f64 block (frames × `channels`) in one pass, then
    /// flushes each section's tiny state to zero. Bit-identical to calling
    /// [`Biquad::process_f64_lane`] with `Lane::One(c)` on each section in
    /// turn (same operations, same order); faster for the reason given at
    /// [`Biquad::cascade_stereo`]. `c` must be below `channels`.
    pub(crate) fn cascade_lane<const N: usize>(
        sections: [&mut Biquad; N],
        block: &mut [f64],
        channels: usize,
        c: usize,
    ) {
        if c >= channels.min(MAX_CHANNELS) {
            return;
        }
        let k: [Coefficients; N] = std::array::from_fn(|i| sections[i].coeffs);
        let mut st: [[f64; 2]; N] = std::array::from_fn(|i| sections[i].state[c]);
        for f in block.chunks_exact_mut(channels) {
            let mut x = f[c];
            for i in 0..N {
                let Coefficients { b0, b1, b2, a1, a2 } = k[i];
                let s = &mut st[i];
                let y = b0 * x + s[0];
                s[0] = b1 * x - a1 * y + s[1];
                s[1] = b2 * x - a2 * y;
                x = y;
            }
            f[c] = x;
        }
        for (section, s) in sections.into_iter().zip(st) {
            section.state[c] = s;
            section.flush_channel(c);
        }
    }

    /// Runs `N` sections in series (`sections[0]` first) over an
    /// interleaved **stereo** f64 block (frames × 2) in one pass, then
    /// flushes each section's tiny state to zero. Bit-identical to calling
    /// [`Biquad::process_f64`] on each section in turn: every section does
    /// the same operations on the same samples in the same order. Faster
    /// because the TDF-II recursion of one section is latency-bound (a
    /// multiply and two adds per sample on its critical path); run one at a
    /// time, a 10-band EQ waits on 10 such chains per frame, run together
    /// their chains overlap. The states stay in registers for the pass,
    /// which bounds `N` (the EQ runs at most 5 per pass: `FUSED_MAX` in eq.rs).
    pub(crate) fn cascade_stereo<const N: usize>(sections: [&mut Biquad; N], block: &mut [f64]) {
        let c: [Coefficients; N] = std::array::from_fn(|k| sections[k].coeffs);
        // st[k] = [l1, l2, r1, r2]
        let mut st: [[f64; 4]; N] = std::array::from_fn(|k| {
            let s = &sections[k].state;
            [s[0][0], s[0][1], s[1][0], s[1][1]]
        });
        for f in block.chunks_exact_mut(2) {
            let (mut xl, mut xr) = (f[0], f[1]);
            for k in 0..N {
                let Coefficients { b0, b1, b2, a1, a2 } = c[k];
                let s = &mut st[k];
                let yl = b0 * xl + s[0];
                let yr = b0 * xr + s[2];
                s[0] = b1 * xl - a1 * yl + s[1];
                s[2] = b1 * xr - a1 * yr + s[3];
                s[1] = b2 * xl - a2 * yl;
                s[3] = b2 * xr - a2 * yr;
                xl = yl;
                xr = yr;
            }
            f[0] = xl;
            f[1] = xr;
        }
        for (section, s) in sections.into_iter().zip(st) {
            section.state[0] = [s[0], s[1]];
            section.state[1] = [s[2], s[3]];
            section.flush_denormals(2);
        }
    }

    /// Filters an interleaved f32 block (frames × `channels`) in place
    /// (arithmetic and state in f64).
    pub fn process(&mut self, block: &mut [f32], channels: usize) {
        if channels == 0 {
            return;
        }
        let mut buf = [0.0f64; 256];
        let step = (buf.len() / channels.max(1)) * channels;
        for chunk in block.chunks_mut(step.max(channels)) {
            let b = &mut buf[..chunk.len()];
            for (d, s) in b.iter_mut().zip(chunk.iter()) {
                *d = *s as f64;
            }
            self.process_f64(b, channels);
            for (d, s) in chunk.iter_mut().zip(b.iter()) {
                *d = *s as f32;
            }
        }
    }

    /// As [`Biquad::process_f64`], moving the coefficients linearly, frame by
    /// frame, from the current ones to `to` (reached at the last frame), so a
    /// parameter step has no stair in it. A linear path between two stable
    /// biquads is stable: the stability region (|a2| < 1, |a1| < 1 + a2) is
    /// convex.
    pub fn process_f64_ramped(&mut self, block: &mut [f64], channels: usize, to: Coefficients) {
        let ch = channels.min(MAX_CHANNELS);
        let frames = block.len() / channels.max(1);
        if frames == 0 {
            self.coeffs = to;
            return;
        }
        let from = self.coeffs;
        let inv = 1.0 / frames as f64;
        for (i, f) in block.chunks_exact_mut(channels).enumerate() {
            let t = (i + 1) as f64 * inv;
            let l = |a: f64, b: f64| a + (b - a) * t;
            let (b0, b1, b2, a1, a2) =
                (l(from.b0, to.b0), l(from.b1, to.b1), l(from.b2, to.b2), l(from.a1, to.a1), l(from.a2, to.a2));
            for (x, s) in f.iter_mut().zip(self.state[..ch].iter_mut()) {
                *x = tdf2(b0, b1, b2, a1, a2, *x, s);
            }
        }
        self.coeffs = to;
        self.flush_denormals(ch);
    }

    /// As [`Biquad::process_f64_ramped`] on the channels `lane` selects
    /// (the others are left as they are). `Lane::All` is exactly
    /// [`Biquad::process_f64_ramped`].
    pub(crate) fn process_f64_ramped_lane(&mut self, block: &mut [f64], channels: usize, to: Coefficients, lane: Lane) {
        let c = match lane {
            Lane::All => return self.process_f64_ramped(block, channels, to),
            Lane::One(c) => c,
        };
        let frames = block.len() / channels.max(1);
        if frames == 0 || c >= channels.min(MAX_CHANNELS) {
            self.coeffs = to;
            return;
        }
        let from = self.coeffs;
        let inv = 1.0 / frames as f64;
        let mut s = self.state[c];
        for (i, f) in block.chunks_exact_mut(channels).enumerate() {
            let t = (i + 1) as f64 * inv;
            let l = |a: f64, b: f64| a + (b - a) * t;
            let (b0, b1, b2, a1, a2) =
                (l(from.b0, to.b0), l(from.b1, to.b1), l(from.b2, to.b2), l(from.a1, to.a1), l(from.a2, to.a2));
            f[c] = tdf2(b0, b1, b2, a1, a2, f[c], &mut s);
        }
        self.state[c] = s;
        self.coeffs = to;
        self.flush_channel(c);
    }

    #[inline]
    fn flush_channel(&mut self, c: usize) {
        for v in self.state[c].iter_mut() {
            if v.abs() < DENORMAL_FLUSH {
                *v = 0.0;
            }
        }
    }

    #[inline]
    fn flush_denormals(&mut self, ch: usize) {
        for s in self.state[..ch].iter_mut() {
            for v in s.iter_mut() {
                if v.abs() < DENORMAL_FLUSH {
                    *v = 0.0;
                }
            }
        }
    }
}

/// What a [`SmoothedBiquad`] does in a control block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BandStep {
    /// Passes samples through untouched (bypassed, no fade).
    Bypassed,
    /// One fixed section (no glide, no fade): may run fused with neighbours.
    Steady,
    /// Gliding or crossfading.
    Changing,
}

/// Frames per control step of [`SmoothedBiquad`]: coefficients are
/// recomputed at most once per this many frames while a change is in
/// progress.
pub const CONTROL_FRAMES: usize = 16;

/// A biquad whose parameter changes are smoothed so that live edits never
/// click.
///
/// - A change that keeps the filter type (and keeps the band enabled) is
///   *interpolated*: every [`CONTROL_FRAMES`] frames the parameters move a
///   step along a straight line from where they were to the target — gain in
///   dB, frequency and Q on a log scale — over `smoothing` (default 20 ms);
///   the coefficients are redesigned from them (a valid, stable cookbook
///   filter at every step) and, within the control block, glide linearly
///   sample by sample from the previous design to the new one, so there is
///   no stair either (test `gain_step_is_click_free`).
/// - A change of type, or enabling/disabling (bypass), *crossfades*
///   linearly, sample by sample, from the old filter's output to the new
///   one's (both run during the fade; the new one starts from zero state).
///   A further type change arriving during a fade waits for it to end.
#[derive(Debug, Clone)]
pub struct SmoothedBiquad {
    sample_rate: f64,
    /// What the band should become; `None` = bypass.
    target: Option<BiquadParams>,
    /// What `main` implements now; `None` = bypass.
    current: Option<BiquadParams>,
    main: Biquad,
    /// Where the running interpolation started and how many control steps remain.
    ramp_from: Option<BiquadParams>,
    ramp_left: u32,
    ramp_steps: u32,
    /// Coefficients the next control block glides `main` to.
    glide_to: Option<Coefficients>,
    /// The filter being faded out (`None` = dry) and the fade position.
    old: Biquad,
    old_active: bool,
    fading: bool,
    fade_pos: u32,
    fade_len: u32,
}

impl SmoothedBiquad {
    /// A bypassed band at `sample_rate` (Hz) with the default 20 ms smoothing.
    pub fn new(sample_rate: f64) -> SmoothedBiquad {
        let mut s = SmoothedBiquad {
            sample_rate,
            target: None,
            current: None,
            main: Biquad::default(),
            ramp_from: None,
            ramp_left: 0,
            ramp_steps: 1,
            glide_to: None,
            old: Biquad::default(),
            old_active: false,
            fading: false,
            fade_pos: 0,
            fade_len: 1,
        };
        s.set_smoothing_ms(20.0);
        s
    }

    /// Sets how long changes take, ms (clamped to 0..=1000; 0 = jump at the
    /// next control step).
    pub fn set_smoothing_ms(&mut self, ms: f64) {
        let ms = if ms.is_finite() { ms.clamp(0.0, 1000.0) } else { 20.0 };
        let frames = (ms * 1e-3 * self.sample_rate).round().max(1.0);
        self.ramp_steps = ((frames / CONTROL_FRAMES as f64).ceil() as u32).max(1);
        self.fade_len = frames as u32;
    }

    /// The target parameters (`None` = bypass).
    pub fn target(&self) -> Option<BiquadParams> {
        self.target
    }

    /// Whether a change is still in progress.
    pub fn is_settling(&self) -> bool {
        self.fading || self.ramp_left > 0 || self.current != self.target
    }

    /// Sets the target (`None` = bypass), validated; the change is smoothed.
    pub fn set_target(&mut self, target: Option<BiquadParams>) -> Result<(), BiquadError> {
        if let Some(p) = &target {
            p.validate(self.sample_rate)?;
        }
        if target != self.target {
            self.target = target;
            // restart interpolation from wherever we are now
            self.ramp_from = self.current;
            self.ramp_left = 0;
        }
        Ok(())
    }

    /// Jumps to `target` now, without smoothing, and clears the state
    /// (for initial set-up).
    pub fn set_now(&mut self, target: Option<BiquadParams>) -> Result<(), BiquadError> {
        self.set_target(target)?;
        self.current = target;
        self.ramp_left = 0;
        self.fading = false;
        self.glide_to = None;
        self.main = Biquad::new(match &target {
            Some(p) => Coefficients::design_unchecked(p, self.sample_rate),
            None => Coefficients::IDENTITY,
        });
        Ok(())
    }

    /// The magnitude (dB) the band will have once settled, at `freq_hz`.
    pub fn target_magnitude_db(&self, freq_hz: f64) -> f64 {
        match &self.target {
            Some(p) => Coefficients::design_unchecked(p, self.sample_rate).magnitude_db(freq_hz, self.sample_rate),
            None => 0.0,
        }
    }

    /// One control step: advance interpolation or start a crossfade.
    fn control(&mut self) {
        if self.current == self.target {
            return;
        }
        let compatible = matches!((&self.current, &self.target), (Some(c), Some(t)) if c.kind == t.kind);
        if compatible {
            let (Some(from), Some(to)) = (self.ramp_from.or(self.current), self.target) else { return };
            if self.ramp_left == 0 {
                self.ramp_from = Some(from);
                self.ramp_left = self.ramp_steps;
            }
            self.ramp_left -= 1;
            let p = if self.ramp_left == 0 {
                to
            } else {
                let t = 1.0 - self.ramp_left as f64 / self.ramp_steps as f64;
                let lerp = |a: f64, b: f64| a + (b - a) * t;
                let lerp_log = |a: f64, b: f64| (a.ln() + (b.ln() - a.ln()) * t).exp();
                BiquadParams {
                    kind: to.kind,
                    freq_hz: lerp_log(from.freq_hz, to.freq_hz),
                    q: lerp_log(from.q, to.q),
                    gain_db: lerp(from.gain_db, to.gain_db),
                }
            };
            self.glide_to = Some(Coefficients::design_unchecked(&p, self.sample_rate));
            self.current = if self.ramp_left == 0 { self.target } else { Some(p) };
            if self.ramp_left == 0 {
                self.ramp_from = None;
            }
        } else if !self.fading {
            // type change or bypass toggle: crossfade old → new
            if let Some(c) = self.glide_to.take() {
                self.main.set_coefficients(c);
            }
            std::mem::swap(&mut self.old, &mut self.main);
            self.old_active = self.current.is_some();
            self.main = Biquad::new(match &self.target {
                Some(p) => Coefficients::design_unchecked(p, self.sample_rate),
                None => Coefficients::IDENTITY,
            });
            self.current = self.target;
            self.ramp_from = None;
            self.ramp_left = 0;
            self.fading = true;
            self.fade_pos = 0;
        }
    }

    /// Filters an interleaved f64 block of at most [`CONTROL_FRAMES`] frames
    /// (frames × `channels`) in place, `scratch` being at least as long.
    pub(crate) fn process_control_block(&mut self, block: &mut [f64], channels: usize, scratch: &mut [f64]) {
        self.process_control_block_lane(block, channels, scratch, Lane::All);
    }

    /// As [`SmoothedBiquad::process_control_block`] on the channels `lane`
    /// selects (the others are left as they are).
    pub(crate) fn process_control_block_lane(
        &mut self,
        block: &mut [f64],
        channels: usize,
        scratch: &mut [f64],
        lane: Lane,
    ) {
        self.control();
        self.run_control_block(block, channels, scratch, lane);
    }

    /// The control step of the next control block (coefficient glides,
    /// fades); says how the block is to be run. Call once per control
    /// block, then either [`SmoothedBiquad::run_control_block`] or, for
    /// [`BandStep::Steady`], run [`SmoothedBiquad::steady_section`].
    pub(crate) fn begin_control_block(&mut self) -> BandStep {
        self.control();
        if self.fading || self.glide_to.is_some() {
            BandStep::Changing
        } else if self.current.is_some() {
            BandStep::Steady
        } else {
            BandStep::Bypassed
        }
    }

    /// The section a [`BandStep::Steady`] band runs unchanged for the block.
    pub(crate) fn steady_section(&mut self) -> &mut Biquad {
        &mut self.main
    }

    /// Runs the control block after [`SmoothedBiquad::begin_control_block`]
    /// on the channels `lane` selects (the others are left as they are).
    pub(crate) fn run_control_block(&mut self, block: &mut [f64], channels: usize, scratch: &mut [f64], lane: Lane) {
        if self.fading {
            let n = block.len();
            let dry = &mut scratch[..n];
            dry.copy_from_slice(block);
            if self.old_active {
                self.old.process_f64_lane(dry, channels, lane);
            }
            if let Some(to) = self.glide_to.take() {
                self.main.process_f64_ramped_lane(block, channels, to, lane);
            } else if self.current.is_some() {
                self.main.process_f64_lane(block, channels, lane);
            }
            let len = self.fade_len as f64;
            for (fi, (f, o)) in block.chunks_exact_mut(channels).zip(dry.chunks_exact(channels)).enumerate() {
                let pos = self.fade_pos + fi as u32 + 1;
                let g = (pos as f64 / len).min(1.0);
                match lane {
                    Lane::All => {
                        for (y, yo) in f.iter_mut().zip(o.iter()) {
                            *y = yo + (*y - yo) * g;
                        }
                    }
                    Lane::One(c) => {
                        if let (Some(y), Some(yo)) = (f.get_mut(c), o.get(c)) {
                            *y = yo + (*y - yo) * g;
                        }
                    }
                }
            }
            self.fade_pos += (n / channels) as u32;
            if self.fade_pos >= self.fade_len {
                self.fading = false;
                self.old_active = false;
            }
        } else if let Some(to) = self.glide_to.take() {
            self.main.process_f64_ramped_lane(block, channels, to, lane);
        } else if self.current.is_some() {
            self.main.process_f64_lane(block, channels, lane);
        }
    }

    /// Filters an interleaved f32 block (frames × `channels`) in place, f64
    /// inside. Convenience for single-band use; [`crate::Equalizer`] runs
    /// many bands on a shared f64 buffer instead.
    pub fn process(&mut self, block: &mut [f32], channels: usize) {
        if channels == 0 || channels > MAX_CHANNELS {
            return;
        }
        let ch = channels;
        let mut buf = [0.0f64; CONTROL_FRAMES * MAX_CHANNELS];
        let mut scratch = [0.0f64; CONTROL_FRAMES * MAX_CHANNELS];
        for chunk in block.chunks_mut(CONTROL_FRAMES * ch) {
            let b = &mut buf[..chunk.len()];
            for (d, s) in b.iter_mut().zip(chunk.iter()) {
                *d = *s as f64;
            }
            self.process_control_block(b, ch, &mut scratch);
            for (d, s) in chunk.iter_mut().zip(b.iter()) {
                *d = *s as f32;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FS: f64 = 48000.0;

    fn params(kind: FilterType, f: f64, q: f64, g: f64) -> BiquadParams {
        BiquadParams { kind, freq_hz: f, q, gain_db: g }
    }

    /// A set of filters covering every type, low/high f0, narrow/wide Q,
    /// boost and cut.
    fn cases() -> Vec<BiquadParams> {
        let mut v = Vec::new();
        for kind in FilterType::ALL {
            for (f, q) in [(30.0, 0.707), (1000.0, 0.5), (1000.0, 4.0), (9000.0, 1.2), (18000.0, 0.707)] {
                for g in [-12.0, 6.0] {
                    v.push(params(kind, f, q, g));
                }
            }
        }
        v
    }

    /// 200 log-spaced frequencies from 10 Hz to 23.9 kHz.
    fn freqs() -> Vec<f64> {
        (0..200).map(|i| 10.0 * (23900.0f64 / 10.0).powf(i as f64 / 199.0)).collect()
    }

    /// Compares two magnitudes (dB): ≤ 0.01 dB where the analytic value is
    /// above −80 dB; deeper (around a notch or far into a stop band, where dB
    /// are ill-conditioned) the linear amplitudes must agree to 1e-4 (−80 dB).
    fn close(implemented: f64, analytic: f64) -> bool {
        if analytic > -80.0 {
            (implemented - analytic).abs() <= 0.01
        } else {
            (10f64.powf(implemented / 20.0) - 10f64.powf(analytic / 20.0)).abs() <= 1e-4
        }
    }

    #[test]
    fn coefficient_response_matches_the_analytic_formula_for_every_type() {
        let mut checked = 0;
        for p in cases() {
            let c = Coefficients::design(&p, FS).unwrap();
            for f in freqs() {
                let got = c.magnitude_db(f, FS);
                let want = analog_magnitude_db(&p, f, FS);
                assert!(close(got, want), "{p:?} at {f:.1} Hz: H(e^jw) {got:.5} dB vs analytic {want:.5} dB");
                checked += 1;
            }
        }
        assert_eq!(checked, 8 * 10 * 200);
    }

    #[test]
    fn characteristic_points_are_right() {
        // Spot values a person can check by hand.
        let m = |p: BiquadParams, f: f64| Coefficients::design(&p, FS).unwrap().magnitude_db(f, FS);
        assert!((m(params(FilterType::Peaking, 1000.0, 1.0, 6.0), 1000.0) - 6.0).abs() < 1e-9);
        assert!((m(params(FilterType::LowShelf, 200.0, 0.707, -9.0), 5.0) + 9.0).abs() < 0.01);
        assert!((m(params(FilterType::LowShelf, 200.0, 0.707, -9.0), 200.0) + 4.5).abs() < 1e-9);
        assert!((m(params(FilterType::HighShelf, 5000.0, 0.707, 4.0), 23000.0) - 4.0).abs() < 0.05);
        assert!(
            (m(params(FilterType::LowPass, 1000.0, std::f64::consts::FRAC_1_SQRT_2, 0.0), 1000.0) + 3.0103).abs()
                < 1e-3
        );
        assert!(
            (m(params(FilterType::HighPass, 1000.0, std::f64::consts::FRAC_1_SQRT_2, 0.0), 1000.0) + 3.0103).abs()
                < 1e-3
        );
        assert!(m(params(FilterType::Notch, 1000.0, 2.0, 0.0), 1000.0) < -200.0);
        assert!(m(params(FilterType::BandPass, 1000.0, 2.0, 0.0), 1000.0).abs() < 1e-9);
        for f in freqs() {
            assert!(m(params(FilterType::AllPass, 700.0, 3.0, 0.0), f).abs() < 1e-9);
        }
    }

    /// Measures the gain (dB) of `section` at `f` by running a sine through it:
    /// 0.5 s to settle, then the amplitude of the output's component at `f`
    /// over a whole number of periods (a single-bin DFT, i.e. a lock-in
    /// amplifier), divided by the input's.
    fn measured_gain_db(p: &BiquadParams, f: f64) -> f64 {
        let mut bq = Biquad::new(Coefficients::design(p, FS).unwrap());
        let settle = (FS * 0.5) as usize;
        // whole number of periods ≥ 0.2 s (f chosen so that fs/f·k is near an integer)
        let periods = ((0.2 * f).ceil()).max(20.0);
        let n = (periods * FS / f).round() as usize;
        let amp = 0.25;
        let x: Vec<f32> = (0..settle + n).map(|i| (amp * (2.0 * PI * f * i as f64 / FS).sin()) as f32).collect();
        let mut y = x.clone();
        bq.process(&mut y, 1);
        let dft = |s: &[f32]| {
            let (mut re, mut im) = (0.0, 0.0);
            for (i, v) in s.iter().enumerate() {
                let ph = 2.0 * PI * f * (i + settle) as f64 / FS;
                re += *v as f64 * ph.cos();
                im += *v as f64 * ph.sin();
            }
            (re * re + im * im).sqrt()
        };
        20.0 * (dft(&y[settle..]) / dft(&x[settle..])).log10()
    }

    #[test]
    fn a_sine_through_the_filter_comes_out_with_the_analytic_gain() {
        // Frequencies whose period divides 48 kHz closely enough for a clean single-bin DFT.
        let test_freqs = [50.0, 100.0, 250.0, 600.0, 1000.0, 2000.0, 3000.0, 4800.0, 8000.0, 12000.0, 16000.0, 20000.0];
        for kind in FilterType::ALL {
            for (f0, q, g) in [(1000.0, 0.9, 7.5), (3000.0, 3.0, -10.0)] {
                let p = params(kind, f0, q, g);
                for &f in &test_freqs {
                    let got = measured_gain_db(&p, f);
                    let want = analog_magnitude_db(&p, f, FS);
                    assert!(close(got, want), "{p:?} at {f} Hz: measured {got:.5} dB vs analytic {want:.5} dB");
                }
            }
        }
    }

    #[test]
    fn invalid_parameters_name_the_field() {
        let ok = params(FilterType::Peaking, 1000.0, 1.0, 3.0);
        assert!(ok.validate(FS).is_ok());
        let e = BiquadParams { freq_hz: 30000.0, ..ok }.validate(FS).unwrap_err();
        assert_eq!(e.field(), "freq");
        assert_eq!(e.to_string(), "freq = 30000 Hz: must be below half the sample rate (24000 Hz)");
        assert_eq!(
            BiquadParams { freq_hz: -1.0, ..ok }.validate(FS).unwrap_err().to_string(),
            "freq = -1 Hz: must be above 0 Hz"
        );
        for f in [0.0, -5.0, 24000.0, f64::NAN] {
            assert_eq!(BiquadParams { freq_hz: f, ..ok }.validate(FS).unwrap_err().field(), "freq");
        }
        for q in [0.0, -1.0, 0.01, 101.0, f64::INFINITY] {
            assert_eq!(BiquadParams { q, ..ok }.validate(FS).unwrap_err().field(), "q");
        }
        for g in [24.5, -30.0, f64::NAN] {
            assert_eq!(BiquadParams { gain_db: g, ..ok }.validate(FS).unwrap_err().field(), "gain_db");
        }
        assert!(matches!(ok.validate(0.0), Err(BiquadError::SampleRate(_))));
    }

    /// Runs `bq` (or a plain unprotected TDF-II loop when `protect` is false)
    /// on a loud 0.1 s noise burst, then silence for 20 s, in 128-frame
    /// blocks; returns (state became subnormal, state after, last block all exact zeros).
    fn burst_then_silence(protect: bool) -> (bool, [f64; 2], bool) {
        // 20 Hz Butterworth low-pass: poles at radius ≈ 0.998, slow decay.
        let c = Coefficients::design(&params(FilterType::LowPass, 20.0, 0.707, 0.0), FS).unwrap();
        let mut bq = Biquad::new(c);
        let mut s = [0.0f64; 2];
        let mut seed = 12345u32;
        let mut went_subnormal = false;
        let mut last_zero = false;
        for blk in 0..(20.1 * FS / 128.0) as usize {
            let mut block = [0.0f64; 128];
            if blk < 38 {
                for v in block.iter_mut() {
                    seed = seed.wrapping_mul(1664525).wrapping_add(1013904223);
                    *v = (seed as f64 / u32::MAX as f64) * 2.0 - 1.0;
                }
            }
            if protect {
                bq.process_f64(&mut block, 1);
                s = bq.state(0);
            } else {
                for x in block.iter_mut() {
                    let y = c.b0 * *x + s[0];
                    s[0] = c.b1 * *x - c.a1 * y + s[1];
                    s[1] = c.b2 * *x - c.a2 * y;
                    *x = y;
                }
            }
            went_subnormal |= s.iter().any(|v| v.is_subnormal());
            last_zero = block.iter().all(|&v| v == 0.0);
        }
        (went_subnormal, s, last_zero)
    }

    #[test]
    fn silence_after_a_burst_flushes_state_to_exact_zero() {
        // Control: without protection the state decays into subnormals.
        let (sub, _, _) = burst_then_silence(false);
        assert!(sub, "the unprotected filter should reach subnormal state (otherwise the test proves nothing)");
        // Protected: never subnormal, ends exactly zero, outputs exact zeros.
        let (sub, s, zero) = burst_then_silence(true);
        assert!(!sub);
        assert_eq!(s, [0.0, 0.0]);
        assert!(zero);
    }

    /// Max |second difference| of `y` over `range`: a sine's is A·(2 sin(ω/2))²;
    /// a click (a step in value or slope) shows as a spike.
    fn max_second_diff(y: &[f32], range: std::ops::Range<usize>) -> f64 {
        range.map(|i| (y[i] as f64 - 2.0 * y[i - 1] as f64 + y[i - 2] as f64).abs()).fold(0.0, f64::max)
    }

    /// A 100 Hz tone at 0.25 through a 100 Hz peak (Q 1) whose gain steps
    /// from `from` to `to` dB at 0.2 s, a crest of the tone (where a
    /// coefficient jump shows most): through a [`SmoothedBiquad`] (20 ms)
    /// or, as the control, a plain [`Biquad`] whose coefficients jump.
    fn gain_step_output(smoothed: bool, from: f64, to: f64) -> Vec<f32> {
        let mut b = SmoothedBiquad::new(FS);
        b.set_now(Some(params(FilterType::Peaking, 100.0, 1.0, from))).unwrap();
        let mut raw = Biquad::new(Coefficients::design(&params(FilterType::Peaking, 100.0, 1.0, from), FS).unwrap());
        let n = (0.6 * FS) as usize;
        let mut y: Vec<f32> = (0..n).map(|i| (0.25 * (2.0 * PI * 100.0 * i as f64 / FS).cos()) as f32).collect();
        let step_at = (0.2 * FS) as usize;
        for (i, blk) in y.chunks_mut(128).enumerate() {
            if i * 128 == step_at {
                let p = params(FilterType::Peaking, 100.0, 1.0, to);
                b.set_target(Some(p)).unwrap();
                raw.set_coefficients(Coefficients::design(&p, FS).unwrap());
            }
            if smoothed {
                b.process(blk, 1);
            } else {
                raw.process(blk, 1);
            }
        }
        y
    }

    /// The click test: the largest second difference around the change,
    /// minus the largest the tone itself has (before or after the change):
    /// what is left is the discontinuity. Smoothed (20 ms), it must be under
    /// 1/100 of the unsmoothed step's, and the unsmoothed step must really
    /// click (≥ 5× the tone's own second difference), for a boost and a cut.
    #[test]
    fn gain_step_is_click_free() {
        let step_at = (0.2 * FS) as usize;
        for (from, to) in [(0.0, 12.0), (0.0, -12.0), (6.0, -6.0)] {
            let excess = |y: &[f32]| {
                let tone = max_second_diff(y, 2..step_at - 200).max(max_second_diff(y, step_at + 4800..y.len()));
                (max_second_diff(y, step_at - 200..step_at + 4800) - tone).max(0.0) / tone
            };
            let smooth = excess(&gain_step_output(true, from, to));
            let jump = excess(&gain_step_output(false, from, to));
            assert!(jump > 5.0, "{from}→{to} dB: the unsmoothed step should click (excess {jump})");
            assert!(smooth < jump / 100.0, "{from}→{to} dB: smoothed excess {smooth} vs unsmoothed {jump}");
        }
    }

    #[test]
    fn type_change_and_bypass_crossfade_without_jumps() {
        // 300 Hz sine; band: bypass → low-pass 1 kHz → high-pass 2 kHz → bypass.
        let mut b = SmoothedBiquad::new(FS);
        let n = (1.0 * FS) as usize;
        let mut y: Vec<f32> = (0..n).map(|i| (0.5 * (2.0 * PI * 300.0 * i as f64 / FS).sin()) as f32).collect();
        for (i, blk) in y.chunks_mut(128).enumerate() {
            match i {
                50 => b.set_target(Some(params(FilterType::LowPass, 1000.0, 0.707, 0.0))).unwrap(),
                100 => b.set_target(Some(params(FilterType::HighPass, 2000.0, 0.707, 0.0))).unwrap(),
                101 => b.set_target(Some(params(FilterType::HighPass, 3000.0, 0.707, 0.0))).unwrap(),
                250 => b.set_target(None).unwrap(),
                _ => {}
            }
            b.process(blk, 1);
        }
        let w = 2.0 * PI * 300.0 / FS;
        let sine_d2 = 0.5 * (2.0 * (w / 2.0).sin()).powi(2);
        // no sample-to-sample spike anywhere: a jump of even 0.01 would show as ≥ 0.01
        let worst = max_second_diff(&y, 2..y.len());
        assert!(worst < sine_d2 * 1.6, "worst second difference {worst} vs sine {sine_d2}");
        assert!(!b.is_settling());
        assert_eq!(b.target(), None);
    }

    #[test]
    fn smoothed_filter_settles_to_the_designed_response() {
        let mut b = SmoothedBiquad::new(FS);
        b.set_now(Some(params(FilterType::Peaking, 1000.0, 1.0, 0.0))).unwrap();
        let target = params(FilterType::Peaking, 2500.0, 2.0, -8.0);
        b.set_target(Some(target)).unwrap();
        let mut blk = vec![0.0f32; 48000];
        b.process(&mut blk, 1);
        assert!(!b.is_settling());
        assert_eq!(b.main.coefficients(), Coefficients::design(&target, FS).unwrap());
        assert!((b.target_magnitude_db(2500.0) + 8.0).abs() < 1e-9);
    }
}
