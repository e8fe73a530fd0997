//! The load a process puts on the machine, read from Linux's `/proc`: its
//! threads' context switches (each time a sleeping thread wakes up is one)
//! and CPU time. For tests and benchmarks that show an idle process costs
//! nothing; counts, not timings.
//!
//! The counts cover the threads alive at each sample: a thread that exits
//! between two samples takes its counts with it, so measure over a window in
//! which the process starts and ends no thread (e.g. send its control
//! socket no request meanwhile: each connection is served on a thread).

use std::path::Path;
use std::time::Duration;

/// One sample of a process's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcessLoad {
    /// Context switches of its live threads, voluntary and involuntary
    /// (`/proc/PID/task/*/status`): its wake-ups.
    pub context_switches: u64,
    /// CPU time of its live threads, ns (`/proc/PID/task/*/schedstat`, the
    /// scheduler's nanosecond account; where that is missing, the process's
    /// `utime + stime` from `/proc/PID/stat`, in clock ticks of 10 ms).
    pub cpu_ns: u64,
    /// Live threads.
    pub threads: usize,
}

/// What a process cost between two samples.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LoadRates {
    /// Context switches per second.
    pub wakeups_per_s: f64,
    /// CPU time as a share of one core, percent.
    pub cpu_percent: f64,
}

fn read(path: &Path) -> std::io::Result<String> {
    std::fs::read_to_string(path)
}

/// Samples process `pid` now. Errors: the process is gone, or this is not Linux.
pub fn sample(pid: u32) -> std::io::Result<ProcessLoad> {
    let dir = Path::new("/proc").join(pid.to_string());
    let mut load = ProcessLoad::default();
    let mut schedstat_ok = true;
    for task in std::fs::read_dir(dir.join("task"))? {
        let task = task?.path();
        // A thread that ended since the listing: not counted.
        let Ok(status) = read(&task.join("status")) else { continue };
        load.threads += 1;
        load.context_switches += status
            .lines()
            .filter(|l| l.starts_with("voluntary_ctxt_switches:") || l.starts_with("nonvoluntary_ctxt_switches:"))
            .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            .sum::<u64>();
        match read(&task.join("schedstat")).ok().and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok()) {
            Some(ns) => load.cpu_ns += ns,
            None => schedstat_ok = false,
        }
    }
    if !schedstat_ok {
        load.cpu_ns = stat_cpu_ns(&dir)?;
    }
    Ok(load)
}

/// `utime + stime` of the whole process (every thread, live or ended), ns.
fn stat_cpu_ns(dir: &Path) -> std::io::Result<u64> {
    let stat = read(&dir.join("stat"))?;
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // utime and stime are fields 14 and 15 of stat; 12 and 13 after the name and state.
    let ticks = field(11) + field(12);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Ok(ticks * 1_000_000_000 / hz)
}

impl ProcessLoad {
    /// What the process cost from `earlier` to this sample, `elapsed` apart.
    pub fn rates_since(&self, earlier: &ProcessLoad, elapsed: Duration) -> LoadRates {
        let secs = elapsed.as_secs_f64().max(1e-9);
        LoadRates {
            wakeups_per_s: self.context_switches.saturating_sub(earlier.context_switches) as f64 / secs,
            cpu_percent: self.cpu_ns.saturating_sub(earlier.cpu_ns) as f64 / 1e9 / secs * 100.0,
        }
    }
}

/// Samples `pid`, sleeps `window`, samples again: what the process cost
/// over the window (and the sample at its end).
pub fn measure(pid: u32, window: Duration) -> std::io::Result<(LoadRates, ProcessLoad)> {
    let a = sample(pid)?;
    let t0 = std::time::Instant::now();
    std::thread::sleep(window);
    let b = sample(pid)?;
    Ok((b.rates_since(&a, t0.elapsed()), b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn each_wake_up_of_a_thread_is_counted_and_so_is_the_cpu_it_burns() {
        let me = std::process::id();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let (done_tx, done_rx) = mpsc::channel::<()>();
        // A thread that sleeps 25 times when told, then blocks until told again.
        let sleeper = std::thread::spawn(move || {
            go_rx.recv().unwrap();
            for _ in 0..25 {
                std::thread::sleep(Duration::from_millis(1));
            }
            done_tx.send(()).unwrap();
            go_rx.recv().unwrap();
        });
        let a = sample(me).unwrap();
        go_tx.send(()).unwrap();
        done_rx.recv().unwrap();
        let b = sample(me).unwrap();
        assert!(a.threads >= 2 && b.threads == a.threads, "{a:?} {b:?}");
        let switches = b.context_switches - a.context_switches;
        // 25 sleeps, the two channel waits; a busy machine adds involuntary ones.
        assert!((25..=500).contains(&switches), "{switches} context switches");
        go_tx.send(()).unwrap();
        sleeper.join().unwrap();

        // Burn 200 ms of this thread's CPU (by its own account): the sample sees it.
        let thread_cpu = || {
            let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
            // SAFETY: a valid timespec to fill.
            unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
            ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
        };
        let a = sample(me).unwrap();
        let t0 = thread_cpu();
        while thread_cpu() - t0 < 200_000_000 {
            std::hint::black_box(0u64);
        }
        let b = sample(me).unwrap();
        let r = b.rates_since(&a, Duration::from_secs(1));
        // At least the 200 ms burnt (10 ms ticks where schedstat is missing).
        assert!(r.cpu_percent >= 19.0, "{r:?}");
    }
}
