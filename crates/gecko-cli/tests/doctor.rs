//! `gecko doctor --root DIR` against the simulated system: the real `gecko`
//! binary, a real install (`gecko install --root`), the simulated launchd and
//! coreaudiod with the C driver loaded, a real engine process. A healthy
//! install passes every check; each injected fault gets its own ✘ line — the
//! check that names it and the fix — and, where the fix is a command, running
//! it makes that check pass.

use gecko_install::doctor::CHECKS;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static SEQ: AtomicU32 = AtomicU32::new(0);

/// A simulated machine in a temporary directory: its root, its ring, its
/// engine socket. Stops what it started on drop.
struct Machine {
    dir: tempfile::TempDir,
    root: PathBuf,
    shm: String,
    socket: PathBuf,
    engine: Option<Child>,
}

/// One line of the doctor's text output.
#[derive(Debug)]
struct Line {
    mark: String,
    detail: String,
    fix: Option<String>,
}

impl Machine {
    fn new() -> Machine {
        // Under the target directory, not /tmp: the quarantine test needs a
        // file system with user extended attributes (a tmpfs may have none).
        let dir = tempfile::Builder::new().prefix("doctor").tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
        let root = dir.path().join("sim root");
        let shm = format!("/gkd{}_{}", std::process::id(), SEQ.fetch_add(1, Ordering::SeqCst));
        let socket = dir.path().join("engine.sock");
        Machine { root, shm, socket, dir, engine: None }
    }

    fn command(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_gecko"));
        c.env("GECKO_SIM_SHM_NAME", &self.shm)
            .env("GECKO_CONTROL_SOCKET", &self.socket)
            .env_remove("GECKO_SIM_DENY_SHM_CREATE")
            .env_remove("GECKO_SIM_ROOT");
        c
    }

    /// `gecko ARGS --root ROOT`.
    fn gecko(&self, args: &[&str]) -> Output {
        self.command().args(args).arg("--root").arg(&self.root).output().unwrap()
    }

    fn install(&self) {
        let o = self.gecko(&["install"]);
        assert!(o.status.success(), "{}", text(&o));
        assert!(text(&o).contains("Gecko Sink is available"), "{}", text(&o));
    }

