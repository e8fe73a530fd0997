//! The host clock: the time base of the driver's zero timestamps.
//!
//! On macOS host time is `mach_absolute_time()` in host ticks, and ticks are
//! nanoseconds only on Intel: on Apple silicon `mach_timebase_info` is 125/3,
//! i.e. 24 MHz ticks (Apple's `<mach/mach_time.h>`; "Mach Absolute Time Units",
//! Apple Technical Q&A QA1398). Code that mixes host ticks with nanoseconds
//! must convert through [`Timebase`], never assume ticks = ns.
//!
//! On Linux the host clock is CLOCK_MONOTONIC in nanoseconds (timebase 1/1),
//! unless the process provides `mach_absolute_time` and `mach_timebase_info`:
//! the macOS-semantics emulation (`scripts/macos-semantics/gecko_macsem.c`,
//! preloaded) does, so the whole test suite can run on Apple silicon's
//! timebase. The driver's Linux build makes the same choice
//! (`driver/src/gecko_clock.c`), so both sides always agree.
//!
//! [`init`] resolves the clock; call it before real-time use (the engine does at
//! start). After that, [`now`] is a plain function call: no allocation, no
//! lock, no system call (CLOCK_MONOTONIC is read through the vDSO).

use std::sync::OnceLock;

/// A host clock's timebase: `ns = ticks × numer / denom` (`mach_timebase_info_data_t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timebase {
    /// Numerator (125 on Apple silicon, 1 on Intel Macs and Linux).
    pub numer: u32,
    /// Denominator (3 on Apple silicon, 1 on Intel Macs and Linux).
    pub denom: u32,
}

impl Timebase {
    /// Nanoseconds: ticks are nanoseconds.
    pub const NANOS: Timebase = Timebase { numer: 1, denom: 1 };

    /// Host ticks per second (1e9 × denom / numer; 24e6 on Apple silicon).
    pub fn ticks_per_second(self) -> f64 {
        1e9 * self.denom as f64 / self.numer as f64
    }

    /// Nanoseconds → host ticks (rounded down; exact 128-bit arithmetic).
    pub fn ns_to_ticks(self, ns: u64) -> u64 {
        (ns as u128 * self.denom as u128 / self.numer as u128) as u64
    }

    /// Host ticks → nanoseconds (rounded down; exact 128-bit arithmetic).
    pub fn ticks_to_ns(self, ticks: u64) -> u64 {
        (ticks as u128 * self.numer as u128 / self.denom as u128) as u64
    }
}

#[derive(Clone, Copy)]
struct Clock {
    timebase: Timebase,
    /// `mach_absolute_time`, when the process has one.
    mach_now: Option<unsafe extern "C" fn() -> u64>,
}

static CLOCK: OnceLock<Clock> = OnceLock::new();

#[cfg(target_os = "macos")]
fn resolve() -> Clock {
    #[repr(C)]
    struct Info {
        numer: u32,
        denom: u32,
    }
    unsafe extern "C" {
        fn mach_absolute_time() -> u64;
        fn mach_timebase_info(info: *mut Info) -> i32;
    }
    let mut tb = Info { numer: 1, denom: 1 };
    // SAFETY: valid out pointer.
    let ok = unsafe { mach_timebase_info(&mut tb) } == 0 && tb.numer != 0 && tb.denom != 0;
    let timebase = if ok { Timebase { numer: tb.numer, denom: tb.denom } } else { Timebase::NANOS };
    Clock { timebase, mach_now: Some(mach_absolute_time) }
}

