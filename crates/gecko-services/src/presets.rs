//! The user's preset folder beside the built-in presets: one place for the
//! CLI (`--preset NAME`, `gecko preset list`, `gecko ctl preset NAME`) and the
//! app (the preset picker, "Save as…") to find, load and save presets.
//!
//! A preset is named by a *spec*: a built-in name (`speech`), a user preset's
//! name (`My headphones`, the file `<dir>/My headphones.toml`), or a path to a
//! TOML file. Names are looked up in that order; a spec with a `/` is a path.

use gecko_dsp::{Preset, PresetError};
use std::path::{Path, PathBuf};

/// Longest user preset name, characters.
pub const MAX_NAME_CHARS: usize = 64;

/// Why a preset could not be listed, loaded or saved. Messages name the
/// preset and, for files, the path.
#[derive(Debug, thiserror::Error)]
pub enum PresetStoreError {
    /// The name cannot be a file name in the folder.
    #[error(
        "{0:?} is not a usable preset name: use letters, digits, spaces, - _ . (at most {MAX_NAME_CHARS}, not starting with .)"
    )]
    InvalidName(String),
    /// Saving under a built-in's name.
    #[error("{0:?} is a built-in preset: choose another name")]
    Builtin(String),
    /// Nothing by that name or path.
    #[error("preset {spec:?} is neither a built-in ({builtins}), nor one of yours in {dir}, nor an existing file")]
    NotFound {
        /// What was asked for.
        spec: String,
        /// The built-in names, comma-separated.
        builtins: String,
        /// The user's preset folder.
        dir: PathBuf,
    },
    /// The file is not a valid preset (the error names the file, the field and why).
    #[error(transparent)]
    Preset(#[from] PresetError),
    /// Reading or writing failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// One preset a picker lists.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PresetEntry {
    /// Its name (a built-in's, or the user file's name without `.toml`).
    pub name: String,
    /// Whether it is built in (read-only).
    pub builtin: bool,
}

/// Where a loaded preset came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PresetSource {
    /// A built-in, by name.
    Builtin(String),
    /// The user's folder.
    User(PathBuf),
    /// A file given by path.
    File(PathBuf),
}

/// A preset and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedPreset {
    /// The preset (not yet validated at a sample rate: see [`Preset::validate`]).
    pub preset: Preset,
    /// Where it came from.
    pub source: PresetSource,
}

/// The user's preset folder (it need not exist until something is saved).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresetStore {
    dir: PathBuf,
}

