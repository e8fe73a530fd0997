//! The fill-level controller: a PI loop (a type-2 delay-locked loop) on the
//! ring's fill error, with an output clamp, bounded slew, anti-windup and
//! lock detection. Pure arithmetic: no allocation, no system call.
//!
//! # Plant
//! With the correction `u` (ppm; + = the ring fills faster: the device clock
//! runs faster when steering, the resampler consumes less input when
//! resampling) and the skew `s` (ppm; the output crystal against the device
//! clock), the fill `F` (frames) obeys
//!
//! ```text
//! dF/dt = g · (u − s),      g = fs · 1e-6   frames/s per ppm
//! ```
//!
//! (`fs` = the ring's sample rate, Hz). The ring is an integrator: the
//! correction sets the slope of the fill, not the fill.
//!
//! # Law
//! With the error `e = F − target` (frames):
//!
//! ```text
//! i   ← i − ki · e · dt                 (frozen while the output is clamped
//!                                         and e would push it further out)
//! u*  = clamp(i − kp · e, ±max_ppm)
//! u   ← u + clamp(u* − u, ±slew · dt)   (bounded slew, ppm/s)
//! ```
//!
//! Closed loop (ignoring clamp and slew): `s² + g·kp·s + g·ki = 0`, so
//! `kp = 2ζω/g` and `ki = ω²/g` put the poles at natural frequency `ω`
//! (rad/s) and damping `ζ`. The integrator `i` converges to the skew `s`, so
//! a constant skew leaves no steady-state fill error (type 2 loop).

/// Tuning of [`PiController`]. See the module docs for the equations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ControllerParams {
    /// The ring's sample rate, Hz (sets the plant gain `g = fs · 1e-6`
    /// frames/s per ppm).
    pub sample_rate: f64,
    /// Closed-loop natural frequency ω, rad/s. Default 0.25: the loop's
    /// crossover (≈ 2ζω = 0.5 rad/s) stays well below 1/(actuator delay) —
    /// with clock steering the driver applies a new rate only at the next
    /// zero-timestamp period boundary (≤ 16384 frames = 341 ms at 48 kHz)
    /// and the HAL sees it one period later, ≈ 0.5 s of dead time, which
    /// costs ω_c·τ ≈ 0.25 rad (14°) of phase margin.
    pub omega: f64,
    /// Damping ζ. Default 1.0 (critically damped: no ringing of the fill).
    pub zeta: f64,
    /// Output clamp, ±ppm. Default 10,000 = the driver's clamp
    /// (`GECKO_SHM_MAX_CLOCK_ADJUST_PPM`, docs/shm-protocol.md §3).
    pub max_ppm: f64,
    /// Slew bound of the output, ppm per second. Default 300: about the
    /// driver's own slew (100 ppm per 341 ms period = 293 ppm/s at 48 kHz);
    /// 300 ppm/s is a pitch change of 0.5 cent/s, far below audibility.
    pub slew_ppm_per_s: f64,
    /// Lock is declared after |e| stayed below this many frames for
    /// `lock_hold_s`. Default 24 frames (0.5 ms at 48 kHz).
    pub lock_threshold_frames: f64,
    /// Seconds |e| must stay below the lock threshold. Default 1.0 s (about
    /// three zero-timestamp periods).
    pub lock_hold_s: f64,
    /// Lock is lost when |e| exceeds this many frames. Default 64 frames
    /// (hysteresis against the lock threshold).
    pub unlock_threshold_frames: f64,
}

impl ControllerParams {
    /// The defaults above for a ring at `sample_rate` Hz.
    pub fn new(sample_rate: f64) -> Self {
        ControllerParams {
            sample_rate,
            omega: 0.25,
            zeta: 1.0,
            max_ppm: gecko_ring::abi::MAX_CLOCK_ADJUST_PPM,
            slew_ppm_per_s: 300.0,
            lock_threshold_frames: 24.0,
            lock_hold_s: 1.0,
            unlock_threshold_frames: 64.0,
        }
    }

    /// Plant gain g, frames per second per ppm.
    pub fn plant_gain(&self) -> f64 {
        self.sample_rate * 1e-6
    }

    /// Proportional gain kp = 2ζω/g, ppm per frame of error.
    pub fn kp(&self) -> f64 {
        2.0 * self.zeta * self.omega / self.plant_gain()
    }

    /// Integral gain ki = ω²/g, ppm per (frame · s) of error.
    pub fn ki(&self) -> f64 {
        self.omega * self.omega / self.plant_gain()
    }
}

/// What one [`PiController::update`] changed in the lock state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockChange {
    /// Nothing changed.
    None,
    /// The loop just locked.
    Locked,
    /// The loop just lost lock.
    Lost,
}

/// PI fill-level controller with clamp, slew bound, anti-windup and lock
/// detection (see the module docs).
#[derive(Debug, Clone)]
pub struct PiController {
    p: ControllerParams,
    kp: f64,
    ki: f64,
    /// Integrator, ppm (converges to the skew).
    integ: f64,
    /// Output after slew, ppm.
    out: f64,
    locked: bool,
    /// Seconds |e| has been below the lock threshold.
    calm_s: f64,
}

impl PiController {
    /// A controller at rest (output and integrator 0 ppm, unlocked).
    pub fn new(p: ControllerParams) -> Self {
        PiController { kp: p.kp(), ki: p.ki(), p, integ: 0.0, out: 0.0, locked: false, calm_s: 0.0 }
    }

    /// The parameters.
    pub fn params(&self) -> &ControllerParams {
        &self.p
    }

