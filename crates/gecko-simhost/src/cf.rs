//! A minimal CoreFoundation, implemented in Rust and exported from the host
//! executable so that the driver's undefined `CF*` symbols resolve to it.
//!
//! Only what the Gecko driver calls is implemented: `CFRetain`, `CFRelease`,
//! `CFEqual`, `CFGetTypeID`, `CFStringGetTypeID`, `CFUUIDGetTypeID`,
//! `CFUUIDGetConstantUUIDWithBytes`, `CFUUIDCreateFromUUIDBytes`,
//! `CFUUIDGetUUIDBytes`, `CFStringCreateWithCString`, `CFStringGetCString`
//! `__CFStringMakeConstantString` (what `CFSTR()` expands to on Linux), and
//! `CFNumberCreate` / `CFNumberGetValue` / `CFNumberGetTypeID` (CFNumber.h;
//! SInt8..SInt64, Float32, Float64 and the C-type aliases).
//! Signatures follow Apple's `CFBase.h`, `CFUUID.h` and `CFString.h`:
//! `CFTypeID` and `CFIndex` are `unsigned long` / `signed long`, `Boolean`
//! is `unsigned char`, `CFStringEncoding` is `UInt32`, `CFUUIDBytes` is a
//! 16-byte struct passed and returned by value.
//!
//! # Linking
//! The symbols only reach the driver's dynamic lookups if the *executable*
//! exports them: every binary that embeds this crate must link with
//! `-rdynamic` (`println!("cargo:rustc-link-arg=-rdynamic")` in its build.rs;
//! this crate's build.rs does it for its own tests). [`ensure_exported`] keeps
//! the functions in the link (it is called by the loader).
//!
//! # Object model
//! Every object is a heap cell registered in a global table, so `CFRelease`
//! of a dangling or foreign pointer is detected (counted by
//! [`misuse_count`], logged) instead of corrupting memory. Objects created by
//! `CFUUIDGetConstantUUIDWithBytes` and `__CFStringMakeConstantString` are
//! interned and immortal (retain/release are no-ops), as on Apple platforms.
//! Every other object is counted in [`live_objects`] until its last release;
//! [`live_objects_created_on_this_thread`] lets parallel tests check that the
//! driver leaks nothing it created for their calls.

use std::collections::{HashMap, HashSet};
use std::ffi::{CStr, c_char, c_void};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};

/// `CFTypeRef` (CFBase.h).
pub type CFTypeRef = *const c_void;
/// `CFStringRef` (CFBase.h).
pub type CFStringRef = *const c_void;
/// `CFUUIDRef` (CFUUID.h).
pub type CFUUIDRef = *const c_void;
/// `CFAllocatorRef` (CFBase.h); `kCFAllocatorDefault` is NULL.
pub type CFAllocatorRef = *const c_void;
/// `CFTypeID` (CFBase.h): `unsigned long`.
pub type CFTypeID = libc::c_ulong;
/// `CFIndex` (CFBase.h): `signed long`.
pub type CFIndex = libc::c_long;
/// `Boolean` (MacTypes.h): `unsigned char`.
pub type Boolean = u8;
/// `CFStringEncoding` (CFString.h): `UInt32`.
pub type CFStringEncoding = u32;

/// `kCFStringEncodingUTF8` (CFString.h).
pub const K_CF_STRING_ENCODING_UTF8: CFStringEncoding = 0x0800_0100;
/// `kCFStringEncodingASCII` (CFString.h).
pub const K_CF_STRING_ENCODING_ASCII: CFStringEncoding = 0x0600;

/// Type ID this implementation gives CFString objects.
pub const CF_STRING_TYPE_ID: CFTypeID = 7;
/// Type ID this implementation gives CFUUID objects.
pub const CF_UUID_TYPE_ID: CFTypeID = 34;
/// Type ID this implementation gives CFNumber objects.
pub const CF_NUMBER_TYPE_ID: CFTypeID = 22;

