//! `gecko-macos-bundle`: the steps of scripts/build-macos-driver.sh that are not
//! compiling and linking. See docs/macos-build.md.
//!
//!   gecko-macos-bundle info-plist --template driver/Info.plist --out X/Contents/Info.plist
//!   gecko-macos-bundle check-imports --arch arm64 --tbd libSystem.tbd --tbd CoreFoundation.tbd OBJ...
//!   gecko-macos-bundle stubs --config scripts/macos/stubs.toml --manifest-path Cargo.toml --zig-lib DIR --out SDK
//!   gecko-macos-bundle check-macho --sdk SDK [--min-macos 12.0] MACHO...
//!   gecko-macos-bundle app --out Gecko.app --app-exe A --gecko-exe G --driver D --icon PNG... --info-template P
//!   gecko-macos-bundle sign BUNDLE                       (ad hoc)
//!   gecko-macos-bundle sign BUNDLE --p12 F --p12-password-env VAR   (Developer ID, hardened runtime)
//!   gecko-macos-bundle sign BUNDLE --pem-env VAR | --pem-file F     (same, PEM cert + key)
//!   gecko-macos-bundle verify BUNDLE

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use gecko_macos_bundle as gmb;

#[derive(Parser)]
#[command(about = "Info.plist, import check and code signing for GeckoAudioDevice.driver (macOS)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Writes Contents/Info.plist from the template with the workspace version.
    InfoPlist {
        #[arg(long)]
        template: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// Defaults to the workspace version this tool was built with.
        #[arg(long, default_value = gmb::WORKSPACE_VERSION)]
        version: String,
        #[arg(long, default_value = "12.0")]
        min_macos: String,
    },
    /// Fails, naming them, if the objects import symbols no .tbd stub lists.
    CheckImports {
        #[arg(long)]
        arch: String,
        #[arg(long = "tbd", required = true)]
        tbds: Vec<PathBuf>,
        #[arg(required = true)]
        objects: Vec<PathBuf>,
    },
    /// Writes the stub SDK (`-syslibroot`) the Rust executables link against:
    /// libSystem from the macOS SDK's tbd (zig's copy), every other library from
    /// the extern declarations of the crates that bind it (scripts/macos/stubs.toml).
    Stubs {
        /// scripts/macos/stubs.toml
        #[arg(long)]
        config: PathBuf,
        /// The workspace's Cargo.toml (its build graph is read with `cargo metadata`).
        #[arg(long)]
        manifest_path: PathBuf,
        /// zig's `lib` directory (PyPI ziglang), holding libc/darwin/libSystem.tbd.
        #[arg(long)]
        zig_lib: PathBuf,
        /// The stub SDK directory to (re)create.
        #[arg(long)]
        out: PathBuf,
    },
    /// Puts Gecko.app together (unsigned) from the cross-built executables.
    App {
        /// The bundle to write (replaced if present), e.g. target/macos/Gecko.app.
        #[arg(long)]
        out: PathBuf,
        /// The universal tray-app executable.
        #[arg(long)]
        app_exe: PathBuf,
        /// The universal gecko executable.
        #[arg(long)]
        gecko_exe: PathBuf,
        /// The built GeckoAudioDevice.driver.
        #[arg(long)]
        driver: PathBuf,
        /// Square PNG icons (repeat): 32, 128, 256, 512 or 1024 px.
        #[arg(long = "icon", required = true)]
        icons: Vec<PathBuf>,
        /// The app's Info.plist keys (app/src-tauri/Info.plist).
        #[arg(long)]
        info_template: PathBuf,
        #[arg(long, default_value = gmb::WORKSPACE_VERSION)]
        version: String,
        #[arg(long, default_value = "12.0")]
        min_macos: String,
    },
    /// Checks linked Mach-O executables (thin or universal): two-level namespace,
    /// no dynamic lookup, every import exported by the stub of the dylib it binds
    /// to, and LC_BUILD_VERSION's minimum macOS.
    CheckMacho {
        /// The stub SDK the executables were linked against.
        #[arg(long)]
        sdk: PathBuf,
        /// The minimum macOS every slice must record.
        #[arg(long, default_value = "12.0")]
        min_macos: String,
        #[arg(required = true)]
        binaries: Vec<PathBuf>,
    },
    /// Signs the bundle in place (ad hoc unless a certificate is given).
    Sign {
        bundle: PathBuf,
        /// PKCS#12 file with the Developer ID Application certificate and key.
        #[arg(long)]
        p12: Option<PathBuf>,
        /// Environment variable holding the .p12 password (never on the command line).
        #[arg(long, requires = "p12")]
        p12_password_env: Option<String>,
        /// PEM file with CERTIFICATE and PRIVATE KEY blocks.
        #[arg(long, conflicts_with = "p12")]
        pem_file: Option<PathBuf>,
        /// Environment variable holding PEM text (CERTIFICATE and PRIVATE KEY blocks).
        #[arg(long, conflicts_with_all = ["p12", "pem_file"])]
        pem_env: Option<String>,
        /// Time-stamp server for certificate signatures, or "none".
        /// Notarization requires a secure time-stamp (Apple's server, reached over the network).
        #[arg(long, default_value = "http://timestamp.apple.com/ts01")]
        timestamp_url: String,
        /// Hardened runtime: on by default with a certificate, off for ad hoc.
        #[arg(long)]
        hardened_runtime: Option<bool>,
    },
    /// Verifies the bundle's signature (every slice).
    Verify { bundle: PathBuf },
}

