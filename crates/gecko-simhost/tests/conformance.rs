//! HAL conformance of the real driver, through its vtable only:
//!
//! * an inspector-style walk of every object and every property (HasProperty,
//!   IsPropertySettable, GetPropertyDataSize, GetPropertyData with the right,
//!   short and oversized buffers and scopes/elements), type and consistency checks;
//! * error codes for wrong objects, selectors, scopes, elements, sizes, NULLs;
//! * volume and mute: curve, conversions, shm publication, notifications, storage;
//! * the configuration-change flow (sample rate, stream format) while IO runs,
//!   seen by a gecko_ring::Reader as a NewGeneration at the new rate;
//! * IO at every rate (gaps, overlaps), and an 8-channel build;
//! * the steerable clock (engine's clock_adjust_ppm, garbage included), and what
//!   ClockIsStable / ClockAlgorithm say about it;
//! * the stream's settable IsActive; Gecko's custom ring-state property ('gkrs');
//! * a proptest hammer with guarded buffers (GECKO_PROPTEST_CASES cases;
//!   scripts/valgrind-conformance.sh runs this binary under valgrind).
#![allow(non_upper_case_globals)]

use gecko_driver_bundle as bundle;
use gecko_ring::{AttachOptions, Reader, RingEvent};
use gecko_simhost::ffi::*;
use gecko_simhost::{DeviceInfo, Driver, Host, IoRunner, SimulatedClock, ZeroTimeStampCheck, cf, load_isolated};
use proptest::prelude::*;
use std::ffi::c_void;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

// ---- constants not in ffi.rs (AudioHardwareBase.h) -------------------------------------

const GLOB: u32 = kAudioObjectPropertyScopeGlobal;
const INPT: u32 = kAudioObjectPropertyScopeInput;
const OUTP: u32 = kAudioObjectPropertyScopeOutput;
const PTRU: u32 = kAudioObjectPropertyScopePlayThrough;
const WILD: u32 = kAudioObjectPropertyScopeWildcard;
const K_CONTROL_CLASS: u32 = fourcc(b"actl");
const K_LEVEL_CLASS: u32 = fourcc(b"levl");
const K_BOOLEAN_CLASS: u32 = fourcc(b"togl");
const K_CONTROL_SCOPE: u32 = fourcc(b"cscp");
const K_CONTROL_ELEMENT: u32 = fourcc(b"celm");
const K_SCALAR_TO_DB: u32 = fourcc(b"lcsd");
const K_DB_TO_SCALAR: u32 = fourcc(b"lcds");
const K_CHANNEL_LAYOUT: u32 = fourcc(b"srnd");
const K_RUNNING_SOMEWHERE: u32 = fourcc(b"gone");
const K_CONFIG_APP: u32 = fourcc(b"capp");
/// Gecko's custom device property: the writer side of the shm ring as text.
const K_RING_STATE: u32 = gecko_simhost::driver::GECKO_PROPERTY_RING_STATE;
/// AudioServerPlugIn.h: AudioDeviceClockAlgorithmSelector values.
const K_CLOCK_ALGORITHM_RAW: u32 = fourcc(b"raww");
/// AudioServerPlugIn.h: AudioServerPlugInCustomPropertyDataType values.
const K_CUSTOM_TYPE_CFSTRING: u32 = fourcc(b"cfst");
const K_CUSTOM_TYPE_NONE: u32 = 0;
const VOL: u32 = bundle::VOLUME_CONTROL_OBJECT_ID;
const MUTE: u32 = bundle::MUTE_CONTROL_OBJECT_ID;
const DEV: u32 = bundle::DEVICE_OBJECT_ID;
const STREAM: u32 = bundle::STREAM_OBJECT_ID;
const INSTREAM: u32 = bundle::INPUT_STREAM_OBJECT_ID;
const PLUG: u32 = kAudioObjectPlugInObject;

/// What a property's value is, for type checks.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Ty {
    U32,
    F32,
    F64,
    CfString,
    Ids,
    Ranges,
    Range,
    Asbd,
    Ranged,
    U32Pair,
    Layout,
    /// An array of AudioServerPlugInCustomPropertyInfo (12 bytes each).
    CustomInfo,
}

/// Every selector the walk asks every object about, with its value type.
const SELECTORS: &[(u32, Ty)] = &[
    (kAudioObjectPropertyBaseClass, Ty::U32),
    (kAudioObjectPropertyClass, Ty::U32),
    (kAudioObjectPropertyOwner, Ty::U32),
    (kAudioObjectPropertyName, Ty::CfString),
    (kAudioObjectPropertyModelName, Ty::CfString),
    (kAudioObjectPropertyManufacturer, Ty::CfString),
    (kAudioObjectPropertyOwnedObjects, Ty::Ids),
    (kAudioObjectPropertyControlList, Ty::Ids),
    (kAudioObjectPropertyCustomPropertyInfoList, Ty::CustomInfo),
    (kAudioPlugInPropertyBundleID, Ty::CfString),
    (kAudioPlugInPropertyDeviceList, Ty::Ids),
    (kAudioPlugInPropertyTranslateUIDToDevice, Ty::U32),
    (kAudioPlugInPropertyBoxList, Ty::Ids),
    (kAudioPlugInPropertyResourceBundle, Ty::CfString),
    (kAudioDevicePropertyDeviceUID, Ty::CfString),
    (kAudioDevicePropertyModelUID, Ty::CfString),
    (kAudioDevicePropertyTransportType, Ty::U32),
    (kAudioDevicePropertyRelatedDevices, Ty::Ids),
    (kAudioDevicePropertyClockDomain, Ty::U32),
    (kAudioDevicePropertyDeviceIsAlive, Ty::U32),
    (kAudioDevicePropertyDeviceIsRunning, Ty::U32),
    (K_RUNNING_SOMEWHERE, Ty::U32),
    (kAudioDevicePropertyDeviceCanBeDefaultDevice, Ty::U32),
    (kAudioDevicePropertyDeviceCanBeDefaultSystemDevice, Ty::U32),
    (kAudioDevicePropertyLatency, Ty::U32),
    (kAudioDevicePropertyStreams, Ty::Ids),
    (kAudioDevicePropertySafetyOffset, Ty::U32),
    (kAudioDevicePropertyNominalSampleRate, Ty::F64),
    (kAudioDevicePropertyAvailableNominalSampleRates, Ty::Ranges),
    (kAudioDevicePropertyIsHidden, Ty::U32),
    (kAudioDevicePropertyZeroTimeStampPeriod, Ty::U32),
    (kAudioDevicePropertyPreferredChannelsForStereo, Ty::U32Pair),
    (K_CHANNEL_LAYOUT, Ty::Layout),
    (K_CONFIG_APP, Ty::CfString),
    (kAudioDevicePropertyClockAlgorithm, Ty::U32),
    (kAudioDevicePropertyClockIsStable, Ty::U32),
    (kAudioStreamPropertyIsActive, Ty::U32),
    (kAudioStreamPropertyDirection, Ty::U32),
    (kAudioStreamPropertyTerminalType, Ty::U32),
    (kAudioStreamPropertyStartingChannel, Ty::U32),
    (kAudioStreamPropertyVirtualFormat, Ty::Asbd),
    (kAudioStreamPropertyPhysicalFormat, Ty::Asbd),
    (kAudioStreamPropertyAvailableVirtualFormats, Ty::Ranged),
    (kAudioStreamPropertyAvailablePhysicalFormats, Ty::Ranged),
    (K_CONTROL_SCOPE, Ty::U32),
    (K_CONTROL_ELEMENT, Ty::U32),
    (kAudioLevelControlPropertyScalarValue, Ty::F32),
    (kAudioLevelControlPropertyDecibelValue, Ty::F32),
    (kAudioLevelControlPropertyDecibelRange, Ty::Range),
    (K_SCALAR_TO_DB, Ty::F32),
    (K_DB_TO_SCALAR, Ty::F32),
    (kAudioBooleanControlPropertyValue, Ty::U32),
    (K_RING_STATE, Ty::CfString),
    (fourcc(b"zzzz"), Ty::U32),
    (kAudioObjectPropertySelectorWildcard, Ty::U32),
];

const SCOPES: [u32; 6] = [GLOB, INPT, OUTP, PTRU, WILD, 0x1234_5678];
const ELEMENTS: [u32; 3] = [kAudioObjectPropertyElementMain, 1, kAudioObjectPropertyElementWildcard];

/// Properties the driver must have, per object (global scope, main element).
fn required(object: u32) -> Vec<u32> {
    let mut v = vec![
        kAudioObjectPropertyBaseClass,
        kAudioObjectPropertyClass,
        kAudioObjectPropertyOwner,
        kAudioObjectPropertyOwnedObjects,
    ];
    v.extend(match object {
        PLUG => vec![
            kAudioObjectPropertyManufacturer,
            kAudioPlugInPropertyDeviceList,
            kAudioPlugInPropertyTranslateUIDToDevice,
            kAudioPlugInPropertyResourceBundle,
        ],
        DEV => vec![
            kAudioObjectPropertyName,
            kAudioObjectPropertyManufacturer,
            kAudioDevicePropertyDeviceUID,
            kAudioDevicePropertyModelUID,
            kAudioDevicePropertyTransportType,
            kAudioDevicePropertyRelatedDevices,
            kAudioDevicePropertyClockDomain,
            kAudioDevicePropertyDeviceIsAlive,
            kAudioDevicePropertyDeviceIsRunning,
            K_RUNNING_SOMEWHERE,
            kAudioDevicePropertyDeviceCanBeDefaultDevice,
            kAudioDevicePropertyDeviceCanBeDefaultSystemDevice,
            kAudioDevicePropertyStreams,
            kAudioObjectPropertyControlList,
            kAudioDevicePropertyNominalSampleRate,
            kAudioDevicePropertyAvailableNominalSampleRates,
            kAudioDevicePropertyIsHidden,
            kAudioDevicePropertyZeroTimeStampPeriod,
            K_CONFIG_APP,
            kAudioDevicePropertyClockIsStable,
            kAudioDevicePropertyClockAlgorithm,
            kAudioObjectPropertyCustomPropertyInfoList,
            K_RING_STATE,
        ],
        STREAM | INSTREAM => vec![
            kAudioStreamPropertyIsActive,
            kAudioStreamPropertyDirection,
            kAudioStreamPropertyTerminalType,
            kAudioStreamPropertyStartingChannel,
            kAudioStreamPropertyLatency,
            kAudioStreamPropertyVirtualFormat,
            kAudioStreamPropertyPhysicalFormat,
            kAudioStreamPropertyAvailableVirtualFormats,
            kAudioStreamPropertyAvailablePhysicalFormats,
        ],
        VOL => vec![
            K_CONTROL_SCOPE,
            K_CONTROL_ELEMENT,
            kAudioLevelControlPropertyScalarValue,
            kAudioLevelControlPropertyDecibelValue,
            kAudioLevelControlPropertyDecibelRange,
            K_SCALAR_TO_DB,
            K_DB_TO_SCALAR,
        ],
        MUTE => vec![K_CONTROL_SCOPE, K_CONTROL_ELEMENT, kAudioBooleanControlPropertyValue],
        _ => vec![],
    });
    v
}

