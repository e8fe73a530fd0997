//! Supervising `gecko engine` as its own process: the app and the CLI start
//! it the same way (own process group, so it outlives its starter; its log in
//! the user's state folder; waiting until it answers on its control socket),
//! know whether the engine that answers is the one they started, and stop it
//! the way Ctrl-C does (SIGINT: it finishes its recording and removes its socket).

use gecko_control::{ClientError, ControlClient};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long [`EngineSupervisor::start`] waits for the engine to answer.
pub const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long [`EngineSupervisor::stop`] waits for it to exit.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the engine could not be started or stopped.
#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    /// No `gecko` executable to run the engine with.
    #[error("the gecko executable was not found: set GECKO_BIN, or put gecko next to this program or on PATH")]
    NoGecko,
    /// A file or process operation failed.
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// On what.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The engine exited before it answered; its last log line says why.
    #[error("the engine exited ({status}): {last_line}")]
    Exited {
        /// Its exit status.
        status: ExitStatus,
        /// The last non-empty line of its log.
        last_line: String,
    },
    /// It runs but did not answer in time.
    #[error("the engine did not answer within {}s; see {}", START_TIMEOUT.as_secs(), log.display())]
    NoAnswer {
        /// Its log.
        log: PathBuf,
    },
    /// Talking to it failed (not running, or a protocol error).
    #[error(transparent)]
    Client(#[from] ClientError),
    /// launchctl could not start the LaunchAgent.
    #[error("launchctl could not start {label} ({status}): {output}")]
    Launchd {
        /// The job's label.
        label: String,
        /// launchctl's exit status.
        status: ExitStatus,
        /// What it printed.
        output: String,
    },
    /// SIGINT could not be sent.
    #[error("could not stop the engine (pid {pid}): {source}")]
    Signal {
        /// The engine's pid.
        pid: u32,
        /// The error.
        source: std::io::Error,
    },
    /// It did not exit in time.
    #[error("the engine (pid {pid}) did not stop within {}s", STOP_TIMEOUT.as_secs())]
    DidNotStop {
        /// The engine's pid.
        pid: u32,
    },
}

/// What [`EngineSupervisor::start`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Started {
    /// An engine already answered; nothing was started.
    AlreadyRunning,
    /// A new engine with this pid answers.
    New(u32),
    /// launchd started the engine's LaunchAgent; this pid answers.
    ByLaunchd(u32),
}

/// The engine's LaunchAgent (`com.gecko.engine`, installed by the .pkg into
/// `/Library/LaunchAgents`): on a Mac with it, launchd runs the engine, and
/// the app starts it through launchd rather than as its own child, so there
/// is one engine however it was started. A stop (SIGINT) is a clean exit,
/// which its `KeepAlive { SuccessfulExit = false }` does not undo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchAgent {
    /// The job's plist.
    pub plist: PathBuf,
    /// Its label (`com.gecko.engine`).
    pub label: String,
    /// The launchctl program (`/bin/launchctl`).
    pub launchctl: PathBuf,
}

impl LaunchAgent {
    /// The label of the engine's job.
    pub const LABEL: &'static str = "com.gecko.engine";
    /// Where the .pkg installs it.
    pub const PLIST: &'static str = "/Library/LaunchAgents/com.gecko.engine.plist";

    /// The installed LaunchAgent, on macOS when its plist is there.
    pub fn installed() -> Option<LaunchAgent> {
        let plist = PathBuf::from(Self::PLIST);
        (cfg!(target_os = "macos") && plist.is_file()).then(|| LaunchAgent {
            plist,
            label: Self::LABEL.to_owned(),
            launchctl: PathBuf::from("/bin/launchctl"),
        })
    }

    /// The launchctl calls that start the job for user `uid` (launchctl(1)):
    /// `bootstrap gui/UID PLIST` loads it if it is not (an error when it
    /// already is, which is fine), then `kickstart gui/UID/LABEL` runs it if
    /// it is not running.
    pub fn start_commands(&self, uid: u32) -> [Vec<std::ffi::OsString>; 2] {
        let domain = format!("gui/{uid}");
        [
            vec!["bootstrap".into(), domain.clone().into(), self.plist.clone().into_os_string()],
            vec!["kickstart".into(), format!("{domain}/{}", self.label).into()],
        ]
    }

