//! What the app does, without Tauri: every action of the tray menu and the
//! window is a method here, built on the crates the CLI uses
//! (gecko-control for the engine, gecko-install and gecko-platform for the
//! driver and the system output, gecko-dsp for presets and the EQ curve).
//! The Tauri commands ([`crate::commands`]) and the tray ([`crate::tray`])
//! are thin adapters over it.

use gecko_control::{Applied, ClientError, ControlClient, LoopbackInfo, LoopbackTap, Status};
use gecko_dsp::{ChainParams, EqBand, EqParams, Preset};
use gecko_install::{DeviceOutcome, Installer, RingHealth};
use gecko_platform::output::{OutputSwitch, Restored};
use gecko_platform::{AudioPlatform, DriverLoad, PlatformError};
use gecko_services::{
    EngineSupervisor, LaunchAgent, Locations, PresetStore, PresetStoreError, Started, SupervisorError,
};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// An error the window shows: a message for people, and when there is one,
/// the action that fixes it (the window shows it as a button).
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct UiError {
    /// `engine_not_running`, `driver_not_installed`, `cancelled`, `invalid`,
    /// `exists` (a preset by that name: replace it or choose another), `failed`.
    pub code: &'static str,
    /// What happened and what to do.
    pub message: String,
    /// The fixing action's command (`start_engine`, `install_driver`), if any.
    pub action: Option<&'static str>,
}

impl UiError {
    fn new(code: &'static str, message: impl Into<String>) -> UiError {
        UiError { code, message: message.into(), action: None }
    }
    fn with_action(mut self, action: &'static str) -> UiError {
        self.action = Some(action);
        self
    }
}

impl From<ClientError> for UiError {
    fn from(e: ClientError) -> UiError {
        match e {
            ClientError::NotRunning(_) | ClientError::Closed => {
                UiError::new("engine_not_running", format!("the engine is not running — Start engine ({e})"))
                    .with_action("start_engine")
            }
            ClientError::Engine(b) => UiError::new("invalid", b.message),
            e => UiError::new("failed", e.to_string()),
        }
    }
}

impl From<PlatformError> for UiError {
    fn from(e: PlatformError) -> UiError {
        match e {
            PlatformError::NotListed => UiError::new(
                "driver_not_installed",
                "driver not installed — Install (Gecko Sink is not listed by the audio system)",
            )
            .with_action("install_driver"),
            PlatformError::Cancelled(_) => UiError::new("cancelled", format!("admin prompt cancelled: {e}")),
            e => UiError::new("failed", e.to_string()),
        }
    }
}

impl From<PresetStoreError> for UiError {
    fn from(e: PresetStoreError) -> UiError {
        match e {
            PresetStoreError::Io { .. } => UiError::new("failed", e.to_string()),
            PresetStoreError::Exists { .. } => UiError::new("exists", e.to_string()),
            e => UiError::new("invalid", e.to_string()),
        }
    }
}

impl From<SupervisorError> for UiError {
    fn from(e: SupervisorError) -> UiError {
        match e {
            SupervisorError::Client(c) => c.into(),
            e => UiError::new("failed", e.to_string()),
        }
    }
}

impl From<gecko_install::InstallError> for UiError {
    fn from(e: gecko_install::InstallError) -> UiError {
        match e {
            gecko_install::InstallError::Platform(p) => p.into(),
            e => UiError::new("failed", e.to_string()),
        }
    }
}

/// Where things are. Read from the environment once ([`Paths::from_env`]).
#[derive(Debug, Clone)]
pub struct Paths {
    /// The engine's control socket (`GECKO_CONTROL_SOCKET`, else gecko-control's default).
    pub socket: PathBuf,
    /// The `gecko` CLI, which runs the engine and the simulated audio host
    /// (`GECKO_BIN`, else next to this executable, else on `PATH`).
    pub gecko_exe: Option<PathBuf>,
    /// Linux: the simulated system root (`GECKO_SIM_ROOT`, else
    /// `$XDG_DATA_HOME/gecko/sim-root`). `None` on macOS.
    pub sim_root: Option<PathBuf>,
    /// The user's presets (`GECKO_PRESETS_DIR`, else `~/.config/gecko/presets`,
    /// on macOS `~/Library/Application Support/Gecko/Presets`).
    pub presets_dir: PathBuf,
    /// The driver bundle to install (`GECKO_DRIVER_BUNDLE`, else the one built
    /// with this app on Linux, or `Gecko.app/Contents/PlugIns` on macOS).
    pub bundle: Option<PathBuf>,
    /// The saved loopback tap (`GECKO_LOOPBACK_FILE`, else `loopback` next to
    /// the presets folder: [`gecko_services::loopback::saved_tap_path`]), the
    /// file `gecko loopback` writes and every engine start reads.
    pub loopback_file: PathBuf,
}

