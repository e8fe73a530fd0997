//! The messages. One JSON object per line, each with `"v": 1`.
//!
//! Requests carry a `"type"` (`hello`, `status`, `telemetry`, `subscribe`,
//! `set_gain`, `set_preset`, `set_eq_band`, `set_limiter`, `bypass`, `set_mute`, `set_strength`,
//! `set_output`, `set_loopback`); replies carry a `"type"` too (`hello`, `status`,
//! `telemetry`, `applied`, `subscribed`, `output`, `loopback`), or, on failure, an
//! `"error": {"code", "message"}` object.
//!
//! Versioning: a peer rejects a message whose `v` is not [`PROTOCOL_VERSION`]
//! (error code `unsupported_version`). Within a version, fields may only be
//! added, never removed or changed in meaning, and unknown fields are ignored,
//! so an older app keeps working with a newer engine of the same version.

use gecko_dsp::{ChainParams, EqBand};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The protocol version this crate speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// Longest line (request or reply) accepted, bytes (without the newline).
pub const MAX_LINE: usize = 64 * 1024;

/// Telemetry subscription rates are clamped to this range, Hz.
pub const MIN_RATE_HZ: f64 = 10.0;
/// See [`MIN_RATE_HZ`].
pub const MAX_RATE_HZ: f64 = 30.0;

/// A request from a client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Request {
    /// Protocol version, engine version, pid.
    Hello,
    /// The engine's state ([`Status`]).
    Status,
    /// The latest telemetry ([`TelemetryMsg`]).
    Telemetry,
    /// Stream telemetry at `rate_hz` (clamped to 10–30 Hz) until the client
    /// disconnects. The connection accepts no further requests.
    Subscribe {
        /// Messages per second.
        #[serde(default = "default_rate")]
        rate_hz: f64,
    },
    /// Set the engine's gain, dB (−120 to +24).
    SetGain {
        /// Gain, dB.
        db: f64,
    },
    /// Load a preset: a built-in name (`flat`, `loudness`, `speech`, `night`)
    /// or the text of a preset TOML file.
    SetPreset {
        /// Built-in name or TOML text.
        name_or_toml: String,
    },
    /// Replace one EQ band (index 0–31).
    SetEqBand {
        /// Band index.
        index: usize,
        /// The new band (`{"type": "peaking", "freq": 1000, "q": 1, "gain_db": 3}`).
        band: EqBand,
    },
    /// Turn the limiter on or off and/or set its ceiling (fields left out are unchanged).
    SetLimiter {
        /// On or off.
        #[serde(default)]
        enabled: Option<bool>,
        /// Ceiling, dBTP (−30 to 0).
        #[serde(default)]
        ceiling_dbtp: Option<f64>,
    },
    /// Gain 0 dB, no EQ, limiter off: the engine passes audio unchanged
    /// (a mute stays on).
    Bypass,
    /// Mute or unmute the engine's output (ramped; kept across presets).
    SetMute {
        /// Muted or not.
        muted: bool,
    },
    /// Scale the whole EQ correction: every band's gain and the preamp, in
    /// dB, by `percent` / 100 (0 = flat for peaking and shelf bands, 100 = as
    /// written). Ramped like any gain change.
    SetStrength {
        /// 0 to 100.
        percent: f64,
    },
    /// Move playback to another output device while the engine runs (the
    /// drift loop, the DSP settings, the recording and the ring carry on;
    /// the audio pauses for the time it takes to open the device). The
    /// reply comes when the new device plays ([`Reply::Output`]), or an
    /// error says why not and playback stays where it was.
    SetOutput {
        /// The device's name as `gecko devices` lists it; `null` or absent:
        /// the system's default output.
        #[serde(default)]
        device: Option<String>,
    },
    /// Choose what Gecko Sink's input stream (the loopback recording apps
    /// record) carries. The driver takes it within about 100 ms and keeps it
    /// after the engine stops. Answered with [`Reply::Loopback`].
    SetLoopback {
        /// `pre`, `post` or `off`.
        tap: LoopbackTap,
    },
}

