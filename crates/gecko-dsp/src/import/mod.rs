//! Import of EQ settings made with other tools into a [`Preset`]: pure
//! functions on text (plus [`from_path`], which reads a file), for
//! `gecko preset import` and the app.
//!
//! | format | entry point |
//! | --- | --- |
//! | Equalizer APO configuration, AutoEq `ParametricEQ.txt` and `GraphicEQ.txt` | [`parse_equalizer_apo`] |
//! | Room EQ Wizard (REW) "filter settings as text" export | [`parse_rew`] |
//! | either, told apart by REW's first line `Filter Settings file` | [`import_str`], [`from_path`] |
//!
//! The result is an [`Imported`]: the preset (name, EQ bands, preamp;
//! strength 1, preset gain 0 dB, default limiter) and a note for every line
//! that was not imported as written — ignored, converted or approximated —
//! with its line number. A line that cannot be read is an [`ImportError`]
//! naming the line and what is wrong. Nothing is dropped silently: blank
//! lines and `#` comments are the only lines passed over without a note.
//!
//! # Equalizer APO / AutoEq
//!
//! As described in Equalizer APO's configuration reference (and, where the
//! reference is silent, as its source — `filters/BiQuadFilterFactory.cpp`,
//! `BiQuadFilter.cpp`, version 1.2.1 and later — behaves). Lines are
//! `Command: parameters`; command names are matched without regard to case;
//! a decimal comma is read as a point.
//!
//! - `Preamp: <x> dB` — preamps add up (per channel, as in APO) into
//!   [`crate::EqParams::preamp_db`]. Gecko has one preamp for all channels:
//!   when the left and right totals differ, that is an error.
//! - `Filter[ <n>]: ON|OFF <type> [<x> dB] Fc <f> Hz [Gain <g> dB] [Q <q> | BW Oct <bw>]`
//!   — one band; `OFF` bands are imported disabled (APO ignores them); the
//!   number is not interpreted. Types:
//!
//!   | APO type | band | without Q |
//!   | --- | --- | --- |
//!   | `PK`, `PEQ`, `Modal` | peaking | error (APO requires it) |
//!   | `LP`, `LPQ` / `HP`, `HPQ` | low-pass / high-pass | Q = 1/√2 (Butterworth), APO's default |
//!   | `BP` | band-pass (0 dB peak) | Q = 1/√2, APO's default |
//!   | `NO` | notch | Q = 30, APO's default |
//!   | `AP` | all-pass | error (APO requires it) |
//!   | `LSC`, `HSC` | low / high shelf, `Fc` = centre frequency | slope S = 0.9, APO's default |
//!   | `LS`, `HS` | low / high shelf | S = 0.9 and `Fc` the centre frequency; with a Q or slope, `Fc` is a corner frequency (below) |
//!   | `None` | (an empty REW slot) | noted, nothing imported |
//!
//!   Shelves given a slope (`LS 6dB`, `LS 12dB`, `LSC 10.8 dB`, …) use the
//!   RBJ Audio EQ Cookbook's shelf slope S = slope / 12 dB (APO: "maximum S
//!   is 1 for 12 dB"), converted to the cookbook's Q exactly (the same
//!   α): `1/Q = √((A + 1/A)·(1/S − 1) + 2)`, A = 10^(gain/40). For `LS`/`HS`
//!   with a Q or a slope APO reads `Fc` as the corner frequency of a
//!   Behringer DCX2496-style shelf and moves it to the centre frequency:
//!   `f_centre = Fc · 10^(|gain| / (80·S))` for a low shelf (divided for a
//!   high shelf), with S from Q by the inverse relation when a Q is given;
//!   Gecko does the same and notes it. `BW Oct <bw>` is converted to Q with
//!   the cookbook's bandwidth relation as APO designs it,
//!   `1/Q = 2·sinh(ln 2 / 2 · bw · ω0 / sin ω0)`, at 48 kHz (APO's filter
//!   at other rates differs slightly; noted). A gain on a type without one
//!   (passes, notch, band-pass, all-pass) is ignored, as APO does (noted).
//!   A frequency written `1.234` (three decimals after the only point, no
//!   exponent) is read as 1234 Hz, as APO does for REW's thousands
//!   separator (noted).
//! - `Channel: <positions>` — selects the channels the following filters
//!   and preamps apply to: `all`; `L` or `1` (Gecko's left = channel 0);
//!   `R` or `2` (right = channel 1); `L R` / `1 2` become all channels
//!   (noted: on more than two channels, channels 3 and up get them too).
//!   Other positions (`C`, `LFE`, `3`, …) are noted as unsupported; the
//!   filters and preamps of a selection with none of L and R are noted and
//!   not imported.
//! - `GraphicEQ: <f> <g>; <f> <g>; …` — a curve, realised as bands (below).
//! - Other APO commands (`Include`, `Device`, `Copy`, `Delay`, `Stage`,
//!   `If`, `Eval`, `Convolution`, `VSTPlugin`, …) and unknown commands are
//!   noted as not imported, each with its line.
//!
//! # GraphicEQ
//!
//! APO interpolates a GraphicEQ curve linearly in dB over log-frequency
//! ([`graphic::graphic_eq_db`]). Gecko realises it with the chain's own
//! biquads ([`graphic::fit_graphic_eq`]) so that, at 48 kHz, the response
//! is within ±0.5 dB of that curve everywhere from 20 Hz to 16 kHz —
//! checked on a 1/192-octave grid and at every given point — or the import
//! fails with the best deviation reached. Method: the preamp takes the
//! curve's mean level (on all-channel curves; 0 on a one-channel curve,
//! since the preamp is shared); then bands are added one at a time where
//! the remaining error is largest — a peaking filter as wide as the error
//! feature there, or near either end a shelf, whichever helps more — and
//! after each addition all bands' frequency, Q and gain are re-fitted by
//! Levenberg–Marquardt on a 1/48-octave grid plus the given points
//! (weighted least squares with a small ridge on the gains, then rounds
//! reweighted towards the minimax), until the check passes or
//! [`MAX_BANDS`] is reached. Outside 20 Hz–16 kHz the fit follows the
//! curve with less weight (and at most 24 dB/octave, 12 dB away from the
//! edge value); that deviation is reported, not guaranteed. The note on
//! the line gives the bands used and the deviation reached. The two real
//! AutoEq curves in `tests/data` take 8 and 12 bands (0.32 and 0.39 dB
//! off at most); a fit takes well under a second.
//!
//! # REW
//!
//! "Export filter settings as text" writes a header, then filter lines in
//! the Equalizer APO form above (APO's filter syntax is REW's "Generic"
//! equaliser format; "FBQ2496" writes `BW Oct`). Header lines accepted:
//! `Filter Settings file`, `Room EQ V…`, `Dated: …`, `Notes:…` (and the
//! lines after it up to `Equaliser:`, which are the notes), `Equaliser: …`
//! and the one line after it (the measurement's name, e.g. `Average 1`).
//! An equaliser other than `Generic` or `FBQ2496` is noted (REW may model
//! that device's filters differently from the cookbook). Everything else
//! is read as in an APO file.
//!
//! # Limits
//!
//! Bands must be valid where presets run: frequency above 0 and below
//! 22050 Hz (half of 44.1 kHz), Q from 0.025 to 100, gain from −24 to
//! +24 dB; the preamp total from −30 to +30 dB; at most [`MAX_BANDS`]
//! bands in all (disabled ones count). Anything else is an error naming the
//! line.