/// Settable properties, per object; everything else must answer "not settable".
fn settable(object: u32, sel: u32) -> bool {
    matches!(
        (object, sel),
        (DEV, kAudioDevicePropertyNominalSampleRate)
            | (STREAM | INSTREAM, kAudioStreamPropertyIsActive)
            | (STREAM | INSTREAM, kAudioStreamPropertyVirtualFormat)
            | (STREAM | INSTREAM, kAudioStreamPropertyPhysicalFormat)
            | (VOL, kAudioLevelControlPropertyScalarValue)
            | (VOL, kAudioLevelControlPropertyDecibelValue)
            | (MUTE, kAudioBooleanControlPropertyValue)
    )
}

// ---- harness -------------------------------------------------------------------------------

use gecko_test_kit::ShmMap;
use gecko_test_kit::ShmName as Name;

fn load_from(path: &Path, name: &Name, host: Arc<Host>, clock: Option<&Arc<SimulatedClock>>) -> Driver {
    let mut d = load_isolated(path).expect("load the real bundle");
    match clock {
        Some(c) => c.configure(&mut d, &name.0).expect("configure"),
        None => d.configure(&name.0, None, None).expect("configure"),
    }
    d.initialize(host).expect("Initialize");
    d
}

fn loaded() -> (Driver, Arc<Host>, Name) {
    let name = Name::new("c");
    let host = Arc::new(Host::new());
    let d = load_from(bundle::bundle_path(), &name, host.clone(), None);
    (d, host, name)
}

fn addr(sel: u32, scope: u32, element: u32) -> AudioObjectPropertyAddress {
    AudioObjectPropertyAddress { mSelector: sel, mScope: scope, mElement: element }
}
fn g(sel: u32) -> AudioObjectPropertyAddress {
    AudioObjectPropertyAddress::global(sel)
}

fn vt(d: &Driver) -> &AudioServerPlugInDriverInterface {
    // SAFETY: the driver ref points at its static vtable pointer.
    unsafe { &**d.raw() }
}

const CANARY: u8 = 0xA5;
const GUARD: usize = 64;

/// GetPropertyData into a canary-filled buffer of `size + GUARD` bytes, passing
/// `inDataSize = size`; asserts nothing past `size` was touched and that
/// outDataSize ≤ size. Returns (status, bytes reported written).
fn guarded_get(
    d: &Driver,
    obj: u32,
    a: &AudioObjectPropertyAddress,
    qualifier: &[u8],
    size: usize,
) -> (OSStatus, Vec<u8>) {
    let mut buf = vec![CANARY; size + GUARD];
    let mut out = u32::MAX;
    let (qn, qp) = if qualifier.is_empty() {
        (0, std::ptr::null())
    } else {
        (qualifier.len() as u32, qualifier.as_ptr() as *const c_void)
    };
    let f = vt(d).GetPropertyData.expect("GetPropertyData");
    // SAFETY: buf holds size + GUARD bytes; the driver may write at most `size`.
    let st = unsafe { f(d.raw(), obj, 0, a, qn, qp, size as u32, &mut out, buf.as_mut_ptr() as *mut c_void) };
    assert!(
        buf[size..].iter().all(|&b| b == CANARY),
        "GetPropertyData({obj}, {}) wrote past inDataSize {size}",
        fourcc_str(a.mSelector)
    );
    if st == 0 {
        assert!(out as usize <= size, "outDataSize {out} > inDataSize {size} for {}", fourcc_str(a.mSelector));
        buf.truncate(out as usize);
    } else {
        buf.clear();
    }
    (st, buf)
}

fn status<T>(r: Result<T, gecko_simhost::DriverError>) -> OSStatus {
    match r {
        Ok(_) => 0,
        Err(e) => e.status().unwrap_or(-1),
    }
}

fn u32s(b: &[u8]) -> Vec<u32> {
    b.chunks_exact(4).map(|c| u32::from_ne_bytes(c.try_into().unwrap())).collect()
}
fn f64s(b: &[u8]) -> Vec<f64> {
    b.chunks_exact(8).map(|c| f64::from_ne_bytes(c.try_into().unwrap())).collect()
}
fn f32_of(b: &[u8]) -> f32 {
    f32::from_ne_bytes(b[..4].try_into().unwrap())
}

/// Releases a CFString returned in `b` (8 bytes) and returns its text.
fn take_cfstring(b: &[u8]) -> Option<String> {
    let p = usize::from_ne_bytes(b.try_into().ok()?) as *const c_void;
    let s = cf::string_value(p)?;
    cf::release(p);
    Some(s)
}

/// Checks a successfully read value against its type; returns a description.
fn check_type(obj: u32, sel: u32, ty: Ty, b: &[u8]) {
    let what = format!("{} of object {obj}", fourcc_str(sel));
    match ty {
        Ty::U32 => assert_eq!(b.len(), 4, "{what}"),
        Ty::F32 => {
            assert_eq!(b.len(), 4, "{what}");
            assert!(f32_of(b).is_finite(), "{what}");
        }
        Ty::F64 => {
            assert_eq!(b.len(), 8, "{what}");
            assert!(f64s(b)[0].is_finite(), "{what}");
        }
        Ty::CfString => {
            assert_eq!(b.len(), 8, "{what}");
            assert!(take_cfstring(b).is_some(), "{what}: not a CFString");
        }
        Ty::Ids => assert_eq!(b.len() % 4, 0, "{what}"),
        Ty::Ranges => {
            assert_eq!(b.len() % 16, 0, "{what}");
            for r in f64s(b).chunks(2) {
                assert!(r[0] <= r[1], "{what}: range {r:?}");
            }
        }
        Ty::Range => {
            assert_eq!(b.len(), 16, "{what}");
            let r = f64s(b);
            assert!(r[0] < r[1], "{what}: range {r:?}");
        }
        Ty::Asbd => assert_eq!(b.len(), std::mem::size_of::<AudioStreamBasicDescription>(), "{what}"),
        Ty::Ranged => assert_eq!(b.len() % std::mem::size_of::<AudioStreamRangedDescription>(), 0, "{what}"),
        Ty::U32Pair => assert_eq!(b.len(), 8, "{what}"),
        Ty::CustomInfo => assert_eq!(b.len() % 12, 0, "{what}"),
        Ty::Layout => {
            assert!(b.len() >= 12, "{what}");
            let h = u32s(&b[..12]);
            assert_eq!(b.len(), 12 + 20 * h[2] as usize, "{what}: {} descriptions", h[2]);
        }
    }
}

/// The objects reachable from the plug-in, the way an inspector finds them.
fn discover(d: &Driver) -> Vec<u32> {
    let mut seen = vec![PLUG];
    let mut i = 0;
    while i < seen.len() {
        let o = seen[i];
        for sel in [
            kAudioObjectPropertyOwnedObjects,
            kAudioPlugInPropertyDeviceList,
            kAudioDevicePropertyStreams,
            kAudioObjectPropertyControlList,
        ] {
            if d.has_property(o, &g(sel)).unwrap() {
                for c in d.get_object_list(o, &g(sel)).unwrap() {
                    if !seen.contains(&c) {
                        seen.push(c);
                    }
                }
            }
        }
        i += 1;
    }
    seen
}

// ---- the walk ------------------------------------------------------------------------------

#[test]
fn inspector_walk_every_object_and_property() {
    let (d, _host, _name) = loaded();
    let live = cf::live_objects_created_on_this_thread();
    let objects = discover(&d);
    assert_eq!(objects, vec![PLUG, DEV, STREAM, INSTREAM, VOL, MUTE]);
    let uid = cf::string_create(bundle::DEVICE_UID);
    let uid_q = (uid as usize).to_ne_bytes();

    for &obj in objects.iter().chain(&[kAudioObjectUnknown, 7, 999, u32::MAX]) {
        let known = objects.contains(&obj);
        let mut found = Vec::new();
        let mut found_wild = Vec::new();
        for &(sel, ty) in SELECTORS {
            for scope in SCOPES {
                for element in ELEMENTS {
                    let a = addr(sel, scope, element);
                    let q: &[u8] = if sel == kAudioPlugInPropertyTranslateUIDToDevice { &uid_q } else { &[] };
                    let has = d.has_property(obj, &a).unwrap();
                    let st_settable = d.is_property_settable(obj, &a);
                    let st_size = d.get_property_data_size(obj, &a, q);
                    if !has {
                        let want =
                            if known { kAudioHardwareUnknownPropertyError } else { kAudioHardwareBadObjectError };
                        assert_eq!(status(st_settable), want, "IsPropertySettable {obj} {a:?}");
                        assert_eq!(status(st_size), want, "GetPropertyDataSize {obj} {a:?}");
                        assert_eq!(guarded_get(&d, obj, &a, q, 64).0, want, "GetPropertyData {obj} {a:?}");
                        let st = status(d.set_property_data(obj, &a, &[], &[0u8; 8]));
                        assert_eq!(st, want, "SetPropertyData {obj} {a:?}");
                        continue;
                    }
                    assert!(known);
                    assert!(
                        element == kAudioObjectPropertyElementMain || element == kAudioObjectPropertyElementWildcard,
                        "only the main element and the wildcard answer ({obj} {a:?})"
                    );
                    assert!(scope != 0x1234_5678);
                    if element == kAudioObjectPropertyElementMain {
                        found.push((sel, scope));
                    } else {
                        found_wild.push((sel, scope));
                    }
                    assert_eq!(st_settable.unwrap(), settable(obj, sel), "settable {obj} {}", fourcc_str(sel));
                    let n = st_size.unwrap();
                    // The right size.
                    let (st, b) = guarded_get(&d, obj, &a, q, n);
                    assert_eq!(st, 0, "{obj} {a:?}");
                    assert_eq!(b.len(), n, "{obj} {}: size query and data disagree", fourcc_str(sel));
                    check_type(obj, sel, ty, &b);
                    // Oversized: same answer, nothing more written.
                    let (st, b) = guarded_get(&d, obj, &a, q, n + 100);
                    assert_eq!((st, b.len()), (0, n), "{obj} {a:?} oversized");
                    if ty == Ty::CfString {
                        take_cfstring(&b);
                    }
                    // Short by one byte and empty: an array returns fewer whole items, a
                    // fixed-size value is refused with the size error.
                    for short in [n.saturating_sub(1), 0] {
                        if n == 0 || short == n {
                            continue;
                        }
                        let (st, b) = guarded_get(&d, obj, &a, q, short);
                        match ty {
                            Ty::Ids | Ty::Ranges | Ty::Ranged | Ty::CustomInfo => {
                                let item = match ty {
                                    Ty::Ids => 4,
                                    Ty::CustomInfo => 12,
                                    Ty::Ranges => 16,
                                    _ => 56,
                                };
                                assert_eq!(st, 0, "{obj} {a:?} short array");
                                assert_eq!(b.len(), short / item * item);
                            }
                            _ => {
                                assert_eq!(st, kAudioHardwareBadPropertySizeError, "{obj} {a:?} short by {}", n - short)
                            }
                        }
                    }
                }
            }
        }
        for sel in if known { required(obj) } else { vec![] } {
            assert!(
                found.contains(&(sel, GLOB)) || found.contains(&(sel, OUTP)),
                "object {obj} lacks {}",
                fourcc_str(sel)
            );
        }
        // Every property is object-wide: the element wildcard answers exactly where
        // the main element does (AudioHardwareBase.h: kAudioObjectPropertyElementWildcard).
        assert_eq!(found_wild, found, "object {obj}: the element wildcard and the main element answer differently");
        if !known {
            assert!(found.is_empty());
        }
    }
    cf::release(uid);
    assert_eq!(cf::live_objects_created_on_this_thread(), live, "CF objects leaked");
}

