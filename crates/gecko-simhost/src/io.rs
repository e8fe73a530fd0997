//! IO cycles the way the HAL runs them, and the high-level host loop.
//!
//! [`IoRunner`] is the low-level form: [`IoRunner::do_write_mix_cycle`]
//! performs one IO cycle for a caller-chosen sample time, host time and
//! buffer (tests use it to make gaps, overlaps and odd buffer sizes).
//! [`run`] is the whole simulated coreaudiod: load, configure, initialize,
//! discover, wait for a reader, StartIO, cycles paced by a clock, StopIO,
//! report.

use crate::driver::{DeviceInfo, Driver, DriverError, SimClock};
use crate::ffi::*;
use crate::host::Host;
use crate::source::{AudioSource, FileSource, Resample, SineSource, SourceError};
use std::ffi::c_void;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What `WillDoIOOperation` answered for one operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IoOperation {
    /// The operation ID (`kAudioServerPlugInIOOperation…`).
    pub id: u32,
    /// `outWillDo`.
    pub will_do: bool,
    /// `outWillDoInPlace`.
    pub in_place: bool,
}

/// The output-side operations of a cycle, in the HAL's order.
const OUTPUT_OPS: [u32; 5] = [
    kAudioServerPlugInIOOperationProcessOutput,
    kAudioServerPlugInIOOperationMixOutput,
    kAudioServerPlugInIOOperationProcessMix,
    kAudioServerPlugInIOOperationConvertMix,
    kAudioServerPlugInIOOperationWriteMix,
];

/// The input-side operations of a cycle, in the HAL's order.
const INPUT_OPS: [u32; 3] = [
    kAudioServerPlugInIOOperationReadInput,
    kAudioServerPlugInIOOperationConvertInput,
    kAudioServerPlugInIOOperationProcessInput,
];

/// Runs IO cycles on one device for one client (the host, client ID 0).
///
/// Created after discovery: it asks `WillDoIOOperation` about every
/// operation, as the HAL does before starting IO, and afterwards performs
/// only those the driver wants.
pub struct IoRunner<'a> {
    driver: &'a Driver,
    device: DeviceInfo,
    client: u32,
    nominal_frames: u32,
    host_ticks_per_frame: f64,
    ops: Vec<IoOperation>,
    cycle_counter: u64,
    main: Vec<f32>,
    secondary: Vec<f32>,
    thread_begun: bool,
}

impl<'a> IoRunner<'a> {
    /// `nominal_frames`: the nominal IO buffer size in frames (the HAL's
    /// default is 512). `host_ticks_per_second`: the host clock's rate (1e9
    /// for the default CLOCK_MONOTONIC clock, ns).
    pub fn new(
        driver: &'a Driver,
        device: DeviceInfo,
        nominal_frames: u32,
        host_ticks_per_second: f64,
    ) -> Result<Self, DriverError> {
        if nominal_frames == 0 {
            return Err(DriverError::InvalidArgument("IO buffer of 0 frames".into()));
        }
        let client = kAudioServerPlugInHostClientID;
        let mut ops = Vec::with_capacity(ALL_IO_OPERATIONS.len());
        for id in ALL_IO_OPERATIONS {
            let (will_do, in_place) = driver.will_do_io_operation(device.device_id, client, id)?;
            ops.push(IoOperation { id, will_do, in_place });
        }
        let samples = nominal_frames as usize * device.channels as usize;
        Ok(IoRunner {
            driver,
            host_ticks_per_frame: host_ticks_per_second / device.sample_rate,
            device,
            client,
            nominal_frames,
            ops,
            cycle_counter: 0,
            main: Vec::with_capacity(samples),
            secondary: Vec::with_capacity(samples),
            thread_begun: false,
        })
    }

    /// The device this runner drives.
    pub fn device(&self) -> &DeviceInfo {
        &self.device
    }

    /// The answers to `WillDoIOOperation`, in [`ALL_IO_OPERATIONS`] order.
    pub fn operations(&self) -> &[IoOperation] {
        &self.ops
    }

    /// IO cycles performed so far (the last `mIOCycleCounter`).
    pub fn cycles(&self) -> u64 {
        self.cycle_counter
    }

    /// Host ticks per frame at the nominal rate.
    pub fn host_ticks_per_frame(&self) -> f64 {
        self.host_ticks_per_frame
    }

    fn op(&self, id: u32) -> Option<IoOperation> {
        self.ops.iter().copied().find(|o| o.id == id && o.will_do)
    }

    fn info(&self, sample_time: f64, host_time: u64, frames: u32) -> AudioServerPlugInIOCycleInfo {
        let mut info = cycle_info(sample_time, host_time, frames, self.device.safety_offset, self.host_ticks_per_frame);
        info.mIOCycleCounter = self.cycle_counter;
        info.mNominalIOBufferFrameSize = self.nominal_frames;
        info
    }

