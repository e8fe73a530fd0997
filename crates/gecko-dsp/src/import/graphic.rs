//! Realising an Equalizer APO / AutoEq `GraphicEQ` curve with the chain's
//! biquads (see the [parent module](super) for the method and its limits).

use crate::biquad::{BiquadParams, Coefficients, FilterType, MAX_BAND_GAIN_DB, MIN_BAND_GAIN_DB};
use crate::eq::{EqBand, EqChannel};
use std::f64::consts::PI;

/// Sample rate the fit is made and checked at, Hz (the rate Gecko's device
/// runs at by default).
pub const FIT_SAMPLE_RATE: f64 = 48_000.0;
/// Lowest frequency of the guaranteed range, Hz.
pub const FIT_LOW_HZ: f64 = 20.0;
/// Highest frequency of the guaranteed range, Hz.
pub const FIT_HIGH_HZ: f64 = 16_000.0;
/// Largest deviation accepted over [`FIT_LOW_HZ`, `FIT_HIGH_HZ`], dB.
pub const FIT_TOLERANCE_DB: f64 = 0.5;

/// The curve of a `GraphicEQ:` line at `freq_hz` (Hz), dB: the gains of
/// the given points (`(Hz, dB)`, frequencies strictly increasing)
/// interpolated linearly over log-frequency, and held at the first/last
/// point's gain outside them — how Equalizer APO's configuration reference
/// describes its GraphicEQ ("interpolated linearly across the logarithmic
/// frequency axis"). `points` must not be empty.
pub fn graphic_eq_db(points: &[(f64, f64)], freq_hz: f64) -> f64 {
    let i = points.partition_point(|&(f, _)| f <= freq_hz);
    if i == 0 {
        return points[0].1;
    }
    if i == points.len() {
        return points[points.len() - 1].1;
    }
    let (f0, g0) = points[i - 1];
    let (f1, g1) = points[i];
    g0 + (g1 - g0) * (freq_hz / f0).ln() / (f1 / f0).ln()
}

/// A GraphicEQ curve realised as bands.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphicFit {
    /// The bands (peaking and shelves, all enabled, on `channel`).
    pub bands: Vec<EqBand>,
    /// The flat offset the fit puts in the preamp, dB (0 when the fit was
    /// asked not to use it).
    pub preamp_db: f64,
    /// Largest |realised − curve| from [`FIT_LOW_HZ`] to [`FIT_HIGH_HZ`] at
    /// [`FIT_SAMPLE_RATE`], dB (checked on a 1/192-octave grid and at every
    /// given point).
    pub max_error_db: f64,
    /// Largest |realised − curve| outside that range, from 10 Hz (or the
    /// first point) to 20 kHz (or the last point), where the curve is
    /// fitted with less weight and not guaranteed, dB; 0 when the points
    /// lie inside the range.
    pub max_error_outside_db: f64,
}

/// Why a curve could not be realised.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FitError {
    /// The best fit with the bands allowed still misses the curve.
    #[error(
        "could not realise the curve within ±{FIT_TOLERANCE_DB} dB from 20 Hz to 16 kHz with {bands} bands (best: {best_error_db:.2} dB off at {worst_hz:.0} Hz)"
    )]
    Tolerance {
        /// Bands tried (the most allowed).
        bands: usize,
        /// The smallest maximum deviation reached, dB.
        best_error_db: f64,
        /// Where that deviation is, Hz.
        worst_hz: f64,
    },
    /// No points, or a point that is not a finite positive frequency and a
    /// finite gain, or frequencies not increasing.
    #[error("{0}")]
    Points(String),
}

/// Frequencies of the least-squares grid: 1/48 octave over [10 Hz, 20 kHz].
const FIT_STEPS_PER_OCTAVE: f64 = 48.0;
/// Frequencies of the final check: 1/192 octave over the guaranteed range.
const CHECK_STEPS_PER_OCTAVE: f64 = 192.0;
/// Weight of grid points outside the guaranteed range (10–20 Hz,
/// 16–20 kHz): the fit follows the curve there too, but gives way.
const OUTSIDE_WEIGHT: f64 = 0.3;
/// Outside the guaranteed range the fit follows the curve only up to this
/// far from its value at the range's edge, dB, and departing from it by
/// at most [`OUTSIDE_SLOPE_DB`] per octave (a curve that plunges by 80 dB
/// below 20 Hz, as some older AutoEq files do, must not spoil the fit
/// inside).
const OUTSIDE_SPAN_DB: f64 = 12.0;
/// See [`OUTSIDE_SPAN_DB`], dB per octave.
const OUTSIDE_SLOPE_DB: f64 = 24.0;
/// The fit aims this far inside the tolerance, so that the check on the
/// finer grid passes.
const AIM_DB: f64 = 0.45;

