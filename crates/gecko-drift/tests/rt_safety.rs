//! The real render path allocates nothing: every `DriftLoop::render` of a
//! simulated run (acquisition, slip, tracking; steering and resampling)
//! runs inside `assert_no_alloc`, with the allocation checker installed as
//! this test binary's global allocator (an allocation aborts the test).

use assert_no_alloc::AllocDisabler;
use gecko_drift::{ActuatorChoice, DriftConfig, DriftEvents};
use gecko_test_kit::drift_sim::*;

#[global_allocator]
static ALLOC: AllocDisabler = AllocDisabler;

fn steer(dev: f64, out: f64) -> DriftConfig {
    DriftConfig::new(2, dev, out)
}

fn resample(dev: f64, out: f64) -> DriftConfig {
    let mut c = DriftConfig::new(2, dev, out);
    c.actuator = ActuatorChoice::Resample;
    c
}

#[test]
fn render_never_allocates_while_steering_or_resampling() {
    for (label, f) in [("steering", steer as fn(f64, f64) -> DriftConfig), ("resampling", resample)] {
        let mut cfg = SimConfig::new(30.0, 1000.0, f);
        cfg.no_alloc_render = true;
        let r = run(&cfg);
        println!("{}", summary(label, &r));
        // The run went through every phase (slip and lock included).
        assert!(
            r.all_events.contains(DriftEvents::SLIP) && r.all_events.contains(DriftEvents::LOCKED),
            "{label}: {:?}",
            r.events
        );
        assert!(r.renders > 2800);
    }
}
