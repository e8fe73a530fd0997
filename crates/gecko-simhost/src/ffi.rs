//! `#[repr(C)]` mirrors of the AudioServerPlugIn ABI and the constants the
//! host uses.
//!
//! Sources: Apple's `CoreAudio/AudioServerPlugIn.h` (driver and host
//! interfaces, IO cycle info, IO operation IDs, UUIDs),
//! `CoreAudio/AudioHardwareBase.h` (property address, selectors, scopes,
//! error codes), `CoreAudioTypes/CoreAudioTypes.h` (AudioTimeStamp,
//! SMPTETime, AudioStreamBasicDescription, AudioValueRange, format IDs and
//! flags), `CoreFoundation/CFPlugInCOM.h` (HRESULT values: CFPlugIn's own,
//! not Windows'), and the driver's `gecko_sim.h`.

#![allow(non_upper_case_globals, non_snake_case)]
// Each item keeps Apple's name and layout one-to-one; its documentation is
// the header named above (the groups below say which), not a restatement.
#![allow(missing_docs)]

use crate::cf::{Boolean, CFStringRef, CFUUIDBytes};
use std::ffi::{c_char, c_void};

/// `OSStatus` (MacTypes.h).
pub type OSStatus = i32;
/// `HRESULT` (CFPlugInCOM.h): `SInt32`.
pub type HRESULT = i32;
/// `ULONG` (CFPlugInCOM.h): `UInt32`.
pub type ULONG = u32;
/// `REFIID` (CFPlugInCOM.h): `CFUUIDBytes` passed by value.
pub type REFIID = CFUUIDBytes;
/// `AudioObjectID` (AudioHardwareBase.h).
pub type AudioObjectID = u32;
/// `pid_t`.
pub type Pid = libc::pid_t;

/// Builds a four-char code the way C's `'abcd'` literal does (big-endian).
pub const fn fourcc(s: &[u8; 4]) -> u32 {
    ((s[0] as u32) << 24) | ((s[1] as u32) << 16) | ((s[2] as u32) << 8) | (s[3] as u32)
}

/// Renders a four-char code (or a decimal number if it is not printable).
pub fn fourcc_str(v: u32) -> String {
    let b = v.to_be_bytes();
    if b.iter().all(|c| (0x20..0x7f).contains(c)) {
        format!("'{}'", b.iter().map(|&c| c as char).collect::<String>())
    } else {
        format!("{}", v as i32)
    }
}

// ---- CFPlugInCOM.h --------------------------------------------------------

/// `S_OK`.
pub const S_OK: HRESULT = 0;
/// `E_NOINTERFACE` (CFPlugInCOM.h: 0x80000004, not Windows' 0x80004002).
pub const E_NOINTERFACE: HRESULT = 0x8000_0004u32 as i32;
/// `IUnknownUUID` 00000000-0000-0000-C000-000000000046 (CFPlugInCOM.h).
pub const IUNKNOWN_UUID: [u8; 16] = [0, 0, 0, 0, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46];

// ---- AudioServerPlugIn.h --------------------------------------------------

/// `kAudioServerPlugInTypeUUID` 443ABAB8-E7B3-491A-B985-BEB9187030DB.
pub const kAudioServerPlugInTypeUUID: [u8; 16] =
    [0x44, 0x3A, 0xBA, 0xB8, 0xE7, 0xB3, 0x49, 0x1A, 0xB9, 0x85, 0xBE, 0xB9, 0x18, 0x70, 0x30, 0xDB];
/// `kAudioServerPlugInDriverInterfaceUUID` EEA5773D-CC43-49F1-8E00-8F96E7D23B17.
pub const kAudioServerPlugInDriverInterfaceUUID: [u8; 16] =
    [0xEE, 0xA5, 0x77, 0x3D, 0xCC, 0x43, 0x49, 0xF1, 0x8E, 0x00, 0x8F, 0x96, 0xE7, 0xD2, 0x3B, 0x17];

/// `kAudioObjectPlugInObject`.
pub const kAudioObjectPlugInObject: AudioObjectID = 1;
/// `kAudioObjectUnknown` (AudioHardwareBase.h).
pub const kAudioObjectUnknown: AudioObjectID = 0;
/// `kAudioServerPlugInHostClientID`.
pub const kAudioServerPlugInHostClientID: u32 = 0;

