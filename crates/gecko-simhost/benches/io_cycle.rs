//! Cost of one write-mix IO cycle for 512 stereo frames, against a plain
//! memcpy of the same bytes, measured in the same run (issue 3's benchmark).
//!
//! The driver is loaded in this process (load_isolated, simulated clock),
//! IO started, and a reader attached in the same process so flow control is
//! active, as in real use. Timed: batches of 32 `DoIOOperation(WriteMix)`
//! calls (512 frames each, through the raw vtable pointer); the reader
//! drains between batches, untimed. Baseline: the same 32 × 4 KB copied with
//! `copy_from_slice` into a ring-sized buffer at the same rolling index (what
//! the driver's copy itself is). Both interleaved rep by rep; medians.
//!
//! The loopback (Gecko Sink's input stream), in the same run, rep by rep:
//! a second driver instance does full-duplex cycles with the pre tap
//! (WriteMix + ReadInput two buffers behind, read back from the ring), a
//! third serves the post tap (ReadInput from an engine's
//! loopback segment, fed untimed between batches). The input's extra cost
//! per cycle is (duplex − write-mix alone) for pre and the ReadInput alone
//! for post, each against the same memcpy baseline and the write path's
//! budget (≤ 2× memcpy).
//!
//! `cargo bench -p gecko-simhost --bench io_cycle` (≈ 5 s).
//! `--callgrind N`: runs N cycles and N baseline copies untimed, for
//! `scripts/callgrind-io-cycle.sh`, which counts instructions per frame of
//! each with valgrind (stable on noisy machines).

use gecko_driver_bundle as bundle;
use gecko_ring::{AttachOptions, LoopbackWriter, Reader, Tap};
use gecko_simhost::ffi::AudioServerPlugInIOCycleInfo;
use gecko_simhost::{Host, IoRunner, RawWriteMix, SimulatedClock, load_isolated};
use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

const CH: usize = bundle::CHANNELS as usize;
const FRAMES: usize = 512;
const BATCH: usize = 32;
const CAP: usize = gecko_ring::abi::DEFAULT_CAPACITY_FRAMES as usize;
const TARGET_RATIO: f64 = 2.0;

fn info(sample: f64) -> AudioServerPlugInIOCycleInfo {
    let tpf = 1e9 / 48_000.0;
    gecko_simhost::cycle_info(sample, 1_000_000_000 + (sample * tpf) as u64, FRAMES as u32, 0, tpf)
}