/// `CFNumberType` (CFNumber.h): a `CFIndex` enum.
pub type CFNumberType = CFIndex;
/// `kCFNumberSInt8Type` … `kCFNumberFloat64Type` (CFNumber.h).
pub const K_CF_NUMBER_SINT8_TYPE: CFNumberType = 1;
/// `kCFNumberSInt16Type`.
pub const K_CF_NUMBER_SINT16_TYPE: CFNumberType = 2;
/// `kCFNumberSInt32Type`.
pub const K_CF_NUMBER_SINT32_TYPE: CFNumberType = 3;
/// `kCFNumberSInt64Type`.
pub const K_CF_NUMBER_SINT64_TYPE: CFNumberType = 4;
/// `kCFNumberFloat32Type`.
pub const K_CF_NUMBER_FLOAT32_TYPE: CFNumberType = 5;
/// `kCFNumberFloat64Type`.
pub const K_CF_NUMBER_FLOAT64_TYPE: CFNumberType = 6;
/// `kCFNumberIntType` (C `int`).
pub const K_CF_NUMBER_INT_TYPE: CFNumberType = 9;
/// `kCFNumberFloatType` (C `float`).
pub const K_CF_NUMBER_FLOAT_TYPE: CFNumberType = 12;
/// `kCFNumberDoubleType` (C `double`).
pub const K_CF_NUMBER_DOUBLE_TYPE: CFNumberType = 13;

/// `CFUUIDBytes` (CFUUID.h): 16 bytes, passed by value.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct CFUUIDBytes {
    /// The UUID's bytes in textual order (byte0 is the first hex pair).
    pub bytes: [u8; 16],
}

enum Payload {
    Uuid([u8; 16]),
    /// UTF-8 bytes, no interior NUL.
    Str(Box<str>),
    /// A CFNumber: integers keep their exact value, floats their f64 value.
    Int(i64),
    Float(f64),
}

/// A CFNumber's value as stored.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Number {
    /// Created from an integer type.
    Int(i64),
    /// Created from a floating-point type.
    Float(f64),
}

/// (is float, byte size) of a supported `CFNumberType`.
fn number_kind(t: CFNumberType) -> Option<(bool, usize)> {
    Some(match t {
        K_CF_NUMBER_SINT8_TYPE => (false, 1),
        K_CF_NUMBER_SINT16_TYPE => (false, 2),
        K_CF_NUMBER_SINT32_TYPE | K_CF_NUMBER_INT_TYPE => (false, 4),
        K_CF_NUMBER_SINT64_TYPE => (false, 8),
        K_CF_NUMBER_FLOAT32_TYPE | K_CF_NUMBER_FLOAT_TYPE => (true, 4),
        K_CF_NUMBER_FLOAT64_TYPE | K_CF_NUMBER_DOUBLE_TYPE => (true, 8),
        _ => return None,
    })
}

struct CfObject {
    type_id: CFTypeID,
    immortal: bool,
    /// Protected by the registry lock.
    refcount: usize,
    creator: u64,
    payload: Payload,
}

#[derive(Default)]
struct Registry {
    /// Every valid object (address of its `CfObject`).
    objects: HashSet<usize>,
    const_uuids: HashMap<[u8; 16], usize>,
    const_strings: HashMap<Box<[u8]>, usize>,
    /// Mortal objects alive, per creating thread.
    live_by_thread: HashMap<u64, usize>,
}

static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();
static LIVE: AtomicUsize = AtomicUsize::new(0);
static MISUSE: AtomicUsize = AtomicUsize::new(0);
static CREATED: AtomicU64 = AtomicU64::new(0);

fn registry() -> MutexGuard<'static, Registry> {
    let m = REGISTRY.get_or_init(|| Mutex::new(Registry::default()));
    // A panic while holding the lock cannot leave the maps inconsistent in a
    // way that matters more than refusing every later call would.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn thread_key() -> u64 {
    thread_local! {
        static KEY: u64 = {
            static NEXT: AtomicU64 = AtomicU64::new(1);
            NEXT.fetch_add(1, Ordering::Relaxed)
        };
    }
    KEY.with(|k| *k)
}

fn misuse(what: &str, p: *const c_void) {
    MISUSE.fetch_add(1, Ordering::Relaxed);
    tracing::error!(target: "gecko_simhost::cf", "CF misuse: {what} ({p:p})");
}

