//! gecko-install: the one install flow of Gecko Sink's driver, used by
//! `gecko install/uninstall/status` (and, through the same script, the .pkg).
//!
//! - [`validate_bundle`]: refuse a bundle whose Info.plist or code signature
//!   is not what we built (identity, factory, version; no symbolic links).
//! - [`Installer::install`]: one run of the privileged script
//!   (`installer/gecko-driver.sh install`, one administrator prompt on macOS):
//!   staging copy → owner 0:0, modes 755/644 → atomic swap (roll back on
//!   failure) → restart coreaudiod; then wait up to 15 s for "Gecko Sink"
//!   and say what to do if it does not appear.
//! - [`Installer::uninstall`]: the script's `uninstall` (bundle, leftovers,
//!   receipts, restart), then wait for the device to go, remove the ring's
//!   shared-memory segments, and confirm nothing is left.
//! - [`Installer::status`]: the health view.
//! - [`doctor`]: `gecko doctor`'s checks, each with what to do when it fails.
//!
//! The system-facing calls go through [`gecko_platform::AudioPlatform`]: on
//! Linux the simulated system, where all of this runs as real file operations
//! under a directory standing in for `/`.

pub mod doctor;

use gecko_platform::{AudioPlatform, BUNDLE_ID, BUNDLE_NAME, DEVICE_NAME, DriverLoad, PlatformError, ServiceProcess};
use std::ffi::OsString;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The receipts a .pkg install leaves (removed by uninstall).
pub const PKG_IDS: [&str; 2] = ["com.gecko.pkg.driver", "com.gecko.pkg.app"];
/// How long to wait for the device to appear or go.
pub const DEVICE_TIMEOUT: Duration = Duration::from_secs(15);
/// The executable's name in `Contents/MacOS`.
pub const EXECUTABLE: &str = gecko_identity::EXECUTABLE_NAME;

/// Why installing, uninstalling or checking failed. Each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// The bundle is not a Gecko driver bundle as we build it.
    #[error("{}: not the Gecko driver bundle we build: {reason}. Pass the GeckoAudioDevice.driver built with this gecko (`cargo build -p gecko-driver-bundle` on Linux, scripts/build-macos-driver.sh for macOS)", path.display())]
    BadBundle {
        /// The bundle.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The bundle's version is not this gecko's.
    #[error("{}: driver version {found}, but this gecko is {expected}; install the bundle built with this gecko, or use the gecko of that version", path.display())]
    VersionMismatch {
        /// The bundle.
        path: PathBuf,
        /// Its CFBundleVersion.
        found: String,
        /// Ours.
        expected: String,
    },
    /// This gecko cannot check a Mach-O bundle's code signature (built
    /// without the `macho-signatures` feature), so it does not install one.
    #[error("{}: not installed: this gecko was built without Mach-O signature checks (cargo feature `macho-signatures`, on by default; scripts/demo.sh leaves it out). Use a gecko built with default features: cargo build --release -p gecko-cli", path.display())]
    NoSignatureVerifier {
        /// The bundle.
        path: PathBuf,
    },
    /// The code signature is missing or does not verify.
    #[error("{}: code signature refused: {reason}. Rebuild and sign the bundle (scripts/build-macos-driver.sh); a bundle changed after signing is not installed", path.display())]
    BadSignature {
        /// The bundle.
        path: PathBuf,
        /// What the verifier said.
        reason: String,
    },
    /// The script refused (unsafe destination, bad arguments): nothing was changed.
    #[error("{action} refused, nothing was changed: {detail}")]
    Refused {
        /// install/uninstall.
        action: String,
        /// The script's explanation (what to do is in it).
        detail: String,
    },
    /// The script failed; its last lines say whether the previous state was restored.
    #[error("{action} failed: {detail}")]
    Failed {
        /// install/uninstall.
        action: String,
        /// The script's last lines.
        detail: String,
    },
    /// Uninstall finished but something is left.
    #[error("uninstall left these behind: {}. Remove them as root (or restart the computer for shared memory) and run `gecko uninstall` again", .0.join(", "))]
    Leftovers(Vec<String>),
    /// A platform call failed.
    #[error(transparent)]
    Platform(#[from] PlatformError),
}

/// A signature verifier for Mach-O bundles: returns a one-line description
/// (e.g. "Developer ID, hardened runtime") or why the signature is refused.
/// The CLI passes the macOS bundle crate's verifier (apple-codesign).
pub type SignatureVerifier<'a> = &'a dyn Fn(&Path) -> Result<String, String>;

/// Verifies a Mach-O bundle's code signature with gecko-macos-bundle's
/// verifier (apple-codesign: the CodeDirectory hashes of every page, of
/// Info.plist and CodeResources, and the CMS signature when present) and
/// describes it ("ad hoc", "certificate (CMS), hardened runtime").
///
/// `verify_bundle` also checks that every slice is signed as our bundle id
/// and that the Info.plist and CodeResources on disk are the ones the
/// signature sealed, so an Info.plist edited after signing is refused.
#[cfg(feature = "macho-signatures")]
pub fn verify_macho_signature(bundle: &Path) -> Result<String, String> {
    let info = gecko_macos_bundle::verify_bundle(bundle).map_err(|e| format!("{e:#}"))?;
    const CS_ADHOC: u32 = 0x2;
    const CS_RUNTIME: u32 = 0x10000;
    let adhoc = info.slice_flags.iter().all(|f| f & CS_ADHOC != 0);
    let runtime = info.slice_flags.iter().all(|f| f & CS_RUNTIME != 0);
    Ok(format!(
        "{}{}, {} slice(s) verified",
        if info.has_cms {
            "certificate (CMS)"
        } else if adhoc {
            "ad hoc"
        } else {
            "no certificate"
        },
        if runtime { ", hardened runtime" } else { "" },
        info.slice_flags.len()
    ))
}

/// What [`validate_bundle`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleInfo {
    /// `CFBundleVersion`.
    pub version: String,
    /// The executable's format: "Mach-O" or "ELF (Linux build)".
    pub format: String,
    /// The signature, as described by the verifier, or "none (…)".
    pub signature: String,
}