/// What Gecko Sink's input stream carries: `"pre"` (what apps play, exactly,
/// before the device volume and the engine; no latency), `"post"` (what the
/// engine plays: after EQ, limiter and volume) or `"off"` (silence). The
/// ring's own type: the codes are `driver/include/gecko_shm_abi.h`'s
/// `GECKO_LOOPBACK_TAP_*`.
pub use gecko_ring::Tap as LoopbackTap;

/// The loopback (Gecko Sink's input stream): what the engine asks for and
/// what the driver does.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LoopbackInfo {
    /// The tap this engine asks the driver for (`null`: none, the driver keeps its own).
    pub requested: Option<LoopbackTap>,
    /// The tap the driver serves now (`null` until an app has recorded).
    pub active: Option<LoopbackTap>,
    /// The engine feeds the post tap (it plays at Gecko Sink's rate).
    pub post_available: bool,
    /// The driver has the engine's loopback segment mapped.
    pub post_attached: bool,
    /// Input IO cycles the driver has served (they grow while an app records).
    pub input_cycles: u64,
    /// Frames delivered to recording apps.
    pub input_frames: u64,
    /// Of those, frames of silence substituted (off, no engine, nothing played).
    pub silent_frames: u64,
    /// Times the post tap (re)locked onto the engine's stream.
    pub resync_events: u64,
    /// Invalid loopback-segment contents the driver saw.
    pub post_faults: u64,
    /// Samples the driver repaired (non-finite, beyond full scale).
    pub repaired_samples: u64,
    /// The post tap's distance behind the engine, frames.
    pub post_delay_frames: u32,
}

fn default_rate() -> f64 {
    20.0
}

/// A reply from the engine (the `"type"` tells which).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Reply {
    /// Answer to [`Request::Hello`].
    Hello(Hello),
    /// Answer to [`Request::Status`].
    Status(Box<Status>),
    /// Answer to [`Request::Telemetry`], and each message of a subscription.
    Telemetry(Box<TelemetryMsg>),
    /// A setting was changed (answer to the `set_*` requests and `bypass`).
    Applied(Box<Applied>),
    /// A subscription started; telemetry messages follow.
    Subscribed {
        /// The rate after clamping, Hz.
        rate_hz: f64,
    },
    /// Playback moved (answer to [`Request::SetOutput`]).
    Output(OutputSet),
    /// The loopback now (answer to [`Request::SetLoopback`]).
    Loopback(LoopbackInfo),
}

/// Where the engine plays now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputSet {
    /// The output device's name.
    pub device: String,
    /// Its sample rate, Hz.
    pub rate_hz: u32,
}

/// Who is answering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    /// [`PROTOCOL_VERSION`] of the engine.
    pub protocol: u32,
    /// The engine's version (the `gecko` package version).
    pub engine_version: String,
    /// The engine's process id.
    pub pid: u32,
}

/// A change the engine accepted. It reaches the audio within about 100 ms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Applied {
    /// What changed, for people (`gain -6 dB`).
    pub message: String,
    /// The DSP settings now requested.
    pub params: ChainParams,
    /// The preset they came from, if still unchanged since loading one.
    #[serde(default)]
    pub preset: Option<String>,
}

/// The ring's format.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FormatInfo {
    /// Channels.
    pub channels: u32,
    /// Sample rate, Hz.
    pub sample_rate: f64,
    /// Writer generation.
    pub generation: u64,
}

/// The drift loop's actuator, on the wire (gecko-drift's `Actuator`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftActuator {
    /// `steering`: the driver's clock follows the output device's; frames pass bit-exact.
    Steering,
    /// `resampling`: an adaptive resampler converts the ring's rate to the device's.
    Resampling,
}

/// Where the drift loop is in its acquisition sequence, on the wire
/// (gecko-drift's `Phase`; docs/drift-control.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftPhase {
    /// `prime`: silence until the ring holds the target fill.
    Prime,
    /// `settle`: waiting for the actuator to apply the requested correction.
    Settle,
    /// `measure`: measuring the fill slope (the clock skew).
    Measure,
    /// `track`: PI tracking.
    Track,
    /// `rebuild_required`: the ring's format changed; a new loop is being built.
    RebuildRequired,
}

