//! The macOS implementation: CoreAudio through coreaudio-rs, `ps` for the
//! audio processes, and the privileged script through one administrator
//! prompt. Compiled only on macOS; kept small because it cannot be built or
//! run on the Linux CI.

use crate::privileged::{self, Elevation};
use crate::{AudioPlatform, Capabilities, DriverLoad, OutputDevice, PlatformError, ServiceProcess};
use coreaudio::audio_unit::Scope;
use coreaudio::audio_unit::macos_helpers::{
    get_audio_device_ids, get_audio_device_supports_scope, get_default_device_id, get_device_name,
};
use coreaudio::sys::{
    AudioDeviceID, AudioObjectGetPropertyData, AudioObjectPropertyAddress, AudioObjectSetPropertyData, CFIndex,
    CFRelease, CFStringCreateWithBytes, CFStringGetCString, CFStringGetLength, CFStringGetMaximumSizeForEncoding,
    CFStringRef, kAudioHardwareBadObjectError, kAudioHardwareNoError, kAudioHardwarePropertyDefaultOutputDevice,
    kAudioHardwarePropertyTranslateUIDToDevice, kAudioHardwareUnknownPropertyError, kAudioObjectPropertyElementMaster,
    kAudioObjectPropertyScopeGlobal, kAudioObjectSystemObject, kAudioObjectUnknown, kCFAllocatorDefault,
    kCFStringEncodingUTF8,
};
use std::ffi::OsString;
use std::os::raw::{c_char, c_void};
use std::path::Path;

/// Gecko Sink's device UID (`kAudioDevicePropertyDeviceUID`, driver/src).
pub const DEVICE_UID: &str = "com.gecko.driver.AudioDevice.Sink";
/// Gecko's custom device property `'gkrs'` (`GECKO_PROPERTY_RING_STATE`,
/// driver/src/gecko_driver.h): the ring state, a CFString.
pub const PROPERTY_RING_STATE: u32 = u32::from_be_bytes(*b"gkrs");

/// The real system.
pub struct MacPlatform;

fn audio_err(what: &str, status: i32) -> PlatformError {
    PlatformError::Audio { what: what.into(), status }
}

fn coreaudio_status(e: coreaudio::Error) -> i32 {
    match e {
        coreaudio::Error::Unknown(s) => s,
        _ => -1,
    }
}

/// A CFString we own (released on drop).
struct OwnedCFString(CFStringRef);

impl OwnedCFString {
    /// A new CFString with the UTF-8 text `s`.
    fn new(s: &str) -> Option<OwnedCFString> {
        // SAFETY: `s` is valid UTF-8 of the length given; the result is ours to release.
        let r = unsafe {
            CFStringCreateWithBytes(kCFAllocatorDefault, s.as_ptr(), s.len() as CFIndex, kCFStringEncodingUTF8, 0)
        };
        (!r.is_null()).then_some(OwnedCFString(r))
    }

    /// Its text (None if it cannot be converted to UTF-8).
    fn text(&self) -> Option<String> {
        // SAFETY: self.0 is a valid CFString; the buffer has the length given.
        unsafe {
            let len = CFStringGetLength(self.0);
            let cap = CFStringGetMaximumSizeForEncoding(len, kCFStringEncodingUTF8) + 1;
            let mut buf = vec![0u8; cap.max(1) as usize];
            if CFStringGetCString(self.0, buf.as_mut_ptr() as *mut c_char, buf.len() as CFIndex, kCFStringEncodingUTF8) == 0 {
                return None;
            }
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            buf.truncate(end);
            String::from_utf8(buf).ok()
        }
    }
}

impl Drop for OwnedCFString {
    fn drop(&mut self) {
        // SAFETY: we own one reference.
        unsafe { CFRelease(self.0 as *const c_void) };
    }
}

/// Gecko Sink's AudioObjectID, found by its UID; None when no device has it.
fn gecko_sink_device() -> Result<Option<AudioDeviceID>, PlatformError> {
    let uid = OwnedCFString::new(DEVICE_UID).ok_or_else(|| audio_err("creating a CFString", -1))?;
    let address = AudioObjectPropertyAddress {
        mSelector: kAudioHardwarePropertyTranslateUIDToDevice,
        mScope: kAudioObjectPropertyScopeGlobal,
        mElement: kAudioObjectPropertyElementMaster,
    };
    let mut device: AudioDeviceID = kAudioObjectUnknown;
    let mut size = std::mem::size_of::<AudioDeviceID>() as u32;
    // SAFETY: the qualifier is a CFStringRef of the size given; the output is an AudioDeviceID.
    let status = unsafe {
        AudioObjectGetPropertyData(
            kAudioObjectSystemObject,
            &address,
            std::mem::size_of::<CFStringRef>() as u32,
            &uid.0 as *const CFStringRef as *const c_void,
            &mut size,
            &mut device as *mut AudioDeviceID as *mut c_void,
        )
    };
    if status != kAudioHardwareNoError as i32 {
        return Err(audio_err("finding Gecko Sink by its UID", status));
    }
    Ok((device != kAudioObjectUnknown).then_some(device))
}

