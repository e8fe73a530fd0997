//! The engine's run loop, on the caller's (control) thread: attach, then
//! either play through the output device's real-time callback
//! ([`RunCtx::realtime`]) or, headless, pump the core itself
//! ([`RunCtx::pump`]). Both share one housekeeping tick
//! ([`RunCtx::housekeeping`], every [`TICK`]), one format-change rule
//! ([`RunCtx::format_changed`]) and one idle policy ([`crate::idle`]):
//! while the driver's IO is stopped the output is paused or closed and the
//! loop ticks at [`idle::HEARTBEAT`].

use crate::core::{Control, CoreTotals, RtCore, Telemetry};
use crate::follow::{Decision, DeviceSnapshot, Follower, MoveReason, Wanted};
use crate::idle::{self, IdlePolicy, IdleStats, Playing};
use crate::output::{self, OutputError, OutputReport, OutputStream};
use crate::recorder::{self, RecordReport, RecorderTx};
use crate::slot::CoreSlot;
use crate::{EngineConfig, EngineError, EngineProgress, EngineReport, OutputRequests, Playback, watch};
use gecko_drift::{DriftConfig, DriftLoop, Phase};
use gecko_dsp::{Chain, ChainParams};
use gecko_ring::{AttachOptions, LoopbackCounters, Reader, RingError, RingFormat, WriterCounters};
use ringbuf::HeapRb;
use ringbuf::traits::{Consumer, Producer, Split};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How often the control thread does its housekeeping: device volume/mute
/// and new settings to the audio side, progress to the caller.
pub(crate) const TICK: Duration = Duration::from_millis(100);

/// Attaches and runs (see [`crate::run_with_outputs`]).
pub(crate) fn run(
    config: &EngineConfig,
    cancel: &AtomicBool,
    mut controls: impl FnMut() -> Option<ChainParams>,
    mut progress: impl FnMut(&EngineProgress),
    outputs: &dyn OutputRequests,
) -> Result<EngineReport, EngineError> {
    let started = Instant::now();
    // The audio callback reads the host clock: resolve it here, off the audio thread.
    gecko_ring::host_clock::init();
    let reader = attach(config, cancel)?;
    let format = reader.format();
    config.settings.validate(format.sample_rate)?;
    tracing::info!(name = %config.shm_name, channels = format.channels, rate = format.sample_rate, generation = format.generation, "attached");
    let peek = gecko_ring::Peek::open(&config.shm_name).ok();
    let recorder = match &config.record {
        // 10 s of queue: the recorder thread writes far faster than real time.
        Some(path) => Some(recorder::start(
            path,
            format.channels as u16,
            format.sample_rate.round() as u32,
            (format.sample_rate * 10.0) as usize,
        )?),
        None => None,
    };
    let selected = match &config.settings.playback {
        Playback::None => Err("playback disabled".to_owned()),
        Playback::Default => {
            output::select(None, format.channels as u16, format.sample_rate.round() as u32).map_err(|e| match e {
                e @ OutputError::FeedbackLoop(_) => e.to_string(),
                e => {
                    tracing::warn!("no playback: {e}");
                    e.to_string()
                }
            })
        }
        Playback::Device(name) => {
            Ok(output::select(Some(name), format.channels as u16, format.sample_rate.round() as u32)?)
        }
    };
    let mut ctx = RunCtx {
        config,
        cancel,
        started,
        peek,
        format,
        controls: &mut controls,
        progress: &mut progress,
        outputs,
        loopback_note: AtomicBool::new(false),
        post_available: AtomicBool::new(false),
        loopback_sent: None,
    };
    match selected {
        Ok(sel) => {
            outputs.set_accepting(true);
            let r = ctx.realtime(reader, recorder, sel);
            outputs.set_accepting(false);
            // A request that arrived as the engine stopped.
            if let Some((id, _)) = outputs.take() {
                outputs.finish(id, Err("the engine stopped".into()));
            }
            r
        }
        Err(why) => ctx.pump(reader, recorder, why),
    }
}