/// Number of mortal CF objects alive in the process (created and not yet
/// fully released), all threads together.
pub fn live_objects() -> usize {
    LIVE.load(Ordering::SeqCst)
}

/// Number of mortal CF objects alive that were created on the calling thread
/// (wherever they are released). Parallel tests use this to check for leaks.
pub fn live_objects_created_on_this_thread() -> usize {
    let key = thread_key();
    registry().live_by_thread.get(&key).copied().unwrap_or(0)
}

/// Total mortal objects ever created (statistics).
pub fn objects_created() -> u64 {
    CREATED.load(Ordering::Relaxed)
}

/// Number of invalid calls seen (NULL or unknown pointers, wrong types,
/// over-release). A correct driver leaves this at 0.
pub fn misuse_count() -> usize {
    MISUSE.load(Ordering::SeqCst)
}

fn alloc(reg: &mut Registry, type_id: CFTypeID, immortal: bool, payload: Payload) -> *const c_void {
    let creator = thread_key();
    let obj = Box::new(CfObject { type_id, immortal, refcount: 1, creator, payload });
    let p = Box::into_raw(obj) as usize;
    reg.objects.insert(p);
    if !immortal {
        *reg.live_by_thread.entry(creator).or_insert(0) += 1;
        LIVE.fetch_add(1, Ordering::SeqCst);
        CREATED.fetch_add(1, Ordering::Relaxed);
    }
    p as *const c_void
}

/// Looks up a live object; `None` (and a misuse count) if `p` is not one.
fn with_obj<R>(reg: &mut Registry, p: *const c_void, what: &str, f: impl FnOnce(&mut CfObject) -> R) -> Option<R> {
    if p.is_null() || !reg.objects.contains(&(p as usize)) {
        misuse(what, p);
        return None;
    }
    // SAFETY: `p` is in the registry, so it points to a live `CfObject`
    // allocated by `alloc`; the registry lock serialises all access.
    let obj = unsafe { &mut *(p as *mut CfObject) };
    Some(f(obj))
}

/// Creates a CFString (a +1 reference owned by the caller) from Rust.
pub fn string_create(s: &str) -> CFStringRef {
    let s = s.split('\0').next().unwrap_or("");
    let mut reg = registry();
    alloc(&mut reg, CF_STRING_TYPE_ID, false, Payload::Str(s.into()))
}

/// Copies a CFString's contents; `None` if `s` is not a valid CFString.
pub fn string_value(s: CFStringRef) -> Option<String> {
    let mut reg = registry();
    with_obj(&mut reg, s, "string_value on a non-object", |o| match &o.payload {
        Payload::Str(v) => Some(v.to_string()),
        _ => None,
    })
    .flatten()
}

/// Type ID of a valid object, `None` for NULL or unknown pointers.
pub fn type_of(p: CFTypeRef) -> Option<CFTypeID> {
    let reg = registry();
    if p.is_null() || !reg.objects.contains(&(p as usize)) {
        return None;
    }
    // SAFETY: registered, hence live; lock held.
    Some(unsafe { &*(p as *const CfObject) }.type_id)
}

/// The immortal CFUUID for `bytes` (same as `CFUUIDGetConstantUUIDWithBytes`).
pub fn uuid_constant(bytes: [u8; 16]) -> CFUUIDRef {
    let mut reg = registry();
    if let Some(&p) = reg.const_uuids.get(&bytes) {
        return p as CFUUIDRef;
    }
    let p = alloc(&mut reg, CF_UUID_TYPE_ID, true, Payload::Uuid(bytes));
    reg.const_uuids.insert(bytes, p as usize);
    p
}

/// The bytes of a valid CFUUID, `None` otherwise.
pub fn uuid_bytes(u: CFUUIDRef) -> Option<[u8; 16]> {
    let mut reg = registry();
    with_obj(&mut reg, u, "uuid_bytes on a non-object", |o| match &o.payload {
        Payload::Uuid(b) => Some(*b),
        _ => None,
    })
    .flatten()
}

