//! The macOS implementation: CoreAudio through the pre-generated objc2
//! bindings (`objc2-core-audio`, `objc2-core-foundation`; coreaudio-rs 0.14's
//! helpers), `ps` for the audio processes, and the privileged script through
//! one administrator prompt. Compiled only on macOS; type-checked and linted
//! on Linux for both Apple targets by `scripts/check-macos.sh`. Kept thin:
//! each function here is one CoreAudio call and its error.

use crate::privileged::{self, Elevation};
use crate::{
    AudioPlatform, Capabilities, DEVICE_UID, DriverLoad, OutputDevice, PlatformError, ServiceProcess, Transport,
};
use coreaudio::audio_unit::Scope;
use coreaudio::audio_unit::macos_helpers::{
    get_audio_device_ids, get_audio_device_supports_scope, get_default_device_id, get_device_name,
};
use objc2_core_audio::{
    AudioDeviceID, AudioObjectGetPropertyData, AudioObjectID, AudioObjectPropertyAddress, AudioObjectSetPropertyData,
    kAudioDevicePropertyDeviceUID, kAudioDevicePropertyTransportType, kAudioHardwareBadObjectError,
    kAudioHardwareNoError, kAudioHardwarePropertyDefaultOutputDevice, kAudioHardwarePropertyTranslateUIDToDevice,
    kAudioHardwareUnknownPropertyError, kAudioObjectPropertyElementMain, kAudioObjectPropertyScopeGlobal,
    kAudioObjectSystemObject, kAudioObjectUnknown,
};
use objc2_core_foundation::{CFRetained, CFString};
use std::ffi::{OsString, c_void};
use std::path::Path;
use std::ptr::NonNull;

/// Gecko's custom device property `'gkrs'` (`GECKO_PROPERTY_RING_STATE`,
/// driver/src/gecko_driver.h): the ring state, a CFString.
pub const PROPERTY_RING_STATE: u32 = u32::from_be_bytes(*b"gkrs");

/// The system object, as an `AudioObjectID`.
const SYSTEM_OBJECT: AudioObjectID = kAudioObjectSystemObject as AudioObjectID;

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

/// The address of a global property of the main element.
fn global(selector: u32) -> AudioObjectPropertyAddress {
    AudioObjectPropertyAddress {
        mSelector: selector,
        mScope: kAudioObjectPropertyScopeGlobal,
        mElement: kAudioObjectPropertyElementMain,
    }
}

/// A global CFString property of `object` (main element). The HAL returns it
/// retained (the create rule; released here). `Ok(None)` when it returns NULL;
/// `Err(status)` when the call fails.
fn cfstring_property(object: AudioObjectID, selector: u32) -> Result<Option<String>, i32> {
    let address = global(selector);
    let mut text: *const CFString = std::ptr::null();
    let mut size = std::mem::size_of::<*const CFString>() as u32;
    // SAFETY: the output is one CFStringRef of the size given.
    let status = unsafe {
        AudioObjectGetPropertyData(
            object,
            NonNull::from(&address),
            0,
            std::ptr::null(),
            NonNull::from(&mut size),
            NonNull::from(&mut text).cast::<c_void>(),
        )
    };
    if status != kAudioHardwareNoError {
        return Err(status);
    }
    let Some(text) = NonNull::new(text.cast_mut()) else { return Ok(None) };
    // SAFETY: a CFString returned under the create rule: ours to release.
    Ok(Some(unsafe { CFRetained::from_raw(text) }.to_string()))
}

/// A device's UID (`kAudioDevicePropertyDeviceUID`); None when the device
/// cannot say (it just went away).
fn device_uid(device: AudioDeviceID) -> Option<String> {
    cfstring_property(device, kAudioDevicePropertyDeviceUID).ok().flatten()
}

