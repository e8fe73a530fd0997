//! IO through the real ring: the real driver writes via DoIOOperation,
//! gecko_ring::Reader reads in the same process over real POSIX shm.

use gecko_driver_bundle as bundle;
use gecko_ring::{AttachOptions, Peek, Reader, RingEvent};
use gecko_simhost::{DeviceInfo, Driver, Host, IoRunner, load_isolated};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

const CH: usize = bundle::CHANNELS as usize;

use gecko_test_kit::ShmName as Name;

fn driver(name: &str) -> (Driver, DeviceInfo) {
    let mut d = load_isolated(bundle::bundle_path()).expect("load");
    d.configure(name, None, None).expect("configure");
    d.initialize(Arc::new(Host::new())).expect("Initialize");
    let dev = d.find_device().expect("device");
    (d, dev)
}

fn attach(name: &str) -> Reader {
    Reader::attach(name, &AttachOptions::default()).expect("attach")
}

/// Frame i, channel c: a distinct, exactly representable value.
fn sample(i: u64, c: usize) -> f32 {
    ((i % 1_000_003) as f32) + c as f32 * 0.25
}

fn block(start: u64, frames: usize) -> Vec<f32> {
    (0..frames).flat_map(|i| (0..CH).map(move |c| sample(start + i as u64, c))).collect()
}

/// Reads exactly `frames` frames (they must already be in the ring).
fn read_exact(r: &mut Reader, frames: usize) -> Vec<f32> {
    let mut out = vec![0.0; frames * CH];
    let mut got = 0;
    let mut spins = 0;
    while got < frames {
        let rd = r.read(&mut out[got * CH..]).expect("read");
        assert!(rd.event.is_none() || got == 0, "unexpected event {:?}", rd.event);
        got += rd.frames;
        spins += 1;
        assert!(spins < 1000, "ring did not deliver {frames} frames (got {got})");
    }
    out
}

/// Reader attached before StartIO; if StartIO began a new generation (older
/// drivers did; the current one keeps the generation), the reader follows it,
/// so the driver honours its read_count from the first cycle.
fn started_with_reader(name: &str, d: &Driver, dev: &DeviceInfo) -> Reader {
    let mut r = attach(name);
    let g0 = r.format().generation;
    let mut io = IoRunner::new(d, dev.clone(), 512, 1e9).expect("runner");
    io.start_io().expect("StartIO");
    let ev = r.read(&mut []).expect("follow");
    match ev.event {
        None => assert_eq!(r.format().generation, g0),
        Some(RingEvent::NewGeneration { old, .. }) => assert_eq!(old, g0),
        other => panic!("unexpected {other:?}"),
    }
    r
}

fn status(name: &str) -> gecko_ring::RingStatus {
    Peek::open(name).expect("peek").status().expect("status")
}

#[test]
fn wrap_around_many_ring_lengths_bit_exact() {
    let name = Name::new("r");
    let (d, dev) = driver(&name.0);
    let mut r = started_with_reader(&name.0, &d, &dev);
    let mut io = IoRunner::new(&d, dev.clone(), 512, 1e9).expect("runner");
    let cap = r.format().capacity_frames as u64;
    // Odd sizes so cycle boundaries never line up with the ring's end.
    let sizes = [512usize, 333, 1000, 7, 4096, 129];
    let (mut t, mut k) = (0u64, 0usize);
    while t < 10 * cap {
        let n = sizes[k % sizes.len()];
        k += 1;
        io.do_write_mix_cycle(t as f64, t, &block(t, n)).expect("cycle");
        let got = read_exact(&mut r, n);
        assert!(got == block(t, n), "frames differ at {t}");
        t += n as u64;
    }
    let st = status(&name.0);
    assert_eq!(st.write_count, t);
    assert_eq!(st.writer.io_cycles, k as u64);
    assert_eq!((st.writer.gap_events, st.writer.overlap_events, st.writer.overrun_events), (0, 0, 0));
    assert!(st.writer.reader_attached);
    assert_eq!(st.read_count, Some(t));
}