#[test]
fn object_graph_is_consistent() {
    let (d, _host, _name) = loaded();
    let live = cf::live_objects_created_on_this_thread();
    let list = |o, s| d.get_object_list(o, &g(s)).unwrap();
    let u = |o, s| d.get_u32(o, &g(s)).unwrap();
    assert_eq!(list(PLUG, kAudioPlugInPropertyDeviceList), vec![DEV]);
    assert_eq!(list(PLUG, kAudioObjectPropertyOwnedObjects), vec![DEV]);
    assert_eq!(u(PLUG, kAudioObjectPropertyOwner), kAudioObjectUnknown);
    // Device: owned = streams ∪ controls, each owned by the device.
    let streams = list(DEV, kAudioDevicePropertyStreams);
    let controls = list(DEV, kAudioObjectPropertyControlList);
    let owned = list(DEV, kAudioObjectPropertyOwnedObjects);
    assert_eq!(streams, vec![STREAM, INSTREAM]);
    assert_eq!(controls, vec![VOL, MUTE]);
    let mut both = streams.clone();
    both.extend(&controls);
    assert_eq!(owned, both);
    for &o in &owned {
        assert_eq!(u(o, kAudioObjectPropertyOwner), DEV);
        assert_eq!(list(o, kAudioObjectPropertyOwnedObjects), Vec::<u32>::new());
    }
    assert_eq!(u(DEV, kAudioObjectPropertyOwner), PLUG);
    // OwnedObjects class filters (the qualifier is an array of AudioClassIDs).
    let filtered = |o: u32, classes: &[u32]| -> Vec<u32> {
        let q: Vec<u8> = classes.iter().flat_map(|c| c.to_ne_bytes()).collect();
        d.get_pod_array(o, &g(kAudioObjectPropertyOwnedObjects), &q).unwrap()
    };
    assert_eq!(filtered(DEV, &[kAudioStreamClassID]), vec![STREAM, INSTREAM]);
    assert_eq!(filtered(DEV, &[K_CONTROL_CLASS]), vec![VOL, MUTE]);
    assert_eq!(filtered(DEV, &[kAudioVolumeControlClassID]), vec![VOL]);
    assert_eq!(filtered(DEV, &[K_LEVEL_CLASS]), vec![VOL]);
    assert_eq!(filtered(DEV, &[K_BOOLEAN_CLASS, kAudioStreamClassID]), vec![STREAM, INSTREAM, MUTE]);
    assert_eq!(filtered(DEV, &[kAudioDeviceClassID]), Vec::<u32>::new());
    assert_eq!(filtered(PLUG, &[kAudioDeviceClassID]), vec![DEV]);
    assert_eq!(filtered(PLUG, &[kAudioStreamClassID]), Vec::<u32>::new());
    // Input scope lists the input stream (the loopback) and owns only it;
    // output scope the output stream and the controls.
    let scoped = |sel, scope| d.get_object_list(DEV, &AudioObjectPropertyAddress::new(sel, scope)).unwrap();
    assert_eq!(scoped(kAudioDevicePropertyStreams, INPT), vec![INSTREAM]);
    assert_eq!(scoped(kAudioObjectPropertyOwnedObjects, INPT), vec![INSTREAM]);
    assert_eq!(scoped(kAudioDevicePropertyStreams, OUTP), vec![STREAM]);
    assert_eq!(scoped(kAudioObjectPropertyOwnedObjects, OUTP), vec![STREAM, VOL, MUTE]);
    assert_eq!(
        d.get_u32(DEV, &AudioObjectPropertyAddress::new(kAudioDevicePropertyDeviceCanBeDefaultDevice, INPT)).unwrap(),
        1
    );
    assert_eq!(
        d.get_u32(DEV, &AudioObjectPropertyAddress::new(kAudioDevicePropertyDeviceCanBeDefaultSystemDevice, INPT))
            .unwrap(),
        0
    );
    assert_eq!(d.get_u32(STREAM, &g(kAudioStreamPropertyDirection)).unwrap(), 0);
    assert_eq!(d.get_u32(INSTREAM, &g(kAudioStreamPropertyDirection)).unwrap(), 1);
    // Classes.
    assert_eq!(
        (u(DEV, kAudioObjectPropertyClass), u(DEV, kAudioObjectPropertyBaseClass)),
        (kAudioDeviceClassID, kAudioObjectClassID)
    );
    assert_eq!(
        (u(STREAM, kAudioObjectPropertyClass), u(STREAM, kAudioObjectPropertyBaseClass)),
        (kAudioStreamClassID, kAudioObjectClassID)
    );
    assert_eq!(
        (u(VOL, kAudioObjectPropertyClass), u(VOL, kAudioObjectPropertyBaseClass)),
        (kAudioVolumeControlClassID, K_LEVEL_CLASS)
    );
    assert_eq!(
        (u(MUTE, kAudioObjectPropertyClass), u(MUTE, kAudioObjectPropertyBaseClass)),
        (kAudioMuteControlClassID, K_BOOLEAN_CLASS)
    );
    for c in [VOL, MUTE] {
        assert_eq!(u(c, K_CONTROL_SCOPE), OUTP, "controls live in the output scope");
        assert_eq!(u(c, K_CONTROL_ELEMENT), kAudioObjectPropertyElementMain, "on the master element");
    }
    // Rates and formats.
    let rate = d.get_f64(DEV, &g(kAudioDevicePropertyNominalSampleRate)).unwrap();
    let rates: Vec<f64> = d
        .get_value_ranges(DEV, &g(kAudioDevicePropertyAvailableNominalSampleRates))
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(r.mMinimum, r.mMaximum);
            r.mMinimum
        })
        .collect();
    assert_eq!(rates, bundle::AVAILABLE_SAMPLE_RATES.to_vec());
    assert!(rates.contains(&rate));
    for sel in [kAudioStreamPropertyVirtualFormat, kAudioStreamPropertyPhysicalFormat] {
        let f = d.get_asbd(STREAM, &g(sel)).unwrap();
        assert_eq!(f.mSampleRate, rate);
        assert_eq!(
            (f.mChannelsPerFrame, f.mBytesPerFrame, f.mBytesPerPacket, f.mFramesPerPacket),
            (bundle::CHANNELS, 4 * bundle::CHANNELS, 4 * bundle::CHANNELS, 1)
        );
        assert_eq!(f.mFormatFlags, kAudioFormatFlagIsFloat | kAudioFormatFlagIsPacked);
    }
    for sel in [kAudioStreamPropertyAvailableVirtualFormats, kAudioStreamPropertyAvailablePhysicalFormats] {
        let av = d.get_ranged_formats(STREAM, &g(sel)).unwrap();
        let fr: Vec<f64> = av.iter().map(|r| r.mFormat.mSampleRate).collect();
        assert_eq!(fr, rates);
        for r in &av {
            assert_eq!(
                (r.mSampleRateRange.mMinimum, r.mSampleRateRange.mMaximum),
                (r.mFormat.mSampleRate, r.mFormat.mSampleRate)
            );
            assert_eq!(r.mFormat.mChannelsPerFrame, bundle::CHANNELS);
        }
    }
    // Channels.
    let pair: Vec<u32> = d
        .get_pod_array(DEV, &AudioObjectPropertyAddress::new(kAudioDevicePropertyPreferredChannelsForStereo, OUTP), &[])
        .unwrap();
    assert_eq!(pair, vec![1, 2]);
    let layout: Vec<u32> = d.get_pod_array(DEV, &AudioObjectPropertyAddress::new(K_CHANNEL_LAYOUT, OUTP), &[]).unwrap();
    assert_eq!(&layout[..3], &[0, 0, bundle::CHANNELS], "UseChannelDescriptions, one per channel");
    let labels: Vec<u32> = layout[3..].chunks(5).map(|c| c[0]).collect();
    assert_eq!(labels, vec![1, 2], "Left, Right");
    assert_eq!(d.get_cfstring(DEV, &g(K_CONFIG_APP)).unwrap(), "com.apple.audio.AudioMIDISetup");
    assert_eq!(u(DEV, K_RUNNING_SOMEWHERE), 0);
    assert_eq!(d.get_cfstring(DEV, &g(kAudioDevicePropertyDeviceUID)).unwrap(), bundle::DEVICE_UID);
    assert_eq!(cf::live_objects_created_on_this_thread(), live, "CF objects leaked");
}

