//! TOML presets: what a person writes to set Gecko's gain, EQ, limiter,
//! output device and target latency, with validation that names the field
//! and says why, and a few built-ins.
//!
//! ```toml
//! name = "speech"                 # optional
//! description = "..."             # optional
//! gain_db = 0.0                   # dB, -120..=+24 (default 0)
//! output_device = "USB DAC"       # optional; default output if absent
//! target_latency_ms = 20.0        # ms, 1..=500 (default 20)
//!
//! [eq]
//! preamp_db = -6.1                # dB, -30..=+30, applied by the EQ (default 0)
//! strength = 1.0                  # 0..=1: gains and preamp scaled in dB (default 1)
//!
//! [[eq.bands]]                    # up to 32, applied in order
//! type = "high_pass"              # peaking, low_shelf, high_shelf, low_pass,
//!                                 # high_pass, notch, band_pass, all_pass
//! freq = 90.0                     # Hz, 0 < freq < sample rate / 2
//! q = 0.707                       # 0.025..=100
//! gain_db = 0.0                   # dB, -24..=+24 (peaking and shelves)
//! enabled = true                  # default true
//! channel = "left"                # "all" (default), "left" (channel 0) or
//!                                 # "right" (channel 1); see gecko_dsp::eq
//!
//! [limiter]
//! enabled = true
//! ceiling_dbtp = -1.0             # dBTP, -30..=0
//! release_ms = 100.0              # ms, 1..=5000
//! lookahead_ms = 2.0              # ms, 1..=5
//! ```
//!
//! Presets written before `preamp_db`, `strength` and `channel` existed load
//! unchanged (the defaults are what the EQ did then), and keys at their
//! default are left out when a preset is written.
//!
//! Unknown keys are errors that name the key (a typo such as `frq` must not
//! silently leave a band at its default).

use crate::biquad::{MAX_BAND_GAIN_DB, MIN_BAND_GAIN_DB};
use crate::chain::ChainParams;
use crate::eq::{EqBand, EqParams, MAX_BANDS, MAX_PREAMP_DB, MIN_PREAMP_DB};
use crate::gain::{MAX_GAIN_DB, MIN_GAIN_DB};
use crate::limiter::LimiterParams;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Lowest target latency accepted, ms.
pub const MIN_TARGET_LATENCY_MS: f64 = 1.0;
/// Highest target latency accepted, ms.
pub const MAX_TARGET_LATENCY_MS: f64 = 500.0;

/// The one rule for the engine's target latency, wherever it comes from (a
/// preset, `--target-latency-ms`, the app): finite, from
/// [`MIN_TARGET_LATENCY_MS`] to [`MAX_TARGET_LATENCY_MS`] ms. `None` when `ms`
/// obeys it, else `"<ms> ms: must be from 1 to 500 ms"`.
pub fn target_latency_problem(ms: f64) -> Option<String> {
    if ms.is_finite() && (MIN_TARGET_LATENCY_MS..=MAX_TARGET_LATENCY_MS).contains(&ms) {
        None
    } else {
        Some(format!("{ms} ms: must be from {MIN_TARGET_LATENCY_MS} to {MAX_TARGET_LATENCY_MS} ms"))
    }
}

const BUILTINS: [(&str, &str); 4] = [
    ("flat", include_str!("../presets/flat.toml")),
    ("loudness", include_str!("../presets/loudness.toml")),
    ("speech", include_str!("../presets/speech.toml")),
    ("night", include_str!("../presets/night.toml")),
];

/// The EQ section of a preset (`[eq]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresetEq {
    /// Flat gain the EQ applies before its bands, dB, -30..=+30 (default 0;
    /// left out when written at 0).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub preamp_db: f64,
    /// How much of the EQ to apply, 0..=1: band gains and the preamp scaled
    /// in dB (default 1; left out when written at 1). See [`crate::eq`].
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub strength: f64,
    /// Bands in order (at most [`MAX_BANDS`]).
    #[serde(default)]
    pub bands: Vec<EqBand>,
}

impl Default for PresetEq {
    /// No bands, preamp 0 dB, strength 1.
    fn default() -> Self {
        PresetEq { preamp_db: 0.0, strength: 1.0, bands: Vec::new() }
    }
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

fn one() -> f64 {
    1.0
}

fn is_one(v: &f64) -> bool {
    *v == 1.0
}

/// A preset as written in TOML (see the module docs for the format).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preset {
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// One-line description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Gain, dB.
    #[serde(default)]
    pub gain_db: f64,
    /// Output device name (exact); `None` = the system default output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_device: Option<String>,
    /// Ring fill level the engine steers to, ms.
    #[serde(default = "default_latency")]
    pub target_latency_ms: f64,
    /// EQ bands.
    #[serde(default)]
    pub eq: PresetEq,
    /// Limiter.
    #[serde(default)]
    pub limiter: LimiterParams,
}

