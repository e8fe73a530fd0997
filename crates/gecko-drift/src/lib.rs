//! Gecko drift control: keeps the shared-memory ring's fill level at its
//! target while the virtual device (Gecko Sink, on the host clock) and the
//! real output device (on its own crystal) run at slightly different rates.
//!
//! - [`DriftLoop`] — owned by the engine's real-time output callback:
//!   [`DriftLoop::render`] pulls frames from a [`gecko_ring::Reader`] at the
//!   output rate, measures the fill level, runs the controller and applies
//!   its correction through one of two actuators:
//!   - **clock steering** ([`Actuator::Steering`]): the driver's zero-timestamp
//!     clock is steered (`clock_adjust_ppm`, docs/shm-protocol.md §3, §7) so
//!     Gecko Sink runs at the output device's real rate and frames pass
//!     bit-transparently;
//!   - **adaptive resampling** ([`Actuator::Resampling`]): rubato's f64 sinc
//!     resampler with a variable ratio ([`AdaptiveResampler`]), when the
//!     rates differ (44.1 kHz into 48 kHz) or steering is unavailable.
//! - [`PiController`] — the fill-level PI loop (equations in [`controller`]).
//!
//! Design, constants and measured results: docs/drift-control.md.

pub mod controller;
mod drift;
pub mod resampler;

pub use controller::{ControllerParams, LockChange, PiController};
pub use drift::{Actuator, ActuatorChoice, DriftConfig, DriftEvents, DriftLoop, Phase, RenderReport};
pub use resampler::{AdaptiveResampler, Quality, ResamplerBuildError, SincFilter};
