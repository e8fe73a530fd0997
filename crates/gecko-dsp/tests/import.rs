//! Import (Equalizer APO / AutoEq / REW) and export (Equalizer APO,
//! CamillaDSP) of EQ settings, checked against the files' own definitions
//! computed here, independently of the code under test: the RBJ Audio EQ
//! Cookbook formulas are written out again below, and the GraphicEQ curve
//! is interpolated here.

use gecko_dsp::biquad::FilterType;
use gecko_dsp::export::{preset_to_camilladsp, preset_to_equalizer_apo, to_camilladsp, to_equalizer_apo};
use gecko_dsp::import::{Format, from_path, import_str, parse_equalizer_apo, parse_rew};
use gecko_dsp::{EqBand, EqChannel, EqParams, Equalizer, ImportError, Imported, MAX_BANDS, Preset};
use std::f64::consts::PI;
use std::path::Path;

const FS: f64 = 48_000.0;

const HD650_PEQ: &str = include_str!("data/Sennheiser HD 650 ParametricEQ.txt");
const HD650_GEQ: &str = include_str!("data/Sennheiser HD 650 GraphicEQ.txt");
const A12T_PEQ: &str = include_str!("data/64 Audio A12t (CIEM) (sample 1) ParametricEQ.txt");
const A12T_GEQ: &str = include_str!("data/64 Audio A12t (CIEM) (sample 1) GraphicEQ.txt");

// ---------------------------------------------------------------------------
// The reference: RBJ Audio EQ Cookbook, written out independently.

/// Cookbook filter kinds, as the files name them.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Rbj {
    Peak,
    LowShelf,
    HighShelf,
    LowPass,
    HighPass,
    Notch,
    BandPass,
    AllPass,
}

/// `20·log10|H(e^jω)|` at `f` (Hz) of the cookbook filter at `f0` (Hz),
/// gain `g` (dB), with `alpha` given (so that the Q, bandwidth and shelf
/// slope forms of the cookbook can all be checked), sample rate `fs`.
fn rbj_alpha_db(kind: Rbj, f0: f64, g: f64, alpha: f64, f: f64, fs: f64) -> f64 {
    let w0 = 2.0 * PI * f0 / fs;
    let (cw, a) = (w0.cos(), 10f64.powf(g / 40.0));
    let sa = 2.0 * a.sqrt() * alpha;
    let (b, den) = match kind {
        Rbj::Peak => ([1.0 + alpha * a, -2.0 * cw, 1.0 - alpha * a], [1.0 + alpha / a, -2.0 * cw, 1.0 - alpha / a]),
        Rbj::LowShelf => (
            [
                a * ((a + 1.0) - (a - 1.0) * cw + sa),
                2.0 * a * ((a - 1.0) - (a + 1.0) * cw),
                a * ((a + 1.0) - (a - 1.0) * cw - sa),
            ],
            [(a + 1.0) + (a - 1.0) * cw + sa, -2.0 * ((a - 1.0) + (a + 1.0) * cw), (a + 1.0) + (a - 1.0) * cw - sa],
        ),
        Rbj::HighShelf => (
            [
                a * ((a + 1.0) + (a - 1.0) * cw + sa),
                -2.0 * a * ((a - 1.0) + (a + 1.0) * cw),
                a * ((a + 1.0) + (a - 1.0) * cw - sa),
            ],
            [(a + 1.0) - (a - 1.0) * cw + sa, 2.0 * ((a - 1.0) - (a + 1.0) * cw), (a + 1.0) - (a - 1.0) * cw - sa],
        ),
        Rbj::LowPass => ([(1.0 - cw) / 2.0, 1.0 - cw, (1.0 - cw) / 2.0], [1.0 + alpha, -2.0 * cw, 1.0 - alpha]),
        Rbj::HighPass => ([(1.0 + cw) / 2.0, -(1.0 + cw), (1.0 + cw) / 2.0], [1.0 + alpha, -2.0 * cw, 1.0 - alpha]),
        Rbj::Notch => ([1.0, -2.0 * cw, 1.0], [1.0 + alpha, -2.0 * cw, 1.0 - alpha]),
        Rbj::BandPass => ([alpha, 0.0, -alpha], [1.0 + alpha, -2.0 * cw, 1.0 - alpha]),
        Rbj::AllPass => ([1.0 - alpha, -2.0 * cw, 1.0 + alpha], [1.0 + alpha, -2.0 * cw, 1.0 - alpha]),
    };
    // H(e^jw) = Σ b_k e^{-jkw} / Σ a_k e^{-jkw}
    let w = 2.0 * PI * f / fs;
    let eval = |c: [f64; 3]| {
        let (mut re, mut im) = (0.0, 0.0);
        for (k, ck) in c.iter().enumerate() {
            re += ck * (k as f64 * w).cos();
            im -= ck * (k as f64 * w).sin();
        }
        re * re + im * im
    };
    10.0 * (eval(b) / eval(den)).log10()
}

/// The same with Q: α = sin ω0 / (2Q).
fn rbj_db(kind: Rbj, f0: f64, g: f64, q: f64, f: f64, fs: f64) -> f64 {
    rbj_alpha_db(kind, f0, g, (2.0 * PI * f0 / fs).sin() / (2.0 * q), f, fs)
}

fn kind_of(t: FilterType) -> Rbj {
    match t {
        FilterType::Peaking => Rbj::Peak,
        FilterType::LowShelf => Rbj::LowShelf,
        FilterType::HighShelf => Rbj::HighShelf,
        FilterType::LowPass => Rbj::LowPass,
        FilterType::HighPass => Rbj::HighPass,
        FilterType::Notch => Rbj::Notch,
        FilterType::BandPass => Rbj::BandPass,
        FilterType::AllPass => Rbj::AllPass,
    }
}

/// A file's own definition, read here by splitting on whitespace: the
/// preamp and the filters (kind, Fc, gain, Q) of an AutoEq ParametricEQ.txt.
fn autoeq_definition(text: &str) -> (f64, Vec<(Rbj, f64, f64, f64)>) {
    let mut preamp = 0.0;
    let mut filters = Vec::new();
    for line in text.lines() {
        let t: Vec<&str> = line.split_whitespace().collect();
        if t.first() == Some(&"Preamp:") {
            preamp = t[1].parse().unwrap();
        } else if t.first() == Some(&"Filter") {
            assert_eq!(t[2], "ON");
            let kind = match t[3] {
                "PK" => Rbj::Peak,
                "LSC" => Rbj::LowShelf,
                "HSC" => Rbj::HighShelf,
                other => panic!("{other}"),
            };
            assert_eq!((t[4], t[6], t[7], t[9], t[10]), ("Fc", "Hz", "Gain", "dB", "Q"));
            filters.push((kind, t[5].parse().unwrap(), t[8].parse().unwrap(), t[11].parse().unwrap()));
        }
    }
    (preamp, filters)
}

