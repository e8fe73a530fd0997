//! `gecko doctor`: what is wrong with Gecko Sink, and what to do about it.
//!
//! Fourteen checks, in order, from the driver bundle on disk to the audio
//! flowing through the ring and recorded from Gecko Sink's input
//! ([`CHECKS`]). Each gives ✔ or ✘ with a one-line detail and, for every ✘,
//! the exact thing to do ([`Check::fix`]). A check
//! that cannot run because one it depends on did not pass is reported as not
//! run (`–`), naming that check, so the first ✘ is the one to fix.
//!
//! Two halves, so the judging is tested without a system:
//! - [`observe`] gathers everything from the system — the platform trait
//!   ([`AudioPlatform`]: the bundle, the audio service, the driver's ring
//!   state, the shared-memory segments), the engine's control socket
//!   (gecko-control) and a passive look at the ring ([`gecko_ring::Peek`]),
//!   twice, ~1 s apart, so counters that grow are seen growing;
//! - [`judge`] turns those [`Observations`] into [`Check`]s. It does no I/O.
//!
//! [`run`] is both. The CLI prints the result as text or JSON
//! ([`Check`] serializes as `{"check", "ok", "detail", "fix"}`); the tray app
//! shows the same list.

use crate::{EXECUTABLE, OwnerExpectation, SignatureVerifier, check_tree, owner_expectation};
use gecko_control::{ClientError, ControlClient, Status};
use gecko_platform::{AudioPlatform, DriverLoad, QUARANTINE_XATTR, SegmentStat, ServiceProcess, display_quote};
use gecko_ring::{DriverRingState, RingStatus, SegmentSource};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The check ids, in the order they run.
pub const CHECKS: [&str; 14] = [
    BUNDLE,
    OWNERSHIP,
    SIGNATURE,
    QUARANTINE,
    AUDIO_SERVICE,
    DEVICE,
    RING_STATE,
    SEGMENTS,
    ENGINE,
    READER,
    LATENCY,
    DRIFT,
    XRUNS,
    LOOPBACK,
];
/// 1. The driver bundle is in the HAL plug-in folder.
pub const BUNDLE: &str = "bundle";
/// 2. Its files are owned by root:wheel, modes 755 (folders, executables) / 644.
pub const OWNERSHIP: &str = "ownership";
/// 3. Its code signature verifies (Mach-O); not applicable to the simulated ELF bundle.
pub const SIGNATURE: &str = "signature";
/// 4. No quarantine attribute on it.
pub const QUARANTINE: &str = "quarantine";
/// 5. coreaudiod (and the helper that hosts drivers) run, and as whom.
pub const AUDIO_SERVICE: &str = "audio-service";
/// 6. The audio service lists Gecko Sink.
pub const DEVICE: &str = "device";
/// 7. The driver's own account of its ring (`'gkrs'`): it has mapped its segment.
pub const RING_STATE: &str = "ring-state";
/// 8. The segments' sizes, modes and owners.
pub const SEGMENTS: &str = "segments";
/// 9. An engine runs (control socket) and reads Gecko Sink's ring.
pub const ENGINE: &str = "engine";
/// 10. The driver follows the engine's read position (flow control).
pub const READER: &str = "reader";
/// 11. The ring's fill level (the latency the engine holds).
pub const LATENCY: &str = "latency";
/// 12. The drift control: locked or not, ppm.
pub const DRIFT: &str = "drift";
/// 13. Overruns and underruns during the doctor's own look.
pub const XRUNS: &str = "xruns";
/// 14. Gecko Sink's input stream (the loopback): the tap the driver serves, the
///     one chosen, and whether the post tap is fed.
pub const LOOPBACK: &str = "loopback";

/// The checks each check needs to have passed before it can run.
pub fn depends_on(id: &str) -> &'static [&'static str] {
    match id {
        OWNERSHIP | SIGNATURE | QUARANTINE => &[BUNDLE],
        DEVICE => &[BUNDLE, AUDIO_SERVICE],
        RING_STATE => &[DEVICE],
        LOOPBACK => &[RING_STATE],
        SEGMENTS => &[RING_STATE],
        ENGINE => &[SEGMENTS],
        READER | LATENCY | DRIFT | XRUNS => &[ENGINE],
        _ => &[],
    }
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// Its id (one of [`CHECKS`]).
    pub check: &'static str,
    /// `Some(true)` ✔, `Some(false)` ✘, `None`: not run (see `detail`).
    pub ok: Option<bool>,
    /// What was found, one line.
    pub detail: String,
    /// For a ✘: exactly what to do.
    pub fix: Option<String>,
}

impl Check {
    fn pass(check: &'static str, detail: impl Into<String>) -> Check {
        Check { check, ok: Some(true), detail: detail.into(), fix: None }
    }
    fn fail(check: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check { check, ok: Some(false), detail: detail.into(), fix: Some(fix.into()) }
    }
    fn not_run(check: &'static str, detail: impl Into<String>) -> Check {
        Check { check, ok: None, detail: detail.into(), fix: None }
    }

    /// `✔`, `✘` or `–`.
    pub fn mark(&self) -> &'static str {
        match self.ok {
            Some(true) => "✔",
            Some(false) => "✘",
            None => "–",
        }
    }
}

/// Whether every check that ran passed (the exit status: 0 then, 1 otherwise).
pub fn all_passed(checks: &[Check]) -> bool {
    checks.iter().all(|c| c.ok != Some(false))
}

/// The checks as text: one line each (`✔ id  detail`), and under every ✘ a
/// line `  fix: …`.
pub fn render_text(checks: &[Check]) -> String {
    let width = CHECKS.iter().map(|c| c.len()).max().unwrap_or(0);
    let mut out = String::new();
    for c in checks {
        out.push_str(&format!("{} {:width$}  {}\n", c.mark(), c.check, c.detail));
        if let Some(fix) = &c.fix {
            out.push_str(&format!("  {:width$}  fix: {fix}\n", ""));
        }
    }
    out
}

/// The checks as a JSON array of `{"check", "ok", "detail", "fix"}`.
pub fn render_json(checks: &[Check]) -> String {
    serde_json::to_string_pretty(checks).unwrap_or_else(|e| format!("[{{\"error\": \"{e}\"}}]"))
}

/// How to run the doctor.
pub struct DoctorOptions<'a> {
    /// The engine's control socket.
    pub control_socket: PathBuf,
    /// How long to watch the ring's counters (~1 s).
    pub observe: Duration,
    /// Verifies Mach-O code signatures (`verify_macho_signature` with the
    /// `macho-signatures` feature); `None`: the signature check is not run.
    pub verify_signature: Option<SignatureVerifier<'a>>,
}

impl DoctorOptions<'_> {
    /// The engine's socket from `GECKO_CONTROL_SOCKET` or gecko-control's
    /// default, a 1 s look, and this build's signature verifier.
    pub fn from_env() -> Self {
        DoctorOptions {
            control_socket: std::env::var_os("GECKO_CONTROL_SOCKET")
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(gecko_control::default_socket_path),
            observe: Duration::from_secs(1),
            #[cfg(feature = "macho-signatures")]
            verify_signature: Some(&crate::verify_macho_signature),
            #[cfg(not(feature = "macho-signatures"))]
            verify_signature: None,
        }
    }
}

/// Observes the system and judges it: the doctor's checks, in order.
pub fn run(platform: &dyn AudioPlatform, options: &DoctorOptions<'_>) -> Vec<Check> {
    judge(&observe(platform, options))
}

// ---------------------------------------------------------------------------
// Observations

/// The executable's format, as far as the signature check cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signature {
    /// An ELF executable (the simulated system's Linux build): no code signature exists.
    Elf,
    /// A Mach-O executable whose signature verified, described.
    Verified(String),
    /// A Mach-O executable whose signature was refused, and why.
    Refused(String),
    /// A Mach-O executable, but this gecko cannot verify signatures.
    NoVerifier,
    /// Unreadable, or neither Mach-O nor ELF.
    Unusable(String),
}

/// The installed bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BundleObs {
    /// Nothing at the path.
    Absent,
    /// Something that is not a directory (a file, a symbolic link).
    NotADirectory,
    /// A directory.
    Present {
        /// `CFBundleVersion`, when Info.plist is readable.
        version: Option<String>,
        /// Whether `Contents/MacOS/GeckoAudioDevice` is a file.
        executable: bool,
        /// Whose files they should be.
        owner: OwnerExpectation,
        /// Owner and mode problems ([`check_tree`]).
        tree_problems: Vec<String>,
        /// The code signature.
        signature: Signature,
        /// Entries with the quarantine attribute, or why they could not be read.
        quarantined: Result<Vec<PathBuf>, String>,
    },
}

