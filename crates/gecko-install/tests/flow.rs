//! The install flow end to end against a simulated system: a temporary
//! directory stands in for `/`, a simulated coreaudiod (this binary,
//! re-executed with `--sim-host`) loads the real driver bundle from its HAL
//! folder, and the real script (installer/gecko-driver.sh) does real file
//! operations. No file-system mocks.
//!
//! Custom harness: `cargo test -p gecko-install --test flow [NAME-SUBSTRING]`.

use gecko_install::{DeviceOutcome, InstallError, Installer, OwnerExpectation, RingHealth};
use gecko_platform::sim::{HostCommand, SimPlatform};
use gecko_platform::{AudioPlatform, BUNDLE_NAME, DriverLoad};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

static SEQ: AtomicU32 = AtomicU32::new(0);

/// A simulated machine in a temporary directory, shut down on drop.
struct Machine {
    _dir: tempfile::TempDir,
    sim: SimPlatform,
}

impl Machine {
    fn new() -> Machine {
        Machine::in_dir(tempfile::tempdir().unwrap(), "root")
    }

    fn in_dir(dir: tempfile::TempDir, root_name: &str) -> Machine {
        let root = dir.path().join(root_name);
        let shm = format!("/gki{}_{}", std::process::id(), SEQ.fetch_add(1, Ordering::SeqCst));
        let host = HostCommand { program: std::env::current_exe().unwrap(), prefix: vec!["--sim-host".into()] };
        let sim = SimPlatform::new(&root, &shm, host).unwrap();
        Machine { _dir: dir, sim }
    }

    fn installer(&self) -> Installer<'_> {
        let mut i = Installer::new(&self.sim);
        i.device_timeout = Duration::from_secs(10);
        i
    }

    fn hal(&self) -> PathBuf {
        self.sim.hal_dir()
    }

    /// Runs the script directly (no validation), e.g. to lay down an old install.
    fn script(&self, action: &str, args: &[OsString]) -> gecko_platform::privileged::ScriptRun {
        gecko_platform::privileged::run(self.sim.elevation(), &self.sim.script_base_args(), action, args, &[], "")
            .unwrap()
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        self.sim.shutdown();
        let _ = gecko_ring::unlink_segments(self.sim.shm_name());
    }
}

fn built_bundle() -> &'static Path {
    gecko_driver_bundle::bundle_path()
}

/// A copy of the built bundle in `dir`, for editing.
fn copy_bundle(dir: &Path) -> PathBuf {
    let dst = dir.join(BUNDLE_NAME);
    let st = std::process::Command::new("cp").arg("-R").arg(built_bundle()).arg(&dst).status().unwrap();
    assert!(st.success());
    dst
}

fn set_plist_string(bundle: &Path, key: &str, value: &str) {
    let p = bundle.join("Contents/Info.plist");
    let mut v = plist::Value::from_file(&p).unwrap();
    v.as_dictionary_mut().unwrap().insert(key.into(), plist::Value::String(value.into()));
    v.to_file_xml(&p).unwrap();
}

/// Everything under `dir`: relative path → (mode, uid, gid, contents of files).
type Snapshot = BTreeMap<String, (u32, u32, u32, Option<Vec<u8>>)>;

fn snapshot(dir: &Path) -> Snapshot {
    let mut s = BTreeMap::new();
    if !dir.exists() {
        return s;
    }
    for p in gecko_install::walk(dir).unwrap() {
        let m = p.symlink_metadata().unwrap();
        let data = m.is_file().then(|| std::fs::read(&p).unwrap());
        let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
        s.insert(rel, (m.permissions().mode() & 0o7777, m.uid(), m.gid(), data));
    }
    s
}

/// The installed bundle has exactly the built bundle's files, with the right
/// modes and owners.
fn assert_installed_like_built(m: &Machine) {
    let dest = m.sim.driver_path();
    let got = snapshot(&dest);
    let want = snapshot(built_bundle());
    assert_eq!(got.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>(), "file set differs");
    for (k, (_, _, _, data)) in &want {
        assert_eq!(&got[k].3, data, "{k} differs");
    }
    let owner = if is_root() { OwnerExpectation::Root } else { OwnerExpectation::RecordedOnly { uid: euid() } };
    assert_eq!(gecko_install::check_tree(&dest, owner), Vec::<String>::new());
    let top = dest.symlink_metadata().unwrap();
    assert_eq!(top.permissions().mode() & 0o7777, 0o755);
    if is_root() {
        for p in gecko_install::walk(&dest).unwrap() {
            let md = p.symlink_metadata().unwrap();
            assert_eq!((md.uid(), md.gid()), (0, 0), "{}", p.display());
        }
        assert_eq!(got["Contents/MacOS/GeckoAudioDevice"].0, 0o755);
        assert_eq!(got["Contents/Info.plist"].0, 0o644);
    }
}

