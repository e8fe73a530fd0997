//! Loads the built driver in this process (`load_isolated`, RTLD_NOW, CF from
//! `gecko_simhost::cf`) and drives it through its real entry points, called
//! straight through the vtable: the factory, COM, properties, the IO path and
//! the shm ring it writes. Each test has its own driver instance, shm name
//! and simulated clock. The host given to `Initialize` has no callbacks at
//! all (the conformance tests cover the host interface).

use gecko_driver_bundle as bundle;
use gecko_ring::abi::{READER_MAGIC, READER_SEGMENT_SIZE, VERSION};
use gecko_simhost::ffi::*;
use gecko_simhost::{Driver, SimulatedClock, cf, load_isolated};
use gecko_test_kit::ShmMap;
use std::ffi::{CString, c_void};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

const GLOBAL: u32 = kAudioObjectPropertyScopeGlobal;
const INPUT: u32 = kAudioObjectPropertyScopeInput;
const OUTPUT: u32 = kAudioObjectPropertyScopeOutput;
const NO_ERR: OSStatus = kAudioHardwareNoError;
const BAD_OBJECT: OSStatus = kAudioHardwareBadObjectError;
const UNKNOWN_PROPERTY: OSStatus = kAudioHardwareUnknownPropertyError;
const BAD_SIZE: OSStatus = kAudioHardwareBadPropertySizeError;
const ILLEGAL: OSStatus = kAudioHardwareIllegalOperationError;
const UNSUPPORTED: OSStatus = kAudioHardwareUnsupportedOperationError;
const NOT_RUNNING: OSStatus = kAudioHardwareNotRunningError;
const WRITE_MIX: u32 = kAudioServerPlugInIOOperationWriteMix;

/// Calls a vtable entry (`Option<unsafe extern "C" fn>`) with raw arguments.
macro_rules! call {
    ($f:expr $(, $a:expr)* $(,)?) => {
        // SAFETY: the tests pass what each entry point expects (or deliberately
        // invalid values the driver must reject).
        unsafe { ($f.expect(stringify!($f)))($($a),*) }
    };
}

fn addr(sel: &[u8; 4], scope: u32) -> AudioObjectPropertyAddress {
    AudioObjectPropertyAddress::new(fourcc(sel), scope)
}

fn uuid(bytes: [u8; 16]) -> cf::CFUUIDBytes {
    cf::CFUUIDBytes { bytes }
}

fn f64s(b: &[u8]) -> Vec<f64> {
    b.chunks(8).map(|c| f64::from_ne_bytes(c.try_into().unwrap())).collect()
}

// ---- harness -------------------------------------------------------------------------------

use gecko_test_kit::ShmName as Name;

/// `Initialize`'s host: every callback NULL (no storage, no notifications,
/// no RequestDeviceConfigurationChange).
static NO_CALLBACKS: AudioServerPlugInHostInterface = AudioServerPlugInHostInterface {
    PropertiesChanged: None,
    CopyFromStorage: None,
    WriteToStorage: None,
    DeleteFromStorage: None,
    RequestDeviceConfigurationChange: None,
};

/// Never called: only handed to configurations the driver must refuse.
unsafe extern "C" fn unused_clock(_ctx: *mut c_void) -> u64 {
    0
}

fn sim_config(name: &str) -> GeckoSimConfig {
    let mut shm_name = [0; 32];
    for (d, s) in shm_name.iter_mut().zip(name.bytes()) {
        *d = s as std::ffi::c_char;
    }
    GeckoSimConfig {
        struct_size: std::mem::size_of::<GeckoSimConfig>() as u32,
        shm_name,
        host_clock: Some(unused_clock),
        host_clock_ctx: std::ptr::null_mut(),
        host_ticks_per_second: 1e9,
        ignore_clock_requests: 0,
        deny_shm_create: 0,
    }
}

/// A configured, initialized driver instance of its own, with the raw
/// factory and `GeckoSim_Configure` of that instance.
struct T {
    d: Driver,
    r: AudioServerPlugInDriverRef,
    create: FactoryFn,
    /// The host clock given to the driver (ns); tests move it by hand.
    clock: Arc<SimulatedClock>,
    _lib: libloading::os::unix::Library,
    name: Name,
}

