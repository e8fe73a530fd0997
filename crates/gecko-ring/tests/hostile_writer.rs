//! The reader against writer segments it must refuse or survive: foreign,
//! wrong version, corrupt fields, truncated, stale, a seqlock that never
//! settles, counters that jump — and random bytes (proptest). The segments
//! here are forged byte by byte (the real driver is exercised through the
//! simulated host in crates/gecko-simhost); nothing here may panic or hang.

use gecko_ring::abi::WriterSegment;
use gecko_ring::{AttachOptions, Peek, Reader, RingError, RingEvent};
use gecko_test_kit::forge::ForgedWriter;
use nix::fcntl::OFlag;
use nix::sys::mman::shm_open;
use nix::sys::stat::Mode;

/// The forged segments of these tests (gecko_test_kit::forge), with a
/// default-options attach.
struct Forged(ForgedWriter);

impl Forged {
    fn valid(cap: u32, ch: u32) -> Forged {
        Forged(ForgedWriter::valid("gkt", cap, ch, 48000.0))
    }
    fn raw(len: usize) -> Forged {
        Forged(ForgedWriter::raw("gkt", len))
    }
    fn attach(&self) -> Result<Reader, RingError> {
        Reader::attach(self.0.name(), &AttachOptions::default())
    }
}

impl std::ops::Deref for Forged {
    type Target = ForgedWriter;
    fn deref(&self) -> &ForgedWriter {
        &self.0
    }
}

#[test]
fn a_valid_segment_attaches_and_reads_blocks_across_the_wrap() {
    let f = Forged::valid(1024, 2);
    let mut r = f.attach().expect("valid segment");
    assert_eq!(r.format().channels, 2);
    assert_eq!(r.format().capacity_frames, 1024);
    let mut next = 0u64; // frame counter the forged writer is at
    let mut got = Vec::new();
    let mut buf = vec![0f32; 2 * 300];
    for _ in 0..20 {
        // write 250 frames whose samples encode their frame number
        for k in 0..250u64 {
            let idx = ((next + k) & 1023) as usize;
            f.frames()[2 * idx] = (next + k) as f32;
            f.frames()[2 * idx + 1] = -((next + k) as f32);
        }
        next += 250;
        f.with(|s| s.counters.write_count = next);
        loop {
            let rd = r.read(&mut buf).unwrap();
            assert_eq!(rd.event, None);
            if rd.frames == 0 {
                break;
            }
            got.extend_from_slice(&buf[..rd.frames * 2]);
        }
    }
    assert_eq!(got.len(), 2 * 5000);
    for (i, fr) in got.chunks(2).enumerate() {
        assert_eq!(fr, [i as f32, -(i as f32)], "frame {i}");
    }
    // the reader published its position for the writer
    let st = Peek::open(f.name()).unwrap().status().unwrap();
    assert_eq!(st.read_count, Some(5000));
    assert_eq!(st.fill_frames(), Some(0));
}

/// A named corruption of a writer segment and the words its error must contain.
type Corruption = (&'static str, Box<dyn Fn(&mut WriterSegment)>, &'static str);

#[test]
fn foreign_wrong_version_and_corrupt_fields_are_refused_with_clear_errors() {
    let cases: Vec<Corruption> = vec![
        ("magic", Box::new(|s| s.header.magic = 0x1234), "not a Gecko ring"),
        ("version", Box::new(|s| s.header.version = 2), "protocol v2"),
        ("capacity", Box::new(|s| s.header.capacity_frames = 1000), "capacity_frames"),
        ("capacity huge", Box::new(|s| s.header.capacity_frames = 1 << 31), "capacity_frames"),
        ("channels", Box::new(|s| s.header.channels = 0), "channels"),
        ("format", Box::new(|s| s.header.sample_format = 3), "sample_format"),
        ("bpf", Box::new(|s| s.header.bytes_per_frame = 4), "bytes_per_frame"),
        ("segment size", Box::new(|s| s.header.segment_size = 1 << 40), "segment_size"),
        ("header size", Box::new(|s| s.header.header_size = 100), "header_size"),
        ("generation", Box::new(|s| s.state.generation = 0), "generation"),
        ("rate", Box::new(|s| s.state.sample_rate = f64::NAN), "sample_rate"),
    ];
    for (what, mutate, expect) in cases {
        let f = Forged::valid(1024, 2);
        f.with(|s| mutate(s));
        let err = f.attach().err().unwrap_or_else(|| panic!("{what}: attached to a bad segment"));
        let msg = err.to_string();
        assert!(msg.contains(expect), "{what}: {msg}");
    }
}