/// Weight μ of the ridge Σ μ·g² on the band gains (dB²) added to the
/// weighted squared error: the split between the preamp and the bands is
/// otherwise free, and an unchecked fit may trade a large preamp against
/// large, wide, opposite band gains (wasting headroom). Small next to the
/// error of a few hundred grid points.
const GAIN_RIDGE: f64 = 0.01;
/// Bounds of the fitted parameters: frequencies stay where the preset is
/// valid at 44.1 kHz too, Q where filters do not ring for long, gains
/// inside the EQ's range.
const MIN_FREQ_HZ: f64 = 12.0;
const MAX_FREQ_HZ: f64 = 20_000.0;
const PEAK_Q: (f64, f64) = (0.2, 12.0);
const SHELF_Q: (f64, f64) = (0.3, 1.2);
const MAX_GAIN: f64 = 20.0;

/// One band being fitted: log frequency, log Q, gain (dB).
#[derive(Debug, Clone, Copy)]
struct Band {
    kind: FilterType,
    lf: f64,
    lq: f64,
    g: f64,
}

impl Band {
    fn params(&self) -> BiquadParams {
        BiquadParams { kind: self.kind, freq_hz: self.lf.exp(), q: self.lq.exp(), gain_db: self.g }
    }

    fn clamp(&mut self) {
        let (qmin, qmax) = if self.kind == FilterType::Peaking { PEAK_Q } else { SHELF_Q };
        self.lf = self.lf.clamp(MIN_FREQ_HZ.ln(), MAX_FREQ_HZ.ln());
        self.lq = self.lq.clamp(qmin.ln(), qmax.ln());
        self.g = self.g.clamp(-MAX_GAIN, MAX_GAIN);
    }
}

/// Grid point: frequency, target (dB), base weight, and cos ω, cos 2ω at
/// the fit rate (for the magnitude of a biquad without trigonometry).
#[derive(Debug, Clone, Copy)]
struct Point {
    f: f64,
    target: f64,
    weight: f64,
    c1: f64,
    c2: f64,
}

fn point(f: f64, target: f64, weight: f64) -> Point {
    let w = 2.0 * PI * f / FIT_SAMPLE_RATE;
    Point { f, target, weight, c1: w.cos(), c2: (2.0 * w).cos() }
}

/// `20·log10|H(e^jω)|` of `c` at a grid point: |H|² from the coefficients
/// with cos ω and cos 2ω (the same value as [`Coefficients::magnitude_db`]).
fn mag_db(c: &Coefficients, p: &Point) -> f64 {
    let num =
        c.b0 * c.b0 + c.b1 * c.b1 + c.b2 * c.b2 + 2.0 * (c.b0 * c.b1 + c.b1 * c.b2) * p.c1 + 2.0 * c.b0 * c.b2 * p.c2;
    let den = 1.0 + c.a1 * c.a1 + c.a2 * c.a2 + 2.0 * (c.a1 + c.a1 * c.a2) * p.c1 + 2.0 * c.a2 * p.c2;
    10.0 * (num / den).log10()
}

fn band_response(b: &Band, pts: &[Point], out: &mut [f64]) {
    let c = Coefficients::design_unchecked(&b.params(), FIT_SAMPLE_RATE);
    for (o, p) in out.iter_mut().zip(pts) {
        *o = mag_db(&c, p);
    }
}

/// The state of a fit: bands, preamp, and each band's response on the grid.
struct Model<'a> {
    pts: &'a [Point],
    bands: Vec<Band>,
    preamp: f64,
    resp: Vec<Vec<f64>>,
    /// The first `grid` points are the log-spaced grid, in frequency order;
    /// the given points follow.
    grid: usize,
}

