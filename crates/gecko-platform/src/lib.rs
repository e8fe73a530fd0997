//! gecko-platform: every call Gecko makes into the operating system's audio
//! world, behind one trait, [`AudioPlatform`].
//!
//! Two implementations:
//! - [`sim::SimPlatform`] (Linux, tests, CI): a directory stands in for `/`, and
//!   "coreaudiod" is a simulated host process ([`sim::run_coreaudiod`]) that
//!   loads every `*.driver` bundle in `<root>/Library/Audio/Plug-Ins/HAL`
//!   through the real driver entry points (gecko-simhost) and publishes the
//!   devices it found. A supervisor process relaunches it when it dies, as
//!   launchd relaunches coreaudiod.
//! - `macos::MacPlatform` (macOS only, compiled only there): CoreAudio
//!   through coreaudio-rs, `ps` for the audio processes.
//!
//! Privileged steps (installing into `/Library`, restarting coreaudiod) are
//! one shell script, [`privileged::SCRIPT`] (`installer/gecko-driver.sh`),
//! which the .pkg also carries; [`privileged`] runs it with every argument
//! quoted, through one administrator prompt on macOS.

pub mod output;
pub mod privileged;
pub mod sim;

#[cfg(target_os = "macos")]
pub mod macos;

use std::path::{Path, PathBuf};

/// The driver bundle's directory name in the HAL plug-in folder.
pub const BUNDLE_NAME: &str = "GeckoAudioDevice.driver";
/// The driver's `CFBundleIdentifier`.
pub const BUNDLE_ID: &str = "com.gecko.driver.AudioDevice";
/// The name of the device the driver publishes.
pub const DEVICE_NAME: &str = "Gecko Sink";
/// The HAL plug-in folder, relative to the system root.
pub const HAL_DIR: &str = "Library/Audio/Plug-Ins/HAL";

/// An audio output device as the system lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputDevice {
    /// A stable identifier: the device UID (simulation) or the AudioObjectID (macOS).
    pub id: String,
    /// The name users see.
    pub name: String,
}

impl OutputDevice {
    /// Whether this is Gecko's own device.
    pub fn is_gecko_sink(&self) -> bool {
        self.name == DEVICE_NAME
    }
}

/// What the platform can honestly do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Capture one application's audio on its own. `false` everywhere: Gecko
    /// sees the system mix that apps send to Gecko Sink, not per-app streams.
    pub per_app_capture: bool,
    /// Change the system's default output device.
    pub set_default_output: bool,
    /// Install the driver and restart the audio service.
    pub install_driver: bool,
    /// Whether this is the simulation (no real audio system is touched).
    pub simulated: bool,
}

/// A process of the audio service (coreaudiod, or the helper that hosts drivers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceProcess {
    /// Process id.
    pub pid: u32,
    /// Command name.
    pub name: String,
    /// Resident memory, bytes.
    pub resident_bytes: u64,
    /// Whether this process hosts Gecko's driver.
    pub hosts_driver: bool,
}

/// Whether and how the audio service loaded Gecko's driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriverLoad {
    /// The service is running and lists Gecko Sink.
    Loaded,
    /// The service is running and does not list Gecko Sink (not installed, or
    /// installed since the service started); the reason when known.
    NotLoaded(Option<String>),
    /// The audio service is not running.
    ServiceDown,
}

/// Errors of the platform calls. Each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// The audio system refused or failed a call.
    #[error("the audio system failed: {what} (status {status}); check that the audio service is running (`gecko status`)")]
    Audio {
        /// What was attempted.
        what: String,
        /// The OSStatus or errno.
        status: i32,
    },
    /// No output device with this id.
    #[error("no output device {0:?}; `gecko devices` lists them")]
    NoSuchDevice(String),
    /// The privileged script failed or was refused.
    #[error("{action} failed: {detail}")]
    Script {
        /// The script's action.
        action: String,
        /// What the script said (its last lines) or why it could not run.
        detail: String,
    },
    /// The user cancelled the administrator prompt.
    #[error("{0}: the administrator prompt was cancelled; nothing was changed")]
    Cancelled(String),
    /// The simulated host could not be started or queried.
    #[error("simulated audio host: {0}")]
    Sim(String),
    /// Gecko Sink is not among the output devices.
    #[error("Gecko Sink is not listed by the audio system: install the driver (`gecko install` or the app's Install), then try again")]
    NotListed,
    /// On Linux no simulated system root was given.
    #[error("on Linux, Gecko installs into a simulated system: pass --root DIR (a directory standing in for /), or set GECKO_SIM_ROOT")]
    NoRoot,
    /// A file-system error.
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// What was attempted.
        what: &'static str,
        /// On which path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// The system-facing calls of Gecko.
