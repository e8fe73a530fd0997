//! `#[repr(C)]` mirror of `driver/include/gecko_shm_abi.h` (protocol v1).
//!
//! The C header is the ABI; these types copy it field for field, and
//! `tests/abi_layout.rs` compiles the header and checks every size, offset
//! and constant. Plain integer fields here are accessed through
//! [`crate::atomics`] helpers with the orderings the header documents; these
//! structs are never read or written by value from shared memory.

#![allow(missing_docs)] // field docs live in the C header; each struct says where.

/// Default POSIX shm name of the writer segment (`GECKO_SHM_DEFAULT_NAME`).
pub const DEFAULT_NAME: &str = "/GeckoAudioShm";
/// Suffix appended to the writer segment's name to name the reader segment.
pub const READER_SUFFIX: &str = ".rd";
/// Longest shm name macOS accepts (`PSHMNAMLEN`), bytes, without the NUL.
pub const NAME_MAX: u64 = 31;
/// Longest writer-segment name, leaving room for [`READER_SUFFIX`].
pub const WRITER_NAME_MAX: u64 = NAME_MAX - 3;
/// "GECKORNG" as a little-endian u64.
pub const WRITER_MAGIC: u64 = 0x474E_524F_4B43_4547;
/// "GECKORDR" as a little-endian u64.
pub const READER_MAGIC: u64 = 0x5244_524F_4B43_4547;
/// Protocol version; a reader refuses any other.
pub const VERSION: u32 = 1;
/// Cache-line size the layout is padded to, bytes (Apple Silicon: 128).
pub const CACHE_LINE: u64 = 128;
/// Bytes before the first frame in a v1 writer segment.
pub const WRITER_HEADER_SIZE: u32 = 512;
/// Size of a v1 reader segment, bytes.
pub const READER_SEGMENT_SIZE: u32 = 384;
/// `sample_format`: float32, native endian, interleaved.
pub const FORMAT_F32_INTERLEAVED: u32 = 1;
/// Smallest ring capacity a reader accepts, frames.
pub const MIN_CAPACITY_FRAMES: u32 = 1024;
/// Largest ring capacity a reader accepts, frames.
pub const MAX_CAPACITY_FRAMES: u32 = 1 << 20;
/// Capacity the driver creates, frames.
pub const DEFAULT_CAPACITY_FRAMES: u32 = 32768;
/// Smallest channel count a reader accepts.
pub const MIN_CHANNELS: u32 = 1;
/// Largest channel count a reader accepts.
pub const MAX_CHANNELS: u32 = 64;
/// Mode of both segments (owner rw, others r).
pub const MODE: u32 = 0o644;
/// Largest page of a supported Mac, bytes (`GECKO_SHM_MAX_PAGE_SIZE`): macOS
/// rounds a shm object's size up to the page at its one `ftruncate` (XNU
/// `bsd/kern/posix_shm.c`, `pshm_truncate`), and `fstat` reports the rounded
/// size. A segment of `nominal ..= round_up(nominal, MAX_PAGE_SIZE)` bytes
/// has the right size.
pub const MAX_PAGE_SIZE: u64 = 16384;

/// Whether `actual` bytes (from `fstat`) is a segment of `nominal` bytes,
/// rounded up to the page by the kernel (any page up to [`MAX_PAGE_SIZE`]).
pub fn is_page_rounded_size(actual: u64, nominal: u64) -> bool {
    actual >= nominal && actual <= nominal.div_ceil(MAX_PAGE_SIZE) * MAX_PAGE_SIZE
}

/// `GeckoShmWriterHeader`: offset 0 of the writer segment, 128 bytes.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct WriterHeader {
    pub magic: u64,
    pub version: u32,
    pub header_size: u32,
    pub segment_size: u64,
    pub capacity_frames: u32,
    pub channels: u32,
    pub sample_format: u32,
    pub bytes_per_frame: u32,
    pub writer_pid: u32,
    pub flags: u32,
    pub instance_id: u64,
    pub reserved: [u8; 72],
}

/// `GeckoShmWriterCounters`: offset 128 of the writer segment, 128 bytes.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct WriterCountersRaw {
    pub write_count: u64,
    pub io_cycles: u64,
    pub gap_events: u64,
    pub gap_frames: u64,
    pub overlap_events: u64,
    pub overlap_frames: u64,
    pub overrun_events: u64,
    pub overrun_frames: u64,
    pub reader_faults: u64,
    pub heartbeat_host_time: u64,
    pub reader_attached: u32,
    pub reserved0: u32,
    pub reserved: [u8; 40],
}

