/*
 * gecko_coreaudio_compat.h — the Apple types, constants and CoreFoundation
 * functions the Gecko driver uses, for builds without Apple's SDK.
 *
 * A macOS build with Apple's SDK includes <CoreAudio/AudioServerPlugIn.h>
 * instead (see driver/src/gecko_platform.h). The one Apple build allowed to use
 * this header is the Linux-hosted macOS cross-build
 * (scripts/build-macos-driver.sh), which has no Apple SDK and says so with
 * -DGECKO_USE_COMPAT_HEADERS=1; there the CoreFoundation functions below are
 * bound two-level to /System/Library/Frameworks/CoreFoundation.framework
 * (scripts/macos/CoreFoundation.tbd) and the layouts are the same because both
 * Mac architectures (arm64, x86_64) are LP64 little-endian.
 *
 * Every value and layout below was checked against the text of Apple's public
 * headers (macOS SDK): CoreAudio/AudioServerPlugIn.h, CoreAudio/AudioHardwareBase.h,
 * CoreAudioTypes/CoreAudioBaseTypes.h (formerly CoreAudio/CoreAudioTypes.h),
 * CoreFoundation/CFPlugInCOM.h and CoreFoundation/CFUUID.h. It declares only
 * what the driver uses; it is not a general replacement for those headers.
 *
 * Layouts assume an LP64 target (x86_64 / arm64), as on every Mac the driver
 * ships for; the _Static_asserts at the end enforce the sizes.
 *
 * CoreFoundation: on Linux the simulated coreaudiod host implements these CF
 * functions and exports them from its executable; the driver's shared object
 * leaves them undefined and the dynamic loader binds them at load time.
 */
#ifndef GECKO_COREAUDIO_COMPAT_H
#define GECKO_COREAUDIO_COMPAT_H

#if defined(__APPLE__) && !(defined(GECKO_USE_COMPAT_HEADERS) && GECKO_USE_COMPAT_HEADERS)
#error "on macOS with Apple's SDK include <CoreAudio/AudioServerPlugIn.h>; this header needs -DGECKO_USE_COMPAT_HEADERS=1 there"
#endif

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h> /* pid_t */