fn default_latency() -> f64 {
    20.0
}

impl Default for Preset {
    fn default() -> Self {
        Preset {
            name: None,
            description: None,
            gain_db: 0.0,
            output_device: None,
            target_latency_ms: default_latency(),
            eq: PresetEq::default(),
            limiter: LimiterParams::default(),
        }
    }
}

/// Why a preset could not be loaded or is not valid.
#[derive(Debug, thiserror::Error)]
pub enum PresetError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// Not valid TOML or not a preset (wrong type, unknown key): the
    /// message carries the line, column and key.
    #[error("{origin}: {message}")]
    Parse {
        /// File name or "preset".
        origin: String,
        /// toml's message.
        message: String,
    },
    /// Values out of range: one line per problem, each `path = value: why`.
    #[error("{origin}: {} problem(s):\n  {}", problems.len(), problems.join("\n  "))]
    Invalid {
        /// File name or preset name.
        origin: String,
        /// `eq.bands[3].freq = 30000 Hz: must be below half the sample rate (24000 Hz)`, …
        problems: Vec<String>,
    },
    /// No built-in preset of that name.
    #[error("no built-in preset {name:?}: use one of {}", Preset::builtin_names().join(", "))]
    UnknownBuiltin {
        /// The name asked for.
        name: String,
    },
}

impl Preset {
    /// Parses TOML text (`origin` names it in errors). Does not check ranges:
    /// see [`Preset::validate`].
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Preset, PresetError> {
        toml::from_str(text)
            .map_err(|e| PresetError::Parse { origin: origin.to_owned(), message: e.to_string().trim_end().to_owned() })
    }

    /// Reads and parses a preset file.
    pub fn load(path: &Path) -> Result<Preset, PresetError> {
        let text = std::fs::read_to_string(path).map_err(|source| PresetError::Io { path: path.to_owned(), source })?;
        Preset::from_toml_str(&text, &path.display().to_string())
    }

    /// What `gecko preset check FILE` does: load, then validate at
    /// `sample_rate` Hz.
    pub fn check_file(path: &Path, sample_rate: f64) -> Result<Preset, PresetError> {
        let p = Preset::load(path)?;
        p.validate_as(sample_rate, &path.display().to_string())?;
        Ok(p)
    }

    /// A preset holding `params` (what "Save preset" stores): gain, limiter,
    /// the EQ's preamp and strength, and the EQ bands up to the last one that
    /// differs from an unused band (disabled bands in between are kept, so
    /// indices survive a round trip).
    pub fn from_chain_params(name: &str, params: &ChainParams) -> Preset {
        let used = params.eq.bands.iter().rposition(|b| *b != EqBand::default()).map_or(0, |i| i + 1);
        Preset {
            name: Some(name.to_owned()),
            gain_db: params.gain_db,
            eq: PresetEq {
                preamp_db: params.eq.preamp_db,
                strength: params.eq.strength,
                bands: params.eq.bands[..used].to_vec(),
            },
            limiter: params.limiter,
            ..Preset::default()
        }
    }

    /// The preset as TOML text.
    pub fn to_toml_string(&self) -> String {
        toml::to_string_pretty(self).expect("a preset always serialises")
    }