pub mod graphic;

use crate::biquad::{BiquadError, BiquadParams, FilterType};
use crate::eq::{EqBand, EqChannel, MAX_BANDS, MAX_PREAMP_DB, MIN_PREAMP_DB};
use crate::preset::{Preset, PresetEq};
use std::f64::consts::{FRAC_1_SQRT_2, LN_2, PI};
use std::fmt;
use std::path::Path;

/// Lowest sample rate imported bands must be valid at, Hz.
pub const MIN_SAMPLE_RATE: f64 = 44_100.0;
/// Sample rate at which `BW Oct` bandwidths are converted to Q, Hz.
pub const BANDWIDTH_SAMPLE_RATE: f64 = 48_000.0;

/// Something about one line that the reader should know: what was ignored,
/// converted or approximated, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportNote {
    /// Line number, from 1 (0: the file as a whole).
    pub line: usize,
    /// What happened.
    pub message: String,
}

impl fmt::Display for ImportNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 { write!(f, "{}", self.message) } else { write!(f, "line {}: {}", self.line, self.message) }
    }
}

/// Why a file could not be imported: the line (from 1; 0 for the file as a
/// whole) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", ImportNote { line: *line, message: message.clone() })]
pub struct ImportError {
    /// Line number, from 1 (0: the file as a whole).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

fn error(line: usize, message: impl Into<String>) -> ImportError {
    ImportError { line, message: message.into() }
}

/// An imported preset and the notes on what was not imported as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    /// The preset: `name`, a description of the source, the EQ (bands,
    /// preamp; strength 1), preset gain 0 dB and the default limiter.
    pub preset: Preset,
    /// One note per line ignored, converted or approximated, in line order.
    pub warnings: Vec<ImportNote>,
}

/// The formats [`import_str`] tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Equalizer APO configuration (AutoEq's `ParametricEQ.txt` and
    /// `GraphicEQ.txt` are such files).
    EqualizerApo,
    /// REW's "filter settings as text" export.
    Rew,
}

impl Format {
    /// A REW export if its first non-blank line is `Filter Settings file`,
    /// else an Equalizer APO configuration.
    pub fn detect(text: &str) -> Format {
        let first = text.lines().map(clean).find(|l| !l.is_empty());
        if first.is_some_and(|l| l.eq_ignore_ascii_case("Filter Settings file")) {
            Format::Rew
        } else {
            Format::EqualizerApo
        }
    }
}

/// Imports `text` in whichever format [`Format::detect`] finds, as a
/// preset called `name`.
pub fn import_str(text: &str, name: &str) -> Result<Imported, ImportError> {
    match Format::detect(text) {
        Format::EqualizerApo => parse_equalizer_apo(text, name),
        Format::Rew => parse_rew(text, name),
    }
}

/// Reads the file at `path` (UTF-8) and imports it with [`import_str`],
/// naming the preset after the file (its name without the extension, and
/// without AutoEq's ` ParametricEQ` / ` GraphicEQ` suffix).
pub fn from_path(path: &Path) -> Result<Imported, ImportError> {
    let text = std::fs::read_to_string(path).map_err(|e| error(0, format!("{}: {e}", path.display())))?;
    let file_name = path.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    import_str(&text, &name_from_file_name(&file_name))
}