impl<'a> Model<'a> {
    fn new(pts: &'a [Point], grid: usize, preamp: f64) -> Model<'a> {
        Model { pts, bands: Vec::new(), preamp, resp: Vec::new(), grid }
    }

    fn push(&mut self, b: Band) {
        let mut r = vec![0.0; self.pts.len()];
        band_response(&b, self.pts, &mut r);
        self.bands.push(b);
        self.resp.push(r);
    }

    /// Realised − target at every grid point.
    fn errors(&self) -> Vec<f64> {
        (0..self.pts.len())
            .map(|i| self.preamp + self.resp.iter().map(|r| r[i]).sum::<f64>() - self.pts[i].target)
            .collect()
    }

    /// Levenberg–Marquardt on Σ wᵢ·eᵢ² + μ·Σ g² over the parameters of the
    /// bands `from..` (the preamp stays), `iters` iterations at most.
    fn levenberg_marquardt(&mut self, weights: &[f64], from: usize, iters: usize) {
        let m = self.pts.len();
        let nb = self.bands.len() - from;
        let n = 3 * nb;
        if n == 0 {
            return;
        }
        let ridge = |bands: &[Band]| bands.iter().map(|b| GAIN_RIDGE * b.g * b.g).sum::<f64>();
        let cost =
            |e: &[f64], bands: &[Band]| e.iter().zip(weights).map(|(e, w)| w * e * e).sum::<f64>() + ridge(bands);
        let mut e = self.errors();
        let mut c0 = cost(&e, &self.bands);
        let mut lambda = 1e-3;
        let mut jac = vec![0.0; n * m];
        let mut tmp = vec![0.0; m];
        for _ in 0..iters {
            // Jacobian (forward differences), column-major: jac[k*m + i]
            for k in 0..nb {
                let b = self.bands[from + k];
                for (j, h) in [(0usize, 1e-4), (1, 1e-4), (2, 1e-3)] {
                    let mut bp = b;
                    match j {
                        0 => bp.lf += h,
                        1 => bp.lq += h,
                        _ => bp.g += h,
                    }
                    band_response(&bp, self.pts, &mut tmp);
                    let col = &mut jac[(3 * k + j) * m..(3 * k + j + 1) * m];
                    for ((c, t), r) in col.iter_mut().zip(&tmp).zip(&self.resp[from + k]) {
                        *c = (t - r) / h;
                    }
                }
            }
            // normal equations
            let mut a = vec![0.0; n * n];
            let mut g = vec![0.0; n];
            for p in 0..n {
                let cp = &jac[p * m..(p + 1) * m];
                g[p] = (0..m).map(|i| weights[i] * cp[i] * e[i]).sum();
                for q in p..n {
                    let cq = &jac[q * m..(q + 1) * m];
                    let v: f64 = (0..m).map(|i| weights[i] * cp[i] * cq[i]).sum();
                    a[p * n + q] = v;
                    a[q * n + p] = v;
                }
            }
            // the ridge on the gains: cost + Σ μ·g², gradient μ·g, curvature μ
            for k in 0..nb {
                let j = 3 * k + 2;
                g[j] += GAIN_RIDGE * self.bands[from + k].g;
                a[j * n + j] += GAIN_RIDGE;
            }
            let mut improved = false;
            for _ in 0..8 {
                let mut aa = a.clone();
                for p in 0..n {
                    aa[p * n + p] += lambda * a[p * n + p].max(1e-9);
                }
                let Some(delta) = solve(&mut aa, &g, n) else {
                    lambda *= 10.0;
                    continue;
                };
                let saved: Vec<Band> = self.bands[from..].to_vec();
                for k in 0..nb {
                    let b = &mut self.bands[from + k];
                    b.lf -= delta[3 * k];
                    b.lq -= delta[3 * k + 1];
                    b.g -= delta[3 * k + 2];
                    b.clamp();
                }
                for k in 0..nb {
                    let b = self.bands[from + k];
                    band_response(&b, self.pts, &mut self.resp[from + k]);
                }
                let e1 = self.errors();
                let c1 = cost(&e1, &self.bands);
                if c1 < c0 {
                    let rel = (c0 - c1) / c0.max(1e-30);
                    e = e1;
                    c0 = c1;
                    lambda = (lambda / 3.0).max(1e-9);
                    improved = rel > 1e-7;
                    break;
                }
                self.bands[from..].copy_from_slice(&saved);
                for k in 0..nb {
                    let b = self.bands[from + k];
                    band_response(&b, self.pts, &mut self.resp[from + k]);
                }
                lambda *= 4.0;
            }
            if !improved {
                break;
            }
        }
    }

    /// Weighted least squares over all bands, then `rounds` rounds
    /// reweighted towards the minimax (each point's weight grows with the
    /// fourth power of its error relative to the largest), so that the
    /// largest deviation shrinks rather than the mean.
    fn fit(&mut self, iters: usize, rounds: usize) {
        let base: Vec<f64> = self.pts.iter().map(|p| p.weight).collect();
        self.levenberg_marquardt(&base, 0, iters);
        for _ in 0..rounds {
            let e = self.errors();
            let emax = e.iter().zip(&base).filter(|(_, b)| **b >= 1.0).map(|(e, _)| e.abs()).fold(1e-9, f64::max);
            let w: Vec<f64> = e.iter().zip(&base).map(|(e, b)| b * (1.0 + 8.0 * (e.abs() / emax).powi(4))).collect();
            self.levenberg_marquardt(&w, 0, iters);
        }
    }

    /// Removes bands whose gain is too small to matter.
    fn prune(&mut self) {
        let mut k = 0;
        while k < self.bands.len() {
            if self.bands[k].g.abs() < 0.05 {
                self.bands.remove(k);
                self.resp.remove(k);
            } else {
                k += 1;
            }
        }
    }
}

/// Solves the symmetric positive definite system `a·x = b` (`n`×`n`,
/// row-major) by Cholesky decomposition; `None` if not positive definite.
fn solve(a: &mut [f64], b: &[f64], n: usize) -> Option<Vec<f64>> {
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= a[j * n + k] * a[j * n + k];
        }
        if d.is_nan() || d <= 0.0 {
            return None;
        }
        let d = d.sqrt();
        a[j * n + j] = d;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = s / d;
        }
    }
    let mut y = vec![0.0; n];
    for i in 0..n {
        let mut s = b[i];
        for k in 0..i {
            s -= a[i * n + k] * y[k];
        }
        y[i] = s / a[i * n + i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let mut s = y[i];
        for k in i + 1..n {
            s -= a[k * n + i] * x[k];
        }
        x[i] = s / a[i * n + i];
    }
    Some(x)
}

