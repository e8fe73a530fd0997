//! Parametric EQ: a preamp and up to [`MAX_BANDS`] cascaded RBJ-cookbook
//! biquads ([`crate::biquad`]), each band on every channel or on the left or
//! right one only, an overall strength that scales the gains, and every
//! change smoothed.
//!
//! **Channels** ([`EqChannel`]): a band applies to `all` channels (the
//! default), to `left` = channel 0 only, or to `right` = channel 1 only
//! (channel indices as in the interleaved block, frames × channels). So on
//! a mono stream `left` bands apply to its one channel and `right` bands to
//! nothing; on streams with more than 2 channels, channels 2 and up get only
//! the `all` bands. Per channel, its bands run in band order.
//!
//! **Preamp** ([`EqParams::preamp_db`], dB, −30..=+30, default 0): a flat
//! gain the EQ stage applies before its bands (the `Preamp:` of Equalizer
//! APO and AutoEq files).
//!
//! **Strength** ([`EqParams::strength`], 0..=1, default 1): "gains scaled in
//! dB": every peaking and shelf band runs with `gain_db × strength`, the
//! preamp with `preamp_db × strength`. Bands without a gain (low/high-pass,
//! notch, band-pass, all-pass) are not changed by it. At strength 0 the
//! gain bands are bypassed (a 0 dB peak or shelf is the identity filter),
//! so an EQ of gain bands and a preamp passes samples bit-identical.

use crate::biquad::{
    BandStep, Biquad, BiquadError, BiquadParams, CONTROL_FRAMES, Coefficients, FilterType, Lane, MAX_CHANNELS,
    SmoothedBiquad,
};
use crate::gain::db_to_linear;
use serde::{Deserialize, Deserializer, Serialize};

/// Most bands an [`Equalizer`] (and a preset) holds: room for a 10-band
/// left plus a 10-band right AutoEq profile, or a fitted GraphicEQ
/// ([`crate::import`]).
pub const MAX_BANDS: usize = 32;
/// Lowest preamp accepted, dB.
pub const MIN_PREAMP_DB: f64 = -30.0;
/// Highest preamp accepted, dB.
pub const MAX_PREAMP_DB: f64 = 30.0;

/// Which channels a band applies to (TOML/JSON: `"all"`, `"left"`,
/// `"right"`; see the module docs for the rule on mono and multichannel
/// streams).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum EqChannel {
    /// Every channel.
    #[default]
    All,
    /// Channel 0 only.
    Left,
    /// Channel 1 only.
    Right,
}

impl EqChannel {
    /// Every value, in declaration order.
    pub const ALL: [EqChannel; 3] = [EqChannel::All, EqChannel::Left, EqChannel::Right];

    /// The TOML/serde name: `"all"`, `"left"` or `"right"`.
    pub fn name(self) -> &'static str {
        match self {
            EqChannel::All => "all",
            EqChannel::Left => "left",
            EqChannel::Right => "right",
        }
    }

    /// Whether a band with this setting filters channel `channel` (0-based
    /// index in the interleaved block).
    pub fn applies_to(self, channel: usize) -> bool {
        match self {
            EqChannel::All => true,
            EqChannel::Left => channel == 0,
            EqChannel::Right => channel == 1,
        }
    }

    fn is_all(&self) -> bool {
        *self == EqChannel::All
    }

    /// The lane a band runs on in a stream of `channels` channels; `None`
    /// when no channel of the stream is selected (`right` on mono).
    fn lane(self, channels: usize) -> Option<Lane> {
        match self {
            EqChannel::All => Some(Lane::All),
            EqChannel::Left => Some(Lane::One(0)),
            EqChannel::Right => (channels >= 2).then_some(Lane::One(1)),
        }
    }
}

/// One EQ band as written in a preset or [`crate::ChainParams`]. TOML keys:
/// `type`, `freq` (Hz), `q`, `gain_db` (dB, default 0), `enabled` (default
/// true), `channel` (`"all"` (default, then left out when written),
/// `"left"` or `"right"`).
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
    /// Channels the band applies to.
    #[serde(default, skip_serializing_if = "EqChannel::is_all")]
    pub channel: EqChannel,
}

fn yes() -> bool {
    true
}

impl Default for EqBand {
    /// A disabled 0 dB peak at 1 kHz on all channels.
    fn default() -> Self {
        EqBand {
            kind: FilterType::Peaking,
            freq_hz: 1000.0,
            q: 1.0,
            gain_db: 0.0,
            enabled: false,
            channel: EqChannel::All,
        }
    }
}

impl EqBand {
    /// The band's filter as written (strength not applied), or `None` when
    /// disabled.
    pub fn params(&self) -> Option<BiquadParams> {
        self.enabled.then_some(BiquadParams {
            kind: self.kind,
            freq_hz: self.freq_hz,
            q: self.q,
            gain_db: self.gain_db,
        })
    }

