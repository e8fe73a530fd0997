//! `Gecko.app`, put together on Linux from the cross-built executables:
//!
//! ```text
//! Gecko.app/Contents/Info.plist                  app/src-tauri/Info.plist + the keys below
//! Gecko.app/Contents/MacOS/gecko-app             the tray app (universal)
//! Gecko.app/Contents/MacOS/gecko                 the CLI and engine (universal); the app and the
//!                                                LaunchAgent run `gecko engine` from here
//! Gecko.app/Contents/Resources/icon.icns         from the app's PNG icons
//! Gecko.app/Contents/PlugIns/GeckoAudioDevice.driver     what "Install driver" installs
//! ```
//!
//! The driver is nested code, so it goes where Apple's code-signing rules
//! seal nested bundles as such (`Contents/PlugIns`), not in `Resources`,
//! where a signer treats its executable as a loose file and re-signs it
//! under another identifier.
//!
//! Signing is [`crate::sign_bundle`] afterwards (apple-codesign signs the
//! nested driver bundle and the second executable as nested code).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, ensure};

/// The app's bundle identifier (tauri.conf.json `identifier`).
pub const APP_BUNDLE_ID: &str = "com.gecko.app";
/// The app's main executable in `Contents/MacOS`.
pub const APP_EXECUTABLE: &str = "gecko-app";
/// The CLI/engine executable next to it.
pub const GECKO_EXECUTABLE: &str = "gecko";
/// The icon file in `Contents/Resources` (`CFBundleIconFile`).
pub const ICON_FILE: &str = "icon.icns";

/// What goes into the app bundle.
#[derive(Debug, Clone)]
pub struct AppInputs {
    /// The universal tray-app executable.
    pub app_exe: PathBuf,
    /// The universal `gecko` executable.
    pub gecko_exe: PathBuf,
    /// The built (signed) `GeckoAudioDevice.driver`.
    pub driver: PathBuf,
    /// PNG icons (32, 128, 256, 512 or 1024 pixels square), one `.icns` entry each.
    pub icons: Vec<PathBuf>,
    /// `app/src-tauri/Info.plist`: the app's own keys (LSUIElement, usage strings).
    pub info_template: PathBuf,
    /// `CFBundleShortVersionString` and `CFBundleVersion`.
    pub version: String,
    /// `LSMinimumSystemVersion` (the whole product's minimum, 12.0).
    pub min_macos: String,
}

/// The Info.plist of Gecko.app: the template's keys, plus what a bundle needs
/// (identifier, executable, package type APPL, versions, icon, minimum macOS).
pub fn app_info_plist(template: &Path, version: &str, min_macos: &str) -> Result<plist::Dictionary> {
    let mut dict = plist::Value::from_file(template)
        .with_context(|| format!("reading {}", template.display()))?
        .into_dictionary()
        .with_context(|| format!("{} is not a dictionary", template.display()))?;
    let s = |v: &str| plist::Value::String(v.to_owned());
    for (k, v) in [
        ("CFBundleDevelopmentRegion", s("en")),
        ("CFBundleDisplayName", s("Gecko")),
        ("CFBundleExecutable", s(APP_EXECUTABLE)),
        ("CFBundleIconFile", s(ICON_FILE)),
        ("CFBundleIdentifier", s(APP_BUNDLE_ID)),
        ("CFBundleInfoDictionaryVersion", s("6.0")),
        ("CFBundleName", s("Gecko")),
        ("CFBundlePackageType", s("APPL")),
        ("CFBundleShortVersionString", s(version)),
        ("CFBundleVersion", s(version)),
        ("LSApplicationCategoryType", s("public.app-category.music")),
        ("LSMinimumSystemVersion", s(min_macos)),
        ("NSHighResolutionCapable", plist::Value::Boolean(true)),
    ] {
        dict.insert(k.to_owned(), v);
    }
    ensure!(
        dict.get("LSUIElement").and_then(plist::Value::as_boolean) == Some(true),
        "{}: LSUIElement must be true (a menu-bar app)",
        template.display()
    );
    Ok(dict)
}

/// An `.icns` file from square PNG icons (each one entry, typed by its size:
/// `ic07` 128 px, `ic08` 256, `ic09` 512, ...; the `icns` crate's table).
pub fn icns_from_pngs(pngs: &[PathBuf]) -> Result<Vec<u8>> {
    let mut family = icns::IconFamily::new();
    for png in pngs {
        let file = std::fs::File::open(png).with_context(|| format!("opening {}", png.display()))?;
        let image = icns::Image::read_png(std::io::BufReader::new(file))
            .with_context(|| format!("reading {} as PNG", png.display()))?;
        family
            .add_icon(&image)
            .with_context(|| format!("{}: {}x{} is not an icon size", png.display(), image.width(), image.height()))?;
    }
    ensure!(!family.is_empty(), "no icons");
    let mut out = Vec::new();
    family.write(&mut out)?;
    Ok(out)
}

/// Writes `out` (a `Gecko.app` directory, replaced if present), unsigned.
pub fn build_app_bundle(inputs: &AppInputs, out: &Path) -> Result<()> {
    ensure!(out.extension().is_some_and(|e| e == "app"), "{} must end in .app", out.display());
    for exe in [&inputs.app_exe, &inputs.gecko_exe] {
        let data = std::fs::read(exe).with_context(|| format!("reading {}", exe.display()))?;
        let kind = object::FileKind::parse(&*data).with_context(|| format!("{}", exe.display()))?;
        ensure!(
            matches!(kind, object::FileKind::MachOFat32 | object::FileKind::MachO64),
            "{} is not a Mach-O executable ({kind:?})",
            exe.display()
        );
    }
    ensure!(inputs.driver.join("Contents/Info.plist").is_file(), "{} is not a driver bundle", inputs.driver.display());
    if out.exists() {
        std::fs::remove_dir_all(out).with_context(|| format!("removing {}", out.display()))?;
    }
    let contents = out.join("Contents");
    let macos = contents.join("MacOS");
    let resources = contents.join("Resources");
    std::fs::create_dir_all(&macos)?;
    std::fs::create_dir_all(&resources)?;
    let dict = app_info_plist(&inputs.info_template, &inputs.version, &inputs.min_macos)?;
    plist::Value::Dictionary(dict).to_file_xml(contents.join("Info.plist"))?;
    std::fs::write(contents.join("PkgInfo"), "APPL????")?;
    for (src, name) in [(&inputs.app_exe, APP_EXECUTABLE), (&inputs.gecko_exe, GECKO_EXECUTABLE)] {
        let dst = macos.join(name);
        std::fs::copy(src, &dst).with_context(|| format!("copying {}", src.display()))?;
        std::fs::set_permissions(&dst, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    }
    std::fs::write(resources.join(ICON_FILE), icns_from_pngs(&inputs.icons)?)?;
    let plugins = contents.join("PlugIns");
    copy_tree(&inputs.driver, &plugins.join("GeckoAudioDevice.driver"))?;
    Ok(())
}

fn copy_tree(src: &Path, dst: &Path) -> Result<()> {
    std::fs::create_dir_all(dst)?;
    for e in std::fs::read_dir(src).with_context(|| format!("reading {}", src.display()))? {
        let e = e?;
        let to = dst.join(e.file_name());
        let t = e.file_type()?;
        ensure!(!t.is_symlink(), "{} is a symbolic link", e.path().display());
        if t.is_dir() {
            copy_tree(&e.path(), &to)?;
        } else {
            std::fs::copy(e.path(), &to).with_context(|| format!("copying {}", e.path().display()))?;
        }
    }
    Ok(())
}