impl PresetStore {
    /// The store in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> PresetStore {
        PresetStore { dir: dir.into() }
    }

    /// The store in [`crate::locations::presets_dir_from_env`].
    pub fn from_env() -> PresetStore {
        PresetStore::new(crate::locations::presets_dir_from_env())
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of the user preset `name`, after checking that the name is a
    /// plain file name ([`PresetStoreError::InvalidName`] otherwise).
    pub fn path_for(&self, name: &str) -> Result<PathBuf, PresetStoreError> {
        let ok = !name.is_empty()
            && name.chars().count() <= MAX_NAME_CHARS
            && name.chars().all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.'))
            && !name.starts_with('.');
        if !ok {
            return Err(PresetStoreError::InvalidName(name.to_owned()));
        }
        Ok(self.dir.join(format!("{name}.toml")))
    }

    /// The user's preset names, sorted (`*.toml` in the folder; a file named
    /// like a built-in is hidden by the built-in).
    pub fn user_names(&self) -> Vec<String> {
        let mut user: Vec<String> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.path().file_name()?.to_str()?.strip_suffix(".toml").map(str::to_owned))
            .filter(|n| !Preset::builtin_names().contains(&n.as_str()) && self.path_for(n).is_ok())
            .collect();
        user.sort();
        user
    }

    /// The built-ins, then the user's presets.
    pub fn list(&self) -> Vec<PresetEntry> {
        Preset::builtin_names()
            .into_iter()
            .map(|n| PresetEntry { name: n.to_owned(), builtin: true })
            .chain(self.user_names().into_iter().map(|name| PresetEntry { name, builtin: false }))
            .collect()
    }

    /// Loads `spec` (see the module docs): a built-in, a user preset, or a file.
    pub fn load(&self, spec: &str) -> Result<LoadedPreset, PresetStoreError> {
        if Preset::builtin_names().contains(&spec) {
            return Ok(LoadedPreset { preset: Preset::builtin(spec)?, source: PresetSource::Builtin(spec.to_owned()) });
        }
        if !spec.contains('/')
            && let Ok(path) = self.path_for(spec)
            && path.is_file()
        {
            return Ok(LoadedPreset { preset: Preset::load(&path)?, source: PresetSource::User(path) });
        }
        let path = Path::new(spec);
        if path.is_file() {
            return Ok(LoadedPreset { preset: Preset::load(path)?, source: PresetSource::File(path.to_owned()) });
        }
        Err(PresetStoreError::NotFound {
            spec: spec.to_owned(),
            builtins: Preset::builtin_names().join(", "),
            dir: self.dir.clone(),
        })
    }

    /// What a client sends the engine for `spec` (`set_preset`'s
    /// `name_or_toml`): a built-in's name as is; a user preset's or a file's
    /// TOML, checked here at `sample_rate` Hz first so that errors name the
    /// file (the engine only sees the text).
    pub fn engine_spec(&self, spec: &str, sample_rate: f64) -> Result<String, PresetStoreError> {
        let loaded = self.load(spec)?;
        match &loaded.source {
            PresetSource::Builtin(name) => Ok(name.clone()),
            PresetSource::User(path) | PresetSource::File(path) => {
                Preset::check_file(path, sample_rate)?;
                std::fs::read_to_string(path).map_err(|source| PresetStoreError::Io { path: path.clone(), source })
            }
        }
    }

    /// Saves `preset` as the user preset `name` (written whole, then renamed
    /// into place: never half a file); refuses built-in names. Returns the file.
    pub fn save(&self, name: &str, preset: &Preset) -> Result<PathBuf, PresetStoreError> {
        if Preset::builtin_names().contains(&name) {
            return Err(PresetStoreError::Builtin(name.to_owned()));
        }
        let file = self.path_for(name)?;
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| PresetStoreError::Io { path, source }
        };
        std::fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        let tmp = file.with_extension("toml.tmp");
        std::fs::write(&tmp, preset.to_toml_string()).map_err(io(&tmp))?;
        std::fs::rename(&tmp, &file).map_err(io(&file))?;
        Ok(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_ins_then_the_users_by_name_or_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = PresetStore::new(dir.path().join("presets"));
        assert!(store.list().iter().all(|e| e.builtin), "an absent folder lists the built-ins");
        let mut mine = Preset::builtin("speech").unwrap();
        mine.gain_db = -4.0;
        let file = store.save("My phones", &mine).unwrap();
        assert_eq!(file, dir.path().join("presets/My phones.toml"));
        let names: Vec<_> = store.list().into_iter().filter(|e| !e.builtin).map(|e| e.name).collect();
        assert_eq!(names, ["My phones"]);
        let loaded = store.load("My phones").unwrap();
        assert_eq!(loaded.source, PresetSource::User(file.clone()));
        assert_eq!(loaded.preset.gain_db, -4.0);
        // by path too, and a built-in by name
        assert_eq!(store.load(file.to_str().unwrap()).unwrap().source, PresetSource::File(file.clone()));
        assert_eq!(store.load("speech").unwrap().source, PresetSource::Builtin("speech".into()));
        // what the engine is sent: the built-in's name, the user preset's TOML
        assert_eq!(store.engine_spec("speech", 48_000.0).unwrap(), "speech");
        assert!(store.engine_spec("My phones", 48_000.0).unwrap().contains("gain_db = -4"));
    }

    #[test]
    fn refusals_say_why() {
        let dir = tempfile::tempdir().unwrap();
        let store = PresetStore::new(dir.path());
        let p = Preset::default();
        assert!(matches!(store.save("speech", &p), Err(PresetStoreError::Builtin(_))));
        for bad in ["", "../up", "a/b", ".hidden", &"x".repeat(65)] {
            assert!(matches!(store.save(bad, &p), Err(PresetStoreError::InvalidName(_))), "{bad:?}");
        }
        let e = store.load("nope").unwrap_err().to_string();
        assert!(e.contains("nope") && e.contains("speech") && e.contains(&dir.path().display().to_string()), "{e}");
        std::fs::write(dir.path().join("broken.toml"), "gain_db = 99\n").unwrap();
        let e = store.engine_spec("broken", 48_000.0).unwrap_err().to_string();
        assert!(e.contains("broken.toml") && e.contains("gain_db"), "{e}");
        assert!(store.list().iter().any(|e| e.name == "broken"), "listed even when invalid: loading says why");
    }
}
