//! Builds the macOS GeckoAudioDevice.driver with scripts/build-macos-driver.sh
//! into a temporary directory and checks the result with readers independent
//! of the build: the `object` crate for the Mach-O structure, hand-written
//! parsers for the export trie, the chained-fixups import table and the
//! CodeDirectory (whose page hashes are recomputed with `sha2`), the `plist`
//! crate for Info.plist, and apple-codesign's verifier for the signature.
//!
//! Constants: Apple's <mach-o/loader.h>, <mach-o/fat.h>, <mach-o/fixup-chains.h>,
//! <mach/machine.h> and the code-signing blob layout of xnu's
//! osfmk/kern/cs_blobs.h.
//!
//! If the cross toolchain is missing the tests FAIL (never skip), naming the
//! set-up command.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use gecko_macos_bundle as gmb;
use object::LittleEndian as LE;
use object::macho;
use object::read::macho::{FatArch, LoadCommandVariant, MachHeader, Nlist};
use sha2::{Digest, Sha256};

const SETUP_HINT: &str = "install the macOS cross toolchain with `bash scripts/setup.sh` \
                          (clang-19, lld-19, llvm-19 from Debian; ziglang from PyPI)";

/// <mach/machine.h>
const CPU_TYPE_X86_64: u32 = 0x0100_0007;
const CPU_TYPE_ARM64: u32 = 0x0100_000c;
/// <mach-o/loader.h>: LC_BUILD_VERSION platform
const PLATFORM_MACOS: u32 = 1;
/// <mach-o/loader.h>: n_desc library ordinals / chained-import ordinals with special meaning
const SELF_LIBRARY_ORDINAL: u8 = 0;
/// cs_blobs.h
const CSMAGIC_EMBEDDED_SIGNATURE: u32 = 0xfade_0cc0;
const CSMAGIC_CODEDIRECTORY: u32 = 0xfade_0c02;
const CSSLOT_CODEDIRECTORY: u32 = 0;
const CSSLOT_INFOSLOT: usize = 1;
const CSSLOT_RESOURCEDIR: usize = 3;
const CSSLOT_ALTERNATE_CODEDIRECTORIES: u32 = 0x1000;
const CSSLOT_SIGNATURESLOT: u32 = 0x10000;
const CS_HASHTYPE_SHA256: u8 = 2;
const CS_ADHOC: u32 = 0x2;
const CS_RUNTIME: u32 = 0x10000;

const LIBSYSTEM: &str = "/usr/lib/libSystem.B.dylib";
const COREFOUNDATION: &str = "/System/Library/Frameworks/CoreFoundation.framework/Versions/A/CoreFoundation";

fn root() -> PathBuf {
    Path::new(&manifest_dir()).join("../..").canonicalize().unwrap()
}

fn zig_lib() -> Option<PathBuf> {
    let out = Command::new("python3")
        .args(["-c", "import os, ziglang; print(os.path.join(os.path.dirname(ziglang.__file__), 'lib'))"])
        .output()
        .ok()?;
    out.status.success().then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// Panics (fails the test) naming the set-up command if a tool is missing.
fn require_toolchain() {
    for tool in ["clang-19", "ld64.lld-19", "llvm-lipo-19"] {
        let ok = Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success());
        assert!(ok, "{tool} is not installed: {SETUP_HINT}");
    }
    let lib = zig_lib().unwrap_or_else(|| panic!("python3 cannot import ziglang: {SETUP_HINT}"));
    assert!(
        lib.join("libc/include/any-macos-any/mach/mach_time.h").is_file(),
        "ziglang at {} has no macOS headers: {SETUP_HINT}",
        lib.display()
    );
}

/// Runs the build script into `out`; returns the bundle path.
fn build(out: &Path, args: &[&str], env: &[(&str, &str)]) -> PathBuf {
    if cfg!(target_os = "linux") {
        require_toolchain();
    }
    let mut cmd = Command::new("bash");
    cmd.arg(root().join("scripts/build-macos-driver.sh")).arg("--out").arg(out).args(args);
    cmd.env("GECKO_MACOS_BUNDLE_TOOL", env!("CARGO_BIN_EXE_gecko-macos-bundle"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let output = cmd.output().expect("run scripts/build-macos-driver.sh");
    assert!(
        output.status.success(),
        "scripts/build-macos-driver.sh failed ({}):\n{}\n{}\n(if a tool is missing: {SETUP_HINT})",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    out.join("GeckoAudioDevice.driver")
}

/// The ad hoc bundle, built once for all tests of this file.
fn adhoc_bundle() -> &'static Path {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let bundle = build(dir.path(), &[], &[]);
        (dir, bundle)
    })
    .1
}

