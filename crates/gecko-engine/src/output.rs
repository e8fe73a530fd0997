//! Playback on a real output device through cpal.
//!
//! [`select`] picks the device (by name or the system default — never Gecko
//! Sink itself) and its sample rate; [`OutputStream::start`] runs a cpal
//! stream whose real-time callback is the engine's render function. Stream
//! errors (e.g. the device was unplugged) are counted and flagged so the
//! control thread can move the engine to another device.

use crate::follow::{DeviceEntry, DeviceSnapshot};
use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Why playback could not start.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// No output device at all (e.g. a headless machine).
    #[error("no audio output device found")]
    NoDevice,
    /// The named device does not exist.
    #[error("output device {0:?} not found; `gecko devices` lists the available ones")]
    NotFound(String),
    /// The device is Gecko Sink itself: playing into it would feed our own input back.
    #[error(
        "refusing to play into {0:?}: that is Gecko Sink itself (a feedback loop); choose your speakers or headphones"
    )]
    FeedbackLoop(String),
    /// The device exists in name but cannot be opened (e.g. ALSA's "default"
    /// on a machine without a sound card).
    #[error("output device {device:?} is not available: {detail}")]
    Unavailable {
        /// Device name.
        device: String,
        /// What cpal said.
        detail: String,
    },
    /// The device cannot play this format.
    #[error("output device {device:?} cannot play {channels} channels of float32 ({detail})")]
    Unsupported {
        /// Device name.
        device: String,
        /// Channels wanted.
        channels: u16,
        /// What was missing.
        detail: String,
    },
    /// cpal failed to open or start the stream.
    #[error("could not start playback on {device:?}: {detail}")]
    Stream {
        /// Device name.
        device: String,
        /// What cpal said.
        detail: String,
    },
}

/// The output devices of cpal's default host, each with its stable id and
/// its name (see [`device_name`]); Gecko Sink included when it is there
/// ([`DeviceEntry::is_gecko_sink`]).
pub fn output_devices() -> Vec<DeviceEntry> {
    snapshot().devices
}

/// The output devices and the system default, now (for [`crate::follow::Follower`]).
/// Costs an enumeration of the host's devices: the control thread takes it
/// when [`crate::watch::DeviceWatch`] says so, never the audio thread.
pub fn snapshot() -> DeviceSnapshot {
    quiet_stderr(|| {
        let host = cpal::default_host();
        let devices = host
            .output_devices()
            .map(|devs| {
                devs.filter_map(|d| {
                    let name = device_name(&d)?;
                    let id = d.id().map(|i| i.id().to_owned()).unwrap_or_else(|_| name.clone());
                    Some(DeviceEntry { id, name })
                })
                .collect()
            })
            .unwrap_or_default();
        let default = host.default_output_device().and_then(|d| d.id().ok()).map(|i| i.id().to_owned());
        DeviceSnapshot { devices, default }
    })
}

/// The name Gecko shows a device by and selects it by. ALSA (Linux): its
/// PCM id — `default`, `hw:CARD=…`, a PCM an `.asoundrc` defines — which
/// is what `aplay -L` lists and what ALSA opens (cpal's description there is
/// the PCM's free-text hint). Elsewhere (CoreAudio): the device's name as the
/// system shows it ("MacBook Pro Speakers").
fn device_name(dev: &cpal::Device) -> Option<String> {
    #[cfg(target_os = "linux")]
    {
        dev.id().ok().map(|id| id.id().to_owned())
    }
    #[cfg(not(target_os = "linux"))]
    {
        dev.description().ok().map(|d| d.name().to_owned())
    }
}

/// Whether `dev` is the one the user asked for: by [`device_name`], or by
/// the host's stable device id (CoreAudio: the device UID, which survives
/// renames and reboots, unlike its AudioObjectID).
fn device_matches(dev: &cpal::Device, want: &str) -> bool {
    device_name(dev).is_some_and(|n| n == want) || dev.id().is_ok_and(|id| id.id() == want)
}

/// Runs `f` with file descriptor 2 pointed at /dev/null (Linux): ALSA's
/// library prints its configuration errors there ("cannot find card '0'")
/// when a machine has no sound card, and cpal reports the failure to us
/// anyway. Only used around device look-ups, before any audio runs.
fn quiet_stderr<T>(f: impl FnOnce() -> T) -> T {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let saved = nix::unistd::dup(2).ok();
        let null = std::fs::OpenOptions::new().write(true).open("/dev/null").ok();
        if let (Some(_), Some(n)) = (saved, &null) {
            let _ = nix::unistd::dup2(n.as_raw_fd(), 2);
        }
        let out = f();
        if let Some(fd) = saved {
            let _ = nix::unistd::dup2(fd, 2);
            let _ = nix::unistd::close(fd);
        }
        out
    }
    #[cfg(not(target_os = "linux"))]
    f()
}