#[test]
fn null_pointers_and_foreign_refs_are_errors() {
    let (d, _host, _name) = loaded();
    let v = vt(&d);
    let r = d.raw();
    let a = g(kAudioDevicePropertyNominalSampleRate);
    let mut size = 0u32;
    let mut buf = [0u8; 8];
    let mut b: cf::Boolean = 0;
    let nope = kAudioHardwareIllegalOperationError;
    // SAFETY: the driver must handle NULL pointers where the HAL could pass them.
    unsafe {
        assert_eq!(v.HasProperty.unwrap()(r, DEV, 0, std::ptr::null()), 0);
        assert_eq!(v.IsPropertySettable.unwrap()(r, DEV, 0, std::ptr::null(), &mut b), nope);
        assert_eq!(v.IsPropertySettable.unwrap()(r, DEV, 0, &a, std::ptr::null_mut()), nope);
        assert_eq!(v.GetPropertyDataSize.unwrap()(r, DEV, 0, &a, 0, std::ptr::null(), std::ptr::null_mut()), nope);
        assert_eq!(v.GetPropertyDataSize.unwrap()(r, DEV, 0, std::ptr::null(), 0, std::ptr::null(), &mut size), nope);
        assert_eq!(
            v.GetPropertyData.unwrap()(r, DEV, 0, &a, 0, std::ptr::null(), 8, &mut size, std::ptr::null_mut()),
            nope
        );
        assert_eq!(
            v.GetPropertyData.unwrap()(
                r,
                DEV,
                0,
                &a,
                0,
                std::ptr::null(),
                8,
                std::ptr::null_mut(),
                buf.as_mut_ptr() as _
            ),
            nope
        );
        assert_eq!(
            v.GetPropertyData.unwrap()(
                r,
                DEV,
                0,
                std::ptr::null(),
                0,
                std::ptr::null(),
                8,
                &mut size,
                buf.as_mut_ptr() as _
            ),
            nope
        );
        assert_eq!(v.SetPropertyData.unwrap()(r, DEV, 0, &a, 0, std::ptr::null(), 8, std::ptr::null()), nope);
        assert_eq!(
            v.SetPropertyData.unwrap()(r, DEV, 0, std::ptr::null(), 0, std::ptr::null(), 8, buf.as_ptr() as _),
            nope
        );
        let (mut s, mut h, mut seed) = (0.0, 0u64, 0u64);
        assert_eq!(v.GetZeroTimeStamp.unwrap()(r, DEV, 0, std::ptr::null_mut(), &mut h, &mut seed), nope);
        assert_eq!(v.GetZeroTimeStamp.unwrap()(r, DEV, 0, &mut s, std::ptr::null_mut(), &mut seed), nope);
        assert_eq!(v.GetZeroTimeStamp.unwrap()(r, DEV, 0, &mut s, &mut h, std::ptr::null_mut()), nope);
        assert_eq!(
            v.WillDoIOOperation.unwrap()(
                r,
                DEV,
                0,
                kAudioServerPlugInIOOperationWriteMix,
                std::ptr::null_mut(),
                &mut b
            ),
            nope
        );
        assert_eq!(
            v.DoIOOperation.unwrap()(
                r,
                DEV,
                STREAM,
                0,
                kAudioServerPlugInIOOperationWriteMix,
                16,
                std::ptr::null(),
                std::ptr::null_mut(),
                std::ptr::null_mut()
            ),
            nope
        );
        // A foreign driver ref is a bad object everywhere.
        let mut other: *const AudioServerPlugInDriverInterface = v;
        let foreign: AudioServerPlugInDriverRef = &mut other;
        assert_eq!(v.HasProperty.unwrap()(foreign, DEV, 0, &a), 0);
        assert_eq!(
            v.GetPropertyDataSize.unwrap()(foreign, DEV, 0, &a, 0, std::ptr::null(), &mut size),
            kAudioHardwareBadObjectError
        );
        assert_eq!(
            v.PerformDeviceConfigurationChange.unwrap()(foreign, DEV, 44_100, std::ptr::null_mut()),
            kAudioHardwareBadObjectError
        );
    }
    // Configuration changes: wrong device, unknown action.
    assert_eq!(status(d.perform_configuration_change(STREAM, 44_100, 0)), kAudioHardwareBadObjectError);
    assert_eq!(status(d.perform_configuration_change(DEV, 12_345, 0)), kAudioHardwareIllegalOperationError);
    assert_eq!(status(d.perform_configuration_change(DEV, u64::MAX, 0)), kAudioHardwareIllegalOperationError);
    assert_eq!(status(d.abort_configuration_change(DEV, 44_100, 0)), 0);
    assert_eq!(status(d.abort_configuration_change(9, 44_100, 0)), kAudioHardwareBadObjectError);
}

// ---- settable properties -------------------------------------------------------------------

fn set_f32(d: &Driver, obj: u32, sel: u32, v: f32) -> OSStatus {
    status(d.set_property_data(obj, &g(sel), &[], &v.to_ne_bytes()))
}
fn get_f32(d: &Driver, obj: u32, sel: u32) -> f32 {
    d.get_f32(obj, &g(sel)).unwrap()
}
fn convert(d: &Driver, sel: u32, v: f32) -> f32 {
    let mut b = v.to_ne_bytes();
    assert_eq!(d.get_property_data(VOL, &g(sel), &[], &mut b).unwrap(), 4);
    f32::from_ne_bytes(b)
}

#[test]
fn volume_and_mute_controls() {
    let (d, host, name) = loaded();
    let mut reader = Reader::attach(&name.0, &AttachOptions::default()).expect("attach");
    let ws = |r: &Reader| r.writer_state().unwrap();
    // Defaults: full volume, unmuted, unity gain published.
    assert_eq!(get_f32(&d, VOL, kAudioLevelControlPropertyScalarValue), 1.0);
    assert_eq!(get_f32(&d, VOL, kAudioLevelControlPropertyDecibelValue), 0.0);
    assert_eq!(d.get_u32(MUTE, &g(kAudioBooleanControlPropertyValue)).unwrap(), 0);
    let range = d.get_value_ranges(VOL, &g(kAudioLevelControlPropertyDecibelRange)).unwrap();
    assert_eq!((range[0].mMinimum, range[0].mMaximum), bundle::VOLUME_DB_RANGE);
    assert_eq!((ws(&reader).volume_scalar, ws(&reader).mute), (1.0, false));

    // The curve: dB-linear over the range, conversions agree with the values.
    for s in [0.0f32, 0.0625, 0.25, 0.5, 0.75, 1.0] {
        let db = convert(&d, K_SCALAR_TO_DB, s);
        assert!((db - (-64.0 + 64.0 * s)).abs() < 1e-4, "{s} -> {db}");
        assert!((convert(&d, K_DB_TO_SCALAR, db) - s).abs() < 1e-6);
    }
    assert_eq!(convert(&d, K_SCALAR_TO_DB, 7.0), 0.0, "clamped");
    assert_eq!(convert(&d, K_DB_TO_SCALAR, -100.0), 0.0, "clamped");
    let mut nan = f32::NAN.to_ne_bytes();
    assert_eq!(
        status(d.get_property_data(VOL, &g(K_SCALAR_TO_DB), &[], &mut nan)),
        kAudioHardwareIllegalOperationError
    );

    // Set the scalar: dB follows, linear gain published at once, notified, stored.
    host.take_notifications();
    assert_eq!(set_f32(&d, VOL, kAudioLevelControlPropertyScalarValue, 0.5), 0);
    assert_eq!(get_f32(&d, VOL, kAudioLevelControlPropertyDecibelValue), -32.0);
    let gain = ws(&reader).volume_scalar;
    assert!((gain - 10f32.powf(-32.0 / 20.0)).abs() < 1e-6, "published gain {gain}");
    let n = host.take_notifications();
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].object_id, VOL);
    let sels: Vec<u32> = n[0].addresses.iter().map(|a| a.mSelector).collect();
    assert_eq!(sels, vec![kAudioLevelControlPropertyScalarValue, kAudioLevelControlPropertyDecibelValue]);
    assert_eq!(host.storage_number("gecko.volume.scalar"), Some(cf::Number::Float(0.5)));
    assert!(host.pending_config_changes().is_empty(), "volume needs no configuration change");
    // Setting the same value again notifies nothing.
    assert_eq!(set_f32(&d, VOL, kAudioLevelControlPropertyScalarValue, 0.5), 0);
    assert!(host.take_notifications().is_empty());
    // dB set; clamped; the bottom of the range is silence.
    assert_eq!(set_f32(&d, VOL, kAudioLevelControlPropertyDecibelValue, -6.0), 0);
    assert!((get_f32(&d, VOL, kAudioLevelControlPropertyScalarValue) - 58.0 / 64.0).abs() < 1e-6);
    assert!((ws(&reader).volume_scalar - 10f32.powf(-6.0 / 20.0)).abs() < 1e-5);
    assert_eq!(set_f32(&d, VOL, kAudioLevelControlPropertyDecibelValue, -500.0), 0);
    assert_eq!(get_f32(&d, VOL, kAudioLevelControlPropertyScalarValue), 0.0);
    assert_eq!(ws(&reader).volume_scalar, 0.0, "scalar 0 is silence");
    assert_eq!(set_f32(&d, VOL, kAudioLevelControlPropertyScalarValue, 3.0), 0);
    assert_eq!((get_f32(&d, VOL, kAudioLevelControlPropertyScalarValue), ws(&reader).volume_scalar), (1.0, 1.0));
    // Bad values and sizes.
    assert_eq!(set_f32(&d, VOL, kAudioLevelControlPropertyScalarValue, f32::NAN), kAudioHardwareIllegalOperationError);
    assert_eq!(
        set_f32(&d, VOL, kAudioLevelControlPropertyDecibelValue, f32::INFINITY),
        kAudioHardwareIllegalOperationError
    );
    assert_eq!(
        status(d.set_property_data(VOL, &g(kAudioLevelControlPropertyScalarValue), &[], &[0u8; 8])),
        kAudioHardwareBadPropertySizeError
    );
    assert_eq!(
        status(d.set_property_data(VOL, &g(kAudioLevelControlPropertyScalarValue), &[], &[0u8; 2])),
        kAudioHardwareBadPropertySizeError
    );
    assert_eq!(
        status(d.set_property_data(VOL, &g(kAudioLevelControlPropertyDecibelRange), &[], &[0u8; 16])),
        kAudioHardwareUnsupportedOperationError
    );

    // Mute.
    let set_mute =
        |v: u32| status(d.set_property_data(MUTE, &g(kAudioBooleanControlPropertyValue), &[], &v.to_ne_bytes()));
    host.take_notifications();
    assert_eq!(set_mute(7), 0);
    assert_eq!(d.get_u32(MUTE, &g(kAudioBooleanControlPropertyValue)).unwrap(), 1);
    assert!(ws(&reader).mute);
    assert_eq!(host.storage_number("gecko.mute"), Some(cf::Number::Int(1)));
    assert_eq!(host.take_notifications().len(), 1);
    assert_eq!(
        status(d.set_property_data(MUTE, &g(kAudioBooleanControlPropertyValue), &[], &[1u8; 1])),
        kAudioHardwareBadPropertySizeError
    );

    // A volume change while IO runs reaches the engine without any reconfiguration.
    let dev = d.find_device().unwrap();
    let mut io = IoRunner::new(&d, dev.clone(), 512, 1e9).unwrap();
    io.start_io().unwrap();
    let g0 = reader.format().generation;
    let mut buf = vec![0.0f32; 512 * dev.channels as usize];
    for k in 0..4u64 {
        io.do_write_mix_cycle((k * 512) as f64, k, &buf).unwrap();
        if k == 1 {
            assert_eq!(set_f32(&d, VOL, kAudioLevelControlPropertyScalarValue, 0.75), 0);
            assert_eq!(set_mute(0), 0);
        }
        let _ = reader.read(&mut buf).unwrap();
    }
    io.stop_io().unwrap();
    assert!((ws(&reader).volume_scalar - 10f32.powf(-16.0 / 20.0)).abs() < 1e-6);
    assert!(!ws(&reader).mute);
    assert_eq!(reader.format().generation, g0, "no new generation for a volume change");
    assert!(host.pending_config_changes().is_empty());
}

