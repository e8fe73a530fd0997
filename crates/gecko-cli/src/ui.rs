//! Terminal output: live meters while running, the report at the end.

use gecko_engine::{EngineProgress, EngineReport};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

/// How often the spinner turns while the engine plays.
const SPIN: Duration = Duration::from_millis(100);

/// A one-line live view of the engine (hidden when stderr is not a terminal).
pub struct LiveView {
    bar: Option<ProgressBar>,
    /// The spinner's ticker thread runs (stopped while the engine idles:
    /// it would wake the process 10 times a second).
    spinning: std::cell::Cell<bool>,
}

impl LiveView {
    pub fn new(enabled: bool) -> LiveView {
        let bar = (enabled && std::io::stderr().is_terminal()).then(|| {
            let b = ProgressBar::new_spinner();
            b.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("static template"));
            b.enable_steady_tick(SPIN);
            b
        });
        LiveView { spinning: std::cell::Cell::new(bar.is_some()), bar }
    }

    pub fn update(&self, p: &EngineProgress) {
        let Some(bar) = &self.bar else { return };
        if p.idle == self.spinning.get() {
            if p.idle {
                bar.disable_steady_tick();
            } else {
                bar.enable_steady_tick(SPIN);
            }
            self.spinning.set(!p.idle);
        }
        let t = &p.telemetry;
        let m = &t.meters;
        let secs = t.frames_in as f64 / p.format.sample_rate;
        let mut msg = format!("{:>7.2} s  ", secs);
        for c in 0..m.channels.min(m.peak_dbfs.len()) {
            let db = m.peak_dbfs[c] as f64;
            msg.push_str(&format!("{} {} {:>6} ", channel_label(c, m.channels), meter_bar(db), fmt_db(db)));
        }
        msg.push_str(&format!(" M {:>6} LUFS", fmt_db(m.loudness.momentary_lufs)));
        match t.actuator {
            Some(a) => msg.push_str(&format!(
                "  {:?} {:+.1} ppm{}  fill {:>5.0} fr  underruns {}",
                a,
                t.correction_ppm,
                if t.locked { " locked" } else { "" },
                t.fill_frames,
                t.underrun_frames
            )),
            None => msg.push_str(&format!("  fill {:>5.0} fr", t.fill_frames)),
        }
        msg.push_str(&format!(
            "  gaps {}  overruns {}{}",
            p.writer.gap_events,
            p.writer.overrun_events,
            if p.idle {
                "  (driver IO stopped: engine idle)"
            } else if t.io_running {
                ""
            } else {
                "  (driver idle)"
            }
        ));
        bar.set_message(msg);
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

fn channel_label(i: usize, n: usize) -> String {
    match (n, i) {
        (2, 0) => "L".into(),
        (2, 1) => "R".into(),
        _ => format!("{}", i + 1),
    }
}

/// A 20-cell bar for −60..0 dBFS.
fn meter_bar(db: f64) -> String {
    let cells = if db.is_finite() { (((db + 60.0) / 60.0) * 20.0).clamp(0.0, 20.0) as usize } else { 0 };
    format!("{}{}", "█".repeat(cells), "·".repeat(20 - cells))
}

pub fn fmt_db(db: f64) -> String {
    if db.is_finite() { format!("{db:.1}") } else { "-inf".into() }
}

/// The end-of-run report, as plain text.
pub fn report(r: &EngineReport, recording: Option<&std::path::Path>) -> String {
    let f = &r.format;
    let w = &r.writer;
    let mut s = String::new();
    s.push_str("Gecko engine report\n");
    s.push_str(&format!(
        "  format      {} ch float32 @ {} Hz (ring {} frames, generation {})\n",
        f.channels, f.sample_rate, f.capacity_frames, f.generation
    ));
    s.push_str(&format!(
        "  frames      in {} · recorded {} · {:.3} s of audio in {:.3} s\n",
        r.frames_in,
        r.frames_recorded,
        r.audio_seconds(),
        r.elapsed.as_secs_f64()
    ));
    s.push_str(&format!(
        "  driver      IO cycles {} · gaps {} ({} frames) · overlaps {} ({} frames) · overruns {} ({} frames) · reader faults {}\n",
        w.io_cycles, w.gap_events, w.gap_frames, w.overlap_events, w.overlap_frames, w.overrun_events, w.overrun_frames, w.reader_faults
    ));
    s.push_str(&format!(
        "  engine      skipped {} frames · laps {} · driver restarts followed {} · non-finite samples {}\n",
        r.skipped_frames, r.reader_overruns, r.generations_followed, r.meters.nonfinite_samples
    ));
    let levels: Vec<String> = r
        .levels
        .channels
        .iter()
        .enumerate()
        .map(|(i, c)| {
            format!(
                "{} peak {} rms {} dBFS",
                channel_label(i, r.levels.channels.len()),
                fmt_db(c.peak_dbfs()),
                fmt_db(c.rms_dbfs())
            )
        })
        .collect();
    if r.levels.frames == 0 {
        s.push_str("  levels      not measured (meters off)\n");
    } else {
        s.push_str(&format!("  levels      {}\n", levels.join(" | ")));
    }
    let l = &r.meters.loudness;
    s.push_str(&format!(
        "  loudness    integrated {} LUFS · range {} LU · true peak {} dBTP · limiter max reduction {} dB\n",
        fmt_db(l.integrated_lufs),
        fmt_db(l.loudness_range_lu),
        fmt_db(l.true_peak_dbtp),
        fmt_db(r.meters.limiter.max_gain_reduction_db as f64)
    ));
    if let Some(t) = &r.last_telemetry {
        s.push_str(&format!(
            "  drift       {} · correction {:+.2} ppm (driver applies {:+.2}) · {}\n",
            t.actuator.map_or("-".into(), |a| format!("{a:?}")),
            t.correction_ppm,
            t.applied_ppm,
            if t.locked { "locked" } else { "not locked" }
        ));
    }
    match (&r.output, &r.output_skipped) {
        (Some(o), _) => s.push_str(&format!(
            "  output      {} @ {} Hz · played {} frames · underruns {} frames · stream errors {} · device switches {}{}\n",
            o.device,
            o.rate,
            o.played_frames,
            o.underrun_frames,
            o.stream_errors,
            o.device_switches,
            if o.device_losses > 0 { format!(" ({} lost)", o.device_losses) } else { String::new() }
        )),
        (None, Some(why)) => s.push_str(&format!("  output      none ({why})\n")),
        (None, None) => {}
    }
    if r.idle.periods > 0 {
        s.push_str(&format!(
            "  idle        {} times, {:.1} s in all (while Gecko Sink's IO was stopped)\n",
            r.idle.periods,
            r.idle.time.as_secs_f64()
        ));
    }
    if let Some(p) = recording {
        match &r.recording {
            Some(rec) if rec.frames_dropped > 0 => s.push_str(&format!(
                "  recording   {} · {} frames · {} frames LOST (disk too slow, {} times)\n",
                p.display(),
                rec.frames_written,
                rec.frames_dropped,
                rec.overflow_events
            )),
            Some(rec) => s.push_str(&format!("  recording   {} · {} frames\n", p.display(), rec.frames_written)),
            None => s.push_str(&format!("  recording   {}\n", p.display())),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn meter_bar_spans_minus_60_to_0_dbfs() {
        assert_eq!(super::meter_bar(0.0).chars().filter(|&c| c == '█').count(), 20);
        assert_eq!(super::meter_bar(-30.0).chars().filter(|&c| c == '█').count(), 10);
        assert_eq!(super::meter_bar(f64::NEG_INFINITY).chars().filter(|&c| c == '█').count(), 0);
        assert_eq!(super::fmt_db(f64::NEG_INFINITY), "-inf");
    }
}
