//! Link stubs for the Rust executables (`gecko`, the tray app) cross-linked on
//! Linux, and the check of every import of a linked Mach-O against them.
//!
//! # Where the stubs come from
//! - **libSystem** (`-lSystem`, and `-lc`, `-lm`, which the SDK maps to it):
//!   the macOS SDK's own `usr/lib/libSystem.tbd`, as zig ships it
//!   (`lib/libc/darwin/libSystem.tbd`, PyPI `ziglang`): Apple's list of what
//!   libSystem and its re-exported `libsystem_*` libraries export.
//! - **Every framework and other dylib** (CoreAudio, AudioToolbox,
//!   CoreFoundation, Foundation, AppKit, WebKit, libobjc, …): the functions and
//!   statics declared in `extern` blocks by the crates that bind them (the
//!   objc2 framework crates, tao's and wry's own bindings, libc's iconv
//!   block), at the locked versions and with the features this build enables.
//!   Those crates are what every Mac user of cpal, coreaudio-rs and Tauri links
//!   against Apple's real SDK, so a name they declare is a name the framework
//!   exports (or their users' links would fail on a Mac).
//!
//! `scripts/macos/stubs.toml` says which crates bind which library. A block
//! with its own `#[link(name = …)]` (also inside `cfg_attr`) goes to that
//! library; a block without one goes to the library its crate is listed under.
//! `cfg`s on modules, blocks and items are evaluated for the Apple target and
//! the crate's enabled features (from `cargo metadata`'s resolve).
//!
//! What this cannot know: the OS version that introduced a symbol (the
//! generated bindings carry no availability). The minimum macOS is recorded in
//! `LC_BUILD_VERSION`; the crates mark newer APIs and call them only after a
//! runtime version check (docs/macos-build.md).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail, ensure};
use serde::Deserialize;
use syn::visit::Visit;

use crate::{LINKER_SYNTHESIZED, TbdLibrary, parse_tbd};

/// `scripts/macos/stubs.toml`: the libraries the Rust executables may link.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StubConfig {
    /// One entry per library (framework or dylib).
    pub library: Vec<StubLibrary>,
}

/// How a library is named on the link line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StubKind {
    /// `-framework NAME` (`System/Library/Frameworks/NAME.framework/NAME.tbd`).
    Framework,
    /// `-lNAME` (`usr/lib/libNAME.tbd`).
    Dylib,
}

/// One library of [`StubConfig`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StubLibrary {
    /// The link name: `CoreAudio` for `-framework CoreAudio`, `objc` for `-lobjc`.
    pub name: String,
    /// Framework or dylib.
    pub kind: StubKind,
    /// The install name dyld loads (`/System/Library/Frameworks/X.framework/Versions/A/X`).
    /// Not needed with `sdk-tbd` (the SDK file has it).
    #[serde(default)]
    pub install_name: Option<String>,
    /// Crates (by package name, every locked version) whose extern blocks declare it.
    #[serde(default)]
    pub crates: Vec<String>,
    /// A `.tbd` taken whole from the SDK, relative to zig's `lib` directory.
    #[serde(default)]
    pub sdk_tbd: Option<String>,
    /// Crates that declare several libraries' functions (libc, tao): only
    /// their blocks whose own `#[link(name)]` is this library count.
    #[serde(default)]
    pub linked_crates: Vec<String>,
    /// Macros (by last path segment) whose bodies are `extern` items of the
    /// crate's default library, as objc2's `extern_c!`/`extern_c_unwind!`.
    #[serde(default)]
    pub extern_macros: Vec<String>,
    /// Symbols no Rust crate declares but C/Objective-C code in the build
    /// references through the compiler (each with its source in `why`).
    #[serde(default)]
    pub extra_symbols: Vec<String>,
    /// More `-l` names that resolve to the same stub (`c`, `m` for libSystem).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Why this library is linked and where its install name comes from.
    #[serde(default)]
    pub why: String,
}