/// Checks `points` (see [`graphic_eq_db`]).
fn check_points(points: &[(f64, f64)]) -> Result<(), FitError> {
    if points.is_empty() {
        return Err(FitError::Points("no points".to_owned()));
    }
    for (i, &(f, g)) in points.iter().enumerate() {
        if !(f.is_finite() && f > 0.0) {
            return Err(FitError::Points(format!("point {}: frequency {f} Hz is not a positive number", i + 1)));
        }
        if !g.is_finite() {
            return Err(FitError::Points(format!("point {}: gain {g} dB is not a number", i + 1)));
        }
        if i > 0 && f <= points[i - 1].0 {
            return Err(FitError::Points(format!(
                "point {} ({f} Hz) is not above the one before ({} Hz): frequencies must increase",
                i + 1,
                points[i - 1].0
            )));
        }
    }
    Ok(())
}

/// Log-spaced frequencies from `lo` to `hi` (both included), `per_octave`
/// steps per octave.
fn log_grid(lo: f64, hi: f64, per_octave: f64) -> Vec<f64> {
    let n = ((hi / lo).log2() * per_octave).ceil() as usize;
    (0..=n).map(|i| lo * (hi / lo).powf(i as f64 / n as f64)).collect()
}

/// The realised response (dB) of `bands` plus `preamp_db` at `f` (Hz), at
/// [`FIT_SAMPLE_RATE`].
fn realised_db(bands: &[EqBand], preamp_db: f64, f: f64) -> f64 {
    preamp_db
        + bands
            .iter()
            .filter_map(|b| b.params())
            .map(|p| Coefficients::design_unchecked(&p, FIT_SAMPLE_RATE).magnitude_db(f, FIT_SAMPLE_RATE))
            .sum::<f64>()
}