fn euid() -> u32 {
    // SAFETY: no preconditions.
    unsafe { libc::geteuid() }
}

fn is_root() -> bool {
    euid() == 0
}

fn no_staging_leftovers(m: &Machine) {
    let stray: Vec<_> = std::fs::read_dir(m.hal())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != BUNDLE_NAME)
        .collect();
    assert!(stray.is_empty(), "left in HAL: {stray:?}");
}

// ---------------------------------------------------------------------------

fn install_fresh() {
    let m = Machine::new();
    let before = m.sim.boot().unwrap();
    assert!(!m.sim.gecko_sink_listed().unwrap());
    assert!(!gecko_install::segment_exists(m.sim.shm_name()));

    let r = m.installer().install(built_bundle()).unwrap();
    assert!(matches!(r.device, DeviceOutcome::Done(_)), "{:?}", r.device);
    assert_eq!(r.bundle.version, env!("CARGO_PKG_VERSION"));
    assert!(r.steps.iter().any(|s| s.contains("restarting the audio service")), "{:?}", r.steps);
    assert_installed_like_built(&m);
    no_staging_leftovers(&m);

    // The new coreaudiod (a different process) loaded the driver, which created its ring.
    let after = m.sim.state().unwrap();
    assert_ne!(before.pid, after.pid);
    assert!(after.devices.iter().any(|(uid, name)| name == "Gecko Sink" && uid == gecko_driver_bundle::DEVICE_UID));
    assert!(gecko_install::segment_exists(m.sim.shm_name()));
    let h = &r.health;
    assert!(h.ok(), "{h:?}");
    assert_eq!(h.version.as_deref(), Some(env!("CARGO_PKG_VERSION")));
    assert_eq!(h.ring, RingHealth::Present { engine_attached: false });
    assert_eq!(h.processes.len(), 1);
    assert!(h.processes[0].hosts_driver && h.processes[0].resident_bytes > 0, "{:?}", h.processes);

    // Gecko Sink is a real output for the platform calls; the default can move to it and back.
    let devices = m.sim.output_devices().unwrap();
    let gecko = devices.iter().find(|d| d.is_gecko_sink()).unwrap().clone();
    m.sim.set_default_output(&gecko.id).unwrap();
    assert_eq!(m.sim.default_output().unwrap().unwrap(), gecko);
    assert!(m.sim.set_default_output("no-such-device").is_err());
    assert!(!m.sim.capabilities().per_app_capture);

    // Installing again over itself converges to the same state.
    let r2 = m.installer().install(built_bundle()).unwrap();
    assert!(matches!(r2.device, DeviceOutcome::Done(_)));
    assert_installed_like_built(&m);
    no_staging_leftovers(&m);
}