#[test]
fn a_truncated_segment_is_refused() {
    let f = Forged::raw(100);
    if std::env::var_os("GECKO_MACOS_SEMANTICS").is_some() {
        // macOS: no segment is smaller than a page (pshm_truncate rounds the size
        // up), so this one reads as 16 KiB of zeros: refused as not Gecko's.
        assert!(matches!(f.attach(), Err(RingError::Foreign { .. })), "{:?}", f.attach().err());
    } else {
        assert!(matches!(f.attach(), Err(RingError::Truncated { size: 100, .. })));
    }
    // header claims more frames than the segment holds
    let f = Forged::valid(1024, 2);
    f.with(|s| {
        s.header.capacity_frames = 4096;
        s.header.segment_size = 512 + 4096 * 8;
    });
    assert!(matches!(f.attach(), Err(RingError::Truncated { .. })), "{:?}", f.attach().err());
}

#[test]
fn a_stale_segment_from_a_dead_writer_is_detected() {
    let f = Forged::valid(1024, 2);
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    f.with(|s| s.header.writer_pid = dead);
    assert!(matches!(f.attach(), Err(RingError::StaleWriter { pid, .. }) if pid == dead));
    // waiting turns it into a timeout that names the cause
    let err =
        Reader::attach(f.name(), &AttachOptions { wait: std::time::Duration::from_millis(60), ..Default::default() })
            .err()
            .unwrap();
    assert!(matches!(err, RingError::Timeout { .. }) && err.to_string().contains("timed out"), "{err}");
}

#[test]
fn a_missing_segment_says_the_driver_is_not_installed() {
    let err = Reader::attach("/gk-no-such-ring", &AttachOptions::default()).err().unwrap();
    assert!(matches!(err, RingError::NotInstalled { .. }));
    assert!(err.to_string().contains("not installed"), "{err}");
}

#[test]
fn a_segment_caught_mid_creation_is_waited_for() {
    // Sized but header still zero: the driver is between ftruncate and the header write.
    let f = Forged::raw(512 + 1024 * 8);
    let err = Reader::attach(f.name(), &AttachOptions { wait: std::time::Duration::ZERO, ..Default::default() })
        .err()
        .unwrap();
    assert!(err.is_transient(), "{err}");
    // ...and once the driver finishes writing it, a waiting reader attaches.
    let name = f.name().to_string();
    let waiter = std::thread::spawn(move || {
        Reader::attach(&name, &AttachOptions { wait: std::time::Duration::from_secs(5), ..Default::default() })
            .map(|r| r.format())
    });
    std::thread::sleep(std::time::Duration::from_millis(100));
    let valid = Forged::valid(1024, 2);
    // copy the valid header into the zeroed segment
    valid.with(|v| f.with(|s| *s = *v));
    let fmt = waiter.join().unwrap().expect("attached after the header appeared");
    assert_eq!(fmt.capacity_frames, 1024);
}