    /// Installs with a simulated coreaudiod that plays the plug-in sandbox
    /// refusing to create shared memory (it keeps that environment across
    /// restarts: the simulated launchd passes it on).
    fn install_in_sandbox(&self) {
        let o = self
            .command()
            .args(["install", "--root"])
            .arg(&self.root)
            .env("GECKO_SIM_DENY_SHM_CREATE", "1")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o));
    }

    fn bundle(&self) -> PathBuf {
        self.root.join("Library/Audio/Plug-Ins/HAL/GeckoAudioDevice.driver")
    }

    fn run_dir(&self) -> PathBuf {
        self.root.join("var/run/gecko-sim")
    }

    /// Starts a headless engine and waits until it has attached to the ring.
    fn start_engine(&mut self) {
        let child = self
            .command()
            .args(["engine", "--shm-name", &self.shm, "--no-play", "--quiet", "--wait", "10", "--control-socket"])
            .arg(&self.socket)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.engine = Some(child);
        let t0 = Instant::now();
        loop {
            let attached = gecko_control::ControlClient::connect(&self.socket)
                .and_then(|mut c| c.status())
                .is_ok_and(|s| s.format.is_some());
            if attached {
                return;
            }
            assert!(t0.elapsed() < Duration::from_secs(15), "the engine did not attach to {}", self.shm);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `gecko doctor --root ROOT`: its exit code and its lines by check id.
    fn doctor(&self) -> (i32, Vec<(String, Line)>, String) {
        let o = self.gecko(&["doctor"]);
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        let mut lines: Vec<(String, Line)> = Vec::new();
        for l in out.lines().skip(1) {
            if let Some(fix) = l.trim_start().strip_prefix("fix: ") {
                let last = lines.last_mut().unwrap_or_else(|| panic!("a fix line before any check:\n{out}"));
                assert!(last.1.fix.is_none(), "two fix lines for {}:\n{out}", last.0);
                last.1.fix = Some(fix.to_owned());
                continue;
            }
            let (mark, rest) = l.split_once(' ').unwrap_or_else(|| panic!("unexpected line {l:?}:\n{out}"));
            let (id, detail) =
                rest.trim_start().split_once(' ').unwrap_or_else(|| panic!("unexpected line {l:?}:\n{out}"));
            lines.push((
                id.to_owned(),
                Line { mark: mark.to_owned(), detail: detail.trim_start().to_owned(), fix: None },
            ));
        }
        let ids: Vec<&str> = lines.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, CHECKS, "every check, in order, once:\n{out}\n{}", String::from_utf8_lossy(&o.stderr));
        for (id, l) in &lines {
            assert!(["✔", "✘", "–"].contains(&l.mark.as_str()), "{id}: mark {:?}\n{out}", l.mark);
            assert_eq!(l.mark == "✘", l.fix.is_some(), "{id}: a fix line under every ✘ and only there:\n{out}");
        }
        (o.status.code().unwrap_or(-1), lines, out)
    }

    /// `gecko doctor --json --root ROOT`: its exit code and the array.
    fn doctor_json(&self) -> (i32, Vec<Value>) {
        let o = self.gecko(&["doctor", "--json"]);
        let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", text(&o)));
        (o.status.code().unwrap_or(-1), v.as_array().unwrap().clone())
    }

    /// Runs a fix's command (the part in backticks) through the shell.
    fn run_fix(&self, fix: &str) {
        let cmd = backticked(fix);
        let o = Command::new("sh")
            .arg("-c")
            .arg(&cmd)
            .env("PATH", path_with_gecko())
            .env("GECKO_SIM_SHM_NAME", &self.shm)
            .env("GECKO_CONTROL_SOCKET", &self.socket)
            .env_remove("GECKO_SIM_DENY_SHM_CREATE")
            .env_remove("GECKO_SIM_ROOT")
            .output()
            .unwrap();
        assert!(o.status.success(), "the fix `{cmd}` failed: {}", text(&o));
    }

    fn coreaudiod_pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.run_dir().join("coreaudiod.pid")).ok()?.trim().parse().ok()
    }

    /// Waits until a coreaudiod other than `old` has published its devices;
    /// returns its device list.
    fn wait_new_coreaudiod(&self, old: u32) -> String {
        let t0 = Instant::now();
        loop {
            if let Some(pid) = self.coreaudiod_pid().filter(|p| *p != old) {
                let devices = std::fs::read_to_string(self.run_dir().join("coreaudiod.devices")).unwrap_or_default();
                if devices.starts_with(&format!("pid {pid}\n")) {
                    return devices;
                }
            }
            assert!(t0.elapsed() < Duration::from_secs(15), "no new coreaudiod after {old}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        if let Some(mut e) = self.engine.take() {
            let _ = e.kill();
            let _ = e.wait();
        }
        for f in ["launchd.pid", "coreaudiod.pid"] {
            if let Ok(pid) = std::fs::read_to_string(self.run_dir().join(f))
                && let Ok(pid) = pid.trim().parse::<i32>()
            {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
            }
        }
        let _ = gecko_ring::unlink_segments(&self.shm);
        let _ = &self.dir;
    }
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

/// `PATH` with the directory of the `gecko` under test first, so a fix's
/// `gecko …` runs it.
fn path_with_gecko() -> std::ffi::OsString {
    let dir = Path::new(env!("CARGO_BIN_EXE_gecko")).parent().unwrap().to_path_buf();
    let mut paths = vec![dir];
    paths.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
    std::env::join_paths(paths).unwrap()
}

/// The first command in backticks in a fix.
fn backticked(fix: &str) -> String {
    let mut parts = fix.split('`');
    parts.next();
    parts.next().unwrap_or_else(|| panic!("no command in backticks in {fix:?}")).to_owned()
}

fn line<'a>(lines: &'a [(String, Line)], id: &str) -> &'a Line {
    &lines.iter().find(|(i, _)| i == id).unwrap().1
}

/// Every check before `id` passed, `id` failed, and the checks that need it
/// were not run (named as such).
fn only_failure(lines: &[(String, Line)], id: &str, out: &str) {
    let mut failed = Vec::new();
    for (i, l) in lines {
        if l.mark == "✘" {
            failed.push(i.as_str());
        }
    }
    assert_eq!(failed, [id], "exactly one ✘, on {id}:\n{out}");
    for dep in gecko_install::doctor::CHECKS.iter().filter(|c| gecko_install::doctor::depends_on(c).contains(&id)) {
        let l = line(lines, dep);
        assert_eq!(l.mark, "–", "{dep} needs {id}:\n{out}");
        assert!(l.detail.contains(&format!("needs \"{id}\", which failed")), "{dep}: {}", l.detail);
    }
}

