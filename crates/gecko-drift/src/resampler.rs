//! The adaptive resampler: rubato's `SincFixedOut<f64>` behind an
//! interleaved-f32 interface, with a variable ratio and exact bookkeeping of
//! how much input it holds.
//!
//! # Why `SincFixedOut`
//! The output device asks for a fixed number of frames per callback. A
//! fixed-output resampler produces exactly that and says how many input
//! frames it needs for it (`input_frames_next`), which the engine pulls
//! straight from the ring: no output FIFO (no extra latency, no second
//! buffer to regulate), constant CPU per callback, and the fill the
//! controller regulates is just "ring + resampler". The ratio changes per
//! callback through `set_resample_ratio_relative` with rubato's linear ramp
//! over the chunk (a stepped ratio would phase-modulate the signal with a
//! staircase); the input consumed per call follows exactly from the ramp
//! (the bookkeeping in [`AdaptiveResampler::process`]), so the fill level
//! stays exact to a fraction of a frame.
//!
//! # Filter
//! [`Quality::High`] (the default) picks one of two designs from the rates
//! ([`Quality::filter`]); both keep the audio band (to 20 kHz) flat
//! within 0.01 dB and everything they fold into it ≥ 120 dB down:
//! - **rate conversion** (e.g. 44.1 kHz → 48 kHz): 256-tap
//!   Blackman-Harris² windowed sinc, cutoff 0.96 × the lower Nyquist
//!   frequency (rubato's `calculate_cutoff(256, BlackmanHarris2)` ≈ 0.947
//!   leaves 44.1 kHz → 48 kHz 0.05 dB down at 20 kHz; 0.96 keeps the
//!   passband within ±0.001 dB to 20 kHz), 256× oversampled table with
//!   cubic interpolation between table points (table error below −140 dB).
//!   At 44.1 kHz the band from 20 kHz to the Nyquist frequency (22.05 kHz)
//!   is only 2.05 kHz wide, hence the long filter.
//! - **drift correction** (both rates ≥ 48 kHz, ratio within ±2 % of 1,
//!   the case when the engine cannot steer the driver's clock): 64-tap
//!   Blackman-Harris² sinc, cutoff 1.0, 1024× table, linear interpolation:
//!   ~8× less CPU. At a ratio near 1 the images of audio-band content
//!   (≤ 20 kHz) lie at ≥ fs − 20 kHz ≥ 28 kHz, so the transition band can
//!   span 20 → 28 kHz instead of 20 → 22.05 kHz.
//!
//! Measured in tests/resampler_quality.rs (THD+N of −1 dBFS sines from
//! 1 kHz to 19 kHz at ratio 1 + 200 ppm, passband ripple at 48 kHz and
//! 44.1 kHz → 48 kHz); numbers in docs/drift-control.md.

use rubato::{Resampler, SincFixedOut, SincInterpolationParameters, SincInterpolationType, WindowFunction};

/// Filter quality of the [`AdaptiveResampler`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Quality {
    /// For listening: the filter is chosen from the rates (see the module
    /// docs): 256 taps for rate conversion, 64 taps for same-rate drift
    /// correction at ≥ 48 kHz.
    #[default]
    High,
    /// 64 taps, cutoff 0.9, 128× table, linear: for simulations that only
    /// exercise the control loop (≈ 8× less CPU than High's 256 taps; not
    /// for listening).
    Draft,
}

/// The sinc filter a [`Quality`] uses for a pair of rates (rubato's
/// `SincInterpolationParameters`, which is neither `Clone` nor `Debug`, in
/// a form that is).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SincFilter {
    /// Taps (the sinc's length), input frames.
    pub taps: usize,
    /// Cutoff, relative to the lower of the two Nyquist frequencies.
    pub cutoff: f32,
    /// Table points per input frame.
    pub oversampling: usize,
    /// Interpolation between table points: 1 linear, 3 cubic.
    pub interpolation_order: u8,
}