fn driver() -> T {
    use libloading::os::unix::Library;
    let name = Name::new("i");
    let mut d = load_isolated(bundle::bundle_path()).expect("load the bundle");
    let info = d.bundle_info().clone();
    // The instance load_isolated mapped (RTLD_NOLOAD: never a second one).
    // SAFETY: the library is already loaded; opening it again runs nothing.
    let lib =
        unsafe { Library::open(Some(&info.executable), libc::RTLD_NOW | libc::RTLD_NOLOAD) }.expect("driver is loaded");
    // SAFETY: the factory's and GeckoSim_Configure's C types.
    let create = *unsafe { lib.get::<FactoryFn>(info.factory_symbol.as_bytes()) }.expect("factory exported");
    // SAFETY: GeckoSim_Configure's C type (driver/include/gecko_sim.h).
    let configure = *unsafe { lib.get::<GeckoSimConfigureFn>(GECKO_SIM_CONFIGURE_SYMBOL.as_bytes()) }
        .expect("GeckoSim_Configure exported");
    // SAFETY: a valid configuration pointer for the call's duration.
    let cfg = |c: &GeckoSimConfig| unsafe { configure(c) };
    // Invalid configurations are refused and change nothing.
    let mut bad = sim_config(&name.0);
    bad.struct_size -= 8;
    assert_eq!(cfg(&bad), -1, "wrong struct_size accepted");
    assert_eq!(cfg(&sim_config("no-slash")), -1);
    assert_eq!(cfg(&sim_config("/a/b")), -1);
    assert_eq!(cfg(&sim_config("/name-of-29-bytes-is-too-long")), -1);
    let mut bad_rate = sim_config(&name.0);
    bad_rate.host_ticks_per_second = f64::NAN;
    assert_eq!(cfg(&bad_rate), -1);
    let clock = SimulatedClock::new(1_000_000_000, 1e9);
    clock.configure(&mut d, &name.0).expect("GeckoSim_Configure accepts a valid configuration");

    let r = d.raw();
    // SAFETY: the driver reference the factory returned points at its vtable pointer.
    let vt = unsafe { &**r };
    let mut out: *mut c_void = std::ptr::null_mut();
    assert_eq!(call!(vt.QueryInterface, r as *mut c_void, uuid(kAudioServerPlugInDriverInterfaceUUID), &mut out), 0);
    assert_eq!(out, r as *mut c_void);
    call!(vt.Release, out);
    assert_eq!(call!(vt.Initialize, r, &NO_CALLBACKS), NO_ERR);
    // Too late now.
    assert_eq!(cfg(&sim_config("/other")), -1);
    T { d, r, create, clock, _lib: lib, name }
}

impl T {
    fn vt(&self) -> &AudioServerPlugInDriverInterface {
        // SAFETY: the driver ref points at its static vtable pointer.
        unsafe { &**self.d.raw() }
    }

    /// GetPropertyData into a buffer of `cap` bytes; returns (status, bytes).
    fn get(&self, obj: u32, a: AudioObjectPropertyAddress, qualifier: &[u8], cap: usize) -> (OSStatus, Vec<u8>) {
        let mut buf = vec![0xA5u8; cap + 16];
        let mut size = 0u32;
        let q = if qualifier.is_empty() { std::ptr::null() } else { qualifier.as_ptr() as *const c_void };
        let st = call!(
            self.vt().GetPropertyData,
            self.r,
            obj,
            0,
            &a,
            qualifier.len() as u32,
            q,
            cap as u32,
            &mut size,
            buf.as_mut_ptr() as *mut c_void,
        );
        assert!(buf[cap..].iter().all(|&b| b == 0xA5), "driver wrote past inDataSize for {a:?}");
        if st == NO_ERR {
            assert!(size as usize <= cap);
            buf.truncate(size as usize);
        } else {
            buf.clear();
        }
        (st, buf)
    }

    fn size(&self, obj: u32, a: AudioObjectPropertyAddress, qualifier: &[u8]) -> (OSStatus, u32) {
        let mut size = 0u32;
        let q = if qualifier.is_empty() { std::ptr::null() } else { qualifier.as_ptr() as *const c_void };
        let st = call!(self.vt().GetPropertyDataSize, self.r, obj, 0, &a, qualifier.len() as u32, q, &mut size);
        (st, size)
    }

    fn u32s(&self, obj: u32, a: AudioObjectPropertyAddress) -> Vec<u32> {
        let (st, b) = self.get(obj, a, &[], 256);
        assert_eq!(st, NO_ERR, "{a:?} on {obj}");
        b.chunks(4).map(|c| u32::from_ne_bytes(c.try_into().unwrap())).collect()
    }

    fn u32(&self, obj: u32, a: AudioObjectPropertyAddress) -> u32 {
        let v = self.u32s(obj, a);
        assert_eq!(v.len(), 1);
        v[0]
    }

    /// A CFString property, released after reading; the one release must
    /// free it (the caller owns the only reference).
    fn string(&self, obj: u32, a: AudioObjectPropertyAddress) -> String {
        let live = cf::live_objects_created_on_this_thread();
        let (st, b) = self.get(obj, a, &[], 8);
        assert_eq!(st, NO_ERR, "{a:?} on {obj}");
        let p = usize::from_ne_bytes(b.try_into().unwrap()) as *const c_void;
        let s = cf::string_value(p).expect("a CFString");
        cf::release(p);
        assert_eq!(cf::live_objects_created_on_this_thread(), live, "returned string must be owned by the caller");
        s
    }

    fn do_io(&self, frames: &mut [f32], sample_time: f64, host_time: u64) -> OSStatus {
        let ch = bundle::CHANNELS as usize;
        let n = (frames.len() / ch) as u32;
        let mut info =
            AudioServerPlugInIOCycleInfo { mIOCycleCounter: 1, mNominalIOBufferFrameSize: n, ..Default::default() };
        info.mOutputTime.mSampleTime = sample_time;
        info.mCurrentTime.mHostTime = host_time;
        call!(
            self.vt().DoIOOperation,
            self.r,
            2,
            3,
            0,
            WRITE_MIX,
            n,
            &info,
            frames.as_mut_ptr() as *mut c_void,
            std::ptr::null_mut(),
        )
    }
}

// ---- shm ------------------------------------------------------------------------------------

