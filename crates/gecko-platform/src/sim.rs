//! The simulated system used on Linux: a directory stands in for `/`, and a
//! simulated coreaudiod loads the drivers installed under it.
//!
//! Processes: the simulated launchd and coreaudiod live in gecko-simhost
//! ([`gecko_simhost::system`], whose docs say what each publishes); they are
//! started from one program, [`HostCommand`], which ends in a call to
//! [`main_from_args`].
//!
//! Restarting it is the same script step as on macOS (SIGTERM, then SIGKILL
//! if it lingers), addressed by pid instead of `killall`.

use crate::privileged::{self, Elevation};
use crate::{AudioPlatform, Capabilities, DriverLoad, OutputDevice, PlatformError, ServiceProcess, Transport};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub use gecko_simhost::system::{
    BUILT_IN_NAME, BUILT_IN_UID, DENY_SHM_CREATE_ENV, DEVICES_FILE, RING_STATE_FILE, RING_STATE_PERIOD, RUN_DIR,
    main_from_args, write_atomic,
};

/// The simulated coreaudiod's command name in [`ServiceProcess`].
pub const COREAUDIOD_NAME: &str = "coreaudiod (simulated)";

/// How to start the simulated host: a program and the arguments that come
/// before `launchd`/`coreaudiod` (e.g. `gecko` + `["sim-audio"]`, or the
/// `gecko-sim-coreaudiod` binary with none).
#[derive(Debug, Clone)]
pub struct HostCommand {
    /// The executable (it must be linked with `-rdynamic`, see gecko-simhost).
    pub program: PathBuf,
    /// Arguments before the role word.
    pub prefix: Vec<OsString>,
}

/// The simulated platform. See the module docs.
pub struct SimPlatform {
    root: PathBuf,
    shm_name: String,
    host: HostCommand,
    /// A coreaudiod that ignores SIGTERM (to exercise the SIGKILL fallback).
    pub stubborn_coreaudiod: bool,
    launchd: Mutex<Option<Child>>,
}

/// One look at the simulated coreaudiod's published state.
#[derive(Debug, Clone, Default)]
pub struct SimState {
    /// coreaudiod's pid.
    pub pid: u32,
    /// (uid, name) of each device.
    pub devices: Vec<(String, String)>,
    /// (bundle, error) of each bundle that did not load.
    pub failures: Vec<(String, String)>,
}

fn io_err(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> PlatformError + use<> {
    let path = path.to_path_buf();
    move |source| PlatformError::Io { what, path, source }
}

/// Whether `pid` is a live process (not a zombie).
pub fn alive(pid: u32) -> bool {
    if pid == 0 || nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), None).is_err() {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => s.rsplit_once(") ").and_then(|(_, rest)| rest.chars().next()) != Some('Z'),
        Err(_) => true,
    }
}

fn read_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

impl SimPlatform {
    /// A simulated system rooted at `root` (created if missing), whose driver
    /// ring is `shm_name`, with its host processes started by `host`.
    pub fn new(root: &Path, shm_name: &str, host: HostCommand) -> Result<Self, PlatformError> {
        gecko_ring::validate_name(shm_name).map_err(|e| PlatformError::Sim(e.to_string()))?;
        std::fs::create_dir_all(root).map_err(io_err("creating", root))?;
        let root = root.canonicalize().map_err(io_err("resolving", root))?;
        Ok(SimPlatform { root, shm_name: shm_name.into(), host, stubborn_coreaudiod: false, launchd: Mutex::new(None) })
    }

    /// `<root>/var/run/gecko-sim`, the simulated processes' state.
    pub fn run_dir(&self) -> PathBuf {
        self.root.join(RUN_DIR)
    }

    /// The driver's shared-memory ring name in this simulation.
    pub fn shm_name(&self) -> &str {
        &self.shm_name
    }

    /// The simulated launchd's pid, when it runs.
    pub fn launchd_pid(&self) -> Option<u32> {
        read_pid(&self.run_dir().join("launchd.pid")).filter(|p| alive(*p))
    }

    /// The simulated coreaudiod's pid, when it runs.
    pub fn coreaudiod_pid(&self) -> Option<u32> {
        read_pid(&self.run_dir().join("coreaudiod.pid")).filter(|p| alive(*p))
    }

