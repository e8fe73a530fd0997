//! The benchmark programme, shared by benches/chain.rs and
//! scripts/camilladsp-compare (which measures CamillaDSP on the same audio).

/// Deterministic "programme", interleaved stereo f32 at `fs` Hz, `secs`
/// seconds: bass, mid and treble partials (55, 440, 3520 Hz), white noise
/// (an LCG), a 0.7 Hz tremolo, peaking around −3 dBFS, so that with +3 dB
/// of gain and the EQ the limiter works part of the time.
pub fn programme(fs: usize, secs: usize) -> Vec<f32> {
    let mut seed = 1u64;
    let mut noise = move || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((seed >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    };
    let tau = 2.0 * std::f64::consts::PI;
    (0..secs * fs)
        .flat_map(|i| {
            let t = i as f64 / fs as f64;
            let env = 0.55 + 0.45 * (tau * 0.7 * t).sin();
            let s =
                0.35 * (tau * 55.0 * t).sin() + 0.2 * (tau * 440.0 * t + 1.0).sin() + 0.1 * (tau * 3520.0 * t).sin();
            let l = env * (s + 0.1 * noise());
            let r = env * (0.9 * s + 0.1 * noise());
            [l as f32, r as f32]
        })
        .collect()
}
