//! Finishing steps of the macOS `GeckoAudioDevice.driver` bundle that
//! `scripts/build-macos-driver.sh` builds (on Linux, or on a Mac):
//!
//! - [`render_info_plist`]: `Contents/Info.plist` from `driver/Info.plist`, with
//!   the workspace version and the minimum macOS version filled in;
//! - [`parse_tbd`] and [`check_imports`]: the symbols the driver's object files
//!   import must each be listed in one of the `.tbd` stubs it links against
//!   (`scripts/macos/*.tbd`), so a new libc/CF call fails loudly before linking;
//! - [`sign_bundle`] / [`verify_bundle`]: code signing with the `apple-codesign`
//!   library, ad hoc or with a certificate (Developer ID) and hardened runtime.
//!
//! Nothing here talks to Apple: notarization needs Apple's notary service and is
//! a separate, documented step (docs/macos-build.md).

pub mod app;
pub mod stubs;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail, ensure};

/// The bundle identifier, the executable's name inside `Contents/MacOS`, and
/// `kAudioServerPlugInTypeUUID` (CoreAudio/AudioServerPlugIn.h): gecko-identity's.
pub use gecko_identity::{BUNDLE_ID, EXECUTABLE_NAME, PLUGIN_TYPE_UUID};
/// The workspace version (`[workspace.package] version` in the root Cargo.toml).
pub const WORKSPACE_VERSION: &str = env!("CARGO_PKG_VERSION");
/// Symbols the static linker defines itself (never imported from a dylib):
/// `___dso_handle` is the image's own Mach header (ld64/lld synthesize it).
pub const LINKER_SYNTHESIZED: &[&str] = &["___dso_handle"];

// ---------------------------------------------------------------------------
// Info.plist

/// Reads the Info.plist template, sets `CFBundleVersion`,
/// `CFBundleShortVersionString` and `LSMinimumSystemVersion`, checks the keys
/// the HAL needs to find the factory, and returns the XML plist.
pub fn render_info_plist(template: &Path, version: &str, min_macos: &str) -> Result<Vec<u8>> {
    let mut value = plist::Value::from_file(template).with_context(|| format!("parsing {}", template.display()))?;
    let dict = value
        .as_dictionary_mut()
        .ok_or_else(|| anyhow!("{}: the top level is not a dictionary", template.display()))?;
    for key in ["CFBundleVersion", "CFBundleShortVersionString"] {
        dict.insert(key.into(), plist::Value::String(version.into()));
    }
    dict.insert("LSMinimumSystemVersion".into(), plist::Value::String(min_macos.into()));
    check_info_plist_dict(dict)?;
    let mut out = Vec::new();
    plist::to_writer_xml(&mut out, &value).context("writing Info.plist")?;
    Ok(out)
}

/// What the HAL needs from the Info.plist of an AudioServerPlugIn: the bundle
/// id and executable, a `CFPlugInTypes` entry for `kAudioServerPlugInTypeUUID`
/// naming factory UUIDs, each of which `CFPlugInFactories` maps to a function
/// name. Returns the factory function names.
pub fn check_info_plist_dict(dict: &plist::Dictionary) -> Result<Vec<String>> {
    let string = |key: &str| dict.get(key).and_then(plist::Value::as_string);
    ensure!(string("CFBundleIdentifier") == Some(BUNDLE_ID), "CFBundleIdentifier is not {BUNDLE_ID}");
    ensure!(string("CFBundleExecutable") == Some(EXECUTABLE_NAME), "CFBundleExecutable is not {EXECUTABLE_NAME}");
    ensure!(string("CFBundlePackageType") == Some("BNDL"), "CFBundlePackageType is not BNDL");
    let types = dict
        .get("CFPlugInTypes")
        .and_then(plist::Value::as_dictionary)
        .ok_or_else(|| anyhow!("no CFPlugInTypes dictionary"))?;
    let factories_uuids = types
        .get(PLUGIN_TYPE_UUID)
        .and_then(plist::Value::as_array)
        .ok_or_else(|| anyhow!("CFPlugInTypes has no {PLUGIN_TYPE_UUID} array"))?;
    let factories = dict
        .get("CFPlugInFactories")
        .and_then(plist::Value::as_dictionary)
        .ok_or_else(|| anyhow!("no CFPlugInFactories dictionary"))?;
    ensure!(!factories_uuids.is_empty(), "the AudioServerPlugIn type lists no factory");
    let mut functions = Vec::new();
    for uuid in factories_uuids {
        let uuid = uuid.as_string().ok_or_else(|| anyhow!("a factory UUID is not a string"))?;
        let function = factories
            .get(uuid)
            .and_then(plist::Value::as_string)
            .ok_or_else(|| anyhow!("CFPlugInFactories has no function for factory {uuid}"))?;
        functions.push(function.to_owned());
    }
    Ok(functions)
}