/// Largest |realised − curve| over [`FIT_LOW_HZ`, `FIT_HIGH_HZ`] (1/192
/// octave and every given point in range) and where; and outside it, over
/// the part of 10 Hz–20 kHz the curve's points span.
fn check(points: &[(f64, f64)], bands: &[EqBand], preamp_db: f64) -> ((f64, f64), f64) {
    let err = |f: f64| (realised_db(bands, preamp_db, f) - graphic_eq_db(points, f)).abs();
    let mut freqs = log_grid(FIT_LOW_HZ, FIT_HIGH_HZ, CHECK_STEPS_PER_OCTAVE);
    freqs.extend(points.iter().map(|p| p.0).filter(|f| (FIT_LOW_HZ..=FIT_HIGH_HZ).contains(f)));
    let inside = freqs.iter().map(|&f| (err(f), f)).fold((0.0, FIT_LOW_HZ), |a, b| if b.0 > a.0 { b } else { a });
    let (first, last) = (points[0].0.max(10.0), points[points.len() - 1].0.min(20_000.0));
    let mut outside: f64 = 0.0;
    if first < FIT_LOW_HZ {
        outside = log_grid(first, FIT_LOW_HZ, CHECK_STEPS_PER_OCTAVE).into_iter().map(err).fold(outside, f64::max);
    }
    if last > FIT_HIGH_HZ {
        outside = log_grid(FIT_HIGH_HZ, last, CHECK_STEPS_PER_OCTAVE).into_iter().map(err).fold(outside, f64::max);
    }
    (inside, outside)
}

/// Realises the curve `points` (`(Hz, dB)`, see [`graphic_eq_db`]) with at
/// most `max_bands` peaking and shelf bands on `channel`, plus a flat
/// preamp offset if `free_preamp`, so that the response at
/// [`FIT_SAMPLE_RATE`] is within ±[`FIT_TOLERANCE_DB`] of the curve from
/// [`FIT_LOW_HZ`] to [`FIT_HIGH_HZ`]; uses as few bands as it can. See the
/// [parent module](super) for the method.
pub fn fit_graphic_eq(
    points: &[(f64, f64)],
    max_bands: usize,
    channel: EqChannel,
    free_preamp: bool,
) -> Result<GraphicFit, FitError> {
    check_points(points)?;
    let (low_edge, high_edge) = (graphic_eq_db(points, FIT_LOW_HZ), graphic_eq_db(points, FIT_HIGH_HZ));
    let mut pts: Vec<Point> = log_grid(10.0, 20_000.0, FIT_STEPS_PER_OCTAVE)
        .into_iter()
        .map(|f| {
            let t = graphic_eq_db(points, f);
            // outside: follow the curve away from the edge value at most
            // OUTSIDE_SLOPE_DB per octave, at most OUTSIDE_SPAN_DB in all
            let follow = |edge: f64, octaves: f64| {
                let span = (OUTSIDE_SLOPE_DB * octaves).min(OUTSIDE_SPAN_DB);
                point(f, t.clamp(edge - span, edge + span), OUTSIDE_WEIGHT)
            };
            if f < FIT_LOW_HZ {
                follow(low_edge, (FIT_LOW_HZ / f).log2())
            } else if f > FIT_HIGH_HZ {
                follow(high_edge, (f / FIT_HIGH_HZ).log2())
            } else {
                point(f, t, 1.0)
            }
        })
        .collect();
    let grid = pts.len();
    // the given points are where the curve bends: fit them exactly there
    pts.extend(points.iter().filter(|p| (FIT_LOW_HZ..=FIT_HIGH_HZ).contains(&p.0)).map(|&(f, g)| point(f, g, 1.0)));
    let inside = |p: &Point| p.weight >= 1.0;
    let mean = pts.iter().filter(|p| inside(p)).map(|p| p.target).sum::<f64>()
        / pts.iter().filter(|p| inside(p)).count().max(1) as f64;
    // The preamp takes the curve's mean level and stays there: left free
    // it would trade off against wide bands of large opposite gain.
    let mut model = Model::new(&pts, grid, if free_preamp { round_sig(mean, 4) } else { 0.0 });

    let to_bands = |m: &Model| -> Vec<EqBand> {
        m.bands
            .iter()
            .map(|b| {
                let p = b.params();
                EqBand {
                    kind: p.kind,
                    freq_hz: round_sig(p.freq_hz, 6),
                    q: round_sig(p.q, 5),
                    gain_db: round_sig(p.gain_db.clamp(MIN_BAND_GAIN_DB, MAX_BAND_GAIN_DB), 5),
                    enabled: true,
                    channel,
                }
            })
            .collect()
    };
    // (max error, where, fit) of the best fit within tolerance, and the best error overall
    let mut within: Option<GraphicFit> = None;
    let mut best: Option<(f64, f64)> = None;
    // a band that does not help is pruned again: bound the attempts
    for _ in 0..=3 * max_bands {
        model.prune();
        let bands = to_bands(&model);
        let ((err, at), above) = check(points, &bands, model.preamp);
        if best.is_none_or(|(e, _)| err < e) {
            best = Some((err, at));
        }
        if err <= FIT_TOLERANCE_DB && within.as_ref().is_none_or(|w| err < w.max_error_db) {
            within =
                Some(GraphicFit { bands, preamp_db: model.preamp, max_error_db: err, max_error_outside_db: above });
        }
        if err <= AIM_DB || model.bands.len() >= max_bands {
            break;
        }
        add_band(&mut model);
        model.fit(20, 0);
        let worst =
            model.errors().iter().zip(&pts).filter(|(_, p)| inside(p)).map(|(e, _)| e.abs()).fold(0.0, f64::max);
        if model.bands.len() >= max_bands || worst < 2.0 * FIT_TOLERANCE_DB {
            model.fit(15, 4);
        }
    }
    within.ok_or_else(|| {
        let (best_error_db, worst_hz) = best.unwrap_or((f64::INFINITY, 0.0));
        FitError::Tolerance { bands: max_bands, best_error_db, worst_hz }
    })
}