/// IO operation IDs (`AudioServerPlugInIOOperation`).
pub const kAudioServerPlugInIOOperationThread: u32 = fourcc(b"thrd");
pub const kAudioServerPlugInIOOperationCycle: u32 = fourcc(b"cycl");
pub const kAudioServerPlugInIOOperationReadInput: u32 = fourcc(b"read");
pub const kAudioServerPlugInIOOperationConvertInput: u32 = fourcc(b"cinp");
pub const kAudioServerPlugInIOOperationProcessInput: u32 = fourcc(b"pinp");
pub const kAudioServerPlugInIOOperationProcessOutput: u32 = fourcc(b"pout");
pub const kAudioServerPlugInIOOperationMixOutput: u32 = fourcc(b"mixo");
pub const kAudioServerPlugInIOOperationProcessMix: u32 = fourcc(b"pmix");
pub const kAudioServerPlugInIOOperationConvertMix: u32 = fourcc(b"cmix");
pub const kAudioServerPlugInIOOperationWriteMix: u32 = fourcc(b"rite");

/// Every IO operation, in the order the HAL asks about them.
pub const ALL_IO_OPERATIONS: [u32; 10] = [
    kAudioServerPlugInIOOperationThread,
    kAudioServerPlugInIOOperationCycle,
    kAudioServerPlugInIOOperationReadInput,
    kAudioServerPlugInIOOperationConvertInput,
    kAudioServerPlugInIOOperationProcessInput,
    kAudioServerPlugInIOOperationProcessOutput,
    kAudioServerPlugInIOOperationMixOutput,
    kAudioServerPlugInIOOperationProcessMix,
    kAudioServerPlugInIOOperationConvertMix,
    kAudioServerPlugInIOOperationWriteMix,
];

// Selectors from AudioServerPlugIn.h.
pub const kAudioObjectPropertyCustomPropertyInfoList: u32 = fourcc(b"cust");
pub const kAudioPlugInPropertyResourceBundle: u32 = fourcc(b"rsrc");
pub const kAudioDevicePropertyZeroTimeStampPeriod: u32 = fourcc(b"ring");
pub const kAudioDevicePropertyClockAlgorithm: u32 = fourcc(b"clok");
pub const kAudioDevicePropertyClockIsStable: u32 = fourcc(b"cstb");

// ---- AudioHardwareBase.h --------------------------------------------------

/// Error codes (`OSStatus`).
pub const kAudioHardwareNoError: OSStatus = 0;
pub const kAudioHardwareNotRunningError: OSStatus = fourcc(b"stop") as i32;
pub const kAudioHardwareUnspecifiedError: OSStatus = fourcc(b"what") as i32;
pub const kAudioHardwareUnknownPropertyError: OSStatus = fourcc(b"who?") as i32;
pub const kAudioHardwareBadPropertySizeError: OSStatus = fourcc(b"!siz") as i32;
pub const kAudioHardwareIllegalOperationError: OSStatus = fourcc(b"nope") as i32;
pub const kAudioHardwareBadObjectError: OSStatus = fourcc(b"!obj") as i32;
pub const kAudioHardwareBadDeviceError: OSStatus = fourcc(b"!dev") as i32;
pub const kAudioHardwareBadStreamError: OSStatus = fourcc(b"!str") as i32;
pub const kAudioHardwareUnsupportedOperationError: OSStatus = fourcc(b"unop") as i32;
pub const kAudioHardwareNotReadyError: OSStatus = fourcc(b"nrdy") as i32;
pub const kAudioDeviceUnsupportedFormatError: OSStatus = fourcc(b"!dat") as i32;
pub const kAudioDevicePermissionsError: OSStatus = fourcc(b"!hog") as i32;