#[test]
fn gap_becomes_counted_silence_and_overlap_is_dropped() {
    let name = Name::new("r");
    let (d, dev) = driver(&name.0);
    let mut r = started_with_reader(&name.0, &d, &dev);
    let mut io = IoRunner::new(&d, dev.clone(), 512, 1e9).expect("runner");
    io.do_write_mix_cycle(0.0, 0, &block(0, 512)).expect("c1");
    // Gap: next cycle at 512 + 100.
    io.do_write_mix_cycle(612.0, 0, &block(612, 512)).expect("c2");
    let got = read_exact(&mut r, 512 + 100 + 512);
    assert_eq!(&got[..512 * CH], &block(0, 512)[..]);
    assert!(got[512 * CH..612 * CH].iter().all(|&x| x == 0.0), "gap is silence");
    assert_eq!(&got[612 * CH..], &block(612, 512)[..]);
    let st = status(&name.0);
    assert_eq!((st.writer.gap_events, st.writer.gap_frames), (1, 100));

    // Overlap: the next cycle repeats 200 already-written frames (924..1124).
    io.do_write_mix_cycle(924.0, 0, &block(924, 512)).expect("c3");
    let got = read_exact(&mut r, 312);
    assert_eq!(&got[..], &block(1124, 312)[..], "only the new frames are written");
    let st = status(&name.0);
    assert_eq!((st.writer.overlap_events, st.writer.overlap_frames), (1, 200));
    assert_eq!(st.write_count, 1124 + 312);
    assert_eq!(r.available(), 0);
}

#[test]
fn full_ring_drops_new_frames_and_counts_an_overrun() {
    let name = Name::new("r");
    let (d, dev) = driver(&name.0);
    let mut r = started_with_reader(&name.0, &d, &dev);
    let mut io = IoRunner::new(&d, dev.clone(), 512, 1e9).expect("runner");
    let cap = r.format().capacity_frames as u64;
    let mut t = 0u64;
    while t < cap {
        io.do_write_mix_cycle(t as f64, t, &block(t, 512)).expect("fill");
        t += 512;
    }
    assert_eq!(status(&name.0).writer.overrun_events, 0);
    // The reader is attached but not reading: the next cycle must not overwrite.
    let start = std::time::Instant::now();
    io.do_write_mix_cycle(t as f64, t, &block(t, 512)).expect("DoIOOperation still returns noErr");
    assert!(start.elapsed() < std::time::Duration::from_millis(50), "the writer must not wait");
    let st = status(&name.0);
    assert_eq!((st.writer.overrun_events, st.writer.overrun_frames), (1, 512));
    assert_eq!(st.write_count, cap);
    // The oldest frames are intact: the full ring reads back bit-exact.
    let got = read_exact(&mut r, cap as usize);
    assert!(got == block(0, cap as usize));
}

#[test]
fn reader_attaches_mid_stream_and_follows_a_driver_restart() {
    let name = Name::new("r");
    let (d, dev) = driver(&name.0);
    let mut io = IoRunner::new(&d, dev.clone(), 512, 1e9).expect("runner");
    io.start_io().expect("StartIO");
    let mut t = 0u64;
    for _ in 0..100 {
        io.do_write_mix_cycle(t as f64, t, &block(t, 512)).expect("cycle");
        t += 512;
    }
    // Attach mid-stream: the reader starts at the newest frame.
    let mut r = attach(&name.0);
    let gen1 = r.format().generation;
    assert_eq!(r.available(), 0);
    io.do_write_mix_cycle(t as f64, t, &block(t, 512)).expect("cycle");
    assert_eq!(read_exact(&mut r, 512), block(t, 512));
    t += 512;

    // "coreaudiod restart": a fresh driver instance on the same shm name.
    let (d2, dev2) = driver(&name.0);
    let mut io2 = IoRunner::new(&d2, dev2, 512, 1e9).expect("runner 2");
    io2.start_io().expect("StartIO 2");
    let ev = r.read(&mut vec![0.0; 512 * CH]).expect("read after restart");
    match ev.event {
        Some(RingEvent::NewGeneration { old, format, .. }) => {
            assert_eq!(old, gen1);
            assert_ne!(format.generation, gen1);
        }
        other => panic!("expected a new generation, got {other:?}"),
    }
    let w0 = status(&name.0).write_count;
    io2.do_write_mix_cycle(0.0, 0, &block(77, 512)).expect("cycle after restart");
    assert_eq!(read_exact(&mut r, 512), block(77, 512));
    assert_eq!(status(&name.0).write_count, w0 + 512);
    let _ = t;
}

// ---- hostile peers -----------------------------------------------------------