/// 400 log-spaced frequencies from 20 Hz to 20 kHz.
fn audio_band() -> Vec<f64> {
    (0..400).map(|i| 20.0 * 1000f64.powf(i as f64 / 399.0)).collect()
}

/// The gain (dB) of each channel of `eq` at `f`, measured by running a
/// sine through it (0.5 s to settle, then a single-bin DFT over 0.5 s).
fn measured_gains_db(eq: &mut Equalizer, f: f64) -> Vec<f64> {
    let ch = eq.channels();
    let n = 48_000;
    let x: Vec<f32> =
        (0..n).flat_map(|i| std::iter::repeat_n((0.05 * (2.0 * PI * f * i as f64 / FS).sin()) as f32, ch)).collect();
    let mut y = x.clone();
    for b in y.chunks_mut(ch * 256) {
        eq.process(b);
    }
    let amp = |s: &[f32], c: usize| {
        let (mut re, mut im) = (0.0, 0.0);
        for (i, v) in s.iter().skip(c).step_by(ch).enumerate().skip(n / 2) {
            re += *v as f64 * (2.0 * PI * f * i as f64 / FS).cos();
            im += *v as f64 * (2.0 * PI * f * i as f64 / FS).sin();
        }
        (re * re + im * im).sqrt()
    };
    (0..ch).map(|c| 20.0 * (amp(&y, c) / amp(&x, c)).log10()).collect()
}

fn eq_of(imported: &Imported) -> EqParams {
    imported.preset.chain_params().eq
}

// ---------------------------------------------------------------------------
// AutoEq ParametricEQ.txt

#[test]
fn autoeq_parametric_files_import_and_match_their_own_definition() {
    for (name, text) in [("HD 650", HD650_PEQ), ("A12t", A12T_PEQ)] {
        let imported = parse_equalizer_apo(text, name).unwrap();
        assert!(imported.warnings.is_empty(), "{name}: {:?}", imported.warnings);
        let (preamp, filters) = autoeq_definition(text);
        let eq = eq_of(&imported);
        assert_eq!(eq.preamp_db, preamp, "{name}");
        assert_eq!(imported.preset.eq.bands.len(), 10, "{name}");
        for (b, &(kind, fc, g, q)) in imported.preset.eq.bands.iter().zip(&filters) {
            assert_eq!((kind_of(b.kind), b.freq_hz, b.gain_db, b.q), (kind, fc, g, q), "{name}");
            assert!(b.enabled && b.channel == EqChannel::All);
        }
        // the response as Gecko runs it, against the file's own definition
        let want = |f: f64| preamp + filters.iter().map(|&(k, fc, g, q)| rbj_db(k, fc, g, q, f, FS)).sum::<f64>();
        for f in audio_band() {
            for c in 0..2 {
                let got = eq.magnitude_db_for_channel(f, FS, c);
                assert!((got - want(f)).abs() < 1e-6, "{name} {f:.1} Hz ch {c}: {got} vs {}", want(f));
            }
        }
        // and through the real-time EQ
        let mut e = Equalizer::new(FS, 2, &eq).unwrap();
        for f in [40.0, 120.0, 1000.0, 3200.0, 8800.0] {
            for g in measured_gains_db(&mut e, f) {
                assert!((g - want(f)).abs() < 0.02, "{name} {f} Hz: measured {g} vs {}", want(f));
            }
        }
    }
}

#[test]
fn files_are_read_from_disk_and_named_after_the_file() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let imported = from_path(&dir.join("Sennheiser HD 650 ParametricEQ.txt")).unwrap();
    assert_eq!(imported.preset.name.as_deref(), Some("Sennheiser HD 650"));
    assert_eq!(imported.preset, parse_equalizer_apo(HD650_PEQ, "Sennheiser HD 650").unwrap().preset);
    imported.preset.validate(44_100.0).unwrap();
    let e = from_path(&dir.join("missing.txt")).unwrap_err();
    assert_eq!(e.line, 0);
    assert!(e.message.contains("missing.txt"), "{e}");
}

// ---------------------------------------------------------------------------
// AutoEq GraphicEQ.txt

/// The listed points of a GraphicEQ file, read here.
fn graphic_points(text: &str) -> Vec<(f64, f64)> {
    text.trim()
        .strip_prefix("GraphicEQ:")
        .unwrap()
        .split(';')
        .map(|p| {
            let v: Vec<f64> = p.split_whitespace().map(|x| x.parse().unwrap()).collect();
            (v[0], v[1])
        })
        .collect()
}

/// The curve through `pts`, linear in dB over log-frequency between them
/// (Equalizer APO's GraphicEQ), held flat outside.
fn interpolate(pts: &[(f64, f64)], f: f64) -> f64 {
    if f <= pts[0].0 {
        return pts[0].1;
    }
    for w in pts.windows(2) {
        let ((f0, g0), (f1, g1)) = (w[0], w[1]);
        if f <= f1 {
            return g0 + (g1 - g0) * (f / f0).ln() / (f1 / f0).ln();
        }
    }
    pts[pts.len() - 1].1
}

#[test]
fn autoeq_graphic_eq_files_are_realised_within_half_a_db_from_20_hz_to_16_khz() {
    for (name, text) in [("HD 650", HD650_GEQ), ("A12t", A12T_GEQ)] {
        let imported = parse_equalizer_apo(text, name).unwrap();
        let pts = graphic_points(text);
        assert_eq!(pts.len(), 127);
        let eq = eq_of(&imported);
        let bands: Vec<&EqBand> = eq.bands.iter().filter(|b| b.enabled).collect();
        assert!(!bands.is_empty() && bands.len() <= MAX_BANDS);
        // the note says how, on the GraphicEQ's line
        assert_eq!(imported.warnings.len(), 1, "{:?}", imported.warnings);
        let note = &imported.warnings[0];
        assert_eq!(note.line, 1);
        assert!(note.message.contains(&format!("realised with {} bands", bands.len())), "{note}");
        // the realised response, computed here from the bands, against the
        // listed points: every point from 20 Hz to 16 kHz and a 1/96-octave grid
        let realised = |f: f64| {
            eq.preamp_db + bands.iter().map(|b| rbj_db(kind_of(b.kind), b.freq_hz, b.gain_db, b.q, f, FS)).sum::<f64>()
        };
        let mut freqs: Vec<f64> = (0..=(96.0 * (16_000f64 / 20.0).log2()) as usize)
            .map(|i| 20.0 * 2f64.powf(i as f64 / 96.0))
            .filter(|&f| f <= 16_000.0)
            .collect();
        freqs.extend(pts.iter().map(|p| p.0).filter(|&f| (20.0..=16_000.0).contains(&f)));
        let mut worst = (0.0f64, 0.0);
        for &f in &freqs {
            let d = (realised(f) - interpolate(&pts, f)).abs();
            if d > worst.0 {
                worst = (d, f);
            }
            // Gecko's own view of the response agrees with the one computed here
            assert!((eq.magnitude_db_for_channel(f, FS, 0) - realised(f)).abs() < 1e-6);
        }
        eprintln!(
            "{name}: {} bands, preamp {} dB, max deviation {:.3} dB at {:.0} Hz",
            bands.len(),
            eq.preamp_db,
            worst.0,
            worst.1
        );
        assert!(worst.0 <= 0.5, "{name}: {:.3} dB off at {:.0} Hz", worst.0, worst.1);
        // the file's points are exactly on the curve the check uses
        for &(f, g) in pts.iter().filter(|p| (20.0..=16_000.0).contains(&p.0)) {
            assert!((realised(f) - g).abs() <= 0.5, "{name} {f} Hz");
        }
        imported.preset.validate(44_100.0).unwrap();
    }
}