impl DriftActuator {
    /// The wire name (`steering`, `resampling`).
    pub fn name(self) -> &'static str {
        match self {
            DriftActuator::Steering => "steering",
            DriftActuator::Resampling => "resampling",
        }
    }
}

impl DriftPhase {
    /// The wire name (`prime`, `settle`, `measure`, `track`, `rebuild_required`).
    pub fn name(self) -> &'static str {
        match self {
            DriftPhase::Prime => "prime",
            DriftPhase::Settle => "settle",
            DriftPhase::Measure => "measure",
            DriftPhase::Track => "track",
            DriftPhase::RebuildRequired => "rebuild_required",
        }
    }
}

impl std::fmt::Display for DriftActuator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::fmt::Display for DriftPhase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Drift control state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftInfo {
    /// The actuator, or `null` (headless: no drift control).
    pub actuator: Option<DriftActuator>,
    /// The acquisition phase, or `null`.
    pub phase: Option<DriftPhase>,
    /// Correction asked for, ppm.
    pub correction_ppm: f64,
    /// Clock adjustment the driver applies, ppm.
    pub applied_ppm: f64,
    /// The loop is locked.
    pub locked: bool,
    /// Frames the ring holds (device rate).
    pub fill_frames: f64,
    /// The same in ms.
    pub fill_ms: f64,
    /// Silence played because the ring ran short, frames so far.
    pub underrun_frames: u64,
}

/// The driver's (writer's) counters.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct WriterStats {
    /// Frames ever written.
    pub write_count: u64,
    /// IO cycles.
    pub io_cycles: u64,
    /// Gaps (sample time jumped forward).
    pub gap_events: u64,
    /// Frames of silence written for gaps.
    pub gap_frames: u64,
    /// Overlaps (sample time went backwards).
    pub overlap_events: u64,
    /// Frames dropped as already written.
    pub overlap_frames: u64,
    /// Times the writer lapped the reader.
    pub overrun_events: u64,
    /// Frames lost to those laps.
    pub overrun_frames: u64,
}

/// Meters of the processed stream. Levels are `null` for silence (−∞).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Meters {
    /// Sample peak per channel since the previous telemetry, dBFS.
    pub peak_dbfs: Vec<Option<f64>>,
    /// RMS per channel since the previous telemetry, dBFS.
    pub rms_dbfs: Vec<Option<f64>>,
    /// Highest sample peak over the channels, dBFS.
    pub max_peak_dbfs: Option<f64>,
    /// Momentary loudness (400 ms), LUFS.
    pub momentary_lufs: Option<f64>,
    /// Short-term loudness (3 s), LUFS.
    pub short_term_lufs: Option<f64>,
    /// Integrated loudness since the engine started, LUFS.
    pub integrated_lufs: Option<f64>,
    /// Loudness range, LU.
    pub loudness_range_lu: Option<f64>,
    /// Highest true peak since the engine started, dBTP.
    pub true_peak_dbtp: Option<f64>,
    /// Limiter gain reduction now, dB.
    pub limiter_reduction_db: f64,
    /// Output samples over full scale so far.
    pub clipped_samples: u64,
}

/// Live telemetry: meters, ring fill, drift.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TelemetryMsg {
    /// Increases with every update from the engine (about 10 a second); a
    /// subscriber faster than that sees some updates twice.
    pub seq: u64,
    /// Frames read from the ring so far.
    pub frames_in: u64,
    /// Frames played so far (0 headless).
    pub frames_out: u64,
    /// The driver's IO is running.
    pub io_running: bool,
    /// The engine is idle: the driver's IO is stopped, the ring drained and
    /// the engine's output paused (or closed) until IO starts again; the
    /// meters and drift are then the last ones measured. `false` when absent
    /// (added within v1).
    #[serde(default)]
    pub idle: bool,
    /// Meters.
    pub meters: Meters,
    /// Ring fill and drift control.
    pub drift: Option<DriftInfo>,
}