impl Paths {
    /// From the environment: gecko-services' [`Locations`] (the same as the
    /// CLI's), and the bundle to install.
    pub fn from_env() -> Paths {
        let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
        let Locations { socket, presets_dir, sim_root, gecko_exe } = Locations::from_env();
        let bundle = var("GECKO_DRIVER_BUNDLE").or_else(|| {
            let exe = std::env::current_exe().ok()?;
            let in_app = exe.parent()?.parent()?.join("PlugIns").join(gecko_platform::BUNDLE_NAME);
            #[cfg(not(target_os = "macos"))]
            let built = Some(gecko_driver_bundle::bundle_path().to_path_buf());
            #[cfg(target_os = "macos")]
            let built: Option<PathBuf> = None;
            std::iter::once(in_app).chain(built).find(|b| b.is_dir())
        });
        let loopback_file = gecko_services::loopback::saved_tap_path();
        Paths { socket, gecko_exe, sim_root, presets_dir, bundle, loopback_file }
    }
}

/// The driver as the health check sees it.
#[derive(Debug, Clone, Serialize)]
pub struct DriverView {
    /// Whether the bundle is in the HAL folder.
    pub installed: bool,
    /// Its CFBundleVersion.
    pub version: Option<String>,
    /// Whether the audio service lists Gecko Sink.
    pub loaded: bool,
    /// "loaded", "not loaded: …", "audio service not running".
    pub load_text: String,
    /// What is wrong with the installed files.
    pub problems: Vec<String>,
    /// Where it is (or would be) installed.
    pub path: String,
    /// Whether an engine is attached to the driver's ring.
    pub engine_attached: bool,
}

/// One process of the audio service.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceView {
    /// Process id.
    pub pid: u32,
    /// Its name.
    pub name: String,
    /// Resident memory, MiB.
    pub resident_mib: f64,
    /// Whether it hosts Gecko's driver.
    pub hosts_driver: bool,
}

/// Everything the status line and the health panel show.
#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    /// "macOS" or "simulated (Linux)".
    pub platform: String,
    /// The system root ("/" on macOS).
    pub root: String,
    /// The driver.
    pub driver: DriverView,
    /// The audio service's processes (coreaudiod and the driver helper).
    pub service: Vec<ServiceView>,
    /// The engine's status, when one answers.
    pub engine: Option<Status>,
    /// Why there is no engine status.
    pub engine_error: Option<UiError>,
    /// The system's default output's name.
    pub default_output: Option<String>,
    /// Whether that is Gecko Sink.
    pub gecko_is_default: bool,
    /// The output Gecko Sink replaced (restored on quit).
    pub remembered_output: Option<String>,
    /// Things that happened that the person should know (oldest first).
    pub notices: Vec<String>,
    /// The one-line summary the tray and the window's header show ([`Overview::summary`]).
    pub status_line: String,
    /// The presets' names as [`Ctx::presets`] lists them (built-ins first):
    /// the tray's "Preset" submenu follows it.
    pub preset_names: Vec<String>,
    /// Gecko Sink's input stream: the tap chosen and what the driver serves
    /// (the window's Loopback section follows it).
    pub loopback: LoopbackState,
}

impl Overview {
    /// The one-line status: driver, engine, output, drift, xruns.
    pub fn summary(&self) -> String {
        let driver = match (&self.driver.installed, &self.driver.loaded, &self.driver.version) {
            (false, _, _) => "driver not installed".to_owned(),
            (true, true, v) => format!("driver {} loaded", v.as_deref().unwrap_or("?")),
            (true, false, _) => "driver installed, not loaded".to_owned(),
        };
        let engine = match &self.engine {
            None => "engine stopped".to_owned(),
            Some(s) => {
                let out = s.output_device.as_deref().unwrap_or("no output");
                match &s.drift {
                    Some(d) => format!("engine → {out}, {:+.1} ppm, {} xrun frames", d.applied_ppm, d.underrun_frames),
                    None => format!("engine → {out}, waiting for Gecko Sink"),
                }
            }
        };
        format!("{driver} · {engine}")
    }
}

pub use gecko_services::PresetEntry;

/// The EQ's magnitude response on a log frequency grid, for the window's curve.
#[derive(Debug, Clone, Serialize)]
pub struct EqCurve {
    /// Frequencies, Hz (log-spaced, 20 Hz – 20 kHz).
    pub freqs: Vec<f64>,
    /// The whole EQ's response at each frequency, dB.
    pub total_db: Vec<f64>,
    /// Each enabled band's own response, dB: (band index, values).
    pub bands_db: Vec<(usize, Vec<f64>)>,
}

/// The sample rate the window's curve is drawn at, Hz (Gecko Sink's default).
pub const CURVE_RATE: f64 = 48000.0;

