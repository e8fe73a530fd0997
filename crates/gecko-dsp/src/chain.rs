//! The DSP chain the engine runs on the system mix:
//! device volume/mute → gain → parametric EQ → true-peak limiter → meters.

use crate::eq::{EqError, EqParams, Equalizer};
use crate::gain::{Gain, GainError, MAX_GAIN_DB, MIN_GAIN_DB};
use crate::limiter::{Limiter, LimiterError, LimiterParams, LimiterStats};
use crate::loudness::{LoudnessError, LoudnessMeter, LoudnessReading};
use crate::meter::Meter;
use serde::{Deserialize, Serialize};

/// Most channels a [`Chain`] processes (the ring protocol's maximum).
pub const MAX_CHANNELS: usize = crate::biquad::MAX_CHANNELS;
/// Channels whose peak/RMS a [`MeterSnapshot`] carries.
pub const SNAPSHOT_CHANNELS: usize = 8;

/// Everything the chain can be told, as one plain value: fixed arrays, no
/// heap, so a new value can be passed to the audio thread (e.g. through a
/// lock-free queue) and applied there with [`Chain::set_params`] without
/// allocating. Serialisable (serde) for telemetry and tests; presets
/// ([`crate::Preset`]) are the user-facing form.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChainParams {
    /// Gain after the device volume, dB, in [−120, +24]. Default 0.
    pub gain_db: f64,
    /// EQ bands.
    pub eq: EqParams,
    /// Limiter.
    pub limiter: LimiterParams,
    /// Run the meters (peak/RMS and BS.1770 loudness). Default on.
    pub meters: bool,
    /// How long gain and EQ changes take, ms, in [0, 1000]. Default 20.
    pub smoothing_ms: f64,
    /// The user's mute: silence, ramped like a gain change (the device's own
    /// mute control comes separately, [`Chain::set_device`]). Default off.
    pub mute: bool,
}

impl Default for ChainParams {
    fn default() -> Self {
        ChainParams {
            gain_db: 0.0,
            eq: EqParams::default(),
            limiter: LimiterParams::default(),
            meters: true,
            smoothing_ms: 20.0,
            mute: false,
        }
    }
}