/// Scopes and elements.
pub const kAudioObjectPropertyScopeGlobal: u32 = fourcc(b"glob");
pub const kAudioObjectPropertyScopeInput: u32 = fourcc(b"inpt");
pub const kAudioObjectPropertyScopeOutput: u32 = fourcc(b"outp");
pub const kAudioObjectPropertyScopePlayThrough: u32 = fourcc(b"ptru");
pub const kAudioObjectPropertyScopeWildcard: u32 = fourcc(b"****");
pub const kAudioObjectPropertyElementMain: u32 = 0;
pub const kAudioObjectPropertyElementWildcard: u32 = 0xFFFF_FFFF;
pub const kAudioObjectPropertySelectorWildcard: u32 = fourcc(b"****");

/// Class IDs.
pub const kAudioObjectClassID: u32 = fourcc(b"aobj");
pub const kAudioPlugInClassID: u32 = fourcc(b"aplg");
pub const kAudioDeviceClassID: u32 = fourcc(b"adev");
pub const kAudioStreamClassID: u32 = fourcc(b"astr");
pub const kAudioVolumeControlClassID: u32 = fourcc(b"vlme");
pub const kAudioMuteControlClassID: u32 = fourcc(b"mute");

/// AudioObject properties.
pub const kAudioObjectPropertyBaseClass: u32 = fourcc(b"bcls");
pub const kAudioObjectPropertyClass: u32 = fourcc(b"clas");
pub const kAudioObjectPropertyOwner: u32 = fourcc(b"stdv");
pub const kAudioObjectPropertyName: u32 = fourcc(b"lnam");
pub const kAudioObjectPropertyModelName: u32 = fourcc(b"lmod");
pub const kAudioObjectPropertyManufacturer: u32 = fourcc(b"lmak");
pub const kAudioObjectPropertyOwnedObjects: u32 = fourcc(b"ownd");
pub const kAudioObjectPropertyControlList: u32 = fourcc(b"ctrl");

/// AudioPlugIn properties.
pub const kAudioPlugInPropertyBundleID: u32 = fourcc(b"piid");
pub const kAudioPlugInPropertyDeviceList: u32 = fourcc(b"dev#");
pub const kAudioPlugInPropertyTranslateUIDToDevice: u32 = fourcc(b"uidd");
pub const kAudioPlugInPropertyBoxList: u32 = fourcc(b"box#");

/// AudioDevice properties.
pub const kAudioDevicePropertyDeviceUID: u32 = fourcc(b"uid ");
pub const kAudioDevicePropertyModelUID: u32 = fourcc(b"muid");
pub const kAudioDevicePropertyTransportType: u32 = fourcc(b"tran");
pub const kAudioDevicePropertyRelatedDevices: u32 = fourcc(b"akin");
pub const kAudioDevicePropertyClockDomain: u32 = fourcc(b"clkd");
pub const kAudioDevicePropertyDeviceIsAlive: u32 = fourcc(b"livn");
pub const kAudioDevicePropertyDeviceIsRunning: u32 = fourcc(b"goin");
pub const kAudioDevicePropertyDeviceCanBeDefaultDevice: u32 = fourcc(b"dflt");
pub const kAudioDevicePropertyDeviceCanBeDefaultSystemDevice: u32 = fourcc(b"sflt");
pub const kAudioDevicePropertyLatency: u32 = fourcc(b"ltnc");
pub const kAudioDevicePropertyStreams: u32 = fourcc(b"stm#");
pub const kAudioDevicePropertySafetyOffset: u32 = fourcc(b"saft");
pub const kAudioDevicePropertyNominalSampleRate: u32 = fourcc(b"nsrt");
pub const kAudioDevicePropertyAvailableNominalSampleRates: u32 = fourcc(b"nsr#");
pub const kAudioDevicePropertyIsHidden: u32 = fourcc(b"hidn");
pub const kAudioDevicePropertyPreferredChannelsForStereo: u32 = fourcc(b"dch2");

/// AudioStream properties.
pub const kAudioStreamPropertyIsActive: u32 = fourcc(b"sact");
pub const kAudioStreamPropertyDirection: u32 = fourcc(b"sdir");
pub const kAudioStreamPropertyTerminalType: u32 = fourcc(b"term");
pub const kAudioStreamPropertyStartingChannel: u32 = fourcc(b"schn");
pub const kAudioStreamPropertyLatency: u32 = fourcc(b"ltnc");
pub const kAudioStreamPropertyVirtualFormat: u32 = fourcc(b"sfmt");
pub const kAudioStreamPropertyAvailableVirtualFormats: u32 = fourcc(b"sfma");
pub const kAudioStreamPropertyPhysicalFormat: u32 = fourcc(b"pft ");
pub const kAudioStreamPropertyAvailablePhysicalFormats: u32 = fourcc(b"pfta");