    /// The filter the EQ runs for this band at `strength` (0..=1): the gain
    /// of a peaking or shelf band scaled by `strength` (dB × strength), the
    /// other types unchanged; `None` when disabled, and for a gain band at
    /// strength 0 (bypassed: a 0 dB peak or shelf is the identity).
    pub fn effective_params(&self, strength: f64) -> Option<BiquadParams> {
        let mut p = self.params()?;
        if self.kind.uses_gain() {
            if strength == 0.0 {
                return None;
            }
            p.gain_db *= strength;
        }
        Some(p)
    }
}

/// The EQ's settings: a fixed array of bands (unused ones disabled), a
/// preamp and a strength, so that a new value can be handed to the audio
/// thread without allocating.
///
/// Serde: `bands` is a list of at most [`MAX_BANDS`] bands (fewer are padded
/// with disabled ones, so values written when the limit was 16 still parse);
/// `preamp_db` defaults to 0 and `strength` to 1 when absent.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EqParams {
    /// Bands, applied in order.
    #[serde(default = "no_bands", deserialize_with = "deserialize_bands")]
    pub bands: [EqBand; MAX_BANDS],
    /// Flat gain applied by the EQ stage before its bands, dB, in
    /// [`MIN_PREAMP_DB`, `MAX_PREAMP_DB`]. Default 0.
    #[serde(default)]
    pub preamp_db: f64,
    /// How much of the EQ to apply, 0..=1 (see the module docs: gains and
    /// preamp scaled in dB). Default 1.
    #[serde(default = "full_strength")]
    pub strength: f64,
}

fn no_bands() -> [EqBand; MAX_BANDS] {
    [EqBand::default(); MAX_BANDS]
}

fn full_strength() -> f64 {
    1.0
}

impl Default for EqParams {
    /// No bands, preamp 0 dB, strength 1.
    fn default() -> Self {
        EqParams { bands: no_bands(), preamp_db: 0.0, strength: 1.0 }
    }
}

/// Reads a list of up to [`MAX_BANDS`] bands into the fixed array (the rest
/// disabled); more is an error naming the count.
fn deserialize_bands<'de, D: Deserializer<'de>>(d: D) -> Result<[EqBand; MAX_BANDS], D::Error> {
    struct Bands;
    impl<'de> serde::de::Visitor<'de> for Bands {
        type Value = [EqBand; MAX_BANDS];
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            write!(f, "a list of at most {MAX_BANDS} EQ bands")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = no_bands();
            let mut n = 0;
            while let Some(b) = seq.next_element::<EqBand>()? {
                if n == MAX_BANDS {
                    let mut total = n + 1;
                    while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
                        total += 1;
                    }
                    return Err(serde::de::Error::invalid_length(total, &self));
                }
                out[n] = b;
                n += 1;
            }
            Ok(out)
        }
    }
    d.deserialize_seq(Bands)
}

/// Invalid EQ settings. Messages name the field path as in a preset
/// (`eq.bands[3].freq = …`, `eq.preamp_db = …`). Plain data: creating one on
/// the audio thread does not allocate.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum EqError {
    /// A band that failed validation: its index and why.
    #[error("eq.bands[{index}].{error}")]
    Band {
        /// Band index (0-based).
        index: usize,
        /// What is wrong (names the field).
        error: BiquadError,
    },
    /// Preamp not a number in [`MIN_PREAMP_DB`, `MAX_PREAMP_DB`].
    #[error("eq.preamp_db = {0} dB: must be from -30 to +30 dB")]
    Preamp(f64),
    /// Strength not a number in [0, 1].
    #[error("eq.strength = {0}: must be from 0 to 1")]
    Strength(f64),
}

impl EqParams {
    /// Builds params from a list of bands (at most [`MAX_BANDS`]; the rest
    /// are dropped), preamp 0 dB, strength 1.
    pub fn from_bands(bands: &[EqBand]) -> EqParams {
        let mut p = EqParams::default();
        for (d, s) in p.bands.iter_mut().zip(bands) {
            *d = *s;
        }
        p
    }

    /// Checks the preamp, the strength and every enabled band at
    /// `sample_rate` (Hz).
    pub fn validate(&self, sample_rate: f64) -> Result<(), EqError> {
        if !(self.preamp_db.is_finite() && (MIN_PREAMP_DB..=MAX_PREAMP_DB).contains(&self.preamp_db)) {
            return Err(EqError::Preamp(self.preamp_db));
        }
        if !(self.strength.is_finite() && (0.0..=1.0).contains(&self.strength)) {
            return Err(EqError::Strength(self.strength));
        }
        for (index, b) in self.bands.iter().enumerate() {
            if let Some(p) = b.params() {
                p.validate(sample_rate).map_err(|error| EqError::Band { index, error })?;
            }
        }
        Ok(())
    }

    /// Whether any enabled band applies to one channel only.
    pub fn has_channel_bands(&self) -> bool {
        self.bands.iter().any(|b| b.enabled && b.channel != EqChannel::All)
    }

    /// The preamp the EQ runs, dB (`preamp_db × strength`).
    pub fn effective_preamp_db(&self) -> f64 {
        self.preamp_db * self.strength
    }

