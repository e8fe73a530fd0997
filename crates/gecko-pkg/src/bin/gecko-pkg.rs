//! `gecko-pkg`: build (and sign) Gecko-<version>.pkg. See scripts/build-pkg.sh.

use anyhow::{Context, Result, bail};
use clap::{Parser, ValueEnum};
use std::path::PathBuf;

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq)]
enum Sign {
    /// Unsigned (Installer warns; Gatekeeper refuses a downloaded unsigned pkg).
    None,
    /// A Developer ID Installer certificate, from --p12 or --pem-file/--pem-env.
    DeveloperId,
}

/// Build Gecko-<version>.pkg: the driver into /Library/Audio/Plug-Ins/HAL (and
/// Gecko.app into /Applications), scripts that restart coreaudiod.
#[derive(Parser, Debug)]
#[command(name = "gecko-pkg", version)]
struct Args {
    /// The macOS GeckoAudioDevice.driver (scripts/build-macos-driver.sh).
    #[arg(long, value_name = "DIR")]
    driver: PathBuf,
    /// A macOS-built Gecko.app to install into /Applications.
    #[arg(long, value_name = "DIR")]
    app: Option<PathBuf>,
    /// Output directory.
    #[arg(long, value_name = "DIR", default_value = "target/pkg")]
    out: PathBuf,
    /// Version [default: the workspace version].
    #[arg(long = "pkg-version", value_name = "VERSION", default_value = env!("CARGO_PKG_VERSION"))]
    pkg_version: String,
    /// How to sign.
    #[arg(long, value_enum, default_value = "none")]
    sign: Sign,
    /// PKCS#12 file with the certificate and key.
    #[arg(long, value_name = "FILE")]
    p12: Option<PathBuf>,
    /// Environment variable holding the p12 password.
    #[arg(long, value_name = "VAR", default_value = "P12_PASSWORD")]
    p12_password_env: String,
    /// PEM file with CERTIFICATE and PRIVATE KEY blocks.
    #[arg(long, value_name = "FILE")]
    pem_file: Option<PathBuf>,
    /// Environment variable holding CERTIFICATE and PRIVATE KEY PEM blocks.
    #[arg(long, value_name = "VAR")]
    pem_env: Option<String>,
    /// RFC 3161 time-stamp server (Apple's: http://timestamp.apple.com/ts01); default none (offline).
    #[arg(long, value_name = "URL")]
    timestamp_url: Option<String>,
    /// Accept a Linux (ELF) driver bundle: tests of the pkg only.
    #[arg(long, hide = true)]
    allow_linux_bundle: bool,
}

fn identity(a: &Args) -> Result<gecko_macos_bundle::Identity> {
    use gecko_macos_bundle::Identity;
    match (&a.p12, &a.pem_file, &a.pem_env) {
        (Some(p12), None, None) => {
            let pw = std::env::var(&a.p12_password_env)
                .with_context(|| format!("set ${} to the p12's password", a.p12_password_env))?;
            Identity::from_p12(p12, &pw)
        }
        (None, Some(f), None) => {
            Identity::from_pem(&std::fs::read(f).with_context(|| format!("reading {}", f.display()))?)
        }
        (None, None, Some(var)) => {
            Identity::from_pem(std::env::var(var).with_context(|| format!("${var} is not set"))?.as_bytes())
        }
        _ => bail!("--sign developer-id needs exactly one of --p12, --pem-file, --pem-env"),
    }
}

fn main() -> Result<()> {
    let a = Args::parse();
    let input = gecko_pkg::PkgInput {
        version: a.pkg_version.clone(),
        driver: a.driver.clone(),
        app: a.app.clone(),
        allow_linux_bundle: a.allow_linux_bundle,
    };
    let id = (a.sign == Sign::DeveloperId).then(|| identity(&a)).transpose()?;
    let pkg = gecko_pkg::build_pkg(&input, &a.out)?;
    if let Some(id) = &id {
        gecko_pkg::sign_pkg(&pkg, id, a.timestamp_url.as_deref())?;
    }
    println!("{}", pkg.display());
    Ok(())
}
