//! Loads the built driver in this process (RTLD_NOW, CF from tests/common) and
//! drives it through its real entry points: the factory, COM, properties,
//! the IO path and the shm ring it writes. The full conformance and IO tests
//! go through the simulated host (gecko-simhost); these need nothing but the
//! bundle.

mod common;

use common::*;
use gecko_driver_bundle as bundle;
use std::ffi::c_void;
use std::sync::atomic::Ordering;
use std::time::Duration;

fn f64s(b: &[u8]) -> Vec<f64> {
    b.chunks(8).map(|c| f64::from_ne_bytes(c.try_into().unwrap())).collect()
}

#[test]
fn factory_and_com() {
    let (d, _g) = driver();
    let vt = d.vt();
    let r = d.r as *mut c_void;
    // The factory answers only the AudioServerPlugIn type.
    assert!(unsafe { (d.create)(std::ptr::null(), std::ptr::null()) }.is_null());
    assert!(unsafe { (d.create)(std::ptr::null(), uuid_obj(IUNKNOWN_UUID)) }.is_null());
    let s = cfstr("443ABAB8-E7B3-491A-B985-BEB9187030DB");
    assert!(unsafe { (d.create)(std::ptr::null(), s) }.is_null(), "a string is not a UUID");
    CFRelease(s);
    assert_eq!(unsafe { (d.create)(std::ptr::null(), uuid_obj(TYPE_UUID)) }, r);

    let mut out: *mut c_void = 1 as *mut c_void;
    let e_nointerface = 0x8000_0004u32 as i32;
    assert_eq!((vt.query_interface)(r, CFUUIDBytes([7; 16]), &mut out), e_nointerface);
    assert!(out.is_null());
    assert_eq!((vt.query_interface)(r, CFUUIDBytes(TYPE_UUID), &mut out), e_nointerface);
    assert_eq!((vt.query_interface)(r, CFUUIDBytes(IUNKNOWN_UUID), std::ptr::null_mut()), 0x8000_0005u32 as i32);
    let n0 = (vt.add_ref)(r);
    assert_eq!((vt.query_interface)(r, CFUUIDBytes(IUNKNOWN_UUID), &mut out), 0);
    assert_eq!(out, r);
    assert_eq!((vt.add_ref)(r), n0 + 2);
    assert_eq!((vt.release)(r), n0 + 1);
    assert_eq!((vt.release)(r), n0);
    assert_eq!((vt.release)(r), n0 - 1);
    assert_eq!((vt.add_ref)(r), n0); // restore
    // A foreign driver ref is refused everywhere.
    let mut other: *const Vtbl = vt;
    let foreign: Ref = &mut other;
    let a = addr(b"lnam", GLOBAL);
    assert_eq!((vt.has_property)(foreign, 2, 0, &a), 0);
    assert_eq!((vt.start_io)(foreign, 2, 0), BAD_OBJECT);
}