/// The baseline: copy one block into the ring buffer at frame `at` (≤ 2 copies at the wrap).
#[inline(never)]
fn memcpy_block(ring: &mut [f32], at: usize, src: &[f32]) {
    let idx = at % CAP;
    let first = (CAP - idx).min(FRAMES);
    ring[idx * CH..(idx + first) * CH].copy_from_slice(&src[..first * CH]);
    ring[..(FRAMES - first) * CH].copy_from_slice(&src[first * CH..]);
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let callgrind = args
        .iter()
        .position(|a| a == "--callgrind")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse::<usize>().ok());
    let reps = if args.iter().any(|a| a == "--quick") { 50 } else { 2000 };

    let name = format!("/gkbio{}", std::process::id());
    let _ = gecko_ring::unlink_segments(&name);
    let mut driver = load_isolated(bundle::bundle_path()).expect("load driver");
    let clock = SimulatedClock::new(1_000_000_000, 1e9);
    clock.configure(&mut driver, &name).expect("configure");
    driver.initialize(Arc::new(Host::new())).expect("initialize");
    let dev = driver.find_device().expect("device");
    let mut reader = Reader::attach(&name, &AttachOptions::default()).expect("attach");
    let mut io = IoRunner::new(&driver, dev.clone(), FRAMES as u32, 1e9).expect("runner");
    io.start_io().expect("StartIO");
    let raw = RawWriteMix::new(&driver, dev.device_id, dev.stream_id).expect("IO entry points");

    let src: Vec<f32> = (0..FRAMES * CH).map(|i| (i as f32 * 0.001).sin()).collect();
    let mut ring = vec![0f32; CAP * CH];
    let mut sink = vec![0f32; BATCH * FRAMES * CH];
    let mut t = 0usize;
    let cycle = |t: usize| {
        let inf = info(t as f64);
        // SAFETY: `src` holds FRAMES frames of CH float32 samples; WriteMix only reads it.
        let st = unsafe { raw.do_write_mix(FRAMES as u32, black_box(&inf), src.as_ptr()) };
        assert_eq!(st, 0);
    };

    if let Some(n) = callgrind {
        for _ in 0..n {
            cycle(t);
            t += FRAMES;
            let _ = reader.read(&mut sink[..FRAMES * CH]).expect("read");
            memcpy_block(&mut ring, t, black_box(&src));
        }
        println!("callgrind: {n} cycles of {FRAMES} frames");
        io.stop_io().expect("StopIO");
        drop(reader);
        let _ = gecko_ring::unlink_segments(&name);
        return;
    }

    // The loopback drivers: B records the pre tap while playing, C serves the post tap.
    let name_b = format!("/gkbib{}", std::process::id());
    let name_c = format!("/gkbic{}", std::process::id());
    let setup = |name: &str, tap: Tap| {
        let _ = gecko_ring::unlink_segments(name);
        let mut d = load_isolated(bundle::bundle_path()).expect("load driver");
        let clock = SimulatedClock::new(1_000_000_000, 1e9);
        clock.configure(&mut d, name).expect("configure");
        d.initialize(Arc::new(Host::new())).expect("initialize");
        let mut r = Reader::attach(name, &AttachOptions::default()).expect("attach");
        r.set_loopback_tap(Some(tap));
        (d, r, clock)
    };
    let (driver_b, mut reader_b, _clock_b) = setup(&name_b, Tap::Pre);
    let (driver_c, _reader_c, _clock_c) = setup(&name_c, Tap::Post);
    // One write of a whole batch, so the tap's distance covers it (see read_post).
    let mut loopback = LoopbackWriter::create(&name_c, CH as u32, 48_000.0, 65_536).expect("loopback segment");
    let feed: Vec<f32> = (0..BATCH * FRAMES * CH).map(|i| (i as f32 * 0.0007).sin() * 0.5).collect();
    loopback.write(&feed, 0);
    let dev_b = driver_b.find_device().expect("device");
    let dev_c = driver_c.find_device().expect("device");
    let mut io_b = IoRunner::new(&driver_b, dev_b.clone(), FRAMES as u32, 1e9).expect("runner");
    let mut io_c = IoRunner::new(&driver_c, dev_c.clone(), FRAMES as u32, 1e9).expect("runner");
    io_b.start_io().expect("StartIO");
    io_c.start_io().expect("StartIO");
    let raw_b = RawWriteMix::new(&driver_b, dev_b.device_id, dev_b.stream_id).expect("IO entry points");
    let raw_c = RawWriteMix::new(&driver_c, dev_c.device_id, dev_c.stream_id).expect("IO entry points");
    let (in_b, in_c) = (dev_b.input_stream_id.expect("input stream"), dev_c.input_stream_id.expect("input stream"));
    let mut input = vec![0f32; FRAMES * CH];
    let (mut tb, mut tc) = (0usize, 0usize);
    let (mut dup, mut post) = (Vec::new(), Vec::new());

    let (mut cyc, mut cpy, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..reps {
        let t0 = Instant::now();
        for _ in 0..BATCH {
            cycle(t);
            t += FRAMES;
        }
        let c = t0.elapsed().as_nanos() as f64 / BATCH as f64;
        let mut got = 0;
        while got < BATCH * FRAMES {
            got += reader.read(&mut sink[..(BATCH * FRAMES - got) * CH]).expect("read").frames;
        }
        let t0 = Instant::now();
        for k in 0..BATCH {
            memcpy_block(&mut ring, t + k * FRAMES, black_box(&src));
        }
        let m = t0.elapsed().as_nanos() as f64 / BATCH as f64;
        black_box(&ring);
        cyc.push(c);
        cpy.push(m);
        ratio.push(c / m);

        // Pre tap, full duplex: WriteMix at output time t, ReadInput at t − 2 buffers.
        let t0 = Instant::now();
        for _ in 0..BATCH {
            let inf = info(tb as f64);
            // SAFETY: `src` and `input` hold FRAMES frames of CH float32 samples.
            let st = unsafe {
                raw_b.do_read_input(in_b, FRAMES as u32, black_box(&inf), input.as_mut_ptr())
                    | raw_b.do_write_mix(FRAMES as u32, black_box(&inf), src.as_ptr())
            };
            assert_eq!(st, 0);
            tb += FRAMES;
        }
        dup.push(t0.elapsed().as_nanos() as f64 / BATCH as f64);
        black_box(&input);
        let mut got = 0;
        while got < BATCH * FRAMES {
            got += reader_b.read(&mut sink[..(BATCH * FRAMES - got) * CH]).expect("read").frames;
        }

        // Post tap: ReadInput alone, from the engine's loopback segment.
        loopback.write(&feed, 0);
        let t0 = Instant::now();
        for _ in 0..BATCH {
            let inf = info(tc as f64);
            // SAFETY: `input` has room for FRAMES frames of CH float32 samples.
            let st = unsafe { raw_c.do_read_input(in_c, FRAMES as u32, black_box(&inf), input.as_mut_ptr()) };
            assert_eq!(st, 0);
            tc += FRAMES;
        }
        post.push(t0.elapsed().as_nanos() as f64 / BATCH as f64);
        black_box(&input);
    }
    let lb_b = gecko_ring::Peek::open(&name_b).unwrap().status().unwrap().loopback;
    let lb_c = gecko_ring::Peek::open(&name_c).unwrap().status().unwrap().loopback;
    assert_eq!(lb_b.tap, Some(Tap::Pre));
    assert!(lb_b.silent_frames <= 2 * FRAMES as u64, "the pre tap served the mix: {lb_b:?}");
    assert_eq!(lb_c.tap, Some(Tap::Post));
    assert!(lb_c.resync_events <= 1 && lb_c.post_faults == 0, "the post tap stayed locked: {lb_c:?}");
    assert!(lb_c.silent_frames <= 4 * FRAMES as u64, "the post tap served the engine's frames: {lb_c:?}");
    let w = reader.writer_counters();
    assert!(w.reader_attached, "flow control was active");
    assert_eq!((w.overrun_events, w.gap_events, w.overlap_events), (0, 0, 0));
    let (c, m, r) = (median(&mut cyc), median(&mut cpy), median(&mut ratio));
    println!(
        "write-mix IO cycle, {FRAMES} stereo frames ({} bytes), reader attached, median of {reps} batches of {BATCH}:",
        FRAMES * CH * 4
    );
    println!("  DoIOOperation(WriteMix)   {c:8.1} ns   ({:.3} ns/frame)", c / FRAMES as f64);
    println!("  memcpy of the same bytes  {m:8.1} ns   ({:.3} ns/frame)", m / FRAMES as f64);
    println!(
        "  ratio                     {r:8.2}×   target ≤ {TARGET_RATIO}×: {}",
        if r <= TARGET_RATIO { "met" } else { "NOT met" }
    );
    let (d, p) = (median(&mut dup), median(&mut post));
    let extra = d - c;
    println!("loopback (Gecko Sink's input stream), same run, rep by rep:");
    println!(
        "  WriteMix + ReadInput, pre  {d:8.1} ns   input's extra cost {extra:7.1} ns = {:.2}× memcpy   budget ≤ {TARGET_RATIO}×: {}",
        extra / m,
        if extra / m <= TARGET_RATIO { "met" } else { "NOT met" }
    );
    println!(
        "  ReadInput, post tap        {p:8.1} ns   = {:.2}× memcpy   budget ≤ {TARGET_RATIO}×: {}",
        p / m,
        if p / m <= TARGET_RATIO { "met" } else { "NOT met" }
    );
    io_b.stop_io().expect("StopIO");
    io_c.stop_io().expect("StopIO");
    drop(loopback);
    for n in [&name_b, &name_c] {
        let _ = gecko_ring::unlink_segments(n);
    }
    io.stop_io().expect("StopIO");
    drop(reader);
    let _ = gecko_ring::unlink_segments(&name);
}
