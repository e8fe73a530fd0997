//! gecko-simhost: the simulated coreaudiod host.
//!
//! Loads the real Gecko AudioServerPlugIn driver from its bundle exactly as
//! the HAL does (Info.plist → factory → `QueryInterface` →
//! `AudioServerPlugInDriverInterface`), gives it a host interface of its own
//! ([`Host`]), reads its properties, starts IO and runs IO cycles paced by a
//! clock (real time, or as fast as the ring's reader allows), feeding the mix
//! from an audio file or a generator ([`source`]).
//!
//! # Linking requirement: `-rdynamic`
//! The driver imports a handful of CoreFoundation functions; this crate
//! implements them in Rust ([`cf`]) and they must be exported from the
//! *executable*'s dynamic symbol table. Every binary that embeds this crate
//! must therefore link with `-rdynamic`: put
//! `println!("cargo:rustc-link-arg=-rdynamic");` in that package's build.rs
//! (this crate's own build.rs does it for its tests). Without it, `dlopen`
//! of the driver fails with "undefined symbol: CFRetain" ([`LoadError::Dlopen`]).
//!
//! # Shapes and units
//! Audio buffers are interleaved f32: `frames × channels` samples. Sample
//! times are in frames (f64, as in `AudioTimeStamp`), host times in host
//! ticks (ns with the default clock), rates in Hz.

pub mod bundle;
pub mod cf;
pub mod driver;
pub mod ffi;
pub mod host;
pub mod io;
pub mod source;
pub mod system;

pub use bundle::{BundleInfo, LoadError, load, load_isolated, read_bundle_info};
pub use driver::{DeviceInfo, Driver, DriverError, OsStatus, RawWriteMix, SimClock};
pub use host::{ConfigChangeRequest, Host, Notification};
pub use io::{
    HostConfig, HostError, HostProgress, HostReport, InputReport, IoOperation, IoRunner, Pacing, RECORD_INPUT_TAIL,
    SimulatedClock, SourceSpec, ZeroTimeStampCheck, cycle_info, run,
};
pub use source::{AudioSource, FileSource, Resample, SineSource, SourceError};