#[cfg(not(target_os = "macos"))]
fn resolve() -> Clock {
    #[repr(C)]
    struct Info {
        numer: u32,
        denom: u32,
    }
    // SAFETY: dlsym with RTLD_DEFAULT and NUL-terminated names; the symbols,
    // when present, have mach_time.h's signatures (gecko_macsem.c).
    let (now, info) = unsafe {
        (
            libc::dlsym(libc::RTLD_DEFAULT, c"mach_absolute_time".as_ptr()),
            libc::dlsym(libc::RTLD_DEFAULT, c"mach_timebase_info".as_ptr()),
        )
    };
    if now.is_null() || info.is_null() {
        return Clock { timebase: Timebase::NANOS, mach_now: None };
    }
    type NowFn = unsafe extern "C" fn() -> u64;
    type InfoFn = unsafe extern "C" fn(*mut Info) -> i32;
    // SAFETY: see above.
    let (now, info) = unsafe {
        (std::mem::transmute::<*mut libc::c_void, NowFn>(now), std::mem::transmute::<*mut libc::c_void, InfoFn>(info))
    };
    let mut tb = Info { numer: 0, denom: 0 };
    // SAFETY: valid out pointer.
    if unsafe { info(&mut tb) } != 0 || tb.numer == 0 || tb.denom == 0 {
        return Clock { timebase: Timebase::NANOS, mach_now: None };
    }
    Clock { timebase: Timebase { numer: tb.numer, denom: tb.denom }, mach_now: Some(now) }
}

fn clock() -> Clock {
    *CLOCK.get_or_init(resolve)
}

/// Resolves the host clock (idempotent). Call before real-time use.
pub fn init() {
    clock();
}

/// The host clock's timebase.
pub fn timebase() -> Timebase {
    clock().timebase
}

/// Host ticks per second (1e9 on Linux; 24e6 on Apple silicon).
pub fn ticks_per_second() -> f64 {
    clock().timebase.ticks_per_second()
}

/// Now, in host ticks. Real-time safe after [`init`].
pub fn now() -> u64 {
    let c = clock();
    match c.mach_now {
        // SAFETY: mach_absolute_time takes no arguments and has no side effects.
        Some(f) => unsafe { f() },
        None => monotonic_ns(),
    }
}

/// Nanoseconds on the host clock's monotonic base → host ticks.
pub fn ns_to_ticks(ns: u64) -> u64 {
    clock().timebase.ns_to_ticks(ns)
}

/// Host ticks → nanoseconds.
pub fn ticks_to_ns(ticks: u64) -> u64 {
    clock().timebase.ticks_to_ns(ticks)
}

/// CLOCK_MONOTONIC in nanoseconds (vDSO: no system call).
#[cfg(not(target_os = "macos"))]
fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: valid out pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

#[cfg(target_os = "macos")]
fn monotonic_ns() -> u64 {
    unreachable!("macOS always has mach_absolute_time")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apple_silicon_timebase_converts_both_ways() {
        let tb = Timebase { numer: 125, denom: 3 };
        assert_eq!(tb.ticks_per_second(), 24e6);
        assert_eq!(tb.ns_to_ticks(1_000_000_000), 24_000_000);
        assert_eq!(tb.ticks_to_ns(24_000_000), 1_000_000_000);
        // No overflow at a century of uptime.
        let ns = 100 * 365 * 86_400 * 1_000_000_000u64;
        assert_eq!(tb.ticks_to_ns(tb.ns_to_ticks(ns)), ns);
        assert_eq!(Timebase::NANOS.ns_to_ticks(12345), 12345);
    }

    #[test]
    fn the_clock_matches_the_semantics_the_tests_run_under() {
        let tb = timebase();
        if std::env::var_os("GECKO_MACOS_SEMANTICS").is_some() {
            // scripts/macos-semantics/run: Apple silicon unless told otherwise.
            let want = match std::env::var("GECKO_MACSEM_TIMEBASE").as_deref() {
                Ok("1/1") => Timebase::NANOS,
                _ => Timebase { numer: 125, denom: 3 },
            };
            assert_eq!(tb, want, "the preloaded emulation's mach timebase");
        } else {
            assert_eq!(tb, Timebase::NANOS, "Linux: CLOCK_MONOTONIC ns");
        }
        // The clock advances at ticks_per_second.
        let (t0, i0) = (now(), std::time::Instant::now());
        std::thread::sleep(std::time::Duration::from_millis(50));
        let (t1, i1) = (now(), std::time::Instant::now());
        let measured = (t1 - t0) as f64 / (i1 - i0).as_secs_f64();
        assert!((measured / ticks_per_second() - 1.0).abs() < 0.02, "{measured} ticks/s");
    }
}
