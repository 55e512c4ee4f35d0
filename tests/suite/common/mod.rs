//! Shared test machinery: a small deterministic generator of rows (ordinary and adversarial),
//! and a runner that checks one case on one path against the f64 reference.
#![allow(dead_code)]

use simdnorm::reference::{self, RefRow};
use simdnorm::{Element, Isa, Norm, Parallelism, Stats};

/// splitmix64: tiny, deterministic, good enough for test data.
#[derive(Clone, Debug)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in [lo, hi).
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    /// Approximately standard normal (sum of uniforms).
    pub fn normal(&mut self) -> f64 {
        (0..4).map(|_| self.unit()).sum::<f64>() * 3f64.sqrt() - 2.0 * 3f64.sqrt()
    }
}

/// The kinds of rows the tests generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Normal values of a random scale between 1e-3 and 1e3.
    Plain,
    /// Mean 1e4, standard deviation 1e-3 (the mean dwarfs the spread).
    BigMean,
    /// Mean 1e6, standard deviation 1e-2.
    HugeMean,
    /// Every element equal.
    Constant,
    /// All zeros.
    Zeros,
    /// Ordinary values and one element of magnitude 1e15.
    OneHuge,
    /// Values near the f16 maximum (±60000 ..= ±65504).
    NearF16Max,
    /// f32 subnormals (and f16 subnormals, for f16 rows).
    Subnormal,
    /// Mixed signs, magnitudes from 1e-20 to 1e20.
    WideRange,
    /// Magnitudes of 1e19, 1e30 and f32::MAX / 2 (sums of squares overflow f32), with tiny ones.
    Overflow,
    /// Normal values after a first element `sqrt(width)` times their spread away: the kernels'
    /// shift (the first element) about as far from the mean as the numerics contract's `M`
    /// allows, while no element dominates the variance (an M2 from sums of values minus that
    /// shift cancels to almost nothing; `OneHuge` rows hide it under the huge element).
    FarFirst,
}

pub const STYLES: [Style; 11] = [
    Style::Plain,
    Style::BigMean,
    Style::HugeMean,
    Style::Constant,
    Style::Zeros,
    Style::OneHuge,
    Style::NearF16Max,
    Style::Subnormal,
    Style::WideRange,
    Style::Overflow,
    Style::FarFirst,
];

/// A row of `width` values of `style`, already rounded to `T`.
pub fn row<T: Element>(rng: &mut Rng, style: Style, width: usize) -> Vec<T> {
    let scale = 10f64.powf(rng.range(-3.0, 3.0));
    let c = rng.range(-5.0, 5.0);
    let huge_at = rng.below(width.max(1));
    (0..width)
        .map(|i| {
            let v = match style {
                Style::Plain => rng.normal() * scale,
                Style::BigMean => 1e4 + 1e-3 * rng.normal(),
                Style::HugeMean => 1e6 + 1e-2 * rng.normal(),
                Style::Constant => c,
                Style::Zeros => 0.0,
                Style::OneHuge => {
                    if i == huge_at {
                        1e15 * c.signum()
                    } else {
                        rng.normal()
                    }
                }
                Style::NearF16Max => {
                    rng.range(60000.0, 65504.0) * if rng.unit() < 0.5 { -1.0 } else { 1.0 }
                }
                Style::Subnormal => {
                    let tiny = if T::NAME == "f16" { 5.96e-8 } else { 1.4e-45 };
                    (rng.below(200) as f64 - 100.0) * tiny
                }
                Style::WideRange => rng.normal() * 10f64.powf(rng.range(-20.0, 20.0)),
                Style::FarFirst if i == 0 => c.signum() * (width as f64).sqrt() * scale,
                Style::FarFirst => rng.normal() * scale,
                Style::Overflow => match rng.below(4) {
                    0 => 1e19 * rng.normal(),
                    1 => 1e30 * rng.normal(),
                    2 => f32::MAX as f64 / 2.0 * if rng.unit() < 0.5 { -1.0 } else { 1.0 },
                    _ => 1e-10 * rng.normal(),
                },
            };
            T::from_f32(v as f32)
        })
        .collect()
}

/// `width` random weights in [-2, 2], or `None` one time in four.
pub fn param<W: Element>(rng: &mut Rng, width: usize) -> Option<Vec<W>> {
    if rng.below(4) == 0 {
        None
    } else {
        Some(
            (0..width)
                .map(|_| W::from_f32(rng.range(-2.0, 2.0) as f32))
                .collect(),
        )
    }
}