/// A device's transport (`kAudioDevicePropertyTransportType`); Unknown when
/// it cannot say.
fn device_transport(device: AudioDeviceID) -> Transport {
    let address = global(kAudioDevicePropertyTransportType);
    let mut code: u32 = 0;
    let mut size = std::mem::size_of::<u32>() as u32;
    // SAFETY: the output is one UInt32 of the size given.
    let status = unsafe {
        AudioObjectGetPropertyData(
            device,
            NonNull::from(&address),
            0,
            std::ptr::null(),
            NonNull::from(&mut size),
            NonNull::from(&mut code).cast::<c_void>(),
        )
    };
    if status == kAudioHardwareNoError { Transport::from_core_audio(code) } else { Transport::Unknown }
}

/// The AudioObjectID the HAL gives the device with UID `uid` now; None when
/// no device has it.
fn device_by_uid(uid: &str) -> Result<Option<AudioDeviceID>, PlatformError> {
    let uid = CFString::from_str(uid);
    let uid_ref: *const CFString = &*uid;
    let address = global(kAudioHardwarePropertyTranslateUIDToDevice);
    let mut device: AudioDeviceID = kAudioObjectUnknown;
    let mut size = std::mem::size_of::<AudioDeviceID>() as u32;
    // SAFETY: the qualifier is one CFStringRef of the size given (alive
    // until the call returns); the output is an AudioDeviceID of `size` bytes.
    let status = unsafe {
        AudioObjectGetPropertyData(
            SYSTEM_OBJECT,
            NonNull::from(&address),
            std::mem::size_of::<*const CFString>() as u32,
            (&raw const uid_ref).cast::<c_void>(),
            NonNull::from(&mut size),
            NonNull::from(&mut device).cast::<c_void>(),
        )
    };
    if status != kAudioHardwareNoError {
        return Err(audio_err("finding a device by its UID", status));
    }
    Ok((device != kAudioObjectUnknown).then_some(device))
}

/// Gecko Sink's AudioObjectID, found by its UID; None when no device has it.
fn gecko_sink_device() -> Result<Option<AudioDeviceID>, PlatformError> {
    device_by_uid(DEVICE_UID)
}

/// The output device `id` as the user sees it: UID, name, transport.
fn describe(id: AudioDeviceID) -> Option<OutputDevice> {
    Some(OutputDevice { id: device_uid(id)?, name: get_device_name(id).ok()?, transport: device_transport(id) })
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
            .filter_map(describe)
            .collect())
    }
    fn default_output(&self) -> Result<Option<OutputDevice>, PlatformError> {
        let Some(id) = get_default_device_id(false) else { return Ok(None) };
        Ok(describe(id))
    }
    fn set_default_output(&self, id: &str) -> Result<(), PlatformError> {
        // `id` is a UID: the AudioObjectID behind it now (they change when
        // coreaudiod restarts), and it must be an output.
        let device = device_by_uid(id)?
            .filter(|d| get_audio_device_supports_scope(*d, Scope::Output).unwrap_or(false))
            .ok_or_else(|| PlatformError::NoSuchDevice(id.into()))?;
        let address = global(kAudioHardwarePropertyDefaultOutputDevice);
        // SAFETY: a valid address and a pointer to an AudioDeviceID of the size given.
        let status = unsafe {
            AudioObjectSetPropertyData(
                SYSTEM_OBJECT,
                NonNull::from(&address),
                0,
                std::ptr::null(),
                std::mem::size_of::<AudioDeviceID>() as u32,
                NonNull::from(&device).cast::<c_void>(),
            )
        };
        if status != kAudioHardwareNoError {
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
        match cfstring_property(device, PROPERTY_RING_STATE) {
            // An older driver without the property, or the device just went away.
            Err(status) if status == kAudioHardwareUnknownPropertyError || status == kAudioHardwareBadObjectError => {
                Ok(None)
            }
            Err(status) => Err(audio_err("reading Gecko Sink's ring state ('gkrs')", status)),
            Ok(text) => Ok(text),
        }
    }
    fn user_state_dir(&self) -> std::path::PathBuf {
        let home = std::env::var_os("HOME").unwrap_or_else(|| "/tmp".into());
        std::path::PathBuf::from(home).join("Library/Application Support/Gecko")
    }
}