// ---------------------------------------------------------------------------
// .tbd stubs (TAPI "text-based stub" v4, YAML)

/// One document of a `.tbd` file: a dylib's install name and its exports per target.
#[derive(Debug, Clone, Default)]
pub struct TbdLibrary {
    /// The dylib's install name (e.g. `/usr/lib/libSystem.B.dylib`), which the
    /// linker records in the importing binary's `LC_LOAD_DYLIB`.
    pub install_name: String,
    /// (targets such as `arm64-macos`, symbols with the Mach-O leading underscore)
    pub exports: Vec<(Vec<String>, Vec<String>)>,
}

impl TbdLibrary {
    /// Every symbol the library exports for `target` (`arm64-macos`, `x86_64-macos`).
    pub fn symbols_for(&self, target: &str) -> BTreeSet<String> {
        self.exports
            .iter()
            .filter(|(targets, _)| targets.iter().any(|t| t == target))
            .flat_map(|(_, symbols)| symbols.iter().cloned())
            .collect()
    }
}

/// Parses the subset of TAPI v4 used by `.tbd` stubs: `install-name`, and the
/// `targets`/`symbols` flow lists of `exports:` (and `reexports:`) entries,
/// which may span lines. Other keys are skipped. Handles several documents
/// per file (as in the SDK's libSystem.tbd).
pub fn parse_tbd(text: &str) -> Result<Vec<TbdLibrary>> {
    let mut libs: Vec<TbdLibrary> = Vec::new();
    let mut section = ""; // top-level key we are under
    let mut pending: Option<(String, String)> = None; // (key, accumulated flow list)
    let mut entry_targets: Option<Vec<String>> = None;
    for line in text.lines() {
        if let Some((key, mut acc)) = pending.take() {
            acc.push(' ');
            acc.push_str(line.trim());
            if acc.contains(']') {
                finish_list(&mut libs, section, &key, &acc, &mut entry_targets)?;
            } else {
                pending = Some((key, acc));
            }
            continue;
        }
        if line.starts_with("---") {
            libs.push(TbdLibrary::default());
            section = "";
            continue;
        }
        if line.starts_with("...") || line.trim_start().starts_with('#') {
            continue;
        }
        if !line.starts_with(' ') && !line.starts_with('-') {
            if let Some((key, rest)) = line.split_once(':') {
                section = match key.trim() {
                    "exports" => "exports",
                    "reexports" => "exports",
                    _ => "other",
                };
                if key.trim() == "install-name" {
                    let lib = libs.last_mut().ok_or_else(|| anyhow!("install-name before ---"))?;
                    lib.install_name = rest.trim().trim_matches('\'').trim_matches('"').to_owned();
                }
            }
            continue;
        }
        if section != "exports" {
            continue;
        }
        let trimmed = line.trim().trim_start_matches('-').trim();
        if let Some((key, rest)) = trimmed.split_once(':') {
            let key = key.trim();
            if key == "targets" || key == "symbols" {
                let acc = rest.trim().to_owned();
                if acc.contains(']') {
                    finish_list(&mut libs, section, key, &acc, &mut entry_targets)?;
                } else {
                    pending = Some((key.to_owned(), acc));
                }
            }
        }
    }
    ensure!(pending.is_none(), "unterminated [ ... ] list");
    libs.retain(|l| !l.install_name.is_empty());
    Ok(libs)
}