/// A shm segment we create and map read-write (a forged peer).
struct Forged {
    ptr: *mut u8,
    len: usize,
}
impl Forged {
    fn create(name: &str, len: usize) -> Forged {
        let c = std::ffi::CString::new(name).expect("name");
        // SAFETY: plain libc calls on a name we own; the mapping is checked.
        unsafe {
            let fd = libc::shm_open(c.as_ptr(), libc::O_CREAT | libc::O_RDWR, 0o644);
            assert!(fd >= 0, "shm_open {name}");
            assert_eq!(libc::ftruncate(fd, len as libc::off_t), 0, "ftruncate");
            let p = libc::mmap(
                std::ptr::null_mut(),
                len.max(1),
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd,
                0,
            );
            libc::close(fd);
            assert_ne!(p, libc::MAP_FAILED, "mmap");
            Forged { ptr: p as *mut u8, len }
        }
    }
    fn put_u64(&self, off: usize, v: u64) {
        assert!(off + 8 <= self.len);
        // SAFETY: in bounds (checked), 8-aligned offsets of a page-aligned mapping.
        unsafe { (*(self.ptr.add(off) as *const std::sync::atomic::AtomicU64)).store(v, Ordering::SeqCst) }
    }
    fn put_u32(&self, off: usize, v: u32) {
        assert!(off + 4 <= self.len);
        // SAFETY: as above.
        unsafe { (*(self.ptr.add(off) as *const AtomicU32)).store(v, Ordering::SeqCst) }
    }
    fn fill(&self, seed: u64) {
        let mut x = seed;
        for i in 0..self.len {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            // SAFETY: i < len.
            unsafe { *self.ptr.add(i) = (x >> 56) as u8 };
        }
    }
}
impl Drop for Forged {
    fn drop(&mut self) {
        // SAFETY: our own mapping.
        unsafe { libc::munmap(self.ptr as *mut libc::c_void, self.len.max(1)) };
    }
}

const READER_MAGIC: u64 = 0x5244524F4B434547;

/// A valid-looking reader segment (header ok, detached).
fn forged_reader(name: &str, len: usize) -> Forged {
    let f = Forged::create(&gecko_ring::reader_name(name), len);
    if len >= 384 {
        f.put_u64(0, READER_MAGIC);
        f.put_u32(8, 1);
        f.put_u32(12, 384);
        f.put_u64(gecko_ring::abi::off::READER_INSTANCE_ID, 0x5eed_0000 | len as u64);
    }
    f
}

/// Runs `cycles` cycles from sample time `t`, asserting noErr and promptness.
fn run_cycles(io: &mut IoRunner, t: &mut u64, cycles: usize) {
    for _ in 0..cycles {
        let start = std::time::Instant::now();
        io.do_write_mix_cycle(*t as f64, *t, &block(*t, 512)).expect("DoIOOperation must return noErr");
        assert!(start.elapsed() < std::time::Duration::from_millis(50));
        *t += 512;
    }
}

#[test]
fn hostile_reader_counters_are_reader_faults_not_crashes() {
    for (label, bad_read_count) in [("ahead", None), ("absurd", Some(u64::MAX / 3))] {
        let name = Name::new("r");
        let (d, dev) = driver(&name.0);
        let f = forged_reader(&name.0, 384);
        let mut io = IoRunner::new(&d, dev.clone(), 512, 1e9).expect("runner");
        io.start_io().expect("StartIO");
        let gen_now = status(&name.0).format.generation;
        let mut t = 0;
        // Honestly attached first: flow control is active.
        f.put_u64(128, 0);
        f.put_u64(136, gen_now);
        run_cycles(&mut io, &mut t, 4);
        let st = status(&name.0);
        assert!(st.writer.reader_attached, "{label}: forged reader seen as attached");
        assert_eq!(st.writer.reader_faults, 0);
        // Now the reader's counter turns hostile: ahead of anything the
        // writer will have written, or absurd. The driver caches the reader's
        // counter and reloads it when its cached view says the ring is full,
        // so write a ring's worth to make it look.
        let cap = st.format.capacity_frames as u64;
        f.put_u64(128, bad_read_count.unwrap_or(t + 10 * cap));
        run_cycles(&mut io, &mut t, (cap / 512) as usize + 8);
        let st = status(&name.0);
        assert!(st.writer.reader_faults > 0, "{label}: faults counted");
        assert!(!st.writer.reader_attached, "{label}: a faulty reader is not honoured");
        assert_eq!(st.write_count, t, "{label}: the writer kept writing");
        io.stop_io().expect("StopIO");
    }
}

