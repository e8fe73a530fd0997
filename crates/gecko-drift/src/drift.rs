//! [`DriftLoop`]: what the engine's real-time output callback owns. It pulls
//! frames from the ring at the output device's rate, measures the fill
//! level, runs the [`PiController`] and applies its correction through one of
//! two actuators (clock steering or adaptive resampling).

use crate::controller::{ControllerParams, LockChange, PiController};
use crate::resampler::{AdaptiveResampler, Quality, ResamplerBuildError};
use gecko_ring::{Read, Reader, RingEvent};

/// Which actuator the loop may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ActuatorChoice {
    /// Clock steering when the device rate equals the output rate and the
    /// driver honours steering (its applied ppm follows the requests);
    /// adaptive resampling otherwise (and as the fallback).
    #[default]
    Auto,
    /// Clock steering only (no resampler is built).
    Steer,
    /// Adaptive resampling only (the driver's clock is left at nominal).
    Resample,
}

/// The actuator in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actuator {
    /// The driver's clock is steered (`clock_adjust_ppm`); frames pass
    /// bit-transparently.
    Steering,
    /// A variable-ratio sinc resampler converts device rate → output rate.
    Resampling,
}

/// Where the loop is in its acquisition sequence (see docs/drift-control.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Silence out until the fill reaches the target.
    Prime,
    /// Waiting for the actuator to apply the requested correction
    /// (steering: applied ppm = request, then one more zero-timestamp period).
    Settle,
    /// Measuring the fill slope (frames/s) at a constant correction: the
    /// skew estimate.
    Measure,
    /// PI tracking (after a one-time slip of the residual fill error).
    Track,
    /// The ring's format changed: the caller must build a new loop.
    RebuildRequired,
}

/// A set of things that happened during one render (bit flags; no allocation).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DriftEvents(pub u32);

impl DriftEvents {
    /// The loop locked (|fill error| small for the hold time).
    pub const LOCKED: DriftEvents = DriftEvents(1);
    /// The loop lost lock (|fill error| above the unlock threshold): a skew
    /// step, a clock jump.
    pub const LOCK_LOST: DriftEvents = DriftEvents(1 << 1);
    /// The writer started a new generation with the same format (driver
    /// restart, IO re-anchored): the loop re-primes and re-locks.
    pub const NEW_GENERATION: DriftEvents = DriftEvents(1 << 2);
    /// The ring's format (rate or channels) changed, or does not match the
    /// configuration: this loop outputs silence until the caller rebuilds it.
    pub const REBUILD_REQUIRED: DriftEvents = DriftEvents(1 << 3);
    /// The driver does not follow clock requests: switched to resampling
    /// (Auto) or stuck (Steer).
    pub const STEERING_UNAVAILABLE: DriftEvents = DriftEvents(1 << 4);
    /// The ring had fewer frames than needed; silence was substituted.
    pub const UNDERRUN: DriftEvents = DriftEvents(1 << 5);
    /// The reader was lapped and jumped to the newest frame.
    pub const RING_OVERRUN: DriftEvents = DriftEvents(1 << 6);
    /// The fill was re-aligned once by dropping or padding frames
    /// (acquisition, or a resync after a huge error).
    pub const SLIP: DriftEvents = DriftEvents(1 << 7);
    /// The ring reported an error (corrupt/unstable writer): silence out.
    pub const RING_ERROR: DriftEvents = DriftEvents(1 << 8);
    /// The writer's IO stopped (no cycle for a while): control is held.
    pub const IO_STALLED: DriftEvents = DriftEvents(1 << 9);
    /// While tracking, the skew estimate (the controller's integrator) moved
    /// more than [`DriftConfig::skew_step_ppm`] from its last reported value:
    /// a clock jump or a step in the output device's rate.
    pub const SKEW_CHANGED: DriftEvents = DriftEvents(1 << 10);

    /// No event.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// All of `other`'s events are in `self`.
    pub fn contains(self, other: DriftEvents) -> bool {
        self.0 & other.0 == other.0
    }
    /// Adds `other`'s events.
    pub fn insert(&mut self, other: DriftEvents) {
        self.0 |= other.0;
    }
}

/// What one [`DriftLoop::render`] did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RenderReport {
    /// Output frames written (always `out.len() / channels`).
    pub frames: usize,
    /// Frames of silence substituted because the ring was short, ring-domain
    /// frames (device rate). Silence while priming or rebuilding is not counted.
    pub underrun_frames: usize,
    /// Fill level at the callback's time stamp, frames at the device rate:
    /// frames in the ring + the writer's progress since its last IO cycle
    /// (on the driver's zero-timestamp clock, from the cycle's lateness-free
    /// time; docs/drift-control.md) + frames held in the resampler + pending
    /// pad.
    pub fill_frames: f64,
    /// `fill_frames` − target, frames.
    pub fill_error_frames: f64,
    /// The controller's correction, ppm (steering: the clock rate asked of
    /// the driver; resampling: the relative ratio − 1).
    pub correction_ppm: f64,
    /// The clock adjustment the driver applies now, ppm (writer state).
    pub applied_ppm: f64,
    /// The loop is locked.
    pub locked: bool,
    /// The actuator in use.
    pub actuator: Actuator,
    /// The acquisition phase after this render.
    pub phase: Phase,
    /// What happened.
    pub events: DriftEvents,
}