#[test]
fn a_curve_no_32_bands_can_follow_is_refused_with_the_best_reached() {
    // ±10 dB alternating every 1/12 octave
    let text = "GraphicEQ: 100 -10; 106 10; 112 -10; 119 10; 126 -10; 133 10; 141 -10";
    let e = parse_equalizer_apo(text, "saw").unwrap_err();
    assert_eq!(e.line, 1);
    assert!(e.message.starts_with("GraphicEQ (7 points): could not realise the curve within ±0.5 dB"), "{e}");
    assert!(e.message.contains("with 32 bands (best: "), "{e}");
}

#[test]
fn a_graphic_eq_for_one_channel_is_realised_on_that_channel_without_the_shared_preamp() {
    let text = format!("# written for this test\nPreamp: -2 dB\nChannel: R\n{HD650_GEQ}\n");
    let imported = parse_equalizer_apo(&text, "right").unwrap();
    let eq = eq_of(&imported);
    assert_eq!(eq.preamp_db, -2.0, "a one-channel curve does not move the shared preamp");
    assert!(eq.bands.iter().filter(|b| b.enabled).all(|b| b.channel == EqChannel::Right));
    let pts = graphic_points(HD650_GEQ);
    for i in 0..=200 {
        let f = 20.0 * 800f64.powf(i as f64 / 200.0);
        let right = eq.magnitude_db_for_channel(f, FS, 1) + 2.0;
        assert!((right - interpolate(&pts, f)).abs() <= 0.5, "{f}: {right}");
        assert!((eq.magnitude_db_for_channel(f, FS, 0) + 2.0).abs() < 1e-12, "left stays flat");
    }
    assert_eq!(imported.warnings.len(), 1);
    assert_eq!(imported.warnings[0].line, 4);
}

#[test]
fn a_graphic_eq_gets_the_bands_the_filters_leave() {
    let filters: String = (0..30).map(|i| format!("Filter: ON PK Fc {} Hz Gain 1 dB Q 4\n", 100 + 50 * i)).collect();
    let e = parse_equalizer_apo(&format!("{filters}{A12T_GEQ}"), "full").unwrap_err();
    assert_eq!(e.line, 31);
    assert!(e.message.contains("could not realise the curve within ±0.5 dB from 20 Hz to 16 kHz with 2 bands"), "{e}");
    let filters: String = (0..32).map(|i| format!("Filter: ON PK Fc {} Hz Gain 1 dB Q 4\n", 100 + 50 * i)).collect();
    let e = parse_equalizer_apo(&format!("{filters}{A12T_GEQ}"), "full").unwrap_err();
    assert_eq!(
        (e.line, e.message.as_str()),
        (33, "GraphicEQ: no bands left to realise it: the other lines use all 32 bands")
    );
    // with room, both: the filters and the curve's bands add up
    let filters: String = (0..4).map(|i| format!("Filter: ON PK Fc {} Hz Gain 1 dB Q 4\n", 100 + 50 * i)).collect();
    let imported = parse_equalizer_apo(&format!("{filters}{HD650_GEQ}"), "both").unwrap();
    let eq = eq_of(&imported);
    let pts = graphic_points(HD650_GEQ);
    for i in 0..=200 {
        let f = 20.0 * 800f64.powf(i as f64 / 200.0);
        let extra: f64 = (0..4).map(|k| rbj_db(Rbj::Peak, 100.0 + 50.0 * k as f64, 1.0, 4.0, f, FS)).sum();
        let d = eq.magnitude_db_for_channel(f, FS, 0) - extra - interpolate(&pts, f);
        assert!(d.abs() <= 0.5, "{f}: {d}");
    }
}

// ---------------------------------------------------------------------------
// Channel sections, preamp, strength

const LEFT_RIGHT: &str = "\
# written for this test (not an AutoEq file)
Preamp: -3 dB
Channel: L
Filter 1: ON PK Fc 1000 Hz Gain 6 dB Q 1
Channel: R
Filter 2: ON PK Fc 1000 Hz Gain -6 dB Q 1
Filter 3: ON LSC Fc 200 Hz Gain 3 dB Q 0.7
Channel: ALL
Filter 4: ON HSC Fc 8000 Hz Gain 2 dB Q 0.7
";

#[test]
fn channel_sections_give_different_left_and_right_responses() {
    let imported = parse_equalizer_apo(LEFT_RIGHT, "l-r").unwrap();
    assert!(imported.warnings.is_empty(), "{:?}", imported.warnings);
    let eq = eq_of(&imported);
    let ch: Vec<EqChannel> = imported.preset.eq.bands.iter().map(|b| b.channel).collect();
    assert_eq!(ch, [EqChannel::Left, EqChannel::Right, EqChannel::Right, EqChannel::All]);
    let hs = |f| rbj_db(Rbj::HighShelf, 8000.0, 2.0, 0.7, f, FS);
    let left = |f| -3.0 + rbj_db(Rbj::Peak, 1000.0, 6.0, 1.0, f, FS) + hs(f);
    let right =
        |f| -3.0 + rbj_db(Rbj::Peak, 1000.0, -6.0, 1.0, f, FS) + rbj_db(Rbj::LowShelf, 200.0, 3.0, 0.7, f, FS) + hs(f);
    for f in audio_band() {
        assert!((eq.magnitude_db_for_channel(f, FS, 0) - left(f)).abs() < 1e-6, "{f}");
        assert!((eq.magnitude_db_for_channel(f, FS, 1) - right(f)).abs() < 1e-6, "{f}");
    }
    assert!(left(1000.0) - right(1000.0) > 11.0);
    // and the running EQ does it: 1 kHz is 12 dB louder on the left
    let mut e = Equalizer::new(FS, 2, &eq).unwrap();
    let g = measured_gains_db(&mut e, 1000.0);
    assert!((g[0] - left(1000.0)).abs() < 0.02 && (g[1] - right(1000.0)).abs() < 0.02, "{g:?}");
}