/// Byte offsets in the writer and reader segments (gecko_ring's mirror of gecko_shm_abi.h).
mod off {
    use gecko_ring::abi::{ReaderSegment, WriterSegment};
    use std::mem::offset_of;
    pub const MAGIC: usize = offset_of!(WriterSegment, header.magic);
    pub const VERSION: usize = offset_of!(WriterSegment, header.version);
    pub const HEADER_SIZE: usize = offset_of!(WriterSegment, header.header_size);
    pub const SEGMENT_SIZE: usize = offset_of!(WriterSegment, header.segment_size);
    pub const CAPACITY: usize = offset_of!(WriterSegment, header.capacity_frames);
    pub const CHANNELS: usize = offset_of!(WriterSegment, header.channels);
    pub const FORMAT: usize = offset_of!(WriterSegment, header.sample_format);
    pub const BYTES_PER_FRAME: usize = offset_of!(WriterSegment, header.bytes_per_frame);
    pub const WRITER_PID: usize = offset_of!(WriterSegment, header.writer_pid);
    pub const WRITE_COUNT: usize = offset_of!(WriterSegment, counters.write_count);
    pub const IO_CYCLES: usize = offset_of!(WriterSegment, counters.io_cycles);
    pub const GAP_EVENTS: usize = offset_of!(WriterSegment, counters.gap_events);
    pub const GAP_FRAMES: usize = offset_of!(WriterSegment, counters.gap_frames);
    pub const OVERLAP_EVENTS: usize = offset_of!(WriterSegment, counters.overlap_events);
    pub const OVERLAP_FRAMES: usize = offset_of!(WriterSegment, counters.overlap_frames);
    pub const OVERRUN_EVENTS: usize = offset_of!(WriterSegment, counters.overrun_events);
    pub const OVERRUN_FRAMES: usize = offset_of!(WriterSegment, counters.overrun_frames);
    pub const READER_FAULTS: usize = offset_of!(WriterSegment, counters.reader_faults);
    pub const HEARTBEAT: usize = offset_of!(WriterSegment, counters.heartbeat_host_time);
    pub const READER_ATTACHED: usize = offset_of!(WriterSegment, counters.reader_attached);
    pub const SEQ: usize = offset_of!(WriterSegment, state.seq);
    pub const GENERATION: usize = offset_of!(WriterSegment, state.generation);
    pub const SAMPLE_RATE: usize = offset_of!(WriterSegment, state.sample_rate);
    pub const ZTS_SAMPLE_TIME: usize = offset_of!(WriterSegment, state.zts_sample_time);
    pub const ZTS_HOST_TIME: usize = offset_of!(WriterSegment, state.zts_host_time);
    pub const ZTS_SEED: usize = offset_of!(WriterSegment, state.zts_seed);
    pub const TICKS_PER_FRAME: usize = offset_of!(WriterSegment, state.host_ticks_per_frame);
    pub const TICKS_PER_SECOND: usize = offset_of!(WriterSegment, state.host_ticks_per_second);
    pub const VOLUME: usize = offset_of!(WriterSegment, state.volume_scalar);
    pub const MUTE: usize = offset_of!(WriterSegment, state.mute);
    pub const IO_RUNNING: usize = offset_of!(WriterSegment, state.io_running);
    pub const ZTS_PERIOD: usize = offset_of!(WriterSegment, state.zts_period_frames);
    // reader segment
    pub const R_MAGIC: usize = offset_of!(ReaderSegment, header.magic);
    pub const R_VERSION: usize = offset_of!(ReaderSegment, header.version);
    pub const R_SEGMENT_SIZE: usize = offset_of!(ReaderSegment, header.segment_size);
    pub const R_INSTANCE_ID: usize = offset_of!(ReaderSegment, header.instance_id);
    pub const READ_COUNT: usize = offset_of!(ReaderSegment, counters.read_count);
    pub const ATTACHED_GENERATION: usize = offset_of!(ReaderSegment, counters.attached_generation);
}

/// A shared mapping of a whole shm segment, with the loads and stores
/// these tests make.
struct Shm(ShmMap);

impl Shm {
    fn open(name: &str, write: bool) -> Option<Shm> {
        ShmMap::open(name, write).map(Shm)
    }

    /// Creates a fresh engine-side reader segment with a valid header.
    fn create_reader(name: &str) -> Shm {
        let c = CString::new(name).unwrap();
        // SAFETY: plain POSIX calls with valid arguments.
        unsafe {
            libc::shm_unlink(c.as_ptr());
            let fd = libc::shm_open(c.as_ptr(), libc::O_RDWR | libc::O_CREAT | libc::O_EXCL, 0o644);
            assert!(fd >= 0);
            assert_eq!(libc::ftruncate(fd, READER_SEGMENT_SIZE as libc::off_t), 0);
            libc::close(fd);
        }
        let s = Shm::open(name, true).unwrap();
        s.store_u32(off::R_SEGMENT_SIZE, READER_SEGMENT_SIZE);
        s.store_u32(off::R_VERSION, VERSION);
        s.store_u64(off::R_MAGIC, READER_MAGIC);
        // Last, as the engine does: each new engine's own id (what the driver
        // tells segments apart by; macOS's fstat has no st_ino).
        static NEXT: AtomicU64 = AtomicU64::new(1);
        s.store_u64(off::R_INSTANCE_ID, (std::process::id() as u64) << 32 | NEXT.fetch_add(1, Ordering::Relaxed));
        s
    }

