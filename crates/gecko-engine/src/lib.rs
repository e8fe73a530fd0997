//! The Gecko engine: attaches to Gecko Sink's shared-memory ring, reads the
//! mix a block at a time, applies the device volume/mute and a gain, meters
//! it, records it to WAV and plays it on a real output device.
//!
//! In this version the engine runs a *pump* thread (ordinary priority) that
//! moves blocks from the ring to the recorder and to the output's lock-free
//! queue; the output device's real-time callback only pops that queue
//! (see [`output`]).

pub mod output;
pub mod recorder;

use gecko_dsp::{Gain, GainError, Meter, MeterReading};
use gecko_ring::{AttachOptions, Reader, RingError, RingEvent, RingFormat, WriterCounters};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub use output::{Output, OutputError, OutputReport};
pub use recorder::{RecordError, RecordReport, RecorderTx};

/// Where the processed audio goes, besides the recording.
#[derive(Debug, Clone, PartialEq)]
pub enum Playback {
    /// No playback (headless).
    None,
    /// The system's default output device; skipped with a warning if there is none.
    Default,
    /// The device with this exact name; an error if it cannot be opened.
    Device(String),
}

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Writer segment name of the ring (default `/GeckoAudioShm`).
    pub shm_name: String,
    /// Gain applied after the device volume, dB (−120..=+24).
    pub gain_db: f64,
    /// Write the processed stream to this WAV file (float32, the ring's rate and channels).
    pub record: Option<PathBuf>,
    /// Playback target.
    pub playback: Playback,
    /// How long to wait for the driver's segment to appear.
    pub attach_wait: Duration,
    /// Stop when the driver stops IO (after having run) and the ring is drained.
    pub exit_on_stop: bool,
    /// Stop after this much audio, if set.
    pub max_audio: Option<Duration>,
    /// Frames per block read from the ring.
    pub block_frames: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            shm_name: gecko_ring::abi::DEFAULT_NAME.to_owned(),
            gain_db: 0.0,
            record: None,
            playback: Playback::Default,
            attach_wait: Duration::from_secs(10),
            exit_on_stop: false,
            max_audio: None,
            block_frames: 512,
        }
    }
}