#[test]
fn channel_selections_gecko_cannot_address_are_reported() {
    let text = "\
Channel: 1
Filter: ON PK Fc 100 Hz Gain 1 dB Q 1
Channel: 2
Filter: ON PK Fc 200 Hz Gain 1 dB Q 1
Channel: L R
Filter: ON PK Fc 300 Hz Gain 1 dB Q 1
Channel: C LFE
Filter: ON PK Fc 400 Hz Gain 1 dB Q 1
Preamp: -2 dB
Channel: R C
Filter: ON PK Fc 500 Hz Gain 1 dB Q 1
Channel: all
Filter: ON PK Fc 600 Hz Gain 1 dB Q 1
";
    let imported = parse_equalizer_apo(text, "channels").unwrap();
    let b: Vec<(f64, EqChannel)> = imported.preset.eq.bands.iter().map(|b| (b.freq_hz, b.channel)).collect();
    assert_eq!(
        b,
        [
            (100.0, EqChannel::Left),
            (200.0, EqChannel::Right),
            (300.0, EqChannel::All),
            (500.0, EqChannel::Right),
            (600.0, EqChannel::All)
        ]
    );
    let lines: Vec<usize> = imported.warnings.iter().map(|n| n.line).collect();
    assert_eq!(lines, [5, 7, 8, 9, 10], "{:?}", imported.warnings);
    let w = |line: usize| imported.warnings.iter().find(|n| n.line == line).unwrap().to_string();
    assert!(w(5).contains("L R: imported as all channels"), "{}", w(5));
    assert!(w(7).contains("channel(s) C LFE not supported"), "{}", w(7));
    assert!(w(8).contains("not imported"), "{}", w(8));
    assert!(w(9).contains("preamp for the channels selected on line 7"), "{}", w(9));
    assert!(w(10).contains("channel(s) C not supported: the lines that follow apply to right only"), "{}", w(10));
    assert_eq!(imported.preset.eq.preamp_db, 0.0);
}

#[test]
fn preamp_and_strength_change_the_response_as_documented() {
    let (preamp, filters) = autoeq_definition(HD650_PEQ);
    let eq = eq_of(&parse_equalizer_apo(HD650_PEQ, "hd650").unwrap());
    for strength in [1.0, 0.7, 0.25, 0.0] {
        let e = EqParams { strength, ..eq };
        // gains and preamp scaled in dB
        let want = |f: f64| {
            strength * preamp + filters.iter().map(|&(k, fc, g, q)| rbj_db(k, fc, g * strength, q, f, FS)).sum::<f64>()
        };
        for f in audio_band() {
            assert!((e.magnitude_db_for_channel(f, FS, 1) - want(f)).abs() < 1e-6, "{strength} {f}");
        }
        let mut run = Equalizer::new(FS, 2, &e).unwrap();
        for f in [100.0, 8865.0] {
            let g = measured_gains_db(&mut run, f);
            assert!((g[0] - want(f)).abs() < 0.02, "{strength} {f}: {g:?} vs {}", want(f));
        }
    }
    // strength 0: flat, and the samples pass untouched
    let mut run = Equalizer::new(FS, 2, &EqParams { strength: 0.0, ..eq }).unwrap();
    let x: Vec<f32> = (0..4096).map(|i| ((i as f32) * 0.37).sin() * 0.5).collect();
    let mut y = x.clone();
    run.process(&mut y);
    assert_eq!(x, y);
    // the preamp alone shifts every frequency by its value
    let more = EqParams { preamp_db: eq.preamp_db - 4.0, ..eq };
    for f in audio_band() {
        let d = more.magnitude_db_for_channel(f, FS, 0) - eq.magnitude_db_for_channel(f, FS, 0);
        assert!((d + 4.0).abs() < 1e-9);
    }
}

#[test]
fn a_left_and_a_right_autoeq_profile_fit_in_one_preset() {
    // written for this test: the two AutoEq profiles' filters, one per channel
    let filters = |t: &str| t.lines().filter(|l| l.starts_with("Filter")).collect::<Vec<_>>().join("\n");
    let text = format!("Preamp: -6.4 dB\nChannel: L\n{}\nChannel: R\n{}\n", filters(HD650_PEQ), filters(A12T_PEQ));
    let imported = parse_equalizer_apo(&text, "l-r").unwrap();
    let eq = eq_of(&imported);
    assert_eq!(imported.preset.eq.bands.len(), 20);
    let (_, l) = autoeq_definition(HD650_PEQ);
    let (_, r) = autoeq_definition(A12T_PEQ);
    let resp = |fs: &[(Rbj, f64, f64, f64)], f: f64| {
        -6.4 + fs.iter().map(|&(k, fc, g, q)| rbj_db(k, fc, g, q, f, FS)).sum::<f64>()
    };
    for f in audio_band() {
        assert!((eq.magnitude_db_for_channel(f, FS, 0) - resp(&l, f)).abs() < 1e-6);
        assert!((eq.magnitude_db_for_channel(f, FS, 1) - resp(&r, f)).abs() < 1e-6);
    }
}

// ---------------------------------------------------------------------------
// Conversions

fn one_band(line: &str) -> (EqBand, Vec<String>) {
    let imported = parse_equalizer_apo(line, "t").unwrap_or_else(|e| panic!("{line}: {e}"));
    assert_eq!(imported.preset.eq.bands.len(), 1, "{line}");
    (imported.preset.eq.bands[0], imported.warnings.iter().map(|n| n.message.clone()).collect())
}