/// Level / boolean control properties.
pub const kAudioLevelControlPropertyScalarValue: u32 = fourcc(b"lcsv");
pub const kAudioLevelControlPropertyDecibelValue: u32 = fourcc(b"lcdv");
pub const kAudioLevelControlPropertyDecibelRange: u32 = fourcc(b"lcdr");
pub const kAudioBooleanControlPropertyValue: u32 = fourcc(b"bcvl");

// ---- CoreAudioTypes.h -----------------------------------------------------

/// `kAudioFormatLinearPCM`.
pub const kAudioFormatLinearPCM: u32 = fourcc(b"lpcm");
pub const kAudioFormatFlagIsFloat: u32 = 1 << 0;
pub const kAudioFormatFlagIsBigEndian: u32 = 1 << 1;
pub const kAudioFormatFlagIsSignedInteger: u32 = 1 << 2;
pub const kAudioFormatFlagIsPacked: u32 = 1 << 3;
pub const kAudioFormatFlagIsNonInterleaved: u32 = 1 << 5;
/// `kAudioTimeStampSampleTimeValid`, `…HostTimeValid`, `…RateScalarValid`.
pub const kAudioTimeStampSampleTimeValid: u32 = 1 << 0;
pub const kAudioTimeStampHostTimeValid: u32 = 1 << 1;
pub const kAudioTimeStampRateScalarValid: u32 = 1 << 2;

/// `AudioObjectPropertyAddress` (12 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AudioObjectPropertyAddress {
    pub mSelector: u32,
    pub mScope: u32,
    pub mElement: u32,
}

impl AudioObjectPropertyAddress {
    /// An address on the main element.
    pub const fn new(selector: u32, scope: u32) -> Self {
        Self { mSelector: selector, mScope: scope, mElement: kAudioObjectPropertyElementMain }
    }
    /// A global-scope address on the main element.
    pub const fn global(selector: u32) -> Self {
        Self::new(selector, kAudioObjectPropertyScopeGlobal)
    }
}

/// `SMPTETime` (24 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SMPTETime {
    pub mSubframes: i16,
    pub mSubframeDivisor: i16,
    pub mCounter: u32,
    pub mType: u32,
    pub mFlags: u32,
    pub mHours: i16,
    pub mMinutes: i16,
    pub mSeconds: i16,
    pub mFrames: i16,
}

/// `AudioTimeStamp` (64 bytes). Sample time in frames, host time in host ticks.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct AudioTimeStamp {
    pub mSampleTime: f64,
    pub mHostTime: u64,
    pub mRateScalar: f64,
    pub mWordClockTime: u64,
    pub mSMPTETime: SMPTETime,
    pub mFlags: u32,
    pub mReserved: u32,
}

/// `AudioStreamBasicDescription` (40 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct AudioStreamBasicDescription {
    pub mSampleRate: f64,
    pub mFormatID: u32,
    pub mFormatFlags: u32,
    pub mBytesPerPacket: u32,
    pub mFramesPerPacket: u32,
    pub mBytesPerFrame: u32,
    pub mChannelsPerFrame: u32,
    pub mBitsPerChannel: u32,
    pub mReserved: u32,
}

/// `AudioValueRange` (16 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct AudioValueRange {
    pub mMinimum: f64,
    pub mMaximum: f64,
}

/// `AudioStreamRangedDescription` (56 bytes, AudioHardwareBase.h).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct AudioStreamRangedDescription {
    pub mFormat: AudioStreamBasicDescription,
    pub mSampleRateRange: AudioValueRange,
}

/// `AudioServerPlugInClientInfo` (24 bytes on LP64).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct AudioServerPlugInClientInfo {
    pub mClientID: u32,
    pub mProcessID: Pid,
    pub mIsNativeEndian: Boolean,
    pub mBundleID: CFStringRef,
}

