//! Proof that the driver's IO path makes no system call: a forked child puts
//! itself in seccomp strict mode (only read, write, exit and sigreturn are
//! allowed; any other system call kills it with SIGKILL) and then runs
//! thousands of full IO cycles through the driver's raw vtable — zero
//! timestamps, Begin/Do/End(WriteMix) with gaps, overlaps, wrap-arounds and
//! a full ring under flow control. The controls show the mechanism is live:
//! a child that calls getpid, and a driver whose host clock makes a system
//! call inside GetZeroTimeStamp, are both killed.
//!
//! Fork rules. The test harness is multi-threaded and fork copies only the
//! calling thread, so the child may do only async-signal-safe work: the
//! driver is loaded, initialized and started, the reader segment created and
//! mapped, the cycle buffers allocated and the vtable entries looked up
//! BEFORE the fork; the child allocates nothing, takes no lock, and leaves
//! with the raw `exit` system call (libc's `_exit` calls `exit_group`, which
//! strict mode does not allow). The child has no copy of the driver's reader
//! attach thread (a thread of the parent); it does not need one, because
//! StartIO maps an existing reader segment at once on the calling thread
//! (`gecko_shm_writer_attach_start` in driver/src/gecko_shm_writer.c), and
//! the reader segment is created before StartIO. Seccomp strict mode applies
//! to the calling thread only — here the child's only thread, which runs
//! every IO call.

use gecko_driver_bundle as bundle;
use gecko_ring::abi::off;
use gecko_ring::{AttachOptions, Peek, Reader};
use gecko_simhost::ffi::kAudioServerPlugInHostClientID;
use gecko_simhost::{DeviceInfo, Driver, Host, RawWriteMix, SimClock, SimulatedClock, load_isolated};
use gecko_test_kit::ShmMap;
use std::ffi::c_void;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const CH: usize = bundle::CHANNELS as usize;
/// Largest IO buffer of the plan, frames.
const MAX_FRAMES: usize = 4096;
/// Cycles while the reader keeps up (wrap-around, gaps, overlaps).
const KEEP_UP_CYCLES: usize = 2000;
/// Cycles while the reader does not read (the ring fills, then every cycle overruns).
const FULL_CYCLES: usize = 1000;
/// Full-phase buffer, frames.
const FULL_FRAMES: u32 = 512;
/// Host ticks (ns) per frame at 48 kHz.
const TICKS_PER_FRAME: f64 = 1e9 / 48_000.0;
/// What a child that finished every cycle with noErr writes to the pipe.
const CHILD_OK: u8 = 0xA5;
/// What it writes when some call returned an error.
const CHILD_STATUS_ERROR: u8 = 0x5A;

use gecko_test_kit::ShmName as Name;

/// Cycle k of the keep-up phase: (frames, sample-time jump before it in
/// frames: +100 = a gap, −200 = an overlap of a 512-frame cycle, 0 =
/// continuous). Odd sizes so cycles never line up with the ring's end.
fn plan(k: usize) -> (u32, i64) {
    const SIZES: [u32; 6] = [512, 333, 1000, 7, 4096, 129];
    if k % 97 == 50 {
        (SIZES[k % SIZES.len()], 100)
    } else if k % 89 == 40 {
        (512, -200)
    } else {
        (SIZES[k % SIZES.len()], 0)
    }
}

/// Everything the child touches, prepared before the fork.
struct Rig {
    io: RawWriteMix,
    /// The simulated clock the driver reads (None: the driver has another clock).
    clock: Option<Arc<SimulatedClock>>,
    /// MAX_FRAMES frames of mix.
    buf: Vec<f32>,
    /// `write_count` in our own read-only mapping of the writer segment.
    write_count: &'static AtomicU64,
    /// `read_count` in our own read-write mapping of the reader segment
    /// (the engine's segment; the child plays a reader that keeps up by
    /// storing it, as `Reader::read` does after copying).
    read_count: &'static AtomicU64,
}

/// Maps the shm object `name` (read-write if `rw`) for the rest of the
/// process and returns the atomic u64 at `offset`.
fn map_u64(name: &str, rw: bool, offset: usize) -> &'static AtomicU64 {
    let map: &'static ShmMap =
        Box::leak(Box::new(ShmMap::open(name, rw).unwrap_or_else(|| panic!("shm_open({name})"))));
    map.word64(offset)
}

impl Rig {
    /// Driver `d` (initialized, IO started) on ring `name`.
    fn new(d: &Driver, dev: &DeviceInfo, name: &str, clock: Option<Arc<SimulatedClock>>) -> Rig {
        Rig {
            io: RawWriteMix::new(d, dev.device_id, dev.stream_id).unwrap(),
            clock,
            buf: (0..MAX_FRAMES * CH).map(|i| i as f32 * 0.5).collect(),
            write_count: map_u64(name, false, off::WRITE_COUNT),
            read_count: map_u64(&gecko_ring::reader_name(name), true, off::READ_COUNT),
        }
    }