impl StubConfig {
    /// Reads and checks `stubs.toml`.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let config: StubConfig = toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        let mut names = BTreeSet::new();
        for lib in &config.library {
            ensure!(names.insert(lib.name.clone()), "{}: library {} listed twice", path.display(), lib.name);
            ensure!(
                lib.sdk_tbd.is_some() != lib.install_name.is_some(),
                "{}: library {} needs exactly one of install-name and sdk-tbd",
                path.display(),
                lib.name
            );
            ensure!(
                lib.sdk_tbd.is_some() || !lib.crates.is_empty() || !lib.linked_crates.is_empty(),
                "{}: library {} has no crates to take its symbols from",
                path.display(),
                lib.name
            );
        }
        Ok(config)
    }
}

/// The Apple targets, as (Rust target triple, Mach-O arch, tbd target).
pub const APPLE_TARGETS: [(&str, &str, &str); 2] =
    [("aarch64-apple-darwin", "arm64", "arm64-macos"), ("x86_64-apple-darwin", "x86_64", "x86_64-macos")];

/// One package of the build graph: where its source is and which features are on.
#[derive(Debug, Clone)]
pub struct Package {
    /// The package name (`objc2-app-kit`).
    pub name: String,
    /// Its version (`0.3.2`).
    pub version: String,
    /// The directory holding its Cargo.toml.
    pub dir: PathBuf,
    /// Features enabled in this build (the resolve's unified set).
    pub features: BTreeSet<String>,
}

/// Reads `cargo metadata --format-version 1 --filter-platform TARGET` JSON:
/// the packages in the resolve, with their enabled features.
pub fn packages_from_metadata(json: &str) -> Result<Vec<Package>> {
    let v: serde_json::Value = serde_json::from_str(json).context("parsing cargo metadata JSON")?;
    let mut features: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let nodes = v["resolve"]["nodes"].as_array().ok_or_else(|| anyhow!("cargo metadata has no resolve"))?;
    for node in nodes {
        let id = node["id"].as_str().ok_or_else(|| anyhow!("resolve node without id"))?;
        let f = node["features"].as_array().map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect());
        features.insert(id, f.unwrap_or_default());
    }
    let mut out = Vec::new();
    for p in v["packages"].as_array().ok_or_else(|| anyhow!("cargo metadata has no packages"))? {
        let id = p["id"].as_str().unwrap_or_default();
        let Some(f) = features.get(id) else { continue };
        let manifest = p["manifest_path"].as_str().ok_or_else(|| anyhow!("package without manifest_path"))?;
        out.push(Package {
            name: p["name"].as_str().unwrap_or_default().to_owned(),
            version: p["version"].as_str().unwrap_or_default().to_owned(),
            dir: Path::new(manifest).parent().map(Path::to_path_buf).unwrap_or_default(),
            features: f.clone(),
        });
    }
    Ok(out)
}

/// What a crate's sources declare: link name → symbols (with the Mach-O
/// leading underscore). Blocks without a `#[link]` are under `""`.
pub type Declared = BTreeMap<String, BTreeSet<String>>;

