//! Export of Gecko's EQ to other tools' formats, so that a preset can leave
//! Gecko: an Equalizer APO configuration (`ParametricEQ.txt` style, read
//! back by [`crate::import`]) and a CamillaDSP YAML fragment.
//!
//! Both write the EQ **as Gecko runs it**: the strength is applied to the
//! gains and the preamp (gains scaled in dB; neither format has a
//! strength), and a header comment says so. Both formats use the RBJ
//! Audio EQ Cookbook biquads Gecko uses, so every band type is expressed
//! exactly:
//!
//! | Gecko | Equalizer APO | CamillaDSP `Biquad` |
//! | --- | --- | --- |
//! | peaking | `PK … Gain … Q` | `Peaking` (`freq`, `gain`, `q`) |
//! | low / high shelf | `LSC` / `HSC … Gain … Q` (centre frequency) | `Lowshelf` / `Highshelf` (`freq`, `gain`, `q`) |
//! | low / high pass | `LPQ` / `HPQ … Q` | `Lowpass` / `Highpass` (`freq`, `q`) |
//! | notch | `NO … Q` | `Notch` (`freq`, `q`) |
//! | band pass (0 dB peak) | `BP … Q` | `Bandpass` (`freq`, `q`) |
//! | all pass | `AP … Q` | `Allpass` (`freq`, `q`) |
//!
//! **Equalizer APO**: the preamp is a `Preamp:` line, channel-specific
//! bands follow `Channel: L` / `Channel: R` lines (APO's first and second
//! channel, like Gecko's left and right), the others `Channel: all`;
//! disabled bands are written `OFF` (APO skips them, Gecko's import keeps
//! them disabled). Not expressed: the strength (applied instead), and —
//! with [`preset_to_equalizer_apo`] — the preset's gain, limiter, output
//! device and latency, which are not EQ (listed in a comment). A frequency
//! with exactly three decimals gets a fourth (`20.1250`): APO would read
//! `20.125` as 20125 Hz (REW's thousands separator).
//!
//! **CamillaDSP**: the `filters:` and `pipeline:` sections of a
//! configuration (CamillaDSP's README, "Filters", "Pipeline"): a `Gain`
//! filter (`scale: dB`) for the preamp, one `Biquad` filter per enabled
//! band, and one `Filter` pipeline step per channel — channel 0 (left) and
//! channel 1 (right), each listing the preamp and the bands that apply to
//! it in order. Not expressed: the `devices:` section (the user's own
//! hardware: add it), channels 2 and up (a commented step lists the
//! all-channel bands to use for them), disabled bands (left out, listed in
//! a comment), the strength (applied instead), and the preset's gain,
//! limiter, output device and latency.

use crate::biquad::FilterType;
use crate::eq::{EqBand, EqChannel, EqParams};
use crate::preset::Preset;
use std::fmt::Write;

/// A number as written in both formats: the shortest text that reads back
/// as the same `f64` (Rust's `Display`), with a `.0` added to whole numbers
/// so that YAML reads a float.
fn num(x: f64) -> String {
    let x = if x == 0.0 { 0.0 } else { x }; // no "-0"
    let s = format!("{x}");
    if s.contains(['.', 'e', 'E', 'i', 'N']) { s } else { format!("{s}.0") }
}

/// A frequency for Equalizer APO: as [`num`], but never with exactly three
/// decimals after the point (APO reads `1.234` as 1234 Hz).
fn apo_freq(x: f64) -> String {
    let s = format!("{x}");
    match s.split_once('.') {
        Some((_, frac)) if frac.len() == 3 && !s.contains(['e', 'E']) => format!("{s}0"),
        _ => s,
    }
}

/// Text safe for a one-line comment.
fn one_line(s: &str) -> String {
    s.replace(['\r', '\n'], " ")
}

/// `db × strength`, as the EQ runs it: exact at strength 1, else to 10
/// significant digits (so that −6.1 × 0.6 is written −3.66, not
/// −3.6599999999999997; the difference is below 1e-9 dB).
fn scaled(db: f64, strength: f64) -> f64 {
    if strength == 1.0 || db == 0.0 {
        return db;
    }
    let x = db * strength;
    let scale = 10f64.powi(9 - x.abs().log10().floor() as i32);
    (x * scale).round() / scale
}

/// The band's gain as the EQ runs it at `strength` (dB × strength).
fn scaled_gain(b: &EqBand, strength: f64) -> f64 {
    if b.kind.uses_gain() { scaled(b.gain_db, strength) } else { 0.0 }
}

