//! The engine side of the ring: attach, read blocks, follow generations.

use crate::abi::{self, off};
use crate::error::RingError;
use crate::shm::{self, atomic_u64};
use crate::view::{RingFormat, WriterCounters, WriterState, WriterView};
use memmap2::MmapMut;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// How [`Reader::attach`] waits for the driver.
#[derive(Debug, Clone)]
pub struct AttachOptions {
    /// How long to keep retrying while the writer segment is missing, stale
    /// or mid-update. `Duration::ZERO` tries once.
    pub wait: Duration,
    /// Pause between retries.
    pub poll: Duration,
    /// Refuse a segment whose writer process no longer exists.
    pub require_live_writer: bool,
}

impl Default for AttachOptions {
    fn default() -> Self {
        AttachOptions { wait: Duration::ZERO, poll: Duration::from_millis(20), require_live_writer: true }
    }
}

/// Something that happened to the stream, reported by [`Reader::read`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RingEvent {
    /// The reader fell more than a ring behind (the writer did not see it
    /// attached) and jumped to the newest frame; `skipped_frames` were lost.
    Overrun {
        /// Frames jumped over.
        skipped_frames: u64,
    },
    /// The writer started a new generation (driver restart, IO re-anchored,
    /// format change). The reader re-attached at the newest frame.
    NewGeneration {
        /// The generation followed until now.
        old: u64,
        /// The format of the new generation.
        format: RingFormat,
        /// Channels or sample rate differ from the old generation's.
        format_changed: bool,
    },
}

/// Result of one [`Reader::read`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Read {
    /// Frames copied into the start of the caller's buffer.
    pub frames: usize,
    /// An event that happened before those frames, if any.
    pub event: Option<RingEvent>,
}

/// Reader-side statistics (also published in the reader segment).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReaderCounters {
    /// Frames consumed.
    pub read_count: u64,
    /// Times the consumer needed frames that were not there.
    pub underrun_events: u64,
    /// Frames of silence substituted for missing frames.
    pub underrun_frames: u64,
    /// Frames jumped over (attach, overrun, new generation).
    pub skipped_frames: u64,
    /// Attaches and resynchronisations.
    pub resync_events: u64,
}

/// The engine's handle on the ring: maps the driver's writer segment
/// read-only, owns the reader segment, and copies frames out a block at a
/// time (at most two `memcpy`s per read, no per-sample work).
///
/// Flow: [`Reader::attach`] → repeated [`Reader::read`] → drop (detaches;
/// the reader segment is kept for the next engine run, since the driver may
/// still have it mapped).
pub struct Reader {
    writer: WriterView,
    reader_map: MmapMut,
    format: RingFormat,
    mask: u64,
    /// Frames consumed (our own counter, mirrored to the reader segment).
    r: u64,
    /// Cached writer counter; reloaded only when it says "not enough".
    w_cached: u64,
    counters: ReaderCounters,
}

/// A random instance id, never 0 (the OS's random source, via std's hasher seed
/// mixed with the pid and the time, so two engines never share one).
pub(crate) fn new_instance_id() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    h.finish().max(1)
}