fn reinstall_over_broken_install() {
    let m = Machine::new();
    m.sim.boot().unwrap();
    // A broken, older, half-installed driver: wrong version, a stray file, no
    // executable, wrong modes, a stale staging copy and a set-aside old copy.
    let dest = m.sim.driver_path();
    std::fs::create_dir_all(dest.join("Contents/Resources")).unwrap();
    std::fs::copy(built_bundle().join("Contents/Info.plist"), dest.join("Contents/Info.plist")).unwrap();
    set_plist_string(&dest, "CFBundleVersion", "0.0.1");
    std::fs::write(dest.join("Contents/Resources/stray.txt"), "from an older version").unwrap();
    std::fs::set_permissions(dest.join("Contents/Info.plist"), std::fs::Permissions::from_mode(0o666)).unwrap();
    std::fs::set_permissions(dest.join("Contents"), std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::create_dir_all(m.hal().join(".GeckoAudioDevice.driver.new.99999/Contents")).unwrap();
    std::fs::create_dir_all(m.hal().join(".GeckoAudioDevice.driver.old.99998")).unwrap();

    let inst = m.installer();
    let h = inst.status();
    assert!(h.installed && !h.ok());
    assert!(h.problems.iter().any(|p| p.contains("mode 666")), "{:?}", h.problems);
    assert!(h.problems.iter().any(|p| p.contains("GeckoAudioDevice is missing")), "{:?}", h.problems);
    assert!(h.problems.iter().any(|p| p.contains("leftover")), "{:?}", h.problems);
    assert!(matches!(h.driver, Ok(DriverLoad::NotLoaded(_)) | Ok(DriverLoad::ServiceDown)), "{:?}", h.driver);

    let r = inst.install(built_bundle()).unwrap();
    assert!(r.steps.iter().any(|s| s.contains("leftover")), "{:?}", r.steps);
    assert!(matches!(r.device, DeviceOutcome::Done(_)));
    assert_installed_like_built(&m);
    no_staging_leftovers(&m);
    assert!(r.health.ok(), "{:?}", r.health);

    // A destination that is a symbolic link is replaced, never followed.
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("keep"), "x").unwrap();
    std::fs::remove_dir_all(&dest).unwrap();
    std::os::unix::fs::symlink(outside.path(), &dest).unwrap();
    let r = inst.install(built_bundle()).unwrap();
    assert!(matches!(r.device, DeviceOutcome::Done(_)));
    assert_installed_like_built(&m);
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 1, "the link's target was touched");
}

fn rollback_on_injected_failure() {
    let m = Machine::new();
    m.sim.boot().unwrap();
    // An older install, laid down by the script itself (no version check there).
    let work = tempfile::tempdir().unwrap();
    let old = copy_bundle(work.path());
    set_plist_string(&old, "CFBundleVersion", "0.0.9");
    set_plist_string(&old, "CFBundleShortVersionString", "0.0.9");
    std::fs::write(old.join("Contents/Resources/old-marker"), "old").unwrap();
    let run = m.script("install", &[old.clone().into()]);
    assert!(run.ok(), "{:?}", run.lines);
    let hal_before = snapshot(&m.hal());
    assert!(hal_before.contains_key("GeckoAudioDevice.driver/Contents/Resources/old-marker"));
    let pid_before = m.sim.wait_ready(Duration::from_secs(10)).unwrap().pid;

    for step in ["copy", "normalize", "swap", "after-swap"] {
        let mut inst = m.installer();
        inst.inject_failure_at = Some(step.into());
        let err = inst.install(built_bundle()).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, InstallError::Failed { .. }), "{step}: {err:?}");
        assert!(msg.contains(&format!("injected failure at step '{step}'")), "{step}: {msg}");
        assert!(msg.contains("unchanged"), "{step}: the message must say the previous state is kept: {msg}");
        assert_eq!(snapshot(&m.hal()), hal_before, "{step}: the previous install was not restored exactly");
        // No restart happened: the audio service still runs the old driver.
        assert_eq!(m.sim.coreaudiod_pid(), Some(pid_before), "{step}");
    }
    // Without the failure it converges to the new bundle.
    let r = m.installer().install(built_bundle()).unwrap();
    assert!(matches!(r.device, DeviceOutcome::Done(_)));
    assert_installed_like_built(&m);
    no_staging_leftovers(&m);
}

