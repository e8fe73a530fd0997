//! A validated, read-only view of the driver-owned writer segment.

use crate::abi::{self, WriterHeader, WriterStateRaw, off};
use crate::error::RingError;
use crate::shm::{self, atomic_u32, atomic_u64, load_words};
use memmap2::Mmap;
use std::sync::atomic::{Ordering, fence};

/// How often a seqlock read is retried before [`RingError::Unstable`].
const SEQLOCK_TRIES: u32 = 10_000;

/// The ring's format, copied and validated at attach time. The reader uses
/// only this copy (never the live header) to index the ring, so a writer that
/// rewrites its header later cannot make the reader read out of bounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RingFormat {
    /// Samples per frame.
    pub channels: u32,
    /// Nominal sample rate, Hz.
    pub sample_rate: f64,
    /// Ring length, frames (a power of two).
    pub capacity_frames: u32,
    /// Writer generation this format belongs to (never 0).
    pub generation: u64,
    /// Offset of frame 0 from the segment start, bytes.
    pub header_size: u32,
    /// pid of the process hosting the driver.
    pub writer_pid: u32,
}

/// The writer's published state (seqlock-protected fields), one consistent copy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WriterState {
    /// Writer generation (changes on driver restart / re-anchor / format change).
    pub generation: u64,
    /// Nominal sample rate, Hz.
    pub sample_rate: f64,
    /// Last zero timestamp: sample time, frames.
    pub zts_sample_time: f64,
    /// Last zero timestamp: host time, host ticks.
    pub zts_host_time: u64,
    /// Zero-timestamp seed.
    pub zts_seed: u64,
    /// Host ticks per frame at the nominal rate.
    pub host_ticks_per_frame: f64,
    /// Host clock frequency, ticks per second.
    pub host_ticks_per_second: f64,
    /// Device master volume as a linear gain, 0..=1 (validated: NaN or out of range reads as 1).
    pub volume_scalar: f32,
    /// Device mute.
    pub mute: bool,
    /// True between the driver's StartIO and StopIO.
    pub io_running: bool,
    /// Zero-timestamp period, frames.
    pub zts_period_frames: u32,
    /// Clock adjustment the driver applies now, ppm (+ = faster); 0 when not finite.
    pub clock_adjust_ppm: f64,
}

/// The writer's statistics counters (relaxed snapshot; not mutually consistent).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterCounters {
    /// Frames ever written (monotonic within a generation).
    pub write_count: u64,
    /// Write-mix operations performed.
    pub io_cycles: u64,
    /// Cycles whose sample time jumped forward.
    pub gap_events: u64,
    /// Frames of silence written for gaps.
    pub gap_frames: u64,
    /// Cycles whose sample time went backwards.
    pub overlap_events: u64,
    /// Frames dropped as already written.
    pub overlap_frames: u64,
    /// Cycles that found the ring full.
    pub overrun_events: u64,
    /// Frames dropped because the ring was full.
    pub overrun_frames: u64,
    /// Invalid reader-segment contents the driver saw.
    pub reader_faults: u64,
    /// Host time of the last IO cycle, host ticks.
    pub heartbeat_host_time: u64,
    /// Whether the driver honours a reader (flow control active).
    pub reader_attached: bool,
}

/// Read-only mapping of a writer segment.
pub(crate) struct WriterView {
    pub(crate) name: String,
    map: Mmap,
}

impl WriterView {
    pub(crate) fn open(name: &str) -> Result<Self, RingError> {
        shm::validate_name(name)?;
        let map = shm::map_readonly(name)?;
        if (map.len() as u64) < abi::WRITER_HEADER_SIZE as u64 {
            return Err(RingError::Truncated {
                name: name.to_owned(),
                size: map.len() as u64,
                needed: abi::WRITER_HEADER_SIZE as u64,
            });
        }
        Ok(WriterView { name: name.to_owned(), map })
    }