#[test]
fn filter_forms_are_converted_as_equalizer_apo_reads_them() {
    // passes, band-pass and notch without Q: APO's defaults
    for (line, kind, q) in [
        ("Filter: ON LP Fc 8000 Hz", FilterType::LowPass, std::f64::consts::FRAC_1_SQRT_2),
        ("Filter: ON HP Fc 30 Hz", FilterType::HighPass, std::f64::consts::FRAC_1_SQRT_2),
        ("Filter: ON BP Fc 1000 Hz", FilterType::BandPass, std::f64::consts::FRAC_1_SQRT_2),
        ("Filter: ON NO Fc 50 Hz", FilterType::Notch, 30.0),
        ("Filter: ON LPQ Fc 10000 Hz Q 0.400", FilterType::LowPass, 0.4),
        ("Filter: ON HPQ Fc 20.0 Hz Q 0.500", FilterType::HighPass, 0.5),
        ("Filter: ON AP Fc 900 Hz Q 0.707", FilterType::AllPass, 0.707),
        ("Filter: ON NO Fc 800 Hz Q 5", FilterType::Notch, 5.0),
    ] {
        let (b, notes) = one_band(line);
        assert_eq!((b.kind, b.q), (kind, q), "{line}");
        assert_eq!(notes.iter().any(|n| n.contains("no Q")), !line.contains(" Q "), "{line}: {notes:?}");
    }
    // a gain on a type without one is ignored, and said so
    let (b, notes) = one_band("Filter: ON LP Fc 8000 Hz Gain 3 dB");
    assert_eq!(b.gain_db, 0.0);
    assert!(notes.iter().any(|n| n.contains("Gain 3 dB ignored")), "{notes:?}");
    // PK, PEQ and Modal are the same peaking filter
    for line in [
        "Filter 1: ON PK Fc 50.0 Hz Gain -10.0 dB Q 2.50",
        "Filter 1: ON PEQ Fc 50 Hz Gain -10 dB Q 2.5",
        "Filter 1: ON Modal Fc 50 Hz Gain -10.0 dB Q 2.5 T60 target 100 ms",
        "Filter 1: ON PK Fc 50,0 Hz Gain -10,0 dB Q 2,50",
        "  Filter  1: ON  PK       Fc   50.0Hz  Gain  -10.0dB  Q  2.500  ",
    ] {
        let (b, notes) = one_band(line);
        assert_eq!((b.kind, b.freq_hz, b.gain_db, b.q), (FilterType::Peaking, 50.0, -10.0, 2.5), "{line}");
        assert!(notes.is_empty(), "{line}: {notes:?}");
    }
    // OFF: imported, disabled
    let (b, _) = one_band("Filter 3: OFF PK Fc 5000 Hz Gain -2.0 dB Q 2.0");
    assert!(!b.enabled);
    // REW's thousands separator, as APO reads it
    let (b, notes) = one_band("Filter 1: ON PK Fc 1.500 Hz Gain 1 dB Q 1");
    assert_eq!(b.freq_hz, 1500.0);
    assert!(notes[0].contains("Fc read as 1500 Hz"), "{notes:?}");
}

/// The cookbook's shelf α from the slope S: sin ω0/2 · √((A + 1/A)(1/S − 1) + 2).
fn shelf_alpha(f0: f64, g: f64, s: f64) -> f64 {
    let a = 10f64.powf(g / 40.0);
    (2.0 * PI * f0 / FS).sin() / 2.0 * ((a + 1.0 / a) * (1.0 / s - 1.0) + 2.0).sqrt()
}

#[test]
fn shelf_slopes_and_corner_frequencies_are_converted_as_documented() {
    let check = |line: &str, kind: Rbj, centre: f64, g: f64, s: f64, note: &str| {
        let (b, notes) = one_band(line);
        assert!((b.freq_hz - centre).abs() < 1e-6 * centre, "{line}: {} vs {centre}", b.freq_hz);
        assert!(notes.iter().any(|n| n.contains(note)), "{line}: {notes:?}");
        let eq = EqParams::from_bands(&[b]);
        for f in audio_band() {
            // the cookbook's S form, computed here, against Gecko's Q band
            let want = rbj_alpha_db(kind, centre, g, shelf_alpha(centre, g, s), f, FS);
            let got = eq.magnitude_db_for_channel(f, FS, 0);
            assert!((got - want).abs() < 1e-6, "{line} at {f}: {got} vs {want}");
        }
    };
    // LSC/HSC with a slope: centre frequency, S = slope / 12
    check("Filter: ON LSC 10.8 dB Fc 300 Hz Gain 5.0 dB", Rbj::LowShelf, 300.0, 5.0, 0.9, "S = 0.9");
    check("Filter: ON HSC 6 dB Fc 100 Hz Gain -6.0 dB", Rbj::HighShelf, 100.0, -6.0, 0.5, "S = 0.5");
    // LS/HS with a slope: Fc is the corner; centre = Fc·10^(|g|/(80 S)) (low) or / (high)
    let c = 50.0 * 10f64.powf(7.2 / 80.0 / 0.5);
    check("Filter: ON LS 6dB Fc 50.0 Hz Gain 7.2 dB", Rbj::LowShelf, c, 7.2, 0.5, "corner frequency");
    let c = 500.0 / 10f64.powf(5.0 / 80.0 / 1.0);
    check("Filter: ON HS 12dB Fc 500 Hz Gain 5.0 dB", Rbj::HighShelf, c, 5.0, 1.0, "corner frequency");
    // no Q or slope: S = 0.9 and Fc the centre (APO's default)
    check("Filter: ON LS Fc 300 Hz Gain 5.0 dB", Rbj::LowShelf, 300.0, 5.0, 0.9, "default slope S = 0.9");
    check("Filter: ON HS Fc 1000 Hz Gain -3.0 dB", Rbj::HighShelf, 1000.0, -3.0, 0.9, "default slope S = 0.9");
    // LSC with Q: taken as it is
    let (b, notes) = one_band("Filter: ON LSC Fc 300 Hz Gain 5.0 dB Q 0.6473");
    assert_eq!((b.kind, b.freq_hz, b.q, b.gain_db), (FilterType::LowShelf, 300.0, 0.6473, 5.0));
    assert!(notes.is_empty());
    // LS with Q: a corner frequency, S from Q by the cookbook's relation
    let (b, notes) = one_band("Filter: ON LS Fc 300 Hz Gain 5.0 dB Q 0.7");
    let a = 10f64.powf(5.0 / 40.0);
    let s = 1.0 / ((1.0 / 0.49 - 2.0) / (a + 1.0 / a) + 1.0);
    assert!((b.freq_hz - 300.0 * 10f64.powf(5.0 / 80.0 / s)).abs() < 1e-6);
    assert_eq!(b.q, 0.7);
    assert!(notes.iter().any(|n| n.contains("corner frequency")), "{notes:?}");
}

#[test]
fn bandwidth_in_octaves_becomes_the_q_apo_designs_at_48_khz() {
    let (b, notes) = one_band("Filter 2: ON PEQ Fc 100 Hz Gain 1.0 dB BW Oct 0.167");
    assert!(notes.iter().any(|n| n.contains("BW Oct 0.167 converted")), "{notes:?}");
    // the cookbook's bandwidth form: α = sin ω0 · sinh(ln2/2 · BW · ω0/sin ω0)
    let w0 = 2.0 * PI * 100.0 / FS;
    let alpha = w0.sin() * (std::f64::consts::LN_2 / 2.0 * 0.167 * w0 / w0.sin()).sinh();
    let eq = EqParams::from_bands(&[b]);
    for f in audio_band() {
        let want = rbj_alpha_db(Rbj::Peak, 100.0, 1.0, alpha, f, FS);
        assert!((eq.magnitude_db_for_channel(f, FS, 0) - want).abs() < 1e-5, "{f}");
    }
}

// ---------------------------------------------------------------------------
// Errors and notes