/// What the engine's control socket said.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineObs {
    /// Its status.
    pub status: Status,
    /// Its target latency, ms, when its status reports one (a
    /// `target_latency_ms` field; control protocol v1 has none yet).
    pub target_latency_ms: Option<f64>,
}

/// Why the engine could not be asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineErr {
    /// Nothing listens on the socket.
    NotRunning,
    /// Another failure.
    Other(String),
}

/// Everything [`judge`] needs, gathered by [`observe`].
#[derive(Debug, Clone, PartialEq)]
pub struct Observations {
    /// Whether this is the simulated system (Linux).
    pub simulated: bool,
    /// The system root (`/` on macOS).
    pub root: PathBuf,
    /// Gecko Sink's ring (writer segment) name.
    pub ring: String,
    /// Where the bundle is installed.
    pub bundle_path: PathBuf,
    /// The bundle.
    pub bundle: BundleObs,
    /// The version this gecko expects.
    pub expected_version: String,
    /// The audio service's processes.
    pub processes: Result<Vec<ServiceProcess>, String>,
    /// Whether the audio service lists Gecko Sink.
    pub driver: Result<DriverLoad, String>,
    /// The driver's ring-state text (`'gkrs'`).
    pub ring_state: Result<Option<String>, String>,
    /// `fstat` of the writer segment.
    pub writer_segment: Result<Option<SegmentStat>, String>,
    /// `fstat` of the reader segment.
    pub reader_segment: Result<Option<SegmentStat>, String>,
    /// The uid of the process that hosts the driver (the ring header's writer
    /// pid, else the audio-service process that hosts it).
    pub driver_uid: Option<u32>,
    /// The ring at the start of the look (`None`: the writer segment could not be opened).
    pub ring_before: Option<Result<RingStatus, String>>,
    /// The ring at its end.
    pub ring_after: Option<Result<RingStatus, String>>,
    /// The engine's control socket.
    pub socket: PathBuf,
    /// The engine at the start of the look.
    pub engine_before: Result<EngineObs, EngineErr>,
    /// The engine at its end.
    pub engine_after: Option<Result<EngineObs, EngineErr>>,
    /// How long the look was.
    pub window: Duration,
    /// The command that restarts the audio service ([`AudioPlatform::restart_audio_command`]).
    pub restart_audio: String,
}

fn read_head(path: &Path) -> std::io::Result<[u8; 4]> {
    use std::io::Read;
    let mut b = [0u8; 4];
    std::fs::File::open(path)?.read_exact(&mut b)?;
    Ok(b)
}

fn observe_bundle(p: &dyn AudioPlatform, path: &Path, verify: Option<SignatureVerifier<'_>>) -> BundleObs {
    let Ok(meta) = path.symlink_metadata() else { return BundleObs::Absent };
    if !meta.is_dir() {
        return BundleObs::NotADirectory;
    }
    let version = plist::Value::from_file(path.join("Contents/Info.plist"))
        .ok()
        .and_then(|v| v.as_dictionary()?.get("CFBundleVersion")?.as_string().map(str::to_owned));
    let exe = path.join("Contents/MacOS").join(EXECUTABLE);
    let owner = owner_expectation(p);
    let signature = match read_head(&exe) {
        Err(e) => Signature::Unusable(format!("Contents/MacOS/{EXECUTABLE}: {e}")),
        Ok([0x7f, b'E', b'L', b'F']) => Signature::Elf,
        Ok([0xca, 0xfe, 0xba, 0xbe] | [0xcf, 0xfa, 0xed, 0xfe]) => match verify {
            None => Signature::NoVerifier,
            Some(v) => match v(path) {
                Ok(d) => Signature::Verified(d),
                Err(e) => Signature::Refused(e),
            },
        },
        Ok(_) => Signature::Unusable(format!("Contents/MacOS/{EXECUTABLE} is neither Mach-O nor ELF")),
    };
    BundleObs::Present {
        version,
        executable: exe.is_file(),
        owner,
        tree_problems: check_tree(path, owner),
        signature,
        quarantined: p.quarantined(path).map_err(|e| e.to_string()),
    }
}

fn ask_engine(socket: &Path) -> Result<EngineObs, EngineErr> {
    let mut c = ControlClient::connect(socket).map_err(|e| match e {
        ClientError::NotRunning(_) => EngineErr::NotRunning,
        e => EngineErr::Other(e.to_string()),
    })?;
    let line = format!("{{\"v\":{},\"type\":\"status\"}}", gecko_control::PROTOCOL_VERSION);
    let reply = c.raw(&line).map_err(|e| EngineErr::Other(e.to_string()))?;
    let status = match gecko_control::protocol::decode_reply(&reply) {
        Ok(Ok(gecko_control::Reply::Status(s))) => *s,
        Ok(Ok(other)) => return Err(EngineErr::Other(format!("unexpected reply to status: {other:?}"))),
        Ok(Err(e)) | Err(e) => return Err(EngineErr::Other(format!("the engine's status: {}", e.message))),
    };
    let target_latency_ms =
        serde_json::from_str::<serde_json::Value>(&reply).ok().and_then(|v| v.get("target_latency_ms")?.as_f64());
    Ok(EngineObs { status, target_latency_ms })
}

fn peek(ring: &str) -> Option<Result<RingStatus, String>> {
    match gecko_ring::Peek::open(ring) {
        Ok(mut p) => Some(p.status().map_err(|e| e.to_string())),
        Err(gecko_ring::RingError::NotInstalled { .. }) => None,
        Err(e) => Some(Err(e.to_string())),
    }
}

/// Gathers the [`Observations`]: the bundle, the audio service, the driver's
/// ring state, the segments, the engine and the ring — the last two twice,
/// `options.observe` apart (not waited for when there is no ring to watch).
pub fn observe(p: &dyn AudioPlatform, options: &DoctorOptions<'_>) -> Observations {
    let bundle_path = p.driver_path();
    let ring = p.ring_name();
    let reader = gecko_ring::reader_name(&ring);
    let ring_before = peek(&ring);
    let engine_before = ask_engine(&options.control_socket);
    let processes = p.service_processes().map_err(|e| e.to_string());
    // Who the driver runs as: the process that wrote the ring's header, else
    // the audio-service process that hosts the driver.
    let driver_uid = ring_before
        .as_ref()
        .and_then(|r| r.as_ref().ok())
        .and_then(|s| gecko_platform::process_uid(s.format.writer_pid))
        .or_else(|| processes.as_ref().ok()?.iter().find(|p| p.hosts_driver)?.uid);
    let mut o = Observations {
        simulated: p.capabilities().simulated,
        root: p.root().to_path_buf(),
        bundle: observe_bundle(p, &bundle_path, options.verify_signature),
        bundle_path,
        expected_version: env!("CARGO_PKG_VERSION").to_owned(),
        processes,
        driver: p.driver_load().map_err(|e| e.to_string()),
        ring_state: p.driver_ring_state().map_err(|e| e.to_string()),
        writer_segment: p.shm_segment(&ring).map_err(|e| e.to_string()),
        reader_segment: p.shm_segment(&reader).map_err(|e| e.to_string()),
        driver_uid,
        ring_before,
        ring_after: None,
        socket: options.control_socket.clone(),
        engine_before,
        engine_after: None,
        window: Duration::ZERO,
        restart_audio: p.restart_audio_command(),
        ring,
    };
    if matches!(o.ring_before, Some(Ok(_))) {
        let t0 = std::time::Instant::now();
        std::thread::sleep(options.observe);
        o.ring_after = peek(&o.ring);
        o.engine_after = Some(ask_engine(&options.control_socket));
        o.window = t0.elapsed();
    }
    o
}

// ---------------------------------------------------------------------------
// Judging

/// `gecko SUBCOMMAND` as the person should type it (with `--root` on the
/// simulated system).
fn gecko(o: &Observations, sub: &str) -> String {
    if o.simulated {
        format!("gecko {sub} --root {}", display_quote(&o.root.to_string_lossy()))
    } else {
        format!("gecko {sub}")
    }
}

/// ` --shm-name NAME` unless the ring has the default name.
fn shm_arg(o: &Observations) -> String {
    if o.ring == gecko_ring::abi::DEFAULT_NAME {
        String::new()
    } else {
        format!(" --shm-name {}", display_quote(&o.ring))
    }
}

