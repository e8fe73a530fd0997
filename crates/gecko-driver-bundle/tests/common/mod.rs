//! Shared test harness: a minimal CoreFoundation exported from the test
//! executable (`-rdynamic`), so the driver loads with RTLD_NOW without the
//! simulated host, and a typed view of the driver's vtable.
#![allow(dead_code, non_snake_case)]

use std::collections::HashMap;
use std::ffi::{CStr, CString, c_char, c_void};
use std::sync::atomic::{AtomicIsize, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};

// ---- a minimal CoreFoundation ------------------------------------------------------

pub const STRING_TYPE_ID: usize = 7;
pub const UUID_TYPE_ID: usize = 29;
pub const NUMBER_TYPE_ID: usize = 22;

/// CFUUIDBytes: 16 single-byte fields, passed by value.
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct CFUUIDBytes(pub [u8; 16]);

#[derive(PartialEq)]
enum Payload {
    Str(CString),
    Uuid([u8; 16]),
    /// CFNumber, kept as f64 (the driver stores Float32 and SInt32 values).
    Num(f64),
}

struct CfObj {
    type_id: usize,
    rc: AtomicIsize,
    immortal: bool,
    payload: Payload,
}

/// Mortal CF objects currently alive (to catch leaks and double releases).
pub static LIVE_OBJECTS: AtomicIsize = AtomicIsize::new(0);

fn new_obj(payload: Payload, immortal: bool) -> *const c_void {
    let type_id = match payload {
        Payload::Str(_) => STRING_TYPE_ID,
        Payload::Uuid(_) => UUID_TYPE_ID,
        Payload::Num(_) => NUMBER_TYPE_ID,
    };
    if !immortal {
        LIVE_OBJECTS.fetch_add(1, Ordering::SeqCst);
    }
    Box::into_raw(Box::new(CfObj { type_id, rc: AtomicIsize::new(1), immortal, payload })) as *const c_void
}

unsafe fn obj<'a>(p: *const c_void) -> &'a CfObj {
    assert!(!p.is_null(), "NULL passed to a CF function");
    unsafe { &*(p as *const CfObj) }
}

fn interned() -> &'static Mutex<HashMap<Vec<u8>, usize>> {
    static M: OnceLock<Mutex<HashMap<Vec<u8>, usize>>> = OnceLock::new();
    M.get_or_init(Default::default)
}

fn intern(key: Vec<u8>, make: impl FnOnce() -> Payload) -> *const c_void {
    let mut m = interned().lock().unwrap();
    *m.entry(key).or_insert_with(|| new_obj(make(), true) as usize) as *const c_void
}

#[unsafe(no_mangle)]
pub extern "C" fn CFRetain(cf: *const c_void) -> *const c_void {
    let o = unsafe { obj(cf) };
    if !o.immortal {
        assert!(o.rc.fetch_add(1, Ordering::SeqCst) > 0, "retain of a freed object");
    }
    cf
}

