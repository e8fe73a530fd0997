//! Gecko's DSP core. No I/O here: every processor works in place on
//! interleaved float32 blocks (frames × channels) and is real-time safe —
//! `process` never allocates, locks or blocks (tests run it under
//! `assert_no_alloc`).

pub mod biquad;
pub mod chain;
pub mod eq;
pub mod export;
mod gain;
pub mod import;
pub mod limiter;
pub mod loudness;
mod meter;
#[cfg(feature = "plot")]
pub mod plot;
pub mod preset;

pub use biquad::{Biquad, BiquadError, BiquadParams, Coefficients, FilterType, SmoothedBiquad};
pub use chain::{Chain, ChainError, ChainParams, MeterSnapshot};
pub use eq::{EqBand, EqChannel, EqError, EqParams, Equalizer, MAX_BANDS};
pub use gain::{Gain, GainError, db_to_linear, linear_to_db};
pub use import::{ImportError, ImportNote, Imported};
pub use limiter::{Limiter, LimiterError, LimiterParams, LimiterStats, TruePeakDetector};
pub use loudness::{LoudnessError, LoudnessMeter, LoudnessReading};
pub use meter::{ChannelLevels, Meter, MeterReading};
#[cfg(feature = "plot")]
pub use plot::{PlotError, plot_eq_response};
pub use preset::{Preset, PresetError};

/// Replaces NaN and ±infinity samples (which a corrupt peer could put in the
/// ring) by 0.0 and returns how many were replaced. Finite samples are left
/// bit-identical.
pub fn sanitize(block: &mut [f32]) -> u64 {
    let mut bad = 0;
    for s in block.iter_mut() {
        if !s.is_finite() {
            *s = 0.0;
            bad += 1;
        }
    }
    bad
}

#[cfg(test)]
mod tests {
    #[test]
    fn sanitize_zeroes_only_non_finite_samples() {
        let mut b = [1.0, f32::NAN, -0.5, f32::INFINITY, f32::NEG_INFINITY, 1e-30];
        assert_eq!(super::sanitize(&mut b), 3);
        assert_eq!(b, [1.0, 0.0, -0.5, 0.0, 0.0, 1e-30]);
    }
}