/// Evaluates a `cfg` predicate for a macOS target of `arch` (`aarch64`,
/// `x86_64`) with `features` enabled. Unknown keys are false (as for rustc
/// when they are unset).
pub fn cfg_true(meta: &syn::Meta, arch: &str, features: &BTreeSet<String>) -> bool {
    match meta {
        syn::Meta::Path(p) => {
            let name = p.get_ident().map(|i| i.to_string()).unwrap_or_default();
            name == "unix"
        }
        syn::Meta::NameValue(nv) => {
            let key = nv.path.get_ident().map(|i| i.to_string()).unwrap_or_default();
            let value = match &nv.value {
                syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => s.value(),
                _ => return false,
            };
            match key.as_str() {
                "feature" => features.contains(&value),
                "target_os" => value == "macos",
                "target_vendor" => value == "apple",
                "target_family" => value == "unix",
                "target_arch" => value == arch,
                "target_pointer_width" => value == "64",
                "target_endian" => value == "little",
                "target_env" => value.is_empty(),
                "target_abi" => value.is_empty(),
                "panic" => value == "unwind",
                _ => false,
            }
        }
        syn::Meta::List(list) => {
            let op = list.path.get_ident().map(|i| i.to_string()).unwrap_or_default();
            let args = list
                .parse_args_with(syn::punctuated::Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated)
                .map(|p| p.into_iter().collect::<Vec<_>>())
                .unwrap_or_default();
            match op.as_str() {
                "all" => args.iter().all(|m| cfg_true(m, arch, features)),
                "any" => args.iter().any(|m| cfg_true(m, arch, features)),
                "not" => args.first().is_some_and(|m| !cfg_true(m, arch, features)),
                _ => false,
            }
        }
    }
}

/// The attributes in effect after `cfg_attr` expansion (only `cfg`, `link`
/// and `link_name` matter here), and whether every `cfg` holds.
fn effective_attrs(attrs: &[syn::Attribute], arch: &str, features: &BTreeSet<String>) -> (bool, Vec<syn::Meta>) {
    let mut active = true;
    let mut out = Vec::new();
    let mut queue: Vec<syn::Meta> = attrs.iter().map(|a| a.meta.clone()).collect();
    while let Some(meta) = queue.pop() {
        let name = meta.path().get_ident().map(|i| i.to_string()).unwrap_or_default();
        match (name.as_str(), &meta) {
            ("cfg", syn::Meta::List(list)) => {
                if let Ok(pred) = list.parse_args::<syn::Meta>() {
                    active &= cfg_true(&pred, arch, features);
                }
            }
            ("cfg_attr", syn::Meta::List(list)) => {
                let args = list
                    .parse_args_with(syn::punctuated::Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated)
                    .map(|p| p.into_iter().collect::<Vec<_>>())
                    .unwrap_or_default();
                if let Some((pred, rest)) = args.split_first()
                    && cfg_true(pred, arch, features)
                {
                    queue.extend(rest.iter().cloned());
                }
            }
            ("link" | "link_name", _) => out.push(meta),
            _ => {}
        }
    }
    (active, out)
}

/// `#[link(name = "X", ...)]` → `X`.
fn link_name_of(meta: &syn::Meta) -> Option<String> {
    let syn::Meta::List(list) = meta else { return None };
    if !list.path.is_ident("link") {
        return None;
    }
    let args = list.parse_args_with(syn::punctuated::Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated).ok()?;
    args.into_iter().find_map(|m| match m {
        syn::Meta::NameValue(nv) if nv.path.is_ident("name") => match nv.value {
            syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => Some(s.value()),
            _ => None,
        },
        _ => None,
    })
}

struct DeclVisitor<'a> {
    arch: &'a str,
    features: &'a BTreeSet<String>,
    extern_macros: &'a [String],
    declared: Declared,
}

impl DeclVisitor<'_> {
    fn active(&self, attrs: &[syn::Attribute]) -> bool {
        effective_attrs(attrs, self.arch, self.features).0
    }
}