fn bad(path: &Path, reason: impl Into<String>) -> InstallError {
    InstallError::BadBundle { path: path.to_path_buf(), reason: reason.into() }
}

/// Checks that `bundle` is the driver bundle we build: a real directory with
/// no symbolic links inside; Info.plist with our bundle id, executable,
/// package type, the AudioServerPlugIn type mapped to our factory UUID and
/// function, version `expected_version`; the executable present. A Mach-O
/// executable must carry a signature that `verify` accepts (refused when no
/// verifier is given); an ELF executable (the Linux build, which has no code
/// signature format) is accepted only when `allow_unsigned_elf`.
pub fn validate_bundle(
    bundle: &Path,
    expected_version: &str,
    verify: Option<SignatureVerifier<'_>>,
    allow_unsigned_elf: bool,
) -> Result<BundleInfo, InstallError> {
    let meta = bundle.symlink_metadata().map_err(|e| bad(bundle, format!("cannot read it: {e}")))?;
    if !meta.is_dir() {
        return Err(bad(bundle, "not a directory (or a symbolic link)"));
    }
    if bundle.file_name().and_then(|n| n.to_str()) != Some(BUNDLE_NAME) {
        return Err(bad(bundle, format!("the directory must be named {BUNDLE_NAME}")));
    }
    for entry in walk(bundle).map_err(|e| bad(bundle, format!("cannot list it: {e}")))? {
        let m = entry.symlink_metadata().map_err(|e| bad(bundle, e.to_string()))?;
        if m.file_type().is_symlink() {
            return Err(bad(bundle, format!("{} is a symbolic link", entry.display())));
        }
        if !m.is_dir() && !m.is_file() {
            return Err(bad(bundle, format!("{} is not a regular file", entry.display())));
        }
    }
    let plist_path = bundle.join("Contents/Info.plist");
    let value = plist::Value::from_file(&plist_path).map_err(|e| bad(bundle, format!("Contents/Info.plist: {e}")))?;
    let dict = value.as_dictionary().ok_or_else(|| bad(bundle, "Info.plist is not a dictionary"))?;
    let s = |k: &str| dict.get(k).and_then(plist::Value::as_string);
    for (key, want) in
        [("CFBundleIdentifier", BUNDLE_ID), ("CFBundleExecutable", EXECUTABLE), ("CFBundlePackageType", "BNDL")]
    {
        if s(key) != Some(want) {
            return Err(bad(bundle, format!("Info.plist {key} is {:?}, expected {want:?}", s(key))));
        }
    }
    let factories = dict
        .get("CFPlugInTypes")
        .and_then(plist::Value::as_dictionary)
        .and_then(|t| t.get(gecko_identity::PLUGIN_TYPE_UUID))
        .and_then(plist::Value::as_array)
        .ok_or_else(|| bad(bundle, "Info.plist has no AudioServerPlugIn entry in CFPlugInTypes"))?;
    if factories.len() != 1 || factories[0].as_string() != Some(gecko_identity::FACTORY_UUID) {
        return Err(bad(bundle, "Info.plist CFPlugInTypes does not name Gecko's factory"));
    }
    let function = dict
        .get("CFPlugInFactories")
        .and_then(plist::Value::as_dictionary)
        .and_then(|f| f.get(gecko_identity::FACTORY_UUID))
        .and_then(plist::Value::as_string);
    if function != Some(gecko_identity::FACTORY_FUNCTION) {
        return Err(bad(
            bundle,
            "Info.plist CFPlugInFactories does not map Gecko's factory to GeckoAudioDevice_Create",
        ));
    }
    let version = s("CFBundleVersion").unwrap_or_default().to_owned();
    if s("CFBundleShortVersionString") != Some(version.as_str()) {
        return Err(bad(bundle, "CFBundleVersion and CFBundleShortVersionString differ"));
    }
    if version != expected_version {
        return Err(InstallError::VersionMismatch {
            path: bundle.into(),
            found: version,
            expected: expected_version.into(),
        });
    }
    let exe = bundle.join("Contents/MacOS").join(EXECUTABLE);
    let head = read_head(&exe).map_err(|e| bad(bundle, format!("Contents/MacOS/{EXECUTABLE}: {e}")))?;
    let (format, signature) = match head {
        [0x7f, b'E', b'L', b'F'] => {
            if !allow_unsigned_elf {
                return Err(bad(bundle, "the executable is a Linux (ELF) build; macOS needs the Mach-O bundle"));
            }
            ("ELF (Linux build)".to_owned(), "none (ELF has no code signature; accepted in the simulation)".to_owned())
        }
        [0xca, 0xfe, 0xba, 0xbe] | [0xcf, 0xfa, 0xed, 0xfe] => {
            let Some(verify) = verify else {
                return Err(InstallError::NoSignatureVerifier { path: bundle.into() });
            };
            let sig = verify(bundle).map_err(|reason| InstallError::BadSignature { path: bundle.into(), reason })?;
            ("Mach-O".to_owned(), sig)
        }
        _ => return Err(bad(bundle, "the executable is neither Mach-O nor ELF")),
    };
    Ok(BundleInfo { version, format, signature })
}

