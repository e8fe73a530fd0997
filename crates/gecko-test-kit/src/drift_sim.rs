//! Simulation harness: the real driver (loaded through gecko-simhost) on a
//! simulated host clock, IO cycles scheduled the way the HAL schedules them
//! from the driver's zero timestamps, and an output device whose callbacks
//! come at host-time intervals set by its own crystal, nominal × (1 + skew).
//! A discrete-event loop over host time runs whichever of "next IO cycle" and
//! "next output callback" runs earlier (each up to `jitter_us` late);
//! everything runs in fast simulated time.

use gecko_drift::{DriftConfig, DriftEvents, DriftLoop, RenderReport};
use gecko_driver_bundle as bundle;
use gecko_ring::{AttachOptions, Reader};
use gecko_simhost::ffi::{AudioObjectPropertyAddress, kAudioDevicePropertyNominalSampleRate};
use gecko_simhost::{Driver, Host, IoRunner, SimulatedClock, load_isolated};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Host ticks per second of the simulated clock (ns, as CLOCK_MONOTONIC).
pub const TPS: f64 = 1e9;
const DEV: u32 = bundle::DEVICE_OBJECT_ID;

pub use crate::ShmName;

/// The deterministic input.
#[derive(Clone, Copy, Debug)]
pub enum Signal {
    /// Sample (frame i, channel c) = ((i·ch + c) mod 2^24) / 2^24 − 0.5:
    /// every sample distinct over 2^24 samples, exact in f32.
    Counter,
    /// A sine, `freq` Hz at the device rate, peak `amp`, same on all channels.
    Sine {
        /// Frequency, Hz.
        freq: f64,
        /// Peak amplitude (linear, full scale = 1).
        amp: f64,
    },
}

impl Signal {
    /// Sample of channel `c` (of `ch`) at frame `frame`, device rate `rate` Hz.
    pub fn sample(&self, frame: u64, c: usize, ch: usize, rate: f64) -> f32 {
        match *self {
            Signal::Counter => counter_value(frame * ch as u64 + c as u64),
            Signal::Sine { freq, amp } => {
                let ph = (frame as f64 * freq / rate).fract();
                (amp * (2.0 * std::f64::consts::PI * ph).sin()) as f32
            }
        }
    }
}

/// The [`Signal::Counter`] value of interleaved sample index `k`.
pub fn counter_value(k: u64) -> f32 {
    (k & 0xFF_FFFF) as f32 / 16_777_216.0 - 0.5
}

/// The interleaved sample index (mod 2^24) a [`Signal::Counter`] value came from.
pub fn counter_index(v: f32) -> u64 {
    ((v as f64 + 0.5) * 16_777_216.0).round() as u64 & 0xFF_FFFF
}

/// Something that happens mid-run, at `at_s` seconds of output time.
#[derive(Clone, Copy, Debug)]
pub enum StepKind {
    /// The output crystal's skew becomes this many ppm (a clock jump).
    Skew(f64),
    /// Gecko Sink's nominal rate changes (RequestDeviceConfigurationChange →
    /// StopIO → PerformDeviceConfigurationChange → StartIO), 50 ms without IO.
    DeviceRate(f64),
    /// coreaudiod restarts: the driver stops, and 0.5 s later a fresh
    /// isolated driver instance starts on the same shm name.
    Restart,
    /// The HAL stops IO (no client plays) and starts it again this many
    /// seconds later: same driver, same generation, the ring goes on, the
    /// zero-timestamp timeline re-anchors at sample time 0.
    IoPause(f64),
    /// The engine idles: the HAL stops IO; the output renders on for
    /// [`OUTPUT_IDLE_SETTLE_S`] (the engine's output plays out its tail),
    /// then stops rendering; IO starts again `io_off_s` after it stopped, and
    /// the output `wake_s` after that (the engine's heartbeat noticing it),
    /// with [`gecko_drift::DriftLoop::output_resumed`] called first.
    OutputIdle {
        /// Seconds of output time without IO.
        io_off_s: f64,
        /// Seconds from IO's restart to the output's first render.
        wake_s: f64,
    },
}