struct RunCtx<'a, C, P> {
    config: &'a EngineConfig,
    cancel: &'a AtomicBool,
    started: Instant,
    peek: Option<gecko_ring::Peek>,
    format: RingFormat,
    controls: &'a mut C,
    progress: &'a mut P,
    outputs: &'a dyn OutputRequests,
    /// The "post tap unavailable at this rate" note was logged.
    loopback_note: AtomicBool,
    /// The core has a loopback segment (the post tap is fed).
    post_available: AtomicBool,
    /// The loopback tap last sent to the audio side ([`EngineConfig::loopback`]).
    loopback_sent: Option<u32>,
}

impl<C: FnMut() -> Option<ChainParams>, P: FnMut(&EngineProgress)> RunCtx<'_, C, P> {
    /// The driver's ring counters and what its input stream (the loopback) did.
    fn ring_counters(&mut self) -> (WriterCounters, LoopbackCounters) {
        self.peek.as_mut().and_then(|p| p.status().ok()).map(|s| (s.writer, s.loopback)).unwrap_or_default()
    }

    /// Gives `core` the loopback segment (the driver's post tap: every frame
    /// the engine plays) when the output plays at Gecko Sink's own rate
    /// (`out_rate` Hz), so its frames run on the device's clock; at another
    /// rate there is none (the post tap is then silent). Control thread
    /// (allocates, creates shared memory); a failure is logged, not fatal.
    fn attach_loopback(&self, core: &mut RtCore, out_rate: u32) {
        let rate = self.format.sample_rate;
        if (out_rate as f64 - rate).abs() >= 0.5 {
            self.post_available.store(false, Ordering::Relaxed);
            if core.loopback.take().is_some() || !self.loopback_note.swap(true, Ordering::Relaxed) {
                tracing::info!(
                    "the output plays at {out_rate} Hz, Gecko Sink at {rate} Hz: the post loopback tap is silent until they match"
                );
            }
            return;
        }
        if core.loopback.as_ref().is_some_and(|l| l.channels() == self.format.channels as usize) {
            self.post_available.store(true, Ordering::Relaxed);
            return;
        }
        core.loopback = match gecko_ring::LoopbackWriter::create(
            &self.config.shm_name,
            self.format.channels,
            rate,
            gecko_ring::LoopbackWriter::DEFAULT_CAPACITY_FRAMES,
        ) {
            Ok(l) => Some(l),
            Err(e) => {
                tracing::warn!("no post loopback tap: {e}");
                None
            }
        };
        self.post_available.store(core.loopback.is_some(), Ordering::Relaxed);
    }

    fn device_control(&mut self) -> Option<Control> {
        let st = self.peek.as_mut()?.status().ok()?;
        Some(Control::Device { volume: st.state.volume_scalar, mute: st.state.mute })
    }

    /// The housekeeping tick both loops run every [`TICK`]: the device's
    /// volume and mute (from the driver's segment) and new settings (checked
    /// at the ring's rate; invalid ones are logged and ignored) go to the
    /// audio side through `ctl_tx`.
    fn housekeeping(&mut self, ctl_tx: &mut impl Producer<Item = Control>) {
        if let Some(c) = self.device_control() {
            let _ = ctl_tx.try_push(c);
        }
        let tap = self.config.loopback.load(Ordering::Relaxed);
        if self.loopback_sent != Some(tap)
            && ctl_tx.try_push(Control::Loopback(gecko_ring::Tap::from_code(tap))).is_ok()
        {
            self.loopback_sent = Some(tap);
        }
        if let Some(p) = (self.controls)() {
            match p.validate(self.format.sample_rate) {
                Err(e) => tracing::warn!("ignoring invalid settings: {e}"),
                Ok(()) => {
                    let _ = ctl_tx.try_push(Control::Chain(p));
                }
            }
        }
    }

    /// Gecko Sink's format changed to `new`: a recording stops with
    /// [`EngineError::FormatChanged`] (a WAV has one format; what was
    /// recorded is kept); otherwise the chain is rebuilt for the new format.
    fn format_changed(&mut self, core: &mut RtCore, new: RingFormat) -> Result<(), EngineError> {
        if core.recorder.is_some() {
            return Err(EngineError::FormatChanged {
                old_channels: self.format.channels,
                old_rate: self.format.sample_rate,
                new_channels: new.channels,
                new_rate: new.sample_rate,
            });
        }
        core.rebuild_chain(new, &self.config.settings.chain)?;
        self.format = new;
        Ok(())
    }

    fn max_frames(&self) -> Option<u64> {
        self.config.max_audio.map(|d| (d.as_secs_f64() * self.format.sample_rate) as u64)
    }

    /// Headless: the control thread drives the core, losslessly.
    fn pump(&mut self, reader: Reader, recorder: Option<RecorderTx>, why: String) -> Result<EngineReport, EngineError> {
        let (ctl_tx, ctl_rx) = HeapRb::<Control>::new(64).split();
        let (tel_tx, _tel_rx) = HeapRb::<Telemetry>::new(4).split();
        let mut ctl_tx = ctl_tx;
        let chain = Chain::new(
            self.format.sample_rate.round() as u32,
            self.format.channels as usize,
            &self.config.settings.chain,
        )?;
        let mut core = RtCore::new(reader, None, chain, recorder, ctl_rx, tel_tx, u64::MAX);
        let block = self.config.block_frames.clamp(16, 65536);
        let mut buf = vec![0f32; block * self.format.channels as usize];
        let mut seen_io = false;
        let mut last_tick = Instant::now() - TICK;
        let mut idle_since: Option<Instant> = None;
        let mut writer_lost = false;
        let mut policy = IdlePolicy::new(idle::SETTLE, Instant::now());
        let result: Result<(), EngineError> = loop {
            if self.cancel.load(Ordering::Relaxed) {
                break Ok(());
            }
            if last_tick.elapsed() >= TICK {
                last_tick = Instant::now();
                self.housekeeping(&mut ctl_tx);
                core.reader.heartbeat();
                if idle_since.is_some_and(|t| t.elapsed() > Duration::from_millis(500))
                    && let Err(e) = core.reader.check_writer_alive()
                {
                    if self.config.exit_on_stop && (seen_io || core.totals.frames_in > 0) {
                        tracing::warn!("{e}; treating it as the end of the stream");
                        break Ok(());
                    }
                    if !writer_lost {
                        tracing::warn!("{e}; waiting for Gecko Sink's driver to come back");
                        writer_lost = true;
                    }
                    match core.reader.reopen() {
                        Ok(_) => {
                            writer_lost = false;
                            core.totals.generations += 1;
                            self.peek = gecko_ring::Peek::open(&self.config.shm_name).ok();
                        }
                        Err(e) if e.is_transient() => {}
                        Err(e) => break Err(e.into()),
                    }
                }
                let telemetry = core.pump_telemetry();
                let (writer, loopback) = self.ring_counters();
                (self.progress)(&EngineProgress {
                    format: self.format,
                    telemetry,
                    writer,
                    loopback,
                    post_available: self.post_available.load(Ordering::Relaxed),
                    output: None,
                    output_id: None,
                    output_losses: 0,
                    idle: policy.is_idle(),
                });
            }
            let want = match self.max_frames() {
                Some(m) if m <= core.totals.frames_in => break Ok(()),
                Some(m) => ((m - core.totals.frames_in) as usize).min(block),
                None => block,
            };
            seen_io |= core.reader.io_running();
            let ch = self.format.channels as usize;
            let (frames, _event) = match core.pump(&mut buf[..want * ch]) {
                Ok(x) => x,
                Err(e) => break Err(e.into()),
            };
            if let Some(new) = core.rebuild {
                if let Err(e) = self.format_changed(&mut core, new) {
                    break Err(e);
                }
                buf = vec![0f32; block * new.channels as usize];
                continue;
            }
            if frames == 0 {
                let now = Instant::now();
                let since = *idle_since.get_or_insert(now);
                let io_running = core.reader.io_running();
                let pending = core.reader.available();
                if self.config.exit_on_stop && (seen_io || core.totals.frames_in > 0) && !io_running && pending == 0 {
                    break Ok(());
                }
                if policy.is_idle() {
                    if policy.on_idle_tick(io_running || pending > 0, now) {
                        tracing::info!("Gecko Sink's IO started: reading the ring again");
                    }
                } else if policy.on_active_tick(
                    Playing { io_running, pending_frames: pending as f64, silent_for: now - since },
                    now,
                ) {
                    tracing::info!("Gecko Sink's IO stopped and the ring is drained: idle");
                }
                // Active: half an IO cycle at 48 kHz (the ring holds far more
                // than this); idle: the heartbeat.
                std::thread::sleep(policy.tick(Duration::from_millis(2)));
                continue;
            }
            idle_since = None;
            if policy.is_idle() {
                policy.woke(Instant::now());
            }
        };
        if result.is_ok() {
            core.flush();
        }
        let recording = core.recorder.take().map(RecorderTx::finish).transpose();
        result?;
        let (writer, _) = self.ring_counters();
        let idle = policy.stats(Instant::now());
        Ok(EngineReport { idle, ..self.report(&core, recording?, writer, None, Some(why), None) })
    }

    fn report(
        &self,
        core: &RtCore,
        recording: Option<RecordReport>,
        writer: WriterCounters,
        output: Option<OutputReport>,
        output_skipped: Option<String>,
        last_telemetry: Option<Telemetry>,
    ) -> EngineReport {
        let t: CoreTotals = core.totals;
        EngineReport {
            format: self.format,
            frames_in: t.frames_in,
            frames_recorded: recording.map_or(0, |r| r.frames_written),
            recording,
            writer,
            skipped_frames: core.reader.counters().skipped_frames,
            reader_overruns: t.reader_overruns,
            generations_followed: t.generations,
            levels: core.chain.run_reading(),
            meters: core.snapshot(),
            output,
            output_skipped,
            last_telemetry,
            idle: IdleStats::default(),
            elapsed: self.started.elapsed(),
        }
    }

    fn build_drift(&self, out_rate: u32) -> Result<DriftLoop, EngineError> {
        let mut cfg = DriftConfig::new(self.format.channels as usize, self.format.sample_rate, out_rate as f64)
            .with_target_ms(self.config.settings.target_latency_ms);
        cfg.actuator = self.config.settings.actuator;
        cfg.max_block_frames = 8192;
        DriftLoop::new(cfg).map_err(|e| EngineError::Drift(e.0))
    }

    fn select(&self, device: Option<&str>) -> Result<output::Selected, EngineError> {
        Ok(output::select(device, self.format.channels as u16, self.format.sample_rate.round() as u32)?)
    }

    /// Starts `sel` on the core (the previous stream already dropped), as
    /// [`Self::reopen_output`] does, and counts it as a device switch.
    fn switch_output(
        &self,
        slot: &Arc<CoreSlot<RtCore>>,
        sel: output::Selected,
        report: &mut OutputReport,
    ) -> Result<OutputStream, EngineError> {
        let name = sel.name.clone();
        let stream = self.reopen_output(slot, sel, report)?;
        report.device = name;
        report.device_switches += 1;
        Ok(stream)
    }

    /// Acts on the [`Follower`]'s `decision` (taken on `snap`): moves the
    /// core to the device it names — for a lost device, down
    /// [`DeviceSnapshot::fallbacks`] until one starts; for a device that came
    /// back or a new default, back to where it played if that one fails.
    /// `Err`: no device could be started at all (the engine stops).
    fn follow(
        &self,
        slot: &Arc<CoreSlot<RtCore>>,
        stream: &mut Option<OutputStream>,
        follower: &mut Follower,
        decision: Decision,
        snap: &DeviceSnapshot,
        report: &mut OutputReport,
    ) -> Result<(), EngineError> {
        let (target, reason) = match decision {
            Decision::Stay => return Ok(()),
            Decision::NoDevice => {
                tracing::warn!("output device {:?} disappeared and there is no other output", report.device);
                return Err(OutputError::NoDevice.into());
            }
            Decision::MoveTo { id, reason } => (id, reason),
        };
        let name = |id: &str| snap.find(id).map_or_else(|| id.to_owned(), |d| d.name.clone());
        let previous = follower.playing().to_owned();
        let candidates: Vec<String> = match reason {
            MoveReason::Lost => {
                report.device_losses += 1;
                let to = if snap.default.as_deref() == Some(target.as_str()) {
                    "the default device".to_owned()
                } else {
                    format!("{:?} (the default output is Gecko Sink or missing)", name(&target))
                };
                tracing::warn!("output device {:?} disappeared; switching to {to}", report.device);
                snap.fallbacks().iter().map(|d| d.id.clone()).collect()
            }
            MoveReason::Returned => {
                tracing::info!("output device {:?} is back; moving playback to it", name(&target));
                vec![target]
            }
            MoveReason::DefaultChanged => {
                tracing::info!("the system output is now {:?}; moving playback to it", name(&target));
                vec![target]
            }
        };
        if let Some(old) = stream.take() {
            report.stream_errors += old.errors();
        }
        let mut last_error = None;
        let back = (reason != MoveReason::Lost).then_some(previous);
        for id in candidates.iter().chain(back.iter()) {
            match self.select(Some(id)).and_then(|sel| self.switch_output(slot, sel, report)) {
                Ok(s) => {
                    follower.played(s.id());
                    *stream = Some(s);
                    return Ok(());
                }
                Err(e) => {
                    tracing::warn!("cannot play on {:?}: {e}", name(id));
                    last_error = Some(e);
                }
            }
        }
        Err(last_error.unwrap_or(EngineError::Output(OutputError::NoDevice)))
    }

    /// Serves a `set_output` request. `Ok(answer)`: what to tell the client
    /// (playing on the new device, or why not, still playing where it was);
    /// `Err`: no device could be started at all (the engine stops).
    fn requested_output(
        &self,
        slot: &Arc<CoreSlot<RtCore>>,
        stream: &mut Option<OutputStream>,
        device: Option<&str>,
        report: &mut OutputReport,
    ) -> Result<Result<(String, u32), String>, EngineError> {
        let sel = match self.select(device) {
            Ok(sel) => sel,
            Err(e) => return Ok(Err(format!("{e}; still playing on {}", report.device))),
        };
        if stream.is_some() && sel.name == report.device && sel.rate == report.rate {
            return Ok(Ok((sel.name, sel.rate)));
        }
        let previous = report.device.clone();
        if let Some(old) = stream.take() {
            report.stream_errors += old.errors();
        }
        tracing::info!("moving playback from {previous:?} to {:?}", sel.name);
        match self.switch_output(slot, sel, report) {
            Ok(s) => {
                *stream = Some(s);
                Ok(Ok((report.device.clone(), report.rate)))
            }
            Err(e) => {
                tracing::warn!("cannot start {device:?}: {e}; back to {previous:?}");
                let back = self
                    .select(Some(&previous))
                    .and_then(|sel| self.switch_output(slot, sel, report))
                    .or_else(|_| self.select(None).and_then(|sel| self.switch_output(slot, sel, report)))?;
                *stream = Some(back);
                Ok(Err(format!("{e}; playing on {} again", report.device)))
            }
        }
    }

    /// Resumes the output after idling: the drift loop first
    /// ([`DriftLoop::output_resumed`]: no control step over the pause, one
    /// slip to re-align the fill), then the paused stream — or, closed (or
    /// it will not play again), a new stream on the device it played on; if
    /// that device is gone, the fallback, as for a lost device. `Err`: no
    /// device could be started at all (the engine stops).
    fn wake(
        &self,
        slot: &Arc<CoreSlot<RtCore>>,
        stream: &mut Option<OutputStream>,
        follower: &mut Follower,
        report: &mut OutputReport,
    ) -> Result<(), EngineError> {
        if let Some(d) = slot.lock_main().drift.as_mut() {
            d.output_resumed();
        }
        if let Some(s) = stream.as_ref() {
            match s.play() {
                Ok(()) => return Ok(()),
                Err(e) => {
                    tracing::warn!("{e}; opening the output again");
                    report.stream_errors += s.errors();
                    *stream = None;
                }
            }
        }
        let id = follower.playing().to_owned();
        match self.select(Some(&id)).and_then(|sel| self.reopen_output(slot, sel, report)) {
            Ok(s) => {
                *stream = Some(s);
                Ok(())
            }
            Err(e) => {
                tracing::warn!("cannot open {:?} again: {e}", report.device);
                let snap = output::snapshot();
                let decision = follower.on_stream_lost(&snap);
                self.follow(slot, stream, follower, decision, &snap, report)
            }
        }
    }

    /// Starts `sel` (the device the core played on before it idled, or the
    /// one [`Self::switch_output`] moves to): a new drift loop only if the
    /// rate differs, and `report.rate` follows the drift loop at once, so a
    /// start that fails cannot leave the two disagreeing. Not counted as a
    /// device switch.
    fn reopen_output(
        &self,
        slot: &Arc<CoreSlot<RtCore>>,
        sel: output::Selected,
        report: &mut OutputReport,
    ) -> Result<OutputStream, EngineError> {
        if sel.rate != report.rate {
            let mut core = slot.lock_main();
            core.drift = Some(self.build_drift(sel.rate)?);
            self.attach_loopback(&mut core, sel.rate);
            report.rate = sel.rate;
        }
        Ok(start_stream(slot, sel)?)
    }

    /// Playback: the output device's callback drives the core.
    fn realtime(
        &mut self,
        reader: Reader,
        recorder: Option<RecorderTx>,
        sel: output::Selected,
    ) -> Result<EngineReport, EngineError> {
        let (mut ctl_tx, ctl_rx) = HeapRb::<Control>::new(64).split();
        let (tel_tx, mut tel_rx) = HeapRb::<Telemetry>::new(64).split();
        let chain = Chain::new(
            self.format.sample_rate.round() as u32,
            self.format.channels as usize,
            &self.config.settings.chain,
        )?;
        let drift = self.build_drift(sel.rate)?;
        let telemetry_every = (sel.rate as u64) / 20; // 50 ms
        let mut core = RtCore::new(reader, Some(drift), chain, recorder, ctl_rx, tel_tx, telemetry_every);
        self.attach_loopback(&mut core, sel.rate);
        let slot = Arc::new(CoreSlot::new(core));
        let mut report = OutputReport { device: sel.name.clone(), rate: sel.rate, ..OutputReport::default() };
        let wanted = match &self.config.settings.playback {
            Playback::Device(d) => Wanted::Device(d.clone()),
            Playback::Default | Playback::None => Wanted::SystemDefault,
        };
        let mut follower = Follower::new(wanted, &sel.id, &output::snapshot());
        let mut watch = watch::DeviceWatch::new(self.config.device_poll);
        let mut stream = Some(start_stream(&slot, sel)?);
        let mut last: Option<Telemetry> = None;
        let mut seen_io = false;
        let mut last_tick = Instant::now();
        let mut inject_loss_at = self.config.simulate_device_loss_after.map(|d| Instant::now() + d);
        let mut policy = IdlePolicy::new(idle::SETTLE, Instant::now());
        // Telemetry arrived since the output last started (the idle policy
        // decides on nothing older).
        let mut fresh = false;
        // While idle with the stream paused: its callback count when it paused.
        let mut paused_at: Option<u64> = None;
        // A client's request for another device, taken while idle (served awake).
        let mut request: Option<(u64, Option<String>)> = None;
        // When telemetry first said the driver's IO is stopped.
        let mut io_stopped_since: Option<Instant> = None;
        let result: Result<(), EngineError> = loop {
            if self.cancel.load(Ordering::Relaxed) {
                break Ok(());
            }
            std::thread::sleep(policy.tick(idle::ACTIVE_TICK));
            if policy.is_idle() {
                // The heartbeat. No callback renders: the core is the control thread's.
                let now = Instant::now();
                let io_running = {
                    let mut core = slot.lock_main();
                    self.housekeeping(&mut ctl_tx);
                    // Nothing else drains the control queue while idle.
                    core.apply_controls();
                    core.reader.io_running()
                };
                if let (Some(s), Some(n)) = (&stream, paused_at)
                    && s.callbacks() > n + 2
                {
                    // A pause that does not stop the callbacks (a host's own
                    // idea of pausing): close the stream while idle.
                    tracing::debug!("the output's callbacks go on while it is paused; closing it while idle");
                    report.stream_errors += s.errors();
                    (stream, paused_at) = (None, None);
                }
                if request.is_none() {
                    request = self.outputs.take();
                }
                let woke = policy.on_idle_tick(io_running, now);
                if woke || request.is_some() {
                    if woke {
                        tracing::info!("Gecko Sink's IO started: resuming the output");
                    } else {
                        policy.woke(now);
                    }
                    if let Err(e) = self.wake(&slot, &mut stream, &mut follower, &mut report) {
                        if let Some((id, _)) = request.take() {
                            self.outputs.finish(id, Err(e.to_string()));
                        }
                        break Err(e);
                    }
                    (paused_at, fresh, io_stopped_since) = (None, false, None);
                    // The devices may have changed while the engine slept.
                    watch.notify();
                    continue;
                }
                if let Some(mut t) = last {
                    t.io_running = io_running;
                    let (writer, loopback) = self.ring_counters();
                    (self.progress)(&EngineProgress {
                        format: self.format,
                        telemetry: t,
                        writer,
                        loopback,
                        post_available: self.post_available.load(Ordering::Relaxed),
                        output: Some(report.device.clone()),
                        output_id: Some(follower.playing().to_owned()),
                        output_losses: report.device_losses,
                        idle: true,
                    });
                }
                continue;
            }
            if inject_loss_at.is_some_and(|t| Instant::now() >= t) {
                inject_loss_at = None;
                if let Some(s) = &stream {
                    s.mark_lost();
                }
            }
            while let Some(t) = tel_rx.try_pop() {
                last = Some(t);
                fresh = true;
            }
            // The device's stream died (cpal's DeviceNotAvailable), or the
            // system's devices changed (hot-plug, a new default): follow.
            let followed = if stream.as_ref().is_some_and(|s| s.device_lost()) {
                let snap = output::snapshot();
                let decision = follower.on_stream_lost(&snap);
                self.follow(&slot, &mut stream, &mut follower, decision, &snap, &mut report)
            } else if watch.changed() {
                let snap = output::snapshot();
                let decision = follower.on_snapshot(&snap);
                self.follow(&slot, &mut stream, &mut follower, decision, &snap, &mut report)
            } else {
                Ok(())
            };
            if let Err(e) = followed {
                break Err(e);
            }
            // A control client asked for another device.
            if let Some((id, device)) = request.take().or_else(|| self.outputs.take()) {
                match self.requested_output(&slot, &mut stream, device.as_deref(), &mut report) {
                    Ok(answer) => {
                        if let Some(s) = &stream {
                            match (&answer, device) {
                                (Ok(_), Some(d)) => follower.chose(Wanted::Device(d), s.id()),
                                (Ok(_), None) => follower.chose(Wanted::SystemDefault, s.id()),
                                (Err(_), _) => follower.played(s.id()),
                            }
                        }
                        self.outputs.finish(id, answer)
                    }
                    Err(e) => {
                        self.outputs.finish(id, Err(e.to_string()));
                        break Err(e);
                    }
                }
            }
            {
                let core = slot.lock_main();
                if core.ring_fault {
                    break Err(EngineError::RingFault(self.config.shm_name.clone()));
                }
                if let Some(new) = core.rebuild {
                    drop(core);
                    let mut core = slot.lock_main();
                    if let Err(e) = self.format_changed(&mut core, new) {
                        break Err(e);
                    }
                    core.drift = Some(self.build_drift(report.rate)?);
                    self.attach_loopback(&mut core, report.rate);
                }
            }
            if last_tick.elapsed() >= TICK {
                last_tick = Instant::now();
                self.housekeeping(&mut ctl_tx);
                if let Some(t) = last {
                    tracing::debug!(
                        fill = t.fill_frames,
                        ppm = t.correction_ppm,
                        applied = t.applied_ppm,
                        phase = ?t.phase,
                        locked = t.locked,
                        underruns = t.underrun_frames,
                        "drift"
                    );
                    seen_io |= t.io_running;
                    let (writer, loopback) = self.ring_counters();
                    let output = stream.as_ref().map(|s| s.device().to_owned());
                    let output_id = stream.as_ref().map(|s| s.id().to_owned());
                    (self.progress)(&EngineProgress {
                        format: self.format,
                        telemetry: t,
                        writer,
                        loopback,
                        post_available: self.post_available.load(Ordering::Relaxed),
                        output,
                        output_id,
                        output_losses: report.device_losses,
                        idle: false,
                    });
                    if let Some(m) = self.max_frames()
                        && t.frames_in >= m
                    {
                        break Ok(());
                    }
                    if self.config.exit_on_stop && seen_io && !t.io_running && t.fill_frames < 1.0 {
                        break Ok(());
                    }
                }
            }
            // Nothing to play: pause the output (after its tail played out).
            if let Some(t) = last.filter(|_| fresh) {
                let now = Instant::now();
                if t.io_running {
                    io_stopped_since = None;
                } else {
                    io_stopped_since.get_or_insert(now);
                }
                // A priming loop plays nothing from the ring until IO fills it.
                let pending = if t.phase == Some(Phase::Prime) { 0.0 } else { t.fill_frames };
                // Silent output frames, as time — and no longer than IO has been
                // stopped by the wall clock (an output that is not paced by a
                // clock, like ALSA's null PCM, renders seconds in milliseconds).
                let silent_for = Duration::from_secs_f64(t.silent_frames as f64 / f64::from(report.rate.max(1)))
                    .min(io_stopped_since.map_or(Duration::ZERO, |s| now - s));
                if policy.on_active_tick(Playing { io_running: t.io_running, pending_frames: pending, silent_for }, now)
                {
                    paused_at = pause_output(&mut stream, &mut report);
                    tracing::info!(
                        "Gecko Sink's IO stopped and the output played out: idle ({} the output)",
                        if paused_at.is_some() { "paused" } else { "closed" }
                    );
                }
            }
        };
        if let Some(s) = stream.take() {
            report.stream_errors += s.errors();
        }
        let mut core = Arc::try_unwrap(slot).ok().expect("the stream, the only other owner, is gone").into_inner();
        report.played_frames = core.totals.frames_out;
        report.underrun_frames = core.totals.underrun_frames;
        let recording = core.recorder.take().map(RecorderTx::finish).transpose();
        result?;
        let (writer, _) = self.ring_counters();
        let idle = policy.stats(Instant::now());
        Ok(EngineReport { idle, ..self.report(&core, recording?, writer, Some(report), None, last) })
    }
}

