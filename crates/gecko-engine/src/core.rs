//! The engine's core: ring → (drift loop) → DSP chain → recording queue,
//! with control in and telemetry out through lock-free `ringbuf` queues.
//!
//! The same core is driven two ways:
//! - [`RtCore::render`]: from the output device's real-time callback; the
//!   drift loop ([`gecko_drift::DriftLoop`]) paces the ring against the
//!   device's clock (clock steering or adaptive resampling).
//! - [`RtCore::pump`]: from an ordinary thread for headless runs (recording
//!   only): reads whatever the ring holds, loses nothing, no drift control.
//!
//! `render` never allocates, locks or blocks (tested under `assert_no_alloc`).

use crate::recorder::RecorderTx;
use gecko_drift::{Actuator, DriftEvents, DriftLoop, Phase, RenderReport};
use gecko_dsp::{Chain, ChainParams, MeterSnapshot};
use gecko_ring::{Reader, RingError, RingEvent, RingFormat};
use ringbuf::traits::{Consumer, Producer};
use ringbuf::{HeapCons, HeapProd};

/// A command for the audio thread (plain `Copy` data: no allocation to send).
#[derive(Debug, Clone, Copy, PartialEq)]
#[allow(
    clippy::large_enum_variant,
    reason = "sent by value through a pre-allocated queue: boxing the chain's parameters would allocate on the control thread and free on the audio thread"
)]
pub enum Control {
    /// New DSP parameters (gain, EQ, limiter, meters), applied smoothly.
    Chain(ChainParams),
    /// The device's volume (linear gain, 0..=1) and mute, as the driver publishes them.
    Device {
        /// Linear gain.
        volume: f32,
        /// Mute.
        mute: bool,
    },
    /// The signal of Gecko Sink's input stream, passed on to the driver
    /// (`None`: no preference, the driver keeps its own).
    Loopback(Option<gecko_ring::Tap>),
}

/// What the audio thread reports, a few times a second (plain `Copy` data).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Telemetry {
    /// Meters of the processed stream (peak/RMS window since the last telemetry; loudness).
    pub meters: MeterSnapshot,
    /// Frames read from the ring so far (device rate).
    pub frames_in: u64,
    /// Frames produced for the output (output rate) so far.
    pub frames_out: u64,
    /// Frames the ring holds (+ resampler backlog), device rate.
    pub fill_frames: f64,
    /// Drift correction asked for, ppm.
    pub correction_ppm: f64,
    /// Clock adjustment the driver applies, ppm.
    pub applied_ppm: f64,
    /// Drift loop locked.
    pub locked: bool,
    /// Drift actuator (None in pump mode).
    pub actuator: Option<Actuator>,
    /// Drift acquisition phase (None in pump mode).
    pub phase: Option<Phase>,
    /// Underrun frames so far (silence played because the ring was short).
    pub underrun_frames: u64,
    /// Drift events since the previous telemetry.
    pub events: DriftEvents,
    /// Whether the driver's IO is running.
    pub io_running: bool,
    /// Frames the recorder dropped so far (disk too slow).
    pub record_dropped: u64,
    /// Output frames (output rate) since the last one with a sample above
    /// [`crate::idle::SILENCE`]: how long the output has been silent (0 in
    /// pump mode). The idle policy waits for the chain's tail to play out.
    pub silent_frames: u64,
}

/// Totals the control thread reads when the run ends.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CoreTotals {
    /// Frames read from the ring.
    pub frames_in: u64,
    /// Frames produced.
    pub frames_out: u64,
    /// Underrun frames.
    pub underrun_frames: u64,
    /// Laps and resyncs the reader went through.
    pub reader_overruns: u64,
    /// New writer generations followed.
    pub generations: u64,
}

/// A chain for a new ring `format` that keeps the settings in effect
/// (`current`, live edits included) or, if they do not fit the new rate (an
/// EQ band above its Nyquist frequency), `fallback` (the engine's start-up
/// settings). Allocates: for the control thread. Errors only when neither fits.
pub fn chain_for_format(
    format: RingFormat,
    current: &ChainParams,
    fallback: &ChainParams,
) -> Result<Chain, gecko_dsp::ChainError> {
    let (rate, channels) = (format.sample_rate.round() as u32, format.channels as usize);
    Chain::new(rate, channels, current).or_else(|e| {
        tracing::warn!("the current settings do not fit {rate} Hz ({e}); using the start-up settings");
        Chain::new(rate, channels, fallback)
    })
}