#[test]
fn invalid_reader_segments_are_ignored() {
    // Wrong magic, wrong version, and a truncated segment: the driver never
    // honours them (no flow control) and IO keeps answering noErr.
    for case in ["magic", "version", "truncated", "garbage"] {
        let name = Name::new("r");
        let (d, dev) = driver(&name.0);
        let f = match case {
            "truncated" => forged_reader(&name.0, 100),
            _ => forged_reader(&name.0, 384),
        };
        match case {
            "magic" => f.put_u64(0, 0x1122334455667788),
            "version" => f.put_u32(8, 99),
            "garbage" => f.fill(42),
            _ => {}
        }
        let mut io = IoRunner::new(&d, dev.clone(), 512, 1e9).expect("runner");
        io.start_io().expect("StartIO");
        if case != "truncated" {
            f.put_u64(136, status(&name.0).format.generation);
            f.put_u64(128, 0);
        }
        let mut t = 0;
        // More than a ring's worth: with a honoured reader this would overrun.
        let cap = status(&name.0).format.capacity_frames as usize;
        run_cycles(&mut io, &mut t, cap / 512 + 8);
        let st = status(&name.0);
        assert!(!st.writer.reader_attached, "{case}: must not be honoured");
        assert_eq!(st.writer.overrun_events, 0, "{case}: no flow control from an invalid reader");
        assert_eq!(st.write_count, t, "{case}");
        io.stop_io().expect("StopIO");
    }
}

#[test]
fn stale_writer_segment_is_recovered_at_initialize() {
    let cap = bundle::CHANNELS as usize * 4 * 32768 + 512;
    for (case, len) in [("small", 4096usize), ("huge", cap * 2 + 4096), ("garbage-right-size", cap)] {
        let name = Name::new("r");
        {
            let stale = Forged::create(&name.0, len);
            stale.fill(7);
            if case == "small" {
                // A plausible v1 magic with nonsense sizes.
                stale.put_u64(0, 0x474E524F4B434547);
                stale.put_u32(8, 1);
                stale.put_u64(16, 1 << 40);
            }
        }
        let (d, dev) = driver(&name.0);
        let mut r = attach(&name.0);
        let fmt = r.format();
        assert_eq!((fmt.channels, fmt.capacity_frames), (bundle::CHANNELS, 32768), "{case}");
        let mut io = IoRunner::new(&d, dev.clone(), 512, 1e9).expect("runner");
        io.start_io().expect("StartIO");
        let _ = r.read(&mut []).expect("follow StartIO");
        let mut t = 0;
        run_cycles(&mut io, &mut t, 3);
        assert!(read_exact(&mut r, 1536) == block(0, 1536), "{case}: bit-exact after recovery");
        io.stop_io().expect("StopIO");
    }
}

/// `reader_attached` is stored only when it changes (the driver keeps the
/// counters line quiet): it must still follow a reader leaving and coming
/// back, one cycle after each.
#[test]
fn reader_attached_follows_the_reader_leaving_and_returning() {
    let name = Name::new("r");
    let (d, dev) = driver(&name.0);
    let r = started_with_reader(&name.0, &d, &dev);
    let mut io = IoRunner::new(&d, dev.clone(), 512, 1e9).expect("runner");
    let mut t = 0u64;
    let mut cycle = |t: &mut u64| {
        io.do_write_mix_cycle(*t as f64, *t, &block(*t, 512)).expect("cycle");
        *t += 512;
    };
    cycle(&mut t);
    assert!(status(&name.0).writer.reader_attached);
    drop(r); // detaches: attached_generation = 0
    cycle(&mut t);
    let st = status(&name.0);
    assert!(!st.writer.reader_attached, "one cycle after the reader left");
    assert_eq!(st.writer.io_cycles, 2);
    cycle(&mut t);
    assert!(!status(&name.0).writer.reader_attached, "stays detached");
    let mut r = attach(&name.0);
    cycle(&mut t);
    assert!(status(&name.0).writer.reader_attached, "one cycle after the reader came back");
    let got = read_exact(&mut r, 512);
    assert!(got == block(t - 512, 512), "the returning reader reads the newest cycle");
    let st = status(&name.0);
    assert_eq!((st.writer.io_cycles, st.write_count), (4, t));
    assert_eq!((st.writer.overrun_events, st.writer.reader_faults), (0, 0));
}