fn finish_list(
    libs: &mut [TbdLibrary],
    section: &str,
    key: &str,
    flow: &str,
    entry_targets: &mut Option<Vec<String>>,
) -> Result<()> {
    let inner = flow
        .trim()
        .strip_prefix('[')
        .and_then(|s| s.trim_end().strip_suffix(']'))
        .ok_or_else(|| anyhow!("expected a [ ... ] list, got {flow:?}"))?;
    let items: Vec<String> = inner
        .split(',')
        .map(|s| s.trim().trim_matches('\'').trim_matches('"').to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    if section != "exports" {
        return Ok(());
    }
    match key {
        "targets" => *entry_targets = Some(items),
        "symbols" => {
            let targets = entry_targets.clone().ok_or_else(|| anyhow!("symbols before targets"))?;
            let lib = libs.last_mut().ok_or_else(|| anyhow!("symbols before ---"))?;
            lib.exports.push((targets, items));
        }
        _ => {}
    }
    Ok(())
}

/// Reads and parses `.tbd` files.
pub fn read_tbds(paths: &[impl AsRef<Path>]) -> Result<Vec<TbdLibrary>> {
    let mut libs = Vec::new();
    for path in paths {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let parsed = parse_tbd(&text).with_context(|| format!("parsing {}", path.display()))?;
        ensure!(!parsed.is_empty(), "{}: no library", path.display());
        libs.extend(parsed);
    }
    Ok(libs)
}

/// The tbd target name of a Mach-O architecture (`arm64` -> `arm64-macos`).
pub fn tbd_target(arch: &str) -> Result<&'static str> {
    Ok(match arch {
        "arm64" => "arm64-macos",
        "x86_64" => "x86_64-macos",
        other => bail!("unsupported architecture {other:?} (arm64 or x86_64)"),
    })
}

/// The external symbols a set of Mach-O object files needs from outside
/// themselves: undefined in some object, defined (extern) in none, less the
/// linker-synthesized ones.
pub fn imports_of_objects(objects: &[impl AsRef<Path>]) -> Result<BTreeSet<String>> {
    use object::{Object, ObjectSymbol};
    let mut undefined = BTreeSet::new();
    let mut defined = BTreeSet::new();
    for path in objects {
        let path = path.as_ref();
        let data = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let file = object::File::parse(&*data).with_context(|| format!("parsing {}", path.display()))?;
        ensure!(file.format() == object::BinaryFormat::MachO, "{} is not Mach-O", path.display());
        for sym in file.symbols() {
            if !sym.is_global() {
                continue;
            }
            let name = sym.name().with_context(|| format!("a symbol name in {}", path.display()))?;
            if sym.is_undefined() {
                undefined.insert(name.to_owned());
            } else {
                defined.insert(name.to_owned());
            }
        }
    }
    Ok(undefined.difference(&defined).filter(|s| !LINKER_SYNTHESIZED.contains(&s.as_str())).cloned().collect())
}

/// Which stub library provides each import for `target`; an error naming every
/// import that no stub lists (the "new call fails loudly" check).
pub fn check_imports(
    imports: &BTreeSet<String>,
    libs: &[TbdLibrary],
    target: &str,
) -> Result<BTreeMap<String, String>> {
    let mut provided = BTreeMap::new();
    let mut missing = Vec::new();
    for sym in imports {
        match libs.iter().find(|l| l.symbols_for(target).contains(sym)) {
            Some(lib) => {
                provided.insert(sym.clone(), lib.install_name.clone());
            }
            None => missing.push(sym.as_str()),
        }
    }
    if !missing.is_empty() {
        bail!(
            "the driver ({target}) calls symbols that no .tbd stub lists: {}\n\
             If the real library exports them (check Apple's SDK .tbd or `nm -gU` on a Mac; \
             libSystem symbols are also in zig's lib/libc/darwin/libSystem.tbd), add them to \
             scripts/macos/libSystem.tbd or scripts/macos/CoreFoundation.tbd; \
             the bundle may import only from libSystem and CoreFoundation.",
            missing.join(", ")
        );
    }
    Ok(provided)
}

// ---------------------------------------------------------------------------
// Signing

/// Who signs.
pub enum Identity {
    /// Ad hoc: a CodeDirectory with hashes and no certificate (development).
    AdHoc,
    /// A certificate and its private key (Developer ID Application for release).
    Certificate {
        /// The signing certificate (its chain is looked up by apple-codesign).
        cert: Box<x509_certificate::CapturedX509Certificate>,
        /// The certificate's private key.
        key: Box<dyn apple_codesign::cryptography::PrivateKey>,
    },
}

impl Identity {
    /// Loads a certificate and key from a PKCS#12 (.p12) file, as exported by
    /// Keychain Access.
    pub fn from_p12(path: &Path, password: &str) -> Result<Self> {
        let data = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let (cert, key) = apple_codesign::cryptography::parse_pfx_data(&data, password)
            .with_context(|| format!("decoding {}", path.display()))?;
        Ok(Identity::Certificate { cert: Box::new(cert), key: Box::new(key) })
    }

