//! A whole POSIX shm segment mapped by name, for tests and tools that look
//! at (or, playing the engine, write) a ring's segments directly.

use std::ffi::{CString, c_void};
use std::sync::atomic::{AtomicU32, AtomicU64};

/// A shared mapping of the whole shm segment `name` (its size from fstat),
/// unmapped on drop. Words are accessed atomically: the driver reads and
/// writes the same memory concurrently.
#[derive(Debug)]
pub struct ShmMap {
    base: *mut u8,
    len: usize,
}

// SAFETY: the mapping is shared memory accessed through atomics (or by the
// caller's own unsafe reads); the pointer stays valid until drop.
unsafe impl Send for ShmMap {}
// SAFETY: as above.
unsafe impl Sync for ShmMap {}

impl ShmMap {
    /// Maps segment `name` read-write (`write`) or read-only; `None` if it
    /// does not exist or cannot be opened. Panics if fstat or mmap fails on
    /// an opened segment.
    pub fn open(name: &str, write: bool) -> Option<ShmMap> {
        let c = CString::new(name).ok()?;
        // SAFETY: plain POSIX calls with valid arguments; the fd is closed
        // after mmap (the mapping stays).
        unsafe {
            let fd = libc::shm_open(c.as_ptr(), if write { libc::O_RDWR } else { libc::O_RDONLY }, 0);
            if fd < 0 {
                return None;
            }
            let mut st: libc::stat = std::mem::zeroed();
            assert_eq!(libc::fstat(fd, &mut st), 0, "fstat {name}");
            let len = st.st_size as usize;
            let prot = if write { libc::PROT_READ | libc::PROT_WRITE } else { libc::PROT_READ };
            let base = libc::mmap(std::ptr::null_mut(), len.max(1), prot, libc::MAP_SHARED, fd, 0);
            libc::close(fd);
            assert_ne!(base, libc::MAP_FAILED, "mmap {name}");
            Some(ShmMap { base: base as *mut u8, len })
        }
    }

    /// The segment's size, bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the segment is empty (0 bytes).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The start of the mapping.
    pub fn as_ptr(&self) -> *const u8 {
        self.base
    }

    /// The u64 at byte offset `off`. Panics unless it lies inside, 8-byte aligned.
    pub fn word64(&self, off: usize) -> &AtomicU64 {
        assert!(off + 8 <= self.len && off.is_multiple_of(8), "u64 at {off} of {} bytes", self.len);
        // SAFETY: in bounds and aligned; shared memory accessed atomically.
        unsafe { AtomicU64::from_ptr(self.base.add(off) as *mut u64) }
    }

    /// The u32 at byte offset `off`. Panics unless it lies inside, 4-byte aligned.
    pub fn word32(&self, off: usize) -> &AtomicU32 {
        assert!(off + 4 <= self.len && off.is_multiple_of(4), "u32 at {off} of {} bytes", self.len);
        // SAFETY: as above.
        unsafe { AtomicU32::from_ptr(self.base.add(off) as *mut u32) }
    }
}

impl Drop for ShmMap {
    fn drop(&mut self) {
        // SAFETY: our mapping, not used after this.
        unsafe { libc::munmap(self.base as *mut c_void, self.len.max(1)) };
    }
}
