//! The Gecko C driver, built for this (Linux) host as a real
//! `GeckoAudioDevice.driver` bundle, and the identity constants it carries.
//!
//! The build script compiles `driver/src/*.c` with the `cc` crate's C
//! compiler into `Contents/MacOS/GeckoAudioDevice` (an ELF shared object whose
//! CoreFoundation symbols are resolved at load time from the host
//! executable) and copies `driver/Info.plist` to `Contents/Info.plist`.
//! The simulated coreaudiod host (`gecko-simhost`) loads it from
//! [`bundle_path`].
//!
//! For a macOS target nothing is compiled: the crate then carries only the
//! driver's identity constants (a macOS gecko validates bundles with them),
//! and the bundle paths do not exist — the macOS driver is built by
//! `scripts/build-macos-driver.sh`.

use std::path::Path;

#[cfg(not(target_os = "macos"))]
/// The built bundle directory, `…/GeckoAudioDevice.driver`.
pub fn bundle_path() -> &'static Path {
    Path::new(env!("GECKO_DRIVER_BUNDLE_PATH"))
}

#[cfg(not(target_os = "macos"))]
/// The driver's executable inside the bundle, `Contents/MacOS/GeckoAudioDevice`.
pub fn executable_path() -> &'static Path {
    Path::new(env!("GECKO_DRIVER_EXECUTABLE_PATH"))
}

/// The `driver/` source directory the bundle was built from (headers in `include/`).
pub fn driver_source_dir() -> &'static Path {
    Path::new(env!("GECKO_DRIVER_DIR"))
}

// Who the driver is (bundle id, names, UIDs, factory, rates, volume range)
// lives in gecko-identity, which checks it against the C sources at build
// time; re-exported here for the tests that drive the built bundle.
pub use gecko_identity::{
    AVAILABLE_SAMPLE_RATES, BUNDLE_ID, DEFAULT_SAMPLE_RATE, DEVICE_NAME, DEVICE_UID, DRIVER_INTERFACE_UUID,
    EXECUTABLE_NAME, FACTORY_FUNCTION, FACTORY_UUID, MANUFACTURER, MODEL_UID, PLUGIN_TYPE_UUID, VOLUME_DB_RANGE,
    ZERO_TIMESTAMP_PERIOD_FRAMES,
};

/// Object IDs: the plug-in (`kAudioObjectPlugInObject`), the device, its output stream
/// (its input stream: [`INPUT_STREAM_OBJECT_ID`]).
pub const PLUGIN_OBJECT_ID: u32 = 1;
/// The device's AudioObjectID.
pub const DEVICE_OBJECT_ID: u32 = 2;
/// The output stream's AudioObjectID.
pub const STREAM_OBJECT_ID: u32 = 3;

/// Channels per frame of the output stream (interleaved float32); the build's
/// `GECKO_CHANNELS`, default 2.
pub const CHANNELS: u32 = parse_u32(env!("GECKO_DRIVER_CHANNELS"));

#[cfg(not(target_os = "macos"))]
/// A second bundle of the same driver built with [`WIDE_CHANNELS`] channels
/// (`…/wide/GeckoAudioDevice.driver`), for multichannel tests.
pub fn wide_bundle_path() -> &'static Path {
    Path::new(env!("GECKO_DRIVER_WIDE_BUNDLE_PATH"))
}

/// Channels per frame of the wide bundle's driver (8).
pub const WIDE_CHANNELS: u32 = parse_u32(env!("GECKO_DRIVER_WIDE_CHANNELS"));

/// Object IDs of the master volume and mute controls.
pub const VOLUME_CONTROL_OBJECT_ID: u32 = 4;
/// The mute control's AudioObjectID.
pub const MUTE_CONTROL_OBJECT_ID: u32 = 5;
/// The input stream's AudioObjectID (the loopback of what Gecko plays).
pub const INPUT_STREAM_OBJECT_ID: u32 = 6;

/// The Linux-only configuration hook the driver exports (driver/include/gecko_sim.h).
pub const SIM_CONFIGURE_SYMBOL: &str = "GeckoSim_Configure";

const fn parse_u32(s: &str) -> u32 {
    let b = s.as_bytes();
    let mut i = 0;
    let mut v: u32 = 0;
    while i < b.len() {
        assert!(b[i].is_ascii_digit(), "GECKO_DRIVER_CHANNELS is not a number");
        v = v * 10 + (b[i] - b'0') as u32;
        i += 1;
    }
    v
}

#[cfg(all(test, not(target_os = "macos")))]
mod tests {
    use super::*;

    #[test]
    fn bundle_has_its_parts() {
        assert!(bundle_path().ends_with("GeckoAudioDevice.driver"));
        assert!(bundle_path().join("Contents/Info.plist").is_file());
        assert!(bundle_path().join("Contents/Resources").is_dir());
        assert!(executable_path().is_file(), "{}", executable_path().display());
        assert_eq!(executable_path(), bundle_path().join("Contents/MacOS").join(EXECUTABLE_NAME));
        assert!((1..=64).contains(&CHANNELS));
    }

    #[test]
    fn info_plist_names_factory_and_type() {
        let text = std::fs::read_to_string(bundle_path().join("Contents/Info.plist")).unwrap();
        for needle in [FACTORY_UUID, FACTORY_FUNCTION, PLUGIN_TYPE_UUID, BUNDLE_ID, EXECUTABLE_NAME] {
            assert!(text.contains(needle), "Info.plist lacks {needle}");
        }
    }
}