#[test]
fn every_malformed_line_kind_is_an_error_naming_the_line() {
    let pk = "Filter 1: ON PK Fc 1000 Hz Gain 1 dB Q 1";
    let cases: Vec<(String, usize, &str)> = vec![
        ("Filter 1: MAYBE PK Fc 1000 Hz Gain 1 dB Q 1".into(), 1, "Filter 1: expected ON or OFF"),
        ("Filter 1: ON".into(), 1, "expected a filter type after ON"),
        ("Filter 1: ON XY Fc 1000 Hz Gain 1 dB Q 1".into(), 1, "unknown filter type `XY`"),
        ("Filter 1: ON IIR Order 2 Coefficients 1 0 0 1 0 0".into(), 1, "type IIR (raw coefficients) is not supported"),
        ("Filter 1: ON LP1 Fc 100 Hz".into(), 1, "type LP1 (first-order) is not supported"),
        ("Filter 1: ON PK Gain 1 dB Q 1".into(), 1, "missing `Fc <frequency> Hz`"),
        ("Filter 1: ON PK Fc abc Hz Gain 1 dB Q 1".into(), 1, "expected a frequency after Fc, found `abc Hz"),
        ("Filter 1: ON PK Fc 1000 Gain 1 dB Q 1".into(), 1, "expected `Hz` after Fc 1000"),
        ("Filter 1: ON PK Fc 1000 Hz Q 1".into(), 1, "missing `Gain <gain> dB` (a PK filter needs one)"),
        ("Filter 1: ON PK Fc 1000 Hz Gain 1 Q 1".into(), 1, "expected `dB` after Gain 1"),
        ("Filter 1: ON PK Fc 1000 Hz Gain 1 dB".into(), 1, "missing `Q <q>` or `BW Oct <octaves>`"),
        ("Filter 1: ON AP Fc 1000 Hz".into(), 1, "missing `Q <q>` or `BW Oct <octaves>` (a AP filter"),
        ("Filter 1: ON AP Fc 900 Hz Order 1".into(), 1, "only second-order (Order 2)"),
        (format!("{pk} loud"), 1, "unexpected `loud`"),
        ("Filter 1: ON PK Fc 1000 Hz Gain 1 dB Q 1 Q 2".into(), 1, "Q given twice"),
        ("Filter 1: ON PK Fc 1000 Hz Gain 1 dB Q 1 BW Oct 1".into(), 1, "both Q and BW Oct given"),
        ("Filter 1: ON PK Fc 1000 Hz Gain 1 dB BW 1".into(), 1, "expected `BW Oct <octaves>`"),
        ("Filter 1: ON PK 6 dB Fc 1000 Hz Gain 1 dB Q 1".into(), 1, "applies to shelf filters only"),
        ("Filter 1: ON LSC 6 dB Fc 100 Hz Gain 1 dB Q 1".into(), 1, "both a slope and Q given"),
        ("Filter 1: ON LS 30 dB Fc 100 Hz Gain 20 dB".into(), 1, "slope 30 dB is too steep for a 20 dB shelf"),
        ("Filter 1: ON HS Fc 100 Hz Gain 3 dB BW Oct 1".into(), 1, "BW Oct does not apply to shelf filters"),
        (
            "Filter 1: ON PK Fc 23000 Hz Gain 1 dB Q 1".into(),
            1,
            "frequency 23000 Hz: must be above 0 and below 22050 Hz",
        ),
        ("Filter 1: ON PK Fc 1000 Hz Gain 30 dB Q 1".into(), 1, "Gain 30 dB: Gecko's bands accept -24 to +24 dB"),
        ("Filter 1: ON PK Fc 1000 Hz Gain 1 dB Q 0.001".into(), 1, "Q 0.001: Gecko's bands accept 0.025 to 100"),
        ("Preamp: loud".into(), 1, "Preamp: expected `<number> dB`, found `loud`"),
        ("Preamp: -3".into(), 1, "Preamp: expected `dB` after -3"),
        ("Preamp: -3 dB now".into(), 1, "Preamp: unexpected `now`"),
        (
            format!("{pk}\nPreamp: -20 dB\nPreamp: -20 dB"),
            2,
            "the preamp adds up to -40 dB: Gecko accepts -30 to +30 dB",
        ),
        (
            format!("Preamp: -6 dB\nChannel: L\nPreamp: -1 dB\n{pk}\nChannel: R\n{pk}"),
            3,
            "the preamp differs between left (-7 dB) and right (-6 dB)",
        ),
        (format!("{pk}\nChannel:"), 2, "Channel: names no channel"),
        ("GraphicEQ: 20 -1; 30 x".into(), 1, "GraphicEQ: point 2 `30 x`: expected `<frequency> <gain dB>`"),
        ("GraphicEQ: 20 -1; 30 1 2".into(), 1, "GraphicEQ: point 2 `30 1 2`"),
        ("GraphicEQ: 20 -1; 20 1".into(), 1, "20 Hz is not above the point before (20 Hz)"),
        ("GraphicEQ: 0 -1; 20 1".into(), 1, "the frequency must be above 0 Hz"),
        ("GraphicEQ: ".into(), 1, "GraphicEQ: no points"),
        (
            (0..33).map(|i| format!("Filter: ON PK Fc {} Hz Gain 1 dB Q 1\n", 100 + i)).collect(),
            33,
            "33 bands in all: Gecko's EQ holds at most 32",
        ),
        ("# nothing\n\n".into(), 0, "nothing to import"),
    ];
    for (text, line, msg) in cases {
        let e: ImportError = parse_equalizer_apo(&text, "bad").expect_err(&text);
        assert_eq!(e.line, line, "{text:?}: {e}");
        assert!(e.message.contains(msg), "{text:?}: got `{e}`, want `{msg}`");
        let shown = e.to_string();
        if line > 0 {
            assert!(shown.starts_with(&format!("line {line}: ")), "{shown}");
        } else {
            assert_eq!(shown, e.message);
        }
    }
}

#[test]
fn unsupported_and_unknown_lines_are_reported_with_their_line_not_dropped() {
    let text = "\
Device: High Definition Audio Device Speakers; Benchmark
#All lines below will only be applied to the specified device
Preamp: -6 db
Include: example.txt
Filter  1: ON  PK       Fc     50 Hz   Gain  -3.0 dB  Q 10.00
Delay: 50.5 ms
Copy: L=L+0.5*R
Stage: post-mix
Loudness: on
this line is not a command
Filter 2: ON None
Filter 3: OFF PK Fc 100 Hz Gain 2 dB Q 1
Convolution: church.wav
";
    let imported = parse_equalizer_apo(text, "apo").unwrap();
    let noted: Vec<usize> = imported.warnings.iter().map(|n| n.line).collect();
    assert_eq!(noted, [1, 4, 6, 7, 8, 9, 10, 11, 13], "{:#?}", imported.warnings);
    let msg = |l: usize| imported.warnings.iter().find(|n| n.line == l).unwrap().message.clone();
    assert!(msg(1).contains("`Device:` is not supported"), "{}", msg(1));
    assert!(
        msg(4).contains("`Include:` is not supported by Gecko and was not imported: the included file is not read")
    );
    assert!(msg(6).contains("the delay is not applied"));
    assert!(msg(7).contains("the copy is not applied"));
    assert!(msg(9).contains("unknown command `Loudness:`"));
    assert!(msg(10).contains("not an Equalizer APO command"));
    assert!(msg(11).contains("type None (an empty slot)"));
    assert!(msg(13).contains("impulse response is not applied"));
    let eq = eq_of(&imported);
    assert_eq!(eq.preamp_db, -6.0);
    assert_eq!(imported.preset.eq.bands.len(), 2);
    assert!(imported.preset.eq.bands[0].enabled && !imported.preset.eq.bands[1].enabled);
}

