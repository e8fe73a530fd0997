//! "Use Gecko Sink as system output" and "Restore previous output", done so
//! that a person is never left without sound.
//!
//! Selecting Gecko Sink first writes the previous default output to a small
//! state file (so a crash of the app or engine loses nothing), then makes
//! Gecko Sink the default. The previous device is what the engine should
//! play on. Restoring makes the remembered device the default again (or,
//! if it is gone, the first real output) and forgets it. The CLI
//! (`gecko output`) and the tray app both call this module.

use crate::{AudioPlatform, OutputDevice, PlatformError};
use std::path::{Path, PathBuf};

/// The state file's name in [`AudioPlatform::user_state_dir`].
pub const STATE_FILE: &str = "previous-output";

/// Remembers and restores the default output around the use of Gecko Sink.
#[derive(Debug, Clone)]
pub struct OutputSwitch {
    state_path: PathBuf,
}

/// What selecting Gecko Sink did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selected {
    /// The device Gecko Sink replaced as the default (the engine's output),
    /// or `None` when the system lists no other output.
    pub previous: Option<OutputDevice>,
    /// Whether Gecko Sink was already the default (nothing changed).
    pub already: bool,
}

/// What restoring did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Restored {
    /// The remembered device is the default again.
    Previous(OutputDevice),
    /// The remembered device is gone; this one was chosen instead.
    Fallback {
        /// The remembered device's name.
        gone: String,
        /// The device now the default.
        now: OutputDevice,
    },
    /// Nothing was remembered, or the person already chose another output:
    /// nothing changed.
    Nothing,
}

impl Restored {
    /// A sentence for people.
    pub fn message(&self) -> String {
        match self {
            Restored::Previous(d) => format!("system output restored to {}", d.name),
            Restored::Fallback { gone, now } => format!("{gone} is gone; system output switched to {}", now.name),
            Restored::Nothing => "nothing to restore: Gecko Sink is not the system output".into(),
        }
    }
}

fn io_err(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> PlatformError + use<> {
    let path = path.to_path_buf();
    move |source| PlatformError::Io { what, path, source }
}

impl OutputSwitch {
    /// The switch for `platform`, remembering in its [`AudioPlatform::user_state_dir`].
    pub fn for_platform(platform: &dyn AudioPlatform) -> OutputSwitch {
        OutputSwitch { state_path: platform.user_state_dir().join(STATE_FILE) }
    }

    /// A switch remembering in `state_path` (tests).
    pub fn with_state_path(state_path: PathBuf) -> OutputSwitch {
        OutputSwitch { state_path }
    }

    /// The remembered previous output, if Gecko Sink was selected through
    /// this switch and not restored since. A corrupt file reads as nothing.
    pub fn remembered(&self) -> Option<OutputDevice> {
        let text = std::fs::read_to_string(&self.state_path).ok()?;
        let (id, name) = text.trim_end_matches('\n').split_once('\t')?;
        (!id.is_empty()).then(|| OutputDevice {
            id: id.into(),
            name: name.into(),
            transport: crate::Transport::Unknown,
        })
    }

    fn remember(&self, d: &OutputDevice) -> Result<(), PlatformError> {
        if d.id.contains(['\t', '\n']) || d.name.contains('\n') {
            return Err(PlatformError::Audio {
                what: format!("remembering the output {:?} (its id has control characters)", d.name),
                status: -1,
            });
        }
        let dir = self.state_path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(io_err("creating", dir))?;
        let tmp = self.state_path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, format!("{}\t{}\n", d.id, d.name)).map_err(io_err("writing", &tmp))?;
        std::fs::rename(&tmp, &self.state_path).map_err(io_err("writing", &self.state_path))
    }

    fn forget(&self) -> Result<(), PlatformError> {
        match std::fs::remove_file(&self.state_path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_err("removing", &self.state_path)(e)),
            _ => Ok(()),
        }
    }

    /// Makes Gecko Sink the default output, remembering the one it replaces.
    /// Errors: Gecko Sink is not listed (the driver is not installed or not
    /// loaded: the message says so), or the platform refused.
    pub fn use_gecko_sink(&self, platform: &dyn AudioPlatform) -> Result<Selected, PlatformError> {
        let devices = platform.output_devices()?;
        let Some(gecko) = devices.iter().find(|d| d.is_gecko_sink()) else {
            return Err(PlatformError::NotListed);
        };
        let current = platform.default_output()?;
        if current.as_ref().is_some_and(OutputDevice::is_gecko_sink) {
            let previous = self.remembered().or_else(|| first_real(&devices));
            return Ok(Selected { previous, already: true });
        }
        if let Some(c) = &current {
            self.remember(c)?;
        }
        platform.set_default_output(&gecko.id)?;
        Ok(Selected { previous: current.or_else(|| first_real(&devices)), already: false })
    }

    /// Restores the remembered output if Gecko Sink is still the default;
    /// falls back to the first real output when the remembered one is gone.
    /// Forgets the remembered device in every case.
    pub fn restore(&self, platform: &dyn AudioPlatform) -> Result<Restored, PlatformError> {
        let remembered = self.remembered();
        let current = platform.default_output()?;
        if !current.as_ref().is_some_and(OutputDevice::is_gecko_sink) {
            self.forget()?;
            return Ok(Restored::Nothing);
        }
        let devices = platform.output_devices()?;
        let outcome = match remembered.as_ref().and_then(|r| devices.iter().find(|d| d.id == r.id)) {
            Some(d) => Restored::Previous(d.clone()),
            None => {
                let Some(now) = first_real(&devices) else {
                    return Err(PlatformError::NoSuchDevice("any output other than Gecko Sink".into()));
                };
                let gone = remembered.map(|r| r.name).unwrap_or_else(|| "the previous output".into());
                Restored::Fallback { gone, now }
            }
        };
        let (Restored::Previous(d) | Restored::Fallback { now: d, .. }) = &outcome else { unreachable!() };
        platform.set_default_output(&d.id)?;
        self.forget()?;
        Ok(outcome)
    }
}