#[test]
fn volume_and_mute_are_restored_from_storage() {
    let name = Name::new("c");
    let host = Arc::new(Host::new());
    host.preset_storage_number("gecko.volume.scalar", cf::Number::Float(0.25));
    host.preset_storage_number("gecko.mute", cf::Number::Int(1));
    let d = load_from(bundle::bundle_path(), &name, host.clone(), None);
    assert_eq!(get_f32(&d, VOL, kAudioLevelControlPropertyScalarValue), 0.25);
    assert_eq!(get_f32(&d, VOL, kAudioLevelControlPropertyDecibelValue), -48.0);
    assert_eq!(d.get_u32(MUTE, &g(kAudioBooleanControlPropertyValue)).unwrap(), 1);
    let r = Reader::attach(&name.0, &AttachOptions::default()).unwrap();
    let st = r.writer_state().unwrap();
    assert!((st.volume_scalar - 10f32.powf(-48.0 / 20.0)).abs() < 1e-6);
    assert!(st.mute);
    drop(r);

    // Garbage in storage (wrong types, out of range) is ignored or clamped.
    let name2 = Name::new("c");
    let host2 = Arc::new(Host::new());
    host2.preset_storage_string("gecko.volume.scalar", "loud");
    host2.preset_storage_number("gecko.mute", cf::Number::Float(0.5));
    let d2 = load_from(bundle::bundle_path(), &name2, host2, None);
    assert_eq!(get_f32(&d2, VOL, kAudioLevelControlPropertyScalarValue), 1.0);
    assert_eq!(d2.get_u32(MUTE, &g(kAudioBooleanControlPropertyValue)).unwrap(), 0, "a lossy SInt32 read is ignored");
    let name3 = Name::new("c");
    let host3 = Arc::new(Host::new());
    host3.preset_storage_number("gecko.volume.scalar", cf::Number::Float(9.0));
    let d3 = load_from(bundle::bundle_path(), &name3, host3, None);
    assert_eq!(get_f32(&d3, VOL, kAudioLevelControlPropertyScalarValue), 1.0);
}

// ---- stream activity, elements ------------------------------------------------------------

#[test]
fn stream_is_active_is_settable_and_answered_back() {
    let (d, host, _name) = loaded();
    let a = g(kAudioStreamPropertyIsActive);
    let set = |v: &[u8]| status(d.set_property_data(STREAM, &a, &[], v));
    assert!(d.is_property_settable(STREAM, &a).unwrap(), "the HAL sets IsActive on streams");
    assert_eq!(d.get_u32(STREAM, &a).unwrap(), 1, "active by default");
    host.take_notifications();
    // Inactive: stored, answered back, announced (it affects neither IO nor structure).
    assert_eq!(set(&0u32.to_ne_bytes()), 0);
    assert_eq!(d.get_u32(STREAM, &a).unwrap(), 0);
    let n = host.take_notifications();
    assert_eq!(n.len(), 1, "{n:?}");
    assert_eq!(n[0].object_id, STREAM);
    assert_eq!(n[0].addresses.iter().map(|a| a.mSelector).collect::<Vec<_>>(), vec![kAudioStreamPropertyIsActive]);
    // The same value again: nothing to announce.
    assert_eq!(set(&0u32.to_ne_bytes()), 0);
    assert!(host.take_notifications().is_empty());
    // Any non-zero UInt32 is "active".
    assert_eq!(set(&7u32.to_ne_bytes()), 0);
    assert_eq!(d.get_u32(STREAM, &a).unwrap(), 1);
    assert_eq!(host.take_notifications().len(), 1);
    // Only a UInt32 is accepted; a wrong size changes nothing.
    for wrong in [&[0u8; 0][..], &[0u8; 1], &[0u8; 2], &[0u8; 8]] {
        assert_eq!(set(wrong), kAudioHardwareBadPropertySizeError, "{} bytes", wrong.len());
    }
    assert_eq!(d.get_u32(STREAM, &a).unwrap(), 1);
    assert!(host.take_notifications().is_empty());
    assert!(host.pending_config_changes().is_empty(), "no configuration change for IsActive");
}

#[test]
fn object_wide_properties_answer_the_main_element_and_the_wildcard_only() {
    let (d, _host, _name) = loaded();
    let at = |sel: u32, scope: u32, element: u32| AudioObjectPropertyAddress {
        mSelector: sel,
        mScope: scope,
        mElement: element,
    };
    // kAudioObjectPropertyElementWildcard (AudioHardwareBase.h) matches every
    // element, the main one included: same answer as element 0.
    for (obj, sel, scope) in [
        (PLUG, kAudioObjectPropertyClass, GLOB),
        (DEV, kAudioDevicePropertyNominalSampleRate, GLOB),
        (DEV, kAudioDevicePropertyLatency, OUTP),
        (STREAM, kAudioStreamPropertyIsActive, GLOB),
        (VOL, kAudioLevelControlPropertyScalarValue, GLOB),
        (MUTE, kAudioBooleanControlPropertyValue, GLOB),
    ] {
        let main = at(sel, scope, kAudioObjectPropertyElementMain);
        let wild = at(sel, scope, kAudioObjectPropertyElementWildcard);
        assert!(d.has_property(obj, &wild).unwrap(), "{obj} {}: wildcard element", fourcc_str(sel));
        let n = d.get_property_data_size(obj, &main, &[]).unwrap();
        assert_eq!(d.get_property_data_size(obj, &wild, &[]).unwrap(), n);
        let (st_main, b_main) = guarded_get(&d, obj, &main, &[], n);
        let (st_wild, b_wild) = guarded_get(&d, obj, &wild, &[], n);
        assert_eq!((st_main, st_wild), (0, 0));
        assert_eq!(b_main, b_wild, "{obj} {}: wildcard and main element differ", fourcc_str(sel));
        assert_eq!(d.is_property_settable(obj, &wild).unwrap(), d.is_property_settable(obj, &main).unwrap());
        // An element that does not exist (channel 1, 2, anything else): unknown property.
        for element in [1, 2, 0x7FFF_FFFF] {
            let a = at(sel, scope, element);
            assert!(!d.has_property(obj, &a).unwrap(), "{obj} {} element {element}", fourcc_str(sel));
            assert_eq!(status(d.get_property_data_size(obj, &a, &[])), kAudioHardwareUnknownPropertyError);
            assert_eq!(guarded_get(&d, obj, &a, &[], 64).0, kAudioHardwareUnknownPropertyError);
            assert_eq!(status(d.is_property_settable(obj, &a)), kAudioHardwareUnknownPropertyError);
        }
    }
    // Setting through the wildcard element sets the (only) value.
    let wild = at(kAudioStreamPropertyIsActive, GLOB, kAudioObjectPropertyElementWildcard);
    d.set_property_data(STREAM, &wild, &[], &0u32.to_ne_bytes()).unwrap();
    assert_eq!(d.get_u32(STREAM, &g(kAudioStreamPropertyIsActive)).unwrap(), 0);
    let one = at(kAudioStreamPropertyIsActive, GLOB, 1);
    assert_eq!(status(d.set_property_data(STREAM, &one, &[], &1u32.to_ne_bytes())), kAudioHardwareUnknownPropertyError);
    assert_eq!(d.get_u32(STREAM, &g(kAudioStreamPropertyIsActive)).unwrap(), 0);
}

// ---- the ring-state custom property ---------------------------------------------------------

/// Parses the ring-state text into (key, value) pairs, checking the line format.
fn ring_fields(text: &str) -> Vec<(String, String)> {
    assert!(text.ends_with('\n'), "every line ends with a newline: {text:?}");
    text.lines()
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap_or_else(|| panic!("not key=value: {l:?}"));
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

fn ring_field<'a>(f: &'a [(String, String)], key: &str) -> &'a str {
    &f.iter().find(|(k, _)| k == key).unwrap_or_else(|| panic!("no {key} in {f:?}")).1
}