/// A random epsilon: 0, a model's value (NORMS.md: 1e-12, 1e-6, 1e-5), or anything in [0, 1).
pub fn eps(rng: &mut Rng) -> f32 {
    match rng.below(5) {
        0 => 0.0,
        1 => 1e-12,
        2 => 1e-6,
        3 => 1e-5,
        _ => rng.unit() as f32,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Rms,
    Layer,
}

pub fn norm(kind: Kind, eps: f32) -> Norm {
    match kind {
        Kind::Rms => Norm::rms(eps),
        Kind::Layer => Norm::layer(eps),
    }
}

pub fn reference<T: Element, W: Element>(
    kind: Kind,
    x: &[T],
    gamma: Option<&[W]>,
    beta: Option<&[W]>,
    eps: f32,
) -> RefRow {
    match kind {
        Kind::Rms => reference::rms_norm(x, gamma, eps),
        Kind::Layer => reference::layer_norm(x, gamma, beta, eps),
    }
}

/// One case: `rows` rows of `width`, all of `style`.
pub struct Case<T, W> {
    pub kind: Kind,
    pub width: usize,
    pub x: Vec<T>,
    pub gamma: Option<Vec<W>>,
    pub beta: Option<Vec<W>>,
    pub eps: f32,
}

impl<T: Element, W: Element> Case<T, W> {
    pub fn random(rng: &mut Rng, kind: Kind, style: Style, rows: usize, width: usize) -> Self {
        let mut x = Vec::with_capacity(rows * width);
        for _ in 0..rows {
            x.extend(row::<T>(rng, style, width));
        }
        let gamma = param::<W>(rng, width);
        let beta = if kind == Kind::Layer {
            param::<W>(rng, width)
        } else {
            None
        };
        Case {
            kind,
            width,
            x,
            gamma,
            beta,
            eps: eps(rng),
        }
    }

    pub fn rows(&self) -> usize {
        self.x.len() / self.width
    }

    /// Runs on `isa` out of place (with statistics) and in place; both must agree bit for bit.
    pub fn run(&self, isa: Isa, par: Parallelism) -> (Vec<T>, Vec<f32>, Vec<f32>) {
        let rows = self.rows();
        let n = norm(self.kind, self.eps).isa(isa).parallelism(par);
        let mut y = vec![T::ZERO; self.x.len()];
        let mut mean = vec![f32::NAN; rows];
        let mut rstd = vec![f32::NAN; rows];
        let stats = Stats {
            mean: (self.kind == Kind::Layer).then_some(&mut mean[..]),
            rstd: Some(&mut rstd[..]),
        };
        n.forward_with_stats(
            &self.x,
            rows,
            self.width,
            self.gamma.as_deref(),
            self.beta.as_deref(),
            &mut y,
            stats,
        )
        .expect("valid case");
        let mut z = self.x.clone();
        n.forward_inplace(
            &mut z,
            rows,
            self.width,
            self.gamma.as_deref(),
            self.beta.as_deref(),
        )
        .expect("valid case");
        let same = y
            .iter()
            .zip(&z)
            .all(|(a, b)| a.to_f32().to_bits() == b.to_f32().to_bits());
        assert!(same, "in-place and out-of-place results differ on {isa}");
        (y, mean, rstd)
    }

    /// Checks every row of the output of `isa` against the reference; panics with a
    /// description on the first violation.
    pub fn check(&self, isa: Isa, label: &str) {
        let (y, mean, rstd) = self.run(isa, Parallelism::None);
        let w = self.width;
        for r in 0..self.rows() {
            let xr = &self.x[r * w..(r + 1) * w];
            let refr = reference(
                self.kind,
                xr,
                self.gamma.as_deref(),
                self.beta.as_deref(),
                self.eps,
            );
            if let Err((i, msg)) = reference::check_row(
                &y[r * w..(r + 1) * w],
                &refr,
                self.gamma.as_deref(),
                self.beta.as_deref(),
            ) {
                panic!(
                    "{label}: {:?} {}->{} w={} eps={} isa={isa} row {r} elem {i}: {msg}; x[..4]={:?}",
                    self.kind,
                    T::NAME,
                    W::NAME,
                    w,
                    self.eps,
                    &xr[..xr.len().min(4)]
                );
            }
            check_stats(
                self.kind,
                &refr,
                mean[r],
                rstd[r],
                &format!("{label} isa={isa} row {r}"),
            );
        }
    }
}

/// Statistics bound: rstd within a relative `C·u`, the mean within `C·u·(|mean| + M·σ)`
/// where `σ = 1/rstd` (the same two error sources as the output bound).
pub fn check_stats(kind: Kind, r: &RefRow, mean: f32, rstd: f32, label: &str) {
    use simdnorm::reference::{C, U32};
    if r.rstd.is_nan() {
        assert!(rstd.is_nan(), "{label}: rstd {rstd}, reference NaN");
        return;
    }
    if r.rstd.is_finite() && r.rstd < f32::MAX as f64 {
        let err = (rstd as f64 - r.rstd).abs();
        assert!(
            err <= C * U32 * r.rstd,
            "{label}: rstd {rstd} vs reference {} (error {err:e})",
            r.rstd
        );
    }
    if kind == Kind::Layer {
        let sigma = if r.rstd > 0.0 { 1.0 / r.rstd } else { 0.0 };
        let err = (mean as f64 - r.mean).abs();
        // The reported mean is an f32: below the normal range it rounds on an absolute grid.
        let tol = C * U32 * (r.mean.abs() + r.max_xhat.max(1.0) * sigma)
            + simdnorm::reference::SUBNORMAL_FLOOR;
        assert!(
            err <= tol,
            "{label}: mean {mean} vs reference {} (error {err:e} > {tol:e})",
            r.mean
        );
    }
}

/// Runs `f` once per element type / weight type combination the crate documents (weights of
/// the activation type or f32).
#[macro_export]
macro_rules! for_each_type {
    ($f:ident ( $($arg:expr),* )) => {{
        $f::<f32, f32>($($arg),*);
        $f::<half::f16, half::f16>($($arg),*);
        $f::<half::f16, f32>($($arg),*);
        $f::<half::bf16, half::bf16>($($arg),*);
        $f::<half::bf16, f32>($($arg),*);
    }};
}
