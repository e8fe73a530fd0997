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
    /// A file to import is not an EQ file Gecko reads (the error names the line).
    #[error("cannot import {file}: {source}")]
    Import {
        /// The file's name, as the user gave it.
        file: String,
        /// The line and what is wrong with it.
        source: gecko_dsp::import::ImportError,
    },
    /// Importing over a preset of the user's without being asked to replace it.
    #[error("you already have a preset {name:?} ({}): choose another name, or replace it", path.display())]
    Exists {
        /// The preset's name.
        name: String,
        /// Its file.
        path: PathBuf,
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

/// What [`PresetStore::import`] did: the preset written, where, what it
/// holds, and one note per line not imported as written.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ImportOutcome {
    /// The preset's name (in the folder, and as `--preset` takes it).
    pub name: String,
    /// The file written.
    pub path: PathBuf,
    /// Enabled bands that apply to both channels.
    pub bands_both: usize,
    /// Enabled bands for the left channel only.
    pub bands_left: usize,
    /// Enabled bands for the right channel only.
    pub bands_right: usize,
    /// The EQ's preamp, dB.
    pub preamp_db: f64,
    /// Each line ignored, converted or approximated, as `line N: what`.
    pub notes: Vec<String>,
}

impl ImportOutcome {
    /// One line for people: `imported "X" into FILE: B band(s) on both
    /// channels, L left, R right; preamp ±P dB[; N note(s)]`.
    pub fn summary(&self) -> String {
        format!(
            "imported {:?} into {}: {} band(s) on both channels, {} left, {} right; preamp {:+.1} dB{}",
            self.name,
            self.path.display(),
            self.bands_both,
            self.bands_left,
            self.bands_right,
            self.preamp_db,
            match self.notes.len() {
                0 => String::new(),
                1 => "; 1 note".to_owned(),
                n => format!("; {n} notes"),
            }
        )
    }
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

    /// Imports an EQ file's `text` (Equalizer APO / AutoEq `ParametricEQ.txt`
    /// or `GraphicEQ.txt`, or a REW "filter settings as text" export: see
    /// [`gecko_dsp::import`]) as the user preset `name` (default: the one
    /// `file_name` suggests, [`gecko_dsp::import::name_from_file_name`]).
    /// The preset is checked at [`gecko_control::state::VALIDATION_RATE`]
    /// before it is written. An existing preset of the user's by that name is
    /// replaced only when `replace` ([`PresetStoreError::Exists`] otherwise);
    /// a built-in's name is refused. Nothing is written on any error.
    pub fn import(
        &self,
        text: &str,
        file_name: &str,
        name: Option<&str>,
        replace: bool,
    ) -> Result<ImportOutcome, PresetStoreError> {
        let name = match name.map(str::trim).filter(|n| !n.is_empty()) {
            Some(n) => n.to_owned(),
            None => gecko_dsp::import::name_from_file_name(file_name),
        };
        if Preset::builtin_names().contains(&name.as_str()) {
            return Err(PresetStoreError::Builtin(name));
        }
        let path = self.path_for(&name)?;
        let mut imported = gecko_dsp::import::import_str(text, &name)
            .map_err(|source| PresetStoreError::Import { file: file_name.to_owned(), source })?;
        imported.preset.name = Some(name.clone());
        imported.preset.validate(gecko_control::state::VALIDATION_RATE)?;
        if path.exists() && !replace {
            return Err(PresetStoreError::Exists { name, path });
        }
        let path = self.save(&name, &imported.preset)?;
        let eq = &imported.preset.eq;
        let count = |c: gecko_dsp::EqChannel| eq.bands.iter().filter(|b| b.enabled && b.channel == c).count();
        Ok(ImportOutcome {
            bands_both: count(gecko_dsp::EqChannel::All),
            bands_left: count(gecko_dsp::EqChannel::Left),
            bands_right: count(gecko_dsp::EqChannel::Right),
            preamp_db: eq.preamp_db,
            notes: imported.warnings.iter().map(ToString::to_string).collect(),
            name,
            path,
        })
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

    /// The import the CLI and the app share: the name from AutoEq's file
    /// name, the counts per channel, the notes by line, refusals that write
    /// nothing (a bad line, a built-in's name, an existing preset unless
    /// replacing).
    #[test]
    fn import_names_counts_notes_and_refuses_without_writing() {
        let dir = tempfile::tempdir().unwrap();
        let store = PresetStore::new(dir.path().join("presets"));
        let apo = "Preamp: -6.2 dB\nFilter 1: ON LSC Fc 105 Hz Gain 5.5 dB Q 0.70\nChannel: L\n\
                   Filter 2: ON PK Fc 200 Hz Gain -3.0 dB Q 1.41\nChannel: R\nFilter 3: ON PK Fc 3000 Hz Gain 2.0 dB Q 2\n\
                   Channel: ALL\nEqualizer: on\n";
        let o = store.import(apo, "My Phones ParametricEQ.txt", None, false).unwrap();
        assert_eq!(o.name, "My Phones");
        assert_eq!(o.path, dir.path().join("presets/My Phones.toml"));
        assert_eq!((o.bands_both, o.bands_left, o.bands_right), (1, 1, 1));
        assert!((o.preamp_db + 6.2).abs() < 1e-9, "{}", o.preamp_db);
        assert_eq!(o.notes.len(), 1, "{:?}", o.notes);
        assert!(o.notes[0].starts_with("line 8:"), "{:?}", o.notes);
        assert!(o.summary().ends_with("preamp -6.2 dB; 1 note"), "{}", o.summary());
        let loaded = store.load("My Phones").unwrap();
        assert_eq!(loaded.preset.name.as_deref(), Some("My Phones"));
        assert_eq!(loaded.preset.eq.bands.len(), 3);

        // The same name again: refused, the file untouched; replaced when asked.
        let before = std::fs::read_to_string(&o.path).unwrap();
        let flat = "Preamp: -1 dB\n";
        let e = store.import(flat, "My Phones ParametricEQ.txt", None, false).unwrap_err();
        assert!(matches!(&e, PresetStoreError::Exists { name, .. } if name == "My Phones"), "{e}");
        assert_eq!(std::fs::read_to_string(&o.path).unwrap(), before);
        let o2 = store.import(flat, "x.txt", Some("My Phones"), true).unwrap();
        assert_eq!((o2.bands_both, o2.preamp_db), (0, -1.0));

        // A bad line names the line, and nothing is written.
        let e = store.import("Preamp: -3 dB\nFilter 1: ON PK Fc lots Hz Gain 1 dB Q 1\n", "Bad.txt", None, false);
        let e = e.unwrap_err().to_string();
        assert!(e.contains("Bad.txt") && e.contains("line 2"), "{e}");
        assert!(!dir.path().join("presets/Bad.toml").exists());
        // A built-in's name, and a name that cannot be a file, are refused.
        assert!(matches!(store.import(flat, "speech.txt", None, false), Err(PresetStoreError::Builtin(_))));
        assert!(matches!(store.import(flat, "a.txt", Some("../x"), false), Err(PresetStoreError::InvalidName(_))));
        // A name given explicitly wins over the file's; blank is the file's.
        assert_eq!(store.import(flat, "y.txt", Some("  Desk  "), false).unwrap().name, "Desk");
        assert_eq!(store.import(flat, "Z GraphicEQ.txt", Some(" "), false).unwrap().name, "Z");
    }
}