#[test]
fn ring_state_property_reports_the_writer_segment_and_the_reader() {
    let name = Name::new("c");
    // Block the writer segment's name with a dangling symbolic link in glibc's shm
    // directory: shm_open opens with O_NOFOLLOW, so it fails with ELOOP (even for
    // root): Initialize cannot map the segment.
    let blocker = format!("/dev/shm{}", name.0);
    std::os::unix::fs::symlink("/nonexistent/gecko-blocker", &blocker).expect("block the writer segment's name");
    let host = Arc::new(Host::new());
    let d = load_from(bundle::bundle_path(), &name, host, None);
    let live = cf::live_objects_created_on_this_thread();

    // Listed as a custom property: a CFString without qualifier (AudioServerPlugIn.h).
    let info: Vec<u32> = d.get_pod_array(DEV, &g(kAudioObjectPropertyCustomPropertyInfoList), &[]).unwrap();
    assert_eq!(info, vec![K_RING_STATE, K_CUSTOM_TYPE_CFSTRING, K_CUSTOM_TYPE_NONE]);
    assert!(!d.is_property_settable(DEV, &g(K_RING_STATE)).unwrap());
    for obj in [PLUG, STREAM, VOL, MUTE] {
        assert!(!d.has_property(obj, &g(K_RING_STATE)).unwrap(), "only the device has it ({obj})");
    }

    let keys = [
        "writer",
        "reader",
        "mapped",
        "segment_bytes",
        "open_errno",
        "open_error",
        "source",
        "reader_attached",
        "reader_faults",
        "generation",
        "io_running",
    ];
    let segment_bytes = (gecko_ring::abi::WRITER_HEADER_SIZE as usize
        + gecko_ring::abi::DEFAULT_CAPACITY_FRAMES as usize * bundle::CHANNELS as usize * 4)
        .to_string();
    // 1. No writer segment: the failure is reported.
    let f = ring_fields(&d.ring_state(DEV).unwrap());
    assert_eq!(f.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), keys, "keys, in order");
    assert_eq!(ring_field(&f, "writer"), name.0);
    assert_eq!(ring_field(&f, "reader"), format!("{}.rd", name.0));
    assert_eq!(ring_field(&f, "mapped"), "0");
    assert_eq!(ring_field(&f, "segment_bytes"), segment_bytes);
    assert_eq!(ring_field(&f, "open_errno"), libc::ELOOP.to_string());
    // strerror's text; Rust's adds " (os error 40)".
    let eloop = std::io::Error::from_raw_os_error(libc::ELOOP).to_string();
    assert!(!ring_field(&f, "open_error").is_empty() && eloop.starts_with(ring_field(&f, "open_error")), "{f:?}");
    assert_eq!(ring_field(&f, "source"), "none");
    assert_eq!(ring_field(&f, "reader_attached"), "0");
    assert_eq!(ring_field(&f, "reader_faults"), "0");
    assert_eq!(ring_field(&f, "generation"), "0");
    assert_eq!(ring_field(&f, "io_running"), "0");

    // 2. The name is free again: StartIO retries and creates the segment.
    std::fs::remove_file(&blocker).unwrap();
    let dev = d.find_device().unwrap();
    let mut io = IoRunner::new(&d, dev.clone(), 512, 1e9).unwrap();
    io.start_io().unwrap();
    let f = ring_fields(&d.ring_state(DEV).unwrap());
    assert_eq!(ring_field(&f, "mapped"), "1");
    assert_eq!(ring_field(&f, "open_errno"), "0");
    assert_eq!(ring_field(&f, "open_error"), "");
    assert_eq!(ring_field(&f, "source"), "created");
    assert_eq!(ring_field(&f, "reader_attached"), "0", "no engine yet");
    assert_eq!(ring_field(&f, "io_running"), "1");
    let generation: u64 = ring_field(&f, "generation").parse().unwrap();
    assert_ne!(generation, 0);
    let buf = vec![0.0f32; 512 * dev.channels as usize];
    let mut t = 0u64;
    io.do_write_mix_cycle(0.0, 0, &buf).unwrap();
    assert_eq!(ring_field(&ring_fields(&d.ring_state(DEV).unwrap()), "reader_attached"), "0");

    // 3. An engine attaches: the IO thread publishes reader_attached = 1. The
    // engine drains the ring as a real one does: until the attach thread hands the
    // reader segment to the IO thread, nothing holds the writer back, and a reader
    // that never read would be lapped (a reader fault, not attached) on a loaded
    // machine.
    let mut reader = Reader::attach(&name.0, &AttachOptions::default()).expect("attach");
    assert_eq!(reader.format().generation, generation, "the property's generation is the ring's");
    let mut drain = vec![0.0f32; 4096 * dev.channels as usize];
    // Generous: under valgrind (scripts/valgrind-conformance.sh) threads run
    // one at a time, many times slower, on a machine busy with other work.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        t += 512;
        io.do_write_mix_cycle(t as f64, t, &buf).unwrap();
        while reader.read(&mut drain).expect("read").frames > 0 {}
        let f = ring_fields(&d.ring_state(DEV).unwrap());
        if ring_field(&f, "reader_attached") == "1" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "reader_attached never became 1: {f:?}");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    io.stop_io().unwrap();
    let f = ring_fields(&d.ring_state(DEV).unwrap());
    assert_eq!(ring_field(&f, "io_running"), "0");
    assert_eq!(ring_field(&f, "mapped"), "1");
    assert_eq!(ring_field(&f, "generation"), generation.to_string());
    assert_eq!(ring_field(&f, "reader_faults"), reader.writer_counters().reader_faults.to_string());
    drop(reader);
    assert_eq!(cf::live_objects_created_on_this_thread(), live, "the CFStrings were released");
}

// ---- configuration changes -----------------------------------------------------------------

/// Reads until a NewGeneration event (draining old frames); panics after many tries.
fn await_new_generation(r: &mut Reader, ch: usize) -> gecko_ring::RingFormat {
    let mut buf = vec![0.0f32; 4096 * ch];
    for _ in 0..10_000 {
        match r.read(&mut buf).expect("read").event {
            Some(RingEvent::NewGeneration { format, format_changed, .. }) => {
                assert!(format_changed);
                return format;
            }
            _ => continue,
        }
    }
    panic!("no NewGeneration event");
}

fn block(start: u64, frames: usize, ch: usize) -> Vec<f32> {
    (0..frames).flat_map(|i| (0..ch).map(move |c| ((start + i as u64) % 1_000_003) as f32 + c as f32 * 0.125)).collect()
}

/// Reads exactly `frames` frames that must already be in the ring.
fn read_exact(r: &mut Reader, frames: usize, ch: usize) -> Vec<f32> {
    let mut out = vec![0.0; frames * ch];
    let mut got = 0;
    for _ in 0..1000 {
        if got == frames {
            return out;
        }
        let rd = r.read(&mut out[got * ch..]).expect("read");
        assert!(rd.event.is_none(), "unexpected {:?}", rd.event);
        got += rd.frames;
    }
    panic!("ring delivered {got} of {frames} frames");
}

#[test]
fn sample_rate_change_while_io_runs_goes_through_the_config_change_flow() {
    let (d, host, name) = loaded();
    let dev = d.find_device().unwrap();
    let ch = dev.channels as usize;
    let mut reader = Reader::attach(&name.0, &AttachOptions::default()).expect("attach");
    let g0 = reader.format().generation;
    let (_, _, seed0) = d.get_zero_time_stamp(DEV, 0).unwrap();
    let stop = AtomicBool::new(false);
    let cycles = AtomicU64::new(0);
    std::thread::scope(|s| {
        // The IO thread, as the HAL runs it.
        let io_thread = s.spawn(|| {
            let mut io = IoRunner::new(&d, dev.clone(), 512, 1e9).unwrap();
            io.start_io().unwrap();
            let buf = block(0, 512, ch);
            let mut k = 0u64;
            while !stop.load(Ordering::Acquire) {
                let (_, _, seed) = d.get_zero_time_stamp(DEV, 0).unwrap();
                assert_eq!(seed, seed0, "seed changes only when the change is performed");
                io.do_write_mix_cycle((k * 512) as f64, k, &buf).unwrap();
                k += 1;
                cycles.store(k, Ordering::Release);
                if k.is_multiple_of(64) {
                    std::thread::yield_now();
                }
            }
            io.stop_io().unwrap(); // the HAL stops IO before performing the change
        });
        while cycles.load(Ordering::Acquire) < 10 {
            std::thread::yield_now();
        }
        // A client sets the rate: only a request is recorded; nothing changes yet.
        d.set_property_data(DEV, &g(kAudioDevicePropertyNominalSampleRate), &[], &96_000f64.to_ne_bytes()).unwrap();
        let reqs = host.pending_config_changes();
        assert_eq!(reqs.len(), 1);
        assert_eq!((reqs[0].device_id, reqs[0].action), (DEV, 96_000));
        assert_eq!(d.get_f64(DEV, &g(kAudioDevicePropertyNominalSampleRate)).unwrap(), 48_000.0);
        let before = cycles.load(Ordering::Acquire);
        while cycles.load(Ordering::Acquire) < before + 10 {
            std::thread::yield_now();
        }
        stop.store(true, Ordering::Release);
        io_thread.join().unwrap();
    });
    host.take_notifications();
    assert_eq!(d.perform_pending_configuration_changes().unwrap(), 1);
    // No PropertiesChanged from inside PerformDeviceConfigurationChange for what
    // affects IO or the device's structure. AudioServerPlugIn.h: a device may call
    // PropertiesChanged "only for state changes that don't have any effect on IO or
    // on the structure of the AudioDevice", and "When PerformDeviceConfigurationChange()
    // returns, the host will figure out what changed and restart any outstanding IO."
    let n = host.take_notifications();
    let io_affecting = |o: u32, sel: u32| {
        (o == DEV && sel == kAudioDevicePropertyNominalSampleRate)
            || ((o == STREAM || o == INSTREAM)
                && (sel == kAudioStreamPropertyVirtualFormat || sel == kAudioStreamPropertyPhysicalFormat))
    };
    assert!(
        !n.iter().any(|n| n.addresses.iter().any(|a| io_affecting(n.object_id, a.mSelector))),
        "PropertiesChanged for the nominal rate or a stream format during PerformDeviceConfigurationChange: {n:?}"
    );
    assert!(n.is_empty(), "no PropertiesChanged at all during PerformDeviceConfigurationChange: {n:?}");
    // The change is nevertheless made: the HAL finds it by reading the properties.
    assert_eq!(d.get_f64(DEV, &g(kAudioDevicePropertyNominalSampleRate)).unwrap(), 96_000.0);
    assert_eq!(d.get_asbd(STREAM, &g(kAudioStreamPropertyVirtualFormat)).unwrap().mSampleRate, 96_000.0);
    assert_eq!(d.get_asbd(STREAM, &g(kAudioStreamPropertyPhysicalFormat)).unwrap().mSampleRate, 96_000.0);
    // The engine sees a new generation at the new rate.
    let f = await_new_generation(&mut reader, ch);
    assert_eq!(f.sample_rate, 96_000.0);
    assert_ne!(f.generation, g0);
    // New seed: a real discontinuity.
    let (s, _, seed1) = d.get_zero_time_stamp(DEV, 0).unwrap();
    assert_eq!((s, seed1), (0.0, seed0 + 1));
    // IO restarts at the new rate; frames arrive bit-exact.
    let dev2 = d.find_device().unwrap();
    assert_eq!(dev2.sample_rate, 96_000.0);
    let mut io = IoRunner::new(&d, dev2, 512, 1e9).unwrap();
    io.start_io().unwrap();
    let mut t = 0u64;
    for n in [512usize, 100, 777] {
        io.do_write_mix_cycle(t as f64, t, &block(t, n, ch)).unwrap();
        assert!(read_exact(&mut reader, n, ch) == block(t, n, ch));
        t += n as u64;
    }
    io.stop_io().unwrap();
    assert_eq!(reader.writer_state().unwrap().zts_seed, seed0 + 1);
}