/// Creates a CFNumber (a +1 reference owned by the caller) from Rust.
pub fn number_create(n: Number) -> CFTypeRef {
    let mut reg = registry();
    let payload = match n {
        Number::Int(i) => Payload::Int(i),
        Number::Float(f) => Payload::Float(f),
    };
    alloc(&mut reg, CF_NUMBER_TYPE_ID, false, payload)
}

/// A CFNumber's value; `None` if `p` is not a valid CFNumber.
pub fn number_value(p: CFTypeRef) -> Option<Number> {
    let mut reg = registry();
    with_obj(&mut reg, p, "number_value on a non-object", |o| match &o.payload {
        Payload::Int(i) => Some(Number::Int(*i)),
        Payload::Float(f) => Some(Number::Float(*f)),
        _ => None,
    })
    .flatten()
}

/// Releases a reference from Rust (same as `CFRelease`). Safe: the pointer
/// is looked up in the registry before it is dereferenced.
#[allow(clippy::not_unsafe_ptr_arg_deref)]
pub fn release(p: CFTypeRef) {
    // SAFETY: CFRelease validates `p` against the registry before use.
    unsafe { CFRelease(p) }
}

// ---- exported C ABI -------------------------------------------------------

/// `CFTypeRef CFRetain(CFTypeRef cf)` (CFBase.h).
///
/// # Safety
/// `cf` should be an object from this module; anything else is counted as
/// misuse and ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn CFRetain(cf: CFTypeRef) -> CFTypeRef {
    let mut reg = registry();
    with_obj(&mut reg, cf, "CFRetain of an invalid object", |o| {
        if !o.immortal {
            o.refcount += 1;
        }
    });
    cf
}

/// `void CFRelease(CFTypeRef cf)` (CFBase.h).
///
/// # Safety
/// `cf` should be an object from this module; anything else is counted as
/// misuse and ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn CFRelease(cf: CFTypeRef) {
    let mut reg = registry();
    let free = with_obj(&mut reg, cf, "CFRelease of an invalid object", |o| {
        if o.immortal {
            return None;
        }
        o.refcount -= 1;
        (o.refcount == 0).then_some(o.creator)
    })
    .flatten();
    if let Some(creator) = free {
        reg.objects.remove(&(cf as usize));
        if let Some(n) = reg.live_by_thread.get_mut(&creator) {
            *n = n.saturating_sub(1);
        }
        LIVE.fetch_sub(1, Ordering::SeqCst);
        // SAFETY: the object was allocated by `alloc` with Box::into_raw, its
        // count reached 0 and it is now out of the registry: nobody can reach it.
        drop(unsafe { Box::from_raw(cf as *mut CfObject) });
    }
}

/// `Boolean CFEqual(CFTypeRef cf1, CFTypeRef cf2)` (CFBase.h).
///
/// # Safety
/// Both arguments should be objects from this module (NULL or unknown
/// pointers are misuse and compare unequal).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn CFEqual(cf1: CFTypeRef, cf2: CFTypeRef) -> Boolean {
    let mut reg = registry();
    let a = with_obj(&mut reg, cf1, "CFEqual of an invalid object", |o| o as *const CfObject);
    let b = with_obj(&mut reg, cf2, "CFEqual of an invalid object", |o| o as *const CfObject);
    let (Some(a), Some(b)) = (a, b) else { return 0 };
    // SAFETY: both are registered live objects; lock held.
    let (a, b) = unsafe { (&*a, &*b) };
    let eq = match (&a.payload, &b.payload) {
        (Payload::Uuid(x), Payload::Uuid(y)) => x == y,
        (Payload::Str(x), Payload::Str(y)) => x == y,
        (Payload::Int(x), Payload::Int(y)) => x == y,
        (Payload::Float(x), Payload::Float(y)) => x == y,
        (Payload::Int(x), Payload::Float(y)) | (Payload::Float(y), Payload::Int(x)) => *x as f64 == *y,
        _ => false,
    };
    eq as Boolean
}