/// Errors that stop the engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Attaching to or reading the ring failed.
    #[error(transparent)]
    Ring(#[from] RingError),
    /// The gain setting is invalid.
    #[error(transparent)]
    Gain(#[from] GainError),
    /// The recording could not be created or written.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// The device's format changed while recording (a WAV has one format).
    #[error("Gecko Sink changed format ({old_channels} ch @ {old_rate} Hz → {new_channels} ch @ {new_rate} Hz) during the recording; the recording so far was saved")]
    FormatChanged {
        /// Channels before.
        old_channels: u32,
        /// Rate before, Hz.
        old_rate: f64,
        /// Channels after.
        new_channels: u32,
        /// Rate after, Hz.
        new_rate: f64,
    },
    /// The explicitly requested output device failed.
    #[error(transparent)]
    Output(#[from] OutputError),
}

/// Live state passed to the progress callback (a few times per second).
#[derive(Debug, Clone)]
pub struct EngineProgress {
    /// The ring's format.
    pub format: RingFormat,
    /// Frames processed so far.
    pub frames: u64,
    /// Levels since the previous progress call.
    pub window: MeterReading,
    /// Frames buffered in the ring.
    pub fill_frames: u64,
    /// The writer's counters.
    pub writer: WriterCounters,
    /// Whether the driver's IO is running.
    pub io_running: bool,
    /// The output device, if playing.
    pub output: Option<String>,
}

/// What happened during a run.
#[derive(Debug, Clone)]
pub struct EngineReport {
    /// Format of the ring at the end.
    pub format: RingFormat,
    /// Frames read from the ring (= frames processed).
    pub frames_in: u64,
    /// Frames written to the recording (0 without one).
    pub frames_recorded: u64,
    /// The recording's totals, if recording.
    pub recording: Option<RecordReport>,
    /// The writer's counters at the end (gaps, overlaps, overruns).
    pub writer: WriterCounters,
    /// Frames the reader skipped (attach jumps, laps).
    pub skipped_frames: u64,
    /// Overrun events the reader saw (it was lapped).
    pub reader_overruns: u64,
    /// New writer generations followed.
    pub generations_followed: u64,
    /// Non-finite samples replaced by silence.
    pub nonfinite_samples: u64,
    /// Levels over the whole run.
    pub levels: MeterReading,
    /// Playback totals, if a device played.
    pub output: Option<OutputReport>,
    /// Why playback was skipped, if it was.
    pub output_skipped: Option<String>,
    /// Wall-clock time of the run.
    pub elapsed: Duration,
}

impl EngineReport {
    /// Seconds of audio processed.
    pub fn audio_seconds(&self) -> f64 {
        self.frames_in as f64 / self.format.sample_rate
    }
}

/// Runs the engine until the driver stops (with `exit_on_stop`), `max_audio`
/// is reached, or `cancel` is set. Calls `progress` about 10 times a second.
pub fn run(
    config: &EngineConfig,
    cancel: &AtomicBool,
    mut progress: impl FnMut(&EngineProgress),
) -> Result<EngineReport, EngineError> {
    let started = Instant::now();
    let mut gain = Gain::new(config.gain_db)?;
    let mut reader = attach(config, cancel)?;
    let mut format = reader.format();
    let ch = format.channels as usize;
    tracing::info!(name = %config.shm_name, channels = ch, rate = format.sample_rate, generation = format.generation, "attached");

    // 10 s of queue: the recorder thread writes far faster than real time.
    let mut recorder = match &config.record {
        Some(path) => Some(recorder::start(path, format.channels as u16, format.sample_rate.round() as u32, (format.sample_rate * 10.0) as usize)?),
        None => None,
    };
    let (mut output, output_skipped) = open_output(&config.playback, &format)?;

    let block = config.block_frames.clamp(16, 65536);
    let mut buf = vec![0f32; block * ch];
    let mut total_meter = Meter::new(ch);
    let mut window_meter = Meter::new(ch);
    let mut frames_in = 0u64;
    let mut nonfinite = 0u64;
    let mut reader_overruns = 0u64;
    let mut generations = 0u64;
    let mut seen_io = false;
    let mut last_tick = Instant::now() - Duration::from_secs(1);
    let max_frames = config.max_audio.map(|d| (d.as_secs_f64() * format.sample_rate) as u64);
    let mut idle_since: Option<Instant> = None;
    // The writer process died (e.g. coreaudiod restarting); waiting for a new one.
    let mut writer_lost = false;
    let mut pending_event: Option<RingEvent> = None;

    let result: Result<(), EngineError> = loop {
        if cancel.load(Ordering::Relaxed) {
            break Ok(());
        }
        // Housekeeping a few times a second: device volume/mute, liveness, progress.
        if last_tick.elapsed() >= Duration::from_millis(100) {
            last_tick = Instant::now();
            if let Ok(st) = reader.writer_state() {
                gain.set_device(st.volume_scalar, st.mute);
            }
            reader.heartbeat();
            if idle_since.is_some_and(|t| t.elapsed() > Duration::from_millis(500)) {
                if let Err(e) = reader.check_writer_alive() {
                    if config.exit_on_stop && (seen_io || frames_in > 0) {
                        tracing::warn!("{e}; treating it as the end of the stream");
                        break Ok(());
                    }
                    if !writer_lost {
                        tracing::warn!("{e}; waiting for Gecko Sink's driver to come back");
                        writer_lost = true;
                    }
                    match reader.reopen() {
                        Ok(ev) => {
                            writer_lost = false;
                            pending_event = Some(ev);
                        }
                        Err(e) if e.is_transient() => {}
                        Err(e) => break Err(e.into()),
                    }
                }
            }
            progress(&EngineProgress {
                format,
                frames: frames_in,
                window: window_meter.reading(),
                fill_frames: reader.available(),
                writer: reader.writer_counters(),
                io_running: reader.io_running(),
                output: output.as_ref().map(|o| o.device().to_owned()),
            });
            window_meter.reset();
        }
        let want = match max_frames {
            Some(m) if m <= frames_in => break Ok(()),
            Some(m) => ((m - frames_in) as usize).min(block),
            None => block,
        };
        let io_running = reader.io_running();
        seen_io |= io_running;
        let rd = match pending_event.take() {
            Some(ev) => gecko_ring::Read { frames: 0, event: Some(ev) },
            None => match reader.read(&mut buf[..want * ch]) {
                Ok(rd) => rd,
                Err(e) => break Err(e.into()),
            },
        };
        match rd.event {
            Some(RingEvent::Overrun { skipped_frames }) => {
                reader_overruns += 1;
                tracing::warn!(skipped_frames, "the engine fell behind the driver; skipped to the newest audio");
            }
            Some(RingEvent::NewGeneration { old, format: new, format_changed }) => {
                generations += 1;
                tracing::info!(old, new = new.generation, format_changed, "driver restarted; re-attached");
                if format_changed {
                    if recorder.is_some() {
                        break Err(EngineError::FormatChanged {
                            old_channels: format.channels,
                            old_rate: format.sample_rate,
                            new_channels: new.channels,
                            new_rate: new.sample_rate,
                        });
                    }
                    let (o, _) = open_output(&config.playback, &new)?;
                    output = o;
                    buf = vec![0f32; block * new.channels as usize];
                    total_meter = Meter::new(new.channels as usize);
                    window_meter = Meter::new(new.channels as usize);
                }
                format = new;
                continue;
            }
            None => {}
        }
        if rd.frames == 0 {
            idle_since.get_or_insert_with(Instant::now);
            if config.exit_on_stop && (seen_io || frames_in > 0) && !reader.io_running() && reader.available() == 0 {
                break Ok(());
            }
            // Half an IO cycle at 48 kHz; the ring holds far more than this.
            std::thread::sleep(Duration::from_millis(2));
            continue;
        }
        idle_since = None;
        let ch = format.channels as usize;
        let samples = &mut buf[..rd.frames * ch];
        nonfinite += gecko_dsp::sanitize(samples);
        gain.process(samples, ch);
        total_meter.process(samples);
        window_meter.process(samples);
        frames_in += rd.frames as u64;
        if let Some(rec) = recorder.as_mut() {
            // The pump is not real-time: wait for the writer rather than lose audio.
            rec.push_all(samples);
        }
        if let Some(o) = output.as_mut() {
            o.push(samples);
        }
    };

    // Let the output play what is queued (bounded), then finish the recording.
    if let Some(o) = &output {
        let deadline = Instant::now() + Duration::from_secs(2);
        while o.queued_frames() > 0 && Instant::now() < deadline && !cancel.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    let recording = recorder.map(RecorderTx::finish).transpose();
    result?;
    let recording = recording?;
    let rc = reader.counters();
    Ok(EngineReport {
        format,
        frames_in,
        frames_recorded: recording.map_or(0, |r| r.frames_written),
        recording,
        writer: reader.writer_counters(),
        skipped_frames: rc.skipped_frames,
        reader_overruns,
        generations_followed: generations,
        nonfinite_samples: nonfinite,
        levels: total_meter.reading(),
        output: output.as_ref().map(Output::report),
        output_skipped,
        elapsed: started.elapsed(),
    })
}

/// Attaches, retrying transient failures (driver not there yet, stale
/// segment) until `attach_wait` has passed; gives up early on `cancel`.
fn attach(config: &EngineConfig, cancel: &AtomicBool) -> Result<Reader, EngineError> {
    let start = Instant::now();
    let once = AttachOptions { wait: Duration::ZERO, ..AttachOptions::default() };
    loop {
        match Reader::attach(&config.shm_name, &once) {
            Ok(r) => return Ok(r),
            Err(e) if e.is_transient() && start.elapsed() < config.attach_wait && !cancel.load(Ordering::Relaxed) => {
                std::thread::sleep(Duration::from_millis(20));
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

fn open_output(playback: &Playback, format: &RingFormat) -> Result<(Option<Output>, Option<String>), EngineError> {
    let rate = format.sample_rate.round() as u32;
    let ch = format.channels as u16;
    let queue = (format.sample_rate * 0.5) as usize; // 500 ms
    match playback {
        Playback::None => Ok((None, Some("playback disabled".into()))),
        Playback::Device(name) => Ok((Some(Output::open(Some(name), ch, rate, queue)?), None)),
        Playback::Default => match Output::open(None, ch, rate, queue) {
            Ok(o) => Ok((Some(o), None)),
            Err(e @ OutputError::FeedbackLoop(_)) => Err(e.into()),
            Err(e) => {
                tracing::warn!("no playback: {e}");
                Ok((None, Some(e.to_string())))
            }
        },
    }
}