/// Configuration of a [`DriftLoop`].
#[derive(Debug, Clone, PartialEq)]
pub struct DriftConfig {
    /// Interleaved channels of the ring and of the output buffer.
    pub channels: usize,
    /// The ring's (Gecko Sink's) nominal sample rate, Hz.
    pub device_rate: f64,
    /// The output device's nominal sample rate, Hz.
    pub output_rate: f64,
    /// Fill level to hold, frames at the device rate. Default 1536 frames
    /// (32 ms at 48 kHz): one 512-frame IO cycle in flight + one 512-frame
    /// output callback + 512 frames of margin for transients.
    pub target_fill_frames: f64,
    /// Largest output callback, frames (sizes the resampler's buffers).
    pub max_block_frames: usize,
    /// Actuator choice.
    pub actuator: ActuatorChoice,
    /// Resampler quality.
    pub quality: Quality,
    /// Controller tuning; `sample_rate` is overwritten with `device_rate`.
    pub controller: ControllerParams,
    /// Length of the skew measurement, s. Default 1.0 s: the fill slope
    /// over 1 s resolves 1 ppm as 0.048 frames at 48 kHz, far below the
    /// measurement noise of the continuous fill level in practice (< 1 frame).
    pub measure_s: f64,
    /// Zero-timestamp periods to wait for the driver's applied ppm to move
    /// towards a request before steering is declared unavailable. Default 4
    /// (the driver moves ≥ 100 ppm or all the way in the first one).
    pub steer_probe_periods: u32,
    /// In tracking, an error beyond this many frames triggers a resync slip
    /// instead of waiting for the PI loop. Default target / 2.
    pub resync_frames: f64,
    /// Time constant of each of the two cascaded one-pole low-pass filters
    /// on the fill error before the controller while resampling, s. Default
    /// 0.5 s (corner 0.32 Hz): whatever noise is left in the fill
    /// measurement (the output device's own time-stamp noise, the
    /// writer-phase estimate's residue) the proportional path would turn
    /// into ratio noise — phase modulation of the audio. With the
    /// jitter-free measurement it is a second line of defence (measured
    /// end to end, 100 µs / 1 ms of lateness: −150.7 / −135 dB with it,
    /// −148.5 / −132 dB without; with the old heartbeat-based measurement it
    /// was the only one: −65 dB without, −99 dB with; docs/drift-control.md).
    /// Costs ≈ 2·atan(ω_c·τ) = 28° of phase margin at ω_c = 0.5 rad/s, with
    /// no actuator delay to add to it. Not used while steering (the audio
    /// is untouched there, and the driver's period delay already eats margin).
    pub resample_error_filter_s: f64,
    /// Time constant of each of the two cascaded one-pole stages that
    /// estimate the writer's phase, s (docs/drift-control.md, "What the
    /// loop measures"): the offset between the ring's write count and the
    /// driver's zero-timestamp clock, observed once per IO cycle. The
    /// offset is constant by construction (the HAL writes frame S at sample
    /// time S); only the IO thread's wake-up lateness scatters the
    /// observations (100 µs ≈ 5 frames at 48 kHz). Default 10 s: with
    /// 100 µs of lateness the end-to-end THD+N is the resampler's own floor
    /// (−150.7 dB; 5 s: −149.8 dB), with 1 ms −135 dB (5 s: −126 dB; 20 s:
    /// −149 dB). The price is speed: a real change of the offset smaller
    /// than `writer_jump_frames` (the HAL's IO buffer size changed by a few
    /// frames) is followed over ≈ 2 × 10 s, as a slow correction of a few
    /// ppm that the fill target absorbs.
    pub writer_phase_filter_s: f64,
    /// A writer-phase observation further than this from the estimate is a
    /// discontinuity, not lateness, frames. Default 256 (5.3 ms at 48 kHz).
    /// Above the estimate (the writer cannot be early) it reseeds at once;
    /// below it (a late cycle, or frames the writer dropped on a full ring)
    /// it is ignored unless three cycles in a row agree.
    pub writer_jump_frames: f64,
    /// A move of the skew estimate larger than this while tracking is
    /// reported as [`DriftEvents::SKEW_CHANGED`], ppm. Default 50 ppm (real
    /// crystals drift a few ppm with temperature; a jump of tens of ppm is an
    /// event worth telling).
    pub skew_step_ppm: f64,
}

impl DriftConfig {
    /// Defaults (see the fields) for `channels` at `device_rate` Hz into an
    /// output at `output_rate` Hz.
    pub fn new(channels: usize, device_rate: f64, output_rate: f64) -> Self {
        DriftConfig {
            channels,
            device_rate,
            output_rate,
            target_fill_frames: 1536.0,
            max_block_frames: 512,
            actuator: ActuatorChoice::Auto,
            quality: Quality::High,
            controller: ControllerParams::new(device_rate),
            measure_s: 1.0,
            steer_probe_periods: 4,
            resync_frames: 768.0,
            resample_error_filter_s: 0.5,
            writer_phase_filter_s: 10.0,
            writer_jump_frames: 256.0,
            skew_step_ppm: 50.0,
        }
    }

    /// Sets the target latency in milliseconds (at the device rate) and the
    /// resync threshold to half of it.
    pub fn with_target_ms(mut self, ms: f64) -> Self {
        self.target_fill_frames = (ms * 1e-3 * self.device_rate).round();
        self.resync_frames = self.target_fill_frames / 2.0;
        self
    }

    /// Sets the target latency in frames and the resync threshold to half of it.
    pub fn with_target_frames(mut self, frames: f64) -> Self {
        self.target_fill_frames = frames;
        self.resync_frames = frames / 2.0;
        self
    }
}

/// Accumulates a least-squares line through (x, y) points (no allocation).
#[derive(Debug, Clone, Copy, Default)]
struct LineFit {
    n: f64,
    sx: f64,
    sy: f64,
    sxx: f64,
    sxy: f64,
}

impl LineFit {
    fn add(&mut self, x: f64, y: f64) {
        self.n += 1.0;
        self.sx += x;
        self.sy += y;
        self.sxx += x * x;
        self.sxy += x * y;
    }
    fn slope(&self) -> Option<f64> {
        let d = self.n * self.sxx - self.sx * self.sx;
        (self.n >= 3.0 && d > 0.0).then(|| (self.n * self.sxy - self.sx * self.sy) / d)
    }
}

/// `slip` limited to ± `capacity` frames (a slip beyond the ring's size
/// means a corrupt fill measurement, not a real one).
fn bounded_slip(slip: i64, capacity: u32) -> i64 {
    slip.clamp(-i64::from(capacity), i64::from(capacity))
}

/// The driver's latest zero timestamp with the clock rate it applies: its
/// sample clock as a function of host time. Exact: the driver computes its
/// timestamps from the host clock (no scheduling jitter in them).
#[derive(Debug, Clone, Copy, PartialEq)]
struct DriverClock {
    /// `zts_sample_time`, frames.
    sample: f64,
    /// `zts_host_time`, host ticks.
    host: u64,
    /// Host ticks per frame at the applied rate: `host_ticks_per_frame /
    /// (1 + clock_adjust_ppm·1e-6)` (docs/shm-protocol.md §7).
    tpf: f64,
    /// `zts_seed`.
    seed: u64,
}

impl DriverClock {
    /// The driver's sample time at host time `t` (host ticks), frames.
    fn sample_at(&self, t: u64) -> f64 {
        self.sample + (t as i128 - self.host as i128) as f64 / self.tpf
    }
}