fn executable(bundle: &Path) -> Vec<u8> {
    std::fs::read(bundle.join("Contents/MacOS").join(gmb::EXECUTABLE_NAME)).unwrap()
}

/// (arch name, slice bytes) for each slice of the universal binary.
fn slices(data: &[u8]) -> Vec<(&'static str, &[u8])> {
    let fat = object::read::macho::MachOFatFile32::parse(data).expect("a fat (universal) Mach-O, FAT_MAGIC");
    fat.arches()
        .iter()
        .map(|a| {
            let name = match a.cputype() {
                CPU_TYPE_ARM64 => "arm64",
                CPU_TYPE_X86_64 => "x86_64",
                other => panic!("unexpected cputype {other:#x}"),
            };
            (name, a.data(data).unwrap())
        })
        .collect()
}

/// What one slice says about itself.
#[derive(Debug, Default)]
struct Slice {
    filetype: u32,
    flags: u32,
    dylibs: Vec<String>,
    minos: Option<u32>,
    platform: Option<u32>,
    /// undefined external symbols with their two-level library ordinal (n_desc >> 8)
    undefined: BTreeMap<String, u8>,
    exports_trie: Vec<String>,
    /// chained-fixups imports: (name, lib ordinal, weak)
    chained_imports: Vec<(String, u8, bool)>,
    code_signature: Option<(usize, usize)>,
}

fn linkedit(cmd: &object::read::macho::LoadCommandData<'_, LE>) -> (usize, usize) {
    let c: &macho::LinkeditDataCommand<LE> = cmd.data().unwrap();
    (c.dataoff.get(LE) as usize, c.datasize.get(LE) as usize)
}

fn parse_slice(data: &[u8]) -> Slice {
    let header = macho::MachHeader64::<LE>::parse(data, 0).expect("a 64-bit little-endian Mach-O slice");
    let mut s = Slice { filetype: header.filetype(LE), flags: header.flags(LE), ..Default::default() };
    let mut cmds = header.load_commands(LE, data, 0).unwrap();
    while let Some(cmd) = cmds.next().unwrap() {
        match cmd.cmd() {
            macho::LC_DYLD_EXPORTS_TRIE => {
                let (off, size) = linkedit(&cmd);
                s.exports_trie = parse_export_trie(&data[off..off + size]);
            }
            macho::LC_DYLD_CHAINED_FIXUPS => {
                let (off, size) = linkedit(&cmd);
                s.chained_imports = parse_chained_imports(&data[off..off + size]);
            }
            macho::LC_DYLD_INFO | macho::LC_DYLD_INFO_ONLY => {
                panic!("classic dyld info (LC_DYLD_INFO): expected chained fixups (-fixup_chains)")
            }
            macho::LC_CODE_SIGNATURE => s.code_signature = Some(linkedit(&cmd)),
            _ => {}
        }
        match cmd.variant().unwrap() {
            LoadCommandVariant::Dylib(d) if cmd.cmd() == macho::LC_LOAD_DYLIB => {
                let name = cmd.string(LE, d.dylib.name).unwrap();
                s.dylibs.push(String::from_utf8(name.to_vec()).unwrap());
            }
            LoadCommandVariant::Dylib(_) => panic!("unexpected dylib command {:#x} (weak/re-export/upward)", cmd.cmd()),
            LoadCommandVariant::BuildVersion(b) => {
                s.minos = Some(b.minos.get(LE));
                s.platform = Some(b.platform.get(LE));
            }
            LoadCommandVariant::Symtab(symtab) => {
                let table = symtab.symbols::<macho::MachHeader64<LE>, _>(LE, data).unwrap();
                for nlist in table.iter() {
                    let n_type = nlist.n_type();
                    if n_type & macho::N_STAB != 0 || n_type & macho::N_EXT == 0 {
                        continue;
                    }
                    if n_type & macho::N_TYPE == macho::N_UNDF {
                        let name = String::from_utf8(nlist.name(LE, table.strings()).unwrap().to_vec()).unwrap();
                        let ordinal = (nlist.n_desc(LE) >> 8) as u8; // GET_LIBRARY_ORDINAL
                        s.undefined.insert(name, ordinal);
                    }
                }
            }
            _ => {}
        }
    }
    s
}