/// The preset name a file suggests: its name without the extension and
/// without AutoEq's ` ParametricEQ` / ` GraphicEQ` suffix
/// (`"Sennheiser HD 650 ParametricEQ.txt"` → `"Sennheiser HD 650"`);
/// `"imported"` when nothing is left.
pub fn name_from_file_name(file_name: &str) -> String {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    let stem = match base.rfind('.') {
        Some(dot) if dot > 0 => &base[..dot],
        _ => base,
    };
    let name = stem.trim_end_matches(" ParametricEQ").trim_end_matches(" GraphicEQ").trim();
    if name.is_empty() { "imported".to_owned() } else { name.to_owned() }
}

/// Imports an Equalizer APO configuration (AutoEq's `ParametricEQ.txt` and
/// `GraphicEQ.txt` included) as a preset called `name`. See the module
/// docs for what is understood and how.
pub fn parse_equalizer_apo(text: &str, name: &str) -> Result<Imported, ImportError> {
    let mut r = Reader::default();
    for (i, raw) in text.lines().enumerate() {
        r.apo_line(i + 1, clean(raw))?;
    }
    r.finish(name, "Imported from an Equalizer APO configuration".to_owned())
}

/// Imports REW's "filter settings as text" export as a preset called
/// `name`. See the module docs for the header lines accepted.
pub fn parse_rew(text: &str, name: &str) -> Result<Imported, ImportError> {
    let mut r = Reader::default();
    let mut header = RewHeader::default();
    let mut state = RewState::Start;
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = clean(raw);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let lower = line.to_ascii_lowercase();
        if is_filter_command(line) {
            if state == RewState::Start {
                return Err(error(n, "a REW export starts with `Filter Settings file`: found a filter first"));
            }
            state = RewState::Filters;
            r.apo_line(n, line)?;
            continue;
        }
        match state {
            RewState::Start => {
                if lower == "filter settings file" {
                    state = RewState::Header;
                } else {
                    return Err(error(n, format!("a REW export starts with `Filter Settings file`, not `{line}`")));
                }
            }
            RewState::Header | RewState::Notes => {
                if lower.starts_with("room eq v") {
                    header.version = Some(line.to_owned());
                    state = RewState::Header;
                } else if let Some(d) = strip_prefix_ci(line, "dated:") {
                    header.dated = Some(d.trim().to_owned());
                    state = RewState::Header;
                } else if let Some(notes) = strip_prefix_ci(line, "notes:") {
                    header.notes.extend(Some(notes.trim()).filter(|s| !s.is_empty()).map(str::to_owned));
                    state = RewState::Notes;
                } else if let Some(eq) =
                    strip_prefix_ci(line, "equaliser:").or_else(|| strip_prefix_ci(line, "equalizer:"))
                {
                    let eq = eq.trim();
                    if !eq.eq_ignore_ascii_case("generic") && !eq.eq_ignore_ascii_case("fbq2496") {
                        r.note(
                            n,
                            format!(
                                "REW equaliser `{eq}`: its filters are read as Generic (RBJ cookbook) filters; \
                                 REW may model that device's filters differently"
                            ),
                        );
                    }
                    header.equaliser = Some(eq.to_owned());
                    state = RewState::Measurement;
                } else if state == RewState::Notes {
                    header.notes.push(line.to_owned());
                } else {
                    r.note(n, format!("not a REW header line: `{line}` ignored"));
                }
            }
            RewState::Measurement => {
                header.measurement = Some(line.to_owned());
                state = RewState::Filters;
            }
            RewState::Filters => r.apo_line(n, line)?,
        }
    }
    if state == RewState::Start {
        return Err(error(0, "empty file: a REW export starts with `Filter Settings file`"));
    }
    let mut description = "Imported from REW filter settings".to_owned();
    let mut parts = Vec::new();
    if let Some(m) = &header.measurement {
        parts.push(format!("measurement {m}"));
    }
    if let Some(e) = &header.equaliser {
        parts.push(format!("equaliser {e}"));
    }
    if let Some(v) = &header.version {
        parts.push(v.clone());
    }
    if let Some(d) = &header.dated {
        parts.push(format!("dated {d}"));
    }
    if !header.notes.is_empty() {
        parts.push(format!("notes: {}", header.notes.join(" / ")));
    }
    if !parts.is_empty() {
        description = format!("{description} ({})", parts.join("; "));
    }
    r.finish(name, description)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RewState {
    /// Before `Filter Settings file`.
    Start,
    /// In the header.
    Header,
    /// After `Notes:`: free text up to `Equaliser:`.
    Notes,
    /// After `Equaliser:`: the next line names the measurement.
    Measurement,
    /// The filters.
    Filters,
}

#[derive(Debug, Default)]
struct RewHeader {
    version: Option<String>,
    dated: Option<String>,
    notes: Vec<String>,
    equaliser: Option<String>,
    measurement: Option<String>,
}

/// A line without its byte-order mark, line-end and surrounding blanks.
fn clean(raw: &str) -> &str {
    raw.trim_start_matches('\u{feff}').trim()
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &s[prefix.len()..])
}

/// Whether `line` is a `Filter…:` command.
fn is_filter_command(line: &str) -> bool {
    line.split_once(':').is_some_and(|(cmd, _)| strip_prefix_ci(cmd.trim(), "filter").is_some())
}

/// What the file asks for, in line order.
#[derive(Debug)]
enum Item {
    /// A band from a `Filter` line.
    Band { line: usize, band: EqBand },
    /// A `GraphicEQ` curve for `channel`.
    Graphic { line: usize, channel: EqChannel, points: Vec<(f64, f64)> },
}

/// The channel selection of a `Channel:` line: Gecko's channel, or `None`
/// when it selects none of the channels Gecko can address separately.
type Selection = Option<EqChannel>;