fn run() -> Result<()> {
    match Cli::parse().command {
        Command::InfoPlist { template, out, version, min_macos } => {
            let xml = gmb::render_info_plist(&template, &version, &min_macos)?;
            std::fs::write(&out, xml).with_context(|| format!("writing {}", out.display()))?;
        }
        Command::CheckImports { arch, tbds, objects } => {
            let target = gmb::tbd_target(&arch)?;
            let libs = gmb::read_tbds(&tbds)?;
            let imports = gmb::imports_of_objects(&objects)?;
            let provided = gmb::check_imports(&imports, &libs, target)?;
            let mut unused = Vec::new();
            for lib in &libs {
                for sym in lib.symbols_for(target) {
                    if !provided.contains_key(&sym) {
                        unused.push(sym);
                    }
                }
            }
            if !unused.is_empty() {
                eprintln!("note: stub symbols the driver no longer uses ({arch}): {}", unused.join(", "));
            }
            eprintln!("{arch}: {} imports, all listed in the stubs", provided.len());
        }
        Command::Stubs { config, manifest_path, zig_lib, out } => {
            let config = gmb::stubs::StubConfig::load(&config)?;
            let symbols = gmb::stubs::collect_symbols(&config, |target| {
                let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
                let output = std::process::Command::new(cargo)
                    .args(["metadata", "--format-version", "1", "--locked", "--filter-platform", target])
                    .arg("--manifest-path")
                    .arg(&manifest_path)
                    .output()
                    .context("running cargo metadata")?;
                if !output.status.success() {
                    bail!("cargo metadata failed: {}", String::from_utf8_lossy(&output.stderr));
                }
                gmb::stubs::packages_from_metadata(&String::from_utf8_lossy(&output.stdout))
            })?;
            if out.exists() {
                std::fs::remove_dir_all(&out).with_context(|| format!("removing {}", out.display()))?;
            }
            let written = gmb::stubs::write_stub_sdk(&config, &symbols, &zig_lib, &out)?;
            for (lib, per_target) in &symbols {
                let counts: Vec<String> = per_target.iter().map(|(t, s)| format!("{t} {}", s.len())).collect();
                eprintln!("  {lib}: {}", counts.join(", "));
            }
            eprintln!("wrote {} stubs under {}", written.len(), out.display());
        }
        Command::App { out, app_exe, gecko_exe, driver, icons, info_template, version, min_macos } => {
            let inputs = gmb::app::AppInputs { app_exe, gecko_exe, driver, icons, info_template, version, min_macos };
            gmb::app::build_app_bundle(&inputs, &out)?;
            eprintln!("wrote {}", out.display());
        }
        Command::CheckMacho { sdk, min_macos, binaries } => {
            let stubs = gmb::stubs::read_stub_sdk(&sdk)?;
            let mut failed = false;
            for bin in &binaries {
                let data = std::fs::read(bin).with_context(|| format!("reading {}", bin.display()))?;
                match gmb::stubs::check_macho(&data, &stubs, &min_macos) {
                    Ok(reports) => {
                        for r in reports {
                            let total: usize = r.imports.values().sum();
                            let libs: Vec<String> = r
                                .imports
                                .iter()
                                .map(|(l, n)| format!("{} {n}", l.rsplit('/').next().unwrap_or(l)))
                                .collect();
                            println!(
                                "{} [{}]: macOS {}+, {total} imports, all in the stubs ({})",
                                bin.display(),
                                r.arch,
                                r.min_macos,
                                libs.join(", ")
                            );
                        }
                    }
                    Err(e) => {
                        eprintln!("error: {}: {e:#}", bin.display());
                        failed = true;
                    }
                }
            }
            if failed {
                bail!("import check failed");
            }
        }
        Command::Sign { bundle, p12, p12_password_env, pem_file, pem_env, timestamp_url, hardened_runtime } => {
            let identity = if let Some(p12) = p12 {
                let password = match p12_password_env {
                    Some(var) => std::env::var(&var).with_context(|| format!("${var} is not set"))?,
                    None => String::new(),
                };
                gmb::Identity::from_p12(&p12, &password)?
            } else if let Some(path) = pem_file {
                gmb::Identity::from_pem(&std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?)?
            } else if let Some(var) = pem_env {
                let text = std::env::var(&var).with_context(|| format!("${var} is not set"))?;
                gmb::Identity::from_pem(text.as_bytes())?
            } else {
                gmb::Identity::AdHoc
            };
            let with_cert = matches!(identity, gmb::Identity::Certificate { .. });
            let hardened = hardened_runtime.unwrap_or(with_cert);
            let timestamp_url = (with_cert && timestamp_url != "none").then_some(timestamp_url);
            gmb::sign_bundle(&bundle, &gmb::SignOptions { identity, hardened_runtime: hardened, timestamp_url })?;
            let info = gmb::verify_bundle(&bundle)?;
            eprintln!(
                "signed {} ({}; hardened runtime {}; {} slices verified)",
                bundle.display(),
                if with_cert { "certificate" } else { "ad hoc" },
                if hardened { "on" } else { "off" },
                info.slice_flags.len()
            );
        }
        Command::Verify { bundle } => {
            let info = gmb::verify_bundle(&bundle)?;
            if info.slice_flags.is_empty() {
                bail!("no slices");
            }
            println!(
                "{}: signature verifies ({} slices; {}; CodeDirectory flags {:x?})",
                bundle.display(),
                info.slice_flags.len(),
                if info.has_cms { "certificate" } else { "ad hoc" },
                info.slice_flags
            );
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