    /// Names of the built-in presets.
    pub fn builtin_names() -> Vec<&'static str> {
        BUILTINS.iter().map(|(n, _)| *n).collect()
    }

    /// A built-in preset by name (`flat`, `loudness`, `speech`, `night`).
    pub fn builtin(name: &str) -> Result<Preset, PresetError> {
        let (_, text) = BUILTINS
            .iter()
            .find(|(n, _)| *n == name)
            .ok_or_else(|| PresetError::UnknownBuiltin { name: name.to_owned() })?;
        Preset::from_toml_str(text, &format!("built-in preset {name:?}"))
    }

    /// The built-in preset `name`'s TOML text.
    pub fn builtin_toml(name: &str) -> Option<&'static str> {
        BUILTINS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
    }

    /// Every problem with the values at sample rate `sample_rate` (Hz),
    /// each as `field.path = value: why`; empty if the preset is valid.
    pub fn problems(&self, sample_rate: f64) -> Vec<String> {
        let mut v = Vec::new();
        if !(self.gain_db.is_finite() && (MIN_GAIN_DB..=MAX_GAIN_DB).contains(&self.gain_db)) {
            v.push(format!("gain_db = {} dB: must be from {MIN_GAIN_DB} to +{MAX_GAIN_DB} dB", self.gain_db));
        }
        if let Some(why) = target_latency_problem(self.target_latency_ms) {
            v.push(format!("target_latency_ms = {why}"));
        }
        if let Some(d) = &self.output_device
            && d.trim().is_empty()
        {
            v.push("output_device = \"\": must name a device (leave the key out for the default output)".to_owned());
        }
        if !(self.eq.preamp_db.is_finite() && (MIN_PREAMP_DB..=MAX_PREAMP_DB).contains(&self.eq.preamp_db)) {
            v.push(format!(
                "eq.preamp_db = {} dB: must be from {MIN_PREAMP_DB} to +{MAX_PREAMP_DB} dB",
                self.eq.preamp_db
            ));
        }
        if !(self.eq.strength.is_finite() && (0.0..=1.0).contains(&self.eq.strength)) {
            v.push(format!("eq.strength = {}: must be from 0 to 1 (0 = no EQ, 1 = the full EQ)", self.eq.strength));
        }
        if self.eq.bands.len() > MAX_BANDS {
            v.push(format!("eq.bands: {} bands: at most {MAX_BANDS} are supported", self.eq.bands.len()));
        }
        for (i, b) in self.eq.bands.iter().enumerate() {
            // disabled bands too: enabling one later must not fail
            let p = crate::biquad::BiquadParams { kind: b.kind, freq_hz: b.freq_hz, q: b.q, gain_db: b.gain_db };
            if let Err(e) = p.validate(sample_rate) {
                v.push(format!("eq.bands[{i}].{e}"));
            }
            if b.gain_db != 0.0 && !b.kind.uses_gain() && (MIN_BAND_GAIN_DB..=MAX_BAND_GAIN_DB).contains(&b.gain_db) {
                v.push(format!(
                    "eq.bands[{i}].gain_db = {} dB: a {} band has no gain (only peaking and shelves do); remove it",
                    b.gain_db,
                    b.kind.name()
                ));
            }
        }
        if let Err(e) = self.limiter.validate() {
            v.push(format!("limiter.{e}"));
        }
        v
    }

    /// Checks every value at sample rate `sample_rate` (Hz).
    pub fn validate(&self, sample_rate: f64) -> Result<(), PresetError> {
        self.validate_as(sample_rate, self.name.as_deref().unwrap_or("preset"))
    }

    fn validate_as(&self, sample_rate: f64, origin: &str) -> Result<(), PresetError> {
        let problems = self.problems(sample_rate);
        if problems.is_empty() { Ok(()) } else { Err(PresetError::Invalid { origin: origin.to_owned(), problems }) }
    }

    /// The chain settings this preset asks for (output device and target
    /// latency are the engine's business): gain, EQ bands, preamp and
    /// strength, limiter. Bands past [`MAX_BANDS`] are dropped (validation
    /// reports them).
    pub fn chain_params(&self) -> ChainParams {
        ChainParams {
            gain_db: self.gain_db,
            eq: EqParams {
                preamp_db: self.eq.preamp_db,
                strength: self.eq.strength,
                ..EqParams::from_bands(&self.eq.bands)
            },
            limiter: self.limiter,
            ..ChainParams::default()
        }
    }
}