    /// The running coreaudiod's published state (None while it is down or
    /// still loading plug-ins).
    pub fn state(&self) -> Option<SimState> {
        let pid = self.coreaudiod_pid()?;
        let text = std::fs::read_to_string(self.run_dir().join(DEVICES_FILE)).ok()?;
        let mut lines = text.lines();
        if lines.next()? != format!("pid {pid}") {
            return None;
        }
        let mut st = SimState { pid, ..SimState::default() };
        for l in lines {
            if let Some(f) = l.strip_prefix('!') {
                let (b, e) = f.split_once('\t').unwrap_or((f, ""));
                st.failures.push((b.into(), e.into()));
            } else if let Some((uid, name)) = l.split_once('\t') {
                st.devices.push((uid.into(), name.into()));
            }
        }
        Some(st)
    }

    /// Starts the simulated launchd (and so coreaudiod) unless it runs, and
    /// waits up to 10 s for coreaudiod to publish its devices.
    pub fn boot(&self) -> Result<SimState, PlatformError> {
        if self.launchd_pid().is_none() {
            let run = self.run_dir();
            std::fs::create_dir_all(&run).map_err(io_err("creating", &run))?;
            let log = run.join("host.log");
            let log_file =
                std::fs::OpenOptions::new().create(true).append(true).open(&log).map_err(io_err("opening", &log))?;
            let mut c = Command::new(&self.host.program);
            c.args(&self.host.prefix)
                .arg("launchd")
                .arg("--root")
                .arg(&self.root)
                .arg("--shm")
                .arg(&self.shm_name)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log_file);
            if self.stubborn_coreaudiod {
                c.arg("--ignore-term");
            }
            // Its own process group: it outlives a `gecko` command, like a daemon.
            std::os::unix::process::CommandExt::process_group(&mut c, 0);
            let child = c
                .spawn()
                .map_err(|e| PlatformError::Sim(format!("could not start {}: {e}", self.host.program.display())))?;
            *self.launchd.lock().unwrap_or_else(|e| e.into_inner()) = Some(child);
        }
        self.wait_ready(Duration::from_secs(10))
    }

    /// Waits for a coreaudiod that has published its devices.
    pub fn wait_ready(&self, timeout: Duration) -> Result<SimState, PlatformError> {
        let t0 = Instant::now();
        loop {
            if let Some(st) = self.state() {
                return Ok(st);
            }
            if t0.elapsed() > timeout {
                let log = std::fs::read_to_string(self.run_dir().join("host.log")).unwrap_or_default();
                return Err(PlatformError::Sim(format!(
                    "coreaudiod did not publish its devices within {timeout:?}; its log:\n{log}"
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops launchd and coreaudiod (the simulated machine shuts down).
    pub fn shutdown(&self) {
        let pids: Vec<u32> = [self.launchd_pid(), self.coreaudiod_pid()].into_iter().flatten().collect();
        for p in &pids {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(*p as i32), nix::sys::signal::Signal::SIGKILL);
        }
        if let Some(mut c) = self.launchd.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let t0 = Instant::now();
        while pids.iter().any(|p| alive(*p)) && t0.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn devices_now(&self) -> Result<SimState, PlatformError> {
        // Asking the audio system starts it on demand, as on macOS.
        match self.state() {
            Some(s) => Ok(s),
            None => self.boot(),
        }
    }
}

impl AudioPlatform for SimPlatform {
    fn name(&self) -> &'static str {
        "simulated (Linux)"
    }
    fn root(&self) -> &Path {
        &self.root
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities { per_app_capture: false, set_default_output: true, install_driver: true, simulated: true }
    }
    fn output_devices(&self) -> Result<Vec<OutputDevice>, PlatformError> {
        Ok(self
            .devices_now()?
            .devices
            .into_iter()
            .map(|(id, name)| {
                // What CoreAudio would say: the speakers are built in, Gecko Sink is virtual.
                let transport = if id == BUILT_IN_UID {
                    Transport::BuiltIn
                } else if gecko_identity::is_gecko_sink(&id) {
                    Transport::Virtual
                } else {
                    Transport::Unknown
                };
                OutputDevice { id, name, transport }
            })
            .collect())
    }
    fn default_output(&self) -> Result<Option<OutputDevice>, PlatformError> {
        let devices = self.output_devices()?;
        let chosen = std::fs::read_to_string(self.run_dir().join("default-output")).unwrap_or_default();
        Ok(devices.iter().find(|d| d.id == chosen.trim()).or(devices.first()).cloned())
    }
    fn set_default_output(&self, id: &str) -> Result<(), PlatformError> {
        if !self.output_devices()?.iter().any(|d| d.id == id) {
            return Err(PlatformError::NoSuchDevice(id.into()));
        }
        let p = self.run_dir().join("default-output");
        write_atomic(&p, id).map_err(io_err("writing", &p))
    }
    fn driver_load(&self) -> Result<DriverLoad, PlatformError> {
        let Some(st) = self.state() else { return Ok(DriverLoad::ServiceDown) };
        if st.devices.iter().any(|(uid, _)| gecko_identity::is_gecko_sink(uid)) {
            return Ok(DriverLoad::Loaded);
        }
        let why = st
            .failures
            .iter()
            .find(|(b, _)| b.ends_with(crate::BUNDLE_NAME))
            .map(|(b, e)| format!("{b} did not load: {e}"));
        Ok(DriverLoad::NotLoaded(why))
    }
    fn service_processes(&self) -> Result<Vec<ServiceProcess>, PlatformError> {
        let Some(pid) = self.coreaudiod_pid() else { return Ok(Vec::new()) };
        let hosts = self.state().is_some_and(|s| s.devices.iter().any(|(uid, _)| gecko_identity::is_gecko_sink(uid)));
        let uid = crate::process_uid(pid);
        Ok(vec![ServiceProcess {
            pid,
            name: COREAUDIOD_NAME.into(),
            resident_bytes: crate::resident_bytes(pid).unwrap_or(0),
            hosts_driver: hosts,
            uid,
            user: uid.and_then(crate::user_name),
        }])
    }
    fn restart_audio_service(&self) -> Result<String, PlatformError> {
        if self.launchd_pid().is_none() {
            self.boot()?;
            return Ok("the audio service was not running; started it".into());
        }
        let run = privileged::run(self.elevation(), &self.script_base_args(), "restart-audio", &[], &[], "")?;
        if !run.ok() {
            return Err(PlatformError::Script { action: "restart-audio".into(), detail: run.tail() });
        }
        self.wait_ready(Duration::from_secs(10))?;
        Ok(run.lines.join("\n"))
    }
    fn elevation(&self) -> Elevation {
        Elevation::None
    }
    fn script_base_args(&self) -> Vec<OsString> {
        vec!["--root".into(), self.root.clone().into(), "--sim".into()]
    }
    fn ring_name(&self) -> String {
        self.shm_name.clone()
    }
    fn driver_ring_state(&self) -> Result<Option<String>, PlatformError> {
        let Some(st) = self.state() else { return Ok(None) };
        if !st.devices.iter().any(|(uid, _)| gecko_identity::is_gecko_sink(uid)) {
            return Ok(None);
        }
        let path = self.run_dir().join(RING_STATE_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(PlatformError::Io { what: "reading", path, source: e }),
        };
        // Written by this coreaudiod (not a stale one): `pid N` first.
        match text.split_once('\n') {
            Some((first, rest)) if first == format!("pid {}", st.pid) => Ok(Some(rest.to_owned())),
            _ => Ok(None),
        }
    }
    fn restart_audio_command(&self) -> String {
        // The simulated launchd starts it again, as launchd does coreaudiod.
        let pid_file = self.run_dir().join("coreaudiod.pid");
        format!("kill $(cat {})", crate::display_quote(&pid_file.to_string_lossy()))
    }
}

impl Drop for SimPlatform {
    fn drop(&mut self) {
        // Reap our own launchd child if it was stopped elsewhere; never kill here
        // (the CLI leaves the simulated daemons running, as a real system would).
        if let Some(c) = self.launchd.get_mut().unwrap_or_else(|e| e.into_inner()).as_mut() {
            let _ = c.try_wait();
        }
    }
}