/// The EQ's response at `points` (2–2000) log-spaced frequencies, from
/// gecko-dsp's analytic biquad response (RBJ cookbook) at [`CURVE_RATE`].
pub fn eq_curve(eq: &EqParams, points: usize) -> EqCurve {
    let n = points.clamp(2, 2000);
    let freqs: Vec<f64> = (0..n).map(|i| 20.0 * 1000f64.powf(i as f64 / (n - 1) as f64)).collect();
    let total_db = freqs.iter().map(|&f| eq.magnitude_db(f, CURVE_RATE)).collect();
    let bands_db = eq
        .bands
        .iter()
        .enumerate()
        .filter(|(_, b)| b.enabled)
        .map(|(i, b)| (i, freqs.iter().map(|&f| EqParams::from_bands(&[*b]).magnitude_db(f, CURVE_RATE)).collect()))
        .collect();
    EqCurve { freqs, total_db, bands_db }
}

/// The output devices the engine can play on, by the names
/// `gecko engine --device` takes (never Gecko Sink itself).
pub fn playable_devices() -> Vec<String> {
    playable_device_entries().into_iter().map(|d| d.name).collect()
}

/// One output device the window lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutputChoice {
    /// Its stable id: the device UID on macOS (`kAudioDevicePropertyDeviceUID`),
    /// the PCM id on Linux. Presets are bound to devices by this id.
    pub id: String,
    /// The name the system shows.
    pub name: String,
}

/// The output devices the engine can play on, with their ids (never Gecko Sink).
pub fn playable_device_entries() -> Vec<OutputChoice> {
    gecko_engine::output::output_devices()
        .into_iter()
        .filter(|d| !d.is_gecko_sink())
        .map(|d| OutputChoice { id: d.id, name: d.name })
        .collect()
}

/// One binding of an output device to a preset, as the window lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceBinding {
    /// The device, as bound: its id ([`OutputChoice::id`]) or a name.
    pub device: String,
    /// The device's name when it is connected now and differs from `device`.
    pub name: Option<String>,
    /// Whether the device is connected now.
    pub connected: bool,
    /// The preset the engine takes whenever it plays on the device.
    pub preset: String,
    /// Whether that preset still loads (a deleted preset leaves a dead binding).
    pub preset_ok: bool,
}

/// Gecko Sink's input stream (the loopback recording apps record) as the
/// window shows it: the person's saved choice and what the driver does.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoopbackState {
    /// The tap chosen (saved in `file`); `null` when nothing was saved (the
    /// driver starts with `pre`) or the file cannot be read (see `warning`).
    pub chosen: Option<LoopbackTap>,
    /// Where the choice is saved (the file `gecko loopback` writes and the engine reads at start).
    pub file: String,
    /// Whether an engine answers on the control socket.
    pub engine_running: bool,
    /// The running engine's account of the loopback; `null` when no engine
    /// runs (or it has not attached to Gecko Sink yet).
    pub engine: Option<LoopbackInfo>,
    /// When no engine runs: the driver's account, read from its ring
    /// (`requested` is `null`); `null` when the ring cannot be read.
    pub driver: Option<LoopbackInfo>,
    /// The tap the driver serves now; `null` until an app has recorded Gecko Sink.
    pub active: Option<LoopbackTap>,
    /// The choice has not reached the driver: no engine runs to pass it on
    /// (it does when it starts), or the engine asks for another tap.
    pub pending: bool,
    /// Whether an app records Gecko Sink now (the driver's input cycles grew
    /// since the previous look, at least 0.3 s earlier); `null` until there
    /// is a previous look.
    pub recording: Option<bool>,
    /// The driver serves (or the engine asks for) `post` and nothing feeds
    /// it: recording apps get silence.
    pub post_unfed: bool,
    /// One line for people: what the driver serves, whether an app records,
    /// what is pending.
    pub state_line: String,
    /// Something to act on: the post tap not fed, a saved file that cannot be read.
    pub warning: Option<String>,
    /// After `set_loopback`: what was done (`null` otherwise).
    pub message: Option<String>,
}

/// Whether an app records Gecko Sink: the driver's input cycles, compared
/// with an earlier look at the same source (an engine's pid, 0 for the ring).
#[derive(Debug, Default)]
struct InputWatch {
    base: Option<(u32, u64, Instant)>,
    recording: Option<bool>,
}

impl InputWatch {
    /// Looks closer together than this only confirm growth.
    const SPAN: Duration = Duration::from_millis(300);
    /// A look older than this is not compared with.
    const STALE: Duration = Duration::from_secs(10);

    fn observe(&mut self, source: u32, cycles: u64, now: Instant) -> Option<bool> {
        match self.base {
            Some((s, c, t)) if s == source && now.duration_since(t) < Self::STALE => {
                if now.duration_since(t) >= Self::SPAN {
                    self.recording = Some(cycles > c);
                    self.base = Some((source, cycles, now));
                } else if cycles > c {
                    self.recording = Some(true);
                }
            }
            _ => {
                self.base = Some((source, cycles, now));
                self.recording = None;
            }
        }
        self.recording
    }

    fn forget(&mut self) {
        *self = InputWatch::default();
    }
}