/// See the module docs.
pub struct RtCore {
    pub(crate) reader: Reader,
    pub(crate) drift: Option<DriftLoop>,
    pub(crate) chain: Chain,
    pub(crate) recorder: Option<RecorderTx>,
    ctl_rx: HeapCons<Control>,
    tel_tx: HeapProd<Telemetry>,
    channels: usize,
    telemetry_every: u64,
    since_telemetry: u64,
    events: DriftEvents,
    last: Option<RenderReport>,
    pub(crate) totals: CoreTotals,
    /// The drift loop reported invalid ring contents (the control thread stops).
    pub(crate) ring_fault: bool,
    /// The ring's format changed; the control thread must rebuild the core.
    pub(crate) rebuild: Option<RingFormat>,
    /// Pump mode: frames still to trim from the start (chain latency).
    trim: usize,
    /// The reader's read count when this core was built.
    read_base: u64,
    /// Trailing silent output frames ([`Telemetry::silent_frames`]).
    silent_frames: u64,
    /// The loopback segment: every frame rendered goes here too, for the
    /// driver's post tap (set by the control thread when the output plays at
    /// Gecko Sink's rate; `None` otherwise and in pump mode).
    pub(crate) loopback: Option<gecko_ring::LoopbackWriter>,
    /// Nanoseconds per host tick (the loopback's heartbeat).
    ns_per_tick: f64,
}

impl RtCore {
    /// Assembles a core (allocates; do it off the audio thread): the attached
    /// `reader`, a drift loop for real-time use (`None` for pump mode), the
    /// chain, an optional recorder, the control queue's consumer and the
    /// telemetry queue's producer. `telemetry_every` is in output frames
    /// (e.g. 2400 = 50 ms at 48 kHz).
    pub fn new(
        reader: Reader,
        drift: Option<DriftLoop>,
        chain: Chain,
        recorder: Option<RecorderTx>,
        ctl_rx: HeapCons<Control>,
        tel_tx: HeapProd<Telemetry>,
        telemetry_every: u64,
    ) -> RtCore {
        let channels = reader.format().channels as usize;
        let trim = if drift.is_none() { chain.latency_frames() } else { 0 };
        let read_base = reader.counters().read_count;
        let ns_per_tick = reader.writer_state().map_or(1.0, |s| 1e9 / s.host_ticks_per_second);
        RtCore {
            loopback: None,
            ns_per_tick,
            read_base,
            reader,
            drift,
            chain,
            recorder,
            ctl_rx,
            tel_tx,
            channels,
            telemetry_every: telemetry_every.max(1),
            since_telemetry: 0,
            events: DriftEvents::default(),
            last: None,
            totals: CoreTotals::default(),
            ring_fault: false,
            rebuild: None,
            trim,
            silent_frames: 0,
        }
    }

    /// Gives the core the loopback segment every rendered frame also goes to
    /// (the driver's post tap), or takes it away (`None`; the old segment is
    /// removed). The control thread does this while the output plays at
    /// Gecko Sink's own rate; tests set it directly.
    pub fn set_loopback(&mut self, loopback: Option<gecko_ring::LoopbackWriter>) {
        self.loopback = loopback;
    }

    /// Takes the loopback segment away without removing it (as a crashed
    /// engine leaves it); dropping the returned writer removes it.
    pub fn take_loopback(&mut self) -> Option<gecko_ring::LoopbackWriter> {
        self.loopback.take()
    }

    /// Takes the recorder (to finish the recording: [`RecorderTx::finish`]).
    pub fn take_recorder(&mut self) -> Option<RecorderTx> {
        self.recorder.take()
    }

    /// Rebuilds the chain for a new ring `format` (control thread; allocates)
    /// with [`chain_for_format`], and clears the pending rebuild.
    pub(crate) fn rebuild_chain(
        &mut self,
        format: RingFormat,
        fallback: &ChainParams,
    ) -> Result<(), gecko_dsp::ChainError> {
        self.chain = chain_for_format(format, self.chain.params(), fallback)?;
        self.channels = format.channels as usize;
        self.rebuild = None;
        Ok(())
    }