    /// `StartIO`, then `BeginIOOperation(Thread)` if the driver wants it.
    pub fn start_io(&mut self) -> Result<(), DriverError> {
        self.driver.start_io(self.device.device_id, self.client)?;
        if self.op(kAudioServerPlugInIOOperationThread).is_some() {
            let info = self.info(0.0, 0, self.nominal_frames);
            self.driver.begin_io_operation(
                self.device.device_id,
                self.client,
                kAudioServerPlugInIOOperationThread,
                self.nominal_frames,
                &info,
            )?;
            self.thread_begun = true;
        }
        Ok(())
    }

    /// `EndIOOperation(Thread)` if begun, then `StopIO`.
    pub fn stop_io(&mut self) -> Result<(), DriverError> {
        if self.thread_begun {
            self.thread_begun = false;
            let info = self.info(0.0, 0, self.nominal_frames);
            self.driver.end_io_operation(
                self.device.device_id,
                self.client,
                kAudioServerPlugInIOOperationThread,
                self.nominal_frames,
                &info,
            )?;
        }
        self.driver.stop_io(self.device.device_id, self.client)
    }

    /// One IO cycle writing `frames` (interleaved, `n × channels` samples;
    /// `n` may differ from the nominal size) for output sample time
    /// `sample_time` (frames, the cycle's `mOutputTime.mSampleTime`) at host
    /// time `host_time` (host ticks, `mOutputTime.mHostTime`).
    ///
    /// Sequence: `BeginIOOperation(Cycle)` if wanted; then for each output
    /// operation the driver wants (ProcessOutput, MixOutput, ProcessMix,
    /// ConvertMix, WriteMix — MixOutput ends the chain, as documented in
    /// AudioServerPlugIn.h) `BeginIOOperation`, `DoIOOperation` (main buffer
    /// = a copy of `frames`; secondary buffer only for operations not done
    /// in place), `EndIOOperation`; then `EndIOOperation(Cycle)`. The copy
    /// reuses an internal buffer (no allocation once warmed up).
    ///
    /// Errors: the first non-zero OSStatus (End is still called for a begun
    /// operation); [`DriverError::InvalidArgument`] if `frames` is not a
    /// whole number of frames.
    pub fn do_write_mix_cycle(&mut self, sample_time: f64, host_time: u64, frames: &[f32]) -> Result<(), DriverError> {
        self.do_cycle(sample_time, host_time, frames, None)
    }

    /// One IO cycle as [`IoRunner::do_write_mix_cycle`], with a recording
    /// client too when `input` is given: before the output operations, the
    /// input operations the driver wants (ReadInput, ConvertInput,
    /// ProcessInput, in the HAL's order) on the device's input stream, for
    /// input sample time `mInputTime.mSampleTime` = output sample time − safety
    /// offset − 2 buffers ([`cycle_info`]); `input` (as many samples as
    /// `frames`) receives the input stream's buffer. Errors as
    /// `do_write_mix_cycle`, and [`DriverError::InvalidArgument`] when the
    /// device has no input stream or `input` has another length.
    pub fn do_cycle(
        &mut self,
        sample_time: f64,
        host_time: u64,
        frames: &[f32],
        input: Option<&mut [f32]>,
    ) -> Result<(), DriverError> {
        let ch = self.device.channels as usize;
        if !frames.len().is_multiple_of(ch) {
            return Err(DriverError::InvalidArgument(format!(
                "{} samples is not a whole number of {ch}-channel frames",
                frames.len()
            )));
        }
        if input.as_ref().is_some_and(|i| i.len() != frames.len()) {
            return Err(DriverError::InvalidArgument("the input buffer's length differs from the output's".into()));
        }
        let input_stream = match (&input, self.device.input_stream_id) {
            (None, _) => None,
            (Some(_), Some(s)) => Some(s),
            (Some(_), None) => return Err(DriverError::InvalidArgument("the device has no input stream".into())),
        };
        let n = u32::try_from(frames.len() / ch).map_err(|_| DriverError::InvalidArgument("too many frames".into()))?;
        self.cycle_counter += 1;
        let info = self.info(sample_time, host_time, n);
        let (dev, client) = (self.device.device_id, self.client);
        let cycle_op = self.op(kAudioServerPlugInIOOperationCycle).is_some();
        if cycle_op {
            self.driver.begin_io_operation(dev, client, kAudioServerPlugInIOOperationCycle, n, &info)?;
        }
        let mut result = Ok(());
        if let (Some(stream), Some(input)) = (input_stream, input) {
            self.main.clear();
            self.main.resize(frames.len(), 0.0);
            result = self.run_ops(&INPUT_OPS, stream, n, &info);
            input.copy_from_slice(&self.main);
        }
        if result.is_ok() {
            self.main.clear();
            self.main.extend_from_slice(frames);
            result = self.run_ops(&OUTPUT_OPS, self.device.stream_id, n, &info);
        }
        if cycle_op {
            let end = self.driver.end_io_operation(dev, client, kAudioServerPlugInIOOperationCycle, n, &info);
            result = result.and(end);
        }
        result
    }

