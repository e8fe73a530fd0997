//! Builds `Gecko-<version>.pkg`, the macOS installer, on any OS.
//!
//! A product archive (xar) holding:
//! - `GeckoDriver.pkg/` (id `com.gecko.pkg.driver`, install location
//!   `/Library/Audio/Plug-Ins/HAL`): `Payload` (gzipped odc cpio of
//!   `GeckoAudioDevice.driver`, every entry 0:0 = root:wheel, 755 directories
//!   and `Contents/MacOS/*`, 644 other files), `Bom`, `PackageInfo`, and
//!   `Scripts`: `preinstall`/`postinstall` (installer/pkg-scripts) and
//!   `gecko-driver.sh`, the same script `gecko install` runs;
//! - `GeckoApp.pkg/` (id `com.gecko.pkg.app`, install location
//!   `/Applications`) with `Gecko.app` (the tray app and the `gecko` engine),
//!   when one is given (scripts/build-macos-app.sh cross-builds it);
//! - `GeckoAgent.pkg/` (id `com.gecko.pkg.agent`, install location
//!   `/Library/LaunchAgents`) with `com.gecko.engine.plist`
//!   (installer/LaunchAgents), the engine's LaunchAgent, with the app;
//! - `Distribution`: title, macOS ≥ 12, both architectures, one hidden choice
//!   per component, the driver last: its postinstall (owner and modes, the
//!   ring fallback, loading the LaunchAgent, restarting coreaudiod) runs after
//!   the app and the agent are in place.
//!
//! Each component is written by embala-pkg (BOM, cpio, PackageInfo as
//! pkgbuild does), read back with apple-xar and merged under our own
//! Distribution with embala-pkg's xar writer, because embala-pkg builds one
//! component per archive. Signing ([`sign_pkg`]) is apple-codesign's xar
//! signer (RSA + CMS signatures over the table of contents' checksum),
//! offline unless a time-stamp URL is given.

use anyhow::{Context, Result, anyhow, bail, ensure};
use embala_pkg::{DirSpec, FileSpec, PkgSpec, XarEntry, XarEntryKind};
use std::path::{Path, PathBuf};

/// The driver component's package id (its receipt).
pub const DRIVER_PKG_ID: &str = "com.gecko.pkg.driver";
/// The app component's package id.
pub const APP_PKG_ID: &str = "com.gecko.pkg.app";
/// The LaunchAgent component's package id.
pub const AGENT_PKG_ID: &str = "com.gecko.pkg.agent";
/// Where the LaunchAgent component installs.
pub const AGENT_LOCATION: &str = "/Library/LaunchAgents";
/// The engine's LaunchAgent: (file name, text), compiled in.
pub const ENGINE_AGENT: (&str, &str) =
    ("com.gecko.engine.plist", include_str!("../../../installer/LaunchAgents/com.gecko.engine.plist"));
/// Where the driver component installs.
pub const DRIVER_LOCATION: &str = "/Library/Audio/Plug-Ins/HAL";
/// Where the app component installs.
pub const APP_LOCATION: &str = "/Applications";
/// The oldest macOS the pkg installs on (the driver's LSMinimumSystemVersion).
pub const MIN_MACOS: &str = "12.0";

/// The pkg's scripts, compiled in: (name, text).
pub const SCRIPTS: [(&str, &str); 3] = [
    ("preinstall", include_str!("../../../installer/pkg-scripts/preinstall")),
    ("postinstall", include_str!("../../../installer/pkg-scripts/postinstall")),
    ("gecko-driver.sh", include_str!("../../../installer/gecko-driver.sh")),
];

/// What goes into the pkg.
#[derive(Debug, Clone)]
pub struct PkgInput {
    /// The version (file name, PackageInfo, Distribution); must equal the bundle's.
    pub version: String,
    /// The `GeckoAudioDevice.driver` bundle.
    pub driver: PathBuf,
    /// `Gecko.app` (cross-built by scripts/build-macos-app.sh), if any; with
    /// it, the engine's LaunchAgent too.
    pub app: Option<PathBuf>,
    /// Accept a Linux (ELF) driver bundle: for tests of the pkg itself only;
    /// such a pkg installs a driver macOS cannot load.
    pub allow_linux_bundle: bool,
}

/// The file name: `Gecko-<version>.pkg`.
pub fn pkg_file_name(version: &str) -> String {
    format!("Gecko-{version}.pkg")
}

/// The Mach-O signature check shared with `gecko install`.
pub use gecko_install::verify_macho_signature as describe_bundle_signature;

fn rel(root: &Path, p: &Path) -> Result<String> {
    let r = p.strip_prefix(root)?;
    r.to_str().map(str::to_owned).ok_or_else(|| anyhow!("{} is not UTF-8", p.display()))
}