#[test]
fn plugin_properties() {
    let (d, _g) = driver();
    let live = LIVE_OBJECTS.load(Ordering::SeqCst);
    assert_eq!(d.u32(1, addr(b"clas", GLOBAL)), fourcc(b"aplg"));
    assert_eq!(d.u32(1, addr(b"bcls", GLOBAL)), fourcc(b"aobj"));
    assert_eq!(d.u32(1, addr(b"stdv", GLOBAL)), 0);
    assert_eq!(d.string(1, addr(b"lmak", GLOBAL)), bundle::MANUFACTURER);
    assert_eq!(d.string(1, addr(b"rsrc", GLOBAL)), "");
    assert_eq!(d.u32s(1, addr(b"dev#", GLOBAL)), vec![2]);
    assert_eq!(d.u32s(1, addr(b"ownd", GLOBAL)), vec![2]);
    // OwnedObjects honours its class qualifier.
    let q = |c: &[u8; 4]| fourcc(c).to_ne_bytes().to_vec();
    assert_eq!(d.get(1, addr(b"ownd", GLOBAL), &q(b"adev"), 64), (NO_ERR, 2u32.to_ne_bytes().to_vec()));
    assert_eq!(d.get(1, addr(b"ownd", GLOBAL), &q(b"astr"), 64), (NO_ERR, vec![]));
    assert_eq!(d.size(1, addr(b"ownd", GLOBAL), &q(b"astr")), (NO_ERR, 0));
    // TranslateUIDToDevice: CFString qualifier.
    let uid = cfstr(bundle::DEVICE_UID);
    let other = cfstr("com.example.nope");
    let qb = |s: *const c_void| (s as usize).to_ne_bytes().to_vec();
    assert_eq!(d.get(1, addr(b"uidd", GLOBAL), &qb(uid), 4), (NO_ERR, 2u32.to_ne_bytes().to_vec()));
    assert_eq!(d.get(1, addr(b"uidd", GLOBAL), &qb(other), 4), (NO_ERR, 0u32.to_ne_bytes().to_vec()));
    assert_eq!(d.get(1, addr(b"uidd", GLOBAL), &[], 4).0, BAD_SIZE);
    assert_eq!(d.get(1, addr(b"uidd", GLOBAL), &qb(uid)[..4], 4).0, BAD_SIZE);
    assert_eq!(cf_retain_count(uid), 1, "the driver must not keep or release the qualifier");
    CFRelease(uid);
    CFRelease(other);
    assert_eq!(LIVE_OBJECTS.load(Ordering::SeqCst), live, "CF objects leaked");
}