/// `GeckoShmWriterState`: offset 256 of the writer segment, 128 bytes, seqlock.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct WriterStateRaw {
    pub seq: u64,
    pub generation: u64,
    pub sample_rate: f64,
    pub zts_sample_time: f64,
    pub zts_host_time: u64,
    pub zts_seed: u64,
    pub host_ticks_per_frame: f64,
    pub host_ticks_per_second: f64,
    pub volume_scalar: f32,
    pub mute: u32,
    pub io_running: u32,
    pub zts_period_frames: u32,
    pub clock_adjust_ppm: f64,
    pub reserved: [u8; 40],
}

/// `GeckoShmLoopbackCounters`: offset 384 of the writer segment, 128 bytes
/// (the input stream's state, written by the driver's ReadInput).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct LoopbackCountersRaw {
    pub input_cycles: u64,
    pub input_frames: u64,
    pub silent_frames: u64,
    pub resync_events: u64,
    pub post_faults: u64,
    pub repaired_samples: u64,
    pub tap: u32,
    pub post_delay_frames: u32,
    pub post_attached: u32,
    pub reserved0: u32,
    pub reserved: [u8; 64],
}

/// `GeckoShmWriterSegment`: the first 512 bytes of the writer segment.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct WriterSegment {
    pub header: WriterHeader,
    pub counters: WriterCountersRaw,
    pub state: WriterStateRaw,
    pub loopback: LoopbackCountersRaw,
}

/// `GECKO_LOOPBACK_TAP_UNSET`: the engine expresses no tap (the driver keeps its own).
pub const TAP_UNSET: u32 = 0;
/// `GECKO_LOOPBACK_TAP_OFF`: the input carries silence.
pub const TAP_OFF: u32 = 1;
/// `GECKO_LOOPBACK_TAP_PRE`: what apps played, before volume and the engine.
pub const TAP_PRE: u32 = 2;
/// `GECKO_LOOPBACK_TAP_POST`: what the engine sends to the speakers.
pub const TAP_POST: u32 = 3;

/// Suffix appended to the writer segment's name to name the loopback segment.
pub const LOOPBACK_SUFFIX: &str = ".lp";
/// "GECKOLPB" as a little-endian u64.
pub const LOOPBACK_MAGIC: u64 = 0x4250_4C4F_4B43_4547;
/// Bytes before the first frame of a v1 loopback segment.
pub const LOOPBACK_HEADER_SIZE: u32 = 256;
/// Smallest loopback ring capacity the driver accepts, frames.
pub const LOOPBACK_MIN_CAPACITY_FRAMES: u32 = 1024;
/// Largest loopback ring capacity the driver accepts, frames.
pub const LOOPBACK_MAX_CAPACITY_FRAMES: u32 = 65536;

/// `GeckoShmLoopbackHeader`: offset 0 of the loopback segment, 128 bytes.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct LoopbackHeader {
    pub magic: u64,
    pub version: u32,
    pub header_size: u32,
    pub segment_size: u64,
    pub capacity_frames: u32,
    pub channels: u32,
    pub sample_format: u32,
    pub bytes_per_frame: u32,
    pub writer_pid: u32,
    pub block_frames: u32,
    pub instance_id: u64,
    pub sample_rate: f64,
    pub reserved: [u8; 64],
}

/// `GeckoShmLoopbackRing`: offset 128 of the loopback segment, 128 bytes.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct LoopbackRing {
    pub write_count: u64,
    pub heartbeat_ns: u64,
    pub reserved: [u8; 112],
}

/// `GeckoShmLoopbackSegment`: the first 256 bytes of the loopback segment.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct LoopbackSegment {
    pub header: LoopbackHeader,
    pub ring: LoopbackRing,
}

/// `GeckoShmReaderHeader`: offset 0 of the reader segment, 128 bytes.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ReaderHeader {
    pub magic: u64,
    pub version: u32,
    pub segment_size: u32,
    pub reader_pid: u32,
    pub flags: u32,
    pub instance_id: u64,
    pub reserved: [u8; 96],
}