/// Where the writer is, jitter-free: `write_count ≈ offset + sample_time(t)`.
///
/// The HAL writes the frame of output sample time S at S, and its IO cycles
/// follow the device timeline the driver's zero timestamps define, so the
/// ring's write count is a constant `offset` ahead of the driver's sample
/// clock (the HAL's lead: buffer + safety offset) — plus, at the instant
/// an IO cycle is seen to run, the lateness of that cycle's thread. Each IO
/// cycle gives one observation `write_count − sample_time(heartbeat)` =
/// `offset − lateness·rate` (frames); their low-passed mean is the
/// estimate (the mean lateness is a constant bias the fill target absorbs).
///
/// This is the delay-locked loop of F. Adriaensen, "Using a DLL to filter
/// time" (Linux Audio Conference 2005), with its second-order (period)
/// path removed: the period is not estimated from the noisy event times,
/// it is the driver's own, exact, from its zero timestamps, so only the
/// phase is filtered. The phase filter is two cascaded one-pole stages,
/// `x += b·(in − x)` with `b = 1 − exp(−Δframes / (τ·rate))` per cycle
/// (Δframes = frames written since the previous observation), each
/// starting as an equal-weight running mean (`b = Δframes / frames
/// averaged`) until τ worth of IO has been seen. Two stages rather than
/// one: the estimate's remaining scatter falls as 1/f² above the corner
/// instead of 1/f, so almost none of it is left at the few hertz and above
/// where it would reach the audio as phase modulation (see
/// docs/drift-control.md, "Measured").
///
/// Discontinuities reseed both stages: a new zero-timestamp seed or a
/// re-anchor that does not continue the previous timeline (StartIO), an
/// observation above the estimate by more than `writer_jump_frames` (a
/// writer is never early), or three in a row below it (frames the writer
/// dropped, not a late thread). After a re-anchor the first cycle run on
/// the new timeline (heartbeat ≥ its anchor) seeds.
#[derive(Debug, Clone, Copy)]
struct WriterPhase {
    /// First stage: mean of the observations, frames; NaN = not seeded.
    mean: f64,
    /// Second stage: the estimate of `write_count − sample_time`, frames.
    offset: f64,
    /// Frames of IO averaged since the seed (≤ τ·rate).
    span: f64,
    /// (write count, heartbeat host time) of the last cycle seen.
    last: Option<(u64, u64)>,
    /// Consecutive observations below the mean by more than the jump.
    low: u32,
    /// The driver clock seen at the last update.
    clock: Option<DriverClock>,
    /// The timeline was re-anchored: seed only from a cycle run after the anchor.
    await_anchor: bool,
}

impl WriterPhase {
    const NEW: WriterPhase = WriterPhase {
        mean: f64::NAN,
        offset: f64::NAN,
        span: 0.0,
        last: None,
        low: 0,
        clock: None,
        await_anchor: false,
    };

    /// Feeds the writer state seen by one render: the driver clock and the
    /// last IO cycle's write count and heartbeat (host ticks; a consistent
    /// pair). `tau_frames` = τ·rate (per stage), `jump` in frames. Returns
    /// the estimate of `write_count − sample_time`, frames (NaN until seeded).
    fn update(&mut self, clock: DriverClock, write: u64, heartbeat: u64, tau_frames: f64, jump: f64) -> f64 {
        if let Some(p) = self.clock {
            let moved = (p.sample, p.host) != (clock.sample, clock.host);
            if p.seed != clock.seed || moved && (p.sample_at(clock.host) - clock.sample).abs() > 1.0 {
                self.mean = f64::NAN;
                self.offset = f64::NAN;
                self.await_anchor = true;
            }
        }
        self.clock = Some(clock);
        let prev = self.last.replace((write, heartbeat));
        if prev == Some((write, heartbeat)) {
            return self.offset;
        }
        let dw = prev.map_or(0, |(w, _)| write.wrapping_sub(w) as i64).max(0) as f64;
        let obs = write as f64 - clock.sample_at(heartbeat);
        if !self.mean.is_finite() {
            if !self.await_anchor || heartbeat >= clock.host {
                self.seed(obs, dw);
            }
            return self.offset;
        }
        let d = obs - self.mean;
        if d > jump || (d < -jump && self.low >= 2) {
            self.seed(obs, dw);
            return self.offset;
        }
        if d < -jump {
            self.low += 1;
            return self.offset;
        }
        self.low = 0;
        if dw > 0.0 {
            self.span = (self.span + dw).min(tau_frames);
            let b = if self.span < tau_frames { dw / self.span } else { 1.0 - (-dw / tau_frames).exp() };
            self.mean += b * d;
            self.offset += b * (self.mean - self.offset);
        }
        self.offset
    }

    fn seed(&mut self, obs: f64, weight: f64) {
        self.mean = obs;
        self.offset = obs;
        self.span = weight;
        self.low = 0;
        self.await_anchor = false;
    }
}

/// What the measure section of one render saw (see [`DriftLoop::render`]).
#[derive(Debug, Clone, Copy)]
struct Measurement {
    /// This buffer's time stamp, host ticks.
    now: u64,
    /// The writer's host clock, ticks per second.
    ticks_per_second: f64,
    /// Seconds since the previous render (one buffer's duration at the first).
    dt: f64,
    /// Fill level, device-rate frames (ring + writer progress + resampler input + pad).
    fill: f64,
    /// `fill` − the target fill, frames.
    err: f64,
    /// The driver's applied clock adjustment, ppm.
    applied: f64,
    /// The writer's latest zero-timestamp sample time, frames (a new value: a new period).
    zts_sample_time: f64,
    /// The writer is stopped or silent for 100 ms: no control step.
    stalled: bool,
}