/// `AudioServerPlugInIOCycleInfo` (224 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct AudioServerPlugInIOCycleInfo {
    pub mIOCycleCounter: u64,
    pub mNominalIOBufferFrameSize: u32,
    pub mCurrentTime: AudioTimeStamp,
    pub mInputTime: AudioTimeStamp,
    pub mOutputTime: AudioTimeStamp,
    /// `mMainHostTicksPerFrame` (union with the deprecated `mMasterHostTicksPerFrame`).
    pub mMainHostTicksPerFrame: f64,
    pub mDeviceHostTicksPerFrame: f64,
}

/// `AudioServerPlugInDriverRef`: pointer to the pointer to the vtable.
pub type AudioServerPlugInDriverRef = *mut *const AudioServerPlugInDriverInterface;
/// `AudioServerPlugInHostRef`.
pub type AudioServerPlugInHostRef = *const AudioServerPlugInHostInterface;

/// `AudioServerPlugInHostInterface` (5 function pointers; no IUnknown part).
#[repr(C)]
pub struct AudioServerPlugInHostInterface {
    pub PropertiesChanged: Option<
        unsafe extern "C" fn(
            AudioServerPlugInHostRef,
            AudioObjectID,
            u32,
            *const AudioObjectPropertyAddress,
        ) -> OSStatus,
    >,
    pub CopyFromStorage:
        Option<unsafe extern "C" fn(AudioServerPlugInHostRef, CFStringRef, *mut *const c_void) -> OSStatus>,
    pub WriteToStorage: Option<unsafe extern "C" fn(AudioServerPlugInHostRef, CFStringRef, *const c_void) -> OSStatus>,
    pub DeleteFromStorage: Option<unsafe extern "C" fn(AudioServerPlugInHostRef, CFStringRef) -> OSStatus>,
    pub RequestDeviceConfigurationChange:
        Option<unsafe extern "C" fn(AudioServerPlugInHostRef, AudioObjectID, u64, *mut c_void) -> OSStatus>,
}

type D = AudioServerPlugInDriverRef;
type Info = *const AudioServerPlugInIOCycleInfo;
type Addr = *const AudioObjectPropertyAddress;

/// `AudioServerPlugInDriverInterface`: IUnknown (`_reserved`, QueryInterface,
/// AddRef, Release) followed by the driver entry points, in header order.
#[repr(C)]
pub struct AudioServerPlugInDriverInterface {
    pub _reserved: *mut c_void,
    pub QueryInterface: Option<unsafe extern "C" fn(*mut c_void, REFIID, *mut *mut c_void) -> HRESULT>,
    pub AddRef: Option<unsafe extern "C" fn(*mut c_void) -> ULONG>,
    pub Release: Option<unsafe extern "C" fn(*mut c_void) -> ULONG>,
    pub Initialize: Option<unsafe extern "C" fn(D, AudioServerPlugInHostRef) -> OSStatus>,
    pub CreateDevice: Option<
        unsafe extern "C" fn(D, *const c_void, *const AudioServerPlugInClientInfo, *mut AudioObjectID) -> OSStatus,
    >,
    pub DestroyDevice: Option<unsafe extern "C" fn(D, AudioObjectID) -> OSStatus>,
    pub AddDeviceClient: Option<unsafe extern "C" fn(D, AudioObjectID, *const AudioServerPlugInClientInfo) -> OSStatus>,
    pub RemoveDeviceClient:
        Option<unsafe extern "C" fn(D, AudioObjectID, *const AudioServerPlugInClientInfo) -> OSStatus>,
    pub PerformDeviceConfigurationChange: Option<unsafe extern "C" fn(D, AudioObjectID, u64, *mut c_void) -> OSStatus>,
    pub AbortDeviceConfigurationChange: Option<unsafe extern "C" fn(D, AudioObjectID, u64, *mut c_void) -> OSStatus>,
    pub HasProperty: Option<unsafe extern "C" fn(D, AudioObjectID, Pid, Addr) -> Boolean>,
    pub IsPropertySettable: Option<unsafe extern "C" fn(D, AudioObjectID, Pid, Addr, *mut Boolean) -> OSStatus>,
    pub GetPropertyDataSize:
        Option<unsafe extern "C" fn(D, AudioObjectID, Pid, Addr, u32, *const c_void, *mut u32) -> OSStatus>,
    pub GetPropertyData: Option<
        unsafe extern "C" fn(D, AudioObjectID, Pid, Addr, u32, *const c_void, u32, *mut u32, *mut c_void) -> OSStatus,
    >,
    pub SetPropertyData:
        Option<unsafe extern "C" fn(D, AudioObjectID, Pid, Addr, u32, *const c_void, u32, *const c_void) -> OSStatus>,
    pub StartIO: Option<unsafe extern "C" fn(D, AudioObjectID, u32) -> OSStatus>,
    pub StopIO: Option<unsafe extern "C" fn(D, AudioObjectID, u32) -> OSStatus>,
    pub GetZeroTimeStamp: Option<unsafe extern "C" fn(D, AudioObjectID, u32, *mut f64, *mut u64, *mut u64) -> OSStatus>,
    pub WillDoIOOperation:
        Option<unsafe extern "C" fn(D, AudioObjectID, u32, u32, *mut Boolean, *mut Boolean) -> OSStatus>,
    pub BeginIOOperation: Option<unsafe extern "C" fn(D, AudioObjectID, u32, u32, u32, Info) -> OSStatus>,
    pub DoIOOperation: Option<
        unsafe extern "C" fn(
            D,
            AudioObjectID,
            AudioObjectID,
            u32,
            u32,
            u32,
            Info,
            *mut c_void,
            *mut c_void,
        ) -> OSStatus,
    >,
    pub EndIOOperation: Option<unsafe extern "C" fn(D, AudioObjectID, u32, u32, u32, Info) -> OSStatus>,
}

