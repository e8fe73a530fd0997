//! The drift loop — what the engine's audio callback runs — against a writer
//! segment whose timing and state fields a corrupt or hostile driver fills
//! with garbage. The segment is forged by the test (gecko_test_kit::forge): a
//! plausible writer runs first (IO cycles of 512 frames, zero timestamps every
//! 16384 frames, 48 kHz on a 1 GHz host clock) so the loop is tracking, then
//! up to four fields get arbitrary bits and the writer carries on. Every
//! render must return at once with the buffer full of finite samples within
//! full scale (the input peaks at −6 dBFS) — never a panic (proptest over the
//! fields the loop and the reader read). The bound is not the input's peak:
//! a jump in the ring (a slip, a resync) is a step in the waveform, and
//! through the resampler a step rings like any band-limited one (Gibbs:
//! ~9 % of the step, so up to ~0.59 for a −0.5 → +0.5 step).

use gecko_drift::{DriftConfig, DriftLoop};
use gecko_ring::{AttachOptions, Reader};
use gecko_test_kit::forge::ForgedWriter;
use proptest::prelude::*;

const CAP: u32 = 8192;
const CH: u32 = 2;
const RATE: f64 = 48_000.0;
const TPS: f64 = 1e9;
const IO: u64 = 512;
const PERIOD: u64 = 16_384;
/// Peak of the input sine (−6 dBFS).
const AMP: f32 = 0.5;
/// What no render may exceed: full scale (2 × AMP leaves room for the
/// resampler's ringing on steps; garbage turned into audio would not stay
/// under it).
const LIMIT: f32 = 1.0;

/// The forged writer, run as the driver would.
struct Writer {
    f: ForgedWriter,
    /// Frames written (what write_count would be without tampering).
    w: u64,
    /// Added to every published write_count: what an attack on it leaves behind.
    w_offset: u64,
}

impl Writer {
    fn new() -> Writer {
        let f = ForgedWriter::valid("gkdh", CAP, CH, RATE);
        f.with(|s| {
            s.state.io_running = 1;
            s.state.zts_period_frames = PERIOD as u32;
            s.state.host_ticks_per_frame = TPS / RATE;
            s.state.host_ticks_per_second = TPS;
            s.state.zts_seed = 1;
            s.state.zts_host_time = host(0);
        });
        Writer { f, w: 0, w_offset: 0 }
    }

    /// One IO cycle of IO frames of a sine; publishes zero timestamps and the heartbeat.
    fn cycle(&mut self) {
        let frames = self.f.frames();
        for i in 0..IO {
            let t = self.w + i;
            let x = AMP * (2.0 * std::f32::consts::PI * (t % 48) as f32 / 48.0).sin();
            let idx = ((t % CAP as u64) * CH as u64) as usize;
            frames[idx..idx + CH as usize].fill(x);
        }
        self.w += IO;
        let (w, now) = (self.w, host(self.w));
        self.f.with(|s| {
            s.counters.heartbeat_host_time = now;
            s.counters.io_cycles += 1;
            let k = w / PERIOD;
            if (k * PERIOD) as f64 > s.state.zts_sample_time {
                s.state.zts_sample_time = (k * PERIOD) as f64;
                s.state.zts_host_time = host(k * PERIOD);
            }
        });
        self.f.set_write_count(self.w.wrapping_add(self.w_offset));
    }
}

/// Host time of device frame `t`, ticks.
fn host(t: u64) -> u64 {
    1_000_000_000 + (t as f64 * TPS / RATE) as u64
}

/// Writes arbitrary `bits` into field `field` of the forged segment.
fn tamper(wr: &mut Writer, field: u8, bits: u64) {
    let f64b = f64::from_bits(bits);
    let u32b = bits as u32;
    match field % 14 {
        0 => wr.w_offset = bits,
        1 => wr.f.with(|s| s.counters.heartbeat_host_time = bits),
        2 => wr.f.with(|s| s.state.zts_sample_time = f64b),
        3 => wr.f.with(|s| s.state.zts_host_time = bits),
        4 => wr.f.with(|s| s.state.zts_seed = bits),
        5 => wr.f.with(|s| s.state.host_ticks_per_frame = f64b),
        6 => wr.f.with(|s| s.state.host_ticks_per_second = f64b),
        7 => wr.f.with(|s| s.state.clock_adjust_ppm = f64b),
        8 => wr.f.with(|s| s.state.sample_rate = f64b),
        9 => wr.f.with(|s| s.state.zts_period_frames = u32b),
        10 => wr.f.with(|s| s.state.io_running = u32b),
        11 => wr.f.with(|s| s.state.generation = bits),
        12 => wr.f.with(|s| s.state.seq = bits),
        _ => wr.f.with(|s| s.header.capacity_frames = u32b),
    }
}

