//! What the `gecko` CLI and the tray app both do for a person, so that both
//! behave the same:
//!
//! - [`locations`]: where things are (the control socket, the user's preset
//!   folder, the simulated system's root on Linux, the `gecko` executable),
//!   from the environment with the same defaults everywhere.
//! - [`presets`]: the user's preset folder beside the built-ins: listing,
//!   loading by name or file, saving, and what a client sends the engine.
//! - [`supervisor`]: starting `gecko engine` as its own process, knowing
//!   whether it is ours, stopping it.
//! - [`silence`]: the rule that gives the person their sound back when Gecko
//!   Sink is the system output and no engine has played for a while.

pub mod locations;
pub mod loopback;
pub mod presets;
pub mod silence;
pub mod supervisor;

pub use locations::Locations;
pub use presets::{ImportOutcome, LoadedPreset, PresetEntry, PresetSource, PresetStore, PresetStoreError};
pub use silence::SilenceRule;
pub use supervisor::{EngineSupervisor, LaunchAgent, Started, SupervisorError};
