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
//!   through the objc2 bindings (objc2-core-audio, coreaudio-rs 0.14), `ps`
//!   for the audio processes. `scripts/check-macos.sh` type-checks and lints
//!   it on Linux for both Apple targets.
//!
//! [`sim`] exists everywhere but macOS; `macos` only on macOS.
//!
//! Privileged steps (installing into `/Library`, restarting coreaudiod) are
//! one shell script, [`privileged::SCRIPT`] (`installer/gecko-driver.sh`),
//! which the .pkg also carries; [`privileged`] runs it with every argument
//! quoted, through one administrator prompt on macOS.

pub mod output;
pub mod privileged;
// The simulated system (gecko-simhost loads the ELF driver): never compiled
// on macOS, as cpal gates its backends per OS.
#[cfg(not(target_os = "macos"))]
pub mod sim;

#[cfg(target_os = "macos")]
pub mod macos;

use std::path::{Path, PathBuf};

/// The driver's identity (bundle name and id, device name and UID), from
/// gecko-identity: the one place it is written.
pub use gecko_identity::{BUNDLE_ID, BUNDLE_NAME, DEVICE_NAME, DEVICE_UID, HAL_DIR};

/// An audio output device as the system lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputDevice {
    /// Its UID (`kAudioDevicePropertyDeviceUID` on macOS; the simulated
    /// device's UID on Linux): stable across restarts of the audio service
    /// and reboots, unlike the AudioObjectID, so a remembered device is
    /// found again.
    pub id: String,
    /// The name users see.
    pub name: String,
    /// How it is connected.
    pub transport: Transport,
}

/// How an output device is connected: CoreAudio's
/// `kAudioDevicePropertyTransportType` (AudioHardware.h), a four-char code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Transport {
    /// Not known (the platform did not say, or 0).
    #[default]
    Unknown,
    /// Built into the machine (`'bltn'`).
    BuiltIn,
    /// An aggregate device (`'grup'`).
    Aggregate,
    /// A virtual device, such as Gecko Sink itself (`'virt'`).
    Virtual,
    /// PCI (`'pci '`).
    Pci,
    /// USB (`'usb '`).
    Usb,
    /// FireWire (`'1394'`).
    FireWire,
    /// Bluetooth (`'blue'`).
    Bluetooth,
    /// Bluetooth Low Energy (`'blea'`).
    BluetoothLe,
    /// HDMI (`'hdmi'`).
    Hdmi,
    /// DisplayPort (`'dprt'`).
    DisplayPort,
    /// AirPlay (`'airp'`).
    AirPlay,
    /// AVB (`'eavb'`).
    Avb,
    /// Thunderbolt (`'thun'`).
    Thunderbolt,
    /// Continuity capture, wired, wireless or either (`'ccwd'`, `'ccwl'`, `'ccap'`).
    ContinuityCapture,
    /// A code this version of Gecko does not know.
    Other(u32),
}

impl Transport {
    /// (variant, four-char code) for every named transport.
    const CODES: [(Transport, [u8; 4]); 14] = [
        (Transport::BuiltIn, *b"bltn"),
        (Transport::Aggregate, *b"grup"),
        (Transport::Virtual, *b"virt"),
        (Transport::Pci, *b"pci "),
        (Transport::Usb, *b"usb "),
        (Transport::FireWire, *b"1394"),
        (Transport::Bluetooth, *b"blue"),
        (Transport::BluetoothLe, *b"blea"),
        (Transport::Hdmi, *b"hdmi"),
        (Transport::DisplayPort, *b"dprt"),
        (Transport::AirPlay, *b"airp"),
        (Transport::Avb, *b"eavb"),
        (Transport::Thunderbolt, *b"thun"),
        (Transport::ContinuityCapture, *b"ccap"),
    ];

    /// From CoreAudio's value (`kAudioDeviceTransportType…`).
    pub fn from_core_audio(code: u32) -> Transport {
        if code == 0 {
            return Transport::Unknown;
        }
        let bytes = code.to_be_bytes();
        if &bytes == b"ccwd" || &bytes == b"ccwl" {
            return Transport::ContinuityCapture;
        }
        Transport::CODES.iter().find(|(_, c)| *c == bytes).map_or(Transport::Other(code), |(t, _)| *t)
    }

