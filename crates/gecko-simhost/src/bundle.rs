//! Loading an AudioServerPlugIn bundle the way the HAL does.
//!
//! 1. Read `Contents/Info.plist`; `CFPlugInTypes[kAudioServerPlugInTypeUUID]`
//!    lists factory UUIDs; `CFPlugInFactories[<factory uuid>]` names the
//!    factory function.
//! 2. `dlopen` `Contents/MacOS/<CFBundleExecutable>` (`RTLD_NOW | RTLD_LOCAL`;
//!    the CF symbols it needs come from the host executable, see [`crate::cf`]).
//! 3. Call the factory with (`kCFAllocatorDefault` = NULL, the type UUID as a
//!    CFUUIDRef), `QueryInterface` the returned IUnknown for
//!    `kAudioServerPlugInDriverInterfaceUUID` (REFIID = `CFUUIDBytes` by value),
//!    then `Release` the factory's reference, as the HAL does.
//!
//! The library is never `dlclose`d (coreaudiod never unloads a driver, and
//! the driver may keep shm mappings and state that outlive our handle).

use crate::cf;
use crate::driver::Driver;
use crate::ffi::*;
use std::ffi::c_void;
use std::path::{Path, PathBuf};

/// Why a bundle could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The bundle directory or a file in it does not exist.
    #[error("driver bundle not found: {0}")]
    MissingBundle(PathBuf),
    /// Info.plist unreadable or not a valid plist / not the expected shape.
    #[error("bad Info.plist {path}: {reason}")]
    BadPlist {
        /// The Info.plist.
        path: PathBuf,
        /// What the parser said, or the key that is wrong.
        reason: String,
    },
    /// No factory registered for the AudioServerPlugIn type UUID.
    #[error("{path}: no CFPlugInFactories entry for the AudioServerPlugIn type 443ABAB8-E7B3-491A-B985-BEB9187030DB")]
    NoFactory {
        /// The bundle.
        path: PathBuf,
    },
    /// dlopen failed.
    #[error("cannot dlopen {path}: {reason}")]
    Dlopen {
        /// The executable.
        path: PathBuf,
        /// `dlerror()`'s text.
        reason: String,
    },
    /// dlsym failed for the factory.
    #[error("symbol {symbol} not found in {path}: {reason}")]
    MissingSymbol {
        /// The executable.
        path: PathBuf,
        /// The factory function Info.plist names.
        symbol: String,
        /// `dlerror()`'s text.
        reason: String,
    },
    /// The factory returned NULL.
    #[error("factory {symbol} returned NULL for the AudioServerPlugIn type")]
    FactoryReturnedNull {
        /// The factory function.
        symbol: String,
    },
    /// QueryInterface for the driver interface failed.
    #[error("QueryInterface(kAudioServerPlugInDriverInterfaceUUID) failed: HRESULT {hresult:#010x}")]
    QueryInterface {
        /// The HRESULT QueryInterface returned.
        hresult: u32,
    },
    /// The vtable lacks an entry the host needs.
    #[error("driver vtable entry {0} is NULL")]
    NullVtableEntry(&'static str),
    /// Copying the bundle for an isolated load failed.
    #[error("cannot copy bundle {path} for an isolated load: {source}")]
    Copy {
        /// The bundle being copied.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// What the host reads from a bundle's Info.plist.
#[derive(Clone, Debug, PartialEq)]
pub struct BundleInfo {
    /// The bundle directory (`….driver`).
    pub bundle_dir: PathBuf,
    /// `CFBundleIdentifier`, if present.
    pub bundle_id: Option<String>,
    /// `Contents/MacOS/<CFBundleExecutable>`.
    pub executable: PathBuf,
    /// The factory UUID chosen for the AudioServerPlugIn type (16 bytes).
    pub factory_uuid: [u8; 16],
    /// The factory function's name.
    pub factory_symbol: String,
}

/// Parses a textual UUID (`XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX`, any case).
pub fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let hex: Vec<u8> = s.bytes().filter(|&b| b != b'-').collect();
    if hex.len() != 32 || s.len() != 36 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, o) in out.iter_mut().enumerate() {
        let pair = std::str::from_utf8(&hex[2 * i..2 * i + 2]).ok()?;
        *o = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(out)
}

/// Formats 16 UUID bytes as `XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX` (upper case).
pub fn format_uuid(b: &[u8; 16]) -> String {
    let h: Vec<String> = b.iter().map(|x| format!("{x:02X}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        h[0..4].concat(),
        h[4..6].concat(),
        h[6..8].concat(),
        h[8..10].concat(),
        h[10..16].concat()
    )
}

/// Reads and validates `bundle_dir/Contents/Info.plist`.
///
/// Errors: [`LoadError::MissingBundle`], [`LoadError::BadPlist`], [`LoadError::NoFactory`].
pub fn read_bundle_info(bundle_dir: &Path) -> Result<BundleInfo, LoadError> {
    if !bundle_dir.is_dir() {
        return Err(LoadError::MissingBundle(bundle_dir.to_path_buf()));
    }
    let plist_path = bundle_dir.join("Contents/Info.plist");
    if !plist_path.is_file() {
        return Err(LoadError::MissingBundle(plist_path));
    }
    let bad = |reason: String| LoadError::BadPlist { path: plist_path.clone(), reason };
    let value = plist::Value::from_file(&plist_path).map_err(|e| bad(e.to_string()))?;
    let dict = value.as_dictionary().ok_or_else(|| bad("top level is not a dictionary".into()))?;
    let exe_name = dict
        .get("CFBundleExecutable")
        .and_then(|v| v.as_string())
        .ok_or_else(|| bad("CFBundleExecutable missing or not a string".into()))?;
    if exe_name.is_empty() || exe_name.contains('/') || exe_name == ".." {
        return Err(bad(format!("CFBundleExecutable {exe_name:?} is not a plain file name")));
    }
    let bundle_id = dict.get("CFBundleIdentifier").and_then(|v| v.as_string()).map(str::to_owned);
    let no_factory = || LoadError::NoFactory { path: plist_path.clone() };
    let types = dict
        .get("CFPlugInTypes")
        .and_then(|v| v.as_dictionary())
        .ok_or_else(|| bad("CFPlugInTypes missing or not a dictionary".into()))?;
    let factories = dict
        .get("CFPlugInFactories")
        .and_then(|v| v.as_dictionary())
        .ok_or_else(|| bad("CFPlugInFactories missing or not a dictionary".into()))?;
    let factory_list = types
        .iter()
        .find(|(k, _)| parse_uuid(k) == Some(kAudioServerPlugInTypeUUID))
        .and_then(|(_, v)| v.as_array())
        .ok_or_else(no_factory)?;
    for f in factory_list {
        let Some(fu) = f.as_string().and_then(parse_uuid) else { continue };
        let sym = factories.iter().find(|(k, _)| parse_uuid(k) == Some(fu)).and_then(|(_, v)| v.as_string());
        if let Some(sym) = sym {
            return Ok(BundleInfo {
                bundle_dir: bundle_dir.to_path_buf(),
                bundle_id,
                executable: bundle_dir.join("Contents/MacOS").join(exe_name),
                factory_uuid: fu,
                factory_symbol: sym.to_owned(),
            });
        }
    }
    Err(no_factory())
}

/// A dlopened driver library and where it was loaded from.
pub(crate) struct LoadedLibrary {
    pub(crate) info: BundleInfo,
    /// Keeps the library mapped for the life of the process (never dlclosed).
    #[allow(dead_code)]
    pub(crate) lib: &'static libloading::os::unix::Library,
}

/// Loads the driver in `bundle_dir` and returns it, not yet initialized.
///
/// Loading the same bundle path twice in one process yields the same driver
/// instance (the dynamic loader shares it); use [`load_isolated`] for a
/// distinct instance.
pub fn load(bundle_dir: &Path) -> Result<Driver, LoadError> {
    load_impl(read_bundle_info(bundle_dir)?, None)
}

/// Copies the bundle to a fresh temporary directory and loads the copy: a
/// distinct file (inode) is a distinct dlopen instance with its own global
/// state, so parallel tests and simulated "coreaudiod restarts" do not share
/// a driver. The copy is deleted as soon as it is loaded (the mapping stays
/// valid; the [`BundleInfo`] paths then name files that are gone).
pub fn load_isolated(bundle_dir: &Path) -> Result<Driver, LoadError> {
    // Validate the original first, for error messages naming the real path.
    read_bundle_info(bundle_dir)?;
    let tmp = tempfile::Builder::new()
        .prefix("gecko-driver-")
        .tempdir()
        .map_err(|source| LoadError::Copy { path: bundle_dir.to_path_buf(), source })?;
    let name = bundle_dir.file_name().map(|n| n.to_owned()).unwrap_or_else(|| "Driver.driver".into());
    let dest = tmp.path().join(name);
    copy_dir(bundle_dir, &dest).map_err(|source| LoadError::Copy { path: bundle_dir.to_path_buf(), source })?;
    load_impl(read_bundle_info(&dest)?, Some(tmp))
}

fn copy_dir(src: &Path, dst: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dst)?;
    for entry in std::fs::read_dir(src)? {
        let entry = entry?;
        let to = dst.join(entry.file_name());
        let ty = entry.file_type()?;
        if ty.is_dir() {
            copy_dir(&entry.path(), &to)?;
        } else {
            // Follows symlinks: the copy must be a distinct inode.
            std::fs::copy(entry.path(), &to)?;
        }
    }
    Ok(())
}

fn load_impl(info: BundleInfo, temp: Option<tempfile::TempDir>) -> Result<Driver, LoadError> {
    cf::ensure_exported();
    if !info.executable.is_file() {
        return Err(LoadError::MissingBundle(info.executable.clone()));
    }
    // SAFETY: loading a library runs its constructors; the driver is the code
    // under test and is trusted to that extent.
    let lib = unsafe { libloading::os::unix::Library::open(Some(&info.executable), libc::RTLD_NOW | libc::RTLD_LOCAL) }
        .map_err(|e| LoadError::Dlopen { path: info.executable.clone(), reason: e.to_string() })?;
    let lib: &'static libloading::os::unix::Library = Box::leak(Box::new(lib));
    // The copy of an isolated load goes at once: the mapping stays valid
    // without the file, and drivers that are leaked on purpose (and processes
    // that are killed) would otherwise leave it in the temporary directory.
    drop(temp);

    // SAFETY: the symbol is the factory, of CFPlugInFactoryFunction type.
    let factory: FactoryFn =
        unsafe { lib.get::<FactoryFn>(info.factory_symbol.as_bytes()) }.map(|s| *s).map_err(|e| {
            LoadError::MissingSymbol {
                path: info.executable.clone(),
                symbol: info.factory_symbol.clone(),
                reason: e.to_string(),
            }
        })?;
    // SAFETY: optional symbol of gecko_sim.h's GeckoSim_Configure type.
    let configure: Option<GeckoSimConfigureFn> =
        unsafe { lib.get::<GeckoSimConfigureFn>(GECKO_SIM_CONFIGURE_SYMBOL.as_bytes()) }.ok().map(|s| *s);

    let type_uuid = cf::uuid_constant(kAudioServerPlugInTypeUUID);
    // SAFETY: CFPlugIn factory contract: (allocator, type UUID) -> IUnknown**.
    let iunknown = unsafe { factory(std::ptr::null(), type_uuid) };
    if iunknown.is_null() {
        return Err(LoadError::FactoryReturnedNull { symbol: info.factory_symbol.clone() });
    }
    let iunknown_ref = iunknown as AudioServerPlugInDriverRef;
    // SAFETY: a non-NULL IUnknown is a pointer to a pointer to a vtable that
    // starts with IUNKNOWN_C_GUTS.
    let vtbl = unsafe { (*iunknown_ref).as_ref() }.ok_or(LoadError::NullVtableEntry("vtable"))?;
    let qi = vtbl.QueryInterface.ok_or(LoadError::NullVtableEntry("QueryInterface"))?;
    let release = vtbl.Release.ok_or(LoadError::NullVtableEntry("Release"))?;
    let mut out: *mut c_void = std::ptr::null_mut();
    let iid = cf::CFUUIDBytes { bytes: kAudioServerPlugInDriverInterfaceUUID };
    // SAFETY: COM QueryInterface on the factory's IUnknown; `out` is writable.
    let hr = unsafe { qi(iunknown, iid, &mut out) };
    // The HAL drops the factory's reference once it has the interface.
    // SAFETY: IUnknown Release on the factory's object.
    unsafe { release(iunknown) };
    if hr != S_OK || out.is_null() {
        return Err(LoadError::QueryInterface { hresult: hr as u32 });
    }
    let loaded = LoadedLibrary { info, lib };
    // SAFETY: `out` is the AudioServerPlugInDriverRef returned by QueryInterface,
    // holding one reference that the Driver owns.
    unsafe { Driver::from_raw(out as AudioServerPlugInDriverRef, configure, loaded) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_text_roundtrip() {
        let u = parse_uuid("443abab8-E7B3-491A-B985-BEB9187030DB");
        assert_eq!(u, Some(kAudioServerPlugInTypeUUID));
        assert_eq!(format_uuid(&kAudioServerPlugInTypeUUID), "443ABAB8-E7B3-491A-B985-BEB9187030DB");
        assert_eq!(parse_uuid("443ABAB8E7B3491AB985BEB9187030DB"), None);
        assert_eq!(parse_uuid("zz3ABAB8-E7B3-491A-B985-BEB9187030DB"), None);
    }

    fn write_bundle(dir: &Path, plist: &str) -> PathBuf {
        let b = dir.join("X.driver");
        std::fs::create_dir_all(b.join("Contents/MacOS")).ok();
        std::fs::write(b.join("Contents/Info.plist"), plist).ok();
        b
    }

    const PLIST: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict>
<key>CFBundleExecutable</key><string>X</string>
<key>CFBundleIdentifier</key><string>com.example.x</string>
<key>CFPlugInFactories</key><dict><key>EE523B1F-CFE0-4D8B-AA72-2C281364C730</key><string>X_Create</string></dict>
<key>CFPlugInTypes</key><dict><key>443ABAB8-E7B3-491A-B985-BEB9187030DB</key><array><string>EE523B1F-CFE0-4D8B-AA72-2C281364C730</string></array></dict>
</dict></plist>"#;

    #[test]
    fn plist_parsing_and_errors() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let b = write_bundle(tmp.path(), PLIST);
        let info = read_bundle_info(&b).expect("valid plist");
        assert_eq!(info.factory_symbol, "X_Create");
        assert_eq!(info.bundle_id.as_deref(), Some("com.example.x"));
        assert_eq!(format_uuid(&info.factory_uuid), "EE523B1F-CFE0-4D8B-AA72-2C281364C730");
        assert!(info.executable.ends_with("Contents/MacOS/X"));
        // The executable is missing: a clear error naming it.
        match load(&b) {
            Err(LoadError::MissingBundle(p)) => assert!(p.ends_with("Contents/MacOS/X")),
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("loaded a bundle without an executable"),
        }
        assert!(matches!(read_bundle_info(&tmp.path().join("nope")), Err(LoadError::MissingBundle(_))));

        let b2 = write_bundle(&tmp.path().join("2"), "not a plist");
        assert!(matches!(read_bundle_info(&b2), Err(LoadError::BadPlist { .. })));

        let other_type = PLIST.replace("443ABAB8", "00000000");
        let b3 = write_bundle(&tmp.path().join("3"), &other_type);
        assert!(matches!(read_bundle_info(&b3), Err(LoadError::NoFactory { .. })));

        let no_fn = PLIST.replace("<key>EE523B1F-CFE0-4D8B-AA72-2C281364C730</key><string>X_Create</string>", "");
        let b4 = write_bundle(&tmp.path().join("4"), &no_fn);
        assert!(matches!(read_bundle_info(&b4), Err(LoadError::NoFactory { .. })));
    }

    #[test]
    fn dlopen_of_garbage_is_an_error() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let b = write_bundle(tmp.path(), PLIST);
        std::fs::write(b.join("Contents/MacOS/X"), b"not an ELF").expect("write");
        assert!(matches!(load(&b), Err(LoadError::Dlopen { .. })));
    }
}