/// `CFTypeID CFGetTypeID(CFTypeRef cf)` (CFBase.h). Returns 0 for invalid objects.
///
/// # Safety
/// `cf` should be an object from this module.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn CFGetTypeID(cf: CFTypeRef) -> CFTypeID {
    let mut reg = registry();
    with_obj(&mut reg, cf, "CFGetTypeID of an invalid object", |o| o.type_id).unwrap_or(0)
}

/// `CFTypeID CFStringGetTypeID(void)` (CFString.h).
#[unsafe(no_mangle)]
pub extern "C" fn CFStringGetTypeID() -> CFTypeID {
    CF_STRING_TYPE_ID
}

/// `CFTypeID CFUUIDGetTypeID(void)` (CFUUID.h).
#[unsafe(no_mangle)]
pub extern "C" fn CFUUIDGetTypeID() -> CFTypeID {
    CF_UUID_TYPE_ID
}

/// `CFUUIDRef CFUUIDGetConstantUUIDWithBytes(CFAllocatorRef alloc, UInt8 byte0, …, UInt8 byte15)`
/// (CFUUID.h): an immortal, interned UUID.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn CFUUIDGetConstantUUIDWithBytes(
    _alloc: CFAllocatorRef,
    b0: u8,
    b1: u8,
    b2: u8,
    b3: u8,
    b4: u8,
    b5: u8,
    b6: u8,
    b7: u8,
    b8: u8,
    b9: u8,
    b10: u8,
    b11: u8,
    b12: u8,
    b13: u8,
    b14: u8,
    b15: u8,
) -> CFUUIDRef {
    uuid_constant([b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15])
}

/// `CFUUIDRef CFUUIDCreateFromUUIDBytes(CFAllocatorRef alloc, CFUUIDBytes bytes)` (CFUUID.h):
/// a +1 reference the caller releases.
#[unsafe(no_mangle)]
pub extern "C" fn CFUUIDCreateFromUUIDBytes(_alloc: CFAllocatorRef, bytes: CFUUIDBytes) -> CFUUIDRef {
    let mut reg = registry();
    alloc(&mut reg, CF_UUID_TYPE_ID, false, Payload::Uuid(bytes.bytes))
}

/// `CFUUIDBytes CFUUIDGetUUIDBytes(CFUUIDRef uuid)` (CFUUID.h). All zero for invalid objects.
///
/// # Safety
/// `uuid` should be a CFUUID from this module.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn CFUUIDGetUUIDBytes(uuid: CFUUIDRef) -> CFUUIDBytes {
    let mut reg = registry();
    let b = with_obj(&mut reg, uuid, "CFUUIDGetUUIDBytes of an invalid object", |o| match &o.payload {
        Payload::Uuid(b) => Some(*b),
        _ => None,
    })
    .flatten();
    match b {
        Some(bytes) => CFUUIDBytes { bytes },
        None => CFUUIDBytes::default(),
    }
}

/// `CFStringRef CFStringCreateWithCString(CFAllocatorRef alloc, const char *cStr, CFStringEncoding encoding)`
/// (CFString.h). Supports UTF-8 and ASCII; returns NULL for NULL input,
/// another encoding or bytes invalid in the encoding.
///
/// # Safety
/// `c_str` must be NULL or point to a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn CFStringCreateWithCString(
    _alloc: CFAllocatorRef,
    c_str: *const c_char,
    encoding: CFStringEncoding,
) -> CFStringRef {
    if c_str.is_null() {
        misuse("CFStringCreateWithCString(NULL)", std::ptr::null());
        return std::ptr::null();
    }
    // SAFETY: caller guarantees a NUL-terminated string.
    let bytes = unsafe { CStr::from_ptr(c_str) }.to_bytes();
    let s = match (encoding, std::str::from_utf8(bytes)) {
        (K_CF_STRING_ENCODING_UTF8, Ok(s)) => s,
        (K_CF_STRING_ENCODING_ASCII, Ok(s)) if s.is_ascii() => s,
        _ => return std::ptr::null(),
    };
    let mut reg = registry();
    alloc(&mut reg, CF_STRING_TYPE_ID, false, Payload::Str(s.into()))
}

