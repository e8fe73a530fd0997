//! Errors of the ring, each with a message that says what to do.

use std::io;

/// Everything that can go wrong attaching to or reading the shared-memory ring.
///
/// Every value read from the other side's segment is validated; invalid
/// contents become one of these errors, never a crash or a hang.
#[derive(Debug, thiserror::Error)]
pub enum RingError {
    /// The shm name is not one both macOS and Linux accept.
    #[error("invalid shared-memory name {name:?}: {reason}")]
    InvalidName {
        /// The name as given.
        name: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// The writer segment does not exist: the driver has not created it.
    #[error(
        "Gecko Sink's shared memory {name} does not exist: the driver is not installed or not \
         loaded. On macOS install Gecko and restart coreaudiod (`gecko install`); on Linux start \
         the simulated host (`gecko host`) first"
    )]
    NotInstalled {
        /// The writer segment's name.
        name: String,
    },
    /// `shm_open` failed for a reason other than "does not exist".
    #[error("could not open shared memory {name}: {source} (check its owner and mode with `ls -l /dev/shm` on Linux)")]
    ShmOpen {
        /// The segment's name.
        name: String,
        /// The OS error.
        #[source]
        source: nix::Error,
    },
    /// `fstat`, `ftruncate` or `fchmod` on a segment failed.
    #[error("could not {what} shared memory {name}: {source}")]
    ShmIo {
        /// The operation that failed.
        what: &'static str,
        /// The segment's name.
        name: String,
        /// The OS error.
        #[source]
        source: nix::Error,
    },
    /// `mmap` failed.
    #[error("could not map shared memory {name}: {source}")]
    Mmap {
        /// The segment's name.
        name: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The segment is smaller than its header says (or than any v1 segment).
    #[error(
        "shared memory {name} is truncated: {size} bytes, at least {needed} needed; restart the driver (coreaudiod or `gecko host`)"
    )]
    Truncated {
        /// The segment's name.
        name: String,
        /// Its size according to fstat, bytes.
        size: u64,
        /// The size the header requires, bytes.
        needed: u64,
    },
    /// The segment does not start with Gecko's magic number.
    #[error(
        "shared memory {name} is not a Gecko ring (magic {magic:#018x}); another program uses this name, or it is corrupt: remove it or pick another name with --shm-name"
    )]
    Foreign {
        /// The segment's name.
        name: String,
        /// The magic found.
        magic: u64,
    },
    /// The writer speaks another protocol version.
    #[error(
        "shared memory {name} uses ring protocol v{found}, this engine speaks v{expected}: install the driver and engine from the same Gecko release"
    )]
    IncompatibleVersion {
        /// The segment's name.
        name: String,
        /// The version found.
        found: u32,
        /// The version this crate implements.
        expected: u32,
    },
    /// [`crate::LoopbackWriter::create`] was given a format the loopback
    /// segment cannot hold.
    #[error("cannot create the loopback segment {name}: {what}")]
    LoopbackFormat {
        /// The segment's name.
        name: String,
        /// What is wrong.
        what: String,
    },
    /// A field has a value the protocol forbids.
    #[error("shared memory {name} is corrupt: {field} = {value} ({expected})")]
    Corrupt {
        /// The segment's name.
        name: String,
        /// The offending field.
        field: &'static str,
        /// Its value, formatted.
        value: String,
        /// What the protocol requires.
        expected: &'static str,
    },
    /// The writer's seqlock never settled: a hung or hostile writer.
    #[error(
        "the writer state in {name} never became consistent (seqlock held for {tries} tries); the driver is hung or the segment is corrupt"
    )]
    Unstable {
        /// The segment's name.
        name: String,
        /// How many reads were tried.
        tries: u32,
    },
    /// The process that wrote the segment no longer exists.
    #[error(
        "shared memory {name} is stale: its writer (pid {pid}) is no longer running; restart coreaudiod (or `gecko host`)"
    )]
    StaleWriter {
        /// The segment's name.
        name: String,
        /// The writer pid recorded in the header.
        pid: u32,
    },
    /// Timed out waiting for a writer to appear or become live.
    #[error("timed out after {waited_ms} ms waiting for Gecko Sink's driver ({name}): {last}")]
    Timeout {
        /// The segment's name.
        name: String,
        /// How long we waited, ms.
        waited_ms: u64,
        /// The last reason the attach failed.
        last: Box<RingError>,
    },
}

impl RingError {
    /// True for the errors a later retry may cure: the writer is missing or
    /// stale and may yet be (re)started, or the segment is caught while the
    /// driver creates it (still short, or sized but with its header still
    /// zero).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            RingError::NotInstalled { .. }
                | RingError::StaleWriter { .. }
                | RingError::Unstable { .. }
                | RingError::Truncated { .. }
                | RingError::Foreign { magic: 0, .. }
        )
    }
}