#[test]
fn device_properties() {
    let (d, _g) = driver();
    let live = LIVE_OBJECTS.load(Ordering::SeqCst);
    let dev = 2;
    assert_eq!(d.u32(dev, addr(b"clas", GLOBAL)), fourcc(b"adev"));
    assert_eq!(d.u32(dev, addr(b"bcls", GLOBAL)), fourcc(b"aobj"));
    assert_eq!(d.u32(dev, addr(b"stdv", GLOBAL)), 1);
    assert_eq!(d.string(dev, addr(b"lnam", GLOBAL)), bundle::DEVICE_NAME);
    assert_eq!(d.string(dev, addr(b"lmak", GLOBAL)), bundle::MANUFACTURER);
    assert_eq!(d.string(dev, addr(b"uid ", GLOBAL)), bundle::DEVICE_UID);
    assert_eq!(d.string(dev, addr(b"muid", GLOBAL)), bundle::MODEL_UID);
    assert_eq!(d.u32(dev, addr(b"tran", GLOBAL)), fourcc(b"virt"));
    assert_eq!(d.u32s(dev, addr(b"akin", GLOBAL)), vec![2]);
    assert_eq!(d.u32(dev, addr(b"clkd", GLOBAL)), 0);
    assert_eq!(d.u32(dev, addr(b"livn", GLOBAL)), 1);
    assert_eq!(d.u32(dev, addr(b"goin", GLOBAL)), 0);
    assert_eq!(d.u32(dev, addr(b"dflt", OUTPUT)), 1);
    assert_eq!(d.u32(dev, addr(b"dflt", INPUT)), 0, "an output-only device is no default input");
    assert_eq!(d.u32(dev, addr(b"sflt", OUTPUT)), 1);
    assert_eq!(d.u32(dev, addr(b"hidn", GLOBAL)), 0);
    assert_eq!(d.u32(dev, addr(b"ring", GLOBAL)), bundle::ZERO_TIMESTAMP_PERIOD_FRAMES);
    assert_eq!(d.u32(dev, addr(b"ltnc", OUTPUT)), 0);
    assert_eq!(d.u32(dev, addr(b"saft", OUTPUT)), 0);
    assert_eq!(d.u32s(dev, addr(b"dch2", OUTPUT)), vec![1, 2]);
    // Latency and safety offset live in the input/output scopes only (as in NullAudio).
    assert_eq!(d.get(dev, addr(b"ltnc", GLOBAL), &[], 4).0, UNKNOWN_PROPERTY);
    assert_eq!((d.vt().has_property)(d.r, dev, 0, &addr(b"saft", GLOBAL)), 0);
    assert_eq!((d.vt().has_property)(d.r, dev, 0, &addr(b"saft", OUTPUT)), 1);
    // Streams by scope.
    assert_eq!(d.u32s(dev, addr(b"stm#", GLOBAL)), vec![3]);
    assert_eq!(d.u32s(dev, addr(b"stm#", OUTPUT)), vec![3]);
    assert_eq!(d.u32s(dev, addr(b"stm#", INPUT)), Vec::<u32>::new());
    assert_eq!(d.u32s(dev, addr(b"ownd", GLOBAL)), vec![3, 4, 5]);
    assert_eq!(d.u32s(dev, addr(b"ctrl", GLOBAL)), vec![4, 5]);
    // Rates.
    assert_eq!(f64s(&d.get(dev, addr(b"nsrt", GLOBAL), &[], 8).1), vec![48_000.0]);
    let (st, b) = d.get(dev, addr(b"nsr#", GLOBAL), &[], 256);
    assert_eq!(st, NO_ERR);
    let ranges = f64s(&b);
    let want: Vec<f64> = bundle::AVAILABLE_SAMPLE_RATES.iter().flat_map(|&r| [r, r]).collect();
    assert_eq!(ranges, want);
    assert_eq!(d.size(dev, addr(b"nsr#", GLOBAL), &[]), (NO_ERR, 6 * 16));
    // Arrays return as many whole items as fit.
    let (st, b) = d.get(dev, addr(b"nsr#", GLOBAL), &[], 40);
    assert_eq!((st, b.len()), (NO_ERR, 32));
    // Settable through the configuration-change flow; this test's host has no
    // RequestDeviceConfigurationChange, so a change is refused (the simulated host's
    // conformance tests cover the flow).
    let mut settable = 0u8;
    assert_eq!((d.vt().is_property_settable)(d.r, dev, 0, &addr(b"nsrt", GLOBAL), &mut settable), NO_ERR);
    assert_eq!(settable, 1);
    let rate = 44_100.0f64;
    let set = |a: Address| (d.vt().set_property_data)(d.r, dev, 0, &a, 0, std::ptr::null(), 8, &rate as *const f64 as _);
    assert_eq!(set(addr(b"nsrt", GLOBAL)), UNSUPPORTED);
    let bad = 12_345.0f64;
    assert_eq!((d.vt().set_property_data)(d.r, dev, 0, &addr(b"nsrt", GLOBAL), 0, std::ptr::null(), 8, &bad as *const f64 as _), ILLEGAL);
    assert_eq!((d.vt().set_property_data)(d.r, dev, 0, &addr(b"nsrt", GLOBAL), 0, std::ptr::null(), 4, &rate as *const f64 as _), BAD_SIZE);
    assert_eq!(set(addr(b"lnam", GLOBAL)), UNSUPPORTED);
    assert_eq!(set(addr(b"zzzz", GLOBAL)), UNKNOWN_PROPERTY);
    assert_eq!(LIVE_OBJECTS.load(Ordering::SeqCst), live, "CF objects leaked");
}