/// APO lines read so far.
#[derive(Debug)]
struct Reader {
    selection: Selection,
    /// The line of the `Channel:` command in force (0: none yet).
    selection_line: usize,
    items: Vec<Item>,
    /// Preamp totals for all channels, left only, right only, dB.
    preamp: [f64; 3],
    /// First `Preamp:` line, and first one for one channel only.
    preamp_line: Option<usize>,
    channel_preamp_line: Option<usize>,
    notes: Vec<ImportNote>,
}

impl Default for Reader {
    fn default() -> Self {
        Reader {
            selection: Some(EqChannel::All),
            selection_line: 0,
            items: Vec::new(),
            preamp: [0.0; 3],
            preamp_line: None,
            channel_preamp_line: None,
            notes: Vec::new(),
        }
    }
}

/// Equalizer APO commands Gecko does not import, and what ignoring them means.
const UNSUPPORTED: [(&str, &str); 16] = [
    ("include", "the included file is not read: import it separately"),
    ("device", "the lines that follow are imported whichever device they were for"),
    ("stage", "the lines that follow are imported whatever stage they were for"),
    ("if", "the condition is not evaluated: the lines that follow are imported regardless"),
    ("elseif", "the condition is not evaluated: the lines that follow are imported regardless"),
    ("else", "the lines that follow are imported regardless"),
    ("endif", "nothing to end"),
    ("eval", "the expression is not evaluated"),
    ("copy", "channels are not mixed: the copy is not applied"),
    ("delay", "the delay is not applied"),
    ("convolution", "the impulse response is not applied"),
    ("multiconvolution", "the impulse responses are not applied"),
    ("vstplugin", "the plug-in is not run"),
    ("loudnesscorrection", "the loudness correction is not applied"),
    ("iir", "raw IIR coefficients are not applied"),
    ("subwooferrouting", "the routing is not applied"),
];

impl Reader {
    fn note(&mut self, line: usize, message: impl Into<String>) {
        self.notes.push(ImportNote { line, message: message.into() });
    }

    /// One line of an APO configuration (already [`clean`]ed).
    fn apo_line(&mut self, n: usize, line: &str) -> Result<(), ImportError> {
        if line.is_empty() || line.starts_with('#') {
            return Ok(());
        }
        let Some((cmd, params)) = line.split_once(':') else {
            self.note(n, format!("not an Equalizer APO command (`Command: parameters`): `{line}` ignored"));
            return Ok(());
        };
        let cmd = cmd.trim();
        let lower = cmd.to_ascii_lowercase();
        if lower.starts_with("filter") {
            self.filter(n, cmd, params)
        } else if lower == "preamp" {
            self.preamp_line(n, params)
        } else if lower == "channel" {
            self.channel(n, params)
        } else if lower == "graphiceq" {
            self.graphic(n, params)
        } else if let Some((_, why)) = UNSUPPORTED.iter().find(|(c, _)| *c == lower) {
            self.note(n, format!("`{cmd}:` is not supported by Gecko and was not imported: {why}"));
            Ok(())
        } else {
            self.note(n, format!("unknown command `{cmd}:`: line ignored"));
            Ok(())
        }
    }

    fn preamp_line(&mut self, n: usize, params: &str) -> Result<(), ImportError> {
        let p = params.replace(',', ".");
        let mut s = Scan::new(&p);
        let v =
            s.number().ok_or_else(|| error(n, format!("Preamp: expected `<number> dB`, found `{}`", params.trim())))?;
        let db = parse_number(v).ok_or_else(|| error(n, format!("Preamp: `{v}` is not a number")))?;
        if !s.keyword("dB") {
            return Err(error(n, format!("Preamp: expected `dB` after {v}, found `{}`", s.rest())));
        }
        if !s.at_end() {
            return Err(error(n, format!("Preamp: unexpected `{}` after the value", s.rest())));
        }
        self.preamp_line.get_or_insert(n);
        match self.selection {
            Some(EqChannel::All) => self.preamp[0] += db,
            Some(c) => {
                self.preamp[if c == EqChannel::Left { 1 } else { 2 }] += db;
                self.channel_preamp_line.get_or_insert(n);
            }
            None => self.note(
                n,
                format!(
                    "preamp for the channels selected on line {} (none of them left or right) not imported",
                    self.selection_line
                ),
            ),
        }
        Ok(())
    }

    fn channel(&mut self, n: usize, params: &str) -> Result<(), ImportError> {
        let tokens: Vec<&str> = params.split_whitespace().collect();
        if tokens.is_empty() {
            return Err(error(n, "Channel: names no channel (use all, L, R, or channel numbers)"));
        }
        let (mut all, mut left, mut right) = (false, false, false);
        let mut other = Vec::new();
        for t in &tokens {
            match t.to_ascii_uppercase().as_str() {
                "ALL" => all = true,
                "L" | "1" => left = true,
                "R" | "2" => right = true,
                _ => other.push(*t),
            }
        }
        self.selection_line = n;
        self.selection = if all || (left && right) {
            Some(EqChannel::All)
        } else if left {
            Some(EqChannel::Left)
        } else if right {
            Some(EqChannel::Right)
        } else {
            None
        };
        if all && !other.is_empty() {
            // `all` selects every channel anyway
        } else if !other.is_empty() {
            let list = other.join(" ");
            match self.selection {
                None => self.note(
                    n,
                    format!(
                        "channel(s) {list} not supported (Gecko's bands apply to all channels, left or right): \
                         the filters and preamps that follow are not imported, up to the next Channel:"
                    ),
                ),
                Some(c) => self.note(
                    n,
                    format!("channel(s) {list} not supported: the lines that follow apply to {} only", c.name()),
                ),
            }
        }
        if left && right && !all && other.is_empty() {
            self.note(
                n,
                "L R: imported as all channels (the same on a stereo stream; on more channels, \
                 channels 3 and up get these bands too)",
            );
        }
        Ok(())
    }