/// A strength as a percentage, e.g. `60`.
fn percent(strength: f64) -> String {
    format!("{}", (strength * 1e6).round() / 1e4)
}

/// `eq` as an Equalizer APO configuration (see the module docs), with
/// `title` (e.g. the preset's name) in the header comment.
pub fn to_equalizer_apo(eq: &EqParams, title: Option<&str>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# {} for Equalizer APO, written by Gecko",
        title.map_or("EQ".to_owned(), |t| format!("\"{}\"", one_line(t)))
    );
    if eq.strength != 1.0 {
        let _ =
            writeln!(out, "# strength {} % applied: gains and preamp scaled by {}", percent(eq.strength), eq.strength);
    }
    write_apo_body(&mut out, eq);
    out
}

fn write_apo_body(out: &mut String, eq: &EqParams) {
    let preamp = scaled(eq.preamp_db, eq.strength);
    if preamp != 0.0 {
        let _ = writeln!(out, "Preamp: {} dB", num(preamp));
    }
    let used = eq.bands.iter().rposition(|b| *b != EqBand::default()).map_or(0, |i| i + 1);
    let mut channel = EqChannel::All;
    for (i, b) in eq.bands[..used].iter().enumerate() {
        if b.channel != channel {
            channel = b.channel;
            let _ = writeln!(
                out,
                "Channel: {}",
                match channel {
                    EqChannel::All => "all",
                    EqChannel::Left => "L",
                    EqChannel::Right => "R",
                }
            );
        }
        let state = if b.enabled { "ON" } else { "OFF" };
        let ty = match b.kind {
            FilterType::Peaking => "PK",
            FilterType::LowShelf => "LSC",
            FilterType::HighShelf => "HSC",
            FilterType::LowPass => "LPQ",
            FilterType::HighPass => "HPQ",
            FilterType::Notch => "NO",
            FilterType::BandPass => "BP",
            FilterType::AllPass => "AP",
        };
        let gain =
            if b.kind.uses_gain() { format!(" Gain {} dB", num(scaled_gain(b, eq.strength))) } else { String::new() };
        let _ = writeln!(out, "Filter {}: {state} {ty} Fc {} Hz{gain} Q {}", i + 1, apo_freq(b.freq_hz), num(b.q));
    }
}

/// What a preset holds besides its EQ, for the exports' comments.
fn not_exported(p: &Preset) -> Vec<String> {
    let mut v = vec![format!("gain {} dB", num(p.gain_db))];
    if p.limiter.enabled {
        v.push(format!(
            "true-peak limiter (ceiling {} dBTP, release {} ms, lookahead {} ms)",
            num(p.limiter.ceiling_dbtp),
            num(p.limiter.release_ms),
            num(p.limiter.lookahead_ms)
        ));
    } else {
        v.push("limiter off".to_owned());
    }
    if let Some(d) = &p.output_device {
        v.push(format!("output device \"{}\"", one_line(d)));
    }
    v
}

/// A preset's EQ ([`Preset::chain_params`]) as an Equalizer APO
/// configuration, with its name and description in the header, and a
/// comment listing what is not EQ and not exported.
pub fn preset_to_equalizer_apo(preset: &Preset) -> String {
    let eq = preset.chain_params().eq;
    let mut out = to_equalizer_apo(&eq, preset.name.as_deref());
    let mut head = String::new();
    if let Some(d) = &preset.description {
        let _ = writeln!(head, "# {}", one_line(d));
    }
    let _ = writeln!(head, "# not exported (not EQ): {}", not_exported(preset).join(", "));
    let at = out.find('\n').map_or(out.len(), |i| i + 1);
    out.insert_str(at, &head);
    out
}

/// `eq` as the `filters:` and `pipeline:` sections of a CamillaDSP
/// configuration (see the module docs), with `title` in the header comment.
pub fn to_camilladsp(eq: &EqParams, title: Option<&str>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# {} for CamillaDSP, written by Gecko: the filters and pipeline sections;",
        title.map_or("EQ".to_owned(), |t| format!("\"{}\"", one_line(t)))
    );
    let _ = writeln!(out, "# add the devices section for your hardware.");
    if eq.strength != 1.0 {
        let _ =
            writeln!(out, "# strength {} % applied: gains and preamp scaled by {}", percent(eq.strength), eq.strength);
    }
    write_camilla_body(&mut out, eq);
    out
}