impl From<&Preset> for ChainParams {
    fn from(p: &Preset) -> ChainParams {
        p.chain_params()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_target_latency_rule() {
        for ok in [1.0, 20.0, 500.0] {
            assert_eq!(target_latency_problem(ok), None, "{ok}");
        }
        for bad in [0.5, 500.5, 1000.0, f64::NAN, f64::INFINITY, -20.0] {
            let why = target_latency_problem(bad).expect("refused");
            assert!(why.ends_with("must be from 1 to 500 ms"), "{why}");
        }
        let mut p = Preset::builtin("flat").unwrap();
        p.target_latency_ms = 800.0;
        assert_eq!(p.problems(48_000.0), vec!["target_latency_ms = 800 ms: must be from 1 to 500 ms".to_owned()]);
    }
    use crate::biquad::FilterType;
    use crate::eq::EqChannel;

    #[test]
    fn builtins_parse_validate_and_build_a_chain() {
        assert_eq!(Preset::builtin_names(), ["flat", "loudness", "speech", "night"]);
        for name in Preset::builtin_names() {
            let p = Preset::builtin(name).unwrap();
            assert_eq!(p.name.as_deref(), Some(name));
            for fs in [44100.0, 48000.0, 96000.0] {
                p.validate(fs).unwrap();
            }
            crate::Chain::new(48000, 2, &p.chain_params()).unwrap();
        }
        let speech = Preset::builtin("speech").unwrap();
        assert_eq!(speech.eq.bands[0].kind, FilterType::HighPass);
        assert!(speech.chain_params().eq.magnitude_db(3000.0, 48000.0) > 3.0);
        assert!(Preset::builtin("night").unwrap().limiter.ceiling_dbtp <= -6.0);
        let e = Preset::builtin("loud").unwrap_err().to_string();
        assert_eq!(e, "no built-in preset \"loud\": use one of flat, loudness, speech, night");
    }

    #[test]
    fn validation_names_every_bad_field_and_why() {
        let text = r#"
            gain_db = 30
            target_latency_ms = 0
            output_device = ""
            [[eq.bands]]
            type = "peaking"
            freq = 1000
            q = 1
            [[eq.bands]]
            type = "low_pass"
            freq = 12000
            q = 0
            [[eq.bands]]
            type = "notch"
            freq = 50
            q = 10
            gain_db = 3
            [[eq.bands]]
            type = "peaking"
            freq = 30000
            q = 1
            gain_db = 40
            enabled = false
            [limiter]
            ceiling_dbtp = 2
        "#;
        let p = Preset::from_toml_str(text, "test.toml").unwrap();
        assert_eq!(
            p.problems(48000.0),
            [
                "gain_db = 30 dB: must be from -120 to +24 dB",
                "target_latency_ms = 0 ms: must be from 1 to 500 ms",
                "output_device = \"\": must name a device (leave the key out for the default output)",
                "eq.bands[1].q = 0: must be from 0.025 to 100",
                "eq.bands[2].gain_db = 3 dB: a notch band has no gain (only peaking and shelves do); remove it",
                "eq.bands[3].freq = 30000 Hz: must be below half the sample rate (24000 Hz)",
                "limiter.ceiling_dbtp = 2 dBTP: must be from -30 to 0 dBTP",
            ]
        );
        let e = p.validate(48000.0).unwrap_err().to_string();
        assert!(e.starts_with("preset: 7 problem(s):\n  gain_db = 30 dB"), "{e}");
        // at 96 kHz the 30 kHz band is fine (but its 40 dB gain is not, once it gets that far)
        assert!(!p.problems(96000.0).iter().any(|s| s.contains("freq")));
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_refused_by_name() {
        let e = Preset::from_toml_str("[[eq.bands]]\ntype = \"peaking\"\nfrq = 100\nq = 1\n", "p.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field `frq`"), "{e}");
        assert!(e.starts_with("p.toml: "), "{e}");
        let e = Preset::from_toml_str("gain = 3\n", "p.toml").unwrap_err().to_string();
        assert!(e.contains("unknown field `gain`"), "{e}");
        let e = Preset::from_toml_str("[limiter]\nceiling = -1\n", "p.toml").unwrap_err().to_string();
        assert!(e.contains("unknown field `ceiling`"), "{e}");
        let e = Preset::from_toml_str("[[eq.bands]]\ntype = \"bell\"\nfreq = 100\nq = 1\n", "p.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown variant `bell`"), "{e}");
        let e = Preset::from_toml_str("gain_db = \"loud\"\n", "p.toml").unwrap_err().to_string();
        assert!(e.contains("gain_db"), "{e}");
        assert!(Preset::from_toml_str("", "empty.toml").unwrap() == Preset::default());
    }

    #[test]
    fn too_many_bands_are_reported() {
        let mut p = Preset::default();
        p.eq.bands = vec![EqBand { enabled: true, ..EqBand::default() }; 33];
        assert_eq!(p.problems(48000.0), ["eq.bands: 33 bands: at most 32 are supported"]);
        assert_eq!(p.chain_params().eq.bands.iter().filter(|b| b.enabled).count(), 32);
    }