/// How long the output renders on after IO stopped before it idles, in
/// [`StepKind::OutputIdle`], s (the engine's settle time).
pub const OUTPUT_IDLE_SETTLE_S: f64 = 0.5;

/// One simulated run.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Output time simulated, s.
    pub seconds: f64,
    /// The output device's crystal: nominal × (1 + skew), ppm.
    pub skew_ppm: f64,
    /// Gecko Sink's nominal rate, Hz.
    pub device_rate: f64,
    /// The output device's nominal rate, Hz.
    pub output_rate: f64,
    /// Frames per IO cycle.
    pub io_frames: u32,
    /// Frames per output callback.
    pub cb_frames: usize,
    /// What the driver is fed.
    pub signal: Signal,
    /// Mid-run events, at output time (s).
    pub steps: Vec<(f64, StepKind)>,
    /// Builds the loop's configuration for (device rate, output rate) —
    /// called again after a REBUILD_REQUIRED (the engine's control thread).
    pub drift: fn(f64, f64) -> DriftConfig,
    /// Keep the output after this many seconds (for spectral checks).
    pub keep_output_from_s: Option<f64>,
    /// Scheduling jitter: each IO cycle and each output callback runs up to
    /// this many µs late (uniform, deterministic; it does not accumulate).
    /// Events run in the order of their late run times, with the clock at
    /// the run time: an IO cycle records the time its thread ran as its
    /// heartbeat (`mCurrentTime`), and a callback sees the ring as it is
    /// when it runs. What a late callback is *handed* is its buffer's place
    /// on the output device's timeline — the time stamp CoreAudio passes to
    /// an IOProc / render callback (`inOutputTime`, cpal's
    /// `OutputCallbackInfo::timestamp()`), which the HAL derives from the
    /// device's zero timestamps, not from a clock read in the callback.
    pub jitter_us: f64,
    /// Run every render inside `assert_no_alloc` (the binary must install
    /// `assert_no_alloc::AllocDisabler` as its global allocator).
    pub no_alloc_render: bool,
    /// The driver ignores the engine's clock requests (it cannot steer).
    pub driver_ignores_clock_requests: bool,
}

impl SimConfig {
    /// `seconds` of output at `skew_ppm`, 48 kHz both sides, 512-frame cycles
    /// and callbacks, the counter signal, 100 µs of jitter, no steps.
    pub fn new(seconds: f64, skew_ppm: f64, drift: fn(f64, f64) -> DriftConfig) -> Self {
        SimConfig {
            seconds,
            skew_ppm,
            device_rate: 48_000.0,
            output_rate: 48_000.0,
            io_frames: 512,
            cb_frames: 512,
            signal: Signal::Counter,
            steps: vec![],
            drift,
            keep_output_from_s: None,
            jitter_us: 100.0,
            no_alloc_render: false,
            driver_ignores_clock_requests: false,
        }
    }
}

/// One segment between (re)locks, for the step tests.
#[derive(Clone, Debug, Default)]
pub struct Segment {
    /// Output time the segment started (0 or a step), s.
    pub start_s: f64,
    /// Output time of the first LOCKED in the segment, s.
    pub locked_at_s: Option<f64>,
    /// |fill error| after the lock, frames.
    pub errors: Vec<f32>,
    /// Underrun frames after the lock.
    pub underrun_frames_locked: u64,
    /// Underrun frames before the lock (acquisition, restart gap).
    pub underrun_frames_acquiring: u64,
    /// Events seen in the segment (union).
    pub events: DriftEvents,
}