#[unsafe(no_mangle)]
pub extern "C" fn CFRelease(cf: *const c_void) {
    let o = unsafe { obj(cf) };
    if o.immortal {
        return;
    }
    let before = o.rc.fetch_sub(1, Ordering::SeqCst);
    assert!(before > 0, "over-release");
    if before == 1 {
        drop(unsafe { Box::from_raw(cf as *mut CfObj) });
        LIVE_OBJECTS.fetch_sub(1, Ordering::SeqCst);
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn CFEqual(a: *const c_void, b: *const c_void) -> u8 {
    let (a, b) = unsafe { (obj(a), obj(b)) };
    (a.type_id == b.type_id && a.payload == b.payload) as u8
}

#[unsafe(no_mangle)]
pub extern "C" fn CFGetTypeID(cf: *const c_void) -> usize {
    unsafe { obj(cf) }.type_id
}

#[unsafe(no_mangle)]
pub extern "C" fn CFStringGetTypeID() -> usize {
    STRING_TYPE_ID
}

#[unsafe(no_mangle)]
pub extern "C" fn CFUUIDGetTypeID() -> usize {
    UUID_TYPE_ID
}

#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn CFUUIDGetConstantUUIDWithBytes(
    _alloc: *const c_void,
    b0: u8, b1: u8, b2: u8, b3: u8, b4: u8, b5: u8, b6: u8, b7: u8,
    b8: u8, b9: u8, b10: u8, b11: u8, b12: u8, b13: u8, b14: u8, b15: u8,
) -> *const c_void {
    let bytes = [b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15];
    let mut key = b"uuid:".to_vec();
    key.extend_from_slice(&bytes);
    intern(key, || Payload::Uuid(bytes))
}

#[unsafe(no_mangle)]
pub extern "C" fn CFUUIDCreateFromUUIDBytes(_alloc: *const c_void, bytes: CFUUIDBytes) -> *const c_void {
    new_obj(Payload::Uuid(bytes.0), false)
}

#[unsafe(no_mangle)]
pub extern "C" fn CFUUIDGetUUIDBytes(uuid: *const c_void) -> CFUUIDBytes {
    match unsafe { obj(uuid) }.payload {
        Payload::Uuid(b) => CFUUIDBytes(b),
        _ => panic!("not a UUID"),
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn CFStringCreateWithCString(_alloc: *const c_void, s: *const c_char, enc: u32) -> *const c_void {
    assert_eq!(enc, 0x0800_0100, "driver must ask for UTF-8");
    let s = unsafe { CStr::from_ptr(s) }.to_owned();
    new_obj(Payload::Str(s), false)
}

#[unsafe(no_mangle)]
pub extern "C" fn CFStringGetCString(s: *const c_void, buf: *mut c_char, size: isize, _enc: u32) -> u8 {
    let Payload::Str(ref c) = unsafe { obj(s) }.payload else { return 0 };
    let bytes = c.as_bytes_with_nul();
    if size < 0 || bytes.len() > size as usize {
        return 0;
    }
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr() as *const c_char, buf, bytes.len()) };
    1
}

#[unsafe(no_mangle)]
pub extern "C" fn __CFStringMakeConstantString(s: *const c_char) -> *const c_void {
    let c = unsafe { CStr::from_ptr(s) }.to_owned();
    let mut key = b"str:".to_vec();
    key.extend_from_slice(c.as_bytes());
    intern(key, || Payload::Str(c))
}

#[unsafe(no_mangle)]
pub extern "C" fn CFNumberGetTypeID() -> usize {
    NUMBER_TYPE_ID
}

/// kCFNumberSInt32Type = 3, kCFNumberFloat32Type = 5, kCFNumberFloat64Type = 6 only.
#[unsafe(no_mangle)]
pub extern "C" fn CFNumberCreate(_alloc: *const c_void, t: isize, v: *const c_void) -> *const c_void {
    let x = unsafe {
        match t {
            3 => (v as *const i32).read_unaligned() as f64,
            5 => (v as *const f32).read_unaligned() as f64,
            6 => (v as *const f64).read_unaligned(),
            _ => panic!("CFNumberCreate: unexpected type {t}"),
        }
    };
    new_obj(Payload::Num(x), false)
}

#[unsafe(no_mangle)]
pub extern "C" fn CFNumberGetValue(n: *const c_void, t: isize, out: *mut c_void) -> u8 {
    let Payload::Num(x) = unsafe { obj(n) }.payload else { return 0 };
    unsafe {
        match t {
            3 => (out as *mut i32).write_unaligned(x as i32),
            5 => (out as *mut f32).write_unaligned(x as f32),
            6 => (out as *mut f64).write_unaligned(x),
            _ => return 0,
        }
    }
    1
}

/// A new mortal CFString (the caller releases it).
pub fn cfstr(s: &str) -> *const c_void {
    let c = CString::new(s).unwrap();
    CFStringCreateWithCString(std::ptr::null(), c.as_ptr(), 0x0800_0100)
}

/// The Rust text of a CFString.
pub fn cf_to_string(s: *const c_void) -> String {
    match unsafe { obj(s) }.payload {
        Payload::Str(ref c) => c.to_str().unwrap().to_owned(),
        _ => panic!("not a string"),
    }
}

/// The retain count of a mortal object.
pub fn cf_retain_count(s: *const c_void) -> isize {
    unsafe { obj(s) }.rc.load(Ordering::SeqCst)
}

pub fn uuid_obj(b: [u8; 16]) -> *const c_void {
    CFUUIDGetConstantUUIDWithBytes(
        std::ptr::null(), b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
        b[13], b[14], b[15],
    )
}

// ---- CoreAudio types (Apple's layouts, LP64) -----------------------------------------

pub const fn fourcc(s: &[u8; 4]) -> u32 {
    u32::from_be_bytes(*s)
}

pub const TYPE_UUID: [u8; 16] =
    [0x44, 0x3A, 0xBA, 0xB8, 0xE7, 0xB3, 0x49, 0x1A, 0xB9, 0x85, 0xBE, 0xB9, 0x18, 0x70, 0x30, 0xDB];
pub const DRIVER_INTERFACE_UUID: [u8; 16] =
    [0xEE, 0xA5, 0x77, 0x3D, 0xCC, 0x43, 0x49, 0xF1, 0x8E, 0x00, 0x8F, 0x96, 0xE7, 0xD2, 0x3B, 0x17];
pub const IUNKNOWN_UUID: [u8; 16] = [0, 0, 0, 0, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46];

pub const GLOBAL: u32 = fourcc(b"glob");
pub const INPUT: u32 = fourcc(b"inpt");
pub const OUTPUT: u32 = fourcc(b"outp");
pub const NO_ERR: i32 = 0;
pub const BAD_OBJECT: i32 = fourcc(b"!obj") as i32;
pub const UNKNOWN_PROPERTY: i32 = fourcc(b"who?") as i32;
pub const BAD_SIZE: i32 = fourcc(b"!siz") as i32;
pub const ILLEGAL: i32 = fourcc(b"nope") as i32;
pub const UNSUPPORTED: i32 = fourcc(b"unop") as i32;
pub const NOT_RUNNING: i32 = fourcc(b"stop") as i32;
pub const WRITE_MIX: u32 = fourcc(b"rite");

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Address {
    pub selector: u32,
    pub scope: u32,
    pub element: u32,
}

pub fn addr(sel: &[u8; 4], scope: u32) -> Address {
    Address { selector: fourcc(sel), scope, element: 0 }
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct TimeStamp {
    pub sample_time: f64,
    pub host_time: u64,
    pub rate_scalar: f64,
    pub word_clock_time: u64,
    pub smpte: [u8; 24],
    pub flags: u32,
    pub reserved: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct CycleInfo {
    pub counter: u64,
    pub nominal_frames: u32,
    pub current: TimeStamp,
    pub input: TimeStamp,
    pub output: TimeStamp,
    pub main_ticks_per_frame: f64,
    pub device_ticks_per_frame: f64,
}

pub type Ref = *mut *const Vtbl;
type P = *const c_void;

#[repr(C)]
pub struct Vtbl {
    pub reserved: P,
    pub query_interface: extern "C" fn(*mut c_void, CFUUIDBytes, *mut *mut c_void) -> i32,
    pub add_ref: extern "C" fn(*mut c_void) -> u32,
    pub release: extern "C" fn(*mut c_void) -> u32,
    pub initialize: extern "C" fn(Ref, *const [usize; 5]) -> i32,
    pub create_device: P,
    pub destroy_device: P,
    pub add_device_client: P,
    pub remove_device_client: P,
    pub perform_config_change: P,
    pub abort_config_change: P,
    pub has_property: extern "C" fn(Ref, u32, i32, *const Address) -> u8,
    pub is_property_settable: extern "C" fn(Ref, u32, i32, *const Address, *mut u8) -> i32,
    pub get_property_data_size: extern "C" fn(Ref, u32, i32, *const Address, u32, P, *mut u32) -> i32,
    pub get_property_data: extern "C" fn(Ref, u32, i32, *const Address, u32, P, u32, *mut u32, *mut c_void) -> i32,
    pub set_property_data: extern "C" fn(Ref, u32, i32, *const Address, u32, P, u32, P) -> i32,
    pub start_io: extern "C" fn(Ref, u32, u32) -> i32,
    pub stop_io: extern "C" fn(Ref, u32, u32) -> i32,
    pub get_zero_time_stamp: extern "C" fn(Ref, u32, u32, *mut f64, *mut u64, *mut u64) -> i32,
    pub will_do_io_operation: extern "C" fn(Ref, u32, u32, u32, *mut u8, *mut u8) -> i32,
    pub begin_io_operation: extern "C" fn(Ref, u32, u32, u32, u32, *const CycleInfo) -> i32,
    pub do_io_operation: extern "C" fn(Ref, u32, u32, u32, u32, u32, *const CycleInfo, *mut c_void, *mut c_void) -> i32,
    pub end_io_operation: extern "C" fn(Ref, u32, u32, u32, u32, *const CycleInfo) -> i32,
}

#[repr(C)]
pub struct SimConfig {
    pub struct_size: u32,
    pub shm_name: [u8; 32],
    pub host_clock: Option<extern "C" fn(*mut c_void) -> u64>,
    pub host_clock_ctx: *mut c_void,
    pub host_ticks_per_second: f64,
}

pub fn sim_config(name: &str, clock: bool) -> SimConfig {
    let mut shm_name = [0u8; 32];
    shm_name[..name.len()].copy_from_slice(name.as_bytes());
    SimConfig {
        struct_size: std::mem::size_of::<SimConfig>() as u32,
        shm_name,
        host_clock: clock.then_some(fake_clock as extern "C" fn(*mut c_void) -> u64),
        host_clock_ctx: std::ptr::null_mut(),
        host_ticks_per_second: 1e9,
    }
}

/// The host clock given to the driver, in ns; tests move it by hand.
pub static CLOCK: AtomicU64 = AtomicU64::new(1_000_000_000);

extern "C" fn fake_clock(_ctx: *mut c_void) -> u64 {
    CLOCK.load(Ordering::SeqCst)
}

// ---- the loaded driver ------------------------------------------------------------

pub struct Driver {
    _lib: libloading::os::unix::Library,
    pub r: Ref,
    pub shm_name: String,
    pub configure: unsafe extern "C" fn(*const SimConfig) -> i32,
    pub create: unsafe extern "C" fn(*const c_void, *const c_void) -> *mut c_void,
}
unsafe impl Send for Driver {}
unsafe impl Sync for Driver {}

impl Driver {
    pub fn vt(&self) -> &Vtbl {
        unsafe { &**self.r }
    }

    /// GetPropertyData into a buffer of `cap` bytes; returns (status, bytes).
    pub fn get(&self, obj: u32, a: Address, qualifier: &[u8], cap: usize) -> (i32, Vec<u8>) {
        let mut buf = vec![0xA5u8; cap + 16];
        let mut size = 0u32;
        let q = if qualifier.is_empty() { std::ptr::null() } else { qualifier.as_ptr() as P };
        let st = (self.vt().get_property_data)(
            self.r, obj, 0, &a, qualifier.len() as u32, q, cap as u32, &mut size,
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

    pub fn size(&self, obj: u32, a: Address, qualifier: &[u8]) -> (i32, u32) {
        let mut size = 0u32;
        let q = if qualifier.is_empty() { std::ptr::null() } else { qualifier.as_ptr() as P };
        let st = (self.vt().get_property_data_size)(self.r, obj, 0, &a, qualifier.len() as u32, q, &mut size);
        (st, size)
    }

    pub fn u32s(&self, obj: u32, a: Address) -> Vec<u32> {
        let (st, b) = self.get(obj, a, &[], 256);
        assert_eq!(st, NO_ERR, "{a:?} on {obj}");
        b.chunks(4).map(|c| u32::from_ne_bytes(c.try_into().unwrap())).collect()
    }

    pub fn u32(&self, obj: u32, a: Address) -> u32 {
        let v = self.u32s(obj, a);
        assert_eq!(v.len(), 1);
        v[0]
    }

    /// A CFString property, released after reading.
    pub fn string(&self, obj: u32, a: Address) -> String {
        let (st, b) = self.get(obj, a, &[], 8);
        assert_eq!(st, NO_ERR, "{a:?} on {obj}");
        let p = usize::from_ne_bytes(b.try_into().unwrap()) as *const c_void;
        assert_eq!(cf_retain_count(p), 1, "returned string must be owned by the caller");
        let s = cf_to_string(p);
        CFRelease(p);
        s
    }

    pub fn do_io(&self, frames: &mut [f32], sample_time: f64, host_time: u64) -> i32 {
        let ch = gecko_driver_bundle::CHANNELS as usize;
        let n = (frames.len() / ch) as u32;
        let mut info = CycleInfo { counter: 1, nominal_frames: n, ..Default::default() };
        info.output.sample_time = sample_time;
        info.current.host_time = host_time;
        (self.vt().do_io_operation)(
            self.r, 2, 3, 0, WRITE_MIX, n, &info, frames.as_mut_ptr() as *mut c_void, std::ptr::null_mut(),
        )
    }
}

/// Loads, configures, creates and initializes the driver once per test process;
/// the guard serialises tests (the driver is a process-wide singleton).
pub fn driver() -> (&'static Driver, MutexGuard<'static, ()>) {
    static LOCK: Mutex<()> = Mutex::new(());
    static DRIVER: OnceLock<Driver> = OnceLock::new();
    let guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let d = DRIVER.get_or_init(load);
    (d, guard)
}

/// Removes this process's ring segments (the driver lives for the whole
/// test process, so this runs at start and, via atexit, at exit).
extern "C" fn unlink_ring_at_exit() {
    let shm_name = format!("/gkt{}", std::process::id());
    for n in [shm_name.clone(), format!("{shm_name}.rd")] {
        let c = CString::new(n).unwrap();
        // SAFETY: a valid NUL-terminated name.
        unsafe { libc::shm_unlink(c.as_ptr()) };
    }
}

fn load() -> Driver {
    use libloading::os::unix::{Library, RTLD_LOCAL, RTLD_NOW};
    let path = gecko_driver_bundle::executable_path();
    // RTLD_NOW: every undefined symbol must resolve against this executable's CF.
    let lib = unsafe { Library::open(Some(path), RTLD_NOW | RTLD_LOCAL) }.expect("dlopen driver");
    let configure = *unsafe { lib.get::<unsafe extern "C" fn(*const SimConfig) -> i32>(b"GeckoSim_Configure\0") }
        .expect("GeckoSim_Configure exported");
    let create = *unsafe {
        lib.get::<unsafe extern "C" fn(*const c_void, *const c_void) -> *mut c_void>(b"GeckoAudioDevice_Create\0")
    }
    .expect("factory exported");
    let shm_name = format!("/gkt{}", std::process::id());
    unlink_ring_at_exit();
    // SAFETY: registers a plain extern "C" fn; it runs once when the test process exits.
    unsafe { libc::atexit(unlink_ring_at_exit) };
    // Invalid configurations are refused and change nothing.
    let mut bad = sim_config(&shm_name, true);
    bad.struct_size -= 8;
    assert_eq!(unsafe { configure(&bad) }, -1, "wrong struct_size accepted");
    assert_eq!(unsafe { configure(&sim_config("no-slash", true)) }, -1);
    assert_eq!(unsafe { configure(&sim_config("/a/b", true)) }, -1);
    assert_eq!(unsafe { configure(&sim_config("/name-of-29-bytes-is-too-long", true)) }, -1);
    let mut bad_rate = sim_config(&shm_name, true);
    bad_rate.host_ticks_per_second = f64::NAN;
    assert_eq!(unsafe { configure(&bad_rate) }, -1);
    assert_eq!(unsafe { configure(&sim_config(&shm_name, true)) }, 0);

    let r = unsafe { create(std::ptr::null(), uuid_obj(TYPE_UUID)) };
    assert!(!r.is_null());
    let mut out: *mut c_void = std::ptr::null_mut();
    let vt = unsafe { &**(r as Ref) };
    assert_eq!((vt.query_interface)(r, CFUUIDBytes(DRIVER_INTERFACE_UUID), &mut out), 0);
    assert_eq!(out, r);
    let host = [0usize; 5];
    let host: &'static [usize; 5] = Box::leak(Box::new(host));
    assert_eq!((vt.initialize)(r as Ref, host), NO_ERR);
    // Too late now.
    assert_eq!(unsafe { configure(&sim_config("/other", true)) }, -1);
    Driver { _lib: lib, r: r as Ref, shm_name, configure, create }
}

// ---- shm helpers ------------------------------------------------------------------

/// A shared mapping of a shm segment.
pub struct Shm {
    pub base: *mut u8,
    pub len: usize,
}
unsafe impl Send for Shm {}

impl Shm {
    pub fn open(name: &str, write: bool) -> Option<Shm> {
        let c = CString::new(name).unwrap();
        let fd = unsafe { libc::shm_open(c.as_ptr(), if write { libc::O_RDWR } else { libc::O_RDONLY }, 0) };
        if fd < 0 {
            return None;
        }
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        assert_eq!(unsafe { libc::fstat(fd, &mut st) }, 0);
        let len = st.st_size as usize;
        let prot = if write { libc::PROT_READ | libc::PROT_WRITE } else { libc::PROT_READ };
        let base = unsafe { libc::mmap(std::ptr::null_mut(), len, prot, libc::MAP_SHARED, fd, 0) };
        unsafe { libc::close(fd) };
        assert_ne!(base, libc::MAP_FAILED);
        Some(Shm { base: base as *mut u8, len })
    }

    /// Creates a fresh engine-side reader segment (384 bytes) with a valid header.
    pub fn create_reader(name: &str) -> Shm {
        let c = CString::new(name).unwrap();
        unsafe { libc::shm_unlink(c.as_ptr()) };
        let fd = unsafe { libc::shm_open(c.as_ptr(), libc::O_RDWR | libc::O_CREAT | libc::O_EXCL, 0o644) };
        assert!(fd >= 0);
        assert_eq!(unsafe { libc::ftruncate(fd, 384) }, 0);
        unsafe { libc::close(fd) };
        let s = Shm::open(name, true).unwrap();
        s.store_u32(12, 384);
        s.store_u32(8, 1);
        s.store_u64(0, 0x5244_524F_4B43_4547);
        s
    }

    pub fn u64(&self, off: usize) -> u64 {
        unsafe { AtomicU64::from_ptr(self.base.add(off) as *mut u64) }.load(Ordering::Acquire)
    }
    pub fn u32(&self, off: usize) -> u32 {
        unsafe { std::sync::atomic::AtomicU32::from_ptr(self.base.add(off) as *mut u32) }.load(Ordering::Acquire)
    }
    pub fn f64(&self, off: usize) -> f64 {
        f64::from_bits(self.u64(off))
    }
    pub fn store_u64(&self, off: usize, v: u64) {
        unsafe { AtomicU64::from_ptr(self.base.add(off) as *mut u64) }.store(v, Ordering::Release)
    }
    pub fn store_u32(&self, off: usize, v: u32) {
        unsafe { std::sync::atomic::AtomicU32::from_ptr(self.base.add(off) as *mut u32) }.store(v, Ordering::Release)
    }
    /// Frame `count` of the ring (channels floats), as the reader would copy it.
    pub fn frame(&self, count: u64) -> Vec<f32> {
        let ch = self.u32(28) as usize;
        let cap = self.u32(24) as u64;
        let hs = self.u32(12) as usize;
        let idx = (count & (cap - 1)) as usize;
        (0..ch)
            .map(|c| unsafe { std::ptr::read_volatile((self.base.add(hs) as *const f32).add(idx * ch + c)) })
            .collect()
    }
}

impl Drop for Shm {
    fn drop(&mut self) {
        unsafe { libc::munmap(self.base as *mut c_void, self.len) };
    }
}

pub fn unlink(name: &str) {
    let c = CString::new(name).unwrap();
    unsafe { libc::shm_unlink(c.as_ptr()) };
}

// Writer segment offsets (driver/include/gecko_shm_abi.h).
pub mod off {
    pub const MAGIC: usize = 0;
    pub const VERSION: usize = 8;
    pub const HEADER_SIZE: usize = 12;
    pub const SEGMENT_SIZE: usize = 16;
    pub const CAPACITY: usize = 24;
    pub const CHANNELS: usize = 28;
    pub const FORMAT: usize = 32;
    pub const BYTES_PER_FRAME: usize = 36;
    pub const WRITER_PID: usize = 40;
    pub const WRITE_COUNT: usize = 128;
    pub const IO_CYCLES: usize = 136;
    pub const GAP_EVENTS: usize = 144;
    pub const GAP_FRAMES: usize = 152;
    pub const OVERLAP_EVENTS: usize = 160;
    pub const OVERLAP_FRAMES: usize = 168;
    pub const OVERRUN_EVENTS: usize = 176;
    pub const OVERRUN_FRAMES: usize = 184;
    pub const READER_FAULTS: usize = 192;
    pub const HEARTBEAT: usize = 200;
    pub const READER_ATTACHED: usize = 208;
    pub const SEQ: usize = 256;
    pub const GENERATION: usize = 264;
    pub const SAMPLE_RATE: usize = 272;
    pub const ZTS_SAMPLE_TIME: usize = 280;
    pub const ZTS_HOST_TIME: usize = 288;
    pub const ZTS_SEED: usize = 296;
    pub const TICKS_PER_FRAME: usize = 304;
    pub const TICKS_PER_SECOND: usize = 312;
    pub const VOLUME: usize = 320;
    pub const MUTE: usize = 324;
    pub const IO_RUNNING: usize = 328;
    pub const ZTS_PERIOD: usize = 332;
    // reader segment
    pub const READ_COUNT: usize = 128;
    pub const ATTACHED_GENERATION: usize = 136;
}
