//! Who Gecko's driver is, in one place: the bundle, the device's name and
//! UID, the CFPlugIn factory, the sample rates and the volume range.
//!
//! The C driver declares the same values in `driver/include/gecko_identity.h`
//! (and the bundle's `driver/Info.plist`); this crate's build script reads
//! both and fails the build, naming the value, when they differ. Every other
//! crate takes these values from here.
//!
//! Gecko Sink is recognised by one rule: its device UID ([`is_gecko_sink`]).

#![no_std]

include!("values.rs");

/// Whether the device with persistent UID `uid` (`kAudioDevicePropertyDeviceUID`
/// on macOS; the simulated coreaudiod's listing on Linux) is Gecko Sink itself.
/// Names are for display: another device may be called "Gecko Sink", and a
/// device's name can change with the system language.
pub fn is_gecko_sink(uid: &str) -> bool {
    uid == DEVICE_UID
}

/// Whether `rate` (Hz) is one of [`AVAILABLE_SAMPLE_RATES`].
pub fn is_available_sample_rate(rate: f64) -> bool {
    AVAILABLE_SAMPLE_RATES.contains(&rate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gecko_sink_is_recognised_by_its_uid_not_its_name() {
        assert!(is_gecko_sink("com.gecko.driver.AudioDevice.Sink"));
        assert!(!is_gecko_sink(DEVICE_NAME));
        assert!(!is_gecko_sink("com.gecko.driver.AudioDevice.Sink2"));
        assert!(!is_gecko_sink("BuiltInSpeakerDevice"));
    }

    #[test]
    fn rates_are_ascending_and_include_the_default() {
        assert!(AVAILABLE_SAMPLE_RATES.windows(2).all(|w| w[0] < w[1]));
        assert!(is_available_sample_rate(DEFAULT_SAMPLE_RATE));
        assert!(!is_available_sample_rate(22_050.0));
    }

    #[test]
    fn the_bundle_names_its_executable() {
        assert_eq!(BUNDLE_NAME.strip_suffix(".driver"), Some(EXECUTABLE_NAME));
        assert!(DEVICE_UID.starts_with(BUNDLE_ID));
    }
}
