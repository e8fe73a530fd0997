/*
 * gecko_platform.h — the one include point for Apple's (or our compat) types.
 *
 * Three builds:
 *  - macOS with Apple's SDK (xcrun clang on a Mac): Apple's
 *    <CoreAudio/AudioServerPlugIn.h>, which brings in CoreFoundation.
 *  - macOS cross-built on Linux (scripts/build-macos-driver.sh): no Apple SDK
 *    exists there, so the build passes -DGECKO_USE_COMPAT_HEADERS=1 and the
 *    driver uses driver/include/gecko_coreaudio_compat.h (values from Apple's
 *    headers; both Mac architectures are LP64 little-endian like x86-64 Linux),
 *    with the libc/mach headers of the macOS SDK that zig ships.
 *  - Elsewhere (Linux, simulated host): the compat header.
 * Every Apple build (either header set) uses mach_absolute_time for the host clock.
 */
#ifndef GECKO_PLATFORM_H
#define GECKO_PLATFORM_H

#if defined(__APPLE__) && !(defined(GECKO_USE_COMPAT_HEADERS) && GECKO_USE_COMPAT_HEADERS)
#include <CoreAudio/AudioServerPlugIn.h>
/** Four-char codes are spelled with GECKO_FOURCC in driver code on both systems. */
#ifndef GECKO_FOURCC
#define GECKO_FOURCC(a, b, c, d) \
    ((UInt32)(((UInt32)(UInt8)(a) << 24) | ((UInt32)(UInt8)(b) << 16) | \
              ((UInt32)(UInt8)(c) << 8) | (UInt32)(UInt8)(d)))
#endif
#else
#include "gecko_coreaudio_compat.h"
#endif

#ifdef __APPLE__
/* mach_absolute_time, mach_timebase_info (<mach/mach_time.h>, libSystem). */
#include <mach/mach_time.h>
#endif

/** Marks the few symbols the bundle exports (the build uses -fvisibility=hidden). */
#define GECKO_EXPORT __attribute__((visibility("default")))

/** The main element (AudioHardwareBase.h: kAudioObjectPropertyElementMain, formerly
 *  ...ElementMaster, value 0); spelled here so neither SDK name is needed. */
#define GECKO_ELEMENT_MAIN ((AudioObjectPropertyElement)0)

#endif /* GECKO_PLATFORM_H */