pub trait AudioPlatform {
    /// A short name ("macOS", "simulated (Linux)").
    fn name(&self) -> &'static str;
    /// The system root the driver installs under (`/` on macOS).
    fn root(&self) -> &Path;
    /// What this platform can do.
    fn capabilities(&self) -> Capabilities;
    /// The output devices the audio service lists now.
    fn output_devices(&self) -> Result<Vec<OutputDevice>, PlatformError>;
    /// The default output device.
    fn default_output(&self) -> Result<Option<OutputDevice>, PlatformError>;
    /// Makes the device with this id the default output.
    fn set_default_output(&self, id: &str) -> Result<(), PlatformError>;
    /// Whether the audio service is running and has loaded Gecko's driver.
    fn driver_load(&self) -> Result<DriverLoad, PlatformError>;
    /// The audio service's processes, with their memory.
    fn service_processes(&self) -> Result<Vec<ServiceProcess>, PlatformError>;
    /// Restarts the audio service so it rescans the plug-in folder
    /// (the strategy and its reasons: `restart_audio_service` in
    /// `installer/gecko-driver.sh`). On macOS this asks for an administrator password.
    fn restart_audio_service(&self) -> Result<String, PlatformError>;
    /// How privileged scripts run on this platform.
    fn elevation(&self) -> privileged::Elevation;
    /// Extra arguments the privileged script needs on this platform
    /// (`--root DIR --sim` in the simulation, none on macOS).
    fn script_base_args(&self) -> Vec<std::ffi::OsString>;
    /// The name of the driver's shared-memory ring (its segments are removed on uninstall).
    fn ring_name(&self) -> String;
    /// Where Gecko keeps the user's own state (the remembered previous
    /// output): `~/Library/Application Support/Gecko` on macOS,
    /// `<root>/Library/Application Support/Gecko` in the simulation.
    fn user_state_dir(&self) -> PathBuf {
        self.root().join("Library/Application Support/Gecko")
    }

    /// The HAL plug-in folder, `<root>/Library/Audio/Plug-Ins/HAL`.
    fn hal_dir(&self) -> PathBuf {
        self.root().join(HAL_DIR)
    }
    /// Where the driver bundle is installed.
    fn driver_path(&self) -> PathBuf {
        self.hal_dir().join(BUNDLE_NAME)
    }
    /// Whether something is installed at [`AudioPlatform::driver_path`]
    /// (a symbolic link counts: it is not followed).
    fn driver_present(&self) -> bool {
        self.driver_path().symlink_metadata().is_ok()
    }
    /// Whether Gecko Sink is listed now.
    fn gecko_sink_listed(&self) -> Result<bool, PlatformError> {
        Ok(self.output_devices()?.iter().any(OutputDevice::is_gecko_sink))
    }
}

/// The platform of this machine: macOS itself (`root` must be `None` or
/// `/`), or on Linux the simulated system under `root`, whose audio host is
/// `gecko_exe sim-audio …` and whose driver ring is `$GECKO_SIM_SHM_NAME`
/// (default `/GeckoAudioShm`). The CLI and the app both start here.
/// Errors: [`PlatformError::NoRoot`] on Linux without a root.
pub fn this_machine(root: Option<&Path>, gecko_exe: &Path) -> Result<Box<dyn AudioPlatform>, PlatformError> {
    #[cfg(target_os = "macos")]
    {
        let _ = gecko_exe;
        if root.is_some_and(|r| r != Path::new("/")) {
            return Err(PlatformError::Sim("--root is for the Linux simulation; on macOS Gecko installs into /".into()));
        }
        Ok(Box::new(macos::MacPlatform))
    }
    #[cfg(not(target_os = "macos"))]
    {
        let root = root.ok_or(PlatformError::NoRoot)?;
        let shm = std::env::var("GECKO_SIM_SHM_NAME").unwrap_or_else(|_| gecko_ring::abi::DEFAULT_NAME.to_owned());
        let host = sim::HostCommand { program: gecko_exe.to_path_buf(), prefix: vec!["sim-audio".into()] };
        Ok(Box::new(sim::SimPlatform::new(root, &shm, host)?))
    }
}

/// Resident memory of a process, bytes (Linux: /proc; None elsewhere or if gone).
pub fn resident_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