/// The factory's signature (CFPlugIn.h `CFPlugInFactoryFunction`):
/// `void* (*)(CFAllocatorRef allocator, CFUUIDRef typeUUID)`.
pub type FactoryFn = unsafe extern "C" fn(*const c_void, *const c_void) -> *mut c_void;

// ---- gecko_sim.h ----------------------------------------------------------

/// `GeckoSimHostClockFn`: host time in host ticks; must not block.
pub type GeckoSimHostClockFn = unsafe extern "C" fn(*mut c_void) -> u64;

/// `GeckoSimConfig` (gecko_sim.h).
#[repr(C)]
pub struct GeckoSimConfig {
    /// `sizeof(GeckoSimConfig)`.
    pub struct_size: u32,
    /// NUL-terminated writer-segment name; empty = default.
    pub shm_name: [c_char; 32],
    /// Host clock; `None` = CLOCK_MONOTONIC in ns.
    pub host_clock: Option<GeckoSimHostClockFn>,
    pub host_clock_ctx: *mut c_void,
    /// Ticks per second of `host_clock` (ignored when NULL).
    pub host_ticks_per_second: f64,
    /// Non-zero: the driver never applies clock requests (a driver that
    /// cannot steer); 0 = steering works.
    pub ignore_clock_requests: u32,
    /// Non-zero: every `shm_open` with `O_CREAT` in the driver fails with
    /// EPERM (the plug-in sandbox refusing creation); 0 = allowed.
    pub deny_shm_create: u32,
}