    /// Magnitude response, dB, at `freq_hz` (Hz) and sample rate
    /// `sample_rate` (Hz) of the effective preamp plus **every** enabled
    /// band whatever its channel (the sum of the bands' `20·log10|H|`, with
    /// the strength applied as the EQ runs it). This is every channel's
    /// response when no band is channel-specific; otherwise use
    /// [`EqParams::magnitude_db_for_channel`]. Invalid bands count as 0 dB.
    pub fn magnitude_db(&self, freq_hz: f64, sample_rate: f64) -> f64 {
        self.response_db(freq_hz, sample_rate, |_| true)
    }

    /// Magnitude response, dB, of channel `channel` (0 = left, 1 = right,
    /// as in the interleaved block) at `freq_hz` (Hz) and sample rate
    /// `sample_rate` (Hz), as the [`Equalizer`] runs it once settled: the
    /// effective preamp plus the enabled bands that apply to that channel
    /// ([`EqChannel::applies_to`]), gains scaled by the strength. Invalid
    /// bands count as 0 dB.
    pub fn magnitude_db_for_channel(&self, freq_hz: f64, sample_rate: f64, channel: usize) -> f64 {
        self.response_db(freq_hz, sample_rate, |b| b.channel.applies_to(channel))
    }

    fn response_db(&self, freq_hz: f64, sample_rate: f64, select: impl Fn(&EqBand) -> bool) -> f64 {
        let bands: f64 = self
            .bands
            .iter()
            .filter(|b| select(b))
            .filter_map(|b| b.effective_params(self.strength))
            .filter(|p| p.validate(sample_rate).is_ok())
            .map(|p| Coefficients::design_unchecked(&p, sample_rate).magnitude_db(freq_hz, sample_rate))
            .sum();
        bands + self.effective_preamp_db()
    }
}

/// A linear gain with click-free changes: it ramps linearly, sample by
/// sample, over the smoothing time; at a settled unity target it does
/// nothing (samples stay bit-identical).
#[derive(Debug, Clone, Copy)]
struct PreampRamp {
    current: f64,
    target: f64,
    step: f64,
    remaining: u32,
    ramp_frames: u32,
}

impl PreampRamp {
    fn new(gain: f64) -> PreampRamp {
        PreampRamp { current: gain, target: gain, step: 0.0, remaining: 0, ramp_frames: 960 }
    }

    fn set_target(&mut self, gain: f64) {
        if gain == self.target {
            return;
        }
        self.target = gain;
        if self.ramp_frames == 0 {
            self.current = gain;
            self.remaining = 0;
        } else {
            self.remaining = self.ramp_frames;
            self.step = (gain - self.current) / self.ramp_frames as f64;
        }
    }

    fn is_unity(&self) -> bool {
        self.remaining == 0 && self.current == 1.0
    }

    /// Applies the gain to an interleaved f64 block (frames × `channels`).
    fn apply(&mut self, block: &mut [f64], channels: usize) {
        if self.is_unity() {
            return;
        }
        for f in block.chunks_exact_mut(channels) {
            if self.remaining > 0 {
                self.remaining -= 1;
                self.current = if self.remaining == 0 { self.target } else { self.current + self.step };
            }
            let g = self.current;
            for x in f.iter_mut() {
                *x *= g;
            }
        }
    }
}

/// A parametric EQ on interleaved f32 blocks (frames × channels, up to
/// [`MAX_CHANNELS`] channels) with f64 arithmetic and state: the preamp,
/// then the bands in order, each on the channels its [`EqChannel`] selects.
/// Processing never allocates: bands and buffers are fixed-size. With every
/// band disabled, preamp 0 dB and settled, samples pass bit-identical.
///
/// Changes are smoothed ([`Equalizer::set_smoothing_ms`], default 20 ms):
/// gain, frequency and Q glide, type changes and enabling/disabling
/// crossfade ([`SmoothedBiquad`]), the preamp ramps; a band that moves to
/// other channels fades out on the old ones, then in on the new ones.
pub struct Equalizer {
    sample_rate: f64,
    channels: usize,
    bands: Box<[SmoothedBiquad; MAX_BANDS]>,
    /// The channels each band runs on now.
    lanes: [Lane; MAX_BANDS],
    /// A band moving to other channels: the target and lane it takes once
    /// faded out on the old ones.
    pending: [Option<(Option<BiquadParams>, Lane)>; MAX_BANDS],
    preamp: PreampRamp,
    params: EqParams,
    buf: Box<[f64; CONTROL_FRAMES * MAX_CHANNELS]>,
    scratch: Box<[f64; CONTROL_FRAMES * MAX_CHANNELS]>,
}

