//! The fixture the engine's render tests share: the C driver loaded through
//! the simulated host on a simulated clock (1 GHz host ticks from 1 s),
//! initialized, then started with the engine's reader attached to its ring.

use gecko_ring::{AttachOptions, Reader};
use gecko_simhost::{DeviceInfo, Driver, Host, IoRunner, SimulatedClock};
use std::sync::Arc;

/// The ring `/<tag><pid>` (stale segments unlinked), and the driver loaded,
/// configured on the simulated clock and initialized.
pub fn driver(tag: &str) -> (String, Driver, Arc<SimulatedClock>) {
    let name = format!("/{tag}{}", std::process::id());
    let _ = gecko_ring::unlink_segments(&name);
    let mut driver = gecko_simhost::load_isolated(gecko_driver_bundle::bundle_path()).unwrap();
    let clock = SimulatedClock::new(1_000_000_000, 1e9);
    clock.configure(&mut driver, &name).unwrap();
    driver.initialize(Arc::new(Host::new())).unwrap();
    (name, driver, clock)
}

/// Gecko Sink, the engine's reader attached to ring `name`, and IO started
/// in 512-frame cycles.
pub fn start<'a>(driver: &'a Driver, name: &str) -> (DeviceInfo, Reader, IoRunner<'a>) {
    let dev = driver.find_device().unwrap();
    let reader = Reader::attach(name, &AttachOptions::default()).unwrap();
    let mut io = IoRunner::new(driver, dev.clone(), 512, 1e9).unwrap();
    io.start_io().unwrap();
    (dev, reader, io)
}
