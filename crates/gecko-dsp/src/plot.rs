//! PNG plot of a preset's EQ magnitude response (feature `plot`).
//!
//! Drawn with `plotters`' bitmap backend; text uses DejaVu Sans embedded in
//! the binary (the `dejavu` crate through plotters' `ab_glyph` feature), so
//! no system fonts, fontconfig or Debian package are needed.

use crate::biquad::{BiquadParams, Coefficients};
use crate::eq::EqChannel;
use crate::preset::{Preset, PresetError};
use plotters::coord::combinators::BindKeyPoints;
use plotters::prelude::*;
use plotters::style::FontStyle;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;
use std::sync::Once;

/// Plot size, pixels.
pub const PLOT_SIZE: (u32, u32) = (1280, 720);

/// Why a plot could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// The preset is not valid at that sample rate.
    #[error(transparent)]
    Preset(#[from] PresetError),
    /// Drawing or writing the PNG failed.
    #[error("drawing the EQ plot: {0}")]
    Draw(String),
}

fn draw_err<E: std::fmt::Display>(e: E) -> PlotError {
    PlotError::Draw(e.to_string())
}

static FONT: Once = Once::new();

fn register_font() {
    FONT.call_once(|| {
        // Cannot fail for the embedded, well-formed TTF.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular());
        let _ = plotters::style::register_font("sans-serif", FontStyle::Bold, dejavu::sans::bold());
    });
}

/// `n` log-spaced frequencies from 20 Hz to 20 kHz (or just under fs/2).
fn frequencies(n: usize, sample_rate: f64) -> Vec<f64> {
    let hi = 20000f64.min(sample_rate * 0.499);
    (0..n).map(|i| 20.0 * (hi / 20.0).powf(i as f64 / (n - 1) as f64)).collect()
}

/// "90 Hz", "3 kHz", "10 kHz", "2.5 kHz", "12.35 kHz".
fn freq_text(f: f64) -> String {
    if f >= 1000.0 {
        let k = format!("{:.2}", f / 1000.0);
        format!("{} kHz", k.trim_end_matches('0').trim_end_matches('.'))
    } else {
        format!("{f:.0} Hz")
    }
}

fn band_label(i: usize, p: &BiquadParams) -> String {
    let f = freq_text(p.freq_hz);
    if p.kind.uses_gain() {
        format!("{}: {} {f}, Q {:.2}, {:+.1} dB", i + 1, p.kind.name(), p.q, p.gain_db)
    } else {
        format!("{}: {} {f}, Q {:.2}", i + 1, p.kind.name(), p.q)
    }
}

fn freq_label(v: &f64) -> String {
    if *v >= 1000.0 { format!("{}k", (v / 1000.0 * 10.0).round() / 10.0) } else { format!("{}", v.round()) }
}

/// Colours of the total curves: one channel (or left), right.
const TOTAL_COLORS: [RGBColor; 2] = [RGBColor(20, 60, 200), RGBColor(200, 20, 120)];