impl Equalizer {
    /// An EQ at `sample_rate` (Hz) for `channels` channels (clamped to
    /// 1..=MAX_CHANNELS) set to `params` at once (no initial ramp).
    pub fn new(sample_rate: f64, channels: usize, params: &EqParams) -> Result<Equalizer, EqError> {
        params.validate(sample_rate)?;
        let channels = channels.clamp(1, MAX_CHANNELS);
        let mut eq = Equalizer {
            sample_rate,
            channels,
            bands: Box::new(std::array::from_fn(|_| SmoothedBiquad::new(sample_rate))),
            lanes: [Lane::All; MAX_BANDS],
            pending: [None; MAX_BANDS],
            preamp: PreampRamp::new(db_to_linear(params.effective_preamp_db())),
            params: *params,
            buf: Box::new([0.0; CONTROL_FRAMES * MAX_CHANNELS]),
            scratch: Box::new([0.0; CONTROL_FRAMES * MAX_CHANNELS]),
        };
        eq.set_smoothing_ms(20.0);
        for (i, b) in params.bands.iter().enumerate() {
            let (target, lane) = band_target(b, params.strength, channels);
            eq.lanes[i] = lane.unwrap_or(Lane::All);
            eq.bands[i].set_now(target).map_err(|_| unreachable_validated())?;
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
        let ms = if ms.is_finite() { ms.clamp(0.0, 1000.0) } else { 20.0 };
        self.preamp.ramp_frames = (ms * 1e-3 * self.sample_rate).round() as u32;
    }

    /// Changes the settings; every band moves smoothly to its new target,
    /// the preamp ramps. Validates everything first: on error nothing
    /// changes. Real-time safe.
    pub fn set_params(&mut self, params: &EqParams) -> Result<(), EqError> {
        params.validate(self.sample_rate)?;
        for (i, b) in params.bands.iter().enumerate() {
            let (target, lane) = band_target(b, params.strength, self.channels);
            let band = &mut self.bands[i];
            match lane {
                Some(l) if l != self.lanes[i] => {
                    if band.target().is_none() && !band.is_settling() {
                        // silent now: move at once
                        self.lanes[i] = l;
                        self.pending[i] = None;
                        band.set_target(target).map_err(|_| unreachable_validated())?;
                    } else {
                        // fade out where it runs, then in on the new channels
                        self.pending[i] = Some((target, l));
                        band.set_target(None).map_err(|_| unreachable_validated())?;
                    }
                }
                _ => {
                    self.pending[i] = None;
                    band.set_target(target).map_err(|_| unreachable_validated())?;
                }
            }
        }
        self.preamp.set_target(db_to_linear(params.effective_preamp_db()));
        self.params = *params;
        Ok(())
    }

    /// The settled EQ's magnitude response at `freq_hz` (Hz), dB, of every
    /// enabled band whatever its channel, plus the preamp
    /// ([`EqParams::magnitude_db`]).
    pub fn magnitude_db(&self, freq_hz: f64) -> f64 {
        self.params.magnitude_db(freq_hz, self.sample_rate)
    }

    /// The settled EQ's magnitude response of channel `channel` at
    /// `freq_hz` (Hz), dB ([`EqParams::magnitude_db_for_channel`]).
    pub fn magnitude_db_for_channel(&self, freq_hz: f64, channel: usize) -> f64 {
        self.params.magnitude_db_for_channel(freq_hz, self.sample_rate, channel)
    }

    /// Filters an interleaved block (frames × the EQ's channels) in place.
    pub fn process(&mut self, block: &mut [f32]) {
        let ch = self.channels;
        if self.preamp.is_unity()
            && self.pending.iter().all(Option::is_none)
            && self.bands.iter().all(|b| b.target().is_none() && !b.is_settling())
        {
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
            self.preamp.apply(b, ch);
            let mut steps = [BandStep::Bypassed; MAX_BANDS];
            for (i, (step, band)) in steps.iter_mut().zip(self.bands.iter_mut()).enumerate() {
                if let Some((target, lane)) = self.pending[i]
                    && !band.is_settling()
                {
                    // faded out on the old channels: start on the new ones
                    self.lanes[i] = lane;
                    self.pending[i] = None;
                    let _ = band.set_target(target); // validated by set_params
                }
                *step = band.begin_control_block();
            }
            if ch == 2 {
                run_stereo(&mut self.bands[..], &self.lanes, &mut self.scratch[..], &steps, b);
            } else {
                for ((step, band), lane) in steps.iter().zip(self.bands.iter_mut()).zip(self.lanes) {
                    match step {
                        BandStep::Bypassed => {}
                        BandStep::Steady => band.steady_section().process_f64_lane(b, ch, lane),
                        BandStep::Changing => band.run_control_block(b, ch, &mut self.scratch[..], lane),
                    }
                }
            }
            for (d, s) in chunk.iter_mut().zip(b.iter()) {
                *d = *s as f32;
            }
        }
    }
}

/// What band `b` runs as at `strength` in a stream of `channels` channels:
/// its target (`None` = bypass) and lane (`None` when it selects no channel
/// of the stream, then the target is `None` too).
fn band_target(b: &EqBand, strength: f64, channels: usize) -> (Option<BiquadParams>, Option<Lane>) {
    match b.channel.lane(channels) {
        Some(lane) => (b.effective_params(strength), Some(lane)),
        None => (None, None),
    }
}

/// Most bands [`Biquad::cascade_stereo`] (or [`Biquad::cascade_lane`]) runs
/// in one pass: their states (2 vector registers each) must stay in
/// registers (x86-64 has 16; measured on the 10-band bench: 4 per pass
/// 1060×, 5 per pass 1290×, all 10 in one pass 940×, spilling).
const FUSED_MAX: usize = 5;

/// One stereo control block of the [`Equalizer`]: each run of steady bands
/// on the same lane (between changing ones and lane changes; bypassed bands
/// are skipped) goes through [`Biquad::cascade_stereo`] (both channels) or
/// [`Biquad::cascade_lane`] (one channel) in as few passes of at most
/// [`FUSED_MAX`] bands as possible, of near-equal size (bit-identical to one
/// band at a time, faster); changing bands run alone; all in band order.
fn run_stereo(
    bands: &mut [SmoothedBiquad],
    lanes: &[Lane; MAX_BANDS],
    scratch: &mut [f64],
    steps: &[BandStep; MAX_BANDS],
    b: &mut [f64],
) {
    let mut run = [0usize; MAX_BANDS];
    let mut n = 0;
    let mut run_lane = Lane::All;
    for i in 0..=MAX_BANDS {
        let step = steps.get(i).copied();
        if step == Some(BandStep::Bypassed) {
            continue;
        }
        if step == Some(BandStep::Steady) && (n == 0 || lanes[i] == run_lane) {
            run_lane = lanes[i];
            run[n] = i;
            n += 1;
            continue;
        }
        // A changing band, another lane or the end: run the steady ones before it.
        let passes = n.div_ceil(FUSED_MAX);
        let mut done = 0;
        for p in 0..passes {
            let size = (n - done) / (passes - p);
            run_group(bands, &run[done..done + size], run_lane, b);
            done += size;
        }
        n = 0;
        match step {
            Some(BandStep::Steady) => {
                run_lane = lanes[i];
                run[0] = i;
                n = 1;
            }
            Some(BandStep::Changing) => bands[i].run_control_block(b, 2, scratch, lanes[i]),
            _ => {}
        }
    }
}

/// Runs the steady bands at `idx` (ascending, 1 to [`FUSED_MAX`] of them),
/// all on `lane`, fused.
fn run_group(bands: &mut [SmoothedBiquad], idx: &[usize], lane: Lane, b: &mut [f64]) {
    macro_rules! fused {
        ($n:literal) => {{
            let i: [usize; $n] = idx.try_into().unwrap();
            if let Ok(sel) = bands.get_disjoint_mut(i) {
                let sections = sel.map(|band| band.steady_section());
                match lane {
                    Lane::All => Biquad::cascade_stereo(sections, b),
                    Lane::One(c) => Biquad::cascade_lane(sections, b, 2, c),
                }
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
    EqError::Band { index: usize::MAX, error: BiquadError::SampleRate(f64::NAN) }
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
                channel: EqChannel::All,
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

    /// The stereo path runs steady bands fused ([`Biquad::cascade_stereo`],
    /// [`Biquad::cascade_lane`]); the result must be bit-identical to running
    /// every band alone, in order, on its channels, including while some
    /// bands glide (gain/frequency change), crossfade (type change,
    /// enable/disable) and others stay steady: with every band on all
    /// channels, and with left-only and right-only bands among them.
    #[test]
    fn fused_stereo_cascade_is_bit_identical_to_band_by_band_through_live_changes() {
        fused_matches_band_by_band(&[]);
        use EqChannel::{Left, Right};
        fused_matches_band_by_band(&[(1, Left), (2, Left), (3, Left), (5, Right), (6, Right), (8, Left), (12, Right)]);
    }

    fn fused_matches_band_by_band(channels: &[(usize, EqChannel)]) {
        let mut p0 = ten_bands();
        for &(i, c) in channels {
            p0.bands[i].channel = c;
        }
        let mut p1 = p0;
        p1.bands[0].freq_hz = 40.0; // glide
        p1.bands[3].gain_db += 4.0; // glide
        p1.bands[5].kind = FilterType::LowShelf; // crossfade
        p1.bands[7].enabled = false; // crossfade to bypass
        p1.bands[12] =
            EqBand { kind: FilterType::Peaking, freq_hz: 2500.0, q: 2.0, gain_db: 5.0, enabled: true, ..p0.bands[12] }; // fades in
        let mut p2 = p1;
        p2.bands[7].enabled = true;
        p2.bands[9].freq_hz = 15000.0;

        let mut eq = Equalizer::new(FS, 2, &p0).unwrap();
        let lanes: Vec<Lane> = p0.bands.iter().map(|b| b.channel.lane(2).unwrap()).collect();
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
                for (band, lane) in reference.iter_mut().zip(&lanes) {
                    band.process_control_block_lane(&mut d, 2, &mut scratch, *lane);
                }
                for (o, v) in chunk.iter_mut().zip(d) {
                    *o = v as f32;
                }
            }
        }
        let first_diff = fused.iter().zip(&want).position(|(a, b)| a.to_bits() != b.to_bits());
        assert_eq!(first_diff, None, "fused and band-by-band differ ({channels:?})");
        // and the changes did something
        assert_ne!(fused[120 * 200..], x[120 * 200..]);
    }

    /// `frames` of a sine at `freq` (Hz) on every one of `ch` channels,
    /// amplitude 0.1 (interleaved).
    fn sine(freq: f64, ch: usize, frames: usize) -> Vec<f32> {
        (0..frames)
            .flat_map(|i| {
                let s = (0.1 * (2.0 * std::f64::consts::PI * freq * i as f64 / FS).sin()) as f32;
                std::iter::repeat_n(s, ch)
            })
            .collect()
    }

    /// The gain (dB) of each channel of `eq` at `freq` (Hz), measured by
    /// running a sine through it: 0.5 s to settle, then a single-bin DFT of
    /// the output over the next 0.5 s against the input's.
    fn measured_gains_db(eq: &mut Equalizer, freq: f64) -> Vec<f64> {
        let ch = eq.channels();
        let n = 48000;
        let x = sine(freq, ch, n);
        let mut y = x.clone();
        for blk in y.chunks_mut(ch * 100) {
            eq.process(blk);
        }
        let amp = |s: &[f32], c: usize| {
            let (mut re, mut im) = (0.0, 0.0);
            for (i, v) in s.iter().skip(c).step_by(ch).enumerate().skip(n / 2) {
                let ph = 2.0 * std::f64::consts::PI * freq * i as f64 / FS;
                re += *v as f64 * ph.cos();
                im += *v as f64 * ph.sin();
            }
            (re * re + im * im).sqrt()
        };
        (0..ch).map(|c| 20.0 * (amp(&y, c) / amp(&x, c)).log10()).collect()
    }

    /// A left +9 dB peak and a right −6 dB peak at 1 kHz, a 5 kHz high
    /// shelf on all channels.
    fn left_right_params() -> EqParams {
        let pk = |gain_db, channel| EqBand {
            kind: FilterType::Peaking,
            freq_hz: 1000.0,
            q: 1.0,
            gain_db,
            enabled: true,
            channel,
        };
        EqParams::from_bands(&[
            pk(9.0, EqChannel::Left),
            EqBand { kind: FilterType::HighShelf, freq_hz: 5000.0, q: 0.7, gain_db: 4.0, ..pk(0.0, EqChannel::All) },
            pk(-6.0, EqChannel::Right),
        ])
    }

    #[test]
    fn left_and_right_bands_filter_only_their_channel() {
        let p = left_right_params();
        // what the response should be, from the bands' own formulas
        let band = |i: usize, f: f64| crate::biquad::analog_magnitude_db(&p.bands[i].params().unwrap(), f, FS);
        for f in [200.0, 1000.0, 3000.0, 10000.0] {
            let (l, r) = (band(0, f) + band(1, f), band(1, f) + band(2, f));
            assert!((p.magnitude_db_for_channel(f, FS, 0) - l).abs() < 0.01, "{f}");
            assert!((p.magnitude_db_for_channel(f, FS, 1) - r).abs() < 0.01, "{f}");
            assert!((p.magnitude_db_for_channel(f, FS, 2) - band(1, f)).abs() < 0.01, "{f}");
        }
        // stereo: each channel gets its own bands, measured through the EQ
        for f in [1000.0, 8000.0] {
            let mut eq = Equalizer::new(FS, 2, &p).unwrap();
            let g = measured_gains_db(&mut eq, f);
            for (c, got) in g.iter().enumerate() {
                let want = eq.magnitude_db_for_channel(f, c);
                assert!((got - want).abs() < 0.02, "{f} Hz channel {c}: {got} vs {want}");
            }
        }
        let mut eq = Equalizer::new(FS, 2, &p).unwrap();
        let g = measured_gains_db(&mut eq, 1000.0);
        assert!(g[0] > 8.5 && g[1] < -5.5, "{g:?}");
        // 3 channels: channel 2 gets only the all-channel shelf
        let mut eq = Equalizer::new(FS, 3, &p).unwrap();
        let g = measured_gains_db(&mut eq, 1000.0);
        assert!((g[2] - band(1, 1000.0)).abs() < 0.02, "{g:?}");
        assert!((g[0] - eq.magnitude_db_for_channel(1000.0, 0)).abs() < 0.02, "{g:?}");
        // mono: the left band applies to the one channel, the right one to none
        let mut eq = Equalizer::new(FS, 1, &p).unwrap();
        let g = measured_gains_db(&mut eq, 1000.0);
        assert!((g[0] - (band(0, 1000.0) + band(1, 1000.0))).abs() < 0.02, "{g:?}");
    }

    #[test]
    fn preamp_and_strength_scale_the_response_in_db() {
        let mut p = left_right_params();
        p.bands[3] = EqBand { kind: FilterType::HighPass, freq_hz: 40.0, q: 0.707, enabled: true, ..p.bands[3] };
        p.preamp_db = -6.0;
        let no_preamp = EqParams { preamp_db: 0.0, ..p };
        for strength in [1.0, 0.5, 0.25] {
            let q = EqParams { strength, ..p };
            for f in [30.0, 1000.0, 9000.0] {
                // the gain bands and the preamp scale; the high-pass does not
                let hp = crate::biquad::analog_magnitude_db(&p.bands[3].params().unwrap(), f, FS);
                let scaled = |i: usize| {
                    let mut b = p.bands[i].params().unwrap();
                    b.gain_db *= strength;
                    crate::biquad::analog_magnitude_db(&b, f, FS)
                };
                let left = -6.0 * strength + scaled(0) + scaled(1) + hp;
                assert!((q.magnitude_db_for_channel(f, FS, 0) - left).abs() < 0.01, "{strength} {f}");
                let mut eq = Equalizer::new(FS, 2, &q).unwrap();
                let g = measured_gains_db(&mut eq, f);
                assert!((g[0] - left).abs() < 0.02, "{strength} {f}: {g:?} vs {left}");
                assert!((g[1] - q.magnitude_db_for_channel(f, FS, 1)).abs() < 0.02, "{strength} {f}: {g:?}");
            }
        }
        // at 1 kHz the left peak (+9 dB) is where the curve is far from flat
        assert!(no_preamp.magnitude_db_for_channel(1000.0, FS, 0) > 8.0);
        // strength 0: only the high-pass is left
        let zero = EqParams { strength: 0.0, ..p };
        for f in [30.0, 1000.0] {
            let hp = crate::biquad::analog_magnitude_db(&p.bands[3].params().unwrap(), f, FS);
            assert!((zero.magnitude_db_for_channel(f, FS, 1) - hp).abs() < 0.01);
        }
    }

    #[test]
    fn strength_zero_with_gain_bands_and_preamp_is_bit_exact() {
        let mut p = left_right_params();
        p.preamp_db = 5.0;
        p.strength = 0.0;
        let mut eq = Equalizer::new(FS, 2, &p).unwrap();
        let x: Vec<f32> = (0..2000).map(|i| ((i as f32) * 0.1).sin() * 0.3 + 1e-30).collect();
        let mut y = x.clone();
        eq.process(&mut y);
        assert_eq!(x, y);
        // and turned down live, it ends bit-exact once settled
        let mut eq = Equalizer::new(FS, 2, &EqParams { strength: 1.0, ..p }).unwrap();
        let mut y = sine(1000.0, 2, 4800);
        eq.process(&mut y);
        eq.set_params(&p).unwrap();
        let mut y = sine(1000.0, 2, 4800);
        eq.process(&mut y);
        let x = sine(1000.0, 2, 4800);
        let mut y = x.clone();
        eq.process(&mut y);
        assert_eq!(x, y);
    }

    /// Max |second difference| of channel `c` of `y` (interleaved, `ch`
    /// channels) over frames `range`: a sine's is A·(2 sin(ω/2))², a click
    /// shows as a spike.
    fn max_second_diff(y: &[f32], ch: usize, c: usize, range: std::ops::Range<usize>) -> f64 {
        let v = |i: usize| y[i * ch + c] as f64;
        range.map(|i| (v(i) - 2.0 * v(i - 1) + v(i - 2)).abs()).fold(0.0, f64::max)
    }

    /// How much a change at frame `at` clicks on channel `c`: the largest
    /// second difference around it beyond the tone's own, relative to it.
    fn click(y: &[f32], ch: usize, c: usize, at: usize) -> f64 {
        let frames = y.len() / ch;
        let tone = max_second_diff(y, ch, c, 2..at - 200).max(max_second_diff(y, ch, c, at + 4800..frames));
        (max_second_diff(y, ch, c, at - 200..at + 4800) - tone).max(0.0) / tone
    }

    /// Runs a 200 Hz stereo tone through an EQ set to `from`, switching to
    /// `to` at 0.2 s, with `smoothing_ms`.
    fn switched(from: &EqParams, to: &EqParams, smoothing_ms: f64) -> Vec<f32> {
        let mut eq = Equalizer::new(FS, 2, from).unwrap();
        eq.set_smoothing_ms(smoothing_ms);
        let mut y = sine(200.0, 2, 24000);
        for (i, blk) in y.chunks_mut(2 * 128).enumerate() {
            if i * 128 == 9600 {
                eq.set_params(to).unwrap();
            }
            eq.process(blk);
        }
        y
    }

    /// Strength, preamp and a band moving from the left channel to the
    /// right change smoothly: the click measure stays under 1/50 of the same
    /// change made without smoothing, which must really click.
    #[test]
    fn strength_preamp_and_channel_moves_are_click_free() {
        let pk = EqBand {
            kind: FilterType::Peaking,
            freq_hz: 200.0,
            q: 1.0,
            gain_db: 12.0,
            enabled: true,
            ..EqBand::default()
        };
        let base = EqParams { preamp_db: -6.0, ..EqParams::from_bands(&[EqBand { channel: EqChannel::Left, ..pk }]) };
        let cases = [
            ("strength 1 → 0.2", EqParams { strength: 0.2, ..base }),
            ("preamp -6 → +6 dB", EqParams { preamp_db: 6.0, ..base }),
            (
                "band left → right",
                EqParams { preamp_db: -6.0, ..EqParams::from_bands(&[EqBand { channel: EqChannel::Right, ..pk }]) },
            ),
        ];
        for (what, to) in cases {
            let smooth = switched(&base, &to, 20.0);
            let jump = switched(&base, &to, 0.0);
            for c in 0..2 {
                let (s, j) = (click(&smooth, 2, c, 9600), click(&jump, 2, c, 9600));
                assert!(j > 1.0, "{what} channel {c}: the unsmoothed change should click ({j})");
                assert!(s < j / 50.0, "{what} channel {c}: smoothed {s} vs unsmoothed {j}");
            }
            // and the change happened: the EQ ends at the new response
            let mut eq = Equalizer::new(FS, 2, &base).unwrap();
            eq.set_params(&to).unwrap();
            let _ = measured_gains_db(&mut eq, 1000.0);
            let g = measured_gains_db(&mut eq, 200.0);
            for (c, got) in g.iter().enumerate() {
                let want = to.magnitude_db_for_channel(200.0, FS, c);
                assert!((got - want).abs() < 0.02, "{what} channel {c}: {got} vs {want}");
            }
        }
    }

    #[test]
    fn old_values_without_preamp_strength_or_channel_still_parse() {
        // 16 bands (the old MAX_BANDS), no preamp, no strength, no channel
        let band = r#"{"type":"peaking","freq":1000.0,"q":1.0,"gain_db":3.0,"enabled":true}"#;
        let json = format!(r#"{{"bands":[{}]}}"#, vec![band; 16].join(","));
        let p: EqParams = serde_json::from_str(&json).unwrap();
        assert_eq!(p.strength, 1.0);
        assert_eq!(p.preamp_db, 0.0);
        assert_eq!(p.bands.iter().filter(|b| b.enabled).count(), 16);
        assert!(p.bands.iter().all(|b| b.channel == EqChannel::All));
        assert!(!p.bands[16].enabled);
        // written out and read back: the same value
        let back: EqParams = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(back, p);
        // more than MAX_BANDS is refused with the count
        let json = format!(r#"{{"bands":[{}]}}"#, vec![band; 33].join(","));
        let e = serde_json::from_str::<EqParams>(&json).unwrap_err().to_string();
        assert!(e.contains("invalid length 33") && e.contains("at most 32"), "{e}");
        let e = serde_json::from_str::<EqBand>(r#"{"type":"peaking","freq":1,"q":1,"channel":"centre"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown variant `centre`"), "{e}");
    }

    #[test]
    fn bad_preamp_and_strength_are_refused_by_name() {
        let mut eq = Equalizer::new(FS, 2, &left_right_params()).unwrap();
        for (p, msg) in [
            (EqParams { preamp_db: 31.0, ..left_right_params() }, "eq.preamp_db = 31 dB: must be from -30 to +30 dB"),
            (
                EqParams { preamp_db: f64::NAN, ..left_right_params() },
                "eq.preamp_db = NaN dB: must be from -30 to +30 dB",
            ),
            (EqParams { strength: 1.5, ..left_right_params() }, "eq.strength = 1.5: must be from 0 to 1"),
            (EqParams { strength: -0.1, ..left_right_params() }, "eq.strength = -0.1: must be from 0 to 1"),
        ] {
            assert_eq!(eq.set_params(&p).unwrap_err().to_string(), msg);
            assert_eq!(eq.params(), &left_right_params());
        }
    }

    /// Per-channel bands, a band changing channels, preamp and strength
    /// changes, on stereo, mono and 3-channel streams: no allocation.
    #[test]
    fn per_channel_processing_and_live_changes_do_not_allocate() {
        let mut p1 = ten_bands();
        p1.bands[2].channel = EqChannel::Left;
        p1.bands[3].channel = EqChannel::Right;
        p1.bands[4].channel = EqChannel::Right;
        p1.preamp_db = -3.0;
        let mut p2 = p1;
        p2.bands[2].channel = EqChannel::Right; // moves: fade out, then in
        p2.bands[5].channel = EqChannel::Left;
        p2.bands[20] = EqBand { enabled: true, gain_db: 4.0, channel: EqChannel::Left, ..EqBand::default() };
        p2.strength = 0.5;
        p2.preamp_db = 2.0;
        let p3 = EqParams { strength: 0.0, ..p2 };
        for ch in [1, 2, 3] {
            let mut eq = Equalizer::new(FS, ch, &p1).unwrap();
            let mut block = vec![0.1f32; ch * 128];
            assert_no_alloc::assert_no_alloc(|| {
                for i in 0..300 {
                    match i {
                        10 => eq.set_params(&p2).unwrap(),
                        100 => eq.set_params(&p3).unwrap(),
                        200 => eq.set_params(&p1).unwrap(),
                        _ => {}
                    }
                    eq.process(&mut block);
                }
            });
        }
    }
}