    /// Sets the output and the integrator to `ppm` (e.g. a measured skew)
    /// and clears the lock state: the start of tracking.
    pub fn preset(&mut self, ppm: f64) {
        let v = ppm.clamp(-self.p.max_ppm, self.p.max_ppm);
        self.integ = v;
        self.out = v;
        self.locked = false;
        self.calm_s = 0.0;
    }

    /// Clears the lock state only (output and integrator kept).
    pub fn unlock(&mut self) {
        self.locked = false;
        self.calm_s = 0.0;
    }

    /// The current correction, ppm.
    pub fn output(&self) -> f64 {
        self.out
    }

    /// The integrator, ppm: the loop's estimate of the skew.
    pub fn integrator(&self) -> f64 {
        self.integ
    }

    /// Whether the loop is locked.
    pub fn locked(&self) -> bool {
        self.locked
    }

    /// One step: fill error `err_frames` (F − target, frames) over `dt_s`
    /// seconds since the previous step. Returns the new correction (ppm)
    /// and any change of the lock state.
    pub fn update(&mut self, err_frames: f64, dt_s: f64) -> (f64, LockChange) {
        let dt = if dt_s.is_finite() { dt_s.clamp(0.0, 1.0) } else { 0.0 };
        let e = if err_frames.is_finite() { err_frames } else { 0.0 };
        let max = self.p.max_ppm;
        // Anti-windup (conditional integration): do not integrate further
        // into a saturated output.
        let di = -self.ki * e * dt;
        let unclamped = self.integ + di - self.kp * e;
        if unclamped.abs() < max || di.signum() != unclamped.signum() {
            self.integ = (self.integ + di).clamp(-max, max);
        }
        let target = (self.integ - self.kp * e).clamp(-max, max);
        let step = self.p.slew_ppm_per_s * dt;
        self.out += (target - self.out).clamp(-step, step);

        let mut change = LockChange::None;
        if e.abs() < self.p.lock_threshold_frames {
            self.calm_s += dt;
        } else {
            self.calm_s = 0.0;
        }
        if !self.locked && self.calm_s >= self.p.lock_hold_s {
            self.locked = true;
            change = LockChange::Locked;
        } else if self.locked && e.abs() > self.p.unlock_threshold_frames {
            self.locked = false;
            change = LockChange::Lost;
        }
        (self.out, change)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Simulates the ideal plant dF/dt = g (u − s) with the controller in
    /// the loop (no actuator lag) and returns the fill error after `secs`.
    fn run(ctrl: &mut PiController, skew: f64, e0: f64, secs: f64, mut each: impl FnMut(f64, f64)) -> f64 {
        let g = ctrl.params().plant_gain();
        let dt = 512.0 / 48_000.0;
        let mut e = e0;
        let mut t = 0.0;
        while t < secs {
            let (u, _) = ctrl.update(e, dt);
            e += g * (u - skew) * dt;
            t += dt;
            each(t, e);
        }
        e
    }

    #[test]
    fn gains_follow_from_omega_and_zeta() {
        let p = ControllerParams::new(48_000.0);
        assert!((p.plant_gain() - 0.048).abs() < 1e-12);
        assert!((p.kp() - 2.0 * 0.25 / 0.048).abs() < 1e-9);
        assert!((p.ki() - 0.0625 / 0.048).abs() < 1e-9);
    }

    #[test]
    fn integrator_converges_to_the_skew_and_the_error_to_zero() {
        for skew in [-1000.0, -100.0, 100.0, 1000.0] {
            let mut c = PiController::new(ControllerParams::new(48_000.0));
            let e = run(&mut c, skew, 0.0, 120.0, |_, _| {});
            assert!(e.abs() < 0.5, "skew {skew}: error {e}");
            assert!((c.integrator() - skew).abs() < 0.5, "skew {skew}: integrator {}", c.integrator());
            assert!(c.locked());
        }
    }

    #[test]
    fn output_respects_slew_and_clamp() {
        let mut p = ControllerParams::new(48_000.0);
        p.max_ppm = 500.0;
        let mut c = PiController::new(p);
        let dt = 0.01;
        let mut last = 0.0;
        for _ in 0..2000 {
            let (u, _) = c.update(-10_000.0, dt);
            assert!((u - last).abs() <= 300.0 * dt + 1e-9, "slew {last} -> {u}");
            assert!(u.abs() <= 500.0);
            last = u;
        }
        assert_eq!(last, 500.0);
        // Anti-windup: the integrator did not run away while clamped, so the
        // output leaves the clamp as soon as the error changes sign.
        assert!(c.integrator() <= 500.0);
        let (u, _) = c.update(100.0, dt);
        assert!(u < 500.0);
    }

    #[test]
    fn lock_needs_calm_and_is_lost_on_a_big_error() {
        let mut c = PiController::new(ControllerParams::new(48_000.0));
        let mut changes = vec![];
        for k in 0..200 {
            let (_, ch) = c.update(if k < 150 { 1.0 } else { 100.0 }, 0.01);
            if ch != LockChange::None {
                changes.push((k, ch));
            }
        }
        assert_eq!(changes, vec![(99, LockChange::Locked), (150, LockChange::Lost)]);
    }

    #[test]
    fn non_finite_inputs_do_not_poison_the_state() {
        let mut c = PiController::new(ControllerParams::new(48_000.0));
        c.preset(100.0);
        c.update(f64::NAN, 0.01);
        c.update(1.0, f64::INFINITY);
        assert!(c.output().is_finite() && c.integrator().is_finite());
    }
}