/// Why a chain could not be built or changed. Messages name the field path
/// as in a preset (`eq.bands[3].freq = …`). Plain data: creating one on the
/// audio thread does not allocate.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum ChainError {
    /// Gain out of range.
    #[error("gain_db = {0} dB: must be from -120 to +24 dB")]
    Gain(f64),
    /// A bad EQ band.
    #[error(transparent)]
    Eq(#[from] EqError),
    /// A bad limiter setting.
    #[error("limiter.{0}")]
    Limiter(#[from] LimiterError),
    /// Smoothing out of range.
    #[error("smoothing_ms = {0} ms: must be from 0 to 1000 ms")]
    Smoothing(f64),
    /// Channel count out of range.
    #[error("channels = {0}: must be from 1 to 64")]
    Channels(usize),
    /// The loudness meter refused the format.
    #[error(transparent)]
    Loudness(#[from] LoudnessError),
}

impl ChainParams {
    /// The chain that changes nothing: gain 0 dB, no EQ, limiter off (its
    /// lookahead delay is compensated in pump mode), meters on, mute off.
    /// Through it the engine's output is bit-identical to what apps played.
    pub fn bypass() -> ChainParams {
        ChainParams { limiter: LimiterParams { enabled: false, ..LimiterParams::default() }, ..ChainParams::default() }
    }

    /// Checks every field at `sample_rate` (Hz).
    pub fn validate(&self, sample_rate: f64) -> Result<(), ChainError> {
        if !(self.gain_db.is_finite() && (MIN_GAIN_DB..=MAX_GAIN_DB).contains(&self.gain_db)) {
            return Err(ChainError::Gain(self.gain_db));
        }
        self.eq.validate(sample_rate)?;
        self.limiter.validate()?;
        if !(self.smoothing_ms.is_finite() && (0.0..=1000.0).contains(&self.smoothing_ms)) {
            return Err(ChainError::Smoothing(self.smoothing_ms));
        }
        Ok(())
    }
}

/// What the chain measured, as a plain `Copy` value for telemetry (e.g.
/// pushed into a lock-free queue from the audio thread).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeterSnapshot {
    /// Frames processed since the chain was built.
    pub frames: u64,
    /// Frames in the peak/RMS window (since the last [`Chain::take_snapshot`]).
    pub window_frames: u64,
    /// Channels of the stream.
    pub channels: usize,
    /// Sample peak per channel over the window, dBFS (first
    /// [`SNAPSHOT_CHANNELS`] channels; −∞ for silence or absent channels).
    pub peak_dbfs: [f32; SNAPSHOT_CHANNELS],
    /// RMS per channel over the window, dBFS (a full-scale sine reads −3.01).
    pub rms_dbfs: [f32; SNAPSHOT_CHANNELS],
    /// Highest sample peak over all channels in the window, dBFS.
    pub max_peak_dbfs: f32,
    /// BS.1770 / R 128 loudness and true peak of the chain's output
    /// (since the last [`Chain::reset_meters`]; updated every 100 ms).
    pub loudness: LoudnessReading,
    /// Limiter gain reduction and clip counters.
    pub limiter: LimiterStats,
    /// Non-finite input samples replaced by 0 since the chain was built.
    pub nonfinite_samples: u64,
    /// Blocks dropped (replaced by silence) because their channel count did
    /// not match the chain's.
    pub mismatched_blocks: u64,
}

/// The chain: volume/mute → gain → EQ → limiter → meters on interleaved
/// f32 blocks (frames × channels) at a fixed sample rate and channel count.
/// Built off the audio thread ([`Chain::new`] allocates); after that
/// [`Chain::process`], [`Chain::set_params`], [`Chain::set_device`] and the
/// snapshot calls never allocate, lock or block.
pub struct Chain {
    sample_rate: u32,
    channels: usize,
    params: ChainParams,
    gain: Gain,
    eq: Equalizer,
    limiter: Limiter,
    /// Peak/RMS of the current window (reset by [`Chain::take_snapshot`]).
    meter: Meter,
    /// Peak/RMS of the closed windows since the chain was built (or
    /// [`Chain::reset_meters`]): each window is folded in when it closes, so
    /// no sample is metered twice.
    run_meter: Meter,
    loudness: LoudnessMeter,
    frames: u64,
    nonfinite: u64,
    mismatched: u64,
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chain")
            .field("sample_rate", &self.sample_rate)
            .field("channels", &self.channels)
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl Chain {
    /// A chain for `channels` (1..=64) at `sample_rate` Hz set to `params`
    /// at once (no initial ramps).
    pub fn new(sample_rate: u32, channels: usize, params: &ChainParams) -> Result<Chain, ChainError> {
        if channels == 0 || channels > MAX_CHANNELS {
            return Err(ChainError::Channels(channels));
        }
        let fs = sample_rate as f64;
        params.validate(fs)?;
        let mut gain = Gain::new(params.gain_db).map_err(|GainError::OutOfRange(g)| ChainError::Gain(g))?;
        gain.set_ramp_frames(0); // a chain that starts muted starts silent
        gain.set_muted(params.mute);
        gain.set_ramp_frames(ramp_frames(params.smoothing_ms, fs));
        let mut eq = Equalizer::new(fs, channels, &params.eq)?;
        eq.set_smoothing_ms(params.smoothing_ms);
        Ok(Chain {
            sample_rate,
            channels,
            params: *params,
            gain,
            eq,
            limiter: Limiter::new(fs, channels, &params.limiter)?,
            meter: Meter::new(channels),
            run_meter: Meter::new(channels),
            loudness: LoudnessMeter::new(channels, sample_rate)?,
            frames: 0,
            nonfinite: 0,
            mismatched: 0,
        })
    }

    /// Sample rate, Hz.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Channels.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// The settings in force (the limiter's lookahead as built).
    pub fn params(&self) -> &ChainParams {
        &self.params
    }

    /// Delay through the chain, frames (the limiter's lookahead).
    pub fn latency_frames(&self) -> usize {
        self.limiter.latency_frames()
    }

    /// Whether `params` differs from the running chain in something only a
    /// new chain can change (the limiter's lookahead, i.e. the latency).
    pub fn needs_rebuild(&self, params: &ChainParams) -> bool {
        params.limiter.lookahead_ms != self.limiter.params().lookahead_ms
    }

    /// Applies new settings live: validated first (on error nothing
    /// changes); gain and EQ move over `smoothing_ms`, the limiter through
    /// its attack ramp / release. The limiter's lookahead is kept (see
    /// [`Chain::needs_rebuild`]). Real-time safe.
    pub fn set_params(&mut self, params: &ChainParams) -> Result<(), ChainError> {
        params.validate(self.sample_rate as f64)?;
        let fs = self.sample_rate as f64;
        self.gain.set_ramp_frames(ramp_frames(params.smoothing_ms, fs));
        self.gain.set_gain_db(params.gain_db).map_err(|GainError::OutOfRange(g)| ChainError::Gain(g))?;
        self.gain.set_muted(params.mute);
        self.eq.set_smoothing_ms(params.smoothing_ms);
        self.eq.set_params(&params.eq)?;
        self.limiter.set_params(&params.limiter)?;
        let lookahead = self.limiter.params().lookahead_ms;
        self.params = *params;
        self.params.limiter.lookahead_ms = lookahead;
        Ok(())
    }

    /// The device's volume scalar (0..=1, as the driver publishes it) and
    /// mute flag; ramped like gain changes. Real-time safe.
    pub fn set_device(&mut self, volume: f32, mute: bool) {
        self.gain.set_device(volume, mute);
    }

    /// Processes an interleaved block (frames × `channels`) in place. A
    /// block whose `channels` differs from the chain's is replaced by
    /// silence and counted (rebuild the chain for a new format); a trailing
    /// partial frame is zeroed. Non-finite samples become 0 (counted).
    pub fn process(&mut self, block: &mut [f32], channels: usize) {
        if channels != self.channels {
            block.fill(0.0);
            self.mismatched += 1;
            return;
        }
        let whole = block.len() - block.len() % channels;
        block[whole..].fill(0.0);
        let block = &mut block[..whole];
        self.nonfinite += crate::sanitize(block);
        self.gain.process(block, channels);
        self.eq.process(block);
        self.limiter.process(block);
        if self.params.meters {
            self.meter.process(block);
            self.loudness.process(block);
        }
        self.frames += (whole / channels) as u64;
    }

    /// The current measurements (does not reset anything).
    pub fn snapshot(&self) -> MeterSnapshot {
        let mut peak_dbfs = [f32::NEG_INFINITY; SNAPSHOT_CHANNELS];
        let mut rms_dbfs = [f32::NEG_INFINITY; SNAPSHOT_CHANNELS];
        let mut max_peak = 0.0f32;
        for c in 0..self.channels {
            let l = self.meter.channel_levels(c);
            max_peak = max_peak.max(l.peak);
            if c < SNAPSHOT_CHANNELS {
                peak_dbfs[c] = l.peak_dbfs() as f32;
                rms_dbfs[c] = l.rms_dbfs() as f32;
            }
        }
        MeterSnapshot {
            frames: self.frames,
            window_frames: self.meter.frames(),
            channels: self.channels,
            peak_dbfs,
            rms_dbfs,
            max_peak_dbfs: crate::linear_to_db(max_peak as f64) as f32,
            loudness: self.loudness.reading(),
            limiter: self.limiter.stats(),
            nonfinite_samples: self.nonfinite,
            mismatched_blocks: self.mismatched,
        }
    }

    /// [`Chain::snapshot`], then starts a new peak/RMS window and resets
    /// the limiter's maximum gain reduction (loudness keeps integrating).
    pub fn take_snapshot(&mut self) -> MeterSnapshot {
        let s = self.snapshot();
        self.run_meter.absorb(&self.meter);
        self.meter.reset();
        self.limiter.reset_stats();
        s
    }

    /// Peak/RMS per channel of everything metered since the chain was built
    /// (or the last [`Chain::reset_meters`]), across snapshot windows: what
    /// a run's report shows. Empty (0 frames) while the meters are off
    /// ([`ChainParams::meters`]). Allocates the per-channel list: not for the
    /// audio thread.
    pub fn run_reading(&self) -> crate::MeterReading {
        let mut m = self.run_meter.clone();
        m.absorb(&self.meter);
        m.reading()
    }

    /// Restarts every measurement, loudness included (e.g. a new programme).
    pub fn reset_meters(&mut self) {
        self.meter.reset();
        self.run_meter.reset();
        self.loudness.reset();
        self.limiter.reset_stats();
    }

    /// The settled EQ's magnitude response at `freq_hz` (Hz), dB: preamp
    /// plus every enabled band whatever its channel ([`Equalizer::magnitude_db`]).
    pub fn eq_magnitude_db(&self, freq_hz: f64) -> f64 {
        self.eq.magnitude_db(freq_hz)
    }

    /// The settled EQ's magnitude response of channel `channel` (0 = left,
    /// 1 = right) at `freq_hz` (Hz), dB, as this chain runs it
    /// ([`Equalizer::magnitude_db_for_channel`]).
    pub fn eq_magnitude_db_for_channel(&self, freq_hz: f64, channel: usize) -> f64 {
        self.eq.magnitude_db_for_channel(freq_hz, channel)
    }
}

fn ramp_frames(ms: f64, fs: f64) -> u32 {
    (ms.clamp(0.0, 1000.0) * 1e-3 * fs).round() as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::biquad::FilterType;
    use crate::eq::{EqBand, EqChannel};
    use std::f64::consts::PI;

    const FS: u32 = 48000;

    fn sine(freq: f64, dbfs: f64, secs: f64) -> Vec<f32> {
        let a = 10f64.powf(dbfs / 20.0);
        (0..(secs * FS as f64) as usize)
            .flat_map(|i| {
                let s = (a * (2.0 * PI * freq * i as f64 / FS as f64).sin()) as f32;
                [s, s]
            })
            .collect()
    }

    /// Ten bands of every kind, all enabled, mild settings.
    fn ten_band_params() -> ChainParams {
        let kinds = [
            (FilterType::HighPass, 30.0, 0.707, 0.0),
            (FilterType::LowShelf, 100.0, 0.707, 3.0),
            (FilterType::Peaking, 250.0, 1.0, -2.0),
            (FilterType::Peaking, 500.0, 1.4, 1.5),
            (FilterType::Notch, 60.0, 8.0, 0.0),
            (FilterType::Peaking, 2000.0, 2.0, -3.0),
            (FilterType::Peaking, 4000.0, 1.0, 2.0),
            (FilterType::AllPass, 6000.0, 0.7, 0.0),
            (FilterType::HighShelf, 10000.0, 0.707, 2.0),
            (FilterType::LowPass, 20000.0, 0.707, 0.0),
        ];
        let bands: Vec<EqBand> = kinds
            .iter()
            .map(|&(kind, freq_hz, q, gain_db)| EqBand {
                kind,
                freq_hz,
                q,
                gain_db,
                enabled: true,
                channel: EqChannel::All,
            })
            .collect();
        ChainParams { gain_db: 6.0, eq: EqParams::from_bands(&bands), ..ChainParams::default() }
    }

    /// The real `process`, with every stage on (volume, gain, 10 bands,
    /// limiter limiting, peak/RMS and BS.1770 meters), across live changes of
    /// every kind (gain, EQ types and bypass, left/right bands, a band
    /// changing channel, preamp and strength, limiter, device volume and
    /// mute) and snapshots, allocates nothing.
    #[test]
    fn process_with_every_stage_on_and_live_changes_does_not_allocate() {
        let mut p = ten_band_params();
        p.eq.bands[3].channel = EqChannel::Left;
        p.eq.bands[6].channel = EqChannel::Right;
        p.eq.preamp_db = -4.0;
        let mut chain = Chain::new(FS, 2, &p).unwrap();
        let mut p2 = p;
        p2.gain_db = 12.0;
        p2.eq.bands[2].kind = FilterType::HighShelf;
        p2.eq.bands[3].channel = EqChannel::Right;
        p2.eq.bands[5].enabled = false;
        p2.eq.bands[11] = EqBand {
            kind: FilterType::BandPass,
            freq_hz: 1000.0,
            q: 0.3,
            gain_db: 0.0,
            enabled: true,
            channel: EqChannel::Left,
        };
        p2.eq.strength = 0.4;
        p2.eq.preamp_db = 3.0;
        p2.limiter.ceiling_dbtp = -3.0;
        let mut p3 = p2;
        p3.eq.strength = 0.0;
        let mut audio = sine(997.0, -3.0, 3.0);
        let mut snaps = 0.0;
        assert_no_alloc::assert_no_alloc(|| {
            for (i, b) in audio.chunks_mut(2 * 128).enumerate() {
                match i {
                    100 => chain.set_params(&p2).unwrap(),
                    120 => chain.set_params(&p3).unwrap(),
                    140 => chain.set_params(&p2).unwrap(),
                    150 => chain.reset_meters(),
                    200 => chain.set_device(0.5, false),
                    300 => chain.set_device(0.5, true),
                    400 => chain.set_device(1.0, false),
                    _ => {}
                }
                chain.process(b, 2);
                if i % 37 == 0 {
                    snaps += chain.take_snapshot().loudness.momentary_lufs;
                }
            }
        });
        let s = chain.snapshot();
        assert!(s.limiter.max_gain_reduction_db > 0.0 || s.loudness.max_momentary_lufs > -10.0);
        assert!(s.loudness.true_peak_dbtp <= -3.0 + 0.1, "{}", s.loudness.true_peak_dbtp);
        assert!(snaps.is_finite() || snaps == f64::NEG_INFINITY);
    }

    #[test]
    fn levels_through_the_chain_add_up() {
        // −20 dBFS 1 kHz, +6 dB gain, +6 dB peak at 1 kHz, volume 0.5 (−6.02 dB): −14.02 dBFS out.
        let band = EqBand {
            kind: FilterType::Peaking,
            freq_hz: 1000.0,
            q: 1.0,
            gain_db: 6.0,
            enabled: true,
            channel: EqChannel::All,
        };
        let p = ChainParams { gain_db: 6.0, eq: EqParams::from_bands(&[band]), ..ChainParams::default() };
        let mut chain = Chain::new(FS, 2, &p).unwrap();
        chain.set_device(0.5, false);
        let mut a = sine(1000.0, -20.0, 5.0);
        for (i, b) in a.chunks_mut(2 * 128).enumerate() {
            if i * 128 == 48000 {
                // skip the volume ramp and the filter's start-up in the peak/RMS window
                chain.take_snapshot();
            }
            chain.process(b, 2);
        }
        let s = chain.snapshot();
        assert_eq!(s.window_frames, 4 * 48000);
        let want = -20.0 + 6.0 + 6.0 + 20.0 * 0.5f64.log10();
        assert!((s.peak_dbfs[0] as f64 - want).abs() < 0.05, "{:?}", s.peak_dbfs);
        assert!((s.rms_dbfs[1] as f64 - (want - 3.0103)).abs() < 0.05, "{:?}", s.rms_dbfs);
        // stereo 1 kHz sine at x dBFS reads x LUFS (EBU Tech 3341 case 1 scaling)
        assert!((s.loudness.momentary_lufs - want).abs() < 0.1, "{}", s.loudness.momentary_lufs);
        assert!((s.loudness.integrated_lufs - want).abs() < 0.1);
        assert_eq!(s.limiter.max_gain_reduction_db, 0.0);
        assert_eq!(s.frames, 5 * 48000);
        assert!((chain.eq_magnitude_db(1000.0) - 6.0).abs() < 1e-9);
        assert_eq!(chain.latency_frames(), 96 + 13);
    }

    #[test]
    fn loud_input_is_held_under_the_ceiling_and_mute_is_silent() {
        let p = ChainParams { gain_db: 24.0, ..ten_band_params() };
        let mut chain = Chain::new(FS, 2, &p).unwrap();
        let mut a = crate::limiter::tests::program("music", 3.0, -6.0);
        for b in a.chunks_mut(2 * 128) {
            chain.process(b, 2);
        }
        let s = chain.snapshot();
        assert!(s.loudness.true_peak_dbtp <= -1.0 + 0.1, "{}", s.loudness.true_peak_dbtp);
        assert!(crate::limiter::tests::ebur128_true_peak_db(&a) <= -1.0 + 0.1);
        assert!(s.limiter.max_gain_reduction_db > 10.0);
        assert_eq!(s.limiter.clipped_samples, 0);
        chain.set_device(1.0, true);
        let mut b = crate::limiter::tests::program("music", 3.5, -6.0);
        for blk in b.chunks_mut(2 * 128) {
            chain.process(blk, 2);
        }
        // Mute comes first in the chain, so what follows is the EQ's tail
        // (the 60 Hz notch with Q 8 rings with a 42 ms time constant): under
        // −100 dBFS after 1 s, then exact zeros once the filters' state is
        // flushed (well before 2.5 s).
        assert!(b[2 * 48000..].iter().all(|&x| x.abs() < 1e-5));
        assert!(b[2 * 48000 * 5 / 2..].iter().all(|&x| x == 0.0));
    }

    #[test]
    fn live_gain_change_is_click_free() {
        let mut chain = Chain::new(FS, 2, &ChainParams { meters: false, ..ChainParams::default() }).unwrap();
        let mut a = sine(100.0, -30.0, 1.0);
        for (i, b) in a.chunks_mut(2 * 128).enumerate() {
            if i == 100 {
                chain.set_params(&ChainParams { gain_db: 20.0, meters: false, ..ChainParams::default() }).unwrap();
            }
            chain.process(b, 2);
        }
        // A jump would show as a sample-to-sample step larger than the
        // louder (final) tone's steepest slope, A·2·sin(ω/2); a linear 20 ms
        // ramp never exceeds it. (Its slope kinks are not clicks.)
        let l: Vec<f64> = a.iter().step_by(2).map(|&x| x as f64).collect();
        let d1 = |i: usize| (l[i] - l[i - 1]).abs();
        let after = (40000..48000).map(d1).fold(0.0, f64::max);
        let during = (1..40000).map(d1).fold(0.0, f64::max);
        let w = 2.0 * PI * 100.0 / 48000.0;
        assert!((after / (10f64.powf(-0.5) * 2.0 * (w / 2.0).sin()) - 1.0).abs() < 0.01);
        assert!(during <= after * 1.001, "{during} vs {after}");
        assert!((l[47000..].iter().cloned().fold(0.0, f64::max) - 10f64.powf(-0.5)).abs() < 1e-3);
    }

    #[test]
    fn bad_params_and_formats_are_refused_by_name() {
        let mut p = ten_band_params();
        p.eq.bands[3].freq_hz = 30000.0;
        let e = Chain::new(FS, 2, &p).unwrap_err();
        assert_eq!(e.to_string(), "eq.bands[3].freq = 30000 Hz: must be below half the sample rate (24000 Hz)");
        let mut chain = Chain::new(FS, 2, &ten_band_params()).unwrap();
        let bad =
            ChainParams { limiter: LimiterParams { release_ms: 0.0, ..LimiterParams::default() }, ..ten_band_params() };
        assert_eq!(
            chain.set_params(&bad).unwrap_err().to_string(),
            "limiter.release_ms = 0 ms: must be from 1 to 5000 ms"
        );
        assert_eq!(chain.params(), &ten_band_params());
        assert_eq!(
            ChainParams { gain_db: 30.0, ..p }.validate(48000.0).unwrap_err().to_string(),
            "gain_db = 30 dB: must be from -120 to +24 dB"
        );
        assert!(matches!(Chain::new(FS, 0, &ChainParams::default()), Err(ChainError::Channels(0))));
        // a block in another format is dropped to silence, counted
        let mut blk = vec![0.5f32; 3 * 64];
        chain.process(&mut blk, 3);
        assert!(blk.iter().all(|&x| x == 0.0));
        assert_eq!(chain.snapshot().mismatched_blocks, 1);
        // non-finite samples are replaced and counted
        let mut blk = vec![f32::NAN; 2 * 64];
        chain.process(&mut blk, 2);
        assert_eq!(chain.snapshot().nonfinite_samples, 128);
        assert!(chain.needs_rebuild(&ChainParams {
            limiter: LimiterParams { lookahead_ms: 4.0, ..LimiterParams::default() },
            ..ChainParams::default()
        }));
    }

    #[test]
    fn params_round_trip_through_serde() {
        let p = ten_band_params();
        let json = serde_json::to_string(&p).unwrap();
        let back: ChainParams = serde_json::from_str(&json).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn the_run_reading_spans_every_snapshot_window() {
        let mut chain = Chain::new(FS, 2, &ChainParams::default()).unwrap();
        let quiet = sine(1000.0, -20.0, 0.5);
        let loud = sine(1000.0, -6.0, 0.5);
        let mut windows = 0;
        for (i, input) in [&quiet, &loud, &quiet].into_iter().enumerate() {
            for block in input.chunks(256) {
                let mut b = block.to_vec();
                chain.process(&mut b, 2);
            }
            if i < 2 {
                chain.take_snapshot();
                windows += 1;
            }
        }
        assert_eq!(windows, 2);
        let r = chain.run_reading();
        assert_eq!(r.frames, 3 * 24000, "every frame once, across windows");
        assert!((r.channels[0].peak_dbfs() + 6.0).abs() < 0.01, "{:?}", r.channels[0]);
        // Mean square of (−6, −20, −20 dBFS sines) / 3, minus 3.01 dB for a sine.
        let ms = (10f64.powf(-0.6) + 2.0 * 10f64.powf(-2.0)) / 3.0;
        assert!((r.channels[1].rms_dbfs() - (10.0 * ms.log10() - 3.0103)).abs() < 0.01, "{:?}", r.channels[1]);
        chain.reset_meters();
        assert_eq!(chain.run_reading().frames, 0);
        let mut off = Chain::new(FS, 2, &ChainParams { meters: false, ..ChainParams::default() }).unwrap();
        off.process(&mut loud.clone(), 2);
        assert_eq!(off.run_reading().frames, 0, "meters off: nothing measured");
    }
}