// ---------------------------------------------------------------------------
// REW

/// Written for this test, in the layout of REW's "filter settings as text"
/// export (see tests/data/README.md); not a file REW wrote.
const REW: &str = "Filter Settings file

Room EQ V5.20.13
Dated: 01-Mar-2024 12:00:00

Notes:Living room, left speaker
moved 10 cm from the wall

Equaliser: Generic
Average 1
Filter  1: ON  PK       Fc   63.5 Hz  Gain  -5.0 dB  Q  4.00
Filter  2: ON  PK       Fc    1079 Hz  Gain   4.70 dB  Q  2.707
Filter  3: OFF PK       Fc   2384 Hz  Gain  -8.00 dB  Q  1.000
Filter  4: ON  LS 12dB  Fc   80.0 Hz  Gain   3.0 dB
Filter  5: ON  None
Filter  6: ON  None
";

#[test]
fn rew_filter_settings_import() {
    assert_eq!(Format::detect(REW), Format::Rew);
    assert_eq!(Format::detect(HD650_PEQ), Format::EqualizerApo);
    let imported = import_str(REW, "room").unwrap();
    assert_eq!(imported, parse_rew(REW, "room").unwrap());
    let p = &imported.preset;
    let d = p.description.as_deref().unwrap();
    assert!(d.contains("measurement Average 1") && d.contains("Living room, left speaker / moved 10 cm"), "{d}");
    let b: Vec<(FilterType, f64, bool)> = p.eq.bands.iter().map(|b| (b.kind, b.gain_db, b.enabled)).collect();
    assert_eq!(
        b,
        [
            (FilterType::Peaking, -5.0, true),
            (FilterType::Peaking, 4.7, true),
            (FilterType::Peaking, -8.0, false),
            (FilterType::LowShelf, 3.0, true)
        ]
    );
    assert_eq!(p.eq.bands[1].freq_hz, 1079.0);
    let noted: Vec<usize> = imported.warnings.iter().map(|n| n.line).collect();
    // the shelf's slope and corner frequency, two None slots
    assert_eq!(noted, [14, 14, 15, 16], "{:#?}", imported.warnings);
    // the response against the file's definition (the shelf: S = 1, corner 80 Hz)
    let eq = eq_of(&imported);
    let centre = 80.0 * 10f64.powf(3.0 / 80.0);
    for f in audio_band() {
        let want = rbj_db(Rbj::Peak, 63.5, -5.0, 4.0, f, FS)
            + rbj_db(Rbj::Peak, 1079.0, 4.7, 2.707, f, FS)
            + rbj_alpha_db(Rbj::LowShelf, centre, 3.0, shelf_alpha(centre, 3.0, 1.0), f, FS);
        assert!((eq.magnitude_db_for_channel(f, FS, 0) - want).abs() < 1e-6, "{f}");
    }
}

#[test]
fn rew_headers_are_checked() {
    let e = parse_rew("Filter  1: ON  PK  Fc 100 Hz  Gain 1 dB  Q 1\n", "r").unwrap_err();
    assert_eq!(
        (e.line, e.message.as_str()),
        (1, "a REW export starts with `Filter Settings file`: found a filter first")
    );
    let e = parse_rew("Room EQ V5.20\n", "r").unwrap_err();
    assert!(e.to_string().starts_with("line 1: a REW export starts with `Filter Settings file`"), "{e}");
    let text = "Filter Settings file\nRoom EQ V5.31\nSomething else\nEqualiser: miniDSP 2x4 HD\nSub\nFilter 1: ON PK Fc 40 Hz Gain -3 dB Q 5\n";
    let imported = parse_rew(text, "r").unwrap();
    let noted: Vec<(usize, bool)> = imported
        .warnings
        .iter()
        .map(|n| (n.line, n.message.contains("not a REW header line") || n.message.contains("miniDSP 2x4 HD")))
        .collect();
    assert_eq!(noted, [(3, true), (4, true)]);
    let e = parse_rew(&format!("{text}Filter 2: ON PK Fc 40 Hz Q 5\n"), "r").unwrap_err();
    assert_eq!(e.line, 7);
}

// ---------------------------------------------------------------------------
// Export

/// Every band type, on all, left and right channels, a disabled band, a
/// preamp and a strength.
fn varied() -> EqParams {
    let b = |kind, freq_hz, q, gain_db, channel| EqBand { kind, freq_hz, q, gain_db, enabled: true, channel };
    let mut p = EqParams::from_bands(&[
        b(FilterType::HighPass, 25.0, 0.707, 0.0, EqChannel::All),
        b(FilterType::LowShelf, 105.0, 0.7, 6.4, EqChannel::All),
        b(FilterType::Peaking, 1000.0, 1.41, -3.25, EqChannel::Left),
        b(FilterType::Peaking, 20.125, 2.0, 2.0, EqChannel::Left),
        b(FilterType::Notch, 60.0, 8.0, 0.0, EqChannel::Right),
        b(FilterType::BandPass, 3000.0, 0.3, 0.0, EqChannel::All),
        b(FilterType::AllPass, 7000.0, 0.9, 0.0, EqChannel::Right),
        b(FilterType::HighShelf, 10000.0, 0.7, -2.1, EqChannel::All),
        b(FilterType::LowPass, 20000.0, 0.707, 0.0, EqChannel::All),
        EqBand { enabled: false, ..b(FilterType::Peaking, 5000.0, 3.0, 4.0, EqChannel::Left) },
    ]);
    p.preamp_db = -6.1;
    p.strength = 0.6;
    p
}