#[test]
fn a_seqlock_held_forever_gives_an_error_not_a_hang() {
    let f = Forged::valid(1024, 2);
    f.with(|s| s.state.seq = 1);
    let t = std::time::Instant::now();
    assert!(matches!(f.attach(), Err(RingError::Unstable { .. })));
    assert!(t.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn a_writer_counter_that_runs_backwards_is_a_protocol_error() {
    let f = Forged::valid(1024, 2);
    f.with(|s| s.counters.write_count = 5000);
    let mut r = f.attach().unwrap();
    f.with(|s| s.counters.write_count = 10);
    let mut buf = [0f32; 64];
    let err = r.read(&mut buf).expect_err("counter went backwards");
    assert!(err.to_string().contains("write_count"), "{err}");
}

#[test]
fn a_writer_that_laps_the_reader_causes_a_counted_resync() {
    let f = Forged::valid(1024, 2);
    let mut r = f.attach().unwrap();
    f.with(|s| s.counters.write_count = 1_000_000);
    let mut buf = [0f32; 64];
    let rd = r.read(&mut buf).unwrap();
    assert_eq!(rd.event, Some(RingEvent::Overrun { skipped_frames: 1_000_000 }));
    assert_eq!(r.counters().skipped_frames, 1_000_000);
    assert_eq!(r.counters().read_count, 1_000_000);
    assert_eq!(r.read(&mut buf).unwrap().frames, 0);
}

#[test]
fn a_new_generation_is_followed_and_a_format_change_reported() {
    let f = Forged::valid(1024, 2);
    let mut r = f.attach().unwrap();
    f.with(|s| {
        s.state.generation = 8;
        s.state.sample_rate = 96000.0;
        s.counters.write_count = 77;
    });
    let mut buf = [0f32; 64];
    match r.read(&mut buf).unwrap().event {
        Some(RingEvent::NewGeneration { old: 7, format, format_changed: true }) => {
            assert_eq!(format.sample_rate, 96000.0);
            assert_eq!(format.generation, 8);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(r.counters().read_count, 77);
    // a new generation whose header went bad is an error
    f.with(|s| {
        s.state.generation = 9;
        s.header.magic = 0;
    });
    assert!(matches!(r.read(&mut buf), Err(RingError::Foreign { .. })));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]
    /// Random bytes anywhere in the header, then random counter values while
    /// reading: never a panic, never a read past the mapping.
    #[test]
    fn random_headers_and_counters_never_crash(
        header in proptest::collection::vec(proptest::prelude::any::<u8>(), 512),
        keep_valid_prefix in proptest::prelude::any::<bool>(),
        counters in proptest::collection::vec(proptest::prelude::any::<u64>(), 1..8),
    ) {
        let f = Forged::valid(1024, 2);
        f.with(|s| {
            // SAFETY: WriterSegment is POD of 512 bytes.
            let bytes = unsafe { std::slice::from_raw_parts_mut(s as *mut _ as *mut u8, 512) };
            let start = if keep_valid_prefix { 64 } else { 0 };
            bytes[start..].copy_from_slice(&header[start..]);
            s.state.seq &= !1;
        });
        if let Ok(mut r) = f.attach() {
            let mut buf = vec![0f32; 4096];
            for w in counters {
                f.with(|s| s.counters.write_count = w);
                let _ = r.read(&mut buf);
            }
        }
    }
}

#[test]
fn reopen_waits_for_a_live_writer_then_follows_it() {
    // The "driver" is a child process that dies after the reader attached.
    let mut writer = std::process::Command::new("sleep").arg("30").spawn().unwrap();
    let f = Forged::valid(1024, 2);
    f.with(|s| s.header.writer_pid = writer.id());
    let mut r = f.attach().unwrap();
    assert!(r.check_writer_alive().is_ok());
    writer.kill().unwrap();
    writer.wait().unwrap();
    assert!(matches!(r.check_writer_alive(), Err(RingError::StaleWriter { .. })));
    assert!(matches!(r.reopen(), Err(e) if e.is_transient()));
    // a new driver instance takes the segment over
    f.with(|s| {
        s.header.writer_pid = std::process::id();
        s.state.generation = 8;
        s.counters.write_count = 4096;
    });
    match r.reopen().unwrap() {
        RingEvent::NewGeneration { old: 7, format, format_changed: false } => assert_eq!(format.generation, 8),
        other => panic!("{other:?}"),
    }
    assert_eq!(r.counters().read_count, 4096);
    assert!(r.check_writer_alive().is_ok());
}

#[test]
fn clock_steering_requests_land_in_the_reader_segment() {
    let f = Forged::valid(1024, 2);
    let mut r = f.attach().unwrap();
    let read_back = || {
        let fd = shm_open(format!("{}.rd", f.name()).as_str(), OFlag::O_RDONLY, Mode::empty()).unwrap();
        let mut b = [0u8; 8];
        nix::sys::uio::pread(&fd, &mut b, 264).unwrap();
        f64::from_le_bytes(b)
    };
    r.set_clock_adjust_ppm(-37.5);
    assert_eq!(read_back(), -37.5);
    r.set_clock_adjust_ppm(f64::NAN);
    assert_eq!(read_back(), 0.0, "garbage is never published");
    // the driver's applied value comes back through the writer state
    f.with(|s| s.state.clock_adjust_ppm = 12.0);
    assert_eq!(r.writer_state().unwrap().clock_adjust_ppm, 12.0);
    f.with(|s| s.state.clock_adjust_ppm = f64::INFINITY);
    assert_eq!(r.writer_state().unwrap().clock_adjust_ppm, 0.0);
}