fn uleb(data: &[u8], pos: &mut usize) -> u64 {
    let (mut v, mut shift) = (0u64, 0);
    loop {
        let b = data[*pos];
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return v;
        }
        shift += 7;
    }
}

fn cstr(data: &[u8], pos: usize) -> String {
    let end = data[pos..].iter().position(|&b| b == 0).unwrap() + pos;
    String::from_utf8(data[pos..end].to_vec()).unwrap()
}

/// Names in the export trie (<mach-o/loader.h>, "export trie" comment): each node
/// is a uleb128 terminal size, the terminal info, a child count and
/// (edge string, uleb128 child offset) pairs.
fn parse_export_trie(trie: &[u8]) -> Vec<String> {
    fn walk(trie: &[u8], node: usize, prefix: String, out: &mut Vec<String>, depth: usize) {
        assert!(depth < 128, "export trie too deep");
        let mut pos = node;
        let terminal = uleb(trie, &mut pos) as usize;
        if terminal > 0 {
            out.push(prefix.clone());
        }
        pos += terminal;
        let children = trie[pos];
        pos += 1;
        for _ in 0..children {
            let edge = cstr(trie, pos);
            pos += edge.len() + 1;
            let child = uleb(trie, &mut pos) as usize;
            walk(trie, child, format!("{prefix}{edge}"), out, depth + 1);
        }
    }
    let mut out = Vec::new();
    if !trie.is_empty() {
        walk(trie, 0, String::new(), &mut out, 0);
    }
    out
}

/// The import table of LC_DYLD_CHAINED_FIXUPS (<mach-o/fixup-chains.h>:
/// dyld_chained_fixups_header, dyld_chained_import*).
fn parse_chained_imports(blob: &[u8]) -> Vec<(String, u8, bool)> {
    let u32_at = |o: usize| u32::from_le_bytes(blob[o..o + 4].try_into().unwrap());
    let imports_offset = u32_at(8) as usize;
    let symbols_offset = u32_at(12) as usize;
    let count = u32_at(16) as usize;
    let format = u32_at(20);
    assert_eq!(u32_at(24), 0, "compressed chained-fixup symbol names are not expected");
    let mut out = Vec::new();
    for i in 0..count {
        let (ordinal, weak, name_off) = match format {
            // DYLD_CHAINED_IMPORT, DYLD_CHAINED_IMPORT_ADDEND (u32 import first)
            1 | 2 => {
                let stride = if format == 1 { 4 } else { 8 };
                let v = u32_at(imports_offset + i * stride);
                ((v & 0xff) as u8, v & 0x100 != 0, (v >> 9) as usize)
            }
            // DYLD_CHAINED_IMPORT_ADDEND64: lib_ordinal:16, weak:1, reserved:15, name_offset:32
            3 => {
                let o = imports_offset + i * 16;
                let v = u64::from_le_bytes(blob[o..o + 8].try_into().unwrap());
                ((v & 0xffff) as u8, v & 0x1_0000 != 0, (v >> 32) as usize)
            }
            other => panic!("unknown chained import format {other}"),
        };
        out.push((cstr(blob, symbols_offset + name_off), ordinal, weak));
    }
    out
}

fn stubs() -> Vec<gmb::TbdLibrary> {
    let dir = root().join("scripts/macos");
    gmb::read_tbds(&[dir.join("libSystem.tbd"), dir.join("CoreFoundation.tbd")]).unwrap()
}

#[test]
fn universal_bundle_with_both_architectures() {
    let bundle = adhoc_bundle();
    for p in ["Contents/Info.plist", "Contents/MacOS/GeckoAudioDevice", "Contents/Resources"] {
        assert!(bundle.join(p).exists(), "missing {p}");
    }
    let data = executable(bundle);
    let archs: BTreeSet<_> = slices(&data).into_iter().map(|(a, _)| a).collect();
    assert_eq!(archs, BTreeSet::from(["arm64", "x86_64"]));
}