    /// Loads the first `CERTIFICATE` and the first `PRIVATE KEY` (PKCS#8) or
    /// `RSA PRIVATE KEY` (PKCS#1) block from PEM text.
    pub fn from_pem(pem_text: &[u8]) -> Result<Self> {
        use apple_codesign::cryptography::InMemoryPrivateKey;
        let mut cert = None;
        let mut key: Option<InMemoryPrivateKey> = None;
        for block in pem::parse_many(pem_text).context("parsing PEM")? {
            match block.tag() {
                "CERTIFICATE" if cert.is_none() => {
                    cert = Some(x509_certificate::CapturedX509Certificate::from_der(block.contents())?)
                }
                "PRIVATE KEY" if key.is_none() => key = Some(InMemoryPrivateKey::from_pkcs8_der(block.contents())?),
                "RSA PRIVATE KEY" if key.is_none() => key = Some(InMemoryPrivateKey::from_pkcs1_der(block.contents())?),
                _ => {}
            }
        }
        match (cert, key) {
            (Some(cert), Some(key)) => Ok(Identity::Certificate { cert: Box::new(cert), key: Box::new(key) }),
            _ => bail!("PEM input needs a CERTIFICATE and a PRIVATE KEY"),
        }
    }
}

/// How to sign.
pub struct SignOptions {
    /// Who signs: ad hoc or a certificate.
    pub identity: Identity,
    /// Sets the hardened-runtime flag (CS_RUNTIME, 0x10000 in the CodeDirectory).
    pub hardened_runtime: bool,
    /// RFC 3161 time-stamp server for certificate signatures (Apple's
    /// `http://timestamp.apple.com/ts01` is required for notarization); None for none.
    pub timestamp_url: Option<String>,
}

/// Signs the bundle in place: the universal executable (every slice) and
/// `Contents/_CodeSignature/CodeResources` (which seals Info.plist and resources).
pub fn sign_bundle(bundle: &Path, options: &SignOptions) -> Result<()> {
    use apple_codesign::{BundleSigner, CodeSignatureFlags, SettingsScope, SigningSettings};
    let mut settings = SigningSettings::default();
    let (identifier, _) = bundle_identity(bundle)?;
    settings.set_binary_identifier(SettingsScope::Main, identifier);
    if let Identity::Certificate { cert, key } = &options.identity {
        settings.set_signing_key(key.as_key_info_signer(), (**cert).clone());
        settings.chain_apple_certificates();
        settings.set_team_id_from_signing_certificate();
        if let Some(url) = &options.timestamp_url {
            settings.set_time_stamp_url(url.as_str()).context("time-stamp URL")?;
        }
    }
    if options.hardened_runtime {
        settings.set_code_signature_flags(SettingsScope::Main, CodeSignatureFlags::RUNTIME);
    }
    let signer = BundleSigner::new_from_path(bundle).with_context(|| format!("reading bundle {}", bundle.display()))?;
    signer.write_signed_bundle(bundle, &settings).with_context(|| format!("signing {}", bundle.display()))?;
    Ok(())
}

/// A bundle's `CFBundleIdentifier` and `CFBundleExecutable` (its Info.plist).
pub fn bundle_identity(bundle: &Path) -> Result<(String, String)> {
    let path = bundle.join("Contents/Info.plist");
    let value = plist::Value::from_file(&path).with_context(|| format!("reading {}", path.display()))?;
    let dict = value.as_dictionary().ok_or_else(|| anyhow!("{} is not a dictionary", path.display()))?;
    let get = |k: &str| {
        dict.get(k)
            .and_then(plist::Value::as_string)
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("{} has no {k}", path.display()))
    };
    Ok((get("CFBundleIdentifier")?, get("CFBundleExecutable")?))
}

/// What [`verify_bundle`] found.
#[derive(Debug)]
pub struct SignatureInfo {
    /// Per slice (in fat-file order): CodeDirectory flags.
    pub slice_flags: Vec<u32>,
    /// Whether any slice carries a CMS (certificate) signature.
    pub has_cms: bool,
}

/// Verifies the executable's embedded signatures with apple-codesign's
/// verifier (CodeDirectory hashes of every code page and of the special slots,
/// i.e. Info.plist and CodeResources, and the CMS signature when present) and
/// checks `_CodeSignature/CodeResources` exists.
///
/// apple-codesign's verifier always expects a CMS signature; an ad hoc slice
/// (CodeDirectory flag CS_ADHOC, an empty CMS wrapper) has none by design, so
/// for those slices only the "no/empty CMS signature" findings are dropped.
pub fn verify_bundle(bundle: &Path) -> Result<SignatureInfo> {
    let contents = bundle.join("Contents");
    let (identifier, executable) = bundle_identity(bundle)?;
    ensure!(
        contents.join("_CodeSignature/CodeResources").is_file(),
        "{} has no Contents/_CodeSignature/CodeResources",
        bundle.display()
    );
    let info = verify_executable(&contents.join("MacOS").join(&executable), Some((bundle, &identifier)))?;
    // Other executables beside the main one (Gecko.app's `gecko`) are signed
    // as nested code: their own signature, no bundle seals.
    for e in std::fs::read_dir(contents.join("MacOS"))? {
        let path = e?.path();
        if path.file_name().is_some_and(|n| n != executable.as_str()) && path.is_file() {
            verify_executable(&path, None)?;
        }
    }
    Ok(info)
}