impl<'ast> Visit<'ast> for DeclVisitor<'_> {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let attrs: &[syn::Attribute] = match item {
            syn::Item::Mod(m) => &m.attrs,
            syn::Item::Fn(f) => &f.attrs,
            syn::Item::Impl(i) => &i.attrs,
            syn::Item::Const(c) => &c.attrs,
            syn::Item::Static(s) => &s.attrs,
            syn::Item::Trait(t) => &t.attrs,
            _ => &[],
        };
        if self.active(attrs) {
            syn::visit::visit_item(self, item);
        }
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        if self.active(&f.attrs) {
            syn::visit::visit_impl_item_fn(self, f);
        }
    }

    fn visit_item_macro(&mut self, m: &'ast syn::ItemMacro) {
        let name = m.mac.path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default();
        if !self.extern_macros.contains(&name) || !self.active(&m.attrs) {
            return;
        }
        let parser = |input: syn::parse::ParseStream<'_>| {
            let mut items = Vec::new();
            while !input.is_empty() {
                items.push(input.parse::<syn::ForeignItem>()?);
            }
            Ok(items)
        };
        if let Ok(items) = syn::parse::Parser::parse2(parser, m.mac.tokens.clone()) {
            self.declare(String::new(), &items);
        }
    }

    fn visit_item_foreign_mod(&mut self, block: &'ast syn::ItemForeignMod) {
        let (active, attrs) = effective_attrs(&block.attrs, self.arch, self.features);
        if !active {
            return;
        }
        let links: Vec<String> = attrs.iter().filter_map(link_name_of).collect();
        let key = links.first().cloned().unwrap_or_default();
        self.declare(key, &block.items);
    }
}

impl DeclVisitor<'_> {
    fn declare(&mut self, key: String, items: &[syn::ForeignItem]) {
        for item in items {
            let (attrs, ident) = match item {
                syn::ForeignItem::Fn(f) => (&f.attrs, &f.sig.ident),
                syn::ForeignItem::Static(s) => (&s.attrs, &s.ident),
                _ => continue,
            };
            let (active, item_attrs) = effective_attrs(attrs, self.arch, self.features);
            if !active {
                continue;
            }
            let name = item_attrs
                .iter()
                .find_map(|m| match m {
                    syn::Meta::NameValue(nv) if nv.path.is_ident("link_name") => match &nv.value {
                        syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => Some(s.value()),
                        _ => None,
                    },
                    _ => None,
                })
                .unwrap_or_else(|| ident.to_string());
            self.declared.entry(key.clone()).or_default().insert(format!("_{name}"));
        }
    }
}

/// Every function and static declared in `extern` blocks of the Rust files
/// under `dir` (recursively), for a macOS target of `arch` (`aarch64`,
/// `x86_64`) with `features` on. A file that does not parse is an error.
/// Items in macros named in `extern_macros` count as an unlinked block.
pub fn declared_in_sources(
    dir: &Path,
    arch: &str,
    features: &BTreeSet<String>,
    extern_macros: &[String],
) -> Result<Declared> {
    let mut visitor = DeclVisitor { arch, features, extern_macros, declared: Declared::new() };
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&d)
            .with_context(|| format!("reading {}", d.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
                let file = syn::parse_file(&text).with_context(|| format!("parsing {}", path.display()))?;
                visitor.visit_file(&file);
            }
        }
    }
    Ok(visitor.declared)
}

/// Symbols per tbd target (`arm64-macos`) for one library.
pub type TargetSymbols = BTreeMap<String, BTreeSet<String>>;

/// The symbols each crate-derived library of `config` gets, per tbd target:
/// for every package named in a library's `crates`, its extern blocks with no
/// `#[link]` plus blocks anywhere in those crates whose `#[link(name)]` is the
/// library. `packages_for(rust_target)` gives the build graph of that target.
pub fn collect_symbols(
    config: &StubConfig,
    packages_for: impl Fn(&str) -> Result<Vec<Package>>,
) -> Result<BTreeMap<String, TargetSymbols>> {
    let mut out: BTreeMap<String, TargetSymbols> = BTreeMap::new();
    for (rust_target, _, tbd_target) in APPLE_TARGETS {
        let arch = rust_target.split('-').next().unwrap_or_default();
        let packages = packages_for(rust_target)?;
        for lib in config.library.iter().filter(|l| l.sdk_tbd.is_none()) {
            let syms = out.entry(lib.name.clone()).or_default().entry(tbd_target.to_owned()).or_default();
            let mut found_crate = false;
            for pkg in &packages {
                let default = lib.crates.contains(&pkg.name);
                if !default && !lib.linked_crates.contains(&pkg.name) {
                    continue;
                }
                found_crate = true;
                let declared = declared_in_sources(&pkg.dir.join("src"), arch, &pkg.features, &lib.extern_macros)
                    .with_context(|| format!("{} {}", pkg.name, pkg.version))?;
                for (link, names) in declared {
                    // A block bound to another library (known or not) stays
                    // out of this stub, so a call to it fails the link unless
                    // that library's stub has it.
                    if link == lib.name || (link.is_empty() && default) {
                        syms.extend(names);
                    }
                }
            }
            syms.extend(lib.extra_symbols.iter().cloned());
            ensure!(
                found_crate,
                "library {}: none of its crates ({}) is in the {rust_target} build graph",
                lib.name,
                lib.crates.iter().chain(&lib.linked_crates).cloned().collect::<Vec<_>>().join(", ")
            );
        }
    }
    Ok(out)
}