#[test]
fn each_slice_is_a_two_level_mh_bundle_for_macos_12() {
    let data = executable(adhoc_bundle());
    for (arch, bytes) in slices(&data) {
        let s = parse_slice(bytes);
        assert_eq!(s.filetype, macho::MH_BUNDLE, "{arch}: filetype (MH_BUNDLE = 8)");
        assert!(s.flags & macho::MH_TWOLEVEL != 0, "{arch}: MH_TWOLEVEL not set");
        assert!(s.flags & macho::MH_DYLDLINK != 0, "{arch}: MH_DYLDLINK not set");
        assert_eq!(s.platform, Some(PLATFORM_MACOS), "{arch}: LC_BUILD_VERSION platform");
        let minos = s.minos.expect("LC_BUILD_VERSION");
        assert!(minos >= 12 << 16, "{arch}: minos {:#x} < 12.0", minos);
        assert_eq!(s.dylibs, [LIBSYSTEM, COREFOUNDATION], "{arch}: LC_LOAD_DYLIB (ordinals 1, 2)");
    }
}

#[test]
fn exports_only_the_factory() {
    let data = executable(adhoc_bundle());
    for (arch, bytes) in slices(&data) {
        let s = parse_slice(bytes);
        assert_eq!(s.exports_trie, ["_GeckoAudioDevice_Create"], "{arch}: export trie");
    }
}

#[test]
fn imports_bind_two_level_to_libsystem_and_corefoundation_only() {
    let data = executable(adhoc_bundle());
    let libs = stubs();
    for (arch, bytes) in slices(&data) {
        let s = parse_slice(bytes);
        let target = gmb::tbd_target(arch).unwrap();
        assert!(!s.undefined.is_empty(), "{arch}: no imports at all?");
        for (name, &ordinal) in &s.undefined {
            assert!(
                ordinal != SELF_LIBRARY_ORDINAL && (ordinal as usize) <= s.dylibs.len(),
                "{arch}: {name} has library ordinal {ordinal:#x} (flat or dynamic lookup, not two-level)"
            );
            let dylib = &s.dylibs[ordinal as usize - 1];
            let lib = libs.iter().find(|l| &l.install_name == dylib).unwrap();
            assert!(lib.symbols_for(target).contains(name), "{arch}: {name} bound to {dylib}, whose stub lacks it");
        }
        // What dyld actually binds: the chained-fixups import table.
        let chained: BTreeMap<_, _> = s.chained_imports.iter().map(|(n, o, _)| (n.clone(), *o)).collect();
        assert_eq!(chained, s.undefined, "{arch}: chained imports and symbol table disagree");
        assert!(s.chained_imports.iter().all(|(_, _, weak)| !weak), "{arch}: weak imports");
    }
}

#[test]
fn libsystem_stub_lists_only_real_libsystem_exports() {
    require_toolchain();
    let sdk_tbd = zig_lib().unwrap().join("libc/darwin/libSystem.tbd");
    let sdk = gmb::read_tbds(&[&sdk_tbd]).unwrap();
    let ours = stubs().into_iter().find(|l| l.install_name == LIBSYSTEM).unwrap();
    for target in ["arm64-macos", "x86_64-macos"] {
        let real: BTreeSet<String> = sdk.iter().flat_map(|l| l.symbols_for(target)).collect();
        assert!(real.len() > 1000, "{}: parsed only {} symbols", sdk_tbd.display(), real.len());
        let invented: Vec<_> = ours.symbols_for(target).into_iter().filter(|s| !real.contains(s)).collect();
        assert!(invented.is_empty(), "{target}: not exported by the SDK's libSystem: {invented:?}");
    }
}

#[test]
fn info_plist_names_an_exported_factory_and_the_workspace_version() {
    let bundle = adhoc_bundle();
    let value = plist::Value::from_file(bundle.join("Contents/Info.plist")).expect("Info.plist parses");
    let dict = value.as_dictionary().unwrap();
    let functions = gmb::check_info_plist_dict(dict).unwrap();
    assert_eq!(dict.get("CFBundleIdentifier").and_then(|v| v.as_string()), Some("com.gecko.driver.AudioDevice"));
    for key in ["CFBundleVersion", "CFBundleShortVersionString"] {
        assert_eq!(dict.get(key).and_then(|v| v.as_string()), Some(gmb::WORKSPACE_VERSION), "{key}");
    }
    assert_eq!(dict.get("LSMinimumSystemVersion").and_then(|v| v.as_string()), Some("12.0"));
    let data = executable(bundle);
    for (arch, bytes) in slices(&data) {
        let exports = parse_slice(bytes).exports_trie;
        for f in &functions {
            assert!(exports.contains(&format!("_{f}")), "{arch}: factory {f} is not exported");
        }
    }
}

