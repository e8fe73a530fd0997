//! Gecko Sink's input stream (the loopback), driven through the HAL's vtable
//! exactly as a recording app's IO would: ReadInput before WriteMix in each
//! cycle, input sample time two buffers behind the output's.
//!
//! - the pre tap is bit-exact to what was played, at the reported latency;
//! - the post tap serves the engine's loopback segment, bit-exact, a fixed
//!   distance behind it; silence (counted) while the engine is away;
//! - hostile loopback segments never crash, block or leak a bad sample.
//!
//! Under `scripts/macos-semantics/run` the same tests run against macOS's shm
//! semantics (page-rounded sizes, one ftruncate, no fchmod, ...).

use gecko_driver_bundle as bundle;
use gecko_ring::{AttachOptions, LoopbackWriter, Peek, Reader, Tap};
use gecko_simhost::ffi::*;
use gecko_simhost::{DeviceInfo, Driver, Host, HostConfig, IoRunner, Pacing, Resample, SourceSpec, load_isolated};
use gecko_test_kit::ShmName as Name;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const CH: usize = bundle::CHANNELS as usize;
const FADE: usize = 240; // GECKO_LOOPBACK_FADE_FRAMES

fn driver(name: &str) -> (Driver, DeviceInfo) {
    driver_with(name, Arc::new(Host::new()))
}

fn driver_with(name: &str, host: Arc<Host>) -> (Driver, DeviceInfo) {
    let mut d = load_isolated(bundle::bundle_path()).expect("load");
    d.configure(name, None, None).expect("configure");
    d.initialize(host).expect("Initialize");
    let dev = d.find_device().expect("device");
    (d, dev)
}

/// Deterministic noise in (-0.9, 0.9): every sample distinct enough that an
/// off-by-one frame cannot match.
fn noise(seed: u64, samples: usize) -> Vec<f32> {
    let mut x = seed | 1;
    (0..samples)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ((x >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 1.8
        })
        .collect()
}

fn input_latency(d: &Driver, dev: &DeviceInfo) -> u32 {
    d.get_u32(
        dev.device_id,
        &AudioObjectPropertyAddress::new(kAudioDevicePropertyLatency, kAudioObjectPropertyScopeInput),
    )
    .expect("input latency")
}

fn loopback_status(name: &str) -> gecko_ring::LoopbackCounters {
    Peek::open(name).expect("peek").status().expect("status").loopback
}

#[test]
fn the_device_has_one_input_stream_beside_its_output() {
    let name = Name::new("lp");
    let (d, dev) = driver(&name.0);
    let input = dev.input_stream_id.expect("an input stream");
    assert_ne!(input, dev.stream_id);
    let streams = |scope| {
        d.get_object_list(dev.device_id, &AudioObjectPropertyAddress::new(kAudioDevicePropertyStreams, scope))
            .expect("streams")
    };
    assert_eq!(streams(kAudioObjectPropertyScopeOutput), vec![dev.stream_id]);
    assert_eq!(streams(kAudioObjectPropertyScopeInput), vec![input]);
    assert_eq!(streams(kAudioObjectPropertyScopeGlobal), vec![dev.stream_id, input]);
    let g = |sel| AudioObjectPropertyAddress::global(sel);
    assert_eq!(d.get_u32(input, &g(kAudioStreamPropertyDirection)).unwrap(), 1);
    assert_eq!(d.get_u32(input, &g(kAudioStreamPropertyStartingChannel)).unwrap(), 1);
    let fmt = d.get_asbd(input, &g(kAudioStreamPropertyVirtualFormat)).unwrap();
    assert_eq!((fmt.mChannelsPerFrame, fmt.mSampleRate), (dev.format.mChannelsPerFrame, dev.sample_rate));
    // The pre tap (the driver's default) has no latency; no safety offset either.
    assert_eq!(input_latency(&d, &dev), 0);
    let safety = AudioObjectPropertyAddress::new(kAudioDevicePropertySafetyOffset, kAudioObjectPropertyScopeInput);
    assert_eq!(d.get_u32(dev.device_id, &safety).unwrap(), 0);
    // Recording apps may pick it as the default input; alerts never go to an input.
    let can =
        |sel| d.get_u32(dev.device_id, &AudioObjectPropertyAddress::new(sel, kAudioObjectPropertyScopeInput)).unwrap();
    assert_eq!(can(kAudioDevicePropertyDeviceCanBeDefaultDevice), 1);
    assert_eq!(can(kAudioDevicePropertyDeviceCanBeDefaultSystemDevice), 0);
    // ReadInput is an operation the driver does, in place.
    let io = IoRunner::new(&d, dev.clone(), 512, 1e9).expect("runner");
    let read = io.operations().iter().find(|o| o.id == kAudioServerPlugInIOOperationReadInput).unwrap();
    assert!(read.will_do && read.in_place);
}

