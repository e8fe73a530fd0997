//! `Peek::free_frames_fast` against a forged writer segment and a real
//! `Reader`: it must agree with the full `Peek::status().free_frames()`.

use gecko_ring::abi::{self, WriterSegment};
use gecko_ring::{AttachOptions, Peek, Reader};
use nix::fcntl::OFlag;
use nix::sys::mman::{MapFlags, ProtFlags, mmap, shm_open};
use nix::sys::stat::Mode;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};

const CAP: u32 = 1024;
const CH: u32 = 2;

/// A valid forged v1 writer segment (generation 7), unlinked with its reader segment on drop.
struct Forged {
    name: String,
    seg: *mut WriterSegment,
}

impl Forged {
    fn new() -> Forged {
        let name = format!("/gkpf{}", std::process::id());
        let _ = gecko_ring::unlink_segments(&name);
        let len = abi::WRITER_HEADER_SIZE as usize + (CAP * CH * 4) as usize;
        let fd = shm_open(name.as_str(), OFlag::O_RDWR | OFlag::O_CREAT | OFlag::O_EXCL, Mode::from_bits_truncate(0o644)).unwrap();
        nix::unistd::ftruncate(&fd, len as i64).unwrap();
        // SAFETY: a fresh shared mapping of `len` bytes; never unmapped (test process).
        let base = unsafe {
            mmap(None, NonZeroUsize::new(len).unwrap(), ProtFlags::PROT_READ | ProtFlags::PROT_WRITE, MapFlags::MAP_SHARED, &fd, 0)
        }
        .unwrap();
        let f = Forged { name, seg: base.as_ptr() as *mut WriterSegment };
        // SAFETY: the mapping is page aligned and longer than a WriterSegment; this
        // test is the only writer.
        let s = unsafe { &mut *f.seg };
        s.header.magic = abi::WRITER_MAGIC;
        s.header.version = abi::VERSION;
        s.header.header_size = abi::WRITER_HEADER_SIZE;
        s.header.capacity_frames = CAP;
        s.header.channels = CH;
        s.header.sample_format = abi::FORMAT_F32_INTERLEAVED;
        s.header.bytes_per_frame = CH * 4;
        s.header.segment_size = len as u64;
        s.header.writer_pid = std::process::id();
        s.state.generation = 7;
        s.state.sample_rate = 48000.0;
        s.state.volume_scalar = 1.0;
        f
    }

    /// Publishes `write_count` (frames) as the driver does (store-release).
    fn set_write_count(&self, w: u64) {
        // SAFETY: write_count is an 8-byte aligned u64 inside the mapping.
        let a = unsafe { AtomicU64::from_ptr(&raw mut (*self.seg).counters.write_count) };
        a.store(w, Ordering::Release);
    }
}

impl Drop for Forged {
    fn drop(&mut self) {
        let _ = gecko_ring::unlink_segments(&self.name);
    }
}

#[test]
fn free_frames_fast_agrees_with_status() {
    let f = Forged::new();
    let mut peek = Peek::open(&f.name).unwrap();
    // No reader segment at all: the whole ring is free.
    assert_eq!(peek.free_frames_fast(), CAP as u64);

    let mut reader = Reader::attach(&f.name, &AttachOptions::default()).unwrap();
    // Peek has not mapped the reader segment yet: still "no reader" until status().
    f.set_write_count(300);
    assert_eq!(peek.free_frames_fast(), CAP as u64);
    let st = peek.status().unwrap();
    assert_eq!(st.free_frames(), CAP as u64 - 300);
    assert_eq!(peek.free_frames_fast(), CAP as u64 - 300);

    // The reader consumes 100 frames: 100 more are free.
    let mut out = vec![0.0f32; 100 * CH as usize];
    assert_eq!(reader.read(&mut out).unwrap().frames, 100);
    assert_eq!(peek.free_frames_fast(), CAP as u64 - 200);
    assert_eq!(peek.status().unwrap().free_frames(), peek.free_frames_fast());

    // Exactly full, then a write count more than a ring ahead (invalid): 0.
    f.set_write_count(100 + CAP as u64);
    assert_eq!(peek.free_frames_fast(), 0);
    f.set_write_count(100 + CAP as u64 + 1);
    assert_eq!(peek.free_frames_fast(), 0);
    assert_eq!(peek.status().unwrap().free_frames(), 0);

    // Detached reader (dropped): the reader no longer counts.
    drop(reader);
    assert_eq!(peek.free_frames_fast(), CAP as u64);
    assert_eq!(peek.status().unwrap().free_frames(), CAP as u64);
}
