//! `gecko-macos-bundle`: the steps of scripts/build-macos-driver.sh that are not
//! compiling and linking. See docs/macos-build.md.
//!
//!   gecko-macos-bundle info-plist --template driver/Info.plist --out X/Contents/Info.plist
//!   gecko-macos-bundle check-imports --arch arm64 --tbd libSystem.tbd --tbd CoreFoundation.tbd OBJ...
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