    /// Applies the queued [`Control`]s (every render and pump does; the
    /// control thread does while the output is idle and nothing renders).
    pub(crate) fn apply_controls(&mut self) {
        while let Some(c) = self.ctl_rx.try_pop() {
            match c {
                // Validated by the sender; an invalid value is ignored here.
                Control::Chain(p) => {
                    let _ = self.chain.set_params(&p);
                }
                Control::Device { volume, mute } => self.chain.set_device(volume, mute),
                Control::Loopback(tap) => self.reader.set_loopback_tap(tap),
            }
        }
    }

    /// The real-time render: fills `out` (interleaved, the output device's
    /// rate and the ring's channel count) from the ring through the drift
    /// loop, processes it, queues it for the recorder, and sends telemetry.
    /// `now` is the host time in host ticks (the driver's clock).
    pub fn render(&mut self, out: &mut [f32], now: u64) {
        self.apply_controls();
        let Some(drift) = self.drift.as_mut() else {
            out.fill(0.0);
            return;
        };
        if self.rebuild.is_some() || self.ring_fault {
            out.fill(0.0);
            return;
        }
        let r = drift.render(&mut self.reader, out, now);
        self.totals.underrun_frames += r.underrun_frames as u64;
        if r.events.contains(DriftEvents::NEW_GENERATION) {
            self.totals.generations += 1;
        }
        if r.events.contains(DriftEvents::RING_OVERRUN) {
            self.totals.reader_overruns += 1;
        }
        if r.events.contains(DriftEvents::RING_ERROR) {
            self.ring_fault = true;
        }
        if r.events.contains(DriftEvents::REBUILD_REQUIRED) {
            self.rebuild = Some(self.reader.format());
        }
        self.events.insert(r.events);
        self.last = Some(r);
        let frames = out.len() / self.channels;
        self.totals.frames_out += frames as u64;
        self.totals.frames_in = self.reader.counters().read_count.wrapping_sub(self.read_base);
        self.process_and_record(out, false);
        if let Some(lp) = self.loopback.as_mut() {
            lp.write(out, (now as f64 * self.ns_per_tick) as u64);
        }
        self.note_silence(out, frames);
        self.since_telemetry += frames as u64;
        if self.since_telemetry >= self.telemetry_every {
            self.since_telemetry = 0;
            self.send_telemetry();
        }
    }

    /// Counts the output's trailing silent frames: `out` (interleaved,
    /// `frames` frames) as it will be played. NaN counts as sound.
    fn note_silence(&mut self, out: &[f32], frames: usize) {
        let loud = |x: &f32| x.abs() > crate::idle::SILENCE || x.is_nan();
        match out.iter().rposition(loud) {
            None => self.silent_frames += frames as u64,
            Some(i) => self.silent_frames = (frames - 1 - i / self.channels.max(1)) as u64,
        }
    }

    fn process_and_record(&mut self, block: &mut [f32], lossless: bool) {
        self.chain.process(block, self.channels);
        // Pump mode: drop the chain's latency from the start so the recording
        // lines up with the input sample for sample.
        let skip = (self.trim * self.channels).min(block.len());
        self.trim -= skip / self.channels;
        let block = &block[skip..];
        if let Some(rec) = self.recorder.as_mut() {
            if lossless {
                rec.push_all(block);
            } else {
                rec.push(block);
            }
        }
    }

    fn send_telemetry(&mut self) {
        let meters = self.chain.take_snapshot();
        let r = self.last;
        let t = Telemetry {
            meters,
            frames_in: self.totals.frames_in,
            frames_out: self.totals.frames_out,
            fill_frames: r.map_or(0.0, |r| r.fill_frames),
            correction_ppm: r.map_or(0.0, |r| r.correction_ppm),
            applied_ppm: r.map_or(0.0, |r| r.applied_ppm),
            locked: r.is_some_and(|r| r.locked),
            actuator: r.map(|r| r.actuator),
            phase: r.map(|r| r.phase),
            underrun_frames: self.totals.underrun_frames,
            events: std::mem::take(&mut self.events),
            io_running: self.reader.io_running(),
            record_dropped: self.recorder.as_ref().map_or(0, |r| r.frames_dropped()),
            silent_frames: self.silent_frames,
        };
        // If the control thread is slow, drop this one (telemetry is lossy by design).
        let _ = self.tel_tx.try_push(t);
    }

