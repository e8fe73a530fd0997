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
    AudioDeviceID, AudioObjectPropertyAddress, AudioObjectSetPropertyData, kAudioHardwareNoError,
    kAudioHardwarePropertyDefaultOutputDevice, kAudioObjectPropertyElementMaster,
    kAudioObjectPropertyScopeGlobal, kAudioObjectSystemObject,
};
use std::ffi::OsString;
use std::path::Path;

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
        // coreaudiod, and (macOS 14+) the helper processes that host HAL drivers.
        let out = std::process::Command::new("/bin/ps")
            .args(["-axww", "-o", "pid=,rss=,comm="])
            .output()
            .map_err(|e| PlatformError::Audio { what: format!("running ps: {e}"), status: -1 })?;
        let loaded = self.gecko_sink_listed().unwrap_or(false);
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let mut f = l.split_whitespace();
                let pid = f.next()?.parse().ok()?;
                let rss_kb: u64 = f.next()?.parse().ok()?;
                let comm = f.collect::<Vec<_>>().join(" ");
                let name = comm.rsplit('/').next().unwrap_or(&comm).to_owned();
                let helper = name.contains("Core-Audio-Driver-Service") || name.contains("Core Audio Driver");
                (name == "coreaudiod" || helper).then(|| ServiceProcess {
                    pid,
                    hosts_driver: loaded && helper,
                    name,
                    resident_bytes: rss_kb * 1024,
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
    fn user_state_dir(&self) -> std::path::PathBuf {
        let home = std::env::var_os("HOME").unwrap_or_else(|| "/tmp".into());
        std::path::PathBuf::from(home).join("Library/Application Support/Gecko")
    }
}