/// Adds the band that best removes the largest remaining error: a peak
/// centred where the error is largest, as wide as the error feature there
/// (its half-height width); below 80 Hz a low shelf and above 6 kHz a high
/// shelf are tried too. Each candidate alone is optimised; the one that
/// leaves the least weighted error is kept.
fn add_band(model: &mut Model) {
    let pts = model.pts;
    let e = model.errors();
    // the grid points only, in frequency order
    let grid: Vec<usize> = (0..model.grid).collect();
    let err_at = |k: usize| -e[grid[k]] * pts[grid[k]].weight;
    let k = (0..grid.len()).max_by(|&a, &b| err_at(a).abs().total_cmp(&err_at(b).abs())).unwrap_or(0);
    let want = err_at(k);
    // half-height width of the error feature around k
    let half = want / 2.0;
    let mut lo = k;
    while lo > 0 && err_at(lo - 1) * want.signum() > half * want.signum() {
        lo -= 1;
    }
    let mut hi = k;
    while hi + 1 < grid.len() && err_at(hi + 1) * want.signum() > half * want.signum() {
        hi += 1;
    }
    let bw_oct = ((pts[grid[hi]].f / pts[grid[lo]].f).log2()).max(1.0 / 24.0);
    let q = 1.0 / (2.0 * (std::f64::consts::LN_2 / 2.0 * bw_oct).sinh());
    let f = pts[grid[k]].f;
    let mut candidates = vec![Band { kind: FilterType::Peaking, lf: f.ln(), lq: q.ln(), g: want }];
    if f < 80.0 {
        candidates.push(Band { kind: FilterType::LowShelf, lf: (f * 2.0).ln(), lq: 0.7f64.ln(), g: want });
    }
    if f > 6000.0 {
        candidates.push(Band { kind: FilterType::HighShelf, lf: (f / 2.0).ln(), lq: 0.7f64.ln(), g: want });
    }
    let base: Vec<f64> = pts.iter().map(|p| p.weight).collect();
    let cost = |m: &Model| m.errors().iter().zip(&base).map(|(e, w)| w * e * e).sum::<f64>();
    let mut best: Option<(f64, Band)> = None;
    for mut c in candidates {
        c.clamp();
        model.push(c);
        let from = model.bands.len() - 1;
        model.levenberg_marquardt(&base, from, 30);
        let cst = cost(model);
        let b = model.bands[from];
        if best.as_ref().is_none_or(|(bc, _)| cst < *bc) {
            best = Some((cst, b));
        }
        model.bands.pop();
        model.resp.pop();
    }
    if let Some((_, b)) = best {
        model.push(b);
    }
}

/// `x` rounded to `digits` significant digits (so that the bands read well
/// and survive a round trip through text unchanged).
fn round_sig(x: f64, digits: i32) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let scale = 10f64.powi(digits - 1 - x.abs().log10().floor() as i32);
    (x * scale).round() / scale
}