#[test]
fn stream_format_and_rate_requests_are_validated() {
    let (d, host, _name) = loaded();
    let set_rate =
        |r: f64| status(d.set_property_data(DEV, &g(kAudioDevicePropertyNominalSampleRate), &[], &r.to_ne_bytes()));
    assert_eq!(set_rate(48_000.0), 0, "the current rate: no-op");
    assert!(host.pending_config_changes().is_empty());
    assert_eq!(set_rate(22_050.0), kAudioHardwareIllegalOperationError);
    assert_eq!(set_rate(f64::NAN), kAudioHardwareIllegalOperationError);
    assert_eq!(
        status(d.set_property_data(DEV, &g(kAudioDevicePropertyNominalSampleRate), &[], &[0u8; 4])),
        kAudioHardwareBadPropertySizeError
    );
    let fmt = d.get_asbd(STREAM, &g(kAudioStreamPropertyVirtualFormat)).unwrap();
    let as_bytes = |f: &AudioStreamBasicDescription| {
        // SAFETY: ASBD is a padding-free POD of 40 bytes.
        unsafe {
            std::slice::from_raw_parts(f as *const _ as *const u8, std::mem::size_of::<AudioStreamBasicDescription>())
        }
        .to_vec()
    };
    let set_fmt =
        |sel: u32, f: &AudioStreamBasicDescription| status(d.set_property_data(STREAM, &g(sel), &[], &as_bytes(f)));
    let mut wrong = fmt;
    wrong.mChannelsPerFrame += 1;
    wrong.mBytesPerFrame += 4;
    wrong.mBytesPerPacket += 4;
    assert_eq!(set_fmt(kAudioStreamPropertyVirtualFormat, &wrong), kAudioDeviceUnsupportedFormatError);
    let mut int16 = fmt;
    int16.mFormatFlags = kAudioFormatFlagIsSignedInteger | kAudioFormatFlagIsPacked;
    int16.mBitsPerChannel = 16;
    assert_eq!(set_fmt(kAudioStreamPropertyPhysicalFormat, &int16), kAudioDeviceUnsupportedFormatError);
    let mut odd_rate = fmt;
    odd_rate.mSampleRate = 8_000.0;
    assert_eq!(set_fmt(kAudioStreamPropertyVirtualFormat, &odd_rate), kAudioDeviceUnsupportedFormatError);
    assert_eq!(
        status(d.set_property_data(STREAM, &g(kAudioStreamPropertyVirtualFormat), &[], &[0u8; 39])),
        kAudioHardwareBadPropertySizeError
    );
    assert!(host.pending_config_changes().is_empty());
    // A valid format at another rate requests the change; Abort leaves everything as is.
    let mut f441 = fmt;
    f441.mSampleRate = 44_100.0;
    assert_eq!(set_fmt(kAudioStreamPropertyPhysicalFormat, &f441), 0);
    let reqs = host.take_config_changes();
    assert_eq!(reqs.len(), 1);
    d.abort_configuration_change(DEV, reqs[0].action, reqs[0].info).unwrap();
    assert_eq!(d.get_f64(DEV, &g(kAudioDevicePropertyNominalSampleRate)).unwrap(), 48_000.0);
    d.perform_configuration_change(DEV, reqs[0].action, reqs[0].info).unwrap();
    assert_eq!(d.get_asbd(STREAM, &g(kAudioStreamPropertyPhysicalFormat)).unwrap().mSampleRate, 44_100.0);
    // Performing the current rate again changes nothing and notifies nothing.
    host.take_notifications();
    d.perform_configuration_change(DEV, 44_100, 0).unwrap();
    assert!(host.take_notifications().is_empty());
}

/// IO at every rate: bit-exact delivery, gaps as counted silence, overlaps dropped.
fn io_at_every_rate(path: &Path, channels: u32) {
    let name = Name::new("c");
    let d = load_from(path, &name, Arc::new(Host::new()), None);
    let ch = channels as usize;
    let mut reader = Reader::attach(&name.0, &AttachOptions::default()).expect("attach");
    assert_eq!(reader.format().channels, channels);
    for &rate in bundle::AVAILABLE_SAMPLE_RATES.iter().rev() {
        if d.get_f64(DEV, &g(kAudioDevicePropertyNominalSampleRate)).unwrap() != rate {
            d.perform_configuration_change(DEV, rate as u64, 0).unwrap();
            assert_eq!(await_new_generation(&mut reader, ch).sample_rate, rate);
        }
        let dev: DeviceInfo = d.find_device().unwrap();
        assert_eq!((dev.sample_rate, dev.channels), (rate, channels));
        let before = reader.writer_counters();
        let mut io = IoRunner::new(&d, dev, 512, 1e9).unwrap();
        io.start_io().unwrap();
        let _ = reader.read(&mut []).unwrap();
        // Contiguous cycles of odd sizes.
        let mut t = 0u64;
        for n in [512usize, 333, 1000] {
            io.do_write_mix_cycle(t as f64, t, &block(t, n, ch)).unwrap();
            assert!(read_exact(&mut reader, n, ch) == block(t, n, ch), "rate {rate}");
            t += n as u64;
        }
        // A gap of 100 frames: silence.
        io.do_write_mix_cycle((t + 100) as f64, t, &block(t + 100, 200, ch)).unwrap();
        let got = read_exact(&mut reader, 300, ch);
        assert!(got[..100 * ch].iter().all(|&x| x == 0.0));
        assert!(got[100 * ch..] == block(t + 100, 200, ch)[..]);
        t += 300;
        // An overlap of 50 frames: dropped.
        io.do_write_mix_cycle((t - 50) as f64, t, &block(t - 50, 150, ch)).unwrap();
        assert!(read_exact(&mut reader, 100, ch) == block(t, 100, ch));
        io.stop_io().unwrap();
        let c = reader.writer_counters();
        assert_eq!((c.gap_events - before.gap_events, c.gap_frames - before.gap_frames), (1, 100), "rate {rate}");
        assert_eq!(
            (c.overlap_events - before.overlap_events, c.overlap_frames - before.overlap_frames),
            (1, 50),
            "rate {rate}"
        );
    }
}

#[test]
fn io_at_every_rate_default_build() {
    io_at_every_rate(bundle::bundle_path(), bundle::CHANNELS);
}

#[test]
fn io_at_every_rate_eight_channel_build() {
    let name = Name::new("c");
    let d = load_from(bundle::wide_bundle_path(), &name, Arc::new(Host::new()), None);
    let layout: Vec<u32> = d.get_pod_array(DEV, &AudioObjectPropertyAddress::new(K_CHANNEL_LAYOUT, OUTP), &[]).unwrap();
    assert_eq!(layout[2], bundle::WIDE_CHANNELS);
    let labels: Vec<u32> = layout[3..].chunks(5).map(|c| c[0]).collect();
    assert_eq!(labels, (1..=8).collect::<Vec<u32>>());
    drop(d);
    io_at_every_rate(bundle::wide_bundle_path(), bundle::WIDE_CHANNELS);
}

// ---- the steerable clock -------------------------------------------------------------------

/// Reader segment offset of GeckoShmReaderControl.clock_adjust_ppm; writer segment
/// offset of GeckoShmWriterState.clock_adjust_ppm (gecko_shm_abi.h).
const READER_CLOCK_ADJUST: usize = gecko_ring::abi::off::CLOCK_ADJUST_PPM;
const WRITER_CLOCK_ADJUST: usize = std::mem::offset_of!(gecko_ring::abi::WriterSegment, state.clock_adjust_ppm);

#[test]
fn clock_follows_the_engine_within_limits_and_ignores_garbage() {
    let name = Name::new("c");
    let clock = SimulatedClock::new(1_000_000_000, 1e9);
    let d = load_from(bundle::bundle_path(), &name, Arc::new(Host::new()), Some(&clock));
    let dev = d.find_device().unwrap();
    let period = dev.zero_timestamp_period as f64;
    let nominal = 1e9 / dev.sample_rate * period; // host ticks per period
    let reader = Reader::attach(&name.0, &AttachOptions::default()).expect("attach");
    // We are the engine: we write clock_adjust_ppm into our reader segment
    // and read the value the driver applies from its segment.
    let rd = ShmMap::open(&format!("{}.rd", name.0), true).expect("reader segment");
    let wr = ShmMap::open(&name.0, false).expect("writer segment");
    let request = |ppm: f64| rd.word64(READER_CLOCK_ADJUST).store(ppm.to_bits(), Ordering::Relaxed);
    let request_bits = |bits: u64| rd.word64(READER_CLOCK_ADJUST).store(bits, Ordering::Relaxed);
    let applied = || f64::from_bits(wr.word64(WRITER_CLOCK_ADJUST).load(Ordering::Relaxed));

    let stable = || d.get_u32(DEV, &g(kAudioDevicePropertyClockIsStable)).unwrap();
    // The stamps are computed, not measured: the HAL is told to use them as they are.
    assert_eq!(d.get_u32(DEV, &g(kAudioDevicePropertyClockAlgorithm)).unwrap(), K_CLOCK_ALGORITHM_RAW);

    let mut io = IoRunner::new(&d, dev.clone(), 512, 1e9).unwrap();
    io.start_io().unwrap();
    // The host clock runs far ahead: every call advances exactly one period.
    clock.set(u64::MAX / 4);
    let mut check =
        ZeroTimeStampCheck::new(dev.zero_timestamp_period, 1e9 / dev.sample_rate).with_rate_tolerance_ppm(10_001.0);
    let mut last = d.get_zero_time_stamp(DEV, 0).unwrap();
    check.observe(last.0, last.1, last.2);
    let mut last_applied = applied();
    let silence = vec![0.0f32; 512 * dev.channels as usize];
    let mut mixed = 0u64;
    // One period, as an IO cycle of the HAL: a WriteMix (the IO thread reads the
    // engine's request there), then GetZeroTimeStamp (the clock applies it at the
    // period boundary). Returns (host ticks of the period just closed, applied ppm now).
    let mut step = |check: &mut ZeroTimeStampCheck| -> (f64, f64) {
        io.do_write_mix_cycle(mixed as f64, u64::MAX / 4, &silence).unwrap();
        mixed += 512;
        let z = d.get_zero_time_stamp(DEV, 0).unwrap();
        check.observe(z.0, z.1, z.2);
        assert_eq!(z.0, last.0 + period, "one period per call");
        assert!(z.1 > last.1, "host time strictly increases");
        assert_eq!(z.2, last.2, "steering is no discontinuity");
        let dt = (z.1 - last.1) as f64;
        last = z;
        let a = applied();
        assert!(a.is_finite() && a.abs() <= 10_000.0, "applied {a}");
        assert!((a - last_applied).abs() <= 100.0 + 1e-9, "slew {last_applied} -> {a}");
        last_applied = a;
        (dt, a)
    };
    // No request: nominal, and the clock says it is stable.
    let (dt, a) = step(&mut check);
    assert_eq!(a, 0.0);
    assert!((dt - nominal).abs() <= 1.0);
    assert_eq!(stable(), 1, "at nominal the clock is stable");
    // +250 ppm: three slewed steps, then the period is shorter by 250 ppm.
    request(250.0);
    let seq: Vec<f64> = (0..4).map(|_| step(&mut check).1).collect();
    assert_eq!(seq, vec![100.0, 200.0, 250.0, 250.0]);
    assert_eq!(stable(), 0, "a steered clock is not stable");
    let (dt, _) = step(&mut check);
    assert!((dt - nominal / (1.0 + 250e-6)).abs() <= 1.0, "period {dt} ticks");
    // Non-finite requests are ignored: the applied value stays.
    for bits in [f64::NAN.to_bits(), f64::INFINITY.to_bits(), f64::NEG_INFINITY.to_bits(), 0x7FF0_0000_0000_0001] {
        request_bits(bits);
        assert_eq!(step(&mut check).1, 250.0);
    }
    // Huge requests are clamped to ±1 %.
    request(1e300);
    let mut a = 0.0;
    for _ in 0..120 {
        a = step(&mut check).1;
    }
    assert_eq!(a, 10_000.0);
    let (dt, _) = step(&mut check);
    assert!((dt - nominal / 1.01).abs() <= 1.0);
    request(-1e300);
    for _ in 0..250 {
        a = step(&mut check).1;
    }
    assert_eq!(a, -10_000.0);
    // Garbage bit patterns: timestamps stay monotonic, applied stays within limits.
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..2000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        request_bits(x);
        let (dt, _) = step(&mut check);
        assert!(dt >= nominal / 1.0101 && dt <= nominal / 0.9899, "period {dt}");
    }
    // Engine gone (detached): back to nominal, slewed.
    request(0.0);
    for _ in 0..120 {
        step(&mut check);
    }
    request(5000.0);
    drop(reader); // attached_generation = 0: the request is no longer honoured
    for _ in 0..120 {
        a = step(&mut check).1;
    }
    assert_eq!(a, 0.0);
    assert_eq!(stable(), 1, "back at nominal the clock is stable again");
    assert_eq!(check.violations, 0, "{:?}", check.problems);
    io.stop_io().unwrap();
}