    /// Pump mode (not real-time): reads up to `buf.len() / channels` frames
    /// that the ring holds, processes and records them (waiting for the
    /// recorder rather than losing audio). Returns the frames read and any
    /// ring event.
    pub fn pump(&mut self, buf: &mut [f32]) -> Result<(usize, Option<RingEvent>), RingError> {
        self.apply_controls();
        let rd = self.reader.read(buf)?;
        match rd.event {
            Some(RingEvent::Overrun { .. }) => self.totals.reader_overruns += 1,
            Some(RingEvent::NewGeneration { format_changed, format, .. }) => {
                self.totals.generations += 1;
                if format_changed {
                    self.rebuild = Some(format);
                }
            }
            None => {}
        }
        if rd.frames > 0 {
            let block = &mut buf[..rd.frames * self.channels];
            self.totals.frames_in += rd.frames as u64;
            self.totals.frames_out += rd.frames as u64;
            self.process_and_record(block, true);
        }
        Ok((rd.frames, rd.event))
    }

    /// Pump mode, at the end of the stream: pushes the chain's latency worth
    /// of silence through it so the last input frames reach the recording.
    pub fn flush(&mut self) {
        let latency = self.chain.latency_frames();
        let mut zeros = [0f32; 1024];
        let mut left = latency;
        while left > 0 {
            let n = left.min(zeros.len() / self.channels);
            zeros.fill(0.0);
            self.chain.process(&mut zeros[..n * self.channels], self.channels);
            if let Some(rec) = self.recorder.as_mut() {
                rec.push_all(&zeros[..n * self.channels]);
            }
            left -= n;
        }
    }

    /// Totals so far.
    pub fn totals(&self) -> CoreTotals {
        self.totals
    }

    /// The current meters (whole-run peak/RMS: [`Chain::run_reading`]).
    pub fn snapshot(&self) -> MeterSnapshot {
        self.chain.snapshot()
    }

    /// Pump-mode telemetry, sent directly (the pump is the control thread).
    pub(crate) fn pump_telemetry(&mut self) -> Telemetry {
        Telemetry {
            meters: self.chain.take_snapshot(),
            frames_in: self.totals.frames_in,
            frames_out: self.totals.frames_out,
            fill_frames: self.reader.available() as f64,
            correction_ppm: 0.0,
            applied_ppm: 0.0,
            locked: false,
            actuator: None,
            phase: None,
            underrun_frames: 0,
            events: DriftEvents::default(),
            io_running: self.reader.io_running(),
            record_dropped: self.recorder.as_ref().map_or(0, |r| r.frames_dropped()),
            silent_frames: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gecko_dsp::{EqBand, EqParams, FilterType};

    fn format(rate: f64) -> RingFormat {
        RingFormat {
            channels: 2,
            sample_rate: rate,
            capacity_frames: 16384,
            generation: 2,
            header_size: 4096,
            writer_pid: 1,
        }
    }

    #[test]
    fn a_new_format_keeps_the_live_settings_or_falls_back_when_they_do_not_fit() {
        let startup = ChainParams::default();
        let band = EqBand {
            kind: FilterType::Peaking,
            freq_hz: 30_000.0,
            q: 1.0,
            gain_db: 3.0,
            enabled: true,
            ..EqBand::default()
        };
        let live = ChainParams { gain_db: -9.0, mute: true, ..ChainParams::default() };
        let c = chain_for_format(format(96_000.0), &live, &startup).unwrap();
        assert_eq!((c.sample_rate(), *c.params()), (96_000, live), "live edits survive a rate change");
        // A 30 kHz band fits 96 kHz but not 48 kHz: the start-up settings are used.
        let high = ChainParams { eq: EqParams::from_bands(&[band]), ..live };
        let c = chain_for_format(format(48_000.0), &high, &startup).unwrap();
        assert_eq!(*c.params(), startup);
        assert!(chain_for_format(format(48_000.0), &high, &high).is_err());
    }
}