fn read_head(path: &Path) -> std::io::Result<[u8; 4]> {
    use std::io::Read;
    let mut b = [0u8; 4];
    std::fs::File::open(path)?.read_exact(&mut b)?;
    Ok(b)
}

/// Every path under `dir` (not `dir` itself), depth first, not following links.
pub fn walk(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let mut entries: Vec<PathBuf> =
            std::fs::read_dir(&d)?.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>()?;
        entries.sort();
        for p in entries {
            if p.symlink_metadata()?.is_dir() {
                stack.push(p.clone());
            }
            out.push(p);
        }
    }
    Ok(out)
}

/// The mode an installed bundle entry must have: 755 for directories and the
/// executables in `Contents/MacOS`, 644 for other files.
pub fn expected_mode(bundle: &Path, entry: &Path, is_dir: bool) -> u32 {
    if is_dir || entry.parent() == Some(&bundle.join("Contents/MacOS")) { 0o755 } else { 0o644 }
}

/// Whose files the installed bundle should be: 0:0, or — when this process is
/// not root in the simulation, where `chown` is impossible — the current user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerExpectation {
    /// root:wheel, uid 0 gid 0.
    Root,
    /// Not root: ownership could not be applied; intended 0:0, recorded only.
    RecordedOnly {
        /// The uid the files actually have.
        uid: u32,
    },
}