    fn word64(&self, off: usize) -> &AtomicU64 {
        self.0.word64(off)
    }
    fn word32(&self, off: usize) -> &AtomicU32 {
        self.0.word32(off)
    }
    fn u64(&self, off: usize) -> u64 {
        self.word64(off).load(Ordering::Acquire)
    }
    fn u32(&self, off: usize) -> u32 {
        self.word32(off).load(Ordering::Acquire)
    }
    fn f64(&self, off: usize) -> f64 {
        f64::from_bits(self.u64(off))
    }
    fn store_u64(&self, off: usize, v: u64) {
        self.word64(off).store(v, Ordering::Release)
    }
    fn store_u32(&self, off: usize, v: u32) {
        self.word32(off).store(v, Ordering::Release)
    }
    /// Frame `count` of the ring (channels floats), as the reader would copy it.
    fn frame(&self, count: u64) -> Vec<f32> {
        let ch = self.u32(off::CHANNELS) as usize;
        let cap = self.u32(off::CAPACITY) as u64;
        let hs = self.u32(off::HEADER_SIZE) as usize;
        let idx = (count & (cap - 1)) as usize;
        assert!(hs + (idx + 1) * ch * 4 <= self.0.len());
        (0..ch)
            // SAFETY: in bounds (checked above); the driver writes these samples concurrently.
            .map(|c| unsafe { std::ptr::read_volatile((self.0.as_ptr().add(hs) as *const f32).add(idx * ch + c)) })
            .collect()
    }
}

/// Mappings of the unlinked shm segment `name` in this process (lines of
/// /proc/self/maps for `/dev/shm/<name> (deleted)`): shows whether the driver
/// unmapped a reader segment it stopped using.
fn deleted_mappings(name: &str) -> usize {
    let suffix = format!("/dev/shm/{} (deleted)", name.trim_start_matches('/'));
    std::fs::read_to_string("/proc/self/maps").expect("maps").lines().filter(|l| l.ends_with(&suffix)).count()
}