/// Renders one 512-frame callback at device frame `t` and checks it.
fn render(lp: &mut DriftLoop, r: &mut Reader, out: &mut [f32], t: u64) {
    out.fill(f32::NAN);
    let rep = lp.render(r, out, host(t));
    assert_eq!(rep.frames, out.len() / CH as usize);
    let peak = out.iter().fold(0.0f32, |m, x| if x.is_finite() { m.max(x.abs()) } else { f32::INFINITY });
    assert!(peak <= LIMIT, "render at frame {t}: peak {peak} (non-finite or above full scale)");
}

fn run(attacks: &[(u8, u64)], writer_goes_on: bool) {
    let mut wr = Writer::new();
    for _ in 0..4 {
        wr.cycle(); // a little ahead before the engine attaches
    }
    let mut r = Reader::attach(wr.f.name(), &AttachOptions::default()).expect("attach");
    let mut lp = DriftLoop::new(DriftConfig::new(CH as usize, RATE, RATE)).expect("loop");
    let mut out = vec![0.0f32; IO as usize * CH as usize];
    // 3 s of plausible IO: the loop primes, measures and tracks.
    for _ in 0..(3 * 48_000 / IO) {
        wr.cycle();
        render(&mut lp, &mut r, &mut out, wr.w - 3 * IO);
    }
    for &(field, bits) in attacks {
        tamper(&mut wr, field, bits);
    }
    for _ in 0..100 {
        if writer_goes_on {
            wr.cycle();
        }
        render(&mut lp, &mut r, &mut out, wr.w - 3 * IO);
    }
}

#[test]
fn a_plausible_writer_is_tracked_and_its_audio_passes() {
    // The harness itself: with no attack the loop locks and outputs the sine.
    let mut wr = Writer::new();
    for _ in 0..4 {
        wr.cycle();
    }
    let mut r = Reader::attach(wr.f.name(), &AttachOptions::default()).expect("attach");
    let mut lp = DriftLoop::new(DriftConfig::new(CH as usize, RATE, RATE)).expect("loop");
    let mut out = vec![0.0f32; IO as usize * CH as usize];
    let mut locked = false;
    for _ in 0..(5 * 48_000 / IO) {
        wr.cycle();
        out.fill(0.0);
        let rep = lp.render(&mut r, &mut out, host(wr.w - 3 * IO));
        locked |= rep.events.contains(gecko_drift::DriftEvents::LOCKED);
    }
    assert!(locked, "the loop never locked on the plausible writer");
    let peak = out.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    assert!((peak - AMP).abs() < 0.01, "last block's peak {peak}, want the sine's {AMP}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn garbage_in_the_writer_segment_never_crashes_the_drift_loop(
        attacks in proptest::collection::vec((any::<u8>(), any::<u64>()), 1..=4),
        writer_goes_on in any::<bool>(),
    ) {
        run(&attacks, writer_goes_on);
    }
}

/// The extremes a random u64 rarely hits, one field at a time.
#[test]
fn extreme_values_in_each_field_never_crash_the_drift_loop() {
    let extremes = [
        0,
        1,
        u64::MAX,
        u64::MAX / 2,
        f64::NAN.to_bits(),
        f64::INFINITY.to_bits(),
        f64::NEG_INFINITY.to_bits(),
        (-1.0f64).to_bits(),
        1e300f64.to_bits(),
        f64::MIN_POSITIVE.to_bits(),
        u32::MAX as u64,
    ];
    for field in 0..14u8 {
        for &bits in &extremes {
            run(&[(field, bits)], true);
        }
    }
}