    /// Runs [`Self::start_commands`] for this user; the kickstart must succeed.
    pub fn start(&self) -> Result<(), SupervisorError> {
        // SAFETY: getuid has no preconditions.
        let uid = unsafe { libc::getuid() };
        let [bootstrap, kickstart] = self.start_commands(uid);
        let io = |source| SupervisorError::Io { what: "running", path: self.launchctl.clone(), source };
        let _ = Command::new(&self.launchctl).args(&bootstrap).stdin(Stdio::null()).output().map_err(io)?;
        let out = Command::new(&self.launchctl).args(&kickstart).stdin(Stdio::null()).output().map_err(io)?;
        if !out.status.success() {
            let text = String::from_utf8_lossy(&out.stderr).trim().to_owned();
            return Err(SupervisorError::Launchd { label: self.label.clone(), status: out.status, output: text });
        }
        Ok(())
    }
}

/// Starts, recognises and stops the engine process.
#[derive(Debug)]
pub struct EngineSupervisor {
    socket: PathBuf,
    gecko_exe: Option<PathBuf>,
    agent: Option<LaunchAgent>,
    child: Mutex<Option<Child>>,
}

impl EngineSupervisor {
    /// An engine reached at `socket`, run as `gecko_exe engine …`.
    pub fn new(socket: PathBuf, gecko_exe: Option<PathBuf>) -> EngineSupervisor {
        EngineSupervisor { socket, gecko_exe, agent: None, child: Mutex::new(None) }
    }

    /// Starts the engine through this LaunchAgent instead of as a child
    /// (see [`LaunchAgent::installed`]).
    pub fn with_launch_agent(mut self, agent: Option<LaunchAgent>) -> EngineSupervisor {
        self.agent = agent;
        self
    }

    /// The control socket.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// A client of the engine's socket.
    pub fn client(&self) -> Result<ControlClient, ClientError> {
        ControlClient::connect(&self.socket)
    }

    /// The pid of the engine that answers on the socket, if one does.
    pub fn running_pid(&self) -> Option<u32> {
        self.client().and_then(|mut c| Ok(c.hello()?.pid)).ok()
    }

    /// Whether an engine answers.
    pub fn running(&self) -> bool {
        self.running_pid().is_some()
    }