/// Judges the loopback from what was read (no I/O): `chosen` is the saved
/// file's reading, `status` the engine's (if one runs), `driver` the ring's.
fn judge_loopback(
    chosen: Result<Option<LoopbackTap>, String>,
    file: String,
    status: Option<&Status>,
    driver: Option<LoopbackInfo>,
    recording: Option<bool>,
) -> LoopbackState {
    let (chosen, file_error) = match chosen {
        Ok(c) => (c, None),
        Err(e) => (None, Some(e)),
    };
    let engine_running = status.is_some();
    let engine = status.and_then(|s| s.loopback.clone());
    let driver = if engine_running { None } else { driver };
    let info = engine.as_ref().or(driver.as_ref());
    let active = info.and_then(|i| i.active);
    let requested = engine.as_ref().and_then(|e| e.requested);
    let pending = match (&engine, engine_running) {
        (_, false) => chosen.is_some() && active != chosen,
        (Some(e), true) => chosen.is_some() && e.requested != chosen,
        (None, true) => false, // it read the saved choice at start; it passes it on when it attaches
    };
    let post_available = engine.as_ref().is_some_and(|e| e.post_available);
    let post_unfed = (active == Some(LoopbackTap::Post) || requested == Some(LoopbackTap::Post)) && !post_available;

    let mut parts: Vec<String> = Vec::new();
    match (info, active) {
        (Some(_), Some(t)) => parts.push(format!("The driver serves {} — {}", t.name(), t.describe())),
        (Some(_), None) => parts.push("No app has recorded Gecko Sink since the driver started".to_owned()),
        (None, _) if engine_running => {
            let t = chosen.unwrap_or(LoopbackTap::Pre).name();
            parts.push(format!("The engine passes {t} to the driver when it attaches to Gecko Sink"));
        }
        (None, _) => parts.push("The driver is not reachable (is Gecko Sink installed and loaded?)".to_owned()),
    }
    if info.is_some() {
        match recording {
            Some(true) => parts.push("an app records now".to_owned()),
            Some(false) => parts.push("no app records now".to_owned()),
            None => {}
        }
    }
    if pending {
        let c = chosen.map_or("", LoopbackTap::name);
        if engine_running {
            let asks = requested.map_or("nothing", LoopbackTap::name);
            parts.push(format!("the engine asks for {asks}, not {c}: choose {c} again to send it"));
        } else {
            parts.push(format!("no engine runs: {c} applies when it starts"));
        }
    } else if let (Some(r), None) = (requested, active) {
        parts.push(format!("the engine asks for {}", r.name()));
    } else if !engine_running && info.is_some() {
        parts.push("no engine runs".to_owned());
    }
    let warning = match file_error {
        Some(e) => Some(format!("the saved choice cannot be read ({e}): choose a tap to replace it")),
        None if post_unfed && engine_running => Some(
            "Post is not fed: the engine runs headless or its output plays at another rate than Gecko Sink's, so \
             recording apps get silence. Play through an output device at Gecko Sink's rate, or choose pre."
                .to_owned(),
        ),
        None if post_unfed => Some(
            "Post is not fed: no engine runs, so recording apps get silence. Start the engine, or choose pre."
                .to_owned(),
        ),
        None => None,
    };
    LoopbackState {
        chosen,
        file,
        engine_running,
        engine,
        driver,
        active,
        pending,
        recording,
        post_unfed,
        state_line: parts.join(" · "),
        warning,
        message: None,
    }
}

/// The app's state: paths, the engine process it started, notices.
pub struct Ctx {
    /// Where things are.
    pub paths: Paths,
    engine: EngineSupervisor,
    presets: PresetStore,
    notices: Mutex<Vec<String>>,
    /// The engine (pid) and output device last seen.
    last_output: Mutex<Option<(u32, String, u64)>>,
    /// The driver's input cycles last seen (does an app record Gecko Sink?).
    input_watch: Mutex<InputWatch>,
}

impl Ctx {
    /// The context for these paths.
    pub fn new(paths: Paths) -> Ctx {
        Ctx {
            // On a Mac with the .pkg's LaunchAgent, launchd runs the engine.
            engine: EngineSupervisor::new(paths.socket.clone(), paths.gecko_exe.clone())
                .with_launch_agent(LaunchAgent::installed()),
            presets: PresetStore::new(paths.presets_dir.clone()),
            paths,
            notices: Mutex::new(Vec::new()),
            last_output: Mutex::new(None),
            input_watch: Mutex::new(InputWatch::default()),
        }
    }

    /// The platform (macOS, or the simulated system under `sim_root`).
    pub fn platform(&self) -> Result<Box<dyn AudioPlatform>, UiError> {
        let exe = self.gecko()?;
        Ok(gecko_platform::this_machine(self.paths.sim_root.as_deref(), &exe)?)
    }

    fn gecko(&self) -> Result<PathBuf, UiError> {
        self.paths.gecko_exe.clone().ok_or_else(|| {
            UiError::new(
                "failed",
                "the `gecko` command was not found: put it next to the app, on PATH, or set GECKO_BIN",
            )
        })
    }