/// cpal's text for an ALSA device that cannot be opened ("…no longer
/// available. For example, it has been unplugged.") misleads on a machine
/// that simply has no sound card; say that instead when ALSA reports none.
fn explain_unavailable(detail: String) -> String {
    let no_cards = cfg!(target_os = "linux")
        && std::fs::read_to_string("/proc/asound/cards").map(|s| s.contains("no soundcards")).unwrap_or(true);
    if no_cards { "this machine has no sound card (ALSA finds none)".to_owned() } else { detail }
}

/// A chosen output device and the rate it will run at.
pub struct Selected {
    device: cpal::Device,
    /// Callback size to ask for, frames (`None`: the device's default).
    buffer_frames: Option<u32>,
    /// The device's name.
    pub name: String,
    /// The device's stable id ([`DeviceEntry::id`]: the UID on macOS).
    pub id: String,
    /// Interleaved channels.
    pub channels: u16,
    /// The sample rate the stream will run at, Hz: the preferred rate when
    /// the device supports it (no resampling needed), else its default rate.
    pub rate: u32,
}

/// The system's default output device *as it is now*, pinned. cpal's own
/// default device (CoreAudio) builds a DefaultOutput unit that follows the
/// system default wherever it goes — and when the user switches the system
/// output to Gecko Sink, that would be Gecko Sink itself, a feedback loop.
/// The same device from the host's list plays on that device and no other.
fn pinned_default(host: &cpal::Host) -> Option<cpal::Device> {
    let default = host.default_output_device()?;
    let Ok(id) = default.id() else { return Some(default) };
    let listed = host.output_devices().ok()?.find(|d| d.id().is_ok_and(|i| i == id));
    Some(listed.unwrap_or(default))
}

/// Picks `device` (exact name, or the device's id — its UID on macOS;
/// `None` = the system default) for `channels`
/// float32 channels, preferring `preferred_rate` Hz. Refuses Gecko Sink.
pub fn select(device: Option<&str>, channels: u16, preferred_rate: u32) -> Result<Selected, OutputError> {
    let host = cpal::default_host();
    let dev = match device {
        None => quiet_stderr(|| pinned_default(&host)).ok_or(OutputError::NoDevice)?,
        Some(want) => quiet_stderr(|| host.output_devices())
            .map_err(|_| OutputError::NoDevice)?
            .find(|d| device_matches(d, want))
            .ok_or_else(|| OutputError::NotFound(want.to_owned()))?,
    };
    let name = device_name(&dev).unwrap_or_else(|| "(unnamed)".into());
    let id = dev.id().map(|i| i.id().to_owned()).unwrap_or_else(|_| name.clone());
    if gecko_identity::is_gecko_sink(&id) {
        return Err(OutputError::FeedbackLoop(name));
    }
    let configs: Vec<_> = quiet_stderr(|| dev.supported_output_configs())
        .map_err(|e| OutputError::Unavailable { device: name.clone(), detail: explain_unavailable(e.to_string()) })?
        .filter(|c| c.channels() == channels && c.sample_format() == cpal::SampleFormat::F32)
        .collect();
    if configs.is_empty() {
        return Err(OutputError::Unsupported {
            device: name,
            channels,
            detail: "no float32 configuration with that many channels".into(),
        });
    }
    // Ask for 512-frame callbacks when the device allows it: the drift
    // control's fill target must exceed one callback, and a predictable
    // size keeps the default 20 ms target feasible (PipeWire's ALSA plugin,
    // left to itself, delivers callbacks of several thousand frames).
    let buffer_frames = configs.iter().find_map(|c| match c.buffer_size() {
        cpal::SupportedBufferSize::Range { min, max } => Some(PREFERRED_BUFFER_FRAMES.clamp(*min, *max)),
        cpal::SupportedBufferSize::Unknown => None,
    });
    let rate = if configs.iter().any(|c| c.min_sample_rate() <= preferred_rate && preferred_rate <= c.max_sample_rate())
    {
        preferred_rate
    } else {
        let default = quiet_stderr(|| dev.default_output_config()).map(|c| c.sample_rate()).ok();
        default
            .filter(|r| configs.iter().any(|c| c.min_sample_rate() <= *r && *r <= c.max_sample_rate()))
            .unwrap_or(configs[0].max_sample_rate().min(192_000))
    };
    Ok(Selected { device: dev, buffer_frames, name, id, channels, rate })
}

/// The callback size the engine asks for, frames.
pub const PREFERRED_BUFFER_FRAMES: u32 = 512;

/// Opens and immediately closes an output, to learn whether playback would
/// work. Returns the device's name.
pub fn probe(device: Option<&str>, channels: u16, rate: u32) -> Result<String, OutputError> {
    let sel = select(device, channels, rate)?;
    let name = sel.name.clone();
    OutputStream::start(sel, |data: &mut [f32], _| data.fill(0.0)).map(|_| name)
}

/// Maps the output device's playback timestamps onto the driver's host
/// clock. The first callback anchors `gecko_ring::host_clock::now()` to its playback instant;
/// later callbacks are placed by how far their playback instant is from
/// that anchor. Callback *times* jitter with the audio server's scheduling
/// (PipeWire's ALSA plugin delivers bursts a quantum apart); playback
/// instants advance with the device's own clock — what the drift control
/// must follow. Falls back to a fresh clock read if the device reports no
/// usable timestamps.
#[derive(Debug, Default)]
pub struct Timeline {
    anchor: Option<(cpal::StreamInstant, u64)>,
}