impl SincFilter {
    /// rubato's parameters (Blackman-Harris² window).
    pub fn parameters(self) -> SincInterpolationParameters {
        SincInterpolationParameters {
            sinc_len: self.taps,
            f_cutoff: self.cutoff,
            oversampling_factor: self.oversampling,
            interpolation: if self.interpolation_order >= 3 {
                SincInterpolationType::Cubic
            } else {
                SincInterpolationType::Linear
            },
            window: WindowFunction::BlackmanHarris2,
        }
    }
}

impl Quality {
    /// The filter for resampling from `rate_in` Hz to `rate_out` Hz (see
    /// the module docs for why the rates decide).
    pub fn filter(self, rate_in: f64, rate_out: f64) -> SincFilter {
        let ratio = rate_out / rate_in;
        match self {
            Quality::High if rate_in.min(rate_out) >= 48_000.0 && (1.0 / 1.02..=1.02).contains(&ratio) => {
                SincFilter { taps: 64, cutoff: 1.0, oversampling: 1024, interpolation_order: 1 }
            }
            Quality::High => SincFilter { taps: 256, cutoff: 0.96, oversampling: 256, interpolation_order: 3 },
            Quality::Draft => SincFilter { taps: 64, cutoff: 0.9, oversampling: 128, interpolation_order: 1 },
        }
    }
}

/// Largest relative ratio change the resampler accepts: ±2 % (the
/// controller clamps at ±1 %, the driver's steering range).
pub const MAX_RELATIVE_RATIO: f64 = 1.02;

/// Error building an [`AdaptiveResampler`].
#[derive(Debug, Clone, PartialEq)]
pub struct ResamplerBuildError(pub String);

impl std::fmt::Display for ResamplerBuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot build the resampler: {}", self.0)
    }
}

impl std::error::Error for ResamplerBuildError {}

/// A variable-ratio sinc resampler (f64 inside) for interleaved f32 audio.
/// All buffers are allocated by [`AdaptiveResampler::new`]; processing
/// allocates nothing.
pub struct AdaptiveResampler {
    inner: SincFixedOut<f64>,
    channels: usize,
    max_out: usize,
    /// Nominal ratio output/input (e.g. 48000/44100).
    nominal: f64,
    /// Current relative ratio (1 = nominal): the target of the ramp.
    relative: f64,
    /// Absolute ratio rubato uses at the start of the next chunk (it ramps
    /// linearly from this to nominal × `relative` over the chunk).
    ratio_start: f64,
    planar_in: Vec<Vec<f64>>,
    planar_out: Vec<Vec<f64>>,
    /// Input frames held inside the resampler beyond its current
    /// interpolation point (fed − consumed), frames; an offset-free
    /// measure of its contribution to the fill level.
    buffered: f64,
    filter: SincFilter,
}

impl AdaptiveResampler {
    /// A resampler from `rate_in` Hz to `rate_out` Hz for `channels`
    /// interleaved channels, producing up to `max_out_frames` per call.
    pub fn new(
        rate_in: f64,
        rate_out: f64,
        channels: usize,
        max_out_frames: usize,
        quality: Quality,
    ) -> Result<Self, ResamplerBuildError> {
        if !(rate_in > 0.0 && rate_out > 0.0 && rate_in.is_finite() && rate_out.is_finite()) {
            return Err(ResamplerBuildError(format!("rates {rate_in} Hz -> {rate_out} Hz")));
        }
        if channels == 0 || max_out_frames == 0 {
            return Err(ResamplerBuildError("0 channels or 0 frames".into()));
        }
        let nominal = rate_out / rate_in;
        let filter = quality.filter(rate_in, rate_out);
        let inner =
            SincFixedOut::<f64>::new(nominal, MAX_RELATIVE_RATIO, filter.parameters(), max_out_frames, channels)
                .map_err(|e| ResamplerBuildError(e.to_string()))?;
        let max_in = inner.input_frames_max();
        Ok(AdaptiveResampler {
            channels,
            max_out: max_out_frames,
            nominal,
            relative: 1.0,
            ratio_start: nominal,
            planar_in: vec![vec![0.0; max_in]; channels],
            planar_out: vec![vec![0.0; max_out_frames]; channels],
            buffered: 0.0,
            filter,
            inner,
        })
    }

