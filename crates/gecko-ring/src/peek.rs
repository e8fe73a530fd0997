//! A passive, read-only look at both segments, for the simulated host's
//! pacing, `gecko status` and tests. It never attaches and never writes.

use crate::abi::{self, off};
use crate::error::RingError;
use crate::reader::ReaderCounters;
use crate::shm::{self, atomic_u64, load_words};
use crate::view::{RingFormat, WriterCounters, WriterState, WriterView};
use memmap2::Mmap;
use std::sync::atomic::Ordering;

/// One look at the ring.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RingStatus {
    /// The validated format of the current generation.
    pub format: RingFormat,
    /// The writer's published state.
    pub state: WriterState,
    /// Frames ever written.
    pub write_count: u64,
    /// The reader's counter, when a valid reader segment is attached to the
    /// current generation; `None` otherwise.
    pub read_count: Option<u64>,
    /// The writer's statistics.
    pub writer: WriterCounters,
    /// The reader's statistics, when a valid reader segment exists.
    pub reader: Option<ReaderCounters>,
    /// What the driver's input stream (the loopback) did.
    pub loopback: crate::LoopbackCounters,
}

impl RingStatus {
    /// Frames written but not yet read (the fill level), when a reader is attached.
    pub fn fill_frames(&self) -> Option<u64> {
        self.read_count.map(|r| self.write_count.wrapping_sub(r))
    }

    /// Frames the writer can write before the ring is full for the attached
    /// reader (`capacity` when none is attached; 0 if the reader's counter is invalid).
    pub fn free_frames(&self) -> u64 {
        let cap = self.format.capacity_frames as u64;
        match self.fill_frames() {
            Some(fill) if fill <= cap => cap - fill,
            Some(_) => 0,
            None => cap,
        }
    }
}

/// Read-only mappings of the writer segment and (if present) the reader segment.
pub struct Peek {
    writer: WriterView,
    reader_name: String,
    reader: Option<Mmap>,
    /// (generation, capacity in frames) of the last validated format, for
    /// [`Peek::free_frames_fast`].
    fast: Option<(u64, u64)>,
}

impl Peek {
    /// Opens the ring `name` read-only. Errors as [`crate::Reader::attach`]
    /// for the writer segment; a missing or invalid reader segment is not an error.
    pub fn open(name: &str) -> Result<Peek, RingError> {
        let writer = WriterView::open(name)?;
        let reader_name = shm::reader_name(name);
        let fast = writer.format().ok().map(|(f, _)| (f.generation, f.capacity_frames as u64));
        let mut p = Peek { writer, reader_name, reader: None, fast };
        p.reopen_reader();
        Ok(p)
    }

    /// Frames the writer can write now without overrunning the attached
    /// reader — the same answer as [`RingStatus::free_frames`], but cheap
    /// enough to call before every IO cycle of a fast host loop: three atomic
    /// loads (`write_count`, `attached_generation`, `read_count`, all
    /// acquire), no seqlock read, no validation, no system call, no allocation.
    ///
    /// It uses the generation and capacity (frames) validated by the last
    /// [`Peek::open`] or [`Peek::status`], and the reader segment mapped then:
    /// call [`Peek::status`] again after the reader segment appeared or the
    /// writer started a new generation (until then a reader attached to the
    /// new generation does not count, so the answer is `capacity`, as for
    /// no reader). Returns the capacity when no reader is attached to that
    /// generation, 0 when the reader's counter is invalid (more than a ring
    /// behind, or ahead of the writer), and 0 when no format was ever
    /// validated.
    pub fn free_frames_fast(&self) -> u64 {
        let Some((generation, cap)) = self.fast else { return 0 };
        let w = self.writer.write_count();
        let Some(m) = &self.reader else { return cap };
        let base = m.as_ptr();
        // SAFETY: the reader mapping is at least 384 bytes (checked when mapped);
        // both offsets are 8-byte aligned and inside it.
        let (attached, read_count) =
            unsafe { (atomic_u64(base, off::ATTACHED_GENERATION), atomic_u64(base, off::READ_COUNT)) };
        if attached.load(Ordering::Acquire) != generation {
            return cap;
        }
        let r = read_count.load(Ordering::Acquire);
        match w.wrapping_sub(r) {
            used if used <= cap => cap - used,
            _ => 0,
        }
    }

    fn reopen_reader(&mut self) {
        self.reader =
            shm::map_readonly(&self.reader_name).ok().filter(|m| m.len() >= abi::READER_SEGMENT_SIZE as usize);
    }

    fn reader_counters(&self, generation: u64) -> (Option<u64>, Option<ReaderCounters>) {
        let Some(m) = &self.reader else { return (None, None) };
        let base = m.as_ptr();
        let mut hdr = [0u64; 2];
        let mut w = [0u64; 6];
        // SAFETY: the mapping is at least 384 bytes (checked at open).
        unsafe {
            load_words(base, 0, &mut hdr);
            load_words(base, off::R_COUNTERS + 16, &mut w);
        }
        let version = hdr[1] as u32;
        if hdr[0] != abi::READER_MAGIC || version != abi::VERSION {
            return (None, None);
        }
        // SAFETY: as above.
        let (attached, read_count) = unsafe {
            (
                atomic_u64(base, off::ATTACHED_GENERATION).load(Ordering::Acquire),
                atomic_u64(base, off::READ_COUNT).load(Ordering::Acquire),
            )
        };
        let counters = ReaderCounters {
            read_count,
            underrun_events: w[0],
            underrun_frames: w[1],
            skipped_frames: w[2],
            resync_events: w[3],
        };
        ((attached == generation).then_some(read_count), Some(counters))
    }

    /// Reads the current status. Errors if the writer segment's contents are invalid.
    pub fn status(&mut self) -> Result<RingStatus, RingError> {
        if self.reader.is_none() {
            self.reopen_reader();
        }
        let (format, state) = self.writer.format()?;
        self.fast = Some((format.generation, format.capacity_frames as u64));
        let writer = self.writer.counters();
        let (read_count, reader) = self.reader_counters(format.generation);
        // SAFETY: the writer view is at least WRITER_HEADER_SIZE bytes (checked at open).
        let loopback = unsafe { crate::LoopbackCounters::load(self.writer.base()) };
        Ok(RingStatus { format, state, write_count: writer.write_count, read_count, writer, reader, loopback })
    }
}
