//! WAV recording on its own thread, fed through a lock-free queue.
//!
//! The audio side only pushes interleaved float32 samples into a `ringbuf`
//! queue; a normal-priority thread drains it into a `hound` WAV writer. A
//! slow disk therefore never stalls audio: from a real-time callback use
//! [`RecorderTx::push`] (never blocks; what does not fit is dropped and
//! counted), from a non-real-time pump use [`RecorderTx::push_all`] (waits
//! for room: nothing is lost).

use ringbuf::HeapRb;
use ringbuf::traits::{Consumer, Observer, Producer, Split};
use std::io::{Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Why a recording failed.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Creating or writing the file failed.
    #[error("recording to {path}: {source}")]
    Wav {
        /// The WAV path.
        path: PathBuf,
        /// What hound said.
        #[source]
        source: hound::Error,
    },
    /// The writer thread panicked.
    #[error("recording to {0}: the writer thread stopped unexpectedly")]
    Thread(PathBuf),
}

/// Totals of a finished recording.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordReport {
    /// Frames written to the file.
    pub frames_written: u64,
    /// Frames the real-time side could not queue (queue full: the disk was too slow).
    pub frames_dropped: u64,
    /// Times frames were dropped.
    pub overflow_events: u64,
}

#[derive(Debug, Default)]
struct Shared {
    done: AtomicBool,
    dropped: AtomicU64,
    overflows: AtomicU64,
}

/// The audio side of a recording.
pub struct RecorderTx {
    producer: ringbuf::HeapProd<f32>,
    channels: usize,
    shared: Arc<Shared>,
    path: PathBuf,
    thread: Option<JoinHandle<Result<u64, RecordError>>>,
}

/// How often the recorder thread makes the file on disk a complete WAV
/// (header sizes updated, buffers flushed): a killed engine loses at most
/// this much of the recording, plus what was still queued.
pub const FLUSH_EVERY: Duration = Duration::from_millis(500);

/// The recorder thread's wait when its queue is empty, doubling from the
/// first to the second while it stays empty (5 ms: the audio side queues a
/// callback's worth every ~10 ms while playing; 500 ms: two wake-ups a
/// second while the engine idles — the queue holds seconds).
const IDLE_WAIT_MIN: Duration = Duration::from_millis(5);
const IDLE_WAIT_MAX: Duration = Duration::from_millis(500);

/// Starts recording to a new WAV file at `path` (float32, `channels`
/// interleaved, `sample_rate` Hz) with a queue of `queue_frames` frames.
/// The file is created before this returns, so a bad path fails here.
pub fn start(path: &Path, channels: u16, sample_rate: u32, queue_frames: usize) -> Result<RecorderTx, RecordError> {
    let spec = hound::WavSpec { channels, sample_rate, bits_per_sample: 32, sample_format: hound::SampleFormat::Float };
    let writer =
        hound::WavWriter::create(path, spec).map_err(|source| RecordError::Wav { path: path.to_owned(), source })?;
    Ok(start_with_writer(writer, path, channels as usize, queue_frames))
}

/// As [`start`] with any seekable writer (tests use a deliberately slow one).
pub fn start_with_writer<W: Write + Seek + Send + 'static>(
    mut writer: hound::WavWriter<W>,
    path: &Path,
    channels: usize,
    queue_frames: usize,
) -> RecorderTx {
    let (producer, mut consumer) = HeapRb::<f32>::new(queue_frames.max(1) * channels).split();
    let shared = Arc::new(Shared::default());
    let thread_shared = shared.clone();
    let thread_path = path.to_owned();
    let thread = std::thread::Builder::new()
        .name("gecko-recorder".into())
        .spawn(move || -> Result<u64, RecordError> {
            let wav_err = |source| RecordError::Wav { path: thread_path.clone(), source };
            let mut buf = vec![0f32; 8192 * channels];
            let mut samples = 0u64;
            let mut flushed = Instant::now();
            // Samples written since the last flush.
            let mut dirty = false;
            let mut wait = IDLE_WAIT_MIN;
            loop {
                // Read `done` before draining, so nothing pushed before it was set is missed.
                let done = thread_shared.done.load(Ordering::Acquire);
                let n = consumer.pop_slice(&mut buf);
                for &s in &buf[..n] {
                    writer.write_sample(s).map_err(wav_err)?;
                }
                samples += n as u64;
                dirty |= n > 0;
                // A valid WAV on disk at all times, however the engine ends (even
                // SIGKILL): hound's flush rewrites the header's sizes and flushes the
                // buffer. Twice a second, on whole frames.
                if dirty && flushed.elapsed() >= FLUSH_EVERY && samples.is_multiple_of(channels as u64) {
                    writer.flush().map_err(wav_err)?;
                    flushed = Instant::now();
                    dirty = false;
                }
                if n == 0 {
                    if done {
                        break;
                    }
                    // Nothing queued: wait longer each time (an idle engine
                    // queues nothing for hours), but not past a due flush;
                    // `finish` wakes the thread at once.
                    let until_flush = if dirty { FLUSH_EVERY.saturating_sub(flushed.elapsed()) } else { wait };
                    std::thread::park_timeout(wait.min(until_flush).max(IDLE_WAIT_MIN));
                    wait = (wait * 2).min(IDLE_WAIT_MAX);
                } else {
                    wait = IDLE_WAIT_MIN;
                }
            }
            writer.finalize().map_err(wav_err)?;
            Ok(samples / channels as u64)
        })
        .expect("spawning the recorder thread");
    RecorderTx { producer, channels, shared, path: path.to_owned(), thread: Some(thread) }
}