    /// Channels.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Most output frames one [`AdaptiveResampler::process`] call produces.
    pub fn max_output_frames(&self) -> usize {
        self.max_out
    }

    /// Most input frames one call may need, frames.
    pub fn max_input_frames(&self) -> usize {
        self.planar_in[0].len()
    }

    /// The sinc filter in use.
    pub fn filter(&self) -> SincFilter {
        self.filter
    }

    /// Nominal ratio, output rate / input rate.
    pub fn nominal_ratio(&self) -> f64 {
        self.nominal
    }

    /// Sets the ratio to nominal × (1 + `ppm` · 1e-6) (+ppm: more output per
    /// input, so less input consumed), reached by a linear ramp over the next
    /// chunk (no step in the ratio, so no staircase phase modulation).
    /// Clamped to ±[`MAX_RELATIVE_RATIO`].
    pub fn set_correction_ppm(&mut self, ppm: f64) {
        let rel = (1.0 + ppm * 1e-6).clamp(1.0 / MAX_RELATIVE_RATIO, MAX_RELATIVE_RATIO);
        if rel != self.relative && self.inner.set_resample_ratio_relative(rel, true).is_ok() {
            self.relative = rel;
        }
    }

    /// Current relative ratio (1 = nominal).
    pub fn relative_ratio(&self) -> f64 {
        self.relative
    }

    /// Input frames the next call of `frames` output frames will consume.
    /// Sets the chunk size to `frames` (≤ [`Self::max_output_frames`]).
    pub fn input_needed(&mut self, frames: usize) -> usize {
        let n = frames.clamp(1, self.max_out);
        if self.inner.output_frames_next() != n {
            let _ = self.inner.set_chunk_size(n);
        }
        self.inner.input_frames_next()
    }

    /// Input frames held in the resampler beyond its interpolation point,
    /// frames (fractional). Constant up to < 1 frame plus half the filter
    /// length in steady state; counted in the fill level.
    pub fn buffered_input_frames(&self) -> f64 {
        self.buffered
    }

    /// Resamples: `input` holds exactly `input_needed(n)` interleaved
    /// frames, `output` receives `n` interleaved frames (`n` as passed to
    /// the preceding [`Self::input_needed`]). Returns the output frames.
    pub fn process(&mut self, input: &[f32], output: &mut [f32]) -> usize {
        let ch = self.channels;
        let n_out = self.inner.output_frames_next();
        let n_in = self.inner.input_frames_next();
        debug_assert!(input.len() >= n_in * ch && output.len() >= n_out * ch);
        for (c, plane) in self.planar_in.iter_mut().enumerate() {
            for (f, s) in plane[..n_in].iter_mut().enumerate() {
                *s = input[f * ch + c] as f64;
            }
        }
        let (r0, r1) = (self.ratio_start, self.nominal * self.relative);
        match self.inner.process_into_buffer(&self.planar_in, &mut self.planar_out, None) {
            Ok((used, produced)) => {
                // rubato steps its read position by 1/ratio per output frame,
                // 1/ratio ramping linearly from 1/r0 (exclusive) to 1/r1:
                // Σ_{k=1..n} (1/r0 + k·(1/r1 − 1/r0)/n).
                let n = produced as f64;
                let consumed = n / r0 + (1.0 / r1 - 1.0 / r0) * (n + 1.0) / 2.0;
                self.ratio_start = r1;
                self.buffered += used as f64 - consumed;
                for (c, plane) in self.planar_out.iter().enumerate() {
                    for (f, s) in plane[..produced].iter().enumerate() {
                        output[f * ch + c] = *s as f32;
                    }
                }
                produced
            }
            Err(_) => {
                output[..n_out * ch].fill(0.0);
                n_out
            }
        }
    }

    /// Clears the filter state (silence in, nominal ratio).
    pub fn reset(&mut self) {
        self.inner.reset();
        self.relative = 1.0;
        self.ratio_start = self.nominal;
        self.buffered = 0.0;
    }
}
