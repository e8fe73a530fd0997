//! Gecko's control channel: how the app and `gecko ctl` talk to a running
//! engine process, so that the app can be closed and reopened without
//! interrupting audio.
//!
//! Newline-delimited JSON over a Unix domain socket; every message carries
//! `"v": 1` ([`PROTOCOL_VERSION`]). See `docs/control-protocol.md`.
//!
//! - [`protocol`]: the messages (requests, replies, structured errors).
//! - [`state`]: the DSP settings being edited ([`state::Edit`] applied to
//!   [`gecko_dsp::ChainParams`]), shared by the socket and the engine's stdin commands.
//! - [`server`]: [`ControlServer`], run inside the engine; its control thread
//!   polls it without blocking and feeds it status and telemetry. The audio
//!   thread is never involved.
//! - [`client`]: [`ControlClient`], typed requests and telemetry subscriptions.

pub mod client;
pub mod protocol;
pub mod server;
pub mod state;

pub use client::{ClientError, ControlClient, Subscription};
pub use protocol::{
    Applied, DriftActuator, DriftInfo, DriftPhase, ErrorBody, ErrorCode, FormatInfo, Hello, LoopbackInfo, LoopbackTap,
    Meters, OutputSet, PROTOCOL_VERSION, Reply, Request, Status, TelemetryMsg, WriterStats,
};
pub use server::{ControlServer, EngineInfo, ServerError};
pub use state::{ControlState, Edit, OUTPUT_SWITCH_TIMEOUT, OutputTicket};

use std::path::PathBuf;

/// The default socket path: `$XDG_RUNTIME_DIR/gecko/engine.sock`, or
/// `/tmp/gecko-<uid>/engine.sock` when `XDG_RUNTIME_DIR` is unset or empty.
pub fn default_socket_path() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d).join("gecko").join("engine.sock"),
        // SAFETY: geteuid has no preconditions and cannot fail.
        _ => PathBuf::from(format!("/tmp/gecko-{}", unsafe { libc::geteuid() })).join("engine.sock"),
    }
}