/// Renders a TAPI v4 `.tbd` with one `exports` entry per distinct symbol set.
pub fn render_tbd(install_name: &str, per_target: &TargetSymbols, why: &str) -> String {
    let mut s = String::from("--- !tapi-tbd\n");
    s.push_str("# Generated by `gecko-macos-bundle stubs` (scripts/build-macos-rust.sh) from the\n");
    s.push_str("# extern declarations of the crates that bind this library; see\n");
    s.push_str("# scripts/macos/stubs.toml and docs/macos-build.md.\n");
    for line in why.lines() {
        s.push_str(&format!("# {line}\n"));
    }
    let targets: Vec<&str> = per_target.keys().map(String::as_str).collect();
    s.push_str("tbd-version:     4\n");
    s.push_str(&format!("targets:         [ {} ]\n", targets.join(", ")));
    s.push_str(&format!("install-name:    '{install_name}'\n"));
    // dyld refuses a library whose compatibility version is below the one
    // recorded at link time; 1.0 is below every real one.
    s.push_str("current-version: 1\ncompatibility-version: 1\n");
    // Group targets with identical symbol sets.
    let mut groups: Vec<(Vec<&str>, &BTreeSet<String>)> = Vec::new();
    for (t, syms) in per_target {
        match groups.iter_mut().find(|(_, s)| *s == syms) {
            Some((ts, _)) => ts.push(t),
            None => groups.push((vec![t], syms)),
        }
    }
    let groups: Vec<_> = groups.into_iter().filter(|(_, syms)| !syms.is_empty()).collect();
    if !groups.is_empty() {
        s.push_str("exports:\n");
        for (ts, syms) in groups {
            s.push_str(&format!("  - targets:         [ {} ]\n", ts.join(", ")));
            let quoted: Vec<String> = syms.iter().map(|n| format!("'{n}'")).collect();
            s.push_str(&format!("    symbols:         [ {} ]\n", quoted.join(",\n                       ")));
        }
    }
    s.push_str("...\n");
    s
}

/// Where a library's stub goes in the stub SDK (`-syslibroot`).
pub fn stub_path(sdk: &Path, kind: StubKind, name: &str) -> PathBuf {
    match kind {
        StubKind::Framework => sdk.join(format!("System/Library/Frameworks/{name}.framework/{name}.tbd")),
        StubKind::Dylib => sdk.join(format!("usr/lib/lib{name}.tbd")),
    }
}

