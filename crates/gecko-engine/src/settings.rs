//! What a person chooses for the engine, as one value with one `validate`
//! (the model: CamillaDSP's `validate_config`, which checks a whole
//! configuration before anything runs and names the field at fault).
//!
//! The CLI builds [`Settings`] from a preset and its flags, the engine
//! checks them again when it attaches (at the ring's real rate), and live
//! edits from the control socket are the chain part of it, checked by the
//! same [`ChainParams::validate`]. Presets (gecko-dsp) convert with
//! [`Settings::from_preset`]; their own file check uses the same field rules
//! ([`gecko_dsp::preset::target_latency_problem`], [`ChainParams::validate`]).

use crate::Playback;
use gecko_drift::ActuatorChoice;
use gecko_dsp::{ChainParams, Preset};

/// The engine's settings: its DSP, where it plays, and its drift control.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The DSP chain (see [`ChainParams::bypass`]).
    pub chain: ChainParams,
    /// Where it plays.
    pub playback: Playback,
    /// The ring fill level the drift control holds, ms at the device rate
    /// ([`gecko_dsp::preset::MIN_TARGET_LATENCY_MS`]..=[`gecko_dsp::preset::MAX_TARGET_LATENCY_MS`]).
    pub target_latency_ms: f64,
    /// Which drift actuator.
    pub actuator: ActuatorChoice,
}

impl Default for Settings {
    /// Bypass, the system default output, 20 ms, automatic actuator.
    fn default() -> Settings {
        Settings {
            chain: ChainParams::bypass(),
            playback: Playback::Default,
            target_latency_ms: 20.0,
            actuator: ActuatorChoice::Auto,
        }
    }
}

/// Settings that cannot run: every problem, each naming its field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid settings: {}", problems.join("; "))]
pub struct SettingsError {
    /// `field: why`, in field order.
    pub problems: Vec<String>,
}

impl Settings {
    /// A preset's settings (its chain, output device and target latency),
    /// with the default actuator. Not yet validated.
    pub fn from_preset(p: &Preset) -> Settings {
        Settings {
            chain: p.chain_params(),
            playback: p.output_device.clone().map_or(Playback::Default, Playback::Device),
            target_latency_ms: p.target_latency_ms,
            actuator: ActuatorChoice::Auto,
        }
    }

    /// Every problem at `sample_rate` (Hz, for the filters), in field order.
    pub fn problems(&self, sample_rate: f64) -> Vec<String> {
        let mut v = Vec::new();
        if let Err(e) = self.chain.validate(sample_rate) {
            v.push(e.to_string());
        }
        if let Playback::Device(d) = &self.playback {
            if d.trim().is_empty() {
                v.push("output device: empty name (leave it out for the system default)".into());
            } else if gecko_identity::is_gecko_sink(d) || d == gecko_identity::DEVICE_NAME {
                v.push(format!("output device {d:?}: that is Gecko Sink itself (a feedback loop)"));
            }
        }
        if let Some(why) = gecko_dsp::preset::target_latency_problem(self.target_latency_ms) {
            v.push(format!("target_latency_ms {why}"));
        }
        v
    }

    /// `Ok` when [`Settings::problems`] finds none.
    pub fn validate(&self, sample_rate: f64) -> Result<(), SettingsError> {
        let problems = self.problems(sample_rate);
        if problems.is_empty() { Ok(()) } else { Err(SettingsError { problems }) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_is_named_by_its_field() {
        assert_eq!(Settings::default().validate(48_000.0), Ok(()));
        let mut s = Settings::default();
        s.chain.gain_db = 99.0;
        s.target_latency_ms = 1000.0;
        s.playback = Playback::Device("Gecko Sink".into());
        let e = s.validate(48_000.0).unwrap_err();
        assert_eq!(e.problems.len(), 3, "{e}");
        assert!(e.problems[0].starts_with("gain_db"), "{e}");
        assert!(e.problems[1].contains("Gecko Sink itself"), "{e}");
        assert!(e.problems[2].starts_with("target_latency_ms"), "{e}");
        s.playback = Playback::Device(gecko_identity::DEVICE_UID.into());
        assert!(s.problems(48_000.0)[1].contains("Gecko Sink itself"));
        s.playback = Playback::Device("  ".into());
        assert!(s.problems(48_000.0)[1].contains("empty name"));
    }

    #[test]
    fn the_same_limit_for_a_preset_and_a_flag() {
        // 500 ms is the most a preset may ask; so it is for everyone.
        let mut p = Preset { target_latency_ms: 500.0, ..Preset::default() };
        assert_eq!(Settings::from_preset(&p).validate(48_000.0), Ok(()));
        p.target_latency_ms = 501.0;
        assert!(p.validate(48_000.0).is_err());
        assert!(Settings::from_preset(&p).validate(48_000.0).is_err());
    }
}