fn engine_command(o: &Observations) -> String {
    format!("gecko engine{}", shm_arg(o))
}

fn precreate_command(o: &Observations) -> String {
    let cmd = format!("gecko ring precreate{}", shm_arg(o));
    // On a Mac the segment must be the driver's user's (_coreaudiod); the
    // simulated coreaudiod runs as this user.
    if o.simulated { cmd } else { format!("sudo -u _coreaudiod {cmd}") }
}

fn user_text(uid: Option<u32>, user: Option<&str>) -> String {
    match (user, uid) {
        (Some(u), Some(id)) => format!("user {u} (uid {id})"),
        (None, Some(id)) => format!("uid {id}"),
        (Some(u), None) => format!("user {u}"),
        (None, None) => "user unknown".to_owned(),
    }
}

fn uid_text(uid: u32) -> String {
    match gecko_platform::user_name(uid) {
        Some(u) => format!("{u} (uid {uid})"),
        None => format!("uid {uid}"),
    }
}

fn is_helper(p: &ServiceProcess) -> bool {
    p.name.contains("Core-Audio-Driver-Service") || p.name.contains("Core Audio Driver")
}

/// The ring-state text parsed, when there is one.
fn ring_state(o: &Observations) -> Option<DriverRingState> {
    o.ring_state.as_ref().ok()?.as_deref().and_then(|t| DriverRingState::parse(t).ok())
}

fn engine_obs(o: &Observations) -> Option<&EngineObs> {
    o.engine_after.as_ref().and_then(|e| e.as_ref().ok()).or(o.engine_before.as_ref().ok())
}

fn ring_now(o: &Observations) -> Option<&RingStatus> {
    o.ring_after.as_ref().and_then(|r| r.as_ref().ok()).or(o.ring_before.as_ref().and_then(|r| r.as_ref().ok()))
}

fn io_running(o: &Observations) -> bool {
    ring_now(o).map(|r| r.state.io_running).or(ring_state(o).map(|s| s.io_running)).unwrap_or(false)
}

fn check_bundle(o: &Observations) -> Check {
    let path = o.bundle_path.display();
    let install = gecko(o, "install");
    match &o.bundle {
        BundleObs::Absent => Check::fail(
            BUNDLE,
            format!("no driver at {path}"),
            format!("install it: `{install}` (or open the Gecko installer package)"),
        ),
        BundleObs::NotADirectory => Check::fail(
            BUNDLE,
            format!("{path} is not a directory (a file or a symbolic link)"),
            format!("replace it with the driver: `{install}`"),
        ),
        BundleObs::Present { version, executable, .. } => {
            let Some(v) = version else {
                return Check::fail(
                    BUNDLE,
                    format!("{path}: Contents/Info.plist is missing or unreadable (a broken install)"),
                    format!("reinstall: `{install}`"),
                );
            };
            if !executable {
                return Check::fail(
                    BUNDLE,
                    format!("{path}: Contents/MacOS/{EXECUTABLE} is missing (a broken install)"),
                    format!("reinstall: `{install}`"),
                );
            }
            if *v != o.expected_version {
                return Check::fail(
                    BUNDLE,
                    format!("{path}: driver version {v}, but this gecko is {}", o.expected_version),
                    format!("install the driver of this version: `{install}`"),
                );
            }
            Check::pass(BUNDLE, format!("{path}, version {v}"))
        }
    }
}