#[test]
fn a_healthy_install_passes_and_a_stopped_engine_is_named() {
    let mut m = Machine::new();
    m.install();

    // No engine yet: the engine check says so and how to start it.
    let (code, lines, out) = m.doctor();
    assert_eq!(code, 1, "{out}");
    only_failure(&lines, "engine", &out);
    let e = line(&lines, "engine");
    assert!(e.detail.contains("no engine is running") && e.detail.contains(&m.socket.display().to_string()), "{out}");
    assert_eq!(
        e.fix.as_deref(),
        Some(format!("start it: `gecko engine --shm-name {}` (or Start engine in the Gecko app)", m.shm).as_str())
    );

    // With the engine the fix names: every check passes.
    m.start_engine();
    let (code, lines, out) = m.doctor();
    assert_eq!(code, 0, "{out}");
    assert!(lines.iter().all(|(_, l)| l.mark == "✔"), "{out}");
    assert_eq!(line(&lines, "signature").detail, "not applicable (simulated system: ELF bundle)");
    assert!(line(&lines, "audio-service").detail.contains("hosts the driver itself"), "{out}");
    assert!(
        line(&lines, "ring-state")
            .detail
            .contains(&format!("the driver mapped {} (262656 bytes, created by the driver)", m.shm)),
        "{out}"
    );
    // fstat's size: 384 on Linux; page-rounded under macOS semantics (XNU pshm_truncate).
    let rd_bytes = if std::env::var_os("GECKO_MACOS_SEMANTICS").is_some() {
        // SAFETY: sysconf has no preconditions (the emulation answers 16 KiB).
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64;
        384u64.next_multiple_of(page)
    } else {
        384
    };
    assert!(line(&lines, "segments").detail.contains(&format!("{}.rd: {rd_bytes} bytes, mode 644", m.shm)), "{out}");
    let engine_pid = m.engine.as_ref().unwrap().id();
    assert!(line(&lines, "engine").detail.contains(&format!("pid {engine_pid} attached to {}", m.shm)), "{out}");
    assert!(line(&lines, "xruns").detail.starts_with("none during the doctor's"), "{out}");

    // The same as JSON.
    let (code, checks) = m.doctor_json();
    assert_eq!(code, 0);
    let ids: Vec<&str> = checks.iter().map(|c| c["check"].as_str().unwrap()).collect();
    assert_eq!(ids, CHECKS);
    for c in &checks {
        assert_eq!(c["ok"], Value::Bool(true), "{c}");
        assert!(c["fix"].is_null() && !c["detail"].as_str().unwrap().is_empty(), "{c}");
    }

    // The engine stops: named again, in JSON too.
    let mut e = m.engine.take().unwrap();
    e.kill().unwrap();
    e.wait().unwrap();
    let (code, checks) = m.doctor_json();
    assert_eq!(code, 1);
    let engine = checks.iter().find(|c| c["check"] == "engine").unwrap();
    assert_eq!(engine["ok"], Value::Bool(false));
    assert!(engine["fix"].as_str().unwrap().contains(&format!("gecko engine --shm-name {}", m.shm)), "{engine}");
    let latency = checks.iter().find(|c| c["check"] == "latency").unwrap();
    assert!(latency["ok"].is_null(), "{latency}");
}

#[test]
fn a_missing_bundle_is_named() {
    let m = Machine::new();
    m.install();
    std::fs::remove_dir_all(m.bundle()).unwrap();
    let (code, lines, out) = m.doctor();
    assert_eq!(code, 1, "{out}");
    only_failure(&lines, "bundle", &out);
    let b = line(&lines, "bundle");
    assert_eq!(b.detail, format!("no driver at {}", m.bundle().display()));
    assert_eq!(
        b.fix.as_deref(),
        Some(
            format!("install it: `gecko install --root '{}'` (or open the Gecko installer package)", m.root.display())
                .as_str()
        )
    );
    // The checks that do not need the bundle still ran.
    assert_eq!(line(&lines, "audio-service").mark, "✔", "{out}");
}