/// Parses the embedded signature of one slice; recomputes every code-page hash
/// and the Info.plist and CodeResources special-slot hashes of each SHA-256
/// CodeDirectory. Returns (primary CodeDirectory flags, has a CMS signature).
fn check_code_directory(arch: &str, slice: &[u8], bundle: &Path) -> (u32, bool) {
    let (off, size) = parse_slice(slice).code_signature.unwrap_or_else(|| panic!("{arch}: no LC_CODE_SIGNATURE"));
    let sig = &slice[off..off + size];
    let be = |b: &[u8], o: usize| u32::from_be_bytes(b[o..o + 4].try_into().unwrap());
    assert_eq!(be(sig, 0), CSMAGIC_EMBEDDED_SIGNATURE, "{arch}: SuperBlob magic");
    let count = be(sig, 8) as usize;
    let mut primary_flags = None;
    let mut has_cms = false;
    let mut checked = 0;
    for i in 0..count {
        let slot = be(sig, 12 + 8 * i);
        let blob = &sig[be(sig, 16 + 8 * i) as usize..];
        if slot == CSSLOT_SIGNATURESLOT {
            has_cms = be(blob, 4) > 8; // a BlobWrapper with CMS data, not the empty ad hoc one
            continue;
        }
        if slot != CSSLOT_CODEDIRECTORY
            && !(CSSLOT_ALTERNATE_CODEDIRECTORIES..CSSLOT_ALTERNATE_CODEDIRECTORIES + 5).contains(&slot)
        {
            continue;
        }
        assert_eq!(be(blob, 0), CSMAGIC_CODEDIRECTORY, "{arch}: CodeDirectory magic");
        let flags = be(blob, 12);
        let hash_offset = be(blob, 16) as usize;
        let n_special = be(blob, 24) as usize;
        let n_code = be(blob, 28) as usize;
        let code_limit = be(blob, 32) as usize;
        let (hash_size, hash_type, page_shift) = (blob[36] as usize, blob[37], blob[39]);
        if slot == CSSLOT_CODEDIRECTORY {
            primary_flags = Some(flags);
            assert_eq!(hash_type, CS_HASHTYPE_SHA256, "{arch}: primary CodeDirectory hash type");
        }
        if hash_type != CS_HASHTYPE_SHA256 {
            continue;
        }
        assert_eq!(hash_size, 32);
        assert_eq!(code_limit, off, "{arch}: codeLimit must end where the signature starts");
        let page = 1usize << page_shift;
        assert_eq!(n_code, code_limit.div_ceil(page), "{arch}: nCodeSlots");
        for p in 0..n_code {
            let bytes = &slice[p * page..((p + 1) * page).min(code_limit)];
            let want = &blob[hash_offset + p * 32..hash_offset + (p + 1) * 32];
            assert_eq!(Sha256::digest(bytes).as_slice(), want, "{arch}: page {p} hash");
        }
        let special = |s: usize| &blob[hash_offset - s * 32..hash_offset - (s - 1) * 32];
        assert!(n_special >= CSSLOT_RESOURCEDIR, "{arch}: too few special slots");
        let info = std::fs::read(bundle.join("Contents/Info.plist")).unwrap();
        assert_eq!(special(CSSLOT_INFOSLOT), Sha256::digest(&info).as_slice(), "{arch}: Info.plist hash");
        let res = std::fs::read(bundle.join("Contents/_CodeSignature/CodeResources")).unwrap();
        assert_eq!(special(CSSLOT_RESOURCEDIR), Sha256::digest(&res).as_slice(), "{arch}: CodeResources hash");
        checked += 1;
    }
    assert!(checked > 0, "{arch}: no SHA-256 CodeDirectory");
    (primary_flags.expect("no primary CodeDirectory"), has_cms)
}

