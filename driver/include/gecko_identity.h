/*
 * gecko_identity.h — who the driver is: the names, UIDs and fixed parameters
 * that the Rust side (crates/gecko-identity) must agree with. That crate's
 * build script reads this file and driver/Info.plist and refuses to build
 * when any value here differs from its own, so the two cannot drift.
 *
 * Keep every value a single-line #define of a string or a number.
 */
#ifndef GECKO_IDENTITY_H
#define GECKO_IDENTITY_H

/** kAudioObjectPropertyManufacturer of the plug-in and the device. */
#define GECKO_MANUFACTURER "Gecko"
/** kAudioObjectPropertyName of the device, as the Sound menu shows it. */
#define GECKO_DEVICE_NAME "Gecko Sink"
/** kAudioDevicePropertyDeviceUID: persistent across reboots; the one way to recognise Gecko Sink. */
#define GECKO_DEVICE_UID "com.gecko.driver.AudioDevice.Sink"
/** kAudioDevicePropertyModelUID. */
#define GECKO_DEVICE_MODEL_UID "com.gecko.driver.AudioDevice.Model"
/** CFBundleIdentifier of GeckoAudioDevice.driver (Info.plist). */
#define GECKO_BUNDLE_ID "com.gecko.driver.AudioDevice"
/** CFBundleExecutable (Info.plist): the file in Contents/MacOS/. */
#define GECKO_EXECUTABLE_NAME "GeckoAudioDevice"
/** The CFPlugIn factory UUID (Info.plist CFPlugInFactories / CFPlugInTypes). */
#define GECKO_FACTORY_UUID "EE523B1F-CFE0-4D8B-AA72-2C281364C730"
/** The exported factory function (Info.plist CFPlugInFactories). */
#define GECKO_FACTORY_FUNCTION "GeckoAudioDevice_Create"

/** Nominal sample rate in Hz until a configuration change sets another. */
#define GECKO_DEFAULT_SAMPLE_RATE 48000.0
/** kAudioDevicePropertyAvailableNominalSampleRates, Hz, ascending. */
#define GECKO_SAMPLE_RATES_INIT {44100.0, 48000.0, 88200.0, 96000.0, 176400.0, 192000.0}
/** Frames between two successive zero timestamps (kAudioDevicePropertyZeroTimeStampPeriod). */
#define GECKO_ZTS_PERIOD_FRAMES 16384u

/**
 * Volume curve, dB-linear (kAudioLevelControlPropertyDecibelRange): the scalar
 * s in [0, 1] maps to dB = GECKO_VOLUME_MIN_DB + (GECKO_VOLUME_MAX_DB -
 * GECKO_VOLUME_MIN_DB) * s, so each of the 16 volume-key steps is 4 dB. The
 * linear gain published to the engine is 10^(dB / 20), except that s = 0 (the
 * bottom of the range) publishes gain 0: the lowest volume is silence, as on
 * built-in outputs.
 */
#define GECKO_VOLUME_MIN_DB (-64.0f)
#define GECKO_VOLUME_MAX_DB (0.0f)

#endif /* GECKO_IDENTITY_H */
