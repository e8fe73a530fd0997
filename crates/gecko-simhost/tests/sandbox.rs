//! The macOS plug-in sandbox refusing to create POSIX shared memory.
//!
//! Since Big Sur a HAL plug-in runs in a sandboxed helper; whether its
//! sandbox lets it *create* a shm segment is undocumented (opening an
//! existing one works in shipped plug-ins). The simulated host plays the
//! refusing sandbox (`GeckoSimConfig.deny_shm_create`: every `shm_open` with
//! `O_CREAT` fails with EPERM, as XNU's MAC check does whenever `O_CREAT` is
//! given). Then the driver must keep answering the HAL as a silent device,
//! log the refusal once (not at every StartIO), say why in its ring-state
//! property, and attach — while IO runs — as soon as a segment is
//! pre-created for it (`gecko ring precreate`, the installer's fallback).
//!
//! One test in its own binary: it redirects this process's stderr (fd 2) to
//! read the driver's log (GECKO_LOG_STDERR=1).

use gecko_ring::{DriverRingState, SegmentSource};
use gecko_simhost::{Host, IoRunner, load_isolated};
use gecko_test_kit::ShmName;
use std::io::{Read, Seek};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Redirects fd 2 into a temporary file until dropped; `take` reads what was written.
struct StderrCapture {
    file: std::fs::File,
    saved: i32,
}

impl StderrCapture {
    fn start() -> StderrCapture {
        let file = tempfile::tempfile().unwrap();
        // SAFETY: plain dup/dup2 on valid descriptors.
        let saved = unsafe { libc::dup(2) };
        // SAFETY: both descriptors are open; fd 2 is restored in `finish`.
        assert!(saved >= 0 && unsafe { libc::dup2(file.as_raw_fd(), 2) } == 2);
        StderrCapture { file, saved }
    }
    fn text(&mut self) -> String {
        let mut s = String::new();
        self.file.rewind().unwrap();
        self.file.read_to_string(&mut s).unwrap();
        s
    }
}

impl Drop for StderrCapture {
    fn drop(&mut self) {
        // SAFETY: restores the saved descriptor.
        unsafe {
            libc::dup2(self.saved, 2);
            libc::close(self.saved);
        }
    }
}

#[test]
fn a_sandbox_that_refuses_shm_creation_gets_a_silent_device_then_the_precreated_segment() {
    // SAFETY: set before any thread of this test binary reads the environment
    // (the only test here; the driver reads it when it logs).
    unsafe { std::env::set_var("GECKO_LOG_STDERR", "1") };
    let mut log = StderrCapture::start();
    let name = ShmName::new("sb");
    let mut d = load_isolated(gecko_driver_bundle::bundle_path()).expect("load the bundle");
    d.set_deny_shm_create(true);
    d.configure(&name.0, None, None).expect("configure");
    d.initialize(Arc::new(Host::new())).expect("Initialize answers noErr without shared memory");
    let dev = d.find_device().expect("Gecko Sink is there, shm or not");
    let state = || DriverRingState::parse(&d.ring_state(dev.device_id).expect("ring state")).expect("well-formed");

    let s = state();
    assert!(!s.mapped && s.source == SegmentSource::None);
    assert_eq!(s.open_errno, libc::EPERM, "{s:?}");
    assert!(s.problem().unwrap().contains("gecko ring precreate"), "{:?}", s.problem());
    assert!(matches!(gecko_ring::Peek::open(&name.0), Err(gecko_ring::RingError::NotInstalled { .. })));

    // Three plays: each StartIO retries, every IO cycle answers noErr, and the
    // refusal is logged once.
    let mut io = IoRunner::new(&d, dev.clone(), 512, gecko_ring::host_clock::ticks_per_second()).expect("runner");
    let frames = vec![0.25f32; 512 * dev.channels as usize];
    let mut t = 0u64;
    for _ in 0..3 {
        io.start_io().expect("StartIO");
        for _ in 0..20 {
            io.do_write_mix_cycle(t as f64, t, &frames).expect("WriteMix answers noErr");
            t += 512;
        }
        io.stop_io().expect("StopIO");
    }
    let refusals = log.text().lines().filter(|l| l.contains("GeckoAudioDevice") && l.contains("failed")).count();
    assert_eq!(refusals, 1, "logged once, not at every StartIO:\n{}", log.text());
    assert!(!state().mapped);

    // IO runs; the installer's fallback pre-creates the segment meanwhile: the
    // driver maps it within about a second, without a new StartIO.
    io.start_io().expect("StartIO");
    gecko_ring::precreate_writer_segment(&name.0, dev.channels, gecko_ring::abi::DEFAULT_CAPACITY_FRAMES)
        .expect("pre-create");
    let start = Instant::now();
    while !state().mapped {
        assert!(start.elapsed() < Duration::from_secs(3), "the pre-created segment was never used: {:?}", state());
        io.do_write_mix_cycle(t as f64, t, &frames).expect("WriteMix");
        t += 512;
        std::thread::sleep(Duration::from_millis(5));
    }
    let s = state();
    assert_eq!((s.source, s.open_errno, s.io_running), (SegmentSource::Existing, 0, true), "{s:?}");
    // The frames flow into it from the next cycle on.
    let before = gecko_ring::Peek::open(&name.0).expect("a valid ring now").status().expect("status").write_count;
    for _ in 0..4 {
        io.do_write_mix_cycle(t as f64, t, &frames).expect("WriteMix");
        t += 512;
    }
    let after = gecko_ring::Peek::open(&name.0).unwrap().status().unwrap().write_count;
    assert_eq!(after - before, 4 * 512);
    io.stop_io().expect("StopIO");
    drop(log);
    gecko_ring::unlink_segments(&name.0).unwrap();
}