/// Verifies one Mach-O executable's embedded signature (every slice). With
/// `main = Some((bundle, identifier))` it must be signed as `identifier` and
/// seal the bundle's Info.plist and CodeResources as they are on disk.
fn verify_executable(exe: &Path, main: Option<(&Path, &str)>) -> Result<SignatureInfo> {
    use apple_codesign::{CodeSignatureFlags, MachFile, VerificationProblemType};
    let data = std::fs::read(exe).with_context(|| format!("reading {}", exe.display()))?;
    let mach = MachFile::parse(&data).with_context(|| format!("parsing {}", exe.display()))?;
    let mut info = SignatureInfo { slice_flags: Vec::new(), has_cms: false };
    let mut problems = Vec::new();
    for (index, macho) in mach.iter_macho().enumerate() {
        let sig =
            macho.code_signature()?.ok_or_else(|| anyhow!("{}: slice {index} has no code signature", exe.display()))?;
        let cd = sig.code_directory()?.ok_or_else(|| anyhow!("slice {index} has no CodeDirectory"))?;
        // The signature must be ours, and it must seal the Info.plist and
        // CodeResources that are on disk now (their hashes sit in the
        // CodeDirectory's special slots): an Info.plist edited after signing
        // is refused, as macOS would refuse it.
        if let Some((bundle, identifier)) = main {
            ensure!(cd.ident == identifier, "slice {index} is signed as {:?}, not {identifier}", cd.ident);
            for (slot, file) in [
                (apple_codesign::CodeSigningSlot::Info, "Contents/Info.plist"),
                (apple_codesign::CodeSigningSlot::ResourceDir, "Contents/_CodeSignature/CodeResources"),
            ] {
                let sealed = cd
                    .special_digests
                    .get(&slot)
                    .ok_or_else(|| anyhow!("slice {index}: the signature does not seal {file}"))?;
                let bytes = std::fs::read(bundle.join(file)).with_context(|| format!("reading {file}"))?;
                let now = cd.digest_type.digest_data(&bytes)?;
                ensure!(
                    now[..] == sealed.data[..],
                    "{file} was changed after signing (its hash is not the one sealed in the signature)"
                );
            }
        }
        let cms = sig.signature_data()?.is_some_and(|d| !d.is_empty());
        let adhoc = cd.flags.contains(CodeSignatureFlags::ADHOC) && !cms;
        info.slice_flags.push(cd.flags.bits());
        info.has_cms |= cms;
        for p in apple_codesign::verify_macho(macho) {
            let expected_for_adhoc = matches!(
                p.problem,
                VerificationProblemType::NoCryptographicSignature | VerificationProblemType::CmsError(_)
            );
            if !(adhoc && expected_for_adhoc) {
                problems.push(format!("slice {index}: {p}"));
            }
        }
    }
    if !problems.is_empty() {
        bail!("signature of {} does not verify:\n  {}", exe.display(), problems.join("\n  "));
    }
    ensure!(!info.slice_flags.is_empty(), "no Mach-O slices");
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_multiline_tbd_with_targets() {
        let text = "--- !tapi-tbd\ntbd-version:     4\ntargets:         [ x86_64-macos, arm64-macos ]\n\
                    install-name:    '/usr/lib/libSystem.B.dylib'\nexports:\n\
                    \x20 - targets:         [ x86_64-macos, arm64-macos ]\n\
                    \x20   symbols:         [ _a, '_b$X',\n                       _c ]\n\
                    \x20 - targets:         [ arm64-macos ]\n    symbols:         [ _d ]\n...\n";
        let libs = parse_tbd(text).unwrap();
        assert_eq!(libs.len(), 1);
        assert_eq!(libs[0].install_name, "/usr/lib/libSystem.B.dylib");
        let arm: Vec<_> = libs[0].symbols_for("arm64-macos").into_iter().collect();
        assert_eq!(arm, ["_a", "_b$X", "_c", "_d"]);
        assert!(!libs[0].symbols_for("x86_64-macos").contains("_d"));
    }
}
