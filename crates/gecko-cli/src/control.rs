//! Live control of a running engine from standard input, one command per line:
//! `gain DB`, `preset NAME|FILE`, `limiter on|off`, `bypass`, `help`.
//! Commands are parsed on their own thread; the engine's control thread picks
//! up the latest settings and hands them to the audio thread through its
//! lock-free queue.

use gecko_dsp::ChainParams;
use std::io::BufRead;
use std::sync::mpsc::{Receiver, Sender, channel};

/// The receiving end: the newest settings not yet applied.
pub struct Live {
    rx: Receiver<ChainParams>,
}

impl Live {
    /// The newest settings sent since the last call, if any.
    pub fn latest(&self) -> Option<ChainParams> {
        self.rx.try_iter().last()
    }
}

/// Applies one command line to `params`; returns a message for the user.
pub fn apply(line: &str, params: &mut ChainParams) -> Result<String, String> {
    let mut words = line.split_whitespace();
    let Some(cmd) = words.next() else { return Ok(String::new()) };
    let arg = words.next();
    match (cmd, arg) {
        ("gain", Some(v)) => {
            let db: f64 = v.parse().map_err(|_| format!("gain: {v:?} is not a number of dB"))?;
            gecko_dsp::Gain::new(db).map_err(|e| e.to_string())?;
            params.gain_db = db;
            Ok(format!("gain {db} dB"))
        }
        ("preset", Some(spec)) => {
            let p = crate::load_preset(spec).map_err(|e| format!("{e:#}"))?;
            p.validate(48_000.0).map_err(|e| e.to_string())?;
            *params = p.chain_params();
            Ok(format!("preset {spec}"))
        }
        ("limiter", Some("on")) => {
            params.limiter.enabled = true;
            Ok("limiter on".into())
        }
        ("limiter", Some("off")) => {
            params.limiter.enabled = false;
            Ok("limiter off".into())
        }
        ("bypass", None) => {
            *params = gecko_engine::EngineConfig::bypass_chain();
            Ok("bypass: gain 0 dB, no EQ, limiter off".into())
        }
        ("help", _) => Ok("commands: gain DB | preset NAME|FILE | limiter on|off | bypass".into()),
        _ => Err(format!("unknown command {line:?}; type `help`")),
    }
}

/// Starts reading commands from stdin, starting from `initial` settings.
pub fn spawn_stdin(initial: ChainParams) -> Live {
    let (tx, rx): (Sender<ChainParams>, Receiver<ChainParams>) = channel();
    std::thread::spawn(move || {
        let mut params = initial;
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            match apply(&line, &mut params) {
                Ok(msg) if msg.is_empty() => {}
                Ok(msg) => {
                    eprintln!("→ {msg}");
                    if tx.send(params).is_err() {
                        break;
                    }
                }
                Err(e) => eprintln!("→ {e}"),
            }
        }
    });
    Live { rx }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        apply("bypass", &mut p).unwrap();
        assert_eq!(p, gecko_engine::EngineConfig::bypass_chain());
        assert!(apply("frobnicate", &mut p).is_err());
        assert_eq!(apply("   ", &mut p), Ok(String::new()));
    }
}
