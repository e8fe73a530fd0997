//! The kernel semantics the suite runs under, checked call by call.
//!
//! `scripts/test.sh` runs the ring, driver, drift, engine and CLI tests twice:
//! on Linux's own semantics, and under `scripts/macos-semantics/run`, which
//! preloads an emulation of XNU's (`GECKO_MACOS_SEMANTICS` set). This file
//! proves that the emulation is really in force in the second run — a
//! preload that silently failed would make that run a copy of the first — and
//! that each rule is XNU's (`bsd/kern/posix_shm.c`; docs/macos-semantics.md).
//! In the Linux run it checks that Linux still behaves as the code expects
//! there (umask applies, fchmod works, names up to NAME_MAX).

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::mman::{MapFlags, ProtFlags, mmap, shm_open, shm_unlink};
use nix::sys::stat::{Mode, fchmod, fstat};
use nix::unistd::ftruncate;
use std::num::NonZeroUsize;
use std::os::fd::AsRawFd;

fn macos() -> bool {
    std::env::var_os("GECKO_MACOS_SEMANTICS").is_some()
}

fn page() -> u64 {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as u64 }
}

struct Name(String);
impl Name {
    fn new(tag: &str) -> Name {
        let n = Name(format!("/gkms{tag}{}", std::process::id()));
        let _ = shm_unlink(n.0.as_str());
        n
    }
}
impl Drop for Name {
    fn drop(&mut self) {
        let _ = shm_unlink(self.0.as_str());
    }
}

#[test]
fn the_emulation_is_loaded_exactly_when_the_run_says_so() {
    // SAFETY: dlsym with RTLD_DEFAULT and a NUL-terminated name.
    let sym = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"gecko_macsem_active".as_ptr()) };
    assert_eq!(!sym.is_null(), macos(), "GECKO_MACOS_SEMANTICS set iff the XNU emulation is preloaded");
    if macos() {
        assert_eq!(page(), 16384, "Apple silicon pages");
        assert_eq!(gecko_ring::host_clock::ticks_per_second(), 24e6, "Apple silicon's 125/3 timebase");
    } else {
        assert_eq!(gecko_ring::host_clock::ticks_per_second(), 1e9);
    }
}

#[test]
fn one_ftruncate_rounded_to_the_page_and_fstat_without_identity() {
    let name = Name::new("t");
    let fd = shm_open(name.0.as_str(), OFlag::O_RDWR | OFlag::O_CREAT, Mode::from_bits_truncate(0o644)).unwrap();
    ftruncate(&fd, 384).unwrap();
    let st = fstat(fd.as_raw_fd()).unwrap();
    let second = ftruncate(&fd, 1024);
    if macos() {
        assert_eq!(st.st_size as u64, page(), "pshm_truncate rounds up to the page");
        assert_eq!((st.st_dev, st.st_ino), (0, 0), "pshm_stat zeroes the identity");
        assert_eq!(st.st_mode & libc::S_IFMT, 0, "pshm_stat: permission bits only");
        assert_eq!(second, Err(Errno::EINVAL), "one ftruncate per object");
    } else {
        assert_eq!(st.st_size, 384);
        assert_ne!(st.st_ino, 0);
        assert_eq!(second, Ok(()));
    }
}

#[test]
fn no_umask_no_fchmod_and_mmap_within_the_rounded_size() {
    let name = Name::new("m");
    // SAFETY: umask is process-wide; this file's other tests do not create
    // files, and 0o022 is restored at once.
    let old = unsafe { libc::umask(0o077) };
    let fd = shm_open(name.0.as_str(), OFlag::O_RDWR | OFlag::O_CREAT, Mode::from_bits_truncate(0o644));
    // SAFETY: as above.
    unsafe { libc::umask(old) };
    let fd = fd.unwrap();
    let mode = fstat(fd.as_raw_fd()).unwrap().st_mode & 0o777;
    let chmod = fchmod(fd.as_raw_fd(), Mode::from_bits_truncate(0o644));
    // SAFETY: a shared mapping of our own object, unmapped right away.
    let map = |len: usize| unsafe {
        mmap(None, NonZeroUsize::new(len).unwrap(), ProtFlags::PROT_READ, MapFlags::MAP_SHARED, &fd, 0)
            .map(|p| nix::sys::mman::munmap(p, len).unwrap())
    };
    if macos() {
        assert_eq!(mode, 0o644, "shm_open applies no umask on macOS");
        assert_eq!(chmod, Err(Errno::EINVAL), "a shm descriptor is not a vnode");
        assert_eq!(map(4096), Err(Errno::EINVAL), "pshm_mmap: not sized yet");
    } else {
        assert_eq!(mode, 0o600, "Linux applies the umask");
        assert_eq!(chmod, Ok(()));
    }
    ftruncate(&fd, 384).unwrap();
    assert_eq!(map(384), Ok(()));
    let beyond = map(page() as usize + 4096);
    if macos() {
        assert_eq!(beyond, Err(Errno::EINVAL), "pshm_mmap: never past the rounded size");
    }
}

#[test]
fn names_longer_than_31_bytes_and_o_cloexec_are_refused() {
    let long = format!("/{}", "n".repeat(31)); // 32 bytes
    let r = shm_open(long.as_str(), OFlag::O_RDWR | OFlag::O_CREAT, Mode::from_bits_truncate(0o644));
    let cloexec_name = Name::new("c");
    let c = shm_open(
        cloexec_name.0.as_str(),
        OFlag::O_RDWR | OFlag::O_CREAT | OFlag::O_CLOEXEC,
        Mode::from_bits_truncate(0o644),
    );
    if macos() {
        assert_eq!(r.err(), Some(Errno::ENAMETOOLONG), "PSHMNAMLEN is 31");
        assert_eq!(c.err(), Some(Errno::EINVAL), "macOS 26.4 refuses O_CLOEXEC");
    } else {
        let _ = shm_unlink(long.as_str());
        assert!(r.is_ok() && c.is_ok(), "Linux takes both");
    }
}
