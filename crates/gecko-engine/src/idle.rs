//! When the engine may sleep and when it must wake: an engine that runs all
//! day costs (almost) nothing while nothing plays into Gecko Sink.
//!
//! The policy is portable and has no I/O and no clock of its own: the run
//! loop (`run.rs`) tells [`IdlePolicy`] what it observes, with the time, once
//! per tick, and acts on the answer — pauses the output stream (or closes it
//! where it cannot be paused) and slows its tick to [`HEARTBEAT`], or resumes
//! the output. The cpal calls stay in [`crate::output`].
//!
//! The rules:
//! - **Sleep** once the driver's IO is stopped (the ring header's
//!   `io_running` is 0), the ring is drained (nothing left that the output
//!   would play) and the output has been silent for [`SETTLE`] — so the
//!   chain's tail (EQ ringing, the limiter's lookahead) and the output
//!   device's own buffer have played out: no audio is cut, and the output
//!   stops on silence (no click) — and at least [`SETTLE`] after the output
//!   last started, so IO that stops and starts in quick succession cannot
//!   make the output stop and start at the same pace.
//! - **Wake** at the first heartbeat that sees IO running (or, headless, a
//!   frame in the ring): the output resumes within one [`HEARTBEAT`] of the
//!   driver's StartIO.

use std::time::{Duration, Instant};

/// The control thread's tick while the output plays (draining telemetry,
/// following devices, answering requests).
pub const ACTIVE_TICK: Duration = Duration::from_millis(20);

/// The control thread's tick while idle: it looks at the driver's IO,
/// control commands and cancellation, and publishes its state, this often —
/// 5 wake-ups a second. It is also the longest the output takes to resume
/// after the driver starts IO (the ring, 683 ms at 48 kHz, holds far more).
pub const HEARTBEAT: Duration = Duration::from_millis(200);

/// How long the output must have been silent (and have played at all)
/// before it may stop, with the driver's IO stopped and the ring drained:
/// longer than the tail of the chain and any output buffer the engine runs
/// (512-frame callbacks, 11 ms at 48 kHz; an audio server's quantum of up to
/// 8192 frames, 171 ms).
pub const SETTLE: Duration = Duration::from_millis(500);

/// A sample whose magnitude is at most this is silence: −100 dBFS, below
/// the least significant bit of 16-bit audio (−96 dBFS).
pub const SILENCE: f32 = 1e-5;

/// What the run loop sees while the output plays, at one tick.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Playing {
    /// The driver's IO is running (StartIO … StopIO).
    pub io_running: bool,
    /// Frames in the ring that the output will still play (0 once
    /// drained), frames at the ring's rate.
    pub pending_frames: f64,
    /// How long the output has been silent (every sample within
    /// [`SILENCE`]) up to this tick; headless, how long no frame came.
    pub silent_for: Duration,
}

/// Idle periods so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IdleStats {
    /// Times the output went idle.
    pub periods: u64,
    /// Time spent idle, the current period included.
    pub time: Duration,
}

/// The idle state of one engine run (see the module docs).
#[derive(Debug, Clone)]
pub struct IdlePolicy {
    settle: Duration,
    /// `Some(since)` while idle.
    idle_since: Option<Instant>,
    /// When the output last started playing (the run's start or a wake).
    active_since: Instant,
    periods: u64,
    /// Idle time of the periods that ended.
    past: Duration,
}

impl IdlePolicy {
    /// An active output that started at `now`, going idle after `settle`
    /// (normally [`SETTLE`]) of silence.
    pub fn new(settle: Duration, now: Instant) -> IdlePolicy {
        IdlePolicy { settle, idle_since: None, active_since: now, periods: 0, past: Duration::ZERO }
    }

    /// Whether the output is idle.
    pub fn is_idle(&self) -> bool {
        self.idle_since.is_some()
    }

    /// A tick while the output plays: `true` when it should go idle now
    /// (the policy is idle from `now` on).
    pub fn on_active_tick(&mut self, p: Playing, now: Instant) -> bool {
        let sleep = !self.is_idle()
            && !p.io_running
            && p.pending_frames < 1.0
            && p.silent_for >= self.settle
            && now.saturating_duration_since(self.active_since) >= self.settle;
        if sleep {
            self.idle_since = Some(now);
            self.periods += 1;
        }
        sleep
    }

    /// A heartbeat while idle: `true` when the output should wake now,
    /// because `io_running` (the driver started IO; headless, also: the
    /// ring holds frames). The policy is active from `now` on.
    pub fn on_idle_tick(&mut self, io_running: bool, now: Instant) -> bool {
        if self.is_idle() && io_running {
            self.woke(now);
            return true;
        }
        false
    }

    /// The output started at `now` for a reason of its own (a wake the run
    /// loop decided, a client's request for another device while idle).
    pub fn woke(&mut self, now: Instant) {
        if let Some(since) = self.idle_since.take() {
            self.past += now.saturating_duration_since(since);
        }
        self.active_since = now;
    }

    /// How long the control thread sleeps before its next tick: `active`
    /// while the output plays, [`HEARTBEAT`] while idle.
    pub fn tick(&self, active: Duration) -> Duration {
        if self.is_idle() { HEARTBEAT } else { active }
    }