    /// CoreAudio's value (`ContinuityCapture` as the generic `'ccap'`).
    pub fn core_audio(self) -> u32 {
        match self {
            Transport::Unknown => 0,
            Transport::Other(code) => code,
            t => Transport::CODES.iter().find(|(v, _)| *v == t).map_or(0, |(_, c)| u32::from_be_bytes(*c)),
        }
    }

    /// A short word for people ("USB", "Bluetooth", "built-in").
    pub fn label(self) -> &'static str {
        match self {
            Transport::Unknown => "unknown",
            Transport::BuiltIn => "built-in",
            Transport::Aggregate => "aggregate",
            Transport::Virtual => "virtual",
            Transport::Pci => "PCI",
            Transport::Usb => "USB",
            Transport::FireWire => "FireWire",
            Transport::Bluetooth => "Bluetooth",
            Transport::BluetoothLe => "Bluetooth LE",
            Transport::Hdmi => "HDMI",
            Transport::DisplayPort => "DisplayPort",
            Transport::AirPlay => "AirPlay",
            Transport::Avb => "AVB",
            Transport::Thunderbolt => "Thunderbolt",
            Transport::ContinuityCapture => "Continuity",
            Transport::Other(_) => "other",
        }
    }
}

impl OutputDevice {
    /// Whether this is Gecko's own device: by its UID
    /// ([`gecko_identity::is_gecko_sink`]), never by its name.
    pub fn is_gecko_sink(&self) -> bool {
        gecko_identity::is_gecko_sink(&self.id)
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
    /// The user id it runs as (`_coreaudiod` on macOS), when it could be read.
    pub uid: Option<u32>,
    /// That user's name, when the user database knows it.
    pub user: Option<String>,
}

/// What `fstat` says about a POSIX shared-memory segment: on macOS only
/// these fields are filled in (XNU `pshm_stat`), so they are all Gecko uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentStat {
    /// Size, bytes (page-rounded on macOS).
    pub size: u64,
    /// Permission bits (`st_mode & 0o777`).
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
}

/// The extended attribute macOS's Gatekeeper puts on downloaded files
/// (`com.apple.quarantine`). On the simulated system (Linux) the same name in
/// the `user.` namespace stands in for it, so tests can set it with
/// `setfattr` or `setxattr(2)`.
#[cfg(target_os = "macos")]
pub const QUARANTINE_XATTR: &str = "com.apple.quarantine";
/// The extended attribute macOS's Gatekeeper puts on downloaded files
/// (`com.apple.quarantine`). On the simulated system (Linux) the same name in
/// the `user.` namespace stands in for it, so tests can set it with
/// `setfattr` or `setxattr(2)`.
#[cfg(not(target_os = "macos"))]
pub const QUARANTINE_XATTR: &str = "user.com.apple.quarantine";

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
    #[error(
        "the audio system failed: {what} (status {status}); check that the audio service is running (`gecko status`)"
    )]
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
    #[error(
        "Gecko Sink is not listed by the audio system: install the driver (`gecko install` or the app's Install), then try again"
    )]
    NotListed,
    /// On Linux no simulated system root was given.
    #[error(
        "on Linux, Gecko installs into a simulated system: pass --root DIR (a directory standing in for /), or set GECKO_SIM_ROOT"
    )]
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

    /// The driver's own account of its shared-memory ring: the text of
    /// Gecko Sink's custom property `'gkrs'` (`key=value` lines, parsed by
    /// `gecko_ring::DriverRingState::parse`). `Ok(None)` when Gecko Sink is
    /// not loaded or does not publish the property (a driver older than
    /// this gecko). On macOS it is read through CoreAudio; on the simulated
    /// system the simulated coreaudiod reads it from the loaded driver every
    /// ~500 ms and publishes it in a file ([`sim::RING_STATE_FILE`]).
    fn driver_ring_state(&self) -> Result<Option<String>, PlatformError>;

    /// `fstat` of the POSIX shared-memory segment `name` (e.g.
    /// `/GeckoAudioShm`), opened read-only; `Ok(None)` when it does not exist.
    fn shm_segment(&self, name: &str) -> Result<Option<SegmentStat>, PlatformError> {
        shm_segment_stat(name)
    }

    /// The entries of `bundle` (itself included; symbolic links not followed)
    /// that carry the quarantine attribute ([`QUARANTINE_XATTR`]). A file
    /// system without extended attributes has none.
    fn quarantined(&self, bundle: &Path) -> Result<Vec<PathBuf>, PlatformError> {
        quarantined_entries(bundle)
    }

    /// The shell command that restarts the audio service, for advice
    /// (`sudo killall coreaudiod` on macOS: launchd starts it again; the
    /// reasons are in `installer/gecko-driver.sh`, `restart_audio_service`).
    fn restart_audio_command(&self) -> String {
        "sudo killall coreaudiod".to_owned()
    }
}