impl Timeline {
    /// Host ticks for the buffer that will be heard at `playback`.
    pub fn now(&mut self, playback: cpal::StreamInstant) -> u64 {
        let (t0, h0) = *self.anchor.get_or_insert((playback, gecko_ring::host_clock::now()));
        match playback.checked_duration_since(t0) {
            Some(d) => h0 + gecko_ring::host_clock::ns_to_ticks(d.as_nanos() as u64),
            None => gecko_ring::host_clock::now(),
        }
    }
}

/// A running output stream.
pub struct OutputStream {
    name: String,
    id: String,
    rate: u32,
    errors: Arc<AtomicU64>,
    lost: Arc<AtomicBool>,
    callbacks: Arc<AtomicU64>,
    stream: cpal::Stream,
}

impl OutputStream {
    /// Starts playback on `sel`; `render(buffer, now)` fills each interleaved
    /// f32 buffer (frames × channels) on the device's real-time thread.
    /// `now` is the buffer's place on the *output timeline* in host ticks
    /// (see [`Timeline`]): smooth even when callbacks come in bursts.
    pub fn start(
        sel: Selected,
        mut render: impl FnMut(&mut [f32], u64) + Send + 'static,
    ) -> Result<OutputStream, OutputError> {
        let Selected { device, buffer_frames, name, id, channels, rate } = sel;
        let buffer_size = buffer_frames.map_or(cpal::BufferSize::Default, cpal::BufferSize::Fixed);
        let config = cpal::StreamConfig { channels, sample_rate: rate, buffer_size };
        let errors = Arc::new(AtomicU64::new(0));
        let lost = Arc::new(AtomicBool::new(false));
        let callbacks = Arc::new(AtomicU64::new(0));
        let (e2, l2, c2) = (errors.clone(), lost.clone(), callbacks.clone());
        let mut timeline = Timeline::default();
        let stream = quiet_stderr(|| {
            device.build_output_stream(
                config,
                move |data: &mut [f32], info: &cpal::OutputCallbackInfo| {
                    c2.fetch_add(1, Ordering::Relaxed);
                    let now = timeline.now(info.timestamp().playback);
                    render(data, now)
                },
                move |err| {
                    e2.fetch_add(1, Ordering::Relaxed);
                    if err.kind() == cpal::ErrorKind::DeviceNotAvailable {
                        l2.store(true, Ordering::Relaxed);
                    }
                },
                None,
            )
        })
        .map_err(|e| OutputError::Stream { device: name.clone(), detail: e.to_string() })?;
        stream.play().map_err(|e| OutputError::Stream { device: name.clone(), detail: e.to_string() })?;
        Ok(OutputStream { name, id, rate, errors, lost, callbacks, stream })
    }

    /// Stops the callbacks, keeping the device open (cpal's
    /// `Stream::pause`: CoreAudio stops the output unit). `Err` where the
    /// host or the device cannot pause (e.g. ALSA's `null` PCM): then drop
    /// the stream and start a new one to resume. A pause that returns `Ok`
    /// but does not stop the callbacks shows in [`OutputStream::callbacks`].
    pub fn pause(&self) -> Result<(), OutputError> {
        self.stream.pause().map_err(|e| OutputError::Stream { device: self.name.clone(), detail: e.to_string() })
    }

    /// Resumes the callbacks after [`OutputStream::pause`] (cpal's `Stream::play`).
    pub fn play(&self) -> Result<(), OutputError> {
        self.stream.play().map_err(|e| OutputError::Stream { device: self.name.clone(), detail: e.to_string() })
    }

    /// Callbacks run so far (one relaxed atomic add per callback).
    pub fn callbacks(&self) -> u64 {
        self.callbacks.load(Ordering::Relaxed)
    }

    /// The device's name.
    pub fn device(&self) -> &str {
        &self.name
    }

    /// The device's stable id ([`DeviceEntry::id`]).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The stream's sample rate, Hz.
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Stream errors cpal reported so far.
    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    /// True once cpal said the device is gone.
    pub fn device_lost(&self) -> bool {
        self.lost.load(Ordering::Relaxed)
    }

    /// Marks the device as lost (used when the control thread detects it
    /// another way, and by tests).
    pub fn mark_lost(&self) {
        self.lost.store(true, Ordering::Relaxed);
    }
}

/// Totals of a playback session.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OutputReport {
    /// The device played on (the last one, after any switch).
    pub device: String,
    /// Its sample rate, Hz.
    pub rate: u32,
    /// Frames handed to the device.
    pub played_frames: u64,
    /// Frames of silence played because the ring was short (after lock-in started).
    pub underrun_frames: u64,
    /// Stream errors cpal reported.
    pub stream_errors: u64,
    /// Times the engine moved to another device: because one disappeared
    /// (counted in `device_losses` too) or because a control client asked.
    pub device_switches: u64,
    /// Devices that disappeared while playing (the engine then moved to the default).
    pub device_losses: u64,
}