/// `Boolean CFStringGetCString(CFStringRef theString, char *buffer, CFIndex bufferSize, CFStringEncoding encoding)`
/// (CFString.h). Writes the NUL-terminated contents; false (buffer untouched
/// beyond a leading NUL) if it does not fit, the encoding is unsupported or
/// the string is not representable.
///
/// # Safety
/// `buffer` must be valid for `buffer_size` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn CFStringGetCString(
    the_string: CFStringRef,
    buffer: *mut c_char,
    buffer_size: CFIndex,
    encoding: CFStringEncoding,
) -> Boolean {
    if buffer.is_null() || buffer_size <= 0 {
        return 0;
    }
    let Some(s) = string_value(the_string) else { return 0 };
    let ok_enc = match encoding {
        K_CF_STRING_ENCODING_UTF8 => true,
        K_CF_STRING_ENCODING_ASCII => s.is_ascii(),
        _ => false,
    };
    let n = s.len();
    if !ok_enc || n + 1 > buffer_size as usize {
        // SAFETY: buffer_size >= 1.
        unsafe { *buffer = 0 };
        return 0;
    }
    // SAFETY: n + 1 <= buffer_size bytes are writable; the source is a
    // distinct Rust allocation.
    unsafe {
        std::ptr::copy_nonoverlapping(s.as_ptr(), buffer as *mut u8, n);
        *buffer.add(n) = 0;
    }
    1
}

/// `CFStringRef __CFStringMakeConstantString(const char *cStr)` (CFString.h,
/// what `CFSTR("…")` expands to on non-Apple builds): an immortal string,
/// interned by contents. Bytes that are not UTF-8 are converted lossily.
///
/// # Safety
/// `c_str` must be NULL or point to a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __CFStringMakeConstantString(c_str: *const c_char) -> CFStringRef {
    if c_str.is_null() {
        misuse("__CFStringMakeConstantString(NULL)", std::ptr::null());
        return std::ptr::null();
    }
    // SAFETY: caller guarantees a NUL-terminated string.
    let bytes = unsafe { CStr::from_ptr(c_str) }.to_bytes();
    let mut reg = registry();
    if let Some(&p) = reg.const_strings.get(bytes) {
        return p as CFStringRef;
    }
    let s = String::from_utf8_lossy(bytes).into_owned();
    let p = alloc(&mut reg, CF_STRING_TYPE_ID, true, Payload::Str(s.into()));
    reg.const_strings.insert(bytes.into(), p as usize);
    p
}

/// `CFTypeID CFNumberGetTypeID(void)` (CFNumber.h).
#[unsafe(no_mangle)]
pub extern "C" fn CFNumberGetTypeID() -> CFTypeID {
    CF_NUMBER_TYPE_ID
}

/// `CFNumberRef CFNumberCreate(CFAllocatorRef allocator, CFNumberType theType, const void *valuePtr)`
/// (CFNumber.h): a +1 reference, or NULL for a NULL pointer or an unsupported type.
///
/// # Safety
/// `value_ptr` must be NULL or point to a readable value of `the_type`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn CFNumberCreate(
    _alloc: CFAllocatorRef,
    the_type: CFNumberType,
    value_ptr: *const c_void,
) -> CFTypeRef {
    let Some((is_float, size)) = number_kind(the_type) else { return std::ptr::null() };
    if value_ptr.is_null() {
        misuse("CFNumberCreate(NULL)", value_ptr);
        return std::ptr::null();
    }
    // SAFETY: caller guarantees `size` readable bytes (the type's size); unaligned reads.
    let n = unsafe {
        match (is_float, size) {
            (false, 1) => Number::Int((value_ptr as *const i8).read_unaligned() as i64),
            (false, 2) => Number::Int((value_ptr as *const i16).read_unaligned() as i64),
            (false, 4) => Number::Int((value_ptr as *const i32).read_unaligned() as i64),
            (false, _) => Number::Int((value_ptr as *const i64).read_unaligned()),
            (true, 4) => Number::Float((value_ptr as *const f32).read_unaligned() as f64),
            (true, _) => Number::Float((value_ptr as *const f64).read_unaligned()),
        }
    };
    number_create(n)
}