/// Writes the stub SDK under `sdk`: every library of `config`, from the SDK
/// tbd under `zig_lib` or from `symbols` ([`collect_symbols`]). Returns the
/// files written.
pub fn write_stub_sdk(
    config: &StubConfig,
    symbols: &BTreeMap<String, TargetSymbols>,
    zig_lib: &Path,
    sdk: &Path,
) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for lib in &config.library {
        let text = match (&lib.sdk_tbd, &lib.install_name) {
            (Some(rel), _) => {
                let src = zig_lib.join(rel);
                std::fs::read_to_string(&src).with_context(|| format!("reading the SDK stub {}", src.display()))?
            }
            (None, Some(install)) => {
                let per_target = symbols.get(&lib.name).cloned().unwrap_or_default();
                render_tbd(install, &per_target, &lib.why)
            }
            (None, None) => bail!("library {}: no install-name", lib.name),
        };
        for name in std::iter::once(&lib.name).chain(&lib.aliases) {
            let path = stub_path(sdk, lib.kind, name);
            std::fs::create_dir_all(path.parent().unwrap_or(sdk))?;
            std::fs::write(&path, &text).with_context(|| format!("writing {}", path.display()))?;
            written.push(path);
        }
    }
    Ok(written)
}

// ---------------------------------------------------------------------------
// Checking a linked Mach-O

/// One architecture slice of a linked executable, as the check saw it.
#[derive(Debug, Clone, Default)]
pub struct SliceReport {
    /// `arm64` or `x86_64`.
    pub arch: String,
    /// Minimum macOS from `LC_BUILD_VERSION` (`12.0`).
    pub min_macos: String,
    /// Dylibs in `LC_LOAD_DYLIB` order (install names).
    pub dylibs: Vec<String>,
    /// Import count per install name.
    pub imports: BTreeMap<String, usize>,
}

/// Install name → exported symbols per tbd target, from every `.tbd` in the stub SDK.
pub fn read_stub_sdk(sdk: &Path) -> Result<BTreeMap<String, TbdLibrary>> {
    let mut libs: BTreeMap<String, TbdLibrary> = BTreeMap::new();
    let mut stack = vec![sdk.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))? {
            let path = e?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "tbd") {
                let text = std::fs::read_to_string(&path)?;
                let docs = parse_tbd(&text).with_context(|| format!("parsing {}", path.display()))?;
                // The first document is the library itself; later ones are the
                // libraries it re-exports, whose symbols it makes visible.
                let Some(first) = docs.first() else { continue };
                let lib = libs
                    .entry(first.install_name.clone())
                    .or_insert_with(|| TbdLibrary { install_name: first.install_name.clone(), exports: Vec::new() });
                if lib.exports.is_empty() {
                    for doc in &docs {
                        lib.exports.extend(doc.exports.iter().cloned());
                    }
                }
            }
        }
    }
    Ok(libs)
}

/// Checks every slice of a (possibly universal) Mach-O executable: two-level
/// namespace (`MH_TWOLEVEL`), no flat or dynamic lookup, every dylib it loads
/// is one of the stubs, every import is exported by the stub of the dylib it
/// is bound to for that slice's architecture, and `LC_BUILD_VERSION`'s minimum
/// is `min_macos`. Returns a report per slice, or an error listing every problem.
pub fn check_macho(data: &[u8], stubs: &BTreeMap<String, TbdLibrary>, min_macos: &str) -> Result<Vec<SliceReport>> {
    use object::read::macho::{FatArch, MachOFatFile32};
    let mut slices = Vec::new();
    if let Ok(fat) = MachOFatFile32::parse(data) {
        for arch in fat.arches() {
            slices.push(arch.data(data).context("a universal slice")?);
        }
    } else {
        slices.push(data);
    }
    let mut reports = Vec::new();
    let mut problems = Vec::new();
    for slice in slices {
        let report = check_slice(slice, stubs, min_macos, &mut problems)?;
        reports.push(report);
    }
    if !problems.is_empty() {
        bail!("{} problem(s):\n  {}", problems.len(), problems.join("\n  "));
    }
    Ok(reports)
}

