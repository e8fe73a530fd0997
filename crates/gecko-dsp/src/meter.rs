//! Sample-peak and RMS meters.

/// Levels of one channel over a measurement window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ChannelLevels {
    /// Largest |sample|, linear full scale (1.0 = 0 dBFS).
    pub peak: f32,
    /// Root mean square, linear full scale.
    pub rms: f32,
}

impl ChannelLevels {
    /// Peak in dBFS (−∞ for silence).
    pub fn peak_dbfs(&self) -> f64 {
        crate::linear_to_db(self.peak as f64)
    }
    /// RMS in dBFS (−∞ for silence). A full-scale sine reads −3.01 dBFS.
    pub fn rms_dbfs(&self) -> f64 {
        crate::linear_to_db(self.rms as f64)
    }
}

/// A reading: levels per channel over the frames measured.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MeterReading {
    /// One entry per channel.
    pub channels: Vec<ChannelLevels>,
    /// Frames measured.
    pub frames: u64,
}

impl MeterReading {
    /// The highest channel peak, linear.
    pub fn max_peak(&self) -> f32 {
        self.channels.iter().map(|c| c.peak).fold(0.0, f32::max)
    }
    /// The highest channel RMS, linear.
    pub fn max_rms(&self) -> f32 {
        self.channels.iter().map(|c| c.rms).fold(0.0, f32::max)
    }
}

/// Accumulates peak and sum of squares (f64) per channel. Up to
/// [`Meter::MAX_CHANNELS`] channels, stored inline so [`Meter::process`]
/// never allocates.
#[derive(Debug, Clone)]
pub struct Meter {
    channels: usize,
    peak: [f32; Self::MAX_CHANNELS],
    sum_sq: [f64; Self::MAX_CHANNELS],
    frames: u64,
}

impl Meter {
    /// Most channels a meter tracks (the ring protocol's maximum).
    pub const MAX_CHANNELS: usize = 64;

    /// A meter for `channels` channels (clamped to 1..=MAX_CHANNELS).
    pub fn new(channels: usize) -> Meter {
        Meter { channels: channels.clamp(1, Self::MAX_CHANNELS), peak: [0.0; 64], sum_sq: [0.0; 64], frames: 0 }
    }

    /// Adds an interleaved block (frames × channels) to the measurement.
    pub fn process(&mut self, block: &[f32]) {
        let ch = self.channels;
        for frame in block.chunks_exact(ch) {
            for (c, &s) in frame.iter().enumerate() {
                let a = s.abs();
                if a > self.peak[c] {
                    self.peak[c] = a;
                }
                self.sum_sq[c] += (s as f64) * (s as f64);
            }
        }
        self.frames += (block.len() / ch) as u64;
    }

    /// Channels tracked.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Frames measured since creation or the last [`Meter::reset`].
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Levels of `channel` since creation or the last reset (zero for a
    /// channel out of range). Unlike [`Meter::reading`] this does not
    /// allocate, so the audio thread may call it.
    pub fn channel_levels(&self, channel: usize) -> ChannelLevels {
        if channel >= self.channels {
            return ChannelLevels::default();
        }
        let n = self.frames.max(1) as f64;
        ChannelLevels { peak: self.peak[channel], rms: (self.sum_sq[channel] / n).sqrt() as f32 }
    }

    /// Levels measured since creation or the last [`Meter::reset`] (allocates
    /// the per-channel list: not for the audio thread).
    pub fn reading(&self) -> MeterReading {
        MeterReading { channels: (0..self.channels).map(|c| self.channel_levels(c)).collect(), frames: self.frames }
    }

    /// Adds another meter's measurement to this one, as if its frames had
    /// been processed here too (peaks: maximum; sums of squares and frames:
    /// added; channels beyond either meter's count are ignored). O(channels),
    /// real-time safe: it folds a closed window into a longer measurement
    /// without measuring any sample twice.
    pub fn absorb(&mut self, other: &Meter) {
        for c in 0..self.channels.min(other.channels) {
            self.peak[c] = self.peak[c].max(other.peak[c]);
            self.sum_sq[c] += other.sum_sq[c];
        }
        self.frames += other.frames;
    }

    /// Starts a new measurement window.
    pub fn reset(&mut self) {
        self.peak = [0.0; 64];
        self.sum_sq = [0.0; 64];
        self.frames = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sine_peak_and_rms_match_theory() {
        // 1 kHz at -6.02 dBFS (amplitude 0.5), 48 kHz, whole cycles.
        let fs = 48000.0;
        let block: Vec<f32> = (0..48000)
            .flat_map(|i| {
                let s = 0.5 * (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / fs).sin();
                [s as f32, 0.0]
            })
            .collect();
        let mut m = Meter::new(2);
        for b in block.chunks(1024) {
            m.process(b);
        }
        let r = m.reading();
        assert_eq!(r.frames, 48000);
        assert!((r.channels[0].peak_dbfs() - (-6.0206)).abs() < 0.01, "{}", r.channels[0].peak_dbfs());
        assert!((r.channels[0].rms_dbfs() - (-9.0309)).abs() < 0.01, "{}", r.channels[0].rms_dbfs());
        assert_eq!(r.channels[1].peak, 0.0);
        assert_eq!(r.channels[1].rms_dbfs(), f64::NEG_INFINITY);
        m.reset();
        assert_eq!(m.reading().frames, 0);
    }

    #[test]
    fn processing_does_not_allocate() {
        let mut m = Meter::new(2);
        let mut g = crate::Gain::new(-3.0).unwrap();
        let mut block = vec![0.25f32; 1024];
        assert_no_alloc::assert_no_alloc(|| {
            g.process(&mut block, 2);
            m.process(&block);
            crate::sanitize(&mut block);
        });
    }

    #[test]
    fn absorbing_windows_equals_measuring_the_whole() {
        let block: Vec<f32> =
            (0..4000).map(|i| ((i * 37 % 101) as f32 / 50.0 - 1.0) * if i % 2 == 0 { 0.5 } else { 0.25 }).collect();
        let mut whole = Meter::new(2);
        whole.process(&block);
        let mut run = Meter::new(2);
        let mut window = Meter::new(2);
        for chunk in block.chunks(600) {
            window.process(chunk);
            run.absorb(&window);
            window.reset();
        }
        assert_eq!(run.frames(), whole.frames());
        for c in 0..2 {
            let (a, b) = (run.channel_levels(c), whole.channel_levels(c));
            assert_eq!(a.peak, b.peak);
            assert!((a.rms - b.rms).abs() <= 1e-6 * b.rms, "{a:?} {b:?}");
        }
    }
}

#[cfg(test)]
#[global_allocator]
static ALLOC: assert_no_alloc::AllocDisabler = assert_no_alloc::AllocDisabler;