#[test]
fn pre_tap_records_exactly_what_was_played_at_the_reported_latency() {
    for buf in [512u32, 480] {
        let name = Name::new("lp");
        let dir = tempfile::tempdir().unwrap();
        let src_path = dir.path().join("noise.wav");
        let frames = 48000 + 123;
        let src = noise(buf as u64, frames * CH);
        let spec = hound::WavSpec {
            channels: CH as u16,
            sample_rate: 48000,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let mut w = hound::WavWriter::create(&src_path, spec).unwrap();
        src.iter().for_each(|&x| w.write_sample(x).unwrap());
        w.finalize().unwrap();

        let rec_path = dir.path().join("input.wav");
        let mut c = HostConfig::new(
            bundle::bundle_path().to_path_buf(),
            &name.0,
            SourceSpec::File { path: src_path, resample: Resample::Reject },
        );
        c.isolated = true;
        c.pacing = Pacing::Fast;
        c.io_buffer_frames = buf;
        c.record_input = Some(rec_path.clone());
        let report = gecko_simhost::run(&c, &AtomicBool::new(false), |_| {}).expect("run");
        let input = report.input.expect("input report");
        assert_eq!(input.latency_frames, 0, "the pre tap has no latency");
        assert_eq!(input.non_finite, 0);
        let rec: Vec<f32> = hound::WavReader::open(&rec_path).unwrap().samples::<f32>().map(|s| s.unwrap()).collect();
        assert_eq!(rec.len() as u64, input.frames * CH as u64);
        let at = (input.alignment_frames + input.latency_frames as u64) as usize * CH;
        assert!(rec[..at].iter().all(|&x| x == 0.0), "buf {buf}: nothing before the first played frame");
        let got = &rec[at..at + src.len()];
        let first_diff = got.iter().zip(&src).position(|(a, b)| a.to_bits() != b.to_bits());
        assert_eq!(first_diff, None, "buf {buf}: the recording is the source, bit for bit");
        assert!(rec[at + src.len()..].iter().all(|&x| x == 0.0), "buf {buf}: then the silence that was played");
        let lb = loopback_status(&name.0);
        assert_eq!(lb.tap, Some(Tap::Pre));
        assert_eq!(lb.input_frames, input.frames);
        // Only the first cycles' input times precede the first WriteMix.
        assert_eq!(lb.silent_frames, 2 * buf as u64, "buf {buf}");
    }
}

/// A simulated engine: attached reader (the tap choice) and a loopback segment.
struct Engine {
    reader: Reader,
    loopback: Option<LoopbackWriter>,
}

impl Engine {
    fn start(name: &str, tap: Tap) -> Engine {
        let mut reader = Reader::attach(name, &AttachOptions::default()).expect("attach");
        reader.set_loopback_tap(Some(tap));
        let loopback = Some(LoopbackWriter::create(name, CH as u32, 48000.0, 8192).expect("loopback segment"));
        Engine { reader, loopback }
    }
}

/// The engine's "processing": a distinct, exactly representable transform.
fn processed(frames: &[f32]) -> Vec<f32> {
    frames.iter().map(|x| x * 0.5).collect()
}

/// The input-latency change the driver asks for (within 2 s: its attach
/// thread looks every 500 ms), as the frames of the action.
fn requested_input_latency(host: &Host) -> u64 {
    const INPUT_LATENCY_ACTION: u64 = 2 << 32;
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        if let Some(c) = host.pending_config_changes().iter().find(|c| c.action >= INPUT_LATENCY_ACTION) {
            return c.action - INPUT_LATENCY_ACTION;
        }
        assert!(Instant::now() < deadline, "no input-latency change requested");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn post_tap_serves_the_engines_stream_bit_exact_and_silence_while_it_is_away() {
    let name = Name::new("lp");
    let host = Arc::new(Host::new());
    let (d, dev) = driver_with(&name.0, host.clone());
    let mut engine = Engine::start(&name.0, Tap::Post);
    let mut io = IoRunner::new(&d, dev.clone(), 512, 1e9).expect("runner");
    io.start_io().expect("StartIO");
    let n = 512usize;
    let mut played: Vec<f32> = Vec::new(); // the engine's loopback stream
    let mut rec: Vec<f32> = Vec::new();
    let mut input = vec![0f32; n * CH];
    let mut t = 0u64;
    let mut cycle = |engine: &mut Engine, io: &mut IoRunner, t: &mut u64, played: &mut Vec<f32>, rec: &mut Vec<f32>| {
        let out = noise(*t + 1, n * CH);
        let start = Instant::now();
        io.do_cycle(*t as f64, *t, &out, Some(&mut input)).expect("noErr");
        assert!(start.elapsed() < Duration::from_millis(50), "IO never waits");
        rec.extend_from_slice(&input);
        // The engine reads the ring and plays (here: at once, 1:1).
        let mut buf = vec![0f32; n * CH];
        let got = engine.reader.read(&mut buf).expect("read").frames;
        if let Some(lp) = engine.loopback.as_mut() {
            let p = processed(&buf[..got * CH]);
            lp.write(&p, 0);
            played.extend_from_slice(&p);
        }
        *t += n as u64;
    };
    for _ in 0..200 {
        cycle(&mut engine, &mut io, &mut t, &mut played, &mut rec);
    }
    let lb = loopback_status(&name.0);
    assert_eq!(lb.tap, Some(Tap::Post));
    assert!(lb.post_attached);
    assert_eq!(lb.resync_events, 1, "locked once and stayed locked");
    assert_eq!(lb.post_faults + lb.repaired_samples, 0);
    let delay = lb.post_delay_frames as usize;
    assert!(delay >= 2 * n && delay <= 4096, "delay {delay}");
    // The input's latency changes through the HAL's configuration-change flow
    // (AudioServerPlugIn.h): the driver asks, the host performs it with IO
    // stopped. This engine reported no latency of its own: the tap's distance.
    assert_eq!(input_latency(&d, &dev), 0, "applied only when the host performs the change");
    assert_eq!(requested_input_latency(&host), delay as u64);
    // The recording is the engine's stream, contiguous: find where it starts.
    let first = rec.iter().position(|&x| x != 0.0).expect("sound") / CH;
    // After the fade, 64 frames of the recording match the stream at one place only.
    let probe = &rec[(first + FADE) * CH..(first + FADE + 64) * CH];
    let lag = (0..played.len() / CH - FADE - 64)
        .find(|&p| probe.iter().zip(&played[(p + FADE) * CH..]).all(|(x, y)| x.to_bits() == y.to_bits()))
        .expect("the recording is a stretch of the engine's stream");
    let len = rec.len() / CH - first;
    let a = &rec[(first + FADE) * CH..(first + len) * CH];
    let b = &played[(lag + FADE) * CH..(lag + len) * CH];
    assert_eq!(a.iter().zip(b).position(|(x, y)| x.to_bits() != y.to_bits()), None, "bit-exact after the fade-in");
    // The fade-in: a ramp, never above the signal.
    for i in 0..FADE {
        for c in 0..CH {
            let (x, y) = (rec[(first + i) * CH + c], played[(lag + i) * CH + c]);
            assert!(x.abs() <= y.abs() + 1e-7, "frame {i}: {x} vs {y}");
        }
    }

    // The engine goes away (its segment with it): silence, counted; IO goes on.
    engine.loopback = None;
    std::thread::sleep(Duration::from_millis(700)); // the attach thread re-checks every 500 ms
    let silent_before = loopback_status(&name.0).silent_frames;
    let mark = rec.len();
    for _ in 0..20 {
        cycle(&mut engine, &mut io, &mut t, &mut played, &mut rec);
    }
    assert!(rec[mark..].iter().all(|&x| x == 0.0), "silence while the engine is away");
    let lb = loopback_status(&name.0);
    assert_eq!(lb.silent_frames - silent_before, 20 * n as u64);
    assert!(!lb.post_attached);

    // A new engine: found within 500 ms, locked again, sound again.
    engine.loopback = Some(LoopbackWriter::create(&name.0, CH as u32, 48000.0, 8192).unwrap());
    std::thread::sleep(Duration::from_millis(700));
    let mark = rec.len();
    for _ in 0..40 {
        cycle(&mut engine, &mut io, &mut t, &mut played, &mut rec);
    }
    assert!(rec[mark..].iter().any(|&x| x != 0.0), "sound again");
    assert!(rec.iter().all(|x| x.is_finite() && x.abs() <= 1.0));
    assert_eq!(loopback_status(&name.0).resync_events, 2);
    io.stop_io().expect("StopIO");
    // The host performs the latency change with IO stopped, as the HAL does.
    assert_eq!(d.perform_pending_configuration_changes().expect("perform"), 1);
    assert_eq!(input_latency(&d, &dev) as usize, delay, "latency = engine's (0) + the tap's");
    // The driver validates what a (bad) host passes back too.
    assert!(d.perform_configuration_change(dev.device_id, (2 << 32) + (1 << 30), 0).is_err());
    assert_eq!(input_latency(&d, &dev) as usize, delay);
}

#[test]
fn switching_taps_fades_in_and_off_is_silence() {
    let name = Name::new("lp");
    let (d, dev) = driver(&name.0);
    let mut engine = Engine::start(&name.0, Tap::Off);
    let mut io = IoRunner::new(&d, dev.clone(), 512, 1e9).expect("runner");
    io.start_io().expect("StartIO");
    let n = 512usize;
    let mut input = vec![0f32; n * CH];
    let dc = vec![0.5f32; n * CH];
    let mut t = 0u64;
    let mut run = |io: &mut IoRunner, t: &mut u64, cycles: usize| -> Vec<f32> {
        let mut rec = Vec::new();
        for _ in 0..cycles {
            io.do_cycle(*t as f64, *t, &dc, Some(&mut input)).expect("noErr");
            rec.extend_from_slice(&input);
            *t += n as u64;
        }
        rec
    };
    assert!(run(&mut io, &mut t, 10).iter().all(|&x| x == 0.0), "off: silence");
    assert_eq!(loopback_status(&name.0).tap, Some(Tap::Off));
    engine.reader.set_loopback_tap(Some(Tap::Pre));
    let rec = run(&mut io, &mut t, 10);
    // The ramp's first frame has gain 0: the fade starts one frame before the first sound.
    let first = rec.iter().position(|&x| x != 0.0).expect("pre: sound") / CH - 1;
    // A linear ramp from 0 to the signal over FADE frames, then the signal.
    for i in 0..FADE {
        let want = 0.5 * i as f32 / FADE as f32;
        assert!((rec[(first + i) * CH] - want).abs() < 1e-6, "frame {i}: {} vs {want}", rec[(first + i) * CH]);
    }
    assert!(rec[(first + FADE) * CH..].iter().all(|&x| x == 0.5));
    // Back to no preference: the driver keeps the tap it has.
    engine.reader.set_loopback_tap(None);
    assert!(run(&mut io, &mut t, 4).iter().all(|&x| x == 0.5));
    assert_eq!(loopback_status(&name.0).tap, Some(Tap::Pre));
    io.stop_io().expect("StopIO");
}

// ---- hostile loopback segments ---------------------------------------------

/// Raw read-write access to the engine's loopback segment, as a hostile engine has.
fn poke(seg: &str) -> (*mut u8, usize) {
    let c = std::ffi::CString::new(seg).unwrap();
    // SAFETY: plain libc calls on a segment this test created; checked.
    unsafe {
        let fd = libc::shm_open(c.as_ptr(), libc::O_RDWR, 0);
        assert!(fd >= 0);
        let mut st: libc::stat = std::mem::zeroed();
        assert_eq!(libc::fstat(fd, &mut st), 0);
        let len = st.st_size as usize;
        let p = libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED, fd, 0);
        libc::close(fd);
        assert_ne!(p, libc::MAP_FAILED);
        (p as *mut u8, len)
    }
}

#[test]
fn hostile_loopback_segments_never_crash_block_or_leak_a_bad_sample() {
    use gecko_ring::abi::off;
    let name = Name::new("lp");
    let (d, dev) = driver(&name.0);
    let mut engine = Engine::start(&name.0, Tap::Post);
    let lp_name = gecko_ring::loopback_name(&name.0);
    let (p, len) = poke(&lp_name);
    let mut io = IoRunner::new(&d, dev.clone(), 512, 1e9).expect("runner");
    io.start_io().expect("StartIO");
    let n = 512usize;
    let mut input = vec![0f32; n * CH];
    let mut t = 0u64;
    let out = vec![0.25f32; n * CH];
    let mut worst = 0f32;
    let mut cycles = 0u64;
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let w64 = |o: usize, v: u64| {
        // SAFETY: o + 8 <= len, 8-aligned in a page-aligned mapping.
        unsafe { (*(p.add(o) as *const AtomicU64)).store(v, Ordering::SeqCst) }
    };
    let w32 = |o: usize, v: u32| {
        // SAFETY: o + 4 <= len, 4-aligned.
        unsafe { (*(p.add(o) as *const std::sync::atomic::AtomicU32)).store(v, Ordering::SeqCst) }
    };
    let frames = (len - 256) / 4;
    let specials = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 1e30, -7.0, 1.0000001, f32::MIN_POSITIVE];
    let lp = engine.loopback.as_mut().unwrap();
    for round in 0..400u64 {
        // Honest frames most of the time, so the tap is locked when the attack comes.
        lp.write(&vec![0.5f32; n * CH], 0);
        match rnd() % 8 {
            0 => {
                // poisoned samples
                for _ in 0..64 {
                    let i = (rnd() as usize) % frames;
                    let v = specials[(rnd() as usize) % specials.len()];
                    // SAFETY: i < frames: inside the frame area.
                    unsafe { *(p.add(256) as *mut f32).add(i) = v };
                }
            }
            1 => w64(off::LP_WRITE_COUNT, rnd()), // absurd count
            2 => w64(off::LP_WRITE_COUNT, lp.write_count().wrapping_sub(rnd() % 100_000)), // backwards
            3 => w32(24, (rnd() % 70_000) as u32), // capacity changed after mapping
            4 => w32(28, (rnd() % 70) as u32),    // channels
            5 => w32(44, rnd() as u32),           // block_frames
            6 => w64(0, rnd()),                   // magic
            _ => {
                // random bytes anywhere in the header
                let o = (rnd() as usize) % 256;
                // SAFETY: o < 256 <= len.
                unsafe { *p.add(o) = rnd() as u8 };
            }
        }
        let start = Instant::now();
        io.do_cycle(t as f64, t, &out, Some(&mut input)).expect("noErr");
        assert!(start.elapsed() < Duration::from_millis(50), "round {round}: IO never waits");
        for &s in &input {
            assert!(s.is_finite() && s.abs() <= 1.0, "round {round}: sample {s} reached the app");
            worst = worst.max(s.abs());
        }
        cycles += 1;
        t += n as u64;
        // Repair the header now and then, so the tap keeps trying to lock.
        if round % 3 == 0 {
            w64(0, gecko_ring::abi::LOOPBACK_MAGIC);
            w32(24, 8192);
            w32(28, CH as u32);
        }
    }
    let lb = loopback_status(&name.0);
    assert_eq!(lb.input_cycles, cycles);
    assert!(lb.post_faults > 0, "faults counted: {lb:?}");
    assert!(lb.repaired_samples > 0, "bad samples repaired: {lb:?}");
    assert!(worst <= 1.0);
    io.stop_io().expect("StopIO");
    // SAFETY: our mapping.
    unsafe { libc::munmap(p as *mut libc::c_void, len) };
}