#[test]
fn wrong_modes_and_owners_are_named_and_install_repairs_them() {
    let m = Machine::new();
    m.install();
    let plist = m.bundle().join("Contents/Info.plist");
    std::fs::set_permissions(&plist, std::os::unix::fs::PermissionsExt::from_mode(0o666)).unwrap();
    let (code, lines, out) = m.doctor();
    assert_eq!(code, 1, "{out}");
    let o = line(&lines, "ownership");
    assert_eq!(o.mark, "✘", "{out}");
    assert_eq!(o.detail, format!("{} has mode 666, expected 644", plist.display()));
    let fix = o.fix.as_deref().unwrap();
    assert!(fix.contains(&format!("`gecko install --root '{}'`", m.root.display())), "{fix}");
    // Only this: the device is still listed, the ring fine.
    assert_eq!(line(&lines, "device").mark, "✔", "{out}");
    assert_eq!(line(&lines, "ring-state").mark, "✔", "{out}");

    // The fix, as printed, repairs it.
    m.run_fix(fix);
    let (_, lines, out) = m.doctor();
    assert_eq!(line(&lines, "ownership").mark, "✔", "{out}");

    // As root, a file owned by someone else.
    // Our own euid: the owner of the directory we just created.
    if std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(m.dir.path()).unwrap()) == 0 {
        let exe = m.bundle().join("Contents/MacOS/GeckoAudioDevice");
        std::os::unix::fs::chown(&exe, Some(1234), Some(1234)).unwrap();
        let (code, lines, out) = m.doctor();
        assert_eq!(code, 1, "{out}");
        let o = line(&lines, "ownership");
        assert_eq!(o.mark, "✘", "{out}");
        assert_eq!(o.detail, format!("{} is owned by 1234:1234, expected 0:0", exe.display()));
        m.run_fix(o.fix.as_deref().unwrap());
        let (_, lines, out) = m.doctor();
        assert_eq!(line(&lines, "ownership").mark, "✔", "{out}");
    } else {
        eprintln!("not root: the chown half of this test needs root (the chmod half ran)");
    }
}

#[test]
fn a_quarantine_attribute_is_named() {
    let m = Machine::new();
    m.install();
    let bundle = m.bundle();
    // setxattr(2) through Python's os module (setfattr may not be installed).
    let set = Command::new("python3")
        .args(["-c", "import os, sys; os.setxattr(sys.argv[1], 'user.com.apple.quarantine', b'0081;6642b3c1;Safari;')"])
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(set.status.success(), "could not set the attribute on {}: {}", bundle.display(), text(&set));
    let (code, lines, out) = m.doctor();
    assert_eq!(code, 1, "{out}");
    let q = line(&lines, "quarantine");
    assert_eq!(q.mark, "✘", "{out}");
    assert!(
        q.detail
            .starts_with(&format!("{} carries the quarantine attribute (user.com.apple.quarantine)", bundle.display())),
        "{out}"
    );
    // The simulated system's `sudo xattr -dr com.apple.quarantine <bundle>`.
    assert_eq!(
        q.fix.as_deref(),
        Some(format!("setfattr -x user.com.apple.quarantine '{}'", bundle.display()).as_str())
    );

    let del = Command::new("python3")
        .args(["-c", "import os, sys; os.removexattr(sys.argv[1], 'user.com.apple.quarantine')"])
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(del.status.success(), "{}", text(&del));
    let (_, lines, out) = m.doctor();
    assert_eq!(line(&lines, "quarantine").mark, "✔", "{out}");
}