/// `int GeckoSim_Configure(const GeckoSimConfig*)`.
pub type GeckoSimConfigureFn = unsafe extern "C" fn(*const GeckoSimConfig) -> i32;
/// `GECKO_SIM_CONFIGURE_SYMBOL`.
pub const GECKO_SIM_CONFIGURE_SYMBOL: &str = "GeckoSim_Configure";
/// `GECKO_SHM_WRITER_NAME_MAX` (gecko_shm_abi.h): longest writer name in bytes.
pub const GECKO_SHM_WRITER_NAME_MAX: usize = 28;

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    #[test]
    fn sizes_match_apple_lp64() {
        assert_eq!(size_of::<AudioObjectPropertyAddress>(), 12);
        assert_eq!(size_of::<SMPTETime>(), 24);
        assert_eq!(size_of::<AudioTimeStamp>(), 64);
        assert_eq!(size_of::<AudioStreamBasicDescription>(), 40);
        assert_eq!(size_of::<AudioValueRange>(), 16);
        assert_eq!(size_of::<AudioStreamRangedDescription>(), 56);
        assert_eq!(size_of::<AudioServerPlugInClientInfo>(), 24);
        assert_eq!(size_of::<AudioServerPlugInIOCycleInfo>(), 8 + 8 + 3 * 64 + 16);
        assert_eq!(size_of::<AudioServerPlugInHostInterface>(), 5 * 8);
        assert_eq!(size_of::<AudioServerPlugInDriverInterface>(), 23 * 8);
        assert_eq!(size_of::<CFUUIDBytes>(), 16);
        assert_eq!(size_of::<GeckoSimConfig>(), 4 + 32 + 4 + 8 + 8 + 8 + 4 + 4);
    }

    #[test]
    fn offsets_match_apple_lp64() {
        assert_eq!(offset_of!(AudioTimeStamp, mHostTime), 8);
        assert_eq!(offset_of!(AudioTimeStamp, mSMPTETime), 32);
        assert_eq!(offset_of!(AudioTimeStamp, mFlags), 56);
        assert_eq!(offset_of!(SMPTETime, mHours), 16);
        assert_eq!(offset_of!(AudioServerPlugInIOCycleInfo, mNominalIOBufferFrameSize), 8);
        assert_eq!(offset_of!(AudioServerPlugInIOCycleInfo, mCurrentTime), 16);
        assert_eq!(offset_of!(AudioServerPlugInIOCycleInfo, mInputTime), 80);
        assert_eq!(offset_of!(AudioServerPlugInIOCycleInfo, mOutputTime), 144);
        assert_eq!(offset_of!(AudioServerPlugInIOCycleInfo, mMainHostTicksPerFrame), 208);
        assert_eq!(offset_of!(AudioServerPlugInIOCycleInfo, mDeviceHostTicksPerFrame), 216);
        assert_eq!(offset_of!(AudioServerPlugInClientInfo, mIsNativeEndian), 8);
        assert_eq!(offset_of!(AudioServerPlugInClientInfo, mBundleID), 16);
        assert_eq!(offset_of!(AudioStreamBasicDescription, mChannelsPerFrame), 28);
        assert_eq!(offset_of!(AudioServerPlugInDriverInterface, Initialize), 4 * 8);
        assert_eq!(offset_of!(AudioServerPlugInDriverInterface, HasProperty), 11 * 8);
        assert_eq!(offset_of!(AudioServerPlugInDriverInterface, StartIO), 16 * 8);
        assert_eq!(offset_of!(AudioServerPlugInDriverInterface, EndIOOperation), 22 * 8);
        assert_eq!(offset_of!(AudioServerPlugInHostInterface, RequestDeviceConfigurationChange), 4 * 8);
        assert_eq!(offset_of!(GeckoSimConfig, shm_name), 4);
        assert_eq!(offset_of!(GeckoSimConfig, host_clock), 40);
        assert_eq!(offset_of!(GeckoSimConfig, host_clock_ctx), 48);
        assert_eq!(offset_of!(GeckoSimConfig, host_ticks_per_second), 56);
        assert_eq!(offset_of!(GeckoSimConfig, ignore_clock_requests), 64);
        assert_eq!(offset_of!(GeckoSimConfig, deny_shm_create), 68);
    }

    #[test]
    fn four_char_codes() {
        assert_eq!(kAudioHardwareBadPropertySizeError, 561211770);
        assert_eq!(kAudioHardwareUnknownPropertyError, 2003332927);
        assert_eq!(kAudioHardwareBadObjectError, 560947818);
        assert_eq!(kAudioObjectPropertyScopeGlobal, 0x676c6f62);
        assert_eq!(kAudioServerPlugInIOOperationWriteMix, 0x72697465);
        assert_eq!(fourcc_str(kAudioDevicePropertyDeviceUID), "'uid '");
        assert_eq!(E_NOINTERFACE as u32, 0x8000_0004);
    }
}