/// Runs `each` every few ms until `cond` holds; panics with `what` after 3 s
/// (the driver's attach thread acts every 50 ms, re-opens every 500 ms).
fn wait_until(what: &str, mut cond: impl FnMut() -> bool, mut each: impl FnMut()) {
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    while !cond() {
        assert!(std::time::Instant::now() < deadline, "{what}");
        each();
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Waits (≤ 3 s) until `deleted_mappings(name) == want`.
fn await_deleted_mappings(name: &str, want: usize, what: &str) {
    wait_until(&format!("{what}: want {want} mappings"), || deleted_mappings(name) == want, || ());
}

fn unlink(name: &str) {
    let c = CString::new(name).unwrap();
    // SAFETY: a valid NUL-terminated name.
    unsafe { libc::shm_unlink(c.as_ptr()) };
}

// ---- tests ----------------------------------------------------------------------------------

#[test]
fn factory_and_com() {
    let d = driver();
    let vt = d.vt();
    let r = d.r as *mut c_void;
    // The factory answers only the AudioServerPlugIn type.
    // SAFETY: the factory takes an allocator (NULL is the default) and any CF
    // object or NULL as the requested type; it must refuse what is not a
    // CFUUID of the AudioServerPlugIn type. (The same for the calls below.)
    assert!(unsafe { (d.create)(std::ptr::null(), std::ptr::null()) }.is_null());
    // SAFETY: as above.
    assert!(unsafe { (d.create)(std::ptr::null(), cf::uuid_constant(IUNKNOWN_UUID)) }.is_null());
    let s = cf::string_create("443ABAB8-E7B3-491A-B985-BEB9187030DB");
    // SAFETY: as above.
    assert!(unsafe { (d.create)(std::ptr::null(), s) }.is_null(), "a string is not a UUID");
    cf::release(s);
    // SAFETY: as above.
    assert_eq!(unsafe { (d.create)(std::ptr::null(), cf::uuid_constant(kAudioServerPlugInTypeUUID)) }, r);

    let mut out: *mut c_void = std::ptr::dangling_mut();
    let e_nointerface = 0x8000_0004u32 as i32;
    assert_eq!(call!(vt.QueryInterface, r, uuid([7; 16]), &mut out), e_nointerface);
    assert!(out.is_null());
    assert_eq!(call!(vt.QueryInterface, r, uuid(kAudioServerPlugInTypeUUID), &mut out), e_nointerface);
    assert_eq!(call!(vt.QueryInterface, r, uuid(IUNKNOWN_UUID), std::ptr::null_mut()), 0x8000_0005u32 as i32);
    let n0 = call!(vt.AddRef, r);
    assert_eq!(call!(vt.QueryInterface, r, uuid(IUNKNOWN_UUID), &mut out), 0);
    assert_eq!(out, r);
    assert_eq!(call!(vt.AddRef, r), n0 + 2);
    assert_eq!(call!(vt.Release, r), n0 + 1);
    assert_eq!(call!(vt.Release, r), n0);
    assert_eq!(call!(vt.Release, r), n0 - 1);
    assert_eq!(call!(vt.AddRef, r), n0); // restore
    // A foreign driver ref is refused everywhere.
    let mut other: *const AudioServerPlugInDriverInterface = vt;
    let foreign: AudioServerPlugInDriverRef = &mut other;
    let a = addr(b"lnam", GLOBAL);
    assert_eq!(call!(vt.HasProperty, foreign, 2, 0, &a), 0);
    assert_eq!(call!(vt.StartIO, foreign, 2, 0), BAD_OBJECT);
}

#[test]
fn plugin_properties() {
    let d = driver();
    let live = cf::live_objects_created_on_this_thread();
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
    let uid = cf::string_create(bundle::DEVICE_UID);
    let other = cf::string_create("com.example.nope");
    let qb = |s: *const c_void| (s as usize).to_ne_bytes().to_vec();
    assert_eq!(d.get(1, addr(b"uidd", GLOBAL), &qb(uid), 4), (NO_ERR, 2u32.to_ne_bytes().to_vec()));
    assert_eq!(d.get(1, addr(b"uidd", GLOBAL), &qb(other), 4), (NO_ERR, 0u32.to_ne_bytes().to_vec()));
    assert_eq!(d.get(1, addr(b"uidd", GLOBAL), &[], 4).0, BAD_SIZE);
    assert_eq!(d.get(1, addr(b"uidd", GLOBAL), &qb(uid)[..4], 4).0, BAD_SIZE);
    // The driver must not keep or release the qualifier: it is still alive,
    // and our one release frees it.
    assert_eq!(cf::string_value(uid).as_deref(), Some(bundle::DEVICE_UID), "the driver released the qualifier");
    let n = cf::live_objects_created_on_this_thread();
    cf::release(uid);
    assert_eq!(cf::live_objects_created_on_this_thread(), n - 1, "the driver kept a reference to the qualifier");
    cf::release(other);
    assert_eq!(cf::live_objects_created_on_this_thread(), live, "CF objects leaked");
    assert_eq!(cf::misuse_count(), 0, "invalid CF calls");
}

#[test]
fn device_properties() {
    let d = driver();
    let live = cf::live_objects_created_on_this_thread();
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
    assert_eq!(d.u32(dev, addr(b"dflt", INPUT)), 1, "a recording app may use the loopback as its default input");
    assert_eq!(d.u32(dev, addr(b"sflt", OUTPUT)), 1);
    assert_eq!(d.u32(dev, addr(b"sflt", INPUT)), 0, "alerts never go to an input");
    assert_eq!(d.u32(dev, addr(b"hidn", GLOBAL)), 0);
    assert_eq!(d.u32(dev, addr(b"ring", GLOBAL)), bundle::ZERO_TIMESTAMP_PERIOD_FRAMES);
    assert_eq!(d.u32(dev, addr(b"ltnc", OUTPUT)), 0);
    assert_eq!(d.u32(dev, addr(b"saft", OUTPUT)), 0);
    assert_eq!(d.u32s(dev, addr(b"dch2", OUTPUT)), vec![1, 2]);
    // Latency and safety offset live in the input/output scopes only (as in NullAudio).
    assert_eq!(d.get(dev, addr(b"ltnc", GLOBAL), &[], 4).0, UNKNOWN_PROPERTY);
    assert_eq!(call!(d.vt().HasProperty, d.r, dev, 0, &addr(b"saft", GLOBAL)), 0);
    assert_eq!(call!(d.vt().HasProperty, d.r, dev, 0, &addr(b"saft", OUTPUT)), 1);
    // Streams by scope.
    assert_eq!(d.u32s(dev, addr(b"stm#", GLOBAL)), vec![3, 6]);
    assert_eq!(d.u32s(dev, addr(b"stm#", OUTPUT)), vec![3]);
    assert_eq!(d.u32s(dev, addr(b"stm#", INPUT)), vec![6]);
    assert_eq!(d.u32s(dev, addr(b"ownd", GLOBAL)), vec![3, 6, 4, 5]);
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
    assert_eq!(call!(d.vt().IsPropertySettable, d.r, dev, 0, &addr(b"nsrt", GLOBAL), &mut settable), NO_ERR);
    assert_eq!(settable, 1);
    // SetPropertyData of `value` (a Float64) announced as `size` bytes.
    let set = |a: AudioObjectPropertyAddress, value: f64, size: u32| {
        call!(d.vt().SetPropertyData, d.r, dev, 0, &a, 0, std::ptr::null(), size, &value as *const f64 as *const c_void)
    };
    assert_eq!(set(addr(b"nsrt", GLOBAL), 44_100.0, 8), UNSUPPORTED);
    assert_eq!(set(addr(b"nsrt", GLOBAL), 12_345.0, 8), ILLEGAL);
    assert_eq!(set(addr(b"nsrt", GLOBAL), 44_100.0, 4), BAD_SIZE);
    assert_eq!(set(addr(b"lnam", GLOBAL), 44_100.0, 8), UNSUPPORTED);
    assert_eq!(set(addr(b"zzzz", GLOBAL), 44_100.0, 8), UNKNOWN_PROPERTY);
    assert_eq!(cf::live_objects_created_on_this_thread(), live, "CF objects leaked");
    assert_eq!(cf::misuse_count(), 0, "invalid CF calls");
}

#[test]
fn stream_properties() {
    let d = driver();
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
    let d = driver();
    let vt = d.vt();
    let a = addr(b"lnam", GLOBAL);
    let mut size = 0u32;
    let mut buf = [0u8; 64];
    // Unknown object.
    assert_eq!(d.get(99, a, &[], 8).0, BAD_OBJECT);
    assert_eq!(d.size(0, a, &[]).0, BAD_OBJECT);
    assert_eq!(call!(vt.HasProperty, d.r, 99, 0, &a), 0);
    // Unknown selector, another element, an unknown scope.
    assert_eq!(d.get(2, addr(b"zzzz", GLOBAL), &[], 8).0, UNKNOWN_PROPERTY);
    assert_eq!(d.get(2, AudioObjectPropertyAddress { mElement: 1, ..a }, &[], 8).0, UNKNOWN_PROPERTY);
    assert_eq!(d.get(2, AudioObjectPropertyAddress { mScope: fourcc(b"abcd"), ..a }, &[], 8).0, UNKNOWN_PROPERTY);
    assert_eq!(d.get(1, addr(b"lnam", GLOBAL), &[], 8).0, UNKNOWN_PROPERTY, "the plug-in has no name");
    // Too small for a scalar.
    assert_eq!(d.get(2, addr(b"livn", GLOBAL), &[], 3).0, BAD_SIZE);
    assert_eq!(d.get(2, a, &[], 7).0, BAD_SIZE);
    // NULL pointers.
    let st = call!(vt.GetPropertyData, d.r, 2, 0, &a, 0, std::ptr::null(), 8, &mut size, std::ptr::null_mut());
    assert_eq!(st, ILLEGAL);
    let st = call!(
        vt.GetPropertyData,
        d.r,
        2,
        0,
        &a,
        0,
        std::ptr::null(),
        8,
        std::ptr::null_mut(),
        buf.as_mut_ptr() as *mut c_void
    );
    assert_eq!(st, ILLEGAL);
    assert_eq!(call!(vt.GetPropertyDataSize, d.r, 2, 0, &a, 0, std::ptr::null(), std::ptr::null_mut()), ILLEGAL);
    assert_eq!(call!(vt.GetPropertyDataSize, d.r, 2, 0, std::ptr::null(), 0, std::ptr::null(), &mut size), ILLEGAL);
    assert_eq!(call!(vt.HasProperty, d.r, 2, 0, std::ptr::null()), 0);
    assert_eq!(call!(vt.IsPropertySettable, d.r, 2, 0, &a, std::ptr::null_mut()), ILLEGAL);
    // Sizes agree with the data for every property of every object.
    let objects: [(u32, &[&[u8; 4]]); 3] = [
        (1, &[b"bcls", b"clas", b"stdv", b"lmak", b"ownd", b"dev#", b"rsrc"]),
        (
            2,
            &[
                b"bcls", b"clas", b"stdv", b"lnam", b"lmak", b"uid ", b"muid", b"tran", b"akin", b"clkd", b"livn",
                b"goin", b"dflt", b"sflt", b"stm#", b"ctrl", b"nsrt", b"nsr#", b"hidn", b"ring", b"ownd",
            ],
        ),
        (
            3,
            &[
                b"bcls", b"clas", b"stdv", b"sact", b"sdir", b"term", b"schn", b"ltnc", b"sfmt", b"pft ", b"sfma",
                b"pfta",
            ],
        ),
    ];
    for (obj, sels) in objects {
        for sel in sels {
            let a = addr(sel, OUTPUT);
            assert_eq!(call!(vt.HasProperty, d.r, obj, 0, &a), 1, "{obj} {:?}", std::str::from_utf8(*sel));
            let (st, n) = d.size(obj, a, &[]);
            assert_eq!(st, NO_ERR);
            let (st, b) = d.get(obj, a, &[], 4096);
            assert_eq!((st, b.len() as u32), (NO_ERR, n), "{obj} {:?}", std::str::from_utf8(*sel));
            if matches!(*sel, b"lmak" | b"lnam" | b"uid " | b"muid" | b"rsrc") {
                cf::release(usize::from_ne_bytes(b.try_into().unwrap()) as *const c_void);
            }
        }
    }
}

fn writer(d: &T) -> Shm {
    Shm::open(&d.name.0, false).expect("writer segment exists after Initialize")
}

/// Interleaved test frames whose samples encode (frame, channel).
fn ramp(start: u32, n: u32) -> Vec<f32> {
    let ch = bundle::CHANNELS;
    (0..n * ch).map(|i| ((start + i / ch) * 10 + i % ch) as f32).collect()
}

#[test]
fn io_cycle_writes_frames_at_their_sample_time() {
    let d = driver();
    let vt = d.vt();
    let w = writer(&d);
    let ch = bundle::CHANNELS;
    assert_eq!(w.u64(off::MAGIC), 0x474E_524F_4B43_4547);
    assert_eq!(w.u32(off::VERSION), 1);
    assert_eq!(w.u32(off::HEADER_SIZE), 512);
    assert_eq!(w.u32(off::CAPACITY), 32_768);
    assert_eq!(w.u64(off::SEGMENT_SIZE), 512 + 32_768 * 4 * ch as u64);
    // The header's size is the nominal one; fstat's may be rounded up to the
    // page (macOS: pshm_truncate), never by more than the largest page.
    assert!(gecko_ring::abi::is_page_rounded_size(w.0.len() as u64, w.u64(off::SEGMENT_SIZE)), "{} bytes", w.0.len());
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
    assert_eq!(call!(vt.WillDoIOOperation, d.r, 2, 0, WRITE_MIX, &mut will, &mut in_place), NO_ERR);
    assert_eq!((will, in_place), (1, 1));
    assert_eq!(call!(vt.WillDoIOOperation, d.r, 2, 0, fourcc(b"read"), &mut will, &mut in_place), NO_ERR);
    assert_eq!((will, in_place), (1, 1), "ReadInput: the loopback input stream");
    assert_eq!(call!(vt.WillDoIOOperation, d.r, 2, 0, fourcc(b"pinp"), &mut will, &mut in_place), NO_ERR);
    assert_eq!(will, 0);

    // StartIO: same generation, io_running, clock anchored at the (simulated) host time.
    d.clock.set(5_000_000_000);
    let g0 = w.u64(off::GENERATION);
    assert_ne!(g0, 0);
    assert_eq!(call!(vt.StartIO, d.r, 2, 0), NO_ERR);
    let g1 = w.u64(off::GENERATION);
    assert_eq!(g1, g0, "StartIO re-anchors the clock but keeps the generation (the ring goes on)");
    assert_eq!(w.u32(off::IO_RUNNING), 1);
    assert_eq!(d.u32(2, addr(b"goin", GLOBAL)), 1);

    // Zero timestamps: one period at a time, seed constant, published to shm.
    let zts = || {
        let (mut s, mut h, mut seed) = (0.0, 0u64, 0u64);
        assert_eq!(call!(vt.GetZeroTimeStamp, d.r, 2, 0, &mut s, &mut h, &mut seed), NO_ERR);
        (s, h, seed)
    };
    assert_eq!(zts(), (0.0, 5_000_000_000, 1));
    let period_ns = 16_384.0 * 1e9 / 48_000.0;
    d.clock.set(5_000_000_000 + period_ns as u64 - 10);
    assert_eq!(zts().0, 0.0);
    d.clock.set(5_000_000_000 + 3 * period_ns as u64 + 10);
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
    let info = AudioServerPlugInIOCycleInfo::default();
    let null = std::ptr::null_mut();
    let wc = w.u64(off::WRITE_COUNT);
    assert_eq!(call!(vt.DoIOOperation, d.r, 2, 3, 0, WRITE_MIX, 16, &info, null, null), ILLEGAL);
    let mut big = vec![0f32; (32_769 * ch) as usize];
    let bp = big.as_mut_ptr() as *mut c_void;
    assert_eq!(call!(vt.DoIOOperation, d.r, 2, 3, 0, WRITE_MIX, 32_769, &info, bp, null), ILLEGAL);
    assert_eq!(call!(vt.DoIOOperation, d.r, 2, 3, 0, WRITE_MIX, 0, &info, bp, null), NO_ERR);
    // Each operation on its own stream: ReadInput on the input stream only, WriteMix on the output's.
    assert_eq!(call!(vt.DoIOOperation, d.r, 2, 3, 0, fourcc(b"read"), 16, &info, bp, null), BAD_OBJECT);
    assert_eq!(call!(vt.DoIOOperation, d.r, 2, 6, 0, WRITE_MIX, 16, &info, bp, null), BAD_OBJECT);
    big[0] = 0.75;
    assert_eq!(call!(vt.DoIOOperation, d.r, 2, 6, 0, fourcc(b"read"), 16, &info, bp, null), NO_ERR);
    assert_eq!(big[0], 0.0, "ReadInput of a time nothing was played at: silence");
    assert_eq!(call!(vt.DoIOOperation, d.r, 2, 6, 0, fourcc(b"read"), 16, &info, null, null), ILLEGAL);
    assert_eq!(call!(vt.DoIOOperation, d.r, 2, 9, 0, WRITE_MIX, 16, &info, bp, null), BAD_OBJECT);
    assert_eq!(call!(vt.DoIOOperation, d.r, 7, 3, 0, WRITE_MIX, 16, &info, bp, null), BAD_OBJECT);
    assert_eq!(w.u64(off::WRITE_COUNT), wc);
    assert_eq!(call!(vt.BeginIOOperation, d.r, 2, 0, WRITE_MIX, 16, &info), NO_ERR);
    assert_eq!(call!(vt.EndIOOperation, d.r, 2, 0, WRITE_MIX, 16, &info), NO_ERR);
    let (mut s, mut h, mut seed) = (0.0, 0u64, 0u64);
    assert_eq!(call!(vt.GetZeroTimeStamp, d.r, 2, 0, std::ptr::null_mut(), &mut h, &mut seed), ILLEGAL);
    assert_eq!(call!(vt.GetZeroTimeStamp, d.r, 5, 0, &mut s, &mut h, &mut seed), BAD_OBJECT);

    // Two clients: IO runs until the last one stops.
    assert_eq!(call!(vt.StartIO, d.r, 2, 1), NO_ERR);
    assert_eq!(w.u64(off::GENERATION), g1, "a second client does not re-anchor");
    assert_eq!(call!(vt.StopIO, d.r, 2, 1), NO_ERR);
    assert_eq!(w.u32(off::IO_RUNNING), 1);
    assert_eq!(call!(vt.StopIO, d.r, 2, 0), NO_ERR);
    assert_eq!(w.u32(off::IO_RUNNING), 0);
    assert_eq!(d.u32(2, addr(b"goin", GLOBAL)), 0);
    assert_eq!(call!(vt.StopIO, d.r, 2, 0), NOT_RUNNING);
    assert_eq!(w.u64(off::SEQ) % 2, 0);
}

#[test]
fn flow_control_follows_the_reader_segment() {
    let d = driver();
    let vt = d.vt();
    let w = writer(&d);
    let rd_name = format!("{}.rd", d.name.0);
    let rd = Shm::create_reader(&rd_name);
    assert_eq!(call!(vt.StartIO, d.r, 2, 0), NO_ERR); // maps the reader at once
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
    wait_until("new reader segment never attached", || w.u32(off::READER_ATTACHED) == 1, || cycle(16));
    // The IO thread handed the old mapping back; the attach thread unmapped it.
    await_deleted_mappings(&rd_name, 0, "the replaced reader mapping");
    rd2.store_u64(off::READ_COUNT, w.u64(off::WRITE_COUNT));
    let over = w.u64(off::OVERRUN_EVENTS);
    for _ in 0..9 {
        cycle(4096);
    }
    assert_eq!(w.u64(off::OVERRUN_EVENTS), over + 1, "flow control follows the new segment");

    // The engine goes away (segment unlinked): the driver detaches.
    unlink(&rd_name);
    wait_until("driver kept following a removed reader", || w.u32(off::READER_ATTACHED) == 0, || cycle(16));
    // Only the test's own mapping of the removed segment is left.
    await_deleted_mappings(&rd_name, 1, "the removed reader's mapping");
    assert_eq!(call!(vt.StopIO, d.r, 2, 0), NO_ERR);
    drop(rd2);
    assert_eq!(deleted_mappings(&rd_name), 0);
}

/// A driver instance shared with an IO thread of the test's own.
struct Shared<'a>(&'a T);
// SAFETY: AudioServerPlugIn drivers take calls from any HAL thread; the
// IO thread is the only one doing IO, as in coreaudiod.
unsafe impl Sync for Shared<'_> {}
impl Shared<'_> {
    fn get(&self) -> &T {
        self.0
    }
}