    /// Begin/Do/End for each of `ops` the driver wants, on `stream`, with the
    /// main buffer `self.main` (swapped with the secondary one after an
    /// operation not done in place). MixOutput ends the output chain.
    fn run_ops(
        &mut self,
        ops: &[u32],
        stream: AudioObjectID,
        n: u32,
        info: &AudioServerPlugInIOCycleInfo,
    ) -> Result<(), DriverError> {
        let (dev, client) = (self.device.device_id, self.client);
        for &id in ops {
            let Some(op) = self.op(id) else { continue };
            self.driver.begin_io_operation(dev, client, id, n, info)?;
            let secondary = if op.in_place {
                std::ptr::null_mut()
            } else {
                self.secondary.clear();
                self.secondary.resize(self.main.len(), 0.0);
                self.secondary.as_mut_ptr() as *mut c_void
            };
            // SAFETY: `main` (and `secondary` when passed) hold exactly `n`
            // frames of `ch` f32 samples, the stream's virtual format.
            let r = unsafe {
                self.driver.do_io_operation_raw(
                    dev,
                    stream,
                    client,
                    id,
                    n,
                    info,
                    self.main.as_mut_ptr() as *mut c_void,
                    secondary,
                )
            };
            if !op.in_place && r.is_ok() {
                std::mem::swap(&mut self.main, &mut self.secondary);
            }
            let end = self.driver.end_io_operation(dev, client, id, n, info);
            r.and(end)?;
            if id == kAudioServerPlugInIOOperationMixOutput {
                break;
            }
        }
        Ok(())
    }
}

/// Checks a series of zero timestamps the way the HAL relies on them:
/// within one seed, sample and host times never go backwards, sample times
/// are whole multiples of the zero-timestamp period from the first one, and
/// host time advances at the nominal rate (within 1000 ppm by default; a
/// steered clock may deviate by up to `GECKO_SHM_MAX_CLOCK_ADJUST_PPM`, see
/// [`ZeroTimeStampCheck::with_rate_tolerance_ppm`]).
#[derive(Clone, Debug, Default)]
pub struct ZeroTimeStampCheck {
    period: f64,
    ticks_per_frame: f64,
    /// Allowed deviation of the average host-time rate from nominal, as a
    /// fraction (0 = the default, 1e-3).
    tolerance: f64,
    first: Option<(f64, u64, u64)>,
    last: Option<(f64, u64, u64)>,
    /// Calls observed.
    pub observed: u64,
    /// Distinct timestamps (advances) observed.
    pub advances: u64,
    /// Seed changes (timeline resets).
    pub seed_changes: u64,
    /// Inconsistencies found (first 16 kept in `problems`).
    pub violations: u64,
    /// Descriptions of the first violations.
    pub problems: Vec<String>,
}

impl ZeroTimeStampCheck {
    /// For a device with `period` frames between timestamps and
    /// `ticks_per_frame` host ticks per frame.
    pub fn new(period: u32, ticks_per_frame: f64) -> Self {
        ZeroTimeStampCheck { period: period as f64, ticks_per_frame, ..Default::default() }
    }

    /// Allows the average host-time rate to deviate from nominal by `ppm`
    /// parts per million (a steered clock; default 1000).
    pub fn with_rate_tolerance_ppm(mut self, ppm: f64) -> Self {
        self.tolerance = ppm * 1e-6;
        self
    }

    fn bad(&mut self, p: String) {
        self.violations += 1;
        if self.problems.len() < 16 {
            self.problems.push(p);
        }
    }

    /// Records one `GetZeroTimeStamp` answer (sample time in frames, host
    /// time in ticks, seed).
    pub fn observe(&mut self, sample: f64, host: u64, seed: u64) {
        self.observed += 1;
        let Some((ls, lh, lseed)) = self.last else {
            self.first = Some((sample, host, seed));
            self.last = Some((sample, host, seed));
            return;
        };
        if seed != lseed {
            self.seed_changes += 1;
            self.first = Some((sample, host, seed));
            self.last = Some((sample, host, seed));
            return;
        }
        if sample < ls || host < lh {
            self.bad(format!("went backwards: ({ls}, {lh}) -> ({sample}, {host})"));
        }
        if sample != ls {
            self.advances += 1;
        }
        if let Some((fs, fh, _)) = self.first {
            let k = (sample - fs) / self.period;
            if self.period > 0.0 && (k - k.round()).abs() > 1e-9 {
                self.bad(format!("sample time {sample} is not a whole number of {} periods after {fs}", self.period));
            }
            if sample > fs && self.ticks_per_frame > 0.0 {
                let rate = (host.saturating_sub(fh)) as f64 / (sample - fs) / self.ticks_per_frame;
                let tol = if self.tolerance > 0.0 { self.tolerance } else { 1e-3 };
                if (rate - 1.0).abs() > tol {
                    self.bad(format!("host time advances at {rate:.6} × the nominal rate"));
                }
            }
        }
        self.last = Some((sample, host, seed));
    }
}