#ifdef __cplusplus
extern "C" {
#endif

/* ---- MacTypes.h scalar types ------------------------------------------- */

typedef uint8_t  UInt8;
typedef int16_t  SInt16;
typedef uint16_t UInt16;
typedef int32_t  SInt32;
typedef uint32_t UInt32;
typedef int64_t  SInt64;
typedef uint64_t UInt64;
typedef float    Float32;
typedef double   Float64;
/** MacTypes.h: Boolean is an unsigned char (1 byte), not C99 bool. */
typedef unsigned char Boolean;
/** MacTypes.h: OSStatus is a signed 32-bit error code; noErr = 0. */
typedef SInt32 OSStatus;
#define noErr ((OSStatus)0)

/** Builds a four-character code ('abcd') as a big-endian-ordered UInt32
 *  without relying on multi-character constants (-Wmultichar). */
#define GECKO_FOURCC(a, b, c, d) \
    ((UInt32)(((UInt32)(UInt8)(a) << 24) | ((UInt32)(UInt8)(b) << 16) | \
              ((UInt32)(UInt8)(c) << 8) | (UInt32)(UInt8)(d)))

/* ---- CoreFoundation (CFBase.h, CFString.h, CFUUID.h) -------------------- */

typedef const void* CFTypeRef;
typedef const struct __CFString* CFStringRef;
typedef const struct __CFUUID* CFUUIDRef;
typedef const struct __CFAllocator* CFAllocatorRef;
typedef const struct __CFDictionary* CFDictionaryRef;
typedef CFTypeRef CFPropertyListRef;
/** CFBase.h: CFTypeID is an unsigned long, CFIndex a signed long. */
typedef unsigned long CFTypeID;
typedef signed long CFIndex;
/** CFString.h: CFStringEncoding is a UInt32. */
typedef UInt32 CFStringEncoding;
/** CFString.h: kCFStringEncodingUTF8 = 0x08000100. */
#define kCFStringEncodingUTF8 ((CFStringEncoding)0x08000100u)
/** CFBase.h: kCFAllocatorDefault is NULL (the default allocator). */
#define kCFAllocatorDefault ((CFAllocatorRef)NULL)

/** CFUUID.h: a raw UUID, 16 single-byte fields, passed BY VALUE as REFIID. */
typedef struct CFUUIDBytes {
    UInt8 byte0;
    UInt8 byte1;
    UInt8 byte2;
    UInt8 byte3;
    UInt8 byte4;
    UInt8 byte5;
    UInt8 byte6;
    UInt8 byte7;
    UInt8 byte8;
    UInt8 byte9;
    UInt8 byte10;
    UInt8 byte11;
    UInt8 byte12;
    UInt8 byte13;
    UInt8 byte14;
    UInt8 byte15;
} CFUUIDBytes;

/* The only CF functions the driver may call: provided by the simulated host on
 * Linux, by CoreFoundation.framework on macOS (each listed in
 * scripts/macos/CoreFoundation.tbd for the cross-build's link). */
CFTypeRef CFRetain(CFTypeRef cf);
void CFRelease(CFTypeRef cf);
Boolean CFEqual(CFTypeRef cf1, CFTypeRef cf2);
CFTypeID CFGetTypeID(CFTypeRef cf);
CFTypeID CFStringGetTypeID(void);
CFTypeID CFUUIDGetTypeID(void);
CFUUIDRef CFUUIDGetConstantUUIDWithBytes(CFAllocatorRef alloc, UInt8 byte0, UInt8 byte1,
                                         UInt8 byte2, UInt8 byte3, UInt8 byte4, UInt8 byte5,
                                         UInt8 byte6, UInt8 byte7, UInt8 byte8, UInt8 byte9,
                                         UInt8 byte10, UInt8 byte11, UInt8 byte12,
                                         UInt8 byte13, UInt8 byte14, UInt8 byte15);
CFUUIDRef CFUUIDCreateFromUUIDBytes(CFAllocatorRef alloc, CFUUIDBytes bytes);
CFUUIDBytes CFUUIDGetUUIDBytes(CFUUIDRef uuid);
CFStringRef CFStringCreateWithCString(CFAllocatorRef alloc, const char* cStr,
                                      CFStringEncoding encoding);
Boolean CFStringGetCString(CFStringRef theString, char* buffer, CFIndex bufferSize,
                           CFStringEncoding encoding);
/** Returns an immortal, interned CFString for a C string literal (CFString.h).
 *  On macOS this is the exported CoreFoundation function (Mach-O name
 *  ___CFStringMakeConstantString, listed in the SDK's CoreFoundation.tbd) that
 *  CFString.h's CFSTR falls back to when the compiler's constant-CFString builtin
 *  is not used; the cross-build calls it instead of emitting __cfstring sections. */
CFStringRef __CFStringMakeConstantString(const char* cStr);
#define CFSTR(cStr) __CFStringMakeConstantString("" cStr "")

/* CFNumber.h: a boxed number (the host's storage holds volume and mute as CFNumbers).
 * CFNumberType is a CFIndex enum. */
typedef const struct __CFNumber* CFNumberRef;
typedef CFIndex CFNumberType;
#define kCFNumberSInt32Type ((CFNumberType)3)
#define kCFNumberFloat32Type ((CFNumberType)5)
#define kCFNumberFloat64Type ((CFNumberType)6)
CFTypeID CFNumberGetTypeID(void);
/** Returns a +1 CFNumber holding *valuePtr of type theType, or NULL. */
CFNumberRef CFNumberCreate(CFAllocatorRef allocator, CFNumberType theType, const void* valuePtr);
/** Stores the number converted to theType at valuePtr; false if the conversion is lossy. */
Boolean CFNumberGetValue(CFNumberRef number, CFNumberType theType, void* valuePtr);

/* ---- CFPlugInCOM.h ------------------------------------------------------ */

typedef SInt32 HRESULT;
typedef UInt32 ULONG;
typedef void* LPVOID;
typedef CFUUIDBytes REFIID;
#define STDMETHODCALLTYPE
#define S_OK ((HRESULT)0x00000000)
#define E_NOINTERFACE ((HRESULT)0x80000004u)
#define E_POINTER ((HRESULT)0x80000005u)
/** IUnknown: 00000000-0000-0000-C000-000000000046 (CFPlugInCOM.h). */
#define IUnknownUUID                                                                        \
    CFUUIDGetConstantUUIDWithBytes(NULL, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, \
                                   0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46)

/* ---- CoreAudioBaseTypes.h ------------------------------------------------ */

typedef UInt32 AudioFormatID;
typedef UInt32 AudioFormatFlags;

/** A closed range of Float64 values (e.g. sample rates in Hz). 16 bytes. */
typedef struct AudioValueRange {
    Float64 mMinimum;
    Float64 mMaximum;
} AudioValueRange;

/** Describes a constant-bit-rate stream format. 40 bytes. */
typedef struct AudioStreamBasicDescription {
    Float64          mSampleRate;       /* Hz */
    AudioFormatID    mFormatID;
    AudioFormatFlags mFormatFlags;
    UInt32           mBytesPerPacket;
    UInt32           mFramesPerPacket;
    UInt32           mBytesPerFrame;
    UInt32           mChannelsPerFrame;
    UInt32           mBitsPerChannel;
    UInt32           mReserved;
} AudioStreamBasicDescription;

#define kAudioFormatLinearPCM GECKO_FOURCC('l', 'p', 'c', 'm')
#define kAudioFormatFlagIsFloat ((AudioFormatFlags)(1u << 0))
#define kAudioFormatFlagIsBigEndian ((AudioFormatFlags)(1u << 1))
#define kAudioFormatFlagIsSignedInteger ((AudioFormatFlags)(1u << 2))
#define kAudioFormatFlagIsPacked ((AudioFormatFlags)(1u << 3))
#define kAudioFormatFlagIsAlignedHigh ((AudioFormatFlags)(1u << 4))
#define kAudioFormatFlagIsNonInterleaved ((AudioFormatFlags)(1u << 5))
#define kAudioFormatFlagIsNonMixable ((AudioFormatFlags)(1u << 6))
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define kAudioFormatFlagsNativeEndian kAudioFormatFlagIsBigEndian
#else
#define kAudioFormatFlagsNativeEndian ((AudioFormatFlags)0)
#endif
#define kAudioFormatFlagsNativeFloatPacked \
    (kAudioFormatFlagIsFloat | kAudioFormatFlagsNativeEndian | kAudioFormatFlagIsPacked)

typedef UInt32 SMPTETimeType;
typedef UInt32 SMPTETimeFlags;

/** SMPTE time. 24 bytes. */
typedef struct SMPTETime {
    SInt16         mSubframes;
    SInt16         mSubframeDivisor;
    UInt32         mCounter;
    SMPTETimeType  mType;
    SMPTETimeFlags mFlags;
    SInt16         mHours;
    SInt16         mMinutes;
    SInt16         mSeconds;
    SInt16         mFrames;
} SMPTETime;

typedef UInt32 AudioTimeStampFlags;
#define kAudioTimeStampNothingValid ((AudioTimeStampFlags)0)
#define kAudioTimeStampSampleTimeValid ((AudioTimeStampFlags)(1u << 0))
#define kAudioTimeStampHostTimeValid ((AudioTimeStampFlags)(1u << 1))
#define kAudioTimeStampRateScalarValid ((AudioTimeStampFlags)(1u << 2))
#define kAudioTimeStampWordClockTimeValid ((AudioTimeStampFlags)(1u << 3))
#define kAudioTimeStampSMPTETimeValid ((AudioTimeStampFlags)(1u << 4))
#define kAudioTimeStampSampleHostTimeValid \
    (kAudioTimeStampSampleTimeValid | kAudioTimeStampHostTimeValid)

/** One point in time in several representations. 64 bytes. */
typedef struct AudioTimeStamp {
    Float64             mSampleTime;    /* frames */
    UInt64              mHostTime;      /* host ticks */
    Float64             mRateScalar;
    UInt64              mWordClockTime;
    SMPTETime           mSMPTETime;
    AudioTimeStampFlags mFlags;
    UInt32              mReserved;
} AudioTimeStamp;

/* Channel layouts (CoreAudioBaseTypes.h). */
typedef UInt32 AudioChannelLabel;
typedef UInt32 AudioChannelLayoutTag;
typedef UInt32 AudioChannelBitmap;
typedef UInt32 AudioChannelFlags;

/** One channel of a layout. 20 bytes. */
typedef struct AudioChannelDescription {
    AudioChannelLabel mChannelLabel;
    AudioChannelFlags mChannelFlags;
    Float32           mCoordinates[3];
} AudioChannelDescription;

/** A channel layout: a header and mNumberChannelDescriptions descriptions (the
 *  array is variable-length; [1] as in Apple's header). 32 bytes as declared. */
typedef struct AudioChannelLayout {
    AudioChannelLayoutTag   mChannelLayoutTag;
    AudioChannelBitmap      mChannelBitmap;
    UInt32                  mNumberChannelDescriptions;
    AudioChannelDescription mChannelDescriptions[1];
} AudioChannelLayout;

/** kAudioChannelLayoutTag_UseChannelDescriptions = (0U<<16) | 0. */
#define kAudioChannelLayoutTag_UseChannelDescriptions ((AudioChannelLayoutTag)0)
#define kAudioChannelLabel_Unknown ((AudioChannelLabel)0xFFFFFFFFu)
#define kAudioChannelLabel_Unused ((AudioChannelLabel)0)
#define kAudioChannelLabel_Left ((AudioChannelLabel)1)
#define kAudioChannelLabel_Right ((AudioChannelLabel)2)
#define kAudioChannelLabel_Mono ((AudioChannelLabel)42)
/** kAudioChannelLabel_Discrete_0 = (1U<<16) | 0; Discrete_N = Discrete_0 | N. */
#define kAudioChannelLabel_Discrete_0 ((AudioChannelLabel)(1u << 16))

/* ---- AudioHardwareBase.h ------------------------------------------------- */

typedef UInt32 AudioObjectID;
typedef UInt32 AudioClassID;
typedef UInt32 AudioObjectPropertySelector;
typedef UInt32 AudioObjectPropertyScope;
typedef UInt32 AudioObjectPropertyElement;

/** Identifies one property of an object. 12 bytes. */
typedef struct AudioObjectPropertyAddress {
    AudioObjectPropertySelector mSelector;
    AudioObjectPropertyScope    mScope;
    AudioObjectPropertyElement  mElement;
} AudioObjectPropertyAddress;

/* Error constants. */
#define kAudioHardwareNoError ((OSStatus)0)
#define kAudioHardwareNotRunningError ((OSStatus)GECKO_FOURCC('s', 't', 'o', 'p'))
#define kAudioHardwareUnspecifiedError ((OSStatus)GECKO_FOURCC('w', 'h', 'a', 't'))
#define kAudioHardwareUnknownPropertyError ((OSStatus)GECKO_FOURCC('w', 'h', 'o', '?'))
#define kAudioHardwareBadPropertySizeError ((OSStatus)GECKO_FOURCC('!', 's', 'i', 'z'))
#define kAudioHardwareIllegalOperationError ((OSStatus)GECKO_FOURCC('n', 'o', 'p', 'e'))
#define kAudioHardwareBadObjectError ((OSStatus)GECKO_FOURCC('!', 'o', 'b', 'j'))
#define kAudioHardwareBadDeviceError ((OSStatus)GECKO_FOURCC('!', 'd', 'e', 'v'))
#define kAudioHardwareBadStreamError ((OSStatus)GECKO_FOURCC('!', 's', 't', 'r'))
#define kAudioHardwareUnsupportedOperationError ((OSStatus)GECKO_FOURCC('u', 'n', 'o', 'p'))
#define kAudioDeviceUnsupportedFormatError ((OSStatus)GECKO_FOURCC('!', 'd', 'a', 't'))
#define kAudioDevicePermissionsError ((OSStatus)GECKO_FOURCC('!', 'h', 'o', 'g'))

#define kAudioObjectUnknown ((AudioObjectID)0)

/* Scopes and elements. */
#define kAudioObjectPropertyScopeGlobal GECKO_FOURCC('g', 'l', 'o', 'b')
#define kAudioObjectPropertyScopeInput GECKO_FOURCC('i', 'n', 'p', 't')
#define kAudioObjectPropertyScopeOutput GECKO_FOURCC('o', 'u', 't', 'p')
#define kAudioObjectPropertyScopePlayThrough GECKO_FOURCC('p', 't', 'r', 'u')
#define kAudioObjectPropertyElementMain ((AudioObjectPropertyElement)0)
#define kAudioObjectPropertyElementMaster kAudioObjectPropertyElementMain
#define kAudioObjectPropertySelectorWildcard GECKO_FOURCC('*', '*', '*', '*')
#define kAudioObjectPropertyScopeWildcard GECKO_FOURCC('*', '*', '*', '*')
#define kAudioObjectPropertyElementWildcard ((AudioObjectPropertyElement)0xFFFFFFFFu)
#define kAudioObjectClassIDWildcard GECKO_FOURCC('*', '*', '*', '*')

/* Classes. */
#define kAudioObjectClassID GECKO_FOURCC('a', 'o', 'b', 'j')
#define kAudioPlugInClassID GECKO_FOURCC('a', 'p', 'l', 'g')
#define kAudioDeviceClassID GECKO_FOURCC('a', 'd', 'e', 'v')
#define kAudioStreamClassID GECKO_FOURCC('a', 's', 't', 'r')
#define kAudioControlClassID GECKO_FOURCC('a', 'c', 't', 'l')
#define kAudioLevelControlClassID GECKO_FOURCC('l', 'e', 'v', 'l')
#define kAudioBooleanControlClassID GECKO_FOURCC('t', 'o', 'g', 'l')
#define kAudioVolumeControlClassID GECKO_FOURCC('v', 'l', 'm', 'e')
#define kAudioMuteControlClassID GECKO_FOURCC('m', 'u', 't', 'e')

/* AudioObject properties. */
#define kAudioObjectPropertyBaseClass GECKO_FOURCC('b', 'c', 'l', 's')
#define kAudioObjectPropertyClass GECKO_FOURCC('c', 'l', 'a', 's')
#define kAudioObjectPropertyOwner GECKO_FOURCC('s', 't', 'd', 'v')
#define kAudioObjectPropertyName GECKO_FOURCC('l', 'n', 'a', 'm')
#define kAudioObjectPropertyManufacturer GECKO_FOURCC('l', 'm', 'a', 'k')
#define kAudioObjectPropertyOwnedObjects GECKO_FOURCC('o', 'w', 'n', 'd')
#define kAudioObjectPropertyControlList GECKO_FOURCC('c', 't', 'r', 'l')

/* AudioPlugIn properties. */
#define kAudioPlugInPropertyBundleID GECKO_FOURCC('p', 'i', 'i', 'd')
#define kAudioPlugInPropertyDeviceList GECKO_FOURCC('d', 'e', 'v', '#')
#define kAudioPlugInPropertyTranslateUIDToDevice GECKO_FOURCC('u', 'i', 'd', 'd')
/* (AudioServerPlugIn.h) */
#define kAudioPlugInPropertyResourceBundle GECKO_FOURCC('r', 's', 'r', 'c')

/* AudioDevice transport types. */
#define kAudioDeviceTransportTypeVirtual GECKO_FOURCC('v', 'i', 'r', 't')

/* AudioDevice properties. */
#define kAudioDevicePropertyDeviceUID GECKO_FOURCC('u', 'i', 'd', ' ')
#define kAudioDevicePropertyModelUID GECKO_FOURCC('m', 'u', 'i', 'd')
#define kAudioDevicePropertyTransportType GECKO_FOURCC('t', 'r', 'a', 'n')
#define kAudioDevicePropertyRelatedDevices GECKO_FOURCC('a', 'k', 'i', 'n')
#define kAudioDevicePropertyClockDomain GECKO_FOURCC('c', 'l', 'k', 'd')
#define kAudioDevicePropertyDeviceIsAlive GECKO_FOURCC('l', 'i', 'v', 'n')
#define kAudioDevicePropertyDeviceIsRunning GECKO_FOURCC('g', 'o', 'i', 'n')
#define kAudioDevicePropertyDeviceCanBeDefaultDevice GECKO_FOURCC('d', 'f', 'l', 't')
#define kAudioDevicePropertyDeviceCanBeDefaultSystemDevice GECKO_FOURCC('s', 'f', 'l', 't')
#define kAudioDevicePropertyLatency GECKO_FOURCC('l', 't', 'n', 'c')
#define kAudioDevicePropertyStreams GECKO_FOURCC('s', 't', 'm', '#')
#define kAudioDevicePropertySafetyOffset GECKO_FOURCC('s', 'a', 'f', 't')
#define kAudioDevicePropertyNominalSampleRate GECKO_FOURCC('n', 's', 'r', 't')
#define kAudioDevicePropertyAvailableNominalSampleRates GECKO_FOURCC('n', 's', 'r', '#')
#define kAudioDevicePropertyIsHidden GECKO_FOURCC('h', 'i', 'd', 'n')
#define kAudioDevicePropertyPreferredChannelsForStereo GECKO_FOURCC('d', 'c', 'h', '2')
#define kAudioDevicePropertyPreferredChannelLayout GECKO_FOURCC('s', 'r', 'n', 'd')
#define kAudioDevicePropertyDeviceIsRunningSomewhere GECKO_FOURCC('g', 'o', 'n', 'e')
#define kAudioDevicePropertyConfigurationApplication GECKO_FOURCC('c', 'a', 'p', 'p')
/* (AudioServerPlugIn.h) */
#define kAudioDevicePropertyZeroTimeStampPeriod GECKO_FOURCC('r', 'i', 'n', 'g')
/** UInt32: the smoothing the Host applies to GetZeroTimeStamp's stamps, one of
 *  kAudioDeviceClockAlgorithm* (AudioServerPlugIn.h). */
#define kAudioDevicePropertyClockAlgorithm GECKO_FOURCC('c', 'l', 'o', 'k')
/** UInt32: non-zero when the clock runs at or very near the nominal rate with only
 *  small variations; assumed stable when not implemented (AudioServerPlugIn.h). */
#define kAudioDevicePropertyClockIsStable GECKO_FOURCC('c', 's', 't', 'b')
/* AudioDeviceClockAlgorithmSelector values (AudioServerPlugIn.h). */
#define kAudioDeviceClockAlgorithmRaw GECKO_FOURCC('r', 'a', 'w', 'w')
#define kAudioDeviceClockAlgorithmSimpleIIR GECKO_FOURCC('i', 'i', 'r', 'f')
#define kAudioDeviceClockAlgorithm12PtMovingWindowAverage GECKO_FOURCC('m', 'a', 'v', 'g')

/* AudioStream. */
/** Two AudioStreamBasicDescription-based ranges. 56 bytes. */
typedef struct AudioStreamRangedDescription {
    AudioStreamBasicDescription mFormat;
    AudioValueRange             mSampleRateRange; /* Hz */
} AudioStreamRangedDescription;

#define kAudioStreamTerminalTypeUnknown ((UInt32)0)
#define kAudioStreamTerminalTypeLine GECKO_FOURCC('l', 'i', 'n', 'e')
#define kAudioStreamTerminalTypeSpeaker GECKO_FOURCC('s', 'p', 'k', 'r')

#define kAudioStreamPropertyIsActive GECKO_FOURCC('s', 'a', 'c', 't')
/** UInt32: 0 = output stream, 1 = input stream (AudioHardwareBase.h). */
#define kAudioStreamPropertyDirection GECKO_FOURCC('s', 'd', 'i', 'r')
#define kAudioStreamPropertyTerminalType GECKO_FOURCC('t', 'e', 'r', 'm')
#define kAudioStreamPropertyStartingChannel GECKO_FOURCC('s', 'c', 'h', 'n')
#define kAudioStreamPropertyLatency kAudioDevicePropertyLatency
#define kAudioStreamPropertyVirtualFormat GECKO_FOURCC('s', 'f', 'm', 't')
#define kAudioStreamPropertyAvailableVirtualFormats GECKO_FOURCC('s', 'f', 'm', 'a')
#define kAudioStreamPropertyPhysicalFormat GECKO_FOURCC('p', 'f', 't', ' ')
#define kAudioStreamPropertyAvailablePhysicalFormats GECKO_FOURCC('p', 'f', 't', 'a')

/* AudioControl properties (AudioHardwareBase.h). */
#define kAudioControlPropertyScope GECKO_FOURCC('c', 's', 'c', 'p')
#define kAudioControlPropertyElement GECKO_FOURCC('c', 'e', 'l', 'm')
#define kAudioLevelControlPropertyScalarValue GECKO_FOURCC('l', 'c', 's', 'v')
#define kAudioLevelControlPropertyDecibelValue GECKO_FOURCC('l', 'c', 'd', 'v')
#define kAudioLevelControlPropertyDecibelRange GECKO_FOURCC('l', 'c', 'd', 'r')
#define kAudioLevelControlPropertyConvertScalarToDecibels GECKO_FOURCC('l', 'c', 's', 'd')
#define kAudioLevelControlPropertyConvertDecibelsToScalar GECKO_FOURCC('l', 'c', 'd', 's')
#define kAudioBooleanControlPropertyValue GECKO_FOURCC('b', 'c', 'v', 'l')

/* ---- AudioServerPlugIn.h ------------------------------------------------- */

typedef struct AudioServerPlugInHostInterface AudioServerPlugInHostInterface;
typedef const AudioServerPlugInHostInterface* AudioServerPlugInHostRef;
typedef struct AudioServerPlugInDriverInterface AudioServerPlugInDriverInterface;
/** A driver reference: a pointer to a pointer to the vtable (COM style). */
typedef AudioServerPlugInDriverInterface** AudioServerPlugInDriverRef;

/** Identifies a client of the host. 24 bytes on LP64. */
typedef struct AudioServerPlugInClientInfo {
    UInt32      mClientID;
    pid_t       mProcessID;
    Boolean     mIsNativeEndian;
    CFStringRef mBundleID;
} AudioServerPlugInClientInfo;

/** Common arguments of the IO operations. 224 bytes on LP64. */
typedef struct AudioServerPlugInIOCycleInfo {
    UInt64         mIOCycleCounter;
    UInt32         mNominalIOBufferFrameSize; /* frames */
    AudioTimeStamp mCurrentTime;
    AudioTimeStamp mInputTime;
    AudioTimeStamp mOutputTime;
    union {
        Float64 mMainHostTicksPerFrame;
        Float64 mMasterHostTicksPerFrame; /* deprecated name of the same field */
    };
    Float64 mDeviceHostTicksPerFrame;
} AudioServerPlugInIOCycleInfo;

/** AudioServerPlugIn type: 443ABAB8-E7B3-491A-B985-BEB9187030DB. */
#define kAudioServerPlugInTypeUUID                                                           \
    CFUUIDGetConstantUUIDWithBytes(NULL, 0x44, 0x3A, 0xBA, 0xB8, 0xE7, 0xB3, 0x49, 0x1A, \
                                   0xB9, 0x85, 0xBE, 0xB9, 0x18, 0x70, 0x30, 0xDB)
/** Driver interface: EEA5773D-CC43-49F1-8E00-8F96E7D23B17. */
#define kAudioServerPlugInDriverInterfaceUUID                                                \
    CFUUIDGetConstantUUIDWithBytes(NULL, 0xEE, 0xA5, 0x77, 0x3D, 0xCC, 0x43, 0x49, 0xF1, \
                                   0x8E, 0x00, 0x8F, 0x96, 0xE7, 0xD2, 0x3B, 0x17)

#define kAudioObjectPlugInObject ((AudioObjectID)1)

/** An array of AudioServerPlugInCustomPropertyInfo: the object's custom properties
 *  (AudioServerPlugIn.h, AudioObject properties). */
#define kAudioObjectPropertyCustomPropertyInfoList GECKO_FOURCC('c', 'u', 's', 't')
/** Describes a custom property so the Host can marshal its data. 12 bytes. */
typedef struct AudioServerPlugInCustomPropertyInfo {
    AudioObjectPropertySelector mSelector;
    UInt32                      mPropertyDataType;  /* kAudioServerPlugInCustomPropertyDataType* */
    UInt32                      mQualifierDataType; /* kAudioServerPlugInCustomPropertyDataType* */
} AudioServerPlugInCustomPropertyInfo;
/* AudioServerPlugInCustomPropertyDataType values (AudioServerPlugIn.h). */
#define kAudioServerPlugInCustomPropertyDataTypeNone ((UInt32)0)
#define kAudioServerPlugInCustomPropertyDataTypeCFString GECKO_FOURCC('c', 'f', 's', 't')
#define kAudioServerPlugInCustomPropertyDataTypeCFPropertyList GECKO_FOURCC('p', 'l', 's', 't')
#define kAudioServerPlugInHostClientID ((UInt32)0)

/* IO operation IDs. */
#define kAudioServerPlugInIOOperationThread GECKO_FOURCC('t', 'h', 'r', 'd')
#define kAudioServerPlugInIOOperationCycle GECKO_FOURCC('c', 'y', 'c', 'l')
#define kAudioServerPlugInIOOperationReadInput GECKO_FOURCC('r', 'e', 'a', 'd')
#define kAudioServerPlugInIOOperationConvertInput GECKO_FOURCC('c', 'i', 'n', 'p')
#define kAudioServerPlugInIOOperationProcessInput GECKO_FOURCC('p', 'i', 'n', 'p')
#define kAudioServerPlugInIOOperationProcessOutput GECKO_FOURCC('p', 'o', 'u', 't')
#define kAudioServerPlugInIOOperationMixOutput GECKO_FOURCC('m', 'i', 'x', 'o')
#define kAudioServerPlugInIOOperationProcessMix GECKO_FOURCC('p', 'm', 'i', 'x')
#define kAudioServerPlugInIOOperationConvertMix GECKO_FOURCC('c', 'm', 'i', 'x')
#define kAudioServerPlugInIOOperationWriteMix GECKO_FOURCC('r', 'i', 't', 'e')

/** The host's services to the plug-in (order as in AudioServerPlugIn.h). 40 bytes. */
struct AudioServerPlugInHostInterface {
    OSStatus (*PropertiesChanged)(AudioServerPlugInHostRef inHost, AudioObjectID inObjectID,
                                  UInt32 inNumberAddresses,
                                  const AudioObjectPropertyAddress* inAddresses);
    OSStatus (*CopyFromStorage)(AudioServerPlugInHostRef inHost, CFStringRef inKey,
                                CFPropertyListRef* outData);
    OSStatus (*WriteToStorage)(AudioServerPlugInHostRef inHost, CFStringRef inKey,
                               CFPropertyListRef inData);
    OSStatus (*DeleteFromStorage)(AudioServerPlugInHostRef inHost, CFStringRef inKey);
    OSStatus (*RequestDeviceConfigurationChange)(AudioServerPlugInHostRef inHost,
                                                 AudioObjectID inDeviceObjectID,
                                                 UInt64 inChangeAction, void* inChangeInfo);
};

/** The driver vtable (IUnknown first; order as in AudioServerPlugIn.h). 184 bytes. */
struct AudioServerPlugInDriverInterface {
    void* _reserved;
    HRESULT(STDMETHODCALLTYPE* QueryInterface)(void* inDriver, REFIID inUUID,
                                               LPVOID* outInterface);
    ULONG(STDMETHODCALLTYPE* AddRef)(void* inDriver);
    ULONG(STDMETHODCALLTYPE* Release)(void* inDriver);
    OSStatus(STDMETHODCALLTYPE* Initialize)(AudioServerPlugInDriverRef inDriver,
                                            AudioServerPlugInHostRef inHost);
    OSStatus(STDMETHODCALLTYPE* CreateDevice)(AudioServerPlugInDriverRef inDriver,
                                              CFDictionaryRef inDescription,
                                              const AudioServerPlugInClientInfo* inClientInfo,
                                              AudioObjectID* outDeviceObjectID);
    OSStatus(STDMETHODCALLTYPE* DestroyDevice)(AudioServerPlugInDriverRef inDriver,
                                               AudioObjectID inDeviceObjectID);
    OSStatus(STDMETHODCALLTYPE* AddDeviceClient)(AudioServerPlugInDriverRef inDriver,
                                                 AudioObjectID inDeviceObjectID,
                                                 const AudioServerPlugInClientInfo* inClientInfo);
    OSStatus(STDMETHODCALLTYPE* RemoveDeviceClient)(
        AudioServerPlugInDriverRef inDriver, AudioObjectID inDeviceObjectID,
        const AudioServerPlugInClientInfo* inClientInfo);
    OSStatus(STDMETHODCALLTYPE* PerformDeviceConfigurationChange)(
        AudioServerPlugInDriverRef inDriver, AudioObjectID inDeviceObjectID,
        UInt64 inChangeAction, void* inChangeInfo);
    OSStatus(STDMETHODCALLTYPE* AbortDeviceConfigurationChange)(
        AudioServerPlugInDriverRef inDriver, AudioObjectID inDeviceObjectID,
        UInt64 inChangeAction, void* inChangeInfo);
    Boolean(STDMETHODCALLTYPE* HasProperty)(AudioServerPlugInDriverRef inDriver,
                                            AudioObjectID inObjectID, pid_t inClientProcessID,
                                            const AudioObjectPropertyAddress* inAddress);
    OSStatus(STDMETHODCALLTYPE* IsPropertySettable)(AudioServerPlugInDriverRef inDriver,
                                                    AudioObjectID inObjectID,
                                                    pid_t inClientProcessID,
                                                    const AudioObjectPropertyAddress* inAddress,
                                                    Boolean* outIsSettable);
    OSStatus(STDMETHODCALLTYPE* GetPropertyDataSize)(
        AudioServerPlugInDriverRef inDriver, AudioObjectID inObjectID, pid_t inClientProcessID,
        const AudioObjectPropertyAddress* inAddress, UInt32 inQualifierDataSize,
        const void* inQualifierData, UInt32* outDataSize);
    OSStatus(STDMETHODCALLTYPE* GetPropertyData)(AudioServerPlugInDriverRef inDriver,
                                                 AudioObjectID inObjectID,
                                                 pid_t inClientProcessID,
                                                 const AudioObjectPropertyAddress* inAddress,
                                                 UInt32 inQualifierDataSize,
                                                 const void* inQualifierData, UInt32 inDataSize,
                                                 UInt32* outDataSize, void* outData);
    OSStatus(STDMETHODCALLTYPE* SetPropertyData)(AudioServerPlugInDriverRef inDriver,
                                                 AudioObjectID inObjectID,
                                                 pid_t inClientProcessID,
                                                 const AudioObjectPropertyAddress* inAddress,
                                                 UInt32 inQualifierDataSize,
                                                 const void* inQualifierData, UInt32 inDataSize,
                                                 const void* inData);
    OSStatus(STDMETHODCALLTYPE* StartIO)(AudioServerPlugInDriverRef inDriver,
                                         AudioObjectID inDeviceObjectID, UInt32 inClientID);
    OSStatus(STDMETHODCALLTYPE* StopIO)(AudioServerPlugInDriverRef inDriver,
                                        AudioObjectID inDeviceObjectID, UInt32 inClientID);
    OSStatus(STDMETHODCALLTYPE* GetZeroTimeStamp)(AudioServerPlugInDriverRef inDriver,
                                                  AudioObjectID inDeviceObjectID,
                                                  UInt32 inClientID, Float64* outSampleTime,
                                                  UInt64* outHostTime, UInt64* outSeed);
    OSStatus(STDMETHODCALLTYPE* WillDoIOOperation)(AudioServerPlugInDriverRef inDriver,
                                                   AudioObjectID inDeviceObjectID,
                                                   UInt32 inClientID, UInt32 inOperationID,
                                                   Boolean* outWillDo,
                                                   Boolean* outWillDoInPlace);
    OSStatus(STDMETHODCALLTYPE* BeginIOOperation)(
        AudioServerPlugInDriverRef inDriver, AudioObjectID inDeviceObjectID, UInt32 inClientID,
        UInt32 inOperationID, UInt32 inIOBufferFrameSize,
        const AudioServerPlugInIOCycleInfo* inIOCycleInfo);
    OSStatus(STDMETHODCALLTYPE* DoIOOperation)(AudioServerPlugInDriverRef inDriver,
                                               AudioObjectID inDeviceObjectID,
                                               AudioObjectID inStreamObjectID, UInt32 inClientID,
                                               UInt32 inOperationID, UInt32 inIOBufferFrameSize,
                                               const AudioServerPlugInIOCycleInfo* inIOCycleInfo,
                                               void* ioMainBuffer, void* ioSecondaryBuffer);
    OSStatus(STDMETHODCALLTYPE* EndIOOperation)(
        AudioServerPlugInDriverRef inDriver, AudioObjectID inDeviceObjectID, UInt32 inClientID,
        UInt32 inOperationID, UInt32 inIOBufferFrameSize,
        const AudioServerPlugInIOCycleInfo* inIOCycleInfo);
};

/* ---- layout checks (LP64) ------------------------------------------------ */
#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L && defined(__LP64__)
_Static_assert(sizeof(Boolean) == 1, "Boolean is one byte");
_Static_assert(sizeof(CFUUIDBytes) == 16, "CFUUIDBytes");
_Static_assert(sizeof(AudioObjectPropertyAddress) == 12, "AudioObjectPropertyAddress");
_Static_assert(sizeof(AudioValueRange) == 16, "AudioValueRange");
_Static_assert(sizeof(AudioStreamBasicDescription) == 40, "AudioStreamBasicDescription");
_Static_assert(sizeof(AudioStreamRangedDescription) == 56, "AudioStreamRangedDescription");
_Static_assert(sizeof(SMPTETime) == 24, "SMPTETime");
_Static_assert(sizeof(AudioChannelDescription) == 20, "AudioChannelDescription");
_Static_assert(offsetof(AudioChannelLayout, mChannelDescriptions) == 12, "AudioChannelLayout header");
_Static_assert(sizeof(AudioChannelLayout) == 32, "AudioChannelLayout");
_Static_assert(sizeof(AudioTimeStamp) == 64, "AudioTimeStamp");
_Static_assert(offsetof(AudioTimeStamp, mSMPTETime) == 32, "AudioTimeStamp.mSMPTETime");
_Static_assert(offsetof(AudioTimeStamp, mFlags) == 56, "AudioTimeStamp.mFlags");
_Static_assert(sizeof(AudioServerPlugInClientInfo) == 24, "AudioServerPlugInClientInfo");
_Static_assert(sizeof(AudioServerPlugInCustomPropertyInfo) == 12, "AudioServerPlugInCustomPropertyInfo");
_Static_assert(offsetof(AudioServerPlugInIOCycleInfo, mCurrentTime) == 16, "IOCycleInfo.mCurrentTime");
_Static_assert(offsetof(AudioServerPlugInIOCycleInfo, mOutputTime) == 144, "IOCycleInfo.mOutputTime");
_Static_assert(offsetof(AudioServerPlugInIOCycleInfo, mDeviceHostTicksPerFrame) == 216,
               "IOCycleInfo.mDeviceHostTicksPerFrame");
_Static_assert(sizeof(AudioServerPlugInIOCycleInfo) == 224, "AudioServerPlugInIOCycleInfo");
_Static_assert(sizeof(AudioServerPlugInHostInterface) == 5 * sizeof(void*), "host interface");
_Static_assert(sizeof(AudioServerPlugInDriverInterface) == 23 * sizeof(void*), "driver vtable");
_Static_assert(offsetof(AudioServerPlugInDriverInterface, EndIOOperation) == 22 * sizeof(void*),
               "driver vtable: EndIOOperation is the 23rd slot");
#endif

#ifdef __cplusplus
}
#endif

#endif /* GECKO_COREAUDIO_COMPAT_H */