impl Segment {
    /// Time from the segment's start to its first lock, s.
    pub fn lock_in_s(&self) -> Option<f64> {
        self.locked_at_s.map(|t| t - self.start_s)
    }
    /// 99th percentile of |fill error| after the lock, frames.
    pub fn p99(&self) -> f64 {
        percentile(&self.errors, 0.99)
    }
    /// Largest |fill error| after the lock, frames.
    pub fn max(&self) -> f64 {
        self.errors.iter().fold(0.0f32, |a, &b| a.max(b)) as f64
    }
}

/// The `q` quantile (0..=1, nearest rank) of `v`; NaN when empty.
pub fn percentile(v: &[f32], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    s[((s.len() - 1) as f64 * q).round() as usize] as f64
}

/// What a run measured.
#[derive(Debug, Default)]
pub struct SimResult {
    /// Segments: the first from the start, then one per step.
    pub segments: Vec<Segment>,
    /// Every non-empty event set with its output time, s (first 10,000).
    pub events: Vec<(f64, DriftEvents)>,
    /// Union of all events.
    pub all_events: DriftEvents,
    /// Reader-lapped events after the first lock.
    pub ring_overruns_locked: u64,
    /// The driver's overrun frames (ring full) when the first lock happened and at the end.
    pub driver_overrun_frames_at_lock: u64,
    /// The driver's overrun frames at the end.
    pub driver_overrun_frames_end: u64,
    /// Bit-exactness (Counter signal while steering): frames compared and mismatched after lock.
    pub bit_checked_frames: u64,
    /// Frames that differed from what the driver was fed.
    pub bit_mismatched_frames: u64,
    /// Final correction, ppm; final actuator.
    pub last: Option<RenderReport>,
    /// Kept output (interleaved), from `keep_output_from_s`.
    pub output: Vec<f32>,
    /// Output callbacks rendered.
    pub renders: u64,
    /// IO cycles run.
    pub io_cycles: u64,
    /// Wall-clock time the run took.
    pub wall: Duration,
}

impl SimResult {
    /// The segment from the start (before any step).
    pub fn first(&self) -> &Segment {
        &self.segments[0]
    }
}

/// The HAL's view of the device timeline: the latest zero timestamp and the
/// host ticks per frame measured between the last two.
struct Timeline {
    anchor_s: f64,
    anchor_h: u64,
    tpf: f64,
    seed: u64,
    next_k: u64,
    last_wake: u64,
}

struct Session<'a> {
    io: IoRunner<'a>,
    tl: Timeline,
    channels: usize,
    rate: f64,
}

fn load_driver(name: &str, clock: &Arc<SimulatedClock>, rate: f64, ignore_clock_requests: bool) -> &'static Driver {
    let mut d = load_isolated(bundle::bundle_path()).expect("load the real bundle");
    d.set_ignore_clock_requests(ignore_clock_requests);
    clock.configure(&mut d, name).expect("configure");
    d.initialize(Arc::new(Host::new())).expect("Initialize");
    if rate != 48_000.0 {
        d.perform_configuration_change(DEV, rate as u64, 0).expect("rate");
    }
    // Leaked: the library stays mapped for the process anyway (gecko-simhost
    // never dlcloses), and a restarted driver's old instance must not be
    // released while an IoRunner might still refer to it.
    Box::leak(Box::new(d))
}

fn start_session<'a>(d: &'a Driver, clock: &SimulatedClock, now: u64) -> Session<'a> {
    clock.set(now);
    let dev = d.find_device().expect("device");
    let mut io = IoRunner::new(d, dev.clone(), 512, TPS).expect("IoRunner");
    io.start_io().expect("StartIO");
    let (s, h, seed) = d.get_zero_time_stamp(DEV, 0).expect("zts");
    Session {
        io,
        tl: Timeline { anchor_s: s, anchor_h: h, tpf: TPS / dev.sample_rate, seed, next_k: 0, last_wake: now },
        channels: dev.channels as usize,
        rate: dev.sample_rate,
    }
}

