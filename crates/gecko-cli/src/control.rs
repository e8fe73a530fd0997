//! Live control of a running engine from standard input, one command per line:
//! `gain DB`, `preset NAME|FILE`, `limiter on|off`, `bypass`, `help`.
//! Commands are parsed on their own thread into [`Edit`]s, the same edits the
//! control socket's clients make ([`gecko_control::ControlState`]); the
//! engine's control thread picks up the latest settings and hands them to
//! the audio thread through its lock-free queue.

use gecko_control::{ControlState, Edit, OutputSet};
use std::io::BufRead;
use std::sync::Arc;

/// The control socket's `set_output` requests, handed to the engine
/// (gecko-control's mailbox behind gecko-engine's [`gecko_engine::OutputRequests`]).
pub struct SocketOutputs(pub Arc<ControlState>);

impl gecko_engine::OutputRequests for SocketOutputs {
    fn set_accepting(&self, yes: bool) {
        self.0.accept_output_requests(yes);
    }
    fn take(&self) -> Option<(u64, Option<String>)> {
        self.0.take_output_request().map(|t| (t.id, t.device))
    }
    fn finish(&self, id: u64, result: Result<(String, u32), String>) {
        self.0.finish_output(id, result.map(|(device, rate_hz)| OutputSet { device, rate_hz }));
    }
}

/// The preset argument as sent to the engine: a built-in name as is, a
/// file's contents (checked here first, so errors name the file).
pub fn preset_spec(spec: &str) -> Result<String, String> {
    if gecko_dsp::Preset::builtin_names().contains(&spec) || !std::path::Path::new(spec).exists() {
        // Unknown names are refused by the engine, which lists the built-ins.
        return Ok(spec.to_owned());
    }
    gecko_dsp::Preset::check_file(std::path::Path::new(spec), gecko_control::state::VALIDATION_RATE).map_err(|e| e.to_string())?;
    std::fs::read_to_string(spec).map_err(|e| format!("{spec}: {e}"))
}

/// Parses one command line; `None` for a blank line, `Err` with a message
/// for the user (including `help`'s).
pub fn parse(line: &str) -> Result<Option<Edit>, String> {
    let mut words = line.split_whitespace();
    let Some(cmd) = words.next() else { return Ok(None) };
    let arg = words.next();
    match (cmd, arg) {
        ("gain", Some(v)) => {
            let db: f64 = v.parse().map_err(|_| format!("gain: {v:?} is not a number of dB"))?;
            Ok(Some(Edit::Gain(db)))
        }
        ("preset", Some(spec)) => Ok(Some(Edit::Preset(preset_spec(spec)?))),
        ("limiter", Some("on")) => Ok(Some(Edit::Limiter { enabled: Some(true), ceiling_dbtp: None })),
        ("limiter", Some("off")) => Ok(Some(Edit::Limiter { enabled: Some(false), ceiling_dbtp: None })),
        ("bypass", None) => Ok(Some(Edit::Bypass)),
        ("help", _) => Err("commands: gain DB | preset NAME|FILE | limiter on|off | bypass".into()),
        _ => Err(format!("unknown command {line:?}; type `help`")),
    }
}

/// Starts reading commands from stdin into `state`.
pub fn spawn_stdin(state: Arc<ControlState>) {
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            match parse(&line).and_then(|e| e.map(|e| state.edit(&e).map_err(|e| e.message)).transpose()) {
                Ok(Some(a)) => eprintln!("→ {}", a.message),
                Ok(None) => {}
                Err(e) => eprintln!("→ {e}"),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use gecko_dsp::ChainParams;

    /// Applies one command line to `params`; returns a message for the user.
    fn apply(line: &str, params: &mut ChainParams) -> Result<String, String> {
        match parse(line)? {
            None => Ok(String::new()),
            Some(edit) => edit.apply(params, &mut None).map_err(|e| e.message),
        }
    }

    #[test]
    fn commands_change_the_settings_or_say_why_not() {
        let mut p = gecko_engine::EngineConfig::bypass_chain();
        assert_eq!(apply("gain -6", &mut p), Ok("gain -6 dB".into()));
        assert_eq!(p.gain_db, -6.0);
        assert!(apply("gain 99", &mut p).unwrap_err().contains("out of range"));
        assert!(apply("gain loud", &mut p).unwrap_err().contains("not a number"));
        assert_eq!(p.gain_db, -6.0, "a refused command changes nothing");
        apply("limiter on", &mut p).unwrap();
        assert!(p.limiter.enabled);
        apply("preset speech", &mut p).unwrap();
        assert!(p.eq.bands.iter().any(|b| b.enabled));
        assert!(apply("preset nope", &mut p).unwrap_err().contains("neither a built-in"));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("mine.toml");
        std::fs::write(&file, "gain_db = -9\n").unwrap();
        apply(&format!("preset {}", file.display()), &mut p).unwrap();
        assert_eq!(p.gain_db, -9.0);
        std::fs::write(&file, "gain_db = 99\n").unwrap();
        assert!(apply(&format!("preset {}", file.display()), &mut p).unwrap_err().contains("mine.toml"));
        apply("bypass", &mut p).unwrap();
        assert_eq!(p, gecko_engine::EngineConfig::bypass_chain());
        assert!(apply("frobnicate", &mut p).is_err());
        assert_eq!(apply("   ", &mut p), Ok(String::new()));
    }

    #[test]
    fn stdin_and_socket_edit_the_same_settings() {
        let state = ControlState::new(gecko_engine::EngineConfig::bypass_chain(), None);
        state.edit(&parse("gain -3").unwrap().unwrap()).unwrap();
        state.edit(&Edit::Limiter { enabled: Some(true), ceiling_dbtp: None }).unwrap();
        let p = state.latest().unwrap();
        assert_eq!((p.gain_db, p.limiter.enabled), (-3.0, true));
    }
}