fn check_ownership(o: &Observations) -> Check {
    let BundleObs::Present { owner, tree_problems, .. } = &o.bundle else { unreachable!("depends on bundle") };
    if !tree_problems.is_empty() {
        let more = match tree_problems.len() {
            1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        return Check::fail(
            OWNERSHIP,
            format!("{}{more}", tree_problems[0]),
            format!(
                "reinstall, which sets owner root:wheel and modes 755 (folders, executables) / 644 (files): `{}`",
                gecko(o, "install")
            ),
        );
    }
    Check::pass(
        OWNERSHIP,
        match owner {
            OwnerExpectation::Root => "owner root:wheel (0:0); modes 755 folders and executables, 644 files".to_owned(),
            OwnerExpectation::RecordedOnly { uid } => format!(
                "modes 755 folders and executables, 644 files; owner uid {uid}: not root, so root:wheel (0:0) \
                 is recorded as intended, not applied (simulated system)"
            ),
        },
    )
}

fn check_signature(o: &Observations) -> Check {
    let BundleObs::Present { signature, .. } = &o.bundle else { unreachable!("depends on bundle") };
    match signature {
        Signature::Elf if o.simulated => Check::pass(SIGNATURE, "not applicable (simulated system: ELF bundle)"),
        Signature::Elf => Check::fail(
            SIGNATURE,
            "the executable is a Linux (ELF) build; macOS needs the signed Mach-O bundle",
            format!("install the macOS driver: `{}`", gecko(o, "install")),
        ),
        Signature::Verified(d) => Check::pass(SIGNATURE, format!("valid: {d}")),
        Signature::Refused(why) => Check::fail(
            SIGNATURE,
            format!("code signature refused: {why}"),
            format!(
                "reinstall a signed driver (a fresh Gecko installer package, or `scripts/build-macos-driver.sh`), then `{}`",
                gecko(o, "install")
            ),
        ),
        Signature::NoVerifier => Check::not_run(
            SIGNATURE,
            "not checked: this gecko was built without Mach-O signature checks (cargo feature `macho-signatures`)",
        ),
        Signature::Unusable(why) => {
            Check::fail(SIGNATURE, why.clone(), format!("reinstall: `{}`", gecko(o, "install")))
        }
    }
}

fn check_quarantine(o: &Observations) -> Check {
    let BundleObs::Present { quarantined, .. } = &o.bundle else { unreachable!("depends on bundle") };
    match quarantined {
        Err(e) => Check::fail(
            QUARANTINE,
            format!("could not read extended attributes: {e}"),
            "run `gecko doctor` as a user who may read the driver's files",
        ),
        Ok(q) if q.is_empty() => Check::pass(QUARANTINE, format!("no {QUARANTINE_XATTR} attribute")),
        Ok(q) => {
            let names: Vec<String> = q.iter().map(|p| p.display().to_string()).collect();
            let fix = if o.simulated {
                // The simulated system's equivalent of `xattr -dr`.
                let quoted: Vec<String> = names.iter().map(|n| display_quote(n)).collect();
                format!("setfattr -x {QUARANTINE_XATTR} {}", quoted.join(" "))
            } else {
                format!("sudo xattr -dr com.apple.quarantine {}", display_quote(&o.bundle_path.to_string_lossy()))
            };
            Check::fail(
                QUARANTINE,
                format!(
                    "{} carries the quarantine attribute ({QUARANTINE_XATTR}): macOS may refuse to load the driver{}",
                    names[0],
                    if names.len() > 1 { format!(" (and {} more entries)", names.len() - 1) } else { String::new() }
                ),
                fix,
            )
        }
    }
}

fn check_audio_service(o: &Observations) -> Check {
    let procs = match &o.processes {
        Err(e) => {
            return Check::fail(
                AUDIO_SERVICE,
                format!("could not list the audio service's processes: {e}"),
                "run `gecko doctor` again; if it fails again, restart the computer",
            );
        }
        Ok(p) => p,
    };
    let (helpers, daemons): (Vec<&ServiceProcess>, Vec<&ServiceProcess>) = procs.iter().partition(|p| is_helper(p));
    let Some(d) = daemons.first() else {
        let fix = if o.simulated {
            format!("start it: `{}` (asking the audio system starts it, as launchd does on macOS)", gecko(o, "output"))
        } else {
            "launchd starts coreaudiod on demand; if it stays down, restart the Mac".to_owned()
        };
        return Check::fail(AUDIO_SERVICE, "coreaudiod is not running", fix);
    };
    let mut detail = format!("{} pid {}, {}", d.name, d.pid, user_text(d.uid, d.user.as_deref()));
    if o.simulated {
        detail.push_str(if d.hosts_driver {
            "; it hosts the driver itself (the simulated system has no separate driver-service helper)"
        } else {
            "; it hosts the drivers itself (the simulated system has no separate driver-service helper)"
        });
    } else if helpers.is_empty() {
        detail.push_str("; no Core Audio driver-service helper is running (on macOS 11 and later drivers run in one, started when a driver loads)");
    }
    for h in helpers {
        detail.push_str(&format!(
            "; driver helper \"{}\" pid {}, {}{}",
            h.name,
            h.pid,
            user_text(h.uid, h.user.as_deref()),
            if h.hosts_driver { ", hosts drivers" } else { "" }
        ));
    }
    Check::pass(AUDIO_SERVICE, detail)
}

fn check_device(o: &Observations) -> Check {
    let restart = format!(
        "restart the audio service so it loads the driver: `{}` (launchd starts it again); if Gecko Sink still does not appear, restart the computer",
        o.restart_audio
    );
    match &o.driver {
        Ok(DriverLoad::Loaded) => Check::pass(DEVICE, "the audio service lists Gecko Sink"),
        Ok(DriverLoad::NotLoaded(Some(why))) => Check::fail(
            DEVICE,
            format!("the audio service does not list Gecko Sink: {why}"),
            format!("reinstall the driver: `{}`", gecko(o, "install")),
        ),
        Ok(DriverLoad::NotLoaded(None)) => Check::fail(
            DEVICE,
            "the audio service does not list Gecko Sink (it has not loaded the driver since the driver was installed)",
            restart,
        ),
        Ok(DriverLoad::ServiceDown) => {
            Check::fail(DEVICE, "the audio service stopped while the doctor looked", restart)
        }
        Err(e) => Check::fail(DEVICE, format!("could not ask the audio service: {e}"), restart),
    }
}

fn check_ring_state(o: &Observations) -> Check {
    let reinstall = format!("install the driver of this gecko: `{}`", gecko(o, "install"));
    let text = match &o.ring_state {
        Err(e) => {
            return Check::fail(
                RING_STATE,
                format!("could not read the driver's ring state: {e}"),
                format!("restart the audio service: `{}`", o.restart_audio),
            );
        }
        Ok(None) => {
            return Check::fail(
                RING_STATE,
                "Gecko Sink does not publish its ring state (property 'gkrs'): the installed driver is older than this gecko",
                reinstall,
            );
        }
        Ok(Some(t)) => t,
    };
    let s = match DriverRingState::parse(text) {
        Ok(s) => s,
        Err(e) => return Check::fail(RING_STATE, e.to_string(), reinstall),
    };
    if !s.mapped {
        let retry = format!(
            "restart the audio service (`{}`) or start playing into Gecko Sink: the driver retries at every StartIO",
            o.restart_audio
        );
        let last = if s.open_errno != 0 { s.open_error.as_str() } else { "no attempt yet" };
        return match &o.writer_segment {
            // Pre-created by someone the driver cannot write as.
            Ok(Some(seg)) if o.driver_uid.is_some_and(|d| d != 0 && d != seg.uid) => Check::fail(
                RING_STATE,
                format!(
                    "{} was created by {}, but the driver runs as {} and cannot open it read-write ({last})",
                    s.writer,
                    uid_text(seg.uid),
                    uid_text(o.driver_uid.unwrap_or_default())
                ),
                format!(
                    "remove it (`{}` removes it, or restart the computer), then pre-create it as the driver's user: `{}`",
                    gecko(o, "uninstall"),
                    precreate_command(o)
                ),
            ),
            // Pre-created since the driver last tried.
            Ok(Some(_)) => Check::fail(
                RING_STATE,
                format!(
                    "the driver has not mapped {} (last attempt: {last}); the segment exists now, and the driver maps it at its next StartIO or start",
                    s.writer
                ),
                retry,
            ),
            _ => {
                let problem =
                    s.problem().unwrap_or_else(|| format!("the driver has not mapped its shared memory {}", s.writer));
                let fix = if s.open_errno == libc::EPERM || s.open_errno == libc::EACCES {
                    format!("pre-create the segment for the driver: `{}`, then {retry}", precreate_command(o))
                } else {
                    retry
                };
                Check::fail(RING_STATE, problem, fix)
            }
        };
    }
    let source = match s.source {
        SegmentSource::Created => "created by the driver",
        SegmentSource::Existing => "pre-created for it (`gecko ring precreate`)",
        SegmentSource::None => "of unknown origin",
    };
    let mut detail = format!(
        "the driver mapped {} ({} bytes, {source}), generation {}, {}",
        s.writer,
        s.segment_bytes,
        s.generation,
        if s.io_running { "IO running" } else { "idle (nothing plays into Gecko Sink)" }
    );
    if s.reader_faults > 0 {
        detail.push_str(&format!("; {} invalid reader-segment contents seen", s.reader_faults));
    }
    Check::pass(RING_STATE, detail)
}

fn segment_text(st: &SegmentStat) -> String {
    format!("{} bytes, mode {:o}, owner {}", st.size, st.mode, uid_text(st.uid))
}

/// What is wrong with the size or mode of segment `name` (`st` as `fstat`
/// says), if anything. Its size must be `nominal` bytes, at most rounded up to
/// the page (XNU's `pshm_truncate`); `nominal.1` says whose size that is, as
/// the message puts it. Its mode must be [`gecko_ring::abi::MODE`], so that
/// `reader` (the other side) can read it.
fn segment_shape_problem(name: &str, st: &SegmentStat, nominal: Option<(u64, String)>, reader: &str) -> Option<String> {
    if let Some((n, whose)) = nominal
        && !gecko_ring::abi::is_page_rounded_size(st.size, n)
    {
        return Some(format!("{name} is {} bytes, {whose} (at most rounded up to the page)", st.size));
    }
    (st.mode != gecko_ring::abi::MODE).then(|| {
        format!(
            "{name} has mode {:o}, expected {:o} (the {reader} must be able to read it)",
            st.mode,
            gecko_ring::abi::MODE
        )
    })
}

fn check_segments(o: &Observations) -> Check {
    let restart = format!("restart the audio service: `{}` (the driver re-creates its segment)", o.restart_audio);
    let state = ring_state(o);
    let writer = match &o.writer_segment {
        Err(e) => return Check::fail(SEGMENTS, format!("{}: {e}", o.ring), restart),
        Ok(None) => {
            return Check::fail(
                SEGMENTS,
                format!("{} does not exist, although the driver mapped it (removed while in use)", o.ring),
                restart,
            );
        }
        Ok(Some(st)) => *st,
    };
    let nominal = state.as_ref().map(|s| s.segment_bytes).filter(|&b| b > 0).or_else(|| {
        ring_now(o).map(|r| {
            gecko_ring::abi::WRITER_HEADER_SIZE as u64 + r.format.capacity_frames as u64 * r.format.channels as u64 * 4
        })
    });
    let nominal = nominal.map(|n| (n, format!("but the driver's ring is {n} bytes")));
    if let Some(why) = segment_shape_problem(&o.ring, &writer, nominal, "engine") {
        return Check::fail(SEGMENTS, why, restart);
    }
    // The driver must be able to open its segment read-write at its next
    // start: its own, or it runs as root.
    if let Some(d) = o.driver_uid
        && d != 0
        && writer.uid != d
    {
        return Check::fail(
            SEGMENTS,
            format!(
                "{} belongs to {}, but the driver runs as {}: it cannot open it read-write",
                o.ring,
                uid_text(writer.uid),
                uid_text(d)
            ),
            format!(
                "remove it (`{}` removes it, or restart the computer) and install again, or pre-create it as the driver's user: `{}`",
                gecko(o, "uninstall"),
                precreate_command(o)
            ),
        );
    }
    let reader_name = gecko_ring::reader_name(&o.ring);
    let reader = match &o.reader_segment {
        Err(e) => {
            return Check::fail(
                SEGMENTS,
                format!("{reader_name}: {e}"),
                format!("restart the engine: `{}`", engine_command(o)),
            );
        }
        Ok(None) => format!("{reader_name}: absent (no engine has attached yet)"),
        Ok(Some(st)) => {
            let want = gecko_ring::abi::READER_SEGMENT_SIZE as u64;
            if let Some(why) =
                segment_shape_problem(&reader_name, st, Some((want, format!("expected {want}"))), "driver")
            {
                let recreate =
                    format!("stop the engine and start it again (`{}`): it re-creates its segment", engine_command(o));
                return Check::fail(SEGMENTS, why, recreate);
            }
            format!("{reader_name}: {}", segment_text(st))
        }
    };
    Check::pass(SEGMENTS, format!("{}: {}; {reader}", o.ring, segment_text(&writer)))
}

fn check_engine(o: &Observations) -> Check {
    let start = format!("start it: `{}` (or Start engine in the Gecko app)", engine_command(o));
    let e = match &o.engine_before {
        Err(EngineErr::NotRunning) => {
            return Check::fail(
                ENGINE,
                format!("no engine is running (nothing listens on {})", o.socket.display()),
                start,
            );
        }
        Err(EngineErr::Other(why)) => {
            return Check::fail(
                ENGINE,
                format!("the engine on {} did not answer: {why}", o.socket.display()),
                format!("restart it: `{}`", engine_command(o)),
            );
        }
        Ok(e) => engine_obs(o).unwrap_or(e),
    };
    let s = &e.status;
    if s.ring != o.ring {
        return Check::fail(
            ENGINE,
            format!("the engine (pid {}) reads {}, but Gecko Sink's ring is {}", s.pid, s.ring, o.ring),
            format!("stop it and start it on Gecko Sink's ring: `gecko engine --shm-name {}`", display_quote(&o.ring)),
        );
    }
    if s.format.is_none() {
        return Check::fail(
            ENGINE,
            format!("the engine (pid {}) runs but has not attached to {}", s.pid, o.ring),
            format!("stop it and start it again: `{}`; its output says why it cannot attach", engine_command(o)),
        );
    }
    let attached = ring_now(o).map(|r| r.read_count.is_some());
    if attached == Some(false) {
        return Check::fail(
            ENGINE,
            format!(
                "the engine (pid {}) says it is attached, but its reader segment is not attached to the ring's current generation",
                s.pid
            ),
            format!(
                "run `gecko doctor` again in a moment (the engine re-attaches after a driver restart); if this stays, restart the engine: `{}`",
                engine_command(o)
            ),
        );
    }
    let generation = s.format.map(|f| f.generation).unwrap_or_default();
    Check::pass(
        ENGINE,
        format!(
            "engine {} pid {} attached to {} (generation {generation}), {}",
            s.engine_version,
            s.pid,
            o.ring,
            match &s.output_device {
                Some(d) => format!("playing on {d}"),
                None => "headless (no output device)".to_owned(),
            }
        ),
    )
}

fn check_reader(o: &Observations) -> Check {
    if !io_running(o) {
        return Check::pass(
            READER,
            "idle: nothing plays into Gecko Sink, so the driver has not taken up the engine's reader segment yet (it does when IO starts)",
        );
    }
    let state = ring_state(o).map(|s| s.reader_attached);
    let counters = ring_now(o).map(|r| r.writer.reader_attached);
    if state == Some(true) || counters == Some(true) {
        return Check::pass(READER, "the driver follows the engine's read position (flow control on)");
    }
    let faults = ring_now(o).map(|r| r.writer.reader_faults).unwrap_or(0);
    Check::fail(
        READER,
        format!(
            "Gecko Sink is playing, but the driver does not follow the engine's reader segment {}{}",
            gecko_ring::reader_name(&o.ring),
            if faults > 0 { format!(" ({faults} invalid contents seen)") } else { String::new() }
        ),
        format!(
            "restart the engine (`{}`); if that does not help, restart the audio service: `{}`",
            engine_command(o),
            o.restart_audio
        ),
    )
}

fn check_latency(o: &Observations) -> Check {
    let Some(e) = engine_obs(o) else { return Check::not_run(LATENCY, "not checked: no engine status") };
    let Some(d) = &e.status.drift else {
        return Check::not_run(LATENCY, "not checked: the engine reports no ring fill yet");
    };
    let target = match e.target_latency_ms {
        Some(t) => format!("target {t:.1} ms"),
        None => "the engine does not report its target (default 20 ms)".to_owned(),
    };
    let capacity_ms = ring_now(o).map(|r| r.format.capacity_frames as f64 / r.format.sample_rate * 1000.0);
    if !io_running(o) {
        return Check::pass(
            LATENCY,
            format!("idle: nothing plays into Gecko Sink; ring fill {:.1} ms; {target}", d.fill_ms),
        );
    }
    if let Some(cap) = capacity_ms
        && d.fill_ms > 0.75 * cap
    {
        return Check::fail(
            LATENCY,
            format!(
                "the ring is nearly full: {:.1} ms of {cap:.0} ms ({target}); the engine does not keep up",
                d.fill_ms
            ),
            format!("restart the engine (`{}`) and check that its output device plays", engine_command(o)),
        );
    }
    if let Some(t) = e.target_latency_ms
        && (d.fill_ms - t).abs() > t.max(20.0)
    {
        return Check::fail(
            LATENCY,
            format!("ring fill {:.1} ms, far from the engine's target {t:.1} ms", d.fill_ms),
            format!("restart the engine: `{}`", engine_command(o)),
        );
    }
    Check::pass(
        LATENCY,
        format!(
            "ring fill {:.1} ms; {target}{}",
            d.fill_ms,
            capacity_ms.map(|c| format!(", ring capacity {c:.0} ms")).unwrap_or_default()
        ),
    )
}

/// Beyond this clock mismatch Gecko's drift control is not designed to hold
/// (DESIGN: realistic ±100 ppm, survives ±1000 ppm).
pub const DRIFT_LIMIT_PPM: f64 = 1000.0;

fn check_drift(o: &Observations) -> Check {
    let Some(e) = engine_obs(o) else { return Check::not_run(DRIFT, "not checked: no engine status") };
    let Some(d) = &e.status.drift else {
        return Check::not_run(DRIFT, "not checked: the engine reports no drift state yet");
    };
    let Some(actuator) = &d.actuator else {
        return Check::pass(DRIFT, "no drift control: the engine plays on no output device (headless)");
    };
    if !io_running(o) {
        return Check::pass(DRIFT, format!("idle ({actuator}): drift control waits for audio"));
    }
    let ppm = if d.applied_ppm.abs() > d.correction_ppm.abs() { d.applied_ppm } else { d.correction_ppm };
    if ppm.abs() > DRIFT_LIMIT_PPM {
        return Check::fail(
            DRIFT,
            format!(
                "a clock mismatch of {ppm:+.0} ppm ({actuator}): more than Gecko corrects (±{DRIFT_LIMIT_PPM:.0} ppm); the output device's real rate is not what it reports"
            ),
            "play on another output device: `gecko ctl device NAME` (`gecko devices` lists them)",
        );
    }
    if d.locked {
        Check::pass(DRIFT, format!("locked, {:+.1} ppm ({actuator})", d.applied_ppm))
    } else {
        Check::pass(
            DRIFT,
            format!(
                "locking ({actuator}, phase {}), correction {:+.1} ppm",
                d.phase.map_or("?", |p| p.name()),
                d.correction_ppm
            ),
        )
    }
}

fn check_xruns(o: &Observations) -> Check {
    let (Some(Ok(a)), Some(Ok(b))) = (&o.ring_before, &o.ring_after) else {
        return Check::not_run(XRUNS, "not checked: the ring could not be read twice");
    };
    let secs = o.window.as_secs_f64();
    if a.format.generation != b.format.generation {
        return Check::fail(
            XRUNS,
            format!(
                "the driver started a new ring generation during the doctor's {secs:.1} s look ({} → {})",
                a.format.generation, b.format.generation
            ),
            "run `gecko doctor` again; if the generation keeps changing, the audio service keeps restarting: see its log",
        );
    }
    let overruns = b.writer.overrun_events.saturating_sub(a.writer.overrun_events);
    let reader_underruns = match (a.reader, b.reader) {
        (Some(x), Some(y)) => y.underrun_events.saturating_sub(x.underrun_events),
        _ => 0,
    };
    let engine_underrun_frames =
        match (o.engine_before.as_ref().ok(), o.engine_after.as_ref().and_then(|e| e.as_ref().ok())) {
            (Some(x), Some(y)) if x.status.pid == y.status.pid => match (&x.status.drift, &y.status.drift) {
                (Some(dx), Some(dy)) => dy.underrun_frames.saturating_sub(dx.underrun_frames),
                _ => 0,
            },
            _ => 0,
        };
    let totals = format!(
        "totals: {} overruns, {} underruns",
        b.writer.overrun_events,
        b.reader.map(|r| r.underrun_events).unwrap_or(0)
    );
    if overruns == 0 && reader_underruns == 0 && engine_underrun_frames == 0 {
        return Check::pass(XRUNS, format!("none during the doctor's {secs:.1} s look ({totals})"));
    }
    let mut what = Vec::new();
    if overruns > 0 {
        what.push(format!("{overruns} overrun(s): the driver found the ring full (the engine fell behind)"));
    }
    if reader_underruns > 0 || engine_underrun_frames > 0 {
        what.push(format!(
            "{reader_underruns} underrun(s), {engine_underrun_frames} frames of silence: the engine ran out of audio"
        ));
    }
    let fix = if overruns > 0 {
        format!(
            "the engine does not keep up: check its output device and the CPU load, and restart it (`{}`)",
            engine_command(o)
        )
    } else {
        format!(
            "give the engine more headroom: restart it with a higher target latency (`{} --target-latency-ms 40`)",
            engine_command(o)
        )
    };
    Check::fail(XRUNS, format!("during the doctor's {secs:.1} s look: {} ({totals})", what.join("; ")), fix)
}

fn check_loopback(o: &Observations) -> Check {
    let Some(Ok(ring)) = o.ring_after.as_ref().or(o.ring_before.as_ref()) else {
        return Check::not_run(LOOPBACK, "not checked: the ring could not be read");
    };
    let l = &ring.loopback;
    let engine = o.engine_after.as_ref().and_then(|e| e.as_ref().ok()).or(o.engine_before.as_ref().ok());
    let info = engine.and_then(|e| e.status.loopback.clone());
    let requested = info.as_ref().and_then(|i| i.requested).map(|t| t.name());
    let active = l.tap.map(|t| t.name());
    let recording = match (&o.ring_before, &o.ring_after) {
        (Some(Ok(a)), Some(Ok(b))) => b.loopback.input_cycles > a.loopback.input_cycles,
        _ => false,
    };
    let serving = match active {
        Some(t) => format!("the driver serves the {t} tap"),
        None => "no app has recorded Gecko Sink since the driver started (it starts with the pre tap)".into(),
    };
    let apps = if recording { "an app records Gecko Sink now" } else { "no app records Gecko Sink now" };
    if l.post_faults > 0 {
        return Check::fail(
            LOOPBACK,
            format!("{serving}; the driver refused {} invalid loopback-segment contents", l.post_faults),
            format!("restart the engine (`{}`): its loopback segment was corrupt", engine_command(o)),
        );
    }
    if let (Some(want), Some(have)) = (requested, active)
        && recording
        && want != have
    {
        return Check::fail(
            LOOPBACK,
            format!("the engine asks for the {want} tap but the driver serves {have}"),
            format!("restart the engine (`{}`); if it persists, restart the audio service", engine_command(o)),
        );
    }
    if active == Some("post") && recording {
        match &info {
            Some(i) if !i.post_available => {
                return Check::fail(
                    LOOPBACK,
                    format!(
                        "{serving}, but the engine does not feed it (headless, or its output runs at another rate than Gecko Sink): recording apps get silence"
                    ),
                    "play through an output device at Gecko Sink's rate (`gecko engine --device NAME`), or `gecko loopback pre`",
                );
            }
            None => {
                return Check::fail(
                    LOOPBACK,
                    format!("{serving}, but no engine runs: recording apps get silence"),
                    format!("start the engine (`{}`), or `gecko loopback pre`", engine_command(o)),
                );
            }
            _ => {}
        }
    }
    Check::pass(LOOPBACK, format!("{serving}; {apps} ({} input cycles so far)", l.input_cycles))
}

/// Judges the observations: the checks in [`CHECKS`] order. No I/O.
pub fn judge(o: &Observations) -> Vec<Check> {
    let mut out: Vec<Check> = Vec::with_capacity(CHECKS.len());
    for id in CHECKS {
        let blocked = depends_on(id).iter().find(|dep| out.iter().any(|c| c.check == **dep && c.ok != Some(true)));
        if let Some(dep) = blocked {
            let failed = out.iter().any(|c| c.check == *dep && c.ok == Some(false));
            out.push(Check::not_run(
                id,
                format!("not checked: needs \"{dep}\", which {}", if failed { "failed" } else { "was not checked" }),
            ));
            continue;
        }
        out.push(match id {
            BUNDLE => check_bundle(o),
            OWNERSHIP => check_ownership(o),
            SIGNATURE => check_signature(o),
            QUARANTINE => check_quarantine(o),
            AUDIO_SERVICE => check_audio_service(o),
            DEVICE => check_device(o),
            RING_STATE => check_ring_state(o),
            SEGMENTS => check_segments(o),
            ENGINE => check_engine(o),
            READER => check_reader(o),
            LATENCY => check_latency(o),
            DRIFT => check_drift(o),
            XRUNS => check_xruns(o),
            LOOPBACK => check_loopback(o),
            _ => unreachable!("every id in CHECKS is judged"),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_segment_must_have_its_size_at_most_page_rounded_and_mode_644() {
        let st = |size, mode| SegmentStat { size, mode, uid: 0, gid: 0 };
        let want = || Some((384, "expected 384".to_owned()));
        // Linux's exact size and macOS's 16 KiB page are both right.
        assert_eq!(segment_shape_problem("/g.rd", &st(384, 0o644), want(), "driver"), None);
        assert_eq!(segment_shape_problem("/g.rd", &st(16384, 0o644), want(), "driver"), None);
        assert_eq!(
            segment_shape_problem("/g.rd", &st(40000, 0o644), want(), "driver").as_deref(),
            Some("/g.rd is 40000 bytes, expected 384 (at most rounded up to the page)")
        );
        assert_eq!(
            segment_shape_problem("/g", &st(262656, 0o600), None, "engine").as_deref(),
            Some("/g has mode 600, expected 644 (the engine must be able to read it)")
        );
    }
    use gecko_control::{DriftInfo, FormatInfo};
    use gecko_ring::{ReaderCounters, RingFormat, WriterCounters, WriterState};

    const RING: &str = "/GeckoDoc";

    fn ring_state_text(mapped: bool, io: bool, attached: bool) -> String {
        format!(
            "writer={RING}\nreader={RING}.rd\nmapped={}\nsegment_bytes=262656\nopen_errno={}\nopen_error={}\n\
             source={}\nreader_attached={}\nreader_faults=0\ngeneration=7\nio_running={}\n",
            mapped as u8,
            if mapped { 0 } else { libc::EPERM },
            if mapped { "" } else { "Operation not permitted" },
            if mapped { "created" } else { "none" },
            attached as u8,
            io as u8,
        )
    }

    fn ring(overruns: u64, underruns: u64, io: bool) -> RingStatus {
        RingStatus {
            format: RingFormat {
                channels: 2,
                sample_rate: 48000.0,
                capacity_frames: 32768,
                generation: 7,
                header_size: 512,
                writer_pid: 1,
            },
            state: WriterState {
                generation: 7,
                sample_rate: 48000.0,
                zts_sample_time: 0.0,
                zts_host_time: 0,
                zts_seed: 1,
                host_ticks_per_frame: 1.0,
                host_ticks_per_second: 48000.0,
                volume_scalar: 1.0,
                mute: false,
                io_running: io,
                zts_period_frames: 512,
                clock_adjust_ppm: 0.0,
            },
            write_count: 10_000,
            read_count: Some(9_040),
            writer: WriterCounters { overrun_events: overruns, reader_attached: io, ..WriterCounters::default() },
            reader: Some(ReaderCounters { read_count: 9_040, underrun_events: underruns, ..ReaderCounters::default() }),
            loopback: gecko_ring::LoopbackCounters::default(),
        }
    }

    fn engine(fill_ms: f64, ppm: f64, locked: bool) -> EngineObs {
        EngineObs {
            status: Status {
                engine_version: "0.1.0".into(),
                pid: 4242,
                ring: RING.into(),
                format: Some(FormatInfo { channels: 2, sample_rate: 48000.0, generation: 7 }),
                output_device: Some("Speakers".into()),
                output_losses: 0,
                drift: Some(DriftInfo {
                    actuator: Some(gecko_control::DriftActuator::Steering),
                    phase: Some(if locked {
                        gecko_control::DriftPhase::Track
                    } else {
                        gecko_control::DriftPhase::Settle
                    }),
                    correction_ppm: ppm,
                    applied_ppm: ppm,
                    locked,
                    fill_frames: fill_ms * 48.0,
                    fill_ms,
                    underrun_frames: 0,
                }),
                idle: false,
                writer: None,
                recording: None,
                params: gecko_dsp::ChainParams::bypass(),
                preset: None,
                clients: 1,
                loopback: None,
            },
            target_latency_ms: None,
        }
    }

    /// A Mac where Gecko Sink is playing through a locked engine.
    fn playing() -> Observations {
        let seg = |size| SegmentStat { size, mode: 0o644, uid: 501, gid: 20 };
        Observations {
            simulated: false,
            root: "/".into(),
            ring: RING.into(),
            bundle_path: "/Library/Audio/Plug-Ins/HAL/GeckoAudioDevice.driver".into(),
            bundle: BundleObs::Present {
                version: Some(env!("CARGO_PKG_VERSION").into()),
                executable: true,
                owner: OwnerExpectation::Root,
                tree_problems: vec![],
                signature: Signature::Verified("certificate (CMS), hardened runtime, 2 slice(s) verified".into()),
                quarantined: Ok(vec![]),
            },
            expected_version: env!("CARGO_PKG_VERSION").into(),
            processes: Ok(vec![
                ServiceProcess {
                    pid: 100,
                    name: "coreaudiod".into(),
                    resident_bytes: 1 << 24,
                    hosts_driver: false,
                    uid: Some(202),
                    user: Some("_coreaudiod".into()),
                },
                ServiceProcess {
                    pid: 101,
                    name: "com.apple.audio.Core-Audio-Driver-Service.helper".into(),
                    resident_bytes: 1 << 22,
                    hosts_driver: true,
                    uid: Some(202),
                    user: Some("_coreaudiod".into()),
                },
            ]),
            driver: Ok(DriverLoad::Loaded),
            ring_state: Ok(Some(ring_state_text(true, true, true))),
            writer_segment: Ok(Some(SegmentStat { uid: 202, ..seg(262_656 + 16384 - 262_656 % 16384) })),
            reader_segment: Ok(Some(seg(16384))),
            driver_uid: Some(202),
            ring_before: Some(Ok(ring(3, 1, true))),
            ring_after: Some(Ok(ring(3, 1, true))),
            socket: "/tmp/gecko-501/engine.sock".into(),
            engine_before: Ok(engine(20.3, 12.5, true)),
            engine_after: Some(Ok(engine(20.1, 12.4, true))),
            window: Duration::from_secs(1),
            restart_audio: "sudo killall coreaudiod".into(),
        }
    }

    fn get<'a>(checks: &'a [Check], id: &str) -> &'a Check {
        checks.iter().find(|c| c.check == id).unwrap()
    }

    fn failures(checks: &[Check]) -> Vec<&'static str> {
        checks.iter().filter(|c| c.ok == Some(false)).map(|c| c.check).collect()
    }

    #[test]
    fn a_playing_mac_passes_every_check() {
        let c = judge(&playing());
        assert_eq!(c.iter().map(|c| c.check).collect::<Vec<_>>(), CHECKS);
        assert!(all_passed(&c) && c.iter().all(|c| c.ok == Some(true) && c.fix.is_none()), "{c:#?}");
        assert!(get(&c, AUDIO_SERVICE).detail.contains("user _coreaudiod (uid 202)"), "{c:#?}");
        assert!(get(&c, AUDIO_SERVICE).detail.contains("Core-Audio-Driver-Service"), "{c:#?}");
        assert_eq!(get(&c, READER).detail, "the driver follows the engine's read position (flow control on)");
        assert_eq!(get(&c, DRIFT).detail, "locked, +12.4 ppm (steering)");
        assert!(
            get(&c, LATENCY).detail.starts_with("ring fill 20.1 ms; the engine does not report its target"),
            "{c:#?}"
        );
        assert!(
            get(&c, XRUNS).detail.contains("none during the doctor's 1.0 s look (totals: 3 overruns, 1 underruns)")
        );
    }

    #[test]
    fn the_loopback_check_says_what_recording_apps_get() {
        use gecko_control::{LoopbackInfo, LoopbackTap};
        // Nobody records: a pass that says so.
        let c = judge(&playing());
        assert!(get(&c, LOOPBACK).detail.contains("no app has recorded Gecko Sink"), "{c:#?}");
        // An app records the post tap while the engine feeds it: pass.
        let recording = |tap: gecko_ring::Tap, post_available: bool, requested: LoopbackTap| {
            let mut o = playing();
            let mut before = ring(3, 1, true);
            before.loopback.tap = Some(tap);
            let mut after = before;
            after.loopback.input_cycles = 100;
            (o.ring_before, o.ring_after) = (Some(Ok(before)), Some(Ok(after)));
            let mut e = engine(20.0, 12.0, true);
            e.status.loopback = Some(LoopbackInfo { requested: Some(requested), post_available, ..Default::default() });
            o.engine_after = Some(Ok(e));
            o
        };
        let c = judge(&recording(gecko_ring::Tap::Post, true, LoopbackTap::Post));
        let l = get(&c, LOOPBACK);
        assert_eq!(l.ok, Some(true), "{l:?}");
        assert!(l.detail.contains("serves the post tap; an app records Gecko Sink now"), "{l:?}");
        // Post asked for but not fed (headless engine): the app records silence.
        let c = judge(&recording(gecko_ring::Tap::Post, false, LoopbackTap::Post));
        assert_eq!(failures(&c), [LOOPBACK]);
        assert!(get(&c, LOOPBACK).fix.as_deref().unwrap().contains("gecko loopback pre"));
        // The driver does not serve what the engine asks for.
        let c = judge(&recording(gecko_ring::Tap::Pre, true, LoopbackTap::Off));
        assert_eq!(failures(&c), [LOOPBACK]);
        assert!(get(&c, LOOPBACK).detail.contains("asks for the off tap but the driver serves pre"));
    }

    #[test]
    fn counters_that_grow_during_the_look_fail_the_xruns_check() {
        let mut o = playing();
        o.ring_after = Some(Ok(ring(5, 1, true)));
        let c = judge(&o);
        assert_eq!(failures(&c), [XRUNS]);
        let x = get(&c, XRUNS);
        assert!(x.detail.contains("2 overrun(s): the driver found the ring full"), "{x:?}");
        assert!(x.fix.as_deref().unwrap().contains("does not keep up"), "{x:?}");

        let mut o = playing();
        o.ring_after = Some(Ok(ring(3, 4, true)));
        let x = judge(&o).into_iter().find(|c| c.check == XRUNS).unwrap();
        assert_eq!(x.ok, Some(false));
        assert!(x.detail.contains("3 underrun(s)"), "{x:?}");
        assert!(x.fix.unwrap().contains("--target-latency-ms 40"));

        // The engine's own count of silence frames, too.
        let mut o = playing();
        let mut e = engine(20.0, 12.0, true);
        e.status.drift.as_mut().unwrap().underrun_frames = 512;
        o.engine_after = Some(Ok(e));
        assert_eq!(failures(&judge(&o)), [XRUNS]);
    }

    #[test]
    fn a_full_ring_a_far_fill_and_an_absurd_clock_are_clearly_wrong() {
        let mut o = playing();
        o.engine_after = Some(Ok(engine(600.0, 10.0, true))); // of 682 ms
        let c = judge(&o);
        assert_eq!(failures(&c), [LATENCY]);
        assert!(get(&c, LATENCY).detail.starts_with("the ring is nearly full: 600.0 ms of 683 ms"), "{c:#?}");

        let mut o = playing();
        let mut e = engine(90.0, 10.0, true);
        e.target_latency_ms = Some(20.0);
        o.engine_after = Some(Ok(e));
        let c = judge(&o);
        assert_eq!(failures(&c), [LATENCY]);
        assert_eq!(get(&c, LATENCY).detail, "ring fill 90.0 ms, far from the engine's target 20.0 ms");

        // Against an unreported target, 90 ms is no fault; while idle, nothing is.
        let mut o = playing();
        o.engine_after = Some(Ok(engine(90.0, 10.0, true)));
        assert!(all_passed(&judge(&o)));
        let mut o = playing();
        let mut e = engine(90.0, 10.0, true);
        e.target_latency_ms = Some(20.0);
        o.engine_after = Some(Ok(e));
        o.ring_state = Ok(Some(ring_state_text(true, false, false)));
        o.ring_before = Some(Ok(ring(3, 1, false)));
        o.ring_after = Some(Ok(ring(3, 1, false)));
        assert!(all_passed(&judge(&o)));

        let mut o = playing();
        o.engine_after = Some(Ok(engine(20.0, 2500.0, false)));
        let c = judge(&o);
        assert_eq!(failures(&c), [DRIFT]);
        assert!(get(&c, DRIFT).detail.contains("+2500 ppm"), "{c:#?}");
        // Locking at a plausible rate is fine.
        let mut o = playing();
        o.engine_after = Some(Ok(engine(20.0, -80.0, false)));
        let c = judge(&o);
        assert!(all_passed(&c));
        assert_eq!(get(&c, DRIFT).detail, "locking (steering, phase settle), correction -80.0 ppm");
    }

    #[test]
    fn a_playing_device_whose_driver_ignores_the_engine_fails_the_reader_check() {
        let mut o = playing();
        o.ring_state = Ok(Some(ring_state_text(true, true, false)));
        let mut r = ring(3, 1, true);
        r.writer.reader_attached = false;
        o.ring_before = Some(Ok(r));
        o.ring_after = Some(Ok(r));
        let c = judge(&o);
        assert_eq!(failures(&c), [READER]);
        assert!(get(&c, READER).detail.contains(&format!("does not follow the engine's reader segment {RING}.rd")));
        // Idle, the same is expected.
        let mut o = playing();
        o.ring_state = Ok(Some(ring_state_text(true, false, false)));
        let idle = ring(3, 1, false);
        o.ring_before = Some(Ok(idle));
        o.ring_after = Some(Ok(idle));
        let c = judge(&o);
        assert!(all_passed(&c), "{c:#?}");
        assert!(get(&c, READER).detail.starts_with("idle"), "{c:#?}");
        assert!(get(&c, DRIFT).detail.starts_with("idle"), "{c:#?}");
    }

    #[test]
    fn signatures_macos_quarantine_and_versions() {
        let with = |sig: Signature, simulated: bool| {
            let mut o = playing();
            o.simulated = simulated;
            if let BundleObs::Present { signature, .. } = &mut o.bundle {
                *signature = sig;
            }
            get(&judge(&o), SIGNATURE).clone()
        };
        let c = with(Signature::Refused("CodeDirectory hash mismatch".into()), false);
        assert_eq!((c.ok, c.detail.as_str()), (Some(false), "code signature refused: CodeDirectory hash mismatch"));
        assert!(c.fix.unwrap().ends_with("then `gecko install`"));
        let c = with(Signature::Elf, false);
        assert_eq!(c.ok, Some(false), "an ELF bundle on a Mac");
        let c = with(Signature::Elf, true);
        assert_eq!((c.ok, c.detail.as_str()), (Some(true), "not applicable (simulated system: ELF bundle)"));
        let c = with(Signature::NoVerifier, false);
        assert_eq!(c.ok, None, "not checked, not a pass");

        let mut o = playing();
        if let BundleObs::Present { quarantined, .. } = &mut o.bundle {
            *quarantined = Ok(vec![o.bundle_path.clone()]);
        }
        let c = judge(&o);
        assert_eq!(failures(&c), [QUARANTINE]);
        assert_eq!(
            get(&c, QUARANTINE).fix.as_deref(),
            Some("sudo xattr -dr com.apple.quarantine /Library/Audio/Plug-Ins/HAL/GeckoAudioDevice.driver")
        );

        let mut o = playing();
        if let BundleObs::Present { version, .. } = &mut o.bundle {
            *version = Some("0.0.9".into());
        }
        let c = judge(&o);
        assert_eq!(failures(&c), [BUNDLE]);
        assert!(
            get(&c, BUNDLE)
                .detail
                .ends_with(&format!("driver version 0.0.9, but this gecko is {}", env!("CARGO_PKG_VERSION")))
        );
        assert_eq!(get(&c, OWNERSHIP).detail, "not checked: needs \"bundle\", which failed");
    }

    #[test]
    fn a_refused_segment_on_a_mac_names_precreate_as_coreaudiod_and_skips_what_needs_the_ring() {
        let mut o = playing();
        o.ring_state = Ok(Some(ring_state_text(false, false, false)));
        o.writer_segment = Ok(None);
        o.reader_segment = Ok(None);
        o.ring_before = None;
        o.ring_after = None;
        let c = judge(&o);
        assert_eq!(failures(&c), [RING_STATE]);
        let r = get(&c, RING_STATE);
        assert!(r.detail.contains("plug-in sandbox refused it"), "{r:?}");
        assert!(
            r.fix.as_deref().unwrap().starts_with(
                "pre-create the segment for the driver: `sudo -u _coreaudiod gecko ring precreate --shm-name /GeckoDoc`"
            ),
            "{r:?}"
        );
        assert_eq!(get(&c, SEGMENTS).detail, "not checked: needs \"ring-state\", which failed");
        assert_eq!(get(&c, ENGINE).detail, "not checked: needs \"segments\", which was not checked");

        // Pre-created by the wrong user: the driver cannot open it.
        let mut o = playing();
        o.ring_state = Ok(Some(
            ring_state_text(false, false, false)
                .replace("open_errno=1", "open_errno=13")
                .replace("Operation not permitted", "Permission denied"),
        ));
        o.writer_segment = Ok(Some(SegmentStat { size: 262_656, mode: 0o644, uid: 0, gid: 0 }));
        let r = get(&judge(&o), RING_STATE).clone();
        assert!(
            r.detail.contains("but the driver runs as uid 202")
                || r.detail.contains("but the driver runs as _coreaudiod (uid 202)"),
            "{r:?}"
        );
        assert!(r.fix.unwrap().contains(
            "pre-create it as the driver's user: `sudo -u _coreaudiod gecko ring precreate --shm-name /GeckoDoc`"
        ));
    }

    #[test]
    fn segments_of_the_wrong_size_or_mode_and_engines_on_the_wrong_ring() {
        let mut o = playing();
        o.writer_segment = Ok(Some(SegmentStat { size: 4096, mode: 0o644, uid: 202, gid: 0 }));
        let c = judge(&o);
        assert_eq!(failures(&c), [SEGMENTS]);
        assert!(
            get(&c, SEGMENTS).detail.starts_with("/GeckoDoc is 4096 bytes, but the driver's ring is 262656 bytes"),
            "{c:#?}"
        );

        let mut o = playing();
        o.reader_segment = Ok(Some(SegmentStat { size: 16384, mode: 0o600, uid: 501, gid: 20 }));
        let c = judge(&o);
        assert_eq!(failures(&c), [SEGMENTS]);
        assert!(get(&c, SEGMENTS).detail.contains("/GeckoDoc.rd has mode 600, expected 644"), "{c:#?}");

        let mut o = playing();
        let mut e = engine(20.0, 1.0, true);
        e.status.ring = "/Other".into();
        o.engine_before = Ok(e.clone());
        o.engine_after = Some(Ok(e));
        let c = judge(&o);
        assert_eq!(failures(&c), [ENGINE]);
        assert_eq!(get(&c, ENGINE).detail, "the engine (pid 4242) reads /Other, but Gecko Sink's ring is /GeckoDoc");
        assert_eq!(
            get(&c, ENGINE).fix.as_deref(),
            Some("stop it and start it on Gecko Sink's ring: `gecko engine --shm-name /GeckoDoc`")
        );
        for id in [READER, LATENCY, DRIFT, XRUNS] {
            assert_eq!(get(&c, id).ok, None);
        }
    }

    #[test]
    fn text_has_one_line_per_check_and_a_fix_under_each_failure_and_json_has_the_four_keys() {
        let mut o = playing();
        o.driver = Ok(DriverLoad::NotLoaded(None));
        let c = judge(&o);
        assert_eq!(failures(&c), [DEVICE]);
        let text = render_text(&c);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), CHECKS.len() + 1, "{text}");
        let i = lines.iter().position(|l| l.starts_with("✘ device ")).unwrap();
        assert!(
            lines[i + 1]
                .trim_start()
                .starts_with("fix: restart the audio service so it loads the driver: `sudo killall coreaudiod`"),
            "{text}"
        );
        assert!(lines[i + 2].starts_with("– ring-state "), "{text}");
        let v: serde_json::Value = serde_json::from_str(&render_json(&c)).unwrap();
        let a = v.as_array().unwrap();
        assert_eq!(a.len(), CHECKS.len());
        for (j, item) in a.iter().enumerate() {
            let mut keys: Vec<&str> = item.as_object().unwrap().keys().map(String::as_str).collect();
            keys.sort_unstable();
            assert_eq!(keys, ["check", "detail", "fix", "ok"], "{item}");
            assert_eq!(item["check"], CHECKS[j]);
        }
        assert_eq!(a[5]["ok"], false);
        assert!(a[6]["ok"].is_null() && a[6]["fix"].is_null());
        assert!(!all_passed(&c));
    }
}