fn uninstall_leaves_nothing() {
    let m = Machine::new();
    let inst = m.installer();
    inst.install(built_bundle()).unwrap();
    // An engine attaches to the ring; `status` sees it.
    let reader = gecko_ring::Reader::attach(m.sim.shm_name(), &gecko_ring::AttachOptions::default()).unwrap();
    assert_eq!(inst.status().ring, RingHealth::Present { engine_attached: true });
    drop(reader);
    // Receipts as a .pkg install leaves them.
    let receipts = m.sim.root().join("var/db/receipts");
    std::fs::create_dir_all(&receipts).unwrap();
    for f in ["com.gecko.pkg.driver.bom", "com.gecko.pkg.driver.plist"] {
        std::fs::write(receipts.join(f), "receipt").unwrap();
    }
    assert_eq!(inst.status().receipts.len(), 2);
    assert!(gecko_install::segment_exists(m.sim.shm_name()));

    let r = inst.uninstall().unwrap();
    assert!(matches!(r.device, DeviceOutcome::Done(_)), "{:?}", r.device);
    assert!(r.removed_segments);
    assert!(!m.sim.driver_present());
    assert_eq!(std::fs::read_dir(m.hal()).unwrap().count(), 0, "HAL folder not empty");
    assert_eq!(std::fs::read_dir(&receipts).unwrap().count(), 0, "receipts left");
    assert!(!gecko_install::segment_exists(m.sim.shm_name()));
    assert!(!gecko_install::segment_exists(&format!("{}.rd", m.sim.shm_name())));
    assert!(!m.sim.gecko_sink_listed().unwrap());
    let h = inst.status();
    assert!(!h.installed && h.problems.is_empty() && h.receipts.is_empty(), "{h:?}");
    assert_eq!(h.driver, Ok(DriverLoad::NotLoaded(None)));
    assert_eq!(h.ring, RingHealth::Absent);

    // Again: nothing to do, still fine.
    let r = inst.uninstall().unwrap();
    assert!(r.steps.iter().any(|s| s.contains("nothing to remove")), "{:?}", r.steps);
    assert!(!r.removed_segments);
}

/// The name of a directory no shell could survive unquoted.
const HOSTILE: &str = "we'ird \"dir\" $(touch PWNED) `touch PWNED2` ;&|*?\nline2 \\ $HOME";

fn hostile_paths() {
    let dir = tempfile::tempdir().unwrap();
    // The simulated root and the source bundle both live under hostile names.
    let src_parent = dir.path().join(HOSTILE);
    std::fs::create_dir_all(&src_parent).unwrap();
    let bundle = copy_bundle(&src_parent);
    let cwd = std::env::current_dir().unwrap();
    let m = Machine::in_dir(dir, HOSTILE);
    assert!(m.sim.root().to_string_lossy().contains('\n'));
    let r = m.installer().install(&bundle).unwrap();
    assert!(matches!(r.device, DeviceOutcome::Done(_)));
    assert_installed_like_built(&m);
    m.installer().uninstall().unwrap();
    assert!(!m.sim.driver_present());
    // Nothing was executed from the names.
    for d in [cwd.as_path(), m.sim.root(), Path::new("/")] {
        for f in ["PWNED", "PWNED2"] {
            assert!(!d.join(f).exists(), "{} was created: quoting failed", d.join(f).display());
        }
    }
    // The quoted command string carries each argument through /bin/sh -c byte for byte.
    let words: Vec<OsString> = vec![HOSTILE.into(), "".into(), "'".into(), "a\nb".into(), "-x".into(), "$(id)".into()];
    let mut cmd = String::from("printf '%s\\0'");
    for w in &words {
        cmd.push(' ');
        cmd.push_str(&gecko_platform::privileged::shell_quote(w).unwrap());
    }
    let out = std::process::Command::new("/bin/sh").arg("-c").arg(&cmd).output().unwrap();
    let got: Vec<&[u8]> = out.stdout.split(|b| *b == 0).collect();
    let want: Vec<&[u8]> = words.iter().map(|w| w.as_encoded_bytes()).chain([&b""[..]]).collect();
    assert_eq!(got, want);
}