    fn filter(&mut self, n: usize, cmd: &str, params: &str) -> Result<(), ImportError> {
        let parsed = parse_filter(params).map_err(|m| error(n, format!("{cmd}: {m}")))?;
        let Some((mut band, notes)) = parsed else {
            self.note(n, format!("{cmd}: type None (an empty slot): nothing imported"));
            return Ok(());
        };
        for m in notes {
            self.note(n, format!("{cmd}: {m}"));
        }
        match self.selection {
            Some(c) => {
                band.channel = c;
                self.items.push(Item::Band { line: n, band });
            }
            None => self.note(
                n,
                format!(
                    "{cmd}: for the channels selected on line {} (none of them left or right): not imported",
                    self.selection_line
                ),
            ),
        }
        Ok(())
    }

    fn graphic(&mut self, n: usize, params: &str) -> Result<(), ImportError> {
        let p = params.replace(',', ".");
        let mut points = Vec::new();
        for (k, pair) in p.split(';').enumerate() {
            let pair = pair.trim();
            if pair.is_empty() {
                continue;
            }
            let v: Vec<&str> = pair.split_whitespace().collect();
            let bad = || error(n, format!("GraphicEQ: point {} `{pair}`: expected `<frequency> <gain dB>`", k + 1));
            if v.len() != 2 {
                return Err(bad());
            }
            let (Some(f), Some(g)) = (parse_number(v[0]), parse_number(v[1])) else { return Err(bad()) };
            if f <= 0.0 {
                return Err(error(n, format!("GraphicEQ: point {} `{pair}`: the frequency must be above 0 Hz", k + 1)));
            }
            if let Some(&(prev, _)) = points.last()
                && f <= prev
            {
                return Err(error(
                    n,
                    format!(
                        "GraphicEQ: point {} `{pair}`: {f} Hz is not above the point before ({prev} Hz): \
                         frequencies must increase",
                        k + 1
                    ),
                ));
            }
            points.push((f, g));
        }
        if points.is_empty() {
            return Err(error(n, "GraphicEQ: no points (expected `<frequency> <gain dB>; …`)"));
        }
        match self.selection {
            Some(channel) => self.items.push(Item::Graphic { line: n, channel, points }),
            None => self.note(
                n,
                format!(
                    "GraphicEQ for the channels selected on line {} (none of them left or right): not imported",
                    self.selection_line
                ),
            ),
        }
        Ok(())
    }

    /// Realises the GraphicEQ curves, checks the totals and builds the preset.
    fn finish(mut self, name: &str, description: String) -> Result<Imported, ImportError> {
        let fixed = self.items.iter().filter(|i| matches!(i, Item::Band { .. })).count();
        if self.items.is_empty() && self.preamp_line.is_none() {
            return Err(error(0, "nothing to import: no Filter, Preamp or GraphicEQ lines"));
        }
        let mut bands: Vec<(usize, EqBand)> = Vec::new();
        let mut fitted = 0;
        let items = std::mem::take(&mut self.items);
        for item in items {
            match item {
                Item::Band { line, band } => bands.push((line, band)),
                Item::Graphic { line, channel, points } => {
                    let budget = MAX_BANDS.saturating_sub(fixed + fitted);
                    if budget == 0 {
                        return Err(error(
                            line,
                            format!(
                                "GraphicEQ: no bands left to realise it: the other lines use all {MAX_BANDS} bands"
                            ),
                        ));
                    }
                    let free_preamp = channel == EqChannel::All;
                    let fit = graphic::fit_graphic_eq(&points, budget, channel, free_preamp)
                        .map_err(|e| error(line, format!("GraphicEQ ({} points): {e}", points.len())))?;
                    fitted += fit.bands.len();
                    if free_preamp {
                        self.preamp[0] += fit.preamp_db;
                        self.preamp_line.get_or_insert(line);
                    }
                    let mut msg = format!(
                        "GraphicEQ ({} points) realised with {} bands{}: within {:.2} dB of the curve from \
                         20 Hz to 16 kHz at 48 kHz",
                        points.len(),
                        fit.bands.len(),
                        if free_preamp { format!(" and {:+.2} dB of preamp", fit.preamp_db) } else { String::new() },
                        fit.max_error_db,
                    );
                    if fit.max_error_outside_db > 0.0 {
                        msg +=
                            &format!(" (outside that range, fitted loosely: up to {:.1} dB)", fit.max_error_outside_db);
                    }
                    self.note(line, msg);
                    bands.extend(fit.bands.into_iter().map(|b| (line, b)));
                }
            }
        }
        if bands.len() > MAX_BANDS {
            let line = bands[MAX_BANDS].0;
            return Err(error(
                line,
                format!(
                    "{} bands in all: Gecko's EQ holds at most {MAX_BANDS} (this line holds band {})",
                    bands.len(),
                    MAX_BANDS + 1
                ),
            ));
        }
        let [all, l, r] = self.preamp;
        let (left, right) = (all + l, all + r);
        if (left - right).abs() > 1e-9 {
            return Err(error(
                self.channel_preamp_line.unwrap_or(0),
                format!(
                    "the preamp differs between left ({left} dB) and right ({right} dB): Gecko's EQ has one \
                     preamp for all channels"
                ),
            ));
        }
        let preamp_db = round_db(left);
        if !(MIN_PREAMP_DB..=MAX_PREAMP_DB).contains(&preamp_db) {
            return Err(error(
                self.preamp_line.unwrap_or(0),
                format!("the preamp adds up to {preamp_db} dB: Gecko accepts -30 to +30 dB"),
            ));
        }
        self.notes.sort_by_key(|n| n.line);
        Ok(Imported {
            preset: Preset {
                name: Some(name.to_owned()),
                description: Some(description),
                eq: PresetEq { preamp_db, strength: 1.0, bands: bands.into_iter().map(|(_, b)| b).collect() },
                ..Preset::default()
            },
            warnings: self.notes,
        })
    }
}