/// A host clock for fast (simulated-time) runs: an atomic tick counter the
/// driver reads through `GeckoSim_Configure`'s clock hook.
#[derive(Debug)]
pub struct SimulatedClock {
    ticks: AtomicU64,
    ticks_per_second: f64,
}

unsafe extern "C" fn simulated_clock_now(ctx: *mut c_void) -> u64 {
    // SAFETY: ctx is the address of a SimulatedClock kept alive (never freed)
    // by the driver's keepalive list.
    unsafe { &*(ctx as *const SimulatedClock) }.ticks.load(Ordering::Acquire)
}

impl SimulatedClock {
    /// A clock at `start` ticks running at `ticks_per_second`.
    pub fn new(start: u64, ticks_per_second: f64) -> Arc<Self> {
        Arc::new(SimulatedClock { ticks: AtomicU64::new(start), ticks_per_second })
    }
    /// Current time, ticks.
    pub fn now(&self) -> u64 {
        self.ticks.load(Ordering::Acquire)
    }
    /// Sets the time (ticks).
    pub fn set(&self, t: u64) {
        self.ticks.store(t, Ordering::Release);
    }
    /// Ticks per second.
    pub fn ticks_per_second(&self) -> f64 {
        self.ticks_per_second
    }
    /// Configures `driver` (shm name, this clock). The clock stays alive as
    /// long as the process (the driver keeps its pointer).
    pub fn configure(self: &Arc<Self>, driver: &mut Driver, shm_name: &str) -> Result<(), DriverError> {
        let clock = SimClock {
            func: Some(simulated_clock_now),
            ctx: Arc::as_ptr(self) as *mut c_void,
            ticks_per_second: self.ticks_per_second,
        };
        driver.configure(shm_name, Some(clock), Some(Box::new(self.clone())))
    }
}

/// The cycle info the HAL passes to Begin/Do/EndIOOperation for an output
/// buffer of `frames` frames that will be played at `output_sample_time`
/// (frames) / `output_host_time` (host ticks): the current time is one
/// safety offset plus one buffer earlier (the HAL writes ahead), the input
/// time one more buffer before that; host ticks per frame at the nominal
/// rate. Cycle counter 0 and nominal buffer size = `frames` (set them if
/// they matter). Layout: `AudioServerPlugInIOCycleInfo`, AudioServerPlugIn.h.
pub fn cycle_info(
    output_sample_time: f64,
    output_host_time: u64,
    frames: u32,
    safety_offset: u32,
    host_ticks_per_frame: f64,
) -> AudioServerPlugInIOCycleInfo {
    let flags = kAudioTimeStampSampleTimeValid | kAudioTimeStampHostTimeValid | kAudioTimeStampRateScalarValid;
    let ahead = (safety_offset + frames) as f64;
    let ts = |s: f64, h: u64| AudioTimeStamp {
        mSampleTime: s,
        mHostTime: h,
        mRateScalar: 1.0,
        mFlags: flags,
        ..Default::default()
    };
    let current_host = output_host_time.saturating_sub((ahead * host_ticks_per_frame) as u64);
    AudioServerPlugInIOCycleInfo {
        mIOCycleCounter: 0,
        mNominalIOBufferFrameSize: frames,
        mCurrentTime: ts(output_sample_time - ahead, current_host),
        mInputTime: ts(output_sample_time - ahead - frames as f64, current_host),
        mOutputTime: ts(output_sample_time, output_host_time),
        mMainHostTicksPerFrame: host_ticks_per_frame,
        mDeviceHostTicksPerFrame: host_ticks_per_frame,
    }
}

/// How IO cycles are paced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Pacing {
    /// At the device's pace on the host clock (the driver's default clock:
    /// CLOCK_MONOTONIC, or mach_absolute_time under the macOS-semantics
    /// emulation; see `gecko_ring::host_clock`), sleeping to absolute deadlines.
    #[default]
    RealTime,
    /// As fast as possible on a simulated clock that advances exactly one
    /// buffer of host ticks per cycle; never overruns an attached reader
    /// (waits for room in the ring before each cycle).
    Fast,
}

/// Where the mix comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum SourceSpec {
    /// An audio file (see [`crate::source`]).
    File {
        /// The file.
        path: PathBuf,
        /// Resample when the file's rate differs from the device's.
        resample: Resample,
    },
    /// A sine on every channel.
    Sine {
        /// Frequency, Hz.
        freq_hz: f64,
        /// Peak level, dBFS (≤ 0).
        dbfs: f64,
        /// Duration, seconds.
        seconds: f64,
    },
}