#[test]
fn a_recording_that_starts_mid_programme_gets_it_from_its_first_cycle() {
    // The pre tap reads the ring back by sample time: nothing is copied while
    // nobody records, and an app that starts recording mid-programme gets
    // the frames of its very first input time.
    let name = Name::new("lp");
    let (d, dev) = driver(&name.0);
    let mut io = IoRunner::new(&d, dev.clone(), 512, 1e9).expect("runner");
    io.start_io().expect("StartIO");
    let n = 512usize;
    let block = |k: u64| noise(k + 7, n * CH);
    for k in 0..50u64 {
        io.do_write_mix_cycle((k * n as u64) as f64, k, &block(k)).expect("noErr");
    }
    let mut input = vec![0f32; n * CH];
    for k in 50..60u64 {
        // Output time k·512, input time two buffers behind (cycle_info): block k − 2.
        io.do_cycle((k * n as u64) as f64, k, &block(k), Some(&mut input)).expect("noErr");
        assert_eq!(input, block(k - 2), "input cycle {k}");
    }
    // The HAL skips ahead (a gap in the output's sample times): input times
    // nothing was played at are silence, counted.
    io.do_cycle((70 * n) as f64, 70, &block(70), Some(&mut input)).expect("noErr"); // input time 68·512
    assert!(input.iter().all(|&x| x == 0.0), "the skipped times were never played");
    io.do_cycle((72 * n) as f64, 72, &block(72), Some(&mut input)).expect("noErr"); // input time 70·512
    assert_eq!(input, block(70));
    assert_eq!(loopback_status(&name.0).silent_frames, n as u64);
    io.stop_io().expect("StopIO");
}

