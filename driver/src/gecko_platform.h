/*
 * gecko_platform.h — the one include point for Apple's (or our compat) types.
 *
 * On macOS: Apple's <CoreAudio/AudioServerPlugIn.h> and mach_absolute_time.
 * Elsewhere (Linux, simulated host): driver/include/gecko_coreaudio_compat.h,
 * which declares only what this driver uses, with Apple's values.
 */
#ifndef GECKO_PLATFORM_H
#define GECKO_PLATFORM_H

#ifdef __APPLE__
#include <CoreAudio/AudioServerPlugIn.h>
#include <mach/mach_time.h>
/** Four-char codes are spelled with GECKO_FOURCC in driver code on both systems. */
#ifndef GECKO_FOURCC
#define GECKO_FOURCC(a, b, c, d) \
    ((UInt32)(((UInt32)(UInt8)(a) << 24) | ((UInt32)(UInt8)(b) << 16) | \
              ((UInt32)(UInt8)(c) << 8) | (UInt32)(UInt8)(d)))
#endif
#else
#include "gecko_coreaudio_compat.h"
#endif

/** Marks the few symbols the bundle exports (the build uses -fvisibility=hidden). */
#define GECKO_EXPORT __attribute__((visibility("default")))

/** The main element (AudioHardwareBase.h: kAudioObjectPropertyElementMain, formerly
 *  ...ElementMaster, value 0); spelled here so neither SDK name is needed. */
#define GECKO_ELEMENT_MAIN ((AudioObjectPropertyElement)0)

#endif /* GECKO_PLATFORM_H */