fn write_camilla_body(out: &mut String, eq: &EqParams) {
    let preamp = scaled(eq.preamp_db, eq.strength);
    let mut names: Vec<(String, EqChannel)> = Vec::new();
    let _ = writeln!(out, "filters:");
    if preamp != 0.0 {
        let _ = writeln!(out, "  gecko_preamp:");
        let _ = writeln!(out, "    type: Gain");
        let _ = writeln!(out, "    parameters:");
        let _ = writeln!(out, "      gain: {}", num(preamp));
        let _ = writeln!(out, "      scale: dB");
        names.push(("gecko_preamp".to_owned(), EqChannel::All));
    }
    let mut disabled = Vec::new();
    for (i, b) in eq.bands.iter().enumerate() {
        if *b == EqBand::default() {
            continue;
        }
        if !b.enabled {
            disabled.push(i + 1);
            continue;
        }
        let name = format!("gecko_band_{}", i + 1);
        let ty = match b.kind {
            FilterType::Peaking => "Peaking",
            FilterType::LowShelf => "Lowshelf",
            FilterType::HighShelf => "Highshelf",
            FilterType::LowPass => "Lowpass",
            FilterType::HighPass => "Highpass",
            FilterType::Notch => "Notch",
            FilterType::BandPass => "Bandpass",
            FilterType::AllPass => "Allpass",
        };
        let _ = writeln!(out, "  {name}:");
        if b.channel != EqChannel::All {
            let _ = writeln!(out, "    description: \"{} channel only\"", b.channel.name());
        }
        let _ = writeln!(out, "    type: Biquad");
        let _ = writeln!(out, "    parameters:");
        let _ = writeln!(out, "      type: {ty}");
        let _ = writeln!(out, "      freq: {}", num(b.freq_hz));
        if b.kind.uses_gain() {
            let _ = writeln!(out, "      gain: {}", num(scaled_gain(b, eq.strength)));
        }
        let _ = writeln!(out, "      q: {}", num(b.q));
        names.push((name, b.channel));
    }
    if !disabled.is_empty() {
        let list: Vec<String> = disabled.iter().map(|i| i.to_string()).collect();
        let _ = writeln!(out, "  # disabled bands not exported: {}", list.join(", "));
    }
    let _ = writeln!(out, "pipeline:");
    let step =
        |out: &mut String, comment: &str, description: &str, channels: &str, pick: &dyn Fn(EqChannel) -> bool| {
            let picked: Vec<&str> = names.iter().filter(|(_, c)| pick(*c)).map(|(n, _)| n.as_str()).collect();
            let _ = writeln!(out, "{comment}  - type: Filter");
            let _ = writeln!(out, "{comment}    description: \"{description}\"");
            let _ = writeln!(out, "{comment}    channels: {channels}");
            if picked.is_empty() {
                let _ = writeln!(out, "{comment}    names: []");
            } else {
                let _ = writeln!(out, "{comment}    names:");
                for n in picked {
                    let _ = writeln!(out, "{comment}      - {n}");
                }
            }
        };
    step(out, "", "Gecko EQ, left (channel 0)", "[0]", &|c| c.applies_to(0));
    step(out, "", "Gecko EQ, right (channel 1)", "[1]", &|c| c.applies_to(1));
    let _ = writeln!(out, "  # for channels 2 and up, Gecko runs the all-channel bands only:");
    step(out, "#", "Gecko EQ, channels 2 and up", "[2, 3]", &|c| c == EqChannel::All);
}

/// A preset's EQ ([`Preset::chain_params`]) as CamillaDSP `filters:` and
/// `pipeline:` sections, with its name and description in the header and a
/// comment listing what is not EQ and not exported.
pub fn preset_to_camilladsp(preset: &Preset) -> String {
    let eq = preset.chain_params().eq;
    let mut out = to_camilladsp(&eq, preset.name.as_deref());
    let mut head = String::new();
    if let Some(d) = &preset.description {
        let _ = writeln!(head, "# {}", one_line(d));
    }
    let _ = writeln!(head, "# not exported (not EQ): {}", not_exported(preset).join(", "));
    let at = out.find("filters:").unwrap_or(0);
    out.insert_str(at, &head);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_back_the_same_and_apo_frequencies_avoid_the_thousands_trap() {
        for x in [105.0, 0.7, -6.1, 8865.0, 1e-3, 20.125, 123.456789] {
            assert_eq!(num(x).parse::<f64>().unwrap(), x);
            assert_eq!(apo_freq(x).parse::<f64>().unwrap(), x);
        }
        assert_eq!(num(105.0), "105.0");
        assert_eq!(num(-0.0), "0.0");
        assert_eq!(apo_freq(20.125), "20.1250");
        assert_eq!(apo_freq(105.0), "105");
        assert_eq!(apo_freq(1234.5), "1234.5");
    }
}