#[test]
fn equalizer_apo_export_round_trips_through_the_importer() {
    let p = varied();
    let text = to_equalizer_apo(&p, Some("varied"));
    assert!(text.contains("strength 60 % applied"), "{text}");
    assert!(text.contains("Fc 20.1250 Hz"), "{text}");
    let back = parse_equalizer_apo(&text, "varied").unwrap();
    assert!(back.warnings.is_empty(), "{:?}\n{text}", back.warnings);
    let q = eq_of(&back);
    // the strength is applied in the file: the same response, at strength 1
    assert_eq!(q.strength, 1.0);
    assert_eq!(q.preamp_db, -3.66);
    for (a, b) in p.bands.iter().zip(q.bands.iter()) {
        let g = if a.kind.uses_gain() { a.gain_db * 0.6 } else { 0.0 };
        assert_eq!(
            (a.kind, a.freq_hz, a.q, a.enabled, a.channel),
            (b.kind, b.freq_hz, b.q, b.enabled, b.channel),
            "{text}"
        );
        assert!((b.gain_db - g).abs() < 1e-9);
    }
    for f in audio_band() {
        for c in 0..3 {
            let (x, y) = (p.magnitude_db_for_channel(f, FS, c), q.magnitude_db_for_channel(f, FS, c));
            assert!((x - y).abs() < 1e-9, "{f} ch {c}: {x} vs {y}");
        }
    }
    // and an imported AutoEq file comes back as it went out
    let hd = parse_equalizer_apo(HD650_PEQ, "Sennheiser HD 650").unwrap().preset;
    let again = parse_equalizer_apo(&preset_to_equalizer_apo(&hd), "Sennheiser HD 650").unwrap();
    assert_eq!(again.preset.eq, hd.eq);
    let text = preset_to_equalizer_apo(&hd);
    assert!(text.contains("# not exported (not EQ): gain 0.0 dB, true-peak limiter"), "{text}");
}

/// Reads the export's YAML back here (just the shapes it writes): filter
/// name → (type, parameters), and the pipeline's channel → filter names.
#[allow(clippy::type_complexity)]
fn read_camilla(yaml: &str) -> (Vec<(String, String, Vec<(String, String)>)>, Vec<(Vec<usize>, Vec<String>)>) {
    let mut filters: Vec<(String, String, Vec<(String, String)>)> = Vec::new();
    let mut steps: Vec<(Vec<usize>, Vec<String>)> = Vec::new();
    let mut section = "";
    for line in yaml.lines().filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty()) {
        let indent = line.len() - line.trim_start().len();
        let t = line.trim();
        if indent == 0 {
            section = t.trim_end_matches(':');
            assert!(section == "filters" || section == "pipeline", "{line}");
            continue;
        }
        match section {
            "filters" if indent == 2 => filters.push((t.trim_end_matches(':').to_owned(), String::new(), Vec::new())),
            "filters" if indent == 4 && t.starts_with("type: ") => filters.last_mut().unwrap().1 = t[6..].to_owned(),
            "filters" if indent == 6 => {
                let (k, v) = t.split_once(": ").unwrap();
                filters.last_mut().unwrap().2.push((k.to_owned(), v.to_owned()));
            }
            "pipeline" if t.starts_with("- type: Filter") => steps.push((Vec::new(), Vec::new())),
            "pipeline" if t.starts_with("channels: ") => {
                let list = t[10..].trim_matches(['[', ']']);
                steps.last_mut().unwrap().0 = list.split(", ").map(|c| c.parse().unwrap()).collect();
            }
            "pipeline" if t.starts_with("- ") => steps.last_mut().unwrap().1.push(t[2..].to_owned()),
            _ => {}
        }
    }
    (filters, steps)
}

#[test]
fn camilladsp_export_describes_the_same_response_per_channel() {
    let p = varied();
    let yaml = to_camilladsp(&p, Some("varied"));
    let (filters, steps) = read_camilla(&yaml);
    assert_eq!(steps.len(), 2, "{yaml}");
    for (channel, (chs, names)) in steps.iter().enumerate() {
        assert_eq!(chs, &[channel]);
        // the response of the step's filters, computed here from the YAML's numbers
        let response = |f: f64| -> f64 {
            names
                .iter()
                .map(|n| {
                    let (_, ty, params) = filters.iter().find(|(name, _, _)| name == n).unwrap();
                    let get = |k: &str| params.iter().find(|(kk, _)| kk == k).map(|(_, v)| v.parse::<f64>().unwrap());
                    if ty == "Gain" {
                        assert_eq!(params.iter().find(|(k, _)| k == "scale").unwrap().1, "dB");
                        return get("gain").unwrap();
                    }
                    assert_eq!(ty, "Biquad");
                    let sub = &params.iter().find(|(k, _)| k == "type").unwrap().1;
                    let kind = match sub.as_str() {
                        "Peaking" => Rbj::Peak,
                        "Lowshelf" => Rbj::LowShelf,
                        "Highshelf" => Rbj::HighShelf,
                        "Lowpass" => Rbj::LowPass,
                        "Highpass" => Rbj::HighPass,
                        "Notch" => Rbj::Notch,
                        "Bandpass" => Rbj::BandPass,
                        "Allpass" => Rbj::AllPass,
                        other => panic!("CamillaDSP has no Biquad type {other}"),
                    };
                    rbj_db(kind, get("freq").unwrap(), get("gain").unwrap_or(0.0), get("q").unwrap(), f, FS)
                })
                .sum()
        };
        for f in audio_band() {
            let want = p.magnitude_db_for_channel(f, FS, channel);
            assert!((response(f) - want).abs() < 1e-6, "{f} ch {channel}: {} vs {want}\n{yaml}", response(f));
        }
    }
    // the disabled band is left out and said to be
    assert!(yaml.contains("# disabled bands not exported: 10"), "{yaml}");
    assert!(!yaml.contains("gecko_band_10:"));
    let hd = parse_equalizer_apo(HD650_PEQ, "Sennheiser HD 650").unwrap().preset;
    let yaml = preset_to_camilladsp(&hd);
    assert!(yaml.contains("# not exported (not EQ): gain 0.0 dB"), "{yaml}");
    assert_eq!(read_camilla(&yaml).1.len(), 2);
}

#[test]
fn imported_presets_are_valid_presets_that_survive_toml() {
    for text in [HD650_PEQ, A12T_PEQ, LEFT_RIGHT, REW] {
        let p = import_str(text, "x").unwrap().preset;
        p.validate(44_100.0).unwrap();
        let back = Preset::from_toml_str(&p.to_toml_string(), "x.toml").unwrap();
        assert_eq!(back, p);
    }
}

/// The preset name a file suggests: AutoEq's suffixes and the extension go,
/// the rest (brackets, dots in the model name) stays.
#[test]
fn a_file_name_suggests_the_preset_name() {
    use gecko_dsp::import::name_from_file_name;
    assert_eq!(name_from_file_name("Sennheiser HD 650 ParametricEQ.txt"), "Sennheiser HD 650");
    assert_eq!(name_from_file_name("64 Audio A12t (CIEM) (sample 1) GraphicEQ.txt"), "64 Audio A12t (CIEM) (sample 1)");
    assert_eq!(name_from_file_name("/tmp/dir/Room v1.2.txt"), "Room v1.2");
    assert_eq!(name_from_file_name("C:\\Users\\me\\filters"), "filters");
    assert_eq!(name_from_file_name(".txt"), ".txt", "a hidden file keeps its name (and the store refuses it)");
    assert_eq!(name_from_file_name(""), "imported");
    assert_eq!(name_from_file_name(" ParametricEQ.txt"), "imported");
}
