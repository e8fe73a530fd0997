//! The Gecko shared-memory ring, protocol v1 — the engine side.
//!
//! The C driver inside coreaudiod writes the device's mixed output, as
//! interleaved float32 frames, into a POSIX shm segment it owns
//! (`/GeckoAudioShm`); the engine maps that segment read-only and publishes
//! its read position in a second segment it owns (`/GeckoAudioShm.rd`). The
//! byte layout is `driver/include/gecko_shm_abi.h`, mirrored in [`abi`]; the
//! protocol (orderings, names, who creates and unlinks what, validation) is
//! specified in `docs/shm-protocol.md`.
//!
//! - [`Reader`]: attach, read blocks of frames, follow driver restarts.
//! - [`Peek`]: a passive look at both segments (pacing, status, tests).
//! - [`LoopbackWriter`], [`Tap`]: Gecko Sink's input stream (the loopback).
//! - [`unlink_segments`]: remove a ring's segments.
//! - [`host_clock`]: the host clock of the zero timestamps (ticks ≠ ns on Apple silicon).
//!
//! Every value read from the driver's segment is validated before use; bad
//! contents become a [`RingError`] with a message that says what to do.
//!
//! Known limit: a peer that *shrinks* a segment after it was mapped makes the
//! next access fault (SIGBUS). macOS does not allow resizing a POSIX shm
//! object once sized, so this cannot happen there; on Linux only a process of
//! the segment owner's user can do it.

pub mod abi;
mod driver_state;
mod error;
pub mod host_clock;
mod loopback;
mod peek;
mod reader;
mod shm;
mod view;

pub use driver_state::{DriverRingState, ParseError as RingStateParseError, SegmentSource};
pub use error::RingError;
pub use loopback::{LoopbackCounters, LoopbackWriter, Tap, loopback_name};
pub use peek::{Peek, RingStatus};
pub use reader::{AttachOptions, Read, Reader, ReaderCounters, RingEvent};
pub use shm::{Precreated, precreate_writer_segment, process_alive, reader_name, unlink_segments, validate_name};
pub use view::{RingFormat, WriterCounters, WriterState};