    /// One HAL write-mix cycle through the vtable; returns the OR of the statuses.
    /// Allocation-free: the cycle info lives on the stack.
    fn cycle(&self, frames: u32, sample_time: f64, host_time: u64) -> i32 {
        if let Some(c) = &self.clock {
            c.set(host_time);
        }
        let info = gecko_simhost::cycle_info(sample_time, host_time, frames, 0, TICKS_PER_FRAME);
        // SAFETY: a live driver with IO started; `buf` holds MAX_FRAMES ≥ frames frames.
        unsafe { self.io.cycle(frames, &info, self.buf.as_ptr()) }
    }

    /// The child's work: KEEP_UP_CYCLES with a reader that keeps up (it
    /// releases everything written after each cycle), then FULL_CYCLES with
    /// a reader that stops reading. Returns CHILD_OK if every call returned noErr.
    fn run_plan(&self) -> u8 {
        let mut sample: i64 = 0;
        let mut host: u64 = 1_000_000_000;
        let mut status = 0;
        for k in 0..KEEP_UP_CYCLES {
            let (n, jump) = plan(k);
            sample += jump;
            host += (n as f64 * TICKS_PER_FRAME) as u64;
            status |= self.cycle(n, sample as f64, host);
            sample += n as i64;
            self.read_count.store(self.write_count.load(Ordering::Acquire), Ordering::Release);
        }
        for _ in 0..FULL_CYCLES {
            host += (FULL_FRAMES as f64 * TICKS_PER_FRAME) as u64;
            status |= self.cycle(FULL_FRAMES, sample as f64, host);
            sample += FULL_FRAMES as i64;
        }
        if status == 0 { CHILD_OK } else { CHILD_STATUS_ERROR }
    }
}

/// Leaves the child with the raw `exit` system call (the only exit strict mode allows).
fn child_exit(code: i32) -> ! {
    // SAFETY: terminates the calling (only) thread of the child.
    unsafe { libc::syscall(libc::SYS_exit, code) };
    // Not reached; spinning is all that is allowed if it were.
    #[allow(clippy::empty_loop)]
    loop {}
}

/// How the child ended.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// Exited with this code; the byte it wrote to the pipe, if any.
    Exited(i32, Option<u8>),
    /// Killed by this signal; the byte it wrote, if any.
    Signaled(i32, Option<u8>),
}

