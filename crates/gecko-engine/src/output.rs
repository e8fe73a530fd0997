//! Playback on a real output device through cpal.
//!
//! The engine's pump thread pushes processed frames into a lock-free
//! `ringbuf` queue; the cpal callback pops them. The callback never
//! allocates, locks or blocks: a short queue is filled with silence and
//! counted as an underrun.

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use ringbuf::HeapRb;
use ringbuf::traits::{Consumer, Observer, Producer, Split};
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
    #[error("refusing to play into {0:?}: that is Gecko Sink itself (a feedback loop); choose your speakers or headphones")]
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
    #[error("output device {device:?} cannot play {channels} channels of float32 at {rate} Hz ({detail})")]
    Unsupported {
        /// Device name.
        device: String,
        /// Channels wanted.
        channels: u16,
        /// Rate wanted, Hz.
        rate: u32,
        /// What cpal said.
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

/// True if `name` is our own virtual device (never an output target).
pub fn is_gecko_sink(name: &str) -> bool {
    name.to_ascii_lowercase().contains("gecko sink")
}

/// Names of the output devices of cpal's default host.
pub fn output_device_names() -> Vec<String> {
    cpal::default_host()
        .output_devices()
        .map(|devs| devs.filter_map(|d| d.name().ok()).collect())
        .unwrap_or_default()
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

/// Opens and immediately closes an output, to learn whether playback would
/// work. Returns the device's name.
pub fn probe(device: Option<&str>, channels: u16, rate: u32) -> Result<String, OutputError> {
    Output::open(device, channels, rate, 1024).map(|o| o.device().to_owned())
}

/// Counters shared with the callback.
#[derive(Debug, Default)]
struct Shared {
    played_frames: AtomicU64,
    underrun_events: AtomicU64,
    underrun_frames: AtomicU64,
    started: AtomicBool,
    errors: AtomicU64,
}

/// The output callback's whole job (real-time): pop queued samples into
/// `data` (interleaved, `ch` channels), pad with silence, count. No
/// allocation, no lock, no syscall.
fn render(consumer: &mut impl Consumer<Item = f32>, data: &mut [f32], ch: usize, s: &Shared) {
    let n = consumer.pop_slice(data);
    data[n..].fill(0.0);
    s.played_frames.fetch_add((n / ch) as u64, Ordering::Relaxed);
    if n > 0 {
        s.started.store(true, Ordering::Relaxed);
    }
    if n < data.len() && s.started.load(Ordering::Relaxed) {
        s.underrun_events.fetch_add(1, Ordering::Relaxed);
        s.underrun_frames.fetch_add(((data.len() - n) / ch) as u64, Ordering::Relaxed);
    }
}

/// Totals of a playback session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutputReport {
    /// The device played on.
    pub device: String,
    /// Frames the device consumed from us.
    pub played_frames: u64,
    /// Frames the pump could not queue because the queue was full.
    pub dropped_frames: u64,
    /// Callbacks that found the queue short after playback had started.
    pub underrun_events: u64,
    /// Frames of silence those callbacks substituted.
    pub underrun_frames: u64,
    /// Stream errors cpal reported.
    pub stream_errors: u64,
}

/// A running output stream and the producer side of its queue.
pub struct Output {
    device: String,
    channels: usize,
    producer: ringbuf::HeapProd<f32>,
    shared: Arc<Shared>,
    dropped_frames: u64,
    _stream: cpal::Stream,
}

impl Output {
    /// Opens `device` (by exact name; `None` = the system default), at
    /// `rate` Hz with `channels` interleaved float32 channels, with a queue of
    /// `queue_frames` frames. Refuses Gecko Sink itself.
    pub fn open(device: Option<&str>, channels: u16, rate: u32, queue_frames: usize) -> Result<Output, OutputError> {
        let host = cpal::default_host();
        let dev = match device {
            None => quiet_stderr(|| host.default_output_device()).ok_or(OutputError::NoDevice)?,
            Some(want) => host
                .output_devices()
                .map_err(|_| OutputError::NoDevice)?
                .find(|d| d.name().map(|n| n == want).unwrap_or(false))
                .ok_or_else(|| OutputError::NotFound(want.to_owned()))?,
        };
        let name = dev.name().unwrap_or_else(|_| "(unnamed)".into());
        if is_gecko_sink(&name) {
            return Err(OutputError::FeedbackLoop(name));
        }
        let unsupported = |detail: String| OutputError::Unsupported { device: name.clone(), channels, rate, detail };
        let ok = quiet_stderr(|| dev.supported_output_configs())
            .map_err(|e| OutputError::Unavailable { device: name.clone(), detail: e.to_string() })?
            .any(|c| {
                c.channels() == channels
                    && c.sample_format() == cpal::SampleFormat::F32
                    && c.min_sample_rate().0 <= rate
                    && rate <= c.max_sample_rate().0
            });
        if !ok {
            return Err(unsupported("no matching configuration".into()));
        }
        let config = cpal::StreamConfig { channels, sample_rate: cpal::SampleRate(rate), buffer_size: cpal::BufferSize::Default };
        let (producer, mut consumer) = HeapRb::<f32>::new(queue_frames * channels as usize).split();
        let shared = Arc::new(Shared::default());
        let cb_shared = shared.clone();
        let err_shared = shared.clone();
        let ch = channels as usize;
        let stream = dev
            .build_output_stream(
                &config,
                move |data: &mut [f32], _: &cpal::OutputCallbackInfo| {
                    render(&mut consumer, data, ch, &cb_shared);
                },
                move |_err| {
                    err_shared.errors.fetch_add(1, Ordering::Relaxed);
                },
                None,
            )
            .map_err(|e| OutputError::Stream { device: name.clone(), detail: e.to_string() })?;
        stream.play().map_err(|e| OutputError::Stream { device: name.clone(), detail: e.to_string() })?;
        Ok(Output { device: name, channels: ch, producer, shared, dropped_frames: 0, _stream: stream })
    }

    /// The device's name.
    pub fn device(&self) -> &str {
        &self.device
    }

    /// Queues an interleaved block; what does not fit is dropped and counted.
    pub fn push(&mut self, block: &[f32]) {
        let n = self.producer.push_slice(block);
        self.dropped_frames += ((block.len() - n) / self.channels) as u64;
    }

    /// Frames queued and not yet played.
    pub fn queued_frames(&self) -> usize {
        self.producer.occupied_len() / self.channels
    }

    /// Totals so far.
    pub fn report(&self) -> OutputReport {
        let s = &self.shared;
        OutputReport {
            device: self.device.clone(),
            played_frames: s.played_frames.load(Ordering::Relaxed),
            dropped_frames: self.dropped_frames,
            underrun_events: s.underrun_events.load(Ordering::Relaxed),
            underrun_frames: s.underrun_frames.load(Ordering::Relaxed),
            stream_errors: s.errors.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_callback_plays_the_queue_then_counts_underruns_without_allocating() {
        let (mut prod, mut cons) = HeapRb::<f32>::new(4096).split();
        let shared = Shared::default();
        let mut data = vec![9.0f32; 512];
        let block: Vec<f32> = (0..768).map(|i| i as f32).collect();
        assert_no_alloc::assert_no_alloc(|| {
            // before anything was queued: silence, not an underrun
            render(&mut cons, &mut data, 2, &shared);
            assert!(data.iter().all(|&x| x == 0.0));
            assert_eq!(shared.underrun_events.load(Ordering::Relaxed), 0);
            prod.push_slice(&block);
            render(&mut cons, &mut data, 2, &shared);
            assert_eq!(data[..], block[..512]);
            render(&mut cons, &mut data, 2, &shared); // 256 left: half a buffer, then silence
            assert_eq!(data[..256], block[512..]);
            assert!(data[256..].iter().all(|&x| x == 0.0));
        });
        assert_eq!(shared.played_frames.load(Ordering::Relaxed), 384);
        assert_eq!(shared.underrun_events.load(Ordering::Relaxed), 1);
        assert_eq!(shared.underrun_frames.load(Ordering::Relaxed), 128);
    }

    /// Allocates inside the guard; run only by the test below, in a child process.
    #[test]
    #[ignore = "run by assert_no_alloc_is_live_in_this_test_binary; it aborts on purpose"]
    fn allocation_inside_the_guard_aborts() {
        assert_no_alloc::assert_no_alloc(|| {
            let v: Vec<u8> = Vec::with_capacity(64);
            std::hint::black_box(v);
        });
    }

    #[test]
    fn assert_no_alloc_is_live_in_this_test_binary() {
        // The guard must really catch an allocation, or the test above proves nothing.
        let st = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--ignored", "--exact", "output::tests::allocation_inside_the_guard_aborts", "--nocapture"])
            .stderr(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(st.signal(), Some(libc_sigabrt()), "allocation under assert_no_alloc was not caught: {st}");
    }

    fn libc_sigabrt() -> i32 {
        nix::sys::signal::Signal::SIGABRT as i32
    }

    #[test]
    fn gecko_sink_is_recognised_as_our_own_device() {
        assert!(is_gecko_sink("Gecko Sink"));
        assert!(is_gecko_sink("gecko sink (2)"));
        assert!(!is_gecko_sink("MacBook Pro Speakers"));
    }
}

#[cfg(test)]
#[global_allocator]
static ALLOC: assert_no_alloc::AllocDisabler = assert_no_alloc::AllocDisabler;