/// Configuration of [`run`].
#[derive(Clone, Debug)]
pub struct HostConfig {
    /// The driver bundle directory (`GeckoAudioDevice.driver`).
    pub bundle: PathBuf,
    /// Load a private copy of the bundle ([`crate::load_isolated`]).
    pub isolated: bool,
    /// Writer shm name given to the driver (≤ 28 bytes, `/name`).
    pub shm_name: String,
    /// Pacing.
    pub pacing: Pacing,
    /// IO buffer size, frames (default 512).
    pub io_buffer_frames: u32,
    /// Before StartIO, wait up to this long for a reader to attach (and after
    /// StartIO, for it to follow the new generation, so fast runs lose no
    /// frames). `None`: do not wait.
    pub wait_for_reader: Option<Duration>,
    /// Fast mode: longest wait for room in the ring before giving up.
    pub stall_timeout: Duration,
    /// The mix.
    pub source: SourceSpec,
    /// Call the progress callback every this many cycles (≥ 1).
    pub progress_every_cycles: u64,
    /// Play the plug-in sandbox that refuses to create shared memory (every
    /// `shm_open(O_CREAT)` in the driver fails with EPERM): the driver runs
    /// silent until a pre-created segment appears (`gecko ring precreate`).
    pub deny_shm_create: bool,
    /// Play the source this many times (≥ 1), from its start each time,
    /// with IO stopped for [`HostConfig::gap`] in between: StopIO, wait,
    /// StartIO on the same driver instance — the HAL's behaviour when the
    /// last client stops and a new one starts (the ring and its generation
    /// go on; the clock re-anchors).
    pub plays: u32,
    /// IO stopped between plays (see [`HostConfig::plays`]).
    pub gap: Duration,
    /// Be a recording app too: every cycle also reads Gecko Sink's input
    /// stream (ReadInput: the loopback) and appends it to this WAV file
    /// (float32, the device's rate and channels), and after the source ends
    /// IO goes on for [`RECORD_INPUT_TAIL`] of silence so the post tap's
    /// latency is covered. Input frame `j` has input sample time
    /// `j − io_buffer_frames` of the play (see [`HostReport::input`]).
    pub record_input: Option<PathBuf>,
}

/// Silence played after the source when recording the input ([`HostConfig::record_input`]).
pub const RECORD_INPUT_TAIL: Duration = Duration::from_secs(1);

/// What the recording client got ([`HostConfig::record_input`]).
#[derive(Clone, Debug, PartialEq)]
pub struct InputReport {
    /// The WAV file written.
    pub path: PathBuf,
    /// Frames recorded.
    pub frames: u64,
    /// Frames from an output frame's place in the output stream to the same
    /// sample time's place in the recording: source frame `i` of the first
    /// play was played at the sample time of recording frame `i + alignment_frames`
    /// (2 IO buffers + the output safety offset: the HAL's input time runs
    /// that far behind its output time).
    pub alignment_frames: u64,
    /// The device's input-scope `kAudioDevicePropertyLatency` at the end,
    /// frames: the recording carries source frame `i` at frame
    /// `i + alignment_frames + latency_frames` (0 for the pre tap).
    pub latency_frames: u32,
    /// Largest |sample| recorded.
    pub peak: f32,
    /// Samples recorded that were not finite (must be 0).
    pub non_finite: u64,
}

impl HostConfig {
    /// Defaults: real time, 512-frame buffers, no reader wait, 5 s stall
    /// timeout, progress every 100 cycles, not isolated.
    pub fn new(bundle: PathBuf, shm_name: &str, source: SourceSpec) -> Self {
        HostConfig {
            bundle,
            isolated: false,
            shm_name: shm_name.to_owned(),
            pacing: Pacing::RealTime,
            io_buffer_frames: 512,
            wait_for_reader: None,
            stall_timeout: Duration::from_secs(5),
            source,
            progress_every_cycles: 100,
            deny_shm_create: false,
            plays: 1,
            gap: Duration::ZERO,
            record_input: None,
        }
    }
}

/// Progress of a [`run`].
#[derive(Clone, Debug, PartialEq)]
pub struct HostProgress {
    /// IO cycles done.
    pub cycles: u64,
    /// Frames written (including end-of-source padding).
    pub frames_written: u64,
    /// Frames the source will produce, if known.
    pub total_frames: Option<u64>,
    /// Audio time written, seconds.
    pub audio_seconds: f64,
    /// Wall time since StartIO.
    pub elapsed: Duration,
}

/// What a [`run`] did.
#[derive(Clone, Debug)]
pub struct HostReport {
    /// The discovered device.
    pub device: DeviceInfo,
    /// The source's description.
    pub source: String,
    /// The file's rate when it was resampled to the device's.
    pub resampled_from: Option<f64>,
    /// Frames taken from the source.
    pub source_frames: u64,
    /// Frames written to the driver (source frames + silence padding the last cycle).
    pub frames_written: u64,
    /// IO cycles.
    pub cycles: u64,
    /// Cycles that started more than one buffer late (real-time mode).
    pub late_cycles: u64,
    /// The driver's ring counters at the end (if the ring could be read).
    pub counters: Option<gecko_ring::WriterCounters>,
    /// The zero-timestamp series check.
    pub zero_timestamps: ZeroTimeStampCheck,
    /// Wall time from StartIO to StopIO (summed over the plays).
    pub elapsed: Duration,
    /// Audio time written (frames_written / rate).
    pub audio_time: Duration,
    /// Total time spent waiting for room in the ring (fast mode).
    pub waited_for_room: Duration,
    /// The run was cancelled before the source ended.
    pub cancelled: bool,
    /// What the recording client got, when [`HostConfig::record_input`] was set.
    pub input: Option<InputReport>,
}