/// Whose files an installed bundle should be on `platform`: root:wheel,
/// except on the simulated system when this process is not root (`chown`
/// to 0:0 is impossible there, so the intended owner is only recorded).
pub fn owner_expectation(platform: &dyn AudioPlatform) -> OwnerExpectation {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    if euid == 0 || !platform.capabilities().simulated {
        OwnerExpectation::Root
    } else {
        OwnerExpectation::RecordedOnly { uid: euid }
    }
}

/// Owner and mode problems of an installed bundle (empty when all is right).
pub fn check_tree(bundle: &Path, owner: OwnerExpectation) -> Vec<String> {
    let mut problems = Vec::new();
    let mut entries = vec![bundle.to_path_buf()];
    match walk(bundle) {
        Ok(w) => entries.extend(w),
        Err(e) => return vec![format!("cannot list {}: {e}", bundle.display())],
    }
    for p in entries {
        let Ok(m) = p.symlink_metadata() else { continue };
        if m.file_type().is_symlink() {
            problems.push(format!("{} is a symbolic link", p.display()));
            continue;
        }
        let want = expected_mode(bundle, &p, m.is_dir());
        let mode = m.permissions().mode() & 0o7777;
        if mode != want {
            problems.push(format!("{} has mode {mode:o}, expected {want:o}", p.display()));
        }
        let (want_uid, want_gid) = match owner {
            OwnerExpectation::Root => (0, 0),
            OwnerExpectation::RecordedOnly { uid } => (uid, m.gid()),
        };
        if m.uid() != want_uid || m.gid() != want_gid {
            problems.push(format!(
                "{} is owned by {}:{}, expected {want_uid}:{want_gid}",
                p.display(),
                m.uid(),
                m.gid()
            ));
        }
    }
    problems
}

/// What the device did after an install or uninstall.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceOutcome {
    /// It appeared (install) or went away (uninstall) after this long.
    Done(Duration),
    /// It did not within the timeout; `advice` says what to do.
    NotYet {
        /// How long we waited.
        waited: Duration,
        /// What the user should do.
        advice: String,
    },
}

/// The result of [`Installer::install`].
#[derive(Debug, Clone)]
pub struct InstallReport {
    /// The installed bundle.
    pub bundle: BundleInfo,
    /// What the script did, one line per step.
    pub steps: Vec<String>,
    /// Whether Gecko Sink appeared.
    pub device: DeviceOutcome,
    /// The health view afterwards.
    pub health: Health,
}

/// The result of [`Installer::uninstall`].
#[derive(Debug, Clone)]
pub struct UninstallReport {
    /// What the script did.
    pub steps: Vec<String>,
    /// Whether Gecko Sink went away.
    pub device: DeviceOutcome,
    /// Whether shared-memory segments were found and removed.
    pub removed_segments: bool,
}

/// The health view (`gecko status`).
#[derive(Debug, Clone)]
pub struct Health {
    /// Where the bundle is (or would be).
    pub path: PathBuf,
    /// Whether something is installed there.
    pub installed: bool,
    /// The installed bundle's version, when readable.
    pub version: Option<String>,
    /// Who should own the files.
    pub owner: OwnerExpectation,
    /// Owner/mode/layout problems (empty: all right).
    pub problems: Vec<String>,
    /// Whether the audio service loaded the driver.
    pub driver: Result<DriverLoad, String>,
    /// Whether the driver's ring exists, and whether an engine reads it.
    pub ring: RingHealth,
    /// The audio service's processes.
    pub processes: Vec<ServiceProcess>,
    /// Installer receipts present.
    pub receipts: Vec<PathBuf>,
}

/// The shared-memory ring as seen from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RingHealth {
    /// No ring: the driver is not loaded (or has not created it).
    Absent,
    /// The driver's ring exists; `engine_attached` when an engine reads it.
    Present {
        /// Whether a reader (the engine) is attached to the current generation.
        engine_attached: bool,
    },
}

impl Health {
    /// Installed, loaded and with nothing wrong.
    pub fn ok(&self) -> bool {
        self.installed && self.problems.is_empty() && matches!(self.driver, Ok(DriverLoad::Loaded))
    }
}