#[test]
fn stream_properties() {
    let (d, _g) = driver();
    let s = 3;
    assert_eq!(d.u32(s, addr(b"clas", GLOBAL)), fourcc(b"astr"));
    assert_eq!(d.u32(s, addr(b"bcls", GLOBAL)), fourcc(b"aobj"));
    assert_eq!(d.u32(s, addr(b"stdv", GLOBAL)), 2);
    assert_eq!(d.u32(s, addr(b"sact", GLOBAL)), 1);
    assert_eq!(d.u32(s, addr(b"sdir", GLOBAL)), 0, "0 = output");
    assert_eq!(d.u32(s, addr(b"term", GLOBAL)), fourcc(b"line"));
    assert_eq!(d.u32(s, addr(b"schn", GLOBAL)), 1);
    assert_eq!(d.u32(s, addr(b"ltnc", GLOBAL)), 0);
    let ch = bundle::CHANNELS;
    for sel in [b"sfmt", b"pft "] {
        let (st, b) = d.get(s, addr(sel, GLOBAL), &[], 40);
        assert_eq!(st, NO_ERR);
        assert_eq!(f64::from_ne_bytes(b[0..8].try_into().unwrap()), 48_000.0);
        let w: Vec<u32> = b[8..40].chunks(4).map(|c| u32::from_ne_bytes(c.try_into().unwrap())).collect();
        // id, flags (float | packed, little endian), bytes/packet, frames/packet,
        // bytes/frame, channels, bits, reserved
        assert_eq!(w, vec![fourcc(b"lpcm"), 1 | 8, 4 * ch, 1, 4 * ch, ch, 32, 0]);
        assert_eq!(d.get(s, addr(sel, GLOBAL), &[], 39).0, BAD_SIZE);
    }
    for sel in [b"sfma", b"pfta"] {
        let (st, b) = d.get(s, addr(sel, GLOBAL), &[], 1024);
        assert_eq!((st, b.len()), (NO_ERR, 6 * 56));
        for (i, rec) in b.chunks(56).enumerate() {
            let rate = bundle::AVAILABLE_SAMPLE_RATES[i];
            assert_eq!(f64::from_ne_bytes(rec[0..8].try_into().unwrap()), rate);
            assert_eq!(f64s(&rec[40..56]), vec![rate, rate]);
        }
    }
}

#[test]
fn property_errors() {
    let (d, _g) = driver();
    let vt = d.vt();
    let a = addr(b"lnam", GLOBAL);
    let mut size = 0u32;
    let mut buf = [0u8; 64];
    // Unknown object.
    assert_eq!(d.get(99, a, &[], 8).0, BAD_OBJECT);
    assert_eq!(d.size(0, a, &[]).0, BAD_OBJECT);
    assert_eq!((vt.has_property)(d.r, 99, 0, &a), 0);
    // Unknown selector, another element, an unknown scope.
    assert_eq!(d.get(2, addr(b"zzzz", GLOBAL), &[], 8).0, UNKNOWN_PROPERTY);
    assert_eq!(d.get(2, Address { element: 1, ..a }, &[], 8).0, UNKNOWN_PROPERTY);
    assert_eq!(d.get(2, Address { scope: fourcc(b"abcd"), ..a }, &[], 8).0, UNKNOWN_PROPERTY);
    assert_eq!(d.get(1, addr(b"lnam", GLOBAL), &[], 8).0, UNKNOWN_PROPERTY, "the plug-in has no name");
    // Too small for a scalar.
    assert_eq!(d.get(2, addr(b"livn", GLOBAL), &[], 3).0, BAD_SIZE);
    assert_eq!(d.get(2, a, &[], 7).0, BAD_SIZE);
    // NULL pointers.
    let st = (vt.get_property_data)(d.r, 2, 0, &a, 0, std::ptr::null(), 8, &mut size, std::ptr::null_mut());
    assert_eq!(st, ILLEGAL);
    let st = (vt.get_property_data)(d.r, 2, 0, &a, 0, std::ptr::null(), 8, std::ptr::null_mut(), buf.as_mut_ptr() as _);
    assert_eq!(st, ILLEGAL);
    assert_eq!((vt.get_property_data_size)(d.r, 2, 0, &a, 0, std::ptr::null(), std::ptr::null_mut()), ILLEGAL);
    assert_eq!((vt.get_property_data_size)(d.r, 2, 0, std::ptr::null(), 0, std::ptr::null(), &mut size), ILLEGAL);
    assert_eq!((vt.has_property)(d.r, 2, 0, std::ptr::null()), 0);
    assert_eq!((vt.is_property_settable)(d.r, 2, 0, &a, std::ptr::null_mut()), ILLEGAL);
    // Sizes agree with the data for every property of every object.
    let objects: [(u32, &[&[u8; 4]]); 3] = [
        (1, &[b"bcls", b"clas", b"stdv", b"lmak", b"ownd", b"dev#", b"rsrc"]),
        (2, &[b"bcls", b"clas", b"stdv", b"lnam", b"lmak", b"uid ", b"muid", b"tran", b"akin", b"clkd", b"livn",
              b"goin", b"dflt", b"sflt", b"stm#", b"ctrl", b"nsrt", b"nsr#", b"hidn", b"ring", b"ownd"]),
        (3, &[b"bcls", b"clas", b"stdv", b"sact", b"sdir", b"term", b"schn", b"ltnc", b"sfmt", b"pft ", b"sfma", b"pfta"]),
    ];
    for (obj, sels) in objects {
        for sel in sels {
            let a = addr(sel, OUTPUT);
            assert_eq!((vt.has_property)(d.r, obj, 0, &a), 1, "{obj} {:?}", std::str::from_utf8(*sel));
            let (st, n) = d.size(obj, a, &[]);
            assert_eq!(st, NO_ERR);
            let (st, b) = d.get(obj, a, &[], 4096);
            assert_eq!((st, b.len() as u32), (NO_ERR, n), "{obj} {:?}", std::str::from_utf8(*sel));
            if matches!(*sel, b"lmak" | b"lnam" | b"uid " | b"muid" | b"rsrc") {
                CFRelease(usize::from_ne_bytes(b.try_into().unwrap()) as *const c_void);
            }
        }
    }
}

