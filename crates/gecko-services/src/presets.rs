//! The user's preset folder beside the built-in presets: one place for the
//! CLI (`--preset NAME`, `gecko preset list`, `gecko ctl preset NAME`) and the
//! app (the preset picker, "Save as…") to find, load and save presets.
//!
//! A preset is named by a *spec*: a built-in name (`speech`), a user preset's
//! name (`My headphones`, the file `<dir>/My headphones.toml`), or a path to a
//! TOML file. Names are looked up in that order; a spec with a `/` is a path.

use gecko_dsp::{Preset, PresetError};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Longest user preset name, characters.
pub const MAX_NAME_CHARS: usize = 64;

/// Why a preset could not be listed, loaded or saved. Messages name the
/// preset and, for files, the path.
#[derive(Debug, thiserror::Error)]
pub enum PresetStoreError {
    /// The name cannot be a file name in the folder.
    #[error(
        "{0:?} is not a usable preset name: use letters, digits, spaces and - _ . ( ) + , & ' (at most {MAX_NAME_CHARS}, not starting with .)"
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
    /// A device bound to a preset that is not there.
    #[error("cannot bind {device:?} to {preset:?}: {why}")]
    Binding {
        /// The output device.
        device: String,
        /// The preset.
        preset: String,
        /// Why.
        why: String,
    },
    /// The bindings file is not valid TOML of the expected shape.
    #[error("{}: {why} (a table `[bindings]` of \"device\" = \"preset\")", path.display())]
    BadBindings {
        /// The file.
        path: PathBuf,
        /// What the TOML parser said.
        why: String,
    },
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
            && name.chars().all(|c| {
                c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.' | '(' | ')' | '+' | ',' | '&' | '\'')
            })
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
    /// file (the engine only sees the text). A preset without a `name` is
    /// sent under its name in the folder (or its file's stem), which the
    /// engine's status then shows.
    pub fn engine_spec(&self, spec: &str, sample_rate: f64) -> Result<String, PresetStoreError> {
        let loaded = self.load(spec)?;
        match &loaded.source {
            PresetSource::Builtin(name) => Ok(name.clone()),
            PresetSource::User(path) | PresetSource::File(path) => {
                let mut p = Preset::check_file(path, sample_rate)?;
                if p.name.is_none() {
                    p.name = path.file_stem().map(|s| s.to_string_lossy().into_owned());
                }
                Ok(p.to_toml_string())
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
        self.write_atomic(&file, &preset.to_toml_string())?;
        Ok(file)
    }

    fn write_atomic(&self, file: &Path, text: &str) -> Result<(), PresetStoreError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| PresetStoreError::Io { path, source }
        };
        std::fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        let tmp = file.with_extension("tmp");
        std::fs::write(&tmp, text).map_err(io(&tmp))?;
        std::fs::rename(&tmp, file).map_err(io(file))
    }

    // ---- presets per output device ----

    /// The file that binds output devices to presets: `<dir>/bindings.toml`,
    /// a table `[bindings]` of `"device" = "preset"` (the device by its UID
    /// on macOS, by the name `gecko devices` shows on Linux).
    pub fn bindings_path(&self) -> PathBuf {
        self.dir.join("bindings.toml")
    }

    /// Every binding, device → preset, sorted by device. An absent file is none.
    pub fn bindings(&self) -> Result<BTreeMap<String, String>, PresetStoreError> {
        let path = self.bindings_path();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(source) => return Err(PresetStoreError::Io { path, source }),
        };
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct File {
            #[serde(default)]
            bindings: BTreeMap<String, String>,
        }
        toml::from_str::<File>(&text)
            .map(|f| f.bindings)
            .map_err(|e| PresetStoreError::BadBindings { path, why: e.message().to_owned() })
    }

    fn write_bindings(&self, b: &BTreeMap<String, String>) -> Result<(), PresetStoreError> {
        #[derive(serde::Serialize)]
        struct File<'a> {
            bindings: &'a BTreeMap<String, String>,
        }
        let text = toml::to_string(&File { bindings: b })
            .map_err(|e| PresetStoreError::BadBindings { path: self.bindings_path(), why: e.to_string() })?;
        self.write_atomic(&self.bindings_path(), &format!("# Gecko: output device → preset\n{text}"))
    }

    /// Binds `device` to `preset` (which must load: a built-in or one of
    /// the user's, by name). Replaces an earlier binding of the device.
    pub fn bind(&self, device: &str, preset: &str) -> Result<(), PresetStoreError> {
        let refuse = |why: String| PresetStoreError::Binding { device: device.into(), preset: preset.into(), why };
        if device.trim().is_empty() {
            return Err(refuse("the device name is empty".into()));
        }
        if preset.contains('/') {
            return Err(refuse("bind a preset by its name (import or save the file first)".into()));
        }
        self.load(preset).map_err(|e| refuse(e.to_string()))?;
        let mut b = self.bindings()?;
        b.insert(device.to_owned(), preset.to_owned());
        self.write_bindings(&b)
    }

    /// Removes `device`'s binding; whether there was one.
    pub fn unbind(&self, device: &str) -> Result<bool, PresetStoreError> {
        let mut b = self.bindings()?;
        let had = b.remove(device).is_some();
        if had {
            self.write_bindings(&b)?;
        }
        Ok(had)
    }

    /// The preset bound to the output device with stable id `id` or name
    /// `name` (the id wins), if any.
    pub fn bound(&self, id: &str, name: &str) -> Result<Option<String>, PresetStoreError> {
        let b = self.bindings()?;
        Ok(b.get(id).or_else(|| b.get(name)).cloned())
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
    fn devices_bind_to_presets_by_uid_or_name() {
        let dir = tempfile::tempdir().unwrap();
        let store = PresetStore::new(dir.path());
        assert!(store.bindings().unwrap().is_empty());
        store.save("Cans (HD 650)", &Preset::builtin("speech").unwrap()).unwrap();
        store.bind("usb-uid-1", "Cans (HD 650)").unwrap();
        store.bind("MacBook Pro Speakers", "night").unwrap();
        assert_eq!(store.bound("usb-uid-1", "USB DAC").unwrap().as_deref(), Some("Cans (HD 650)"));
        assert_eq!(store.bound("other-uid", "MacBook Pro Speakers").unwrap().as_deref(), Some("night"));
        assert_eq!(store.bound("x", "y").unwrap(), None);
        let e = store.bind("hdmi", "nope").unwrap_err().to_string();
        assert!(e.contains("hdmi") && e.contains("nope") && e.contains("neither a built-in"), "{e}");
        assert!(store.unbind("usb-uid-1").unwrap());
        assert!(!store.unbind("usb-uid-1").unwrap());
        assert_eq!(store.bindings().unwrap().len(), 1);
        std::fs::write(store.bindings_path(), "bindings = 3\n").unwrap();
        let e = store.bindings().unwrap_err().to_string();
        assert!(e.contains("bindings.toml"), "{e}");
    }

    #[test]
    fn refusals_say_why() {
        let dir = tempfile::tempdir().unwrap();
        let store = PresetStore::new(dir.path());
        let p = Preset::default();
        assert!(matches!(store.save("speech", &p), Err(PresetStoreError::Builtin(_))));
        for bad in ["", "../up", "a/b", ".hidden", "tab\there", &"x".repeat(65)] {
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