impl Reader {
    /// Attaches to the ring `name` (e.g. [`abi::DEFAULT_NAME`]): maps the
    /// writer segment read-only, validates it, creates or reuses the reader
    /// segment `name + ".rd"` (mode 0644), and attaches at the newest frame.
    ///
    /// Errors: [`RingError::NotInstalled`] when the driver has not created the
    /// segment (after waiting `opts.wait`), [`RingError::Foreign`],
    /// [`RingError::IncompatibleVersion`], [`RingError::Corrupt`],
    /// [`RingError::Truncated`], [`RingError::StaleWriter`], OS errors.
    pub fn attach(name: &str, opts: &AttachOptions) -> Result<Reader, RingError> {
        shm::validate_name(name)?;
        let start = Instant::now();
        loop {
            match Self::try_attach(name, opts) {
                Ok(r) => return Ok(r),
                Err(e) if e.is_transient() && start.elapsed() < opts.wait => {
                    let _ = e;
                    std::thread::sleep(opts.poll);
                }
                Err(e) if e.is_transient() && !opts.wait.is_zero() => {
                    return Err(RingError::Timeout {
                        name: name.to_owned(),
                        waited_ms: start.elapsed().as_millis() as u64,
                        last: Box::new(e),
                    });
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn try_attach(name: &str, opts: &AttachOptions) -> Result<Reader, RingError> {
        let writer = WriterView::open(name)?;
        let (format, _) = writer.format()?;
        if opts.require_live_writer && !shm::process_alive(format.writer_pid) {
            return Err(RingError::StaleWriter { name: name.to_owned(), pid: format.writer_pid });
        }
        let reader_name = shm::reader_name(name);
        let mut reader_map = shm::create_reader_segment(&reader_name)?;
        // Write our header (we own this segment).
        {
            let hdr = abi::ReaderHeader {
                magic: abi::READER_MAGIC,
                version: abi::VERSION,
                segment_size: abi::READER_SEGMENT_SIZE,
                reader_pid: std::process::id(),
                flags: 0,
                // Written last below (release): the driver tells engines apart by it.
                instance_id: 0,
                reserved: [0; 96],
            };
            // SAFETY: ReaderHeader is POD and the mapping is 384 bytes long.
            let bytes =
                unsafe { std::slice::from_raw_parts(&hdr as *const _ as *const u8, size_of::<abi::ReaderHeader>()) };
            reader_map[..bytes.len()].copy_from_slice(bytes);
            let base = reader_map.as_mut_ptr() as *const u8;
            // SAFETY: inside our 384-byte mapping, 8-byte aligned.
            unsafe { atomic_u64(base, off::READER_INSTANCE_ID) }.store(new_instance_id(), Ordering::Release);
        }
        let mut reader = Reader {
            mask: format.capacity_frames as u64 - 1,
            writer,
            reader_map,
            format,
            r: 0,
            w_cached: 0,
            counters: ReaderCounters::default(),
        };
        reader.attach_at_newest(format.generation, 0);
        Ok(reader)
    }

    /// Points the reader at the newest frame and tells the driver it follows `generation`.
    /// `skipped` frames were jumped over to get there (counted).
    fn attach_at_newest(&mut self, generation: u64, skipped: u64) {
        let w = self.writer.write_count();
        self.counters.skipped_frames += skipped;
        self.r = w;
        self.w_cached = w;
        self.counters.resync_events += 1;
        let base = self.reader_map.as_mut_ptr() as *const u8;
        // SAFETY: offsets are inside our 384-byte mapping and 8-byte aligned.
        unsafe {
            atomic_u64(base, off::READ_COUNT).store(w, Ordering::Release);
            atomic_u64(base, off::ATTACHED_GENERATION).store(generation, Ordering::Release);
        }
        self.publish_counters();
    }

    fn publish_counters(&mut self) {
        let base = self.reader_map.as_mut_ptr() as *const u8;
        let c = self.counters;
        let words = [c.underrun_events, c.underrun_frames, c.skipped_frames, c.resync_events];
        for (i, v) in words.into_iter().enumerate() {
            // SAFETY: reader counters 144..176 are inside our mapping.
            unsafe { atomic_u64(base, off::R_COUNTERS + 16 + 8 * i) }.store(v, Ordering::Relaxed);
        }
    }

    /// The format of the generation currently followed.
    pub fn format(&self) -> RingFormat {
        self.format
    }

    /// The writer segment's name.
    pub fn name(&self) -> &str {
        &self.writer.name
    }

    /// Frames readable now without blocking (reloads the writer's counter).
    pub fn available(&mut self) -> u64 {
        self.w_cached = self.writer.write_count();
        self.w_cached.wrapping_sub(self.r).min(self.format.capacity_frames as u64)
    }

    /// Copies up to `out.len() / channels` frames (interleaved float32,
    /// frames × channels) into `out` and releases them to the writer.
    /// Returns how many frames were copied (0 when the ring is empty) and any
    /// event that happened first. Never blocks.
    ///
    /// Errors: the writer's counters or header became invalid
    /// ([`RingError::Corrupt`]) or a new generation cannot be attached.
    pub fn read(&mut self, out: &mut [f32]) -> Result<Read, RingError> {
        let ch = self.format.channels as usize;
        let want = (out.len() / ch) as u64;
        if self.writer.generation() != self.format.generation {
            return self.follow_new_generation();
        }
        if self.w_cached.wrapping_sub(self.r) < want {
            self.w_cached = self.writer.write_count();
        }
        let w = self.w_cached;
        let avail = w.wrapping_sub(self.r);
        let cap = self.format.capacity_frames as u64;
        if avail > cap {
            // Either the writer overtook us (it did not see us attached) or
            // its counter is garbage. A new generation explains both.
            if self.writer.generation() != self.format.generation {
                return self.follow_new_generation();
            }
            if w < self.r {
                return Err(RingError::Corrupt {
                    name: self.writer.name.clone(),
                    field: "write_count",
                    value: format!("{w} (read_count {})", self.r),
                    expected: "write_count >= read_count within a generation",
                });
            }
            let skipped = avail;
            self.attach_at_newest(self.format.generation, skipped);
            return Ok(Read { frames: 0, event: Some(RingEvent::Overrun { skipped_frames: skipped }) });
        }
        let n = avail.min(want);
        if n == 0 {
            return Ok(Read { frames: 0, event: None });
        }
        self.copy_out(self.r, n as usize, out);
        if !self.writer.reader_attached() {
            // The writer may not honour our read_count: check it did not lap us mid-copy.
            let w_now = self.writer.write_count();
            if w_now.wrapping_sub(self.r) > cap {
                let skipped = w_now.wrapping_sub(self.r);
                self.attach_at_newest(self.format.generation, skipped);
                return Ok(Read { frames: 0, event: Some(RingEvent::Overrun { skipped_frames: skipped }) });
            }
        }
        self.r += n;
        // SAFETY: inside our mapping, aligned.
        unsafe { atomic_u64(self.reader_map.as_ptr(), off::READ_COUNT) }.store(self.r, Ordering::Release);
        Ok(Read { frames: n as usize, event: None })
    }

    /// Copies `n` frames starting at frame count `from` (≤ 2 memcpys).
    fn copy_out(&self, from: u64, n: usize, out: &mut [f32]) {
        let ch = self.format.channels as usize;
        let cap = self.format.capacity_frames as usize;
        let idx = (from & self.mask) as usize;
        let first = n.min(cap - idx);
        // SAFETY: the validated format guarantees header_size + cap*ch*4 ≤ mapping length;
        // idx + first ≤ cap and n - first ≤ cap; out holds ≥ n*ch samples.
        unsafe {
            let frames = self.writer.base().add(self.format.header_size as usize) as *const f32;
            std::ptr::copy_nonoverlapping(frames.add(idx * ch), out.as_mut_ptr(), first * ch);
            std::ptr::copy_nonoverlapping(frames, out.as_mut_ptr().add(first * ch), (n - first) * ch);
        }
    }

    fn follow_new_generation(&mut self) -> Result<Read, RingError> {
        let old = self.format;
        let (format, _) = self.writer.format()?;
        let format_changed = format.channels != old.channels || format.sample_rate != old.sample_rate;
        self.format = format;
        self.mask = format.capacity_frames as u64 - 1;
        // Frames of the old generation we never read are gone with it.
        self.attach_at_newest(format.generation, 0);
        Ok(Read { frames: 0, event: Some(RingEvent::NewGeneration { old: old.generation, format, format_changed }) })
    }

    /// Re-opens the writer segment by name — after its writer died and a new
    /// driver instance started (a coreaudiod restart), which may have reused
    /// or re-created the segment — and attaches at the newest frame of its
    /// current generation. Keeps this reader's own segment.
    ///
    /// Errors as [`Reader::attach`]; [`RingError::StaleWriter`] while no new
    /// writer is running yet (retry later).
    pub fn reopen(&mut self) -> Result<RingEvent, RingError> {
        let writer = WriterView::open(&self.writer.name)?;
        let (format, _) = writer.format()?;
        if !shm::process_alive(format.writer_pid) {
            return Err(RingError::StaleWriter { name: self.writer.name.clone(), pid: format.writer_pid });
        }
        let old = self.format;
        self.writer = writer;
        self.format = format;
        self.mask = format.capacity_frames as u64 - 1;
        self.attach_at_newest(format.generation, 0);
        Ok(RingEvent::NewGeneration {
            old: old.generation,
            format,
            format_changed: format.channels != old.channels || format.sample_rate != old.sample_rate,
        })
    }

    /// Asks the driver to run Gecko Sink's clock `ppm` parts per million
    /// faster (+) or slower (−) than nominal (clock steering). The driver
    /// clamps to ±[`abi::MAX_CLOCK_ADJUST_PPM`] and slews at most
    /// [`abi::MAX_CLOCK_SLEW_PPM`] per zero-timestamp period; what it applies
    /// is [`WriterState::clock_adjust_ppm`]. Non-finite values are stored as 0.
    /// One atomic store: real-time safe.
    pub fn set_clock_adjust_ppm(&mut self, ppm: f64) {
        let v = if ppm.is_finite() { ppm } else { 0.0 };
        // SAFETY: offset 264 is inside our 384-byte mapping, 8-byte aligned.
        unsafe { atomic_u64(self.reader_map.as_ptr(), off::CLOCK_ADJUST_PPM) }.store(v.to_bits(), Ordering::Relaxed);
    }

    /// Tells the driver how much latency the engine adds after the ring:
    /// `frames` at the ring's sample rate (the fill level the drift control
    /// holds, plus any output buffering the engine knows of). The driver
    /// reports it in Gecko Sink's `kAudioDevicePropertyLatency` (changed
    /// through the HAL's configuration-change flow when it moves by more than
    /// 5 ms), so players keep lip-sync. Clamped to
    /// [`abi::MAX_LATENCY_FRAMES`]. One atomic store.
    pub fn set_latency_frames(&mut self, frames: u32) {
        let base = self.reader_map.as_ptr();
        // SAFETY: offset 272 is inside our 384-byte mapping, 4-byte aligned.
        unsafe { shm::atomic_u32(base, off::LATENCY_FRAMES) }
            .store(frames.min(abi::MAX_LATENCY_FRAMES), Ordering::Relaxed);
    }

    /// Chooses the signal of Gecko Sink's input stream ([`crate::Tap`]); the
    /// driver picks it up at its next ReadInput and keeps it after the engine
    /// is gone. `None` expresses no preference (the driver keeps its tap).
    /// One atomic store: real-time safe.
    pub fn set_loopback_tap(&mut self, tap: Option<crate::Tap>) {
        let code = tap.map_or(abi::TAP_UNSET, crate::Tap::code);
        // SAFETY: offset 276 is inside our 384-byte mapping, 4-byte aligned.
        unsafe { shm::atomic_u32(self.reader_map.as_ptr(), off::LOOPBACK_TAP) }.store(code, Ordering::Relaxed);
    }

    /// Records that the consumer needed `frames` that were not there (an underrun).
    pub fn note_underrun(&mut self, frames: u64) {
        self.counters.underrun_events += 1;
        self.counters.underrun_frames += frames;
        self.publish_counters();
    }

    /// A consistent copy of the writer's published state (seqlock read).
    pub fn writer_state(&self) -> Result<WriterState, RingError> {
        let (_, s) = self.writer.snapshot()?;
        Ok(crate::view::state_from_raw(&s))
    }

    /// True between the driver's StartIO and StopIO (a cheap atomic load).
    pub fn io_running(&self) -> bool {
        self.writer.io_running()
    }

    /// The writer's statistics counters.
    pub fn writer_counters(&self) -> WriterCounters {
        self.writer.counters()
    }

    /// The reader's own statistics.
    pub fn counters(&self) -> ReaderCounters {
        ReaderCounters { read_count: self.r, ..self.counters }
    }

    /// Checks that the writer process still exists (one `kill(pid, 0)`
    /// syscall: call it from a housekeeping path, not per block).
    pub fn check_writer_alive(&self) -> Result<(), RingError> {
        if shm::process_alive(self.format.writer_pid) {
            Ok(())
        } else {
            Err(RingError::StaleWriter { name: self.writer.name.clone(), pid: self.format.writer_pid })
        }
    }

    /// Publishes a heartbeat (monotonic ns) in the reader segment.
    pub fn heartbeat(&mut self) {
        let ns = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
            .map(|t| t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64)
            .unwrap_or(0);
        // SAFETY: heartbeat_ns at reader offset 176 is inside our mapping.
        unsafe { atomic_u64(self.reader_map.as_ptr(), off::R_COUNTERS + 48) }.store(ns, Ordering::Relaxed);
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        // Detach: the driver stops honouring our read_count.
        // SAFETY: inside our mapping.
        unsafe { atomic_u64(self.reader_map.as_ptr(), off::ATTACHED_GENERATION) }.store(0, Ordering::Release);
    }
}
