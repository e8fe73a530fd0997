//! Test helpers, in one dev-only crate (never a dependency of a production
//! crate: `cargo tree -e normal` of gecko, the engine or the app does not
//! contain it).
//!
//! - [`forge`]: writer segments forged field by field by the test itself, to
//!   feed readers valid, stale, corrupt or hostile contents.
//! - [`ShmMap`], [`ShmName`]: a whole shm segment mapped by name; unique
//!   scratch ring names removed on drop.
//! - [`drift_sim`]: the drift simulation harness — the real driver on a
//!   simulated host clock, IO cycles scheduled from its zero timestamps, an
//!   output device with its own crystal.
//! - [`proc_load`]: a process's context switches and CPU time from `/proc`
//!   (the engine's cost while idle and while playing).

pub mod drift_sim;
pub mod forge;
pub mod proc_load;
pub mod shm_map;
pub mod shm_name;

pub use shm_map::ShmMap;
pub use shm_name::ShmName;