impl AudioPlatform for MacPlatform {
    fn name(&self) -> &'static str {
        "macOS"
    }
    fn root(&self) -> &Path {
        Path::new("/")
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities { per_app_capture: false, set_default_output: true, install_driver: true, simulated: false }
    }
    fn output_devices(&self) -> Result<Vec<OutputDevice>, PlatformError> {
        let ids = get_audio_device_ids().map_err(|e| audio_err("listing devices", coreaudio_status(e)))?;
        Ok(ids
            .into_iter()
            .filter(|id| get_audio_device_supports_scope(*id, Scope::Output).unwrap_or(false))
            .filter_map(|id| Some(OutputDevice { id: id.to_string(), name: get_device_name(id).ok()? }))
            .collect())
    }
    fn default_output(&self) -> Result<Option<OutputDevice>, PlatformError> {
        let Some(id) = get_default_device_id(false) else { return Ok(None) };
        Ok(self.output_devices()?.into_iter().find(|d| d.id == id.to_string()))
    }
    fn set_default_output(&self, id: &str) -> Result<(), PlatformError> {
        let device: AudioDeviceID = id.parse().map_err(|_| PlatformError::NoSuchDevice(id.into()))?;
        if !self.output_devices()?.iter().any(|d| d.id == id) {
            return Err(PlatformError::NoSuchDevice(id.into()));
        }
        let address = AudioObjectPropertyAddress {
            mSelector: kAudioHardwarePropertyDefaultOutputDevice,
            mScope: kAudioObjectPropertyScopeGlobal,
            mElement: kAudioObjectPropertyElementMaster,
        };
        // SAFETY: a valid address and a pointer to an AudioDeviceID of the size given.
        let status = unsafe {
            AudioObjectSetPropertyData(
                kAudioObjectSystemObject,
                &address,
                0,
                std::ptr::null(),
                std::mem::size_of::<AudioDeviceID>() as u32,
                &device as *const AudioDeviceID as *const _,
            )
        };
        if status != kAudioHardwareNoError as i32 {
            return Err(audio_err("setting the default output", status));
        }
        Ok(())
    }
    fn driver_load(&self) -> Result<DriverLoad, PlatformError> {
        if self.service_processes()?.iter().all(|p| p.name != "coreaudiod") {
            return Ok(DriverLoad::ServiceDown);
        }
        Ok(if self.gecko_sink_listed()? { DriverLoad::Loaded } else { DriverLoad::NotLoaded(None) })
    }
    fn service_processes(&self) -> Result<Vec<ServiceProcess>, PlatformError> {
        // coreaudiod, and (macOS 11+) the helper processes that host HAL drivers
        // (com.apple.audio.Core-Audio-Driver-Service.helper, user _coreaudiod).
        let out = std::process::Command::new("/bin/ps")
            .args(["-axww", "-o", "pid=,rss=,uid=,comm="])
            .output()
            .map_err(|e| PlatformError::Audio { what: format!("running ps: {e}"), status: -1 })?;
        let loaded = self.gecko_sink_listed().unwrap_or(false);
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let mut f = l.split_whitespace();
                let pid = f.next()?.parse().ok()?;
                let rss_kb: u64 = f.next()?.parse().ok()?;
                let uid: Option<u32> = f.next()?.parse().ok();
                let comm = f.collect::<Vec<_>>().join(" ");
                let name = comm.rsplit('/').next().unwrap_or(&comm).to_owned();
                let helper = name.contains("Core-Audio-Driver-Service") || name.contains("Core Audio Driver");
                (name == "coreaudiod" || helper).then(|| ServiceProcess {
                    pid,
                    hosts_driver: loaded && helper,
                    name,
                    resident_bytes: rss_kb * 1024,
                    uid,
                    user: uid.and_then(crate::user_name),
                })
            })
            .collect())
    }
    fn restart_audio_service(&self) -> Result<String, PlatformError> {
        let run = privileged::run(
            self.elevation(),
            &[],
            "restart-audio",
            &[],
            &[],
            "Gecko wants to restart the audio service (coreaudiod) so Gecko Sink is loaded.",
        )?;
        if !run.ok() {
            return Err(PlatformError::Script { action: "restart-audio".into(), detail: run.tail() });
        }
        Ok(run.lines.join("\n"))
    }
    fn elevation(&self) -> Elevation {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 { Elevation::None } else { Elevation::AdminPrompt }
    }
    fn script_base_args(&self) -> Vec<OsString> {
        Vec::new()
    }
    fn ring_name(&self) -> String {
        gecko_ring::abi::DEFAULT_NAME.to_owned()
    }
    fn driver_ring_state(&self) -> Result<Option<String>, PlatformError> {
        let Some(device) = gecko_sink_device()? else { return Ok(None) };
        let address = AudioObjectPropertyAddress {
            mSelector: PROPERTY_RING_STATE,
            mScope: kAudioObjectPropertyScopeGlobal,
            mElement: kAudioObjectPropertyElementMaster,
        };
        let mut text: CFStringRef = std::ptr::null();
        let mut size = std::mem::size_of::<CFStringRef>() as u32;
        // SAFETY: the output is one CFStringRef of the size given; the HAL
        // hands us a reference we own (released by OwnedCFString).
        let status = unsafe {
            AudioObjectGetPropertyData(
                device,
                &address,
                0,
                std::ptr::null(),
                &mut size,
                &mut text as *mut CFStringRef as *mut c_void,
            )
        };
        // An older driver without the property, or the device just went away.
        if status == kAudioHardwareUnknownPropertyError as i32 || status == kAudioHardwareBadObjectError as i32 {
            return Ok(None);
        }
        if status != kAudioHardwareNoError as i32 {
            return Err(audio_err("reading Gecko Sink's ring state ('gkrs')", status));
        }
        if text.is_null() {
            return Ok(None);
        }
        let owned = OwnedCFString(text);
        owned.text().map(Some).ok_or_else(|| audio_err("reading Gecko Sink's ring state: not UTF-8", -1))
    }
    fn user_state_dir(&self) -> std::path::PathBuf {
        let home = std::env::var_os("HOME").unwrap_or_else(|| "/tmp".into());
        std::path::PathBuf::from(home).join("Library/Application Support/Gecko")
    }
}

