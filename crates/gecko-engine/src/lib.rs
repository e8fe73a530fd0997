//! The Gecko engine: attaches to Gecko Sink's shared-memory ring and plays
//! the system mix on a real output device, through drift control (clock
//! steering or adaptive resampling, [`gecko_drift`]) and the DSP chain
//! (device volume/mute → gain → EQ → limiter → meters, [`gecko_dsp`]), while
//! recording it to WAV and reporting telemetry.
//!
//! Threads: the output device's real-time callback runs [`core::RtCore::render`];
//! the control thread (the caller of [`run`]) sends [`core::Control`] values
//! and receives [`core::Telemetry`] through lock-free `ringbuf` queues, and
//! moves the core to another device ([`slot::CoreSlot`]) when the current one
//! disappears, the chosen one comes back or the system default changes
//! ([`follow`] decides, [`watch`] notices); the recorder writes WAV on its own thread
//! ([`recorder`]). Without an output device (headless), the control thread
//! drives the core itself in *pump* mode: it reads whatever the ring holds
//! and loses nothing — the mode for recordings and tests. While the
//! driver's IO is stopped, both modes idle ([`idle`] decides): the output
//! stream is paused or closed and the control thread wakes only at a slow
//! heartbeat.

pub mod core;
pub mod follow;
pub mod idle;
pub mod output;
pub mod recorder;
mod run;
pub mod settings;
pub mod slot;
pub mod watch;

use crate::core::Telemetry;
use gecko_dsp::{ChainError, ChainParams, MeterReading, MeterSnapshot};
use gecko_ring::{RingError, RingFormat, WriterCounters};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32};
use std::time::Duration;

pub use output::{OutputError, OutputReport, OutputStream};
pub use recorder::{RecordError, RecordReport, RecorderTx};
pub use settings::{Settings, SettingsError};

/// Where the processed audio goes, besides the recording.
#[derive(Debug, Clone, PartialEq)]
pub enum Playback {
    /// No playback (headless): pump mode.
    None,
    /// The system's default output device; pump mode with a warning if there is none.
    Default,
    /// The device with this exact name; an error if it cannot be opened.
    Device(String),
}

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Writer segment name of the ring (default `/GeckoAudioShm`).
    pub shm_name: String,
    /// What the person chose: DSP, output, drift control ([`Settings::validate`]
    /// runs when the engine attaches, at the ring's rate).
    pub settings: Settings,
    /// Write the processed stream to this WAV file (float32, the stream's rate and channels).
    pub record: Option<PathBuf>,
    /// How long to wait for the driver's segment to appear.
    pub attach_wait: Duration,
    /// Stop when the driver stops IO (after having run) and the ring is drained.
    pub exit_on_stop: bool,
    /// Stop after this much audio, if set.
    pub max_audio: Option<Duration>,
    /// Frames per block read from the ring in pump mode.
    pub block_frames: usize,
    /// Fault injection for tests: after this long, treat the output device
    /// as gone (exactly what cpal's `DeviceNotAvailable` error does), so the
    /// device-loss recovery can be exercised without unplugging hardware.
    pub simulate_device_loss_after: Option<Duration>,
    /// The loopback tap the engine asks the driver for: a
    /// [`gecko_ring::Tap::code`], or [`gecko_ring::abi::TAP_UNSET`] (0) for
    /// no preference (the driver keeps its tap). Shared so the control
    /// server can change it while the engine runs; the engine passes a
    /// change on within one housekeeping tick.
    pub loopback: Arc<AtomicU32>,
    /// How often the engine looks at the output devices where the system
    /// does not announce changes (ALSA): a device that disappears or comes
    /// back is followed within this time. macOS announces them
    /// ([`watch::DeviceWatch`]); there this is only a backstop.
    pub device_poll: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            shm_name: gecko_ring::abi::DEFAULT_NAME.to_owned(),
            settings: Settings::default(),
            record: None,
            attach_wait: Duration::from_secs(10),
            exit_on_stop: false,
            max_audio: None,
            block_frames: 512,
            simulate_device_loss_after: None,
            device_poll: Duration::from_secs(2),
            loopback: Arc::new(AtomicU32::new(gecko_ring::abi::TAP_UNSET)),
        }
    }
}

/// Errors that stop the engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Attaching to or reading the ring failed.
    #[error(transparent)]
    Ring(#[from] RingError),
    /// The DSP settings are invalid.
    #[error("invalid DSP settings: {0}")]
    Chain(#[from] ChainError),
    /// The recording could not be created or written.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// The device's format changed while recording (a WAV has one format).
    #[error(
        "Gecko Sink changed format ({old_channels} ch @ {old_rate} Hz → {new_channels} ch @ {new_rate} Hz) during the recording; the recording so far was saved"
    )]
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
    /// The ring's contents became invalid while playing.
    #[error(
        "Gecko Sink's shared memory {0} became invalid while playing (a corrupt or foreign writer); restart coreaudiod (or `gecko host`) and the engine"
    )]
    RingFault(String),
    /// The settings cannot run (every problem, each naming its field).
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The drift loop could not be built.
    #[error("drift control: {0}")]
    Drift(String),
}