/// The engine's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// The engine's version.
    pub engine_version: String,
    /// The engine's process id.
    pub pid: u32,
    /// Name of Gecko Sink's shared-memory ring.
    pub ring: String,
    /// The ring's format (`null` until the engine has attached).
    pub format: Option<FormatInfo>,
    /// The output device (`null`: headless).
    pub output_device: Option<String>,
    /// Output devices that disappeared while the engine played on them (it
    /// then moved to the default device). A move a client asked for
    /// (`set_output`) does not count.
    #[serde(default)]
    pub output_losses: u64,
    /// Drift control (`null` until the engine has attached).
    pub drift: Option<DriftInfo>,
    /// The engine is idle (see [`TelemetryMsg::idle`]). `false` when absent
    /// (added within v1).
    #[serde(default)]
    pub idle: bool,
    /// The driver's counters (`null` until the engine has attached).
    pub writer: Option<WriterStats>,
    /// Where the engine records, if it does.
    pub recording: Option<String>,
    /// The DSP settings requested.
    pub params: ChainParams,
    /// The preset they came from, if unchanged since.
    pub preset: Option<String>,
    /// Connected control clients (this one included).
    pub clients: usize,
    /// The loopback (`null` until the engine has attached; added within v1).
    #[serde(default)]
    pub loopback: Option<LoopbackInfo>,
}

/// Machine-readable error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The line is not JSON, or not a JSON object.
    MalformedJson,
    /// `v` is missing or not [`PROTOCOL_VERSION`].
    UnsupportedVersion,
    /// `type` is missing or unknown.
    UnknownRequest,
    /// The request's fields are missing or of the wrong type.
    BadRequest,
    /// The line is longer than [`MAX_LINE`].
    LineTooLong,
    /// The settings were refused (out of range, unknown preset, …).
    InvalidSettings,
    /// The engine has not reported anything yet (still attaching).
    NotReady,
    /// The engine serves too many clients.
    TooManyClients,
    /// Anything else.
    Internal,
}

/// A structured error: `{"code": "...", "message": "..."}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("{message} ({code:?})")]
pub struct ErrorBody {
    /// What kind of error.
    pub code: ErrorCode,
    /// What went wrong and what to do about it.
    pub message: String,
}

impl ErrorBody {
    /// Builds one.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ErrorBody {
        ErrorBody { code, message: message.into() }
    }
}

/// Prefixes a serialised JSON object with `"v":1` (so the version comes first on the wire).
fn with_version(object: Result<String, serde_json::Error>) -> String {
    match object {
        Ok(s) if s == "{}" => format!("{{\"v\":{PROTOCOL_VERSION}}}"),
        Ok(s) if s.starts_with('{') => format!("{{\"v\":{PROTOCOL_VERSION},{}", &s[1..]),
        // Not reachable for our types; still answer with valid JSON.
        _ => format!(
            "{{\"v\":{PROTOCOL_VERSION},\"error\":{{\"code\":\"internal\",\"message\":\"could not encode the message\"}}}}"
        ),
    }
}

/// Encodes a request as one line (without the newline).
pub fn encode_request(r: &Request) -> String {
    with_version(serde_json::to_string(r))
}

/// Encodes a reply or an error as one line (without the newline).
pub fn encode_reply(r: &Result<Reply, ErrorBody>) -> String {
    match r {
        Ok(reply) => with_version(serde_json::to_string(reply)),
        Err(e) => with_version(serde_json::to_string(&serde_json::json!({ "error": e }))),
    }
}

/// Parses a line into a JSON object with the right `v`.
fn parse_versioned(line: &str) -> Result<Map<String, Value>, ErrorBody> {
    let value: Value = serde_json::from_str(line).map_err(|e| {
        ErrorBody::new(
            ErrorCode::MalformedJson,
            format!("not valid JSON ({e}); send one JSON object per line, e.g. {{\"v\":1,\"type\":\"status\"}}"),
        )
    })?;
    let Value::Object(obj) = value else {
        return Err(ErrorBody::new(
            ErrorCode::MalformedJson,
            "expected a JSON object per line, e.g. {\"v\":1,\"type\":\"status\"}",
        ));
    };
    match obj.get("v") {
        Some(v) if v.as_u64() == Some(PROTOCOL_VERSION as u64) => Ok(obj),
        Some(v) => Err(ErrorBody::new(
            ErrorCode::UnsupportedVersion,
            format!(
                "protocol version {v} is not supported: this engine speaks version {PROTOCOL_VERSION}; update the app or the engine so they match"
            ),
        )),
        None => Err(ErrorBody::new(
            ErrorCode::UnsupportedVersion,
            format!("the message has no \"v\" field: add \"v\":{PROTOCOL_VERSION}"),
        )),
    }
}