    /// With a LaunchAgent: has launchd start it and waits until it answers.
    /// Otherwise starts `gecko engine --quiet --control-socket S --shm-name RING
    /// --wait <a year> [--device D]` in its own process group, with its
    /// output in `log_dir/engine.log`, and waits until it answers (at most
    /// [`START_TIMEOUT`]). It waits as long as it takes for Gecko Sink's ring
    /// (a driver installed later).
    pub fn start(&self, ring: &str, device: Option<&str>, log_dir: &Path) -> Result<Started, SupervisorError> {
        if self.running() {
            return Ok(Started::AlreadyRunning);
        }
        if let Some(agent) = &self.agent {
            agent.start()?;
            let deadline = Instant::now() + START_TIMEOUT;
            while Instant::now() < deadline {
                if let Some(pid) = self.running_pid() {
                    return Ok(Started::ByLaunchd(pid));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            return Err(SupervisorError::NoAnswer { log: agent.plist.clone() });
        }
        let exe = self.gecko_exe.clone().filter(|p| p.is_file()).ok_or(SupervisorError::NoGecko)?;
        let io = |what: &'static str, path: &Path| {
            let path = path.to_owned();
            move |source| SupervisorError::Io { what, path, source }
        };
        std::fs::create_dir_all(log_dir).map_err(io("creating", log_dir))?;
        let log_path = log_dir.join("engine.log");
        let log = std::fs::File::create(&log_path).map_err(io("creating", &log_path))?;
        let err = log.try_clone().map_err(io("opening", &log_path))?;
        let mut cmd = Command::new(&exe);
        cmd.args(["engine", "--quiet", "--control-socket"]).arg(&self.socket).args([
            "--shm-name",
            ring,
            "--wait",
            "31536000",
        ]);
        if let Some(d) = device {
            cmd.arg("--device").arg(d);
        }
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd.stdin(Stdio::null()).stdout(log).stderr(err).spawn().map_err(io("starting", &exe))?;
        let pid = child.id();
        *self.child.lock().unwrap_or_else(|e| e.into_inner()) = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if self.running() {
                return Ok(Started::New(pid));
            }
            if let Some(status) = self.reap() {
                let tail = std::fs::read_to_string(&log_path).unwrap_or_default();
                let last_line = tail.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").to_owned();
                return Err(SupervisorError::Exited { status, last_line });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(SupervisorError::NoAnswer { log: log_path })
    }

    /// Reaps the engine this supervisor started if it exited; its exit status.
    fn reap(&self) -> Option<ExitStatus> {
        let mut g = self.child.lock().unwrap_or_else(|e| e.into_inner());
        let st = g.as_mut()?.try_wait().ok().flatten()?;
        *g = None;
        Some(st)
    }

    /// Whether the engine with this pid is the one this supervisor started.
    pub fn is_own(&self, pid: u32) -> bool {
        self.child.lock().unwrap_or_else(|e| e.into_inner()).as_ref().map(Child::id) == Some(pid)
    }

    /// Asks the engine that answers to stop (SIGINT, as Ctrl-C) and waits
    /// for it (at most [`STOP_TIMEOUT`]). Returns its pid.
    pub fn stop(&self) -> Result<u32, SupervisorError> {
        let pid = self.client()?.hello()?.pid;
        // SAFETY: kill has no memory-safety preconditions.
        if unsafe { libc::kill(pid as libc::pid_t, libc::SIGINT) } != 0 {
            return Err(SupervisorError::Signal { pid, source: std::io::Error::last_os_error() });
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            self.reap();
            if !self.running() {
                return Ok(pid);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(SupervisorError::DidNotStop { pid })
    }

    /// Stops the engine if this supervisor started it (the app's Quit);
    /// leaves an engine someone else started alone.
    pub fn stop_own(&self) {
        if self.running_pid().is_some_and(|pid| self.is_own(pid)) {
            let _ = self.stop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_launch_agent_is_loaded_then_kickstarted_in_the_users_gui_domain() {
        let agent = LaunchAgent {
            plist: PathBuf::from(LaunchAgent::PLIST),
            label: LaunchAgent::LABEL.into(),
            launchctl: PathBuf::from("/bin/launchctl"),
        };
        let [bootstrap, kickstart] = agent.start_commands(501);
        assert_eq!(bootstrap, ["bootstrap", "gui/501", "/Library/LaunchAgents/com.gecko.engine.plist"]);
        assert_eq!(kickstart, ["kickstart", "gui/501/com.gecko.engine"]);
        // Only on macOS, and only when the .pkg put it there.
        if !cfg!(target_os = "macos") {
            assert_eq!(LaunchAgent::installed(), None);
        }
    }

    #[test]
    fn a_failing_launchctl_is_reported_with_what_it_said() {
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("launchctl");
        std::fs::write(&fake, "#!/bin/sh\necho \"$1: Could not find service\" >&2\nexit 113\n").unwrap();
        std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let agent =
            LaunchAgent { plist: dir.path().join("agent.plist"), label: LaunchAgent::LABEL.into(), launchctl: fake };
        let sup = EngineSupervisor::new(dir.path().join("none.sock"), None).with_launch_agent(Some(agent));
        let e = sup.start("/GeckoAudioShm", None, dir.path()).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("launchctl could not start com.gecko.engine"), "{text}");
        assert!(text.contains("kickstart: Could not find service"), "{text}");
    }

    #[test]
    fn an_engine_that_dies_at_once_is_reported_with_its_last_words() {
        let dir = tempfile::tempdir().unwrap();
        // a stand-in "gecko" that fails the way a bad flag would
        let exe = dir.path().join("gecko");
        std::fs::write(&exe, "#!/bin/sh\necho 'error: ring name too long' >&2\nexit 3\n").unwrap();
        std::fs::set_permissions(&exe, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let sup = EngineSupervisor::new(dir.path().join("engine.sock"), Some(exe));
        assert!(!sup.running());
        let e = sup.start("/GeckoTest", None, &dir.path().join("logs")).unwrap_err();
        assert!(matches!(e, SupervisorError::Exited { .. }), "{e}");
        assert!(e.to_string().contains("ring name too long"), "{e}");
        assert!(dir.path().join("logs/engine.log").is_file());
    }

    #[test]
    fn without_gecko_nothing_starts() {
        let dir = tempfile::tempdir().unwrap();
        let sup = EngineSupervisor::new(dir.path().join("engine.sock"), None);
        assert!(matches!(sup.start("/GeckoTest", None, dir.path()), Err(SupervisorError::NoGecko)));
        assert!(matches!(sup.stop(), Err(SupervisorError::Client(_))));
    }
}
