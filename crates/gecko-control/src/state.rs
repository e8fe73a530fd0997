//! The DSP settings a running engine is asked to use, edited by control
//! clients and the engine's stdin commands alike ([`Edit`]), and polled by
//! the engine's control thread ([`ControlState::latest`]).

use crate::protocol::{Applied, ErrorBody, ErrorCode, LoopbackTap, OutputSet};
use gecko_dsp::{ChainParams, EqBand, MAX_BANDS, Preset};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long a `set_output` request waits for the engine to have the new
/// device playing (it is polled about every 20 ms; opening a device takes
/// tens of ms, a Bluetooth one up to a second or two).
pub const OUTPUT_SWITCH_TIMEOUT: Duration = Duration::from_secs(4);

/// Sample rate (Hz) at which settings are validated before they are accepted (the
/// engine checks them again at the stream's real rate).
pub const VALIDATION_RATE: f64 = 48_000.0;

/// One change to the DSP settings.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// Gain, dB.
    Gain(f64),
    /// A built-in preset name or a preset's TOML text.
    Preset(String),
    /// Replace EQ band `index`.
    EqBand {
        /// Band index, 0 to [`MAX_BANDS`] − 1.
        index: usize,
        /// The band.
        band: EqBand,
    },
    /// Limiter on/off and ceiling (`None`: unchanged).
    Limiter {
        /// On or off.
        enabled: Option<bool>,
        /// Ceiling, dBTP.
        ceiling_dbtp: Option<f64>,
    },
    /// Gain 0 dB, no EQ, limiter off (the mute is kept).
    Bypass,
    /// The user's mute on or off (kept across preset changes and bypass).
    Mute(bool),
    /// The EQ's strength, percent (0–100): band gains and preamp scaled in dB.
    Strength(f64),
}

fn invalid(msg: impl Into<String>) -> ErrorBody {
    ErrorBody::new(ErrorCode::InvalidSettings, msg)
}

/// Resolves a built-in preset name or preset TOML text.
pub fn resolve_preset(name_or_toml: &str) -> Result<(Preset, String), ErrorBody> {
    let spec = name_or_toml.trim();
    if Preset::builtin_names().contains(&spec) {
        let p = Preset::builtin(spec).map_err(|e| invalid(e.to_string()))?;
        return Ok((p, spec.to_owned()));
    }
    if !spec.contains('=') && !spec.contains('[') {
        return Err(invalid(format!(
            "preset {spec:?} is neither a built-in preset ({}) nor preset TOML; to load a file, send its contents (`gecko ctl preset FILE` does)",
            Preset::builtin_names().join(", ")
        )));
    }
    let p = Preset::from_toml_str(spec, "the preset sent to the engine").map_err(|e| invalid(e.to_string()))?;
    let name = p.name.clone().unwrap_or_else(|| "custom".to_owned());
    Ok((p, name))
}

impl Edit {
    /// Applies the edit to `params` (and the preset name), or says why not;
    /// a refused edit changes nothing. Returns a message for people.
    pub fn apply(&self, params: &mut ChainParams, preset: &mut Option<String>) -> Result<String, ErrorBody> {
        let mut p = *params;
        let msg = match self {
            Edit::Gain(db) => {
                gecko_dsp::Gain::new(*db).map_err(|e| invalid(e.to_string()))?;
                p.gain_db = *db;
                format!("gain {db} dB")
            }
            Edit::Preset(spec) => {
                let (pre, name) = resolve_preset(spec)?;
                pre.validate(VALIDATION_RATE).map_err(|e| invalid(e.to_string()))?;
                *params = ChainParams { mute: params.mute, ..pre.chain_params() };
                *preset = Some(name.clone());
                return Ok(format!("preset {name}"));
            }
            Edit::EqBand { index, band } => {
                if *index >= MAX_BANDS {
                    return Err(invalid(format!("EQ band {index} does not exist: use 0 to {}", MAX_BANDS - 1)));
                }
                p.eq.bands[*index] = *band;
                format!(
                    "EQ band {index}: {} {} Hz, Q {}, {} dB{}{}",
                    band.kind.name(),
                    band.freq_hz,
                    band.q,
                    band.gain_db,
                    match band.channel {
                        gecko_dsp::EqChannel::All => String::new(),
                        c => format!(", {} channel only", c.name()),
                    },
                    if band.enabled { "" } else { " (off)" }
                )
            }
            Edit::Limiter { enabled, ceiling_dbtp } => {
                if let Some(e) = enabled {
                    p.limiter.enabled = *e;
                }
                if let Some(c) = ceiling_dbtp {
                    p.limiter.ceiling_dbtp = *c;
                }
                format!(
                    "limiter {}, ceiling {} dBTP",
                    if p.limiter.enabled { "on" } else { "off" },
                    p.limiter.ceiling_dbtp
                )
            }
            Edit::Bypass => {
                *params = ChainParams { mute: params.mute, ..ChainParams::bypass() };
                *preset = None;
                return Ok("bypass: gain 0 dB, no EQ, limiter off".into());
            }
            Edit::Mute(m) => {
                params.mute = *m;
                return Ok(if *m { "muted" } else { "unmuted" }.into());
            }
            Edit::Strength(pct) => {
                if !(pct.is_finite() && (0.0..=100.0).contains(pct)) {
                    return Err(invalid(format!("strength {pct} %: must be from 0 to 100 %")));
                }
                p.eq.strength = pct / 100.0;
                format!("EQ strength {pct} %")
            }
        };
        p.validate(VALIDATION_RATE).map_err(|e| invalid(format!("{e}; nothing was changed")))?;
        *params = p;
        if let Some(n) = preset.as_mut().filter(|n| !n.ends_with(" (modified)")) {
            n.push_str(" (modified)");
        }
        Ok(msg)
    }
}