impl RecorderTx {
    /// Queues an interleaved block without blocking (real-time safe: no
    /// allocation, no lock). Whole frames that do not fit are dropped and
    /// counted. Returns the frames queued.
    pub fn push(&mut self, block: &[f32]) -> usize {
        let room = self.producer.vacant_len() / self.channels;
        let frames = block.len() / self.channels;
        let n = frames.min(room);
        self.producer.push_slice(&block[..n * self.channels]);
        if n < frames {
            self.shared.dropped.fetch_add((frames - n) as u64, Ordering::Relaxed);
            self.shared.overflows.fetch_add(1, Ordering::Relaxed);
        }
        n
    }

    /// Queues an interleaved block, waiting for room (not real-time: for the
    /// pump, where losing nothing matters more than latency). Returns early
    /// only if the writer thread has stopped (its error is reported by [`RecorderTx::finish`]).
    pub fn push_all(&mut self, mut block: &[f32]) {
        while !block.is_empty() {
            let n = self.producer.push_slice(block);
            block = &block[n..];
            if !block.is_empty() {
                if self.thread.as_ref().is_none_or(|t| t.is_finished()) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    }

    /// Frames dropped so far because the queue was full.
    pub fn frames_dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes the queue, finalizes the WAV and returns the totals.
    pub fn finish(mut self) -> Result<RecordReport, RecordError> {
        self.shared.done.store(true, Ordering::Release);
        let t = self.thread.take().expect("finish is called once");
        t.thread().unpark();
        let frames_written = t.join().map_err(|_| RecordError::Thread(self.path.clone()))??;
        Ok(RecordReport {
            frames_written,
            frames_dropped: self.shared.dropped.load(Ordering::Relaxed),
            overflow_events: self.shared.overflows.load(Ordering::Relaxed),
        })
    }
}

impl Drop for RecorderTx {
    fn drop(&mut self) {
        // Dropped without finish(): still finalize the file.
        self.shared.done.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A "disk" that takes `delay` per write call.
    struct SlowDisk {
        inner: std::io::Cursor<Vec<u8>>,
        delay: Duration,
        out: Arc<std::sync::Mutex<Vec<u8>>>,
    }
    impl Write for SlowDisk {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            std::thread::sleep(self.delay);
            self.inner.write(b)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            *self.out.lock().unwrap() = self.inner.get_ref().clone();
            Ok(())
        }
    }
    impl Seek for SlowDisk {
        fn seek(&mut self, p: std::io::SeekFrom) -> std::io::Result<u64> {
            self.inner.seek(p)
        }
    }

    fn slow(delay_ms: u64) -> (hound::WavWriter<std::io::BufWriter<SlowDisk>>, Arc<std::sync::Mutex<Vec<u8>>>) {
        let out = Arc::new(std::sync::Mutex::new(Vec::new()));
        let disk = SlowDisk {
            inner: std::io::Cursor::new(Vec::new()),
            delay: Duration::from_millis(delay_ms),
            out: out.clone(),
        };
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 48000,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        // A small BufWriter so the slow disk is hit often.
        (hound::WavWriter::new(std::io::BufWriter::with_capacity(1024, disk), spec).unwrap(), out)
    }

    fn samples_of(bytes: &[u8]) -> Vec<f32> {
        hound::WavReader::new(std::io::Cursor::new(bytes)).unwrap().samples::<f32>().map(Result::unwrap).collect()
    }

    #[test]
    fn a_slow_disk_never_blocks_the_real_time_side_and_drops_are_counted() {
        let (w, out) = slow(20);
        let mut tx = start_with_writer(w, Path::new("slow.wav"), 2, 1024);
        let block: Vec<f32> = (0..2 * 256).map(|i| i as f32).collect();
        let mut queued = 0;
        let t = std::time::Instant::now();
        for _ in 0..64 {
            queued += tx.push(&block);
        }
        // 64 pushes against a disk taking 20 ms per KB: pushing must not wait for it.
        assert!(t.elapsed() < Duration::from_millis(500), "push waited for the disk");
        let r = tx.finish().unwrap();
        assert!(r.frames_dropped > 0 && r.overflow_events > 0, "{r:?}");
        assert_eq!(r.frames_written + r.frames_dropped, 64 * 256);
        assert_eq!(r.frames_written as usize, queued);
        // what was written is whole blocks' prefixes, in order: a valid WAV of frames_written frames
        let s = samples_of(&out.lock().unwrap());
        assert_eq!(s.len() as u64, 2 * r.frames_written);
    }

    #[test]
    fn the_pump_side_loses_nothing_on_a_slow_disk() {
        let (w, out) = slow(2);
        let mut tx = start_with_writer(w, Path::new("slow.wav"), 2, 256);
        let mut expect = Vec::new();
        for k in 0..40 {
            let block: Vec<f32> = (0..2 * 300).map(|i| (k * 1000 + i) as f32).collect();
            tx.push_all(&block);
            expect.extend(block);
        }
        let r = tx.finish().unwrap();
        assert_eq!(r, RecordReport { frames_written: 40 * 300, frames_dropped: 0, overflow_events: 0 });
        assert_eq!(samples_of(&out.lock().unwrap()), expect);
    }

    #[test]
    fn push_is_allocation_free() {
        let (w, _out) = slow(0);
        let mut tx = start_with_writer(w, Path::new("x.wav"), 2, 4096);
        let block = vec![0.5f32; 2 * 512];
        assert_no_alloc::assert_no_alloc(|| {
            for _ in 0..4 {
                tx.push(&block);
            }
        });
        assert_eq!(tx.finish().unwrap().frames_written, 2048);
    }

    #[test]
    fn a_bad_path_fails_at_start() {
        let e = start(Path::new("/no/such/dir/x.wav"), 2, 48000, 16).err().unwrap();
        assert!(e.to_string().contains("/no/such/dir/x.wav"), "{e}");
    }
}