/// Stops the output for an idle period: pauses the stream and returns its
/// callback count, or closes it where it cannot be paused (`None`).
fn pause_output(stream: &mut Option<OutputStream>, report: &mut OutputReport) -> Option<u64> {
    let s = stream.as_ref()?;
    match s.pause() {
        Ok(()) => Some(s.callbacks()),
        Err(e) => {
            tracing::debug!("{e}; closing the output while idle");
            report.stream_errors += s.errors();
            *stream = None;
            None
        }
    }
}

fn start_stream(slot: &Arc<CoreSlot<RtCore>>, sel: output::Selected) -> Result<OutputStream, OutputError> {
    let slot = slot.clone();
    OutputStream::start(sel, move |data: &mut [f32], now: u64| match slot.try_rt() {
        Some(mut core) => core.render(data, now),
        // The control thread holds the core for a moment (device switch): silence.
        None => data.fill(0.0),
    })
}

/// Attaches, retrying transient failures (driver not there yet, stale
/// segment) until `attach_wait` has passed; gives up early on `cancel`.
fn attach(config: &EngineConfig, cancel: &AtomicBool) -> Result<Reader, EngineError> {
    let start = Instant::now();
    let once = AttachOptions { wait: Duration::ZERO, ..AttachOptions::default() };
    loop {
        match Reader::attach(&config.shm_name, &once) {
            Ok(mut r) => {
                // The fill level the drift control holds is latency the device must
                // report (the driver does, in kAudioDevicePropertyLatency).
                let frames = (config.settings.target_latency_ms * 1e-3 * r.format().sample_rate).round();
                r.set_latency_frames(frames.clamp(0.0, u32::MAX as f64) as u32);
                r.set_loopback_tap(gecko_ring::Tap::from_code(config.loopback.load(Ordering::Relaxed)));
                return Ok(r);
            }
            Err(e) if e.is_transient() && start.elapsed() < config.attach_wait && !cancel.load(Ordering::Relaxed) => {
                let left = config.attach_wait.saturating_sub(start.elapsed());
                std::thread::sleep(crate::idle::attach_retry_delay(start.elapsed()).min(left));
            }
            Err(e) if e.is_transient() && !config.attach_wait.is_zero() => {
                return Err(RingError::Timeout {
                    name: config.shm_name.clone(),
                    waited_ms: start.elapsed().as_millis() as u64,
                    last: Box::new(e),
                }
                .into());
            }
            Err(e) => return Err(e.into()),
        }
    }
}
