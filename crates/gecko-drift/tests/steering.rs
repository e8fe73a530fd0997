//! Clock steering against the real driver in simulated time: ±100 and
//! ±1000 ppm output-crystal skew, one hour of audio each. The output must be
//! the input, bit for bit, once locked. And Auto's fallback to resampling
//! when the driver cannot steer.

use gecko_drift::{Actuator, ActuatorChoice, DriftConfig};
use gecko_test_kit::drift_sim::*;

fn steering(dev: f64, out: f64) -> DriftConfig {
    let mut c = DriftConfig::new(2, dev, out);
    c.actuator = ActuatorChoice::Auto; // equal rates: Auto must pick steering
    c
}

fn one_hour(skew: f64) {
    let cfg = SimConfig::new(3600.0, skew, steering);
    let r = run(&cfg);
    println!("{}", summary(&format!("steering, skew {skew:+} ppm, 1 h"), &r));
    let s = r.first();
    let last = r.last.expect("rendered");
    assert_eq!(last.actuator, Actuator::Steering, "Auto picks steering at equal rates and keeps it");
    let lock = s.lock_in_s().expect("locked");
    assert!(lock <= 10.0, "lock-in took {lock} s");
    assert!(s.p99() <= 32.0, "p99 |fill error| {} frames", s.p99());
    assert_eq!(s.underrun_frames_locked, 0, "underruns after lock-in");
    assert_eq!(r.driver_overrun_frames_end, r.driver_overrun_frames_at_lock, "driver overruns after lock-in");
    assert_eq!(r.ring_overruns_locked, 0);
    // Locked for the whole hour after lock-in: no lock loss reported.
    assert!(
        !r.events.iter().any(|(t, e)| *t > lock && e.contains(gecko_drift::DriftEvents::LOCK_LOST)),
        "{:?}",
        r.events
    );
    // Bit-transparent: every frame rendered after lock-in is the next input frame.
    let after_lock_frames = ((3600.0 - lock) * 48_000.0 * (1.0 + skew * 1e-6)) as u64;
    assert!(
        r.bit_checked_frames + 1024 >= after_lock_frames && r.bit_checked_frames <= after_lock_frames + 1024,
        "checked {} of ~{after_lock_frames}",
        r.bit_checked_frames
    );
    assert_eq!(r.bit_mismatched_frames, 0);
    // The driver runs at the output crystal's rate.
    assert!((last.applied_ppm - skew).abs() < 20.0, "applied {} ppm for skew {skew}", last.applied_ppm);
}

#[test]
fn steering_plus_100_ppm_one_hour() {
    one_hour(100.0);
}

#[test]
fn steering_minus_100_ppm_one_hour() {
    one_hour(-100.0);
}

#[test]
fn steering_plus_1000_ppm_one_hour() {
    one_hour(1000.0);
}

#[test]
fn steering_minus_1000_ppm_one_hour() {
    one_hour(-1000.0);
}

/// A driver that cannot steer (it never applies the clock requests, as an
/// older build or one that cannot see the engine's reader segment would):
/// Auto notices within a few zero-timestamp periods, reports it once, and
/// falls back to adaptive resampling, which then holds the fill like the
/// resampling runs do. Ten minutes, +100 ppm, `Draft` filter (the control
/// loop is what is under test).
#[test]
fn auto_falls_back_to_resampling_when_the_driver_cannot_steer() {
    fn auto_draft(dev: f64, out: f64) -> DriftConfig {
        let mut c = steering(dev, out);
        c.quality = gecko_drift::Quality::Draft;
        c
    }
    let skew = 100.0;
    let mut cfg = SimConfig::new(600.0, skew, auto_draft);
    cfg.driver_ignores_clock_requests = true;
    let r = run(&cfg);
    println!("{}", summary("Auto on a driver that cannot steer, +100 ppm, 10 min", &r));
    let unavailable: Vec<f64> = r
        .events
        .iter()
        .filter(|(_, e)| e.contains(gecko_drift::DriftEvents::STEERING_UNAVAILABLE))
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(unavailable.len(), 1, "reported once: {:?}", r.events);
    assert!(unavailable[0] <= 5.0, "noticed after {} s", unavailable[0]);
    let last = r.last.expect("rendered");
    assert_eq!(last.actuator, Actuator::Resampling, "fell back to resampling and stayed there");
    assert_eq!(last.applied_ppm, 0.0, "the driver's clock stayed at nominal");
    let s = r.first();
    let lock = s.lock_in_s().expect("locked after the fallback");
    assert!(
        lock > unavailable[0] && lock <= unavailable[0] + 10.0,
        "locked at {lock} s, fallback at {} s",
        unavailable[0]
    );
    assert!(s.p99() <= 32.0, "p99 |fill error| {} frames", s.p99());
    assert_eq!(s.underrun_frames_locked, 0, "underruns after lock-in");
    assert_eq!(r.driver_overrun_frames_end, r.driver_overrun_frames_at_lock, "driver overruns after lock-in");
    assert_eq!(r.ring_overruns_locked, 0);
    assert!(
        !r.events.iter().any(|(t, e)| *t > lock && e.contains(gecko_drift::DriftEvents::LOCK_LOST)),
        "{:?}",
        r.events
    );
    let c = last.correction_ppm;
    assert!((c - skew).abs() < 30.0, "correction {c} ppm for skew {skew}");
}