/// Whether a POSIX shared-memory segment exists.
pub fn segment_exists(name: &str) -> bool {
    use nix::fcntl::OFlag;
    use nix::sys::stat::Mode;
    nix::sys::mman::shm_open(name, OFlag::O_RDONLY, Mode::empty()).is_ok()
}

/// The install flow over a platform.
pub struct Installer<'a> {
    /// The system.
    pub platform: &'a dyn AudioPlatform,
    /// The version a bundle must have (this gecko's).
    pub expected_version: String,
    /// How long to wait for the device to appear or go.
    pub device_timeout: Duration,
    /// Verifies Mach-O code signatures (see [`SignatureVerifier`]); by default
    /// `verify_macho_signature` (feature `macho-signatures`), else none, and
    /// Mach-O bundles are refused.
    pub verify_signature: Option<SignatureVerifier<'a>>,
    /// Test hook, simulation only: make the script fail at this step
    /// (`copy`, `normalize`, `swap`, `after-swap`).
    pub inject_failure_at: Option<String>,
}

impl<'a> Installer<'a> {
    /// An installer for `platform`, expecting bundles of this crate's version.
    pub fn new(platform: &'a dyn AudioPlatform) -> Self {
        Installer {
            platform,
            expected_version: env!("CARGO_PKG_VERSION").into(),
            device_timeout: DEVICE_TIMEOUT,
            #[cfg(feature = "macho-signatures")]
            verify_signature: Some(&verify_macho_signature),
            #[cfg(not(feature = "macho-signatures"))]
            verify_signature: None,
            inject_failure_at: None,
        }
    }

    fn run_script(&self, action: &str, args: &[OsString], prompt: &str) -> Result<Vec<String>, InstallError> {
        let mut env = Vec::new();
        if let Some(step) = &self.inject_failure_at {
            env.push(("GECKO_INSTALL_FAIL_AT".to_owned(), step.clone()));
        }
        let run = gecko_platform::privileged::run(
            self.platform.elevation(),
            &self.platform.script_base_args(),
            action,
            args,
            &env,
            prompt,
        )?;
        match run.code {
            Some(0) => Ok(run.lines),
            Some(2) => Err(InstallError::Refused { action: action.into(), detail: run.tail() }),
            _ => Err(InstallError::Failed { action: action.into(), detail: run.tail() }),
        }
    }