    pub(crate) fn base(&self) -> *const u8 {
        self.map.as_ptr()
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// One consistent copy of header + state, via the seqlock.
    pub(crate) fn snapshot(&self) -> Result<(WriterHeader, WriterStateRaw), RingError> {
        let base = self.base();
        // SAFETY: offsets are inside the first 512 bytes, checked at open; 8-byte aligned.
        let seq = unsafe { atomic_u64(base, off::SEQ) };
        let mut header = [0u64; 16];
        let mut state = [0u64; 16];
        for _ in 0..SEQLOCK_TRIES {
            let s1 = seq.load(Ordering::Acquire);
            if s1 & 1 == 1 {
                std::hint::spin_loop();
                std::thread::yield_now();
                continue;
            }
            // SAFETY: as above.
            unsafe {
                load_words(base, 0, &mut header);
                load_words(base, off::W_STATE, &mut state);
            }
            fence(Ordering::Acquire);
            if seq.load(Ordering::Relaxed) == s1 {
                // SAFETY: both are plain-old-data repr(C) structs of 128 bytes
                // made only of integers, floats and byte arrays: every bit
                // pattern is a valid value.
                return Ok(unsafe {
                    (
                        std::mem::transmute::<[u64; 16], WriterHeader>(header),
                        std::mem::transmute::<[u64; 16], WriterStateRaw>(state),
                    )
                });
            }
        }
        Err(RingError::Unstable { name: self.name.clone(), tries: SEQLOCK_TRIES })
    }

    /// Validates a header snapshot against the protocol and this mapping.
    pub(crate) fn validate(&self, h: &WriterHeader, s: &WriterStateRaw) -> Result<RingFormat, RingError> {
        let name = &self.name;
        let corrupt = |field: &'static str, value: String, expected: &'static str| {
            Err(RingError::Corrupt { name: name.clone(), field, value, expected })
        };
        if h.magic != abi::WRITER_MAGIC {
            return Err(RingError::Foreign { name: name.clone(), magic: h.magic });
        }
        if h.version != abi::VERSION {
            return Err(RingError::IncompatibleVersion {
                name: name.clone(),
                found: h.version,
                expected: abi::VERSION,
            });
        }
        if h.header_size < abi::WRITER_HEADER_SIZE
            || !h.header_size.is_multiple_of(abi::CACHE_LINE as u32)
            || h.header_size > 65536
        {
            return corrupt("header_size", h.header_size.to_string(), "a multiple of 128 in 512..=65536");
        }
        let cap = h.capacity_frames;
        if !cap.is_power_of_two() || !(abi::MIN_CAPACITY_FRAMES..=abi::MAX_CAPACITY_FRAMES).contains(&cap) {
            return corrupt("capacity_frames", cap.to_string(), "a power of two in 1024..=1048576");
        }
        if !(abi::MIN_CHANNELS..=abi::MAX_CHANNELS).contains(&h.channels) {
            return corrupt("channels", h.channels.to_string(), "1..=64");
        }
        if h.sample_format != abi::FORMAT_F32_INTERLEAVED {
            return corrupt("sample_format", h.sample_format.to_string(), "1 (float32 interleaved)");
        }
        if h.bytes_per_frame != h.channels * 4 {
            return corrupt("bytes_per_frame", h.bytes_per_frame.to_string(), "channels * 4");
        }
        let needed = h.header_size as u64 + cap as u64 * h.bytes_per_frame as u64;
        if h.segment_size != needed {
            return corrupt(
                "segment_size",
                h.segment_size.to_string(),
                "header_size + capacity_frames * bytes_per_frame",
            );
        }
        if (self.len() as u64) < needed {
            return Err(RingError::Truncated { name: name.clone(), size: self.len() as u64, needed });
        }
        if s.generation == 0 {
            return corrupt("generation", "0".into(), "non-zero");
        }
        if !(s.sample_rate.is_finite() && (1000.0..=1_536_000.0).contains(&s.sample_rate)) {
            return corrupt("sample_rate", s.sample_rate.to_string(), "a finite rate in 1 kHz..=1536 kHz");
        }
        Ok(RingFormat {
            channels: h.channels,
            sample_rate: s.sample_rate,
            capacity_frames: cap,
            generation: s.generation,
            header_size: h.header_size,
            writer_pid: h.writer_pid,
        })
    }

    /// Snapshot + validation in one step.
    pub(crate) fn format(&self) -> Result<(RingFormat, WriterState), RingError> {
        let (h, s) = self.snapshot()?;
        let f = self.validate(&h, &s)?;
        Ok((f, state_from_raw(&s)))
    }

    pub(crate) fn generation(&self) -> u64 {
        // SAFETY: inside the validated first 512 bytes.
        unsafe { atomic_u64(self.base(), off::GENERATION) }.load(Ordering::Acquire)
    }

    pub(crate) fn write_count(&self) -> u64 {
        // SAFETY: inside the validated first 512 bytes.
        unsafe { atomic_u64(self.base(), off::WRITE_COUNT) }.load(Ordering::Acquire)
    }

    pub(crate) fn io_running(&self) -> bool {
        // SAFETY: inside the validated first 512 bytes.
        unsafe { atomic_u32(self.base(), off::IO_RUNNING) }.load(Ordering::Relaxed) != 0
    }

    pub(crate) fn reader_attached(&self) -> bool {
        // SAFETY: inside the validated first 512 bytes.
        unsafe { atomic_u32(self.base(), off::READER_ATTACHED) }.load(Ordering::Relaxed) != 0
    }

    pub(crate) fn counters(&self) -> WriterCounters {
        let mut w = [0u64; 11];
        // SAFETY: inside the validated first 512 bytes.
        unsafe { load_words(self.base(), off::W_COUNTERS, &mut w) };
        WriterCounters {
            write_count: w[0],
            io_cycles: w[1],
            gap_events: w[2],
            gap_frames: w[3],
            overlap_events: w[4],
            overlap_frames: w[5],
            overrun_events: w[6],
            overrun_frames: w[7],
            reader_faults: w[8],
            heartbeat_host_time: w[9],
            reader_attached: self.reader_attached(),
        }
    }
}

pub(crate) fn state_from_raw(s: &WriterStateRaw) -> WriterState {
    let v = s.volume_scalar;
    WriterState {
        generation: s.generation,
        sample_rate: s.sample_rate,
        zts_sample_time: s.zts_sample_time,
        zts_host_time: s.zts_host_time,
        zts_seed: s.zts_seed,
        host_ticks_per_frame: s.host_ticks_per_frame,
        host_ticks_per_second: s.host_ticks_per_second,
        volume_scalar: if v.is_finite() && (0.0..=1.0).contains(&v) { v } else { 1.0 },
        mute: s.mute != 0,
        io_running: s.io_running != 0,
        zts_period_frames: s.zts_period_frames,
        clock_adjust_ppm: if s.clock_adjust_ppm.is_finite() { s.clock_adjust_ppm } else { 0.0 },
    }
}