/// Errors of [`run`].
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// Loading the bundle failed.
    #[error(transparent)]
    Load(#[from] crate::bundle::LoadError),
    /// A driver call failed.
    #[error(transparent)]
    Driver(#[from] DriverError),
    /// The source failed.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The ring could not be read.
    #[error("ring {name}: {source}")]
    Ring {
        /// The writer segment's shm name.
        name: String,
        /// What the ring reported.
        source: gecko_ring::RingError,
    },
    /// No reader attached in time.
    #[error(
        "no reader attached to ring {name} within {waited:?} (start the engine first, or do not wait for a reader)"
    )]
    ReaderTimeout {
        /// The writer segment's shm name.
        name: String,
        /// How long the host waited.
        waited: Duration,
    },
    /// The input recording could not be written.
    #[error("cannot write the input recording {path}: {source}")]
    Record {
        /// The WAV file.
        path: PathBuf,
        /// What hound reported.
        source: hound::Error,
    },
    /// Fast mode: the reader did not make room in time.
    #[error("ring {name} stalled: the attached reader left only {free} free frames (need {needed}) for {waited:?}")]
    Stall {
        /// The writer segment's shm name.
        name: String,
        /// Free frames the reader left.
        free: u64,
        /// Frames the next IO cycle writes.
        needed: u64,
        /// How long the host waited.
        waited: Duration,
    },
}

fn open_source(spec: &SourceSpec, dev: &DeviceInfo) -> Result<Box<dyn AudioSource>, SourceError> {
    Ok(match spec {
        SourceSpec::File { path, resample } => {
            Box::new(FileSource::open(path, dev.channels, dev.sample_rate, *resample)?)
        }
        SourceSpec::Sine { freq_hz, dbfs, seconds } => {
            Box::new(SineSource::new(*freq_hz, *dbfs, *seconds, dev.sample_rate, dev.channels)?)
        }
    })
}

/// Sleeps until the host clock reaches `deadline` (host ticks, absolute).
fn sleep_until_host(deadline: u64) {
    // The host clock counts CLOCK_MONOTONIC in its own ticks (gecko_ring::host_clock).
    let deadline_ns = gecko_ring::host_clock::ticks_to_ns(deadline);
    let ts = libc::timespec {
        tv_sec: (deadline_ns / 1_000_000_000) as libc::time_t,
        tv_nsec: (deadline_ns % 1_000_000_000) as libc::c_long,
    };
    loop {
        // SAFETY: valid timespec; absolute sleep on CLOCK_MONOTONIC.
        let r = unsafe { libc::clock_nanosleep(libc::CLOCK_MONOTONIC, libc::TIMER_ABSTIME, &ts, std::ptr::null_mut()) };
        if r != libc::EINTR {
            break;
        }
    }
}

/// Waits (polling every ~0.5 ms, bounded by `timeout`) until `pred` holds on
/// the ring's status. Returns the time waited, or the last status on timeout.
fn wait_status(
    peek: &mut gecko_ring::Peek,
    name: &str,
    timeout: Duration,
    cancel: &AtomicBool,
    mut pred: impl FnMut(&gecko_ring::RingStatus) -> bool,
) -> Result<Result<Duration, gecko_ring::RingStatus>, HostError> {
    let start = Instant::now();
    loop {
        let st = peek.status().map_err(|source| HostError::Ring { name: name.to_owned(), source })?;
        if pred(&st) || cancel.load(Ordering::Relaxed) {
            return Ok(Ok(start.elapsed()));
        }
        if start.elapsed() >= timeout {
            return Ok(Err(st));
        }
        std::thread::sleep(Duration::from_micros(500));
    }
}