/// Live state passed to the progress callback (about 10 times a second;
/// every [`idle::HEARTBEAT`] while idle).
#[derive(Debug, Clone)]
pub struct EngineProgress {
    /// The ring's format.
    pub format: RingFormat,
    /// The latest telemetry from the audio side.
    pub telemetry: Telemetry,
    /// The writer's counters.
    pub writer: WriterCounters,
    /// What the driver's input stream (the loopback) did.
    pub loopback: gecko_ring::LoopbackCounters,
    /// The engine feeds the driver's post tap (its loopback segment: it
    /// plays to an output at Gecko Sink's own rate).
    pub post_available: bool,
    /// The output device, if playing.
    pub output: Option<String>,
    /// Its stable id (the device UID on macOS, the PCM id on Linux): what
    /// presets are bound to ([`follow::DeviceEntry::id`]).
    pub output_id: Option<String>,
    /// Output devices that disappeared while playing, since the start.
    pub output_losses: u64,
    /// The engine is idle ([`idle`]): the driver's IO is stopped, the ring
    /// drained and the output paused (or closed); the control thread only
    /// looks at the ring every [`idle::HEARTBEAT`]. `telemetry` is then the
    /// last the audio side sent, with `io_running` as of now.
    pub idle: bool,
}

/// What happened during a run.
#[derive(Debug, Clone)]
pub struct EngineReport {
    /// Format of the ring at the end.
    pub format: RingFormat,
    /// Frames read from the ring.
    pub frames_in: u64,
    /// Frames written to the recording (0 without one).
    pub frames_recorded: u64,
    /// The recording's totals, if recording.
    pub recording: Option<RecordReport>,
    /// The writer's counters at the end (gaps, overlaps, overruns).
    pub writer: WriterCounters,
    /// Frames the reader skipped (attach jumps, laps).
    pub skipped_frames: u64,
    /// Times the reader was lapped.
    pub reader_overruns: u64,
    /// New writer generations followed.
    pub generations_followed: u64,
    /// Whole-run sample peak and RMS per channel of the processed stream
    /// (`Chain::run_reading`: 0 frames when the meters are off; after a
    /// format change, since that change).
    pub levels: MeterReading,
    /// The chain's meters at the end (loudness, true peak, limiter).
    pub meters: MeterSnapshot,
    /// Playback totals, if a device played.
    pub output: Option<OutputReport>,
    /// Why playback was skipped, if it was.
    pub output_skipped: Option<String>,
    /// The last telemetry (drift state) in real-time mode.
    pub last_telemetry: Option<Telemetry>,
    /// Times the engine went idle while the driver's IO was stopped, and
    /// the time it spent idle.
    pub idle: idle::IdleStats,
    /// Wall-clock time of the run.
    pub elapsed: Duration,
}

impl EngineReport {
    /// Seconds of audio read from the ring.
    pub fn audio_seconds(&self) -> f64 {
        self.frames_in as f64 / self.format.sample_rate
    }
}

/// Where live requests to move playback to another output device come
/// from (in `gecko engine`, gecko-control's `ControlState`, fed by the
/// control socket's `set_output`). Polled by the engine's control thread
/// about every 20 ms (every [`idle::HEARTBEAT`] while idle); never by the
/// audio thread.
pub trait OutputRequests {
    /// The engine plays to a device and takes requests (`true`), or runs
    /// headless or has stopped (`false`).
    fn set_accepting(&self, yes: bool);
    /// The next request, if any: its id and the device's name (`None`:
    /// the system's default output).
    fn take(&self) -> Option<(u64, Option<String>)>;
    /// The answer to request `id`: the device and its rate (Hz) now
    /// playing, or why the switch was refused (playback stays where it was).
    fn finish(&self, id: u64, result: Result<(String, u32), String>);
}

/// No live output requests (the demo, tests).
pub struct NoOutputRequests;

impl OutputRequests for NoOutputRequests {
    fn set_accepting(&self, _: bool) {}
    fn take(&self) -> Option<(u64, Option<String>)> {
        None
    }
    fn finish(&self, _: u64, _: Result<(String, u32), String>) {}
}

/// Runs the engine until the driver stops (with `exit_on_stop`), `max_audio`
/// is reached, or `cancel` is set. `controls` are applied live (they are
/// polled about 10 times a second). `progress` is called about 10 times a second.
///
/// While the driver's IO is stopped the engine idles ([`idle`]): once the
/// ring is drained and the output has played out to silence, it pauses the
/// output stream (or closes it where it cannot pause) and looks at the ring
/// only every [`idle::HEARTBEAT`] (5 wake-ups a second), resuming the
/// output within one heartbeat of the driver's StartIO. `cancel`,
/// `controls`, `progress` and output requests are then served at that pace.
pub fn run(
    config: &EngineConfig,
    cancel: &AtomicBool,
    controls: impl FnMut() -> Option<ChainParams>,
    progress: impl FnMut(&EngineProgress),
) -> Result<EngineReport, EngineError> {
    run_with_outputs(config, cancel, controls, progress, &NoOutputRequests)
}

/// [`run`], also taking live requests to move playback to another output
/// device from `outputs` (while playing; a headless engine refuses them).
/// A switch keeps the ring, the drift loop (rebuilt only if the new device
/// runs at another rate), the DSP settings and the recording; the audio
/// pauses for the time it takes to open the device. If the new device
/// cannot be started, playback returns to the previous one (or, failing
/// that, the default) and the request is answered with the reason.
pub fn run_with_outputs(
    config: &EngineConfig,
    cancel: &AtomicBool,
    controls: impl FnMut() -> Option<ChainParams>,
    progress: impl FnMut(&EngineProgress),
    outputs: &dyn OutputRequests,
) -> Result<EngineReport, EngineError> {
    run::run(config, cancel, controls, progress, outputs)
}