/// The drift-control loop the output callback owns. See the crate docs and
/// docs/drift-control.md.
pub struct DriftLoop {
    cfg: DriftConfig,
    ctrl: PiController,
    actuator: Actuator,
    resampler: Option<AdaptiveResampler>,
    /// Interleaved input scratch for the resampler and for slips, frames × channels.
    scratch: Vec<f32>,
    phase: Phase,
    /// The correction currently asked for, ppm.
    request: f64,
    /// A skew estimate exists (from a measurement or a previous lock).
    have_estimate: bool,
    /// Steering was seen to work (applied followed a request) at least once.
    steering_confirmed: bool,
    /// Zero-timestamp sample time seen at the last render, frames.
    last_zts: f64,
    /// Zero-timestamp periods counted since `settle_mark` was set.
    periods_since_mark: u32,
    /// Settle: the request and applied were equal as of this many periods ago (None = not yet).
    settled_for: Option<u32>,
    /// Applied ppm when the current request was made (steering probe).
    applied_at_request: f64,
    fit: LineFit,
    measure_t0: Option<u64>,
    /// Frames of silence still to be fed ahead of ring data (a negative slip), device-rate frames.
    pad: usize,
    last_now: Option<u64>,
    stalled: bool,
    /// The driver's applied clock adjustment at the last render, ppm.
    applied: f64,
    /// Two-pole low-pass state of the fill error (resampling), frames.
    efilt: [f64; 2],
    /// Skew estimate last reported (set at lock), ppm.
    skew_ref: Option<f64>,
    /// The writer's position against the driver's clock.
    writer: WriterPhase,
    /// Tracking: re-align the fill with one slip at the next control step
    /// that sees IO running ([`DriftLoop::output_resumed`]).
    realign: bool,
}