/// `Boolean CFNumberGetValue(CFNumberRef number, CFNumberType theType, void *valuePtr)`
/// (CFNumber.h): stores the value converted to `the_type`; returns false (still
/// storing the converted value, as Apple does) when the conversion is lossy,
/// and false without storing for invalid objects or types.
///
/// # Safety
/// `value_ptr` must be NULL or point to writable storage for `the_type`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn CFNumberGetValue(
    number: CFTypeRef,
    the_type: CFNumberType,
    value_ptr: *mut c_void,
) -> Boolean {
    let Some((is_float, size)) = number_kind(the_type) else { return 0 };
    let Some(n) = number_value(number) else { return 0 };
    if value_ptr.is_null() {
        misuse("CFNumberGetValue(NULL)", value_ptr);
        return 0;
    }
    let (f, exact_int) = match n {
        Number::Int(i) => (i as f64, Some(i)),
        Number::Float(f) => (f, (f.fract() == 0.0 && f.abs() < 9.2e18).then_some(f as i64)),
    };
    // SAFETY: caller guarantees writable storage of the type's size; unaligned writes.
    unsafe {
        match (is_float, size) {
            (true, 4) => {
                (value_ptr as *mut f32).write_unaligned(f as f32);
                ((f as f32) as f64 == f || f.is_nan()) as Boolean
            }
            (true, _) => {
                (value_ptr as *mut f64).write_unaligned(f);
                1
            }
            (false, sz) => {
                let i = exact_int.unwrap_or(f as i64);
                let fits = match sz {
                    1 => i8::try_from(i).is_ok(),
                    2 => i16::try_from(i).is_ok(),
                    4 => i32::try_from(i).is_ok(),
                    _ => true,
                };
                match sz {
                    1 => (value_ptr as *mut i8).write_unaligned(i as i8),
                    2 => (value_ptr as *mut i16).write_unaligned(i as i16),
                    4 => (value_ptr as *mut i32).write_unaligned(i as i32),
                    _ => (value_ptr as *mut i64).write_unaligned(i),
                }
                (fits && exact_int.is_some()) as Boolean
            }
        }
    }
}

#[allow(dead_code)]
struct ExportTable([*const (); 15]);
// SAFETY: the table only holds function addresses, never dereferenced as data.
unsafe impl Sync for ExportTable {}

/// Keeps every exported CF function in the link even if nothing in Rust
/// calls it (the driver resolves them at dlopen time).
#[used]
static CF_EXPORTS: ExportTable = ExportTable([
    CFRetain as *const (),
    CFRelease as *const (),
    CFEqual as *const (),
    CFGetTypeID as *const (),
    CFStringGetTypeID as *const (),
    CFUUIDGetTypeID as *const (),
    CFUUIDGetConstantUUIDWithBytes as *const (),
    CFUUIDCreateFromUUIDBytes as *const (),
    CFUUIDGetUUIDBytes as *const (),
    CFStringCreateWithCString as *const (),
    CFStringGetCString as *const (),
    __CFStringMakeConstantString as *const (),
    CFNumberGetTypeID as *const (),
    CFNumberCreate as *const (),
    CFNumberGetValue as *const (),
]);

