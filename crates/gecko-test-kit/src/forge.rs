//! Forged writer segments for tests: a segment laid out
//! as the driver's (`driver/include/gecko_shm_abi.h`) but written by the test
//! itself, field by field, so readers can be fed valid, stale, corrupt or
//! hostile contents. Never used by the engine.

use gecko_ring::abi::{self, WriterSegment};
use nix::fcntl::OFlag;
use nix::sys::mman::{MapFlags, ProtFlags, mmap, munmap};
use nix::sys::stat::Mode;
use std::num::NonZeroUsize;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

static SERIAL: AtomicU32 = AtomicU32::new(0);

/// A writer segment forged by a test. Its name is unique in this process
/// (`/<prefix><pid>x<serial>`); the segment and its reader segment are
/// unlinked on drop.
pub struct ForgedWriter {
    name: String,
    base: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is shared memory owned by this value; tests that
// write it from several threads synchronise as the driver would.
unsafe impl Send for ForgedWriter {}

impl ForgedWriter {
    /// A valid v1 segment: `capacity_frames` (a power of two) × `channels`
    /// interleaved f32 frames, `sample_rate` Hz, generation 7, this process
    /// as the live writer, volume 1, everything else zero.
    ///
    /// Panics if the segment cannot be created (a test set-up failure).
    pub fn valid(prefix: &str, capacity_frames: u32, channels: u32, sample_rate: f64) -> ForgedWriter {
        let len = abi::WRITER_HEADER_SIZE as usize + (capacity_frames as usize) * (channels as usize) * 4;
        let f = ForgedWriter::raw(prefix, len);
        f.with(|s| {
            s.header.magic = abi::WRITER_MAGIC;
            s.header.version = abi::VERSION;
            s.header.header_size = abi::WRITER_HEADER_SIZE;
            s.header.capacity_frames = capacity_frames;
            s.header.channels = channels;
            s.header.sample_format = abi::FORMAT_F32_INTERLEAVED;
            s.header.bytes_per_frame = channels * 4;
            s.header.segment_size = len as u64;
            s.header.writer_pid = std::process::id();
            s.state.generation = 7;
            s.state.sample_rate = sample_rate;
            s.state.volume_scalar = 1.0;
        });
        f
    }

    /// A zero-filled segment of `len` bytes (any contents are up to the test).
    ///
    /// Panics if the segment cannot be created.
    pub fn raw(prefix: &str, len: usize) -> ForgedWriter {
        let name = format!("/{prefix}{}x{}", std::process::id(), SERIAL.fetch_add(1, Ordering::Relaxed));
        let _ = gecko_ring::unlink_segments(&name);
        let mode = Mode::from_bits_truncate(0o644);
        let fd = nix::sys::mman::shm_open(name.as_str(), OFlag::O_RDWR | OFlag::O_CREAT | OFlag::O_EXCL, mode)
            .unwrap_or_else(|e| panic!("shm_open {name}: {e}"));
        nix::unistd::ftruncate(&fd, len as i64).unwrap_or_else(|e| panic!("ftruncate {name}: {e}"));
        // SAFETY: a fresh shared mapping of `len` bytes of a segment we created.
        let base = unsafe {
            mmap(
                None,
                NonZeroUsize::new(len.max(1)).unwrap(),
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED,
                &fd,
                0,
            )
        }
        .unwrap_or_else(|e| panic!("mmap {name}: {e}"));
        ForgedWriter { name, base: base.cast(), len }
    }

    /// The segment's name, for [`gecko_ring::Reader::attach`] and [`gecko_ring::Peek::open`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Edits the header, counters and state in place (plain stores; use
    /// [`ForgedWriter::set_write_count`] to publish frames).
    ///
    /// Panics if the segment is shorter than a [`WriterSegment`].
    pub fn with(&self, f: impl FnOnce(&mut WriterSegment)) {
        assert!(self.len >= size_of::<WriterSegment>(), "segment shorter than its header");
        // SAFETY: the mapping is page aligned and at least a WriterSegment long;
        // the test is the segment's only writer.
        f(unsafe { &mut *(self.base.as_ptr() as *mut WriterSegment) });
    }

    /// The frame area after the header, samples (frames × channels,
    /// interleaved). Shared memory, handed out from `&self` as the driver
    /// sees it: hold one such slice at a time.
    #[allow(clippy::mut_from_ref)]
    pub fn frames(&self) -> &mut [f32] {
        let n = self.len.saturating_sub(abi::WRITER_HEADER_SIZE as usize) / 4;
        // SAFETY: the frame area follows the header inside the mapping.
        unsafe {
            std::slice::from_raw_parts_mut(self.base.as_ptr().add(abi::WRITER_HEADER_SIZE as usize) as *mut f32, n)
        }
    }

    /// Publishes `write_count` (frames) as the driver does: a release store.
    ///
    /// Panics if the segment is shorter than a [`WriterSegment`].
    pub fn set_write_count(&self, frames: u64) {
        assert!(self.len >= size_of::<WriterSegment>(), "segment shorter than its header");
        let seg = self.base.as_ptr() as *mut WriterSegment;
        // SAFETY: write_count is an 8-byte aligned u64 inside the mapping.
        let a = unsafe { AtomicU64::from_ptr(&raw mut (*seg).counters.write_count) };
        a.store(frames, Ordering::Release);
    }
}

impl Drop for ForgedWriter {
    fn drop(&mut self) {
        // SAFETY: our mapping, not used after this.
        let _ = unsafe { munmap(self.base.cast(), self.len.max(1)) };
        let _ = gecko_ring::unlink_segments(&self.name);
    }
}