/// Distinct, readable-on-white colours for the band curves.
const BAND_COLORS: [RGBColor; 8] = [
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(23, 190, 207),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// Draws the magnitude response (dB over 20 Hz–20 kHz, log axis) of the
/// preset's EQ at `sample_rate` Hz into `path` as a PNG ([`PLOT_SIZE`]):
/// the total response as the EQ runs it, preamp and strength included
/// (thick; one curve per channel, left and right, when some bands apply to
/// one channel only), each enabled band's own response at the preset's
/// strength (thin, in the legend with its type, frequency, Q, gain and
/// channel), a numbered marker at each band's frequency, a grid, axis
/// labels and a title with the preset's name. The preset's `gain_db` is
/// noted in the legend, not added to the curve. The preset is validated
/// first.
pub fn plot_eq_response(preset: &Preset, sample_rate: f64, path: &Path) -> Result<(), PlotError> {
    preset.validate(sample_rate)?;
    register_font();
    let root = BitMapBackend::new(path, PLOT_SIZE).into_drawing_area();
    draw(preset, sample_rate, root)
}

/// As [`plot_eq_response`] into an RGB buffer (`PLOT_SIZE.0 × PLOT_SIZE.1 × 3`
/// bytes, row-major) instead of a file.
pub fn render_eq_response_rgb(preset: &Preset, sample_rate: f64) -> Result<Vec<u8>, PlotError> {
    preset.validate(sample_rate)?;
    register_font();
    let mut buf = vec![0u8; (PLOT_SIZE.0 * PLOT_SIZE.1 * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, PLOT_SIZE).into_drawing_area();
        draw(preset, sample_rate, root)?;
    }
    Ok(buf)
}

fn draw<DB: DrawingBackend>(
    preset: &Preset,
    fs: f64,
    root: DrawingArea<DB, plotters::coord::Shift>,
) -> Result<(), PlotError>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(draw_err)?;
    let eq = preset.chain_params().eq;
    let bands: Vec<(usize, BiquadParams, EqChannel)> = preset
        .eq
        .bands
        .iter()
        .enumerate()
        .filter_map(|(i, b)| b.effective_params(eq.strength).map(|p| (i, p, b.channel)))
        .collect();
    let coeffs: Vec<Coefficients> = bands.iter().map(|(_, p, _)| Coefficients::design_unchecked(p, fs)).collect();
    let freqs = frequencies(600, fs);
    // (label, channel index) of each total curve
    let channels: &[(&str, usize)] = if eq.has_channel_bands() { &[("left", 0), ("right", 1)] } else { &[("", 0)] };
    let totals: Vec<Vec<(f64, f64)>> = channels
        .iter()
        .map(|&(_, c)| freqs.iter().map(|&f| (f, eq.magnitude_db_for_channel(f, fs, c))).collect())
        .collect();

    // y range: the curves (band curves clipped) with margin, at least ±12 dB, in 6 dB steps
    let (lo, hi) = totals.iter().flatten().fold((0.0f64, 0.0f64), |(lo, hi), &(_, db)| (lo.min(db), hi.max(db)));
    let y_lo = ((lo.max(-60.0) - 3.0) / 6.0).floor().min(-2.0) * 6.0;
    let y_hi = ((hi + 3.0) / 6.0).ceil().max(2.0) * 6.0;

    let name = preset.name.as_deref().unwrap_or("preset");
    let title = format!("EQ magnitude response: {name}  ({} kHz)", fs / 1000.0);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 30).into_font().style(FontStyle::Bold))
        .margin(20)
        .x_label_area_size(55)
        .y_label_area_size(70)
        .build_cartesian_2d(
            (20f64..freqs[freqs.len() - 1])
                .log_scale()
                .with_key_points(vec![20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0, 10000.0, 20000.0]),
            y_lo..y_hi,
        )
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_desc("Frequency (Hz)")
        .y_desc("Gain (dB)")
        .x_label_formatter(&freq_label)
        .y_label_formatter(&|v| if v.abs() < 1e-9 { "0".to_owned() } else { format!("{v:+.0}") })
        .y_labels(((y_hi - y_lo) / 3.0) as usize + 1)
        .label_style(("sans-serif", 18))
        .axis_desc_style(("sans-serif", 22))
        .light_line_style(RGBColor(235, 235, 235))
        .bold_line_style(RGBColor(200, 200, 200))
        .draw()
        .map_err(draw_err)?;

    // 0 dB reference
    chart
        .draw_series(LineSeries::new([(20.0, 0.0), (freqs[freqs.len() - 1], 0.0)], BLACK.mix(0.6).stroke_width(1)))
        .map_err(draw_err)?;

    // each band
    for (k, ((i, p, channel), c)) in bands.iter().zip(&coeffs).enumerate() {
        let color = BAND_COLORS[k % BAND_COLORS.len()];
        let pts: Vec<(f64, f64)> = freqs.iter().map(|&f| (f, c.magnitude_db(f, fs).clamp(y_lo, y_hi))).collect();
        let mut label = band_label(*i, p);
        if *channel != EqChannel::All {
            label = format!("{label} ({})", channel.name());
        }
        chart
            .draw_series(LineSeries::new(pts, color.stroke_width(2)))
            .map_err(draw_err)?
            .label(label)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 24, y)], color.stroke_width(3)));
    }

    // totals
    let mut notes = Vec::new();
    if eq.effective_preamp_db() != 0.0 {
        notes.push(format!("{:+.1} dB preamp included", eq.effective_preamp_db()));
    }
    if eq.strength != 1.0 {
        notes.push(format!("strength {:.0} %", eq.strength * 100.0));
    }
    if preset.gain_db != 0.0 {
        notes.push(format!("{:+.1} dB preset gain not included", preset.gain_db));
    }
    for (t, ((name, _), total)) in channels.iter().zip(&totals).enumerate() {
        let total_color = TOTAL_COLORS[t];
        let mut label = if name.is_empty() { "total EQ".to_owned() } else { format!("total EQ, {name}") };
        if !notes.is_empty() {
            label = format!("{label} ({})", notes.join(", "));
        }
        chart
            .draw_series(LineSeries::new(
                total.iter().map(|&(f, db)| (f, db.clamp(y_lo, y_hi))),
                total_color.stroke_width(4),
            ))
            .map_err(draw_err)?
            .label(label)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 24, y)], total_color.stroke_width(5)));
    }

    // numbered markers at each band's frequency, on the total curve of a
    // channel it applies to
    for (i, p, channel) in &bands {
        if p.freq_hz < 20.0 || p.freq_hz > freqs[freqs.len() - 1] {
            continue;
        }
        let t = channels.iter().position(|&(_, c)| channel.applies_to(c)).unwrap_or(0);
        let total_color = TOTAL_COLORS[t];
        let y = eq.magnitude_db_for_channel(p.freq_hz, fs, channels[t].1).clamp(y_lo, y_hi);
        let label = format!("{}", i + 1);
        chart
            .draw_series(std::iter::once(
                EmptyElement::at((p.freq_hz, y))
                    + Circle::new((0, 0), 11, ShapeStyle::from(&WHITE).filled())
                    + Circle::new((0, 0), 11, total_color.stroke_width(2))
                    + Text::new(
                        label,
                        (0, 0),
                        ("sans-serif", 16).into_font().color(&total_color).pos(Pos::new(HPos::Center, VPos::Center)),
                    ),
            ))
            .map_err(draw_err)?;
    }

    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(180, 180, 180))
        .label_font(("sans-serif", 17))
        .draw()
        .map_err(draw_err)?;
    root.present().map_err(draw_err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_readable_png() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("speech.png");
        let p = Preset::builtin("speech").unwrap();
        plot_eq_response(&p, 48000.0, &path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        assert!(bytes.len() > 20_000, "only {} bytes", bytes.len());
        // width and height from the IHDR chunk
        assert_eq!(u32::from_be_bytes(bytes[16..20].try_into().unwrap()), PLOT_SIZE.0);
        assert_eq!(u32::from_be_bytes(bytes[20..24].try_into().unwrap()), PLOT_SIZE.1);

        let rgb = render_eq_response_rgb(&p, 48000.0).unwrap();
        let px = rgb.chunks(3).collect::<Vec<_>>();
        let white = px.iter().filter(|c| **c == [255u8, 255, 255]).count();
        let total_blue = px.iter().filter(|c| **c == [20u8, 60, 200]).count();
        let dark = px.iter().filter(|c| c.iter().map(|&v| v as u32).sum::<u32>() < 150).count();
        let n = px.len();
        // mostly background, a visible total curve, text and axes drawn
        assert!(white > n / 2 && white < n * 98 / 100, "white {white} of {n}");
        assert!(total_blue > 3000, "total curve pixels {total_blue}");
        assert!(dark > 2000, "text/axis pixels {dark}");
    }

    /// With left-only and right-only bands there is a total curve per
    /// channel; without, only the one.
    #[test]
    fn per_channel_presets_get_a_curve_per_channel() {
        let count = |p: &Preset, c: [u8; 3]| {
            render_eq_response_rgb(p, 48000.0).unwrap().chunks(3).filter(|px| *px == c).count()
        };
        let (left, right) = ([20u8, 60, 200], [200u8, 20, 120]);
        let mut p = Preset::builtin("speech").unwrap();
        assert!(count(&p, left) > 3000);
        assert_eq!(count(&p, right), 0);
        p.eq.bands[2].channel = EqChannel::Left;
        p.eq.bands[3].channel = EqChannel::Right;
        p.eq.preamp_db = -3.0;
        assert!(count(&p, left) > 3000);
        assert!(count(&p, right) > 3000);
    }

    #[test]
    fn band_labels_read_naturally() {
        assert_eq!(freq_text(90.0), "90 Hz");
        assert_eq!(freq_text(3000.0), "3 kHz");
        assert_eq!(freq_text(10000.0), "10 kHz");
        assert_eq!(freq_text(2500.0), "2.5 kHz");
        assert_eq!(freq_text(12345.0), "12.35 kHz");
    }

    #[test]
    fn invalid_presets_are_not_plotted() {
        let mut p = Preset::builtin("speech").unwrap();
        p.eq.bands[0].freq_hz = 30000.0;
        let dir = tempfile::tempdir().unwrap();
        let e = plot_eq_response(&p, 48000.0, &dir.path().join("x.png")).unwrap_err().to_string();
        assert!(e.contains("eq.bands[0].freq = 30000 Hz"), "{e}");
    }

    /// Writes every built-in preset's plot to $GECKO_PLOT_DIR (if set), for
    /// a person to look at.
    #[test]
    fn plots_builtins_for_inspection() {
        let Some(dir) = std::env::var_os("GECKO_PLOT_DIR") else { return };
        for name in Preset::builtin_names() {
            let p = Preset::builtin(name).unwrap();
            plot_eq_response(&p, 48000.0, &Path::new(&dir).join(format!("{name}.png"))).unwrap();
        }
    }
}
