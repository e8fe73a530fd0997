//! Unique names for scratch rings: simulations, tests and benches that load
//! the driver under a name of their own instead of Gecko Sink's.

use std::sync::atomic::{AtomicU32, Ordering};

/// A POSIX shm name `/gk<tag><pid>n<k>` unique per process and call; the
/// ring's segments (writer and `.rd` reader) of that name are removed when
/// it is made (a leftover of an earlier process with the same pid) and when
/// it is dropped. A `tag` of up to 4 bytes keeps the name within the 28
/// bytes the ring's writer names may have (docs/shm-protocol.md).
#[derive(Debug)]
pub struct ShmName(pub String);

impl ShmName {
    /// A new name; `tag` tells whose it is (e.g. the test file).
    pub fn new(tag: &str) -> ShmName {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = ShmName(format!("/gk{tag}{}n{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
        let _ = gecko_ring::unlink_segments(&n.0);
        n
    }
}

impl Drop for ShmName {
    fn drop(&mut self) {
        let _ = gecko_ring::unlink_segments(&self.0);
    }
}