/// `fstat` of an existing shared-memory segment (see [`AudioPlatform::shm_segment`]).
pub fn shm_segment_stat(name: &str) -> Result<Option<SegmentStat>, PlatformError> {
    use nix::errno::Errno;
    use nix::fcntl::OFlag;
    use nix::sys::stat::Mode;
    use std::os::fd::AsRawFd;
    let fd = match nix::sys::mman::shm_open(name, OFlag::O_RDONLY, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::ENOENT) => return Ok(None),
        Err(e) => {
            return Err(PlatformError::Io {
                what: "opening shared memory",
                path: PathBuf::from(name),
                source: std::io::Error::from_raw_os_error(e as i32),
            });
        }
    };
    let st = nix::sys::stat::fstat(fd.as_raw_fd()).map_err(|e| PlatformError::Io {
        what: "fstat of shared memory",
        path: PathBuf::from(name),
        source: std::io::Error::from_raw_os_error(e as i32),
    })?;
    Ok(Some(SegmentStat {
        size: st.st_size.max(0) as u64,
        mode: st.st_mode as u32 & 0o777,
        uid: st.st_uid,
        gid: st.st_gid,
    }))
}

/// Whether `path` itself (not what a symbolic link points to) has the
/// extended attribute `name`. A file system or file type without extended
/// attributes answers `false`.
pub fn has_xattr(path: &Path, name: &str) -> std::io::Result<bool> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "path contains a NUL byte"))?;
    let c_name = std::ffi::CString::new(name)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "attribute name contains a NUL byte"))?;
    // SAFETY: valid NUL-terminated strings; a null buffer of size 0 asks for the size only.
    #[cfg(target_os = "macos")]
    let r =
        unsafe { libc::getxattr(c_path.as_ptr(), c_name.as_ptr(), std::ptr::null_mut(), 0, 0, libc::XATTR_NOFOLLOW) };
    // SAFETY: as above.
    #[cfg(not(target_os = "macos"))]
    let r = unsafe { libc::lgetxattr(c_path.as_ptr(), c_name.as_ptr(), std::ptr::null_mut(), 0) };
    if r >= 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    #[cfg(target_os = "macos")]
    let absent = [libc::ENOATTR, libc::ENOTSUP, libc::EPERM];
    #[cfg(not(target_os = "macos"))]
    let absent = [libc::ENODATA, libc::ENOTSUP, libc::EPERM];
    if e.raw_os_error().is_some_and(|c| absent.contains(&c)) { Ok(false) } else { Err(e) }
}

/// See [`AudioPlatform::quarantined`].
pub fn quarantined_entries(bundle: &Path) -> Result<Vec<PathBuf>, PlatformError> {
    let err = |what: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| PlatformError::Io { what, path, source }
    };
    let mut out = Vec::new();
    let mut stack = vec![bundle.to_path_buf()];
    while let Some(p) = stack.pop() {
        if has_xattr(&p, QUARANTINE_XATTR).map_err(err("reading the extended attributes of", &p))? {
            out.push(p.clone());
        }
        if p.symlink_metadata().map_err(err("reading", &p))?.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(&p)
                .map_err(err("listing", &p))?
                .map(|e| e.map(|e| e.path()))
                .collect::<Result<_, _>>()
                .map_err(err("listing", &p))?;
            entries.sort();
            stack.extend(entries.into_iter().rev());
        }
    }
    Ok(out)
}

/// The user id process `pid` runs as (Linux: `/proc`; macOS: `ps`), or None.
pub fn process_uid(pid: u32) -> Option<u32> {
    #[cfg(target_os = "macos")]
    {
        let out = std::process::Command::new("/bin/ps").args(["-o", "uid=", "-p", &pid.to_string()]).output().ok()?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    }
    #[cfg(not(target_os = "macos"))]
    {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status.lines().find_map(|l| l.strip_prefix("Uid:"))?.split_whitespace().next()?.parse().ok()
    }
}