/// The reader-mapping hand-over under real concurrency: an IO thread runs
/// write-mix cycles flat out while the engine's segment is created, removed
/// and created again, four times. Every cycle answers noErr, the driver
/// follows each new segment (flow control on) and lets go of each removed one,
/// and after each removal the old mapping is gone from the process.
#[test]
fn reader_segments_come_and_go_while_io_runs() {
    let d = driver();
    let w = writer(&d);
    let rd_name = format!("{}.rd", d.name.0);
    assert_eq!(call!(d.vt().StartIO, d.r, 2, 0), NO_ERR);
    let g = w.u64(off::GENERATION);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let cycles = AtomicU64::new(0);
    let shared = Shared(&d);
    std::thread::scope(|s| {
        s.spawn(|| {
            let d = shared.get();
            let mut frames = ramp(0, 64);
            let mut t = 0.0;
            while !stop.load(Ordering::Relaxed) {
                assert_eq!(d.do_io(&mut frames, t, 5), NO_ERR);
                t += 64.0;
                cycles.fetch_add(1, Ordering::Relaxed);
                // ~3 M frames/s: the test's reader (1 ms steps) keeps well
                // within a ring of the writer, as a live engine does.
                std::thread::sleep(Duration::from_micros(20));
            }
        });
        for round in 0..4 {
            let rd = Shm::create_reader(&rd_name); // a new inode each time
            rd.store_u64(off::READ_COUNT, w.u64(off::WRITE_COUNT));
            rd.store_u64(off::ATTACHED_GENERATION, g);
            // Keep up with the writer until the driver honours this reader.
            wait_until(
                &format!("round {round}: the new reader segment was never followed"),
                || w.u32(off::READER_ATTACHED) == 1,
                || rd.store_u64(off::READ_COUNT, w.u64(off::WRITE_COUNT)),
            );
            drop(rd);
            unlink(&rd_name);
            wait_until(
                &format!("round {round}: the driver kept a removed reader"),
                || w.u32(off::READER_ATTACHED) == 0,
                || (),
            );
            await_deleted_mappings(&rd_name, 0, &format!("round {round}: the removed reader's mapping"));
        }
        stop.store(true, Ordering::Relaxed);
    });
    assert_eq!(call!(d.vt().StopIO, d.r, 2, 0), NO_ERR);
    assert_eq!(w.u64(off::READER_FAULTS), 0);
    assert!(cycles.load(Ordering::Relaxed) > 1000, "IO ran {} cycles", cycles.load(Ordering::Relaxed));
}