/// References the export table so the object file that holds the CF
/// functions is always linked into the executable. Called by the loader.
pub fn ensure_exported() {
    std::hint::black_box(&CF_EXPORTS);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_roundtrip_and_equality() {
        let before = live_objects_created_on_this_thread();
        let b = CFUUIDBytes { bytes: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16] };
        let u = CFUUIDCreateFromUUIDBytes(std::ptr::null(), b);
        let c = CFUUIDGetConstantUUIDWithBytes(std::ptr::null(), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
        let c2 = uuid_constant(b.bytes);
        assert_eq!(c, c2, "constant UUIDs are interned");
        // SAFETY: valid objects from this module.
        unsafe {
            assert_eq!(CFEqual(u, c), 1);
            assert_eq!(CFGetTypeID(u), CFUUIDGetTypeID());
            assert_eq!(CFUUIDGetUUIDBytes(u), b);
        }
        assert_eq!(live_objects_created_on_this_thread(), before + 1);
        release(u);
        release(c); // immortal: no effect
        assert_eq!(live_objects_created_on_this_thread(), before);
        assert_eq!(uuid_bytes(c), Some(b.bytes));
    }

    #[test]
    fn strings_create_get_and_refcount() {
        let before = live_objects_created_on_this_thread();
        // SAFETY: NUL-terminated literal.
        let s =
            unsafe { CFStringCreateWithCString(std::ptr::null(), c"Gecko Sink".as_ptr(), K_CF_STRING_ENCODING_UTF8) };
        assert!(!s.is_null());
        // SAFETY: valid string, buffers sized as passed.
        unsafe {
            assert_eq!(CFGetTypeID(s), CFStringGetTypeID());
            CFRetain(s);
            release(s);
            let mut buf = [0 as c_char; 11];
            assert_eq!(CFStringGetCString(s, buf.as_mut_ptr(), 11, K_CF_STRING_ENCODING_UTF8), 1);
            assert_eq!(CStr::from_ptr(buf.as_ptr()).to_str().ok(), Some("Gecko Sink"));
            let mut small = [0 as c_char; 10];
            assert_eq!(CFStringGetCString(s, small.as_mut_ptr(), 10, K_CF_STRING_ENCODING_UTF8), 0);
            let k = __CFStringMakeConstantString(c"Gecko Sink".as_ptr());
            assert_eq!(k, __CFStringMakeConstantString(c"Gecko Sink".as_ptr()));
            assert_eq!(CFEqual(s, k), 1);
        }
        assert_eq!(live_objects_created_on_this_thread(), before + 1);
        release(s);
        assert_eq!(live_objects_created_on_this_thread(), before);
    }

    #[test]
    fn invalid_pointers_are_counted_not_dereferenced() {
        let before = misuse_count();
        let bogus = 0x1234usize as CFTypeRef;
        // SAFETY: the functions validate the pointer before use.
        unsafe {
            CFRelease(bogus);
            CFRelease(std::ptr::null());
            assert_eq!(CFGetTypeID(bogus), 0);
        }
        assert!(misuse_count() >= before + 3);
        let s = string_create("x");
        release(s);
        release(s); // double release: detected
        assert!(misuse_count() >= before + 4);
    }

    #[test]
    fn numbers_create_convert_and_release() {
        let before = live_objects_created_on_this_thread();
        let v = 0.25f32;
        // SAFETY: valid pointers to values of the named types.
        unsafe {
            let n = CFNumberCreate(std::ptr::null(), K_CF_NUMBER_FLOAT32_TYPE, &v as *const f32 as _);
            assert_eq!(CFGetTypeID(n), CFNumberGetTypeID());
            let mut f = 0.0f32;
            assert_eq!(CFNumberGetValue(n, K_CF_NUMBER_FLOAT32_TYPE, &mut f as *mut f32 as _), 1);
            assert_eq!(f, 0.25);
            let mut i = 7i32;
            assert_eq!(CFNumberGetValue(n, K_CF_NUMBER_SINT32_TYPE, &mut i as *mut i32 as _), 0, "lossy");
            let one = 1i32;
            let m = CFNumberCreate(std::ptr::null(), K_CF_NUMBER_SINT32_TYPE, &one as *const i32 as _);
            assert_eq!(CFNumberGetValue(m, K_CF_NUMBER_SINT32_TYPE, &mut i as *mut i32 as _), 1);
            assert_eq!(i, 1);
            assert_eq!(number_value(m), Some(Number::Int(1)));
            assert!(CFNumberCreate(std::ptr::null(), 99, &one as *const i32 as _).is_null());
            release(n);
            release(m);
        }
        assert_eq!(live_objects_created_on_this_thread(), before);
    }

    #[test]
    fn non_utf8_is_rejected() {
        let bad = [0xffu8 as c_char, 0];
        // SAFETY: NUL-terminated buffer.
        let s = unsafe { CFStringCreateWithCString(std::ptr::null(), bad.as_ptr(), K_CF_STRING_ENCODING_UTF8) };
        assert!(s.is_null());
    }
}
