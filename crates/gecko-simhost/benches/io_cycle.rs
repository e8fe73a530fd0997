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
//! `cargo bench -p gecko-simhost --bench io_cycle` (≈ 5 s).
//! `--callgrind N`: runs N cycles and N baseline copies untimed, for
//! `scripts/callgrind-io-cycle.sh`, which counts instructions per frame of
//! each with valgrind (stable on noisy machines).

use gecko_driver_bundle as bundle;
use gecko_ring::{AttachOptions, Reader};
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
    }
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
    io.stop_io().expect("StopIO");
    drop(reader);
    let _ = gecko_ring::unlink_segments(&name);
}