    /// A connection to the engine.
    pub fn client(&self) -> Result<ControlClient, UiError> {
        Ok(ControlClient::connect(&self.paths.socket)?)
    }

    /// Records something the person should know; the window shows the last few.
    pub fn notice(&self, msg: impl Into<String>) {
        let mut n = self.notices.lock().unwrap_or_else(|e| e.into_inner());
        n.push(msg.into());
        let excess = n.len().saturating_sub(20);
        n.drain(..excess);
    }

    /// The recorded notices (oldest first).
    pub fn notices(&self) -> Vec<String> {
        self.notices.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The engine's status; notes when the engine's output device
    /// disappeared and it moved on its own (its `output_losses` grew; a move
    /// someone asked for with `set_output` does not count, and a restarted
    /// engine has another pid).
    pub fn engine_status(&self) -> Result<Status, UiError> {
        let s = self.client()?.status()?;
        let now = s.output_device.clone().map(|d| (s.pid, d, s.output_losses));
        let old = std::mem::replace(&mut *self.last_output.lock().unwrap_or_else(|e| e.into_inner()), now.clone());
        if let (Some((old_pid, old, old_losses)), Some((pid, new, losses))) = (old, now)
            && old_pid == pid
            && losses > old_losses
        {
            self.notice(format!("output device {old} disappeared — switched to {new}"));
        }
        Ok(s)
    }

    /// Everything the status line and health panel show. Never fails: what
    /// cannot be read is shown as such.
    pub fn overview(&self) -> Overview {
        let (engine, engine_error) = match self.engine_status() {
            Ok(s) => (Some(s), None),
            Err(e) => (None, Some(e)),
        };
        let platform = self.platform();
        let (platform_name, root, driver, service, default_output, remembered) = match &platform {
            Ok(p) => {
                let h = Installer::new(p.as_ref()).status();
                let (loaded, load_text) = match &h.driver {
                    Ok(DriverLoad::Loaded) => (true, "loaded".to_owned()),
                    Ok(DriverLoad::NotLoaded(why)) => {
                        (false, format!("not loaded{}", why.as_ref().map(|w| format!(": {w}")).unwrap_or_default()))
                    }
                    Ok(DriverLoad::ServiceDown) => (false, "the audio service is not running".to_owned()),
                    Err(e) => (false, e.clone()),
                };
                let driver = DriverView {
                    installed: h.installed,
                    version: h.version.clone(),
                    loaded,
                    load_text,
                    problems: h.problems.clone(),
                    path: h.path.display().to_string(),
                    engine_attached: matches!(h.ring, RingHealth::Present { engine_attached: true }),
                };
                let service = h
                    .processes
                    .iter()
                    .map(|s| ServiceView {
                        pid: s.pid,
                        name: s.name.clone(),
                        resident_mib: s.resident_bytes as f64 / (1024.0 * 1024.0),
                        hosts_driver: s.hosts_driver,
                    })
                    .collect();
                let default = p.default_output().ok().flatten();
                let remembered = OutputSwitch::for_platform(p.as_ref()).remembered().map(|d| d.name);
                (p.name().to_owned(), p.root().display().to_string(), driver, service, default, remembered)
            }
            Err(e) => {
                let driver = DriverView {
                    installed: false,
                    version: None,
                    loaded: false,
                    load_text: e.message.clone(),
                    problems: vec![],
                    path: String::new(),
                    engine_attached: false,
                };
                ("unknown".into(), String::new(), driver, vec![], None, None)
            }
        };
        let ring = platform.as_ref().ok().map(|p| p.ring_name());
        let loopback = self.loopback_for(engine.as_ref(), ring.as_deref());
        let mut o = Overview {
            loopback,
            platform: platform_name,
            root,
            driver,
            service,
            engine,
            engine_error,
            gecko_is_default: default_output.as_ref().is_some_and(|d| d.is_gecko_sink()),
            default_output: default_output.map(|d| d.name),
            remembered_output: remembered,
            notices: self.notices(),
            status_line: String::new(),
            preset_names: self.presets().into_iter().map(|p| p.name).collect(),
        };
        o.status_line = o.summary();
        o
    }

    // ---- the engine's settings (gecko-control) ----

    /// Sets the engine's gain, dB.
    pub fn set_gain(&self, db: f64) -> Result<Applied, UiError> {
        Ok(self.client()?.set_gain(db)?)
    }
    /// Replaces EQ band `index`.
    pub fn set_eq_band(&self, index: usize, band: EqBand) -> Result<Applied, UiError> {
        Ok(self.client()?.set_eq_band(index, band)?)
    }
    /// Limiter on/off and ceiling.
    pub fn set_limiter(&self, enabled: Option<bool>, ceiling_dbtp: Option<f64>) -> Result<Applied, UiError> {
        Ok(self.client()?.set_limiter(enabled, ceiling_dbtp)?)
    }
    /// Mutes or unmutes the engine's output.
    pub fn set_mute(&self, muted: bool) -> Result<Applied, UiError> {
        Ok(self.client()?.set_mute(muted)?)
    }
    /// Scales the whole EQ correction to `percent` (0–100).
    pub fn set_strength(&self, percent: f64) -> Result<Applied, UiError> {
        Ok(self.client()?.set_strength(percent)?)
    }

    /// Gain 0 dB, no EQ, limiter off.
    pub fn bypass(&self) -> Result<Applied, UiError> {
        Ok(self.client()?.bypass()?)
    }

    // ---- the loopback (Gecko Sink's input stream) ----

    /// The loopback: the saved choice, the running engine's account (or,
    /// without an engine, the driver's, read from its ring), whether an app
    /// records Gecko Sink now.
    pub fn loopback(&self) -> LoopbackState {
        let status = self.engine_status().ok();
        let ring = self.platform().ok().map(|p| p.ring_name());
        self.loopback_for(status.as_ref(), ring.as_deref())
    }

    fn loopback_for(&self, status: Option<&Status>, ring: Option<&str>) -> LoopbackState {
        let chosen = gecko_services::loopback::load(&self.paths.loopback_file);
        let driver = if status.is_none() { ring.and_then(gecko_services::loopback::driver_state) } else { None };
        let source = match (status, status.and_then(|s| s.loopback.as_ref()), &driver) {
            (Some(s), Some(i), _) => Some((s.pid, i.input_cycles)),
            (None, _, Some(d)) => Some((0, d.input_cycles)),
            _ => None,
        };
        let recording = {
            let mut w = self.input_watch.lock().unwrap_or_else(|e| e.into_inner());
            match source {
                Some((src, cycles)) => w.observe(src, cycles, Instant::now()),
                None => {
                    w.forget();
                    None
                }
            }
        };
        judge_loopback(chosen, self.paths.loopback_file.display().to_string(), status, driver, recording)
    }

    /// Chooses what Gecko Sink's input stream carries (`pre`, `post` or
    /// `off`): saves it (the engine passes the saved choice on at every
    /// start) and, when an engine runs, sends it (the driver takes it within
    /// about 0.1 s). Returns the loopback now, with what was done.
    pub fn set_loopback(&self, tap: &str) -> Result<LoopbackState, UiError> {
        let tap: LoopbackTap = tap.parse().map_err(|e: String| UiError::new("invalid", e))?;
        gecko_services::loopback::save(&self.paths.loopback_file, tap)
            .map_err(|e| UiError::new("failed", format!("the loopback choice was not saved: {e}")))?;
        let sent = match self.client() {
            Ok(mut c) => {
                c.set_loopback(tap)?;
                true
            }
            Err(e) if e.code == "engine_not_running" => false,
            Err(e) => return Err(e),
        };
        let mut st = self.loopback();
        st.message = Some(if sent {
            format!("Loopback: {} — {}; the driver takes it within 0.1 s", tap.name(), tap.describe())
        } else {
            format!(
                "Loopback: {} — {} (saved; no engine runs: it passes the choice to the driver when it starts)",
                tap.name(),
                tap.describe()
            )
        });
        Ok(st)
    }

    // ---- presets (gecko-dsp) ----

    /// The built-in presets, then the user's (`*.toml` in the presets folder).
    pub fn presets(&self) -> Vec<PresetEntry> {
        self.presets.list()
    }

    /// Loads a preset into the engine: a built-in by name, or the user's file
    /// (checked here first, so that errors name the file).
    pub fn load_preset(&self, name: &str) -> Result<Applied, UiError> {
        let spec = self.presets.engine_spec(name, gecko_control::state::VALIDATION_RATE)?;
        Ok(self.client()?.set_preset(&spec)?)
    }

    /// Imports an EQ file (Equalizer APO / AutoEq `ParametricEQ.txt` or
    /// `GraphicEQ.txt`, REW's filter export) given as `text` with its
    /// `file_name` into the user's presets as `name` (default: the file's),
    /// replacing one of the same name only when `replace`. The window reads
    /// the file itself (it has no path to give), so this takes the text.
    pub fn import_preset(
        &self,
        file_name: &str,
        text: &str,
        name: Option<&str>,
        replace: bool,
    ) -> Result<gecko_services::ImportOutcome, UiError> {
        Ok(self.presets.import(text, file_name, name, replace)?)
    }

    /// The bindings of output devices to presets, sorted by device, each
    /// with whether the device is connected and the preset still loads.
    pub fn bindings(&self) -> Result<Vec<DeviceBinding>, UiError> {
        let devices = playable_device_entries();
        Ok(self
            .presets
            .bindings()?
            .into_iter()
            .map(|(device, preset)| {
                let now = devices.iter().find(|d| d.id == device || d.name == device);
                DeviceBinding {
                    name: now.filter(|d| d.name != device).map(|d| d.name.clone()),
                    connected: now.is_some(),
                    preset_ok: self.presets.load(&preset).is_ok(),
                    device,
                    preset,
                }
            })
            .collect())
    }

    /// Binds the output device `device` (its id) to `preset`: the engine
    /// takes the preset whenever it plays there.
    pub fn bind_device(&self, device: &str, preset: &str) -> Result<String, UiError> {
        self.presets.bind(device, preset)?;
        Ok(format!("{device} → {preset}: applied whenever the engine plays there"))
    }

    /// Removes `device`'s binding.
    pub fn unbind_device(&self, device: &str) -> Result<String, UiError> {
        if self.presets.unbind(device)? {
            Ok(format!("{device} no longer has its own preset"))
        } else {
            Err(UiError::new("invalid", format!("{device} has no preset bound")))
        }
    }

    /// Saves the engine's current settings as the user's preset `name`
    /// (refuses built-in names); returns the file written.
    pub fn save_preset(&self, name: &str) -> Result<PathBuf, UiError> {
        // Check the name before asking the engine.
        if Preset::builtin_names().contains(&name) {
            return Err(PresetStoreError::Builtin(name.to_owned()).into());
        }
        self.presets.path_for(name)?;
        let params: ChainParams = self.client()?.status()?.params;
        Ok(self.presets.save(name, &Preset::from_chain_params(name, &params))?)
    }

    // ---- the driver (gecko-install) ----

    /// Installs (or repairs) the driver: one administrator prompt on macOS.
    pub fn install_driver(&self) -> Result<String, UiError> {
        let p = self.platform()?;
        let bundle = self.paths.bundle.clone().ok_or_else(|| {
            UiError::new("failed", "no driver bundle to install: set GECKO_DRIVER_BUNDLE to a GeckoAudioDevice.driver")
        })?;
        let r = Installer::new(p.as_ref()).install(&bundle)?;
        let msg = match &r.device {
            DeviceOutcome::Done(t) => format!(
                "Gecko Sink {} is installed and available ({:.1} s after the restart)",
                r.bundle.version,
                t.as_secs_f64()
            ),
            DeviceOutcome::NotYet { advice, .. } => format!("installed; {advice}"),
        };
        self.notice(msg.clone());
        Ok(msg)
    }

    /// Removes the driver, after restoring the previous output if Gecko Sink was it.
    pub fn uninstall_driver(&self) -> Result<String, UiError> {
        let p = self.platform()?;
        let restored = OutputSwitch::for_platform(p.as_ref()).restore(p.as_ref())?;
        let r = Installer::new(p.as_ref()).uninstall()?;
        let mut msg = match &r.device {
            DeviceOutcome::Done(_) => "Gecko Sink is removed; nothing is left behind".to_owned(),
            DeviceOutcome::NotYet { advice, .. } => advice.clone(),
        };
        if restored != Restored::Nothing {
            msg = format!("{}; {msg}", restored.message());
        }
        self.notice(msg.clone());
        Ok(msg)
    }

    /// `gecko doctor`'s checks (gecko_install::doctor), for the window's
    /// Diagnostics panel: the same fourteen, in order, each ✔/✘ (or not
    /// run) with its fix. Takes about a second (it watches the ring's counters).
    pub fn diagnostics(&self) -> Result<Vec<gecko_install::doctor::Check>, UiError> {
        let p = self.platform()?;
        let mut options = gecko_install::doctor::DoctorOptions::from_env();
        options.control_socket = self.paths.socket.clone();
        Ok(gecko_install::doctor::run(p.as_ref(), &options))
    }

    /// Restarts the audio service (coreaudiod) so it rescans its plug-ins.
    pub fn restart_audio(&self) -> Result<String, UiError> {
        let p = self.platform()?;
        p.restart_audio_service()?;
        let msg = "the audio service restarted".to_owned();
        self.notice(msg.clone());
        Ok(msg)
    }

    // ---- the system output (gecko-platform) ----

    /// Makes Gecko Sink the system output, remembering the previous one,
    /// and starts the engine on that previous device if no engine runs
    /// (on the default output when the engine cannot open it by name, as in
    /// the Linux simulation, whose devices are not sound cards).
    pub fn use_gecko_sink(&self) -> Result<String, UiError> {
        let p = self.platform()?;
        let s = OutputSwitch::for_platform(p.as_ref()).use_gecko_sink(p.as_ref())?;
        let prev = s.previous.map(|d| d.name);
        let mut msg = match (&prev, s.already) {
            (Some(d), true) => format!("Gecko Sink is already the system output (previous output: {d})"),
            (Some(d), false) => format!("Gecko Sink is the system output (previous output: {d})"),
            (None, _) => "Gecko Sink is the system output (there is no other output to play on)".to_owned(),
        };
        if !self.engine_running() {
            let device = prev.filter(|d| playable_devices().contains(d));
            match self.start_engine(device.as_deref()) {
                Ok(_) => msg
                    .push_str(&format!("; the engine plays on {}", device.as_deref().unwrap_or("the default output"))),
                Err(e) => {
                    // Never leave the person without sound.
                    let restored = OutputSwitch::for_platform(p.as_ref())
                        .restore(p.as_ref())
                        .map(|r| r.message())
                        .unwrap_or_default();
                    return Err(UiError::new("failed", format!("{}; {restored}", e.message)));
                }
            }
        }
        self.notice(msg.clone());
        Ok(msg)
    }

    /// Restores the output Gecko Sink replaced.
    pub fn restore_output(&self) -> Result<String, UiError> {
        let p = self.platform()?;
        let msg = OutputSwitch::for_platform(p.as_ref()).restore(p.as_ref())?.message();
        self.notice(msg.clone());
        Ok(msg)
    }

    // ---- the engine process ----

    /// Whether an engine answers on the socket.
    pub fn engine_running(&self) -> bool {
        self.engine.running()
    }

    /// Starts `gecko engine` in its own process group (it outlives the app),
    /// playing on `device` (default: the system default), with its log in
    /// the user's state folder (gecko-services' [`EngineSupervisor`]).
    /// Waits until it answers (at most 10 s).
    pub fn start_engine(&self, device: Option<&str>) -> Result<String, UiError> {
        let p = self.platform()?;
        match self.engine.start(&p.ring_name(), device, &p.user_state_dir())? {
            Started::AlreadyRunning => Ok("the engine is already running".into()),
            Started::New(pid) | Started::ByLaunchd(pid) => {
                let msg = format!("engine started (pid {pid})");
                self.notice(msg.clone());
                Ok(msg)
            }
        }
    }

    /// Whether the engine with this pid is the one this app started.
    fn is_own_engine(&self, pid: u32) -> bool {
        self.engine.is_own(pid)
    }

    /// Stops the engine if this app started it (Quit).
    pub fn stop_own_engine(&self) {
        self.engine.stop_own();
    }

    /// Asks the running engine to stop (SIGINT, as Ctrl-C) and waits for it.
    pub fn stop_engine(&self) -> Result<String, UiError> {
        self.engine.stop()?;
        let msg = "engine stopped".to_owned();
        self.notice(msg.clone());
        Ok(msg)
    }

    /// Plays on `device` (`None`: the system default).
    /// - An engine that plays (the app's or one started elsewhere) moves
    ///   live (`set_output`): its settings, drift lock and recording carry
    ///   on, with a pause of the time it takes to open the device. The
    ///   engine refuses Gecko Sink itself and a device it cannot open, and
    ///   keeps playing where it was.
    /// - A headless engine this app started is restarted on the device with
    ///   its settings (EQ, gain, limiter, mute) carried over; the driver's
    ///   ring is kept, so only the restart gap is lost. A headless engine
    ///   started elsewhere (perhaps recording, with options the app does not
    ///   know) is left alone: its refusal says how to move it.
    /// - Without an engine, one is started on the device.
    pub fn set_engine_output(&self, device: Option<&str>) -> Result<String, UiError> {
        if let Some(d) = device {
            let list = playable_devices();
            if !list.iter().any(|n| n == d) {
                return Err(UiError::new(
                    "invalid",
                    format!("no output device {d:?}: choose one of {}", list.join(", ")),
                ));
            }
        }
        let msg = match self.client().and_then(|mut c| Ok((c.status()?, c))) {
            Ok((st, mut c)) if st.output_device.is_some() || !self.is_own_engine(st.pid) => {
                format!("the engine plays on {}", c.set_output(device)?.device)
            }
            Ok((st, _)) => {
                self.stop_engine()?;
                self.start_engine(device)?;
                let name = st.preset.unwrap_or_else(|| "custom".into());
                let mut c = self.client()?;
                c.set_preset(
                    &Preset::from_chain_params(name.trim_end_matches(" (modified)"), &st.params).to_toml_string(),
                )?;
                c.set_mute(st.params.mute)?;
                format!("the engine was restarted on {} with its settings", device.unwrap_or("the default output"))
            }
            Err(_) => {
                self.start_engine(device)?;
                format!("the engine plays on {}", device.unwrap_or("the default output"))
            }
        };
        self.notice(msg.clone());
        Ok(msg)
    }

    /// What "Quit" (or the engine stopping) does: if Gecko Sink is the
    /// system output, restore the previous one, so the person is never left
    /// without sound. `why` prefixes the notice ("the engine is not
    /// running"). Returns what was done.
    pub fn restore_if_needed(&self, why: Option<&str>) -> Option<String> {
        let p = self.platform().ok()?;
        let m = match OutputSwitch::for_platform(p.as_ref()).restore(p.as_ref()) {
            Ok(Restored::Nothing) => return None,
            Ok(r) => r.message(),
            Err(e) => format!("could not restore the system output: {e}"),
        };
        let m = match why {
            Some(w) => format!("{w} — {m}"),
            None => m,
        };
        self.notice(m.clone());
        Some(m)
    }
}