struct Inner {
    params: ChainParams,
    preset: Option<String>,
    pending: bool,
}

/// A request to move playback, handed to the engine by
/// [`ControlState::take_output_request`] and answered with
/// [`ControlState::finish_output`].
#[derive(Debug, Clone, PartialEq)]
pub struct OutputTicket {
    /// Identifies the request in [`ControlState::finish_output`].
    pub id: u64,
    /// The device's name; `None`: the system default.
    pub device: Option<String>,
}

#[derive(Default)]
struct Outputs {
    /// The engine plays to a device and takes requests.
    accepting: bool,
    next_id: u64,
    pending: Option<OutputTicket>,
    /// Answers not yet collected by their waiters.
    done: Vec<(u64, Result<OutputSet, String>)>,
}

/// The settings being edited, shared between the editors (socket clients,
/// stdin) and the engine's control thread; and the mailbox through which
/// clients ask the engine to change its output device.
pub struct ControlState {
    inner: Mutex<Inner>,
    outputs: Mutex<Outputs>,
    output_done: Condvar,
    loopback: Arc<AtomicU32>,
}

impl ControlState {
    /// Starts from the settings the engine was started with.
    pub fn new(params: ChainParams, preset: Option<String>) -> ControlState {
        ControlState {
            inner: Mutex::new(Inner { params, preset, pending: false }),
            outputs: Mutex::new(Outputs::default()),
            output_done: Condvar::new(),
            loopback: Arc::new(AtomicU32::new(0)),
        }
    }

    /// The loopback tap the engine asks the driver for, as the shared ABI
    /// code the engine reads (`gecko_engine::EngineConfig::loopback`: give
    /// the engine this handle). 0 = no preference.
    pub fn loopback_handle(&self) -> Arc<AtomicU32> {
        self.loopback.clone()
    }

    /// Chooses the loopback tap (`None`: no preference); the engine passes
    /// it on to the driver within one housekeeping tick.
    pub fn set_loopback(&self, tap: Option<LoopbackTap>) {
        self.loopback.store(tap.map_or(0, LoopbackTap::code), Ordering::Relaxed);
    }

    /// The loopback tap asked for (`None`: no preference).
    pub fn loopback(&self) -> Option<LoopbackTap> {
        LoopbackTap::from_code(self.loopback.load(Ordering::Relaxed))
    }

    fn outputs(&self) -> MutexGuard<'_, Outputs> {
        self.outputs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The engine says whether it plays to an output device and so takes
    /// [`ControlState::request_output`]s (a headless engine does not).
    /// Turning it off refuses a request still pending.
    pub fn accept_output_requests(&self, yes: bool) {
        let mut o = self.outputs();
        o.accepting = yes;
        if !yes && let Some(t) = o.pending.take() {
            o.done.push((t.id, Err("the engine stopped playing".into())));
            self.output_done.notify_all();
        }
    }

