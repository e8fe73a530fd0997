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
}

/// Starts, recognises and stops the engine process.
#[derive(Debug)]
pub struct EngineSupervisor {
    socket: PathBuf,
    gecko_exe: Option<PathBuf>,
    child: Mutex<Option<Child>>,
}

impl EngineSupervisor {
    /// An engine reached at `socket`, run as `gecko_exe engine …`.
    pub fn new(socket: PathBuf, gecko_exe: Option<PathBuf>) -> EngineSupervisor {
        EngineSupervisor { socket, gecko_exe, child: Mutex::new(None) }
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

    /// Starts `gecko engine --quiet --control-socket S --shm-name RING
    /// --wait <a year> [--device D]` in its own process group, with its
    /// output in `log_dir/engine.log`, and waits until it answers (at most
    /// [`START_TIMEOUT`]). It waits as long as it takes for Gecko Sink's ring
    /// (a driver installed later).
    pub fn start(&self, ring: &str, device: Option<&str>, log_dir: &Path) -> Result<Started, SupervisorError> {
        if self.running() {
            return Ok(Started::AlreadyRunning);
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
