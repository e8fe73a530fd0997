//! Builds a signed Gecko pkg (with a self-signed certificate made now by
//! openssl) and reads it back with code independent of the writer:
//! tests/readback.py (Python's struct/zlib/gzip/hashlib/xml: the xar header,
//! TOC and its checksum, every file's checksums, Distribution, PackageInfo,
//! the BOM's B-tree, the odc cpio Payload and Scripts), bsdtar (libarchive)
//! as a second reader, and openssl for the certificate and both signatures.
//! Then installs the pkg into a simulated system the way Installer does
//! (preinstall, payload extracted with owners and modes, postinstall) and
//! checks the device appears.
//!
//! Tools: python3, openssl, bsdtar (scripts/setup.sh installs libarchive-tools).
//! Custom harness: the binary is also the simulated host (`--sim-host`).

use gecko_platform::AudioPlatform;
use gecko_platform::sim::{HostCommand, SimPlatform};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn tool(name: &str) -> Command {
    if Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output()
        .map(|o| !o.status.success())
        .unwrap_or(true)
    {
        panic!("{name} is missing: run `bash scripts/setup.sh` (python3, openssl, bsdtar from libarchive-tools)");
    }
    Command::new(name)
}

fn run_ok(c: &mut Command) -> String {
    let o = c.output().unwrap();
    let t = String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{c:?} failed:\n{t}");
    t
}

fn built() -> &'static Path {
    gecko_driver_bundle::bundle_path()
}

/// A stand-in for a macOS-built Gecko.app.
fn fake_app(dir: &Path) -> PathBuf {
    let app = dir.join("Gecko.app");
    std::fs::create_dir_all(app.join("Contents/MacOS")).unwrap();
    std::fs::create_dir_all(app.join("Contents/Resources")).unwrap();
    std::fs::write(
        app.join("Contents/Info.plist"),
        "<plist><dict><key>CFBundleIdentifier</key><string>com.gecko.app</string></dict></plist>",
    )
    .unwrap();
    std::fs::write(app.join("Contents/MacOS/Gecko"), "#!/bin/sh\necho gecko\n").unwrap();
    std::fs::write(app.join("Contents/Resources/readme.txt"), "resource").unwrap();
    let mode = |p: &Path, m| std::fs::set_permissions(p, std::os::unix::fs::PermissionsExt::from_mode(m)).unwrap();
    mode(&app.join("Contents/MacOS/Gecko"), 0o755);
    mode(&app.join("Contents/Resources/readme.txt"), 0o644);
    app
}

struct Built {
    dir: tempfile::TempDir,
    pkg: PathBuf,
    cert_pem: PathBuf,
}

fn build_signed() -> Built {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A self-signed stand-in for a Developer ID Installer certificate, made now.
    run_ok(
        tool("openssl")
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"])
            .args([
                "-subj",
                "/CN=Developer ID Installer: Gecko Test (GECKOTEST1)/OU=GECKOTEST1/O=Gecko Test",
                "-keyout",
            ])
            .arg(d.join("key.pem"))
            .arg("-out")
            .arg(d.join("cert.pem")),
    );
    let mut pem = std::fs::read(d.join("cert.pem")).unwrap();
    pem.extend(std::fs::read(d.join("key.pem")).unwrap());
    let identity = gecko_macos_bundle::Identity::from_pem(&pem).unwrap();
    let input = gecko_pkg::PkgInput {
        version: env!("CARGO_PKG_VERSION").into(),
        driver: built().to_path_buf(),
        app: Some(fake_app(d)),
        allow_linux_bundle: true,
    };
    let pkg = gecko_pkg::build_pkg(&input, &d.join("out")).unwrap();
    assert_eq!(pkg.file_name().unwrap(), format!("Gecko-{}.pkg", env!("CARGO_PKG_VERSION")).as_str());
    gecko_pkg::sign_pkg(&pkg, &identity, None).unwrap();
    Built { cert_pem: d.join("cert.pem"), pkg, dir }
}

fn readback(pkg: &Path, out: &Path) -> Result<Value, String> {
    let script = format!("{}/tests/readback.py", manifest_dir());
    let o = tool("python3").arg(script).arg(pkg).arg(out).output().unwrap();
    if !o.status.success() {
        return Err(String::from_utf8_lossy(&o.stderr).into_owned());
    }
    Ok(serde_json::from_slice(&o.stdout).unwrap())
}