fn check_slice(
    data: &[u8],
    stubs: &BTreeMap<String, TbdLibrary>,
    min_macos: &str,
    problems: &mut Vec<String>,
) -> Result<SliceReport> {
    use object::macho;
    use object::macho::MachHeader64;
    use object::read::macho::{MachHeader, Nlist};
    let header = MachHeader64::<object::Endianness>::parse(data, 0).context("not a 64-bit Mach-O")?;
    let endian = header.endian()?;
    let arch = match header.cputype(endian) {
        macho::CPU_TYPE_ARM64 => "arm64",
        macho::CPU_TYPE_X86_64 => "x86_64",
        other => bail!("unexpected CPU type {other:#x}"),
    };
    let target = crate::tbd_target(arch)?;
    let mut report = SliceReport { arch: arch.to_owned(), ..SliceReport::default() };
    if header.flags(endian) & macho::MH_TWOLEVEL == 0 {
        problems.push(format!("{arch}: not linked two-level (flat namespace)"));
    }
    let mut commands = header.load_commands(endian, data, 0)?;
    let mut symtab = None;
    let mut dysymtab = None;
    while let Some(cmd) = commands.next()? {
        if let Some(d) = cmd.dylib()? {
            report.dylibs.push(String::from_utf8_lossy(cmd.string(endian, d.dylib.name)?).into_owned());
        } else if let Some(s) = cmd.symtab()? {
            symtab = Some(s);
        } else if let Some(d) = cmd.dysymtab()? {
            dysymtab = Some(d);
        } else if let Some(bv) = cmd.build_version()? {
            let v = bv.minos.get(endian);
            report.min_macos = format!("{}.{}", v >> 16, (v >> 8) & 0xff);
            if v & 0xff != 0 {
                report.min_macos.push_str(&format!(".{}", v & 0xff));
            }
            if bv.platform.get(endian) != macho::PLATFORM_MACOS {
                problems.push(format!("{arch}: LC_BUILD_VERSION platform is not macOS"));
            }
        }
    }
    if report.min_macos != min_macos {
        problems.push(format!("{arch}: minimum macOS is {:?}, expected {min_macos}", report.min_macos));
    }
    for d in &report.dylibs {
        if !stubs.contains_key(d) {
            problems.push(format!("{arch}: loads {d}, which no stub describes"));
        }
    }
    let (Some(symtab), Some(dysymtab)) = (symtab, dysymtab) else {
        bail!("{arch}: no LC_SYMTAB/LC_DYSYMTAB");
    };
    let table = symtab.symbols::<MachHeader64<object::Endianness>, _>(endian, data)?;
    let first = dysymtab.iundefsym.get(endian) as usize;
    let count = dysymtab.nundefsym.get(endian) as usize;
    let mut by_lib: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for i in first..first + count {
        let sym = table.symbol(object::SymbolIndex(i))?;
        let name = String::from_utf8_lossy(sym.name(endian, table.strings())?).into_owned();
        if LINKER_SYNTHESIZED.contains(&name.as_str()) {
            continue;
        }
        let ordinal = sym.library_ordinal(endian);
        let lib = match ordinal {
            0 => {
                problems.push(format!("{arch}: {name} is bound to the image itself (ordinal 0)"));
                continue;
            }
            0xfe => {
                problems.push(format!("{arch}: {name} is looked up dynamically (flat namespace / dynamic_lookup)"));
                continue;
            }
            0xff => {
                problems.push(format!("{arch}: {name} is bound to the main executable"));
                continue;
            }
            n => match report.dylibs.get(n as usize - 1) {
                Some(lib) => lib.clone(),
                None => {
                    problems.push(format!(
                        "{arch}: {name} has library ordinal {n} past the {} dylibs",
                        report.dylibs.len()
                    ));
                    continue;
                }
            },
        };
        by_lib.entry(lib).or_default().insert(name);
    }
    for (lib, names) in &by_lib {
        report.imports.insert(lib.clone(), names.len());
        let Some(stub) = stubs.get(lib) else { continue };
        let exported = stub.symbols_for(target);
        let missing: Vec<&str> = names.iter().filter(|n| !exported.contains(*n)).map(String::as_str).collect();
        if !missing.is_empty() {
            problems.push(format!("{arch}: {lib} does not export {}", missing.join(", ")));
        }
    }
    Ok(report)
}