fn writer(d: &Driver) -> Shm {
    Shm::open(&d.shm_name, false).expect("writer segment exists after Initialize")
}

/// Interleaved test frames whose samples encode (frame, channel).
fn ramp(start: u32, n: u32) -> Vec<f32> {
    let ch = bundle::CHANNELS;
    (0..n * ch).map(|i| ((start + i / ch) * 10 + i % ch) as f32).collect()
}

#[test]
fn io_cycle_writes_frames_at_their_sample_time() {
    let (d, _g) = driver();
    let vt = d.vt();
    let w = writer(d);
    let ch = bundle::CHANNELS;
    assert_eq!(w.u64(off::MAGIC), 0x474E_524F_4B43_4547);
    assert_eq!(w.u32(off::VERSION), 1);
    assert_eq!(w.u32(off::HEADER_SIZE), 512);
    assert_eq!(w.u32(off::CAPACITY), 32_768);
    assert_eq!(w.u64(off::SEGMENT_SIZE), 512 + 32_768 * 4 * ch as u64);
    assert_eq!(w.len as u64, w.u64(off::SEGMENT_SIZE));
    assert_eq!(w.u32(off::CHANNELS), ch);
    assert_eq!(w.u32(off::FORMAT), 1);
    assert_eq!(w.u32(off::BYTES_PER_FRAME), 4 * ch);
    assert_eq!(w.u32(off::WRITER_PID), std::process::id());
    assert_eq!(w.f64(off::SAMPLE_RATE), 48_000.0);
    assert_eq!(w.f64(off::TICKS_PER_SECOND), 1e9);
    assert_eq!(w.f64(off::TICKS_PER_FRAME), 1e9 / 48_000.0);
    assert_eq!(w.u32(off::ZTS_PERIOD), 16_384);
    assert_eq!(f32::from_bits(w.u32(off::VOLUME)), 1.0);
    assert_eq!(w.u32(off::MUTE), 0);
    assert_eq!(w.u64(off::SEQ) % 2, 0);

    let (mut will, mut in_place) = (9u8, 9u8);
    assert_eq!((vt.will_do_io_operation)(d.r, 2, 0, WRITE_MIX, &mut will, &mut in_place), NO_ERR);
    assert_eq!((will, in_place), (1, 1));
    assert_eq!((vt.will_do_io_operation)(d.r, 2, 0, fourcc(b"read"), &mut will, &mut in_place), NO_ERR);
    assert_eq!(will, 0);

    // StartIO: same generation, io_running, clock anchored at the (fake) host time.
    CLOCK.store(5_000_000_000, Ordering::SeqCst);
    let g0 = w.u64(off::GENERATION);
    assert_ne!(g0, 0);
    assert_eq!((vt.start_io)(d.r, 2, 0), NO_ERR);
    let g1 = w.u64(off::GENERATION);
    assert_eq!(g1, g0, "StartIO re-anchors the clock but keeps the generation (the ring goes on)");
    assert_eq!(w.u32(off::IO_RUNNING), 1);
    assert_eq!(d.u32(2, addr(b"goin", GLOBAL)), 1);

    // Zero timestamps: one period at a time, seed constant, published to shm.
    let zts = || {
        let (mut s, mut h, mut seed) = (0.0, 0u64, 0u64);
        assert_eq!((vt.get_zero_time_stamp)(d.r, 2, 0, &mut s, &mut h, &mut seed), NO_ERR);
        (s, h, seed)
    };
    assert_eq!(zts(), (0.0, 5_000_000_000, 1));
    let period_ns = 16_384.0 * 1e9 / 48_000.0;
    CLOCK.store(5_000_000_000 + period_ns as u64 - 10, Ordering::SeqCst);
    assert_eq!(zts().0, 0.0);
    CLOCK.store(5_000_000_000 + 3 * period_ns as u64 + 10, Ordering::SeqCst);
    assert_eq!(zts(), (16_384.0, 5_000_000_000 + period_ns as u64, 1));
    assert_eq!(zts().0, 32_768.0);
    assert_eq!(w.f64(off::ZTS_SAMPLE_TIME), 32_768.0);
    assert_eq!(w.u64(off::ZTS_HOST_TIME), 5_000_000_000 + (2.0 * period_ns) as u64);
    assert_eq!(w.u64(off::ZTS_SEED), 1);

    let wc0 = w.u64(off::WRITE_COUNT);
    let cycles0 = w.u64(off::IO_CYCLES);
    let (gaps0, gapf0) = (w.u64(off::GAP_EVENTS), w.u64(off::GAP_FRAMES));
    let (ovl0, ovlf0) = (w.u64(off::OVERLAP_EVENTS), w.u64(off::OVERLAP_FRAMES));

    // Contiguous cycles.
    assert_eq!(d.do_io(&mut ramp(0, 512), 0.0, 777), NO_ERR);
    assert_eq!(d.do_io(&mut ramp(512, 512), 512.0, 778), NO_ERR);
    assert_eq!(w.u64(off::WRITE_COUNT), wc0 + 1024);
    assert_eq!(w.u64(off::HEARTBEAT), 778);
    for f in [0u32, 1, 511, 512, 1023] {
        assert_eq!(w.frame(wc0 + f as u64), ramp(f, 1), "frame {f}");
    }
    // A gap of 100 frames becomes silence.
    assert_eq!(d.do_io(&mut ramp(1124, 512), 1124.0, 779), NO_ERR);
    assert_eq!((w.u64(off::GAP_EVENTS), w.u64(off::GAP_FRAMES)), (gaps0 + 1, gapf0 + 100));
    assert_eq!(w.frame(wc0 + 1024), vec![0.0; ch as usize]);
    assert_eq!(w.frame(wc0 + 1123), vec![0.0; ch as usize]);
    assert_eq!(w.frame(wc0 + 1124), ramp(1124, 1));
    assert_eq!(w.u64(off::WRITE_COUNT), wc0 + 1636);
    // An overlap of 100 frames is dropped from the front of the buffer.
    assert_eq!(d.do_io(&mut ramp(1536, 512), 1536.0, 780), NO_ERR);
    assert_eq!((w.u64(off::OVERLAP_EVENTS), w.u64(off::OVERLAP_FRAMES)), (ovl0 + 1, ovlf0 + 100));
    assert_eq!(w.u64(off::WRITE_COUNT), wc0 + 2048);
    assert_eq!(w.frame(wc0 + 1636), ramp(1636, 1));
    assert_eq!(w.frame(wc0 + 2047), ramp(2047, 1));
    // A non-finite sample time is a discontinuity: written, not counted.
    assert_eq!(d.do_io(&mut ramp(0, 256), f64::NAN, 781), NO_ERR);
    assert_eq!(d.do_io(&mut ramp(0, 256), 99_999.0, 782), NO_ERR);
    assert_eq!(w.u64(off::GAP_EVENTS), gaps0 + 1);
    assert_eq!(w.u64(off::OVERLAP_EVENTS), ovl0 + 1);
    assert_eq!(w.u64(off::WRITE_COUNT), wc0 + 2560);
    assert_eq!(w.u64(off::IO_CYCLES), cycles0 + 6);
    // Detached (no reader segment): writing more than the ring holds never overruns.
    let over0 = w.u64(off::OVERRUN_EVENTS);
    let mut t = 100_000.0;
    for _ in 0..20 {
        assert_eq!(d.do_io(&mut ramp(0, 4096), t, 1), NO_ERR);
        t += 4096.0;
    }
    assert_eq!(w.u64(off::OVERRUN_EVENTS), over0);
    assert_eq!(w.u32(off::READER_ATTACHED), 0);

    // Structurally invalid arguments, other operations, other objects.
    let info = CycleInfo::default();
    let wc = w.u64(off::WRITE_COUNT);
    assert_eq!((vt.do_io_operation)(d.r, 2, 3, 0, WRITE_MIX, 16, &info, std::ptr::null_mut(), std::ptr::null_mut()), ILLEGAL);
    let mut big = vec![0f32; (32_769 * ch) as usize];
    assert_eq!((vt.do_io_operation)(d.r, 2, 3, 0, WRITE_MIX, 32_769, &info, big.as_mut_ptr() as _, std::ptr::null_mut()), ILLEGAL);
    assert_eq!((vt.do_io_operation)(d.r, 2, 3, 0, WRITE_MIX, 0, &info, big.as_mut_ptr() as _, std::ptr::null_mut()), NO_ERR);
    assert_eq!((vt.do_io_operation)(d.r, 2, 3, 0, fourcc(b"read"), 16, &info, big.as_mut_ptr() as _, std::ptr::null_mut()), NO_ERR);
    assert_eq!((vt.do_io_operation)(d.r, 2, 9, 0, WRITE_MIX, 16, &info, big.as_mut_ptr() as _, std::ptr::null_mut()), BAD_OBJECT);
    assert_eq!((vt.do_io_operation)(d.r, 7, 3, 0, WRITE_MIX, 16, &info, big.as_mut_ptr() as _, std::ptr::null_mut()), BAD_OBJECT);
    assert_eq!(w.u64(off::WRITE_COUNT), wc);
    assert_eq!((vt.begin_io_operation)(d.r, 2, 0, WRITE_MIX, 16, &info), NO_ERR);
    assert_eq!((vt.end_io_operation)(d.r, 2, 0, WRITE_MIX, 16, &info), NO_ERR);
    let (mut s, mut h, mut seed) = (0.0, 0u64, 0u64);
    assert_eq!((vt.get_zero_time_stamp)(d.r, 2, 0, std::ptr::null_mut(), &mut h, &mut seed), ILLEGAL);
    assert_eq!((vt.get_zero_time_stamp)(d.r, 5, 0, &mut s, &mut h, &mut seed), BAD_OBJECT);

    // Two clients: IO runs until the last one stops.
    assert_eq!((vt.start_io)(d.r, 2, 1), NO_ERR);
    assert_eq!(w.u64(off::GENERATION), g1, "a second client does not re-anchor");
    assert_eq!((vt.stop_io)(d.r, 2, 1), NO_ERR);
    assert_eq!(w.u32(off::IO_RUNNING), 1);
    assert_eq!((vt.stop_io)(d.r, 2, 0), NO_ERR);
    assert_eq!(w.u32(off::IO_RUNNING), 0);
    assert_eq!(d.u32(2, addr(b"goin", GLOBAL)), 0);
    assert_eq!((vt.stop_io)(d.r, 2, 0), NOT_RUNNING);
    assert_eq!(w.u64(off::SEQ) % 2, 0);
}