/// The name of user `uid` in the user database (`getpwuid_r`), or None.
pub fn user_name(uid: u32) -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 4096];
    // SAFETY: zeroed passwd is a valid out parameter.
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: valid pointers and the buffer's true length.
    let r = unsafe { libc::getpwuid_r(uid as libc::uid_t, &mut pw, buf.as_mut_ptr(), buf.len(), &mut result) };
    if r != 0 || result.is_null() || pw.pw_name.is_null() {
        return None;
    }
    // SAFETY: getpwuid_r succeeded: pw_name points into `buf`, NUL-terminated.
    Some(unsafe { std::ffi::CStr::from_ptr(pw.pw_name) }.to_string_lossy().into_owned())
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
            return Err(PlatformError::Sim(
                "--root is for the Linux simulation; on macOS Gecko installs into /".into(),
            ));
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

/// `s` as one shell word for advice a person copies into a terminal: as it
/// is when it has only characters no shell treats specially, else in single
/// quotes. (The privileged script's arguments go through
/// [`privileged::shell_quote`] instead, which always quotes.)
pub fn display_quote(s: &str) -> String {
    let plain = !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+:@,=%".contains(c));
    if plain { s.to_owned() } else { format!("'{}'", s.replace('\'', r"'\''")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transports_are_coreaudios_four_char_codes() {
        // AudioHardwareBase.h: kAudioDeviceTransportType… values.
        for (code, t, label) in [
            (*b"bltn", Transport::BuiltIn, "built-in"),
            (*b"usb ", Transport::Usb, "USB"),
            (*b"blue", Transport::Bluetooth, "Bluetooth"),
            (*b"virt", Transport::Virtual, "virtual"),
            (*b"ccwl", Transport::ContinuityCapture, "Continuity"),
        ] {
            let v = u32::from_be_bytes(code);
            assert_eq!(Transport::from_core_audio(v), t);
            assert_eq!(t.label(), label);
        }
        assert_eq!(Transport::from_core_audio(0), Transport::Unknown);
        let odd = u32::from_be_bytes(*b"zzzz");
        assert_eq!(Transport::from_core_audio(odd), Transport::Other(odd));
        for t in [Transport::Usb, Transport::Hdmi, Transport::Other(odd), Transport::Unknown] {
            assert_eq!(Transport::from_core_audio(t.core_audio()), t, "round trip");
        }
    }

    #[test]
    fn display_quote_leaves_plain_words_alone_and_quotes_the_rest() {
        assert_eq!(display_quote("/GeckoAudioShm"), "/GeckoAudioShm");
        assert_eq!(display_quote("/tmp/sim root"), "'/tmp/sim root'");
        assert_eq!(display_quote("it's"), r"'it'\''s'");
        assert_eq!(display_quote("$(x)"), "'$(x)'");
        assert_eq!(display_quote(""), "''");
    }

    #[test]
    fn quarantined_entries_finds_the_attribute_anywhere_in_the_bundle() {
        let dir = tempfile::tempdir().unwrap();
        let b = dir.path().join("X.driver");
        std::fs::create_dir_all(b.join("Contents/MacOS")).unwrap();
        std::fs::write(b.join("Contents/Info.plist"), "x").unwrap();
        assert_eq!(quarantined_entries(&b).unwrap(), Vec::<PathBuf>::new());
        let target = b.join("Contents/Info.plist");
        let p = std::ffi::CString::new(target.to_str().unwrap()).unwrap();
        let n = std::ffi::CString::new(QUARANTINE_XATTR).unwrap();
        // SAFETY: valid strings and a 4-byte value.
        #[cfg(not(target_os = "macos"))]
        let r = unsafe { libc::setxattr(p.as_ptr(), n.as_ptr(), b"0081".as_ptr().cast(), 4, 0) };
        // SAFETY: as above.
        #[cfg(target_os = "macos")]
        let r = unsafe { libc::setxattr(p.as_ptr(), n.as_ptr(), b"0081".as_ptr().cast(), 4, 0, 0) };
        assert_eq!(
            r,
            0,
            "setxattr: {} (a file system without user extended attributes?)",
            std::io::Error::last_os_error()
        );
        assert_eq!(quarantined_entries(&b).unwrap(), vec![target]);
    }
}