/// A sum of dB values written with a few decimals, without the binary
/// noise of the addition (−6.1 + −0.2 = −6.3, not −6.300000000000001).
fn round_db(x: f64) -> f64 {
    (x * 1e9).round() / 1e9
}

/// A cursor over the parameters of an APO line.
struct Scan<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Scan<'a> {
    fn new(s: &'a str) -> Scan<'a> {
        Scan { s, pos: 0 }
    }

    fn ws(&mut self) {
        while let Some(c) = self.s[self.pos..].chars().next() {
            if c.is_whitespace() {
                self.pos += c.len_utf8();
            } else {
                break;
            }
        }
    }

    fn at_end(&mut self) -> bool {
        self.ws();
        self.pos == self.s.len()
    }

    fn rest(&self) -> &'a str {
        self.s[self.pos..].trim()
    }

    /// The next token: a run of letters and digits (after blanks).
    fn word(&mut self) -> Option<&'a str> {
        self.ws();
        let start = self.pos;
        while let Some(c) = self.s[self.pos..].chars().next() {
            if c.is_ascii_alphanumeric() {
                self.pos += 1;
            } else {
                break;
            }
        }
        (self.pos > start).then(|| &self.s[start..self.pos])
    }

    /// The next number: a run of `-+0-9.eE` (and non-breaking spaces, a
    /// thousands separator APO removes) after blanks, without a trailing
    /// `e`, `E` or sign (so that `6dB` gives `6`).
    fn number(&mut self) -> Option<&'a str> {
        self.ws();
        let start = self.pos;
        let mut end = start;
        for (i, c) in self.s[start..].char_indices() {
            let ok = c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | '\u{a0}') || (matches!(c, 'e' | 'E') && i > 0);
            if !ok {
                break;
            }
            end = start + i + c.len_utf8();
        }
        while end > start && self.s[..end].ends_with(['e', 'E', '+', '-']) {
            end -= 1;
        }
        if !self.s[start..end].chars().any(|c| c.is_ascii_digit()) {
            return None;
        }
        self.pos = end;
        Some(&self.s[start..end])
    }

    /// Consumes `k` (ignoring case) after blanks if it is next and not
    /// followed by another letter.
    fn keyword(&mut self, k: &str) -> bool {
        self.ws();
        let rest = &self.s[self.pos..];
        match rest.get(..k.len()) {
            Some(h) if h.eq_ignore_ascii_case(k) => {
                if rest[k.len()..].chars().next().is_some_and(|c| c.is_ascii_alphabetic()) {
                    return false;
                }
                self.pos += k.len();
                true
            }
            _ => false,
        }
    }
}

fn parse_number(s: &str) -> Option<f64> {
    let v: f64 = s.replace('\u{a0}', "").parse().ok()?;
    v.is_finite().then_some(v)
}

/// APO's reading of a frequency: REW writes thousands with a point
/// (`1.000`), so a number of 5 or more characters without an exponent
/// whose fourth-last character is its point is multiplied by 1000.
fn parse_frequency(s: &str) -> Option<(f64, bool)> {
    let v = parse_number(s)?;
    let plain = s.replace('\u{a0}', "");
    let thousands = plain.len() >= 5
        && !plain.contains(['e', 'E'])
        && plain.as_bytes()[plain.len() - 4] == b'.'
        && plain.matches('.').count() == 1;
    Some(if thousands { (v * 1000.0, true) } else { (v, false) })
}

/// The APO filter types Gecko imports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ApoType {
    Peak,
    LowPass,
    HighPass,
    BandPass,
    Notch,
    AllPass,
    /// Low/high shelf; `centre`: the `…C` form (`Fc` is the centre).
    Shelf {
        low: bool,
        centre: bool,
    },
}

fn apo_type(t: &str) -> Result<Option<ApoType>, String> {
    Ok(Some(match t.to_ascii_uppercase().as_str() {
        "PK" | "PEQ" | "MODAL" => ApoType::Peak,
        "LP" | "LPQ" => ApoType::LowPass,
        "HP" | "HPQ" => ApoType::HighPass,
        "BP" => ApoType::BandPass,
        "NO" => ApoType::Notch,
        "AP" => ApoType::AllPass,
        "LS" => ApoType::Shelf { low: true, centre: false },
        "LSC" => ApoType::Shelf { low: true, centre: true },
        "HS" => ApoType::Shelf { low: false, centre: false },
        "HSC" => ApoType::Shelf { low: false, centre: true },
        "NONE" => return Ok(None),
        "IIR" => {
            return Err("type IIR (raw coefficients) is not supported: Gecko's bands are RBJ cookbook filters".into());
        }
        "LP1" | "HP1" => {
            return Err(format!("type {t} (first-order) is not supported: Gecko's bands are second-order filters"));
        }
        _ => {
            return Err(format!(
                "unknown filter type `{t}` (expected PK, PEQ, Modal, LP, LPQ, HP, HPQ, BP, LS, LSC, HS, HSC, NO, AP or None)"
            ));
        }
    }))
}