/// The simulated coreaudiod: loads the driver, configures it
/// (`GeckoSim_Configure`: shm name; in [`Pacing::Fast`] a simulated clock
/// advancing one buffer per cycle), `Initialize`s it with a fresh [`Host`],
/// discovers the device, opens the source at the device's rate/channels,
/// optionally waits for a reader, `StartIO`, runs cycles of
/// `io_buffer_frames` frames until the source ends (the last cycle padded
/// with silence to a full buffer), calls `GetZeroTimeStamp` every cycle and
/// checks the series, `StopIO` — and, for [`HostConfig::plays`] > 1, after
/// [`HostConfig::gap`] `StartIO` again and the source again from its start —
/// and reports.
///
/// `cancel` is checked every cycle (and while waiting); when set, IO is
/// stopped and the report has `cancelled = true`. `progress` is called every
/// `progress_every_cycles` cycles and once at the end.
pub fn run(
    config: &HostConfig,
    cancel: &AtomicBool,
    mut progress: impl FnMut(&HostProgress),
) -> Result<HostReport, HostError> {
    let name = config.shm_name.as_str();
    let buf = config.io_buffer_frames.max(1);
    let mut driver = if config.isolated { crate::load_isolated(&config.bundle)? } else { crate::load(&config.bundle)? };
    driver.set_deny_shm_create(config.deny_shm_create);
    let sim_clock = match config.pacing {
        Pacing::Fast => {
            // Simulated time runs on the host clock's timebase (24 MHz ticks
            // under the macOS-semantics emulation), so every consumer's
            // ticks ≠ ns conversions are exercised in fast runs too.
            let tps = gecko_ring::host_clock::ticks_per_second();
            let c = SimulatedClock::new((tps as u64).max(1), tps);
            c.configure(&mut driver, name)?;
            Some(c)
        }
        Pacing::RealTime => {
            driver.configure(name, None, None)?;
            None
        }
    };
    let ticks_per_second =
        sim_clock.as_ref().map_or_else(gecko_ring::host_clock::ticks_per_second, |c| c.ticks_per_second());
    driver.initialize(Arc::new(Host::new()))?;
    let device = driver.find_device()?;
    let mut source = open_source(&config.source, &device)?;
    let ring_err = |source| HostError::Ring { name: name.to_owned(), source };
    let mut peek = gecko_ring::Peek::open(name).ok();

    if let Some(wait) = config.wait_for_reader {
        let p = match peek.as_mut() {
            Some(p) => p,
            None => peek.insert(gecko_ring::Peek::open(name).map_err(ring_err)?),
        };
        if wait_status(p, name, wait, cancel, |s| s.read_count.is_some())?.is_err() {
            return Err(HostError::ReaderTimeout { name: name.to_owned(), waited: wait });
        }
    }

    let mut io = IoRunner::new(&driver, device.clone(), buf, ticks_per_second)?;
    let ch = device.channels as usize;
    let mut block = vec![0.0f32; buf as usize * ch];
    let record_err = |path: &PathBuf, source| HostError::Record { path: path.clone(), source };
    let mut recording = match &config.record_input {
        None => None,
        Some(path) => {
            if device.input_stream_id.is_none() {
                return Err(DriverError::Discovery(format!("{} has no input stream to record", device.name)).into());
            }
            let spec = hound::WavSpec {
                channels: device.channels as u16,
                sample_rate: device.sample_rate.round() as u32,
                bits_per_sample: 32,
                sample_format: hound::SampleFormat::Float,
            };
            let w = hound::WavWriter::create(path, spec).map_err(|e| record_err(path, e))?;
            Some((w, vec![0.0f32; buf as usize * ch], 0u64, 0f32, 0u64))
        }
    };
    let tail_cycles = if recording.is_some() {
        (RECORD_INPUT_TAIL.as_secs_f64() * device.sample_rate / buf as f64).ceil() as u64
    } else {
        0
    };
    let mut zts = ZeroTimeStampCheck::new(device.zero_timestamp_period, io.host_ticks_per_frame());
    let started = Instant::now();
    // Totals over the plays.
    let (mut source_frames, mut frames_written, mut late_cycles) = (0u64, 0u64, 0u64);
    let mut waited_for_room = Duration::ZERO;
    let mut cancelled = false;
    let mut io_time = Duration::ZERO;
    for play in 0..config.plays.max(1) {
        if play > 0 {
            // IO stopped between plays, as the HAL leaves it when no client plays.
            let until = Instant::now() + config.gap;
            while Instant::now() < until && !cancel.load(Ordering::Relaxed) {
                std::thread::sleep((until - Instant::now()).min(Duration::from_millis(50)));
            }
            if cancel.load(Ordering::Relaxed) {
                cancelled = true;
                break;
            }
            source = open_source(&config.source, &device)?;
        }
        // StartIO re-anchors the clock at sample time 0 (same seed): a new
        // series for the check; its findings are added up below.
        let mut play_zts = ZeroTimeStampCheck::new(device.zero_timestamp_period, io.host_ticks_per_frame());
        io.start_io()?;
        if peek.is_none() {
            peek = gecko_ring::Peek::open(name).ok();
        }
        let play_started = Instant::now();
        let written_before = frames_written;
        // Run everything after StartIO in a closure so StopIO always follows.
        let mut body = || -> Result<(u64, u64, u64, Duration, bool), HostError> {
            if let (Some(wait), Some(p)) = (config.wait_for_reader.filter(|_| play == 0), peek.as_mut()) {
                // StartIO began a new generation: let the reader follow it first.
                if wait_status(p, name, wait, cancel, |s| s.read_count.is_some())?.is_err() {
                    return Err(HostError::ReaderTimeout { name: name.to_owned(), waited: wait });
                }
            }
            let (s0, h0, _) = driver.get_zero_time_stamp(device.device_id, kAudioServerPlugInHostClientID)?;
            play_zts.observe(s0, h0, 0);
            let tpf = io.host_ticks_per_frame();
            let out_offset = (device.safety_offset + buf) as f64;
            let (mut source_frames, mut written, mut late) = (0u64, 0u64, 0u64);
            let mut waited = Duration::ZERO;
            let mut k: u64 = 0;
            let mut tail_left = tail_cycles;
            loop {
                if cancel.load(Ordering::Relaxed) {
                    return Ok((source_frames, written, late, waited, true));
                }
                let got = if tail_left < tail_cycles { 0 } else { source.read(&mut block)? };
                if got == 0 {
                    if tail_left == 0 {
                        break;
                    }
                    tail_left -= 1;
                }
                block[got * ch..].fill(0.0);
                source_frames += got as u64;
                let now_sample = s0 + (k * buf as u64) as f64;
                let host_time = h0 + (k as f64 * buf as f64 * tpf).round() as u64;
                match &sim_clock {
                    Some(clock) => {
                        if let Some(p) = peek.as_mut() {
                            match wait_status(p, name, config.stall_timeout, cancel, |s| s.free_frames() >= buf as u64)?
                            {
                                Ok(w) => waited += w,
                                Err(st) => {
                                    return Err(HostError::Stall {
                                        name: name.to_owned(),
                                        free: st.free_frames(),
                                        needed: buf as u64,
                                        waited: config.stall_timeout,
                                    });
                                }
                            }
                        }
                        clock.set(host_time);
                    }
                    None => {
                        let now = gecko_ring::host_clock::now();
                        if now > host_time + (buf as f64 * tpf) as u64 {
                            late += 1;
                        }
                        sleep_until_host(host_time);
                    }
                }
                let (s, h, seed) = driver.get_zero_time_stamp(device.device_id, kAudioServerPlugInHostClientID)?;
                play_zts.observe(s, h, seed);
                let (out_time, out_host) = (now_sample + out_offset, host_time + (out_offset * tpf) as u64);
                match recording.as_mut() {
                    None => io.do_write_mix_cycle(out_time, out_host, &block)?,
                    Some((wav, input, frames, peak, non_finite)) => {
                        io.do_cycle(out_time, out_host, &block, Some(input))?;
                        for &x in input.iter() {
                            if x.is_finite() {
                                *peak = peak.max(x.abs());
                            } else {
                                *non_finite += 1;
                            }
                            wav.write_sample(x).map_err(|e| record_err(config.record_input.as_ref().unwrap(), e))?;
                        }
                        *frames += buf as u64;
                    }
                }
                written += buf as u64;
                k += 1;
                if k.is_multiple_of(config.progress_every_cycles.max(1)) {
                    progress(&HostProgress {
                        cycles: io.cycles(),
                        frames_written: written_before + written,
                        total_frames: source.total_frames(),
                        audio_seconds: (written_before + written) as f64 / device.sample_rate,
                        elapsed: started.elapsed(),
                    });
                }
            }
            Ok((source_frames, written, late, waited, false))
        };
        let result = body();
        io_time += play_started.elapsed();
        let stop = io.stop_io();
        let (src, written, late, waited, stopped_early) = result?;
        stop?;
        zts.observed += play_zts.observed;
        zts.advances += play_zts.advances;
        zts.seed_changes += play_zts.seed_changes;
        zts.violations += play_zts.violations;
        zts.problems.extend(play_zts.problems);
        zts.problems.truncate(16);
        source_frames += src;
        frames_written += written;
        late_cycles += late;
        waited_for_room += waited;
        if stopped_early {
            cancelled = true;
            break;
        }
    }
    let elapsed = io_time;
    let cycles = io.cycles();
    progress(&HostProgress {
        cycles,
        frames_written,
        total_frames: source.total_frames(),
        audio_seconds: frames_written as f64 / device.sample_rate,
        elapsed: started.elapsed(),
    });
    let counters = peek.as_mut().and_then(|p| p.status().ok()).map(|s| s.writer);
    if zts.violations > 0 {
        tracing::warn!("zero timestamps inconsistent: {:?}", zts.problems);
    }
    let input = match (recording, &config.record_input) {
        (Some((wav, _, frames, peak, non_finite)), Some(path)) => {
            wav.finalize().map_err(|e| record_err(path, e))?;
            // IO is stopped: perform what the driver asked for meanwhile (the
            // loopback's latency, the engine's), as the HAL does, so the latency
            // read below is the one a recording app would get.
            driver.perform_pending_configuration_changes()?;
            let latency_frames = driver
                .get_u32(
                    device.device_id,
                    &AudioObjectPropertyAddress::new(kAudioDevicePropertyLatency, kAudioObjectPropertyScopeInput),
                )
                .unwrap_or(0);
            Some(InputReport {
                path: path.clone(),
                frames,
                alignment_frames: 2 * buf as u64 + device.safety_offset as u64,
                latency_frames,
                peak,
                non_finite,
            })
        }
        _ => None,
    };
    Ok(HostReport {
        source: source.describe(),
        resampled_from: source.resampled_from(),
        source_frames,
        frames_written,
        cycles,
        late_cycles,
        counters,
        zero_timestamps: zts,
        elapsed,
        audio_time: Duration::from_secs_f64(frames_written as f64 / device.sample_rate),
        waited_for_room,
        cancelled,
        device,
        input,
    })
}