impl DriftLoop {
    /// Builds the loop (allocates everything it will ever use).
    ///
    /// Errors: a resampler cannot be built for these rates.
    pub fn new(cfg: DriftConfig) -> Result<Self, ResamplerBuildError> {
        let mut cfg = cfg;
        cfg.controller.sample_rate = cfg.device_rate;
        let same_rate = cfg.device_rate == cfg.output_rate;
        let (actuator, need_resampler) = match cfg.actuator {
            ActuatorChoice::Auto if same_rate => (Actuator::Steering, true),
            ActuatorChoice::Auto | ActuatorChoice::Resample => (Actuator::Resampling, true),
            ActuatorChoice::Steer => (Actuator::Steering, false),
        };
        let resampler = if need_resampler {
            Some(AdaptiveResampler::new(
                cfg.device_rate,
                cfg.output_rate,
                cfg.channels,
                cfg.max_block_frames,
                cfg.quality,
            )?)
        } else {
            None
        };
        let scratch_frames = resampler.as_ref().map_or(0, |r| r.max_input_frames()).max(4096);
        Ok(DriftLoop {
            ctrl: PiController::new(cfg.controller),
            actuator,
            resampler,
            scratch: vec![0.0; scratch_frames * cfg.channels.max(1)],
            phase: Phase::Prime,
            request: 0.0,
            have_estimate: false,
            steering_confirmed: false,
            last_zts: f64::NAN,
            periods_since_mark: 0,
            settled_for: None,
            applied_at_request: 0.0,
            fit: LineFit::default(),
            measure_t0: None,
            pad: 0,
            last_now: None,
            stalled: false,
            applied: 0.0,
            efilt: [0.0; 2],
            skew_ref: None,
            writer: WriterPhase::NEW,
            realign: false,
            cfg,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &DriftConfig {
        &self.cfg
    }

    /// The actuator in use.
    pub fn actuator(&self) -> Actuator {
        self.actuator
    }

    /// The acquisition phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The controller (gains, integrator = skew estimate in ppm).
    pub fn controller(&self) -> &PiController {
        &self.ctrl
    }

    /// The output stopped rendering for a while and starts again (the
    /// engine paused its output while Gecko Sink's IO was stopped, and
    /// resumes it now that IO runs again). Call it off the real-time thread,
    /// before the first render after the pause.
    ///
    /// The next render is timed as the first of a run (its `dt` is one
    /// buffer, not the length of the pause, so no control step integrates
    /// over the pause), and a skew measurement in progress starts over (its
    /// line fit would span the pause). The skew estimate, the actuator and
    /// the resampler's state are kept. A loop that was tracking re-aligns
    /// the fill to the target with one slip at its first control step with
    /// IO running — dropping the oldest frames the ring collected while the
    /// output was waking, or padding with silence when it holds less than
    /// the target — and re-locks as after an IO stall: without the slip, a
    /// fill error below [`DriftConfig::resync_frames`] would be worked off
    /// by the PI loop over seconds, moving the skew estimate.
    pub fn output_resumed(&mut self) {
        self.last_now = None;
        self.fit = LineFit::default();
        self.measure_t0 = None;
        self.realign = self.phase == Phase::Track;
    }

    fn set_request(&mut self, ppm: f64, applied: f64) {
        if ppm != self.request {
            self.applied_at_request = applied;
            self.settled_for = None;
            self.periods_since_mark = 0;
        }
        self.request = ppm;
    }

    fn restart_acquisition(&mut self) {
        self.phase = Phase::Prime;
        self.ctrl.unlock();
        self.fit = LineFit::default();
        self.measure_t0 = None;
        self.pad = 0;
        self.settled_for = None;
        self.periods_since_mark = 0;
        self.writer = WriterPhase::NEW;
        self.realign = false;
        if let Some(r) = self.resampler.as_mut() {
            r.reset();
        }
    }

    /// Fills `out` (interleaved, `out.len() / channels` frames, at the
    /// output device's rate) from the ring and runs one control step.
    ///
    /// `now` is this buffer's time stamp on the output device's timeline in
    /// host ticks (the clock of the writer's zero timestamps:
    /// `mach_absolute_time` on macOS, CLOCK_MONOTONIC ns on Linux, the
    /// simulated clock in tests): CoreAudio's IOProc/render time stamp
    /// (`mHostTime`), cpal's `OutputCallbackInfo::timestamp()` — *not* a
    /// clock read in the callback, whose scheduling jitter would become
    /// fill noise and, while resampling, phase modulation of the audio. A
    /// constant offset (e.g. the playback instant instead of the callback's)
    /// only biases the fill. With the driver's zero timestamps it turns the
    /// block-quantised ring count into a continuous fill level (the writer's
    /// progress since its last IO cycle) and times the controller.
    ///
    /// Real-time safe: no allocation, no lock; system calls only if the
    /// writer's seqlock is contended (a yield) — never in the steady state.
    pub fn render(&mut self, reader: &mut Reader, out: &mut [f32], now: u64) -> RenderReport {
        let ch = self.cfg.channels.max(1);
        let n = out.len() / ch;
        let out = &mut out[..n * ch];
        let mut ev = DriftEvents::default();

        if self.phase != Phase::RebuildRequired && reader.format().channels as usize != self.cfg.channels {
            self.phase = Phase::RebuildRequired;
        }
        // A new generation is noticed before measuring (a zero-frame read).
        if self.phase != Phase::RebuildRequired {
            match reader.read(&mut out[..0]) {
                Ok(Read { event: Some(e), .. }) => self.on_ring_event(e, &mut ev),
                Ok(_) => {}
                Err(_) => ev.insert(DriftEvents::RING_ERROR),
            }
        }
        if self.phase == Phase::RebuildRequired || ev.contains(DriftEvents::RING_ERROR) {
            out.fill(0.0);
            ev.insert(if self.phase == Phase::RebuildRequired {
                DriftEvents::REBUILD_REQUIRED
            } else {
                DriftEvents::default()
            });
            return self.report(n, 0, f64::NAN, 0.0, ev);
        }
        let Some(m) = self.measure(reader, n, now, &mut ev) else {
            out.fill(0.0);
            ev.insert(DriftEvents::RING_ERROR);
            return self.report(n, 0, f64::NAN, 0.0, ev);
        };
        let slip = self.control(&m, &mut ev);
        self.actuate(reader);
        let underrun = self.audio(reader, out, slip, &mut ev);
        self.report(n, underrun, m.fill, m.err, ev)
    }

    /// The measure section of [`DriftLoop::render`]: the fill level (the
    /// ring, plus the writer's progress since its last IO cycle, the
    /// resampler's input and the pending pad, frames) against the target,
    /// the time since the last render, the driver's applied clock adjustment
    /// and whether the writer stalled. `None` when the writer's state cannot
    /// be read (a ring error).
    fn measure(&mut self, reader: &mut Reader, n: usize, now: u64, ev: &mut DriftEvents) -> Option<Measurement> {
        let state = reader.writer_state().ok()?;
        let applied = state.clock_adjust_ppm;
        self.applied = applied;
        let tps = if state.host_ticks_per_second > 0.0 { state.host_ticks_per_second } else { 1e9 };
        let dt = match self.last_now {
            Some(prev) => now.wrapping_sub(prev) as i64 as f64 / tps,
            None => n as f64 / self.cfg.output_rate,
        };
        self.last_now = Some(now);
        // Write count and the host time of its IO cycle, as a consistent pair.
        let mut c = reader.writer_counters();
        for _ in 0..3 {
            let c2 = reader.writer_counters();
            if c2.write_count == c.write_count && c2.heartbeat_host_time == c.heartbeat_host_time {
                break;
            }
            c = c2;
        }
        let r = reader.counters().read_count;
        let ring = c.write_count.wrapping_sub(r).min(reader.format().capacity_frames as u64) as f64;
        let tpf = state.host_ticks_per_frame / (1.0 + applied * 1e-6);
        let lag = now as i128 - c.heartbeat_host_time as i128;
        // No IO cycle for 100 ms (≥ 9 cycles of 512 frames at 48 kHz): the writer stopped.
        let stalled = !state.io_running || lag as f64 > 0.1 * tps || tpf.is_nan() || tpf <= 0.0;
        if stalled && !self.stalled {
            ev.insert(DriftEvents::IO_STALLED);
        }
        self.stalled = stalled;
        // The writer's progress since its last IO cycle, on the driver's
        // clock, from the time that cycle was due (not the time its thread
        // happened to run): `offset + sample_time(now) − write_count`.
        let progress = if stalled {
            0.0
        } else {
            let clock =
                DriverClock { sample: state.zts_sample_time, host: state.zts_host_time, tpf, seed: state.zts_seed };
            let offset = self.writer.update(
                clock,
                c.write_count,
                c.heartbeat_host_time,
                self.cfg.writer_phase_filter_s * self.cfg.device_rate,
                self.cfg.writer_jump_frames,
            );
            if offset.is_finite() { offset + clock.sample_at(now) - c.write_count as f64 } else { lag as f64 / tpf }
        };
        let buffered = self
            .resampler
            .as_ref()
            .filter(|_| self.actuator == Actuator::Resampling)
            .map_or(0.0, |r| r.buffered_input_frames());
        let fill = ring + progress + buffered + self.pad as f64;
        Some(Measurement {
            now,
            ticks_per_second: tps,
            dt,
            fill,
            err: fill - self.cfg.target_fill_frames,
            applied,
            zts_sample_time: state.zts_sample_time,
            stalled,
        })
    }

    /// The control section of [`DriftLoop::render`]: one step of the
    /// acquisition (prime → measure → settle → track) and of the PI
    /// controller from a [`Measurement`], without touching the ring. Sets the
    /// correction to ask for (`self.request`, ppm), may fall back from
    /// steering to resampling (the steering probe), and returns the slip to
    /// apply now: frames to drop (> 0) or to pad with silence (< 0).
    fn control(&mut self, m: &Measurement, ev: &mut DriftEvents) -> i64 {
        let Measurement { now, ticks_per_second, dt, fill, err, applied, stalled, .. } = *m;
        let target = self.cfg.target_fill_frames;
        // Zero-timestamp periods (for the steering actuator's lag).
        let new_period = m.zts_sample_time != self.last_zts;
        if new_period {
            self.last_zts = m.zts_sample_time;
            self.periods_since_mark = self.periods_since_mark.saturating_add(1);
        }
        let g = self.cfg.device_rate * 1e-6;
        let steering = self.actuator == Actuator::Steering;
        let actuator_settled = |s: &mut Self| -> bool {
            if !steering {
                return true;
            }
            if (applied - s.request).abs() < 1e-6 {
                // Applied now; the HAL schedules with the new rate from the next period on.
                let k = s.settled_for.get_or_insert(0);
                if new_period {
                    *k += 1;
                }
                *k >= 1
            } else {
                s.settled_for = None;
                false
            }
        };
        let mut slip: i64 = 0;
        if stalled {
            return slip;
        }
        match self.phase {
            Phase::Prime => {
                let req = if self.have_estimate { self.ctrl.integrator() } else { self.request };
                self.set_request(req, applied);
                if fill >= target {
                    self.phase = if self.have_estimate { Phase::Settle } else { Phase::Measure };
                    self.fit = LineFit::default();
                    self.measure_t0 = None;
                }
            }
            Phase::Settle | Phase::Measure if err.abs() > self.cfg.resync_frames => {
                // Drifting too far while acquiring: re-align now, measure again.
                slip = err.round() as i64;
                self.fit = LineFit::default();
                self.measure_t0 = None;
            }
            Phase::Settle => {
                if actuator_settled(self) {
                    if self.have_estimate {
                        // Align the fill once, then track.
                        slip = err.round() as i64;
                        self.ctrl.preset(self.request);
                        self.efilt = [err - slip as f64; 2];
                        self.phase = Phase::Track;
                    } else {
                        self.phase = Phase::Measure;
                    }
                }
            }
            Phase::Measure => {
                if !actuator_settled(self) {
                    self.fit = LineFit::default();
                    self.measure_t0 = None;
                } else {
                    let t0 = *self.measure_t0.get_or_insert(now);
                    let x = now.wrapping_sub(t0) as i64 as f64 / ticks_per_second;
                    self.fit.add(x, err);
                    if x >= self.cfg.measure_s
                        && let Some(slope) = self.fit.slope()
                    {
                        let u_eff = if steering { applied } else { self.request };
                        let skew = u_eff - slope / g;
                        let max = self.cfg.controller.max_ppm;
                        self.have_estimate = true;
                        self.ctrl.preset(skew.clamp(-max, max));
                        self.set_request(self.ctrl.output(), applied);
                        self.phase = Phase::Settle;
                    }
                }
            }
            Phase::Track => {
                if err.abs() > self.cfg.resync_frames || self.realign {
                    self.realign = false;
                    slip = err.round() as i64;
                    self.ctrl.unlock();
                    ev.insert(DriftEvents::LOCK_LOST);
                } else {
                    let e = if steering {
                        err
                    } else {
                        let a = 1.0 - (-dt / self.cfg.resample_error_filter_s.max(1e-6)).exp();
                        self.efilt[0] += (err - self.efilt[0]) * a;
                        self.efilt[1] += (self.efilt[0] - self.efilt[1]) * a;
                        self.efilt[1]
                    };
                    let (u, change) = self.ctrl.update(e, dt);
                    match change {
                        LockChange::Locked => ev.insert(DriftEvents::LOCKED),
                        LockChange::Lost => ev.insert(DriftEvents::LOCK_LOST),
                        LockChange::None => {}
                    }
                    self.request = u;
                    let est = self.ctrl.integrator();
                    if self.ctrl.locked() {
                        self.have_estimate = true;
                    }
                    match self.skew_ref {
                        None if self.ctrl.locked() => self.skew_ref = Some(est),
                        Some(r) if (est - r).abs() > self.cfg.skew_step_ppm => {
                            ev.insert(DriftEvents::SKEW_CHANGED);
                            self.skew_ref = Some(est);
                        }
                        _ => {}
                    }
                }
            }
            Phase::RebuildRequired => {}
        }
        // Steering probe: the driver must move towards a request within a few periods.
        if steering && !self.steering_confirmed {
            let moved = (applied - self.applied_at_request).abs() > 1e-9;
            if moved {
                self.steering_confirmed = true;
            } else if (self.request - applied).abs() > 1e-6 && self.periods_since_mark >= self.cfg.steer_probe_periods {
                ev.insert(DriftEvents::STEERING_UNAVAILABLE);
                if self.resampler.is_some() {
                    // Resampling from now on; `actuate` returns the driver to nominal.
                    self.actuator = Actuator::Resampling;
                    let est = self.request;
                    self.restart_acquisition();
                    self.set_request(est, applied);
                    self.phase = Phase::Measure;
                    self.have_estimate = false;
                } else {
                    self.steering_confirmed = true; // reported once; keep asking
                }
            }
        }
        slip
    }

    /// Hands the correction to the actuator: the driver's clock (steering,
    /// through the reader segment) or the resampler's ratio (the driver then
    /// runs at nominal).
    fn actuate(&mut self, reader: &mut Reader) {
        match self.actuator {
            Actuator::Steering => reader.set_clock_adjust_ppm(self.request),
            Actuator::Resampling => {
                // The driver runs at nominal: a request left by an earlier
                // (steering) loop on this reader must not go on steering it.
                reader.set_clock_adjust_ppm(0.0);
                if let Some(r) = self.resampler.as_mut() {
                    r.set_correction_ppm(self.request);
                }
            }
        }
    }

    /// The audio section of [`DriftLoop::render`]: applies `slip` (bounded to
    /// a ring's worth), then fills `out` (interleaved, frames × channels)
    /// from the ring, through the resampler when it is the actuator; silence
    /// while priming. Returns the frames the ring could not supply.
    fn audio(&mut self, reader: &mut Reader, out: &mut [f32], slip: i64, ev: &mut DriftEvents) -> usize {
        let ch = self.cfg.channels.max(1);
        let n = out.len() / ch;
        let mut underrun = 0usize;
        // Never more than a ring's worth either way: the fill comes from
        // fields of the writer's segment, which a corrupt or hostile peer
        // may fill with anything (an absurd fill must give a bounded slip,
        // not an overflow or years of padding).
        let slip = bounded_slip(slip, reader.format().capacity_frames);
        if slip != 0 {
            ev.insert(DriftEvents::SLIP);
            if slip > 0 {
                self.discard(reader, slip as usize, ev);
            } else {
                self.pad += (-slip) as usize;
            }
        }
        if self.phase == Phase::Prime {
            out.fill(0.0);
        } else {
            match self.actuator {
                Actuator::Steering => underrun += self.pull(reader, out, n, ev),
                Actuator::Resampling => {
                    let mut done = 0;
                    while done < n && self.resampler.is_some() {
                        let max = self.resampler.as_ref().map_or(n, |r| r.max_output_frames());
                        let k = (n - done).min(max);
                        let need = self.resampler.as_mut().map_or(0, |r| r.input_needed(k));
                        let mut scratch = std::mem::take(&mut self.scratch);
                        underrun += self.pull(reader, &mut scratch[..need * ch], need, ev);
                        if let Some(r) = self.resampler.as_mut() {
                            r.process(&scratch[..need * ch], &mut out[done * ch..(done + k) * ch]);
                        }
                        self.scratch = scratch;
                        done += k;
                        if matches!(self.phase, Phase::Prime | Phase::RebuildRequired) {
                            break;
                        }
                    }
                    if done < n {
                        out[done * ch..].fill(0.0);
                    }
                }
            }
        }
        if underrun > 0 {
            ev.insert(DriftEvents::UNDERRUN);
            reader.note_underrun(underrun as u64);
        }
        underrun
    }

    fn report(&self, n: usize, underrun: usize, fill: f64, err: f64, events: DriftEvents) -> RenderReport {
        RenderReport {
            frames: n,
            underrun_frames: underrun,
            fill_frames: fill,
            fill_error_frames: err,
            correction_ppm: self.request,
            applied_ppm: self.applied,
            locked: self.ctrl.locked() && self.phase == Phase::Track,
            actuator: self.actuator,
            phase: self.phase,
            events,
        }
    }

    fn on_ring_event(&mut self, e: RingEvent, ev: &mut DriftEvents) {
        match e {
            RingEvent::Overrun { .. } => ev.insert(DriftEvents::RING_OVERRUN),
            RingEvent::NewGeneration { format, format_changed, .. } => {
                ev.insert(DriftEvents::NEW_GENERATION);
                if format_changed
                    || format.sample_rate != self.cfg.device_rate
                    || format.channels as usize != self.cfg.channels
                {
                    self.phase = Phase::RebuildRequired;
                    ev.insert(DriftEvents::REBUILD_REQUIRED);
                } else {
                    self.restart_acquisition();
                }
            }
        }
    }

    /// Reads `frames` device-rate frames into `dst` (pending pad first, then
    /// the ring); zero-fills what is missing. Returns the missing frames.
    fn pull(&mut self, reader: &mut Reader, dst: &mut [f32], frames: usize, ev: &mut DriftEvents) -> usize {
        let ch = self.cfg.channels.max(1);
        let mut got = self.pad.min(frames);
        dst[..got * ch].fill(0.0);
        self.pad -= got;
        while got < frames {
            match reader.read(&mut dst[got * ch..frames * ch]) {
                Ok(Read { frames: k, event }) => {
                    got += k;
                    match event {
                        Some(e) => {
                            self.on_ring_event(e, ev);
                            if self.phase == Phase::Prime || self.phase == Phase::RebuildRequired {
                                dst[..frames * ch].fill(0.0);
                                return 0;
                            }
                        }
                        None if k == 0 => break,
                        None => {}
                    }
                }
                Err(_) => {
                    ev.insert(DriftEvents::RING_ERROR);
                    break;
                }
            }
        }
        dst[got * ch..frames * ch].fill(0.0);
        frames - got
    }

    /// Drops up to `frames` frames from the ring (a positive slip).
    fn discard(&mut self, reader: &mut Reader, frames: usize, ev: &mut DriftEvents) {
        let ch = self.cfg.channels.max(1);
        let cap = self.scratch.len() / ch;
        let mut left = frames;
        let mut scratch = std::mem::take(&mut self.scratch);
        while left > 0 {
            let k = left.min(cap);
            match reader.read(&mut scratch[..k * ch]) {
                Ok(Read { frames: 0, event: None }) => break,
                Ok(Read { frames, event }) => {
                    left -= frames.min(left);
                    if let Some(e) = event {
                        self.on_ring_event(e, ev);
                        break;
                    }
                }
                Err(_) => {
                    ev.insert(DriftEvents::RING_ERROR);
                    break;
                }
            }
        }
        self.scratch = scratch;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_absurd_fill_gives_a_slip_of_at_most_the_ring() {
        // what `err.round() as i64` gives for a fill of ±1e300 or ±inf frames
        for (err, want) in [
            (1e300, 32768),
            (-1e300, -32768),
            (f64::INFINITY, 32768),
            (f64::NEG_INFINITY, -32768),
            (f64::NAN, 0),
            (-700.4, -700),
        ] {
            let slip = bounded_slip(err.round() as i64, 32768);
            assert_eq!(slip, want, "{err}");
            assert!(slip.checked_neg().is_some(), "negating it cannot overflow");
        }
    }

    // ---- the control section, without a ring ------------------------------------------

    /// A resampling loop (the driver is not steered: the request acts at once).
    fn resampling_loop() -> DriftLoop {
        let mut cfg = DriftConfig::new(2, 48_000.0, 48_000.0);
        cfg.actuator = ActuatorChoice::Resample;
        DriftLoop::new(cfg).unwrap()
    }

    /// A measurement at `t` seconds (ns ticks) of a fill `fill` frames, 10 ms after the last.
    fn at(t: f64, fill: f64) -> Measurement {
        Measurement {
            now: (t * 1e9) as u64,
            ticks_per_second: 1e9,
            dt: 0.01,
            fill,
            err: fill - 1536.0,
            applied: 0.0,
            zts_sample_time: 0.0,
            stalled: false,
        }
    }

    #[test]
    fn control_primes_then_measures_the_skew_from_the_fill_slope() {
        let mut d = resampling_loop();
        let mut ev = DriftEvents::default();
        assert_eq!(d.control(&at(0.0, 100.0), &mut ev), 0);
        assert_eq!(d.phase(), Phase::Prime, "below the target fill: still priming");
        assert_eq!(d.control(&at(0.01, 1536.0), &mut ev), 0);
        assert_eq!(d.phase(), Phase::Measure);
        // The writer is 20 ppm fast: the fill grows by 20e-6 × 48000 = 0.96 frames/s,
        // so the loop must ask for −20 ppm (+ppm = the driver's clock faster).
        let mut t = 0.02;
        while d.phase() == Phase::Measure {
            let slip = d.control(&at(t, 1536.0 + 0.96 * (t - 0.02)), &mut ev);
            assert_eq!(slip, 0);
            t += 0.01;
            assert!(t < 2.0, "measured for too long");
        }
        assert_eq!(d.phase(), Phase::Settle);
        assert!((d.request + 20.0).abs() < 0.01, "skew estimate {} ppm", d.request);
        assert!((d.controller().integrator() + 20.0).abs() < 0.01);
        // Settle (resampling settles at once): align the fill by a slip, then track.
        let slip = d.control(&at(t, 1536.0 + 40.0), &mut ev);
        assert_eq!(slip, 40, "the fill's excess is dropped once");
        assert_eq!(d.phase(), Phase::Track);
    }

    #[test]
    fn control_resyncs_a_fill_error_beyond_the_threshold_and_does_nothing_while_stalled() {
        let mut d = resampling_loop();
        let mut ev = DriftEvents::default();
        d.control(&at(0.0, 1536.0), &mut ev);
        assert_eq!(d.phase(), Phase::Measure);
        // 1000 frames over the target (threshold 768): slip them at once, measure again.
        assert_eq!(d.control(&at(0.01, 2536.0), &mut ev), 1000);
        assert_eq!(d.phase(), Phase::Measure);
        // A stalled writer: no step at all, whatever the fill says.
        let before = d.request;
        let stalled = Measurement { stalled: true, ..at(0.02, 9000.0) };
        assert_eq!(d.control(&stalled, &mut ev), 0);
        assert_eq!((d.phase(), d.request), (Phase::Measure, before));
        assert!(!ev.contains(DriftEvents::LOCK_LOST));
    }

    #[test]
    fn control_falls_back_to_resampling_when_the_driver_ignores_steering() {
        let mut d = DriftLoop::new(DriftConfig::new(2, 48_000.0, 48_000.0)).unwrap();
        assert_eq!(d.actuator(), Actuator::Steering);
        d.request = 30.0; // asked for; the driver keeps applying 0
        let mut ev = DriftEvents::default();
        for k in 0..8 {
            // A new zero-timestamp period each time, applied stays 0.
            let m = Measurement { zts_sample_time: 16384.0 * (k + 1) as f64, ..at(0.01 * k as f64, 100.0) };
            d.control(&m, &mut ev);
        }
        assert!(ev.contains(DriftEvents::STEERING_UNAVAILABLE));
        assert_eq!(d.actuator(), Actuator::Resampling);
        assert_eq!(d.phase(), Phase::Measure, "acquisition restarts on the resampler");
    }

    const TPF: f64 = 1e9 / 48_000.0;
    const N: u64 = 512;

    /// A driver clock anchored at sample `s` at host time `h`, nominal rate.
    fn clock(s: f64, h: u64) -> DriverClock {
        DriverClock { sample: s, host: h, tpf: TPF, seed: 1 }
    }

    /// Deterministic lateness in 0..max_us µs, host ticks.
    fn lateness(k: u64, max_us: f64) -> u64 {
        let x = (k.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11) as f64 / (1u64 << 53) as f64;
        (x * max_us * 1e3) as u64
    }

    /// IO cycle k of a writer `lead` frames ahead of the clock, `late` µs at most.
    fn cycle(k: u64, lead: u64, max_us: f64) -> (u64, u64) {
        let ideal = (k * N) as f64 * TPF;
        (k * N + lead, ideal as u64 + lateness(k, max_us))
    }

    #[test]
    fn averages_the_lateness_out_of_a_constant_offset() {
        let mut w = WriterPhase::NEW;
        let c = clock(0.0, 0);
        let mut last = f64::NAN;
        let mut max_step: f64 = 0.0;
        for k in 1..20_000 {
            let (wc, hb) = cycle(k, 1024, 100.0);
            let o = w.update(c, wc, hb, TAU, 256.0);
            if k > 3000 {
                max_step = max_step.max((o - last).abs());
            }
            last = o;
        }
        // Observations scatter over 1024 − [0, 4.8) frames; the estimate sits
        // at their mean and moves by less than 1e-4 frames per cycle.
        assert!((last - (1024.0 - 2.4)).abs() < 0.1, "estimate {last}");
        assert!(max_step < 1e-4, "step {max_step}");
    }

    /// Per-stage time constant of the writer-phase tests: 5 s at 48 kHz, frames.
    const TAU: f64 = 5.0 * 48_000.0;

    /// A writer phase fed cycles 1..`cycles` (1024-frame lead, on time) on `c`.
    fn settled(c: DriverClock, cycles: u64) -> WriterPhase {
        let mut w = WriterPhase::NEW;
        for k in 1..cycles {
            let (wc, hb) = cycle(k, 1024, 0.0);
            w.update(c, wc, hb, TAU, 256.0);
        }
        w
    }

    #[test]
    fn a_re_anchored_timeline_reseeds_from_the_first_cycle_run_on_it() {
        let c0 = clock(0.0, 0);
        let mut w = settled(c0, 1000);
        let (w_last, h_last) = cycle(999, 1024, 0.0);
        // StopIO, 0.5 s, StartIO: sample time 0 again, the write count goes on.
        let h1 = h_last + 500_000_000;
        let c1 = clock(0.0, h1);
        assert!(w.update(c1, w_last, h_last, TAU, 256.0).is_nan(), "the old cycle must not seed the new timeline");
        // The first cycle after StartIO writes N frames (one buffer lead on the new timeline).
        let o = w.update(c1, w_last + N, h1 + 1000, TAU, 256.0);
        let expect = (w_last + N) as f64 - c1.sample_at(h1 + 1000);
        assert!((o - expect).abs() < 1e-9, "{o} vs {expect}");
    }

    #[test]
    fn a_steered_timeline_is_continuous_and_keeps_the_estimate() {
        let c0 = clock(0.0, 0);
        let mut w = settled(c0, 100);
        // Re-anchored at the period boundary 16384 with +100 ppm: same timeline.
        let b = 16384.0;
        let c1 = DriverClock { sample: b, host: (b * TPF) as u64, tpf: TPF / 1.0001, seed: 1 };
        let (wc, hb) = cycle(99, 1024, 0.0);
        let o = w.update(c1, wc, hb, TAU, 256.0);
        assert!((o - 1024.0).abs() < 0.01, "{o}");
    }

    #[test]
    fn one_very_late_cycle_is_ignored_and_dropped_frames_reseed() {
        let c = clock(0.0, 0);
        let mut w = settled(c, 1000);
        // 10 ms late (480 frames): ignored.
        let (wc, hb) = cycle(1000, 1024, 0.0);
        let o = w.update(c, wc, hb + 10_000_000, TAU, 256.0);
        assert!((o - 1024.0).abs() < 1e-3, "{o}");
        // The ring was full for a while: 2048 frames dropped for good. Three
        // cycles agree → reseed.
        let mut o = 0.0;
        for k in 1001..1004 {
            let (wc, hb) = cycle(k, 1024, 0.0);
            o = w.update(c, wc - 2048, hb, TAU, 256.0);
        }
        assert!((o - (1024.0 - 2048.0)).abs() < 1e-3, "{o}");
        // A writer ahead of the estimate is never lateness: reseeds at once.
        let (wc, hb) = cycle(1004, 1024, 0.0);
        let o = w.update(c, wc + 4096, hb, TAU, 256.0);
        assert!((o - (1024.0 + 4096.0)).abs() < 1e-3, "{o}");
    }
}