/// The RBJ cookbook's Q for a shelf of slope `s` and gain `gain_db`:
/// `1/Q = √((A + 1/A)·(1/S − 1) + 2)`, A = 10^(gain/40).
fn shelf_q_from_slope(s: f64, gain_db: f64) -> Option<f64> {
    let a = 10f64.powf(gain_db / 40.0);
    let r = (a + 1.0 / a) * (1.0 / s - 1.0) + 2.0;
    (r > 0.0).then(|| 1.0 / r.sqrt())
}

/// The inverse: the slope S of a shelf with Q `q` and gain `gain_db`.
fn shelf_slope_from_q(q: f64, gain_db: f64) -> f64 {
    let a = 10f64.powf(gain_db / 40.0);
    1.0 / ((1.0 / (q * q) - 2.0) / (a + 1.0 / a) + 1.0)
}

/// The parameters of an APO `Filter:` line: `None` for an empty `None`
/// slot, else the band (channel `all`) and notes on what was converted.
fn parse_filter(params: &str) -> Result<Option<(EqBand, Vec<String>)>, String> {
    let p = params.replace(',', ".");
    let mut s = Scan::new(&p);
    let enabled = match s.word() {
        Some(w) if w.eq_ignore_ascii_case("ON") => true,
        Some(w) if w.eq_ignore_ascii_case("OFF") => false,
        _ => return Err(format!("expected ON or OFF, found `{}`", params.trim())),
    };
    let Some(tname) = s.word() else {
        return Err(format!("expected a filter type after {}", if enabled { "ON" } else { "OFF" }));
    };
    let Some(ty) = apo_type(tname)? else { return Ok(None) };
    let mut notes = Vec::new();
    // shelf slope right after the type: `LS 6dB`, `LSC 10.8 dB`
    let save = s.pos;
    let mut slope = None;
    if let Some(v) = s.number() {
        if s.keyword("dB") {
            slope = Some(parse_number(v).ok_or_else(|| format!("slope `{v}` is not a number"))?);
        } else {
            s.pos = save;
        }
    }
    let (mut fc, mut gain, mut q, mut bw) = (None, None, None, None);
    let mut thousands = false;
    while !s.at_end() {
        let dup = |name: &str| format!("{name} given twice");
        if s.keyword("Fc") {
            let v = s.number().ok_or_else(|| format!("expected a frequency after Fc, found `{}`", s.rest()))?;
            if !s.keyword("Hz") {
                return Err(format!("expected `Hz` after Fc {v}, found `{}`", s.rest()));
            }
            let (f, t) = parse_frequency(v).ok_or_else(|| format!("Fc `{v}` is not a number"))?;
            if fc.replace(f).is_some() {
                return Err(dup("Fc"));
            }
            thousands = t;
        } else if s.keyword("Gain") {
            let v = s.number().ok_or_else(|| format!("expected a gain after Gain, found `{}`", s.rest()))?;
            if !s.keyword("dB") {
                return Err(format!("expected `dB` after Gain {v}, found `{}`", s.rest()));
            }
            let g = parse_number(v).ok_or_else(|| format!("Gain `{v}` is not a number"))?;
            if gain.replace(g).is_some() {
                return Err(dup("Gain"));
            }
        } else if s.keyword("Q") {
            let v = s.number().ok_or_else(|| format!("expected a number after Q, found `{}`", s.rest()))?;
            let x = parse_number(v).ok_or_else(|| format!("Q `{v}` is not a number"))?;
            if q.replace(x).is_some() {
                return Err(dup("Q"));
            }
        } else if s.keyword("BW") {
            if !s.keyword("Oct") {
                return Err(format!("expected `BW Oct <octaves>`, found `BW {}`", s.rest()));
            }
            let v = s.number().ok_or_else(|| format!("expected a bandwidth after BW Oct, found `{}`", s.rest()))?;
            let x = parse_number(v).ok_or_else(|| format!("BW Oct `{v}` is not a number"))?;
            if bw.replace(x).is_some() {
                return Err(dup("BW Oct"));
            }
        } else if tname.eq_ignore_ascii_case("Modal") && s.keyword("T60") {
            // REW's modal filter states the decay its Q was chosen for
            if !(s.keyword("target") && s.number().is_some() && s.keyword("ms")) {
                return Err(format!("expected `T60 target <time> ms`, found `T60 {}`", s.rest()));
            }
        } else if ty == ApoType::AllPass && s.keyword("Order") {
            match s.number() {
                Some("2") => {}
                Some(o) => {
                    return Err(format!("all-pass Order {o}: only second-order (Order 2) all-passes are supported"));
                }
                None => return Err(format!("expected 1 or 2 after Order, found `{}`", s.rest())),
            }
        } else {
            return Err(format!("unexpected `{}`", s.rest()));
        }
    }
    let Some(mut freq) = fc else { return Err("missing `Fc <frequency> Hz`".to_owned()) };
    if thousands {
        notes.push(format!(
            "Fc read as {freq} Hz: a point followed by three digits is REW's thousands separator (as Equalizer APO reads it)"
        ));
    }
    if q.is_some() && bw.is_some() {
        return Err("both Q and BW Oct given: give one".to_owned());
    }
    if let (Some(b), false) = (bw, matches!(ty, ApoType::Shelf { .. })) {
        if b <= 0.0 {
            return Err(format!("BW Oct {b}: must be above 0"));
        }
        let w0 = 2.0 * PI * freq / BANDWIDTH_SAMPLE_RATE;
        let qq = 1.0 / (2.0 * (LN_2 / 2.0 * b * w0 / w0.sin()).sinh());
        if !qq.is_finite() {
            return Err(format!("BW Oct {b} at {freq} Hz cannot be converted to a Q"));
        }
        notes.push(format!(
            "BW Oct {b} converted to Q {:.4} (RBJ cookbook bandwidth, as Equalizer APO designs it at 48 kHz; \
             at other rates APO's filter differs slightly)",
            round_sig(qq, 4)
        ));
        q = Some(round_sig(qq, 6));
    }
    if slope.is_some() && !matches!(ty, ApoType::Shelf { .. }) {
        return Err(format!("a slope (`{tname} <x> dB`) applies to shelf filters only"));
    }
    let uses_gain = matches!(ty, ApoType::Peak | ApoType::Shelf { .. });
    let gain_db = if uses_gain {
        gain.ok_or_else(|| format!("missing `Gain <gain> dB` (a {tname} filter needs one)"))?
    } else {
        if let Some(g) = gain
            && g != 0.0
        {
            notes.push(format!("Gain {g} dB ignored: a {tname} filter has no gain (Equalizer APO ignores it too)"));
        }
        0.0
    };
    let (kind, q) = match ty {
        ApoType::Peak | ApoType::AllPass => {
            let kind = if ty == ApoType::Peak { FilterType::Peaking } else { FilterType::AllPass };
            (kind, q.ok_or_else(|| format!("missing `Q <q>` or `BW Oct <octaves>` (a {tname} filter needs one)"))?)
        }
        ApoType::LowPass | ApoType::HighPass | ApoType::BandPass | ApoType::Notch => {
            let (kind, default) = match ty {
                ApoType::LowPass => (FilterType::LowPass, FRAC_1_SQRT_2),
                ApoType::HighPass => (FilterType::HighPass, FRAC_1_SQRT_2),
                ApoType::BandPass => (FilterType::BandPass, FRAC_1_SQRT_2),
                _ => (FilterType::Notch, 30.0),
            };
            let q = q.unwrap_or_else(|| {
                notes.push(format!("no Q: {} (Equalizer APO's default for {tname})", round_sig(default, 6)));
                default
            });
            (kind, q)
        }
        ApoType::Shelf { low, centre } => {
            let kind = if low { FilterType::LowShelf } else { FilterType::HighShelf };
            if bw.is_some() {
                return Err(format!("BW Oct does not apply to shelf filters (give Q or `{tname} <slope> dB`)"));
            }
            if slope.is_some() && q.is_some() {
                return Err("both a slope and Q given: give one".to_owned());
            }
            let (q, s, corner) = match (slope, q) {
                (Some(db), _) => {
                    if db <= 0.0 {
                        return Err(format!("slope {db} dB: must be above 0"));
                    }
                    let s = db / 12.0;
                    let q = shelf_q_from_slope(s, gain_db).ok_or_else(|| {
                        format!("slope {db} dB is too steep for a {gain_db} dB shelf (the cookbook's Q is undefined)")
                    })?;
                    notes.push(format!(
                        "slope {db} dB: S = {} (RBJ cookbook shelf slope, 12 dB = 1) = Q {:.4}",
                        round_sig(s, 6),
                        round_sig(q, 4)
                    ));
                    (q, s, !centre)
                }
                (None, Some(q)) => (q, shelf_slope_from_q(q, gain_db), !centre),
                (None, None) => {
                    let s = 0.9;
                    let q = shelf_q_from_slope(s, gain_db).unwrap_or(FRAC_1_SQRT_2);
                    notes.push(format!(
                        "no Q or slope: Equalizer APO's default slope S = 0.9, i.e. Q {:.4} at this gain",
                        round_sig(q, 4)
                    ));
                    (q, s, false)
                }
            };
            if corner {
                let factor = 10f64.powf(gain_db.abs() / 80.0 / s);
                let centre_hz = if low { freq * factor } else { freq / factor };
                notes.push(format!(
                    "{tname} with a {}: Fc {freq} Hz is the corner frequency; centre frequency {:.2} Hz \
                     (Equalizer APO's conversion, ×10^(|gain|/(80·S)))",
                    if slope.is_some() { "slope" } else { "Q" },
                    centre_hz
                ));
                freq = round_sig(centre_hz, 9);
            }
            (kind, round_sig(q, 9))
        }
    };
    let p = BiquadParams { kind, freq_hz: freq, q, gain_db };
    if let Err(e) = p.validate(MIN_SAMPLE_RATE) {
        return Err(match e {
            BiquadError::Frequency { value, .. } => format!(
                "frequency {value} Hz: must be above 0 and below 22050 Hz (half of 44.1 kHz, the lowest rate a preset runs at)"
            ),
            BiquadError::Q(v) => format!("Q {v}: Gecko's bands accept 0.025 to 100"),
            BiquadError::Gain(v) => format!("Gain {v} dB: Gecko's bands accept -24 to +24 dB"),
            BiquadError::SampleRate(_) => e.to_string(),
        });
    }
    Ok(Some((EqBand { kind, freq_hz: freq, q, gain_db, enabled, channel: EqChannel::All }, notes)))
}

/// `x` rounded to `digits` significant digits.
fn round_sig(x: f64, digits: i32) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let scale = 10f64.powi(digits - 1 - x.abs().log10().floor() as i32);
    (x * scale).round() / scale
}