fn first_real(devices: &[OutputDevice]) -> Option<OutputDevice> {
    devices.iter().find(|d| !d.is_gecko_sink()).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Capabilities, DriverLoad, ServiceProcess, privileged::Elevation};
    use std::sync::Mutex;

    /// An audio system in memory: a device list and a default.
    struct Fake {
        devices: Mutex<Vec<OutputDevice>>,
        default: Mutex<Option<String>>,
        dir: PathBuf,
    }

    fn dev(id: &str, name: &str) -> OutputDevice {
        OutputDevice { id: id.into(), name: name.into(), transport: crate::Transport::Unknown }
    }

    impl Fake {
        fn new(dir: &Path) -> Fake {
            Fake {
                devices: Mutex::new(vec![
                    dev("spk", "Speakers"),
                    dev("hp", "Headphones"),
                    dev(crate::DEVICE_UID, crate::DEVICE_NAME),
                ]),
                default: Mutex::new(Some("hp".into())),
                dir: dir.to_path_buf(),
            }
        }
        fn default_id(&self) -> Option<String> {
            self.default.lock().unwrap().clone()
        }
    }

    impl AudioPlatform for Fake {
        fn name(&self) -> &'static str {
            "fake"
        }
        fn root(&self) -> &Path {
            &self.dir
        }
        fn capabilities(&self) -> Capabilities {
            Capabilities { per_app_capture: false, set_default_output: true, install_driver: false, simulated: true }
        }
        fn output_devices(&self) -> Result<Vec<OutputDevice>, PlatformError> {
            Ok(self.devices.lock().unwrap().clone())
        }
        fn default_output(&self) -> Result<Option<OutputDevice>, PlatformError> {
            let id = self.default_id();
            Ok(self.output_devices()?.into_iter().find(|d| Some(&d.id) == id.as_ref()))
        }
        fn set_default_output(&self, id: &str) -> Result<(), PlatformError> {
            if !self.output_devices()?.iter().any(|d| d.id == id) {
                return Err(PlatformError::NoSuchDevice(id.into()));
            }
            *self.default.lock().unwrap() = Some(id.into());
            Ok(())
        }
        fn driver_load(&self) -> Result<DriverLoad, PlatformError> {
            Ok(DriverLoad::Loaded)
        }
        fn service_processes(&self) -> Result<Vec<ServiceProcess>, PlatformError> {
            Ok(vec![])
        }
        fn restart_audio_service(&self) -> Result<String, PlatformError> {
            Ok(String::new())
        }
        fn elevation(&self) -> Elevation {
            Elevation::None
        }
        fn script_base_args(&self) -> Vec<std::ffi::OsString> {
            vec![]
        }
        fn ring_name(&self) -> String {
            "/GeckoTest".into()
        }
        fn driver_ring_state(&self) -> Result<Option<String>, PlatformError> {
            Ok(None)
        }
    }

    #[test]
    fn selecting_remembers_and_restoring_goes_back() {
        let tmp = tempfile::tempdir().unwrap();
        let p = Fake::new(tmp.path());
        let sw = OutputSwitch::for_platform(&p);
        let s = sw.use_gecko_sink(&p).unwrap();
        assert_eq!(s, Selected { previous: Some(dev("hp", "Headphones")), already: false });
        assert_eq!(p.default_id().as_deref(), Some(crate::DEVICE_UID));
        assert_eq!(sw.remembered(), Some(dev("hp", "Headphones")), "written before the switch");
        // A second select (app restarted) keeps the real previous device.
        let again = sw.use_gecko_sink(&p).unwrap();
        assert_eq!(again, Selected { previous: Some(dev("hp", "Headphones")), already: true });
        // A new switch object (a restarted app) restores from the file.
        let restored = OutputSwitch::for_platform(&p).restore(&p).unwrap();
        assert_eq!(restored, Restored::Previous(dev("hp", "Headphones")));
        assert_eq!(p.default_id().as_deref(), Some("hp"));
        assert_eq!(sw.remembered(), None);
        assert_eq!(sw.restore(&p).unwrap(), Restored::Nothing);
    }

    #[test]
    fn a_vanished_device_falls_back_and_a_manual_choice_is_respected() {
        let tmp = tempfile::tempdir().unwrap();
        let p = Fake::new(tmp.path());
        let sw = OutputSwitch::for_platform(&p);
        sw.use_gecko_sink(&p).unwrap();
        p.devices.lock().unwrap().retain(|d| d.id != "hp");
        let r = sw.restore(&p).unwrap();
        assert_eq!(r, Restored::Fallback { gone: "Headphones".into(), now: dev("spk", "Speakers") });
        assert_eq!(r.message(), "Headphones is gone; system output switched to Speakers");
        assert_eq!(p.default_id().as_deref(), Some("spk"));
        // The person picks another output themselves: restore leaves it alone.
        sw.use_gecko_sink(&p).unwrap();
        p.set_default_output("spk").unwrap();
        p.devices.lock().unwrap().push(dev("usb", "USB DAC"));
        p.set_default_output("usb").unwrap();
        assert_eq!(sw.restore(&p).unwrap(), Restored::Nothing);
        assert_eq!(p.default_id().as_deref(), Some("usb"));
        assert_eq!(sw.remembered(), None, "forgotten");
    }

    #[test]
    fn without_gecko_sink_nothing_changes_and_the_error_says_install() {
        let tmp = tempfile::tempdir().unwrap();
        let p = Fake::new(tmp.path());
        p.devices.lock().unwrap().retain(|d| !d.is_gecko_sink());
        let e = OutputSwitch::for_platform(&p).use_gecko_sink(&p).unwrap_err();
        assert!(e.to_string().contains("install"), "{e}");
        assert_eq!(p.default_id().as_deref(), Some("hp"));
        assert_eq!(OutputSwitch::for_platform(&p).remembered(), None);
    }

    #[test]
    fn a_corrupt_state_file_reads_as_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let sw = OutputSwitch::with_state_path(tmp.path().join("x"));
        for junk in ["", "\t\n", "no tab here", "\u{0}\u{1}"] {
            std::fs::write(tmp.path().join("x"), junk).unwrap();
            assert_eq!(sw.remembered(), None, "{junk:?}");
        }
    }
}
