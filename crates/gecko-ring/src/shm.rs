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

/// Removes the segments of the ring `name` (writer, reader, loopback). Missing
/// segments are not an error. For tests, uninstall and recovering from a
/// foreign segment; never call it while a driver or engine uses the ring.
pub fn unlink_segments(name: &str) -> Result<(), RingError> {
    validate_name(name)?;
    for n in [name.to_owned(), reader_name(name), crate::loopback_name(name)] {
        match shm_unlink(n.as_str()) {
            Ok(()) | Err(Errno::ENOENT) => {}
            Err(source) => return Err(RingError::ShmOpen { name: n, source }),
        }
    }
    Ok(())
}

/// What [`precreate_writer_segment`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precreated {
    /// The segment was created and sized.
    Created,
    /// A segment of the right size was already there (kept as it is).
    AlreadyThere,
}

/// Creates the driver's writer segment `name` for a driver that may not
/// create one itself — the plug-in sandbox fallback (docs/macos-semantics.md):
/// mode 0644, sized once to the nominal size of a ring of `channels` ×
/// `capacity_frames` float32 frames (`abi::WRITER_HEADER_SIZE` + frames),
/// contents zero; the driver writes the header when it maps it. Run it as the
/// driver's user (`_coreaudiod` on macOS), so the segment the driver writes
/// is its own. Idempotent: a segment of the right (page-rounded) size is kept.
///
/// Errors: [`RingError::InvalidName`], [`RingError::ShmOpen`], and
/// [`RingError::ShmIo`] when sizing fails or a segment of another size is in
/// the way (remove it with [`unlink_segments`] while no driver runs).
pub fn precreate_writer_segment(name: &str, channels: u32, capacity_frames: u32) -> Result<Precreated, RingError> {
    validate_name(name)?;
    let want = abi::WRITER_HEADER_SIZE as u64 + capacity_frames as u64 * channels as u64 * 4;
    let mode = Mode::from_bits_truncate(abi::MODE as _);
    let (fd, created) = match shm_open(name, OFlag::O_RDWR | OFlag::O_CREAT | OFlag::O_EXCL, mode) {
        Ok(fd) => (fd, true),
        Err(Errno::EEXIST) => (
            shm_open(name, OFlag::O_RDONLY, Mode::empty())
                .map_err(|source| RingError::ShmOpen { name: name.to_owned(), source })?,
            false,
        ),
        Err(source) => return Err(RingError::ShmOpen { name: name.to_owned(), source }),
    };
    let (size, perms) = fstat_size_mode(&fd, name)?;
    if !created {
        return if abi::is_page_rounded_size(size, want) {
            Ok(Precreated::AlreadyThere)
        } else {
            Err(RingError::ShmIo {
                what: "pre-create (another size is in the way)",
                name: name.to_owned(),
                source: Errno::EEXIST,
            })
        };
    }
    if perms != abi::MODE {
        fchmod(fd.as_raw_fd(), mode).map_err(|source| RingError::ShmIo {
            what: "chmod",
            name: name.to_owned(),
            source,
        })?;
    }
    nix::unistd::ftruncate(&fd, want as i64).map_err(|source| RingError::ShmIo {
        what: "size",
        name: name.to_owned(),
        source,
    })?;
    Ok(Precreated::Created)
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
/// read-write ([`abi::READER_SEGMENT_SIZE`] bytes of it), mode 0644.
///
/// Within macOS's rules (XNU `bsd/kern/posix_shm.c`): one `ftruncate` per
/// object, so an existing segment is reused when its size is the nominal one
/// rounded up to the page ([`abi::is_page_rounded_size`]); `shm_open(O_CREAT)`
/// applies no umask there and `fchmod` on a shm descriptor fails with EINVAL,
/// so `fchmod` runs only when the mode is not 0644 (Linux's umask narrowed
/// it). A segment of another size, or whose mode cannot be fixed, is
/// unlinked and created anew with `O_EXCL` (the driver follows the new one:
/// it identifies segments by their instance id).
pub(crate) fn create_reader_segment(name: &str) -> Result<MmapMut, RingError> {
    let want = abi::READER_SEGMENT_SIZE as u64;
    let mode = Mode::from_bits_truncate(abi::MODE as _);
    let open = |flags: OFlag| -> Result<OwnedFd, RingError> {
        shm_open(name, flags, mode).map_err(|source| RingError::ShmOpen { name: name.to_owned(), source })
    };
    let fix_mode = |fd: &OwnedFd, perms: u32| perms == abi::MODE || fchmod(fd.as_raw_fd(), mode).is_ok();
    let mut fd = open(OFlag::O_RDWR | OFlag::O_CREAT)?;
    let (mut size, perms) = fstat_size_mode(&fd, name)?;
    if (size != 0 && !abi::is_page_rounded_size(size, want)) || !fix_mode(&fd, perms) {
        drop(fd);
        shm_unlink(name).map_err(|source| RingError::ShmOpen { name: name.to_owned(), source })?;
        fd = open(OFlag::O_RDWR | OFlag::O_CREAT | OFlag::O_EXCL)?;
        let perms;
        (size, perms) = fstat_size_mode(&fd, name)?;
        if perms != abi::MODE {
            fchmod(fd.as_raw_fd(), mode).map_err(|source| RingError::ShmIo {
                what: "chmod",
                name: name.to_owned(),
                source,
            })?;
        }
    }
    if size == 0 {
        nix::unistd::ftruncate(&fd, want as i64).map_err(|source| RingError::ShmIo {
            what: "size",
            name: name.to_owned(),
            source,
        })?;
    }
    // SAFETY: shared mapping of our own segment; accessed via atomics/raw pointers only.
    unsafe { MmapOptions::new().len(want as usize).map_mut(&fd) }
        .map_err(|source| RingError::Mmap { name: name.to_owned(), source })
}

fn fstat_size_mode(fd: &OwnedFd, name: &str) -> Result<(u64, u32), RingError> {
    let st =
        fstat(fd.as_raw_fd()).map_err(|source| RingError::ShmIo { what: "stat", name: name.to_owned(), source })?;
    Ok((st.st_size.max(0) as u64, st.st_mode as u32 & 0o777))
}

fn fstat_size(fd: &OwnedFd, name: &str) -> Result<u64, RingError> {
    let st =
        fstat(fd.as_raw_fd()).map_err(|source| RingError::ShmIo { what: "stat", name: name.to_owned(), source })?;
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
    fn a_precreated_writer_segment_has_the_nominal_size_and_is_kept() {
        let name = format!("/gkpre{}", std::process::id());
        let _ = unlink_segments(&name);
        assert_eq!(precreate_writer_segment(&name, 2, 1024).unwrap(), Precreated::Created);
        assert_eq!(precreate_writer_segment(&name, 2, 1024).unwrap(), Precreated::AlreadyThere);
        let fd = shm_open(name.as_str(), OFlag::O_RDONLY, Mode::empty()).unwrap();
        let (size, perms) = fstat_size_mode(&fd, &name).unwrap();
        assert!(abi::is_page_rounded_size(size, 512 + 1024 * 8), "{size}");
        assert_eq!(perms, 0o644);
        // Another format's segment is in the way: an error, not a resize.
        assert!(precreate_writer_segment(&name, 8, 32768).is_err());
        unlink_segments(&name).unwrap();
    }

    #[test]
    fn liveness_of_processes() {
        assert!(process_alive(std::process::id()));
        assert!(!process_alive(0));
        assert!(!process_alive(u32::MAX));
    }
}