/// Forks; the child enters seccomp strict mode, runs `body` and writes the
/// byte it returns to a pipe, then exits with code 0. The parent waits (at
/// most 60 s, then SIGKILLs the child and fails).
fn in_strict_child(body: impl FnOnce() -> u8) -> Outcome {
    let mut fds = [0i32; 2];
    // SAFETY: valid array of two fds.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let (rd, wr) = (fds[0], fds[1]);
    // SAFETY: fork; the child runs only allocation-free, lock-free code and
    // leaves through child_exit, never returning into the test harness.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // SAFETY: plain system calls in the child (prctl is made before strict mode).
        unsafe {
            libc::close(rd);
            if libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_STRICT as libc::c_ulong, 0, 0, 0) != 0 {
                child_exit(3);
            }
        }
        let byte = body();
        // SAFETY: write(2) of one byte from a valid buffer; allowed in strict mode.
        unsafe { libc::write(wr, &byte as *const u8 as *const c_void, 1) };
        child_exit(0);
    }
    // SAFETY: the parent's copy of the write end.
    unsafe { libc::close(wr) };
    let start = Instant::now();
    let mut st = 0;
    loop {
        // SAFETY: waiting for our own child.
        let r = unsafe { libc::waitpid(pid, &mut st, libc::WNOHANG) };
        assert!(r >= 0, "waitpid");
        if r == pid {
            break;
        }
        if start.elapsed() > Duration::from_secs(60) {
            // SAFETY: our own child, by pid.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("the strict-mode child hung");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let mut byte = 0u8;
    // SAFETY: read(2) into a valid one-byte buffer; the write end is closed, so EOF if nothing.
    let got = unsafe { libc::read(rd, &mut byte as *mut u8 as *mut c_void, 1) };
    // SAFETY: our read end.
    unsafe { libc::close(rd) };
    let byte = (got == 1).then_some(byte);
    if libc::WIFEXITED(st) {
        Outcome::Exited(libc::WEXITSTATUS(st), byte)
    } else {
        assert!(libc::WIFSIGNALED(st), "child neither exited nor was signaled: {st:#x}");
        Outcome::Signaled(libc::WTERMSIG(st), byte)
    }
}

/// A driver on ring `name`, clocked by `clock`, initialized; the reader
/// segment created and attached (the returned Reader keeps it attached and
/// never reads); IO started, so the driver mapped the reader segment.
fn started(name: &str, configure: impl FnOnce(&mut Driver)) -> (Driver, DeviceInfo, Reader) {
    let mut d = load_isolated(bundle::bundle_path()).expect("load");
    configure(&mut d);
    d.initialize(Arc::new(Host::new())).expect("Initialize");
    let dev = d.find_device().expect("device");
    let reader = Reader::attach(name, &AttachOptions::default()).expect("attach");
    d.start_io(dev.device_id, kAudioServerPlugInHostClientID).expect("StartIO");
    (d, dev, reader)
}

#[test]
fn io_cycles_run_under_seccomp_strict_mode() {
    let name = Name::new("s");
    let clock = SimulatedClock::new(1_000_000_000, 1e9);
    let (d, dev, reader) = started(&name.0, |d| clock.configure(d, &name.0).expect("configure"));
    let before = Peek::open(&name.0).unwrap().status().unwrap();
    let rig = Rig::new(&d, &dev, &name.0, Some(clock.clone()));

    let outcome = in_strict_child(|| rig.run_plan());
    assert_eq!(outcome, Outcome::Exited(0, Some(CHILD_OK)), "the IO path made a system call (SIGKILL = 9) or failed");

    // The child's cycles are visible in the shared segments: check they did what the plan says.
    let st = Peek::open(&name.0).unwrap().status().unwrap();
    let c = st.writer;
    let (mut gaps, mut overlaps, mut keep_up_frames) = (0u64, 0u64, 0u64);
    for k in 0..KEEP_UP_CYCLES {
        let (n, jump) = plan(k);
        gaps += (jump > 0) as u64;
        overlaps += (jump < 0) as u64;
        keep_up_frames += n as u64 + jump.max(0) as u64 - (-jump).max(0) as u64;
    }
    let cap = st.format.capacity_frames as u64;
    let fits = cap / FULL_FRAMES as u64;
    assert_eq!(c.io_cycles - before.writer.io_cycles, (KEEP_UP_CYCLES + FULL_CYCLES) as u64);
    assert_eq!((c.gap_events, c.gap_frames), (gaps, 100 * gaps));
    assert_eq!((c.overlap_events, c.overlap_frames), (overlaps, 200 * overlaps));
    assert_eq!(c.overrun_events, FULL_CYCLES as u64 - fits, "the full ring overran on every later cycle");
    assert_eq!(c.overrun_frames, (FULL_CYCLES as u64 - fits) * FULL_FRAMES as u64);
    assert_eq!(c.reader_faults, 0);
    assert!(c.reader_attached, "flow control was active in the child");
    assert_eq!(st.write_count - before.write_count, keep_up_frames + fits * FULL_FRAMES as u64);
    assert!(keep_up_frames > 10 * cap, "the keep-up phase wrapped the ring many times");
    assert_eq!(st.fill_frames(), Some(cap), "the ring ended full");
    assert!(st.state.zts_sample_time > 0.0, "GetZeroTimeStamp advanced and published");
    drop(reader);
}

#[test]
fn control_a_system_call_in_the_strict_child_kills_it() {
    let outcome = in_strict_child(|| {
        // SAFETY: a harmless system call, forbidden in strict mode.
        unsafe { libc::syscall(libc::SYS_getpid) };
        CHILD_OK
    });
    assert_eq!(outcome, Outcome::Signaled(libc::SIGKILL, None));
    // And the same child without the system call lives: the harness itself is sound.
    assert_eq!(in_strict_child(|| CHILD_OK), Outcome::Exited(0, Some(CHILD_OK)));
}

/// A host clock that makes a system call, so the driver's GetZeroTimeStamp does.
unsafe extern "C" fn syscall_clock(_ctx: *mut c_void) -> u64 {
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::syscall(libc::SYS_getpid) };
    1_000_000_000 + pid as u64
}

#[test]
fn control_a_system_call_inside_the_driver_io_path_kills_the_child() {
    let name = Name::new("s");
    let clock = SimClock { func: Some(syscall_clock), ctx: std::ptr::null_mut(), ticks_per_second: 1e9 };
    let (d, dev, reader) = started(&name.0, |d| d.configure(&name.0, Some(clock), None).expect("configure"));
    let rig = Rig::new(&d, &dev, &name.0, None);
    let before = Peek::open(&name.0).unwrap().status().unwrap().writer.io_cycles;
    let outcome = in_strict_child(|| rig.run_plan());
    assert_eq!(outcome, Outcome::Signaled(libc::SIGKILL, None), "a syscall in the IO path must be caught");
    let after = Peek::open(&name.0).unwrap().status().unwrap().writer.io_cycles;
    assert_eq!(after, before, "killed in the first GetZeroTimeStamp, before any write-mix");
    drop(reader);
}