/// (mode, uid, gid, size) by path, from a cpio or BOM listing.
fn listing(entries: &Value) -> BTreeMap<String, (u64, u64, u64, u64)> {
    entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let n = |k: &str| e[k].as_u64().unwrap();
            let size = if n("mode") & 0o170000 == 0o040000 { 0 } else { n("size") };
            (e["path"].as_str().unwrap().to_owned(), (n("mode"), n("uid"), n("gid"), size))
        })
        .collect()
}

fn signed_pkg_reads_back() {
    let b = build_signed();
    let out = b.dir.path().join("rb");
    let r = readback(&b.pkg, &out).unwrap();

    // The xar table of contents.
    let paths: Vec<&str> = r["xar"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert_eq!(
        paths,
        [
            "GeckoApp.pkg",
            "GeckoApp.pkg/Bom",
            "GeckoApp.pkg/Payload",
            "GeckoApp.pkg/PackageInfo",
            "GeckoAgent.pkg",
            "GeckoAgent.pkg/Bom",
            "GeckoAgent.pkg/Payload",
            "GeckoAgent.pkg/PackageInfo",
            "GeckoDriver.pkg",
            "GeckoDriver.pkg/Bom",
            "GeckoDriver.pkg/Payload",
            "GeckoDriver.pkg/Scripts",
            "GeckoDriver.pkg/PackageInfo",
            "Distribution"
        ]
    );
    assert_eq!(r["header"]["version"], 1);

    // Distribution and PackageInfo.
    let dist = r["distribution"].as_str().unwrap();
    for want in [
        "<os-version min=\"12.0\"/>",
        "hostArchitectures=\"x86_64,arm64\"",
        "#GeckoDriver.pkg</pkg-ref>",
        "#GeckoApp.pkg</pkg-ref>",
        &format!("<pkg-ref id=\"com.gecko.pkg.driver\" version=\"{}\"", env!("CARGO_PKG_VERSION")),
        "<line choice=\"com.gecko.pkg.app\"/>",
        "<line choice=\"com.gecko.pkg.agent\"/>",
    ] {
        assert!(dist.contains(want), "Distribution lacks {want}:\n{dist}");
    }
    // The driver's choice comes last: its postinstall finishes the install
    // (loads the LaunchAgent, restarts coreaudiod) once the app is in place.
    let order: Vec<usize> = ["com.gecko.pkg.app", "com.gecko.pkg.agent", "com.gecko.pkg.driver"]
        .iter()
        .map(|id| dist.find(&format!("<line choice=\"{id}\"/>")).unwrap())
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "choice order {order:?}:\n{dist}");
    let comps = &r["components"];
    let drv = &comps["GeckoDriver.pkg"];
    let info = drv["package_info"].as_str().unwrap();
    for want in [
        "identifier=\"com.gecko.pkg.driver\"",
        "install-location=\"/Library/Audio/Plug-Ins/HAL\"",
        "auth=\"root\"",
        "<preinstall file=\"./preinstall\"",
        "<postinstall file=\"./postinstall\"",
    ] {
        assert!(info.contains(want), "PackageInfo lacks {want}:\n{info}");
    }
    let app_info = comps["GeckoApp.pkg"]["package_info"].as_str().unwrap();
    assert!(
        app_info.contains("install-location=\"/Applications\"")
            && app_info.contains("com.gecko.pkg.app")
            && !app_info.contains("<scripts>")
    );

    // The payload: exactly the built bundle, 0:0, 755/644, the binary byte-identical.
    let payload = listing(&drv["payload"]);
    let mut want: BTreeMap<String, (u64, u64, u64, u64)> = BTreeMap::new();
    want.insert(".".into(), (0o040755, 0, 0, 0));
    want.insert("./GeckoAudioDevice.driver".into(), (0o040755, 0, 0, 0));
    for p in gecko_install::walk(built()).unwrap() {
        let m = p.metadata().unwrap();
        let key = format!("./GeckoAudioDevice.driver/{}", p.strip_prefix(built()).unwrap().display());
        let mode = if m.is_dir() {
            0o040755
        } else if p.parent().unwrap().ends_with("MacOS") {
            0o100755
        } else {
            0o100644
        };
        want.insert(key, (mode, 0, 0, if m.is_dir() { 0 } else { m.len() }));
    }
    assert_eq!(payload, want);
    for f in ["Contents/MacOS/GeckoAudioDevice", "Contents/Info.plist"] {
        let got = std::fs::read(out.join("payload/GeckoDriver.pkg/GeckoAudioDevice.driver").join(f)).unwrap();
        assert!(got == std::fs::read(built().join(f)).unwrap(), "{f} differs from the built bundle");
    }
    // The BOM lists the same entries.
    assert_eq!(listing(&drv["bom"]), payload);
    // The scripts: executable, and exactly our files.
    let scripts = listing(&drv["scripts"]);
    assert_eq!(
        scripts.keys().cloned().collect::<Vec<_>>(),
        [".", "./gecko-driver.sh", "./postinstall", "./preinstall"]
    );
    for (name, text) in gecko_pkg::SCRIPTS {
        assert_eq!(scripts[&format!("./{name}")].0, 0o100755, "{name} is not executable");
        assert_eq!(std::fs::read_to_string(out.join("scripts/GeckoDriver.pkg").join(name)).unwrap(), text);
    }
    let repo_script = std::fs::read_to_string(format!("{}/../../installer/gecko-driver.sh", manifest_dir())).unwrap();
    assert_eq!(std::fs::read_to_string(out.join("scripts/GeckoDriver.pkg/gecko-driver.sh")).unwrap(), repo_script);
    // The app payload keeps its executable bit and is root's.
    let app = listing(&comps["GeckoApp.pkg"]["payload"]);
    assert_eq!(app["./Gecko.app/Contents/MacOS/Gecko"].0, 0o100755);
    assert_eq!(app["./Gecko.app/Contents/Resources/readme.txt"].0, 0o100644);
    assert!(app.values().all(|(_, u, g, _)| (*u, *g) == (0, 0)));
    // The LaunchAgent: one file, root's, 644, the repository's text.
    let agent_info = comps["GeckoAgent.pkg"]["package_info"].as_str().unwrap();
    assert!(
        agent_info.contains("install-location=\"/Library/LaunchAgents\"") && agent_info.contains("com.gecko.pkg.agent"),
        "{agent_info}"
    );
    let agent = listing(&comps["GeckoAgent.pkg"]["payload"]);
    assert_eq!(agent["./com.gecko.engine.plist"].0, 0o100644);
    assert_eq!(agent["./com.gecko.engine.plist"].1, 0);
    let repo_agent =
        std::fs::read(format!("{}/../../installer/LaunchAgents/com.gecko.engine.plist", manifest_dir())).unwrap();
    assert_eq!(std::fs::read(out.join("payload/GeckoAgent.pkg/com.gecko.engine.plist")).unwrap(), repo_agent);
    // launchd reads it with CFPropertyList, a strict XML parser: so must an
    // independent reader (Python's plistlib on expat; "--" in a comment, say, fails).
    run_ok(
        tool("python3")
            .args(["-c", "import plistlib, sys; plistlib.load(open(sys.argv[1], 'rb'))"])
            .arg(out.join("payload/GeckoAgent.pkg/com.gecko.engine.plist")),
    );
    let plist = plist::Value::from_reader_xml(&repo_agent[..]).unwrap();
    let d = plist.as_dictionary().unwrap();
    assert_eq!(d["Label"].as_string(), Some("com.gecko.engine"));
    assert_eq!(d["RunAtLoad"].as_boolean(), Some(true));
    let args: Vec<&str> = d["ProgramArguments"].as_array().unwrap().iter().map(|v| v.as_string().unwrap()).collect();
    assert_eq!(args[..2], ["/Applications/Gecko.app/Contents/MacOS/gecko", "engine"]);
    assert!(d["KeepAlive"].as_dictionary().is_some_and(|k| k["SuccessfulExit"].as_boolean() == Some(false)));

    // Signatures: the certificate is ours; RSA and CMS both verify over the TOC digest.
    let sig = out.join("sig");
    assert_eq!(r["signatures"]["RSA"]["certs"].as_u64().unwrap(), 1);
    let fp = |args: &[&str], f: &Path| {
        run_ok(tool("openssl").args(["x509", "-noout", "-fingerprint", "-sha256"]).args(args).arg(f))
    };
    let ours = fp(&["-in"], &b.cert_pem);
    assert_eq!(fp(&["-inform", "DER", "-in"], &sig.join("RSA-cert0.der")), ours);
    assert_eq!(fp(&["-inform", "DER", "-in"], &sig.join("CMS-cert0.der")), ours);
    let pubkey = run_ok(tool("openssl").args(["x509", "-noout", "-pubkey", "-in"]).arg(&b.cert_pem));
    std::fs::write(sig.join("pub.pem"), pubkey).unwrap();
    let v = run_ok(
        tool("openssl")
            .args(["dgst", "-sha256", "-verify"])
            .arg(sig.join("pub.pem"))
            .arg("-signature")
            .arg(sig.join("rsa.sig"))
            .arg(sig.join("toc_digest.bin")),
    );
    assert!(v.contains("Verified OK"), "{v}");
    let v = run_ok(
        tool("openssl")
            .args(["cms", "-verify", "-binary", "-inform", "DER", "-purpose", "any", "-out", "/dev/null", "-in"])
            .arg(sig.join("cms.der"))
            .arg("-content")
            .arg(sig.join("toc_digest.bin"))
            .arg("-CAfile")
            .arg(&b.cert_pem),
    );
    assert!(v.contains("Verification successful"), "{v}");

    // A second, independent reader: libarchive.
    let x = b.dir.path().join("bsdtar");
    std::fs::create_dir(&x).unwrap();
    run_ok(tool("bsdtar").arg("-xf").arg(&b.pkg).arg("-C").arg(&x));
    let t = run_ok(tool("bsdtar").args(["-tv", "--numeric-owner", "-f"]).arg(x.join("GeckoDriver.pkg/Payload")));
    let exe_line =
        t.lines().find(|l| l.ends_with("Contents/MacOS/GeckoAudioDevice")).expect("bsdtar lists the executable");
    assert!(exe_line.starts_with("-rwxr-xr-x") && exe_line.contains(" 0      0 "), "{exe_line}");

    // Tampering is detected: one byte of the Payload changed.
    let mut bytes = std::fs::read(&b.pkg).unwrap();
    let n = bytes.len();
    bytes[n - 600] ^= 0x55;
    let bad = b.dir.path().join("tampered.pkg");
    std::fs::write(&bad, bytes).unwrap();
    let e = readback(&bad, &b.dir.path().join("rb2")).unwrap_err();
    assert!(e.contains("checksum mismatch"), "{e}");
}