    /// Asks the engine to play on `device` (`None`: the system default) and
    /// waits up to `timeout` for the answer. A newer request replaces one
    /// the engine has not taken yet (whose caller is told so). Errors: the
    /// engine is headless, the device cannot be used (its reason), or no
    /// answer in time.
    pub fn request_output(&self, device: Option<String>, timeout: Duration) -> Result<OutputSet, ErrorBody> {
        let mut o = self.outputs();
        if !o.accepting {
            return Err(invalid(
                "this engine is not playing to an output device (it runs headless): restart it with `gecko engine --device NAME`",
            ));
        }
        let id = o.next_id;
        o.next_id += 1;
        if let Some(old) = o.pending.replace(OutputTicket { id, device }) {
            o.done.push((old.id, Err("replaced by a newer output request".into())));
            self.output_done.notify_all();
        }
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(i) = o.done.iter().position(|(d, _)| *d == id) {
                return o.done.swap_remove(i).1.map_err(invalid);
            }
            let now = Instant::now();
            if now >= deadline {
                if o.pending.as_ref().is_some_and(|t| t.id == id) {
                    o.pending = None;
                }
                return Err(ErrorBody::new(
                    ErrorCode::Internal,
                    format!(
                        "the engine did not switch the output within {} s; it keeps playing where it was",
                        timeout.as_secs()
                    ),
                ));
            }
            o = self.output_done.wait_timeout(o, deadline - now).unwrap_or_else(|e| e.into_inner()).0;
        }
    }

    /// The engine's side: the output request waiting, if any (taken once).
    pub fn take_output_request(&self) -> Option<OutputTicket> {
        self.outputs().pending.take()
    }

    /// The engine's side: the answer to the request `id` (the device now
    /// playing, or why the switch was refused; playback then stays where it was).
    pub fn finish_output(&self, id: u64, result: Result<OutputSet, String>) {
        let mut o = self.outputs();
        // Answers nobody waits for any more (timed out) must not pile up.
        if o.done.len() >= 16 {
            let _ = o.done.remove(0);
        }
        o.done.push((id, result));
        self.output_done.notify_all();
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere cannot leave `Inner` half-written (plain values).
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies an edit; the engine picks it up at its next [`ControlState::latest`].
    pub fn edit(&self, e: &Edit) -> Result<Applied, ErrorBody> {
        let mut g = self.lock();
        let Inner { params, preset, pending } = &mut *g;
        let message = e.apply(params, preset)?;
        *pending = true;
        Ok(Applied { message, params: *params, preset: preset.clone() })
    }

    /// The settings changed since the last call, if they did (never blocks
    /// for long: the lock is only held to copy a few hundred bytes).
    pub fn latest(&self) -> Option<ChainParams> {
        let mut g = self.lock();
        std::mem::take(&mut g.pending).then_some(g.params)
    }

    /// The settings now requested and their preset's name.
    pub fn current(&self) -> (ChainParams, Option<String>) {
        let g = self.lock();
        (g.params, g.preset.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn output_requests_reach_the_engine_and_its_answer_comes_back() {
        let s = Arc::new(ControlState::new(ChainParams::bypass(), None));
        // headless: refused at once, with what to do
        let e = s.request_output(Some("Speakers".into()), Duration::from_secs(1)).unwrap_err();
        assert!(e.message.contains("headless"), "{e}");
        assert_eq!(s.take_output_request(), None);

        s.accept_output_requests(true);
        let engine = {
            let s = s.clone();
            std::thread::spawn(move || {
                // the engine's control loop: refuse Gecko Sink, play anything else
                let mut answered = 0;
                while answered < 2 {
                    if let Some(t) = s.take_output_request() {
                        let r = match t.device.as_deref() {
                            Some("Gecko Sink") => Err("Gecko Sink is the engine's own input".to_owned()),
                            d => Ok(OutputSet { device: d.unwrap_or("default").to_owned(), rate_hz: 48000 }),
                        };
                        s.finish_output(t.id, r);
                        answered += 1;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
        };
        let ok = s.request_output(None, Duration::from_secs(5)).unwrap();
        assert_eq!(ok, OutputSet { device: "default".into(), rate_hz: 48000 });
        let e = s.request_output(Some("Gecko Sink".into()), Duration::from_secs(5)).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidSettings);
        assert!(e.message.contains("own input"), "{e}");
        engine.join().unwrap();

        // nobody takes it: a timeout, and the request is withdrawn
        let t0 = Instant::now();
        let e = s.request_output(Some("X".into()), Duration::from_millis(200)).unwrap_err();
        assert!(t0.elapsed() >= Duration::from_millis(200));
        assert_eq!(e.code, ErrorCode::Internal);
        assert_eq!(s.take_output_request(), None, "a timed-out request is withdrawn");

        // a newer request replaces one not yet taken; its caller is told
        let first = {
            let s = s.clone();
            std::thread::spawn(move || s.request_output(Some("A".into()), Duration::from_secs(5)))
        };
        while s.outputs().pending.is_none() {
            std::thread::sleep(Duration::from_millis(1));
        }
        let second = {
            let s = s.clone();
            std::thread::spawn(move || s.request_output(Some("B".into()), Duration::from_secs(5)))
        };
        let e = first.join().unwrap().unwrap_err();
        assert!(e.message.contains("replaced"), "{e}");
        let t = loop {
            if let Some(t) = s.take_output_request() {
                break t;
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        assert_eq!(t.device.as_deref(), Some("B"));
        s.finish_output(t.id, Ok(OutputSet { device: "B".into(), rate_hz: 44100 }));
        assert_eq!(second.join().unwrap().unwrap().device, "B");

        // the engine stops playing: a pending request is refused
        let third = {
            let s = s.clone();
            std::thread::spawn(move || s.request_output(None, Duration::from_secs(5)))
        };
        while s.outputs().pending.is_none() {
            std::thread::sleep(Duration::from_millis(1));
        }
        s.accept_output_requests(false);
        assert!(third.join().unwrap().unwrap_err().message.contains("stopped playing"));
    }

    #[test]
    fn edits_change_the_settings_or_say_why_not() {
        let s = ControlState::new(ChainParams::bypass(), None);
        assert_eq!(s.latest(), None);
        assert_eq!(s.edit(&Edit::Gain(-6.0)).unwrap().params.gain_db, -6.0);
        assert_eq!(s.latest().map(|p| p.gain_db), Some(-6.0));
        assert_eq!(s.latest(), None, "taken once");
        let e = s.edit(&Edit::Gain(99.0)).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidSettings);
        assert!(e.message.contains("out of range"), "{e}");
        assert_eq!(s.latest(), None, "a refused edit changes nothing");
        let a = s.edit(&Edit::Preset("speech".into())).unwrap();
        assert_eq!(a.preset.as_deref(), Some("speech"));
        assert!(a.params.eq.bands.iter().any(|b| b.enabled));
        let a = s.edit(&Edit::Limiter { enabled: Some(true), ceiling_dbtp: Some(-2.0) }).unwrap();
        assert_eq!(a.preset.as_deref(), Some("speech (modified)"));
        assert!(a.params.limiter.enabled && a.params.limiter.ceiling_dbtp == -2.0);
        assert!(s.edit(&Edit::Limiter { enabled: None, ceiling_dbtp: Some(3.0) }).is_err());
        let band = EqBand { enabled: true, gain_db: 3.0, ..EqBand::default() };
        assert_eq!(s.edit(&Edit::EqBand { index: 15, band }).unwrap().params.eq.bands[15], band);
        let last = MAX_BANDS - 1;
        assert_eq!(s.edit(&Edit::EqBand { index: last, band }).unwrap().params.eq.bands[last], band);
        let e = s.edit(&Edit::EqBand { index: MAX_BANDS, band }).unwrap_err().message;
        assert!(e.contains(&format!("0 to {last}")), "{e}");
        assert_eq!(s.edit(&Edit::Strength(40.0)).unwrap().params.eq.strength, 0.4);
        assert!(s.edit(&Edit::Strength(140.0)).unwrap_err().message.contains("0 to 100"));
        let bad = EqBand { freq_hz: 1e6, ..band };
        assert!(s.edit(&Edit::EqBand { index: 0, band: bad }).is_err());
        let toml = "name = \"mine\"\ngain_db = -3\n";
        assert_eq!(s.edit(&Edit::Preset(toml.into())).unwrap().preset.as_deref(), Some("mine"));
        assert!(s.edit(&Edit::Preset("nope".into())).unwrap_err().message.contains("neither a built-in"));
        assert!(s.edit(&Edit::Preset("gain_db = \"x\"".into())).is_err());
        s.edit(&Edit::Bypass).unwrap();
        assert_eq!(s.current(), (ChainParams::bypass(), None));
        assert!(s.edit(&Edit::Mute(true)).unwrap().params.mute);
        assert!(s.edit(&Edit::Preset("night".into())).unwrap().params.mute, "a preset keeps the mute");
        assert!(s.edit(&Edit::Bypass).unwrap().params.mute, "bypass keeps the mute");
        assert!(!s.edit(&Edit::Mute(false)).unwrap().params.mute);
        assert_eq!(s.current().1, None, "muting does not mark a preset modified");
    }
}