/// Runs one simulation.
pub fn run(cfg: &SimConfig) -> SimResult {
    let wall = Instant::now();
    let name = ShmName::new("d");
    let clock = SimulatedClock::new(1_000_000_000, TPS);
    let t0: u64 = 1_000_000_000;
    let mut device_rate = cfg.device_rate;
    let mut driver = load_driver(&name.0, &clock, device_rate, cfg.driver_ignores_clock_requests);
    let mut reader = Reader::attach(&name.0, &AttachOptions::default()).expect("attach");
    let mut session = Some(start_session(driver, &clock, t0));
    let ch = session.as_ref().unwrap().channels;
    let io_frames = cfg.io_frames as usize;
    let mut input = vec![0.0f32; io_frames * ch];
    let mut input_index: u64 = 0;
    let fill_input = |buf: &mut [f32], idx: &mut u64, rate: f64| {
        for f in 0..io_frames {
            for c in 0..ch {
                buf[f * ch + c] = cfg.signal.sample(*idx + f as u64, c, ch, rate);
            }
        }
        *idx += io_frames as u64;
    };

    // First IO cycle, then wait (real time, bounded) until the driver's attach
    // thread has mapped our reader segment: it polls every 50 ms of real time,
    // which is seconds of simulated time. Repeating the cycle at sample time 0
    // writes nothing (an overlap).
    {
        let s = session.as_mut().unwrap();
        fill_input(&mut input, &mut input_index, s.rate);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            // The HAL's output time is one buffer (+ the safety offset, 0) ahead of
            // the cycle's current time; the driver records the current time.
            let ahead = io_frames as f64 * s.tl.tpf;
            s.io.do_write_mix_cycle(io_frames as f64, t0 + ahead as u64, &input).expect("cycle");
            if reader.writer_counters().reader_attached || Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        assert!(reader.writer_counters().reader_attached, "the driver never attached the reader segment");
        s.tl.next_k = 1;
    }

    let mut drift = DriftLoop::new((cfg.drift)(device_rate, cfg.output_rate)).expect("DriftLoop");
    let mut out = vec![0.0f32; cfg.cb_frames * ch];
    let mut skew = cfg.skew_ppm;
    let cb_ticks = |skew: f64| cfg.cb_frames as f64 * TPS / (cfg.output_rate * (1.0 + skew * 1e-6));
    let mut t_cb = t0 as f64 + 0.25 * cb_ticks(skew);
    let end_t = t0 as f64 + cfg.seconds * TPS;
    let out_time = |t: f64| (t - t0 as f64) / TPS;
    let mut res = SimResult { segments: vec![Segment::default()], ..Default::default() };
    let mut steps = cfg.steps.clone();
    steps.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut steps = steps.into_iter().peekable();
    let mut io_resume_at: Option<(f64, bool)> = None; // (time, new driver)
    // The output idles from the first callback at or after .0 to .1 (host ticks).
    let mut output_idle: Option<(f64, f64)> = None;
    let mut pending_rate: Option<f64> = None;
    let mut first_lock_seen = false;
    // Bit check: the expected counter index of the next output sample.
    let mut expect: Option<u64> = None;
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut jitter = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng >> 11) as f64 / (1u64 << 53) as f64 * cfg.jitter_us * 1e3
    };

    // Lateness of the next IO cycle and of the next callback, host ticks.
    let mut io_late = jitter();
    let mut cb_late = jitter();
    while t_cb < end_t {
        // ---- steps ----
        if let Some(&(at, kind)) = steps.peek()
            && out_time(t_cb) >= at
        {
            steps.next();
            // A skew step keeps a locked loop locked unless the error
            // grows past the unlock threshold; the other steps re-lock.
            let still_locked = matches!(kind, StepKind::Skew(_)) && res.last.is_some_and(|l| l.locked);
            let start_s = out_time(t_cb);
            res.segments.push(Segment { start_s, locked_at_s: still_locked.then_some(start_s), ..Default::default() });
            if !still_locked {
                expect = None;
            }
            match kind {
                StepKind::Skew(p) => skew = p,
                StepKind::DeviceRate(r) => {
                    let s = session.as_mut().expect("IO running");
                    let addr = AudioObjectPropertyAddress::global(kAudioDevicePropertyNominalSampleRate);
                    driver.set_property_data(DEV, &addr, &[], &r.to_ne_bytes()).expect("request rate");
                    s.io.stop_io().expect("StopIO");
                    session = None;
                    assert_eq!(driver.perform_pending_configuration_changes().expect("perform"), 1);
                    device_rate = r;
                    io_resume_at = Some((t_cb + 0.05 * TPS, false));
                    pending_rate = Some(r);
                }
                StepKind::Restart => {
                    if let Some(mut s) = session.take() {
                        s.io.stop_io().expect("StopIO");
                    }
                    io_resume_at = Some((t_cb + 0.5 * TPS, true));
                }
                StepKind::IoPause(secs) => {
                    if let Some(mut s) = session.take() {
                        s.io.stop_io().expect("StopIO");
                    }
                    io_resume_at = Some((t_cb + secs * TPS, false));
                }
                StepKind::OutputIdle { io_off_s, wake_s } => {
                    if let Some(mut s) = session.take() {
                        s.io.stop_io().expect("StopIO");
                    }
                    io_resume_at = Some((t_cb + io_off_s * TPS, false));
                    let settle = OUTPUT_IDLE_SETTLE_S.min(io_off_s);
                    output_idle = Some((t_cb + settle * TPS, t_cb + (io_off_s + wake_s) * TPS));
                }
            }
        }
        // ---- next event ----
        let next_io = match (&mut session, io_resume_at) {
            (Some(s), _) => {
                let tl = &s.tl;
                let sample = (tl.next_k * io_frames as u64) as f64;
                let w = tl.anchor_h as f64 + (sample - tl.anchor_s) * tl.tpf;
                Some(w.max(tl.last_wake as f64 + 1.0))
            }
            (None, Some((t, _))) => Some(t),
            (None, None) => None,
        };
        let cb_run = t_cb + cb_late;
        if let Some(t_io) = next_io.map(|t| t + io_late).filter(|&t| t <= cb_run) {
            let now = (t_io.round() as u64).max(clock.now());
            io_late = jitter();
            if session.is_none() {
                let (_, fresh) = io_resume_at.take().unwrap();
                if fresh {
                    driver = load_driver(&name.0, &clock, device_rate, cfg.driver_ignores_clock_requests);
                }
                let _ = pending_rate.take();
                session = Some(start_session(driver, &clock, now));
                continue;
            }
            let s = session.as_mut().unwrap();
            clock.set(now);
            let (zs, zh, seed) = driver.get_zero_time_stamp(DEV, 0).expect("zts");
            if seed == s.tl.seed && zs > s.tl.anchor_s {
                s.tl.tpf = (zh - s.tl.anchor_h) as f64 / (zs - s.tl.anchor_s);
            }
            s.tl.anchor_s = zs;
            s.tl.anchor_h = zh;
            s.tl.seed = seed;
            let sample = (s.tl.next_k * io_frames as u64) as f64;
            fill_input(&mut input, &mut input_index, s.rate);
            let ahead = io_frames as f64 * s.tl.tpf;
            s.io.do_write_mix_cycle(sample + io_frames as f64, now + ahead.round() as u64, &input).expect("cycle");
            s.tl.next_k += 1;
            s.tl.last_wake = now;
            res.io_cycles += 1;
            continue;
        }
        // ---- output idle ----
        if let Some((from, until)) = output_idle
            && t_cb >= from
        {
            // No callbacks until the engine wakes; IO cycles due meanwhile run first.
            output_idle = None;
            t_cb = until;
            drift.output_resumed();
            continue;
        }
        // ---- output callback ----
        // It runs late (the clock says so, and every IO cycle due before
        // it ran first) but is handed its ideal time stamp.
        clock.set((cb_run.round() as u64).max(clock.now()));
        cb_late = jitter();
        let now = t_cb.round() as u64;
        let rep = if cfg.no_alloc_render {
            assert_no_alloc::assert_no_alloc(|| drift.render(&mut reader, &mut out, now))
        } else {
            drift.render(&mut reader, &mut out, now)
        };
        res.renders += 1;
        let t = out_time(t_cb);
        t_cb += cb_ticks(skew);
        if !rep.events.is_empty() {
            res.all_events.insert(rep.events);
            if res.events.len() < 10_000 {
                res.events.push((t, rep.events));
            }
        }
        let seg = res.segments.last_mut().unwrap();
        seg.events.insert(rep.events);
        if rep.events.contains(DriftEvents::REBUILD_REQUIRED) {
            // The engine's control thread builds a new loop for the new format.
            let f = reader.format();
            drift = DriftLoop::new((cfg.drift)(f.sample_rate, cfg.output_rate)).expect("rebuild");
            expect = None;
            continue;
        }
        if rep.events.contains(DriftEvents::LOCKED) && seg.locked_at_s.is_none() {
            seg.locked_at_s = Some(t);
            if !first_lock_seen {
                first_lock_seen = true;
                res.driver_overrun_frames_at_lock = reader.writer_counters().overrun_frames;
            }
        }
        if rep.events.contains(DriftEvents::NEW_GENERATION) {
            expect = None;
        }
        if seg.locked_at_s.is_some() {
            seg.errors.push(rep.fill_error_frames.abs() as f32);
            seg.underrun_frames_locked += rep.underrun_frames as u64;
            if rep.events.contains(DriftEvents::RING_OVERRUN) {
                res.ring_overruns_locked += 1;
            }
            if matches!(cfg.signal, Signal::Counter) && rep.actuator == gecko_drift::Actuator::Steering {
                let mut e = expect.unwrap_or_else(|| counter_index(out[0]));
                let mut bad = 0;
                for f in 0..cfg.cb_frames {
                    let mut ok = true;
                    for c in 0..ch {
                        ok &= out[f * ch + c].to_bits() == counter_value(e + c as u64).to_bits();
                    }
                    if !ok {
                        bad += 1;
                        e = counter_index(out[f * ch]);
                    }
                    e += ch as u64;
                }
                expect = Some(e);
                res.bit_checked_frames += cfg.cb_frames as u64;
                res.bit_mismatched_frames += bad;
            }
        } else {
            seg.underrun_frames_acquiring += rep.underrun_frames as u64;
        }
        if let Some(from) = cfg.keep_output_from_s
            && t >= from
        {
            res.output.extend_from_slice(&out);
        }
        res.last = Some(rep);
    }
    if let Some(mut s) = session.take() {
        let _ = s.io.stop_io();
    }
    res.driver_overrun_frames_end = reader.writer_counters().overrun_frames;
    res.wall = wall.elapsed();
    res
}

/// A one-line summary for test output.
pub fn summary(label: &str, r: &SimResult) -> String {
    let s = r.first();
    let last = r.last.as_ref();
    format!(
        "{label}: lock-in {:?} s, p99 |err| {:.2} frames, max {:.2}, underruns after lock {}, driver overruns after lock {}, \
         ring overruns {}, bits {}/{} mismatched, correction {:.3} ppm ({:?}), {} renders, {} IO cycles, wall {:.1} s",
        s.lock_in_s().map(|x| (x * 100.0).round() / 100.0),
        s.p99(),
        s.max(),
        r.segments.iter().map(|s| s.underrun_frames_locked).sum::<u64>(),
        r.driver_overrun_frames_end - r.driver_overrun_frames_at_lock,
        r.ring_overruns_locked,
        r.bit_mismatched_frames,
        r.bit_checked_frames,
        last.map_or(f64::NAN, |l| l.correction_ppm),
        last.map(|l| l.actuator),
        r.renders,
        r.io_cycles,
        r.wall.as_secs_f64()
    )
}