/// The payload of a bundle under `top` (`GeckoAudioDevice.driver`, `Gecko.app`):
/// files and directories, with explicit modes when `explicit_modes` (755 for
/// directories and `…/Contents/MacOS/*`, 644 for other files).
fn payload_specs(bundle: &Path, explicit_modes: bool) -> Result<(Vec<FileSpec>, Vec<DirSpec>)> {
    let top = bundle.file_name().and_then(|n| n.to_str()).ok_or_else(|| anyhow!("bad bundle path"))?.to_owned();
    let mut files = Vec::new();
    let mut dirs = vec![DirSpec { dest: top.clone(), mode: Some(0o755) }];
    for p in gecko_install::walk(bundle)? {
        let m = p.symlink_metadata()?;
        let dest = format!("{top}/{}", rel(bundle, &p)?);
        ensure!(!m.file_type().is_symlink(), "{} is a symbolic link; the pkg carries none", p.display());
        if m.is_dir() {
            dirs.push(DirSpec { dest, mode: Some(0o755) });
        } else {
            // Executables of the bundle and of bundles nested in it (the
            // driver inside Gecko.app's Resources): 755; other files 644.
            let in_macos = p.parent().is_some_and(|d| d.ends_with("Contents/MacOS"));
            let mode = explicit_modes.then_some(if in_macos { 0o755 } else { 0o644 });
            files.push(FileSpec { src: p, dest, mode });
        }
    }
    Ok((files, dirs))
}

