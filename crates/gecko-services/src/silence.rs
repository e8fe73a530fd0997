//! The rule that gives a person their sound back: when Gecko Sink is the
//! system output and no engine has answered for [`SilenceRule::RESTORE_AFTER`]
//! consecutive checks, the output Gecko Sink replaced is restored
//! (gecko-platform's `OutputSwitch::restore`). A restarting engine gets that
//! long to come back. Pure: the caller looks, the rule decides.

/// Counts consecutive silent checks (taken about once a second).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SilenceRule {
    silent_for: u32,
}

impl SilenceRule {
    /// Consecutive silent checks (≈ seconds at one check a second) before restoring.
    pub const RESTORE_AFTER: u32 = 3;

    /// One check: whether an engine answered, and whether Gecko Sink is the
    /// system output. `true`: restore the previous output now (the count
    /// then starts again).
    pub fn check(&mut self, engine_running: bool, gecko_is_default: bool) -> bool {
        self.silent_for = if !engine_running && gecko_is_default { self.silent_for + 1 } else { 0 };
        if self.silent_for >= Self::RESTORE_AFTER {
            self.silent_for = 0;
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restores_after_three_silent_checks_in_a_row_only() {
        let mut r = SilenceRule::default();
        assert!(!r.check(false, true));
        assert!(!r.check(false, true));
        assert!(r.check(false, true), "third silent second: restore");
        assert!(!r.check(false, true), "the count starts again");
        // an engine that comes back, or another output, resets the count
        let mut r = SilenceRule::default();
        assert!(!r.check(false, true));
        assert!(!r.check(true, true));
        assert!(!r.check(false, true));
        assert!(!r.check(false, false));
        assert!(!r.check(false, true));
        assert!(!r.check(false, true));
        assert!(r.check(false, true));
    }
}