#[test]
fn adhoc_signature_verifies() {
    let bundle = adhoc_bundle();
    let info = gmb::verify_bundle(bundle).expect("apple-codesign verification");
    assert_eq!(info.slice_flags.len(), 2);
    assert!(!info.has_cms);
    let data = executable(bundle);
    for (arch, bytes) in slices(&data) {
        let (flags, cms) = check_code_directory(arch, bytes, bundle);
        assert!(flags & CS_ADHOC != 0, "{arch}: CS_ADHOC not set ({flags:#x})");
        assert!(flags & CS_RUNTIME == 0, "{arch}: ad hoc build should not claim hardened runtime");
        assert!(!cms, "{arch}: ad hoc signature has CMS data");
    }
    // Tampering with a sealed file must break verification.
    let copy = tempfile::tempdir().unwrap();
    let dst = copy.path().join("GeckoAudioDevice.driver");
    copy_dir(bundle, &dst);
    let mut exe = executable(&dst);
    let (_, arm) = slices(&exe).into_iter().find(|(a, _)| *a == "arm64").unwrap();
    let arm_off = arm.as_ptr() as usize - exe.as_ptr() as usize;
    exe[arm_off + 0x4000] ^= 0xff; // a byte in the second code page of the arm64 slice
    std::fs::write(dst.join("Contents/MacOS/GeckoAudioDevice"), &exe).unwrap();
    assert!(gmb::verify_bundle(&dst).is_err(), "a modified code page still verifies");
    // So must an Info.plist edited after signing (the executable untouched).
    let copy = tempfile::tempdir().unwrap();
    let dst = copy.path().join("GeckoAudioDevice.driver");
    copy_dir(bundle, &dst);
    let plist = dst.join("Contents/Info.plist");
    let text = std::fs::read_to_string(&plist).unwrap();
    // (An added key: the identity verify_bundle reads from it stays the same.)
    std::fs::write(&plist, text.replacen("<dict>", "<dict>\n\t<key>GeckoEdited</key>\n\t<true/>", 1)).unwrap();
    let err = gmb::verify_bundle(&dst).expect_err("an edited Info.plist still verifies");
    assert!(err.to_string().contains("Info.plist was changed after signing"), "{err:#}");
}

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let to = dst.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to);
        } else {
            std::fs::copy(entry.path(), to).unwrap();
        }
    }
}

/// A self-signed "Developer ID Application" certificate (test only: macOS
/// itself would not trust it) as PEM CERTIFICATE + PRIVATE KEY.
fn test_developer_id_pem() -> String {
    use apple_codesign::{AppleCertificateBuilder, CertificateProfile};
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 =
        ring::signature::EcdsaKeyPair::generate_pkcs8(&ring::signature::ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
    let key = x509_certificate::InMemorySigningKeyPair::from_pkcs8_der(pkcs8.as_ref()).unwrap();
    let mut builder = x509_certificate::X509CertificateBuilder::default();
    builder.apple_certificate_profile(CertificateProfile::DeveloperIdApplication).unwrap();
    builder.apple_subject("GECKOTEST1", "Gecko Test", "US").unwrap();
    let cert = builder.create_with_key_pair(&key).unwrap();
    let key_pem = pem::encode(&pem::Pem::new("PRIVATE KEY", pkcs8.as_ref().to_vec()));
    format!("{}{}", cert.encode_pem(), key_pem)
}

#[test]
fn developer_id_signature_has_cms_and_hardened_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let pem = test_developer_id_pem();
    // No time-stamp server: it is Apple's service, unreachable here.
    let bundle = build(
        dir.path(),
        &["--sign", "developer-id", "--pem-env", "GECKO_TEST_SIGNING_PEM", "--timestamp-url", "none"],
        &[("GECKO_TEST_SIGNING_PEM", &pem)],
    );
    let info = gmb::verify_bundle(&bundle).expect("apple-codesign verification (CMS included)");
    assert!(info.has_cms);
    let data = executable(&bundle);
    for (arch, bytes) in slices(&data) {
        let (flags, cms) = check_code_directory(arch, bytes, &bundle);
        assert!(cms, "{arch}: no CMS signature");
        assert!(flags & CS_RUNTIME != 0, "{arch}: hardened runtime (CS_RUNTIME) not set ({flags:#x})");
        assert!(flags & CS_ADHOC == 0, "{arch}: certificate signature marked ad hoc");
    }
}

#[test]
fn script_refuses_developer_id_without_a_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("bash")
        .arg(root().join("scripts/build-macos-driver.sh"))
        .args(["--out"])
        .arg(dir.path())
        .args(["--sign", "developer-id"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--p12"));
}

/// This package's directory, read when the test runs (cargo sets it), not
/// baked in: a test binary cached in a shared target directory may have been
/// compiled in another checkout.
fn manifest_dir() -> String {
    std::env::var("CARGO_MANIFEST_DIR").expect("run through cargo test")
}