/// The parts of one component, read back from the archive embala-pkg wrote.
struct Component {
    name: String,
    id: &'static str,
    parts: Vec<(&'static str, Vec<u8>)>,
    install_kbytes: u64,
}

fn build_component(spec: &PkgSpec, tmp: &Path, id: &'static str) -> Result<Component> {
    let out = tmp.join(format!("{}-component.pkg", spec.name));
    embala_pkg::build(spec, &out).with_context(|| format!("building the {} component", spec.name))?;
    let mut reader =
        apple_xar::reader::XarReader::new(std::fs::File::open(&out)?).context("reading the component back")?;
    let mut parts = Vec::new();
    for part in ["Bom", "Payload", "Scripts", "PackageInfo"] {
        if let Some(data) = reader.get_file_data_from_path(&format!("{}.pkg/{part}", spec.name))? {
            parts.push((part, data));
        }
    }
    let info = parts.iter().find(|(n, _)| *n == "PackageInfo").ok_or_else(|| anyhow!("no PackageInfo"))?;
    let text = String::from_utf8_lossy(&info.1);
    let kb = text
        .split("installKBytes=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow!("PackageInfo has no installKBytes"))?;
    Ok(Component { name: spec.name.clone(), id, parts, install_kbytes: kb })
}

fn distribution(version: &str, components: &[Component]) -> String {
    let mut s =
        String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<installer-gui-script minSpecVersion=\"2\">\n");
    s.push_str(&format!("    <title>Gecko {version}</title>\n"));
    s.push_str("    <domains enable_localSystem=\"true\"/>\n");
    s.push_str("    <options customize=\"never\" require-scripts=\"true\" hostArchitectures=\"x86_64,arm64\"/>\n");
    s.push_str(&format!(
        "    <allowed-os-versions>\n        <os-version min=\"{MIN_MACOS}\"/>\n    </allowed-os-versions>\n"
    ));
    s.push_str("    <choices-outline>\n        <line choice=\"default\">\n");
    for c in components {
        s.push_str(&format!("            <line choice=\"{}\"/>\n", c.id));
    }
    s.push_str("        </line>\n    </choices-outline>\n    <choice id=\"default\"/>\n");
    for c in components {
        s.push_str(&format!(
            "    <choice id=\"{id}\" visible=\"false\">\n        <pkg-ref id=\"{id}\"/>\n    </choice>\n    <pkg-ref id=\"{id}\" version=\"{version}\" onConclusion=\"none\" installKBytes=\"{kb}\">#{name}.pkg</pkg-ref>\n",
            id = c.id,
            kb = c.install_kbytes,
            name = c.name
        ));
    }
    s.push_str("</installer-gui-script>\n");
    s
}

/// Builds the unsigned product archive into `out_dir` and returns its path.
pub fn build_pkg(input: &PkgInput, out_dir: &Path) -> Result<PathBuf> {
    let v = &input.version;
    ensure!(
        !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || ".-+".contains(c)),
        "version {v:?}: use digits, letters, '.', '-', '+'"
    );
    gecko_install::validate_bundle(
        &input.driver,
        v,
        Some(&gecko_install::verify_macho_signature),
        input.allow_linux_bundle,
    )
    .with_context(|| format!("refusing to package {}", input.driver.display()))?;
    let tmp = tempfile::tempdir()?;
    let scripts = tmp.path().join("scripts");
    std::fs::create_dir(&scripts)?;
    for (name, text) in SCRIPTS {
        let p = scripts.join(name);
        std::fs::write(&p, text)?;
        std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    }
    let (files, directories) = payload_specs(&input.driver, true)?;
    let driver = PkgSpec {
        name: "GeckoDriver".into(),
        display_name: "Gecko Sink driver".into(),
        identifier: DRIVER_PKG_ID.into(),
        version: v.clone(),
        install_location: DRIVER_LOCATION.into(),
        enable_user_home: false,
        files,
        directories,
        scripts: Some(scripts),
    };
    let mut components = Vec::new();
    if let Some(app) = &input.app {
        ensure!(
            app.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.ends_with(".app"))
                && app.join("Contents/Info.plist").is_file(),
            "{} is not an app bundle (NAME.app with Contents/Info.plist)",
            app.display()
        );
        let (files, directories) = payload_specs(app, true)?;
        let spec = PkgSpec {
            name: "GeckoApp".into(),
            display_name: "Gecko".into(),
            identifier: APP_PKG_ID.into(),
            version: v.clone(),
            install_location: APP_LOCATION.into(),
            enable_user_home: false,
            files,
            directories,
            scripts: None,
        };
        components.push(build_component(&spec, tmp.path(), APP_PKG_ID)?);
        let agent_dir = tmp.path().join("agent");
        std::fs::create_dir(&agent_dir)?;
        let agent = agent_dir.join(ENGINE_AGENT.0);
        std::fs::write(&agent, ENGINE_AGENT.1)?;
        let spec = PkgSpec {
            name: "GeckoAgent".into(),
            display_name: "Gecko engine (LaunchAgent)".into(),
            identifier: AGENT_PKG_ID.into(),
            version: v.clone(),
            install_location: AGENT_LOCATION.into(),
            enable_user_home: false,
            files: vec![FileSpec { src: agent, dest: ENGINE_AGENT.0.into(), mode: Some(0o644) }],
            directories: Vec::new(),
            scripts: None,
        };
        components.push(build_component(&spec, tmp.path(), AGENT_PKG_ID)?);
    }
    // Last: its postinstall finishes the whole install.
    components.push(build_component(&driver, tmp.path(), DRIVER_PKG_ID)?);
    let dist = distribution(v, &components);
    let names: Vec<String> = components.iter().map(|c| format!("{}.pkg", c.name)).collect();
    let mut entries: Vec<XarEntry<'_>> = components
        .iter()
        .zip(&names)
        .map(|(c, name)| XarEntry {
            name,
            kind: XarEntryKind::Directory {
                mode: 0o700,
                children: c
                    .parts
                    .iter()
                    .map(|(part, data)| XarEntry {
                        name: part,
                        // The gzipped archives are stored as they are, as productbuild does.
                        kind: XarEntryKind::File { data, mode: 0o644, store: matches!(*part, "Payload" | "Scripts") },
                    })
                    .collect(),
            },
        })
        .collect();
    entries.push(XarEntry {
        name: "Distribution",
        kind: XarEntryKind::File { data: dist.as_bytes(), mode: 0o644, store: false },
    });
    std::fs::create_dir_all(out_dir)?;
    let out = out_dir.join(pkg_file_name(v));
    let mut bytes = Vec::new();
    embala_pkg::write_xar(&entries, &mut bytes).context("writing the product archive")?;
    std::fs::write(&out, bytes).with_context(|| format!("writing {}", out.display()))?;
    Ok(out)
}

/// Signs `pkg` in place with a certificate (a "Developer ID Installer"
/// certificate for release; any RSA/EC certificate for tests): RSA and CMS
/// signatures over the TOC checksum, the certificate chain in the TOC.
/// `timestamp_url`: None signs offline (no secure time-stamp; notarization
/// needs one, e.g. Apple's `http://timestamp.apple.com/ts01`).
pub fn sign_pkg(pkg: &Path, identity: &gecko_macos_bundle::Identity, timestamp_url: Option<&str>) -> Result<()> {
    use apple_codesign::{SigningSettings, UnifiedSigner};
    let gecko_macos_bundle::Identity::Certificate { cert, key } = identity else {
        bail!("a pkg cannot be signed ad hoc: give a Developer ID Installer certificate (p12 or PEM)");
    };
    let mut settings = SigningSettings::default();
    settings.set_signing_key(key.as_key_info_signer(), (**cert).clone());
    settings.chain_apple_certificates();
    if let Some(url) = timestamp_url {
        settings.set_time_stamp_url(url).context("time-stamp URL")?;
    }
    UnifiedSigner::new(settings).sign_xar(pkg, pkg).with_context(|| format!("signing {}", pkg.display()))?;
    Ok(())
}