fn refusals() {
    let m = Machine::new();
    let inst = m.installer();
    let work = tempfile::tempdir().unwrap();
    let expect_bad = |b: &Path, what: &str| {
        let e = inst.install(b).unwrap_err();
        assert!(
            matches!(
                e,
                InstallError::BadBundle { .. }
                    | InstallError::VersionMismatch { .. }
                    | InstallError::BadSignature { .. }
            ),
            "{what}: {e:?}"
        );
        assert!(!m.sim.driver_present(), "{what}: something was installed");
        e.to_string()
    };
    // Info.plist not ours.
    let d = tempfile::tempdir_in(work.path()).unwrap();
    let b = copy_bundle(d.path());
    set_plist_string(&b, "CFBundleIdentifier", "com.evil.driver");
    assert!(expect_bad(&b, "bundle id").contains("CFBundleIdentifier"));
    let d = tempfile::tempdir_in(work.path()).unwrap();
    let b = copy_bundle(d.path());
    set_plist_string(&b, "CFBundleVersion", "9.9.9");
    set_plist_string(&b, "CFBundleShortVersionString", "9.9.9");
    assert!(expect_bad(&b, "version").contains("9.9.9"));
    // A symbolic link inside the bundle.
    let d = tempfile::tempdir_in(work.path()).unwrap();
    let b = copy_bundle(d.path());
    std::os::unix::fs::symlink("/etc/passwd", b.join("Contents/Resources/link")).unwrap();
    assert!(expect_bad(&b, "symlink").contains("symbolic link"));
    // A Mach-O executable: a valid code signature is required (this one has none).
    let d = tempfile::tempdir_in(work.path()).unwrap();
    let b = copy_bundle(d.path());
    std::fs::write(b.join("Contents/MacOS/GeckoAudioDevice"), [0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1]).unwrap();
    let msg = expect_bad(&b, "mach-o");
    assert!(msg.contains("code signature refused"), "{msg}");
    let mut inst_none = m.installer();
    inst_none.verify_signature = None;
    let e = inst_none.install(&b).unwrap_err();
    assert!(matches!(e, InstallError::NoSignatureVerifier { .. }), "{e:?}");
    assert!(e.to_string().contains("without Mach-O signature checks"), "{e}");
    // …and a verifier that rejects it is obeyed.
    let reject = |_: &Path| -> Result<String, String> { Err("CodeDirectory hash mismatch".into()) };
    let mut inst2 = m.installer();
    inst2.verify_signature = Some(&reject);
    let e = inst2.install(&b).unwrap_err();
    assert!(e.to_string().contains("CodeDirectory hash mismatch"), "{e}");

    // A symbolic link on the way to the destination: refused, nothing written through it.
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(m.sim.root().join("Library")).unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), m.sim.root().join("Library/Audio")).unwrap();
    let e = inst.install(built_bundle()).unwrap_err();
    assert!(matches!(e, InstallError::Refused { .. }), "{e:?}");
    assert!(e.to_string().contains("symbolic link"), "{e}");
    assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
    assert!(inst.status().problems.iter().any(|p| p.contains("symbolic link")));
    let e = inst.uninstall().unwrap_err();
    assert!(matches!(e, InstallError::Refused { .. }), "{e:?}");
}

fn stubborn_audio_service_gets_sigkill() {
    let mut m = Machine::new();
    m.sim.stubborn_coreaudiod = true;
    let before = m.sim.boot().unwrap().pid;
    let t0 = std::time::Instant::now();
    let out = m.sim.restart_audio_service().unwrap();
    assert!(out.contains("SIGKILL"), "{out}");
    let after = m.sim.state().unwrap().pid;
    assert_ne!(before, after);
    assert!(t0.elapsed() >= Duration::from_secs(3), "SIGKILL came before the 3 s grace period");
}

fn main() {
    let args: Vec<OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "--sim-host") {
        std::process::exit(gecko_simhost::system::main_from_args(args[2..].to_vec()));
    }
    let filter: Option<String> =
        args.iter().skip(1).filter_map(|a| a.to_str()).find(|a| !a.starts_with('-')).map(str::to_owned);
    let tests: &[(&str, fn())] = &[
        ("install_fresh", install_fresh),
        ("reinstall_over_broken_install", reinstall_over_broken_install),
        ("rollback_on_injected_failure", rollback_on_injected_failure),
        ("uninstall_leaves_nothing", uninstall_leaves_nothing),
        ("hostile_paths", hostile_paths),
        ("refusals", refusals),
        ("stubborn_audio_service_gets_sigkill", stubborn_audio_service_gets_sigkill),
    ];
    let mut failed = Vec::new();
    let mut ran = 0;
    for (name, f) in tests {
        if filter.as_ref().is_some_and(|flt| !name.contains(flt.as_str())) {
            continue;
        }
        ran += 1;
        let t0 = std::time::Instant::now();
        let ok = std::panic::catch_unwind(f).is_ok();
        println!("test {name} ... {} ({:.1} s)", if ok { "ok" } else { "FAILED" }, t0.elapsed().as_secs_f64());
        if !ok {
            failed.push(*name);
        }
    }
    println!("\nflow: {} passed, {} failed", ran - failed.len(), failed.len());
    if !failed.is_empty() {
        println!("failed: {failed:?}");
        std::process::exit(1);
    }
}
