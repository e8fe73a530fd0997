//! Gain with click-free changes.

/// Highest gain accepted, dB. Above this a typo (e.g. 60 instead of 6) would
/// be dangerous for ears and speakers.
pub const MAX_GAIN_DB: f64 = 24.0;
/// Lowest gain accepted, dB; use mute for silence.
pub const MIN_GAIN_DB: f64 = -120.0;

/// Invalid gain settings.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GainError {
    /// Not a finite number or outside [MIN_GAIN_DB, MAX_GAIN_DB].
    #[error("gain {0} dB is out of range: use a value from -120 to +24 dB")]
    OutOfRange(f64),
}

/// dB → linear amplitude: 10^(dB/20).
pub fn db_to_linear(db: f64) -> f64 {
    10f64.powf(db / 20.0)
}

/// Linear amplitude → dB: 20·log10(x); −∞ for 0.
pub fn linear_to_db(x: f64) -> f64 {
    20.0 * x.log10()
}

/// A gain stage applied to interleaved frames. The effective linear gain is
/// `gain(dB) × device volume scalar`, or 0 when muted (by the device's mute
/// control or by the user's mute, [`Gain::set_muted`]). When the target
/// changes, the gain ramps linearly over `ramp_frames` frames (default
/// 10 ms at 48 kHz) so live edits never click; at a constant unity target the
/// samples pass bit-identical (multiplication by exactly 1.0).
#[derive(Debug, Clone)]
pub struct Gain {
    gain_db: f64,
    volume: f32,
    mute: bool,
    user_mute: bool,
    current: f32,
    target: f32,
    step: f32,
    remaining: u32,
    ramp_frames: u32,
}

impl Gain {
    /// A gain of `gain_db` dB, device volume 1, not muted, starting at its
    /// target (no initial ramp). Errors if the gain is out of range.
    pub fn new(gain_db: f64) -> Result<Gain, GainError> {
        let mut g = Gain {
            gain_db: 0.0,
            volume: 1.0,
            mute: false,
            user_mute: false,
            current: 1.0,
            target: 1.0,
            step: 0.0,
            remaining: 0,
            ramp_frames: 480,
        };
        g.set_gain_db(gain_db)?;
        g.current = g.target;
        g.remaining = 0;
        Ok(g)
    }

    /// Sets the ramp length for later changes, frames (0 = jump).
    pub fn set_ramp_frames(&mut self, frames: u32) {
        self.ramp_frames = frames;
    }

    /// The gain setting, dB.
    pub fn gain_db(&self) -> f64 {
        self.gain_db
    }

    /// Changes the gain, dB (ramped).
    pub fn set_gain_db(&mut self, db: f64) -> Result<(), GainError> {
        if !db.is_finite() || !(MIN_GAIN_DB..=MAX_GAIN_DB).contains(&db) {
            return Err(GainError::OutOfRange(db));
        }
        self.gain_db = db;
        self.retarget();
        Ok(())
    }

    /// Sets the device's volume scalar (0..=1, clamped; NaN → 1) and mute,
    /// as published by the driver (ramped).
    pub fn set_device(&mut self, volume: f32, mute: bool) {
        let v = if volume.is_nan() { 1.0 } else { volume.clamp(0.0, 1.0) };
        if v != self.volume || mute != self.mute {
            self.volume = v;
            self.mute = mute;
            self.retarget();
        }
    }

    /// The user's own mute (the app's and `gecko ctl mute`), independent of
    /// the device's mute control (ramped).
    pub fn set_muted(&mut self, muted: bool) {
        if muted != self.user_mute {
            self.user_mute = muted;
            self.retarget();
        }
    }

    fn retarget(&mut self) {
        let t =
            if self.mute || self.user_mute { 0.0 } else { (db_to_linear(self.gain_db) * self.volume as f64) as f32 };
        if t == self.target {
            return;
        }
        self.target = t;
        if self.ramp_frames == 0 {
            self.current = t;
            self.remaining = 0;
        } else {
            self.remaining = self.ramp_frames;
            self.step = (t - self.current) / self.ramp_frames as f32;
        }
    }

    /// Applies the gain in place to `block` (interleaved, `channels` samples per frame).
    pub fn process(&mut self, block: &mut [f32], channels: usize) {
        let mut frames = block.chunks_exact_mut(channels);
        while self.remaining > 0 {
            let Some(frame) = frames.next() else { return };
            self.current += self.step;
            self.remaining -= 1;
            if self.remaining == 0 {
                self.current = self.target;
            }
            for s in frame {
                *s *= self.current;
            }
        }
        let g = self.current;
        if g == 1.0 {
            return;
        }
        for frame in frames {
            for s in frame {
                *s *= g;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unity_is_bit_exact_and_6db_doubles() {
        let input: Vec<f32> = (0..960).map(|i| ((i as f32) * 0.37).sin() * 0.5).collect();
        let mut b = input.clone();
        Gain::new(0.0).unwrap().process(&mut b, 2);
        assert_eq!(b, input);
        let mut b = input.clone();
        Gain::new(20.0 * 2f64.log10()).unwrap().process(&mut b, 2);
        for (o, i) in b.iter().zip(&input) {
            assert!((o - 2.0 * i).abs() < 1e-6);
        }
    }

    #[test]
    fn out_of_range_gains_are_refused() {
        for db in [f64::NAN, f64::INFINITY, 24.1, -121.0] {
            assert!(matches!(Gain::new(db), Err(GainError::OutOfRange(_))), "{db}");
        }
        assert!(Gain::new(24.0).is_ok() && Gain::new(-120.0).is_ok());
    }

    #[test]
    fn user_mute_and_device_mute_are_independent() {
        let mut g = Gain::new(0.0).unwrap();
        g.set_ramp_frames(0);
        let level = |g: &mut Gain| {
            let mut b = [0.5f32; 2];
            g.process(&mut b, 2);
            b[0]
        };
        g.set_muted(true);
        assert_eq!(level(&mut g), 0.0);
        g.set_device(1.0, true);
        g.set_muted(false);
        assert_eq!(level(&mut g), 0.0, "the device's mute still holds");
        g.set_device(1.0, false);
        assert_eq!(level(&mut g), 0.5, "both off: unity, bit-exact");
        g.set_muted(true);
        assert_eq!(level(&mut g), 0.0);
    }

    #[test]
    fn changes_ramp_without_jumps_and_mute_reaches_silence() {
        let mut g = Gain::new(0.0).unwrap();
        g.set_ramp_frames(100);
        g.set_device(1.0, true);
        let mut b = vec![1.0f32; 2 * 200];
        g.process(&mut b, 2);
        // monotonic ramp down, max step 1/100, then exact zeros
        for w in b.chunks(2).collect::<Vec<_>>().windows(2) {
            assert!(w[1][0] <= w[0][0] && w[0][0] - w[1][0] <= 0.0101);
        }
        assert!(b[2 * 100..].iter().all(|&s| s == 0.0));
        assert!(b[0] > 0.98);
    }
}