const REQUEST_TYPES: &str = "hello, status, telemetry, subscribe, set_gain, set_preset, set_eq_band, set_limiter, bypass, set_mute, set_strength, set_output, set_loopback";

/// Parses a request line; every failure is a structured error to send back.
pub fn decode_request(line: &str) -> Result<Request, ErrorBody> {
    let mut obj = parse_versioned(line)?;
    obj.remove("v");
    let kind = match obj.get("type") {
        Some(Value::String(s)) => s.clone(),
        _ => {
            return Err(ErrorBody::new(
                ErrorCode::UnknownRequest,
                format!("the request has no \"type\": use one of {REQUEST_TYPES}"),
            ));
        }
    };
    serde_json::from_value::<Request>(Value::Object(obj)).map_err(|e| {
        let msg = e.to_string();
        // The request's own type unknown (not a field's value, e.g. a tap).
        if msg.starts_with(&format!("unknown variant `{kind}`")) {
            ErrorBody::new(
                ErrorCode::UnknownRequest,
                format!("unknown request type {kind:?}: use one of {REQUEST_TYPES}"),
            )
        } else {
            ErrorBody::new(ErrorCode::BadRequest, format!("bad {kind:?} request: {msg}; see docs/control-protocol.md"))
        }
    })
}

/// Parses a reply line: the reply, or the engine's error.
pub fn decode_reply(line: &str) -> Result<Result<Reply, ErrorBody>, ErrorBody> {
    let mut obj = parse_versioned(line)?;
    obj.remove("v");
    if let Some(err) = obj.remove("error") {
        return serde_json::from_value::<ErrorBody>(err)
            .map(Err)
            .map_err(|e| ErrorBody::new(ErrorCode::BadRequest, format!("unreadable error from the engine: {e}")));
    }
    serde_json::from_value::<Reply>(Value::Object(obj))
        .map(Ok)
        .map_err(|e| ErrorBody::new(ErrorCode::BadRequest, format!("unreadable reply from the engine: {e}")))
}