#[test]
fn clock_is_nominal_without_an_engine_and_real_time_host_times_track_the_host_clock() {
    let name = Name::new("c");
    let clock = SimulatedClock::new(5_000_000_000, 1e9);
    let d = load_from(bundle::bundle_path(), &name, Arc::new(Host::new()), Some(&clock));
    let dev = d.find_device().unwrap();
    let tpf = 1e9 / dev.sample_rate;
    let mut io = IoRunner::new(&d, dev.clone(), 512, 1e9).unwrap();
    io.start_io().unwrap();
    let mut check = ZeroTimeStampCheck::new(dev.zero_timestamp_period, tpf);
    // The host clock advances one 512-frame buffer per call: the timestamp
    // advances exactly when the clock passes the next period.
    for k in 0..2000u64 {
        let now = 5_000_000_000 + (k as f64 * 512.0 * tpf) as u64;
        clock.set(now);
        let (s, h, seed) = d.get_zero_time_stamp(DEV, 0).unwrap();
        check.observe(s, h, seed);
        assert!(h <= now, "a zero timestamp is never in the future");
        assert!(now - h < (2.0 * dev.zero_timestamp_period as f64 * tpf) as u64, "and never more than two periods old");
    }
    io.stop_io().unwrap();
    assert_eq!(check.violations, 0, "{:?}", check.problems);
    assert!(check.advances >= 60);
}

// ---- the hammer ----------------------------------------------------------------------------

fn proptest_cases() -> u32 {
    std::env::var("GECKO_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(5000)
}

fn any_object() -> impl Strategy<Value = u32> {
    prop_oneof![4 => 0u32..=7, 1 => Just(999u32), 1 => Just(u32::MAX), 1 => any::<u32>()]
}
fn any_selector() -> impl Strategy<Value = u32> {
    prop_oneof![8 => proptest::sample::select(SELECTORS.iter().map(|s| s.0).collect::<Vec<_>>()), 1 => any::<u32>()]
}
fn any_scope() -> impl Strategy<Value = u32> {
    prop_oneof![6 => proptest::sample::select(SCOPES.to_vec()), 1 => any::<u32>()]
}
fn any_element() -> impl Strategy<Value = u32> {
    prop_oneof![6 => Just(0u32), 1 => Just(1u32), 1 => Just(u32::MAX), 1 => any::<u32>()]
}

#[derive(Debug, Clone)]
enum Call {
    Has,
    Settable,
    Size,
    Get,
    Set(Vec<u8>),
}

fn any_call() -> impl Strategy<Value = Call> {
    prop_oneof![
        1 => Just(Call::Has),
        1 => Just(Call::Settable),
        2 => Just(Call::Size),
        6 => Just(Call::Get),
        2 => proptest::collection::vec(any::<u8>(), 0..=64).prop_map(Call::Set),
    ]
}

#[test]
fn hammer_random_calls_never_crash_or_write_out_of_bounds() {
    let (d, host, _name) = loaded();
    let uid = cf::string_create(bundle::DEVICE_UID);
    let uid_q = (uid as usize).to_ne_bytes().to_vec();
    let cfg = ProptestConfig { cases: proptest_cases(), failure_persistence: None, ..ProptestConfig::default() };
    proptest!(cfg, |(obj in any_object(), sel in any_selector(), scope in any_scope(), element in any_element(),
                     size in 0usize..=1024, qual in proptest::collection::vec(any::<u8>(), 0..=64), call in any_call())| {
        let a = addr(sel, scope, element);
        // TranslateUIDToDevice's qualifier is a CFStringRef by contract: give a real one.
        let q: &[u8] = if sel == kAudioPlugInPropertyTranslateUIDToDevice { &uid_q } else { &qual };
        match call {
            Call::Has => { let _ = d.has_property(obj, &a).unwrap(); }
            Call::Settable => { let _ = d.is_property_settable(obj, &a); }
            Call::Size => {
                if let Ok(n) = d.get_property_data_size(obj, &a, q) {
                    prop_assert!(n <= 4096, "size {n}");
                }
            }
            Call::Get => {
                let (st, b) = guarded_get(&d, obj, &a, q, size);
                if st == 0 && b.len() == 8 {
                    // A CFString the caller owns: release it (type_of validates the pointer).
                    let p = usize::from_ne_bytes(b[..8].try_into().unwrap()) as *const c_void;
                    if cf::type_of(p) == Some(cf::CF_STRING_TYPE_ID) {
                        cf::release(p);
                    }
                }
            }
            Call::Set(data) => {
                let _ = d.set_property_data(obj, &a, q, &data);
            }
        }
    });
    // Whatever was requested, performing it is safe (IO is not running).
    let _ = d.perform_pending_configuration_changes();
    let _ = host.take_notifications();
    cf::release(uid);
    // The device still answers sensibly.
    let info = d.find_device().unwrap();
    assert!(bundle::AVAILABLE_SAMPLE_RATES.contains(&info.sample_rate));
    assert_eq!(info.channels, bundle::CHANNELS);
}

/// Honest latency: the fill level the engine holds after the ring, published
/// in its reader segment (`latency_frames`), becomes Gecko Sink's
/// `kAudioDevicePropertyLatency` through the HAL's configuration-change flow
/// (AudioServerPlugIn.h: latency changes go through
/// RequestDeviceConfigurationChange): a change of more than 5 ms is requested
/// and applied in PerformDeviceConfigurationChange; a smaller one, or a value
/// beyond `GECKO_SHM_MAX_LATENCY_FRAMES`, is not.
#[test]
fn the_engine_latency_becomes_the_device_latency_through_the_config_change_flow() {
    let (d, host, name) = loaded();
    let lat = addr(kAudioDevicePropertyLatency, OUTP, kAudioObjectPropertyElementMain);
    assert_eq!(d.get_u32(DEV, &lat).unwrap(), 0, "no engine: nothing after the ring");
    d.start_io(DEV, 0).unwrap(); // the driver watches its engine while IO runs
    let mut r = Reader::attach(&name.0, &AttachOptions::default()).expect("attach as the engine does");
    let requested = |what: &str| -> Vec<u64> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
        while host.pending_config_changes().is_empty() {
            assert!(std::time::Instant::now() < deadline, "{what}: no configuration change requested");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        host.pending_config_changes().iter().map(|c| c.action).collect()
    };
    let quiet_for = |secs: f64| {
        std::thread::sleep(std::time::Duration::from_secs_f64(secs));
        host.pending_config_changes()
    };
    const LATENCY_ACTION: u64 = 1 << 32;

    r.set_latency_frames(960); // 20 ms at 48 kHz
    assert_eq!(requested("960 frames"), vec![LATENCY_ACTION + 960]);
    assert_eq!(d.get_u32(DEV, &lat).unwrap(), 0, "applied only when the host performs the change");
    assert_eq!(d.perform_pending_configuration_changes().unwrap(), 1);
    assert_eq!(d.get_u32(DEV, &lat).unwrap(), 960);

    r.set_latency_frames(1000); // 0.8 ms more: not worth an IO restart
    assert!(quiet_for(1.2).is_empty(), "a change under 5 ms was requested");

    // A hostile or corrupt value in the engine's segment is ignored.
    let rd = ShmMap::open(&format!("{}.rd", name.0), true).expect("the engine's segment");
    rd.word32(gecko_ring::abi::off::LATENCY_FRAMES).store(u32::MAX, Ordering::Relaxed);
    assert!(quiet_for(1.2).is_empty(), "an absurd latency was requested");

    r.set_latency_frames(4800); // 100 ms
    assert_eq!(requested("4800 frames"), vec![LATENCY_ACTION + 4800]);
    assert_eq!(d.perform_pending_configuration_changes().unwrap(), 1);
    assert_eq!(d.get_u32(DEV, &lat).unwrap(), 4800);
    // The driver validates what a (bad) host passes back too.
    assert_ne!(status(d.perform_configuration_change(DEV, LATENCY_ACTION + (1 << 30), 0)), 0);
    assert_eq!(d.get_u32(DEV, &lat).unwrap(), 4800);
    d.stop_io(DEV, 0).unwrap();
}