/// `GeckoShmReaderCounters`: offset 128 of the reader segment, 128 bytes.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ReaderCountersRaw {
    pub read_count: u64,
    pub attached_generation: u64,
    pub underrun_events: u64,
    pub underrun_frames: u64,
    pub skipped_frames: u64,
    pub resync_events: u64,
    pub heartbeat_ns: u64,
    pub reserved: [u8; 72],
}

/// `GeckoShmReaderControl`: offset 256 of the reader segment, 128 bytes.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ReaderControl {
    pub seq: u64,
    pub clock_adjust_ppm: f64,
    pub latency_frames: u32,
    pub loopback_tap: u32,
    pub reserved: [u8; 104],
}

/// Largest `latency_frames` the driver accepts (`GECKO_SHM_MAX_LATENCY_FRAMES`).
pub const MAX_LATENCY_FRAMES: u32 = 524_288;

/// Largest clock adjustment the driver applies, ppm (`GECKO_SHM_MAX_CLOCK_ADJUST_PPM`).
pub const MAX_CLOCK_ADJUST_PPM: f64 = 10000.0;
/// Largest change of the applied adjustment per zero-timestamp period, ppm (`GECKO_SHM_MAX_CLOCK_SLEW_PPM`).
pub const MAX_CLOCK_SLEW_PPM: f64 = 100.0;

/// `GeckoShmReaderSegment`: the whole reader segment, 384 bytes.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ReaderSegment {
    pub header: ReaderHeader,
    pub counters: ReaderCountersRaw,
    pub control: ReaderControl,
}

const _: () = {
    assert!(size_of::<WriterSegment>() == WRITER_HEADER_SIZE as usize);
    assert!(size_of::<ReaderSegment>() == READER_SEGMENT_SIZE as usize);
    assert!(size_of::<LoopbackSegment>() == LOOPBACK_HEADER_SIZE as usize);
};

/// Byte offsets of the fields the reader and writer touch, within their segments.
pub mod off {
    use super::*;
    use std::mem::offset_of;

    pub const W_COUNTERS: usize = offset_of!(WriterSegment, counters);
    pub const W_STATE: usize = offset_of!(WriterSegment, state);
    pub const WRITE_COUNT: usize = W_COUNTERS + offset_of!(WriterCountersRaw, write_count);
    pub const READER_ATTACHED: usize = W_COUNTERS + offset_of!(WriterCountersRaw, reader_attached);
    pub const SEQ: usize = W_STATE + offset_of!(WriterStateRaw, seq);
    pub const GENERATION: usize = W_STATE + offset_of!(WriterStateRaw, generation);
    pub const IO_RUNNING: usize = W_STATE + offset_of!(WriterStateRaw, io_running);
    pub const WRITER_INSTANCE_ID: usize = offset_of!(WriterHeader, instance_id);
    pub const READER_INSTANCE_ID: usize = offset_of!(ReaderHeader, instance_id);

    pub const R_COUNTERS: usize = offset_of!(ReaderSegment, counters);
    pub const READ_COUNT: usize = R_COUNTERS + offset_of!(ReaderCountersRaw, read_count);
    pub const ATTACHED_GENERATION: usize = R_COUNTERS + offset_of!(ReaderCountersRaw, attached_generation);
    pub const CLOCK_ADJUST_PPM: usize =
        offset_of!(ReaderSegment, control) + offset_of!(ReaderControl, clock_adjust_ppm);
    pub const LATENCY_FRAMES: usize = offset_of!(ReaderSegment, control) + offset_of!(ReaderControl, latency_frames);
    pub const LOOPBACK_TAP: usize = offset_of!(ReaderSegment, control) + offset_of!(ReaderControl, loopback_tap);

    pub const W_LOOPBACK: usize = offset_of!(WriterSegment, loopback);

    pub const LP_BLOCK_FRAMES: usize = offset_of!(LoopbackHeader, block_frames);
    pub const LP_INSTANCE_ID: usize = offset_of!(LoopbackHeader, instance_id);
    pub const LP_WRITE_COUNT: usize = offset_of!(LoopbackSegment, ring) + offset_of!(LoopbackRing, write_count);
    pub const LP_HEARTBEAT_NS: usize = offset_of!(LoopbackSegment, ring) + offset_of!(LoopbackRing, heartbeat_ns);
}
