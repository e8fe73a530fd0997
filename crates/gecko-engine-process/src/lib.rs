//! The engine process's own room, between the engine ([`gecko_engine`]) and
//! its control socket ([`gecko_control`]): neither of those knows the other.
//!
//! - [`bind`]: opens the control socket (an explicit path must work; with the
//!   default path another engine already listening is not an error).
//! - [`snapshot`]: the engine's progress in the protocol's terms, with typed
//!   wire enums ([`gecko_control::DriftActuator`], [`gecko_control::DriftPhase`]).
//! - [`SocketOutputs`]: the socket's `set_output` requests as the engine's
//!   [`gecko_engine::OutputRequests`].
//! - [`stdin`]: live commands on standard input, the same requests as the socket's.
//! - [`bindings`]: the preset bound to each output device, applied when the output changes.
//!
//! `gecko engine` wires these together; `gecko ctl` is a client only.

pub mod bindings;
pub mod stdin;

use gecko_control::protocol::{DriftInfo, FormatInfo, LoopbackInfo, Meters, TelemetryMsg, WriterStats, finite};
use gecko_control::server::Snapshot;
use gecko_control::{ControlServer, ControlState, DriftActuator, DriftPhase, EngineInfo, OutputSet, ServerError};
use gecko_drift::{Actuator, Phase};
use gecko_engine::EngineProgress;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The drift loop's actuator on the wire.
pub fn wire_actuator(a: Actuator) -> DriftActuator {
    match a {
        Actuator::Steering => DriftActuator::Steering,
        Actuator::Resampling => DriftActuator::Resampling,
    }
}

/// The drift loop's phase on the wire.
pub fn wire_phase(p: Phase) -> DriftPhase {
    match p {
        Phase::Prime => DriftPhase::Prime,
        Phase::Settle => DriftPhase::Settle,
        Phase::Measure => DriftPhase::Measure,
        Phase::Track => DriftPhase::Track,
        Phase::RebuildRequired => DriftPhase::RebuildRequired,
    }
}

/// What the engine's progress callback publishes: a copy of the progress in
/// the protocol's terms (on the control thread; the audio thread is not
/// involved). Levels are dBFS/LUFS/dBTP with silence as `null` ([`finite`]).
pub fn snapshot(p: &EngineProgress) -> Snapshot {
    let t = &p.telemetry;
    let m = &t.meters;
    let n = m.channels.min(m.peak_dbfs.len());
    let db = |x: f32| finite(x as f64);
    let w = &p.writer;
    Snapshot {
        loopback: LoopbackInfo {
            requested: None, // the server fills in what its clients chose
            post_available: p.post_available,
            ..gecko_services::loopback::info_from_counters(&p.loopback)
        },
        format: FormatInfo {
            channels: p.format.channels,
            sample_rate: p.format.sample_rate,
            generation: p.format.generation,
        },
        output_device: p.output.clone(),
        output_losses: p.output_losses,
        writer: WriterStats {
            write_count: w.write_count,
            io_cycles: w.io_cycles,
            gap_events: w.gap_events,
            gap_frames: w.gap_frames,
            overlap_events: w.overlap_events,
            overlap_frames: w.overlap_frames,
            overrun_events: w.overrun_events,
            overrun_frames: w.overrun_frames,
        },
        telemetry: TelemetryMsg {
            seq: 0,
            frames_in: t.frames_in,
            frames_out: t.frames_out,
            io_running: t.io_running,
            idle: p.idle,
            meters: Meters {
                peak_dbfs: m.peak_dbfs[..n].iter().map(|&x| db(x)).collect(),
                rms_dbfs: m.rms_dbfs[..n].iter().map(|&x| db(x)).collect(),
                max_peak_dbfs: db(m.max_peak_dbfs),
                momentary_lufs: finite(m.loudness.momentary_lufs),
                short_term_lufs: finite(m.loudness.short_term_lufs),
                integrated_lufs: finite(m.loudness.integrated_lufs),
                loudness_range_lu: finite(m.loudness.loudness_range_lu),
                true_peak_dbtp: finite(m.loudness.true_peak_dbtp),
                limiter_reduction_db: m.limiter.gain_reduction_db as f64,
                clipped_samples: m.limiter.clipped_samples,
            },
            drift: Some(DriftInfo {
                actuator: t.actuator.map(wire_actuator),
                phase: t.phase.map(wire_phase),
                correction_ppm: t.correction_ppm,
                applied_ppm: t.applied_ppm,
                locked: t.locked,
                fill_frames: t.fill_frames,
                fill_ms: t.fill_frames / p.format.sample_rate * 1000.0,
                underrun_frames: t.underrun_frames,
            }),
        },
    }
}

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

/// Why the control socket could not be opened at an explicit path.
#[derive(Debug, thiserror::Error)]
#[error("could not open the control socket: {source}")]
pub struct BindError {
    /// The path asked for.
    pub path: PathBuf,
    /// What went wrong.
    pub source: ServerError,
}

/// Opens the engine's control socket at `explicit`, or at
/// [`gecko_control::default_socket_path`] when `None`. An explicit path must
/// work (`Err`); at the default path, failing (another engine listening
/// there) is logged and the engine runs without a socket (`Ok(None)`).
pub fn bind(
    explicit: Option<&Path>,
    state: &Arc<ControlState>,
    info: EngineInfo,
) -> Result<Option<ControlServer>, BindError> {
    let path = explicit.map(Path::to_path_buf).unwrap_or_else(gecko_control::default_socket_path);
    match ControlServer::bind(&path, state.clone(), info) {
        Ok(s) => {
            tracing::info!(path = %path.display(), "control socket");
            Ok(Some(s))
        }
        Err(e) if explicit.is_none() => {
            tracing::warn!("no control socket: {e}");
            Ok(None)
        }
        Err(source) => Err(BindError { path, source }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_drift_state_has_its_wire_name() {
        assert_eq!(wire_actuator(Actuator::Steering).name(), "steering");
        assert_eq!(wire_actuator(Actuator::Resampling).name(), "resampling");
        let phases = [Phase::Prime, Phase::Settle, Phase::Measure, Phase::Track, Phase::RebuildRequired];
        let names: Vec<_> = phases.into_iter().map(|p| wire_phase(p).name()).collect();
        assert_eq!(names, ["prime", "settle", "measure", "track", "rebuild_required"]);
    }

    #[test]
    fn an_explicit_socket_must_open_the_default_may_not() {
        let dir = tempfile::tempdir().unwrap();
        let state = Arc::new(ControlState::new(gecko_dsp::ChainParams::bypass(), None));
        let info = || EngineInfo {
            ring: "/GeckoTest".into(),
            recording: None,
            engine_version: env!("CARGO_PKG_VERSION").into(),
        };
        let path = dir.path().join("engine.sock");
        let first = bind(Some(&path), &state, info()).unwrap();
        assert!(first.is_some() && path.exists());
        // a second engine at the same explicit path: a clear error naming it
        let Err(e) = bind(Some(&path), &state, info()) else { panic!("a second engine bound the same socket") };
        assert!(e.to_string().contains("engine.sock"), "{e}");
        drop(first);
        // a path through a regular file cannot hold a socket
        std::fs::write(dir.path().join("file"), "").unwrap();
        let bad = dir.path().join("file/engine.sock");
        assert!(bind(Some(&bad), &state, info()).is_err());
    }
}