    #[test]
    fn file_round_trip_and_check() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = Preset::builtin("speech").unwrap();
        p.output_device = Some("USB DAC".to_owned());
        let path = dir.path().join("mine.toml");
        std::fs::write(&path, p.to_toml_string()).unwrap();
        assert_eq!(Preset::check_file(&path, 48000.0).unwrap(), p);
        p.eq.bands[2].freq_hz = 30000.0;
        std::fs::write(&path, p.to_toml_string()).unwrap();
        let e = Preset::check_file(&path, 48000.0).unwrap_err().to_string();
        assert!(
            e.contains(
                "mine.toml: 1 problem(s):\n  eq.bands[2].freq = 30000 Hz: must be below half the sample rate (24000 Hz)"
            ),
            "{e}"
        );
        let e = Preset::load(&dir.path().join("missing.toml")).unwrap_err();
        assert!(matches!(e, PresetError::Io { .. }));
    }

    #[test]
    fn chain_params_carry_gain_bands_and_limiter() {
        let p = Preset::builtin("night").unwrap();
        let c: ChainParams = (&p).into();
        assert_eq!(c.gain_db, 3.0);
        assert_eq!(c.limiter, p.limiter);
        assert_eq!(c.eq.bands[1], p.eq.bands[1]);
        assert!(!c.eq.bands[2].enabled);
    }

    #[test]
    fn chain_params_round_trip_through_a_saved_preset() {
        let mut params = Preset::builtin("speech").unwrap().chain_params();
        params.gain_db = -4.5;
        params.eq.bands[6] = EqBand {
            kind: FilterType::Notch,
            freq_hz: 60.0,
            q: 10.0,
            gain_db: 0.0,
            enabled: true,
            channel: EqChannel::All,
        };
        let saved = Preset::from_chain_params("mine", &params);
        assert_eq!(saved.eq.bands.len(), 7, "trailing unused bands are left out");
        let text = saved.to_toml_string();
        let back = Preset::from_toml_str(&text, "saved").unwrap();
        back.validate(48000.0).unwrap();
        assert_eq!(back.name.as_deref(), Some("mine"));
        assert_eq!(back.chain_params(), params);
    }

    #[test]
    fn preamp_strength_and_channels_load_validate_and_reach_the_chain() {
        let text = r#"
            name = "l-r"
            [eq]
            preamp_db = -6.5
            strength = 0.75
            [[eq.bands]]
            type = "peaking"
            freq = 1000
            q = 1
            gain_db = 6
            channel = "left"
            [[eq.bands]]
            type = "low_shelf"
            freq = 105
            q = 0.7
            gain_db = 4
            [[eq.bands]]
            type = "peaking"
            freq = 3000
            q = 2
            gain_db = -4
            channel = "right"
        "#;
        let p = Preset::from_toml_str(text, "l-r.toml").unwrap();
        p.validate(48000.0).unwrap();
        let c = p.chain_params();
        assert_eq!((c.eq.preamp_db, c.eq.strength), (-6.5, 0.75));
        assert_eq!(c.eq.bands[0].channel, EqChannel::Left);
        assert_eq!(c.eq.bands[1].channel, EqChannel::All);
        assert_eq!(c.eq.bands[2].channel, EqChannel::Right);
        assert!(c.eq.magnitude_db_for_channel(1000.0, 48000.0, 0) > c.eq.magnitude_db_for_channel(1000.0, 48000.0, 1));
        // saved and loaded again: the same
        let saved = Preset::from_chain_params("l-r", &c);
        let back = Preset::from_toml_str(&saved.to_toml_string(), "saved").unwrap();
        assert_eq!(back.chain_params(), c);
        // a bad channel is refused by the parser with the line
        let e = Preset::from_toml_str(&text.replace("\"right\"", "\"centre\""), "l-r.toml").unwrap_err().to_string();
        assert!(e.contains("unknown variant `centre`") && e.contains("line 22"), "{e}");
        // out-of-range preamp and strength are named
        let bad = Preset { eq: PresetEq { preamp_db: 40.0, strength: 1.5, ..p.eq.clone() }, ..p.clone() };
        assert_eq!(
            bad.problems(48000.0),
            [
                "eq.preamp_db = 40 dB: must be from -30 to +30 dB",
                "eq.strength = 1.5: must be from 0 to 1 (0 = no EQ, 1 = the full EQ)"
            ]
        );
    }

    /// Presets written before preamp, strength and channels load as before
    /// and are written back without the new keys.
    #[test]
    fn old_presets_load_unchanged() {
        for name in Preset::builtin_names() {
            let text = Preset::builtin_toml(name).unwrap();
            assert!(!text.contains("preamp_db") && !text.contains("strength") && !text.contains("channel"));
            let p = Preset::builtin(name).unwrap();
            assert_eq!((p.eq.preamp_db, p.eq.strength), (0.0, 1.0));
            let c = p.chain_params();
            assert_eq!((c.eq.preamp_db, c.eq.strength), (0.0, 1.0));
            assert!(!c.eq.has_channel_bands());
            let out = p.to_toml_string();
            assert!(!out.contains("preamp_db") && !out.contains("strength") && !out.contains("channel"), "{out}");
        }
    }
}
