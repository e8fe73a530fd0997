//! The simulated system's processes: the launchd and the coreaudiod of a
//! directory that stands in for `/` (gecko-platform's `SimPlatform` starts
//! them, reads what they publish, and restarts them the way the privileged
//! script restarts the real coreaudiod).
//!
//! Both are started from one program (gecko-platform's `HostCommand`: `gecko
//! sim-audio`, or the `gecko-sim-coreaudiod` binary), which ends in a call to
//! [`main_from_args`]:
//! - **launchd** (`… launchd --root R --shm NAME`): starts coreaudiod and
//!   starts it again whenever it exits, as launchd does for the real one.
//!   Pid in `<root>/var/run/gecko-sim/launchd.pid`.
//! - **coreaudiod** (`… coreaudiod --root R --shm NAME`): writes its pid to
//!   `coreaudiod.pid`, loads every `*.driver` bundle in
//!   `<root>/Library/Audio/Plug-Ins/HAL` through the real entry points
//!   (gecko-simhost: Info.plist → factory → QueryInterface → Initialize, which
//!   creates the driver's shared-memory ring), and lists the devices it found
//!   in `coreaudiod.devices`: a first line `pid N`, then `uid<TAB>name` per
//!   device (a simulated built-in output first), then `!bundle<TAB>error` per
//!   bundle that failed to load. Until killed, it then plays the HAL's part
//!   for Gecko Sink's ring-state property: every ~500 ms it reads `'gkrs'`
//!   from the loaded driver and writes it to [`RING_STATE_FILE`] (a first
//!   line `pid N`, then the property's text; written atomically), which
//!   gecko-platform's `SimPlatform`'s `driver_ring_state` reads.
//!
//! With `GECKO_SIM_DENY_SHM_CREATE=1` in its environment, coreaudiod plays the
//! plug-in sandbox that refuses to create shared memory
//! ([`crate::Driver::set_deny_shm_create`]): the driver then needs a
//! pre-created segment (`gecko ring precreate`), as it may on a Mac.
//!
//! These run only on Linux: macOS has the real launchd and coreaudiod.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The simulated built-in output, always listed.
pub const BUILT_IN_UID: &str = "SimBuiltInSpeakerDevice";
/// Its name.
pub const BUILT_IN_NAME: &str = "Simulated Speakers";
/// Where the simulated processes keep their state, relative to the root.
pub const RUN_DIR: &str = "var/run/gecko-sim";
/// The file in [`RUN_DIR`] where coreaudiod publishes Gecko Sink's
/// ring-state property (see the module docs).
pub const RING_STATE_FILE: &str = "ring-state";
/// The file in [`RUN_DIR`] where coreaudiod lists the devices it loaded.
pub const DEVICES_FILE: &str = "coreaudiod.devices";
/// Set to `1` in coreaudiod's environment: the driver may not create shared
/// memory (the plug-in sandbox's refusal; see the module docs).
pub const DENY_SHM_CREATE_ENV: &str = "GECKO_SIM_DENY_SHM_CREATE";
/// How often coreaudiod refreshes [`RING_STATE_FILE`].
pub const RING_STATE_PERIOD: Duration = Duration::from_millis(500);

/// Writes `text` to `path` atomically (a temporary file, then a rename), so
/// that a reader never sees half a file.
pub fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

static TERM: AtomicBool = AtomicBool::new(false);

extern "C" fn on_term(_: libc::c_int) {
    TERM.store(true, Ordering::SeqCst);
}

/// Entry point of the simulated host program: `args` are what follows the
/// host command's prefix: `launchd|coreaudiod --root DIR --shm NAME [--ignore-term]`.
/// Returns the process exit code.
pub fn main_from_args(args: Vec<OsString>) -> i32 {
    let usage = "usage: launchd|coreaudiod --root DIR --shm NAME [--ignore-term]";
    let mut it = args.into_iter();
    let role = it.next().and_then(|s| s.into_string().ok()).unwrap_or_default();
    let (mut root, mut shm, mut ignore_term) = (None, None, false);
    while let Some(a) = it.next() {
        match a.to_str() {
            Some("--root") => root = it.next().map(PathBuf::from),
            Some("--shm") => shm = it.next().and_then(|s| s.into_string().ok()),
            Some("--ignore-term") => ignore_term = true,
            _ => {
                eprintln!("{usage}");
                return 2;
            }
        }
    }
    let (Some(root), Some(shm)) = (root, shm) else {
        eprintln!("{usage}");
        return 2;
    };
    match role.as_str() {
        "launchd" => run_launchd(&root, &shm, ignore_term),
        "coreaudiod" => run_coreaudiod(&root, &shm, ignore_term),
        _ => {
            eprintln!("{usage}");
            2
        }
    }
}

