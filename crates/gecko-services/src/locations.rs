//! Where things are, read from the environment once, with the same
//! defaults for the CLI and the app.

use std::path::PathBuf;

/// Where things are (see [`Locations::from_env`] for each default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locations {
    /// The engine's control socket: `GECKO_CONTROL_SOCKET`, else
    /// [`gecko_control::default_socket_path`].
    pub socket: PathBuf,
    /// The user's presets: `GECKO_PRESETS_DIR`, else
    /// `$XDG_CONFIG_HOME/gecko/presets` (`~/.config/gecko/presets`), on macOS
    /// `~/Library/Application Support/Gecko/Presets`.
    pub presets_dir: PathBuf,
    /// Linux: the simulated system's root, `GECKO_SIM_ROOT`, else
    /// `$XDG_DATA_HOME/gecko/sim-root` (`~/.local/share/gecko/sim-root`).
    /// `None` on macOS, which has a real system.
    pub sim_root: Option<PathBuf>,
    /// The `gecko` executable that runs the engine: `GECKO_BIN`, else next to
    /// this executable, else on `PATH`; `None` if none is found.
    pub gecko_exe: Option<PathBuf>,
}

fn var(k: &str) -> Option<PathBuf> {
    std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from)
}

fn home() -> PathBuf {
    var("HOME").unwrap_or_else(|| PathBuf::from("/tmp"))
}

/// `$VAR`, or `~/fallback` when it is unset or empty (the XDG base-directory rule).
fn xdg(v: &str, fallback: &str) -> PathBuf {
    var(v).unwrap_or_else(|| home().join(fallback))
}

impl Locations {
    /// From the environment (see the fields).
    pub fn from_env() -> Locations {
        Locations {
            socket: var("GECKO_CONTROL_SOCKET").unwrap_or_else(gecko_control::default_socket_path),
            presets_dir: presets_dir_from_env(),
            sim_root: sim_root_from_env(),
            gecko_exe: find_gecko(),
        }
    }
}

/// The user's preset folder (see [`Locations::presets_dir`]).
pub fn presets_dir_from_env() -> PathBuf {
    var("GECKO_PRESETS_DIR").unwrap_or_else(|| {
        if cfg!(target_os = "macos") {
            home().join("Library/Application Support/Gecko/Presets")
        } else {
            xdg("XDG_CONFIG_HOME", ".config").join("gecko/presets")
        }
    })
}

/// The simulated system's root (see [`Locations::sim_root`]).
pub fn sim_root_from_env() -> Option<PathBuf> {
    if cfg!(target_os = "macos") {
        None
    } else {
        Some(var("GECKO_SIM_ROOT").unwrap_or_else(|| xdg("XDG_DATA_HOME", ".local/share").join("gecko/sim-root")))
    }
}

fn find_gecko() -> Option<PathBuf> {
    if let Some(p) = var("GECKO_BIN") {
        return Some(p);
    }
    let sibling = std::env::current_exe().ok()?.with_file_name("gecko");
    if sibling.is_file() {
        return Some(sibling);
    }
    std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join("gecko")).find(|p| p.is_file())
}
