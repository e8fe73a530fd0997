// The values themselves, shared verbatim by lib.rs (`include!`) and
// build.rs (which checks each against driver/include/gecko_identity.h and
// driver/Info.plist). Plain `pub const` items only: build.rs includes this
// file as Rust source.

/// `kAudioObjectPropertyManufacturer` of the plug-in and the device
/// (`GECKO_MANUFACTURER`).
pub const MANUFACTURER: &str = "Gecko";

/// The device's name (`kAudioObjectPropertyName`, `GECKO_DEVICE_NAME`), as the
/// Sound menu shows it. For display only: recognise the device by
/// [`DEVICE_UID`], never by name (a user or another driver can reuse a name).
pub const DEVICE_NAME: &str = "Gecko Sink";

/// The device's persistent UID (`kAudioDevicePropertyDeviceUID`,
/// `GECKO_DEVICE_UID`): stable across reboots and renames, unlike its
/// AudioObjectID.
pub const DEVICE_UID: &str = "com.gecko.driver.AudioDevice.Sink";

/// The device's model UID (`kAudioDevicePropertyModelUID`, `GECKO_DEVICE_MODEL_UID`).
pub const MODEL_UID: &str = "com.gecko.driver.AudioDevice.Model";

/// `CFBundleIdentifier` of the driver bundle (`GECKO_BUNDLE_ID`).
pub const BUNDLE_ID: &str = "com.gecko.driver.AudioDevice";

/// `CFBundleExecutable`: the file name in `Contents/MacOS/` (`GECKO_EXECUTABLE_NAME`).
pub const EXECUTABLE_NAME: &str = "GeckoAudioDevice";

/// The driver bundle's directory name in the HAL plug-in folder.
pub const BUNDLE_NAME: &str = "GeckoAudioDevice.driver";

/// The HAL plug-in folder, relative to the system root: `/Library/Audio/Plug-Ins/HAL`,
/// where coreaudiod looks for AudioServerPlugIn bundles (AudioServerPlugIn.h, overview).
pub const HAL_DIR: &str = "Library/Audio/Plug-Ins/HAL";

/// The driver's CFPlugIn factory UUID (Info.plist `CFPlugInFactories`, `GECKO_FACTORY_UUID`).
pub const FACTORY_UUID: &str = "EE523B1F-CFE0-4D8B-AA72-2C281364C730";

/// The exported C factory function, `void* GeckoAudioDevice_Create(CFAllocatorRef,
/// CFUUIDRef)` (`GECKO_FACTORY_FUNCTION`).
pub const FACTORY_FUNCTION: &str = "GeckoAudioDevice_Create";

/// `kAudioServerPlugInTypeUUID` (CoreAudio/AudioServerPlugIn.h): the plug-in type
/// the factory answers (Info.plist `CFPlugInTypes`).
pub const PLUGIN_TYPE_UUID: &str = "443ABAB8-E7B3-491A-B985-BEB9187030DB";

/// `kAudioServerPlugInDriverInterfaceUUID` (CoreAudio/AudioServerPlugIn.h), the
/// interface QueryInterface answers besides IUnknown.
pub const DRIVER_INTERFACE_UUID: &str = "EEA5773D-CC43-49F1-8E00-8F96E7D23B17";

/// The nominal sample rate the device starts at, Hz (`GECKO_DEFAULT_SAMPLE_RATE`).
pub const DEFAULT_SAMPLE_RATE: f64 = 48_000.0;

/// Sample rates the device lists (`kAudioDevicePropertyAvailableNominalSampleRates`,
/// `GECKO_SAMPLE_RATES_INIT`), Hz, ascending.
pub const AVAILABLE_SAMPLE_RATES: [f64; 6] = [44_100.0, 48_000.0, 88_200.0, 96_000.0, 176_400.0, 192_000.0];

/// Frames between successive zero timestamps (`kAudioDevicePropertyZeroTimeStampPeriod`,
/// `GECKO_ZTS_PERIOD_FRAMES`).
pub const ZERO_TIMESTAMP_PERIOD_FRAMES: u32 = 16_384;

/// The volume control's range, dB (`kAudioLevelControlPropertyDecibelRange`;
/// `GECKO_VOLUME_MIN_DB`, `GECKO_VOLUME_MAX_DB`). The scalar maps dB-linearly
/// onto it, and scalar 0 is silence (gain 0).
pub const VOLUME_DB_RANGE: (f64, f64) = (-64.0, 0.0);