    fn wait_device(&self, present: bool) -> DeviceOutcome {
        let t0 = Instant::now();
        loop {
            if self.platform.gecko_sink_listed().ok() == Some(present) {
                return DeviceOutcome::Done(t0.elapsed());
            }
            if t0.elapsed() >= self.device_timeout {
                let why = match self.platform.driver_load() {
                    Ok(DriverLoad::NotLoaded(Some(why))) => format!(" ({why})"),
                    _ => String::new(),
                };
                let advice = if present {
                    format!(
                        "{DEVICE_NAME} is installed but the audio service has not listed it after {} s{why}. \
                         Log out and back in, or restart the computer, and it will appear; `gecko status` shows the state.",
                        self.device_timeout.as_secs()
                    )
                } else {
                    format!(
                        "{DEVICE_NAME} is removed from disk but the audio service still lists it after {} s. \
                         Log out and back in, or restart the computer, to unload it.",
                        self.device_timeout.as_secs()
                    )
                };
                return DeviceOutcome::NotYet { waited: t0.elapsed(), advice };
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Installs `bundle` (see the crate docs). Idempotent: installing over an
    /// installed, older, broken or half-installed driver converges; a failure
    /// midway leaves the previous install in place and says so.
    pub fn install(&self, bundle: &Path) -> Result<InstallReport, InstallError> {
        let sim = self.platform.capabilities().simulated;
        let info = validate_bundle(bundle, &self.expected_version, self.verify_signature, sim)?;
        let abs = bundle.canonicalize().map_err(|e| bad(bundle, e.to_string()))?;
        let steps = self.run_script(
            "install",
            &[abs.into_os_string()],
            "Gecko wants to install the Gecko Sink audio driver into /Library/Audio/Plug-Ins/HAL and restart the audio service.",
        )?;
        let device = self.wait_device(true);
        Ok(InstallReport { bundle: info, steps, device, health: self.status() })
    }

    /// Uninstalls (see the crate docs). Idempotent: uninstalling when nothing
    /// is installed succeeds and still cleans leftovers.
    pub fn uninstall(&self) -> Result<UninstallReport, InstallError> {
        let steps = self.run_script(
            "uninstall",
            &[],
            "Gecko wants to remove the Gecko Sink audio driver from /Library/Audio/Plug-Ins/HAL and restart the audio service.",
        )?;
        let device = self.wait_device(false);
        let ring = self.platform.ring_name();
        let reader = format!("{ring}.rd");
        let had_segments = segment_exists(&ring) || segment_exists(&reader);
        let mut left = Vec::new();
        if let Err(e) = gecko_ring::unlink_segments(&ring) {
            left.push(format!("shared memory {ring} ({e})"));
        }
        let h = self.status();
        if h.installed {
            left.push(h.path.display().to_string());
        }
        left.extend(h.problems.into_iter().filter(|p| p.contains("leftover")));
        left.extend(h.receipts.iter().map(|r| r.display().to_string()));
        for seg in [&ring, &reader] {
            if segment_exists(seg) {
                left.push(format!("shared memory {seg}"));
            }
        }
        if !left.is_empty() {
            return Err(InstallError::Leftovers(left));
        }
        Ok(UninstallReport { steps, device, removed_segments: had_segments })
    }

    /// The health view: installed? version? owner and modes right? loaded?
    /// engine attached? the audio service's processes and memory.
    pub fn status(&self) -> Health {
        let p = self.platform;
        let path = p.driver_path();
        let installed = p.driver_present();
        let owner = owner_expectation(p);
        let mut problems = Vec::new();
        for d in ["Library", "Library/Audio", "Library/Audio/Plug-Ins", gecko_platform::HAL_DIR] {
            if p.root().join(d).symlink_metadata().is_ok_and(|m| m.file_type().is_symlink()) {
                problems
                    .push(format!("{} is a symbolic link (install refuses to follow it)", p.root().join(d).display()));
            }
        }
        let mut version = None;
        if installed {
            if path.symlink_metadata().is_ok_and(|m| m.is_dir()) {
                problems.extend(check_tree(&path, owner));
                version = plist::Value::from_file(path.join("Contents/Info.plist"))
                    .ok()
                    .and_then(|v| v.as_dictionary()?.get("CFBundleVersion")?.as_string().map(str::to_owned));
                if version.is_none() {
                    problems.push(
                        "Contents/Info.plist is missing or unreadable (a broken install: run `gecko install`)".into(),
                    );
                }
                if !path.join("Contents/MacOS").join(EXECUTABLE).is_file() {
                    problems.push(format!(
                        "Contents/MacOS/{EXECUTABLE} is missing (a broken install: run `gecko install`)"
                    ));
                }
            } else {
                problems.push(format!("{} is not a directory (run `gecko install` to replace it)", path.display()));
            }
        }
        if let Ok(rd) = std::fs::read_dir(p.hal_dir()) {
            let mut stray: Vec<_> = rd
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(&format!(".{BUNDLE_NAME}")))
                .collect();
            stray.sort();
            for n in stray {
                problems.push(format!("leftover of an interrupted install: {}", p.hal_dir().join(n).display()));
            }
        }
        let mut receipts = Vec::new();
        for id in PKG_IDS {
            for ext in ["bom", "plist"] {
                for dir in ["var/db/receipts", "private/var/db/receipts"] {
                    let r = p.root().join(dir).join(format!("{id}.{ext}"));
                    if r.exists() && !receipts.contains(&r) {
                        receipts.push(r);
                    }
                }
            }
        }
        let ring = match gecko_ring::Peek::open(&p.ring_name()) {
            Ok(mut peek) => {
                RingHealth::Present { engine_attached: peek.status().is_ok_and(|s| s.read_count.is_some()) }
            }
            Err(_) => RingHealth::Absent,
        };
        Health {
            path,
            installed,
            version,
            owner,
            problems,
            driver: p.driver_load().map_err(|e| e.to_string()),
            ring,
            processes: p.service_processes().unwrap_or_default(),
            receipts,
        }
    }
}