    /// Idle periods and time so far, up to `now`.
    pub fn stats(&self, now: Instant) -> IdleStats {
        let current = self.idle_since.map_or(Duration::ZERO, |s| now.saturating_duration_since(s));
        IdleStats { periods: self.periods, time: self.past + current }
    }
}

/// How long to wait before looking for the driver's ring again, after
/// `waited` without it: every [`ACTIVE_TICK`] for the first
/// [`ATTACH_FAST_FOR`] (a host or coreaudiod that is just starting), then
/// every [`ATTACH_SLOW_POLL`] — an engine started at login by its
/// LaunchAgent before the driver is installed waits at 2 wake-ups a second,
/// not 50.
pub fn attach_retry_delay(waited: Duration) -> Duration {
    if waited < ATTACH_FAST_FOR { ACTIVE_TICK } else { ATTACH_SLOW_POLL }
}

/// How long [`attach_retry_delay`] polls fast.
pub const ATTACH_FAST_FOR: Duration = Duration::from_secs(2);
/// The slow poll for a ring that does not exist yet.
pub const ATTACH_SLOW_POLL: Duration = Duration::from_millis(500);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looking_for_the_ring_slows_to_two_a_second_after_two_seconds() {
        assert_eq!(attach_retry_delay(Duration::ZERO), Duration::from_millis(20));
        assert_eq!(attach_retry_delay(Duration::from_millis(1999)), Duration::from_millis(20));
        assert_eq!(attach_retry_delay(Duration::from_secs(2)), Duration::from_millis(500));
        assert_eq!(attach_retry_delay(Duration::from_secs(3600)), Duration::from_millis(500));
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn stopped(silent_ms: u64) -> Playing {
        Playing { io_running: false, pending_frames: 0.0, silent_for: ms(silent_ms) }
    }

    #[test]
    fn the_output_sleeps_only_when_io_stopped_the_ring_drained_and_the_tail_played_out() {
        let t0 = Instant::now();
        let at = |n: u64| t0 + ms(n);
        let mut p = IdlePolicy::new(SETTLE, t0);
        // IO running: never, however long the silence (a player paused with IO on).
        assert!(!p.on_active_tick(Playing { io_running: true, ..stopped(60_000) }, at(60_000)));
        // Frames still to play.
        assert!(!p.on_active_tick(Playing { pending_frames: 1.0, ..stopped(60_000) }, at(60_000)));
        // The output has not been silent long enough (the chain's tail, the device's buffer).
        assert!(!p.on_active_tick(stopped(499), at(60_000)));
        assert!(!p.is_idle());
        assert_eq!(p.tick(ACTIVE_TICK), ACTIVE_TICK);
        // All three: idle from now on, at the heartbeat.
        assert!(p.on_active_tick(stopped(500), at(60_000)));
        assert!(p.is_idle());
        assert_eq!(p.tick(ACTIVE_TICK), HEARTBEAT);
        // Said once.
        assert!(!p.on_active_tick(stopped(600), at(60_100)));
        assert_eq!(p.stats(at(61_000)), IdleStats { periods: 1, time: ms(1000) });
    }

    #[test]
    fn it_wakes_at_the_first_heartbeat_that_sees_io_running() {
        let t0 = Instant::now();
        let at = |n: u64| t0 + ms(n);
        let mut p = IdlePolicy::new(SETTLE, t0);
        assert!(p.on_active_tick(stopped(1000), at(1000)));
        assert!(!p.on_idle_tick(false, at(1200)));
        assert!(!p.on_idle_tick(false, at(1400)));
        assert!(p.on_idle_tick(true, at(1600)));
        assert!(!p.is_idle());
        assert_eq!(p.tick(ACTIVE_TICK), ACTIVE_TICK);
        // An active policy does not "wake".
        assert!(!p.on_idle_tick(true, at(1800)));
        assert_eq!(p.stats(at(5000)), IdleStats { periods: 1, time: ms(600) });
    }

    #[test]
    fn io_that_stops_and_starts_quickly_cannot_stop_and_start_the_output_at_its_pace() {
        let t0 = Instant::now();
        let at = |n: u64| t0 + ms(n);
        let mut p = IdlePolicy::new(SETTLE, t0);
        // Not before SETTLE after the start, even if the output reports long silence.
        assert!(!p.on_active_tick(stopped(10_000), at(499)));
        assert!(p.on_active_tick(stopped(10_000), at(500)));
        assert!(p.on_idle_tick(true, at(700)));
        // Right after a wake, a silence count left from before the pause
        // (or IO stopping again at once) does not put it back to sleep.
        assert!(!p.on_active_tick(stopped(10_000), at(720)));
        assert!(!p.on_active_tick(stopped(10_000), at(1199)));
        assert!(p.on_active_tick(stopped(10_000), at(1200)));
        // A wake for another reason (a client asked for another device) counts as a start.
        p.woke(at(1400));
        assert!(!p.is_idle());
        assert!(!p.on_active_tick(stopped(10_000), at(1800)));
        assert!(p.on_active_tick(stopped(10_000), at(1900)));
        assert_eq!(p.stats(at(2000)), IdleStats { periods: 3, time: ms(200 + 200 + 100) });
    }
}