#[test]
fn flow_control_follows_the_reader_segment() {
    let (d, _g) = driver();
    let vt = d.vt();
    let w = writer(d);
    let rd_name = format!("{}.rd", d.shm_name);
    let rd = Shm::create_reader(&rd_name);
    assert_eq!((vt.start_io)(d.r, 2, 0), NO_ERR); // maps the reader at once
    let g = w.u64(off::GENERATION);
    let w0 = w.u64(off::WRITE_COUNT);
    rd.store_u64(off::READ_COUNT, w0);
    rd.store_u64(off::ATTACHED_GENERATION, g);

    let (over0, overf0) = (w.u64(off::OVERRUN_EVENTS), w.u64(off::OVERRUN_FRAMES));
    let mut t = 0.0;
    let mut cycle = |n: u32| {
        let st = d.do_io(&mut ramp(0, n), t, 5);
        t += n as f64;
        assert_eq!(st, NO_ERR);
    };
    for _ in 0..8 {
        cycle(4096); // exactly fills the 32768-frame ring
    }
    assert_eq!(w.u32(off::READER_ATTACHED), 1);
    assert_eq!(w.u64(off::WRITE_COUNT), w0 + 32_768);
    assert_eq!(w.u64(off::OVERRUN_EVENTS), over0);
    cycle(4096); // full: dropped, counted, never blocks
    assert_eq!(w.u64(off::WRITE_COUNT), w0 + 32_768);
    assert_eq!((w.u64(off::OVERRUN_EVENTS), w.u64(off::OVERRUN_FRAMES)), (over0 + 1, overf0 + 4096));
    rd.store_u64(off::READ_COUNT, w0 + 1000); // the reader consumed 1000 frames
    cycle(4096);
    assert_eq!(w.u64(off::WRITE_COUNT), w0 + 33_768);
    assert_eq!((w.u64(off::OVERRUN_EVENTS), w.u64(off::OVERRUN_FRAMES)), (over0 + 2, overf0 + 4096 + 3096));

    // A hostile read_count (ahead of write_count) is a reader fault: treated as detached.
    let faults0 = w.u64(off::READER_FAULTS);
    rd.store_u64(off::READ_COUNT, u64::MAX - 5);
    cycle(4096);
    assert_eq!(w.u64(off::READER_FAULTS), faults0 + 1);
    assert_eq!(w.u32(off::READER_ATTACHED), 0);
    assert_eq!(w.u64(off::WRITE_COUNT), w0 + 33_768 + 4096);
    // Another generation: not followed.
    let wc = w.u64(off::WRITE_COUNT);
    rd.store_u64(off::READ_COUNT, wc);
    rd.store_u64(off::ATTACHED_GENERATION, g + 1000);
    for _ in 0..9 {
        cycle(4096);
    }
    assert_eq!(w.u64(off::WRITE_COUNT), wc + 9 * 4096);
    assert_eq!(w.u32(off::READER_ATTACHED), 0);

    // The engine re-creates its segment: the attach thread maps the new one (<= ~0.5 s).
    let wc = w.u64(off::WRITE_COUNT);
    drop(rd);
    let rd2 = Shm::create_reader(&rd_name); // new inode
    rd2.store_u64(off::READ_COUNT, wc);
    rd2.store_u64(off::ATTACHED_GENERATION, g);
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    loop {
        cycle(16);
        if w.u32(off::READER_ATTACHED) == 1 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "new reader segment never attached");
        std::thread::sleep(Duration::from_millis(20));
    }
    rd2.store_u64(off::READ_COUNT, w.u64(off::WRITE_COUNT));
    let over = w.u64(off::OVERRUN_EVENTS);
    for _ in 0..9 {
        cycle(4096);
    }
    assert_eq!(w.u64(off::OVERRUN_EVENTS), over + 1, "flow control follows the new segment");

    // The engine goes away (segment unlinked): the driver detaches.
    unlink(&rd_name);
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    loop {
        cycle(16);
        if w.u32(off::READER_ATTACHED) == 0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "driver kept following a removed reader");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!((vt.stop_io)(d.r, 2, 0), NO_ERR);
    drop(rd2);
}
