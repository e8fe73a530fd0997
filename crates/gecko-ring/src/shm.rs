//! POSIX shared-memory plumbing: names, open, map, unlink (nix + memmap2).

use crate::abi;
use crate::error::RingError;
use memmap2::{Mmap, MmapMut, MmapOptions};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::mman::{shm_open, shm_unlink};
use nix::sys::stat::{Mode, fchmod, fstat};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Checks a writer-segment name: starts with '/', has no other '/', is not
/// empty after it, and leaves room for [`abi::READER_SUFFIX`] within macOS's
/// 31-byte limit ([`abi::WRITER_NAME_MAX`] bytes at most).
pub fn validate_name(name: &str) -> Result<(), RingError> {
    let bad = |reason| Err(RingError::InvalidName { name: name.to_owned(), reason });
    if !name.starts_with('/') {
        return bad("must start with '/'");
    }
    if name.len() < 2 {
        return bad("must have at least one character after '/'");
    }
    if name[1..].contains('/') {
        return bad("must not contain '/' after the first character");
    }
    if name.len() as u64 > abi::WRITER_NAME_MAX {
        return bad("must be at most 28 bytes (macOS allows 31, and the reader segment adds \".rd\")");
    }
    if name.bytes().any(|b| b == 0 || b.is_ascii_control()) {
        return bad("must not contain NUL or control characters");
    }
    Ok(())
}

/// The reader segment's name for a writer segment's name.
pub fn reader_name(writer_name: &str) -> String {
    format!("{writer_name}{}", abi::READER_SUFFIX)
}

/// Removes both segments of the ring `name` (writer and reader). Missing
/// segments are not an error. For tests, uninstall and recovering from a
/// foreign segment; never call it while a driver or engine uses the ring.
pub fn unlink_segments(name: &str) -> Result<(), RingError> {
    validate_name(name)?;
    for n in [name.to_owned(), reader_name(name)] {
        match shm_unlink(n.as_str()) {
            Ok(()) | Err(Errno::ENOENT) => {}
            Err(source) => return Err(RingError::ShmOpen { name: n, source }),
        }
    }
    Ok(())
}

/// Opens an existing segment read-only and maps all of it.
/// Returns the mapping and its size in bytes (from fstat).
pub(crate) fn map_readonly(name: &str) -> Result<Mmap, RingError> {
    let fd = match shm_open(name, OFlag::O_RDONLY, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::ENOENT) => return Err(RingError::NotInstalled { name: name.to_owned() }),
        Err(source) => return Err(RingError::ShmOpen { name: name.to_owned(), source }),
    };
    let size = fstat_size(&fd, name)?;
    if size == 0 {
        return Err(RingError::Truncated { name: name.to_owned(), size, needed: 1 });
    }
    // SAFETY: a shared mapping of a shm object; we only ever read it through
    // raw pointers and atomics (the other side writes it concurrently).
    unsafe { MmapOptions::new().len(size as usize).map(&fd) }
        .map_err(|source| RingError::Mmap { name: name.to_owned(), source })
}

/// Creates (or reuses) the engine-owned reader segment `name`, mapped
/// read-write, exactly [`abi::READER_SEGMENT_SIZE`] bytes, mode 0644.
/// A segment of another size is unlinked and re-created (never truncated a
/// second time: macOS refuses that).
pub(crate) fn create_reader_segment(name: &str) -> Result<MmapMut, RingError> {
    let want = abi::READER_SEGMENT_SIZE as u64;
    let mode = Mode::from_bits_truncate(abi::MODE as _);
    let open = |flags: OFlag| -> Result<OwnedFd, RingError> {
        shm_open(name, flags, mode).map_err(|source| RingError::ShmOpen { name: name.to_owned(), source })
    };
    let mut fd = open(OFlag::O_RDWR | OFlag::O_CREAT)?;
    let mut size = fstat_size(&fd, name)?;
    if size != 0 && size != want {
        drop(fd);
        shm_unlink(name).map_err(|source| RingError::ShmOpen { name: name.to_owned(), source })?;
        fd = open(OFlag::O_RDWR | OFlag::O_CREAT | OFlag::O_EXCL)?;
        size = 0;
    }
    if size == 0 {
        nix::unistd::ftruncate(&fd, want as i64)
            .map_err(|source| RingError::ShmIo { what: "size", name: name.to_owned(), source })?;
    }
    // The umask may have narrowed the mode; the driver must be able to read it.
    fchmod(fd.as_raw_fd(), mode).map_err(|source| RingError::ShmIo { what: "chmod", name: name.to_owned(), source })?;
    // SAFETY: shared mapping of our own segment; accessed via atomics/raw pointers only.
    unsafe { MmapOptions::new().len(want as usize).map_mut(&fd) }
        .map_err(|source| RingError::Mmap { name: name.to_owned(), source })
}

fn fstat_size(fd: &OwnedFd, name: &str) -> Result<u64, RingError> {
    let st = fstat(fd.as_raw_fd()).map_err(|source| RingError::ShmIo { what: "stat", name: name.to_owned(), source })?;
    Ok(st.st_size.max(0) as u64)
}

/// Atomic view of the u64 at `base + offset`.
///
/// # Safety
/// `base + offset` must be 8-byte aligned and inside a live mapping that
/// outlives the returned reference. Loads are fine on read-only mappings.
pub(crate) unsafe fn atomic_u64<'a>(base: *const u8, offset: usize) -> &'a AtomicU64 {
    // SAFETY: guaranteed by the caller.
    unsafe { AtomicU64::from_ptr(base.add(offset) as *mut u64) }
}

/// Atomic view of the u32 at `base + offset`. Same contract as [`atomic_u64`].
pub(crate) unsafe fn atomic_u32<'a>(base: *const u8, offset: usize) -> &'a AtomicU32 {
    // SAFETY: guaranteed by the caller.
    unsafe { AtomicU32::from_ptr(base.add(offset) as *mut u32) }
}

/// Copies `words` consecutive u64s starting at `base + offset` with relaxed
/// atomic loads (the seqlock read section).
///
/// # Safety
/// As [`atomic_u64`] for every word.
pub(crate) unsafe fn load_words(base: *const u8, offset: usize, out: &mut [u64]) {
    for (i, w) in out.iter_mut().enumerate() {
        // SAFETY: guaranteed by the caller.
        *w = unsafe { atomic_u64(base, offset + 8 * i) }.load(Ordering::Relaxed);
    }
}

/// Whether process `pid` exists (kill(pid, 0); EPERM means it exists but
/// belongs to another user, as coreaudiod's helper does).
pub fn process_alive(pid: u32) -> bool {
    if pid == 0 || pid > i32::MAX as u32 {
        return false;
    }
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), None) {
        Ok(()) | Err(Errno::EPERM) => true,
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_macos_limits() {
        assert!(validate_name("/GeckoAudioShm").is_ok());
        assert!(validate_name("/a").is_ok());
        assert!(validate_name("GeckoAudioShm").is_err());
        assert!(validate_name("/").is_err());
        assert!(validate_name("/a/b").is_err());
        assert!(validate_name(&format!("/{}", "x".repeat(27))).is_ok());
        assert!(validate_name(&format!("/{}", "x".repeat(28))).is_err());
        assert!(validate_name("/a\nb").is_err());
        assert_eq!(reader_name("/GeckoAudioShm"), "/GeckoAudioShm.rd");
    }

    #[test]
    fn liveness_of_processes() {
        assert!(process_alive(std::process::id()));
        assert!(!process_alive(0));
        assert!(!process_alive(u32::MAX));
    }
}