#[test]
fn the_post_tap_repairs_exactly_the_samples_an_app_must_not_get() {
    // A faulty engine's values at every place of the driver's check (the
    // vectorised 16-sample steps and the scalar tail): in range passes
    // untouched, bit for bit; beyond full scale is clamped; NaN is silence.
    let name = Name::new("lp");
    let (d, dev) = driver(&name.0);
    let mut engine = Engine::start(&name.0, Tap::Post);
    let mut io = IoRunner::new(&d, dev.clone(), 510, 1e9).expect("runner"); // 1020 samples: a tail of 12
    io.start_io().expect("StartIO");
    let cases: [(f32, f32); 14] = [
        (1.0, 1.0),
        (-1.0, -1.0),
        (-0.0, -0.0),
        (0.99999994, 0.99999994),
        (f32::from_bits(1), f32::from_bits(1)), // the smallest subnormal
        (1.0000001, 1.0),
        (-1.0000001, -1.0),
        (f32::INFINITY, 1.0),
        (f32::NEG_INFINITY, -1.0),
        (f32::NAN, 0.0),
        (-f32::NAN, 0.0),
        (f32::from_bits(0x7f80_0001), 0.0), // a signalling NaN
        (3.0e38, 1.0),
        (-0.25, -0.25),
    ];
    let period = cases.len(); // frames; both channels carry the case
    let frames: Vec<f32> = (0..8192 * period).flat_map(|f| [cases[f % period].0; CH]).collect();
    let lp = engine.loopback.as_mut().unwrap();
    let n = 510usize;
    let mut input = vec![0f32; n * CH];
    let mut got = Vec::new();
    let mut t = 0u64;
    for k in 0..40 {
        lp.write(&frames[(k * n * CH)..((k + 1) * n * CH)], 0);
        io.do_cycle(t as f64, t, &vec![0f32; n * CH], Some(&mut input)).expect("noErr");
        t += n as u64;
        if k >= 20 {
            got.extend_from_slice(&input); // well past the lock and its fade-in
        }
    }
    let offsets: Vec<usize> = (0..period)
        .filter(|&off| {
            got.chunks(CH)
                .enumerate()
                .all(|(i, fr)| fr.iter().all(|x| x.to_bits() == cases[(off + i) % period].1.to_bits()))
        })
        .collect();
    assert_eq!(offsets.len(), 1, "every sample is its case's repaired value, bit for bit");
    let lb = loopback_status(&name.0);
    assert!(lb.repaired_samples > 0 && lb.post_faults == 0, "{lb:?}");
    io.stop_io().expect("StopIO");
}
