//! Live control of a running engine from standard input, one command per line:
//! `gain DB`, `preset NAME|FILE`, `limiter on|off`, `mute on|off`, `bypass`,
//! `device [NAME]`, `help`. Commands are parsed on their own thread into the
//! same requests the control socket's clients make
//! ([`gecko_control::ControlState`]): settings [`Edit`]s, which the engine's
//! control thread hands to the audio thread through its lock-free queue, and
//! output moves, which the engine's output loop carries out.

#[cfg(test)]
use gecko_control::OutputSet;
use gecko_control::{ControlState, Edit, OUTPUT_SWITCH_TIMEOUT};
use std::io::BufRead;
use std::sync::Arc;

/// What `preset SPEC` sends: a built-in's name, or the TOML of a user
/// preset (gecko-services' [`gecko_services::PresetStore`]) or of a file.
fn preset_spec(spec: &str) -> Result<String, String> {
    gecko_services::PresetStore::from_env()
        .engine_spec(spec, gecko_control::state::VALIDATION_RATE)
        .map_err(|e| e.to_string())
}

/// One line of standard input.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// A settings edit.
    Edit(Edit),
    /// Move playback to this output device (`None`: the system default).
    Device(Option<String>),
}

const HELP: &str =
    "commands: gain DB | preset NAME|FILE | limiter on|off | mute on|off | strength PERCENT | bypass | device [NAME]";

/// Parses one command line; `None` for a blank line, `Err` with a message
/// for the user (including `help`'s).
pub fn parse(line: &str) -> Result<Option<Command>, String> {
    let line = line.trim();
    if let Some(rest) = line.strip_prefix("device").filter(|r| r.is_empty() || r.starts_with(char::is_whitespace)) {
        // Device names have spaces ("Built-in Output"): the rest of the line.
        let name = rest.trim();
        return Ok(Some(Command::Device((!name.is_empty()).then(|| name.to_owned()))));
    }
    Ok(parse_edit(line)?.map(Command::Edit))
}

fn parse_edit(line: &str) -> Result<Option<Edit>, String> {
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
        ("mute", Some("on")) => Ok(Some(Edit::Mute(true))),
        ("mute", Some("off")) => Ok(Some(Edit::Mute(false))),
        ("strength", Some(v)) => {
            let pct: f64 =
                v.trim_end_matches('%').parse().map_err(|_| format!("strength: {v:?} is not a percentage"))?;
            Ok(Some(Edit::Strength(pct)))
        }
        ("bypass", None) => Ok(Some(Edit::Bypass)),
        ("help", _) => Err(HELP.into()),
        _ => Err(format!("unknown command {line:?}; type `help`")),
    }
}

/// Carries out one command line against `state`; the message for the user
/// (`None` for a blank line). A device move waits for the engine's answer
/// (at most [`OUTPUT_SWITCH_TIMEOUT`]).
pub fn run(line: &str, state: &ControlState) -> Option<String> {
    let result = match parse(line) {
        Ok(None) => return None,
        Ok(Some(Command::Edit(e))) => state.edit(&e).map(|a| a.message).map_err(|e| e.message),
        Ok(Some(Command::Device(name))) => state
            .request_output(name, OUTPUT_SWITCH_TIMEOUT)
            .map(|o| format!("playing on {} @ {} Hz", o.device, o.rate_hz))
            .map_err(|e| e.message),
        Err(e) => Err(e),
    };
    Some(result.unwrap_or_else(|e| e))
}

/// Starts reading commands from stdin into `state`.
pub fn spawn(state: Arc<ControlState>) {
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if let Some(message) = run(&line, &state) {
                eprintln!("→ {message}");
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
            Some(Command::Edit(edit)) => edit.apply(params, &mut None).map_err(|e| e.message),
            Some(Command::Device(d)) => Err(format!("not a settings edit: device {d:?}")),
        }
    }

    #[test]
    fn commands_change_the_settings_or_say_why_not() {
        let mut p = gecko_dsp::ChainParams::bypass();
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
        apply("mute on", &mut p).unwrap();
        assert!(p.mute);
        apply("bypass", &mut p).unwrap();
        assert!(p.mute, "bypass keeps the mute");
        apply("mute off", &mut p).unwrap();
        assert_eq!(p, gecko_dsp::ChainParams::bypass());
        assert!(apply("mute loud", &mut p).is_err());
        assert!(apply("frobnicate", &mut p).is_err());
        assert_eq!(apply("   ", &mut p), Ok(String::new()));
    }

    #[test]
    fn device_takes_the_rest_of_the_line() {
        assert_eq!(parse("device"), Ok(Some(Command::Device(None))));
        assert_eq!(parse("  device   Built-in Output  "), Ok(Some(Command::Device(Some("Built-in Output".into())))));
        assert!(parse("devices").is_err(), "not the device command");
    }

    #[test]
    fn device_goes_to_the_engines_output_loop_and_its_answer_comes_back() {
        let state = Arc::new(ControlState::new(gecko_dsp::ChainParams::bypass(), None));
        // A headless engine refuses.
        assert!(run("device Speakers", &state).unwrap().contains("headless"));
        // An engine playing to a device: its output loop takes the request and answers.
        state.accept_output_requests(true);
        let engine = {
            let state = state.clone();
            std::thread::spawn(move || {
                loop {
                    if let Some(t) = state.take_output_request() {
                        state.finish_output(
                            t.id,
                            Ok(OutputSet { device: t.device.unwrap_or("Default".into()), rate_hz: 48_000 }),
                        );
                        return;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
            })
        };
        assert_eq!(run("device USB Speakers", &state), Some("playing on USB Speakers @ 48000 Hz".into()));
        engine.join().unwrap();
        assert_eq!(run("", &state), None);
    }

    #[test]
    fn stdin_and_socket_edit_the_same_settings() {
        let state = ControlState::new(gecko_dsp::ChainParams::bypass(), None);
        let Some(Command::Edit(e)) = parse("gain -3").unwrap() else { panic!("gain is an edit") };
        state.edit(&e).unwrap();
        state.edit(&Edit::Limiter { enabled: Some(true), ceiling_dbtp: None }).unwrap();
        let p = state.latest().unwrap();
        assert_eq!((p.gain_db, p.limiter.enabled), (-3.0, true));
    }
}