/// The IO thread never takes a first-touch page fault in the ring: the
/// driver touches every page of the writer segment when it maps it (control
/// path), so the IO thread's minor-fault count (getrusage(RUSAGE_THREAD))
/// stays put across the first three laps of the ring. Without the pre-touch
/// each lap's first pass faults once per page (64+ per lap at 4 KiB pages).
#[test]
fn the_io_thread_takes_no_page_fault_in_the_ring() {
    fn minor_faults() -> i64 {
        // SAFETY: valid out pointer; RUSAGE_THREAD is this thread's own count.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: `ru` is a valid, writable rusage.
        assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) }, 0);
        ru.ru_minflt
    }
    // Under valgrind (scripts/valgrind-conformance.sh) the guest's faults are
    // valgrind's own to take: the count says nothing there.
    if std::env::var("LD_PRELOAD").is_ok_and(|p| p.contains("vgpreload")) {
        eprintln!("skipped under valgrind: page faults are taken by valgrind, not the IO thread");
        return;
    }
    let d = driver();
    let w = writer(&d);
    assert_eq!(call!(d.vt().StartIO, d.r, 2, 0), NO_ERR);
    let capacity = w.u32(off::CAPACITY) as u64;
    let shared = Shared(&d);
    let (faults, cycles) = std::thread::scope(|s| {
        s.spawn(|| {
            let d = shared.get();
            let mut frames = ramp(0, 512);
            // One cycle first: this thread's stack and the driver's code pages.
            assert_eq!(d.do_io(&mut frames, 0.0, 5), NO_ERR);
            let before = minor_faults();
            let laps = 3 * capacity / 512;
            for k in 1..=laps {
                assert_eq!(d.do_io(&mut frames, (k * 512) as f64, 5), NO_ERR);
            }
            (minor_faults() - before, laps)
        })
        .join()
        .unwrap()
    });
    assert_eq!(call!(d.vt().StopIO, d.r, 2, 0), NO_ERR);
    assert!(w.u64(off::IO_CYCLES) > cycles, "every cycle reached the ring");
    assert_eq!(faults, 0, "the IO thread took {faults} page faults writing {cycles} cycles (3 laps of the ring)");
}