fn pkg_installs_in_simulation() {
    let b = build_signed();
    let d = b.dir.path();
    let root = d.join("machine");
    let shm = format!("/gkp{}", std::process::id());
    let host = HostCommand { program: std::env::current_exe().unwrap(), prefix: vec!["--sim-host".into()] };
    let sim = SimPlatform::new(&root, &shm, host).unwrap();
    struct Off<'a>(&'a SimPlatform);
    impl Drop for Off<'_> {
        fn drop(&mut self) {
            self.0.shutdown();
            let _ = gecko_ring::unlink_segments(self.0.shm_name());
        }
    }
    let _off = Off(&sim);
    sim.boot().unwrap();
    // An older, broken install with a stray file: the pkg must not merge with it.
    let hal = sim.hal_dir();
    std::fs::create_dir_all(hal.join("GeckoAudioDevice.driver/Contents/Resources")).unwrap();
    std::fs::write(hal.join("GeckoAudioDevice.driver/Contents/Resources/stray"), "old").unwrap();

    // Installer's steps: expand, preinstall, payload (owners and modes as archived), postinstall.
    let x = d.join("expanded");
    std::fs::create_dir(&x).unwrap();
    run_ok(tool("bsdtar").arg("-xf").arg(&b.pkg).arg("-C").arg(&x));
    let scripts = d.join("scripts");
    std::fs::create_dir(&scripts).unwrap();
    run_ok(tool("bsdtar").arg("-xpf").arg(x.join("GeckoDriver.pkg/Scripts")).arg("-C").arg(&scripts));
    let hook = |name: &str| {
        run_ok(
            Command::new(scripts.join(name))
                .arg(&b.pkg)
                .arg("/Library/Audio/Plug-Ins/HAL")
                .arg(&root)
                .arg("/")
                .env("GECKO_DRIVER_SIM", "1"),
        )
    };
    let pre = hook("preinstall");
    assert!(pre.contains("setting the previous install aside"), "{pre}");
    run_ok(
        tool("bsdtar")
            .args(["-xp", "--numeric-owner", "-f"])
            .arg(x.join("GeckoDriver.pkg/Payload"))
            .arg("-C")
            .arg(&hal),
    );
    // The app and the LaunchAgent come first (the Distribution's order).
    let apps = root.join("Applications");
    let agents = root.join("Library/LaunchAgents");
    for (component, dest) in [("GeckoApp", &apps), ("GeckoAgent", &agents)] {
        std::fs::create_dir_all(dest).unwrap();
        run_ok(
            tool("bsdtar")
                .args(["-xp", "--numeric-owner", "-f"])
                .arg(x.join(format!("{component}.pkg/Payload")))
                .arg("-C")
                .arg(dest),
        );
    }
    let post = hook("postinstall");
    assert!(post.contains("Gecko Sink is available"), "{post}");
    assert!(post.contains("com.gecko.engine.plist"), "{post}");
    // Every installed path, its owner and mode.
    let mode = |p: &Path| std::os::unix::fs::MetadataExt::mode(&std::fs::metadata(p).unwrap()) & 0o7777;
    let owner = |p: &Path| {
        let m = std::fs::metadata(p).unwrap();
        (std::os::unix::fs::MetadataExt::uid(&m), std::os::unix::fs::MetadataExt::gid(&m))
    };
    // SAFETY: geteuid has no preconditions.
    let as_root = unsafe { libc::geteuid() } == 0;
    let agent = agents.join("com.gecko.engine.plist");
    assert_eq!(mode(&agent), 0o644);
    assert_eq!(mode(&apps.join("Gecko.app/Contents/MacOS/Gecko")), 0o755);
    assert_eq!(mode(&apps.join("Gecko.app/Contents/Resources/readme.txt")), 0o644);
    assert_eq!(mode(&apps.join("Gecko.app")), 0o755);
    if as_root {
        for p in [&agent, &apps.join("Gecko.app"), &apps.join("Gecko.app/Contents/MacOS/Gecko")] {
            assert_eq!(owner(p), (0, 0), "{}", p.display());
        }
    }

    assert!(sim.gecko_sink_listed().unwrap());
    assert!(!hal.join("GeckoAudioDevice.driver/Contents/Resources/stray").exists());
    let installer = gecko_install::Installer::new(&sim);
    let h = installer.status();
    assert!(h.ok(), "{h:?}");
    assert_eq!(std::fs::read_dir(&hal).unwrap().count(), 1, "leftovers in HAL");
    // Installer's receipts; `gecko uninstall` forgets them and leaves nothing.
    let receipts = root.join("var/db/receipts");
    std::fs::create_dir_all(&receipts).unwrap();
    for id in [gecko_pkg::DRIVER_PKG_ID, gecko_pkg::APP_PKG_ID, gecko_pkg::AGENT_PKG_ID] {
        std::fs::write(receipts.join(format!("{id}.bom")), "").unwrap();
        std::fs::write(receipts.join(format!("{id}.plist")), "").unwrap();
    }
    installer.uninstall().unwrap();
    assert_eq!(std::fs::read_dir(&receipts).unwrap().count(), 0);
    assert!(!sim.driver_present());
    assert!(!agent.exists(), "the LaunchAgent is left behind");
    assert!(!apps.join("Gecko.app").exists(), "Gecko.app is left behind");
    assert!(!root.join("Library/LaunchDaemons/com.gecko.ring.plist").exists());
    assert_eq!(std::fs::read_dir(&hal).unwrap().count(), 0, "leftovers in HAL");
}

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "--sim-host") {
        std::process::exit(gecko_simhost::system::main_from_args(args[2..].to_vec()));
    }
    let filter: Option<String> =
        args.iter().skip(1).filter_map(|a| a.to_str()).find(|a| !a.starts_with('-')).map(str::to_owned);
    let tests: &[(&str, fn())] =
        &[("signed_pkg_reads_back", signed_pkg_reads_back), ("pkg_installs_in_simulation", pkg_installs_in_simulation)];
    let mut failed = Vec::new();
    for (name, f) in tests {
        if filter.as_ref().is_some_and(|flt| !name.contains(flt.as_str())) {
            continue;
        }
        let ok = std::panic::catch_unwind(f).is_ok();
        println!("test {name} ... {}", if ok { "ok" } else { "FAILED" });
        if !ok {
            failed.push(*name);
        }
    }
    if !failed.is_empty() {
        println!("failed: {failed:?}");
        std::process::exit(1);
    }
}

/// This package's directory, read when the test runs (cargo sets it), not
/// baked in: a test binary cached in a shared target directory may have been
/// compiled in another checkout.
fn manifest_dir() -> String {
    std::env::var("CARGO_MANIFEST_DIR").expect("run through cargo test")
}