/// `Some(x)` for finite `x`, `None` for ±∞ and NaN (JSON has no infinities).
pub fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_names_on_the_wire_are_the_documented_ones() {
        use DriftPhase::*;
        for p in [Prime, Settle, Measure, Track, RebuildRequired] {
            assert_eq!(serde_json::to_string(&p).unwrap(), format!("\"{}\"", p.name()));
            assert_eq!(serde_json::from_str::<DriftPhase>(&format!("\"{p}\"")).unwrap(), p);
        }
        for a in [DriftActuator::Steering, DriftActuator::Resampling] {
            assert_eq!(serde_json::to_string(&a).unwrap(), format!("\"{}\"", a.name()));
        }
        assert_eq!(RebuildRequired.name(), "rebuild_required");
        assert!(serde_json::from_str::<DriftActuator>("\"Steering\"").is_err(), "the wire is snake_case only");
    }

    #[test]
    fn requests_round_trip_with_the_version() {
        let reqs = [
            Request::Hello,
            Request::Status,
            Request::Telemetry,
            Request::Subscribe { rate_hz: 15.0 },
            Request::SetGain { db: -6.0 },
            Request::SetPreset { name_or_toml: "speech".into() },
            Request::SetEqBand { index: 2, band: EqBand { enabled: true, ..EqBand::default() } },
            Request::SetLimiter { enabled: Some(true), ceiling_dbtp: None },
            Request::Bypass,
            Request::SetMute { muted: true },
            Request::SetStrength { percent: 50.0 },
            Request::SetOutput { device: Some("Speakers".into()) },
            Request::SetOutput { device: None },
        ];
        for r in reqs {
            let line = encode_request(&r);
            assert!(line.starts_with("{\"v\":1,"), "{line}");
            assert_eq!(decode_request(&line), Ok(r));
        }
        assert_eq!(decode_request(r#"{"v":1,"type":"set_gain","db":-6}"#), Ok(Request::SetGain { db: -6.0 }));
        assert_eq!(decode_request(r#"{"v":1,"type":"set_output"}"#), Ok(Request::SetOutput { device: None }));
        assert_eq!(
            decode_request(r#"{"v":1,"type":"set_output","device":null}"#),
            Ok(Request::SetOutput { device: None })
        );
    }

    #[test]
    fn replies_and_errors_round_trip() {
        let ok: Result<Reply, ErrorBody> =
            Ok(Reply::Hello(Hello { protocol: 1, engine_version: "0.1.0".into(), pid: 7 }));
        assert_eq!(decode_reply(&encode_reply(&ok)), Ok(ok));
        let o: Result<Reply, ErrorBody> = Ok(Reply::Output(OutputSet { device: "Speakers".into(), rate_hz: 48000 }));
        assert_eq!(decode_reply(&encode_reply(&o)), Ok(o));
        let t = Ok(Reply::Telemetry(Box::new(TelemetryMsg {
            seq: 3,
            meters: Meters { max_peak_dbfs: finite(f64::NEG_INFINITY), ..Meters::default() },
            ..TelemetryMsg::default()
        })));
        assert_eq!(decode_reply(&encode_reply(&t)), Ok(t));
        let err: Result<Reply, ErrorBody> = Err(ErrorBody::new(ErrorCode::InvalidSettings, "no"));
        let line = encode_reply(&err);
        assert_eq!(line, r#"{"v":1,"error":{"code":"invalid_settings","message":"no"}}"#);
        assert_eq!(decode_reply(&line), Ok(err));
    }

    #[test]
    fn idle_is_on_the_wire_and_false_from_an_engine_that_does_not_send_it() {
        let t = TelemetryMsg { idle: true, ..TelemetryMsg::default() };
        let line = encode_reply(&Ok(Reply::Telemetry(Box::new(t.clone()))));
        assert!(line.contains(r#""idle":true"#), "{line}");
        // An older engine (before `idle` was added within v1) omits it.
        let old = line.replace(r#""idle":true,"#, "");
        assert!(!old.contains("idle"), "{old}");
        let Ok(Ok(Reply::Telemetry(back))) = decode_reply(&old) else { panic!("{old}") };
        assert_eq!(*back, TelemetryMsg { idle: false, ..t });
    }

    #[test]
    fn bad_input_is_refused_with_a_code_and_advice() {
        let code = |l: &str| decode_request(l).unwrap_err().code;
        assert_eq!(code("{not json"), ErrorCode::MalformedJson);
        assert_eq!(code("[1,2]"), ErrorCode::MalformedJson);
        assert_eq!(code(""), ErrorCode::MalformedJson);
        assert_eq!(code(r#"{"type":"status"}"#), ErrorCode::UnsupportedVersion);
        assert_eq!(code(r#"{"v":2,"type":"status"}"#), ErrorCode::UnsupportedVersion);
        assert_eq!(code(r#"{"v":"1","type":"status"}"#), ErrorCode::UnsupportedVersion);
        assert_eq!(code(r#"{"v":1}"#), ErrorCode::UnknownRequest);
        assert_eq!(code(r#"{"v":1,"type":"reboot"}"#), ErrorCode::UnknownRequest);
        assert_eq!(code(r#"{"v":1,"type":"set_gain"}"#), ErrorCode::BadRequest);
        assert_eq!(code(r#"{"v":1,"type":"set_gain","db":"loud"}"#), ErrorCode::BadRequest);
        let e = decode_request(r#"{"v":2,"type":"status"}"#).unwrap_err();
        assert!(e.message.contains("speaks version 1"), "{e}");
        let e = decode_request(r#"{"v":1,"type":"reboot"}"#).unwrap_err();
        assert!(e.message.contains("set_gain"), "{e}");
    }
}