#[test]
fn a_stopped_audio_service_is_named_and_its_fix_starts_it() {
    let m = Machine::new();
    m.install();
    // The machine's audio service goes down (launchd first, so nothing restarts it).
    for f in ["launchd.pid", "coreaudiod.pid"] {
        let pid: i32 = std::fs::read_to_string(m.run_dir().join(f)).unwrap().trim().parse().unwrap();
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL).unwrap();
        let t0 = Instant::now();
        while Path::new(&format!("/proc/{pid}")).exists()
            && !std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default().contains(") Z")
        {
            assert!(t0.elapsed() < Duration::from_secs(5));
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    let (code, lines, out) = m.doctor();
    assert_eq!(code, 1, "{out}");
    only_failure(&lines, "audio-service", &out);
    let a = line(&lines, "audio-service");
    assert_eq!(a.detail, "coreaudiod is not running");
    let fix = a.fix.as_deref().unwrap();
    assert!(fix.starts_with(&format!("start it: `gecko output --root '{}'`", m.root.display())), "{fix}");
    assert_eq!(line(&lines, "device").detail, "not checked: needs \"audio-service\", which failed");

    m.run_fix(fix);
    let (_, lines, out) = m.doctor();
    for id in ["audio-service", "device", "ring-state", "segments"] {
        assert_eq!(line(&lines, id).mark, "✔", "{id}:\n{out}");
    }
}

#[test]
fn a_driver_the_audio_service_has_not_loaded_is_named_and_a_restart_loads_it() {
    let m = Machine::new();
    m.install();
    // coreaudiod restarts while the bundle is away, then it comes back: the
    // running service does not list Gecko Sink (as after copying a driver by
    // hand without restarting coreaudiod).
    let away = m.dir.path().join("away.driver");
    std::fs::rename(m.bundle(), &away).unwrap();
    let old = m.coreaudiod_pid().unwrap();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(old as i32), nix::sys::signal::Signal::SIGTERM).unwrap();
    let devices = m.wait_new_coreaudiod(old);
    assert!(!devices.contains("Gecko Sink"), "{devices}");
    std::fs::rename(&away, m.bundle()).unwrap();

    let (code, lines, out) = m.doctor();
    assert_eq!(code, 1, "{out}");
    only_failure(&lines, "device", &out);
    let d = line(&lines, "device");
    assert!(d.detail.starts_with("the audio service does not list Gecko Sink"), "{out}");
    let fix = d.fix.as_deref().unwrap();
    let pid_file = m.run_dir().join("coreaudiod.pid");
    assert!(fix.contains(&format!("`kill $(cat '{}')`", pid_file.display())), "{fix}");

    let now = m.coreaudiod_pid().unwrap();
    m.run_fix(fix);
    m.wait_new_coreaudiod(now);
    let (_, lines, out) = m.doctor();
    for id in ["device", "ring-state", "segments"] {
        assert_eq!(line(&lines, id).mark, "✔", "{id}:\n{out}");
    }
}

#[test]
fn a_sandbox_refusing_shared_memory_is_named_and_a_precreated_segment_fixes_it() {
    let mut m = Machine::new();
    m.install_in_sandbox();
    let (code, lines, out) = m.doctor();
    assert_eq!(code, 1, "{out}");
    only_failure(&lines, "ring-state", &out);
    let r = line(&lines, "ring-state");
    // The driver's own sentence (DriverRingState::problem).
    assert!(
        r.detail.contains(&format!("the driver may not create its shared memory {} (Operation not permitted)", m.shm)),
        "{out}"
    );
    assert!(r.detail.contains("gecko ring precreate"), "{out}");
    let fix = r.fix.as_deref().unwrap();
    assert!(
        fix.starts_with(&format!("pre-create the segment for the driver: `gecko ring precreate --shm-name {}`", m.shm)),
        "{fix}"
    );

    // Run it; the driver maps the segment at its next start (the simulated
    // coreaudiod runs no IO, so no StartIO retries it meanwhile).
    m.run_fix(fix);
    let (code, lines, out) = m.doctor();
    assert_eq!(code, 1, "{out}");
    let r = line(&lines, "ring-state");
    assert_eq!(r.mark, "✘", "{out}");
    assert!(r.detail.contains("the segment exists now"), "{out}");
    let restart = r.fix.as_deref().unwrap();
    assert!(
        restart.starts_with(&format!(
            "restart the audio service (`kill $(cat '{}')`)",
            m.run_dir().join("coreaudiod.pid").display()
        )),
        "{restart}"
    );
    let old = m.coreaudiod_pid().unwrap();
    m.run_fix(restart);
    m.wait_new_coreaudiod(old);

    let (_, lines, out) = m.doctor();
    let r = line(&lines, "ring-state");
    assert_eq!(r.mark, "✔", "{out}");
    assert!(r.detail.contains("pre-created for it"), "{out}");
    assert_eq!(line(&lines, "segments").mark, "✔", "{out}");

    // An engine reads the pre-created ring: all is well.
    m.start_engine();
    let (code, lines, out) = m.doctor();
    assert_eq!(code, 0, "{out}");
    assert!(lines.iter().all(|(_, l)| l.mark == "✔"), "{out}");
}