fn run_launchd(root: &Path, shm: &str, ignore_term: bool) -> i32 {
    let run = root.join(RUN_DIR);
    if let Err(e) = std::fs::create_dir_all(&run)
        .and_then(|_| write_atomic(&run.join("launchd.pid"), &std::process::id().to_string()))
    {
        eprintln!("launchd: {e}");
        return 1;
    }
    // SAFETY: installing a handler that only stores to an atomic.
    unsafe {
        libc::signal(libc::SIGTERM, on_term as *const () as libc::sighandler_t);
    }
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("launchd: current_exe: {e}");
            return 1;
        }
    };
    // Our own argv with the role word replaced.
    let mut argv: Vec<OsString> = std::env::args_os().skip(1).collect();
    if let Some(pos) = argv.iter().position(|a| a == "launchd") {
        argv[pos] = "coreaudiod".into();
    }
    let _ = (shm, ignore_term);
    loop {
        let mut child = match Command::new(&exe).args(&argv).stdin(Stdio::null()).spawn() {
            Ok(c) => c,
            Err(e) => {
                eprintln!("launchd: cannot start coreaudiod: {e}");
                return 1;
            }
        };
        loop {
            if TERM.load(Ordering::SeqCst) {
                let _ = child.kill();
                let _ = child.wait();
                let _ = std::fs::remove_file(run.join("launchd.pid"));
                return 0;
            }
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn run_coreaudiod(root: &Path, shm: &str, ignore_term: bool) -> i32 {
    if ignore_term {
        // SAFETY: ignoring a signal.
        unsafe {
            libc::signal(libc::SIGTERM, libc::SIG_IGN);
        }
    }
    let run = root.join(RUN_DIR);
    let pid = std::process::id();
    if let Err(e) = write_atomic(&run.join("coreaudiod.pid"), &pid.to_string()) {
        eprintln!("coreaudiod: {e}");
        return 1;
    }
    let ring_state_path = run.join(RING_STATE_FILE);
    let _ = std::fs::remove_file(&ring_state_path); // a dead coreaudiod's
    let mut text = format!("pid {pid}\n{BUILT_IN_UID}\t{BUILT_IN_NAME}\n");
    let mut drivers = Vec::new();
    let mut gecko_sink = None;
    let hal = root.join(gecko_identity::HAL_DIR);
    let mut bundles: Vec<PathBuf> =
        std::fs::read_dir(&hal).map(|rd| rd.flatten().map(|e| e.path()).collect()).unwrap_or_default();
    bundles.sort();
    for b in bundles {
        let name = b.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if name.starts_with('.') || !name.ends_with(".driver") {
            continue;
        }
        match load_one(&b, shm) {
            Ok((driver, dev)) => {
                text.push_str(&format!("{}\t{}\n", dev.uid, dev.name));
                if gecko_identity::is_gecko_sink(&dev.uid) && gecko_sink.is_none() {
                    gecko_sink = Some((drivers.len(), dev.device_id));
                }
                drivers.push(driver);
            }
            Err(e) => text.push_str(&format!("!{}\t{}\n", b.display(), e.replace(['\n', '\t'], " "))),
        }
    }
    // The ring state first, so it is there as soon as the devices are listed.
    let publish_ring_state = || {
        if let Some((i, device)) = gecko_sink {
            let driver: &crate::Driver = &drivers[i];
            match driver.ring_state(device) {
                Ok(state) => {
                    if let Err(e) = write_atomic(&ring_state_path, &format!("pid {pid}\n{state}")) {
                        eprintln!("coreaudiod: {e}");
                    }
                }
                // An older driver without the property: nothing to publish.
                Err(_) => {
                    let _ = std::fs::remove_file(&ring_state_path);
                }
            }
        }
    };
    publish_ring_state();
    if let Err(e) = write_atomic(&run.join(DEVICES_FILE), &text) {
        eprintln!("coreaudiod: {e}");
        return 1;
    }
    loop {
        std::thread::sleep(RING_STATE_PERIOD);
        publish_ring_state();
    }
}

fn load_one(bundle: &Path, shm: &str) -> Result<(crate::Driver, crate::DeviceInfo), String> {
    let mut driver = crate::load(bundle).map_err(|e| e.to_string())?;
    if driver.has_sim_configure() {
        if std::env::var(DENY_SHM_CREATE_ENV).is_ok_and(|v| v == "1") {
            driver.set_deny_shm_create(true);
        }
        driver.configure(shm, None, None).map_err(|e| e.to_string())?;
    }
    driver.initialize(std::sync::Arc::new(crate::Host::new())).map_err(|e| e.to_string())?;
    let dev = driver.find_device().map_err(|e| e.to_string())?;
    Ok((driver, dev))
}
